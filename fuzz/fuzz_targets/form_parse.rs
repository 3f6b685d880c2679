//! Fuzz target: `tollgate::form::Params::parse` on arbitrary bytes with the default limits
//! must return `Ok` or an `OAuthError`, never panic (DESIGN.md: parsing is total).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tollgate_fuzz::form_parse(data));
