//! The JWS algorithms Tollgate implements (RFC 7518 §3.1, RFC 8037 §3.1), as a closed
//! allow-list: an `alg` value outside it, and `none` in particular, never parses.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A JWS `alg` value this crate can sign or verify with.
///
/// Serialises as its registered name (`"ES256"`, `"EdDSA"`, …). The default is
/// [`Algorithm::Es256`], the server's default signing algorithm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA using P-256 and SHA-256 (RFC 7518 §3.4); the signature is `R || S`, 64 bytes.
    #[default]
    Es256,
    /// EdDSA with the Ed25519 curve (RFC 8037 §3.1).
    EdDsa,
    /// RSASSA-PKCS1-v1_5 using SHA-256 (RFC 7518 §3.3).
    Rs256,
    /// RSASSA-PSS using SHA-256, MGF1 with SHA-256 and a 32-byte salt (RFC 7518 §3.5).
    Ps256,
    /// HMAC using SHA-256 (RFC 7518 §3.2), keyed by a shared secret, never by a JWK. Used
    /// to verify `client_secret_jwt` assertions (OIDC Core §9).
    Hs256,
}

impl Algorithm {
    /// Every algorithm, in the order of the enum.
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Es256,
        Algorithm::EdDsa,
        Algorithm::Rs256,
        Algorithm::Ps256,
        Algorithm::Hs256,
    ];

    /// The registered `alg` name (RFC 7518 §7.1.2, RFC 8037 §5).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
            Algorithm::Rs256 => "RS256",
            Algorithm::Ps256 => "PS256",
            Algorithm::Hs256 => "HS256",
        }
    }

    /// Parses a registered name, case-sensitively (RFC 7515 §4.1.1). `none` and every
    /// name not implemented here give `None`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The JWK `kty` of keys for this algorithm (RFC 7518 §6.1, RFC 8037 §2).
    #[must_use]
    pub const fn key_type(self) -> &'static str {
        match self {
            Algorithm::Es256 => "EC",
            Algorithm::EdDsa => "OKP",
            Algorithm::Rs256 | Algorithm::Ps256 => "RSA",
            Algorithm::Hs256 => "oct",
        }
    }

    /// Whether the algorithm is keyed by a shared secret rather than a key pair.
    #[must_use]
    pub const fn is_symmetric(self) -> bool {
        matches!(self, Algorithm::Hs256)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Algorithm::parse(&s).ok_or_else(|| {
            serde::de::Error::custom("expected one of ES256, EdDSA, RS256, PS256, HS256")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::parse(a.as_str()), Some(a));
            assert_eq!(a.to_string(), a.as_str());
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{}\"", a.as_str()));
            assert_eq!(serde_json::from_str::<Algorithm>(&json).unwrap(), a);
        }
        assert_eq!(Algorithm::default(), Algorithm::Es256);
    }

    #[test]
    fn none_and_unknown_names_do_not_parse() {
        for s in [
            "none", "None", "NONE", "", "es256", "EDDSA", "RS384", "ES256K", "HS512",
        ] {
            assert_eq!(Algorithm::parse(s), None, "{s}");
        }
        assert!(serde_json::from_str::<Algorithm>("\"none\"").is_err());
        assert!(serde_json::from_str::<Algorithm>("1").is_err());
    }

    #[test]
    fn key_types() {
        assert_eq!(Algorithm::Es256.key_type(), "EC");
        assert_eq!(Algorithm::EdDsa.key_type(), "OKP");
        assert_eq!(Algorithm::Rs256.key_type(), "RSA");
        assert_eq!(Algorithm::Ps256.key_type(), "RSA");
        assert!(Algorithm::Hs256.is_symmetric());
        assert!(!Algorithm::Ps256.is_symmetric());
    }
}
