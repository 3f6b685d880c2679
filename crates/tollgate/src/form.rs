//! `application/x-www-form-urlencoded` parsing (the body of every token-endpoint request,
//! RFC 6749 §3.2 and Appendix B) into [`Params`].
//!
//! The rules of RFC 6749 §3.1/§3.2 are applied here, once, for every endpoint: unknown
//! parameters are kept but never consulted (GEN-01); a repeated parameter makes the whole
//! request `invalid_request` (GEN-02); a parameter with an empty value counts as absent
//! (GEN-03). Input is bounded (bytes and parameter count) and parsing is total: any byte
//! string yields `Ok` or an [`OAuthError`], never a panic.

use std::borrow::Cow;

use percent_encoding::percent_decode;

use crate::error::OAuthError;

/// Bounds on what a parser accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FormLimits {
    /// Largest accepted body or query, in bytes.
    pub max_bytes: usize,
    /// Most `name=value` pairs accepted.
    pub max_params: usize,
}

impl Default for FormLimits {
    /// 16 KiB and 64 parameters: a token request is a few hundred bytes, and a
    /// `private_key_jwt` assertion with an RSA-4096 signature stays well under 4 KiB.
    fn default() -> Self {
        FormLimits {
            max_bytes: 16 * 1024,
            max_params: 64,
        }
    }
}

/// Decoded form parameters with RFC 6749 §3.2 semantics. Names are unique; values are
/// non-empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(Cow<'static, str>, Cow<'static, str>)>,
}

impl Params {
    /// Parses a form body or query string.
    ///
    /// # Errors
    /// `invalid_request` when the input is too large, has too many parameters, repeats a
    /// parameter, or decodes to something that is not UTF-8.
    pub fn parse(input: &[u8], limits: FormLimits) -> Result<Params, OAuthError> {
        let (params, repeated) = Self::parse_poisoning(input, limits)?;
        if repeated.is_empty() {
            Ok(params)
        } else {
            Err(OAuthError::invalid_request("a parameter was repeated"))
        }
    }

    /// Like [`Params::parse`], but a repeated parameter does not fail the parse: it
    /// *poisons* its name — every copy is dropped and the name is returned in the second
    /// list — so the authorization endpoint can still tell whether `client_id` and
    /// `redirect_uri` are trustworthy before deciding where the error goes (GEN-02).
    ///
    /// # Errors
    /// `invalid_request` when the input is too large, has too many parameters, or is not
    /// UTF-8 once decoded.
    pub fn parse_poisoning(
        input: &[u8],
        limits: FormLimits,
    ) -> Result<(Params, Vec<String>), OAuthError> {
        if input.len() > limits.max_bytes {
            return Err(OAuthError::invalid_request("the request is too large"));
        }
        // Sized on first use: an empty query string then costs no allocation.
        let mut pairs: Vec<(Cow<'static, str>, Cow<'static, str>)> = Vec::new();
        let mut repeated: Vec<String> = Vec::new();
        let mut seen = 0usize;
        for (name, value) in raw_pairs(input) {
            seen += 1;
            if seen > limits.max_params {
                return Err(OAuthError::invalid_request(
                    "the request has too many parameters",
                ));
            }
            let name = match known_name(name) {
                Some(n) => Cow::Borrowed(n),
                None => Cow::Owned(decode_component(name)?),
            };
            let value = match known_value(value) {
                Some(v) => Cow::Borrowed(v),
                None => Cow::Owned(decode_component(value)?),
            };
            if pairs.iter().any(|(n, _)| *n == name) {
                if !repeated.iter().any(|r| *r == name) {
                    repeated.push(name.into_owned());
                }
                continue;
            }
            // Keep empty values until all duplicates are known, then drop them (GEN-03).
            pairs.push((name, value));
        }
        pairs.retain(|(n, v)| !v.is_empty() && !repeated.iter().any(|r| r == n));
        Ok((Params { pairs }, repeated))
    }

    /// The value of `name`, or `None` when absent or empty.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| &**v)
    }

    /// Removes and returns the value of `name`.
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.take_cow(name).map(Cow::into_owned)
    }

    /// Removes and returns the value of `name` without copying a well-known value (a grant
    /// type, a token type hint), which the parser keeps as a `&'static str`.
    pub(crate) fn take_cow(&mut self, name: &str) -> Option<Cow<'static, str>> {
        let i = self.pairs.iter().position(|(n, _)| n == name)?;
        Some(self.pairs.swap_remove(i).1)
    }

    /// Whether `name` carries a value.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Number of non-empty parameters.
    #[must_use]
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no non-empty parameters.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

/// The raw `name=value` pairs of a form, in order: split at `&`, empty segments skipped, each
/// split at its first `=` (a segment without one is a name with an empty value). memchr's
/// SIMD search does the scanning; a byte-at-a-time split was half of the parser's time.
fn raw_pairs(input: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut rest = input;
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        let segment = match memchr::memchr(b'&', rest) {
            Some(i) => {
                let s = &rest[..i];
                rest = &rest[i + 1..];
                s
            }
            None => std::mem::take(&mut rest),
        };
        if segment.is_empty() {
            continue;
        }
        return Some(match memchr::memchr(b'=', segment) {
            Some(i) => (&segment[..i], &segment[i + 1..]),
            None => (segment, &b""[..]),
        });
    })
}

/// The parameter names the endpoints read (RFC 6749, RFC 7009, RFC 7523, RFC 7636, RFC 7662,
/// OIDC Core), matched on the raw bytes so the common case allocates no name.
const KNOWN_NAMES: &[&str] = &[
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "username",
    "password",
    "assertion",
    "token",
    "token_type_hint",
    "response_type",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "code_challenge",
    "code_challenge_method",
    "login_hint",
    "display",
    "ui_locales",
    "claims_locales",
    "acr_values",
    "id_token_hint",
    "response_mode",
    "request",
    "request_uri",
    "access_token",
];

fn known_name(raw: &[u8]) -> Option<&'static str> {
    KNOWN_NAMES.iter().copied().find(|n| n.as_bytes() == raw)
}

/// Values sent verbatim by nearly every request (grant types, token type hints), kept as
/// `&'static str` so reading them allocates nothing. Matched on the raw bytes: an encoded
/// spelling is decoded as usual.
const KNOWN_VALUES: &[&str] = &[
    "refresh_token",
    "authorization_code",
    "client_credentials",
    "password",
    "access_token",
    "code",
    "S256",
];

fn known_value(raw: &[u8]) -> Option<&'static str> {
    KNOWN_VALUES.iter().copied().find(|v| v.as_bytes() == raw)
}

/// Decodes one form component: `+` is a space, then percent-decoding (HTML URL-encoded form
/// serialisation, which RFC 6749 Appendix B adopts). Used for Basic credentials too
/// (RFC 6749 §2.3.1).
///
/// # Errors
/// `invalid_request` when the decoded bytes are not UTF-8.
pub fn decode_component(raw: &[u8]) -> Result<String, OAuthError> {
    decode_component_cow(raw).map(Cow::into_owned)
}

/// [`decode_component`] without a copy when nothing needed decoding.
///
/// # Errors
/// `invalid_request` when the decoded bytes are not UTF-8.
pub fn decode_component_cow(raw: &[u8]) -> Result<Cow<'_, str>, OAuthError> {
    if memchr::memchr2(b'+', b'%', raw).is_none() {
        return std::str::from_utf8(raw)
            .map(Cow::Borrowed)
            .map_err(|_| OAuthError::invalid_request("a parameter is not valid UTF-8"));
    }
    let plus_free: Cow<'_, [u8]> = if memchr::memchr(b'+', raw).is_some() {
        Cow::Owned(
            raw.iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(raw)
    };
    // Decoded into one buffer sized for the worst case: `decode_utf8` grows its own by
    // doubling (four allocations for a percent-encoded redirect URI).
    let mut decoded = Vec::with_capacity(plus_free.len());
    decoded.extend(percent_decode(&plus_free));
    String::from_utf8(decoded)
        .map(Cow::Owned)
        .map_err(|_| OAuthError::invalid_request("a parameter is not valid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn parse(s: &str) -> Result<Params, OAuthError> {
        Params::parse(s.as_bytes(), FormLimits::default())
    }

    #[test]
    fn decodes_plus_and_percent() {
        let p = parse("a=x+y&b=p%40ss%3A%2F").unwrap();
        assert_eq!(p.get("a"), Some("x y"));
        assert_eq!(p.get("b"), Some("p@ss:/"));
    }

    /// A well-known value kept as a static string reads exactly like a decoded one, and an
    /// encoded spelling of it decodes to the same text.
    #[test]
    fn known_values_read_like_any_other() {
        let mut p = parse("grant_type=refresh_token&token_type_hint=refresh%5Ftoken").unwrap();
        assert!(matches!(
            p.take_cow("grant_type"),
            Some(Cow::Borrowed("refresh_token"))
        ));
        assert_eq!(p.take("token_type_hint").as_deref(), Some("refresh_token"));
        // A repeat of a known value is still a repeat (GEN-02).
        assert!(parse("grant_type=password&grant_type=password").is_err());
    }

    #[test]
    fn gen_02_repeated_parameter_is_invalid_request() {
        let e = parse("code=a&code=b").unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidRequest);
        // A repeat is a repeat even when one copy is empty.
        assert!(parse("code=a&code=").is_err());
    }

    #[test]
    fn gen_03_empty_value_is_absent() {
        let p = parse("scope=&grant_type=x&flag").unwrap();
        assert_eq!(p.get("scope"), None);
        assert_eq!(p.get("flag"), None);
        assert_eq!(p.get("grant_type"), Some("x"));
    }

    #[test]
    fn a_repeat_poisons_only_its_name() {
        let (p, rep) =
            Params::parse_poisoning(b"scope=a&client_id=c&scope=b", FormLimits::default()).unwrap();
        assert_eq!(rep, vec!["scope".to_string()]);
        assert_eq!(p.get("scope"), None);
        assert_eq!(p.get("client_id"), Some("c"));
    }

    #[test]
    fn invalid_utf8_is_invalid_request() {
        assert!(parse("a=%FF").is_err());
    }

    proptest::proptest! {
        /// The SIMD scan cuts a form exactly where the plain byte-wise split does.
        #[test]
        fn raw_pairs_match_a_bytewise_split(input in proptest::collection::vec(
            proptest::sample::select(b"ab=&%+2F".to_vec()), 0..80)) {
            let reference: Vec<(&[u8], &[u8])> = input
                .split(|&b| b == b'&')
                .filter(|s| !s.is_empty())
                .map(|s| match s.iter().position(|&b| b == b'=') {
                    Some(i) => (&s[..i], &s[i + 1..]),
                    None => (s, &b""[..]),
                })
                .collect();
            let ours: Vec<(&[u8], &[u8])> = raw_pairs(&input).collect();
            proptest::prop_assert_eq!(ours, reference);
        }
    }

    #[test]
    fn limits_are_enforced() {
        let limits = FormLimits {
            max_bytes: 10,
            max_params: 2,
        };
        assert!(Params::parse(b"aaaaaaaaaaa=1", limits).is_err());
        assert!(Params::parse(b"a=1&b=2&c=3", limits).is_err());
        assert!(Params::parse(b"a=1&b=2", limits).is_ok());
    }
}
