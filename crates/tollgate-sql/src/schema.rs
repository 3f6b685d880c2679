//! The embedded schema migrations, applied at start by [`crate::SqlStore`] through sqlx's
//! migrator (its `_sqlx_migrations` table records what was applied, with a checksum; on
//! PostgreSQL an advisory lock makes several servers starting at once apply each migration
//! exactly once). One schema, two dialects: `migrations/sqlite` and `migrations/postgres`
//! differ only in type names; `README.md` documents the tables.

use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

/// Version, description, SQL.
type Step = (i64, &'static str, &'static str);

/// The SQLite migrations, in order.
pub(crate) const SQLITE: &[Step] = &[(
    1,
    "schema",
    include_str!("../migrations/sqlite/0001_schema.sql"),
)];

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
