//! The documents console (`/dashboard/documents`) in process, on both backends: the list with its filters and
//! search, the editor (drafts, Vietnamese errors, preview, attachments, reach, publish, delivery, unpublish),
//! revisions with their diff and restore, and the scope (an officer of another committee gets 404 everywhere).

use crate::harness::console::{assert_html_page, Console};
use crate::harness::{Answer, SyncClient, TestApp, MEMBERS_CSV, STAFF_PASSWORD};
use diesel::prelude::*;
use serde_json::json;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// HK and BD with MEMBERS_CSV, the city admin, an officer of each committee; answers the admin's bearer token.
async fn setup(app: &TestApp) -> String {
    app.seed_committees(&["HK", "BD"]).await;
    let admin = app.admin_token().await;
    app.import(&admin, MEMBERS_CSV).await;
    app.staff_token("officer.hk", "officer", Some("HK")).await;
    app.staff_token("officer.bd", "officer", Some("BD")).await;
    admin
}

async fn console(app: &TestApp, login: &str) -> Console {
    Console::sign_in(app, login, STAFF_PASSWORD).await
}

async fn page(app: &TestApp, browser: &Console, path: &str) -> String {
    assert_html_page(&app.send(browser.get(path)).await, 200)
}

/// The id in a redirect to a document's page.
fn document_id(answer: &Answer) -> String {
    assert_eq!(answer.status, 303, "{}", answer.text());
    let location = answer.header("location").expect("a redirect");
    let rest = location.strip_prefix("/dashboard/documents/").unwrap_or_else(|| panic!("{location}"));
    rest.split(['?', '/', '#']).next().unwrap().to_owned()
}

/// Saves a new draft with the editor's form; answers its id.
async fn create(app: &TestApp, browser: &Console, fields: &[(&str, &str)]) -> String {
    let mut all = vec![("action", "save")];
    all.extend_from_slice(fields);
    let answer = app.send(browser.post_form("/dashboard/documents/new", &all)).await;
    let id = document_id(&answer);
    assert_eq!(answer.header("location"), Some(format!("/dashboard/documents/{id}?saved=1").as_str()));
    id
}

/// Saves the form of an existing document and publishes it; answers where it led.
async fn publish(app: &TestApp, browser: &Console, id: &str, fields: &[(&str, &str)]) -> String {
    let mut all = vec![("action", "publish")];
    all.extend_from_slice(fields);
    let answer = app.send(browser.post_form(&format!("/dashboard/documents/{id}"), &all)).await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    answer.header("location").unwrap().to_owned()
}

/// The text of the first element after `marker` (e.g. `data-reach="eligible">`).
fn after<'a>(html: &'a str, marker: &str) -> &'a str {
    let at = html.find(marker).unwrap_or_else(|| panic!("{marker} is not on the page:\n{html}")) + marker.len();
    html[at..].split('<').next().unwrap()
}

fn count_of(html: &str, marker: &str) -> i64 {
    after(html, marker).replace('.', "").trim().parse().unwrap_or_else(|_| panic!("{marker}: {}", after(html, marker)))
}

async fn audits(app: &TestApp, action: &'static str) -> i64 {
    let action = action.to_owned();
    app.db()
        .run(move |conn| {
            use handbook::db::schema::audit_log as a;
            Ok(a::table.filter(a::action.eq(action)).count().get_result::<i64>(conn)?)
        })
        .await
        .unwrap()
}

/// (title, body, attachments) of a document's draft.
async fn stored(app: &TestApp, id: &str) -> (String, String, String) {
    let id = id.to_owned();
    app.db()
        .run(move |conn| {
            use handbook::db::schema::documents as d;
            Ok(d::table.find(id).select((d::title, d::body, d::attachments)).get_result(conn)?)
        })
        .await
        .unwrap()
}

/// The audience's eligible members and devices as the coverage counters hold them (committee rows).
async fn counters(app: &TestApp, codes: &[&str]) -> (i64, i64) {
    let codes: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
    app.db()
        .run(move |conn| {
            use handbook::db::schema::coverage_counts as cc;
            let rows: Vec<(i64, i64)> = cc::table
                .filter(cc::unit.eq(""))
                .filter(cc::cell.eq(""))
                .filter(cc::committee_code.eq_any(codes))
                .select((cc::eligible, cc::devices))
                .load(conn)?;
            Ok(rows.into_iter().fold((0, 0), |(e, d), (re, rd)| (e + re, d + rd)))
        })
        .await
        .unwrap()
}

both_backends! {
    async fn the_list_filters_and_finds_titles_with_or_without_diacritics(app: TestApp) {
        let admin = setup(&app).await;
        let browser = console(&app, "city.admin").await;
        let resolution = create(&app, &browser, &[("title", "Nghị quyết về chuyển đổi số"), ("kind", "nghi_quyet"),
            ("section", "Nghị quyết"), ("body", "Nội dung"), ("all", "true")]).await;
        publish(&app, &browser, &resolution, &[("title", "Nghị quyết về chuyển đổi số"), ("kind", "nghi_quyet"),
            ("section", "Nghị quyết"), ("body", "Nội dung"), ("all", "true")]).await;
        create(&app, &browser, &[("title", "Thông báo lịch họp chi bộ"), ("kind", "thong_bao"), ("section", "Thông báo"),
            ("body", "Họp lúc 8 giờ"), ("committees", "HK")]).await;
        // An officer's own document, made through the API.
        let officer_bd = app.login("officer.bd", STAFF_PASSWORD).await["access_token"].as_str().unwrap().to_owned();
        let created = app.post_as(&officer_bd, "/api/v1/admin/documents", &json!({"title": "Kế hoạch của Ba Đình",
            "kind": "huong_dan", "section": "", "body": "x", "audience": {"committees": ["BD"]}})).await;
        assert_eq!(created.status, 201, "{}", created.text());

        let all = page(&app, &browser, "/dashboard/documents").await;
        for text in ["Nghị quyết về chuyển đổi số", "Thông báo lịch họp chi bộ", "Kế hoạch của Ba Đình",
            r#"href="/dashboard/documents/new""#, "Soạn tài liệu mới", "Đang đăng", "Bản nháp", "Nghị quyết", "Thông báo"]
        {
            assert!(all.contains(text), "{text} missing from the list");
        }
        for (query, shown, hidden) in [
            ("q=nghi+quyet", "Nghị quyết về chuyển đổi số", "Thông báo lịch họp"),
            ("q=CHUY%E1%BB%82N+%C4%90%E1%BB%94I", "Nghị quyết về chuyển đổi số", "Thông báo lịch họp"),
            // A draft's title is found without its diacritics too.
            ("q=thong+bao+lich", "Thông báo lịch họp chi bộ", "Nghị quyết về chuyển đổi số"),
            ("status=published", "Nghị quyết về chuyển đổi số", "Thông báo lịch họp"),
            ("status=draft", "Thông báo lịch họp chi bộ", "Nghị quyết về chuyển đổi số"),
            ("kind=huong_dan", "Kế hoạch của Ba Đình", "Nghị quyết về chuyển đổi số"),
            ("section=Th%C3%B4ng+b%C3%A1o", "Thông báo lịch họp chi bộ", "Kế hoạch của Ba Đình"),
            ("status=draft&kind=thong_bao&q=hop", "Thông báo lịch họp chi bộ", "Kế hoạch của Ba Đình"),
        ] {
            let html = page(&app, &browser, &format!("/dashboard/documents?{query}")).await;
            assert!(html.contains(shown), "{query}: {shown} missing");
            assert!(!html.contains(hidden), "{query}: {hidden} shown");
        }
        let none = page(&app, &browser, "/dashboard/documents?q=kh%C3%B4ng+c%C3%B3+g%C3%AC").await;
        assert!(none.contains("Không có tài liệu nào khớp."));
        // Unknown filter values are ignored, as a page should; a bad page cursor starts from the top.
        let tolerant = page(&app, &browser, "/dashboard/documents?status=poem&kind=x&after=%%%").await;
        assert!(tolerant.contains("Kế hoạch của Ba Đình"));

        // An officer sees its committee's documents only, as the API answers it.
        let officer = console(&app, "officer.bd").await;
        let own = page(&app, &officer, "/dashboard/documents").await;
        assert!(own.contains("Kế hoạch của Ba Đình"));
        assert!(!own.contains("Nghị quyết về chuyển đổi số") && !own.contains("Thông báo lịch họp"));
        let api = app.get_as(&officer_bd, "/api/v1/admin/documents?kind=huong_dan&q=ke+hoach").await.json();
        assert_eq!(api["items"].as_array().unwrap().len(), 1);
        assert!(app.get_as(&admin, "/api/v1/admin/documents?kind=poem").await.status == 422);
    }

    async fn a_draft_is_made_with_the_form_and_bad_input_comes_back_in_vietnamese(app: TestApp) {
        setup(&app).await;
        let browser = console(&app, "city.admin").await;
        let new = page(&app, &browser, "/dashboard/documents/new").await;
        for hook in [r#"name="title""#, r#"name="kind""#, r#"name="section""#, r#"list="sections""#, "<datalist",
            r#"name="body""#, r#"name="all""#, r#"name="committees" value="HK""#, r#"name="publish_at""#,
            r#"type="datetime-local""#, r#"name="expires_at""#, r#"data-action="save""#, r#"data-action="publish""#,
            r#"data-action="preview""#, "UTC+7", "Nghị quyết", "Chỉ thị", "Tin tức", r#"<label for="title">"#]
        {
            assert!(new.contains(hook), "{hook} missing from the editor");
        }

        let typed = [("action", "save"), ("title", "  "), ("kind", "nghi_quyet"), ("section", "Mục giữ lại"),
            ("body", "Nội dung <em>giữ lại</em>"), ("committees", "HK")];
        let answer = app.send(browser.post_form("/dashboard/documents/new", &typed)).await;
        let html = assert_html_page(&answer, 422);
        assert!(html.contains(r#"role="alert""#) && html.contains("Hãy nhập tiêu đề"), "{html}");
        assert!(html.contains(r#"id="title-error""#) && html.contains(r#"aria-invalid="true""#));
        assert!(html.contains("Nội dung &lt;em&gt;giữ lại&lt;/em&gt;"), "the body is kept, as text");
        assert!(html.contains(r#"value="Mục giữ lại""#));
        assert!(html.contains(r#"<option value="nghi_quyet" selected>"#), "{html}");
        assert!(html.contains(r#"name="committees" value="HK" checked"#));
        assert!(!html.contains("characters"), "no English API message");

        for (fields, message) in [
            (vec![("title", "Kế hoạch"), ("kind", "nghi_quyet"), ("body", "x")], "Hãy chọn toàn thành phố"),
            (vec![("title", "Kế hoạch"), ("kind", ""), ("body", "x"), ("all", "true")], "Hãy chọn loại tài liệu"),
            (vec![("title", "Kế hoạch"), ("kind", "tin_tuc"), ("body", "x"), ("all", "true"), ("publish_at", "hôm qua")],
                "Thời điểm không đọc được"),
            (vec![("title", "Kế hoạch"), ("kind", "tin_tuc"), ("body", "x"), ("all", "true"),
                ("publish_at", "2030-01-02T08:00"), ("expires_at", "2030-01-01T08:00")],
                "Thời điểm hết hiệu lực phải sau thời điểm đăng"),
            (vec![("title", "Kế hoạch"), ("kind", "tin_tuc"), ("body", "x"), ("committees", "ZZ")], "Không có đảng bộ mã ZZ"),
        ] {
            let mut all = vec![("action", "save")];
            all.extend(fields);
            let html = assert_html_page(&app.send(browser.post_form("/dashboard/documents/new", &all)).await, 422);
            assert!(html.contains(message), "{message}: {html}");
        }
        assert_eq!(app.count("SELECT count(*) AS n FROM documents").await, 0, "nothing refused was stored");

        let id = create(&app, &browser, &[("title", "Kế hoạch tháng 12"), ("kind", "huong_dan"), ("section", "Kế hoạch"),
            ("body", "Dòng một\r\nDòng hai"), ("committees", "HK"), ("committees", "BD"),
            ("publish_at", "2030-01-01T08:00"), ("expires_at", "")]).await;
        assert_eq!(audits(&app, "document.create").await, 1);
        let (title, body, _) = stored(&app, &id).await;
        assert_eq!((title.as_str(), body.as_str()), ("Kế hoạch tháng 12", "Dòng một\nDòng hai"));
        let publish_at: Option<chrono::NaiveDateTime> = {
            let id = id.clone();
            app.db().run(move |conn| {
                use handbook::db::schema::documents as d;
                Ok(d::table.find(id).select(d::publish_at).get_result(conn)?)
            }).await.unwrap()
        };
        assert_eq!(publish_at.unwrap().to_string(), "2030-01-01 01:00:00", "Hanoi time stored as UTC");
        let edit = page(&app, &browser, &format!("/dashboard/documents/{id}?saved=1")).await;
        assert!(edit.contains("Đã lưu bản nháp."));
        assert!(edit.contains(r#"value="2030-01-01T08:00""#), "shown back in Hanoi time");
        assert!(edit.contains(r#"name="committees" value="BD" checked"#));
        assert!(edit.contains(r#"value="Kế hoạch""#) && edit.contains(r#"<option value="Kế hoạch">"#), "the section is suggested");

        // Saving again is the API's PATCH: a new body, the times cleared.
        let answer = app.send(browser.post_form(&format!("/dashboard/documents/{id}"), &[("action", "save"),
            ("title", "Kế hoạch tháng 12"), ("kind", "huong_dan"), ("section", "Kế hoạch"), ("body", "Dòng mới"),
            ("committees", "HK"), ("publish_at", ""), ("expires_at", "")])).await;
        assert_eq!(answer.status, 303);
        assert_eq!(stored(&app, &id).await.1, "Dòng mới");
        assert_eq!(audits(&app, "document.update").await, 1);
        // The same form refused keeps what was typed on the document's page.
        let answer = app.send(browser.post_form(&format!("/dashboard/documents/{id}"), &[("action", "save"),
            ("title", ""), ("kind", "huong_dan"), ("body", "Bản sửa chưa lưu"), ("committees", "HK")])).await;
        let html = assert_html_page(&answer, 422);
        assert!(html.contains("Bản sửa chưa lưu") && html.contains("Hãy nhập tiêu đề"));
        assert_eq!(stored(&app, &id).await.1, "Dòng mới");

        // Without the session's CSRF token: 403, and nothing changes.
        for token in ["", "forged"] {
            let stale = Console { csrf: token.to_owned(), ..browser.clone() };
            let answer = app.send(stale.post_form(&format!("/dashboard/documents/{id}"), &[("action", "save"),
                ("title", "Đổi trộm"), ("kind", "huong_dan"), ("body", "x"), ("committees", "HK")])).await;
            assert_html_page(&answer, 403);
            let answer = app.send(stale.post_form("/dashboard/documents/new", &[("action", "save"),
                ("title", "Tạo trộm"), ("kind", "huong_dan"), ("body", "x"), ("committees", "HK")])).await;
            assert_html_page(&answer, 403);
            let answer = app.send(stale.post_multipart(&format!("/dashboard/documents/{id}/attachments"), &[],
                &[("file", "a.pdf", "application/pdf", PDF)])).await;
            assert_html_page(&answer, 403);
        }
        assert_eq!(stored(&app, &id).await.0, "Kế hoạch tháng 12");
        assert_eq!(app.count("SELECT count(*) AS n FROM documents").await, 1);
        assert_eq!(app.count("SELECT count(*) AS n FROM attachments").await, 0);
        // No session at all: the sign-in page.
        let answer = app.get(&format!("/dashboard/documents/{id}")).await;
        assert_eq!((answer.status.as_u16(), answer.header("location")), (303, Some("/dashboard/login")));
    }

    async fn a_pdf_is_attached_and_other_files_are_refused_in_vietnamese(app: TestApp) {
        setup(&app).await;
        let browser = console(&app, "officer.hk").await;
        let id = create(&app, &browser, &[("title", "Quyết định"), ("kind", "quy_dinh"), ("body", "x"),
            ("committees", "HK")]).await;
        let path = format!("/dashboard/documents/{id}/attachments");
        let editor = page(&app, &browser, &format!("/dashboard/documents/{id}")).await;
        for hook in [r#"enctype="multipart/form-data""#, "data-progress", "<progress hidden", "data-progress-status",
            r#"name="file""#, r#"accept="application/pdf,.pdf""#, "tối đa 64 MB"]
        {
            assert!(editor.contains(hook), "{hook} missing from the upload form");
        }
        // The CSRF field comes first in the upload form, before the file.
        let form = &editor[editor.find(r#"enctype="multipart/form-data""#).unwrap()..];
        assert!(form.find(r#"name="csrf""#).unwrap() < form.find(r#"name="file""#).unwrap());

        let answer = app.send(browser.post_multipart(&path, &[], &[("file", "Quyết định số 1.pdf", "application/pdf", PDF)])).await;
        assert_eq!(answer.status, 303, "{}", answer.text());
        let html = page(&app, &browser, answer.header("location").unwrap()).await;
        assert!(html.contains("Đã tải lên và đính kèm tệp") && html.contains("Quyết định số 1.pdf"), "{html}");
        let attachments = stored(&app, &id).await.2;
        assert!(attachments.contains("Quyết định số 1.pdf") && attachments.contains("application/pdf"), "{attachments}");
        assert_eq!(audits(&app, "attachment.upload").await, 1);
        assert_eq!(audits(&app, "document.update").await, 1);

        let answer = app.send(browser.post_multipart(&path, &[], &[("file", "ảnh.png", "image/png", PNG)])).await;
        let refused = assert_html_page(&answer, 415);
        assert!(refused.contains("chỉ nhận tệp PDF") && refused.contains(r#"role="alert""#), "{refused}");
        // A file that calls itself a PDF but is not one is refused the same way.
        let answer = app.send(browser.post_multipart(&path, &[], &[("file", "giả.pdf", "application/pdf", b"hello, world")])).await;
        assert_html_page(&answer, 415);
        let answer = app.send(browser.post_multipart(&path, &[], &[("file", "rỗng.pdf", "application/pdf", b"")])).await;
        assert!(assert_html_page(&answer, 422).contains("Tệp rỗng"));
        let answer = app.send(browser.post_multipart(&path, &[("other", "x")], &[])).await;
        assert!(assert_html_page(&answer, 422).contains("Hãy chọn một tệp PDF"));
        assert_eq!(app.count("SELECT count(*) AS n FROM attachments").await, 1);

        // Removing it from the draft.
        let sha256: String = {
            let list: serde_json::Value = serde_json::from_str(&stored(&app, &id).await.2).unwrap();
            list[0]["sha256"].as_str().unwrap().to_owned()
        };
        let answer = app.send(browser.post_form(&format!("{path}/remove"), &[("sha256", &sha256)])).await;
        assert_eq!(answer.status, 303, "{}", answer.text());
        assert_eq!(stored(&app, &id).await.2, "[]");
        assert!(!page(&app, &browser, &format!("/dashboard/documents/{id}")).await.contains("Quyết định số 1.pdf"));

        // Past the configured limit: 413 with the limit in Vietnamese, whether the length says so or the stream does.
        let small = TestApp::start_with(app.backend, |settings| settings.attachment_max_bytes = 2 * 1024 * 1024).await;
        setup(&small).await;
        let browser = console(&small, "officer.hk").await;
        let id = create(&small, &browser, &[("title", "Quyết định"), ("kind", "quy_dinh"), ("body", "x"),
            ("committees", "HK")]).await;
        for size in [3 * 1024 * 1024, 2 * 1024 * 1024 + 1000] {
            let mut big = PDF.to_vec();
            big.resize(size, b' ');
            let answer = small.send(browser.post_multipart(&format!("/dashboard/documents/{id}/attachments"), &[],
                &[("file", "lớn.pdf", "application/pdf", &big)])).await;
            let html = assert_html_page(&answer, 413);
            assert!(html.contains("Tệp quá lớn: mỗi tệp đính kèm tối đa 2 MB."), "{size}: {html}");
        }
        assert_eq!(small.count("SELECT count(*) AS n FROM attachments").await, 0);
    }

    async fn the_preview_renders_markdown_and_shows_markup_as_text(app: TestApp) {
        setup(&app).await;
        let browser = console(&app, "city.admin").await;
        let body = "**Đậm** và [trang thành phố](https://hanoi.gov.vn)\n\n<script>alert(1)</script>\n\n\
                    Xem <img src=x onerror=alert(1)> đây\n\n[bẫy](javascript:alert(2)) ![ảnh](https://tracker.example/p.png)";
        let answer = app.send(browser.post_form("/dashboard/documents/new", &[("action", "preview"),
            ("title", "<b>Tiêu đề</b>"), ("kind", "tin_tuc"), ("body", body), ("all", "true")])).await;
        let html = assert_html_page(&answer, 200);
        let preview = &html[html.find(r#"id="preview""#).expect("the preview")..html.find(r#"id="editor-heading""#).unwrap()];
        assert!(preview.contains("<strong>Đậm</strong>"), "{preview}");
        assert!(preview.contains(r#"<a href="https://hanoi.gov.vn">trang thành phố</a>"#), "{preview}");
        assert!(preview.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{preview}");
        assert!(preview.contains("&lt;img src=x onerror=alert(1)&gt;"), "{preview}");
        assert!(preview.contains("&lt;b&gt;Tiêu đề&lt;/b&gt;"), "{preview}");
        for never in ["<script", "<img", "javascript:", "<b>", "tracker.example"] {
            assert!(!preview.contains(never), "{never} in the preview");
        }
        for never in ["<script>alert", "<img", "<b>"] {
            assert!(!html.contains(never), "{never} in the page");
        }
        assert!(html.contains(r#"value="&lt;b&gt;Tiêu đề&lt;/b&gt;""#), "the typed title stays in the form");
        assert_eq!(app.count("SELECT count(*) AS n FROM documents").await, 0, "a preview saves nothing");

        // The preview of a stored document shows the typed body, not the stored one.
        let id = create(&app, &browser, &[("title", "Tin"), ("kind", "tin_tuc"), ("body", "cũ"), ("all", "true")]).await;
        let answer = app.send(browser.post_form(&format!("/dashboard/documents/{id}"), &[("action", "preview"),
            ("title", "Tin"), ("kind", "tin_tuc"), ("body", "# Mới"), ("all", "true")])).await;
        let html = assert_html_page(&answer, 200);
        assert!(html.contains("<h1>Mới</h1>"), "{html}");
        assert_eq!(stored(&app, &id).await.1, "cũ");
    }

    async fn publishing_to_one_committee_reaches_its_members_and_delivery_counts_acknowledgements(app: TestApp) {
        let admin = setup(&app).await;
        let member_hk = app.activate_member(&admin, "100000001", "member password").await["access_token"].as_str().unwrap().to_owned();
        let member_bd = app.activate_member(&admin, "100000004", "member password").await["access_token"].as_str().unwrap().to_owned();
        let mut device_hk = SyncClient::register(&app, &member_hk).await;
        let mut device_bd = SyncClient::register(&app, &member_bd).await;
        let mut second_bd = SyncClient::register(&app, &member_bd).await;
        device_hk.sync(&app).await;
        device_bd.sync(&app).await;

        let browser = console(&app, "city.admin").await;
        let fields = [("title", "Nghị quyết Hoàn Kiếm"), ("kind", "nghi_quyet"), ("section", ""), ("body", "Toàn văn"),
            ("committees", "HK")];
        let id = create(&app, &browser, &fields).await;
        // Reach, before publishing: from the counters (HK: two eligible members, one device).
        let editor = page(&app, &browser, &format!("/dashboard/documents/{id}")).await;
        assert_eq!((count_of(&editor, r#"data-reach="eligible">"#), count_of(&editor, r#"data-reach="devices">"#)), (2, 1));
        assert_eq!(counters(&app, &["HK"]).await, (2, 1));
        assert!(!editor.contains(r#"id="delivery""#), "no delivery before publishing");
        // The whole city, typed but not saved: HK and BD (BD: one eligible, one exempt; two devices of one member).
        let answer = app.send(browser.post_form(&format!("/dashboard/documents/{id}"), &[("action", "preview"),
            ("title", "x"), ("kind", "nghi_quyet"), ("body", "x"), ("all", "true")])).await;
        let city = assert_html_page(&answer, 200);
        assert_eq!((count_of(&city, r#"data-reach="eligible">"#), count_of(&city, r#"data-reach="devices">"#)), (3, 3));
        assert_eq!(counters(&app, &["HK", "BD"]).await, (3, 3));

        let location = publish(&app, &browser, &id, &fields).await;
        assert_eq!(location, format!("/dashboard/documents/{id}?revision=1&status=published"));
        assert_eq!(audits(&app, "document.publish").await, 1);
        assert_eq!(audits(&app, "document.update").await, 0, "an unchanged form publishes the stored draft");
        let published = page(&app, &browser, &location).await;
        assert!(published.contains("Đã đăng phiên bản 1") && published.contains("Đang đăng"));
        assert_eq!((count_of(&published, r#"data-delivery="acknowledged">"#), count_of(&published, r#"data-delivery="devices">"#)), (0, 1));
        let delivery = app.get_as(&admin, &format!("/api/v1/admin/documents/{id}/delivery")).await;
        assert_eq!(delivery.status, 200, "{}", delivery.text());
        assert_eq!(delivery.json(), json!({"revision": 1, "status": "published", "devices": 1, "acknowledged": 0}));

        // The member of HK receives it, the member of BD does not.
        device_hk.sync(&app).await;
        device_bd.sync(&app).await;
        second_bd.sync(&app).await;
        assert_eq!(device_hk.titles(), ["Nghị quyết Hoàn Kiếm"]);
        assert!(device_bd.titles().is_empty() && second_bd.titles().is_empty());
        let after_ack = page(&app, &browser, &format!("/dashboard/documents/{id}")).await;
        assert_eq!((count_of(&after_ack, r#"data-delivery="acknowledged">"#), count_of(&after_ack, r#"data-delivery="devices">"#)), (1, 1));
        let delivery = app.get_as(&admin, &format!("/api/v1/admin/documents/{id}/delivery")).await.json();
        assert_eq!((delivery["devices"].as_i64(), delivery["acknowledged"].as_i64()), (Some(1), Some(1)));
        // HK's officer reads it (HK is the audience); BD's is told it does not exist.
        let officer_hk = app.login("officer.hk", STAFF_PASSWORD).await["access_token"].as_str().unwrap().to_owned();
        let officer_bd = app.login("officer.bd", STAFF_PASSWORD).await["access_token"].as_str().unwrap().to_owned();
        assert_eq!(app.get_as(&officer_hk, &format!("/api/v1/admin/documents/{id}/delivery")).await.json()["acknowledged"], 1);
        app.get_as(&officer_bd, &format!("/api/v1/admin/documents/{id}/delivery")).await.problem(404);
        app.get_as(&member_hk, &format!("/api/v1/admin/documents/{id}/delivery")).await.problem(403);

        // A second revision: delivery counts from zero again until the device has it.
        let edited = [("title", "Nghị quyết Hoàn Kiếm (sửa)"), ("kind", "nghi_quyet"), ("section", ""),
            ("body", "Toàn văn"), ("committees", "HK")];
        assert!(publish(&app, &browser, &id, &edited).await.contains("revision=2"));
        let delivery = app.get_as(&admin, &format!("/api/v1/admin/documents/{id}/delivery")).await.json();
        assert_eq!((delivery["revision"].as_i64(), delivery["acknowledged"].as_i64()), (Some(2), Some(0)));
        device_hk.sync(&app).await;
        assert_eq!(device_hk.titles(), ["Nghị quyết Hoàn Kiếm (sửa)"]);
        let delivery = app.get_as(&admin, &format!("/api/v1/admin/documents/{id}/delivery")).await.json();
        assert_eq!(delivery["acknowledged"], 1);

        // A publish time ahead schedules it.
        let later = [("title", "Nghị quyết Hoàn Kiếm (sửa)"), ("kind", "nghi_quyet"), ("body", "Toàn văn"),
            ("committees", "HK"), ("publish_at", "2099-01-01T08:00")];
        let location = publish(&app, &browser, &id, &later).await;
        assert!(location.ends_with("revision=3&status=scheduled"), "{location}");
        assert!(page(&app, &browser, &location).await.contains("Đã hẹn giờ đăng phiên bản 3"));
        device_hk.sync(&app).await;
        assert!(device_hk.titles().is_empty(), "a scheduled document leaves the devices until its time");

        // Unpublish.
        let back = [("title", "Nghị quyết Hoàn Kiếm"), ("kind", "nghi_quyet"), ("body", "Toàn văn"), ("committees", "HK")];
        publish(&app, &browser, &id, &back).await;
        device_hk.sync(&app).await;
        assert_eq!(device_hk.titles(), ["Nghị quyết Hoàn Kiếm"]);
        let answer = app.send(browser.post_form(&format!("/dashboard/documents/{id}/unpublish"), &[])).await;
        assert_eq!(answer.status, 303, "{}", answer.text());
        let withdrawn = page(&app, &browser, answer.header("location").unwrap()).await;
        assert!(withdrawn.contains("Đã gỡ tài liệu") && withdrawn.contains(r#"<span class="badge unpublished">Đã gỡ</span>"#));
        assert!(!withdrawn.contains(r#"data-action="unpublish""#));
        assert_eq!(audits(&app, "document.unpublish").await, 1);
        device_hk.sync(&app).await;
        assert!(device_hk.titles().is_empty(), "the device deleted it");
        let again = app.send(browser.post_form(&format!("/dashboard/documents/{id}/unpublish"), &[])).await;
        assert!(assert_html_page(&again, 409).contains("chưa được đăng"));
    }

    async fn revisions_show_a_readable_diff_and_restore_makes_a_new_revision(app: TestApp) {
        setup(&app).await;
        let browser = console(&app, "officer.hk").await;
        let first = [("title", "Quy chế"), ("kind", "quy_dinh"), ("body", "Điều 1. Giữ nguyên.\nĐiều 2. Họp mỗi tháng.\nĐiều 3. Hết."),
            ("committees", "HK")];
        let id = create(&app, &browser, &first).await;
        assert!(!page(&app, &browser, &format!("/dashboard/documents/{id}")).await.contains("/revisions"));
        publish(&app, &browser, &id, &first).await;
        let second = [("title", "Quy chế (sửa đổi)"), ("kind", "quy_dinh"),
            ("body", "Điều 1. Giữ nguyên.\nĐiều 2. Họp mỗi quý.\nĐiều 3. Hết."), ("committees", "HK")];
        publish(&app, &browser, &id, &second).await;
        let editor = page(&app, &browser, &format!("/dashboard/documents/{id}")).await;
        assert!(editor.contains(&format!(r#"href="/dashboard/documents/{id}/revisions""#)));

        let html = page(&app, &browser, &format!("/dashboard/documents/{id}/revisions")).await;
        for text in ["Phiên bản", "officer.hk", "Quy chế (sửa đổi)", r#"data-action="restore""#, r#"name="from""#, r#"name="to""#] {
            assert!(html.contains(text), "{text} missing: {html}");
        }
        assert!(html.contains("<del>Điều 2. Họp mỗi tháng.</del>"), "{html}");
        assert!(html.contains("<ins>Điều 2. Họp mỗi quý.</ins>"), "{html}");
        assert!(html.contains("<del>Quy chế</del>") && html.contains("<ins>Quy chế (sửa đổi)</ins>"));
        assert!(html.contains("Điều 1. Giữ nguyên.") && !html.contains("<del>Điều 1."), "unchanged lines are context");
        assert!(html.contains("−") && html.contains("Đã bỏ:") && html.contains("Đã thêm:"), "marks, not colour only");
        let reversed = page(&app, &browser, &format!("/dashboard/documents/{id}/revisions?from=2&to=1")).await;
        assert!(reversed.contains("<del>Điều 2. Họp mỗi quý.</del>") && reversed.contains("<ins>Điều 2. Họp mỗi tháng.</ins>"));
        let same = page(&app, &browser, &format!("/dashboard/documents/{id}/revisions?from=1&to=1")).await;
        assert!(same.contains("giống nhau"));
        let missing = app.send(browser.get(&format!("/dashboard/documents/{id}/revisions?from=1&to=9"))).await;
        assert_html_page(&missing, 404);

        let answer = app.send(browser.post_form(&format!("/dashboard/documents/{id}/revisions/1/restore"), &[])).await;
        assert_eq!(answer.status, 303, "{}", answer.text());
        assert_eq!(answer.header("location"), Some(format!("/dashboard/documents/{id}/revisions?restored=3").as_str()));
        let restored = page(&app, &browser, answer.header("location").unwrap()).await;
        assert!(restored.contains("phiên bản mới 3"));
        assert_eq!(audits(&app, "document.restore").await, 1);
        let (title, body, _) = stored(&app, &id).await;
        assert_eq!((title.as_str(), body.as_str()), ("Quy chế", "Điều 1. Giữ nguyên.\nĐiều 2. Họp mỗi tháng.\nĐiều 3. Hết."));
        let revisions = app.count("SELECT count(*) AS n FROM document_revisions").await;
        assert_eq!(revisions, 3, "restore made a new revision");
        let missing = app.send(browser.post_form(&format!("/dashboard/documents/{id}/revisions/9/restore"), &[])).await;
        assert_html_page(&missing, 404);
    }

    async fn an_officer_of_another_committee_gets_404_on_every_page_and_action(app: TestApp) {
        setup(&app).await;
        let owner = console(&app, "officer.hk").await;
        let new = page(&app, &owner, "/dashboard/documents/new").await;
        assert!(new.contains(r#"<input type="hidden" name="committees" value="HK">"#), "the audience is fixed: {new}");
        assert!(!new.contains(r#"name="all""#) && !new.contains(r#"value="BD""#));
        // Even a forged audience is refused by the API's rule, in Vietnamese.
        let answer = app.send(owner.post_form("/dashboard/documents/new", &[("action", "save"), ("title", "Lấn sân"),
            ("kind", "tin_tuc"), ("body", "x"), ("committees", "BD")])).await;
        assert!(assert_html_page(&answer, 422).contains("chỉ gửi được tài liệu cho đảng bộ của mình"));

        let fields = [("title", "Việc riêng của Hoàn Kiếm"), ("kind", "tin_tuc"), ("body", "x"), ("committees", "HK")];
        let id = create(&app, &owner, &fields).await;
        publish(&app, &owner, &id, &fields).await;
        let sha256 = {
            let answer = app.send(owner.post_multipart(&format!("/dashboard/documents/{id}/attachments"), &[],
                &[("file", "a.pdf", "application/pdf", PDF)])).await;
            assert_eq!(answer.status, 303, "{}", answer.text());
            let list: serde_json::Value = serde_json::from_str(&stored(&app, &id).await.2).unwrap();
            list[0]["sha256"].as_str().unwrap().to_owned()
        };
        let audit_before = app.count("SELECT count(*) AS n FROM audit_log").await;

        let other = console(&app, "officer.bd").await;
        for path in [format!("/dashboard/documents/{id}"), format!("/dashboard/documents/{id}/revisions"),
            format!("/dashboard/documents/{id}/revisions?from=1&to=1"), "/dashboard/documents/no-such-id".to_owned()]
        {
            let answer = app.send(other.get(&path)).await;
            assert!(assert_html_page(&answer, 404).contains("Không tìm thấy"), "{path}");
        }
        let edit = format!("/dashboard/documents/{id}");
        for action in ["save", "publish", "preview"] {
            let answer = app.send(other.post_form(&edit, &[("action", action), ("title", "Chiếm"), ("kind", "tin_tuc"),
                ("body", "x"), ("committees", "BD")])).await;
            assert_html_page(&answer, 404);
        }
        for path in [format!("{edit}/unpublish"), format!("{edit}/revisions/1/restore")] {
            assert_html_page(&app.send(other.post_form(&path, &[])).await, 404);
        }
        assert_html_page(&app.send(other.post_form(&format!("{edit}/attachments/remove"), &[("sha256", &sha256)])).await, 404);
        let answer = app.send(other.post_multipart(&format!("{edit}/attachments"), &[],
            &[("file", "b.pdf", "application/pdf", b"%PDF-1.4 another file")])).await;
        assert_html_page(&answer, 404);
        assert!(!page(&app, &other, "/dashboard/documents").await.contains("Việc riêng của Hoàn Kiếm"));

        assert_eq!(app.count("SELECT count(*) AS n FROM audit_log").await, audit_before, "nothing was done");
        assert_eq!(app.count("SELECT count(*) AS n FROM attachments").await, 1, "nothing was stored");
        let (title, _, attachments) = stored(&app, &id).await;
        assert_eq!(title, "Việc riêng của Hoàn Kiếm");
        assert!(attachments.contains(&sha256));
        assert!(page(&app, &owner, &edit).await.contains(r#"<span class="badge published">Đang đăng</span>"#));
    }

    async fn titles_with_markup_are_shown_as_text_in_the_list_and_the_editor(app: TestApp) {
        setup(&app).await;
        let browser = console(&app, "city.admin").await;
        let title = r#"<script>alert("x")</script> & <b>đậm</b>"#;
        let id = create(&app, &browser, &[("title", title), ("kind", "tin_tuc"), ("section", "<i>mục</i>"),
            ("body", "x"), ("all", "true")]).await;
        let escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;đậm&lt;/b&gt;";
        for path in ["/dashboard/documents".to_owned(), format!("/dashboard/documents/{id}"),
            format!("/dashboard/documents/{id}/revisions")]
        {
            if path.ends_with("revisions") {
                publish(&app, &browser, &id, &[("title", title), ("kind", "tin_tuc"), ("section", "<i>mục</i>"),
                    ("body", "x"), ("all", "true")]).await;
            }
            let html = page(&app, &browser, &path).await;
            assert!(html.contains(escaped), "{path}: {html}");
            assert!(!html.contains("<script>alert") && !html.contains("<b>đậm") && !html.contains("<i>mục"), "{path}");
        }
    }
}
