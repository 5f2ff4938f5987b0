//! `GET /dashboard/members`: search by name (with or without diacritics) or card number, filters, keyset pages.
//! The rows come from `org::members::list`, the function of `GET /api/v1/admin/members`, with the same scope (an
//! officer sees its committee only, whatever `committee` says); no count of the whole list is made per view.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use crate::error::AppError;
use crate::org::members::{self, ListFilter, MemberStatus, MemberView};
use crate::org::store::{self, Committee};
use crate::paging::{self, Page};
use crate::state::AppState;

use super::super::layout::{page, path_segment};
use super::super::session::{staff_page, Viewer};
use super::super::{html_response, slips};
use super::{member_header_cells, member_path, status_badge, yes_no, IMPORT_PATH, MEMBERS_PATH};

/// Members on one page.
const PAGE_SIZE: i64 = 50;

/// The query of the page: the API's filter names (`q`, `committee`, `status`, `activated`, `installed`) and
/// its cursor (`after`). Text throughout, so that no value makes the page fail: an unknown one filters nothing.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    q: Option<String>,
    committee: Option<String>,
    status: Option<String>,
    activated: Option<String>,
    installed: Option<String>,
    after: Option<String>,
}

/// The filters as understood, for the query and for the form.
#[derive(Debug, Default)]
struct Chosen {
    q: String,
    /// An admin's choice (officers are held to their own committee by the scope).
    committee: Option<String>,
    status: Option<MemberStatus>,
    activated: Option<bool>,
    installed: Option<bool>,
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn yes_or_no(value: Option<&str>) -> Option<bool> {
    match value {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    }
}

impl Chosen {
    fn from_query(query: &ListQuery, user: &Viewer) -> Chosen {
        Chosen {
            q: query.q.as_deref().map(str::trim).unwrap_or_default().to_owned(),
            committee: if user.is_admin() {
                non_empty(query.committee.clone()).map(|c| c.to_uppercase())
            } else {
                None
            },
            status: query.status.as_deref().and_then(MemberStatus::parse),
            activated: yes_or_no(query.activated.as_deref()),
            installed: yes_or_no(query.installed.as_deref()),
        }
    }

    fn filter(&self) -> ListFilter {
        ListFilter {
            committee: self.committee.clone(),
            status: self.status,
            installed: self.installed,
            activated: self.activated,
            q: Some(self.q.clone()).filter(|q| !q.is_empty()),
        }
    }

    /// The query string of these filters (without a cursor).
    fn query_string(&self) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        if !self.q.is_empty() {
            out.append_pair("q", &self.q);
        }
        if let Some(committee) = &self.committee {
            out.append_pair("committee", committee);
        }
        if let Some(status) = self.status {
            out.append_pair("status", status.as_str());
        }
        if let Some(activated) = self.activated {
            out.append_pair("activated", if activated { "true" } else { "false" });
        }
        if let Some(installed) = self.installed {
            out.append_pair("installed", if installed { "true" } else { "false" });
        }
        out.finish()
    }
}

pub(super) async fn members_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ListQuery>,
) -> HttpResponse {
    let state = state.get_ref();
    staff_page(state, &req, |viewer| async move { members_body(state, &viewer, query.into_inner()).await }).await
}

async fn members_body(state: &AppState, user: &Viewer, query: ListQuery) -> Result<HttpResponse, AppError> {
    let chosen = Chosen::from_query(&query, user);
    let after = paging::decode_after(query.after.as_deref())
        .map_err(|_| AppError::BadRequest("Địa chỉ trang không hợp lệ. Hãy mở lại danh sách từ đầu.".into()))?;
    let filter = chosen.filter();
    let scope = user.scope().into_committee();
    let admin = user.is_admin();
    let (found, committees) = state
        .db
        .run(move |conn| {
            let found = members::list(conn, &filter, scope.as_deref(), PAGE_SIZE, after.as_deref())?;
            // The committee select of an admin; an officer's committee, for its name.
            let committees = store::list_committees(conn, scope.as_deref())?;
            Ok((found, committees))
        })
        .await?;
    let paged = query.after.as_deref().is_some_and(|a| !a.is_empty());
    let body = list_markup(user, admin, &chosen, &found, &committees, paged);
    Ok(html_response(StatusCode::OK, page("Đảng viên", Some(user), body)))
}

fn list_markup(
    user: &Viewer,
    admin: bool,
    chosen: &Chosen,
    found: &Page<MemberView>,
    committees: &[Committee],
    paged: bool,
) -> Markup {
    let slips_link = match (user.scope().committee(), &chosen.committee) {
        (Some(own), _) => slips::committee_slips_path(own),
        (None, Some(code)) => slips::committee_slips_path(code),
        (None, None) => slips::SLIPS_PATH.to_owned(),
    };
    let filters = chosen.query_string();
    html! {
        section {
            h1 { "Đảng viên" }
            @if let (false, Some(own)) = (admin, committees.first()) {
                p.muted { "Đảng bộ: " strong { (own.name) } " (" (own.code) ")" }
            }
            form.filters method="get" action=(MEMBERS_PATH) role="search" aria-label="Tìm đảng viên" {
                div.field {
                    label for="q" { "Tên hoặc số thẻ" }
                    input #q type="search" name="q" value=(chosen.q) placeholder="vd. nguyen van an, 0100…"
                        autocomplete="off" spellcheck="false";
                }
                @if admin {
                    div.field {
                        label for="committee" { "Đảng bộ" }
                        select #committee name="committee" {
                            option value="" { "Tất cả đảng bộ" }
                            @for c in committees {
                                option value=(c.code) selected[chosen.committee.as_deref() == Some(c.code.as_str())] {
                                    (c.code) " — " (c.name)
                                }
                            }
                        }
                    }
                }
                div.field {
                    label for="status" { "Trạng thái" }
                    select #status name="status" {
                        option value="" { "Tất cả" }
                        @for status in MemberStatus::ALL {
                            option value=(status.as_str()) selected[chosen.status == Some(*status)] {
                                (super::status_label(*status))
                            }
                        }
                    }
                }
                (yes_no_select("activated", "Kích hoạt", "Đã kích hoạt", "Chưa kích hoạt", chosen.activated))
                (yes_no_select("installed", "Cài đặt ứng dụng", "Đã cài đặt", "Chưa cài đặt", chosen.installed))
                div.actions {
                    button.primary type="submit" { "Tìm" }
                    a href=(MEMBERS_PATH) { "Bỏ lọc" }
                }
            }
            p.hint {
                "Tên tìm được có dấu hoặc không dấu (“nguyen van an” tìm ra “Nguyễn Văn An”); số thẻ tìm được theo một "
                "phần của số."
            }
            ul.links {
                li { a href=(IMPORT_PATH) { "Nhập danh sách đảng viên từ tệp CSV" } }
                li { a href=(slips_link) { "In phiếu kích hoạt cho đảng viên chưa kích hoạt" } }
            }
        }
        section {
            h2 { "Kết quả" }
            @if found.items.is_empty() {
                p.empty {
                    @if paged { "Không còn đảng viên nào khác khớp với bộ lọc." }
                    @else { "Không có đảng viên nào khớp với bộ lọc." }
                }
            } @else {
                div.scroll tabindex="0" role="region" aria-label="Bảng đảng viên" {
                    table.members {
                        caption.muted {
                            "Theo số thẻ; " (found.items.len()) " đảng viên trên trang này"
                            @if found.next.is_some() { ", còn trang sau" }
                            "."
                        }
                        thead {
                            tr {
                                (member_header_cells())
                                th scope="col" { "Kích hoạt" }
                                th scope="col" { "Cài đặt" }
                            }
                        }
                        tbody {
                            @for m in &found.items {
                                tr {
                                    td { a href=(member_path(&m.card_number)) { (m.card_number) } }
                                    td.name { a href=(member_path(&m.card_number)) { (m.full_name) } }
                                    td { (m.committee_code) }
                                    td.name { (m.unit) }
                                    td { (m.cell) }
                                    td { (status_badge(m.status)) }
                                    td { (yes_no(m.activated, "Đã kích hoạt", "Chưa")) }
                                    td { (yes_no(m.installed, "Đã cài", "Chưa")) }
                                }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label="Trang" {
                @if paged {
                    a href=(with_query(&filters, None)) { "← Trang đầu" }
                }
                @if let Some(next) = &found.next {
                    a rel="next" href=(with_query(&filters, Some(next))) { "Trang sau →" }
                }
            }
        }
    }
}

/// The list's address with these filters, at a cursor.
fn with_query(filters: &str, after: Option<&str>) -> String {
    let mut query = filters.to_owned();
    if let Some(after) = after {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str("after=");
        query.push_str(&path_segment(after));
    }
    if query.is_empty() {
        MEMBERS_PATH.to_owned()
    } else {
        format!("{MEMBERS_PATH}?{query}")
    }
}

fn yes_no_select(name: &str, label: &str, yes: &str, no: &str, chosen: Option<bool>) -> Markup {
    html! {
        div.field {
            label for=(name) { (label) }
            select id=(name) name=(name) {
                option value="" { "Tất cả" }
                option value="true" selected[chosen == Some(true)] { (yes) }
                option value="false" selected[chosen == Some(false)] { (no) }
            }
        }
    }
}
