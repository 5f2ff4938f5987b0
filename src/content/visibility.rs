//! Who may read what. A member reads a document that is live and visible now and addressed to everyone or
//! to the member's committee; staff read what they manage.

use diesel::dsl::exists;
use diesel::prelude::*;

use crate::auth::{AuthUser, Role, Scope};
use crate::db::schema::{
    attachment_access as access, attachments, document_attachments as da, document_audience as aud, documents as d,
};
use crate::db::DbConnection;

use super::states::LiveState;

/// Whether the caller may see (download, or name in a document) the attachment `sha256`: it must exist, and (but
/// for admins) be attached to a document the caller may see — for a member, a visible document addressed to its
/// committee; for an officer, also whatever its committee was granted (`grant`): what its officers uploaded and what
/// its own documents, drafts included, reference. Every check is by the exact key.
pub fn caller_may_see_attachment(conn: &mut DbConnection, user: &AuthUser, sha256: &str) -> QueryResult<bool> {
    let stored = attachments::table.find(sha256).count().get_result::<i64>(conn)? > 0;
    if !stored {
        return Ok(false);
    }
    let committee = match user.scope() {
        Scope::City => return Ok(true),
        Scope::Committee(committee) => committee,
    };
    let visible_to_committee = diesel::select(exists(
        da::table
            .inner_join(d::table)
            .filter(da::sha256.eq(sha256))
            .filter(d::live_state.eq(LiveState::Visible))
            .filter(d::live_audience_all.eq(true).or(exists(
                aud::table.filter(aud::document_id.eq(d::id)).filter(aud::committee_code.eq(committee.clone())),
            ))),
    ))
    .get_result::<bool>(conn)?;
    if visible_to_committee || user.role != Role::Officer {
        return Ok(visible_to_committee);
    }
    diesel::select(exists(access::table.find((sha256, committee)))).get_result(conn)
}

/// Lets the staff of `committee` see the attachments `shas` from now on, whatever is published: its officer
/// uploaded them, or one of its documents references them. Call inside a write transaction.
pub fn grant(conn: &mut DbConnection, committee: &str, shas: &[&str]) -> QueryResult<()> {
    for sha in shas {
        let row = (access::sha256.eq(*sha), access::committee_code.eq(committee));
        // The connection enum has no ON CONFLICT of its own: one statement per backend.
        match conn {
            DbConnection::Postgresql(pg) => {
                diesel::insert_into(access::table).values(row).on_conflict_do_nothing().execute(pg)?
            }
            DbConnection::Sqlite(sqlite) => {
                diesel::insert_into(access::table).values(row).on_conflict_do_nothing().execute(sqlite)?
            }
        };
    }
    Ok(())
}
