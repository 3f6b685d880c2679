//! SHA-256 (FIPS 180-4) for the hashes every token request makes: a token's storage hash
//! ([`TokenHash`](crate::TokenHash)), a fast-hashed client secret, the PKCE S256 check
//! (RFC 7636 §4.6), a grace-window successor's derived token bytes or seal key, and the
//! SHA-256 `at_hash` (OIDC Core §3.1.3.6).
//!
//! A refresh makes six such hashes of one block each. The `sha2` crate (RustCrypto;
//! SHA-NI when the CPU has it, detected at run time) does one in about 60 ns on the bench
//! machine, ring's one-shot `digest` in about 100 ns — the difference is ring's per-call
//! set-up, not the compression function. Signatures keep hashing inside ring.

use sha2::{Digest as _, Sha256};

/// The SHA-256 of `data`.
#[must_use]
pub(crate) fn digest(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// The SHA-256 of the concatenation of `parts`, without concatenating them first.
#[must_use]
pub(crate) fn digest_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    /// FIPS 180-4 example vectors, and agreement with ring for every length across the
    /// one-/two-block boundary (55/56 bytes).
    #[test]
    fn matches_the_standard_vectors_and_ring() {
        assert_eq!(
            hex(&digest(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&digest(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let data: Vec<u8> = (0..200u8).collect();
        for n in 0..data.len() {
            let ours = digest(&data[..n]);
            let ring = ring::digest::digest(&ring::digest::SHA256, &data[..n]);
            assert_eq!(&ours[..], ring.as_ref(), "length {n}");
            let (a, b) = data[..n].split_at(n / 3);
            assert_eq!(digest_parts(&[a, b]), ours, "split at {}", n / 3);
        }
    }
}
