//! Clients nobody here wrote, over real TCP, against the server on both adapters.
//!
//! - The `openidconnect` crate as a relying party: discovery, the code flow with PKCE (the
//!   sign-in and consent pages are filled in by the harness's browser), ID-token
//!   verification against the published JWKS, UserInfo, and refresh with the refreshed ID
//!   token verified again.
//! - The `oauth2` crate: client credentials, the password grant, refresh, revocation and
//!   introspection.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse as _, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse as _,
};
use tollgate_http_tests::*;

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

fn openidconnect_relying_party(a: Adapter) {
    let s = TestServer::start(a);
    let http = http();
    let metadata = CoreProviderMetadata::discover(
        &IssuerUrl::new(s.issuer.clone()).expect("issuer URL"),
        &http,
    )
    .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("C1".into()),
        Some(ClientSecret::new(C1_SECRET.into())),
    )
    .set_redirect_uri(RedirectUrl::new(C1_REDIRECT.into()).expect("redirect URL"));

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();
    let mut browser = s.browser();
    let first = browser.get(url.as_str());
    let back = browser.follow(first, "alice", ALICE_PASSWORD);
    assert_eq!(back.get("state"), Some(state.secret().as_str()));
    let code = back.get("code").expect("code").to_string();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .expect("token endpoint configured")
        .set_pkce_verifier(verifier)
        .request(&http)
        .expect("code exchange");
    let id_verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
    let id_token = tokens.id_token().expect("id_token");
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("the RP verifies the ID token against the JWKS");
    assert_eq!(claims.subject().as_str(), "alice");
    assert_eq!(claims.issuer().as_str(), s.issuer);
    if let Some(expected) = claims.access_token_hash() {
        let alg = id_token.signing_alg().expect("alg");
        let key = id_token.signing_key(&id_verifier).expect("key");
        let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key).expect("at_hash");
        assert_eq!(&actual, expected);
    }

    let userinfo: CoreUserInfoClaims = client
        .user_info(
            tokens.access_token().clone(),
            Some(claims.subject().clone()),
        )
        .expect("userinfo endpoint configured")
        .request(&http)
        .expect("userinfo");
    assert_eq!(
        userinfo.email().map(|e| e.as_str()),
        Some("alice@example.com")
    );
    assert!(userinfo.name().is_some());

    let refresh = tokens.refresh_token().expect("refresh token");
    let refreshed = client
        .exchange_refresh_token(refresh)
        .expect("token endpoint configured")
        .request(&http)
        .expect("refresh");
    assert_ne!(
        refreshed.access_token().secret(),
        tokens.access_token().secret()
    );
    let again = refreshed
        .id_token()
        .expect("refreshed id_token")
        .claims(&id_verifier, |_: Option<&Nonce>| Ok(()))
        .expect("the refreshed ID token verifies");
    assert_eq!(again.subject(), claims.subject());
    assert_eq!(again.auth_time(), claims.auth_time());
}

fn oauth2_client(a: Adapter) {
    use oauth2::basic::BasicClient;
    use oauth2::{
        ClientId, ClientSecret, IntrospectionUrl, ResourceOwnerPassword, ResourceOwnerUsername,
        RevocationUrl, Scope, StandardRevocableToken, TokenIntrospectionResponse as _,
        TokenResponse as _, TokenUrl,
    };
    let s = TestServer::start(a);
    let http = http();
    let client = |id: &str, secret: &str| {
        BasicClient::new(ClientId::new(id.into()))
            .set_client_secret(ClientSecret::new(secret.into()))
            .set_token_uri(TokenUrl::new(s.url("/token")).expect("token URL"))
            // The crate insists on https for revocation (RFC 7009 §2); `tls_terminator`
            // below stands in for the TLS-terminating proxy in front of the server.
            .set_revocation_url(
                RevocationUrl::new(s.url("/revoke").replacen("http://", "https://", 1))
                    .expect("revocation URL"),
            )
            .set_introspection_url(
                IntrospectionUrl::new(s.url("/introspect")).expect("introspection URL"),
            )
    };

    // Client credentials, with Basic credentials the crate form-encodes (CA-01).
    let svc = client(C3_ID, C3_SECRET);
    let cc = svc
        .exchange_client_credentials()
        .add_scope(Scope::new("api:read".into()))
        .request(&http)
        .expect("client credentials");
    assert!(cc.refresh_token().is_none());
    assert!(cc.expires_in().is_some());

    // The password grant with offline_access, then refresh.
    let pw = client("PW", PW_SECRET);
    let tokens = pw
        .exchange_password(
            &ResourceOwnerUsername::new("alice".into()),
            &ResourceOwnerPassword::new(ALICE_PASSWORD.into()),
        )
        .add_scope(Scope::new("api:read".into()))
        .add_scope(Scope::new("offline_access".into()))
        .request(&http)
        .expect("password grant");
    let rt = tokens.refresh_token().expect("refresh token").clone();
    let refreshed = pw
        .exchange_refresh_token(&rt)
        .request(&http)
        .expect("refresh");
    let rt2 = refreshed
        .refresh_token()
        .expect("rotated refresh token")
        .clone();
    assert_ne!(rt.secret(), rt2.secret());

    // Introspection (by a confidential client) sees the access token as active.
    let introspector = client("C1", C1_SECRET);
    let seen = introspector
        .introspect(refreshed.access_token())
        .request(&http)
        .expect("introspection");
    assert!(seen.active());
    assert_eq!(seen.client_id().map(|c| c.as_str()), Some("PW"));

    // Revocation of the refresh token ends the grant.
    let tls_terminator =
        |request: oauth2::HttpRequest| -> Result<oauth2::HttpResponse, reqwest::Error> {
            let (parts, body) = request.into_parts();
            let url = parts.uri.to_string().replacen("https://", "http://", 1);
            let mut forward = http.request(parts.method.clone(), url).body(body);
            for (name, value) in &parts.headers {
                forward = forward.header(name, value);
            }
            let answer = forward.send()?;
            let mut response = oauth2::http::Response::builder().status(answer.status());
            for (name, value) in answer.headers() {
                response = response.header(name, value);
            }
            Ok(response
                .body(answer.bytes()?.to_vec())
                .expect("a response the server sent is a valid response"))
        };
    pw.revoke_token(StandardRevocableToken::RefreshToken(rt2.clone()))
        .expect("revocation URL configured")
        .request(&tls_terminator)
        .expect("revocation");
    assert!(pw.exchange_refresh_token(&rt2).request(&http).is_err());
    let after = introspector
        .introspect(refreshed.access_token())
        .request(&http)
        .expect("introspection");
    assert!(!after.active());
}

tollgate_http_tests::on_both_adapters!(openidconnect_relying_party, oauth2_client);
