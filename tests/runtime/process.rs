//! Guest-level tests of the process extension host (to be written).
