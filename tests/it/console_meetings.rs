//! The console's cell meeting pages, in process on both backends: the list with its filters, one meeting with the
//! answers and attendance and its cancel form (CSRF), the statistics per committee (admin) and per unit and cell
//! (officer) with the cells that held no meeting, the CSV downloads; the API's scope (another committee: 404); text
//! shown as text.

use actix_web::test::TestRequest;
use serde_json::json;

use crate::harness::console::{assert_html_page, Console};
use crate::harness::{TestApp, STAFF_PASSWORD};

async fn schedule(
    app: &TestApp,
    token: &str,
    committee: &str,
    unit: &str,
    cell: &str,
    title: &str,
    hours: i64,
) -> String {
    let starts_at = (chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339();
    let body = json!({"committee_code": committee, "unit": unit, "cell": cell, "title": title,
        "starts_at": starts_at, "location": "Hội trường", "agenda": "1. Thông tin thời sự\n2. **Nghị quyết**"});
    let created = app.post_as(token, "/api/v1/meetings", &body).await;
    assert_eq!(created.status, 201, "{}", created.text());
    created.json()["id"].as_str().unwrap().to_owned()
}

both_backends! {
    async fn the_meeting_pages_show_the_callers_meetings_and_cancel_with_the_session(app: TestApp) {
        let org = app.organisation().await;
        app.staff_token("officer.hk", "officer", Some("HK")).await;
        app.staff_token("officer.bd", "officer", Some("BD")).await;
        let held = schedule(&app, &org.admin, "HK", "Phường Hàng Bạc", "Chi bộ 1", "Sinh hoạt <i>tháng</i>", -2).await;
        let ahead = schedule(&app, &org.admin, "BD", "Phường Kim Mã", "Chi bộ 1", "Sinh hoạt chuyên đề", 48).await;
        let records = json!({"records": [{"card_number": "100000001", "attendance": "present"}]});
        let recorded = app
            .with_bearer(&org.admin, TestRequest::put().uri(&format!("/api/v1/meetings/{held}/attendance")).set_json(records))
            .await;
        assert_eq!(recorded.status, 200, "{}", recorded.text());

        // The admin's list: both, newest first, titles as text; the menu has the section.
        let admin = Console::sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let html = assert_html_page(&app.send(admin.get("/dashboard/meetings")).await, 200);
        assert!(html.contains(r#"<a href="/dashboard/meetings">Sinh hoạt chi bộ</a>"#), "{html}");
        assert!(html.contains("Sinh hoạt &lt;i&gt;tháng&lt;/i&gt;") && !html.contains("<i>tháng"), "{html}");
        let (first, second) = (html.find(&format!("/dashboard/meetings/{ahead}")), html.find(&format!("/dashboard/meetings/{held}")));
        assert!(first.is_some() && first < second, "the latest start first: {html}");
        let html = assert_html_page(&app.send(admin.get("/dashboard/meetings?committee=bd")).await, 200);
        assert!(html.contains(&ahead) && !html.contains(&held), "{html}");
        let html = assert_html_page(&app.send(admin.get("/dashboard/meetings?from=2026-13-01")).await, 422);
        assert!(html.contains("Ngày “từ” không hợp lệ"), "{html}");

        // One meeting: details, the agenda's Markdown, answers and attendance by name.
        let html = assert_html_page(&app.send(admin.get(&format!("/dashboard/meetings/{held}"))).await, 200);
        assert!(html.contains("<strong>Nghị quyết</strong>"), "{html}");
        assert!(html.contains("Nguyễn Văn A") && html.contains("Có mặt") && html.contains("Chưa trả lời"), "{html}");
        assert!(html.contains("Chi bộ 1 · Phường Hàng Bạc · HK"), "{html}");

        // The officer of BD sees BD's meeting only; HK's is not there for it.
        let officer_bd = Console::sign_in(&app, "officer.bd", STAFF_PASSWORD).await;
        let html = assert_html_page(&app.send(officer_bd.get("/dashboard/meetings")).await, 200);
        assert!(html.contains(&ahead) && !html.contains(&held), "{html}");
        assert!(!html.contains(r#"name="committee""#), "no committee filter for an officer: {html}");
        assert_eq!(app.send(officer_bd.get(&format!("/dashboard/meetings/{held}"))).await.status, 404);
        let refused = app.send(officer_bd.post_form(&format!("/dashboard/meetings/{held}/cancel"), &[])).await;
        assert_eq!(refused.status, 404);
        let html = assert_html_page(&app.send(officer_bd.get(&format!("/dashboard/meetings/{ahead}"))).await, 200);
        assert!(html.contains("Điểm danh sau khi cuộc sinh hoạt bắt đầu"), "{html}");

        // HK's officer cancels HK's meeting from its page: the invitees' devices get it cancelled.
        let officer_hk = Console::sign_in(&app, "officer.hk", STAFF_PASSWORD).await;
        let html = assert_html_page(&app.send(officer_hk.get(&format!("/dashboard/meetings/{held}"))).await, 200);
        assert!(html.contains(r#"data-action="cancel""#), "{html}");
        let answer = app.send(officer_hk.post_form(&format!("/dashboard/meetings/{held}/cancel"), &[])).await;
        assert_eq!(answer.status, 303, "{}", answer.text());
        let location = answer.header("location").unwrap().to_owned();
        assert_eq!(location, format!("/dashboard/meetings/{held}?cancelled=1"));
        let html = assert_html_page(&app.send(officer_hk.get(&location)).await, 200);
        assert!(html.contains("Đã hủy cuộc sinh hoạt") && !html.contains(r#"data-action="cancel""#), "{html}");
        let shown = app.get_as(&org.admin, &format!("/api/v1/meetings/{held}")).await.json();
        assert_eq!(shown["status"], "cancelled");
    }

    async fn the_statistics_page_counts_per_committee_and_per_cell_and_downloads_them(app: TestApp) {
        let org = app.organisation().await;
        app.staff_token("officer.hk", "officer", Some("HK")).await;
        app.staff_token("officer.bd", "officer", Some("BD")).await;
        let held = schedule(&app, &org.admin, "HK", "Phường Hàng Bạc", "Chi bộ 1", "Sinh hoạt", -2).await;
        let records = json!({"records": [{"card_number": "100000001", "attendance": "present"}]});
        let recorded = app
            .with_bearer(&org.admin, TestRequest::put().uri(&format!("/api/v1/meetings/{held}/attendance")).set_json(records))
            .await;
        assert_eq!(recorded.status, 200, "{}", recorded.text());
        // The period: today in Hanoi (the meeting started two hours ago, possibly yesterday there).
        let today = (chrono::Utc::now() + chrono::Duration::hours(7)).date_naive();
        let from = today - chrono::Duration::days(1);
        let period = format!("from={from}&to={today}");

        let admin = Console::sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let html = assert_html_page(&app.send(admin.get(&format!("/dashboard/meetings/stats?{period}"))).await, 200);
        assert!(html.contains("Đảng bộ HK") && html.contains("Đảng bộ BD"), "{html}");
        assert!(html.contains(&format!("/dashboard/meetings/stats?committee=HK&amp;{}", period.replace('&', "&amp;"))), "{html}");
        assert!(html.contains("<strong>1</strong> cuộc sinh hoạt đã tổ chức"), "{html}");
        // The default period is this month, its days in the form.
        let html = assert_html_page(&app.send(admin.get("/dashboard/meetings/stats")).await, 200);
        assert!(html.contains(&format!(r#"value="{}""#, today.format("%Y-%m-01"))), "{html}");
        let html = assert_html_page(&app.send(admin.get("/dashboard/meetings/stats?from=2026-11-02&to=2026-11-01")).await, 422);
        assert!(html.contains("Ngày “đến” không được trước ngày “từ”"), "{html}");

        // HK's officer: its units and cells, Chi bộ 2 without a meeting, in its list and its CSV.
        let officer = Console::sign_in(&app, "officer.hk", STAFF_PASSWORD).await;
        let html = assert_html_page(&app.send(officer.get(&format!("/dashboard/meetings/stats?{period}"))).await, 200);
        assert!(html.contains("Phường Hàng Bạc") && html.contains("Chi bộ 2") && html.contains("Chi bộ chưa sinh hoạt"), "{html}");
        assert!(html.contains("100,0%"), "one invited, one present: {html}");
        assert_eq!(app.send(officer.get("/dashboard/meetings/stats?committee=BD")).await.status, 404);
        let csv = app.send(officer.get(&format!("/dashboard/meetings/stats.csv?{period}"))).await;
        assert_eq!(csv.status, 200);
        assert!(csv.header("content-disposition").unwrap().contains("sinh-hoat-chi-bo-HK.csv"));
        let text = csv.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "committee_code,unit,cell,meetings_held,cells,cells_without_meeting,invited,rsvp_answered,present,attendance_rate");
        assert_eq!(lines[1], "HK,,,1,2,1,1,0,1,1.0000", "{text}");
        assert!(lines.contains(&"HK,Phường Hàng Bạc,Chi bộ 2,0,1,1,0,0,0,0.0000"), "{text}");
        let csv = app.send(officer.get(&format!("/dashboard/meetings/stats/cells-without.csv?{period}"))).await;
        assert_eq!(csv.status, 200);
        let text = csv.text();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("HK,Đảng bộ HK,Phường Hàng Bạc,Chi bộ 2,1,"), "{text}");
        assert_eq!(app.send(officer.get("/dashboard/meetings/stats/cells-without.csv?committee=BD")).await.status, 404);
    }
}
