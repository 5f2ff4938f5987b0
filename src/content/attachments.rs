//! Attachments: uploaded once, stored content-addressed by SHA-256 in `<data dir>/attachments/`, deduplicated,
//! and served with ETag, Range and immutable caching to callers who may see a document that uses them.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use actix_files::NamedFile;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, EntityTag, ExtendedValue, IfMatch,
    IfNoneMatch, IfRange,
};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpMessage as _, HttpRequest, HttpResponse};
use diesel::prelude::*;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization as _;

use crate::audit;
use crate::auth::AuthUser;
use crate::content::visibility::caller_may_see_attachment;
use crate::db::schema::attachments;
use crate::db::DbConnection;
use crate::error::{payload_error, AppError, Problem};
use crate::files;
use crate::openapi::problems as p;
use crate::openapi::routes::Routes;
use crate::openapi::schemas as s;
use crate::state::AppState;
use crate::time::now;

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
        .add_route(__path_download, |method| web::method(method).to(download).wrap(from_fn(without_validators)));
}

/// How long a client may keep a download: its address names its content, so forever.
const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";
/// Bytes gathered before each write to the temporary file.
const WRITE_CHUNK: usize = 256 * 1024;
/// Bytes needed to recognise every allowed format.
const SNIFF_LEN: usize = 12;

const PDF: &str = "application/pdf";
const PNG: &str = "image/png";
const JPEG: &str = "image/jpeg";
const WEBP: &str = "image/webp";
const GIF: &str = "image/gif";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PPTX: &str = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
const DOC: &str = "application/msword";
const XLS: &str = "application/vnd.ms-excel";
const PPT: &str = "application/vnd.ms-powerpoint";

/// Office Open XML documents are ZIP archives; legacy Office documents are OLE compound files.
const OOXML: [&str; 3] = [DOCX, XLSX, PPTX];
const OLE: [&str; 3] = [DOC, XLS, PPT];
const ALLOWED: [&str; 11] = [PDF, PNG, JPEG, WEBP, GIF, DOCX, XLSX, PPTX, DOC, XLS, PPT];

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct UploadQuery {
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
    let name = check_name(query.into_inner().name.as_deref())?;
    let declared = declared_type(&req)?;
    let max = state.settings.attachment_max_bytes;
    let announced = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if announced.is_some_and(|length| length > max) {
        return Err(AppError::PayloadTooLarge);
    }

    let root = state.settings.data_dir.join("attachments");
    let tmp_dir = root.join("tmp");
    let tmp_path = tmp_dir.join(format!("{}.part", uuid::Uuid::new_v4().simple()));
    let opened = {
        let tmp_path = tmp_path.clone();
        web::block(move || {
            files::create_private_folder(&tmp_dir)?;
            files::create_private_file(&tmp_path)
        })
        .await?
        .map_err(|e| io_error(e, "cannot create a temporary attachment file"))?
    };
    let mut tmp = TempFile(Some(tmp_path));
    let received = match receive(payload, opened, declared, max).await {
        Ok(received) => received,
        Err(error) => {
            tmp.discard().await;
            return Err(error);
        }
    };
    let Received { sha256, size, content_type } = received;

    // The file first, then the row: a row always has its file; a file without a row (the transaction
    // failed) is harmless and taken over by the next upload of the same bytes.
    let stored = root.join(&sha256[..2]).join(&sha256);
    let moving = tmp.0.clone().expect("the temporary file is still ours");
    let placed = web::block(move || -> std::io::Result<()> {
        files::create_private_folder(stored.parent().expect("a folder"))?;
        if stored.exists() {
            std::fs::remove_file(&moving)
        } else {
            std::fs::rename(&moving, &stored)
        }
    })
    .await
    .map_err(AppError::from)
    .and_then(|r| r.map_err(|e| io_error(e, "cannot store an attachment")));
    if let Err(error) = placed {
        tmp.discard().await;
        return Err(error);
    }
    tmp.disarm();

    let size = i64::try_from(size).map_err(|_| AppError::PayloadTooLarge)?;
    let meta = state.db.run(move |conn| Ok(record_upload(conn, &user, &sha256, size, content_type, &name)?)).await?;
    Ok(HttpResponse::Created().json(meta))
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
    sha256: String,
    size: u64,
    content_type: &'static str,
}

/// Streams the body into `file` while hashing and counting it; checks its type from its first bytes.
async fn receive(
    mut payload: web::Payload,
    file: std::fs::File,
    declared: &'static str,
    max: u64,
) -> Result<Received, AppError> {
    let mut sink = Some(Sink { file, hasher: Sha256::new() });
    let mut size: u64 = 0;
    let mut pending = web::BytesMut::new();
    let mut content_type = None;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(payload_error)?;
        size += chunk.len() as u64;
        if size > max {
            return Err(AppError::PayloadTooLarge);
        }
        pending.extend_from_slice(&chunk);
        if content_type.is_none() && pending.len() >= SNIFF_LEN {
            content_type = Some(check_type(&pending, declared)?);
        }
        if content_type.is_some() && pending.len() >= WRITE_CHUNK {
            write(&mut sink, pending.split().freeze()).await?;
        }
    }
    if size == 0 {
        return Err(AppError::validation("body", "the file is empty"));
    }
    let content_type = match content_type {
        Some(found) => found,
        None => check_type(&pending, declared)?,
    };
    let last = pending.freeze();
    let Sink { file, hasher } = sink.take().expect("the sink is back after every write");
    let sha256 = web::block(move || -> std::io::Result<String> {
        let mut file = file;
        let mut hasher = hasher;
        file.write_all(&last)?;
        hasher.update(&last);
        file.sync_all()?;
        Ok(format!("{:x}", hasher.finalize()))
    })
    .await?
    .map_err(|e| io_error(e, "cannot write an attachment"))?;
    Ok(Received { sha256, size, content_type })
}

struct Sink {
    file: std::fs::File,
    hasher: Sha256,
}

/// Writes and hashes `data` off the actix workers.
async fn write(sink: &mut Option<Sink>, data: web::Bytes) -> Result<(), AppError> {
    let Sink { mut file, mut hasher } = sink.take().expect("the sink is back after every write");
    let back = web::block(move || -> std::io::Result<Sink> {
        file.write_all(&data)?;
        hasher.update(&data);
        Ok(Sink { file, hasher })
    })
    .await?
    .map_err(|e| io_error(e, "cannot write an attachment"))?;
    *sink = Some(back);
    Ok(())
}

/// A temporary file that is removed unless kept: on errors explicitly, on cancellation by `Drop`.
struct TempFile(Option<PathBuf>);

impl TempFile {
    async fn discard(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = web::block(move || std::fs::remove_file(path)).await;
        }
    }

    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn_blocking(move || std::fs::remove_file(path))),
                Err(_) => {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
    }
}

fn io_error(error: std::io::Error, context: &'static str) -> AppError {
    AppError::Internal(anyhow::Error::new(error).context(context))
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

/// The declared media type, which must be one of the allowed ones.
fn declared_type(req: &HttpRequest) -> Result<&'static str, AppError> {
    let declared = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default();
    ALLOWED.into_iter().find(|allowed| *allowed == declared).ok_or_else(|| {
        AppError::UnsupportedMediaType(format!(
            "attachments are PDF, PNG, JPEG, WebP, GIF or Microsoft Office documents; send the file with its \
             Content-Type (one of {}){}",
            ALLOWED.join(", "),
            if declared.is_empty() { String::new() } else { format!(", not {declared}") }
        ))
    })
}

/// What the first bytes say the file is, which must be what the client declared.
fn check_type(head: &[u8], declared: &'static str) -> Result<&'static str, AppError> {
    let sniffed = if head.starts_with(b"%PDF-") {
        PDF
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        PNG
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        JPEG
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        WEBP
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        GIF
    } else if head.starts_with(b"PK\x03\x04") {
        if !OOXML.contains(&declared) {
            return Err(AppError::UnsupportedMediaType(format!(
                "the file is a ZIP archive, accepted only as a Word, Excel or PowerPoint document ({}), not {declared}",
                OOXML.join(", ")
            )));
        }
        declared
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        if !OLE.contains(&declared) {
            return Err(AppError::UnsupportedMediaType(format!(
                "the file is a legacy Office document, accepted only as {}, not {declared}",
                OLE.join(", ")
            )));
        }
        declared
    } else {
        return Err(AppError::UnsupportedMediaType(format!(
            "the file is not a PDF, PNG, JPEG, WebP, GIF or Microsoft Office document (it was sent as {declared})"
        )));
    };
    if sniffed != declared {
        return Err(AppError::UnsupportedMediaType(format!("the file is {sniffed} but was sent as {declared}")));
    }
    Ok(sniffed)
}

fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The conditional headers of a download, taken off the request before `NamedFile` sees it: our ETag is
/// the SHA-256, not `NamedFile`'s own (inode, size, mtime), so we judge `If-Match` and `If-None-Match`
/// ourselves, after the access check, and drop `Range` when `If-Range` names another version.
#[derive(Default)]
struct Validators {
    if_match: Option<IfMatch>,
    if_none_match: Option<IfNoneMatch>,
}

/// Runs `download` with the request's conditional headers taken off (see `take_validators`).
async fn without_validators(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    take_validators(&mut req);
    next.call(req).await
}

fn take_validators(req: &mut ServiceRequest) {
    // Only a well-formed hash names a version (and only such a string is a valid entity tag: a '"' would panic).
    let etag =
        req.match_info().get("sha256").filter(|sha| is_sha256(sha)).map(|sha| EntityTag::new_strong(sha.to_owned()));
    if req.headers().contains_key(header::IF_RANGE) {
        let current = match req.get_header::<IfRange>() {
            Some(IfRange::EntityTag(tag)) => etag.as_ref().is_some_and(|etag| etag.strong_eq(&tag)),
            // We send no Last-Modified, so no date names this version.
            _ => false,
        };
        if !current {
            req.headers_mut().remove(header::RANGE);
        }
    }
    let validators =
        Validators { if_match: req.get_header::<IfMatch>(), if_none_match: req.get_header::<IfNoneMatch>() };
    for name in [
        header::IF_MATCH,
        header::IF_NONE_MATCH,
        header::IF_RANGE,
        header::IF_MODIFIED_SINCE,
        header::IF_UNMODIFIED_SINCE,
    ] {
        req.headers_mut().remove(name);
    }
    req.extensions_mut().insert(validators);
}

/// Signed in, and allowed to see a document that uses the attachment; anyone else: 404.
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
                if !caller_may_see_attachment(conn, &user, &sha256)? {
                    return Ok(None);
                }
                Ok(attachments::table.find(&sha256).select(AttachmentMeta::as_select()).get_result(conn).optional()?)
            })
            .await?
            .ok_or(AppError::NotFound)?
    };

    let etag = EntityTag::new_strong(sha256.clone());
    let validators = req.extensions_mut().remove::<Validators>().unwrap_or_default();
    let if_match_fails = match &validators.if_match {
        None | Some(IfMatch::Any) => false,
        Some(IfMatch::Items(tags)) => !tags.iter().any(|tag| tag.strong_eq(&etag)),
    };
    if if_match_fails {
        return Ok(HttpResponse::PreconditionFailed().insert_header((header::ETAG, etag.to_string())).finish());
    }
    let unchanged = match &validators.if_none_match {
        None => false,
        Some(IfNoneMatch::Any) => true,
        Some(IfNoneMatch::Items(tags)) => tags.iter().any(|tag| tag.weak_eq(&etag)),
    };
    if unchanged {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag.to_string()))
            .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
            .finish());
    }

    let stored = blob_path(&state.settings.data_dir, &sha256);
    let file = web::block(move || NamedFile::open(stored)).await?.map_err(|e| {
        AppError::Internal(
            anyhow::Error::new(e).context(format!("attachment {sha256} is recorded but its file cannot be opened")),
        )
    })?;
    let content_type = meta.content_type.parse().unwrap_or(actix_web::mime::APPLICATION_OCTET_STREAM);
    let file = file
        .use_etag(false)
        .use_last_modified(false)
        .set_content_type(content_type)
        .set_content_disposition(disposition(&meta.name));
    let mut res = file.into_response(&req);
    let headers = res.headers_mut();
    headers.insert(header::ETAG, header::HeaderValue::from_str(&etag.to_string()).expect("hex is a valid header"));
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static(CACHE_CONTROL));
    Ok(res)
}

fn blob_path(data_dir: &Path, sha256: &str) -> PathBuf {
    data_dir.join("attachments").join(&sha256[..2]).join(sha256)
}

/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<name>`.
fn disposition(name: &str) -> ContentDisposition {
    let ascii: String = name
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| match c {
            'đ' => 'd',
            'Đ' => 'D',
            c if c.is_ascii() && !c.is_ascii_control() => c,
            _ => '_',
        })
        .collect();
    ContentDisposition {
        disposition: DispositionType::Attachment,
        parameters: vec![
            DispositionParam::Filename(ascii),
            DispositionParam::FilenameExt(ExtendedValue {
                charset: Charset::Ext("UTF-8".to_owned()),
                language_tag: None,
                value: name.as_bytes().to_vec(),
            }),
        ],
    }
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
    let content_type = check_type(&bytes[..bytes.len().min(SNIFF_LEN)], declared)?;
    let sha256: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    let path = blob_path(data_dir, &sha256);
    if !path.exists() {
        let folder = path.parent().expect("blob paths have a folder");
        files::create_private_folder(folder).map_err(|e| io_error(e, "create the attachments folder"))?;
        match files::create_private_file(&path).and_then(|mut file| file.write_all(bytes)) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io_error(e, "write an attachment")),
            _ => {}
        }
    }
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

    #[test]
    fn types_are_sniffed_and_must_match_the_declared_one() {
        assert_eq!(check_type(b"%PDF-1.7\n...", PDF).unwrap(), PDF);
        assert_eq!(check_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", PNG).unwrap(), PNG);
        assert_eq!(check_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F'], JPEG).unwrap(), JPEG);
        assert_eq!(check_type(b"RIFF\x10\0\0\0WEBPVP8 ", WEBP).unwrap(), WEBP);
        assert_eq!(check_type(b"GIF89a\x01\0\x01\0", GIF).unwrap(), GIF);
        assert_eq!(check_type(b"PK\x03\x04\x14\0\x06\0", DOCX).unwrap(), DOCX);
        assert_eq!(check_type(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], XLS).unwrap(), XLS);
        assert!(check_type(b"PK\x03\x04\x14\0\x06\0", PDF).is_err());
        assert!(check_type(b"PK\x03\x04\x14\0\x06\0", DOC).is_err());
        assert!(check_type(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1], DOCX).is_err());
        assert!(check_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", PDF).is_err());
        assert!(check_type(b"hello, world", PDF).is_err());
        assert!(check_type(b"RIFF\x10\0\0\0WAVEfmt ", WEBP).is_err());
    }

    #[test]
    fn the_download_name_has_an_ascii_fallback() {
        let header = disposition("Nghị quyết \"số\" 1.pdf").to_string();
        assert!(
            header.starts_with("attachment; filename=\"Nghi quyet \\\"so\\\" 1.pdf\"; filename*=UTF-8''"),
            "{header}"
        );
    }
}
