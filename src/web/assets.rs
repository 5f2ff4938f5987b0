//! The console's static files (the stylesheet and the scripts), compiled into the binary from `src/web/assets/` and
//! served under `/dashboard/assets/`. Pages link them with their version (`?v=` and the first 16 hex digits of
//! the file's SHA-256), which a browser may keep for a year: a new build with a changed file links a new URL.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::auth::secrets::sha256_hex;
use crate::error::AppError;

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// A file served from the binary.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
    /// Computed once, on first use.
    version: OnceLock<String>,
}

impl Asset {
    const fn new(name: &'static str, content_type: &'static str, body: &'static str) -> Asset {
        Asset { name, content_type, body, version: OnceLock::new() }
    }

    fn version(&self) -> &str {
        self.version.get_or_init(|| sha256_hex(self.body)[..16].to_owned())
    }

    fn url(&self) -> String {
        format!("/dashboard/assets/{}?v={}", self.name, self.version())
    }
}

/// Every file of `src/web/assets/` that pages link. A new file is one line here.
static ASSETS: [Asset; 2] = [
    Asset::new("console.css", CSS, include_str!("assets/console.css")),
    Asset::new("console.js", JS, include_str!("assets/console.js")),
];

/// Cache lifetime of a request that names the current version: a year, never revalidated.
const VERSIONED: &str = "public, max-age=31536000, immutable";
/// Without the current version the URL's content may change with the next build: revalidate every time.
const UNVERSIONED: &str = "no-cache";

/// A file's URL as pages link it, its version included. Panics on a name that is not in [`ASSETS`] (a
/// programming error, caught by the tests of every page).
pub(super) fn url(name: &str) -> String {
    ASSETS.iter().find(|asset| asset.name == name).map(Asset::url).unwrap_or_else(|| panic!("no asset {name}"))
}

/// The stylesheet's URL as pages link it, its version included.
pub(super) fn console_css_url() -> String {
    url("console.css")
}

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/dashboard/assets/{file}").get(asset));
}

/// A console asset. Authorization: public — anyone, signed in or not, may fetch it (the sign-in page needs the
/// stylesheet, and the files hold nothing private). An unknown name is 404.
async fn asset(req: HttpRequest, file: web::Path<String>) -> Result<HttpResponse, AppError> {
    let asset = ASSETS.iter().find(|asset| asset.name == file.as_str()).ok_or(AppError::NotFound)?;
    let asked = url::form_urlencoded::parse(req.query_string().as_bytes()).find(|(key, _)| key == "v");
    let current = asked.is_some_and(|(_, version)| version == asset.version());
    Ok(HttpResponse::Ok()
        .content_type(asset.content_type)
        .insert_header((header::CACHE_CONTROL, if current { VERSIONED } else { UNVERSIONED }))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(asset.body))
}

#[cfg(test)]
mod tests {
    use actix_web::test::{call_service, init_service, read_body, TestRequest};
    use actix_web::App;

    use super::*;

    #[actix_web::test]
    async fn the_stylesheet_is_served_from_the_binary_and_cached_by_version() {
        let app = init_service(App::new().configure(configure)).await;
        let linked = console_css_url();
        assert!(linked.starts_with("/dashboard/assets/console.css?v="), "{linked}");

        let answer = call_service(&app, TestRequest::get().uri(&linked).to_request()).await;
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers().get("content-type").unwrap(), "text/css; charset=utf-8");
        assert_eq!(answer.headers().get("cache-control").unwrap(), VERSIONED);
        let body = read_body(answer).await;
        assert_eq!(body, include_str!("assets/console.css").as_bytes());

        for stale in ["/dashboard/assets/console.css", "/dashboard/assets/console.css?v=0123456789abcdef"] {
            let answer = call_service(&app, TestRequest::get().uri(stale).to_request()).await;
            assert_eq!(answer.status(), 200, "{stale}");
            assert_eq!(answer.headers().get("cache-control").unwrap(), UNVERSIONED, "{stale}");
        }
        let unknown = call_service(&app, TestRequest::get().uri("/dashboard/assets/other.js").to_request()).await;
        assert_eq!(unknown.status(), 404);
        for asset in &ASSETS {
            let answer = call_service(&app, TestRequest::get().uri(&asset.url()).to_request()).await;
            assert_eq!(answer.status(), 200, "{}", asset.name);
            assert_eq!(answer.headers().get("content-type").unwrap(), asset.content_type);
        }
    }
}
