//! Required reading ("Học tập nghị quyết"): the required documents with their due dates and read coverage, one
//! document per committee, one committee by unit and cell, and the not-read list as CSV. The numbers come from the
//! same functions as the API (`reading::routes`), in the same scope: an officer sees its committee's part, and any
//! other committee's page is a 404.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::DateTime;
use maud::{html, Markup};

use crate::error::AppError;
use crate::reading::report::{self, CommitteeDocumentReading, DocumentReading, ReadCounts, RequiredDocument};
use crate::reading::routes;
use crate::state::AppState;

use super::committee::natural_key;
use super::csv::csv_response;
use super::html_response;
use super::layout::{bar, number, page, path_segment, percent};
use super::session::staff_page;

pub(super) const READING_PATH: &str = "/dashboard/reading";

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(READING_PATH).get(list_page))
        .service(web::resource("/dashboard/reading/{id}").get(document_page))
        .service(web::resource("/dashboard/reading/{id}/{code}").get(committee_page))
        .service(web::resource("/dashboard/reading/{id}/{code}/not-read.csv").get(not_read_csv));
}

fn document_path(id: &str) -> String {
    format!("{READING_PATH}/{}", path_segment(id))
}

fn committee_path(id: &str, code: &str) -> String {
    format!("{READING_PATH}/{}/{}", path_segment(id), path_segment(code))
}

/// The due date as Hanoi reads it, and whether it has passed.
fn due(rfc3339: &str) -> Markup {
    let at = DateTime::parse_from_rfc3339(rfc3339).ok();
    let passed = at.is_some_and(|at| at < chrono::Utc::now());
    html! {
        (super::layout::as_of(rfc3339))
        @if passed { " " span.badge.overdue { "Đã quá hạn" } }
    }
}

fn count_cells(counts: &ReadCounts) -> Markup {
    html! {
        td.coverage { (bar(counts.coverage, "Tỉ lệ đã đọc")) }
        td.num { (number(counts.eligible)) }
        td.num { (number(counts.read)) }
        td.num { (number(counts.eligible - counts.read)) }
    }
}

fn count_headers() -> Markup {
    html! {
        th scope="col" { "Tỉ lệ đã đọc" }
        th.num scope="col" { "Đủ điều kiện" }
        th.num scope="col" { "Đã đọc" }
        th.num scope="col" { "Chưa đọc" }
    }
}

async fn list_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let state = state.get_ref();
    staff_page(state, &req, |viewer| async move {
        let items = routes::list_report(state, viewer.user.clone()).await?;
        Ok(html_response(StatusCode::OK, page("Học tập nghị quyết", Some(&viewer), list_markup(&items))))
    })
    .await
}

fn list_markup(items: &[RequiredDocument]) -> Markup {
    html! {
        h1 { "Học tập nghị quyết" }
        p.muted {
            "Tài liệu bắt buộc đọc và tỉ lệ đảng viên đủ điều kiện trong đối tượng nhận đã xác nhận đọc. "
            "Đặt một tài liệu là bắt buộc đọc trong trang sửa tài liệu (ô “Hạn đọc bắt buộc”)."
        }
        @if items.is_empty() {
            p.empty { "Chưa có tài liệu bắt buộc đọc." }
        } @else {
            div.scroll tabindex="0" role="region" aria-label="Bảng tài liệu bắt buộc đọc" {
                table.reading {
                    thead {
                        tr {
                            th scope="col" { "Tài liệu" }
                            th scope="col" { "Hạn đọc" }
                            (count_headers())
                        }
                    }
                    tbody {
                        @for item in items {
                            tr {
                                th scope="row" { a href=(document_path(&item.document_id)) { (item.title) } }
                                td { (due(&item.due_at)) }
                                (count_cells(&item.counts))
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn document_page(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let state = state.get_ref();
    staff_page(state, &req, |viewer| async move {
        let report = routes::document_report(state, viewer.user.clone(), id.into_inner()).await?;
        Ok(html_response(StatusCode::OK, page(&report.title, Some(&viewer), document_markup(&report))))
    })
    .await
}

fn document_markup(report: &DocumentReading) -> Markup {
    let mut committees = report.committees.clone();
    committees.sort_by_cached_key(|c| natural_key(&c.name));
    html! {
        p.crumbs { a href=(READING_PATH) { "← Học tập nghị quyết" } }
        section.summary {
            h1 { (report.title) }
            p { "Hạn đọc: " (due(&report.due_at)) " · tính từ bản " (report.revision) }
            p.big {
                strong { (number(report.totals.read)) } " / " (number(report.totals.eligible))
                " đảng viên đủ điều kiện đã đọc (" (percent(report.totals.coverage)) ")"
            }
            (bar(report.totals.coverage, "Tỉ lệ đã đọc"))
        }
        section {
            h2 { "Các đảng bộ" }
            div.scroll tabindex="0" role="region" aria-label="Bảng các đảng bộ" {
                table.reading {
                    thead { tr { th scope="col" { "Đảng bộ" } (count_headers()) } }
                    tbody {
                        @for c in &committees {
                            tr {
                                th scope="row" { a href=(committee_path(&report.document_id, &c.code)) { (c.name) } }
                                (count_cells(&c.counts))
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn committee_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let state = state.get_ref();
    let (id, code) = path.into_inner();
    staff_page(state, &req, |viewer| async move {
        let mut report = routes::committee_report(state, viewer.user.clone(), id, code).await?;
        report.units.sort_by_cached_key(|u| natural_key(&u.unit));
        for unit in &mut report.units {
            unit.cells.sort_by_cached_key(|c| natural_key(&c.cell));
        }
        let title = format!("{} — {}", report.title, report.committee.name);
        Ok(html_response(StatusCode::OK, page(&title, Some(&viewer), committee_markup(&report))))
    })
    .await
}

fn committee_markup(report: &CommitteeDocumentReading) -> Markup {
    let c = &report.committee;
    html! {
        p.crumbs { a href=(document_path(&report.document_id)) { "← " (report.title) } }
        section.summary {
            h1 { (report.title) " — " (c.name) }
            p { "Hạn đọc: " (due(&report.due_at)) }
            p.big {
                strong { (number(c.counts.read)) } " / " (number(c.counts.eligible))
                " đảng viên đủ điều kiện đã đọc (" (percent(c.counts.coverage)) ")"
            }
            (bar(c.counts.coverage, "Tỉ lệ đã đọc"))
            ul.links {
                li {
                    a href=(format!("{}/not-read.csv", committee_path(&report.document_id, &c.code))) {
                        "Tải danh sách đảng viên chưa đọc (CSV)"
                    }
                }
            }
        }
        section {
            h2 { "Đơn vị và chi bộ" }
            @if report.units.is_empty() {
                p.empty { "Đảng bộ chưa có đảng viên đủ điều kiện." }
            } @else {
                div.scroll tabindex="0" role="region" aria-label="Bảng đơn vị và chi bộ" {
                    table.units {
                        thead { tr { th scope="col" { "Đơn vị / Chi bộ" } (count_headers()) } }
                        tbody {
                            @for unit in &report.units {
                                tr.unit { th scope="row" { (unit.unit) } (count_cells(&unit.counts)) }
                                @for cell in &unit.cells {
                                    tr.cell { td { (cell.cell) } (count_cells(&cell.counts)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn not_read_csv(state: web::Data<AppState>, req: HttpRequest, path: web::Path<(String, String)>) -> HttpResponse {
    let state = state.get_ref();
    let (id, code) = path.into_inner();
    staff_page(state, &req, |viewer| async move {
        let user = viewer.user.clone();
        let file_name = format!("chua-doc-{code}.csv");
        let rows = state.db.run(move |conn| report::not_read(conn, &user, &id, &code, i64::MAX / 2, 0)).await?;
        Ok::<_, AppError>(csv_response(&file_name, report::not_read_csv_bytes(&rows)?))
    })
    .await
}
