//! The authorization matrix: every route, called by every kind of caller, with the status each must get.
//! A route of the OpenAPI document or of the dashboard without a row here fails the suite.

use std::collections::BTreeSet;

use crate::harness::routes::{self, Route};
use crate::harness::{Backend, TestApp, MEMBERS_CSV};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::json;

const CALLERS: [&str; 9] =
    ["anonymous", "member A", "member B", "officer A", "officer B", "admin", "expired", "other key", "alg none"];

/// (route pattern, method, concrete path, body, expected status per caller in CALLERS order).
/// A body of `csv:` sends the rest as text/csv; LOGIN, ACTIVATE, INSTALL, PDF and SYNC are made per caller.
type Row = (&'static str, Method, &'static str, &'static str, [u16; 9]);

fn matrix() -> Vec<Row> {
    const PUBLIC_200: [u16; 9] = [200; 9];
    const ANY_SIGNED_IN_200: [u16; 9] = [401, 200, 200, 200, 200, 200, 401, 401, 401];
    const STAFF_200: [u16; 9] = [401, 403, 403, 200, 200, 200, 401, 401, 401];
    /// A document of committee A: managed by A's officer and admins; B's officer is told it does not exist.
    const STAFF_OF_A: [u16; 9] = [401, 403, 403, 200, 404, 200, 401, 401, 401];
    vec![
        ("/healthz", Method::GET, "/healthz", "", PUBLIC_200),
        ("/readyz", Method::GET, "/readyz", "", PUBLIC_200),
        // Only for the allowed address ranges or the metrics token: these requests come from no address at all,
        // and no caller's token is the metrics token (tests/foundation.rs serves it to those who may read it).
        ("/metrics", Method::GET, "/metrics", "", [404; 9]),
        ("/.well-known/jwks.json", Method::GET, "/.well-known/jwks.json", "", PUBLIC_200),
        ("/api/v1/openapi.json", Method::GET, "/api/v1/openapi.json", "", PUBLIC_200),
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
        ("/api/v1/admin/audit", Method::GET, "/api/v1/admin/audit", "", [401, 403, 403, 200, 200, 200, 401, 401, 401]),
        (
            "/api/v1/admin/documents",
            Method::POST,
            "/api/v1/admin/documents",
            r#"{"title": "Kế hoạch", "kind": "thong_bao", "section": "", "body": "x", "audience": {"committees": ["HK"]}}"#,
            [401, 403, 403, 201, 422, 201, 401, 401, 401],
        ),
        (
            "/api/v1/admin/documents",
            Method::GET,
            "/api/v1/admin/documents",
            "",
            [401, 403, 403, 200, 200, 200, 401, 401, 401],
        ),
        ("/api/v1/admin/documents/{id}", Method::GET, "/api/v1/admin/documents/{doc}", "", STAFF_OF_A),
        (
            "/api/v1/admin/documents/{id}",
            Method::PATCH,
            "/api/v1/admin/documents/{doc}",
            r#"{"section": "Kế hoạch"}"#,
            STAFF_OF_A,
        ),
        (
            "/api/v1/admin/documents/{id}/publish",
            Method::POST,
            "/api/v1/admin/documents/{doc}/publish",
            "{}",
            STAFF_OF_A,
        ),
        (
            "/api/v1/admin/documents/{id}/revisions",
            Method::GET,
            "/api/v1/admin/documents/{doc}/revisions",
            "",
            STAFF_OF_A,
        ),
        (
            "/api/v1/admin/documents/{id}/revisions/{n}/restore",
            Method::POST,
            "/api/v1/admin/documents/{doc}/revisions/1/restore",
            "{}",
            STAFF_OF_A,
        ),
        ("/api/v1/documents", Method::GET, "/api/v1/documents", "", ANY_SIGNED_IN_200),
        // Addressed to committee A: its members and staff read it.
        (
            "/api/v1/documents/{id}",
            Method::GET,
            "/api/v1/documents/{doc}",
            "",
            [401, 200, 404, 200, 404, 200, 401, 401, 401],
        ),
        (
            "/api/v1/attachments/{sha256}",
            Method::GET,
            "/api/v1/attachments/{sha}",
            "",
            [401, 200, 404, 200, 404, 200, 401, 401, 401],
        ),
        (
            "/api/v1/admin/attachments",
            Method::POST,
            "/api/v1/admin/attachments?name=a.pdf",
            "PDF",
            [401, 403, 403, 201, 201, 201, 401, 401, 401],
        ),
        // The officer of A withdraws it first; the admin then finds it already withdrawn.
        (
            "/api/v1/admin/documents/{id}/unpublish",
            Method::POST,
            "/api/v1/admin/documents/{doc}/unpublish",
            "{}",
            [401, 403, 403, 200, 404, 409, 401, 401, 401],
        ),
        (
            "/api/v1/installations",
            Method::POST,
            "/api/v1/installations",
            "INSTALL",
            [401, 201, 201, 201, 201, 201, 401, 401, 401],
        ),
        ("/api/v1/installations", Method::GET, "/api/v1/installations", "", ANY_SIGNED_IN_200),
        ("/api/v1/sync", Method::GET, "/api/v1/sync", "SYNC", [401, 200, 200, 403, 403, 403, 401, 401, 401]),
        (
            "/api/v1/sync/ack",
            Method::POST,
            "/api/v1/sync/ack",
            r#"{"installation_id": "00000000-0000-4000-8000-000000000000", "cursor": "not-a-cursor"}"#,
            [401, 422, 422, 403, 403, 403, 401, 401, 401],
        ),
        // Member A's device: its owner removes it; after that it is gone for everyone.
        (
            "/api/v1/installations/{installation_id}",
            Method::DELETE,
            "/api/v1/installations/{inst_a}",
            "",
            [401, 204, 404, 404, 404, 404, 401, 401, 401],
        ),
        ("/api/v1/coverage", Method::GET, "/api/v1/coverage", "", STAFF_200),
        ("/api/v1/coverage.csv", Method::GET, "/api/v1/coverage.csv", "", STAFF_200),
        ("/api/v1/coverage/history", Method::GET, "/api/v1/coverage/history", "", STAFF_200),
        ("/api/v1/coverage/{code}", Method::GET, "/api/v1/coverage/HK", "", STAFF_OF_A),
        ("/api/v1/coverage/{code}/not-installed", Method::GET, "/api/v1/coverage/HK/not-installed", "", STAFF_OF_A),
        // The dashboard authenticates by its session cookie, never by a bearer token: every caller here sends
        // only `Authorization: Bearer`, so each is treated as signed out and sent to the sign-in page.
        ("/dashboard", Method::GET, "/dashboard", "", [303; 9]),
        ("/dashboard/committees/{code}", Method::GET, "/dashboard/committees/HK", "", [303; 9]),
        ("/dashboard/coverage.csv", Method::GET, "/dashboard/coverage.csv", "", [303; 9]),
        (
            "/dashboard/committees/{code}/not-installed.csv",
            Method::GET,
            "/dashboard/committees/HK/not-installed.csv",
            "",
            [303; 9],
        ),
        // Members, import and slips (tests/it/console_members.rs tests them with a session).
        ("/dashboard/members", Method::GET, "/dashboard/members", "", [303; 9]),
        ("/dashboard/members/import", Method::GET, "/dashboard/members/import", "", [303; 9]),
        ("/dashboard/members/import", Method::POST, "/dashboard/members/import", "", [303; 9]),
        (
            "/dashboard/members/import/{upload}",
            Method::POST,
            "/dashboard/members/import/0123456789abcdef0123456789abcdef",
            "",
            [303; 9],
        ),
        ("/dashboard/members/{card_number}", Method::GET, "/dashboard/members/100000001", "", [303; 9]),
        (
            "/dashboard/members/{card_number}/activation-code",
            Method::POST,
            "/dashboard/members/100000001/activation-code",
            "",
            [303; 9],
        ),
        ("/dashboard/slips", Method::GET, "/dashboard/slips", "", [303; 9]),
        ("/dashboard/committees/{code}/slips", Method::GET, "/dashboard/committees/HK/slips", "", [303; 9]),
        ("/dashboard/committees/{code}/slips", Method::POST, "/dashboard/committees/HK/slips", "", [303; 9]),
        ("/dashboard/login", Method::GET, "/dashboard/login", "", PUBLIC_200),
        // The console's stylesheet (public: the sign-in page needs it).
        ("/dashboard/assets/{file}", Method::GET, "/dashboard/assets/console.css", "", PUBLIC_200),
        // No login and password in the form: the form again, 400, for everyone alike (and nothing throttled).
        ("/dashboard/login", Method::POST, "/dashboard/login", "", [400; 9]),
        // Signing out needs no session: it clears the cookies (there are none) and goes to the sign-in page.
        ("/dashboard/logout", Method::POST, "/dashboard/logout", "", [303; 9]),
        // Anyone may call these; bad credentials are 401 for all alike.
        ("/api/v1/auth/login", Method::POST, "/api/v1/auth/login", "LOGIN", [401; 9]),
        ("/api/v1/auth/activate", Method::POST, "/api/v1/auth/activate", "ACTIVATE", [401; 9]),
        ("/api/v1/auth/refresh", Method::POST, "/api/v1/auth/refresh", r#"{"refresh_token": "not-a-token"}"#, [401; 9]),
        ("/api/v1/auth/logout", Method::POST, "/api/v1/auth/logout", r#"{"refresh_token": "not-a-token"}"#, [204; 9]),
    ]
}

/// The matrix has exactly one row per route: each operation of the OpenAPI document and each dashboard route
/// (`harness::routes`) has a row, and each row names one of them.
#[actix_web::test]
async fn every_route_has_a_row_in_the_matrix() {
    let app = TestApp::start(Backend::Sqlite).await;
    let routes = routes::all(&app).await;
    let rows: BTreeSet<Route> = matrix().iter().map(|(pattern, method, ..)| Route::new(method, pattern)).collect();
    let missing: Vec<String> = routes.difference(&rows).map(Route::to_string).collect();
    assert!(missing.is_empty(), "routes without a row in the authorization matrix: {missing:?}");
    let unknown: Vec<String> = rows.difference(&routes).map(Route::to_string).collect();
    assert!(unknown.is_empty(), "rows for no documented operation and no dashboard route: {unknown:?}");
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// The callers, and what the rows refer to: a published document of committee A with an attachment, and
/// each member's registered device.
struct Fixture {
    tokens: Vec<Option<String>>,
    document: String,
    sha256: String,
    installations: Vec<Option<String>>,
}

async fn fixture(app: &TestApp) -> Fixture {
    app.seed_committees(&["HK", "BD"]).await;
    let admin = app.admin_token().await;
    app.import(&admin, MEMBERS_CSV).await;
    let member_a =
        app.activate_member(&admin, "100000001", "member password").await["access_token"].as_str().unwrap().to_owned();
    let member_b =
        app.activate_member(&admin, "100000004", "member password").await["access_token"].as_str().unwrap().to_owned();
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

    // Uploaded by A's officer: a document may only name attachments its author may see.
    let uploaded = app
        .with_bearer(
            &officer_a,
            TestRequest::post()
                .uri("/api/v1/admin/attachments?name=k.pdf")
                .insert_header(("content-type", "application/pdf"))
                .set_payload(PDF),
        )
        .await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.text());
    let sha256 = uploaded.json()["sha256"].as_str().unwrap().to_owned();
    let draft = json!({"title": "Kế hoạch", "kind": "thong_bao", "section": "", "body": "x",
        "audience": {"committees": ["HK"]}, "attachments": [{"sha256": sha256, "name": "k.pdf"}]});
    let created = app.post_as(&officer_a, "/api/v1/admin/documents", &draft).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let document = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post_as(&officer_a, &format!("/api/v1/admin/documents/{document}/publish"), &json!({})).await.status,
        200
    );
    let mut installations = vec![None; CALLERS.len()];
    for (index, token) in [(1, &member_a), (2, &member_b)] {
        let id = uuid::Uuid::new_v4().to_string();
        assert_eq!(app.register_installation(token, &id).await.status, 201);
        installations[index] = Some(id);
    }
    Fixture {
        tokens: vec![
            None,
            Some(member_a),
            Some(member_b),
            Some(officer_a),
            Some(officer_b),
            Some(admin),
            Some(expired),
            Some(other_key),
            Some(alg_none),
        ],
        document,
        sha256,
        installations,
    }
}

both_backends! {
    async fn every_caller_gets_exactly_its_status_on_every_route(app: TestApp) {
        let fixture = fixture(&app).await;
        let mut wrong = Vec::new();
        for (route, method, path, body, expected) in matrix() {
            for (index, token) in fixture.tokens.iter().enumerate() {
                let path = path
                    .replace("{doc}", &fixture.document)
                    .replace("{sha}", &fixture.sha256)
                    .replace("{inst_a}", fixture.installations[1].as_deref().unwrap());
                let mut request = TestRequest::default().method(method.clone()).uri(&path);
                if let Some(token) = token {
                    request = request.insert_header(("authorization", format!("Bearer {token}")));
                }
                request = match body {
                    _ if body.starts_with("csv:") => {
                        request.insert_header(("content-type", "text/csv")).set_payload(body["csv:".len()..].to_owned())
                    }
                    "LOGIN" => request.set_json(json!({"login": format!("nobody{index}"), "password": "wrong password"})),
                    // A card number per caller, so that the throttle of one does not answer for another.
                    "ACTIVATE" => request.set_json(json!({"card_number": format!("90000000{index}"),
                        "activation_code": "AAAAA-AAAAA-AAAAA-AAAAA", "new_password": "long enough"})),
                    "INSTALL" => request.set_json(json!({"installation_id": uuid::Uuid::new_v4().to_string(),
                        "platform": "web", "app_version": "1.0"})),
                    "PDF" => request.insert_header(("content-type", "application/pdf")).set_payload(PDF),
                    "SYNC" => match &fixture.installations[index] {
                        Some(id) => request.insert_header(("X-Installation-Id", id.as_str())),
                        None => request.insert_header(("X-Installation-Id", "00000000-0000-4000-8000-000000000000")),
                    },
                    "" => request,
                    json_text => request.insert_header(("content-type", "application/json")).set_payload(json_text.to_owned()),
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
