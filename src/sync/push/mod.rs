//! Member state, two-way: `POST /api/v1/sync/push` applies what a member did offline (bookmarks, notes, reading
//! progress, read confirmations, meeting answers), queued on a device as mutations with ids the device made,
//! exactly once however often and from whichever device they are re-sent; the member's other devices get the
//! changes through the sync feed (`state`, read by `crate::sync::changes`).
//!
//! Member state is private: no staff route reads these tables (read confirmations reach staff only as counts, in
//! `crate::reading`), and nothing here logs a note's text or anchor.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::applied_mutations as applied;
use crate::db::DbConnection;

pub mod apply;
pub mod mutations;
pub mod routes;
pub mod state;

/// At most this many mutations in one push (422 past it); the body is also held to the JSON limit (1 MiB, 413).
pub const MAX_MUTATIONS: usize = 500;

/// How long the id of an applied mutation is kept after it was applied: the absolute lifetime of a session
/// (`HANDBOOK_REFRESH_MAX_DAYS`) and 30 days more. A device re-sends a mutation only while it may push at all; the
/// README's "Sync protocol" tells apps to drop a queued mutation first sent longer than that lifetime ago, so an id
/// is always still known when it comes back.
pub fn retention(refresh_max_days: u32) -> chrono::Duration {
    chrono::Duration::days(i64::from(refresh_max_days) + 30)
}

/// Forgets the ids of mutations applied longer than `retention(refresh_max_days)` before `now`: run by the jobs
/// loop of `serve`. One statement, by the index on `applied_at`.
pub fn prune(conn: &mut DbConnection, now: NaiveDateTime, refresh_max_days: u32) -> QueryResult<usize> {
    diesel::delete(applied::table.filter(applied::applied_at.lt(now - retention(refresh_max_days)))).execute(conn)
}
