//! What staff send for a draft, and the rules every draft must meet before it is stored.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};

use crate::auth::{AuthUser, Scope};
use crate::content::attachments::{self, AttachmentMeta};
use crate::content::states::DocumentKind;
use crate::content::visibility::caller_may_see_attachment;
use crate::db::schema::committees;
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::text;

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

/// Required reading: members of the audience must read the document by `due_at`.
/// `reread: true` makes the next publish's revision the one to read again (reads of earlier revisions stop
/// counting); otherwise a republish of a required document keeps the revision that first made it required.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequiredInput {
    /// RFC 3339; must be in the future when sent.
    pub due_at: DateTime<Utc>,
    #[serde(default)]
    pub reread: bool,
}

/// Checks a `required` sent by staff: its due date must be ahead.
pub(super) fn check_required(required: Option<&RequiredInput>, now: NaiveDateTime) -> Option<FieldError> {
    required
        .filter(|r| r.due_at.naive_utc() <= now)
        .map(|_| FieldError::new("required", "due_at must be in the future"))
}

/// Adds a field error to the errors of `validate`, or makes one.
pub(super) fn with_error<T>(result: Result<T, AppError>, extra: Option<FieldError>) -> Result<T, AppError> {
    match (result, extra) {
        (Err(AppError::Validation(mut errors)), Some(extra)) => {
            errors.push(extra);
            Err(AppError::Validation(errors))
        }
        (Ok(_), Some(extra)) => Err(AppError::Validation(vec![extra])),
        (result, _) => result,
    }
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
    /// Required reading, applied at publish; null or absent: not required.
    #[serde(default)]
    pub required: Option<RequiredInput>,
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
    /// Required reading, applied at publish; null removes it.
    #[serde(default, deserialize_with = "present")]
    pub required: Option<Option<RequiredInput>>,
}

/// Tells a field sent as `null` (Some(None)) from an absent one (None): `#[serde(default, deserialize_with = …)]`.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(deserializer: D) -> Result<Option<Option<T>>, D::Error> {
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

pub(super) fn naive(at: Option<DateTime<Utc>>) -> Option<NaiveDateTime> {
    at.map(|at| at.naive_utc())
}

/// The raw fields of a draft before validation, whichever way they arrived.
pub(super) struct DraftFields {
    pub(super) title: String,
    pub(super) kind: String,
    pub(super) section: String,
    pub(super) body: String,
    pub(super) audience: AudienceInput,
    pub(super) publish_at: Option<NaiveDateTime>,
    pub(super) expires_at: Option<NaiveDateTime>,
    pub(super) attachments: Vec<AttachmentRef>,
}

/// Checks every rule of a draft at once; an officer may address only its own committee.
pub(super) fn validate(conn: &mut DbConnection, user: &AuthUser, fields: DraftFields) -> Result<Draft, AppError> {
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
