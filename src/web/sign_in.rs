//! Signing in to the console with a form, and signing out.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use maud::{html, Markup};

use crate::auth::sign_in;
use crate::auth::user::from_access_token;
use crate::error::AppError;
use crate::state::AppState;

use super::layout::page;
use super::session::{
    active_cookie, finish, over_tls, removal_cookies, same_origin, session_cookies, staff_session, CSRF_FIELD,
    FOREIGN_ORIGIN,
};
use super::{html_response, redirect, HOME_PATH, LOGIN_PATH};

pub(super) const MEMBER_REFUSED: &str =
    "Trang này dành cho cán bộ quản lý. Đảng viên vui lòng dùng ứng dụng Sổ tay đảng viên \
                              trên điện thoại.";

const IDLE_ENDED: &str = "Phiên làm việc đã kết thúc vì lâu không thao tác. Vui lòng đăng nhập lại.";

pub(super) async fn login_form(req: HttpRequest) -> HttpResponse {
    let idle = url::form_urlencoded::parse(req.query_string().as_bytes()).any(|(key, _)| key == "idle");
    html_response(StatusCode::OK, login_page(idle.then_some(IDLE_ENDED), ""))
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

pub(super) async fn login_submit(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
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
    let secure = over_tls(&req);
    let mut cookies = session_cookies(&tokens, secure);
    cookies.push(active_cookie(&state, &user, secure));
    finish(cookies, redirect(HOME_PATH))
}

/// Signing out: a form with the session's CSRF token. The session (its refresh family, and with it the access
/// token) ends; without a session there is nothing to end, and the browser is sent to sign in.
pub(super) async fn logout(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let csrf = url::form_urlencoded::parse(&body).find(|(key, _)| key == CSRF_FIELD).map(|(_, value)| value);
    let secure = over_tls(&req);
    if same_origin(&req) {
        if let Ok(session) = staff_session(&state, &req).await {
            if !session.viewer.accepts(csrf.as_deref()) {
                // A stale form: the page is shown again with a fresh token rather than leaving the session open
                // without a word.
                return super::session::finish_stale(session);
            }
            if let Some(family) = session.viewer.user.session.clone() {
                if let Err(error) = sign_in::end_session(&state, family).await {
                    return error.error_response();
                }
            }
        }
    } else {
        let page = super::layout::message_page(None, "Không đăng xuất được", FOREIGN_ORIGIN);
        return html_response(StatusCode::FORBIDDEN, page);
    }
    finish(removal_cookies(secure), redirect(LOGIN_PATH))
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
