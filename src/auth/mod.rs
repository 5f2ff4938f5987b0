//! Authentication and access control: passwords, tokens, refresh families, activation codes, throttling,
//! and the `AuthUser` extractor that every protected route takes.

pub mod activation;
pub mod keys;
pub mod password;
pub mod revocations;
pub mod routes;
pub mod secrets;
pub mod sessions;
pub mod sign_in;
pub mod store;
pub mod throttle;
pub mod tokens;
pub mod user;

use std::net::IpAddr;

use crate::config::Settings;

pub use crate::time::now;
pub use user::{AuthUser, Role, Scope, Subject};

/// What authentication needs at run time, built once at start.
pub struct Auth {
    pub keys: keys::KeySet,
    pub verified: tokens::VerifiedCache,
    /// Sessions and accounts whose access tokens no longer count, kept up to date by `revocations::spawn`.
    pub revoked: std::sync::Arc<revocations::Revoked>,
    pub hasher: password::Hasher,
    pub lifetimes: sessions::Lifetimes,
    pub activation_code_ttl: chrono::Duration,
    pub trusted_proxies: Vec<IpAddr>,
}

impl Auth {
    pub fn from_settings(settings: &Settings) -> Result<Auth, keys::KeyError> {
        Ok(Auth {
            keys: keys::KeySet::load_or_generate(settings.jwt_key_file.as_deref(), &settings.data_dir)?,
            verified: tokens::VerifiedCache::new(),
            revoked: std::sync::Arc::new(revocations::Revoked::new()),
            hasher: password::Hasher::new(),
            lifetimes: sessions::Lifetimes {
                idle: chrono::Duration::days(i64::from(settings.refresh_idle_days)),
                absolute: chrono::Duration::days(i64::from(settings.refresh_max_days)),
            },
            activation_code_ttl: chrono::Duration::days(i64::from(settings.activation_code_days)),
            trusted_proxies: settings.trusted_proxies.clone(),
        })
    }

    /// The client's address as text (`unknown` without a peer address): see `client_ip`.
    pub fn client_address(&self, req: &actix_web::HttpRequest) -> String {
        self.client_ip(req).map(|ip| ip.to_string()).unwrap_or_else(|| "unknown".into())
    }

    /// The client's address: the peer, or behind trusted proxies X-Forwarded-For read from the right
    /// (`ops::addresses::client_ip`).
    pub fn client_ip(&self, req: &actix_web::HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        Some(crate::ops::addresses::client_ip(peer, &self.trusted_proxies, req.headers()))
    }
}
