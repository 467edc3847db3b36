//! Unit tests of the network host.
