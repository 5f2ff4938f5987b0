//! Sign-in throttling, per account and per client address, kept in the database so that every instance
//! sees the same counts. Failures are forgiven an hour after the first of a window: there is no permanent
//! lockout that an attacker could turn against a member.
//!
//! Every attempt is counted, and the block read, in one write transaction that locks the keys' rows *before* any
//! password is hashed ([`begin`]): a burst from many connections is counted exactly like a sequence, each attempt
//! seeing the ones before it. An account also has at most one verification in flight: its row carries
//! `in_flight_until`, cleared when the verification ends ([`finish`]) and expiring by itself, so that a crash
//! between the two cannot lock an account out. A success clears the account's count and refunds the attempt to
//! the address, which many members behind one NAT may share.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::login_throttle as lt;
use crate::db::DbConnection;

use super::user::Subject;

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

/// How long an account's verification may be in flight before its mark expires by itself (a crashed instance).
pub const IN_FLIGHT: Duration = Duration::seconds(10);

impl Policy {
    /// When a key with `failures` in the window that began at `window_start` may try again.
    fn blocked_until(self, failures: i32, window_start: NaiveDateTime, now: NaiveDateTime) -> Option<NaiveDateTime> {
        if failures >= self.max_failures {
            Some(window_start + WINDOW)
        } else if failures > self.free_failures {
            let doublings = (failures - self.free_failures - 1).min(30) as u32;
            let delay = (self.first_delay_secs << doublings).min(self.max_delay_secs);
            Some(now + Duration::seconds(delay))
        } else {
            None
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// One account: one verification in flight, cleared by a success.
    Account,
    /// One client address, shared by everyone behind it: a success is refunded.
    Address,
}

/// Logins longer than this are throttled by their hash (staff logins have at most 64 characters).
const MAX_PLAIN_LOGIN: usize = 128;

/// What an attempt is counted against.
#[derive(Clone, Debug)]
pub struct Key {
    name: String,
    scope: Scope,
}

impl Key {
    /// Sign-in and activation with this login (card number or staff login). A login no account could have (very
    /// long, or with control characters) is kept as its SHA-256, so that no client text reaches the table unchecked.
    pub fn account(login: &str) -> Key {
        let login = login.trim().to_lowercase();
        let name = if login.len() > MAX_PLAIN_LOGIN || login.chars().any(char::is_control) {
            format!("login-sha256:{}", super::secrets::sha256_hex(&login))
        } else {
            format!("login:{login}")
        };
        Key { name, scope: Scope::Account }
    }

    /// The current password given to change it.
    pub fn password_change(subject: Subject) -> Key {
        Key { name: format!("password:{subject}"), scope: Scope::Account }
    }

    pub fn address(address: &str) -> Key {
        Key { name: format!("ip:{address}"), scope: Scope::Address }
    }

    fn policy(&self) -> Policy {
        match self.scope {
            Scope::Account => ACCOUNT,
            Scope::Address => ADDRESS,
        }
    }
}

/// How an attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Failed,
    Succeeded,
}

type Row = (i32, NaiveDateTime, Option<NaiveDateTime>, Option<NaiveDateTime>);

/// The keys in one global order, so that two transactions never wait on each other's rows.
fn in_lock_order(keys: &[Key]) -> Vec<&Key> {
    let mut sorted: Vec<&Key> = keys.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    sorted
}

/// Locks the key's row, creating it if need be, and reads it. On PostgreSQL the no-op UPDATE takes the row lock
/// (a concurrent attempt waits here and then reads what this one wrote); on SQLite the write transaction already
/// holds the database's write lock.
fn lock(conn: &mut DbConnection, name: &str, now: NaiveDateTime) -> QueryResult<Row> {
    let touch =
        |conn: &mut DbConnection| diesel::update(lt::table.find(name)).set(lt::failures.eq(lt::failures)).execute(conn);
    if touch(conn)? == 0 {
        let row = (lt::throttle_key.eq(name), lt::failures.eq(0), lt::window_start.eq(now));
        let insert = diesel::insert_into(lt::table).values(row);
        // ON CONFLICT is one thing the connection enum cannot express: one statement per backend.
        match conn {
            DbConnection::Postgresql(pg) => insert.on_conflict_do_nothing().execute(pg)?,
            DbConnection::Sqlite(sqlite) => insert.on_conflict_do_nothing().execute(sqlite)?,
        };
        touch(conn)?;
    }
    lt::table
        .find(name)
        .select((lt::failures, lt::window_start, lt::blocked_until, lt::in_flight_until))
        .get_result(conn)
}

/// Whole seconds until `until`, rounded up, at least 1.
fn seconds_until(until: NaiveDateTime, now: NaiveDateTime) -> u64 {
    (until - now).num_milliseconds().div_euclid(1000).max(0) as u64 + 1
}

/// The wait a key's row imposes now, if any.
fn wait(key: &Key, (_, _, blocked_until, in_flight_until): &Row, now: NaiveDateTime) -> Option<u64> {
    let blocked = blocked_until.filter(|until| *until > now).map(|until| seconds_until(until, now));
    let busy = (key.scope == Scope::Account && in_flight_until.is_some_and(|until| until > now)).then_some(1);
    blocked.max(busy)
}

/// Counts the attempt against the key as a failure (a success is settled by [`finish`]) and sets the block the
/// next attempt will meet; an account's row is marked in flight.
fn count(conn: &mut DbConnection, key: &Key, row: &Row, now: NaiveDateTime) -> QueryResult<()> {
    let (failures, window_start, _, _) = *row;
    let (failures, window_start) = if now - window_start < WINDOW { (failures + 1, window_start) } else { (1, now) };
    let blocked_until = key.policy().blocked_until(failures, window_start, now);
    let in_flight_until = (key.scope == Scope::Account).then(|| now + IN_FLIGHT);
    diesel::update(lt::table.find(&key.name))
        .set((
            lt::failures.eq(failures),
            lt::window_start.eq(window_start),
            lt::blocked_until.eq(blocked_until),
            lt::in_flight_until.eq(in_flight_until),
        ))
        .execute(conn)?;
    Ok(())
}

/// Starts an attempt, before any password is hashed: in one transaction, refuses with the seconds to wait when a
/// key is blocked or its account has a verification in flight (nothing is counted then), and otherwise counts the
/// attempt against every key. Every `begin` that answers `None` must be followed by a [`finish`].
pub fn begin(conn: &mut DbConnection, keys: &[Key], now: NaiveDateTime) -> QueryResult<Option<u64>> {
    conn.write_transaction(|conn| {
        let mut rows = Vec::with_capacity(keys.len());
        for key in in_lock_order(keys) {
            rows.push((key, lock(conn, &key.name, now)?));
        }
        if let Some(wait) = rows.iter().filter_map(|(key, row)| wait(key, row, now)).max() {
            return Ok(Some(wait));
        }
        for (key, row) in &rows {
            count(conn, key, row, now)?;
        }
        Ok(None)
    })
}

/// Ends an attempt that [`begin`] let through: the account's verification is no longer in flight; a success clears
/// the account's failures and refunds the attempt to the address. Call inside a write transaction.
pub fn finish(conn: &mut DbConnection, keys: &[Key], outcome: Outcome) -> QueryResult<()> {
    for key in in_lock_order(keys) {
        let row = lt::table.find(&key.name);
        match (key.scope, outcome) {
            (Scope::Account, Outcome::Failed) => {
                diesel::update(row).set(lt::in_flight_until.eq(None::<NaiveDateTime>)).execute(conn)?;
            }
            (Scope::Account, Outcome::Succeeded) => {
                diesel::delete(row).execute(conn)?;
            }
            (Scope::Address, Outcome::Failed) => {}
            (Scope::Address, Outcome::Succeeded) => {
                diesel::update(row.filter(lt::failures.gt(0))).set(lt::failures.eq(lt::failures - 1)).execute(conn)?;
                diesel::update(row.filter(lt::failures.le(ADDRESS.free_failures)))
                    .set(lt::blocked_until.eq(None::<NaiveDateTime>))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_keys_fold_case_and_hash_what_no_login_looks_like() {
        assert_eq!(Key::account(" City.Admin ").name, "login:city.admin");
        assert!(Key::account("a\0b").name.starts_with("login-sha256:"));
        assert!(Key::account(&"x".repeat(10_000)).name.len() < 100);
    }
}
