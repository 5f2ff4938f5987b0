//! The frame every console page shares, the pieces several pages show, and numbers and dates as Vietnamese
//! writes them.

use chrono::{NaiveDate, NaiveDateTime};
use maud::{html, Markup, DOCTYPE};

use crate::auth::{AuthUser, Role};
use crate::coverage::report::Counts;

use super::session::Viewer;
use super::{assets, HOME_PATH, LOGIN_PATH};

/// The console's sections, in the order of the menu: (path, label, admins only).
const SECTIONS: [(&str, &str, bool); 10] = [
    (HOME_PATH, "Độ phủ cài đặt", false),
    ("/dashboard/documents", "Tài liệu", false),
    ("/dashboard/members", "Đảng viên", false),
    ("/dashboard/members/import", "Nhập danh sách", false),
    ("/dashboard/slips", "Phiếu kích hoạt", false),
    ("/dashboard/reading", "Học tập nghị quyết", false),
    ("/dashboard/meetings", "Sinh hoạt chi bộ", false),
    ("/dashboard/staff", "Cán bộ", true),
    ("/dashboard/audit", "Nhật ký", false),
    ("/dashboard/account", "Tài khoản", false),
];

pub(super) fn page(title: &str, user: Option<&Viewer>, body: Markup) -> Markup {
    page_with_scripts(title, user, body, &[])
}

/// A page that also runs scripts (URLs of [`assets`]), loaded at the end of the body.
pub(super) fn page_with_scripts(title: &str, user: Option<&Viewer>, body: Markup, scripts: &[String]) -> Markup {
    html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // No favicon request (it would be a 404 outside the dashboard).
                link rel="icon" href="data:,";
                title { (title) " — Sổ tay đảng viên" }
                link rel="stylesheet" href=(assets::console_css_url());
            }
            body {
                a.skip href="#main" { "Bỏ qua menu" }
                header.top {
                    a href=(HOME_PATH) { "Sổ tay đảng viên · Bảng điều khiển" }
                    @if let Some(viewer) = user {
                        div.who {
                            span { (who(viewer)) }
                            form method="post" action="/dashboard/logout" {
                                (viewer.csrf_field())
                                button type="submit" data-action="sign-out" { "Đăng xuất" }
                            }
                        }
                    }
                }
                @if let Some(viewer) = user {
                    nav.sections aria-label="Các mục" {
                        ul {
                            @for (path, label, admins_only) in SECTIONS {
                                @if !admins_only || viewer.is_admin() {
                                    li { a href=(path) { (label) } }
                                }
                            }
                        }
                    }
                }
                main #main { (body) }
                script src=(assets::url("console.js")) {}
                @for script in scripts {
                    script src=(script) {}
                }
            }
        }
    }
}

fn who(user: &AuthUser) -> String {
    match (user.role, user.committee.as_deref()) {
        (Role::Admin, _) => "Quản trị viên".to_owned(),
        (_, Some(code)) => format!("Cán bộ đảng bộ {code}"),
        _ => "Cán bộ".to_owned(),
    }
}

pub(super) fn message_page(user: Option<&Viewer>, title: &str, text: &str) -> Markup {
    page(
        title,
        user,
        html! {
            section {
                h1 { (title) }
                p { (text) }
                p { a href=(HOME_PATH) { "← Về trang tổng quan" } " · " a href=(LOGIN_PATH) { "Đăng nhập" } }
            }
        },
    )
}

/// 418000 → "418.000", as Vietnamese writes it.
/// A wide table in its own scroll box, reachable and named for the keyboard and screen readers: the frame every
/// console table uses (`label` names the region, `class` the table, `head` the column titles; `rows` the `tr`s).
pub(super) fn table(label: &str, class: &str, head: &[&str], rows: Markup) -> Markup {
    html! {
        div.scroll tabindex="0" role="region" aria-label=(label) {
            table class=(class) {
                thead { tr { @for title in head { th scope="col" { (title) } } } }
                tbody { (rows) }
            }
        }
    }
}

pub(super) fn number(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push('.');
        }
        out.push(digit);
    }
    if value < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// 0.8534 → "85,3%".
pub(super) fn percent(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0).replace('.', ",")
}

pub(super) fn day(date: NaiveDate) -> String {
    date.format("%d/%m/%Y").to_string()
}

/// The report's UTC time, in Hanoi time.
pub(super) fn as_of(rfc3339: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(rfc3339) {
        Ok(at) => at.with_timezone(&crate::time::hanoi()).format("%H:%M %d/%m/%Y").to_string(),
        Err(_) => rfc3339.to_owned(),
    }
}

/// A stored (UTC) time as Hanoi reads it: "26/11/2026 15:04".
pub(super) fn moment(at: NaiveDateTime) -> String {
    crate::time::in_hanoi(at).format("%d/%m/%Y %H:%M").to_string()
}

/// A role as the console names it.
pub(super) fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "Quản trị viên",
        Role::Officer => "Cán bộ đảng bộ",
        Role::Member => "Đảng viên",
    }
}

/// A committee code as one path segment.
pub(super) fn path_segment(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub(super) fn cards(counts: &Counts) -> Markup {
    html! {
        div.cards {
            div.card { span.label { "Đủ điều kiện" } span.value { (number(counts.eligible)) } }
            div.card { span.label { "Đã kích hoạt" } span.value { (number(counts.activated)) } }
            div.card { span.label { "Đã cài đặt" } span.value { (number(counts.installed)) } }
            div.card { span.label { "Hoạt động 30 ngày" } span.value { (number(counts.active_30d)) } }
            div.card { span.label { "Tỉ lệ cài đặt" } span.value { (percent(counts.coverage)) } }
        }
    }
}

/// A table row's coverage cells: the bar, then the eligible, activated, installed and active (30 days) counts.
pub(super) fn count_cells(counts: &Counts) -> Markup {
    html! {
        td.coverage { (bar(counts.coverage, "Tỉ lệ cài đặt")) }
        td.num { (number(counts.eligible)) }
        td.num { (number(counts.activated)) }
        td.num { (number(counts.installed)) }
        td.num { (number(counts.active_30d)) }
    }
}

/// A coverage bar: red under 50%, amber under 80%, green from 80%. The number is written too (colour is not
/// the only signal).
pub(super) fn bar(fraction: f64, label: &str) -> Markup {
    let fraction = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { 0.0 };
    let colour = if fraction < 0.5 {
        "red"
    } else if fraction < 0.8 {
        "amber"
    } else {
        "green"
    };
    // An SVG rectangle, not a `style` attribute: the console's CSP allows no inline style.
    let width = format!("{:.1}", fraction * 100.0);
    html! {
        div.meter {
            div class=(format!("bar {colour}")) role="progressbar" aria-label=(label)
                aria-valuemin="0" aria-valuemax="100" aria-valuenow=(width) {
                svg viewBox="0 0 100 1" preserveAspectRatio="none" aria-hidden="true" {
                    rect.fill width=(width) height="1" {}
                }
            }
            span.pct { (percent(fraction)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_percentages_are_written_the_vietnamese_way() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(1000), "1.000");
        assert_eq!(number(418_000), "418.000");
        assert_eq!(number(1_234_567), "1.234.567");
        assert_eq!(percent(0.8534), "85,3%");
        assert_eq!(percent(1.0), "100,0%");
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(path_segment("HK"), "HK");
        assert_eq!(path_segment("A B/\"<"), "A%20B%2F%22%3C");
    }

    #[test]
    fn pages_link_the_stylesheet_and_carry_no_inline_style() {
        let html = page("Tổng quan", None, bar(0.42, "Tỉ lệ cài đặt")).into_string();
        let link = format!(r#"<link rel="stylesheet" href="{}">"#, assets::console_css_url());
        assert!(html.contains(&link), "{html}");
        // The CSP allows stylesheets from this origin only: a `<style>` or a `style=` would be ignored.
        assert!(!html.contains("<style") && !html.contains(" style="), "{html}");
        assert!(html.contains(r#"<rect class="fill" width="42.0" height="1">"#), "{html}");
    }
}
