//! Meetings as stored: scheduling, editing, cancelling, recording attendance and members' answers, one write
//! transaction each. Every change of a meeting appends one row to the state log of each of its invitees, so their
//! devices fetch its current value at their next sync; the management actions write an audit entry.
//!
//! Lock order (see `invitees`): the invitees' member rows first, ascending, then the meeting row. A meeting's
//! invitees may change while it is edited (an import moves a member): the list is read again once the meeting row
//! is locked, and whoever joined meanwhile gets its log row too.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;

use crate::audit;
use crate::auth::AuthUser;
use crate::content::attachments::{self, AttachmentMeta};
use crate::content::documents::{present, AttachmentRef};
use crate::content::states::LiveState;
use crate::content::visibility::caller_may_see_attachment;
use crate::db::schema::{
    attachments as files, document_audience as aud, documents as d, meeting_documents as md, meeting_invitees as mi,
    meeting_materials as mm, meetings as m, members,
};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::org::members::MemberStatus;
use crate::sync::push::mutations::MutationProblem;
use crate::sync::push::state::{self, Entity};
use crate::text;
use crate::time::now;

use super::{find, get, invitees, manager_of, Attendance, Manager, MeetingRow, MeetingStatus, MeetingView, Rsvp};

pub const MAX_TITLE_CHARS: usize = 500;
pub const MAX_LOCATION_CHARS: usize = 500;
pub const MAX_AGENDA_CHARS: usize = 100_000;
pub const MAX_DOCUMENTS: usize = 50;
pub const MAX_MATERIALS: usize = 50;
/// At most this many attendance records in one request (a cell has a few dozen members).
pub const MAX_RECORDS: usize = 2_000;
/// A meeting starts at most this long ago (a meeting held before it was entered in the app) …
const PAST_DAYS: i64 = 366;
/// … and at most this far ahead.
const FUTURE_DAYS: i64 = 2 * 366;
/// A meeting lasts at most this long.
const LONGEST_HOURS: i64 = 24;

/// A new meeting of a cell.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMeeting {
    /// The cell's committee: an officer its own, a secretary its own cell's.
    pub committee_code: String,
    pub unit: String,
    pub cell: String,
    /// 1 to 500 characters.
    #[schema(min_length = 1)]
    pub title: String,
    /// From a year ago (a meeting entered after it was held) to two years ahead.
    pub starts_at: DateTime<Utc>,
    /// After `starts_at`, within 24 hours.
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    /// 1 to 500 characters.
    #[schema(min_length = 1)]
    pub location: String,
    /// Markdown, at most 100,000 characters.
    pub agenda: String,
    /// Published documents (ids) addressed to the cell's committee, to read beforehand; at most 50.
    #[serde(default)]
    pub documents: Vec<String>,
    /// Uploaded files (`POST /api/v1/meetings/attachments`) for this meeting only; at most 50.
    #[serde(default)]
    pub materials: Vec<AttachmentRef>,
}

/// A partial update: absent fields stay; `ends_at: null` clears it; `documents` and `materials` replace the lists.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingPatch {
    #[schema(min_length = 1)]
    pub title: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "present")]
    pub ends_at: Option<Option<DateTime<Utc>>>,
    #[schema(min_length = 1)]
    pub location: Option<String>,
    pub agenda: Option<String>,
    pub documents: Option<Vec<String>>,
    pub materials: Option<Vec<AttachmentRef>>,
}

/// Attendance recorded after the meeting started: each record replaces an earlier one of that card.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceInput {
    /// At most 2,000.
    pub records: Vec<AttendanceRecord>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendanceRecord {
    /// An invitee's card number.
    pub card_number: String,
    // Checked with the other records (422 naming the record), not by the JSON parser.
    #[schema(value_type = Attendance)]
    pub attendance: String,
}

/// The fields of a meeting, as sent.
struct Fields {
    title: String,
    starts_at: NaiveDateTime,
    ends_at: Option<NaiveDateTime>,
    location: String,
    agenda: String,
    documents: Vec<String>,
    materials: Vec<AttachmentRef>,
}

/// The fields, checked.
struct Valid {
    title: String,
    starts_at: NaiveDateTime,
    ends_at: Option<NaiveDateTime>,
    location: String,
    agenda: String,
    documents: Vec<String>,
    materials: Vec<AttachmentMeta>,
}

/// Checks every field at once for a meeting of `committee`; `changed_start`: whether `starts_at` is being set (an
/// edit that leaves it keeps a start that has drifted into the past).
fn validate(
    conn: &mut DbConnection,
    user: &AuthUser,
    manager: &Manager,
    committee: &str,
    fields: Fields,
    changed_start: bool,
    errors: &mut Vec<FieldError>,
) -> QueryResult<Valid> {
    let at = now();
    let title = text::clean(&fields.title);
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        errors.push(FieldError::new("title", format!("1 to {MAX_TITLE_CHARS} characters")));
    }
    let location = text::clean(&fields.location);
    if location.is_empty() || location.chars().count() > MAX_LOCATION_CHARS {
        errors.push(FieldError::new("location", format!("1 to {MAX_LOCATION_CHARS} characters")));
    }
    let agenda = text::nfc(&fields.agenda);
    if agenda.chars().count() > MAX_AGENDA_CHARS {
        errors.push(FieldError::new("agenda", format!("at most {MAX_AGENDA_CHARS} characters")));
    }
    if changed_start
        && (fields.starts_at < at - Duration::days(PAST_DAYS) || fields.starts_at > at + Duration::days(FUTURE_DAYS))
    {
        errors.push(FieldError::new("starts_at", "must be within a year ago and two years ahead"));
    }
    if let Some(ends_at) = fields.ends_at {
        if ends_at <= fields.starts_at || ends_at > fields.starts_at + Duration::hours(LONGEST_HOURS) {
            errors.push(FieldError::new("ends_at", format!("must be after starts_at, within {LONGEST_HOURS} hours")));
        }
    }

    let mut documents: Vec<String> = Vec::new();
    for id in fields.documents {
        let id = id.trim().to_owned();
        if !documents.contains(&id) {
            documents.push(id);
        }
    }
    if documents.len() > MAX_DOCUMENTS {
        errors.push(FieldError::new("documents", format!("at most {MAX_DOCUMENTS}")));
    } else if !documents.is_empty() {
        // Published now, and addressed to the cell's committee: what its members can read.
        let readable: HashSet<String> = d::table
            .filter(d::id.eq_any(&documents))
            .filter(d::live_state.eq(LiveState::Visible))
            .filter(d::live_audience_all.eq(true).or(diesel::dsl::exists(
                aud::table.filter(aud::document_id.eq(d::id)).filter(aud::committee_code.eq(committee)),
            )))
            .select(d::id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        for id in documents.iter().filter(|id| !readable.contains(*id)) {
            errors.push(FieldError::new(
                "documents",
                format!("no published document {id} that the cell's members may read"),
            ));
        }
    }

    let mut materials: Vec<AttachmentMeta> = Vec::new();
    if fields.materials.len() > MAX_MATERIALS {
        errors.push(FieldError::new("materials", format!("at most {MAX_MATERIALS}")));
    } else {
        let wanted: Vec<String> = fields.materials.iter().map(|r| r.sha256.to_lowercase()).collect();
        let stored = attachments::lookup(conn, &wanted)?;
        for reference in &fields.materials {
            let sha256 = reference.sha256.to_lowercase();
            let found = match stored.iter().find(|meta| meta.sha256 == sha256) {
                Some(meta) if may_name(conn, user, manager, &sha256)? => Some(meta),
                // One the caller may not see is answered as if it did not exist.
                _ => None,
            };
            let Some(meta) = found else {
                errors.push(FieldError::new("materials", format!("no uploaded attachment {}", reference.sha256)));
                continue;
            };
            let name = reference.name.as_deref().map(text::clean).filter(|n| !n.is_empty());
            let name = name.unwrap_or_else(|| meta.name.clone());
            if name.chars().count() > 255 || name.contains(['/', '\\']) || name.chars().any(char::is_control) {
                errors.push(FieldError::new("materials", "a name is a file name of at most 255 characters"));
            }
            if !materials.iter().any(|m| m.sha256 == sha256) {
                materials.push(AttachmentMeta { name, ..meta.clone() });
            }
        }
    }
    Ok(Valid { title, starts_at: fields.starts_at, ends_at: fields.ends_at, location, agenda, documents, materials })
}

/// Whether `user`, managing `manager`'s meetings, may name the stored attachment `sha256` as a meeting's material:
/// an admin any; others one they may see through a document, one they uploaded, or a material of a meeting they
/// manage.
fn may_name(conn: &mut DbConnection, user: &AuthUser, manager: &Manager, sha256: &str) -> QueryResult<bool> {
    if *manager == Manager::City || caller_may_see_attachment(conn, user, sha256)? {
        return Ok(true);
    }
    let uploader: String = files::table.find(sha256).select(files::created_by).get_result(conn)?;
    if uploader == user.subject.to_string() {
        return Ok(true);
    }
    let cells: Vec<(String, String, String)> = mm::table
        .inner_join(m::table)
        .filter(mm::sha256.eq(sha256))
        .select((m::committee_code, m::unit, m::cell))
        .load(conn)?;
    Ok(cells.iter().any(|(committee, unit, cell)| manager.covers(committee, unit, cell)))
}

/// Writes the meeting's documents and materials, replacing what it had.
fn write_lists(
    conn: &mut DbConnection,
    id: &str,
    documents: &[String],
    materials: &[AttachmentMeta],
) -> QueryResult<()> {
    diesel::delete(md::table.filter(md::meeting_id.eq(id))).execute(conn)?;
    diesel::delete(mm::table.filter(mm::meeting_id.eq(id))).execute(conn)?;
    for (ord, document) in documents.iter().enumerate() {
        diesel::insert_into(md::table)
            .values((md::meeting_id.eq(id), md::document_id.eq(document), md::ord.eq(ord as i32)))
            .execute(conn)?;
    }
    for (ord, material) in materials.iter().enumerate() {
        diesel::insert_into(mm::table)
            .values((
                mm::meeting_id.eq(id),
                mm::sha256.eq(&material.sha256),
                mm::name.eq(&material.name),
                mm::ord.eq(ord as i32),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The meeting `id` if `manager` manages it; else 404.
fn managed(conn: &mut DbConnection, manager: &Manager, id: &str) -> Result<MeetingRow, AppError> {
    find(conn, id)?.filter(|row| manager.covers(&row.committee_code, &row.unit, &row.cell)).ok_or(AppError::NotFound)
}

/// One log row of the meeting for each of its invitees (their member rows locked in ascending order).
fn tell_invitees(conn: &mut DbConnection, id: &str, told: &mut HashSet<i64>) -> QueryResult<()> {
    let changed: BTreeMap<i64, Vec<(Entity, String)>> = invitees::of_meeting(conn, id)?
        .into_iter()
        .filter(|member| told.insert(*member))
        .map(|member| (member, vec![(Entity::Meeting, id.to_owned())]))
        .collect();
    state::append_each(conn, &changed)
}

/// Schedules a meeting and invites the cell's members (status eligible or exempt).
pub fn create(conn: &mut DbConnection, user: &AuthUser, input: NewMeeting) -> Result<MeetingView, AppError> {
    conn.write_transaction(|conn| {
        conn.lock_key(invitees::INVITATIONS_LOCK)?;
        let manager = manager_of(conn, user)?;
        let mut errors = Vec::new();
        let committee = input.committee_code.trim().to_uppercase();
        let unit = text::clean(&input.unit);
        let cell = text::clean(&input.cell);
        if !manager.covers(&committee, &unit, &cell) {
            let (field, message) = match &manager {
                Manager::Cell { .. } => ("cell", "a secretary schedules the meetings of its own cell only"),
                _ => ("committee_code", "outside your committee"),
            };
            errors.push(FieldError::new(field, message));
        } else {
            let members_there: i64 = members::table
                .filter(members::committee_code.eq(&committee))
                .filter(members::unit.eq(&unit))
                .filter(members::cell.eq(&cell))
                .filter(members::status.ne(MemberStatus::Left))
                .count()
                .get_result(conn)?;
            if members_there == 0 {
                errors.push(FieldError::new("cell", "no member of the committee is in this unit and cell"));
            }
        }
        let fields = Fields {
            title: input.title,
            starts_at: input.starts_at.naive_utc(),
            ends_at: input.ends_at.map(|at| at.naive_utc()),
            location: input.location,
            agenda: input.agenda,
            documents: input.documents,
            materials: input.materials,
        };
        let valid = validate(conn, user, &manager, &committee, fields, true, &mut errors)?;
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let at = now();
        let row = MeetingRow {
            id: id.clone(),
            committee_code: committee,
            unit,
            cell,
            title: valid.title,
            starts_at: valid.starts_at,
            ends_at: valid.ends_at,
            location: valid.location,
            agenda: valid.agenda,
            status: MeetingStatus::Scheduled,
            created_by: user.subject.to_string(),
            created_at: at,
            updated_at: at,
            invited: 0,
            answered: 0,
            present: 0,
        };
        diesel::insert_into(m::table)
            .values((
                m::id.eq(&row.id),
                m::committee_code.eq(&row.committee_code),
                m::unit.eq(&row.unit),
                m::cell.eq(&row.cell),
                m::title.eq(&row.title),
                m::starts_at.eq(row.starts_at),
                m::ends_at.eq(row.ends_at),
                m::location.eq(&row.location),
                m::agenda.eq(&row.agenda),
                m::status.eq(row.status),
                m::created_by.eq(&row.created_by),
                m::created_at.eq(at),
                m::updated_at.eq(at),
            ))
            .execute(conn)?;
        write_lists(conn, &id, &valid.documents, &valid.materials)?;
        let invited = invitees::invite_cell(conn, &row, at)?;
        invitees::move_counters(conn, &id, invited.len() as i64, 0, 0)?;
        tell_invitees(conn, &id, &mut HashSet::new())?;
        audit::record(
            conn,
            user,
            "meeting.create",
            &id,
            Some(&row.committee_code),
            json!({"title": row.title, "unit": row.unit, "cell": row.cell, "starts_at": crate::time::rfc3339(row.starts_at), "invited": invited.len()}),
        )?;
        get(conn, &manager.into(), &id)
    })
}

/// Edits a scheduled meeting (a cancelled one: 409); its invitees' devices get the new value.
pub fn update(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
    patch: MeetingPatch,
) -> Result<MeetingView, AppError> {
    conn.write_transaction(|conn| {
        let manager = manager_of(conn, user)?;
        let row = managed(conn, &manager, id)?;
        if row.status == MeetingStatus::Cancelled {
            return Err(AppError::Conflict("the meeting is cancelled: schedule a new one".into()));
        }
        let documents = match patch.documents {
            Some(documents) => documents,
            None => md::table.filter(md::meeting_id.eq(id)).order(md::ord).select(md::document_id).load(conn)?,
        };
        let materials = match patch.materials {
            Some(materials) => materials,
            None => mm::table
                .filter(mm::meeting_id.eq(id))
                .order(mm::ord)
                .select((mm::sha256, mm::name))
                .load::<(String, String)>(conn)?
                .into_iter()
                .map(|(sha256, name)| AttachmentRef { sha256, name: Some(name) })
                .collect(),
        };
        let changed_start = patch.starts_at.is_some_and(|at| at.naive_utc() != row.starts_at);
        let fields = Fields {
            title: patch.title.unwrap_or(row.title.clone()),
            starts_at: patch.starts_at.map_or(row.starts_at, |at| at.naive_utc()),
            ends_at: match patch.ends_at {
                Some(ends_at) => ends_at.map(|at| at.naive_utc()),
                None => row.ends_at,
            },
            location: patch.location.unwrap_or(row.location.clone()),
            agenda: patch.agenda.unwrap_or(row.agenda.clone()),
            documents,
            materials,
        };
        let mut errors = Vec::new();
        let valid = validate(conn, user, &manager, &row.committee_code, fields, changed_start, &mut errors)?;
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let mut told = HashSet::new();
        tell_invitees(conn, id, &mut told)?;
        let at = now();
        let updated = diesel::update(m::table.find(id).filter(m::status.eq(MeetingStatus::Scheduled)))
            .set((
                m::title.eq(&valid.title),
                m::starts_at.eq(valid.starts_at),
                m::ends_at.eq(valid.ends_at),
                m::location.eq(&valid.location),
                m::agenda.eq(&valid.agenda),
                m::updated_at.eq(at),
            ))
            .execute(conn)?;
        if updated == 0 {
            return Err(AppError::Conflict("the meeting was cancelled meanwhile".into()));
        }
        // Whoever joined the invitees before the meeting row was locked.
        tell_invitees(conn, id, &mut told)?;
        write_lists(conn, id, &valid.documents, &valid.materials)?;
        audit::record(
            conn,
            user,
            "meeting.update",
            id,
            Some(&row.committee_code),
            json!({"title": valid.title, "starts_at": crate::time::rfc3339(valid.starts_at)}),
        )?;
        get(conn, &manager.into(), id)
    })
}

/// Cancels a meeting: its invitees' devices get it with `status: "cancelled"`. Cancelling a cancelled meeting
/// changes nothing (a repeated tap, a retried request).
pub fn cancel(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<MeetingView, AppError> {
    conn.write_transaction(|conn| {
        let manager = manager_of(conn, user)?;
        let row = managed(conn, &manager, id)?;
        if row.status == MeetingStatus::Scheduled {
            let mut told = HashSet::new();
            tell_invitees(conn, id, &mut told)?;
            let updated = diesel::update(m::table.find(id).filter(m::status.eq(MeetingStatus::Scheduled)))
                .set((m::status.eq(MeetingStatus::Cancelled), m::updated_at.eq(now())))
                .execute(conn)?;
            if updated > 0 {
                tell_invitees(conn, id, &mut told)?;
                audit::record(
                    conn,
                    user,
                    "meeting.cancel",
                    id,
                    Some(&row.committee_code),
                    json!({"title": row.title, "starts_at": crate::time::rfc3339(row.starts_at)}),
                )?;
            }
        }
        get(conn, &manager.into(), id)
    })
}

/// Records attendance after the meeting started: all records or none. 422 before `starts_at`, for a cancelled
/// meeting, and for a record whose card was not invited or whose value is unknown (naming the record).
pub fn record_attendance(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
    input: AttendanceInput,
) -> Result<MeetingView, AppError> {
    conn.write_transaction(|conn| {
        let manager = manager_of(conn, user)?;
        let row = managed(conn, &manager, id)?;
        let at = now();
        if row.status == MeetingStatus::Cancelled {
            return Err(AppError::validation("status", "the meeting is cancelled: no attendance to record"));
        }
        if at < row.starts_at {
            return Err(AppError::validation(
                "starts_at",
                format!("attendance is recorded once the meeting has started ({})", crate::time::rfc3339(row.starts_at)),
            ));
        }
        if input.records.len() > MAX_RECORDS {
            return Err(AppError::validation("records", format!("at most {MAX_RECORDS}")));
        }
        let invited: BTreeMap<String, i64> = mi::table
            .inner_join(members::table)
            .filter(mi::meeting_id.eq(id))
            .select((members::card_number, members::id))
            .load::<(String, i64)>(conn)?
            .into_iter()
            .collect();
        let mut errors = Vec::new();
        let mut records: BTreeMap<i64, Attendance> = BTreeMap::new();
        for (index, record) in input.records.iter().enumerate() {
            let card: String = record.card_number.chars().filter(|c| !c.is_whitespace()).collect();
            let member = invited.get(&card);
            if member.is_none() {
                errors.push(FieldError::new(
                    format!("records[{index}].card_number"),
                    format!("{card} was not invited to this meeting"),
                ));
            }
            let attendance = Attendance::parse(record.attendance.trim());
            if attendance.is_none() {
                errors.push(FieldError::new(
                    format!("records[{index}].attendance"),
                    format!("one of {}", Attendance::one_of()),
                ));
            }
            if let (Some(member), Some(attendance)) = (member, attendance) {
                // A card sent twice: the last record wins.
                records.insert(*member, attendance);
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        for (member, attendance) in &records {
            diesel::update(mi::table.find((id, *member)))
                .set((mi::attendance.eq(*attendance), mi::attendance_at.eq(at)))
                .execute(conn)?;
        }
        let present: i64 = mi::table
            .filter(mi::meeting_id.eq(id))
            .filter(mi::attendance.eq(Attendance::Present))
            .count()
            .get_result(conn)?;
        diesel::update(m::table.find(id)).set(m::present.eq(present)).execute(conn)?;
        let tally = |wanted: Attendance| records.values().filter(|a| **a == wanted).count();
        audit::record(
            conn,
            user,
            "meeting.attendance",
            id,
            Some(&row.committee_code),
            json!({"records": records.len(), "present": tally(Attendance::Present), "excused": tally(Attendance::Excused), "absent": tally(Attendance::Absent)}),
        )?;
        get(conn, &manager.into(), id)
    })
}

/// Whether a member's answer to meeting `meeting_id` may be applied: the member must be a current invitee of it
/// (else the meeting is not found) and it must not be cancelled (a conflict).
pub(crate) fn check_rsvp(
    conn: &mut DbConnection,
    member_id: i64,
    meeting_id: &str,
) -> QueryResult<Result<(), MutationProblem>> {
    let Some(row) = find(conn, meeting_id)? else { return Ok(Err(MutationProblem::not_found("meeting"))) };
    if !invitees::is_current(conn, member_id, &row)? {
        return Ok(Err(MutationProblem::not_found("meeting")));
    }
    if row.status == MeetingStatus::Cancelled {
        return Ok(Err(MutationProblem::conflict("the meeting is cancelled")));
    }
    Ok(Ok(()))
}

/// Applies a checked answer (`check_rsvp`) from a push, whose transaction holds the member row's lock: the last
/// answer wins, `answered` moves with the invitee's first one. Whether it changed anything.
pub(crate) fn set_rsvp(
    conn: &mut DbConnection,
    member_id: i64,
    meeting_id: &str,
    answer: Rsvp,
    reason: Option<&str>,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let reason = reason.filter(|r| !r.trim().is_empty());
    let before: (Option<Rsvp>, Option<String>) =
        mi::table.find((meeting_id, member_id)).select((mi::rsvp, mi::rsvp_reason)).get_result(conn)?;
    if before == (Some(answer), reason.map(str::to_owned)) {
        return Ok(false);
    }
    diesel::update(mi::table.find((meeting_id, member_id)))
        .set((mi::rsvp.eq(answer), mi::rsvp_reason.eq(reason), mi::rsvp_at.eq(at)))
        .execute(conn)?;
    if before.0.is_none() {
        invitees::move_counters(conn, meeting_id, 0, 1, 0)?;
    }
    Ok(true)
}
