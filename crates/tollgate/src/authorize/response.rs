//! What `/authorize` answers with: a `303 See Other` redirect to the client carrying the code
//! or the error (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207 `iss`; RFC 9700 §4.12 — never 307), or
//! an error page the host renders when the client or redirect URI cannot be trusted
//! (RFC 6749 §4.1.2.1, AZ-03, RU-02).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::error::{ErrorCode, OAuthError};
use crate::http::Response;

/// Characters that pass unencoded in a query value: RFC 3986 `unreserved`.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A `303` redirect to `redirect_uri` with `params` appended to its query, keeping any query
/// it already has (RFC 6749 §3.1.2).
#[must_use]
pub fn redirect(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let mut location = String::with_capacity(redirect_uri.len() + 128);
    location.push_str(redirect_uri);
    let mut sep = if redirect_uri.contains('?') { '&' } else { '?' };
    for (name, value) in params {
        location.push(sep);
        location.push_str(name);
        location.push('=');
        location.extend(utf8_percent_encode(value, QUERY_VALUE));
        sep = '&';
    }
    Response {
        status: 303,
        headers: vec![
            ("Location", location.into()),
            ("Cache-Control", "no-store".into()),
            ("Pragma", "no-cache".into()),
        ],
        body: Vec::new(),
    }
}

/// The error redirect of RFC 6749 §4.1.2.1: `error`, `error_description`, `state` and `iss`
/// — and nothing else, never a `code` (AZ-06).
#[must_use]
pub fn error_redirect(
    redirect_uri: &str,
    error: &OAuthError,
    state: Option<&str>,
    issuer: &str,
) -> Response {
    let mut params = vec![
        ("error", error.code().as_str()),
        ("error_description", error.description()),
    ];
    if let Some(s) = state {
        params.push(("state", s));
    }
    params.push(("iss", issuer));
    redirect(redirect_uri, &params)
}

/// An error the host shows to the user instead of redirecting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorPage {
    /// The HTTP status to send.
    pub status: u16,
    /// The error code.
    pub error: ErrorCode,
    /// What went wrong, for the page.
    pub description: &'static str,
}

impl ErrorPage {
    pub(crate) fn new(status: u16, error: ErrorCode, description: &'static str) -> Self {
        ErrorPage {
            status,
            error,
            description,
        }
    }

    /// A minimal JSON rendering, for hosts without their own error page. It never carries a
    /// `Location`.
    #[must_use]
    pub fn to_response(&self) -> Response {
        let mut r = OAuthError::new(self.error, self.description).to_response();
        r.status = self.status;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_keeps_an_existing_query_and_encodes_values() {
        let r = redirect(
            "https://rp.test/cb?x=1",
            &[("code", "a b&c"), ("state", "~._-")],
        );
        assert_eq!(r.status, 303);
        assert_eq!(
            r.header("location"),
            Some("https://rp.test/cb?x=1&code=a%20b%26c&state=~._-")
        );
    }
}
