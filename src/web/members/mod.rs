//! The console's members: the list with search and filters (`list`), one member with its devices and a new
//! activation code (`member`), and the CSV import with its dry run (`import`, the uploads it keeps in `kept`).
//! Every page calls the API's functions: `org::members::list`, `org::members::find_with_installations`,
//! `auth::activation::issue_for_member`, `org::import::import_as`.

use actix_web::web;
use maud::{html, Markup};

use crate::org::members::MemberStatus;

use super::layout::path_segment;

mod import;
mod kept;
mod list;
mod member;

pub(super) const MEMBERS_PATH: &str = "/dashboard/members";
pub(super) const IMPORT_PATH: &str = "/dashboard/members/import";

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    // The import before `{card_number}`, which would take the word "import" for a card number.
    cfg.service(web::resource(MEMBERS_PATH).get(list::members_page))
        .service(web::resource(IMPORT_PATH).get(import::import_form).post(import::upload))
        .service(web::resource("/dashboard/members/import/{upload}").post(import::import_kept))
        .service(web::resource("/dashboard/members/{card_number}").get(member::member_page))
        .service(web::resource("/dashboard/members/{card_number}/activation-code").post(member::new_code));
}

/// The page of one member.
pub(super) fn member_path(card_number: &str) -> String {
    format!("{MEMBERS_PATH}/{}", path_segment(card_number))
}

pub(super) fn status_label(status: MemberStatus) -> &'static str {
    match status {
        MemberStatus::Eligible => "Đủ điều kiện",
        MemberStatus::Exempt => "Miễn sinh hoạt",
        MemberStatus::Left => "Đã rời",
    }
}

pub(super) fn status_badge(status: MemberStatus) -> Markup {
    html! { span class=(format!("badge {}", status.as_str())) { (status_label(status)) } }
}

/// The header cells of a table of members: card number, name, committee, unit, cell, status.
pub(super) fn member_header_cells() -> Markup {
    html! {
        th scope="col" { "Số thẻ" }
        th scope="col" { "Họ và tên" }
        th scope="col" { "Đảng bộ" }
        th scope="col" { "Đơn vị" }
        th scope="col" { "Chi bộ" }
        th scope="col" { "Trạng thái" }
    }
}

/// "có" / "chưa", for the yes-or-no columns.
pub(super) fn yes_no(value: bool, yes: &'static str, no: &'static str) -> Markup {
    html! {
        @if value { span.yes { (yes) } } @else { span.no { (no) } }
    }
}

/// A urlencoded form field of a small form body (the CSRF token of a button form, a choice).
pub(super) fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body).find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}
