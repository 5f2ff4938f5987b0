//! Attachments: uploaded once, stored content-addressed by SHA-256 in `<data dir>/attachments/`, deduplicated,
//! and served with ETag, Range and immutable caching to callers who may see a document that uses them.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::attachments;
use crate::db::DbConnection;

/// What a document carries of each attachment.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = attachments)]
pub struct AttachmentMeta {
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub name: String,
}

/// The stored attachments among `shas` (unknown hashes are simply absent).
pub fn lookup(conn: &mut DbConnection, shas: &[String]) -> QueryResult<Vec<AttachmentMeta>> {
    attachments::table.filter(attachments::sha256.eq_any(shas)).select(AttachmentMeta::as_select()).load(conn)
}

pub fn configure(_cfg: &mut actix_web::web::ServiceConfig) {}
