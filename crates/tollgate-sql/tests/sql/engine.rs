//! Whole-engine exchanges over each durable store (issue points 2 and 4): the core `Server`
//! with a fixed clock and seeded randomness, driven with `Server::token_async`, exactly as a
//! host drives it — code exchange, rotation, the grace window's identical replay, reuse
//! revoking the family, and sixteen concurrent refreshes of one token.

use std::sync::Arc;
use std::time::Duration;

use tollgate::TokenPolicy;
use tollgate_conformance_tests::Reply;

use crate::common::{refresh_request, Engine, Kind};

const THREADS: usize = 16;

fn with_grace(secs: u64) -> impl FnOnce(&mut tollgate::ServerConfig) {
    move |c| {
        c.policies.fallback = TokenPolicy {
            grace: Duration::from_secs(secs),
            ..TokenPolicy::default()
        }
    }
}

async fn exchange_rotate_replay_and_reuse(kind: Kind) {
    let e = Engine::new(kind, |_| {}).await;
    let first = e.c1_tokens("openid offline_access").await.ok();
    assert!(first.str("id_token").is_some());
    derived_successor_replays_identically(&e).await;
    assert!(e.access_active(&first.access_token()).await);

    // A code redeems once: the replay is refused and revokes what the code produced.
    let code = e.c1_code("openid offline_access").await;
    let a = e.send(&crate::common::code_request(&code)).await.ok();
    e.send(&crate::common::code_request(&code))
        .await
        .assert_error(400, "invalid_grant");
    assert!(!e.access_active(&a.access_token()).await, "AC-02");

    // Rotation: a new pair; the old token is now rotated.
    let second = e.c1_refresh(&first.refresh_token()).await.ok();
    assert_ne!(second.refresh_token(), first.refresh_token());
    assert!(e.access_active(&second.access_token()).await);

    // Inside the grace window the old token gets the same response, byte for byte.
    e.advance(10);
    let replay = e.c1_refresh(&first.refresh_token()).await.ok();
    assert_eq!(replay.response, second.response, "identical bytes");

    // The family did not fork: the successor still rotates.
    let third = e.c1_refresh(&second.refresh_token()).await.ok();

    // Outside the window, presenting the first token is reuse: the family is revoked.
    e.advance(31);
    e.c1_refresh(&first.refresh_token())
        .await
        .assert_error(400, "invalid_grant");
    e.c1_refresh(&third.refresh_token())
        .await
        .assert_error(400, "invalid_grant");
    assert!(!e.access_active(&third.access_token()).await);
    assert!(!e.access_active(&second.access_token()).await);
}

/// Without `openid` the rotation keeps a derived successor (a salt, no ciphertext): it too
/// survives the store's encoding and gives the same bytes inside the window.
async fn derived_successor_replays_identically(e: &Engine) {
    let rt = e.c1_tokens("offline_access").await.ok().refresh_token();
    let second = e.c1_refresh(&rt).await.ok();
    e.advance(10);
    let replay = e.c1_refresh(&rt).await.ok();
    assert_eq!(
        replay.response, second.response,
        "identical bytes (derived)"
    );
    e.c1_refresh(&second.refresh_token()).await.ok();
    e.advance(31);
    e.c1_refresh(&rt).await.assert_error(400, "invalid_grant");
}

async fn race(e: &Arc<Engine>, rt: &str) -> Vec<Reply> {
    let barrier = Arc::new(tokio::sync::Barrier::new(THREADS));
    let tasks: Vec<_> = (0..THREADS)
        .map(|_| {
            let (e, b, rt) = (Arc::clone(e), Arc::clone(&barrier), rt.to_string());
            tokio::spawn(async move {
                b.wait().await;
                e.send(&refresh_request(&rt)).await
            })
        })
        .collect();
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.expect("task"));
    }
    replies
}

async fn concurrent_refreshes_without_grace(kind: Kind) {
    let e = Arc::new(Engine::new(kind, with_grace(0)).await);
    for _ in 0..3 {
        let rt = e
            .c1_tokens("openid offline_access")
            .await
            .ok()
            .refresh_token();
        let replies = race(&e, &rt).await;
        let wins = replies.iter().filter(|r| r.status() == 200).count();
        assert_eq!(wins, 1, "exactly one concurrent refresh may win");
        for r in replies.iter().filter(|r| r.status() != 200) {
            r.assert_error(400, "invalid_grant");
        }
    }
}

async fn concurrent_refreshes_inside_grace(kind: Kind) {
    let e = Arc::new(Engine::new(kind, with_grace(30)).await);
    // With `openid` the successor is sealed, without it derived: both, three times each.
    for scope in ["openid offline_access", "offline_access"].repeat(3) {
        let rt = e.c1_tokens(scope).await.ok().refresh_token();
        let replies = race(&e, &rt).await;
        let first = &replies[0];
        assert_eq!(first.status(), 200, "{}", first.json);
        for r in &replies {
            assert_eq!(
                r.response, first.response,
                "every racer gets the same bytes"
            );
        }
        // One successor, and it works.
        e.c1_refresh(&first.refresh_token()).await.ok();
    }
}

async fn concurrent_code_redemptions(kind: Kind) {
    let e = Arc::new(Engine::new(kind, |_| {}).await);
    let code = e.c1_code("openid offline_access").await;
    let barrier = Arc::new(tokio::sync::Barrier::new(THREADS));
    let tasks: Vec<_> = (0..THREADS)
        .map(|_| {
            let (e, b, code) = (Arc::clone(&e), Arc::clone(&barrier), code.clone());
            tokio::spawn(async move {
                b.wait().await;
                e.send(&crate::common::code_request(&code)).await
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        let r = t.await.expect("task");
        if r.status() == 200 {
            wins += 1;
        } else {
            r.assert_error(400, "invalid_grant");
        }
    }
    assert_eq!(wins, 1, "AC-11: exactly one concurrent redemption may win");
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
    code_exchange_rotation_grace_replay_and_reuse_revocation => exchange_rotate_replay_and_reuse;
    sixteen_concurrent_refreshes_without_grace_have_one_winner => concurrent_refreshes_without_grace;
    sixteen_concurrent_refreshes_inside_grace_get_identical_bytes => concurrent_refreshes_inside_grace;
    sixteen_concurrent_code_redemptions_have_one_winner => concurrent_code_redemptions;
}

/// Issue point 2: codes and tokens are stored only as hashes. After a code exchange and a
/// rotation (whose sealed successor is kept), no code, access or refresh token appears in
/// the database in the clear — neither as text nor as the bytes of a binary column.
async fn nothing_is_stored_in_the_clear(kind: Kind) {
    let e = Engine::new(kind, |_| {}).await;
    let code = e.c1_code("openid offline_access").await;
    let first = e.send(&crate::common::code_request(&code)).await.ok();
    let second = e.c1_refresh(&first.refresh_token()).await.ok();
    let secrets = [
        code,
        first.access_token(),
        first.refresh_token(),
        second.access_token(),
        second.refresh_token(),
    ];
    let dump = match &e.backing {
        crate::common::Backing::File(db) => {
            e.store.close().await;
            let mut bytes = Vec::new();
            for suffix in ["", "-wal"] {
                let mut p = db.path.clone().into_os_string();
                p.push(suffix);
                bytes.extend(std::fs::read(p).unwrap_or_default());
            }
            // Positive control: the hash itself is there, as raw bytes.
            let hash = tollgate::TokenHash::of(&second.refresh_token());
            assert!(
                bytes.windows(32).any(|w| w == hash.0),
                "the file holds the hash"
            );
            bytes
        }
        crate::common::Backing::Schema(schema) => {
            use sqlx::Connection as _;
            let mut conn = sqlx::PgConnection::connect_with(&schema.connect_options())
                .await
                .expect("connect");
            let mut dump = String::new();
            for table in [
                "codes",
                "families",
                "refresh_tokens",
                "access_tokens",
                "interactions",
                "consents",
                "jtis",
            ] {
                let rows: Vec<(String,)> =
                    sqlx::query_as(&format!("SELECT t::text FROM {table} t"))
                        .fetch_all(&mut conn)
                        .await
                        .expect("dump");
                for (row,) in rows {
                    dump.push_str(&row);
                }
            }
            // Positive control: the hash itself is there, as bytea hex.
            let hash = tollgate::TokenHash::of(&second.refresh_token());
            assert!(dump.contains(&hash.to_hex()), "the dump holds the hash");
            dump.into_bytes()
        }
        crate::common::Backing::Nothing => unreachable!("only file and PostgreSQL"),
    };
    assert!(dump.len() > 1000, "the dump holds the rows");
    let contains = |needle: &[u8]| dump.windows(needle.len()).any(|w| w == needle);
    for secret in &secrets {
        let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
        // The random part alone, without the type prefix.
        let random = &secret.as_bytes()[4..];
        assert!(
            !contains(random) && !contains(hex.as_bytes()),
            "a token is stored in the clear"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_stores_codes_and_tokens_only_as_hashes() {
    nothing_is_stored_in_the_clear(Kind::SqliteFile).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stores_codes_and_tokens_only_as_hashes() {
    nothing_is_stored_in_the_clear(Kind::Postgres).await;
}
