//! Discovery (DS), the JWKS (JW) and UserInfo (UI) over TCP, and CORS on the endpoints a
//! browser application fetches (DS-11).

use serde_json::Value;
use tollgate_http_tests::*;

fn no_empty_arrays(v: &Value) -> bool {
    match v {
        Value::Array(a) => !a.is_empty() && a.iter().all(no_empty_arrays),
        Value::Object(o) => o.values().all(no_empty_arrays),
        _ => true,
    }
}

fn ds_01_ds_03_documents_are_where_the_issuer_path_puts_them(a: Adapter) {
    let s = TestServer::start_with(a, "/t1", "");
    let oidc = s.get("/.well-known/openid-configuration").ok();
    assert_eq!(oidc.json["issuer"], s.issuer.as_str());
    assert_eq!(oidc.json["token_endpoint"], format!("{}/token", s.issuer));
    let rfc8414 = s.send(s.http().get(format!(
        "{}/.well-known/oauth-authorization-server/t1",
        s.origin
    )));
    assert_eq!(rfc8414.ok().json["issuer"], s.issuer.as_str());
    // The endpoints are mounted under the path, and only there.
    s.token("SVC", SVC_SECRET, "grant_type=client_credentials")
        .ok();
    let outside = s.send(
        s.http()
            .post(format!("{}/token", s.origin))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials"),
    );
    assert_eq!(outside.status, 404);
}

fn ds_02_ds_04_ds_05_ds_07_ds_09_metadata_contents(a: Adapter) {
    let s = TestServer::start(a);
    for doc in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let r = s.get(doc).ok();
        assert!(r
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")));
        assert!(no_empty_arrays(&r.json), "{doc}");
        for field in [
            "issuer",
            "authorization_endpoint",
            "token_endpoint",
            "response_types_supported",
        ] {
            assert!(r.json.get(field).is_some(), "{doc}: {field}");
        }
        let methods = r.json["token_endpoint_auth_methods_supported"]
            .as_array()
            .expect("array");
        assert!(methods.iter().any(|m| m == "client_secret_basic"));
        if let Some(algs) = r
            .json
            .get("token_endpoint_auth_signing_alg_values_supported")
        {
            assert!(!algs.as_array().expect("array").iter().any(|a| a == "none"));
        }
        assert_eq!(
            r.json["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
    }
    let oidc = s.get("/.well-known/openid-configuration").ok();
    for field in [
        "jwks_uri",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
        "userinfo_endpoint",
    ] {
        assert!(oidc.json.get(field).is_some(), "{field}");
    }
    let algs = oidc.json["id_token_signing_alg_values_supported"]
        .as_array()
        .expect("array");
    assert!(algs.iter().any(|a| a == "RS256"), "DS-05");
    let grants = oidc.json["grant_types_supported"]
        .as_array()
        .expect("DS-07");
    assert!(grants.iter().any(|g| g == "refresh_token"));
}

fn ds_08_ds_10_https_issuers_advertise_only_https_endpoints(a: Adapter) {
    let s = TestServer::start_scheme(a, "https", "", "");
    let r = s.get("/.well-known/openid-configuration").ok();
    let urls: Vec<&str> = r
        .json
        .as_object()
        .expect("object")
        .iter()
        .filter(|(k, _)| k.ends_with("_endpoint") || *k == "jwks_uri")
        .filter_map(|(_, v)| v.as_str())
        .collect();
    assert!(urls.len() >= 6, "{urls:?}");
    assert!(urls.iter().all(|u| u.starts_with("https://")), "{urls:?}");
    for field in [
        "revocation_endpoint",
        "introspection_endpoint",
        "response_modes_supported",
    ] {
        assert!(r.json.get(field).is_some(), "{field}");
    }
}

fn jw_04_retiring_keys_stay_published_but_do_not_sign(a: Adapter) {
    let old = ed25519_key(5, "ed-old").to_pkcs8_pem();
    let extra = format!(
        "[[keys]]\nalg = \"EdDSA\"\nkid = \"ed-old\"\nretiring = true\npem = \"\"\"{old}\"\"\"\n"
    );
    let s = TestServer::start_with(a, "", &extra);
    let jwks = s.get("/jwks").ok();
    let kids: Vec<&str> = jwks.json["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["kid"].as_str())
        .collect();
    assert!(
        kids.contains(&"ed-old") && kids.contains(&"es256-1"),
        "{kids:?}"
    );
    let id = s.c1_tokens("openid").ok();
    assert_eq!(
        jwt_header(id.str("id_token").expect("id_token"))["kid"],
        "es256-1"
    );
}

fn jw_01_jw_03_jw_05_jw_06_the_key_set(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.get("/jwks").ok();
    assert!(r
        .header("cache-control")
        .is_some_and(|c| c.contains("max-age")));
    let keys = r.json["keys"].as_array().expect("keys");
    let mut kids = std::collections::HashSet::new();
    for k in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(k.get(private).is_none(), "{private}");
        }
        assert_ne!(k["kty"], "oct");
        assert!(
            kids.insert(k["kid"].as_str().expect("kid").to_string()),
            "unique kid"
        );
    }
    assert!(keys.iter().any(|k| k["kty"] == "RSA"), "JW-05");
}

fn ui_01_ui_04_userinfo_by_get_and_post_with_scoped_claims(a: Adapter) {
    let s = TestServer::start(a);
    let at = s.c1_tokens("openid email").ok().access_token();
    let get = s
        .send(s.http().get(s.url("/userinfo")).bearer_auth(&at))
        .ok();
    assert_eq!(get.json["sub"], "alice");
    assert_eq!(get.json["email"], "alice@example.com");
    assert!(get.json.get("name").is_none(), "profile was not granted");
    let post = s
        .send(s.http().post(s.url("/userinfo")).bearer_auth(&at))
        .ok();
    assert_eq!(post.json, get.json);
    let all = s
        .c1_tokens("openid profile email address phone")
        .ok()
        .access_token();
    let r = s
        .send(s.http().get(s.url("/userinfo")).bearer_auth(&all))
        .ok();
    for c in ["name", "email", "phone_number", "address"] {
        assert!(r.json.get(c).is_some(), "{c}");
    }
}

fn ui_03_bad_tokens_get_a_bearer_challenge(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.send(s.http().get(s.url("/userinfo")).bearer_auth("tga_nope"));
    assert_eq!(r.status, 401);
    assert!(r
        .header("www-authenticate")
        .is_some_and(|h| h.starts_with("Bearer") && h.contains("invalid_token")));
}

const SPA: &str = "https://spa.test";

/// A request from a script on `origin` (a CORS request: it carries `Origin`).
fn from_origin(
    s: &TestServer,
    method: reqwest::Method,
    path: &str,
    origin: &str,
) -> reqwest::blocking::RequestBuilder {
    s.http()
        .request(method, s.url(path))
        .header("Origin", origin)
}

fn preflight(s: &TestServer, path: &str, origin: &str, method: &str) -> Reply {
    s.send(
        from_origin(s, reqwest::Method::OPTIONS, path, origin)
            .header("Access-Control-Request-Method", method)
            .header(
                "Access-Control-Request-Headers",
                "authorization, content-type",
            ),
    )
}

fn acao(r: &Reply) -> Option<&str> {
    r.header("access-control-allow-origin")
}

fn ds_11_cors_for_listed_origins_on_token_userinfo_jwks_and_metadata(a: Adapter) {
    let s = TestServer::start_with(a, "", &format!("cors_origins = [\"{SPA}\"]"));
    // Preflights the policy allows are answered; the real requests carry the origin back.
    for (path, method) in [
        ("/token", "POST"),
        ("/revoke", "POST"),
        ("/userinfo", "GET"),
        ("/jwks", "GET"),
        ("/.well-known/openid-configuration", "GET"),
        ("/.well-known/oauth-authorization-server", "GET"),
    ] {
        let p = preflight(&s, path, SPA, method);
        assert_eq!(p.status, 204, "{path}: {}", p.body);
        assert_eq!(acao(&p), Some(SPA), "{path}");
        assert!(p
            .header("access-control-allow-methods")
            .is_some_and(|m| m.contains(method)));
        let allowed = p
            .header("access-control-allow-headers")
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(allowed.contains("authorization") && allowed.contains("content-type"));
        assert_eq!(p.header("vary"), Some("Origin"));
        // Another origin, or a method the endpoint does not take: no CORS answer.
        let other = preflight(&s, path, "https://evil.test", method);
        assert!(acao(&other).is_none(), "{path}");
        assert_eq!(other.status, 405, "{path}");
        let wrong = preflight(&s, path, SPA, "DELETE");
        assert!(acao(&wrong).is_none(), "{path}");
    }
    // A public SPA's code exchange and refresh from its origin: readable, errors too.
    let code = s.code("P1", P1_REDIRECT, "openid offline_access", true);
    let tokens = s.send(
        from_origin(&s, reqwest::Method::POST, "/token", SPA)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=authorization_code&client_id=P1&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
                enc(P1_REDIRECT)
            )),
    );
    assert_eq!(acao(&tokens), Some(SPA));
    assert!(tokens
        .headers_all("vary")
        .iter()
        .any(|v| v.contains("Origin")));
    let tokens = tokens.ok();
    let refused = s.send(
        from_origin(&s, reqwest::Method::POST, "/token", SPA)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=refresh_token&client_id=P1&refresh_token=tgr_nope"),
    );
    refused.assert_error(400, "invalid_grant");
    assert_eq!(acao(&refused), Some(SPA));
    let info = s.send(
        from_origin(&s, reqwest::Method::GET, "/userinfo", SPA).bearer_auth(tokens.access_token()),
    );
    assert_eq!(acao(&info.clone().ok()), Some(SPA));
    let bad =
        s.send(from_origin(&s, reqwest::Method::GET, "/userinfo", SPA).bearer_auth("tga_nope"));
    assert_eq!(bad.status, 401);
    assert!(bad
        .header("access-control-expose-headers")
        .is_some_and(|h| h.eq_ignore_ascii_case("www-authenticate")));
    for path in ["/jwks", "/.well-known/openid-configuration"] {
        let r = s.send(from_origin(&s, reqwest::Method::GET, path, SPA));
        assert_eq!(acao(&r.ok()), Some(SPA), "{path}");
        let r = s.send(from_origin(
            &s,
            reqwest::Method::GET,
            path,
            "https://evil.test",
        ));
        assert!(acao(&r.ok()).is_none(), "{path}");
    }
    // Unlisted origins get nothing; introspection (a back channel) never.
    let evil = s.send(
        from_origin(&s, reqwest::Method::POST, "/token", "https://evil.test")
            .header("Authorization", basic("SVC", SVC_SECRET))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials"),
    );
    assert!(acao(&evil.ok()).is_none());
    let introspect = s.send(
        from_origin(&s, reqwest::Method::POST, "/introspect", SPA)
            .header("Authorization", basic("C1", C1_SECRET))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(format!("token={}", tokens.access_token())),
    );
    assert!(acao(&introspect.ok()).is_none());
    assert_eq!(preflight(&s, "/introspect", SPA, "POST").status, 405);
}

fn ds_11_a_star_opens_only_the_jwks_and_metadata(a: Adapter) {
    let s = TestServer::start_with(a, "", "cors_origins = [\"*\"]");
    for path in [
        "/jwks",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let r = s.send(from_origin(
            &s,
            reqwest::Method::GET,
            path,
            "https://any.test",
        ));
        assert_eq!(acao(&r.ok()), Some("*"), "{path}");
        assert_eq!(preflight(&s, path, "https://any.test", "GET").status, 204);
    }
    let p = preflight(&s, "/token", "https://any.test", "POST");
    assert_eq!((p.status, acao(&p)), (405, None));
    let r = s.send(
        from_origin(&s, reqwest::Method::POST, "/token", "https://any.test")
            .header("Authorization", basic("SVC", SVC_SECRET))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials"),
    );
    assert!(
        acao(&r.ok()).is_none(),
        "the token endpoint needs a listed origin"
    );
}

fn ds_11_without_cors_origins_nothing_is_cross_origin(a: Adapter) {
    let s = TestServer::start(a);
    for path in ["/jwks", "/.well-known/openid-configuration"] {
        let r = s.send(from_origin(&s, reqwest::Method::GET, path, SPA));
        let r = r.ok();
        assert!(acao(&r).is_none() && r.header("vary").is_none(), "{path}");
    }
    assert_eq!(preflight(&s, "/token", SPA, "POST").status, 405);
}

tollgate_http_tests::on_both_adapters!(
    ds_11_cors_for_listed_origins_on_token_userinfo_jwks_and_metadata,
    ds_11_a_star_opens_only_the_jwks_and_metadata,
    ds_11_without_cors_origins_nothing_is_cross_origin,
    ds_01_ds_03_documents_are_where_the_issuer_path_puts_them,
    ds_02_ds_04_ds_05_ds_07_ds_09_metadata_contents,
    ds_08_ds_10_https_issuers_advertise_only_https_endpoints,
    jw_04_retiring_keys_stay_published_but_do_not_sign,
    jw_01_jw_03_jw_05_jw_06_the_key_set,
    ui_01_ui_04_userinfo_by_get_and_post_with_scoped_claims,
    ui_03_bad_tokens_get_a_bearer_challenge,
);
