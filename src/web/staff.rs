//! The staff page (admins only; an officer is answered 403, as the API answers its admin routes): the officers and
//! admins listed, a new account created, an account disabled or enabled, and its password reset. Every action calls
//! the function the API calls (`org::staff::add`, `set_disabled`, `reset_password`): same rule, same audit entry,
//! and a disabled or reset account's sessions end at once.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};

use crate::auth::{secrets, Role};
use crate::error::AppError;
use crate::org::members;
use crate::org::staff::{self, StaffAccount, StaffRequest};
use crate::org::store as committees;
use crate::paging;
use crate::state::AppState;

use super::fields::{Fields, FormErrors, PASSWORD_HINT};
use super::layout::{moment, page, path_segment, role_label};
use super::session::{staff_action, staff_page, Viewer, CSRF_FIELD};
use super::{html_response, redirect};

const STAFF_PATH: &str = "/dashboard/staff";

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(STAFF_PATH).get(staff_list).post(create))
        .service(web::resource("/dashboard/staff/{login}/disable").post(disable))
        .service(web::resource("/dashboard/staff/{login}/enable").post(enable))
        .service(web::resource("/dashboard/staff/{login}/password-reset").post(reset_password));
}

/// What the create form held: kept when it is shown again with its errors (the password never is).
#[derive(Default)]
struct Typed {
    login: String,
    role: String,
    committee_code: String,
}

/// What the page says above the list (or, for a new account, above the form it came from).
enum Notice {
    None,
    /// The login of the account just created.
    Created(String),
    Done(String),
    /// An action that could not be done (409): shown as an error, with this status.
    Refused(String),
}

async fn staff_list(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let state = state.get_ref();
    let query = Fields::query(&req);
    staff_page(state, &req, |viewer| async move {
        viewer.require_admin()?;
        let after = paging::decode_after(query.get("after"))?;
        let notice = if let Some(login) = query.get("created") {
            Notice::Created(login.to_owned())
        } else if let Some(login) = query.get("disabled") {
            Notice::Done(format!("Đã khóa tài khoản {login}. Mọi phiên đăng nhập của tài khoản này đã kết thúc."))
        } else if let Some(login) = query.get("enabled") {
            Notice::Done(format!("Đã mở khóa tài khoản {login}: tài khoản có thể đăng nhập lại."))
        } else {
            Notice::None
        };
        let typed = Typed { role: "officer".into(), ..Typed::default() };
        let body = staff_markup(state, &viewer, after, notice, &typed, &FormErrors::default()).await?;
        Ok(html_response(StatusCode::OK, body))
    })
    .await
}

async fn create(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let state = state.get_ref();
    let form = Fields::parse(&body);
    let csrf = form.get(CSRF_FIELD).map(str::to_owned);
    staff_action(state, &req, csrf.as_deref(), |viewer| async move {
        viewer.require_admin()?;
        let typed =
            Typed { login: form.text("login"), role: form.text("role"), committee_code: form.text("committee_code") };
        let typed_password = form.text("password");
        // An empty password: one is made, and shown once.
        let generated = typed_password.is_empty();
        let password = if generated { secrets::random_password() } else { typed_password };
        let request = StaffRequest {
            login: &typed.login,
            password: &password,
            role: &typed.role,
            committee_code: Some(typed.committee_code.as_str()),
        };
        let errors = match staff::add(state, &viewer, &request).await {
            Ok(account) if generated => {
                let body = password_page(&viewer, "Đã tạo tài khoản", &account.login, &password);
                return Ok(html_response(StatusCode::OK, body));
            }
            Ok(account) => return Ok(redirect(&notice_url("created", &account.login))),
            Err(AppError::Validation(errors)) => FormErrors::from_validation(&errors),
            Err(AppError::Conflict(_)) => {
                let mut errors = FormErrors::default();
                errors.add("login", "Tên đăng nhập này đã có người dùng: hãy chọn tên khác.");
                errors
            }
            Err(other) => return Err(other),
        };
        let body = staff_markup(state, &viewer, None, Notice::None, &typed, &errors).await?;
        Ok(html_response(StatusCode::UNPROCESSABLE_ENTITY, body))
    })
    .await
}

async fn disable(
    state: web::Data<AppState>,
    req: HttpRequest,
    login: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    set_disabled(state.get_ref(), req, login.into_inner(), body, true).await
}

async fn enable(
    state: web::Data<AppState>,
    req: HttpRequest,
    login: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    set_disabled(state.get_ref(), req, login.into_inner(), body, false).await
}

async fn set_disabled(
    state: &AppState,
    req: HttpRequest,
    login: String,
    body: web::Bytes,
    disabled: bool,
) -> HttpResponse {
    let form = Fields::parse(&body);
    let csrf = form.get(CSRF_FIELD).map(str::to_owned);
    staff_action(state, &req, csrf.as_deref(), |viewer| async move {
        match staff::set_disabled(state, &viewer, &login, disabled).await {
            Ok(account) => Ok(redirect(&notice_url(if disabled { "disabled" } else { "enabled" }, &account.login))),
            Err(AppError::Conflict(reason)) => refused(state, &viewer, &reason).await,
            Err(other) => Err(other),
        }
    })
    .await
}

async fn reset_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    login: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let state = state.get_ref();
    let form = Fields::parse(&body);
    let login = login.into_inner();
    let csrf = form.get(CSRF_FIELD).map(str::to_owned);
    staff_action(state, &req, csrf.as_deref(), |viewer| async move {
        match staff::reset_password(state, &viewer, &login).await {
            // A page, not a redirect: the password is shown this once and never put in a URL.
            Ok(reset) => {
                let body = password_page(&viewer, "Đã đặt lại mật khẩu", &reset.login, &reset.password);
                Ok(html_response(StatusCode::OK, body))
            }
            Err(AppError::Conflict(reason)) => refused(state, &viewer, &reason).await,
            Err(other) => Err(other),
        }
    })
    .await
}

/// The list again, saying why an action was refused (409).
async fn refused(state: &AppState, viewer: &Viewer, reason: &str) -> Result<HttpResponse, AppError> {
    let text = match reason {
        staff::CANNOT_DISABLE_SELF => "Bạn không thể tự khóa tài khoản của chính mình.",
        staff::LAST_ADMIN => "Không thể khóa quản trị viên cuối cùng còn hoạt động: thành phố cần ít nhất một người.",
        staff::CANNOT_RESET_SELF => {
            "Mật khẩu của chính bạn được đổi ở trang Tài khoản (cần nhập mật khẩu hiện tại), không đặt lại ở đây."
        }
        _ => "Không thực hiện được thao tác này.",
    };
    let typed = Typed { role: "officer".into(), ..Typed::default() };
    let notice = Notice::Refused(text.to_owned());
    let body = staff_markup(state, viewer, None, notice, &typed, &FormErrors::default()).await?;
    Ok(html_response(StatusCode::CONFLICT, body))
}

fn notice_url(what: &str, login: &str) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new()).append_pair(what, login).finish();
    let at = if what == "created" { "#create" } else { "" };
    format!("{STAFF_PATH}?{query}{at}")
}

/// The page that shows a new password, once. It is not kept anywhere but in the account's hash.
fn password_page(viewer: &Viewer, title: &str, login: &str, password: &str) -> Markup {
    let body = html! {
        section {
            h1 { (title) }
            p.notice role="status" { "Tài khoản " strong { (login) } " có mật khẩu mới." }
            p { "Mật khẩu: " code.once { (password) } }
            p.hint {
                "Mật khẩu chỉ hiện một lần này: hãy ghi lại và trao trực tiếp cho người dùng. Người dùng nên đổi "
                "mật khẩu ở trang Tài khoản sau lần đăng nhập đầu tiên."
            }
            p { a href=(STAFF_PATH) { "← Về danh sách cán bộ" } }
        }
    };
    page(title, Some(viewer), body)
}

async fn staff_markup(
    state: &AppState,
    viewer: &Viewer,
    after: Option<String>,
    notice: Notice,
    typed: &Typed,
    errors: &FormErrors,
) -> Result<Markup, AppError> {
    let accounts = staff::page(state, viewer, paging::DEFAULT_LIMIT, after).await?;
    let created = match &notice {
        Notice::Created(login) => Some(login.clone()),
        _ => None,
    };
    let user = viewer.user.clone();
    let (own_login, committees) = state
        .db
        .run(move |conn| Ok((members::profile(conn, &user)?.login, committees::list_committees(conn, None)?)))
        .await?;
    Ok(page(
        "Cán bộ",
        Some(viewer),
        html! {
            section {
                h1 { "Cán bộ và quản trị viên" }
                @match &notice {
                    Notice::None | Notice::Created(_) => {}
                    Notice::Done(text) => { p.notice role="status" { (text) } }
                    Notice::Refused(text) => { p.errors role="alert" { (text) } }
                }
                (account_table(viewer, &accounts.items, &own_login))
                @if let Some(next) = &accounts.next {
                    nav.pager aria-label="Phân trang" {
                        a href=(STAFF_PATH) { "« Đầu danh sách" }
                        a href=(format!("{STAFF_PATH}?after={next}")) { "Trang sau »" }
                    }
                }
            }
            (create_form(viewer, typed, errors, &committees, created.as_deref()))
        },
    ))
}

fn account_table(viewer: &Viewer, accounts: &[StaffAccount], own_login: &str) -> Markup {
    html! {
        div.scroll tabindex="0" role="region" aria-label="Bảng cán bộ" {
            table.staff {
                thead {
                    tr {
                        th scope="col" { "Tên đăng nhập" }
                        th scope="col" { "Vai trò" }
                        th scope="col" { "Đảng bộ" }
                        th scope="col" { "Trạng thái" }
                        th scope="col" { "Ngày tạo" }
                        th scope="col" { "Đăng nhập gần nhất" }
                        th scope="col" { "Thao tác" }
                    }
                }
                tbody {
                    @for account in accounts {
                        tr {
                            th scope="row" { (account.login) }
                            td { (role_label(account.role)) }
                            td { (account.committee_code.as_deref().unwrap_or("—")) }
                            td {
                                @if account.disabled {
                                    span.badge.locked { "Đã khóa" }
                                } @else {
                                    span.badge.active { "Đang hoạt động" }
                                }
                            }
                            td { (moment(account.created_at)) }
                            td { (account.last_sign_in_at.map(moment).unwrap_or_else(|| "—".to_owned())) }
                            td.row-actions {
                                @if account.login == own_login {
                                    span.muted { "Tài khoản của bạn" }
                                } @else {
                                    (account_actions(viewer, account))
                                }
                            }
                        }
                    }
                    @if accounts.is_empty() {
                        tr { td colspan="7" { "Chưa có tài khoản nào." } }
                    }
                }
            }
        }
    }
}

fn account_actions(viewer: &Viewer, account: &StaffAccount) -> Markup {
    let base = format!("{STAFF_PATH}/{}", path_segment(&account.login));
    html! {
        @if account.disabled {
            form.inline method="post" action=(format!("{base}/enable")) {
                (viewer.csrf_field())
                button type="submit" data-action="enable" aria-label=(format!("Mở khóa {}", account.login)) {
                    "Mở khóa"
                }
            }
        } @else {
            form.inline method="post" action=(format!("{base}/disable")) {
                (viewer.csrf_field())
                button.danger type="submit" data-action="disable" aria-label=(format!("Khóa {}", account.login))
                    data-confirm=(format!("Khóa tài khoản {}? Mọi phiên đăng nhập của tài khoản sẽ kết thúc ngay.", account.login)) {
                    "Khóa"
                }
            }
        }
        form.inline method="post" action=(format!("{base}/password-reset")) {
            (viewer.csrf_field())
            button type="submit" data-action="password-reset" aria-label=(format!("Đặt lại mật khẩu của {}", account.login))
                data-confirm=(format!("Đặt lại mật khẩu của {}? Mật khẩu cũ ngừng hoạt động và mọi phiên đăng nhập kết thúc.", account.login)) {
                "Đặt lại mật khẩu"
            }
        }
    }
}

/// The form of a new account. It is sent to `#create`, so that the answer, its errors or the notice of the new
/// account, opens where the form is (below the list: on a phone, out of sight otherwise).
fn create_form(
    viewer: &Viewer,
    typed: &Typed,
    errors: &FormErrors,
    committees: &[committees::Committee],
    created: Option<&str>,
) -> Markup {
    let roles = [(Role::Officer, "officer"), (Role::Admin, "admin")];
    html! {
        section #create {
            h2 { "Thêm tài khoản" }
            @if let Some(login) = created {
                p.notice role="status" { "Đã tạo tài khoản " strong { (login) } "." }
            }
            (errors.summary())
            form.stack method="post" action=(format!("{STAFF_PATH}#create")) novalidate {
                (viewer.csrf_field())
                div.field {
                    label for="login" { "Tên đăng nhập" }
                    input #login type="text" name="login" value=(typed.login) required autocomplete="off"
                        autocapitalize="none" spellcheck="false" aria-invalid=[errors.invalid("login")]
                        aria-describedby=[errors.described_by("login", "login", Some("login-hint"))];
                    p.hint #login-hint { "3–64 ký tự: chữ thường không dấu, chữ số, dấu chấm, gạch dưới, gạch ngang; bắt đầu bằng chữ cái." }
                    (errors.next_to("login", "login"))
                }
                div.field {
                    label for="role" { "Vai trò" }
                    select #role name="role" aria-invalid=[errors.invalid("role")]
                        aria-describedby=[errors.described_by("role", "role", None)] {
                        @for (role, value) in roles {
                            option value=(value) selected[typed.role == value] { (role_label(role)) }
                        }
                    }
                    (errors.next_to("role", "role"))
                }
                div.field {
                    label for="committee_code" { "Đảng bộ (của cán bộ đảng bộ)" }
                    select #committee_code name="committee_code" aria-invalid=[errors.invalid("committee_code")]
                        aria-describedby=[errors.described_by("committee_code", "committee_code", Some("committee-hint"))] {
                        option value="" selected[typed.committee_code.is_empty()] { "— Không thuộc đảng bộ (quản trị viên)" }
                        @for committee in committees {
                            option value=(committee.code) selected[typed.committee_code == committee.code] {
                                (committee.code) " — " (committee.name)
                            }
                        }
                    }
                    p.hint #committee-hint { "Cán bộ đảng bộ chỉ xem và quản lý đảng bộ của mình; quản trị viên quản lý toàn thành phố." }
                    (errors.next_to("committee_code", "committee_code"))
                }
                div.field {
                    label for="password" { "Mật khẩu" }
                    input #password type="password" name="password" autocomplete="new-password"
                        aria-invalid=[errors.invalid("password")]
                        aria-describedby=[errors.described_by("password", "password", Some("password-hint"))];
                    p.hint #password-hint {
                        "Để trống để hệ thống tạo một mật khẩu ngẫu nhiên (hiện một lần sau khi tạo). " (PASSWORD_HINT)
                    }
                    (errors.next_to("password", "password"))
                }
                div.actions {
                    button.primary type="submit" data-action="create-staff" { "Tạo tài khoản" }
                }
            }
        }
    }
}
