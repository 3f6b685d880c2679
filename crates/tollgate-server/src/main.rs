//! `tollgate-server`: starts the authorization server on the hyper adapter; see
//! [`tollgate_server::cli`].

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    tollgate_server::cli::main()
}
