//! Documents: a draft that staff edit, and immutable revisions that each publish writes. What members see
//! is the live revision, copied onto the document row so that reading and syncing touch one table.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use crate::audit;
use crate::auth::{AuthUser, Scope};
use crate::db::schema::{
    committees, document_attachments as da, document_audience as aud, document_reach as reach,
    document_revisions as rev, documents as d,
};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::sync::feed;
use crate::text;
use crate::time::now;

use super::attachments::{self, AttachmentMeta};
use super::states::{DocumentKind, DocumentStatus, LiveState};
use super::visibility::caller_may_see_attachment;

pub const MAX_TITLE_CHARS: usize = 500;
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
pub const MAX_ATTACHMENTS: usize = 50;

/// Either `{"all": true}` or `{"committees": ["HK", …]}` (an officer: its own committee only).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceInput {
    pub all: Option<bool>,
    #[schema(min_items = 1)]
    pub committees: Option<Vec<String>>,
}

/// An uploaded attachment, and the name to show for it (default: its upload name).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRef {
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    pub sha256: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// A new draft.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftInput {
    /// 1 to 500 characters.
    #[schema(min_length = 1)]
    pub title: String,
    // Checked with the other fields (422), not by the JSON parser.
    #[schema(value_type = DocumentKind)]
    pub kind: String,
    /// At most 200 characters.
    #[serde(default)]
    pub section: String,
    /// Markdown, at most 1 MiB.
    pub body: String,
    pub audience: AudienceInput,
    pub publish_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub attachments: Vec<AttachmentRef>,
}

/// A partial update: absent fields stay; `publish_at`/`expires_at` set to null are cleared.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftPatch {
    #[schema(min_length = 1)]
    pub title: Option<String>,
    pub kind: Option<String>,
    pub section: Option<String>,
    pub body: Option<String>,
    pub audience: Option<AudienceInput>,
    #[serde(default, deserialize_with = "present")]
    pub publish_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "present")]
    pub expires_at: Option<Option<DateTime<Utc>>>,
    pub attachments: Option<Vec<AttachmentRef>>,
}

/// Tells a field sent as `null` (Some(None)) from an absent one (None).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A validated draft, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    pub title: String,
    pub kind: DocumentKind,
    pub section: String,
    pub body: String,
    pub audience_all: bool,
    pub audience: Vec<String>,
    pub publish_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    pub attachments: Vec<AttachmentMeta>,
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

fn audience_text(codes: &[String]) -> String {
    codes.join(",")
}

fn audience_codes(text: &str) -> Vec<String> {
    text.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect()
}

fn naive(at: Option<DateTime<Utc>>) -> Option<NaiveDateTime> {
    at.map(|at| at.naive_utc())
}

/// The raw fields of a draft before validation, whichever way they arrived.
struct DraftFields {
    title: String,
    kind: String,
    section: String,
    body: String,
    audience: AudienceInput,
    publish_at: Option<NaiveDateTime>,
    expires_at: Option<NaiveDateTime>,
    attachments: Vec<AttachmentRef>,
}

/// Checks every rule of a draft at once; an officer may address only its own committee.
fn validate(conn: &mut DbConnection, user: &AuthUser, fields: DraftFields) -> Result<Draft, AppError> {
    let mut errors = Vec::new();
    let title = text::clean(&fields.title);
    if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
        errors.push(FieldError::new("title", format!("1 to {MAX_TITLE_CHARS} characters")));
    }
    let kind = fields.kind.parse::<DocumentKind>();
    if kind.is_err() {
        errors.push(FieldError::new("kind", format!("one of {}", DocumentKind::one_of())));
    }
    let section = text::clean(&fields.section);
    if section.chars().count() > 200 {
        errors.push(FieldError::new("section", "at most 200 characters"));
    }
    let body = text::nfc(&fields.body);
    if body.len() > MAX_BODY_BYTES {
        errors.push(FieldError::new("body", "at most 1 MiB"));
    }
    let (audience_all, audience) = match (fields.audience.all, fields.audience.committees) {
        (Some(true), None) => (true, Vec::new()),
        (None | Some(false), Some(codes)) if !codes.is_empty() => {
            let codes: BTreeSet<String> = codes.iter().map(|c| c.trim().to_uppercase()).collect();
            let known: Vec<String> =
                committees::table.filter(committees::code.eq_any(&codes)).select(committees::code).load(conn)?;
            for code in codes.iter().filter(|c| !known.contains(c)) {
                errors.push(FieldError::new("audience", format!("no such committee: {code}")));
            }
            (false, codes.into_iter().collect())
        }
        _ => {
            errors.push(FieldError::new("audience", r#"either {"all": true} or {"committees": ["HK", …]}"#));
            (false, Vec::new())
        }
    };
    if let Scope::Committee(own) = user.scope() {
        if audience_all || audience.iter().any(|code| *code != own) {
            errors.push(FieldError::new("audience", "an officer may address only its own committee"));
        }
    }
    if let (Some(from), Some(until)) = (fields.publish_at, fields.expires_at) {
        if until <= from {
            errors.push(FieldError::new("expires_at", "must be after publish_at"));
        }
    }
    if fields.attachments.len() > MAX_ATTACHMENTS {
        errors.push(FieldError::new("attachments", format!("at most {MAX_ATTACHMENTS}")));
    }
    let wanted: Vec<String> = fields.attachments.iter().map(|a| a.sha256.to_lowercase()).collect();
    // A document names only attachments its author may see; one the author may not see is answered as if it did
    // not exist, so that naming a hash tells nobody whether it is stored.
    let mut stored = Vec::new();
    for meta in attachments::lookup(conn, &wanted)? {
        if caller_may_see_attachment(conn, user, &meta.sha256)? {
            stored.push(meta);
        }
    }
    let mut resolved = Vec::new();
    for reference in &fields.attachments {
        match stored.iter().find(|meta| meta.sha256 == reference.sha256.to_lowercase()) {
            Some(meta) => {
                let name = reference.name.as_deref().map(text::clean).filter(|n| !n.is_empty());
                resolved.push(AttachmentMeta { name: name.unwrap_or_else(|| meta.name.clone()), ..meta.clone() });
            }
            None => errors.push(FieldError::new("attachments", format!("no uploaded attachment {}", reference.sha256))),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    Ok(Draft {
        title,
        kind: kind.expect("validated"),
        section,
        body,
        audience_all,
        audience,
        publish_at: fields.publish_at,
        expires_at: fields.expires_at,
        attachments: resolved,
    })
}

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
}

impl DocumentRow {
    /// Where the live revision stands, as staff see it.
    pub fn status(&self) -> DocumentStatus {
        self.live_state.status()
    }

    fn draft_fields(&self) -> DraftFields {
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

    pub fn view(&self) -> DocumentView {
        DocumentView {
            id: self.id.clone(),
            status: self.status(),
            revision: self.live_revision,
            draft_changed: self.draft_changed,
            owner_committee: self.owner_committee.clone(),
            title: self.title.clone(),
            kind: self.kind,
            section: self.section.clone(),
            body: self.body.clone(),
            audience: Audience::of(self.audience_all, &self.audience),
            publish_at: self.publish_at.map(crate::time::rfc3339),
            expires_at: self.expires_at.map(crate::time::rfc3339),
            attachments: stored_attachments(&self.attachments),
            updated_at: crate::time::rfc3339(self.updated_at),
        }
    }
}

/// A document as staff manage it: its draft, and where its live revision stands.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentView {
    pub id: String,
    pub status: DocumentStatus,
    /// The live revision; null before the first publish.
    #[schema(required = true)]
    pub revision: Option<i32>,
    /// The draft differs from the live revision.
    pub draft_changed: bool,
    /// The officer's committee that owns it; null for documents made by admins.
    #[schema(required = true)]
    pub owner_committee: Option<String>,
    pub title: String,
    pub kind: DocumentKind,
    pub section: String,
    /// Markdown.
    pub body: String,
    pub audience: Audience,
    #[schema(required = true, format = DateTime)]
    pub publish_at: Option<String>,
    #[schema(required = true, format = DateTime)]
    pub expires_at: Option<String>,
    pub attachments: Vec<AttachmentMeta>,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// Who may read a document: everyone, or the members of the listed committees.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Audience {
    All {
        #[schema(schema_with = always_true)]
        all: bool,
    },
    Committees {
        committees: Vec<String>,
    },
}

impl Audience {
    fn of(all: bool, codes: &str) -> Audience {
        if all {
            Audience::All { all: true }
        } else {
            Audience::Committees { committees: audience_codes(codes) }
        }
    }
}

/// `true`, the only value of `{"all": true}`.
fn always_true() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Boolean)
        .enum_values(Some([true]))
        .build()
}

/// A withdrawn document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Unpublished {
    pub id: String,
    /// The revision that was live.
    #[schema(required = true)]
    pub revision: Option<i32>,
    pub status: DocumentStatus,
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

fn attachments_json(list: &[AttachmentMeta]) -> String {
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
        let draft = validate(conn, user, fields)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        let at = now();
        let owner = user.scope().into_committee();
        diesel::insert_into(d::table)
            .values((
                d::id.eq(&id),
                d::owner_committee.eq(&owner),
                d::title.eq(&draft.title),
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
        let draft = validate(conn, user, fields)?;
        write_draft(conn, id, row.owner_committee.as_deref(), &draft)?;
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
    super::visibility::grant(conn, committee, &shas)
}

fn write_draft(conn: &mut DbConnection, id: &str, owner: Option<&str>, draft: &Draft) -> QueryResult<()> {
    grant_attachments(conn, owner, draft)?;
    diesel::update(d::table.find(id))
        .set((
            d::title.eq(&draft.title),
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Published {
    pub id: String,
    pub revision: i32,
    /// `published`, `scheduled` (its `publish_at` is ahead) or `expired` (its `expires_at` has passed).
    pub status: DocumentStatus,
}

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
        ))
        .execute(conn)?;
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

#[derive(Debug, Serialize, Queryable, utoipa::ToSchema)]
pub struct RevisionSummary {
    pub revision: i32,
    pub title: String,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub published_at: NaiveDateTime,
    /// The publisher's staff login.
    pub published_by: String,
}

pub fn revisions(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<Vec<RevisionSummary>, AppError> {
    find_managed(conn, user, id)?;
    Ok(rev::table
        .filter(rev::document_id.eq(id))
        .order(rev::revision.asc())
        .select((rev::revision, rev::title, rev::published_at, rev::published_by))
        .load(conn)?)
}

#[derive(Debug, Default)]
pub struct StaffFilter {
    pub status: Option<DocumentStatus>,
    pub section: Option<String>,
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
    if let Some(section) = &filter.section {
        query = query.filter(d::section.eq(section.clone()));
    }
    if let Some(q) = filter.q.as_deref().map(text::fold).filter(|q| !q.is_empty()) {
        // Drafts have no folded copy: compare the folded query with the title as typed, case aside.
        let pattern = text::contains_pattern(&q);
        query = query
            .filter(d::live_search_title.like(pattern.clone()).escape('\\').or(d::title.like(pattern).escape('\\')));
    }
    query.limit(limit + 1).offset(offset).load(conn)
}
