//! Durable stores through the real server process ("Durable stores", points 5–7): the
//! `tollgate-server` program (this package's `tollgate-server-under-test`, whose `main` is
//! the real binary's — see `src/process.rs`) started as child processes on ephemeral ports.
//!
//! - PostgreSQL, two processes on one database (a schema of the test's own): concurrent
//!   refreshes of one token and concurrent redemptions of one code across both servers
//!   happen once, never a `5xx`; a token from one server introspects on the other; a
//!   revocation on one holds on the other.
//! - SQLite: tokens survive a graceful restart, and after a `SIGKILL` every token that was
//!   answered `200` still works.
//! - PostgreSQL going away while the server runs (a TCP proxy the test stops; the shared
//!   database keeps running): `503 temporarily_unavailable`, then recovery without a
//!   restart. Unreachable at start: retried, then a clear exit naming `store`.
//! - The purge task's batches (in process, memory store).
//!
//! PostgreSQL must run at 127.0.0.1:5432 with trust authentication and a database `test`
//! (`.ci/run` starts it; `TOLLGATE_TEST_PG_URL` points elsewhere).

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use tollgate_http_tests::process::{
    PgSchema, Proxy, ServerProcess, Spawned, TempDir, PROCESS_WAIT,
};
use tollgate_http_tests::*;

const BIN: &str = env!("CARGO_BIN_EXE_tollgate-server-under-test");

/// Both servers of a pair say this issuer, as instances behind one load balancer would.
const ISSUER: &str = "http://login.tollgate.test";

/// The fixture configuration on `store`, listening on an ephemeral port, with `extra` (TOML
/// tables) after it.
fn config(dir: &TempDir, name: &str, store: &str, tables: &str) -> std::path::PathBuf {
    let extra = format!("listen = \"127.0.0.1:0\"\n{tables}");
    dir.write(name, &fixture_config_with_store(ISSUER, store, &extra))
}

/// The password grant for alice through `PW`, with a refresh token.
fn password_grant(s: &Site) -> Reply {
    s.token(
        "PW",
        PW_SECRET,
        &format!(
            "grant_type=password&username=alice&password={ALICE_PASSWORD}&scope=openid+offline_access"
        ),
    )
}

fn refresh(s: &Site, rt: &str) -> Reply {
    s.token(
        "PW",
        PW_SECRET,
        &format!("grant_type=refresh_token&refresh_token={}", enc(rt)),
    )
}

/// Whether `token` is active, as introspection by C1 at `s` says.
fn active(s: &Site, token: &str) -> bool {
    let r = s.post_basic(
        "/introspect",
        "C1",
        C1_SECRET,
        &format!("token={}", enc(token)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json["active"] == serde_json::Value::Bool(true)
}

/// Two server processes on one PostgreSQL schema, started at the same time (so both run
/// the migrations at once, too).
struct Pair {
    servers: [ServerProcess; 2],
    _schema: PgSchema,
    _dir: TempDir,
}

impl Pair {
    fn start(tables: &str) -> Pair {
        let schema = PgSchema::create();
        let dir = TempDir::new("pair");
        let store = schema.store_url(None);
        let a = Spawned::new(BIN, &config(&dir, "a.toml", &store, tables));
        let b = Spawned::new(BIN, &config(&dir, "b.toml", &store, tables));
        let pair = Pair {
            servers: [a.ready(), b.ready()],
            _schema: schema,
            _dir: dir,
        };
        // They share the database (else a race "won once" would prove nothing): what one
        // issues, the other knows.
        for (from, to) in [(0, 1), (1, 0)] {
            let issued = pair.servers[from]
                .token("SVC", SVC_SECRET, "grant_type=client_credentials")
                .ok();
            assert!(active(&pair.servers[to], &issued.access_token()));
        }
        pair
    }
}

/// Sends `n` requests at once, alternating between the pair's servers; `make` builds each
/// on the server it goes to.
fn race(
    pair: &Pair,
    n: usize,
    make: impl Fn(&Site) -> reqwest::blocking::RequestBuilder + Sync,
) -> Vec<Reply> {
    let barrier = Barrier::new(n);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let site: &Site = &pair.servers[i % 2];
                let request = make(site);
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    site.send(request)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("racer"))
            .collect()
    })
}

/// Exactly one `200`, the rest `400 invalid_grant`.
#[track_caller]
fn one_winner(replies: &[Reply]) {
    let wins = replies.iter().filter(|r| r.status == 200).count();
    for r in replies.iter().filter(|r| r.status != 200) {
        r.assert_error(400, "invalid_grant");
    }
    assert_eq!(
        wins,
        1,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
}

#[test]
fn postgres_two_servers_32_concurrent_refreshes_of_one_token_have_one_winner() {
    let pair = Pair::start("[policies.fallback]\ngrace = 0\n");
    for round in 0..3 {
        let rt = password_grant(&pair.servers[round % 2])
            .ok()
            .refresh_token();
        let replies = race(&pair, 32, |s| {
            s.http()
                .post(s.url("/token"))
                .header("Authorization", basic("PW", PW_SECRET))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!(
                    "grant_type=refresh_token&refresh_token={}",
                    enc(&rt)
                ))
        });
        one_winner(&replies);
    }
}

#[test]
fn postgres_two_servers_redeem_one_code_once() {
    let pair = Pair::start("");
    for round in 0..4 {
        // The code comes from a real sign-in and consent on one server…
        let code = pair.servers[round % 2].code("C1", C1_REDIRECT, "openid offline_access", true);
        // … and both servers are asked to redeem it at the same moment.
        let replies = race(&pair, 2, |s| {
            s.http()
                .post(s.url("/token"))
                .header("Authorization", basic("C1", C1_SECRET))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(format!(
                    "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
                    enc(C1_REDIRECT)
                ))
        });
        one_winner(&replies);
    }
}

#[test]
fn postgres_two_servers_see_each_others_tokens_and_revocations() {
    let pair = Pair::start("");
    let [a, b] = &pair.servers;
    let first = password_grant(a).ok();
    assert!(active(b, &first.access_token()), "issued on A, active on B");
    let info = b.send(
        b.http()
            .get(b.url("/userinfo"))
            .bearer_auth(first.access_token()),
    );
    assert_eq!(info.ok().str("sub"), Some("alice"));

    // Refreshed on B, the new pair is A's too.
    let second = refresh(b, &first.refresh_token()).ok();
    assert!(active(a, &second.access_token()));
    let client_credentials = b
        .token("SVC", SVC_SECRET, "grant_type=client_credentials")
        .ok();
    assert!(active(a, &client_credentials.access_token()));

    // Revoked on A: refused on B, with its access tokens.
    let revoked = a.post_basic(
        "/revoke",
        "PW",
        PW_SECRET,
        &format!("token={}", enc(&second.refresh_token())),
    );
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    refresh(b, &second.refresh_token()).assert_error(400, "invalid_grant");
    assert!(!active(b, &second.access_token()));
    // And an access token revoked on B is inactive on A.
    let revoked = b.post_basic(
        "/revoke",
        "SVC",
        SVC_SECRET,
        &format!("token={}", enc(&client_credentials.access_token())),
    );
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert!(!active(a, &client_credentials.access_token()));
}

#[test]
fn sqlite_tokens_issued_before_a_restart_work_after_it() {
    let dir = TempDir::new("sqlite-restart");
    // Relative to the configuration file's directory.
    let path = config(&dir, "tollgate.toml", "sqlite:data/tollgate.db", "");
    let server = ServerProcess::start(BIN, &path);
    let first = password_grant(&server).ok();
    let second = refresh(&server, &first.refresh_token()).ok();
    let service = server
        .token("SVC", SVC_SECRET, "grant_type=client_credentials")
        .ok();
    let code = server.code("C1", C1_REDIRECT, "openid", true);
    let (status, log) = server.terminate();
    assert!(status.success(), "a graceful stop: {log}");

    let file = dir.path.join("data").join("tollgate.db");
    assert!(file.exists(), "the database is beside the configuration");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("db").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by the server's user only");
    }

    let server = ServerProcess::start(BIN, &path);
    assert!(active(&server, &second.access_token()));
    assert!(active(&server, &service.access_token()));
    refresh(&server, &second.refresh_token()).ok();
    // A code minted before the restart is still good (within its lifetime).
    server
        .token(
            "C1",
            C1_SECRET,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
                enc(C1_REDIRECT)
            ),
        )
        .ok();
    let (status, _) = server.terminate();
    assert!(status.success());
}

#[test]
fn sqlite_after_sigkill_every_token_answered_200_still_works() {
    let dir = TempDir::new("sqlite-kill");
    let path = config(&dir, "tollgate.toml", "sqlite:tollgate.db", "");
    let server = ServerProcess::start(BIN, &path);
    let site = Site::new(&server.origin, ISSUER);
    let answered = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (enough_tx, enough_rx) = std::sync::mpsc::channel();
    let issuer = {
        let answered = Arc::clone(&answered);
        std::thread::spawn(move || {
            // Issue as fast as the server answers, until it is gone; record each 200.
            for n in 0.. {
                let reply = if n % 2 == 0 {
                    site.http()
                        .post(site.url("/token"))
                        .header("Authorization", basic("PW", PW_SECRET))
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .body(format!(
                            "grant_type=password&username=alice&password={ALICE_PASSWORD}&scope=openid+offline_access"
                        ))
                        .send()
                } else {
                    site.http()
                        .post(site.url("/token"))
                        .header("Authorization", basic("SVC", SVC_SECRET))
                        .header("Content-Type", "application/x-www-form-urlencoded")
                        .body("grant_type=client_credentials")
                        .send()
                };
                let Ok(reply) = reply.map(Reply::from) else {
                    return;
                };
                // A 200 whose body did not arrive whole was not answered.
                if let (200, Some(access)) = (reply.status, reply.str("access_token")) {
                    let mut answered = answered.lock().expect("answered");
                    let refresh_token = reply.str("refresh_token").map(str::to_string);
                    answered.push((access.to_string(), refresh_token));
                    if answered.len() == 40 {
                        let _ = enough_tx.send(());
                    }
                }
            }
        })
    };
    enough_rx
        .recv_timeout(PROCESS_WAIT)
        .expect("40 tokens answered");
    server.kill(); // SIGKILL, mid-stride
    issuer.join().expect("issuer thread");
    let answered = answered.lock().expect("answered").clone();
    assert!(answered.len() >= 40);

    let server = ServerProcess::start(BIN, &path);
    for (access, refresh_token) in &answered {
        assert!(active(&server, access), "an answered access token was lost");
        if let Some(rt) = refresh_token {
            refresh(&server, rt).ok();
        }
    }
    let (status, _) = server.terminate();
    assert!(status.success());
}

#[test]
fn postgres_down_while_running_answers_503_and_recovers_without_a_restart() {
    let schema = PgSchema::create();
    let proxy = Proxy::start(PgSchema::pg_addr());
    let dir = TempDir::new("pg-down");
    let store = schema.store_url(Some(proxy.listen.port()));
    let path = config(
        &dir,
        "tollgate.toml",
        &store,
        "[database]\nacquire_timeout_ms = 500\n",
    );
    let server = ServerProcess::start(BIN, &path);
    let first = password_grant(&server).ok();

    proxy.stop();
    let unavailable = [
        refresh(&server, &first.refresh_token()),
        server.token("SVC", SVC_SECRET, "grant_type=client_credentials"),
        password_grant(&server),
    ];
    for r in &unavailable {
        r.assert_error(503, "temporarily_unavailable");
    }
    let introspection = server.post_basic(
        "/introspect",
        "C1",
        C1_SECRET,
        &format!("token={}", enc(&first.access_token())),
    );
    assert_eq!(introspection.status, 503, "{}", introspection.body);

    proxy.resume();
    // Back: the pool reconnects by itself. The token the failed refresh carried was not
    // touched, so it refreshes now.
    let deadline = Instant::now() + Duration::from_secs(20);
    let second = loop {
        let r = refresh(&server, &first.refresh_token());
        if r.status == 200 || Instant::now() > deadline {
            break r.ok();
        }
        r.assert_error(503, "temporarily_unavailable");
    };
    refresh(&server, &second.refresh_token()).ok();
    server
        .token("SVC", SVC_SECRET, "grant_type=client_credentials")
        .ok();
    assert!(active(&server, &first.access_token()));
    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
}

#[test]
fn postgres_unreachable_at_start_is_retried_then_the_start_fails_naming_store() {
    let schema = PgSchema::create();
    let dir = TempDir::new("pg-start");
    // A port nobody listens on (yet).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let store = schema.store_url(Some(port));

    // Nobody comes: after start_timeout the server gives up, naming the store.
    let gives_up = config(
        &dir,
        "gives-up.toml",
        &store,
        "[database]\nstart_timeout = 1\nacquire_timeout_ms = 200\n",
    );
    let mut spawned = Spawned::new(BIN, &gives_up);
    let (status, log) = spawned.wait_exit(PROCESS_WAIT);
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("retrying"), "retried: {log}");
    assert!(
        log.contains("tollgate-server: store: cannot open postgres://")
            && log.contains("gave up after"),
        "{log}"
    );

    // The database turns up while the server is retrying: it starts.
    let patient = config(
        &dir,
        "patient.toml",
        &store,
        "[database]\nstart_timeout = 60\nacquire_timeout_ms = 200\n",
    );
    let spawned = Spawned::new(BIN, &patient);
    assert!(
        spawned.wait_for_log("retrying", PROCESS_WAIT),
        "{}",
        spawned.log()
    );
    let _proxy = Proxy::start_on(([127, 0, 0, 1], port).into(), PgSchema::pg_addr());
    let server = spawned.ready();
    password_grant(&server).ok();
    let (status, _) = server.terminate();
    assert!(status.success());
}

#[test]
fn the_server_purges_expired_records_on_its_own() {
    let schema = PgSchema::create();
    let dir = TempDir::new("pg-purge");
    let path = config(
        &dir,
        "tollgate.toml",
        &schema.store_url(None),
        "[database]\npurge_interval = 1\n[policies.fallback]\naccess_token_ttl = 1\ngrace = 0\n",
    );
    let server = ServerProcess::start(BIN, &path);
    for _ in 0..3 {
        server
            .token("SVC", SVC_SECRET, "grant_type=client_credentials")
            .ok();
    }
    let count = || schema.count("access_tokens");
    assert_eq!(count(), 3);
    // The tokens expire after a second; the purge task, every second, removes them. This
    // waits on the table itself (bounded), not on a guess of the timing.
    let deadline = Instant::now() + PROCESS_WAIT;
    while count() > 0 {
        assert!(
            Instant::now() < deadline,
            "expired tokens were never purged"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
}

#[test]
fn purges_run_in_bounded_batches_until_one_comes_back_short() {
    let s = TestServer::start_with(Adapter::Hyper, "", "[database]\npurge_batch = 2\n");
    let tokens: Vec<String> = (0..5)
        .map(|_| {
            s.token("SVC", SVC_SECRET, "grant_type=client_credentials")
                .ok()
                .access_token()
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    assert_eq!(
        rt.block_on(s.app.purge_expired()).expect("purge"),
        0,
        "nothing expired yet"
    );
    s.advance(3601);
    // Five expired access tokens and their five grants, two records per batch: five full
    // batches and a short one, all in one purge.
    assert_eq!(rt.block_on(s.app.purge_expired()).expect("purge"), 10);
    assert_eq!(rt.block_on(s.app.purge_expired()).expect("purge"), 0);
    for t in tokens {
        assert!(!active(&s, &t));
    }
}
