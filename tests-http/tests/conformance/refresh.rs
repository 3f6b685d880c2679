//! The refresh-token grant over TCP (RT): client binding, scope rules, rotation with a grace
//! window that replays the same response, reuse detection, revocation, tampering, and the
//! refreshed ID token.

use tollgate_http_tests::*;

use super::active;

fn refresh(s: &TestServer, rt: &str, extra: &str) -> Reply {
    s.token(
        "C1",
        C1_SECRET,
        &format!("grant_type=refresh_token&refresh_token={}{extra}", enc(rt)),
    )
}

fn p1_refresh(s: &TestServer, rt: &str) -> Reply {
    s.post(
        "/token",
        &format!(
            "grant_type=refresh_token&client_id=P1&refresh_token={}",
            enc(rt)
        ),
    )
}

fn rt_01_refresh_tokens_are_bound_to_their_client(a: Adapter) {
    let s = TestServer::start(a);
    let rt = s.c1_tokens("openid offline_access").ok().refresh_token();
    s.token(
        "C2",
        C2_SECRET,
        &format!("grant_type=refresh_token&refresh_token={}", enc(&rt)),
    )
    .assert_error(400, "invalid_grant");
    let r = s.post(
        "/token",
        &format!(
            "grant_type=refresh_token&refresh_token={}&client_id=C1",
            enc(&rt)
        ),
    );
    assert_eq!(r.error(), Some("invalid_client"));
}

fn rt_02_rt_03_scope_narrows_never_widens(a: Adapter) {
    let s = TestServer::start(a);
    let first = s.c1_tokens("openid offline_access api:read").ok();
    refresh(
        &s,
        &first.refresh_token(),
        "&scope=openid%20offline_access%20api:read%20api:write",
    )
    .assert_error(400, "invalid_scope");
    let narrowed = refresh(&s, &first.refresh_token(), "&scope=api:read").ok();
    assert_eq!(narrowed.str("scope"), Some("api:read"));
    // The rotated refresh token keeps the original scope.
    let again = refresh(&s, &narrowed.refresh_token(), "").ok();
    let scope = again.str("scope").unwrap_or_default();
    for s in ["openid", "offline_access", "api:read"] {
        assert!(scope.split(' ').any(|x| x == s), "{scope}");
    }
}

fn rt_04_rt_11_refresh_responses_and_refreshed_id_tokens(a: Adapter) {
    let s = TestServer::start(a);
    let first = s.c1_tokens("openid offline_access").ok();
    let id1 = jwt_claims(first.str("id_token").expect("id_token"));
    s.advance(2);
    let r = refresh(&s, &first.refresh_token(), "").ok();
    assert!(r
        .header("cache-control")
        .is_some_and(|c| c.contains("no-store")));
    let id2 = jwt_claims(r.str("id_token").expect("refreshed id_token"));
    for c in ["iss", "sub", "aud", "auth_time"] {
        assert_eq!(id1[c], id2[c], "{c}");
    }
    assert!(id2["iat"].as_u64() > id1["iat"].as_u64());
    assert!(id2.get("nonce").is_none_or(|n| *n == id1["nonce"]));
    assert_ne!(r.refresh_token(), first.refresh_token());
}

fn rt_05_rotation_grace_replay_and_reuse_detection(a: Adapter) {
    let s = TestServer::start(a);
    let first = s.p1_tokens("openid offline_access").ok();
    let rt1 = first.refresh_token();
    let second = p1_refresh(&s, &rt1).ok();
    let rt2 = second.refresh_token();
    assert_ne!(rt1, rt2);
    // Within the grace window a retry gets the very same response.
    s.advance(5);
    let retry = p1_refresh(&s, &rt1).ok();
    assert_eq!(retry.body, second.body);
    // After it, presenting RT1 is reuse: the family dies.
    s.advance(30);
    p1_refresh(&s, &rt1).assert_error(400, "invalid_grant");
    p1_refresh(&s, &rt2).assert_error(400, "invalid_grant");
    assert!(!active(&s, &second.access_token()));
}

fn rt_07_rv_01_revoked_refresh_tokens_stop_working(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.c1_tokens("openid offline_access").ok();
    s.post_basic(
        "/revoke",
        "C1",
        C1_SECRET,
        &format!("token={}", enc(&r.refresh_token())),
    )
    .ok();
    refresh(&s, &r.refresh_token(), "").assert_error(400, "invalid_grant");
    assert!(
        !active(&s, &r.access_token()),
        "RV-05: the grant's access tokens too"
    );
}

fn rt_08_tampered_refresh_tokens_are_invalid(a: Adapter) {
    let s = TestServer::start(a);
    let rt = s.c1_tokens("openid offline_access").ok().refresh_token();
    let mut t: Vec<char> = rt.chars().collect();
    let last = t.len() - 1;
    t[last] = if t[last] == 'A' { 'B' } else { 'A' };
    let tampered: String = t.into_iter().collect();
    refresh(&s, &tampered, "").assert_error(400, "invalid_grant");
}

fn rt_09_idle_refresh_tokens_expire(a: Adapter) {
    let s = TestServer::start(a);
    let rt = s.c1_tokens("openid offline_access").ok().refresh_token();
    s.advance(7 * 24 * 3600 + 1);
    refresh(&s, &rt, "").assert_error(400, "invalid_grant");
}

tollgate_http_tests::on_both_adapters!(
    rt_01_refresh_tokens_are_bound_to_their_client,
    rt_02_rt_03_scope_narrows_never_widens,
    rt_04_rt_11_refresh_responses_and_refreshed_id_tokens,
    rt_05_rotation_grace_replay_and_reuse_detection,
    rt_07_rv_01_revoked_refresh_tokens_stop_working,
    rt_08_tampered_refresh_tokens_are_invalid,
    rt_09_idle_refresh_tokens_expire,
);
