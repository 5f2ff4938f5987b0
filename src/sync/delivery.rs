//! Delivery of a document: how many of its audience's devices hold its latest revision.
//!
//! The definition, from the feed (`feed`, `changes`) and the acknowledgements (`installations::acknowledge`):
//! - every change to what members may see gives the document a new feed position (`documents.feed_seq`). While the
//!   document is published, that position is the change that made its latest revision visible (the publish, or the
//!   moment a scheduled one went live): the feed page carrying it carries the upsert of that revision;
//! - positions commit in order, and a device's `acked_seq` is the position of the last page it applied (a cursor we
//!   issued), so a device with `acked_seq >= feed_seq` has applied that upsert;
//! - the audience's devices are the live installations of the members who may read the document: status eligible
//!   or exempt, in the committees of the live revision's audience (all of them for the whole city);
//! - so `acknowledged` counts those devices with `acked_seq >= feed_seq` while the document is published, and is 0
//!   otherwise (scheduled: no device has it yet; expired or withdrawn: devices delete it); `devices` is the number
//!   of those devices, from the coverage counters (`coverage_counts.devices`, O(committees)).
//!
//! An officer reads its own committee's part of the audience only (it must be in the audience, or own the
//! document); anyone else is told the document does not exist.
//!
//! Cost: `devices` reads at most 48 counter rows. `acknowledged` is one indexed count, never a scan of every
//! installation: for a committee audience the database walks that audience's members (`members_by_committee`) and
//! their installations (`installations_by_member`), about 9,000 members for the largest committee; for the whole
//! city it walks the index of live installations by acknowledged position (`installations_by_ack`, partial on
//! `deleted_at IS NULL`) from `feed_seq` up, so it reads only devices that have acknowledged the revision, i.e. the
//! answer itself, and stops there. Either plan reads rows of this document's audience only, and the page asking is
//! one document's page, not a list refreshed all day.
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
use crate::db::schema::{document_audience as aud, documents as d, installations as inst, members};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::org::members::MemberStatus;

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

/// Live devices of readers (eligible or exempt members) of `committees` (all: `None`) that acknowledged `position`.
fn acknowledged(conn: &mut DbConnection, committees: Option<&[String]>, position: i64) -> QueryResult<i64> {
    let mut query = inst::table
        .inner_join(members::table)
        .filter(inst::deleted_at.is_null())
        .filter(inst::acked_seq.ge(position))
        .filter(members::status.ne(MemberStatus::Left))
        .into_boxed();
    if let Some(codes) = committees {
        query = query.filter(members::committee_code.eq_any(codes.to_vec()));
    }
    query.count().get_result(conn)
}
