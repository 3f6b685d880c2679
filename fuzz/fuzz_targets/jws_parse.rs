//! Fuzz target: `tollgate_fuzz::jws_parse` — the compact-JWS/JWT parser, three verifiers
//! against fixed ES256, EdDSA, RS256, PS256 and HS256 keys, and the JWK Set parser (see
//! `src/jose.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tollgate_fuzz::jws_parse(data));
