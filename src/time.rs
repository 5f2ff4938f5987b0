//! Times on the wire are RFC 3339 in UTC; in the database they are UTC without a zone.

use chrono::{NaiveDateTime, SecondsFormat};

pub fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}
