//! The PostgreSQL backend: one database shared by several server instances.
//!
//! **Atomicity across servers.** Every [`Commit`] is *one* SQL statement, so PostgreSQL runs
//! it as one implicit transaction (all or nothing, one network round trip) at the default
//! `READ COMMITTED` level. A commit's precondition is the `WHERE` clause of a conditional
//! `UPDATE`/`DELETE` (or the primary key of an `INSERT … ON CONFLICT DO NOTHING`), and its
//! dependent inserts are data-modifying CTEs that select from that statement's `RETURNING`
//! rows — so they happen exactly when the precondition held. This is race-free with any
//! number of servers because PostgreSQL re-checks an `UPDATE`/`DELETE`'s `WHERE` against the
//! newest committed version of each row it locks: when two servers rotate the same token at
//! once, the second blocks on the row lock until the first commits, re-reads the row, finds
//! `rotated_at` set and updates nothing. Unique-key checks likewise see concurrent inserts.
//! A duplicate key (a token hash or family id that exists) aborts the whole statement and is
//! reported as a conflict; nothing is half-written.
//!
//! **Faults.** A statement that fails because the connection broke (server restart,
//! `pg_terminate_backend`, network) is a `503`: PostgreSQL rolled it back unless it had
//! already committed, in which case the client's retry finds the rotated token inside its
//! grace window and gets the same response. Lookups, which change nothing, are retried once
//! on a fresh connection. Connections idle for more than a second are pinged before reuse,
//! so a database that came back is used again without any action.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection as _, Row};
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
use crate::error::{is_transient, is_unique_violation, store_error};
use crate::{Error, SqlOptions};

/// A connection idle longer than this is pinged before it is handed out.
const PING_IF_IDLE: Duration = Duration::from_secs(1);

/// `$start, $start+1, …` (`n` parameters).
fn params(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The family-is-live condition every refresh-token write carries (`r` is the token).
const FAMILY_LIVE: &str =
    "EXISTS (SELECT 1 FROM families f WHERE f.id = r.family AND f.revoked_at IS NULL)";

/// Number of columns of each table, in the order `codec` binds them.
const CODE_N: usize = 11;
const FAMILY_N: usize = 8;
const REFRESH_N: usize = 9;
const ACCESS_N: usize = 8;
const INTERACTION_N: usize = 7;

/// The commit statements, built once.
struct Statements {
    store_code: String,
    /// `[without refresh, with refresh]`.
    redeem: [String; 2],
    issue: [String; 2],
    rotate: [String; 2],
    static_use: String,
    claim_grace: String,
    revoke_access: String,
    consume_jti: String,
    store_interaction: String,
    /// `[consent as usize][next: 0 code, 1 interaction, 2 nothing]`.
    finish: [[String; 3]; 2],
    revoke_family: String,
}

/// `, refresh AS (INSERT … SELECT $start… FROM {from})` and the access insert after it;
/// returns the CTEs and the next free parameter.
fn token_inserts(from: &str, start: usize, with_refresh: bool) -> String {
    let mut sql = String::new();
    let mut n = start;
    if with_refresh {
        sql.push_str(&format!(
            ", refresh AS (INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) SELECT {} FROM {from})",
            params(n, REFRESH_N)
        ));
        n += REFRESH_N;
    }
    sql.push_str(&format!(
        ", access AS (INSERT INTO access_tokens ({ACCESS_COLUMNS}) SELECT {} FROM {from})",
        params(n, ACCESS_N)
    ));
    sql
}

fn statements() -> &'static Statements {
    static STATEMENTS: OnceLock<Statements> = OnceLock::new();
    STATEMENTS.get_or_init(|| {
        let both = |f: &dyn Fn(bool) -> String| [f(false), f(true)];
        // RedeemCode: the conditional UPDATE is the single-redemption check (AC-01,
        // AC-11); the family (its id is $2, also what the code records) and tokens are
        // inserted only from its RETURNING row. An existing family id aborts the statement
        // with a unique violation: a conflict, as the reference store has it.
        let redeem = both(&|r| {
            format!(
                "WITH redeemed AS (UPDATE codes SET redeemed_into = $2 \
                 WHERE hash = $1 AND redeemed_into IS NULL RETURNING hash), \
                 family AS (INSERT INTO families ({FAMILY_COLUMNS}) SELECT {} FROM redeemed)\
                 {} SELECT count(*) FROM redeemed",
                params(2, FAMILY_N),
                token_inserts("redeemed", 2 + FAMILY_N, r)
            )
        });
        // Issue: the family's primary key is the precondition.
        let issue = both(&|r| {
            format!(
                "WITH family AS (INSERT INTO families ({FAMILY_COLUMNS}) VALUES ({}) \
                 ON CONFLICT (id) DO NOTHING RETURNING id){} SELECT count(*) FROM family",
                params(1, FAMILY_N),
                token_inserts("family", 1 + FAMILY_N, r)
            )
        });
        // RotateRefresh: compare-and-swap on the token's row (RFC 9700 §4.14.2). A racing
        // rotation blocks on the row lock, then re-evaluates `rotated_at IS NULL` on the
        // committed row and updates nothing. A concurrent RevokeFamily either commits first
        // (the EXISTS finds it revoked) or after (and then revokes the new tokens too, since
        // they belong to the same family): either order is a serial one.
        let rotate = both(&|r| {
            format!(
                "WITH rotated AS (UPDATE refresh_tokens r \
                 SET rotated_at = $2, successor = $3, reuse_count = 0 \
                 WHERE r.hash = $1 AND r.rotated_at IS NULL AND {FAMILY_LIVE} RETURNING r.hash)\
                 {} SELECT count(*) FROM rotated",
                token_inserts("rotated", 4, r)
            )
        });
        let static_use = format!(
            "WITH used AS (UPDATE refresh_tokens r SET idle_expires_at = $2 \
             WHERE r.hash = $1 AND r.rotated_at IS NULL AND {FAMILY_LIVE} RETURNING r.hash)\
             {} SELECT count(*) FROM used",
            token_inserts("used", 3, false)
        );
        // The bound check and the increment are one row update: concurrent replays
        // serialize on the row lock and each re-checks the count it increments.
        let claim_grace = format!(
            "UPDATE refresh_tokens r SET reuse_count = r.reuse_count + 1 \
             WHERE r.hash = $1 AND r.rotated_at IS NOT NULL \
             AND ($2::BIGINT IS NULL OR r.reuse_count < $2) AND {FAMILY_LIVE}"
        );
        let finish = [false, true].map(|consent| {
            [0usize, 1, 2].map(|next| {
                // The DELETE is the single-use check: of concurrent finishers only one
                // deletes the row; the others re-check, find it gone and do nothing.
                let mut sql = String::from(
                    "WITH finished AS (DELETE FROM interactions WHERE hash = $1 RETURNING hash)",
                );
                let mut n = 2;
                if consent {
                    // The upsert merges into the newest committed consent row under its
                    // row lock, so concurrent consents for one user and client all count.
                    sql.push_str(&format!(
                        ", consent AS (INSERT INTO consents ({CONSENT_COLUMNS}) \
                         SELECT {} FROM finished ON CONFLICT (subject, client_id) DO UPDATE SET \
                         scope = (SELECT COALESCE(string_agg(DISTINCT t, ' ' ORDER BY t), '') \
                         FROM unnest(string_to_array(consents.scope || ' ' || EXCLUDED.scope, ' ')) \
                         AS u(t) WHERE t <> ''), granted_at = EXCLUDED.granted_at)",
                        params(n, 4)
                    ));
                    n += 4;
                }
                match next {
                    0 => sql.push_str(&format!(
                        ", next AS (INSERT INTO codes ({CODE_COLUMNS}) SELECT {} FROM finished)",
                        params(n, CODE_N)
                    )),
                    1 => sql.push_str(&format!(
                        ", next AS (INSERT INTO interactions ({INTERACTION_COLUMNS}) \
                         SELECT {} FROM finished)",
                        params(n, INTERACTION_N)
                    )),
                    _ => {}
                }
                sql.push_str(" SELECT count(*) FROM finished");
                sql
            })
        });
        Statements {
            store_code: format!(
                "INSERT INTO codes ({CODE_COLUMNS}) VALUES ({}) ON CONFLICT (hash) DO NOTHING",
                params(1, CODE_N)
            ),
            redeem,
            issue,
            rotate,
            static_use,
            claim_grace,
            revoke_access: "UPDATE access_tokens SET revoked_at = $2 \
                            WHERE hash = $1 AND revoked_at IS NULL"
                .into(),
            consume_jti: "INSERT INTO jtis (hash, expires_at) VALUES ($1, $2) \
                          ON CONFLICT (hash) DO NOTHING"
                .into(),
            store_interaction: format!(
                "INSERT INTO interactions ({INTERACTION_COLUMNS}) VALUES ({}) \
                 ON CONFLICT (hash) DO NOTHING",
                params(1, INTERACTION_N)
            ),
            finish,
            revoke_family: "UPDATE families SET revoked_at = $2 \
                            WHERE id = $1 AND revoked_at IS NULL"
                .into(),
        }
    })
}

/// The lookup statements, built once.
pub(crate) struct Lookups {
    pub code: String,
    pub refresh: String,
    pub access: String,
    pub interaction: String,
    pub consent: String,
}

pub(crate) fn lookups() -> &'static Lookups {
    static LOOKUPS: OnceLock<Lookups> = OnceLock::new();
    LOOKUPS.get_or_init(|| Lookups {
        code: format!("SELECT {CODE_COLUMNS} FROM codes WHERE hash = $1"),
        refresh: codec::refresh_view_select("$1"),
        access: codec::access_view_select("$1"),
        interaction: format!("SELECT {INTERACTION_COLUMNS} FROM interactions WHERE hash = $1"),
        consent: format!(
            "SELECT {CONSENT_COLUMNS} FROM consents WHERE subject = $1 AND client_id = $2"
        ),
    })
}

/// The purge steps: each deletes at most `$2` rows chosen through an index on the column
/// it tests (`$1` is now); token and code deletions return their family.
pub(crate) const PURGE_STEPS: [&str; 9] = [
    "DELETE FROM jtis WHERE hash IN \
         (SELECT hash FROM jtis WHERE expires_at <= $1 LIMIT $2) RETURNING NULL::BYTEA",
    "DELETE FROM interactions WHERE hash IN \
         (SELECT hash FROM interactions WHERE expires_at <= $1 LIMIT $2) RETURNING NULL::BYTEA",
    "DELETE FROM codes WHERE hash IN \
         (SELECT hash FROM codes WHERE expires_at <= $1 LIMIT $2) RETURNING redeemed_into",
    "DELETE FROM refresh_tokens WHERE hash IN \
         (SELECT hash FROM refresh_tokens WHERE idle_expires_at <= $1 LIMIT $2) \
         RETURNING family",
    "DELETE FROM refresh_tokens WHERE hash IN \
         (SELECT r.hash FROM families f JOIN refresh_tokens r ON r.family = f.id \
          WHERE f.revoked_at <= $1 LIMIT $2) \
         RETURNING family",
    "DELETE FROM refresh_tokens WHERE hash IN \
         (SELECT r.hash FROM families f JOIN refresh_tokens r ON r.family = f.id \
          WHERE f.expires_at <= $1 LIMIT $2) RETURNING family",
    "DELETE FROM access_tokens WHERE hash IN \
         (SELECT hash FROM access_tokens WHERE expires_at <= $1 LIMIT $2) RETURNING family",
    "DELETE FROM access_tokens WHERE hash IN \
         (SELECT hash FROM access_tokens WHERE revoked_at <= $1 \
          LIMIT $2) RETURNING family",
    "DELETE FROM access_tokens WHERE hash IN \
         (SELECT a.hash FROM families f JOIN access_tokens a ON a.family = f.id \
          WHERE f.revoked_at <= $1 LIMIT $2) \
         RETURNING family",
];

/// Removes the families in `$1` that nothing refers to any more.
pub(crate) const PURGE_FAMILIES: &str = "DELETE FROM families f WHERE f.id = ANY($1) \
     AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.family = f.id) \
     AND NOT EXISTS (SELECT 1 FROM access_tokens a WHERE a.family = f.id) \
     AND NOT EXISTS (SELECT 1 FROM codes c WHERE c.redeemed_into = f.id)";

/// The PostgreSQL backend.
pub(crate) struct Postgres {
    pool: PgPool,
    statements: AtomicU64,
}

impl Postgres {
    /// Connects to `url` (`postgres://…`) and applies the migrations.
    pub(crate) async fn open(url: &str, options: &SqlOptions) -> Result<Self, Error> {
        let connect: PgConnectOptions = url.parse().map_err(Error::Config)?;
        Self::open_with(connect, options).await
    }

    /// Connects with explicit driver options (for a `search_path`, a socket, …).
    pub(crate) async fn open_with(
        connect: PgConnectOptions,
        options: &SqlOptions,
    ) -> Result<Self, Error> {
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            // A ping on every checkout would add a round trip to every statement. Instead
            // only connections idle for a while are checked; a connection that broke while
            // in use fails its statement (503) and is discarded by the pool.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PING_IF_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(connect)
            .await
            .map_err(Error::Connect)?;
        crate::schema::migrator(crate::schema::POSTGRES)
            .await?
            .run(&pool)
            .await
            .map_err(Error::Migrate)?;
        Ok(Postgres {
            pool,
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
        self.pool.close().await;
    }

    /// Runs a lookup, once more on another connection if the first one was broken: a read
    /// changes nothing, so repeating it is always safe.
    async fn fetch_optional<'q>(
        &self,
        what: &str,
        query: impl Fn() -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<Option<PgRow>, StoreError> {
        self.count(1);
        match query().fetch_optional(&self.pool).await {
            Ok(row) => Ok(row),
            Err(e) if is_transient(&e) && !matches!(e, sqlx::Error::PoolTimedOut) => {
                self.count(1);
                query()
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| store_error(what, &e))
            }
            Err(e) => Err(store_error(what, &e)),
        }
    }

    pub(crate) async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let row = self
            .fetch_optional("client lookup", || {
                sqlx::query("SELECT data FROM clients WHERE id = $1").bind(id.as_str())
            })
            .await?;
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
        sqlx::query(
            "INSERT INTO clients (id, data) VALUES ($1, $2) \
             ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data",
        )
        .bind(id)
        .bind(data)
        .execute(&self.pool)
        .await
        .map_err(|e| store_error("client registration", &e))?;
        Ok(())
    }

    pub(crate) async fn retain_clients(&self, keep: &[String]) -> Result<u64, StoreError> {
        self.count(1);
        let done = sqlx::query("DELETE FROM clients WHERE NOT (id = ANY($1))")
            .bind(keep)
            .execute(&self.pool)
            .await
            .map_err(|e| store_error("client clean-up", &e))?;
        Ok(done.rows_affected())
    }

    pub(crate) async fn code(&self, hash: &TokenHash) -> Result<Option<CodeRecord>, StoreError> {
        let row = self
            .fetch_optional("code lookup", || {
                sqlx::query(&lookups().code).bind(&hash.0[..])
            })
            .await?;
        row.as_ref().map(codec::code_from_row).transpose()
    }

    pub(crate) async fn refresh_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<RefreshView>, StoreError> {
        let row = self
            .fetch_optional("refresh token lookup", || {
                sqlx::query(&lookups().refresh).bind(&hash.0[..])
            })
            .await?;
        row.as_ref().map(codec::refresh_view_from_row).transpose()
    }

    pub(crate) async fn access_token(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<AccessView>, StoreError> {
        let row = self
            .fetch_optional("access token lookup", || {
                sqlx::query(&lookups().access).bind(&hash.0[..])
            })
            .await?;
        row.as_ref().map(codec::access_view_from_row).transpose()
    }

    pub(crate) async fn interaction(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<InteractionRecord>, StoreError> {
        let row = self
            .fetch_optional("interaction lookup", || {
                sqlx::query(&lookups().interaction).bind(&hash.0[..])
            })
            .await?;
        row.as_ref().map(codec::interaction_from_row).transpose()
    }

    pub(crate) async fn consent(
        &self,
        subject: &str,
        client: &ClientId,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        let row = self
            .fetch_optional("consent lookup", || {
                sqlx::query(&lookups().consent)
                    .bind(subject)
                    .bind(client.as_str())
            })
            .await?;
        row.as_ref().map(codec::consent_from_row).transpose()
    }

    /// Applies `commit` as one statement. Never retried: after a broken connection the
    /// statement may or may not have committed, and only the client's retry (which the
    /// grace window answers) can tell.
    pub(crate) async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        self.count(1);
        match self.apply(commit).await {
            Ok(applied) => Ok(if applied {
                CommitOutcome::Applied
            } else {
                CommitOutcome::Conflict
            }),
            Err(e) if is_unique_violation(&e) => Ok(CommitOutcome::Conflict),
            Err(e) => Err(store_error("commit", &e)),
        }
    }

    /// Runs the commit's statement; `Ok(true)` when its precondition held.
    async fn apply(&self, commit: Commit) -> Result<bool, sqlx::Error> {
        let s = statements();
        let pool = &self.pool;
        // The CTE statements answer `count(*)` of the precondition's RETURNING rows.
        async fn counted(
            q: sqlx::query::Query<'_, sqlx::Postgres, sqlx::postgres::PgArguments>,
            pool: &PgPool,
        ) -> Result<bool, sqlx::Error> {
            let n: i64 = q.fetch_one(pool).await?.try_get(0)?;
            Ok(n == 1)
        }
        match commit {
            Commit::StoreCode(code) => {
                let p = CodeParams::new(&code).map_err(invalid)?;
                let done = bind_code!(sqlx::query(&s.store_code), p)
                    .execute(pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
            Commit::RedeemCode { code, issuance } => {
                let f = FamilyParams::new(&issuance.family).map_err(invalid)?;
                let q = bind_family!(
                    sqlx::query(&s.redeem[usize::from(issuance.refresh.is_some())])
                        .bind(&code.0[..]),
                    f
                );
                let r = issuance.refresh.as_deref().map(RefreshParams::new);
                let q = match &r {
                    Some(r) => bind_refresh!(q, r),
                    None => q,
                };
                let a = AccessParams::new(&issuance.access);
                counted(bind_access!(q, a), pool).await
            }
            Commit::Issue(issuance) => {
                let f = FamilyParams::new(&issuance.family).map_err(invalid)?;
                let q = bind_family!(
                    sqlx::query(&s.issue[usize::from(issuance.refresh.is_some())]),
                    f
                );
                let r = issuance.refresh.as_deref().map(RefreshParams::new);
                let q = match &r {
                    Some(r) => bind_refresh!(q, r),
                    None => q,
                };
                let a = AccessParams::new(&issuance.access);
                counted(bind_access!(q, a), pool).await
            }
            Commit::RotateRefresh {
                old,
                at,
                successor,
                refresh,
                access,
            } => {
                let q = sqlx::query(&s.rotate[usize::from(refresh.is_some())])
                    .bind(&old.0[..])
                    .bind(codec::time(at))
                    .bind(successor.as_ref().map(|s| &s.0[..]));
                let r = refresh.as_deref().map(RefreshParams::new);
                let q = match &r {
                    Some(r) => bind_refresh!(q, r),
                    None => q,
                };
                let a = AccessParams::new(&access);
                counted(bind_access!(q, a), pool).await
            }
            Commit::UseStaticRefresh {
                token,
                idle_expires_at,
                access,
            } => {
                let q = sqlx::query(&s.static_use)
                    .bind(&token.0[..])
                    .bind(codec::opt_time(idle_expires_at));
                let a = AccessParams::new(&access);
                counted(bind_access!(q, a), pool).await
            }
            Commit::ClaimGraceReplay { token, max_reuse } => {
                let done = sqlx::query(&s.claim_grace)
                    .bind(&token.0[..])
                    .bind(max_reuse.map(i64::from))
                    .execute(pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
            Commit::RevokeAccessToken { token, at } => {
                sqlx::query(&s.revoke_access)
                    .bind(&token.0[..])
                    .bind(codec::time(at))
                    .execute(pool)
                    .await?;
                Ok(true)
            }
            Commit::ConsumeJti { key, until } => {
                let done = sqlx::query(&s.consume_jti)
                    .bind(&key.0[..])
                    .bind(codec::time(until))
                    .execute(pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
            Commit::StoreInteraction(i) => {
                let p = InteractionParams::new(&i).map_err(invalid)?;
                let done = bind_interaction!(sqlx::query(&s.store_interaction), p)
                    .execute(pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
            Commit::FinishInteraction {
                interaction,
                consent,
                next,
            } => {
                let which = match &next {
                    InteractionNext::Code(_) => 0,
                    InteractionNext::Interaction(_) => 1,
                    InteractionNext::Nothing => 2,
                };
                let mut q = sqlx::query(&s.finish[usize::from(consent.is_some())][which])
                    .bind(&interaction.0[..]);
                let consent_scope = consent.as_ref().map(|c| c.scope.to_string());
                if let (Some(c), Some(scope)) = (&consent, &consent_scope) {
                    q = q
                        .bind(c.subject.as_str())
                        .bind(c.client_id.as_str())
                        .bind(scope.as_str())
                        .bind(codec::time(c.granted_at));
                }
                match &next {
                    InteractionNext::Code(code) => {
                        let p = CodeParams::new(code).map_err(invalid)?;
                        counted(bind_code!(q, p), pool).await
                    }
                    InteractionNext::Interaction(i) => {
                        let p = InteractionParams::new(i).map_err(invalid)?;
                        counted(bind_interaction!(q, p), pool).await
                    }
                    InteractionNext::Nothing => counted(q, pool).await,
                }
            }
            Commit::RevokeFamily { family, at } => {
                sqlx::query(&s.revoke_family)
                    .bind(&family.0[..])
                    .bind(codec::time(at))
                    .execute(pool)
                    .await?;
                Ok(true)
            }
            // `Commit` is non-exhaustive: a variant this crate does not know yet must not
            // be half-understood, so it fails loudly (500) instead of being ignored.
            other => Err(invalid(StoreError::failed(format!(
                "tollgate-sql does not implement {other:?}"
            )))),
        }
    }

    /// Removes what expired at `now`; see [`crate::SqlStore::purge_expired`]. One
    /// transaction; only one server purges at a time (a transaction-scoped advisory lock
    /// keyed by the schema — the others return 0 at once), so two purges never both decide
    /// a family is still referenced by rows the other is deleting.
    pub(crate) async fn purge_expired(
        &self,
        now: UnixTime,
        batch: usize,
    ) -> Result<usize, StoreError> {
        let wrap = |e: sqlx::Error| store_error("purge", &e);
        let mut tx = self.pool.begin().await.map_err(wrap)?;
        self.count(2);
        let locked: bool = sqlx::query(
            "SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || ':tollgate-purge'))",
        )
        .fetch_one(&mut *tx)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(wrap)?;
        if !locked {
            tx.rollback().await.map_err(wrap)?;
            return Ok(0);
        }
        // Each step deletes at most what is left of the batch; token and code deletions
        // return their family, and exactly those families are then removed if nothing
        // refers to them any more.
        let now = codec::time(now);
        let mut families: HashSet<Vec<u8>> = HashSet::new();
        let mut removed = 0usize;
        for sql in PURGE_STEPS {
            let left = batch.saturating_sub(removed);
            if left == 0 {
                break;
            }
            self.count(1);
            let rows = sqlx::query(sql)
                .bind(now)
                .bind(i64::try_from(left).unwrap_or(i64::MAX))
                .fetch_all(&mut *tx)
                .await
                .map_err(wrap)?;
            for row in &rows {
                if let Some(f) = row.try_get::<Option<Vec<u8>>, _>(0).map_err(wrap)? {
                    families.insert(f);
                }
            }
            removed += rows.len();
        }
        if !families.is_empty() {
            self.count(1);
            let ids: Vec<Vec<u8>> = families.into_iter().collect();
            let gone = sqlx::query(PURGE_FAMILIES)
                .bind(ids)
                .execute(&mut *tx)
                .await
                .map_err(wrap)?;
            removed += usize::try_from(gone.rows_affected()).unwrap_or(0);
        }
        tx.commit().await.map_err(wrap)?;
        Ok(removed)
    }
}

fn invalid(e: StoreError) -> sqlx::Error {
    sqlx::Error::Encode(Box::new(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_consecutively() {
        assert_eq!(params(3, 3), "$3, $4, $5");
        let s = statements();
        // The rotation with a new refresh token binds 3 + 9 + 8 parameters.
        assert!(s.rotate[1].contains("$20") && !s.rotate[1].contains("$21"));
        assert!(s.rotate[0].contains("$11") && !s.rotate[0].contains("$12"));
        // The finish with consent and a code binds 1 + 4 + 11.
        assert!(s.finish[1][0].contains("$16") && !s.finish[1][0].contains("$17"));
    }
}
