//! The list of documents the viewer manages (`content::documents::list_managed`, as `GET /api/v1/admin/documents`):
//! filters by status, kind and section, search in titles with or without diacritics, paged.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};

use crate::content::documents::{self, DocumentRow, StaffFilter};
use crate::content::states::{DocumentKind, DocumentStatus};
use crate::error::AppError;
use crate::paging;
use crate::state::AppState;

use super::{document_path, hanoi_text, kind_options, query_value, status_badge, status_label, LIST_PATH, NEW_PATH};
use crate::web::html_response;
use crate::web::layout::page;
use crate::web::session::{staff_page, Viewer};

/// Documents per page.
const PAGE_SIZE: i64 = 50;

/// The filters as typed; values that are not one of the choices are ignored, as a page should.
#[derive(Clone, Debug, Default)]
struct ListQuery {
    status: Option<DocumentStatus>,
    kind: Option<DocumentKind>,
    section: String,
    q: String,
    offset: i64,
}

impl ListQuery {
    fn parse(query: &str) -> ListQuery {
        let value = |key: &str| query_value(query, key).unwrap_or_default();
        ListQuery {
            status: value("status").parse().ok(),
            kind: value("kind").parse().ok(),
            section: value("section").trim().to_owned(),
            q: value("q").trim().to_owned(),
            offset: paging::decode_offset(query_value(query, "after").as_deref()).unwrap_or(0),
        }
    }

    /// The list's URL with these filters, at `offset`.
    fn url(&self, offset: i64) -> String {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        if let Some(status) = self.status {
            url.append_pair("status", status.as_str());
        }
        if let Some(kind) = self.kind {
            url.append_pair("kind", kind.as_str());
        }
        if !self.section.is_empty() {
            url.append_pair("section", &self.section);
        }
        if !self.q.is_empty() {
            url.append_pair("q", &self.q);
        }
        if offset > 0 {
            url.append_pair("after", &paging::encode_after(&offset.to_string()));
        }
        let query = url.finish();
        if query.is_empty() {
            LIST_PATH.to_owned()
        } else {
            format!("{LIST_PATH}?{query}")
        }
    }

    fn filter(&self) -> StaffFilter {
        StaffFilter {
            status: self.status,
            kind: self.kind,
            section: (!self.section.is_empty()).then(|| self.section.clone()),
            q: (!self.q.is_empty()).then(|| self.q.clone()),
        }
    }
}

pub(super) async fn list_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let state = state.get_ref();
    let query = ListQuery::parse(req.query_string());
    staff_page(state, &req, |viewer| async move { list_response(state, &viewer, query).await }).await
}

async fn list_response(state: &AppState, viewer: &Viewer, query: ListQuery) -> Result<HttpResponse, AppError> {
    let user = viewer.user.clone();
    let filter = query.filter();
    let offset = query.offset;
    let (rows, sections) = state
        .db
        .run(move |conn| {
            let rows = documents::list_managed(conn, &user, &filter, PAGE_SIZE, offset)?;
            Ok((rows, documents::sections(conn, &user)?))
        })
        .await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    let rows: Vec<DocumentRow> = rows.into_iter().take(PAGE_SIZE as usize).collect();
    let body = html! {
        section {
            h1 { "Tài liệu" }
            p.actions { a.button.primary href=(NEW_PATH) data-action="new" { "Soạn tài liệu mới" } }
            (filters(&query, &sections))
        }
        section aria-labelledby="results" {
            h2 #results { "Kết quả" }
            (table(&rows))
            @if offset > 0 || more {
                nav.pager aria-label="Trang" {
                    @if offset > 0 {
                        a href=(query.url((offset - PAGE_SIZE).max(0))) { "← Trang trước" }
                    }
                    span.muted { "Tài liệu " (offset + 1) "–" (offset + rows.len() as i64) }
                    @if more {
                        a href=(query.url(offset + PAGE_SIZE)) { "Trang sau →" }
                    }
                }
            }
        }
    };
    Ok(html_response(StatusCode::OK, page("Tài liệu", Some(viewer), body)))
}

fn filters(query: &ListQuery, sections: &[String]) -> Markup {
    html! {
        form.filters method="get" action=(LIST_PATH) role="search" {
            div.field {
                label for="q" { "Tìm trong tiêu đề" }
                input #q type="search" name="q" value=(query.q) placeholder="có dấu hoặc không dấu";
            }
            div.field {
                label for="status" { "Trạng thái" }
                select #status name="status" {
                    option value="" selected[query.status.is_none()] { "Tất cả" }
                    @for status in DocumentStatus::ALL {
                        option value=(status.as_str()) selected[query.status == Some(*status)] { (status_label(*status)) }
                    }
                }
            }
            div.field {
                label for="kind" { "Loại" }
                select #kind name="kind" {
                    option value="" selected[query.kind.is_none()] { "Tất cả" }
                    (kind_options(query.kind.map(|k| k.as_str()).unwrap_or_default()))
                }
            }
            div.field {
                label for="section" { "Chuyên mục" }
                input #section type="text" name="section" value=(query.section) list="sections";
                datalist #sections {
                    @for section in sections { option value=(section) {} }
                }
            }
            div.field {
                button.primary type="submit" { "Lọc" }
                " "
                a href=(LIST_PATH) { "Bỏ lọc" }
            }
        }
    }
}

fn table(rows: &[DocumentRow]) -> Markup {
    html! {
        @if rows.is_empty() {
            p.empty { "Không có tài liệu nào khớp." }
        } @else {
            div.scroll tabindex="0" role="region" aria-label="Bảng tài liệu" {
                table.documents {
                    thead {
                        tr {
                            th scope="col" { "Tiêu đề" }
                            th scope="col" { "Trạng thái" }
                            th scope="col" { "Loại" }
                            th scope="col" { "Chuyên mục" }
                            th.num scope="col" { "Phiên bản" }
                            th scope="col" { "Cập nhật (giờ Hà Nội)" }
                        }
                    }
                    tbody {
                        @for row in rows {
                            tr {
                                td.name {
                                    a href=(document_path(&row.id)) { (row.title) }
                                    @if row.live_revision.is_some() && row.draft_changed {
                                        br; span.muted { "bản nháp có thay đổi chưa đăng" }
                                    }
                                }
                                td { (status_badge(row.status())) }
                                td { (row.kind.title()) }
                                td { (row.section) }
                                td.num { @if let Some(revision) = row.live_revision { (revision) } @else { "—" } }
                                td { (hanoi_text(row.updated_at)) }
                            }
                        }
                    }
                }
            }
        }
    }
}
