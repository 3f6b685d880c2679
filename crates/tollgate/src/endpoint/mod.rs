//! The framework-free half of every HTTP adapter: which path is which endpoint
//! ([`Routes`], [`Endpoint`]), what the adapter asks of the embedding application
//! ([`Host`]: the browser session, the login/consent/error pages, extra routes, a log hook),
//! and [`answer`], which runs the right flow for an endpoint with the async drivers. An
//! adapter only converts its framework's request and response and enforces HTTP limits;
//! every OAuth decision stays here (DESIGN.md principle 3). [`Endpoints`] bundles what an
//! adapter serves with and answers a request once its body is read.

mod host;
mod routes;
mod set;

pub use host::{Exchange, Host, NoInteraction};
pub use routes::{Endpoint, Routes};
pub use set::{plain, refuse_method, Endpoints};

use crate::authorize::AuthorizeOutcome;
use crate::claims::ClaimsSource;
use crate::discovery::Document;
use crate::driver::{drive_async, drive_async_with, drive_authorize_async};
use crate::error::Error;
use crate::grant::password::{AsyncPasswordVerifier, NoPasswordUsers};
use crate::http::{Request, Response};
use crate::server::Server;
use crate::store::AsyncStore;

/// What an endpoint answers with, besides the [`Host`].
#[derive(Debug)]
pub struct Backends<'a, S: ?Sized, U: ?Sized, C: ?Sized> {
    /// The core.
    pub server: &'a Server,
    /// The store.
    pub store: &'a S,
    /// Resource-owner password checks (the password grant).
    pub users: &'a U,
    /// User claims (UserInfo).
    pub claims: &'a C,
}

/// Answers `request` at `endpoint`; after a `500`, also the failure behind it.
pub async fn answer<S, U, C, H>(
    backends: &Backends<'_, S, U, C>,
    host: &H,
    endpoint: Endpoint,
    request: &Request,
) -> (Response, Option<Error>)
where
    S: AsyncStore + ?Sized,
    U: AsyncPasswordVerifier + ?Sized,
    C: ClaimsSource + ?Sized,
    H: Host + ?Sized,
{
    let Backends {
        server,
        store,
        users,
        claims,
    } = *backends;
    match endpoint {
        Endpoint::Authorize => {
            let session = host.session(request).await;
            let (flow, step) = server.authorize(request, session);
            match drive_authorize_async(flow, step, store).await {
                AuthorizeOutcome::Redirect(response) => (response, None),
                other => (host.page(other, request).await, None),
            }
        }
        Endpoint::Token => {
            let (flow, step) = server.token_flow(request);
            drive_async(flow, step, store, users).await
        }
        Endpoint::Revoke => {
            let (flow, step) = server.revocation_flow(request);
            drive_async(flow, step, store, &NoPasswordUsers).await
        }
        Endpoint::Introspect => {
            let (flow, step) = server.introspection_flow(request);
            drive_async(flow, step, store, &NoPasswordUsers).await
        }
        Endpoint::UserInfo => {
            let (flow, step) = server.userinfo_flow(request);
            drive_async_with(flow, step, store, &NoPasswordUsers, claims).await
        }
        Endpoint::Jwks => (server.jwks(), None),
        Endpoint::OpenIdConfiguration => (server.discovery(Document::OpenIdConfiguration), None),
        Endpoint::AuthorizationServerMetadata => {
            (server.discovery(Document::OAuthAuthorizationServer), None)
        }
    }
}
