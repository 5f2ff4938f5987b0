//! Attachments from the editor: a PDF uploaded with a multipart form (stored by `content::attachments::store_upload`,
//! as `POST /api/v1/admin/attachments`, within `attachment_max_bytes`) and attached to the draft
//! (`content::documents::update`, as `PATCH`), and removed from the draft the same way.

use actix_multipart::{Field, Multipart};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt as _;

use crate::content::attachments::{allowed_type, store_upload};
use crate::content::documents::{self, stored_attachments, AttachmentRef, DocumentRow, DraftPatch};
use crate::error::{AppError, FieldError};
use crate::state::AppState;

use super::editor::{editor_response, find, EditorView};
use super::form::in_one_message;
use super::{document_path, form_value};
use crate::web::redirect;
use crate::web::session::{staff_action, Viewer, CSRF_FIELD};

/// What a multipart body may carry besides the file (the CSRF token, boundaries, part headers).
const FORM_ALLOWANCE: u64 = 16 * 1024;
/// The longest text field read (the CSRF token).
const TEXT_FIELD_LIMIT: usize = 1024;
/// The console takes PDF files.
const PDF: &str = "application/pdf";

/// The upload form: `csrf` first (read before anything else), then `file`.
pub(super) async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    mut multipart: Multipart,
) -> HttpResponse {
    let state = state.get_ref();
    // The token comes first in the form, so it is read (a few bytes) before the file; any other first part is kept
    // for the action, which a script may have authorised with the `X-CSRF-Token` header instead.
    let (presented, pending) = match multipart.next().await {
        Some(Ok(mut field)) if field.name() == Some(CSRF_FIELD) => match field.bytes(TEXT_FIELD_LIMIT).await {
            Ok(Ok(bytes)) => (Some(String::from_utf8_lossy(&bytes).into_owned()), None),
            _ => (None, None),
        },
        Some(Ok(field)) => (None, Some(field)),
        _ => (None, None),
    };
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .map(|length| length.saturating_sub(FORM_ALLOWANCE));
    staff_action(state, &req, presented.as_deref(), |viewer| async move {
        // Scope first: nothing of another committee's document is touched, not even the store.
        let row = find(state, &viewer, id.into_inner()).await?;
        let Some(field) = file_field(pending, &mut multipart).await else {
            let refusal = "Hãy chọn một tệp PDF để tải lên.";
            return page_with_error(state, &viewer, row, refusal, StatusCode::UNPROCESSABLE_ENTITY).await;
        };
        let name = field.content_disposition().and_then(|d| d.get_filename()).map(str::to_owned);
        let declared = allowed_type(PDF)?;
        let body = field.map(|chunk| chunk.map_err(multipart_error));
        let stored = store_upload(state, viewer.user.clone(), name.as_deref(), declared, announced, body).await;
        let meta = match stored {
            Ok(meta) => meta,
            Err(error) => return upload_refused(state, &viewer, row, error, state.settings.attachment_max_bytes).await,
        };
        let mut attached: Vec<AttachmentRef> = stored_attachments(&row.attachments)
            .into_iter()
            .map(|a| AttachmentRef { sha256: a.sha256, name: Some(a.name) })
            .collect();
        if !attached.iter().any(|a| a.sha256 == meta.sha256) {
            attached.push(AttachmentRef { sha256: meta.sha256.clone(), name: Some(meta.name.clone()) });
        }
        attach(state, &viewer, row, attached, "attached").await
    })
    .await
}

/// The part named `file`: `pending` if it is, else the next one that is (other parts are skipped).
async fn file_field(pending: Option<Field>, multipart: &mut Multipart) -> Option<Field> {
    if let Some(field) = pending {
        if field.name() == Some("file") {
            return Some(field);
        }
    }
    while let Some(Ok(field)) = multipart.next().await {
        if field.name() == Some("file") {
            return Some(field);
        }
    }
    None
}

fn multipart_error(error: actix_multipart::MultipartError) -> AppError {
    match error {
        actix_multipart::MultipartError::Payload(payload) => crate::error::payload_error(payload),
        other => AppError::BadRequest(format!("the form could not be read: {other}")),
    }
}

/// The editor with the upload's refusal in Vietnamese: 413 past the size limit, 415 for anything but a PDF, 422
/// for an empty file or a bad name.
async fn upload_refused(
    state: &AppState,
    viewer: &Viewer,
    row: DocumentRow,
    error: AppError,
    max_bytes: u64,
) -> Result<HttpResponse, AppError> {
    let (status, message) = match error {
        AppError::PayloadTooLarge => (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("Tệp quá lớn: mỗi tệp đính kèm tối đa {} MB.", max_bytes / (1024 * 1024)),
        ),
        AppError::UnsupportedMediaType(_) => {
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Tệp không phải PDF: chỉ nhận tệp PDF.".to_owned())
        }
        AppError::Validation(errors) => {
            // The API names the upload's bytes `body`; on this form they are the file.
            let errors = errors
                .into_iter()
                .map(|e| if e.field == "body" { FieldError::new("file", e.message) } else { e })
                .collect();
            let message = in_one_message(errors);
            (StatusCode::UNPROCESSABLE_ENTITY, message)
        }
        other => return Err(other),
    };
    page_with_error(state, viewer, row, &message, status).await
}

async fn page_with_error(
    state: &AppState,
    viewer: &Viewer,
    row: DocumentRow,
    message: &str,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    editor_response(state, viewer, EditorView::upload_refused(row, message.to_owned()), status).await
}

/// Sets the draft's attachments (`content::documents::update`), then back to the page saying `notice`.
async fn attach(
    state: &AppState,
    viewer: &Viewer,
    row: DocumentRow,
    attachments: Vec<AttachmentRef>,
    notice: &str,
) -> Result<HttpResponse, AppError> {
    let user = viewer.user.clone();
    let id = row.id.clone();
    let patch = DraftPatch { attachments: Some(attachments), ..DraftPatch::default() };
    match state.db.run(move |conn| documents::update(conn, &user, &id, patch)).await {
        Ok(_) => Ok(redirect(&format!("{}?{notice}=1#attachments", document_path(&row.id)))),
        Err(AppError::Validation(errors)) => {
            let message = in_one_message(errors);
            page_with_error(state, viewer, row, &message, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(other) => Err(other),
    }
}

/// Takes one attachment off the draft (the file stays stored: other documents may use it).
pub(super) async fn remove(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let state = state.get_ref();
    let csrf = form_value(&body, CSRF_FIELD);
    staff_action(state, &req, csrf.as_deref(), |viewer| async move {
        let row = find(state, &viewer, id.into_inner()).await?;
        let sha256 = form_value(&body, "sha256").unwrap_or_default().to_lowercase();
        let kept: Vec<AttachmentRef> = stored_attachments(&row.attachments)
            .into_iter()
            .filter(|a| a.sha256 != sha256)
            .map(|a| AttachmentRef { sha256: a.sha256, name: Some(a.name) })
            .collect();
        attach(state, &viewer, row, kept, "detached").await
    })
    .await
}
