//! Fuzz target: `tollgate_fuzz::config_load` — the server's TOML configuration parsed,
//! validated, read through every accessor and, when valid, started without IO (see
//! `src/config.rs`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| tollgate_fuzz::config_load(data));
