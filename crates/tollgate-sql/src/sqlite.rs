//! The SQLite backend: the server's embedded default store, one file (or, for tests, one
//! in-memory database) per server.
//!
//! **Durability.** The file is in WAL mode with `synchronous=FULL`: every commit appends to
//! the write-ahead log and fsyncs it before the commit returns, so a token the server has
//! answered with `200` survives a `SIGKILL` of the server — and, unlike `NORMAL`, also a
//! power cut or kernel crash right after the answer. The cost is one fsync per write.
//!
//! **Atomicity.** There is exactly one writer connection, and every multi-statement commit
//! runs in `BEGIN IMMEDIATE`, which takes SQLite's write lock before its first statement, so
//! a commit's conditional `UPDATE`/`DELETE` and the inserts that depend on it see no other
//! writer in between — not another task of this server (they queue for the one writer
//! connection) and not another process on the same file (it waits up to `busy_timeout` for
//! the lock, then the request fails with `503`). A failed precondition or any error rolls
//! the whole transaction back. Reads use a separate pool of read-only connections; in WAL
//! mode they never block the writer or each other and always see the last commit.
//!
//! SQLite has no data-modifying CTEs, so where PostgreSQL needs one statement a commit here
//! is a short transaction; all of it runs in-process, with no network round trip.

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
    self, bind_access, bind_code, bind_family, bind_interaction, bind_refresh, AccessParams,
    CodeParams, FamilyParams, InteractionParams, RefreshParams, ACCESS_COLUMNS, CODE_COLUMNS,
    CONSENT_COLUMNS, FAMILY_COLUMNS, INTERACTION_COLUMNS, REFRESH_COLUMNS,
};
use crate::error::{is_unique_violation, store_error};
use crate::{Error, SqlOptions};

/// The family-is-live condition every refresh-token write carries.
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
    pub insert_refresh: String,
    pub insert_access: String,
    pub insert_family: String,
    pub redeem: String,
    pub rotate: String,
    pub static_use: String,
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
        insert_refresh: format!(
            "INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) VALUES ({})",
            params(9)
        ),
        insert_access: format!(
            "INSERT INTO access_tokens ({ACCESS_COLUMNS}) VALUES ({})",
            params(8)
        ),
        insert_family: format!(
            "INSERT INTO families ({FAMILY_COLUMNS}) VALUES ({}) ON CONFLICT (id) DO NOTHING",
            params(8)
        ),
        redeem: "UPDATE codes SET redeemed_into = ?2 WHERE hash = ?1 AND redeemed_into IS NULL"
            .into(),
        rotate: format!(
            "UPDATE refresh_tokens SET rotated_at = ?2, successor = ?3, reuse_count = 0 \
             WHERE hash = ?1 AND rotated_at IS NULL AND {FAMILY_LIVE}"
        ),
        static_use: format!(
            "UPDATE refresh_tokens SET idle_expires_at = ?2 \
             WHERE hash = ?1 AND rotated_at IS NULL AND {FAMILY_LIVE}"
        ),
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

    /// Applies `commit`: a single conditional statement in autocommit mode, or a
    /// `BEGIN IMMEDIATE` transaction that commits only when every precondition held.
    pub(crate) async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        let single = match &commit {
            Commit::StoreCode(_)
            | Commit::ClaimGraceReplay { .. }
            | Commit::RevokeAccessToken { .. }
            | Commit::ConsumeJti { .. }
            | Commit::StoreInteraction(_)
            | Commit::RevokeFamily { .. } => true,
            Commit::RedeemCode { .. }
            | Commit::Issue(_)
            | Commit::RotateRefresh { .. }
            | Commit::UseStaticRefresh { .. }
            | Commit::FinishInteraction { .. } => false,
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

/// Runs the statements of `commit` on `conn` (inside the caller's transaction when there
/// is more than one); `Ok(false)` when a precondition failed, and then the caller rolls
/// back. Each step says why it cannot race.
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
            // The write lock is held from BEGIN IMMEDIATE: between this conditional UPDATE
            // and the inserts no other writer runs, and a second redemption waits for the
            // lock and then finds `redeemed_into` set (AC-01, AC-11).
            count(1);
            let redeemed = sqlx::query(&s.redeem)
                .bind(&code.0[..])
                .bind(&issuance.family.id.0[..])
                .execute(&mut *conn)
                .await?;
            if redeemed.rows_affected() != 1 {
                return Ok(false);
            }
            insert_issuance(conn, statements, &issuance).await
        }
        Commit::Issue(issuance) => insert_issuance(conn, statements, &issuance).await,
        Commit::RotateRefresh {
            old,
            at,
            successor,
            refresh,
            access,
        } => {
            // Compare-and-swap on the token's row: only an active token of a live family
            // rotates; the loser of a race finds `rotated_at` set (RFC 9700 §4.14.2).
            count(1);
            let rotated = sqlx::query(&s.rotate)
                .bind(&old.0[..])
                .bind(codec::time(at))
                .bind(successor.as_ref().map(|s| &s.0[..]))
                .execute(&mut *conn)
                .await?;
            if rotated.rows_affected() != 1 {
                return Ok(false);
            }
            if let Some(r) = &refresh {
                count(1);
                insert_refresh(conn, r).await?;
            }
            count(1);
            insert_access(conn, &access).await?;
            Ok(true)
        }
        Commit::UseStaticRefresh {
            token,
            idle_expires_at,
            access,
        } => {
            count(1);
            let used = sqlx::query(&s.static_use)
                .bind(&token.0[..])
                .bind(codec::opt_time(idle_expires_at))
                .execute(&mut *conn)
                .await?;
            if used.rows_affected() != 1 {
                return Ok(false);
            }
            count(1);
            insert_access(conn, &access).await?;
            Ok(true)
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

/// Inserts a refresh token; a duplicate hash is a unique violation (a conflict).
async fn insert_refresh(
    conn: &mut SqliteConnection,
    r: &tollgate::store::RefreshTokenRecord,
) -> Result<(), sqlx::Error> {
    let p = RefreshParams::new(r);
    bind_refresh!(sqlx::query(&statements().insert_refresh), p)
        .execute(conn)
        .await?;
    Ok(())
}

/// Inserts an access token; a duplicate hash is a unique violation (a conflict).
async fn insert_access(
    conn: &mut SqliteConnection,
    a: &tollgate::store::AccessTokenRecord,
) -> Result<(), sqlx::Error> {
    let p = AccessParams::new(a);
    bind_access!(sqlx::query(&statements().insert_access), p)
        .execute(conn)
        .await?;
    Ok(())
}

/// Inserts a new family and its tokens; `Ok(false)` when the family id exists.
async fn insert_issuance(
    conn: &mut SqliteConnection,
    statements: &AtomicU64,
    i: &tollgate::store::Issuance,
) -> Result<bool, sqlx::Error> {
    let p = FamilyParams::new(&i.family).map_err(invalid)?;
    statements.fetch_add(1, Ordering::Relaxed);
    let family = bind_family!(sqlx::query(&self::statements().insert_family), p)
        .execute(&mut *conn)
        .await?;
    if family.rows_affected() != 1 {
        return Ok(false);
    }
    if let Some(r) = &i.refresh {
        statements.fetch_add(1, Ordering::Relaxed);
        insert_refresh(conn, r).await?;
    }
    statements.fetch_add(1, Ordering::Relaxed);
    insert_access(conn, &i.access).await?;
    Ok(true)
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
