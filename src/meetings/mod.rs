//! Cell meetings (sinh hoạt chi bộ): the cell's secretary or deputy (a member with a `position`), the committee's
//! officers and the city's admins schedule them; the cell's members are invited, get them through the sync feed,
//! answer through the push route (`rsvp.set`), and have their attendance recorded after the meeting starts.
//!
//! The parts: this file (the states, who manages what, the read functions the API and the console share), `store`
//! (create, edit, cancel, attendance, answers: one write transaction each), `invitees` (who is invited, and what a
//! member's move does to it), `routes` (HTTP in and out), `stats` (statistics per committee, unit and cell, from the
//! meetings rows' counters).
//!
//! Who manages a meeting is read from the database on every request ([`manager_of`]), never from the token: a
//! re-import that takes a secretary's position away takes the right away at its next request.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::{AuthUser, Role, Subject};
use crate::content::attachments::AttachmentMeta;
use crate::db::schema::{
    attachments, documents as d, meeting_documents as md, meeting_invitees as mi, meeting_materials as mm,
    meetings as m, members,
};
use crate::db::text_enum::text_enum;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::org::members::MemberStatus;
use crate::paging::{self, Page};

pub mod demo;
pub mod invitees;
pub mod routes;
pub mod stats;
pub mod store;

text_enum! {
    /// Where a meeting stands: scheduled (held once its time has come) or cancelled.
    pub enum MeetingStatus {
        Scheduled = "scheduled",
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// A member's position in its own cell (the member CSV's `position` column): it manages the cell's meetings.
    pub enum Position {
        Secretary = "secretary",
        DeputySecretary = "deputy_secretary",
    }
}

text_enum! {
    /// A member's answer to an invitation.
    pub enum Rsvp {
        Attend = "attend",
        Absent = "absent",
    }
}

text_enum! {
    /// What the secretary recorded after the meeting.
    pub enum Attendance {
        Present = "present",
        /// Absent with leave.
        Excused = "excused",
        Absent = "absent",
    }
}

/// The meetings a caller manages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Manager {
    /// An admin: every meeting.
    City,
    /// An officer: its committee's.
    Committee(String),
    /// A secretary or deputy secretary: its own cell's.
    Cell { committee: String, unit: String, cell: String },
}

impl Manager {
    /// Whether the meetings of this cell are the manager's.
    pub fn covers(&self, committee: &str, unit: &str, cell: &str) -> bool {
        match self {
            Manager::City => true,
            Manager::Committee(own) => own == committee,
            Manager::Cell { committee: c, unit: u, cell: e } => c == committee && u == unit && e == cell,
        }
    }

    /// The committee the manager is confined to; `None` for the city.
    pub fn committee(&self) -> Option<&str> {
        match self {
            Manager::City => None,
            Manager::Committee(code) | Manager::Cell { committee: code, .. } => Some(code),
        }
    }
}

/// Which meetings `user` manages, read from the database now: an admin the city, an officer its committee, a
/// member with a position (and not `left`) its own cell. A member without one: 403.
pub fn manager_of(conn: &mut DbConnection, user: &AuthUser) -> Result<Manager, AppError> {
    match (user.role, user.subject) {
        (Role::Admin, _) => Ok(Manager::City),
        (Role::Officer, _) => Ok(Manager::Committee(user.committee.clone().unwrap_or_default())),
        (Role::Member, Subject::Member(id)) => {
            let row: Option<(String, String, String, MemberStatus, Option<Position>)> = members::table
                .find(id)
                .select((members::committee_code, members::unit, members::cell, members::status, members::position))
                .get_result(conn)
                .optional()?;
            match row {
                Some((committee, unit, cell, status, Some(_))) if status != MemberStatus::Left => {
                    Ok(Manager::Cell { committee, unit, cell })
                }
                _ => Err(AppError::Forbidden),
            }
        }
        (Role::Member, Subject::Staff(_)) => Err(AppError::Forbidden),
    }
}

/// Who reads a meeting: the meetings it manages (if any), and the member (if a member) whose invitations count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewer {
    pub manager: Option<Manager>,
    pub member: Option<i64>,
}

impl Viewer {
    /// The caller as a reader of meetings, read from the database now.
    pub fn of(conn: &mut DbConnection, user: &AuthUser) -> Result<Viewer, AppError> {
        let manager = match manager_of(conn, user) {
            Ok(manager) => Some(manager),
            Err(AppError::Forbidden) => None,
            Err(other) => return Err(other),
        };
        let member = match user.subject {
            Subject::Member(id) => Some(id),
            Subject::Staff(_) => None,
        };
        Ok(Viewer { manager, member })
    }
}

impl From<Manager> for Viewer {
    fn from(manager: Manager) -> Viewer {
        Viewer { manager: Some(manager), member: None }
    }
}

/// A meeting as a device stores it: the same shape in the sync feed and in `GET /api/v1/meetings/{id}`'s base.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MeetingEntry {
    pub id: String,
    pub title: String,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: NaiveDateTime,
    #[serde(serialize_with = "crate::time::serialize_option")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub ends_at: Option<NaiveDateTime>,
    pub location: String,
    /// Markdown.
    pub agenda: String,
    /// Ids of the published documents to read beforehand, in order.
    pub documents: Vec<String>,
    /// Files for this meeting only: downloadable by its invitees and managers.
    pub materials: Vec<AttachmentMeta>,
    pub status: MeetingStatus,
}

/// A meeting deleted from a device (the member left the cell).
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MeetingKey {
    pub id: String,
}

/// A member's answer, as its devices store it.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RsvpEntry {
    pub meeting_id: String,
    pub answer: Rsvp,
    #[schema(required = true)]
    pub reason: Option<String>,
}

/// The stored row of a meeting.
#[derive(Clone, Debug, PartialEq, Queryable, Selectable)]
#[diesel(table_name = m)]
pub struct MeetingRow {
    pub id: String,
    pub committee_code: String,
    pub unit: String,
    pub cell: String,
    pub title: String,
    pub starts_at: NaiveDateTime,
    pub ends_at: Option<NaiveDateTime>,
    pub location: String,
    pub agenda: String,
    pub status: MeetingStatus,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub invited: i64,
    pub answered: i64,
    pub present: i64,
}

/// One meeting in a manager's list.
#[derive(Clone, Debug, PartialEq, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = m)]
pub struct MeetingSummary {
    pub id: String,
    pub committee_code: String,
    pub unit: String,
    pub cell: String,
    pub title: String,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: NaiveDateTime,
    #[serde(serialize_with = "crate::time::serialize_option")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub ends_at: Option<NaiveDateTime>,
    pub location: String,
    pub status: MeetingStatus,
    /// Members invited.
    pub invited: i64,
    /// Invitees who answered.
    pub answered: i64,
    /// Invitees recorded present.
    pub present: i64,
}

/// A document to read before the meeting.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MeetingDocument {
    pub id: String,
    pub title: String,
}

/// One invitee's answer (managers only); `answer` null: not answered.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct InviteeRsvp {
    pub card_number: String,
    pub full_name: String,
    #[schema(required = true)]
    pub answer: Option<Rsvp>,
    #[schema(required = true)]
    pub reason: Option<String>,
    #[serde(serialize_with = "crate::time::serialize_option")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub answered_at: Option<NaiveDateTime>,
}

/// One invitee's recorded attendance (managers only); null: not recorded.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct InviteeAttendance {
    pub card_number: String,
    pub full_name: String,
    #[schema(required = true)]
    pub attendance: Option<Attendance>,
}

/// One meeting, as its invitees and managers read it; managers also get `rsvps` and `attendance` (every invitee,
/// by name), an invitee its own `rsvp`.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MeetingView {
    pub id: String,
    pub committee_code: String,
    pub unit: String,
    pub cell: String,
    pub title: String,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: NaiveDateTime,
    #[serde(serialize_with = "crate::time::serialize_option")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub ends_at: Option<NaiveDateTime>,
    pub location: String,
    /// Markdown.
    pub agenda: String,
    pub status: MeetingStatus,
    /// Published documents to read beforehand, in order.
    pub documents: Vec<MeetingDocument>,
    /// Files for this meeting only.
    pub materials: Vec<AttachmentMeta>,
    pub invited: i64,
    pub answered: i64,
    pub present: i64,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: NaiveDateTime,
    /// Whether the caller manages this meeting (and so may edit, cancel and record attendance).
    pub managed: bool,
    /// Managers: every invitee's answer, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub rsvps: Option<Vec<InviteeRsvp>>,
    /// Managers: every invitee's recorded attendance, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub attendance: Option<Vec<InviteeAttendance>>,
    /// An invitee: its own answer, if it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub rsvp: Option<RsvpEntry>,
}

/// Which meetings a list holds (within the manager's scope): a committee, unit, cell, and `starts_at` in
/// [`from`, `to`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub committee: Option<String>,
    pub unit: Option<String>,
    pub cell: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub status: Option<MeetingStatus>,
}

/// One page of an offset-paged list: `limit` rows from `offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i64,
    pub offset: i64,
}

impl PageRequest {
    /// From `?limit=` and `?after=` (422 for values out of range or a cursor not issued here).
    pub fn from_query(limit: Option<i64>, after: Option<&str>) -> Result<PageRequest, AppError> {
        Ok(PageRequest { limit: paging::limit(limit)?, offset: paging::decode_offset(after)? })
    }
}

/// A time of a query (`from`, `to`): a date (`2026-11-01`: the start of that day in Hanoi) or an RFC 3339 time;
/// else 422 on `field`.
pub fn parse_instant(field: &str, text: &str) -> Result<NaiveDateTime, AppError> {
    let text = text.trim();
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(crate::time::start_of_hanoi_day(day));
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|at| at.naive_utc())
        .map_err(|_| AppError::validation(field, "a date (YYYY-MM-DD, Hanoi time) or an RFC 3339 time"))
}

/// The meetings `manager` manages that `filter` selects, latest start first, paged. A committee outside the
/// manager's scope: 404.
pub fn list(
    conn: &mut DbConnection,
    manager: &Manager,
    filter: &ListFilter,
    page: PageRequest,
) -> Result<Page<MeetingSummary>, AppError> {
    if let (Some(wanted), Some(own)) = (filter.committee.as_deref(), manager.committee()) {
        if wanted != own {
            return Err(AppError::NotFound);
        }
    }
    let mut query = m::table.select(MeetingSummary::as_select()).order((m::starts_at.desc(), m::id)).into_boxed();
    match manager {
        Manager::City => {}
        Manager::Committee(code) => query = query.filter(m::committee_code.eq(code.clone())),
        Manager::Cell { committee, unit, cell } => {
            query = query
                .filter(m::committee_code.eq(committee.clone()))
                .filter(m::unit.eq(unit.clone()))
                .filter(m::cell.eq(cell.clone()))
        }
    }
    if let Some(committee) = &filter.committee {
        query = query.filter(m::committee_code.eq(committee.clone()));
    }
    if let Some(unit) = &filter.unit {
        query = query.filter(m::unit.eq(unit.clone()));
    }
    if let Some(cell) = &filter.cell {
        query = query.filter(m::cell.eq(cell.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(m::starts_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(m::starts_at.lt(to));
    }
    if let Some(status) = filter.status {
        query = query.filter(m::status.eq(status));
    }
    let rows = query.limit(page.limit + 1).offset(page.offset).load(conn)?;
    Ok(Page::from_offset_rows(rows, page.limit, page.offset))
}

/// The meeting row, if there is one.
pub(crate) fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<MeetingRow>> {
    m::table.find(id).select(MeetingRow::as_select()).get_result(conn).optional()
}

/// The meeting `id` as `viewer` may read it: a manager of it gets the invitees' answers and attendance, a current
/// invitee ([`invitees::is_current`]) the meeting and its own answer; anyone else: 404.
pub fn get(conn: &mut DbConnection, viewer: &Viewer, id: &str) -> Result<MeetingView, AppError> {
    let row = find(conn, id)?.ok_or(AppError::NotFound)?;
    let managed =
        viewer.manager.as_ref().is_some_and(|manager| manager.covers(&row.committee_code, &row.unit, &row.cell));
    let invitee = match viewer.member {
        Some(member) if !managed => invitees::is_current(conn, member, &row)?,
        _ => false,
    };
    if !managed && !invitee {
        return Err(AppError::NotFound);
    }
    let documents = documents_of(conn, id)?;
    let materials = materials_of(conn, &[id])?.remove(id).unwrap_or_default();
    let (rsvps, attendance) = if managed {
        type Invitee = (String, String, Option<Rsvp>, Option<String>, Option<NaiveDateTime>, Option<Attendance>);
        let rows: Vec<Invitee> = mi::table
            .inner_join(members::table)
            .filter(mi::meeting_id.eq(id))
            .order(members::full_name)
            .then_order_by(members::card_number)
            .select((members::card_number, members::full_name, mi::rsvp, mi::rsvp_reason, mi::rsvp_at, mi::attendance))
            .load(conn)?;
        let rsvps = rows
            .iter()
            .map(|(card_number, full_name, answer, reason, answered_at, _)| InviteeRsvp {
                card_number: card_number.clone(),
                full_name: full_name.clone(),
                answer: *answer,
                reason: reason.clone(),
                answered_at: *answered_at,
            })
            .collect();
        let attendance = rows
            .into_iter()
            .map(|(card_number, full_name, _, _, _, attendance)| InviteeAttendance {
                card_number,
                full_name,
                attendance,
            })
            .collect();
        (Some(rsvps), Some(attendance))
    } else {
        (None, None)
    };
    let rsvp = match viewer.member {
        Some(member) if invitee => rsvps_of(conn, member, &[id])?.remove(id),
        _ => None,
    };
    Ok(MeetingView {
        id: row.id,
        committee_code: row.committee_code,
        unit: row.unit,
        cell: row.cell,
        title: row.title,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        location: row.location,
        agenda: row.agenda,
        status: row.status,
        documents,
        materials,
        invited: row.invited,
        answered: row.answered,
        present: row.present,
        created_at: row.created_at,
        updated_at: row.updated_at,
        managed,
        rsvps,
        attendance,
        rsvp,
    })
}

/// The documents of a meeting, in order, with the title members see (the draft's before a first publish).
fn documents_of(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<MeetingDocument>> {
    let rows: Vec<(String, Option<String>, String)> = md::table
        .inner_join(d::table.on(d::id.eq(md::document_id)))
        .filter(md::meeting_id.eq(id))
        .order(md::ord)
        .select((d::id, d::live_title, d::title))
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, live, draft)| MeetingDocument { id, title: live.unwrap_or(draft) }).collect())
}

/// The materials of each of `ids`, in order, under the names the meeting gives them.
fn materials_of(conn: &mut DbConnection, ids: &[&str]) -> QueryResult<HashMap<String, Vec<AttachmentMeta>>> {
    let rows: Vec<(String, String, String, i64, String)> = mm::table
        .inner_join(attachments::table.on(attachments::sha256.eq(mm::sha256)))
        .filter(mm::meeting_id.eq_any(ids))
        .order((mm::meeting_id, mm::ord))
        .select((mm::meeting_id, mm::sha256, mm::name, attachments::size, attachments::content_type))
        .load(conn)?;
    let mut by_meeting: HashMap<String, Vec<AttachmentMeta>> = HashMap::new();
    for (meeting, sha256, name, size, content_type) in rows {
        by_meeting.entry(meeting).or_default().push(AttachmentMeta { sha256, size, content_type, name });
    }
    Ok(by_meeting)
}

/// The member's answers to each of `ids` it answered.
pub(crate) fn rsvps_of(conn: &mut DbConnection, member: i64, ids: &[&str]) -> QueryResult<HashMap<String, RsvpEntry>> {
    let rows: Vec<(String, Option<Rsvp>, Option<String>)> = mi::table
        .filter(mi::member_id.eq(member))
        .filter(mi::meeting_id.eq_any(ids))
        .filter(mi::rsvp.is_not_null())
        .select((mi::meeting_id, mi::rsvp, mi::rsvp_reason))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(meeting_id, answer, reason)| {
            answer.map(|answer| (meeting_id.clone(), RsvpEntry { meeting_id, answer, reason }))
        })
        .collect())
}

/// The entries (the devices' shape) of each of `ids` that exists: three queries whatever their number.
pub(crate) fn entries(
    conn: &mut DbConnection,
    ids: &[&str],
) -> QueryResult<HashMap<String, (MeetingRow, MeetingEntry)>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<MeetingRow> = m::table.filter(m::id.eq_any(ids)).select(MeetingRow::as_select()).load(conn)?;
    let documents: Vec<(String, String)> = md::table
        .filter(md::meeting_id.eq_any(ids))
        .order((md::meeting_id, md::ord))
        .select((md::meeting_id, md::document_id))
        .load(conn)?;
    let mut materials = materials_of(conn, ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let entry = MeetingEntry {
                id: row.id.clone(),
                title: row.title.clone(),
                starts_at: row.starts_at,
                ends_at: row.ends_at,
                location: row.location.clone(),
                agenda: row.agenda.clone(),
                documents: documents.iter().filter(|(m, _)| *m == row.id).map(|(_, d)| d.clone()).collect(),
                materials: materials.remove(&row.id).unwrap_or_default(),
                status: row.status,
            };
            (row.id.clone(), (row, entry))
        })
        .collect())
}

/// Whether `user` may download the attachment `sha256` as a meeting's material: it manages, or is a current invitee
/// of, a meeting that has it among its materials.
pub fn may_download_material(conn: &mut DbConnection, user: &AuthUser, sha256: &str) -> Result<bool, AppError> {
    let ids: Vec<String> = mm::table.filter(mm::sha256.eq(sha256)).select(mm::meeting_id).load(conn)?;
    if ids.is_empty() {
        return Ok(false);
    }
    let viewer = Viewer::of(conn, user)?;
    let rows: Vec<MeetingRow> = m::table.filter(m::id.eq_any(&ids)).select(MeetingRow::as_select()).load(conn)?;
    for row in &rows {
        if viewer.manager.as_ref().is_some_and(|manager| manager.covers(&row.committee_code, &row.unit, &row.cell)) {
            return Ok(true);
        }
        if let Some(member) = viewer.member {
            if invitees::is_current(conn, member, row)? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

pub use store::{cancel, create, record_attendance, update};
