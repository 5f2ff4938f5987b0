//! The authorization matrix: every route, called by every kind of caller, with the status each must get.
//! A route of the OpenAPI document without a row in `matrix`, or of the console without a row in `console_matrix`,
//! fails the suite.

use std::collections::BTreeSet;

use crate::harness::console::Console;
use crate::harness::routes::{self, Route};
use crate::harness::{Backend, TestApp, MEMBERS_CSV, STAFF_PASSWORD};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::json;

const CALLERS: [&str; 9] =
    ["anonymous", "member A", "member B", "officer A", "officer B", "admin", "expired", "other key", "alg none"];

/// (route pattern, method, concrete path, body, expected status per caller in CALLERS order).
/// A body of `csv:` sends the rest as text/csv; LOGIN, ACTIVATE, INSTALL, PDF, SYNC and PUSH are made per caller;
/// `{soon}` in a JSON body is a time a week ahead.
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
        ("/api/v1/admin/staff", Method::GET, "/api/v1/admin/staff", "", [401, 403, 403, 403, 403, 200, 401, 401, 401]),
        // The account the row above created (none of the callers: their sessions must live on).
        (
            "/api/v1/admin/staff/{login}/disable",
            Method::POST,
            "/api/v1/admin/staff/new.officer/disable",
            "",
            [401, 403, 403, 403, 403, 200, 401, 401, 401],
        ),
        (
            "/api/v1/admin/staff/{login}/enable",
            Method::POST,
            "/api/v1/admin/staff/new.officer/enable",
            "",
            [401, 403, 403, 403, 403, 200, 401, 401, 401],
        ),
        (
            "/api/v1/admin/staff/{login}/password-reset",
            Method::POST,
            "/api/v1/admin/staff/new.officer/password-reset",
            "",
            [401, 403, 403, 403, 403, 200, 401, 401, 401],
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
        // Addressed to committee A: its officer reads A's part, B's officer is told it does not exist.
        (
            "/api/v1/admin/documents/{id}/delivery",
            Method::GET,
            "/api/v1/admin/documents/{doc}/delivery",
            "",
            STAFF_OF_A,
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
        // Each member pushes to its own device (no mutations); staff have no devices to push from.
        ("/api/v1/sync/push", Method::POST, "/api/v1/sync/push", "PUSH", [401, 200, 200, 403, 403, 403, 401, 401, 401]),
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
        // An officer's own committee by default; committee A asked for: B's officer is told it does not exist.
        ("/api/v1/meetings/stats", Method::GET, "/api/v1/meetings/stats?committee=HK", "", STAFF_OF_A),
        ("/api/v1/meetings/stats/cells-without", Method::GET, "/api/v1/meetings/stats/cells-without", "", STAFF_200),
        ("/api/v1/reading", Method::GET, "/api/v1/reading", "", STAFF_200),
        ("/api/v1/reading/{document_id}", Method::GET, "/api/v1/reading/{doc}", "", STAFF_OF_A),
        ("/api/v1/reading/{document_id}/{code}", Method::GET, "/api/v1/reading/{doc}/HK", "", STAFF_OF_A),
        (
            "/api/v1/reading/{document_id}/{code}/not-read",
            Method::GET,
            "/api/v1/reading/{doc}/HK/not-read",
            "",
            STAFF_OF_A,
        ),
        // Meetings of committee A's cell "Chi bộ 1", where member A is invited: no member here has a position
        // (tests/it/meetings.rs has the secretaries' matrix); B's officer may not name A's cell (422) and is told
        // A's meeting does not exist.
        (
            "/api/v1/meetings",
            Method::POST,
            "/api/v1/meetings",
            r#"{"committee_code": "HK", "unit": "Phường Hàng Bạc", "cell": "Chi bộ 1", "title": "Sinh hoạt chi bộ", "starts_at": "{soon}", "location": "Hội trường", "agenda": "1. Nghị quyết"}"#,
            [401, 403, 403, 201, 422, 201, 401, 401, 401],
        ),
        ("/api/v1/meetings", Method::GET, "/api/v1/meetings", "", [401, 403, 403, 200, 200, 200, 401, 401, 401]),
        (
            "/api/v1/meetings/attachments",
            Method::POST,
            "/api/v1/meetings/attachments?name=a.pdf",
            "PDF",
            [401, 403, 403, 201, 201, 201, 401, 401, 401],
        ),
        (
            "/api/v1/meetings/{id}",
            Method::GET,
            "/api/v1/meetings/{meeting}",
            "",
            [401, 200, 404, 200, 404, 200, 401, 401, 401],
        ),
        (
            "/api/v1/meetings/{id}",
            Method::PATCH,
            "/api/v1/meetings/{meeting}",
            r#"{"location": "Nhà văn hoá"}"#,
            [401, 403, 403, 200, 404, 200, 401, 401, 401],
        ),
        (
            "/api/v1/meetings/{id}/attendance",
            Method::PUT,
            "/api/v1/meetings/{meeting}/attendance",
            r#"{"records": [{"card_number": "100000001", "attendance": "present"}]}"#,
            [401, 403, 403, 200, 404, 200, 401, 401, 401],
        ),
        // Cancelling again changes nothing: 200.
        (
            "/api/v1/meetings/{id}/cancel",
            Method::POST,
            "/api/v1/meetings/{meeting}/cancel",
            "",
            [401, 403, 403, 200, 404, 200, 401, 401, 401],
        ),
        // Anyone may call these; bad credentials are 401 for all alike.
        ("/api/v1/auth/login", Method::POST, "/api/v1/auth/login", "LOGIN", [401; 9]),
        ("/api/v1/auth/activate", Method::POST, "/api/v1/auth/activate", "ACTIVATE", [401; 9]),
        ("/api/v1/auth/refresh", Method::POST, "/api/v1/auth/refresh", r#"{"refresh_token": "not-a-token"}"#, [401; 9]),
        ("/api/v1/auth/logout", Method::POST, "/api/v1/auth/logout", r#"{"refresh_token": "not-a-token"}"#, [204; 9]),
        // LAST: it ends every session of each caller that signs out everywhere, so no row may follow it.
        (
            "/api/v1/auth/logout-all",
            Method::POST,
            "/api/v1/auth/logout-all",
            "",
            [401, 204, 204, 204, 204, 204, 401, 401, 401],
        ),
    ]
}

/// The console's callers: each signed in through the sign-in form (the member with its own token put in the cookie
/// by hand, since the form refuses members), so every page and form is reached with a real session.
const CONSOLE_CALLERS: [&str; 5] = ["no session", "member A", "officer A", "officer B", "admin"];

/// (route pattern, method, concrete path, form fields, expected status per caller in CONSOLE_CALLERS order).
/// Forms are posted with the caller's CSRF token; `{doc}` is committee A's published document.
type ConsoleRow = (&'static str, Method, &'static str, &'static [(&'static str, &'static str)], [u16; 5]);

fn console_matrix() -> Vec<ConsoleRow> {
    /// Staff pages: no session goes to sign in, a member is refused, every staff member sees its own.
    const STAFF_PAGE: [u16; 5] = [303, 403, 200, 200, 200];
    /// Committee A's pages: B's officer is told they do not exist.
    const OF_A: [u16; 5] = [303, 403, 200, 404, 200];
    /// The city's pages: officers are refused.
    const ADMIN_PAGE: [u16; 5] = [303, 403, 403, 403, 200];
    /// The city's actions, answered by going back to the page (303).
    const ADMIN_ACTION: [u16; 5] = [303, 403, 403, 403, 303];
    vec![
        ("/dashboard/login", Method::GET, "/dashboard/login", &[], [200; 5]),
        ("/dashboard/assets/{file}", Method::GET, "/dashboard/assets/console.js", &[], [200; 5]),
        // No login and password in the form: the form again, 400, for everyone alike.
        ("/dashboard/login", Method::POST, "/dashboard/login", &[], [400; 5]),
        ("/dashboard", Method::GET, "/dashboard", &[], STAFF_PAGE),
        ("/dashboard/coverage.csv", Method::GET, "/dashboard/coverage.csv", &[], STAFF_PAGE),
        ("/dashboard/committees/{code}", Method::GET, "/dashboard/committees/HK", &[], OF_A),
        (
            "/dashboard/committees/{code}/not-installed.csv",
            Method::GET,
            "/dashboard/committees/HK/not-installed.csv",
            &[],
            OF_A,
        ),
        ("/dashboard/reading", Method::GET, "/dashboard/reading", &[], STAFF_PAGE),
        ("/dashboard/reading/{id}", Method::GET, "/dashboard/reading/{doc}", &[], OF_A),
        ("/dashboard/reading/{id}/{code}", Method::GET, "/dashboard/reading/{doc}/HK", &[], OF_A),
        (
            "/dashboard/reading/{id}/{code}/not-read.csv",
            Method::GET,
            "/dashboard/reading/{doc}/HK/not-read.csv",
            &[],
            OF_A,
        ),
        ("/dashboard/audit", Method::GET, "/dashboard/audit", &[], STAFF_PAGE),
        ("/dashboard/audit.csv", Method::GET, "/dashboard/audit.csv", &[], STAFF_PAGE),
        ("/dashboard/account", Method::GET, "/dashboard/account", &[], STAFF_PAGE),
        // A wrong current password: the form again with the error, for every staff member alike.
        (
            "/dashboard/account/password",
            Method::POST,
            "/dashboard/account/password",
            &[
                ("current_password", "not the password"),
                ("new_password", "xanh lá cây trên đồi 2026"),
                ("confirm_password", "xanh lá cây trên đồi 2026"),
            ],
            [303, 403, 422, 422, 422],
        ),
        // Admins only: officers are refused (403, as the API refuses them admin routes).
        ("/dashboard/staff", Method::GET, "/dashboard/staff", &[], ADMIN_PAGE),
        // An empty password: one is made and shown once.
        (
            "/dashboard/staff",
            Method::POST,
            "/dashboard/staff",
            &[("login", "new.officer"), ("role", "officer"), ("committee_code", "HK"), ("password", "")],
            ADMIN_PAGE,
        ),
        // On a spare account, so that no caller's own session is touched.
        ("/dashboard/staff/{login}/disable", Method::POST, "/dashboard/staff/spare.officer/disable", &[], ADMIN_ACTION),
        ("/dashboard/staff/{login}/enable", Method::POST, "/dashboard/staff/spare.officer/enable", &[], ADMIN_ACTION),
        (
            "/dashboard/staff/{login}/password-reset",
            Method::POST,
            "/dashboard/staff/spare.officer/password-reset",
            &[],
            ADMIN_PAGE,
        ),
        ("/dashboard/documents", Method::GET, "/dashboard/documents", &[], STAFF_PAGE),
        ("/dashboard/documents/new", Method::GET, "/dashboard/documents/new", &[], STAFF_PAGE),
        // A draft for committee A: B's officer may not address it (the form again, 422).
        (
            "/dashboard/documents/new",
            Method::POST,
            "/dashboard/documents/new",
            &[
                ("title", "Thông báo mới"),
                ("kind", "thong_bao"),
                ("section", ""),
                ("body", "Nội dung"),
                ("committees", "HK"),
                ("action", "save"),
            ],
            [303, 403, 303, 422, 303],
        ),
        ("/dashboard/documents/{id}", Method::GET, "/dashboard/documents/{doc}", &[], OF_A),
        (
            "/dashboard/documents/{id}",
            Method::POST,
            "/dashboard/documents/{doc}",
            &[
                ("title", "Kế hoạch"),
                ("kind", "thong_bao"),
                ("section", ""),
                ("body", "x"),
                ("committees", "HK"),
                ("action", "preview"),
            ],
            OF_A,
        ),
        ("/dashboard/documents/{id}/revisions", Method::GET, "/dashboard/documents/{doc}/revisions", &[], OF_A),
        (
            "/dashboard/documents/{id}/revisions/{n}/restore",
            Method::POST,
            "/dashboard/documents/{doc}/revisions/1/restore",
            &[],
            [303, 403, 303, 404, 303],
        ),
        (
            "/dashboard/documents/{id}/attachments",
            Method::POST,
            "/dashboard/documents/{doc}/attachments",
            // A multipart form with a PDF (`file` names the file part).
            &[("file", "PDF")],
            [303, 403, 303, 404, 303],
        ),
        (
            "/dashboard/documents/{id}/attachments/remove",
            Method::POST,
            "/dashboard/documents/{doc}/attachments/remove",
            &[("sha256", "{sha}")],
            [303, 403, 303, 404, 303],
        ),
        // Already unpublished by A's officer when the admin asks: 409, as a page.
        (
            "/dashboard/documents/{id}/unpublish",
            Method::POST,
            "/dashboard/documents/{doc}/unpublish",
            &[],
            [303, 403, 303, 404, 409],
        ),
        ("/dashboard/members", Method::GET, "/dashboard/members", &[], STAFF_PAGE),
        ("/dashboard/members/{card_number}", Method::GET, "/dashboard/members/100000001", &[], OF_A),
        // A new code, shown once on the answer (for a member who holds no console session here: a new code ends
        // the member's sessions).
        (
            "/dashboard/members/{card_number}/activation-code",
            Method::POST,
            "/dashboard/members/100000002/activation-code",
            &[],
            [303, 403, 200, 404, 200],
        ),
        ("/dashboard/members/import", Method::GET, "/dashboard/members/import", &[], STAFF_PAGE),
        // A dry run of a row of committee A: B's officer is told which line it may not import (422).
        (
            "/dashboard/members/import",
            Method::POST,
            "/dashboard/members/import",
            &[
                ("mode", "dry-run"),
                (
                    "file",
                    "csv:card_number,full_name,committee_code,unit,cell,status\n300000009,Hồ Văn M,HK,U,C,eligible\n",
                ),
            ],
            [303, 403, 200, 422, 200],
        ),
        // A kept upload that is not there (or not the caller's: kept files are per account): gone.
        (
            "/dashboard/members/import/{upload}",
            Method::POST,
            "/dashboard/members/import/0123456789abcdef0123456789abcdef",
            &[("file", "NONE")],
            [303, 403, 410, 410, 410],
        ),
        // Officers are sent on to their own committee's slips.
        ("/dashboard/slips", Method::GET, "/dashboard/slips", &[], [303, 403, 303, 303, 200]),
        ("/dashboard/meetings", Method::GET, "/dashboard/meetings", &[], STAFF_PAGE),
        ("/dashboard/meetings/stats", Method::GET, "/dashboard/meetings/stats?committee=HK", &[], OF_A),
        ("/dashboard/meetings/stats.csv", Method::GET, "/dashboard/meetings/stats.csv", &[], STAFF_PAGE),
        (
            "/dashboard/meetings/stats/cells-without.csv",
            Method::GET,
            "/dashboard/meetings/stats/cells-without.csv?committee=HK",
            &[],
            OF_A,
        ),
        ("/dashboard/meetings/{id}", Method::GET, "/dashboard/meetings/{meeting}", &[], OF_A),
        // A's officer cancels A's meeting and goes back to its page; the admin finds it cancelled (no change, 303).
        (
            "/dashboard/meetings/{id}/cancel",
            Method::POST,
            "/dashboard/meetings/{meeting}/cancel",
            &[],
            [303, 403, 303, 404, 303],
        ),
        ("/dashboard/committees/{code}/slips", Method::GET, "/dashboard/committees/HK/slips", &[], OF_A),
        (
            "/dashboard/committees/{code}/slips",
            Method::POST,
            "/dashboard/committees/HK/slips",
            &[],
            [303, 403, 200, 404, 200],
        ),
        // Last: they end each caller's sessions. Without a staff session there is nothing to end: to sign in.
        (
            "/dashboard/account/sign-out-everywhere",
            Method::POST,
            "/dashboard/account/sign-out-everywhere",
            &[],
            [303, 403, 303, 303, 303],
        ),
        ("/dashboard/logout", Method::POST, "/dashboard/logout", &[], [303; 5]),
    ]
}

/// The console's sessions of CONSOLE_CALLERS (None: no cookies at all).
async fn console_sessions(app: &TestApp, fixture: &Fixture) -> Vec<Option<Console>> {
    let member = fixture.tokens[1].clone().unwrap();
    // The staff rows act on this account.
    app.staff_token("spare.officer", "officer", Some("HK")).await;
    vec![
        None,
        Some(Console { access: member, refresh: String::new(), active: String::new(), csrf: String::new() }),
        Some(Console::sign_in(app, "officer.a", STAFF_PASSWORD).await),
        Some(Console::sign_in(app, "officer.b", STAFF_PASSWORD).await),
        Some(Console::sign_in(app, "city.admin", STAFF_PASSWORD).await),
    ]
}

/// A console form posted by `session`: urlencoded, or multipart when a field is named `file` (its value `PDF` sends
/// a PDF, `csv:…` a CSV file with that text, `NONE` no file at all; the other fields go along as text parts).
fn console_post(session: &Console, path: &str, fields: &[(&str, &str)]) -> TestRequest {
    let Some((_, file)) = fields.iter().find(|(name, _)| *name == "file") else {
        return session.post_form(path, fields);
    };
    let text: Vec<(&str, &str)> = fields.iter().filter(|(name, _)| *name != "file").copied().collect();
    match file.strip_prefix("csv:") {
        _ if *file == "NONE" => session.post_multipart(path, &text, &[]),
        Some(csv) => session.post_multipart(path, &text, &[("file", "members.csv", "text/csv", csv.as_bytes())]),
        None => session.post_multipart(path, &text, &[("file", "k.pdf", "application/pdf", PDF)]),
    }
}

/// The console's matrix has exactly one row per console route too.
#[actix_web::test]
async fn every_console_route_has_a_row_in_the_console_matrix() {
    let rows: BTreeSet<Route> =
        console_matrix().iter().map(|(pattern, method, ..)| Route::new(method, pattern)).collect();
    let routes = routes::dashboard();
    let missing: Vec<String> = routes.difference(&rows).map(Route::to_string).collect();
    assert!(missing.is_empty(), "console routes without a row in the console matrix: {missing:?}");
    let unknown: Vec<String> = rows.difference(&routes).map(Route::to_string).collect();
    assert!(unknown.is_empty(), "rows for no console route: {unknown:?}");
}

/// The matrix has exactly one row per operation of the OpenAPI document (`harness::routes`), and each row names
/// one of them. The console's routes are in the console matrix.
#[actix_web::test]
async fn every_route_has_a_row_in_the_matrix() {
    let app = TestApp::start(Backend::Sqlite).await;
    let routes = routes::operations(&routes::document(&app).await);
    let rows: BTreeSet<Route> = matrix().iter().map(|(pattern, method, ..)| Route::new(method, pattern)).collect();
    let missing: Vec<String> = routes.difference(&rows).map(Route::to_string).collect();
    assert!(missing.is_empty(), "routes without a row in the authorization matrix: {missing:?}");
    let unknown: Vec<String> = rows.difference(&routes).map(Route::to_string).collect();
    assert!(unknown.is_empty(), "rows for no documented operation: {unknown:?}");
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// The callers, and what the rows refer to: a published document of committee A with an attachment, and
/// each member's registered device.
struct Fixture {
    tokens: Vec<Option<String>>,
    document: String,
    sha256: String,
    /// A meeting of member A's cell, started an hour ago.
    meeting: String,
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
        "audience": {"committees": ["HK"]}, "attachments": [{"sha256": sha256, "name": "k.pdf"}],
        "required": {"due_at": "2099-01-01T00:00:00Z"}});
    let created = app.post_as(&officer_a, "/api/v1/admin/documents", &draft).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let document = created.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.post_as(&officer_a, &format!("/api/v1/admin/documents/{document}/publish"), &json!({})).await.status,
        200
    );
    // A meeting of member A's cell that has started: attendance may be recorded.
    let starts_at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let meeting = json!({"committee_code": "HK", "unit": "Phường Hàng Bạc", "cell": "Chi bộ 1", "title": "Sinh hoạt",
        "starts_at": starts_at, "location": "Hội trường", "agenda": ""});
    let created = app.post_as(&admin, "/api/v1/meetings", &meeting).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let meeting = created.json()["id"].as_str().unwrap().to_owned();
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
        meeting,
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
                    .replace("{meeting}", &fixture.meeting)
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
                    "SYNC" | "PUSH" => {
                        let request = match &fixture.installations[index] {
                            Some(id) => request.insert_header(("X-Installation-Id", id.as_str())),
                            None => request.insert_header(("X-Installation-Id", "00000000-0000-4000-8000-000000000000")),
                        };
                        if body == "PUSH" { request.set_json(json!({"mutations": []})) } else { request }
                    }
                    "" => request,
                    // `{soon}`: a week ahead (a meeting starts at most two years ahead).
                    json_text => request
                        .insert_header(("content-type", "application/json"))
                        .set_payload(json_text.replace("{soon}", &(chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339())),
                };
                let answer = app.send(request).await;
                if answer.status.as_u16() != expected[index] {
                    wrong.push(format!("{method} {route} as {}: {} (expected {})", CALLERS[index], answer.status, expected[index]));
                }
            }
        }
        assert!(wrong.is_empty(), "authorization matrix violations:\n{}", wrong.join("\n"));
    }

    async fn every_console_caller_gets_exactly_its_status_on_every_console_route(app: TestApp) {
        let fixture = fixture(&app).await;
        let sessions = console_sessions(&app, &fixture).await;
        let mut wrong = Vec::new();
        for (route, method, path, fields, expected) in console_matrix() {
            let path = path.replace("{doc}", &fixture.document).replace("{meeting}", &fixture.meeting);
            let fields: Vec<(&str, String)> =
                fields.iter().map(|(name, value)| (*name, value.replace("{sha}", &fixture.sha256))).collect();
            let fields: Vec<(&str, &str)> = fields.iter().map(|(name, value)| (*name, value.as_str())).collect();
            let fields = fields.as_slice();
            for (index, session) in sessions.iter().enumerate() {
                let request = match (session, method.clone()) {
                    (Some(session), Method::POST) => console_post(session, &path, fields),
                    (Some(session), method) => session.get(&path).method(method),
                    (None, Method::POST) => TestRequest::post()
                        .uri(&path)
                        .insert_header(("content-type", "application/x-www-form-urlencoded"))
                        .set_payload(url::form_urlencoded::Serializer::new(String::new()).extend_pairs(fields.iter()).finish()),
                    (None, method) => TestRequest::default().method(method).uri(&path),
                };
                let answer = app.send(request).await;
                if answer.status.as_u16() != expected[index] {
                    wrong.push(format!("{method} {route} as {}: {} (expected {})", CONSOLE_CALLERS[index], answer.status, expected[index]));
                }
            }
            // The console authenticates by its session cookie, never by a bearer token: the API's admin token
            // alone is answered as no session.
            let bearer = TestRequest::default()
                .method(method.clone())
                .uri(&path)
                .insert_header(("authorization", format!("Bearer {}", fixture.tokens[5].as_deref().unwrap())));
            let answer = app.send(bearer).await;
            if answer.status.as_u16() != expected[0] {
                wrong.push(format!("{method} {route} with the admin's bearer token: {} (expected {})", answer.status, expected[0]));
            }
        }
        assert!(wrong.is_empty(), "console authorization matrix violations:\n{}", wrong.join("\n"));
    }

    async fn every_console_form_refuses_a_post_without_the_sessions_csrf_token(app: TestApp) {
        let fixture = fixture(&app).await;
        let admin = Console::sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let other = Console::sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let mut wrong = Vec::new();
        for (route, method, path, fields, _) in console_matrix() {
            // The sign-in form has no session to tie a token to (Origin check and SameSite defend it).
            if method != Method::POST || route == "/dashboard/login" {
                continue;
            }
            let path = path.replace("{doc}", &fixture.document).replace("{meeting}", &fixture.meeting);
            for csrf in [String::new(), other.csrf.clone()] {
                let forged = Console { csrf: csrf.clone(), ..admin.clone() };
                let answer = app.send(console_post(&forged, &path, fields)).await;
                if answer.status != 403 {
                    wrong.push(format!("POST {route} with csrf {csrf:?}: {}", answer.status));
                }
            }
        }
        assert!(wrong.is_empty(), "forms accepted without the session's CSRF token:\n{}", wrong.join("\n"));
        // The session was left alone.
        assert_eq!(app.send(admin.get("/dashboard")).await.status, 200);
    }
}
