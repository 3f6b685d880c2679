//! Black-box conformance suite for Tollgate.
