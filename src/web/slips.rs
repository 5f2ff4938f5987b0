//! Activation slips: a printable A4 page of cut-out slips, one per eligible member of a committee (or of one of its
//! units or cells) who has not activated yet, each with the member's new activation code and a QR code of
//! `HBACT1:<card_number>:<code>` that the app reads to fill in the activation form (see README, "Activation slips").
//!
//! - `GET /dashboard/slips`: admins, the committees and how many slips each needs; an officer goes to its own.
//! - `GET /dashboard/committees/{code}/slips?unit=&cell=`: how many members the slips are for, and the form.
//! - `POST` there (`unit`, `cell`, `csrf`): issues the codes through `auth::activation::issue_for_committee`, the
//!   function of `POST /api/v1/admin/committees/{code}/activation-codes` (same scope, same replacement of earlier
//!   codes, same audit entry), and answers the printable page. Codes are stored only as hashes, so this answer is
//!   the only time they are shown; it is never a page that could be fetched again.
//!
//! Printing (`console.css`, `@media print`): no menu or header, 10 slips to a sheet (2 columns × 5 rows), each
//! sheet its own A4 page, dashed cut lines, no slip split across pages.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup, PreEscaped};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde::Deserialize;

use crate::auth::activation::{self, Slips};
use crate::coverage::report::CommitteeReport;
use crate::coverage::routes;
use crate::error::AppError;
use crate::org::members::{Member, Place};
use crate::org::store;
use crate::state::AppState;

use super::committee::natural_key;
use super::layout::{as_of, number, page, path_segment};
use super::members::form_field;
use super::session::{staff_action, staff_page, Viewer, CSRF_FIELD};
use super::{html_response, redirect};

pub(super) const SLIPS_PATH: &str = "/dashboard/slips";
/// Slips on one printed A4 page: 2 columns × 5 rows.
pub(super) const SLIPS_PER_SHEET: usize = 10;
/// What the QR code of a slip starts with; the version of the payload's format.
pub const QR_PREFIX: &str = "HBACT1";

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource(SLIPS_PATH).get(committees_page))
        .service(web::resource("/dashboard/committees/{code}/slips").get(slips_form).post(print_slips));
}

pub(super) fn committee_slips_path(code: &str) -> String {
    format!("/dashboard/committees/{}/slips", path_segment(code))
}

/// The text of a slip's QR code: `HBACT1:<card_number>:<activation code>`.
pub fn qr_payload(card_number: &str, code: &str) -> String {
    format!("{QR_PREFIX}:{card_number}:{code}")
}

/// `GET /dashboard/slips`: admins choose a committee; an officer has one, and is sent there.
async fn committees_page(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let state = state.get_ref();
    staff_page(state, &req, |viewer| async move {
        if let Some(own) = viewer.scope().committee() {
            return Ok(redirect(&committee_slips_path(own)));
        }
        let mut report = routes::city_report(state, viewer.user.clone()).await?;
        report.committees.sort_by_cached_key(|c| (crate::text::fold(&c.name), c.code.clone()));
        let body = html! {
            section {
                h1 { "Phiếu kích hoạt" }
                p.muted {
                    "Chọn đảng bộ để in phiếu kích hoạt cho các đảng viên đủ điều kiện chưa kích hoạt "
                    "(mỗi phiếu có số thẻ, mã kích hoạt và mã QR)."
                }
                div.scroll tabindex="0" role="region" aria-label="Bảng các đảng bộ" {
                    table.places {
                        thead {
                            tr {
                                th scope="col" { "Mã" }
                                th scope="col" { "Đảng bộ" }
                                th.num scope="col" { "Chưa kích hoạt" }
                                th scope="col" { "Phiếu" }
                            }
                        }
                        tbody {
                            @for c in &report.committees {
                                tr {
                                    td { (c.code) }
                                    td.name { (c.name) }
                                    td.num { (number(pending(c.counts.eligible, c.counts.activated))) }
                                    td { a href=(committee_slips_path(&c.code)) { "In phiếu" span.sr-only { " — " (c.name) } } }
                                }
                            }
                            @if report.committees.is_empty() {
                                tr { td colspan="4" { "Chưa có đảng bộ nào." } }
                            }
                        }
                    }
                }
            }
        };
        Ok(html_response(StatusCode::OK, page("Phiếu kích hoạt", Some(&viewer), body)))
    })
    .await
}

fn pending(eligible: i64, activated: i64) -> i64 {
    (eligible - activated).max(0)
}

/// `?unit=&cell=`: the part of the committee the slips are for (empty: all of it).
#[derive(Debug, Default, Deserialize)]
pub(super) struct PlaceQuery {
    unit: Option<String>,
    cell: Option<String>,
}

fn place(unit: Option<String>, cell: Option<String>) -> Place {
    let clean = |value: Option<String>| value.map(|v| crate::text::clean(&v)).filter(|v| !v.is_empty());
    Place { unit: clean(unit), cell: clean(cell) }
}

/// `GET /dashboard/committees/{code}/slips`: the count and the form; no code is issued by looking.
async fn slips_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
    query: web::Query<PlaceQuery>,
) -> HttpResponse {
    let state = state.get_ref();
    let code = code.into_inner();
    let query = query.into_inner();
    staff_page(state, &req, |viewer| async move {
        // The rule of the API's committee report: admins, or that committee's officer; anyone else: 404.
        let mut report = routes::committee_report(state, &viewer, code).await?;
        report.units.sort_by_cached_key(|u| natural_key(&u.unit));
        for unit in &mut report.units {
            unit.cells.sort_by_cached_key(|c| natural_key(&c.cell));
        }
        let place = place(query.unit, query.cell);
        let days = state.auth.activation_code_ttl.num_days();
        let body = form_markup(&viewer, &report, &place, days);
        let title = format!("Phiếu kích hoạt — {}", report.committee.name);
        Ok(html_response(StatusCode::OK, page(&title, Some(&viewer), body)))
    })
    .await
}

/// Members without activation in `place`, from the coverage counters (no member is read).
fn pending_in(report: &CommitteeReport, place: &Place) -> i64 {
    let c = &report.committee.counts;
    let Some(unit_name) = &place.unit else {
        return match &place.cell {
            // A cell without its unit: the cells of that name in every unit.
            Some(cell) => report
                .units
                .iter()
                .flat_map(|u| &u.cells)
                .filter(|c| &c.cell == cell)
                .map(|c| pending(c.counts.eligible, c.counts.activated))
                .sum(),
            None => pending(c.eligible, c.activated),
        };
    };
    let Some(unit) = report.units.iter().find(|u| &u.unit == unit_name) else { return 0 };
    match &place.cell {
        Some(cell) => unit
            .cells
            .iter()
            .find(|c| &c.cell == cell)
            .map(|c| pending(c.counts.eligible, c.counts.activated))
            .unwrap_or(0),
        None => pending(unit.counts.eligible, unit.counts.activated),
    }
}

fn place_text(place: &Place) -> String {
    match (&place.unit, &place.cell) {
        (Some(unit), Some(cell)) => format!("{cell}, {unit}"),
        (Some(unit), None) => unit.clone(),
        (None, Some(cell)) => cell.clone(),
        (None, None) => "cả đảng bộ".to_owned(),
    }
}

fn narrowed_path(code: &str, unit: Option<&str>, cell: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(unit) = unit {
        query.append_pair("unit", unit);
    }
    if let Some(cell) = cell {
        query.append_pair("cell", cell);
    }
    let query = query.finish();
    if query.is_empty() {
        committee_slips_path(code)
    } else {
        format!("{}?{query}", committee_slips_path(code))
    }
}

fn form_markup(viewer: &Viewer, report: &CommitteeReport, place: &Place, days: i64) -> Markup {
    let c = &report.committee;
    let count = pending_in(report, place);
    let narrowed = place.unit.is_some() || place.cell.is_some();
    html! {
        p.crumbs {
            a href=(format!("/dashboard/committees/{}", path_segment(&c.code))) { "← " (c.name) }
            @if viewer.is_admin() { " · " a href=(SLIPS_PATH) { "Các đảng bộ" } }
        }
        section {
            h1 { "Phiếu kích hoạt — " (c.name) }
            p.big {
                "Phạm vi: " strong { (place_text(place)) } ". "
                strong { (number(count)) } " đảng viên đủ điều kiện chưa kích hoạt."
            }
            @if narrowed {
                p { a href=(committee_slips_path(&c.code)) { "In cho cả đảng bộ" } }
            }
            @if count > 0 {
                form.stack method="post" action=(committee_slips_path(&c.code)) {
                    (viewer.csrf_field())
                    @if let Some(unit) = &place.unit { input type="hidden" name="unit" value=(unit); }
                    @if let Some(cell) = &place.cell { input type="hidden" name="cell" value=(cell); }
                    p.hint {
                        "Bấm nút để cấp mã kích hoạt mới cho " (number(count)) " đảng viên này và mở trang in: "
                        (SLIPS_PER_SHEET) " phiếu một trang A4, cắt theo đường nét đứt. Mã chỉ hiện trên trang in "
                        "đó; mã cấp trước đây cho những đảng viên này (kể cả phiếu đã in) hết hiệu lực. Mã dùng được "
                        "trong " (days) " ngày."
                    }
                    div.actions {
                        button.primary type="submit" data-action="slips" {
                            "Cấp mã và in " (number(count)) " phiếu"
                        }
                    }
                }
            } @else {
                p.empty { "Không có đảng viên nào cần phiếu: mọi đảng viên đủ điều kiện ở đây đã kích hoạt." }
            }
        }
        @if !report.units.is_empty() {
            section {
                h2 { "Theo đơn vị và chi bộ" }
                p.muted { "Chọn một đơn vị hoặc chi bộ để chỉ in phiếu cho đảng viên ở đó." }
                div.scroll tabindex="0" role="region" aria-label="Bảng đơn vị và chi bộ" {
                    table.places {
                        thead {
                            tr {
                                th scope="col" { "Đơn vị / Chi bộ" }
                                th.num scope="col" { "Chưa kích hoạt" }
                                th scope="col" { "Phiếu" }
                            }
                        }
                        tbody {
                            @for unit in &report.units {
                                tr.unit {
                                    th scope="row" { (unit.unit) }
                                    td.num { (number(pending(unit.counts.eligible, unit.counts.activated))) }
                                    td { a href=(narrowed_path(&c.code, Some(&unit.unit), None)) { "Chọn" span.sr-only { " " (unit.unit) } } }
                                }
                                @for cell in &unit.cells {
                                    tr.cell {
                                        td { (cell.cell) }
                                        td.num { (number(pending(cell.counts.eligible, cell.counts.activated))) }
                                        td {
                                            a href=(narrowed_path(&c.code, Some(&unit.unit), Some(&cell.cell))) {
                                                "Chọn" span.sr-only { " " (cell.cell) ", " (unit.unit) }
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
    }
}

/// `POST /dashboard/committees/{code}/slips`: issue, and answer the printable page.
async fn print_slips(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let state = state.get_ref();
    let code = code.into_inner();
    let csrf = form_field(&body, CSRF_FIELD);
    let place = place(form_field(&body, "unit"), form_field(&body, "cell"));
    staff_action(state, &req, csrf.as_deref(), |viewer| async move {
        let ttl = state.auth.activation_code_ttl;
        let user = viewer.user.clone();
        let narrowed = place.clone();
        let (slips, name) = state
            .db
            .run(move |conn| {
                let slips = activation::issue_for_committee(conn, &user, &code, &narrowed, ttl)?;
                let name = store::find_committee(conn, &code)?.map(|c| c.name).unwrap_or(code);
                Ok((slips, name))
            })
            .await?;
        let title = format!("Phiếu kích hoạt — {name}");
        let body = printable_markup(&name, &place, &slips)?;
        Ok(html_response(StatusCode::OK, page(&title, Some(&viewer), body)))
    })
    .await
}

fn printable_markup(committee_name: &str, place: &Place, slips: &Slips) -> Result<Markup, AppError> {
    let expires = as_of(&crate::time::rfc3339(slips.expires_at));
    let count = slips.members.len();
    let rendered: Vec<Markup> =
        slips.members.iter().map(|(member, code)| slip(member, code, &expires)).collect::<Result<_, _>>()?;
    Ok(html! {
        section.no-print {
            h1 { "Phiếu kích hoạt — " (committee_name) }
            p.big {
                "Phạm vi: " strong { (place_text(place)) } ". " strong { (number(count as i64)) } " phiếu, "
                (count.div_ceil(SLIPS_PER_SHEET)) " trang A4. Mã hết hạn lúc " strong { (expires) } "."
            }
            p.errors role="alert" {
                "Mã chỉ hiển thị trên trang này: hãy in ngay (lệnh In của trình duyệt, Ctrl+P, khổ A4, không co giãn). "
                "Nếu đóng trang trước khi in, cần cấp lại mã và in lại."
            }
            p.muted { "Cắt theo đường nét đứt và trao từng phiếu cho đảng viên tại buổi sinh hoạt chi bộ." }
        }
        @if count == 0 {
            p.empty { "Không có đảng viên nào cần phiếu." }
        }
        div.sheets {
            @for sheet in rendered.chunks(SLIPS_PER_SHEET) {
                div.sheet {
                    @for one in sheet { (one) }
                }
            }
        }
    })
}

fn slip(member: &Member, code: &str, expires: &str) -> Result<Markup, AppError> {
    let payload = qr_payload(&member.card_number, code);
    Ok(html! {
        article.slip data-card=(member.card_number) {
            div.slip-main {
                div.slip-text {
                    p.slip-title { "Sổ tay đảng viên · Phiếu kích hoạt" }
                    p.slip-name { strong { (member.full_name) } }
                    dl {
                        dt { "Số thẻ" } dd { (member.card_number) }
                        dt { "Đơn vị" } dd { (member.unit) }
                        dt { "Chi bộ" } dd { (member.cell) }
                        dt { "Hết hạn" } dd { (expires) }
                    }
                }
                div.qr role="img" aria-label=(format!("Mã QR kích hoạt của số thẻ {}", member.card_number))
                    data-payload=(payload) {
                    (qr_svg(&payload)?)
                }
            }
            p.slip-code { "Mã kích hoạt: " code { (code) } }
            p.slip-how {
                "Mở ứng dụng Sổ tay đảng viên, chọn “Kích hoạt”, quét mã QR (hoặc nhập số thẻ và mã) rồi đặt mật khẩu."
            }
        }
    })
}

/// The QR code of `payload` as inline SVG: black modules on white with the standard quiet zone, sized by CSS.
fn qr_svg(payload: &str) -> Result<Markup, AppError> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::Q)
        .map_err(|e| anyhow::anyhow!("cannot encode a slip's QR code: {e:?}"))?;
    let image = code.render::<svg::Color>().quiet_zone(true).module_dimensions(1, 1).build();
    // The XML declaration belongs to an SVG file, not to SVG inside HTML.
    let image = image.split_once("?>").map(|(_, rest)| rest.to_owned()).unwrap_or(image);
    let image = image.replacen("<svg ", r#"<svg aria-hidden="true" focusable="false" "#, 1);
    // Not user text: the renderer writes fixed markup and numbers (sizes and a path); the payload is in the code's
    // modules, never in the markup.
    Ok(PreEscaped(image))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_qr_code_is_inline_svg_without_style_or_xml_declaration() {
        let svg = qr_svg(&qr_payload("100000001", "ABCDE-FGHJK-MNPQR-STVWX")).unwrap().into_string();
        assert!(
            svg.starts_with(r#"<svg aria-hidden="true" focusable="false" xmlns="http://www.w3.org/2000/svg""#),
            "{svg}"
        );
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("style") && !svg.contains("<?xml"), "{svg}");
        // Alphanumeric payloads of this size fit a small code: version 3 (29 modules) at most, with a 4-module quiet zone.
        let code = QrCode::with_error_correction_level(b"HBACT1:1234567890123456:ABCDE-FGHJK-MNPQR-STVWX", EcLevel::Q)
            .unwrap();
        assert!(code.width() <= 29, "{}", code.width());
    }
}
