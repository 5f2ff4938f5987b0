//! Refresh tokens: opaque, stored as SHA-256, grouped in families (one per sign-in), rotated on every use by
//! one conditional UPDATE. Presenting a spent token revokes its whole family, the live token included, but for
//! a retry from the same installation within [`RETRY_WINDOW`] (a lost answer).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::refresh_tokens as rt;
use crate::db::DbConnection;

use super::revocations;
use super::secrets::{random_token, sha256_hex};
use super::user::Subject;

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
        subject: Subject,
        family_id: String,
        token: String,
    },
    /// Unknown, expired or revoked: nothing to do but refuse.
    Invalid,
    /// A spent token presented again: its family has been revoked.
    Reused,
}

fn insert(
    conn: &mut DbConnection,
    family_id: &str,
    subject: Subject,
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
    subject: Subject,
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

/// How long after a refresh token was spent the same installation may present it again and still get tokens:
/// the answer to the first use may have been lost on a bad connection.
pub const RETRY_WINDOW: Duration = Duration::seconds(30);

/// family, subject, installation, family expiry, spent, revocation, successor.
type TokenRow =
    (String, Subject, Option<String>, NaiveDateTime, Option<NaiveDateTime>, Option<NaiveDateTime>, Option<String>);

/// Spends `presented` and issues its successor. A token spent before is a reuse, which revokes its family, unless
/// it comes back from the installation it was issued to within [`RETRY_WINDOW`] while its successor is still
/// unused: then the successor (whose answer was lost) is spent in its place and a new one issued, so the family
/// keeps exactly one live token. `installation_id` is the one the caller names. Call inside a write transaction.
pub fn rotate(
    conn: &mut DbConnection,
    presented: &str,
    installation_id: Option<&str>,
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
        .select((
            rt::family_id,
            rt::subject,
            rt::installation_id,
            rt::family_expires_at,
            rt::spent_at,
            rt::revoked_at,
            rt::replaced_by,
        ))
        .get_result(conn)
        .optional()?;
    let Some((family_id, subject, bound_to, family_expires_at, spent_at, revoked_at, successor)) = row else {
        return Ok(Rotation::Invalid);
    };
    if spent == 1 {
        let token =
            successor_of(conn, &hash, &family_id, subject, bound_to.as_deref(), family_expires_at, now, lifetimes)?;
        return Ok(Rotation::Rotated { subject, family_id, token });
    }
    let (Some(spent_at), None) = (spent_at, revoked_at) else {
        return Ok(Rotation::Invalid);
    };
    // Spent before now, by someone: if the family still lives, that someone may be a thief.
    let retry = bound_to.is_some()
        && bound_to.as_deref() == installation_id
        && now - spent_at <= RETRY_WINDOW
        && family_expires_at > now;
    if let (true, Some(lost)) = (retry, successor) {
        // Only if the successor was never used: spending it here is the single winner of concurrent retries.
        let replaced = diesel::update(
            rt::table.filter(rt::token_hash.eq(&lost)).filter(rt::spent_at.is_null()).filter(rt::revoked_at.is_null()),
        )
        .set(rt::spent_at.eq(now))
        .execute(conn)?;
        if replaced == 1 {
            let token =
                successor_of(conn, &lost, &family_id, subject, bound_to.as_deref(), family_expires_at, now, lifetimes)?;
            let next = sha256_hex(&token);
            diesel::update(rt::table.find(&hash)).set(rt::replaced_by.eq(&next)).execute(conn)?;
            return Ok(Rotation::Rotated { subject, family_id, token });
        }
    }
    revoke_family(conn, &family_id, now)?;
    Ok(Rotation::Reused)
}

/// Issues the token that follows the spent `spent_hash` in its family, and notes it as its successor.
#[allow(clippy::too_many_arguments)]
fn successor_of(
    conn: &mut DbConnection,
    spent_hash: &str,
    family_id: &str,
    subject: Subject,
    installation_id: Option<&str>,
    family_expires_at: NaiveDateTime,
    now: NaiveDateTime,
    lifetimes: Lifetimes,
) -> QueryResult<String> {
    let idle_expires_at = (now + lifetimes.idle).min(family_expires_at);
    let token = insert(conn, family_id, subject, installation_id, now, idle_expires_at, family_expires_at)?;
    diesel::update(rt::table.find(spent_hash)).set(rt::replaced_by.eq(sha256_hex(&token))).execute(conn)?;
    Ok(token)
}

/// Revokes a family; its access tokens stop working on every instance (see `revocations`).
pub fn revoke_family(conn: &mut DbConnection, family_id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    let revoked = diesel::update(rt::table.filter(rt::family_id.eq(family_id)).filter(rt::revoked_at.is_null()))
        .set(rt::revoked_at.eq(now))
        .execute(conn)?;
    if revoked > 0 {
        revocations::record_family(conn, family_id, now)?;
    }
    Ok(revoked)
}

/// The family a presented token belongs to, whatever its state.
pub fn family_of(conn: &mut DbConnection, presented: &str) -> QueryResult<Option<String>> {
    rt::table.find(sha256_hex(presented)).select(rt::family_id).get_result(conn).optional()
}

/// Revokes every family of an account but `keep` (the caller's own session, where there is one), and with them
/// their access tokens on every instance; with no session kept, every access token of the account issued until now.
pub fn revoke_all(
    conn: &mut DbConnection,
    subject: Subject,
    keep: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    // Families whose last token went idle longer ago than an access token lives have no access token left.
    let recent = now - Duration::seconds(super::tokens::ACCESS_TOKEN_SECONDS);
    let live = rt::table.filter(rt::subject.eq(subject)).filter(rt::revoked_at.is_null());
    let mut families: Vec<String> =
        live.filter(rt::idle_expires_at.gt(recent)).select(rt::family_id).distinct().load(conn)?;
    families.retain(|family| Some(family.as_str()) != keep);
    let revoked = match keep {
        Some(family) => {
            diesel::update(live.filter(rt::family_id.ne(family))).set(rt::revoked_at.eq(now)).execute(conn)?
        }
        None => diesel::update(live).set(rt::revoked_at.eq(now)).execute(conn)?,
    };
    for family in &families {
        revocations::record_family(conn, family, now)?;
    }
    // An account without a live session has no access token to end (a member who never signed in, most of a
    // mass `left` import): no row for it.
    if keep.is_none() && !families.is_empty() {
        revocations::record_subject(conn, subject, now)?;
    }
    Ok(revoked)
}
