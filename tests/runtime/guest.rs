//! The proxy guest harness (being written).
