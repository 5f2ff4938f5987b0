//! A member's own state (bookmarks, notes, reading progress, read confirmations) and its change log.
//!
//! Every applied mutation that changes the state appends one row to the member's log, at the next `state_seq` of
//! the member row, whose lock the push holds until it commits: one member's log positions become visible in order,
//! never skipped. A (entity, key) keeps only its newest row, since the sync feed sends the entity's CURRENT value
//! (or a delete) for a log row anyway: the log is as long as the member's state has keys, never longer.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{
    member_bookmarks as bookmarks, member_notes as notes, member_progress as progress, member_reads as reads,
    member_state_log as log, members,
};
use crate::db::text_enum::text_enum;
use crate::db::DbConnection;
use crate::meetings::MeetingKey;
use crate::sync::changes::Change;

text_enum! {
    /// What a state log row is about; its `key` is the document id, the note id for notes, the meeting id for
    /// meetings and answers.
    pub enum Entity {
        Bookmark = "bookmark",
        Note = "note",
        Progress = "progress",
        Read = "read",
        /// A meeting the member is (or was) invited to; key: the meeting id.
        Meeting = "meeting",
        /// The member's answer to a meeting; key: the meeting id.
        Rsvp = "rsvp",
    }
}

/// A bookmarked document.
#[derive(Clone, Debug, PartialEq, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = bookmarks)]
pub struct Bookmark {
    pub document_id: String,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
}

/// A bookmark that no longer exists.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BookmarkKey {
    pub document_id: String,
}

/// A member's note on a document.
#[derive(Clone, Debug, PartialEq, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = notes)]
pub struct Note {
    #[schema(format = "uuid")]
    pub note_id: String,
    pub document_id: String,
    /// The app's own locator of the passage, as the app sent it.
    pub anchor: String,
    pub text: String,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: NaiveDateTime,
}

/// A note that no longer exists.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NoteKey {
    #[schema(format = "uuid")]
    pub note_id: String,
}

/// How far the member has read a document: the furthest position any device reported.
#[derive(Clone, Debug, PartialEq, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = progress)]
pub struct Progress {
    pub document_id: String,
    #[schema(minimum = 0, maximum = 1)]
    pub position: f64,
}

/// The member has read (studied) the document: the highest revision confirmed, and when it was first confirmed.
#[derive(Clone, Debug, PartialEq, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = reads)]
pub struct ReadConfirmation {
    pub document_id: String,
    #[schema(minimum = 1)]
    pub revision: i64,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub read_at: NaiveDateTime,
}

/// Records that the member's state changed: one log row for each of `changed` (in order), at the next positions of
/// the member's `state_seq`, replacing the older rows of the same (entity, key); answers the newest position.
///
/// EVERY change of a member's state goes through here (the push, meetings, their invitations): it takes the member
/// row's lock by moving `state_seq`, held until the caller's write transaction commits, so one member's log
/// positions become visible in order, never skipped. A transaction that records changes of several members calls it
/// in ascending member id order ([`append_each`]), so that two of them never wait for each other's locks.
pub fn append(conn: &mut DbConnection, member_id: i64, changed: &[(Entity, String)]) -> QueryResult<i64> {
    let count = changed.len() as i64;
    diesel::update(members::table.find(member_id))
        .set(members::state_seq.eq(members::state_seq + count))
        .execute(conn)?;
    let newest = newest(conn, member_id)?;
    if changed.is_empty() {
        return Ok(newest);
    }
    for entity in Entity::ALL {
        let keys: Vec<&str> = changed.iter().filter(|(e, _)| e == entity).map(|(_, key)| key.as_str()).collect();
        if !keys.is_empty() {
            diesel::delete(
                log::table
                    .filter(log::member_id.eq(member_id))
                    .filter(log::entity.eq(*entity))
                    .filter(log::key.eq_any(keys)),
            )
            .execute(conn)?;
        }
    }
    let rows: Vec<_> = changed
        .iter()
        .zip(newest - count + 1..)
        .map(|((entity, key), seq)| {
            (log::member_id.eq(member_id), log::seq.eq(seq), log::entity.eq(*entity), log::key.eq(key))
        })
        .collect();
    // The connection enum has no multi-row INSERT of its own: one statement per backend.
    match conn {
        DbConnection::Postgresql(pg) => diesel::insert_into(log::table).values(rows).execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(log::table).values(rows).execute(sqlite)?,
    };
    Ok(newest)
}

/// [`append`] for several members, in ascending member id order (the order every such transaction takes the
/// member rows' locks in).
pub fn append_each(conn: &mut DbConnection, changed: &BTreeMap<i64, Vec<(Entity, String)>>) -> QueryResult<()> {
    for (member_id, changed) in changed {
        append(conn, *member_id, changed)?;
    }
    Ok(())
}

/// The member's newest committed log position.
pub fn newest(conn: &mut DbConnection, member_id: i64) -> QueryResult<i64> {
    members::table.find(member_id).select(members::state_seq).get_result(conn)
}

/// Up to `limit` log rows after `after`, in order.
pub fn log_after(
    conn: &mut DbConnection,
    member_id: i64,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, Entity, String)>> {
    log::table
        .filter(log::member_id.eq(member_id))
        .filter(log::seq.gt(after))
        .order(log::seq)
        .limit(limit)
        .select((log::seq, log::entity, log::key))
        .load(conn)
}

/// The change each log row stands for now: the entity's current value, or a delete when it is gone (None when
/// `deletes` is false: a from-scratch sync, where the device replaces everything). One query per kind of entity.
pub fn changes_for(
    conn: &mut DbConnection,
    member_id: i64,
    rows: &[(i64, Entity, String)],
    deletes: bool,
) -> QueryResult<Vec<Option<Change>>> {
    let keys = |entity: Entity| -> Vec<&str> {
        rows.iter().filter(|row| row.1 == entity).map(|row| row.2.as_str()).collect::<Vec<_>>()
    };
    let (bookmark_keys, note_keys, progress_keys, read_keys) =
        (keys(Entity::Bookmark), keys(Entity::Note), keys(Entity::Progress), keys(Entity::Read));
    let mut bookmark_values: HashMap<String, Bookmark> = HashMap::new();
    if !bookmark_keys.is_empty() {
        for row in bookmarks::table
            .filter(bookmarks::member_id.eq(member_id))
            .filter(bookmarks::document_id.eq_any(&bookmark_keys))
            .select(Bookmark::as_select())
            .load(conn)?
        {
            bookmark_values.insert(row.document_id.clone(), row);
        }
    }
    let mut note_values: HashMap<String, Note> = HashMap::new();
    if !note_keys.is_empty() {
        for row in notes::table
            .filter(notes::member_id.eq(member_id))
            .filter(notes::note_id.eq_any(&note_keys))
            .select(Note::as_select())
            .load(conn)?
        {
            note_values.insert(row.note_id.clone(), row);
        }
    }
    let mut progress_values: HashMap<String, Progress> = HashMap::new();
    if !progress_keys.is_empty() {
        for row in progress::table
            .filter(progress::member_id.eq(member_id))
            .filter(progress::document_id.eq_any(&progress_keys))
            .select(Progress::as_select())
            .load(conn)?
        {
            progress_values.insert(row.document_id.clone(), row);
        }
    }
    let mut read_values: HashMap<String, ReadConfirmation> = HashMap::new();
    if !read_keys.is_empty() {
        for row in reads::table
            .filter(reads::member_id.eq(member_id))
            .filter(reads::document_id.eq_any(&read_keys))
            .select(ReadConfirmation::as_select())
            .load(conn)?
        {
            read_values.insert(row.document_id.clone(), row);
        }
    }
    let (mut meeting_values, mut rsvp_values) =
        crate::meetings::invitees::feed_values(conn, member_id, &keys(Entity::Meeting), &keys(Entity::Rsvp))?;
    // A key has one row in the log; a batch read while a push replaced it could still meet it twice, in principle:
    // the first is sent, with the current value.
    let mut sent: HashSet<(Entity, &str)> = HashSet::new();
    Ok(rows
        .iter()
        .map(|(_, entity, key)| {
            if !sent.insert((*entity, key.as_str())) {
                return None;
            }
            let key = key.clone();
            match entity {
                Entity::Bookmark => match bookmark_values.remove(&key) {
                    Some(bookmark) => Some(Change::UpsertBookmark { bookmark }),
                    None => deletes.then_some(Change::DeleteBookmark { bookmark: BookmarkKey { document_id: key } }),
                },
                Entity::Note => match note_values.remove(&key) {
                    Some(note) => Some(Change::UpsertNote { note }),
                    None => deletes.then_some(Change::DeleteNote { note: NoteKey { note_id: key } }),
                },
                // Progress and reads only grow: once there, never gone.
                Entity::Progress => progress_values.remove(&key).map(|progress| Change::UpsertProgress { progress }),
                Entity::Read => read_values.remove(&key).map(|read| Change::UpsertRead { read }),
                // While the member is a current invitee; a delete once it left the meeting's cell.
                Entity::Meeting => match meeting_values.remove(&key) {
                    Some(meeting) => Some(Change::UpsertMeeting { meeting }),
                    None => deletes.then_some(Change::DeleteMeeting { meeting: MeetingKey { id: key } }),
                },
                // Gone with the invitation: the meeting's delete says it all.
                Entity::Rsvp => rsvp_values.remove(&key).map(|rsvp| Change::UpsertRsvp { rsvp }),
            }
        })
        .collect())
}
