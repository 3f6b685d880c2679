//! The `tollgate-server` command line ([`main`]), kept in the library so the binary is one
//! line and test suites can build the very same program.
//!
//! ```text
//! tollgate-server [--config FILE]     run (the embedded demo configuration without --config)
//! tollgate-server hash-password       read a password on stdin, print its [[users]] hash
//! ```
//!
//! A bad configuration stops the start with a message naming the field and exit status 2;
//! a store that cannot be opened (after retries, for PostgreSQL) with one naming `store`
//! and exit status 1. SIGINT and SIGTERM stop accepting connections, let open requests
//! finish, close the store and exit 0.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::{DEMO_PASSWORD, DEMO_SERVICE_SECRET, DEMO_WEB_SECRET};
use crate::{App, Config, KeySource, StartError};

const USAGE: &str = "\
usage: tollgate-server [--config FILE]
       tollgate-server hash-password

  --config FILE   the TOML configuration (see the README); without it the embedded
                  demo configuration runs on 127.0.0.1:8080
  hash-password   reads a password from standard input and prints the
                  pbkdf2-sha256$… hash for a [[users]] entry";

enum Command {
    Run(Option<PathBuf>),
    HashPassword,
    Help,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut config = None;
    let mut command = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--config" => {
                let file = args.next().ok_or("--config needs a file")?;
                config = Some(PathBuf::from(file));
            }
            "hash-password" if command.is_none() => command = Some(Command::HashPassword),
            other => match other.strip_prefix("--config=") {
                Some(file) => config = Some(PathBuf::from(file)),
                None => return Err(format!("unexpected argument `{other}`")),
            },
        }
    }
    Ok(command.unwrap_or(Command::Run(config)))
}

/// The `tollgate-server` program: parses the command line and runs it. Exit status 0 after
/// a graceful stop, 2 for a bad command line or configuration, 1 when the store cannot be
/// opened or the address cannot be bound.
#[must_use]
pub fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::HashPassword) => hash_password(),
        Ok(Command::Run(config)) => run(config.as_deref()),
        Err(e) => {
            eprintln!("tollgate-server: {e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn hash_password() -> ExitCode {
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        eprintln!("tollgate-server: cannot read the password from standard input");
        return ExitCode::FAILURE;
    }
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        eprintln!("tollgate-server: the password is empty");
        return ExitCode::from(2);
    }
    match crate::users::hash_password(password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tollgate-server: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(config_path: Option<&Path>) -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let (loaded, base_dir) = match config_path {
        Some(path) => (
            Config::load(path),
            path.parent().map_or_else(PathBuf::new, Path::to_path_buf),
        ),
        None => (Config::default_demo(), PathBuf::new()),
    };
    let checked = loaded.and_then(|config| {
        config.validate()?;
        let listen = config.listen_addr()?;
        Ok((config, listen))
    });
    let (config, listen) = match checked {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tollgate-server: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    // One CPU to run on (a pinned process, a one-CPU container): a current-thread runtime.
    // A multi-thread one would start a single worker anyway, and pay for the work-stealing
    // scheduler's cross-thread bookkeeping on every wake-up (1-3 % of a client_credentials
    // request's CPU in the load runs). Password hashing still goes to the blocking pool.
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let mut builder = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tollgate-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let demo = config_path.is_none();
    runtime.block_on(async move {
        // The store is opened on the runtime that serves it (its connections belong there).
        let (app, keys) = match App::builder(config, &base_dir).open().await {
            Ok(built) => built,
            Err(StartError::Config(e)) => {
                eprintln!("tollgate-server: invalid configuration: {e}");
                return ExitCode::from(2);
            }
            Err(e) => {
                eprintln!("tollgate-server: {e}");
                return ExitCode::FAILURE;
            }
        };
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("tollgate-server: cannot listen on {listen}: {e}");
                app.close().await;
                return ExitCode::FAILURE;
            }
        };
        let bound = listener.local_addr().unwrap_or(listen);
        tracing::info!(workers, "runtime started");
        banner(&app, &keys, demo, bound);
        let served = crate::serve_hyper(listener, Arc::clone(&app), shutdown_signal()).await;
        // Every request has been answered: close the store (SQLite checkpoints its log).
        app.close().await;
        match served {
            Ok(()) => {
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("tollgate-server: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing open requests");
}

fn banner(app: &App, keys: &KeySource, demo: bool, listen: std::net::SocketAddr) {
    let config = app.server().config();
    let issuer = &config.issuer;
    let e = &config.endpoints;
    let key = app
        .server()
        .keys()
        .signing_key()
        .map(|k| format!("{} kid {}", k.algorithm().as_str(), k.kid()))
        .unwrap_or_default();
    let key_note = match keys {
        KeySource::Configured => "from the configuration".to_string(),
        KeySource::Generated(p) => format!("generated, saved to {} (mode 0600)", p.display()),
        KeySource::Reloaded(p) => format!("loaded from {}", p.display()),
    };
    println!("Tollgate is listening on {listen}");
    println!("  issuer          {issuer}");
    println!("  discovery       {issuer}/.well-known/openid-configuration");
    for (name, path) in [
        ("authorize", &e.authorization),
        ("token", &e.token),
        ("revoke", &e.revocation),
        ("introspect", &e.introspection),
        ("userinfo", &e.userinfo),
        ("jwks", &e.jwks),
    ] {
        println!("  {name:<15} {issuer}{path}");
    }
    println!("  store           {}", app.store_description());
    println!("  signing key     {key} ({key_note})");
    if demo {
        println!();
        println!("Demo credentials (the embedded default configuration: never use in production)");
        println!("  web client      demo-web / {DEMO_WEB_SECRET}");
        println!("  SPA client      demo-spa (public, PKCE)");
        println!("  service client  demo-service / {DEMO_SERVICE_SECRET}");
        println!("  user            alice / {DEMO_PASSWORD}");
        println!();
        println!("Try the code flow in a browser:");
        println!(
            "  {issuer}{}?response_type=code&client_id=demo-web&scope=openid%20profile%20email\
             &redirect_uri={}%2Fdemo%2Fcallback&state=demo&code_challenge={}&code_challenge_method=S256",
            e.authorization,
            issuer.replace(':', "%3A").replace('/', "%2F"),
            DEMO_CHALLENGE,
        );
        println!("  (PKCE code_verifier: {DEMO_VERIFIER})");
    }
}

/// The RFC 7636 Appendix B verifier and challenge, for the printed demo link.
const DEMO_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const DEMO_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
