//! The store the server runs on, chosen by the `store` field: one enum that forwards the
//! core's [`AsyncStore`] contract to the backend. Today that is [`MemoryStore`]; the SQLite
//! and PostgreSQL stores of `tollgate-sql` become two more variants and two more arms per
//! method when that crate lands.

use tollgate::store::{
    AccessView, AsyncStore, CodeRecord, ConsentRecord, InteractionRecord, RefreshView, Store,
};
use tollgate::{Client, ClientId, Commit, CommitOutcome, MemoryStore, StoreError, TokenHash};

use crate::config::{ConfigError, StoreSetting};

/// The configured store.
#[derive(Debug)]
#[non_exhaustive]
pub enum Backend {
    /// [`MemoryStore`]: nothing survives a restart.
    Memory(MemoryStore),
}

impl Backend {
    /// Opens the store `setting` names.
    ///
    /// # Errors
    /// `store` when this build cannot open it.
    pub fn open(setting: &StoreSetting) -> Result<Backend, ConfigError> {
        match setting {
            StoreSetting::Memory => Ok(Backend::Memory(MemoryStore::new())),
            StoreSetting::Sqlite(_) | StoreSetting::Postgres(_) => Err(ConfigError::field(
                "store",
                "SQLite and PostgreSQL come with tollgate-sql, which this build does not include yet; use \"memory\"",
            )),
        }
    }

    /// Registers (or replaces) a client.
    ///
    /// # Errors
    /// When the client is invalid or the store fails.
    pub fn insert_client(&self, client: Client) -> Result<(), ConfigError> {
        match self {
            Backend::Memory(s) => Ok(s.insert_client(client)?),
        }
    }

    /// Removes expired records, at most `batch`; returns how many.
    ///
    /// # Errors
    /// When the store fails.
    pub fn purge_expired(
        &self,
        now: tollgate::UnixTime,
        batch: usize,
    ) -> Result<usize, StoreError> {
        match self {
            Backend::Memory(s) => s.purge_expired(now, batch),
        }
    }
}

impl AsyncStore for Backend {
    async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        match self {
            Backend::Memory(s) => Store::client(s, id),
        }
    }
    async fn code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, StoreError> {
        match self {
            Backend::Memory(s) => Store::code(s, hash),
        }
    }
    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshView>, StoreError> {
        match self {
            Backend::Memory(s) => Store::refresh_token(s, hash),
        }
    }
    async fn access_token(&self, hash: &TokenHash) -> Result<Option<AccessView>, StoreError> {
        match self {
            Backend::Memory(s) => Store::access_token(s, hash),
        }
    }
    async fn interaction(&self, hash: &TokenHash) -> Result<Option<InteractionRecord>, StoreError> {
        match self {
            Backend::Memory(s) => Store::interaction(s, hash),
        }
    }
    async fn consent(
        &self,
        subject: &str,
        client: &ClientId,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        match self {
            Backend::Memory(s) => Store::consent(s, subject, client),
        }
    }
    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        match self {
            Backend::Memory(s) => Store::commit(s, commit),
        }
    }
}
