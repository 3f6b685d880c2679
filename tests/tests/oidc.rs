//! OpenID Connect tokens and metadata: ID tokens (ID-01 … ID-11, AC-10, OI-01, RT-11), JWT
//! access tokens (AT-01 … AT-04, CC-02), JWKS (JW-01, JW-03, JW-04, JW-05) and discovery
//! (DS-02 … DS-10, PK-08, AZ-13, RT-13).

use serde_json::Value;
use tollgate::discovery::Document;
use tollgate::jose::{Algorithm, Jwks, KeySet};
use tollgate_conformance_tests::{enc, Harness, C1_REDIRECT, C1_SECRET, ISSUER, T0};

fn claims(jwt: &str) -> (Value, Value) {
    let (h, c) = tollgate::jose::jwt::peek_unverified(jwt, 16 * 1024).unwrap();
    (
        serde_json::to_value(h.get("alg")).unwrap(),
        Value::Object(c),
    )
}

fn header(jwt: &str) -> Value {
    let (h, _) = tollgate::jose::jwt::peek_unverified(jwt, 16 * 1024).unwrap();
    let mut m = serde_json::Map::new();
    for k in ["alg", "kid", "typ", "jku", "x5u", "x5c", "jwk"] {
        if let Some(v) = h.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    Value::Object(m)
}

fn verify(h: &Harness, jwt: &str) -> serde_json::Map<String, Value> {
    let jwks: Jwks = Jwks::parse_public(&h.server.jwks().body).unwrap();
    tollgate::jose::jwt::decode_verified(jwt, &Algorithm::ALL, &jwks.keys, None, 16 * 1024)
        .expect("verifies under the published JWKS")
}

#[test]
fn ac_10_id_01_id_04_the_code_grant_returns_a_valid_id_token() {
    let h = Harness::new();
    let r = h.c1_tokens("openid api:read").ok();
    let id_token = r
        .str("id_token")
        .expect("an ID token for an openid request")
        .to_string();
    let c = verify(&h, &id_token);
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["aud"], "C1");
    assert_eq!(c["azp"], "C1");
    assert_eq!(c["iat"], T0.0);
    assert_eq!(c["exp"], T0.0 + 3600);
    assert_eq!(c["auth_time"], T0.0);
    assert_eq!(c["nonce"], "n-0S6_WzA2Mj", "ID-06: the request's nonce");
    assert!(c.values().all(|v| !v.is_null()), "ID-11: no nulls");
}

#[test]
fn id_07_at_hash_is_correct() {
    let h = Harness::new();
    let r = h.c1_tokens("openid").ok();
    let c = verify(&h, r.str("id_token").unwrap());
    assert_eq!(
        c["at_hash"],
        tollgate::id_token::at_hash(Algorithm::EdDsa, &r.access_token())
    );
}

#[test]
fn id_09_id_10_the_header_names_a_published_kid_and_nothing_else() {
    let h = Harness::new();
    let id_token = h
        .c1_tokens("openid")
        .ok()
        .str("id_token")
        .unwrap()
        .to_string();
    let hd = header(&id_token);
    let kid = hd["kid"].as_str().unwrap();
    let jwks: Jwks = Jwks::parse_public(&h.server.jwks().body).unwrap();
    assert!(jwks.keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
    for k in ["jku", "x5u", "x5c", "jwk"] {
        assert!(hd.get(k).is_none(), "{k}");
    }
}

#[test]
fn oi_01_no_openid_no_id_token() {
    let h = Harness::new();
    let r = h.c1_tokens("api:read").ok();
    assert!(r.str("id_token").is_none());
    let cc = h
        .post_basic(
            "C1",
            C1_SECRET,
            "grant_type=client_credentials&scope=openid",
        )
        .ok();
    assert!(cc.str("id_token").is_none(), "no user, no ID token");
}

#[test]
fn rt_11_refreshed_id_token_keeps_iss_sub_aud_auth_time_with_a_new_iat_and_no_nonce() {
    let h = Harness::new();
    let first = h.c1_tokens("openid offline_access").ok();
    let a = verify(&h, first.str("id_token").unwrap());
    h.advance(60);
    let second = h.c1_refresh(&first.refresh_token()).ok();
    let b = verify(
        &h,
        second.str("id_token").expect("a new ID token on refresh"),
    );
    for k in ["iss", "sub", "aud", "auth_time"] {
        assert_eq!(a[k], b[k], "{k}");
    }
    assert_eq!(b["iat"], T0.0 + 60);
    assert!(b.get("nonce").is_none());
    assert_eq!(
        b["at_hash"],
        tollgate::id_token::at_hash(Algorithm::EdDsa, &second.access_token())
    );
}

#[test]
fn the_password_grant_returns_an_id_token_with_openid() {
    let h = Harness::new();
    let r = h
        .post_basic(
            "PW",
            tollgate_conformance_tests::PW_SECRET,
            "grant_type=password&username=alice&password=wonderland&scope=openid",
        )
        .ok();
    assert_eq!(verify(&h, r.str("id_token").unwrap())["sub"], "alice");
}

#[test]
fn id_08_the_client_registered_algorithm_is_used() {
    let h = Harness::with_config(|_| {});
    let mut c1 = tollgate_conformance_tests::fixture_clients().remove(0);
    c1.oidc.id_token_signed_response_alg = Some(Algorithm::Rs256);
    h.store.insert_client(c1).unwrap();
    let id_token = h
        .c1_tokens("openid")
        .ok()
        .str("id_token")
        .unwrap()
        .to_string();
    assert_eq!(header(&id_token)["alg"], "RS256");
    assert_eq!(header(&id_token)["kid"], "rs256-1");
    verify(&h, &id_token);
}

#[test]
fn es256_is_the_default_signing_algorithm() {
    let mut h = Harness::new();
    h.server = tollgate::Server::builder(tollgate::ServerConfig {
        issuer: ISSUER.into(),
        ..Default::default()
    })
    .clock(h.clock.clone())
    .build()
    .unwrap();
    let id_token = h
        .c1_tokens("openid")
        .ok()
        .str("id_token")
        .unwrap()
        .to_string();
    assert_eq!(claims(&id_token).0, "ES256");
    verify(&h, &id_token);
}

#[test]
fn at_01_at_04_jwt_access_tokens_follow_rfc_9068() {
    let h = Harness::new();
    let code = h.code("JWTAT", C1_REDIRECT, "openid api:read", None);
    let r = h
        .post_basic(
            "JWTAT",
            C1_SECRET,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                enc(C1_REDIRECT)
            ),
        )
        .ok();
    let at = r.access_token();
    let hd = header(&at);
    assert_eq!(hd["typ"], "at+jwt");
    assert_ne!(hd["alg"], "none");
    let c = verify(&h, &at);
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["aud"], ISSUER, "the default audience is the issuer");
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["client_id"], "JWTAT");
    assert_eq!(c["iat"], T0.0);
    assert_eq!(c["exp"], T0.0 + 3600);
    assert_eq!(c["scope"], "api:read openid");
    assert!(c["jti"].as_str().unwrap().len() >= 22);
    // Still revocable and introspectable: stored by hash like an opaque token.
    assert!(h.access_active(&at));
    assert_eq!(h.userinfo(&at).str("sub"), Some("alice"));
}

#[test]
fn cc_02_a_client_credentials_jwt_names_the_client_as_sub() {
    let h = Harness::new();
    let at = h
        .post_basic("JWTAT", C1_SECRET, "grant_type=client_credentials")
        .ok()
        .access_token();
    let c = verify(&h, &at);
    assert_eq!(c["sub"], "JWTAT");
    assert_eq!(c["client_id"], "JWTAT");
}

#[test]
fn jwt_access_token_audience_is_configurable() {
    let h = Harness::with_config(|c| c.access_token_audience = "https://api.test".into());
    let at = h
        .post_basic("JWTAT", C1_SECRET, "grant_type=client_credentials")
        .ok()
        .access_token();
    assert_eq!(verify(&h, &at)["aud"], "https://api.test");
}

#[test]
fn jw_01_jw_03_jw_05_jwks_has_public_keys_with_unique_kids_and_an_rsa_key() {
    let h = Harness::new();
    let r = h.server.jwks();
    assert_eq!(r.status, 200);
    assert!(
        r.header("cache-control").unwrap().contains("max-age"),
        "JW-06"
    );
    let doc: Value = serde_json::from_slice(&r.body).unwrap();
    let keys = doc["keys"].as_array().unwrap();
    let mut kids = std::collections::HashSet::new();
    for k in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            assert!(k.get(private).is_none(), "{private} in {k}");
        }
        assert_ne!(k["kty"], "oct");
        assert!(
            kids.insert(k["kid"].as_str().unwrap().to_string()),
            "duplicate kid"
        );
    }
    assert!(keys.iter().any(|k| k["kty"] == "RSA"));
}

#[test]
fn jw_04_rotation_keeps_old_tokens_verifiable() {
    let h = Harness::new();
    let before = h
        .c1_tokens("openid")
        .ok()
        .str("id_token")
        .unwrap()
        .to_string();
    let mut keys: KeySet = tollgate_conformance_tests::server_keys();
    keys.add_active(tollgate_conformance_tests::ed25519_key(9, "ed-2"))
        .unwrap();
    h.server.replace_keys(keys).unwrap();
    let after = h
        .c1_tokens("openid")
        .ok()
        .str("id_token")
        .unwrap()
        .to_string();
    assert_eq!(header(&after)["kid"], "ed-2", "the new key signs");
    verify(&h, &before);
    verify(&h, &after);
    let jwks: Value = serde_json::from_slice(&h.server.jwks().body).unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(kids.contains(&"ed-1") && kids.contains(&"ed-2"));
}

fn discovery(h: &Harness, doc: Document) -> Value {
    let r = h.server.discovery(doc);
    assert_eq!(r.status, 200);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    serde_json::from_slice(&r.body).unwrap()
}

fn no_empty_arrays(v: &Value) {
    match v {
        Value::Array(a) => {
            assert!(!a.is_empty());
            a.iter().for_each(no_empty_arrays);
        }
        Value::Object(o) => o.values().for_each(no_empty_arrays),
        _ => {}
    }
}

#[test]
fn ds_02_ds_08_openid_configuration_lists_what_is_supported() {
    let h = Harness::new();
    let d = discovery(&h, Document::OpenIdConfiguration);
    no_empty_arrays(&d);
    assert_eq!(d["issuer"], ISSUER, "DS-03: byte-equal to the issuer");
    for k in [
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "userinfo_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
    ] {
        assert!(
            d[k].as_str().unwrap().starts_with("https://as.test/"),
            "DS-08 {k}"
        );
    }
    assert_eq!(d["token_endpoint"], "https://as.test/token");
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(d["subject_types_supported"], serde_json::json!(["public"]));
    let algs = d["id_token_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(algs.contains(&Value::from("RS256")), "DS-05");
    assert!(!algs.contains(&Value::from("none")));
    assert!(
        d["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from("openid")),
        "DS-06"
    );
    let grants = d["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&Value::from("refresh_token")), "RT-13");
    assert!(
        !grants.contains(&Value::from("password")),
        "TK-08: ROPC is not advertised"
    );
    assert!(grants.contains(&Value::from("urn:ietf:params:oauth:grant-type:jwt-bearer")));
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256"]),
        "PK-08"
    );
    assert_eq!(
        d["authorization_response_iss_parameter_supported"], true,
        "AZ-13"
    );
    let methods = d["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&Value::from("private_key_jwt")));
    let signing = d["token_endpoint_auth_signing_alg_values_supported"]
        .as_array()
        .unwrap();
    assert!(!signing.contains(&Value::from("none")), "JA-09 / DS-09");
    assert!(!d["introspection_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .contains(&Value::from("none")));
}

#[test]
fn ds_04_rfc8414_metadata_omits_oidc_only_fields() {
    let h = Harness::new();
    let d = discovery(&h, Document::OAuthAuthorizationServer);
    no_empty_arrays(&d);
    assert_eq!(d["issuer"], ISSUER);
    assert!(d.get("userinfo_endpoint").is_none());
    assert!(d.get("subject_types_supported").is_none());
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
}

#[test]
fn ds_10_plain_pkce_is_advertised_only_when_enabled() {
    let h = Harness::with_config(|c| c.allow_plain_pkce = true);
    let d = discovery(&h, Document::OpenIdConfiguration);
    assert_eq!(
        d["code_challenge_methods_supported"],
        serde_json::json!(["S256", "plain"])
    );
}

/// A JWT access token of `JWTAT` (code grant, `openid api:read`).
fn jwt_access_token(h: &Harness) -> String {
    let code = h.code("JWTAT", C1_REDIRECT, "openid api:read", None);
    h.post_basic(
        "JWTAT",
        C1_SECRET,
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}",
            enc(C1_REDIRECT)
        ),
    )
    .ok()
    .access_token()
}

fn introspected_active(h: &Harness, token: &str) -> bool {
    h.introspect("C1", C1_SECRET, &format!("token={}", enc(token)))
        .ok()
        .json["active"]
        .as_bool()
        .unwrap()
}

/// The server's own JWT access tokens are stored under the hash of their signature, not of
/// the whole JWT (two SHA-256 blocks instead of eight per issuance); the lookup key is
/// computed only once the signature verifies.
#[test]
fn a_jwt_access_token_is_stored_under_its_signature_key() {
    let h = Harness::new();
    let at = jwt_access_token(&h);
    let key = h.server.access_token_key(&at);
    assert_ne!(key, tollgate::TokenHash::of(&at));
    let store = |k| tollgate::Store::access_token(&h.store, &k).unwrap();
    assert!(store(key).is_some());
    assert!(store(tollgate::TokenHash::of(&at)).is_none());
    // An opaque token's key is its SHA-256.
    let opaque = h.c1_tokens("api:read").ok().access_token();
    assert_eq!(
        h.server.access_token_key(&opaque),
        tollgate::TokenHash::of(&opaque)
    );
}

/// IN-03, UI-02: the genuine signature under altered claims is no token — introspection
/// says inactive and userinfo refuses it, though the key derived from the signature alone
/// names the genuine token's record.
#[test]
fn a_jwt_access_token_with_altered_claims_is_not_accepted() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let h = Harness::new();
    let at = jwt_access_token(&h);
    assert!(introspected_active(&h, &at));
    assert_eq!(h.userinfo(&at).status(), 200);
    let parts: Vec<&str> = at.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    claims["scope"] = "api:read api:write openid".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(serde_json::to_vec(&claims).unwrap()),
        parts[2]
    );
    assert!(!introspected_active(&h, &forged));
    assert_eq!(h.userinfo(&forged).status(), 401);
    // Revoking the forgery revokes nothing.
    h.revoke("JWTAT", C1_SECRET, &format!("token={}", enc(&forged)))
        .ok();
    assert!(introspected_active(&h, &at));
}

/// RV-02 for JWT access tokens: revoking one revokes it alone; a token signed by a key that
/// has since retired stays active (JW-04), and one whose key was removed is no longer
/// found.
#[test]
fn jwt_access_tokens_are_revocable_and_survive_key_rotation_until_their_key_is_removed() {
    let h = Harness::new();
    let revoked = jwt_access_token(&h);
    let kept = jwt_access_token(&h);
    h.revoke("JWTAT", C1_SECRET, &format!("token={}", enc(&revoked)))
        .ok();
    assert!(!introspected_active(&h, &revoked));
    assert!(introspected_active(&h, &kept));

    let rotated = || {
        let mut keys: KeySet = tollgate_conformance_tests::server_keys();
        keys.add_active(tollgate_conformance_tests::ed25519_key(9, "ed-2"))
            .unwrap();
        keys
    };
    h.server.replace_keys(rotated()).unwrap();
    assert_eq!(header(&jwt_access_token(&h))["kid"], "ed-2");
    assert!(introspected_active(&h, &kept), "signed by a retiring key");

    let mut keys = rotated();
    assert!(keys.remove("ed-1").is_some());
    h.server.replace_keys(keys).unwrap();
    assert!(!introspected_active(&h, &kept), "its key is gone");
}
