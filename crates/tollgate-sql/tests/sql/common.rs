//! Fixtures shared by the durable-store tests: a fresh store on each backend (SQLite in
//! memory, SQLite in a temporary file, PostgreSQL in a schema of its own that is dropped
//! afterwards, so runs never collide), a blocking adapter for the store conformance kit, and
//! an engine harness — the core `Server` with a fixed clock and seeded randomness, the
//! black-box suite's fixture clients, driven with `Server::token_async` over a `SqlStore`.

use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::Connection as _;
use tokio::runtime::Handle;
use tollgate::store::{
    AccessView, AsyncStore, CodeRecord, Commit, CommitOutcome, ConsentRecord, InteractionRecord,
    RefreshView, Store,
};
use tollgate::{
    Client, ClientId, CodeGrant, ManualClock, Request, Scope, SeededRandom, Server, ServerConfig,
    StoreError, Subject, TokenHash, UnixTime,
};
use tollgate_conformance_tests::{
    basic, enc, fixture_clients, server_keys, Reply, TestUsers, C1_REDIRECT, C1_SECRET, ISSUER, T0,
};
use tollgate_sql::{sqlx, SqlOptions, SqlStore};

/// The PostgreSQL every run uses (trust auth); `TOLLGATE_TEST_PG_URL` overrides it.
pub fn pg_url() -> String {
    std::env::var("TOLLGATE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A multi-thread runtime whose handle the kit's threads block on.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A name no other test or run uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(N.fetch_add(1, Ordering::Relaxed));
    format!(
        "{prefix}_{}_{:016x}",
        std::process::id(),
        h.finish() ^ u64::from(std::process::id())
    )
}

/// The backends under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `sqlite::memory:`.
    SqliteMemory,
    /// A temporary file in WAL mode.
    SqliteFile,
    /// A fresh schema in the test database.
    Postgres,
}

/// A temporary SQLite file, removed with its WAL and shared-memory files.
pub struct TempDb {
    pub path: PathBuf,
}

impl TempDb {
    pub fn new() -> TempDb {
        TempDb {
            path: std::env::temp_dir().join(format!("{}.db", unique("tollgate-sql"))),
        }
    }

    pub fn url(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A PostgreSQL schema of its own, dropped (with everything in it) when this goes.
pub struct PgSchema {
    pub name: String,
}

impl PgSchema {
    /// Creates it; fails the test with a clear message when PostgreSQL is not reachable.
    pub async fn create() -> PgSchema {
        let url = pg_url();
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is not reachable at {url}: {e}. The durable-store tests need it \
                 (trust auth, database `test`): `.ci/run` starts it; by hand, \
                 `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, \
                 or point TOLLGATE_TEST_PG_URL elsewhere"
            )
        });
        let name = unique("tg");
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&mut conn)
            .await
            .expect("create schema");
        let _ = conn.close().await;
        PgSchema { name }
    }

    /// Driver options whose connections live in this schema.
    pub fn connect_options(&self) -> PgConnectOptions {
        pg_url()
            .parse::<PgConnectOptions>()
            .expect("PostgreSQL URL")
            .options([("search_path", self.name.as_str())])
            .application_name(&self.name)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop may run on a runtime thread; do the clean-up on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_url()).await {
                    let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                        .execute(&mut conn)
                        .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// What keeps a store's backing alive: a temporary file or a schema, removed on drop.
#[allow(dead_code)] // held only for its `Drop`
pub enum Backing {
    Nothing,
    File(TempDb),
    Schema(PgSchema),
}

/// A fresh, empty store of `kind` holding `clients`.
pub async fn open(kind: Kind, options: &SqlOptions, clients: Vec<Client>) -> (SqlStore, Backing) {
    let (store, backing) = match kind {
        Kind::SqliteMemory => (
            SqlStore::open_with("sqlite::memory:", options)
                .await
                .expect("open in-memory SQLite"),
            Backing::Nothing,
        ),
        Kind::SqliteFile => {
            let db = TempDb::new();
            let store = SqlStore::open_with(&db.url(), options)
                .await
                .expect("open SQLite file");
            (store, Backing::File(db))
        }
        Kind::Postgres => {
            let schema = PgSchema::create().await;
            let store = SqlStore::postgres(schema.connect_options(), options)
                .await
                .expect("open PostgreSQL");
            (store, Backing::Schema(schema))
        }
    };
    for c in clients {
        store.insert_client(c).await.expect("valid client");
    }
    (store, backing)
}

/// Another store on the same database as the one `backing` keeps — a second server
/// process for PostgreSQL or a SQLite file; `None` for an in-memory database.
pub async fn reopen(backing: &Backing, options: &SqlOptions) -> Option<SqlStore> {
    match backing {
        Backing::Nothing => None,
        Backing::File(db) => Some(
            SqlStore::open_with(&db.url(), options)
                .await
                .expect("reopen SQLite file"),
        ),
        Backing::Schema(schema) => Some(
            SqlStore::postgres(schema.connect_options(), options)
                .await
                .expect("reopen PostgreSQL"),
        ),
    }
}

/// A `SqlStore` as a blocking [`Store`], for the conformance kit: every call blocks on the
/// test's multi-thread runtime (the kit's own threads are not runtime threads).
pub struct Blocking {
    pub store: SqlStore,
    pub rt: Handle,
    pub _backing: Backing,
}

impl Store for Blocking {
    fn client(&self, id: &ClientId) -> Result<Option<std::sync::Arc<Client>>, StoreError> {
        self.rt.block_on(AsyncStore::client(&self.store, id))
    }
    fn code(&self, hash: &TokenHash) -> Result<Option<std::sync::Arc<CodeRecord>>, StoreError> {
        self.rt.block_on(AsyncStore::code(&self.store, hash))
    }
    fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshView>, StoreError> {
        self.rt
            .block_on(AsyncStore::refresh_token(&self.store, hash))
    }
    fn access_token(&self, hash: &TokenHash) -> Result<Option<AccessView>, StoreError> {
        self.rt
            .block_on(AsyncStore::access_token(&self.store, hash))
    }
    fn interaction(&self, hash: &TokenHash) -> Result<Option<Box<InteractionRecord>>, StoreError> {
        self.rt.block_on(AsyncStore::interaction(&self.store, hash))
    }
    fn consent(
        &self,
        subject: &str,
        client: &ClientId,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        self.rt
            .block_on(AsyncStore::consent(&self.store, subject, client))
    }
    fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        self.rt.block_on(AsyncStore::commit(&self.store, commit))
    }
}

/// The core server with the black-box suite's fixed clock, keys and clients, over a
/// `SqlStore`.
pub struct Engine {
    pub server: Server,
    pub store: SqlStore,
    pub clock: ManualClock,
    pub backing: Backing,
}

/// A server like the black-box harness's, seeded with `seed`.
pub fn server(clock: &ManualClock, seed: u64, adjust: impl FnOnce(&mut ServerConfig)) -> Server {
    let mut config = ServerConfig {
        issuer: ISSUER.to_string(),
        ..ServerConfig::default()
    };
    adjust(&mut config);
    Server::builder(config)
        .clock(clock.clone())
        .random(SeededRandom::new(seed))
        .keys(server_keys())
        .build()
        .expect("fixture configuration")
}

impl Engine {
    /// A fresh engine on `kind` with `adjust` applied to the configuration.
    pub async fn new(kind: Kind, adjust: impl FnOnce(&mut ServerConfig)) -> Engine {
        let (store, backing) = open(kind, &SqlOptions::default(), fixture_clients()).await;
        let clock = ManualClock::new(T0);
        Engine {
            server: server(&clock, 42, adjust),
            store,
            clock,
            backing,
        }
    }

    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    pub async fn send(&self, request: &Request) -> Reply {
        send(&self.server, &self.store, request).await
    }

    /// Mints and stores a code for C1 and user alice, as `/authorize` would.
    pub async fn c1_code(&self, scope: &str) -> String {
        mint_code(&self.server, &self.store, scope).await
    }

    /// C1 exchanges a fresh code for `scope`.
    pub async fn c1_tokens(&self, scope: &str) -> Reply {
        let code = self.c1_code(scope).await;
        self.send(&code_request(&code)).await
    }

    pub async fn c1_refresh(&self, rt: &str) -> Reply {
        self.send(&refresh_request(rt)).await
    }

    /// Whether access token `at` is active now, as introspection would say.
    pub async fn access_active(&self, at: &str) -> bool {
        AsyncStore::access_token(&self.store, &TokenHash::of(at))
            .await
            .expect("store")
            .is_some_and(|v| v.is_active(UnixTime(self.server.now().0)))
    }
}

pub async fn send(server: &Server, store: &SqlStore, request: &Request) -> Reply {
    Reply::from(server.token_async(request, store, &TestUsers).await)
}

pub async fn mint_code(server: &Server, store: &SqlStore, scope: &str) -> String {
    let minted = server
        .mint_code(CodeGrant {
            client_id: ClientId::new("C1").expect("id"),
            redirect_uri: C1_REDIRECT.to_string(),
            redirect_uri_sent: true,
            scope: Scope::parse(scope).expect("scope"),
            pkce: None,
            nonce: Some("n-0S6_WzA2Mj".to_string()),
            subject: Subject {
                auth_time: Some(T0),
                ..Subject::new("alice")
            },
        })
        .expect("mint code");
    let outcome = AsyncStore::commit(store, Commit::StoreCode(minted.record))
        .await
        .expect("store code");
    assert_eq!(outcome, CommitOutcome::Applied);
    minted.code.expose().to_string()
}

pub fn code_request(code: &str) -> Request {
    Request::form_post(format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}",
        enc(C1_REDIRECT)
    ))
    .with_header("Authorization", &basic("C1", C1_SECRET))
}

pub fn refresh_request(rt: &str) -> Request {
    Request::form_post(format!(
        "grant_type=refresh_token&refresh_token={}",
        enc(rt)
    ))
    .with_header("Authorization", &basic("C1", C1_SECRET))
}
