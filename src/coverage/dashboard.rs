//! The officers' dashboard at /dashboard: server-rendered HTML (maud, escaped by default), no JavaScript, no
//! external assets. Staff sign in with a form; the session is two cookies, `hb_access` (the access token) and
//! `hb_refresh` (the refresh token), both HttpOnly, SameSite=Strict, Path=/dashboard, Secure over TLS. An
//! expired access token is renewed with the refresh token on the way (both cookies rotate). Who sees what is
//! decided by the same functions as the API (`routes::city_report`, `committee_report`, `history_points`).

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use chrono::{FixedOffset, NaiveDate};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde::Deserialize;

use crate::auth::user::from_access_token;
use crate::auth::{sign_in, AuthUser, Role};
use crate::error::AppError;
use crate::state::AppState;

use super::report::{self, CityReport, CommitteeCoverage, CommitteeReport, Counts, HistoryPoint};
use super::routes;

pub const ACCESS_COOKIE: &str = "hb_access";
pub const REFRESH_COOKIE: &str = "hb_refresh";
const COOKIE_PATH: &str = "/dashboard";
const LOGIN_PATH: &str = "/dashboard/login";
const HOME_PATH: &str = "/dashboard";

/// Sent with every dashboard answer: nothing may load from elsewhere, nothing may frame the page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
                                           form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/dashboard").get(home))
        .service(web::resource("/dashboard/login").get(login_form).post(login_submit))
        .service(web::resource("/dashboard/logout").post(logout))
        .service(web::resource("/dashboard/coverage.csv").get(city_csv))
        .service(web::resource("/dashboard/committees/{code}").get(committee_page))
        .service(web::resource("/dashboard/committees/{code}/not-installed.csv").get(not_installed_csv));
}

// ---------------------------------------------------------------------------------------------------------
// Session

/// A signed-in staff member, and the cookies to send back (a transparent refresh rotates both).
struct Session {
    user: AuthUser,
    cookies: Vec<Cookie<'static>>,
}

fn over_tls(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

fn session_cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(name, value).path(COOKIE_PATH).http_only(true).same_site(SameSite::Strict).secure(secure).finish()
}

fn session_cookies(tokens: &sign_in::Tokens, secure: bool) -> Vec<Cookie<'static>> {
    vec![
        session_cookie(ACCESS_COOKIE, tokens.access_token.clone(), secure),
        session_cookie(REFRESH_COOKIE, tokens.refresh_token.clone(), secure),
    ]
}

fn removal_cookies(secure: bool) -> Vec<Cookie<'static>> {
    [ACCESS_COOKIE, REFRESH_COOKIE]
        .into_iter()
        .map(|name| {
            let mut cookie = session_cookie(name, String::new(), secure);
            cookie.make_removal();
            cookie
        })
        .collect()
}

/// The caller's session: a valid access cookie, or else a refresh cookie that still works (rotated here).
/// `Ok(None)`: no session. Members get a session too; the pages refuse them.
async fn current_session(state: &AppState, req: &HttpRequest) -> Result<Option<Session>, AppError> {
    if let Some(access) = req.cookie(ACCESS_COOKIE) {
        if let Ok(user) = from_access_token(state, access.value()) {
            return Ok(Some(Session { user, cookies: Vec::new() }));
        }
    }
    let Some(refresh) = req.cookie(REFRESH_COOKIE).map(|c| c.value().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match sign_in::refresh(state, refresh, None).await {
        Ok(tokens) => {
            let user = from_access_token(state, &tokens.access_token)?;
            Ok(Some(Session { user, cookies: session_cookies(&tokens, over_tls(req)) }))
        }
        Err(AppError::Unauthorized) => Ok(None),
        Err(other) => Err(other),
    }
}

/// A staff session, or the answer to give instead: the sign-in page for no session, a 403 page for members.
async fn staff_session(state: &AppState, req: &HttpRequest) -> Result<Session, HttpResponse> {
    let secure = over_tls(req);
    match current_session(state, req).await {
        Ok(Some(session)) if session.user.require_staff().is_ok() => Ok(session),
        Ok(Some(_member)) => Err(finish(
            removal_cookies(secure),
            html_response(StatusCode::FORBIDDEN, message_page(None, "Không có quyền truy cập", MEMBER_REFUSED)),
        )),
        Ok(None) => {
            let stale = req.cookie(ACCESS_COOKIE).is_some() || req.cookie(REFRESH_COOKIE).is_some();
            let cookies = if stale { removal_cookies(secure) } else { Vec::new() };
            Err(finish(cookies, redirect(LOGIN_PATH)))
        }
        Err(error) => Err(error.error_response()),
    }
}

/// Adds the session's cookies to whatever a page answered, errors included: a rotated refresh token must reach
/// the browser even when the page itself failed.
fn finish(cookies: Vec<Cookie<'static>>, mut response: HttpResponse) -> HttpResponse {
    for cookie in &cookies {
        if let Err(error) = response.add_cookie(cookie) {
            tracing::error!(error = %error, "could not set a dashboard cookie");
        }
    }
    response
}

/// The page, or an error page: 404 and 403 as HTML, anything else as the API renders it.
fn answer(session: Session, result: Result<HttpResponse, AppError>) -> HttpResponse {
    let response = match result {
        Ok(response) => response,
        Err(AppError::NotFound) => html_response(
            StatusCode::NOT_FOUND,
            message_page(
                Some(&session.user),
                "Không tìm thấy",
                "Không có đảng bộ này, hoặc tài khoản của bạn không quản lý đảng bộ này.",
            ),
        ),
        Err(AppError::Forbidden) => html_response(
            StatusCode::FORBIDDEN,
            message_page(Some(&session.user), "Không có quyền truy cập", "Tài khoản của bạn không được xem trang này."),
        ),
        Err(AppError::BadRequest(detail)) => {
            html_response(StatusCode::BAD_REQUEST, message_page(Some(&session.user), "Yêu cầu không hợp lệ", &detail))
        }
        Err(other) => other.error_response(),
    };
    finish(session.cookies, response)
}

// ---------------------------------------------------------------------------------------------------------
// Responses

fn security_headers(builder: &mut actix_web::HttpResponseBuilder) {
    builder
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // Not the service-wide no-referrer: with it a browser sends `Origin: null` on the pages' own form posts,
        // which the CSRF check must refuse. Same-origin requests carry the origin; others still learn nothing.
        .insert_header((header::REFERRER_POLICY, "same-origin"));
}

fn html_response(status: StatusCode, markup: Markup) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    security_headers(&mut builder);
    builder.content_type("text/html; charset=utf-8").body(markup.into_string())
}

fn redirect(location: &str) -> HttpResponse {
    let mut builder = HttpResponse::SeeOther();
    security_headers(&mut builder);
    builder.insert_header((header::LOCATION, location)).finish()
}

fn csv_response(file_name: &str, bytes: Vec<u8>) -> HttpResponse {
    let safe: String =
        file_name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    let mut builder = HttpResponse::Ok();
    security_headers(&mut builder);
    builder
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{safe}\"")))
        .body(bytes)
}

// ---------------------------------------------------------------------------------------------------------
// Sign-in and sign-out

const MEMBER_REFUSED: &str = "Trang này dành cho cán bộ quản lý. Đảng viên vui lòng dùng ứng dụng Sổ tay đảng viên \
                              trên điện thoại.";

async fn login_form() -> HttpResponse {
    html_response(StatusCode::OK, login_page(None, ""))
}

#[derive(Default)]
struct LoginFields {
    login: String,
    password: String,
}

fn login_fields(body: &[u8]) -> LoginFields {
    let mut fields = LoginFields::default();
    for (key, value) in url::form_urlencoded::parse(body) {
        match key.as_ref() {
            "login" => fields.login = value.into_owned(),
            "password" => fields.password = value.into_owned(),
            _ => {}
        }
    }
    fields
}

async fn login_submit(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if !same_origin(&req) {
        return html_response(StatusCode::FORBIDDEN, login_page(Some(FOREIGN_ORIGIN), ""));
    }
    let fields = login_fields(&body);
    // A NUL is refused by `ops::nul` in a form body; this form is read whatever its declared type, so again here.
    if fields.login.trim().is_empty() || fields.password.is_empty() || fields.login.contains('\0') {
        let message = "Vui lòng nhập tên đăng nhập và mật khẩu.";
        return html_response(StatusCode::BAD_REQUEST, login_page(Some(message), &fields.login));
    }
    let address = state.auth.client_address(&req);
    let tokens = match sign_in::login(&state, fields.login.clone(), fields.password, None, address).await {
        Ok(tokens) => tokens,
        Err(AppError::Unauthorized) => {
            let message = "Tên đăng nhập hoặc mật khẩu không đúng.";
            return html_response(StatusCode::UNAUTHORIZED, login_page(Some(message), &fields.login));
        }
        Err(AppError::TooManyRequests { retry_after_secs }) => {
            let message = format!("Bạn đã nhập sai quá nhiều lần. Vui lòng thử lại sau {retry_after_secs} giây.");
            let mut response = html_response(StatusCode::TOO_MANY_REQUESTS, login_page(Some(&message), &fields.login));
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after_secs));
            return response;
        }
        Err(other) => return other.error_response(),
    };
    let user = match from_access_token(&state, &tokens.access_token) {
        Ok(user) => user,
        Err(error) => return error.error_response(),
    };
    if user.require_staff().is_err() {
        // A member's password is right, but the dashboard is not for members: no session is left behind.
        if let Err(error) = sign_in::logout(&state, tokens.refresh_token).await {
            return error.error_response();
        }
        return html_response(StatusCode::FORBIDDEN, login_page(Some(MEMBER_REFUSED), &fields.login));
    }
    finish(session_cookies(&tokens, over_tls(&req)), redirect(HOME_PATH))
}

const FOREIGN_ORIGIN: &str = "Yêu cầu đến từ một trang khác nên đã bị từ chối.";

/// CSRF defence on top of SameSite=Strict: an `Origin` or `Referer` header, when present, must name this host.
fn same_origin(req: &HttpRequest) -> bool {
    let info = req.connection_info();
    let host = info.host();
    let scheme = info.scheme();
    for name in [header::ORIGIN, header::REFERER] {
        if let Some(value) = req.headers().get(&name) {
            let Ok(value) = value.to_str() else { return false };
            if !names_host(value, host, scheme) {
                return false;
            }
        }
    }
    true
}

/// Whether `url` (an Origin or a Referer) is on `host` (the request's Host: name and optional port).
fn names_host(url: &str, host: &str, request_scheme: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else { return false };
    let Some(url_host) = url.host_str() else { return false };
    let (host_name, host_port) = split_host(host);
    if !url_host.eq_ignore_ascii_case(host_name) {
        return false;
    }
    let default = |scheme: &str| match scheme {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    };
    let url_port = url.port().or_else(|| default(url.scheme()));
    let host_port = host_port.or_else(|| default(request_scheme));
    // A TLS-terminating proxy may leave the request looking like plain http: then only the explicit ports count.
    url_port == host_port || (url.port().is_none() && split_host(host).1.is_none())
}

/// "example.org:8080" → ("example.org", Some(8080)); "[::1]:80" → ("[::1]", Some(80)).
fn split_host(host: &str) -> (&str, Option<u16>) {
    match host.rsplit_once(':') {
        Some((name, port)) if !name.is_empty() && (name.ends_with(']') || !name.contains(':')) => match port.parse() {
            Ok(port) => (name, Some(port)),
            Err(_) => (host, None),
        },
        _ => (host, None),
    }
}

async fn logout(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    if !same_origin(&req) {
        return html_response(StatusCode::FORBIDDEN, message_page(None, "Không đăng xuất được", FOREIGN_ORIGIN));
    }
    // The session ends with its access token, also when only the access cookie came back.
    let session = req.cookie(ACCESS_COOKIE).and_then(|access| from_access_token(&state, access.value()).ok());
    if let Some(family) = session.and_then(|user| user.session) {
        if let Err(error) = sign_in::end_session(&state, family).await {
            return error.error_response();
        }
    }
    if let Some(refresh) = req.cookie(REFRESH_COOKIE).map(|c| c.value().to_owned()).filter(|v| !v.is_empty()) {
        if let Err(error) = sign_in::logout(&state, refresh).await {
            return error.error_response();
        }
    }
    finish(removal_cookies(over_tls(&req)), redirect(LOGIN_PATH))
}

// ---------------------------------------------------------------------------------------------------------
// Pages

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
struct SortQuery {
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

async fn home(state: web::Data<AppState>, req: HttpRequest, query: web::Query<SortQuery>) -> HttpResponse {
    let session = match staff_session(&state, &req).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let result = home_page(&state, &session.user, query.into_inner()).await;
    answer(session, result)
}

async fn home_page(state: &AppState, user: &AuthUser, query: SortQuery) -> Result<HttpResponse, AppError> {
    let key = query.sort.as_deref().and_then(SortKey::parse).unwrap_or(SortKey::Name);
    let descending = query.dir.as_deref() == Some("desc");
    let mut report = routes::city_report(state, user.clone()).await?;
    let history = routes::history_points(state, user, None, None, None).await?;
    sort_committees(&mut report.committees, key, descending);
    let title = match user.scope() {
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

fn summary(user: &AuthUser, report: &CityReport) -> Markup {
    let totals = report.totals;
    let target = report.target;
    let towards_target = if target > 0 { (totals.installed as f64 / target as f64).min(1.0) } else { 0.0 };
    html! {
        section.summary {
            @if user.scope().is_none() {
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

fn cards(counts: &Counts) -> Markup {
    html! {
        div.cards {
            div.card { span.label { "Đủ điều kiện" } span.value { (number(counts.eligible)) } }
            div.card { span.label { "Đã kích hoạt" } span.value { (number(counts.activated)) } }
            div.card { span.label { "Đã cài đặt" } span.value { (number(counts.installed)) } }
            div.card { span.label { "Hoạt động 30 ngày" } span.value { (number(counts.active_30d)) } }
            div.card { span.label { "Tỉ lệ cài đặt" } span.value { (percent(counts.coverage)) } }
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
        div.scroll {
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

fn count_cells(counts: &Counts) -> Markup {
    html! {
        td.coverage { (bar(counts.coverage, "Tỉ lệ cài đặt")) }
        td.num { (number(counts.eligible)) }
        td.num { (number(counts.activated)) }
        td.num { (number(counts.installed)) }
        td.num { (number(counts.active_30d)) }
    }
}

/// A coverage bar: red under 50%, amber under 80%, green from 80%. The number is written too (colour is not
/// the only signal).
fn bar(fraction: f64, label: &str) -> Markup {
    let fraction = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { 0.0 };
    let colour = if fraction < 0.5 {
        "red"
    } else if fraction < 0.8 {
        "amber"
    } else {
        "green"
    };
    let width = format!("width:{:.1}%", fraction * 100.0);
    html! {
        div.meter {
            div class=(format!("bar {colour}")) role="progressbar" aria-label=(label)
                aria-valuemin="0" aria-valuemax="100" aria-valuenow=(format!("{:.1}", fraction * 100.0)) {
                div.fill style=(width) {}
            }
            span.pct { (percent(fraction)) }
        }
    }
}

async fn committee_page(state: web::Data<AppState>, req: HttpRequest, code: web::Path<String>) -> HttpResponse {
    let session = match staff_session(&state, &req).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let result = committee_body(&state, &session.user, code.into_inner()).await;
    answer(session, result)
}

async fn committee_body(state: &AppState, user: &AuthUser, code: String) -> Result<HttpResponse, AppError> {
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
            p {
                a href=(format!("/dashboard/committees/{}/not-installed.csv", path_segment(&c.code))) {
                    "Tải danh sách đảng viên chưa cài đặt (CSV)"
                }
            }
        }
        section {
            h2 { "Đơn vị và chi bộ" }
            @if report.units.is_empty() {
                p.empty { "Đảng bộ chưa có đảng viên đủ điều kiện." }
            } @else {
                div.scroll {
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
        td.coverage { (bar(counts.coverage, "Tỉ lệ cài đặt")) }
        td.num { (number(counts.eligible)) }
        td.num { (number(counts.activated)) }
        td.num { (number(counts.installed)) }
        td.num { (number(counts.active_30d)) }
        td.num { (number(counts.up_to_date)) }
    }
}

/// Coverage over the days, as an SVG line chart drawn here (no script, no image request).
fn trend_chart(points: &[HistoryPoint], subject: &str, snapshot_hour_utc: u32) -> Markup {
    if points.len() < 2 {
        return html! {
            p.empty {
                "Chưa đủ dữ liệu để vẽ xu hướng: cần số liệu của ít nhất hai ngày (đang có " (points.len())
                "). Số liệu được ghi tự động mỗi ngày một lần, khoảng "
                (format!("{:02}:00", (snapshot_hour_utc + 7) % 24))
                " (giờ Hà Nội), hoặc bằng lệnh " code { "handbook coverage snapshot" } "."
            }
        };
    }
    const WIDTH: f64 = 720.0;
    const HEIGHT: f64 = 240.0;
    const LEFT: f64 = 48.0;
    const RIGHT: f64 = 16.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 28.0;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let first = points[0].date;
    let last = points[points.len() - 1].date;
    let span = (last - first).num_days().max(1) as f64;
    let highest = points.iter().map(|p| p.counts.coverage).fold(0.0, f64::max);
    let top_value = [0.1, 0.2, 0.25, 0.5, 1.0].into_iter().find(|v| *v >= highest).unwrap_or(1.0);
    let x = |date: NaiveDate| LEFT + (date - first).num_days() as f64 / span * plot_w;
    let y = |value: f64| TOP + plot_h * (1.0 - value.clamp(0.0, top_value) / top_value);
    let line: Vec<String> = points.iter().map(|p| format!("{:.1},{:.1}", x(p.date), y(p.counts.coverage))).collect();
    let grid = [0.0, top_value / 2.0, top_value];
    let thresholds: Vec<(f64, &str)> =
        [(0.5, "#d97706"), (0.8, "#16a34a")].into_iter().filter(|(v, _)| *v < top_value).collect();
    let last_point = &points[points.len() - 1];
    let description = format!(
        "Tỉ lệ cài đặt của {subject} từ {} đến {}: từ {} lên {}",
        day(first),
        day(last),
        percent(points[0].counts.coverage),
        percent(last_point.counts.coverage)
    );
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(description)
                xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet" {
                title { (description) }
                @for value in grid {
                    line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(format!("{:.1}", y(value))) y2=(format!("{:.1}", y(value)))
                        stroke="#d1d5db" stroke-width="1" {}
                    text x=(LEFT - 6.0) y=(format!("{:.1}", y(value) + 4.0)) text-anchor="end" font-size="11"
                        fill="#4b5563" { (percent(value)) }
                }
                @for (value, colour) in &thresholds {
                    line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(format!("{:.1}", y(*value))) y2=(format!("{:.1}", y(*value)))
                        stroke=(colour) stroke-width="1" stroke-dasharray="4 4" {}
                }
                text x=(LEFT) y=(HEIGHT - 8.0) font-size="11" fill="#4b5563" { (day(first)) }
                text x=(WIDTH - RIGHT) y=(HEIGHT - 8.0) font-size="11" text-anchor="end" fill="#4b5563" { (day(last)) }
                polyline points=(line.join(" ")) fill="none" stroke="#1d4ed8" stroke-width="2.5"
                    stroke-linejoin="round" stroke-linecap="round" {}
                circle cx=(format!("{:.1}", x(last_point.date))) cy=(format!("{:.1}", y(last_point.counts.coverage)))
                    r="4" fill="#1d4ed8" {}
            }
            figcaption.muted {
                (description) "."
                @if !thresholds.is_empty() {
                    " Đường nét đứt: ngưỡng "
                    (thresholds.iter().map(|(v, _)| percent(*v)).collect::<Vec<_>>().join(" và ")) "."
                }
            }
            details {
                summary { "Xem số liệu từng ngày" }
                div.scroll {
                    table {
                        thead { tr { th scope="col" { "Ngày" } th.num scope="col" { "Đủ điều kiện" }
                            th.num scope="col" { "Đã cài đặt" } th.num scope="col" { "Tỉ lệ" } } }
                        tbody {
                            @for p in points.iter().rev() {
                                tr {
                                    td { (day(p.date)) }
                                    td.num { (number(p.counts.eligible)) }
                                    td.num { (number(p.counts.installed)) }
                                    td.num { (percent(p.counts.coverage)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// CSV downloads with the cookie session (the API's are for Bearer clients). Same columns as the API's.

async fn city_csv(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let session = match staff_session(&state, &req).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let result = async {
        let report = routes::city_report(&state, session.user.clone()).await?;
        Ok(csv_response("coverage.csv", report::city_csv_bytes(&report)?))
    }
    .await;
    answer(session, result)
}

async fn not_installed_csv(state: web::Data<AppState>, req: HttpRequest, code: web::Path<String>) -> HttpResponse {
    let session = match staff_session(&state, &req).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let code = code.into_inner();
    let result = async {
        // The same rule as the API: admins, or that committee's officer; anyone else is told 404.
        routes::committee_report(&state, &session.user, code.clone()).await?;
        let lookup = code.clone();
        let rows = state.db.run(move |conn| Ok(report::not_installed(conn, &lookup, i64::MAX / 2, 0)?)).await?;
        Ok(csv_response(&format!("chua-cai-dat-{code}.csv"), report::not_installed_csv_bytes(&rows)?))
    }
    .await;
    answer(session, result)
}

// ---------------------------------------------------------------------------------------------------------
// Layout and formatting

const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",Arial,sans-serif;color:#111827;background:#f3f4f6;line-height:1.45}
header.top{background:#b91c1c;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:space-between}
header.top a{color:#fff;text-decoration:none;font-weight:600}
header.top .who{display:flex;gap:.75rem;align-items:center;flex-wrap:wrap;font-size:.9rem}
header.top button{background:#fff;color:#b91c1c;border:0;border-radius:4px;padding:.35rem .8rem;font-weight:600;cursor:pointer}
main{max-width:1180px;margin:0 auto;padding:1rem}
section{background:#fff;border-radius:8px;padding:1rem;margin:0 0 1rem;box-shadow:0 1px 2px rgba(0,0,0,.06)}
h1{font-size:1.4rem;margin:.2rem 0 .6rem}
h2{font-size:1.15rem;margin:0 0 .6rem}
.muted{color:#4b5563;font-size:.9rem}
.big{font-size:1.1rem}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:.6rem;margin-top:.8rem}
.card{border:1px solid #e5e7eb;border-radius:6px;padding:.5rem .7rem}
.card .label{display:block;color:#4b5563;font-size:.8rem}
.card .value{display:block;font-size:1.25rem;font-weight:700}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;min-width:640px;font-size:.92rem}
th,td{padding:.4rem .5rem;border-bottom:1px solid #e5e7eb;text-align:left;white-space:nowrap}
th a{color:#111827}
td a{color:#1d4ed8}
.num{text-align:right;font-variant-numeric:tabular-nums}
tfoot th,tfoot td{font-weight:700;border-top:2px solid #9ca3af}
tr.unit th,tr.unit td{background:#f9fafb;font-weight:600}
tr.cell td:first-child{padding-left:1.6rem}
.meter{display:flex;align-items:center;gap:.4rem;min-width:150px}
.bar{flex:1;height:.7rem;background:#e5e7eb;border-radius:999px;overflow:hidden;min-width:80px}
.fill{height:100%}
.red .fill{background:#dc2626}.amber .fill{background:#d97706}.green .fill{background:#16a34a}
.pct{font-variant-numeric:tabular-nums;min-width:3.6em;text-align:right;font-size:.9rem}
.summary .meter{max-width:640px}
.empty{color:#4b5563;background:#f9fafb;border:1px dashed #d1d5db;border-radius:6px;padding:1rem}
figure.chart{margin:0}
figure.chart svg{width:100%;height:auto;max-height:320px;display:block}
.downloads{padding-left:1.2rem}
td.name{white-space:normal;min-width:12rem}
.crumbs{margin:0 0 .6rem}
.crumbs a{color:#1d4ed8}
form.login{max-width:360px;margin:2rem auto;background:#fff;border-radius:8px;padding:1.2rem;box-shadow:0 1px 3px rgba(0,0,0,.1)}
form.login label{display:block;margin:.6rem 0 .2rem;font-weight:600}
form.login input{width:100%;padding:.55rem;border:1px solid #9ca3af;border-radius:4px;font-size:1rem}
form.login button{margin-top:1rem;width:100%;padding:.6rem;background:#b91c1c;color:#fff;border:0;border-radius:4px;font-size:1rem;font-weight:600;cursor:pointer}
.message{background:#fef2f2;border:1px solid #fecaca;color:#991b1b;border-radius:4px;padding:.5rem .7rem;margin:.6rem 0}
@media (max-width:600px){main{padding:.5rem}section{padding:.75rem}h1{font-size:1.2rem}}
"#;

fn page(title: &str, user: Option<&AuthUser>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // No favicon request (it would be a 404 outside the dashboard).
                link rel="icon" href="data:,";
                title { (title) " — Sổ tay đảng viên" }
                style { (PreEscaped(CSS)) }
            }
            body {
                header.top {
                    a href=(HOME_PATH) { "Sổ tay đảng viên · Theo dõi cài đặt" }
                    @if let Some(user) = user {
                        div.who {
                            span { (who(user)) }
                            form method="post" action="/dashboard/logout" {
                                button type="submit" { "Đăng xuất" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

fn who(user: &AuthUser) -> String {
    match (user.role, user.committee.as_deref()) {
        (Role::Admin, _) => "Quản trị viên".to_owned(),
        (_, Some(code)) => format!("Cán bộ đảng bộ {code}"),
        _ => "Cán bộ".to_owned(),
    }
}

fn login_page(message: Option<&str>, login: &str) -> Markup {
    page(
        "Đăng nhập",
        None,
        html! {
            form.login method="post" action=(LOGIN_PATH) {
                h1 { "Đăng nhập" }
                p.muted { "Dành cho cán bộ quản lý và quản trị viên." }
                @if let Some(message) = message {
                    p.message role="alert" { (message) }
                }
                label for="login" { "Tên đăng nhập" }
                input #login type="text" name="login" value=(login) autocomplete="username" required
                    autocapitalize="none" spellcheck="false";
                label for="password" { "Mật khẩu" }
                input #password type="password" name="password" autocomplete="current-password" required;
                button type="submit" { "Đăng nhập" }
            }
        },
    )
}

fn message_page(user: Option<&AuthUser>, title: &str, text: &str) -> Markup {
    page(
        title,
        user,
        html! {
            section {
                h1 { (title) }
                p { (text) }
                p { a href=(HOME_PATH) { "← Về trang tổng quan" } " · " a href=(LOGIN_PATH) { "Đăng nhập" } }
            }
        },
    )
}

/// 418000 → "418.000", as Vietnamese writes it.
fn number(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push('.');
        }
        out.push(digit);
    }
    if value < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// 0.8534 → "85,3%".
fn percent(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0).replace('.', ",")
}

fn day(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

/// The report's UTC time, in Hanoi time.
fn as_of(rfc3339: &str) -> String {
    let hanoi = FixedOffset::east_opt(7 * 3600).expect("a valid offset");
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(at) => at.with_timezone(&hanoi).format("%H:%M %d/%m/%Y").to_string(),
        Err(_) => rfc3339.to_owned(),
    }
}

/// A sort key that orders embedded numbers by value: "Chi bộ 2" < "Chi bộ 10".
fn natural_key(text: &str) -> Vec<(String, u128)> {
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

/// A committee code as one path segment.
fn path_segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_percentages_are_written_the_vietnamese_way() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(1000), "1.000");
        assert_eq!(number(418_000), "418.000");
        assert_eq!(number(1_234_567), "1.234.567");
        assert_eq!(percent(0.8534), "85,3%");
        assert_eq!(percent(1.0), "100,0%");
    }

    #[test]
    fn origins_must_name_the_request_host() {
        assert!(names_host("http://127.0.0.1:8080", "127.0.0.1:8080", "http"));
        assert!(names_host("http://127.0.0.1:8080/dashboard", "127.0.0.1:8080", "http"));
        assert!(names_host("https://sotay.hanoi.vn", "sotay.hanoi.vn", "https"));
        assert!(names_host("https://sotay.hanoi.vn", "sotay.hanoi.vn", "http"));
        assert!(names_host("https://SoTay.hanoi.vn", "sotay.hanoi.vn:443", "https"));
        assert!(names_host("http://[::1]:8080", "[::1]:8080", "http"));
        assert!(!names_host("http://127.0.0.1:8081", "127.0.0.1:8080", "http"));
        assert!(!names_host("https://evil.example", "sotay.hanoi.vn", "https"));
        assert!(!names_host("https://sotay.hanoi.vn.evil.example", "sotay.hanoi.vn", "https"));
        assert!(!names_host("null", "sotay.hanoi.vn", "https"));
    }

    #[test]
    fn numbers_inside_names_sort_by_value() {
        let mut cells = vec!["Chi bộ 10", "Chi bộ 2", "Chi bộ 1", "Chi bộ A", "Chi bộ 9"];
        cells.sort_by_cached_key(|c| natural_key(c));
        assert_eq!(cells, ["Chi bộ 1", "Chi bộ 2", "Chi bộ 9", "Chi bộ 10", "Chi bộ A"]);
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(path_segment("HK"), "HK");
        assert_eq!(path_segment("A B/\"<"), "A%20B%2F%22%3C");
    }
}
