//! The store conformance kit (`tollgate::conformance`) run against every store this
//! workspace ships. Later stores (SQLite, PostgreSQL) join this file.

use tollgate::MemoryStore;

#[test]
fn memory_store_passes_the_store_conformance_kit() {
    tollgate::conformance::run_all(|clients| {
        let store = MemoryStore::new();
        for c in clients {
            store.insert_client(c).expect("valid client");
        }
        store
    });
}

#[test]
fn memory_store_purges_expired_records_in_bounded_batches() {
    use tollgate_conformance_tests::Harness;
    let h = Harness::new();
    for _ in 0..10 {
        let _ = h.c1_tokens("openid offline_access").ok();
    }
    let _unused_code = h.code(
        "C1",
        tollgate_conformance_tests::C1_REDIRECT,
        "openid",
        None,
    );
    // Nothing is expired yet.
    assert_eq!(h.store.purge_expired(h.clock_now(), 1000).unwrap(), 0);
    // Past every lifetime (90-day absolute refresh lifetime).
    h.advance(91 * 24 * 3600);
    let first = h.store.purge_expired(h.clock_now(), 5).unwrap();
    assert_eq!(first, 5, "a batch is bounded");
    let mut total = first;
    loop {
        let n = h.store.purge_expired(h.clock_now(), 5).unwrap();
        if n == 0 {
            break;
        }
        total += n;
    }
    // 10 codes + 1 code, 10 refresh tokens, 10 access tokens, 10 families.
    assert_eq!(total, 41);
}
