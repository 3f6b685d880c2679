//! JSON Web Keys (RFC 7517) for the algorithms of [`Algorithm`]: EC P-256 (RFC 7518 §6.2),
//! RSA (RFC 7518 §6.3) and OKP Ed25519 (RFC 8037 §2); JWK Sets (RFC 7517 §5); JWK
//! thumbprints (RFC 7638).
//!
//! A [`Jwk`] here is always a *public* key: deserialising one that carries private members
//! fails, and [`Jwks::parse_public`] — for a client's registered or fetched key set — says
//! so precisely and bounds the input. A key verifies only with the algorithm it fits
//! ([`Jwk::check_algorithm`]), which is the algorithm-confusion defence of RFC 8725 §3.1.

use ring::digest;
use ring::signature::{self, RsaPublicKeyComponents, UnparsedPublicKey};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{b64_decode, b64_encode, parse_object, Algorithm, JoseError};

/// The largest JWK Set document [`Jwks::parse_public`] accepts, in bytes.
pub const MAX_JWKS_LEN: usize = 64 * 1024;

/// The most keys [`Jwks::parse_public`] accepts in one set.
pub const MAX_JWKS_KEYS: usize = 64;

/// The smallest RSA modulus accepted, in bits (RFC 7518 §3.3, §3.5: 2048 or larger).
pub const MIN_RSA_BITS: usize = 2048;

/// Members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1;
/// RFC 8037 §2).
pub const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A public JSON Web Key.
///
/// Binary members (`x`, `y`, `n`, `e`) hold base64url text exactly as on the wire; absent
/// members are not serialised. Members this crate does not use (`key_ops`, `x5t`, …) are
/// ignored when parsing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawJwk")]
#[non_exhaustive]
pub struct Jwk {
    /// Key type: `EC`, `OKP`, `RSA` (or another value this crate cannot verify with).
    pub kty: String,
    /// Curve of an `EC` (`P-256`) or `OKP` (`Ed25519`) key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// The x coordinate (EC) or the public key (OKP), base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The y coordinate of an EC key, base64url.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The RSA modulus, base64url of its minimal big-endian bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// The RSA public exponent, base64url of its minimal big-endian bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Key id (RFC 7517 §4.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The one algorithm this key may be used with, if restricted (RFC 7517 §4.4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Intended use (RFC 7517 §4.2): `sig` or `enc`.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
}

/// The wire form, with the private members recognised so that their presence can be
/// refused.
#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    key_use: Option<String>,
    #[serde(default)]
    d: Option<IgnoredAny>,
    #[serde(default)]
    p: Option<IgnoredAny>,
    #[serde(default)]
    q: Option<IgnoredAny>,
    #[serde(default)]
    dp: Option<IgnoredAny>,
    #[serde(default)]
    dq: Option<IgnoredAny>,
    #[serde(default)]
    qi: Option<IgnoredAny>,
    #[serde(default)]
    oth: Option<IgnoredAny>,
    #[serde(default)]
    k: Option<IgnoredAny>,
}

impl TryFrom<RawJwk> for Jwk {
    type Error = JoseError;

    fn try_from(r: RawJwk) -> Result<Jwk, JoseError> {
        let private = [r.d, r.p, r.q, r.dp, r.dq, r.qi, r.oth, r.k];
        if private.iter().any(Option::is_some) {
            return Err(JoseError::PrivateKeyMaterial);
        }
        Ok(Jwk {
            kty: r.kty,
            crv: r.crv,
            x: r.x,
            y: r.y,
            n: r.n,
            e: r.e,
            kid: r.kid,
            alg: r.alg,
            key_use: r.key_use,
        })
    }
}

impl Jwk {
    /// Whether this key may verify `alg` signatures: its `kty` and `crv` fit the algorithm
    /// (ES256 ⇔ EC P-256, EdDSA ⇔ OKP Ed25519, RS256/PS256 ⇔ RSA), its `alg`, if present,
    /// names exactly `alg`, and its `use`, if present, is `sig`. A JWK never fits HS256:
    /// a public key is not a shared secret (RFC 8725 §3.1).
    ///
    /// # Errors
    /// [`JoseError::KeyAlgorithmMismatch`] when it does not fit.
    pub fn check_algorithm(&self, alg: Algorithm) -> Result<(), JoseError> {
        let fits = !alg.is_symmetric()
            && self.alg.as_deref().is_none_or(|a| a == alg.as_str())
            && self.key_use.as_deref().is_none_or(|u| u == "sig")
            && self.kty == alg.key_type()
            && match alg {
                Algorithm::Es256 => self.crv.as_deref() == Some("P-256"),
                Algorithm::EdDsa => self.crv.as_deref() == Some("Ed25519"),
                Algorithm::Rs256 | Algorithm::Ps256 => self.crv.is_none(),
                Algorithm::Hs256 => false,
            };
        if fits {
            Ok(())
        } else {
            Err(JoseError::KeyAlgorithmMismatch(alg))
        }
    }

    /// Verifies `signature` over `signing_input` with this key under `alg`.
    ///
    /// False when the key does not fit `alg` ([`check_algorithm`](Self::check_algorithm)),
    /// when its members are unusable (not strict base64url, wrong length, an RSA modulus
    /// under [`MIN_RSA_BITS`] or with leading zero octets, RFC 7518 §6.3.1.1), or when the
    /// signature does not verify.
    #[must_use]
    pub fn verify(&self, alg: Algorithm, signing_input: &[u8], signature: &[u8]) -> bool {
        self.verify_detailed(alg, signing_input, signature).is_ok()
    }

    /// [`verify`](Self::verify), saying why it failed: [`JoseError::KeyAlgorithmMismatch`],
    /// [`JoseError::KeyRejected`] for unusable key members, or [`JoseError::BadSignature`].
    ///
    /// # Errors
    /// As above.
    pub fn verify_detailed(
        &self,
        alg: Algorithm,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), JoseError> {
        self.check_algorithm(alg)?;
        let verified = match alg {
            Algorithm::Es256 => {
                let x = key_member(&self.x, "x", 32)?;
                let y = key_member(&self.y, "y", 32)?;
                // SEC 1 uncompressed point: 0x04 || X || Y.
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(signing_input, signature)
            }
            Algorithm::EdDsa => {
                let x = key_member(&self.x, "x", 32)?;
                UnparsedPublicKey::new(&signature::ED25519, x).verify(signing_input, signature)
            }
            Algorithm::Rs256 | Algorithm::Ps256 => {
                let n = key_member(&self.n, "n", 0)?;
                let e = key_member(&self.e, "e", 0)?;
                if modulus_bits(&n) < MIN_RSA_BITS || n.first() == Some(&0) {
                    return Err(JoseError::KeyRejected(format!(
                        "the RSA modulus must be at least {MIN_RSA_BITS} bits, without leading zeros"
                    )));
                }
                let params = if alg == Algorithm::Rs256 {
                    &signature::RSA_PKCS1_2048_8192_SHA256
                } else {
                    &signature::RSA_PSS_2048_8192_SHA256
                };
                RsaPublicKeyComponents { n: &n, e: &e }.verify(params, signing_input, signature)
            }
            Algorithm::Hs256 => return Err(JoseError::KeyAlgorithmMismatch(alg)),
        };
        verified.map_err(|_| JoseError::BadSignature)
    }

    /// The RFC 7638 JWK thumbprint: base64url of the SHA-256 of the JSON object of the
    /// key's required members (`crv`, `kty`, `x`, `y` for EC; `crv`, `kty`, `x` for OKP,
    /// RFC 8037 §2; `e`, `kty`, `n` for RSA), in lexicographic order, without whitespace.
    ///
    /// # Errors
    /// [`JoseError::Malformed`] for another key type or a missing required member.
    pub fn thumbprint(&self) -> Result<String, JoseError> {
        const MISSING: JoseError = JoseError::Malformed("the JWK lacks a required member");
        let req = |m: &Option<String>| m.as_deref().map(json_string).ok_or(MISSING);
        let canonical = match self.kty.as_str() {
            "EC" => format!(
                r#"{{"crv":{},"kty":"EC","x":{},"y":{}}}"#,
                req(&self.crv)?,
                req(&self.x)?,
                req(&self.y)?
            ),
            "OKP" => format!(
                r#"{{"crv":{},"kty":"OKP","x":{}}}"#,
                req(&self.crv)?,
                req(&self.x)?
            ),
            "RSA" => format!(
                r#"{{"e":{},"kty":"RSA","n":{}}}"#,
                req(&self.e)?,
                req(&self.n)?
            ),
            _ => {
                return Err(JoseError::Malformed(
                    "thumbprints are defined here for EC, OKP and RSA keys",
                ))
            }
        };
        Ok(b64_encode(
            digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref(),
        ))
    }
}

/// Decodes a required binary key member; `len` 0 means any length.
fn key_member(m: &Option<String>, name: &str, len: usize) -> Result<Vec<u8>, JoseError> {
    m.as_deref()
        .and_then(|s| b64_decode(s, "key member").ok())
        .filter(|b| len == 0 || b.len() == len)
        .ok_or_else(|| {
            JoseError::KeyRejected(format!(
                "the JWK member {name} is missing, not base64url, or of the wrong length"
            ))
        })
}

/// A JSON string literal, escaped as RFC 7638 §3.3 requires (JSON's own rules).
fn json_string(s: &str) -> String {
    Value::from(s).to_string()
}

/// Bit length of a big-endian unsigned integer.
fn modulus_bits(n: &[u8]) -> usize {
    match n.iter().position(|&b| b != 0) {
        None => 0,
        Some(i) => (n.len() - i) * 8 - n[i].leading_zeros() as usize,
    }
}

/// A JWK Set (RFC 7517 §5): the document served at a `jwks_uri`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys, in order.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a JWK Set that must contain only public keys — a client's registered `jwks`
    /// or a document fetched from its `jwks_uri`.
    ///
    /// At most [`MAX_JWKS_LEN`] bytes and [`MAX_JWKS_KEYS`] keys; the top-level object may
    /// not repeat a member name. Keys of types this crate does not verify with are kept
    /// (they simply never match an algorithm).
    ///
    /// # Errors
    /// [`JoseError::TooLarge`] beyond the limits; [`JoseError::PrivateKeyMaterial`] if any
    /// key has a private member ([`PRIVATE_MEMBERS`]); [`JoseError::Malformed`] if it is
    /// not a JWK Set.
    pub fn parse_public(json: impl AsRef<[u8]>) -> Result<Jwks, JoseError> {
        let bytes = json.as_ref();
        if bytes.len() > MAX_JWKS_LEN {
            return Err(JoseError::TooLarge);
        }
        let top = parse_object(bytes, "a JWK Set is a JSON object")?;
        let Some(Value::Array(keys)) = top.get("keys") else {
            return Err(JoseError::Malformed("a JWK Set has a keys array"));
        };
        if keys.len() > MAX_JWKS_KEYS {
            return Err(JoseError::TooLarge);
        }
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let Value::Object(members) = key else {
                return Err(JoseError::Malformed("each JWK is a JSON object"));
            };
            if PRIVATE_MEMBERS.iter().any(|m| members.contains_key(*m)) {
                return Err(JoseError::PrivateKeyMaterial);
            }
            let jwk = Jwk::deserialize(key)
                .map_err(|_| JoseError::Malformed("a JWK lacks kty or has a non-string member"))?;
            out.push(jwk);
        }
        Ok(Jwks { keys: out })
    }

    /// The keys whose `kid` is `kid`, in order.
    pub fn find<'a>(&'a self, kid: &'a str) -> impl Iterator<Item = &'a Jwk> + 'a {
        self.keys
            .iter()
            .filter(move |k| k.kid.as_deref() == Some(kid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1 (the RSA key of RFC 7517 Appendix A.1).
    const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

    /// RFC 7515 Appendix A.3: the ES256 example key and signed token.
    const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
    const A3_JWS: &str = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

    /// RFC 8037 Appendix A.1 / A.4: the Ed25519 example key and signed JWS.
    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    const ED_JWS: &str = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

    fn jwk(json: &str) -> Jwk {
        serde_json::from_str(json).unwrap()
    }

    fn split(jws: &str) -> (&[u8], Vec<u8>) {
        let dot = jws.rfind('.').unwrap();
        (
            &jws.as_bytes()[..dot],
            b64_decode(&jws[dot + 1..], "sig").unwrap(),
        )
    }

    #[test]
    fn rfc7638_thumbprint_example() {
        let k = jwk(&format!(
            r#"{{"kty":"RSA","n":"{RFC7638_N}","e":"AQAB","alg":"RS256","kid":"2011-04-29"}}"#
        ));
        assert_eq!(
            k.thumbprint().unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn rfc8037_okp_thumbprint_example() {
        let k = jwk(&format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}"}}"#));
        assert_eq!(
            k.thumbprint().unwrap(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn thumbprint_needs_required_members() {
        assert!(jwk(r#"{"kty":"EC","crv":"P-256","x":"AA"}"#)
            .thumbprint()
            .is_err());
        assert!(jwk(r#"{"kty":"oct"}"#).thumbprint().is_err());
    }

    #[test]
    fn rfc7515_a3_es256_verifies() {
        let k = jwk(&format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{A3_X}","y":"{A3_Y}"}}"#
        ));
        let (input, sig) = split(A3_JWS);
        assert!(k.verify(Algorithm::Es256, input, &sig));
        let mut bad = sig.clone();
        bad[10] ^= 1;
        assert!(!k.verify(Algorithm::Es256, input, &bad));
        // The same key never verifies under another algorithm.
        for alg in [
            Algorithm::EdDsa,
            Algorithm::Rs256,
            Algorithm::Ps256,
            Algorithm::Hs256,
        ] {
            assert!(!k.verify(alg, input, &sig));
            assert_eq!(
                k.check_algorithm(alg),
                Err(JoseError::KeyAlgorithmMismatch(alg))
            );
        }
    }

    #[test]
    fn rfc8037_a4_eddsa_verifies() {
        let k = jwk(&format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}"}}"#));
        let (input, sig) = split(ED_JWS);
        assert!(k.verify(Algorithm::EdDsa, input, &sig));
        assert!(!k.verify(Algorithm::EdDsa, b"other input", &sig));
        assert!(!k.verify(Algorithm::Es256, input, &sig));
    }

    #[test]
    fn jwk_alg_use_and_curve_must_fit() {
        let base = format!(r#""kty":"EC","crv":"P-256","x":"{A3_X}","y":"{A3_Y}""#);
        let (input, sig) = split(A3_JWS);
        assert!(
            jwk(&format!(r#"{{{base},"alg":"ES256","use":"sig"}}"#)).verify(
                Algorithm::Es256,
                input,
                &sig
            )
        );
        for extra in [r#","alg":"RS256""#, r#","alg":"es256""#, r#","use":"enc""#] {
            let k = jwk(&format!("{{{base}{extra}}}"));
            assert!(!k.verify(Algorithm::Es256, input, &sig), "{extra}");
        }
        let wrong_curve = jwk(&format!(
            r#"{{"kty":"EC","crv":"P-384","x":"{A3_X}","y":"{A3_Y}"}}"#
        ));
        assert!(!wrong_curve.verify(Algorithm::Es256, input, &sig));
        let okp_claiming_ec = jwk(&format!(r#"{{"kty":"OKP","crv":"P-256","x":"{A3_X}"}}"#));
        assert!(!okp_claiming_ec.verify(Algorithm::Es256, input, &sig));
        // Padded or non-base64url coordinates are malformed, not leniently accepted.
        let padded = jwk(&format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{A3_X}=","y":"{A3_Y}"}}"#
        ));
        assert!(!padded.verify(Algorithm::Es256, input, &sig));
    }

    #[test]
    fn short_rsa_modulus_is_refused() {
        // 1024-bit modulus: refused before ring is asked.
        let n = b64_encode(&[0xc5; 128]);
        let k = jwk(&format!(r#"{{"kty":"RSA","n":"{n}","e":"AQAB"}}"#));
        assert!(!k.verify(Algorithm::Rs256, b"x", &[0; 128]));
        assert!(matches!(
            k.verify_detailed(Algorithm::Rs256, b"x", &[0; 128]),
            Err(JoseError::KeyRejected(_))
        ));
        // A leading zero octet is not the minimal encoding (RFC 7518 §6.3.1.1).
        let mut padded = vec![0];
        padded.extend([0xc5; 256]);
        let n = b64_encode(&padded);
        let k = jwk(&format!(r#"{{"kty":"RSA","n":"{n}","e":"AQAB"}}"#));
        assert!(matches!(
            k.verify_detailed(Algorithm::Ps256, b"x", &[0; 256]),
            Err(JoseError::KeyRejected(_))
        ));
        let ec = jwk(r#"{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}"#);
        assert!(matches!(
            ec.verify_detailed(Algorithm::Es256, b"x", &[0; 64]),
            Err(JoseError::KeyRejected(_))
        ));
        assert_eq!(modulus_bits(&[0x01, 0x00]), 9);
        assert_eq!(modulus_bits(&[0x00, 0x80]), 8);
        assert_eq!(modulus_bits(&[]), 0);
    }

    #[test]
    fn private_members_are_refused() {
        for m in PRIVATE_MEMBERS {
            let json = format!(
                r#"{{"keys":[{{"kty":"EC","crv":"P-256","x":"{A3_X}","y":"{A3_Y}","{m}":"AA"}}]}}"#
            );
            assert_eq!(
                Jwks::parse_public(&json),
                Err(JoseError::PrivateKeyMaterial),
                "{m}"
            );
            assert!(serde_json::from_str::<Jwks>(&json).is_err(), "{m}");
        }
        let oct = r#"{"keys":[{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T"}]}"#;
        assert_eq!(Jwks::parse_public(oct), Err(JoseError::PrivateKeyMaterial));
    }

    #[test]
    fn parse_public_bounds_and_shape() {
        let one = format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"a"}}"#);
        let set = Jwks::parse_public(format!(r#"{{"keys":[{one},{one}]}}"#)).unwrap();
        assert_eq!(set.keys.len(), 2);
        assert_eq!(set.find("a").count(), 2);
        assert_eq!(set.find("b").count(), 0);

        let many = vec![one.as_str(); MAX_JWKS_KEYS + 1].join(",");
        assert_eq!(
            Jwks::parse_public(format!(r#"{{"keys":[{many}]}}"#)),
            Err(JoseError::TooLarge)
        );
        let big = format!(r#"{{"keys":[],"pad":"{}"}}"#, "a".repeat(MAX_JWKS_LEN));
        assert_eq!(Jwks::parse_public(big), Err(JoseError::TooLarge));

        for bad in [
            "",
            "[]",
            "{}",
            r#"{"keys":{}}"#,
            r#"{"keys":[1]}"#,
            r#"{"keys":[{"crv":"P-256"}]}"#,
            r#"{"keys":[{"kty":1}]}"#,
            r#"{"keys":[{"kty":"EC","x":[]}]}"#,
            r#"{"keys":[],"keys":[]}"#,
        ] {
            assert!(
                matches!(Jwks::parse_public(bad), Err(JoseError::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn serialisation_skips_absent_members() {
        let k = jwk(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","use":"sig","key_ops":["verify"]}}"#
        ));
        assert_eq!(
            serde_json::to_string(&k).unwrap(),
            format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","use":"sig"}}"#)
        );
        let set = Jwks { keys: vec![k] };
        let back: Jwks = serde_json::from_str(&serde_json::to_string(&set).unwrap()).unwrap();
        assert_eq!(back, set);
    }
}
