//! A real browser through the sign-in and consent pages: headless Chromium, driven over
//! WebDriver (`chromedriver`) with `fantoccini`, types alice's password, clicks Allow, and
//! arrives at the client's redirect URI with a code, which the test then exchanges at the
//! token endpoint. Run against the server on both adapters.
//!
//! Needs `chromium` and `chromedriver` on `PATH` (Debian packages `chromium` and
//! `chromium-driver`; `.ci/run` installs them). Without them the test says so and passes,
//! except under `CI=true`, where it fails.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};
use tollgate_http_tests::*;

/// `chromedriver` on a free port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
    profile: std::path::PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn find(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

fn start_driver() -> Option<Driver> {
    let (Some(driver), Some(_)) = (find("chromedriver"), find("chromium")) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must run the browser test: install chromium and chromium-driver"
        );
        eprintln!("browser test skipped: chromium or chromedriver is not installed");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new(driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = std::env::temp_dir().join(format!("tollgate-chromium-{port}"));
    let driver = Driver {
        child,
        port,
        profile,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(driver)
}

async fn wait_for_url(
    client: &fantoccini::Client,
    what: &str,
    ready: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let url = client.current_url().await.expect("current URL").to_string();
        if ready(&url) {
            return url;
        }
        assert!(Instant::now() < deadline, "waiting for {what}; at {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn save(name: &str, png: &[u8]) {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if std::fs::write(&path, png).is_ok() {
        eprintln!("screenshot: {}", path.display());
    }
}

async fn sign_in_and_consent(s: &TestServer, driver: &Driver) {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": find("chromium").expect("chromium"),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=800,900",
                format!("--user-data-dir={}", driver.profile.display()),
            ]
        }),
    );
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session");

    let callback = s.url("/demo/callback");
    let authorize = s.url(&format!(
        "/authorize?response_type=code&client_id=C1&redirect_uri={}&scope={}&state=browser-state\
         &nonce=n-1&code_challenge={CHALLENGE}&code_challenge_method=S256",
        enc(&callback),
        enc("openid profile email offline_access"),
    ));
    client.goto(&authorize).await.expect("open /authorize");

    // The sign-in page.
    let title = client.title().await.expect("title");
    assert!(title.starts_with("Sign in"), "{title}");
    save(
        &format!("{:?}-login.png", s.adapter),
        &client.screenshot().await.expect("screenshot"),
    );
    client
        .find(Locator::Id("username"))
        .await
        .expect("username field")
        .send_keys("alice")
        .await
        .expect("type the username");
    client
        .find(Locator::Id("password"))
        .await
        .expect("password field")
        .send_keys(ALICE_PASSWORD)
        .await
        .expect("type the password");
    client
        .find(Locator::Id("sign-in"))
        .await
        .expect("sign-in button")
        .click()
        .await
        .expect("submit");

    // The consent page, reached by a 303 after the POST.
    wait_for_url(&client, "the consent page", |u| {
        u.contains("/consent?interaction=")
    })
    .await;
    let text = client.source().await.expect("page source");
    assert!(text.contains("Allow access?"));
    assert!(text.contains("Client One"));
    assert!(text.contains("See your email address"));
    assert!(text.contains("Keep access while you are away"));
    save(
        &format!("{:?}-consent.png", s.adapter),
        &client.screenshot().await.expect("screenshot"),
    );
    let cookies = client.get_all_cookies().await.expect("cookies");
    let session = cookies
        .iter()
        .find(|c| c.name() == "tollgate_session")
        .expect("a session cookie");
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(
        session.same_site().map(|s| s.to_string()).as_deref(),
        Some("Lax")
    );
    client
        .find(Locator::Id("allow"))
        .await
        .expect("Allow button")
        .click()
        .await
        .expect("allow");

    // Back at the client with a code.
    let landed = wait_for_url(&client, "the client's redirect URI", |u| {
        u.starts_with(&callback)
    })
    .await;
    client.close().await.expect("close the session");
    let back = Redirect::parse(&landed);
    assert_eq!(back.get("state"), Some("browser-state"));
    assert_eq!(back.get("iss"), Some(s.issuer.as_str()));
    let code = back.get("code").expect("a code").to_string();

    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc(&callback)
    );
    let server = s;
    let tokens = tokio::task::block_in_place(|| server.token("C1", C1_SECRET, &body)).ok();
    assert!(tokens.str("id_token").is_some() && tokens.str("refresh_token").is_some());
    assert_eq!(
        jwt_claims(tokens.str("id_token").unwrap_or_default())["sub"],
        "alice"
    );
}

fn browser_signs_in_consents_and_the_code_is_exchanged(a: Adapter) {
    let Some(driver) = start_driver() else {
        return;
    };
    let s = TestServer::start(a);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(sign_in_and_consent(&s, &driver));
}

tollgate_http_tests::on_both_adapters!(browser_signs_in_consents_and_the_code_is_exchanged);
