//! The documents console, `/dashboard/documents`: the list (`list`), the editor with its preview, reach, delivery,
//! publish and unpublish (`editor`, its form in `form`), attachments uploaded from the page (`attachments`), and
//! the revisions with their diff and restore (`revisions`).
//!
//! Every action calls the functions of the API's handlers (`content::documents::{create, update, publish,
//! unpublish, restore}`, `content::attachments::store_upload`, `sync::delivery::of_document`): the same rules, the
//! same scope (an officer manages its committee's documents only; any other id answers the 404 page), the same
//! audit entries. Times are shown and typed in Hanoi time (UTC+7) and stored in UTC.

use actix_web::web;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use maud::{html, Markup};

use crate::content::states::{DocumentKind, DocumentStatus};

use super::layout::{as_of, path_segment};

mod attachments;
mod editor;
mod form;
mod list;
mod revisions;

/// The list, and the prefix of every page of one document.
const LIST_PATH: &str = "/dashboard/documents";
const NEW_PATH: &str = "/dashboard/documents/new";

/// A form of the editor may carry a Markdown body of 1 MiB, which URL-encoding makes up to nine times larger
/// (a Vietnamese letter is three bytes, each written `%XX`).
const EDITOR_FORM_LIMIT: usize = 10 * crate::content::documents::MAX_BODY_BYTES;

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    let form_limit = || web::PayloadConfig::default().limit(EDITOR_FORM_LIMIT);
    // `new` before `{id}`: actix tries resources in this order.
    cfg.service(web::resource(LIST_PATH).get(list::list_page))
        .service(web::resource(NEW_PATH).app_data(form_limit()).get(editor::new_page).post(editor::new_submit))
        .service(
            web::resource("/dashboard/documents/{id}")
                .app_data(form_limit())
                .get(editor::edit_page)
                .post(editor::edit_submit),
        )
        .service(web::resource("/dashboard/documents/{id}/unpublish").post(editor::unpublish))
        .service(web::resource("/dashboard/documents/{id}/attachments").post(attachments::upload))
        .service(web::resource("/dashboard/documents/{id}/attachments/remove").post(attachments::remove))
        .service(web::resource("/dashboard/documents/{id}/revisions").get(revisions::revisions_page))
        .service(web::resource("/dashboard/documents/{id}/revisions/{n}/restore").post(revisions::restore));
}

/// The page of one document.
fn document_path(id: &str) -> String {
    format!("{LIST_PATH}/{}", path_segment(id))
}

/// The status as staff read it.
fn status_label(status: DocumentStatus) -> &'static str {
    match status {
        DocumentStatus::Draft => "Bản nháp",
        DocumentStatus::Scheduled => "Chờ đăng",
        DocumentStatus::Published => "Đang đăng",
        DocumentStatus::Expired => "Hết hiệu lực",
        DocumentStatus::Unpublished => "Đã gỡ",
    }
}

/// The status as a badge: its words (colour is not the only signal) and its class.
fn status_badge(status: DocumentStatus) -> Markup {
    html! { span class=(format!("badge {}", status.as_str())) { (status_label(status)) } }
}

/// The kinds, with their Vietnamese names, for a `<select>` (`selected`: the kind as typed).
fn kind_options(selected: &str) -> Markup {
    html! {
        @for kind in DocumentKind::ALL {
            option value=(kind.as_str()) selected[kind.as_str() == selected] { (kind.title()) }
        }
    }
}

/// A stored (UTC) time as Hanoi writes it: "08:00 26/11/2026".
fn hanoi_text(at: NaiveDateTime) -> String {
    as_of(&crate::time::rfc3339(at))
}

const HANOI_HOURS: i64 = 7;

/// A stored (UTC) time as a `datetime-local` input holds it, in Hanoi time.
fn hanoi_input(at: NaiveDateTime) -> String {
    (at + Duration::hours(HANOI_HOURS)).format("%Y-%m-%dT%H:%M").to_string()
}

/// What a `datetime-local` input sent (Hanoi time) as UTC: `Ok(None)` when left empty, `Err` when unreadable.
fn from_hanoi_input(text: &str) -> Result<Option<DateTime<Utc>>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| ())?;
    Ok(Some((local - Duration::hours(HANOI_HOURS)).and_utc()))
}

/// The value of `key` in a query string (the first one), if any.
fn query_value(query: &str, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// The value of `key` in a urlencoded form body (the first one), if any.
fn form_value(body: &[u8], key: &str) -> Option<String> {
    url::form_urlencoded::parse(body).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// 1536000 → "1,5 MB".
fn size_text(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0)).replace('.', ",")
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hanoi_time_goes_in_and_out_as_utc() {
        let at = from_hanoi_input("2026-12-01T08:30").unwrap().unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-01T01:30:00+00:00");
        assert_eq!(hanoi_input(at.naive_utc()), "2026-12-01T08:30");
        assert_eq!(hanoi_text(at.naive_utc()), "08:30 01/12/2026");
        assert_eq!(from_hanoi_input("  ").unwrap(), None);
        assert!(from_hanoi_input("01/12/2026").is_err());
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size_text(2048), "2 KB");
        assert_eq!(size_text(1536 * 1024), "1,5 MB");
    }
}
