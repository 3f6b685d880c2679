//! The runnable Tollgate authorization server: the [`tollgate`] core behind the hyper adapter,
//! configured from a TOML file ([`Config`]), with signing keys kept on disk ([`keys`]), a user
//! table with brute-force protection ([`users`]), and the sign-in and consent pages a person
//! goes through ([`web`], [`pages`]).
//!
//! The binary is `tollgate-server`; this library is what it runs, exposed so tests can start
//! the same application on an ephemeral port, with an injected clock, on hyper
//! ([`serve_hyper`]) or — with the `actix` feature — on actix-web ([`serve_actix`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod keys;
pub mod pages;
pub mod store;
pub mod users;
pub mod web;

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tollgate::authorize::{AuthorizeOutcome, Session};
use tollgate::{Clock, Request, Response, Server, SystemClock, UnixTime};

pub use config::{Config, ConfigError};
pub use keys::KeySource;
pub use web::App;

/// How often expired records are purged from the store, in seconds of server time.
const PURGE_EVERY: u64 = 60;

/// A clock shared between the core and the application (sessions, failure windows).
struct SharedClock(Arc<dyn Clock>);

impl Clock for SharedClock {
    fn now(&self) -> UnixTime {
        self.0.now()
    }
}

/// Builds an [`App`] from a validated [`Config`].
#[must_use]
pub struct AppBuilder {
    config: Config,
    base_dir: PathBuf,
    clock: Arc<dyn Clock>,
}

impl AppBuilder {
    /// Starts from `config`, resolving relative paths (`data_dir`, key files) against
    /// `base_dir` — the configuration file's directory.
    pub fn new(config: Config, base_dir: impl Into<PathBuf>) -> AppBuilder {
        AppBuilder {
            config,
            base_dir: base_dir.into(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Injects the clock (tests use a `ManualClock`).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> AppBuilder {
        self.clock = clock;
        self
    }

    /// Validates the configuration, loads or generates the keys, opens the store and
    /// registers the clients.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the field at fault.
    pub fn build(self) -> Result<(Arc<App>, KeySource), ConfigError> {
        let config = &self.config;
        config.validate()?;
        let (keys, source) = keys::load(config, &self.base_dir)?;
        let server = Server::builder(config.server_config()?)
            .clock(SharedClock(Arc::clone(&self.clock)))
            .keys(keys)
            .build()?;
        let store = store::Backend::open(&config.store_setting()?)?;
        for client in config.clients()? {
            store.insert_client(client)?;
        }
        let users = users::Users::new(config.users()?, &config.login, self.clock);
        let app = App::new(
            Arc::new(server),
            Arc::new(store),
            Arc::new(users),
            config.client_names(),
            config.login.session_ttl,
        );
        Ok((Arc::new(app), source))
    }
}

/// What one log line says about an answered request.
struct Line<'a> {
    method: &'a str,
    path: &'a str,
    endpoint: Option<&'static str>,
    request: Option<&'a Request>,
    status: u16,
    elapsed: Duration,
    failure: Option<&'a tollgate::Error>,
}

/// One structured line per answered request: method, path, status, latency, endpoint,
/// client id and grant type — never a token, secret, password or query string.
fn log_request(app: &App, line: &Line<'_>) {
    let (client_id, grant_type) = line.request.map(web::log_fields).unwrap_or_default();
    let client_id = client_id.as_deref().unwrap_or("-");
    let grant_type = grant_type.as_deref().unwrap_or("-");
    let endpoint = line.endpoint.unwrap_or("-");
    let latency_ms = format!("{:.3}", line.elapsed.as_secs_f64() * 1000.0);
    let (method, path, status) = (line.method, line.path, line.status);
    match line.failure {
        None => tracing::info!(
            target: "tollgate::http",
            method, path, status, %latency_ms, endpoint, client_id, grant_type, "request"
        ),
        Some(error) => tracing::error!(
            target: "tollgate::http",
            method, path, status, %latency_ms, endpoint, client_id, grant_type, %error, "request"
        ),
    }
    app.purge_now_and_then();
}

impl App {
    /// Starts building an application.
    pub fn builder(config: Config, base_dir: impl Into<PathBuf>) -> AppBuilder {
        AppBuilder::new(config, base_dir)
    }

    fn purge_now_and_then(&self) {
        static LAST: AtomicU64 = AtomicU64::new(0);
        let now = self.server.now().secs();
        let last = LAST.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= PURGE_EVERY
            && LAST
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            if let Err(e) = self.store.purge_expired(self.server.now(), 10_000) {
                tracing::warn!(error = %e, "purging expired records failed");
            }
        }
    }
}

impl tollgate_hyper::Host for App {
    async fn session(&self, request: &Request) -> Option<Session> {
        self.session_for(request)
    }
    async fn page(&self, outcome: AuthorizeOutcome, _request: &Request) -> Response {
        self.render(outcome)
    }
    async fn other(&self, path: &str, request: &Request) -> Option<Response> {
        self.route(path, request).await
    }
    fn observe(&self, x: &tollgate_hyper::Exchange<'_>) {
        log_request(
            self,
            &Line {
                method: x.method,
                path: x.path,
                endpoint: x.endpoint.map(tollgate_hyper::Endpoint::name),
                request: x.request,
                status: x.status,
                elapsed: x.elapsed,
                failure: x.failure,
            },
        );
    }
}

/// Serves `app` on `listener` with the hyper adapter until `shutdown` completes, then
/// finishes open requests.
///
/// # Errors
/// When the accept loop fails.
pub async fn serve_hyper(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let service = tollgate_hyper::Endpoints::new(Arc::clone(&app.server), Arc::clone(&app.store))
        .users(Arc::clone(&app.users))
        .claims(Arc::clone(&app.users))
        .host(app)
        .into_service();
    tollgate_hyper::serve(listener, service, shutdown).await
}

#[cfg(feature = "actix")]
impl tollgate_actix::Host for App {
    async fn session(&self, request: &Request) -> Option<Session> {
        self.session_for(request)
    }
    async fn page(&self, outcome: AuthorizeOutcome, _request: &Request) -> Response {
        self.render(outcome)
    }
    async fn other(&self, path: &str, request: &Request) -> Option<Response> {
        self.route(path, request).await
    }
    fn observe(&self, x: &tollgate_actix::Exchange<'_>) {
        log_request(
            self,
            &Line {
                method: x.method,
                path: x.path,
                endpoint: x.endpoint.map(tollgate_actix::Endpoint::name),
                request: x.request,
                status: x.status,
                elapsed: x.elapsed,
                failure: x.failure,
            },
        );
    }
}

/// Serves `app` on `listener` with the actix-web adapter; run the returned server inside an
/// actix system and stop it through its handle.
///
/// # Errors
/// When actix cannot take the listener.
#[cfg(feature = "actix")]
pub fn serve_actix(
    listener: std::net::TcpListener,
    app: Arc<App>,
    workers: usize,
) -> std::io::Result<actix_web::dev::Server> {
    let endpoints = tollgate_actix::Endpoints::new(Arc::clone(&app.server), Arc::clone(&app.store))
        .users(Arc::clone(&app.users))
        .claims(Arc::clone(&app.users))
        .host(app);
    Ok(actix_web::HttpServer::new(move || {
        let endpoints = endpoints.clone();
        actix_web::App::new().configure(move |cfg| endpoints.register(cfg))
    })
    .workers(workers)
    .disable_signals()
    .listen(listener)?
    .run())
}
