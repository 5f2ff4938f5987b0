//! Cell meetings ("Sinh hoạt chi bộ"): the meetings in the staff member's scope with filters, one meeting (details,
//! answers, attendance, cancel), and the statistics of a period (per committee for admins, per unit and cell for a
//! committee) with the cells that held no meeting, and their CSV downloads. The data come from the functions the API
//! uses (`meetings::list`, `meetings::get`, `meetings::cancel`, `meetings::stats`), in the same scope: another
//! committee's meeting or statistics are a 404.
//!
//! Dates in the forms are days in Hanoi, both included ("from 1/11 to 30/11" is November); the API's `to` is the
//! first day left out, so the console adds a day.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{Duration, NaiveDate};
use maud::{html, Markup, PreEscaped};

use crate::content::markdown;
use crate::error::AppError;
use crate::meetings::stats::{self, CellWithoutMeeting, MeetingCounts, MeetingStats, Period};
use crate::meetings::{
    self, manager_of, Attendance, ListFilter, MeetingStatus, MeetingSummary, MeetingView, PageRequest, Rsvp, Viewer,
};
use crate::paging::{self, Page};
use crate::state::AppState;
use crate::time::{in_hanoi, now, start_of_hanoi_day};

use super::csv::csv_response;
use super::fields::{Fields, FormErrors};
use super::layout::{self, bar, day, moment, number, page, path_segment, percent};
use super::session::{staff_action, staff_page, Viewer as Staff, CSRF_FIELD};
use super::{html_response, redirect};

pub(super) const MEETINGS_PATH: &str = "/dashboard/meetings";
const STATS_PATH: &str = "/dashboard/meetings/stats";
const STATS_CSV_PATH: &str = "/dashboard/meetings/stats.csv";
const WITHOUT_CSV_PATH: &str = "/dashboard/meetings/stats/cells-without.csv";
/// Cells without a meeting shown on the statistics page; the CSV has them all.
const WITHOUT_SHOWN: i64 = 100;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(MEETINGS_PATH).get(list_page))
        .service(web::resource(STATS_PATH).get(stats_page))
        .service(web::resource(STATS_CSV_PATH).get(stats_csv))
        .service(web::resource(WITHOUT_CSV_PATH).get(without_csv))
        .service(web::resource("/dashboard/meetings/{id}").get(meeting_page))
        .service(web::resource("/dashboard/meetings/{id}/cancel").post(cancel));
}

fn meeting_path(id: &str) -> String {
    format!("{MEETINGS_PATH}/{}", path_segment(id))
}

/// The filters as the forms hold them (the API's names), kept as typed to be shown again and carried by links.
#[derive(Clone, Default)]
struct Typed {
    committee: String,
    unit: String,
    cell: String,
    from: String,
    to: String,
}

impl Typed {
    fn of(query: &Fields) -> Typed {
        let clean = |name: &str| crate::text::clean(&query.text(name));
        Typed {
            committee: clean("committee").to_uppercase(),
            unit: clean("unit"),
            cell: clean("cell"),
            from: clean("from"),
            to: clean("to"),
        }
    }

    fn url(&self, path: &str, after: Option<&str>) -> String {
        let filters = [
            ("committee", self.committee.as_str()),
            ("unit", &self.unit),
            ("cell", &self.cell),
            ("from", &self.from),
            ("to", &self.to),
        ];
        super::filtered_url(path, &filters, after)
    }

    /// The days typed, `from` and `to` both included: Vietnamese field errors for what is not a day.
    fn days(&self, errors: &mut FormErrors) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let mut parse = |field: &str, text: &str, message: &str| {
            if text.is_empty() {
                return None;
            }
            let parsed = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
            if parsed.is_none() {
                errors.add(field, message);
            }
            parsed
        };
        let from = parse("from", &self.from, "Ngày “từ” không hợp lệ (ngày/tháng/năm).");
        let to = parse("to", &self.to, "Ngày “đến” không hợp lệ (ngày/tháng/năm).");
        if let (Some(from), Some(to)) = (from, to) {
            if to < from {
                errors.add("to", "Ngày “đến” không được trước ngày “từ”.");
            }
        }
        (from, to)
    }
}

/// The first day after `to`: where the API's period ends.
fn day_after(to: NaiveDate) -> NaiveDate {
    to + Duration::days(1)
}

fn status_label(status: MeetingStatus) -> &'static str {
    match status {
        MeetingStatus::Scheduled => "Đã lên lịch",
        MeetingStatus::Cancelled => "Đã hủy",
    }
}

fn status_badge(status: MeetingStatus, starts_at: chrono::NaiveDateTime) -> Markup {
    html! {
        @match status {
            MeetingStatus::Cancelled => span.badge.overdue { (status_label(status)) },
            MeetingStatus::Scheduled if starts_at <= now() => span.badge { "Đã diễn ra" },
            MeetingStatus::Scheduled => span.badge { "Sắp diễn ra" },
        }
    }
}

fn place(committee: &str, unit: &str, cell: &str) -> String {
    format!("{cell} · {unit} · {committee}")
}

async fn list_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let state = state.get_ref();
    let query = Fields::query(&req);
    staff_page(state, &req, |viewer| async move {
        let typed = Typed::of(&query);
        let mut errors = FormErrors::default();
        let (from, to) = typed.days(&mut errors);
        let page_request = match PageRequest::from_query(None, query.get("after")) {
            Ok(request) => request,
            Err(_) => {
                errors.add("after", "Liên kết phân trang không hợp lệ: hãy quay về trang đầu.");
                PageRequest { limit: paging::DEFAULT_LIMIT, offset: 0 }
            }
        };
        if !errors.is_empty() {
            let body = list_markup(&viewer, &typed, &errors, None);
            return Ok(html_response(StatusCode::UNPROCESSABLE_ENTITY, body));
        }
        let filter = ListFilter {
            committee: Some(typed.committee.clone()).filter(|c| !c.is_empty()),
            unit: Some(typed.unit.clone()).filter(|u| !u.is_empty()),
            cell: Some(typed.cell.clone()).filter(|c| !c.is_empty()),
            from: from.map(start_of_hanoi_day),
            to: to.map(|to| start_of_hanoi_day(day_after(to))),
            status: None,
        };
        let user = viewer.user.clone();
        let meetings = state
            .db
            .run(move |conn| {
                let manager = manager_of(conn, &user)?;
                meetings::list(conn, &manager, &filter, page_request)
            })
            .await?;
        Ok(html_response(StatusCode::OK, list_markup(&viewer, &typed, &errors, Some(&meetings))))
    })
    .await
}

fn list_markup(viewer: &Staff, typed: &Typed, errors: &FormErrors, meetings: Option<&Page<MeetingSummary>>) -> Markup {
    page(
        "Sinh hoạt chi bộ",
        Some(viewer),
        html! {
            h1 { "Sinh hoạt chi bộ" }
            p.muted {
                "Các cuộc sinh hoạt chi bộ do bí thư, phó bí thư chi bộ (trên ứng dụng) và cán bộ đảng bộ lên lịch. "
                a href=(STATS_PATH) { "Xem thống kê sinh hoạt chi bộ" } "."
            }
            (errors.summary())
            form.filters method="get" action=(MEETINGS_PATH) role="search" aria-label="Lọc cuộc sinh hoạt" {
                @if viewer.is_admin() {
                    div.field {
                        label for="committee" { "Mã đảng bộ" }
                        input #committee type="text" name="committee" value=(typed.committee)
                            autocapitalize="characters" spellcheck="false";
                    }
                }
                div.field {
                    label for="unit" { "Đơn vị" }
                    input #unit type="text" name="unit" value=(typed.unit);
                }
                div.field {
                    label for="cell" { "Chi bộ" }
                    input #cell type="text" name="cell" value=(typed.cell);
                }
                (date_fields(typed, errors))
                div.actions {
                    button.primary type="submit" { "Lọc" }
                    a.button href=(MEETINGS_PATH) { "Bỏ lọc" }
                }
            }
            @if let Some(meetings) = meetings {
                @if meetings.items.is_empty() {
                    p.empty { "Không có cuộc sinh hoạt nào khớp với bộ lọc." }
                } @else {
                    div.scroll tabindex="0" role="region" aria-label="Bảng cuộc sinh hoạt chi bộ" {
                        table.meetings {
                            thead {
                                tr {
                                    th scope="col" { "Thời gian" }
                                    th scope="col" { "Nội dung" }
                                    th scope="col" { "Chi bộ" }
                                    th scope="col" { "Trạng thái" }
                                    th.num scope="col" { "Được mời" }
                                    th.num scope="col" { "Đã trả lời" }
                                    th.num scope="col" { "Có mặt" }
                                }
                            }
                            tbody {
                                @for m in &meetings.items {
                                    tr {
                                        td { time datetime=(crate::time::rfc3339(m.starts_at)) { (moment(m.starts_at)) } }
                                        th scope="row" { a href=(meeting_path(&m.id)) { (m.title) } }
                                        td { (place(&m.committee_code, &m.unit, &m.cell)) }
                                        td { (status_badge(m.status, m.starts_at)) }
                                        td.num { (number(m.invited)) }
                                        td.num { (number(m.answered)) }
                                        td.num { (number(m.present)) }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(next) = &meetings.next {
                        p.pager { a href=(typed.url(MEETINGS_PATH, Some(next))) rel="next" { "Trang sau →" } }
                    }
                }
            }
        },
    )
}

fn date_fields(typed: &Typed, errors: &FormErrors) -> Markup {
    html! {
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
    }
}

async fn meeting_page(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>) -> HttpResponse {
    let state = state.get_ref();
    let id = id.into_inner();
    let cancelled = Fields::query(&req).get("cancelled").is_some();
    staff_page(state, &req, |viewer| async move {
        let user = viewer.user.clone();
        let meeting = state
            .db
            .run(move |conn| {
                let manager = manager_of(conn, &user)?;
                meetings::get(conn, &Viewer::from(manager), &id)
            })
            .await?;
        let body = page(&meeting.title, Some(&viewer), meeting_markup(&viewer, &meeting, cancelled));
        Ok(html_response(StatusCode::OK, body))
    })
    .await
}

fn rsvp_label(answer: Option<Rsvp>) -> &'static str {
    match answer {
        Some(Rsvp::Attend) => "Tham dự",
        Some(Rsvp::Absent) => "Xin vắng",
        None => "Chưa trả lời",
    }
}

fn attendance_label(attendance: Option<Attendance>) -> &'static str {
    match attendance {
        Some(Attendance::Present) => "Có mặt",
        Some(Attendance::Excused) => "Vắng có phép",
        Some(Attendance::Absent) => "Vắng không phép",
        None => "Chưa điểm danh",
    }
}

fn meeting_markup(viewer: &Staff, meeting: &MeetingView, cancelled_now: bool) -> Markup {
    let rate = if meeting.invited > 0 { meeting.present as f64 / meeting.invited as f64 } else { 0.0 };
    html! {
        p.crumbs { a href=(MEETINGS_PATH) { "← Sinh hoạt chi bộ" } }
        @if cancelled_now {
            p.notice role="status" { "Đã hủy cuộc sinh hoạt; đảng viên được mời sẽ nhận thông báo khi đồng bộ." }
        }
        section.summary {
            h1 { (meeting.title) }
            dl.facts {
                dt { "Chi bộ" } dd { (place(&meeting.committee_code, &meeting.unit, &meeting.cell)) }
                dt { "Thời gian" }
                dd {
                    time datetime=(crate::time::rfc3339(meeting.starts_at)) { (moment(meeting.starts_at)) }
                    @if let Some(ends_at) = meeting.ends_at { " – " (moment(ends_at)) }
                }
                dt { "Địa điểm" } dd { (meeting.location) }
                dt { "Trạng thái" } dd { (status_badge(meeting.status, meeting.starts_at)) }
                dt { "Được mời" } dd { (number(meeting.invited)) }
                dt { "Đã trả lời" } dd { (number(meeting.answered)) }
                dt { "Có mặt" } dd { (number(meeting.present)) " (" (percent(rate)) ")" }
            }
            @if meeting.managed && meeting.status == MeetingStatus::Scheduled {
                form method="post" action=(format!("{}/cancel", meeting_path(&meeting.id))) {
                    (viewer.csrf_field())
                    button.danger type="submit" data-action="cancel" { "Hủy cuộc sinh hoạt" }
                }
            }
        }
        section {
            h2 { "Chương trình" }
            div.body { (PreEscaped(markdown::to_safe_html(&meeting.agenda))) }
        }
        @if !meeting.documents.is_empty() || !meeting.materials.is_empty() {
            section {
                h2 { "Tài liệu đọc trước" }
                ul {
                    @for document in &meeting.documents {
                        li { a href=(format!("/dashboard/documents/{}", path_segment(&document.id))) { (document.title) } }
                    }
                    @for material in &meeting.materials {
                        li { (material.name) " (" (number((material.size + 1023) / 1024)) " KB)" }
                    }
                }
            }
        }
        @if let Some(rsvps) = &meeting.rsvps {
            section {
                h2 { "Trả lời của đảng viên" }
                @if rsvps.is_empty() {
                    p.empty { "Chưa có ai được mời." }
                } @else {
                    (layout::table("Bảng trả lời", "rsvps", &["Họ và tên", "Số thẻ", "Trả lời", "Lý do", "Lúc"], html! {
                        @for r in rsvps {
                            tr {
                                th scope="row" { (r.full_name) }
                                td { (r.card_number) }
                                td { (rsvp_label(r.answer)) }
                                td { (r.reason.as_deref().unwrap_or("")) }
                                td { @if let Some(at) = r.answered_at { (moment(at)) } }
                            }
                        }
                    }))
                }
            }
        }
        @if let Some(attendance) = &meeting.attendance {
            section {
                h2 { "Điểm danh" }
                @if meeting.starts_at > now() {
                    p.muted { "Điểm danh sau khi cuộc sinh hoạt bắt đầu (trên ứng dụng của bí thư chi bộ)." }
                } @else if !attendance.is_empty() {
                    (layout::table("Bảng điểm danh", "attendance", &["Họ và tên", "Số thẻ", "Điểm danh"], html! {
                        @for a in attendance {
                            tr {
                                th scope="row" { (a.full_name) }
                                td { (a.card_number) }
                                td { (attendance_label(a.attendance)) }
                            }
                        }
                    }))
                }
            }
        }
    }
}

async fn cancel(state: web::Data<AppState>, req: HttpRequest, id: web::Path<String>, body: web::Bytes) -> HttpResponse {
    let state = state.get_ref();
    let form = Fields::parse(&body);
    let csrf = form.get(CSRF_FIELD).map(str::to_owned);
    let id = id.into_inner();
    staff_action(state, &req, csrf.as_deref(), |viewer| async move {
        let user = viewer.user.clone();
        let lookup = id.clone();
        state.db.run(move |conn| meetings::cancel(conn, &user, &lookup)).await?;
        Ok(redirect(&format!("{}?cancelled=1", meeting_path(&id))))
    })
    .await
}

/// The statistics form's period: its days (both included) and the period they make, the current Hanoi month by
/// default. `None` with the errors to show.
fn period_of(typed: &Typed, errors: &mut FormErrors) -> Option<(NaiveDate, NaiveDate, Period)> {
    let month = Period::month_of(now());
    let first = in_hanoi(month.from).date();
    let last = in_hanoi(month.to).date() - Duration::days(1);
    let (from, to) = typed.days(errors);
    if !errors.is_empty() {
        return None;
    }
    let (from, to) = (from.unwrap_or(first), to.unwrap_or(last));
    if to < from {
        errors.add("to", "Ngày “đến” không được trước ngày “từ”.");
        return None;
    }
    Some((from, to, Period { from: start_of_hanoi_day(from), to: start_of_hanoi_day(day_after(to)) }))
}

/// The statistics of the form's committee (an officer: its own; another: 404) and period.
async fn statistics(
    state: &AppState,
    viewer: &Staff,
    typed: &Typed,
    period: Period,
    with_cells: bool,
) -> Result<(MeetingStats, Vec<CellWithoutMeeting>), AppError> {
    let committee = stats::committee_in_scope(&viewer.user, Some(typed.committee.clone()))?;
    let at = now();
    state
        .db
        .run(move |conn| {
            let report = stats::report(conn, committee.as_deref(), period, at)?;
            let without = match (&committee, with_cells) {
                (Some(code), true) => stats::cells_without_meeting(conn, Some(code), period, at, WITHOUT_SHOWN + 1, 0)?,
                _ => Vec::new(),
            };
            Ok((report, without))
        })
        .await
}

async fn stats_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let state = state.get_ref();
    let query = Fields::query(&req);
    staff_page(state, &req, |viewer| async move {
        let mut typed = Typed::of(&query);
        let mut errors = FormErrors::default();
        let Some((from, to, period)) = period_of(&typed, &mut errors) else {
            let body = stats_markup(&viewer, &typed, &errors, None);
            return Ok(html_response(StatusCode::UNPROCESSABLE_ENTITY, body));
        };
        typed.from = from.to_string();
        typed.to = to.to_string();
        let (report, without) = statistics(state, &viewer, &typed, period, true).await?;
        Ok(html_response(StatusCode::OK, stats_markup(&viewer, &typed, &errors, Some((&report, &without)))))
    })
    .await
}

fn stats_headers(first: &str) -> Markup {
    html! {
        tr {
            th scope="col" { (first) }
            th.num scope="col" { "Cuộc sinh hoạt đã tổ chức" }
            th.num scope="col" { "Chi bộ" }
            th.num scope="col" { "Chi bộ chưa sinh hoạt" }
            th.num scope="col" { "Lượt mời" }
            th.num scope="col" { "Đã trả lời" }
            th.num scope="col" { "Có mặt" }
            th scope="col" { "Tỉ lệ có mặt" }
        }
    }
}

fn stats_cells(counts: &MeetingCounts) -> Markup {
    html! {
        td.num { (number(counts.meetings_held)) }
        td.num { (number(counts.cells)) }
        td.num { (number(counts.cells_without_meeting)) }
        td.num { (number(counts.invited)) }
        td.num { (number(counts.rsvp_answered)) }
        td.num { (number(counts.present)) }
        td.coverage { (bar(counts.attendance_rate, "Tỉ lệ có mặt")) }
    }
}

/// Links to the calendar months before this one, and this one.
fn month_links(typed: &Typed) -> Markup {
    let this_month = in_hanoi(Period::month_of(now()).from).date();
    let months: Vec<NaiveDate> =
        (0..3).filter_map(|back| this_month.checked_sub_months(chrono::Months::new(back))).collect();
    html! {
        ul.links {
            @for first in months {
                @let last = first.checked_add_months(chrono::Months::new(1)).map_or(first, |next| next - Duration::days(1));
                @let link = Typed { from: first.to_string(), to: last.to_string(), ..typed.clone() };
                li { a href=(link.url(STATS_PATH, None)) { "Tháng " (first.format("%m/%Y")) } }
            }
        }
    }
}

fn stats_markup(
    viewer: &Staff,
    typed: &Typed,
    errors: &FormErrors,
    report: Option<(&MeetingStats, &[CellWithoutMeeting])>,
) -> Markup {
    page(
        "Thống kê sinh hoạt chi bộ",
        Some(viewer),
        html! {
            p.crumbs { a href=(MEETINGS_PATH) { "← Sinh hoạt chi bộ" } }
            h1 { "Thống kê sinh hoạt chi bộ" }
            p.muted {
                "Một cuộc sinh hoạt được tính là đã tổ chức khi không bị hủy và đã đến giờ bắt đầu trong khoảng thời "
                "gian chọn. Chi bộ: chi bộ có đảng viên đủ điều kiện. Tỉ lệ có mặt = có mặt / lượt mời."
            }
            (errors.summary())
            form.filters method="get" action=(STATS_PATH) role="search" aria-label="Chọn khoảng thời gian" {
                @if viewer.is_admin() {
                    div.field {
                        label for="committee" { "Mã đảng bộ (để trống: toàn thành phố)" }
                        input #committee type="text" name="committee" value=(typed.committee)
                            autocapitalize="characters" spellcheck="false";
                    }
                }
                (date_fields(typed, errors))
                div.actions { button.primary type="submit" { "Xem" } }
            }
            (month_links(typed))
            @if let Some((report, without)) = report {
                section.summary {
                    p.big {
                        strong { (number(report.totals.meetings_held)) } " cuộc sinh hoạt đã tổ chức · "
                        (number(report.totals.cells_without_meeting)) " / " (number(report.totals.cells))
                        " chi bộ chưa sinh hoạt · có mặt " (percent(report.totals.attendance_rate))
                    }
                    p { "Từ " (day(typed.from.parse().unwrap_or_default())) " đến hết " (day(typed.to.parse().unwrap_or_default())) }
                    ul.links {
                        li { a href=(typed.url(STATS_CSV_PATH, None)) download { "Tải bảng thống kê (CSV)" } }
                        li {
                            a href=(typed.url(WITHOUT_CSV_PATH, None)) download {
                                "Tải danh sách chi bộ chưa sinh hoạt (CSV)"
                            }
                        }
                    }
                }
                @if report.units.is_empty() {
                    section {
                        h2 { "Các đảng bộ" }
                        div.scroll tabindex="0" role="region" aria-label="Bảng thống kê theo đảng bộ" {
                            table.meeting-stats {
                                thead { (stats_headers("Đảng bộ")) }
                                tbody {
                                    @for c in &report.committees {
                                        @let link = Typed { committee: c.code.clone(), ..typed.clone() };
                                        tr {
                                            th scope="row" { a href=(link.url(STATS_PATH, None)) { (c.name) } }
                                            (stats_cells(&c.counts))
                                        }
                                    }
                                }
                            }
                        }
                    }
                } @else {
                    section {
                        h2 { "Đơn vị và chi bộ" }
                        div.scroll tabindex="0" role="region" aria-label="Bảng thống kê theo đơn vị và chi bộ" {
                            table.meeting-stats {
                                thead { (stats_headers("Đơn vị / Chi bộ")) }
                                tbody {
                                    @for unit in &report.units {
                                        tr.unit { th scope="row" { (unit.unit) } (stats_cells(&unit.counts)) }
                                        @for cell in report.cells.iter().filter(|c| c.unit == unit.unit) {
                                            tr.cell { td { (cell.cell) } (stats_cells(&cell.counts)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    section {
                        h2 { "Chi bộ chưa sinh hoạt" }
                        @if without.is_empty() {
                            p.empty { "Mọi chi bộ đều đã sinh hoạt trong khoảng thời gian này." }
                        } @else {
                            div.scroll tabindex="0" role="region" aria-label="Bảng chi bộ chưa sinh hoạt" {
                                table.cells-without {
                                    thead {
                                        tr {
                                            th scope="col" { "Chi bộ" }
                                            th scope="col" { "Đơn vị" }
                                            th.num scope="col" { "Đảng viên đủ điều kiện" }
                                            th scope="col" { "Bí thư" }
                                            th scope="col" { "Lần sinh hoạt trước" }
                                            th scope="col" { "Lần sinh hoạt tới" }
                                        }
                                    }
                                    tbody {
                                        @for c in without.iter().take(WITHOUT_SHOWN as usize) {
                                            tr {
                                                th scope="row" { (c.cell) }
                                                td { (c.unit) }
                                                td.num { (number(c.eligible)) }
                                                td { (c.secretary.as_deref().unwrap_or("—")) }
                                                td { (c.last_meeting_at.as_deref().map(super::layout::as_of).unwrap_or_else(|| "—".into())) }
                                                td { (c.next_meeting_at.as_deref().map(super::layout::as_of).unwrap_or_else(|| "—".into())) }
                                            }
                                        }
                                    }
                                }
                            }
                            @if without.len() as i64 > WITHOUT_SHOWN {
                                p.muted { "Chỉ hiện " (WITHOUT_SHOWN) " chi bộ đầu tiên; tải CSV để có toàn bộ danh sách." }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The statistics' period of a download: as the page's form, 400 for what the page would not have sent.
fn download_period(typed: &Typed) -> Result<Period, AppError> {
    let mut errors = FormErrors::default();
    period_of(typed, &mut errors)
        .map(|(_, _, period)| period)
        .ok_or_else(|| AppError::BadRequest("Khoảng thời gian không hợp lệ: hãy chọn lại trên trang thống kê.".into()))
}

async fn stats_csv(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let state = state.get_ref();
    let query = Fields::query(&req);
    staff_page(state, &req, |viewer| async move {
        let typed = Typed::of(&query);
        let period = download_period(&typed)?;
        let (report, _) = statistics(state, &viewer, &typed, period, false).await?;
        let name = match report.units.is_empty() {
            true => "sinh-hoat-chi-bo.csv".to_owned(),
            false => format!("sinh-hoat-chi-bo-{}.csv", report.committees[0].code),
        };
        Ok(csv_response(&name, stats::stats_csv_bytes(&report)?))
    })
    .await
}

async fn without_csv(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let state = state.get_ref();
    let query = Fields::query(&req);
    staff_page(state, &req, |viewer| async move {
        let typed = Typed::of(&query);
        let period = download_period(&typed)?;
        let committee = stats::committee_in_scope(&viewer.user, Some(typed.committee.clone()))?;
        let name = format!("chua-sinh-hoat-{}.csv", committee.as_deref().unwrap_or("thanh-pho"));
        let at = now();
        let rows = state
            .db
            .run(move |conn| stats::cells_without_meeting(conn, committee.as_deref(), period, at, i64::MAX / 2, 0))
            .await?;
        Ok(csv_response(&name, stats::cells_without_csv_bytes(&rows)?))
    })
    .await
}
