//! The staff console in process, as a browser uses it: the sign-in form, the session cookies it sets
//! (`hb_access`, `hb_refresh`, `hb_active`), pages fetched with them, and forms posted with the session's CSRF
//! token, urlencoded or multipart.

use actix_web::cookie::Cookie;
use actix_web::http::header;
use actix_web::test::TestRequest;

use super::{Answer, TestApp};

/// The console's Content-Security-Policy, as every page must send it.
pub const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; \
                       img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The sign-in form, posted.
pub fn login_form(login: &str, password: &str) -> TestRequest {
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("login", login)
        .append_pair("password", password)
        .finish();
    TestRequest::post()
        .uri("/dashboard/login")
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .set_payload(body)
}

/// A GET with a `Cookie` header written by hand.
pub fn with_cookie(path: &str, cookie: String) -> TestRequest {
    TestRequest::get().uri(path).insert_header((header::COOKIE, cookie))
}

/// The cookies an answer sets.
pub fn set_cookies(answer: &Answer) -> Vec<Cookie<'static>> {
    answer
        .headers
        .get_all(header::SET_COOKIE)
        .map(|value| Cookie::parse(value.to_str().unwrap().to_owned()).expect("a valid Set-Cookie"))
        .collect()
}

/// A console page: its status, and the headers every console page carries. Returns the HTML.
pub fn assert_html_page(answer: &Answer, status: u16) -> String {
    let body = String::from_utf8_lossy(&answer.body).into_owned();
    assert_eq!(answer.status.as_u16(), status, "{body}");
    assert_eq!(answer.header("content-type"), Some("text/html; charset=utf-8"), "{body}");
    assert_eq!(answer.header("content-security-policy"), Some(CSP));
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    // With the service-wide `no-referrer`, browsers would post the pages' forms with `Origin: null`.
    assert_eq!(answer.header("referrer-policy"), Some("same-origin"));
    assert!(body.starts_with("<!DOCTYPE html><html lang=\"vi\">"), "{body}");
    assert!(body.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#));
    body
}

/// The value of the first `name="csrf"` field of a page.
pub fn csrf_of(html: &str) -> Option<String> {
    let at = html.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    Some(html[at..].split('"').next()?.to_owned())
}

/// A signed-in browser: its session cookies and the CSRF token of its forms.
#[derive(Clone, Debug)]
pub struct Console {
    pub access: String,
    pub refresh: String,
    pub active: String,
    pub csrf: String,
}

impl Console {
    /// Signs in with the form (asserting it worked) and reads the CSRF token off the first page.
    pub async fn sign_in(app: &TestApp, login: &str, password: &str) -> Console {
        let answer = app.send(login_form(login, password)).await;
        assert_eq!(answer.status, 303, "{}", answer.text());
        assert_eq!(answer.header("location"), Some("/dashboard"));
        let cookies = set_cookies(&answer);
        let value = |name: &str| {
            cookies.iter().find(|c| c.name() == name).unwrap_or_else(|| panic!("no {name} cookie")).value().to_owned()
        };
        let mut console = Console {
            access: value("hb_access"),
            refresh: value("hb_refresh"),
            active: value("hb_active"),
            csrf: String::new(),
        };
        let home = app.send(console.get("/dashboard")).await;
        let html = assert_html_page(&home, 200);
        console.csrf = csrf_of(&html).expect("the page's sign-out form carries a CSRF token");
        console
    }

    /// The `Cookie` header of this session.
    pub fn header(&self) -> String {
        format!("hb_access={}; hb_refresh={}; hb_active={}", self.access, self.refresh, self.active)
    }

    pub fn get(&self, path: &str) -> TestRequest {
        TestRequest::get().uri(path).insert_header((header::COOKIE, self.header()))
    }

    /// A form posted as a browser does: urlencoded, with the session's CSRF token.
    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> TestRequest {
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        body.append_pair("csrf", &self.csrf);
        for (name, value) in fields {
            body.append_pair(name, value);
        }
        TestRequest::post()
            .uri(path)
            .insert_header((header::COOKIE, self.header()))
            .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
            .set_payload(body.finish())
    }

    /// A form with files, posted as a browser does: `multipart/form-data`, with the session's CSRF token first.
    /// `files`: (field name, file name, content type, bytes).
    #[allow(dead_code)] // the upload forms' tests
    pub fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &str, &[u8])],
    ) -> TestRequest {
        let boundary = "----handbook-test-boundary-7MA4YWxkTrZu0gW";
        let mut body = Vec::new();
        let mut text = |name: &str, value: &str| {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        };
        text("csrf", &self.csrf);
        for (name, value) in fields {
            text(name, value);
        }
        for (name, file_name, content_type, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\n\
                     Content-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        TestRequest::post()
            .uri(path)
            .insert_header((header::COOKIE, self.header()))
            .insert_header((header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}")))
            .set_payload(body)
    }
}
