//! The audit log page and its CSV download: filtered by who, action, target and Hanoi dates, newest first, paged by
//! key, through the API's own functions (`audit::page`, `audit::csv`): an officer sees its committee's entries only.
//! Actions are shown with Vietnamese labels ([`ACTION_LABELS`], the one list), targets as links to their console
//! pages where there is one.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};

use crate::audit::{self, Entry, Filter, Key};
use crate::error::AppError;
use crate::paging::{self, Page};
use crate::state::AppState;

use super::csv::csv_response;
use super::fields::{Fields, FormErrors};
use super::html_response;
use super::layout::{self, moment, page, path_segment};
use super::session::{staff_page, Viewer};

const AUDIT_PATH: &str = "/dashboard/audit";
const AUDIT_CSV_PATH: &str = "/dashboard/audit.csv";

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(AUDIT_PATH).get(audit_page)).service(web::resource(AUDIT_CSV_PATH).get(audit_csv));
}

/// Every action the service records, with its label: the filter's choices and the table's words. An action missing
/// here is shown by its code.
pub(super) const ACTION_LABELS: [(&str, &str); 15] = [
    ("document.create", "Tạo tài liệu"),
    ("document.update", "Sửa bản nháp tài liệu"),
    ("document.publish", "Xuất bản tài liệu"),
    ("document.unpublish", "Gỡ tài liệu"),
    ("document.restore", "Khôi phục phiên bản tài liệu"),
    ("attachment.upload", "Tải lên tệp đính kèm"),
    ("members.import", "Nhập danh sách đảng viên"),
    ("activation_code.issue", "Cấp mã kích hoạt"),
    ("activation_codes.issue", "Cấp mã kích hoạt cả đảng bộ"),
    ("committee.create", "Tạo đảng bộ"),
    ("committee.rename", "Đổi tên đảng bộ"),
    ("staff.create", "Tạo tài khoản cán bộ"),
    ("staff.disable", "Khóa tài khoản cán bộ"),
    ("staff.enable", "Mở khóa tài khoản cán bộ"),
    ("staff.password_reset", "Đặt lại mật khẩu cán bộ"),
];

pub(super) fn action_label(action: &str) -> Option<&'static str> {
    ACTION_LABELS.iter().find(|(code, _)| *code == action).map(|(_, label)| *label)
}

/// The filters as the form holds them (the API's query names): kept as typed, to be shown again and carried by
/// the paging links and the CSV link.
#[derive(Default)]
struct Typed {
    actor: String,
    action: String,
    target: String,
    from: String,
    to: String,
}

impl Typed {
    fn of(query: &Fields) -> Typed {
        Typed {
            actor: query.text("actor"),
            action: query.text("action"),
            target: query.text("target"),
            from: query.text("from"),
            to: query.text("to"),
        }
    }

    fn filter(&self) -> Result<Filter, AppError> {
        Filter::parse(Some(&self.actor), Some(&self.action), Some(&self.target), Some(&self.from), Some(&self.to))
    }

    fn filters(&self) -> [(&str, &str); 5] {
        [
            ("actor", &self.actor),
            ("action", &self.action),
            ("target", &self.target),
            ("from", &self.from),
            ("to", &self.to),
        ]
    }

    fn url(&self, path: &str, after: Option<&str>) -> String {
        super::filtered_url(path, &self.filters(), after)
    }

    fn is_filtered(&self) -> bool {
        self.filters().iter().any(|(_, value)| !value.is_empty())
    }
}

async fn audit_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let state = state.get_ref();
    let query = Fields::query(&req);
    staff_page(state, &req, |viewer| async move {
        let typed = Typed::of(&query);
        let parsed = typed.filter().and_then(|filter| Ok((filter, Key::decode(query.get("after"))?)));
        let (filter, after) = match parsed {
            Ok(parsed) => parsed,
            Err(AppError::Validation(errors)) => {
                let errors = FormErrors::from_validation(&errors);
                let body = audit_markup(&viewer, &typed, &errors, None, query.get("after").is_some());
                return Ok(html_response(StatusCode::UNPROCESSABLE_ENTITY, body));
            }
            Err(other) => return Err(other),
        };
        let entries = audit::page(state, &viewer, filter, paging::DEFAULT_LIMIT, after).await?;
        let body = audit_markup(&viewer, &typed, &FormErrors::default(), Some(&entries), after.is_some());
        Ok(html_response(StatusCode::OK, body))
    })
    .await
}

async fn audit_csv(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let state = state.get_ref();
    let query = Fields::query(&req);
    staff_page(state, &req, |viewer| async move {
        let filter = Typed::of(&query).filter().map_err(|_| {
            AppError::BadRequest("Bộ lọc không hợp lệ: hãy chọn lại trên trang Nhật ký rồi tải xuống.".into())
        })?;
        let bytes = audit::csv(state, &viewer, filter).await?;
        Ok(csv_response("nhat-ky.csv", bytes))
    })
    .await
}

fn audit_markup(
    viewer: &Viewer,
    typed: &Typed,
    errors: &FormErrors,
    entries: Option<&Page<Entry>>,
    paged: bool,
) -> Markup {
    let scope = match viewer.scope().committee() {
        Some(code) => format!("Các thao tác liên quan đến đảng bộ {code}."),
        None => "Mọi thao tác quản lý trên toàn thành phố.".to_owned(),
    };
    page(
        "Nhật ký",
        Some(viewer),
        html! {
            section {
                h1 { "Nhật ký thao tác" }
                p.muted { (scope) " Mới nhất ở trên; giờ Hà Nội." }
                (filter_form(typed, errors))
            }
            @if let Some(entries) = entries {
                section {
                    h2 { "Kết quả" }
                    (entry_table(viewer, &entries.items))
                    nav.pager aria-label="Phân trang" {
                        @if paged {
                            a href=(typed.url(AUDIT_PATH, None)) { "« Mới nhất" }
                        }
                        @if let Some(next) = &entries.next {
                            a href=(typed.url(AUDIT_PATH, Some(next))) { "Cũ hơn »" }
                        }
                    }
                    p {
                        a href=(typed.url(AUDIT_CSV_PATH, None)) download {
                            @if typed.is_filtered() { "Tải xuống các mục đã lọc (CSV)" } @else { "Tải xuống toàn bộ nhật ký (CSV)" }
                        }
                    }
                }
            }
        },
    )
}

fn filter_form(typed: &Typed, errors: &FormErrors) -> Markup {
    let known = action_label(&typed.action).is_some() || typed.action.is_empty();
    html! {
        (errors.summary())
        form.filters method="get" action=(AUDIT_PATH) role="search" aria-label="Lọc nhật ký" {
            div.field {
                label for="actor" { "Người thực hiện" }
                input #actor type="text" name="actor" value=(typed.actor) placeholder="tên đăng nhập"
                    autocapitalize="none" spellcheck="false";
            }
            div.field {
                label for="action" { "Thao tác" }
                select #action name="action" {
                    option value="" selected[typed.action.is_empty()] { "Tất cả" }
                    @for (code, label) in ACTION_LABELS {
                        option value=(code) selected[typed.action == code] { (label) }
                    }
                    @if !known {
                        option value=(typed.action) selected { (typed.action) }
                    }
                }
            }
            div.field {
                label for="target" { "Đối tượng" }
                input #target type="text" name="target" value=(typed.target)
                    placeholder="số thẻ, mã tài liệu, mã đảng bộ…" autocapitalize="none" spellcheck="false";
            }
            div.field {
                label for="from" { "Từ ngày" }
                input #from type="date" name="from" value=(typed.from) aria-invalid=[errors.invalid("from")]
                    aria-describedby=[errors.described_by("from", "from", None)];
                (errors.next_to("from", "from"))
            }
            div.field {
                label for="to" { "Đến ngày" }
                input #to type="date" name="to" value=(typed.to) aria-invalid=[errors.invalid("to")]
                    aria-describedby=[errors.described_by("to", "to", None)];
                (errors.next_to("to", "to"))
            }
            div.actions {
                button.primary type="submit" { "Lọc" }
                @if typed.is_filtered() {
                    a.button href=(AUDIT_PATH) { "Bỏ lọc" }
                }
            }
        }
    }
}

fn entry_table(viewer: &Viewer, entries: &[Entry]) -> Markup {
    html! {
        @if entries.is_empty() {
            p.empty { "Không có mục nào khớp với bộ lọc." }
        } @else {
            (layout::table(
                "Bảng nhật ký",
                "audit",
                &["Thời gian", "Người thực hiện", "Thao tác", "Đối tượng", "Đảng bộ", "Chi tiết"],
                html! {
                    @for entry in entries {
                        tr {
                            td { time datetime=(crate::time::rfc3339(entry.at)) { (moment(entry.at)) } }
                            td {
                                (entry.actor)
                                br;
                                span.muted { (actor_role(&entry.actor_role)) }
                            }
                            td {
                                @match action_label(&entry.action) {
                                    Some(label) => { (label) }
                                    None => { code { (entry.action) } }
                                }
                            }
                            td.target { (target(viewer, entry)) }
                            td { (entry.committee_code.as_deref().unwrap_or("—")) }
                            td.detail { (detail(&entry.detail)) }
                        }
                    }
                },
            ))
        }
    }
}

fn actor_role(role: &str) -> &str {
    match role {
        "admin" => "Quản trị viên",
        "officer" => "Cán bộ đảng bộ",
        "operator" => "Dòng lệnh trên máy chủ",
        other => other,
    }
}

/// The target, linked to its console page where there is one.
fn target(viewer: &Viewer, entry: &Entry) -> Markup {
    let segment = path_segment(&entry.target);
    let link = match entry.action.split_once('.').map_or("", |(kind, _)| kind) {
        "document" => Some(format!("/dashboard/documents/{segment}")),
        "activation_code" => Some(format!("/dashboard/members/{segment}")),
        "committee" | "activation_codes" => Some(format!("/dashboard/committees/{segment}")),
        "staff" if viewer.is_admin() => Some("/dashboard/staff".to_owned()),
        _ => None,
    };
    let shown = match entry.action.as_str() {
        "members.import" => "Danh sách đảng viên".to_owned(),
        // A SHA-256: its start is enough to tell files apart on a page; the full value is in the CSV file.
        "attachment.upload" if entry.target.chars().count() > 16 => {
            format!("{}…", entry.target.chars().take(12).collect::<String>())
        }
        _ => entry.target.clone(),
    };
    html! {
        @if let Some(href) = link {
            a href=(href) { (shown) }
        } @else {
            span title=(entry.target) { (shown) }
        }
    }
}

/// The entry's detail (a small JSON object) as "label: value" lines, text only.
fn detail(text: &str) -> Markup {
    let value: serde_json::Value = serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
    let Some(object) = value.as_object().filter(|o| !o.is_empty()) else { return html! {} };
    html! {
        @for (key, value) in object {
            span.fact {
                (detail_label(key)) ": "
                @match value {
                    serde_json::Value::String(text) => { (text) }
                    serde_json::Value::Null => { "—" }
                    other => { (other.to_string()) }
                }
            }
        }
    }
}

fn detail_label(key: &str) -> &str {
    match key {
        "title" => "Tiêu đề",
        "revision" => "Phiên bản",
        "from_revision" => "Từ phiên bản",
        "status" => "Trạng thái",
        "name" => "Tên",
        "size" => "Dung lượng (byte)",
        "created" => "Thêm mới",
        "updated" => "Cập nhật",
        "unchanged" => "Không đổi",
        "count" => "Số lượng",
        "role" => "Vai trò",
        "committee_code" => "Đảng bộ",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_labels_are_listed_once_each() {
        let codes: std::collections::BTreeSet<&str> = ACTION_LABELS.iter().map(|(code, _)| *code).collect();
        assert_eq!(codes.len(), ACTION_LABELS.len());
        assert_eq!(action_label("document.publish"), Some("Xuất bản tài liệu"));
        assert_eq!(action_label("unknown.action"), None);
    }
}
