//! Refresh with rotation on each durable store (issue point 8): whole requests through
//! `Server::token_async` — Basic client authentication, the refresh-token lookup, rotation
//! with the successor sealed for the default 30 s grace window, the commit — against
//! SQLite in a WAL file with `synchronous=FULL` (every commit fsyncs), SQLite in memory (the
//! same statements without the fsync), and PostgreSQL at 127.0.0.1:5432 (skipped with a
//! note when it is not running). Production random source, fixed clock.
//!
//! Each request presents the refresh token the previous response returned (the steady
//! state under rotation); only the `token_async` call is timed. Criterion reports the
//! median. After Criterion, a second pass records every request's latency for p50/p99 and
//! sequential throughput, runs eight chains at once for concurrent throughput, and counts
//! the SQL statements each refresh sent (`SqlStore::statements_executed`).
//!
//! ```sh
//! cargo bench -p tollgate-sql --bench refresh
//! ```

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use sqlx::{Connection as _, Executor as _};
use tollgate::store::{AsyncStore, Commit};
use tollgate::{
    ClientId, CodeGrant, ManualClock, NoPasswordUsers, Request, Scope, Server, ServerConfig,
    Subject,
};
use tollgate_conformance_tests::{basic, enc, fixture_clients, C1_REDIRECT, C1_SECRET, T0};
use tollgate_sql::{sqlx, SqlOptions, SqlStore};

const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The bench's own schema, so concurrent runs cannot collide.
fn schema() -> String {
    format!("tg_bench_refresh_{}", std::process::id())
}

struct Setup {
    name: &'static str,
    server: Arc<Server>,
    store: Arc<SqlStore>,
}

fn refresh_request(rt: &str) -> Request {
    Request::form_post(format!(
        "grant_type=refresh_token&refresh_token={}",
        enc(rt)
    ))
    .with_header("Authorization", &basic("C1", C1_SECRET))
}

fn refresh_token_in(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).expect("JSON");
    v["refresh_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no refresh token in {v}"))
        .to_string()
}

/// A first refresh token for C1 (plain OAuth scope: no ID token is signed per refresh).
async fn first_token(s: &Setup) -> String {
    let minted = s
        .server
        .mint_code(CodeGrant {
            client_id: ClientId::new("C1").expect("id"),
            redirect_uri: C1_REDIRECT.into(),
            redirect_uri_sent: true,
            scope: Scope::parse("api:read offline_access").expect("scope"),
            pkce: None,
            nonce: None,
            subject: Subject::new("alice"),
        })
        .expect("code");
    let code = minted.code.expose().to_string();
    let stored = AsyncStore::commit(&*s.store, Commit::StoreCode(minted.record))
        .await
        .expect("store code");
    assert_eq!(stored, tollgate::CommitOutcome::Applied);
    let request = Request::form_post(format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}",
        enc(C1_REDIRECT)
    ))
    .with_header("Authorization", &basic("C1", C1_SECRET));
    let response = s
        .server
        .token_async(&request, &*s.store, &NoPasswordUsers)
        .await;
    assert_eq!(response.status, 200);
    refresh_token_in(&response.body)
}

/// One refresh; returns its latency and the next token.
async fn refresh(s: &Setup, rt: &str) -> (Duration, String) {
    let request = refresh_request(rt);
    let t = Instant::now();
    let response = s
        .server
        .token_async(&request, &*s.store, &NoPasswordUsers)
        .await;
    let elapsed = t.elapsed();
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    (elapsed, refresh_token_in(black_box(&response.body)))
}

async fn setup(name: &'static str, url: &str) -> Option<Setup> {
    let store = if url.starts_with("postgres") {
        let mut admin = match sqlx::PgConnection::connect(url).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("skipping {name}: PostgreSQL is not reachable at {url}: {e}");
                return None;
            }
        };
        admin
            .execute(
                format!(
                    "DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}",
                    schema()
                )
                .as_str(),
            )
            .await
            .expect("schema");
        let connect = url
            .parse::<sqlx::postgres::PgConnectOptions>()
            .expect("url")
            .options([("search_path", schema().as_str())]);
        SqlStore::postgres(connect, &SqlOptions::default())
            .await
            .expect("open")
    } else {
        SqlStore::open(url).await.expect("open")
    };
    for c in fixture_clients() {
        store.insert_client(c).await.expect("client");
    }
    let server = Server::builder(ServerConfig {
        issuer: "https://as.bench".into(),
        ..ServerConfig::default()
    })
    .clock(ManualClock::new(T0))
    .build()
    .expect("server");
    Some(Setup {
        name,
        server: Arc::new(server),
        store: Arc::new(store),
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Latency distribution, sequential and concurrent throughput, statements per refresh.
async fn report(s: &Setup) {
    const N: usize = 2000;
    const CHAINS: usize = 8;
    let mut token = first_token(s).await;
    for _ in 0..200 {
        token = refresh(s, &token).await.1;
    }
    let before = s.store.statements_executed();
    let mut latencies = Vec::with_capacity(N);
    let started = Instant::now();
    for _ in 0..N {
        let (d, next) = refresh(s, &token).await;
        latencies.push(d);
        token = next;
    }
    let wall = started.elapsed();
    let statements = (s.store.statements_executed() - before) as f64 / N as f64;
    latencies.sort();

    let mut chains = Vec::new();
    for _ in 0..CHAINS {
        chains.push(first_token(s).await);
    }
    let started = Instant::now();
    let tasks: Vec<_> = chains
        .into_iter()
        .map(|mut rt| {
            let (server, store) = (Arc::clone(&s.server), Arc::clone(&s.store));
            tokio::spawn(async move {
                let s = Setup {
                    name: "",
                    server,
                    store,
                };
                for _ in 0..N / CHAINS {
                    rt = refresh(&s, &rt).await.1;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("chain");
    }
    let concurrent = started.elapsed();
    println!(
        "{:<14} p50 {:>8.1} µs  p99 {:>8.1} µs  sequential {:>7.0} refresh/s  \
         {CHAINS} chains {:>7.0} refresh/s  {:.2} statements/refresh",
        s.name,
        percentile(&latencies, 0.50).as_secs_f64() * 1e6,
        percentile(&latencies, 0.99).as_secs_f64() * 1e6,
        N as f64 / wall.as_secs_f64(),
        (N / CHAINS * CHAINS) as f64 / concurrent.as_secs_f64(),
        statements,
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let file = std::env::temp_dir().join(format!("tollgate-bench-{}.db", std::process::id()));
    let file_url = format!("sqlite:{}", file.display());
    let setups: Vec<Setup> = rt.block_on(async {
        let mut v = Vec::new();
        for (name, url) in [
            ("sqlite_file", file_url.as_str()),
            ("sqlite_memory", "sqlite::memory:"),
            ("postgres", PG_URL),
        ] {
            v.extend(setup(name, url).await);
        }
        v
    });

    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    {
        let mut group = c.benchmark_group("refresh_rotate_grace30");
        for s in &setups {
            let mut token = rt.block_on(first_token(s));
            group.bench_function(s.name, |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            let (d, next) = refresh(s, &token).await;
                            total += d;
                            token = next;
                        }
                        total
                    })
                });
            });
        }
        group.finish();
    }
    c.final_summary();

    println!("\nper-request distribution ({} refreshes per store):", 2000);
    for s in &setups {
        rt.block_on(report(s));
    }

    rt.block_on(async {
        for s in &setups {
            s.store.close().await;
        }
        if let Ok(mut admin) = sqlx::PgConnection::connect(PG_URL).await {
            let _ = admin
                .execute(format!("DROP SCHEMA IF EXISTS {} CASCADE", schema()).as_str())
                .await;
        }
    });
    for suffix in ["", "-wal", "-shm"] {
        let mut p = file.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}
