//! The `tollgate-server` program, built as a target of this package so that the
//! process-level tests (`tests/stores.rs`) find it through `CARGO_BIN_EXE_…`, built from the
//! current sources. Its `main` is the real binary's: `tollgate_server::cli::main`.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    tollgate_server::cli::main()
}
