//! Proof Key for Code Exchange (RFC 7636): the challenge bound to a code at `/authorize`
//! and its check against the `code_verifier` at `/token` (§4.6), including the syntax of
//! both values (`43*128unreserved`, §4.1–§4.2) and the downgrade rule of RFC 9700 §4.8.2.

use serde::{Deserialize, Serialize};

/// `code_challenge_method` (RFC 7636 §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PkceMethod {
    /// `BASE64URL(SHA256(verifier))`; mandatory to implement.
    S256,
    /// The verifier itself; accepted only where the server enables it.
    #[serde(rename = "plain")]
    Plain,
}

impl PkceMethod {
    /// Parses the parameter value; `None` for unsupported methods (PK-02).
    #[must_use]
    pub fn parse(s: &str) -> Option<PkceMethod> {
        match s {
            "S256" => Some(PkceMethod::S256),
            "plain" => Some(PkceMethod::Plain),
            _ => None,
        }
    }
}

/// A challenge bound to an authorization code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PkceChallenge {
    method: PkceMethod,
    challenge: String,
}

/// The value is not `43*128unreserved` (RFC 7636 §4.1, §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a PKCE value must be 43 to 128 characters of [A-Za-z0-9-._~]")]
pub struct PkceSyntaxError;

impl PkceChallenge {
    /// Checks the syntax and binds `challenge` to `method`.
    ///
    /// # Errors
    /// [`PkceSyntaxError`] for a malformed challenge (PK-05).
    pub fn new(method: PkceMethod, challenge: impl Into<String>) -> Result<Self, PkceSyntaxError> {
        let challenge = challenge.into();
        if !is_pkce_value(&challenge) {
            return Err(PkceSyntaxError);
        }
        Ok(PkceChallenge { method, challenge })
    }

    /// The method.
    #[must_use]
    pub fn method(&self) -> PkceMethod {
        self.method
    }

    /// The challenge.
    #[must_use]
    pub fn challenge(&self) -> &str {
        &self.challenge
    }

    /// Whether `verifier` is well-formed and answers the challenge (RFC 7636 §4.6), compared
    /// in constant time.
    #[must_use]
    pub fn verify(&self, verifier: &str) -> bool {
        if !is_pkce_value(verifier) {
            return false;
        }
        match self.method {
            PkceMethod::S256 => {
                let d = crate::sha256::digest(verifier.as_bytes());
                let mut buf = [0u8; 43];
                let computed = crate::b64::url_encode_into(&d, &mut buf).unwrap_or_default();
                constant_time_eq::constant_time_eq(computed.as_bytes(), self.challenge.as_bytes())
            }
            PkceMethod::Plain => {
                constant_time_eq::constant_time_eq(verifier.as_bytes(), self.challenge.as_bytes())
            }
        }
    }
}

/// `43*128unreserved`, `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"`.
#[must_use]
pub fn is_pkce_value(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_vector() {
        let c = PkceChallenge::new(
            PkceMethod::S256,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .unwrap();
        assert!(c.verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!c.verify("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx"));
    }

    #[test]
    fn syntax_bounds() {
        assert!(!is_pkce_value(&"a".repeat(42)));
        assert!(is_pkce_value(&"a".repeat(43)));
        assert!(is_pkce_value(&"a".repeat(128)));
        assert!(!is_pkce_value(&"a".repeat(129)));
        assert!(!is_pkce_value(&format!("{}+", "a".repeat(43))));
    }
}
