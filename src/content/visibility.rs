//! Who may read what. A member reads a document that is live and visible now and addressed to everyone or
//! to the member's committee; staff read what they manage.

use diesel::dsl::exists;
use diesel::prelude::*;

use crate::auth::{AuthUser, Role};
use crate::db::schema::{attachments, document_attachments as da, document_audience as aud, documents as d};
use crate::db::DbConnection;

/// Whether the caller may download the attachment `sha256`: it must exist, and (but for admins) be attached
/// to a document the caller may see — for a member, a visible document addressed to its committee; for an
/// officer, also any document (draft or live) its committee owns.
pub fn caller_may_see_attachment(conn: &mut DbConnection, user: &AuthUser, sha256: &str) -> QueryResult<bool> {
    let stored = attachments::table.find(sha256).count().get_result::<i64>(conn)? > 0;
    if !stored {
        return Ok(false);
    }
    if user.role == Role::Admin {
        return Ok(true);
    }
    let Some(committee) = user.committee.clone() else { return Ok(false) };
    let visible_to_committee = diesel::select(exists(
        da::table.inner_join(d::table).filter(da::sha256.eq(sha256)).filter(d::live_state.eq("visible")).filter(
            d::live_audience_all.eq(true).or(exists(
                aud::table.filter(aud::document_id.eq(d::id)).filter(aud::committee_code.eq(committee.clone())),
            )),
        ),
    ))
    .get_result::<bool>(conn)?;
    if visible_to_committee || user.role != Role::Officer {
        return Ok(visible_to_committee);
    }
    // An officer also sees attachments of its committee's own documents, drafts included.
    let pattern = crate::text::contains_pattern(sha256);
    diesel::select(exists(
        d::table.filter(d::owner_committee.eq(committee)).filter(
            d::attachments.like(pattern.clone()).escape('\\').or(d::live_attachments.like(pattern).escape('\\')),
        ),
    ))
    .get_result::<bool>(conn)
}
