//! Coverage's background work in `serve`: the moving counters every 10 minutes, and the daily snapshot once
//! the configured hour (UTC) has come. Both write absolute values and take the coverage job lock
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
            let outcome = state
                .db
                .run(move |conn| {
                    if snapshot_due {
                        report::snapshot(conn, at)?;
                    } else {
                        counters::refresh_moving(conn, at)?;
                    }
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
