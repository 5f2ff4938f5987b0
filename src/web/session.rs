//! The console's session: two HttpOnly cookies holding the access and the refresh token, renewed on the way, and a
//! third, `hb_active`, stamping the last page the session asked for (signed): a session idle longer than
//! `HANDBOOK_CONSOLE_IDLE_MINUTES` ends. Answering a page with the session's cookies; the CSRF defence of the forms
//! (a token tied to the session in every state-changing form, or in the `X-CSRF-Token` header of a script's
//! request, on top of the Origin check and SameSite=Strict).

use std::future::Future;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use base64::Engine;
use hmac::{Hmac, Mac};
use maud::{html, Markup};
use sha2::Sha256;

use crate::auth::sign_in;
use crate::auth::user::from_access_token;
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::state::AppState;

use super::layout::message_page;
use super::sign_in::MEMBER_REFUSED;
use super::{html_response, redirect, IDLE_LOGIN_PATH, LOGIN_PATH};

pub const ACCESS_COOKIE: &str = "hb_access";
pub const REFRESH_COOKIE: &str = "hb_refresh";
pub const ACTIVE_COOKIE: &str = "hb_active";
const COOKIE_PATH: &str = "/dashboard";
/// The form field, and the header of a script's request, that carry the CSRF token.
pub(super) const CSRF_FIELD: &str = "csrf";
pub(super) const CSRF_HEADER: &str = "x-csrf-token";

/// The staff member a page is for, with the CSRF token its forms carry.
pub(super) struct Viewer {
    pub(super) user: AuthUser,
    pub(super) csrf: String,
}

impl Viewer {
    fn new(state: &AppState, user: AuthUser) -> Viewer {
        let csrf = session_mac(state, "csrf", &[&session_key(&user)]);
        Viewer { user, csrf }
    }

    /// The hidden field every state-changing form of the console carries.
    pub(super) fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name=(CSRF_FIELD) value=(self.csrf); }
    }

    /// Whether `presented` is this session's CSRF token (compared in constant time).
    pub(super) fn accepts(&self, presented: Option<&str>) -> bool {
        use subtle::ConstantTimeEq;
        presented.is_some_and(|p| bool::from(p.as_bytes().ct_eq(self.csrf.as_bytes())))
    }
}

impl std::ops::Deref for Viewer {
    type Target = AuthUser;

    fn deref(&self) -> &AuthUser {
        &self.user
    }
}

/// A signed-in staff member, and the cookies to send back (a transparent refresh rotates the tokens; every answer
/// renews the activity stamp).
pub(super) struct Session {
    pub(super) viewer: Viewer,
    cookies: Vec<Cookie<'static>>,
}

/// What ties a token to one sign-in: the refresh family, or for a token without one the account.
fn session_key(user: &AuthUser) -> String {
    user.session.clone().unwrap_or_else(|| user.subject.to_string())
}

/// HMAC-SHA256 under the service's secret key, of `purpose` and `parts`, base64url.
fn session_mac(state: &AppState, purpose: &str, parts: &[&str]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(state.auth.keys.cursor_key()).expect("HMAC takes any key length");
    mac.update(b"handbook console ");
    mac.update(purpose.as_bytes());
    for part in parts {
        mac.update(b"\0");
        mac.update(part.as_bytes());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The activity stamp: `<unix seconds>.<mac of session and time>`.
pub(super) fn active_cookie(state: &AppState, user: &AuthUser, secure: bool) -> Cookie<'static> {
    let now = crate::auth::now().and_utc().timestamp().to_string();
    let mac = session_mac(state, "active", &[&session_key(user), &now]);
    session_cookie(ACTIVE_COOKIE, format!("{now}.{mac}"), secure)
}

/// Whether the session's last page was asked for within the idle limit (a missing or forged stamp: no).
fn recently_active(state: &AppState, user: &AuthUser, req: &HttpRequest) -> bool {
    let Some(cookie) = req.cookie(ACTIVE_COOKIE) else { return false };
    let Some((at, mac)) = cookie.value().split_once('.') else { return false };
    let Ok(seconds) = at.parse::<i64>() else { return false };
    let expected = session_mac(state, "active", &[&session_key(user), at]);
    use subtle::ConstantTimeEq;
    if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
        return false;
    }
    let idle = i64::from(state.settings.console_idle_minutes) * 60;
    let now = crate::auth::now().and_utc().timestamp();
    (now - seconds) <= idle
}

pub(super) fn over_tls(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

fn session_cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(name, value).path(COOKIE_PATH).http_only(true).same_site(SameSite::Strict).secure(secure).finish()
}

pub(super) fn session_cookies(tokens: &sign_in::Tokens, secure: bool) -> Vec<Cookie<'static>> {
    vec![
        session_cookie(ACCESS_COOKIE, tokens.access_token.clone(), secure),
        session_cookie(REFRESH_COOKIE, tokens.refresh_token.clone(), secure),
    ]
}

pub(super) fn removal_cookies(secure: bool) -> Vec<Cookie<'static>> {
    [ACCESS_COOKIE, REFRESH_COOKIE, ACTIVE_COOKIE]
        .into_iter()
        .map(|name| {
            let mut cookie = session_cookie(name, String::new(), secure);
            cookie.make_removal();
            cookie
        })
        .collect()
}

/// What the cookies say about the caller.
enum Found {
    Session(Session),
    /// No session, or one that ended (signed out, expired, revoked).
    None,
    /// A session left idle past the limit: it has been ended now.
    Idle,
}

/// The caller's session: a valid access cookie, or else a refresh cookie that still works (rotated here); then the
/// activity stamp, which must be recent. Members get a session too; the pages refuse them.
async fn current_session(state: &AppState, req: &HttpRequest) -> Result<Found, AppError> {
    let secure = over_tls(req);
    let mut cookies = Vec::new();
    let mut user = req.cookie(ACCESS_COOKIE).and_then(|access| from_access_token(state, access.value()).ok());
    if user.is_none() {
        let Some(refresh) = req.cookie(REFRESH_COOKIE).map(|c| c.value().to_owned()).filter(|v| !v.is_empty()) else {
            return Ok(Found::None);
        };
        match sign_in::refresh(state, refresh, None).await {
            Ok(tokens) => {
                user = Some(from_access_token(state, &tokens.access_token)?);
                cookies = session_cookies(&tokens, secure);
            }
            Err(AppError::Unauthorized) => return Ok(Found::None),
            Err(other) => return Err(other),
        }
    }
    let Some(user) = user else { return Ok(Found::None) };
    // Members are refused whatever their cookies say; a staff session must have been used recently.
    if user.require_staff().is_ok() && !recently_active(state, &user, req) {
        if let Some(family) = user.session.clone() {
            sign_in::end_session(state, family).await?;
        }
        return Ok(Found::Idle);
    }
    cookies.push(active_cookie(state, &user, secure));
    Ok(Found::Session(Session { viewer: Viewer::new(state, user), cookies }))
}

/// A staff page: what `page` answers for the signed-in staff member (errors as pages, see [`answer`]) with the
/// session's cookies, or, without a staff session, the answer of [`staff_session`].
pub(super) async fn staff_page<Page, Answer>(state: &AppState, req: &HttpRequest, page: Page) -> HttpResponse
where
    Page: FnOnce(Viewer) -> Answer,
    Answer: Future<Output = Result<HttpResponse, AppError>>,
{
    let session = match staff_session(state, req).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let viewer = Viewer { user: session.viewer.user.clone(), csrf: session.viewer.csrf.clone() };
    let result = page(viewer).await;
    answer(session, result)
}

/// A state-changing request of a staff form or script: refused with a 403 page unless it comes from this origin
/// and carries the session's CSRF token (`presented`, the form's `csrf` field, or else the `X-CSRF-Token`
/// header); then as [`staff_page`].
pub(super) async fn staff_action<Action, Answer>(
    state: &AppState,
    req: &HttpRequest,
    presented: Option<&str>,
    action: Action,
) -> HttpResponse
where
    Action: FnOnce(Viewer) -> Answer,
    Answer: Future<Output = Result<HttpResponse, AppError>>,
{
    if !same_origin(req) {
        return html_response(StatusCode::FORBIDDEN, message_page(None, "Yêu cầu bị từ chối", FOREIGN_ORIGIN));
    }
    let session = match staff_session(state, req).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let header = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if !session.viewer.accepts(presented.or(header)) {
        return finish_stale(session);
    }
    let viewer = Viewer { user: session.viewer.user.clone(), csrf: session.viewer.csrf.clone() };
    let result = action(viewer).await;
    answer(session, result)
}

/// The answer to a form whose CSRF token is not the session's: 403, and a way back.
pub(super) fn finish_stale(session: Session) -> HttpResponse {
    let page = message_page(Some(&session.viewer), "Yêu cầu bị từ chối", STALE_FORM);
    finish(session.cookies, html_response(StatusCode::FORBIDDEN, page))
}

pub(super) const FOREIGN_ORIGIN: &str = "Yêu cầu đến từ một trang khác nên đã bị từ chối.";
const STALE_FORM: &str =
    "Biểu mẫu đã cũ hoặc không thuộc phiên đăng nhập này. Vui lòng tải lại trang rồi thực hiện lại.";

/// A staff session, or the answer to give instead: the sign-in page for no session (saying why when it was left
/// idle), a 403 page for members.
pub(super) async fn staff_session(state: &AppState, req: &HttpRequest) -> Result<Session, HttpResponse> {
    let secure = over_tls(req);
    match current_session(state, req).await {
        Ok(Found::Session(session)) if session.viewer.require_staff().is_ok() => Ok(session),
        Ok(Found::Session(_member)) => Err(finish(
            removal_cookies(secure),
            html_response(StatusCode::FORBIDDEN, message_page(None, "Không có quyền truy cập", MEMBER_REFUSED)),
        )),
        Ok(Found::Idle) => Err(finish(removal_cookies(secure), redirect(IDLE_LOGIN_PATH))),
        Ok(Found::None) => {
            let stale = [ACCESS_COOKIE, REFRESH_COOKIE, ACTIVE_COOKIE].iter().any(|name| req.cookie(name).is_some());
            let cookies = if stale { removal_cookies(secure) } else { Vec::new() };
            Err(finish(cookies, redirect(LOGIN_PATH)))
        }
        Err(error) => Err(error.error_response()),
    }
}

/// Adds the session's cookies to whatever a page answered, errors included: a rotated refresh token must reach
/// the browser even when the page itself failed.
pub(super) fn finish(cookies: Vec<Cookie<'static>>, mut response: HttpResponse) -> HttpResponse {
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
                Some(&session.viewer),
                "Không tìm thấy",
                "Không có mục này, hoặc tài khoản của bạn không quản lý nó.",
            ),
        ),
        Err(AppError::Forbidden) => html_response(
            StatusCode::FORBIDDEN,
            message_page(
                Some(&session.viewer),
                "Không có quyền truy cập",
                "Tài khoản của bạn không được xem trang này.",
            ),
        ),
        Err(AppError::BadRequest(detail)) => {
            html_response(StatusCode::BAD_REQUEST, message_page(Some(&session.viewer), "Yêu cầu không hợp lệ", &detail))
        }
        // Anything else is a page too, never the API's JSON: a status, a title and what to do, in Vietnamese.
        Err(other) => {
            let api = other.error_response(); // logs an internal error, and carries Retry-After
            let (title, text) = error_text(&other);
            let mut page = html_response(api.status(), message_page(Some(&session.viewer), title, &text));
            if let Some(retry) = api.headers().get(header::RETRY_AFTER) {
                page.headers_mut().insert(header::RETRY_AFTER, retry.clone());
            }
            page
        }
    };
    finish(session.cookies, response)
}

/// The title and text of an error's page.
fn error_text(error: &AppError) -> (&'static str, String) {
    match error {
        AppError::Conflict(_) => (
            "Không thực hiện được",
            "Thao tác này không áp dụng được ở trạng thái hiện tại (có thể ai đó vừa thay đổi). Vui lòng tải lại \
             trang và kiểm tra."
                .to_owned(),
        ),
        AppError::Validation(errors) => (
            "Dữ liệu không hợp lệ",
            errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; "),
        ),
        AppError::PayloadTooLarge => ("Tệp quá lớn", "Tệp hoặc biểu mẫu vượt quá giới hạn cho phép.".to_owned()),
        AppError::UnsupportedMediaType(_) => {
            ("Định dạng không được hỗ trợ", "Định dạng tệp này không được chấp nhận.".to_owned())
        }
        AppError::TooManyRequests { retry_after_secs } => {
            ("Quá nhiều yêu cầu", format!("Vui lòng thử lại sau {retry_after_secs} giây."))
        }
        AppError::RequestTimeout => ("Gửi quá chậm", "Kết nối quá chậm. Vui lòng thử lại.".to_owned()),
        AppError::Unavailable | AppError::Internal(_) => {
            ("Lỗi máy chủ", "Đã có lỗi xảy ra phía máy chủ. Vui lòng thử lại sau ít phút.".to_owned())
        }
        _ => ("Không thực hiện được", "Yêu cầu không thực hiện được. Vui lòng tải lại trang.".to_owned()),
    }
}

/// CSRF defence on top of SameSite=Strict: an `Origin` or `Referer` header, when present, must name this host.
pub(super) fn same_origin(req: &HttpRequest) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
