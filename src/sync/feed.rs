//! The feed position: one counter, bumped inside every transaction that changes what members may see.
//! The UPDATE takes the counter row's lock and holds it until commit, so feed writers commit one after another
//! and positions become visible in order: a reader that has seen position n has seen everything below n.
//! (On SQLite, writers are serialised by `BEGIN IMMEDIATE` anyway.) Taking a position also notes it for live sync.

use diesel::prelude::*;

use crate::db::schema::feed_state;
use crate::db::DbConnection;

/// Takes the next position. Call inside a write transaction, before reading what is about to change.
pub fn next_position(conn: &mut DbConnection) -> QueryResult<i64> {
    diesel::update(feed_state::table.find(1)).set(feed_state::seq.eq(feed_state::seq + 1)).execute(conn)?;
    let position = current_position(conn)?;
    // Held polls wake, and every instance's memory of the head moves, when this transaction commits.
    crate::sync::live::notes::feed_moved(position);
    Ok(position)
}

/// Takes the counter row's lock without spending a position: every writer of what members may see holds it until
/// commit, so a transaction that reads after taking it sees every earlier feed writer's changes (on PostgreSQL, each
/// statement of READ COMMITTED reads what was committed when it started). Call inside a write transaction.
pub fn lock(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::update(feed_state::table.find(1)).set(feed_state::seq.eq(feed_state::seq)).execute(conn)?;
    Ok(())
}

/// The newest committed position.
pub fn current_position(conn: &mut DbConnection) -> QueryResult<i64> {
    feed_state::table.find(1).select(feed_state::seq).get_result(conn)
}
