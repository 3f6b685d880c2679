//! JWT client authentication (RFC 7523 §2.2, OIDC Core §9: JA-01 … JA-10) and the
//! JWT-bearer authorization grant (RFC 7523 §2.1: JB-01 … JB-04).

use serde_json::json;
use tollgate::jose::sign_compact_hs256;
use tollgate_conformance_tests::{
    idp_key, j1_assertion, j1_key, sign, Harness, Reply, IDP, ISSUER, J2_JWT_SECRET, NR_SECRET,
};

const TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

fn with_assertion(h: &Harness, client: &str, assertion: &str) -> Reply {
    h.post(&format!(
        "grant_type=client_credentials&client_id={client}&client_assertion_type={TYPE}&client_assertion={assertion}"
    ))
}

fn j1(h: &Harness, claims: serde_json::Value) -> Reply {
    with_assertion(h, "J1", &sign(&j1_key(), &claims))
}

fn base(h: &Harness) -> serde_json::Value {
    let now = h.clock_now().0;
    json!({"iss": "J1", "sub": "J1", "aud": ISSUER, "exp": now + 60, "iat": now, "jti": "j-1"})
}

fn with(mut v: serde_json::Value, key: &str, value: serde_json::Value) -> serde_json::Value {
    v[key] = value;
    v
}

fn without(mut v: serde_json::Value, key: &str) -> serde_json::Value {
    v.as_object_mut().unwrap().remove(key);
    v
}

#[test]
fn private_key_jwt_authenticates() {
    let h = Harness::new();
    j1(&h, base(&h)).ok();
    // client_id may be omitted: the assertion names the client.
    h.post(&format!(
        "grant_type=client_credentials&client_assertion_type={TYPE}&client_assertion={}",
        j1_assertion(h.clock_now(), "j-2")
    ))
    .ok();
}

#[test]
fn ja_01_two_concatenated_jwts_are_invalid_client() {
    let h = Harness::new();
    let a = j1_assertion(h.clock_now(), "j-1");
    with_assertion(&h, "J1", &format!("{a}.{a}")).assert_error(400, "invalid_client");
}

#[test]
fn ja_02_iss_and_sub_must_be_the_client() {
    let h = Harness::new();
    j1(&h, without(base(&h), "sub")).assert_error(400, "invalid_client");
    j1(&h, with(base(&h), "iss", json!("J2"))).assert_error(400, "invalid_client");
    j1(&h, with(base(&h), "sub", json!("J2"))).assert_error(400, "invalid_client");
}

#[test]
fn ja_03_aud_must_be_this_server_alone() {
    let h = Harness::new();
    j1(&h, with(base(&h), "aud", json!("https://other.example")))
        .assert_error(400, "invalid_client");
    j1(&h, with(base(&h), "aud", json!([ISSUER, "https://evil"])))
        .assert_error(400, "invalid_client");
    j1(
        &h,
        with(
            with(base(&h), "aud", json!("https://as.test/token")),
            "jti",
            json!("t"),
        ),
    )
    .ok();
    j1(
        &h,
        with(with(base(&h), "aud", json!([ISSUER])), "jti", json!("a")),
    )
    .ok();
}

#[test]
fn ja_04_exp_is_required_and_checked() {
    let h = Harness::new();
    let now = h.clock_now().0;
    j1(&h, with(base(&h), "exp", json!(now - 300))).assert_error(400, "invalid_client");
    j1(&h, without(base(&h), "exp")).assert_error(400, "invalid_client");
    j1(&h, with(base(&h), "exp", json!(now + 2 * 3600))).assert_error(400, "invalid_client");
}

#[test]
fn ja_05_nbf_and_iat_may_not_lie_far_in_the_future() {
    let h = Harness::new();
    let now = h.clock_now().0;
    j1(&h, with(base(&h), "nbf", json!(now + 8))).ok();
    j1(
        &h,
        with(with(base(&h), "nbf", json!(now + 61)), "jti", json!("n2")),
    )
    .assert_error(400, "invalid_client");
    j1(
        &h,
        with(with(base(&h), "iat", json!(now + 61)), "jti", json!("n3")),
    )
    .assert_error(400, "invalid_client");
}

#[test]
fn ja_06_jti_is_required_and_single_use() {
    let h = Harness::new();
    j1(&h, without(base(&h), "jti")).assert_error(400, "invalid_client");
    let a = j1_assertion(h.clock_now(), "once");
    with_assertion(&h, "J1", &a).ok();
    with_assertion(&h, "J1", &a).assert_error(400, "invalid_client");
}

#[test]
fn ja_06_a_failed_request_does_not_spend_the_jti_of_another_client() {
    let h = Harness::new();
    // The same jti value from another issuer (client) is a different marker.
    j1(&h, with(base(&h), "jti", json!("shared"))).ok();
    let now = h.clock_now().0;
    let payload = serde_json::to_vec(
        &json!({"iss": "J2", "sub": "J2", "aud": ISSUER, "exp": now + 60, "jti": "shared"}),
    )
    .unwrap();
    let a = sign_compact_hs256(J2_JWT_SECRET.as_bytes(), None, None, &payload).unwrap();
    with_assertion(&h, "J2", &a).ok();
}

#[test]
fn ja_07_bad_signature_unknown_key_or_alg_none_are_refused() {
    let h = Harness::new();
    let good = j1_assertion(h.clock_now(), "s1");
    let mut tampered = good.clone().into_bytes();
    let i = tampered.len() - 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    with_assertion(&h, "J1", &String::from_utf8(tampered).unwrap())
        .assert_error(400, "invalid_client");
    let stranger = tollgate_conformance_tests::ed25519_key(77, "j1-key");
    with_assertion(&h, "J1", &sign(&stranger, &base(&h))).assert_error(400, "invalid_client");
    let none = format!(
        "{}.{}.",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            br#"{"alg":"none"}"#
        ),
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(&base(&h)).unwrap()
        )
    );
    with_assertion(&h, "J1", &none).assert_error(400, "invalid_client");
}

#[test]
fn ja_07_a_private_key_jwt_client_cannot_use_hs256() {
    let h = Harness::new();
    let payload = serde_json::to_vec(&base(&h)).unwrap();
    // HMAC keyed with the client's own public JWK: the classic algorithm confusion.
    let public = serde_json::to_vec(&j1_key().public_jwk()).unwrap();
    let a = sign_compact_hs256(&public, None, None, &payload).unwrap();
    with_assertion(&h, "J1", &a).assert_error(400, "invalid_client");
}

#[test]
fn ja_08_client_secret_jwt_uses_the_shared_key() {
    let h = Harness::new();
    let now = h.clock_now().0;
    let claims = json!({"iss": "J2", "sub": "J2", "aud": ISSUER, "exp": now + 60, "jti": "h1"});
    let payload = serde_json::to_vec(&claims).unwrap();
    let a = sign_compact_hs256(J2_JWT_SECRET.as_bytes(), None, None, &payload).unwrap();
    with_assertion(&h, "J2", &a).ok();
    let wrong =
        sign_compact_hs256(b"not-the-shared-key-0123456789abcdef", None, None, &payload).unwrap();
    with_assertion(&h, "J2", &wrong).assert_error(400, "invalid_client");
}

#[test]
fn ja_10_explicit_typing_is_accepted_and_access_tokens_are_not_assertions() {
    let h = Harness::new();
    let typed =
        tollgate::jose::jwt::encode(&j1_key(), Some("client-authentication+jwt"), &base(&h))
            .unwrap();
    with_assertion(&h, "J1", &typed).ok();
    let at = tollgate::jose::jwt::encode(
        &j1_key(),
        Some("at+jwt"),
        &with(base(&h), "jti", json!("x")),
    )
    .unwrap();
    with_assertion(&h, "J1", &at).assert_error(400, "invalid_client");
}

#[test]
fn assertions_authenticate_revocation_and_introspection_too() {
    let h = Harness::new();
    let at = h
        .post_basic(
            "C1",
            tollgate_conformance_tests::C1_SECRET,
            "grant_type=client_credentials",
        )
        .ok()
        .access_token();
    let req = tollgate::Request::form_post(format!(
        "token={at}&client_id=J1&client_assertion_type={TYPE}&client_assertion={}",
        j1_assertion(h.clock_now(), "i1")
    ));
    let r = Reply::from(h.server.introspect(&req, &h.store));
    assert_eq!(r.json["active"], true);
    let again = Reply::from(h.server.introspect(&req, &h.store));
    again.assert_error(401, "invalid_client");
}

// ---- the JWT-bearer grant -----------------------------------------------------------------

const GRANT: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";

fn idp_claims(h: &Harness) -> serde_json::Value {
    let now = h.clock_now().0;
    json!({"iss": IDP, "sub": "u-42", "aud": ISSUER, "exp": now + 300, "iat": now, "jti": "g-1"})
}

fn bearer(h: &Harness, assertion: &str, extra: &str) -> Reply {
    h.post_basic(
        "JB",
        NR_SECRET,
        &format!("grant_type={GRANT}&assertion={assertion}{extra}"),
    )
}

#[test]
fn jb_01_a_trusted_issuers_jwt_is_a_grant() {
    let h = Harness::new();
    let r = bearer(&h, &sign(&idp_key(), &idp_claims(&h)), "").ok();
    assert_eq!(r.str("scope"), Some("api:read"));
    assert!(r.str("refresh_token").is_none());
    let i = h.introspect(
        "C1",
        tollgate_conformance_tests::C1_SECRET,
        &format!("token={}", r.access_token()),
    );
    assert_eq!(
        i.str("sub"),
        Some("idp|u-42"),
        "the issuer's prefix keeps its users apart"
    );
}

#[test]
fn jb_01_missing_assertion_is_invalid_request() {
    let h = Harness::new();
    h.post_basic("JB", NR_SECRET, &format!("grant_type={GRANT}"))
        .assert_error(400, "invalid_request");
}

#[test]
fn jb_01_offline_access_yields_a_refresh_token_where_the_issuer_allows_it() {
    let h = Harness::new();
    let r = bearer(
        &h,
        &sign(&idp_key(), &idp_claims(&h)),
        "&scope=openid+offline_access",
    )
    .ok();
    let rt = r.refresh_token();
    h.post_basic(
        "JB",
        NR_SECRET,
        &format!("grant_type=refresh_token&refresh_token={rt}"),
    )
    .ok();
}

#[test]
fn jb_02_defects_are_invalid_grant() {
    let h = Harness::new();
    let now = h.clock_now().0;
    let cases = [
        with(idp_claims(&h), "exp", json!(now - 120)),
        with(idp_claims(&h), "nbf", json!(now + 600)),
        without(idp_claims(&h), "sub"),
        without(idp_claims(&h), "exp"),
        with(idp_claims(&h), "iss", json!("https://untrusted.test")),
    ];
    for c in cases {
        bearer(&h, &sign(&idp_key(), &c), "").assert_error(400, "invalid_grant");
    }
    let stranger = tollgate_conformance_tests::ed25519_key(55, "idp-key");
    bearer(&h, &sign(&stranger, &idp_claims(&h)), "").assert_error(400, "invalid_grant");
}

#[test]
fn jb_02_a_jti_is_single_use() {
    let h = Harness::new();
    let a = sign(&idp_key(), &idp_claims(&h));
    bearer(&h, &a, "").ok();
    bearer(&h, &a, "").assert_error(400, "invalid_grant");
}

#[test]
fn jb_03_client_credentials_present_are_validated() {
    let h = Harness::new();
    let a = sign(&idp_key(), &idp_claims(&h));
    h.post_basic("JB", "wrong", &format!("grant_type={GRANT}&assertion={a}"))
        .assert_error(401, "invalid_client");
}

#[test]
fn jb_04_aud_must_name_this_server() {
    let h = Harness::new();
    bearer(
        &h,
        &sign(
            &idp_key(),
            &with(idp_claims(&h), "aud", json!("https://other")),
        ),
        "",
    )
    .assert_error(400, "invalid_grant");
    bearer(
        &h,
        &sign(
            &idp_key(),
            &with(idp_claims(&h), "aud", json!("https://as.test/token")),
        ),
        "",
    )
    .ok();
}

#[test]
fn jwt_bearer_scope_is_bounded_by_client_and_issuer() {
    let h = Harness::new();
    bearer(&h, &sign(&idp_key(), &idp_claims(&h)), "&scope=profile")
        .assert_error(400, "invalid_scope");
}

#[test]
fn jwt_bearer_needs_the_grant_type_allowed() {
    let h = Harness::new();
    let a = sign(&idp_key(), &idp_claims(&h));
    h.post_basic(
        "C1",
        tollgate_conformance_tests::C1_SECRET,
        &format!("grant_type={GRANT}&assertion={a}"),
    )
    .assert_error(400, "unauthorized_client");
}
