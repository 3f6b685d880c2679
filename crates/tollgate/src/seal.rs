//! Sealing a rotated refresh token's successor response, so the grace window (RFC 9700
//! §4.14.2 rotation, with Okta's retry leeway) can replay it without anything readable at
//! rest.
//!
//! The key is derived from the *presented* refresh token (256 random bits), which the store
//! never sees: only a holder of the old token can open the successor. ChaCha20-Poly1305
//! (no key schedule to pay per request): measured beside AES-256-GCM (`cargo bench -p
//! tollgate-benches --bench token_endpoint -- seal/`), it is ~75 ns cheaper on a response
//! with an opaque access token (~250 bytes, the common case) and ~145 ns dearer on one with
//! an ES256 JWT access token (~800 bytes); the nonce is taken from the successor's own random
//! token hash, unique per sealing attempt; the old token's hash is the associated data,
//! binding the ciphertext to its record.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::token::TokenHash;

/// The key-derivation label. Short, so label and token (51 bytes) fit one SHA-256 block.
const DOMAIN: &[u8] = b"tgs2";
/// The label of version 1, still accepted when opening, so successors sealed before an
/// upgrade replay inside their grace window.
const DOMAIN_V1: &[u8] = b"tollgate/refresh-grace-successor/v1\0";

/// A successor response encrypted under a key only the old token's holder can derive.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedResponse(pub Vec<u8>);

impl std::fmt::Debug for SealedResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedResponse({} bytes)", self.0.len())
    }
}

/// SHA-256 over a domain label and the token: the token carries 256 uniformly random bits,
/// so a single hash is a sound key-derivation function here (no extract step is needed),
/// and the label keeps the key apart from the token's storage hash.
fn key_for(old_token: &str) -> Result<LessSafeKey, Error> {
    key_with(DOMAIN, old_token)
}

fn key_with(domain: &[u8], old_token: &str) -> Result<LessSafeKey, Error> {
    let key = crate::sha256::digest_parts(&[domain, old_token.as_bytes()]);
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, &key).map_err(|_| Error::Seal)?;
    Ok(LessSafeKey::new(unbound))
}

/// Seals `body` for the holder of `old_token`. `nonce_source` must be unique per call for a
/// given old token (the successor's token hash is).
///
/// # Errors
/// [`Error::Seal`] if the AEAD refuses (it does not for these sizes).
pub fn seal(
    old_token: &str,
    old_hash: &TokenHash,
    nonce_source: &TokenHash,
    body: &[u8],
) -> Result<SealedResponse, Error> {
    let key = key_for(old_token)?;
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&nonce_source.0[..NONCE_LEN]);
    let mut out = Vec::with_capacity(NONCE_LEN + body.len() + CHACHA20_POLY1305.tag_len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(body);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&old_hash.0),
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| Error::Seal)?;
    out.extend_from_slice(tag.as_ref());
    Ok(SealedResponse(out))
}

/// Opens a sealed successor with the presented old token; `None` if it does not open.
#[must_use]
pub fn open(old_token: &str, old_hash: &TokenHash, sealed: &SealedResponse) -> Option<Vec<u8>> {
    open_with(DOMAIN, old_token, old_hash, sealed)
        .or_else(|| open_with(DOMAIN_V1, old_token, old_hash, sealed))
}

fn open_with(
    domain: &[u8],
    old_token: &str,
    old_hash: &TokenHash,
    sealed: &SealedResponse,
) -> Option<Vec<u8>> {
    let key = key_with(domain, old_token).ok()?;
    if sealed.0.len() < NONCE_LEN + CHACHA20_POLY1305.tag_len() {
        return None;
    }
    let (nonce, ct) = sealed.0.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = ct.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(&old_hash.0), &mut buf)
        .ok()?;
    let n = plain.len();
    buf.truncate(n);
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A successor sealed by version 1 (before an upgrade) still opens.
    #[test]
    fn a_version_1_successor_still_opens() {
        let h = TokenHash::of("tgr_old");
        let key = key_with(DOMAIN_V1, "tgr_old").unwrap();
        let mut out = vec![7u8; NONCE_LEN];
        out.extend_from_slice(b"{}");
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key([7; NONCE_LEN]),
                Aad::from(&h.0),
                &mut out[NONCE_LEN..],
            )
            .unwrap();
        out.extend_from_slice(tag.as_ref());
        assert_eq!(open("tgr_old", &h, &SealedResponse(out)).unwrap(), b"{}");
    }

    /// A tampered or truncated blob does not open.
    #[test]
    fn tampered_or_truncated_successors_do_not_open() {
        let h = TokenHash::of("tgr_old");
        let s = seal("tgr_old", &h, &TokenHash::of("tgr_new"), b"{\"a\":1}").unwrap();
        let mut flipped = s.clone();
        let last = flipped.0.len() - 1;
        flipped.0[last] ^= 1;
        assert!(open("tgr_old", &h, &flipped).is_none());
        let short = NONCE_LEN + CHACHA20_POLY1305.tag_len() - 1;
        assert!(open("tgr_old", &h, &SealedResponse(s.0[..short].to_vec())).is_none());
    }

    #[test]
    fn round_trip_and_wrong_token_fails() {
        let h = TokenHash::of("tgr_old");
        let n = TokenHash::of("tgr_new");
        let s = seal("tgr_old", &h, &n, b"{\"a\":1}").unwrap();
        assert_eq!(open("tgr_old", &h, &s).unwrap(), b"{\"a\":1}");
        assert!(open("tgr_other", &h, &s).is_none());
        assert!(open("tgr_old", &TokenHash::of("x"), &s).is_none());
        assert!(!s.0.windows(7).any(|w| w == b"{\"a\":1}"));
    }
}
