//! JWS compact serialisation (RFC 7515 §3.1, §7.1): a strict, total parser; verification
//! against an algorithm allow-list and caller-resolved keys (RFC 7515 §5.2, RFC 8725 §3.1);
//! and signing.
//!
//! [`CompactJws::parse`] accepts exactly `BASE64URL(header) '.' BASE64URL(payload) '.'
//! BASE64URL(signature)`, each part strict base64url without padding (RFC 7515 §2), within
//! a caller-given length. The protected header must be a JSON object with unique member
//! names (RFC 7515 §5.2 step 4) and a string `alg` this crate implements; `alg: none`,
//! `crit` (RFC 7515 §4.1.11 — no extensions are understood) and the key-carrying `jku`,
//! `x5u`, `jwk`, `x5c` (RFC 8725 §3.10) are refused. Nothing is trusted until
//! [`CompactJws::verify_with`] succeeds.

use std::fmt;

use ring::hmac;
use serde::Serialize;
use serde_json::{Map, Value};

use super::{b64_decode, parse_object, Algorithm, JoseError, Jwk, SigningKey};

/// A reasonable `max_len` for [`CompactJws::parse`]: 16 KiB, far above any ID token, access
/// token or client assertion Tollgate deals with.
pub const DEFAULT_MAX_LEN: usize = 16 * 1024;

/// Header parameters that would let a token name its own verification key; always
/// refused (RFC 8725 §3.10).
pub const FORBIDDEN_HEADERS: [&str; 4] = ["jku", "x5u", "jwk", "x5c"];

/// The shortest HS256 secret accepted, in bytes: the hash output size (RFC 7518 §3.2).
pub const MIN_HMAC_SECRET_LEN: usize = 32;

/// A parsed, checked JOSE protected header (RFC 7515 §4).
#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    alg: Algorithm,
    kid: Option<String>,
    typ: Option<String>,
    cty: Option<String>,
    members: Map<String, Value>,
}

impl Header {
    /// The algorithm the token claims (RFC 7515 §4.1.1). It is checked against the
    /// caller's allow-list before any key is used.
    #[must_use]
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The key id hint (RFC 7515 §4.1.4).
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The media type of the whole JWS (RFC 7515 §4.1.9), e.g. `JWT` or `at+jwt`
    /// (RFC 9068 §2.1); explicit typing is how RFC 8725 §3.11 tells token kinds apart.
    #[must_use]
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// The media type of the payload (RFC 7515 §4.1.10).
    #[must_use]
    pub fn cty(&self) -> Option<&str> {
        self.cty.as_deref()
    }

    /// Any header member by name, as JSON.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.members.get(name)
    }

    fn parse(bytes: &[u8]) -> Result<Header, JoseError> {
        let members = parse_object(
            bytes,
            "the JOSE header is not a JSON object with unique member names",
        )?;
        let alg = match members.get("alg") {
            None => return Err(JoseError::Malformed("the JOSE header has no alg")),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("none") => {
                return Err(JoseError::NoneAlgorithm)
            }
            Some(Value::String(s)) => Algorithm::parse(s).ok_or(JoseError::UnsupportedAlgorithm)?,
            Some(_) => return Err(JoseError::Malformed("alg is not a string")),
        };
        if members.contains_key("crit") {
            return Err(JoseError::CriticalHeader);
        }
        if let Some(name) = FORBIDDEN_HEADERS
            .into_iter()
            .find(|h| members.contains_key(*h))
        {
            return Err(JoseError::ForbiddenHeader(name));
        }
        let string = |name: &str, err: &'static str| match members.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(JoseError::Malformed(err)),
        };
        Ok(Header {
            alg,
            kid: string("kid", "kid is not a string")?,
            typ: string("typ", "typ is not a string")?,
            cty: string("cty", "cty is not a string")?,
            members,
        })
    }
}

/// A key to verify with, as a resolver hands it to [`CompactJws::verify_with`].
///
/// The two kinds never mix: a JWK verifies only asymmetric algorithms, a shared secret only
/// HS256, so a public key can never be used as an HMAC secret (RFC 8725 §2.1).
#[derive(Clone, Copy)]
pub enum VerifyingKey<'a> {
    /// A public key.
    Jwk(&'a Jwk),
    /// An HS256 shared secret (for `client_secret_jwt`, the client secret's octets, OIDC
    /// Core §9); at least [`MIN_HMAC_SECRET_LEN`] bytes.
    HmacSecret(&'a [u8]),
}

impl fmt::Debug for VerifyingKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyingKey::Jwk(jwk) => f.debug_tuple("Jwk").field(jwk).finish(),
            VerifyingKey::HmacSecret(_) => f.write_str("HmacSecret(<redacted>)"),
        }
    }
}

/// A JWS in compact serialisation, parsed but **not yet verified**.
#[derive(Clone)]
pub struct CompactJws {
    header: Header,
    signing_input: String,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl CompactJws {
    /// Parses `token` strictly (see the module documentation). Total: any input yields a
    /// value or an error, never a panic.
    ///
    /// # Errors
    /// [`JoseError::TooLarge`] beyond `max_len` bytes; [`JoseError::NoneAlgorithm`],
    /// [`JoseError::UnsupportedAlgorithm`], [`JoseError::CriticalHeader`],
    /// [`JoseError::ForbiddenHeader`] for those headers; [`JoseError::Malformed`] for any
    /// other departure from the compact form.
    pub fn parse(token: &str, max_len: usize) -> Result<CompactJws, JoseError> {
        if token.len() > max_len {
            return Err(JoseError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JoseError::Malformed(
                "a compact JWS has exactly three dot-separated parts",
            ));
        };
        let header = Header::parse(&b64_decode(h, "the header is not unpadded base64url")?)?;
        let payload = b64_decode(p, "the payload is not unpadded base64url")?;
        if s.is_empty() {
            return Err(JoseError::Malformed("the signature is empty"));
        }
        let signature = b64_decode(s, "the signature is not unpadded base64url")?;
        let signing_input = token
            .get(..h.len() + 1 + p.len())
            .ok_or(JoseError::Malformed("the signing input is not ASCII"))?
            .to_string();
        Ok(CompactJws {
            header,
            signing_input,
            payload,
            signature,
        })
    }

    /// The protected header. Its contents are claims of the token, not facts, until
    /// verification succeeds; use them only to pick a key.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The payload **without verification** — for reading a hint (such as the client an
    /// assertion claims to be) before the key is known. Never act on it otherwise.
    #[must_use]
    pub fn unverified_payload(&self) -> &[u8] {
        &self.payload
    }

    /// The JWS signing input, `BASE64URL(header) '.' BASE64URL(payload)` as received
    /// (RFC 7515 §5.2 step 8).
    #[must_use]
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// The decoded signature.
    #[must_use]
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Verifies the signature and returns the payload.
    ///
    /// The header's `alg` must be in `allowed` — checked first, before `resolve` is called.
    /// `resolve` then returns the candidate keys for this header (typically those with its
    /// `kid`; an `Option` will do for one key); the payload is returned if any candidate
    /// fits the algorithm and verifies. HS256 compares the MAC in constant time
    /// (`ring::hmac::verify`).
    ///
    /// # Errors
    /// [`JoseError::AlgorithmNotAllowed`]; [`JoseError::KeyNotFound`] if `resolve` yields
    /// nothing; otherwise, when no candidate verifies: [`JoseError::BadSignature`] if some
    /// candidate fitted the algorithm, else [`JoseError::KeyAlgorithmMismatch`] or
    /// [`JoseError::KeyRejected`] (an unusable JWK, such as an RSA modulus under 2048 bits,
    /// or an HS256 secret shorter than [`MIN_HMAC_SECRET_LEN`]).
    pub fn verify_with<'k, I>(
        &self,
        allowed: &[Algorithm],
        resolve: impl FnOnce(&Header) -> I,
    ) -> Result<&[u8], JoseError>
    where
        I: IntoIterator<Item = VerifyingKey<'k>>,
    {
        let alg = self.header.alg;
        if !allowed.contains(&alg) {
            return Err(JoseError::AlgorithmNotAllowed(alg));
        }
        let mut outcome = JoseError::KeyNotFound;
        for key in resolve(&self.header) {
            match verify_one(alg, key, self.signing_input(), &self.signature) {
                Ok(()) => return Ok(&self.payload),
                Err(e) if outcome != JoseError::BadSignature => outcome = e,
                Err(_) => {}
            }
        }
        Err(outcome)
    }
}

impl fmt::Debug for CompactJws {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Payloads may carry personal data; show only sizes.
        f.debug_struct("CompactJws")
            .field("header", &self.header)
            .field("payload_len", &self.payload.len())
            .field("signature_len", &self.signature.len())
            .finish()
    }
}

fn verify_one(
    alg: Algorithm,
    key: VerifyingKey<'_>,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<(), JoseError> {
    match key {
        VerifyingKey::Jwk(jwk) => jwk.verify_detailed(alg, signing_input, signature),
        VerifyingKey::HmacSecret(secret) => {
            if alg != Algorithm::Hs256 {
                return Err(JoseError::KeyAlgorithmMismatch(alg));
            }
            let key = hmac_key(secret)?;
            hmac::verify(&key, signing_input, signature).map_err(|_| JoseError::BadSignature)
        }
    }
}

fn hmac_key(secret: &[u8]) -> Result<hmac::Key, JoseError> {
    if secret.len() < MIN_HMAC_SECRET_LEN {
        return Err(JoseError::KeyRejected(format!(
            "an HS256 secret needs at least {MIN_HMAC_SECRET_LEN} bytes"
        )));
    }
    Ok(hmac::Key::new(hmac::HMAC_SHA256, secret))
}

/// The header this crate writes, members in this order.
#[derive(Serialize)]
struct OutHeader<'a> {
    alg: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
}

/// `BASE64URL` of the protected header `{"alg":…,"kid":…,"typ":…}` this crate writes.
///
/// # Errors
/// [`JoseError::Serialization`] (not expected: three strings always serialise).
pub(crate) fn encoded_header(
    alg: Algorithm,
    kid: Option<&str>,
    typ: Option<&str>,
) -> Result<String, JoseError> {
    let header = OutHeader {
        alg: alg.as_str(),
        kid,
        typ,
    };
    let json = serde_json::to_vec(&header).map_err(|e| JoseError::Serialization(e.to_string()))?;
    Ok(crate::b64::url_encode(&json))
}

/// `BASE64URL(header) '.' BASE64URL(payload)` in one buffer with room for the signature
/// of `sig_len` bytes to follow, so signing allocates once.
fn signing_input(encoded_header: &str, payload: &[u8], sig_len: usize) -> String {
    let b64_len = |n: usize| n.div_ceil(3) * 4;
    let mut out =
        String::with_capacity(encoded_header.len() + b64_len(payload.len()) + b64_len(sig_len) + 2);
    out.push_str(encoded_header);
    out.push('.');
    crate::b64::url_encode_append(payload, &mut out);
    out
}

/// Signs `payload` with `key` as a compact JWS whose header is
/// `{"alg":…,"kid":…,"typ":…}` (in that order, no whitespace; `typ` omitted when `None`).
///
/// The payload is signed as given; for a JWT pass the claims' JSON (or use
/// [`jwt::encode`](super::jwt::encode)).
///
/// # Errors
/// [`JoseError::CryptoFailure`] if the OS random source fails (ES256, PS256).
pub fn sign_compact(
    key: &SigningKey,
    typ: Option<&str>,
    payload: &[u8],
) -> Result<String, JoseError> {
    sign_compact_split(key, typ, payload).map(|(jws, _)| jws)
}

/// [`sign_compact`], also returning where the signature part starts (after the second
/// `.`), which the caller would otherwise search for in the whole JWS.
pub(crate) fn sign_compact_split(
    key: &SigningKey,
    typ: Option<&str>,
    payload: &[u8],
) -> Result<(String, usize), JoseError> {
    // 64 bytes for ES256 and EdDSA; RSA signatures are as long as the modulus.
    let sig_len = match key.algorithm() {
        Algorithm::Es256 | Algorithm::EdDsa => 64,
        _ => 512,
    };
    let mut out = match key.encoded_header(typ) {
        Some(header) => signing_input(header, payload, sig_len),
        None => signing_input(
            &encoded_header(key.algorithm(), Some(key.kid()), typ)?,
            payload,
            sig_len,
        ),
    };
    let sig = key.sign(out.as_bytes())?;
    out.push('.');
    let signature_start = out.len();
    crate::b64::url_encode_append(&sig, &mut out);
    Ok((out, signature_start))
}

/// Signs `payload` as an HS256 compact JWS under a shared secret, with header
/// `{"alg":"HS256","kid":…,"typ":…}` — what a client sends as a `client_secret_jwt`
/// assertion (OIDC Core §9). Useful to clients and tests; the server itself only verifies.
///
/// # Errors
/// [`JoseError::KeyRejected`] if `secret` is shorter than [`MIN_HMAC_SECRET_LEN`].
pub fn sign_compact_hs256(
    secret: &[u8],
    kid: Option<&str>,
    typ: Option<&str>,
    payload: &[u8],
) -> Result<String, JoseError> {
    let key = hmac_key(secret)?;
    let mut out = signing_input(&encoded_header(Algorithm::Hs256, kid, typ)?, payload, 32);
    let tag = hmac::sign(&key, out.as_bytes());
    out.push('.');
    crate::b64::url_encode_append(tag.as_ref(), &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::b64_encode;
    use crate::jose::key::tests::RSA_PEM;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef-shared";

    /// RFC 7515 Appendix A.1: HS256.
    const A1_KEY: &str =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
    const A1_JWS: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const A1_PAYLOAD: &[u8] =
        b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";

    fn keys() -> Vec<SigningKey> {
        vec![
            SigningKey::generate(Algorithm::Es256, None).unwrap(),
            SigningKey::generate(Algorithm::EdDsa, None).unwrap(),
            SigningKey::from_pkcs8_pem(Algorithm::Rs256, RSA_PEM, None).unwrap(),
            SigningKey::from_pkcs8_pem(Algorithm::Ps256, RSA_PEM, Some("ps".into())).unwrap(),
        ]
    }

    fn b64(json: &str) -> String {
        b64_encode(json.as_bytes())
    }

    fn parse(token: &str) -> Result<CompactJws, JoseError> {
        CompactJws::parse(token, DEFAULT_MAX_LEN)
    }

    fn verify(
        token: &str,
        allowed: &[Algorithm],
        key: VerifyingKey<'_>,
    ) -> Result<Vec<u8>, JoseError> {
        parse(token)?
            .verify_with(allowed, |_| Some(key))
            .map(<[u8]>::to_vec)
    }

    fn flip_last_char(s: &str) -> String {
        // Flip a low bit of the first decoded byte of the last part without breaking
        // strict base64url ('A' <-> 'B' keeps trailing bits of the last char untouched).
        let dot = s.rfind('.').unwrap();
        let mut b = s.as_bytes().to_vec();
        b[dot + 1] = if b[dot + 1] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn round_trip_every_algorithm() {
        for key in keys() {
            let alg = key.algorithm();
            let token = sign_compact(&key, Some("JWT"), br#"{"sub":"alice"}"#).unwrap();
            let jws = parse(&token).unwrap();
            assert_eq!(jws.header().alg(), alg);
            assert_eq!(jws.header().kid(), Some(key.kid()));
            assert_eq!(jws.header().typ(), Some("JWT"));
            assert_eq!(jws.unverified_payload(), br#"{"sub":"alice"}"#);
            let header = b64_decode(token.split('.').next().unwrap(), "h").unwrap();
            assert_eq!(
                String::from_utf8(header).unwrap(),
                format!(r#"{{"alg":"{alg}","kid":"{}","typ":"JWT"}}"#, key.kid())
            );
            let jwk = key.public_jwk();
            assert_eq!(
                verify(&token, &[alg], VerifyingKey::Jwk(&jwk)).unwrap(),
                br#"{"sub":"alice"}"#
            );
        }
        let token = sign_compact_hs256(SECRET, Some("c1"), None, b"{}").unwrap();
        assert_eq!(parse(&token).unwrap().header().kid(), Some("c1"));
        assert_eq!(
            verify(
                &token,
                &[Algorithm::Hs256],
                VerifyingKey::HmacSecret(SECRET)
            )
            .unwrap(),
            b"{}"
        );
    }

    #[test]
    fn rfc7515_a1_hs256_example_verifies() {
        let secret = b64_decode(A1_KEY, "k").unwrap();
        assert_eq!(
            verify(
                A1_JWS,
                &[Algorithm::Hs256],
                VerifyingKey::HmacSecret(&secret)
            )
            .unwrap(),
            A1_PAYLOAD
        );
        assert_eq!(
            verify(
                A1_JWS,
                &[Algorithm::Hs256],
                VerifyingKey::HmacSecret(SECRET)
            ),
            Err(JoseError::BadSignature)
        );
        assert_eq!(
            verify(
                A1_JWS,
                &[Algorithm::Hs256],
                VerifyingKey::HmacSecret(&secret[..31])
            ),
            Err(JoseError::KeyRejected(
                "an HS256 secret needs at least 32 bytes".into()
            ))
        );
    }

    #[test]
    fn tampering_fails() {
        for key in keys() {
            let alg = key.algorithm();
            let jwk = key.public_jwk();
            let token = sign_compact(&key, None, br#"{"sub":"alice"}"#).unwrap();
            let parts: Vec<&str> = token.split('.').collect();
            let tampered = [
                flip_last_char(&token),
                format!("{}.{}.{}", parts[0], b64(r#"{"sub":"mallory"}"#), parts[2]),
                format!(
                    "{}.{}.{}",
                    b64(&format!(
                        r#"{{"alg":"{alg}","kid":"{}","typ":"JWT"}}"#,
                        key.kid()
                    )),
                    parts[1],
                    parts[2]
                ),
            ];
            for t in tampered {
                assert_eq!(
                    verify(&t, &[alg], VerifyingKey::Jwk(&jwk)),
                    Err(JoseError::BadSignature),
                    "{alg}"
                );
            }
        }
        let token = sign_compact_hs256(SECRET, None, None, b"{}").unwrap();
        assert_eq!(
            verify(
                &flip_last_char(&token),
                &[Algorithm::Hs256],
                VerifyingKey::HmacSecret(SECRET)
            ),
            Err(JoseError::BadSignature)
        );
    }

    #[test]
    fn wrong_key_fails() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let (a, b) = (
                SigningKey::generate(alg, None).unwrap(),
                SigningKey::generate(alg, None).unwrap(),
            );
            let token = sign_compact(&a, None, b"{}").unwrap();
            assert_eq!(
                verify(&token, &[alg], VerifyingKey::Jwk(&b.public_jwk())),
                Err(JoseError::BadSignature)
            );
        }
        let token = sign_compact_hs256(SECRET, None, None, b"{}").unwrap();
        assert_eq!(
            verify(
                &token,
                &[Algorithm::Hs256],
                VerifyingKey::HmacSecret(&[7; 32])
            ),
            Err(JoseError::BadSignature)
        );
    }

    #[test]
    fn first_fitting_candidate_that_verifies_wins() {
        let (a, b) = (
            SigningKey::generate(Algorithm::EdDsa, None).unwrap(),
            SigningKey::generate(Algorithm::EdDsa, None).unwrap(),
        );
        let (ja, jb) = (a.public_jwk(), b.public_jwk());
        let token = sign_compact(&b, None, b"{}").unwrap();
        let jws = parse(&token).unwrap();
        assert!(jws
            .verify_with(&[Algorithm::EdDsa], |_| [
                VerifyingKey::Jwk(&ja),
                VerifyingKey::Jwk(&jb)
            ])
            .is_ok());
        assert_eq!(
            jws.verify_with(&[Algorithm::EdDsa], |_| Vec::new()),
            Err(JoseError::KeyNotFound)
        );
        assert_eq!(
            jws.verify_with(&[Algorithm::EdDsa], |_| [
                VerifyingKey::Jwk(&ja),
                VerifyingKey::HmacSecret(SECRET)
            ]),
            Err(JoseError::BadSignature)
        );
    }

    #[test]
    fn disallowed_algorithm_is_refused_before_resolving() {
        let key = SigningKey::generate(Algorithm::Es256, None).unwrap();
        let token = sign_compact(&key, None, b"{}").unwrap();
        let jws = parse(&token).unwrap();
        let called = std::cell::Cell::new(false);
        assert_eq!(
            jws.verify_with(&[Algorithm::EdDsa, Algorithm::Rs256], |_| {
                called.set(true);
                None
            }),
            Err(JoseError::AlgorithmNotAllowed(Algorithm::Es256))
        );
        assert!(!called.get());
        assert_eq!(
            jws.verify_with(&[], |_| None),
            Err(JoseError::AlgorithmNotAllowed(Algorithm::Es256))
        );
    }

    /// RFC 8725 §2.1: an attacker HMACs a token with the server's *public* key (as JWK
    /// JSON, or any other encoding) and sets `alg: HS256`.
    #[test]
    fn alg_confusion_public_key_as_hmac_secret_is_refused() {
        for key in keys() {
            let jwk = key.public_jwk();
            let jwk_json = serde_json::to_vec(&jwk).unwrap();
            let forged = sign_compact_hs256(
                &jwk_json,
                Some(key.kid()),
                Some("JWT"),
                br#"{"sub":"admin"}"#,
            )
            .unwrap();
            // Even with HS256 allowed, a JWK is never an HMAC key.
            assert_eq!(
                verify(
                    &forged,
                    &[key.algorithm(), Algorithm::Hs256],
                    VerifyingKey::Jwk(&jwk)
                ),
                Err(JoseError::KeyAlgorithmMismatch(Algorithm::Hs256))
            );
            assert_eq!(
                verify(&forged, &[key.algorithm()], VerifyingKey::Jwk(&jwk)),
                Err(JoseError::AlgorithmNotAllowed(Algorithm::Hs256))
            );
        }
        // The converse: an asymmetric alg with a shared secret.
        let key = SigningKey::generate(Algorithm::Es256, None).unwrap();
        let token = sign_compact(&key, None, b"{}").unwrap();
        assert_eq!(
            verify(
                &token,
                &[Algorithm::Es256],
                VerifyingKey::HmacSecret(SECRET)
            ),
            Err(JoseError::KeyAlgorithmMismatch(Algorithm::Es256))
        );
    }

    #[test]
    fn key_type_confusion_is_refused() {
        let ec = SigningKey::generate(Algorithm::Es256, None).unwrap();
        let rsa = SigningKey::from_pkcs8_pem(Algorithm::Rs256, RSA_PEM, None).unwrap();
        let ps = SigningKey::from_pkcs8_pem(Algorithm::Ps256, RSA_PEM, None).unwrap();
        let token = sign_compact(&rsa, None, b"{}").unwrap();
        let all = Algorithm::ALL;
        assert_eq!(
            verify(&token, &all, VerifyingKey::Jwk(&ec.public_jwk())),
            Err(JoseError::KeyAlgorithmMismatch(Algorithm::Rs256))
        );
        // The RSA key published for PS256 does not verify an RS256 token.
        assert_eq!(
            verify(&token, &all, VerifyingKey::Jwk(&ps.public_jwk())),
            Err(JoseError::KeyAlgorithmMismatch(Algorithm::Rs256))
        );
    }

    #[test]
    fn alg_none_is_refused() {
        let payload = b64(r#"{"sub":"admin"}"#);
        for alg in ["none", "None", "NONE", "nOnE"] {
            let header = b64(&format!(r#"{{"alg":"{alg}"}}"#));
            for sig in ["", "AAAA"] {
                assert_eq!(
                    parse(&format!("{header}.{payload}.{sig}")).err(),
                    Some(JoseError::NoneAlgorithm),
                    "{alg} {sig:?}"
                );
            }
        }
    }

    #[test]
    fn crit_is_refused() {
        for crit in [r#"[]"#, r#"["exp"]"#, r#"["b64"],"b64":false"#, "null"] {
            let header = b64(&format!(r#"{{"alg":"ES256","crit":{crit}}}"#));
            assert_eq!(
                parse(&format!("{header}.e30.AAAA")).err(),
                Some(JoseError::CriticalHeader),
                "{crit}"
            );
        }
    }

    #[test]
    fn key_carrying_headers_are_refused() {
        for name in FORBIDDEN_HEADERS {
            let header = b64(&format!(
                r#"{{"alg":"RS256","{name}":"https://evil.test/k"}}"#
            ));
            assert_eq!(
                parse(&format!("{header}.e30.AAAA")).err(),
                Some(JoseError::ForbiddenHeader(name))
            );
        }
    }

    #[test]
    fn structure_and_encoding_are_strict() {
        let key = SigningKey::generate(Algorithm::EdDsa, None).unwrap();
        let good = sign_compact(&key, None, br#"{"a":1}"#).unwrap();
        assert!(parse(&good).is_ok());
        let (h, rest) = good.split_once('.').unwrap();
        let (p, s) = rest.split_once('.').unwrap();
        let bad = [
            String::new(),
            ".".into(),
            "..".into(),
            "...".into(),
            h.to_string(),
            format!("{h}.{p}"),
            format!("{h}.{p}.{s}."),
            format!("{h}.{p}.{s}.{s}"),
            format!("{h}.{p}.{s}.{p}.{s}"),
            format!("{h}..{p}.{s}"),
            format!(".{h}.{p}.{s}"),
            format!("{h}.{p}."),
            format!("{h}=.{p}.{s}"),
            format!("{h}.{p}=.{s}"),
            format!("{h}.{p}.{s}="),
            format!("{h}.{p}.{s}=="),
            format!("{h}.{p} .{s}"),
            format!(" {h}.{p}.{s}"),
            format!("{h}.{p}.{s}\n"),
            format!("{h}.{p}.+{}", &s[1..]),
            format!("{h}.{p}./{}", &s[1..]),
            format!("{h}.{}+.{s}", &p[..p.len() - 1]),
            format!("{h}.{p}é.{s}"),
            format!("{h}.{p}.{s}\u{0}"),
        ];
        for t in &bad {
            assert!(matches!(parse(t), Err(JoseError::Malformed(_))), "{t:?}");
        }
        // Non-zero trailing bits: a second encoding of the same bytes is refused.
        assert!(matches!(
            parse(&format!("{h}.e30.AB")),
            Err(JoseError::Malformed(_))
        ));
        assert!(matches!(
            parse(&format!("{h}.e31.AAAA")),
            Err(JoseError::Malformed(_))
        ));
    }

    #[test]
    fn header_must_be_an_object_with_a_known_string_alg() {
        let cases: [(&str, JoseError); 11] = [
            (
                "[]",
                JoseError::Malformed(
                    "the JOSE header is not a JSON object with unique member names",
                ),
            ),
            (
                "null",
                JoseError::Malformed(
                    "the JOSE header is not a JSON object with unique member names",
                ),
            ),
            (
                r#""ES256""#,
                JoseError::Malformed(
                    "the JOSE header is not a JSON object with unique member names",
                ),
            ),
            (
                "{",
                JoseError::Malformed(
                    "the JOSE header is not a JSON object with unique member names",
                ),
            ),
            (
                r#"{"alg":"ES256","alg":"ES256"}"#,
                JoseError::Malformed(
                    "the JOSE header is not a JSON object with unique member names",
                ),
            ),
            ("{}", JoseError::Malformed("the JOSE header has no alg")),
            (r#"{"alg":1}"#, JoseError::Malformed("alg is not a string")),
            (
                r#"{"alg":null}"#,
                JoseError::Malformed("alg is not a string"),
            ),
            (r#"{"alg":"HS512"}"#, JoseError::UnsupportedAlgorithm),
            (r#"{"alg":"es256"}"#, JoseError::UnsupportedAlgorithm),
            (
                r#"{"alg":"ES256","kid":7}"#,
                JoseError::Malformed("kid is not a string"),
            ),
        ];
        for (header, expected) in cases {
            assert_eq!(
                parse(&format!("{}.e30.AAAA", b64(header))).err(),
                Some(expected),
                "{header}"
            );
        }
        let jws = parse(&format!(
            "{}.e30.AAAA",
            b64(r#"{"alg":"ES256","cty":"JWT","x5t#S256":"abc","kid":"k"}"#)
        ))
        .unwrap();
        assert_eq!(jws.header().cty(), Some("JWT"));
        assert_eq!(jws.header().get("x5t#S256"), Some(&Value::from("abc")));
        assert_eq!(jws.header().typ(), None);
    }

    #[test]
    fn size_limit() {
        let key = SigningKey::generate(Algorithm::EdDsa, None).unwrap();
        let token = sign_compact(&key, None, &[b'a'; 100]).unwrap();
        assert!(CompactJws::parse(&token, token.len()).is_ok());
        assert_eq!(
            CompactJws::parse(&token, token.len() - 1).err(),
            Some(JoseError::TooLarge)
        );
        assert_eq!(
            CompactJws::parse("a.b.c", 0).err(),
            Some(JoseError::TooLarge)
        );
    }

    #[test]
    fn debug_hides_payload_and_secrets() {
        let token = sign_compact_hs256(SECRET, None, None, br#"{"email":"a@b.test"}"#).unwrap();
        let dbg = format!("{:?}", parse(&token).unwrap());
        assert!(!dbg.contains("a@b.test"), "{dbg}");
        let dbg = format!("{:?}", VerifyingKey::HmacSecret(SECRET));
        assert_eq!(dbg, "HmacSecret(<redacted>)");
    }

    mod totality {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn parse_never_panics(s in "[A-Za-z0-9_=+/. \\-]{0,120}") {
                let _ = CompactJws::parse(&s, DEFAULT_MAX_LEN);
            }

            #[test]
            fn parse_never_panics_on_any_text(s in any::<String>()) {
                let _ = CompactJws::parse(&s, DEFAULT_MAX_LEN);
            }

            #[test]
            fn no_single_byte_change_verifies(i in 0usize..400, c in 0x21u8..0x7f) {
                let token = sign_compact_hs256(SECRET, Some("k"), None, br#"{"sub":"alice"}"#).unwrap();
                let i = i % token.len();
                let mut b = token.clone().into_bytes();
                prop_assume!(b[i] != c);
                b[i] = c;
                let t = String::from_utf8(b).unwrap();
                let r = CompactJws::parse(&t, DEFAULT_MAX_LEN)
                    .and_then(|j| j.verify_with(&[Algorithm::Hs256], |_| Some(VerifyingKey::HmacSecret(SECRET))).map(<[u8]>::to_vec));
                prop_assert!(r.is_err(), "{t}");
            }
        }
    }
}
