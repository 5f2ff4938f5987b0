//! Times on the wire are RFC 3339 in UTC; in the database they are UTC without a zone.

use chrono::{NaiveDateTime, SecondsFormat};

pub fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

/// For `#[serde(serialize_with = …)]` on stored times.
pub fn serialize<S: serde::Serializer>(at: &NaiveDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&rfc3339(*at))
}

/// The same, for optional times.
pub fn serialize_option<S: serde::Serializer>(at: &Option<NaiveDateTime>, serializer: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serializer.serialize_str(&rfc3339(*at)),
        None => serializer.serialize_none(),
    }
}
