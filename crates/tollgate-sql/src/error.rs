//! Errors: [`Error`] for opening a store and registering clients, and the mapping of driver
//! failures onto the core's two [`StoreError`] classes — transient ones (connection refused,
//! closed or terminated, pool exhausted, SQLite busy past its timeout) become
//! `503 temporarily_unavailable`, everything else `500 server_error` (RFC 6749 §5.2; the
//! core turns the class into the response).

use sqlx::error::DatabaseError;
use sqlx::postgres::PgDatabaseError;
use sqlx::sqlite::SqliteError;
use tollgate::StoreError;

/// Opening a store or registering a client failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store URL names no supported backend.
    #[error("unsupported store URL scheme {0:?}: expected `sqlite:PATH`, `sqlite::memory:` or `postgres://…`")]
    UnsupportedUrl(String),
    /// The URL or an option was rejected by the driver.
    #[error("invalid store configuration: {0}")]
    Config(#[source] sqlx::Error),
    /// The database could not be reached or opened.
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// The embedded schema migrations could not be applied.
    #[error("cannot apply the schema migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// The client registration is invalid.
    #[error(transparent)]
    InvalidClient(#[from] tollgate::Error),
    /// The store failed while writing.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The SQLSTATEs after which a retry can succeed: connection exceptions (class 08), the
/// server shutting down or a backend terminated by `pg_terminate_backend` (57P01–57P03),
/// a cancelled statement (57014), insufficient resources (class 53), serialization
/// failures and deadlocks (40001, 40P01), lock timeouts (55P03) and a read-only standby
/// after a failover (25006).
fn pg_transient(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "57014" | "40001" | "40P01" | "55P03" | "25006"
        )
}

/// SQLite's primary result codes `SQLITE_BUSY` (5) and `SQLITE_LOCKED` (6): another writer
/// held the lock past the busy timeout.
fn sqlite_transient(extended_code: &str) -> bool {
    extended_code
        .parse::<i32>()
        .is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

fn database_transient(e: &dyn DatabaseError) -> bool {
    if let Some(pg) = e.try_downcast_ref::<PgDatabaseError>() {
        return pg_transient(pg.code());
    }
    if e.try_downcast_ref::<SqliteError>().is_some() {
        return e.code().is_some_and(|c| sqlite_transient(&c));
    }
    false
}

/// Whether `e` is transient: the database or the connection to it is (for now) gone.
pub(crate) fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => database_transient(db.as_ref()),
        _ => false,
    }
}

/// Whether `e` is a unique-key violation: inside a commit, a precondition that failed.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The message of the `RAISE(ABORT, …)` with which a one-statement SQLite commit's trigger
/// reports that its precondition did not hold (`migrations/sqlite/0002_one_statement_commits.sql`).
pub(crate) const STALE: &str = "tollgate:stale";

/// SQLite's extended result code for a `RAISE(ABORT, …)` in a trigger.
const SQLITE_CONSTRAINT_TRIGGER: &str = "1811";

/// Whether `e` is that abort: inside a commit, a precondition that failed (a conflict, not
/// a fault). SQLite rolled the statement back, so nothing of it was written.
pub(crate) fn is_stale(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db)
        if db.message() == STALE && db.code().as_deref() == Some(SQLITE_CONSTRAINT_TRIGGER))
}

/// Maps a driver failure during `what` onto the core's classes.
pub(crate) fn store_error(what: &str, e: &sqlx::Error) -> StoreError {
    let message = format!("{what}: {e}");
    if is_transient(e) {
        StoreError::unavailable(message)
    } else {
        StoreError::failed(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_codes_are_classified() {
        for transient in [
            "08006", "08001", "57P01", "53300", "40001", "40P01", "25006",
        ] {
            assert!(pg_transient(transient), "{transient}");
        }
        for permanent in ["23505", "42P01", "22P02", "XX000"] {
            assert!(!pg_transient(permanent), "{permanent}");
        }
    }

    #[test]
    fn sqlite_codes_are_classified() {
        // SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE.
        for transient in ["5", "517", "262"] {
            assert!(sqlite_transient(transient), "{transient}");
        }
        // SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_ERROR, not a number.
        for permanent in ["1555", "1", "x"] {
            assert!(!sqlite_transient(permanent), "{permanent}");
        }
    }

    #[test]
    fn connection_failures_are_transient() {
        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(is_transient(&io));
        assert!(is_transient(&sqlx::Error::PoolTimedOut));
        assert!(!is_transient(&sqlx::Error::RowNotFound));
        let e = store_error("lookup", &sqlx::Error::PoolTimedOut);
        assert_eq!(e.kind, tollgate::store::StoreErrorKind::Unavailable);
        let e = store_error("lookup", &sqlx::Error::RowNotFound);
        assert_eq!(e.kind, tollgate::store::StoreErrorKind::Failed);
    }
}
