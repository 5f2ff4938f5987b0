//! The console's members, import and activation slips (in process, both backends): search and filters through the
//! API's list, a member's page and a new code shown once, the CSV import with its dry run and the kept file, the
//! printable slips with their QR payloads; scope (another committee's officer: 404), CSRF, escaping and the audit.

use actix_web::http::header;
use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::harness::console::{assert_html_page, Console};
use crate::harness::{Answer, TestApp, STAFF_PASSWORD};

/// A staff account of the given role, signed in to the console.
async fn console(app: &TestApp, login: &str, role: &str, committee: Option<&str>) -> (String, Console) {
    let token = app.staff_token(login, role, committee).await;
    (token, Console::sign_in(app, login, STAFF_PASSWORD).await)
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

/// The card numbers a members page lists, in order (from the links of the card column).
fn cards_listed(html: &str) -> Vec<String> {
    html.split(r#"<td><a href="/dashboard/members/"#)
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

/// The audit log as the admin reads it through the API: (action, target, committee), newest first.
async fn audit(app: &TestApp, admin: &str) -> Vec<(String, String, Value)> {
    let answer = app.get_as(admin, "/api/v1/admin/audit?limit=1000").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["target"].as_str().unwrap().to_owned(),
                e["committee_code"].clone(),
            )
        })
        .collect()
}

/// The card numbers of the members page with this query.
async fn listed(app: &TestApp, browser: &Console, query: &str) -> Vec<String> {
    let answer = app.send(browser.get(&format!("/dashboard/members{query}"))).await;
    cards_listed(&assert_html_page(&answer, 200))
}

async fn member_count(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) AS n FROM members").await
}

/// A POST with the session's cookies and a body of its own (no CSRF token unless the body has one).
fn raw_post(console: &Console, path: &str, body: &str) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header((header::COOKIE, console.header()))
        .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
        .set_payload(body.to_owned())
}

/// The text between `start` and the next `end` after it.
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let at = html.find(start).unwrap_or_else(|| panic!("{start} is not on the page")) + start.len();
    &html[at..at + html[at..].find(end).unwrap()]
}

async fn activate(app: &TestApp, card_number: &str, code: &str) -> Answer {
    let body = json!({"card_number": card_number, "activation_code": code, "new_password": "một mật khẩu mới"});
    app.post_json("/api/v1/auth/activate", &body).await
}

both_backends! {
    async fn search_with_or_without_diacritics_by_card_and_filters(app: TestApp) {
        let admin = app.imported_organisation().await;
        let (_, browser) = console(&app, "city.clerk", "admin", None).await;
        let list = |query: &'static str| listed(&app, &browser, query);
        assert_eq!(list("").await, ["100000001", "100000002", "100000003", "100000004"]);
        assert_eq!(list("?q=nguyen+van+a").await, ["100000001"]);
        assert_eq!(list("?q=Nguy%E1%BB%85n").await, ["100000001"], "with diacritics");
        assert_eq!(list("?q=TR%E1%BA%A6N+th%E1%BB%8B").await, ["100000002"], "TRẦN thị");
        assert_eq!(list("?q=00000003").await, ["100000003"], "part of a card number");
        assert_eq!(list("?committee=BD").await, ["100000003", "100000004"]);
        assert_eq!(list("?committee=bd&status=exempt").await, ["100000003"]);
        assert_eq!(list("?status=eligible&q=van").await, ["100000001"]);

        app.activate_member(&admin, "100000004", "member password").await;
        assert_eq!(list("?activated=true").await, ["100000004"]);
        assert_eq!(list("?activated=false&committee=BD").await, ["100000003"]);
        let member = app.login("100000004", "member password").await["access_token"].as_str().unwrap().to_owned();
        let registered = app.register_installation(&member, "7d1c7a34-4d0c-4f6b-9a8e-1f2b3c4d5e6f").await;
        assert_eq!(registered.status, 201, "{}", registered.text());
        assert_eq!(list("?installed=true").await, ["100000004"]);
        assert_eq!(list("?installed=false&status=eligible").await, ["100000001", "100000002"]);
        // Values that mean nothing filter nothing; a forged cursor is a page that says so, not a JSON problem.
        assert_eq!(list("?status=whatever&installed=perhaps").await.len(), 4);
        let forged = app.send(browser.get("/dashboard/members?after=%25%25%25")).await;
        assert!(assert_html_page(&forged, 400).contains("Địa chỉ trang không hợp lệ"));

        // The filters are the API's: the same members, in the same order.
        let api = app.get_as(&admin, "/api/v1/admin/members?q=van&status=eligible").await.json();
        let api: Vec<&str> = api["items"].as_array().unwrap().iter().map(|m| m["card_number"].as_str().unwrap()).collect();
        assert_eq!(list("?q=van&status=eligible").await, api);

        // An officer sees its committee only, whatever it asks for.
        let (_, officer) = console(&app, "officer.hk", "officer", Some("HK")).await;
        let page = app.send(officer.get("/dashboard/members?committee=BD")).await;
        let html = assert_html_page(&page, 200);
        assert_eq!(cards_listed(&html), ["100000001", "100000002"]);
        assert!(!html.contains(r#"name="committee""#), "an officer has no committee to choose");
        assert!(html.contains(r#"href="/dashboard/committees/HK/slips""#), "the slips of its committee are linked");
        let page = app.send(officer.get("/dashboard/members?q=pham")).await;
        assert!(cards_listed(&assert_html_page(&page, 200)).is_empty(), "Phạm Thị Dung is BD's");
    }

    async fn the_list_is_paged_by_card_number(app: TestApp) {
        let admin = app.imported_organisation().await;
        let mut csv = String::from("card_number,full_name,committee_code,unit,cell,status\n");
        for n in 0..60 {
            csv.push_str(&format!("2000000{n:02},Đảng viên {n},HK,Phường Hàng Đào,Chi bộ 3,eligible\n"));
        }
        app.import(&admin, &csv).await;
        let (_, browser) = console(&app, "city.clerk", "admin", None).await;
        let first = assert_html_page(&app.send(browser.get("/dashboard/members?committee=HK")).await, 200);
        let cards = cards_listed(&first);
        assert_eq!(cards.len(), 50);
        assert_eq!(cards[..3], ["100000001", "100000002", "200000000"]);
        assert!(first.contains("còn trang sau"));
        let next = between(&first, r#"<a rel="next" href=""#, "\"").replace("&amp;", "&");
        assert!(next.starts_with("/dashboard/members?committee=HK&after="), "{next}");
        let second = assert_html_page(&app.send(browser.get(&next)).await, 200);
        let rest = cards_listed(&second);
        assert_eq!(rest.len(), 12);
        assert_eq!(rest.last().unwrap(), "200000059");
        assert!(!second.contains(r#"rel="next""#));
        assert!(second.contains("Trang đầu"));
    }

    async fn a_member_page_issues_a_code_shown_once_and_audited(app: TestApp) {
        let admin = app.imported_organisation().await;
        let (_, officer) = console(&app, "officer.hk", "officer", Some("HK")).await;
        let page = assert_html_page(&app.send(officer.get("/dashboard/members/100000001")).await, 200);
        for fact in ["Nguyễn Văn A", "100000001", "Đảng bộ HK (HK)", "Phường Hàng Bạc", "Chi bộ 1", "Đủ điều kiện",
            "Chưa kích hoạt", "Chưa có thiết bị nào", r#"action="/dashboard/members/100000001/activation-code""#,
            r#"data-action="activation-code""#]
        {
            assert!(page.contains(fact), "{fact} missing from the member page");
        }
        assert!(!page.contains(r#"class="once""#));

        let issued = app.send(officer.post_form("/dashboard/members/100000001/activation-code", &[])).await;
        let html = assert_html_page(&issued, 200);
        assert_eq!(count(&html, r#"<code class="once">"#), 1, "{html}");
        let code = between(&html, r#"<code class="once">"#, "<").to_owned();
        assert_eq!(code.len(), 23, "{code}");
        assert!(html.contains("Hết hạn lúc"));
        // Shown once: the page fetched again has no code.
        let again = assert_html_page(&app.send(officer.get("/dashboard/members/100000001")).await, 200);
        assert!(!again.contains(&code) && !again.contains(r#"class="once""#));
        // The code is a real one, issued through the API's function (and audited like it).
        assert_eq!(activate(&app, "100000001", &code).await.status, 200);
        let entries = audit(&app, &admin).await;
        assert_eq!(entries[0], ("activation_code.issue".to_owned(), "100000001".to_owned(), json!("HK")));

        // An activated member: the page warns that a new code resets the password; the member's devices are listed.
        let member = app.login("100000001", "một mật khẩu mới").await["access_token"].as_str().unwrap().to_owned();
        let registered = app.register_installation(&member, "6f9c1b2a-3d4e-4f50-8a1b-2c3d4e5f6a7b").await;
        assert_eq!(registered.status, 201);
        let page = assert_html_page(&app.send(officer.get("/dashboard/members/100000001")).await, 200);
        for fact in ["Đã kích hoạt lúc", "đặt lại mật khẩu", "data-confirm=", "Android", "1.0"] {
            assert!(page.contains(fact), "{fact} missing from an activated member's page");
        }
        let issued = app.send(officer.post_form("/dashboard/members/100000001/activation-code", &[])).await;
        assert_html_page(&issued, 200);
        assert_eq!(app.post_json("/api/v1/auth/login", &json!({"login": "100000001", "password": "một mật khẩu mới"})).await.status, 401,
            "the old password is reset at once");

        // No CSRF token, or a wrong one: 403 and no code.
        let before = audit(&app, &admin).await.len();
        let bare = app.send(raw_post(&officer, "/dashboard/members/100000002/activation-code", "")).await;
        assert_html_page(&bare, 403);
        let wrong = app.send(raw_post(&officer, "/dashboard/members/100000002/activation-code", "csrf=forged")).await;
        assert_html_page(&wrong, 403);
        assert_eq!(audit(&app, &admin).await.len(), before);

        // Another committee's officer: the member does not exist for it.
        let (_, other) = console(&app, "officer.bd", "officer", Some("BD")).await;
        assert_html_page(&app.send(other.get("/dashboard/members/100000002")).await, 404);
        let refused = app.send(other.post_form("/dashboard/members/100000002/activation-code", &[])).await;
        assert_html_page(&refused, 404);
        assert_html_page(&app.send(other.get("/dashboard/members/999999999")).await, 404);
        assert_eq!(audit(&app, &admin).await.len(), before);
    }

    async fn a_member_who_left_gets_no_code(app: TestApp) {
        let admin = app.imported_organisation().await;
        app.import(&admin, "card_number,full_name,committee_code,unit,cell,status\n100000002,Trần Thị Bình,HK,Phường Hàng Bạc,Chi bộ 2,left\n").await;
        let (_, browser) = console(&app, "city.clerk", "admin", None).await;
        let page = assert_html_page(&app.send(browser.get("/dashboard/members/100000002")).await, 200);
        assert!(page.contains("Đã rời") && !page.contains(r#"data-action="activation-code""#));
        let refused = app.send(browser.post_form("/dashboard/members/100000002/activation-code", &[])).await;
        let html = assert_html_page(&refused, 409);
        assert!(html.contains(r#"class="errors" role="alert""#) && !html.contains(r#"class="once""#));
    }

    async fn markup_in_names_is_shown_as_text(app: TestApp) {
        let admin = app.imported_organisation().await;
        let csv = "card_number,full_name,committee_code,unit,cell,status\n\
                   300000001,<script>alert(1)</script>,HK,<b>Đơn vị</b>,<img src=x onerror=alert(2)>,eligible\n";
        app.import(&admin, csv).await;
        let (_, browser) = console(&app, "city.clerk", "admin", None).await;
        let slips = app.send(browser.post_form("/dashboard/committees/HK/slips", &[])).await;
        let preview = app.send(browser.post_multipart("/dashboard/members/import", &[("mode", "dry-run")],
            &[("file", "x.csv", "text/csv", csv.replace("300000001", "300000002").as_bytes())])).await;
        let pages = [
            ("list", app.send(browser.get("/dashboard/members?q=script")).await),
            ("member", app.send(browser.get("/dashboard/members/300000001")).await),
            ("slips", slips),
            ("import preview", preview),
        ];
        for (name, answer) in pages {
            let html = assert_html_page(&answer, 200);
            assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{name}: {html}");
            assert!(!html.contains("<script>alert") && !html.contains("<img src=x") && !html.contains("<b>Đơn"), "{name}");
        }
    }

    async fn a_bad_file_is_refused_in_vietnamese_then_the_fixed_one_imports(app: TestApp) {
        let admin = app.imported_organisation().await;
        let (_, officer) = console(&app, "officer.hk", "officer", Some("HK")).await;
        let form = assert_html_page(&app.send(officer.get("/dashboard/members/import")).await, 200);
        for hook in [r#"enctype="multipart/form-data""#, "data-progress", r#"data-action="dry-run""#,
            r#"data-action="import""#, r#"type="file" name="file""#, "<progress hidden", "data-progress-status",
            r#"<label for="file">"#]
        {
            assert!(form.contains(hook), "{hook} missing from the import form");
        }
        // The CSRF token comes before the file, so that the server reads it first.
        assert!(form.find(r#"name="csrf""#).unwrap() < form.find(r#"name="file""#).unwrap());

        let bad = "card_number,full_name,committee_code,unit,cell,status\n\
                   400000001,Hoàng Văn Em,HK,Phường Hàng Trống,Chi bộ 1,eligible\n\
                   400000002,Vũ Thị Phương,HK,Phường Hàng Trống,Chi bộ 1,retired\n\
                   400000003,Đỗ Văn Giang,BD,Phường Kim Mã,Chi bộ 1,eligible\n";
        let members = member_count(&app).await;
        let dry = app.send(officer.post_multipart("/dashboard/members/import", &[("mode", "dry-run")],
            &[("file", "danh-sach.csv", "text/csv", bad.as_bytes())])).await;
        let html = assert_html_page(&dry, 422);
        assert!(html.contains("Tệp có 2 lỗi"), "{html}");
        assert!(html.contains(r#"<td class="num">3</td><td>Trạng thái <code>status</code></td><td class="problem">Trạng thái phải là eligible"#), "{html}");
        assert!(html.contains(r#"<td class="num">4</td><td>Mã đảng bộ <code>committee_code</code></td><td class="problem">Đảng viên không thuộc đảng bộ của bạn."#), "{html}");
        assert!(!html.contains("must be") && !html.contains("outside your committee"), "no English for the officer");
        // "Import" with errors: the same list, nothing written either.
        let refused = app.send(officer.post_multipart("/dashboard/members/import", &[("mode", "import")],
            &[("file", "danh-sach.csv", "text/csv", bad.as_bytes())])).await;
        assert!(assert_html_page(&refused, 422).contains("không đảng viên nào được thêm hay sửa"));
        assert_eq!(member_count(&app).await, members);

        // The fixed file: the dry run says what would happen and keeps the file for "Nhập".
        let fixed = "card_number,full_name,committee_code,unit,cell,status\n\
                     400000001,Hoàng Văn Em,HK,Phường Hàng Trống,Chi bộ 1,eligible\n\
                     400000002,Vũ Thị Phương,HK,Phường Hàng Trống,Chi bộ 1,exempt\n\
                     100000001,Nguyễn Văn A,HK,Phường Hàng Bạc,Chi bộ 1,eligible\n\
                     100000002,Trần Thị Bình,HK,Phường Hàng Bạc,Chi bộ 3,eligible\n";
        let dry = app.send(officer.post_multipart("/dashboard/members/import", &[("mode", "dry-run")],
            &[("file", "danh-sach.csv", "text/csv", fixed.as_bytes())])).await;
        let html = assert_html_page(&dry, 200);
        assert_eq!(member_count(&app).await, members, "a dry run writes nothing");
        let value = |label: &str| between(&html, &format!(r#"<span class="label">{label}</span><span class="value">"#), "<").to_owned();
        assert_eq!((value("Sẽ thêm mới"), value("Sẽ cập nhật"), value("Không thay đổi")), ("2".into(), "1".into(), "1".into()));
        assert!(html.contains("Hoàng Văn Em") && html.contains("<del>Chi bộ 2</del> → <ins>Chi bộ 3</ins>"), "{html}");
        let action = between(&html, r#"<form method="post" action="/dashboard/members/import/"#, "\"").to_owned();
        assert!(html.contains(&format!(r#"action="/dashboard/members/import/{action}" enctype="multipart/form-data" data-progress>"#)));
        assert_eq!(action.len(), 32, "{action}");
        let kept_path = format!("/dashboard/members/import/{action}");
        let kept: Vec<_> = std::fs::read_dir(app.state.settings.data_dir.join("imports")).unwrap().flatten().collect();
        assert_eq!(kept.len(), 1);
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(kept[0].metadata().unwrap().permissions().mode() & 0o777, 0o600);
        }

        // Another officer cannot import that file, nor without the token.
        let (_, other) = console(&app, "officer.bd", "officer", Some("BD")).await;
        assert_html_page(&app.send(other.post_multipart(&kept_path, &[], &[])).await, 410);
        assert_html_page(&app.send(raw_post(&officer, &kept_path, "")).await, 403);
        assert_eq!(member_count(&app).await, members);

        // "Nhập" without uploading again: all of it, then the notice (Post/Redirect/Get).
        let done = app.send(officer.post_multipart(&kept_path, &[], &[])).await;
        assert_eq!(done.status, 303, "{}", done.text());
        let location = done.header("location").unwrap().to_owned();
        assert_eq!(location, "/dashboard/members/import?created=2&updated=1&unchanged=1");
        let notice = assert_html_page(&app.send(officer.get(&location)).await, 200);
        assert!(notice.contains("Đã nhập xong: 2 đảng viên mới, 1 cập nhật, 1 không thay đổi."), "{notice}");
        assert_eq!(member_count(&app).await, members + 2);
        let api = app.get_as(&admin, "/api/v1/admin/members/100000002").await.json();
        assert_eq!(api["cell"], "Chi bộ 3");
        let entries = audit(&app, &admin).await;
        assert_eq!(entries[0], ("members.import".to_owned(), "members".to_owned(), json!("HK")));
        // The kept file is gone once imported.
        assert_html_page(&app.send(officer.post_multipart(&kept_path, &[], &[])).await, 410);
        assert_eq!(std::fs::read_dir(app.state.settings.data_dir.join("imports")).unwrap().count(), 0);

        // "Nhập ngay" straight from the form.
        let straight = "card_number,full_name,committee_code,unit,cell,status\n400000009,Lý Thị Hoa,HK,Phường Hàng Trống,Chi bộ 2,eligible\n";
        let done = app.send(officer.post_multipart("/dashboard/members/import", &[("mode", "import")],
            &[("file", "them.csv", "text/csv", straight.as_bytes())])).await;
        assert_eq!(done.header("location"), Some("/dashboard/members/import?created=1&updated=0&unchanged=0"));
        assert_eq!(member_count(&app).await, members + 3);
        assert_eq!(std::fs::read_dir(app.state.settings.data_dir.join("imports")).unwrap().count(), 0);

        // An officer of BD cannot import rows of HK, nor take over HK's members.
        let hk_rows = "card_number,full_name,committee_code,unit,cell,status\n\
                       400000010,Mai Văn Khánh,HK,Phường Hàng Trống,Chi bộ 1,eligible\n";
        let refused = app.send(other.post_multipart("/dashboard/members/import", &[("mode", "dry-run")],
            &[("file", "hk.csv", "text/csv", hk_rows.as_bytes())])).await;
        assert!(assert_html_page(&refused, 422).contains("Đảng viên không thuộc đảng bộ của bạn."));
        let takeover = "card_number,full_name,committee_code,unit,cell,status\n\
                        100000001,Nguyễn Văn A,BD,Phường Kim Mã,Chi bộ 1,eligible\n";
        let refused = app.send(other.post_multipart("/dashboard/members/import", &[("mode", "import")],
            &[("file", "bd.csv", "text/csv", takeover.as_bytes())])).await;
        let html = assert_html_page(&refused, 422);
        assert!(html.contains(r#"<td class="num">2</td>"#) && html.contains("thuộc đảng bộ khác"), "{html}");
        assert_eq!(member_count(&app).await, members + 3);
    }

    async fn uploads_need_a_file_the_token_and_respect_the_limit(app: TestApp) {
        app.imported_organisation().await;
        let (_, browser) = console(&app, "city.clerk", "admin", None).await;
        let none = app.send(browser.post_multipart("/dashboard/members/import", &[("mode", "dry-run")], &[])).await;
        assert!(assert_html_page(&none, 422).contains("Hãy chọn một tệp CSV"));
        let mut forged = browser.clone();
        forged.csrf = "forged".into();
        let csv = b"card_number,full_name,committee_code,unit,cell,status\n";
        let refused = app.send(forged.post_multipart("/dashboard/members/import", &[("mode", "import")],
            &[("file", "a.csv", "text/csv", csv)])).await;
        assert_html_page(&refused, 403);
        let announced = browser
            .post_multipart("/dashboard/members/import", &[], &[("file", "a.csv", "text/csv", csv)])
            .insert_header((header::CONTENT_LENGTH, (129u64 << 20).to_string()));
        let too_large = app.send(announced).await;
        assert!(assert_html_page(&too_large, 413).contains("128 MiB"));
        let empty = app.send(browser.post_multipart("/dashboard/members/import", &[("mode", "dry-run")],
            &[("file", "a.csv", "text/csv", b"\n")])).await;
        assert!(assert_html_page(&empty, 422).contains("Tệp trống"));
    }

    async fn slips_are_printed_for_the_members_not_activated(app: TestApp) {
        let admin = app.imported_organisation().await;
        let (_, officer) = console(&app, "officer.hk", "officer", Some("HK")).await;
        app.activate_member(&admin, "100000001", "member password").await;

        // The committee page and the admins' list lead here; an officer's list is its own committee.
        let committee = assert_html_page(&app.send(officer.get("/dashboard/committees/HK")).await, 200);
        assert!(committee.contains(r#"href="/dashboard/committees/HK/slips""#));
        let own = app.send(officer.get("/dashboard/slips")).await;
        assert_eq!((own.status.as_u16(), own.header("location")), (303, Some("/dashboard/committees/HK/slips")));
        let (_, browser) = console(&app, "city.clerk", "admin", None).await;
        let list = assert_html_page(&app.send(browser.get("/dashboard/slips")).await, 200);
        assert!(list.contains(r#"href="/dashboard/committees/BD/slips""#) && list.contains(r#"href="/dashboard/committees/HK/slips""#));

        // Looking issues nothing.
        let form = assert_html_page(&app.send(officer.get("/dashboard/committees/HK/slips")).await, 200);
        assert!(form.contains(r#"data-action="slips""#) && form.contains("Cấp mã và in 1 phiếu"), "{form}");
        assert!(!form.contains("HBACT1"));
        let before = audit(&app, &admin).await.len();

        let printed = app.send(officer.post_form("/dashboard/committees/HK/slips", &[])).await;
        let html = assert_html_page(&printed, 200);
        assert_eq!(count(&html, r#"<article class="slip""#), 1, "one slip per eligible member not activated");
        assert_eq!(count(&html, "<svg "), 1);
        let payload = between(&html, r#"data-payload=""#, "\"").to_owned();
        let parts: Vec<&str> = payload.split(':').collect();
        assert_eq!(parts[..2], ["HBACT1", "100000002"], "{payload}");
        assert!(html.contains(&format!(r#"Mã kích hoạt: <code>{}</code>"#, parts[2])), "the code is printed too");
        assert!(html.contains(r#"<div class="sheet">"#) && html.contains("Trần Thị Bình"));
        assert!(!html.contains("style="), "no inline style");
        assert_eq!(activate(&app, "100000002", parts[2]).await.status, 200, "the QR code's code works");
        let entries = audit(&app, &admin).await;
        assert_eq!(entries.len(), before + 1);
        assert_eq!(entries[0], ("activation_codes.issue".to_owned(), "HK".to_owned(), json!("HK")));

        // Twelve more in BD, two cells: the admin prints a cell, then the committee on two sheets.
        let mut csv = String::from("card_number,full_name,committee_code,unit,cell,status\n");
        for n in 0..12 {
            csv.push_str(&format!("5000000{n:02},Đảng viên {n},BD,Phường Kim Mã,Chi bộ {},eligible\n", 2 + n % 2));
        }
        app.import(&admin, &csv).await;
        let narrowed = assert_html_page(&app.send(browser.get("/dashboard/committees/BD/slips?unit=Ph%C6%B0%E1%BB%9Dng+Kim+M%C3%A3&cell=Chi+b%E1%BB%99+2")).await, 200);
        assert!(narrowed.contains("Cấp mã và in 6 phiếu"), "{narrowed}");
        let cell = app.send(browser.post_form("/dashboard/committees/BD/slips", &[("unit", "Phường Kim Mã"), ("cell", "Chi bộ 2")])).await;
        let html = assert_html_page(&cell, 200);
        assert_eq!(count(&html, r#"<article class="slip""#), 6);
        assert!(html.matches(r#"data-payload="HBACT1:5000000"#).count() == 6);
        let whole = app.send(browser.post_form("/dashboard/committees/BD/slips", &[])).await;
        let html = assert_html_page(&whole, 200);
        // Phạm Thị Dung (100000004) and the twelve: 13 slips, ten to a sheet.
        assert_eq!(count(&html, r#"<article class="slip""#), 13);
        assert_eq!(count(&html, r#"<div class="sheet">"#), 2);
        assert_eq!(count(&html, "data-payload=\"HBACT1:"), 13);

        // Another committee's officer: 404 on the page and on the form; a missing token: 403.
        let (_, other) = console(&app, "officer.bd", "officer", Some("BD")).await;
        assert_html_page(&app.send(other.get("/dashboard/committees/HK/slips")).await, 404);
        assert_html_page(&app.send(other.post_form("/dashboard/committees/HK/slips", &[])).await, 404);
        assert_html_page(&app.send(raw_post(&other, "/dashboard/committees/BD/slips", "")).await, 403);
        assert_html_page(&app.send(browser.get("/dashboard/committees/NOPE/slips")).await, 404);
        assert_eq!(audit(&app, &admin).await.len(), before + 4);
    }
}
