//! Shared harness for the Tollgate fuzz targets: how raw fuzzer bytes become a token
//! request, the deterministic world the request is decided in, and the properties every
//! response must have.
//!
//! Each target in `fuzz_targets/` calls one function here: [`token_request`],
//! [`form_parse`] and [`authorize_request`] (this file), [`authorization_header`]
//! ([`auth_header`]), [`jws_parse`] ([`jose`]) and [`config_load`] ([`config`]); each
//! module documents its input format and the properties it checks.
//!
//! # Input format of `token_request`
//!
//! The input is split at its first three `\n` bytes into up to four parts:
//!
//! ```text
//! body \n authorization \n query \n meta
//! ```
//!
//! * `body` — the raw `application/x-www-form-urlencoded` body (any bytes but `\n`);
//! * `authorization` — the `Authorization` header value; empty or missing means no header;
//! * `query` — the raw query string;
//! * `meta` — one character per switch, so seeds stay readable: `G`/`H`/`O` send
//!   GET/HEAD/another method instead of POST; `n` drops `Content-Type`, `j` makes it JSON,
//!   `c` adds `; charset=UTF-8`, `d` repeats it; `a` repeats the `Authorization` header,
//!   `e` sends it empty; `T` moves the clock 31 s on (past the refresh grace window), `X`
//!   8 days (past the idle lifetime), `Y` 91 days (past the absolute lifetime); `r` sends
//!   the same request twice.
//!
//! Header values and the query are `String`s in [`Request`], so non-UTF-8 bytes there are
//! replaced (as a lossy adapter would); the body stays raw bytes.
//!
//! # The world
//!
//! Every input gets a fresh [`World`]: a new [`MemoryStore`] with three clients and stored
//! codes and refresh tokens whose plaintext values are the constants below (also in
//! `fuzz/oauth.dict` and the seeds), so the fuzzer reaches the success paths, grace-window
//! replay, reuse detection, code replay and expiry — not only `invalid_grant` for unknown
//! tokens. The [`Server`] is built once per process (building one generates a signing key)
//! with a `SeededRandom` and a `ManualClock`; each world sets the clock back to [`START`]
//! and rewinds the random source, so an input decides the same way whatever ran before it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth_header;
pub mod config;
pub mod jose;

pub use auth_header::authorization_header;
pub use config::config_load;
pub use jose::jws_parse;

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use serde_json::json;
use tollgate::random::RandomError;
use tollgate::store::{CodeRecord, Issuance};
use tollgate::token::FamilyId;
use tollgate::{
    Client, Commit, CommitOutcome, ManualClock, MemoryStore, Method, NoPasswordUsers, Request,
    Response, SecretHash, SecureRandom, SeededRandom, Server, ServerConfig, Store, TokenHash,
    UnixTime,
};

/// The time the world starts at.
pub const START: UnixTime = UnixTime(1_750_000_000);

/// Confidential client authenticating with `client_secret_basic`; rotating refresh tokens.
pub const CONF_ID: &str = "conf";
/// [`CONF_ID`]'s secret.
pub const CONF_SECRET: &str = "Kcbs13DJiKG2XrXu9BLC06aYAZFGipDp-vK3PCGcC5E";
/// [`CONF_ID`]'s redirect URI.
pub const CONF_REDIRECT: &str = "https://client.example/cb";
/// Public native client (`none`).
pub const PUB_ID: &str = "pub";
/// [`PUB_ID`]'s redirect URI.
pub const PUB_REDIRECT: &str = "com.example.app:/cb";
/// Confidential client authenticating with `client_secret_post`; static refresh tokens.
pub const POST_ID: &str = "post";
/// [`POST_ID`]'s secret.
pub const POST_SECRET: &str = "TNG67vkeNY_dYK7A2WX9hp7DaENcCLZSl4dBGqWYCcY";

/// An unredeemed code for [`CONF_ID`] (PKCE S256 over [`PKCE_VERIFIER`]).
pub const CODE_CONF: &str = "tgc_fuzzCodeConf0000000000000000000000000000000";
/// An unredeemed code for [`PUB_ID`] (PKCE S256 over [`PKCE_VERIFIER`]).
pub const CODE_PUB: &str = "tgc_fuzzCodePub00000000000000000000000000000000";
/// A code for [`CONF_ID`] already redeemed: presenting it again revokes its family.
pub const CODE_USED: &str = "tgc_fuzzCodeUsed0000000000000000000000000000000";
/// The RFC 7636 Appendix B verifier.
pub const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// Its S256 challenge.
pub const PKCE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// An active refresh token of [`CONF_ID`].
pub const RT_CONF: &str = "tgr_fuzzRefreshConf00000000000000000000000000000";
/// An active refresh token of [`PUB_ID`].
pub const RT_PUB: &str = "tgr_fuzzRefreshPub000000000000000000000000000000";
/// A refresh token of [`CONF_ID`] rotated at [`START`]: within 30 s it replays the sealed
/// successor, after that it is reuse and revokes the family.
pub const RT_GRACE: &str = "tgr_fuzzRefreshGrace0000000000000000000000000000";
/// A refresh token of [`CONF_ID`] whose family was revoked.
pub const RT_REVOKED: &str = "tgr_fuzzRefreshRevoked00000000000000000000000000";
/// A refresh token of [`CONF_ID`] past its idle expiry.
pub const RT_IDLE: &str = "tgr_fuzzRefreshIdle00000000000000000000000000000";
/// A static (non-rotating) refresh token of [`POST_ID`].
pub const RT_STATIC: &str = "tgr_fuzzRefreshStatic0000000000000000000000000000";

/// The scope of every stored grant.
pub const GRANT_SCOPE: &str = "openid profile offline_access api";

/// The HTTP statuses a token response may have.
pub const ALLOWED_STATUSES: [u16; 6] = [200, 400, 401, 405, 500, 503];

/// A fuzz input split into its parts (see the [crate docs](crate)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Input<'a> {
    /// The body.
    pub body: &'a [u8],
    /// The `Authorization` value; `None` when empty or missing.
    pub authorization: Option<&'a [u8]>,
    /// The raw query.
    pub query: &'a [u8],
    /// The switches.
    pub meta: &'a [u8],
}

impl<'a> Input<'a> {
    /// Splits `data` at its first three `\n`.
    #[must_use]
    pub fn split(data: &'a [u8]) -> Self {
        let mut parts = data.splitn(4, |&b| b == b'\n');
        let body = parts.next().unwrap_or_default();
        let authorization = parts.next().filter(|a| !a.is_empty());
        let query = parts.next().unwrap_or_default();
        let meta = parts.next().unwrap_or_default();
        Input {
            body,
            authorization,
            query,
            meta,
        }
    }

    fn has(&self, switch: u8) -> bool {
        self.meta.contains(&switch)
    }

    /// The request these parts describe.
    #[must_use]
    pub fn request(&self) -> Request {
        let method = if self.has(b'G') {
            Method::Get
        } else if self.has(b'H') {
            Method::Head
        } else if self.has(b'O') {
            Method::Other
        } else {
            Method::Post
        };
        let mut headers = Vec::new();
        if !self.has(b'n') {
            let ct = if self.has(b'j') {
                "application/json"
            } else if self.has(b'c') {
                "application/x-www-form-urlencoded; charset=UTF-8"
            } else {
                "application/x-www-form-urlencoded"
            };
            headers.push(("Content-Type".to_string(), ct.to_string()));
            if self.has(b'd') {
                headers.push(("content-type".to_string(), ct.to_string()));
            }
        }
        let auth = if self.has(b'e') {
            Some(String::new())
        } else {
            self.authorization
                .map(|a| String::from_utf8_lossy(a).into_owned())
        };
        if let Some(auth) = auth {
            if self.has(b'a') {
                headers.push(("authorization".to_string(), auth.clone()));
            }
            headers.push(("Authorization".to_string(), auth));
        }
        Request {
            method,
            headers,
            query: String::from_utf8_lossy(self.query).into_owned(),
            body: self.body.to_vec(),
        }
    }

    /// How far the clock moves before the request.
    #[must_use]
    pub fn clock_advance(&self) -> Duration {
        let mut d = Duration::ZERO;
        if self.has(b'T') {
            d += Duration::from_secs(31);
        }
        if self.has(b'X') {
            d += Duration::from_secs(8 * 24 * 3600);
        }
        if self.has(b'Y') {
            d += Duration::from_secs(91 * 24 * 3600);
        }
        d
    }

    /// Whether the request is sent twice.
    #[must_use]
    pub fn twice(&self) -> bool {
        self.has(b'r')
    }
}

/// The deterministic world a request is decided in.
#[derive(Debug)]
pub struct World {
    /// The server (seeded random, manual clock), shared by every input of the process.
    pub server: &'static Server,
    /// The store.
    pub store: MemoryStore,
    /// The server's clock.
    pub clock: ManualClock,
    /// Held while the world lives: the server, clock and random source are shared, so two
    /// worlds (tests run in parallel threads) must not interleave.
    _exclusive: MutexGuard<'static, ()>,
}

// Fixture records are written as JSON (the serde form every store and config file uses),
// so fields the core adds later with a `#[serde(default)]` do not break this crate, which
// the main workspace does not build.

fn from_json<T: serde::de::DeserializeOwned>(what: &str, v: serde_json::Value) -> T {
    match serde_json::from_value(v) {
        Ok(t) => t,
        Err(e) => panic!("fuzz fixture {what} does not deserialize: {e}"),
    }
}

fn clients() -> Vec<Client> {
    let conf_secret = SecretHash::fast(CONF_SECRET)
        .expect("long secret")
        .to_stored();
    let post_secret = SecretHash::fast(POST_SECRET)
        .expect("long secret")
        .to_stored();
    vec![
        from_json(
            "client conf",
            json!({
                "id": CONF_ID, "client_type": "confidential", "kind": "web",
                "auth_method": "client_secret_basic", "secret": conf_secret,
                "redirect_uris": [CONF_REDIRECT],
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                "allowed_scopes": GRANT_SCOPE, "default_scopes": "api",
            }),
        ),
        from_json(
            "client pub",
            json!({
                "id": PUB_ID, "client_type": "public", "kind": "native", "auth_method": "none",
                "redirect_uris": [PUB_REDIRECT],
                "grant_types": ["authorization_code", "refresh_token"],
                "allowed_scopes": GRANT_SCOPE,
            }),
        ),
        from_json(
            "client post",
            json!({
                "id": POST_ID, "client_type": "confidential", "kind": "service",
                "auth_method": "client_secret_post", "secret": post_secret,
                "grant_types": ["client_credentials", "refresh_token", "password"],
                "allowed_scopes": GRANT_SCOPE, "default_scopes": "api",
                "refresh_rotation": "static",
            }),
        ),
    ]
}

pub(crate) fn must_apply(store: &MemoryStore, commit: Commit) {
    let outcome = store.commit(commit).expect("memory store answers");
    assert_eq!(outcome, CommitOutcome::Applied, "fixture commit conflicted");
}

fn hex(token: &str) -> String {
    TokenHash::of(token).to_hex()
}

/// A family of `client` holding the refresh token `rt` and an access token, revoked when
/// `revoked`, with the refresh token's idle expiry at `idle_expires_at`.
fn issuance(n: u8, client: &str, rt: &str, revoked: bool, idle_expires_at: UnixTime) -> Issuance {
    let family = FamilyId([n; 16]).to_hex();
    Issuance {
        family: from_json(
            "family",
            json!({
                "id": family, "client_id": client, "subject": {"id": "alice"},
                "scope": GRANT_SCOPE, "grant_type": "authorization_code",
                "created_at": START, "expires_at": START.plus(Duration::from_secs(90 * 24 * 3600)),
                "revoked_at": revoked.then_some(START),
            }),
        ),
        refresh: Some(from_json(
            "refresh token",
            json!({
                "hash": hex(rt), "family": family, "client_id": client, "scope": GRANT_SCOPE,
                "issued_at": START, "idle_expires_at": idle_expires_at, "state": "Active",
            }),
        )),
        access: from_json(
            "access token",
            json!({
                "hash": hex(&format!("tga_fuzzAccess{n}")), "family": family,
                "client_id": client, "subject": "alice", "scope": GRANT_SCOPE,
                "issued_at": START, "expires_at": START.plus(Duration::from_secs(3600)),
            }),
        ),
    }
}

/// A stored code for `client`, bound to `redirect` and the PKCE challenge.
fn code(value: &str, client: &str, redirect: &str, redeemed_into: Option<u8>) -> CodeRecord {
    from_json(
        "code",
        json!({
            "hash": hex(value), "client_id": client, "redirect_uri": redirect,
            "redirect_uri_sent": true,
            "pkce": {"method": "S256", "challenge": PKCE_CHALLENGE},
            "scope": GRANT_SCOPE, "nonce": null, "subject": {"id": "alice"},
            "issued_at": START, "expires_at": START.plus(Duration::from_secs(60)),
            "redeemed_into": redeemed_into.map(|n| FamilyId([n; 16]).to_hex()),
        }),
    )
}

/// The parts of every world that do not depend on the input, built once per process:
/// parsing scopes and hashing secrets and token values is most of a world's cost.
pub(crate) struct Template {
    pub(crate) clients: Vec<Client>,
    pub(crate) commits: Vec<Commit>,
}

pub(crate) fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let fresh = START.plus(Duration::from_secs(7 * 24 * 3600));
        Template {
            clients: clients(),
            commits: vec![
                Commit::StoreCode(std::sync::Arc::new(code(
                    CODE_CONF,
                    CONF_ID,
                    CONF_REDIRECT,
                    None,
                ))),
                Commit::StoreCode(std::sync::Arc::new(code(
                    CODE_PUB,
                    PUB_ID,
                    PUB_REDIRECT,
                    None,
                ))),
                Commit::Issue(issuance(1, CONF_ID, RT_CONF, false, fresh)),
                Commit::Issue(issuance(2, PUB_ID, RT_PUB, false, fresh)),
                Commit::Issue(issuance(3, CONF_ID, RT_GRACE, false, fresh)),
                Commit::Issue(issuance(4, CONF_ID, RT_REVOKED, true, fresh)),
                Commit::Issue(issuance(5, CONF_ID, RT_IDLE, false, START)),
                Commit::Issue(issuance(6, POST_ID, RT_STATIC, false, fresh)),
                // Already redeemed into family 1: presenting it again revokes that family.
                Commit::StoreCode(std::sync::Arc::new(code(
                    CODE_USED,
                    CONF_ID,
                    CONF_REDIRECT,
                    Some(1),
                ))),
            ],
        }
    })
}

/// A `SeededRandom` that can be rewound to its seed, so one server (whose construction
/// generates a signing key — too slow to repeat per input) still sees the same random
/// bytes for the same input, whatever ran before.
#[derive(Clone, Debug)]
struct RewindableRandom(Arc<Mutex<SeededRandom>>);

const SEED: u64 = 0x7011_6a7e;

impl RewindableRandom {
    fn rewind(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = SeededRandom::new(SEED);
    }
}

impl SecureRandom for RewindableRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill(dest)
    }
}

pub(crate) struct Shared {
    pub(crate) server: Server,
    pub(crate) clock: ManualClock,
    random: RewindableRandom,
}

pub(crate) fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let clock = ManualClock::new(START);
        let random = RewindableRandom(Arc::new(Mutex::new(SeededRandom::new(SEED))));
        let server = Server::builder(ServerConfig {
            issuer: "https://as.example".to_string(),
            ..ServerConfig::default()
        })
        .clock(clock.clone())
        .random(random.clone())
        .build()
        .expect("fuzz configuration is valid");
        Shared {
            server,
            clock,
            random,
        }
    })
}

/// Held while an input uses the shared server: its clock and random source are shared, so
/// two inputs (tests run in parallel threads) must not interleave.
pub(crate) fn exclusive() -> MutexGuard<'static, ()> {
    static EXCLUSIVE: Mutex<()> = Mutex::new(());
    EXCLUSIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

impl World {
    /// Builds the world: clients, codes and refresh tokens as documented on the constants,
    /// in a fresh store, with the shared server's clock back at [`START`] and its random
    /// source rewound.
    ///
    /// # Panics
    /// If the fixture itself is inconsistent (a bug in this harness, not in the input).
    #[must_use]
    pub fn new() -> Self {
        let exclusive = exclusive();
        let Shared {
            server,
            clock,
            random,
        } = shared();
        clock.set(START);
        random.rewind();
        let store = MemoryStore::new();
        let t = template();
        for c in &t.clients {
            store
                .insert_client(c.clone())
                .expect("fuzz client is valid");
        }
        for c in &t.commits {
            must_apply(&store, c.clone());
        }

        // Rotate RT_GRACE through the server itself, so its sealed successor is real.
        let rotate =
            Request::form_post(format!("grant_type=refresh_token&refresh_token={RT_GRACE}"))
                .with_header("Authorization", CONF_BASIC);
        let r = server.token(&rotate, &store, &NoPasswordUsers);
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

        World {
            server,
            store,
            clock: clock.clone(),
            _exclusive: exclusive,
        }
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

/// `Basic base64("conf:" CONF_SECRET)`.
pub const CONF_BASIC: &str =
    "Basic Y29uZjpLY2JzMTNESmlLRzJYclh1OUJMQzA2YVlBWkZHaXBEcC12SzNQQ0djQzVF";

/// Panics unless `r` is a well-formed token-endpoint response: an allowed status, the
/// no-store headers (RFC 6749 §5.1, TK-02/TK-03), a JSON object body with `access_token` and
/// `token_type` on success and an `error` string otherwise, a `WWW-Authenticate` challenge
/// with every 401 and `Allow` with every 405.
pub fn check_response(r: &Response) {
    assert!(
        ALLOWED_STATUSES.contains(&r.status),
        "unexpected status {}",
        r.status
    );
    let body: serde_json::Value = match serde_json::from_slice(&r.body) {
        Ok(v) => v,
        Err(e) => panic!(
            "body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&r.body)
        ),
    };
    let obj = body.as_object().expect("the body is a JSON object");
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    if r.status == 200 {
        assert!(obj.get("access_token").is_some_and(|v| v.is_string()));
        assert!(obj.get("token_type").is_some_and(|v| v.is_string()));
    } else {
        assert!(
            obj.get("error").is_some_and(|v| v.is_string()),
            "an error response names its error: {body}"
        );
    }
    if r.status == 401 {
        assert!(
            r.header("www-authenticate").is_some(),
            "401 without challenge"
        );
    }
    if r.status == 405 {
        assert!(r.header("allow").is_some(), "405 without Allow");
    }
}

/// The `token_request` target: decides the request described by `data` in a fresh world
/// and checks the response (twice, when the `r` switch is on).
pub fn token_request(data: &[u8]) {
    let input = Input::split(data);
    let world = World::new();
    world.clock.advance(input.clock_advance());
    let request = input.request();
    let first = world.server.token(&request, &world.store, &NoPasswordUsers);
    check_response(&first);
    if input.twice() {
        let second = world.server.token(&request, &world.store, &NoPasswordUsers);
        check_response(&second);
        // A request that succeeded with a refresh token can only be a refresh or a code
        // exchange; a code never succeeds twice, and a refresh repeated inside the grace
        // window must replay the very same response (DESIGN.md, "Refresh tokens").
        let rotated = first.status == 200
            && serde_json::from_slice::<serde_json::Value>(&first.body)
                .is_ok_and(|v| v.get("refresh_token").is_some());
        if rotated && second.status == 200 {
            assert_eq!(first.body, second.body, "a grace replay forked the family");
        }
    }
}

/// The `form_parse` target: the form parser is total.
pub fn form_parse(data: &[u8]) {
    let limits = tollgate::form::FormLimits::default();
    if let Ok(params) = tollgate::form::Params::parse(data, limits) {
        // Names are unique and values non-empty (GEN-02, GEN-03).
        assert!(params.len() <= limits.max_params);
    }
}

/// The `authorize_request` target: any query or form body at `/authorize`, with or without a
/// session, ends in a redirect to a registered URI, an error page, or a login/consent
/// prompt — never a panic, never a redirect elsewhere (RFC 6749 §4.1.2.1, RU-01).
pub fn authorize_request(data: &[u8]) {
    use tollgate::authorize::{AuthorizeOutcome, Session};
    let world = World::new();
    let (session, rest) = match data.split_first() {
        Some((b, rest)) if b & 1 == 1 => (
            Some(Session {
                subject: tollgate::Subject::new("alice"),
            }),
            rest,
        ),
        Some((_, rest)) => (None, rest),
        None => (None, data),
    };
    let mut request = Request::form_post(Vec::new());
    request.method = tollgate::Method::Get;
    request.headers.clear();
    request.query = String::from_utf8_lossy(rest).into_owned();
    match world.server.authorize_with(&request, session, &world.store) {
        AuthorizeOutcome::Redirect(r) => {
            assert_eq!(r.status, 303);
            let location = r.header("location").expect("a redirect has a Location");
            let registered = template()
                .clients
                .iter()
                .flat_map(|c| c.redirect_uris.clone())
                .any(|u| {
                    location.starts_with(&u)
                        || location.starts_with("http://127.0.0.1:")
                        || location.starts_with("http://[::1]:")
                });
            assert!(registered, "redirected to an unregistered URI: {location}");
        }
        AuthorizeOutcome::ErrorPage(p) => assert!(p.to_response().header("location").is_none()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(data: &str) -> u16 {
        let input = Input::split(data.as_bytes());
        let world = World::new();
        world.clock.advance(input.clock_advance());
        let r = world
            .server
            .token(&input.request(), &world.store, &NoPasswordUsers);
        check_response(&r);
        r.status
    }

    #[test]
    fn fixture_tokens_reach_their_paths() {
        let basic = CONF_BASIC;
        let code = |c: &str, redirect: &str| {
            format!(
                "grant_type=authorization_code&code={c}&redirect_uri={redirect}&code_verifier={PKCE_VERIFIER}"
            )
        };
        assert_eq!(
            status_of(&format!(
                "{}\n{basic}",
                code(CODE_CONF, "https%3A%2F%2Fclient.example%2Fcb")
            )),
            200
        );
        assert_eq!(
            status_of(&format!(
                "{}&client_id=pub",
                code(CODE_PUB, "com.example.app%3A%2Fcb")
            )),
            200
        );
        assert_eq!(
            status_of(&format!(
                "{}\n{basic}",
                code(CODE_USED, "https%3A%2F%2Fclient.example%2Fcb")
            )),
            400
        );
        for (rt, meta, want) in [
            (RT_CONF, "", 200),
            (RT_GRACE, "", 200),
            (RT_GRACE, "T", 400),
            (RT_REVOKED, "", 400),
            (RT_IDLE, "", 400),
            (RT_CONF, "X", 400),
        ] {
            assert_eq!(
                status_of(&format!(
                    "grant_type=refresh_token&refresh_token={rt}\n{basic}\n\n{meta}"
                )),
                want,
                "{rt} {meta}"
            );
        }
        assert_eq!(
            status_of(&format!(
                "grant_type=refresh_token&refresh_token={RT_PUB}&client_id=pub"
            )),
            200
        );
        assert_eq!(
            status_of(&format!(
                "grant_type=refresh_token&refresh_token={RT_STATIC}&client_id=post&client_secret={POST_SECRET}"
            )),
            200
        );
        assert_eq!(
            status_of(&format!("grant_type=client_credentials\n{basic}")),
            200
        );
        assert_eq!(status_of("grant_type=client_credentials\n\n\nG"), 405);
    }

    #[test]
    fn every_seed_is_handled() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/token_request");
        for entry in std::fs::read_dir(dir).expect("seed dir") {
            let data = std::fs::read(entry.expect("entry").path()).expect("seed");
            token_request(&data);
        }
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 4] = [
            ("form_parse", form_parse),
            ("jws_parse", jws_parse),
            ("authorize_request", authorize_request),
            ("config_load", config_load),
        ];
        for (target, run) in targets {
            let dir = format!("{}/seeds/{target}", env!("CARGO_MANIFEST_DIR"));
            for entry in std::fs::read_dir(dir).expect("seed dir") {
                let data = std::fs::read(entry.expect("entry").path()).expect("seed");
                run(&data);
            }
        }
    }
}
