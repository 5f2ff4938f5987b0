//! A document's revisions (`content::documents::revisions`, as `GET …/revisions`): the list, a line diff of title
//! and body between any two (chosen with a GET form, `?from=&to=`), and restore (`content::documents::restore`, as
//! `POST …/revisions/{n}/restore`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use similar::{ChangeTag, TextDiff};

use crate::content::documents::{self, RevisionSummary, RevisionText};
use crate::error::AppError;
use crate::state::AppState;

use super::form::in_one_message;
use super::{document_path, form_value, hanoi_text, query_value};
use crate::web::layout::{message_page, page};
use crate::web::session::{staff_action, staff_page, Viewer, CSRF_FIELD};
use crate::web::{html_response, redirect};

/// Unchanged lines shown around each change.
const CONTEXT_LINES: usize = 3;

pub(super) async fn revisions_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> HttpResponse {
    let state = state.get_ref();
    let query = req.query_string().to_owned();
    staff_page(state, &req, |viewer| async move { revisions_response(state, &viewer, id.into_inner(), &query).await })
        .await
}

/// A revision number from the query; anything else is no choice.
fn revision_choice(query: &str, key: &str) -> Option<i32> {
    query_value(query, key).and_then(|v| v.trim().parse().ok())
}

async fn revisions_response(
    state: &AppState,
    viewer: &Viewer,
    id: String,
    query: &str,
) -> Result<HttpResponse, AppError> {
    let user = viewer.user.clone();
    let asked = (revision_choice(query, "from"), revision_choice(query, "to"));
    let lookup = id.clone();
    let (row, list, compared) = state
        .db
        .run(move |conn| {
            let row = documents::find_managed(conn, &user, &lookup)?;
            let list = documents::revisions(conn, &user, &lookup)?;
            // By default the last two revisions.
            let newest = list.last().map(|r| r.revision);
            let before = list.iter().rev().nth(1).map(|r| r.revision);
            let compared = match (asked.0.or(before), asked.1.or(newest)) {
                (Some(from), Some(to)) => Some((
                    documents::revision_text(conn, &user, &lookup, from)?,
                    documents::revision_text(conn, &user, &lookup, to)?,
                )),
                _ => None,
            };
            Ok((row, list, compared))
        })
        .await?;
    let restored = query_value(query, "restored");
    let path = document_path(&id);
    let body = html! {
        p.crumbs { a href=(path) { "← " (row.title) } }
        h1 { "Các phiên bản" }
        @if let Some(revision) = restored {
            p.notice role="status" { "Đã khôi phục: nội dung cũ được đăng thành phiên bản mới " (revision) "." }
        }
        section aria-labelledby="list-heading" {
            h2 #list-heading { "Danh sách phiên bản" }
            (revision_table(viewer, &path, &list))
        }
        section aria-labelledby="diff-heading" {
            h2 #diff-heading { "So sánh hai phiên bản" }
            @if list.len() < 2 {
                p.muted { "Cần ít nhất hai phiên bản để so sánh." }
            } @else {
                (choose_form(&path, &list, compared.as_ref().map(|(from, to)| (from.revision, to.revision))))
                @if let Some((from, to)) = &compared {
                    (diff_markup(from, to))
                }
            }
        }
    };
    Ok(html_response(StatusCode::OK, page(&format!("Các phiên bản — {}", row.title), Some(viewer), body)))
}

fn revision_table(viewer: &Viewer, path: &str, list: &[RevisionSummary]) -> Markup {
    html! {
        @if list.is_empty() {
            p.empty { "Tài liệu chưa được đăng lần nào." }
        } @else {
            div.scroll tabindex="0" role="region" aria-label="Bảng phiên bản" {
                table.revisions {
                    thead {
                        tr {
                            th.num scope="col" { "Phiên bản" }
                            th scope="col" { "Tiêu đề" }
                            th scope="col" { "Đăng lúc (giờ Hà Nội)" }
                            th scope="col" { "Người đăng" }
                            th scope="col" { "Khôi phục" }
                        }
                    }
                    tbody {
                        @for r in list.iter().rev() {
                            tr {
                                td.num { (r.revision) }
                                td.name { (r.title) }
                                td { (hanoi_text(r.published_at)) }
                                td { (r.published_by) }
                                td {
                                    form.inline method="post" action=(format!("{path}/revisions/{}/restore", r.revision)) {
                                        (viewer.csrf_field())
                                        button type="submit" data-action="restore"
                                            aria-label=(format!("Khôi phục phiên bản {}", r.revision))
                                            data-confirm=(format!("Đăng lại nội dung của phiên bản {} thành một phiên bản mới?", r.revision)) {
                                            "Khôi phục"
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p.hint { "Khôi phục đăng lại nội dung của phiên bản đó thành một phiên bản mới; các phiên bản cũ được giữ nguyên." }
        }
    }
}

fn choose_form(path: &str, list: &[RevisionSummary], chosen: Option<(i32, i32)>) -> Markup {
    let (from, to) = chosen.unwrap_or_default();
    html! {
        form.filters method="get" action=(format!("{path}/revisions")) {
            div.field {
                label for="from" { "Phiên bản cũ" }
                select #from name="from" {
                    @for r in list { option value=(r.revision) selected[r.revision == from] { "Phiên bản " (r.revision) } }
                }
            }
            div.field {
                label for="to" { "Phiên bản mới" }
                select #to name="to" {
                    @for r in list { option value=(r.revision) selected[r.revision == to] { "Phiên bản " (r.revision) } }
                }
            }
            div.field { button.primary type="submit" { "So sánh" } }
        }
    }
}

/// What is compared: the title, a blank line, then the body.
fn compared_text(revision: &RevisionText) -> String {
    format!("{}\n\n{}", revision.title, revision.body)
}

/// A line diff of title and body: removed lines marked “−” inside `<del>`, added ones “+” inside `<ins>`, with a
/// few unchanged lines around each change; line numbers of both revisions.
fn diff_markup(from: &RevisionText, to: &RevisionText) -> Markup {
    let (old, new) = (compared_text(from), compared_text(to));
    let diff = TextDiff::from_lines(&old, &new);
    let groups = diff.grouped_ops(CONTEXT_LINES);
    html! {
        @if groups.is_empty() {
            p.muted { "Tiêu đề và nội dung của phiên bản " (from.revision) " và " (to.revision) " giống nhau." }
        } @else {
            p.hint {
                "Dòng có dấu “−” (gạch ngang) chỉ có ở phiên bản " (from.revision)
                "; dòng có dấu “+” (gạch chân) chỉ có ở phiên bản " (to.revision) ". Dòng đầu là tiêu đề."
            }
            div.scroll tabindex="0" role="region" aria-label="Bảng so sánh" {
                table.diff {
                    caption { "Khác biệt giữa phiên bản " (from.revision) " và phiên bản " (to.revision) }
                    thead {
                        tr {
                            th.num scope="col" { "Dòng (" (from.revision) ")" }
                            th.num scope="col" { "Dòng (" (to.revision) ")" }
                            th scope="col" { span.visually-hidden { "Thay đổi" } }
                            th scope="col" { "Nội dung" }
                        }
                    }
                    @for (index, group) in groups.iter().enumerate() {
                        tbody {
                            @if index > 0 {
                                tr.gap { td colspan="4" { "⋯" } }
                            }
                            @for op in group {
                                @for change in diff.iter_changes(op) {
                                    @let text = change.value().trim_end_matches(['\n', '\r']);
                                    @let old_line = change.old_index().map(|i| (i + 1).to_string()).unwrap_or_default();
                                    @let new_line = change.new_index().map(|i| (i + 1).to_string()).unwrap_or_default();
                                    @match change.tag() {
                                        ChangeTag::Delete => tr.del {
                                            td.num { (old_line) } td.num {}
                                            td.sign { span aria-hidden="true" { "−" } span.visually-hidden { "Đã bỏ:" } }
                                            td.text { del { (text) } }
                                        },
                                        ChangeTag::Insert => tr.ins {
                                            td.num {} td.num { (new_line) }
                                            td.sign { span aria-hidden="true" { "+" } span.visually-hidden { "Đã thêm:" } }
                                            td.text { ins { (text) } }
                                        },
                                        ChangeTag::Equal => tr.same {
                                            td.num { (old_line) } td.num { (new_line) }
                                            td.sign {}
                                            td.text { (text) }
                                        },
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Publishes revision `n`'s content as a new revision (`content::documents::restore`, as the API's route).
pub(super) async fn restore(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let state = state.get_ref();
    let csrf = form_value(&body, CSRF_FIELD);
    staff_action(state, &req, csrf.as_deref(), |viewer| async move {
        let (id, n) = path.into_inner();
        let revision: i32 = n.parse().map_err(|_| AppError::NotFound)?;
        let user = viewer.user.clone();
        let target = id.clone();
        match state.db.run(move |conn| documents::restore(conn, &user, &target, revision)).await {
            Ok(published) => Ok(redirect(&format!("{}/revisions?restored={}", document_path(&id), published.revision))),
            Err(AppError::Validation(errors)) => {
                let reasons = in_one_message(errors);
                let text = format!("Không khôi phục được phiên bản {revision}: {reasons}");
                Ok(html_response(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    message_page(Some(&viewer), "Không khôi phục được", &text),
                ))
            }
            Err(other) => Err(other),
        }
    })
    .await
}
