//! Revoked access tokens, on every instance within seconds.
//!
//! Access tokens are verified without the database (see `tokens::VerifiedCache`), so what ends a session must
//! also reach each instance's memory. Whatever revokes a refresh family (sign-out, a reused refresh token, a
//! password change, a reset code, a member who left) writes a row to `revocations` in the same transaction:
//! a family id (its access tokens carry it as `sid`), or a subject whose tokens issued before `revoked_at` end
//! (written when all of an account's sessions end, for tokens without a session). Each instance holds the rows of
//! the last [`RETAIN`] in [`Revoked`], which `user::from_access_token` consults with one hash lookup under a
//! read lock that is written only when a row arrives. The instance that revokes reads the new rows at once
//! ([`catch_up`]); the others every [`EVERY`] ([`spawn`]). Rows older than an access token's lifetime revoke
//! nothing that could still be presented, and are pruned.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, RwLock};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::revocations as rv;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::state::AppState;

use super::tokens::{Claims, ACCESS_TOKEN_SECONDS};
use super::user::Subject;

/// How often each instance reads the rows other instances wrote.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// How long a revocation is kept: an access token's lifetime, and a margin for clocks and slow commits.
pub const RETAIN: Duration = Duration::seconds(ACCESS_TOKEN_SECONDS + 300);

/// How long a missing id is waited for. PostgreSQL hands out ids in order but transactions may commit out of
/// order, so an id skipped by a poll may still arrive; one skipped for this long was rolled back.
const GAP_WAIT: Duration = Duration::minutes(10);
/// Missing ids tracked at most (a rolled-back bulk revocation leaves a long run of them).
const MAX_GAPS: usize = 10_000;

/// Records that a refresh family ended. Call inside the transaction that revokes it.
pub fn record_family(conn: &mut DbConnection, family_id: &str, now: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(rv::table).values((rv::family_id.eq(family_id), rv::revoked_at.eq(now))).execute(conn)?;
    Ok(())
}

/// Records that every access token of `subject` issued before `now` ended. Call inside the revoking transaction.
pub fn record_subject(conn: &mut DbConnection, subject: Subject, now: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(rv::table).values((rv::subject.eq(subject), rv::revoked_at.eq(now))).execute(conn)?;
    Ok(())
}

#[derive(Default)]
struct Sets {
    /// Revoked refresh families, with when they were revoked.
    families: HashMap<String, NaiveDateTime>,
    /// Per subject, the second before which its access tokens were issued in vain.
    not_before: HashMap<String, i64>,
}

/// Which ids of `revocations` this instance has read.
#[derive(Default)]
struct Cursor {
    last_id: i64,
    /// Ids below `last_id` not seen yet, with when they were first missed.
    gaps: BTreeMap<i64, NaiveDateTime>,
}

impl Cursor {
    /// Rows above this id are read at the next poll.
    fn floor(&self) -> i64 {
        self.gaps.keys().next().map_or(self.last_id, |first| first - 1)
    }

    /// Takes note of the ids read (in ascending order): fills gaps, and opens new ones for ids skipped.
    fn advance(&mut self, ids: &[i64], now: NaiveDateTime) {
        for &id in ids {
            self.gaps.remove(&id);
            if id > self.last_id {
                for missing in (self.last_id + 1..id).take(MAX_GAPS.saturating_sub(self.gaps.len())) {
                    self.gaps.insert(missing, now);
                }
                self.last_id = id;
            }
        }
        self.gaps.retain(|_, since| now - *since < GAP_WAIT);
    }
}

/// The revocations this instance knows of.
#[derive(Default)]
pub struct Revoked {
    sets: RwLock<Sets>,
    cursor: Mutex<Cursor>,
}

type RevocationRow = (i64, Option<String>, Option<String>, NaiveDateTime);

impl Revoked {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a verified access token has been revoked since it was issued.
    pub fn is_revoked(&self, claims: &Claims) -> bool {
        let sets = self.sets.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        if sets.families.is_empty() && sets.not_before.is_empty() {
            return false;
        }
        claims.sid.as_ref().is_some_and(|sid| sets.families.contains_key(sid))
            || sets.not_before.get(&claims.sub).is_some_and(|not_before| claims.iat < *not_before)
    }

    fn apply(&self, rows: &[RevocationRow]) {
        if rows.is_empty() {
            return;
        }
        let mut sets = self.sets.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (_, subject, family_id, revoked_at) in rows {
            if let Some(family_id) = family_id {
                sets.families.insert(family_id.clone(), *revoked_at);
            }
            if let Some(subject) = subject {
                let not_before = sets.not_before.entry(subject.clone()).or_insert(i64::MIN);
                *not_before = (*not_before).max(revoked_at.and_utc().timestamp());
            }
        }
    }

    /// Forgets revocations older than [`RETAIN`]: every token they could refuse has expired.
    fn forget_old(&self, now: NaiveDateTime) {
        let oldest = now - RETAIN;
        let mut sets = self.sets.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        sets.families.retain(|_, revoked_at| *revoked_at >= oldest);
        let oldest = oldest.and_utc().timestamp();
        sets.not_before.retain(|_, not_before| *not_before >= oldest);
    }
}

/// Reads the rows written since the last poll, by any instance, into memory. Returns how many were read.
pub fn poll(conn: &mut DbConnection, revoked: &Revoked, now: NaiveDateTime) -> QueryResult<usize> {
    let mut cursor = revoked.cursor.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let rows: Vec<RevocationRow> = rv::table
        .filter(rv::id.gt(cursor.floor()))
        .order(rv::id)
        .select((rv::id, rv::subject, rv::family_id, rv::revoked_at))
        .load(conn)?;
    revoked.apply(&rows);
    let ids: Vec<i64> = rows.iter().map(|row| row.0).collect();
    cursor.advance(&ids, now);
    Ok(rows.len())
}

/// Deletes the rows older than [`RETAIN`], here and in memory.
pub fn prune(conn: &mut DbConnection, revoked: &Revoked, now: NaiveDateTime) -> QueryResult<usize> {
    revoked.forget_old(now);
    diesel::delete(rv::table.filter(rv::revoked_at.lt(now - RETAIN))).execute(conn)
}

/// Brings this instance's memory up to date after it revoked something, so that its own next request already
/// refuses the token. A failure is only logged: the revocation is committed, and the next poll learns it.
pub async fn catch_up(state: &AppState) {
    let revoked = std::sync::Arc::clone(&state.auth.revoked);
    if let Err(error) = state.db.run(move |conn| Ok(poll(conn, &revoked, crate::time::now())?)).await {
        tracing::warn!(%error, "could not read the revocations just written; the next poll will");
    }
}

/// Polls every [`EVERY`] and prunes about once a minute, for as long as the server runs.
pub fn spawn(state: actix_web::web::Data<AppState>) {
    actix_web::rt::spawn(async move {
        let mut ticks = actix_web::rt::time::interval(EVERY);
        let mut count: u32 = 0;
        loop {
            ticks.tick().await;
            count = count.wrapping_add(1);
            let prune_now = count.is_multiple_of(30);
            let revoked = std::sync::Arc::clone(&state.auth.revoked);
            let result = state
                .db
                .run(move |conn| {
                    let at = crate::time::now();
                    if prune_now {
                        prune(conn, &revoked, at)?;
                    }
                    Ok::<_, AppError>(poll(conn, &revoked, at)?)
                })
                .await;
            if let Err(error) = result {
                tracing::warn!(%error, "could not read revocations; retrying");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap().naive_utc()
    }

    #[test]
    fn skipped_ids_are_read_again_until_they_arrive_or_time_out() {
        let mut cursor = Cursor::default();
        cursor.advance(&[1, 2, 5], at(0));
        assert_eq!(cursor.floor(), 2, "3 and 4 may still commit");
        cursor.advance(&[3, 5, 6], at(1));
        assert_eq!(cursor.floor(), 3);
        cursor.advance(&[5, 6], at(601));
        assert_eq!(cursor.floor(), 6, "4 was rolled back");
    }

    #[test]
    fn families_and_subjects_revoke_what_they_name() {
        let revoked = Revoked::new();
        let claims = |sub: &str, sid: &str, iat: i64| Claims {
            sub: sub.into(),
            role: super::super::Role::Member,
            committee: Some("HK".into()),
            iss: String::new(),
            aud: String::new(),
            iat,
            exp: iat + 900,
            typ: "access".into(),
            sid: Some(sid.into()),
        };
        assert!(!revoked.is_revoked(&claims("member:1", "a", 0)));
        revoked.apply(&[(1, None, Some("a".into()), at(0)), (2, Some("member:2".into()), None, at(10))]);
        assert!(revoked.is_revoked(&claims("member:1", "a", 0)));
        assert!(!revoked.is_revoked(&claims("member:1", "b", 0)));
        let revoked_at = at(10).and_utc().timestamp();
        assert!(revoked.is_revoked(&claims("member:2", "c", revoked_at - 1)));
        assert!(!revoked.is_revoked(&claims("member:2", "c", revoked_at)), "issued after the revocation");
        revoked.forget_old(at(10) + RETAIN + Duration::seconds(1));
        assert!(!revoked.is_revoked(&claims("member:1", "a", 0)));
    }
}
