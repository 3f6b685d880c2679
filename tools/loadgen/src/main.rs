//! `loadgen`: a bounded load generator for an OAuth 2.0 token endpoint on **loopback only**.
//!
//! It starts nothing: point it at a running server (`tools/bench.sh` and `tools/soak.sh`
//! start them). Every run is bounded by `--requests` and `--seconds`, whichever comes first,
//! and a target that is not a loopback address (127.0.0.0/8, `::1`, `localhost`) is refused.
//!
//! ```text
//! loadgen --target http://127.0.0.1:8080 --mode client_credentials \
//!         --client-id bench-service --client-secret … [--concurrency 64] [--seconds 10]
//! loadgen --target … --mode refresh --client-id bench-web --client-secret … \
//!         --username bench --password … --scope "api:read offline_access"
//! loadgen --target … --mode code --client-id bench-web --client-secret … \
//!         --username bench --password … --redirect-uri http://127.0.0.1:9/cb
//! loadgen --target … --mode mixed … --invalid-percent 1 --revoke-every 500   (the soak)
//! ```
//!
//! Modes:
//! - `client_credentials`: `POST /token` with `client_secret_basic`.
//! - `refresh`: each connection starts a chain with one password grant (or takes a token from
//!   `--refresh-tokens FILE`, one per line, for servers set up another way) and then presents
//!   the refresh token each response returns (rotation); only the refreshes are measured.
//! - `code`: each connection signs in once through `/authorize`, `/login` and `/consent`
//!   (cookies kept); then every iteration is `GET /authorize` (the session and remembered
//!   consent answer it with a redirect carrying a code) and `POST /token` exchanging that
//!   code with PKCE. Latencies are of the token exchange; throughput is exchanges per second.
//! - `mixed`: client_credentials, refresh and code-less requests interleaved, with
//!   `--invalid-percent` deliberately invalid requests (expected 400/401), and every
//!   `--revoke-every` requests per connection a revocation check: the chain's refresh token
//!   is revoked (RFC 7009), then presenting it must fail and introspecting the access token it
//!   produced must say `{"active":false}`.
//!
//! Output: one line of JSON (also written to `--json FILE`): counts by outcome, throughput,
//! p50/p90/p99/max latency in microseconds.

use std::collections::HashMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The RFC 7636 Appendix B verifier and its S256 challenge.
const PKCE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const PKCE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// Hard ceilings whatever the command line says.
const MAX_REQUESTS: u64 = 50_000_000;
const MAX_SECONDS: u64 = 3600;
const MAX_CONCURRENCY: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    ClientCredentials,
    Refresh,
    Code,
    Mixed,
}

#[derive(Clone, Debug)]
struct Args {
    target: String,
    mode: Mode,
    concurrency: usize,
    requests: u64,
    seconds: u64,
    warmup: u64,
    client_id: String,
    client_secret: String,
    service_id: String,
    service_secret: String,
    scope: Option<String>,
    username: String,
    password: String,
    redirect_uri: String,
    refresh_tokens: Option<String>,
    token_path: String,
    revoke_path: String,
    introspect_path: String,
    authorize_path: String,
    invalid_percent: f64,
    revoke_every: u64,
    label: String,
    json: Option<String>,
    server_pid: Option<u32>,
    rate: Option<f64>,
    busy_poll: bool,
}

const USAGE: &str =
    "usage: loadgen --target http://127.0.0.1:PORT --mode client_credentials|refresh|code|mixed
  --client-id ID --client-secret SECRET     the client under load (mixed: the refreshing one)
  [--service-id ID --service-secret S]      mixed: the client_credentials client
  [--scope S] [--username U --password P]   refresh/code: the user for the first grant
  [--refresh-tokens FILE]                   refresh: start chains from these tokens instead
  [--redirect-uri URI]                      code: the client's registered redirect URI
  [--concurrency N=64] [--requests N=1000000] [--seconds S=10] [--warmup S=2]
  [--token-path /token] [--revoke-path /revoke] [--introspect-path /introspect]
  [--authorize-path /authorize]
  [--invalid-percent P=0] [--revoke-every N=0]  mixed (soak)
  [--label NAME] [--json FILE]
  [--server-pid PID]                        also report the server's CPU time (from /proc)
  [--rate R]                                at most R requests per second in all (paced)
  [--busy-poll on|off]                      never sleep in epoll_wait while measuring (off)";

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        target: String::new(),
        mode: Mode::ClientCredentials,
        concurrency: 64,
        requests: 1_000_000,
        seconds: 10,
        warmup: 2,
        client_id: String::new(),
        client_secret: String::new(),
        service_id: String::new(),
        service_secret: String::new(),
        scope: None,
        username: String::new(),
        password: String::new(),
        redirect_uri: String::new(),
        refresh_tokens: None,
        token_path: "/token".into(),
        revoke_path: "/revoke".into(),
        introspect_path: "/introspect".into(),
        authorize_path: "/authorize".into(),
        invalid_percent: 0.0,
        revoke_every: 0,
        label: String::new(),
        json: None,
        server_pid: None,
        rate: None,
        busy_poll: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let num = |v: &str| {
            v.parse::<u64>()
                .map_err(|_| format!("{flag}: not a number"))
        };
        match flag.as_str() {
            "--target" => a.target = value,
            "--mode" => {
                a.mode = match value.as_str() {
                    "client_credentials" => Mode::ClientCredentials,
                    "refresh" => Mode::Refresh,
                    "code" => Mode::Code,
                    "mixed" => Mode::Mixed,
                    other => return Err(format!("unknown mode {other}")),
                }
            }
            "--concurrency" => a.concurrency = num(&value)? as usize,
            "--busy-poll" => {
                a.busy_poll = match value.as_str() {
                    "on" => true,
                    "off" => false,
                    other => return Err(format!("--busy-poll: on or off, not {other}")),
                }
            }
            "--requests" => a.requests = num(&value)?,
            "--seconds" => a.seconds = num(&value)?,
            "--warmup" => a.warmup = num(&value)?,
            "--client-id" => a.client_id = value,
            "--client-secret" => a.client_secret = value,
            "--service-id" => a.service_id = value,
            "--service-secret" => a.service_secret = value,
            "--scope" => a.scope = Some(value),
            "--username" => a.username = value,
            "--password" => a.password = value,
            "--redirect-uri" => a.redirect_uri = value,
            "--refresh-tokens" => a.refresh_tokens = Some(value),
            "--token-path" => a.token_path = value,
            "--revoke-path" => a.revoke_path = value,
            "--introspect-path" => a.introspect_path = value,
            "--authorize-path" => a.authorize_path = value,
            "--invalid-percent" => {
                a.invalid_percent = value
                    .parse()
                    .map_err(|_| "--invalid-percent: not a number".to_string())?;
            }
            "--revoke-every" => a.revoke_every = num(&value)?,
            "--label" => a.label = value,
            "--json" => a.json = Some(value),
            "--rate" => {
                let r: f64 = value.parse().map_err(|_| "--rate: requests per second")?;
                a.rate = (r > 0.0).then_some(r);
            }
            "--server-pid" => {
                a.server_pid = Some(
                    value
                        .parse()
                        .map_err(|_| "--server-pid: a pid".to_string())?,
                );
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if a.target.is_empty() || a.client_id.is_empty() {
        return Err("--target and --client-id are required".into());
    }
    if a.concurrency == 0 || a.concurrency > MAX_CONCURRENCY {
        return Err(format!("--concurrency must be 1..={MAX_CONCURRENCY}"));
    }
    if a.requests == 0 || a.requests > MAX_REQUESTS || a.seconds == 0 || a.seconds > MAX_SECONDS {
        return Err(format!(
            "--requests must be 1..={MAX_REQUESTS} and --seconds 1..={MAX_SECONDS}"
        ));
    }
    if !(0.0..=50.0).contains(&a.invalid_percent) {
        return Err("--invalid-percent must be 0..=50".into());
    }
    if a.label.is_empty() {
        a.label = format!("{:?}", a.mode);
    }
    Ok(a)
}

/// The `host:port` of an `http://` target, refused unless every address it names is loopback.
fn loopback_authority(target: &str) -> Result<String, String> {
    let rest = target
        .strip_prefix("http://")
        .ok_or("the target must be an http:// URL")?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err("the target needs a host and port".into());
    }
    let with_port = if authority.rsplit_once(':').is_some_and(|(h, p)| {
        !h.is_empty() && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())
    }) {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let host = with_port.rsplit_once(':').map_or("", |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let literal_ok = match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    };
    let addrs: Vec<_> = with_port
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {with_port}: {e}"))?
        .collect();
    if !literal_ok || addrs.is_empty() || !addrs.iter().all(|a| a.ip().is_loopback()) {
        return Err(format!(
            "refusing {target}: this tool only sends to loopback addresses (127.0.0.0/8, ::1)"
        ));
    }
    Ok(authority.to_string())
}

/// User plus system CPU time of process `pid` (all its threads) so far, in seconds, from
/// `/proc/PID/stat` (Linux; `None` elsewhere or when it cannot be read).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields of interest follow its closing ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// What one HTTP exchange returned.
struct Reply {
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
}

/// Shared per-run state.
struct Ctx {
    args: Args,
    base: String,
    authority: String,
    client: HttpClient,
    basic: String,
    service_basic: String,
    issued: AtomicU64,
    deadline: Instant,
    limit: u64,
    tokens: std::sync::Mutex<Vec<String>>,
}

impl Ctx {
    /// Takes a ticket for one more measured request; `false` once a bound is reached.
    fn ticket(&self) -> bool {
        Instant::now() < self.deadline && self.issued.fetch_add(1, Ordering::Relaxed) < self.limit
    }

    async fn send(
        &self,
        method: http::Method,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> Result<Reply, String> {
        let mut b = http::Request::builder()
            .method(method)
            .uri(format!("{}{path_and_query}", self.base))
            .header("host", &self.authority);
        if !body.is_empty() {
            b = b.header("content-type", "application/x-www-form-urlencoded");
        }
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        let request = b
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| format!("transport: {e}"))?;
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        Ok(Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    async fn token(&self, body: String, basic: &str) -> Result<Reply, String> {
        self.send(
            http::Method::POST,
            &self.args.token_path,
            &[("authorization", basic)],
            body,
        )
        .await
    }
}

fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(id), enc(secret)))
    )
}

fn json_str(body: &[u8], key: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get(key)?.as_str().map(str::to_string)
}

/// Outcome counters of one worker.
#[derive(Default)]
struct Tally {
    ok: u64,
    expected_errors: u64,
    unexpected_4xx: u64,
    status_5xx: u64,
    transport_errors: u64,
    revocation_checks: u64,
    revocation_violations: u64,
    first_error: Option<String>,
}

impl Tally {
    fn merge(&mut self, o: Tally) {
        self.ok += o.ok;
        self.expected_errors += o.expected_errors;
        self.unexpected_4xx += o.unexpected_4xx;
        self.status_5xx += o.status_5xx;
        self.transport_errors += o.transport_errors;
        self.revocation_checks += o.revocation_checks;
        self.revocation_violations += o.revocation_violations;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }

    /// Counts a reply to a request that should have succeeded.
    fn valid(&mut self, r: &Result<Reply, String>) -> bool {
        match r {
            Ok(r) if r.status == 200 => {
                self.ok += 1;
                true
            }
            Ok(r) => {
                if r.status >= 500 {
                    self.status_5xx += 1;
                } else {
                    self.unexpected_4xx += 1;
                }
                self.note(format!(
                    "status {}: {}",
                    r.status,
                    String::from_utf8_lossy(&r.body[..r.body.len().min(200)])
                ));
                false
            }
            Err(e) => {
                self.transport_errors += 1;
                self.note(e.clone());
                false
            }
        }
    }

    /// Counts a reply to a deliberately invalid request (a 4xx is the right answer).
    fn invalid(&mut self, r: &Result<Reply, String>) {
        match r {
            Ok(r) if (400..500).contains(&r.status) => self.expected_errors += 1,
            Ok(r) if r.status >= 500 => {
                self.status_5xx += 1;
                self.note(format!("status {} to an invalid request", r.status));
            }
            Ok(r) => {
                self.unexpected_4xx += 1;
                self.note(format!("status {} to an invalid request", r.status));
            }
            Err(e) => {
                self.transport_errors += 1;
                self.note(e.clone());
            }
        }
    }

    fn note(&mut self, e: String) {
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }
}

/// A refresh chain: the current refresh token (and the access token beside it).
struct Chain {
    refresh: String,
    access: String,
}

async fn start_chain(ctx: &Ctx) -> Result<Chain, String> {
    if ctx.args.refresh_tokens.is_some() {
        let token = ctx
            .tokens
            .lock()
            .map_err(|_| "lock")?
            .pop()
            .ok_or("--refresh-tokens: not enough tokens for the concurrency")?;
        return Ok(Chain {
            refresh: token,
            access: String::new(),
        });
    }
    let mut body = format!(
        "grant_type=password&username={}&password={}",
        enc(&ctx.args.username),
        enc(&ctx.args.password)
    );
    if let Some(scope) = &ctx.args.scope {
        body.push_str("&scope=");
        body.push_str(&enc(scope));
    }
    let r = ctx.token(body, &ctx.basic).await?;
    if r.status != 200 {
        return Err(format!(
            "the password grant failed ({}): {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        ));
    }
    Ok(Chain {
        refresh: json_str(&r.body, "refresh_token").ok_or("no refresh token issued")?,
        access: json_str(&r.body, "access_token").unwrap_or_default(),
    })
}

/// A signed-in browser: its cookies.
#[derive(Default)]
struct Browser {
    cookies: HashMap<String, String>,
}

impl Browser {
    fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, r: &Reply) {
        for v in r.headers.get_all("set-cookie") {
            if let Some((kv, _)) = v
                .to_str()
                .unwrap_or_default()
                .split_once(';')
                .or(Some((v.to_str().unwrap_or_default(), "")))
            {
                if let Some((k, v)) = kv.split_once('=') {
                    self.cookies
                        .insert(k.trim().to_string(), v.trim().to_string());
                }
            }
        }
    }
}

fn hidden(html: &[u8], name: &str) -> Option<String> {
    let html = std::str::from_utf8(html).ok()?;
    let key = format!("name=\"{name}\" value=\"");
    let start = html.find(&key)? + key.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

fn location(r: &Reply) -> Option<String> {
    r.headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

/// `GET /authorize` for a code; through login and consent when the server asks.
async fn get_code(ctx: &Ctx, browser: &mut Browser) -> Result<String, String> {
    let scope = ctx.args.scope.clone().unwrap_or_else(|| "api:read".into());
    let query = format!(
        "{}?response_type=code&client_id={}&redirect_uri={}&scope={}&state=load\
         &code_challenge={PKCE_CHALLENGE}&code_challenge_method=S256",
        ctx.args.authorize_path,
        enc(&ctx.args.client_id),
        enc(&ctx.args.redirect_uri),
        enc(&scope)
    );
    let mut r = ctx
        .send(
            http::Method::GET,
            &query,
            &[("cookie", &browser.header())],
            String::new(),
        )
        .await?;
    browser.absorb(&r);
    for _ in 0..4 {
        if let Some(loc) = location(&r) {
            if let Some(code) = query_param(&loc, "code") {
                return Ok(code);
            }
            // The server's own page (consent after login).
            let path = loc
                .strip_prefix(&ctx.base)
                .map_or(loc.clone(), str::to_string);
            r = ctx
                .send(
                    http::Method::GET,
                    &path,
                    &[("cookie", &browser.header())],
                    String::new(),
                )
                .await?;
            browser.absorb(&r);
            continue;
        }
        if r.status != 200 {
            return Err(format!(
                "authorize: status {}: {}",
                r.status,
                String::from_utf8_lossy(&r.body[..r.body.len().min(300)])
            ));
        }
        let interaction = hidden(&r.body, "interaction").ok_or("no interaction on the page")?;
        let csrf = hidden(&r.body, "csrf").ok_or("no csrf on the page")?;
        let page = String::from_utf8_lossy(&r.body);
        let (path, form) = if page.contains("name=\"password\"") {
            (
                "/login",
                format!(
                    "interaction={}&csrf={}&username={}&password={}",
                    enc(&interaction),
                    enc(&csrf),
                    enc(&ctx.args.username),
                    enc(&ctx.args.password)
                ),
            )
        } else {
            (
                "/consent",
                format!(
                    "interaction={}&csrf={}&decision=allow",
                    enc(&interaction),
                    enc(&csrf)
                ),
            )
        };
        r = ctx
            .send(
                http::Method::POST,
                path,
                &[("cookie", &browser.header())],
                form,
            )
            .await?;
        browser.absorb(&r);
    }
    Err("authorize: no code after sign-in and consent".into())
}

#[derive(Clone, Copy)]
enum Kind {
    ClientCredentials,
    Refresh,
    Code,
}

/// One worker: runs until a bound is reached; returns its tally and latencies.
async fn worker(ctx: Arc<Ctx>, id: u64) -> (Tally, Histogram<u64>) {
    let mut tally = Tally::default();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    let mut chain = None;
    let mut browser = Browser::default();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (id.wrapping_mul(0xA24B_AED4_963E_E407));
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut count = 0u64;
    // Pacing under --rate: each connection sends every `concurrency / rate` seconds.
    let pace = ctx
        .args
        .rate
        .map(|r| Duration::from_secs_f64(ctx.args.concurrency as f64 / r));
    let mut slot = tokio::time::Instant::now()
        + pace.map_or(Duration::ZERO, |p| p.mul_f64((id % 97) as f64 / 97.0));
    let cc_basic = if ctx.service_basic.is_empty() {
        ctx.basic.clone()
    } else {
        ctx.service_basic.clone()
    };
    let cc_body = match (&ctx.args.scope, ctx.args.mode) {
        (Some(s), Mode::ClientCredentials) => {
            format!("grant_type=client_credentials&scope={}", enc(s))
        }
        _ => "grant_type=client_credentials".to_string(),
    };
    loop {
        let kind = match ctx.args.mode {
            Mode::ClientCredentials => Kind::ClientCredentials,
            Mode::Refresh => Kind::Refresh,
            Mode::Code => Kind::Code,
            Mode::Mixed => match next() % 2 {
                0 => Kind::ClientCredentials,
                _ => Kind::Refresh,
            },
        };
        // Set-up outside the measured region: a chain to refresh, a code to exchange.
        if matches!(kind, Kind::Refresh) && chain.is_none() {
            match start_chain(&ctx).await {
                Ok(c) => chain = Some(c),
                Err(e) => {
                    tally.note(e);
                    tally.transport_errors += 1;
                    break;
                }
            }
        }
        let code = if matches!(kind, Kind::Code) {
            match get_code(&ctx, &mut browser).await {
                Ok(c) => Some(c),
                Err(e) => {
                    tally.note(e);
                    tally.unexpected_4xx += 1;
                    break;
                }
            }
        } else {
            None
        };
        if let Some(p) = pace {
            tokio::time::sleep_until(slot).await;
            slot += p;
        }
        if !ctx.ticket() {
            break;
        }
        count += 1;
        let invalid = ctx.args.invalid_percent > 0.0
            && ((next() % 1_000_000) as f64) < ctx.args.invalid_percent * 10_000.0;
        if invalid {
            let body = match next() % 3 {
                0 => "grant_type=refresh_token&refresh_token=tgr_not-a-real-token".to_string(),
                1 => "grant_type=client_credentials&scope=not%20allowed".to_string(),
                _ => "grant_type=unknown_grant&x=%ZZ".to_string(),
            };
            let wrong = basic(
                &ctx.args.client_id,
                "wrong-secret-wrong-secret-wrong-secret-0000",
            );
            let auth = if next() % 2 == 0 { &ctx.basic } else { &wrong };
            let t0 = Instant::now();
            let r = ctx.token(body, auth).await;
            let _ = hist.record(t0.elapsed().as_micros().max(1) as u64);
            tally.invalid(&r);
            continue;
        }
        match kind {
            Kind::ClientCredentials => {
                let t0 = Instant::now();
                let r = ctx.token(cc_body.clone(), &cc_basic).await;
                let _ = hist.record(t0.elapsed().as_micros().max(1) as u64);
                tally.valid(&r);
            }
            Kind::Code => {
                let body = format!(
                    "grant_type=authorization_code&code={}&redirect_uri={}&code_verifier={PKCE_VERIFIER}",
                    enc(code.as_deref().unwrap_or_default()),
                    enc(&ctx.args.redirect_uri)
                );
                let t0 = Instant::now();
                let r = ctx.token(body, &ctx.basic).await;
                let _ = hist.record(t0.elapsed().as_micros().max(1) as u64);
                tally.valid(&r);
            }
            Kind::Refresh => {
                let Some(c) = chain.as_mut() else { break };
                let body = format!("grant_type=refresh_token&refresh_token={}", enc(&c.refresh));
                let t0 = Instant::now();
                let r = ctx.token(body, &ctx.basic).await;
                let _ = hist.record(t0.elapsed().as_micros().max(1) as u64);
                if tally.valid(&r) {
                    let reply = r.as_ref().expect("ok");
                    match json_str(&reply.body, "refresh_token") {
                        Some(next_token) => c.refresh = next_token,
                        None => chain = None, // no rotation: start over (never expected)
                    }
                    if let Some(c) = chain.as_mut() {
                        c.access = json_str(&reply.body, "access_token").unwrap_or_default();
                    }
                } else {
                    chain = None;
                }
            }
        }
        if ctx.args.revoke_every > 0 && count % ctx.args.revoke_every == 0 {
            if let Some(c) = chain.take() {
                revocation_check(&ctx, &c, &mut tally).await;
            }
        }
    }
    (tally, hist)
}

/// Revokes the chain's refresh token, then checks that it and its latest access token are
/// refused: a refresh with it fails, and introspection says inactive.
async fn revocation_check(ctx: &Ctx, c: &Chain, tally: &mut Tally) {
    tally.revocation_checks += 1;
    let revoke = ctx
        .send(
            http::Method::POST,
            &ctx.args.revoke_path,
            &[("authorization", &ctx.basic)],
            format!("token={}&token_type_hint=refresh_token", enc(&c.refresh)),
        )
        .await;
    if !tally.valid(&revoke) {
        tally.revocation_violations += 1;
        return;
    }
    let again = ctx
        .token(
            format!("grant_type=refresh_token&refresh_token={}", enc(&c.refresh)),
            &ctx.basic,
        )
        .await;
    match &again {
        Ok(r) if r.status == 400 => tally.expected_errors += 1,
        _ => {
            tally.revocation_violations += 1;
            tally.note("a revoked refresh token was accepted".into());
        }
    }
    if !c.access.is_empty() {
        let introspect = ctx
            .send(
                http::Method::POST,
                &ctx.args.introspect_path,
                &[("authorization", &ctx.basic)],
                format!("token={}", enc(&c.access)),
            )
            .await;
        match &introspect {
            Ok(r) if r.status == 200 && r.body.as_ref() == b"{\"active\":false}" => tally.ok += 1,
            Ok(r) => {
                tally.revocation_violations += 1;
                tally.note(format!(
                    "introspection after revocation: {} {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                ));
            }
            Err(e) => {
                tally.transport_errors += 1;
                tally.note(e.clone());
            }
        }
    }
}

async fn run(
    args: Args,
    seconds: u64,
    limit: u64,
    tokens: Vec<String>,
) -> Result<serde_json::Value, String> {
    let authority = loopback_authority(&args.target)?;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.concurrency)
        .build(connector);
    let ctx = Arc::new(Ctx {
        base: format!("http://{authority}"),
        authority,
        client,
        basic: basic(&args.client_id, &args.client_secret),
        service_basic: if args.service_id.is_empty() {
            String::new()
        } else {
            basic(&args.service_id, &args.service_secret)
        },
        issued: AtomicU64::new(0),
        deadline: Instant::now() + Duration::from_secs(seconds),
        limit,
        tokens: std::sync::Mutex::new(tokens),
        args,
    });
    let server_pid = ctx.args.server_pid.map(|p| p.to_string());
    let server_cpu0 = server_pid.as_deref().and_then(cpu_seconds);
    let own_cpu0 = cpu_seconds("self");
    let started = Instant::now();
    // Busy polling: a task that only yields keeps this one-thread runtime from parking, so
    // it polls its sockets without blocking instead of sleeping in `epoll_wait`. A sleeping
    // client makes every response the server writes on loopback wake it up — an
    // inter-processor interrupt, expensive in a VM and charged to the *server's* CPU (about
    // 14 % of it in a JWT refresh run here), a cost no server pays for a remote client.
    let spinner = ctx.args.busy_poll.then(|| {
        let deadline = ctx.deadline;
        tokio::spawn(async move {
            while Instant::now() < deadline {
                tokio::task::yield_now().await;
            }
        })
    });
    let mut handles = Vec::new();
    for i in 0..ctx.args.concurrency {
        handles.push(tokio::spawn(worker(Arc::clone(&ctx), i as u64)));
    }
    let mut tally = Tally::default();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    for h in handles {
        let (t, w) = h.await.map_err(|e| e.to_string())?;
        tally.merge(t);
        hist.add(w).map_err(|e| e.to_string())?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some(s) = spinner {
        s.abort();
    }
    let server_cpu = server_pid
        .as_deref()
        .and_then(cpu_seconds)
        .zip(server_cpu0)
        .map(|(b, a)| b - a);
    let own_cpu = cpu_seconds("self").zip(own_cpu0).map(|(b, a)| b - a);
    let measured = tally.ok + tally.expected_errors + tally.unexpected_4xx + tally.status_5xx;
    Ok(serde_json::json!({
        "label": ctx.args.label,
        "mode": format!("{:?}", ctx.args.mode),
        "concurrency": ctx.args.concurrency,
        "seconds": elapsed,
        "requests": measured,
        "ok": tally.ok,
        "expected_4xx": tally.expected_errors,
        "unexpected_4xx": tally.unexpected_4xx,
        "status_5xx": tally.status_5xx,
        "transport_errors": tally.transport_errors,
        "revocation_checks": tally.revocation_checks,
        "revocation_violations": tally.revocation_violations,
        "throughput": hist.len() as f64 / elapsed,
        "p50_us": hist.value_at_quantile(0.50),
        "p90_us": hist.value_at_quantile(0.90),
        "p99_us": hist.value_at_quantile(0.99),
        "max_us": hist.max(),
        "server_cpu_seconds": server_cpu,
        "throughput_per_server_cpu_second": server_cpu
            .filter(|c| *c > 0.0)
            .map(|c| hist.len() as f64 / c),
        "loadgen_cpu_seconds": own_cpu,
        "first_error": tally.first_error,
    }))
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("loadgen: {e}");
            }
            eprintln!("{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Err(e) = loopback_authority(&args.target) {
        eprintln!("loadgen: {e}");
        return std::process::ExitCode::from(2);
    }
    // One thread: the load runs on the one core it is pinned to.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let result = runtime.block_on(async {
        // Chains started from a file: the warm-up takes the first half of the tokens (a
        // rotated token must never be presented again), the measured run the rest.
        let mut tokens: Vec<String> = match &args.refresh_tokens {
            Some(file) => std::fs::read_to_string(file)
                .map_err(|e| format!("{file}: {e}"))?
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            None => Vec::new(),
        };
        let measured = if args.refresh_tokens.is_some() && args.warmup > 0 {
            tokens.split_off(tokens.len() / 2)
        } else {
            std::mem::take(&mut tokens)
        };
        if args.warmup > 0 {
            let mut warm = args.clone();
            warm.revoke_every = 0;
            warm.invalid_percent = 0.0;
            run(warm, args.warmup, u64::MAX, tokens).await?;
        }
        let limit = args.requests;
        run(args.clone(), args.seconds, limit, measured).await
    });
    match result {
        Ok(v) => {
            let line = v.to_string();
            println!("{line}");
            if let Some(file) = &args.json {
                if let Err(e) = std::fs::write(file, format!("{line}\n")) {
                    eprintln!("loadgen: {file}: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            }
            let bad = v["status_5xx"].as_u64().unwrap_or(0)
                + v["transport_errors"].as_u64().unwrap_or(0)
                + v["revocation_violations"].as_u64().unwrap_or(0);
            if bad > 0 {
                std::process::ExitCode::FAILURE
            } else {
                std::process::ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_accepted() {
        assert!(loopback_authority("http://127.0.0.1:8080").is_ok());
        assert!(loopback_authority("http://127.0.0.2:8080/x").is_ok());
        assert!(loopback_authority("http://[::1]:8080").is_ok());
        assert!(loopback_authority("http://localhost:8080").is_ok());
        for bad in [
            "http://10.0.0.1:8080",
            "http://192.168.1.1:80",
            "http://8.8.8.8:80",
            "https://127.0.0.1:8080",
            "http://user@127.0.0.1:8080",
            "127.0.0.1:8080",
        ] {
            assert!(loopback_authority(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn form_encoding_and_pages() {
        assert_eq!(enc("a b:c/d"), "a%20b%3Ac%2Fd");
        let page = br#"<input type="hidden" name="csrf" value="abc-123">"#;
        assert_eq!(hidden(page, "csrf").as_deref(), Some("abc-123"));
        assert_eq!(
            query_param("http://127.0.0.1:9/cb?code=xyz&state=s", "code").as_deref(),
            Some("xyz")
        );
    }
}
