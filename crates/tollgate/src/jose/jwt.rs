//! JSON Web Tokens (RFC 7519) as JWS compact serialisations: signing a claims set
//! ([`encode`]) and verifying a token's signature to get its claims ([`decode_verified`],
//! RFC 7519 §7.2 steps 1–9 and 10 for JWS-secured JWTs).
//!
//! Claim *validation* — `iss`, `aud`, `exp`, `nbf`, `iat`, `jti` (RFC 7519 §4.1, RFC 7523
//! §3) — is the caller's: these functions check only that the claims are a JSON object with
//! unique member names (RFC 7519 §4), signed by an allowed algorithm and a fitting key.

use serde::Serialize;
use serde_json::{Map, Value};

use super::jws::{sign_compact, CompactJws, Header, VerifyingKey};
use super::{parse_object, Algorithm, JoseError, Jwk, SigningKey};

/// Signs `claims` as a JWT with `key`. `typ` is the header's `typ` — `Some("JWT")` for ID
/// tokens and assertions, `Some("at+jwt")` for RFC 9068 access tokens.
///
/// # Errors
/// [`JoseError::Serialization`] if `claims` does not serialise to a JSON object;
/// [`JoseError::CryptoFailure`] if signing fails.
pub fn encode<T: Serialize + ?Sized>(
    key: &SigningKey,
    typ: Option<&str>,
    claims: &T,
) -> Result<String, JoseError> {
    let payload =
        serde_json::to_vec(claims).map_err(|e| JoseError::Serialization(e.to_string()))?;
    if payload.first() != Some(&b'{') {
        return Err(JoseError::Serialization(
            "the claims are not a JSON object".into(),
        ));
    }
    sign_compact(key, typ, &payload)
}

/// Verifies `token` and returns its claims.
///
/// The header's `alg` must be in `allowed`. For HS256 the key is `hmac_secret` and only
/// that (never a JWK). Otherwise, with a `kid` in the header, the candidates are the
/// `keys` with that `kid`; without one, every key that fits the algorithm is tried (see
/// [`keys_for`]). `max_len` bounds the token's length.
///
/// # Errors
/// Every error of [`CompactJws::parse`] and [`CompactJws::verify_with`];
/// [`JoseError::Malformed`] if the verified payload is not a JSON object with unique member
/// names.
pub fn decode_verified(
    token: &str,
    allowed: &[Algorithm],
    keys: &[Jwk],
    hmac_secret: Option<&[u8]>,
    max_len: usize,
) -> Result<Map<String, Value>, JoseError> {
    let jws = CompactJws::parse(token, max_len)?;
    let payload = jws.verify_with(allowed, |header| keys_for(header, keys, hmac_secret))?;
    claims(payload)
}

/// The candidate keys for `header`, as [`decode_verified`] chooses them: for HS256 the
/// shared secret if there is one; else the JWKs whose `kid` equals the header's (even
/// those that do not fit, so a mismatch is reported as such); else, with no `kid`, every
/// JWK that fits the algorithm.
#[must_use]
pub fn keys_for<'k>(
    header: &Header,
    keys: &'k [Jwk],
    hmac_secret: Option<&'k [u8]>,
) -> Vec<VerifyingKey<'k>> {
    let alg = header.alg();
    if alg.is_symmetric() {
        return hmac_secret
            .map(VerifyingKey::HmacSecret)
            .into_iter()
            .collect();
    }
    keys.iter()
        .filter(|k| match header.kid() {
            Some(kid) => k.kid.as_deref() == Some(kid),
            None => k.check_algorithm(alg).is_ok(),
        })
        .map(VerifyingKey::Jwk)
        .collect()
}

/// Reads the header and claims of `token` **without verifying it** — only to learn which
/// key to verify with (for example the `iss`/`sub` of a client assertion naming its
/// client). Never act on the result otherwise.
///
/// # Errors
/// As [`CompactJws::parse`]; [`JoseError::Malformed`] if the payload is not a JSON object.
pub fn peek_unverified(
    token: &str,
    max_len: usize,
) -> Result<(Header, Map<String, Value>), JoseError> {
    let jws = CompactJws::parse(token, max_len)?;
    let claims = claims(jws.unverified_payload())?;
    Ok((jws.header().clone(), claims))
}

fn claims(payload: &[u8]) -> Result<Map<String, Value>, JoseError> {
    parse_object(
        payload,
        "the JWT claims are not a JSON object with unique member names",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::jws::{sign_compact_hs256, DEFAULT_MAX_LEN};
    use crate::jose::key::tests::RSA_PEM;
    use crate::jose::Jwks;

    const SECRET: &[u8] = b"client-secret-0123456789abcdefghijklmnop";

    #[derive(Serialize)]
    struct Claims<'a> {
        iss: &'a str,
        sub: &'a str,
        exp: u64,
    }

    const CLAIMS: Claims<'static> = Claims {
        iss: "https://as.test",
        sub: "alice",
        exp: 1_700_000_000,
    };

    fn all_keys() -> Vec<SigningKey> {
        vec![
            SigningKey::generate(Algorithm::Es256, None).unwrap(),
            SigningKey::generate(Algorithm::EdDsa, None).unwrap(),
            SigningKey::from_pkcs8_pem(Algorithm::Rs256, RSA_PEM, Some("rs".into())).unwrap(),
            SigningKey::from_pkcs8_pem(Algorithm::Ps256, RSA_PEM, Some("ps".into())).unwrap(),
        ]
    }

    fn decode(
        token: &str,
        allowed: &[Algorithm],
        keys: &[Jwk],
    ) -> Result<Map<String, Value>, JoseError> {
        decode_verified(token, allowed, keys, None, DEFAULT_MAX_LEN)
    }

    #[test]
    fn encode_decode_round_trip_every_algorithm() {
        let keys = all_keys();
        let jwks: Vec<Jwk> = keys.iter().map(SigningKey::public_jwk).collect();
        for key in &keys {
            let token = encode(key, Some("JWT"), &CLAIMS).unwrap();
            let claims = decode(&token, &Algorithm::ALL, &jwks).unwrap();
            assert_eq!(claims["sub"], "alice");
            assert_eq!(claims["exp"], 1_700_000_000);
            // Member order is the struct's.
            let payload = crate::jose::b64_decode(token.split('.').nth(1).unwrap(), "p").unwrap();
            assert_eq!(
                payload,
                br#"{"iss":"https://as.test","sub":"alice","exp":1700000000}"#
            );
        }
        let token = sign_compact_hs256(SECRET, None, Some("JWT"), br#"{"sub":"c1"}"#).unwrap();
        let claims = decode_verified(
            &token,
            &[Algorithm::Hs256],
            &jwks,
            Some(SECRET),
            DEFAULT_MAX_LEN,
        )
        .unwrap();
        assert_eq!(claims["sub"], "c1");
    }

    #[test]
    fn claims_must_be_an_object() {
        let key = SigningKey::generate(Algorithm::EdDsa, None).unwrap();
        assert!(matches!(
            encode(&key, None, &[1, 2]),
            Err(JoseError::Serialization(_))
        ));
        assert!(matches!(
            encode(&key, None, "x"),
            Err(JoseError::Serialization(_))
        ));
        let jwk = [key.public_jwk()];
        for payload in [&b"[]"[..], b"", b"null", br#"{"a":1,"a":2}"#, b"{"] {
            let token = sign_compact(&key, None, payload).unwrap();
            assert!(
                matches!(
                    decode(&token, &[Algorithm::EdDsa], &jwk),
                    Err(JoseError::Malformed(_))
                ),
                "{payload:?}"
            );
        }
    }

    #[test]
    fn kid_selects_the_key_and_no_kid_tries_fitting_keys() {
        let (a, b) = (
            SigningKey::generate(Algorithm::Es256, Some("a".into())).unwrap(),
            SigningKey::generate(Algorithm::Es256, Some("b".into())).unwrap(),
        );
        let ed = SigningKey::generate(Algorithm::EdDsa, Some("e".into())).unwrap();
        let jwks = [a.public_jwk(), ed.public_jwk(), b.public_jwk()];
        let token = encode(&b, None, &CLAIMS).unwrap();
        assert!(decode(&token, &[Algorithm::Es256], &jwks).is_ok());
        assert_eq!(
            decode(&token, &[Algorithm::Es256], &jwks[..2]),
            Err(JoseError::KeyNotFound)
        );
        // Without kid: every ES256 key is tried.
        let mut anon = b.public_jwk();
        anon.kid = None;
        let header = crate::jose::b64_encode(br#"{"alg":"ES256"}"#);
        let payload = crate::jose::b64_encode(br#"{"sub":"x"}"#);
        let input = format!("{header}.{payload}");
        let sig = crate::jose::b64_encode(&b.sign(input.as_bytes()).unwrap());
        let token = format!("{input}.{sig}");
        assert!(decode(
            &token,
            &[Algorithm::Es256],
            &[ed.public_jwk(), a.public_jwk(), anon.clone()]
        )
        .is_ok());
        assert_eq!(
            decode(&token, &[Algorithm::Es256], &[a.public_jwk()]),
            Err(JoseError::BadSignature)
        );
        assert_eq!(
            decode(&token, &[Algorithm::Es256], &[ed.public_jwk()]),
            Err(JoseError::KeyNotFound)
        );
        // A kid naming a key of another type reports the mismatch.
        let mut ed_named_b = ed.public_jwk();
        ed_named_b.kid = Some("b".into());
        let token = encode(&b, None, &CLAIMS).unwrap();
        assert_eq!(
            decode(&token, &[Algorithm::Es256], &[ed_named_b]),
            Err(JoseError::KeyAlgorithmMismatch(Algorithm::Es256))
        );
    }

    /// RFC 8725 §2.1: HS256 "signed" with the public JWK JSON (or any public encoding)
    /// must never verify, whatever the verifier allows.
    #[test]
    fn alg_confusion_is_refused() {
        let keys = all_keys();
        let jwks = Jwks {
            keys: keys.iter().map(SigningKey::public_jwk).collect(),
        };
        let jwks_json = serde_json::to_vec(&jwks).unwrap();
        for key in &keys {
            let jwk = key.public_jwk();
            for hmac_key in [serde_json::to_vec(&jwk).unwrap(), jwks_json.clone()] {
                let forged = sign_compact_hs256(
                    &hmac_key,
                    Some(key.kid()),
                    Some("JWT"),
                    br#"{"sub":"admin"}"#,
                )
                .unwrap();
                assert_eq!(
                    decode(&forged, &[key.algorithm()], &jwks.keys),
                    Err(JoseError::AlgorithmNotAllowed(Algorithm::Hs256))
                );
                assert_eq!(
                    decode(&forged, &Algorithm::ALL, &jwks.keys),
                    Err(JoseError::KeyNotFound),
                    "HS256 is keyed only by the shared secret"
                );
                assert_eq!(
                    decode_verified(
                        &forged,
                        &Algorithm::ALL,
                        &jwks.keys,
                        Some(SECRET),
                        DEFAULT_MAX_LEN
                    ),
                    Err(JoseError::BadSignature)
                );
            }
        }
    }

    #[test]
    fn alg_none_is_refused() {
        let key = SigningKey::generate(Algorithm::Es256, Some("k".into())).unwrap();
        let header = crate::jose::b64_encode(br#"{"alg":"none","kid":"k"}"#);
        let payload = crate::jose::b64_encode(br#"{"sub":"admin"}"#);
        for token in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}.AAAA"),
        ] {
            assert_eq!(
                decode(&token, &Algorithm::ALL, &[key.public_jwk()]),
                Err(JoseError::NoneAlgorithm)
            );
        }
    }

    #[test]
    fn peek_reads_without_verifying() {
        let key = SigningKey::generate(Algorithm::EdDsa, Some("k".into())).unwrap();
        let token = encode(&key, Some("JWT"), &CLAIMS).unwrap();
        let (header, claims) = peek_unverified(&token, DEFAULT_MAX_LEN).unwrap();
        assert_eq!(header.kid(), Some("k"));
        assert_eq!(claims["iss"], "https://as.test");
        assert!(peek_unverified("a.b", DEFAULT_MAX_LEN).is_err());
    }
}
