//! Every route the App serves, as the tests that cover every route see it: the operations of the OpenAPI document
//! (`GET /api/v1/openapi.json`, served in process), and the officers' dashboard, which the document leaves out.
//! No test reads the source to find routes; instead `served` asks the App itself whether it answers a route.

use std::collections::BTreeSet;
use std::fmt;

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::Value;

use super::TestApp;

/// The officers' dashboard: HTML pages and form posts for a browser, signed in by a session cookie (not a bearer
/// token), with CSV downloads behind the same cookie. Not an API, so not in the OpenAPI document: the JSON and CSV
/// it shows are described under /api/v1/coverage. A console route is added here by hand, and a row for it in
/// `console_matrix` (tests/it/access.rs).
pub const DASHBOARD: &[(Method, &str)] = &[
    (Method::GET, "/dashboard"),
    (Method::GET, "/dashboard/login"),
    (Method::POST, "/dashboard/login"),
    (Method::POST, "/dashboard/logout"),
    (Method::GET, "/dashboard/coverage.csv"),
    (Method::GET, "/dashboard/committees/{code}"),
    (Method::GET, "/dashboard/committees/{code}/not-installed.csv"),
    (Method::GET, "/dashboard/assets/{file}"),
    (Method::GET, "/dashboard/staff"),
    (Method::POST, "/dashboard/staff"),
    (Method::POST, "/dashboard/staff/{login}/disable"),
    (Method::POST, "/dashboard/staff/{login}/enable"),
    (Method::POST, "/dashboard/staff/{login}/password-reset"),
    (Method::GET, "/dashboard/audit"),
    (Method::GET, "/dashboard/audit.csv"),
    (Method::GET, "/dashboard/account"),
    (Method::POST, "/dashboard/account/password"),
    (Method::POST, "/dashboard/account/sign-out-everywhere"),
    (Method::GET, "/dashboard/documents"),
    (Method::GET, "/dashboard/documents/new"),
    (Method::POST, "/dashboard/documents/new"),
    (Method::GET, "/dashboard/documents/{id}"),
    (Method::POST, "/dashboard/documents/{id}"),
    (Method::POST, "/dashboard/documents/{id}/unpublish"),
    (Method::POST, "/dashboard/documents/{id}/attachments"),
    (Method::POST, "/dashboard/documents/{id}/attachments/remove"),
    (Method::GET, "/dashboard/documents/{id}/revisions"),
    (Method::POST, "/dashboard/documents/{id}/revisions/{n}/restore"),
    (Method::GET, "/dashboard/members"),
    (Method::GET, "/dashboard/members/import"),
    (Method::POST, "/dashboard/members/import"),
    (Method::POST, "/dashboard/members/import/{upload}"),
    (Method::GET, "/dashboard/members/{card_number}"),
    (Method::POST, "/dashboard/members/{card_number}/activation-code"),
    (Method::GET, "/dashboard/slips"),
    (Method::GET, "/dashboard/committees/{code}/slips"),
    (Method::POST, "/dashboard/committees/{code}/slips"),
    (Method::GET, "/dashboard/reading"),
    (Method::GET, "/dashboard/reading/{id}"),
    (Method::GET, "/dashboard/reading/{id}/{code}"),
    (Method::GET, "/dashboard/reading/{id}/{code}/not-read.csv"),
    (Method::GET, "/dashboard/meetings"),
    (Method::GET, "/dashboard/meetings/stats"),
    (Method::GET, "/dashboard/meetings/stats.csv"),
    (Method::GET, "/dashboard/meetings/stats/cells-without.csv"),
    (Method::GET, "/dashboard/meetings/{id}"),
    (Method::POST, "/dashboard/meetings/{id}/cancel"),
];

/// The methods an OpenAPI path item may describe, in the order of its keys.
pub const METHODS: [Method; 7] =
    [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::HEAD, Method::OPTIONS];

/// One route: a method on a path pattern as the document writes it (`/api/v1/documents/{id}`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    pub path: String,
    /// Upper case, as on the wire.
    pub method: String,
}

impl Route {
    pub fn new(method: &Method, path: &str) -> Route {
        Route { path: path.to_owned(), method: method.as_str().to_owned() }
    }

    pub fn method(&self) -> Method {
        self.method.parse().expect("a method")
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// The OpenAPI document, as the App serves it.
pub async fn document(app: &TestApp) -> Value {
    let answer = app.get("/api/v1/openapi.json").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(answer.header("content-type").is_some_and(|t| t.starts_with("application/json")));
    answer.json()
}

/// The operations the document describes.
pub fn operations(document: &Value) -> BTreeSet<Route> {
    let mut found = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method.as_str().to_lowercase()).is_some() {
                found.insert(Route::new(&method, path));
            }
        }
    }
    found
}

/// The dashboard's routes.
pub fn dashboard() -> BTreeSet<Route> {
    DASHBOARD.iter().map(|(method, path)| Route::new(method, path)).collect()
}

/// A concrete path for a pattern: each `{parameter}` filled with a value of the right shape.
pub fn concrete(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some("sha256") => "0".repeat(64),
            Some("id" | "installation_id") => "00000000-0000-4000-8000-000000000000".to_owned(),
            Some("n") => "1".to_owned(),
            Some("card_number") => "100000001".to_owned(),
            // A file the dashboard serves from the binary (its stylesheet).
            Some("file") => "console.css".to_owned(),
            // A kept member upload of the console: 32 hex digits.
            Some("upload") => "0".repeat(32),
            Some(_) => "HK".to_owned(),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether the App routes `method path` to a handler: asked with no credentials, from the machine itself (an
/// address /metrics serves), every routed handler answers something else than the 404 of no route and the 405 of
/// no such method (the sign-in redirect, 401, a refused body, or the page itself).
pub async fn served(app: &TestApp, method: &Method, path: &str) -> bool {
    let request = TestRequest::default().method(method.clone()).uri(path).peer_addr("127.0.0.1:45000".parse().unwrap());
    let status = app.send(request).await.status.as_u16();
    !matches!(status, 404 | 405)
}

/// Whether a concrete path is one of a pattern's: the same segments, where each `{parameter}` takes any one.
pub fn matches(pattern: &str, path: &str) -> bool {
    let (pattern, path): (Vec<&str>, Vec<&str>) = (pattern.split('/').collect(), path.split('/').collect());
    pattern.len() == path.len()
        && pattern.iter().zip(&path).all(|(want, got)| want == got || (want.starts_with('{') && want.ends_with('}')))
}
