//! The change feed: what a member's device must apply to hold exactly the documents the member may see.
//!
//! Every change to what members may see moves a document to a new feed position (see `feed`). A device that
//! has reached position p asks for the documents whose position is above p, in order: each is either visible
//! to the member now (an upsert of its latest revision, so intermediate revisions collapse) or not (a delete,
//! sent only for documents that ever reached the member's committee). Without a cursor, the feed starts from
//! nothing and sends only upserts: the device replaces its whole set with them.
//!
//! Once the documents are exhausted, a page goes on with the member's own state (bookmarks, notes, progress,
//! reads, meetings and answers): each row of the member's state log above the device's state position becomes the entity's current value
//! (or a delete when it is gone). From scratch, that is the member's whole state. `has_more` covers both parts.

use std::collections::HashSet;

use diesel::prelude::*;
use serde::Serialize;

use crate::content::reading::LiveDocument;
use crate::content::states::LiveState;
use crate::db::schema::{document_audience as aud, document_reach as reach, documents as d};
use crate::db::DbConnection;
use crate::meetings::{MeetingEntry, MeetingKey, RsvpEntry};

use super::feed;
use super::push::state::{self, Bookmark, BookmarkKey, Note, NoteKey, Progress, ReadConfirmation};

/// A page is cut when its JSON passes this size (at least one change is always sent).
pub const PAGE_BYTES: usize = 1024 * 1024;
const BATCH: i64 = 500;

/// One change for the device: store (or replace) a document or an entity of the member's state (`upsert`), or
/// delete one (`delete`); the entity is named by the field next to `op`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Change {
    Upsert {
        document: LiveDocument,
    },
    Delete {
        id: String,
    },
    #[serde(rename = "upsert")]
    UpsertBookmark {
        bookmark: Bookmark,
    },
    #[serde(rename = "delete")]
    DeleteBookmark {
        bookmark: BookmarkKey,
    },
    #[serde(rename = "upsert")]
    UpsertNote {
        note: Note,
    },
    #[serde(rename = "delete")]
    DeleteNote {
        note: NoteKey,
    },
    #[serde(rename = "upsert")]
    UpsertProgress {
        progress: Progress,
    },
    #[serde(rename = "upsert")]
    UpsertRead {
        read: ReadConfirmation,
    },
    /// A meeting the member is invited to (a cancelled one too, with `status: "cancelled"`).
    #[serde(rename = "upsert")]
    UpsertMeeting {
        meeting: MeetingEntry,
    },
    /// A meeting the member is no longer invited to (it left the cell).
    #[serde(rename = "delete")]
    DeleteMeeting {
        meeting: MeetingKey,
    },
    /// The member's answer to a meeting.
    #[serde(rename = "upsert")]
    UpsertRsvp {
        rsvp: RsvpEntry,
    },
}

#[derive(Debug)]
pub struct Page {
    pub changes: Vec<Change>,
    /// The document feed position the device reaches by applying this page.
    pub position: i64,
    /// The state log position the device reaches by applying this page.
    pub state_position: i64,
    pub has_more: bool,
}

/// The changes after `after` (document position, state position; None: from scratch) for `member_id` of
/// `committee`: the documents first, then the member's state.
pub fn read(
    conn: &mut DbConnection,
    committee: &str,
    member_id: i64,
    after: Option<(i64, i64)>,
    limit: usize,
    page_bytes: usize,
) -> QueryResult<Page> {
    let mut changes = Vec::new();
    let mut bytes = 0;
    let state_after = after.map_or(0, |(_, state_position)| state_position);
    let documents_after = after.map(|(position, _)| position);
    let (position, more_documents) =
        documents(conn, committee, documents_after, limit, page_bytes, &mut changes, &mut bytes)?;
    if more_documents {
        return Ok(Page { changes, position, state_position: state_after, has_more: true });
    }
    let from_scratch = after.is_none();
    let (state_position, has_more) =
        member_state(conn, member_id, state_after, from_scratch, limit, page_bytes, &mut changes, &mut bytes)?;
    Ok(Page { changes, position, state_position, has_more })
}

/// Whether a page is full: `limit` changes, or past `page_bytes` (at least one change is always sent).
fn full(changes: &[Change], bytes: usize, limit: usize, page_bytes: usize) -> bool {
    changes.len() >= limit || (bytes >= page_bytes && !changes.is_empty())
}

fn push_change(changes: &mut Vec<Change>, bytes: &mut usize, change: Change) {
    *bytes += serde_json::to_vec(&change).map(|json| json.len()).unwrap_or_default();
    changes.push(change);
}

/// The member's state after `after` in its log, into `changes` until the page is full; the state position reached
/// and whether more is left.
#[allow(clippy::too_many_arguments)]
fn member_state(
    conn: &mut DbConnection,
    member_id: i64,
    after: i64,
    from_scratch: bool,
    limit: usize,
    page_bytes: usize,
    changes: &mut Vec<Change>,
    bytes: &mut usize,
) -> QueryResult<(i64, bool)> {
    // Read before the log: every log position up to `newest` has committed (the member row's lock orders pushes).
    let newest = state::newest(conn, member_id)?;
    let mut position = after;
    loop {
        let rows = state::log_after(conn, member_id, position, BATCH)?;
        let exhausted = (rows.len() as i64) < BATCH;
        let current = state::changes_for(conn, member_id, &rows, !from_scratch)?;
        for ((seq, _, _), change) in rows.iter().zip(current) {
            if full(changes, *bytes, limit, page_bytes) {
                return Ok((position, true));
            }
            if let Some(change) = change {
                push_change(changes, bytes, change);
            }
            position = *seq;
        }
        if exhausted {
            return Ok((position.max(newest), false));
        }
    }
}

/// The documents after feed position `after` (None: from scratch) for a member of `committee`, into `changes`
/// until the page is full; the position reached and whether more is left.
fn documents(
    conn: &mut DbConnection,
    committee: &str,
    after: Option<i64>,
    limit: usize,
    page_bytes: usize,
    changes: &mut Vec<Change>,
    bytes: &mut usize,
) -> QueryResult<(i64, bool)> {
    // Read before the documents: every position up to `newest` has committed, so once the documents above
    // `after` are exhausted the device may safely stand at `newest`.
    let newest = feed::current_position(conn)?;
    let from_scratch = after.is_none();
    let mut position = after.unwrap_or(0);
    loop {
        let batch: Vec<(String, i64, LiveState, bool)> = d::table
            .filter(d::feed_seq.gt(position))
            .order(d::feed_seq)
            .limit(BATCH)
            .select((d::id, d::feed_seq, d::live_state, d::live_audience_all))
            .load(conn)?;
        let exhausted = (batch.len() as i64) < BATCH;
        let ids: Vec<&str> = batch.iter().map(|row| row.0.as_str()).collect();
        let addressed: HashSet<String> = aud::table
            .filter(aud::document_id.eq_any(&ids))
            .filter(aud::committee_code.eq(committee))
            .select(aud::document_id)
            .load(conn)?
            .into_iter()
            .collect();
        let visible: Vec<&str> = batch
            .iter()
            .filter(|(id, _, state, all)| *state == LiveState::Visible && (*all || addressed.contains(id)))
            .map(|row| row.0.as_str())
            .collect();
        let mut documents: Vec<LiveDocument> =
            d::table.filter(d::id.eq_any(&visible)).select(LiveDocument::as_select()).load(conn)?;
        let reached: HashSet<String> = if from_scratch {
            HashSet::new()
        } else {
            reach::table
                .filter(reach::document_id.eq_any(&ids))
                .filter(reach::committee_code.eq(committee).or(reach::committee_code.eq("*")))
                .select(reach::document_id)
                .load(conn)?
                .into_iter()
                .collect()
        };
        for (id, seq, _, _) in &batch {
            if full(changes, *bytes, limit, page_bytes) {
                return Ok((position, true));
            }
            let change = match documents.iter().position(|doc| &doc.id == id) {
                Some(index) => Some(Change::Upsert { document: documents.swap_remove(index) }),
                None if reached.contains(id) => Some(Change::Delete { id: id.clone() }),
                None => None,
            };
            if let Some(change) = change {
                push_change(changes, bytes, change);
            }
            position = *seq;
        }
        if exhausted {
            return Ok((position.max(newest), false));
        }
    }
}
