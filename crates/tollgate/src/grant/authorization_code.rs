//! The authorization-code grant at the token endpoint (RFC 6749 §4.1.3; RFC 7636 §4.5–4.6;
//! OAuth 2.1 "Reuse of Authorization Codes").
//!
//! The code must have been issued to this client (AC-04) with this redirect URI (AC-05),
//! answer its PKCE challenge (AC-06, AC-08) and not be a PKCE downgrade (AC-07). Redemption
//! is one conditional write, so a code yields tokens once however many requests race
//! (AC-01, AC-11). A later replay that is otherwise valid revokes every token the code
//! produced; an invalid replay revokes nothing (AC-02, AC-03). A request that merely lost
//! the redemption race is told `invalid_grant` and revokes nothing: it carries no evidence
//! of theft, and revoking would kill the winner's tokens.

use super::issue::Ctx;
use super::{AfterConflict, Decision};
use crate::client::{Client, GrantType};
use crate::error::{Error, OAuthError};
use crate::store::{CodeRecord, Commit};

pub(crate) struct CodeParams {
    pub redirect_uri: Option<String>,
    pub verifier: Option<String>,
}

pub(crate) fn decide(
    ctx: &Ctx<'_>,
    client: &Client,
    params: &CodeParams,
    record: Option<std::sync::Arc<CodeRecord>>,
) -> Result<Decision, Error> {
    let Some(record) = record else {
        return Ok(Decision::error(OAuthError::invalid_grant(
            "the authorization code is invalid",
        )));
    };
    if record.client_id != client.id {
        return Ok(Decision::error(OAuthError::invalid_grant(
            "the authorization code was issued to another client",
        )));
    }
    let redirect_ok = match &params.redirect_uri {
        Some(sent) => *sent == record.redirect_uri,
        None => !record.redirect_uri_sent,
    };
    if !redirect_ok {
        return Ok(Decision::error(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        )));
    }
    match (&record.pkce, &params.verifier) {
        (Some(challenge), Some(verifier)) => {
            if !challenge.verify(verifier) {
                return Ok(Decision::error(OAuthError::invalid_grant(
                    "the code_verifier does not match the code_challenge",
                )));
            }
        }
        (Some(_), None) => {
            return Ok(Decision::error(OAuthError::invalid_grant(
                "code_verifier is required",
            )));
        }
        (None, Some(_)) => {
            return Ok(Decision::error(OAuthError::invalid_request(
                "code_verifier was sent but the authorization request had no code_challenge",
            )));
        }
        (None, None) => {}
    }
    if let Some(family) = record.redeemed_into {
        let refusal = OAuthError::invalid_grant(
            "the authorization code was already used; the tokens issued from it are revoked",
        )
        .to_response();
        return Ok(Decision::Commit {
            commit: Commit::RevokeFamily {
                family,
                at: ctx.now,
            },
            on_applied: refusal.clone(),
            on_conflict: AfterConflict::Respond(refusal),
        });
    }
    if ctx.now >= record.expires_at {
        return Ok(Decision::error(OAuthError::invalid_grant(
            "the authorization code has expired",
        )));
    }
    let (issuance, response) = ctx.start_family(
        client,
        GrantType::AuthorizationCode,
        Some(record.subject.clone()),
        &record.scope,
        record.nonce.as_deref(),
    )?;
    Ok(Decision::Commit {
        commit: Commit::RedeemCode {
            code: record.hash,
            issuance,
        },
        on_applied: response,
        on_conflict: AfterConflict::Refuse(OAuthError::invalid_grant(
            "the authorization code was already used",
        )),
    })
}
