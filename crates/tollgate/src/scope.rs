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
/// are copied into every token record and response on the hot path. Whether it holds
/// `openid` and `offline_access` — asked several times per grant — is noted once, when the
/// set is built.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    canonical: Arc<str>,
    /// [`HAS_OPENID`] and [`HAS_OFFLINE_ACCESS`]; a function of `canonical`.
    well_known: u8,
}

const HAS_OPENID: u8 = 1;
const HAS_OFFLINE_ACCESS: u8 = 2;

impl Default for Scope {
    fn default() -> Self {
        Scope {
            canonical: Arc::from(""),
            well_known: 0,
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
        let well_known = tokens.iter().fold(0, |flags, t| match *t {
            OPENID => flags | HAS_OPENID,
            OFFLINE_ACCESS => flags | HAS_OFFLINE_ACCESS,
            _ => flags,
        });
        Scope {
            canonical: Arc::from(tokens.join(" ")),
            well_known,
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
        match token {
            OPENID => return self.well_known & HAS_OPENID != 0,
            OFFLINE_ACCESS => return self.well_known & HAS_OFFLINE_ACCESS != 0,
            _ => {}
        }
        // The canonical form is ASCII tokens separated by single spaces: jump from space to
        // space and compare only tokens of the right length (this runs several times per
        // grant: policy rules, `offline_access`, `openid`).
        let (hay, needle) = (self.canonical.as_bytes(), token.as_bytes());
        let mut start = 0;
        loop {
            let end = memchr::memchr(b' ', &hay[start..]).map_or(hay.len(), |i| start + i);
            if end - start == needle.len() && hay[start..end] == *needle {
                return true;
            }
            if end == hay.len() {
                return false;
            }
            start = end + 1;
        }
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

    proptest::proptest! {
        /// `contains` agrees with splitting the canonical text on spaces, for members,
        /// prefixes, suffixes and joins of members, and for `openid` and `offline_access`
        /// (answered from flags noted at construction) in sets built every way.
        #[test]
        fn contains_matches_a_split(
            mut tokens in proptest::collection::vec("[a-z:_]{1,6}", 0..6),
            well_known in proptest::sample::subsequence(
                vec!["openid", "offline_access", "openidx", "offline", "xopenid"], 0..=5),
            probe in "[a-z:_ ]{0,8}",
        ) {
            tokens.extend(well_known.iter().map(|t| (*t).to_string()));
            let built = Scope::from_tokens(tokens.clone()).unwrap();
            let parsed = Scope::parse(&tokens.join("  ")).unwrap();
            let without = built.without(OPENID);
            let union = Scope::parse("openid").unwrap().union(&without);
            for (scope, has_openid) in [
                (&built, well_known.contains(&OPENID)),
                (&parsed, well_known.contains(&OPENID)),
                (&without, false),
                (&union, true),
            ] {
                proptest::prop_assert_eq!(scope.contains(OPENID), has_openid);
                proptest::prop_assert_eq!(
                    scope.contains(OFFLINE_ACCESS),
                    well_known.contains(&OFFLINE_ACCESS)
                );
            }
            let scope = built;
            let by_split = |t: &str| scope.as_str().split(' ').any(|x| x == t);
            let mut probes = vec![probe, String::new(), OPENID.into(), OFFLINE_ACCESS.into()];
            for t in &tokens {
                probes.push(t.clone());
                probes.push(t[1..].to_string());
                probes.push(t[..t.len() - 1].to_string());
                probes.push(format!("{t} {t}"));
            }
            for p in probes {
                proptest::prop_assert_eq!(scope.contains(&p), by_split(&p), "{:?} in {:?}", p, scope.as_str());
            }
        }
    }

    #[test]
    fn subset() {
        let all = Scope::parse("a b c").unwrap();
        assert!(Scope::parse("a c").unwrap().is_subset_of(&all));
        assert!(!Scope::parse("a d").unwrap().is_subset_of(&all));
    }
}
