//! Plain-data HTTP: the [`Request`] an adapter builds from its framework's request and the
//! [`Response`] it turns back into one. No HTTP library is involved; header names compare
//! case-insensitively as RFC 9110 §5.1 requires.

use std::borrow::Cow;

/// The request methods the endpoints distinguish.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `HEAD`
    Head,
    /// `OPTIONS`
    Options,
    /// Any other method.
    Other,
}

impl Method {
    /// Maps a method token (case-sensitive, RFC 9110 §9.1).
    #[must_use]
    pub fn from_token(m: &str) -> Method {
        match m {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "HEAD" => Method::Head,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }
}

/// An HTTP request as plain data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// Header fields in arrival order; a name may repeat.
    pub headers: Vec<(String, String)>,
    /// The raw query string, without the leading `?`.
    pub query: String,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Request {
    /// A `POST` with an `application/x-www-form-urlencoded` body.
    #[must_use]
    pub fn form_post(body: impl Into<Vec<u8>>) -> Self {
        Request {
            method: Method::Post,
            headers: vec![(
                "Content-Type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            )],
            query: String::new(),
            body: body.into(),
        }
    }

    /// Adds a header (builder style).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the raw query string (builder style).
    #[must_use]
    pub fn with_query(mut self, query: &str) -> Self {
        self.query = query.to_string();
        self
    }

    /// Every value of header `name`, compared case-insensitively.
    pub fn header_values<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = &'a str> + use<'a, 'n> {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Header `name` when it must occur at most once; a repeat is reported as
    /// [`HeaderValue::Repeated`] rather than silently picking one.
    #[must_use]
    pub fn single_header(&self, name: &str) -> HeaderValue<'_> {
        let mut it = self.header_values(name);
        match (it.next(), it.next()) {
            (None, _) => HeaderValue::Absent,
            (Some(v), None) => HeaderValue::Present(v),
            (Some(_), Some(_)) => HeaderValue::Repeated,
        }
    }
}

/// The outcome of looking up a header that must not repeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderValue<'a> {
    /// Not sent.
    Absent,
    /// Sent once.
    Present(&'a str),
    /// Sent more than once.
    Repeated,
}

/// An HTTP response as plain data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header fields; names are fixed by the core, and most values are constants, so they
    /// cost no allocation.
    pub headers: Vec<(&'static str, Cow<'static, str>)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response that must never be cached: it carries tokens or an error about them
    /// (RFC 6749 §5.1, TK-02: `Cache-Control: no-store` and `Pragma: no-cache`).
    #[must_use]
    pub fn json(status: u16, body: Vec<u8>) -> Self {
        Response {
            status,
            headers: vec![
                ("Content-Type", Cow::Borrowed("application/json")),
                ("Cache-Control", Cow::Borrowed("no-store")),
                ("Pragma", Cow::Borrowed("no-cache")),
            ],
            body,
        }
    }

    /// The first value of header `name`, compared case-insensitively.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}
