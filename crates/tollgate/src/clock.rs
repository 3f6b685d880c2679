//! Time as an injected value: the [`Clock`] trait, the production [`SystemClock`] and the
//! test [`ManualClock`] that a test advances by hand.
//!
//! Every expiry rule in RFC 6749 (§4.1.2 code lifetime, §5.1 `expires_in`) and the refresh-token
//! idle/absolute lifetimes of RFC 9700 §4.14.2 is decided against a [`UnixTime`] the caller
//! supplies, so the core never reads the OS clock on its own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Seconds since the Unix epoch; the unit of every timestamp in OAuth (`exp`, `iat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnixTime(pub u64);

impl UnixTime {
    /// Seconds since the epoch.
    #[must_use]
    pub const fn secs(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the far future instead of wrapping.
    #[must_use]
    pub fn plus(self, d: Duration) -> UnixTime {
        UnixTime(self.0.saturating_add(d.as_secs()))
    }

    /// Whole seconds from `self` until `later`, or zero when `later` is not later.
    #[must_use]
    pub fn until(self, later: UnixTime) -> u64 {
        later.0.saturating_sub(self.0)
    }
}

/// A source of the current time. Implementations must be cheap: the core asks once per request.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> UnixTime;
}

/// The operating-system clock; the production default.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        // A clock before 1970 is a broken host; treating it as the epoch makes every token
        // look expired rather than panicking.
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        UnixTime(secs)
    }
}

/// A clock that only moves when told to. Clones share the same time, so a test can keep one
/// handle and give another to the server.
#[derive(Clone, Debug)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading `start`.
    #[must_use]
    pub fn new(start: UnixTime) -> Self {
        ManualClock {
            now: Arc::new(AtomicU64::new(start.0)),
        }
    }

    /// Moves the clock forward by `d`.
    pub fn advance(&self, d: Duration) {
        self.now.fetch_add(d.as_secs(), Ordering::SeqCst);
    }

    /// Sets the clock to `t`.
    pub fn set(&self, t: UnixTime) {
        self.now.store(t.0, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.now.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_clones_share_time() {
        let a = ManualClock::new(UnixTime(100));
        let b = a.clone();
        a.advance(Duration::from_secs(5));
        assert_eq!(b.now(), UnixTime(105));
    }

    #[test]
    fn plus_saturates() {
        assert_eq!(
            UnixTime(u64::MAX).plus(Duration::from_secs(1)),
            UnixTime(u64::MAX)
        );
    }
}
