//! [`Endpoints`]: everything an HTTP adapter serves with — the core, the store, the password
//! verifier, the claims source, the [`Host`], the mounted [`Routes`] and the body limit —
//! and the framework-free part of answering one request: `405` for a method an endpoint
//! does not take, the endpoint's flow, the host's own routes, `404` for the rest.
//!
//! Each adapter adds only what its framework needs (a `tower` service, an actix
//! `ServiceConfig`), reads the body under [`Endpoints::body_limit`] and converts types.

use std::sync::Arc;

use super::{answer, Backends, Endpoint, Exchange, Host, NoInteraction, Routes};
use crate::claims::{ClaimsSource, NoClaims};
use crate::error::Error;
use crate::grant::password::{AsyncPasswordVerifier, NoPasswordUsers};
use crate::http::{Request, Response};
use crate::server::Server;
use crate::store::AsyncStore;

/// The endpoints, their dependencies and the HTTP body limit; build with
/// [`Endpoints::new`] and hand to an adapter. Cheap to clone (a few `Arc`s).
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

impl<S, U, C, H> std::fmt::Debug for Endpoints<S, U, C, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoints")
            .field("routes", &self.routes)
            .field("max_body", &self.max_body)
            .finish_non_exhaustive()
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

    /// The largest request body accepted; an adapter answers more with a `413`.
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

    /// The largest request body accepted.
    #[must_use]
    pub fn body_limit(&self) -> usize {
        self.max_body
    }
}

impl<S, U, C, H> Endpoints<S, U, C, H>
where
    S: AsyncStore + 'static,
    U: AsyncPasswordVerifier + 'static,
    C: ClaimsSource + 'static,
    H: Host,
{
    /// Answers `request` at `endpoint` (`None`: a path no endpoint is mounted at, which the
    /// host may serve, else `404`); after a `500`, also the library failure behind it. Call
    /// [`refuse_method`] first, before reading the body.
    pub async fn dispatch(
        &self,
        endpoint: Option<Endpoint>,
        path: &str,
        request: &Request,
    ) -> (Response, Option<Error>) {
        match endpoint {
            Some(endpoint) => {
                let backends = Backends {
                    server: &self.server,
                    store: &*self.store,
                    users: &*self.users,
                    claims: &*self.claims,
                };
                answer(&backends, &*self.host, endpoint, request).await
            }
            None => match self.host.other(path, request).await {
                Some(r) => (r, None),
                None => (plain(404, "not found", None), None),
            },
        }
    }

    /// Hands one answered request to [`Host::observe`].
    pub fn observe(&self, exchange: &Exchange<'_>) {
        self.host.observe(exchange);
    }
}

/// `405` with `Allow` when `endpoint` does not take `method`; `None` when it does (or when
/// no endpoint is mounted at the path: the host decides then).
#[must_use]
pub fn refuse_method(endpoint: Option<Endpoint>, method: &str) -> Option<Response> {
    endpoint
        .filter(|e| !e.accepts(method))
        .map(|e| plain(405, "method not allowed", Some(e)))
}

/// A short plain-text answer for what HTTP decides (`400` unreadable body, `404`, `405` with
/// `Allow` naming `endpoint`'s methods, `413`).
#[must_use]
pub fn plain(status: u16, text: &str, endpoint: Option<Endpoint>) -> Response {
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
