//! What the adapter asks of the application that embeds it: the browser's login session and
//! the pages `/authorize` cannot answer with a redirect (login, consent, error), optionally
//! the host's own routes, and a hook that sees every answered request for logging. All of it
//! speaks the core's plain [`Request`] and [`Response`], so one implementation serves any
//! adapter.

use std::future::Future;
use std::time::Duration;

use crate::authorize::{AuthorizeOutcome, Session};
use crate::http::{Request, Response};

use super::routes::Endpoint;

/// The embedding application.
///
/// Only [`Host::page`] must be written; the rest have defaults (no sessions, no extra
/// routes, no logging).
pub trait Host: Send + Sync + 'static {
    /// The browser's current login session, read from the host's own cookie.
    fn session(&self, request: &Request) -> impl Future<Output = Option<Session>> + Send {
        let _ = request;
        async { None }
    }

    /// Renders an `/authorize` outcome that is not a redirect: [`AuthorizeOutcome::Login`],
    /// [`AuthorizeOutcome::Consent`] or [`AuthorizeOutcome::ErrorPage`]. Login and consent
    /// pages must set `set_browser_cookie` as an `HttpOnly; SameSite=Lax` cookie and carry
    /// the handle and CSRF token in their form (see [`crate::authorize`]).
    fn page(
        &self,
        outcome: AuthorizeOutcome,
        request: &Request,
    ) -> impl Future<Output = Response> + Send;

    /// Answers a request to a path the adapter does not mount (the host's login form, say);
    /// `None` is a `404`.
    fn other(
        &self,
        path: &str,
        request: &Request,
    ) -> impl Future<Output = Option<Response>> + Send {
        let _ = (path, request);
        async { None }
    }

    /// Sees every answered request once, after the response is made. Never log the request
    /// body or `Authorization` header: they carry secrets.
    fn observe(&self, exchange: &Exchange<'_>) {
        let _ = exchange;
    }
}

/// One answered request, for [`Host::observe`].
#[derive(Debug)]
pub struct Exchange<'a> {
    /// The method token.
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    /// The endpoint, when the path is one.
    pub endpoint: Option<Endpoint>,
    /// The request as the core saw it; `None` when it was refused before (405, 413, 404).
    pub request: Option<&'a Request>,
    /// The status sent.
    pub status: u16,
    /// Time from the request's arrival to the response.
    pub elapsed: Duration,
    /// After a `500`: the library failure behind it, for the operator.
    pub failure: Option<&'a crate::Error>,
}

/// A host without pages or sessions, for servers that only serve the token-side endpoints:
/// error pages are rendered as the core's JSON, and a login or consent page is a `501`.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoInteraction;

impl Host for NoInteraction {
    async fn page(&self, outcome: AuthorizeOutcome, _request: &Request) -> Response {
        match outcome {
            AuthorizeOutcome::ErrorPage(page) => page.to_response(),
            AuthorizeOutcome::Redirect(response) => response,
            _ => Response {
                status: 501,
                headers: vec![("Content-Type", "text/plain; charset=utf-8".into())],
                body: b"this server has no login or consent page".to_vec(),
            },
        }
    }
}
