//! Members: lookup, listing with filters and keyset paging, and the profile a signed-in caller sees.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::{AuthUser, Role, Subject};
use crate::db::schema::{committees, installations, members, staff};
use crate::db::text_enum::text_enum;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::paging::Page;
use crate::sync::installations::{list_for_subject, InstallationView};
use crate::text;

text_enum! {
    /// Where a member stands in the party's records; coverage counts `eligible` members only.
    pub enum MemberStatus {
        /// Counted by coverage.
        Eligible = "eligible",
        /// On the rolls, not counted (e.g. exempt for age or health).
        Exempt = "exempt",
        /// No longer a member: cannot sign in or sync, and its sessions end.
        Left = "left",
    }
}

#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = members)]
pub struct Member {
    pub id: i64,
    pub card_number: String,
    pub full_name: String,
    pub committee_code: String,
    pub unit: String,
    pub cell: String,
    pub status: MemberStatus,
    pub birth_date: Option<NaiveDate>,
    pub phone: Option<String>,
    pub activated_at: Option<NaiveDateTime>,
}

/// A member as staff see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub card_number: String,
    pub full_name: String,
    pub committee_code: String,
    pub unit: String,
    pub cell: String,
    pub status: MemberStatus,
    /// Has signed in at least once.
    pub activated: bool,
    /// Has at least one registered, not deleted installation.
    pub installed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub birth_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub phone: Option<String>,
}

impl MemberView {
    pub fn new(m: Member, installed: bool) -> Self {
        MemberView {
            activated: m.activated_at.is_some(),
            installed,
            card_number: m.card_number,
            full_name: m.full_name,
            committee_code: m.committee_code,
            unit: m.unit,
            cell: m.cell,
            status: m.status,
            birth_date: m.birth_date,
            phone: m.phone,
        }
    }
}

/// Whether the member of the current row has a registered, not deleted installation.
#[diesel::dsl::auto_type]
fn has_installation() -> _ {
    diesel::dsl::exists(
        installations::table
            .filter(installations::member_id.eq(members::id.nullable()))
            .filter(installations::deleted_at.is_null()),
    )
}

pub fn find(conn: &mut DbConnection, card_number: &str) -> QueryResult<Option<Member>> {
    members::table.filter(members::card_number.eq(card_number)).select(Member::as_select()).get_result(conn).optional()
}

/// The member with this card number if `user` manages its committee; none otherwise, as if it did not exist.
pub fn find_managed(conn: &mut DbConnection, user: &AuthUser, card_number: &str) -> QueryResult<Option<Member>> {
    Ok(find(conn, card_number)?.filter(|member| user.manages(&member.committee_code)))
}

/// A part of a committee: one unit, or one cell of a unit; neither is the whole committee.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Place {
    pub unit: Option<String>,
    pub cell: Option<String>,
}

/// The member with this card number and its registered installations, if `user` manages its committee: the
/// `GET /api/v1/admin/members/{card_number}` of the API and the console's member page.
pub fn find_with_installations(
    conn: &mut DbConnection,
    user: &AuthUser,
    card_number: &str,
) -> QueryResult<Option<(Member, Vec<InstallationView>)>> {
    let Some(member) = find_managed(conn, user, card_number)? else { return Ok(None) };
    let devices = list_for_subject(conn, Subject::Member(member.id))?;
    Ok(Some((member, devices)))
}

/// Eligible members of a committee (or of a part of it) who have never signed in, in the order slips are handed
/// out.
pub fn not_activated(conn: &mut DbConnection, committee_code: &str, place: &Place) -> QueryResult<Vec<Member>> {
    let mut query = members::table
        .filter(members::committee_code.eq(committee_code))
        .filter(members::status.eq(MemberStatus::Eligible))
        .filter(members::activated_at.is_null())
        .order((members::unit, members::cell, members::full_name, members::card_number))
        .select(Member::as_select())
        .into_boxed();
    if let Some(unit) = &place.unit {
        query = query.filter(members::unit.eq(unit.clone()));
    }
    if let Some(cell) = &place.cell {
        query = query.filter(members::cell.eq(cell.clone()));
    }
    query.load(conn)
}

#[derive(Debug, Default)]
pub struct ListFilter {
    pub committee: Option<String>,
    pub status: Option<MemberStatus>,
    pub installed: Option<bool>,
    /// Only members who have (true) or have not (false) signed in at least once.
    pub activated: Option<bool>,
    pub q: Option<String>,
}

/// Members the caller may see (an officer: its committee only), ordered by card number: the API's list and the
/// console's. Keyset paging on the card number, no count. Searching `q` reads every member in scope whose card
/// number comes after the page's start until the page is full (a LIKE on the folded name cannot use an index).
pub fn list(
    conn: &mut DbConnection,
    filter: &ListFilter,
    scope: Option<&str>,
    limit: i64,
    after: Option<&str>,
) -> QueryResult<Page<MemberView>> {
    let mut query =
        members::table.select((Member::as_select(), has_installation())).order(members::card_number).into_boxed();
    match filter.installed {
        Some(true) => query = query.filter(has_installation()),
        Some(false) => query = query.filter(diesel::dsl::not(has_installation())),
        None => {}
    }
    if let Some(scope) = scope {
        query = query.filter(members::committee_code.eq(scope.to_owned()));
    }
    if let Some(committee) = &filter.committee {
        query = query.filter(members::committee_code.eq(committee.clone()));
    }
    if let Some(status) = &filter.status {
        query = query.filter(members::status.eq(*status));
    }
    match filter.activated {
        Some(true) => query = query.filter(members::activated_at.is_not_null()),
        Some(false) => query = query.filter(members::activated_at.is_null()),
        None => {}
    }
    if let Some(q) = filter.q.as_deref().map(text::fold).filter(|q| !q.is_empty()) {
        let pattern = text::contains_pattern(&q);
        query = query.filter(
            members::search_name.like(pattern.clone()).escape('\\').or(members::card_number.like(pattern).escape('\\')),
        );
    }
    if let Some(after) = after {
        query = query.filter(members::card_number.gt(after.to_owned()));
    }
    let rows = query.limit(limit + 1).load::<(Member, bool)>(conn)?;
    let page = Page::from_rows(rows, limit, |(m, _)| m.card_number.clone());
    Ok(Page {
        items: page.items.into_iter().map(|(m, installed)| MemberView::new(m, installed)).collect(),
        next: page.next,
    })
}

/// The caller: members get every field, staff only `login`, `role` and (officers) `committee`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Profile {
    /// The card number (members) or the staff login.
    pub login: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub full_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub card_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub committee: Option<CommitteeName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub cell: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub status: Option<MemberStatus>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CommitteeName {
    pub code: String,
    pub name: String,
}

/// `GET /api/v1/me`.
pub fn profile(conn: &mut DbConnection, user: &AuthUser) -> Result<Profile, AppError> {
    match user.subject {
        Subject::Member(id) => {
            let (member, committee_name) = members::table
                .inner_join(committees::table)
                .filter(members::id.eq(id))
                .select((Member::as_select(), committees::name))
                .get_result::<(Member, String)>(conn)
                .optional()?
                .ok_or(AppError::Unauthorized)?;
            Ok(Profile {
                login: member.card_number.clone(),
                role: user.role,
                full_name: Some(member.full_name),
                card_number: Some(member.card_number),
                committee: Some(CommitteeName { code: member.committee_code, name: committee_name }),
                unit: Some(member.unit),
                cell: Some(member.cell),
                status: Some(member.status),
            })
        }
        Subject::Staff(id) => {
            let (login, committee_code) = staff::table
                .find(id)
                .select((staff::login, staff::committee_code))
                .get_result::<(String, Option<String>)>(conn)
                .optional()?
                .ok_or(AppError::Unauthorized)?;
            let committee = match committee_code {
                Some(code) => {
                    let name: String = committees::table.find(&code).select(committees::name).get_result(conn)?;
                    Some(CommitteeName { code, name })
                }
                None => None,
            };
            Ok(Profile {
                login,
                role: user.role,
                full_name: None,
                card_number: None,
                committee,
                unit: None,
                cell: None,
                status: None,
            })
        }
    }
}
