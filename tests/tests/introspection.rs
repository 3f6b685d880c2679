//! Token introspection (RFC 7662): IN-01 … IN-06.

use tollgate::Request;
use tollgate_conformance_tests::{Harness, Reply, C1_SECRET, C2_SECRET, ISSUER, T0};

#[test]
fn in_01_introspection_requires_client_authentication() {
    let h = Harness::new();
    let at = h.c1_tokens("openid").ok().access_token();
    let r = Reply::from(
        h.server
            .introspect(&Request::form_post(format!("token={at}")), &h.store),
    );
    r.assert_error(401, "invalid_client");
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    h.introspect("C1", "wrong", &format!("token={at}"))
        .assert_error(401, "invalid_client");
    // A public client cannot introspect.
    let r = Reply::from(h.server.introspect(
        &Request::form_post(format!("token={at}&client_id=P1")),
        &h.store,
    ));
    r.assert_error(401, "invalid_client");
}

#[test]
fn in_02_in_03_an_active_access_token_reports_its_metadata() {
    let h = Harness::new();
    let at = h.c1_tokens("openid api:read").ok().access_token();
    let r = h.introspect(
        "C2",
        C2_SECRET,
        &format!("token={at}&token_type_hint=refresh_token"),
    );
    assert_eq!(r.status(), 200);
    assert_eq!(r.json["active"], true, "a JSON boolean");
    assert_eq!(r.str("scope"), Some("api:read openid"));
    assert_eq!(r.str("client_id"), Some("C1"));
    assert_eq!(r.str("sub"), Some("alice"));
    assert_eq!(r.str("iss"), Some(ISSUER));
    assert_eq!(r.str("token_type"), Some("Bearer"));
    assert_eq!(r.json["iat"], T0.0);
    assert_eq!(
        r.json["exp"],
        T0.0 + 3600,
        "IN-06: exp is the token's expiry"
    );
}

#[test]
fn an_active_refresh_token_reports_its_metadata() {
    let h = Harness::new();
    let rt = h.c1_tokens("openid offline_access").ok().refresh_token();
    let r = h.introspect("C1", C1_SECRET, &format!("token={rt}"));
    assert_eq!(r.json["active"], true);
    assert_eq!(r.str("token_type"), Some("refresh_token"));
    assert_eq!(r.json["exp"], T0.0 + 7 * 24 * 3600, "the idle expiry");
}

#[test]
fn in_04_unknown_expired_or_revoked_tokens_are_exactly_inactive() {
    let h = Harness::new();
    let inactive = |r: Reply| {
        assert_eq!(r.status(), 200);
        assert_eq!(r.response.body, br#"{"active":false}"#);
    };
    inactive(h.introspect("C1", C1_SECRET, "token=garbage"));
    let first = h.c1_tokens("openid offline_access").ok();
    let second = h.c1_refresh(&first.refresh_token()).ok();
    inactive(h.introspect("C1", C1_SECRET, &format!("token={}", first.refresh_token())));
    h.revoke("C1", C1_SECRET, &format!("token={}", second.access_token()));
    inactive(h.introspect("C1", C1_SECRET, &format!("token={}", second.access_token())));
    h.advance(3600);
    inactive(h.introspect("C1", C1_SECRET, &format!("token={}", first.access_token())));
}

#[test]
fn in_05_an_access_token_of_a_revoked_grant_is_inactive() {
    let h = Harness::new();
    let r = h.c1_tokens("openid offline_access").ok();
    h.revoke("C1", C1_SECRET, &format!("token={}", r.refresh_token()));
    let i = h.introspect("C1", C1_SECRET, &format!("token={}", r.access_token()));
    assert_eq!(i.response.body, br#"{"active":false}"#);
}

#[test]
fn in_05_expiry_is_checked_to_the_second() {
    let h = Harness::new();
    let at = h.c1_tokens("openid").ok().access_token();
    h.advance(3599);
    assert_eq!(
        h.introspect("C1", C1_SECRET, &format!("token={at}")).json["active"],
        true
    );
    h.advance(1);
    assert_eq!(
        h.introspect("C1", C1_SECRET, &format!("token={at}")).json["active"],
        false
    );
}

#[test]
fn missing_token_is_invalid_request() {
    let h = Harness::new();
    h.introspect("C1", C1_SECRET, "")
        .assert_error(400, "invalid_request");
}
