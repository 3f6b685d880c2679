//! The user table: password checks for the login page and the password grant
//! ([`tollgate::grant::password::AsyncPasswordVerifier`]), with a per-username failure
//! counter as brute-force protection (RFC 6749 §4.3.2, CA-07), and the users' OpenID claims
//! for UserInfo ([`ClaimsSource`]).
//!
//! PBKDF2 is deliberately slow, so checks run on the blocking pool; an unknown username costs
//! the same as a wrong password, so timing does not tell which names exist.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tollgate::claims::{Claims, ClaimsRequest, ClaimsSource};
use tollgate::grant::password::AsyncPasswordVerifier;
use tollgate::{Clock, PasswordCheck, PasswordVerdict, SecretHash, Subject};

use crate::config::{LoginConfig, User};

/// Most usernames whose failures are remembered; beyond it, stale entries are dropped.
const MAX_TRACKED: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    since: u64,
}

/// The configured users and their recent failures.
pub struct Users {
    by_name: HashMap<String, Arc<User>>,
    by_sub: HashMap<String, Arc<User>>,
    failures: Mutex<HashMap<String, Failures>>,
    max_failures: u32,
    window: u64,
    clock: Arc<dyn Clock>,
    /// Checked against when the username is unknown, so that costs the same.
    decoy: SecretHash,
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Users")
            .field("count", &self.by_name.len())
            .finish_non_exhaustive()
    }
}

impl Users {
    /// The table for `users`, counting failures per `login` and reading time from `clock`.
    #[must_use]
    pub fn new(users: Vec<User>, login: &LoginConfig, clock: Arc<dyn Clock>) -> Users {
        let decoy = users
            .first()
            .map_or_else(|| SecretHash::Sha256([0; 32]), |u| u.password.clone());
        let users: Vec<Arc<User>> = users.into_iter().map(Arc::new).collect();
        Users {
            by_name: users
                .iter()
                .map(|u| (u.username.clone(), Arc::clone(u)))
                .collect(),
            by_sub: users
                .iter()
                .map(|u| (u.sub.clone(), Arc::clone(u)))
                .collect(),
            failures: Mutex::new(HashMap::new()),
            max_failures: login.max_failures,
            window: login.failure_window,
            clock,
            decoy,
        }
    }

    /// Checks `password` for `username`: [`PasswordVerdict::Refused`] while the name has
    /// `max_failures` failures within the window, else authenticated or invalid.
    pub async fn check(&self, username: &str, password: &str) -> PasswordVerdict {
        let now = self.clock.now().secs();
        if self.locked(username, now) {
            return PasswordVerdict::Refused;
        }
        let user = self.by_name.get(username).cloned();
        let hash = user
            .as_ref()
            .map_or_else(|| self.decoy.clone(), |u| u.password.clone());
        let password = password.to_string();
        let matches = tokio::task::spawn_blocking(move || hash.verify(&password))
            .await
            .unwrap_or(false);
        match user {
            Some(u) if matches => {
                self.lock_failures().remove(username);
                PasswordVerdict::Authenticated(Subject {
                    id: u.sub.as_str().into(),
                    groups: u.groups.clone(),
                    auth_time: Some(self.clock.now()),
                    acr: None,
                    amr: vec!["pwd".to_string()],
                })
            }
            _ => {
                self.record_failure(username, now);
                PasswordVerdict::InvalidCredentials
            }
        }
    }

    fn lock_failures(&self) -> std::sync::MutexGuard<'_, HashMap<String, Failures>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn locked(&self, username: &str, now: u64) -> bool {
        self.lock_failures().get(username).is_some_and(|f| {
            now.saturating_sub(f.since) < self.window && f.count >= self.max_failures
        })
    }

    fn record_failure(&self, username: &str, now: u64) {
        let mut map = self.lock_failures();
        if map.len() >= MAX_TRACKED {
            let window = self.window;
            map.retain(|_, f| now.saturating_sub(f.since) < window);
        }
        let entry = map.entry(username.to_string()).or_insert(Failures {
            count: 0,
            since: now,
        });
        if now.saturating_sub(entry.since) >= self.window {
            *entry = Failures {
                count: 0,
                since: now,
            };
        }
        entry.count = entry.count.saturating_add(1);
    }
}

impl AsyncPasswordVerifier for Users {
    async fn verify(&self, check: &PasswordCheck) -> PasswordVerdict {
        self.check(&check.username, check.password.expose()).await
    }
}

impl ClaimsSource for Users {
    fn claims(&self, request: &ClaimsRequest) -> Option<Claims> {
        self.by_sub.get(&request.subject).map(|u| u.claims.clone())
    }
}

/// Hashes a password for `[[users]].password_hash` (PBKDF2-HMAC-SHA256, 600 000
/// iterations, as OWASP recommends).
///
/// # Errors
/// When the OS random source fails.
pub fn hash_password(password: &str) -> Result<String, tollgate::random::RandomError> {
    let iterations = std::num::NonZeroU32::new(600_000).unwrap_or(std::num::NonZeroU32::MIN);
    Ok(SecretHash::slow(password, iterations, &tollgate::SystemRandom::new())?.to_stored())
}
