//! Fuzz target: `tollgate_fuzz::authorize_request` (see its documentation in `src/lib.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tollgate_fuzz::authorize_request(data));
