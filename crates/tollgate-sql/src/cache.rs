//! An in-process cache of client registrations, so the client lookup that starts every
//! token request (RFC 6749 §3.2.1 client authentication) costs no round trip while warm.
//!
//! Entries live for a short, configurable time ([`crate::SqlOptions::client_cache_ttl`]);
//! a client registered or replaced through this store is visible at once, one changed
//! through another server or by hand within the TTL. Unknown ids are never cached (a flood
//! of random `client_id`s cannot grow it), and the cache holds at most
//! [`MAX_ENTRIES`] clients: when full it starts over.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tollgate::{Client, ClientId};

/// The most clients kept.
pub(crate) const MAX_ENTRIES: usize = 4096;

pub(crate) struct ClientCache {
    ttl: Duration,
    entries: RwLock<HashMap<ClientId, (Instant, Arc<Client>)>>,
}

impl ClientCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        ClientCache {
            ttl,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The cached registration of `id`, if fresh.
    pub(crate) fn get(&self, id: &ClientId) -> Option<Arc<Client>> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.read().ok()?;
        let (at, client) = entries.get(id)?;
        (at.elapsed() < self.ttl).then(|| Arc::clone(client))
    }

    /// Forgets every client whose id is not in `keep`.
    pub(crate) fn retain(&self, keep: &[String]) {
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        entries.retain(|id, _| keep.iter().any(|k| k == id.as_str()));
    }

    /// Remembers `client` as just read or written.
    pub(crate) fn put(&self, client: &Arc<Client>) {
        if self.ttl.is_zero() {
            return;
        }
        // A poisoned lock only means another thread panicked mid-insert; the map itself is
        // still a valid cache, so keep using it.
        let mut entries = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&client.id) {
            entries.clear();
        }
        entries.insert(client.id.clone(), (Instant::now(), Arc::clone(client)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str) -> Arc<Client> {
        let mut c = tollgate::conformance::kit_client();
        c.id = ClientId::new(id).expect("id");
        Arc::new(c)
    }

    #[test]
    fn fresh_entries_are_served_and_replaced() {
        let cache = ClientCache::new(Duration::from_secs(60));
        let id = ClientId::new("a").expect("id");
        assert!(cache.get(&id).is_none());
        cache.put(&client("a"));
        assert_eq!(cache.get(&id).map(|c| c.id.clone()), Some(id.clone()));
        let mut changed = client("a");
        Arc::make_mut(&mut changed)
            .redirect_uris
            .push("https://rp.test/other".into());
        cache.put(&changed);
        assert_eq!(cache.get(&id), Some(changed));
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = ClientCache::new(Duration::from_secs(60));
        for n in 0..=MAX_ENTRIES {
            cache.put(&client(&format!("c{n}")));
        }
        let len = cache.entries.read().map(|e| e.len()).unwrap_or(0);
        assert!(len <= MAX_ENTRIES, "{len}");
    }

    #[test]
    fn zero_ttl_disables_the_cache() {
        let cache = ClientCache::new(Duration::ZERO);
        cache.put(&client("a"));
        assert!(cache.get(&ClientId::new("a").expect("id")).is_none());
    }
}
