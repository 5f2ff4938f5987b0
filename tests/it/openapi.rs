//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the service. A route that the App serves without a
//! description there fails this suite, and so does a description of a route that no longer exists.

use std::collections::BTreeSet;

use actix_web::http::Method;
use serde_json::Value;

use crate::harness::routes::{self, Route};
use crate::harness::{Backend, TestApp};

async fn served_document() -> Value {
    routes::document(&TestApp::start(Backend::Sqlite).await).await
}

/// Routes anyone may call: every other described operation must require the bearer token.
const PUBLIC: [&str; 9] = [
    "/healthz",
    "/readyz",
    "/metrics",
    "/.well-known/jwks.json",
    "/api/v1/openapi.json",
    "/api/v1/auth/login",
    "/api/v1/auth/activate",
    "/api/v1/auth/refresh",
    "/api/v1/auth/logout",
];

#[actix_web::test]
async fn the_document_is_openapi_3_1() {
    let doc = served_document().await;
    let version = doc["openapi"].as_str().expect("an `openapi` version");
    assert!(version.starts_with("3.1"), "openapi: {version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(bearer["type"], "http");
    assert_eq!(bearer["scheme"], "bearer");
    assert_eq!(bearer["bearerFormat"], "JWT");
    let problem = &doc["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "detail", "errors"] {
        assert!(problem["properties"][field].is_object(), "Problem has no {field}");
    }
}

/// Every route the App serves is described (or is one of the dashboard's, which are not an API), and every
/// described operation is served. The routes are not read from the source: the App is asked. Each described
/// operation and dashboard route must be served; every other method on those paths, and the paths around them
/// (each parent, and one segment more), must not be.
#[actix_web::test]
async fn every_route_in_the_code_is_described() {
    let app = TestApp::start(Backend::Sqlite).await;
    let doc = routes::document(&app).await;
    let described = routes::operations(&doc);
    let dashboard = routes::dashboard();
    let described_dashboard: Vec<String> = described.intersection(&dashboard).map(Route::to_string).collect();
    assert!(described_dashboard.is_empty(), "dashboard routes in the API description: {described_dashboard:?}");
    let known: BTreeSet<Route> = described.union(&dashboard).cloned().collect();

    let mut not_served = Vec::new();
    for route in &known {
        if !routes::served(&app, &route.method(), &routes::concrete(&route.path)).await {
            not_served.push(route.to_string());
        }
    }
    assert!(not_served.is_empty(), "described but not routed: {not_served:?}");

    let mut undescribed = Vec::new();
    for path in nearby_paths(&known) {
        let path = routes::concrete(&path);
        for method in routes::METHODS {
            let routed = known.iter().any(|route| route.method() == method && routes::matches(&route.path, &path));
            if !routed && routes::served(&app, &method, &path).await {
                undescribed.push(format!("{method} {path}"));
            }
        }
    }
    assert!(
        undescribed.is_empty(),
        "routes without a description in /api/v1/openapi.json:\n{}",
        undescribed.join("\n")
    );
}

/// The known paths, each of their parents, and each with one segment more.
fn nearby_paths(known: &BTreeSet<Route>) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for route in known {
        paths.insert(route.path.clone());
        paths.insert(format!("{}/x", route.path));
        let mut parent = route.path.as_str();
        while let Some((up, _)) = parent.rsplit_once('/') {
            paths.insert(if up.is_empty() { "/".to_owned() } else { up.to_owned() });
            parent = up;
        }
    }
    paths
}

/// The route probe tells a routed method and path from one that is not.
#[actix_web::test]
async fn the_route_probe_tells_served_from_unserved() {
    let app = TestApp::start(Backend::Sqlite).await;
    assert!(routes::served(&app, &Method::GET, "/healthz").await);
    assert!(routes::served(&app, &Method::GET, "/metrics").await, "the probe comes from an address /metrics serves");
    assert!(routes::served(&app, &Method::GET, "/api/v1/documents/00000000-0000-4000-8000-000000000000").await);
    assert!(routes::served(&app, &Method::POST, "/api/v1/auth/login").await);
    assert!(routes::served(&app, &Method::GET, "/dashboard/committees/HK").await);
    assert!(!routes::served(&app, &Method::DELETE, "/healthz").await);
    assert!(!routes::served(&app, &Method::GET, "/api/v1/no-such-route").await);
    assert!(routes::matches("/api/v1/documents/{id}", "/api/v1/documents/x"));
    assert!(!routes::matches("/api/v1/documents/{id}", "/api/v1/documents/x/y"));
    assert!(!routes::matches("/api/v1/documents", "/api/v1/documents/x"));
    assert_eq!(
        routes::concrete("/api/v1/admin/documents/{id}/revisions/{n}/restore"),
        "/api/v1/admin/documents/00000000-0000-4000-8000-000000000000/revisions/1/restore"
    );
}

#[actix_web::test]
async fn every_operation_says_who_may_call_it_and_how_it_fails() {
    let doc = served_document().await;
    let mut wrong = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let at = format!("{} {path}", method.to_uppercase());
            let security = operation["security"].as_array();
            let bearer = security.is_some_and(|s| s.iter().any(|req| req.get("bearer").is_some()));
            match (PUBLIC.contains(&path.as_str()), bearer) {
                (true, true) => wrong.push(format!("{at}: public, yet requires a token")),
                (false, false) => wrong.push(format!("{at}: needs a token, but declares no bearer security")),
                _ => {}
            }
            let responses = operation["responses"].as_object().unwrap();
            if bearer && !responses.contains_key("401") {
                wrong.push(format!("{at}: requires a token but describes no 401"));
            }
            if operation.get("requestBody").is_some_and(|body| body["content"].get("application/json").is_some()) {
                for status in ["400", "413", "415"] {
                    if !responses.contains_key(status) {
                        wrong.push(format!("{at}: takes JSON but describes no {status}"));
                    }
                }
            }
            if !responses.keys().any(|status| status.starts_with('2')) {
                wrong.push(format!("{at}: no success answer"));
            }
            for (status, response) in responses.iter().filter(|(status, _)| status.starts_with('4')) {
                if !problem_answer(&doc, response) {
                    wrong.push(format!("{at}: {status} is not a problem+json Problem"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Whether a response (or the component it refers to) is `application/problem+json` with the Problem schema.
fn problem_answer(doc: &Value, response: &Value) -> bool {
    let response = match response["$ref"].as_str() {
        Some(reference) => {
            let name = reference.strip_prefix("#/components/responses/").expect("a response reference");
            &doc["components"]["responses"][name]
        }
        None => response,
    };
    response["content"]["application/problem+json"]["schema"]["$ref"] == "#/components/schemas/Problem"
}
