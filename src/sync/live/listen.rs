//! On PostgreSQL, one connection per instance that LISTENs on [`CHANNEL`]: every instance's commits (this one's
//! included) arrive here as their `pg_notify` payloads and are applied to the [`Hub`]. On its own thread, which
//! checks the connection for notifications every [`EVERY`] (a non-blocking read of the socket), pings it now and
//! then to notice a dead connection, and reconnects with backoff; once listening again, it forgets everything and
//! wakes every held poll, since notifications sent while no one listened are lost.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::PgConnection;

use super::{Changes, Hub};
use crate::db::DbUrl;

/// The channel of every instance's notes.
pub const CHANNEL: &str = "handbook_live";
/// How often the connection is checked for notifications.
const EVERY: Duration = Duration::from_millis(5);
/// How often the connection is pinged.
const PING_EVERY: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Starts the listener of `url` (PostgreSQL only; an SQLite database has one instance, which applies its own notes).
/// The thread ends when the hub is dropped.
pub fn spawn(hub: &Arc<Hub>, url: &DbUrl) {
    let DbUrl::Postgres(url) = url else { return };
    let (hub, url) = (Arc::downgrade(hub), url.clone());
    let started = std::thread::Builder::new().name("live-listen".into()).spawn(move || run(hub, &url));
    if let Err(error) = started {
        tracing::error!(%error, "cannot start the live-sync listener; held polls wake at their timeout only");
    }
}

fn run(hub: Weak<Hub>, url: &str) {
    let mut backoff = Duration::from_millis(100);
    let mut failed_before = false;
    while hub.strong_count() > 0 {
        match connect(url) {
            Ok(mut conn) => {
                if failed_before {
                    tracing::info!("live-sync listener connected again");
                }
                // Listening from now on: whatever committed before is read from the database by the next poll.
                if let Some(hub) = hub.upgrade() {
                    hub.apply(&Changes::everything());
                }
                backoff = Duration::from_millis(100);
                let error = listen(&hub, &mut conn);
                match error {
                    None => return,
                    Some(error) => tracing::warn!(%error, "live-sync listener lost its connection; reconnecting"),
                }
            }
            Err(error) => {
                tracing::warn!(%error, backoff_ms = backoff.as_millis() as u64, "live-sync listener cannot connect");
            }
        }
        failed_before = true;
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn connect(url: &str) -> Result<PgConnection, String> {
    let manager = crate::db::DbManager::new(DbUrl::Postgres(url.to_owned()));
    let mut conn = match manager.establish().map_err(|e| e.to_string())? {
        crate::db::DbConnection::Postgresql(conn) => conn,
        crate::db::DbConnection::Sqlite(_) => return Err("not PostgreSQL".into()),
    };
    conn.batch_execute(&format!("LISTEN {CHANNEL}")).map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Applies notifications until the connection fails (its error) or the hub is gone (None).
fn listen(hub: &Weak<Hub>, conn: &mut PgConnection) -> Option<String> {
    let mut pinged = Instant::now();
    loop {
        let mut received = Changes::default();
        for notification in conn.notifications_iter() {
            match notification {
                Ok(notification) => received.merge(Changes::parse(&notification.payload)),
                Err(error) => return Some(error.to_string()),
            }
        }
        let hub = hub.upgrade()?;
        if !received.is_empty() {
            hub.apply(&received);
        }
        drop(hub);
        if pinged.elapsed() >= PING_EVERY {
            if let Err(error) = conn.batch_execute("SELECT 1") {
                return Some(error.to_string());
            }
            pinged = Instant::now();
        }
        std::thread::sleep(EVERY);
    }
}
