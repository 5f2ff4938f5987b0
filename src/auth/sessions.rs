//! Refresh tokens: opaque, stored as SHA-256, grouped in families (one per sign-in), rotated on every use by
//! one conditional UPDATE. Presenting a spent token revokes its whole family, the live token included.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::refresh_tokens as rt;
use crate::db::DbConnection;

use super::secrets::{random_token, sha256_hex};

#[derive(Clone, Copy, Debug)]
pub struct Lifetimes {
    /// A token unused this long expires.
    pub idle: Duration,
    /// A family expires this long after its sign-in, however active.
    pub absolute: Duration,
}

pub struct Issued {
    pub token: String,
    pub family_id: String,
}

pub enum Rotation {
    Rotated {
        subject: String,
        family_id: String,
        token: String,
    },
    /// Unknown, expired or revoked: nothing to do but refuse.
    Invalid,
    /// A spent token presented again: its family has been revoked.
    Reused,
}

/// family, subject, installation, family expiry, revocation.
type TokenRow = (String, String, Option<String>, NaiveDateTime, Option<NaiveDateTime>);

fn insert(
    conn: &mut DbConnection,
    family_id: &str,
    subject: &str,
    installation_id: Option<&str>,
    now: NaiveDateTime,
    idle_expires_at: NaiveDateTime,
    family_expires_at: NaiveDateTime,
) -> QueryResult<String> {
    let token = random_token();
    diesel::insert_into(rt::table)
        .values((
            rt::token_hash.eq(sha256_hex(&token)),
            rt::family_id.eq(family_id),
            rt::subject.eq(subject),
            rt::installation_id.eq(installation_id),
            rt::issued_at.eq(now),
            rt::idle_expires_at.eq(idle_expires_at),
            rt::family_expires_at.eq(family_expires_at),
        ))
        .execute(conn)?;
    Ok(token)
}

/// A new family, for a sign-in.
pub fn start_family(
    conn: &mut DbConnection,
    subject: &str,
    installation_id: Option<&str>,
    now: NaiveDateTime,
    lifetimes: Lifetimes,
) -> QueryResult<Issued> {
    let family_id = uuid::Uuid::new_v4().simple().to_string();
    let family_expires_at = now + lifetimes.absolute;
    let idle_expires_at = (now + lifetimes.idle).min(family_expires_at);
    let token = insert(conn, &family_id, subject, installation_id, now, idle_expires_at, family_expires_at)?;
    Ok(Issued { token, family_id })
}

/// Spends `presented` and issues its successor. Call inside a write transaction.
pub fn rotate(
    conn: &mut DbConnection,
    presented: &str,
    now: NaiveDateTime,
    lifetimes: Lifetimes,
) -> QueryResult<Rotation> {
    let hash = sha256_hex(presented);
    let spent = diesel::update(
        rt::table
            .filter(rt::token_hash.eq(&hash))
            .filter(rt::spent_at.is_null())
            .filter(rt::revoked_at.is_null())
            .filter(rt::idle_expires_at.gt(now))
            .filter(rt::family_expires_at.gt(now)),
    )
    .set(rt::spent_at.eq(now))
    .execute(conn)?;
    let row: Option<TokenRow> = rt::table
        .find(&hash)
        .select((rt::family_id, rt::subject, rt::installation_id, rt::family_expires_at, rt::revoked_at))
        .get_result(conn)
        .optional()?;
    let Some((family_id, subject, installation_id, family_expires_at, revoked_at)) = row else {
        return Ok(Rotation::Invalid);
    };
    if spent == 0 {
        // Spent before now, by someone: if the family still lives, that someone may be a thief.
        let was_spent = rt::table.find(&hash).select(rt::spent_at).get_result::<Option<NaiveDateTime>>(conn)?.is_some();
        if was_spent && revoked_at.is_none() {
            revoke_family(conn, &family_id, now)?;
            return Ok(Rotation::Reused);
        }
        return Ok(Rotation::Invalid);
    }
    let idle_expires_at = (now + lifetimes.idle).min(family_expires_at);
    let token =
        insert(conn, &family_id, &subject, installation_id.as_deref(), now, idle_expires_at, family_expires_at)?;
    Ok(Rotation::Rotated { subject, family_id, token })
}

pub fn revoke_family(conn: &mut DbConnection, family_id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(rt::table.filter(rt::family_id.eq(family_id)).filter(rt::revoked_at.is_null()))
        .set(rt::revoked_at.eq(now))
        .execute(conn)
}

/// The family a presented token belongs to, whatever its state.
pub fn family_of(conn: &mut DbConnection, presented: &str) -> QueryResult<Option<String>> {
    rt::table.find(sha256_hex(presented)).select(rt::family_id).get_result(conn).optional()
}

/// Revokes every family of an account but `keep` (the caller's own session, where there is one).
pub fn revoke_all(
    conn: &mut DbConnection,
    subject: &str,
    keep: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let query = rt::table.filter(rt::subject.eq(subject)).filter(rt::revoked_at.is_null());
    match keep {
        Some(family) => {
            diesel::update(query.filter(rt::family_id.ne(family))).set(rt::revoked_at.eq(now)).execute(conn)
        }
        None => diesel::update(query).set(rt::revoked_at.eq(now)).execute(conn),
    }
}
