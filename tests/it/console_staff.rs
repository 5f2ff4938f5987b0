//! The console's staff page (admins), audit log page and account page, in process on both backends: each action
//! through the same functions as the API (same rule, same audit entry, same scope), sessions that end at once,
//! the CSRF token on every form, Vietnamese messages, markup shown as text, and CSV files that no spreadsheet runs.

use actix_web::http::header;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{json, Value};

use crate::harness::console::{assert_html_page, set_cookies, Console};
use crate::harness::{TestApp, STAFF_PASSWORD};
use handbook::db::schema::audit_log;

const NEW_PASSWORD: &str = "một mật khẩu mới khá dài";

/// HK and BD with their members, the city admin, and the officers of HK and BD; the admin's bearer token.
async fn setup(app: &TestApp) -> String {
    let admin = app.imported_organisation().await;
    app.staff_token("officer.hk", "officer", Some("HK")).await;
    app.staff_token("officer.bd", "officer", Some("BD")).await;
    admin
}

async fn sign_in(app: &TestApp, login: &str, password: &str) -> Console {
    Console::sign_in(app, login, password).await
}

/// The new password a page shows once.
fn once(html: &str) -> String {
    let start = html.find(r#"<code class="once">"#).unwrap_or_else(|| panic!("no password shown: {html}")) + 19;
    html[start..].split("</code>").next().unwrap().to_owned()
}

async fn login_status(app: &TestApp, login: &str, password: &str) -> u16 {
    let answer = app.post_json("/api/v1/auth/login", &json!({"login": login, "password": password})).await;
    answer.status.as_u16()
}

/// The audit log as the API lists it for `token`, every page, with `query` (filters).
async fn api_audit(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/admin/audit?limit=1000&{query}");
        if let Some(after) = &after {
            path.push_str(&format!("&after={after}"));
        }
        let page = app.get_as(token, &path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.text());
        let page = page.json();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return items,
        }
    }
}

/// The rows of the audit page's table: (time attribute, target cell text) of each, in order.
fn audit_rows(html: &str) -> Vec<String> {
    let Some(body) = html.split("<tbody>").nth(1) else { return Vec::new() };
    let body = body.split("</tbody>").next().unwrap();
    body.split("<tr>")
        .skip(1)
        .map(|row| row.split(r#"<time datetime=""#).nth(1).unwrap().split('"').next().unwrap().to_owned())
        .collect()
}

/// The `href` of the pager's "Cũ hơn" link, unescaped.
fn older_link(html: &str) -> Option<String> {
    let at = html.find("\">Cũ hơn »</a>")?;
    let start = html[..at].rfind("href=\"")? + 6;
    Some(html[start..at].replace("&amp;", "&"))
}

/// A form's fields, as `Console::post_form` takes them.
type Fields = Vec<(&'static str, &'static str)>;

/// Entries straight into the log, as `audit::record` writes them but at chosen times.
type Synthetic = (NaiveDateTime, String, &'static str, Option<&'static str>, &'static str, String, String);

async fn insert_entries(app: &TestApp, entries: Vec<Synthetic>) {
    app.db()
        .run(move |conn| {
            for chunk in entries.chunks(1000) {
                let rows: Vec<_> = chunk
                    .iter()
                    .map(|(at, actor, role, committee, action, target, detail)| {
                        (
                            audit_log::at.eq(*at),
                            audit_log::actor.eq(actor.clone()),
                            audit_log::actor_role.eq(*role),
                            audit_log::committee_code.eq(*committee),
                            audit_log::action.eq(*action),
                            audit_log::target.eq(target.clone()),
                            audit_log::detail.eq(detail.clone()),
                        )
                    })
                    .collect();
                // A batch insert is one statement per backend (the connection enum cannot express it).
                let insert = diesel::insert_into(audit_log::table).values(rows);
                match conn {
                    handbook::db::DbConnection::Postgresql(pg) => insert.execute(pg)?,
                    handbook::db::DbConnection::Sqlite(lite) => insert.execute(lite)?,
                };
            }
            Ok(())
        })
        .await
        .unwrap();
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
}

/// Every cell of a CSV file.
fn csv_records(body: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(body);
    reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

const FORMULA_STARTS: [char; 10] = ['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'];

both_backends! {
    async fn an_admin_creates_an_officer_from_the_page(app: TestApp) {
        let admin = setup(&app).await;
        let browser = sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let page = assert_html_page(&app.send(browser.get("/dashboard/staff")).await, 200);
        for expected in [r#"data-action="create-staff""#, r#"name="login""#, r#"name="role""#, r#"name="committee_code""#,
            r#"name="password""#, "officer.hk", "officer.bd", "Cán bộ đảng bộ", r#"href="/dashboard/staff""#] {
            assert!(page.contains(expected), "{expected}: {page}");
        }
        // The admin's own row offers neither "disable" nor "reset".
        assert!(!page.contains(r#"action="/dashboard/staff/city.admin/disable""#), "{page}");

        let created = app
            .send(browser.post_form("/dashboard/staff", &[("login", "  Officer.New "), ("role", "officer"),
                ("committee_code", "HK"), ("password", "một cụm từ đủ dài")]))
            .await;
        assert_eq!(created.status, 303, "{}", created.text());
        assert_eq!(created.header("location"), Some("/dashboard/staff?created=officer.new#create"));
        let page = assert_html_page(&app.send(browser.get("/dashboard/staff?created=officer.new")).await, 200);
        assert!(page.contains("Đã tạo tài khoản <strong>officer.new</strong>."), "{page}");
        assert!(page.contains(r#"action="/dashboard/staff/officer.new/disable""#), "{page}");
        let officer = sign_in(&app, "officer.new", "một cụm từ đủ dài").await;
        assert_html_page(&app.send(officer.get("/dashboard")).await, 200);

        // Listed by the API too, with when it last signed in.
        let listed = app.get_as(&admin, "/api/v1/admin/staff").await.json();
        let new = listed["items"].as_array().unwrap().iter().find(|a| a["login"] == "officer.new").unwrap().clone();
        assert_eq!((new["role"].clone(), new["committee_code"].clone(), new["disabled"].clone()), (json!("officer"), json!("HK"), json!(false)));
        assert!(new["last_sign_in_at"].is_string() && new["created_at"].is_string(), "{new}");

        let entries = api_audit(&app, &admin, "action=staff.create&target=officer.new").await;
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!((entries[0]["actor"].clone(), entries[0]["committee_code"].clone()), (json!("city.admin"), json!("HK")));

        // With no password typed, one is made and shown once; it signs in.
        let generated = app
            .send(browser.post_form("/dashboard/staff", &[("login", "city.second"), ("role", "admin"),
                ("committee_code", ""), ("password", "")]))
            .await;
        let page = assert_html_page(&generated, 200);
        let password = once(&page);
        assert_eq!(password.len(), 23, "{password}");
        assert_eq!(login_status(&app, "city.second", &password).await, 200);
        let list = assert_html_page(&app.send(browser.get("/dashboard/staff")).await, 200);
        assert!(list.contains("city.second") && !list.contains(&password), "shown once only");
    }

    async fn a_refused_account_is_explained_in_vietnamese_with_the_typed_values_kept(app: TestApp) {
        let admin = setup(&app).await;
        let browser = sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let weak = app
            .send(browser.post_form("/dashboard/staff", &[("login", "officer.weak"), ("role", "officer"),
                ("committee_code", "BD"), ("password", "password")]))
            .await;
        let page = assert_html_page(&weak, 422);
        assert!(page.contains(r#"role="alert""#) && page.contains("Mật khẩu này quá phổ biến"), "{page}");
        assert!(page.contains(r#"value="officer.weak""#), "{page}");
        assert!(page.contains(r#"<option value="BD" selected>"#), "{page}");
        assert!(page.contains(r#"id="password-error""#) && page.contains(r#"aria-invalid="true""#), "{page}");
        assert!(!page.contains("most common") && !page.contains(r#"value="password""#), "{page}");
        assert_eq!(login_status(&app, "officer.weak", "password").await, 401);

        // Every problem at once, each in Vietnamese; markup typed into the login comes back as text.
        let bad = app
            .send(browser.post_form("/dashboard/staff", &[("login", "<b>x</b>\"'"), ("role", "officer"),
                ("committee_code", ""), ("password", "short")]))
            .await;
        let page = assert_html_page(&bad, 422);
        for expected in ["Tên đăng nhập dài 3–64 ký tự", "Mật khẩu phải có ít nhất 8 ký tự.", "Cán bộ đảng bộ phải thuộc một đảng bộ"] {
            assert!(page.contains(expected), "{expected}: {page}");
        }
        assert!(page.contains("value=\"&lt;b&gt;x&lt;/b&gt;&quot;'\""), "{page}");
        assert!(!page.contains("<b>x</b>"), "{page}");

        let admin_with_committee = app
            .send(browser.post_form("/dashboard/staff", &[("login", "admin.hk"), ("role", "admin"),
                ("committee_code", "HK"), ("password", "một cụm từ đủ dài")]))
            .await;
        assert!(assert_html_page(&admin_with_committee, 422).contains("Quản trị viên không thuộc đảng bộ nào"));

        let taken = app
            .send(browser.post_form("/dashboard/staff", &[("login", "officer.hk"), ("role", "officer"),
                ("committee_code", "HK"), ("password", "một cụm từ đủ dài")]))
            .await;
        assert!(assert_html_page(&taken, 422).contains("Tên đăng nhập này đã có người dùng"));
        assert!(api_audit(&app, &admin, "action=staff.create").await.is_empty(), "nothing was created");
    }

    async fn officers_are_refused_the_staff_page_and_every_staff_action(app: TestApp) {
        let admin = setup(&app).await;
        let officer = sign_in(&app, "officer.hk", STAFF_PASSWORD).await;
        let home = assert_html_page(&app.send(officer.get("/dashboard")).await, 200);
        assert!(!home.contains(r#"href="/dashboard/staff""#), "no menu entry: {home}");
        assert!(home.contains(r#"href="/dashboard/audit""#) && home.contains(r#"href="/dashboard/account""#));
        let page = assert_html_page(&app.send(officer.get("/dashboard/staff")).await, 403);
        assert!(page.contains("Không có quyền truy cập") && !page.contains("officer.bd"), "{page}");
        let attempts = [
            ("/dashboard/staff", vec![("login", "officer.mine"), ("role", "officer"), ("committee_code", "HK"), ("password", "một cụm từ đủ dài")]),
            ("/dashboard/staff/officer.bd/disable", vec![]),
            ("/dashboard/staff/officer.bd/enable", vec![]),
            ("/dashboard/staff/officer.bd/password-reset", vec![]),
            ("/dashboard/staff/city.admin/disable", vec![]),
            ("/dashboard/staff/nobody/disable", vec![]),
        ];
        for (path, fields) in attempts {
            let answer = app.send(officer.post_form(path, &fields)).await;
            let page = assert_html_page(&answer, 403);
            assert!(page.contains("Không có quyền truy cập"), "{path}: {page}");
        }
        let officer_token = app.login("officer.hk", STAFF_PASSWORD).await["access_token"].as_str().unwrap().to_owned();
        app.get_as(&officer_token, "/api/v1/admin/staff").await.problem(403);
        app.post_as(&officer_token, "/api/v1/admin/staff/officer.bd/disable", &json!({})).await.problem(403);
        app.post_as(&officer_token, "/api/v1/admin/staff/nobody/password-reset", &json!({})).await.problem(403);
        // Nothing happened: no account, every password as it was, no audit entry.
        assert_eq!(login_status(&app, "officer.mine", "một cụm từ đủ dài").await, 401);
        assert_eq!(login_status(&app, "officer.bd", STAFF_PASSWORD).await, 200);
        assert_eq!(login_status(&app, "city.admin", STAFF_PASSWORD).await, 200);
        assert!(api_audit(&app, &admin, "").await.iter().all(|e| !e["action"].as_str().unwrap().starts_with("staff.")));
        // Unknown accounts: 404 for admins.
        app.post_as(&admin, "/api/v1/admin/staff/nobody/disable", &json!({})).await.problem(404);
        app.post_as(&admin, "/api/v1/admin/staff/nobody/password-reset", &json!({})).await.problem(404);
        let admin_browser = sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        assert_html_page(&app.send(admin_browser.post_form("/dashboard/staff/nobody/enable", &[])).await, 404);
    }

    async fn disabling_ends_the_officers_sessions_at_once_and_enabling_restores_sign_in(app: TestApp) {
        let admin = setup(&app).await;
        let officer = sign_in(&app, "officer.hk", STAFF_PASSWORD).await;
        let officer_tokens = app.login("officer.hk", STAFF_PASSWORD).await;
        let officer_token = officer_tokens["access_token"].as_str().unwrap();
        assert_html_page(&app.send(officer.get("/dashboard/audit")).await, 200);
        assert_eq!(app.get_as(officer_token, "/api/v1/me").await.status, 200);

        let browser = sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let disabled = app.send(browser.post_form("/dashboard/staff/officer.hk/disable", &[])).await;
        assert_eq!(disabled.status, 303, "{}", disabled.text());
        assert_eq!(disabled.header("location"), Some("/dashboard/staff?disabled=officer.hk"));
        let page = assert_html_page(&app.send(browser.get("/dashboard/staff?disabled=officer.hk")).await, 200);
        assert!(page.contains("Đã khóa tài khoản officer.hk") && page.contains("Đã khóa</span>"), "{page}");
        assert!(page.contains(r#"action="/dashboard/staff/officer.hk/enable""#), "{page}");

        // At once: the console cookie (access and refresh), the API access token and refresh token all stop.
        let answer = app.send(officer.get("/dashboard/audit")).await;
        assert_eq!((answer.status.as_u16(), answer.header("location")), (303, Some("/dashboard/login")));
        assert_eq!(app.get_as(officer_token, "/api/v1/me").await.status, 401);
        let refresh = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": officer_tokens["refresh_token"]})).await;
        assert_eq!(refresh.status, 401);
        assert_eq!(login_status(&app, "officer.hk", STAFF_PASSWORD).await, 401);
        assert_html_page(&app.send(crate::harness::console::login_form("officer.hk", STAFF_PASSWORD)).await, 401);
        let listed = app.get_as(&admin, "/api/v1/admin/staff").await.json();
        assert!(listed["items"].as_array().unwrap().iter().any(|a| a["login"] == "officer.hk" && a["disabled"] == true));

        // Again: nothing changes, no second entry.
        assert_eq!(app.send(browser.post_form("/dashboard/staff/officer.hk/disable", &[])).await.status, 303);
        let enabled = app.send(browser.post_form("/dashboard/staff/officer.hk/enable", &[])).await;
        assert_eq!(enabled.header("location"), Some("/dashboard/staff?enabled=officer.hk"));
        let back = sign_in(&app, "officer.hk", STAFF_PASSWORD).await;
        assert_html_page(&app.send(back.get("/dashboard")).await, 200);

        // The API does the same, through the same function.
        let answer = app.post_as(&admin, "/api/v1/admin/staff/officer.bd/disable", &json!({})).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert_eq!((answer.json()["login"].clone(), answer.json()["disabled"].clone()), (json!("officer.bd"), json!(true)));
        assert_eq!(login_status(&app, "officer.bd", STAFF_PASSWORD).await, 401);
        assert_eq!(app.post_as(&admin, "/api/v1/admin/staff/officer.bd/enable", &json!({})).await.json()["disabled"], false);
        assert_eq!(login_status(&app, "officer.bd", STAFF_PASSWORD).await, 200);

        let actions: Vec<(String, String)> = api_audit(&app, &admin, "").await.iter()
            .filter(|e| e["action"].as_str().unwrap().starts_with("staff."))
            .map(|e| (e["action"].as_str().unwrap().to_owned(), e["target"].as_str().unwrap().to_owned()))
            .collect();
        let expected = [("staff.enable", "officer.bd"), ("staff.disable", "officer.bd"), ("staff.enable", "officer.hk"), ("staff.disable", "officer.hk")];
        assert_eq!(actions, expected.map(|(a, t)| (a.to_owned(), t.to_owned())));
        // An officer's staff entries concern its committee: its officer sees them in its log.
        let officer_token = app.login("officer.hk", STAFF_PASSWORD).await["access_token"].as_str().unwrap().to_owned();
        assert_eq!(api_audit(&app, &officer_token, "target=officer.hk").await.len(), 2);
    }

    async fn a_reset_password_is_shown_once_and_the_old_one_stops_working(app: TestApp) {
        let admin = setup(&app).await;
        let officer = sign_in(&app, "officer.hk", STAFF_PASSWORD).await;
        let browser = sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let answer = app.send(browser.post_form("/dashboard/staff/officer.hk/password-reset", &[])).await;
        let page = assert_html_page(&answer, 200);
        let password = once(&page);
        assert!(page.contains("chỉ hiện một lần"), "{page}");
        assert_eq!(login_status(&app, "officer.hk", STAFF_PASSWORD).await, 401);
        assert_eq!(app.send(officer.get("/dashboard")).await.status, 303, "its sessions ended");
        let again = sign_in(&app, "officer.hk", &password).await;
        assert_html_page(&app.send(again.get("/dashboard")).await, 200);
        let list = assert_html_page(&app.send(browser.get("/dashboard/staff")).await, 200);
        assert!(!list.contains(&password));

        let reset = app.post_as(&admin, "/api/v1/admin/staff/officer.bd/password-reset", &json!({})).await;
        assert_eq!(reset.status, 200, "{}", reset.text());
        assert_eq!(reset.header("cache-control"), Some("no-store"));
        let reset = reset.json();
        assert_eq!(reset["login"], "officer.bd");
        assert_eq!(login_status(&app, "officer.bd", reset["password"].as_str().unwrap()).await, 200);
        assert_eq!(login_status(&app, "officer.bd", STAFF_PASSWORD).await, 401);
        let entries = api_audit(&app, &admin, "action=staff.password_reset").await;
        assert_eq!(entries.len(), 2);
        assert!(entries.iter().all(|e| !e.to_string().contains(&password)), "no password in the log");
    }

    async fn an_admin_cannot_disable_itself_nor_the_last_admin(app: TestApp) {
        let admin = setup(&app).await;
        let browser = sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let answer = app.send(browser.post_form("/dashboard/staff/city.admin/disable", &[])).await;
        let page = assert_html_page(&answer, 409);
        assert!(page.contains("Bạn không thể tự khóa tài khoản của chính mình."), "{page}");
        let answer = app.send(browser.post_form("/dashboard/staff/city.admin/password-reset", &[])).await;
        assert!(assert_html_page(&answer, 409).contains("trang Tài khoản"));
        app.post_as(&admin, "/api/v1/admin/staff/city.admin/disable", &json!({})).await.problem(409);
        app.post_as(&admin, "/api/v1/admin/staff/city.admin/password-reset", &json!({})).await.problem(409);
        assert_eq!(login_status(&app, "city.admin", STAFF_PASSWORD).await, 200);

        // Two admins disabling each other at once: whichever comes second finds itself the only one left.
        let second = app.staff_token("city.second", "admin", None).await;
        let second_user = handbook::auth::user::from_access_token(&app.state, &second).unwrap();
        assert_eq!(app.post_as(&admin, "/api/v1/admin/staff/city.second/disable", &json!({})).await.status, 200);
        let refused = handbook::org::staff::set_disabled(&app.state, &second_user, "city.admin", true).await;
        assert!(matches!(&refused, Err(handbook::error::AppError::Conflict(reason)) if reason == handbook::org::staff::LAST_ADMIN), "{refused:?}");
        assert_eq!(login_status(&app, "city.admin", STAFF_PASSWORD).await, 200);
        // Another admin may be disabled while one stays.
        assert_eq!(app.post_as(&admin, "/api/v1/admin/staff/city.second/enable", &json!({})).await.status, 200);
        assert_eq!(app.post_as(&second, "/api/v1/auth/logout-all", &json!({})).await.status, 401, "its tokens ended when disabled");
        let second = app.login("city.second", STAFF_PASSWORD).await["access_token"].as_str().unwrap().to_owned();
        assert_eq!(app.post_as(&second, "/api/v1/admin/staff/city.admin/disable", &json!({})).await.status, 200);
        assert_eq!(login_status(&app, "city.admin", STAFF_PASSWORD).await, 401);
    }

    async fn the_audit_page_filters_pages_and_exports_as_the_api_does(app: TestApp) {
        let admin = setup(&app).await;
        let officer = app.login("officer.hk", STAFF_PASSWORD).await["access_token"].as_str().unwrap().to_owned();
        // Real entries: a code for a member of HK, a document of HK, a new committee.
        assert_eq!(app.post_as(&officer, "/api/v1/admin/members/100000001/activation-code", &json!({})).await.status, 201);
        let draft = json!({"title": "<script>alert('tiêu đề')</script>", "kind": "thong_bao", "section": "", "body": "x",
            "audience": {"committees": ["HK"]}});
        let document = app.post_as(&officer, "/api/v1/admin/documents", &draft).await.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(app.post_as(&admin, "/api/v1/admin/committees", &json!({"code": "CG", "name": "Cầu Giấy"})).await.status, 201);
        // Synthetic ones around a Hanoi midnight (2026-03-02 00:00 in Hanoi is 2026-03-01 17:00 UTC), 250 of
        // them for the paging, and some that a spreadsheet or a browser would run.
        let mut entries: Vec<Synthetic> = vec![
            (at("2026-03-01 16:59:59"), "officer.hk".into(), "officer", Some("HK"), "document.update", "before-midnight".into(), "{}".into()),
            (at("2026-03-01 17:00:00"), "officer.hk".into(), "officer", Some("HK"), "document.update", "after-midnight".into(), "{}".into()),
            (at("2026-03-02 16:59:59"), "officer.hk".into(), "officer", Some("HK"), "document.update", "end-of-day".into(), "{}".into()),
            (at("2026-03-02 17:00:00"), "officer.hk".into(), "officer", Some("HK"), "document.update", "next-day".into(), "{}".into()),
            (at("2026-02-01 10:00:00"), "=cmd|' /C calc'!A0".into(), "admin", None, "document.create",
                "<img src=x onerror=alert(1)>".into(), r#"{"title": "+SUM(1)", "name": "<b>tên</b>"}"#.into()),
        ];
        for n in 0..250 {
            let when = at("2026-01-01 00:00:00") + chrono::Duration::minutes(n);
            entries.push((when, "city.admin".into(), "admin", Some("BD"), "activation_code.issue", format!("4{n:08}"), "{}".into()));
        }
        insert_entries(&app, entries).await;
        let browser = sign_in(&app, "city.admin", STAFF_PASSWORD).await;

        // No filter: newest first, with labels and links.
        let page = assert_html_page(&app.send(browser.get("/dashboard/audit")).await, 200);
        for expected in ["Cấp mã kích hoạt", "Tạo đảng bộ", "Tạo tài liệu", r#"href="/dashboard/members/100000001""#,
            &format!(r#"href="/dashboard/documents/{document}""#), r#"href="/dashboard/committees/CG""#,
            r#"name="actor""#, r#"name="action""#, r#"name="target""#, r#"type="date" name="from""#, r#"name="to""#] {
            assert!(page.contains(expected), "{expected}: {page}");
        }
        assert!(page.contains("&lt;script&gt;alert('tiêu đề')&lt;/script&gt;") && !page.contains("<script>alert"), "{page}");
        let all = api_audit(&app, &admin, "").await;
        let first = audit_rows(&page);
        assert_eq!(first.len(), 100);
        assert_eq!(first, all[..100].iter().map(|e| e["at"].as_str().unwrap().to_owned()).collect::<Vec<_>>());

        // Paging: "older" links until the end, each row once, as the API lists them.
        let mut shown = first;
        let mut next = older_link(&page);
        while let Some(link) = next {
            let page = assert_html_page(&app.send(browser.get(&link)).await, 200);
            assert!(page.contains("« Mới nhất"));
            shown.extend(audit_rows(&page));
            next = older_link(&page);
        }
        assert_eq!(shown.len(), all.len());
        assert_eq!(shown, all.iter().map(|e| e["at"].as_str().unwrap().to_owned()).collect::<Vec<_>>());

        // Each filter, on the page, in the API and in the CSV file alike.
        let cases = [
            ("actor=Officer.HK", 4 + 2),
            ("action=committee.create", 1),
            ("target=100000001", 1),
            ("from=2026-03-02&to=2026-03-02", 2),
            ("to=2026-03-01", 251 + 1),
            ("actor=officer.hk&action=document.update&from=2026-03-01", 4),
            ("actor=nobody", 0),
        ];
        for (query, count) in cases {
            let api = api_audit(&app, &admin, query).await;
            assert_eq!(api.len(), count, "{query}: {api:?}");
            let page = assert_html_page(&app.send(browser.get(&format!("/dashboard/audit?{query}"))).await, 200);
            let rows = audit_rows(&page);
            assert_eq!(rows, api.iter().take(100).map(|e| e["at"].as_str().unwrap().to_owned()).collect::<Vec<_>>(), "{query}");
            assert!(page.contains(&format!(r#"href="/dashboard/audit.csv?{}""#, query.replace('&', "&amp;"))), "{query}: {page}");
            let csv = app.send(browser.get(&format!("/dashboard/audit.csv?{query}"))).await;
            assert_eq!(csv.status, 200, "{query}");
            assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
            assert_eq!(csv.header("cache-control"), Some("no-store"));
            let records = csv_records(&csv.body);
            assert_eq!(records[0], ["at", "actor", "actor_role", "committee_code", "action", "target", "detail"]);
            assert_eq!(records.len() - 1, count, "{query}");
            let targets: Vec<&str> = records[1..].iter().map(|r| r[5].as_str()).collect();
            assert_eq!(targets, api.iter().map(|e| e["target"].as_str().unwrap()).collect::<Vec<_>>(), "{query}");
        }
        let day = assert_html_page(&app.send(browser.get("/dashboard/audit?from=2026-03-02&to=2026-03-02")).await, 200);
        assert!(day.contains("after-midnight") && day.contains("end-of-day"), "{day}");
        assert!(!day.contains("before-midnight") && !day.contains("next-day"), "{day}");
        assert!(day.contains(r#"value="2026-03-02""#) && day.contains("Bỏ lọc"));
        let filtered = assert_html_page(&app.send(browser.get("/dashboard/audit?action=committee.create")).await, 200);
        assert!(filtered.contains(r#"<option value="committee.create" selected>Tạo đảng bộ</option>"#), "{filtered}");

        // Markup in targets, actors and details is text; no CSV cell starts a formula.
        let odd = assert_html_page(&app.send(browser.get("/dashboard/audit?action=document.create&to=2026-02-28")).await, 200);
        assert!(odd.contains("&lt;img src=x onerror=alert(1)&gt;") && !odd.contains("<img"), "{odd}");
        assert!(odd.contains("&lt;b&gt;tên&lt;/b&gt;") && !odd.contains("<b>tên"), "{odd}");
        let csv = app.send(browser.get("/dashboard/audit.csv")).await;
        let records = csv_records(&csv.body);
        assert_eq!(records.len() - 1, all.len());
        for cell in records.iter().flatten() {
            assert!(!cell.starts_with(FORMULA_STARTS), "the cell {cell:?} starts a formula");
        }
        assert!(records.iter().any(|r| r[1] == "'=cmd|' /C calc'!A0" && r[6].contains("+SUM(1)")), "{records:?}");

        // Dates that are not dates, or the wrong way round: the form again, in Vietnamese.
        let bad = app.send(browser.get("/dashboard/audit?from=02/03/2026&to=2026-13-01&actor=%3Cx%3E")).await;
        let page = assert_html_page(&bad, 422);
        assert!(page.contains("Ngày “từ” không hợp lệ") && page.contains("Ngày “đến” không hợp lệ"), "{page}");
        assert!(page.contains(r#"value="&lt;x&gt;""#) && !page.contains("<x>"), "{page}");
        let reversed = assert_html_page(&app.send(browser.get("/dashboard/audit?from=2026-03-02&to=2026-03-01")).await, 422);
        assert!(reversed.contains("Ngày “đến” không được trước ngày “từ”."), "{reversed}");
        assert_html_page(&app.send(browser.get("/dashboard/audit?after=bm90LWEta2V5")).await, 422);
        assert_html_page(&app.send(browser.get("/dashboard/audit.csv?from=x")).await, 400);
        app.get_as(&admin, "/api/v1/admin/audit?from=2026-03-02&to=2026-03-01").await.problem(422);
        app.get_as(&admin, "/api/v1/admin/audit?from=yesterday").await.problem(422);
    }

    async fn an_officer_sees_only_its_committees_audit_entries(app: TestApp) {
        let admin = setup(&app).await;
        assert_eq!(app.post_as(&admin, "/api/v1/admin/members/100000001/activation-code", &json!({})).await.status, 201);
        assert_eq!(app.post_as(&admin, "/api/v1/admin/members/100000004/activation-code", &json!({})).await.status, 201);
        let officer = sign_in(&app, "officer.hk", STAFF_PASSWORD).await;
        let page = assert_html_page(&app.send(officer.get("/dashboard/audit")).await, 200);
        assert!(page.contains("100000001") && !page.contains("100000004"), "{page}");
        assert!(page.contains("liên quan đến đảng bộ HK"), "{page}");
        // Whatever it types: another committee's entries do not exist for it.
        for query in ["target=100000004", "actor=city.admin&target=100000004", "action=activation_code.issue"] {
            let page = assert_html_page(&app.send(officer.get(&format!("/dashboard/audit?{query}"))).await, 200);
            let table = page.split("<tbody>").nth(1).unwrap_or_default().split("</tbody>").next().unwrap();
            assert!(!table.contains("100000004"), "{query}: {page}");
        }
        let csv = app.send(officer.get("/dashboard/audit.csv")).await;
        let records = csv_records(&csv.body);
        assert!(records.len() > 1);
        assert!(records[1..].iter().all(|r| r[3] == "HK"), "{records:?}");
        let token = app.login("officer.hk", STAFF_PASSWORD).await["access_token"].as_str().unwrap().to_owned();
        let api = api_audit(&app, &token, "").await;
        assert_eq!(api.len(), records.len() - 1);
        assert!(api_audit(&app, &token, "target=100000004").await.is_empty());
    }

    async fn changing_the_password_keeps_this_session_and_ends_the_others(app: TestApp) {
        setup(&app).await;
        let browser = sign_in(&app, "officer.hk", STAFF_PASSWORD).await;
        let other = app.login("officer.hk", STAFF_PASSWORD).await;
        let other_browser = sign_in(&app, "officer.hk", STAFF_PASSWORD).await;
        let page = assert_html_page(&app.send(browser.get("/dashboard/account")).await, 200);
        for expected in ["officer.hk", "Cán bộ đảng bộ", "Đảng bộ HK (HK)", r#"name="current_password""#, r#"name="new_password""#,
            r#"name="new_password_confirmation""#, r#"data-action="change-password""#, r#"data-action="sign-out-everywhere""#,
            "Lần đăng nhập gần nhất"] {
            assert!(page.contains(expected), "{expected}: {page}");
        }
        let change = |current: &str, new: &str, again: &str| {
            browser.post_form("/dashboard/account/password", &[("current_password", current), ("new_password", new),
                ("new_password_confirmation", again)])
        };
        let wrong = assert_html_page(&app.send(change("not my password", NEW_PASSWORD, NEW_PASSWORD)).await, 422);
        assert!(wrong.contains("Mật khẩu hiện tại không đúng.") && wrong.contains(r#"role="alert""#), "{wrong}");
        let mismatch = assert_html_page(&app.send(change(STAFF_PASSWORD, NEW_PASSWORD, "khác hẳn")).await, 422);
        assert!(mismatch.contains("Mật khẩu mới nhập lại không khớp."), "{mismatch}");
        let weak = assert_html_page(&app.send(change(STAFF_PASSWORD, "officer.hk", "officer.hk")).await, 422);
        assert!(weak.contains("Mật khẩu không được trùng với tên đăng nhập."), "{weak}");
        assert!(!weak.contains(STAFF_PASSWORD), "passwords are never shown again");
        assert_eq!(login_status(&app, "officer.hk", STAFF_PASSWORD).await, 200, "unchanged so far");

        let changed = app.send(change(STAFF_PASSWORD, NEW_PASSWORD, NEW_PASSWORD)).await;
        assert_eq!(changed.status, 303, "{}", changed.text());
        assert_eq!(changed.header("location"), Some("/dashboard/account?changed=1"));
        let page = assert_html_page(&app.send(browser.get("/dashboard/account?changed=1")).await, 200);
        assert!(page.contains("Đã đổi mật khẩu."), "{page}");
        assert!(refresh_works(&app, &browser.refresh).await, "this session's refresh family lives on");
        // Every other session ended: the API token, its refresh token, the other browser.
        assert_eq!(app.get_as(other["access_token"].as_str().unwrap(), "/api/v1/me").await.status, 401);
        assert!(!refresh_works(&app, other["refresh_token"].as_str().unwrap()).await);
        assert_eq!(app.send(other_browser.get("/dashboard")).await.status, 303);
        assert_eq!(login_status(&app, "officer.hk", STAFF_PASSWORD).await, 401);
        assert_eq!(login_status(&app, "officer.hk", NEW_PASSWORD).await, 200);
    }

    async fn signing_out_everywhere_ends_this_session_too(app: TestApp) {
        setup(&app).await;
        let browser = sign_in(&app, "officer.hk", STAFF_PASSWORD).await;
        let other = app.login("officer.hk", STAFF_PASSWORD).await;
        let bystander = sign_in(&app, "officer.bd", STAFF_PASSWORD).await;
        let answer = app.send(browser.post_form("/dashboard/account/sign-out-everywhere", &[])).await;
        assert_eq!(answer.status, 303, "{}", answer.text());
        assert_eq!(answer.header("location"), Some("/dashboard/login"));
        let cleared = set_cookies(&answer);
        assert_eq!(cleared.len(), 3, "{cleared:?}");
        assert!(cleared.iter().all(|c| c.value().is_empty()), "{cleared:?}");
        assert_eq!(app.send(browser.get("/dashboard")).await.status, 303);
        assert!(!refresh_works(&app, &browser.refresh).await);
        assert_eq!(app.get_as(other["access_token"].as_str().unwrap(), "/api/v1/me").await.status, 401);
        assert!(!refresh_works(&app, other["refresh_token"].as_str().unwrap()).await);
        assert_html_page(&app.send(bystander.get("/dashboard")).await, 200);
        // Signing in again works.
        assert_eq!(login_status(&app, "officer.hk", STAFF_PASSWORD).await, 200);

        // The API's own route does the same.
        let tokens = app.login("officer.bd", STAFF_PASSWORD).await;
        let access = tokens["access_token"].as_str().unwrap();
        let answer = app.post_as(access, "/api/v1/auth/logout-all", &json!({})).await;
        assert_eq!(answer.status, 204, "{}", answer.text());
        assert_eq!(app.get_as(access, "/api/v1/me").await.status, 401);
        assert!(!refresh_works(&app, tokens["refresh_token"].as_str().unwrap()).await);
        assert_eq!(app.send(bystander.get("/dashboard")).await.status, 303, "every session of officer.bd");
        assert_eq!(app.post_json("/api/v1/auth/logout-all", &json!({})).await.status, 401);
    }

    async fn every_form_needs_the_sessions_csrf_token(app: TestApp) {
        setup(&app).await;
        let admin = sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let officer = sign_in(&app, "officer.hk", STAFF_PASSWORD).await;
        let forms: [(&Console, &str, Fields); 6] = [
            (&admin, "/dashboard/staff", vec![("login", "officer.csrf"), ("role", "officer"), ("committee_code", "HK"), ("password", "một cụm từ đủ dài")]),
            (&admin, "/dashboard/staff/officer.bd/disable", vec![]),
            (&admin, "/dashboard/staff/officer.bd/enable", vec![]),
            (&admin, "/dashboard/staff/officer.bd/password-reset", vec![]),
            (&officer, "/dashboard/account/password", vec![("current_password", STAFF_PASSWORD), ("new_password", NEW_PASSWORD), ("new_password_confirmation", NEW_PASSWORD)]),
            (&officer, "/dashboard/account/sign-out-everywhere", vec![]),
        ];
        for (browser, path, fields) in &forms {
            for token in ["", "forged", admin.csrf.as_str(), officer.csrf.as_str()] {
                if token == browser.csrf {
                    continue;
                }
                let stale = Console { csrf: token.to_owned(), ..(*browser).clone() };
                let answer = app.send(stale.post_form(path, fields)).await;
                let page = assert_html_page(&answer, 403);
                assert!(page.contains("Vui lòng tải lại trang"), "{path} {token:?}: {page}");
            }
            let foreign = browser.post_form(path, fields).insert_header((header::ORIGIN, "http://evil.test"));
            assert_html_page(&app.send(foreign).await, 403);
        }
        // Nothing happened.
        assert_eq!(login_status(&app, "officer.csrf", "một cụm từ đủ dài").await, 401);
        assert_eq!(login_status(&app, "officer.bd", STAFF_PASSWORD).await, 200);
        assert_eq!(login_status(&app, "officer.hk", STAFF_PASSWORD).await, 200);
        assert_html_page(&app.send(officer.get("/dashboard/account")).await, 200);
        assert_html_page(&app.send(admin.get("/dashboard/staff")).await, 200);
    }
}

async fn refresh_works(app: &TestApp, refresh_token: &str) -> bool {
    app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": refresh_token})).await.status == 200
}
