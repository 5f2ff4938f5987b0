//! `handbook import-members FILE`: import members from a CSV file, all or nothing, as an admin would through
//! the API.

use std::path::PathBuf;

use handbook::config::Settings;
use handbook::org::import;

use super::{open, read, with_connection};

#[derive(clap::Args)]
pub struct Args {
    file: PathBuf,
    /// Validate and count what would change, without writing.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(settings: &Settings, Args { file, dry_run }: Args) -> anyhow::Result<()> {
    let bytes = read(&file)?;
    let db = open(settings, 1)?;
    let started = std::time::Instant::now();
    let scope = import::ImportScope { committee: None };
    let outcome = with_connection(&db, |conn| Ok(import::import(conn, &bytes, &scope, dry_run, None)?))?;
    println!(
        "{}created {}, updated {}, unchanged {} in {:.2} s",
        if dry_run { "dry run, nothing written: " } else { "" },
        outcome.created,
        outcome.updated,
        outcome.unchanged,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
