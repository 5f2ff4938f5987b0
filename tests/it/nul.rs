//! Client mistakes are never a 500, on PostgreSQL least of all: U+0000 in any text input (PostgreSQL cannot store
//! it) and paging cursors that decode to nonsense are refused with 400 or 422 before they reach the database.

use crate::harness;
use actix_web::http::{header, Method};
use actix_web::test::TestRequest;
use serde_json::{json, Map, Value};

/// Whether the answer refuses the input as the client's mistake: 400 or 422, as problem+json.
fn refused(answer: &harness::Answer) -> bool {
    matches!(answer.status.as_u16(), 400 | 422) && answer.header("content-type") == Some("application/problem+json")
}

/// A plausible value for a path parameter, so that only the parameter under test carries the NUL.
fn sample(name: &str) -> &'static str {
    match name {
        "code" => "HK",
        "card_number" => "100000001",
        "sha256" => "0000000000000000000000000000000000000000000000000000000000000000",
        "revision" => "1",
        _ => "4b0c5e4e-7f63-4d1c-9a51-3b6c1a2f0d11",
    }
}

/// `path` with every `{name}` replaced by `value(name)`.
fn fill(path: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').expect("a closed path parameter") + open;
        out.push_str(&rest[..open]);
        out.push_str(&value(&rest[open + 1..close]));
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The schema, with a `$ref` to `#/components/schemas/…` followed.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

/// A value of the schema's type, every string in it carrying a NUL.
fn with_nul(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    let kind = schema["type"].as_str().or_else(|| schema["type"][0].as_str()).unwrap_or("string");
    match kind {
        "object" => {
            let mut object = Map::new();
            for name in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                object.insert(name.to_owned(), with_nul(doc, &schema["properties"][name]));
            }
            Value::Object(object)
        }
        "array" => json!([with_nul(doc, &schema["items"])]),
        "integer" | "number" => json!(1),
        "boolean" => json!(true),
        _ => json!("a\u{0}b"),
    }
}

/// Every request of the walk for one operation: each path parameter, each query parameter and each JSON body
/// property carrying a NUL, and a body built from the schema with NUL in every string.
fn nul_requests(doc: &Value, path: &str, method: &str, operation: &Value) -> Vec<(String, TestRequest)> {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let request = |uri: &str| TestRequest::default().method(method.clone()).uri(uri);
    let shown = |uri: &str, what: &str| format!("{method} {uri} {what}");
    let parameters: Vec<&Value> = operation["parameters"].as_array().into_iter().flatten().collect();
    let concrete = fill(path, |name| sample(name).to_owned());
    let mut requests = Vec::new();
    for parameter in &parameters {
        let name = parameter["name"].as_str().unwrap();
        match parameter["in"].as_str() {
            Some("path") => {
                let uri = fill(path, |p| if p == name { "a%00b".to_owned() } else { sample(p).to_owned() });
                requests.push((shown(&uri, ""), request(&uri)));
            }
            Some("query") => {
                let uri = format!("{concrete}?{name}=a%00b");
                requests.push((shown(&uri, ""), request(&uri)));
            }
            _ => {}
        }
    }
    let content = &operation["requestBody"]["content"];
    if let Some(body) = content.get("application/json") {
        let schema = resolve(doc, &body["schema"]);
        for property in schema["properties"].as_object().into_iter().flat_map(Map::keys) {
            let body = json!({ property: "x\u{0}" });
            requests.push((shown(&concrete, &body.to_string()), request(&concrete).set_json(body)));
        }
        let body = with_nul(doc, schema);
        if body.to_string().contains("\\u0000") {
            requests.push((shown(&concrete, &body.to_string()), request(&concrete).set_json(body)));
        }
        // The escape as a client that writes JSON by hand sends it.
        let body = r#"{"name": "\u0000", "login": "x\u00000"}"#;
        let raw = request(&concrete).insert_header((header::CONTENT_TYPE, "application/json")).set_payload(body);
        requests.push((shown(&concrete, body), raw));
    }
    if content.get("text/csv").is_some() {
        let csv = "card_number,full_name,committee_code,unit,cell,status\n100000009,Nguyễn\0 Văn,HK,U,C,eligible\n";
        let raw = request(&concrete).insert_header((header::CONTENT_TYPE, "text/csv")).set_payload(csv);
        requests.push((shown(&concrete, "a CSV file"), raw));
    }
    requests
}

both_backends! {
    async fn u0000_in_any_parameter_or_field_of_any_operation_is_refused_never_a_500(app: TestApp) {
        let org = app.organisation().await;
        let officer = app.staff_token("officer.hk", "officer", Some("HK")).await;
        let doc = app.get("/api/v1/openapi.json").await.json();
        let callers = [("admin", org.admin.as_str()), ("officer", officer.as_str()), ("member", org.member_hk.as_str())];
        let mut sent = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                    continue;
                }
                for (caller, token) in callers {
                    for (shown, request) in nul_requests(&doc, path, method, operation) {
                        let answer = app.with_bearer(token, request).await;
                        // The admin may call everything: its calls are refused for the NUL itself. Others may be refused
                        // for who they are first (a CSV import reads its file after the role check), never with a 5xx.
                        let ok = if caller == "admin" { refused(&answer) } else { answer.status.is_client_error() };
                        assert!(ok, "{shown} as {caller}: {} {}", answer.status, answer.text());
                        sent += 1;
                    }
                }
            }
        }
        assert!(sent > 100, "{sent} requests");
    }
}

/// An `?after=` carrying `key`, as the service encodes its cursors.
fn after(key: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

both_backends! {
    async fn a_nul_in_the_login_is_refused_before_anyone_signs_in(app: TestApp) {
        let answer = app.post_json("/api/v1/auth/login", &json!({"login": "admin\u{0}", "password": "whatever it is"})).await;
        assert_eq!(answer.problem(400)["detail"], "the request body contains U+0000 (NUL), which no field accepts");
        let raw = app.post_raw("/api/v1/auth/login", "application/json", r#"{"login":"\u0000","password":"x"}"#).await;
        raw.problem(400);
        app.post_json("/api/v1/auth/activate", &json!({"card_number": "1\u{0}", "activation_code": "x", "new_password": "y"})).await.problem(400);
        // An escaped backslash is the text \u0000, no NUL: it is only a wrong login.
        app.post_raw("/api/v1/auth/login", "application/json", r#"{"login":"a\\u0000","password":"x"}"#).await.problem(401);
        // The dashboard's sign-in form, as a form and as whatever else it is sent as.
        let form = app.post_raw("/dashboard/login", "application/x-www-form-urlencoded", "login=admin%00&password=x").await;
        assert_eq!(form.status, 400);
        let plain = app.post_raw("/dashboard/login", "text/plain", "login=admin%00&password=x").await;
        assert_eq!(plain.status, 400);
    }

    async fn a_nul_in_the_url_is_refused(app: TestApp) {
        let org = app.organisation().await;
        let problem = app.get_as(&org.admin, "/api/v1/admin/members/1000%0000").await.problem(400);
        assert_eq!(problem["detail"], "the URL contains U+0000 (%00), which no parameter accepts");
        app.get_as(&org.member_hk, "/api/v1/documents?q=ngh%00i").await.problem(400);
        app.get("/api/v1/documents?q=%00").await.problem(400);
        // `%2500` is the text %00: a search like any other.
        assert_eq!(app.get_as(&org.member_hk, "/api/v1/documents?q=%2500").await.status, 200);
    }

    async fn a_nul_in_an_imported_file_is_a_422_naming_its_line(app: TestApp) {
        app.seed_committees(&["HK"]).await;
        let admin = app.admin_token().await;
        let csv = "card_number,full_name,committee_code,unit,cell,status\n100000001,Nguyễn Văn A,HK,U,C,eligible\n100000002,Trần\0 Thị,HK,U,C\0,eligible\n";
        let problem = app.post_csv_as(&admin, "/api/v1/admin/members/import", csv).await.problem(422);
        assert_eq!(problem["errors"], json!([
            {"line": 3, "field": "full_name", "message": "contains U+0000 (NUL)"},
            {"line": 3, "field": "cell", "message": "contains U+0000 (NUL)"},
        ]));
        assert_eq!(app.count("SELECT count(*) AS n FROM members").await, 0);
    }

    async fn cursors_that_decode_to_a_negative_or_malformed_position_are_422(app: TestApp) {
        let org = app.organisation().await;
        let member = org.member_hk.as_str();
        let admin = org.admin.as_str();
        for key in ["-1", "-9223372036854775808", "9223372036854775807", "1e3", "x", "1\u{0}"] {
            let cursor = after(key);
            for (token, path) in [
                (member, format!("/api/v1/documents?after={cursor}")),
                (admin, format!("/api/v1/admin/documents?after={cursor}")),
                (admin, format!("/api/v1/coverage/HK/not-installed?after={cursor}")),
            ] {
                let problem = app.get_as(token, &path).await.problem(422);
                assert_eq!(problem["errors"][0]["field"], "after", "{path} ({key:?})");
            }
        }
        for key in ["x", "1\u{0}"] {
            app.get_as(admin, &format!("/api/v1/admin/audit?after={}", after(key))).await.problem(422);
        }
        // Members are paged by card number: a key with a NUL is not one this service issued.
        app.get_as(admin, &format!("/api/v1/admin/members?after={}", after("1000\u{0}"))).await.problem(422);
        app.get_as(admin, &format!("/api/v1/admin/members?after={}", after("100000001"))).await.json();
    }
}
