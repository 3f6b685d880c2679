//! The durable stores' tests, one binary: the conformance kit on each backend, whole-engine
//! exchanges, atomicity across several servers, bounded purges, faults, and the statements
//! each request sends (and what a failed commit leaves: nothing). Test names say
//! which issue point they cover. PostgreSQL must run at 127.0.0.1:5432 (trust auth,
//! database `test`); each test works in a schema of its own.

mod common;
mod conformance;
mod engine;
mod faults;
mod purge;
mod servers;
mod statements;
