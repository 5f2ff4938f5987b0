//! `handbook serve`: serve the API, the sync feed and the dashboard, with the background jobs; pending
//! migrations are applied first, and an empty database gets its first admin.

use actix_web::HttpServer;
use handbook::config::Settings;
use handbook::org::{staff, store};
use handbook::{app, state::AppState};

use super::{open, with_connection};

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "HANDBOOK_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Load the demo data set (48 committees, 418,000 synthetic members, staff, a handbook, devices, an audit trail)
    /// if the database has no members.
    #[arg(long)]
    demo: bool,
}

pub fn run(settings: Settings, Args { bind, demo }: Args) -> anyhow::Result<()> {
    let db = open(&settings, settings.db_pool_size)?;
    if let Some(password) = with_connection(&db, staff::ensure_first_admin)? {
        print_first_admin(&password);
    }
    let state = AppState::new(db, settings)?;
    actix_web::rt::System::new().block_on(async move {
        // A bucket that does not answer, or not to our key, stops the start here rather than the first upload.
        state.blobs.check().await?;
        if demo {
            let loading = state.clone();
            actix_web::web::block(move || load_demo(&loading)).await??;
        }
        let settings = &state.settings;
        tracing::info!(database = %state.db.url().display(), attachments = %settings.attachment_store, %bind, "starting");
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

/// `--demo`: the demo data set with its defaults, unless the database has members.
fn load_demo(state: &AppState) -> anyhow::Result<()> {
    let db = &state.db;
    let empty = with_connection(db, |conn| Ok(store::list_committees(conn, None)?.iter().all(|c| c.eligible == 0)))?;
    if !empty {
        tracing::info!("--demo: the database already has members; leaving them as they are");
        return Ok(());
    }
    tracing::info!("loading the demo data set");
    let options = handbook::demo::Options::default();
    let loaded = with_connection(db, |conn| handbook::demo::load(conn, &state.blobs, &options, handbook::time::now()))?;
    tracing::info!(
        members = loaded.members.created,
        installed = loaded.devices.installed,
        documents = loaded.documents.0 + loaded.documents.1,
        audit = loaded.audit,
        "demo data loaded"
    );
    super::demo_data::print_staff(&loaded);
    Ok(())
}

/// The first admin's login and password, shown this once.
pub fn print_first_admin(password: &str) {
    println!("Created the first admin account.\n  login:    admin\n  password: {password}\nIt is shown this once: sign in and change it.");
}
