//! The editor: a new document (`/dashboard/documents/new`) or one document's page (`/dashboard/documents/{id}`),
//! with its facts, delivery, the form (save, preview, publish), attachments and unpublish.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup, PreEscaped};

use crate::auth::AuthUser;
use crate::content::documents::{self, stored_attachments, DocumentRow, Published};
use crate::content::markdown;
use crate::content::states::DocumentStatus;
use crate::coverage::report::{self, Reach};
use crate::error::{AppError, FieldError};
use crate::org::store::{list_committees, Committee};
use crate::state::AppState;
use crate::sync::delivery::{self, Delivery};

use super::form::{field_label, in_vietnamese, EditorForm};
use super::{
    document_path, form_value, hanoi_text, kind_options, query_value, size_text, status_badge, LIST_PATH, NEW_PATH,
};
use crate::web::layout::{bar, message_page, number, page};
use crate::web::session::{staff_action, staff_page, Viewer, CSRF_FIELD};
use crate::web::{html_response, redirect};

/// What the editor shows besides the form.
#[derive(Default)]
pub(super) struct EditorView {
    /// The stored document (none: a new one).
    pub(super) row: Option<DocumentRow>,
    pub(super) form: EditorForm,
    /// Field errors, in Vietnamese.
    pub(super) errors: Vec<FieldError>,
    /// An error about the attachments' upload form (413, 415, …), in Vietnamese.
    pub(super) upload_error: Option<String>,
    /// Show the body rendered as the app will.
    pub(super) preview: bool,
    pub(super) notice: Option<String>,
}

/// What the page reads besides the document, in one trip to the database.
struct Extras {
    committees: Vec<Committee>,
    sections: Vec<String>,
    /// What the form's audience reaches; none while no audience is chosen.
    reach: Option<Reach>,
    delivery: Option<Delivery>,
}

pub(super) async fn new_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let state = state.get_ref();
    staff_page(state, &req, |viewer| async move {
        let form = EditorForm::blank(&viewer);
        editor_response(state, &viewer, EditorView { form, ..EditorView::default() }, StatusCode::OK).await
    })
    .await
}

pub(super) async fn edit_page(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let state = state.get_ref();
    let notice = notice(req.query_string());
    staff_page(state, &req, |viewer| async move {
        let row = find(state, &viewer, id.into_inner()).await?;
        let view = EditorView { form: EditorForm::of_draft(&row), row: Some(row), notice, ..EditorView::default() };
        editor_response(state, &viewer, view, StatusCode::OK).await
    })
    .await
}

/// The notice of the action that led here (Post/Redirect/Get).
fn notice(query: &str) -> Option<String> {
    if query_value(query, "saved").is_some() {
        return Some("Đã lưu bản nháp.".to_owned());
    }
    if let Some(revision) = query_value(query, "revision") {
        return Some(match query_value(query, "status").as_deref() {
            Some("scheduled") => {
                format!("Đã hẹn giờ đăng phiên bản {revision}: tài liệu đến thiết bị khi tới giờ đăng.")
            }
            Some("expired") => {
                format!("Đã lưu phiên bản {revision}, nhưng thời điểm hết hiệu lực đã qua nên không hiển thị.")
            }
            _ => format!("Đã đăng phiên bản {revision}: thiết bị của đảng viên nhận được ở lần đồng bộ tới."),
        });
    }
    if query_value(query, "unpublished").is_some() {
        return Some("Đã gỡ tài liệu: thiết bị của đảng viên sẽ xoá tài liệu ở lần đồng bộ tới.".to_owned());
    }
    if query_value(query, "attached").is_some() {
        return Some("Đã tải lên và đính kèm tệp vào bản nháp.".to_owned());
    }
    if query_value(query, "detached").is_some() {
        return Some("Đã gỡ tệp khỏi bản nháp.".to_owned());
    }
    None
}

/// The document if the viewer manages it (the API's rule); 404 otherwise.
pub(super) async fn find(state: &AppState, viewer: &Viewer, id: String) -> Result<DocumentRow, AppError> {
    let user = viewer.user.clone();
    state.db.run(move |conn| documents::find_managed(conn, &user, &id)).await
}

/// Where a publish leads: the document's page, saying which revision and where it stands.
fn published_location(published: &Published) -> String {
    format!("{}?revision={}&status={}", document_path(&published.id), published.revision, published.status.as_str())
}

pub(super) async fn new_submit(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let state = state.get_ref();
    let form = EditorForm::parse(&body);
    let csrf = form.csrf.clone();
    staff_action(state, &req, csrf.as_deref(), |viewer| async move {
        match form.action.as_str() {
            "preview" => {
                let view = EditorView { form, preview: true, ..EditorView::default() };
                editor_response(state, &viewer, view, StatusCode::OK).await
            }
            "save" | "publish" => {
                let input = match form.draft_input() {
                    Ok(input) => input,
                    Err(errors) => return refused(state, &viewer, None, form, errors).await,
                };
                let user = viewer.user.clone();
                let publish = form.action == "publish";
                // Two transactions, as a script calling POST then publish would: publishing takes the feed's lock
                // first, and no transaction may hold a document's row while it waits for that lock.
                let result = state
                    .db
                    .run(move |conn| {
                        let row = documents::create(conn, &user, input)?;
                        let published = if publish { Some(documents::publish(conn, &user, &row.id)?) } else { None };
                        Ok((row.id, published))
                    })
                    .await;
                match result {
                    Ok((_, Some(published))) => Ok(redirect(&published_location(&published))),
                    Ok((id, None)) => Ok(redirect(&format!("{}?saved=1", document_path(&id)))),
                    Err(AppError::Validation(errors)) => {
                        refused(state, &viewer, None, form, in_vietnamese(errors)).await
                    }
                    Err(other) => Err(other),
                }
            }
            _ => Err(AppError::BadRequest("Không rõ thao tác được yêu cầu.".into())),
        }
    })
    .await
}

pub(super) async fn edit_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let state = state.get_ref();
    let form = EditorForm::parse(&body);
    let csrf = form.csrf.clone();
    staff_action(state, &req, csrf.as_deref(), |viewer| async move {
        let row = find(state, &viewer, id.into_inner()).await?;
        match form.action.as_str() {
            "preview" => {
                let view = EditorView { row: Some(row), form, preview: true, ..EditorView::default() };
                editor_response(state, &viewer, view, StatusCode::OK).await
            }
            "save" | "publish" => {
                let patch = match form.draft_patch() {
                    Ok(patch) => patch,
                    Err(errors) => return refused(state, &viewer, Some(row), form, errors).await,
                };
                let user = viewer.user.clone();
                let publish = form.action == "publish";
                // Publishing an unchanged form publishes the stored draft, without an update in between.
                let unchanged = same_draft(&form, &EditorForm::of_draft(&row));
                let id = row.id.clone();
                let result = state
                    .db
                    .run(move |conn| {
                        if !(publish && unchanged) {
                            documents::update(conn, &user, &id, patch)?;
                        }
                        if publish {
                            Ok(Some(documents::publish(conn, &user, &id)?))
                        } else {
                            Ok(None)
                        }
                    })
                    .await;
                match result {
                    Ok(Some(published)) => Ok(redirect(&published_location(&published))),
                    Ok(None) => Ok(redirect(&format!("{}?saved=1", document_path(&row.id)))),
                    Err(AppError::Validation(errors)) => {
                        refused(state, &viewer, Some(row), form, in_vietnamese(errors)).await
                    }
                    Err(other) => Err(other),
                }
            }
            _ => Err(AppError::BadRequest("Không rõ thao tác được yêu cầu.".into())),
        }
    })
    .await
}

/// Whether the form holds what is stored (the fields the form edits).
fn same_draft(typed: &EditorForm, stored: &EditorForm) -> bool {
    let mut typed_codes = typed.committees.clone();
    let mut stored_codes = stored.committees.clone();
    typed_codes.sort();
    stored_codes.sort();
    (&typed.title, &typed.kind, &typed.section, &typed.body, typed.all, &typed.publish_at, &typed.expires_at)
        == (
            &stored.title,
            &stored.kind,
            &stored.section,
            &stored.body,
            stored.all,
            &stored.publish_at,
            &stored.expires_at,
        )
        && typed_codes == stored_codes
        && typed.required_due_at == stored.required_due_at
        && !typed.reread
}

/// The form again, as typed, with what is wrong (`errors` in Vietnamese): 422.
async fn refused(
    state: &AppState,
    viewer: &Viewer,
    row: Option<DocumentRow>,
    form: EditorForm,
    errors: Vec<FieldError>,
) -> Result<HttpResponse, AppError> {
    let view = EditorView { row, form, errors, ..EditorView::default() };
    editor_response(state, viewer, view, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// Withdraws the document (`content::documents::unpublish`, as the API's route).
pub(super) async fn unpublish(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let state = state.get_ref();
    let csrf = form_value(&body, CSRF_FIELD);
    staff_action(state, &req, csrf.as_deref(), |viewer| async move {
        let user = viewer.user.clone();
        let id = id.into_inner();
        let path = document_path(&id);
        match state.db.run(move |conn| documents::unpublish(conn, &user, &id)).await {
            Ok(_) => Ok(redirect(&format!("{path}?unpublished=1"))),
            Err(AppError::Conflict(_)) => Ok(html_response(
                StatusCode::CONFLICT,
                message_page(
                    Some(&viewer),
                    "Không gỡ được",
                    "Tài liệu này chưa được đăng (hoặc đã gỡ) nên không có gì để gỡ.",
                ),
            )),
            Err(other) => Err(other),
        }
    })
    .await
}

/// The committees whose members the form's audience reaches: an officer's is its committee whatever was typed.
fn audience_of(user: &AuthUser, form: &EditorForm) -> Option<Option<Vec<String>>> {
    if let Some(own) = user.scope().into_committee() {
        return Some(Some(vec![own]));
    }
    match (form.all, form.committees.is_empty()) {
        (true, true) => Some(None),
        (false, false) => Some(Some(form.committees.iter().map(|c| c.trim().to_uppercase()).collect())),
        // Nothing chosen, or both: nothing to count until the audience is valid.
        _ => None,
    }
}

/// The editor page with `status`.
pub(super) async fn editor_response(
    state: &AppState,
    viewer: &Viewer,
    view: EditorView,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let user = viewer.user.clone();
    let audience = audience_of(&user, &view.form);
    let id = view.row.as_ref().map(|row| row.id.clone());
    let extras = state
        .db
        .run(move |conn| {
            let committees = if user.is_admin() { list_committees(conn, None)? } else { Vec::new() };
            let sections = documents::sections(conn, &user)?;
            let reach = match audience {
                Some(committees) => Some(report::reach(conn, committees.as_deref())?),
                None => None,
            };
            let delivery = match id {
                Some(id) => Some(delivery::of_document(conn, &user, &id)?),
                None => None,
            };
            Ok(Extras { committees, sections, reach, delivery })
        })
        .await?;
    let title = match &view.row {
        Some(row) => row.title.clone(),
        None => "Soạn tài liệu mới".to_owned(),
    };
    let body = editor_markup(viewer, &view, &extras, state.settings.attachment_max_bytes);
    Ok(html_response(status, page(&title, Some(viewer), body)))
}

fn editor_markup(viewer: &Viewer, view: &EditorView, extras: &Extras, max_bytes: u64) -> Markup {
    let action = match &view.row {
        Some(row) => document_path(&row.id),
        None => NEW_PATH.to_owned(),
    };
    html! {
        p.crumbs { a href=(LIST_PATH) { "← Danh sách tài liệu" } }
        @match &view.row {
            Some(row) => h1 { (row.title) },
            None => h1 { "Soạn tài liệu mới" },
        }
        @if let Some(notice) = &view.notice {
            p.notice role="status" { (notice) }
        }
        @if !view.errors.is_empty() {
            div.errors role="alert" {
                p { strong { "Chưa lưu được. Vui lòng sửa các mục sau:" } }
                ul {
                    @for error in &view.errors {
                        li { a href=(format!("#{}", field_anchor(&error.field))) { (field_label(&error.field)) } ": " (error.message) }
                    }
                }
            }
        }
        @if let Some(row) = &view.row {
            (facts(row))
            @if let Some(delivery) = extras.delivery.as_ref().filter(|d| d.status == DocumentStatus::Published) {
                (delivery_markup(delivery))
            }
        }
        @if view.preview {
            (preview(&view.form))
        }
        section aria-labelledby="editor-heading" {
            h2 #editor-heading { @if view.row.is_some() { "Bản nháp" } @else { "Nội dung" } }
            form.stack method="post" action=(action) {
                (viewer.csrf_field())
                (fields(viewer, view, extras))
                div.actions {
                    button type="submit" name="action" value="save" data-action="save" { "Lưu bản nháp" }
                    button type="submit" name="action" value="preview" data-action="preview" { "Xem trước" }
                    button.primary type="submit" name="action" value="publish" data-action="publish" {
                        "Lưu và đăng"
                    }
                }
                p.hint {
                    "“Lưu và đăng” lưu bản nháp rồi đăng thành một phiên bản mới; nếu “Đăng lúc” còn ở phía trước, "
                    "tài liệu được hẹn giờ và chỉ đến thiết bị khi tới giờ."
                }
            }
        }
        @if view.row.is_none() {
            section aria-labelledby="attachments-heading" {
                h2 #attachments-heading { "Tệp đính kèm" }
                p.muted { "Lưu bản nháp trước, rồi đính kèm tệp PDF ở trang của tài liệu." }
            }
        }
        @if let Some(row) = &view.row {
            (attachments_markup(viewer, row, view.upload_error.as_deref(), max_bytes))
            @if row.status().live_state().is_published() {
                section aria-labelledby="unpublish-heading" {
                    h2 #unpublish-heading { "Gỡ tài liệu" }
                    p { "Gỡ tài liệu khỏi sổ tay: thiết bị của đảng viên sẽ xoá tài liệu ở lần đồng bộ tới. Có thể đăng lại sau." }
                    form method="post" action=(format!("{}/unpublish", document_path(&row.id))) {
                        (viewer.csrf_field())
                        button.danger type="submit" data-action="unpublish"
                            data-confirm="Gỡ tài liệu này khỏi thiết bị của đảng viên?" { "Gỡ tài liệu" }
                    }
                }
            }
        }
    }
}

/// The id of the input that shows `field`.
fn field_anchor(field: &str) -> &'static str {
    match field {
        "title" => "title",
        "kind" => "kind",
        "section" => "section",
        "body" => "body",
        "audience" => "audience",
        "publish_at" => "publish_at",
        "expires_at" => "expires_at",
        "required" => "required_due_at",
        "attachments" => "attachments",
        _ => "editor-heading",
    }
}

/// The errors of one field, next to it, and the attributes that tie them to the input.
fn field_errors(errors: &[FieldError], field: &str) -> Markup {
    let messages: Vec<&str> = errors.iter().filter(|e| e.field == field).map(|e| e.message.as_str()).collect();
    html! {
        @if !messages.is_empty() {
            p.field-error id=(format!("{field}-error")) {
                @for message in messages { (message) " " }
            }
        }
    }
}

fn has_error(errors: &[FieldError], field: &str) -> bool {
    errors.iter().any(|e| e.field == field)
}

fn fields(viewer: &Viewer, view: &EditorView, extras: &Extras) -> Markup {
    let form = &view.form;
    let errors = &view.errors;
    let described = |field: &str| has_error(errors, field).then(|| format!("{field}-error"));
    let invalid = |field: &str| has_error(errors, field).then_some("true");
    html! {
        div {
            label for="title" { "Tiêu đề" }
            input #title type="text" name="title" value=(form.title) required maxlength="500"
                aria-describedby=[described("title")] aria-invalid=[invalid("title")];
            (field_errors(errors, "title"))
        }
        div {
            label for="kind" { "Loại tài liệu" }
            select #kind name="kind" aria-describedby=[described("kind")] aria-invalid=[invalid("kind")] {
                @if form.kind.is_empty() { option value="" selected { "— Chọn loại —" } }
                (kind_options(&form.kind))
            }
            (field_errors(errors, "kind"))
        }
        div {
            label for="section" { "Chuyên mục" }
            input #section type="text" name="section" value=(form.section) list="sections" maxlength="200"
                aria-describedby=[described("section").or(Some("section-hint".to_owned()))] aria-invalid=[invalid("section")];
            datalist #sections {
                @for section in &extras.sections { option value=(section) {} }
            }
            p.hint #section-hint { "Gõ để chọn một chuyên mục đã có, hoặc đặt chuyên mục mới." }
            (field_errors(errors, "section"))
        }
        div {
            label for="body" { "Nội dung (Markdown)" }
            // The new line after the tag keeps a body that starts with one (a browser drops the first).
            textarea #body name="body" rows="18" aria-describedby="body-hint" aria-invalid=[invalid("body")] {
                "\n" (form.body)
            }
            p.hint #body-hint {
                "Viết bằng Markdown: **đậm**, *nghiêng*, # Tiêu đề, - danh sách, [liên kết](https://…). "
                "Mã HTML trong nội dung được hiển thị như chữ, không chạy; ảnh không được tải. "
                "Bấm “Xem trước” để thấy nội dung như trên ứng dụng."
            }
            (field_errors(errors, "body"))
        }
        fieldset #audience aria-describedby=[described("audience")] {
            legend { "Đối tượng nhận" }
            @match viewer.scope().into_committee() {
                Some(own) => {
                    p { "Đảng viên của đảng bộ " strong { (own) } "." }
                    p.hint { "Cán bộ đảng bộ chỉ gửi được tài liệu cho đảng bộ của mình; đối tượng này không đổi được." }
                    input type="hidden" name="committees" value=(own);
                }
                None => {
                    div.checks {
                        label { input type="checkbox" name="all" value="true" checked[form.all]; "Toàn thành phố" }
                    }
                    p.hint { "Hoặc chọn một hay nhiều đảng bộ (không chọn cùng “Toàn thành phố”):" }
                    div.checks.committees {
                        @for c in &extras.committees {
                            label {
                                input type="checkbox" name="committees" value=(c.code)
                                    checked[form.committees.iter().any(|code| code.trim().eq_ignore_ascii_case(&c.code))];
                                (c.code) " — " (c.name)
                            }
                        }
                    }
                }
            }
            (field_errors(errors, "audience"))
            (reach_markup(extras.reach))
        }
        fieldset {
            legend { "Thời gian (giờ Hà Nội, UTC+7)" }
            p.hint #times-hint {
                "Ngày giờ nhập và hiển thị ở đây là giờ Hà Nội (UTC+7); máy chủ lưu theo giờ UTC. "
                "Để trống “Đăng lúc” để tài liệu hiện ngay khi đăng; để trống “Hết hiệu lực lúc” nếu không hết hạn."
            }
            div {
                label for="publish_at" { "Đăng lúc" }
                input #publish_at type="datetime-local" name="publish_at" value=(form.publish_at)
                    aria-describedby=[described("publish_at").or(Some("times-hint".to_owned()))] aria-invalid=[invalid("publish_at")];
                (field_errors(errors, "publish_at"))
            }
            div {
                label for="expires_at" { "Hết hiệu lực lúc" }
                input #expires_at type="datetime-local" name="expires_at" value=(form.expires_at)
                    aria-describedby=[described("expires_at").or(Some("times-hint".to_owned()))] aria-invalid=[invalid("expires_at")];
                (field_errors(errors, "expires_at"))
            }
        }
        fieldset {
            legend { "Học tập nghị quyết (đọc bắt buộc)" }
            p.hint #required-hint {
                "Chọn hạn đọc để đảng viên trong đối tượng nhận phải đọc tài liệu (giờ Hà Nội); để trống nếu không bắt buộc. "
                "Áp dụng khi đăng. Đăng lại bản sửa không tính lại lượt đọc, trừ khi đánh dấu “Yêu cầu đọc lại”."
            }
            div {
                label for="required_due_at" { "Hạn đọc bắt buộc" }
                input #required_due_at type="datetime-local" name="required_due_at" value=(form.required_due_at)
                    aria-describedby=[described("required").or(Some("required-hint".to_owned()))] aria-invalid=[invalid("required")];
                (field_errors(errors, "required"))
            }
            div {
                input #reread type="checkbox" name="reread" value="true" checked[form.reread];
                label for="reread" { "Yêu cầu đọc lại bản được đăng lần tới" }
            }
        }
        (field_errors(errors, "attachments"))
    }
}

/// Before publishing: what the audience reaches, from the coverage counters.
fn reach_markup(reach: Option<Reach>) -> Markup {
    html! {
        @match reach {
            Some(reach) => p.reach #reach aria-live="polite" {
                "Phạm vi khi đăng: " strong data-reach="eligible" { (number(reach.eligible)) } " đảng viên đủ điều kiện, "
                strong data-reach="devices" { (number(reach.devices)) } " thiết bị đã cài ứng dụng."
            },
            None => p.reach #reach { "Chưa chọn đối tượng nhận nên chưa tính được phạm vi." },
        }
    }
}

fn facts(row: &DocumentRow) -> Markup {
    let status = row.status();
    html! {
        section aria-labelledby="facts-heading" {
            h2 #facts-heading { "Tình trạng" }
            dl.facts {
                dt { "Trạng thái" }
                dd { (status_badge(status)) }
                dt { "Phiên bản đang đăng" }
                dd {
                    @match row.live_revision {
                        Some(revision) => { (revision) }
                        None => { "Chưa đăng lần nào" }
                    }
                    @if row.live_revision.is_some() && row.draft_changed {
                        " · " span.muted { "bản nháp có thay đổi chưa đăng" }
                    }
                }
                @if let Some(at) = row.publish_at {
                    dt { "Đăng lúc" } dd { (hanoi_text(at)) " (giờ Hà Nội)" }
                }
                @if let Some(at) = row.expires_at {
                    dt { "Hết hiệu lực lúc" } dd { (hanoi_text(at)) " (giờ Hà Nội)" }
                }
                dt { "Cập nhật lúc" }
                dd { (hanoi_text(row.updated_at)) " (giờ Hà Nội)" }
            }
            @if row.live_revision.is_some() {
                p { a href=(format!("{}/revisions", document_path(&row.id))) { "Các phiên bản, so sánh và khôi phục" } }
            }
        }
    }
}

/// After publishing: how many of the audience's devices hold the latest revision (`sync::delivery`).
fn delivery_markup(delivery: &Delivery) -> Markup {
    let share = if delivery.devices > 0 { delivery.acknowledged as f64 / delivery.devices as f64 } else { 0.0 };
    html! {
        section #delivery aria-labelledby="delivery-heading" {
            h2 #delivery-heading { "Đã đến thiết bị" }
            p.big {
                strong data-delivery="acknowledged" { (number(delivery.acknowledged)) } " / "
                strong data-delivery="devices" { (number(delivery.devices)) }
                " thiết bị của đối tượng nhận đã đồng bộ và xác nhận có phiên bản "
                (delivery.revision.unwrap_or_default()) "."
            }
            (bar(share, "Tỉ lệ thiết bị đã nhận"))
            p.hint {
                "Một thiết bị được tính khi ứng dụng trên đó đã xác nhận một lần đồng bộ có phiên bản này. "
                "Tải lại trang để cập nhật số liệu."
            }
        }
    }
}

/// The body rendered as the app will show it.
fn preview(form: &EditorForm) -> Markup {
    // `to_safe_html` escapes raw HTML, keeps only http/https/mailto links and loads no image: its output is safe to
    // put into the page as it is. Every other text of the page, the title included, is escaped by maud.
    let rendered = markdown::to_safe_html(&form.body);
    html! {
        section #preview aria-labelledby="preview-heading" {
            h2 #preview-heading { "Xem trước" }
            p.hint { "Như đảng viên sẽ thấy trên ứng dụng. Bản xem trước chưa được lưu." }
            article.rendered {
                h1 { (form.title) }
                (PreEscaped(rendered))
            }
        }
    }
}

fn attachments_markup(viewer: &Viewer, row: &DocumentRow, error: Option<&str>, max_bytes: u64) -> Markup {
    let attached = stored_attachments(&row.attachments);
    let path = document_path(&row.id);
    let max_mb = max_bytes / (1024 * 1024);
    html! {
        section #attachments aria-labelledby="attachments-heading" {
            h2 #attachments-heading { "Tệp đính kèm" }
            @if attached.is_empty() {
                p.muted { "Bản nháp chưa có tệp đính kèm." }
            } @else {
                ul.attachments {
                    @for a in &attached {
                        li {
                            span.name { (a.name) } " " span.muted { "(" (size_text(a.size)) ")" }
                            form.inline method="post" action=(format!("{path}/attachments/remove")) {
                                (viewer.csrf_field())
                                input type="hidden" name="sha256" value=(a.sha256);
                                button type="submit" data-action="detach" aria-label=(format!("Gỡ tệp {}", a.name)) { "Gỡ" }
                            }
                        }
                    }
                }
                p.hint { "Tệp đính kèm thuộc bản nháp: đảng viên nhận được khi bản nháp được đăng." }
            }
            @if let Some(error) = error {
                p.errors role="alert" { (error) }
            }
            form.stack method="post" action=(format!("{path}/attachments")) enctype="multipart/form-data" data-progress {
                // First, so that the server checks it before reading the file.
                (viewer.csrf_field())
                div {
                    label for="file" { "Tệp PDF (tối đa " (max_mb) " MB)" }
                    input #file type="file" name="file" accept="application/pdf,.pdf" required aria-describedby="file-hint";
                    p.hint #file-hint { "Chỉ nhận tệp PDF. Tệp được tải lên rồi đính kèm ngay vào bản nháp." }
                }
                progress hidden max="100" {}
                p data-progress-status aria-live="polite" {}
                div.actions {
                    button type="submit" data-action="upload" { "Tải lên và đính kèm" }
                }
            }
        }
    }
}

impl EditorView {
    /// The page of a stored document with an error about an upload.
    pub(super) fn upload_refused(row: DocumentRow, message: String) -> EditorView {
        EditorView {
            form: EditorForm::of_draft(&row),
            row: Some(row),
            upload_error: Some(message),
            ..EditorView::default()
        }
    }
}
