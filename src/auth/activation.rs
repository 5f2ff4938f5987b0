//! One-time activation codes: a member's first sign-in, or a password reset. Issued by officers and admins,
//! stored only as SHA-256, single-use, expiring; a new code replaces the member's previous one.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use crate::audit;
use crate::db::schema::{activation_codes as ac, members};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::org::members::{self as org_members, Member, MemberStatus, Place};
use crate::org::store as committees;

use super::secrets::{activation_code, activation_code_hash};
use super::user::{AuthUser, Subject};

/// The member a code belongs to, if the code is live and the member may sign in.
pub fn find_redeemable(
    conn: &mut DbConnection,
    card_number: &str,
    code_hash: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<i64>> {
    ac::table
        .inner_join(members::table)
        .filter(members::card_number.eq(card_number))
        .filter(members::status.ne(MemberStatus::Left))
        .filter(ac::code_hash.eq(code_hash))
        .filter(ac::expires_at.gt(now))
        .select(ac::member_id)
        .get_result(conn)
        .optional()
}

/// Spends the code; true for the one caller that did.
pub fn redeem(conn: &mut DbConnection, member_id: i64, code_hash: &str, now: NaiveDateTime) -> QueryResult<bool> {
    let deleted = diesel::delete(
        ac::table
            .filter(ac::member_id.eq(member_id))
            .filter(ac::code_hash.eq(code_hash))
            .filter(ac::expires_at.gt(now)),
    )
    .execute(conn)?;
    if deleted == 1 {
        crate::coverage::counters::track(conn, member_id, |conn| {
            diesel::update(members::table.find(member_id).filter(members::activated_at.is_null()))
                .set(members::activated_at.eq(now))
                .execute(conn)
        })?;
    }
    Ok(deleted == 1)
}

#[derive(Insertable)]
#[diesel(table_name = ac)]
struct NewCode {
    member_id: i64,
    code_hash: String,
    expires_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

/// Fresh codes for these members, replacing any they had. Returns the codes in the same order.
/// Call inside a write transaction.
pub fn issue(
    conn: &mut DbConnection,
    member_ids: &[i64],
    now: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    let mut codes = Vec::with_capacity(member_ids.len());
    for chunk in member_ids.chunks(5_000) {
        diesel::delete(ac::table.filter(ac::member_id.eq_any(chunk))).execute(conn)?;
        let mut rows = Vec::with_capacity(chunk.len());
        for &member_id in chunk {
            let code = activation_code();
            rows.push(NewCode { member_id, code_hash: activation_code_hash(&code), expires_at, created_at: now });
            codes.push(code);
        }
        // Batch inserts are the one thing the connection enum cannot express: one statement per backend.
        for batch in rows.chunks(1_000) {
            match conn {
                DbConnection::Postgresql(pg) => diesel::insert_into(ac::table).values(batch).execute(pg)?,
                DbConnection::Sqlite(sqlite) => diesel::insert_into(ac::table).values(batch).execute(sqlite)?,
            };
        }
    }
    Ok(codes)
}

/// A code just issued to one member; shown once, stored only as its hash.
#[derive(Debug)]
pub struct Issued {
    pub member: Member,
    pub code: String,
    pub expires_at: NaiveDateTime,
}

/// A new code for the member with this card number, if `user` manages its committee (else 404): the
/// `POST /api/v1/admin/members/{card_number}/activation-code` of the API and the console's button. It replaces
/// any earlier code and is a reset: the member's password and every session end now, not when it is redeemed.
/// A member who has left cannot sign in: 409. Afterwards call `revocations::catch_up`.
pub fn issue_for_member(
    conn: &mut DbConnection,
    user: &AuthUser,
    card_number: &str,
    ttl: Duration,
) -> Result<Issued, AppError> {
    user.require_staff()?;
    let member = org_members::find_managed(conn, user, card_number)?.ok_or(AppError::NotFound)?;
    if member.status == MemberStatus::Left {
        return Err(AppError::Conflict("this member has left and cannot sign in".into()));
    }
    let at = crate::time::now();
    let expires_at = at + ttl;
    let code = conn.write_transaction(|conn| {
        let codes = issue(conn, &[member.id], at, expires_at)?;
        super::store::clear_member_password(conn, member.id, at)?;
        super::sessions::revoke_all(conn, Subject::Member(member.id), None, at)?;
        let committee = Some(member.committee_code.as_str());
        audit::record(conn, user, "activation_code.issue", &member.card_number, committee, json!({}))?;
        Ok::<_, AppError>(codes.into_iter().next().expect("one code per member"))
    })?;
    Ok(Issued { member, code, expires_at })
}

/// Codes for a committee's slips: one member each with its new code, and when they all expire.
#[derive(Debug)]
pub struct Slips {
    pub members: Vec<(Member, String)>,
    pub expires_at: NaiveDateTime,
}

/// New codes for every eligible member of the committee `code` (of one unit, or one cell, when `place` says so)
/// who has not activated yet, replacing any earlier ones, if `user` manages the committee (else 404): the
/// `POST /api/v1/admin/committees/{code}/activation-codes` of the API (the whole committee) and the console's
/// printable slips. One audit entry, `activation_codes.issue`, with the count (and the place, if narrowed).
pub fn issue_for_committee(
    conn: &mut DbConnection,
    user: &AuthUser,
    code: &str,
    place: &Place,
    ttl: Duration,
) -> Result<Slips, AppError> {
    user.require_manager_of(code)?;
    committees::find_committee(conn, code)?.ok_or(AppError::NotFound)?;
    let at = crate::time::now();
    let expires_at = at + ttl;
    conn.write_transaction(|conn| {
        let pending = org_members::not_activated(conn, code, place)?;
        let ids: Vec<i64> = pending.iter().map(|m| m.id).collect();
        let codes = issue(conn, &ids, at, expires_at)?;
        let mut detail = json!({ "count": codes.len() });
        if let Some(unit) = &place.unit {
            detail["unit"] = json!(unit);
        }
        if let Some(cell) = &place.cell {
            detail["cell"] = json!(cell);
        }
        audit::record(conn, user, "activation_codes.issue", code, Some(code), detail)?;
        Ok(Slips { members: pending.into_iter().zip(codes).collect(), expires_at })
    })
}
