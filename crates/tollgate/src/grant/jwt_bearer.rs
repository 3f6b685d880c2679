//! The JWT-bearer authorization grant (RFC 7523 §2.1, §3, §3.1): a JWT from a configured
//! trusted issuer stands for the user's authorization.
//!
//! The JWT must be signed by a key the issuer's configuration lists, name this server in
//! `aud` (issuer or token endpoint, JB-04), carry `sub`, be unexpired and already valid
//! (`exp`, `nbf`, JB-02); a `jti`, when present, is single use. Every defect is
//! `invalid_grant` (RFC 7523 §3.1); the client authenticates as usual first (JB-03). The
//! user is the issuer's `sub` behind the issuer's configured prefix; the scope is what was
//! requested (else the client's default) within both the client's and the issuer's allowed
//! scopes; a refresh token only where the issuer's configuration and the policy allow it.

use serde::{Deserialize, Serialize};

use super::issue::Ctx;
use super::{AfterConflict, Decision};
use crate::client::{Client, GrantType};
use crate::client_assertion::{verify_jwt, Expect, SpentJti};
use crate::error::{Error, OAuthError};
use crate::jose::{Algorithm, Jwks};
use crate::scope::{Scope, OFFLINE_ACCESS};
use crate::store::{Commit, Subject};

/// An issuer whose JWTs this server accepts as authorization grants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuer {
    /// The `iss` value.
    pub issuer: String,
    /// Its public signing keys.
    pub jwks: Jwks,
    /// Prefixed to its `sub` to form the local subject, keeping issuers' users apart.
    #[serde(default)]
    pub subject_prefix: String,
    /// The most a grant from it may carry.
    pub allowed_scopes: Scope,
    /// Whether grants from it may yield refresh tokens (with `offline_access`).
    #[serde(default)]
    pub refresh_tokens: bool,
}

const ASYMMETRIC: &[Algorithm] = &[
    Algorithm::Es256,
    Algorithm::EdDsa,
    Algorithm::Rs256,
    Algorithm::Ps256,
];

/// What checking the assertion decided: refuse, or go on (after spending a `jti`).
pub(crate) enum Checked {
    Refuse(OAuthError),
    Grant {
        subject: Subject,
        scope: Scope,
        jti: Option<SpentJti>,
    },
}

pub(crate) fn check(
    ctx: &Ctx<'_>,
    client: &Client,
    assertion: &str,
    requested: Option<Scope>,
) -> Checked {
    let refuse = |d: &'static str| Checked::Refuse(OAuthError::invalid_grant(d));
    let Ok((_, unverified)) =
        crate::jose::jwt::peek_unverified(assertion, crate::client_assertion::MAX_ASSERTION_LEN)
    else {
        return refuse("the assertion is not a well-formed JWT");
    };
    let iss = unverified
        .get("iss")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let Some(trusted) = ctx
        .server
        .config()
        .trusted_issuers
        .iter()
        .find(|t| t.issuer == iss)
    else {
        return refuse("the assertion issuer is not trusted");
    };
    let expect = Expect {
        allowed: ASYMMETRIC,
        keys: &trusted.jwks.keys,
        hmac_secret: None,
        iss: &trusted.issuer,
        require_jti: false,
    };
    let verified = match verify_jwt(ctx.server, assertion, &expect, ctx.now) {
        Ok(v) => v,
        Err(d) => return refuse(d),
    };
    let sub = verified
        .claims
        .get("sub")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let mut scope = requested.unwrap_or_else(|| client.default_scopes.clone());
    if !scope.is_subset_of(&client.allowed_scopes) || !scope.is_subset_of(&trusted.allowed_scopes) {
        return Checked::Refuse(OAuthError::invalid_scope(
            "the requested scope is not allowed for this client and issuer",
        ));
    }
    if !trusted.refresh_tokens {
        scope = scope.without(OFFLINE_ACCESS);
    }
    Checked::Grant {
        subject: Subject::new(format!("{}{sub}", trusted.subject_prefix)),
        scope,
        jti: verified.jti,
    }
}

pub(crate) fn decide(
    ctx: &Ctx<'_>,
    client: &Client,
    subject: Subject,
    scope: &Scope,
) -> Result<Decision, Error> {
    let (issuance, response) =
        ctx.start_family(client, GrantType::JwtBearer, Some(subject), scope, None)?;
    Ok(Decision::Commit {
        commit: Commit::Issue(issuance),
        on_applied: response,
        on_conflict: AfterConflict::Refuse(OAuthError::server_error(
            "a new grant collided with an existing one",
        )),
    })
}
