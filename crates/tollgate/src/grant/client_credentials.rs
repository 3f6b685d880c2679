//! The client-credentials grant (RFC 6749 §4.4): confidential clients only (CC-01), the
//! requested scope within what the client may have (TK-07), and never a refresh token
//! (§4.4.3, RT-10).

use super::issue::Ctx;
use super::{AfterConflict, Decision};
use crate::client::{Client, ClientType, GrantType};
use crate::error::{Error, OAuthError};
use crate::scope::Scope;
use crate::store::Commit;

pub(crate) fn decide(
    ctx: &Ctx<'_>,
    client: &Client,
    requested: Option<Scope>,
) -> Result<Decision, Error> {
    if client.client_type != ClientType::Confidential {
        return Ok(Decision::error(OAuthError::unauthorized_client(
            "client_credentials needs a confidential client",
        )));
    }
    let scope = match resolve_scope(client, requested) {
        Ok(s) => s,
        Err(e) => return Ok(Decision::error(e)),
    };
    let (issuance, response) =
        ctx.start_family(client, GrantType::ClientCredentials, None, &scope, None)?;
    Ok(Decision::Commit {
        commit: Commit::Issue(issuance),
        on_applied: response,
        on_conflict: AfterConflict::Refuse(OAuthError::server_error(
            "a new grant collided with an existing one",
        )),
    })
}

/// The requested scope, or the client's default scope when none was requested (RFC 6749
/// §3.3, GEN-03); every token must be allowed for the client, else `invalid_scope`.
pub(crate) fn resolve_scope(
    client: &Client,
    requested: Option<Scope>,
) -> Result<Scope, OAuthError> {
    let scope = requested.unwrap_or_else(|| client.default_scopes.clone());
    if scope.is_subset_of(&client.allowed_scopes) {
        Ok(scope)
    } else {
        Err(OAuthError::invalid_scope(
            "the requested scope is not allowed for this client",
        ))
    }
}
