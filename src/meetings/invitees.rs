//! Who is invited to a meeting, and what a member's move does to its invitations.
//!
//! - At scheduling, the cell's members with status `eligible` or `exempt` are invited (`invite_cell`).
//! - A member who JOINS a cell (the import creates it there, moves it there, or brings its status back from `left`)
//!   is invited to the cell's scheduled meetings that have not started yet.
//! - A member who LEAVES a cell (moved elsewhere, or status `left`) is taken off the invitees of the cell's meetings
//!   that have not started yet (the counters move), and stays on those that have (they are the statistics); in
//!   every case its devices get a delete of each of the cell's meetings it had.
//!
//! A member is a *current* invitee of a meeting while it has an invitee row AND is still in the meeting's cell AND
//! has not left: only then does the sync feed send it the meeting (else a delete), may it answer, and download the
//! meeting's materials.
//!
//! Lock order: every transaction here takes the member rows' locks (their state log, `state::append`) in ascending
//! id order before it moves the counters on the meeting rows, in ascending meeting id order, as the push does
//! (member, then meeting): none waits for another in a cycle.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{meeting_invitees as mi, meetings as m, members};
use crate::db::DbConnection;
use crate::org::members::MemberStatus;
use crate::sync::push::state::{self, Entity};

use super::{entries, rsvps_of, Attendance, MeetingEntry, MeetingRow, MeetingStatus, RsvpEntry};

/// The lock (`DbConnection::lock_key`) that a meeting's scheduling and an import take first: on PostgreSQL, a member
/// the import moves into a cell while a meeting of that cell is being scheduled would otherwise be invited by neither
/// (each transaction reads the cell before the other commits). SQLite runs one writer at a time anyway.
pub const INVITATIONS_LOCK: &str = "meetings: invitations";

/// Where a member is, and whether it may be invited there (status `eligible` or `exempt`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub committee: String,
    pub unit: String,
    pub cell: String,
    pub status: MemberStatus,
}

impl Place {
    pub fn new(committee: &str, unit: &str, cell: &str, status: MemberStatus) -> Place {
        Place { committee: committee.to_owned(), unit: unit.to_owned(), cell: cell.to_owned(), status }
    }

    fn invitable(&self) -> bool {
        self.status != MemberStatus::Left
    }

    fn cell(&self) -> (&str, &str, &str) {
        (&self.committee, &self.unit, &self.cell)
    }

    fn is_meeting_cell(&self, row: &MeetingRow) -> bool {
        self.cell() == (row.committee_code.as_str(), row.unit.as_str(), row.cell.as_str())
    }
}

/// The member's place now, if it exists.
fn place(conn: &mut DbConnection, member_id: i64) -> QueryResult<Option<Place>> {
    let row: Option<(String, String, String, MemberStatus)> = members::table
        .find(member_id)
        .select((members::committee_code, members::unit, members::cell, members::status))
        .get_result(conn)
        .optional()?;
    Ok(row.map(|(committee, unit, cell, status)| Place { committee, unit, cell, status }))
}

/// Whether the member is a current invitee of the meeting (see the module's documentation).
pub fn is_current(conn: &mut DbConnection, member_id: i64, meeting: &MeetingRow) -> QueryResult<bool> {
    let invited = mi::table.find((&meeting.id, member_id)).count().get_result::<i64>(conn)? > 0;
    if !invited {
        return Ok(false);
    }
    Ok(place(conn, member_id)?.is_some_and(|place| place.invitable() && place.is_meeting_cell(meeting)))
}

/// The current value, for the member's devices, of each of `meetings` (the meeting, while the member is a current
/// invitee) and `answers` (its answer, while it is a current invitee and has answered). What is absent is gone.
pub(crate) fn feed_values(
    conn: &mut DbConnection,
    member_id: i64,
    meetings: &[&str],
    answers: &[&str],
) -> QueryResult<(HashMap<String, MeetingEntry>, HashMap<String, RsvpEntry>)> {
    if meetings.is_empty() && answers.is_empty() {
        return Ok((HashMap::new(), HashMap::new()));
    }
    let Some(place) = place(conn, member_id)?.filter(Place::invitable) else {
        return Ok((HashMap::new(), HashMap::new()));
    };
    let all: Vec<&str> = meetings.iter().chain(answers).copied().collect::<BTreeSet<_>>().into_iter().collect();
    let invited: HashSet<String> = mi::table
        .filter(mi::member_id.eq(member_id))
        .filter(mi::meeting_id.eq_any(&all))
        .select(mi::meeting_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let current: Vec<&str> = all.iter().copied().filter(|id| invited.contains(*id)).collect();
    let found = entries(conn, &current)?;
    let current: Vec<&str> =
        current.into_iter().filter(|id| found.get(*id).is_some_and(|(row, _)| place.is_meeting_cell(row))).collect();
    let mut answered = rsvps_of(conn, member_id, &current)?;
    answered.retain(|id, _| answers.contains(&id.as_str()));
    let entries = found
        .into_iter()
        .filter(|(id, _)| current.contains(&id.as_str()) && meetings.contains(&id.as_str()))
        .map(|(id, (_, entry))| (id, entry))
        .collect();
    Ok((entries, answered))
}

/// Inserts invitee rows of `meeting_id` for `member_ids`, invited at `at`.
fn insert_invitees(
    conn: &mut DbConnection,
    meeting_id: &str,
    member_ids: &[i64],
    at: NaiveDateTime,
) -> QueryResult<()> {
    for chunk in member_ids.chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|id| (mi::meeting_id.eq(meeting_id), mi::member_id.eq(*id), mi::invited_at.eq(at)))
            .collect();
        // The connection enum has no multi-row INSERT of its own: one statement per backend.
        match conn {
            DbConnection::Postgresql(pg) => diesel::insert_into(mi::table).values(rows).execute(pg)?,
            DbConnection::Sqlite(sqlite) => diesel::insert_into(mi::table).values(rows).execute(sqlite)?,
        };
    }
    Ok(())
}

/// At scheduling: invites the cell's members with status eligible or exempt; their ids, ascending.
pub(crate) fn invite_cell(conn: &mut DbConnection, meeting: &MeetingRow, at: NaiveDateTime) -> QueryResult<Vec<i64>> {
    let ids: Vec<i64> = members::table
        .filter(members::committee_code.eq(&meeting.committee_code))
        .filter(members::unit.eq(&meeting.unit))
        .filter(members::cell.eq(&meeting.cell))
        .filter(members::status.ne(MemberStatus::Left))
        .order(members::id)
        .select(members::id)
        .load(conn)?;
    insert_invitees(conn, &meeting.id, &ids, at)?;
    Ok(ids)
}

/// The members invited to a meeting, ascending.
pub(crate) fn of_meeting(conn: &mut DbConnection, meeting_id: &str) -> QueryResult<Vec<i64>> {
    mi::table.filter(mi::meeting_id.eq(meeting_id)).order(mi::member_id).select(mi::member_id).load(conn)
}

/// Moves of members that an import applies, gathered while it updates the member rows and applied at the end of
/// its transaction (`apply`): all member rows are locked by then, and the meeting rows are locked after them.
#[derive(Debug, Default)]
pub struct Moves {
    moved: Vec<(i64, Place, Place)>,
    created: Vec<(String, Place)>,
}

/// How the counters of one meeting move.
#[derive(Debug, Default)]
struct Delta {
    invited: i64,
    answered: i64,
    present: i64,
}

impl Moves {
    /// The member `member_id` moves from `old` to `new` (unit, cell, committee or status): call next to
    /// `reading::counters::member_moved`, in the same transaction.
    pub fn member_moved(&mut self, member_id: i64, old: Place, new: Place) {
        let stays = old.cell() == new.cell() && old.invitable() == new.invitable();
        if !stays {
            self.moved.push((member_id, old, new));
        }
    }

    /// A member with this card number is created at `place`.
    pub fn member_created(&mut self, card_number: &str, place: Place) {
        if place.invitable() {
            self.created.push((card_number.to_owned(), place));
        }
    }

    /// Applies the moves at `at`: the invitations of those who left a cell and of those who joined one, their
    /// devices' log rows, and the meetings' counters.
    pub fn apply(self, conn: &mut DbConnection, at: NaiveDateTime) -> QueryResult<()> {
        if self.moved.is_empty() && self.created.is_empty() {
            return Ok(());
        }
        let mut changed: BTreeMap<i64, Vec<(Entity, String)>> = BTreeMap::new();
        let mut deltas: BTreeMap<String, Delta> = BTreeMap::new();

        // Those who leave a cell (or the party's rolls).
        let leavers: HashMap<i64, &Place> =
            self.moved.iter().filter(|(_, old, _)| old.invitable()).map(|(id, old, _)| (*id, old)).collect();
        let leaver_ids: Vec<i64> = leavers.keys().copied().collect();
        for chunk in leaver_ids.chunks(5000) {
            type Invitation = (String, i64, NaiveDateTime, String, String, String, Option<String>, Option<Attendance>);
            let rows: Vec<Invitation> = mi::table
                .inner_join(m::table)
                .filter(mi::member_id.eq_any(chunk))
                .select((
                    m::id,
                    mi::member_id,
                    m::starts_at,
                    m::committee_code,
                    m::unit,
                    m::cell,
                    mi::rsvp,
                    mi::attendance,
                ))
                .load(conn)?;
            for (meeting, member, starts_at, committee, unit, cell, rsvp, attendance) in rows {
                if leavers[&member].cell() != (committee.as_str(), unit.as_str(), cell.as_str()) {
                    // An invitation of a cell it left earlier: its devices had the delete then.
                    continue;
                }
                if starts_at > at {
                    diesel::delete(mi::table.find((&meeting, member))).execute(conn)?;
                    let delta = deltas.entry(meeting.clone()).or_default();
                    delta.invited -= 1;
                    delta.answered -= i64::from(rsvp.is_some());
                    delta.present -= i64::from(attendance == Some(Attendance::Present));
                }
                changed.entry(member).or_default().push((Entity::Meeting, meeting));
            }
        }

        // Those who join a cell: invited to its scheduled meetings that have not started.
        let moved_in: Vec<(i64, &Place)> = self
            .moved
            .iter()
            .filter(|(_, old, new)| new.invitable() && (!old.invitable() || old.cell() != new.cell()))
            .map(|(id, _, new)| (*id, new))
            .collect();
        let committees: BTreeSet<&str> = moved_in
            .iter()
            .map(|(_, place)| place.committee.as_str())
            .chain(self.created.iter().map(|(_, place)| place.committee.as_str()))
            .collect();
        let upcoming: Vec<(String, String, String, String)> = if committees.is_empty() {
            Vec::new()
        } else {
            m::table
                .filter(m::status.eq(MeetingStatus::Scheduled))
                .filter(m::starts_at.gt(at))
                .filter(m::committee_code.eq_any(committees))
                .select((m::id, m::committee_code, m::unit, m::cell))
                .load(conn)?
        };
        let mut by_cell: HashMap<(&str, &str, &str), Vec<&str>> = HashMap::new();
        for (id, committee, unit, cell) in &upcoming {
            by_cell.entry((committee, unit, cell)).or_default().push(id);
        }
        let mut joiners: Vec<(i64, &Place)> =
            moved_in.into_iter().filter(|(_, place)| by_cell.contains_key(&place.cell())).collect();
        // The ids of the created members who have a meeting to go to (none at all in the city's first import).
        let created: Vec<&(String, Place)> =
            self.created.iter().filter(|(_, place)| by_cell.contains_key(&place.cell())).collect();
        for chunk in created.chunks(5000) {
            let cards: Vec<&str> = chunk.iter().map(|(card, _)| card.as_str()).collect();
            let ids: HashMap<String, i64> = members::table
                .filter(members::card_number.eq_any(cards))
                .select((members::card_number, members::id))
                .load::<(String, i64)>(conn)?
                .into_iter()
                .collect();
            for (card, place) in chunk {
                if let Some(id) = ids.get(card) {
                    joiners.push((*id, place));
                }
            }
        }
        let mut invitations: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
        for (member, place) in &joiners {
            for meeting in by_cell.get(&place.cell()).into_iter().flatten() {
                invitations.entry(meeting).or_default().push(*member);
            }
        }
        for (meeting, wanted) in invitations {
            let already: HashSet<i64> = mi::table
                .filter(mi::meeting_id.eq(meeting))
                .filter(mi::member_id.eq_any(&wanted))
                .select(mi::member_id)
                .load::<i64>(conn)?
                .into_iter()
                .collect();
            let new: Vec<i64> = wanted.into_iter().filter(|id| !already.contains(id)).collect();
            insert_invitees(conn, meeting, &new, at)?;
            deltas.entry(meeting.to_owned()).or_default().invited += new.len() as i64;
            for member in new {
                changed.entry(member).or_default().push((Entity::Meeting, meeting.to_owned()));
            }
        }

        state::append_each(conn, &changed)?;
        for (meeting, delta) in deltas {
            move_counters(conn, &meeting, delta.invited, delta.answered, delta.present)?;
        }
        Ok(())
    }
}

/// Moves the counters of one meeting by these deltas.
pub(crate) fn move_counters(
    conn: &mut DbConnection,
    meeting_id: &str,
    invited: i64,
    answered: i64,
    present: i64,
) -> QueryResult<()> {
    if (invited, answered, present) == (0, 0, 0) {
        return Ok(());
    }
    diesel::update(m::table.find(meeting_id))
        .set((
            m::invited.eq(m::invited + invited),
            m::answered.eq(m::answered + answered),
            m::present.eq(m::present + present),
        ))
        .execute(conn)?;
    Ok(())
}
