//! Interoperability with an independent relying party: the `openidconnect` crate (4.x), used
//! exactly as a Rust RP would use it, must accept the ID tokens, token responses, JWKS and
//! discovery document Tollgate produces.
//!
//! The other OIDC tests (`oidc.rs`) check the claims against the checklist with Tollgate's own
//! JOSE code, so a misreading shared by signer and verifier would pass there. Here the
//! verifier is someone else's: `openidconnect`'s `IdTokenVerifier` runs the ID Token
//! Validation steps of OIDC Core §3.1.3.7 — issuer (step 2, ID-01, DS-03), audience (step 3,
//! ID-03), signature with a key from the published JWKS chosen by `kid` (steps 6–7, ID-08,
//! ID-09, JW-01), `exp` against the current time (step 9, ID-04), and `nonce` (step 11,
//! ID-06) — and its `AccessTokenHash::from_token` recomputes `at_hash` (§3.1.3.6, ID-07).
//! `sub` (ID-02) and `auth_time` (ID-05) are read back through its claim types, and the
//! refreshed ID token of RT-11 must verify without a nonce. The negative tests show the same
//! verifier refuses our tokens for another client, another issuer, another server's JWKS, a
//! wrong nonce and after `exp`, so the positive results mean something.
//!
//! The RP's clock is pinned to the harness clock (`T0`), since the tokens are issued in 2023.
//! `chrono`, whose `DateTime<Utc>` the verifier's clock returns, is not a dependency of this
//! crate: the closures convert a `SystemTime` and the verifier's signature fixes the type.
//!
//! The crate is built with `default-features = false`: no HTTP client. Discovery is run
//! through `CoreProviderMetadata::discover` with an in-memory `SyncHttpClient` (a closure)
//! that routes the RP's `GET`s to `Server::discovery` and `Server::jwks`.
//!
//! EdDSA: `openidconnect` 4.x verifies Ed25519 (`kty: OKP`) signatures and hashes `at_hash`
//! for EdDSA/Ed25519 with SHA-512, as Tollgate does. RS256 is the RP's default algorithm;
//! ES256 and EdDSA must be allowed explicitly, as an RP that registered
//! `id_token_signed_response_alg` would.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreIdTokenVerifier, CoreJsonWebKeySet,
    CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreTokenResponse,
};
use openidconnect::{
    AccessToken, AccessTokenHash, Audience, ClaimsVerificationError, ClientId, ClientSecret,
    HttpRequest, HttpResponse, IssuerUrl, Nonce, OAuth2TokenResponse as _,
    SignatureVerificationError, TokenResponse as _,
};
use serde_json::Value;
use tollgate::discovery::Document;
use tollgate::jose::{Algorithm, KeySet};
use tollgate::{ManualClock, Response, Server, ServerConfig, UnixTime};
use tollgate_conformance_tests::{
    ed25519_key, fixture_clients, Harness, Reply, C1_SECRET, ISSUER, T0,
};

/// The nonce the harness puts in every code it mints.
const NONCE: &str = "n-0S6_WzA2Mj";

/// `openidconnect`'s name for one of our algorithms, parsed from the JOSE name.
fn rp_alg(alg: Algorithm) -> CoreJwsSigningAlgorithm {
    serde_json::from_value(Value::from(alg.as_str()))
        .unwrap_or_else(|e| panic!("openidconnect does not know {}: {e}", alg.as_str()))
}

/// The RP's view of `now` (the verifier's clock returns `chrono::DateTime<Utc>`).
fn system_time(now: UnixTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(now.0)
}

/// Parses a JWKS response as the RP does, requiring that no key was skipped as unreadable
/// (`JsonWebKeySet` silently drops keys it cannot parse).
fn rp_jwks(r: &Response) -> CoreJsonWebKeySet {
    assert_eq!(r.status, 200);
    let raw: Value = serde_json::from_slice(&r.body).expect("JWKS is JSON");
    let jwks: CoreJsonWebKeySet = serde_json::from_slice(&r.body).expect("openidconnect JWKS");
    assert_eq!(
        jwks.keys().len(),
        raw["keys"].as_array().expect("keys").len(),
        "JW-01: openidconnect understands every published key: {raw}"
    );
    jwks
}

/// A verifier for confidential client `client` at `issuer` with `jwks`, accepting `alg` only,
/// with its clock at `now`.
fn verifier(
    client: &str,
    issuer: &str,
    jwks: CoreJsonWebKeySet,
    alg: Algorithm,
    now: UnixTime,
) -> CoreIdTokenVerifier<'static> {
    CoreIdTokenVerifier::new_confidential_client(
        ClientId::new(client.to_string()),
        ClientSecret::new(C1_SECRET.to_string()),
        IssuerUrl::new(issuer.to_string()).expect("issuer URL"),
        jwks,
    )
    .set_allowed_algs([rp_alg(alg)])
    .set_time_fn(move || system_time(now).into())
}

/// The verifier of the fixture RP: C1 at the fixture issuer, trusting `h`'s published JWKS.
fn c1_verifier(h: &Harness, alg: Algorithm) -> CoreIdTokenVerifier<'static> {
    verifier("C1", ISSUER, rp_jwks(&h.server.jwks()), alg, h.clock_now())
}

/// The token response as the RP parses it: an `openidconnect` token response with an ID
/// token, and the access token it carries.
fn rp_token_response(r: &Reply) -> (CoreIdToken, AccessToken) {
    assert_eq!(r.status(), 200, "{}", r.json);
    let parsed: CoreTokenResponse =
        serde_json::from_slice(&r.response.body).expect("openidconnect parses the token response");
    let id_token = parsed.id_token().expect("an id_token").clone();
    // The typed token agrees with the string form, which `CoreIdToken::from_str` also parses.
    let from_str: CoreIdToken = r.str("id_token").unwrap().parse().expect("from_str");
    assert_eq!(from_str.to_string(), id_token.to_string());
    (id_token, parsed.access_token().clone())
}

/// Harness whose C1 has `id_token_signed_response_alg` = `alg` (`None`: the server default,
/// EdDSA in the harness).
fn harness_signing_with(alg: Option<Algorithm>) -> Harness {
    let h = Harness::new();
    if alg.is_some() {
        let mut c1 = fixture_clients().remove(0);
        assert_eq!(c1.id.as_str(), "C1");
        c1.oidc.id_token_signed_response_alg = alg;
        h.store.insert_client(c1).expect("re-register C1");
    }
    h
}

/// Checks every claim the RP can check for a verified ID token of C1 for alice.
fn assert_alice_for_c1(
    claims: &CoreIdTokenClaims,
    id_token: &CoreIdToken,
    verifier: &CoreIdTokenVerifier<'_>,
    access_token: &AccessToken,
    alg: Algorithm,
) {
    assert_eq!(claims.subject().as_str(), "alice", "ID-02");
    assert_eq!(claims.issuer().as_str(), ISSUER, "ID-01");
    assert!(
        claims
            .audiences()
            .contains(&Audience::new("C1".to_string())),
        "ID-03: {:?}",
        claims.audiences()
    );
    assert_eq!(claims.issue_time().timestamp(), T0.0 as i64, "ID-04");
    assert!(claims.expiration().timestamp() > T0.0 as i64, "ID-04");
    assert_eq!(
        claims.auth_time().map(|t| t.timestamp()),
        Some(T0.0 as i64),
        "ID-05"
    );
    // ID-07: the RP recomputes at_hash with the verification key it selected by `kid`.
    assert_eq!(
        id_token.signing_alg().expect("signed"),
        &rp_alg(alg),
        "ID-08"
    );
    let key = id_token
        .signing_key(verifier)
        .expect("ID-09: kid names a published key");
    let expected = AccessTokenHash::from_token(access_token, &rp_alg(alg), key)
        .expect("openidconnect computes at_hash for this algorithm");
    assert_eq!(claims.access_token_hash(), Some(&expected), "ID-07");
}

/// C1's code exchange with ID tokens signed with `alg` (or the default), verified by
/// `openidconnect` with the nonce the authorization request sent.
fn rp_verifies_c1_id_token(requested: Option<Algorithm>, expected_alg: Algorithm) {
    let h = harness_signing_with(requested);
    let reply = h.c1_tokens("openid profile");
    let (id_token, access_token) = rp_token_response(&reply);
    let verifier = c1_verifier(&h, expected_alg);
    let claims = id_token
        .claims(&verifier, &Nonce::new(NONCE.to_string()))
        .unwrap_or_else(|e| panic!("openidconnect refused our {expected_alg:?} ID token: {e:?}"));
    assert_eq!(
        claims.nonce().map(|n| n.secret().as_str()),
        Some(NONCE),
        "ID-06"
    );
    assert_alice_for_c1(claims, &id_token, &verifier, &access_token, expected_alg);
}

#[test]
fn openidconnect_verifies_our_eddsa_id_token() {
    rp_verifies_c1_id_token(None, Algorithm::EdDsa);
}

#[test]
fn openidconnect_verifies_our_es256_id_token() {
    rp_verifies_c1_id_token(Some(Algorithm::Es256), Algorithm::Es256);
}

#[test]
fn openidconnect_verifies_our_rs256_id_token() {
    rp_verifies_c1_id_token(Some(Algorithm::Rs256), Algorithm::Rs256);
}

#[test]
fn openidconnect_accepts_rs256_with_its_default_algorithm_policy() {
    // ID-08: RS256 is the algorithm an RP accepts without being told anything else.
    let h = harness_signing_with(Some(Algorithm::Rs256));
    let (id_token, _) = rp_token_response(&h.c1_tokens("openid"));
    let now = h.clock_now();
    let verifier = CoreIdTokenVerifier::new_public_client(
        ClientId::new("C1".to_string()),
        IssuerUrl::new(ISSUER.to_string()).unwrap(),
        rp_jwks(&h.server.jwks()),
    )
    .set_time_fn(move || system_time(now).into());
    let claims = id_token
        .claims(&verifier, &Nonce::new(NONCE.to_string()))
        .expect("default verifier accepts RS256");
    assert_eq!(claims.subject().as_str(), "alice");
}

#[test]
fn openidconnect_verifies_our_refreshed_id_token_without_a_nonce() {
    for alg in [Algorithm::EdDsa, Algorithm::Es256, Algorithm::Rs256] {
        let h = harness_signing_with(Some(alg));
        let first = h.c1_tokens("openid offline_access");
        let (original, _) = rp_token_response(&first);
        let original = original
            .claims(&c1_verifier(&h, alg), &Nonce::new(NONCE.to_string()))
            .expect("original verifies")
            .clone();
        h.advance(60);
        let second = h.c1_refresh(&first.refresh_token());
        let (id_token, access_token) = rp_token_response(&second);
        let verifier = c1_verifier(&h, alg);
        // RT-11: no nonce in a refreshed ID token; the RP's "no nonce expected" check.
        let claims = id_token
            .claims(&verifier, |nonce: Option<&Nonce>| match nonce {
                None => Ok(()),
                Some(n) => Err(format!("unexpected nonce {}", n.secret())),
            })
            .unwrap_or_else(|e| panic!("{alg:?}: refreshed ID token refused: {e:?}"));
        assert_eq!(claims.issuer(), original.issuer(), "RT-11 iss");
        assert_eq!(claims.subject(), original.subject(), "RT-11 sub");
        assert_eq!(claims.audiences(), original.audiences(), "RT-11 aud");
        assert_eq!(claims.auth_time(), original.auth_time(), "RT-11 auth_time");
        assert_eq!(
            claims.issue_time().timestamp(),
            T0.0 as i64 + 60,
            "RT-11 iat"
        );
        let key = id_token.signing_key(&verifier).expect("published kid");
        assert_eq!(
            claims.access_token_hash(),
            Some(&AccessTokenHash::from_token(&access_token, &rp_alg(alg), key).unwrap()),
            "ID-07 for the new access token"
        );
        // The RP's strict nonce check would refuse it, since no nonce was sent on refresh.
        assert!(matches!(
            id_token.claims(&verifier, &Nonce::new(NONCE.to_string())),
            Err(ClaimsVerificationError::InvalidNonce(_))
        ));
    }
}

/// C1's default (EdDSA) ID token from a fresh harness.
fn eddsa_id_token() -> (Harness, CoreIdToken) {
    let h = Harness::new();
    let (id_token, _) = rp_token_response(&h.c1_tokens("openid"));
    (h, id_token)
}

#[test]
fn openidconnect_refuses_our_id_token_for_another_client() {
    let (h, id_token) = eddsa_id_token();
    let jwks = rp_jwks(&h.server.jwks());
    let v = verifier("C2", ISSUER, jwks, Algorithm::EdDsa, T0);
    let err = id_token
        .claims(&v, &Nonce::new(NONCE.to_string()))
        .expect_err("aud is C1 only");
    assert!(
        matches!(err, ClaimsVerificationError::InvalidAudience(_)),
        "{err:?}"
    );
}

#[test]
fn openidconnect_refuses_our_id_token_for_another_issuer() {
    let (h, id_token) = eddsa_id_token();
    for other in ["https://evil.test", "https://as.test/", "https://as.test/x"] {
        let v = verifier("C1", other, rp_jwks(&h.server.jwks()), Algorithm::EdDsa, T0);
        let err = id_token
            .claims(&v, &Nonce::new(NONCE.to_string()))
            .expect_err("iss must match exactly");
        assert!(
            matches!(err, ClaimsVerificationError::InvalidIssuer(_)),
            "{other}: {err:?}"
        );
    }
}

/// A second server with the fixture issuer and `keys` (or the default generated key).
fn other_server(keys: Option<KeySet>) -> Server {
    let config = ServerConfig {
        issuer: ISSUER.to_string(),
        ..ServerConfig::default()
    };
    let mut b = Server::builder(config).clock(ManualClock::new(T0));
    if let Some(k) = keys {
        b = b.keys(k);
    }
    b.build().expect("second server")
}

#[test]
fn openidconnect_refuses_our_id_token_under_another_servers_jwks() {
    let (_, id_token) = eddsa_id_token();

    // A server with the default (freshly generated ES256) key: nothing matches `ed-1`.
    let stranger = other_server(None);
    let v = verifier(
        "C1",
        ISSUER,
        rp_jwks(&stranger.jwks()),
        Algorithm::EdDsa,
        T0,
    );
    let err = id_token
        .claims(&v, &Nonce::new(NONCE.to_string()))
        .expect_err("no published key");
    assert!(
        matches!(
            err,
            ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey
            )
        ),
        "{err:?}"
    );

    // An impostor publishing a different Ed25519 key under the same `kid`: the signature
    // itself must fail to verify.
    let mut keys = KeySet::new();
    keys.add_active(ed25519_key(7, "ed-1")).unwrap();
    keys.set_default_algorithm(Algorithm::EdDsa);
    let impostor = other_server(Some(keys));
    let v = verifier(
        "C1",
        ISSUER,
        rp_jwks(&impostor.jwks()),
        Algorithm::EdDsa,
        T0,
    );
    let err = id_token
        .claims(&v, &Nonce::new(NONCE.to_string()))
        .expect_err("wrong key");
    assert!(
        matches!(
            err,
            ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::CryptoError(_)
            )
        ),
        "{err:?}"
    );
}

#[test]
fn openidconnect_refuses_our_id_token_with_a_wrong_nonce_or_after_exp() {
    let (h, id_token) = eddsa_id_token();
    let v = c1_verifier(&h, Algorithm::EdDsa);
    assert!(matches!(
        id_token.claims(&v, &Nonce::new("another-nonce".to_string())),
        Err(ClaimsVerificationError::InvalidNonce(_))
    ));
    let exp = id_token
        .claims(&v, &Nonce::new(NONCE.to_string()))
        .unwrap()
        .expiration()
        .timestamp();
    let exp = UnixTime(u64::try_from(exp).unwrap());
    let late = verifier(
        "C1",
        ISSUER,
        rp_jwks(&h.server.jwks()),
        Algorithm::EdDsa,
        exp,
    );
    assert!(matches!(
        id_token.claims(&late, &Nonce::new(NONCE.to_string())),
        Err(ClaimsVerificationError::Expired(_))
    ));
    // An RP that only accepts RS256 refuses our EdDSA token rather than misreading it.
    let rs_only = verifier(
        "C1",
        ISSUER,
        rp_jwks(&h.server.jwks()),
        Algorithm::Rs256,
        T0,
    );
    assert!(matches!(
        id_token.claims(&rs_only, &Nonce::new(NONCE.to_string())),
        Err(ClaimsVerificationError::SignatureVerification(
            SignatureVerificationError::DisallowedAlg(_)
        ))
    ));
}

/// Converts our response to an `http` response for the RP.
fn to_http(r: &Response) -> HttpResponse {
    let mut b = openidconnect::http::Response::builder().status(r.status);
    for (name, value) in &r.headers {
        b = b.header(*name, AsRef::<str>::as_ref(value));
    }
    b.body(r.body.clone()).expect("valid HTTP response")
}

#[test]
fn openidconnect_parses_our_discovery_document() {
    let h = Harness::new();
    let r = h.server.discovery(Document::OpenIdConfiguration);
    assert_eq!(r.status, 200);
    let raw: Value = serde_json::from_slice(&r.body).unwrap();
    let meta: CoreProviderMetadata =
        serde_json::from_slice(&r.body).expect("openidconnect parses our discovery document");
    assert_eq!(meta.issuer().as_str(), ISSUER, "DS-03");
    assert_eq!(
        meta.token_endpoint().map(|u| u.as_str()),
        raw["token_endpoint"].as_str()
    );
    assert_eq!(
        meta.token_endpoint().unwrap().as_str(),
        "https://as.test/token"
    );
    assert_eq!(
        meta.authorization_endpoint().as_str(),
        raw["authorization_endpoint"].as_str().unwrap()
    );
    assert_eq!(meta.jwks_uri().as_str(), raw["jwks_uri"].as_str().unwrap());
    assert_eq!(
        meta.userinfo_endpoint().map(|u| u.as_str()),
        raw["userinfo_endpoint"].as_str()
    );
    let algs = meta.id_token_signing_alg_values_supported();
    // The field skips names it does not know: every one we advertise must be understood.
    assert_eq!(
        algs.len(),
        raw["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .len(),
        "{raw}"
    );
    for alg in [Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa] {
        assert!(algs.contains(&rp_alg(alg)), "DS-05: {alg:?} in {algs:?}");
    }
    assert!(!algs.contains(&CoreJwsSigningAlgorithm::None));
}

#[test]
fn openidconnect_discovers_us_and_verifies_with_the_discovered_keys() {
    // The RP's whole discovery flow (DS-01 path, DS-03 issuer check, then `jwks_uri`), over
    // an in-memory HTTP client.
    let h = Harness::new();
    let jwks_uri = {
        let d: Value =
            serde_json::from_slice(&h.server.discovery(Document::OpenIdConfiguration).body)
                .unwrap();
        d["jwks_uri"].as_str().unwrap().to_string()
    };
    let requests = std::cell::RefCell::new(Vec::new());
    let client = |req: HttpRequest| -> Result<HttpResponse, std::io::Error> {
        let uri = req.uri().to_string();
        requests.borrow_mut().push(uri.clone());
        assert_eq!(req.method(), openidconnect::http::Method::GET);
        if uri == format!("{ISSUER}/.well-known/openid-configuration") {
            Ok(to_http(&h.server.discovery(Document::OpenIdConfiguration)))
        } else if uri == jwks_uri {
            Ok(to_http(&h.server.jwks()))
        } else {
            Err(std::io::Error::other(format!("no such resource: {uri}")))
        }
    };
    let issuer = IssuerUrl::new(ISSUER.to_string()).unwrap();
    let meta = CoreProviderMetadata::discover(&issuer, &client)
        .unwrap_or_else(|e| panic!("discovery failed: {e:?}"));
    assert_eq!(requests.borrow().len(), 2, "{:?}", requests.borrow());
    let jwks = meta.jwks().clone();
    assert_eq!(
        jwks.keys().len(),
        rp_jwks(&h.server.jwks()).keys().len(),
        "JW-01"
    );

    // An RP that trusts the discovered metadata and keys accepts our ID token.
    let (id_token, access_token) = rp_token_response(&h.c1_tokens("openid"));
    let verifier = CoreIdTokenVerifier::new_confidential_client(
        ClientId::new("C1".to_string()),
        ClientSecret::new(C1_SECRET.to_string()),
        meta.issuer().clone(),
        jwks,
    )
    .set_allowed_algs(meta.id_token_signing_alg_values_supported().iter().cloned())
    .set_time_fn(|| system_time(T0).into());
    let claims = id_token
        .claims(&verifier, &Nonce::new(NONCE.to_string()))
        .expect("verifies with discovered keys");
    assert_alice_for_c1(
        claims,
        &id_token,
        &verifier,
        &access_token,
        Algorithm::EdDsa,
    );

    // Discovery under another issuer URL is refused by the RP (DS-03).
    let wrong = IssuerUrl::new("https://as.test/tenant".to_string()).unwrap();
    let routed = |_: HttpRequest| -> Result<HttpResponse, std::io::Error> {
        Ok(to_http(&h.server.discovery(Document::OpenIdConfiguration)))
    };
    assert!(matches!(
        CoreProviderMetadata::discover(&wrong, &routed),
        Err(openidconnect::DiscoveryError::Validation(_))
    ));
}
