//! Guest-level tests of the net extension host (to be written).
