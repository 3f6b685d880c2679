//! The storage contract: the lookups a decision needs and the [`Commit`]s it makes.
//!
//! Every change that must happen at most once is a conditional write the store applies
//! atomically, all or nothing (DESIGN.md principle 4): redeeming a code only if unredeemed
//! (RFC 6749 §4.1.2, AC-01/AC-11), rotating a refresh token only if still active
//! (RFC 9700 §4.14.2), claiming a grace-window replay only while under the count. Losing
//! such a race is [`CommitOutcome::Conflict`], an ordinary answer the flow turns into its
//! response. [`Store`] is the blocking form, [`AsyncStore`] the async one; every `Store` is
//! an `AsyncStore`.

mod by_key;
mod memory;
mod record;

use std::future::Future;
use std::sync::Arc;

pub use memory::MemoryStore;
pub use record::{
    AccessTokenRecord, AccessView, CodeRecord, ConsentRecord, FamilyRecord, InteractionNext,
    InteractionRecord, InteractionStage, Issuance, RefreshState, RefreshTokenRecord, RefreshView,
    Subject,
};

use crate::client::{Client, ClientId};
use crate::clock::UnixTime;
use crate::seal::SealedResponse;
use crate::token::{FamilyId, TokenHash};

/// A state change, applied atomically and all-or-nothing.
///
/// Records travel boxed or shared, so a commit is at most a few dozen bytes wherever the
/// flow and the driver move it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Commit {
    /// Store a freshly minted authorization code. Conflict if the hash exists.
    StoreCode(Arc<CodeRecord>),
    /// Redeem code `code` into `issuance`: only if the code exists and is unredeemed, set
    /// its `redeemed_into` to the new family and insert everything in `issuance`.
    RedeemCode {
        /// The code's hash.
        code: TokenHash,
        /// The family and tokens it yields.
        issuance: Issuance,
    },
    /// Insert a new family and its tokens (password, client credentials). Conflict if the
    /// family id exists.
    Issue(Issuance),
    /// Rotate refresh token `old`: only if it is [`RefreshState::Active`] and its family is
    /// not revoked, set it to `Rotated { at, successor, reuse_count: 0 }` and insert the new
    /// tokens.
    RotateRefresh {
        /// The presented token's hash.
        old: TokenHash,
        /// Rotation time.
        at: UnixTime,
        /// The sealed successor response for grace-window retries.
        successor: Option<SealedResponse>,
        /// The new refresh token, if one is issued.
        refresh: Option<Arc<RefreshTokenRecord>>,
        /// The new access token.
        access: Arc<AccessTokenRecord>,
    },
    /// Use a non-rotating refresh token: only if it is active and its family not revoked,
    /// set its idle expiry to `idle_expires_at` and insert `access`.
    UseStaticRefresh {
        /// The token's hash.
        token: TokenHash,
        /// The new idle expiry.
        idle_expires_at: Option<UnixTime>,
        /// The new access token.
        access: Arc<AccessTokenRecord>,
    },
    /// Count one grace-window replay of rotated token `token`: only if it is rotated, its
    /// family is not revoked and (when `max_reuse` is set) fewer than `max_reuse` replays were
    /// served, increment its `reuse_count`.
    ClaimGraceReplay {
        /// The rotated token's hash.
        token: TokenHash,
        /// The bound on replays.
        max_reuse: Option<u32>,
    },
    /// Revoke one access token (RFC 7009 §2.1), leaving its family alone. Idempotent: always
    /// applies, also to unknown tokens.
    RevokeAccessToken {
        /// The token's hash.
        token: TokenHash,
        /// When.
        at: UnixTime,
    },
    /// Spend a JWT `jti` (RFC 7523 §3 item 7): Conflict if `key` was spent and is still
    /// remembered; else remember it until `until`.
    ConsumeJti {
        /// Hash of the issuer and `jti`.
        key: TokenHash,
        /// When it may be forgotten (the assertion's expiry plus skew).
        until: UnixTime,
    },
    /// Store a new `/authorize` interaction. Conflict if the hash exists.
    StoreInteraction(Box<InteractionRecord>),
    /// Finish interaction `interaction`: only if it exists, delete it, merge `consent` into
    /// the user's remembered consent (union of scopes), and store what comes next.
    FinishInteraction {
        /// The interaction's hash.
        interaction: TokenHash,
        /// Consent to remember, if given.
        consent: Option<ConsentRecord>,
        /// The code or next interaction to store.
        next: InteractionNext,
    },
    /// Revoke family `family` and with it every token in it. Idempotent: always applies.
    RevokeFamily {
        /// The family.
        family: FamilyId,
        /// When.
        at: UnixTime,
    },
}

/// The result of a [`Commit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum CommitOutcome {
    /// Every precondition held and every write was applied.
    Applied,
    /// A precondition failed (another request got there first); nothing was written.
    Conflict,
}

/// A store failed to answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?} store failure: {message}")]
pub struct StoreError {
    /// How the client should be told.
    pub kind: StoreErrorKind,
    /// What happened, for the operator's log; never shown to clients.
    pub message: String,
}

/// Classes of store failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// Transient (connection lost, database down): `503 temporarily_unavailable`.
    Unavailable,
    /// Anything else: `500 server_error`.
    Failed,
}

impl StoreError {
    /// A transient failure.
    pub fn unavailable(message: impl Into<String>) -> Self {
        StoreError {
            kind: StoreErrorKind::Unavailable,
            message: message.into(),
        }
    }

    /// A permanent failure.
    pub fn failed(message: impl Into<String>) -> Self {
        StoreError {
            kind: StoreErrorKind::Failed,
            message: message.into(),
        }
    }
}

/// A blocking store.
pub trait Store: Send + Sync {
    /// The client registered as `id`, shared: a lookup on the hot path copies no client.
    ///
    /// # Errors
    /// A [`StoreError`] when the store cannot answer.
    fn client(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError>;
    /// The code with hash `hash`, redeemed or not.
    ///
    /// # Errors
    /// A [`StoreError`] when the store cannot answer.
    fn code(&self, hash: &TokenHash) -> Result<Option<Arc<CodeRecord>>, StoreError>;
    /// The refresh token with hash `hash` and its family.
    ///
    /// # Errors
    /// A [`StoreError`] when the store cannot answer.
    fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshView>, StoreError>;
    /// The access token with hash `hash` and its family.
    ///
    /// # Errors
    /// A [`StoreError`] when the store cannot answer.
    fn access_token(&self, hash: &TokenHash) -> Result<Option<AccessView>, StoreError>;
    /// The pending interaction with hash `hash`.
    ///
    /// # Errors
    /// A [`StoreError`] when the store cannot answer.
    fn interaction(&self, hash: &TokenHash) -> Result<Option<Box<InteractionRecord>>, StoreError>;
    /// The consent `subject` has given `client`.
    ///
    /// # Errors
    /// A [`StoreError`] when the store cannot answer.
    fn consent(
        &self,
        subject: &str,
        client: &ClientId,
    ) -> Result<Option<ConsentRecord>, StoreError>;
    /// Applies `commit` atomically.
    ///
    /// # Errors
    /// A [`StoreError`] when the store cannot answer; then nothing may have been written.
    fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError>;
}

/// An async store, for hosts on an async runtime. Every [`Store`] is one.
pub trait AsyncStore: Send + Sync {
    /// See [`Store::client`].
    fn client(
        &self,
        id: &ClientId,
    ) -> impl Future<Output = Result<Option<Arc<Client>>, StoreError>> + Send;
    /// See [`Store::code`].
    fn code(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<Arc<CodeRecord>>, StoreError>> + Send;
    /// See [`Store::refresh_token`].
    fn refresh_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<RefreshView>, StoreError>> + Send;
    /// See [`Store::access_token`].
    fn access_token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<AccessView>, StoreError>> + Send;
    /// See [`Store::interaction`].
    fn interaction(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<Box<InteractionRecord>>, StoreError>> + Send;
    /// See [`Store::consent`].
    fn consent(
        &self,
        subject: &str,
        client: &ClientId,
    ) -> impl Future<Output = Result<Option<ConsentRecord>, StoreError>> + Send;
    /// See [`Store::commit`].
    fn commit(
        &self,
        commit: Commit,
    ) -> impl Future<Output = Result<CommitOutcome, StoreError>> + Send;
}

impl<T: Store> AsyncStore for T {
    async fn client(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError> {
        Store::client(self, id)
    }
    async fn code(&self, hash: &TokenHash) -> Result<Option<Arc<CodeRecord>>, StoreError> {
        Store::code(self, hash)
    }
    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshView>, StoreError> {
        Store::refresh_token(self, hash)
    }
    async fn access_token(&self, hash: &TokenHash) -> Result<Option<AccessView>, StoreError> {
        Store::access_token(self, hash)
    }
    async fn interaction(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Box<InteractionRecord>>, StoreError> {
        Store::interaction(self, hash)
    }
    async fn consent(
        &self,
        subject: &str,
        client: &ClientId,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        Store::consent(self, subject, client)
    }
    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        Store::commit(self, commit)
    }
}
