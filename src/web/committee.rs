//! The page of one committee: its coverage, its units and cells, and its trend.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};

use crate::coverage::report::{CommitteeReport, Counts, HistoryPoint};
use crate::coverage::routes;
use crate::error::AppError;
use crate::state::AppState;

use super::chart::trend_chart;
use super::layout::{bar, cards, count_cells, number, page, path_segment, percent};
use super::session::{staff_page, Viewer};
use super::{html_response, HOME_PATH};

pub(super) async fn committee_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> HttpResponse {
    let state = state.get_ref();
    staff_page(state, &req, |viewer| async move { committee_body(state, &viewer, code.into_inner()).await }).await
}

async fn committee_body(state: &AppState, user: &Viewer, code: String) -> Result<HttpResponse, AppError> {
    let mut report = routes::committee_report(state, user, code.clone()).await?;
    // "Chi bộ 2" before "Chi bộ 10", as people count.
    report.units.sort_by_cached_key(|u| natural_key(&u.unit));
    for unit in &mut report.units {
        unit.cells.sort_by_cached_key(|c| natural_key(&c.cell));
    }
    let history = routes::history_points(state, user, Some(code), None, None).await?;
    let body = committee_markup(&report, &history, state.settings.snapshot_hour);
    Ok(html_response(StatusCode::OK, page(&report.committee.name, Some(user), body)))
}

fn committee_markup(report: &CommitteeReport, history: &[HistoryPoint], snapshot_hour: u32) -> Markup {
    let c = &report.committee;
    html! {
        p.crumbs { a href=(HOME_PATH) { "← Tổng quan" } }
        section.summary {
            h1 { (c.name) " " span.muted { "(" (c.code) ")" } }
            p.big {
                strong { (number(c.counts.installed)) } " / " (number(c.counts.eligible))
                " đảng viên đủ điều kiện đã cài đặt ứng dụng (" (percent(c.counts.coverage)) ")"
            }
            (bar(c.counts.coverage, "Tỉ lệ cài đặt"))
            (cards(&c.counts))
            ul.links {
                li {
                    a href=(format!("/dashboard/committees/{}/not-installed.csv", path_segment(&c.code))) {
                        "Tải danh sách đảng viên chưa cài đặt (CSV)"
                    }
                }
                li { a href=(format!("/dashboard/members?committee={}", path_segment(&c.code))) { "Danh sách đảng viên" } }
                li {
                    a href=(super::slips::committee_slips_path(&c.code)) {
                        "In phiếu kích hoạt (" (number(c.counts.eligible - c.counts.activated)) " đảng viên chưa kích hoạt)"
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
                        thead {
                            tr {
                                th scope="col" { "Đơn vị / Chi bộ" }
                                th scope="col" { "Tỉ lệ cài đặt" }
                                th.num scope="col" { "Đủ điều kiện" }
                                th.num scope="col" { "Đã kích hoạt" }
                                th.num scope="col" { "Đã cài đặt" }
                                th.num scope="col" { "Hoạt động 30 ngày" }
                                th.num scope="col" { "Bản mới nhất" }
                            }
                        }
                        tbody {
                            @for unit in &report.units {
                                tr.unit {
                                    th scope="row" { (unit.unit) }
                                    (unit_cells(&unit.counts))
                                }
                                @for cell in &unit.cells {
                                    tr.cell {
                                        td { (cell.cell) }
                                        (unit_cells(&cell.counts))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section {
            h2 { "Xu hướng 90 ngày" }
            (trend_chart(history, &c.name, snapshot_hour))
        }
    }
}

fn unit_cells(counts: &Counts) -> Markup {
    html! {
        (count_cells(counts))
        td.num { (number(counts.up_to_date)) }
    }
}

/// A sort key that orders embedded numbers by value: "Chi bộ 2" < "Chi bộ 10".
pub(super) fn natural_key(text: &str) -> Vec<(String, u128)> {
    let folded = crate::text::fold(text);
    let mut key = Vec::new();
    let mut word = String::new();
    let mut digits = String::new();
    for c in folded.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                key.push((std::mem::take(&mut word), digits.parse().unwrap_or(u128::MAX)));
                digits.clear();
            }
            word.push(c);
        }
    }
    key.push((word, digits.parse().unwrap_or(0)));
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_inside_names_sort_by_value() {
        let mut cells = vec!["Chi bộ 10", "Chi bộ 2", "Chi bộ 1", "Chi bộ A", "Chi bộ 9"];
        cells.sort_by_cached_key(|c| natural_key(c));
        assert_eq!(cells, ["Chi bộ 1", "Chi bộ 2", "Chi bộ 9", "Chi bộ 10", "Chi bộ A"]);
    }
}
