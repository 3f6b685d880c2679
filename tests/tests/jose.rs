//! JOSE against an independent implementation: `fixtures/jose/vectors.json` was made by
//! `fixtures/jose/make_fixtures.py` with Python `cryptography` alone (its own base64url,
//! headers and DER → R || S conversion; no JOSE library). Tollgate must verify every token
//! Python signed, refuse every negative vector with the expected error, load Python's PKCS#8
//! keys with the same RFC 7638 `kid`, and sign tokens that verify under Python's published
//! JWKs — byte for byte the same tokens for the deterministic RS256 and EdDSA.
//!
//! Set `TOLLGATE_JOSE_EXPORT=<file>` to also write the tokens Tollgate signed, then run
//! `python3 tests/fixtures/jose/make_fixtures.py --verify <file>` to check them with Python.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use tollgate::jose::jws::DEFAULT_MAX_LEN;
use tollgate::jose::{
    jwt, sign_compact, Algorithm, CompactJws, JoseError, Jwk, Jwks, KeySet, SigningKey,
};

const VECTORS: &str = include_str!("../fixtures/jose/vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).expect("vectors.json is JSON")
}

fn python_jwks(v: &Value) -> Jwks {
    Jwks::parse_public(v["jwks"].to_string()).expect("Python's JWKS is a public JWK Set")
}

fn hmac_secret(v: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(v["hmac_secret_b64u"].as_str().unwrap())
        .unwrap()
}

fn algs(list: &Value) -> Vec<Algorithm> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| Algorithm::parse(a.as_str().unwrap()).expect("a known algorithm"))
        .collect()
}

fn alg_of(key: &Value) -> Algorithm {
    Algorithm::parse(key["alg"].as_str().unwrap()).unwrap()
}

/// The variant name, as the vectors spell the expected error.
fn kind(e: &JoseError) -> &'static str {
    match e {
        JoseError::Malformed(_) => "Malformed",
        JoseError::TooLarge => "TooLarge",
        JoseError::UnsupportedAlgorithm => "UnsupportedAlgorithm",
        JoseError::AlgorithmNotAllowed(_) => "AlgorithmNotAllowed",
        JoseError::NoneAlgorithm => "NoneAlgorithm",
        JoseError::CriticalHeader => "CriticalHeader",
        JoseError::ForbiddenHeader(_) => "ForbiddenHeader",
        JoseError::KeyNotFound => "KeyNotFound",
        JoseError::KeyAlgorithmMismatch(_) => "KeyAlgorithmMismatch",
        JoseError::BadSignature => "BadSignature",
        JoseError::KeyRejected(_) => "KeyRejected",
        JoseError::PrivateKeyMaterial => "PrivateKeyMaterial",
        _ => "other",
    }
}

fn decode(v: &Value, vector: &Value, jwks: &Jwks) -> Result<Map<String, Value>, JoseError> {
    let secret = hmac_secret(v);
    let use_secret = vector["use_hmac_secret"].as_bool().unwrap_or(false);
    jwt::decode_verified(
        vector["token"].as_str().unwrap(),
        &algs(&vector["allowed"]),
        &jwks.keys,
        use_secret.then_some(secret.as_slice()),
        DEFAULT_MAX_LEN,
    )
}

/// Python's private keys, loaded by Tollgate with the `kid` left to the thumbprint.
fn python_keys(v: &Value) -> Vec<(String, SigningKey)> {
    v["keys"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, key)| {
            let pem = key["private_pkcs8_pem"].as_str().unwrap();
            let signing = SigningKey::from_pkcs8_pem(alg_of(key), pem, None)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (name.clone(), signing)
        })
        .collect()
}

fn valid_vector<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["valid"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == name)
        .unwrap_or_else(|| panic!("no vector {name}"))
}

#[test]
fn vectors_cover_every_algorithm() {
    let v = vectors();
    let mut seen: Vec<&str> = v["valid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["alg"].as_str().unwrap())
        .collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen, ["ES256", "EdDSA", "HS256", "PS256", "RS256"]);
    assert!(v["invalid"].as_array().unwrap().len() >= 40);
}

#[test]
fn python_signed_tokens_verify() {
    let v = vectors();
    let jwks = python_jwks(&v);
    for vector in v["valid"].as_array().unwrap() {
        let name = vector["name"].as_str().unwrap();
        let claims = decode(&v, vector, &jwks).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(Value::Object(claims), vector["claims"], "{name}");
    }
}

#[test]
fn negative_vectors_fail_with_the_expected_error() {
    let v = vectors();
    let jwks = python_jwks(&v);
    for vector in v["invalid"].as_array().unwrap() {
        let name = vector["name"].as_str().unwrap();
        let expected = vector["expect"].as_str().unwrap();
        match decode(&v, vector, &jwks) {
            Ok(claims) => panic!("{name}: accepted {claims:?}, expected {expected}"),
            Err(e) => assert_eq!(kind(&e), expected, "{name}: got {e:?}"),
        }
    }
}

#[test]
fn private_or_malformed_jwk_sets_are_refused() {
    let v = vectors();
    for vector in v["jwks_invalid"].as_array().unwrap() {
        let name = vector["name"].as_str().unwrap();
        let err = Jwks::parse_public(vector["json"].to_string()).expect_err(name);
        assert_eq!(
            kind(&err),
            vector["expect"].as_str().unwrap(),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn our_thumbprints_match_pythons() {
    let v = vectors();
    for (name, key) in v["keys"].as_object().unwrap() {
        let jwk: Jwk = serde_json::from_value(key["public_jwk"].clone()).unwrap();
        assert_eq!(
            jwk.thumbprint().unwrap(),
            key["thumbprint"].as_str().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn python_pkcs8_keys_load_with_the_same_kid_and_public_jwk() {
    let v = vectors();
    for (name, key) in python_keys(&v) {
        let python = &v["keys"][&name];
        assert_eq!(key.kid(), python["kid"].as_str().unwrap(), "{name}");
        assert_eq!(key.algorithm(), alg_of(python), "{name}");
        assert_eq!(
            serde_json::to_value(key.public_jwk()).unwrap(),
            python["public_jwk"],
            "{name}"
        );
        // Round trip through our own PEM.
        let again = SigningKey::from_pkcs8_pem(key.algorithm(), &key.to_pkcs8_pem(), None).unwrap();
        assert_eq!(again.public_jwk(), key.public_jwk(), "{name}");
    }
}

#[test]
fn our_signatures_verify_under_python_published_jwks() {
    let v = vectors();
    let jwks = python_jwks(&v);
    let claims =
        json!({"iss": "https://as.test", "sub": "bob", "aud": "client", "exp": 1_700_000_600});
    let mut exported = Vec::new();
    for (name, key) in python_keys(&v) {
        let alg = key.algorithm();
        for typ in [Some("JWT"), Some("at+jwt"), None] {
            let token = jwt::encode(&key, typ, &claims).unwrap();
            let decoded = jwt::decode_verified(&token, &[alg], &jwks.keys, None, DEFAULT_MAX_LEN)
                .unwrap_or_else(|e| panic!("{name} {typ:?}: {e:?}"));
            assert_eq!(Value::Object(decoded), claims);
            let header = CompactJws::parse(&token, DEFAULT_MAX_LEN).unwrap();
            assert_eq!(header.header().typ(), typ);
            exported.push(
                json!({"name": format!("{name}_{}", typ.unwrap_or("no_typ")), "token": token}),
            );
        }
        // Python's own payload bytes, signed by us.
        let python_token = valid_vector(&v, &format!("{name}_kid_typ"))["token"]
            .as_str()
            .unwrap();
        let payload = URL_SAFE_NO_PAD
            .decode(python_token.split('.').nth(1).unwrap())
            .unwrap();
        let token = sign_compact(&key, Some("JWT"), &payload).unwrap();
        assert!(jwt::decode_verified(&token, &[alg], &jwks.keys, None, DEFAULT_MAX_LEN).is_ok());
        exported.push(json!({"name": format!("{name}_python_payload"), "token": token}));
    }
    if let Ok(path) = std::env::var("TOLLGATE_JOSE_EXPORT") {
        std::fs::write(&path, serde_json::to_vec_pretty(&exported).unwrap()).unwrap();
    }
}

/// RS256 (PKCS#1 v1.5) and EdDSA signatures are deterministic, so with Python's header
/// layout and payload bytes our token must be Python's token exactly.
#[test]
fn deterministic_signatures_equal_pythons_byte_for_byte() {
    let v = vectors();
    for (name, key) in python_keys(&v) {
        if !matches!(key.algorithm(), Algorithm::Rs256 | Algorithm::EdDsa) {
            continue;
        }
        let python_token = valid_vector(&v, &format!("{name}_kid_typ"))["token"]
            .as_str()
            .unwrap();
        let payload = URL_SAFE_NO_PAD
            .decode(python_token.split('.').nth(1).unwrap())
            .unwrap();
        assert_eq!(
            sign_compact(&key, Some("JWT"), &payload).unwrap(),
            python_token,
            "{name}"
        );
        // And for the header without kid or typ, through the raw signing primitive.
        let python_no_kid = valid_vector(&v, &format!("{name}_no_kid"))["token"]
            .as_str()
            .unwrap();
        let (input, sig) = python_no_kid.rsplit_once('.').unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).unwrap()),
            sig,
            "{name}"
        );
    }
}

/// ES256 and PS256 are randomized: two signatures differ, and both verify.
#[test]
fn randomized_signatures_differ_and_verify() {
    let v = vectors();
    let jwks = python_jwks(&v);
    for (name, key) in python_keys(&v) {
        if !matches!(key.algorithm(), Algorithm::Es256 | Algorithm::Ps256) {
            continue;
        }
        let (a, b) = (
            sign_compact(&key, None, b"{}").unwrap(),
            sign_compact(&key, None, b"{}").unwrap(),
        );
        assert_ne!(a, b, "{name}");
        for t in [a, b] {
            let jws = CompactJws::parse(&t, DEFAULT_MAX_LEN).unwrap();
            let jwk = jwks.find(key.kid()).next().unwrap();
            assert!(jwk.verify(key.algorithm(), jws.signing_input(), jws.signature()));
        }
    }
}

#[test]
fn key_set_of_python_keys_publishes_pythons_jwks() {
    let v = vectors();
    let mut set = KeySet::new();
    for (_, key) in python_keys(&v) {
        set.add_active(key).unwrap();
    }
    let by_kid = |mut keys: Vec<Value>| {
        keys.retain(|k| k["kid"] != "weak-rsa-1024");
        keys.sort_by(|a, b| a["kid"].as_str().cmp(&b["kid"].as_str()));
        keys
    };
    let ours = serde_json::to_value(set.jwks()).unwrap();
    assert_eq!(
        by_kid(ours["keys"].as_array().unwrap().clone()),
        by_kid(v["jwks"]["keys"].as_array().unwrap().clone())
    );
    // Python-signed tokens verify against the key set too.
    for vector in v["valid"].as_array().unwrap() {
        let name = vector["name"].as_str().unwrap();
        if name.ends_with("_kid_typ") {
            let claims = set
                .verify(
                    vector["token"].as_str().unwrap(),
                    &Algorithm::ALL,
                    DEFAULT_MAX_LEN,
                )
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(Value::Object(claims), vector["claims"]);
        }
    }
}
