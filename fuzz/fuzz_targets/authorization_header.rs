//! Fuzz target: `tollgate_fuzz::authorization_header` — the `Authorization` header as HTTP
//! Basic client credentials and as a UserInfo `Bearer` token (see `src/auth_header.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tollgate_fuzz::authorization_header(data));
