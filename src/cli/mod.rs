//! The `handbook` command line: one file per verb, each with its flags and what it does. `main` parses the
//! line and calls [`run`].

use anyhow::Context;
use clap::{Parser, Subcommand};

use handbook::config::Settings;
use handbook::db::{self, Db, DbConnection};
use handbook::error::AppError;

mod admin;
mod backup;
mod committees;
mod coverage;
mod demo_data;
mod import_members;
mod migrate;
mod serve;

#[derive(Parser)]
#[command(name = "handbook", version, about = "Backend and sync server of the Hanoi party-member handbook")]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the sync feed and the dashboard (applies pending migrations first).
    Serve(serve::Args),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Import members from a CSV file (all or nothing), as an admin would through the API.
    ImportMembers(import_members::Args),
    /// Committees.
    Committees {
        #[command(subcommand)]
        command: committees::Command,
    },
    /// Staff accounts.
    Admin {
        #[command(subcommand)]
        command: admin::Command,
    },
    /// Copy the database to a file while the service runs (SQLite; for PostgreSQL use pg_dump).
    Backup(backup::Args),
    /// Install coverage.
    Coverage {
        #[command(subcommand)]
        command: coverage::Command,
    },
    /// Load the demo data set, or write it as CSV files.
    DemoData(demo_data::Args),
}

/// Runs the verb the command line names.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    match cli.command {
        Command::Serve(args) => serve::run(settings, args),
        Command::Migrate => migrate::run(&settings),
        Command::ImportMembers(args) => import_members::run(&settings, args),
        Command::Committees { command } => committees::run(&settings, command),
        Command::Admin { command } => admin::run(&settings, command),
        Command::Backup(args) => backup::run(&settings, args),
        Command::Coverage { command } => coverage::run(&settings, command),
        Command::DemoData(args) => demo_data::run(&settings, args),
    }
}

/// The data folder made private (0700), and the database opened.
fn open(settings: &Settings, pool_size: u32) -> anyhow::Result<Db> {
    let folder = &settings.data_dir;
    handbook::files::secure_data_folder(folder)
        .with_context(|| format!("cannot make the data folder {} private", folder.display()))?;
    Ok(db::open(&settings.database_url(), pool_size)?)
}

/// Runs blocking work on one pooled connection, outside any server.
fn with_connection<T>(db: &Db, work: impl FnOnce(&mut DbConnection) -> Result<T, AppError>) -> anyhow::Result<T> {
    let mut conn = db.pool().get().context("no database connection")?;
    work(&mut conn).map_err(describe)
}

/// An AppError as a person at a terminal should read it, row errors included.
fn describe(error: AppError) -> anyhow::Error {
    match error {
        AppError::Validation(errors) => {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| match e.line {
                    Some(line) => format!("  line {line}: {}: {}", e.field, e.message),
                    None => format!("  {}: {}", e.field, e.message),
                })
                .collect();
            anyhow::anyhow!("nothing was changed; {} problem(s):\n{}", errors.len(), lines.join("\n"))
        }
        other => anyhow::anyhow!("{other}"),
    }
}

/// A file the verb reads whole.
fn read(file: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
}
