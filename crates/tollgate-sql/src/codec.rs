//! Records to columns and back, shared by both backends.
//!
//! Tokens, codes, interaction secrets and `jti` keys are bound only as their 32-byte
//! SHA-256 ([`TokenHash`], RFC 6749 §10.3/§10.5: nothing a client presents is stored in
//! the clear); family ids as their 16 bytes. Times are Unix seconds in a signed 64-bit
//! column (a time past `i64::MAX` seconds, some 292 billion years away, is stored as
//! `i64::MAX`). Scopes are their space-separated text (RFC 6749 §3.3). Parts never queried
//! — subjects, PKCE challenges, authorization requests, interaction stages, clients — are
//! JSON. Every decode checks its input and reports a corrupt row as a
//! [`StoreError::failed`], never a panic.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tollgate::client::GrantType;
use tollgate::seal::SealedResponse;
use tollgate::store::{
    AccessTokenRecord, AccessView, CodeRecord, ConsentRecord, FamilyRecord, InteractionRecord,
    RefreshState, RefreshTokenRecord, RefreshView,
};
use tollgate::token::FamilyId;
use tollgate::{ClientId, Scope, StoreError, TokenHash, UnixTime};

/// A stored time.
pub(crate) fn time(t: UnixTime) -> i64 {
    i64::try_from(t.0).unwrap_or(i64::MAX)
}

/// An optional stored time.
pub(crate) fn opt_time(t: Option<UnixTime>) -> Option<i64> {
    t.map(time)
}

fn corrupt(what: &str) -> StoreError {
    StoreError::failed(format!("corrupt row: {what}"))
}

fn unix(v: i64, what: &str) -> Result<UnixTime, StoreError> {
    u64::try_from(v).map(UnixTime).map_err(|_| corrupt(what))
}

fn opt_unix(v: Option<i64>, what: &str) -> Result<Option<UnixTime>, StoreError> {
    v.map(|v| unix(v, what)).transpose()
}

fn token_hash(v: Vec<u8>, what: &str) -> Result<TokenHash, StoreError> {
    <[u8; 32]>::try_from(v)
        .map(TokenHash)
        .map_err(|_| corrupt(what))
}

fn family_id(v: Vec<u8>, what: &str) -> Result<FamilyId, StoreError> {
    <[u8; 16]>::try_from(v)
        .map(FamilyId)
        .map_err(|_| corrupt(what))
}

fn scope(s: &str, what: &str) -> Result<Scope, StoreError> {
    Scope::parse(s).map_err(|_| corrupt(what))
}

fn client_id(s: String, what: &str) -> Result<ClientId, StoreError> {
    ClientId::new(s).map_err(|_| corrupt(what))
}

/// JSON for a column.
pub(crate) fn to_json<T: Serialize + ?Sized>(v: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::failed(format!("encoding {what}: {e}")))
}

/// A JSON column's value.
pub(crate) fn from_json<T: DeserializeOwned>(s: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::failed(format!("corrupt row: {what}: {e}")))
}

/// A grant type's stored name (its RFC 6749 / RFC 7523 `grant_type` value).
pub(crate) fn grant_type_name(g: GrantType) -> &'static str {
    g.as_str()
}

fn grant_type(s: &str) -> Result<GrantType, StoreError> {
    GrantType::parse(s).ok_or_else(|| corrupt("families.grant_type"))
}

/// Typed access to a result row by column position, for both drivers' rows.
pub(crate) trait RowExt {
    fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError>;
    fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError>;
    fn int(&self, i: usize) -> Result<i64, StoreError>;
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    fn text(&self, i: usize) -> Result<String, StoreError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    fn boolean(&self, i: usize) -> Result<bool, StoreError>;
}

macro_rules! row_ext {
    ($row:ty) => {
        impl RowExt for $row {
            fn bytes(&self, i: usize) -> Result<Vec<u8>, StoreError> {
                get(self, i)
            }
            fn opt_bytes(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
                get(self, i)
            }
            fn int(&self, i: usize) -> Result<i64, StoreError> {
                get(self, i)
            }
            fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
                get(self, i)
            }
            fn text(&self, i: usize) -> Result<String, StoreError> {
                get(self, i)
            }
            fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
                get(self, i)
            }
            fn boolean(&self, i: usize) -> Result<bool, StoreError> {
                get(self, i)
            }
        }
    };
}

fn get<'r, R, T>(row: &'r R, i: usize) -> Result<T, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    row.try_get(i)
        .map_err(|e| StoreError::failed(format!("corrupt row: column {i}: {e}")))
}

row_ext!(sqlx::sqlite::SqliteRow);
row_ext!(sqlx::postgres::PgRow);

/// The columns of `codes`, in the order [`code_from_row`] reads and the backends bind.
pub(crate) const CODE_COLUMNS: &str = "hash, client_id, redirect_uri, redirect_uri_sent, pkce, \
     scope, nonce, subject, issued_at, expires_at, redeemed_into";

/// A code's column values.
pub(crate) struct CodeParams<'a> {
    pub hash: &'a [u8],
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub redirect_uri_sent: bool,
    pub pkce: Option<String>,
    pub scope: String,
    pub nonce: Option<&'a str>,
    pub subject: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub redeemed_into: Option<&'a [u8]>,
}

impl<'a> CodeParams<'a> {
    pub fn new(c: &'a CodeRecord) -> Result<Self, StoreError> {
        Ok(CodeParams {
            hash: &c.hash.0,
            client_id: c.client_id.as_str(),
            redirect_uri: &c.redirect_uri,
            redirect_uri_sent: c.redirect_uri_sent,
            pkce: c
                .pkce
                .as_ref()
                .map(|p| to_json(p, "code pkce"))
                .transpose()?,
            scope: c.scope.to_string(),
            nonce: c.nonce.as_deref(),
            subject: to_json(&c.subject, "code subject")?,
            issued_at: time(c.issued_at),
            expires_at: time(c.expires_at),
            redeemed_into: c.redeemed_into.as_ref().map(|f| &f.0[..]),
        })
    }
}

/// Binds a [`CodeParams`] in [`CODE_COLUMNS`] order.
macro_rules! bind_code {
    ($q:expr, $p:expr) => {
        $q.bind($p.hash)
            .bind($p.client_id)
            .bind($p.redirect_uri)
            .bind($p.redirect_uri_sent)
            .bind($p.pkce.as_deref())
            .bind($p.scope.as_str())
            .bind($p.nonce)
            .bind($p.subject.as_str())
            .bind($p.issued_at)
            .bind($p.expires_at)
            .bind($p.redeemed_into)
    };
}
pub(crate) use bind_code;

/// Reads [`CODE_COLUMNS`].
pub(crate) fn code_from_row(r: &impl RowExt) -> Result<CodeRecord, StoreError> {
    Ok(CodeRecord {
        hash: token_hash(r.bytes(0)?, "codes.hash")?,
        client_id: client_id(r.text(1)?, "codes.client_id")?,
        redirect_uri: r.text(2)?,
        redirect_uri_sent: r.boolean(3)?,
        pkce: r
            .opt_text(4)?
            .map(|s| from_json(&s, "codes.pkce"))
            .transpose()?,
        scope: scope(&r.text(5)?, "codes.scope")?,
        nonce: r.opt_text(6)?,
        subject: from_json(&r.text(7)?, "codes.subject")?,
        issued_at: unix(r.int(8)?, "codes.issued_at")?,
        expires_at: unix(r.int(9)?, "codes.expires_at")?,
        redeemed_into: r
            .opt_bytes(10)?
            .map(|b| family_id(b, "codes.redeemed_into"))
            .transpose()?,
    })
}

/// The columns of `families`.
pub(crate) const FAMILY_COLUMNS: &str =
    "id, client_id, subject, scope, grant_type, created_at, expires_at, revoked_at";

/// A family's column values.
pub(crate) struct FamilyParams<'a> {
    pub id: &'a [u8],
    pub client_id: &'a str,
    pub subject: Option<String>,
    pub scope: String,
    pub grant_type: &'static str,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl<'a> FamilyParams<'a> {
    pub fn new(f: &'a FamilyRecord) -> Result<Self, StoreError> {
        Ok(FamilyParams {
            id: &f.id.0,
            client_id: f.client_id.as_str(),
            subject: f
                .subject
                .as_ref()
                .map(|s| to_json(s, "family subject"))
                .transpose()?,
            scope: f.scope.to_string(),
            grant_type: grant_type_name(f.grant_type),
            created_at: time(f.created_at),
            expires_at: opt_time(f.expires_at),
            revoked_at: opt_time(f.revoked_at),
        })
    }
}

/// Binds a [`FamilyParams`] in [`FAMILY_COLUMNS`] order.
macro_rules! bind_family {
    ($q:expr, $p:expr) => {
        $q.bind($p.id)
            .bind($p.client_id)
            .bind($p.subject.as_deref())
            .bind($p.scope.as_str())
            .bind($p.grant_type)
            .bind($p.created_at)
            .bind($p.expires_at)
            .bind($p.revoked_at)
    };
}
pub(crate) use bind_family;

/// Reads the family columns that follow a token's, from position `at` on (the id is the
/// token's `family`, already read).
fn family_from_row(r: &impl RowExt, at: usize, id: FamilyId) -> Result<FamilyRecord, StoreError> {
    Ok(FamilyRecord {
        id,
        client_id: client_id(r.text(at)?, "families.client_id")?,
        subject: r
            .opt_text(at + 1)?
            .map(|s| from_json(&s, "families.subject"))
            .transpose()?,
        scope: scope(&r.text(at + 2)?, "families.scope")?,
        grant_type: grant_type(&r.text(at + 3)?)?,
        created_at: unix(r.int(at + 4)?, "families.created_at")?,
        expires_at: opt_unix(r.opt_int(at + 5)?, "families.expires_at")?,
        revoked_at: opt_unix(r.opt_int(at + 6)?, "families.revoked_at")?,
    })
}

/// The family columns a token lookup joins, after the token's own (`f` is the family).
const JOINED_FAMILY: &str =
    "f.client_id, f.subject, f.scope, f.grant_type, f.created_at, f.expires_at, f.revoked_at";

/// The columns of `refresh_tokens`. `rotated_at IS NULL` means [`RefreshState::Active`];
/// otherwise the token is `Rotated { at: rotated_at, successor, reuse_count }`.
pub(crate) const REFRESH_COLUMNS: &str = "hash, family, client_id, scope, issued_at, \
     idle_expires_at, rotated_at, successor, reuse_count";

/// A refresh token's column values.
pub(crate) struct RefreshParams<'a> {
    pub hash: &'a [u8],
    pub family: &'a [u8],
    pub client_id: &'a str,
    pub scope: String,
    pub issued_at: i64,
    pub idle_expires_at: Option<i64>,
    pub rotated_at: Option<i64>,
    pub successor: Option<&'a [u8]>,
    pub reuse_count: i64,
}

impl<'a> RefreshParams<'a> {
    pub fn new(r: &'a RefreshTokenRecord) -> Self {
        let (rotated_at, successor, reuse_count) = match &r.state {
            RefreshState::Active => (None, None, 0),
            RefreshState::Rotated {
                at,
                successor,
                reuse_count,
            } => (
                Some(time(*at)),
                successor.as_ref().map(|s| &s.0[..]),
                i64::from(*reuse_count),
            ),
        };
        RefreshParams {
            hash: &r.hash.0,
            family: &r.family.0,
            client_id: r.client_id.as_str(),
            scope: r.scope.to_string(),
            issued_at: time(r.issued_at),
            idle_expires_at: opt_time(r.idle_expires_at),
            rotated_at,
            successor,
            reuse_count,
        }
    }
}

/// Binds a [`RefreshParams`] in [`REFRESH_COLUMNS`] order.
macro_rules! bind_refresh {
    ($q:expr, $p:expr) => {
        $q.bind($p.hash)
            .bind($p.family)
            .bind($p.client_id)
            .bind($p.scope.as_str())
            .bind($p.issued_at)
            .bind($p.idle_expires_at)
            .bind($p.rotated_at)
            .bind($p.successor)
            .bind($p.reuse_count)
    };
}
pub(crate) use bind_refresh;

/// One statement: a refresh token joined with its family; `{}` is the hash parameter.
pub(crate) fn refresh_view_select(param: &str) -> String {
    format!(
        "SELECT r.hash, r.family, r.client_id, r.scope, r.issued_at, r.idle_expires_at, \
         r.rotated_at, r.successor, r.reuse_count, {JOINED_FAMILY} \
         FROM refresh_tokens r JOIN families f ON f.id = r.family WHERE r.hash = {param}"
    )
}

/// Reads a [`refresh_view_select`] row.
pub(crate) fn refresh_view_from_row(r: &impl RowExt) -> Result<RefreshView, StoreError> {
    let family = family_id(r.bytes(1)?, "refresh_tokens.family")?;
    let state = match r.opt_int(6)? {
        None => RefreshState::Active,
        Some(at) => RefreshState::Rotated {
            at: unix(at, "refresh_tokens.rotated_at")?,
            successor: r.opt_bytes(7)?.map(SealedResponse),
            reuse_count: u32::try_from(r.int(8)?)
                .map_err(|_| corrupt("refresh_tokens.reuse_count"))?,
        },
    };
    let token = RefreshTokenRecord {
        hash: token_hash(r.bytes(0)?, "refresh_tokens.hash")?,
        family,
        client_id: client_id(r.text(2)?, "refresh_tokens.client_id")?,
        scope: scope(&r.text(3)?, "refresh_tokens.scope")?,
        issued_at: unix(r.int(4)?, "refresh_tokens.issued_at")?,
        idle_expires_at: opt_unix(r.opt_int(5)?, "refresh_tokens.idle_expires_at")?,
        state,
    };
    Ok(RefreshView {
        token: Arc::new(token),
        family: Arc::new(family_from_row(r, 9, family)?),
    })
}

/// The columns of `access_tokens`.
pub(crate) const ACCESS_COLUMNS: &str =
    "hash, family, client_id, subject, scope, issued_at, expires_at, revoked_at";

/// An access token's column values.
pub(crate) struct AccessParams<'a> {
    pub hash: &'a [u8],
    pub family: &'a [u8],
    pub client_id: &'a str,
    pub subject: Option<&'a str>,
    pub scope: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl<'a> AccessParams<'a> {
    pub fn new(a: &'a AccessTokenRecord) -> Self {
        AccessParams {
            hash: &a.hash.0,
            family: &a.family.0,
            client_id: a.client_id.as_str(),
            subject: a.subject.as_deref(),
            scope: a.scope.to_string(),
            issued_at: time(a.issued_at),
            expires_at: time(a.expires_at),
            revoked_at: opt_time(a.revoked_at),
        }
    }
}

/// Binds an [`AccessParams`] in [`ACCESS_COLUMNS`] order.
macro_rules! bind_access {
    ($q:expr, $p:expr) => {
        $q.bind($p.hash)
            .bind($p.family)
            .bind($p.client_id)
            .bind($p.subject)
            .bind($p.scope.as_str())
            .bind($p.issued_at)
            .bind($p.expires_at)
            .bind($p.revoked_at)
    };
}
pub(crate) use bind_access;

/// One statement: an access token joined with its family; `{}` is the hash parameter.
pub(crate) fn access_view_select(param: &str) -> String {
    format!(
        "SELECT a.hash, a.family, a.client_id, a.subject, a.scope, a.issued_at, a.expires_at, \
         a.revoked_at, {JOINED_FAMILY} \
         FROM access_tokens a JOIN families f ON f.id = a.family WHERE a.hash = {param}"
    )
}

/// Reads an [`access_view_select`] row.
pub(crate) fn access_view_from_row(r: &impl RowExt) -> Result<AccessView, StoreError> {
    let family = family_id(r.bytes(1)?, "access_tokens.family")?;
    let token = AccessTokenRecord {
        hash: token_hash(r.bytes(0)?, "access_tokens.hash")?,
        family,
        client_id: client_id(r.text(2)?, "access_tokens.client_id")?,
        subject: r.opt_text(3)?.map(Into::into),
        scope: scope(&r.text(4)?, "access_tokens.scope")?,
        issued_at: unix(r.int(5)?, "access_tokens.issued_at")?,
        expires_at: unix(r.int(6)?, "access_tokens.expires_at")?,
        revoked_at: opt_unix(r.opt_int(7)?, "access_tokens.revoked_at")?,
    };
    Ok(AccessView {
        token: Arc::new(token),
        family: Arc::new(family_from_row(r, 8, family)?),
    })
}

/// The columns of `interactions`.
pub(crate) const INTERACTION_COLUMNS: &str =
    "hash, browser, csrf, request, stage, created_at, expires_at";

/// An interaction's column values.
pub(crate) struct InteractionParams<'a> {
    pub hash: &'a [u8],
    pub browser: &'a [u8],
    pub csrf: &'a [u8],
    pub request: String,
    pub stage: String,
    pub created_at: i64,
    pub expires_at: i64,
}

impl<'a> InteractionParams<'a> {
    pub fn new(i: &'a InteractionRecord) -> Result<Self, StoreError> {
        Ok(InteractionParams {
            hash: &i.hash.0,
            browser: &i.browser.0,
            csrf: &i.csrf.0,
            request: to_json(&i.request, "interaction request")?,
            stage: to_json(&i.stage, "interaction stage")?,
            created_at: time(i.created_at),
            expires_at: time(i.expires_at),
        })
    }
}

/// Binds an [`InteractionParams`] in [`INTERACTION_COLUMNS`] order.
macro_rules! bind_interaction {
    ($q:expr, $p:expr) => {
        $q.bind($p.hash)
            .bind($p.browser)
            .bind($p.csrf)
            .bind($p.request.as_str())
            .bind($p.stage.as_str())
            .bind($p.created_at)
            .bind($p.expires_at)
    };
}
pub(crate) use bind_interaction;

/// Reads [`INTERACTION_COLUMNS`].
pub(crate) fn interaction_from_row(r: &impl RowExt) -> Result<InteractionRecord, StoreError> {
    Ok(InteractionRecord {
        hash: token_hash(r.bytes(0)?, "interactions.hash")?,
        browser: token_hash(r.bytes(1)?, "interactions.browser")?,
        csrf: token_hash(r.bytes(2)?, "interactions.csrf")?,
        request: from_json(&r.text(3)?, "interactions.request")?,
        stage: from_json(&r.text(4)?, "interactions.stage")?,
        created_at: unix(r.int(5)?, "interactions.created_at")?,
        expires_at: unix(r.int(6)?, "interactions.expires_at")?,
    })
}

/// The columns of `consents`.
pub(crate) const CONSENT_COLUMNS: &str = "subject, client_id, scope, granted_at";

/// Reads [`CONSENT_COLUMNS`].
pub(crate) fn consent_from_row(r: &impl RowExt) -> Result<ConsentRecord, StoreError> {
    Ok(ConsentRecord {
        subject: r.text(0)?,
        client_id: client_id(r.text(1)?, "consents.client_id")?,
        scope: scope(&r.text(2)?, "consents.scope")?,
        granted_at: unix(r.int(3)?, "consents.granted_at")?,
    })
}

/// Parses a stored consent scope (for the SQLite union, done in the writer's transaction).
pub(crate) fn stored_scope(s: &str) -> Result<Scope, StoreError> {
    scope(s, "consents.scope")
}

/// A client row's JSON.
pub(crate) fn client_from_json(s: &str) -> Result<tollgate::Client, StoreError> {
    from_json(s, "clients.data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_saturate_instead_of_wrapping() {
        assert_eq!(time(UnixTime(5)), 5);
        assert_eq!(time(UnixTime(u64::MAX)), i64::MAX);
        assert!(unix(-1, "t").is_err());
        assert_eq!(unix(7, "t"), Ok(UnixTime(7)));
    }

    #[test]
    fn malformed_keys_are_corrupt_rows_not_panics() {
        assert!(token_hash(vec![0; 31], "h").is_err());
        assert!(family_id(vec![0; 17], "f").is_err());
        assert!(grant_type("nonsense").is_err());
        assert!(from_json::<tollgate::Subject>("{", "s").is_err());
    }

    #[test]
    fn every_grant_type_round_trips_by_name() {
        for g in [
            GrantType::AuthorizationCode,
            GrantType::RefreshToken,
            GrantType::Password,
            GrantType::ClientCredentials,
            GrantType::JwtBearer,
        ] {
            assert_eq!(grant_type(grant_type_name(g)), Ok(g));
        }
    }
}
