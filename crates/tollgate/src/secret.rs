//! Client secrets at rest: [`SecretHash`], and constant-time verification (RFC 6749 §2.3.1,
//! §10.3; RFC 9700 §2.5).
//!
//! Two forms. Secrets the server generates carry 256 bits of entropy, so a single SHA-256
//! is as strong as any slow hash and verification costs about a microsecond
//! ([`SecretHash::fast`]). Secrets a person chose get PBKDF2-HMAC-SHA256 with a salt
//! ([`SecretHash::slow`]). Both serialise to one self-describing string.

use std::fmt;
use std::num::NonZeroU32;

use ring::pbkdf2;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;
use crate::random::{RandomError, SecureRandom};
use crate::token::SecretString;

/// Shortest secret accepted by [`SecretHash::fast`]: 43 characters is what 256 bits take in
/// base64url.
pub const MIN_FAST_SECRET_LEN: usize = 43;

/// A stored client secret.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretHash {
    /// SHA-256 of a high-entropy, server-generated secret.
    Sha256([u8; 32]),
    /// PBKDF2-HMAC-SHA256 of a human-chosen secret.
    Pbkdf2 {
        /// Iteration count.
        iterations: NonZeroU32,
        /// Salt.
        salt: Vec<u8>,
        /// Derived key.
        hash: [u8; 32],
    },
}

impl SecretHash {
    /// Hashes a high-entropy secret with one SHA-256.
    ///
    /// # Errors
    /// [`Error::Config`] when the secret is shorter than [`MIN_FAST_SECRET_LEN`]; a short
    /// secret needs [`SecretHash::slow`].
    pub fn fast(secret: &str) -> Result<SecretHash, Error> {
        if secret.len() < MIN_FAST_SECRET_LEN {
            return Err(Error::config(
                "client_secret",
                "a fast-hashed secret needs at least 43 characters (256 bits); use a slow hash",
            ));
        }
        Ok(SecretHash::Sha256(sha256(secret.as_bytes())))
    }

    /// Hashes any secret with PBKDF2-HMAC-SHA256 and a random 16-byte salt.
    ///
    /// # Errors
    /// When the random source fails.
    pub fn slow(
        secret: &str,
        iterations: NonZeroU32,
        random: &dyn SecureRandom,
    ) -> Result<SecretHash, RandomError> {
        let mut salt = vec![0u8; 16];
        random.fill(&mut salt)?;
        let mut hash = [0u8; 32];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            &salt,
            secret.as_bytes(),
            &mut hash,
        );
        Ok(SecretHash::Pbkdf2 {
            iterations,
            salt,
            hash,
        })
    }

    /// Generates a 256-bit secret and its fast hash; the plaintext is shown to the client's
    /// owner once and never stored.
    ///
    /// # Errors
    /// When the random source fails.
    pub fn generate(random: &dyn SecureRandom) -> Result<(SecretString, SecretHash), RandomError> {
        let mut b = [0u8; 32];
        random.fill(&mut b)?;
        let s = crate::b64::url_encode(&b);
        let h = SecretHash::Sha256(sha256(s.as_bytes()));
        Ok((SecretString::new(s), h))
    }

    /// Whether `presented` is the secret, compared in constant time.
    #[must_use]
    pub fn verify(&self, presented: &str) -> bool {
        match self {
            SecretHash::Sha256(expected) => {
                constant_time_eq::constant_time_eq_32(&sha256(presented.as_bytes()), expected)
            }
            SecretHash::Pbkdf2 {
                iterations,
                salt,
                hash,
            } => pbkdf2::verify(
                pbkdf2::PBKDF2_HMAC_SHA256,
                *iterations,
                salt,
                presented.as_bytes(),
                hash,
            )
            .is_ok(),
        }
    }

    /// The stored text form: `sha256$<b64>` or `pbkdf2-sha256$<iterations>$<salt>$<hash>`.
    #[must_use]
    pub fn to_stored(&self) -> String {
        match self {
            SecretHash::Sha256(h) => format!("sha256${}", crate::b64::url_encode(h)),
            SecretHash::Pbkdf2 {
                iterations,
                salt,
                hash,
            } => format!(
                "pbkdf2-sha256${}${}${}",
                iterations,
                crate::b64::url_encode(salt),
                crate::b64::url_encode(hash)
            ),
        }
    }

    /// Parses the stored text form.
    ///
    /// # Errors
    /// [`Error::Config`] when the text is not a stored secret hash.
    pub fn from_stored(s: &str) -> Result<SecretHash, Error> {
        let bad = || {
            Error::config(
                "client_secret_hash",
                "not a sha256$… or pbkdf2-sha256$… hash",
            )
        };
        let mut parts = s.split('$');
        match parts.next() {
            Some("sha256") => {
                let h = decode32(parts.next().ok_or_else(bad)?).ok_or_else(bad)?;
                if parts.next().is_some() {
                    return Err(bad());
                }
                Ok(SecretHash::Sha256(h))
            }
            Some("pbkdf2-sha256") => {
                let iterations: NonZeroU32 =
                    parts.next().and_then(|i| i.parse().ok()).ok_or_else(bad)?;
                let salt = crate::b64::url_decode(parts.next().ok_or_else(bad)?).ok_or_else(bad)?;
                let hash = decode32(parts.next().ok_or_else(bad)?).ok_or_else(bad)?;
                if parts.next().is_some() {
                    return Err(bad());
                }
                Ok(SecretHash::Pbkdf2 {
                    iterations,
                    salt,
                    hash,
                })
            }
            _ => Err(bad()),
        }
    }
}

fn sha256(b: &[u8]) -> [u8; 32] {
    crate::sha256::digest(b)
}

fn decode32(s: &str) -> Option<[u8; 32]> {
    let v = crate::b64::url_decode(s)?;
    v.try_into().ok()
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretHash::Sha256(_) => f.write_str("SecretHash::Sha256(..)"),
            SecretHash::Pbkdf2 { iterations, .. } => {
                write!(f, "SecretHash::Pbkdf2 {{ iterations: {iterations}, .. }}")
            }
        }
    }
}

impl Serialize for SecretHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_stored())
    }
}

impl<'de> Deserialize<'de> for SecretHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SecretHash::from_stored(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SeededRandom;

    #[test]
    fn fast_round_trip() {
        let r = SeededRandom::new(3);
        let (plain, h) = SecretHash::generate(&r).unwrap();
        assert!(h.verify(plain.expose()));
        assert!(!h.verify("nope"));
        let back = SecretHash::from_stored(&h.to_stored()).unwrap();
        assert_eq!(back, h);
    }

    #[test]
    fn fast_refuses_short_secrets() {
        assert!(SecretHash::fast("short").is_err());
    }

    #[test]
    fn slow_round_trip() {
        let r = SeededRandom::new(3);
        let h = SecretHash::slow("p@ss:w/rd+%&=", NonZeroU32::new(1000).unwrap(), &r).unwrap();
        assert!(h.verify("p@ss:w/rd+%&="));
        assert!(!h.verify("p@ss:w/rd+%&"));
        assert_eq!(SecretHash::from_stored(&h.to_stored()).unwrap(), h);
    }

    #[test]
    fn from_stored_rejects_garbage() {
        for s in [
            "",
            "sha256",
            "sha256$",
            "md5$abc",
            "pbkdf2-sha256$0$aa$bb",
            "sha256$AAAA$x",
        ] {
            assert!(SecretHash::from_stored(s).is_err(), "{s}");
        }
    }
}
