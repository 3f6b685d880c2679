//! The seams a host plugs into: a custom access-token format (the JWT format of a later
//! issue uses the same trait), JWT client authentication through `ClientAssertionVerifier`,
//! and configuration as plain serde data.

use tollgate::client_auth::ClientAssertionVerifier;
use tollgate::{
    AccessTokenClaims, AccessTokenFormat, Client, ClientId, Error, OAuthError, SecureRandom,
    Server, ServerConfig, UnixTime,
};
use tollgate_conformance_tests::{fixture_clients, Harness, TestUsers, C1_SECRET};

/// A format that writes the claims in the clear after a random nonce, to show they arrive.
struct Tagged;

impl AccessTokenFormat for Tagged {
    fn mint(&self, c: &AccessTokenClaims<'_>, random: &dyn SecureRandom) -> Result<String, Error> {
        let mut n = [0u8; 8];
        random.fill(&mut n)?;
        Ok(format!(
            "tagged.{}.{}.{}.{}.{:x}",
            c.client_id,
            c.subject.unwrap_or("-"),
            c.scope.to_string().replace(' ', ","),
            c.expires_at.secs() - c.issued_at.secs(),
            u64::from_le_bytes(n)
        ))
    }

    fn token_type(&self) -> &'static str {
        "Bearer"
    }
}

fn harness_with(
    builder: impl FnOnce(tollgate::ServerBuilder) -> tollgate::ServerBuilder,
) -> Harness {
    let mut h = Harness::new();
    let clock = h.clock.clone();
    h.server = builder(
        Server::builder(ServerConfig {
            issuer: "https://as.test".into(),
            ..ServerConfig::default()
        })
        .clock(clock)
        .random(tollgate::SeededRandom::new(7)),
    )
    .build()
    .unwrap();
    h
}

#[test]
fn a_custom_access_token_format_is_used_and_revocable_by_family() {
    let h = harness_with(|b| b.access_tokens(Tagged));
    let r = h.c1_tokens("openid offline_access").ok();
    let at = r.access_token();
    assert!(
        at.starts_with("tagged.C1.alice.offline_access,openid.3600."),
        "{at}"
    );
    assert!(h.access_active(&at), "stored by hash like an opaque token");
    let cc = h
        .post_basic("C1", C1_SECRET, "grant_type=client_credentials")
        .ok()
        .access_token();
    assert!(cc.starts_with("tagged.C1.-.api:read.3600."), "{cc}");
}

/// Accepts the assertion `ok-for-<client>` and nothing else.
struct FakeAssertions;

impl ClientAssertionVerifier for FakeAssertions {
    fn claimed_client(&self, assertion: &str) -> Option<ClientId> {
        assertion
            .strip_prefix("ok-for-")
            .and_then(|c| ClientId::new(c).ok())
    }

    fn verify(&self, client: &Client, assertion: &str, _now: UnixTime) -> Result<(), OAuthError> {
        if assertion == format!("ok-for-{}", client.id) {
            Ok(())
        } else {
            Err(OAuthError::invalid_client(
                "the client assertion is invalid",
                None,
            ))
        }
    }
}

const ASSERTION_TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

#[test]
fn jwt_client_authentication_plugs_in_through_the_assertion_seam() {
    let h = harness_with(|b| b.client_assertions(FakeAssertions));
    let ok = |id: &str, assertion: &str| {
        h.post(&format!(
            "grant_type=client_credentials{id}&client_assertion_type={ASSERTION_TYPE}&client_assertion={assertion}"
        ))
    };
    ok("&client_id=J1", "ok-for-J1").ok();
    // Without client_id the verifier names the client from the assertion.
    ok("", "ok-for-J1").ok();
    ok("&client_id=J1", "forged").assert_error(400, "invalid_client");
    // A secret-based client cannot switch to assertions (CA-06).
    ok("&client_id=C1", "ok-for-C1").assert_error(400, "invalid_client");
}

#[test]
fn configuration_is_plain_serde_data_and_validated() {
    let json = r#"{
        "issuer": "https://as.example",
        "code_ttl": 120,
        "spa_refresh_tokens": "disabled",
        "policies": {
            "rules": [{
                "name": "short-for-staff",
                "when": { "groups_any": ["staff"], "grant_types": ["password"] },
                "then": { "access_token_ttl": 300, "grace": 10, "max_reuse": 3, "rotation": "rotate",
                          "refresh_idle": 600, "refresh_absolute": 86400, "issue_refresh_tokens": true }
            }],
            "fallback": { "access_token_ttl": 900 }
        }
    }"#;
    let config: ServerConfig = serde_json::from_str(json).unwrap();
    assert_eq!(config.code_ttl.as_secs(), 120);
    assert_eq!(config.policies.rules[0].then.max_reuse, Some(3));
    assert_eq!(
        config.policies.fallback.grace.as_secs(),
        30,
        "unspecified fields keep their defaults"
    );
    Server::builder(config).build().unwrap();

    let bad = json.replace("\"grace\": 10", "\"grace\": 90");
    let err = Server::builder(serde_json::from_str(&bad).unwrap())
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("policies.rules[0].then.grace"),
        "{err}"
    );

    let typo = json.replace("\"code_ttl\"", "\"code_tll\"");
    assert!(
        serde_json::from_str::<ServerConfig>(&typo).is_err(),
        "unknown fields are refused"
    );
}

#[test]
fn clients_are_plain_serde_data_and_validated() {
    for c in fixture_clients() {
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains(C1_SECRET), "only the hash is serialised");
        let back: Client = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }
    let mut public_with_secret = fixture_clients()
        .into_iter()
        .find(|c| c.id.as_str() == "P1")
        .unwrap();
    public_with_secret.secret = Some(tollgate::SecretHash::fast(C1_SECRET).unwrap());
    let err = public_with_secret.validate().unwrap_err().to_string();
    assert!(err.contains("clients[P1].secret"), "{err}");
    let mut fragment = fixture_clients().remove(0);
    fragment
        .redirect_uris
        .push("https://rp.test/cb#frag".into());
    assert!(fragment
        .validate()
        .unwrap_err()
        .to_string()
        .contains("redirect_uris[1]"));
}

#[test]
fn password_checks_never_show_the_password_in_debug_output() {
    let check = tollgate::PasswordCheck {
        client_id: ClientId::new("PW").unwrap(),
        username: "alice".into(),
        password: tollgate::SecretString::new("wonderland"),
    };
    assert!(!format!("{check:?}").contains("wonderland"));
    let _ = TestUsers;
}
