//! The UserInfo endpoint (OIDC Core §5.3) with RFC 6750 bearer tokens.

use tollgate::Request;
use tollgate_conformance_tests::{Harness, C1_SECRET};

#[test]
fn claims_are_released_by_scope() {
    let h = Harness::new();
    let at = h.c1_tokens("openid profile").ok().access_token();
    let r = h.userinfo(&at);
    assert_eq!(r.status(), 200);
    assert_eq!(r.str("sub"), Some("alice"));
    assert_eq!(r.str("name"), Some("Alice Liddell"));
    assert!(r.json.get("email").is_none(), "email needs the email scope");
    let at = h.c1_tokens("openid email").ok().access_token();
    let r = h.userinfo(&at);
    assert_eq!(r.str("email"), Some("alice@example.com"));
    assert!(r.json.get("name").is_none());
}

#[test]
fn post_with_a_form_token_works_too() {
    let h = Harness::new();
    let at = h.c1_tokens("openid").ok().access_token();
    let r = h.userinfo_request(&Request::form_post(format!("access_token={at}")));
    assert_eq!(r.str("sub"), Some("alice"));
}

#[test]
fn no_token_is_401_with_a_bare_bearer_challenge() {
    let h = Harness::new();
    let mut req = Request::form_post(Vec::new());
    req.method = tollgate::Method::Get;
    let r = h.userinfo_request(&req);
    assert_eq!(r.status(), 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
}

#[test]
fn an_invalid_revoked_or_expired_token_is_invalid_token() {
    let h = Harness::new();
    let check = |r: tollgate_conformance_tests::Reply| {
        assert_eq!(r.status(), 401);
        assert!(r
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\""));
    };
    check(h.userinfo("garbage"));
    let at = h.c1_tokens("openid").ok().access_token();
    h.revoke("C1", C1_SECRET, &format!("token={at}"));
    check(h.userinfo(&at));
    let at = h.c1_tokens("openid").ok().access_token();
    h.advance(3600);
    check(h.userinfo(&at));
}

#[test]
fn ac_02_userinfo_rejects_the_access_token_of_a_replayed_code() {
    let h = Harness::new();
    let code = h.code(
        "C1",
        tollgate_conformance_tests::C1_REDIRECT,
        "openid",
        None,
    );
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}",
        tollgate_conformance_tests::enc(tollgate_conformance_tests::C1_REDIRECT)
    );
    let at = h.post_basic("C1", C1_SECRET, &body).ok().access_token();
    assert_eq!(h.userinfo(&at).status(), 200);
    h.post_basic("C1", C1_SECRET, &body)
        .assert_error(400, "invalid_grant");
    assert_eq!(h.userinfo(&at).status(), 401);
}

#[test]
fn a_token_without_openid_is_insufficient_scope() {
    let h = Harness::new();
    let at = h.c1_tokens("api:read").ok().access_token();
    let r = h.userinfo(&at);
    assert_eq!(r.status(), 403);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("insufficient_scope"));
}

#[test]
fn a_token_sent_two_ways_is_invalid_request() {
    let h = Harness::new();
    let at = h.c1_tokens("openid").ok().access_token();
    let req = Request::form_post(format!("access_token={at}"))
        .with_header("Authorization", &format!("Bearer {at}"));
    assert_eq!(h.userinfo_request(&req).status(), 400);
}

#[test]
fn a_user_who_is_gone_is_invalid_token() {
    let h = Harness::new();
    let r = h.post_basic(
        "PW",
        tollgate_conformance_tests::PW_SECRET,
        "grant_type=password&username=bob&password=builder&scope=openid",
    );
    // PW may only have api-ish scopes? It shares C1's allowed scopes, so openid is fine.
    let at = r.ok().access_token();
    assert_eq!(h.userinfo(&at).str("sub"), Some("bob"));
    let code = h.code_for(tollgate::CodeGrant {
        client_id: tollgate::ClientId::new("C1").unwrap(),
        redirect_uri: tollgate_conformance_tests::C1_REDIRECT.into(),
        redirect_uri_sent: false,
        scope: tollgate::Scope::parse("openid").unwrap(),
        pkce: None,
        nonce: None,
        subject: tollgate::Subject::new("carol"),
    });
    let at = h
        .post_basic(
            "C1",
            C1_SECRET,
            &format!("grant_type=authorization_code&code={code}"),
        )
        .ok()
        .access_token();
    assert_eq!(h.userinfo(&at).status(), 401);
}
