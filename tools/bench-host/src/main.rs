//! `tollgate-bench-host`: the `tollgate-server` application (same configuration file, same
//! library, same store, pages and CORS layer) served on the adapter named on the command
//! line, for the load and soak scripts:
//!
//! ```text
//! tollgate-bench-host --config FILE [--adapter hyper|actix] [--rotate-keys SECONDS]
//! ```
//!
//! Two things the `tollgate-server` binary does not offer: an adapter switch (it always
//! serves on hyper; the library's `serve_actix` is what the HTTP suite uses), and a signing-key
//! rotation while running — every `--rotate-keys` seconds a new ES256 key becomes active
//! through `Server::replace_keys`, the previous one stays published as retiring (the last
//! five are kept). It prints `listening on ADDR` once bound and stops on SIGINT/SIGTERM.
//! Logging is the server's (`RUST_LOG`, default `warn` here: one line per request would
//! measure the terminal).

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tollgate::jose::{Algorithm, KeySet, SigningKey};
use tollgate_server::{App, Config};

/// Retiring keys kept published after a rotation.
const KEEP_RETIRING: usize = 5;

struct Args {
    config: PathBuf,
    adapter: String,
    rotate: Option<Duration>,
}

fn parse_args() -> Result<Args, String> {
    let mut config = None;
    let mut adapter = "hyper".to_string();
    let mut rotate = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--config" => config = Some(PathBuf::from(value)),
            "--adapter" if value == "hyper" || value == "actix" => adapter = value,
            "--rotate-keys" => {
                let secs: u64 = value.parse().map_err(|_| "--rotate-keys: seconds")?;
                rotate = (secs > 0).then(|| Duration::from_secs(secs));
            }
            other => return Err(format!("unexpected argument {other} {value}")),
        }
    }
    Ok(Args {
        config: config.ok_or("--config FILE is required")?,
        adapter,
        rotate,
    })
}

/// A copy of a key (keys are not `Clone`: through their PKCS#8 form).
fn copy(key: &SigningKey) -> Result<SigningKey, String> {
    SigningKey::from_pkcs8_pem(
        key.algorithm(),
        &key.to_pkcs8_pem(),
        Some(key.kid().to_string()),
    )
    .map_err(|e| e.to_string())
}

/// Makes a new ES256 key active; the current one and the last few retiring ones stay
/// published.
fn rotate(app: &App) -> Result<String, String> {
    let current = app.server().keys();
    let mut next = KeySet::new();
    next.set_default_algorithm(current.default_algorithm());
    let retiring: Vec<&SigningKey> = current.retiring().collect();
    let keep = retiring.len().saturating_sub(KEEP_RETIRING - 1);
    for old in &retiring[keep..] {
        let key = copy(old)?;
        let kid = key.kid().to_string();
        next.add_active(key).map_err(|e| e.to_string())?;
        next.retire(&kid);
    }
    // The active keys; adding the new one below retires the ES256 one among them.
    for active in current
        .keys()
        .filter(|k| !current.retiring().any(|r| r.kid() == k.kid()))
    {
        next.add_active(copy(active)?).map_err(|e| e.to_string())?;
    }
    let fresh = SigningKey::generate(Algorithm::Es256, None).map_err(|e| e.to_string())?;
    let kid = fresh.kid().to_string();
    next.add_active(fresh).map_err(|e| e.to_string())?;
    app.server().replace_keys(next).map_err(|e| e.to_string())?;
    Ok(kid)
}

async fn rotate_periodically(app: Arc<App>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        match rotate(&app) {
            Ok(kid) => eprintln!("rotated the signing key: kid {kid}"),
            Err(e) => eprintln!("key rotation failed: {e}"),
        }
    }
}

async fn shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("signal handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
}

fn load(path: &Path) -> Result<(Config, PathBuf, std::net::SocketAddr), String> {
    let config = Config::load(path).map_err(|e| e.to_string())?;
    config.validate().map_err(|e| e.to_string())?;
    let listen = config.listen_addr().map_err(|e| e.to_string())?;
    let base = path.parent().map_or_else(PathBuf::new, Path::to_path_buf);
    Ok((config, base, listen))
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "tollgate-bench-host: {e}\nusage: tollgate-bench-host --config FILE \
                 [--adapter hyper|actix] [--rotate-keys SECONDS]"
            );
            return std::process::ExitCode::from(2);
        }
    };
    let (config, base, listen) = match load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tollgate-bench-host: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let served = if args.adapter == "actix" {
        // One actix worker: the server gets one core.
        actix_web::rt::System::new().block_on(async move {
            let (app, _) = App::builder(config, &base)
                .open()
                .await
                .map_err(|e| e.to_string())?;
            let listener = std::net::TcpListener::bind(listen).map_err(|e| e.to_string())?;
            println!(
                "listening on {} (actix-web, {})",
                listener.local_addr().map_err(|e| e.to_string())?,
                app.store_description()
            );
            let server = tollgate_server::serve_actix(listener, Arc::clone(&app), 1)
                .map_err(|e| e.to_string())?;
            let handle = server.handle();
            if let Some(every) = args.rotate {
                actix_web::rt::spawn(rotate_periodically(Arc::clone(&app), every));
            }
            actix_web::rt::spawn(async move {
                shutdown().await;
                handle.stop(true).await;
            });
            server.await.map_err(|e| e.to_string())?;
            app.close().await;
            Ok::<(), String>(())
        })
    } else {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let (app, _) = App::builder(config, &base)
                .open()
                .await
                .map_err(|e| e.to_string())?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "listening on {} (hyper, {})",
                listener.local_addr().map_err(|e| e.to_string())?,
                app.store_description()
            );
            if let Some(every) = args.rotate {
                tokio::spawn(rotate_periodically(Arc::clone(&app), every));
            }
            tollgate_server::serve_hyper(listener, Arc::clone(&app), shutdown())
                .await
                .map_err(|e| e.to_string())?;
            app.close().await;
            Ok::<(), String>(())
        })
    };
    match served {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tollgate-bench-host: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
