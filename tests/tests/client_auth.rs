//! Client authentication at the token endpoint (RFC 6749 §2.3, §3.2.1; OIDC Core §9):
//! CA-01 … CA-09.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use tollgate::Request;
use tollgate_conformance_tests::{
    basic, Harness, C1_SECRET, C2_SECRET, C3_ID, C3_SECRET, POST_SECRET,
};

const CC: &str = "grant_type=client_credentials";

#[test]
fn ca_01_basic_credentials_are_form_urlencoded_before_base64() {
    let h = Harness::new();
    // base64("c3%3Ax+y:p%40ss%3Aw%2Frd%2B%25%26%3D"), as the conformance suite's URLEncoder makes it.
    let header = format!(
        "Basic {}",
        STANDARD.encode("c3%3Ax+y:p%40ss%3Aw%2Frd%2B%25%26%3D")
    );
    assert_eq!(basic(C3_ID, C3_SECRET), header);
    h.send(&Request::form_post(CC).with_header("Authorization", &header))
        .ok();
}

#[test]
fn ca_01_percent_20_for_space_is_accepted_too() {
    let h = Harness::new();
    let header = format!(
        "Basic {}",
        STANDARD.encode("c3%3Ax%20y:p%40ss%3Aw%2Frd%2B%25%26%3D")
    );
    h.send(&Request::form_post(CC).with_header("Authorization", &header))
        .ok();
}

#[test]
fn ca_01_unencoded_reserved_characters_fail_with_401() {
    // Pinned: the first ':' splits id from secret, so raw "c3:x y:p@ss…" names client "c3".
    let h = Harness::new();
    let header = format!("Basic {}", STANDARD.encode(format!("{C3_ID}:{C3_SECRET}")));
    h.send(&Request::form_post(CC).with_header("Authorization", &header))
        .assert_error(401, "invalid_client");
}

#[test]
fn basic_scheme_is_case_insensitive() {
    let h = Harness::new();
    let header = basic("C1", C1_SECRET).replacen("Basic", "bAsIc", 1);
    h.send(&Request::form_post(CC).with_header("authorization", &header))
        .ok();
}

#[test]
fn ca_02_client_secret_post_authenticates() {
    let h = Harness::new();
    h.post(&format!("{CC}&client_id=CPOST&client_secret={POST_SECRET}"))
        .ok();
}

#[test]
fn ca_03_wrong_basic_secret_is_401_with_basic_challenge() {
    let h = Harness::new();
    let r = h.post_basic("C1", "wrong-secret", CC);
    r.assert_error(401, "invalid_client");
    let challenge = r.header("www-authenticate").expect("WWW-Authenticate");
    assert!(challenge.starts_with("Basic realm=\""), "{challenge}");
}

#[test]
fn ca_03_wrong_body_secret_is_invalid_client_without_challenge() {
    let h = Harness::new();
    let r = h.post(&format!("{CC}&client_id=CPOST&client_secret=wrong"));
    r.assert_error(400, "invalid_client");
    assert!(r.header("www-authenticate").is_none());
}

#[test]
fn ca_03_unknown_client_is_invalid_client() {
    let h = Harness::new();
    h.post_basic("nobody", C1_SECRET, CC)
        .assert_error(401, "invalid_client");
    h.post(&format!("{CC}&client_id=nobody&client_secret=x"))
        .assert_error(400, "invalid_client");
}

#[test]
fn ca_03_malformed_basic_header_is_401() {
    let h = Harness::new();
    for header in ["Basic", "Basic !!!", "Basic bm9jb2xvbg==", "Bearer abc"] {
        h.send(&Request::form_post(CC).with_header("Authorization", header))
            .assert_error(401, "invalid_client");
    }
}

#[test]
fn ca_04_confidential_client_without_authentication_is_invalid_client() {
    let h = Harness::new();
    let code = h.code(
        "C1",
        tollgate_conformance_tests::C1_REDIRECT,
        "openid",
        None,
    );
    h.post(&format!(
        "grant_type=authorization_code&client_id=C1&code={code}"
    ))
    .assert_error(400, "invalid_client");
}

#[test]
fn ca_04_no_client_identification_at_all_is_invalid_client() {
    let h = Harness::new();
    h.post(CC).assert_error(400, "invalid_client");
}

#[test]
fn ca_05_basic_and_body_secret_together_is_invalid_request() {
    let h = Harness::new();
    h.post_basic("C1", C1_SECRET, &format!("{CC}&client_secret={C1_SECRET}"))
        .assert_error(400, "invalid_request");
}

#[test]
fn ca_05_basic_and_client_assertion_together_is_invalid_request() {
    let h = Harness::new();
    h.post_basic(
        "C1",
        C1_SECRET,
        &format!("{CC}&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c"),
    )
    .assert_error(400, "invalid_request");
}

#[test]
fn ca_05_repeated_authorization_header_is_invalid_request() {
    let h = Harness::new();
    let req = Request::form_post(CC)
        .with_header("Authorization", &basic("C1", C1_SECRET))
        .with_header("Authorization", &basic("C2", C2_SECRET));
    h.send(&req).assert_error(400, "invalid_request");
}

#[test]
fn ca_06_only_the_registered_method_is_accepted() {
    let h = Harness::new();
    // C1 is registered for client_secret_basic; the right secret in the body is refused.
    h.post(&format!("{CC}&client_id=C1&client_secret={C1_SECRET}"))
        .assert_error(400, "invalid_client");
    // CPOST is registered for client_secret_post; Basic is refused.
    h.post_basic("CPOST", POST_SECRET, CC)
        .assert_error(401, "invalid_client");
    // J1 is registered for private_key_jwt; a Basic secret is refused.
    h.post_basic("J1", "anything", CC)
        .assert_error(401, "invalid_client");
}

#[test]
fn ca_06_a_malformed_jwt_assertion_is_invalid_client() {
    let h = Harness::new();
    h.post(&format!(
        "{CC}&client_id=J1&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer&client_assertion=a.b.c"
    ))
    .assert_error(400, "invalid_client");
}

#[test]
fn ja_01_wrong_client_assertion_type_is_invalid_request() {
    let h = Harness::new();
    h.post(&format!(
        "{CC}&client_id=J1&client_assertion_type=urn%3Afoo&client_assertion=a.b.c"
    ))
    .assert_error(400, "invalid_request");
}

#[test]
fn ca_08_body_client_id_must_match_basic_client() {
    let h = Harness::new();
    h.post_basic("C1", C1_SECRET, &format!("{CC}&client_id=C2"))
        .assert_error(400, "invalid_request");
    // Naming the same client is fine.
    h.post_basic("C1", C1_SECRET, &format!("{CC}&client_id=C1"))
        .ok();
}

#[test]
fn ca_09_public_client_without_client_id_cannot_redeem_a_code() {
    let h = Harness::new();
    let code = h.code(
        "P1",
        tollgate_conformance_tests::P1_REDIRECT,
        "openid",
        Some(tollgate_conformance_tests::RFC7636_CHALLENGE),
    );
    h.post(&format!(
        "grant_type=authorization_code&code={code}&code_verifier={}",
        tollgate_conformance_tests::RFC7636_VERIFIER
    ))
    .assert_error(400, "invalid_client");
}

#[test]
fn public_client_cannot_authenticate_with_a_secret() {
    let h = Harness::new();
    h.post("grant_type=refresh_token&refresh_token=x&client_id=P1&client_secret=guess")
        .assert_error(400, "invalid_client");
}
