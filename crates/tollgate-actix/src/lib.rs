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
//! use tollgate_actix::{Endpoints, NoInteraction, Register as _};
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
use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use tollgate::claims::ClaimsSource;
use tollgate::endpoint::{plain, refuse_method};
use tollgate::grant::password::AsyncPasswordVerifier;
use tollgate::store::AsyncStore;
use tollgate::{Method, Request, Response};

pub use tollgate::endpoint::{Endpoint, Endpoints, Exchange, Host, NoInteraction, Routes};

/// Mounts [`Endpoints`] on an actix [`App`](actix_web::App).
pub trait Register {
    /// Registers one resource per endpoint path and a default service that hands any other
    /// path to [`Host::other`] (routes the app registers itself take precedence).
    fn register(&self, cfg: &mut web::ServiceConfig);
}

impl<S, U, C, H> Register for Endpoints<S, U, C, H>
where
    S: AsyncStore + 'static,
    U: AsyncPasswordVerifier + 'static,
    C: ClaimsSource + 'static,
    H: Host,
{
    fn register(&self, cfg: &mut web::ServiceConfig) {
        let mut seen = HashSet::new();
        for (path, endpoint) in self.routes().iter() {
            if !seen.insert(path) {
                continue;
            }
            let this = self.clone();
            cfg.service(
                web::resource(path).to(move |req: HttpRequest, body: web::Payload| {
                    let this = this.clone();
                    async move { handle(&this, Some(endpoint), req, body).await }
                }),
            );
        }
        let this = self.clone();
        cfg.default_service(web::to(move |req: HttpRequest, body: web::Payload| {
            let this = this.clone();
            async move { handle(&this, None, req, body).await }
        }));
    }
}

async fn handle<S, U, C, H>(
    endpoints: &Endpoints<S, U, C, H>,
    endpoint: Option<Endpoint>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse
where
    S: AsyncStore + 'static,
    U: AsyncPasswordVerifier + 'static,
    C: ClaimsSource + 'static,
    H: Host,
{
    let started = Instant::now();
    let (response, core, failure) = respond(endpoints, endpoint, &req, body).await;
    endpoints.observe(&Exchange {
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

/// The response, the core request it answers (none when refused before reading it) and any
/// library failure behind a `500`.
async fn respond<S, U, C, H>(
    endpoints: &Endpoints<S, U, C, H>,
    endpoint: Option<Endpoint>,
    req: &HttpRequest,
    body: web::Payload,
) -> (Response, Option<Request>, Option<tollgate::Error>)
where
    S: AsyncStore + 'static,
    U: AsyncPasswordVerifier + 'static,
    C: ClaimsSource + 'static,
    H: Host,
{
    if let Some(refusal) = refuse_method(endpoint, req.method().as_str()) {
        return (refusal, None, None);
    }
    let max_body = endpoints.body_limit();
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body as u64) {
        return (plain(413, "request body too large", None), None, None);
    }
    let request = match body.to_bytes_limited(max_body).await {
        Ok(Ok(bytes)) => core_request(req, bytes.to_vec()),
        Ok(Err(_)) => {
            let refusal = plain(400, "the request body could not be read", None);
            return (refusal, None, None);
        }
        Err(_) => return (plain(413, "request body too large", None), None, None),
    };
    let (response, failure) = endpoints.dispatch(endpoint, req.path(), &request).await;
    (response, Some(request), failure)
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
