//! ID tokens (OIDC Core §2, §3.1.3.6, §12.2): `iss`, `sub`, `aud`, `exp`, `iat`,
//! `auth_time`, `nonce`, `acr`, `amr`, `azp` and `at_hash`, signed with the client's
//! registered algorithm or the server's default (ES256).
//!
//! An ID token accompanies every token response whose granted scope has `openid` and that
//! has a user: from the code grant (with the request's `nonce`), the password grant, and the
//! refresh grant — the last with the same `iss`, `sub`, `aud` and `auth_time`, a new `iat`
//! and no `nonce` (RT-11). Because an access token is always issued alongside, profile
//! claims are served by UserInfo, not put in the ID token (OIDC Core §5.4, ID-12). Absent
//! claims are omitted, never `null` (ID-11); the header carries only `alg`, `kid`, `typ`
//! (ID-10).

use ring::digest;
use serde::Serialize;

use crate::client::Client;
use crate::clock::UnixTime;
use crate::error::Error;
use crate::jose::{Algorithm, JoseError};
use crate::server::Server;
use crate::store::Subject;

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: u64,
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    amr: &'a [String],
    azp: &'a str,
    at_hash: String,
}

/// `at_hash` (OIDC Core §3.1.3.6): base64url of the left half of the hash of the access
/// token, the hash being the one of the signing algorithm (SHA-512 for Ed25519).
#[must_use]
pub fn at_hash(alg: Algorithm, access_token: &str) -> String {
    match alg {
        Algorithm::EdDsa => {
            let d = digest::digest(&digest::SHA512, access_token.as_bytes());
            crate::b64::url_encode(&d.as_ref()[..32])
        }
        _ => crate::b64::url_encode(&crate::sha256::digest(access_token.as_bytes())[..16]),
    }
}

/// Mints the ID token for `client` about `subject`, bound to `access_token`.
///
/// # Errors
/// [`Error::Jose`] when the server has no active key for the algorithm or signing fails.
pub(crate) fn mint(
    server: &Server,
    now: UnixTime,
    client: &Client,
    subject: &Subject,
    nonce: Option<&str>,
    access_token: &str,
) -> Result<String, Error> {
    let keys = server.keys();
    let alg = client
        .oidc
        .id_token_signed_response_alg
        .unwrap_or_else(|| keys.default_algorithm());
    let key = keys
        .active(alg)
        .ok_or(Error::Jose(JoseError::KeyNotFound))?;
    let claims = Claims {
        iss: &server.config().issuer,
        sub: &subject.id,
        aud: client.id.as_str(),
        exp: now.plus(server.config().id_token_ttl).secs(),
        iat: now.secs(),
        auth_time: subject.auth_time.map(UnixTime::secs),
        nonce,
        acr: subject.acr.as_deref(),
        amr: &subject.amr,
        azp: client.id.as_str(),
        at_hash: at_hash(alg, access_token),
    };
    Ok(crate::jose::jwt::encode(key, Some("JWT"), &claims)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_is_the_left_half_of_sha256_in_base64url() {
        // OIDC Core Appendix A.3 style check: SHA-256 left 128 bits → 22 characters.
        let h = at_hash(
            Algorithm::Es256,
            "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y",
        );
        assert_eq!(h.len(), 22);
        assert_eq!(
            at_hash(Algorithm::EdDsa, "x").len(),
            43,
            "SHA-512 left 256 bits"
        );
        assert_ne!(
            at_hash(Algorithm::Es256, "a"),
            at_hash(Algorithm::Es256, "b")
        );
    }
}
