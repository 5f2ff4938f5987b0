//! The console's session: two HttpOnly cookies holding the access and the refresh token, renewed on the way;
//! answering a page with the session's cookies; and the CSRF check of the forms.

use std::future::Future;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use crate::auth::sign_in;
use crate::auth::user::from_access_token;
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::state::AppState;

use super::layout::message_page;
use super::sign_in::MEMBER_REFUSED;
use super::{html_response, redirect, LOGIN_PATH};

pub const ACCESS_COOKIE: &str = "hb_access";
pub const REFRESH_COOKIE: &str = "hb_refresh";
const COOKIE_PATH: &str = "/dashboard";

/// A signed-in staff member, and the cookies to send back (a transparent refresh rotates both).
pub(super) struct Session {
    pub(super) user: AuthUser,
    cookies: Vec<Cookie<'static>>,
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

/// A staff page: what `page` answers for the signed-in staff member (errors as pages, see [`answer`]) with the
/// session's cookies, or, without a staff session, the answer of [`staff_session`].
pub(super) async fn staff_page<Page, Answer>(state: &AppState, req: &HttpRequest, page: Page) -> HttpResponse
where
    Page: FnOnce(AuthUser) -> Answer,
    Answer: Future<Output = Result<HttpResponse, AppError>>,
{
    let session = match staff_session(state, req).await {
        Ok(session) => session,
        Err(response) => return response,
    };
    let result = page(session.user.clone()).await;
    answer(session, result)
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
