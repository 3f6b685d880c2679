//! The SQLite backend: the server's embedded default store, one file (or, for tests, one
//! in-memory database) per server.
//!
//! **Durability.** The file is in WAL mode with `synchronous=FULL`: every commit appends to
//! the write-ahead log and fsyncs it before the commit returns, so a token the server has
//! answered with `200` survives a `SIGKILL` of the server — and, unlike `NORMAL`, also a
//! power cut or kernel crash right after the answer. The cost is one fsync per write.
//!
//! **One statement per hot commit.** SQLite has no data-modifying CTEs, so where PostgreSQL
//! writes a rotation as one `WITH … UPDATE … INSERT …` statement, this backend writes it as
//! one `INSERT` into a view that holds no rows, whose `INSTEAD OF INSERT` trigger
//! (`migrations/sqlite/0002_one_statement_commits.sql`) first checks the precondition and
//! aborts with `RAISE(ABORT, 'tollgate:stale')` when it does not hold, then does the
//! conditional `UPDATE` and the `INSERT`s. The store reports the abort — like a duplicate
//! key — as [`CommitOutcome::Conflict`], never as a failure. So a warm refresh is two
//! statements: the lookup and this one. The commits, by how they are written:
//!
//! | commit | statements |
//! |---|---|
//! | `RotateRefresh` | 1: `INSERT INTO refresh_rotation` (trigger: check, `UPDATE`, inserts) |
//! | `UseStaticRefresh` | 1: `INSERT INTO refresh_static_use` |
//! | `RedeemCode` | 1: `INSERT INTO code_redemption` |
//! | `Issue` | 1: `INSERT INTO token_issuance` (the family's key is the precondition) |
//! | `StoreCode`, `StoreInteraction`, `ConsumeJti` | 1: `INSERT … ON CONFLICT DO NOTHING` |
//! | `ClaimGraceReplay`, `RevokeAccessToken`, `RevokeFamily` | 1: a conditional `UPDATE` |
//! | `FinishInteraction` | `BEGIN IMMEDIATE`, `DELETE`, consent read + upsert, insert, `COMMIT` |
//!
//! `FinishInteraction` (once per login, not per token request) keeps the transaction: its
//! consent merge is a read, a union of scopes in Rust and a write, which a trigger cannot
//! express without common table expressions (SQLite allows none in triggers).
//!
//! **Atomicity.** There is exactly one writer connection per store. In autocommit mode a
//! statement is its own transaction, and a writing statement takes SQLite's write lock when
//! it starts — its `OP_Transaction` runs in the program's prologue, before any row is read,
//! waits for another process's lock up to `busy_timeout` (then the request fails with
//! `503`), and on a stale WAL snapshot starts over with a fresh one — exactly as
//! `BEGIN IMMEDIATE` does. So the trigger's check and its writes see no other writer in
//! between: not another task of this server (they queue for the one writer connection) and
//! not another process on the same file. `RAISE(ABORT)` or any error rolls back the whole
//! statement, the trigger's earlier writes included: a failed commit writes nothing. The
//! one remaining transaction runs in `BEGIN IMMEDIATE`, which takes the same lock before
//! its first statement. Reads use a separate pool of read-only connections; in WAL mode
//! they never block the writer or each other and always see the last commit.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::Row;
use tollgate::store::{
    AccessView, CodeRecord, Commit, CommitOutcome, ConsentRecord, InteractionNext,
    InteractionRecord, RefreshView,
};
use tollgate::{Client, ClientId, StoreError, TokenHash, UnixTime};

use crate::codec::{
    self, bind_access, bind_code, bind_family, bind_interaction, AccessParams, CodeParams,
    FamilyParams, InteractionParams, RefreshParams, ACCESS_COLUMNS, CODE_COLUMNS, CONSENT_COLUMNS,
    FAMILY_COLUMNS, INTERACTION_COLUMNS, REFRESH_COLUMNS,
};
use crate::error::{is_stale, is_unique_violation, store_error};
use crate::{Error, SqlOptions};

/// The family-is-live condition of the grace-replay claim (the one-statement commits'
/// triggers check their own).
const FAMILY_LIVE: &str = "EXISTS (SELECT 1 FROM families f \
     WHERE f.id = refresh_tokens.family AND f.revoked_at IS NULL)";

/// Every statement, built once (sqlx caches each connection's prepared statements by text).
pub(crate) struct Statements {
    pub client: String,
    pub insert_client: String,
    pub code: String,
    pub refresh: String,
    pub access: String,
    pub interaction: String,
    pub consent: String,
    pub insert_code: String,
    pub insert_interaction: String,
    /// The one-statement commits: an `INSERT` into a view whose trigger checks the
    /// precondition and writes (`migrations/sqlite/0002_one_statement_commits.sql`).
    pub rotate: String,
    pub static_use: String,
    pub redeem: String,
    pub issue: String,
    pub claim_grace: String,
    pub revoke_access: String,
    pub consume_jti: String,
    pub finish: String,
    pub consent_scope: String,
    pub upsert_consent: String,
    pub revoke_family: String,
    /// Each purge step deletes at most `?2` rows chosen through an index on the column it
    /// tests (`?1` is now); token and code deletions return their family. `CROSS JOIN`
    /// is SQLite's way to fix the join order: from the few revoked or expired families
    /// (partial indexes) to their tokens (index on `family`), never a scan of the tokens.
    pub purge_steps: [&'static str; 9],
    /// Removes a family nothing refers to any more.
    pub purge_family: &'static str,
}

/// `?1, ?2, …` (`n` parameters).
fn params(n: usize) -> String {
    (1..=n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `columns` (a comma-separated list) with each name prefixed: `r_hash, r_family, …`.
fn prefixed(prefix: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{prefix}{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `INSERT INTO {view} ({leading}, {f_…}, {r_…}, {a_…}) VALUES (?1, …)`: the view columns
/// in the order [`apply`] binds them.
fn view_insert(view: &str, leading: &[&str], family: bool, refresh: bool) -> String {
    let mut columns: Vec<String> = leading.iter().map(ToString::to_string).collect();
    if family {
        columns.push(prefixed("f_", FAMILY_COLUMNS));
    }
    if refresh {
        columns.push(prefixed("r_", REFRESH_COLUMNS));
    }
    columns.push(prefixed("a_", ACCESS_COLUMNS));
    let columns = columns.join(", ");
    let n = columns.split(',').count();
    format!("INSERT INTO {view} ({columns}) VALUES ({})", params(n))
}

pub(crate) fn statements() -> &'static Statements {
    static STATEMENTS: std::sync::OnceLock<Statements> = std::sync::OnceLock::new();
    STATEMENTS.get_or_init(|| Statements {
        client: "SELECT data FROM clients WHERE id = ?1".into(),
        insert_client: "INSERT INTO clients (id, data) VALUES (?1, ?2) \
                        ON CONFLICT (id) DO UPDATE SET data = excluded.data"
            .into(),
        code: format!("SELECT {CODE_COLUMNS} FROM codes WHERE hash = ?1"),
        refresh: codec::refresh_view_select("?1"),
        access: codec::access_view_select("?1"),
        interaction: format!("SELECT {INTERACTION_COLUMNS} FROM interactions WHERE hash = ?1"),
        consent: format!(
            "SELECT {CONSENT_COLUMNS} FROM consents WHERE subject = ?1 AND client_id = ?2"
        ),
        insert_code: format!(
            "INSERT INTO codes ({CODE_COLUMNS}) VALUES ({}) ON CONFLICT (hash) DO NOTHING",
            params(11)
        ),
        insert_interaction: format!(
            "INSERT INTO interactions ({INTERACTION_COLUMNS}) VALUES ({}) \
             ON CONFLICT (hash) DO NOTHING",
            params(7)
        ),
        rotate: view_insert("refresh_rotation", &["old", "at", "successor"], false, true),
        static_use: view_insert(
            "refresh_static_use",
            &["token", "idle_expires_at"],
            false,
            false,
        ),
        redeem: view_insert("code_redemption", &["code"], true, true),
        issue: view_insert("token_issuance", &[], true, true),
        claim_grace: format!(
            "UPDATE refresh_tokens SET reuse_count = reuse_count + 1 \
             WHERE hash = ?1 AND rotated_at IS NOT NULL \
             AND (?2 IS NULL OR reuse_count < ?2) AND {FAMILY_LIVE}"
        ),
        revoke_access: "UPDATE access_tokens SET revoked_at = ?2 \
                        WHERE hash = ?1 AND revoked_at IS NULL"
            .into(),
        consume_jti: "INSERT INTO jtis (hash, expires_at) VALUES (?1, ?2) \
                      ON CONFLICT (hash) DO NOTHING"
            .into(),
        finish: "DELETE FROM interactions WHERE hash = ?1".into(),
        consent_scope: "SELECT scope FROM consents WHERE subject = ?1 AND client_id = ?2".into(),
        upsert_consent: format!(
            "INSERT INTO consents ({CONSENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (subject, client_id) \
             DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at"
        ),
        revoke_family: "UPDATE families SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL"
            .into(),
        purge_steps: [
            "DELETE FROM jtis WHERE hash IN \
             (SELECT hash FROM jtis WHERE expires_at <= ?1 LIMIT ?2) RETURNING NULL",
            "DELETE FROM interactions WHERE hash IN \
             (SELECT hash FROM interactions WHERE expires_at <= ?1 LIMIT ?2) RETURNING NULL",
            "DELETE FROM codes WHERE hash IN \
             (SELECT hash FROM codes WHERE expires_at <= ?1 LIMIT ?2) RETURNING redeemed_into",
            "DELETE FROM refresh_tokens WHERE hash IN \
             (SELECT hash FROM refresh_tokens WHERE idle_expires_at <= ?1 LIMIT ?2) \
             RETURNING family",
            "DELETE FROM refresh_tokens WHERE hash IN \
             (SELECT r.hash FROM families f CROSS JOIN refresh_tokens r ON r.family = f.id \
              WHERE f.revoked_at <= ?1 LIMIT ?2) RETURNING family",
            "DELETE FROM refresh_tokens WHERE hash IN \
             (SELECT r.hash FROM families f CROSS JOIN refresh_tokens r ON r.family = f.id \
              WHERE f.expires_at <= ?1 LIMIT ?2) RETURNING family",
            "DELETE FROM access_tokens WHERE hash IN \
             (SELECT hash FROM access_tokens WHERE expires_at <= ?1 LIMIT ?2) RETURNING family",
            "DELETE FROM access_tokens WHERE hash IN \
             (SELECT hash FROM access_tokens WHERE revoked_at <= ?1 LIMIT ?2) \
             RETURNING family",
            "DELETE FROM access_tokens WHERE hash IN \
             (SELECT a.hash FROM families f CROSS JOIN access_tokens a ON a.family = f.id \
              WHERE f.revoked_at <= ?1 LIMIT ?2) RETURNING family",
        ],
        purge_family: "DELETE FROM families WHERE id = ?1 \
             AND NOT EXISTS (SELECT 1 FROM refresh_tokens WHERE family = ?1) \
             AND NOT EXISTS (SELECT 1 FROM access_tokens WHERE family = ?1) \
             AND NOT EXISTS (SELECT 1 FROM codes WHERE redeemed_into = ?1)",
    })
}

/// The SQLite backend.
pub(crate) struct Sqlite {
    /// The one connection that writes.
    pub(crate) writer: SqlitePool,
    /// Read-only connections (the writer itself for an in-memory database).
    reader: SqlitePool,
    /// Statements sent, for the bench's honest count.
    statements: AtomicU64,
}

/// Whether `url` names an in-memory database.
fn in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

impl Sqlite {
    /// Opens (creating if missing) the database at `url` (`sqlite:PATH`, `sqlite://PATH`
    /// or `sqlite::memory:`) and applies the migrations.
    pub(crate) async fn open(url: &str, options: &SqlOptions) -> Result<Self, Error> {
        let connect = SqliteConnectOptions::from_str(url).map_err(Error::Config)?;
        Self::open_with(connect, in_memory(url), options).await
    }

    /// Opens with explicit driver options; `memory` says whether they name an in-memory
    /// database (which one connection must then keep alive and serve alone).
    pub(crate) async fn open_with(
        connect: SqliteConnectOptions,
        memory: bool,
        options: &SqlOptions,
    ) -> Result<Self, Error> {
        let connect = connect
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(false);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(options.acquire_timeout)
            // An in-memory database lives as long as its connection: never let it go.
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect.clone())
            .await
            .map_err(Error::Connect)?;
        crate::schema::migrator(crate::schema::SQLITE)
            .await?
            .run(&writer)
            .await
            .map_err(Error::Migrate)?;
        let reader = if memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect.read_only(true))
                .await
                .map_err(Error::Connect)?
        };
        Ok(Sqlite {
            writer,
            reader,
            statements: AtomicU64::new(0),
        })
    }

    pub(crate) fn statements(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    fn count(&self, n: u64) {
        self.statements.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    pub(crate) async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        self.count(1);
        let row = sqlx::query(&statements().client)
            .bind(id.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(|e| store_error("client lookup", &e))?;
        row.map(|r| {
            let data: String = r
                .try_get(0)
                .map_err(|e| StoreError::failed(format!("corrupt row: clients.data: {e}")))?;
            codec::client_from_json(&data)
        })
        .transpose()
    }

    pub(crate) async fn insert_client(&self, id: &str, data: &str) -> Result<(), StoreError> {
        self.count(1);
        sqlx::query(&statements().insert_client)
            .bind(id)
            .bind(data)
            .execute(&self.writer)
            .await
            .map_err(|e| store_error("client registration", &e))?;
        Ok(())
    }

    pub(crate) async fn retain_clients(&self, keep: &[String]) -> Result<u64, StoreError> {
        self.count(1);
        let keep = serde_json::to_string(keep)
            .map_err(|e| StoreError::failed(format!("client clean-up: {e}")))?;
        let done =
            sqlx::query("DELETE FROM clients WHERE id NOT IN (SELECT value FROM json_each(?1))")
                .bind(keep)
                .execute(&self.writer)
                .await
                .map_err(|e| store_error("client clean-up", &e))?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, StoreError> {
        self.count(1);
        let row = sqlx::query(&statements().code)
            .bind(&hash.0[..])
            .fetch_optional(&self.reader)
            .await
            .map_err(|e| store_error("code lookup", &e))?;
        row.as_ref().map(codec::code_from_row).transpose()
    }

    pub(crate) async fn refresh_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<RefreshView>, StoreError> {
        self.count(1);
        let row = sqlx::query(&statements().refresh)
            .bind(&hash.0[..])
            .fetch_optional(&self.reader)
            .await
            .map_err(|e| store_error("refresh token lookup", &e))?;
        row.as_ref().map(codec::refresh_view_from_row).transpose()
    }

    pub(crate) async fn access_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<AccessView>, StoreError> {
        self.count(1);
        let row = sqlx::query(&statements().access)
            .bind(&hash.0[..])
            .fetch_optional(&self.reader)
            .await
            .map_err(|e| store_error("access token lookup", &e))?;
        row.as_ref().map(codec::access_view_from_row).transpose()
    }

    pub(crate) async fn interaction(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<InteractionRecord>, StoreError> {
        self.count(1);
        let row = sqlx::query(&statements().interaction)
            .bind(&hash.0[..])
            .fetch_optional(&self.reader)
            .await
            .map_err(|e| store_error("interaction lookup", &e))?;
        row.as_ref().map(codec::interaction_from_row).transpose()
    }

    pub(crate) async fn consent(
        &self,
        subject: &str,
        client: &ClientId,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        self.count(1);
        let row = sqlx::query(&statements().consent)
            .bind(subject)
            .bind(client.as_str())
            .fetch_optional(&self.reader)
            .await
            .map_err(|e| store_error("consent lookup", &e))?;
        row.as_ref().map(codec::consent_from_row).transpose()
    }

    /// Applies `commit`: one statement in autocommit mode (every commit but one; see the
    /// module documentation), or a `BEGIN IMMEDIATE` transaction that commits only when
    /// every precondition held.
    pub(crate) async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        let single = match &commit {
            Commit::StoreCode(_)
            | Commit::RedeemCode { .. }
            | Commit::Issue(_)
            | Commit::RotateRefresh { .. }
            | Commit::UseStaticRefresh { .. }
            | Commit::ClaimGraceReplay { .. }
            | Commit::RevokeAccessToken { .. }
            | Commit::ConsumeJti { .. }
            | Commit::StoreInteraction(_)
            | Commit::RevokeFamily { .. } => true,
            Commit::FinishInteraction { .. } => false,
            // `Commit` is non-exhaustive: a variant this crate does not know yet must not
            // be half-understood, so it fails loudly (500) instead of being ignored.
            _ => {
                return Err(StoreError::failed(format!(
                    "tollgate-sql does not implement {commit:?}"
                )))
            }
        };
        let mut conn = self
            .writer
            .acquire()
            .await
            .map_err(|e| store_error("commit", &e))?;
        if single {
            return match apply(&mut conn, &self.statements, commit).await {
                Ok(applied) => Ok(outcome(applied)),
                Err(e) if is_unique_violation(&e) => Ok(CommitOutcome::Conflict),
                Err(e) => Err(store_error("commit", &e)),
            };
        }
        self.count(1);
        let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE")
            .await
            .map_err(|e| store_error("commit: begin", &e))?;
        let applied = match apply(&mut tx, &self.statements, commit).await {
            Ok(applied) => applied,
            // A duplicate key is a failed precondition; dropping `tx` rolls back.
            Err(e) if is_unique_violation(&e) => false,
            Err(e) => return Err(store_error("commit", &e)),
        };
        self.count(1);
        if applied {
            tx.commit()
                .await
                .map_err(|e| store_error("commit: commit", &e))?;
        } else {
            tx.rollback()
                .await
                .map_err(|e| store_error("commit: rollback", &e))?;
        }
        Ok(outcome(applied))
    }

    /// Removes what expired at `now`; see [`crate::SqlStore::purge_expired`].
    pub(crate) async fn purge_expired(
        &self,
        now: UnixTime,
        batch: usize,
    ) -> Result<usize, StoreError> {
        let mut conn = self
            .writer
            .acquire()
            .await
            .map_err(|e| store_error("purge", &e))?;
        let mut tx = sqlx::Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE")
            .await
            .map_err(|e| store_error("purge: begin", &e))?;
        let removed = purge(&mut tx, now, batch)
            .await
            .map_err(|e| store_error("purge", &e))?;
        tx.commit()
            .await
            .map_err(|e| store_error("purge: commit", &e))?;
        self.count(removed.1 + 2);
        Ok(removed.0)
    }
}

fn outcome(applied: bool) -> CommitOutcome {
    if applied {
        CommitOutcome::Applied
    } else {
        CommitOutcome::Conflict
    }
}

fn invalid(e: StoreError) -> sqlx::Error {
    sqlx::Error::Encode(Box::new(e))
}

/// The driver's query type, for the binding helpers.
type Query<'q> = sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'q>>;

/// Binds a new refresh token's columns ([`REFRESH_COLUMNS`] order), or as many NULLs when
/// none is issued (the trigger then inserts none).
fn bind_opt_refresh<'q>(q: Query<'q>, r: Option<&'q RefreshParams<'q>>) -> Query<'q> {
    q.bind(r.map(|r| r.hash))
        .bind(r.map(|r| r.family))
        .bind(r.map(|r| r.client_id))
        .bind(r.map(|r| r.scope.as_str()))
        .bind(r.map(|r| r.issued_at))
        .bind(r.and_then(|r| r.idle_expires_at))
        .bind(r.and_then(|r| r.rotated_at))
        .bind(r.and_then(|r| r.successor))
        .bind(r.map(|r| r.reuse_count))
}

/// Runs a one-statement commit whose trigger checks a precondition: `Ok(false)` when it
/// did not hold (the trigger's `RAISE(ABORT, 'tollgate:stale')`; SQLite rolled the whole
/// statement back, so nothing was written).
async fn guarded(q: Query<'_>, conn: &mut SqliteConnection) -> Result<bool, sqlx::Error> {
    match q.execute(conn).await {
        Ok(_) => Ok(true),
        Err(e) if is_stale(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Runs `commit` on `conn`: one statement, or for `FinishInteraction` the statements of the
/// caller's `BEGIN IMMEDIATE` transaction; `Ok(false)` when a precondition failed (and then
/// nothing was written, or the caller rolls back). Each step says why it cannot race.
async fn apply(
    conn: &mut SqliteConnection,
    statements: &AtomicU64,
    commit: Commit,
) -> Result<bool, sqlx::Error> {
    let count = |n: u64| statements.fetch_add(n, Ordering::Relaxed);
    let s = self::statements();
    match commit {
        Commit::StoreCode(code) => {
            count(1);
            insert_code(conn, &code).await
        }
        Commit::RedeemCode { code, issuance } => {
            // One statement, holding the write lock from its start: the trigger finds the
            // code unredeemed or aborts, then records the family in it and inserts the
            // family and tokens. A second redemption waits for the lock, then finds
            // `redeemed_into` set (AC-01, AC-11); an existing family id is a duplicate key.
            count(1);
            let f = FamilyParams::new(&issuance.family).map_err(invalid)?;
            let r = issuance.refresh.as_deref().map(RefreshParams::new);
            let a = AccessParams::new(&issuance.access);
            let q = bind_family!(sqlx::query(&s.redeem).bind(&code.0[..]), f);
            guarded(bind_access!(bind_opt_refresh(q, r.as_ref()), a), conn).await
        }
        Commit::Issue(issuance) => {
            // One statement: the family's primary key is the precondition (a duplicate is a
            // unique violation, which aborts the statement: a conflict).
            count(1);
            let f = FamilyParams::new(&issuance.family).map_err(invalid)?;
            let r = issuance.refresh.as_deref().map(RefreshParams::new);
            let a = AccessParams::new(&issuance.access);
            let q = bind_family!(sqlx::query(&s.issue), f);
            guarded(bind_access!(bind_opt_refresh(q, r.as_ref()), a), conn).await
        }
        Commit::RotateRefresh {
            old,
            at,
            successor,
            refresh,
            access,
        } => {
            // Compare-and-swap in one statement: the trigger finds the token active in a
            // live family or aborts, then marks it rotated and inserts the new tokens, all
            // under the write lock taken when the statement started; the loser of a race
            // waits for the lock, then finds `rotated_at` set (RFC 9700 §4.14.2).
            count(1);
            let r = refresh.as_deref().map(RefreshParams::new);
            let a = AccessParams::new(&access);
            let q = sqlx::query(&s.rotate)
                .bind(&old.0[..])
                .bind(codec::time(at))
                .bind(successor.as_ref().map(|s| &s.0[..]));
            guarded(bind_access!(bind_opt_refresh(q, r.as_ref()), a), conn).await
        }
        Commit::UseStaticRefresh {
            token,
            idle_expires_at,
            access,
        } => {
            // The same precondition as a rotation, in one statement.
            count(1);
            let a = AccessParams::new(&access);
            let q = sqlx::query(&s.static_use)
                .bind(&token.0[..])
                .bind(codec::opt_time(idle_expires_at));
            guarded(bind_access!(q, a), conn).await
        }
        Commit::ClaimGraceReplay { token, max_reuse } => {
            // One statement: the count check and the increment cannot be separated.
            count(1);
            let claimed = sqlx::query(&s.claim_grace)
                .bind(&token.0[..])
                .bind(max_reuse.map(i64::from))
                .execute(&mut *conn)
                .await?;
            Ok(claimed.rows_affected() == 1)
        }
        Commit::RevokeAccessToken { token, at } => {
            // Idempotent; the first revocation time is kept.
            count(1);
            sqlx::query(&s.revoke_access)
                .bind(&token.0[..])
                .bind(codec::time(at))
                .execute(&mut *conn)
                .await?;
            Ok(true)
        }
        Commit::ConsumeJti { key, until } => {
            // The primary key makes the second insert of a key a no-op: spent once.
            count(1);
            let spent = sqlx::query(&s.consume_jti)
                .bind(&key.0[..])
                .bind(codec::time(until))
                .execute(&mut *conn)
                .await?;
            Ok(spent.rows_affected() == 1)
        }
        Commit::StoreInteraction(i) => {
            count(1);
            insert_interaction(conn, &i).await
        }
        Commit::FinishInteraction {
            interaction,
            consent,
            next,
        } => {
            // Deleting the row is the single-use check: only one finisher deletes it.
            count(1);
            let finished = sqlx::query(&s.finish)
                .bind(&interaction.0[..])
                .execute(&mut *conn)
                .await?;
            if finished.rows_affected() != 1 {
                return Ok(false);
            }
            if let Some(c) = consent {
                // Read-merge-write is safe here: the transaction holds the write lock.
                count(2);
                let old = sqlx::query(&s.consent_scope)
                    .bind(&c.subject)
                    .bind(c.client_id.as_str())
                    .fetch_optional(&mut *conn)
                    .await?;
                let scope = match old {
                    Some(row) => {
                        let stored: String = row.try_get(0)?;
                        codec::stored_scope(&stored)
                            .map_err(invalid)?
                            .union(&c.scope)
                    }
                    None => c.scope.clone(),
                };
                sqlx::query(&s.upsert_consent)
                    .bind(&c.subject)
                    .bind(c.client_id.as_str())
                    .bind(scope.to_string())
                    .bind(codec::time(c.granted_at))
                    .execute(&mut *conn)
                    .await?;
            }
            match next {
                InteractionNext::Code(code) => {
                    count(1);
                    insert_code(conn, &code).await
                }
                InteractionNext::Interaction(i) => {
                    count(1);
                    insert_interaction(conn, &i).await
                }
                InteractionNext::Nothing => Ok(true),
            }
        }
        Commit::RevokeFamily { family, at } => {
            // Idempotent; the first revocation time is kept. Every token lookup and every
            // conditional write joins the family, so this one row revokes them all.
            count(1);
            sqlx::query(&s.revoke_family)
                .bind(&family.0[..])
                .bind(codec::time(at))
                .execute(&mut *conn)
                .await?;
            Ok(true)
        }
        other => Err(invalid(StoreError::failed(format!(
            "tollgate-sql does not implement {other:?}"
        )))),
    }
}

async fn insert_code(conn: &mut SqliteConnection, code: &CodeRecord) -> Result<bool, sqlx::Error> {
    let p = CodeParams::new(code).map_err(invalid)?;
    let done = bind_code!(sqlx::query(&statements().insert_code), p)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

async fn insert_interaction(
    conn: &mut SqliteConnection,
    i: &InteractionRecord,
) -> Result<bool, sqlx::Error> {
    let p = InteractionParams::new(i).map_err(invalid)?;
    let done = bind_interaction!(sqlx::query(&statements().insert_interaction), p)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Deletes up to `limit` rows chosen by `select` (a key subselect with `?1` = now and
/// `?2` = limit), returning the `returning` column of each (a family id) if asked.
async fn delete_batch(
    conn: &mut SqliteConnection,
    sql: &str,
    now: i64,
    limit: usize,
    families: &mut HashSet<Vec<u8>>,
) -> Result<usize, sqlx::Error> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = sqlx::query(sql)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    for row in &rows {
        if let Some(f) = row.try_get::<Option<Vec<u8>>, _>(0)? {
            families.insert(f);
        }
    }
    Ok(rows.len())
}

/// The purge, inside the caller's transaction: (removed, statements).
async fn purge(
    conn: &mut SqliteConnection,
    now: UnixTime,
    batch: usize,
) -> Result<(usize, u64), sqlx::Error> {
    // Each step deletes at most what is left of the batch; token and code deletions
    // return their family, and exactly those families are then removed if nothing refers
    // to them any more.
    let s = statements();
    let now = codec::time(now);
    let mut families = HashSet::new();
    let mut removed = 0usize;
    let mut statements = 0u64;
    for sql in s.purge_steps {
        let left = batch.saturating_sub(removed);
        if left == 0 {
            break;
        }
        statements += 1;
        removed += delete_batch(conn, sql, now, left, &mut families).await?;
    }
    for id in families {
        statements += 1;
        let gone = sqlx::query(s.purge_family)
            .bind(&id[..])
            .execute(&mut *conn)
            .await?;
        removed += usize::try_from(gone.rows_affected()).unwrap_or(0);
    }
    Ok((removed, statements))
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection as _, Row as _};
    use tollgate::store::{AccessTokenRecord, FamilyRecord, RefreshState, RefreshTokenRecord};
    use tollgate::token::FamilyId;
    use tollgate::{GrantType, Scope, Subject};

    use super::*;
    use crate::codec::{bind_refresh, RefreshParams};

    const T0: UnixTime = UnixTime(1_700_000_000);

    fn family(n: u8) -> FamilyRecord {
        FamilyRecord {
            id: FamilyId([n; 16]),
            client_id: ClientId::new("c").expect("id"),
            subject: Some(Subject::new("alice")),
            scope: Scope::parse("offline_access").expect("scope"),
            grant_type: GrantType::AuthorizationCode,
            created_at: T0,
            expires_at: None,
            revoked_at: None,
        }
    }

    fn refresh(name: &str, f: &FamilyRecord) -> std::sync::Arc<RefreshTokenRecord> {
        std::sync::Arc::new(RefreshTokenRecord {
            hash: TokenHash::of(name),
            family: f.id,
            client_id: f.client_id.clone(),
            scope: f.scope.clone(),
            issued_at: T0,
            idle_expires_at: None,
            state: RefreshState::Active,
        })
    }

    fn access(name: &str, f: &FamilyRecord) -> std::sync::Arc<AccessTokenRecord> {
        std::sync::Arc::new(AccessTokenRecord {
            hash: TokenHash::of(name),
            family: f.id,
            client_id: f.client_id.clone(),
            subject: Some("alice".into()),
            scope: f.scope.clone(),
            issued_at: T0,
            expires_at: UnixTime(T0.0 + 3600),
            revoked_at: None,
        })
    }

    fn rotation(old: &str, new: &str, f: &FamilyRecord) -> Commit {
        Commit::RotateRefresh {
            old: TokenHash::of(old),
            at: T0,
            successor: None,
            refresh: Some(refresh(new, f)),
            access: access(&format!("at-{new}"), f),
        }
    }

    /// The claim behind "no read-then-write race across connections": each one-statement
    /// commit, in autocommit mode, opens a *write* transaction (`Transaction 0 1`) in the
    /// prologue its first instruction jumps to — before the body, and so the trigger's
    /// check, reads anything. That is the lock `BEGIN IMMEDIATE` takes.
    #[tokio::test]
    async fn one_statement_commits_take_the_write_lock_before_reading() {
        let backend = Sqlite::open("sqlite::memory:", &SqlOptions::default())
            .await
            .expect("open");
        let mut conn = backend.writer.acquire().await.expect("connection");
        let s = statements();
        for sql in [&s.rotate, &s.static_use, &s.redeem, &s.issue] {
            // `EXPLAIN` rows: addr, opcode, p1, p2, p3, p4, p5, comment.
            let explain = format!("EXPLAIN {sql}");
            let mut e = sqlx::query(&explain);
            for _ in 0..sql.matches('?').count() {
                e = e.bind(None::<i64>);
            }
            let program: Vec<(i64, String, i64, i64)> = e
                .fetch_all(&mut *conn)
                .await
                .expect("explain")
                .iter()
                .map(|r| {
                    (
                        r.get::<i64, _>(0),
                        r.get::<String, _>(1),
                        r.get::<i64, _>(2),
                        r.get::<i64, _>(3),
                    )
                })
                .collect();
            let (_, first, _, prologue) = &program[0];
            assert_eq!(first, "Init", "{sql}: {program:?}");
            let opened = program
                .iter()
                .skip_while(|(addr, ..)| addr < prologue)
                .take_while(|(_, op, ..)| op != "Goto")
                .any(|(_, op, p1, p2)| op == "Transaction" && *p1 == 0 && *p2 >= 1);
            assert!(
                opened,
                "{sql}: no write transaction in the prologue: {program:?}"
            );
            assert_eq!(
                program
                    .iter()
                    .filter(|(_, op, ..)| op == "Transaction")
                    .count(),
                1,
                "{sql}"
            );
        }
    }

    /// A database made before the one-statement commits (schema version 1, with tokens in
    /// it) migrates forward when a store opens it, and its tokens rotate through the new
    /// trigger.
    #[tokio::test]
    async fn a_version_1_database_migrates_forward() {
        const V1: &[(i64, &str, &str)] = crate::schema::SQLITE.split_at(1).0;
        let path = std::env::temp_dir().join(format!(
            "tollgate-sql-v1-{}-{:?}.db",
            std::process::id(),
            std::thread::current().id()
        ));
        let url = format!("sqlite:{}", path.display());
        {
            let connect = SqliteConnectOptions::from_str(&url)
                .expect("url")
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal);
            let mut old = SqliteConnection::connect_with(&connect)
                .await
                .expect("connect");
            crate::schema::migrator(V1)
                .await
                .expect("migrator")
                .run(&mut old)
                .await
                .expect("version 1");
            let f = family(1);
            let fp = FamilyParams::new(&f).expect("family");
            bind_family!(
                sqlx::query(&format!(
                    "INSERT INTO families ({FAMILY_COLUMNS}) VALUES ({})",
                    params(8)
                )),
                fp
            )
            .execute(&mut old)
            .await
            .expect("family");
            let r = refresh("rt-old", &f);
            let rp = RefreshParams::new(&r);
            bind_refresh!(
                sqlx::query(&format!(
                    "INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) VALUES ({})",
                    params(9)
                )),
                rp
            )
            .execute(&mut old)
            .await
            .expect("refresh token");
            old.close().await.expect("close");
        }
        let store = Sqlite::open(&url, &SqlOptions::default())
            .await
            .expect("migrates forward");
        let versions: Vec<i64> =
            sqlx::query("SELECT version FROM _sqlx_migrations ORDER BY version")
                .fetch_all(&store.writer)
                .await
                .expect("migrations")
                .iter()
                .map(|r| r.get(0))
                .collect();
        assert_eq!(versions, [1, 2]);
        let f = family(1);
        assert_eq!(
            store.commit(rotation("rt-old", "rt-new", &f)).await,
            Ok(CommitOutcome::Applied)
        );
        assert_eq!(
            store.commit(rotation("rt-old", "rt-other", &f)).await,
            Ok(CommitOutcome::Conflict)
        );
        let old = store
            .refresh_token(&TokenHash::of("rt-old"))
            .await
            .expect("lookup")
            .expect("kept");
        assert!(matches!(old.token.state, RefreshState::Rotated { .. }));
        store.close().await;
        // Opening again applies nothing new.
        let again = Sqlite::open(&url, &SqlOptions::default())
            .await
            .expect("reopen");
        again.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}
