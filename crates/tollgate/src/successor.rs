//! How a rotated refresh token keeps its successor response for the grace window (RFC 9700
//! §4.14.2 rotation, with Okta's retry leeway), so that presenting the old token again gets
//! the same response byte for byte and the family never forks.
//!
//! Two forms, chosen at each rotation:
//!
//! * **Derived** — when the response holds nothing but tokens made of random bytes: an
//!   access token of the built-in opaque format, the successor refresh token, and no ID
//!   token. Their bytes are not drawn but derived, `SHA-256(label ‖ salt ‖ old token)`, from
//!   a fresh 128-bit salt. The store keeps the salt, the `expires_in` and `scope` the
//!   response carried and eight bytes of the successor's hash as a check; a retry recomputes
//!   the tokens from the presented old token and rebuilds the response. Recomputing needs
//!   the old token, which the store holds only as a hash, *and* the salt — exactly what
//!   opening a sealed response needs (the old token and the stored ciphertext) — so the two
//!   forms protect the same; the derived one runs no AEAD on the rotation path and keeps
//!   about 40 bytes instead of an encrypted copy of the response.
//! * **Sealed** — otherwise (JWT access tokens, ID tokens, a custom access-token format):
//!   the whole response encrypted under a key derived from the old token ([`crate::seal`]).
//!
//! Both live in the rotated record's `successor` bytes; a derived one starts with
//! [`MAGIC`]. A sealed blob starts with a random nonce, so it could begin with the same four
//! bytes (odds 2⁻³²): the check then fails (odds 2⁻⁶⁴ that it would not) and the blob is
//! opened as sealed.

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
        use base64::Engine as _;
        let mut raw = [0u8; TOKEN_BYTES + 1];
        let decoded = old_token.get(4..).and_then(|b64| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode_slice(b64, &mut raw)
                .ok()
        });
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

/// What a derived successor keeps: enough to rebuild the response, nothing secret.
pub(crate) struct Derived<'a> {
    pub salt: Salt,
    /// The first bytes of the successor refresh token's hash, or of the access token's when
    /// no refresh token was issued.
    pub check: [u8; CHECK_LEN],
    pub has_refresh: bool,
    pub expires_in: u64,
    pub scope: &'a str,
}

impl Derived<'_> {
    pub(crate) fn check_of(hash: &TokenHash) -> [u8; CHECK_LEN] {
        let mut c = [0u8; CHECK_LEN];
        c.copy_from_slice(&hash.0[..CHECK_LEN]);
        c
    }

    pub(crate) fn encode(&self) -> SealedResponse {
        let mut out = Vec::with_capacity(HEADER_LEN + self.scope.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.salt.0);
        out.extend_from_slice(&self.check);
        out.push(if self.has_refresh { HAS_REFRESH } else { 0 });
        out.extend_from_slice(&self.expires_in.to_be_bytes());
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
        let (expires_in, scope) = rest.split_at(8);
        Some(Derived {
            salt: Salt(salt.try_into().ok()?),
            check: check.try_into().ok()?,
            has_refresh: flags[0] & HAS_REFRESH != 0,
            expires_in: u64::from_be_bytes(expires_in.try_into().ok()?),
            scope: std::str::from_utf8(scope).ok()?,
        })
    }

    /// Rebuilds the successor response for the holder of `old_token`: `None` unless the
    /// recomputed tokens match the check (a wrong token, or bytes that only looked derived).
    pub(crate) fn rebuild(&self, old_token: &str) -> Option<Vec<u8>> {
        let secret = OldSecret::of(old_token);
        let access = encode_token(
            TokenKind::Access,
            &token_bytes(old_token, &secret, &self.salt, Part::Access),
        );
        let refresh = self.has_refresh.then(|| {
            encode_token(
                TokenKind::Refresh,
                &token_bytes(old_token, &secret, &self.salt, Part::Refresh),
            )
        });
        let checked = refresh.as_ref().map_or(&access.hash, |r| &r.hash);
        if !constant_time_eq::constant_time_eq(&Self::check_of(checked), &self.check) {
            return None;
        }
        Some(crate::grant::issue::success_body(
            access.value.expose(),
            crate::access_token::BUILTIN_TOKEN_TYPE,
            self.expires_in,
            refresh.as_ref().map(|r| r.value.expose()),
            self.scope,
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
        let checked = if has_refresh {
            &refresh.hash
        } else {
            &access.hash
        };
        let scope = "api:read offline_access";
        let body = crate::grant::issue::success_body(
            access.value.expose(),
            "Bearer",
            3600,
            has_refresh.then(|| refresh.value.expose()),
            scope,
            None,
        );
        let d = Derived {
            salt: s,
            check: Derived::check_of(checked),
            has_refresh,
            expires_in: 3600,
            scope,
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

    #[test]
    fn derived_bytes_refuse_a_longer_draw() {
        let d = DerivedBytes([9; TOKEN_BYTES]);
        let mut ok = [0u8; TOKEN_BYTES];
        assert!(d.fill(&mut ok).is_ok());
        assert_eq!(ok, [9; TOKEN_BYTES]);
        assert!(d.fill(&mut [0u8; TOKEN_BYTES + 1]).is_err());
    }
}
