//! Settings: environment variables, each overridable by the CLI flag of the same name.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use clap::{Args, ValueEnum};

use crate::ops::addresses::IpRange;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Where attachments are kept: `file` (the data folder) or `s3://BUCKET[/PREFIX]` (any S3-compatible object store,
/// reached with the standard `AWS_*` variables).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttachmentStore {
    /// `<data dir>/attachments/`.
    File,
    /// Objects `[PREFIX/]<first two hex digits>/<sha256>` in `bucket`; `prefix` without slashes at either end.
    S3 { bucket: String, prefix: String },
}

impl FromStr for AttachmentStore {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        const EXPECTED: &str = "expected `file` or `s3://BUCKET[/PREFIX]`";
        let text = text.trim();
        if text == "file" {
            return Ok(AttachmentStore::File);
        }
        let Some(rest) = text.strip_prefix("s3://") else {
            return Err(format!("{EXPECTED}, not {text:?}"));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // S3's rules for bucket names: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending
        // with a letter or digit.
        let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
            && edge_ok(bucket.chars().next())
            && edge_ok(bucket.chars().last());
        if !bucket_ok {
            return Err(format!(
                "{EXPECTED}: {bucket:?} is not a bucket name (3 to 63 lower-case letters, digits, '.' and '-')"
            ));
        }
        let prefix = prefix.trim_matches('/');
        let prefix_ok = prefix.split('/').all(|part| {
            (prefix.is_empty() || !part.is_empty())
                && part != "."
                && part != ".."
                && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });
        if !prefix_ok {
            return Err(format!(
                "{EXPECTED}: the prefix {prefix:?} may hold only letters, digits, '-', '_', '.' and single '/'"
            ));
        }
        Ok(AttachmentStore::S3 { bucket: bucket.to_owned(), prefix: prefix.to_owned() })
    }
}

impl fmt::Display for AttachmentStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttachmentStore::File => f.write_str("file"),
            AttachmentStore::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            AttachmentStore::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// Every setting's default, written once: the flags show and apply them, and `Settings::new` starts from them.
pub mod defaults {
    use super::{AttachmentStore, LogFormat};
    use crate::ops::addresses::IpRange;

    pub const DATA_DIR: &str = "./data";
    pub const LOG: &str = "info";
    pub const LOG_FORMAT: LogFormat = LogFormat::Text;
    pub const DB_POOL_SIZE: u32 = 10;
    pub const TARGET_MEMBERS: u64 = 418_000;
    pub const ACTIVATION_CODE_DAYS: u32 = 30;
    pub const REFRESH_IDLE_DAYS: u32 = 30;
    pub const REFRESH_MAX_DAYS: u32 = 180;
    pub const ATTACHMENT_MAX_BYTES: u64 = 64 * 1024 * 1024;
    pub const ATTACHMENT_STORE: AttachmentStore = AttachmentStore::File;
    pub const MAX_DEVICES: u32 = 5;
    pub const SNAPSHOT_HOUR: u32 = 17;
    pub const CONSOLE_IDLE_MINUTES: u32 = 30;
    pub const BODY_TIMEOUT: u64 = 20;
    pub const BODY_MIN_RATE: u64 = 500;

    /// Loopback only.
    pub fn metrics_allow() -> Vec<IpRange> {
        IpRange::loopback()
    }
}

#[derive(Clone, Debug, Args)]
pub struct Settings {
    /// Database: sqlite://PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DB
    /// [default: sqlite://<data dir>/handbook.db]
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,

    /// Folder for the SQLite database, signing keys and attachments.
    #[arg(long, env = "HANDBOOK_DATA_DIR", default_value = defaults::DATA_DIR, global = true)]
    pub data_dir: PathBuf,

    /// Log filter: a level (error, warn, info, debug, trace) or a tracing directive list.
    #[arg(long, env = "HANDBOOK_LOG", default_value = defaults::LOG, global = true)]
    pub log: String,

    /// Log line format.
    #[arg(long, env = "HANDBOOK_LOG_FORMAT", value_enum, default_value_t = defaults::LOG_FORMAT, global = true)]
    pub log_format: LogFormat,

    /// Most database connections the pool keeps open.
    #[arg(long, env = "HANDBOOK_DB_POOL_SIZE", default_value_t = defaults::DB_POOL_SIZE, global = true)]
    pub db_pool_size: u32,

    /// Eligible members the city aims to have installed the app (coverage target).
    #[arg(long, env = "HANDBOOK_TARGET_MEMBERS", default_value_t = defaults::TARGET_MEMBERS, global = true)]
    pub target_members: u64,

    /// PEM file of Ed25519 private keys (PKCS#8) for access tokens; the first signs, all verify.
    /// [default: <data dir>/jwt-signing-keys.pem, generated on first start]
    #[arg(long, env = "HANDBOOK_JWT_KEY_FILE", global = true)]
    pub jwt_key_file: Option<PathBuf>,

    /// Days an activation code stays valid.
    #[arg(long, env = "HANDBOOK_ACTIVATION_CODE_DAYS", default_value_t = defaults::ACTIVATION_CODE_DAYS, global = true)]
    pub activation_code_days: u32,

    /// Days a session (refresh token) may stay unused before it expires.
    #[arg(long, env = "HANDBOOK_REFRESH_IDLE_DAYS", default_value_t = defaults::REFRESH_IDLE_DAYS, global = true)]
    pub refresh_idle_days: u32,

    /// Days a session lasts at most, however active: then the member signs in again.
    #[arg(long, env = "HANDBOOK_REFRESH_MAX_DAYS", default_value_t = defaults::REFRESH_MAX_DAYS, global = true)]
    pub refresh_max_days: u32,

    /// Addresses of reverse proxies whose X-Forwarded-For is believed (comma-separated).
    #[arg(long, env = "HANDBOOK_TRUSTED_PROXIES", value_delimiter = ',', global = true)]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Address ranges (CIDR, comma-separated) that may read /metrics; behind trusted proxies the client's
    /// address counts, and a request forwarded by an untrusted peer is refused. Others get 404.
    #[arg(long, env = "HANDBOOK_METRICS_ALLOW", value_delimiter = ',', default_values_t = defaults::metrics_allow(), global = true)]
    pub metrics_allow: Vec<IpRange>,

    /// A token that may read /metrics from any address, sent as `Authorization: Bearer <token>`.
    #[arg(long, env = "HANDBOOK_METRICS_TOKEN", hide_env_values = true, global = true)]
    pub metrics_token: Option<String>,

    /// Largest attachment accepted, in bytes.
    #[arg(long, env = "HANDBOOK_ATTACHMENT_MAX_BYTES", default_value_t = defaults::ATTACHMENT_MAX_BYTES, global = true)]
    pub attachment_max_bytes: u64,

    /// Where attachments are kept: `file` (the data folder) or `s3://BUCKET[/PREFIX]` (S3-compatible object storage,
    /// reached with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL and AWS_ALLOW_HTTP).
    #[arg(long, env = "HANDBOOK_ATTACHMENT_STORE", default_value_t = defaults::ATTACHMENT_STORE, global = true)]
    pub attachment_store: AttachmentStore,

    /// Most live installations (devices) one account may have; registering one more retires its longest idle one.
    #[arg(long, env = "HANDBOOK_MAX_DEVICES", default_value_t = defaults::MAX_DEVICES, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub max_devices: u32,

    /// Hour of the day (UTC, 0–23) after which the daily coverage snapshot is taken (17 = midnight in Hanoi).
    #[arg(long, env = "HANDBOOK_SNAPSHOT_HOUR", default_value_t = defaults::SNAPSHOT_HOUR, value_parser = clap::value_parser!(u32).range(0..24), global = true)]
    pub snapshot_hour: u32,

    /// Minutes a console session may stay unused before it ends (the staff member signs in again).
    #[arg(long, env = "HANDBOOK_CONSOLE_IDLE_MINUTES", default_value_t = defaults::CONSOLE_IDLE_MINUTES, value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub console_idle_minutes: u32,

    /// Seconds a client gets to send a request body, extended by one second for every `body_min_rate` bytes it
    /// sends; a slower client is answered 408 and disconnected.
    #[arg(long, env = "HANDBOOK_BODY_TIMEOUT", default_value_t = defaults::BODY_TIMEOUT, global = true)]
    pub body_timeout: u64,

    /// Bytes per second a request body must average, past its first `body_timeout` seconds.
    #[arg(long, env = "HANDBOOK_BODY_MIN_RATE", default_value_t = defaults::BODY_MIN_RATE, value_parser = clap::value_parser!(u64).range(1..), global = true)]
    pub body_min_rate: u64,
}

impl Settings {
    /// Settings for a given database and data folder, everything else at its default.
    pub fn new(database_url: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        Settings {
            database_url: Some(database_url.into()),
            data_dir: data_dir.into(),
            log: defaults::LOG.into(),
            log_format: defaults::LOG_FORMAT,
            db_pool_size: defaults::DB_POOL_SIZE,
            target_members: defaults::TARGET_MEMBERS,
            jwt_key_file: None,
            activation_code_days: defaults::ACTIVATION_CODE_DAYS,
            refresh_idle_days: defaults::REFRESH_IDLE_DAYS,
            refresh_max_days: defaults::REFRESH_MAX_DAYS,
            trusted_proxies: Vec::new(),
            metrics_allow: defaults::metrics_allow(),
            metrics_token: None,
            attachment_max_bytes: defaults::ATTACHMENT_MAX_BYTES,
            attachment_store: defaults::ATTACHMENT_STORE,
            max_devices: defaults::MAX_DEVICES,
            snapshot_hour: defaults::SNAPSHOT_HOUR,
            console_idle_minutes: defaults::CONSOLE_IDLE_MINUTES,
            body_timeout: defaults::BODY_TIMEOUT,
            body_min_rate: defaults::BODY_MIN_RATE,
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

    /// The flags apply the very defaults `Settings::new` starts from (environment variables ignored here).
    #[test]
    fn the_flags_defaults_are_the_settings_defaults() {
        use clap::FromArgMatches;
        let command = Settings::augment_args(clap::Command::new("handbook")).mut_args(|arg| arg.env(None));
        let parsed = Settings::from_arg_matches(&command.get_matches_from(["handbook"])).unwrap();
        let built = Settings::new("", defaults::DATA_DIR);
        assert_eq!(parsed.database_url, None);
        assert_eq!(format!("{:?}", Settings { database_url: None, ..built }), format!("{parsed:?}"));
    }

    #[test]
    fn the_attachment_store_is_the_data_folder_or_a_bucket() {
        let parse = |text: &str| text.parse::<AttachmentStore>();
        assert_eq!(parse("file"), Ok(AttachmentStore::File));
        let s3 = |bucket: &str, prefix: &str| {
            Ok(AttachmentStore::S3 { bucket: bucket.to_owned(), prefix: prefix.to_owned() })
        };
        assert_eq!(parse("s3://handbook"), s3("handbook", ""));
        assert_eq!(parse("s3://handbook/"), s3("handbook", ""));
        assert_eq!(parse("s3://handbook-2.hn/city/attachments/"), s3("handbook-2.hn", "city/attachments"));
        for bad in [
            "",
            "files",
            "S3://handbook",
            "s3://",
            "s3://ab",
            "s3://Handbook",
            "s3://-handbook",
            "s3://hand_book",
            "s3://handbook/a//b",
            "s3://handbook/../x",
            "s3://handbook/a b",
            "/srv/attachments",
        ] {
            let error = parse(bad).expect_err(bad);
            assert!(error.starts_with("expected `file` or `s3://BUCKET[/PREFIX]`"), "{bad}: {error}");
        }
        for text in ["file", "s3://handbook", "s3://handbook/city/attachments"] {
            assert_eq!(parse(text).unwrap().to_string(), text);
        }
    }
}
