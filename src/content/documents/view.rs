//! The answers about documents: a document as staff manage it, and what publishing, withdrawing and the
//! revision history answer.

use chrono::NaiveDateTime;
use diesel::Queryable;
use serde::Serialize;

use crate::content::attachments::AttachmentMeta;
use crate::content::states::{DocumentKind, DocumentStatus};

use super::store::{audience_codes, stored_attachments, DocumentRow};

impl DocumentRow {
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
            required: self.draft_required_due_at.map(|due_at| RequiredView { due_at: crate::time::rfc3339(due_at) }),
            required_due_at: self.required_due_at.map(crate::time::rfc3339),
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
    /// What the draft asks for required reading (applied at the next publish); null: not required.
    #[schema(required = true)]
    pub required: Option<RequiredView>,
    /// Live: required reading by this time; null: not required.
    #[schema(required = true, format = DateTime)]
    pub required_due_at: Option<String>,
}

/// Required reading as a draft asks for it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RequiredView {
    #[schema(format = DateTime)]
    pub due_at: String,
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Published {
    pub id: String,
    pub revision: i32,
    /// `published`, `scheduled` (its `publish_at` is ahead) or `expired` (its `expires_at` has passed).
    pub status: DocumentStatus,
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
