//! JOSE on `ring` alone: JWS compact serialisation (RFC 7515), JWT (RFC 7519), JWK/JWKS
//! (RFC 7517, RFC 7518 §6, RFC 8037) and the signing keys the server holds.
//!
//! The layer is deliberately small and strict, following the JWT best current practices of
//! RFC 8725:
//!
//! - Algorithms are an allow-list chosen by the caller ([`Algorithm`]: ES256, EdDSA, RS256,
//!   PS256, HS256). `alg: none` is refused everywhere (RFC 8725 §3.1), as are `crit`
//!   (RFC 7515 §4.1.11: we implement no extensions) and the key-carrying headers `jku`,
//!   `x5u`, `jwk`, `x5c` (RFC 8725 §3.10: keys come from configuration, never the token).
//! - A key is used only with the algorithm it fits (RFC 8725 §3.1, §2.1 "algorithm
//!   confusion"): ES256 ⇔ EC P-256, EdDSA ⇔ OKP Ed25519, RS256/PS256 ⇔ RSA ≥ 2048 bits, HS256
//!   ⇔ a shared secret passed separately and never a JWK. A JWK's own `alg`, when present,
//!   must match.
//! - Parsing is total (never panics), size-bounded, and accepts only unpadded base64url
//!   (RFC 7515 §2) and JSON objects without duplicate member names (RFC 7515 §5.2,
//!   RFC 7519 §4).
//! - A public JWK Set carrying private members is refused ([`Jwks::parse_public`]).
//!
//! Claim validation (`iss`, `aud`, `exp`, …) is not done here: [`jwt::decode_verified`]
//! returns the verified claims and the caller judges them.
//!
//! ```
//! use tollgate::jose::{jwt, Algorithm, KeySet, SigningKey};
//!
//! let mut keys = KeySet::new(); // signs with ES256 unless told otherwise
//! keys.add_active(SigningKey::generate(Algorithm::Es256, None)?)?;
//! let token = keys.encode(Some("JWT"), &serde_json::json!({"sub": "alice"}))?;
//!
//! // A relying party verifies against the published JWK Set, allowing only ES256.
//! let jwks = keys.jwks();
//! let claims = jwt::decode_verified(&token, &[Algorithm::Es256], &jwks.keys, None, 16 * 1024)?;
//! assert_eq!(claims["sub"], "alice");
//! # Ok::<(), tollgate::jose::JoseError>(())
//! ```
//!
//! Signing with ECDSA and RSA draws from `ring::rand::SystemRandom` (see [`SigningKey::sign`]);
//! those bytes never influence a decision, only the randomized signature value.

pub mod alg;
pub mod jwk;
pub mod jws;
pub mod jwt;
pub mod key;
pub mod keyset;

use thiserror::Error;

pub use alg::Algorithm;
pub use jwk::{Jwk, Jwks};
pub use jws::{sign_compact, sign_compact_hs256, CompactJws, Header, VerifyingKey};
pub use key::SigningKey;
pub use keyset::KeySet;

/// Why a JOSE operation failed.
///
/// Messages are fixed text written here, never bytes from the input, so they are safe to
/// log.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum JoseError {
    /// The input is not well-formed; the message says which rule it broke.
    #[error("malformed JOSE input: {0}")]
    Malformed(&'static str),
    /// The input exceeds the size or count limit given for it.
    #[error("the JOSE input exceeds its size limit")]
    TooLarge,
    /// The `alg` is not one this crate implements.
    #[error("the algorithm is not supported")]
    UnsupportedAlgorithm,
    /// The `alg` is implemented but not allowed by the caller here.
    #[error("the algorithm {0} is not allowed here")]
    AlgorithmNotAllowed(Algorithm),
    /// `alg: none` (an unsecured JWS, RFC 7515 §A.5) is always refused.
    #[error("the \"none\" algorithm is refused")]
    NoneAlgorithm,
    /// A `crit` header is present; no extensions are implemented (RFC 7515 §4.1.11).
    #[error("the crit header is refused: no extensions are implemented")]
    CriticalHeader,
    /// A header that would let the token choose its own key (`jku`, `x5u`, `jwk`, `x5c`).
    #[error("the {0} header is refused")]
    ForbiddenHeader(&'static str),
    /// No key to verify with: none has the token's `kid`, none fits its algorithm, or no
    /// shared secret was given for HS256.
    #[error("no verification key found")]
    KeyNotFound,
    /// The key found does not fit the token's algorithm (algorithm-confusion defence).
    #[error("the key does not fit the algorithm {0}")]
    KeyAlgorithmMismatch(Algorithm),
    /// The signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// A key was refused when loading it.
    #[error("key rejected: {0}")]
    KeyRejected(String),
    /// A JWK meant to be public carries private key members (`d`, `p`, `q`, `dp`, `dq`,
    /// `qi`, `oth`, `k`).
    #[error("a public JWK contains private key material")]
    PrivateKeyMaterial,
    /// `ring` cannot generate keys for this algorithm (RSA); load a PKCS#8 key instead.
    #[error("cannot generate {0} keys: load an existing PKCS#8 key instead")]
    KeyGenerationUnsupported(Algorithm),
    /// A key set already holds a key with this `kid`.
    #[error("a key with this kid is already in the key set")]
    DuplicateKeyId,
    /// Signing or key generation failed: the OS random source that `ring` draws from
    /// failed.
    #[error("the cryptographic primitive failed")]
    CryptoFailure,
    /// The claims could not be serialised to a JSON object.
    #[error("the claims could not be serialized: {0}")]
    Serialization(String),
}

/// Decodes one strict base64url value (RFC 7515 §2): `=` and characters outside the
/// URL-safe alphabet are refused, and so are non-zero trailing bits, so every value has
/// exactly one accepted encoding ([`crate::b64`]).
pub(crate) fn b64_decode(s: &str, what: &'static str) -> Result<Vec<u8>, JoseError> {
    crate::b64::url_decode(s).ok_or(JoseError::Malformed(what))
}

/// Encodes bytes as base64url without padding.
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    crate::b64::url_encode(bytes)
}

/// Parses a JSON object, refusing duplicate member names at the top level (RFC 7515 §5.2,
/// RFC 7519 §4) rather than silently keeping one of them.
pub(crate) fn parse_object(
    bytes: &[u8],
    what: &'static str,
) -> Result<serde_json::Map<String, serde_json::Value>, JoseError> {
    serde_json::from_slice::<UniqueObject>(bytes)
        .map(|o| o.0)
        .map_err(|_| JoseError::Malformed(what))
}

/// A JSON object whose top-level member names are unique.
struct UniqueObject(serde_json::Map<String, serde_json::Value>);

impl<'de> serde::Deserialize<'de> for UniqueObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object with unique member names")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<UniqueObject, A::Error> {
                let mut out = serde_json::Map::new();
                while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom("duplicate member name"));
                    }
                    out.insert(k, v);
                }
                Ok(UniqueObject(out))
            }
        }
        d.deserialize_map(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_base64url() {
        assert_eq!(b64_decode("AQAB", "x").unwrap(), vec![1, 0, 1]);
        assert_eq!(b64_decode("", "x").unwrap(), Vec::<u8>::new());
        for bad in ["AQ==", "AQ=", "A", "AQ+B", "AQ/B", "AQ B", "AQ\nB", "AR"] {
            assert_eq!(
                b64_decode(bad, "x"),
                Err(JoseError::Malformed("x")),
                "{bad:?}"
            );
        }
        assert_eq!(b64_encode(&[1, 0, 1]), "AQAB");
        assert_eq!(b64_encode(&[0xfb, 0xff]), "-_8");
    }

    #[test]
    fn objects_with_duplicate_names_are_refused() {
        assert!(parse_object(br#"{"a":1,"b":{"c":1}}"#, "x").is_ok());
        assert!(parse_object(br#"{"a":1,"a":1}"#, "x").is_err());
        assert!(parse_object(br#"{"alg":"RS256","alg":"none"}"#, "x").is_err());
        assert!(parse_object(b"[]", "x").is_err());
        assert!(parse_object(b"\"a\"", "x").is_err());
        assert!(parse_object(b"{} x", "x").is_err());
        assert!(parse_object(b"", "x").is_err());
    }
}
