//! The authorization request (RFC 6749 §4.1.1; RFC 7636 §4.3; OIDC Core §3.1.2.1) as a
//! validated value, and the validation that produces it once the client and redirect URI are
//! trusted. Every failure here is redirected back to the client with `state` and `iss`
//! (RFC 6749 §4.1.2.1, AZ-05).

use serde::{Deserialize, Serialize};

use crate::client::{ApplicationKind, Client, ClientId, ClientType, GrantType};
use crate::error::{ErrorCode, OAuthError};
use crate::form::Params;
use crate::pkce::{is_pkce_value, PkceChallenge, PkceMethod};
use crate::scope::{Scope, OFFLINE_ACCESS};
use crate::server::{Server, SpaRefreshTokens};

/// Longest `state` or `nonce` accepted; conformance suites use 128 and 64 characters.
pub const MAX_ECHO_LEN: usize = 2048;

/// The `prompt` values (OIDC Core §3.1.2.1). Unknown values are ignored (OI-06, pinned).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    /// `none`: never show UI.
    pub none: bool,
    /// `login`: re-authenticate.
    pub login: bool,
    /// `consent`: ask for consent again.
    pub consent: bool,
    /// `select_account`: let the user pick an account.
    pub select_account: bool,
}

impl Prompt {
    /// Parses the parameter.
    ///
    /// # Errors
    /// `invalid_request` when `none` is combined with another value (OI-03).
    pub fn parse(s: &str) -> Result<Prompt, OAuthError> {
        let mut p = Prompt::default();
        let mut others = false;
        for v in s.split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                "select_account" => p.select_account = true,
                _ => continue,
            }
            others |= v != "none";
        }
        if p.none && others {
            return Err(OAuthError::invalid_request(
                "prompt=none cannot be combined with other values",
            ));
        }
        Ok(p)
    }
}

/// A validated authorization request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: ClientId,
    /// The redirect URI errors and the code go to.
    pub redirect_uri: String,
    /// Whether `redirect_uri` was sent (the token request must then repeat it, AC-05).
    pub redirect_uri_sent: bool,
    /// `state`, echoed byte for byte (AZ-04).
    pub state: Option<String>,
    /// The requested scope, after defaults; `offline_access` is dropped here when the client
    /// could never receive a refresh token.
    pub scope: Scope,
    /// PKCE challenge.
    pub pkce: Option<PkceChallenge>,
    /// OIDC `nonce`.
    pub nonce: Option<String>,
    /// `prompt`.
    pub prompt: Prompt,
    /// `max_age` in seconds.
    pub max_age: Option<u64>,
    /// `login_hint`, for the host's login page.
    pub login_hint: Option<String>,
    /// `display`.
    pub display: Option<String>,
    /// `ui_locales`.
    pub ui_locales: Option<String>,
    /// `claims_locales`.
    pub claims_locales: Option<String>,
    /// `acr_values`.
    pub acr_values: Option<String>,
}

/// Validates the parameters of a request whose client and redirect URI are trusted.
pub(crate) fn validate(
    server: &Server,
    client: &Client,
    redirect_uri: String,
    redirect_uri_sent: bool,
    params: &mut Params,
    repeated: &[String],
) -> Result<AuthorizationRequest, (OAuthError, Option<String>)> {
    // `state` is echoed even on errors, so read it first; a repeated state is not echoed.
    let state = params.take("state");
    let fail = |e: OAuthError| (e, state.clone());
    if state.as_ref().is_some_and(|s| s.len() > MAX_ECHO_LEN) {
        return Err(fail(OAuthError::invalid_request("state is too long")));
    }
    if !repeated.is_empty() {
        return Err(fail(OAuthError::invalid_request(
            "a parameter was repeated",
        )));
    }
    if params.contains("request") {
        return Err(fail(OAuthError::new(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        )));
    }
    if params.contains("request_uri") {
        return Err(fail(OAuthError::new(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        )));
    }
    match params.get("response_type") {
        None => {
            return Err(fail(OAuthError::invalid_request(
                "response_type is missing",
            )))
        }
        Some("code") => {}
        Some(_) => {
            return Err(fail(OAuthError::new(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            )))
        }
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(fail(OAuthError::unauthorized_client(
            "the client may not use the authorization code flow",
        )));
    }
    let mut scope = match params.take("scope") {
        None => client.default_scopes.clone(),
        Some(s) => Scope::parse(&s)
            .map_err(|_| fail(OAuthError::invalid_scope("the scope is malformed")))?,
    };
    if !scope.is_subset_of(&client.allowed_scopes) {
        return Err(fail(OAuthError::invalid_scope(
            "the requested scope is not allowed for this client",
        )));
    }
    let spa_without_refresh = client.kind == ApplicationKind::BrowserSpa
        && server.config().spa_refresh_tokens == SpaRefreshTokens::Disabled;
    if !client.allows(GrantType::RefreshToken) || spa_without_refresh {
        // No refresh token could follow, so there is nothing to consent to (OI-11).
        scope = scope.without(OFFLINE_ACCESS);
    }
    let pkce =
        match (
            params.take("code_challenge"),
            params.take("code_challenge_method"),
        ) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(fail(OAuthError::invalid_request(
                    "code_challenge_method without code_challenge",
                )))
            }
            (Some(challenge), method) => {
                // RFC 7636 §4.3: an absent method means plain (PK-03), never S256.
                let method = match method.as_deref() {
                    None | Some("plain") => PkceMethod::Plain,
                    Some(m) => PkceMethod::parse(m).ok_or_else(|| {
                        fail(OAuthError::invalid_request(
                            "code_challenge_method is not supported",
                        ))
                    })?,
                };
                if method == PkceMethod::Plain && !server.config().allow_plain_pkce {
                    return Err(fail(OAuthError::invalid_request(
                        "code_challenge_method must be S256; plain is not supported",
                    )));
                }
                if !is_pkce_value(&challenge) {
                    return Err(fail(OAuthError::invalid_request(
                        "code_challenge is malformed",
                    )));
                }
                Some(PkceChallenge::new(method, challenge).map_err(|_| {
                    fail(OAuthError::invalid_request("code_challenge is malformed"))
                })?)
            }
        };
    if pkce.is_none() && client.client_type == ClientType::Public {
        return Err(fail(OAuthError::invalid_request(
            "code_challenge is required for public clients",
        )));
    }
    let prompt = match params.get("prompt") {
        Some(p) => Prompt::parse(p).map_err(fail)?,
        None => Prompt::default(),
    };
    let max_age = match params.get("max_age") {
        None => None,
        Some(m) => Some(m.parse::<u64>().map_err(|_| {
            fail(OAuthError::invalid_request(
                "max_age must be a non-negative integer",
            ))
        })?),
    };
    let nonce = params.take("nonce");
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_ECHO_LEN) {
        return Err(fail(OAuthError::invalid_request("nonce is too long")));
    }
    Ok(AuthorizationRequest {
        client_id: client.id.clone(),
        redirect_uri,
        redirect_uri_sent,
        state,
        scope,
        pkce,
        nonce,
        prompt,
        max_age,
        login_hint: params.take("login_hint"),
        display: params.take("display"),
        ui_locales: params.take("ui_locales"),
        claims_locales: params.take("claims_locales"),
        acr_values: params.take("acr_values"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oi_03_none_with_anything_else_is_an_error() {
        assert!(Prompt::parse("none login").is_err());
        assert!(Prompt::parse("consent none").is_err());
        assert!(Prompt::parse("none").unwrap().none);
    }

    #[test]
    fn oi_06_unknown_prompt_values_are_ignored() {
        assert_eq!(Prompt::parse("foo").unwrap(), Prompt::default());
        assert!(Prompt::parse("none foo").unwrap().none);
        let p = Prompt::parse("login consent").unwrap();
        assert!(p.login && p.consent && !p.none);
    }
}
