//! [`ByHash`]: the memory store's tables of refresh- and access-token records, keyed by the
//! SHA-256 each record already carries (its `hash`, the token's storage key).
//!
//! A map from `TokenHash` to the record's `Arc` spends 40 bytes a slot, 32 of them a copy of
//! a key the record holds anyway. These tables keep the `Arc` alone (8 bytes), find a slot by
//! the key's first word — keys are SHA-256 outputs of server-minted tokens, so a client
//! cannot aim lookups at one bucket — and confirm it against the record's full hash. At the
//! sizes a busy store holds (tens of thousands of live tokens) that is the difference
//! between a table that stays in the CPU's cache and one whose every insert misses it.

use std::sync::Arc;

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;

use super::{AccessTokenRecord, RefreshTokenRecord};
use crate::token::TokenHash;

/// A record that carries its own storage key.
pub(crate) trait Hashed {
    /// The key it is stored under; must not change while it is in a [`ByHash`].
    fn token_hash(&self) -> &TokenHash;
}

impl Hashed for RefreshTokenRecord {
    fn token_hash(&self) -> &TokenHash {
        &self.hash
    }
}

impl Hashed for AccessTokenRecord {
    fn token_hash(&self) -> &TokenHash {
        &self.hash
    }
}

/// The bucket hash: the key's first eight bytes (it is already uniformly random).
fn bucket(hash: &TokenHash) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&hash.0[..8]);
    u64::from_le_bytes(word)
}

/// Records by the hash they carry; see the module documentation.
pub(crate) struct ByHash<R> {
    table: HashTable<Arc<R>>,
}

impl<R> Default for ByHash<R> {
    fn default() -> Self {
        ByHash {
            table: HashTable::new(),
        }
    }
}

impl<R: Hashed> ByHash<R> {
    /// The record stored under `hash`.
    pub(crate) fn get(&self, hash: &TokenHash) -> Option<&Arc<R>> {
        self.table.find(bucket(hash), |r| r.token_hash() == hash)
    }

    /// The record stored under `hash`, writable. Changes must leave its hash alone.
    pub(crate) fn get_mut(&mut self, hash: &TokenHash) -> Option<&mut Arc<R>> {
        self.table
            .find_mut(bucket(hash), |r| r.token_hash() == hash)
    }

    /// Stores `record` under its own hash, replacing one stored under the same hash.
    pub(crate) fn insert(&mut self, record: Arc<R>) {
        let hash = *record.token_hash();
        match self.table.entry(
            bucket(&hash),
            |r| *r.token_hash() == hash,
            |r| bucket(r.token_hash()),
        ) {
            Entry::Occupied(mut slot) => *slot.get_mut() = record,
            Entry::Vacant(slot) => {
                slot.insert(record);
            }
        }
    }

    /// Removes and returns the record stored under `hash`.
    pub(crate) fn remove(&mut self, hash: &TokenHash) -> Option<Arc<R>> {
        self.table
            .find_entry(bucket(hash), |r| r.token_hash() == hash)
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
        let mut t = ByHash::default();
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

    /// Many records, removed in another order than inserted: every lookup answers the one
    /// record stored under its hash, through the table's growth.
    #[test]
    fn lookups_follow_inserts_and_removals_through_growth() {
        let hash = |i: u32| TokenHash(crate::sha256::digest(&i.to_le_bytes()));
        let mut t = ByHash::default();
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
