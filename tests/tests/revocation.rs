//! Token revocation (RFC 7009): RV-01 … RV-06.

use tollgate::Request;
use tollgate_conformance_tests::{Harness, C1_SECRET, C2_SECRET};

#[test]
fn rv_01_revoking_a_refresh_token_stops_refreshing() {
    let h = Harness::new();
    let rt = h.c1_tokens("openid offline_access").ok().refresh_token();
    let r = h.revoke("C1", C1_SECRET, &format!("token={rt}"));
    assert_eq!(r.status(), 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    h.c1_refresh(&rt).assert_error(400, "invalid_grant");
}

#[test]
fn rv_01_revoking_an_access_token_deactivates_only_it() {
    let h = Harness::new();
    let first = h.c1_tokens("openid offline_access").ok();
    let second = h.c1_refresh(&first.refresh_token()).ok();
    assert_eq!(
        h.revoke("C1", C1_SECRET, &format!("token={}", first.access_token()))
            .status(),
        200
    );
    assert!(!h.access_active(&first.access_token()));
    assert!(
        h.access_active(&second.access_token()),
        "other access tokens of the grant stay active"
    );
    h.c1_refresh(&second.refresh_token()).ok();
}

#[test]
fn rv_02_missing_token_is_invalid_request() {
    let h = Harness::new();
    h.revoke("C1", C1_SECRET, "token_type_hint=access_token")
        .assert_error(400, "invalid_request");
}

#[test]
fn rv_02_the_client_must_authenticate() {
    let h = Harness::new();
    let rt = h.c1_tokens("openid offline_access").ok().refresh_token();
    h.revoke("C1", "wrong", &format!("token={rt}"))
        .assert_error(401, "invalid_client");
    let r = Reply::from(
        h.server
            .revoke(&Request::form_post(format!("token={rt}")), &h.store),
    );
    r.assert_error(400, "invalid_client");
    h.c1_refresh(&rt).ok();
}

use tollgate_conformance_tests::Reply;

#[test]
fn rv_03_a_wrong_hint_still_finds_the_token() {
    let h = Harness::new();
    let r = h.c1_tokens("openid offline_access").ok();
    h.revoke(
        "C1",
        C1_SECRET,
        &format!("token={}&token_type_hint=access_token", r.refresh_token()),
    );
    h.c1_refresh(&r.refresh_token())
        .assert_error(400, "invalid_grant");
    h.revoke(
        "C1",
        C1_SECRET,
        &format!("token={}&token_type_hint=refresh_token", r.access_token()),
    );
    assert!(!h.access_active(&r.access_token()));
}

#[test]
fn rv_04_unknown_repeated_or_oddly_hinted_tokens_get_200() {
    let h = Harness::new();
    assert_eq!(h.revoke("C1", C1_SECRET, "token=garbage").status(), 200);
    let rt = h.c1_tokens("openid offline_access").ok().refresh_token();
    assert_eq!(
        h.revoke("C1", C1_SECRET, &format!("token={rt}")).status(),
        200
    );
    assert_eq!(
        h.revoke("C1", C1_SECRET, &format!("token={rt}")).status(),
        200
    );
    assert_eq!(
        h.revoke("C1", C1_SECRET, "token=x&token_type_hint=foo")
            .status(),
        200
    );
}

#[test]
fn rv_05_revoking_a_refresh_token_revokes_the_access_tokens_of_its_grant() {
    let h = Harness::new();
    let first = h.c1_tokens("openid offline_access").ok();
    let second = h.c1_refresh(&first.refresh_token()).ok();
    h.revoke(
        "C1",
        C1_SECRET,
        &format!("token={}", second.refresh_token()),
    );
    assert!(!h.access_active(&first.access_token()));
    assert!(!h.access_active(&second.access_token()));
}

#[test]
fn rv_06_another_clients_token_is_left_untouched() {
    let h = Harness::new();
    let r = h.c1_tokens("openid offline_access").ok();
    h.revoke("C2", C2_SECRET, &format!("token={}", r.refresh_token()))
        .assert_error(400, "unauthorized_client");
    h.revoke("C2", C2_SECRET, &format!("token={}", r.access_token()))
        .assert_error(400, "unauthorized_client");
    assert!(h.access_active(&r.access_token()));
    h.c1_refresh(&r.refresh_token()).ok();
}

#[test]
fn gen_05_revocation_requires_post() {
    let h = Harness::new();
    let mut req = Request::form_post("token=x");
    req.method = tollgate::Method::Get;
    assert_eq!(h.server.revoke(&req, &h.store).status, 405);
}

#[test]
fn public_clients_revoke_their_own_tokens_with_client_id() {
    let h = Harness::new();
    let r = h.p1_tokens("openid offline_access").ok();
    let resp = Reply::from(h.server.revoke(
        &Request::form_post(format!("token={}&client_id=P1", r.refresh_token())),
        &h.store,
    ));
    assert_eq!(resp.status(), 200);
    h.p1_refresh(&r.refresh_token())
        .assert_error(400, "invalid_grant");
}
