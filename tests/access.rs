//! The authorization matrix: every route, called by every kind of caller, with the status each must get.
//! A route that exists in the code without a row here fails the suite.

#[macro_use]
mod common;

use actix_web::http::Method;
use actix_web::test::TestRequest;
use common::{TestApp, MEMBERS_CSV};
use serde_json::json;

const CALLERS: [&str; 9] =
    ["anonymous", "member A", "member B", "officer A", "officer B", "admin", "expired", "other key", "alg none"];

/// (route pattern, method, concrete path, body, expected status per caller in CALLERS order).
/// A body of `csv:` sends the rest as text/csv; LOGIN and ACTIVATE are made per caller.
type Row = (&'static str, Method, &'static str, &'static str, [u16; 9]);

fn matrix() -> Vec<Row> {
    const PUBLIC_200: [u16; 9] = [200; 9];
    const ANY_SIGNED_IN_200: [u16; 9] = [401, 200, 200, 200, 200, 200, 401, 401, 401];
    vec![
        ("/healthz", Method::GET, "/healthz", "", PUBLIC_200),
        ("/readyz", Method::GET, "/readyz", "", PUBLIC_200),
        ("/metrics", Method::GET, "/metrics", "", PUBLIC_200),
        ("/.well-known/jwks.json", Method::GET, "/.well-known/jwks.json", "", PUBLIC_200),
        ("/api/v1/committees", Method::GET, "/api/v1/committees", "", ANY_SIGNED_IN_200),
        ("/api/v1/me", Method::GET, "/api/v1/me", "", ANY_SIGNED_IN_200),
        (
            "/api/v1/admin/committees",
            Method::POST,
            "/api/v1/admin/committees",
            r#"{"code": "NEW", "name": "Đảng bộ mới"}"#,
            [401, 403, 403, 403, 403, 201, 401, 401, 401],
        ),
        (
            "/api/v1/admin/committees/{code}",
            Method::PATCH,
            "/api/v1/admin/committees/HK",
            r#"{"name": "Quận ủy Hoàn Kiếm"}"#,
            [401, 403, 403, 403, 403, 200, 401, 401, 401],
        ),
        (
            "/api/v1/admin/members/import",
            Method::POST,
            "/api/v1/admin/members/import",
            "csv:card_number,full_name,committee_code,unit,cell,status\n300000001,Hồ Văn K,HK,U,C,eligible\n",
            [401, 403, 403, 200, 422, 200, 401, 401, 401],
        ),
        (
            "/api/v1/admin/members",
            Method::GET,
            "/api/v1/admin/members",
            "",
            [401, 403, 403, 200, 200, 200, 401, 401, 401],
        ),
        (
            "/api/v1/admin/members/{card_number}",
            Method::GET,
            "/api/v1/admin/members/100000001",
            "",
            [401, 403, 403, 200, 404, 200, 401, 401, 401],
        ),
        (
            "/api/v1/admin/members/{card_number}/activation-code",
            Method::POST,
            "/api/v1/admin/members/100000002/activation-code",
            "{}",
            [401, 403, 403, 201, 404, 201, 401, 401, 401],
        ),
        (
            "/api/v1/admin/committees/{code}/activation-codes",
            Method::POST,
            "/api/v1/admin/committees/HK/activation-codes",
            "{}",
            [401, 403, 403, 201, 404, 201, 401, 401, 401],
        ),
        (
            "/api/v1/admin/staff",
            Method::POST,
            "/api/v1/admin/staff",
            r#"{"login": "new.officer", "password": "long enough", "role": "officer", "committee_code": "HK"}"#,
            [401, 403, 403, 403, 403, 201, 401, 401, 401],
        ),
        (
            "/api/v1/auth/password",
            Method::POST,
            "/api/v1/auth/password",
            r#"{"current_password": "certainly wrong", "new_password": "long enough"}"#,
            [401, 422, 422, 422, 422, 422, 401, 401, 401],
        ),
        // Anyone may call these; bad credentials are 401 for all alike.
        ("/api/v1/auth/login", Method::POST, "/api/v1/auth/login", "LOGIN", [401; 9]),
        ("/api/v1/auth/activate", Method::POST, "/api/v1/auth/activate", "ACTIVATE", [401; 9]),
        ("/api/v1/auth/refresh", Method::POST, "/api/v1/auth/refresh", r#"{"refresh_token": "not-a-token"}"#, [401; 9]),
        ("/api/v1/auth/logout", Method::POST, "/api/v1/auth/logout", r#"{"refresh_token": "not-a-token"}"#, [204; 9]),
    ]
}

/// Every `web::resource("…")` pattern in the code.
fn routes_in_code() -> Vec<String> {
    fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for piece in text.split("web::resource(\"").skip(1) {
                    found.push(piece.split('"').next().unwrap().to_owned());
                }
            }
        }
    }
    let mut found = Vec::new();
    walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
    found
}

#[test]
fn every_route_has_a_row_in_the_matrix() {
    let rows: Vec<&str> = matrix().iter().map(|row| row.0).collect();
    let missing: Vec<String> = routes_in_code().into_iter().filter(|route| !rows.contains(&route.as_str())).collect();
    assert!(missing.is_empty(), "routes without a row in the authorization matrix: {missing:?}");
}

async fn callers(app: &TestApp) -> Vec<Option<String>> {
    app.seed_committees(&["HK", "BD"]).await;
    let admin = app.admin_token().await;
    app.import(&admin, MEMBERS_CSV).await;
    let member_a = app.activate_member(&admin, "100000001", "member password").await;
    let member_b = app.activate_member(&admin, "100000004", "member password").await;
    let officer_a = app.staff_token("officer.a", "officer", Some("HK")).await;
    let officer_b = app.staff_token("officer.b", "officer", Some("BD")).await;
    let now = chrono::Utc::now().timestamp();
    let expired = handbook::auth::tokens::issue(
        &app.state.auth.keys,
        "staff:1",
        handbook::auth::Role::Admin,
        None,
        None,
        now - 3600,
    );
    let other_keys = handbook::auth::keys::KeySet::from_seeds(&[handbook::auth::keys::random_seed()]).unwrap();
    let other_key = handbook::auth::tokens::issue(&other_keys, "staff:1", handbook::auth::Role::Admin, None, None, now);
    let payload = admin.split('.').nth(1).unwrap();
    let alg_none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
    vec![
        None,
        Some(member_a["access_token"].as_str().unwrap().to_owned()),
        Some(member_b["access_token"].as_str().unwrap().to_owned()),
        Some(officer_a),
        Some(officer_b),
        Some(admin),
        Some(expired),
        Some(other_key),
        Some(alg_none),
    ]
}

both_backends! {
    async fn every_caller_gets_exactly_its_status_on_every_route(app: TestApp) {
        let callers = callers(&app).await;
        let mut wrong = Vec::new();
        for (route, method, path, body, expected) in matrix() {
            for (index, token) in callers.iter().enumerate() {
                let mut request = TestRequest::default().method(method.clone()).uri(path);
                if let Some(token) = token {
                    request = request.insert_header(("authorization", format!("Bearer {token}")));
                }
                request = if let Some(csv) = body.strip_prefix("csv:") {
                    request.insert_header(("content-type", "text/csv")).set_payload(csv.to_owned())
                } else if body == "LOGIN" {
                    request.set_json(json!({"login": format!("nobody{index}"), "password": "wrong password"}))
                } else if body == "ACTIVATE" {
                    // A card number per caller, so that the throttle of one does not answer for another.
                    let card = format!("90000000{index}");
                    request.set_json(json!({"card_number": card, "activation_code": "AAAAA-AAAAA-AAAAA-AAAAA", "new_password": "long enough"}))
                } else if !body.is_empty() {
                    request.insert_header(("content-type", "application/json")).set_payload(body.to_owned())
                } else {
                    request
                };
                let answer = app.send(request).await;
                if answer.status.as_u16() != expected[index] {
                    wrong.push(format!("{method} {route} as {}: {} (expected {})", CALLERS[index], answer.status, expected[index]));
                }
            }
        }
        assert!(wrong.is_empty(), "authorization matrix violations:\n{}", wrong.join("\n"));
    }
}
