//! Token-endpoint behaviour common to every grant: request syntax (GEN-*), response shape
//! (TK-01, TK-02) and the RFC 6749 §5.2 error responses (TK-03 … TK-08).

use tollgate::{Method, Request};
use tollgate_conformance_tests::{Harness, C1_SECRET};

fn cc(h: &Harness, body: &str) -> tollgate_conformance_tests::Reply {
    h.post_basic("C1", C1_SECRET, body)
}

#[test]
fn tk_01_success_is_json_with_bearer_token_and_expires_in() {
    let h = Harness::new();
    let r = cc(&h, "grant_type=client_credentials").ok();
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert!(r.str("access_token").is_some());
    assert!(r.str("token_type").unwrap().eq_ignore_ascii_case("bearer"));
    let exp = r.json["expires_in"]
        .as_u64()
        .expect("expires_in is a JSON number");
    assert!(exp > 0 && exp <= 31_536_000);
    assert_eq!(exp, 3600, "the default policy's access-token lifetime");
}

#[test]
fn tk_01_scope_is_returned() {
    let h = Harness::new();
    let r = cc(&h, "grant_type=client_credentials&scope=api:write+api:read").ok();
    assert_eq!(r.str("scope"), Some("api:read api:write"));
}

#[test]
fn tk_02_token_responses_are_not_cacheable() {
    let h = Harness::new();
    let r = cc(&h, "grant_type=client_credentials").ok();
    let cc_header = r.header("cache-control").unwrap();
    assert!(cc_header.split(',').any(|t| t.trim() == "no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
}

#[test]
fn tk_03_errors_are_400_json_and_not_cacheable() {
    let h = Harness::new();
    let r = cc(&h, "grant_type=urn:example:nope");
    r.assert_error(400, "unsupported_grant_type");
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[test]
fn tk_04_missing_grant_type_is_invalid_request() {
    let h = Harness::new();
    cc(&h, "scope=api:read").assert_error(400, "invalid_request");
}

#[test]
fn tk_04_missing_code_is_invalid_request() {
    let h = Harness::new();
    cc(&h, "grant_type=authorization_code").assert_error(400, "invalid_request");
}

#[test]
fn tk_04_missing_refresh_token_is_invalid_request() {
    let h = Harness::new();
    cc(&h, "grant_type=refresh_token").assert_error(400, "invalid_request");
}

#[test]
fn tk_05_unknown_grant_type_is_unsupported_grant_type() {
    let h = Harness::new();
    cc(
        &h,
        "grant_type=urn:ietf:params:oauth:grant-type:device_code",
    )
    .assert_error(400, "unsupported_grant_type");
}

#[test]
fn tk_06_grant_not_allowed_for_client_is_unauthorized_client() {
    let h = Harness::new();
    // C2 is not configured for client_credentials.
    h.post_basic(
        "C2",
        tollgate_conformance_tests::C2_SECRET,
        "grant_type=client_credentials",
    )
    .assert_error(400, "unauthorized_client");
}

#[test]
fn tk_07_unknown_scope_is_invalid_scope() {
    let h = Harness::new();
    cc(&h, "grant_type=client_credentials&scope=not-a-scope").assert_error(400, "invalid_scope");
}

#[test]
fn tk_07_excess_scope_is_invalid_scope_not_silently_narrowed() {
    // Pinned: a scope beyond the client's allowed set is refused, never silently dropped.
    let h = Harness::new();
    cc(&h, "grant_type=client_credentials&scope=api:read+api:admin")
        .assert_error(400, "invalid_scope");
}

#[test]
fn tk_07_malformed_scope_is_invalid_scope() {
    let h = Harness::new();
    cc(&h, "grant_type=client_credentials&scope=a%22b").assert_error(400, "invalid_scope");
}

#[test]
fn tk_08_password_grant_is_refused_unless_the_client_allows_it() {
    let h = Harness::new();
    cc(&h, "grant_type=password&username=alice&password=wonderland")
        .assert_error(400, "unauthorized_client");
}

#[test]
fn gen_01_unknown_parameters_are_ignored() {
    let h = Harness::new();
    cc(&h, "grant_type=client_credentials&foo=bar&extra=").ok();
}

#[test]
fn gen_02_repeated_parameter_is_invalid_request() {
    let h = Harness::new();
    cc(&h, "grant_type=authorization_code&code=X&code=Y").assert_error(400, "invalid_request");
    cc(
        &h,
        "grant_type=client_credentials&grant_type=client_credentials",
    )
    .assert_error(400, "invalid_request");
}

#[test]
fn gen_03_empty_scope_means_default_scope() {
    let h = Harness::new();
    let r = cc(&h, "grant_type=client_credentials&scope=").ok();
    assert_eq!(r.str("scope"), Some("api:read"), "C1's default scope");
}

#[test]
fn gen_05_get_is_405_with_allow_post() {
    let h = Harness::new();
    let mut req = Request::form_post("").with_query("grant_type=client_credentials");
    req.method = Method::Get;
    let r = h.send(&req);
    r.assert_error(405, "invalid_request");
    assert_eq!(r.header("allow"), Some("POST"));
}

#[test]
fn wrong_content_type_is_invalid_request() {
    let h = Harness::new();
    let mut req = Request::form_post("grant_type=client_credentials");
    req.headers.clear();
    req.headers
        .push(("Content-Type".into(), "application/json".into()));
    h.send(&req).assert_error(400, "invalid_request");
}

#[test]
fn form_content_type_with_charset_is_accepted() {
    let h = Harness::new();
    let mut req = Request::form_post("grant_type=client_credentials").with_header(
        "Authorization",
        &tollgate_conformance_tests::basic("C1", C1_SECRET),
    );
    req.headers[0].1 = "application/x-www-form-urlencoded; charset=UTF-8".into();
    assert_eq!(h.send(&req).status(), 200);
}

#[test]
fn oversized_body_is_invalid_request() {
    let h = Harness::new();
    let body = format!(
        "grant_type=client_credentials&pad={}",
        "a".repeat(17 * 1024)
    );
    cc(&h, &body).assert_error(400, "invalid_request");
}

#[test]
fn gen_06_credentials_in_the_query_never_authenticate() {
    let h = Harness::new();
    let req = Request::form_post("grant_type=client_credentials")
        .with_query(&format!("client_id=C1&client_secret={C1_SECRET}"));
    let r = h.send(&req);
    assert_ne!(r.status(), 200);
    r.assert_error(400, "invalid_request");
}

#[test]
fn gen_07_error_members_use_the_rfc_alphabet() {
    let h = Harness::new();
    let bodies = [
        "grant_type=x",
        "",
        "grant_type=authorization_code",
        "grant_type=authorization_code&code=nope",
        "grant_type=refresh_token&refresh_token=nope",
        "grant_type=client_credentials&scope=zzz",
        "grant_type=password&username=a&password=b",
        "a=%FF",
        "code=1&code=2",
    ];
    for body in bodies {
        for r in [
            cc(&h, body),
            h.post(body),
            h.post_basic("C1", "wrong", body),
        ] {
            assert_ne!(r.status(), 200, "{body}");
            let allowed = |s: &str| {
                s.bytes()
                    .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
            };
            assert!(allowed(r.error().unwrap()), "{}", r.json);
            assert!(allowed(r.str("error_description").unwrap()), "{}", r.json);
        }
    }
}

#[test]
fn gen_08_gen_09_access_tokens_are_long_unique_vschar() {
    let h = Harness::new();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let at = cc(&h, "grant_type=client_credentials").ok().access_token();
        assert!(at.len() >= 43, "≥ 256 bits in base64url");
        assert!(at.bytes().all(|b| (0x20..=0x7e).contains(&b)));
        assert!(seen.insert(at));
    }
}

#[test]
fn rt_10_client_credentials_never_issues_a_refresh_token() {
    let h = Harness::new();
    let r = cc(
        &h,
        "grant_type=client_credentials&scope=api:read+offline_access",
    )
    .ok();
    assert!(r.str("refresh_token").is_none());
    assert!(
        !r.scope().contains("offline_access"),
        "offline_access is not granted without a refresh token"
    );
}

#[test]
fn cc_01_public_client_cannot_use_client_credentials() {
    let h = Harness::new();
    let r = h.post("grant_type=client_credentials&client_id=P1");
    assert_ne!(r.status(), 200);
    r.assert_error(400, "unauthorized_client");
}
