//! Issue point 4: the store conformance kit (`tollgate::conformance::run_all`) on every
//! backend, each check on a fresh, empty store.

use tollgate_sql::SqlOptions;

use crate::common::{open, runtime, Blocking, Kind};

fn run_kit(kind: Kind) {
    let rt = runtime();
    tollgate::conformance::run_all(|clients| {
        let (store, backing) = rt.block_on(open(kind, &SqlOptions::default(), clients));
        Blocking {
            store,
            rt: rt.handle().clone(),
            _backing: backing,
        }
    });
}

#[test]
fn sqlite_in_memory_passes_the_store_kit() {
    run_kit(Kind::SqliteMemory);
}

#[test]
fn sqlite_file_passes_the_store_kit() {
    run_kit(Kind::SqliteFile);
}

#[test]
fn postgres_passes_the_store_kit() {
    run_kit(Kind::Postgres);
}
