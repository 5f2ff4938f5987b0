//! The account page: who is signed in, changing one's password (`auth::sign_in::change_password`, as
//! `POST /api/v1/auth/password`: the rule, the throttle, every other session ended, this one kept), and signing out
//! everywhere (`auth::sign_in::end_all_sessions`, as `POST /api/v1/auth/logout-all`: this session too, and the
//! browser goes to the sign-in page).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use maud::{html, Markup};

use crate::auth::sign_in;
use crate::error::AppError;
use crate::org::{members, staff};
use crate::state::AppState;

use super::fields::{Fields, FormErrors, PASSWORD_HINT};
use super::layout::{message_page, moment, page, role_label};
use super::session::{
    finish, finish_stale, over_tls, removal_cookies, same_origin, staff_action, staff_page, staff_session, Viewer,
    CSRF_FIELD, FOREIGN_ORIGIN,
};
use super::{html_response, redirect, LOGIN_PATH};

const ACCOUNT_PATH: &str = "/dashboard/account";
const PASSWORD_PATH: &str = "/dashboard/account/password";
const EVERYWHERE_PATH: &str = "/dashboard/account/sign-out-everywhere";

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(ACCOUNT_PATH).get(account_page))
        .service(web::resource(PASSWORD_PATH).post(change_password))
        .service(web::resource(EVERYWHERE_PATH).post(sign_out_everywhere));
}

async fn account_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let state = state.get_ref();
    let changed = Fields::query(&req).get("changed").is_some();
    staff_page(state, &req, |viewer| async move {
        let body = account_markup(state, &viewer, changed, &FormErrors::default()).await?;
        Ok(html_response(StatusCode::OK, body))
    })
    .await
}

async fn change_password(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let state = state.get_ref();
    let form = Fields::parse(&body);
    let address = state.auth.client_address(&req);
    let csrf = form.get(CSRF_FIELD).map(str::to_owned);
    staff_action(state, &req, csrf.as_deref(), |viewer| async move {
        let new_password = form.text("new_password");
        let mut errors = FormErrors::default();
        if new_password != form.text("new_password_confirmation") {
            errors.add("new_password_confirmation", "Mật khẩu mới nhập lại không khớp.");
            let body = account_markup(state, &viewer, false, &errors).await?;
            return Ok(html_response(StatusCode::UNPROCESSABLE_ENTITY, body));
        }
        let current = form.text("current_password");
        let (status, retry_after) = match sign_in::change_password(state, &viewer, current, new_password, address).await
        {
            // This session's family is kept: its cookies still work, and nothing else needs to change.
            Ok(()) => return Ok(redirect(&format!("{ACCOUNT_PATH}?changed=1"))),
            Err(AppError::Validation(refused)) => {
                errors = FormErrors::from_validation(&refused);
                (StatusCode::UNPROCESSABLE_ENTITY, None)
            }
            Err(AppError::TooManyRequests { retry_after_secs }) => {
                let message = format!(
                    "Bạn đã nhập sai mật khẩu hiện tại quá nhiều lần. Vui lòng thử lại sau {retry_after_secs} giây."
                );
                errors.add("current_password", &message);
                (StatusCode::TOO_MANY_REQUESTS, Some(retry_after_secs))
            }
            Err(other) => return Err(other),
        };
        let mut response = html_response(status, account_markup(state, &viewer, false, &errors).await?);
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        Ok(response)
    })
    .await
}

/// Every session of the account ends, this one included: its cookies are removed and the browser signs in again.
/// Checked as every form is (origin, then the session's CSRF token), but answered by hand: the session's own
/// cookies must not be sent back.
async fn sign_out_everywhere(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    if !same_origin(&req) {
        let page = message_page(None, "Không đăng xuất được", FOREIGN_ORIGIN);
        return html_response(StatusCode::FORBIDDEN, page);
    }
    let session = match staff_session(&state, &req).await {
        Ok(session) => session,
        Err(answer) => return answer,
    };
    let form = Fields::parse(&body);
    if !session.viewer.accepts(form.get(CSRF_FIELD)) {
        return finish_stale(session);
    }
    if let Err(error) = sign_in::end_all_sessions(&state, &session.viewer).await {
        return error.error_response();
    }
    finish(removal_cookies(over_tls(&req)), redirect(LOGIN_PATH))
}

async fn account_markup(
    state: &AppState,
    viewer: &Viewer,
    changed: bool,
    errors: &FormErrors,
) -> Result<Markup, AppError> {
    let user = viewer.user.clone();
    let (profile, account) = state
        .db
        .run(move |conn| {
            let profile = members::profile(conn, &user)?;
            let account = staff::find(conn, &profile.login)?.map(|(_, account)| account);
            Ok((profile, account))
        })
        .await?;
    let field = |id: &str, label: &str, autocomplete: &str, hint: Option<&str>| {
        html! {
            div.field {
                label for=(id) { (label) }
                input id=(id) type="password" name=(id) autocomplete=(autocomplete) required
                    aria-invalid=[errors.invalid(id)]
                    aria-describedby=[errors.described_by(id, id, hint.map(|_| "new-password-hint"))];
                @if let Some(hint) = hint {
                    p.hint #new-password-hint { (hint) }
                }
                (errors.next_to(id, id))
            }
        }
    };
    Ok(page(
        "Tài khoản",
        Some(viewer),
        html! {
            section {
                h1 { "Tài khoản của bạn" }
                @if changed {
                    p.notice role="status" {
                        "Đã đổi mật khẩu. Các phiên đăng nhập khác của tài khoản đã kết thúc; phiên này vẫn tiếp tục."
                    }
                }
                dl.facts {
                    dt { "Tên đăng nhập" } dd { (profile.login) }
                    dt { "Vai trò" } dd { (role_label(profile.role)) }
                    @if let Some(committee) = &profile.committee {
                        dt { "Đảng bộ" } dd { (committee.name) " (" (committee.code) ")" }
                    }
                    @if let Some(at) = account.and_then(|a| a.last_sign_in_at) {
                        dt { "Lần đăng nhập gần nhất" } dd { (moment(at)) }
                    }
                }
            }
            section #password {
                h2 { "Đổi mật khẩu" }
                (errors.summary())
                form.stack method="post" action=(PASSWORD_PATH) novalidate {
                    (viewer.csrf_field())
                    (field("current_password", "Mật khẩu hiện tại", "current-password", None))
                    (field("new_password", "Mật khẩu mới", "new-password", Some(PASSWORD_HINT)))
                    (field("new_password_confirmation", "Nhập lại mật khẩu mới", "new-password", None))
                    div.actions {
                        button.primary type="submit" data-action="change-password" { "Đổi mật khẩu" }
                    }
                }
                p.hint { "Sau khi đổi, các thiết bị khác đang đăng nhập bằng tài khoản này sẽ phải đăng nhập lại." }
            }
            section #everywhere {
                h2 { "Đăng xuất khỏi mọi thiết bị" }
                p {
                    "Kết thúc mọi phiên đăng nhập của tài khoản, kể cả phiên này: dùng khi bạn quên đăng xuất ở máy "
                    "khác hoặc nghi ngờ người khác dùng tài khoản của bạn."
                }
                form method="post" action=(EVERYWHERE_PATH) {
                    (viewer.csrf_field())
                    button.danger type="submit" data-action="sign-out-everywhere"
                        data-confirm="Đăng xuất khỏi mọi thiết bị, kể cả máy này?" {
                        "Đăng xuất khỏi mọi thiết bị"
                    }
                }
            }
        },
    ))
}
