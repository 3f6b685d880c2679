//! The resource-owner password credentials grant (RFC 6749 §4.3). Deprecated by RFC 9700
//! §2.4 and available only to clients that list it. Checking the username and password —
//! and refusing under brute-force attack (RFC 6749 §4.3.2) — is the host's job: the flow
//! asks through [`PasswordCheck`] and the host answers with a [`PasswordVerdict`].

use std::future::Future;

use super::client_credentials::resolve_scope;
use super::issue::Ctx;
use super::{AfterConflict, Decision};
use crate::client::{Client, ClientId, GrantType};
use crate::error::{Error, OAuthError};
use crate::scope::Scope;
use crate::store::{Commit, Subject};
use crate::token::SecretString;

/// A username and password the host must check.
#[derive(Clone, Debug)]
pub struct PasswordCheck {
    /// The client asking.
    pub client_id: ClientId,
    /// The username as sent.
    pub username: String,
    /// The password as sent.
    pub password: SecretString,
}

/// The host's answer to a [`PasswordCheck`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PasswordVerdict {
    /// The credentials are right; this is the user.
    Authenticated(Subject),
    /// Wrong username or password: `invalid_grant`.
    InvalidCredentials,
    /// The host refuses to check now (too many failures, locked account): `invalid_grant`.
    Refused,
    /// The user directory is unreachable: `503 temporarily_unavailable`.
    Unavailable,
}

/// Checks resource-owner credentials (blocking hosts).
pub trait PasswordVerifier: Send + Sync {
    /// Checks one username and password.
    fn verify(&self, check: &PasswordCheck) -> PasswordVerdict;
}

/// Checks resource-owner credentials (async hosts). Every [`PasswordVerifier`] is one.
pub trait AsyncPasswordVerifier: Send + Sync {
    /// Checks one username and password.
    fn verify(&self, check: &PasswordCheck) -> impl Future<Output = PasswordVerdict> + Send;
}

impl<T: PasswordVerifier> AsyncPasswordVerifier for T {
    async fn verify(&self, check: &PasswordCheck) -> PasswordVerdict {
        PasswordVerifier::verify(self, check)
    }
}

/// A host without users: every password check fails.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoPasswordUsers;

impl PasswordVerifier for NoPasswordUsers {
    fn verify(&self, _check: &PasswordCheck) -> PasswordVerdict {
        PasswordVerdict::InvalidCredentials
    }
}

/// Resolves the scope before asking the host, so a bad scope never costs a password check.
pub(crate) fn scope_for(client: &Client, requested: Option<Scope>) -> Result<Scope, OAuthError> {
    resolve_scope(client, requested)
}

pub(crate) fn decide(
    ctx: &Ctx<'_>,
    client: &Client,
    scope: &Scope,
    verdict: PasswordVerdict,
) -> Result<Decision, Error> {
    let subject = match verdict {
        PasswordVerdict::Authenticated(s) => s,
        PasswordVerdict::InvalidCredentials => {
            return Ok(Decision::error(OAuthError::invalid_grant(
                "the username or password is incorrect",
            )))
        }
        PasswordVerdict::Refused => {
            return Ok(Decision::error(OAuthError::invalid_grant(
                "the resource owner cannot sign in now; try again later",
            )))
        }
        PasswordVerdict::Unavailable => {
            return Ok(Decision::error(OAuthError::temporarily_unavailable(
                "the user directory is unavailable",
            )))
        }
    };
    let (issuance, response) =
        ctx.start_family(client, GrantType::Password, Some(subject), scope, None)?;
    Ok(Decision::Commit {
        commit: Commit::Issue(issuance),
        on_applied: response,
        on_conflict: AfterConflict::Refuse(OAuthError::server_error(
            "a new grant collided with an existing one",
        )),
    })
}
