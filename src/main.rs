//! The `handbook` command line: serve the API, migrate the database, and the operators' verbs.

use std::process::ExitCode;

use actix_web::HttpServer;
use clap::{Parser, Subcommand};

use handbook::app::{self, AppState};
use handbook::config::Settings;
use handbook::{db, telemetry};

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
        /// Load the demo data set into an empty database before serving.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
}

fn main() -> ExitCode {
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

fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = cli.settings;
    match cli.command {
        Command::Serve { bind, demo } => serve(settings, bind, demo),
        Command::Migrate => {
            let db = db::open(&settings.database_url(), 1)?;
            println!("{} is up to date", db.url().display());
            Ok(())
        }
    }
}

fn serve(settings: Settings, bind: String, demo: bool) -> anyhow::Result<()> {
    let db = db::open(&settings.database_url(), settings.db_pool_size)?;
    if demo {
        tracing::warn!("--demo: the demo data set arrives with the organisation work; serving without it");
    }
    tracing::info!(database = %db.url().display(), %bind, "starting");
    let state = AppState::new(db, settings);
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(move || app::build(state.clone()))
            .bind(&bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?
            .shutdown_timeout(30)
            .run();
        server.await?;
        tracing::info!("stopped");
        Ok(())
    })
}
