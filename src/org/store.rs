use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::committees;
use crate::db::DbConnection;

#[derive(Clone, Debug, Queryable, Selectable, Serialize)]
#[diesel(table_name = committees)]
pub struct Committee {
    pub code: String,
    pub name: String,
}

pub fn list_committees(conn: &mut DbConnection) -> QueryResult<Vec<Committee>> {
    committees::table.select(Committee::as_select()).order(committees::code).load(conn)
}

pub fn insert_committee(conn: &mut DbConnection, code: &str, name: &str) -> QueryResult<()> {
    diesel::insert_into(committees::table)
        .values((committees::code.eq(code), committees::name.eq(name)))
        .execute(conn)?;
    Ok(())
}
