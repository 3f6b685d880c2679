//! [`ByKey`]: the memory store's tables of refresh-token, access-token and family records,
//! keyed by what each record already carries: a token's SHA-256 (its storage key) or a
//! family's random id.
//!
//! A map from key to the record's `Arc` spends 24–40 bytes a slot, most of them a copy of a
//! key the record holds anyway. These tables keep the `Arc` alone (8 bytes), find a slot by
//! the key's first word — keys are SHA-256 outputs of server-minted tokens or random ids the
//! server drew, so a client cannot aim lookups at one bucket — and confirm it against the
//! record's full key. At the sizes a busy store holds (tens of thousands of live tokens)
//! that is the difference between a table that stays in the CPU's cache and one whose every
//! insert misses it.

use std::sync::Arc;

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

use super::{AccessTokenRecord, FamilyRecord, RefreshTokenRecord};
use crate::token::{FamilyId, TokenHash};

/// A record that carries its own key.
pub(crate) trait Keyed {
    /// The key's type: uniformly random bytes.
    type Key: Eq;
    /// The key it is stored under; must not change while it is in a [`ByKey`].
    fn key(&self) -> &Self::Key;
    /// The key's first eight bytes, its bucket hash (the key is already uniformly random).
    fn bucket(key: &Self::Key) -> u64;
}

fn first_word(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(word)
}

impl Keyed for RefreshTokenRecord {
    type Key = TokenHash;
    fn key(&self) -> &TokenHash {
        &self.hash
    }
    fn bucket(key: &TokenHash) -> u64 {
        first_word(&key.0)
    }
}

impl Keyed for AccessTokenRecord {
    type Key = TokenHash;
    fn key(&self) -> &TokenHash {
        &self.hash
    }
    fn bucket(key: &TokenHash) -> u64 {
        first_word(&key.0)
    }
}

impl Keyed for FamilyRecord {
    type Key = FamilyId;
    fn key(&self) -> &FamilyId {
        &self.id
    }
    fn bucket(key: &FamilyId) -> u64 {
        first_word(&key.0)
    }
}

/// Records by the key they carry; see the module documentation.
pub(crate) struct ByKey<R> {
    table: HashTable<Arc<R>>,
}

impl<R> Default for ByKey<R> {
    fn default() -> Self {
        ByKey {
            table: HashTable::new(),
        }
    }
}

impl<R: Keyed> ByKey<R> {
    /// The record stored under `key`.
    pub(crate) fn get(&self, key: &R::Key) -> Option<&Arc<R>> {
        self.table.find(R::bucket(key), |r| r.key() == key)
    }

    /// Whether a record is stored under `key`.
    pub(crate) fn contains_key(&self, key: &R::Key) -> bool {
        self.get(key).is_some()
    }

    /// The record stored under `key`, writable. Changes must leave its key alone.
    pub(crate) fn get_mut(&mut self, key: &R::Key) -> Option<&mut Arc<R>> {
        self.table.find_mut(R::bucket(key), |r| r.key() == key)
    }

    /// Stores `record` under its own key, replacing one stored under the same key.
    pub(crate) fn insert(&mut self, record: Arc<R>) {
        let bucket = R::bucket(record.key());
        let entry = self
            .table
            .entry(bucket, |r| r.key() == record.key(), |r| R::bucket(r.key()));
        match entry {
            Entry::Occupied(mut slot) => *slot.get_mut() = record,
            Entry::Vacant(slot) => {
                slot.insert(record);
            }
        }
    }

    /// Removes and returns the record stored under `key`.
    pub(crate) fn remove(&mut self, key: &R::Key) -> Option<Arc<R>> {
        self.table
            .find_entry(R::bucket(key), |r| r.key() == key)
            .ok()
            .map(|slot| slot.remove().0)
    }

    /// Every record, in no particular order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &Arc<R>> {
        self.table.iter()
    }

    /// How many records are stored.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientId;
    use crate::clock::UnixTime;
    use crate::scope::Scope;
    use crate::store::RefreshState;
    use crate::token::FamilyId;

    fn record(hash: TokenHash, seconds: u64) -> Arc<RefreshTokenRecord> {
        Arc::new(RefreshTokenRecord {
            hash,
            family: FamilyId([7; 16]),
            client_id: ClientId::new("c").unwrap(),
            scope: Scope::parse("a").unwrap(),
            issued_at: UnixTime(seconds),
            idle_expires_at: None,
            state: RefreshState::Active,
        })
    }

    /// Keys whose first word is equal are still told apart by the full hash: the table
    /// never hands out, replaces or removes a record stored under another hash.
    #[test]
    fn records_sharing_a_bucket_word_stay_distinct() {
        let mut a = [1u8; 32];
        let mut b = [1u8; 32];
        a[31] = 0xaa;
        b[31] = 0xbb;
        let (a, b, c) = (TokenHash(a), TokenHash(b), TokenHash([2; 32]));
        let mut t = ByKey::default();
        t.insert(record(a, 1));
        t.insert(record(b, 2));
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(&a).map(|r| r.issued_at), Some(UnixTime(1)));
        assert_eq!(t.get(&b).map(|r| r.issued_at), Some(UnixTime(2)));
        assert!(t.get(&c).is_none());
        assert!(t.remove(&c).is_none());

        // Same hash: replaced, not added.
        t.insert(record(a, 3));
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(&a).map(|r| r.issued_at), Some(UnixTime(3)));

        if let Some(r) = t.get_mut(&b) {
            Arc::make_mut(r).state = RefreshState::Rotated {
                at: UnixTime(4),
                successor: None,
                reuse_count: 0,
            };
        }
        assert!(matches!(
            t.get(&b).map(|r| &r.state),
            Some(RefreshState::Rotated { .. })
        ));
        assert_eq!(t.remove(&a).map(|r| r.hash), Some(a));
        assert!(t.get(&a).is_none());
        assert_eq!(t.values().map(|r| r.hash).collect::<Vec<_>>(), [b]);
    }

    /// Families are told apart by their whole 16-byte id, not its first word.
    #[test]
    fn families_sharing_a_bucket_word_stay_distinct() {
        let family = |last: u8| {
            let mut id = [9u8; 16];
            id[15] = last;
            Arc::new(FamilyRecord {
                id: FamilyId(id),
                client_id: ClientId::new("c").unwrap(),
                subject: None,
                scope: Scope::parse("a").unwrap(),
                grant_type: crate::client::GrantType::ClientCredentials,
                created_at: UnixTime(u64::from(last)),
                expires_at: None,
                revoked_at: None,
            })
        };
        let mut t = ByKey::default();
        t.insert(family(1));
        t.insert(family(2));
        assert!(t.contains_key(&family(1).id) && t.contains_key(&family(2).id));
        assert!(!t.contains_key(&family(3).id));
        assert_eq!(
            t.remove(&family(1).id).map(|f| f.created_at),
            Some(UnixTime(1))
        );
        assert_eq!(
            t.get(&family(2).id).map(|f| f.created_at),
            Some(UnixTime(2))
        );
        assert_eq!(t.len(), 1);
    }

    /// Many records, removed in another order than inserted: every lookup answers the one
    /// record stored under its hash, through the table's growth.
    #[test]
    fn lookups_follow_inserts_and_removals_through_growth() {
        let hash = |i: u32| TokenHash(crate::sha256::digest(&i.to_le_bytes()));
        let mut t = ByKey::default();
        for i in 0..5000 {
            t.insert(record(hash(i), u64::from(i)));
        }
        for i in (0..5000).step_by(3) {
            assert_eq!(t.remove(&hash(i)).map(|r| r.hash), Some(hash(i)));
        }
        for i in 0..5000 {
            let found = t.get(&hash(i)).map(|r| r.issued_at);
            let expected = (i % 3 != 0).then(|| UnixTime(u64::from(i)));
            assert_eq!(found, expected, "{i}");
        }
        assert_eq!(t.len(), 5000 - 1667);
    }
}
