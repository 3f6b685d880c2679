//! JWT client authentication — `private_key_jwt` and `client_secret_jwt` (RFC 7523 §2.2,
//! §3; OIDC Core §9; JA-01 … JA-10) — and the JWT checks it shares with the JWT-bearer
//! authorization grant (RFC 7523 §2.1, §3).
//!
//! `iss` and `sub` must both be the client id (JA-02). `aud` must name this server: the
//! issuer or the token endpoint URL, as a string or an array naming nothing else (JA-03,
//! pinned). `exp` is required, with at most [`SKEW`] of clock skew, and may not lie more
//! than [`MAX_LIFETIME`] ahead, which bounds how long a `jti` must be remembered; `nbf` and
//! `iat` may not lie in the future beyond the skew (JA-04, JA-05). `jti` is required and
//! single use: the flow spends it through an atomic store write before anything else
//! happens (JA-06). Keys come only from the client's registration — its JWKS for
//! `private_key_jwt` (asymmetric algorithms only), its shared key for `client_secret_jwt`
//! (HS256 only) — never from the token (JA-07).

use std::time::Duration;

use serde_json::{Map, Value};

use crate::client::{AuthMethod, Client};
use crate::clock::UnixTime;
use crate::error::OAuthError;
use crate::jose::{jwt, Algorithm, CompactJws, Jwk};
use crate::server::Server;
use crate::token::TokenHash;

/// Clock skew tolerated on `exp`, `nbf` and `iat`.
pub const SKEW: Duration = Duration::from_secs(60);
/// Furthest in the future an assertion's `exp` may lie.
pub const MAX_LIFETIME: Duration = Duration::from_secs(3600);
/// Largest assertion accepted.
pub const MAX_ASSERTION_LEN: usize = 8 * 1024;

const ASYMMETRIC: &[Algorithm] = &[
    Algorithm::Es256,
    Algorithm::EdDsa,
    Algorithm::Rs256,
    Algorithm::Ps256,
];

/// A verified assertion's single-use marker, to be spent with
/// [`crate::store::Commit::ConsumeJti`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpentJti {
    /// Hash of the issuer and `jti`.
    pub key: TokenHash,
    /// Until when it must be remembered.
    pub until: UnixTime,
}

/// What a verified JWT says, for the caller's own checks.
pub(crate) struct Verified {
    pub claims: Map<String, Value>,
    pub jti: Option<SpentJti>,
}

/// Why a JWT was refused; the caller maps it to `invalid_client` or `invalid_grant`.
pub(crate) type Refusal = &'static str;

/// What a JWT must satisfy, besides time and audience.
pub(crate) struct Expect<'a> {
    /// Algorithms allowed.
    pub allowed: &'a [Algorithm],
    /// Public keys to verify with.
    pub keys: &'a [Jwk],
    /// Shared key, for HS256.
    pub hmac_secret: Option<&'a [u8]>,
    /// The required `iss`.
    pub iss: &'a str,
    /// Whether `jti` is required.
    pub require_jti: bool,
}

/// Checks signature and the time and audience claims common to both uses (RFC 7523 §3).
pub(crate) fn verify_jwt(
    server: &Server,
    token: &str,
    expect: &Expect<'_>,
    now: UnixTime,
) -> Result<Verified, Refusal> {
    let Expect {
        allowed,
        keys,
        hmac_secret,
        iss: expected_iss,
        require_jti,
    } = *expect;
    let jws = CompactJws::parse(token, MAX_ASSERTION_LEN)
        .map_err(|_| "the assertion is not a well-formed JWT")?;
    if jws
        .header()
        .typ()
        .is_some_and(|t| t.eq_ignore_ascii_case("at+jwt"))
    {
        return Err("an access token is not an assertion");
    }
    let payload = jws
        .verify_with(allowed, |h| jwt::keys_for(h, keys, hmac_secret))
        .map_err(|_| "the assertion signature does not verify with a registered key")?;
    let claims: Map<String, Value> = serde_json::from_slice(payload)
        .map_err(|_| "the assertion claims are not a JSON object")?;
    if claims.get("iss").and_then(Value::as_str) != Some(expected_iss) {
        return Err("the assertion iss is wrong");
    }
    let config = server.config();
    let issuer = config.issuer.as_str();
    let token_endpoint = format!("{}{}", issuer.trim_end_matches('/'), config.endpoints.token);
    let names_us = |v: &Value| {
        v.as_str()
            .is_some_and(|a| a == issuer || a == token_endpoint)
    };
    let aud_ok = match claims.get("aud") {
        Some(Value::String(_)) => claims.get("aud").is_some_and(names_us),
        Some(Value::Array(list)) => !list.is_empty() && list.iter().all(names_us),
        _ => false,
    };
    if !aud_ok {
        return Err("the assertion aud must be this server alone");
    }
    let secs = |name: &str| claims.get(name).and_then(Value::as_u64);
    let now_s = now.secs();
    let skew = SKEW.as_secs();
    let Some(exp) = secs("exp") else {
        return Err("the assertion has no exp");
    };
    if now_s >= exp.saturating_add(skew) {
        return Err("the assertion has expired");
    }
    if exp > now_s.saturating_add(MAX_LIFETIME.as_secs()) {
        return Err("the assertion lives too long");
    }
    if secs("nbf").is_some_and(|nbf| nbf > now_s.saturating_add(skew))
        || claims.get("nbf").is_some_and(|v| !v.is_u64())
    {
        return Err("the assertion is not yet valid");
    }
    if secs("iat").is_some_and(|iat| iat > now_s.saturating_add(skew))
        || claims.get("iat").is_some_and(|v| !v.is_u64())
    {
        return Err("the assertion was issued in the future");
    }
    let jti = match claims.get("jti").and_then(Value::as_str) {
        Some(j) if !j.is_empty() => Some(SpentJti {
            key: TokenHash::of(&format!("{expected_iss}\u{0}{j}")),
            until: UnixTime(exp.saturating_add(skew)),
        }),
        _ if require_jti => return Err("the assertion has no jti"),
        _ => None,
    };
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err("the assertion has no sub");
    }
    Ok(Verified { claims, jti })
}

/// Verifies a client assertion for `client` (JA-01 … JA-10).
///
/// # Errors
/// `invalid_client` naming the broken rule.
pub(crate) fn verify_client_assertion(
    server: &Server,
    client: &Client,
    assertion: &str,
    now: UnixTime,
) -> Result<SpentJti, OAuthError> {
    let fail = |d: &'static str| OAuthError::invalid_client(d, None);
    let (allowed, keys, secret): (&[Algorithm], &[Jwk], Option<&[u8]>) = match client.auth_method {
        AuthMethod::PrivateKeyJwt => (
            ASYMMETRIC,
            client.oidc.jwks.as_ref().map_or(&[][..], |k| &k.keys),
            None,
        ),
        AuthMethod::ClientSecretJwt => (
            &[Algorithm::Hs256],
            &[],
            client
                .oidc
                .jwt_secret
                .as_ref()
                .map(|s| s.expose().as_bytes()),
        ),
        _ => {
            return Err(fail(
                "the client must use its registered authentication method",
            ))
        }
    };
    let expect = Expect {
        allowed,
        keys,
        hmac_secret: secret,
        iss: client.id.as_str(),
        require_jti: true,
    };
    let v = verify_jwt(server, assertion, &expect, now).map_err(fail)?;
    if v.claims.get("sub").and_then(Value::as_str) != Some(client.id.as_str()) {
        return Err(fail("the assertion sub must be the client id"));
    }
    v.jti.ok_or_else(|| fail("the assertion has no jti"))
}

/// The client an assertion claims to be (`sub`, else `iss`), read without verification,
/// for requests that omit `client_id` (RFC 7523 §3.1 makes `client_id` optional).
pub(crate) fn claimed_client(assertion: &str) -> Option<crate::client::ClientId> {
    let (_, claims) = jwt::peek_unverified(assertion, MAX_ASSERTION_LEN).ok()?;
    let id = claims.get("sub").or_else(|| claims.get("iss"))?.as_str()?;
    crate::client::ClientId::new(id).ok()
}
