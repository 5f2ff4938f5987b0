//! The member import from the console: `GET /dashboard/members/import` (the upload form), `POST` of the form
//! (multipart: `csrf` first, then `file`, then the button pressed, `mode` = `dry-run` or `import`), and
//! `POST /dashboard/members/import/{upload}` (import the file that passed its dry run, kept on the server, see
//! `kept`). Both run `org::import::import_as`, the function of `POST /api/v1/admin/members/import`: the same
//! validation, scope (an officer: rows of its committee only), all-or-nothing transaction and audit entry. Row
//! problems are shown in Vietnamese (`org::import::Problem::vietnamese`), with their line and column.
//!
//! The file streams to disk as it arrives (never whole in memory during the upload), and is read once into memory
//! for the import itself, which needs it whole: one copy of the file in memory, plus the parsed rows.

use actix_multipart::{Field, Multipart};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::AppError;
use crate::org::import::{self, ImportError, ImportOutcome, MemberRow, Rejection};
use crate::org::routes::IMPORT_LIMIT;
use crate::state::AppState;

use super::super::layout::{number, page};
use super::super::session::{staff_action, staff_page, Viewer, CSRF_FIELD};
use super::super::{html_response, redirect};
use super::kept::{self, Incoming, KEEP_MINUTES};
use super::{member_header_cells, status_label, IMPORT_PATH, MEMBERS_PATH};

/// Room for the multipart framing and the small fields around the file, on top of the file's own limit.
const FORM_SLACK: u64 = 64 * 1024;

const CHOOSE_FILE: &str = "Hãy chọn một tệp CSV để tải lên.";
const TOO_LARGE: &str = "Tệp lớn hơn giới hạn 128 MiB nên không được nhận. Hãy chia tệp thành nhiều phần.";
const EXPIRED: &str = "Tệp đã kiểm tra không còn được giữ trên máy chủ (quá thời hạn hoặc đã nhập). \
                       Vui lòng chọn lại tệp.";
const BAD_FORM: &str = "Biểu mẫu tải lên không đọc được. Vui lòng tải lại trang rồi thử lại.";

/// The notice after an import (Post/Redirect/Get): what it did.
#[derive(Debug, Default, Deserialize)]
pub(super) struct DoneQuery {
    created: Option<String>,
    updated: Option<String>,
    unchanged: Option<String>,
}

pub(super) async fn import_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    done: web::Query<DoneQuery>,
) -> HttpResponse {
    let state = state.get_ref();
    staff_page(state, &req, |viewer| async move {
        let count = |value: &Option<String>| value.as_deref().and_then(|v| v.parse::<i64>().ok());
        let done = match (count(&done.created), count(&done.updated), count(&done.unchanged)) {
            (Some(created), Some(updated), Some(unchanged)) => Some((created, updated, unchanged)),
            _ => None,
        };
        let body = html! {
            @if let Some((created, updated, unchanged)) = done {
                p.notice role="status" {
                    "Đã nhập xong: " (number(created)) " đảng viên mới, " (number(updated)) " cập nhật, "
                    (number(unchanged)) " không thay đổi. "
                    a href=(MEMBERS_PATH) { "Xem danh sách đảng viên" }
                }
            }
            (form_section(&viewer, None))
        };
        Ok(html_response(StatusCode::OK, page("Nhập danh sách đảng viên", Some(&viewer), body)))
    })
    .await
}

/// The upload. The CSRF token is the form's first field: it is read, and the session checked, before a byte of
/// the file is.
pub(super) async fn upload(state: web::Data<AppState>, req: HttpRequest, mut form: Multipart) -> HttpResponse {
    let state = state.get_ref();
    let announced = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    let too_large = announced.is_some_and(|length| length > IMPORT_LIMIT as u64 + FORM_SLACK);
    let csrf = first_csrf_field(&mut form).await;
    staff_action(state, &req, csrf.as_deref(), |viewer| async move {
        if too_large {
            return Ok(form_answer(&viewer, StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE));
        }
        receive_and_import(state, &viewer, form).await
    })
    .await
}

/// `POST /dashboard/members/import/{upload}`: the file that passed its dry run, imported without a second upload.
/// A multipart form like the upload's (its CSRF token first), so that the shared script shows that the server is
/// working while a large file is imported.
pub(super) async fn import_kept(
    state: web::Data<AppState>,
    req: HttpRequest,
    upload: web::Path<String>,
    mut form: Multipart,
) -> HttpResponse {
    let state = state.get_ref();
    let csrf = first_csrf_field(&mut form).await;
    let upload = upload.into_inner();
    staff_action(state, &req, csrf.as_deref(), |viewer| async move {
        let Some(bytes) = kept::take(&state.settings.data_dir, viewer.subject, &upload).await? else {
            return Ok(form_answer(&viewer, StatusCode::GONE, EXPIRED));
        };
        match import::import_as(state, &viewer, bytes, false).await {
            Ok(outcome) => Ok(done_redirect(&outcome)),
            Err(ImportError::Rejected(rejection)) => Ok(rejection_answer(&viewer, &rejection, false)),
            Err(ImportError::Failed(error)) => Err(error),
        }
    })
    .await
}

/// The value of the form's first field if it is the CSRF token (at most a few hundred bytes are read).
async fn first_csrf_field(form: &mut Multipart) -> Option<String> {
    let mut field = form.next().await?.ok()?;
    if field.name() != Some(CSRF_FIELD) {
        return None;
    }
    read_text(&mut field, 256).await
}

async fn read_text(field: &mut Field, limit: usize) -> Option<String> {
    let mut out = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.ok()?;
        if out.len() + chunk.len() > limit {
            return None;
        }
        out.extend_from_slice(&chunk);
    }
    String::from_utf8(out).ok()
}

fn bad_form(error: actix_multipart::MultipartError) -> AppError {
    tracing::debug!(%error, "a member upload could not be read");
    AppError::BadRequest(BAD_FORM.into())
}

async fn receive_and_import(state: &AppState, viewer: &Viewer, mut form: Multipart) -> Result<HttpResponse, AppError> {
    let mut upload: Option<(Incoming, String)> = None;
    let mut mode = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(bad_form)?;
        match field.name() {
            Some("file") => {
                let file_name = field
                    .content_disposition()
                    .and_then(|d| d.get_filename())
                    .map(|name| name.chars().take(200).collect::<String>())
                    .unwrap_or_default();
                let mut incoming = Incoming::start(&state.settings.data_dir, viewer.subject).await?;
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(bad_form)?;
                    if incoming.size() + chunk.len() as u64 > IMPORT_LIMIT as u64 {
                        return Ok(form_answer(viewer, StatusCode::PAYLOAD_TOO_LARGE, TOO_LARGE));
                    }
                    incoming.write(&chunk).await?;
                }
                upload = Some((incoming, file_name));
            }
            Some("mode") => mode = read_text(&mut field, 32).await,
            _ => while field.next().await.is_some() {},
        }
    }
    let Some((mut incoming, file_name)) = upload.filter(|(incoming, _)| incoming.size() > 0) else {
        return Ok(form_answer(viewer, StatusCode::UNPROCESSABLE_ENTITY, CHOOSE_FILE));
    };
    // Without a button's word (a script that sent the form by itself), only look.
    let dry_run = mode.as_deref() != Some("import");
    let size = incoming.size();
    let bytes = incoming.contents().await?;
    match import::import_as(state, viewer, bytes, dry_run).await {
        Ok(outcome) if dry_run => {
            let id = incoming.keep().await?;
            let body = preview_markup(viewer, &outcome, &file_name, size, &id);
            Ok(html_response(StatusCode::OK, page("Kết quả kiểm tra tệp", Some(viewer), body)))
        }
        Ok(outcome) => Ok(done_redirect(&outcome)),
        Err(ImportError::Rejected(rejection)) => Ok(rejection_answer(viewer, &rejection, dry_run)),
        Err(ImportError::Failed(error)) => Err(error),
    }
}

fn done_redirect(outcome: &ImportOutcome) -> HttpResponse {
    redirect(&format!(
        "{IMPORT_PATH}?created={}&updated={}&unchanged={}",
        outcome.created, outcome.updated, outcome.unchanged
    ))
}

/// The form again, with why nothing happened.
fn form_answer(viewer: &Viewer, status: StatusCode, error: &str) -> HttpResponse {
    html_response(status, page("Nhập danh sách đảng viên", Some(viewer), form_section(viewer, Some(error))))
}

fn form_section(viewer: &Viewer, error: Option<&str>) -> Markup {
    html! {
        section {
            h1 { "Nhập danh sách đảng viên" }
            @if let Some(error) = error {
                p.errors role="alert" { (error) }
            }
            (upload_form(viewer))
        }
    }
}

fn upload_form(viewer: &Viewer) -> Markup {
    html! {
        form.stack method="post" action=(IMPORT_PATH) enctype="multipart/form-data" data-progress {
            // First: the server checks the token before it reads the file.
            (viewer.csrf_field())
            div {
                label for="file" { "Tệp CSV danh sách đảng viên" }
                input #file type="file" name="file" accept=".csv,text/csv" required aria-describedby="file-hint";
                div.hint #file-hint {
                    p {
                        "Dòng đầu tiên ghi tên các cột: " code { "card_number, full_name, committee_code, unit, cell, status" }
                        ", thêm " code { "birth_date" } " (năm-tháng-ngày) và " code { "phone" } " nếu có; thứ tự tuỳ ý, "
                        "ngăn cách bằng dấu phẩy hoặc chấm phẩy, mã UTF-8, tối đa 128 MiB. Trạng thái: "
                        code { "eligible" } " (đủ điều kiện), " code { "exempt" } " (miễn sinh hoạt), "
                        code { "left" } " (đã rời)."
                    }
                    p {
                        @if let Some(own) = viewer.scope().committee() {
                            "Bạn chỉ nhập được đảng viên của đảng bộ " strong { (own) } "; việc chuyển đảng viên sang "
                            "đảng bộ khác do thành phố thực hiện. "
                        }
                        "Số thẻ đã có thì cập nhật, chưa có thì thêm mới. Có một dòng lỗi là không ghi dòng nào."
                    }
                }
            }
            progress hidden max="100" aria-label="Tiến độ tải lên" {}
            p data-progress-status aria-live="polite" {}
            div.actions {
                button type="submit" name="mode" value="dry-run" data-action="dry-run" { "Kiểm tra trước (chưa ghi)" }
                button.primary type="submit" name="mode" value="import" data-action="import" { "Nhập ngay" }
            }
        }
    }
}

/// A column of the member file, as an officer knows it.
fn column_label(field: &str) -> Option<&'static str> {
    Some(match field {
        "card_number" => "Số thẻ",
        "full_name" => "Họ và tên",
        "committee_code" => "Mã đảng bộ",
        "unit" => "Đơn vị",
        "cell" => "Chi bộ",
        "status" => "Trạng thái",
        "birth_date" => "Ngày sinh",
        "phone" => "Điện thoại",
        "header" => "Dòng tiêu đề",
        "row" => "Cả dòng",
        _ => return None,
    })
}

fn rejection_answer(viewer: &Viewer, rejection: &Rejection, dry_run: bool) -> HttpResponse {
    let shown = rejection.errors.len();
    let body = html! {
        section {
            h1 { "Tệp có lỗi — chưa ghi gì" }
            p.errors role="alert" {
                "Tệp có " (number(rejection.total as i64)) " lỗi nên "
                @if dry_run { "không thể nhập" } @else { "không đảng viên nào được thêm hay sửa" }
                ". Hãy sửa các dòng dưới đây rồi tải tệp lên lại."
            }
            @if shown < rejection.total {
                p.muted { "Hiển thị " (number(shown as i64)) " lỗi đầu tiên trên tổng số " (number(rejection.total as i64)) "." }
            }
            div.scroll tabindex="0" role="region" aria-label="Bảng các dòng lỗi" {
                table.row-errors {
                    thead {
                        tr {
                            th.num scope="col" { "Dòng" }
                            th scope="col" { "Cột" }
                            th scope="col" { "Lỗi" }
                        }
                    }
                    tbody {
                        @for error in &rejection.errors {
                            tr {
                                td.num { (error.line) }
                                td {
                                    @match column_label(&error.field) {
                                        Some(label) => { (label) " " code { (error.field) } }
                                        None => { code { (error.field) } }
                                    }
                                }
                                td.problem { (error.problem.vietnamese()) }
                            }
                        }
                    }
                }
            }
        }
        (form_section(viewer, None))
    };
    html_response(StatusCode::UNPROCESSABLE_ENTITY, page("Tệp có lỗi", Some(viewer), body))
}

fn preview_markup(viewer: &Viewer, outcome: &ImportOutcome, file_name: &str, size: u64, id: &str) -> Markup {
    let samples = &outcome.samples;
    let changes = outcome.created + outcome.updated;
    html! {
        section {
            h1 { "Kết quả kiểm tra — chưa ghi gì" }
            p.muted {
                "Tệp " @if !file_name.is_empty() { strong { (file_name) } " " } "(" (size_text(size)) ") hợp lệ. "
                "Nếu nhập bây giờ:"
            }
            div.cards {
                div.card { span.label { "Sẽ thêm mới" } span.value { (number(outcome.created as i64)) } }
                div.card { span.label { "Sẽ cập nhật" } span.value { (number(outcome.updated as i64)) } }
                div.card { span.label { "Không thay đổi" } span.value { (number(outcome.unchanged as i64)) } }
            }
            form method="post" action=(format!("{IMPORT_PATH}/{id}")) enctype="multipart/form-data" data-progress {
                (viewer.csrf_field())
                progress hidden max="100" aria-label="Tiến độ nhập" {}
                p data-progress-status aria-live="polite" {}
                div.actions {
                    button.primary type="submit" data-action="import" {
                        @if changes > 0 { "Nhập: ghi " (number(changes as i64)) " thay đổi" } @else { "Nhập (không có thay đổi)" }
                    }
                    a href=(IMPORT_PATH) { "Huỷ" }
                }
                p.hint {
                    "Tệp được giữ trên máy chủ " (KEEP_MINUTES) " phút để nhập mà không phải tải lên lại; sau đó, hoặc "
                    "sau khi nhập, tệp bị xoá. Khi nhập, tệp được kiểm tra lại với dữ liệu lúc đó."
                }
            }
        }
        @if !samples.created.is_empty() {
            section {
                h2 { "Thêm mới" (first_of(samples.created.len(), outcome.created)) }
                (rows_table(&samples.created))
            }
        }
        @if !samples.updated.is_empty() {
            section {
                h2 { "Cập nhật" (first_of(samples.updated.len(), outcome.updated)) }
                div.scroll tabindex="0" role="region" aria-label="Bảng thay đổi" {
                    table.changes {
                        thead { tr { th scope="col" { "Số thẻ" } th scope="col" { "Họ và tên" } th scope="col" { "Thay đổi" } } }
                        tbody {
                            @for (old, new) in &samples.updated {
                                tr {
                                    td { (new.card_number) }
                                    td.name { (new.full_name) }
                                    td.name {
                                        ul.changes {
                                            @for (label, before, after) in differences(old, new) {
                                                li { (label) ": " del { (before) } " → " ins { (after) } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !samples.unchanged.is_empty() {
            section {
                h2 { "Không thay đổi" (first_of(samples.unchanged.len(), outcome.unchanged)) }
                (rows_table(&samples.unchanged))
            }
        }
        section {
            h2 { "Chọn tệp khác" }
            (upload_form(viewer))
        }
    }
}

/// " (10 dòng đầu)" when the sample is not all of them.
fn first_of(shown: usize, total: usize) -> String {
    if shown < total {
        format!(" ({shown} dòng đầu trong {})", number(total as i64))
    } else {
        String::new()
    }
}

fn size_text(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20)).replace('.', ",")
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

fn rows_table(rows: &[MemberRow]) -> Markup {
    html! {
        div.scroll tabindex="0" role="region" aria-label="Bảng thay đổi" {
            table.rows {
                thead {
                    tr {
                        (member_header_cells())
                    }
                }
                tbody {
                    @for row in rows {
                        tr {
                            td { (row.card_number) }
                            td.name { (row.full_name) }
                            td { (row.committee_code) }
                            td.name { (row.unit) }
                            td { (row.cell) }
                            td { (status_label(row.status)) }
                        }
                    }
                }
            }
        }
    }
}

/// What an update changes: (column, before, after).
fn differences(old: &MemberRow, new: &MemberRow) -> Vec<(&'static str, String, String)> {
    let date = |d: Option<chrono::NaiveDate>| d.map(super::super::layout::day).unwrap_or_else(|| "—".into());
    let text = |t: &Option<String>| t.clone().unwrap_or_else(|| "—".into());
    let pairs = [
        ("Họ và tên", old.full_name.clone(), new.full_name.clone()),
        ("Đảng bộ", old.committee_code.clone(), new.committee_code.clone()),
        ("Đơn vị", old.unit.clone(), new.unit.clone()),
        ("Chi bộ", old.cell.clone(), new.cell.clone()),
        ("Trạng thái", status_label(old.status).to_owned(), status_label(new.status).to_owned()),
        ("Ngày sinh", date(old.birth_date), date(new.birth_date)),
        ("Điện thoại", text(&old.phone), text(&new.phone)),
    ];
    pairs.into_iter().filter(|(_, before, after)| before != after).collect()
}
