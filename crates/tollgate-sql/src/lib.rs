//! Durable stores for Tollgate: [`SqlStore`] implements the core's storage contract
//! ([`tollgate::store::AsyncStore`], DESIGN.md principle 4) on **SQLite** — a bundled,
//! file-backed database, the server's embedded default — and on **PostgreSQL**, one
//! database shared by several server instances.
//!
//! ```no_run
//! # async fn f() -> Result<(), tollgate_sql::Error> {
//! use tollgate_sql::SqlStore;
//! let store = SqlStore::open("sqlite:/var/lib/tollgate/tollgate.db").await?;
//! // or: SqlStore::open("postgres://tollgate@db.internal/tollgate").await?;
//! // register clients with `store.insert_client(..)`, then serve with
//! // `server.token_async(&request, &store, &users)`, and every minute or so:
//! store.purge_expired(tollgate::UnixTime(1_700_000_000), 1000).await?;
//! # Ok(()) }
//! ```
//!
//! What the contract asks and how it is met:
//!
//! - **One schema, migrated at start.** [`SqlStore::open`] applies the embedded migrations
//!   (`migrations/`, documented in this crate's `README.md`) before it returns.
//! - **Every [`Commit`] is atomic and race-free with several servers.** On PostgreSQL each
//!   commit is a single statement — a conditional `UPDATE`/`DELETE` or a keyed
//!   `INSERT … ON CONFLICT DO NOTHING`, with the dependent inserts as data-modifying CTEs
//!   over its `RETURNING` rows — so it is one implicit transaction and one round trip; see
//!   the `postgres` module for why that holds under `READ COMMITTED`. On SQLite, which has
//!   no data-modifying CTEs, every commit but one is also a single statement on the single
//!   writer connection: a conditional statement, or for a rotation, static refresh use,
//!   code redemption or issuance an `INSERT` into a view whose trigger checks the
//!   precondition (aborting the statement when it fails) and then writes; only
//!   `FinishInteraction` stays a `BEGIN IMMEDIATE` transaction (see the `sqlite` module).
//!   So a warm refresh is two statements on both backends: the lookup and the commit. No
//!   commit ever reads, decides in Rust, then writes without holding the lock that makes the
//!   decision still true.
//! - **Only hashes.** Codes, tokens, interaction secrets and `jti`s are stored and looked
//!   up by SHA-256 only (RFC 6749 §10.3, §10.5).
//! - **Bounded purges with indexes.** [`SqlStore::purge_expired`] deletes in batches through
//!   an index on every expiry column; every lookup is a primary-key probe (tokens joined to
//!   their family by primary key).
//! - **Faults map to the right answer.** A lost connection, a stopped database or a busy
//!   SQLite file is [`StoreErrorKind::Unavailable`](tollgate::store::StoreErrorKind)
//!   (`503 temporarily_unavailable`), anything else `Failed` (`500 server_error`); a failed
//!   commit has written nothing.
//!
//! One deliberate difference from [`tollgate::MemoryStore`]: a commit that would insert a
//! token whose hash already exists is a conflict here (nothing is written), where the memory
//! store overwrites. With 256-bit random tokens this never happens, and refusing is safer.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

/// The README's example, compiled as a doctest so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod cache;
mod codec;
mod error;
#[cfg(test)]
mod plans;
mod postgres;
mod schema;
mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use tollgate::store::{
    AccessView, AsyncStore, CodeRecord, Commit, CommitOutcome, ConsentRecord, InteractionRecord,
    RefreshView,
};
use tollgate::{Client, ClientId, StoreError, TokenHash, UnixTime};

pub use error::Error;
/// The driver, re-exported so hosts can build connection options with the same version.
pub use sqlx;

/// Tuning for [`SqlStore`]; [`SqlOptions::default`] suits a single server.
#[derive(Clone, Debug)]
pub struct SqlOptions {
    /// PostgreSQL: the pool size. SQLite: the number of read connections (writes always go
    /// through one connection). Default 8.
    pub max_connections: u32,
    /// How long a request waits for a free connection before failing with `503`.
    /// Default 5 s.
    pub acquire_timeout: Duration,
    /// SQLite: how long a write waits for another process's write lock before failing with
    /// `503`. Default 5 s.
    pub busy_timeout: Duration,
    /// How long a client registration read from the database is reused without asking it
    /// again (see [`SqlStore::insert_client`]); zero disables the cache. Default 5 s.
    pub client_cache_ttl: Duration,
}

impl Default for SqlOptions {
    fn default() -> Self {
        SqlOptions {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(5),
            client_cache_ttl: Duration::from_secs(5),
        }
    }
}

enum Backend {
    Sqlite(sqlite::Sqlite),
    Postgres(postgres::Postgres),
}

/// A durable [`AsyncStore`] on SQLite or PostgreSQL.
///
/// Client registrations are cached in-process for [`SqlOptions::client_cache_ttl`], so a
/// warm refresh costs one lookup and one commit: a registration changed through *another*
/// server is seen here within that time; one changed through this store at once.
pub struct SqlStore {
    backend: Backend,
    clients: cache::ClientCache,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SqlStore({})", self.backend_name())
    }
}

macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Sqlite(b) => b.$method($($arg),*).await,
            Backend::Postgres(b) => b.$method($($arg),*).await,
        }
    };
}

impl SqlStore {
    /// Opens the store named by `url` with default options and applies the migrations:
    /// `sqlite:PATH` (created if missing), `sqlite::memory:` (a private in-memory database,
    /// for tests) or `postgres://USER@HOST:PORT/DATABASE`.
    ///
    /// # Errors
    /// [`Error::UnsupportedUrl`], [`Error::Config`], [`Error::Connect`] or
    /// [`Error::Migrate`].
    pub async fn open(url: &str) -> Result<SqlStore, Error> {
        SqlStore::open_with(url, &SqlOptions::default()).await
    }

    /// [`SqlStore::open`] with explicit options.
    ///
    /// # Errors
    /// As [`SqlStore::open`].
    pub async fn open_with(url: &str, options: &SqlOptions) -> Result<SqlStore, Error> {
        let scheme = url.split(':').next().unwrap_or_default();
        let backend = match scheme {
            "sqlite" => Backend::Sqlite(sqlite::Sqlite::open(url, options).await?),
            "postgres" | "postgresql" => {
                Backend::Postgres(postgres::Postgres::open(url, options).await?)
            }
            other => return Err(Error::UnsupportedUrl(other.to_string())),
        };
        Ok(SqlStore::with_backend(backend, options))
    }

    /// Opens a SQLite store from driver options (WAL, `synchronous=FULL`, the busy timeout
    /// and `create_if_missing` are set here). `in_memory` must say whether `connect` names
    /// an in-memory database.
    ///
    /// # Errors
    /// [`Error::Connect`] or [`Error::Migrate`].
    pub async fn sqlite(
        connect: sqlx::sqlite::SqliteConnectOptions,
        in_memory: bool,
        options: &SqlOptions,
    ) -> Result<SqlStore, Error> {
        let backend = sqlite::Sqlite::open_with(connect, in_memory, options).await?;
        Ok(SqlStore::with_backend(Backend::Sqlite(backend), options))
    }

    /// Opens a PostgreSQL store from driver options — for instance with
    /// `.options([("search_path", "tenant_a")])` to keep the tables in their own schema.
    ///
    /// # Errors
    /// [`Error::Connect`] or [`Error::Migrate`].
    pub async fn postgres(
        connect: sqlx::postgres::PgConnectOptions,
        options: &SqlOptions,
    ) -> Result<SqlStore, Error> {
        let backend = postgres::Postgres::open_with(connect, options).await?;
        Ok(SqlStore::with_backend(Backend::Postgres(backend), options))
    }

    fn with_backend(backend: Backend, options: &SqlOptions) -> SqlStore {
        SqlStore {
            backend,
            clients: cache::ClientCache::new(options.client_cache_ttl),
        }
    }

    /// `"sqlite"` or `"postgres"`.
    #[must_use]
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Registers (or replaces) a client after validating it, like
    /// [`tollgate::MemoryStore::insert_client`]. The registration is stored as JSON; its
    /// secret only as the hash [`Client`] already holds.
    ///
    /// # Errors
    /// [`Error::InvalidClient`] when the registration is invalid, [`Error::Store`] when the
    /// database fails.
    pub async fn insert_client(&self, client: Client) -> Result<(), Error> {
        client.validate()?;
        let data = codec::to_json(&client, "client")?;
        let id = client.id.as_str();
        dispatch!(self.insert_client(id, &data))?;
        self.clients.put(&Arc::new(client));
        Ok(())
    }

    /// Removes every client registration whose id is not in `keep`, so a host that
    /// registers its clients from configuration at start (as `tollgate-server` does) can
    /// make the database hold exactly those: a client deleted from the configuration stops
    /// authenticating instead of living on in the database. Returns how many were removed.
    /// Another server on the same database sees a removal within its
    /// [`SqlOptions::client_cache_ttl`].
    ///
    /// # Errors
    /// [`Error::Store`] when the database fails; then nothing was removed.
    pub async fn retain_clients(&self, keep: &[ClientId]) -> Result<u64, Error> {
        let keep: Vec<String> = keep.iter().map(|id| id.as_str().to_string()).collect();
        let removed = dispatch!(self.retain_clients(&keep))?;
        self.clients.retain(&keep);
        Ok(removed)
    }

    /// Removes what is expired at `now` — spent `jti`s, interactions and codes past their
    /// expiry, refresh tokens past their idle expiry or in a revoked or expired family,
    /// access tokens expired, revoked or in a revoked family — at most `batch` of those per
    /// call, plus the families this emptied; returns how many rows went. Each call is one
    /// short transaction using an index for every condition, so it never scans a table and
    /// holds its locks only briefly: call it every minute or so, and again at once while it
    /// returns `batch` or more. On PostgreSQL one server purges at a time; a concurrent call
    /// elsewhere returns 0.
    ///
    /// # Errors
    /// A [`StoreError`] when the database fails; then nothing was removed.
    pub async fn purge_expired(&self, now: UnixTime, batch: usize) -> Result<usize, StoreError> {
        if batch == 0 {
            return Ok(0);
        }
        dispatch!(self.purge_expired(now, batch))
    }

    /// How many SQL statements this store has sent (lookups, commit statements, and on
    /// SQLite a transaction's `BEGIN` and `COMMIT`/`ROLLBACK`); for benches and tests. A
    /// warm refresh with rotation adds 2 on either backend: the lookup and the commit.
    #[must_use]
    pub fn statements_executed(&self) -> u64 {
        match &self.backend {
            Backend::Sqlite(b) => b.statements(),
            Backend::Postgres(b) => b.statements(),
        }
    }

    /// Closes every connection; later calls fail with `503`.
    pub async fn close(&self) {
        dispatch!(self.close())
    }
}

impl AsyncStore for SqlStore {
    async fn client(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError> {
        if let Some(c) = self.clients.get(id) {
            return Ok(Some(c));
        }
        let client = dispatch!(self.client(id))?.map(Arc::new);
        if let Some(c) = &client {
            self.clients.put(c);
        }
        Ok(client)
    }

    async fn code(&self, hash: &TokenHash) -> Result<Option<Arc<CodeRecord>>, StoreError> {
        Ok(dispatch!(self.code(hash))?.map(Arc::new))
    }

    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshView>, StoreError> {
        dispatch!(self.refresh_token(hash))
    }

    async fn access_token(&self, hash: &TokenHash) -> Result<Option<AccessView>, StoreError> {
        dispatch!(self.access_token(hash))
    }

    async fn interaction(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Box<InteractionRecord>>, StoreError> {
        Ok(dispatch!(self.interaction(hash))?.map(Box::new))
    }

    async fn consent(
        &self,
        subject: &str,
        client: &ClientId,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        dispatch!(self.consent(subject, client))
    }

    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        dispatch!(self.commit(commit))
    }
}
