//! The refresh-token grant (RFC 6749 §6; RFC 9700 §4.14.2): RT-01 … RT-10, rotation with
//! reuse detection, the grace window that never forks a family, static mode, and lifetimes
//! from policies.

use std::time::Duration;

use tollgate::{ClientId, PolicyMatch, PolicyRule, RotationMode, Scope, TokenPolicy};
use tollgate_conformance_tests::{enc, Harness, C1_REDIRECT, C1_SECRET, C2_SECRET, ST_SECRET};

fn with_policy(p: TokenPolicy) -> Harness {
    Harness::with_config(|c| c.policies.fallback = p)
}

fn policy(grace: u64, max_reuse: Option<u32>) -> TokenPolicy {
    TokenPolicy {
        grace: Duration::from_secs(grace),
        max_reuse,
        ..TokenPolicy::default()
    }
}

#[test]
fn rt_01_a_refresh_token_is_bound_to_its_client() {
    let h = Harness::new();
    let rt = h.c1_tokens("openid offline_access").ok().refresh_token();
    h.post_basic(
        "C2",
        C2_SECRET,
        &format!("grant_type=refresh_token&refresh_token={rt}"),
    )
    .assert_error(400, "invalid_grant");
    // The failed attempt changed nothing.
    h.c1_refresh(&rt).ok();
}

#[test]
fn rt_01_confidential_client_must_authenticate_to_refresh() {
    let h = Harness::new();
    let rt = h.c1_tokens("openid offline_access").ok().refresh_token();
    h.post(&format!(
        "grant_type=refresh_token&client_id=C1&refresh_token={rt}"
    ))
    .assert_error(400, "invalid_client");
    h.post(&format!("grant_type=refresh_token&refresh_token={rt}"))
        .assert_error(400, "invalid_client");
}

#[test]
fn rt_02_a_wider_scope_is_invalid_scope() {
    let h = Harness::new();
    let rt = h
        .c1_tokens("openid api:read offline_access")
        .ok()
        .refresh_token();
    h.post_basic(
        "C1",
        tollgate_conformance_tests::C1_SECRET,
        &format!("grant_type=refresh_token&refresh_token={rt}&scope=openid+api:read+api:write"),
    )
    .assert_error(400, "invalid_scope");
    h.c1_refresh(&rt).ok();
}

#[test]
fn rt_02_omitted_scope_means_the_original_scope() {
    let h = Harness::new();
    let rt = h
        .c1_tokens("openid api:read offline_access")
        .ok()
        .refresh_token();
    let r = h.c1_refresh(&rt).ok();
    assert_eq!(
        r.scope(),
        Scope::parse("openid api:read offline_access").unwrap()
    );
}

#[test]
fn rt_03_narrowing_applies_to_the_access_token_only() {
    let h = Harness::new();
    let rt = h
        .c1_tokens("openid api:read offline_access")
        .ok()
        .refresh_token();
    let narrowed = h
        .post_basic(
            "C1",
            tollgate_conformance_tests::C1_SECRET,
            &format!("grant_type=refresh_token&refresh_token={rt}&scope=api:read"),
        )
        .ok();
    assert_eq!(narrowed.scope(), Scope::parse("api:read").unwrap());
    let full = h.c1_refresh(&narrowed.refresh_token()).ok();
    assert_eq!(
        full.scope(),
        Scope::parse("openid api:read offline_access").unwrap()
    );
}

#[test]
fn rt_04_refresh_response_is_a_normal_token_response() {
    let h = Harness::new();
    let rt = h.c1_tokens("openid offline_access").ok().refresh_token();
    let r = h.c1_refresh(&rt).ok();
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    assert_eq!(r.str("token_type"), Some("Bearer"));
    assert_eq!(r.json["expires_in"].as_u64(), Some(3600));
    assert!(r.access_token().len() >= 43);
}

#[test]
fn rt_05_rotation_issues_a_new_refresh_token() {
    let h = Harness::new();
    let rt1 = h.p1_tokens("openid offline_access").ok().refresh_token();
    let rt2 = h.p1_refresh(&rt1).ok().refresh_token();
    assert_ne!(rt1, rt2);
    h.p1_refresh(&rt2).ok();
}

#[test]
fn rt_05_reuse_after_the_grace_window_revokes_the_whole_family() {
    let h = Harness::new();
    let first = h.p1_tokens("openid offline_access").ok();
    let second = h.p1_refresh(&first.refresh_token()).ok();
    h.advance(31);
    h.p1_refresh(&first.refresh_token())
        .assert_error(400, "invalid_grant");
    h.p1_refresh(&second.refresh_token())
        .assert_error(400, "invalid_grant");
    assert!(
        !h.access_active(&second.access_token()),
        "access tokens of the family are revoked"
    );
    assert!(!h.access_active(&first.access_token()));
}

#[test]
fn rt_05_reuse_with_zero_grace_revokes_at_once() {
    let h = with_policy(policy(0, None));
    let first = h.p1_tokens("openid offline_access").ok();
    let second = h.p1_refresh(&first.refresh_token()).ok();
    h.p1_refresh(&first.refresh_token())
        .assert_error(400, "invalid_grant");
    h.p1_refresh(&second.refresh_token())
        .assert_error(400, "invalid_grant");
    assert!(!h.access_active(&second.access_token()));
}

#[test]
fn rt_05_reuse_by_another_family_member_does_not_touch_other_families() {
    let h = with_policy(policy(0, None));
    let a = h.p1_tokens("openid offline_access").ok();
    let b = h.p1_tokens("openid offline_access").ok();
    let _ = h.p1_refresh(&a.refresh_token()).ok();
    h.p1_refresh(&a.refresh_token())
        .assert_error(400, "invalid_grant");
    assert!(h.access_active(&b.access_token()));
    h.p1_refresh(&b.refresh_token()).ok();
}

#[test]
fn grace_retry_gets_the_identical_successor_response() {
    // With `openid` the successor response carries an ID token and is kept sealed; without
    // it, it is kept derived from a salt. Either way the retry gets the same bytes.
    for scope in ["openid offline_access", "offline_access"] {
        let h = Harness::new();
        let rt1 = h.p1_tokens(scope).ok().refresh_token();
        let first = h.p1_refresh(&rt1).ok();
        h.advance(29);
        let retry = h.p1_refresh(&rt1).ok();
        assert_eq!(
            retry.response, first.response,
            "same status, headers and bytes ({scope})"
        );
        // The family did not fork and is still alive.
        h.p1_refresh(&first.refresh_token()).ok();
    }
}

/// A narrowed `scope` on the rotating request is what the retry gets back too (RT-02).
#[test]
fn grace_retry_of_a_narrowed_refresh_gets_the_same_narrowed_response() {
    let h = Harness::new();
    let rt1 = h.c1_tokens("email offline_access").ok().refresh_token();
    let narrowed = format!("grant_type=refresh_token&refresh_token={rt1}&scope=offline_access");
    let first = h.post_basic("C1", C1_SECRET, &narrowed).ok();
    assert_eq!(first.str("scope"), Some("offline_access"));
    h.advance(5);
    let retry = h.post_basic("C1", C1_SECRET, &narrowed).ok();
    assert_eq!(retry.response, first.response);
}

#[test]
fn grace_retry_does_not_mint_new_tokens() {
    let h = Harness::new();
    let rt1 = h.p1_tokens("openid offline_access").ok().refresh_token();
    let first = h.p1_refresh(&rt1).ok();
    for _ in 0..5 {
        assert_eq!(
            h.p1_refresh(&rt1).ok().refresh_token(),
            first.refresh_token()
        );
    }
    let rt3 = h.p1_refresh(&first.refresh_token()).ok().refresh_token();
    assert_ne!(rt3, first.refresh_token());
}

#[test]
fn grace_window_is_per_policy_and_ends_at_its_edge() {
    let h = with_policy(policy(10, None));
    let rt1 = h.p1_tokens("openid offline_access").ok().refresh_token();
    let first = h.p1_refresh(&rt1).ok();
    h.advance(9);
    h.p1_refresh(&rt1).ok();
    h.advance(1);
    h.p1_refresh(&rt1).assert_error(400, "invalid_grant");
    h.p1_refresh(&first.refresh_token())
        .assert_error(400, "invalid_grant");
}

#[test]
fn grace_replays_stop_at_max_reuse_and_then_revoke() {
    let h = with_policy(policy(30, Some(2)));
    let rt1 = h.p1_tokens("openid offline_access").ok().refresh_token();
    let first = h.p1_refresh(&rt1).ok();
    h.p1_refresh(&rt1).ok();
    h.p1_refresh(&rt1).ok();
    h.p1_refresh(&rt1).assert_error(400, "invalid_grant");
    h.p1_refresh(&first.refresh_token())
        .assert_error(400, "invalid_grant");
    assert!(!h.access_active(&first.access_token()));
}

#[test]
fn grace_replay_of_a_revoked_family_fails() {
    let h = Harness::new();
    let rt1 = h.p1_tokens("openid offline_access").ok().refresh_token();
    let rt2 = h.p1_refresh(&rt1).ok().refresh_token();
    let _rt3 = h.p1_refresh(&rt2).ok().refresh_token();
    h.advance(31);
    // rt1 is outside its window: reuse, family revoked.
    h.p1_refresh(&rt1).assert_error(400, "invalid_grant");
    h.p1_refresh(&rt2).assert_error(400, "invalid_grant");
}

#[test]
fn the_sealed_successor_is_not_readable_at_rest() {
    let h = Harness::new();
    let rt1 = h.p1_tokens("openid offline_access").ok().refresh_token();
    let first = h.p1_refresh(&rt1).ok();
    let sealed = &kept_successor(&h, &rt1);
    let rt2 = first.refresh_token();
    let at2 = first.access_token();
    assert!(!sealed.0.windows(rt2.len()).any(|w| w == rt2.as_bytes()));
    assert!(!sealed.0.windows(at2.len()).any(|w| w == at2.as_bytes()));
    assert!(
        tollgate::seal::open("tgr_someone-else", &tollgate::TokenHash::of(&rt1), sealed).is_none()
    );
}

/// What the store keeps for the grace window of the rotated token `rt`.
fn kept_successor(h: &Harness, rt: &str) -> tollgate::seal::SealedResponse {
    let view = tollgate::Store::refresh_token(&h.store, &tollgate::TokenHash::of(rt))
        .unwrap()
        .unwrap();
    match &view.token.state {
        tollgate::store::RefreshState::Rotated {
            successor: Some(kept),
            ..
        } => kept.clone(),
        other => panic!("expected a kept successor: {other:?}"),
    }
}

/// Without an ID token the successor is derived: the store keeps a salt and the response's
/// `expires_in` and `scope`, never a token (that another token cannot rebuild it is a unit
/// test of `successor`).
#[test]
fn the_derived_successor_holds_no_token_at_rest() {
    let h = Harness::new();
    let rt1 = h.p1_tokens("offline_access").ok().refresh_token();
    let first = h.p1_refresh(&rt1).ok();
    let kept = kept_successor(&h, &rt1);
    assert!(kept.0.starts_with(b"tgd1"), "derived, not sealed");
    for token in [first.refresh_token(), first.access_token()] {
        assert!(!kept.0.windows(token.len()).any(|w| w == token.as_bytes()));
        let raw = &token.as_bytes()[4..];
        assert!(!kept.0.windows(12).any(|w| raw.windows(12).any(|r| r == w)));
    }
    assert!(
        kept.0.len() < 80,
        "a salt and a few fields: {} bytes",
        kept.0.len()
    );
}

/// The refresh token of a code exchange by `JWTAT`, whose access tokens are RFC 9068 JWTs.
fn jwt_client_refresh_token(h: &Harness, scope: &str) -> String {
    let code = h.code("JWTAT", C1_REDIRECT, scope, None);
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}",
        enc(C1_REDIRECT)
    );
    h.post_basic("JWTAT", C1_SECRET, &body).ok().refresh_token()
}

fn jwt_client_refresh(h: &Harness, rt: &str) -> tollgate_conformance_tests::Reply {
    let body = format!("grant_type=refresh_token&refresh_token={}", enc(rt));
    h.post_basic("JWTAT", C1_SECRET, &body)
}

/// A JWT access token is kept derived too (its `jti` comes from the old token and the
/// salt; header, claims and signature are kept): the retry gets the same bytes, and the
/// JWT it gets is live.
#[test]
fn grace_retry_with_a_jwt_access_token_gets_the_identical_successor_response() {
    let h = Harness::new();
    let rt1 = jwt_client_refresh_token(&h, "api:read offline_access");
    let first = jwt_client_refresh(&h, &rt1).ok();
    assert_eq!(first.access_token().split('.').count(), 3, "a JWT");
    assert!(kept_successor(&h, &rt1).0.starts_with(b"tgd1"), "derived");
    h.advance(29);
    let retry = jwt_client_refresh(&h, &rt1).ok();
    assert_eq!(retry.response, first.response);
    assert!(h.access_active(&retry.access_token()));
    jwt_client_refresh(&h, &first.refresh_token()).ok();
}

/// What is kept for a JWT access token is its header, signature and claims without the
/// `jti`: neither token, nor the `jti`, is at rest.
#[test]
fn the_derived_jwt_successor_holds_no_token_at_rest() {
    let h = Harness::new();
    let rt1 = jwt_client_refresh_token(&h, "api:read offline_access");
    let first = jwt_client_refresh(&h, &rt1).ok();
    let kept = kept_successor(&h, &rt1);
    let at = first.access_token();
    let claims = at.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, claims).unwrap(),
    )
    .unwrap();
    let jti = claims["jti"].as_str().unwrap();
    let contains = |needle: &[u8]| kept.0.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(at.as_bytes()));
    assert!(!contains(jti.as_bytes()));
    assert!(!contains(at.split('.').nth(1).unwrap().as_bytes()));
    let rt = first.refresh_token();
    let raw = &rt.as_bytes()[4..];
    assert!(!kept.0.windows(12).any(|w| raw.windows(12).any(|r| r == w)));
}

#[test]
fn rt_07_a_revoked_grant_cannot_be_refreshed() {
    let h = Harness::new();
    let rt = h.c1_tokens("openid offline_access").ok().refresh_token();
    let view = tollgate::Store::refresh_token(&h.store, &tollgate::TokenHash::of(&rt))
        .unwrap()
        .unwrap();
    let _ = tollgate::Store::commit(
        &h.store,
        tollgate::Commit::RevokeFamily {
            family: view.family.id,
            at: h.clock_now(),
        },
    )
    .unwrap();
    h.c1_refresh(&rt).assert_error(400, "invalid_grant");
}

#[test]
fn rt_08_a_modified_refresh_token_is_invalid_grant() {
    let h = Harness::new();
    let rt = h.c1_tokens("openid offline_access").ok().refresh_token();
    let mut bytes = rt.clone().into_bytes();
    let last = bytes.len() - 1;
    bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
    h.c1_refresh(&String::from_utf8(bytes).unwrap())
        .assert_error(400, "invalid_grant");
    h.c1_refresh(&rt).ok();
}

fn lifetimes(idle: u64, absolute: u64) -> TokenPolicy {
    TokenPolicy {
        refresh_idle: Some(Duration::from_secs(idle)),
        refresh_absolute: Some(Duration::from_secs(absolute)),
        access_token_ttl: Duration::from_secs(300),
        ..TokenPolicy::default()
    }
}

#[test]
fn rt_09_idle_refresh_token_expires() {
    let h = with_policy(lifetimes(600, 3600));
    let rt = h.c1_tokens("openid offline_access").ok().refresh_token();
    h.advance(11 * 60);
    h.c1_refresh(&rt).assert_error(400, "invalid_grant");
}

#[test]
fn rt_09_using_it_within_the_idle_window_keeps_it_alive_until_the_absolute_lifetime() {
    let h = with_policy(lifetimes(600, 3600));
    let mut rt = h.c1_tokens("openid offline_access").ok().refresh_token();
    // 9-minute steps: 6 refreshes reach 54 min, all inside the absolute hour.
    for _ in 0..6 {
        h.advance(9 * 60);
        rt = h.c1_refresh(&rt).ok().refresh_token();
    }
    // At 63 min the family's absolute lifetime has passed, though the token is only 9 min idle.
    h.advance(9 * 60);
    h.c1_refresh(&rt).assert_error(400, "invalid_grant");
}

#[test]
fn rt_09_rotated_token_keeps_the_family_absolute_expiry() {
    let h = with_policy(lifetimes(3000, 3600));
    let rt1 = h.c1_tokens("openid offline_access").ok().refresh_token();
    h.advance(2900);
    let rt2 = h.c1_refresh(&rt1).ok().refresh_token();
    let view = tollgate::Store::refresh_token(&h.store, &tollgate::TokenHash::of(&rt2))
        .unwrap()
        .unwrap();
    assert_eq!(
        view.token.idle_expires_at,
        Some(tollgate::UnixTime(tollgate_conformance_tests::T0.0 + 3600))
    );
    h.advance(699);
    let rt3 = h.c1_refresh(&rt2).ok().refresh_token();
    h.advance(1);
    h.c1_refresh(&rt3).assert_error(400, "invalid_grant");
}

#[test]
fn static_mode_returns_the_same_refresh_token_and_extends_its_idle_life() {
    let h = Harness::with_config(|c| {
        c.policies.fallback = lifetimes(600, 7200);
    });
    let code = h.code(
        "ST",
        tollgate_conformance_tests::C1_REDIRECT,
        "openid offline_access",
        None,
    );
    let rt = h
        .post_basic(
            "ST",
            ST_SECRET,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                tollgate_conformance_tests::enc(tollgate_conformance_tests::C1_REDIRECT)
            ),
        )
        .ok()
        .refresh_token();
    for _ in 0..3 {
        h.advance(500);
        let r = h
            .post_basic(
                "ST",
                ST_SECRET,
                &format!("grant_type=refresh_token&refresh_token={rt}"),
            )
            .ok();
        assert_eq!(r.refresh_token(), rt, "static mode keeps the token");
    }
    h.advance(601);
    h.post_basic(
        "ST",
        ST_SECRET,
        &format!("grant_type=refresh_token&refresh_token={rt}"),
    )
    .assert_error(400, "invalid_grant");
}

#[test]
fn public_clients_rotate_even_under_a_static_policy() {
    let h = Harness::with_config(|c| c.policies.fallback.rotation = RotationMode::Static);
    let rt1 = h.p1_tokens("openid offline_access").ok().refresh_token();
    let rt2 = h.p1_refresh(&rt1).ok().refresh_token();
    assert_ne!(rt1, rt2);
}

#[test]
fn confidential_clients_follow_a_static_policy() {
    let h = Harness::with_config(|c| c.policies.fallback.rotation = RotationMode::Static);
    let rt1 = h.c1_tokens("openid offline_access").ok().refresh_token();
    assert_eq!(h.c1_refresh(&rt1).ok().refresh_token(), rt1);
}

#[test]
fn policies_set_lifetimes_by_client_grant_scope_and_group() {
    let rule = |name: &str, when: PolicyMatch, ttl: u64| PolicyRule {
        name: name.into(),
        when,
        then: TokenPolicy {
            access_token_ttl: Duration::from_secs(ttl),
            ..TokenPolicy::default()
        },
    };
    let h = Harness::with_config(|c| {
        c.policies.rules = vec![
            rule(
                "staff",
                PolicyMatch {
                    groups_any: Some(vec!["staff".into()]),
                    ..PolicyMatch::default()
                },
                120,
            ),
            rule(
                "writers",
                PolicyMatch {
                    scopes_any: Some(Scope::parse("api:write").unwrap()),
                    ..PolicyMatch::default()
                },
                240,
            ),
            rule(
                "c1-refresh",
                PolicyMatch {
                    clients: Some(vec![ClientId::new("C1").unwrap()]),
                    grant_types: Some(vec![tollgate::GrantType::RefreshToken]),
                    ..PolicyMatch::default()
                },
                900,
            ),
        ];
    });
    let pw = |user: &str, pass: &str| {
        h.post_basic(
            "PW",
            tollgate_conformance_tests::PW_SECRET,
            &format!("grant_type=password&username={user}&password={pass}&scope=api:read"),
        )
    };
    assert_eq!(
        pw("alice", "wonderland").ok().json["expires_in"],
        120,
        "alice is staff"
    );
    assert_eq!(
        pw("bob", "builder").ok().json["expires_in"],
        3600,
        "bob matches nothing"
    );
    let cc = h.post_basic(
        "C1",
        tollgate_conformance_tests::C1_SECRET,
        "grant_type=client_credentials&scope=api:write",
    );
    assert_eq!(cc.ok().json["expires_in"], 240);
    let first = h.c1_tokens("openid offline_access").ok();
    assert_eq!(
        first.json["expires_in"], 3600,
        "the code grant matches no rule"
    );
    assert_eq!(
        h.c1_refresh(&first.refresh_token()).ok().json["expires_in"],
        900
    );
}

#[test]
fn refresh_policy_can_forbid_refresh_tokens() {
    let h = Harness::with_config(|c| c.policies.fallback.issue_refresh_tokens = false);
    let r = h.c1_tokens("openid offline_access").ok();
    assert!(r.str("refresh_token").is_none());
    assert!(!r.scope().contains("offline_access"));
}
