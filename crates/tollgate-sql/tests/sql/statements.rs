//! Issue 6 point 8, "at most two statements (one round trip where the backend allows) per
//! refresh": every store call a whole token request makes is traced with the number of SQL
//! statements it sent (`SqlStore::statements_executed`), on SQLite (memory and file) and,
//! mirrored, on PostgreSQL. A refresh with rotation is the token lookup and ONE commit
//! statement on both backends; so are a static refresh, reuse detection and a code
//! exchange; a grace replay is the lookup alone, client credentials the commit alone.
//!
//! And the other half of the one-statement commits: a commit whose precondition fails —
//! stale state, a revoked family, an unknown token, or a duplicate key found only after the
//! trigger's `UPDATE` ran — writes nothing: every row count is unchanged, checked through a
//! separate connection to the database.

use std::sync::Arc;

use std::sync::Mutex;
use std::time::Duration;

use sqlx::{Connection as _, Row as _};
use tollgate::store::{
    AccessTokenRecord, AccessView, AsyncStore, CodeRecord, Commit, CommitOutcome, ConsentRecord,
    FamilyRecord, InteractionRecord, Issuance, RefreshState, RefreshTokenRecord, RefreshView,
};
use tollgate::token::FamilyId;
use tollgate::{
    Client, ClientId, GrantType, ManualClock, Request, RotationMode, Scope, StoreError, Subject,
    TokenHash, TokenPolicy, UnixTime,
};
use tollgate_conformance_tests::{basic, fixture_clients, TestUsers, C1_SECRET, T0};
use tollgate_sql::{SqlOptions, SqlStore};

use crate::common::{
    code_request, mint_code, open, refresh_request, server, Backing, Engine, Kind,
};

/// A store that records, for each call, its name and how many statements it sent.
struct Traced<'a> {
    store: &'a SqlStore,
    calls: Mutex<Vec<(String, u64)>>,
}

impl<'a> Traced<'a> {
    fn new(store: &'a SqlStore) -> Self {
        Traced {
            store,
            calls: Mutex::new(Vec::new()),
        }
    }

    async fn run<T>(&self, what: String, call: impl std::future::Future<Output = T>) -> T {
        let before = self.store.statements_executed();
        let out = call.await;
        let sent = self.store.statements_executed() - before;
        self.calls.lock().expect("trace").push((what, sent));
        out
    }

    /// The calls so far, and forgets them.
    fn take(&self) -> Vec<(String, u64)> {
        std::mem::take(&mut *self.calls.lock().expect("trace"))
    }
}

/// `commit RotateRefresh`, `commit Issue`, …
fn commit_name(c: &Commit) -> String {
    let debug = format!("{c:?}");
    let end = debug
        .find(|ch: char| !ch.is_ascii_alphanumeric())
        .unwrap_or(debug.len());
    format!("commit {}", &debug[..end])
}

impl AsyncStore for Traced<'_> {
    async fn client(&self, id: &ClientId) -> Result<Option<std::sync::Arc<Client>>, StoreError> {
        self.run("client".into(), AsyncStore::client(self.store, id))
            .await
    }
    async fn code(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<std::sync::Arc<CodeRecord>>, StoreError> {
        self.run("code".into(), AsyncStore::code(self.store, hash))
            .await
    }
    async fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshView>, StoreError> {
        self.run(
            "refresh_token".into(),
            AsyncStore::refresh_token(self.store, hash),
        )
        .await
    }
    async fn access_token(&self, hash: &TokenHash) -> Result<Option<AccessView>, StoreError> {
        self.run(
            "access_token".into(),
            AsyncStore::access_token(self.store, hash),
        )
        .await
    }
    async fn interaction(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<Box<InteractionRecord>>, StoreError> {
        self.run(
            "interaction".into(),
            AsyncStore::interaction(self.store, hash),
        )
        .await
    }
    async fn consent(
        &self,
        subject: &str,
        client: &ClientId,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        self.run(
            "consent".into(),
            AsyncStore::consent(self.store, subject, client),
        )
        .await
    }
    async fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        self.run(commit_name(&commit), AsyncStore::commit(self.store, commit))
            .await
    }
}

/// An engine whose client cache stays warm for the whole test, however slow the machine:
/// the counts below are those of a warm server, whose client lookup sends nothing.
async fn warm_engine(kind: Kind, adjust: impl FnOnce(&mut tollgate::ServerConfig)) -> Engine {
    let options = SqlOptions {
        client_cache_ttl: Duration::from_secs(3600),
        ..SqlOptions::default()
    };
    let (store, backing) = open(kind, &options, fixture_clients()).await;
    let clock = ManualClock::new(T0);
    Engine {
        server: server(&clock, 42, adjust),
        store,
        clock,
        backing,
    }
}

/// Sends `request` through a traced store; returns the reply and the trace.
async fn traced(
    e: &Engine,
    request: &Request,
) -> (tollgate_conformance_tests::Reply, Vec<(String, u64)>) {
    let t = Traced::new(&e.store);
    let reply = e.server.token_async(request, &t, &TestUsers).await.into();
    (reply, t.take())
}

fn trace(calls: &[(&str, u64)]) -> Vec<(String, u64)> {
    calls.iter().map(|(c, n)| ((*c).to_string(), *n)).collect()
}

fn total(calls: &[(String, u64)]) -> u64 {
    calls.iter().map(|(_, n)| n).sum()
}

async fn a_refresh_is_two_statements(kind: Kind) {
    let e = warm_engine(kind, |_| {}).await;

    // Code exchange: the code lookup and one commit.
    let code = mint_code(&e.server, &e.store, "openid offline_access").await;
    let (first, calls) = traced(&e, &code_request(&code)).await;
    let first = first.ok();
    assert_eq!(
        calls,
        trace(&[("client", 0), ("code", 1), ("commit RedeemCode", 1)])
    );

    // Refresh with rotation (successor sealed for the grace window): the token lookup and
    // ONE commit statement.
    let (second, calls) = traced(&e, &refresh_request(&first.refresh_token())).await;
    let second = second.ok();
    assert_eq!(
        calls,
        trace(&[
            ("client", 0),
            ("refresh_token", 1),
            ("commit RotateRefresh", 1)
        ]),
        "{kind:?}"
    );
    assert!(total(&calls) <= 2);

    // And again from the successor: the steady state.
    let (third, calls) = traced(&e, &refresh_request(&second.refresh_token())).await;
    let third = third.ok();
    assert_eq!(
        calls,
        trace(&[
            ("client", 0),
            ("refresh_token", 1),
            ("commit RotateRefresh", 1)
        ])
    );

    // A grace replay of the rotated token: the lookup alone (with no `max_reuse` there is
    // no replay count to claim; with one, the claim is one more statement).
    e.advance(5);
    let (replay, calls) = traced(&e, &refresh_request(&second.refresh_token())).await;
    assert_eq!(replay.ok().response, third.response, "the same successor");
    assert_eq!(calls, trace(&[("client", 0), ("refresh_token", 1)]));

    // Reuse after the grace window: the lookup and the family's revocation.
    e.advance(60);
    let (reused, calls) = traced(&e, &refresh_request(&first.refresh_token())).await;
    reused.assert_error(400, "invalid_grant");
    assert_eq!(
        calls,
        trace(&[
            ("client", 0),
            ("refresh_token", 1),
            ("commit RevokeFamily", 1)
        ])
    );

    // Client credentials: the issuance alone.
    let cc = Request::form_post("grant_type=client_credentials&scope=api:read")
        .with_header("Authorization", &basic("C1", C1_SECRET));
    let (issued, calls) = traced(&e, &cc).await;
    issued.ok();
    assert_eq!(calls, trace(&[("client", 0), ("commit Issue", 1)]));
}

async fn a_static_refresh_is_two_statements(kind: Kind) {
    let e = warm_engine(kind, |c| {
        c.policies.fallback = TokenPolicy {
            rotation: RotationMode::Static,
            ..TokenPolicy::default()
        }
    })
    .await;
    let first = e.c1_tokens("offline_access").await.ok();
    for _ in 0..2 {
        e.advance(10);
        let (again, calls) = traced(&e, &refresh_request(&first.refresh_token())).await;
        assert_eq!(again.ok().refresh_token(), first.refresh_token(), "static");
        assert_eq!(
            calls,
            trace(&[
                ("client", 0),
                ("refresh_token", 1),
                ("commit UseStaticRefresh", 1)
            ])
        );
    }
}

macro_rules! on_each_backend {
    ($($name:ident => $body:ident;)*) => {
        mod sqlite_memory {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { $body(Kind::SqliteMemory).await })*
        }
        mod sqlite_file {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { $body(Kind::SqliteFile).await })*
        }
        mod postgres {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { $body(Kind::Postgres).await })*
        }
    };
}

on_each_backend! {
    a_refresh_with_rotation_is_a_lookup_and_one_commit_statement => a_refresh_is_two_statements;
    a_static_refresh_is_a_lookup_and_one_commit_statement => a_static_refresh_is_two_statements;
}

// ---------------------------------------------------------------------------------------
// A failed precondition writes nothing.

fn client() -> ClientId {
    ClientId::new("C1").expect("id")
}

fn family(n: u8) -> FamilyRecord {
    FamilyRecord {
        id: FamilyId([n; 16]),
        client_id: client(),
        subject: Some(Subject::new("alice")),
        scope: Scope::parse("offline_access").expect("scope"),
        grant_type: GrantType::AuthorizationCode,
        created_at: T0,
        expires_at: None,
        revoked_at: None,
    }
}

fn refresh(name: &str, f: &FamilyRecord) -> Arc<RefreshTokenRecord> {
    Arc::new(RefreshTokenRecord {
        hash: TokenHash::of(name),
        family: f.id,
        client_id: client(),
        scope: f.scope.clone(),
        issued_at: T0,
        idle_expires_at: Some(UnixTime(T0.0 + 3600)),
        state: RefreshState::Active,
    })
}

fn access(name: &str, f: &FamilyRecord) -> Arc<AccessTokenRecord> {
    Arc::new(AccessTokenRecord {
        hash: TokenHash::of(name),
        family: f.id,
        client_id: client(),
        subject: Some("alice".into()),
        scope: f.scope.clone(),
        issued_at: T0,
        expires_at: UnixTime(T0.0 + 3600),
        revoked_at: None,
    })
}

fn issuance(n: u8, rt: &str, at: &str) -> Issuance {
    let f = family(n);
    Issuance {
        refresh: Some(refresh(rt, &f)),
        access: access(at, &f),
        family: Arc::new(f),
    }
}

fn code(name: &str) -> Arc<CodeRecord> {
    Arc::new(CodeRecord {
        hash: TokenHash::of(name),
        client_id: client(),
        redirect_uri: "https://rp.test/cb".into(),
        redirect_uri_sent: true,
        pkce: None,
        scope: Scope::parse("offline_access").expect("scope"),
        nonce: None,
        subject: Subject::new("alice"),
        issued_at: T0,
        expires_at: UnixTime(T0.0 + 60),
        redeemed_into: None,
    })
}

fn rotate(old: &str, rt: &str, at: &str, f: &FamilyRecord) -> Commit {
    Commit::RotateRefresh {
        old: TokenHash::of(old),
        at: UnixTime(T0.0 + 1),
        successor: Some(tollgate::seal::SealedResponse(vec![1, 2, 3])),
        refresh: Some(refresh(rt, f)),
        access: access(at, f),
    }
}

/// What the database holds, as counts read through a connection of its own.
const COUNTS: &[&str] = &[
    "SELECT count(*) FROM families",
    "SELECT count(*) FROM families WHERE revoked_at IS NOT NULL",
    "SELECT count(*) FROM refresh_tokens",
    "SELECT count(*) FROM refresh_tokens WHERE rotated_at IS NOT NULL",
    "SELECT count(*) FROM refresh_tokens WHERE successor IS NOT NULL",
    "SELECT count(*) FROM refresh_tokens WHERE idle_expires_at > 1700003600",
    "SELECT count(*) FROM access_tokens",
    "SELECT count(*) FROM codes",
    "SELECT count(*) FROM codes WHERE redeemed_into IS NOT NULL",
];

async fn counts(backing: &Backing) -> Vec<i64> {
    let mut out = Vec::new();
    match backing {
        Backing::File(db) => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url())
                .await
                .expect("second connection");
            for sql in COUNTS {
                out.push(
                    sqlx::query(sql)
                        .fetch_one(&mut conn)
                        .await
                        .expect("count")
                        .get(0),
                );
            }
            let _ = conn.close().await;
        }
        Backing::Schema(schema) => {
            let mut conn = sqlx::PgConnection::connect_with(&schema.connect_options())
                .await
                .expect("second connection");
            for sql in COUNTS {
                out.push(
                    sqlx::query(sql)
                        .fetch_one(&mut conn)
                        .await
                        .expect("count")
                        .get(0),
                );
            }
            let _ = conn.close().await;
        }
        Backing::Nothing => unreachable!("a database another connection can open"),
    }
    out
}

async fn state(store: &SqlStore, rt: &str) -> Option<RefreshState> {
    AsyncStore::refresh_token(store, &TokenHash::of(rt))
        .await
        .expect("lookup")
        .map(|v| v.token.state.clone())
}

async fn failed_preconditions_write_nothing(kind: Kind) {
    let (store, backing) = open(kind, &SqlOptions::default(), Vec::new()).await;
    let s = &store;
    let commit = |c: Commit| async move { AsyncStore::commit(s, c).await.expect("commit") };
    // Family 1: rt-a active. Family 2: revoked. Family 3: rt-c rotated into rt-c2. Code 1
    // redeemed into family 4; code 2 unredeemed.
    for c in [
        Commit::Issue(issuance(1, "rt-a", "at-a")),
        Commit::Issue(issuance(2, "rt-b", "at-b")),
        Commit::RevokeFamily {
            family: family(2).id,
            at: T0,
        },
        Commit::Issue(issuance(3, "rt-c", "at-c")),
        rotate("rt-c", "rt-c2", "at-c2", &family(3)),
        Commit::StoreCode(code("code-1")),
        Commit::RedeemCode {
            code: TokenHash::of("code-1"),
            issuance: issuance(4, "rt-d", "at-d"),
        },
        Commit::StoreCode(code("code-2")),
    ] {
        assert_eq!(commit(c).await, CommitOutcome::Applied);
    }
    let before = counts(&backing).await;
    assert_eq!(before, [4, 1, 5, 1, 1, 0, 5, 2, 1], "the setup");

    let (f1, f3) = (family(1), family(3));
    let failing = [
        (
            "rotating a rotated token",
            rotate("rt-c", "rt-x1", "at-x1", &f3),
        ),
        (
            "rotating in a revoked family",
            rotate("rt-b", "rt-x2", "at-x2", &family(2)),
        ),
        (
            "rotating an unknown token",
            rotate("rt-nope", "rt-x3", "at-x3", &f1),
        ),
        // The trigger's UPDATE of rt-a runs, then the insert hits an existing key: the
        // whole statement, the UPDATE included, must roll back.
        (
            "a rotation whose new refresh token exists",
            rotate("rt-a", "rt-c2", "at-x4", &f1),
        ),
        (
            "a rotation whose new access token exists",
            rotate("rt-a", "rt-x5", "at-a", &f1),
        ),
        (
            "a static use of a rotated token",
            Commit::UseStaticRefresh {
                token: TokenHash::of("rt-c"),
                idle_expires_at: Some(UnixTime(T0.0 + 7200)),
                access: access("at-x6", &f3),
            },
        ),
        (
            "a static use whose access token exists",
            Commit::UseStaticRefresh {
                token: TokenHash::of("rt-a"),
                idle_expires_at: Some(UnixTime(T0.0 + 7200)),
                access: access("at-a", &f1),
            },
        ),
        (
            "redeeming a redeemed code",
            Commit::RedeemCode {
                code: TokenHash::of("code-1"),
                issuance: issuance(5, "rt-x7", "at-x7"),
            },
        ),
        (
            "redeeming into an existing family",
            Commit::RedeemCode {
                code: TokenHash::of("code-2"),
                issuance: issuance(1, "rt-x8", "at-x8"),
            },
        ),
        (
            "redeeming with an existing refresh token",
            Commit::RedeemCode {
                code: TokenHash::of("code-2"),
                issuance: issuance(6, "rt-a", "at-x9"),
            },
        ),
        (
            "issuing an existing family",
            Commit::Issue(issuance(3, "rt-x10", "at-x10")),
        ),
        (
            "issuing an existing access token",
            Commit::Issue(issuance(7, "rt-x11", "at-a")),
        ),
    ];
    for (what, c) in failing {
        assert_eq!(commit(c).await, CommitOutcome::Conflict, "{what}");
        assert_eq!(counts(&backing).await, before, "{what} wrote something");
        assert_eq!(state(s, "rt-a").await, Some(RefreshState::Active), "{what}");
    }
    let code2 = AsyncStore::code(s, &TokenHash::of("code-2"))
        .await
        .expect("lookup")
        .expect("code 2");
    assert_eq!(code2.redeemed_into, None, "code 2 is still unredeemed");

    // Positive control: the counts do see a rotation that applies.
    assert_eq!(
        commit(rotate("rt-a", "rt-a2", "at-a2", &f1)).await,
        CommitOutcome::Applied
    );
    assert_eq!(counts(&backing).await, [4, 1, 6, 2, 2, 0, 6, 2, 1]);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_failed_preconditions_write_nothing() {
    failed_preconditions_write_nothing(Kind::SqliteFile).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_failed_preconditions_write_nothing() {
    failed_preconditions_write_nothing(Kind::Postgres).await;
}
