//! Races through the in-memory store (AC-11, RT-05 and the grace window): many threads
//! present the same code or refresh token at once.

use std::sync::Barrier;
use std::time::Duration;

use tollgate::TokenPolicy;
use tollgate_conformance_tests::{enc, Harness, Reply, C1_REDIRECT, C1_SECRET};

const THREADS: usize = 16;

fn race(h: &Harness, body: &str) -> Vec<Reply> {
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    h.post_basic("C1", C1_SECRET, body)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|t| t.join().expect("thread"))
            .collect()
    })
}

fn with_grace(secs: u64) -> Harness {
    Harness::with_config(|c| {
        c.policies.fallback = TokenPolicy {
            grace: Duration::from_secs(secs),
            ..TokenPolicy::default()
        }
    })
}

#[test]
fn ac_11_sixteen_concurrent_redemptions_of_one_code_have_one_winner() {
    for _ in 0..20 {
        let h = Harness::new();
        let code = h.code("C1", C1_REDIRECT, "openid offline_access", None);
        let replies = race(
            &h,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                enc(C1_REDIRECT)
            ),
        );
        let wins = replies.iter().filter(|r| r.status() == 200).count();
        assert_eq!(wins, 1);
        for r in replies.iter().filter(|r| r.status() != 200) {
            r.assert_error(400, "invalid_grant");
        }
    }
}

#[test]
fn sixteen_concurrent_refreshes_without_grace_have_one_winner() {
    for _ in 0..20 {
        let h = with_grace(0);
        let rt = h.c1_tokens("openid offline_access").ok().refresh_token();
        let replies = race(&h, &format!("grant_type=refresh_token&refresh_token={rt}"));
        assert_eq!(replies.iter().filter(|r| r.status() == 200).count(), 1);
        for r in replies.iter().filter(|r| r.status() != 200) {
            r.assert_error(400, "invalid_grant");
        }
    }
}

#[test]
fn sixteen_concurrent_refreshes_inside_the_grace_window_all_get_the_same_successor() {
    // With `openid` the successor is sealed, without it derived: both forms, ten times each.
    for scope in ["openid offline_access", "offline_access"].repeat(10) {
        let h = with_grace(30);
        let rt = h.c1_tokens(scope).ok().refresh_token();
        let replies = race(&h, &format!("grant_type=refresh_token&refresh_token={rt}"));
        let first = &replies[0];
        assert_eq!(first.status(), 200, "{}", first.json);
        for r in &replies {
            assert_eq!(
                r.response, first.response,
                "every racer receives the identical response"
            );
        }
        // Exactly one rotation happened and nobody killed the winner's tokens.
        assert!(h.access_active(&first.access_token()));
        let next = h.c1_refresh(&first.refresh_token()).ok();
        assert_ne!(next.refresh_token(), first.refresh_token());
    }
}

#[test]
fn concurrent_grace_replays_respect_max_reuse() {
    for _ in 0..10 {
        let h = Harness::with_config(|c| {
            c.policies.fallback = TokenPolicy {
                max_reuse: Some(4),
                ..TokenPolicy::default()
            }
        });
        let rt = h.c1_tokens("openid offline_access").ok().refresh_token();
        let replies = race(&h, &format!("grant_type=refresh_token&refresh_token={rt}"));
        let ok = replies.iter().filter(|r| r.status() == 200).count();
        // One rotation plus at most four replays; the rest are reuse and revoke the family.
        assert!(ok <= 5, "{ok} successes");
        assert!(ok >= 1);
        for r in replies.iter().filter(|r| r.status() != 200) {
            r.assert_error(400, "invalid_grant");
        }
    }
}
