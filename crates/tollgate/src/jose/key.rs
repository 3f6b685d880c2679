//! The server's private signing keys: ES256 (RFC 7518 §3.4), EdDSA (RFC 8037 §3.1), RS256
//! (RFC 7518 §3.3) and PS256 (RFC 7518 §3.5), loaded from or persisted as unencrypted
//! PKCS#8 (RFC 5958) in DER or PEM (RFC 7468 §10), with the `kid` defaulting to the RFC 7638
//! JWK thumbprint of the public key.

use std::fmt;

use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaEncoding, RsaKeyPair, RsaPublicKeyComponents,
    ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256, RSA_PSS_SHA256,
};

use super::jwk::MIN_RSA_BITS;
use super::{b64_encode, Algorithm, JoseError, Jwk};

/// The longest `kid` accepted, in bytes.
pub const MAX_KID_LEN: usize = 128;

/// The PEM label of an unencrypted PKCS#8 private key (RFC 7468 §10).
const PKCS8_LABEL: &str = "PRIVATE KEY";

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Rsa(RsaKeyPair),
}

/// A private key the server signs with, bound to one [`Algorithm`] and one `kid`.
///
/// Its `Debug` shows only the `kid` and algorithm, never key material.
pub struct SigningKey {
    kid: String,
    alg: Algorithm,
    pair: Pair,
    pkcs8: Vec<u8>,
    jwk: Jwk,
    /// The protected headers this key signs under most often, base64url-encoded once here
    /// instead of serialised and encoded per token: no `typ`, `typ: JWT` (ID tokens,
    /// assertions) and `typ: at+jwt` (RFC 9068 access tokens).
    headers: [String; 3],
}

/// The `typ` values whose headers a [`SigningKey`] keeps encoded, in its `headers` order.
const CACHED_TYP: [Option<&str>; 3] = [None, Some("JWT"), Some("at+jwt")];

impl SigningKey {
    /// Generates a new key for `alg` from the OS random source.
    ///
    /// Key generation happens once, at setup, outside any request decision; persist the
    /// result with [`pkcs8_der`](Self::pkcs8_der) or [`to_pkcs8_pem`](Self::to_pkcs8_pem).
    /// `kid` defaults to the RFC 7638 thumbprint of the public key.
    ///
    /// # Errors
    /// [`JoseError::KeyGenerationUnsupported`] for RS256 and PS256 (`ring` cannot generate
    /// RSA keys: generate one with `openssl genpkey -algorithm RSA -pkeyopt
    /// rsa_keygen_bits:2048` and load it with [`from_pkcs8_pem`](Self::from_pkcs8_pem));
    /// [`JoseError::KeyRejected`] for HS256 or a bad `kid`; [`JoseError::CryptoFailure`]
    /// if the random source fails.
    pub fn generate(alg: Algorithm, kid: Option<String>) -> Result<SigningKey, JoseError> {
        let rng = SystemRandom::new();
        let doc = match alg {
            Algorithm::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            }
            Algorithm::EdDsa => Ed25519KeyPair::generate_pkcs8(&rng),
            Algorithm::Rs256 | Algorithm::Ps256 => {
                return Err(JoseError::KeyGenerationUnsupported(alg))
            }
            Algorithm::Hs256 => return Err(not_a_key_pair()),
        }
        .map_err(|_| JoseError::CryptoFailure)?;
        SigningKey::from_pkcs8_der(alg, doc.as_ref(), kid)
    }

    /// Loads an unencrypted PKCS#8 (RFC 5958) private key in DER for `alg`.
    ///
    /// ES256 needs a P-256 key whose `ECPrivateKey` includes the public key (as OpenSSL
    /// writes it); EdDSA accepts PKCS#8 v1 and v2 (a v2 public key is checked against the
    /// private key); RS256/PS256 need an RSA key of 2048 to 4096 bits. `kid` defaults to
    /// the RFC 7638 thumbprint; a given `kid` must be 1 to [`MAX_KID_LEN`] visible ASCII
    /// characters.
    ///
    /// # Errors
    /// [`JoseError::KeyRejected`] when the key does not parse, does not fit `alg`, or the
    /// `kid` is unusable.
    pub fn from_pkcs8_der(
        alg: Algorithm,
        der: &[u8],
        kid: Option<String>,
    ) -> Result<SigningKey, JoseError> {
        let rejected = |e: ring::error::KeyRejected| {
            JoseError::KeyRejected(format!("not a PKCS#8 {alg} private key ({e})"))
        };
        let pair = match alg {
            Algorithm::Es256 => Pair::Ecdsa(
                EcdsaKeyPair::from_pkcs8(
                    &ECDSA_P256_SHA256_FIXED_SIGNING,
                    der,
                    &SystemRandom::new(),
                )
                .map_err(rejected)?,
            ),
            Algorithm::EdDsa => {
                Pair::Ed25519(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(rejected)?)
            }
            Algorithm::Rs256 | Algorithm::Ps256 => {
                let pair = RsaKeyPair::from_pkcs8(der).map_err(rejected)?;
                if pair.public().modulus_len() * 8 < MIN_RSA_BITS {
                    return Err(JoseError::KeyRejected(format!(
                        "RSA keys must have at least {MIN_RSA_BITS} bits"
                    )));
                }
                Pair::Rsa(pair)
            }
            Algorithm::Hs256 => return Err(not_a_key_pair()),
        };
        let mut jwk = public_jwk(alg, &pair)?;
        let kid = match kid {
            Some(kid) => {
                check_kid(&kid)?;
                kid
            }
            None => jwk.thumbprint()?,
        };
        jwk.kid = Some(kid.clone());
        let header = |typ| super::jws::encoded_header(alg, Some(&kid), typ);
        let headers = [
            header(CACHED_TYP[0])?,
            header(CACHED_TYP[1])?,
            header(CACHED_TYP[2])?,
        ];
        Ok(SigningKey {
            kid,
            alg,
            pair,
            pkcs8: der.to_vec(),
            jwk,
            headers,
        })
    }

    /// Loads an unencrypted PKCS#8 private key from PEM text: exactly one
    /// `-----BEGIN PRIVATE KEY-----` block (RFC 7468 §10). Otherwise as
    /// [`from_pkcs8_der`](Self::from_pkcs8_der).
    ///
    /// # Errors
    /// [`JoseError::KeyRejected`] for anything but a single PKCS#8 block — with a hint for
    /// the SEC 1 (`EC PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) and encrypted forms — and
    /// for whatever [`from_pkcs8_der`](Self::from_pkcs8_der) rejects.
    pub fn from_pkcs8_pem(
        alg: Algorithm,
        pem_text: &str,
        kid: Option<String>,
    ) -> Result<SigningKey, JoseError> {
        let blocks = pem::parse_many(pem_text)
            .map_err(|_| JoseError::KeyRejected("the PEM text does not parse".into()))?;
        let [block] = blocks.as_slice() else {
            return Err(JoseError::KeyRejected(
                "expected exactly one PEM block".into(),
            ));
        };
        match block.tag() {
            PKCS8_LABEL => SigningKey::from_pkcs8_der(alg, block.contents(), kid),
            "EC PRIVATE KEY" | "RSA PRIVATE KEY" => Err(JoseError::KeyRejected(
                "a SEC 1 or PKCS#1 key: convert it with `openssl pkcs8 -topk8 -nocrypt`".into(),
            )),
            "ENCRYPTED PRIVATE KEY" => Err(JoseError::KeyRejected(
                "encrypted PKCS#8 is not supported: decrypt it first".into(),
            )),
            _ => Err(JoseError::KeyRejected(
                "expected a PEM block labelled PRIVATE KEY".into(),
            )),
        }
    }

    /// The key id, published as the JWK's `kid` and put in every JWS header it signs.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The base64url protected header `{"alg":…,"kid":…,"typ":…}` for `typ`, when it is one
    /// kept encoded ([`CACHED_TYP`]).
    pub(crate) fn encoded_header(&self, typ: Option<&str>) -> Option<&str> {
        let i = CACHED_TYP.iter().position(|t| *t == typ)?;
        self.headers.get(i).map(String::as_str)
    }

    /// The one algorithm this key signs with.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// **Secret**: the private key as PKCS#8 DER, for persisting a generated key. Store it
    /// as you would a password database; never log or publish it.
    #[must_use]
    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// **Secret**: the private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, LF line
    /// endings), readable by [`from_pkcs8_pem`](Self::from_pkcs8_pem) and OpenSSL.
    #[must_use]
    pub fn to_pkcs8_pem(&self) -> String {
        pem::encode_config(
            &pem::Pem::new(PKCS8_LABEL, self.pkcs8.clone()),
            pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
        )
    }

    /// The public key as a JWK with `kid`, `alg` and `use: "sig"`, for the JWKS.
    #[must_use]
    pub fn public_jwk(&self) -> Jwk {
        self.jwk.clone()
    }

    /// The public JWK, borrowed.
    pub(crate) fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// Signs `signing_input` (for a JWS, `BASE64URL(header) || '.' || BASE64URL(payload)`,
    /// RFC 7515 §5.1) and returns the raw signature: `R || S` (64 bytes) for ES256, 64
    /// bytes for EdDSA, the modulus length for RS256/PS256.
    ///
    /// ES256 and PS256 signatures are randomized: `ring` draws the ECDSA nonce and the PSS
    /// salt from `ring::rand::SystemRandom`, the OS source. The project's injected
    /// [`SecureRandom`](crate::random::SecureRandom) cannot be used here because `ring`'s
    /// random trait is sealed. The randomness changes only the signature bytes, never any
    /// decision; EdDSA and RS256 signatures are deterministic.
    ///
    /// # Errors
    /// [`JoseError::CryptoFailure`] if the OS random source fails.
    pub fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, JoseError> {
        match &self.pair {
            Pair::Ecdsa(pair) => pair
                .sign(&SystemRandom::new(), signing_input)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| JoseError::CryptoFailure),
            Pair::Ed25519(pair) => Ok(pair.sign(signing_input).as_ref().to_vec()),
            Pair::Rsa(pair) => {
                let padding: &'static dyn RsaEncoding = if self.alg == Algorithm::Rs256 {
                    &RSA_PKCS1_SHA256
                } else {
                    &RSA_PSS_SHA256
                };
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(padding, &SystemRandom::new(), signing_input, &mut sig)
                    .map_err(|_| JoseError::CryptoFailure)?;
                Ok(sig)
            }
        }
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn not_a_key_pair() -> JoseError {
    JoseError::KeyRejected(
        "HS256 uses a shared secret, not a key pair: see jws::sign_compact_hs256".into(),
    )
}

fn check_kid(kid: &str) -> Result<(), JoseError> {
    if kid.is_empty() || kid.len() > MAX_KID_LEN || !kid.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(JoseError::KeyRejected(format!(
            "a kid is 1 to {MAX_KID_LEN} visible ASCII characters"
        )));
    }
    Ok(())
}

/// The public JWK of a key pair (RFC 7518 §6.2.1, §6.3.1; RFC 8037 §2), without `kid`.
fn public_jwk(alg: Algorithm, pair: &Pair) -> Result<Jwk, JoseError> {
    let (crv, x, y, n, e) = match pair {
        Pair::Ecdsa(p) => {
            // SEC 1 uncompressed point: 0x04 || X (32) || Y (32).
            let point = p.public_key().as_ref();
            let (Some(x), Some(y)) = (point.get(1..33), point.get(33..65)) else {
                return Err(JoseError::KeyRejected("unexpected P-256 public key".into()));
            };
            (
                Some("P-256"),
                Some(b64_encode(x)),
                Some(b64_encode(y)),
                None,
                None,
            )
        }
        Pair::Ed25519(p) => (
            Some("Ed25519"),
            Some(b64_encode(p.public_key().as_ref())),
            None,
            None,
            None,
        ),
        Pair::Rsa(p) => {
            let c = RsaPublicKeyComponents::<Vec<u8>>::from(p.public());
            (
                None,
                None,
                None,
                Some(b64_encode(&c.n)),
                Some(b64_encode(&c.e)),
            )
        }
    };
    Ok(Jwk {
        kty: alg.key_type().to_string(),
        crv: crv.map(str::to_string),
        x,
        y,
        n,
        e,
        kid: None,
        alg: Some(alg.as_str().to_string()),
        key_use: Some("sig".to_string()),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A 2048-bit RSA key for the tests (generated with OpenSSL for these tests; never use it elsewhere).
    pub(crate) const RSA_PEM: &str = include_str!("testdata/test-only-rsa2048.pem");

    /// The headers a key keeps encoded are exactly the ones written per token: every `typ`
    /// signs under the same header bytes whether it is kept or not (RFC 7515 §7.1).
    #[test]
    fn kept_headers_are_the_ones_written_per_token() {
        use crate::jose::jws::{encoded_header, sign_compact};
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let key = SigningKey::generate(alg, Some("k-1".into())).unwrap();
            for typ in [None, Some("JWT"), Some("at+jwt"), Some("logout+jwt")] {
                let expected = encoded_header(alg, Some("k-1"), typ).unwrap();
                let token = sign_compact(&key, typ, b"{}").unwrap();
                assert_eq!(token.split('.').next(), Some(expected.as_str()), "{typ:?}");
                let kept = typ != Some("logout+jwt");
                assert_eq!(key.encoded_header(typ).is_some(), kept, "{typ:?}");
                if kept {
                    assert_eq!(key.encoded_header(typ), Some(expected.as_str()));
                }
            }
            let json = crate::b64::url_decode(key.encoded_header(Some("at+jwt")).unwrap()).unwrap();
            assert_eq!(
                String::from_utf8(json).unwrap(),
                format!(r#"{{"alg":"{}","kid":"k-1","typ":"at+jwt"}}"#, alg.as_str())
            );
        }
    }

    /// RFC 8037 Appendix A.1's Ed25519 seed, as PKCS#8 v1 (RFC 8410 §7).
    fn rfc8037_pkcs8() -> Vec<u8> {
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend(
            crate::jose::b64_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A", "d").unwrap(),
        );
        der
    }

    #[test]
    fn generate_each_algorithm_and_round_trip_signatures() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let key = SigningKey::generate(alg, None).unwrap();
            assert_eq!(key.algorithm(), alg);
            let jwk = key.public_jwk();
            assert_eq!(jwk.kid.as_deref(), Some(key.kid()));
            assert_eq!(jwk.alg.as_deref(), Some(alg.as_str()));
            assert_eq!(key.kid(), jwk.thumbprint().unwrap());
            let sig = key.sign(b"input").unwrap();
            assert_eq!(sig.len(), 64);
            assert!(jwk.verify(alg, b"input", &sig));
            assert!(!jwk.verify(alg, b"inpuT", &sig));
            // Persisted and reloaded, it is the same key.
            let again = SigningKey::from_pkcs8_pem(alg, &key.to_pkcs8_pem(), None).unwrap();
            assert_eq!(again.public_jwk(), jwk);
            assert!(jwk.verify(alg, b"x", &again.sign(b"x").unwrap()));
        }
    }

    #[test]
    fn rsa_cannot_be_generated_but_loads() {
        for alg in [Algorithm::Rs256, Algorithm::Ps256] {
            assert_eq!(
                SigningKey::generate(alg, None).unwrap_err(),
                JoseError::KeyGenerationUnsupported(alg)
            );
            let key = SigningKey::from_pkcs8_pem(alg, RSA_PEM, Some("rsa-1".into())).unwrap();
            assert_eq!(key.kid(), "rsa-1");
            let jwk = key.public_jwk();
            assert_eq!(jwk.kty, "RSA");
            assert_eq!(jwk.e.as_deref(), Some("AQAB"));
            let sig = key.sign(b"input").unwrap();
            assert_eq!(sig.len(), 256);
            assert!(jwk.verify(alg, b"input", &sig));
            let other = if alg == Algorithm::Rs256 {
                Algorithm::Ps256
            } else {
                Algorithm::Rs256
            };
            // The JWK names its algorithm, so the other RSA padding is refused.
            assert!(!jwk.verify(other, b"input", &sig));
        }
        let rs = SigningKey::from_pkcs8_pem(Algorithm::Rs256, RSA_PEM, None).unwrap();
        assert_eq!(
            rs.sign(b"m").unwrap(),
            rs.sign(b"m").unwrap(),
            "RS256 is deterministic"
        );
        let ps = SigningKey::from_pkcs8_pem(Algorithm::Ps256, RSA_PEM, None).unwrap();
        assert_ne!(
            ps.sign(b"m").unwrap(),
            ps.sign(b"m").unwrap(),
            "PS256 is salted"
        );
        assert_eq!(rs.kid(), ps.kid(), "the thumbprint does not depend on alg");
    }

    #[test]
    fn rfc8037_eddsa_signature_is_reproduced() {
        let key = SigningKey::from_pkcs8_der(Algorithm::EdDsa, &rfc8037_pkcs8(), None).unwrap();
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
        assert_eq!(
            key.public_jwk().x.as_deref(),
            Some("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
        );
        let sig = key
            .sign(b"eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc")
            .unwrap();
        assert_eq!(
            b64_encode(&sig),
            "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        );
    }

    #[test]
    fn keys_must_fit_their_algorithm() {
        let ec = SigningKey::generate(Algorithm::Es256, None).unwrap();
        let ed = SigningKey::generate(Algorithm::EdDsa, None).unwrap();
        let cases: [(Algorithm, &[u8]); 5] = [
            (Algorithm::EdDsa, ec.pkcs8_der()),
            (Algorithm::Rs256, ec.pkcs8_der()),
            (Algorithm::Es256, ed.pkcs8_der()),
            (Algorithm::Ps256, ed.pkcs8_der()),
            (Algorithm::Hs256, ec.pkcs8_der()),
        ];
        for (alg, der) in cases {
            assert!(
                matches!(
                    SigningKey::from_pkcs8_der(alg, der, None),
                    Err(JoseError::KeyRejected(_))
                ),
                "{alg}"
            );
        }
        assert!(SigningKey::from_pkcs8_der(Algorithm::Es256, b"", None).is_err());
        assert!(SigningKey::generate(Algorithm::Hs256, None).is_err());
    }

    #[test]
    fn pem_must_be_one_pkcs8_block() {
        let key = SigningKey::generate(Algorithm::Es256, None).unwrap();
        let pem = key.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        for bad in [
            String::new(),
            "not pem".to_string(),
            format!("{pem}{pem}"),
            pem.replace("PRIVATE KEY", "EC PRIVATE KEY"),
            pem.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"),
            pem.replace("PRIVATE KEY", "PUBLIC KEY"),
        ] {
            assert!(
                matches!(
                    SigningKey::from_pkcs8_pem(Algorithm::Es256, &bad, None),
                    Err(JoseError::KeyRejected(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn kid_rules() {
        let der = SigningKey::generate(Algorithm::EdDsa, None)
            .unwrap()
            .pkcs8_der()
            .to_vec();
        assert!(SigningKey::from_pkcs8_der(Algorithm::EdDsa, &der, Some("2024-01".into())).is_ok());
        for bad in ["", "a b", "a\n", "é", &"k".repeat(MAX_KID_LEN + 1)] {
            assert!(
                SigningKey::from_pkcs8_der(Algorithm::EdDsa, &der, Some(bad.into())).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_shows_no_key_material() {
        let key = SigningKey::generate(Algorithm::EdDsa, Some("k1".into())).unwrap();
        let dbg = format!("{key:?}");
        assert_eq!(dbg, "SigningKey { kid: \"k1\", alg: EdDsa, .. }");
        let b64 = crate::jose::b64_encode(key.pkcs8_der());
        assert!(!dbg.contains(&b64[..16]));
    }

    #[test]
    fn signing_keys_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<SigningKey>();
    }
}
