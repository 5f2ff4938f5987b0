//! Accounts as sign-in sees them: members (by card number) and staff (by login), one shape for both.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{members, staff};
use crate::db::DbConnection;
use crate::org::members::MemberStatus;

use super::user::{Role, Subject};

pub struct Account {
    pub subject: Subject,
    pub role: Role,
    pub committee: Option<String>,
    /// What the account signs in with: the card number of a member, the login of a staff account.
    pub login: String,
    pub password_hash: Option<String>,
    /// Not `left`, not disabled: may sign in and refresh.
    pub active: bool,
}

/// Card numbers are digits only and staff logins start with a letter, so one field can name either.
pub fn is_card_number(login: &str) -> bool {
    !login.is_empty() && login.bytes().all(|b| b.is_ascii_digit())
}

pub fn normalize_staff_login(login: &str) -> String {
    login.trim().to_lowercase()
}

type MemberRow = (i64, String, String, MemberStatus, Option<String>);
type StaffRow = (i64, String, Role, Option<String>, String, bool);

fn member_account((id, card_number, committee, status, password_hash): MemberRow) -> Account {
    Account {
        subject: Subject::Member(id),
        role: Role::Member,
        committee: Some(committee),
        login: card_number,
        active: status != MemberStatus::Left && password_hash.is_some(),
        password_hash,
    }
}

fn staff_account((id, login, role, committee, password_hash, disabled): StaffRow) -> Account {
    Account {
        subject: Subject::Staff(id),
        role,
        committee,
        login,
        password_hash: Some(password_hash),
        active: !disabled,
    }
}

type MemberColumns =
    (members::id, members::card_number, members::committee_code, members::status, members::password_hash);
const MEMBER_COLUMNS: MemberColumns =
    (members::id, members::card_number, members::committee_code, members::status, members::password_hash);
type StaffColumns =
    (staff::id, staff::login, staff::role, staff::committee_code, staff::password_hash, staff::disabled);
const STAFF_COLUMNS: StaffColumns =
    (staff::id, staff::login, staff::role, staff::committee_code, staff::password_hash, staff::disabled);

pub fn find_by_login(conn: &mut DbConnection, login: &str) -> QueryResult<Option<Account>> {
    let login = login.trim();
    if is_card_number(login) {
        let row =
            members::table.filter(members::card_number.eq(login)).select(MEMBER_COLUMNS).get_result(conn).optional()?;
        Ok(row.map(member_account))
    } else {
        let login = normalize_staff_login(login);
        let row = staff::table.filter(staff::login.eq(login)).select(STAFF_COLUMNS).get_result(conn).optional()?;
        Ok(row.map(staff_account))
    }
}

pub fn find_by_subject(conn: &mut DbConnection, subject: Subject) -> QueryResult<Option<Account>> {
    match subject {
        Subject::Member(id) => {
            Ok(members::table.find(id).select(MEMBER_COLUMNS).get_result(conn).optional()?.map(member_account))
        }
        Subject::Staff(id) => {
            Ok(staff::table.find(id).select(STAFF_COLUMNS).get_result(conn).optional()?.map(staff_account))
        }
    }
}

pub fn set_password(conn: &mut DbConnection, subject: Subject, hash: &str, now: NaiveDateTime) -> QueryResult<()> {
    match subject {
        Subject::Member(id) => diesel::update(members::table.find(id))
            .set((members::password_hash.eq(hash), members::updated_at.eq(now)))
            .execute(conn)?,
        Subject::Staff(id) => diesel::update(staff::table.find(id))
            .set((staff::password_hash.eq(hash), staff::updated_at.eq(now)))
            .execute(conn)?,
    };
    Ok(())
}

/// Notes a password sign-in of a staff account (the staff page shows the last one); members' are not kept.
pub fn note_sign_in(conn: &mut DbConnection, subject: Subject, now: NaiveDateTime) -> QueryResult<()> {
    if let Subject::Staff(id) = subject {
        diesel::update(staff::table.find(id)).set(staff::last_sign_in_at.eq(now)).execute(conn)?;
    }
    Ok(())
}

/// Ends a member's password, for a reset: until the new code is redeemed, nothing signs in as them.
pub fn clear_member_password(conn: &mut DbConnection, member_id: i64, now: NaiveDateTime) -> QueryResult<()> {
    diesel::update(members::table.find(member_id).filter(members::password_hash.is_not_null()))
        .set((members::password_hash.eq(None::<String>), members::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}
