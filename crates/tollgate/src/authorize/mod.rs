//! The authorization endpoint (RFC 6749 §3.1, §4.1.1–§4.1.2; RFC 7636 §4.3–§4.4; OIDC Core
//! §3.1.2) as a sans-IO flow. The core makes every protocol decision; the host owns the login
//! and consent pages.
//!
//! [`Server::authorize`](crate::Server::authorize) starts a flow from the browser's request
//! and its current [`Session`]. The flow asks for the client, the user's remembered consent
//! and atomic writes through [`AuthorizeStep`]s, and ends with an [`AuthorizeOutcome`]: a
//! redirect to the client (the code, or an error with `state` and `iss`), an [`ErrorPage`]
//! when the client or redirect URI cannot be trusted, or a request to show the login or
//! consent page. The host authenticates the user its own way and continues with
//! [`Server::resume_authorize`](crate::Server::resume_authorize), presenting the interaction
//! handle, the browser-binding cookie and the CSRF token it was given.
//!
//! Pinned choices: an unknown scope is `invalid_scope` (not ignored); without `scope` the
//! client's default scopes apply; with a single registered redirect URI `redirect_uri` may
//! be omitted; unknown `prompt` values are ignored; `offline_access` always needs consent and
//! is dropped before consent when the client could not receive a refresh token.

mod flow;
pub mod redirect_uri;
mod request;
mod response;

pub use flow::{AuthorizeFlow, AuthorizeOutcome, AuthorizeStep};
pub use request::{AuthorizationRequest, Prompt, MAX_ECHO_LEN};
pub use response::{error_redirect, redirect, ErrorPage};

use crate::clock::UnixTime;
use crate::scope::Scope;
use crate::store::Subject;
use crate::token::SecretString;

/// The browser's current login session, as the host knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Who is signed in; `auth_time` is when they last authenticated (OI-07).
    pub subject: Subject,
}

/// The host's result for a login or consent page.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InteractionResult {
    /// The user signed in as this subject. An absent `auth_time` means "just now".
    Authenticated(Subject),
    /// The user approved the scopes shown.
    Consented,
    /// The user refused: the client gets `access_denied`.
    Denied,
}

/// What the host presents to continue an interaction.
#[derive(Clone, Debug)]
pub struct Resume {
    /// The interaction handle from the login or consent page's URL or form.
    pub handle: SecretString,
    /// The browser-binding value from the cookie the host set.
    pub browser: SecretString,
    /// The CSRF token from the submitted form.
    pub csrf: SecretString,
    /// What happened.
    pub result: InteractionResult,
}

/// A login or consent page the host must show.
#[derive(Clone, Debug)]
pub struct InteractionPrompt {
    /// Identifies the interaction; put it in the page's URL or a hidden field.
    pub handle: SecretString,
    /// Put it in the form and send it back (RFC 6749 §10.12).
    pub csrf: SecretString,
    /// When `Some`, set it as an `HttpOnly; SameSite=Lax` cookie; the value binds the
    /// interaction to this browser. `None`: keep the cookie already set.
    pub set_browser_cookie: Option<SecretString>,
    /// When the interaction expires.
    pub expires_at: UnixTime,
    /// The request being authorized: client, scopes, `login_hint`, `ui_locales`, `display`…
    pub request: AuthorizationRequest,
}

/// A consent page the host must show.
#[derive(Clone, Debug)]
pub struct ConsentPrompt {
    /// The interaction.
    pub interaction: InteractionPrompt,
    /// Who is consenting.
    pub subject: Subject,
    /// Scopes already consented earlier, which the page may show as such.
    pub already_granted: Scope,
}
