//! How a rotated refresh token keeps its successor response for the grace window (RFC 9700
//! §4.14.2 rotation, with Okta's retry leeway), so that presenting the old token again gets
//! the same response byte for byte and the family never forks.
//!
//! Two forms, chosen at each rotation:
//!
//! * **Derived** — when the response holds no ID token and the server mints access tokens
//!   itself (the built-in opaque format, or RFC 9068 JWTs). The random bytes the successor
//!   tokens are made of — an opaque token's 256 bits, a JWT's 128-bit `jti` — are not drawn
//!   but derived, `SHA-256(label ‖ salt ‖ old token)`, from a fresh 128-bit salt. The store
//!   keeps the salt, the `expires_in` and `scope` the response carried and eight bytes of
//!   the successor's hash as a check; for a JWT also its header, its signature and its
//!   claims up to the `jti` (an ECDSA signature is randomised, so it cannot be recomputed).
//!   A retry recomputes the tokens from the presented old token and rebuilds the response.
//!   Recomputing needs the old token, which the store holds only as a hash, *and* the salt —
//!   exactly what opening a sealed response needs (the old token and the stored ciphertext)
//!   — so the two forms protect the same: without the `jti` the kept claims and signature
//!   are no token. The derived form runs no AEAD on the rotation path and keeps about 40
//!   bytes (an opaque pair) or the JWT's non-secret parts instead of an encrypted copy.
//! * **Sealed** — otherwise (ID tokens, a custom access-token format): the whole response
//!   encrypted under a key derived from the old token ([`crate::seal`]).
//!
//! Both live in the rotated record's `successor` bytes; a derived one starts with
//! [`MAGIC`]. A sealed blob starts with a random nonce, so it could begin with the same four
//! bytes (odds 2⁻³²): the check then fails (odds 2⁻⁶⁴ that it would not) and the blob is
//! opened as sealed.

use crate::access_token::{claims_before_jti, jti_text, JwtParts, JTI_BYTES, JTI_TEXT_LEN};
use crate::json_write::JsonStr;
use crate::random::{RandomError, SecureRandom};
use crate::seal::SealedResponse;
use crate::token::{encode_token, TokenHash, TokenKind, TOKEN_BYTES};

/// Marks a derived successor (version 1).
pub(crate) const MAGIC: &[u8; 4] = b"tgd1";
/// Bytes of salt drawn per rotation.
const SALT_LEN: usize = 16;
/// Bytes of the successor's token hash kept as a check.
const CHECK_LEN: usize = 8;
/// Magic, salt, check, flags, `expires_in`; the scope follows.
const HEADER_LEN: usize = MAGIC.len() + SALT_LEN + CHECK_LEN + 1 + 8;
/// Flag bit: the response carried a refresh token.
const HAS_REFRESH: u8 = 1;
/// Flag bit: the access token is a JWT; its [`KeptJwt`] parts follow the header.
const HAS_JWT: u8 = 2;

/// The salt of one rotation.
#[derive(Clone, Copy)]
pub(crate) struct Salt([u8; SALT_LEN]);

impl Salt {
    pub(crate) fn generate(random: &dyn SecureRandom) -> Result<Salt, RandomError> {
        let mut s = [0u8; SALT_LEN];
        random.fill(&mut s)?;
        Ok(Salt(s))
    }
}

/// Which of the successor's tokens.
#[derive(Clone, Copy)]
pub(crate) enum Part {
    Access,
    Refresh,
}

/// The old token's secret part: its 32 random bytes when it has the form this server mints
/// (`tgr_` and 43 base64url characters), so that label, salt and secret fit one SHA-256
/// block; any other string is used whole.
pub(crate) struct OldSecret {
    raw: [u8; TOKEN_BYTES + 1],
    len: usize,
}

impl OldSecret {
    pub(crate) fn of(old_token: &str) -> OldSecret {
        let mut raw = [0u8; TOKEN_BYTES + 1];
        let decoded = old_token
            .get(4..)
            .and_then(|b64| crate::b64::url_decode_into(b64, &mut raw))
            .map(<[u8]>::len);
        match decoded {
            Some(TOKEN_BYTES) => OldSecret {
                raw,
                len: TOKEN_BYTES,
            },
            _ => OldSecret { raw, len: 0 },
        }
    }
}

/// The 256 bits of one successor token: `SHA-256("tgd1" ‖ part ‖ salt ‖ secret)`, where the
/// secret is the old token's 256 random bits. The old token is never stored, so the output
/// is as unpredictable as a fresh draw to anyone without it.
pub(crate) fn token_bytes(
    old_token: &str,
    secret: &OldSecret,
    salt: &Salt,
    part: Part,
) -> [u8; TOKEN_BYTES] {
    let label = match part {
        Part::Access => b'a',
        Part::Refresh => b'r',
    };
    if secret.len == 0 {
        return crate::sha256::digest_parts(&[MAGIC, &[label], &salt.0, old_token.as_bytes()]);
    }
    // 4 + 1 + 16 + 32 = 53 bytes: one block.
    let mut input = [0u8; MAGIC.len() + 1 + SALT_LEN + TOKEN_BYTES];
    input[..4].copy_from_slice(MAGIC);
    input[4] = label;
    input[5..5 + SALT_LEN].copy_from_slice(&salt.0);
    input[5 + SALT_LEN..].copy_from_slice(&secret.raw[..TOKEN_BYTES]);
    crate::sha256::digest(&input)
}

/// A random source that hands out one derived token's bytes, so the minting code that
/// normally draws them mints the successor from them instead.
pub(crate) struct DerivedBytes(pub [u8; TOKEN_BYTES]);

impl SecureRandom for DerivedBytes {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        // A longer draw would repeat bytes: refuse it rather than mint a weaker token.
        let src = self.0.get(..dest.len()).ok_or(RandomError)?;
        dest.copy_from_slice(src);
        Ok(())
    }
}

/// What rebuilds a JWT access token whose `jti` was derived: its protected header and
/// signature as sent (base64url) and its signed claims before the `jti` value.
#[derive(Clone, Copy)]
pub(crate) struct KeptJwt<'a> {
    pub header: &'a str,
    pub claims_before_jti: &'a [u8],
    pub signature: &'a str,
}

impl<'a> KeptJwt<'a> {
    /// The parts of `jwt`, minted with `minted`; `None` if it is not of that form or a part
    /// would not fit its 16-bit length.
    pub(crate) fn of(jwt: &'a str, minted: &'a JwtParts) -> Option<KeptJwt<'a>> {
        // The header is the shortest part: found by a short forward scan.
        let (header, _) = jwt.split_once('.')?;
        let signature = jwt.get(minted.signature_start..)?;
        if !jwt.get(..minted.signature_start)?.ends_with('.') {
            return None;
        }
        let kept = KeptJwt {
            header,
            claims_before_jti: claims_before_jti(&minted.claims)?,
            signature,
        };
        kept.parts()
            .iter()
            .all(|p| u16::try_from(p.len()).is_ok())
            .then_some(kept)
    }

    fn parts(&self) -> [&'a [u8]; 3] {
        [
            self.header.as_bytes(),
            self.claims_before_jti,
            self.signature.as_bytes(),
        ]
    }

    fn encoded_len(&self) -> usize {
        self.parts().iter().map(|p| 2 + p.len()).sum()
    }

    /// The JWT again, with the `jti` made of these bytes.
    fn rebuild(&self, jti: &[u8; JTI_BYTES]) -> String {
        let mut claims = Vec::with_capacity(self.claims_before_jti.len() + JTI_TEXT_LEN + 2);
        claims.extend_from_slice(self.claims_before_jti);
        claims.extend_from_slice(jti_text(jti).as_bytes());
        claims.extend_from_slice(b"\"}");
        let mut jwt = String::with_capacity(
            self.header.len() + claims.len().div_ceil(3) * 4 + self.signature.len() + 2,
        );
        jwt.push_str(self.header);
        jwt.push('.');
        crate::b64::url_encode_append(&claims, &mut jwt);
        jwt.push('.');
        jwt.push_str(self.signature);
        jwt
    }
}

/// What a derived successor keeps: enough to rebuild the response, nothing secret.
pub(crate) struct Derived<'a> {
    pub salt: Salt,
    /// The first bytes of the successor refresh token's hash, or when no refresh token was
    /// issued of the access token's SHA-256 (for a JWT, of the whole JWT, not its storage
    /// key, which does not cover the `jti`).
    pub check: [u8; CHECK_LEN],
    pub has_refresh: bool,
    pub expires_in: u64,
    pub scope: &'a str,
    /// The access token's parts when it is a JWT.
    pub jwt: Option<KeptJwt<'a>>,
}

impl Derived<'_> {
    /// The check kept for a successor: the first bytes of its refresh token's hash; without
    /// a refresh token, of the access token's — for a JWT of the whole JWT's SHA-256, since
    /// its storage key covers the signature alone and not the derived `jti`.
    pub(crate) fn check_for(
        refresh: Option<&TokenHash>,
        access: &str,
        access_key: &TokenHash,
        jwt: bool,
    ) -> [u8; CHECK_LEN] {
        let whole;
        let checked = match (refresh, jwt) {
            (Some(r), _) => r,
            (None, false) => access_key,
            (None, true) => {
                whole = TokenHash::of(access);
                &whole
            }
        };
        let mut c = [0u8; CHECK_LEN];
        c.copy_from_slice(&checked.0[..CHECK_LEN]);
        c
    }

    pub(crate) fn encode(&self) -> SealedResponse {
        let jwt_len = self.jwt.as_ref().map_or(0, KeptJwt::encoded_len);
        let mut out = Vec::with_capacity(HEADER_LEN + jwt_len + self.scope.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.salt.0);
        out.extend_from_slice(&self.check);
        let mut flags = 0;
        if self.has_refresh {
            flags |= HAS_REFRESH;
        }
        if self.jwt.is_some() {
            flags |= HAS_JWT;
        }
        out.push(flags);
        out.extend_from_slice(&self.expires_in.to_be_bytes());
        if let Some(jwt) = &self.jwt {
            for part in jwt.parts() {
                // `KeptJwt::of` admits only parts whose length fits.
                let len = u16::try_from(part.len()).unwrap_or(u16::MAX);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(&part[..usize::from(len)]);
            }
        }
        out.extend_from_slice(self.scope.as_bytes());
        SealedResponse(out)
    }

    /// Reads a derived successor; `None` when the bytes are not one.
    pub(crate) fn decode(bytes: &[u8]) -> Option<Derived<'_>> {
        if bytes.len() < HEADER_LEN || !bytes.starts_with(MAGIC) {
            return None;
        }
        let (salt, rest) = bytes[MAGIC.len()..].split_at(SALT_LEN);
        let (check, rest) = rest.split_at(CHECK_LEN);
        let (flags, rest) = rest.split_at(1);
        let (expires_in, mut rest) = rest.split_at(8);
        let jwt = if flags[0] & HAS_JWT != 0 {
            let mut part = || -> Option<&[u8]> {
                let (len, tail) = rest.split_first_chunk::<2>()?;
                let (part, tail) = tail.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
                rest = tail;
                Some(part)
            };
            let (header, claims_before_jti, signature) = (part()?, part()?, part()?);
            Some(KeptJwt {
                header: std::str::from_utf8(header).ok()?,
                claims_before_jti,
                signature: std::str::from_utf8(signature).ok()?,
            })
        } else {
            None
        };
        Some(Derived {
            salt: Salt(salt.try_into().ok()?),
            check: check.try_into().ok()?,
            has_refresh: flags[0] & HAS_REFRESH != 0,
            expires_in: u64::from_be_bytes(expires_in.try_into().ok()?),
            scope: std::str::from_utf8(rest).ok()?,
            jwt,
        })
    }

    /// Rebuilds the successor response for the holder of `old_token`: `None` unless the
    /// recomputed tokens match the check (a wrong token, or bytes that only looked derived).
    pub(crate) fn rebuild(&self, old_token: &str) -> Option<Vec<u8>> {
        let secret = OldSecret::of(old_token);
        let access_bytes = token_bytes(old_token, &secret, &self.salt, Part::Access);
        let (access, access_key) = match &self.jwt {
            None => {
                let t = encode_token(TokenKind::Access, &access_bytes);
                (t.value.into_inner(), t.hash)
            }
            Some(jwt) => {
                let mut jti = [0u8; JTI_BYTES];
                jti.copy_from_slice(&access_bytes[..JTI_BYTES]);
                let v = jwt.rebuild(&jti);
                let key = crate::access_token::minted_jwt_key(&v);
                (v, key)
            }
        };
        let refresh = self.has_refresh.then(|| {
            encode_token(
                TokenKind::Refresh,
                &token_bytes(old_token, &secret, &self.salt, Part::Refresh),
            )
        });
        let check = Self::check_for(
            refresh.as_ref().map(|r| &r.hash),
            &access,
            &access_key,
            self.jwt.is_some(),
        );
        if !constant_time_eq::constant_time_eq(&check, &self.check) {
            return None;
        }
        // Scanned like any text: the kept JWT parts and scope come from the store.
        Some(crate::grant::issue::success_body(
            JsonStr::Text(&access),
            crate::access_token::BUILTIN_TOKEN_TYPE,
            self.expires_in,
            refresh.as_ref().map(|r| JsonStr::Text(r.value.expose())),
            JsonStr::Text(self.scope),
            None,
        ))
    }
}

/// Opens a kept successor, derived or sealed, for the holder of `old_token`.
pub(crate) fn open(
    old_token: &str,
    old_hash: &TokenHash,
    kept: &SealedResponse,
) -> Option<Vec<u8>> {
    if let Some(body) = Derived::decode(&kept.0).and_then(|d| d.rebuild(old_token)) {
        return Some(body);
    }
    crate::seal::open(old_token, old_hash, kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refresh token as this server mints them (bytes 7..=38).
    const OLD: &str = "tgr_BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY";

    fn salt(b: u8) -> Salt {
        Salt([b; SALT_LEN])
    }

    fn derive(old: &str, s: &Salt, part: Part) -> [u8; TOKEN_BYTES] {
        token_bytes(old, &OldSecret::of(old), s, part)
    }

    #[test]
    fn derivation_is_deterministic_and_depends_on_token_salt_and_part() {
        let a = derive(OLD, &salt(1), Part::Access);
        assert_eq!(a, derive(OLD, &salt(1), Part::Access));
        assert_ne!(a, derive(OLD, &salt(2), Part::Access));
        assert_ne!(a, derive(OLD, &salt(1), Part::Refresh));
        let other = "tgr_BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSA";
        assert_ne!(a, derive(other, &salt(1), Part::Access));
        // A string of another form (here: not canonical base64url) is hashed whole, still
        // per token.
        assert_eq!(
            OldSecret::of("tgr_k2Qf0w7m1yQeJx8s3vT9bL4nP6rA5cZ2dE1fG0hI3jK").len,
            0
        );
        assert_eq!(OldSecret::of(OLD).len, TOKEN_BYTES);
        assert_ne!(
            derive("tgr_short", &salt(1), Part::Access),
            derive("tgr_shorT", &salt(1), Part::Access)
        );
    }

    /// The one-block form is the documented construction over the decoded secret.
    #[test]
    fn the_secret_is_the_old_tokens_random_bytes() {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&OLD[4..])
            .unwrap();
        let mut input = b"tgd1r".to_vec();
        input.extend_from_slice(&[3; SALT_LEN]);
        input.extend_from_slice(&raw);
        assert_eq!(
            derive(OLD, &salt(3), Part::Refresh),
            crate::sha256::digest(&input)
        );
    }

    fn kept(has_refresh: bool) -> (SealedResponse, Vec<u8>) {
        let s = salt(7);
        let access = encode_token(TokenKind::Access, &derive(OLD, &s, Part::Access));
        let refresh = encode_token(TokenKind::Refresh, &derive(OLD, &s, Part::Refresh));
        let check = Derived::check_for(
            has_refresh.then_some(&refresh.hash),
            access.value.expose(),
            &access.hash,
            false,
        );
        let scope = "api:read offline_access";
        let body = crate::grant::issue::success_body(
            JsonStr::Plain(access.value.expose()),
            "Bearer",
            3600,
            has_refresh.then(|| JsonStr::Plain(refresh.value.expose())),
            JsonStr::Plain(scope),
            None,
        );
        let d = Derived {
            salt: s,
            check,
            has_refresh,
            expires_in: 3600,
            scope,
            jwt: None,
        };
        (d.encode(), body)
    }

    #[test]
    fn a_derived_successor_rebuilds_the_same_bytes_for_the_old_token_only() {
        for has_refresh in [true, false] {
            let (k, body) = kept(has_refresh);
            let h = TokenHash::of(OLD);
            assert_eq!(open(OLD, &h, &k).unwrap(), body);
            assert!(open("tgr_someone-else", &h, &k).is_none());
        }
    }

    /// What is kept at rest names neither token.
    #[test]
    fn a_derived_successor_holds_no_token() {
        let (k, body) = kept(true);
        let text = String::from_utf8(body).unwrap();
        for token in text.split('"').filter(|s| s.starts_with("tg")) {
            assert!(!k.0.windows(token.len()).any(|w| w == token.as_bytes()));
            let raw = &token[4..];
            assert!(!k.0.windows(8).any(|w| raw.as_bytes().starts_with(w)));
        }
    }

    /// A flipped check, salt or `expires_in`, or a truncated record, does not rebuild.
    #[test]
    fn a_tampered_derived_successor_does_not_open() {
        let (k, _) = kept(true);
        let h = TokenHash::of(OLD);
        for i in [4, 20, 28] {
            let mut bad = k.clone();
            bad.0[i] ^= 1;
            assert!(open(OLD, &h, &bad).is_none(), "byte {i}");
        }
        assert!(open(OLD, &h, &SealedResponse(k.0[..HEADER_LEN - 1].to_vec())).is_none());
    }

    /// A sealed successor whose random nonce happens to begin with the magic still opens.
    #[test]
    fn a_sealed_blob_that_looks_derived_opens_as_sealed() {
        let h = TokenHash::of(OLD);
        let mut nonce = TokenHash::of("tgr_new");
        nonce.0[..4].copy_from_slice(MAGIC);
        let sealed = crate::seal::seal(OLD, &h, &nonce, b"{\"a\":1}").unwrap();
        assert!(sealed.0.starts_with(MAGIC));
        assert_eq!(open(OLD, &h, &sealed).unwrap(), b"{\"a\":1}");
    }

    /// A JWT access token made the way `mint_jwt` makes one around the derived `jti`, kept
    /// derived; with the body it was sent in.
    fn kept_jwt(has_refresh: bool) -> (SealedResponse, Vec<u8>, String) {
        use base64::Engine as _;
        let s = salt(5);
        let mut jti = [0u8; JTI_BYTES];
        jti.copy_from_slice(&derive(OLD, &s, Part::Access)[..JTI_BYTES]);
        let claims = format!(
            "{{\"iss\":\"https://as.test\",\"scope\":\"api:read\",\"jti\":\"{}\"}}",
            jti_text(&jti)
        );
        let jwt = format!(
            "eyJhbGciOiJFUzI1NiJ9.{}.c2lnbmF0dXJl",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&claims)
        );
        let refresh = encode_token(TokenKind::Refresh, &derive(OLD, &s, Part::Refresh));
        let check = Derived::check_for(
            has_refresh.then_some(&refresh.hash),
            &jwt,
            &crate::access_token::minted_jwt_key(&jwt),
            true,
        );
        let body = crate::grant::issue::success_body(
            JsonStr::Plain(&jwt),
            "Bearer",
            600,
            has_refresh.then(|| JsonStr::Plain(refresh.value.expose())),
            JsonStr::Plain("api:read"),
            None,
        );
        let kept = Derived {
            salt: s,
            check,
            has_refresh,
            expires_in: 600,
            scope: "api:read",
            jwt: Some(KeptJwt::of(&jwt, &parts(&jwt, claims.as_bytes())).unwrap()),
        }
        .encode();
        (kept, body, jwt)
    }

    #[test]
    fn a_derived_jwt_successor_rebuilds_the_same_jwt_for_the_old_token_only() {
        for has_refresh in [true, false] {
            let (k, body, jwt) = kept_jwt(has_refresh);
            let h = TokenHash::of(OLD);
            assert_eq!(open(OLD, &h, &k).unwrap(), body);
            assert!(open("tgr_someone-else", &h, &k).is_none());
            // The signed claims (with the `jti`) are not kept.
            let claims = jwt.split('.').nth(1).unwrap();
            assert!(!k.0.windows(claims.len()).any(|w| w == claims.as_bytes()));
        }
    }

    /// A JWT part cut short, or claims that do not end in the `jti`, are refused.
    #[test]
    fn a_malformed_jwt_successor_is_refused() {
        let (k, _, jwt) = kept_jwt(false);
        let h = TokenHash::of(OLD);
        for cut in [HEADER_LEN + 1, HEADER_LEN + 30, k.0.len() - 9] {
            let short = SealedResponse(k.0[..cut].to_vec());
            assert!(open(OLD, &h, &short).is_none(), "cut at {cut}");
        }
        assert!(KeptJwt::of(&jwt, &parts(&jwt, b"{\"iss\":\"x\"}")).is_none());
        let jti_claims = b"{\"jti\":\"AAAAAAAAAAAAAAAAAAAAAA\"}";
        assert!(KeptJwt::of("no-dots", &parts("no-dots", jti_claims)).is_none());
        // A signature start that is not just after the last `.` is refused.
        let mut off = parts(&jwt, jti_claims);
        off.signature_start -= 1;
        assert!(KeptJwt::of(&jwt, &off).is_none());
        off.signature_start = jwt.len() + 1;
        assert!(KeptJwt::of(&jwt, &off).is_none());
    }

    /// What minting would report for `jwt` signed over `claims`.
    fn parts(jwt: &str, claims: &[u8]) -> JwtParts {
        JwtParts {
            claims: claims.to_vec(),
            signature_start: jwt.rfind('.').map_or(jwt.len(), |i| i + 1),
        }
    }

    #[test]
    fn derived_bytes_refuse_a_longer_draw() {
        let d = DerivedBytes([9; TOKEN_BYTES]);
        let mut ok = [0u8; TOKEN_BYTES];
        assert!(d.fill(&mut ok).is_ok());
        assert_eq!(ok, [9; TOKEN_BYTES]);
        assert!(d.fill(&mut [0u8; TOKEN_BYTES + 1]).is_err());
    }
}
