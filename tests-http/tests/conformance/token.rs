//! `/token` over TCP: the common response and error rules (GEN, TK), client authentication
//! (CA) including `private_key_jwt` (JA), the authorization-code grant (AC), client
//! credentials (CC), the password grant with brute-force protection (TK-08, CA-07), JWT
//! access tokens (AT) and the JWT-bearer grant from a configured trusted issuer (JB-01).

use tollgate::UnixTime;
use tollgate_http_tests::*;

use super::{active, assert_error_charset};

fn code_body(code: &str) -> String {
    format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc(C1_REDIRECT)
    )
}

fn gen_01_unknown_parameters_are_ignored(a: Adapter) {
    let s = TestServer::start(a);
    s.token("SVC", SVC_SECRET, "grant_type=client_credentials&foo=bar")
        .ok();
}

fn gen_02_repeated_parameters_are_invalid_requests(a: Adapter) {
    let s = TestServer::start(a);
    let code = s.code("C1", C1_REDIRECT, "openid", true);
    s.token("C1", C1_SECRET, &format!("{}&code=other", code_body(&code)))
        .assert_error(400, "invalid_request");
}

fn gen_03_empty_parameters_are_absent(a: Adapter) {
    let s = TestServer::start(a);
    let r = s
        .token("SVC", SVC_SECRET, "grant_type=client_credentials&scope=")
        .ok();
    assert_eq!(r.str("scope"), Some("api:read"));
}

fn gen_05_token_revoke_introspect_take_only_post(a: Adapter) {
    let s = TestServer::start(a);
    for path in ["/token", "/revoke", "/introspect"] {
        let r = s.get(&format!("{path}?grant_type=client_credentials"));
        assert_eq!(r.status, 405, "{path}");
        assert_eq!(r.header("allow"), Some("POST"), "{path}");
    }
}

fn gen_06_credentials_in_the_query_do_not_authenticate(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.post(
        &format!("/token?client_id=SVC&client_secret={SVC_SECRET}"),
        "grant_type=client_credentials",
    );
    assert!(matches!(r.status, 400 | 401), "{}", r.body);
    assert!(matches!(
        r.error(),
        Some("invalid_request" | "invalid_client")
    ));
}

fn gen_07_tk_03_errors_are_json_400_in_the_allowed_alphabet(a: Adapter) {
    let s = TestServer::start(a);
    for body in [
        "",
        "grant_type=urn:example:nope",
        "grant_type=authorization_code&code=nope",
        "grant_type=client_credentials&scope=not-a-scope",
        "grant_type=refresh_token&refresh_token=%FF",
    ] {
        let r = s.token("C1", C1_SECRET, body);
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.error().is_some());
        assert!(r
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")));
        assert_error_charset(&r);
    }
}

fn gen_09_tokens_are_visible_ascii(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.c1_tokens("openid offline_access").ok();
    for t in [r.access_token(), r.refresh_token()] {
        assert!(t.bytes().all(|b| (0x20..=0x7e).contains(&b)));
        assert!(t.len() >= 22);
    }
}

fn tk_01_tk_02_token_responses_are_json_and_never_cached(a: Adapter) {
    let s = TestServer::start(a);
    let cc = s
        .token("SVC", SVC_SECRET, "grant_type=client_credentials")
        .ok();
    let code = s.c1_tokens("openid offline_access").ok();
    let refreshed = s
        .token(
            "C1",
            C1_SECRET,
            &format!(
                "grant_type=refresh_token&refresh_token={}",
                enc(&code.refresh_token())
            ),
        )
        .ok();
    for r in [&cc, &code, &refreshed] {
        assert!(r
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")));
        assert!(r
            .header("cache-control")
            .is_some_and(|c| c.split(',').any(|t| t.trim() == "no-store")));
        assert_eq!(r.header("pragma"), Some("no-cache"));
        assert!(r
            .str("token_type")
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer")));
        let expires = r.json["expires_in"].as_u64().expect("expires_in number");
        assert!(expires > 0 && expires <= 31_536_000);
    }
}

fn tk_04_tk_05_tk_06_tk_07_token_errors(a: Adapter) {
    let s = TestServer::start(a);
    s.token("C1", C1_SECRET, "scope=api:read")
        .assert_error(400, "invalid_request");
    s.token("C1", C1_SECRET, "grant_type=authorization_code")
        .assert_error(400, "invalid_request");
    s.token("C1", C1_SECRET, "grant_type=urn:example:nope")
        .assert_error(400, "unsupported_grant_type");
    s.token("C2", C2_SECRET, "grant_type=client_credentials")
        .assert_error(400, "unauthorized_client");
    s.token(
        "SVC",
        SVC_SECRET,
        "grant_type=client_credentials&scope=not-a-scope",
    )
    .assert_error(400, "invalid_scope");
}

fn tk_08_ca_07_password_grant_checks_and_locks_out(a: Adapter) {
    let s = TestServer::start(a);
    let meta = s.get("/.well-known/openid-configuration").ok();
    assert!(!meta.json["grant_types_supported"]
        .as_array()
        .expect("array")
        .iter()
        .any(|g| g == "password"));
    let ok = s
        .token(
            "PW",
            PW_SECRET,
            &format!("grant_type=password&username=alice&password={ALICE_PASSWORD}&scope=openid%20offline_access"),
        )
        .ok();
    assert!(ok.str("refresh_token").is_some() && ok.str("id_token").is_some());
    assert_eq!(
        jwt_claims(ok.str("id_token").unwrap_or_default())["sub"],
        "alice"
    );
    let wrong = "grant_type=password&username=bob&password=wrong";
    for _ in 0..3 {
        s.token("PW", PW_SECRET, wrong)
            .assert_error(400, "invalid_grant");
    }
    // Locked: even the right password is refused until the window passes.
    let right = format!("grant_type=password&username=bob&password={BOB_PASSWORD}");
    s.token("PW", PW_SECRET, &right)
        .assert_error(400, "invalid_grant");
    s.advance(301);
    s.token("PW", PW_SECRET, &right).ok();
    // The lock is per username: alice was never locked.
    s.token(
        "PW",
        PW_SECRET,
        &format!("grant_type=password&username=alice&password={ALICE_PASSWORD}"),
    )
    .ok();
}

fn ca_01_basic_credentials_are_form_encoded(a: Adapter) {
    let s = TestServer::start(a);
    let r = s
        .token(C3_ID, C3_SECRET, "grant_type=client_credentials")
        .ok();
    assert_eq!(r.str("scope"), Some("api:read"));
}

fn ca_02_client_secret_post(a: Adapter) {
    let s = TestServer::start(a);
    s.post(
        "/token",
        &format!("grant_type=client_credentials&client_id=CPOST&client_secret={POST_SECRET}"),
    )
    .ok();
}

fn ca_03_failed_basic_is_401_with_a_challenge(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.token("C1", "wrong", "grant_type=client_credentials");
    r.assert_error(401, "invalid_client");
    assert!(r
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Basic")));
    let r = s.post(
        "/token",
        "grant_type=client_credentials&client_id=CPOST&client_secret=wrong",
    );
    assert!(matches!(r.status, 400 | 401));
    assert_eq!(r.error(), Some("invalid_client"));
}

fn ca_04_ca_06_ca_09_client_authentication_rules(a: Adapter) {
    let s = TestServer::start(a);
    // CA-04: a confidential client that does not authenticate.
    let code = s.code("C1", C1_REDIRECT, "openid", true);
    let r = s.post("/token", &format!("{}&client_id=C1", code_body(&code)));
    assert_eq!(r.error(), Some("invalid_client"));
    // CA-06: C1 is registered for Basic, not the body.
    let r = s.post(
        "/token",
        &format!("grant_type=client_credentials&client_id=C1&client_secret={C1_SECRET}"),
    );
    assert_eq!(r.error(), Some("invalid_client"));
    // CA-09: a public client must name itself.
    let code = s.code("P1", P1_REDIRECT, "openid", true);
    let r = s.post(
        "/token",
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            enc(P1_REDIRECT)
        ),
    );
    assert!(matches!(
        r.error(),
        Some("invalid_request" | "invalid_client")
    ));
}

fn ca_05_ca_08_one_method_one_client(a: Adapter) {
    let s = TestServer::start(a);
    s.token(
        "C1",
        C1_SECRET,
        &format!("grant_type=client_credentials&client_secret={C1_SECRET}"),
    )
    .assert_error(400, "invalid_request");
    let r = s.token(
        "C1",
        C1_SECRET,
        "grant_type=client_credentials&client_id=C2",
    );
    assert!(matches!(r.status, 400 | 401));
    assert!(r.str("access_token").is_none());
}

fn cc_01_rt_10_client_credentials_is_confidential_and_has_no_refresh_token(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.post("/token", "grant_type=client_credentials&client_id=P1");
    assert_ne!(r.status, 200);
    let r = s
        .token(
            "SVC",
            SVC_SECRET,
            "grant_type=client_credentials&scope=api:read%20api:write",
        )
        .ok();
    assert!(r.str("refresh_token").is_none());
}

fn assertion(now: UnixTime, claims: serde_json::Value) -> String {
    let mut base = serde_json::json!({
        "iss": "J1", "sub": "J1", "exp": now.0 + 60, "iat": now.0, "jti": format!("j-{}", now.0),
    });
    if let (Some(b), Some(c)) = (base.as_object_mut(), claims.as_object()) {
        for (k, v) in c {
            b.insert(k.clone(), v.clone());
        }
    }
    tollgate::jose::jwt::encode(&j1_key(), Some("JWT"), &base).expect("sign")
}

fn ja_private_key_jwt_client_authentication(a: Adapter) {
    let s = TestServer::start(a);
    let now = {
        use tollgate::Clock as _;
        s.clock.now()
    };
    let send = |jwt: &str| {
        s.post(
            "/token",
            &format!(
                "grant_type=client_credentials&client_assertion_type={}&client_assertion={jwt}",
                enc("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
            ),
        )
    };
    let good = assertion(now, serde_json::json!({"aud": s.issuer, "jti": "one"}));
    send(&good).ok();
    // JA-06: the jti is spent.
    send(&good).assert_error_status_in(&[400, 401], "invalid_client");
    // JA-03, JA-04, JA-02: wrong audience, expired, missing sub.
    for bad in [
        assertion(
            now,
            serde_json::json!({"aud": "https://other.test", "jti": "two"}),
        ),
        assertion(
            now,
            serde_json::json!({"aud": s.issuer, "jti": "three", "exp": now.0 - 300, "iat": now.0 - 400}),
        ),
        assertion(
            now,
            serde_json::json!({"aud": s.issuer, "jti": "four", "sub": null}),
        ),
    ] {
        send(&bad).assert_error_status_in(&[400, 401], "invalid_client");
    }
    // JA-07: alg none.
    let none = format!(
        "eyJhbGciOiJub25lIn0.{}.",
        base64_url(
            &serde_json::json!({"iss":"J1","sub":"J1","aud":s.issuer,"exp":now.0+60,"jti":"five"})
        )
    );
    send(&none).assert_error_status_in(&[400, 401], "invalid_client");
    // CA-06: J1 may not fall back to a secret.
    let r = s.token("J1", "anything-at-all", "grant_type=client_credentials");
    assert_eq!(r.error(), Some("invalid_client"));
}

fn ja_01_ja_05_ja_08_assertion_types_clock_skew_and_client_secret_jwt(a: Adapter) {
    let s = TestServer::start(a);
    let now = {
        use tollgate::Clock as _;
        s.clock.now()
    };
    let send = |kind: &str, jwt: &str| {
        s.post(
            "/token",
            &format!(
                "grant_type=client_credentials&client_assertion_type={}&client_assertion={jwt}",
                enc(kind)
            ),
        )
    };
    let bearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    // JA-01: the wrong assertion type.
    let jwt = assertion(now, serde_json::json!({"aud": s.issuer, "jti": "t1"}));
    let r = send("urn:example:other", &jwt);
    assert!(
        matches!(r.error(), Some("invalid_request" | "invalid_client")),
        "{}",
        r.body
    );
    // JA-05: nbf 8 s ahead is within the skew.
    let jwt = assertion(
        now,
        serde_json::json!({"aud": s.issuer, "jti": "t2", "nbf": now.0 + 8}),
    );
    send(bearer, &jwt).ok();
    // JA-08: client_secret_jwt, HS256 over the shared key.
    let claims = serde_json::json!({
        "iss": "J2", "sub": "J2", "aud": s.issuer, "exp": now.0 + 60, "iat": now.0, "jti": "t3"
    });
    let hs = tollgate::jose::sign_compact_hs256(
        J2_JWT_SECRET.as_bytes(),
        None,
        Some("JWT"),
        claims.to_string().as_bytes(),
    )
    .expect("HS256");
    send(bearer, &hs).ok();
}

fn base64_url(v: &serde_json::Value) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

trait StatusIn {
    fn assert_error_status_in(&self, statuses: &[u16], error: &str);
}

impl StatusIn for Reply {
    #[track_caller]
    fn assert_error_status_in(&self, statuses: &[u16], error: &str) {
        assert!(
            statuses.contains(&self.status),
            "{}: {}",
            self.status,
            self.body
        );
        assert_eq!(self.error(), Some(error), "{}", self.body);
    }
}

fn ac_01_ac_02_codes_are_single_use_and_a_valid_replay_revokes(a: Adapter) {
    let s = TestServer::start(a);
    let code = s.code("C1", C1_REDIRECT, "openid offline_access", true);
    let first = s.token("C1", C1_SECRET, &code_body(&code)).ok();
    assert!(active(&s, &first.access_token()));
    s.token("C1", C1_SECRET, &code_body(&code))
        .assert_error(400, "invalid_grant");
    assert!(
        !active(&s, &first.access_token()),
        "AC-02: the first token is revoked"
    );
    let r = s.token(
        "C1",
        C1_SECRET,
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            enc(&first.refresh_token())
        ),
    );
    r.assert_error(400, "invalid_grant");
}

fn ac_03_an_invalid_replay_revokes_nothing(a: Adapter) {
    let s = TestServer::start(a);
    let code = s.code("C1", C1_REDIRECT, "openid", true);
    let first = s.token("C1", C1_SECRET, &code_body(&code)).ok();
    let wrong = code_body(&code).replace(VERIFIER, &"x".repeat(43));
    assert_eq!(s.token("C1", C1_SECRET, &wrong).status, 400);
    assert!(active(&s, &first.access_token()));
}

fn ac_04_ac_05_codes_are_bound_to_client_and_redirect_uri(a: Adapter) {
    let s = TestServer::start(a);
    let code = s.code("C1", C1_REDIRECT, "openid", true);
    s.token("C2", C2_SECRET, &code_body(&code))
        .assert_error(400, "invalid_grant");
    let code = s.code("C1", C1_REDIRECT, "openid", true);
    s.token(
        "C1",
        C1_SECRET,
        &code_body(&code).replace(&enc(C1_REDIRECT), &enc("https://rp.test/cb/")),
    )
    .assert_error(400, "invalid_grant");
}

fn ac_06_ac_08_verifiers_must_match_and_be_well_formed(a: Adapter) {
    let s = TestServer::start(a);
    for bad in [
        "x".repeat(43),
        VERIFIER[..42].to_string(),
        "a".repeat(129),
        format!("{}+", &VERIFIER[..42]),
    ] {
        let code = s.code("C1", C1_REDIRECT, "openid", true);
        let r = s.token(
            "C1",
            C1_SECRET,
            &code_body(&code).replace(VERIFIER, &enc(&bad)),
        );
        assert_eq!(r.status, 400, "{bad}");
        assert!(matches!(
            r.error(),
            Some("invalid_grant" | "invalid_request")
        ));
    }
    let code = s.code("C1", C1_REDIRECT, "openid", true);
    s.token(
        "C1",
        C1_SECRET,
        &code_body(&code).replace(&format!("&code_verifier={VERIFIER}"), ""),
    )
    .assert_error(400, "invalid_grant");
}

fn ac_07_a_verifier_without_a_challenge_is_refused(a: Adapter) {
    let s = TestServer::start(a);
    let code = s.code("C1", C1_REDIRECT, "openid", false);
    s.token("C1", C1_SECRET, &code_body(&code))
        .assert_error(400, "invalid_request");
}

fn ac_10_id_01_id_04_id_09_id_tokens(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.c1_tokens("openid").ok();
    let id = r.str("id_token").expect("AC-10: id_token");
    let claims = jwt_claims(id);
    assert_eq!(claims["iss"], s.issuer.as_str());
    assert!(
        claims["aud"] == "C1"
            || claims["aud"]
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == "C1"))
    );
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["nonce"], "n-0S6");
    let (iat, exp) = (
        claims["iat"].as_u64().expect("iat"),
        claims["exp"].as_u64().expect("exp"),
    );
    assert!(exp > iat);
    let header = jwt_header(id);
    let kid = header["kid"].as_str().expect("ID-09: kid");
    let jwks = s.get("/jwks").ok();
    assert!(jwks.json["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .any(|k| k["kid"] == kid));
    assert!(
        claims
            .as_object()
            .expect("object")
            .values()
            .all(|v| !v.is_null()),
        "ID-11"
    );
}

fn id_02_subjects_are_stable_and_distinct(a: Adapter) {
    let s = TestServer::start(a);
    let sub = |user: &str, password: &str| {
        let r = s.browser().flow(
            &format!(
                "response_type=code&client_id=C1&redirect_uri={}&scope=openid&state=s\
                 &code_challenge={CHALLENGE}&code_challenge_method=S256",
                enc(C1_REDIRECT)
            ),
            user,
            password,
        );
        let t = s
            .token("C1", C1_SECRET, &code_body(r.get("code").expect("code")))
            .ok();
        jwt_claims(t.str("id_token").expect("id_token"))["sub"].clone()
    };
    let (a1, a2, b) = (
        sub("alice", ALICE_PASSWORD),
        sub("alice", ALICE_PASSWORD),
        sub("bob", BOB_PASSWORD),
    );
    assert_eq!(a1, a2);
    assert_ne!(a1, b);
}

fn ac_11_concurrent_redemptions_yield_one_token(a: Adapter) {
    let s = TestServer::start(a);
    let code = s.code("C1", C1_REDIRECT, "openid", true);
    let body = code_body(&code);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..10)
            .map(|_| scope.spawn(|| s.token("C1", C1_SECRET, &body).status))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert!(statuses.iter().all(|s| *s == 200 || *s == 400));
}

fn at_01_at_03_jwt_access_tokens(a: Adapter) {
    let s = TestServer::start(a);
    let r = s
        .token("JWTAT", C1_SECRET, "grant_type=client_credentials")
        .ok();
    let at = r.access_token();
    assert_eq!(jwt_header(&at)["typ"], "at+jwt");
    let claims = jwt_claims(&at);
    for c in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
        assert!(claims.get(c).is_some(), "{c}");
    }
    assert_eq!(claims["iss"], s.issuer.as_str());
    assert_eq!(claims["client_id"], "JWTAT");
}

/// The `[[trusted_issuers]]` entry and a client allowed the JWT-bearer grant.
fn jwt_bearer_config(idp: &tollgate::jose::SigningKey) -> String {
    let jwks = serde_json::json!({ "keys": [idp.public_jwk()] }).to_string();
    format!(
        r#"
[[trusted_issuers]]
issuer = "https://idp.test"
jwks = '''{jwks}'''
subject_prefix = "idp|"
allowed_scopes = "openid offline_access api:read"
refresh_tokens = true

[[clients]]
id = "JB"
type = "confidential"
kind = "web"
auth_method = "client_secret_basic"
secret = "{C2_SECRET}"
grant_types = ["urn:ietf:params:oauth:grant-type:jwt-bearer", "refresh_token"]
scopes = "openid offline_access api:read api:write"
default_scopes = "api:read"
"#
    )
}

fn jb_01_a_trusted_issuers_jwt_is_a_grant(a: Adapter) {
    let idp = ed25519_key(9, "idp-key");
    let s = TestServer::start_with(a, "", &jwt_bearer_config(&idp));
    let now = {
        use tollgate::Clock as _;
        s.clock.now().0
    };
    let claims = |jti: &str| {
        serde_json::json!({
            "iss": "https://idp.test", "sub": "u-42", "aud": s.issuer,
            "exp": now + 300, "iat": now, "jti": jti,
        })
    };
    let sign = |key: &tollgate::jose::SigningKey, claims: &serde_json::Value| {
        tollgate::jose::jwt::encode(key, Some("JWT"), claims).expect("sign")
    };
    let grant = |assertion: &str, extra: &str| {
        s.token(
            "JB",
            C2_SECRET,
            &format!(
                "grant_type={}&assertion={assertion}{extra}",
                enc("urn:ietf:params:oauth:grant-type:jwt-bearer")
            ),
        )
    };
    // Discovery says the server takes the grant.
    let meta = s.get("/.well-known/openid-configuration").ok();
    assert!(meta.json["grant_types_supported"]
        .as_array()
        .expect("grant types")
        .iter()
        .any(|g| g == "urn:ietf:params:oauth:grant-type:jwt-bearer"));

    // The issuer's JWT is the grant: its default scope, no refresh token unasked.
    let r = grant(&sign(&idp, &claims("g-1")), "").ok();
    assert_eq!(r.str("scope"), Some("api:read"));
    assert!(r.str("refresh_token").is_none());
    let i = s.post_basic(
        "/introspect",
        "C1",
        C1_SECRET,
        &format!("token={}", r.access_token()),
    );
    assert_eq!(i.json["active"], true);
    assert_eq!(
        i.str("sub"),
        Some("idp|u-42"),
        "the issuer's prefix keeps its users apart"
    );
    // offline_access, which this issuer allows: a refresh token that refreshes.
    let r = grant(&sign(&idp, &claims("g-2")), "&scope=openid+offline_access").ok();
    s.token(
        "JB",
        C2_SECRET,
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            r.refresh_token()
        ),
    )
    .ok();
    // A scope beyond the issuer's, a replayed jti, another key: refused.
    grant(&sign(&idp, &claims("g-3")), "&scope=api:write").assert_error(400, "invalid_scope");
    grant(&sign(&idp, &claims("g-1")), "").assert_error(400, "invalid_grant");
    let stranger = ed25519_key(10, "idp-key");
    grant(&sign(&stranger, &claims("g-4")), "").assert_error(400, "invalid_grant");
}

tollgate_http_tests::on_both_adapters!(
    jb_01_a_trusted_issuers_jwt_is_a_grant,
    gen_01_unknown_parameters_are_ignored,
    gen_02_repeated_parameters_are_invalid_requests,
    gen_03_empty_parameters_are_absent,
    gen_05_token_revoke_introspect_take_only_post,
    gen_06_credentials_in_the_query_do_not_authenticate,
    gen_07_tk_03_errors_are_json_400_in_the_allowed_alphabet,
    gen_09_tokens_are_visible_ascii,
    tk_01_tk_02_token_responses_are_json_and_never_cached,
    tk_04_tk_05_tk_06_tk_07_token_errors,
    tk_08_ca_07_password_grant_checks_and_locks_out,
    ca_01_basic_credentials_are_form_encoded,
    ca_02_client_secret_post,
    ca_03_failed_basic_is_401_with_a_challenge,
    ca_04_ca_06_ca_09_client_authentication_rules,
    ca_05_ca_08_one_method_one_client,
    cc_01_rt_10_client_credentials_is_confidential_and_has_no_refresh_token,
    ja_private_key_jwt_client_authentication,
    ja_01_ja_05_ja_08_assertion_types_clock_skew_and_client_secret_jwt,
    ac_01_ac_02_codes_are_single_use_and_a_valid_replay_revokes,
    ac_03_an_invalid_replay_revokes_nothing,
    ac_04_ac_05_codes_are_bound_to_client_and_redirect_uri,
    ac_06_ac_08_verifiers_must_match_and_be_well_formed,
    ac_07_a_verifier_without_a_challenge_is_refused,
    ac_10_id_01_id_04_id_09_id_tokens,
    id_02_subjects_are_stable_and_distinct,
    ac_11_concurrent_redemptions_yield_one_token,
    at_01_at_03_jwt_access_tokens,
);
