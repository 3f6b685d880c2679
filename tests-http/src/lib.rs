//! The harness of the over-TCP conformance suite: a [`TestServer`] runs the real
//! `tollgate-server` application on `127.0.0.1:0` — on the hyper adapter or the actix-web
//! adapter, as the test asks — with a fixture configuration (the checklist's clients, users
//! `alice` and `bob`, fixed keys) and a [`ManualClock`] the test can advance. Tests talk to
//! it only over HTTP with `reqwest`; a [`Browser`] keeps cookies and follows the sign-in and
//! consent pages the way a person would, without following redirects on its own.
//! [`process`] runs the server as a child process instead (durable stores, restarts,
//! `SIGKILL`); both are a [`Site`] to the helpers.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod process;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use tollgate::jose::SigningKey;
use tollgate::{ManualClock, SecretHash, SeededRandom, UnixTime};
use tollgate_server::{App, Config};

/// The test keys and request encoders both suites share, from the in-process suite's harness.
pub use tollgate_conformance_tests::{basic, ed25519_key, enc, s256, TEST_ES256_PEM};

/// Which adapter serves the application.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Adapter {
    /// `tollgate-hyper`.
    Hyper,
    /// `tollgate-actix`.
    Actix,
}

/// C1's secret.
pub const C1_SECRET: &str = "c1-secret-0123456789abcdefghijklmnopqrstuvwxyz";
/// C2's secret.
pub const C2_SECRET: &str = "c2-secret-0123456789abcdefghijklmnopqrstuvwxyz";
/// The id with reserved characters (CA-01).
pub const C3_ID: &str = "c3:x y";
/// Its secret, with reserved characters.
pub const C3_SECRET: &str = "p@ss:w/rd+%&=";
/// CPOST's secret (`client_secret_post`).
pub const POST_SECRET: &str = "post-secret-0123456789abcdefghijklmnopqrstuvwxyz";
/// PW's secret (password grant).
pub const PW_SECRET: &str = "pw-secret-0123456789abcdefghijklmnopqrstuvwxyz";
/// SVC's secret (client credentials only).
pub const SVC_SECRET: &str = "svc-secret-0123456789abcdefghijklmnopqrstuvwxyz";
/// J2's `client_secret_jwt` shared key.
pub const J2_JWT_SECRET: &str = "j2-shared-hmac-key-0123456789abcdefghijklmnop";
/// C1's external redirect URI.
pub const C1_REDIRECT: &str = "https://rp.test/cb";
/// P1's redirect URI.
pub const P1_REDIRECT: &str = "https://app.test/cb";
/// The RFC 7636 Appendix B verifier.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// Its S256 challenge.
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// alice's password.
pub const ALICE_PASSWORD: &str = "wonderland";
/// bob's password.
pub const BOB_PASSWORD: &str = "builder";

/// A test-only RSA-2048 key (the core's JOSE fixture), for RS256 (JW-05).
pub const TEST_RSA_PEM: &str =
    include_str!("../../crates/tollgate/src/jose/testdata/test-only-rsa2048.pem");

/// J1's `private_key_jwt` key.
#[must_use]
pub fn j1_key() -> SigningKey {
    ed25519_key(2, "j1-key")
}

fn slow_hash(secret: &str) -> String {
    SecretHash::slow(
        secret,
        std::num::NonZeroU32::new(1000).expect("nonzero"),
        &SeededRandom::new(7),
    )
    .expect("seeded random")
    .to_stored()
}

/// The fixture configuration for `issuer` on the memory store, plus `extra` TOML appended
/// at the top level (top-level keys first, then any tables).
#[must_use]
pub fn fixture_config(issuer: &str, extra: &str) -> String {
    fixture_config_with_store(issuer, "memory", extra)
}

/// [`fixture_config`] with `store` set to `store`.
#[must_use]
pub fn fixture_config_with_store(issuer: &str, store: &str, extra: &str) -> String {
    let j1_jwks = serde_json::json!({ "keys": [j1_key().public_jwk()] }).to_string();
    let cb = format!("{issuer}/demo/callback");
    format!(
        r#"issuer = "{issuer}"
store = "{store}"
signing_alg = "ES256"
{extra}

[login]
max_failures = 3
failure_window = 300

[[keys]]
alg = "ES256"
kid = "es256-1"
pem = """{TEST_ES256_PEM}"""

[[keys]]
alg = "RS256"
kid = "rs256-1"
pem = """{TEST_RSA_PEM}"""

[[clients]]
id = "C1"
name = "Client One"
type = "confidential"
kind = "web"
auth_method = "client_secret_basic"
secret = "{C1_SECRET}"
redirect_uris = ["{C1_REDIRECT}", "{cb}"]
grant_types = ["authorization_code", "refresh_token", "client_credentials"]
scopes = "openid profile email address phone offline_access api:read api:write"
default_scopes = "api:read"

[[clients]]
id = "C2"
type = "confidential"
kind = "web"
auth_method = "client_secret_basic"
secret = "{C2_SECRET}"
redirect_uris = ["{C1_REDIRECT}"]
grant_types = ["authorization_code", "refresh_token"]
scopes = "openid profile email offline_access api:read api:write"
default_scopes = "api:read"

[[clients]]
id = "{C3_ID}"
type = "confidential"
kind = "service"
auth_method = "client_secret_basic"
secret_hash = "{c3_hash}"
grant_types = ["client_credentials"]
scopes = "api:read"
default_scopes = "api:read"

[[clients]]
id = "C4"
type = "confidential"
kind = "web"
auth_method = "client_secret_basic"
secret = "{C1_SECRET}"
redirect_uris = ["https://rp.test/cb1", "https://rp.test/cb2"]
grant_types = ["authorization_code"]
scopes = "openid"

[[clients]]
id = "C5"
type = "confidential"
kind = "web"
auth_method = "client_secret_basic"
secret = "{C1_SECRET}"
redirect_uris = ["https://rp.test/cb?x=1"]
grant_types = ["authorization_code"]
scopes = "openid"

[[clients]]
id = "CPOST"
type = "confidential"
kind = "web"
auth_method = "client_secret_post"
secret = "{POST_SECRET}"
redirect_uris = ["{C1_REDIRECT}"]
grant_types = ["authorization_code", "refresh_token", "client_credentials"]
scopes = "openid api:read"
default_scopes = "api:read"

[[clients]]
id = "P1"
type = "public"
kind = "native"
auth_method = "none"
redirect_uris = ["{P1_REDIRECT}", "http://127.0.0.1/cb", "{cb}"]
grant_types = ["authorization_code", "refresh_token"]
scopes = "openid profile email offline_access api:read"

[[clients]]
id = "PW"
type = "confidential"
kind = "web"
auth_method = "client_secret_basic"
secret = "{PW_SECRET}"
redirect_uris = ["{C1_REDIRECT}"]
grant_types = ["password", "refresh_token"]
scopes = "openid profile offline_access api:read"
default_scopes = "api:read"

[[clients]]
id = "SVC"
type = "confidential"
kind = "service"
auth_method = "client_secret_basic"
secret = "{SVC_SECRET}"
grant_types = ["client_credentials"]
scopes = "api:read api:write"
default_scopes = "api:read"

[[clients]]
id = "J1"
type = "confidential"
kind = "web"
auth_method = "private_key_jwt"
jwks = '''{j1_jwks}'''
redirect_uris = ["{C1_REDIRECT}"]
grant_types = ["authorization_code", "refresh_token", "client_credentials"]
scopes = "openid api:read"
default_scopes = "api:read"

[[clients]]
id = "J2"
type = "confidential"
kind = "service"
auth_method = "client_secret_jwt"
jwt_secret = "{J2_JWT_SECRET}"
grant_types = ["client_credentials"]
scopes = "api:read"
default_scopes = "api:read"

[[clients]]
id = "JWTAT"
type = "confidential"
kind = "web"
auth_method = "client_secret_basic"
secret = "{C1_SECRET}"
grant_types = ["client_credentials"]
scopes = "api:read"
default_scopes = "api:read"
access_token_format = "jwt"

[[users]]
username = "alice"
password_hash = "{alice}"
groups = ["staff"]
claims = {{ name = "Alice Liddell", given_name = "Alice", family_name = "Liddell", email = "alice@example.com", email_verified = true, phone_number = "+44 20 7946 0000", address = {{ country = "UK" }} }}

[[users]]
username = "bob"
password_hash = "{bob}"
claims = {{ name = "Bob" }}
"#,
        c3_hash = slow_hash(C3_SECRET),
        alice = slow_hash(ALICE_PASSWORD),
        bob = slow_hash(BOB_PASSWORD),
    )
}

enum Stop {
    Hyper(tokio::sync::oneshot::Sender<()>),
    Actix(actix_web::dev::ServerHandle),
}

/// A running server as an HTTP client sees it: where its endpoints are, and a client that
/// follows no redirects. A [`TestServer`] (in process) and a
/// [`process::ServerProcess`] (a child process) both are one.
pub struct Site {
    /// Where the issuer's endpoints are reached: `http://127.0.0.1:PORT` plus the issuer's
    /// path (the issuer itself may say `https://`, or name another host).
    pub base: String,
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    http: reqwest::blocking::Client,
}

/// The server application running on a real socket.
pub struct TestServer {
    /// The issuer.
    pub issuer: String,
    /// The server's clock.
    pub clock: ManualClock,
    /// The application, for the rare check that is not over HTTP.
    pub app: Arc<App>,
    /// The adapter serving it.
    pub adapter: Adapter,
    site: Site,
    stop: Option<Stop>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::ops::Deref for TestServer {
    type Target = Site;
    fn deref(&self) -> &Site {
        &self.site
    }
}

impl TestServer {
    /// The fixture server on `adapter`.
    #[must_use]
    pub fn start(adapter: Adapter) -> TestServer {
        TestServer::start_with(adapter, "", "")
    }

    /// The fixture server with its issuer at `path` (e.g. `/t1`) and `extra` top-level TOML.
    #[must_use]
    pub fn start_with(adapter: Adapter, path: &str, extra: &str) -> TestServer {
        TestServer::start_scheme(adapter, "http", path, extra)
    }

    /// The fixture server whose issuer says `scheme://` (e.g. `https`, for `Secure`
    /// cookies) while it is reached over plain HTTP.
    #[must_use]
    pub fn start_scheme(adapter: Adapter, scheme: &str, path: &str, extra: &str) -> TestServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let issuer = format!("{scheme}://{addr}{path}");
        let config = Config::parse(&fixture_config(&issuer, extra)).expect("fixture config");
        TestServer::serve(adapter, listener, config, format!("http://{addr}"))
    }

    /// Serves `config` (whose issuer must point at `listener`).
    #[must_use]
    pub fn serve(
        adapter: Adapter,
        listener: std::net::TcpListener,
        config: Config,
        origin: String,
    ) -> TestServer {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs();
        let clock = ManualClock::new(UnixTime(now));
        let issuer = config.issuer.trim_end_matches('/').to_string();
        let site = Site::new(&origin, &issuer);
        let (app, _) = App::builder(config, std::env::temp_dir())
            .clock(Arc::new(clock.clone()))
            .build()
            .expect("fixture application");
        let (stop, thread) = match adapter {
            Adapter::Hyper => {
                let (tx, rx) = tokio::sync::oneshot::channel::<()>();
                let app2 = Arc::clone(&app);
                let thread = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build()
                        .expect("runtime");
                    rt.block_on(async move {
                        listener.set_nonblocking(true).expect("nonblocking");
                        let listener =
                            tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                        let shutdown = async {
                            let _ = rx.await;
                        };
                        tollgate_server::serve_hyper(listener, app2, shutdown)
                            .await
                            .expect("serve");
                    });
                });
                (Stop::Hyper(tx), thread)
            }
            Adapter::Actix => {
                let (tx, rx) = std::sync::mpsc::channel();
                let app2 = Arc::clone(&app);
                let thread = std::thread::spawn(move || {
                    actix_web::rt::System::new().block_on(async move {
                        let server =
                            tollgate_server::serve_actix(listener, app2, 2).expect("actix server");
                        let _ = tx.send(server.handle());
                        let _ = server.await;
                    });
                });
                let handle = rx.recv().expect("actix handle");
                (Stop::Actix(handle), thread)
            }
        };
        TestServer {
            issuer,
            clock,
            app,
            adapter,
            site,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Moves the server's clock forward.
    pub fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }
}

impl Site {
    /// The server listening at `origin` (`http://127.0.0.1:PORT`) for `issuer`, whose path
    /// (if any) is where the endpoints are.
    #[must_use]
    pub fn new(origin: &str, issuer: &str) -> Site {
        let http = reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        Site {
            base: format!(
                "{origin}{}",
                tollgate_hyper_path(issuer.trim_end_matches('/'))
            ),
            origin: origin.to_string(),
            http,
        }
    }

    /// An absolute URL for `path` under the issuer.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The shared HTTP client (no redirects followed).
    #[must_use]
    pub fn http(&self) -> &reqwest::blocking::Client {
        &self.http
    }

    /// Sends a request built on the shared client.
    #[must_use]
    pub fn send(&self, request: reqwest::blocking::RequestBuilder) -> Reply {
        Reply::from(request.send().expect("HTTP request"))
    }

    /// `GET {issuer}{path}`.
    #[must_use]
    pub fn get(&self, path: &str) -> Reply {
        self.send(self.http.get(self.url(path)))
    }

    /// `POST {issuer}{path}` with a form body and no credentials.
    #[must_use]
    pub fn post(&self, path: &str, body: &str) -> Reply {
        self.send(
            self.http
                .post(self.url(path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body.to_string()),
        )
    }

    /// `POST {issuer}{path}` with a form body and HTTP Basic credentials.
    #[must_use]
    pub fn post_basic(&self, path: &str, client: &str, secret: &str, body: &str) -> Reply {
        self.send(
            self.http
                .post(self.url(path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Authorization", basic(client, secret))
                .body(body.to_string()),
        )
    }

    /// `POST /token` with Basic credentials.
    #[must_use]
    pub fn token(&self, client: &str, secret: &str, body: &str) -> Reply {
        self.post_basic("/token", client, secret, body)
    }

    /// A fresh browser.
    #[must_use]
    pub fn browser(&self) -> Browser<'_> {
        Browser {
            server: self,
            cookies: HashMap::new(),
        }
    }

    /// alice authorizes `client` for `scope` through the pages (login, consent) and the code
    /// comes back.
    #[must_use]
    pub fn code(&self, client: &str, redirect: &str, scope: &str, pkce: bool) -> String {
        let mut query = format!(
            "response_type=code&client_id={}&redirect_uri={}&scope={}&state=st&nonce=n-0S6",
            enc(client),
            enc(redirect),
            enc(scope)
        );
        if pkce {
            query.push_str(&format!(
                "&code_challenge={CHALLENGE}&code_challenge_method=S256"
            ));
        }
        let r = self.browser().flow(&query, "alice", ALICE_PASSWORD);
        r.get("code")
            .unwrap_or_else(|| panic!("no code in {}", r.location))
            .to_string()
    }

    /// C1 gets tokens for `scope` through the code flow.
    #[must_use]
    pub fn c1_tokens(&self, scope: &str) -> Reply {
        let code = self.code("C1", C1_REDIRECT, scope, true);
        self.token(
            "C1",
            C1_SECRET,
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
                enc(C1_REDIRECT)
            ),
        )
    }

    /// P1 (public) gets tokens for `scope` through the code flow.
    #[must_use]
    pub fn p1_tokens(&self, scope: &str) -> Reply {
        let code = self.code("P1", P1_REDIRECT, scope, true);
        self.post(
            "/token",
            &format!(
                "grant_type=authorization_code&client_id=P1&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
                enc(P1_REDIRECT)
            ),
        )
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        match self.stop.take() {
            Some(Stop::Hyper(tx)) => {
                let _ = tx.send(());
            }
            Some(Stop::Actix(handle)) => {
                pollster::block_on(handle.stop(false));
            }
            None => {}
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The path part of an issuer URL.
fn tollgate_hyper_path(issuer: &str) -> String {
    let rest = issuer.split_once("://").map_or(issuer, |(_, r)| r);
    rest.find('/')
        .map_or(String::new(), |i| rest[i..].to_string())
}

/// A response, read whole.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The status.
    pub status: u16,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body.
    pub body: String,
    /// The body as JSON (`Null` when it is not).
    pub json: Value,
}

impl From<reqwest::blocking::Response> for Reply {
    fn from(r: reqwest::blocking::Response) -> Reply {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.text().unwrap_or_default();
        let json = serde_json::from_str(&body).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            json,
        }
    }
}

impl Reply {
    /// The first value of header `name`.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of header `name`.
    #[must_use]
    pub fn headers_all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    /// The `error` member.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.json.get("error").and_then(Value::as_str)
    }

    /// A string member of the JSON body.
    #[must_use]
    pub fn str(&self, name: &str) -> Option<&str> {
        self.json.get(name).and_then(Value::as_str)
    }

    /// `access_token`, which must be present.
    #[must_use]
    pub fn access_token(&self) -> String {
        self.str("access_token")
            .unwrap_or_else(|| panic!("no access_token in {}", self.body))
            .to_string()
    }

    /// `refresh_token`, which must be present.
    #[must_use]
    pub fn refresh_token(&self) -> String {
        self.str("refresh_token")
            .unwrap_or_else(|| panic!("no refresh_token in {}", self.body))
            .to_string()
    }

    /// Asserts a 200 and returns self.
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.status, 200, "expected 200: {}", self.body);
        self
    }

    /// Asserts a JSON error with `status` and `error`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, error: &str) {
        assert_eq!(
            (self.status, self.error()),
            (status, Some(error)),
            "body: {}",
            self.body
        );
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "JSON content type"
        );
    }

    /// The value of hidden input `name` in an HTML body.
    #[must_use]
    pub fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].to_string())
    }

    /// The `Location` header parsed as a redirect.
    #[track_caller]
    #[must_use]
    pub fn redirect(&self) -> Redirect {
        Redirect::parse(
            self.header("location")
                .unwrap_or_else(|| panic!("no Location ({}): {}", self.status, self.body)),
        )
    }
}

/// A parsed redirect target.
#[derive(Debug, Clone)]
pub struct Redirect {
    /// The raw `Location`.
    pub location: String,
    /// Without its query.
    pub base: String,
    /// Decoded query parameters, in order.
    pub params: Vec<(String, String)>,
}

impl Redirect {
    /// Parses a URL.
    #[must_use]
    pub fn parse(location: &str) -> Redirect {
        let (base, query) = location.split_once('?').unwrap_or((location, ""));
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
            location: location.to_string(),
            base: base.to_string(),
            params,
        }
    }

    /// A parameter.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A cookie-keeping client that, like a person, reads each page and submits its form.
pub struct Browser<'a> {
    server: &'a Site,
    cookies: HashMap<String, String>,
}

impl Browser<'_> {
    fn remember(&mut self, reply: &Reply) {
        for c in reply.headers_all("set-cookie") {
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((n, v)) = pair.split_once('=') {
                self.cookies
                    .insert(n.trim().to_string(), v.trim().to_string());
            }
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The cookies the browser holds.
    #[must_use]
    pub fn cookies(&self) -> &HashMap<String, String> {
        &self.cookies
    }

    /// Replaces or removes a cookie.
    pub fn set_cookie(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(v) => self.cookies.insert(name.to_string(), v.to_string()),
            None => self.cookies.remove(name),
        };
    }

    /// `GET url` (absolute, or a path under the origin).
    pub fn get(&mut self, url: &str) -> Reply {
        let url = self.absolute(url);
        let reply = self.server.send(
            self.server
                .http()
                .get(url)
                .header("Cookie", self.cookie_header()),
        );
        self.remember(&reply);
        reply
    }

    /// `POST url` with a form.
    pub fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Reply {
        let url = self.absolute(url);
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let reply = self.server.send(
            self.server
                .http()
                .post(url)
                .header("Cookie", self.cookie_header())
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body),
        );
        self.remember(&reply);
        reply
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with("http://") || url.starts_with("https://") {
            url.to_string()
        } else {
            format!("{}{url}", self.server.origin)
        }
    }

    /// `GET /authorize?{query}`.
    pub fn authorize(&mut self, query: &str) -> Reply {
        let url = self.server.url(&format!("/authorize?{query}"));
        self.get(&url)
    }

    /// Submits the sign-in form on `page`.
    pub fn login(&mut self, page: &Reply, user: &str, password: &str) -> Reply {
        let (i, c) = (
            page.hidden("interaction").expect("interaction field"),
            page.hidden("csrf").expect("csrf field"),
        );
        let url = self.server.url("/login");
        self.post(
            &url,
            &[
                ("interaction", &i),
                ("csrf", &c),
                ("username", user),
                ("password", password),
            ],
        )
    }

    /// Clicks Allow or Deny on the consent `page`.
    pub fn consent(&mut self, page: &Reply, allow: bool) -> Reply {
        let (i, c) = (
            page.hidden("interaction").expect("interaction field"),
            page.hidden("csrf").expect("csrf field"),
        );
        let url = self.server.url("/consent");
        let decision = if allow { "allow" } else { "deny" };
        self.post(
            &url,
            &[("interaction", &i), ("csrf", &c), ("decision", decision)],
        )
    }

    /// Goes from `/authorize?{query}` through whatever pages appear (signing in as `user`,
    /// allowing consent) to the redirect that leaves the server.
    #[track_caller]
    pub fn flow(&mut self, query: &str, user: &str, password: &str) -> Redirect {
        let first = self.authorize(query);
        self.follow(first, user, password)
    }

    /// From the reply to an authorization request, through the pages, to the redirect that
    /// leaves the server.
    #[track_caller]
    pub fn follow(&mut self, first: Reply, user: &str, password: &str) -> Redirect {
        let mut reply = first;
        for _ in 0..6 {
            if reply.status == 303 {
                let location = reply.header("location").expect("location").to_string();
                // The server's own pages are relative; the client's redirect URI is not.
                if location.starts_with('/') || location.starts_with(&self.server.url("/consent")) {
                    reply = self.get(&location);
                    continue;
                }
                return Redirect::parse(&location);
            }
            assert_eq!(reply.status, 200, "unexpected page: {}", reply.body);
            reply = if reply.body.contains("name=\"password\"") {
                self.login(&reply, user, password)
            } else if reply.body.contains("name=\"decision\"") {
                self.consent(&reply, true)
            } else {
                panic!("unexpected page: {}", reply.body)
            };
        }
        panic!("the flow did not finish")
    }
}

/// The claims of a JWT, unverified.
#[must_use]
pub fn jwt_claims(jwt: &str) -> Value {
    let part = |i: usize| {
        jwt.split('.')
            .nth(i)
            .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null)
    };
    part(1)
}

/// The JOSE header of a JWT.
#[must_use]
pub fn jwt_header(jwt: &str) -> Value {
    jwt.split('.')
        .next()
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

/// Instantiates each named `fn(Adapter)` as a `#[test]` on both adapters:
/// `hyper::name` and `actix::name`.
#[macro_export]
macro_rules! on_both_adapters {
    ($($name:ident),* $(,)?) => {
        mod hyper {
            $( #[test] fn $name() { super::$name($crate::Adapter::Hyper) } )*
        }
        mod actix {
            $( #[test] fn $name() { super::$name($crate::Adapter::Actix) } )*
        }
    };
}
