//! The handbook as members read it: live, visible documents addressed to everyone or to their committee.

use chrono::NaiveDateTime;
use diesel::dsl::exists;
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::{AuthUser, Scope};
use crate::db::schema::{document_audience as aud, documents as d};
use crate::db::DbConnection;
use crate::text;

use super::states::{DocumentKind, LiveState};

/// A document as a device stores it: the same shape in `GET /documents/{id}` and in the sync feed.
#[derive(Clone, Debug, Serialize, Queryable, Selectable, utoipa::ToSchema)]
#[diesel(table_name = d)]
pub struct LiveDocument {
    pub id: String,
    #[diesel(select_expression = d::live_revision.assume_not_null())]
    pub revision: i32,
    #[diesel(select_expression = d::live_kind.assume_not_null())]
    pub kind: DocumentKind,
    #[diesel(select_expression = d::live_section.assume_not_null())]
    pub section: String,
    #[diesel(select_expression = d::live_title.assume_not_null())]
    pub title: String,
    /// Markdown.
    #[diesel(select_expression = d::live_body.assume_not_null())]
    pub body: String,
    #[diesel(select_expression = d::live_published_at.assume_not_null())]
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub published_at: NaiveDateTime,
    #[diesel(select_expression = d::live_expires_at)]
    #[serde(serialize_with = "crate::time::serialize_option")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub expires_at: Option<NaiveDateTime>,
    #[diesel(select_expression = d::live_attachments.assume_not_null())]
    #[serde(serialize_with = "attachments_from_text")]
    #[schema(value_type = Vec<super::attachments::AttachmentMeta>)]
    pub attachments: String,
    /// Required reading: the member should read it by this time; null: not required.
    #[diesel(select_expression = d::required_due_at)]
    #[serde(serialize_with = "crate::time::serialize_option")]
    #[schema(value_type = Option<String>, format = DateTime, required = true)]
    pub required_due_at: Option<NaiveDateTime>,
}

fn attachments_from_text<S: serde::Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    super::documents::stored_attachments(text).serialize(serializer)
}

#[derive(Debug, Default)]
pub struct ReaderFilter {
    pub section: Option<String>,
    pub kind: Option<DocumentKind>,
    pub q: Option<String>,
}

/// Visible documents for the caller, ranked: with `q`, title matches before body matches, then newest first.
pub fn list(
    conn: &mut DbConnection,
    user: &AuthUser,
    filter: &ReaderFilter,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<LiveDocument>, bool)> {
    let mut query = d::table.filter(d::live_state.eq(LiveState::Visible)).into_boxed();
    // The committee whose members' view a caller gets: its own; admins see everything.
    if let Scope::Committee(committee) = user.scope() {
        query = query.filter(
            d::live_audience_all
                .eq(true)
                .or(exists(aud::table.filter(aud::document_id.eq(d::id)).filter(aud::committee_code.eq(committee)))),
        );
    }
    if let Some(section) = &filter.section {
        query = query.filter(d::live_section.eq(section.clone()));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(d::live_kind.eq(*kind));
    }
    let folded = filter.q.as_deref().map(text::fold).filter(|q| !q.is_empty());
    if let Some(q) = &folded {
        let pattern = text::contains_pattern(q);
        query = query.filter(
            d::live_search_title.like(pattern.clone()).escape('\\').or(d::live_search_text.like(pattern).escape('\\')),
        );
    }
    // Rank in memory over the matching keys (a few thousand at most), then load one page of content.
    let mut keys: Vec<(String, Option<String>, Option<NaiveDateTime>)> =
        query.select((d::id, d::live_search_title, d::live_published_at)).load(conn)?;
    keys.sort_by(|a, b| {
        let title_hit = |key: &(String, Option<String>, Option<NaiveDateTime>)| match &folded {
            Some(q) => !key.1.as_deref().unwrap_or_default().contains(q.as_str()),
            None => false,
        };
        (title_hit(a), std::cmp::Reverse(a.2), &a.0).cmp(&(title_hit(b), std::cmp::Reverse(b.2), &b.0))
    });
    let start = (offset as usize).min(keys.len());
    let end = (start + limit as usize).min(keys.len());
    let page: Vec<&str> = keys[start..end].iter().map(|k| k.0.as_str()).collect();
    let mut documents: Vec<LiveDocument> =
        d::table.filter(d::id.eq_any(&page)).select(LiveDocument::as_select()).load(conn)?;
    documents.sort_by_key(|doc| page.iter().position(|id| *id == doc.id));
    Ok((documents, end < keys.len()))
}

/// One visible document the caller may read.
pub fn find(conn: &mut DbConnection, user: &AuthUser, id: &str) -> QueryResult<Option<LiveDocument>> {
    let mut query = d::table.filter(d::id.eq(id)).filter(d::live_state.eq(LiveState::Visible)).into_boxed();
    if let Scope::Committee(committee) = user.scope() {
        query = query.filter(
            d::live_audience_all
                .eq(true)
                .or(exists(aud::table.filter(aud::document_id.eq(d::id)).filter(aud::committee_code.eq(committee)))),
        );
    }
    query.select(LiveDocument::as_select()).get_result(conn).optional()
}
