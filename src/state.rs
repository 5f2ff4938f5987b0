//! The state every handler shares: the database, the settings, the metrics, the signing keys and the sync log.
//! A leaf: it knows the capabilities' stores, never their routes, so any module may import it.

use actix_web::web;

use crate::auth::keys::KeyError;
use crate::auth::Auth;
use crate::config::Settings;
use crate::db::Db;
use crate::ops::metrics::Metrics;
use crate::sync::seen::SeenLog;

pub struct AppState {
    pub db: Db,
    pub settings: Settings,
    pub metrics: Metrics,
    pub auth: Auth,
    pub seen: SeenLog,
}

impl AppState {
    pub fn new(db: Db, settings: Settings) -> Result<web::Data<AppState>, KeyError> {
        let auth = Auth::from_settings(&settings)?;
        Ok(web::Data::new(AppState { db, settings, metrics: Metrics::new(), auth, seen: Default::default() }))
    }
}
