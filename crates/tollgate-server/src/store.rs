//! The store the server runs on, chosen by the `store` field: one enum that forwards the
//! core's [`AsyncStore`] contract to [`MemoryStore`] or to `tollgate-sql`'s [`SqlStore`]
//! (SQLite or PostgreSQL).
//!
//! Opening a SQL store applies its migrations. PostgreSQL may not be up yet when the server
//! starts (both started by the same orchestrator, a failover in progress), so an
//! unreachable database is tried again with backoff for `database.start_timeout` seconds
//! before the start is given up ([`StoreUnavailable`]). Once running, a database that goes
//! away makes requests fail with `503 temporarily_unavailable` (the store reports
//! `Unavailable`, the core answers) and the pool reconnects by itself when it is back.

use std::path::Path;
use std::time::{Duration, Instant};

use tollgate::store::{
    AccessView, AsyncStore, CodeRecord, ConsentRecord, InteractionRecord, RefreshView, Store,
};
use tollgate::{Client, ClientId, Commit, CommitOutcome, MemoryStore, StoreError, TokenHash};
use tollgate_sql::{sqlx, SqlOptions, SqlStore};

use crate::config::{ConfigError, StoreSetting};

/// The configured store.
#[derive(Debug)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)] // one per server, behind an `Arc`
pub enum Backend {
    /// [`MemoryStore`]: nothing survives a restart.
    Memory(MemoryStore),
    /// SQLite or PostgreSQL.
    Sql(SqlStore),
}

/// The store could not be opened: the database stayed unreachable, or refused us.
#[derive(Debug, thiserror::Error)]
#[error("store: cannot open {store}{}: {reason}", waited_note(*.waited))]
pub struct StoreUnavailable {
    /// The store, as [`StoreSetting::describe`] names it (no password).
    pub store: String,
    /// The last failure.
    pub reason: String,
    /// How long the server kept trying.
    pub waited: Duration,
}

fn waited_note(waited: Duration) -> String {
    if waited.is_zero() {
        String::new()
    } else {
        format!(" (gave up after {:.1} s)", waited.as_secs_f64())
    }
}

/// First pause between attempts to reach the database at start; doubled up to
/// [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Whether an open failure may go away by waiting: the database is not (yet) reachable,
/// is starting up or out of connections — not a wrong password or a missing database.
fn worth_retrying(e: &tollgate_sql::Error) -> bool {
    match e {
        tollgate_sql::Error::Connect(e) => match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed => true,
            sqlx::Error::Database(db) => db
                .code()
                .is_some_and(|c| c.starts_with("08") || c.starts_with("53") || c == "57P03"),
            _ => false,
        },
        _ => false,
    }
}

/// Creates the SQLite file's directory (mode `0700`) and the file itself (mode `0600`)
/// if they are missing, so the database — client registrations, consent, token hashes —
/// is readable by the server's user only. SQLite gives its WAL and shared-memory files the
/// database file's mode.
fn prepare_sqlite_file(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

impl Backend {
    /// A [`MemoryStore`], or — for a SQL setting — a [`ConfigError`] on `store`: those are
    /// opened with [`Backend::open`], which needs the async runtime that will serve them.
    ///
    /// # Errors
    /// As said.
    pub fn open_memory(setting: &StoreSetting) -> Result<Backend, ConfigError> {
        match setting {
            StoreSetting::Memory => Ok(Backend::Memory(MemoryStore::new())),
            _ => Err(ConfigError::field(
                "store",
                "a SQLite or PostgreSQL store is opened asynchronously: use AppBuilder::open",
            )),
        }
    }

    /// Opens the store `setting` names and applies its migrations; a SQLite path is
    /// resolved against `base_dir`. An unreachable PostgreSQL is tried again, with backoff,
    /// for up to `start_timeout` (plus, at most, one attempt's `acquire_timeout`).
    ///
    /// # Errors
    /// [`StoreUnavailable`] naming the store and the last failure.
    pub async fn open(
        setting: &StoreSetting,
        base_dir: &Path,
        options: &SqlOptions,
        start_timeout: Duration,
    ) -> Result<Backend, StoreUnavailable> {
        let unavailable = |reason: String, waited: Duration| StoreUnavailable {
            store: setting.describe(),
            reason,
            waited,
        };
        match setting {
            StoreSetting::Memory => Ok(Backend::Memory(MemoryStore::new())),
            StoreSetting::Sqlite(path) => {
                let path = base_dir.join(path);
                prepare_sqlite_file(&path)
                    .map_err(|e| unavailable(format!("{}: {e}", path.display()), Duration::ZERO))?;
                let connect = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
                SqlStore::sqlite(connect, false, options)
                    .await
                    .map(Backend::Sql)
                    .map_err(|e| unavailable(e.to_string(), Duration::ZERO))
            }
            StoreSetting::Postgres(url) => {
                let started = Instant::now();
                let deadline = started + start_timeout;
                let mut backoff = FIRST_BACKOFF;
                let mut last_error = None;
                loop {
                    // Every attempt may take the pool's own connection timeout, so even the
                    // last one (or the only one, with a short start_timeout) can succeed.
                    let left = deadline.saturating_duration_since(Instant::now());
                    let bound = left.max(options.acquire_timeout);
                    let attempt =
                        tokio::time::timeout(bound, SqlStore::open_with(url, options)).await;
                    let error = match attempt {
                        Ok(Ok(store)) => return Ok(Backend::Sql(store)),
                        Ok(Err(e)) if worth_retrying(&e) => e.to_string(),
                        Ok(Err(e)) => return Err(unavailable(e.to_string(), started.elapsed())),
                        // Cut short by the deadline: the previous failure says more.
                        Err(_) => last_error
                            .take()
                            .unwrap_or_else(|| "the database did not answer".to_string()),
                    };
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(unavailable(error, started.elapsed()));
                    }
                    let pause = backoff.min(left);
                    tracing::warn!(
                        store = %setting.describe(),
                        %error,
                        retry_in_ms = pause.as_millis() as u64,
                        "the database is not reachable yet; retrying"
                    );
                    tokio::time::sleep(pause).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    last_error = Some(error);
                }
            }
        }
    }

    /// `"memory"`, `"sqlite"` or `"postgres"`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Memory(_) => "memory",
            Backend::Sql(s) => s.backend_name(),
        }
    }

    /// Registers exactly `clients`: each is inserted or replaced, and in a SQL store every
    /// other registration left from an earlier configuration is removed, so a client
    /// deleted from the configuration stops working.
    ///
    /// # Errors
    /// When a client is invalid or the store fails.
    pub async fn register_clients(&self, clients: Vec<Client>) -> Result<(), StoreError> {
        match self {
            Backend::Memory(s) => {
                for client in clients {
                    s.insert_client(client)
                        .map_err(|e| StoreError::failed(e.to_string()))?;
                }
                Ok(())
            }
            Backend::Sql(s) => {
                let ids: Vec<ClientId> = clients.iter().map(|c| c.id.clone()).collect();
                for client in clients {
                    s.insert_client(client).await.map_err(sql_error)?;
                }
                let removed = s.retain_clients(&ids).await.map_err(sql_error)?;
                if removed > 0 {
                    tracing::info!(removed, "removed client registrations no longer configured");
                }
                Ok(())
            }
        }
    }

    /// Registers (or replaces) one client in a memory store, without a runtime.
    ///
    /// # Errors
    /// When the client is invalid, or this is not a memory store.
    pub fn insert_client_now(&self, client: Client) -> Result<(), ConfigError> {
        match self {
            Backend::Memory(s) => Ok(s.insert_client(client)?),
            Backend::Sql(_) => Err(ConfigError::field(
                "store",
                "a SQL store registers clients asynchronously",
            )),
        }
    }

    /// Removes expired records, at most about `batch` (a SQL store may also remove the
    /// families this emptied); returns how many.
    ///
    /// # Errors
    /// When the store fails.
    pub async fn purge_expired(
        &self,
        now: tollgate::UnixTime,
        batch: usize,
    ) -> Result<usize, StoreError> {
        match self {
            Backend::Memory(s) => s.purge_expired(now, batch),
            Backend::Sql(s) => s.purge_expired(now, batch).await,
        }
    }

    /// Closes a SQL store's connections (SQLite checkpoints its log); later calls fail.
    pub async fn close(&self) {
        if let Backend::Sql(s) = self {
            s.close().await;
        }
    }
}

fn sql_error(e: tollgate_sql::Error) -> StoreError {
    match e {
        tollgate_sql::Error::Store(e) => e,
        other => StoreError::failed(other.to_string()),
    }
}

impl AsyncStore for Backend {
    async fn client(&self, id: &ClientId) -> Result<Option<std::sync::Arc<Client>>, StoreError> {
        match self {
            Backend::Memory(s) => Store::client(s, id),
            Backend::Sql(s) => AsyncStore::client(s, id).await,
        }
    }
    async fn code(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<std::sync::Arc<CodeRecord>>, StoreError> {
        match self {
            Backend::Memory(s) => Store::code(s, hash),
            Backend::Sql(s) => AsyncStore::code(s, hash).await,
        }
    }
    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshView>, StoreError> {
        match self {
            Backend::Memory(s) => Store::refresh_token(s, hash),
            Backend::Sql(s) => AsyncStore::refresh_token(s, hash).await,
        }
    }
    async fn access_token(&self, hash: &TokenHash) -> Result<Option<AccessView>, StoreError> {
        match self {
            Backend::Memory(s) => Store::access_token(s, hash),
            Backend::Sql(s) => AsyncStore::access_token(s, hash).await,
        }
    }
    async fn interaction(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Box<InteractionRecord>>, StoreError> {
        match self {
            Backend::Memory(s) => Store::interaction(s, hash),
            Backend::Sql(s) => AsyncStore::interaction(s, hash).await,
        }
    }
    async fn consent(
        &self,
        subject: &str,
        client: &ClientId,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        match self {
            Backend::Memory(s) => Store::consent(s, subject, client),
            Backend::Sql(s) => AsyncStore::consent(s, subject, client).await,
        }
    }
    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        match self {
            Backend::Memory(s) => Store::commit(s, commit),
            Backend::Sql(s) => AsyncStore::commit(s, commit).await,
        }
    }
}
