//! Errors: [`OAuthError`], a protocol error as a value that renders to an RFC 6749 §5.2 JSON
//! response, and [`Error`], the library's own failures (bad configuration, a failing random
//! source, a store that broke its contract).
//!
//! Every `error_description` is a `&'static str` written here, never text from a request, so
//! each one stays inside the `%x20-21 / %x23-5B / %x5D-7E` alphabet of RFC 6749 §5.2 (GEN-07).

use std::borrow::Cow;
use std::fmt;

use thiserror::Error as ThisError;

use crate::http::Response;

/// The `error` codes of RFC 6749 §5.2 (token endpoint) and §4.1.2.1 (authorization endpoint).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Missing, repeated or malformed parameter; several authentication methods at once.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant (code, refresh token, resource-owner credentials) is invalid, expired,
    /// revoked, or was issued to another client.
    InvalidGrant,
    /// The authenticated client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported by this server.
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown, or exceeds what may be granted.
    InvalidScope,
    /// The resource owner or the server denied the request.
    AccessDenied,
    /// An unexpected condition in the server.
    ServerError,
    /// The server cannot answer now (storage down); the client may retry.
    TemporarilyUnavailable,
    /// `response_type` is not supported (RFC 6749 §4.1.2.1).
    UnsupportedResponseType,
    /// `prompt=none` and the user is not signed in (OIDC Core §3.1.2.6).
    LoginRequired,
    /// `prompt=none` and consent is missing (OIDC Core §3.1.2.6).
    ConsentRequired,
    /// `prompt=none` and some other interaction is needed (OIDC Core §3.1.2.6).
    InteractionRequired,
    /// A `request` object was sent and is not supported (OIDC Core §3.1.2.6).
    RequestNotSupported,
    /// `request_uri` was sent and is not supported (OIDC Core §3.1.2.6).
    RequestUriNotSupported,
}

impl ErrorCode {
    /// The wire value of the `error` member.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::InteractionRequired => "interaction_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
        }
    }

    fn default_status(self) -> u16 {
        match self {
            ErrorCode::ServerError => 500,
            ErrorCode::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth protocol error: what the client is told, and how (status and headers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    code: ErrorCode,
    description: &'static str,
    status: u16,
    challenge: Option<Cow<'static, str>>,
    allow: Option<&'static str>,
}

impl OAuthError {
    /// An error with its RFC 6749 §5.2 default status (400; 500 / 503 for server errors).
    #[must_use]
    pub fn new(code: ErrorCode, description: &'static str) -> Self {
        debug_assert!(
            description.bytes().all(is_description_byte),
            "{description}"
        );
        OAuthError {
            code,
            description,
            status: code.default_status(),
            challenge: None,
            allow: None,
        }
    }

    /// `invalid_request` with a description.
    #[must_use]
    pub fn invalid_request(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant` with a description.
    #[must_use]
    pub fn invalid_grant(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// `invalid_scope` with a description.
    #[must_use]
    pub fn invalid_scope(description: &'static str) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    /// `unauthorized_client` with a description.
    #[must_use]
    pub fn unauthorized_client(description: &'static str) -> Self {
        Self::new(ErrorCode::UnauthorizedClient, description)
    }

    /// `invalid_client`. When the client tried the `Authorization` header, RFC 6749 §5.2
    /// requires 401 with a `WWW-Authenticate` challenge for the scheme it used (CA-03).
    #[must_use]
    pub fn invalid_client(description: &'static str, basic_realm: Option<&str>) -> Self {
        let mut e = Self::new(ErrorCode::InvalidClient, description);
        if let Some(realm) = basic_realm {
            e.status = 401;
            e.challenge = Some(Cow::Owned(format!("Basic realm=\"{realm}\"")));
        }
        e
    }

    /// `server_error` (500).
    #[must_use]
    pub fn server_error(description: &'static str) -> Self {
        Self::new(ErrorCode::ServerError, description)
    }

    /// `temporarily_unavailable` (503).
    #[must_use]
    pub fn temporarily_unavailable(description: &'static str) -> Self {
        Self::new(ErrorCode::TemporarilyUnavailable, description)
    }

    /// 405 for a method the endpoint does not accept, with `Allow`.
    #[must_use]
    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut e = Self::invalid_request("the endpoint accepts only POST");
        e.status = 405;
        e.allow = Some(allow);
        e
    }

    /// The error code.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The human-readable `error_description`.
    #[must_use]
    pub fn description(&self) -> &'static str {
        self.description
    }

    /// The HTTP status the error is sent with.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Renders the RFC 6749 §5.2 JSON response, with `Cache-Control: no-store` as in the
    /// RFC's own examples (TK-03).
    #[must_use]
    pub fn to_response(&self) -> Response {
        let mut body = Vec::with_capacity(64 + self.description.len());
        body.extend_from_slice(b"{\"error\":\"");
        body.extend_from_slice(self.code.as_str().as_bytes());
        body.extend_from_slice(b"\",\"error_description\":\"");
        // The alphabet excludes '"' and '\\', so no JSON escaping is needed.
        body.extend_from_slice(self.description.as_bytes());
        body.extend_from_slice(b"\"}");
        let mut r = Response::json(self.status, body);
        if let Some(c) = &self.challenge {
            r.headers.push(("WWW-Authenticate", c.clone()));
        }
        if let Some(allow) = self.allow {
            r.headers.push(("Allow", allow.into()));
        }
        r
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl std::error::Error for OAuthError {}

/// Bytes allowed in `error_description` by RFC 6749 §5.2 (GEN-07).
#[must_use]
pub fn is_description_byte(b: u8) -> bool {
    matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// A failure of the library or its host, as opposed to a client's mistake.
#[derive(Debug, ThisError)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid; the message names the field.
    #[error("invalid configuration: {field}: {reason}")]
    Config {
        /// The offending field, e.g. `policies.rules[2].grace`.
        field: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The random source failed.
    #[error(transparent)]
    Random(#[from] crate::random::RandomError),
    /// A store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The access-token format failed to mint a token.
    #[error("access-token format failed: {0}")]
    AccessTokenFormat(String),
    /// A sealed grace-period response could not be sealed.
    #[error("could not seal the successor response")]
    Seal,
    /// Signing or key handling failed.
    #[error(transparent)]
    Jose(#[from] crate::jose::JoseError),
}

impl Error {
    /// Shorthand for [`Error::Config`].
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
