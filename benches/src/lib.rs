//! Shared fixtures for the Tollgate benches.
