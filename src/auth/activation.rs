//! One-time activation codes: a member's first sign-in, or a password reset. Issued by officers and admins,
//! stored only as SHA-256, single-use, expiring; a new code replaces the member's previous one.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{activation_codes as ac, members};
use crate::db::DbConnection;
use crate::org::members::MemberStatus;

use super::secrets::{activation_code, activation_code_hash};

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
