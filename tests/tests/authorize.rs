//! The authorization endpoint (RFC 6749 §3.1, §4.1; RFC 7636; OIDC Core §3.1.2; RFC 9207):
//! AZ-*, RU-*, PK-*, OI-* by checklist id, and whole flows in-process with a fixed clock.

use tollgate::authorize::{AuthorizeOutcome, InteractionResult};
use tollgate::{Request, Scope, Subject, UnixTime};
use tollgate_conformance_tests::{
    enc, expect_error_page, expect_redirect, Harness, C1_REDIRECT, C1_SECRET, ISSUER, P1_REDIRECT,
    RFC7636_CHALLENGE, RFC7636_VERIFIER, T0,
};

fn alice() -> Subject {
    Subject {
        auth_time: Some(T0),
        ..Subject::new("alice")
    }
}

fn c1_query(extra: &str) -> String {
    format!(
        "response_type=code&client_id=C1&redirect_uri={}&scope=openid+api:read&state=xyz{extra}",
        enc(C1_REDIRECT)
    )
}

fn p1_query(extra: &str) -> String {
    format!(
        "response_type=code&client_id=P1&redirect_uri={}&scope=openid&code_challenge={RFC7636_CHALLENGE}&code_challenge_method=S256&state=s1{extra}",
        enc(P1_REDIRECT)
    )
}

/// Remembers alice's consent to C1's `openid api:read` through one full flow.
fn consented(h: &Harness) {
    let r = h.browser_flow(&c1_query(""), Some(&alice()), &alice());
    assert!(r.get("code").is_some());
}

fn redeem(h: &Harness, code: &str) -> tollgate_conformance_tests::Reply {
    h.post_basic(
        "C1",
        C1_SECRET,
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}",
            enc(C1_REDIRECT)
        ),
    )
}

// ---- whole flows ----------------------------------------------------------------------

#[test]
fn authorize_login_consent_code_token_refresh() {
    let h = Harness::new();
    let q = format!(
        "response_type=code&client_id=P1&redirect_uri={}&scope=openid+offline_access&code_challenge={RFC7636_CHALLENGE}&code_challenge_method=S256&state=abc&nonce=n1",
        enc(P1_REDIRECT)
    );
    let AuthorizeOutcome::Login(login) = h.authorize(&q, None) else {
        panic!("login first")
    };
    let cookie = login
        .set_browser_cookie
        .clone()
        .expect("a browser-binding cookie");
    assert_eq!(login.request.nonce.as_deref(), Some("n1"));
    let AuthorizeOutcome::Consent(consent) = h.resume(
        &login,
        cookie.expose(),
        InteractionResult::Authenticated(alice()),
    ) else {
        panic!("then consent")
    };
    assert_eq!(&*consent.subject.id, "alice");
    assert!(consent.interaction.request.scope.contains("offline_access"));
    assert!(
        consent.interaction.set_browser_cookie.is_none(),
        "the same browser keeps its cookie"
    );
    let r = expect_redirect(h.resume(
        &consent.interaction,
        cookie.expose(),
        InteractionResult::Consented,
    ));
    assert_eq!(r.status, 303);
    assert_eq!(r.base, P1_REDIRECT);
    assert_eq!(r.get("state"), Some("abc"));
    assert_eq!(r.get("iss"), Some(ISSUER));
    let code = r.get("code").unwrap();
    let tokens = h
        .post(&format!(
            "grant_type=authorization_code&client_id=P1&code={code}&redirect_uri={}&code_verifier={RFC7636_VERIFIER}",
            enc(P1_REDIRECT)
        ))
        .ok();
    assert_eq!(
        tokens.scope(),
        Scope::parse("openid offline_access").unwrap()
    );
    h.p1_refresh(&tokens.refresh_token()).ok();
}

#[test]
fn the_code_carries_subject_auth_time_nonce_and_scope() {
    let h = Harness::new();
    h.advance(100);
    let r = h.browser_flow(&c1_query("&nonce=n-123"), None, &Subject::new("alice"));
    let code = r.get("code").unwrap();
    let rec = tollgate::Store::code(&h.store, &tollgate::TokenHash::of(code))
        .unwrap()
        .unwrap();
    assert_eq!(&*rec.subject.id, "alice");
    assert_eq!(
        rec.subject.auth_time,
        Some(UnixTime(T0.0 + 100)),
        "no auth_time from the host means now"
    );
    assert_eq!(rec.nonce.as_deref(), Some("n-123"));
    assert_eq!(rec.scope, Scope::parse("openid api:read").unwrap());
    assert_eq!(
        rec.expires_at,
        UnixTime(T0.0 + 160),
        "default code lifetime 60 s"
    );
}

#[test]
fn denial_redirects_access_denied() {
    let h = Harness::new();
    let AuthorizeOutcome::Login(login) = h.authorize(&c1_query(""), None) else {
        panic!()
    };
    let cookie = login.set_browser_cookie.clone().unwrap();
    let AuthorizeOutcome::Consent(c) = h.resume(
        &login,
        cookie.expose(),
        InteractionResult::Authenticated(alice()),
    ) else {
        panic!()
    };
    let r = expect_redirect(h.resume(&c.interaction, cookie.expose(), InteractionResult::Denied));
    assert_eq!(r.error(), Some("access_denied"));
    assert_eq!(r.get("state"), Some("xyz"));
    assert!(r.get("code").is_none());
}

#[test]
fn denial_at_the_login_page_redirects_access_denied() {
    let h = Harness::new();
    let AuthorizeOutcome::Login(login) = h.authorize(&c1_query(""), None) else {
        panic!()
    };
    let cookie = login.set_browser_cookie.clone().unwrap();
    let r = expect_redirect(h.resume(&login, cookie.expose(), InteractionResult::Denied));
    assert_eq!(r.error(), Some("access_denied"));
}

#[test]
fn consent_is_remembered_per_user_client_and_scope() {
    let h = Harness::new();
    consented(&h);
    // Same scopes: no consent page.
    let r = expect_redirect(h.authorize(&c1_query(""), Some(&alice())));
    assert!(r.get("code").is_some());
    // More scopes: consent again, showing what was granted before.
    let q = c1_query("").replace("scope=openid+api:read", "scope=openid+api:read+email");
    let AuthorizeOutcome::Consent(c) = h.authorize(&q, Some(&alice())) else {
        panic!("consent for email")
    };
    assert_eq!(c.already_granted, Scope::parse("openid api:read").unwrap());
    // Another user: consent again.
    let bob = Subject {
        auth_time: Some(T0),
        ..Subject::new("bob")
    };
    assert!(matches!(
        h.authorize(&c1_query(""), Some(&bob)),
        AuthorizeOutcome::Consent(_)
    ));
}

// ---- AZ ---------------------------------------------------------------------------------

#[test]
fn az_01_get_and_post_both_work() {
    let h = Harness::new();
    consented(&h);
    assert!(expect_redirect(h.authorize(&c1_query(""), Some(&alice())))
        .get("code")
        .is_some());
    let post = Request::form_post(c1_query(""));
    assert!(expect_redirect(h.authorize_request(&post, Some(&alice())))
        .get("code")
        .is_some());
}

#[test]
fn other_methods_get_an_error_page() {
    let h = Harness::new();
    let mut req = Request::form_post(c1_query(""));
    req.method = tollgate::Method::Other;
    assert_eq!(
        expect_error_page(h.authorize_request(&req, None)).status,
        405
    );
}

#[test]
fn az_02_missing_or_unknown_response_type() {
    let h = Harness::new();
    let q = c1_query("").replace("response_type=code&", "");
    assert_eq!(
        expect_redirect(h.authorize(&q, None)).error(),
        Some("invalid_request")
    );
    let q = c1_query("").replace("response_type=code", "response_type=foo");
    assert_eq!(
        expect_redirect(h.authorize(&q, None)).error(),
        Some("unsupported_response_type")
    );
    let q = c1_query("").replace("response_type=code", "response_type=token");
    assert_eq!(
        expect_redirect(h.authorize(&q, None)).error(),
        Some("unsupported_response_type")
    );
}

#[test]
fn az_03_unknown_or_missing_client_never_redirects() {
    let h = Harness::new();
    let q = c1_query("").replace("client_id=C1", "client_id=nobody");
    expect_error_page(h.authorize(&q, None));
    let q = c1_query("").replace("client_id=C1&", "");
    expect_error_page(h.authorize(&q, None));
}

#[test]
fn az_04_a_128_character_state_is_echoed_byte_for_byte() {
    let h = Harness::new();
    consented(&h);
    let state: String = "aZ09-._~".repeat(16);
    let q = c1_query("").replace("state=xyz", &format!("state={state}"));
    assert_eq!(
        expect_redirect(h.authorize(&q, Some(&alice()))).get("state"),
        Some(state.as_str())
    );
    let q = q.replace("response_type=code", "response_type=foo");
    assert_eq!(
        expect_redirect(h.authorize(&q, Some(&alice()))).get("state"),
        Some(state.as_str())
    );
}

#[test]
fn gen_03_empty_state_is_not_echoed() {
    let h = Harness::new();
    consented(&h);
    let q = c1_query("").replace("state=xyz", "state=");
    let r = expect_redirect(h.authorize(&q, Some(&alice())));
    assert!(r.get("code").is_some());
    assert!(r.get("state").is_none());
}

#[test]
fn az_05_unknown_scope_is_invalid_scope() {
    let h = Harness::new();
    let q = c1_query("").replace("scope=openid+api:read", "scope=openid+nope");
    assert_eq!(
        expect_redirect(h.authorize(&q, None)).error(),
        Some("invalid_scope")
    );
}

#[test]
fn az_05_client_without_the_code_grant_is_unauthorized_client() {
    let h = Harness::new();
    // c3:x y only has client_credentials; it shares C1's redirect URI.
    let q = c1_query("").replace("client_id=C1", &format!("client_id={}", enc("c3:x y")));
    assert_eq!(
        expect_redirect(h.authorize(&q, None)).error(),
        Some("unauthorized_client")
    );
}

#[test]
fn az_06_error_redirects_carry_only_error_parameters() {
    let h = Harness::new();
    let q = c1_query("").replace("scope=openid+api:read", "scope=nope");
    let r = expect_redirect(h.authorize(&q, None));
    for (k, _) in &r.params {
        assert!(
            ["error", "error_description", "state", "iss"].contains(&k.as_str()),
            "unexpected {k}"
        );
    }
    assert!(r.get("code").is_none());
}

#[test]
fn az_07_unsupported_response_mode_is_400_without_redirect() {
    let h = Harness::new();
    let page = expect_error_page(h.authorize(&c1_query("&response_mode=bogus"), None));
    assert_eq!(page.status, 400);
    consented(&h);
    assert!(
        expect_redirect(h.authorize(&c1_query("&response_mode=query"), Some(&alice())))
            .get("code")
            .is_some()
    );
}

#[test]
fn az_08_scope_order_does_not_matter_and_absent_scope_means_default() {
    let h = Harness::new();
    consented(&h);
    let q = c1_query("").replace("scope=openid+api:read", "scope=api:read+openid");
    assert!(expect_redirect(h.authorize(&q, Some(&alice())))
        .get("code")
        .is_some());
    // No scope: C1's default scope `api:read`, already consented as part of the first flow.
    let q = c1_query("").replace("scope=openid+api:read&", "");
    let r = expect_redirect(h.authorize(&q, Some(&alice())));
    let rec = tollgate::Store::code(&h.store, &tollgate::TokenHash::of(r.get("code").unwrap()))
        .unwrap()
        .unwrap();
    assert_eq!(rec.scope, Scope::parse("api:read").unwrap());
}

#[test]
fn az_10_redirects_are_303_never_307() {
    let h = Harness::new();
    let r = h.browser_flow(&c1_query(""), None, &alice());
    assert_eq!(r.status, 303);
    let e = expect_redirect(h.authorize(&c1_query("&prompt=none"), None));
    assert_eq!(e.status, 303);
}

#[test]
fn az_13_iss_is_on_success_and_error_redirects() {
    let h = Harness::new();
    assert_eq!(
        h.browser_flow(&c1_query(""), None, &alice()).get("iss"),
        Some(ISSUER)
    );
    assert_eq!(
        expect_redirect(h.authorize(&c1_query("&prompt=none"), None)).get("iss"),
        Some(ISSUER)
    );
}

#[test]
fn gen_01_unknown_parameters_are_ignored() {
    let h = Harness::new();
    consented(&h);
    assert!(
        expect_redirect(h.authorize(&c1_query("&extra=foobar"), Some(&alice())))
            .get("code")
            .is_some()
    );
}

#[test]
fn gen_02_repeated_scope_redirects_invalid_request_repeated_redirect_uri_does_not() {
    let h = Harness::new();
    let r = expect_redirect(h.authorize(&c1_query("&scope=email"), None));
    assert_eq!(r.error(), Some("invalid_request"));
    assert_eq!(r.get("state"), Some("xyz"));
    expect_error_page(h.authorize(
        &c1_query(&format!("&redirect_uri={}", enc(C1_REDIRECT))),
        None,
    ));
    expect_error_page(h.authorize(&c1_query("&client_id=C1"), None));
}

// ---- RU ---------------------------------------------------------------------------------

#[test]
fn ru_01_ru_02_anything_but_the_exact_registered_uri_gets_an_error_page() {
    let h = Harness::new();
    for bad in [
        "https://rp.test/cb/",
        "https://rp.test/CB",
        "https://RP.test/cb",
        "https://rp.test/cb?x=1",
        "https://rp.test/cb#f",
        "https://rp.test:443/cb",
        "https://rp.test/cb/../cb",
        "http://rp.test/cb",
        "https://rp.test.evil/cb",
    ] {
        let q = c1_query("").replace(&enc(C1_REDIRECT), &enc(bad));
        expect_error_page(h.authorize(&q, None));
    }
}

#[test]
fn ru_02_a_registered_query_is_retained() {
    let h = Harness::new();
    let reg = "https://rp.test/cb?x=1";
    let q = format!(
        "response_type=code&client_id=C5&redirect_uri={}&scope=openid&state=s",
        enc(reg)
    );
    let r = h.browser_flow(&q, None, &alice());
    assert!(
        r.location.starts_with("https://rp.test/cb?x=1&code="),
        "{}",
        r.location
    );
    // A different or added query is not registered.
    for bad in [
        "https://rp.test/cb?x=2",
        "https://rp.test/cb?x=1&y=2",
        "https://rp.test/cb",
    ] {
        let q = q.replace(&enc(reg), &enc(bad));
        expect_error_page(h.authorize(&q, None));
    }
}

#[test]
fn ru_03_several_registered_uris_require_redirect_uri() {
    let h = Harness::new();
    expect_error_page(h.authorize("response_type=code&client_id=C4&scope=openid&state=s", None));
    let q = format!(
        "response_type=code&client_id=C4&redirect_uri={}&scope=openid",
        enc("https://rp.test/cb2")
    );
    assert_eq!(
        h.browser_flow(&q, None, &alice()).base,
        "https://rp.test/cb2"
    );
}

#[test]
fn ru_03_a_single_registered_uri_may_be_omitted_and_then_need_not_be_repeated() {
    let h = Harness::new();
    let r = h.browser_flow(
        "response_type=code&client_id=C1&scope=api:read",
        None,
        &alice(),
    );
    assert_eq!(r.base, C1_REDIRECT);
    let code = r.get("code").unwrap();
    h.post_basic(
        "C1",
        C1_SECRET,
        &format!("grant_type=authorization_code&code={code}"),
    )
    .ok();
}

#[test]
fn ru_04_loopback_redirects_match_any_port() {
    let h = Harness::new();
    let q = |uri: &str| p1_query("").replace(&enc(P1_REDIRECT), &enc(uri));
    let r = h.browser_flow(&q("http://127.0.0.1:51004/cb"), None, &alice());
    assert_eq!(r.base, "http://127.0.0.1:51004/cb");
    expect_error_page(h.authorize(&q("http://127.0.0.1:51004/other"), None));
    expect_error_page(h.authorize(&q("http://localhost:51004/cb"), None));
}

// ---- PK ---------------------------------------------------------------------------------

#[test]
fn pk_01_public_client_without_code_challenge_is_invalid_request() {
    let h = Harness::new();
    let q = format!(
        "response_type=code&client_id=P1&redirect_uri={}&scope=openid&state=s",
        enc(P1_REDIRECT)
    );
    let r = expect_redirect(h.authorize(&q, None));
    assert_eq!(r.error(), Some("invalid_request"));
    assert_eq!(r.get("state"), Some("s"));
}

#[test]
fn pk_02_unsupported_method_is_invalid_request() {
    let h = Harness::new();
    let q = p1_query("").replace("code_challenge_method=S256", "code_challenge_method=S512");
    assert_eq!(
        expect_redirect(h.authorize(&q, None)).error(),
        Some("invalid_request")
    );
    let q = p1_query("").replace("code_challenge_method=S256", "code_challenge_method=plain");
    assert_eq!(
        expect_redirect(h.authorize(&q, None)).error(),
        Some("invalid_request"),
        "plain is off by default"
    );
}

#[test]
fn pk_03_absent_method_means_plain_never_s256() {
    let h = Harness::new();
    let q = p1_query("").replace("&code_challenge_method=S256", "");
    assert_eq!(
        expect_redirect(h.authorize(&q, None)).error(),
        Some("invalid_request")
    );
    // Where plain is enabled, the verifier equals the challenge.
    let h = Harness::with_config(|c| c.allow_plain_pkce = true);
    let q = p1_query("").replace("&code_challenge_method=S256", "");
    let code = h
        .browser_flow(&q, None, &alice())
        .get("code")
        .unwrap()
        .to_string();
    h.post(&format!(
        "grant_type=authorization_code&client_id=P1&code={code}&redirect_uri={}&code_verifier={RFC7636_CHALLENGE}",
        enc(P1_REDIRECT)
    ))
    .ok();
}

#[test]
fn pk_04_s256_flow_succeeds_end_to_end() {
    let h = Harness::new();
    let code = h
        .browser_flow(&p1_query(""), None, &alice())
        .get("code")
        .unwrap()
        .to_string();
    h.post(&format!(
        "grant_type=authorization_code&client_id=P1&code={code}&redirect_uri={}&code_verifier={RFC7636_VERIFIER}",
        enc(P1_REDIRECT)
    ))
    .ok();
}

#[test]
fn pk_05_malformed_challenge_is_invalid_request() {
    let h = Harness::new();
    for bad in ["abc", &"a".repeat(129), &format!("{}+", "a".repeat(43))] {
        let q = p1_query("").replace(RFC7636_CHALLENGE, &enc(bad));
        assert_eq!(
            expect_redirect(h.authorize(&q, None)).error(),
            Some("invalid_request"),
            "{bad}"
        );
    }
}

#[test]
fn pk_confidential_clients_may_use_pkce_too() {
    let h = Harness::new();
    let q = c1_query(&format!(
        "&code_challenge={RFC7636_CHALLENGE}&code_challenge_method=S256"
    ));
    let code = h
        .browser_flow(&q, None, &alice())
        .get("code")
        .unwrap()
        .to_string();
    // Without the verifier the code does not redeem (AC-06).
    redeem(&h, &code).assert_error(400, "invalid_grant");
}

// ---- OI ---------------------------------------------------------------------------------

#[test]
fn oi_02_prompt_none_without_session_is_login_required() {
    let h = Harness::new();
    let r = expect_redirect(h.authorize(&c1_query("&prompt=none"), None));
    assert_eq!(r.error(), Some("login_required"));
    assert_eq!(r.get("state"), Some("xyz"));
}

#[test]
fn oi_02_prompt_none_with_session_but_no_consent_is_consent_required() {
    let h = Harness::new();
    let r = expect_redirect(h.authorize(&c1_query("&prompt=none"), Some(&alice())));
    assert_eq!(r.error(), Some("consent_required"));
}

#[test]
fn oi_02_prompt_none_with_session_and_consent_succeeds_silently_with_the_same_auth_time() {
    let h = Harness::new();
    consented(&h);
    h.advance(300);
    let r = expect_redirect(h.authorize(&c1_query("&prompt=none"), Some(&alice())));
    let rec = tollgate::Store::code(&h.store, &tollgate::TokenHash::of(r.get("code").unwrap()))
        .unwrap()
        .unwrap();
    assert_eq!(&*rec.subject.id, "alice");
    assert_eq!(
        rec.subject.auth_time,
        Some(T0),
        "the session's auth_time, unchanged"
    );
}

#[test]
fn oi_03_prompt_none_with_another_value_is_an_error() {
    let h = Harness::new();
    let r = expect_redirect(h.authorize(&c1_query("&prompt=none+login"), Some(&alice())));
    assert_eq!(r.error(), Some("invalid_request"));
}

#[test]
fn oi_04_prompt_login_forces_a_new_login_and_a_newer_auth_time() {
    let h = Harness::new();
    consented(&h);
    h.advance(50);
    assert!(matches!(
        h.authorize(&c1_query("&prompt=login"), Some(&alice())),
        AuthorizeOutcome::Login(_)
    ));
    let r = h.browser_flow(
        &c1_query("&prompt=login"),
        Some(&alice()),
        &Subject::new("alice"),
    );
    let rec = tollgate::Store::code(&h.store, &tollgate::TokenHash::of(r.get("code").unwrap()))
        .unwrap()
        .unwrap();
    assert_eq!(rec.subject.auth_time, Some(UnixTime(T0.0 + 50)));
}

#[test]
fn oi_05_prompt_consent_asks_again_even_when_remembered() {
    let h = Harness::new();
    consented(&h);
    assert!(matches!(
        h.authorize(&c1_query("&prompt=consent"), Some(&alice())),
        AuthorizeOutcome::Consent(_)
    ));
}

#[test]
fn select_account_shows_the_login_page() {
    let h = Harness::new();
    consented(&h);
    assert!(matches!(
        h.authorize(&c1_query("&prompt=select_account"), Some(&alice())),
        AuthorizeOutcome::Login(_)
    ));
}

#[test]
fn oi_06_unknown_prompt_values_are_ignored() {
    let h = Harness::new();
    consented(&h);
    assert!(
        expect_redirect(h.authorize(&c1_query("&prompt=foo"), Some(&alice())))
            .get("code")
            .is_some()
    );
}

#[test]
fn oi_07_max_age_forces_a_new_login_once_exceeded() {
    let h = Harness::new();
    consented(&h);
    h.advance(2);
    assert!(matches!(
        h.authorize(&c1_query("&max_age=1"), Some(&alice())),
        AuthorizeOutcome::Login(_)
    ));
    assert!(
        expect_redirect(h.authorize(&c1_query("&max_age=10000"), Some(&alice())))
            .get("code")
            .is_some()
    );
    assert!(matches!(
        h.authorize(&c1_query("&max_age=0"), Some(&alice())),
        AuthorizeOutcome::Login(_)
    ));
    let r = expect_redirect(h.authorize(&c1_query("&max_age=1&prompt=none"), Some(&alice())));
    assert_eq!(r.error(), Some("login_required"));
    let r = expect_redirect(h.authorize(&c1_query("&max_age=-1"), Some(&alice())));
    assert_eq!(r.error(), Some("invalid_request"));
}

#[test]
fn oi_07_a_session_without_auth_time_cannot_satisfy_max_age() {
    let h = Harness::new();
    consented(&h);
    let no_time = Subject::new("alice");
    assert!(matches!(
        h.authorize(&c1_query("&max_age=10000"), Some(&no_time)),
        AuthorizeOutcome::Login(_)
    ));
}

#[test]
fn oi_09_display_locales_acr_values_and_login_hint_are_accepted() {
    let h = Harness::new();
    let extra = "&display=page&ui_locales=fr-CA+en&claims_locales=de&acr_values=urn:mace:incommon:iap:silver&login_hint=alice%40example.com";
    let AuthorizeOutcome::Login(login) = h.authorize(&c1_query(extra), None) else {
        panic!()
    };
    assert_eq!(
        login.request.login_hint.as_deref(),
        Some("alice@example.com")
    );
    assert_eq!(login.request.ui_locales.as_deref(), Some("fr-CA en"));
    assert_eq!(login.request.display.as_deref(), Some("page"));
    assert_eq!(
        login.request.acr_values.as_deref(),
        Some("urn:mace:incommon:iap:silver")
    );
    assert!(h
        .browser_flow(&c1_query(extra), None, &alice())
        .get("code")
        .is_some());
}

#[test]
fn oi_11_offline_access_always_needs_consent() {
    let h = Harness::new();
    consented(&h);
    let q = c1_query("").replace(
        "scope=openid+api:read",
        "scope=openid+api:read+offline_access",
    );
    assert!(matches!(
        h.authorize(&q, Some(&alice())),
        AuthorizeOutcome::Consent(_)
    ));
    let r = expect_redirect(h.authorize(&format!("{q}&prompt=none"), Some(&alice())));
    assert_eq!(r.error(), Some("consent_required"));
    // Once consented, a refresh token follows.
    let code = h
        .browser_flow(&q, Some(&alice()), &alice())
        .get("code")
        .unwrap()
        .to_string();
    assert!(redeem(&h, &code).ok().refresh_token().starts_with("tgr_"));
}

#[test]
fn oi_11_offline_access_is_dropped_for_clients_that_cannot_refresh() {
    let h = Harness::new();
    let q = format!(
        "response_type=code&client_id=NR&redirect_uri={}&scope=openid+offline_access",
        enc(C1_REDIRECT)
    );
    let AuthorizeOutcome::Login(login) = h.authorize(&q, None) else {
        panic!()
    };
    assert!(!login.request.scope.contains("offline_access"));
}

#[test]
fn oi_12_request_objects_are_not_supported() {
    let h = Harness::new();
    assert_eq!(
        expect_redirect(h.authorize(&c1_query("&request=e30.e30."), None)).error(),
        Some("request_not_supported")
    );
    assert_eq!(
        expect_redirect(h.authorize(&c1_query("&request_uri=https%3A%2F%2Frp.test%2Fr"), None))
            .error(),
        Some("request_uri_not_supported")
    );
}

// ---- AZ-12: interactions are single use, expiring, bound to browser and CSRF token ------

#[test]
fn az_12_a_forged_csrf_token_or_another_browser_is_refused() {
    let h = Harness::new();
    let AuthorizeOutcome::Login(login) = h.authorize(&c1_query(""), None) else {
        panic!()
    };
    let cookie = login.set_browser_cookie.clone().unwrap();
    assert_eq!(
        expect_error_page(h.resume(
            &login,
            "someone-elses-cookie",
            InteractionResult::Authenticated(alice())
        ))
        .status,
        403
    );
    let mut forged = login.clone();
    forged.csrf = tollgate::SecretString::new("forged");
    assert_eq!(
        expect_error_page(h.resume(
            &forged,
            cookie.expose(),
            InteractionResult::Authenticated(alice())
        ))
        .status,
        403
    );
    // The genuine form still works: failed attempts consumed nothing.
    assert!(matches!(
        h.resume(
            &login,
            cookie.expose(),
            InteractionResult::Authenticated(alice())
        ),
        AuthorizeOutcome::Consent(_)
    ));
}

#[test]
fn interactions_are_single_use() {
    let h = Harness::new();
    let AuthorizeOutcome::Login(login) = h.authorize(&c1_query(""), None) else {
        panic!()
    };
    let cookie = login.set_browser_cookie.clone().unwrap();
    let _ = h.resume(
        &login,
        cookie.expose(),
        InteractionResult::Authenticated(alice()),
    );
    expect_error_page(h.resume(
        &login,
        cookie.expose(),
        InteractionResult::Authenticated(alice()),
    ));
}

#[test]
fn interactions_expire() {
    let h = Harness::new();
    let AuthorizeOutcome::Login(login) = h.authorize(&c1_query(""), None) else {
        panic!()
    };
    assert_eq!(login.expires_at, UnixTime(T0.0 + 600));
    h.advance(600);
    let cookie = login.set_browser_cookie.clone().unwrap();
    expect_error_page(h.resume(
        &login,
        cookie.expose(),
        InteractionResult::Authenticated(alice()),
    ));
}

#[test]
fn a_consent_answer_to_a_login_page_is_refused() {
    let h = Harness::new();
    let AuthorizeOutcome::Login(login) = h.authorize(&c1_query(""), None) else {
        panic!()
    };
    let cookie = login.set_browser_cookie.clone().unwrap();
    expect_error_page(h.resume(&login, cookie.expose(), InteractionResult::Consented));
}

#[test]
fn interaction_secrets_are_stored_only_as_hashes() {
    let h = Harness::new();
    let AuthorizeOutcome::Login(login) = h.authorize(&c1_query(""), None) else {
        panic!()
    };
    let rec =
        tollgate::Store::interaction(&h.store, &tollgate::TokenHash::of(login.handle.expose()))
            .unwrap()
            .unwrap();
    let stored = serde_json::to_string(&rec).unwrap();
    for secret in [
        login.handle.expose(),
        login.csrf.expose(),
        login.set_browser_cookie.as_ref().unwrap().expose(),
    ] {
        assert!(!stored.contains(secret));
    }
}

// ---- OI-08: id_token_hint --------------------------------------------------------------

fn alice_id_token(h: &Harness) -> String {
    h.c1_tokens("openid")
        .ok()
        .str("id_token")
        .unwrap()
        .to_string()
}

#[test]
fn oi_08_a_matching_hint_with_prompt_none_succeeds() {
    let h = Harness::new();
    consented(&h);
    let hint = alice_id_token(&h);
    let r = expect_redirect(h.authorize(
        &c1_query(&format!("&prompt=none&id_token_hint={hint}")),
        Some(&alice()),
    ));
    assert!(r.get("code").is_some(), "{r:?}");
}

#[test]
fn oi_08_a_hint_for_another_user_is_login_required() {
    let h = Harness::new();
    consented(&h);
    let hint = alice_id_token(&h);
    let bob = Subject {
        auth_time: Some(T0),
        ..Subject::new("bob")
    };
    let r = expect_redirect(h.authorize(
        &c1_query(&format!("&prompt=none&id_token_hint={hint}")),
        Some(&bob),
    ));
    assert_eq!(r.error(), Some("login_required"));
    // Without prompt=none the user is asked to log in rather than silently switched.
    assert!(matches!(
        h.authorize(&c1_query(&format!("&id_token_hint={hint}")), Some(&bob)),
        AuthorizeOutcome::Login(_)
    ));
}

#[test]
fn oi_08_a_hint_signed_by_someone_else_is_invalid_request() {
    let h = Harness::new();
    let forged = tollgate_conformance_tests::sign(
        &tollgate_conformance_tests::ed25519_key(99, "ed-1"),
        &serde_json::json!({"iss": ISSUER, "sub": "alice", "aud": "C1", "exp": T0.0 + 60, "iat": T0.0}),
    );
    let r = expect_redirect(h.authorize(
        &c1_query(&format!("&prompt=none&id_token_hint={forged}")),
        Some(&alice()),
    ));
    assert_eq!(r.error(), Some("invalid_request"));
}

#[test]
fn oi_08_an_expired_hint_for_the_current_user_is_accepted() {
    let h = Harness::new();
    consented(&h);
    let hint = alice_id_token(&h);
    h.advance(2 * 3600);
    let r = expect_redirect(h.authorize(
        &c1_query(&format!("&prompt=none&id_token_hint={hint}")),
        Some(&alice()),
    ));
    assert!(r.get("code").is_some());
}
