//! `handbook backup --to FILE`: copy the database to a file while the service runs (SQLite; for PostgreSQL use
//! pg_dump).

use std::path::PathBuf;

use anyhow::Context;
use handbook::config::Settings;

use super::{open, with_connection};

#[derive(clap::Args)]
pub struct Args {
    /// The backup file to write (it must not exist yet).
    #[arg(long)]
    to: PathBuf,
}

pub fn run(settings: &Settings, Args { to }: Args) -> anyhow::Result<()> {
    if to.exists() {
        anyhow::bail!("{} exists already; choose a new file", to.display());
    }
    let db = open(settings, 1)?;
    let target = to.to_str().context("the backup path must be UTF-8")?.to_owned();
    with_connection(&db, |conn| handbook::db::backup_into(conn, &target))?;
    println!("backed up {} to {}", db.url().display(), to.display());
    Ok(())
}
