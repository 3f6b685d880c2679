//! The runnable Tollgate authorization server: the [`tollgate`] core behind the hyper adapter,
//! configured from a TOML file ([`Config`]), with signing keys kept on disk ([`keys`]), a
//! durable store ([`store`]: SQLite or PostgreSQL through `tollgate-sql`, or memory), a user
//! table with brute-force protection ([`users`]), the sign-in and consent pages a person
//! goes through ([`web`], [`pages`]) and CORS for browser applications ([`cors`]).
//!
//! The binary is `tollgate-server` ([`cli::main`]); this library is what it runs, exposed so
//! tests can start the same application on an ephemeral port, with an injected clock, on
//! hyper ([`serve_hyper`]) or — with the `actix` feature — on actix-web ([`serve_actix`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod cors;
pub mod keys;
pub mod pages;
pub mod store;
pub mod users;
pub mod web;

use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tollgate::authorize::{AuthorizeOutcome, Session};
use tollgate::{Client, Clock, Request, Response, Server, StoreError, SystemClock, UnixTime};
use tollgate_hyper::IntoService as _;

pub use config::{Config, ConfigError};
pub use keys::KeySource;
pub use store::StoreUnavailable;
pub use web::App;

/// The most purge batches one round runs before it waits for the next interval, so a
/// backlog is worked off in bounded rounds.
const MAX_PURGE_BATCHES: usize = 1000;

/// A clock shared between the core and the application (sessions, failure windows).
struct SharedClock(Arc<dyn Clock>);

impl Clock for SharedClock {
    fn now(&self) -> UnixTime {
        self.0.now()
    }
}

/// Background work on the store: how often expired records are purged, how many per batch.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Upkeep {
    purge_interval: Duration,
    purge_batch: usize,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration cannot be used (the binary exits with status 2).
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The store could not be opened (the binary exits with status 1).
    #[error(transparent)]
    Store(#[from] StoreUnavailable),
}

/// Builds an [`App`] from a validated [`Config`].
#[must_use]
pub struct AppBuilder {
    config: Config,
    base_dir: PathBuf,
    clock: Arc<dyn Clock>,
}

/// Everything but the store.
struct Parts {
    server: Server,
    users: users::Users,
    clients: Vec<Client>,
    source: KeySource,
}

impl AppBuilder {
    /// Starts from `config`, resolving relative paths (`data_dir`, key files, a SQLite
    /// store) against `base_dir` — the configuration file's directory.
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

    fn prepare(&self) -> Result<Parts, ConfigError> {
        let config = &self.config;
        config.validate()?;
        let (keys, source) = keys::load(config, &self.base_dir)?;
        let server = Server::builder(config.server_config()?)
            .clock(SharedClock(Arc::clone(&self.clock)))
            .keys(keys)
            .build()?;
        let users = users::Users::new(config.users()?, &config.login, Arc::clone(&self.clock));
        Ok(Parts {
            server,
            users,
            clients: config.clients()?,
            source,
        })
    }

    fn assemble(
        &self,
        parts: Parts,
        store: store::Backend,
    ) -> Result<(Arc<App>, KeySource), ConfigError> {
        let config = &self.config;
        let mut app = App::new(
            Arc::new(parts.server),
            Arc::new(store),
            Arc::new(parts.users),
            config.client_names(),
            config.login.session_ttl,
            config.cors()?,
            Upkeep {
                purge_interval: Duration::from_secs(config.database.purge_interval),
                purge_batch: config.database.purge_batch,
            },
        );
        app.store_description = config.store_setting()?.describe();
        Ok((Arc::new(app), parts.source))
    }

    /// Validates the configuration, loads or generates the keys and registers the clients
    /// in a **memory** store, without an async runtime (the in-process test harness does
    /// this). A SQLite or PostgreSQL `store` needs [`AppBuilder::open`].
    ///
    /// # Errors
    /// A [`ConfigError`] naming the field at fault.
    pub fn build(self) -> Result<(Arc<App>, KeySource), ConfigError> {
        let parts = self.prepare()?;
        let store = store::Backend::open_memory(&self.config.store_setting()?)?;
        for client in parts.clients.iter().cloned() {
            store.insert_client_now(client)?;
        }
        self.assemble(parts, store)
    }

    /// Like [`AppBuilder::build`] for any store: opens it (applying the migrations of a SQL
    /// store; an unreachable PostgreSQL is tried again for `database.start_timeout`
    /// seconds) and makes its client registrations exactly the configured ones. Call it
    /// on the runtime that will serve the application: the store's connections belong to
    /// it.
    ///
    /// # Errors
    /// [`StartError::Config`] naming the field at fault, or [`StartError::Store`] when
    /// the store cannot be opened.
    pub async fn open(self) -> Result<(Arc<App>, KeySource), StartError> {
        let parts = self.prepare()?;
        let setting = self.config.store_setting()?;
        let store = store::Backend::open(
            &setting,
            &self.base_dir,
            &self.config.sql_options(),
            Duration::from_secs(self.config.database.start_timeout),
        )
        .await?;
        if let Err(e) = store.register_clients(parts.clients.clone()).await {
            store.close().await;
            return Err(StartError::Store(StoreUnavailable {
                store: setting.describe(),
                reason: format!("cannot register the clients: {e}"),
                waited: Duration::ZERO,
            }));
        }
        Ok(self.assemble(parts, store)?)
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
fn log_request(line: &Line<'_>) {
    // Reading the form again and formatting cost about a sixth of a client_credentials
    // request's work in the server: skip both when the subscriber would drop the line.
    let enabled = match line.failure {
        None => tracing::enabled!(target: "tollgate::http", tracing::Level::INFO),
        Some(_) => tracing::enabled!(target: "tollgate::http", tracing::Level::ERROR),
    };
    if !enabled {
        return;
    }
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
}

impl App {
    /// Starts building an application.
    pub fn builder(config: Config, base_dir: impl Into<PathBuf>) -> AppBuilder {
        AppBuilder::new(config, base_dir)
    }

    /// Removes what has expired by the server's clock, in batches of `database.purge_batch`
    /// repeated while a batch comes back full (at most 1000 batches); returns how many
    /// records went. Each batch is one short statement or transaction, and other tasks run
    /// between batches.
    ///
    /// # Errors
    /// When the store fails; what earlier batches removed stays removed.
    pub async fn purge_expired(&self) -> Result<usize, StoreError> {
        let batch = self.upkeep.purge_batch;
        let mut removed = 0;
        for _ in 0..MAX_PURGE_BATCHES {
            let n = self.store.purge_expired(self.server.now(), batch).await?;
            removed += n;
            if n < batch {
                break;
            }
            tokio::task::yield_now().await;
        }
        Ok(removed)
    }

    /// Purges every `database.purge_interval` seconds, forever; run it as a task of its own
    /// ([`serve_hyper`] and [`serve_actix`] do), so requests never wait for it. A failure
    /// is logged and the next interval tries again.
    pub async fn purge_periodically(self: Arc<Self>) {
        let mut every = tokio::time::interval(self.upkeep.purge_interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await; // the first tick is immediate: start with a full interval
        loop {
            every.tick().await;
            match self.purge_expired().await {
                Ok(0) => {}
                Ok(removed) => tracing::debug!(removed, "purged expired records"),
                Err(error) => tracing::warn!(%error, "purging expired records failed"),
            }
        }
    }

    /// Closes the store (on shutdown, after the last request).
    pub async fn close(&self) {
        self.store.close().await;
    }

    /// Logs a preflight the CORS layer answered, like any other request.
    fn log_preflight(&self, path: &str, endpoint: tollgate_hyper::Endpoint, started: Instant) {
        log_request(&Line {
            method: "OPTIONS",
            path,
            endpoint: Some(endpoint.name()),
            request: None,
            status: 204,
            elapsed: started.elapsed(),
            failure: None,
        });
    }
}

impl tollgate::endpoint::Host for App {
    async fn session(&self, request: &Request) -> Option<Session> {
        self.session_for(request)
    }
    async fn page(&self, outcome: AuthorizeOutcome, _request: &Request) -> Response {
        self.render(outcome)
    }
    async fn other(&self, path: &str, request: &Request) -> Option<Response> {
        self.route(path, request).await
    }
    fn observe(&self, x: &tollgate::endpoint::Exchange<'_>) {
        log_request(&Line {
            method: x.method,
            path: x.path,
            endpoint: x.endpoint.map(tollgate::endpoint::Endpoint::name),
            request: x.request,
            status: x.status,
            elapsed: x.elapsed,
            failure: x.failure,
        });
    }
}

/// Serves `app` on `listener` with the hyper adapter until `shutdown` completes, then
/// finishes open requests. Expired records are purged on a task of their own meanwhile.
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
        .host(Arc::clone(&app))
        .into_service();
    let purge = tokio::spawn(Arc::clone(&app).purge_periodically());
    let served = tollgate_hyper::serve(
        listener,
        WithCors {
            inner: service,
            app,
        },
        shutdown,
    )
    .await;
    purge.abort();
    served
}

/// The CORS layer on hyper: answers preflights the policy allows and adds its headers to
/// the adapter's responses ([`cors::Cors::decide`] decides).
#[derive(Clone)]
struct WithCors<S> {
    inner: S,
    app: Arc<App>,
}

type HyperResponse = http::Response<http_body_util::Full<bytes::Bytes>>;

impl<S, B> tower_service::Service<http::Request<B>> for WithCors<S>
where
    S: tower_service::Service<http::Request<B>, Response = HyperResponse, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = HyperResponse;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<HyperResponse, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let started = Instant::now();
        // By `http`'s constants: a name given as a string is parsed again on every lookup.
        let header =
            |name: http::HeaderName| request.headers().get(name).and_then(|v| v.to_str().ok());
        let decision = self.app.cors.decide(
            request.method().as_str(),
            request.uri().path(),
            header(http::header::ORIGIN),
            header(http::header::ACCESS_CONTROL_REQUEST_METHOD),
        );
        match decision {
            cors::Decision::Pass => Box::pin(self.inner.call(request)),
            cors::Decision::Preflight(response, endpoint) => {
                self.app
                    .log_preflight(request.uri().path(), endpoint, started);
                let response = tollgate_hyper::hyper_response(response);
                Box::pin(async move { Ok(response) })
            }
            cors::Decision::AddHeaders(extra) => {
                let answer = self.inner.call(request);
                Box::pin(async move {
                    let mut response = answer.await?;
                    for (name, value) in extra {
                        if let Ok(value) = http::HeaderValue::from_str(&value) {
                            response.headers_mut().append(name, value);
                        }
                    }
                    Ok(response)
                })
            }
        }
    }
}

// One `Host` implementation serves both adapters: the trait lives in the core
// (`tollgate::endpoint::Host`) and both re-export it.

/// Serves `app` on `listener` with the actix-web adapter; call it inside an actix system
/// (it spawns the purge task there), run the returned server and stop it through its
/// handle.
///
/// # Errors
/// When actix cannot take the listener.
#[cfg(feature = "actix")]
pub fn serve_actix(
    listener: std::net::TcpListener,
    app: Arc<App>,
    workers: usize,
) -> std::io::Result<actix_web::dev::Server> {
    use actix_web::dev::Service as _;
    use actix_web::http::header::{HeaderName, HeaderValue};
    use tollgate_actix::Register as _;

    let endpoints = tollgate_actix::Endpoints::new(Arc::clone(&app.server), Arc::clone(&app.store))
        .users(Arc::clone(&app.users))
        .claims(Arc::clone(&app.users))
        .host(Arc::clone(&app));
    let purger = Arc::clone(&app);
    let server = actix_web::HttpServer::new(move || {
        let endpoints = endpoints.clone();
        let app = Arc::clone(&app);
        actix_web::App::new()
            // The CORS layer: answers preflights the policy allows and adds its headers to
            // the adapter's responses ([`cors::Cors::decide`] decides).
            .wrap_fn(move |request, service| {
                let started = Instant::now();
                let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
                let decision = app.cors.decide(
                    request.method().as_str(),
                    request.path(),
                    header("origin"),
                    header("access-control-request-method"),
                );
                let answer: Pin<Box<dyn Future<Output = _>>> = match decision {
                    cors::Decision::Pass => Box::pin(service.call(request)),
                    cors::Decision::Preflight(response, endpoint) => {
                        app.log_preflight(request.path(), endpoint, started);
                        let response = tollgate_actix::actix_response(response);
                        Box::pin(async move { Ok(request.into_response(response)) })
                    }
                    cors::Decision::AddHeaders(extra) => {
                        let answer = service.call(request);
                        Box::pin(async move {
                            let mut response = answer.await?;
                            for (name, value) in extra {
                                if let (Ok(name), Ok(value)) = (
                                    HeaderName::from_bytes(name.as_bytes()),
                                    HeaderValue::from_str(&value),
                                ) {
                                    response.headers_mut().append(name, value);
                                }
                            }
                            Ok(response)
                        })
                    }
                };
                answer
            })
            .configure(move |cfg| endpoints.register(cfg))
    })
    .workers(workers)
    .disable_signals()
    .listen(listener)?
    .run();
    // Runs on the system's arbiter until the system stops.
    actix_web::rt::spawn(purger.purge_periodically());
    Ok(server)
}
