//! Documents as stored: the row, its attachments and audience kept as text, who manages which document, and the
//! queries and transactions that create, edit and list drafts.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Deserialize;
use serde_json::json;

use crate::audit;
use crate::auth::{AuthUser, Scope};
use crate::content::attachments::AttachmentMeta;
use crate::content::states::{DocumentKind, DocumentStatus, LiveState};
use crate::db::schema::{document_revisions as rev, documents as d};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::text;
use crate::time::now;

use super::input::{
    check_required, naive, validate, with_error, AttachmentRef, AudienceInput, Draft, DraftFields, DraftInput,
    DraftPatch, RequiredInput,
};
use super::view::RevisionSummary;

/// A document row as staff see it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = d)]
pub struct DocumentRow {
    pub id: String,
    pub owner_committee: Option<String>,
    pub title: String,
    pub kind: DocumentKind,
    pub section: String,
    pub body: String,
    pub audience_all: bool,
    pub audience: String,
    pub attachments: String,
    pub publish_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    pub draft_changed: bool,
    pub live_revision: Option<i32>,
    pub live_state: LiveState,
    pub updated_at: NaiveDateTime,
    /// What the draft asks: required reading by this time (applied at publish).
    pub draft_required_due_at: Option<NaiveDateTime>,
    /// Live: required reading by this time.
    pub required_due_at: Option<NaiveDateTime>,
}

impl DocumentRow {
    /// Where the live revision stands, as staff see it.
    pub fn status(&self) -> DocumentStatus {
        self.live_state.status()
    }

    pub(super) fn draft_fields(&self) -> DraftFields {
        let attachments = stored_attachments(&self.attachments);
        DraftFields {
            title: self.title.clone(),
            kind: self.kind.to_string(),
            section: self.section.clone(),
            body: self.body.clone(),
            audience: if self.audience_all {
                AudienceInput { all: Some(true), committees: None }
            } else {
                AudienceInput { all: None, committees: Some(audience_codes(&self.audience)) }
            },
            publish_at: self.publish_at,
            expires_at: self.expires_at,
            attachments: attachments
                .into_iter()
                .map(|a| AttachmentRef { sha256: a.sha256, name: Some(a.name) })
                .collect(),
        }
    }
}

/// An attachment as stored in a draft or revision (JSON text).
#[derive(Deserialize)]
struct StoredAttachment {
    sha256: String,
    size: i64,
    content_type: String,
    name: String,
}

/// The attachments kept as JSON text on drafts and revisions.
pub fn stored_attachments(text: &str) -> Vec<AttachmentMeta> {
    let stored: Vec<StoredAttachment> = serde_json::from_str(text).unwrap_or_default();
    stored
        .into_iter()
        .map(|a| AttachmentMeta { sha256: a.sha256, size: a.size, content_type: a.content_type, name: a.name })
        .collect()
}

pub(super) fn audience_text(codes: &[String]) -> String {
    codes.join(",")
}

pub(super) fn audience_codes(text: &str) -> Vec<String> {
    text.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect()
}

/// The document, if the caller manages it: admins every one, officers their committee's (others: 404).
pub fn find_managed(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<DocumentRow, AppError> {
    let row =
        d::table.find(id).select(DocumentRow::as_select()).get_result(conn).optional()?.ok_or(AppError::NotFound)?;
    // A document made by an admin belongs to the city: officers do not manage it.
    let allowed = match row.owner_committee.as_deref() {
        Some(owner) => user.manages(owner),
        None => user.is_admin(),
    };
    if allowed {
        Ok(row)
    } else {
        Err(AppError::NotFound)
    }
}

pub(super) fn attachments_json(list: &[AttachmentMeta]) -> String {
    serde_json::to_string(list).expect("attachments serialise")
}

pub fn create(conn: &mut DbConnection, user: &AuthUser, input: DraftInput) -> Result<DocumentRow, AppError> {
    conn.write_transaction(|conn| {
        let fields = DraftFields {
            title: input.title,
            kind: input.kind,
            section: input.section,
            body: input.body,
            audience: input.audience,
            publish_at: naive(input.publish_at),
            expires_at: naive(input.expires_at),
            attachments: input.attachments,
        };
        let required = input.required;
        let draft = with_error(validate(conn, user, fields), check_required(required.as_ref(), now()))?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let at = now();
        let owner = user.scope().into_committee();
        diesel::insert_into(d::table)
            .values((
                d::id.eq(&id),
                d::owner_committee.eq(&owner),
                d::title.eq(&draft.title),
                d::search_title.eq(text::fold(&draft.title)),
                d::kind.eq(&draft.kind),
                d::section.eq(&draft.section),
                d::body.eq(&draft.body),
                d::audience_all.eq(draft.audience_all),
                d::audience.eq(audience_text(&draft.audience)),
                d::attachments.eq(attachments_json(&draft.attachments)),
                d::publish_at.eq(draft.publish_at),
                d::expires_at.eq(draft.expires_at),
                d::draft_changed.eq(true),
                d::live_state.eq(LiveState::Draft),
                d::live_audience_all.eq(false),
                d::feed_seq.eq(0),
                d::created_by.eq(user.subject),
                d::created_at.eq(at),
                d::updated_at.eq(at),
            ))
            .execute(conn)?;
        if required.is_some() {
            write_required(conn, &id, required.as_ref())?;
        }
        grant_attachments(conn, owner.as_deref(), &draft)?;
        audit::record(conn, user, "document.create", &id, owner.as_deref(), json!({ "title": draft.title }))?;
        find_managed(conn, user, &id)
    })
}

pub fn update(conn: &mut DbConnection, user: &AuthUser, id: &str, patch: DraftPatch) -> Result<DocumentRow, AppError> {
    conn.write_transaction(|conn| {
        let row = find_managed(conn, user, id)?;
        let mut fields = row.draft_fields();
        if let Some(title) = patch.title {
            fields.title = title;
        }
        if let Some(kind) = patch.kind {
            fields.kind = kind;
        }
        if let Some(section) = patch.section {
            fields.section = section;
        }
        if let Some(body) = patch.body {
            fields.body = body;
        }
        if let Some(audience) = patch.audience {
            fields.audience = audience;
        }
        if let Some(publish_at) = patch.publish_at {
            fields.publish_at = naive(publish_at);
        }
        if let Some(expires_at) = patch.expires_at {
            fields.expires_at = naive(expires_at);
        }
        if let Some(attachments) = patch.attachments {
            fields.attachments = attachments;
        }
        // A due date is checked when it changes: a draft saved again after its due date passed keeps it.
        let changed = patch
            .required
            .as_ref()
            .and_then(Option::as_ref)
            .filter(|r| Some(r.due_at.naive_utc()) != row.draft_required_due_at);
        let required_error = check_required(changed, now());
        let draft = with_error(validate(conn, user, fields), required_error)?;
        write_draft(conn, id, row.owner_committee.as_deref(), &draft)?;
        if let Some(required) = &patch.required {
            write_required(conn, id, required.as_ref())?;
        }
        audit::record(
            conn,
            user,
            "document.update",
            id,
            row.owner_committee.as_deref(),
            json!({ "title": draft.title }),
        )?;
        find_managed(conn, user, id)
    })
}

/// The attachments a committee's document names stay visible to that committee's staff (`visibility::grant`).
fn grant_attachments(conn: &mut DbConnection, owner: Option<&str>, draft: &Draft) -> QueryResult<()> {
    let Some(committee) = owner else { return Ok(()) };
    let shas: Vec<&str> = draft.attachments.iter().map(|a| a.sha256.as_str()).collect();
    crate::content::visibility::grant(conn, committee, &shas)
}

pub(super) fn write_draft(conn: &mut DbConnection, id: &str, owner: Option<&str>, draft: &Draft) -> QueryResult<()> {
    grant_attachments(conn, owner, draft)?;
    diesel::update(d::table.find(id))
        .set((
            d::title.eq(&draft.title),
            d::search_title.eq(text::fold(&draft.title)),
            d::kind.eq(&draft.kind),
            d::section.eq(&draft.section),
            d::body.eq(&draft.body),
            d::audience_all.eq(draft.audience_all),
            d::audience.eq(audience_text(&draft.audience)),
            d::attachments.eq(attachments_json(&draft.attachments)),
            d::publish_at.eq(draft.publish_at),
            d::expires_at.eq(draft.expires_at),
            d::draft_changed.eq(true),
            d::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Stores what the draft asks for required reading (applied at the next publish).
fn write_required(conn: &mut DbConnection, id: &str, required: Option<&RequiredInput>) -> QueryResult<()> {
    use crate::db::schema::document_requirements as req;
    diesel::update(d::table.find(id))
        .set((d::draft_required_due_at.eq(required.map(|r| r.due_at.naive_utc())), d::draft_changed.eq(true)))
        .execute(conn)?;
    let reread = required.is_some_and(|r| r.reread);
    let changed = diesel::update(req::table.find(id)).set(req::reread.eq(reread)).execute(conn)?;
    if changed == 0 {
        diesel::insert_into(req::table).values((req::document_id.eq(id), req::reread.eq(reread))).execute(conn)?;
    }
    Ok(())
}

pub fn revisions(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<Vec<RevisionSummary>, AppError> {
    find_managed(conn, user, id)?;
    Ok(rev::table
        .filter(rev::document_id.eq(id))
        .order(rev::revision.asc())
        .select((rev::revision, rev::title, rev::published_at, rev::published_by))
        .load(conn)?)
}

/// The title and body of one published revision, for comparing revisions.
#[derive(Clone, Debug, Queryable)]
pub struct RevisionText {
    pub revision: i32,
    pub title: String,
    pub body: String,
}

/// Revision `revision` of a document the caller manages (others, and revisions that do not exist: 404).
pub fn revision_text(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
    revision: i32,
) -> Result<RevisionText, AppError> {
    find_managed(conn, user, id)?;
    rev::table
        .find((id, revision))
        .select((rev::revision, rev::title, rev::body))
        .get_result(conn)
        .optional()?
        .ok_or(AppError::NotFound)
}

/// The sections of the documents the caller manages, for suggesting one (a few thousand documents at most).
pub fn sections(conn: &mut DbConnection, user: &AuthUser) -> QueryResult<Vec<String>> {
    let mut query = d::table.filter(d::section.ne("")).select(d::section).distinct().order(d::section).into_boxed();
    if let Scope::Committee(own) = user.scope() {
        query = query.filter(d::owner_committee.eq(own));
    }
    query.load(conn)
}

#[derive(Debug, Default)]
pub struct StaffFilter {
    pub status: Option<DocumentStatus>,
    /// The draft's kind.
    pub kind: Option<DocumentKind>,
    pub section: Option<String>,
    /// Part of the title (the draft's or the published one), with or without diacritics.
    pub q: Option<String>,
}

/// Documents the caller manages, newest change first, `offset`-paged.
pub fn list_managed(
    conn: &mut DbConnection,
    user: &AuthUser,
    filter: &StaffFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<DocumentRow>> {
    let mut query = d::table.select(DocumentRow::as_select()).order((d::updated_at.desc(), d::id)).into_boxed();
    if let Scope::Committee(own) = user.scope() {
        query = query.filter(d::owner_committee.eq(own));
    }
    if let Some(status) = filter.status {
        query = query.filter(d::live_state.eq(status.live_state()));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(d::kind.eq(kind));
    }
    if let Some(section) = &filter.section {
        query = query.filter(d::section.eq(section.clone()));
    }
    if let Some(q) = filter.q.as_deref().map(text::fold).filter(|q| !q.is_empty()) {
        // Both titles are kept folded (lower case, no diacritics): the draft's and the published one.
        let pattern = text::contains_pattern(&q);
        query = query.filter(
            d::search_title.like(pattern.clone()).escape('\\').or(d::live_search_title.like(pattern).escape('\\')),
        );
    }
    query.limit(limit + 1).offset(offset).load(conn)
}
