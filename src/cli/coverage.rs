//! `handbook coverage snapshot`: refresh the time-moving counters and store today's coverage (for cron).

use clap::Subcommand;
use handbook::config::Settings;

use super::{open, with_connection};

#[derive(Subcommand)]
pub enum Command {
    /// Refresh the time-moving counters and store today's coverage per committee (idempotent; for cron).
    Snapshot,
}

pub fn run(settings: &Settings, command: Command) -> anyhow::Result<()> {
    let Command::Snapshot = command;
    let db = open(settings, 1)?;
    let at = handbook::time::now();
    let committees = with_connection(&db, |conn| Ok(handbook::coverage::report::snapshot(conn, at)?))?;
    println!("coverage snapshot of {} stored for {committees} committees", at.date());
    Ok(())
}
