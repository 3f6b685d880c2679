//! The authorization-code grant at the token endpoint (RFC 6749 §4.1.3, RFC 7636,
//! OAuth 2.1): AC-01 … AC-08, AZ-09, PK-06, OI-11 and the refresh-token issuance rule.

use tollgate::{ClientId, CodeGrant, PkceChallenge, PkceMethod, Scope, SpaRefreshTokens, Subject};
use tollgate_conformance_tests::{
    enc, s256, Harness, C1_REDIRECT, C1_SECRET, C2_SECRET, P1_REDIRECT, RFC7636_CHALLENGE,
    RFC7636_VERIFIER,
};

fn redeem_c1(h: &Harness, code: &str) -> tollgate_conformance_tests::Reply {
    h.post_basic(
        "C1",
        C1_SECRET,
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}",
            enc(C1_REDIRECT)
        ),
    )
}

fn redeem_p1(h: &Harness, code: &str, verifier: &str) -> tollgate_conformance_tests::Reply {
    h.post(&format!(
        "grant_type=authorization_code&client_id=P1&code={code}&redirect_uri={}&code_verifier={verifier}",
        enc(P1_REDIRECT)
    ))
}

#[test]
fn code_exchange_returns_tokens_with_the_consented_scope() {
    let h = Harness::new();
    let r = h.c1_tokens("openid api:read").ok();
    assert_eq!(r.scope(), Scope::parse("openid api:read").unwrap());
    assert!(
        r.str("refresh_token").is_none(),
        "no offline_access, no refresh token"
    );
}

#[test]
fn ac_01_a_code_is_redeemed_once() {
    let h = Harness::new();
    let code = h.code("C1", C1_REDIRECT, "openid", None);
    redeem_c1(&h, &code).ok();
    redeem_c1(&h, &code).assert_error(400, "invalid_grant");
    h.advance(30);
    redeem_c1(&h, &code).assert_error(400, "invalid_grant");
}

#[test]
fn ac_02_a_valid_replay_revokes_the_tokens_issued_from_the_code() {
    let h = Harness::new();
    let code = h.code("C1", C1_REDIRECT, "openid offline_access", None);
    let first = redeem_c1(&h, &code).ok();
    let (at, rt) = (first.access_token(), first.refresh_token());
    assert!(h.access_active(&at));
    redeem_c1(&h, &code).assert_error(400, "invalid_grant");
    assert!(!h.access_active(&at), "the first access token is revoked");
    h.c1_refresh(&rt).assert_error(400, "invalid_grant");
}

#[test]
fn ac_02_replay_also_revokes_tokens_refreshed_from_the_code() {
    let h = Harness::new();
    let code = h.code("C1", C1_REDIRECT, "openid offline_access", None);
    let first = redeem_c1(&h, &code).ok();
    let second = h.c1_refresh(&first.refresh_token()).ok();
    redeem_c1(&h, &code).assert_error(400, "invalid_grant");
    assert!(!h.access_active(&second.access_token()));
    h.c1_refresh(&second.refresh_token())
        .assert_error(400, "invalid_grant");
}

#[test]
fn ac_03_an_invalid_replay_revokes_nothing() {
    let h = Harness::new();
    let code = h.code(
        "P1",
        P1_REDIRECT,
        "openid offline_access",
        Some(RFC7636_CHALLENGE),
    );
    let first = redeem_p1(&h, &code, RFC7636_VERIFIER).ok();
    // Wrong verifier.
    redeem_p1(&h, &code, &"x".repeat(43)).assert_error(400, "invalid_grant");
    // Another client.
    h.post_basic(
        "C2",
        C2_SECRET,
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}",
            enc(P1_REDIRECT)
        ),
    )
    .assert_error(400, "invalid_grant");
    // Wrong client secret for the right client id never reaches the code at all.
    assert!(
        h.access_active(&first.access_token()),
        "original tokens survive invalid replays"
    );
    h.p1_refresh(&first.refresh_token()).ok();
}

#[test]
fn ac_03_replay_with_wrong_client_secret_revokes_nothing() {
    let h = Harness::new();
    let code = h.code("C1", C1_REDIRECT, "openid", None);
    let first = redeem_c1(&h, &code).ok();
    h.post_basic(
        "C1",
        "wrong",
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}",
            enc(C1_REDIRECT)
        ),
    )
    .assert_error(401, "invalid_client");
    assert!(h.access_active(&first.access_token()));
}

#[test]
fn ac_04_a_code_is_bound_to_its_client() {
    let h = Harness::new();
    let code = h.code("C1", C1_REDIRECT, "openid", None);
    h.post_basic(
        "C2",
        C2_SECRET,
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}",
            enc(C1_REDIRECT)
        ),
    )
    .assert_error(400, "invalid_grant");
    // The failed attempt did not consume the code.
    redeem_c1(&h, &code).ok();
}

#[test]
fn ac_05_redirect_uri_must_match_when_sent_at_authorize() {
    let h = Harness::new();
    let code = h.code("C1", C1_REDIRECT, "openid", None);
    for bad in [
        "https://rp.test/cb/",
        "https://rp.test/CB",
        "https://rp.test/cb?x=1",
    ] {
        h.post_basic(
            "C1",
            C1_SECRET,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                enc(bad)
            ),
        )
        .assert_error(400, "invalid_grant");
    }
    h.post_basic(
        "C1",
        C1_SECRET,
        &format!("grant_type=authorization_code&code={code}"),
    )
    .assert_error(400, "invalid_grant");
    redeem_c1(&h, &code).ok();
}

#[test]
fn ac_05_redirect_uri_may_be_omitted_when_authorize_omitted_it() {
    let h = Harness::new();
    let code = h.code_for(CodeGrant {
        client_id: ClientId::new("C1").unwrap(),
        redirect_uri: C1_REDIRECT.into(),
        redirect_uri_sent: false,
        scope: Scope::parse("api:read").unwrap(),
        pkce: None,
        nonce: None,
        subject: Subject::new("alice"),
    });
    h.post_basic(
        "C1",
        C1_SECRET,
        &format!("grant_type=authorization_code&code={code}"),
    )
    .ok();
}

#[test]
fn ac_06_rfc7636_appendix_b_vector_succeeds() {
    let h = Harness::new();
    let code = h.code("P1", P1_REDIRECT, "openid", Some(RFC7636_CHALLENGE));
    redeem_p1(&h, &code, RFC7636_VERIFIER).ok();
}

#[test]
fn ac_06_wrong_or_missing_verifier_is_invalid_grant() {
    let h = Harness::new();
    let code = h.code("P1", P1_REDIRECT, "openid", Some(RFC7636_CHALLENGE));
    redeem_p1(&h, &code, &RFC7636_VERIFIER.replace('d', "e")).assert_error(400, "invalid_grant");
    h.post(&format!(
        "grant_type=authorization_code&client_id=P1&code={code}&redirect_uri={}",
        enc(P1_REDIRECT)
    ))
    .assert_error(400, "invalid_grant");
    redeem_p1(&h, &code, RFC7636_VERIFIER).ok();
}

#[test]
fn ac_07_verifier_without_challenge_is_a_downgrade_and_refused() {
    let h = Harness::new();
    let code = h.code("C1", C1_REDIRECT, "openid", None);
    h.post_basic(
        "C1",
        C1_SECRET,
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={RFC7636_VERIFIER}",
            enc(C1_REDIRECT)
        ),
    )
    .assert_error(400, "invalid_request");
}

#[test]
fn ac_08_verifier_syntax_is_checked() {
    // Pinned: a malformed verifier is `invalid_grant`, like a wrong one.
    let h = Harness::new();
    for bad in [
        "a".repeat(42),
        "a".repeat(129),
        format!("{}+", "a".repeat(42)),
        format!("{}=", "a".repeat(42)),
        format!("{}/", "a".repeat(42)),
    ] {
        let code = h.code("P1", P1_REDIRECT, "openid", Some(&s256(&bad)));
        redeem_p1(&h, &code, &enc(&bad)).assert_error(400, "invalid_grant");
    }
    for good in ["a".repeat(43), "Az09-._~".repeat(16)] {
        let code = h.code("P1", P1_REDIRECT, "openid", Some(&s256(&good)));
        redeem_p1(&h, &code, &good).ok();
    }
}

#[test]
fn az_09_expired_code_is_invalid_grant() {
    let h = Harness::new();
    let code = h.code("C1", C1_REDIRECT, "openid", None);
    h.advance(60);
    redeem_c1(&h, &code).assert_error(400, "invalid_grant");
}

#[test]
fn az_09_code_is_valid_until_its_ttl() {
    let h = Harness::new();
    let code = h.code("C1", C1_REDIRECT, "openid", None);
    h.advance(59);
    redeem_c1(&h, &code).ok();
}

#[test]
fn az_09_code_ttl_is_configurable_up_to_ten_minutes() {
    let h = Harness::with_config(|c| c.code_ttl = std::time::Duration::from_secs(600));
    let code = h.code("C1", C1_REDIRECT, "openid", None);
    h.advance(599);
    redeem_c1(&h, &code).ok();
    let code = h.code("C1", C1_REDIRECT, "openid", None);
    h.advance(11 * 60);
    redeem_c1(&h, &code).assert_error(400, "invalid_grant");
    let too_long = tollgate::Server::builder(tollgate::ServerConfig {
        code_ttl: std::time::Duration::from_secs(601),
        ..tollgate::ServerConfig::default()
    })
    .build();
    assert!(too_long.unwrap_err().to_string().contains("code_ttl"));
}

#[test]
fn pk_06_the_code_does_not_carry_the_challenge() {
    let h = Harness::new();
    let code = h.code("P1", P1_REDIRECT, "openid", Some(RFC7636_CHALLENGE));
    assert!(!code.contains(RFC7636_CHALLENGE));
    let decoded = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &code[4..],
    )
    .unwrap();
    assert_eq!(
        decoded.len(),
        32,
        "the code is 256 random bits and nothing else"
    );
}

#[test]
fn plain_pkce_is_refused_unless_configured() {
    let h = Harness::new();
    let grant = CodeGrant {
        client_id: ClientId::new("P1").unwrap(),
        redirect_uri: P1_REDIRECT.into(),
        redirect_uri_sent: true,
        scope: Scope::parse("openid").unwrap(),
        pkce: Some(PkceChallenge::new(PkceMethod::Plain, RFC7636_VERIFIER).unwrap()),
        nonce: None,
        subject: Subject::new("alice"),
    };
    assert!(h.server.mint_code(grant.clone()).is_err());
    let h = Harness::with_config(|c| c.allow_plain_pkce = true);
    let code = h.code_for(grant);
    redeem_p1(&h, &code, RFC7636_VERIFIER).ok();
}

#[test]
fn oi_11_offline_access_consented_at_authorize_yields_a_refresh_token() {
    let h = Harness::new();
    let r = h.c1_tokens("openid offline_access").ok();
    assert!(r.refresh_token().starts_with("tgr_"));
    assert!(r.scope().contains("offline_access"));
}

#[test]
fn offline_access_cannot_be_requested_at_the_token_endpoint() {
    let h = Harness::new();
    let code = h.code("C1", C1_REDIRECT, "openid", None);
    let r = h
        .post_basic(
            "C1",
            C1_SECRET,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&scope=openid+offline_access",
                enc(C1_REDIRECT)
            ),
        )
        .ok();
    assert!(r.str("refresh_token").is_none());
    assert!(!r.scope().contains("offline_access"));
}

#[test]
fn no_refresh_token_for_a_client_without_the_refresh_grant() {
    let h = Harness::new();
    let code = h.code("NR", C1_REDIRECT, "openid offline_access", None);
    let r = h
        .post_basic(
            "NR",
            tollgate_conformance_tests::NR_SECRET,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                enc(C1_REDIRECT)
            ),
        )
        .ok();
    assert!(r.str("refresh_token").is_none());
    assert!(
        !r.scope().contains("offline_access"),
        "offline_access is dropped when no refresh token is issued"
    );
}

fn spa_tokens(h: &Harness) -> tollgate_conformance_tests::Reply {
    let code = h.code(
        "SPA",
        P1_REDIRECT,
        "openid offline_access",
        Some(RFC7636_CHALLENGE),
    );
    h.post(&format!(
        "grant_type=authorization_code&client_id=SPA&code={code}&redirect_uri={}&code_verifier={RFC7636_VERIFIER}",
        enc(P1_REDIRECT)
    ))
}

#[test]
fn spa_gets_rotating_refresh_tokens_by_default() {
    let h = Harness::new();
    let rt = spa_tokens(&h).ok().refresh_token();
    let next = h
        .post(&format!(
            "grant_type=refresh_token&client_id=SPA&refresh_token={rt}"
        ))
        .ok();
    assert_ne!(next.refresh_token(), rt);
}

#[test]
fn spa_gets_no_refresh_token_when_the_switch_is_off() {
    let h = Harness::with_config(|c| c.spa_refresh_tokens = SpaRefreshTokens::Disabled);
    let r = spa_tokens(&h).ok();
    assert!(r.str("refresh_token").is_none());
    // Other clients are unaffected.
    assert!(h
        .p1_tokens("openid offline_access")
        .ok()
        .refresh_token()
        .starts_with("tgr_"));
}
