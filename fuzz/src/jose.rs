//! The `jws_parse` target: the compact-JWS/JWT parser, the verifiers and the JWK Set parser
//! on arbitrary bytes.
//!
//! # What runs on each input
//!
//! * As a compact JWS (when the input is UTF-8): [`CompactJws::parse`], then three ways of
//!   verifying it against the fixed [`Keys`] — one key per algorithm: Ed25519 (EdDSA),
//!   P-256 (ES256), an RSA-2048 key restricted to RS256 and the same modulus restricted to
//!   PS256, and an HS256 secret:
//!   [`CompactJws::verify_with`] with the key of the header's `alg`,
//!   [`jwt::decode_verified`] with the whole JWK list (the `kid` picks the candidates) and
//!   [`KeySet::verify`] (the server's own tokens: by `kid` only); then
//!   [`jwt::peek_unverified`].
//! * As a JWK Set (when it starts with `{`): [`Jwks::parse_public`], then every parsed
//!   key's thumbprint, algorithm check and verification of the genuine tokens.
//!
//! # What must hold
//!
//! * nothing panics;
//! * a token verifies only if its signing input (`header.payload` as sent) is one the
//!   fixed keys really signed ([`Keys::genuine`]): anything else verifying is a forgery
//!   (`alg: none`, algorithm confusion — RFC 8725 §2.1, §3.1 — or a broken check). The
//!   genuine tokens are in the seeds, so the success path is fuzzed too: mutating a
//!   signed token must stop it verifying;
//! * `decode_verified` or `KeySet::verify` accepting a token implies `verify_with`
//!   accepts it (each algorithm has exactly one fitting key here);
//! * a JWK from the input that verifies a genuine signature is the genuine public key
//!   (same key type and the same integers), never some other key.

use std::collections::HashSet;
use std::sync::OnceLock;

use base64::Engine as _;
use tollgate::jose::{
    jwt, sign_compact, sign_compact_hs256, Algorithm, CompactJws, Jwk, Jwks, KeySet, SigningKey,
    VerifyingKey,
};

/// The HS256 secret the harness signs and verifies with.
pub const HMAC_SECRET: &[u8] = b"fuzz-shared-hmac-key-0123456789abcdef";

/// The longest token looked at (the core's default).
pub const MAX_LEN: usize = tollgate::jose::jws::DEFAULT_MAX_LEN;

/// A P-256 key generated for these fuzz targets only (`openssl genpkey`).
const ES256_PEM: &str = include_str!("../keys/es256-fuzz-only.pem");
/// The core's test-only RSA-2048 key (copied from `crates/tollgate/src/jose/testdata`).
const RSA_PEM: &str = include_str!("../keys/rsa2048-fuzz-only.pem");

/// The claims every genuine token carries (only the `sub` differs).
fn genuine_payloads() -> [String; 2] {
    [
        r#"{"iss":"https://as.example","sub":"alice","aud":"conf","exp":1750003600}"#.into(),
        r#"{"sub":"bob"}"#.into(),
    ]
}

/// The fixed keys and the tokens they signed.
pub struct Keys {
    /// Ed25519 (`kid` `ed`), P-256 (`es`), RSA for RS256 (`rs`) and for PS256 (`ps`).
    pub signing: Vec<SigningKey>,
    /// Their public JWKs, with `kid`, `alg` and `use`.
    pub jwks: Vec<Jwk>,
    /// The same keys as the server would hold them.
    pub key_set: KeySet,
    /// Tokens signed at start-up: by every key, and with [`HMAC_SECRET`] (`kid` `hs`), over
    /// each of the genuine payloads.
    pub tokens: Vec<String>,
    /// Their signing inputs: the only ones allowed to verify.
    pub genuine: HashSet<String>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("jwks", &self.jwks)
            .field("tokens", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

fn ed25519_pkcs8() -> Vec<u8> {
    // A fixed Ed25519 seed as PKCS#8 v1 (RFC 8410 §7).
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&[7u8; 32]);
    der
}

/// The keys, built once per process.
///
/// # Panics
/// If a key does not load or a genuine token does not verify: a harness bug.
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        // `SigningKey` is not `Clone`: the key set gets its own copies.
        let load = || {
            vec![
                SigningKey::from_pkcs8_der(Algorithm::EdDsa, &ed25519_pkcs8(), Some("ed".into()))
                    .expect("Ed25519 key"),
                SigningKey::from_pkcs8_pem(Algorithm::Es256, ES256_PEM, Some("es".into()))
                    .expect("P-256 key"),
                SigningKey::from_pkcs8_pem(Algorithm::Rs256, RSA_PEM, Some("rs".into()))
                    .expect("RSA key"),
                SigningKey::from_pkcs8_pem(Algorithm::Ps256, RSA_PEM, Some("ps".into()))
                    .expect("RSA key"),
            ]
        };
        let signing = load();
        let jwks: Vec<Jwk> = signing.iter().map(SigningKey::public_jwk).collect();
        let mut key_set = KeySet::new();
        for k in load() {
            key_set.add_active(k).expect("distinct algorithms");
        }
        let mut tokens = Vec::new();
        for payload in genuine_payloads() {
            for k in &signing {
                tokens.push(sign_compact(k, Some("JWT"), payload.as_bytes()).expect("sign"));
            }
            tokens.push(
                sign_compact_hs256(HMAC_SECRET, Some("hs"), Some("JWT"), payload.as_bytes())
                    .expect("sign"),
            );
        }
        let genuine = tokens
            .iter()
            .map(|t| t[..t.rfind('.').expect("three parts")].to_string())
            .collect();
        let keys = Keys {
            signing,
            jwks,
            key_set,
            tokens,
            genuine,
        };
        for t in &keys.tokens {
            let verified = verify_all(&keys, t);
            assert!(
                verified.direct && verified.decoded,
                "a genuine token does not verify: {t}"
            );
        }
        keys
    })
}

/// Which verifiers accepted a token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    /// It parsed.
    pub parsed: bool,
    /// [`CompactJws::verify_with`] with the key of its `alg`.
    pub direct: bool,
    /// [`jwt::decode_verified`] with every JWK and the HMAC secret.
    pub decoded: bool,
    /// [`KeySet::verify`].
    pub key_set: bool,
}

/// Runs every verifier on `token`.
pub fn verify_all(keys: &Keys, token: &str) -> Verified {
    let mut v = Verified::default();
    let Ok(jws) = CompactJws::parse(token, MAX_LEN) else {
        return v;
    };
    v.parsed = true;
    // The header accessors are what resolvers read before any key is chosen.
    let header = jws.header();
    let _ = (header.kid(), header.typ(), header.cty(), header.get("kid"));
    let _ = (
        jws.signing_input(),
        jws.signature(),
        jws.unverified_payload(),
    );
    let alg = header.alg();
    v.direct = jws
        .verify_with(&Algorithm::ALL, |h| {
            let key = match h.alg() {
                Algorithm::Hs256 => VerifyingKey::HmacSecret(HMAC_SECRET),
                a => VerifyingKey::Jwk(
                    keys.jwks
                        .iter()
                        .find(|k| k.check_algorithm(a).is_ok())
                        .expect("a key per algorithm"),
                ),
            };
            Some(key)
        })
        .is_ok();
    // Every key for every algorithm: a key of the wrong type must fail, never verify.
    for k in &keys.jwks {
        if jws
            .verify_with(&[alg], |_| Some(VerifyingKey::Jwk(k)))
            .is_ok()
        {
            assert!(k.check_algorithm(alg).is_ok(), "{alg:?} verified by {k:?}");
        }
    }
    v.decoded = jwt::decode_verified(
        token,
        &Algorithm::ALL,
        &keys.jwks,
        Some(HMAC_SECRET),
        MAX_LEN,
    )
    .is_ok();
    v.key_set = keys.key_set.verify(token, &Algorithm::ALL, MAX_LEN).is_ok();
    let _ = jwt::peek_unverified(token, MAX_LEN);
    v
}

/// The standard base64url alphabet, lenient about trailing bits: only for comparing key
/// material, never for deciding whether a key is well-formed.
const B64_LENIENT: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A key member as an unsigned integer without leading zero octets.
fn integer(member: Option<&str>) -> Option<Vec<u8>> {
    let bytes = B64_LENIENT.decode(member?).ok()?;
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    Some(bytes[start..].to_vec())
}

/// The public key material of `jwk`: its type and the members that type defines (RFC 7518
/// §6.2.1, §6.3.1; RFC 8037 §2) — `crv`, `x`, `y` for EC, `crv`, `x` for OKP, `n`, `e` for
/// RSA, as integers. Members another key type defines are ignored, as the verifier ignores
/// them: an EC key that also carries `n` and `e` is still just that EC key.
fn material(jwk: &Jwk) -> (String, Option<String>, [Option<Vec<u8>>; 2]) {
    let (crv, pair) = match jwk.kty.as_str() {
        "EC" => (jwk.crv.clone(), [jwk.x.as_deref(), jwk.y.as_deref()]),
        "OKP" => (jwk.crv.clone(), [jwk.x.as_deref(), None]),
        "RSA" => (None, [jwk.n.as_deref(), jwk.e.as_deref()]),
        _ => (None, [None, None]),
    };
    (jwk.kty.clone(), crv, pair.map(integer))
}

/// The `jws_parse` target (see the [module docs](self)).
///
/// # Panics
/// When a property above fails.
pub fn jws_parse(data: &[u8]) {
    let keys = keys();
    if data.first() == Some(&b'{') {
        jwks_parse(keys, data);
    }
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let v = verify_all(keys, token);
    if v.direct || v.decoded || v.key_set {
        let signing_input = &token[..token.rfind('.').unwrap_or(0)];
        assert!(
            keys.genuine.contains(signing_input),
            "a token nobody signed verified: {v:?}"
        );
    }
    assert!(
        v.direct || !(v.decoded || v.key_set),
        "verifiers disagree: {v:?}"
    );
}

/// A JWK Set from the input: parsing, thumbprints, algorithm checks, and the genuine tokens
/// verified with each parsed key.
fn jwks_parse(keys: &Keys, data: &[u8]) {
    let Ok(set) = Jwks::parse_public(data) else {
        return;
    };
    assert!(set.keys.len() <= tollgate::jose::jwk::MAX_JWKS_KEYS);
    for jwk in &set.keys {
        let _ = jwk.thumbprint();
        for alg in Algorithm::ALL {
            let _ = jwk.check_algorithm(alg);
        }
        let _ = set.find(jwk.kid.as_deref().unwrap_or("")).count();
        for t in &keys.tokens {
            let Ok(jws) = CompactJws::parse(t, MAX_LEN) else {
                unreachable!("genuine tokens parse")
            };
            let alg = jws.header().alg();
            if jwk
                .verify_detailed(alg, jws.signing_input(), jws.signature())
                .is_ok()
            {
                let mine = keys
                    .jwks
                    .iter()
                    .find(|k| k.kid.as_deref() == jws.header().kid())
                    .expect("genuine asymmetric tokens name their key");
                assert_eq!(
                    material(jwk),
                    material(mine),
                    "another key verified a genuine {alg:?} signature"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genuine_tokens_verify_everywhere_and_tampered_ones_nowhere() {
        let keys = keys();
        for t in &keys.tokens {
            let v = verify_all(keys, t);
            let hs = t.starts_with("eyJhbGciOiJIUzI1NiI");
            assert_eq!(
                v,
                Verified {
                    parsed: true,
                    direct: true,
                    decoded: true,
                    key_set: !hs,
                },
                "{t}"
            );
            jws_parse(t.as_bytes());
            let mut tampered = t.clone().into_bytes();
            let last = tampered.len() - 2;
            tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
            let v = verify_all(keys, std::str::from_utf8(&tampered).unwrap());
            assert!(!(v.direct || v.decoded || v.key_set), "{t}");
        }
    }

    #[test]
    fn the_genuine_jwks_verify_and_others_do_not() {
        let keys = keys();
        let set = serde_json::to_vec(&Jwks {
            keys: keys.jwks.clone(),
        })
        .unwrap();
        jws_parse(&set);
    }

    /// jws_parse finding (long run 2026-11-23, a harness bug; minimised with
    /// `cargo fuzz tmin`): the genuine P-256 key with a stray RSA member `e` verified the
    /// genuine ES256 tokens — rightly: `e` means nothing to an EC key (RFC 7518 §6.2.1) —
    /// but the harness compared `n` and `e` too and called it another key.
    #[test]
    fn an_ec_key_with_a_stray_rsa_member_is_the_same_key() {
        let input = "{\"keys\": [\n {\n \"e\": \"AQAB\",\n\"kid\":\"ps\",\n   \"kty\": \"EC\",\n     \"crv\": \"P-256\",  \"x\": \"49XFRHuv2yzrzoCOIbrGVTzrST4o-2nLt6A0L8NeLvw\", \"y\": \"g5dYKMtYtZ5yh3EYBoBk0mObI_-Lls9wl-akDtTqmF0\"  }\n ]\n}";
        let set = Jwks::parse_public(input).expect("a public JWK Set");
        let es = keys().jwks.iter().find(|k| k.kid.as_deref() == Some("es"));
        assert_eq!(set.keys[0].x, es.and_then(|k| k.x.clone()));
        assert!(set.keys[0].e.is_some());
        jws_parse(input.as_bytes());
    }

    /// The committed `genuine_*` seeds are tokens the fixed keys really signed, so the
    /// fuzzer starts on the success path; fails when the keys change under them. With
    /// `TOLLGATE_WRITE_JWS_SEEDS=1` it first writes the seeds and the public JWK Set anew
    /// (`TOLLGATE_WRITE_JWS_SEEDS=1 cargo test --lib genuine_seeds`).
    #[test]
    fn the_genuine_seeds_verify() {
        let keys = keys();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/jws_parse");
        if std::env::var_os("TOLLGATE_WRITE_JWS_SEEDS").is_some() {
            for (i, t) in keys.tokens.iter().enumerate() {
                let jws = CompactJws::parse(t, MAX_LEN).unwrap();
                let name = format!(
                    "genuine_{}_{}",
                    jws.header().alg().as_str().to_ascii_lowercase(),
                    i / (keys.signing.len() + 1)
                );
                std::fs::write(format!("{dir}/{name}"), t).unwrap();
            }
            let set = serde_json::to_vec_pretty(&Jwks {
                keys: keys.jwks.clone(),
            })
            .unwrap();
            std::fs::write(format!("{dir}/jwks_genuine"), set).unwrap();
        }
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with("genuine_") {
                continue;
            }
            let token = std::fs::read_to_string(&path).unwrap();
            let v = verify_all(keys, token.trim_end());
            assert!(v.direct && v.decoded, "{name} no longer verifies");
            seen += 1;
        }
        assert_eq!(seen, keys.tokens.len(), "one seed per genuine token");
        let set = std::fs::read_to_string(format!("{dir}/jwks_genuine")).unwrap();
        let parsed = Jwks::parse_public(&set).expect("the genuine JWK Set parses");
        assert_eq!(parsed.keys.len(), keys.jwks.len());
    }
}
