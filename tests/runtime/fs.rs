//! Guest-level tests of the fs extension host (to be written).
