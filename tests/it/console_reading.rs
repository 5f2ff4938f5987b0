//! The console's required-reading pages, in process on both backends: the list with due dates and coverage bars,
//! one document per committee, one committee by unit and cell, the not-read CSV; the scope of the API (an officer
//! sees its committee's part, another committee's page is a 404); titles shown as text.

use serde_json::json;

use crate::harness::console::{assert_html_page, Console};
use crate::harness::{SyncClient, STAFF_PASSWORD};

both_backends! {
    async fn the_reading_pages_show_the_counters_in_the_callers_scope(app: TestApp) {
        let org = app.organisation().await;
        app.staff_token("officer.hk", "officer", Some("HK")).await;
        app.staff_token("officer.bd", "officer", Some("BD")).await;
        let body = json!({"title": "Nghị quyết <b>05</b>", "kind": "nghi_quyet", "body": "x",
            "audience": {"committees": ["HK", "BD"]}, "required": {"due_at": "2099-06-30T10:00:00Z"}});
        let created = app.post_as(&org.admin, "/api/v1/admin/documents", &body).await;
        assert_eq!(created.status, 201, "{}", created.text());
        let doc = created.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(app.post_as(&org.admin, &format!("/api/v1/admin/documents/{doc}/publish"), &json!({})).await.status, 200);
        let mut phone = SyncClient::register(&app, &org.member_hk).await;
        phone.enqueue(json!({"type": "read.mark", "document_id": doc, "revision": 1}));
        phone.push(&app, 50).await;

        let admin = Console::sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let html = assert_html_page(&app.send(admin.get("/dashboard/reading")).await, 200);
        assert!(html.contains("Học tập nghị quyết"), "{html}");
        assert!(html.contains("Nghị quyết &lt;b&gt;05&lt;/b&gt;") && !html.contains("<b>05"), "{html}");
        assert!(html.contains("17:00 30/06/2099"), "the due date in Hanoi time: {html}");
        assert!(html.contains(&format!("/dashboard/reading/{doc}")), "{html}");
        let html = assert_html_page(&app.send(admin.get(&format!("/dashboard/reading/{doc}"))).await, 200);
        assert!(html.contains("1</strong> / 3"), "{html}");
        assert!(html.contains(&format!("/dashboard/reading/{doc}/HK")) && html.contains(&format!("/dashboard/reading/{doc}/BD")));
        let html = assert_html_page(&app.send(admin.get(&format!("/dashboard/reading/{doc}/HK"))).await, 200);
        assert!(html.contains("Chi bộ 2") && html.contains("50,0%"), "{html}");
        assert!(html.contains(&format!("/dashboard/reading/{doc}/HK/not-read.csv")), "{html}");
        let csv = app.send(admin.get(&format!("/dashboard/reading/{doc}/HK/not-read.csv"))).await;
        assert_eq!(csv.status, 200);
        assert_eq!(csv.text(), "card_number,full_name,unit,cell\n100000002,Trần Thị Bình,Phường Hàng Bạc,Chi bộ 2\n");

        let officer = Console::sign_in(&app, "officer.bd", STAFF_PASSWORD).await;
        let html = assert_html_page(&app.send(officer.get(&format!("/dashboard/reading/{doc}"))).await, 200);
        assert!(html.contains(&format!("/dashboard/reading/{doc}/BD")) && !html.contains(&format!("/dashboard/reading/{doc}/HK")), "{html}");
        for path in [format!("/dashboard/reading/{doc}/HK"), format!("/dashboard/reading/{doc}/HK/not-read.csv"), "/dashboard/reading/nope".to_owned()] {
            assert_eq!(app.send(officer.get(&path)).await.status, 404, "{path}");
        }
        let menu = assert_html_page(&app.send(officer.get("/dashboard")).await, 200);
        assert!(menu.contains(r#"<a href="/dashboard/reading">Học tập nghị quyết</a>"#), "{menu}");
    }
}

both_backends! {
    async fn the_editor_makes_a_document_required_in_hanoi_time(app: TestApp) {
        let org = app.organisation().await;
        let admin = Console::sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let fields = [("action", "save"), ("title", "Nghị quyết 07"), ("kind", "nghi_quyet"), ("body", "x"),
            ("all", "true"), ("required_due_at", "2001-01-01T08:00")];
        let html = assert_html_page(&app.send(admin.post_form("/dashboard/documents/new", &fields)).await, 422);
        assert!(html.contains("Hạn đọc bắt buộc phải là một thời điểm sắp tới.") && html.contains(r#"value="2001-01-01T08:00""#), "{html}");
        let mut fields = fields;
        fields[5].1 = "2099-06-30T17:00";
        let answer = app.send(admin.post_form("/dashboard/documents/new", &fields)).await;
        assert_eq!(answer.status, 303, "{}", answer.text());
        let location = answer.header("location").unwrap().to_owned();
        let id = location.trim_start_matches("/dashboard/documents/").split('?').next().unwrap().to_owned();
        let html = assert_html_page(&app.send(admin.get(&location)).await, 200);
        assert!(html.contains(r#"name="required_due_at" value="2099-06-30T17:00""#), "{html}");
        let mut publish = fields.to_vec();
        publish[0].1 = "publish";
        let answer = app.send(admin.post_form(&format!("/dashboard/documents/{id}"), &publish)).await;
        assert_eq!(answer.status, 303, "{}", answer.text());
        let shown = app.get_as(&org.member_hk, &format!("/api/v1/documents/{id}")).await;
        assert_eq!(shown.json()["required_due_at"], "2099-06-30T10:00:00Z", "17:00 in Hanoi is 10:00 UTC");
        let list = app.get_as(&org.admin, "/api/v1/reading").await.json();
        assert_eq!(list["items"][0]["document_id"], id.as_str(), "{list}");
    }
}
