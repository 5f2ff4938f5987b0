//! When devices were last seen. A poll only notes it here, and a background task writes the notes every few seconds
//! in one transaction: devices poll every few minutes, so without this nearly every poll, 304s included, would be a
//! write. A crash loses the notes of the last few seconds at most; `last_seen_at` feeds the 30-day activity figure,
//! where seconds do not matter.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use actix_web::web;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::installations as inst;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;

/// How often the notes are written.
pub const WRITE_EVERY: Duration = Duration::from_secs(5);

/// Installation id → when it was last seen, not yet written.
#[derive(Default)]
pub struct SeenLog {
    pending: Mutex<HashMap<String, NaiveDateTime>>,
}

impl SeenLog {
    pub fn note(&self, installation_id: &str, at: NaiveDateTime) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.insert(installation_id.to_owned(), at);
        }
    }

    fn take(&self) -> HashMap<String, NaiveDateTime> {
        self.pending.lock().map(|mut pending| std::mem::take(&mut *pending)).unwrap_or_default()
    }
}

/// Writes every note taken so far, in one write transaction; answers how many installations were updated.
pub async fn write_pending(state: &AppState) -> Result<usize, AppError> {
    let notes = state.seen.take();
    if notes.is_empty() {
        return Ok(0);
    }
    state.db.run(move |conn| Ok(write(conn, &notes)?)).await
}

fn write(conn: &mut DbConnection, notes: &HashMap<String, NaiveDateTime>) -> QueryResult<usize> {
    conn.write_transaction(|conn| {
        let mut updated = 0;
        for (id, at) in notes {
            // Never backwards: a registration or another instance may have written a later time meanwhile.
            updated += diesel::update(inst::table.find(id).filter(inst::last_seen_at.lt(at)))
                .set(inst::last_seen_at.eq(at))
                .execute(conn)?;
        }
        Ok(updated)
    })
}

/// The background task of `serve`.
pub fn spawn(state: web::Data<AppState>) {
    actix_web::rt::spawn(async move {
        let mut ticks = actix_web::rt::time::interval(WRITE_EVERY);
        loop {
            ticks.tick().await;
            if let Err(error) = write_pending(&state).await {
                tracing::warn!(%error, "could not record when devices were last seen");
            }
        }
    });
}
