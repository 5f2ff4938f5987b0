//! Sign-in throttling, per account and per client address, kept in the database so that every instance
//! sees the same counts. It is decided before any password is hashed. Failures are forgiven an hour after
//! the first of a window: there is no permanent lockout that an attacker could turn against a member.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::login_throttle as lt;
use crate::db::DbConnection;

#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// Failures allowed in a window before delays begin.
    pub free_failures: i32,
    /// The delay after the first failure past the free ones; it doubles with each further failure.
    pub first_delay_secs: i64,
    pub max_delay_secs: i64,
    /// Failures in a window after which the key waits for the window to end.
    pub max_failures: i32,
}

/// Per account: 5 free tries, then 1 s, 2 s, 4 s … up to 30 s between tries, and at most 100 in an hour.
pub const ACCOUNT: Policy = Policy { free_failures: 5, first_delay_secs: 1, max_delay_secs: 30, max_failures: 100 };
/// Per client address (many members may share a network): 50 free tries, then up to 60 s, 1,000 an hour.
pub const ADDRESS: Policy = Policy { free_failures: 50, first_delay_secs: 1, max_delay_secs: 60, max_failures: 1_000 };

const WINDOW: Duration = Duration::hours(1);

pub fn account_key(login: &str) -> String {
    format!("login:{}", login.trim().to_lowercase())
}

pub fn address_key(address: &str) -> String {
    format!("ip:{address}")
}

/// Seconds to wait, if any of the keys is blocked now.
pub fn retry_after(conn: &mut DbConnection, keys: &[String], now: NaiveDateTime) -> QueryResult<Option<u64>> {
    let blocked: Vec<Option<NaiveDateTime>> =
        lt::table.filter(lt::throttle_key.eq_any(keys)).select(lt::blocked_until).load(conn)?;
    let longest = blocked.into_iter().flatten().filter(|until| *until > now).max();
    Ok(longest.map(|until| (until - now).num_milliseconds().div_euclid(1000).max(0) as u64 + 1))
}

/// Counts a failure against the key. Call inside a write transaction.
pub fn record_failure(conn: &mut DbConnection, key: &str, policy: Policy, now: NaiveDateTime) -> QueryResult<()> {
    let existing: Option<(i32, NaiveDateTime)> =
        lt::table.find(key).select((lt::failures, lt::window_start)).get_result(conn).optional()?;
    let (failures, window_start) = match existing {
        Some((failures, start)) if now - start < WINDOW => (failures + 1, start),
        _ => (1, now),
    };
    let blocked_until = if failures >= policy.max_failures {
        Some(window_start + WINDOW)
    } else if failures > policy.free_failures {
        let doublings = (failures - policy.free_failures - 1).min(30) as u32;
        let delay = (policy.first_delay_secs << doublings).min(policy.max_delay_secs);
        Some(now + Duration::seconds(delay))
    } else {
        None
    };
    if existing.is_some() {
        diesel::update(lt::table.find(key))
            .set((lt::failures.eq(failures), lt::window_start.eq(window_start), lt::blocked_until.eq(blocked_until)))
            .execute(conn)?;
    } else {
        diesel::insert_into(lt::table)
            .values((
                lt::throttle_key.eq(key),
                lt::failures.eq(failures),
                lt::window_start.eq(window_start),
                lt::blocked_until.eq(blocked_until),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn clear(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    diesel::delete(lt::table.find(key)).execute(conn)?;
    Ok(())
}
