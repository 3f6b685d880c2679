//! The resource-owner password grant (RFC 6749 §4.3; TK-08): off unless the client allows
//! it, the host checks credentials and may refuse, refresh tokens only with
//! `offline_access`.

use tollgate_conformance_tests::{Harness, PW_SECRET};

fn pw(h: &Harness, rest: &str) -> tollgate_conformance_tests::Reply {
    h.post_basic("PW", PW_SECRET, &format!("grant_type=password&{rest}"))
}

#[test]
fn correct_credentials_get_an_access_token() {
    let h = Harness::new();
    let r = pw(&h, "username=alice&password=wonderland").ok();
    assert!(
        r.str("refresh_token").is_none(),
        "no offline_access requested"
    );
    assert_eq!(r.str("scope"), Some("api:read"));
}

#[test]
fn offline_access_yields_a_refresh_token_that_refreshes() {
    let h = Harness::new();
    let r = pw(
        &h,
        "username=alice&password=wonderland&scope=openid+offline_access",
    )
    .ok();
    let rt = r.refresh_token();
    let next = h
        .post_basic(
            "PW",
            PW_SECRET,
            &format!("grant_type=refresh_token&refresh_token={rt}"),
        )
        .ok();
    assert_ne!(next.refresh_token(), rt);
}

#[test]
fn tk_08_wrong_password_is_invalid_grant() {
    let h = Harness::new();
    pw(&h, "username=alice&password=nope").assert_error(400, "invalid_grant");
    pw(&h, "username=nobody&password=wonderland").assert_error(400, "invalid_grant");
}

#[test]
fn tk_08_the_host_can_refuse_brute_force() {
    let h = Harness::new();
    pw(&h, "username=mallory&password=anything").assert_error(400, "invalid_grant");
}

#[test]
fn missing_username_or_password_is_invalid_request() {
    let h = Harness::new();
    pw(&h, "password=wonderland").assert_error(400, "invalid_request");
    pw(&h, "username=alice").assert_error(400, "invalid_request");
}

#[test]
fn an_invalid_scope_is_refused_before_the_password_is_checked() {
    let h = Harness::new();
    pw(&h, "username=mallory&password=x&scope=admin").assert_error(400, "invalid_scope");
}
