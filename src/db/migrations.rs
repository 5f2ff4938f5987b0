//! Both migration sets are embedded in the binary; each connection runs the set of its backend.

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::DbConnection;

const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

pub type MigrationError = Box<dyn std::error::Error + Send + Sync>;

/// Applies every migration not yet applied; returns the versions it applied.
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, MigrationError> {
    let applied = match conn {
        DbConnection::Postgresql(pg) => pg.run_pending_migrations(POSTGRES)?,
        DbConnection::Sqlite(sqlite) => sqlite.run_pending_migrations(SQLITE)?,
    };
    Ok(applied.iter().map(ToString::to_string).collect())
}
