//! The demo data set's cell meetings: the two months before this one, this month and the next (Hanoi months). In
//! each month most cells (85–95% by committee) hold their monthly meeting, on a working day of the first three
//! weeks, with a document of the handbook to read beforehand; about 2% are cancelled. A meeting exists once its
//! secretary scheduled it (7 to 14 days ahead, never after now), so next month's meetings are the ones already
//! scheduled. Invitees are the cell's eligible and exempt members; most answer (fewer for meetings still ahead);
//! attendance is recorded for meetings that took place (80–90% present by committee; the last two days' meetings
//! not all recorded yet). Counters on each meetings row agree with its invitees, and each invitee's state log gets
//! the meeting (and its answer), with `members.state_seq` moved, so a device syncing from scratch receives them.
//! Deterministic for a seed (up to `now`). Loaded only into a database without meetings.

use std::collections::HashMap;

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, Weekday};
use diesel::prelude::*;

use super::{Attendance, MeetingStatus, Position, Rsvp};
use crate::content::states::LiveState;
use crate::db::schema::{
    documents as d, meeting_documents as md, meeting_invitees as mi, meetings as m, member_state_log as log, members,
};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::org::demo::Random;
use crate::org::members::MemberStatus;
use crate::sync::push::state::Entity;
use crate::time::{in_hanoi, start_of_hanoi_day};

/// What the demo's meetings amount to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DemoMeetings {
    pub meetings: u64,
    /// Of those, held (not cancelled, started by now).
    pub held: u64,
    pub cancelled: u64,
    pub invitees: u64,
    /// State log rows written (meetings and answers).
    pub log_rows: u64,
}

/// Demo meeting ids: this prefix and a number, 32 hex digits like the ids the service makes.
const ID_PREFIX: &str = "de3e";

#[derive(Insertable)]
#[diesel(table_name = m)]
struct NewMeeting {
    id: String,
    committee_code: String,
    unit: String,
    cell: String,
    title: String,
    starts_at: NaiveDateTime,
    ends_at: Option<NaiveDateTime>,
    location: String,
    agenda: String,
    status: MeetingStatus,
    created_by: String,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    invited: i64,
    answered: i64,
    present: i64,
}

#[derive(Insertable)]
#[diesel(table_name = mi)]
struct NewInvitee {
    meeting_id: String,
    member_id: i64,
    invited_at: NaiveDateTime,
    rsvp: Option<Rsvp>,
    rsvp_reason: Option<&'static str>,
    rsvp_at: Option<NaiveDateTime>,
    attendance: Option<Attendance>,
    attendance_at: Option<NaiveDateTime>,
}

#[derive(Insertable)]
#[diesel(table_name = md)]
struct NewDocument {
    meeting_id: String,
    document_id: String,
    ord: i32,
}

#[derive(Insertable)]
#[diesel(table_name = log)]
struct NewLogRow {
    member_id: i64,
    seq: i64,
    entity: Entity,
    key: String,
}

/// Rows per multi-row INSERT, by the columns of each table: within SQLite's 32,766 parameters.
const MEETING_BATCH: usize = 2_000;
const INVITEE_BATCH: usize = 4_000;
const LOG_BATCH: usize = 8_000;

/// One multi-row INSERT per backend (the connection enum cannot batch).
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr, $batch:expr) => {
        for chunk in $rows.chunks($batch) {
            match &mut *$conn {
                DbConnection::Postgresql(pg) => diesel::insert_into($table).values(chunk).execute(pg)?,
                DbConnection::Sqlite(sqlite) => diesel::insert_into($table).values(chunk).execute(sqlite)?,
            };
        }
        $rows.clear();
    };
}

/// Rows waiting to be written, flushed in the order the foreign keys need.
#[derive(Default)]
struct Pending {
    meetings: Vec<NewMeeting>,
    documents: Vec<NewDocument>,
    invitees: Vec<NewInvitee>,
    log: Vec<NewLogRow>,
}

impl Pending {
    fn flush(&mut self, conn: &mut DbConnection) -> QueryResult<()> {
        insert_rows!(conn, m::table, self.meetings, MEETING_BATCH);
        insert_rows!(conn, md::table, self.documents, INVITEE_BATCH);
        insert_rows!(conn, mi::table, self.invitees, INVITEE_BATCH);
        insert_rows!(conn, log::table, self.log, LOG_BATCH);
        Ok(())
    }
}

const LOCATIONS: [&str; 4] =
    ["Hội trường UBND phường", "Nhà văn hóa tổ dân phố", "Phòng họp cơ quan", "Hội trường Đảng ủy"];
const TIMES: [(u32, u32); 3] = [(8, 0), (14, 0), (19, 30)];
const REASONS: [&str; 4] = ["Đi công tác", "Ốm, xin phép vắng", "Việc gia đình", "Trùng lịch trực cơ quan"];

fn unit_interval(random: &mut Random) -> f64 {
    random.below(1 << 30) as f64 / f64::from(1u32 << 30)
}

/// A time between `from` and `to` (`from` when `to` is not after it).
fn between(random: &mut Random, from: NaiveDateTime, to: NaiveDateTime) -> NaiveDateTime {
    let span = (to - from).num_seconds();
    if span <= 0 {
        from
    } else {
        from + Duration::seconds(random.below(span as u64) as i64)
    }
}

fn agenda(month: NaiveDate) -> String {
    format!(
        "## Sinh hoạt chi bộ định kỳ tháng {}/{}\n\n\
         1. Thông tin thời sự, quán triệt nghị quyết, văn bản mới của cấp trên.\n\
         2. Đánh giá kết quả thực hiện nhiệm vụ tháng trước.\n\
         3. Triển khai nhiệm vụ trọng tâm tháng {}.\n\
         4. Đảng viên phát biểu ý kiến; chi bộ thống nhất nghị quyết.\n",
        month.month(),
        month.year(),
        month.month()
    )
}

/// A member of a cell, as the demo needs it.
struct Invitee {
    id: i64,
    status: MemberStatus,
    position: Option<Position>,
}

/// Loads the demo meetings (after the members, the handbook and the staff). Nothing when there are meetings already.
pub fn load(conn: &mut DbConnection, seed: u64, now: NaiveDateTime) -> Result<DemoMeetings, AppError> {
    let existing: i64 = m::table.count().get_result(conn)?;
    if existing > 0 {
        return Ok(DemoMeetings::default());
    }
    let started = std::time::Instant::now();
    let mut random = Random::new(seed ^ 0x5e55_1017);
    type MemberRow = (i64, String, String, String, MemberStatus, Option<Position>, i64);
    let rows: Vec<MemberRow> = members::table
        .filter(members::status.ne(MemberStatus::Left))
        .select((
            members::id,
            members::committee_code,
            members::unit,
            members::cell,
            members::status,
            members::position,
            members::state_seq,
        ))
        .order(members::id)
        .load(conn)?;
    let mut seq: HashMap<i64, i64> = HashMap::with_capacity(rows.len());
    let mut by_cell: HashMap<(String, String, String), Vec<Invitee>> = HashMap::new();
    for (id, committee, unit, cell, status, position, state_seq) in rows {
        seq.insert(id, state_seq);
        by_cell.entry((committee, unit, cell)).or_default().push(Invitee { id, status, position });
    }
    let mut cells: Vec<((String, String, String), Vec<Invitee>)> = by_cell.into_iter().collect();
    cells.sort_by(|a, b| a.0.cmp(&b.0));
    // Officers schedule for cells without a secretary.
    let officers: HashMap<String, i64> = crate::org::demo::staff_accounts(conn)?
        .into_iter()
        .filter_map(|(_, id, committee)| committee.map(|code| (code, id)))
        .collect();
    // The city-wide documents members can read, by publication time: a meeting asks to read the newest one.
    let documents: Vec<(String, NaiveDateTime)> = d::table
        .filter(d::live_state.eq(LiveState::Visible))
        .filter(d::live_audience_all.eq(true))
        .filter(d::live_published_at.is_not_null())
        .select((d::id, d::live_published_at.assume_not_null()))
        .order((d::live_published_at, d::id))
        .load(conn)?;
    // Per committee: the share of cells that meet, that answer, that attend.
    let mut committees: HashMap<String, (f64, f64, f64)> = HashMap::new();
    for ((code, _, _), _) in &cells {
        if !committees.contains_key(code) {
            let (a, b, c) = (unit_interval(&mut random), unit_interval(&mut random), unit_interval(&mut random));
            committees.insert(code.clone(), (0.85 + 0.10 * a, 0.80 + 0.15 * b, 0.80 + 0.10 * c));
        }
    }
    let this_month = in_hanoi(now).date().with_day(1).expect("a first day");
    let months: Vec<NaiveDate> = [
        this_month.checked_sub_months(Months::new(2)),
        this_month.checked_sub_months(Months::new(1)),
        Some(this_month),
        this_month.checked_add_months(Months::new(1)),
    ]
    .into_iter()
    .flatten()
    .collect();
    tracing::debug!(ms = started.elapsed().as_millis() as u64, cells = cells.len(), "demo: meetings drawn");

    let mut loaded = DemoMeetings::default();
    // Per member, what its log gets: (index in `meeting_ids`, entity), in the order of the meetings.
    let mut events: HashMap<i64, Vec<(u32, Entity)>> = HashMap::with_capacity(seq.len());
    let mut meeting_ids: Vec<String> = Vec::new();
    conn.write_transaction(|conn| -> Result<(), AppError> {
        let mut pending = Pending::default();
        let mut number: u64 = 0;
        for month in &months {
            for ((committee, unit, cell), members) in &cells {
                let (meets, answers, attends) = committees[committee];
                if unit_interval(&mut random) >= meets {
                    continue;
                }
                // A working day of the first three weeks, at a usual hour, in Hanoi.
                let mut day = *month + Duration::days(random.below(21) as i64);
                while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
                    day += Duration::days(1);
                }
                let (hour, minute) = TIMES[random.below(TIMES.len() as u64) as usize];
                let starts_at = start_of_hanoi_day(day)
                    + (NaiveTime::from_hms_opt(hour, minute, 0).expect("a time") - NaiveTime::MIN);
                let created_at = starts_at
                    - Duration::days(7 + random.below(8) as i64)
                    - Duration::minutes(random.below(600) as i64);
                if created_at > now {
                    continue; // not scheduled yet
                }
                let cancelled = random.below(100) < 2;
                let held = !cancelled && starts_at <= now;
                let updated_at =
                    if cancelled { between(&mut random, created_at, starts_at.min(now)) } else { created_at };
                // The meeting's answers come until it starts, or until now, or until it was cancelled.
                let answers_until = if cancelled { updated_at } else { starts_at.min(now) };
                let answer_share = if starts_at <= now {
                    answers
                } else {
                    let elapsed = (now - created_at).num_seconds() as f64;
                    answers * (elapsed / (starts_at - created_at).num_seconds().max(1) as f64).clamp(0.0, 1.0)
                };
                // The last two days' meetings are not all recorded yet.
                let ends_at = starts_at + Duration::minutes(150);
                let recorded = held && ends_at <= now && (starts_at < now - Duration::days(2) || random.below(2) == 0);
                number += 1;
                let id = format!("{ID_PREFIX}{number:028x}");
                let secretary = members.iter().find(|m| m.position == Some(Position::Secretary));
                let created_by = match (secretary, officers.get(committee)) {
                    (Some(secretary), _) => format!("member:{}", secretary.id),
                    (None, Some(officer)) => format!("staff:{officer}"),
                    (None, None) => "staff:1".to_owned(),
                };
                let (mut invited, mut answered, mut present) = (0i64, 0i64, 0i64);
                for member in members {
                    if !matches!(member.status, MemberStatus::Eligible | MemberStatus::Exempt) {
                        continue;
                    }
                    invited += 1;
                    let rsvp = (unit_interval(&mut random) < answer_share).then(|| {
                        if random.below(100) < 92 {
                            Rsvp::Attend
                        } else {
                            Rsvp::Absent
                        }
                    });
                    let reason =
                        (rsvp == Some(Rsvp::Absent)).then(|| REASONS[random.below(REASONS.len() as u64) as usize]);
                    let rsvp_at = rsvp.map(|_| between(&mut random, created_at, answers_until));
                    let attendance = recorded.then(|| {
                        let p = if rsvp == Some(Rsvp::Absent) { 0.05 } else { (attends + 0.04).min(0.98) };
                        if unit_interval(&mut random) < p {
                            Attendance::Present
                        } else if rsvp == Some(Rsvp::Absent) || random.below(2) == 0 {
                            Attendance::Excused
                        } else {
                            Attendance::Absent
                        }
                    });
                    answered += i64::from(rsvp.is_some());
                    present += i64::from(attendance == Some(Attendance::Present));
                    pending.invitees.push(NewInvitee {
                        meeting_id: id.clone(),
                        member_id: member.id,
                        invited_at: created_at,
                        rsvp,
                        rsvp_reason: reason,
                        rsvp_at,
                        attendance,
                        attendance_at: attendance.map(|_| ends_at),
                    });
                    // The member's log, written member by member at the end: the meeting, then its answer.
                    let logged = events.entry(member.id).or_default();
                    logged.push((meeting_ids.len() as u32, Entity::Meeting));
                    if rsvp.is_some() {
                        logged.push((meeting_ids.len() as u32, Entity::Rsvp));
                    }
                }
                let reading = documents.partition_point(|(_, published)| *published <= created_at);
                if let Some((document, _)) = reading.checked_sub(1).map(|i| &documents[i]) {
                    pending.documents.push(NewDocument {
                        meeting_id: id.clone(),
                        document_id: document.clone(),
                        ord: 0,
                    });
                }
                meeting_ids.push(id.clone());
                pending.meetings.push(NewMeeting {
                    id,
                    committee_code: committee.clone(),
                    unit: unit.clone(),
                    cell: cell.clone(),
                    title: format!("Sinh hoạt chi bộ định kỳ tháng {}/{}", month.month(), month.year()),
                    starts_at,
                    ends_at: Some(ends_at),
                    location: format!("{}, {unit}", LOCATIONS[random.below(LOCATIONS.len() as u64) as usize]),
                    agenda: agenda(*month),
                    status: if cancelled { MeetingStatus::Cancelled } else { MeetingStatus::Scheduled },
                    created_by,
                    created_at,
                    updated_at,
                    invited,
                    answered,
                    present,
                });
                loaded.meetings += 1;
                loaded.held += u64::from(held);
                loaded.cancelled += u64::from(cancelled);
                loaded.invitees += invited as u64;
                if pending.invitees.len() >= INVITEE_BATCH * 4 {
                    pending.flush(conn)?;
                }
            }
        }
        pending.flush(conn)?;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "demo: meetings and invitees inserted");
        // The state log member by member, in the order of its primary key (appended rather than scattered over
        // the indexes), each member's rows after its current state_seq.
        let mut logs: Vec<(i64, Vec<(u32, Entity)>)> = std::mem::take(&mut events).into_iter().collect();
        logs.sort_unstable_by_key(|(id, _)| *id);
        for (member_id, logged) in logs {
            let first = seq.get(&member_id).copied().unwrap_or(0);
            for ((meeting, entity), at) in logged.into_iter().zip(first + 1..) {
                pending.log.push(NewLogRow { member_id, seq: at, entity, key: meeting_ids[meeting as usize].clone() });
            }
            if pending.log.len() >= LOG_BATCH * 4 {
                loaded.log_rows += pending.log.len() as u64;
                pending.flush(conn)?;
            }
        }
        loaded.log_rows += pending.log.len() as u64;
        pending.flush(conn)?;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "demo: state log inserted");
        set_state_seqs(conn)?;
        Ok(())
    })?;
    if let DbConnection::Postgresql(pg) = conn {
        diesel::sql_query("ANALYZE meetings, meeting_invitees, member_state_log").execute(pg)?;
    }
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "demo: meetings loaded");
    Ok(loaded)
}

/// Moves `members.state_seq` of every member with new log rows to its newest row: one statement on both backends
/// (a lookup of the log's primary key per member), rather than one UPDATE per member.
fn set_state_seqs(conn: &mut DbConnection) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE members SET state_seq = (SELECT MAX(l.seq) FROM member_state_log l WHERE l.member_id = members.id) \
         WHERE state_seq < (SELECT MAX(l.seq) FROM member_state_log l WHERE l.member_id = members.id)",
    )
    .execute(conn)
}
