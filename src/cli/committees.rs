//! `handbook committees import FILE`: create or rename committees from a CSV file.

use std::path::PathBuf;

use clap::Subcommand;
use handbook::config::Settings;
use handbook::org::store;

use super::{open, read, with_connection};

#[derive(Subcommand)]
pub enum Command {
    /// Create or rename committees from a CSV file with the columns code,name.
    Import { file: PathBuf },
}

pub fn run(settings: &Settings, command: Command) -> anyhow::Result<()> {
    let Command::Import { file } = command;
    let bytes = read(&file)?;
    let db = open(settings, 1)?;
    let (created, renamed) = with_connection(&db, |conn| store::import_committees(conn, &bytes))?;
    println!("committees created {created}, renamed {renamed}");
    Ok(())
}
