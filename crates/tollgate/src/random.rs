//! Randomness as an injected value: the [`SecureRandom`] trait, the production
//! [`SystemRandom`] (ring's OS source) and the deterministic [`SeededRandom`] for tests.
//!
//! Tokens and codes draw 256 bits from here, beyond the 2^-128 guessing bound of RFC 6749
//! §10.10 and the ≥ 128 bits of RFC 9700 §4.14.

use std::sync::atomic::{AtomicU64, Ordering};

use ring::digest;
use thiserror::Error;

/// The random source could not produce bytes (for example the OS source failed).
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("the random source failed to produce bytes")]
pub struct RandomError;

/// A cryptographically secure source of random bytes.
pub trait SecureRandom: Send + Sync {
    /// Fills `dest` entirely with random bytes.
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError>;
}

/// The operating system's secure random source, through `ring`. The production default.
///
/// Requests for fewer than 256 bytes are served from a per-thread buffer of OS randomness
/// refilled 4 KiB at a time, so a token request costs a fraction of a `getrandom` call
/// instead of a whole one (the call's fixed cost was a tenth of a refresh). Every byte is
/// handed out once and wiped; a buffer filled by another process (after `fork`) is thrown
/// away.
#[derive(Debug)]
pub struct SystemRandom(ring::rand::SystemRandom);

const BUFFER_BYTES: usize = 4096;
const BUFFERED_REQUEST_MAX: usize = 256;

struct OsBuffer {
    bytes: Box<[u8; BUFFER_BYTES]>,
    used: usize,
    pid: u32,
}

thread_local! {
    static OS_BUFFER: std::cell::RefCell<OsBuffer> = std::cell::RefCell::new(OsBuffer {
        bytes: Box::new([0; BUFFER_BYTES]),
        used: BUFFER_BYTES,
        pid: 0,
    });
}

impl SystemRandom {
    /// A handle to the OS random source.
    #[must_use]
    pub fn new() -> Self {
        SystemRandom(ring::rand::SystemRandom::new())
    }
}

impl Default for SystemRandom {
    fn default() -> Self {
        Self::new()
    }
}

impl SecureRandom for SystemRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        let direct = |dest: &mut [u8]| {
            ring::rand::SecureRandom::fill(&self.0, dest).map_err(|_| RandomError)
        };
        if dest.len() > BUFFERED_REQUEST_MAX {
            return direct(dest);
        }
        OS_BUFFER
            .try_with(|cell| {
                let Ok(mut b) = cell.try_borrow_mut() else {
                    return direct(dest);
                };
                let pid = std::process::id();
                if b.pid != pid || BUFFER_BYTES - b.used < dest.len() {
                    direct(&mut b.bytes[..])?;
                    b.used = 0;
                    b.pid = pid;
                }
                let start = b.used;
                let end = start + dest.len();
                dest.copy_from_slice(&b.bytes[start..end]);
                b.bytes[start..end].fill(0);
                b.used = end;
                Ok(())
            })
            .unwrap_or_else(|_| direct(dest))
    }
}

/// A deterministic source for tests and fuzzing: SHA-256 in counter mode over a seed.
///
/// The n-th call to [`fill`](SecureRandom::fill) always yields the same bytes for the same
/// seed, so a test that makes its calls in the same order sees the same tokens.
/// **Never use it in production**: anyone who knows the seed knows every token.
#[derive(Debug)]
pub struct SeededRandom {
    seed: [u8; 32],
    calls: AtomicU64,
}

impl SeededRandom {
    /// A source whose output is fixed by `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&seed.to_le_bytes());
        SeededRandom {
            seed: s,
            calls: AtomicU64::new(0),
        }
    }
}

impl SecureRandom for SeededRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        let call = self.calls.fetch_add(1, Ordering::Relaxed);
        for (block, chunk) in dest.chunks_mut(32).enumerate() {
            let mut ctx = digest::Context::new(&digest::SHA256);
            ctx.update(&self.seed);
            ctx.update(&call.to_le_bytes());
            ctx.update(&(block as u64).to_le_bytes());
            let out = ctx.finish();
            chunk.copy_from_slice(&out.as_ref()[..chunk.len()]);
        }
        Ok(())
    }
}

/// Random bytes drawn once per decision and handed out in pieces, so a request that mints
/// a family id, an access token and a refresh token pays for one OS call instead of three.
/// Every byte is handed out at most once; when the pool runs dry it draws from the source
/// directly.
pub(crate) struct RandomPool<'a> {
    source: &'a dyn SecureRandom,
    state: std::sync::Mutex<([u8; POOL_BYTES], usize)>,
}

/// Enough for a family id, an access token, a refresh token and a JWT `jti`.
const POOL_BYTES: usize = 96;

impl<'a> RandomPool<'a> {
    pub(crate) fn new(source: &'a dyn SecureRandom) -> Self {
        RandomPool {
            source,
            // `POOL_BYTES` as the cursor means "not drawn yet".
            state: std::sync::Mutex::new(([0; POOL_BYTES], POOL_BYTES)),
        }
    }
}

impl SecureRandom for RandomPool<'_> {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        let Ok(mut guard) = self.state.lock() else {
            return self.source.fill(dest);
        };
        let (buf, used) = &mut *guard;
        if *used == POOL_BYTES && dest.len() < POOL_BYTES {
            self.source.fill(buf)?;
            *used = 0;
        }
        if dest.len() <= POOL_BYTES - *used {
            dest.copy_from_slice(&buf[*used..*used + dest.len()]);
            // Wipe what was handed out so it cannot be handed out again by mistake.
            buf[*used..*used + dest.len()].fill(0);
            *used += dest.len();
            Ok(())
        } else {
            self.source.fill(dest)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_random_never_repeats_buffered_bytes() {
        let r = SystemRandom::new();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let mut b = [0u8; 32];
            r.fill(&mut b).unwrap();
            assert!(seen.insert(b), "a repeated 256-bit draw means reused bytes");
        }
        let mut big = [0u8; 1000];
        r.fill(&mut big).unwrap();
        assert!(big.iter().any(|&x| x != 0));
    }

    #[test]
    fn a_pool_hands_out_distinct_bytes_and_draws_once() {
        let source = SeededRandom::new(1);
        let pool = RandomPool::new(&source);
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        pool.fill(&mut a).unwrap();
        pool.fill(&mut b).unwrap();
        assert_ne!(a, b);
        let mut big = [0u8; 80];
        pool.fill(&mut big).unwrap();
        assert_eq!(
            source.calls.load(Ordering::Relaxed),
            2,
            "one pool draw, one direct draw"
        );
    }

    #[test]
    fn seeded_is_repeatable_and_calls_differ() {
        let (a, b) = (SeededRandom::new(7), SeededRandom::new(7));
        let (mut x, mut y, mut z) = ([0u8; 40], [0u8; 40], [0u8; 40]);
        a.fill(&mut x).unwrap();
        b.fill(&mut y).unwrap();
        a.fill(&mut z).unwrap();
        assert_eq!(x, y);
        assert_ne!(x, z);
    }
}
