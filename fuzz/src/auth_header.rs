//! The `authorization_header` target: the `Authorization` header as the token endpoint
//! reads it (HTTP Basic client credentials, RFC 6749 §2.3.1) and as the UserInfo endpoint
//! reads it (a `Bearer` token, RFC 6750 §2.1), through the core's public API:
//! [`Credentials::extract`] and [`authenticate`] for Basic,
//! [`Server::userinfo`](tollgate::Server::userinfo) against a fixture store for Bearer.
//!
//! # Input format
//!
//! Split at the first two `\n`: `authorization \n body \n meta`.
//!
//! * `authorization` — the header value (non-UTF-8 bytes replaced, as a lossy adapter
//!   would); empty means no header;
//! * `body` — a form body (`client_id`, `client_secret`, `access_token`, …); a `POST` with
//!   a form `Content-Type` when non-empty, else a `GET`;
//! * `meta` — switches: `a` sends the header twice, `G` forces `GET`, `P` forces `POST`,
//!   `O` another method, `n` drops `Content-Type`.
//!
//! # What must hold
//!
//! Client authentication:
//! * a header sent once, when accepted, gives `Basic` credentials (never another kind);
//!   re-encoding them (`Basic base64(urlencode(id) ":" urlencode(secret))`) and reading
//!   them again gives the same credentials;
//! * a refusal is `invalid_request` (400) or `invalid_client`, with a `Basic` challenge
//!   when it is a 401;
//! * [`authenticate`] accepts Basic credentials only when they are exactly the `conf`
//!   client's id and secret (the only `client_secret_basic` client), and always accepts
//!   those.
//!
//! UserInfo:
//! * the status is 200, 400, 401, 403 or 405; the body a JSON object; a 401 carries a
//!   `Bearer` challenge and a 405 an `Allow`;
//! * 200 only for an active access token of the fixture presented exactly one way, and
//!   then always; its body names `alice`.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use tollgate::claims::NoClaims;
use tollgate::client_auth::{authenticate, Credentials};
use tollgate::form::{FormLimits, Params};
use tollgate::{ErrorCode, MemoryStore, Method, Request, Response};

use crate::{exclusive, must_apply, shared, template, CONF_ID, CONF_SECRET, START};

/// Access tokens of the fixture that UserInfo accepts (families 1, 2, 3, 5 and 6).
pub const ACTIVE_ACCESS: [&str; 5] = [
    "tga_fuzzAccess1",
    "tga_fuzzAccess2",
    "tga_fuzzAccess3",
    "tga_fuzzAccess5",
    "tga_fuzzAccess6",
];
/// The access token of the revoked family 4: never accepted.
pub const REVOKED_ACCESS: &str = "tga_fuzzAccess4";

/// The fixture store, read-only here (UserInfo only loads), built once per process.
fn store() -> &'static MemoryStore {
    static STORE: OnceLock<MemoryStore> = OnceLock::new();
    STORE.get_or_init(|| {
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
        store
    })
}

/// An input split into its parts.
#[derive(Clone, Copy, Debug)]
struct Parts<'a> {
    authorization: Option<&'a [u8]>,
    body: &'a [u8],
    meta: &'a [u8],
}

impl<'a> Parts<'a> {
    fn split(data: &'a [u8]) -> Self {
        let mut parts = data.splitn(3, |&b| b == b'\n');
        Parts {
            authorization: parts.next().filter(|a| !a.is_empty()),
            body: parts.next().unwrap_or_default(),
            meta: parts.next().unwrap_or_default(),
        }
    }

    fn has(&self, switch: u8) -> bool {
        self.meta.contains(&switch)
    }

    fn request(&self) -> Request {
        let method = if self.has(b'O') {
            Method::Other
        } else if self.has(b'G') {
            Method::Get
        } else if self.has(b'P') || !self.body.is_empty() {
            Method::Post
        } else {
            Method::Get
        };
        let mut headers = Vec::new();
        if method == Method::Post && !self.has(b'n') {
            headers.push((
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            ));
        }
        if let Some(a) = self.authorization {
            let value = String::from_utf8_lossy(a).into_owned();
            if self.has(b'a') {
                headers.push(("authorization".to_string(), value.clone()));
            }
            headers.push(("Authorization".to_string(), value));
        }
        Request {
            method,
            headers,
            query: String::new(),
            body: self.body.to_vec(),
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of one component: everything but the
/// RFC 3986 unreserved characters percent-encoded.
fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `Basic` credentials for `id` and `secret` as RFC 6749 §2.3.1 writes them.
#[must_use]
pub fn basic(id: &str, secret: &str) -> String {
    let pair = format!("{}:{}", urlencode(id), urlencode(secret));
    format!("Basic {}", STANDARD.encode(pair))
}

/// The client-authentication half.
fn client_auth(parts: &Parts<'_>, request: &Request) {
    let server = &shared().server;
    let realm = server.config().basic_realm.as_str();
    let limits = FormLimits::default();
    let mut params = Params::parse(parts.body, limits).unwrap_or_default();
    let query = Params::default();
    let header_once = parts.authorization.is_some() && !parts.has(b'a');
    match Credentials::extract(request, &mut params, &query, realm) {
        Err(e) => {
            assert!(
                matches!(
                    e.code(),
                    ErrorCode::InvalidRequest | ErrorCode::InvalidClient
                ),
                "unexpected refusal {e}"
            );
            let r = e.to_response();
            match r.status {
                400 => {}
                401 => {
                    assert_eq!(e.code(), ErrorCode::InvalidClient);
                    let challenge = r.header("www-authenticate").expect("401 with a challenge");
                    assert!(challenge.starts_with("Basic realm="), "{challenge}");
                }
                s => panic!("client authentication refused with {s}"),
            }
        }
        Ok(None) => assert!(parts.authorization.is_none(), "a header was ignored"),
        Ok(Some(creds)) => {
            if parts.authorization.is_some() {
                assert!(header_once, "a repeated header was accepted");
                let Credentials::Basic { id, secret } = &creds else {
                    panic!("a header gave {creds:?}");
                };
                // Re-encode and read again: the same credentials.
                let again = Request::form_post(Vec::new())
                    .with_header("Authorization", &basic(id.as_str(), secret.expose()));
                let back =
                    Credentials::extract(&again, &mut Params::default(), &Params::default(), realm);
                assert_eq!(back, Ok(Some(creds.clone())), "Basic does not round-trip");
            }
            let client = creds
                .client_id()
                .and_then(|id| template().clients.iter().find(|c| &c.id == id));
            let accepted = authenticate(server, &creds, client, START).is_ok();
            if let Credentials::Basic { id, secret } = &creds {
                let genuine = id.as_str() == CONF_ID && secret.expose() == CONF_SECRET;
                assert_eq!(accepted, genuine, "Basic authentication of {id:?}");
            }
        }
    }
}

/// The token a UserInfo request presents, read independently of the core: the header's
/// `Bearer` token (scheme case-insensitive, the token trimmed) and, for a form `POST`,
/// `access_token`. `Err` when the request must be refused before any lookup.
fn presented_token(parts: &Parts<'_>, request: &Request) -> Result<Option<String>, ()> {
    if parts.authorization.is_some() && parts.has(b'a') {
        return Err(());
    }
    let header = match request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
    {
        None => None,
        Some((_, v)) => {
            let v = v.trim();
            let (scheme, token) = v.split_once(' ').ok_or(())?;
            if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
                return Err(());
            }
            Some(token.trim().to_string())
        }
    };
    let body = if request.method == Method::Post && !parts.has(b'n') {
        Params::parse(parts.body, FormLimits::default())
            .map_err(|_| ())?
            .take("access_token")
    } else {
        None
    };
    match (header, body) {
        (Some(_), Some(_)) => Err(()),
        (h, b) => Ok(h.or(b)),
    }
}

/// Checks a UserInfo response's form.
fn check_userinfo_response(r: &Response) {
    assert!(
        [200, 400, 401, 403, 405].contains(&r.status),
        "unexpected UserInfo status {}",
        r.status
    );
    let body: serde_json::Value = match serde_json::from_slice(&r.body) {
        Ok(v) => v,
        Err(e) => panic!(
            "body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&r.body)
        ),
    };
    assert!(body.is_object(), "the body is a JSON object: {body}");
    if r.status == 200 {
        assert_eq!(body.get("sub").and_then(|s| s.as_str()), Some("alice"));
    }
    if r.status == 401 {
        let challenge = r.header("www-authenticate").expect("401 with a challenge");
        assert!(challenge.starts_with("Bearer"), "{challenge}");
    }
    if r.status == 405 {
        assert!(r.header("allow").is_some(), "405 without Allow");
    }
}

/// The Bearer half.
fn userinfo(parts: &Parts<'_>, request: &Request) {
    let _exclusive = exclusive();
    let sh = shared();
    sh.clock.set(START);
    let r = sh.server.userinfo(request, store(), &NoClaims);
    check_userinfo_response(&r);
    let presented = presented_token(parts, request);
    let good_method = matches!(request.method, Method::Get | Method::Post);
    let active = matches!(&presented, Ok(Some(t)) if ACTIVE_ACCESS.contains(&t.as_str()));
    if r.status == 200 {
        assert!(active && good_method, "UserInfo accepted {presented:?}");
    } else if active && good_method {
        panic!(
            "UserInfo refused the active token {presented:?} with {}",
            r.status
        );
    }
}

/// The `authorization_header` target (see the [module docs](self)).
///
/// # Panics
/// When a property above fails.
pub fn authorization_header(data: &[u8]) {
    let parts = Parts::split(data);
    let request = parts.request();
    client_auth(&parts, &request);
    userinfo(&parts, &request);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CONF_BASIC;

    fn userinfo_status(data: &str) -> u16 {
        let parts = Parts::split(data.as_bytes());
        let request = parts.request();
        let _exclusive = exclusive();
        shared().clock.set(START);
        let r = shared().server.userinfo(&request, store(), &NoClaims);
        check_userinfo_response(&r);
        r.status
    }

    #[test]
    fn the_fixture_reaches_every_path() {
        assert_eq!(basic(CONF_ID, CONF_SECRET), CONF_BASIC);
        for t in ACTIVE_ACCESS {
            assert_eq!(userinfo_status(&format!("Bearer {t}")), 200, "{t}");
            assert_eq!(userinfo_status(&format!("\naccess_token={t}")), 200, "{t}");
        }
        assert_eq!(userinfo_status(&format!("Bearer {REVOKED_ACCESS}")), 401);
        assert_eq!(userinfo_status("Bearer tga_unknown"), 401);
        assert_eq!(userinfo_status(""), 401);
        assert_eq!(userinfo_status(CONF_BASIC), 401);
        assert_eq!(
            userinfo_status("Bearer tga_fuzzAccess1\naccess_token=tga_fuzzAccess1"),
            400
        );
        assert_eq!(userinfo_status("Bearer tga_fuzzAccess1\n\na"), 400);
        assert_eq!(userinfo_status("Bearer tga_fuzzAccess1\n\nO"), 405);
    }

    #[test]
    fn every_seed_is_handled() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/authorization_header");
        for entry in std::fs::read_dir(dir).expect("seed dir") {
            let data = std::fs::read(entry.expect("entry").path()).expect("seed");
            authorization_header(&data);
        }
    }
}
