//! What the store keeps: authorization codes, token families and the refresh and access
//! tokens in them. Every token appears only as its [`TokenHash`].
//!
//! A *family* is one original grant (a code redemption, a password or client-credentials
//! grant) and every token descending from it, so reuse detection (RFC 9700 §4.14.2), code
//! replay (RFC 6749 §4.1.2) and revocation (RFC 7009 §2.1) can revoke them all at once.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::authorize::AuthorizationRequest;
use crate::client::{ClientId, GrantType};
use crate::clock::UnixTime;
use crate::pkce::PkceChallenge;
use crate::scope::Scope;
use crate::seal::SealedResponse;
use crate::token::{FamilyId, TokenHash};

/// The authenticated end user behind a grant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The stable subject identifier (`sub`), shared: records and lookups hold the same
    /// string rather than copies.
    pub id: Arc<str>,
    /// Groups, for policy rules.
    #[serde(default)]
    pub groups: Vec<String>,
    /// When the user last authenticated (OIDC Core §2 `auth_time`).
    #[serde(default)]
    pub auth_time: Option<UnixTime>,
    /// Authentication context class (`acr`).
    #[serde(default)]
    pub acr: Option<String>,
    /// Authentication methods (`amr`).
    #[serde(default)]
    pub amr: Vec<String>,
}

impl Subject {
    /// A subject with only an identifier.
    #[must_use]
    pub fn new(id: impl Into<Arc<str>>) -> Subject {
        Subject {
            id: id.into(),
            groups: Vec::new(),
            auth_time: None,
            acr: None,
            amr: Vec::new(),
        }
    }
}

/// An authorization code as stored (RFC 6749 §4.1.2): bound to client, redirect URI and
/// PKCE challenge, single use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRecord {
    /// Hash of the code.
    pub hash: TokenHash,
    /// The client it was issued to (AC-04).
    pub client_id: ClientId,
    /// The redirect URI used at `/authorize`.
    pub redirect_uri: String,
    /// Whether `/authorize` carried `redirect_uri`; if so `/token` must repeat it (AC-05).
    pub redirect_uri_sent: bool,
    /// The PKCE challenge, if any.
    pub pkce: Option<PkceChallenge>,
    /// The consented scope, including `offline_access` when it was consented.
    pub scope: Scope,
    /// The OIDC `nonce`, for the ID token.
    pub nonce: Option<String>,
    /// Who authorized it.
    pub subject: Subject,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When it stops being redeemable.
    pub expires_at: UnixTime,
    /// `None` until redeemed; then the family it started, for replay revocation (AC-02).
    pub redeemed_into: Option<FamilyId>,
}

/// One original grant and what descends from it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyRecord {
    /// The family id.
    pub id: FamilyId,
    /// The client it belongs to.
    pub client_id: ClientId,
    /// The user, for user-bearing grants.
    pub subject: Option<Subject>,
    /// The scope originally granted.
    pub scope: Scope,
    /// The grant type that started it.
    pub grant_type: GrantType,
    /// When it started.
    pub created_at: UnixTime,
    /// Absolute expiry of every refresh token in it (RT-09); `None` = none.
    pub expires_at: Option<UnixTime>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<UnixTime>,
}

impl FamilyRecord {
    /// Whether the family was revoked.
    #[must_use]
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }
}

/// Where a refresh token is in its life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefreshState {
    /// Usable.
    Active,
    /// Exchanged for a successor at `at`. Within the grace window the holder can open
    /// `successor` to get the same response again; outside it, presenting the token is reuse.
    Rotated {
        /// When it was rotated.
        at: UnixTime,
        /// The sealed successor response; `None` when the grace window was zero.
        successor: Option<SealedResponse>,
        /// Grace-window replays served so far.
        reuse_count: u32,
    },
}

/// A refresh token as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshTokenRecord {
    /// Hash of the token.
    pub hash: TokenHash,
    /// Its family.
    pub family: FamilyId,
    /// The client it was issued to (RT-01).
    pub client_id: ClientId,
    /// Its scope: the family's original scope (RT-03).
    pub scope: Scope,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When it expires unless used first (idle lifetime, capped by the family's).
    pub idle_expires_at: Option<UnixTime>,
    /// Its state.
    pub state: RefreshState,
}

/// An access token as stored (for introspection and revocation).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenRecord {
    /// Hash of the token.
    pub hash: TokenHash,
    /// Its family; revoking the family revokes it.
    pub family: FamilyId,
    /// The client it was issued to.
    pub client_id: ClientId,
    /// The user's `sub`, if any (shared with the family's [`Subject`]).
    pub subject: Option<Arc<str>>,
    /// Its scope (possibly narrower than the family's, RT-03).
    pub scope: Scope,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When it expires.
    pub expires_at: UnixTime,
    /// When it was revoked on its own (RFC 7009), if it was.
    #[serde(default)]
    pub revoked_at: Option<UnixTime>,
}

/// A refresh token with its family, as one lookup returns them. Shared, not copied: an
/// in-memory store hands out its own records (two reference counts), and the view is
/// 16 bytes wherever the flow moves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshView {
    /// The token.
    pub token: Arc<RefreshTokenRecord>,
    /// Its family.
    pub family: Arc<FamilyRecord>,
}

impl RefreshView {
    /// Whether the token can be exchanged at `now`: active, unexpired (idle and absolute),
    /// its family not revoked.
    #[must_use]
    pub fn is_active(&self, now: UnixTime) -> bool {
        self.token.state == RefreshState::Active
            && !self.family.is_revoked()
            && self.token.idle_expires_at.is_none_or(|t| now < t)
            && self.family.expires_at.is_none_or(|t| now < t)
    }

    /// When it expires unless used: the earlier of its idle and the family's absolute expiry.
    #[must_use]
    pub fn expires_at(&self) -> Option<UnixTime> {
        match (self.token.idle_expires_at, self.family.expires_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// An access token with its family, shared like [`RefreshView`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessView {
    /// The token.
    pub token: Arc<AccessTokenRecord>,
    /// Its family.
    pub family: Arc<FamilyRecord>,
}

impl AccessView {
    /// Whether the token is usable at `now`: unexpired, not revoked, its family not revoked.
    #[must_use]
    pub fn is_active(&self, now: UnixTime) -> bool {
        now < self.token.expires_at && self.token.revoked_at.is_none() && !self.family.is_revoked()
    }
}

/// What one grant issues, written together. The records are allocated once, when minted,
/// and an in-memory store keeps those same allocations: a commit moves three pointers, not
/// half a kilobyte of records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issuance {
    /// The new family.
    pub family: Arc<FamilyRecord>,
    /// Its first refresh token, if one is issued.
    pub refresh: Option<Arc<RefreshTokenRecord>>,
    /// Its first access token.
    pub access: Arc<AccessTokenRecord>,
}

/// A user's remembered consent to a client's scopes (OIDC Core §3.1.2.4), so a later
/// `prompt=none` request for no more than these scopes succeeds silently (OI-02).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// The user's `sub`.
    pub subject: String,
    /// The client.
    pub client_id: ClientId,
    /// Every scope consented so far.
    pub scope: Scope,
    /// When consent was last given.
    pub granted_at: UnixTime,
}

/// Where an interaction stands: what the host is asked to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InteractionStage {
    /// Authenticate the user.
    Login,
    /// Ask this user to consent.
    Consent {
        /// The authenticated user.
        subject: Subject,
    },
}

/// A pending `/authorize` interaction: stored, expiring, single use, bound to one browser by
/// a cookie value and to the host's form by a CSRF token (RFC 6749 §10.12). Only hashes of
/// the three secrets are stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InteractionRecord {
    /// Hash of the interaction handle.
    pub hash: TokenHash,
    /// Hash of the browser-binding cookie value.
    pub browser: TokenHash,
    /// Hash of the CSRF token.
    pub csrf: TokenHash,
    /// The validated authorization request it continues.
    pub request: AuthorizationRequest,
    /// What the host must do.
    pub stage: InteractionStage,
    /// When it was created.
    pub created_at: UnixTime,
    /// When it stops being usable.
    pub expires_at: UnixTime,
}

/// What finishing an interaction leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InteractionNext {
    /// Store this authorization code.
    Code(Arc<CodeRecord>),
    /// Store this next interaction (consent after login).
    Interaction(Box<InteractionRecord>),
    /// Nothing (the user denied).
    Nothing,
}
