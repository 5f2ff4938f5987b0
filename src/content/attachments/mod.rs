//! Attachments: uploaded once, stored content-addressed by SHA-256 in `<data dir>/attachments/`, deduplicated,
//! and served with ETag, Range and immutable caching to callers who may see a document that uses them (or a
//! meeting: `crate::meetings::may_download_material`).
//!
//! This module holds the routes and their handlers; the bytes themselves are the blob store's (`store`), the
//! allowed types and their recognition `sniff`'s, and the conditional and ranged download `serve`'s.

use std::path::Path;

use actix_web::http::header::{self, EntityTag};
use actix_web::middleware::from_fn;
use actix_web::{web, HttpRequest, HttpResponse};
use diesel::prelude::*;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::auth::AuthUser;
use crate::content::visibility::caller_may_see_attachment;
use crate::db::schema::attachments;
use crate::db::DbConnection;
use crate::error::{payload_error, AppError, Problem};
use crate::openapi::problems as p;
use crate::openapi::routes::Routes;
use crate::openapi::schemas as s;
use crate::state::AppState;
use crate::time::now;

mod serve;
mod sniff;
mod store;

pub use store::{BlobStore, NewBlob};

/// What a document carries of each attachment.
#[derive(Clone, Debug, PartialEq, Eq, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = attachments)]
pub struct AttachmentMeta {
    /// Lower-case hex SHA-256 of the bytes: the address of `GET /api/v1/attachments/{sha256}`.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub sha256: String,
    /// Bytes.
    #[schema(minimum = 1)]
    pub size: i64,
    #[schema(example = "application/pdf")]
    pub content_type: String,
    /// The file name shown on download.
    pub name: String,
}

/// The stored attachments among `shas` (unknown hashes are simply absent).
pub fn lookup(conn: &mut DbConnection, shas: &[String]) -> QueryResult<Vec<AttachmentMeta>> {
    attachments::table.filter(attachments::sha256.eq_any(shas)).select(AttachmentMeta::as_select()).load(conn)
}

/// Every route of this module, each at the method and path of its `#[utoipa::path]`.
pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_upload, upload)
        .add_route(__path_download, |method| web::method(method).to(download).wrap(from_fn(serve::without_validators)));
}

/// Bytes gathered before each write to the temporary file.
const WRITE_CHUNK: usize = 256 * 1024;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file name shown on download: 1 to 255 characters, no `/`, `\` or control characters (422 without it).
    #[param(required = true, nullable = false, min_length = 1)]
    name: Option<String>,
}

/// Staff. The raw body, with its `Content-Type`, `?name=` the file name shown on download.
#[utoipa::path(
    post,
    path = "/api/v1/admin/attachments",
    tag = "attachments",
    operation_id = "upload_attachment",
    security(("bearer" = [])),
    params(UploadQuery),
    request_body(description = "The file's bytes, sent with its Content-Type (which must match what the bytes are), at most 64 MiB", content((s::Binary = "application/pdf"), (s::Binary = "image/png"), (s::Binary = "image/jpeg"), (s::Binary = "image/webp"), (s::Binary = "image/gif"), (s::Binary = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"), (s::Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (s::Binary = "application/vnd.openxmlformats-officedocument.presentationml.presentation"), (s::Binary = "application/msword"), (s::Binary = "application/vnd.ms-excel"), (s::Binary = "application/vnd.ms-powerpoint"))),
    responses(
        (status = 201, description = "Stored (or already there: the same bytes are stored once)", body = AttachmentMeta),
        p::sets::StaffWrite,
    )
)]
async fn upload(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    upload_response(&state, user, &req, query.into_inner(), payload).await
}

/// The answer to an upload of the API (`POST /api/v1/admin/attachments`, `POST /api/v1/meetings/attachments`),
/// whose caller is already known to be allowed: the raw body with its `Content-Type`, `?name=` the file name.
pub async fn upload_response(
    state: &AppState,
    user: AuthUser,
    req: &HttpRequest,
    query: UploadQuery,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let declared = sniff::declared_type(req)?;
    let announced = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    let body = payload.map(|chunk| chunk.map_err(payload_error));
    let meta = store_upload(state, user, query.name.as_deref(), declared, announced, body).await?;
    Ok(HttpResponse::Created().json(meta))
}

/// An upload, whichever way its bytes arrive (the API's raw body, the console's multipart field): the name
/// checked, the bytes streamed into the blob store within `attachment_max_bytes` (413 past it, and at once when
/// `announced` already says so), their type sniffed against `declared` (415), then the row and the audit entry.
pub async fn store_upload<S>(
    state: &AppState,
    user: AuthUser,
    name: Option<&str>,
    declared: &'static str,
    announced: Option<u64>,
    body: S,
) -> Result<AttachmentMeta, AppError>
where
    S: futures_util::Stream<Item = Result<web::Bytes, AppError>> + Unpin,
{
    let name = check_name(name)?;
    let max = state.settings.attachment_max_bytes;
    if announced.is_some_and(|length| length > max) {
        return Err(AppError::PayloadTooLarge);
    }

    let mut blob = BlobStore::new(&state.settings.data_dir).create().await?;
    let received = match receive(body, &mut blob, declared, max).await {
        Ok(received) => received,
        Err(error) => {
            blob.discard().await;
            return Err(error);
        }
    };
    let Received { size, content_type, last } = received;
    // The file first, then the row: a row always has its file; a file without a row (the transaction
    // failed) is harmless and taken over by the next upload of the same bytes.
    let sha256 = blob.finish(last).await?;

    let size = i64::try_from(size).map_err(|_| AppError::PayloadTooLarge)?;
    state.db.run(move |conn| Ok(record_upload(conn, &user, &sha256, size, content_type, &name)?)).await
}

/// The media type a client declares for an attachment, if it is one of the allowed ones (else 415).
pub fn allowed_type(declared: &str) -> Result<&'static str, AppError> {
    sniff::allowed(declared)
}

/// The `attachments` row (inserted unless already there) and the audit entry, in one transaction.
fn record_upload(
    conn: &mut DbConnection,
    user: &AuthUser,
    sha256: &str,
    size: i64,
    content_type: &str,
    name: &str,
) -> QueryResult<AttachmentMeta> {
    let attempt = |conn: &mut DbConnection| {
        conn.write_transaction(|conn| {
            let existing =
                attachments::table.find(sha256).select(AttachmentMeta::as_select()).get_result(conn).optional()?;
            let meta = match existing {
                Some(meta) => meta,
                None => {
                    diesel::insert_into(attachments::table)
                        .values((
                            attachments::sha256.eq(sha256),
                            attachments::size.eq(size),
                            attachments::content_type.eq(content_type),
                            attachments::name.eq(name),
                            attachments::created_by.eq(user.subject),
                            attachments::created_at.eq(now()),
                        ))
                        .execute(conn)?;
                    AttachmentMeta {
                        sha256: sha256.to_owned(),
                        size,
                        content_type: content_type.to_owned(),
                        name: name.to_owned(),
                    }
                }
            };
            if user.role == crate::auth::Role::Officer {
                if let Some(committee) = &user.committee {
                    crate::content::visibility::grant(conn, committee, &[sha256])?;
                }
            }
            audit::record(
                conn,
                user,
                "attachment.upload",
                sha256,
                user.committee.as_deref(),
                json!({"name": name, "size": size}),
            )?;
            Ok(meta)
        })
    };
    match attempt(conn) {
        // The same bytes uploaded concurrently: the other upload's row won; take it.
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {
            attempt(conn)
        }
        other => other,
    }
}

struct Received {
    size: u64,
    content_type: &'static str,
    /// The bytes not yet written, for `NewBlob::finish`.
    last: web::Bytes,
}

/// Streams the body into `blob` while counting it; checks its type from its first bytes.
async fn receive<S>(mut body: S, blob: &mut NewBlob, declared: &'static str, max: u64) -> Result<Received, AppError>
where
    S: futures_util::Stream<Item = Result<web::Bytes, AppError>> + Unpin,
{
    let mut size: u64 = 0;
    let mut pending = web::BytesMut::new();
    let mut content_type = None;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        if size > max {
            return Err(AppError::PayloadTooLarge);
        }
        pending.extend_from_slice(&chunk);
        if content_type.is_none() && pending.len() >= sniff::SNIFF_LEN {
            content_type = Some(sniff::check_type(&pending, declared)?);
        }
        if content_type.is_some() && pending.len() >= WRITE_CHUNK {
            blob.write(pending.split().freeze()).await?;
        }
    }
    if size == 0 {
        return Err(AppError::validation("body", "the file is empty"));
    }
    let content_type = match content_type {
        Some(found) => found,
        None => sniff::check_type(&pending, declared)?,
    };
    Ok(Received { size, content_type, last: pending.freeze() })
}

/// The file name: required, 1–255 characters once trimmed, NFC, no path separators or control characters.
fn check_name(raw: Option<&str>) -> Result<String, AppError> {
    let raw = raw.unwrap_or_default();
    let bidi_override = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if raw.chars().any(|c| c.is_control() || bidi_override(c)) {
        return Err(AppError::validation("name", "must not contain control characters"));
    }
    let name = crate::text::clean(raw);
    if name.is_empty() {
        return Err(AppError::validation("name", "is required: ?name=<file name>"));
    }
    if name.chars().count() > 255 {
        return Err(AppError::validation("name", "must be at most 255 characters"));
    }
    if name.contains(['/', '\\']) {
        return Err(AppError::validation("name", "must be a file name, without '/' or '\\'"));
    }
    Ok(name)
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Signed in, and allowed to see a document that uses the attachment, or an invitee or manager of a meeting that
/// has it among its materials; anyone else: 404.
#[utoipa::path(
    get,
    path = "/api/v1/attachments/{sha256}",
    tag = "attachments",
    operation_id = "download_attachment",
    security(("bearer" = [])),
    params(("sha256" = String, Path, pattern = "^[0-9a-f]{64}$", description = "The attachment's SHA-256, lower-case hex"), ("Range" = Option<String>, Header, description = "Bytes wanted, e.g. `bytes=0-1023`"), ("If-Range" = Option<String>, Header), ("If-None-Match" = Option<String>, Header), ("If-Match" = Option<String>, Header)),
    responses(
        (status = 200, description = "The bytes", content((s::Binary = "application/pdf"), (s::Binary = "image/png"), (s::Binary = "image/jpeg"), (s::Binary = "image/webp"), (s::Binary = "image/gif"), (s::Binary = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"), (s::Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (s::Binary = "application/vnd.openxmlformats-officedocument.presentationml.presentation"), (s::Binary = "application/msword"), (s::Binary = "application/vnd.ms-excel"), (s::Binary = "application/vnd.ms-powerpoint")), headers(("ETag" = String, description = "The SHA-256, quoted"), ("Cache-Control" = String, description = "`private, max-age=31536000, immutable`"), ("Content-Disposition" = String, description = "`attachment` with the file name"))),
        (status = 206, description = "The requested range of the bytes", content((s::Binary = "application/pdf"), (s::Binary = "image/png"), (s::Binary = "image/jpeg"), (s::Binary = "image/webp"), (s::Binary = "image/gif"), (s::Binary = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"), (s::Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (s::Binary = "application/vnd.openxmlformats-officedocument.presentationml.presentation"), (s::Binary = "application/msword"), (s::Binary = "application/vnd.ms-excel"), (s::Binary = "application/vnd.ms-powerpoint")), headers(("Content-Range" = String), ("ETag" = String))),
        (status = 304, description = "`If-None-Match` names this attachment: not modified", headers(("ETag" = String))),
        (status = 401, response = p::Unauthorized),
        (status = 404, response = p::NotFound),
        (status = 412, description = "`If-Match` names another version", body = Problem, content_type = "application/problem+json"),
        (status = 416, description = "The `Range` cannot be satisfied", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn download(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let sha256 = path.into_inner();
    if !is_sha256(&sha256) {
        return Err(AppError::NotFound);
    }
    let meta = {
        let sha256 = sha256.clone();
        state
            .db
            .run(move |conn| {
                let may_see = caller_may_see_attachment(conn, &user, &sha256)?
                    || crate::meetings::may_download_material(conn, &user, &sha256)?;
                if !may_see {
                    return Ok(None);
                }
                Ok(attachments::table.find(&sha256).select(AttachmentMeta::as_select()).get_result(conn).optional()?)
            })
            .await?
            .ok_or(AppError::NotFound)?
    };

    let etag = EntityTag::new_strong(sha256.clone());
    if let Some(answer) = serve::precondition(&req, &etag) {
        return Ok(answer);
    }
    let file = BlobStore::new(&state.settings.data_dir).open(&sha256).await?;
    serve::respond(&req, &meta, file, &etag)
}

/// Stores bytes already in memory as an attachment (the demo data set uses it; uploads stream instead).
/// Blocking: call it off the actix workers.
pub fn store_bytes(
    conn: &mut DbConnection,
    data_dir: &Path,
    user: &AuthUser,
    bytes: &[u8],
    declared: &'static str,
    name: &str,
) -> Result<AttachmentMeta, AppError> {
    let content_type = sniff::check_type(&bytes[..bytes.len().min(sniff::SNIFF_LEN)], declared)?;
    let sha256 = BlobStore::new(data_dir).put(bytes)?;
    Ok(record_upload(conn, user, &sha256, bytes.len() as i64, content_type, name)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_cleaned() {
        assert_eq!(check_name(Some("  Nghị quyết  số 1.pdf ")).unwrap(), "Nghị quyết số 1.pdf");
        for bad in [None, Some(""), Some("   "), Some("a/b.pdf"), Some("a\\b.pdf"), Some("a\u{0007}.pdf")] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_name(Some(&"x".repeat(255))).is_ok());
        assert!(check_name(Some(&"x".repeat(256))).is_err());
    }
}
