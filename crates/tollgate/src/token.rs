//! Opaque token values and their stored form.
//!
//! A token (authorization code, access token, refresh token) is 256 bits from the injected
//! random source, base64url without padding behind a short type prefix, so it is `1*VSCHAR`
//! (GEN-09), unguessable beyond RFC 6749 §10.10 (GEN-08), and recognisable by secret
//! scanners. Only its SHA-256 ([`TokenHash`]) is ever stored (RFC 6749 §10.3, §10.5).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::random::{RandomError, SecureRandom};

/// Random bytes in every opaque token.
pub const TOKEN_BYTES: usize = 32;

/// What an opaque token is; its value starts with the kind's prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// An authorization code (RFC 6749 §4.1.2).
    Code,
    /// An access token (RFC 6749 §1.4).
    Access,
    /// A refresh token (RFC 6749 §1.5).
    Refresh,
    /// An `/authorize` interaction secret (handle, CSRF token, browser binding).
    Interaction,
}

impl TokenKind {
    /// The prefix of values of this kind.
    #[must_use]
    pub const fn prefix(self) -> &'static str {
        match self {
            TokenKind::Code => "tgc_",
            TokenKind::Access => "tga_",
            TokenKind::Refresh => "tgr_",
            TokenKind::Interaction => "tgi_",
        }
    }
}

/// A secret string (token, password, client secret): its `Debug` never shows the value, so
/// it cannot leak into logs by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    #[must_use]
    pub fn new(s: impl Into<String>) -> Self {
        SecretString(s.into())
    }

    /// The secret itself; call only where it is sent to its owner or hashed.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret as an owned string.
    #[must_use]
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

impl Serialize for SecretString {
    /// Writes the secret itself: only configuration files are serialised this way.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(SecretString)
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        SecretString(s)
    }
}

/// SHA-256 of a token value: the only form in which tokens are stored or looked up. (The
/// server's own JWT access tokens are keyed by the SHA-256 of their signature part, computed
/// only after the signature verifies: [`crate::Server::access_token_key`].)
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Hashes a presented token value.
    #[must_use]
    pub fn of(token: &str) -> TokenHash {
        TokenHash(crate::sha256::digest(token.as_bytes()))
    }

    /// Lower-case hex, for stores that key by text.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A hash is not secret, but eight bytes are enough to tell records apart in a log.
        write!(f, "TokenHash({}…)", hex(&self.0[..8]))
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

/// A freshly minted opaque token: the value handed to the client once, and its hash.
#[derive(Clone, Debug)]
pub struct MintedToken {
    /// The value sent to the client.
    pub value: SecretString,
    /// What is stored.
    pub hash: TokenHash,
}

/// Encodes 256 random bits as a token of `kind`.
#[must_use]
pub fn encode_token(kind: TokenKind, random: &[u8; TOKEN_BYTES]) -> MintedToken {
    let mut value = String::with_capacity(kind.prefix().len() + ENCODED_LEN);
    value.push_str(kind.prefix());
    crate::b64::url_encode_append(random, &mut value);
    let hash = TokenHash::of(&value);
    MintedToken {
        value: SecretString(value),
        hash,
    }
}

/// Base64url characters for [`TOKEN_BYTES`] without padding.
const ENCODED_LEN: usize = (TOKEN_BYTES * 8).div_ceil(6);

/// Mints a token of `kind` from `random`.
///
/// # Errors
/// When the random source fails.
pub fn mint_token(kind: TokenKind, random: &dyn SecureRandom) -> Result<MintedToken, RandomError> {
    let mut bytes = [0u8; TOKEN_BYTES];
    random.fill(&mut bytes)?;
    Ok(encode_token(kind, &bytes))
}

/// Identifier of a token family: every token descending from one original grant.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FamilyId(pub [u8; 16]);

impl FamilyId {
    /// A new random family id.
    ///
    /// # Errors
    /// When the random source fails.
    pub fn generate(random: &dyn SecureRandom) -> Result<FamilyId, RandomError> {
        let mut b = [0u8; 16];
        random.fill(&mut b)?;
        Ok(FamilyId(b))
    }

    /// Lower-case hex.
    #[must_use]
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl fmt::Debug for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FamilyId({})", hex(&self.0))
    }
}

impl fmt::Display for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != N * 2 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = nibble(b[2 * i])? << 4 | nibble(b[2 * i + 1])?;
    }
    Some(out)
}

macro_rules! hex_serde {
    ($t:ident, $n:expr) => {
        impl $t {
            /// Parses the lower-case hex form.
            #[must_use]
            pub fn from_hex(s: &str) -> Option<$t> {
                unhex::<$n>(s).map($t)
            }
        }

        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&hex(&self.0))
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $t::from_hex(&s).ok_or_else(|| serde::de::Error::custom("expected lower-case hex"))
            }
        }
    };
}

hex_serde!(TokenHash, 32);
hex_serde!(FamilyId, 16);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn gen_08_gen_09_tokens_are_long_vschar_and_distinct() {
        let r = SeededRandom::new(1);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let t = mint_token(TokenKind::Refresh, &r).unwrap();
            let v = t.value.expose();
            assert!(v.len() >= 43);
            assert!(v.bytes().all(|b| (0x20..=0x7e).contains(&b)));
            assert_eq!(TokenHash::of(v), t.hash);
            assert!(seen.insert(v.to_string()));
        }
    }

    #[test]
    fn hex_round_trip() {
        let h = TokenHash::of("x");
        assert_eq!(TokenHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(TokenHash::from_hex("zz"), None);
    }

    #[test]
    fn secret_debug_is_redacted() {
        assert!(!format!("{:?}", SecretString::new("hunter2")).contains("hunter2"));
    }
}
