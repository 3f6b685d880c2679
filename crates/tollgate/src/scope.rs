//! [`Scope`]: a set of scope tokens per RFC 6749 §3.3 — space-delimited, order-insensitive,
//! each token `1*( %x21 / %x23-5B / %x5D-7E )`. Kept sorted and de-duplicated so equal sets
//! compare equal and render identically.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `offline_access` scope of OIDC Core §11: asks for a refresh token.
pub const OFFLINE_ACCESS: &str = "offline_access";
/// The `openid` scope of OIDC Core §3.1.2.1.
pub const OPENID: &str = "openid";

/// A scope value is malformed (RFC 6749 §3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a scope token contains a character outside RFC 6749 section 3.3")]
pub struct ScopeSyntaxError;

/// A set of scope tokens.
///
/// Held as its canonical text — tokens sorted, de-duplicated, joined by single spaces — in
/// an `Arc<str>`, so a clone is a reference-count increment and rendering is free: scopes
/// are copied into every token record and response on the hot path.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    canonical: Arc<str>,
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            canonical: Arc::from(""),
        }
    }
}

impl Scope {
    /// The empty set.
    #[must_use]
    pub fn empty() -> Scope {
        Scope::default()
    }

    fn from_sorted(mut tokens: Vec<&str>) -> Scope {
        tokens.sort_unstable();
        tokens.dedup();
        Scope {
            canonical: Arc::from(tokens.join(" ")),
        }
    }

    /// Parses a `scope` parameter. Runs of spaces are tolerated; order and repeats do not
    /// matter.
    ///
    /// # Errors
    /// [`ScopeSyntaxError`] when a token has a character outside RFC 6749 §3.3.
    pub fn parse(s: &str) -> Result<Scope, ScopeSyntaxError> {
        let mut tokens: Vec<&str> = Vec::new();
        for t in s.split(' ').filter(|t| !t.is_empty()) {
            if !t.bytes().all(is_scope_byte) {
                return Err(ScopeSyntaxError);
            }
            tokens.push(t);
        }
        Ok(Scope::from_sorted(tokens))
    }

    /// Builds a scope from tokens, checking each.
    ///
    /// # Errors
    /// [`ScopeSyntaxError`] when a token is empty or malformed.
    pub fn from_tokens<I, S>(tokens: I) -> Result<Scope, ScopeSyntaxError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let owned: Vec<String> = tokens.into_iter().map(Into::into).collect();
        if owned
            .iter()
            .any(|t| t.is_empty() || !t.bytes().all(is_scope_byte))
        {
            return Err(ScopeSyntaxError);
        }
        Ok(Scope::from_sorted(
            owned.iter().map(String::as_str).collect(),
        ))
    }

    /// Whether `token` is in the set.
    #[must_use]
    pub fn contains(&self, token: &str) -> bool {
        // On bytes: the canonical form is ASCII separated by single spaces.
        self.canonical
            .as_bytes()
            .split(|&b| b == b' ')
            .any(|t| t == token.as_bytes())
    }

    /// Whether every token of `self` is in `other`.
    #[must_use]
    pub fn is_subset_of(&self, other: &Scope) -> bool {
        self.iter().all(|t| other.contains(t))
    }

    /// Whether the two sets share a token.
    #[must_use]
    pub fn intersects(&self, other: &Scope) -> bool {
        self.iter().any(|t| other.contains(t))
    }

    /// The set without `token`.
    #[must_use]
    pub fn without(&self, token: &str) -> Scope {
        if !self.contains(token) {
            return self.clone();
        }
        Scope::from_sorted(self.iter().filter(|t| *t != token).collect())
    }

    /// The union of two sets.
    #[must_use]
    pub fn union(&self, other: &Scope) -> Scope {
        Scope::from_sorted(self.iter().chain(other.iter()).collect())
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.canonical.is_empty()
    }

    /// The tokens in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.canonical.split(' ').filter(|t| !t.is_empty())
    }

    /// The canonical space-separated form, as sent in `scope` (RFC 6749 §3.3).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.canonical
    }
}

/// `%x21 / %x23-5B / %x5D-7E` (RFC 6749 §3.3 `NQCHAR` without space).
fn is_scope_byte(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({self})")
    }
}

impl std::str::FromStr for Scope {
    type Err = ScopeSyntaxError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::parse(s)
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.canonical)
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Scope::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_repeats_do_not_matter() {
        assert_eq!(
            Scope::parse("email openid email").unwrap(),
            Scope::parse("openid  email").unwrap()
        );
        assert_eq!(Scope::parse("b a").unwrap().to_string(), "a b");
    }

    #[test]
    fn rejects_quote_and_backslash() {
        assert!(Scope::parse("a\"b").is_err());
        assert!(Scope::parse("a\\b").is_err());
    }

    #[test]
    fn subset() {
        let all = Scope::parse("a b c").unwrap();
        assert!(Scope::parse("a c").unwrap().is_subset_of(&all));
        assert!(!Scope::parse("a d").unwrap().is_subset_of(&all));
    }
}
