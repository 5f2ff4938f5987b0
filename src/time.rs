//! Times on the wire are RFC 3339 in UTC; in the database they are UTC without a zone.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, SecondsFormat};

pub fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Hanoi's time zone, UTC+7 all year round (Vietnam keeps no summer time).
pub fn hanoi() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("a valid offset")
}

/// The UTC time at which a day in Hanoi begins (its midnight: 17:00 UTC the day before).
pub fn start_of_hanoi_day(day: NaiveDate) -> NaiveDateTime {
    day.and_time(NaiveTime::MIN) - chrono::Duration::seconds(i64::from(hanoi().local_minus_utc()))
}

/// A stored (UTC) time as a Hanoi wall-clock time.
pub fn in_hanoi(at: NaiveDateTime) -> NaiveDateTime {
    at + chrono::Duration::seconds(i64::from(hanoi().local_minus_utc()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hanoi_day_begins_at_17_utc_the_day_before() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(start_of_hanoi_day(day).to_string(), "2026-02-28 17:00:00");
        assert_eq!(in_hanoi(start_of_hanoi_day(day)).to_string(), "2026-03-01 00:00:00");
    }
}
