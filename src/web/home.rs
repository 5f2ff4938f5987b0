//! The console's home page: the city's (or the officer's committee's) coverage, the committees in a sortable
//! table, the trend, and the downloads.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;

use crate::coverage::report::{CityReport, CommitteeCoverage};
use crate::coverage::routes;
use crate::error::AppError;
use crate::state::AppState;

use super::chart::trend_chart;
use super::html_response;
use super::layout::{as_of, bar, cards, count_cells, number, page, path_segment, percent};
use super::session::{staff_page, Viewer};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SortKey {
    Name,
    Eligible,
    Activated,
    Installed,
    Active30d,
    Coverage,
}

impl SortKey {
    const ALL: [SortKey; 6] = [
        SortKey::Name,
        SortKey::Eligible,
        SortKey::Activated,
        SortKey::Installed,
        SortKey::Active30d,
        SortKey::Coverage,
    ];

    /// The order of the table's columns: coverage next to the name, so a phone shows it without scrolling.
    const SHOWN: [SortKey; 6] = [
        SortKey::Name,
        SortKey::Coverage,
        SortKey::Eligible,
        SortKey::Activated,
        SortKey::Installed,
        SortKey::Active30d,
    ];

    fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Eligible => "eligible",
            SortKey::Activated => "activated",
            SortKey::Installed => "installed",
            SortKey::Active30d => "active_30d",
            SortKey::Coverage => "coverage",
        }
    }

    fn parse(text: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|key| key.as_str() == text)
    }

    fn label(self) -> &'static str {
        match self {
            SortKey::Name => "Đảng bộ",
            SortKey::Eligible => "Đủ điều kiện",
            SortKey::Activated => "Đã kích hoạt",
            SortKey::Installed => "Đã cài đặt",
            SortKey::Active30d => "Hoạt động 30 ngày",
            SortKey::Coverage => "Tỉ lệ cài đặt",
        }
    }
}

/// `?sort=…&dir=…`; anything unknown falls back to the default order (by name), as a page should.
#[derive(Deserialize)]
pub(super) struct SortQuery {
    sort: Option<String>,
    dir: Option<String>,
}

fn sort_committees(committees: &mut [CommitteeCoverage], key: SortKey, descending: bool) {
    committees.sort_by_cached_key(|c| (crate::text::fold(&c.name), c.code.clone()));
    let value = |c: &CommitteeCoverage| -> f64 {
        match key {
            SortKey::Name => 0.0,
            SortKey::Eligible => c.counts.eligible as f64,
            SortKey::Activated => c.counts.activated as f64,
            SortKey::Installed => c.counts.installed as f64,
            SortKey::Active30d => c.counts.active_30d as f64,
            SortKey::Coverage => c.counts.coverage,
        }
    };
    // Stable: equal values keep the order by name.
    if key != SortKey::Name {
        committees.sort_by(|a, b| value(a).total_cmp(&value(b)));
    }
    if descending {
        if key == SortKey::Name {
            committees.reverse();
        } else {
            committees.sort_by(|a, b| value(b).total_cmp(&value(a)));
        }
    }
}

pub(super) async fn home(state: web::Data<AppState>, req: HttpRequest, query: web::Query<SortQuery>) -> HttpResponse {
    let state = state.get_ref();
    staff_page(state, &req, |viewer| async move { home_page(state, &viewer, query.into_inner()).await }).await
}

async fn home_page(state: &AppState, user: &Viewer, query: SortQuery) -> Result<HttpResponse, AppError> {
    let key = query.sort.as_deref().and_then(SortKey::parse).unwrap_or(SortKey::Name);
    let descending = query.dir.as_deref() == Some("desc");
    let mut report = routes::city_report(state, user.user.clone()).await?;
    let history = routes::history_points(state, user, None, None, None).await?;
    sort_committees(&mut report.committees, key, descending);
    let title = match user.scope().committee() {
        Some(code) => format!("Đảng bộ {code}"),
        None => "Toàn thành phố".to_owned(),
    };
    let body = html! {
        (summary(user, &report))
        section {
            h2 { "Các đảng bộ" }
            p.muted { "Bấm vào tiêu đề cột để sắp xếp; bấm vào tên đảng bộ để xem từng đơn vị và chi bộ." }
            (committee_table(&report, key, descending))
        }
        section {
            h2 { "Xu hướng 90 ngày" }
            (trend_chart(&history, &title, state.settings.snapshot_hour))
        }
        section {
            h2 { "Tải xuống" }
            ul.downloads {
                li { a href="/dashboard/coverage.csv" { "Số liệu các đảng bộ (CSV)" } }
                li { "Danh sách đảng viên chưa cài đặt của từng đảng bộ: cột “Chưa cài đặt” trong bảng trên." }
            }
            p.muted {
                "Cho phần mềm khác (xác thực Bearer): " code { "/api/v1/coverage.csv" } " và "
                code { "/api/v1/coverage/{mã}/not-installed?format=csv" } "."
            }
        }
    };
    Ok(html_response(StatusCode::OK, page("Độ phủ cài đặt", Some(user), body)))
}

fn summary(user: &Viewer, report: &CityReport) -> Markup {
    let totals = report.totals;
    let target = report.target;
    let towards_target = if target > 0 { (totals.installed as f64 / target as f64).min(1.0) } else { 0.0 };
    html! {
        section.summary {
            @if user.scope().committee().is_none() {
                h1 { "Toàn thành phố" }
                p.big {
                    strong { (number(totals.installed)) } " / " (number(target as i64))
                    " đảng viên đã cài đặt ứng dụng so với mục tiêu (" (percent(towards_target)) ")"
                }
                (bar(towards_target, "Tiến độ so với mục tiêu"))
                p.muted {
                    "Tỉ lệ cài đặt trên số đảng viên đủ điều kiện: " strong { (percent(totals.coverage)) }
                    " · Số liệu lúc " (as_of(&report.as_of))
                }
            } @else {
                @let name = report.committees.first().map(|c| c.name.clone()).unwrap_or_default();
                h1 { (name) }
                p.big {
                    strong { (number(totals.installed)) } " / " (number(totals.eligible))
                    " đảng viên đủ điều kiện đã cài đặt ứng dụng (" (percent(totals.coverage)) ")"
                }
                (bar(totals.coverage, "Tỉ lệ cài đặt"))
                p.muted {
                    "Mục tiêu toàn thành phố: " (number(target as i64)) " đảng viên · Số liệu lúc "
                    (as_of(&report.as_of))
                }
            }
            (cards(&totals))
        }
    }
}

fn committee_table(report: &CityReport, key: SortKey, descending: bool) -> Markup {
    let header = |column: SortKey| {
        let current = column == key;
        let next_dir = if current && !descending { "desc" } else { "asc" };
        let href = format!("/dashboard?sort={}&dir={next_dir}", column.as_str());
        let aria = match (current, descending) {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        };
        let arrow = match (current, descending) {
            (false, _) => "",
            (true, false) => " ▲",
            (true, true) => " ▼",
        };
        let numeric = !matches!(column, SortKey::Name | SortKey::Coverage);
        html! {
            th scope="col" aria-sort=(aria) class=[numeric.then_some("num")] {
                a href=(href) { (column.label()) (arrow) }
            }
        }
    };
    html! {
        div.scroll tabindex="0" role="region" aria-label="Bảng các đảng bộ" {
            table.committees {
                thead {
                    tr {
                        th scope="col" { "Mã" }
                        @for column in SortKey::SHOWN { (header(column)) }
                        th scope="col" { "Chưa cài đặt" }
                    }
                }
                tbody {
                    @for c in &report.committees {
                        tr {
                            td { (c.code) }
                            td.name {
                                a href=(format!("/dashboard/committees/{}", path_segment(&c.code))) { (c.name) }
                            }
                            (count_cells(&c.counts))
                            td {
                                a href=(format!("/dashboard/committees/{}/not-installed.csv", path_segment(&c.code)))
                                    title=(format!("Đảng viên chưa cài đặt — {}", c.name)) { "CSV" }
                            }
                        }
                    }
                    @if report.committees.is_empty() {
                        tr { td colspan="8" { "Chưa có đảng bộ nào." } }
                    }
                }
                @if report.committees.len() > 1 {
                    tfoot {
                        tr {
                            th scope="row" colspan="2" { "Tổng cộng" }
                            (count_cells(&report.totals))
                            td {}
                        }
                    }
                }
            }
        }
    }
}
