//! Issue point 2, atomicity with several servers at once: two servers, each with its own
//! `SqlStore` (its own pool, its own client cache, its own random source), share one
//! PostgreSQL schema — or one SQLite file, as two processes would — and race each other
//! taking a code, rotating a refresh token, consuming a `jti`, saving consent and revoking
//! a family. Every single-use change happens exactly once; nothing is issued twice.

use std::sync::Arc;
use std::time::Duration;

use tollgate::authorize::{AuthorizationRequest, Prompt};
use tollgate::store::{
    AsyncStore, Commit, CommitOutcome, ConsentRecord, InteractionNext, InteractionRecord,
    InteractionStage,
};
use tollgate::{ClientId, ManualClock, Scope, Server, Subject, TokenHash, TokenPolicy, UnixTime};
use tollgate_conformance_tests::{Reply, C1_REDIRECT, T0};
use tollgate_sql::{SqlOptions, SqlStore};

use crate::common::{
    code_request, mint_code, open, refresh_request, reopen, send, server, Backing, Kind,
};

const RACERS: usize = 16;

struct Pair {
    servers: [Arc<(Server, SqlStore)>; 2],
    _backing: Backing,
}

async fn pair(kind: Kind, grace: u64) -> Pair {
    let options = SqlOptions::default();
    let (a, backing) = open(
        kind,
        &options,
        tollgate_conformance_tests::fixture_clients(),
    )
    .await;
    let b = reopen(&backing, &options).await.expect("a shared database");
    let clock = ManualClock::new(T0);
    let adjust = |c: &mut tollgate::ServerConfig| {
        c.policies.fallback = TokenPolicy {
            grace: Duration::from_secs(grace),
            ..TokenPolicy::default()
        }
    };
    Pair {
        servers: [
            Arc::new((server(&clock, 1, adjust), a)),
            Arc::new((server(&clock, 2, adjust), b)),
        ],
        _backing: backing,
    }
}

/// Sends `request` from `RACERS` tasks at once, alternating between the two servers.
async fn race(p: &Pair, request: tollgate::Request) -> Vec<Reply> {
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let s = Arc::clone(&p.servers[i % 2]);
            let (b, req) = (Arc::clone(&barrier), request.clone());
            tokio::spawn(async move {
                b.wait().await;
                send(&s.0, &s.1, &req).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

fn one_winner(replies: &[Reply]) -> &Reply {
    let wins: Vec<_> = replies.iter().filter(|r| r.status() == 200).collect();
    assert_eq!(wins.len(), 1, "exactly one of the servers may win");
    for r in replies.iter().filter(|r| r.status() != 200) {
        r.assert_error(400, "invalid_grant");
    }
    wins[0]
}

async fn codes_and_rotations_happen_once(kind: Kind) {
    let p = pair(kind, 0).await;
    let [a, b] = &p.servers;
    // A code minted on server A is taken once by the sixteen racers on A and B. (Racers
    // that load the code after the winner committed see a replay and revoke what it
    // produced, AC-02 — so the rotation below starts from a code of its own.)
    let code = mint_code(&a.0, &a.1, "openid offline_access").await;
    let _ = one_winner(&race(&p, code_request(&code)).await);
    // A token issued through A rotates once; without a grace window every loser is refused.
    let code = mint_code(&a.0, &a.1, "openid offline_access").await;
    let rt = send(&a.0, &a.1, &code_request(&code))
        .await
        .ok()
        .refresh_token();
    let rotated = one_winner(&race(&p, refresh_request(&rt)).await).clone();
    assert_ne!(rotated.refresh_token(), rt);

    // With a grace window every racer, on either server, gets the same successor: the
    // sealed response stored by one server opens on the other.
    let p = pair(kind, 30).await;
    let [a, _] = &p.servers;
    let code = mint_code(&a.0, &a.1, "openid offline_access").await;
    let rt = send(&a.0, &a.1, &code_request(&code))
        .await
        .ok()
        .refresh_token();
    let replies = race(&p, refresh_request(&rt)).await;
    assert_eq!(replies[0].status(), 200, "{}", replies[0].json);
    for r in &replies {
        assert_eq!(r.response, replies[0].response, "no fork across servers");
    }
    let _ = b;
}

async fn jti_is_spent_once(kind: Kind) {
    let p = pair(kind, 30).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let s = Arc::clone(&p.servers[i % 2]);
            let b = Arc::clone(&barrier);
            tokio::spawn(async move {
                b.wait().await;
                AsyncStore::commit(
                    &s.1,
                    Commit::ConsumeJti {
                        key: TokenHash::of("https://idp.test jti-1"),
                        until: UnixTime(T0.0 + 60),
                    },
                )
                .await
                .expect("commit")
            })
        })
        .collect();
    let mut applied = 0;
    for t in tasks {
        if t.await.expect("task") == CommitOutcome::Applied {
            applied += 1;
        }
    }
    assert_eq!(applied, 1, "a jti is spent exactly once");
}

fn interaction(name: &str) -> Box<InteractionRecord> {
    Box::new(InteractionRecord {
        hash: TokenHash::of(name),
        browser: TokenHash::of("browser"),
        csrf: TokenHash::of("csrf"),
        request: AuthorizationRequest {
            client_id: ClientId::new("C1").expect("id"),
            redirect_uri: C1_REDIRECT.into(),
            redirect_uri_sent: true,
            state: Some("s".into()),
            scope: Scope::parse("openid offline_access api:read").expect("scope"),
            pkce: None,
            nonce: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            display: None,
            ui_locales: None,
            claims_locales: None,
            acr_values: None,
        },
        stage: InteractionStage::Consent {
            subject: Subject::new("alice"),
        },
        created_at: T0,
        expires_at: UnixTime(T0.0 + 600),
    })
}

async fn consent_accumulates_and_interactions_finish_once(kind: Kind) {
    let p = pair(kind, 30).await;
    let scopes = ["openid", "offline_access", "api:read", "profile"];
    // Four interactions, each finished by four racers at once, each racer adding its own
    // scope: one finish per interaction wins, and the consent row is the union of the
    // winners' scopes, whichever server wrote them.
    for (n, _) in scopes.iter().enumerate() {
        let i = interaction(&format!("consent-{n}"));
        let s = &p.servers[0];
        assert_eq!(
            AsyncStore::commit(&s.1, Commit::StoreInteraction(i)).await,
            Ok(CommitOutcome::Applied)
        );
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let s = Arc::clone(&p.servers[i % 2]);
            let b = Arc::clone(&barrier);
            let which = i % scopes.len();
            let scope = scopes[which];
            tokio::spawn(async move {
                b.wait().await;
                let outcome = AsyncStore::commit(
                    &s.1,
                    Commit::FinishInteraction {
                        interaction: TokenHash::of(&format!("consent-{which}")),
                        consent: Some(ConsentRecord {
                            subject: "alice".into(),
                            client_id: ClientId::new("C1").expect("id"),
                            scope: Scope::parse(scope).expect("scope"),
                            granted_at: T0,
                        }),
                        next: InteractionNext::Nothing,
                    },
                )
                .await
                .expect("commit");
                (which, outcome)
            })
        })
        .collect();
    let mut wins = [0; 4];
    for t in tasks {
        let (which, outcome) = t.await.expect("task");
        if outcome == CommitOutcome::Applied {
            wins[which] += 1;
        }
    }
    assert_eq!(wins, [1, 1, 1, 1], "each interaction finishes once");
    for s in &p.servers {
        let consent = AsyncStore::consent(&s.1, "alice", &ClientId::new("C1").expect("id"))
            .await
            .expect("lookup")
            .expect("consent");
        assert_eq!(
            consent.scope,
            Scope::parse(&scopes.join(" ")).expect("scope"),
            "consent is the union of every concurrent grant"
        );
    }
}

async fn revocation_races_rotation(kind: Kind) {
    let p = pair(kind, 0).await;
    let [a, b] = &p.servers;
    for round in 0..5 {
        let code = mint_code(&a.0, &a.1, "openid offline_access").await;
        let first = send(&a.0, &a.1, &code_request(&code)).await.ok();
        let view = AsyncStore::refresh_token(&a.1, &TokenHash::of(&first.refresh_token()))
            .await
            .expect("lookup")
            .expect("token");
        let family = view.family.id;
        // Server B rotates while server A revokes the family.
        let request = refresh_request(&first.refresh_token());
        let (rotated, revoked) = tokio::join!(
            send(&b.0, &b.1, &request),
            AsyncStore::commit(
                &a.1,
                Commit::RevokeFamily {
                    family,
                    at: UnixTime(T0.0 + round),
                }
            )
        );
        assert_eq!(revoked, Ok(CommitOutcome::Applied));
        // Whatever the order, afterwards nothing of the family is usable.
        if rotated.status() == 200 {
            assert!(
                AsyncStore::refresh_token(&a.1, &TokenHash::of(&rotated.refresh_token()))
                    .await
                    .expect("lookup")
                    .is_some_and(|v| v.family.is_revoked())
            );
            send(&a.0, &a.1, &refresh_request(&rotated.refresh_token()))
                .await
                .assert_error(400, "invalid_grant");
        } else {
            rotated.assert_error(400, "invalid_grant");
        }
        send(&a.0, &a.1, &refresh_request(&first.refresh_token()))
            .await
            .assert_error(400, "invalid_grant");
    }
}

/// `retain_clients` (the server registers its configured clients at start and removes the
/// rest): the other registrations go, for this store at once (its cache too) and for the
/// other server once its cache entry expires.
async fn retained_clients_are_the_only_ones_left(kind: Kind) {
    let options = SqlOptions {
        client_cache_ttl: Duration::ZERO,
        ..SqlOptions::default()
    };
    let (a, backing) = open(
        kind,
        &options,
        tollgate_conformance_tests::fixture_clients(),
    )
    .await;
    let b = reopen(&backing, &options).await.expect("a shared database");
    let (c1, c2) = (
        ClientId::new("C1").expect("id"),
        ClientId::new("C2").expect("id"),
    );
    assert!(AsyncStore::client(&a, &c2).await.expect("lookup").is_some());
    let total = tollgate_conformance_tests::fixture_clients().len() as u64;
    assert_eq!(
        a.retain_clients(std::slice::from_ref(&c1))
            .await
            .expect("retain"),
        total - 1
    );
    for store in [&a, &b] {
        assert!(AsyncStore::client(store, &c1)
            .await
            .expect("lookup")
            .is_some());
        assert!(AsyncStore::client(store, &c2)
            .await
            .expect("lookup")
            .is_none());
    }
    assert_eq!(b.retain_clients(&[c1]).await.expect("retain"), 0);
}

macro_rules! on_shared_backends {
    ($($name:ident => $body:ident;)*) => {
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

on_shared_backends! {
    two_servers_take_a_code_and_rotate_a_token_once => codes_and_rotations_happen_once;
    two_servers_spend_a_jti_once => jti_is_spent_once;
    two_servers_finish_interactions_once_and_union_consent => consent_accumulates_and_interactions_finish_once;
    two_servers_revoking_and_rotating_leave_nothing_usable => revocation_races_rotation;
    retain_clients_leaves_only_the_named_clients => retained_clients_are_the_only_ones_left;
}
