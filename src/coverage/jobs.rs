//! Coverage's background work in `serve`: the moving counters every 10 minutes, and the daily snapshot once
//! the configured hour (UTC) has come; on the same tick, the ids of pushed mutations past their retention are
//! forgotten (`sync::push::prune`). Both write absolute values and take the coverage job lock
//! (`DbConnection::lock_job`), so instances running them at the same moment run them one after another: one
//! snapshot row per committee and day, counters never moved twice.

use std::time::Duration;

use actix_web::web;
use chrono::Timelike;

use crate::state::AppState;
use crate::time::now;

use super::{counters, report};

pub const REFRESH_EVERY: Duration = Duration::from_secs(600);

pub fn spawn(state: web::Data<AppState>) {
    actix_web::rt::spawn(async move {
        let mut ticks = actix_web::rt::time::interval(REFRESH_EVERY);
        let mut last_snapshot = None;
        loop {
            ticks.tick().await;
            let at = now();
            let snapshot_due = at.hour() >= state.settings.snapshot_hour && last_snapshot != Some(at.date());
            let refresh_max_days = state.settings.refresh_max_days;
            let outcome = state
                .db
                .run(move |conn| {
                    if snapshot_due {
                        report::snapshot(conn, at)?;
                    } else {
                        counters::refresh_moving(conn, at)?;
                    }
                    crate::sync::push::prune(conn, at, refresh_max_days)?;
                    Ok(())
                })
                .await;
            match outcome {
                Ok(()) if snapshot_due => {
                    last_snapshot = Some(at.date());
                    tracing::info!("daily coverage snapshot taken");
                }
                Ok(()) => {}
                Err(error) => tracing::warn!(%error, "coverage refresh failed; retrying at the next tick"),
            }
        }
    });
}
