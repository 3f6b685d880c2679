//! hyper 1.x adapter for the Tollgate core: every endpoint — authorize, token, revoke,
//! introspect, userinfo, JWKS and both discovery documents — as one [`tower_service::Service`]
//! under a configurable base path, plus [`serve`], an accept loop with graceful shutdown.
//!
//! The adapter decides nothing about OAuth. It turns a hyper request into the core's plain
//! [`Request`] (method, headers, raw query, body read up to a size limit), runs the core's
//! flow with the async driver against your [`AsyncStore`], and turns the core's [`Response`]
//! back into a hyper response. It answers on its own only what HTTP itself dictates: `405`
//! with `Allow` for a method the endpoint does not take, `413` for a body over the limit,
//! `404` for a path nobody serves. Login and consent pages come from your [`Host`].
//!
//! ```no_run
//! use std::sync::Arc;
//! use tollgate::{ApplicationKind, AuthMethod, Client, ClientId, ClientType, GrantType};
//! use tollgate::{MemoryStore, Scope, SecretHash, Server, ServerConfig};
//! use tollgate_hyper::{Endpoints, IntoService as _, NoInteraction};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let config = ServerConfig { issuer: "http://127.0.0.1:8080".into(), ..Default::default() };
//!     let server = Server::builder(config).build()?;
//!     let store = MemoryStore::new();
//!     store.insert_client(Client {
//!         id: ClientId::new("svc")?, client_type: ClientType::Confidential,
//!         kind: ApplicationKind::Service, auth_method: AuthMethod::ClientSecretBasic,
//!         secret: Some(SecretHash::fast(&std::env::var("SVC_SECRET")?)?), redirect_uris: vec![],
//!         grant_types: vec![GrantType::ClientCredentials], allowed_scopes: Scope::parse("api")?,
//!         default_scopes: Scope::parse("api")?, refresh_rotation: None, oidc: Default::default(),
//!     })?;
//!     let service = Endpoints::new(Arc::new(server), Arc::new(store))
//!         .host(Arc::new(NoInteraction)) // your pages: impl tollgate_hyper::Host
//!         .into_service();
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     let ctrl_c = async { let _ = tokio::signal::ctrl_c().await; };
//!     tollgate_hyper::serve(listener, service, ctrl_c).await?; // graceful on ctrl-c
//!     Ok(())
//! }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::Body;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tollgate::claims::ClaimsSource;
use tollgate::endpoint::{plain, refuse_method};
use tollgate::grant::password::AsyncPasswordVerifier;
use tollgate::store::AsyncStore;
use tollgate::{Method, Request, Response};

pub use tollgate::endpoint::{Endpoint, Endpoints, Exchange, Host, NoInteraction, Routes};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Turns [`Endpoints`] into the hyper adapter's [`tower_service::Service`].
pub trait IntoService<S, U, C, H> {
    /// The [`tower_service::Service`] answering every request.
    #[must_use]
    fn into_service(self) -> TollgateService<S, U, C, H>;
}

impl<S, U, C, H> IntoService<S, U, C, H> for Endpoints<S, U, C, H> {
    fn into_service(self) -> TollgateService<S, U, C, H> {
        TollgateService {
            inner: Arc::new(self),
        }
    }
}

async fn handle<S, U, C, H, B>(
    endpoints: &Endpoints<S, U, C, H>,
    request: http::Request<B>,
) -> http::Response<Full<Bytes>>
where
    S: AsyncStore + 'static,
    U: AsyncPasswordVerifier + 'static,
    C: ClaimsSource + 'static,
    H: Host,
    B: Body,
    B::Error: Into<BoxError>,
{
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let endpoint = endpoints.routes().find(parts.uri.path());
    let (response, core, failure) = respond(endpoints, endpoint, &parts, body).await;
    endpoints.observe(&Exchange {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        endpoint,
        request: core.as_ref(),
        status: response.status,
        elapsed: started.elapsed(),
        failure: failure.as_ref(),
    });
    hyper_response(response)
}

/// The response, the core request it answers (none when refused before reading it) and any
/// library failure behind a `500`.
async fn respond<S, U, C, H, B>(
    endpoints: &Endpoints<S, U, C, H>,
    endpoint: Option<Endpoint>,
    parts: &http::request::Parts,
    body: B,
) -> (Response, Option<Request>, Option<tollgate::Error>)
where
    S: AsyncStore + 'static,
    U: AsyncPasswordVerifier + 'static,
    C: ClaimsSource + 'static,
    H: Host,
    B: Body,
    B::Error: Into<BoxError>,
{
    if let Some(refusal) = refuse_method(endpoint, parts.method.as_str()) {
        return (refusal, None, None);
    }
    let request = match read_body(body, &parts.headers, endpoints.body_limit()).await {
        Ok(bytes) => core_request(parts, bytes),
        Err(refusal) => return (refusal, None, None),
    };
    let (response, failure) = endpoints
        .dispatch(endpoint, parts.uri.path(), &request)
        .await;
    (response, Some(request), failure)
}

/// The endpoints as a [`tower_service::Service`] over any `http` request body; cheap to
/// clone (one `Arc`).
pub struct TollgateService<S, U, C, H> {
    inner: Arc<Endpoints<S, U, C, H>>,
}

impl<S, U, C, H> Clone for TollgateService<S, U, C, H> {
    fn clone(&self) -> Self {
        TollgateService {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S, U, C, H, B> tower_service::Service<http::Request<B>> for TollgateService<S, U, C, H>
where
    S: AsyncStore + 'static,
    U: AsyncPasswordVerifier + 'static,
    C: ClaimsSource + 'static,
    H: Host,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move { Ok(handle(&inner, request).await) })
    }
}

/// Reads the body up to `max` bytes: a declared or actual length over it is a `413`, a body
/// that fails to arrive a `400`.
async fn read_body<B>(body: B, headers: &http::HeaderMap, max: usize) -> Result<Vec<u8>, Response>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(plain(413, "request body too large", None));
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(plain(413, "request body too large", None))
        }
        Err(_) => Err(plain(400, "the request body could not be read", None)),
    }
}

/// The core's view of a request. Header values that are not UTF-8 are carried lossily, so
/// the core still sees (and refuses) them rather than their absence.
#[must_use]
pub fn core_request(parts: &http::request::Parts, body: Vec<u8>) -> Request {
    Request {
        method: Method::from_token(parts.method.as_str()),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                // Valid UTF-8 (all but hostile values) is checked by the fast path; only the
                // rest goes through the lossy decoder.
                let value = match std::str::from_utf8(v.as_bytes()) {
                    Ok(s) => s.to_owned(),
                    Err(_) => String::from_utf8_lossy(v.as_bytes()).into_owned(),
                };
                (n.as_str().to_string(), value)
            })
            .collect(),
        query: parts.uri.query().unwrap_or("").to_string(),
        body,
    }
}

/// A hyper response from the core's. A header the core produced that HTTP cannot carry
/// becomes a `500` rather than a silently different response.
#[must_use]
pub fn hyper_response(response: Response) -> http::Response<Full<Bytes>> {
    let internal_error = || {
        let mut r = http::Response::new(Full::new(Bytes::from_static(b"internal error")));
        *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        r
    };
    let Ok(status) = http::StatusCode::from_u16(response.status) else {
        return internal_error();
    };
    let mut headers = http::HeaderMap::with_capacity(response.headers.len());
    for (name, value) in response.headers {
        let Some(name) = header_name(name) else {
            return internal_error();
        };
        headers.append(name, header_value(value));
    }
    let mut r = http::Response::new(Full::new(Bytes::from(response.body)));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}

/// The names the core writes on every token, error and JSON response, as `http`'s constants:
/// `HeaderName::from_bytes` would lowercase and look each up again on every response.
static KNOWN_NAMES: [(&str, http::HeaderName); 7] = [
    ("Content-Type", http::header::CONTENT_TYPE),
    ("Cache-Control", http::header::CACHE_CONTROL),
    ("Pragma", http::header::PRAGMA),
    ("WWW-Authenticate", http::header::WWW_AUTHENTICATE),
    ("Allow", http::header::ALLOW),
    ("Location", http::header::LOCATION),
    ("Set-Cookie", http::header::SET_COOKIE),
];

/// `name` as a header name; `None` when HTTP cannot carry it.
fn header_name(name: &str) -> Option<http::HeaderName> {
    KNOWN_NAMES
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, h)| h.clone())
        .or_else(|| http::HeaderName::from_bytes(name.as_bytes()).ok())
}

fn header_value(value: std::borrow::Cow<'static, str>) -> http::HeaderValue {
    let valid = |s: &str| s.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
    match value {
        std::borrow::Cow::Borrowed(s) if valid(s) => http::HeaderValue::from_static(s),
        other => http::HeaderValue::from_str(&other)
            .unwrap_or_else(|_| http::HeaderValue::from_static("invalid")),
    }
}

/// How long [`serve`] waits for open requests after `shutdown` before it returns anyway.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Accepts connections on `listener` and serves each with `service` (HTTP/1.1 and h2c)
/// until `shutdown` completes; then stops accepting, closes idle connections and lets open
/// requests finish, for at most [`SHUTDOWN_GRACE`].
///
/// # Errors
/// Never fails today; the `io::Result` leaves room for listener failures that must stop
/// the server.
pub async fn serve<T>(
    listener: tokio::net::TcpListener,
    service: T,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    T: tower_service::Service<
            http::Request<hyper::body::Incoming>,
            Response = http::Response<Full<Bytes>>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    T::Future: Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else {
                    // Out of descriptors or a connection reset before accept: back off briefly.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                };
                let conn = builder
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service.clone()))
                    .into_owned();
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn core(status: u16, headers: Vec<(&'static str, Cow<'static, str>)>) -> Response {
        Response {
            status,
            headers,
            body: b"{}".to_vec(),
        }
    }

    /// TK-02: the token response's `Cache-Control: no-store` and `Pragma: no-cache` reach
    /// the wire, with the status and body, whether a name is one of the known constants or not.
    #[test]
    fn every_core_header_reaches_the_hyper_response() {
        let mut r = Response::json(200, b"{\"a\":1}".to_vec());
        r.headers.push(("X-Custom", "yes".into()));
        r.headers.push(("Set-Cookie", "a=1".into()));
        r.headers.push(("Set-Cookie", "b=2".into()));
        let h = hyper_response(r);
        assert_eq!(h.status(), 200);
        let get = |n: &str| h.headers().get(n).and_then(|v| v.to_str().ok());
        assert_eq!(get("content-type"), Some("application/json"));
        assert_eq!(get("cache-control"), Some("no-store"));
        assert_eq!(get("pragma"), Some("no-cache"));
        assert_eq!(get("x-custom"), Some("yes"));
        let cookies: Vec<_> = h.headers().get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(h.headers().len(), 6);
    }

    /// Header values reach the core as text: UTF-8 as sent, anything else (obs-text that is
    /// not UTF-8) with replacement characters rather than dropped.
    #[test]
    fn header_values_reach_the_core_as_text() {
        let (parts, ()) = http::Request::post("/token?x=1")
            .header(
                "x-utf8",
                http::HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap(),
            )
            .header(
                "x-latin1",
                http::HeaderValue::from_bytes(b"caf\xe9").unwrap(),
            )
            .body(())
            .unwrap()
            .into_parts();
        let core = core_request(&parts, b"a=b".to_vec());
        let get = |n: &str| {
            core.headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("x-utf8"), Some("caf\u{e9}"));
        assert_eq!(get("x-latin1"), Some("caf\u{fffd}"));
        assert_eq!(core.query, "x=1");
        assert_eq!(core.body, b"a=b");
    }

    /// A name or status HTTP cannot carry is a 500, not a response missing a header.
    #[test]
    fn an_unsendable_header_or_status_is_a_500() {
        let bad_name = hyper_response(core(200, vec![("bad name", "x".into())]));
        assert_eq!(bad_name.status(), 500);
        let bad_status = hyper_response(core(1000, vec![]));
        assert_eq!(bad_status.status(), 500);
    }
}
