//! Serving a download: our ETag is the SHA-256 and the address names the content, so the response is cached
//! forever; conditional requests (`If-Match`, `If-None-Match`, `If-Range`) are judged against that ETag, and
//! `Range` is left to `NamedFile` for a file of the data folder, and answered here with a ranged read for an
//! object of a bucket.

use actix_files::{HttpRange, NamedFile};
use actix_web::body::{MessageBody, SizedStream};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    self, Charset, ContentDisposition, DispositionParam, DispositionType, EntityTag, ExtendedValue, IfMatch,
    IfNoneMatch, IfRange,
};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization as _;

use super::store::{Object, Stored};
use super::{is_sha256, AttachmentMeta};
use crate::error::AppError;

/// How long a client may keep a download: its address names its content, so forever.
const CACHE_CONTROL: &str = "private, max-age=31536000, immutable";

/// The conditional headers of a download, taken off the request before `NamedFile` sees it: our ETag is
/// the SHA-256, not `NamedFile`'s own (inode, size, mtime), so we judge `If-Match` and `If-None-Match`
/// ourselves, after the access check, and drop `Range` when `If-Range` names another version.
#[derive(Default)]
struct Validators {
    if_match: Option<IfMatch>,
    if_none_match: Option<IfNoneMatch>,
}

/// Runs `download` with the request's conditional headers taken off (see `take_validators`).
pub(super) async fn without_validators(
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

/// The answer to the request's `If-Match` (412) or `If-None-Match` (304) for the attachment `etag`, if it has one.
pub(super) fn precondition(req: &HttpRequest, etag: &EntityTag) -> Option<HttpResponse> {
    let validators = req.extensions_mut().remove::<Validators>().unwrap_or_default();
    let if_match_fails = match &validators.if_match {
        None | Some(IfMatch::Any) => false,
        Some(IfMatch::Items(tags)) => !tags.iter().any(|tag| tag.strong_eq(etag)),
    };
    if if_match_fails {
        return Some(HttpResponse::PreconditionFailed().insert_header((header::ETAG, etag.to_string())).finish());
    }
    let unchanged = match &validators.if_none_match {
        None => false,
        Some(IfNoneMatch::Any) => true,
        Some(IfNoneMatch::Items(tags)) => tags.iter().any(|tag| tag.weak_eq(etag)),
    };
    if unchanged {
        return Some(
            HttpResponse::NotModified()
                .insert_header((header::ETAG, etag.to_string()))
                .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
                .finish(),
        );
    }
    None
}

/// The stored blob of `meta` as the download (or the requested range of it), with its ETag and caching.
pub(super) async fn respond(
    req: &HttpRequest,
    meta: &AttachmentMeta,
    stored: Stored,
    etag: &EntityTag,
) -> Result<HttpResponse, AppError> {
    let mut res = match stored {
        Stored::File(file) => from_file(req, meta, file)?,
        Stored::Object(object) => from_object(req, meta, object).await?,
    };
    let headers = res.headers_mut();
    headers.insert(header::ETAG, header::HeaderValue::from_str(&etag.to_string()).expect("hex is a valid header"));
    headers.insert(header::CACHE_CONTROL, header::HeaderValue::from_static(CACHE_CONTROL));
    Ok(res)
}

/// A file of the data folder: `NamedFile` answers the range.
fn from_file(req: &HttpRequest, meta: &AttachmentMeta, file: std::fs::File) -> Result<HttpResponse, AppError> {
    let file = NamedFile::from_file(file, &meta.sha256).map_err(|e| {
        AppError::Internal(
            anyhow::Error::new(e)
                .context(format!("attachment {} is recorded but its file cannot be opened", meta.sha256)),
        )
    })?;
    let file = file
        .use_etag(false)
        .use_last_modified(false)
        .set_content_type(content_type(meta))
        .set_content_disposition(disposition(&meta.name));
    Ok(file.into_response(req))
}

/// An object of the bucket, streamed whole or as the one range asked for (one ranged GET), answered as
/// `NamedFile` answers a file: the same headers, the first range of several, 416 for a range past the end.
async fn from_object(req: &HttpRequest, meta: &AttachmentMeta, object: Object) -> Result<HttpResponse, AppError> {
    let size = u64::try_from(meta.size).unwrap_or_default();
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, content_type(meta).to_string()))
        .insert_header((header::CONTENT_DISPOSITION, disposition(&meta.name).to_string()))
        .insert_header((header::ACCEPT_RANGES, "bytes"));
    let mut range = None;
    // Only a range in bytes is ours to answer; any other unit is ignored (RFC 9110, 14.2).
    if let Some(value) = req.headers().get(header::RANGE).filter(|value| {
        value.to_str().ok().and_then(|v| v.split_once('=')).is_none_or(|(unit, _)| unit.eq_ignore_ascii_case("bytes"))
    }) {
        let Ok(value) = value.to_str() else {
            return Ok(res.status(StatusCode::BAD_REQUEST).finish());
        };
        match HttpRange::parse(value, size).ok().and_then(|ranges| ranges.first().copied()) {
            Some(HttpRange { start, length }) => {
                res.status(StatusCode::PARTIAL_CONTENT)
                    .insert_header((header::CONTENT_RANGE, format!("bytes {start}-{}/{size}", start + length - 1)));
                range = Some(start..start + length);
            }
            None => {
                res.insert_header((header::CONTENT_RANGE, format!("bytes */{size}")));
                return Ok(res.status(StatusCode::RANGE_NOT_SATISFIABLE).finish());
            }
        }
    }
    let length = range.as_ref().map_or(size, |range| range.end - range.start);
    let bytes = object.read(range).await?;
    Ok(res.body(SizedStream::new(length, bytes)))
}

fn content_type(meta: &AttachmentMeta) -> actix_web::mime::Mime {
    meta.content_type.parse().unwrap_or(actix_web::mime::APPLICATION_OCTET_STREAM)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_download_name_has_an_ascii_fallback() {
        let header = disposition("Nghị quyết \"số\" 1.pdf").to_string();
        assert!(
            header.starts_with("attachment; filename=\"Nghi quyet \\\"so\\\" 1.pdf\"; filename*=UTF-8''"),
            "{header}"
        );
    }
}
