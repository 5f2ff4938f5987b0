//! The state every handler shares: the database, the settings, the metrics, the signing keys, the sync log and the
//! attachments' blob store.
//! A leaf: it knows the capabilities' stores, never their routes, so any module may import it.

use actix_web::web;

use crate::auth::Auth;
use crate::config::Settings;
use crate::content::attachments::BlobStore;
use crate::db::Db;
use crate::ops::metrics::Metrics;
use crate::sync::seen::SeenLog;

pub struct AppState {
    pub db: Db,
    pub settings: Settings,
    pub metrics: Metrics,
    pub auth: Auth,
    pub seen: SeenLog,
    /// Where attachments are kept (`HANDBOOK_ATTACHMENT_STORE`).
    pub blobs: BlobStore,
}

impl AppState {
    /// The state of `settings`: fails when the signing keys cannot be read or made, or the attachment store
    /// cannot even be addressed (whether it answers is `BlobStore::check`'s).
    pub fn new(db: Db, settings: Settings) -> anyhow::Result<web::Data<AppState>> {
        let blobs = BlobStore::from_settings(&settings)?;
        AppState::with_blobs(db, settings, blobs)
    }

    /// The state of `settings` with the attachment store `blobs` (made by `BlobStore::from_settings_and_env`).
    pub fn with_blobs(db: Db, settings: Settings, blobs: BlobStore) -> anyhow::Result<web::Data<AppState>> {
        let auth = Auth::from_settings(&settings)?;
        Ok(web::Data::new(AppState { db, settings, metrics: Metrics::new(), auth, seen: Default::default(), blobs }))
    }
}
