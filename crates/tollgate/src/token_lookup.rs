//! The common front of revocation (RFC 7009 §2.1) and introspection (RFC 7662 §2.1): a form
//! `POST` with client credentials, a required `token` and an optional `token_type_hint`,
//! and the order in which the two token tables are searched (RV-03, IN-02).

use crate::client::ClientId;
use crate::client_auth::Credentials;
use crate::error::OAuthError;
use crate::http::Request;
use crate::server::Server;
use crate::token::{SecretString, TokenHash};
use crate::token_flow::{parse_client_form, Step};

/// Which kind of token a lookup is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Access,
    Refresh,
}

impl Kind {
    pub(crate) fn other(self) -> Kind {
        match self {
            Kind::Access => Kind::Refresh,
            Kind::Refresh => Kind::Access,
        }
    }

    pub(crate) fn step(self, keys: &LookupKeys) -> Step {
        match self {
            Kind::Access => Step::LoadAccessToken(keys.access),
            Kind::Refresh => Step::LoadRefreshToken(keys.refresh),
        }
    }

    /// The first kind to try: the hint's, else by the token's prefix, else refresh tokens
    /// (the valuable ones).
    pub(crate) fn first(hint: Option<&str>, token: &str) -> Kind {
        match hint {
            Some("access_token") => Kind::Access,
            Some("refresh_token") => Kind::Refresh,
            _ if token.starts_with(crate::token::TokenKind::Access.prefix()) => Kind::Access,
            _ => Kind::Refresh,
        }
    }
}

/// The keys a presented token is looked up under in each table: the same SHA-256 unless it
/// is a JWT access token this server signed ([`Server::access_token_key`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LookupKeys {
    pub access: TokenHash,
    pub refresh: TokenHash,
}

impl LookupKeys {
    pub(crate) fn of(server: &Server, token: &str) -> LookupKeys {
        let refresh = TokenHash::of(token);
        let access = crate::access_token::signed_jwt_key(server, token).unwrap_or(refresh);
        LookupKeys { access, refresh }
    }
}

/// A parsed revocation or introspection request.
pub(crate) struct TokenRequest {
    pub credentials: Credentials,
    pub token: SecretString,
    pub first: Kind,
    pub client: ClientId,
}

/// Parses the request; `unauthenticated` is the error for a request without usable client
/// credentials (400 at revocation, 401 at introspection).
pub(crate) fn parse(
    server: &Server,
    request: &Request,
    unauthenticated: impl Fn() -> OAuthError,
) -> Result<TokenRequest, OAuthError> {
    let (credentials, mut params) = parse_client_form(server, request)?;
    let credentials = credentials.ok_or_else(&unauthenticated)?;
    let token = params
        .take("token")
        .ok_or_else(|| OAuthError::invalid_request("token is missing"))?;
    let client = crate::client_auth::identify(server, &credentials).ok_or_else(&unauthenticated)?;
    Ok(TokenRequest {
        first: Kind::first(params.get("token_type_hint"), &token),
        credentials,
        token: SecretString::new(token),
        client,
    })
}
