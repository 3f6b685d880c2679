//! Model test: random sequences of issue / refresh / replay / revoke / advance-clock run
//! against the engine and against a small reference model of RFC 9700 §4.14.2 rotation with
//! a grace window, a replay count, idle and absolute lifetimes (RT-05, RT-09). After every
//! operation the two must agree on the outcome, on replayed bytes, and on which access tokens
//! are active.

use std::time::Duration;

use proptest::prelude::*;
use tollgate::store::Store;
use tollgate::{Commit, TokenHash, TokenPolicy};
use tollgate_conformance_tests::{Harness, PW_SECRET};

const GRACE: u64 = 10;
const MAX_REUSE: u32 = 2;
const IDLE: u64 = 100;
const ABSOLUTE: u64 = 250;
const AT_TTL: u64 = 60;

#[derive(Clone, Debug)]
enum Op {
    Issue,
    Refresh(usize),
    Revoke(usize),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Issue),
        4 => any::<usize>().prop_map(Op::Refresh),
        // Index from the end: the newest tokens and their just-rotated parents are the
        // interesting ones (usize::MAX - k wraps to the k-th newest below).
        4 => (0usize..3).prop_map(|k| Op::Refresh(usize::MAX - k)),
        1 => any::<usize>().prop_map(Op::Revoke),
        // Boundaries of the grace window, the access-token lifetime and the idle lifetime.
        3 => prop::sample::select(vec![0u64, 1, GRACE - 1, GRACE, GRACE + 1, 30, AT_TTL, IDLE - 1, IDLE]).prop_map(Op::Advance),
    ]
}

#[derive(Clone, Debug, PartialEq)]
enum MState {
    Active,
    Rotated {
        at: u64,
        reuse: u32,
        successor: Vec<u8>,
    },
}

struct MToken {
    value: String,
    family: usize,
    idle_exp: u64,
    state: MState,
}

struct MFamily {
    revoked: bool,
    abs_exp: u64,
}

struct MAccess {
    value: String,
    family: usize,
    exp: u64,
}

#[derive(Default)]
struct Model {
    now: u64,
    tokens: Vec<MToken>,
    families: Vec<MFamily>,
    access: Vec<MAccess>,
}

/// `usize::MAX - k` picks the k-th newest token; anything else picks uniformly.
fn pick(i: usize, len: usize) -> usize {
    let from_end = usize::MAX - i;
    if from_end < 3 {
        len.saturating_sub(1 + from_end)
    } else {
        i % len
    }
}

fn harness() -> Harness {
    Harness::with_config(|c| {
        c.policies.fallback = TokenPolicy {
            access_token_ttl: Duration::from_secs(AT_TTL),
            refresh_idle: Some(Duration::from_secs(IDLE)),
            refresh_absolute: Some(Duration::from_secs(ABSOLUTE)),
            grace: Duration::from_secs(GRACE),
            max_reuse: Some(MAX_REUSE),
            ..TokenPolicy::default()
        }
    })
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let h = harness();
    let mut m = Model::default();
    for op in ops {
        match op {
            Op::Issue => {
                let r = h
                    .post_basic(
                        "PW",
                        PW_SECRET,
                        "grant_type=password&username=alice&password=wonderland&scope=offline_access",
                    )
                    .ok();
                m.families.push(MFamily {
                    revoked: false,
                    abs_exp: m.now + ABSOLUTE,
                });
                let family = m.families.len() - 1;
                m.tokens.push(MToken {
                    value: r.refresh_token(),
                    family,
                    idle_exp: (m.now + IDLE).min(m.now + ABSOLUTE),
                    state: MState::Active,
                });
                m.access.push(MAccess {
                    value: r.access_token(),
                    family,
                    exp: m.now + AT_TTL,
                });
            }
            Op::Refresh(i) if !m.tokens.is_empty() => {
                let i = pick(i, m.tokens.len());
                let value = m.tokens[i].value.clone();
                let r = h.post_basic(
                    "PW",
                    PW_SECRET,
                    &format!("grant_type=refresh_token&refresh_token={value}"),
                );
                let family = m.tokens[i].family;
                let now = m.now;
                let fam_revoked = m.families[family].revoked;
                let abs_exp = m.families[family].abs_exp;
                let t = &mut m.tokens[i];
                match (&mut t.state, fam_revoked) {
                    (_, true) => prop_assert_eq!(r.status(), 400, "revoked family: {}", r.json),
                    (
                        MState::Rotated {
                            at,
                            reuse,
                            successor,
                        },
                        false,
                    ) => {
                        if now < *at + GRACE && *reuse < MAX_REUSE {
                            prop_assert_eq!(r.status(), 200, "grace replay: {}", r.json);
                            prop_assert_eq!(
                                &r.response.body,
                                successor,
                                "replay must repeat the bytes"
                            );
                            *reuse += 1;
                        } else {
                            prop_assert_eq!(r.status(), 400, "reuse: {}", r.json);
                            m.families[family].revoked = true;
                        }
                    }
                    (MState::Active, false) => {
                        if now >= t.idle_exp || now >= abs_exp {
                            prop_assert_eq!(r.status(), 400, "expired: {}", r.json);
                        } else {
                            prop_assert_eq!(r.status(), 200, "rotation: {}", r.json);
                            t.state = MState::Rotated {
                                at: now,
                                reuse: 0,
                                successor: r.response.body.clone(),
                            };
                            m.tokens.push(MToken {
                                value: r.refresh_token(),
                                family,
                                idle_exp: (now + IDLE).min(abs_exp),
                                state: MState::Active,
                            });
                            m.access.push(MAccess {
                                value: r.access_token(),
                                family,
                                exp: now + AT_TTL,
                            });
                        }
                    }
                }
            }
            Op::Revoke(i) if !m.tokens.is_empty() => {
                let i = pick(i, m.tokens.len());
                let view = h
                    .store
                    .refresh_token(&TokenHash::of(&m.tokens[i].value))
                    .expect("store")
                    .expect("token");
                let _ = h.store.commit(Commit::RevokeFamily {
                    family: view.family.id,
                    at: h.clock_now(),
                });
                m.families[m.tokens[i].family].revoked = true;
            }
            Op::Advance(s) => {
                h.advance(s);
                m.now += s;
            }
            Op::Refresh(_) | Op::Revoke(_) => {}
        }
        for a in &m.access {
            let expected = !m.families[a.family].revoked && m.now < a.exp;
            prop_assert_eq!(
                h.access_active(&a.value),
                expected,
                "access token activity diverged"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, rng_seed: proptest::test_runner::RngSeed::Fixed(0x7011_6a7e), ..ProptestConfig::default() })]

    #[test]
    fn engine_agrees_with_the_reference_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
