//! The grants of the token endpoint (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6): parsing each
//! request's parameters into a `GrantRequest`, and one module per grant deciding it.
//!
//! A decision is pure: given the request, the records the store returned and the clock
//! reading, it yields a `Decision` — a response, or the [`Commit`] to apply and what to
//! answer once the store says whether it applied.

pub(crate) mod authorization_code;
pub(crate) mod client_credentials;
pub(crate) mod issue;
pub mod jwt_bearer;
pub mod password;
pub(crate) mod refresh;

use crate::client::GrantType;
use crate::error::{ErrorCode, OAuthError};
use crate::form::Params;
use crate::http::Response;
use crate::scope::Scope;
use crate::store::Commit;
use crate::token::SecretString;

/// A token request's grant, with its required parameters present.
#[derive(Debug)]
pub(crate) enum GrantRequest {
    AuthorizationCode {
        code: SecretString,
        redirect_uri: Option<String>,
        verifier: Option<String>,
    },
    RefreshToken {
        token: SecretString,
        scope: Option<Scope>,
    },
    Password {
        username: String,
        password: SecretString,
        scope: Option<Scope>,
    },
    ClientCredentials {
        scope: Option<Scope>,
    },
    JwtBearer {
        assertion: SecretString,
        scope: Option<Scope>,
    },
}

impl GrantRequest {
    /// Reads the grant from the body parameters (RFC 6749 §5.2: a missing parameter is
    /// `invalid_request`, an unknown grant type `unsupported_grant_type`, TK-04/TK-05).
    pub(crate) fn parse(params: &mut Params) -> Result<GrantRequest, OAuthError> {
        let Some(grant_type) = params.take_cow("grant_type") else {
            return Err(OAuthError::invalid_request("grant_type is missing"));
        };
        let Some(grant_type) = GrantType::parse(&grant_type) else {
            return Err(OAuthError::new(
                ErrorCode::UnsupportedGrantType,
                "the grant_type is not supported",
            ));
        };
        let scope = |params: &mut Params| -> Result<Option<Scope>, OAuthError> {
            params
                .take("scope")
                .map(|s| Scope::parse(&s))
                .transpose()
                .map_err(|_| OAuthError::invalid_scope("the scope is malformed"))
        };
        Ok(match grant_type {
            GrantType::AuthorizationCode => GrantRequest::AuthorizationCode {
                code: params
                    .take("code")
                    .map(SecretString::new)
                    .ok_or_else(|| OAuthError::invalid_request("code is missing"))?,
                redirect_uri: params.take("redirect_uri"),
                verifier: params.take("code_verifier"),
            },
            GrantType::RefreshToken => GrantRequest::RefreshToken {
                token: params
                    .take("refresh_token")
                    .map(SecretString::new)
                    .ok_or_else(|| OAuthError::invalid_request("refresh_token is missing"))?,
                scope: scope(params)?,
            },
            GrantType::Password => GrantRequest::Password {
                username: params
                    .take("username")
                    .ok_or_else(|| OAuthError::invalid_request("username is missing"))?,
                password: params
                    .take("password")
                    .map(SecretString::new)
                    .ok_or_else(|| OAuthError::invalid_request("password is missing"))?,
                scope: scope(params)?,
            },
            GrantType::ClientCredentials => GrantRequest::ClientCredentials {
                scope: scope(params)?,
            },
            GrantType::JwtBearer => GrantRequest::JwtBearer {
                assertion: params
                    .take("assertion")
                    .map(SecretString::new)
                    .ok_or_else(|| OAuthError::invalid_request("assertion is missing"))?,
                scope: scope(params)?,
            },
        })
    }

    pub(crate) fn grant_type(&self) -> GrantType {
        match self {
            GrantRequest::AuthorizationCode { .. } => GrantType::AuthorizationCode,
            GrantRequest::RefreshToken { .. } => GrantType::RefreshToken,
            GrantRequest::Password { .. } => GrantType::Password,
            GrantRequest::ClientCredentials { .. } => GrantType::ClientCredentials,
            GrantRequest::JwtBearer { .. } => GrantType::JwtBearer,
        }
    }
}

/// What a grant decided.
// Boxing the commit would cost an allocation per request for no gain: decisions are moved, not stored.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Decision {
    /// Answer now.
    Respond(Response),
    /// Apply `commit`, then answer.
    Commit {
        commit: Commit,
        on_applied: Response,
        on_conflict: AfterConflict,
    },
}

/// What to do when a commit lost its race.
#[derive(Debug)]
pub(crate) enum AfterConflict {
    /// Answer this.
    Respond(Response),
    /// Answer this error; its response is built only when the conflict happens, so a
    /// successful request never renders an error it then drops.
    Refuse(OAuthError),
    /// Re-read the refresh token and decide again; `lost_rotation` marks that this request
    /// lost a rotation race, which is concurrency, not evidence of theft.
    ReloadRefresh { lost_rotation: bool },
}

impl Decision {
    pub(crate) fn error(e: OAuthError) -> Decision {
        Decision::Respond(e.to_response())
    }
}
