//! Fuzz target: arbitrary bytes split into body, `Authorization` value, query and switches
//! (see `src/lib.rs`) drive a whole token request through `Server::token` against a
//! `MemoryStore` with known clients, codes and refresh tokens. Every response must have an
//! allowed status and a JSON body; a refresh replayed inside the grace window must return
//! the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tollgate_fuzz::token_request(data));
