//! The application behind the adapters: browser sessions, the sign-in and consent pages
//! that carry a person through the code flow, and one log line per request. It speaks only
//! the core's plain [`Request`] and [`Response`](tollgate::Response), so the same [`App`] runs on hyper and on
//! actix-web.
//!
//! The flow: `GET /authorize` without a session gets the sign-in page, which sets the core's
//! browser-binding cookie. `POST /login` checks the password (counted against brute force),
//! resumes the core's interaction with the handle, cookie and CSRF token, and only if the
//! core accepts them starts a session (`HttpOnly; SameSite=Lax`, `Secure` on https) and
//! answers `303` — to the consent page, or straight to the client when consent is
//! remembered. `POST /consent` resumes with Allow or Deny and the core's `303` goes to the
//! client. Every protocol decision stays in the core.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64_simd::{STANDARD, URL_SAFE_NO_PAD};
use tollgate::authorize::{AuthorizeOutcome, ConsentPrompt, InteractionPrompt, Session};
use tollgate::driver::drive_authorize_async;
use tollgate::form::{FormLimits, Params};
use tollgate::store::{AsyncStore, InteractionStage};
use tollgate::{
    InteractionResult, Method, PasswordVerdict, Request, Resume, SecretString, SecureRandom,
    Server, Subject, SystemRandom, TokenHash, UnixTime,
};

use crate::pages;
use crate::store::Backend;
use crate::users::Users;

/// The session cookie.
pub const SESSION_COOKIE: &str = "tollgate_session";
/// The cookie carrying the core's browser binding for a pending sign-in.
pub const BINDING_COOKIE: &str = "tollgate_interaction";

struct SessionEntry {
    subject: Subject,
    expires: UnixTime,
}

/// The server application: core, store, users, sessions and pages.
pub struct App {
    pub(crate) server: Arc<Server>,
    pub(crate) store: Arc<Backend>,
    pub(crate) users: Arc<Users>,
    pub(crate) cors: crate::cors::Cors,
    pub(crate) upkeep: crate::Upkeep,
    /// The store as the banner names it.
    pub(crate) store_description: String,
    sessions: Mutex<HashMap<TokenHash, SessionEntry>>,
    /// Consent prompts between the `303` after sign-in and the consent page, by handle.
    pending: Mutex<HashMap<String, ConsentPrompt>>,
    client_names: HashMap<String, String>,
    base: String,
    secure: bool,
    session_ttl: u64,
    random: SystemRandom,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("issuer", &self.server.config().issuer)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The values of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .header_values("cookie")
        .flat_map(|h| h.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

fn form(request: &Request) -> Option<Params> {
    let is_form = request
        .header_values("content-type")
        .next()
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if request.method != Method::Post || !is_form {
        return None;
    }
    Params::parse(&request.body, FormLimits::default()).ok()
}

fn see_other(location: &str) -> tollgate::Response {
    tollgate::Response {
        status: 303,
        headers: vec![
            ("Location", location.to_string().into()),
            ("Cache-Control", "no-store".into()),
        ],
        body: Vec::new(),
    }
}

fn method_not_allowed(allow: &str) -> tollgate::Response {
    tollgate::Response {
        status: 405,
        headers: vec![
            ("Content-Type", "text/plain; charset=utf-8".into()),
            ("Allow", allow.to_string().into()),
        ],
        body: b"method not allowed".to_vec(),
    }
}

fn expired() -> tollgate::Response {
    pages::error(
        400,
        "invalid_request",
        "This sign-in request has expired or was already used.",
    )
}

impl App {
    pub(crate) fn new(
        server: Arc<Server>,
        store: Arc<Backend>,
        users: Arc<Users>,
        client_names: HashMap<String, String>,
        session_ttl: u64,
        cors: crate::cors::CorsOrigins,
        upkeep: crate::Upkeep,
    ) -> App {
        let issuer = server.config().issuer.clone();
        let base = tollgate_hyper::Routes::issuer_path(&issuer).to_string();
        let routes = tollgate_hyper::Routes::new(&base, &server.config().endpoints);
        App {
            base,
            secure: issuer.starts_with("https://"),
            cors: crate::cors::Cors::new(cors, routes),
            upkeep,
            store_description: String::from("memory"),
            server,
            store,
            users,
            sessions: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            client_names,
            session_ttl,
            random: SystemRandom::new(),
        }
    }

    /// The core server.
    #[must_use]
    pub fn server(&self) -> &Arc<Server> {
        &self.server
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<Backend> {
        &self.store
    }

    /// The store as configured (a PostgreSQL URL without its password).
    #[must_use]
    pub fn store_description(&self) -> &str {
        &self.store_description
    }

    fn cookie_header(&self, name: &str, value: &str, max_age: Option<u64>) -> String {
        let path = if self.base.is_empty() {
            "/"
        } else {
            &self.base
        };
        let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
        if let Some(age) = max_age {
            c.push_str(&format!("; Max-Age={age}"));
        }
        if self.secure {
            c.push_str("; Secure");
        }
        c
    }

    fn client_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.client_names.get(id).map_or(id, String::as_str)
    }

    /// The browser's session, from its cookie.
    pub(crate) fn session_for(&self, request: &Request) -> Option<Session> {
        let sid = cookie(request, SESSION_COOKIE)?;
        let now = self.server.now();
        let mut sessions = lock(&self.sessions);
        let key = TokenHash::of(sid);
        match sessions.get(&key) {
            Some(s) if now < s.expires => Some(Session {
                subject: s.subject.clone(),
            }),
            Some(_) => {
                sessions.remove(&key);
                None
            }
            None => None,
        }
    }

    fn start_session(&self, subject: Subject) -> Option<String> {
        let mut raw = [0u8; 32];
        self.random.fill(&mut raw).ok()?;
        let sid = URL_SAFE_NO_PAD.encode_to_string(raw);
        let now = self.server.now();
        let mut sessions = lock(&self.sessions);
        sessions.retain(|_, s| now < s.expires);
        sessions.insert(
            TokenHash::of(&sid),
            SessionEntry {
                subject,
                expires: UnixTime(now.secs().saturating_add(self.session_ttl)),
            },
        );
        Some(self.cookie_header(SESSION_COOKIE, &sid, Some(self.session_ttl)))
    }

    fn path(&self, p: &str) -> String {
        format!("{}{p}", self.base)
    }

    /// Renders what `/authorize` could not answer with a redirect.
    pub(crate) fn render(&self, outcome: AuthorizeOutcome) -> tollgate::Response {
        match outcome {
            AuthorizeOutcome::Redirect(r) => r,
            AuthorizeOutcome::ErrorPage(p) => {
                pages::error(p.status, p.error.as_str(), p.description)
            }
            AuthorizeOutcome::Login(prompt) => {
                let hint = prompt.request.login_hint.clone().unwrap_or_default();
                self.login_page(&prompt, &hint, None)
            }
            AuthorizeOutcome::Consent(prompt) => self.consent_page(&prompt),
            _ => pages::error(500, "server_error", "The server cannot show this step."),
        }
    }

    fn login_page(
        &self,
        prompt: &InteractionPrompt,
        username: &str,
        error: Option<&str>,
    ) -> tollgate::Response {
        let action = self.path("/login");
        let mut page = pages::login(&pages::LoginView {
            action: &action,
            interaction: prompt.handle.expose(),
            csrf: prompt.csrf.expose(),
            client: self.client_name(prompt.request.client_id.as_str()),
            username,
            error,
        });
        if let Some(binding) = &prompt.set_browser_cookie {
            page.headers.push((
                "Set-Cookie",
                self.cookie_header(BINDING_COOKIE, binding.expose(), None)
                    .into(),
            ));
        }
        page
    }

    fn consent_page(&self, prompt: &ConsentPrompt) -> tollgate::Response {
        let action = self.path("/consent");
        let request = &prompt.interaction.request;
        let mut page = pages::consent(&pages::ConsentView {
            action: &action,
            interaction: prompt.interaction.handle.expose(),
            csrf: prompt.interaction.csrf.expose(),
            client: self.client_name(request.client_id.as_str()),
            client_id: request.client_id.as_str(),
            user: &prompt.subject.id,
            scopes: ordered_scopes(&request.scope)
                .into_iter()
                .map(|s| (s, prompt.already_granted.contains(s)))
                .collect(),
        });
        if let Some(binding) = &prompt.interaction.set_browser_cookie {
            page.headers.push((
                "Set-Cookie",
                self.cookie_header(BINDING_COOKIE, binding.expose(), None)
                    .into(),
            ));
        }
        page
    }

    /// The server's own routes: sign-in, consent, the demo callback.
    pub(crate) async fn route(&self, path: &str, request: &Request) -> Option<tollgate::Response> {
        let rest = path.strip_prefix(self.base.as_str())?;
        Some(match (rest, request.method) {
            ("/login", Method::Post) => self.login(request).await,
            ("/login", _) => method_not_allowed("POST"),
            ("/consent", Method::Get) => self.show_consent(request),
            ("/consent", Method::Post) => self.decide(request).await,
            ("/consent", _) => method_not_allowed("GET, POST"),
            ("/demo/callback", Method::Get) => {
                let params = Params::parse(request.query.as_bytes(), FormLimits::default())
                    .map(|p| {
                        ["code", "state", "iss", "error", "error_description"]
                            .iter()
                            .filter_map(|k| p.get(k).map(|v| ((*k).to_string(), v.to_string())))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                pages::callback(&params)
            }
            _ => return None,
        })
    }

    async fn resume(
        &self,
        request: &Request,
        form: &Params,
        result: InteractionResult,
    ) -> AuthorizeOutcome {
        let resume = Resume {
            handle: SecretString::new(form.get("interaction").unwrap_or_default()),
            browser: SecretString::new(cookie(request, BINDING_COOKIE).unwrap_or_default()),
            csrf: SecretString::new(form.get("csrf").unwrap_or_default()),
            result,
        };
        let (flow, step) = self.server.resume_authorize(resume);
        drive_authorize_async(flow, step, &*self.store).await
    }

    /// `POST /login`.
    async fn login(&self, request: &Request) -> tollgate::Response {
        let Some(form) = form(request) else {
            return pages::error(400, "invalid_request", "The sign-in form was malformed.");
        };
        let (Some(handle), Some(csrf)) = (form.get("interaction"), form.get("csrf")) else {
            return expired();
        };
        // The pending interaction, for the page; its checks are the core's, at resume.
        let record = match self.store.interaction(&TokenHash::of(handle)).await {
            Ok(Some(r))
                if self.server.now() < r.expires_at
                    && matches!(r.stage, InteractionStage::Login) =>
            {
                r
            }
            Ok(_) => return expired(),
            Err(_) => return pages::error(503, "temporarily_unavailable", "Try again shortly."),
        };
        let username = form.get("username").unwrap_or_default();
        let password = form.get("password").unwrap_or_default();
        let subject = match self.users.check(username, password).await {
            PasswordVerdict::Authenticated(subject) => subject,
            verdict => {
                let message = match verdict {
                    PasswordVerdict::Refused => {
                        "Too many failed attempts. Wait a few minutes and try again."
                    }
                    _ => "The username or password is incorrect.",
                };
                let prompt = InteractionPrompt {
                    handle: SecretString::new(handle),
                    csrf: SecretString::new(csrf),
                    set_browser_cookie: None,
                    expires_at: record.expires_at,
                    request: record.request,
                };
                return self.login_page(&prompt, username, Some(message));
            }
        };
        let outcome = self
            .resume(
                request,
                &form,
                InteractionResult::Authenticated(subject.clone()),
            )
            .await;
        let mut response = match outcome {
            AuthorizeOutcome::Consent(prompt) => {
                let handle = prompt.interaction.handle.expose().to_string();
                let location = format!("{}?interaction={handle}", self.path("/consent"));
                let now = self.server.now();
                let mut pending = lock(&self.pending);
                pending.retain(|_, p| now < p.interaction.expires_at);
                pending.insert(handle, prompt);
                see_other(&location)
            }
            AuthorizeOutcome::Redirect(r) => r,
            // The core refused the handle, cookie or CSRF token: no session is started.
            other => return self.render(other),
        };
        if let Some(set_cookie) = self.start_session(subject) {
            response.headers.push(("Set-Cookie", set_cookie.into()));
        }
        response
    }

    /// `GET /consent?interaction=…`, after the `303` from sign-in.
    fn show_consent(&self, request: &Request) -> tollgate::Response {
        let handle = Params::parse(request.query.as_bytes(), FormLimits::default())
            .ok()
            .and_then(|p| p.get("interaction").map(str::to_string));
        let now = self.server.now();
        let prompt = handle.and_then(|h| lock(&self.pending).get(&h).cloned());
        match prompt {
            Some(p) if now < p.interaction.expires_at => self.consent_page(&p),
            _ => expired(),
        }
    }

    /// `POST /consent`: Allow or Deny.
    async fn decide(&self, request: &Request) -> tollgate::Response {
        let Some(form) = form(request) else {
            return pages::error(400, "invalid_request", "The consent form was malformed.");
        };
        let result = match form.get("decision") {
            Some("allow") => InteractionResult::Consented,
            Some("deny") => InteractionResult::Denied,
            _ => return pages::error(400, "invalid_request", "Choose Allow or Deny."),
        };
        let outcome = self.resume(request, &form, result).await;
        if let (AuthorizeOutcome::Redirect(_), Some(h)) = (&outcome, form.get("interaction")) {
            lock(&self.pending).remove(h);
        }
        self.render(outcome)
    }
}

/// Scopes in reading order: identity first, then profile data, then the client's own
/// permissions, and staying signed in last.
fn ordered_scopes(scope: &tollgate::Scope) -> Vec<&str> {
    let rank = |s: &str| match s {
        "openid" => 0,
        "profile" => 1,
        "email" => 2,
        "address" => 3,
        "phone" => 4,
        "offline_access" => 6,
        _ => 5,
    };
    let mut v: Vec<&str> = scope.iter().collect();
    v.sort_by_key(|s| rank(s));
    v
}

/// The client a request names, for the log: `client_id` in the query or form body, or the
/// id half of HTTP Basic credentials. Nothing else is read from the request.
pub(crate) fn log_fields(request: &Request) -> (Option<String>, Option<String>) {
    let body = form(request);
    let query = Params::parse(request.query.as_bytes(), FormLimits::default()).ok();
    let from = |name: &str| {
        body.as_ref()
            .and_then(|p| p.get(name))
            .or_else(|| query.as_ref().and_then(|p| p.get(name)))
            .map(str::to_string)
    };
    let basic = || {
        let header = request.header_values("authorization").next()?;
        let (scheme, creds) = header.split_once(' ')?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return None;
        }
        let decoded = STANDARD.decode_to_vec(creds.trim()).ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let id = text.split_once(':')?.0;
        tollgate::form::decode_component(id.as_bytes()).ok()
    };
    (from("client_id").or_else(basic), from("grant_type"))
}
