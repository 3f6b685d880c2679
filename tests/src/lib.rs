//! The in-process harness of the black-box conformance suite: a [`Harness`] holds a
//! Tollgate [`Server`] with a fixed [`ManualClock`], a seeded random source, a
//! [`MemoryStore`] with the checklist's fixture clients (`../shared/spec/CHECKLIST.md` §1),
//! and a test user directory, and runs whole exchanges — authorize (code minting) → token →
//! refresh — faster than real time, in the manner of quinn-proto's `Pair`.
//!
//! Tests speak only the public API and the wire format: they post form bodies and read
//! status, headers and JSON.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::Value;
use tollgate::authorize::{
    AuthorizeOutcome, InteractionPrompt, InteractionResult, Resume, Session,
};
use tollgate::jose::{Algorithm, Jwks, KeySet, SigningKey};
use tollgate::store::Store;
use tollgate::{
    ApplicationKind, AuthMethod, Client, ClientId, ClientType, CodeGrant, Commit, CommitOutcome,
    GrantType, ManualClock, MemoryStore, PasswordCheck, PasswordVerdict, PasswordVerifier,
    PkceChallenge, PkceMethod, Request, Response, RotationMode, Scope, SecretHash, SeededRandom,
    Server, ServerConfig, Subject, UnixTime,
};

/// The harness clock's start: 2023-11-14T22:13:20Z.
pub const T0: UnixTime = UnixTime(1_700_000_000);
/// The issuer of the fixture server.
pub const ISSUER: &str = "https://as.test";

/// C1's secret (≥ 43 characters, fast-hashed).
pub const C1_SECRET: &str = "c1-secret-0123456789abcdefghijklmnopqrstuvwxyz";
/// C2's secret.
pub const C2_SECRET: &str = "c2-secret-0123456789abcdefghijklmnopqrstuvwxyz";
/// C3's id, with reserved characters (CA-01).
pub const C3_ID: &str = "c3:x y";
/// C3's secret, with reserved characters; short, so slow-hashed.
pub const C3_SECRET: &str = "p@ss:w/rd+%&=";
/// The `client_secret_post` client's secret.
pub const POST_SECRET: &str = "post-secret-0123456789abcdefghijklmnopqrstuvwxyz";
/// The password-grant client's secret.
pub const PW_SECRET: &str = "pw-secret-0123456789abcdefghijklmnopqrstuvwxyz";
/// The static-rotation client's secret.
pub const ST_SECRET: &str = "st-secret-0123456789abcdefghijklmnopqrstuvwxyz";
/// The client without the refresh_token grant: its secret.
pub const NR_SECRET: &str = "nr-secret-0123456789abcdefghijklmnopqrstuvwxyz";
/// The RFC 7636 Appendix B verifier.
pub const RFC7636_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// The RFC 7636 Appendix B challenge.
pub const RFC7636_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// C1's registered redirect URI.
pub const C1_REDIRECT: &str = "https://rp.test/cb";
/// P1's registered redirect URI.
pub const P1_REDIRECT: &str = "https://app.test/cb";

/// A test-only P-256 key (PKCS#8), so the fixture server's ES256 key is the same every run.
pub const TEST_ES256_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZKAndyvAEbmoUrgI
CbcYUuPmnKMsHvYzbPmNr1abZ4yhRANCAAS9xe5/rwTwmLxSng2wov6j2E/IgL3M
V6V7xlOc+Z9pe0HtiiSzPNpaAu1s9Rshv/20X7+TH5so+W+7Aa2/JmcB
-----END PRIVATE KEY-----
";

/// A test-only Ed25519 key from a fixed seed (PKCS#8 v1, RFC 8410).
#[must_use]
pub fn ed25519_key(seed: u8, kid: &str) -> SigningKey {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&[seed; 32]);
    SigningKey::from_pkcs8_der(Algorithm::EdDsa, &der, Some(kid.to_string())).expect("test key")
}

/// The fixture server's keys: EdDSA (the harness default, because Ed25519 signatures are
/// deterministic and the suite compares bytes) and ES256 (the production default).
#[must_use]
pub fn server_keys() -> KeySet {
    let mut keys = KeySet::new();
    keys.add_active(
        SigningKey::from_pkcs8_pem(Algorithm::Es256, TEST_ES256_PEM, Some("es256-1".into()))
            .expect("test key"),
    )
    .expect("key");
    keys.add_active(ed25519_key(1, "ed-1")).expect("key");
    keys.add_active(
        SigningKey::from_pkcs8_pem(Algorithm::Rs256, TEST_RSA_PEM, Some("rs256-1".into()))
            .expect("test key"),
    )
    .expect("key");
    keys.set_default_algorithm(Algorithm::EdDsa);
    keys
}

/// A test-only RSA-2048 key (the JOSE unit tests' fixture).
pub const TEST_RSA_PEM: &str =
    include_str!("../../crates/tollgate/src/jose/testdata/test-only-rsa2048.pem");

/// J2's shared `client_secret_jwt` key.
pub const J2_JWT_SECRET: &str = "j2-shared-hmac-key-0123456789abcdefghijklmnop";

/// The trusted JWT-bearer issuer of the fixture.
pub const IDP: &str = "https://idp.test";

/// The trusted issuer's signing key.
#[must_use]
pub fn idp_key() -> SigningKey {
    ed25519_key(3, "idp-key")
}

/// Signs `claims` as a JWT with `key`.
#[must_use]
pub fn sign(key: &SigningKey, claims: &serde_json::Value) -> String {
    tollgate::jose::jwt::encode(key, Some("JWT"), claims).expect("sign")
}

/// A valid `private_key_jwt` assertion for J1 at `now` with `jti`.
#[must_use]
pub fn j1_assertion(now: UnixTime, jti: &str) -> String {
    sign(
        &j1_key(),
        &serde_json::json!({"iss": "J1", "sub": "J1", "aud": ISSUER, "exp": now.0 + 60, "iat": now.0, "jti": jti}),
    )
}

/// J1's private key for `private_key_jwt` assertions.
#[must_use]
pub fn j1_key() -> SigningKey {
    ed25519_key(2, "j1-key")
}

fn id(s: &str) -> ClientId {
    ClientId::new(s).expect("fixture client id")
}

fn scope(s: &str) -> Scope {
    Scope::parse(s).expect("fixture scope")
}

fn confidential(name: &str, secret: &str, grants: &[GrantType]) -> Client {
    Client {
        id: id(name),
        client_type: ClientType::Confidential,
        kind: ApplicationKind::Web,
        auth_method: AuthMethod::ClientSecretBasic,
        secret: Some(SecretHash::fast(secret).expect("fixture secret")),
        redirect_uris: vec![C1_REDIRECT.to_string()],
        grant_types: grants.to_vec(),
        allowed_scopes: scope("openid profile email offline_access api:read api:write"),
        default_scopes: scope("api:read"),
        refresh_rotation: None,
        oidc: Default::default(),
    }
}

/// The fixture clients of CHECKLIST.md §1, plus a few for policy tests:
/// `C1`, `C2` (confidential, Basic), `c3:x y` (reserved characters), `C4` (two redirect
/// URIs), `C5` (a redirect URI with a query), `CPOST`
/// (`client_secret_post`), `P1` (public native), `SPA` (public browser app), `PW`
/// (password grant), `ST` (static refresh tokens), `NR` (no refresh_token grant), `J1`
/// (`private_key_jwt`).
#[must_use]
pub fn fixture_clients() -> Vec<Client> {
    use GrantType::{
        AuthorizationCode as Code, ClientCredentials as Cc, Password, RefreshToken as Rt,
    };
    let mut c3 = confidential(
        C3_ID,
        "unused-unused-unused-unused-unused-unused-unused",
        &[Cc],
    );
    c3.secret = Some(
        SecretHash::slow(
            C3_SECRET,
            std::num::NonZeroU32::new(1000).expect("nonzero"),
            &SeededRandom::new(9),
        )
        .expect("seeded random"),
    );
    let mut post = confidential("CPOST", POST_SECRET, &[Code, Rt, Cc]);
    post.auth_method = AuthMethod::ClientSecretPost;
    let public = |name: &str, kind| Client {
        id: id(name),
        client_type: ClientType::Public,
        kind,
        auth_method: AuthMethod::None,
        secret: None,
        redirect_uris: vec![P1_REDIRECT.to_string(), "http://127.0.0.1/cb".to_string()],
        grant_types: vec![Code, Rt],
        allowed_scopes: scope("openid profile offline_access api:read"),
        default_scopes: scope("api:read"),
        refresh_rotation: None,
        oidc: Default::default(),
    };
    let mut st = confidential("ST", ST_SECRET, &[Code, Rt]);
    st.refresh_rotation = Some(RotationMode::Static);
    let mut j1 = confidential("J1", NR_SECRET, &[Code, Rt, Cc]);
    j1.auth_method = AuthMethod::PrivateKeyJwt;
    j1.secret = None;
    j1.oidc.jwks = Some(Jwks {
        keys: vec![j1_key().public_jwk()],
    });
    let mut j2 = confidential("J2", NR_SECRET, &[Code, Rt, Cc]);
    j2.auth_method = AuthMethod::ClientSecretJwt;
    j2.secret = None;
    j2.oidc.jwt_secret = Some(tollgate::SecretString::new(J2_JWT_SECRET));
    let mut jb = confidential("JB", NR_SECRET, &[GrantType::JwtBearer, Rt]);
    jb.default_scopes = scope("api:read");
    let mut jwt_at = confidential("JWTAT", C1_SECRET, &[Code, Rt, Cc]);
    jwt_at.oidc.access_token_format = tollgate::client::AccessTokenKind::Jwt;
    let mut c4 = confidential("C4", C1_SECRET, &[Code, Rt]);
    c4.redirect_uris = vec!["https://rp.test/cb1".into(), "https://rp.test/cb2".into()];
    let mut c5 = confidential("C5", C1_SECRET, &[Code, Rt]);
    c5.redirect_uris = vec!["https://rp.test/cb?x=1".into()];
    vec![
        confidential("C1", C1_SECRET, &[Code, Rt, Cc]),
        c4,
        c5,
        confidential("C2", C2_SECRET, &[Code, Rt]),
        c3,
        post,
        public("P1", ApplicationKind::Native),
        public("SPA", ApplicationKind::BrowserSpa),
        confidential("PW", PW_SECRET, &[Password, Rt]),
        st,
        confidential("NR", NR_SECRET, &[Code]),
        j1,
        j2,
        jb,
        jwt_at,
    ]
}

/// Users for the password grant: `alice`/`wonderland` (group `staff`), `bob`/`builder`;
/// `mallory` is always refused (brute-force lockout stand-in); anything else is wrong.
#[derive(Debug, Default, Clone, Copy)]
pub struct TestUsers;

impl PasswordVerifier for TestUsers {
    fn verify(&self, check: &PasswordCheck) -> PasswordVerdict {
        match (check.username.as_str(), check.password.expose()) {
            ("alice", "wonderland") => PasswordVerdict::Authenticated(Subject {
                groups: vec!["staff".into()],
                auth_time: Some(T0),
                ..Subject::new("alice")
            }),
            ("bob", "builder") => PasswordVerdict::Authenticated(Subject::new("bob")),
            ("mallory", _) => PasswordVerdict::Refused,
            _ => PasswordVerdict::InvalidCredentials,
        }
    }
}

/// Claims for the fixture users: alice has a profile, an email and a phone number; bob has
/// a name; anyone else does not exist.
#[derive(Debug, Default, Clone, Copy)]
pub struct TestClaims;

impl tollgate::claims::ClaimsSource for TestClaims {
    fn claims(
        &self,
        request: &tollgate::claims::ClaimsRequest,
    ) -> Option<tollgate::claims::Claims> {
        let v = match request.subject.as_str() {
            "alice" => serde_json::json!({
                "name": "Alice Liddell", "given_name": "Alice", "family_name": "Liddell",
                "email": "alice@example.com", "email_verified": true,
                "phone_number": "+44 20 7946 0000", "address": {"country": "UK"}
            }),
            "bob" => serde_json::json!({"name": "Bob"}),
            _ => return None,
        };
        v.as_object().cloned()
    }
}

/// A server, store, clock and users wired together.
pub struct Harness {
    /// The server under test.
    pub server: Server,
    /// Its store.
    pub store: MemoryStore,
    /// Its clock; advance it to test expiry.
    pub clock: ManualClock,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    /// The fixture server with the default configuration.
    #[must_use]
    pub fn new() -> Self {
        Self::with_config(|_| {})
    }

    /// The fixture server with `adjust` applied to its configuration.
    #[must_use]
    pub fn with_config(adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        let mut config = ServerConfig {
            issuer: ISSUER.to_string(),
            trusted_issuers: vec![tollgate::grant::jwt_bearer::TrustedIssuer {
                issuer: IDP.to_string(),
                jwks: Jwks {
                    keys: vec![idp_key().public_jwk()],
                },
                subject_prefix: "idp|".to_string(),
                allowed_scopes: scope("openid api:read api:write offline_access"),
                refresh_tokens: true,
            }],
            ..ServerConfig::default()
        };
        adjust(&mut config);
        let clock = ManualClock::new(T0);
        let server = Server::builder(config)
            .clock(clock.clone())
            .random(SeededRandom::new(42))
            .keys(server_keys())
            .build()
            .expect("fixture configuration");
        let store = MemoryStore::new();
        for c in fixture_clients() {
            store.insert_client(c).expect("fixture client");
        }
        Harness {
            server,
            store,
            clock,
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    /// Sends `request` to the token endpoint.
    #[must_use]
    pub fn send(&self, request: &Request) -> Reply {
        Reply::from(self.server.token(request, &self.store, &TestUsers))
    }

    /// POSTs a form body with no `Authorization` header.
    #[must_use]
    pub fn post(&self, body: &str) -> Reply {
        self.send(&Request::form_post(body))
    }

    /// POSTs a form body authenticated with HTTP Basic, form-encoding id and secret first
    /// (RFC 6749 §2.3.1).
    #[must_use]
    pub fn post_basic(&self, client: &str, secret: &str, body: &str) -> Reply {
        self.send(&Request::form_post(body).with_header("Authorization", &basic(client, secret)))
    }

    /// Mints and stores a code for `client` as `/authorize` would, for user `alice`.
    #[must_use]
    pub fn code(
        &self,
        client: &str,
        redirect_uri: &str,
        scope_str: &str,
        pkce: Option<&str>,
    ) -> String {
        self.code_for(CodeGrant {
            client_id: id(client),
            redirect_uri: redirect_uri.to_string(),
            redirect_uri_sent: true,
            scope: scope(scope_str),
            pkce: pkce.map(|c| PkceChallenge::new(PkceMethod::S256, c).expect("fixture challenge")),
            nonce: Some("n-0S6_WzA2Mj".to_string()),
            subject: Subject {
                auth_time: Some(T0),
                ..Subject::new("alice")
            },
        })
    }

    /// Mints and stores a code for an explicit grant.
    #[must_use]
    pub fn code_for(&self, grant: CodeGrant) -> String {
        let minted = self.server.mint_code(grant).expect("mint code");
        let outcome = self
            .store
            .commit(Commit::StoreCode(minted.record))
            .expect("store code");
        assert_eq!(outcome, CommitOutcome::Applied);
        minted.code.expose().to_string()
    }

    /// `GET /authorize?{query}` with the browser's `session`.
    #[must_use]
    pub fn authorize(&self, query: &str, session: Option<&Subject>) -> AuthorizeOutcome {
        let mut req = Request::form_post(Vec::new()).with_query(query);
        req.method = tollgate::Method::Get;
        req.headers.clear();
        self.authorize_request(&req, session)
    }

    /// `/authorize` with an explicit request.
    #[must_use]
    pub fn authorize_request(&self, req: &Request, session: Option<&Subject>) -> AuthorizeOutcome {
        let session = session.map(|s| Session { subject: s.clone() });
        self.server.authorize_with(req, session, &self.store)
    }

    /// The host finishes a login or consent page with `result`, presenting the handle, the
    /// cookie and the CSRF token it was given (`cookie` is the browser's current cookie).
    #[must_use]
    pub fn resume(
        &self,
        prompt: &InteractionPrompt,
        cookie: &str,
        result: InteractionResult,
    ) -> AuthorizeOutcome {
        self.server.resume_authorize_with(
            Resume {
                handle: prompt.handle.clone(),
                browser: tollgate::SecretString::new(cookie),
                csrf: prompt.csrf.clone(),
                result,
            },
            &self.store,
        )
    }

    /// Drives a browser through `/authorize` → login as `user` (if asked) → consent (if
    /// asked) and returns the final redirect's query parameters.
    #[must_use]
    pub fn browser_flow(&self, query: &str, session: Option<&Subject>, user: &Subject) -> Redirect {
        let mut cookie = String::new();
        let mut outcome = self.authorize(query, session);
        loop {
            outcome = match outcome {
                AuthorizeOutcome::Login(p) => {
                    if let Some(c) = &p.set_browser_cookie {
                        cookie = c.expose().to_string();
                    }
                    self.resume(&p, &cookie, InteractionResult::Authenticated(user.clone()))
                }
                AuthorizeOutcome::Consent(c) => {
                    if let Some(v) = &c.interaction.set_browser_cookie {
                        cookie = v.expose().to_string();
                    }
                    self.resume(&c.interaction, &cookie, InteractionResult::Consented)
                }
                AuthorizeOutcome::Redirect(r) => return Redirect::from_response(&r),
                other => panic!("expected a redirect, got {other:?}"),
            };
        }
    }

    /// `POST /revoke` authenticated with Basic.
    pub fn revoke(&self, client: &str, secret: &str, body: &str) -> Reply {
        let req = Request::form_post(body).with_header("Authorization", &basic(client, secret));
        Reply::from(self.server.revoke(&req, &self.store))
    }

    /// `POST /introspect` authenticated with Basic.
    #[must_use]
    pub fn introspect(&self, client: &str, secret: &str, body: &str) -> Reply {
        let req = Request::form_post(body).with_header("Authorization", &basic(client, secret));
        Reply::from(self.server.introspect(&req, &self.store))
    }

    /// `GET /userinfo` with `Authorization: Bearer {token}`.
    #[must_use]
    pub fn userinfo(&self, token: &str) -> Reply {
        let mut req =
            Request::form_post(Vec::new()).with_header("Authorization", &format!("Bearer {token}"));
        req.method = tollgate::Method::Get;
        req.headers.remove(0);
        self.userinfo_request(&req)
    }

    /// `/userinfo` with an explicit request.
    #[must_use]
    pub fn userinfo_request(&self, req: &Request) -> Reply {
        Reply::from(self.server.userinfo(req, &self.store, &TestClaims))
    }

    /// C1 exchanges a code for `scope` and returns the reply.
    #[must_use]
    pub fn c1_tokens(&self, scope_str: &str) -> Reply {
        let code = self.code("C1", C1_REDIRECT, scope_str, None);
        self.post_basic(
            "C1",
            C1_SECRET,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                enc(C1_REDIRECT)
            ),
        )
    }

    /// P1 (public) exchanges a PKCE code for `scope`.
    #[must_use]
    pub fn p1_tokens(&self, scope_str: &str) -> Reply {
        let code = self.code("P1", P1_REDIRECT, scope_str, Some(RFC7636_CHALLENGE));
        self.post(&format!(
            "grant_type=authorization_code&client_id=P1&code={code}&redirect_uri={}&code_verifier={RFC7636_VERIFIER}",
            enc(P1_REDIRECT)
        ))
    }

    /// C1 refreshes `rt`.
    #[must_use]
    pub fn c1_refresh(&self, rt: &str) -> Reply {
        self.post_basic(
            "C1",
            C1_SECRET,
            &format!("grant_type=refresh_token&refresh_token={}", enc(rt)),
        )
    }

    /// P1 refreshes `rt`.
    #[must_use]
    pub fn p1_refresh(&self, rt: &str) -> Reply {
        self.post(&format!(
            "grant_type=refresh_token&client_id=P1&refresh_token={}",
            enc(rt)
        ))
    }

    /// Whether access token `at` is active now (unexpired, family not revoked), as
    /// introspection will report it.
    #[must_use]
    pub fn access_active(&self, at: &str) -> bool {
        self.store
            .access_token(&self.server.access_token_key(at))
            .expect("store")
            .is_some_and(|v| v.is_active(self.clock_now()))
    }

    /// The harness clock's reading.
    #[must_use]
    pub fn clock_now(&self) -> UnixTime {
        use tollgate::Clock as _;
        self.clock.now()
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`.
#[must_use]
pub fn basic(client: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(client), enc(secret)))
    )
}

/// Form-urlencodes a value (space as `+`).
#[must_use]
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The S256 challenge of `verifier`.
#[must_use]
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        verifier.as_bytes(),
    ))
}

/// A token-endpoint reply: the raw response and its JSON body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The raw response.
    pub response: Response,
    /// The body parsed as JSON (`Null` if it is not JSON).
    pub json: Value,
}

impl From<Response> for Reply {
    fn from(response: Response) -> Self {
        let json = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        Reply { response, json }
    }
}

impl Reply {
    /// The status.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.response.status
    }

    /// A header value.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response.header(name)
    }

    /// The `error` member.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.json.get("error").and_then(Value::as_str)
    }

    /// A string member.
    #[must_use]
    pub fn str(&self, name: &str) -> Option<&str> {
        self.json.get(name).and_then(Value::as_str)
    }

    /// `access_token`, which must be present.
    #[must_use]
    pub fn access_token(&self) -> String {
        self.str("access_token")
            .unwrap_or_else(|| panic!("no access_token in {}", self.json))
            .to_string()
    }

    /// `refresh_token`, which must be present.
    #[must_use]
    pub fn refresh_token(&self) -> String {
        self.str("refresh_token")
            .unwrap_or_else(|| panic!("no refresh_token in {}", self.json))
            .to_string()
    }

    /// `scope` as a set.
    #[must_use]
    pub fn scope(&self) -> Scope {
        Scope::parse(self.str("scope").unwrap_or("")).expect("scope syntax")
    }

    /// Asserts a 200 token response and returns self.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.status(),
            200,
            "expected 200, got {}: {}",
            self.status(),
            self.json
        );
        self
    }

    /// Asserts an error response with `status` and `error`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, error: &str) {
        assert_eq!(
            (self.status(), self.error()),
            (status, Some(error)),
            "body: {}",
            self.json
        );
        assert!(self
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")));
    }
}

/// A parsed `303` redirect from `/authorize`.
#[derive(Debug, Clone)]
pub struct Redirect {
    /// The status (always 303).
    pub status: u16,
    /// The `Location` without its query.
    pub base: String,
    /// The raw `Location`.
    pub location: String,
    /// Query parameters in order, decoded.
    pub params: Vec<(String, String)>,
}

impl Redirect {
    /// Parses a response that must be a redirect.
    #[must_use]
    pub fn from_response(r: &Response) -> Redirect {
        let location = r
            .header("location")
            .unwrap_or_else(|| panic!("no Location in {r:?}"))
            .to_string();
        let (base, query) = location.split_once('?').unwrap_or((&location, ""));
        let params = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                let dec = |s: &str| tollgate::form::decode_component(s.as_bytes()).expect("utf-8");
                (dec(k), dec(v))
            })
            .collect();
        Redirect {
            status: r.status,
            base: base.to_string(),
            location: location.clone(),
            params,
        }
    }

    /// A parameter's value.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `error` parameter.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.get("error")
    }
}

/// The outcome must be a redirect; parses it.
#[track_caller]
#[must_use]
pub fn expect_redirect(outcome: AuthorizeOutcome) -> Redirect {
    match outcome {
        AuthorizeOutcome::Redirect(r) => Redirect::from_response(&r),
        other => panic!("expected a redirect, got {other:?}"),
    }
}

/// The outcome must be an error page; returns it.
#[track_caller]
pub fn expect_error_page(outcome: AuthorizeOutcome) -> tollgate::authorize::ErrorPage {
    match outcome {
        AuthorizeOutcome::ErrorPage(p) => {
            assert!(p.to_response().header("location").is_none());
            p
        }
        other => panic!("expected an error page, got {other:?}"),
    }
}
