//! `/revoke` (RFC 7009, RV) and `/introspect` (RFC 7662, IN) over TCP.

use tollgate_http_tests::*;

use super::active;

fn rv_01_rv_05_revoking_an_access_token_leaves_the_refresh_token(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.c1_tokens("openid offline_access").ok();
    s.post_basic(
        "/revoke",
        "C1",
        C1_SECRET,
        &format!("token={}", enc(&r.access_token())),
    )
    .ok();
    assert!(!active(&s, &r.access_token()));
    s.token(
        "C1",
        C1_SECRET,
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            enc(&r.refresh_token())
        ),
    )
    .ok();
}

fn rv_02_rv_03_rv_04_revocation_requests(a: Adapter) {
    let s = TestServer::start(a);
    s.post_basic("/revoke", "C1", C1_SECRET, "token_type_hint=access_token")
        .assert_error(400, "invalid_request");
    for body in ["token=garbage", "token=garbage&token_type_hint=foo"] {
        s.post_basic("/revoke", "C1", C1_SECRET, body).ok();
    }
    // A wrong hint still finds and revokes the token; revoking twice is fine.
    let r = s.c1_tokens("openid offline_access").ok();
    let body = format!(
        "token={}&token_type_hint=access_token",
        enc(&r.refresh_token())
    );
    s.post_basic("/revoke", "C1", C1_SECRET, &body).ok();
    s.post_basic("/revoke", "C1", C1_SECRET, &body).ok();
    s.token(
        "C1",
        C1_SECRET,
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            enc(&r.refresh_token())
        ),
    )
    .assert_error(400, "invalid_grant");
}

fn rv_06_only_the_owner_revokes(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.c1_tokens("openid offline_access").ok();
    let bad = s.post_basic(
        "/revoke",
        "C1",
        "wrong",
        &format!("token={}", enc(&r.access_token())),
    );
    bad.assert_error(401, "invalid_client");
    assert!(bad.header("www-authenticate").is_some());
    let _ = s.post_basic(
        "/revoke",
        "C2",
        C2_SECRET,
        &format!("token={}", enc(&r.access_token())),
    );
    assert!(
        active(&s, &r.access_token()),
        "another client's token survives"
    );
}

fn in_01_introspection_requires_authentication(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.post("/introspect", "token=anything");
    assert_eq!(r.status, 401);
    let r = s.post_basic("/introspect", "C1", "wrong", "token=anything");
    assert_eq!(r.status, 401);
}

fn in_02_in_03_in_06_active_tokens_and_their_metadata(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.c1_tokens("openid api:read").ok();
    let i = s
        .post_basic(
            "/introspect",
            "C1",
            C1_SECRET,
            &format!(
                "token={}&token_type_hint=refresh_token",
                enc(&r.access_token())
            ),
        )
        .ok();
    assert!(i
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
    assert_eq!(i.json["active"], true);
    assert_eq!(i.json["client_id"], "C1");
    assert_eq!(i.json["sub"], "alice");
    assert!(i.json["scope"].is_string());
    // IN-06: exp is the access token's own expiry.
    let exp = i.json["exp"].as_u64().expect("exp");
    let iat = i.json["iat"].as_u64().expect("iat");
    assert_eq!(
        exp - iat,
        r.json["expires_in"].as_u64().expect("expires_in")
    );
}

fn in_04_in_05_inactive_is_exactly_active_false(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.c1_tokens("openid").ok();
    let inactive = |token: &str| {
        let i = s
            .post_basic(
                "/introspect",
                "C1",
                C1_SECRET,
                &format!("token={}", enc(token)),
            )
            .ok();
        assert_eq!(i.json, serde_json::json!({"active": false}), "{token}");
    };
    inactive("garbage");
    s.advance(3601);
    inactive(&r.access_token());
}

tollgate_http_tests::on_both_adapters!(
    rv_01_rv_05_revoking_an_access_token_leaves_the_refresh_token,
    rv_02_rv_03_rv_04_revocation_requests,
    rv_06_only_the_owner_revokes,
    in_01_introspection_requires_authentication,
    in_02_in_03_in_06_active_tokens_and_their_metadata,
    in_04_in_05_inactive_is_exactly_active_false,
);
