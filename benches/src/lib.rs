//! Shared fixtures for the Tollgate benches: a [`Server`] wired to the production random
//! source (or any other [`SecureRandom`]) and a [`ManualClock`], a [`MemoryStore`] holding
//! three registered clients, and builders for the token requests the benches send.
//!
//! Everything here is setup: the benches time only `Server::token` (or a parser), never the
//! builders in this module. The clients mirror what a real deployment registers:
//!
//! | id | type | auth | grants |
//! |---|---|---|---|
//! | [`SERVICE_ID`] | confidential service | `client_secret_basic`, fast hash | `client_credentials` |
//! | [`WEB_ID`] | confidential web app | `client_secret_basic`, fast hash | `authorization_code`, `refresh_token` |
//! | [`NATIVE_ID`] | public native app | `none` | `authorization_code`, `refresh_token` |

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod interleave;

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::json;
use tollgate::{
    Client, ClientId, CodeGrant, Commit, CommitOutcome, ManualClock, MemoryStore, NoPasswordUsers,
    PkceChallenge, PkceMethod, Policies, Request, Response, Scope, SecretHash, SecureRandom,
    Server, ServerConfig, Store, Subject, SystemRandom, TokenPolicy, UnixTime,
};

/// The fixed time every fixture's clock reads (2025-06-15, well inside every lifetime).
pub const START: UnixTime = UnixTime(1_750_000_000);

/// The confidential service client (`client_credentials`).
pub const SERVICE_ID: &str = "billing-service";
/// [`SERVICE_ID`]'s secret: 43 base64url characters, so it may be fast-hashed.
pub const SERVICE_SECRET: &str = "qL7xV2pN9sK4mT1rW8yB3cF6hJ0dG5zA-_eUoIiPlQk";

/// The confidential web client (code exchange and refresh).
pub const WEB_ID: &str = "web-portal";
/// [`WEB_ID`]'s secret: 43 base64url characters, so it may be fast-hashed.
pub const WEB_SECRET: &str = "TNG67vkeNY_dYK7A2WX9hp7DaENcCLZSl4dBGqWYCcY";
/// [`WEB_ID`]'s registered redirect URI.
pub const WEB_REDIRECT: &str = "https://portal.example.com/oauth/callback";

/// A confidential web client whose access tokens are ES256 JWTs (RFC 9068).
pub const JWT_WEB_ID: &str = "web-portal-jwt";

/// The public native client (code exchange and refresh, no secret).
pub const NATIVE_ID: &str = "mobile-app";
/// [`NATIVE_ID`]'s registered redirect URI (RFC 8252 private-use scheme).
pub const NATIVE_REDIRECT: &str = "com.example.mobile:/oauth/callback";

/// The scope the user consents to at `/authorize`: plain OAuth, with `offline_access`, so
/// the code exchange issues a refresh token — and no `openid`, so no ID token is signed.
pub const CONSENTED_SCOPE: &str = "profile email offline_access api:read";
/// [`CONSENTED_SCOPE`] plus `openid`: every code exchange and refresh also signs an ID token.
pub const OIDC_SCOPE: &str = "openid profile email offline_access api:read";

/// The PKCE verifier of RFC 7636 Appendix B.
pub const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// The S256 challenge of [`PKCE_VERIFIER`] (RFC 7636 Appendix B).
pub const PKCE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// How many grants a bench issues into one [`MemoryStore`] before starting over with a
/// fresh one. Bounds memory during long runs and keeps the store's size — and with it the
/// hash-map and cache behaviour — comparable between benches and between runs.
pub const STORE_RECYCLE: u64 = 10_000;

/// A server and the clock it reads.
#[derive(Debug)]
pub struct Fixture {
    /// The server under test.
    pub server: Server,
    /// Its clock; benches leave it at [`START`].
    pub clock: ManualClock,
}

impl Fixture {
    /// A server with the production [`SystemRandom`] and the default policy, except that
    /// the refresh grace window is `grace` (the default is 30 s; zero disables sealing).
    ///
    /// # Panics
    /// If the configuration is invalid (`grace` above 60 s).
    #[must_use]
    pub fn new(grace: Duration) -> Self {
        Self::with_random(grace, SystemRandom::new())
    }

    /// Like [`Fixture::new`] with another random source (e.g. `SeededRandom`, to see what
    /// the OS random source costs).
    ///
    /// # Panics
    /// If the configuration is invalid (`grace` above 60 s).
    #[must_use]
    pub fn with_random(grace: Duration, random: impl SecureRandom + 'static) -> Self {
        let clock = ManualClock::new(START);
        let config = ServerConfig {
            issuer: "https://auth.example.com".to_string(),
            policies: Policies {
                rules: Vec::new(),
                fallback: TokenPolicy {
                    grace,
                    ..TokenPolicy::default()
                },
            },
            ..ServerConfig::default()
        };
        let server = Server::builder(config)
            .clock(clock.clone())
            .random(random)
            .build()
            .expect("bench configuration is valid");
        Fixture { server, clock }
    }

    /// A fresh store holding the three bench clients and nothing else.
    ///
    /// # Panics
    /// If a client fails validation.
    #[must_use]
    pub fn store(&self) -> MemoryStore {
        let store = MemoryStore::new();
        for client in clients() {
            store.insert_client(client).expect("bench client is valid");
        }
        store
    }

    /// Removes every code, family and token from `store` — the clock jumps past every
    /// lifetime, the store purges, the clock jumps back to [`START`] — while the store's
    /// tables keep their capacity. Returns how many records went.
    ///
    /// # Panics
    /// If the store fails.
    pub fn purge_all(&self, store: &MemoryStore) -> usize {
        self.clock
            .set(START.plus(Duration::from_secs(400 * 24 * 3600)));
        let removed = store
            .purge_expired(self.server.now(), usize::MAX)
            .expect("purge the bench store");
        self.clock.set(START);
        removed
    }

    /// Mints an authorization code for `client_id` (with PKCE S256 over [`PKCE_VERIFIER`]
    /// and [`CONSENTED_SCOPE`]) and stores it, as `/authorize` would. Returns the code.
    ///
    /// # Panics
    /// If minting or storing fails.
    #[must_use]
    pub fn stored_code(&self, store: &MemoryStore, client_id: &str) -> String {
        self.stored_code_for(store, client_id, CONSENTED_SCOPE)
    }

    /// Like [`Fixture::stored_code`] with the consented `scope`.
    ///
    /// # Panics
    /// If minting or storing fails.
    #[must_use]
    pub fn stored_code_for(&self, store: &MemoryStore, client_id: &str, scope: &str) -> String {
        let redirect = if client_id == NATIVE_ID {
            NATIVE_REDIRECT
        } else {
            WEB_REDIRECT
        };
        let minted = self
            .server
            .mint_code(CodeGrant {
                client_id: ClientId::new(client_id).expect("valid id"),
                redirect_uri: redirect.to_string(),
                redirect_uri_sent: true,
                scope: Scope::parse(scope).expect("valid scope"),
                pkce: Some(
                    PkceChallenge::new(PkceMethod::S256, PKCE_CHALLENGE).expect("valid challenge"),
                ),
                nonce: Some("n-0S6_WzA2Mj".to_string()),
                subject: Subject::new("user-248289761001"),
            })
            .expect("mint a code");
        let outcome = store
            .commit(Commit::StoreCode(minted.record))
            .expect("store the code");
        assert_eq!(outcome, CommitOutcome::Applied, "code hash collided");
        minted.code.expose().to_string()
    }

    /// Starts a refresh-token family for `client_id` the way a real client does — a code
    /// exchange through [`Server::token`] — and returns its first refresh token.
    ///
    /// # Panics
    /// If the exchange does not yield a refresh token.
    #[must_use]
    pub fn first_refresh_token(&self, store: &MemoryStore, client_id: &str) -> String {
        self.first_refresh_token_for(store, client_id, CONSENTED_SCOPE)
    }

    /// Like [`Fixture::first_refresh_token`] with the consented `scope`.
    ///
    /// # Panics
    /// If the exchange does not yield a refresh token.
    #[must_use]
    pub fn first_refresh_token_for(
        &self,
        store: &MemoryStore,
        client_id: &str,
        scope: &str,
    ) -> String {
        let code = self.stored_code_for(store, client_id, scope);
        let response = self
            .server
            .token(&code_request(client_id, &code), store, &NoPasswordUsers);
        assert_eq!(
            response.status,
            200,
            "code exchange failed: {}",
            String::from_utf8_lossy(&response.body)
        );
        refresh_token_in(&response.body)
            .expect("the code exchange issued a refresh token")
            .to_string()
    }
}

/// Counts the grants a bench issues into one store and, every [`STORE_RECYCLE`] of them,
/// empties it with [`Fixture::purge_all`]. Call [`Recycler::tick`] once per iteration, in
/// untimed setup code.
///
/// Purging rather than replacing the store keeps its hash tables at their grown capacity:
/// the timed requests then see a store in steady state — holding up to [`STORE_RECYCLE`]
/// grants, never resizing — instead of paying for table growth and first-touch page faults
/// that a long-running server with periodic purges does not pay.
#[derive(Debug)]
pub struct Recycler<'f> {
    fixture: &'f Fixture,
    used: u64,
}

impl<'f> Recycler<'f> {
    /// A recycler for stores of `fixture`.
    #[must_use]
    pub fn new(fixture: &'f Fixture) -> Self {
        Recycler { fixture, used: 0 }
    }

    /// Counts one grant about to be issued into `store`; empties `store` first when it
    /// already holds [`STORE_RECYCLE`]. Returns whether it did.
    pub fn tick(&mut self, store: &MemoryStore) -> bool {
        let purged = self.used == STORE_RECYCLE;
        if purged {
            self.fixture.purge_all(store);
            self.used = 0;
        }
        self.used += 1;
        purged
    }
}

/// A stream of code exchanges by one client against one store: each exchange mints a fresh
/// stored code (PKCE S256, [`CONSENTED_SCOPE`]) untimed, then times `Server::token` alone.
/// The store starts grown by one full cycle and is recycled every [`STORE_RECYCLE`] grants,
/// so timed requests see the steady state.
#[derive(Debug)]
pub struct CodeStream<'f> {
    fx: &'f Fixture,
    client: &'static str,
    store: MemoryStore,
    recycler: Recycler<'f>,
}

impl<'f> CodeStream<'f> {
    /// A stream whose store has been grown by one full cycle.
    ///
    /// # Panics
    /// If the warm-up grants fail.
    #[must_use]
    pub fn warmed(fx: &'f Fixture, client: &'static str) -> Self {
        let store = fx.store();
        let mut recycler = Recycler::new(fx);
        for _ in 0..STORE_RECYCLE {
            recycler.tick(&store);
            let _ = fx.first_refresh_token(&store, client);
        }
        CodeStream {
            fx,
            client,
            store,
            recycler,
        }
    }

    /// One code exchange; returns the time `Server::token` took.
    ///
    /// # Panics
    /// If the exchange fails.
    pub fn exchange(&mut self) -> Duration {
        self.recycler.tick(&self.store);
        let request = code_request(self.client, &self.fx.stored_code(&self.store, self.client));
        timed_token(self.fx, &request, &self.store).1
    }

    /// `iters` exchanges; the summed time of the `Server::token` calls alone.
    pub fn run(&mut self, iters: u64) -> Duration {
        (0..iters).map(|_| self.exchange()).sum()
    }
}

/// The three bench clients (see the [crate docs](crate)), written in their serde form — the
/// form a configuration file has — so fields the core adds with a default need no change
/// here.
///
/// # Panics
/// If a client does not deserialize.
#[must_use]
pub fn clients() -> Vec<Client> {
    let stored = |secret: &str| SecretHash::fast(secret).expect("long secret").to_stored();
    let user_scopes = OIDC_SCOPE;
    [
        json!({
            "id": SERVICE_ID, "client_type": "confidential", "kind": "service",
            "auth_method": "client_secret_basic", "secret": stored(SERVICE_SECRET),
            "grant_types": ["client_credentials"],
            "allowed_scopes": "api:read api:write", "default_scopes": "api:read",
        }),
        json!({
            "id": WEB_ID, "client_type": "confidential", "kind": "web",
            "auth_method": "client_secret_basic", "secret": stored(WEB_SECRET),
            "redirect_uris": [WEB_REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "allowed_scopes": user_scopes,
        }),
        json!({
            "id": JWT_WEB_ID, "client_type": "confidential", "kind": "web",
            "auth_method": "client_secret_basic", "secret": stored(WEB_SECRET),
            "redirect_uris": [WEB_REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "allowed_scopes": user_scopes,
            "oidc": {"access_token_format": "jwt"},
        }),
        json!({
            "id": NATIVE_ID, "client_type": "public", "kind": "native", "auth_method": "none",
            "redirect_uris": [NATIVE_REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "allowed_scopes": user_scopes,
        }),
    ]
    .into_iter()
    .map(|v| serde_json::from_value(v).expect("bench client deserializes"))
    .collect()
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1). The bench ids and
/// secrets need no percent-encoding.
#[must_use]
pub fn basic_header(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// The secret of a confidential bench client, if `client_id` is one.
fn secret_of(client_id: &str) -> Option<&'static str> {
    match client_id {
        SERVICE_ID => Some(SERVICE_SECRET),
        WEB_ID | JWT_WEB_ID => Some(WEB_SECRET),
        _ => None,
    }
}

/// Adds the client's credentials the way it is registered to send them: a Basic header for
/// the confidential clients, `client_id` in the body for the public one.
fn authenticated(client_id: &str, mut body: String) -> Request {
    match secret_of(client_id) {
        Some(secret) => {
            Request::form_post(body).with_header("Authorization", &basic_header(client_id, secret))
        }
        None => {
            body.push_str("&client_id=");
            body.push_str(client_id);
            Request::form_post(body)
        }
    }
}

/// `grant_type=client_credentials&scope=api:read` from [`SERVICE_ID`] with Basic auth.
#[must_use]
pub fn client_credentials_request() -> Request {
    authenticated(
        SERVICE_ID,
        "grant_type=client_credentials&scope=api%3Aread".to_string(),
    )
}

/// The code-exchange request for `code`, with `redirect_uri` and the PKCE verifier.
#[must_use]
pub fn code_request(client_id: &str, code: &str) -> Request {
    let redirect = if client_id == NATIVE_ID {
        "com.example.mobile%3A%2Foauth%2Fcallback"
    } else {
        "https%3A%2F%2Fportal.example.com%2Foauth%2Fcallback"
    };
    authenticated(
        client_id,
        format!(
            "grant_type=authorization_code&code={code}&redirect_uri={redirect}\
             &code_verifier={PKCE_VERIFIER}"
        ),
    )
}

/// The refresh request for `token` by `client_id`.
#[must_use]
pub fn refresh_request(client_id: &str, token: &str) -> Request {
    authenticated(client_id, refresh_body(token))
}

/// `grant_type=refresh_token&refresh_token=<token>`: a typical refresh body.
#[must_use]
pub fn refresh_body(token: &str) -> String {
    format!("grant_type=refresh_token&refresh_token={token}")
}

/// A typical public-client refresh body as it arrives on the wire: the token, the client id
/// and a narrowing `scope` with `+` and percent-escapes. Input for the parser benches.
#[must_use]
pub fn typical_refresh_form() -> Vec<u8> {
    format!(
        "grant_type=refresh_token&refresh_token=tgr_{}&client_id={NATIVE_ID}\
         &scope=openid+api%3Aread",
        "q3Vx8KfZ0pLmN2rT5wYb7cHd9jGs1aE4uIo6eRtyUiA"
    )
    .into_bytes()
}

/// The `refresh_token` member of a token response body, found by substring search (token
/// values are base64url behind a prefix, so they are never JSON-escaped).
#[must_use]
pub fn refresh_token_in(body: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"\"refresh_token\":\"";
    let start = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let len = body[start..].iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&body[start..start + len]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(body: &[u8]) -> serde_json::Value {
        serde_json::from_slice(body).expect("a JSON body")
    }

    #[test]
    fn every_bench_request_succeeds() {
        let fx = Fixture::new(Duration::from_secs(30));
        let store = fx.store();
        let cc = fx
            .server
            .token(&client_credentials_request(), &store, &NoPasswordUsers);
        assert_eq!(cc.status, 200, "{}", String::from_utf8_lossy(&cc.body));
        assert_eq!(json(&cc.body)["scope"], "api:read");

        for (client, scope) in [
            (WEB_ID, CONSENTED_SCOPE),
            (NATIVE_ID, CONSENTED_SCOPE),
            (WEB_ID, OIDC_SCOPE),
        ] {
            let mut rt = fx.first_refresh_token_for(&store, client, scope);
            for _ in 0..3 {
                let r = fx
                    .server
                    .token(&refresh_request(client, &rt), &store, &NoPasswordUsers);
                assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
                let next = refresh_token_in(&r.body).expect("rotated").to_string();
                assert_eq!(json(&r.body)["refresh_token"], next.as_str());
                let has_id_token = json(&r.body).get("id_token").is_some();
                assert_eq!(
                    has_id_token,
                    scope == OIDC_SCOPE,
                    "ID token only with openid"
                );
                assert_ne!(next, rt, "rotation issues a new token");
                rt = next;
            }
        }
    }

    #[test]
    fn purge_all_empties_the_store_and_keeps_it_usable() {
        let fx = Fixture::new(Duration::from_secs(30));
        let store = fx.store();
        let rt = fx.first_refresh_token(&store, NATIVE_ID);
        let r = fx
            .server
            .token(&refresh_request(NATIVE_ID, &rt), &store, &NoPasswordUsers);
        assert_eq!(r.status, 200);
        // code + family + 2 refresh + 2 access tokens
        assert_eq!(fx.purge_all(&store), 6);
        assert_eq!(fx.server.now(), START);
        let next = refresh_token_in(&r.body).expect("rotated");
        let gone = fx
            .server
            .token(&refresh_request(NATIVE_ID, next), &store, &NoPasswordUsers);
        assert_eq!(gone.status, 400);
        let mut recycler = Recycler::new(&fx);
        assert!((0..STORE_RECYCLE).all(|_| !recycler.tick(&store)));
        assert!(recycler.tick(&store));
        let _ = fx.first_refresh_token(&store, WEB_ID);
    }

    #[test]
    fn refresh_token_search_matches_the_json() {
        let body = br#"{"access_token":"tga_x","token_type":"Bearer","expires_in":3600,"refresh_token":"tgr_abc-_9","scope":"openid"}"#;
        assert_eq!(refresh_token_in(body), Some("tgr_abc-_9"));
        assert_eq!(refresh_token_in(br#"{"access_token":"a"}"#), None);
    }

    #[test]
    fn typical_form_parses() {
        let p = tollgate::form::Params::parse(
            &typical_refresh_form(),
            tollgate::form::FormLimits::default(),
        )
        .expect("parses");
        assert_eq!(p.get("scope"), Some("openid api:read"));
        assert_eq!(p.len(), 4);
    }
}

/// Panics unless `response` is a 200.
///
/// # Panics
/// When the status is not 200, with the body in the message.
pub fn assert_ok(response: &Response) {
    assert_eq!(
        response.status,
        200,
        "bench request failed: {}",
        String::from_utf8_lossy(&response.body)
    );
}

/// `Server::token` on `request` against `store`, timed alone: the response (checked to be a
/// 200) and the time the call took. Building the request and dropping the response stay
/// outside the timed region.
///
/// # Panics
/// When the status is not 200.
pub fn timed_token(fx: &Fixture, request: &Request, store: &MemoryStore) -> (Response, Duration) {
    let t0 = std::time::Instant::now();
    let response = fx.server.token(request, store, &NoPasswordUsers);
    let elapsed = t0.elapsed();
    assert_ok(&response);
    (response, elapsed)
}

/// One refresh-token chain: every refresh presents the token the previous one returned —
/// the steady state of a client that refreshes before its access token expires. Every
/// [`STORE_RECYCLE`] refreshes the store is purged and a new chain starts (untimed).
#[derive(Debug)]
pub struct RefreshChain<'f> {
    fx: &'f Fixture,
    client: &'static str,
    scope: &'static str,
    store: MemoryStore,
    token: String,
    used: u64,
}

impl<'f> RefreshChain<'f> {
    /// A chain whose store has already been grown by one full cycle.
    ///
    /// # Panics
    /// If a refresh fails.
    #[must_use]
    pub fn warmed(fx: &'f Fixture, client: &'static str, scope: &'static str) -> Self {
        let store = fx.store();
        let token = fx.first_refresh_token_for(&store, client, scope);
        let mut chain = RefreshChain {
            fx,
            client,
            scope,
            store,
            token,
            used: 0,
        };
        for _ in 0..STORE_RECYCLE {
            chain.refresh();
        }
        chain
    }

    /// One refresh; returns the time `Server::token` took.
    ///
    /// # Panics
    /// If the refresh fails.
    pub fn refresh(&mut self) -> std::time::Duration {
        if self.used == STORE_RECYCLE {
            self.fx.purge_all(&self.store);
            self.token = self
                .fx
                .first_refresh_token_for(&self.store, self.client, self.scope);
            self.used = 0;
        }
        self.used += 1;
        let request = refresh_request(self.client, &self.token);
        let (response, elapsed) = timed_token(self.fx, &request, &self.store);
        self.token = refresh_token_in(&response.body)
            .expect("rotation returns a refresh token")
            .to_string();
        elapsed
    }

    /// `iters` refreshes; the summed time of the `Server::token` calls alone.
    pub fn run(&mut self, iters: u64) -> std::time::Duration {
        (0..iters).map(|_| self.refresh()).sum()
    }
}
