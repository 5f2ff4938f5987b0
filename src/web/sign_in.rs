//! Signing in to the console with a form, and signing out.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use maud::{html, Markup};

use crate::auth::sign_in;
use crate::auth::user::from_access_token;
use crate::error::AppError;
use crate::state::AppState;

use super::layout::{message_page, page};
use super::session::{finish, over_tls, removal_cookies, same_origin, session_cookies, ACCESS_COOKIE, REFRESH_COOKIE};
use super::{html_response, redirect, HOME_PATH, LOGIN_PATH};

pub(super) const MEMBER_REFUSED: &str =
    "Trang này dành cho cán bộ quản lý. Đảng viên vui lòng dùng ứng dụng Sổ tay đảng viên \
                              trên điện thoại.";

pub(super) async fn login_form() -> HttpResponse {
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
    finish(session_cookies(&tokens, over_tls(&req)), redirect(HOME_PATH))
}

const FOREIGN_ORIGIN: &str = "Yêu cầu đến từ một trang khác nên đã bị từ chối.";

pub(super) async fn logout(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
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
