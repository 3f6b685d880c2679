//! [`MemoryStore`]: the in-process store for tests, fuzzing, benchmarks and embedding
//! without persistence. One mutex around all token state makes every [`Commit`] atomic.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use super::by_key::ByKey;
use super::{
    AccessTokenRecord, AccessView, CodeRecord, Commit, CommitOutcome, ConsentRecord, FamilyRecord,
    InteractionNext, InteractionRecord, Issuance, RefreshState, RefreshTokenRecord, RefreshView,
    Store, StoreError,
};
use crate::client::{Client, ClientId};
use crate::clock::UnixTime;
use crate::error::Error;
use crate::token::{FamilyId, TokenHash};

/// Keys that are already uniformly random (SHA-256 outputs, random family ids) need no
/// keyed hash: their first eight bytes are the bucket index. Only server-minted records are
/// inserted, so a client cannot aim lookups at one bucket.
#[derive(Clone, Copy, Default)]
struct RandomKey;

#[derive(Default)]
struct FirstWord(u64);

impl std::hash::Hasher for FirstWord {
    fn write(&mut self, bytes: &[u8]) {
        let mut w = [0u8; 8];
        let n = bytes.len().min(8);
        w[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(w);
    }

    fn write_usize(&mut self, _len: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

impl std::hash::BuildHasher for RandomKey {
    type Hasher = FirstWord;
    fn build_hasher(&self) -> FirstWord {
        FirstWord(0)
    }
}

type RandomMap<K, V> = HashMap<K, V, RandomKey>;

/// Records are kept in the allocations they were minted in (`Arc`s a commit hands over):
/// an insert writes a slot into the (large, often cold) hash table instead of a 128–300-byte
/// record — 8 bytes in the refresh-token, access-token and family tables, which find records by
/// the key they carry ([`ByKey`]), 40 bytes in the others — and a lookup hands out the same records by reference count
/// rather than copying them ([`RefreshView`], [`Store::code`]). A record is copied only
/// when it changes while a lookup still holds it (`Arc::make_mut`).
#[derive(Default)]
struct Tokens {
    codes: RandomMap<TokenHash, Arc<CodeRecord>>,
    families: ByKey<FamilyRecord>,
    refresh: ByKey<RefreshTokenRecord>,
    access: ByKey<AccessTokenRecord>,
    interactions: RandomMap<TokenHash, Box<InteractionRecord>>,
    consents: HashMap<(String, ClientId), ConsentRecord>,
    jtis: RandomMap<TokenHash, UnixTime>,
}

/// An in-memory [`Store`].
#[derive(Default)]
pub struct MemoryStore {
    clients: RwLock<HashMap<ClientId, Arc<Client>>>,
    tokens: Mutex<Tokens>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryStore { .. }")
    }
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers (or replaces) a client after validating it.
    ///
    /// # Errors
    /// [`Error::Config`] when the client is invalid.
    pub fn insert_client(&self, client: Client) -> Result<(), Error> {
        client.validate()?;
        let mut clients = self
            .clients
            .write()
            .map_err(|_| StoreError::failed("client table lock poisoned"))?;
        clients.insert(client.id.clone(), Arc::new(client));
        Ok(())
    }

    /// Removes everything expired at `now`, at most `batch` records per call; returns how
    /// many were removed. A family goes once it is past its absolute expiry or was revoked
    /// and all its tokens are gone.
    ///
    /// # Errors
    /// When the lock is poisoned.
    pub fn purge_expired(&self, now: UnixTime, batch: usize) -> Result<usize, StoreError> {
        let mut t = self.lock()?;
        let mut removed = 0usize;
        let spent: Vec<TokenHash> = t
            .jtis
            .iter()
            .filter(|(_, until)| now >= **until)
            .map(|(k, _)| *k)
            .take(batch)
            .collect();
        for k in spent {
            t.jtis.remove(&k);
            removed += 1;
        }
        let interactions: Vec<TokenHash> = t
            .interactions
            .iter()
            .filter(|(_, i)| now >= i.expires_at)
            .map(|(h, _)| *h)
            .take(batch.saturating_sub(removed))
            .collect();
        for h in interactions {
            t.interactions.remove(&h);
            removed += 1;
        }
        let codes: Vec<TokenHash> = t
            .codes
            .iter()
            .filter(|(_, c)| now >= c.expires_at)
            .map(|(h, _)| *h)
            .take(batch.saturating_sub(removed))
            .collect();
        for h in codes {
            t.codes.remove(&h);
            removed += 1;
        }
        let families = &t.families;
        let dead_refresh: Vec<TokenHash> = t
            .refresh
            .values()
            .filter(|r| {
                r.idle_expires_at.is_some_and(|e| now >= e)
                    || families
                        .get(&r.family)
                        .is_none_or(|f| f.is_revoked() || f.expires_at.is_some_and(|e| now >= e))
            })
            .map(|r| r.hash)
            .take(batch.saturating_sub(removed))
            .collect();
        for h in dead_refresh {
            t.refresh.remove(&h);
            removed += 1;
        }
        let families = &t.families;
        let dead_access: Vec<TokenHash> = t
            .access
            .values()
            .filter(|a| {
                now >= a.expires_at
                    || a.revoked_at.is_some()
                    || families.get(&a.family).is_none_or(|f| f.is_revoked())
            })
            .map(|r| r.hash)
            .take(batch.saturating_sub(removed))
            .collect();
        for h in dead_access {
            t.access.remove(&h);
            removed += 1;
        }
        if removed < batch {
            let live: std::collections::HashSet<FamilyId> = t
                .refresh
                .values()
                .map(|r| r.family)
                .chain(t.access.values().map(|a| a.family))
                .chain(t.codes.values().filter_map(|c| c.redeemed_into))
                .collect();
            let dead: Vec<FamilyId> = t
                .families
                .values()
                .map(|f| f.id)
                .filter(|f| !live.contains(f))
                .take(batch.saturating_sub(removed))
                .collect();
            for f in dead {
                t.families.remove(&f);
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Tokens>, StoreError> {
        self.tokens
            .lock()
            .map_err(|_| StoreError::failed("token table lock poisoned"))
    }
}

/// Whether family `id` exists and is not revoked.
fn live(families: &ByKey<FamilyRecord>, id: &FamilyId) -> bool {
    families.get(id).is_some_and(|f| !f.is_revoked())
}

impl Tokens {
    fn family_live(&self, id: &FamilyId) -> bool {
        live(&self.families, id)
    }

    /// Refresh token `hash`, writable (copied first only if a lookup still shares it), when
    /// it is active and its family is live: the precondition of a rotation or a static use.
    fn active_refresh_mut(&mut self, hash: &TokenHash) -> Option<&mut RefreshTokenRecord> {
        let r = self.refresh.get_mut(hash)?;
        (r.state == RefreshState::Active && live(&self.families, &r.family))
            .then(|| Arc::make_mut(r))
    }

    fn insert_issuance(&mut self, i: Issuance) {
        if let Some(r) = i.refresh {
            self.refresh.insert(r);
        }
        self.access.insert(i.access);
        self.families.insert(i.family);
    }
}

impl Store for MemoryStore {
    fn client(&self, id: &ClientId) -> Result<Option<Arc<Client>>, StoreError> {
        let clients = self
            .clients
            .read()
            .map_err(|_| StoreError::failed("client table lock poisoned"))?;
        Ok(clients.get(id).cloned())
    }

    fn code(&self, hash: &TokenHash) -> Result<Option<Arc<CodeRecord>>, StoreError> {
        Ok(self.lock()?.codes.get(hash).cloned())
    }

    fn refresh_token(&self, hash: &TokenHash) -> Result<Option<RefreshView>, StoreError> {
        let t = self.lock()?;
        let Some(token) = t.refresh.get(hash) else {
            return Ok(None);
        };
        let Some(family) = t.families.get(&token.family) else {
            return Ok(None);
        };
        Ok(Some(RefreshView {
            token: Arc::clone(token),
            family: Arc::clone(family),
        }))
    }

    fn access_token(&self, hash: &TokenHash) -> Result<Option<AccessView>, StoreError> {
        let t = self.lock()?;
        let Some(token) = t.access.get(hash) else {
            return Ok(None);
        };
        let Some(family) = t.families.get(&token.family) else {
            return Ok(None);
        };
        Ok(Some(AccessView {
            token: Arc::clone(token),
            family: Arc::clone(family),
        }))
    }

    fn interaction(&self, hash: &TokenHash) -> Result<Option<Box<InteractionRecord>>, StoreError> {
        Ok(self.lock()?.interactions.get(hash).cloned())
    }

    fn consent(
        &self,
        subject: &str,
        client: &ClientId,
    ) -> Result<Option<ConsentRecord>, StoreError> {
        Ok(self
            .lock()?
            .consents
            .get(&(subject.to_string(), client.clone()))
            .cloned())
    }

    fn commit(&self, commit: Commit) -> Result<CommitOutcome, StoreError> {
        let mut t = self.lock()?;
        let applied = match commit {
            Commit::StoreCode(code) => match t.codes.entry(code.hash) {
                Entry::Occupied(_) => false,
                Entry::Vacant(v) => {
                    v.insert(code);
                    true
                }
            },
            Commit::RedeemCode { code, issuance } => {
                let fresh = !t.families.contains_key(&issuance.family.id);
                match t.codes.get_mut(&code) {
                    Some(c) if c.redeemed_into.is_none() && fresh => {
                        Arc::make_mut(c).redeemed_into = Some(issuance.family.id);
                        t.insert_issuance(issuance);
                        true
                    }
                    _ => false,
                }
            }
            Commit::Issue(issuance) => {
                if t.families.contains_key(&issuance.family.id) {
                    false
                } else {
                    t.insert_issuance(issuance);
                    true
                }
            }
            Commit::RotateRefresh {
                old,
                at,
                successor,
                refresh,
                access,
            } => match t.active_refresh_mut(&old) {
                Some(r) => {
                    r.state = RefreshState::Rotated {
                        at,
                        successor,
                        reuse_count: 0,
                    };
                    if let Some(n) = refresh {
                        t.refresh.insert(n);
                    }
                    t.access.insert(access);
                    true
                }
                None => false,
            },
            Commit::UseStaticRefresh {
                token,
                idle_expires_at,
                access,
            } => match t.active_refresh_mut(&token) {
                Some(r) => {
                    r.idle_expires_at = idle_expires_at;
                    t.access.insert(access);
                    true
                }
                None => false,
            },
            Commit::ClaimGraceReplay { token, max_reuse } => {
                let live = t
                    .refresh
                    .get(&token)
                    .is_some_and(|r| t.family_live(&r.family));
                match t
                    .refresh
                    .get_mut(&token)
                    .map(|r| &mut Arc::make_mut(r).state)
                {
                    Some(RefreshState::Rotated { reuse_count, .. })
                        if live && max_reuse.is_none_or(|m| *reuse_count < m) =>
                    {
                        *reuse_count += 1;
                        true
                    }
                    _ => false,
                }
            }
            Commit::RevokeAccessToken { token, at } => {
                if let Some(a) = t.access.get_mut(&token) {
                    Arc::make_mut(a).revoked_at.get_or_insert(at);
                }
                true
            }
            Commit::ConsumeJti { key, until } => match t.jtis.get(&key) {
                Some(_) => false,
                None => {
                    t.jtis.insert(key, until);
                    true
                }
            },
            Commit::StoreInteraction(i) => match t.interactions.entry(i.hash) {
                Entry::Occupied(_) => false,
                Entry::Vacant(v) => {
                    v.insert(i);
                    true
                }
            },
            Commit::FinishInteraction {
                interaction,
                consent,
                next,
            } => {
                let free = match &next {
                    InteractionNext::Code(c) => !t.codes.contains_key(&c.hash),
                    InteractionNext::Interaction(i) => !t.interactions.contains_key(&i.hash),
                    InteractionNext::Nothing => true,
                };
                if free && t.interactions.remove(&interaction).is_some() {
                    if let Some(c) = consent {
                        let key = (c.subject.clone(), c.client_id.clone());
                        let merged = match t.consents.get(&key) {
                            Some(old) => ConsentRecord {
                                scope: old.scope.union(&c.scope),
                                ..c
                            },
                            None => c,
                        };
                        t.consents.insert(key, merged);
                    }
                    match next {
                        InteractionNext::Code(c) => {
                            t.codes.insert(c.hash, c);
                        }
                        InteractionNext::Interaction(i) => {
                            t.interactions.insert(i.hash, i);
                        }
                        InteractionNext::Nothing => {}
                    }
                    true
                } else {
                    false
                }
            }
            Commit::RevokeFamily { family, at } => {
                if let Some(f) = t.families.get_mut(&family) {
                    Arc::make_mut(f).revoked_at.get_or_insert(at);
                }
                true
            }
        };
        Ok(if applied {
            CommitOutcome::Applied
        } else {
            CommitOutcome::Conflict
        })
    }
}
