//! `/authorize` over TCP, through the server's sign-in and consent pages: request handling
//! and errors (AZ), redirect-URI matching (RU), PKCE at the front channel (PK) and the OpenID
//! Connect request parameters (OI).

use tollgate_http_tests::*;

fn query(client: &str, redirect: &str, scope: &str) -> String {
    format!(
        "response_type=code&client_id={}&redirect_uri={}&scope={}&state=xyz&nonce=n-0S6\
         &code_challenge={CHALLENGE}&code_challenge_method=S256",
        enc(client),
        enc(redirect),
        enc(scope)
    )
}

/// A redirect straight from `/authorize` (no page shown).
#[track_caller]
fn redirected(r: &Reply) -> Redirect {
    assert_eq!(r.status, 303, "expected a 303: {}", r.body);
    r.redirect()
}

/// An error page: 4xx, HTML, and no `Location` at all.
#[track_caller]
fn error_page(r: &Reply) {
    assert!(
        (400..500).contains(&r.status),
        "status {}: {}",
        r.status,
        r.body
    );
    assert!(r.header("location").is_none(), "must not redirect");
    assert!(r
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/html")));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
}

fn is_login(r: &Reply) -> bool {
    r.status == 200 && r.body.contains("name=\"password\"")
}

fn az_01_authorize_accepts_get_and_post(a: Adapter) {
    let s = TestServer::start(a);
    let q = query("C1", C1_REDIRECT, "openid");
    assert!(is_login(&s.browser().authorize(&q)));
    let post = s.post("/authorize", &q);
    assert!(is_login(&post), "{}", post.body);
}

fn az_02_missing_or_unknown_response_type(a: Adapter) {
    let s = TestServer::start(a);
    let mut b = s.browser();
    let missing = redirected(&b.authorize(&format!(
        "client_id=C1&redirect_uri={}&scope=openid&state=s1",
        enc(C1_REDIRECT)
    )));
    assert!(matches!(
        missing.get("error"),
        Some("invalid_request" | "unsupported_response_type")
    ));
    let unknown = redirected(&b.authorize(&format!(
        "response_type=foo&client_id=C1&redirect_uri={}&scope=openid&state=s1",
        enc(C1_REDIRECT)
    )));
    assert_eq!(unknown.get("error"), Some("unsupported_response_type"));
    assert_eq!(unknown.get("state"), Some("s1"));
}

fn az_03_unknown_client_gets_an_error_page(a: Adapter) {
    let s = TestServer::start(a);
    error_page(
        &s.browser()
            .authorize(&query("nobody", C1_REDIRECT, "openid")),
    );
}

fn az_04_state_is_echoed_byte_for_byte(a: Adapter) {
    let s = TestServer::start(a);
    let state: String = "aZ09-._~".repeat(16);
    assert_eq!(state.len(), 128);
    let q = format!(
        "response_type=code&client_id=C1&redirect_uri={}&scope=openid&state={state}\
         &code_challenge={CHALLENGE}&code_challenge_method=S256",
        enc(C1_REDIRECT)
    );
    let ok = s.browser().flow(&q, "alice", ALICE_PASSWORD);
    assert_eq!(ok.get("state"), Some(state.as_str()));
    assert!(ok.location.contains(&format!("state={state}")));
    let err = redirected(
        &s.browser()
            .authorize(&q.replace("scope=openid", "scope=nope")),
    );
    assert_eq!(err.get("state"), Some(state.as_str()));
}

fn az_05_errors_after_a_trusted_redirect_uri_are_redirected(a: Adapter) {
    let s = TestServer::start(a);
    let bad_scope = redirected(
        &s.browser()
            .authorize(&query("C1", C1_REDIRECT, "openid nope")),
    );
    assert_eq!(bad_scope.get("error"), Some("invalid_scope"));
    assert_eq!(bad_scope.base, C1_REDIRECT);
    let not_allowed = redirected(&s.browser().authorize(&query("PW", C1_REDIRECT, "openid")));
    assert_eq!(not_allowed.get("error"), Some("unauthorized_client"));
    // The user clicks Deny.
    let mut b = s.browser();
    let login = b.authorize(&query("C1", C1_REDIRECT, "openid profile"));
    let to_consent = b.login(&login, "alice", ALICE_PASSWORD);
    let consent = b.get(to_consent.header("location").expect("consent"));
    let denied = b.consent(&consent, false).redirect();
    assert_eq!(denied.get("error"), Some("access_denied"));
    assert_eq!(denied.get("state"), Some("xyz"));
    assert!(denied.get("code").is_none());
}

fn az_06_error_redirects_carry_only_error_parameters(a: Adapter) {
    let s = TestServer::start(a);
    let r = redirected(
        &s.browser()
            .authorize(&query("C1", C1_REDIRECT, "openid nope")),
    );
    for (k, _) in &r.params {
        assert!(
            ["error", "error_description", "error_uri", "state", "iss"].contains(&k.as_str()),
            "unexpected {k}"
        );
    }
    let ok = |v: &str| {
        v.bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
    };
    assert!(ok(r.get("error").unwrap_or_default()));
    assert!(ok(r.get("error_description").unwrap_or_default()));
}

fn az_07_unsupported_response_mode_is_a_400_without_redirect(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.browser().authorize(&format!(
        "{}&response_mode=bogus",
        query("C1", C1_REDIRECT, "openid")
    ));
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());
}

fn az_08_scope_order_does_not_matter(a: Adapter) {
    let s = TestServer::start(a);
    let grant = |scope: &str| {
        let code = s.code("C1", C1_REDIRECT, scope, true);
        s.token(
            "C1",
            C1_SECRET,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
                enc(C1_REDIRECT)
            ),
        )
        .ok()
    };
    let one = grant("email openid");
    let two = grant("openid email");
    let set = |r: &Reply| {
        let mut v: Vec<String> = r
            .str("scope")
            .unwrap_or_default()
            .split(' ')
            .map(str::to_string)
            .collect();
        v.sort();
        v
    };
    assert_eq!(set(&one), set(&two));
}

fn az_09_codes_expire(a: Adapter) {
    let s = TestServer::start(a);
    let code = s.code("C1", C1_REDIRECT, "openid", true);
    s.advance(61);
    s.token(
        "C1",
        C1_SECRET,
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            enc(C1_REDIRECT)
        ),
    )
    .assert_error(400, "invalid_grant");
}

fn az_10_form_posts_answer_303_never_307(a: Adapter) {
    let s = TestServer::start(a);
    let mut b = s.browser();
    let login = b.authorize(&query("C1", C1_REDIRECT, "openid"));
    let after_login = b.login(&login, "alice", ALICE_PASSWORD);
    assert_eq!(after_login.status, 303);
    let consent = b.get(after_login.header("location").expect("location"));
    let after_consent = b.consent(&consent, true);
    assert_eq!(after_consent.status, 303);
    assert!(after_consent
        .header("location")
        .is_some_and(|l| l.starts_with(C1_REDIRECT)));
}

fn az_11_no_cors_at_the_authorization_endpoint(a: Adapter) {
    // Not even for an origin the server allows elsewhere (DS-11).
    let s = TestServer::start_with(a, "", "cors_origins = [\"https://app.test\", \"*\"]");
    let r = s.send(
        s.http()
            .request(reqwest::Method::OPTIONS, s.url("/authorize"))
            .header("Origin", "https://app.test")
            .header("Access-Control-Request-Method", "GET"),
    );
    assert!(r.header("access-control-allow-origin").is_none());
    assert_eq!(r.status, 405);
    let r = s.send(
        s.http()
            .get(s.url(&format!(
                "/authorize?{}",
                query("C1", C1_REDIRECT, "openid")
            )))
            .header("Origin", "https://app.test"),
    );
    assert!(r.header("access-control-allow-origin").is_none());
    // Nor on the sign-in and consent pages behind it.
    let login = s.send(
        s.http()
            .post(s.url("/login"))
            .header("Origin", "https://app.test")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("interaction=x&csrf=y&username=alice&password=z"),
    );
    assert!(login.header("access-control-allow-origin").is_none());
    let r = s.send(
        s.http()
            .request(reqwest::Method::OPTIONS, s.url("/authorize"))
            .header("Origin", "https://app.test")
            .header("Access-Control-Request-Method", "POST"),
    );
    assert_eq!(
        (r.status, r.header("access-control-allow-origin")),
        (405, None)
    );
}

fn az_12_pages_resist_csrf_and_clickjacking(a: Adapter) {
    let s = TestServer::start(a);
    let mut b = s.browser();
    let login = b.authorize(&query("C1", C1_REDIRECT, "openid"));
    assert_eq!(login.header("x-frame-options"), Some("DENY"));
    assert!(login
        .header("content-security-policy")
        .is_some_and(|c| c.contains("frame-ancestors 'none'")));
    let binding = login
        .headers_all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("tollgate_interaction="))
        .expect("binding cookie");
    assert!(binding.contains("HttpOnly") && binding.contains("SameSite=Lax"));
    // A forged CSRF token: refused, and no session starts.
    let (i, _) = (login.hidden("interaction").expect("handle"), ());
    let forged = b.post(
        &s.url("/login"),
        &[
            ("interaction", &i),
            ("csrf", "tgi_forged"),
            ("username", "alice"),
            ("password", ALICE_PASSWORD),
        ],
    );
    error_page(&forged);
    assert!(!b.cookies().contains_key("tollgate_session"));
    // Another browser (no binding cookie) with the right token: refused too.
    let mut other = s.browser();
    let stolen = other.login(&login, "alice", ALICE_PASSWORD);
    error_page(&stolen);
    // The real browser still gets through; the session cookie is HttpOnly and Lax.
    let mut b = s.browser();
    let login = b.authorize(&query("C1", C1_REDIRECT, "openid"));
    let ok = b.login(&login, "alice", ALICE_PASSWORD);
    assert_eq!(ok.status, 303);
    let session = ok
        .headers_all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("tollgate_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    assert!(!session.contains("Secure"), "not on an http issuer");
    let consent = b.get(ok.header("location").expect("location"));
    assert_eq!(consent.header("x-frame-options"), Some("DENY"));
    // The consent form without its CSRF token is refused.
    let i = consent.hidden("interaction").expect("handle");
    error_page(&b.post(
        &s.url("/consent"),
        &[("interaction", &i), ("decision", "allow")],
    ));
}

fn az_12_session_cookie_is_secure_on_an_https_issuer(a: Adapter) {
    let s = TestServer::start_scheme(a, "https", "", "");
    let mut b = s.browser();
    let login = b.authorize(&query("C1", C1_REDIRECT, "openid"));
    assert!(login
        .headers_all("set-cookie")
        .iter()
        .all(|c| c.contains("; Secure")));
    let ok = b.login(&login, "alice", ALICE_PASSWORD);
    let session = ok
        .headers_all("set-cookie")
        .into_iter()
        .find(|c| c.starts_with("tollgate_session="))
        .expect("session cookie");
    assert!(session.contains("; Secure") && session.contains("HttpOnly"));
}

fn az_13_iss_is_returned_on_success_and_error(a: Adapter) {
    let s = TestServer::start(a);
    let ok = s
        .browser()
        .flow(&query("C1", C1_REDIRECT, "openid"), "alice", ALICE_PASSWORD);
    assert_eq!(ok.get("iss"), Some(s.issuer.as_str()));
    let err = redirected(&s.browser().authorize(&query("C1", C1_REDIRECT, "nope")));
    assert_eq!(err.get("iss"), Some(s.issuer.as_str()));
}

fn ru_01_redirect_uris_match_exactly(a: Adapter) {
    let s = TestServer::start(a);
    for variant in [
        "https://rp.test/cb/",
        "https://rp.test/CB",
        "https://RP.test/cb",
        "https://rp.test/cb?x=1",
        "https://rp.test:443/cb",
        "https://rp.test/cb/../cb",
        "http://rp.test/cb",
        "https://rp.test.evil/cb",
    ] {
        error_page(&s.browser().authorize(&query("C1", variant, "openid")));
    }
}

fn ru_02_registered_queries_are_kept_and_added_ones_refused(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.browser().flow(
        &query("C5", "https://rp.test/cb?x=1", "openid"),
        "alice",
        ALICE_PASSWORD,
    );
    assert!(
        r.location.starts_with("https://rp.test/cb?x=1&code="),
        "{}",
        r.location
    );
    error_page(
        &s.browser()
            .authorize(&query("C4", "https://rp.test/cb1?y=2", "openid")),
    );
}

fn ru_03_several_registered_uris_require_redirect_uri(a: Adapter) {
    let s = TestServer::start(a);
    error_page(&s.browser().authorize(&format!(
        "response_type=code&client_id=C4&scope=openid&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256"
    )));
}

fn ru_04_loopback_redirects_take_any_port(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.browser().flow(
        &query("P1", "http://127.0.0.1:51004/cb", "openid"),
        "alice",
        ALICE_PASSWORD,
    );
    assert_eq!(r.base, "http://127.0.0.1:51004/cb");
    assert!(r.get("code").is_some());
    error_page(
        &s.browser()
            .authorize(&query("P1", "http://127.0.0.1:51004/other", "openid")),
    );
    error_page(
        &s.browser()
            .authorize(&query("P1", "http://localhost:51004/cb", "openid")),
    );
}

fn pk_01_public_clients_must_send_a_challenge(a: Adapter) {
    let s = TestServer::start(a);
    let r = redirected(&s.browser().authorize(&format!(
        "response_type=code&client_id=P1&redirect_uri={}&scope=openid&state=s",
        enc(P1_REDIRECT)
    )));
    assert_eq!(r.get("error"), Some("invalid_request"));
}

fn pk_02_pk_03_pk_05_bad_challenges_are_invalid_requests(a: Adapter) {
    let s = TestServer::start(a);
    let base = format!(
        "response_type=code&client_id=P1&redirect_uri={}&scope=openid&state=s",
        enc(P1_REDIRECT)
    );
    for extra in [
        format!("&code_challenge={CHALLENGE}&code_challenge_method=S512"),
        format!("&code_challenge={CHALLENGE}"),
        "&code_challenge=abc&code_challenge_method=S256".to_string(),
    ] {
        let r = redirected(&s.browser().authorize(&format!("{base}{extra}")));
        assert_eq!(r.get("error"), Some("invalid_request"), "{extra}");
    }
}

fn oi_01_without_openid_there_is_no_id_token(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.c1_tokens("api:read").ok();
    assert!(r.str("id_token").is_none());
    assert!(s.c1_tokens("openid").ok().str("id_token").is_some());
}

fn oi_02_prompt_none_needs_a_session_and_consent(a: Adapter) {
    let s = TestServer::start(a);
    let q = format!("{}&prompt=none", query("C1", C1_REDIRECT, "openid"));
    let r = redirected(&s.browser().authorize(&q));
    assert_eq!(r.get("error"), Some("login_required"));
    assert_eq!(r.get("state"), Some("xyz"));
    let mut b = s.browser();
    let first = b.flow(&query("C1", C1_REDIRECT, "openid"), "alice", ALICE_PASSWORD);
    assert!(first.get("code").is_some());
    let silent = redirected(&b.authorize(&q));
    assert!(silent.get("code").is_some(), "{}", silent.location);
    let more = format!("{}&prompt=none", query("C1", C1_REDIRECT, "openid email"));
    assert_eq!(
        redirected(&b.authorize(&more)).get("error"),
        Some("consent_required")
    );
}

fn oi_03_prompt_none_with_another_value_is_an_error(a: Adapter) {
    let s = TestServer::start(a);
    let r = redirected(&s.browser().authorize(&format!(
        "{}&prompt=none%20login",
        query("C1", C1_REDIRECT, "openid")
    )));
    assert_eq!(r.get("error"), Some("invalid_request"));
}

fn id_token_of(s: &TestServer, code: &str) -> serde_json::Value {
    let r = s
        .token(
            "C1",
            C1_SECRET,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
                enc(C1_REDIRECT)
            ),
        )
        .ok();
    jwt_claims(r.str("id_token").expect("id_token"))
}

fn oi_04_oi_07_prompt_login_and_max_age_reauthenticate(a: Adapter) {
    let s = TestServer::start(a);
    let mut b = s.browser();
    let first = b.flow(&query("C1", C1_REDIRECT, "openid"), "alice", ALICE_PASSWORD);
    let t1 = id_token_of(&s, first.get("code").expect("code"))["auth_time"]
        .as_u64()
        .expect("auth_time");
    s.advance(5);
    // max_age=10000: no new sign-in, same auth_time.
    let kept = redirected(&b.authorize(&format!(
        "{}&max_age=10000",
        query("C1", C1_REDIRECT, "openid")
    )));
    assert_eq!(
        id_token_of(&s, kept.get("code").expect("code"))["auth_time"].as_u64(),
        Some(t1)
    );
    // max_age=1 after 5 s, and prompt=login: the sign-in page again, then a later auth_time.
    for extra in ["&max_age=1", "&prompt=login"] {
        let page = b.authorize(&format!("{}{extra}", query("C1", C1_REDIRECT, "openid")));
        assert!(is_login(&page), "{extra}: {}", page.body);
        let r = b.login(&page, "alice", ALICE_PASSWORD).redirect();
        let t2 = id_token_of(&s, r.get("code").expect("code"))["auth_time"]
            .as_u64()
            .expect("auth_time");
        assert!(t2 > t1, "{extra}");
        s.advance(5);
    }
}

fn oi_08_id_token_hint(a: Adapter) {
    let s = TestServer::start(a);
    let mut b = s.browser();
    let first = b.flow(&query("C1", C1_REDIRECT, "openid"), "alice", ALICE_PASSWORD);
    let r = s
        .token(
            "C1",
            C1_SECRET,
            &format!(
                "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={VERIFIER}",
                first.get("code").expect("code"),
                enc(C1_REDIRECT)
            ),
        )
        .ok();
    let hint = r.str("id_token").expect("id_token");
    let q = format!(
        "{}&prompt=none&id_token_hint={hint}",
        query("C1", C1_REDIRECT, "openid")
    );
    assert!(redirected(&b.authorize(&q)).get("code").is_some());
    let forged = format!(
        "{}&id_token_hint=eyJhbGciOiJub25lIn0.e30.",
        query("C1", C1_REDIRECT, "openid")
    );
    assert_eq!(
        redirected(&b.authorize(&forged)).get("error"),
        Some("invalid_request")
    );
}

fn oi_09_optional_parameters_are_accepted(a: Adapter) {
    let s = TestServer::start(a);
    let q = format!(
        "{}&display=page&ui_locales=en&claims_locales=se&acr_values=1%202&login_hint=bob&extra=foobar",
        query("C1", C1_REDIRECT, "openid")
    );
    let page = s.browser().authorize(&q);
    assert!(is_login(&page), "{}", page.body);
    assert!(
        page.body.contains("value=\"bob\""),
        "login_hint prefills the username"
    );
}

fn oi_10_nonce_is_echoed_and_optional(a: Adapter) {
    let s = TestServer::start(a);
    let nonce = "n".repeat(64);
    let r = s.browser().flow(
        &query("C1", C1_REDIRECT, "openid").replace("nonce=n-0S6", &format!("nonce={nonce}")),
        "alice",
        ALICE_PASSWORD,
    );
    assert_eq!(
        id_token_of(&s, r.get("code").expect("code"))["nonce"],
        nonce.as_str()
    );
    let r = s.browser().flow(
        &query("C1", C1_REDIRECT, "openid").replace("&nonce=n-0S6", ""),
        "alice",
        ALICE_PASSWORD,
    );
    assert!(id_token_of(&s, r.get("code").expect("code"))
        .get("nonce")
        .is_none());
}

fn oi_11_offline_access_needs_consent_and_yields_a_refresh_token(a: Adapter) {
    let s = TestServer::start(a);
    // The consent page names offline access in plain words.
    let mut b = s.browser();
    let login = b.authorize(&query("C1", C1_REDIRECT, "openid offline_access"));
    let to = b.login(&login, "alice", ALICE_PASSWORD);
    let consent = b.get(to.header("location").expect("location"));
    assert!(consent.body.contains("Keep access while you are away"));
    assert!(consent.body.contains("Client One"));
    let with = s.c1_tokens("openid offline_access").ok();
    assert!(with.str("refresh_token").is_some());
    let without = s.c1_tokens("openid").ok();
    assert!(without.str("refresh_token").is_none());
}

fn oi_12_request_objects_are_not_supported(a: Adapter) {
    let s = TestServer::start(a);
    let r = redirected(&s.browser().authorize(&format!(
        "{}&request=eyJhbGciOiJub25lIn0.e30.",
        query("C1", C1_REDIRECT, "openid")
    )));
    assert_eq!(r.get("error"), Some("request_not_supported"));
}

tollgate_http_tests::on_both_adapters!(
    az_01_authorize_accepts_get_and_post,
    az_02_missing_or_unknown_response_type,
    az_03_unknown_client_gets_an_error_page,
    az_04_state_is_echoed_byte_for_byte,
    az_05_errors_after_a_trusted_redirect_uri_are_redirected,
    az_06_error_redirects_carry_only_error_parameters,
    az_07_unsupported_response_mode_is_a_400_without_redirect,
    az_08_scope_order_does_not_matter,
    az_09_codes_expire,
    az_10_form_posts_answer_303_never_307,
    az_11_no_cors_at_the_authorization_endpoint,
    az_12_pages_resist_csrf_and_clickjacking,
    az_12_session_cookie_is_secure_on_an_https_issuer,
    az_13_iss_is_returned_on_success_and_error,
    ru_01_redirect_uris_match_exactly,
    ru_02_registered_queries_are_kept_and_added_ones_refused,
    ru_03_several_registered_uris_require_redirect_uri,
    ru_04_loopback_redirects_take_any_port,
    pk_01_public_clients_must_send_a_challenge,
    pk_02_pk_03_pk_05_bad_challenges_are_invalid_requests,
    oi_01_without_openid_there_is_no_id_token,
    oi_02_prompt_none_needs_a_session_and_consent,
    oi_03_prompt_none_with_another_value_is_an_error,
    oi_04_oi_07_prompt_login_and_max_age_reauthenticate,
    oi_08_id_token_hint,
    oi_09_optional_parameters_are_accepted,
    oi_10_nonce_is_echoed_and_optional,
    oi_11_offline_access_needs_consent_and_yields_a_refresh_token,
    oi_12_request_objects_are_not_supported,
);
