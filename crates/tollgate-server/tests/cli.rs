//! The `tollgate-server` binary as an operator runs it: a bad configuration stops the start
//! with the field named and a non-zero exit; the signing key is generated on first start
//! (mode 0600) and reloaded on the next; one log line per request, never a secret; SIGTERM
//! and SIGINT shut it down gracefully; `hash-password` makes hashes the config accepts.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tollgate-server");
const SVC_SECRET: &str = "svc-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const PW_SECRET: &str = "pw-secret-0123456789abcdefghijklmnopqrstuvwxyz";
const PASSWORD: &str = "correct horse battery staple";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn hash(password: &str) -> String {
    let mut child = Command::new(BIN)
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run hash-password");
    writeln!(child.stdin.take().expect("stdin"), "{password}").expect("write");
    let out = child.wait_with_output().expect("hash-password output");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

fn config(dir: &Path, password_hash: &str) -> PathBuf {
    let text = format!(
        r#"issuer = "http://127.0.0.1:8080"
listen = "127.0.0.1:0"
data_dir = "data"

[[clients]]
id = "svc"
type = "confidential"
kind = "service"
auth_method = "client_secret_basic"
secret = "{SVC_SECRET}"
grant_types = ["client_credentials"]
scopes = "api:read"
default_scopes = "api:read"

[[clients]]
id = "pw"
type = "confidential"
kind = "web"
auth_method = "client_secret_post"
secret = "{PW_SECRET}"
grant_types = ["password", "refresh_token"]
scopes = "openid offline_access"

[[users]]
username = "carol"
password_hash = "{password_hash}"
"#
    );
    let path = dir.join("tollgate.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

/// A running server: its address, and its stderr collected when it exits.
struct Running {
    child: Child,
    addr: String,
    banner: String,
}

fn start(config: &Path) -> Running {
    start_with(Command::new(BIN), config)
}

/// Starts the server through `command` (the binary, or a wrapper that runs it).
fn start_with(mut command: Command, config: &Path) -> Running {
    let mut child = command
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the server");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut banner = String::new();
    let first = lines.next().expect("a banner").expect("utf-8");
    let addr = first
        .strip_prefix("Tollgate is listening on ")
        .unwrap_or_else(|| panic!("banner: {first}"))
        .to_string();
    banner.push_str(&first);
    // The rest of the banner ends with the signing key (a configuration file's banner has
    // no demo part); read all of it, so the server never writes to a closed pipe.
    for line in lines.by_ref() {
        let line = line.expect("utf-8");
        banner.push('\n');
        banner.push_str(&line);
        if line.trim_start().starts_with("signing key") {
            break;
        }
    }
    Running {
        child,
        addr,
        banner,
    }
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends `signal`, waits for the exit, returns (success, stderr).
    fn stop(mut self, signal: &str) -> (bool, String) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                break s;
            }
            assert!(Instant::now() < deadline, "the server did not stop");
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        (status.success(), err)
    }
}

/// carol's password grant through the `pw` client, with `offline_access`.
const PASSWORD_GRANT: &[(&str, &str)] = &[
    ("grant_type", "password"),
    ("client_id", "pw"),
    ("client_secret", PW_SECRET),
    ("username", "carol"),
    ("password", PASSWORD),
    ("scope", "openid offline_access"),
];

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

fn kid(server: &Running) -> String {
    let jwks: serde_json::Value = http()
        .get(server.url("/jwks"))
        .send()
        .expect("jwks")
        .json()
        .expect("json");
    jwks["keys"][0]["kid"].as_str().expect("kid").to_string()
}

/// On one CPU the server runs a current-thread runtime: tokens are issued (the password grant
/// hashes on the blocking pool), and SIGTERM still stops it gracefully.
#[test]
fn on_one_cpu_the_server_serves_and_stops_on_a_current_thread_runtime() {
    if Command::new("taskset").arg("--version").output().is_err() {
        eprintln!("skipped: no taskset on this machine");
        return;
    }
    let dir = temp_dir("one-cpu");
    let path = config(&dir, &hash(PASSWORD));
    let mut pinned = Command::new("taskset");
    pinned.args(["-c", "0", BIN]);
    let server = start_with(pinned, &path);
    let http = http();
    let pw = http
        .post(server.url("/token"))
        .form(PASSWORD_GRANT)
        .send()
        .expect("token");
    assert_eq!(pw.status(), 200);
    let cc = http
        .post(server.url("/token"))
        .basic_auth("svc", Some(SVC_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .expect("token");
    assert_eq!(cc.status(), 200);
    let (stopped, log) = server.stop("TERM");
    assert!(stopped, "{log}");
    assert!(log.contains("workers=1"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_configuration_names_the_field_and_exits_non_zero() {
    let dir = temp_dir("bad");
    let good = std::fs::read_to_string(config(&dir, &hash("x"))).expect("read");
    for (patch, field) in [
        ("code_ttl = 601\n", "code_ttl"),
        ("colour = \"red\"\n", "colour"),
        ("store = \"mysql://db\"\n", "store"),
        ("store = \"sqlite::memory:\"\n", "store"),
        ("store = \"postgres://db:port/x\"\n", "store"),
        ("cors_origins = [\"app.test\"]\n", "cors_origins[0]"),
    ] {
        let path = dir.join("bad.toml");
        std::fs::write(&path, format!("{patch}{good}")).expect("write");
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&path)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{patch}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(field), "{patch}: {err}");
    }
    let text = std::fs::read_to_string(dir.join("tollgate.toml"))
        .expect("read")
        .replace(
            "scopes = \"api:read\"\ndefault_scopes",
            "scopes = \"api:read\"\nredirect_uris = [\"/cb#x\"]\ndefault_scopes",
        );
    std::fs::write(dir.join("bad.toml"), text).expect("write");
    let out = Command::new(BIN)
        .args(["--config", dir.join("bad.toml").to_str().expect("path")])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("clients[svc].redirect_uris[0]"));
    let out = Command::new(BIN).arg("--bogus").output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn keys_persist_logs_hold_no_secrets_and_signals_stop_gracefully() {
    let dir = temp_dir("run");
    let path = config(&dir, &hash(PASSWORD));

    let first = start(&path);
    assert!(first.banner.contains("generated"), "{}", first.banner);
    assert!(
        first.banner.contains("store           memory"),
        "{}",
        first.banner
    );
    let key_file = dir.join("data").join("signing-key-es256.pem");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let kid1 = kid(&first);

    // Traffic whose secrets must never reach the log.
    let http = http();
    let cc: serde_json::Value = http
        .post(first.url("/token"))
        .basic_auth("svc", Some(SVC_SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .expect("token")
        .json()
        .expect("json");
    let access = cc["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    let pw: serde_json::Value = http
        .post(first.url("/token"))
        .form(PASSWORD_GRANT)
        .send()
        .expect("token")
        .json()
        .expect("json");
    let refresh = pw["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_string();
    let userinfo = http
        .get(first.url("/userinfo"))
        .bearer_auth(pw["access_token"].as_str().expect("access token"))
        .send()
        .expect("userinfo");
    assert_eq!(userinfo.status(), 200);

    let (ok, log) = first.stop("TERM");
    assert!(ok, "SIGTERM is a clean exit: {log}");
    assert!(log.contains("shutting down"), "{log}");
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("tollgate::http"))
        .collect();
    assert!(lines.len() >= 4, "one line per request: {log}");
    assert!(lines.iter().any(|l| l.contains("path=\"/token\"")
        && l.contains("status=200")
        && l.contains("client_id=\"svc\"")
        && l.contains("grant_type=\"client_credentials\"")
        && l.contains("latency_ms=")));
    assert!(lines
        .iter()
        .any(|l| l.contains("client_id=\"pw\"") && l.contains("grant_type=\"password\"")));
    for secret in [
        SVC_SECRET, PW_SECRET, PASSWORD, "correct", &access, &refresh,
    ] {
        assert!(!log.contains(secret), "the log leaks {secret}");
    }

    // The second start reloads the same key; SIGINT stops it too.
    let second = start(&path);
    assert!(second.banner.contains("loaded from"), "{}", second.banner);
    assert_eq!(kid(&second), kid1);
    let (ok, _) = second.stop("INT");
    assert!(ok, "SIGINT is a clean exit");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn help_describes_the_flags() {
    let out = Command::new(BIN).arg("--help").output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("--config") && text.contains("hash-password"));
}
