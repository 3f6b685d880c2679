//! What the adapters themselves answer, identically on hyper and actix-web: `405` with
//! `Allow`, `413` over the body limit, `404` off the mounted paths; headers and repeated
//! headers reach the core unchanged; the sign-in page's own rules (brute force, wrong
//! methods).

use tollgate_http_tests::*;

fn wrong_methods_get_405_with_allow(a: Adapter) {
    let s = TestServer::start(a);
    for (method, path, allow) in [
        (reqwest::Method::HEAD, "/jwks", "GET"),
        (reqwest::Method::POST, "/jwks", "GET"),
        (
            reqwest::Method::DELETE,
            "/.well-known/openid-configuration",
            "GET",
        ),
        (reqwest::Method::PUT, "/authorize", "GET, POST"),
        (reqwest::Method::DELETE, "/userinfo", "GET, POST"),
        (reqwest::Method::GET, "/login", "POST"),
    ] {
        let r = s.send(s.http().request(method.clone(), s.url(path)));
        assert_eq!(r.status, 405, "{method} {path}");
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
    }
}

/// Writes `head` and `body` on a raw connection and returns the response's status line.
/// The test writes no more than the server needs to decide, so the answer is never lost to
/// a reset of unread bytes.
fn raw_status(s: &TestServer, head: &str, body: &[u8]) -> String {
    use std::io::{Read as _, Write as _};
    let addr = s.origin.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    conn.write_all(head.as_bytes()).expect("write head");
    conn.write_all(body).expect("write body");
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while !got.windows(2).any(|w| w == b"\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn bodies_over_the_limit_get_413(a: Adapter) {
    let s = TestServer::start(a);
    let path = s.url("/token");
    let path = path.trim_start_matches(&s.origin);
    let auth = basic("SVC", SVC_SECRET);
    // A declared length over the limit is refused before any of the body is read.
    let declared = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20480\r\n\r\n"
    );
    assert!(raw_status(&s, &declared, b"").contains(" 413 "));
    // Chunked, without a length: cut off once the limit is passed.
    let chunked = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n",
        16 * 1024 + 1
    );
    let mut body = b"grant_type=client_credentials&pad=".to_vec();
    body.resize(16 * 1024 + 1, b'x');
    body.extend_from_slice(b"\r\n");
    assert!(raw_status(&s, &chunked, &body).contains(" 413 "));
    // Just under the limit reaches the core.
    let fits = format!("grant_type=client_credentials&pad={}", "x".repeat(1024));
    s.token("SVC", SVC_SECRET, &fits).ok();
}

fn unknown_paths_get_404(a: Adapter) {
    let s = TestServer::start(a);
    for path in ["/nope", "/token/", "/.well-known/nope"] {
        assert_eq!(s.get(path).status, 404, "{path}");
    }
}

fn repeated_authorization_headers_reach_the_core(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.send(
        s.http()
            .post(s.url("/token"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Authorization", basic("SVC", SVC_SECRET))
            .header("Authorization", basic("C1", C1_SECRET))
            .body("grant_type=client_credentials"),
    );
    assert_ne!(r.status, 200, "{}", r.body);
    assert!(matches!(
        r.error(),
        Some("invalid_request" | "invalid_client")
    ));
}

fn login_page_locks_out_after_repeated_failures(a: Adapter) {
    let s = TestServer::start(a);
    let mut b = s.browser();
    let mut page = b.authorize(&format!(
        "response_type=code&client_id=C1&redirect_uri={}&scope=openid&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
        enc(C1_REDIRECT)
    ));
    for _ in 0..3 {
        page = b.login(&page, "alice", "wrong");
        assert_eq!(page.status, 200);
        assert!(page.body.contains("incorrect"), "{}", page.body);
        assert!(
            page.body.contains("value=\"alice\""),
            "the username is kept"
        );
    }
    let locked = b.login(&page, "alice", ALICE_PASSWORD);
    assert!(
        locked.body.contains("Too many failed attempts"),
        "{}",
        locked.body
    );
    assert!(!b.cookies().contains_key("tollgate_session"));
    s.advance(301);
    let ok = b.login(&page, "alice", ALICE_PASSWORD);
    assert_eq!(ok.status, 303, "{}", ok.body);
}

fn the_demo_callback_shows_what_arrived(a: Adapter) {
    let s = TestServer::start(a);
    let r = s.browser().flow(
        &format!(
            "response_type=code&client_id=C1&redirect_uri={}&scope=openid&state=s&code_challenge={CHALLENGE}&code_challenge_method=S256",
            enc(&s.url("/demo/callback"))
        ),
        "alice",
        ALICE_PASSWORD,
    );
    let page = s.browser().get(&r.location);
    assert_eq!(page.status, 200);
    assert!(page.body.contains(r.get("code").expect("code")));
}

tollgate_http_tests::on_both_adapters!(
    wrong_methods_get_405_with_allow,
    bodies_over_the_limit_get_413,
    unknown_paths_get_404,
    repeated_authorization_headers_reach_the_core,
    login_page_locks_out_after_repeated_failures,
    the_demo_callback_shows_what_arrived,
);
