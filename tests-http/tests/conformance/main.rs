//! The conformance suite over real TCP: every checklist id an HTTP client can observe at
//! `/authorize`, `/token` (code, refresh, client credentials, password, JWT client
//! authentication), `/revoke`, `/introspect`, `/userinfo`, discovery and the JWKS — each test
//! run against the server on the hyper adapter (`…::hyper::…`) and on the actix-web adapter
//! (`…::actix::…`). Test names start with the checklist id they show.

mod authorize;
mod http;
mod metadata;
mod refresh;
mod revoke_introspect;
mod token;

use tollgate_http_tests::{Reply, TestServer};

/// `error` and `error_description` stay in `%x20-21 / %x23-5B / %x5D-7E` (GEN-07).
#[track_caller]
pub fn assert_error_charset(r: &Reply) {
    let ok = |s: &str| {
        s.bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
    };
    if let Some(e) = r.error() {
        assert!(ok(e), "error {e:?}");
    }
    if let Some(d) = r.str("error_description") {
        assert!(ok(d), "error_description {d:?}");
    }
}

/// Whether access token `at` is active, as introspection by C1 reports it.
#[must_use]
pub fn active(s: &TestServer, at: &str) -> bool {
    let r = s.post_basic(
        "/introspect",
        "C1",
        tollgate_http_tests::C1_SECRET,
        &format!("token={}", tollgate_http_tests::enc(at)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json["active"] == serde_json::Value::Bool(true)
}
