//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the service. A route that exists in the code
//! without a description there fails this suite, and so does a description of a route that no longer exists.

#[macro_use]
mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Backend, TestApp};
use serde_json::Value;

/// Routes deliberately left out of the document, with why.
const EXCLUDED: [&str; 7] = [
    // The officers' dashboard: HTML pages and form posts for a browser, signed in by a session cookie (not a
    // bearer token), with CSV downloads behind the same cookie. Not an API: the JSON and CSV it shows are
    // described under /api/v1/coverage.
    "/dashboard",
    "/dashboard/login",
    "/dashboard/logout",
    "/dashboard/coverage.csv",
    "/dashboard/committees/{code}",
    "/dashboard/committees/{code}/not-installed.csv",
    // The dashboard's stylesheet.
    "/dashboard/assets/{file}",
];

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

/// HTTP methods that a resource registers with `.get(…)` and the like, or `.route(web::get()…)`.
const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

async fn served_document() -> Value {
    let app = TestApp::start(Backend::Sqlite).await;
    let answer = app.get("/api/v1/openapi.json").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(answer.header("content-type").is_some_and(|t| t.starts_with("application/json")));
    answer.json()
}

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

#[actix_web::test]
async fn every_route_in_the_code_is_described() {
    let doc = served_document().await;
    let described: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            let methods: Vec<String> =
                item.as_object().unwrap().keys().filter(|k| METHODS.contains(&k.as_str())).cloned().collect();
            methods.into_iter().map(move |method| (path.clone(), method))
        })
        .collect();

    let in_code = routes_in_code();
    let paths_in_code: BTreeSet<&str> = in_code.keys().map(|(path, _)| path.as_str()).collect();
    for excluded in EXCLUDED {
        assert!(paths_in_code.contains(excluded), "{excluded} is excluded but no longer in the code");
    }
    let missing: Vec<String> = in_code
        .keys()
        .filter(|(path, _)| !EXCLUDED.contains(&path.as_str()))
        .filter(|route| !described.contains(route))
        .map(|(path, method)| {
            format!("{} {path} ({})", method.to_uppercase(), in_code[&(path.clone(), method.clone())])
        })
        .collect();
    assert!(missing.is_empty(), "routes without a description in /api/v1/openapi.json:\n{}", missing.join("\n"));

    let stale: Vec<String> = described
        .iter()
        .filter(|route| !in_code.contains_key(route))
        .map(|(path, method)| format!("{} {path}", method.to_uppercase()))
        .collect();
    assert!(stale.is_empty(), "described but not routed: {stale:?}");
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

/// Every `web::resource("…")` under src/ with the methods chained on it: (pattern, method) → file.
fn routes_in_code() -> BTreeMap<(String, String), String> {
    fn walk(dir: &std::path::Path, found: &mut BTreeMap<(String, String), String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let file = path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().display().to_string();
                for (pattern, methods) in resources(&text) {
                    assert!(!methods.is_empty(), "{file}: web::resource(\"{pattern}\") has no method this test reads");
                    for method in methods {
                        found.insert((pattern.clone(), method), file.clone());
                    }
                }
            }
        }
    }
    let mut found = BTreeMap::new();
    walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
    found
}

/// The resources of one source file: each pattern, with the methods of the `.get(…)`, `.post(…)`, … and
/// `.route(web::get()…)` calls chained on it (at its own nesting level, up to the end of the expression).
fn resources(text: &str) -> Vec<(String, Vec<String>)> {
    const OPEN: &str = "web::resource(\"";
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let end = after.find('"').expect("a closing quote");
        let pattern = after[..end].to_owned();
        let chain = chain_after(&after[end + 2..]);
        let mut methods = Vec::new();
        for (name, args) in chain {
            if METHODS.contains(&name.as_str()) {
                methods.push(name);
            } else if name == "route" {
                let method = METHODS.iter().find(|m| args.contains(&format!("web::{m}()")));
                methods.push(
                    method.unwrap_or_else(|| panic!("{pattern}: a .route({args}) of no known method")).to_string(),
                );
            } else if name == "to" || name == "default_service" {
                panic!("{pattern}: .{name}(…) answers every method: register each method instead");
            }
        }
        found.push((pattern, methods));
        rest = &after[end..];
    }
    found
}

/// The method calls chained at nesting level 0 from the start of `code` until the expression ends
/// (a `;` or a closing bracket at level 0): each call's name and argument text. Strings and comments are skipped.
fn chain_after(code: &str) -> Vec<(String, String)> {
    let bytes = code.as_bytes();
    let mut calls = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    let mut current: Option<(String, usize)> = None;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth < 0 {
                    break;
                }
                if depth == 0 {
                    if let Some((name, from)) = current.take() {
                        calls.push((name, code[from..i].to_owned()));
                    }
                }
            }
            b';' if depth == 0 => break,
            b'.' if depth == 0 => {
                let name: String =
                    code[i + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                let open = i + 1 + name.len();
                if !name.is_empty() && bytes.get(open) == Some(&b'(') {
                    current = Some((name, open + 1));
                    depth += 1;
                    i = open;
                }
            }
            _ => {}
        }
        i += 1;
    }
    calls
}

#[test]
fn the_route_reader_reads_chains() {
    let code = r#"
        cfg.service(web::resource("/a").post(create).get(list))
            .service(
                web::resource("/b/{x}")
                    .app_data(web::PayloadConfig::new(LIMIT)) // .delete( in a comment
                    .wrap_fn(|req, srv| { srv.call(req) })
                    .patch(update),
            )
            .service(web::resource("/c").route(web::delete().to(remove)).get(read));
    "#;
    let found = resources(code);
    assert_eq!(
        found,
        vec![
            ("/a".to_owned(), vec!["post".to_owned(), "get".to_owned()]),
            ("/b/{x}".to_owned(), vec!["patch".to_owned()]),
            ("/c".to_owned(), vec!["delete".to_owned(), "get".to_owned()]),
        ]
    );
}
