//! The `handbook` command line: serve the API, migrate the database, and the operators' verbs.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use actix_web::HttpServer;
use anyhow::Context;
use clap::{Parser, Subcommand};

use handbook::auth::{password, Role};
use handbook::config::Settings;
use handbook::db::{self, Db, DbConnection};
use handbook::error::AppError;
use handbook::org::{demo, import, staff, store};
use handbook::telemetry;
use handbook::{app, state::AppState};

#[derive(Parser)]
#[command(name = "handbook", version, about = "Backend and sync server of the Hanoi party-member handbook")]
struct Cli {
    #[command(flatten)]
    settings: Settings,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the sync feed and the dashboard (applies pending migrations first).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "HANDBOOK_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Load the demo data set (48 committees, synthetic members) if the database has no members.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Import members from a CSV file (all or nothing), as an admin would through the API.
    ImportMembers {
        file: PathBuf,
        /// Validate and count what would change, without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Committees.
    Committees {
        #[command(subcommand)]
        command: CommitteesCommand,
    },
    /// Staff accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Copy the database to a file while the service runs (SQLite; for PostgreSQL use pg_dump).
    Backup {
        /// The backup file to write (it must not exist yet).
        #[arg(long)]
        to: PathBuf,
    },
    /// Install coverage.
    Coverage {
        #[command(subcommand)]
        command: CoverageCommand,
    },
    /// Load the demo data set, or write it as CSV files.
    DemoData {
        /// Eligible members in all (exactly; about 5% exempt come on top).
        #[arg(long, default_value_t = 418_000)]
        members: u64,
        /// Handbook documents to publish (only into a database that has none yet).
        #[arg(long, default_value_t = 200)]
        documents: usize,
        #[arg(long, default_value_t = 2023)]
        seed: u64,
        /// Write the members CSV here (and committees to FILE.committees.csv) instead of loading it.
        #[arg(long)]
        csv: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CommitteesCommand {
    /// Create or rename committees from a CSV file with the columns code,name.
    Import { file: PathBuf },
}

#[derive(Subcommand)]
enum CoverageCommand {
    /// Refresh the time-moving counters and store today's coverage per committee (idempotent; for cron).
    Snapshot,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a staff account. The password is read from standard input when it is piped, else generated
    /// and printed once.
    Create {
        #[arg(long)]
        login: String,
        #[arg(long, default_value = "admin", value_parser = ["admin", "officer"])]
        role: String,
        /// The officer's committee.
        #[arg(long)]
        committee: Option<String>,
    },
}

fn main() -> ExitCode {
    // Everything the service writes (database, WAL, keys, attachments, backups) is for its own user only; the
    // files module sets these modes explicitly too.
    // SAFETY: umask only sets the process's file-mode mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    let cli = Cli::parse();
    telemetry::init(&cli.settings);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
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

fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    match cli.command {
        Command::Serve { bind, demo } => serve(settings, bind, demo),
        Command::Migrate => {
            let db = open(&settings, 1)?;
            println!("{} is up to date", db.url().display());
            Ok(())
        }
        Command::ImportMembers { file, dry_run } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let db = open(&settings, 1)?;
            let started = std::time::Instant::now();
            let scope = import::ImportScope { committee: None };
            let outcome = with_connection(&db, |conn| import::import(conn, &bytes, &scope, dry_run, None))?;
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
        Command::Committees { command: CommitteesCommand::Import { file } } => {
            let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let db = open(&settings, 1)?;
            let (created, renamed) = with_connection(&db, |conn| store::import_committees(conn, &bytes))?;
            println!("committees created {created}, renamed {renamed}");
            Ok(())
        }
        Command::Backup { to } => {
            if to.exists() {
                anyhow::bail!("{} exists already; choose a new file", to.display());
            }
            let db = open(&settings, 1)?;
            let target = to.to_str().context("the backup path must be UTF-8")?.to_owned();
            with_connection(&db, |conn| handbook::db::backup_into(conn, &target))?;
            println!("backed up {} to {}", db.url().display(), to.display());
            Ok(())
        }
        Command::Coverage { command: CoverageCommand::Snapshot } => {
            let db = open(&settings, 1)?;
            let at = handbook::time::now();
            let committees = with_connection(&db, |conn| Ok(handbook::coverage::report::snapshot(conn, at)?))?;
            println!("coverage snapshot of {} stored for {committees} committees", at.date());
            Ok(())
        }
        Command::Admin { command: AdminCommand::Create { login, role, committee } } => {
            create_staff(&settings, login, &role, committee)
        }
        Command::DemoData { members, documents, seed, csv } => match csv {
            Some(path) => {
                std::fs::write(&path, demo::members_csv(members, seed))?;
                let committees = path.with_extension("committees.csv");
                std::fs::write(&committees, demo::committees_csv())?;
                println!("wrote {} and {}", path.display(), committees.display());
                Ok(())
            }
            None => {
                let db = open(&settings, 1)?;
                let started = std::time::Instant::now();
                let outcome = with_connection(&db, |conn| demo::load(conn, members, seed))?;
                let published = with_connection(&db, |conn| load_demo_handbook(conn, &settings, documents, seed))?;
                println!(
                    "demo data: 48 committees; members created {}, updated {}, unchanged {}; {published} documents published; in {:.2} s",
                    outcome.created,
                    outcome.updated,
                    outcome.unchanged,
                    started.elapsed().as_secs_f64()
                );
                Ok(())
            }
        },
    }
}

/// The demo handbook, unless the database has documents already.
fn load_demo_handbook(
    conn: &mut DbConnection,
    settings: &Settings,
    count: usize,
    seed: u64,
) -> Result<usize, AppError> {
    use diesel::prelude::*;
    let existing: i64 = handbook::db::schema::documents::table.count().get_result(conn)?;
    if existing > 0 {
        return Ok(0);
    }
    handbook::content::demo::load(conn, &settings.data_dir, count, seed)
}

fn create_staff(settings: &Settings, login: String, role: &str, committee: Option<String>) -> anyhow::Result<()> {
    let login = handbook::auth::store::normalize_staff_login(&login);
    staff::check_login(&login).map_err(|m| anyhow::anyhow!("login: {m}"))?;
    let role = Role::parse(role).context("role must be admin or officer")?;
    if (role == Role::Officer) != committee.is_some() {
        anyhow::bail!("an officer needs --committee, and an admin takes none");
    }
    let (password, generated) = if std::io::stdin().is_terminal() {
        (handbook::auth::secrets::random_token()[..20].to_owned(), true)
    } else {
        let mut typed = String::new();
        std::io::stdin().read_to_string(&mut typed)?;
        (typed.trim_end_matches(['\r', '\n']).to_owned(), false)
    };
    password::check_new("password", &password, &[&login]).map_err(|e| anyhow::anyhow!("password {}", e.message))?;
    let db = open(settings, 1)?;
    let new = staff::NewStaff { login, role, committee_code: committee.map(|c| c.trim().to_uppercase()) };
    let hash = password::hash_blocking(&password);
    let account = with_connection(&db, |conn| staff::create(conn, &new, &hash))?;
    println!("created {} {}", account.role.as_str(), account.login);
    if generated {
        println!("password (shown once): {password}");
    }
    Ok(())
}

fn serve(settings: Settings, bind: String, demo: bool) -> anyhow::Result<()> {
    let db = open(&settings, settings.db_pool_size)?;
    if let Some(password) = with_connection(&db, staff::ensure_first_admin)? {
        println!("Created the first admin account.\n  login:    admin\n  password: {password}\nIt is shown this once: sign in and change it.");
    }
    if demo {
        let empty =
            with_connection(&db, |conn| Ok(store::list_committees(conn, None)?.iter().all(|c| c.eligible == 0)))?;
        if empty {
            tracing::info!("loading the demo data set");
            let outcome = with_connection(&db, |conn| demo::load(conn, 418_000, 2023))?;
            let documents = with_connection(&db, |conn| load_demo_handbook(conn, &settings, 200, 2023))?;
            tracing::info!(members = outcome.created, documents, "demo data loaded");
        } else {
            tracing::info!("--demo: the database already has members; leaving them as they are");
        }
    }
    tracing::info!(database = %db.url().display(), %bind, "starting");
    let state = AppState::new(db, settings)?;
    actix_web::rt::System::new().block_on(async move {
        handbook::content::schedule::spawn(state.clone());
        handbook::coverage::jobs::spawn(state.clone());
        handbook::sync::seen::spawn(state.clone());
        handbook::auth::revocations::spawn(state.clone());
        let last_notes = state.clone();
        let server = HttpServer::new(move || app::build(state.clone()))
            .bind(&bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?
            .shutdown_timeout(30)
            // A client gets 10 s to send its request head and 30 s of idle keep-alive.
            .client_request_timeout(std::time::Duration::from_secs(10))
            .keep_alive(std::time::Duration::from_secs(30))
            .run();
        server.await?;
        if let Err(error) = handbook::sync::seen::write_pending(&last_notes).await {
            tracing::warn!(%error, "could not record when devices were last seen");
        }
        tracing::info!("stopped");
        Ok(())
    })
}
