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
    raise_open_files_limit();
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
        handbook::sync::live::listen::spawn(state.db.live(), state.db.url());
        let last_notes = state.clone();
        let hub = state.db.live().clone();
        let server = HttpServer::new(move || app::build(state.clone()))
            .bind(&bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?
            .shutdown_timeout(30)
            // A client gets 10 s to send its request head and 30 s of idle keep-alive.
            .client_request_timeout(std::time::Duration::from_secs(10))
            .keep_alive(std::time::Duration::from_secs(30))
            // Our own signal handling: held polls must answer before the graceful stop waits for them.
            .disable_signals()
            .run();
        actix_web::rt::spawn(stop_on_signal(server.handle(), hub));
        server.await?;
        if let Err(error) = handbook::sync::seen::write_pending(&last_notes).await {
            tracing::warn!(%error, "could not record when devices were last seen");
        }
        tracing::info!("stopped");
        Ok(())
    })
}

/// Stops like actix-web's own handling (SIGTERM: graceful, SIGINT and SIGQUIT: at once), after answering every
/// held poll (304) and refusing to hold new ones, so that a graceful stop does not wait for them.
async fn stop_on_signal(server: actix_web::dev::ServerHandle, hub: std::sync::Arc<handbook::sync::live::Hub>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int), Ok(mut quit)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()), signal(SignalKind::quit()))
    else {
        tracing::error!("cannot install the signal handlers");
        return;
    };
    let graceful = tokio::select! {
        _ = term.recv() => true,
        _ = int.recv() => false,
        _ = quit.recv() => false,
    };
    let held = hub.held();
    tracing::info!(graceful, held_polls = held, "stopping: held polls answered");
    hub.stop();
    server.stop(graceful).await;
}

/// Raises the soft limit of open files to the hard limit: every held poll is an open connection.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        tracing::warn!("cannot read the open-files limit");
        return;
    }
    let before = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            tracing::warn!(open_files = before, "cannot raise the open-files limit");
            return;
        }
    }
    tracing::info!(open_files = limit.rlim_cur, was = before, "open-files limit (each held poll holds one)");
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
