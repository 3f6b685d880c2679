//! The server-rendered pages a person sees: sign-in, consent, errors and the demo callback.
//! Plain HTML forms with no script; every value from a request or the store is escaped, and
//! every page is sent with `X-Frame-Options: DENY` and a `frame-ancestors 'none'` policy
//! against clickjacking (RFC 6749 §10.13, AZ-12) and `Cache-Control: no-store`.

use std::fmt::Write as _;

use tollgate::Response;

/// Escapes text for HTML element content and double-quoted attribute values.
#[must_use]
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
background:#f3f4f6;color:#111827;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\
main{width:100%;max-width:26rem;margin:1rem;background:#fff;border-radius:12px;\
box-shadow:0 1px 3px rgba(0,0,0,.12),0 8px 24px rgba(0,0,0,.06);padding:2rem}\
h1{font-size:1.35rem;margin:0 0 .25rem}\
p.lead{margin:0 0 1.5rem;color:#4b5563}\
label{display:block;font-weight:600;margin:1rem 0 .35rem}\
input[type=text],input[type=password]{width:100%;padding:.6rem .75rem;font:inherit;\
border:1px solid #d1d5db;border-radius:8px}\
input:focus{outline:2px solid #2563eb;outline-offset:1px}\
.actions{display:flex;gap:.75rem;margin-top:1.75rem}\
button{flex:1;padding:.65rem 1rem;font:inherit;font-weight:600;border-radius:8px;cursor:pointer;\
border:1px solid #2563eb;background:#2563eb;color:#fff}\
button.secondary{background:#fff;color:#374151;border-color:#d1d5db}\
.error{background:#fef2f2;border:1px solid #fecaca;color:#991b1b;border-radius:8px;\
padding:.6rem .75rem;margin:0 0 1rem}\
ul.scopes{list-style:none;padding:0;margin:0}\
ul.scopes li{padding:.6rem 0;border-bottom:1px solid #e5e7eb}\
ul.scopes li:last-child{border-bottom:0}\
.muted{color:#6b7280;font-size:.875rem}\
code{background:#f3f4f6;padding:.1rem .3rem;border-radius:4px;word-break:break-all}";

/// The headers every page carries.
fn page_headers() -> Vec<(&'static str, std::borrow::Cow<'static, str>)> {
    vec![
        ("Content-Type", "text/html; charset=utf-8".into()),
        ("Cache-Control", "no-store".into()),
        ("Pragma", "no-cache".into()),
        ("X-Frame-Options", "DENY".into()),
        (
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
                .into(),
        ),
        ("Referrer-Policy", "no-referrer".into()),
        ("X-Content-Type-Options", "nosniff".into()),
    ]
}

/// A whole page: `title` as the heading, `body` already escaped HTML.
#[must_use]
pub fn html(status: u16, title: &str, body: &str) -> Response {
    let text = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · Tollgate</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        title = escape(title),
    );
    Response {
        status,
        headers: page_headers(),
        body: text.into_bytes(),
    }
}

/// What the sign-in page shows.
#[derive(Debug)]
pub struct LoginView<'a> {
    /// Where the form posts.
    pub action: &'a str,
    /// The interaction handle.
    pub interaction: &'a str,
    /// The CSRF token.
    pub csrf: &'a str,
    /// The client's display name.
    pub client: &'a str,
    /// Prefilled username (`login_hint` or the last attempt).
    pub username: &'a str,
    /// An error from the last attempt.
    pub error: Option<&'a str>,
}

/// The sign-in page.
#[must_use]
pub fn login(view: &LoginView<'_>) -> Response {
    let mut body = format!(
        "<p class=\"lead\">to continue to <strong>{}</strong></p>\n",
        escape(view.client)
    );
    if let Some(e) = view.error {
        let _ = writeln!(body, "<p class=\"error\" role=\"alert\">{}</p>", escape(e));
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"interaction\" value=\"{interaction}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label for=\"username\">Username</label>\n\
         <input type=\"text\" id=\"username\" name=\"username\" value=\"{username}\" \
         autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required autofocus>\n\
         <label for=\"password\">Password</label>\n\
         <input type=\"password\" id=\"password\" name=\"password\" \
         autocomplete=\"current-password\" required>\n\
         <div class=\"actions\"><button type=\"submit\" id=\"sign-in\">Sign in</button></div>\n\
         </form>",
        action = escape(view.action),
        interaction = escape(view.interaction),
        csrf = escape(view.csrf),
        username = escape(view.username),
    );
    html(200, "Sign in", &body)
}

/// What the consent page shows.
#[derive(Debug)]
pub struct ConsentView<'a> {
    /// Where the form posts.
    pub action: &'a str,
    /// The interaction handle.
    pub interaction: &'a str,
    /// The CSRF token.
    pub csrf: &'a str,
    /// The client's display name.
    pub client: &'a str,
    /// The client id, shown beside the name.
    pub client_id: &'a str,
    /// Who is signed in.
    pub user: &'a str,
    /// The scopes requested, each with whether it was allowed before.
    pub scopes: Vec<(&'a str, bool)>,
}

/// What a scope lets the client do, in plain words.
#[must_use]
pub fn describe_scope(scope: &str) -> String {
    match scope {
        "openid" => "Confirm who you are (your account identifier)".into(),
        "profile" => "See your name and basic profile".into(),
        "email" => "See your email address".into(),
        "address" => "See your postal address".into(),
        "phone" => "See your phone number".into(),
        "offline_access" => {
            "Keep access while you are away (stay signed in to the app with a refresh token)".into()
        }
        other => format!("Use the “{other}” permission"),
    }
}

/// The consent page.
#[must_use]
pub fn consent(view: &ConsentView<'_>) -> Response {
    let mut items = String::new();
    for (scope, before) in &view.scopes {
        let _ = writeln!(
            items,
            "<li>{}{}<br><span class=\"muted\"><code>{}</code></span></li>",
            escape(&describe_scope(scope)),
            if *before {
                " <span class=\"muted\">(allowed before)</span>"
            } else {
                ""
            },
            escape(scope),
        );
    }
    let body = format!(
        "<p class=\"lead\"><strong>{client}</strong> <span class=\"muted\">({client_id})</span> \
         wants to access your account. You are signed in as <strong>{user}</strong>.</p>\n\
         <p>If you allow it, it will be able to:</p>\n<ul class=\"scopes\">\n{items}</ul>\n\
         <form method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"interaction\" value=\"{interaction}\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <div class=\"actions\">\
         <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\" id=\"deny\">Deny</button>\
         <button type=\"submit\" name=\"decision\" value=\"allow\" id=\"allow\">Allow</button>\
         </div>\n</form>\n\
         <p class=\"muted\">You will be sent back to the app either way.</p>",
        client = escape(view.client),
        client_id = escape(view.client_id),
        user = escape(view.user),
        action = escape(view.action),
        interaction = escape(view.interaction),
        csrf = escape(view.csrf),
    );
    html(200, "Allow access?", &body)
}

/// An error page: never a redirect (RFC 6749 §4.1.2.1).
#[must_use]
pub fn error(status: u16, code: &str, description: &str) -> Response {
    let body = format!(
        "<p class=\"error\" role=\"alert\">{}</p>\n<p class=\"muted\">Error code: <code>{}</code>. \
         Go back to the application and start again.</p>",
        escape(description),
        escape(code)
    );
    html(status, "Something went wrong", &body)
}

/// The demo web client's redirect page: shows what arrived.
#[must_use]
pub fn callback(params: &[(String, String)]) -> Response {
    let mut rows = String::new();
    for (k, v) in params {
        let _ = writeln!(
            rows,
            "<li><strong>{}</strong><br><code>{}</code></li>",
            escape(k),
            escape(v)
        );
    }
    let body = format!(
        "<p class=\"lead\">The authorization server sent the browser back to the demo client \
         with:</p>\n<ul class=\"scopes\">\n{rows}</ul>\n<p class=\"muted\">Exchange the code at \
         the token endpoint within a minute (see the README).</p>"
    );
    html(200, "Demo client callback", &body)
}
