//! The refresh-token grant (RFC 6749 §6) with rotation, reuse detection and a grace window
//! that never forks a family (RFC 9700 §4.14.2; OAuth 2.1 "Refresh Token Protection").
//!
//! * The token must belong to the authenticated client (RT-01) and a live, unexpired family
//!   (RT-07, RT-09: idle and absolute lifetimes).
//! * A requested `scope` may narrow the new access token, never widen it; a new refresh
//!   token keeps the original scope (RT-02, RT-03).
//! * Under rotation, exactly one request rotates a token (a compare-and-swap). The response
//!   it got is kept so that only a holder of the old token can have it again
//!   ([`crate::successor`]: derived from a stored salt when it holds no ID token and only
//!   tokens this server mints, else sealed under a key derived from the old token,
//!   [`crate::seal`]).
//!   Presenting the old token again inside the grace window (a retry after a lost response,
//!   two tabs at once, or a request that lost the rotation race) gets that same response —
//!   byte for byte — so the family never forks. Outside the window, or past the replay count,
//!   presenting it is reuse: the whole family and its access tokens are revoked (RT-05).
//! * In static mode the same refresh token stays valid; each use extends its idle expiry.

use super::issue::{rotation_for, Ctx};
use super::{AfterConflict, Decision};
use crate::client::{Client, GrantType};
use crate::error::{Error, OAuthError};
use crate::http::Response;
use crate::json_write::JsonStr;
use crate::policy::RotationMode;
use crate::scope::{Scope, OFFLINE_ACCESS, OPENID};
use crate::seal;
use crate::store::{Commit, RefreshState, RefreshView};
use crate::successor::{self, Derived, DerivedBytes, KeptJwt, OldSecret, Part, Salt};
use crate::token::{SecretString, TokenHash};

pub(crate) struct RefreshParams<'a> {
    pub token: &'a SecretString,
    pub hash: TokenHash,
    pub scope: Option<&'a Scope>,
    /// This request already lost a rotation race for this token.
    pub lost_rotation: bool,
}

fn invalid() -> Decision {
    Decision::error(OAuthError::invalid_grant("the refresh token is invalid"))
}

pub(crate) fn decide(
    ctx: &Ctx<'_>,
    client: &Client,
    p: &RefreshParams<'_>,
    view: Option<RefreshView>,
) -> Result<Decision, Error> {
    let Some(RefreshView { token, family }) = view else {
        return Ok(invalid());
    };
    if token.client_id != client.id {
        return Ok(Decision::error(OAuthError::invalid_grant(
            "the refresh token was issued to another client",
        )));
    }
    if family.is_revoked() {
        return Ok(Decision::error(OAuthError::invalid_grant(
            "the refresh token has been revoked",
        )));
    }
    let policy = ctx.policy(
        client,
        GrantType::RefreshToken,
        &token.scope,
        family.subject.as_ref(),
    );

    if let RefreshState::Rotated {
        at,
        successor,
        reuse_count,
    } = &token.state
    {
        let in_window =
            ctx.now < at.plus(policy.grace) && policy.max_reuse.is_none_or(|m| *reuse_count < m);
        if let (true, Some(sealed)) = (in_window, successor) {
            let Some(body) = successor::open(p.token.expose(), &p.hash, sealed) else {
                return Ok(invalid());
            };
            let replay = Response::json(200, body);
            return Ok(match policy.max_reuse {
                None => Decision::Respond(replay),
                Some(max) => Decision::Commit {
                    commit: Commit::ClaimGraceReplay {
                        token: p.hash,
                        max_reuse: Some(max),
                    },
                    on_applied: replay,
                    // Someone else used up the count or revoked the family: decide again.
                    on_conflict: AfterConflict::ReloadRefresh {
                        lost_rotation: false,
                    },
                },
            });
        }
        if p.lost_rotation {
            return Ok(Decision::error(OAuthError::invalid_grant(
                "the refresh token was used by a concurrent request",
            )));
        }
        let refusal = OAuthError::invalid_grant(
            "the refresh token was already used; its grant has been revoked",
        )
        .to_response();
        return Ok(Decision::Commit {
            commit: Commit::RevokeFamily {
                family: family.id,
                at: ctx.now,
            },
            on_applied: refusal.clone(),
            on_conflict: AfterConflict::Respond(refusal),
        });
    }

    let expired = token.idle_expires_at.is_some_and(|t| ctx.now >= t)
        || family.expires_at.is_some_and(|t| ctx.now >= t);
    if expired {
        return Ok(Decision::error(OAuthError::invalid_grant(
            "the refresh token has expired",
        )));
    }
    let access_scope = match p.scope {
        Some(s) if !s.is_subset_of(&token.scope) => {
            return Ok(Decision::error(OAuthError::invalid_scope(
                "the requested scope exceeds the scope originally granted",
            )))
        }
        Some(s) => s,
        None => &token.scope,
    };
    let issue_refresh =
        token.scope.contains(OFFLINE_ACCESS) && ctx.may_issue_refresh(client, policy);
    let sub = family.subject.as_ref().map(|s| &s.id);
    let rotation = rotation_for(client, policy);
    let id_token_due = family.subject.is_some() && access_scope.contains(OPENID);
    // A rotation whose response holds no ID token and only tokens this server mints keeps a
    // derived successor: the tokens' random bytes come from the old token and a stored salt
    // instead of the random source, and nothing needs sealing.
    let salt = if rotation == RotationMode::Rotate
        && !policy.grace.is_zero()
        && !id_token_due
        && ctx.server.builtin_access_tokens()
    {
        Some(Salt::generate(ctx.random)?)
    } else {
        None
    };
    let secret = salt.map(|_| OldSecret::of(p.token.expose()));
    let derived = |part| {
        salt.zip(secret.as_ref()).map(|(s, secret)| {
            DerivedBytes(successor::token_bytes(p.token.expose(), secret, &s, part))
        })
    };
    let access = match derived(Part::Access) {
        Some(bytes) => {
            with_random(ctx, &bytes).access(client, family.id, sub, access_scope, policy)?
        }
        None => ctx.access(client, family.id, sub, access_scope, policy)?,
    };
    // RT-11: same iss/sub/aud/auth_time as the original, a new iat, no nonce.
    let id_token = match &family.subject {
        Some(subject) => ctx.id_token(client, subject, access_scope, None, &access)?,
        None => None,
    };

    match rotation {
        RotationMode::Rotate => {
            let refresh = if issue_refresh {
                let (expires, scope) = (family.expires_at, &token.scope);
                Some(match derived(Part::Refresh) {
                    Some(b) => {
                        with_random(ctx, &b).refresh(client, family.id, expires, scope, policy)?
                    }
                    None => ctx.refresh(client, family.id, expires, scope, policy)?,
                })
            } else {
                None
            };
            let response = ctx.success(
                &access,
                refresh
                    .as_ref()
                    .map(|r| JsonStr::Plain(r.token.value.expose())),
                access_scope,
                id_token.as_deref(),
            );
            let kept_jwt = match &access.jwt {
                Some(parts) => KeptJwt::of(&access.value, parts).map(Some),
                None => Some(None),
            };
            let successor = match (salt, kept_jwt) {
                _ if policy.grace.is_zero() => None,
                // (`id_token` is `None` whenever there is a salt; the guard keeps a rebuild
                // from ever dropping one.)
                (Some(salt), Some(jwt)) if id_token.is_none() => Some(
                    Derived {
                        salt,
                        check: Derived::check_for(
                            refresh.as_ref().map(|r| &r.token.hash),
                            &access.value,
                            &access.record.hash,
                            jwt.is_some(),
                        ),
                        has_refresh: refresh.is_some(),
                        expires_in: ctx.now.until(access.record.expires_at),
                        scope: access_scope.as_str(),
                        jwt,
                    }
                    .encode(),
                ),
                _ => {
                    let nonce = refresh
                        .as_ref()
                        .map_or(access.record.hash, |r| r.token.hash);
                    Some(seal::seal(
                        p.token.expose(),
                        &p.hash,
                        &nonce,
                        &response.body,
                    )?)
                }
            };
            Ok(Decision::Commit {
                commit: Commit::RotateRefresh {
                    old: p.hash,
                    at: ctx.now,
                    successor,
                    refresh: refresh.map(|r| r.record),
                    access: access.record,
                },
                on_applied: response,
                on_conflict: AfterConflict::ReloadRefresh {
                    lost_rotation: true,
                },
            })
        }
        RotationMode::Static => {
            let response = ctx.success(
                &access,
                // The presented token, not one minted here: scanned like any text.
                issue_refresh.then(|| JsonStr::Text(p.token.expose())),
                access_scope,
                id_token.as_deref(),
            );
            Ok(Decision::Commit {
                commit: Commit::UseStaticRefresh {
                    token: p.hash,
                    idle_expires_at: ctx.idle_expiry(policy, family.expires_at),
                    access: access.record,
                },
                on_applied: response,
                on_conflict: AfterConflict::Refuse(OAuthError::invalid_grant(
                    "the refresh token is no longer valid",
                )),
            })
        }
    }
}

/// The same decision context drawing from `random` (a successor's derived bytes).
fn with_random<'a>(ctx: &Ctx<'a>, random: &'a DerivedBytes) -> Ctx<'a> {
    Ctx {
        server: ctx.server,
        now: ctx.now,
        random,
    }
}
