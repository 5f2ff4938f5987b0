//! Delivery of a document: how many of its audience's devices hold its latest revision.
//!
//! The definition, from the feed (`feed`, `changes`) and the acknowledgements (`installations::acknowledge`):
//! - every change to what members may see gives the document a new feed position (`documents.feed_seq`). While the
//!   document is published, that position is the change that made its latest revision visible (the publish, or the
//!   moment a scheduled one went live): the feed page carrying it carries the upsert of that revision;
//! - positions commit in order, and a device's `acked_seq` is the position of the last page it applied (a cursor we
//!   issued), so a device with `acked_seq >= feed_seq` has applied that upsert;
//! - the audience's devices are the live installations of the members who may read the document: status eligible
//!   or exempt, in the committees of the live revision's audience (all of them for the whole city). Each such
//!   installation carries its member's committee as `reader_committee` (NULL for every other installation);
//! - so `acknowledged` counts the installations with `reader_committee` in the audience and `acked_seq >= feed_seq`
//!   while the document is published, and is 0 otherwise (scheduled: no device has it yet; expired or withdrawn:
//!   devices delete it); `devices` is the number of the audience's devices, from the coverage counters
//!   (`coverage_counts.devices`, at most 48 rows read).
//!
//! An officer reads its own committee's part of the audience only (it must be in the audience, or own the
//! document); anyone else is told the document does not exist.
//!
//! Cost: `acknowledged` is a range count in the index `installations_by_reader (reader_committee, acked_seq)`, one
//! range per committee of the audience (all 48 for the whole city), from `feed_seq` up: it reads the index entries of
//! the audience's devices that hold the revision, the answer itself, and nothing of members, of other committees or
//! of devices still behind. Measured on PostgreSQL with the demo city (440,000 members, 377,000 devices, 80% of
//! them up to date, a loaded 2-core machine): a committee's document about 1 ms; a whole-city one 40 ms from the
//! index alone, up to about 200 ms right after most devices acknowledged (their index entries are then checked
//! against the table until the next vacuum). Joining installations to members instead reads every member of the
//! audience: 520 ms for the whole city, 185 ms for one large committee.
//!
//! A device whose member moved committee keeps the position it acknowledged in the former one until it syncs
//! again (its cursor is refused then, and it starts from scratch): for that while it may be counted although the
//! new committee's documents are not all on it yet.

use diesel::prelude::*;
use serde::Serialize;

use crate::auth::{AuthUser, Scope};
use crate::content::documents::find_managed;
use crate::content::states::{DocumentStatus, LiveState};
use crate::coverage::report;
use crate::db::schema::{document_audience as aud, documents as d, installations as inst};
use crate::db::DbConnection;
use crate::error::AppError;

/// How far a document's latest revision has reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    /// The latest published revision; null before the first publish.
    #[schema(required = true)]
    pub revision: Option<i32>,
    pub status: DocumentStatus,
    /// Live devices of the audience's members who may read it (eligible or exempt); an officer: its committee's.
    pub devices: i64,
    /// Of those, the devices that acknowledged a sync including the latest revision (0 unless `published`).
    pub acknowledged: i64,
}

/// Delivery of document `id` as `user` may see it (see the module's documentation).
pub fn of_document(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<Delivery, AppError> {
    user.require_staff()?;
    let (revision, state, position, all): (Option<i32>, LiveState, i64, bool) = d::table
        .find(id)
        .select((d::live_revision, d::live_state, d::feed_seq, d::live_audience_all))
        .get_result(conn)
        .optional()?
        .ok_or(AppError::NotFound)?;
    // The committees the live revision addresses (none before the first publish), cut to the caller's scope.
    let addressed: Option<Vec<String>> = match (revision, all) {
        (None, _) => Some(Vec::new()),
        (Some(_), true) => None,
        (Some(_), false) => Some(aud::table.filter(aud::document_id.eq(id)).select(aud::committee_code).load(conn)?),
    };
    let committees = match user.scope() {
        Scope::City => addressed,
        Scope::Committee(own) => {
            let in_audience = addressed.as_ref().is_none_or(|codes| codes.contains(&own));
            if !in_audience {
                // Not addressed to the officer's committee: its own document (a draft), or nobody's business.
                find_managed(conn, user, id)?;
            }
            Some(if in_audience { vec![own] } else { Vec::new() })
        }
    };
    if committees.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Delivery { revision, status: state.status(), devices: 0, acknowledged: 0 });
    }
    let devices = report::reach(conn, committees.as_deref())?.devices;
    let acknowledged =
        if state == LiveState::Visible { acknowledged(conn, committees.as_deref(), position)? } else { 0 };
    Ok(Delivery { revision, status: state.status(), devices, acknowledged })
}

/// The audience's devices (`committees`; `None`: every committee) that acknowledged `position`.
fn acknowledged(conn: &mut DbConnection, committees: Option<&[String]>, position: i64) -> QueryResult<i64> {
    let codes: Vec<String> = match committees {
        Some(codes) => codes.to_vec(),
        // One range of the index per committee, rather than every entry whatever its committee.
        None => crate::db::schema::committees::table.select(crate::db::schema::committees::code).load(conn)?,
    };
    inst::table
        .filter(inst::reader_committee.eq_any(codes))
        .filter(inst::acked_seq.ge(position))
        .count()
        .get_result(conn)
}
