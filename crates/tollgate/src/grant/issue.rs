//! Minting what a grant issues — the access token, the refresh token when the rules allow
//! one, the family they belong to — and the RFC 6749 §5.1 success response (TK-01, TK-02).
//!
//! The refresh-token rule lives here, once: a refresh token is issued only when
//! `offline_access` is in the grant's scope (OIDC Core §11), the client may use the
//! `refresh_token` grant, the matched policy allows it, and — for browser SPAs — the
//! server's SPA switch is on.

use std::sync::Arc;

use crate::access_token::{AccessTokenClaims, JwtParts};
use crate::client::{AccessTokenKind, ApplicationKind, Client, ClientType, GrantType};
use crate::clock::UnixTime;
use crate::error::Error;
use crate::http::Response;
use crate::json_write::{JsonObject, JsonStr};
use crate::policy::{PolicyInput, RotationMode, TokenPolicy};
use crate::random::SecureRandom;
use crate::scope::{Scope, OFFLINE_ACCESS, OPENID};
use crate::server::{Server, SpaRefreshTokens};
use crate::store::{
    AccessTokenRecord, FamilyRecord, Issuance, RefreshState, RefreshTokenRecord, Subject,
};
use crate::token::{encode_token, FamilyId, MintedToken, TokenKind, TOKEN_BYTES};

/// The server, the clock reading and the random bytes a decision is made with.
pub(crate) struct Ctx<'s> {
    pub server: &'s Server,
    pub now: UnixTime,
    pub random: &'s dyn SecureRandom,
}

impl<'s> Ctx<'s> {
    pub(crate) fn new(server: &'s Server, now: UnixTime) -> Self {
        Ctx {
            server,
            now,
            random: server.random(),
        }
    }
}

/// A minted access token: the value for the response and the record for the store.
pub(crate) struct NewAccess {
    pub value: String,
    pub record: Arc<AccessTokenRecord>,
    /// For a JWT, the claims it signs and where its signature starts.
    pub jwt: Option<JwtParts>,
}

/// A minted refresh token.
pub(crate) struct NewRefresh {
    pub token: MintedToken,
    pub record: Arc<RefreshTokenRecord>,
}

impl<'s> Ctx<'s> {
    pub(crate) fn policy(
        &self,
        client: &Client,
        grant_type: GrantType,
        scope: &Scope,
        subject: Option<&Subject>,
    ) -> &'s TokenPolicy {
        self.server.config().policies.select(&PolicyInput {
            client: &client.id,
            kind: client.kind,
            grant_type,
            scope,
            groups: subject.map_or(&[][..], |s| &s.groups),
        })
    }

    pub(crate) fn may_issue_refresh(&self, client: &Client, policy: &TokenPolicy) -> bool {
        client.allows(GrantType::RefreshToken)
            && policy.issue_refresh_tokens
            && !(client.kind == ApplicationKind::BrowserSpa
                && self.server.config().spa_refresh_tokens == SpaRefreshTokens::Disabled)
    }

    pub(crate) fn access(
        &self,
        client: &Client,
        family: FamilyId,
        subject: Option<&Arc<str>>,
        scope: &Scope,
        policy: &TokenPolicy,
    ) -> Result<NewAccess, Error> {
        let expires_at = self.now.plus(policy.access_token_ttl);
        let claims = AccessTokenClaims {
            issuer: &self.server.config().issuer,
            client_id: &client.id,
            subject: subject.map(|s| &**s),
            scope,
            issued_at: self.now,
            expires_at,
            family,
        };
        let (value, hash, jwt) = match client.oidc.access_token_format {
            AccessTokenKind::Opaque => {
                let (v, h) = self
                    .server
                    .access_token_format()
                    .mint_hashed(&claims, self.random)?;
                (v, h, None)
            }
            AccessTokenKind::Jwt => {
                let jwt = crate::access_token::mint_jwt(self.server, &claims, self.random)?;
                let h = jwt.key();
                (jwt.value, h, Some(jwt.parts))
            }
        };
        let record = Arc::new(AccessTokenRecord {
            hash,
            family,
            client_id: client.id.clone(),
            subject: subject.cloned(),
            scope: scope.clone(),
            issued_at: self.now,
            expires_at,
            revoked_at: None,
        });
        Ok(NewAccess { value, record, jwt })
    }

    /// A refresh token whose idle expiry is capped by the family's absolute expiry.
    pub(crate) fn refresh(
        &self,
        client: &Client,
        family: FamilyId,
        family_expires_at: Option<UnixTime>,
        scope: &Scope,
        policy: &TokenPolicy,
    ) -> Result<NewRefresh, Error> {
        let mut bytes = [0u8; TOKEN_BYTES];
        self.random.fill(&mut bytes)?;
        let token = encode_token(TokenKind::Refresh, &bytes);
        let record = Arc::new(RefreshTokenRecord {
            hash: token.hash,
            family,
            client_id: client.id.clone(),
            scope: scope.clone(),
            issued_at: self.now,
            idle_expires_at: self.idle_expiry(policy, family_expires_at),
            state: RefreshState::Active,
        });
        Ok(NewRefresh { token, record })
    }

    pub(crate) fn idle_expiry(
        &self,
        policy: &TokenPolicy,
        family_expires_at: Option<UnixTime>,
    ) -> Option<UnixTime> {
        let idle = policy.refresh_idle.map(|d| self.now.plus(d));
        match (idle, family_expires_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Starts a family for a fresh grant (code, password, client credentials) and mints its
    /// tokens. `scope` is what was consented or requested; `offline_access` is kept in the
    /// granted scope only when a refresh token is actually issued (OI-11).
    pub(crate) fn start_family(
        &self,
        client: &Client,
        grant_type: GrantType,
        subject: Option<Subject>,
        scope: &Scope,
        nonce: Option<&str>,
    ) -> Result<(Issuance, Response), Error> {
        let policy = self.policy(client, grant_type, scope, subject.as_ref());
        let wants_refresh = scope.contains(OFFLINE_ACCESS)
            && grant_type != GrantType::ClientCredentials
            && self.may_issue_refresh(client, policy);
        let granted = if wants_refresh {
            scope.clone()
        } else {
            scope.without(OFFLINE_ACCESS)
        };
        let family_id = FamilyId::generate(self.random)?;
        let family_expires = if wants_refresh {
            policy.refresh_absolute.map(|d| self.now.plus(d))
        } else {
            None
        };
        let sub = subject.as_ref().map(|s| &s.id);
        let access = self.access(client, family_id, sub, &granted, policy)?;
        let refresh = if wants_refresh {
            Some(self.refresh(client, family_id, family_expires, &granted, policy)?)
        } else {
            None
        };
        let id_token = match &subject {
            Some(sub) => self.id_token(client, sub, &granted, nonce, &access)?,
            None => None,
        };
        let response = self.success(
            &access,
            refresh
                .as_ref()
                .map(|r| JsonStr::Plain(r.token.value.expose())),
            &granted,
            id_token.as_deref(),
        );
        let family = Arc::new(FamilyRecord {
            id: family_id,
            client_id: client.id.clone(),
            subject,
            scope: granted,
            grant_type,
            created_at: self.now,
            expires_at: family_expires,
            revoked_at: None,
        });
        Ok((
            Issuance {
                family,
                refresh: refresh.map(|r| r.record),
                access: access.record,
            },
            response,
        ))
    }

    /// An ID token when `openid` is granted and there is a user (OIDC Core §3.1.3.3, §12.2).
    pub(crate) fn id_token(
        &self,
        client: &Client,
        subject: &Subject,
        scope: &Scope,
        nonce: Option<&str>,
        access: &NewAccess,
    ) -> Result<Option<String>, Error> {
        if !scope.contains(OPENID) {
            return Ok(None);
        }
        crate::id_token::mint(self.server, self.now, client, subject, nonce, &access.value)
            .map(Some)
    }

    /// The RFC 6749 §5.1 success response.
    pub(crate) fn success(
        &self,
        access: &NewAccess,
        refresh: Option<JsonStr<'_>>,
        scope: &Scope,
        id_token: Option<&str>,
    ) -> Response {
        // Every value is the server's own make except an access token of a custom format.
        let access_token = if access.jwt.is_some() || self.server.builtin_access_tokens() {
            JsonStr::Plain(&access.value)
        } else {
            JsonStr::Text(&access.value)
        };
        Response::json(
            200,
            success_body(
                access_token,
                self.server.access_token_format().token_type(),
                self.now.until(access.record.expires_at),
                refresh,
                JsonStr::Plain(scope.as_str()),
                id_token.map(JsonStr::Plain),
            ),
        )
    }
}

/// The body of an RFC 6749 §5.1 success response. One function, so a grace-window retry
/// that rebuilds a rotation's response ([`crate::successor`]) gets the same bytes.
pub(crate) fn success_body(
    access_token: JsonStr<'_>,
    token_type: &str,
    expires_in: u64,
    refresh: Option<JsonStr<'_>>,
    scope: JsonStr<'_>,
    id_token: Option<JsonStr<'_>>,
) -> Vec<u8> {
    let mut body = JsonObject::with_capacity(
        112 + access_token.len()
            + refresh.map_or(0, JsonStr::len)
            + scope.len()
            + id_token.map_or(0, JsonStr::len),
    );
    body.json_str("access_token", access_token)
        .str("token_type", token_type)
        .u64("expires_in", expires_in);
    if let Some(refresh) = refresh {
        body.json_str("refresh_token", refresh);
    }
    if scope.len() > 0 {
        body.json_str("scope", scope);
    }
    if let Some(id_token) = id_token {
        body.json_str("id_token", id_token);
    }
    body.finish()
}

/// The rotation mode that applies: public clients and browser apps always rotate
/// (RFC 9700 §4.14.2); otherwise the client's own setting, then the policy's.
pub(crate) fn rotation_for(client: &Client, policy: &TokenPolicy) -> RotationMode {
    if client.client_type == ClientType::Public || client.kind == ApplicationKind::BrowserSpa {
        RotationMode::Rotate
    } else {
        client.refresh_rotation.unwrap_or(policy.rotation)
    }
}
