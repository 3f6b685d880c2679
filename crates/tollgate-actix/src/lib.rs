//! actix-web 4 adapter for the Tollgate core: every endpoint — authorize, token, revoke,
//! introspect, userinfo, JWKS and both discovery documents — registered on an actix
//! [`App`](actix_web::App) under a configurable base path.
//!
//! The adapter decides nothing about OAuth. It turns an actix request into the core's plain
//! [`Request`] (method, headers, raw query, body read up to a size limit), runs the core's
//! flow with the async driver against your [`AsyncStore`], and turns the core's [`Response`]
//! back into an [`HttpResponse`]. It answers on its own only what HTTP itself dictates: `405`
//! with `Allow` for a method the endpoint does not take, `413` for a body over the limit,
//! `404` for a path nobody serves. Login and consent pages come from your [`Host`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use actix_web::{web, App, HttpServer};
//! use tollgate::{MemoryStore, Server, ServerConfig};
//! use tollgate_actix::{Endpoints, NoInteraction};
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let config = ServerConfig { issuer: "http://127.0.0.1:8080/oauth".into(), ..Default::default() };
//!     let server = Server::builder(config).build()?;
//!     let store = MemoryStore::new(); // store.insert_client(..) as above
//!     let endpoints = Endpoints::new(Arc::new(server), Arc::new(store))
//!         .host(Arc::new(NoInteraction)); // your pages: impl tollgate_actix::Host
//!     let app = move || {
//!         let endpoints = endpoints.clone();
//!         App::new()
//!             .route("/health", web::get().to(|| async { "ok" })) // your own routes
//!             .configure(move |cfg| endpoints.register(cfg)) // /oauth/token, /oauth/authorize, …
//!     };
//!     actix_web::rt::System::new().block_on(HttpServer::new(app).bind(("127.0.0.1", 8080))?.run())?;
//!     Ok(())
//! }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use tollgate::claims::{ClaimsSource, NoClaims};
use tollgate::grant::password::AsyncPasswordVerifier;
use tollgate::store::AsyncStore;
use tollgate::{Method, NoPasswordUsers, Request, Response, Server};

pub use tollgate::endpoint::{Endpoint, Routes};
pub use tollgate::endpoint::{Exchange, Host, NoInteraction};

/// The endpoints, their dependencies and HTTP limits; build with [`Endpoints::new`], then
/// mount with [`Endpoints::register`]. Cheap to clone (a few `Arc`s), as actix's per-worker
/// app factory needs.
pub struct Endpoints<S, U = NoPasswordUsers, C = NoClaims, H = NoInteraction> {
    server: Arc<Server>,
    store: Arc<S>,
    users: Arc<U>,
    claims: Arc<C>,
    host: Arc<H>,
    routes: Routes,
    max_body: usize,
}

impl<S, U, C, H> Clone for Endpoints<S, U, C, H> {
    fn clone(&self) -> Self {
        Endpoints {
            server: Arc::clone(&self.server),
            store: Arc::clone(&self.store),
            users: Arc::clone(&self.users),
            claims: Arc::clone(&self.claims),
            host: Arc::clone(&self.host),
            routes: self.routes.clone(),
            max_body: self.max_body,
        }
    }
}

impl<S: AsyncStore + 'static> Endpoints<S> {
    /// The endpoints of `server` over `store`, mounted under the issuer's path, with no
    /// password-grant users, no claims beyond `sub`, no login pages, and the core's form
    /// size limit as the body limit.
    #[must_use]
    pub fn new(server: Arc<Server>, store: Arc<S>) -> Self {
        let routes = Routes::new(
            Routes::issuer_path(&server.config().issuer),
            &server.config().endpoints,
        );
        let max_body = server.config().form_limits.max_bytes;
        Endpoints {
            server,
            store,
            users: Arc::new(NoPasswordUsers),
            claims: Arc::new(NoClaims),
            host: Arc::new(NoInteraction),
            routes,
            max_body,
        }
    }
}

impl<S, U, C, H> Endpoints<S, U, C, H> {
    /// The password-grant verifier.
    #[must_use]
    pub fn users<U2>(self, users: Arc<U2>) -> Endpoints<S, U2, C, H> {
        Endpoints {
            users,
            server: self.server,
            store: self.store,
            claims: self.claims,
            host: self.host,
            routes: self.routes,
            max_body: self.max_body,
        }
    }

    /// The source of UserInfo claims.
    #[must_use]
    pub fn claims<C2>(self, claims: Arc<C2>) -> Endpoints<S, U, C2, H> {
        Endpoints {
            claims,
            server: self.server,
            store: self.store,
            users: self.users,
            host: self.host,
            routes: self.routes,
            max_body: self.max_body,
        }
    }

    /// The host: sessions, pages, extra routes, logging.
    #[must_use]
    pub fn host<H2>(self, host: Arc<H2>) -> Endpoints<S, U, C, H2> {
        Endpoints {
            host,
            server: self.server,
            store: self.store,
            users: self.users,
            claims: self.claims,
            routes: self.routes,
            max_body: self.max_body,
        }
    }

    /// Mounts the endpoints under `base` instead of the issuer's path.
    #[must_use]
    pub fn base_path(mut self, base: &str) -> Self {
        self.routes = Routes::new(base, &self.server.config().endpoints);
        self
    }

    /// The largest request body accepted; more is a `413`.
    #[must_use]
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// The mounted routes.
    #[must_use]
    pub fn routes(&self) -> &Routes {
        &self.routes
    }
}

impl<S, U, C, H> Endpoints<S, U, C, H>
where
    S: AsyncStore + 'static,
    U: AsyncPasswordVerifier + 'static,
    C: ClaimsSource + 'static,
    H: Host,
{
    /// Registers one resource per endpoint path and a default service that hands any other
    /// path to [`Host::other`] (routes the app registers itself take precedence).
    pub fn register(&self, cfg: &mut web::ServiceConfig) {
        let mut seen = HashSet::new();
        for (path, endpoint) in self.routes.iter() {
            if !seen.insert(path) {
                continue;
            }
            let this = self.clone();
            cfg.service(
                web::resource(path).to(move |req: HttpRequest, body: web::Payload| {
                    let this = this.clone();
                    async move { this.handle(Some(endpoint), req, body).await }
                }),
            );
        }
        let this = self.clone();
        cfg.default_service(web::to(move |req: HttpRequest, body: web::Payload| {
            let this = this.clone();
            async move { this.handle(None, req, body).await }
        }));
    }

    /// Runs the core for one endpoint. No decision is made here: each arm hands the request
    /// to the core's flow and the flow's needs to the store, verifier, claims or host.
    async fn answer(
        &self,
        endpoint: Endpoint,
        request: &Request,
    ) -> (Response, Option<tollgate::Error>) {
        let backends = tollgate::endpoint::Backends {
            server: &self.server,
            store: &*self.store,
            users: &*self.users,
            claims: &*self.claims,
        };
        tollgate::endpoint::answer(&backends, &*self.host, endpoint, request).await
    }

    async fn handle(
        &self,
        endpoint: Option<Endpoint>,
        req: HttpRequest,
        body: web::Payload,
    ) -> HttpResponse {
        let started = Instant::now();
        let (response, core, failure) = self.respond(endpoint, &req, body).await;
        self.host.observe(&Exchange {
            method: req.method().as_str(),
            path: req.path(),
            endpoint,
            request: core.as_ref(),
            status: response.status,
            elapsed: started.elapsed(),
            failure: failure.as_ref(),
        });
        actix_response(response)
    }

    /// The response, the core request it answers (none when refused before reading it) and
    /// any library failure behind a `500`.
    async fn respond(
        &self,
        endpoint: Option<Endpoint>,
        req: &HttpRequest,
        body: web::Payload,
    ) -> (Response, Option<Request>, Option<tollgate::Error>) {
        if let Some(e) = endpoint.filter(|e| !e.accepts(req.method().as_str())) {
            return (plain(405, "method not allowed", Some(e)), None, None);
        }
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_body as u64) {
            return (plain(413, "request body too large", None), None, None);
        }
        let request = match body.to_bytes_limited(self.max_body).await {
            Ok(Ok(bytes)) => core_request(req, bytes.to_vec()),
            Ok(Err(_)) => {
                let refusal = plain(400, "the request body could not be read", None);
                return (refusal, None, None);
            }
            Err(_) => return (plain(413, "request body too large", None), None, None),
        };
        let (response, failure) = match endpoint {
            Some(e) => self.answer(e, &request).await,
            None => match self.host.other(req.path(), &request).await {
                Some(r) => (r, None),
                None => (plain(404, "not found", None), None),
            },
        };
        (response, Some(request), failure)
    }
}

/// The core's view of a request. Header values that are not UTF-8 are carried lossily, so
/// the core still sees (and refuses) them rather than their absence.
#[must_use]
pub fn core_request(req: &HttpRequest, body: Vec<u8>) -> Request {
    Request {
        method: Method::from_token(req.method().as_str()),
        headers: req
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        query: req.query_string().to_string(),
        body,
    }
}

/// An actix response from the core's. A header the core produced that HTTP cannot carry
/// becomes a `500` rather than a silently different response.
#[must_use]
pub fn actix_response(response: Response) -> HttpResponse {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in response.headers {
        let value = match value {
            std::borrow::Cow::Borrowed(s)
                if s.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b)) =>
            {
                actix_web::http::header::HeaderValue::from_static(s)
            }
            other => match actix_web::http::header::HeaderValue::from_str(&other) {
                Ok(v) => v,
                Err(_) => return HttpResponse::InternalServerError().finish(),
            },
        };
        builder.append_header((name, value));
    }
    builder.body(response.body)
}

/// A short plain-text answer for what HTTP decides (404, 405, 413).
fn plain(status: u16, text: &str, endpoint: Option<Endpoint>) -> Response {
    let mut headers = vec![("Content-Type", "text/plain; charset=utf-8".into())];
    if let Some(e) = endpoint.filter(|_| status == 405) {
        headers.push(("Allow", e.allow().into()));
    }
    Response {
        status,
        headers,
        body: text.as_bytes().to_vec(),
    }
}
