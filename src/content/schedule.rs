//! Scheduled publishing and expiry happen without anyone pressing a button: `run_due` moves every live
//! revision whose time has come, each with its own feed position so that devices hear of it at once.
//! `serve` runs it every few seconds; tests call it with the clock they want.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::documents as d;
use crate::db::DbConnection;
use crate::sync::feed;

use super::states::LiveState;

/// A live revision whose state may move: (id, live state, publish at, expires at).
type Due = (String, LiveState, Option<NaiveDateTime>, Option<NaiveDateTime>);

/// Applies every due transition as of `at`; returns how many documents changed state.
///
/// Several instances run this at once. The due list is read again after taking the feed lock, which every writer of
/// `live_state` holds until commit: a transition another instance has just applied is then no longer due, so each one
/// is applied (and spends a feed position) exactly once.
pub fn run_due(conn: &mut DbConnection, at: NaiveDateTime) -> QueryResult<usize> {
    conn.write_transaction(|conn| {
        // Most ticks find nothing: they read without taking the lock (no write, no waiting on publishers).
        if due(conn, at)?.is_empty() {
            return Ok(0);
        }
        feed::lock(conn)?;
        let mut changed = 0;
        for (id, state, publish_at, expires_at) in due(conn, at)? {
            let next = LiveState::at(publish_at, expires_at, at);
            if next == state {
                continue;
            }
            let position = feed::next_position(conn)?;
            diesel::update(d::table.find(&id)).set((d::live_state.eq(next), d::feed_seq.eq(position))).execute(conn)?;
            changed += 1;
        }
        Ok(changed)
    })
}

/// The live revisions whose publish or expiry time has come by `at`.
fn due(conn: &mut DbConnection, at: NaiveDateTime) -> QueryResult<Vec<Due>> {
    d::table
        .filter(
            d::live_state
                .eq(LiveState::Scheduled)
                .and(d::live_publish_at.le(at).or(d::live_expires_at.le(at)))
                .or(d::live_state.eq(LiveState::Visible).and(d::live_expires_at.le(at))),
        )
        .select((d::id, d::live_state, d::live_publish_at, d::live_expires_at))
        .order(d::id)
        .load(conn)
}

/// How often `serve` looks for due transitions.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `run_due` every few seconds for as long as the server runs.
pub fn spawn(state: actix_web::web::Data<crate::state::AppState>) {
    actix_web::rt::spawn(async move {
        let mut ticks = actix_web::rt::time::interval(EVERY);
        loop {
            ticks.tick().await;
            match state.db.run(|conn| Ok(run_due(conn, crate::time::now())?)).await {
                Ok(0) => {}
                Ok(changed) => tracing::info!(changed, "scheduled publishing and expiry applied"),
                Err(error) => tracing::warn!(%error, "scheduled publishing failed; retrying"),
            }
        }
    });
}
