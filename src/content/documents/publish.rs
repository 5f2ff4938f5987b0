//! Publishing: each publish writes an immutable revision and copies it onto the document row as the live one;
//! withdrawing and restoring an older revision, each in one transaction with its feed position and audit entry.

use std::collections::BTreeSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::audit;
use crate::auth::AuthUser;
use crate::content::states::LiveState;
use crate::db::schema::{
    document_attachments as da, document_audience as aud, document_reach as reach, document_requirements as req,
    document_revisions as rev, documents as d,
};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::sync::feed;
use crate::text;
use crate::time::now;

use super::input::{validate, AttachmentRef, AudienceInput, Draft, DraftFields};
use super::store::{
    attachments_json, audience_codes, audience_text, find_managed, stored_attachments, write_draft, DocumentRow,
};
use super::view::{Published, Unpublished};

/// Publishes the draft as a new immutable revision.
pub fn publish(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<Published, AppError> {
    conn.write_transaction(|conn| {
        // First the feed position: it serialises publishers, so the document read below is the latest.
        let position = feed::next_position(conn)?;
        let row = find_managed(conn, user, id)?;
        let draft = validate(conn, user, row.draft_fields())?;
        let published = write_revision(conn, user, &row, &draft, position)?;
        audit::record(
            conn,
            user,
            "document.publish",
            id,
            row.owner_committee.as_deref(),
            json!({ "revision": published.revision, "status": published.status }),
        )?;
        Ok(published)
    })
}

fn write_revision(
    conn: &mut DbConnection,
    user: &AuthUser,
    row: &DocumentRow,
    draft: &Draft,
    position: i64,
) -> Result<Published, AppError> {
    let at = now();
    let revision: i32 = rev::table
        .filter(rev::document_id.eq(&row.id))
        .select(diesel::dsl::max(rev::revision))
        .get_result::<Option<i32>>(conn)?
        .unwrap_or(0)
        + 1;
    let audience = audience_text(&draft.audience);
    let attachments = attachments_json(&draft.attachments);
    let publisher = crate::audit::actor_name(conn, user)?;
    diesel::insert_into(rev::table)
        .values((
            rev::document_id.eq(&row.id),
            rev::revision.eq(revision),
            rev::title.eq(&draft.title),
            rev::kind.eq(&draft.kind),
            rev::section.eq(&draft.section),
            rev::body.eq(&draft.body),
            rev::audience_all.eq(draft.audience_all),
            rev::audience.eq(&audience),
            rev::attachments.eq(&attachments),
            rev::publish_at.eq(draft.publish_at),
            rev::expires_at.eq(draft.expires_at),
            rev::published_at.eq(at),
            rev::published_by.eq(&publisher),
        ))
        .execute(conn)?;
    let state = LiveState::at(draft.publish_at, draft.expires_at, at);
    // Required reading: the revision that made the document required stays until staff ask for a re-read.
    let (old_required, reread): (Option<i64>, bool) = req::table
        .find(&row.id)
        .select((req::revision, req::reread))
        .get_result(conn)
        .optional()?
        .unwrap_or((None, false));
    let required_revision = match row.draft_required_due_at {
        None => None,
        Some(_) if old_required.is_none() || reread => Some(i64::from(revision)),
        Some(_) => old_required,
    };
    let old_audience_all: bool = d::table.find(&row.id).select(d::live_audience_all).get_result(conn)?;
    let old_audience: Vec<String> = aud::table
        .filter(aud::document_id.eq(&row.id))
        .select(aud::committee_code)
        .order(aud::committee_code)
        .load(conn)?;
    let mut new_audience = draft.audience.clone();
    new_audience.sort();
    let recount = required_revision != old_required
        || (required_revision.is_some()
            && (old_audience_all != draft.audience_all || (!draft.audience_all && old_audience != new_audience)));
    diesel::update(d::table.find(&row.id))
        .set((
            d::live_revision.eq(revision),
            d::live_state.eq(state),
            d::live_title.eq(&draft.title),
            d::live_kind.eq(&draft.kind),
            d::live_section.eq(&draft.section),
            d::live_body.eq(&draft.body),
            d::live_audience_all.eq(draft.audience_all),
            d::live_attachments.eq(&attachments),
            d::live_publish_at.eq(draft.publish_at),
            d::live_expires_at.eq(draft.expires_at),
            d::live_published_at.eq(at),
            d::live_search_title.eq(text::fold(&draft.title)),
            d::live_search_text.eq(text::fold(&format!("{} {}", draft.section, draft.body))),
            d::feed_seq.eq(position),
            d::draft_changed.eq(false),
            d::updated_at.eq(at),
            d::required_due_at.eq(required_revision.and(row.draft_required_due_at)),
        ))
        .execute(conn)?;
    if required_revision.is_some() || old_required.is_some() {
        let changed = diesel::update(req::table.find(&row.id))
            .set((req::revision.eq(required_revision), req::reread.eq(false)))
            .execute(conn)?;
        if changed == 0 {
            diesel::insert_into(req::table)
                .values((req::document_id.eq(&row.id), req::revision.eq(required_revision)))
                .execute(conn)?;
        }
    }
    diesel::delete(aud::table.filter(aud::document_id.eq(&row.id))).execute(conn)?;
    diesel::delete(da::table.filter(da::document_id.eq(&row.id))).execute(conn)?;
    let reached: Vec<String> = if draft.audience_all { vec!["*".to_owned()] } else { draft.audience.clone() };
    let already: Vec<String> =
        reach::table.filter(reach::document_id.eq(&row.id)).select(reach::committee_code).load(conn)?;
    for code in reached.iter().filter(|code| !already.contains(code)) {
        diesel::insert_into(reach::table)
            .values((reach::document_id.eq(&row.id), reach::committee_code.eq(code)))
            .execute(conn)?;
    }
    if !draft.audience_all {
        for code in &draft.audience {
            diesel::insert_into(aud::table)
                .values((aud::document_id.eq(&row.id), aud::committee_code.eq(code)))
                .execute(conn)?;
        }
    }
    let shas: BTreeSet<&str> = draft.attachments.iter().map(|a| a.sha256.as_str()).collect();
    for sha in shas {
        diesel::insert_into(da::table).values((da::document_id.eq(&row.id), da::sha256.eq(sha))).execute(conn)?;
    }
    if recount {
        // Who counts changed: one grouped query over this document's reads, in this transaction.
        crate::reading::counters::recount_document(conn, &row.id)?;
    }
    Ok(Published { id: row.id.clone(), revision, status: state.status() })
}

/// Withdraws the live revision: members' devices delete it on their next sync.
pub fn unpublish(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<Unpublished, AppError> {
    conn.write_transaction(|conn| {
        let position = feed::next_position(conn)?;
        let row = find_managed(conn, user, id)?;
        if !row.live_state.is_published() {
            return Err(AppError::Conflict("the document is not published".into()));
        }
        diesel::update(d::table.find(id))
            .set((d::live_state.eq(LiveState::Withdrawn), d::feed_seq.eq(position), d::updated_at.eq(now())))
            .execute(conn)?;
        audit::record(conn, user, "document.unpublish", id, row.owner_committee.as_deref(), json!({}))?;
        Ok(Unpublished { id: id.to_owned(), revision: row.live_revision, status: LiveState::Withdrawn.status() })
    })
}

/// Publishes revision `revision`'s content as a new revision (the draft becomes that content).
pub fn restore(conn: &mut DbConnection, user: &AuthUser, id: &str, revision: i32) -> Result<Published, AppError> {
    conn.write_transaction(|conn| {
        let position = feed::next_position(conn)?;
        let row = find_managed(conn, user, id)?;
        type Old = (String, String, String, String, bool, String, String, Option<NaiveDateTime>, Option<NaiveDateTime>);
        let old: Old = rev::table
            .find((id, revision))
            .select((
                rev::title,
                rev::kind,
                rev::section,
                rev::body,
                rev::audience_all,
                rev::audience,
                rev::attachments,
                rev::publish_at,
                rev::expires_at,
            ))
            .get_result(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        let attachments = stored_attachments(&old.6);
        let fields = DraftFields {
            title: old.0,
            kind: old.1,
            section: old.2,
            body: old.3,
            audience: if old.4 {
                AudienceInput { all: Some(true), committees: None }
            } else {
                AudienceInput { all: None, committees: Some(audience_codes(&old.5)) }
            },
            publish_at: old.7,
            expires_at: old.8,
            attachments: attachments
                .into_iter()
                .map(|a| AttachmentRef { sha256: a.sha256, name: Some(a.name) })
                .collect(),
        };
        let draft = validate(conn, user, fields)?;
        write_draft(conn, id, row.owner_committee.as_deref(), &draft)?;
        let published = write_revision(conn, user, &row, &draft, position)?;
        audit::record(
            conn,
            user,
            "document.restore",
            id,
            row.owner_committee.as_deref(),
            json!({ "from_revision": revision, "revision": published.revision }),
        )?;
        Ok(published)
    })
}
