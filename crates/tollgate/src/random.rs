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

/// The production random source: the operating system's, through `ring`, stretched by a
/// per-thread ChaCha20 generator with fast key erasure.
///
/// Requests of up to 256 bytes are served from a per-thread 4 KiB block of ChaCha20
/// keystream (ring's ChaCha20-Poly1305 sealing zeros, so the AVX2 code path does the work).
/// Each block's first 32 bytes become the key of the next block and are never handed out, so
/// a thread's state, if read, reveals nothing already issued (Bernstein's "fast-key-erasure"
/// construction); every handed-out byte is wiped from the block. The key comes fresh from the
/// OS at a thread's first draw, every 64 blocks (256 KiB), and after a `fork`, so a child
/// never repeats its parent's bytes. Larger requests go to the OS directly.
///
/// Fork detection: on Unix a `pthread_atfork` child handler (the `forkguard` crate) bumps a
/// counter that every draw compares — one atomic load. A `getpid()` per draw, as libsodium
/// does, cost a system call (about 6 % of a refresh). The handler runs for `fork()` and
/// everything built on it; a child made by a raw `clone` system call skips it, so each block
/// refill also compares the process id, which bounds what such a child could share with its
/// parent to the rest of one block. Where the handler cannot be registered (or off Unix), every
/// draw compares the process id as before.
///
/// Why not the OS for everything: the kernel's generator cost ~7 µs per 4 KiB on the bench
/// machine — ~175 ns per refresh, 6 % of one — and ring's AVX2 ChaCha20 a fraction of that.
#[derive(Debug)]
pub struct SystemRandom(ring::rand::SystemRandom);

/// Size of a thread's keystream block.
const BUFFER_BYTES: usize = 4096;
/// Requests above this go to the OS directly instead of through the thread's block.
const BUFFERED_REQUEST_MAX: usize = 256;
/// Blocks generated from one OS-provided key before the next is fetched.
const RESEED_BLOCKS: u32 = 64;
/// The ChaCha20 key length, and the bytes of each block kept back as the next key.
const KEY_BYTES: usize = 32;

/// A thread's generator: the current keystream block and where handing out has reached.
struct Stream {
    bytes: Box<[u8; BUFFER_BYTES]>,
    used: usize,
    /// The key for the next block (taken from the current one).
    key: [u8; KEY_BYTES],
    /// Blocks made since the key last came from the OS; `RESEED_BLOCKS` forces a reseed.
    blocks: u32,
    /// The process id when the key last came from the OS.
    pid: u32,
    fork: ForkWatch,
}

/// Tells a thread's generator that the process forked since its last draw.
struct ForkWatch {
    #[cfg(unix)]
    handler: Option<forkguard::atfork::Guard>,
    pid: u32,
}

impl ForkWatch {
    fn new() -> Self {
        ForkWatch {
            #[cfg(unix)]
            handler: forkguard::atfork::Guard::try_new().ok(),
            pid: std::process::id(),
        }
    }

    /// Whether a fork happened since the last call: an atomic load where the `atfork` handler
    /// is registered, a `getpid()` otherwise.
    fn forked(&mut self) -> bool {
        #[cfg(unix)]
        if let Some(handler) = &mut self.handler {
            return handler.detected_fork();
        }
        let pid = std::process::id();
        let forked = pid != self.pid;
        self.pid = pid;
        forked
    }
}

thread_local! {
    static STREAM: std::cell::RefCell<Stream> = std::cell::RefCell::new(Stream {
        bytes: Box::new([0; BUFFER_BYTES]),
        used: BUFFER_BYTES,
        key: [0; KEY_BYTES],
        blocks: RESEED_BLOCKS,
        pid: 0,
        fork: ForkWatch::new(),
    });
}

impl Stream {
    /// Makes the next block: ChaCha20 keystream under the current key (fresh from the OS
    /// when due, after a detected fork, or when the process id changed since the last
    /// reseed), whose first 32 bytes become the next key.
    fn refill(&mut self, os: &ring::rand::SystemRandom, forked: bool) -> Result<(), RandomError> {
        use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
        let pid = std::process::id();
        if forked || self.blocks >= RESEED_BLOCKS || self.pid != pid {
            ring::rand::SecureRandom::fill(os, &mut self.key).map_err(|_| RandomError)?;
            self.blocks = 0;
            self.pid = pid;
        }
        let key = UnboundKey::new(&CHACHA20_POLY1305, &self.key).map_err(|_| RandomError)?;
        self.key.fill(0);
        self.bytes.fill(0);
        // Each key encrypts exactly one block, so a fixed nonce never repeats under a key.
        // The Poly1305 tag authenticates nothing here and is dropped.
        let _tag = LessSafeKey::new(key)
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key([0; NONCE_LEN]),
                Aad::empty(),
                &mut self.bytes[..],
            )
            .map_err(|_| RandomError)?;
        self.key.copy_from_slice(&self.bytes[..KEY_BYTES]);
        self.bytes[..KEY_BYTES].fill(0);
        self.used = KEY_BYTES;
        self.blocks += 1;
        Ok(())
    }
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
        STREAM
            .try_with(|cell| {
                let Ok(mut s) = cell.try_borrow_mut() else {
                    return direct(dest);
                };
                let forked = s.fork.forked();
                if forked || BUFFER_BYTES - s.used < dest.len() {
                    s.refill(&self.0, forked)?;
                }
                let start = s.used;
                let end = start + dest.len();
                dest.copy_from_slice(&s.bytes[start..end]);
                s.bytes[start..end].fill(0);
                s.used = end;
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

    /// The block is ChaCha20 keystream (RFC 8439 §A.1 test vector #2: zero key, zero nonce,
    /// block counter 1); its first 32 bytes become the next key and are never handed out.
    #[test]
    fn a_block_is_chacha20_keystream_whose_head_becomes_the_next_key() {
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let mut s = Stream {
            bytes: Box::new([0; BUFFER_BYTES]),
            used: BUFFER_BYTES,
            key: [0; KEY_BYTES],
            blocks: 0,
            pid: std::process::id(),
            fork: ForkWatch::new(),
        };
        s.refill(&ring::rand::SystemRandom::new(), false).unwrap();
        assert_eq!(
            hex(&s.key),
            "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
        );
        assert_eq!(s.used, KEY_BYTES);
        assert_eq!(
            &s.bytes[..KEY_BYTES],
            &[0; KEY_BYTES],
            "the next key is wiped"
        );
        assert_eq!(
            hex(&s.bytes[KEY_BYTES..64]),
            "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f"
        );
        // A detected fork forces a key from the OS: the output no longer follows the chain.
        let chained = s.key;
        s.refill(&ring::rand::SystemRandom::new(), true).unwrap();
        assert_ne!(s.key, chained);
        assert_eq!(s.blocks, 1);
        // So does a process id other than the one of the last reseed (a child that skipped
        // the atfork handler), checked at every refill.
        let chained = s.key;
        s.pid = s.pid.wrapping_add(1);
        s.refill(&ring::rand::SystemRandom::new(), false).unwrap();
        assert_ne!(s.key, chained);
        assert_eq!(s.pid, std::process::id());
        // Without either, the chain continues: the key is the previous block's head.
        s.blocks = 0;
        let next = s.key;
        let mut again = Stream {
            bytes: Box::new([0; BUFFER_BYTES]),
            used: BUFFER_BYTES,
            key: next,
            blocks: 0,
            pid: std::process::id(),
            fork: ForkWatch::new(),
        };
        s.refill(&ring::rand::SystemRandom::new(), false).unwrap();
        again
            .refill(&ring::rand::SystemRandom::new(), false)
            .unwrap();
        assert_eq!(s.key, again.key, "no reseed without a fork");
    }

    /// Without an atfork handler, the watch falls back to comparing the process id.
    #[test]
    fn the_fork_watch_reports_a_changed_process_id_once() {
        let mut w = ForkWatch::new();
        assert!(!w.forked(), "no fork since it was made");
        #[cfg(unix)]
        {
            assert!(w.handler.is_some(), "pthread_atfork registered");
            w.handler = None;
        }
        w.pid = w.pid.wrapping_add(1);
        assert!(w.forked());
        assert!(!w.forked(), "reported once");
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
