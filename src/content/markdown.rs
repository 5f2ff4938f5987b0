//! Document bodies are Markdown. This renders one to HTML the way the app shows it, and safely enough to put into
//! a page as it is (the console's preview does, without further escaping):
//!
//! - raw HTML in the body, blocks and inline, is shown as the text it is, escaped: never passed through;
//! - links keep their target only when it is `http:`, `https:` or `mailto:` (an e-mail autolink included);
//!   any other (`javascript:`, `data:`, relative paths) becomes the link's text alone;
//! - images are never loaded, from elsewhere or from here: an image becomes its description (alt text);
//! - the renderer (pulldown-cmark) escapes every text and attribute it writes, and writes no attribute from the
//!   body other than a link's `href` and `title`: no `style`, no event handler, no id.
//!
//! Extensions: tables, strikethrough and task lists, as the app renders them.

use pulldown_cmark::{html, Event, LinkType, Options, Parser, Tag, TagEnd};

/// The schemes a link may keep.
const SCHEMES: [&str; 3] = ["http", "https", "mailto"];

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Whether a link may point to `dest`: an absolute URL of an allowed scheme (as a browser would read it: the
/// WHATWG parser drops tabs and new lines, so `java\tscript:` is `javascript:`).
fn allowed_target(link_type: LinkType, dest: &str) -> bool {
    if link_type == LinkType::Email {
        // The renderer writes `mailto:` before the address itself.
        return true;
    }
    url::Url::parse(dest.trim()).is_ok_and(|url| SCHEMES.contains(&url.scheme()))
}

/// The body as safe HTML (see the module's documentation).
pub fn to_safe_html(markdown: &str) -> String {
    // For each open link and image: whether its tags are kept (links with an allowed target) or dropped.
    let mut links: Vec<bool> = Vec::new();
    let events = Parser::new_ext(markdown, options()).filter_map(|event| match event {
        Event::Html(raw) | Event::InlineHtml(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::HtmlBlock) => Some(Event::Start(Tag::Paragraph)),
        Event::End(TagEnd::HtmlBlock) => Some(Event::End(TagEnd::Paragraph)),
        Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
            let keep = allowed_target(link_type, &dest_url);
            links.push(keep);
            keep.then_some(Event::Start(Tag::Link { link_type, dest_url, title, id }))
        }
        Event::End(TagEnd::Link) => links.pop().unwrap_or(false).then_some(Event::End(TagEnd::Link)),
        // The description stays, as the text it is.
        Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => None,
        other => Some(other),
    });
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 4);
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders() {
        let html = to_safe_html("# Nghị quyết\n\n**Điều 1.** Nội dung *quan trọng*.\n\n- một\n- hai\n");
        assert!(html.contains("<h1>Nghị quyết</h1>"), "{html}");
        assert!(html.contains("<strong>Điều 1.</strong>"), "{html}");
        assert!(html.contains("<li>một</li>"), "{html}");
        let table = to_safe_html("| a | b |\n|---|---|\n| 1 | 2 |\n");
        assert!(table.contains("<table>"), "{table}");
    }

    #[test]
    fn raw_html_is_escaped_never_passed_through() {
        for (body, shown) in [
            ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
            ("Xem <img src=x onerror=alert(1)> đây", "&lt;img src=x onerror=alert(1)&gt;"),
            // Quotes need no escaping in text (only in attributes, where the renderer escapes them).
            ("<div onclick=\"x()\">khối</div>\n", "&lt;div onclick=\"x()\"&gt;khối&lt;/div&gt;"),
            ("a <a href=\"javascript:alert(1)\">b</a>", "&lt;a href=\"javascript:alert(1)\"&gt;"),
            ("<!-- ẩn -->", "&lt;!-- ẩn --&gt;"),
        ] {
            let html = to_safe_html(body);
            assert!(html.contains(shown), "{body}: {html}");
            assert!(!html.contains("<script") && !html.contains("<img") && !html.contains("<div"), "{html}");
            assert!(!html.contains("<a "), "{html}");
        }
    }

    #[test]
    fn links_keep_only_web_and_mail_targets() {
        let html = to_safe_html("[trang](https://hanoi.gov.vn/a?b=1&c=2) [thư](mailto:vp@hanoi.vn) <vp@hanoi.vn>");
        assert!(html.contains(r#"<a href="https://hanoi.gov.vn/a?b=1&amp;c=2">trang</a>"#), "{html}");
        assert!(html.contains(r#"<a href="mailto:vp@hanoi.vn">thư</a>"#), "{html}");
        assert!(html.contains(r#"<a href="mailto:vp@hanoi.vn">vp@hanoi.vn</a>"#), "{html}");
        for bad in [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](jav&#x61;script:alert(1))",
            "[x](<java\tscript:alert(1)>)",
            "[x](data:text/html,<script>alert(1)</script>)",
            "[x](vbscript:msgbox)",
            "[x](/api/v1/admin/staff)",
            "[x][r]\n\n[r]: javascript:alert(1)",
        ] {
            let html = to_safe_html(bad);
            assert!(!html.contains("<a"), "{bad}: {html}");
            assert!(html.contains('x'), "the link's text stays: {bad}: {html}");
        }
    }

    #[test]
    fn images_become_their_description() {
        let html = to_safe_html(
            "![Ảnh hội nghị](https://tracker.example/pixel.png) và [![logo](x.png)](https://hanoi.gov.vn)",
        );
        assert!(!html.contains("<img"), "{html}");
        assert!(html.contains("Ảnh hội nghị"), "{html}");
        assert!(html.contains(r#"<a href="https://hanoi.gov.vn">logo</a>"#), "{html}");
    }
}
