//! The change feed: what a member's device must apply to hold exactly the documents the member may see.
//!
//! Every change to what members may see moves a document to a new feed position (see `feed`). A device that
//! has reached position p asks for the documents whose position is above p, in order: each is either visible
//! to the member now (an upsert of its latest revision, so intermediate revisions collapse) or not (a delete,
//! sent only for documents that ever reached the member's committee). Without a cursor, the feed starts from
//! nothing and sends only upserts: the device replaces its whole set with them.

use std::collections::HashSet;

use diesel::prelude::*;
use serde::Serialize;

use crate::content::reading::LiveDocument;
use crate::content::states::LiveState;
use crate::db::schema::{document_audience as aud, document_reach as reach, documents as d};
use crate::db::DbConnection;

use super::feed;

/// A page is cut when its JSON passes this size (at least one change is always sent).
pub const PAGE_BYTES: usize = 1024 * 1024;
const BATCH: i64 = 500;

/// One change for the device: store (or replace) a document, or delete one.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Change {
    Upsert { document: LiveDocument },
    Delete { id: String },
}

#[derive(Debug)]
pub struct Page {
    pub changes: Vec<Change>,
    /// The position the device reaches by applying this page.
    pub position: i64,
    pub has_more: bool,
}

/// The changes after `after` (None: from scratch) for a member of `committee`.
pub fn read(
    conn: &mut DbConnection,
    committee: &str,
    after: Option<i64>,
    limit: usize,
    page_bytes: usize,
) -> QueryResult<Page> {
    // Read before the documents: every position up to `newest` has committed, so once the documents above
    // `after` are exhausted the device may safely stand at `newest`.
    let newest = feed::current_position(conn)?;
    let from_scratch = after.is_none();
    let mut position = after.unwrap_or(0);
    let mut changes = Vec::new();
    let mut bytes = 0;
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
            if changes.len() >= limit || (bytes >= page_bytes && !changes.is_empty()) {
                return Ok(Page { changes, position, has_more: true });
            }
            let change = match documents.iter().position(|doc| &doc.id == id) {
                Some(index) => Some(Change::Upsert { document: documents.swap_remove(index) }),
                None if reached.contains(id) => Some(Change::Delete { id: id.clone() }),
                None => None,
            };
            if let Some(change) = change {
                bytes += serde_json::to_vec(&change).map(|json| json.len()).unwrap_or_default();
                changes.push(change);
            }
            position = *seq;
        }
        if exhausted {
            return Ok(Page { changes, position: position.max(newest), has_more: false });
        }
    }
}
