//! Settings: environment variables, each overridable by the CLI flag of the same name.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::ops::addresses::IpRange;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

#[derive(Clone, Debug, Args)]
pub struct Settings {
    /// Database: sqlite://PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DB
    /// [default: sqlite://<data dir>/handbook.db]
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Folder for the SQLite database, signing keys and attachments.
    #[arg(long, env = "HANDBOOK_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Log filter: a level (error, warn, info, debug, trace) or a tracing directive list.
    #[arg(long, env = "HANDBOOK_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log line format.
    #[arg(long, env = "HANDBOOK_LOG_FORMAT", value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,

    /// Most database connections the pool keeps open.
    #[arg(long, env = "HANDBOOK_DB_POOL_SIZE", default_value_t = 10, global = true)]
    pub db_pool_size: u32,

    /// Eligible members the city aims to have installed the app (coverage target).
    #[arg(long, env = "HANDBOOK_TARGET_MEMBERS", default_value_t = 418_000, global = true)]
    pub target_members: u64,

    /// PEM file of Ed25519 private keys (PKCS#8) for access tokens; the first signs, all verify.
    /// [default: <data dir>/jwt-signing-keys.pem, generated on first start]
    #[arg(long, env = "HANDBOOK_JWT_KEY_FILE", global = true)]
    pub jwt_key_file: Option<PathBuf>,

    /// Days an activation code stays valid.
    #[arg(long, env = "HANDBOOK_ACTIVATION_CODE_DAYS", default_value_t = 30, global = true)]
    pub activation_code_days: u32,

    /// Days a session (refresh token) may stay unused before it expires.
    #[arg(long, env = "HANDBOOK_REFRESH_IDLE_DAYS", default_value_t = 30, global = true)]
    pub refresh_idle_days: u32,

    /// Days a session lasts at most, however active: then the member signs in again.
    #[arg(long, env = "HANDBOOK_REFRESH_MAX_DAYS", default_value_t = 180, global = true)]
    pub refresh_max_days: u32,

    /// Addresses of reverse proxies whose X-Forwarded-For is believed (comma-separated).
    #[arg(long, env = "HANDBOOK_TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Address ranges (CIDR, comma-separated) that may read /metrics; behind trusted proxies the client's
    /// address counts, and a request forwarded by an untrusted peer is refused. Others get 404.
    #[arg(long, env = "HANDBOOK_METRICS_ALLOW", value_delimiter = ',', default_values_t = IpRange::loopback(), global = true)]
    pub metrics_allow: Vec<IpRange>,

    /// A token that may read /metrics from any address, sent as `Authorization: Bearer <token>`.
    #[arg(long, env = "HANDBOOK_METRICS_TOKEN", hide_env_values = true, global = true)]
    pub metrics_token: Option<String>,

    /// Largest attachment accepted, in bytes.
    #[arg(long, env = "HANDBOOK_ATTACHMENT_MAX_BYTES", default_value_t = 64 * 1024 * 1024, global = true)]
    pub attachment_max_bytes: u64,

    /// Most live installations (devices) one account may have; registering one more retires its longest idle one.
    #[arg(long, env = "HANDBOOK_MAX_DEVICES", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub max_devices: u32,

    /// Hour of the day (UTC, 0–23) after which the daily coverage snapshot is taken (17 = midnight in Hanoi).
    #[arg(long, env = "HANDBOOK_SNAPSHOT_HOUR", default_value_t = 17, value_parser = clap::value_parser!(u32).range(0..24), global = true)]
    pub snapshot_hour: u32,

    /// Seconds a client gets to send a request body, extended by one second for every `body_min_rate` bytes it
    /// sends; a slower client is answered 408 and disconnected.
    #[arg(long, env = "HANDBOOK_BODY_TIMEOUT", default_value_t = 20, global = true)]
    pub body_timeout: u64,

    /// Bytes per second a request body must average, past its first `body_timeout` seconds.
    #[arg(long, env = "HANDBOOK_BODY_MIN_RATE", default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub body_min_rate: u64,
}

impl Settings {
    /// Settings for a given database and data folder, everything else at its default.
    pub fn new(database_url: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        Settings {
            database_url: Some(database_url.into()),
            data_dir: data_dir.into(),
            log: "info".into(),
            log_format: LogFormat::Text,
            db_pool_size: 10,
            target_members: 418_000,
            jwt_key_file: None,
            activation_code_days: 30,
            refresh_idle_days: 30,
            refresh_max_days: 180,
            trusted_proxies: Vec::new(),
            metrics_allow: IpRange::loopback(),
            metrics_token: None,
            attachment_max_bytes: 64 * 1024 * 1024,
            max_devices: 5,
            snapshot_hour: 17,
            body_timeout: 20,
            body_min_rate: 500,
        }
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => url.clone(),
            _ => format!("sqlite://{}", self.data_dir.join("handbook.db").display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_database_lives_in_the_data_folder() {
        let mut settings = Settings::new("", "/srv/handbook");
        assert_eq!(settings.database_url(), "sqlite:///srv/handbook/handbook.db");
        settings.database_url = Some("postgres://h/db".into());
        assert_eq!(settings.database_url(), "postgres://h/db");
    }
}
