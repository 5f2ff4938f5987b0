//! `GET /dashboard/members/{card_number}`: one member's facts and devices (`org::members::find_with_installations`,
//! as `GET /api/v1/admin/members/{card_number}`), and `POST …/activation-code`, which issues a new code through
//! `auth::activation::issue_for_member` (the API's function: same scope, same reset, same audit entry) and shows it
//! once, on the answer to the POST itself, never on a page that could be fetched again.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use maud::{html, Markup};

use crate::auth::activation::{self, Issued};
use crate::error::AppError;
use crate::org::members::{self, Member, MemberStatus};
use crate::org::store;
use crate::state::AppState;
use crate::sync::installations::InstallationView;

use super::super::layout::{as_of, page};
use super::super::session::{staff_action, staff_page, Viewer};
use super::super::{html_response, slips};
use super::{form_field, member_path, status_badge, MEMBERS_PATH};

/// What the page shows below the facts: nothing more, a code just issued, or why none was.
enum CodeNews {
    None,
    Issued(Issued),
    Refused(&'static str),
}

pub(super) async fn member_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    card_number: web::Path<String>,
) -> HttpResponse {
    let state = state.get_ref();
    let card_number = card_number.into_inner();
    staff_page(state, &req, |viewer| async move {
        member_answer(state, &viewer, card_number, CodeNews::None, StatusCode::OK).await
    })
    .await
}

/// The button's form: the CSRF token and nothing else.
pub(super) async fn new_code(
    state: web::Data<AppState>,
    req: HttpRequest,
    card_number: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let state = state.get_ref();
    let card_number = card_number.into_inner();
    let csrf = form_field(&body, super::super::session::CSRF_FIELD);
    staff_action(state, &req, csrf.as_deref(), |viewer| async move {
        let ttl = state.auth.activation_code_ttl;
        let user = viewer.user.clone();
        let lookup = card_number.clone();
        let issued = state.db.run(move |conn| activation::issue_for_member(conn, &user, &lookup, ttl)).await;
        let (news, status) = match issued {
            Ok(issued) => {
                // The member's sessions ended: this instance refuses their tokens from now on.
                crate::auth::revocations::catch_up(state).await;
                (CodeNews::Issued(issued), StatusCode::OK)
            }
            Err(AppError::Conflict(_)) => (CodeNews::Refused(LEFT_NO_CODE), StatusCode::CONFLICT),
            Err(other) => return Err(other),
        };
        member_answer(state, &viewer, card_number, news, status).await
    })
    .await
}

const LEFT_NO_CODE: &str = "Đảng viên này đã rời khỏi danh sách nên không thể đăng nhập: không cấp mã kích hoạt.";

async fn member_answer(
    state: &AppState,
    user: &Viewer,
    card_number: String,
    news: CodeNews,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let viewer = user.user.clone();
    let (member, devices, committee_name) = state
        .db
        .run(move |conn| {
            let (member, devices) =
                members::find_with_installations(conn, &viewer, &card_number)?.ok_or(AppError::NotFound)?;
            let name = store::find_committee(conn, &member.committee_code)?.map(|c| c.name).unwrap_or_default();
            Ok((member, devices, name))
        })
        .await?;
    let body = member_markup(user, &member, &devices, &committee_name, &news);
    Ok(html_response(status, page(&member.full_name, Some(user), body)))
}

fn at(time: NaiveDateTime) -> String {
    as_of(&crate::time::rfc3339(time))
}

fn member_markup(
    user: &Viewer,
    m: &Member,
    devices: &[InstallationView],
    committee_name: &str,
    news: &CodeNews,
) -> Markup {
    let last_seen = devices.iter().map(|d| d.last_seen_at).max();
    let code_path = format!("{}/activation-code", member_path(&m.card_number));
    html! {
        p.crumbs {
            a href=(MEMBERS_PATH) { "← Đảng viên" }
            " · "
            a href=(format!("{MEMBERS_PATH}?committee={}", super::super::layout::path_segment(&m.committee_code))) {
                "Đảng viên cùng đảng bộ"
            }
        }
        section {
            h1 { (m.full_name) }
            dl.facts {
                dt { "Số thẻ đảng viên" } dd { (m.card_number) }
                dt { "Đảng bộ" } dd { (committee_name) " (" (m.committee_code) ")" }
                dt { "Đơn vị" } dd { (m.unit) }
                dt { "Chi bộ" } dd { (m.cell) }
                dt { "Trạng thái" } dd { (status_badge(m.status)) }
                @if let Some(born) = m.birth_date {
                    dt { "Ngày sinh" } dd { (super::super::layout::day(born)) }
                }
                @if let Some(phone) = &m.phone {
                    dt { "Điện thoại" } dd { (phone) }
                }
                dt { "Kích hoạt" }
                dd {
                    @match m.activated_at {
                        Some(activated) => { "Đã kích hoạt lúc " (at(activated)) }
                        None => { "Chưa kích hoạt" }
                    }
                }
                dt { "Hoạt động lần cuối" }
                dd {
                    @match last_seen {
                        Some(seen) => { (at(seen)) }
                        None => { "Chưa có thiết bị nào" }
                    }
                }
            }
        }
        section {
            h2 { "Thiết bị đã cài đặt" }
            @if devices.is_empty() {
                p.empty { "Đảng viên chưa cài đặt ứng dụng trên thiết bị nào." }
            } @else {
                div.scroll tabindex="0" role="region" aria-label="Bảng thiết bị" {
                    table.devices {
                        thead {
                            tr {
                                th scope="col" { "Nền tảng" }
                                th scope="col" { "Phiên bản ứng dụng" }
                                th scope="col" { "Thiết bị" }
                                th scope="col" { "Hệ điều hành" }
                                th scope="col" { "Đăng ký lúc" }
                                th scope="col" { "Lần cuối" }
                            }
                        }
                        tbody {
                            @for d in devices {
                                tr {
                                    td { (platform_label(d.platform.as_str())) }
                                    td { (d.app_version) }
                                    td { (d.device_model.as_deref().unwrap_or("—")) }
                                    td { (d.os_version.as_deref().unwrap_or("—")) }
                                    td { (at(d.first_seen_at)) }
                                    td { (at(d.last_seen_at)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        section #activation {
            h2 { "Mã kích hoạt" }
            @match news {
                CodeNews::Issued(issued) => {
                    div.notice role="status" {
                        p { "Mã kích hoạt mới của " strong { (issued.member.full_name) } " (chỉ hiển thị một lần):" }
                        p { code.once { (issued.code) } }
                        p { "Hết hạn lúc " strong { (at(issued.expires_at)) } "." }
                        p.hint {
                            "Hãy ghi lại hoặc trao ngay cho đảng viên: mã được lưu dưới dạng đã băm, rời trang này "
                            "sẽ không xem lại được. Mã mới thay cho mọi mã đã cấp trước đó."
                        }
                    }
                }
                CodeNews::Refused(why) => {
                    p.errors role="alert" { (why) }
                }
                CodeNews::None => {}
            }
            @if m.status == MemberStatus::Left {
                p.muted { (LEFT_NO_CODE) }
            } @else {
                p.muted {
                    "Đảng viên dùng số thẻ và mã kích hoạt để đăng nhập lần đầu và tự đặt mật khẩu. Mã dùng được một lần."
                }
                @if m.activated_at.is_some() {
                    p.errors role="note" {
                        "Đảng viên này đã kích hoạt: cấp mã mới sẽ đặt lại mật khẩu — mật khẩu hiện tại và mọi phiên "
                        "đăng nhập trên các thiết bị hết hiệu lực ngay."
                    }
                }
                form method="post" action=(code_path) {
                    (user.csrf_field())
                    div.actions {
                        @if m.activated_at.is_some() {
                            button.primary type="submit" data-action="activation-code"
                                data-confirm="Cấp mã mới sẽ đặt lại mật khẩu của đảng viên này. Tiếp tục?" {
                                "Cấp mã kích hoạt mới (đặt lại mật khẩu)"
                            }
                        } @else {
                            button.primary type="submit" data-action="activation-code" { "Cấp mã kích hoạt mới" }
                        }
                        @if m.status == MemberStatus::Eligible && m.activated_at.is_none() {
                            a href=(slips::committee_slips_path(&m.committee_code)) { "In phiếu cho cả đảng bộ" }
                        }
                    }
                }
            }
        }
    }
}

fn platform_label(platform: &str) -> &str {
    match platform {
        "android" => "Android",
        "ios" => "iOS",
        "web" => "Trình duyệt",
        other => other,
    }
}
