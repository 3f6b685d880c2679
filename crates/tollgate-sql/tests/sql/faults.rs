//! Issue point 6, faults. PostgreSQL: a backend killed with `pg_terminate_backend` while
//! idle between requests, or in the middle of a commit; the database going away and coming
//! back (through a TCP proxy this test stops and restarts). Each failing request is a `503
//! temporarily_unavailable`, nothing is half-written, no token is issued twice, a retry
//! succeeds, and the store recovers by itself. SQLite: a reopened file keeps every token,
//! and after a `SIGKILL` of the process nothing it had answered `200` is lost.

use std::io::BufRead as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection as _, Row as _};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tollgate::store::{AsyncStore, Commit, RefreshState};
use tollgate::token_flow::{Answer, Step};
use tollgate::{ManualClock, TokenHash};
use tollgate_conformance_tests::{fixture_clients, Reply, T0};
use tollgate_sql::{SqlOptions, SqlStore};

use crate::common::{
    code_request, mint_code, pg_url, refresh_request, reopen, send, server, Backing, Engine, Kind,
    PgSchema, TempDb,
};

/// A single-connection store in its own schema, so the test knows which backend to kill.
async fn one_connection_engine() -> (Engine, PgSchema) {
    let schema = PgSchema::create().await;
    let options = SqlOptions {
        max_connections: 1,
        ..SqlOptions::default()
    };
    let store = SqlStore::postgres(schema.connect_options(), &options)
        .await
        .expect("open PostgreSQL");
    for c in fixture_clients() {
        store.insert_client(c).await.expect("client");
    }
    let clock = ManualClock::new(T0);
    let engine = Engine {
        server: server(&clock, 42, |_| {}),
        store,
        clock,
        backing: Backing::Nothing,
    };
    (engine, schema)
}

/// Terminates every backend of the store in `schema` (its `application_name`) from
/// another connection, and waits until they are gone.
async fn kill_backends(schema: &PgSchema, only_waiting_on_lock: bool) -> usize {
    let mut admin = sqlx::PgConnection::connect(&pg_url()).await.expect("admin");
    let deadline = Instant::now() + Duration::from_secs(10);
    let killed = loop {
        let rows = sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = $1 AND ($2 = false OR wait_event_type = 'Lock')",
        )
        .bind(&schema.name)
        .bind(only_waiting_on_lock)
        .fetch_all(&mut admin)
        .await
        .expect("terminate");
        if !rows.is_empty() {
            break rows.len();
        }
        assert!(Instant::now() < deadline, "no backend to kill");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    loop {
        let left: i64 = sqlx::query(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 \
             AND ($2 = false OR wait_event_type = 'Lock')",
        )
        .bind(&schema.name)
        .bind(only_waiting_on_lock)
        .fetch_one(&mut admin)
        .await
        .and_then(|r| r.try_get(0))
        .expect("count");
        if left == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the backend did not go");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = admin.close().await;
    killed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backend_killed_while_idle_is_replaced_without_a_failed_request() {
    let (e, schema) = one_connection_engine().await;
    let first = e.c1_tokens("openid offline_access").await.ok();
    let second = e.c1_refresh(&first.refresh_token()).await.ok();
    assert_eq!(kill_backends(&schema, false).await, 1);
    // The pooled connection is dead. The next request's first statement is a lookup,
    // which is retried once on a new connection, so the client never sees the fault.
    let before = e.store.statements_executed();
    let third = e.c1_refresh(&second.refresh_token()).await.ok();
    // Lookup, its retry, commit (or 2 if a slow machine let the idle ping find it first).
    let sent = e.store.statements_executed() - before;
    assert!(matches!(sent, 2 | 3), "{sent} statements");
    assert_ne!(third.refresh_token(), second.refresh_token());
    e.c1_refresh(&third.refresh_token()).await.ok();
}

/// Drives a refresh step by step, running `at_commit` concurrently with the commit.
async fn refresh_with_fault_at_commit<F>(
    e: &Engine,
    rt: &str,
    at_commit: F,
) -> (tollgate::Response, Commit)
where
    F: std::future::Future<Output = ()>,
{
    let request = refresh_request(rt);
    let (mut flow, mut step) = e.server.token_flow(&request);
    let mut at_commit = Some(at_commit);
    let mut seen = None;
    loop {
        step = match step {
            Step::Done(response) => {
                return (response, seen.expect("the flow committed"));
            }
            Step::LoadClient(id) => flow.answer(Answer::from_store(
                AsyncStore::client(&e.store, &id).await,
                Answer::Client,
            )),
            Step::LoadRefreshToken(h) => flow.answer(Answer::from_store(
                AsyncStore::refresh_token(&e.store, &h).await,
                Answer::RefreshToken,
            )),
            Step::Commit(c) => {
                seen = Some(c.clone());
                let fault = at_commit.take().expect("one commit");
                let (result, ()) = tokio::join!(AsyncStore::commit(&e.store, c), fault);
                flow.answer(Answer::from_store(result, Answer::Committed))
            }
            other => panic!("unexpected step {other:?}"),
        };
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backend_killed_mid_commit_answers_503_writes_nothing_and_a_retry_succeeds() {
    let (e, schema) = one_connection_engine().await;
    let first = e.c1_tokens("openid offline_access").await.ok();
    let rt = first.refresh_token();

    // Another session holds the token's row lock, so the rotation statement is in flight
    // (waiting on the lock) when its backend is terminated.
    let mut locker =
        sqlx::PgConnection::connect_with(&schema.connect_options().application_name("locker"))
            .await
            .expect("locker");
    sqlx::query("BEGIN")
        .execute(&mut locker)
        .await
        .expect("begin");
    sqlx::query("SELECT 1 FROM refresh_tokens WHERE hash = $1 FOR UPDATE")
        .bind(&TokenHash::of(&rt).0[..])
        .fetch_one(&mut locker)
        .await
        .expect("lock the row");
    let (response, commit) = refresh_with_fault_at_commit(&e, &rt, async {
        assert_eq!(kill_backends(&schema, true).await, 1);
    })
    .await;
    sqlx::query("ROLLBACK")
        .execute(&mut locker)
        .await
        .expect("rollback");
    let reply = Reply::from(response);
    reply.assert_error(503, "temporarily_unavailable");

    // Nothing of the interrupted rotation was written.
    let Commit::RotateRefresh {
        refresh: Some(new_rt),
        access: new_at,
        ..
    } = commit
    else {
        panic!("expected a rotation, got {commit:?}");
    };
    assert!(AsyncStore::refresh_token(&e.store, &new_rt.hash)
        .await
        .expect("lookup")
        .is_none());
    assert!(AsyncStore::access_token(&e.store, &new_at.hash)
        .await
        .expect("lookup")
        .is_none());
    let old = AsyncStore::refresh_token(&e.store, &TokenHash::of(&rt))
        .await
        .expect("lookup")
        .expect("token");
    assert_eq!(old.token.state, RefreshState::Active, "not half-rotated");

    // The retry rotates once; a retry of the retry (inside the grace window) gets the very
    // same response: one successor, never two.
    let retry = e.c1_refresh(&rt).await.ok();
    assert_ne!(TokenHash::of(&retry.refresh_token()), new_rt.hash);
    let again = e.c1_refresh(&rt).await.ok();
    assert_eq!(again.response, retry.response);
    e.c1_refresh(&retry.refresh_token()).await.ok();
    let _ = locker.close().await;
}

/// A TCP proxy in front of PostgreSQL that the test can take down (closing every
/// connection and refusing new ones) and bring back on the same port.
struct Proxy {
    listen: SocketAddr,
    target: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let proxy = Proxy {
            listen: listener.local_addr().expect("addr"),
            target,
            tasks: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&self, listener: TcpListener) {
        let (tasks, target) = (Arc::clone(&self.tasks), self.target);
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().expect("tasks").push(pipe);
            }
        });
        self.tasks.lock().expect("tasks").push(accept);
    }

    /// The database "stops": every connection is cut and new ones are refused.
    async fn stop(&self) {
        let tasks: Vec<_> = self.tasks.lock().expect("tasks").drain(..).collect();
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
    }

    /// The database is back.
    fn resume(&self) {
        let socket = TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        socket.bind(self.listen).expect("rebind");
        self.serve(socket.listen(64).expect("listen"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_answers_503_and_the_store_recovers_by_itself() {
    let schema = PgSchema::create().await;
    let direct: PgConnectOptions = pg_url().parse().expect("url");
    let target: SocketAddr = format!("127.0.0.1:{}", direct.get_port())
        .parse()
        .expect("target");
    let proxy = Proxy::start(target).await;
    let options = SqlOptions {
        acquire_timeout: Duration::from_millis(500),
        ..SqlOptions::default()
    };
    let connect = schema
        .connect_options()
        .host("127.0.0.1")
        .port(proxy.listen.port());
    let store = SqlStore::postgres(connect, &options)
        .await
        .expect("open through the proxy");
    for c in fixture_clients() {
        store.insert_client(c).await.expect("client");
    }
    let clock = ManualClock::new(T0);
    let server = server(&clock, 42, |_| {});
    let code = mint_code(&server, &store, "openid offline_access").await;
    let first = send(&server, &store, &code_request(&code)).await.ok();
    let second = send(&server, &store, &refresh_request(&first.refresh_token()))
        .await
        .ok();

    proxy.stop().await;
    for _ in 0..3 {
        send(&server, &store, &refresh_request(&second.refresh_token()))
            .await
            .assert_error(503, "temporarily_unavailable");
    }
    let code = mint_code_while_down(&server, &store).await;

    proxy.resume();
    // Back: the same token works — the failed attempts wrote nothing — and the pool has
    // reconnected without being told.
    let third = send(&server, &store, &refresh_request(&second.refresh_token()))
        .await
        .ok();
    send(&server, &store, &refresh_request(&third.refresh_token()))
        .await
        .ok();
    assert!(code.is_err(), "storing a code while down failed");
    proxy.stop().await;
    drop(schema);
}

/// Storing a code while the database is down fails with a transient error.
async fn mint_code_while_down(
    server: &tollgate::Server,
    store: &SqlStore,
) -> Result<(), tollgate::StoreError> {
    let minted = server
        .mint_code(tollgate::CodeGrant {
            client_id: tollgate::ClientId::new("C1").expect("id"),
            redirect_uri: tollgate_conformance_tests::C1_REDIRECT.into(),
            redirect_uri_sent: true,
            scope: tollgate::Scope::parse("openid").expect("scope"),
            pkce: None,
            nonce: None,
            subject: tollgate::Subject::new("alice"),
        })
        .expect("mint");
    let e = AsyncStore::commit(store, Commit::StoreCode(minted.record))
        .await
        .expect_err("the database is down");
    assert_eq!(e.kind, tollgate::store::StoreErrorKind::Unavailable);
    Err(e)
}

async fn closed_store_answers_503(kind: Kind) {
    let e = Engine::new(kind, |_| {}).await;
    let first = e.c1_tokens("openid offline_access").await.ok();
    e.store.close().await;
    e.c1_refresh(&first.refresh_token())
        .await
        .assert_error(503, "temporarily_unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_closed_store_answers_503() {
    closed_store_answers_503(Kind::SqliteFile).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_closed_store_answers_503() {
    closed_store_answers_503(Kind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reopened_file_keeps_every_token() {
    let Engine {
        server,
        store,
        clock,
        backing,
    } = Engine::new(Kind::SqliteFile, |_| {}).await;
    let e = Engine {
        server,
        store,
        clock,
        backing: Backing::Nothing,
    };
    let first = e.c1_tokens("openid offline_access").await.ok();
    let second = e.c1_refresh(&first.refresh_token()).await.ok();
    let code = e.c1_code("openid").await;
    e.store.close().await;
    drop(e.store);

    // "Restart": a new store on the same file.
    let store = reopen(&backing, &SqlOptions::default())
        .await
        .expect("a file");
    let e = Engine {
        server: e.server,
        store,
        clock: e.clock,
        backing,
    };
    assert!(e.access_active(&second.access_token()).await);
    assert!(!e.access_active("never-issued").await);
    // The sealed successor survived too: a grace retry gets the same bytes.
    let replay = e.c1_refresh(&first.refresh_token()).await.ok();
    assert_eq!(replay.response, second.response);
    e.c1_refresh(&second.refresh_token()).await.ok();
    e.send(&code_request(&code)).await.ok();
}

/// The environment variable that makes [`sqlite_sigkill_child`] act as the killed server.
const CHILD_DB: &str = "TOLLGATE_SQL_SIGKILL_DB";

/// Not a test of its own: run by [`sqlite_sigkill_loses_nothing_that_was_answered`] in a
/// child process (and a no-op otherwise). It refreshes one chain as fast as it can and
/// prints each answered token after the `200`, until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigkill_child() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let store = SqlStore::open(&format!("sqlite:{path}"))
        .await
        .expect("open");
    for c in fixture_clients() {
        store.insert_client(c).await.expect("client");
    }
    let clock = ManualClock::new(T0);
    let server = server(&clock, 7, |_| {});
    let code = mint_code(&server, &store, "openid offline_access").await;
    let mut reply = send(&server, &store, &code_request(&code)).await.ok();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        println!(
            "answered {} {}",
            reply.refresh_token(),
            reply.access_token()
        );
        reply = send(&server, &store, &refresh_request(&reply.refresh_token()))
            .await
            .ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigkill_loses_nothing_that_was_answered() {
    let db = TempDb::new();
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "faults::sqlite_sigkill_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &db.path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the child");
    let stdout = child.stdout.take().expect("stdout");
    let answered = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut answered = Vec::new();
        // Let it answer a good number, then SIGKILL it mid-stride.
        while answered.len() < 40 {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(rest) = line.strip_prefix("answered ") {
                        answered.push(rest.to_string());
                    }
                }
                _ => break,
            }
        }
        child.kill().expect("SIGKILL");
        // Whatever it printed before it died was answered too.
        for line in lines.map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("answered ") {
                answered.push(rest.to_string());
            }
        }
        let _ = child.wait();
        answered
    })
    .await
    .expect("reader");
    assert!(
        answered.len() >= 40,
        "the child answered {}",
        answered.len()
    );

    let store = SqlStore::open(&db.url())
        .await
        .expect("reopen after SIGKILL");
    for line in &answered {
        let (rt, at) = line.split_once(' ').expect("two tokens");
        assert!(
            AsyncStore::refresh_token(&store, &TokenHash::of(rt))
                .await
                .expect("lookup")
                .is_some(),
            "an answered refresh token was lost"
        );
        assert!(
            AsyncStore::access_token(&store, &TokenHash::of(at))
                .await
                .expect("lookup")
                .is_some(),
            "an answered access token was lost"
        );
    }
    // The last answered token still refreshes (or, if the child rotated it before dying
    // without printing, replays that rotation inside the grace window).
    let clock = ManualClock::new(T0);
    let server = server(&clock, 8, |_| {});
    let (last_rt, _) = answered
        .last()
        .and_then(|l| l.split_once(' '))
        .expect("a last token");
    send(&server, &store, &refresh_request(last_rt)).await.ok();
}
