//! The embedded schema migrations, applied at start by [`crate::SqlStore`] through sqlx's
//! migrator (its `_sqlx_migrations` table records what was applied, with a checksum; on
//! PostgreSQL an advisory lock makes several servers starting at once apply each migration
//! exactly once). A database made by an older version migrates forward at its next start:
//! the migrator applies exactly the versions its table does not list yet.
//!
//! One schema, two dialects: version 1 (`migrations/sqlite/0001_schema.sql`,
//! `migrations/postgres/0001_schema.sql`) creates the same tables, differing only in type
//! names; `README.md` documents them. SQLite alone has version 2
//! (`0002_one_statement_commits.sql`): four views that hold no rows, each with an
//! `INSTEAD OF INSERT` trigger, through which a refresh rotation, a static refresh use, a
//! code redemption and an issuance are each written as ONE statement that checks its
//! precondition (`RAISE(ABORT, 'tollgate:stale')` when it fails) and then writes — what
//! PostgreSQL does with data-modifying CTEs, which SQLite lacks. Every other SQLite commit
//! is one plain statement, except `FinishInteraction`, which stays a `BEGIN IMMEDIATE`
//! transaction (see the `sqlite` module).

use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// Version, description, SQL.
type Step = (i64, &'static str, &'static str);

/// The SQLite migrations, in order.
pub(crate) const SQLITE: &[Step] = &[
    (
        1,
        "schema",
        include_str!("../migrations/sqlite/0001_schema.sql"),
    ),
    (
        2,
        "one statement commits",
        include_str!("../migrations/sqlite/0002_one_statement_commits.sql"),
    ),
];

/// The PostgreSQL migrations, in order.
pub(crate) const POSTGRES: &[Step] = &[(
    1,
    "schema",
    include_str!("../migrations/postgres/0001_schema.sql"),
)];

/// Migrations compiled into the binary, so a server needs no migration files at run time.
#[derive(Debug)]
struct Embedded(&'static [Step]);

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        description.into(),
                        MigrationType::Simple,
                        sql.into(),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// The migrator for `steps`.
pub(crate) async fn migrator(steps: &'static [Step]) -> Result<Migrator, crate::Error> {
    Migrator::new(Embedded(steps))
        .await
        .map_err(crate::Error::Migrate)
}
