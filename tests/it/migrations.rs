//! Both migration sets must give the same tables and columns, with the same kinds of types.

use std::collections::BTreeSet;

use crate::harness::{Backend, TestApp};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
}

/// (table, column, type, nullable) with both dialects' type names brought to one vocabulary.
type Shape = BTreeSet<(String, String, String, bool)>;

fn canonical_type(name: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "text" | "character varying" => "text",
        "timestamp" | "timestamp without time zone" => "timestamp",
        // SQLite stores every INTEGER as 64 bits; an INTEGER PRIMARY KEY must be declared so to be the rowid.
        "bigint" | "int8" | "integer" | "int4" | "int" => "integer",
        "boolean" | "bool" => "boolean",
        "date" => "date",
        "bytea" | "blob" => "blob",
        "double precision" | "double" | "real" | "float8" => "double",
        other => return format!("unknown:{other}"),
    }
    .to_owned()
}

async fn shape(backend: Backend) -> Shape {
    let app = TestApp::start(backend).await;
    let sql = match backend {
        Backend::Postgres => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name, data_type::text AS data_type,
                    (is_nullable = 'YES') AS nullable
             FROM information_schema.columns
             WHERE table_schema = 'public' AND table_name NOT LIKE '\\_\\_diesel%'"
        }
        Backend::Sqlite => {
            "SELECT m.name AS table_name, p.name AS column_name, p.type AS data_type,
                    (p.\"notnull\" = 0 AND p.pk = 0) AS nullable
             FROM sqlite_master m JOIN pragma_table_info(m.name) p
             WHERE m.type = 'table' AND m.name NOT LIKE '\\_\\_diesel%' ESCAPE '\\' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        }
    };
    let columns = app.db().run(move |conn| Ok(diesel::sql_query(sql).load::<Column>(conn)?)).await.unwrap();
    columns.into_iter().map(|c| (c.table_name, c.column_name, canonical_type(&c.data_type), c.nullable)).collect()
}

#[actix_web::test]
async fn both_migration_sets_give_the_same_tables_and_columns() {
    let postgres = shape(Backend::Postgres).await;
    let sqlite = shape(Backend::Sqlite).await;
    assert!(postgres.iter().any(|(table, ..)| table == "committees"), "{postgres:?}");
    assert!(postgres.iter().all(|(_, _, kind, _)| !kind.starts_with("unknown")), "{postgres:?}");
    assert!(sqlite.iter().all(|(_, _, kind, _)| !kind.starts_with("unknown")), "{sqlite:?}");
    let only_postgres: Vec<_> = postgres.difference(&sqlite).collect();
    let only_sqlite: Vec<_> = sqlite.difference(&postgres).collect();
    assert!(
        only_postgres.is_empty() && only_sqlite.is_empty(),
        "the migration sets differ.\nonly in PostgreSQL: {only_postgres:#?}\nonly in SQLite: {only_sqlite:#?}"
    );
}
