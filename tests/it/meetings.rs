//! Cell meetings, on both backends: who may do what on every meeting route (secretary, deputy, plain member, another
//! cell's secretary, officer, another committee's officer, admin); the sync entries of an invitation, an edit, a
//! cancellation, a member leaving the cell and one joining it; answers through the push route; attendance and its
//! refusals; the materials' download; the import's `position` column.

use actix_web::test::TestRequest;
use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::harness::{Answer, SyncClient, TestApp};
use crate::sync::publish_new;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

const UNIT: &str = "Phường Hàng Bạc";
const CELL: &str = "Chi bộ 1";

/// Cell 1 of HK: a secretary, a deputy, a plain member, an exempt one and one who left; cell 2 of HK: its secretary
/// and a member; BD: one member.
const CSV: &str = "card_number,full_name,committee_code,unit,cell,status,position\n\
200000001,Nguyễn Văn Bí,HK,Phường Hàng Bạc,Chi bộ 1,eligible,secretary\n\
200000002,Trần Thị Phó,HK,Phường Hàng Bạc,Chi bộ 1,eligible,deputy_secretary\n\
200000003,Lê Văn Thường,HK,Phường Hàng Bạc,Chi bộ 1,eligible,\n\
200000004,Phạm Thị Miễn,HK,Phường Hàng Bạc,Chi bộ 1,exempt,\n\
200000005,Hoàng Văn Rời,HK,Phường Hàng Bạc,Chi bộ 1,left,\n\
200000011,Đỗ Văn Hai,HK,Phường Hàng Bạc,Chi bộ 2,eligible,secretary\n\
200000012,Vũ Thị Khác,HK,Phường Hàng Bạc,Chi bộ 2,eligible,\n\
200000021,Bùi Văn Đình,BD,Phường Kim Mã,Chi bộ 1,eligible,\n";

/// The callers of the scope matrix, in this order.
const CALLERS: [&str; 7] =
    ["secretary", "deputy", "plain member", "other cell's secretary", "officer", "other committee's officer", "admin"];

struct Org {
    admin: String,
    /// In CALLERS order.
    tokens: Vec<String>,
    /// A member of cell 2 (not invited to cell 1's meetings).
    outsider: String,
}

impl Org {
    fn secretary(&self) -> &str {
        &self.tokens[0]
    }
    fn plain(&self) -> &str {
        &self.tokens[2]
    }
    fn officer(&self) -> &str {
        &self.tokens[4]
    }
}

async fn org(app: &TestApp) -> Org {
    app.seed_committees(&["HK", "BD"]).await;
    let admin = app.admin_token().await;
    app.import(&admin, CSV).await;
    let member = |card: &'static str| {
        let admin = admin.clone();
        async move {
            app.activate_member(&admin, card, "member password").await["access_token"].as_str().unwrap().to_owned()
        }
    };
    let tokens = vec![
        member("200000001").await,
        member("200000002").await,
        member("200000003").await,
        member("200000011").await,
        app.staff_token("officer.hk", "officer", Some("HK")).await,
        app.staff_token("officer.bd", "officer", Some("BD")).await,
        admin.clone(),
    ];
    let outsider = member("200000012").await;
    Org { admin, tokens, outsider }
}

fn at(offset: Duration) -> String {
    (Utc::now() + offset).to_rfc3339()
}

fn new_meeting(title: &str, starts_at: Duration) -> Value {
    json!({"committee_code": "HK", "unit": UNIT, "cell": CELL, "title": title, "starts_at": at(starts_at),
        "location": "Nhà văn hoá tổ dân phố 3", "agenda": "1. Quán triệt nghị quyết\n2. Kiểm điểm"})
}

async fn create(app: &TestApp, token: &str, body: &Value) -> Value {
    let answer = app.post_as(token, "/api/v1/meetings", body).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    answer.json()
}

async fn patch(app: &TestApp, token: &str, id: &str, body: &Value) -> Answer {
    app.with_bearer(token, TestRequest::patch().uri(&format!("/api/v1/meetings/{id}")).set_json(body)).await
}

async fn put_attendance(app: &TestApp, token: &str, id: &str, records: Value) -> Answer {
    let request =
        TestRequest::put().uri(&format!("/api/v1/meetings/{id}/attendance")).set_json(json!({"records": records}));
    app.with_bearer(token, request).await
}

async fn upload(app: &TestApp, token: &str, bytes: &[u8]) -> Answer {
    let request = TestRequest::post()
        .uri("/api/v1/meetings/attachments?name=tai-lieu.pdf")
        .insert_header(("content-type", "application/pdf"))
        .set_payload(bytes.to_vec());
    app.with_bearer(token, request).await
}

/// A PDF of its own for each upload, so that each is a new file.
fn pdf(tag: usize) -> Vec<u8> {
    let mut bytes = PDF.to_vec();
    bytes.extend_from_slice(format!("% {tag}\n").as_bytes());
    bytes
}

fn statuses_of(answers: &[Answer]) -> Vec<u16> {
    answers.iter().map(|a| a.status.as_u16()).collect()
}

/// Each caller in turn: the statuses, compared with `expected` (naming the route and caller on failure).
fn check(route: &str, got: &[u16], expected: [u16; 7], wrong: &mut Vec<String>) {
    for (index, (got, expected)) in got.iter().zip(expected).enumerate() {
        if *got != expected {
            wrong.push(format!("{route} as {}: {got} (expected {expected})", CALLERS[index]));
        }
    }
}

async fn state_log_rows(app: &TestApp) -> i64 {
    app.count("SELECT count(*) AS n FROM member_state_log WHERE entity = 'meeting'").await
}

both_backends! {
    async fn every_caller_gets_its_status_on_every_meeting_route(app: TestApp) {
        let org = org(&app).await;
        let mut wrong = Vec::new();

        // Schedule: the cell's secretary and deputy, HK's officer and the admin; another cell's secretary and BD's
        // officer may not name this cell (422), a plain member is no manager (403).
        let mut created = Vec::new();
        for (index, token) in org.tokens.iter().enumerate() {
            let answer = app.post_as(token, "/api/v1/meetings", &new_meeting(&format!("Họp {index}"), Duration::days(3))).await;
            created.push(answer);
        }
        check("POST /api/v1/meetings", &statuses_of(&created), [201, 201, 403, 422, 201, 422, 201], &mut wrong);
        assert_eq!(created[3].json()["errors"][0]["field"], "cell");
        assert_eq!(created[5].json()["errors"][0]["field"], "committee_code");
        let id = created[0].json()["id"].as_str().unwrap().to_owned();
        assert_eq!(created[0].json()["status"], "scheduled");
        // The secretary, the deputy, the plain member and the exempt one; not the one who left.
        assert_eq!(created[0].json()["invited"], 4);

        // A past meeting for the attendance.
        let past = create(&app, org.secretary(), &new_meeting("Họp tháng trước", -Duration::hours(2))).await;
        let past = past["id"].as_str().unwrap().to_owned();

        let mut answers = Vec::new();
        for token in &org.tokens {
            answers.push(app.get_as(token, "/api/v1/meetings").await);
        }
        check("GET /api/v1/meetings", &statuses_of(&answers), [200, 200, 403, 200, 200, 200, 200], &mut wrong);
        let holds = |answer: &Answer| answer.json()["items"].as_array().unwrap().iter().any(|m| m["id"] == id.as_str());
        let seen: Vec<bool> = answers.iter().filter(|a| a.status == 200).map(holds).collect();
        assert_eq!(seen, [true, true, false, true, false, true], "who lists the meeting");
        let officer_bd_filtering_hk = app.get_as(&org.tokens[5], "/api/v1/meetings?committee=HK").await;
        assert_eq!(officer_bd_filtering_hk.status, 404);

        let mut answers = Vec::new();
        for token in &org.tokens {
            answers.push(app.get_as(token, &format!("/api/v1/meetings/{id}")).await);
        }
        check("GET /api/v1/meetings/{id}", &statuses_of(&answers), [200, 200, 200, 404, 200, 404, 200], &mut wrong);
        // Managers see every invitee's answer; the invitee does not.
        assert_eq!(answers[0].json()["rsvps"].as_array().unwrap().len(), 4);
        assert_eq!(answers[0].json()["managed"], true);
        assert!(answers[2].json().get("rsvps").is_none() && answers[2].json().get("attendance").is_none());
        assert_eq!(answers[2].json()["managed"], false);
        assert_eq!(app.get_as(&org.outsider, &format!("/api/v1/meetings/{id}")).await.status, 404);

        let mut answers = Vec::new();
        for (index, token) in org.tokens.iter().enumerate() {
            answers.push(patch(&app, token, &id, &json!({"title": format!("Sửa {index}")})).await);
        }
        check("PATCH /api/v1/meetings/{id}", &statuses_of(&answers), [200, 200, 403, 404, 200, 404, 200], &mut wrong);

        let mut answers = Vec::new();
        for token in &org.tokens {
            answers.push(put_attendance(&app, token, &past, json!([{"card_number": "200000003", "attendance": "present"}])).await);
        }
        check("PUT /api/v1/meetings/{id}/attendance", &statuses_of(&answers), [200, 200, 403, 404, 200, 404, 200], &mut wrong);

        let mut answers = Vec::new();
        for (index, token) in org.tokens.iter().enumerate() {
            answers.push(upload(&app, token, &pdf(index)).await);
        }
        check("POST /api/v1/meetings/attachments", &statuses_of(&answers), [201, 201, 403, 201, 201, 201, 201], &mut wrong);
        let sha = answers[0].json()["sha256"].as_str().unwrap().to_owned();
        let answer = patch(&app, org.secretary(), &id, &json!({"materials": [{"sha256": sha, "name": "Dự thảo.pdf"}]})).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert_eq!(answer.json()["materials"][0]["name"], "Dự thảo.pdf");

        // The material: its invitees and managers only.
        let mut answers = Vec::new();
        for token in &org.tokens {
            answers.push(app.get_as(token, &format!("/api/v1/attachments/{sha}")).await);
        }
        check("GET /api/v1/attachments/{sha256} (a material)", &statuses_of(&answers), [200, 200, 200, 404, 200, 404, 200], &mut wrong);
        assert_eq!(answers[2].body.as_ref(), pdf(0).as_slice());
        assert_eq!(app.get_as(&org.outsider, &format!("/api/v1/attachments/{sha}")).await.status, 404);

        let mut answers = Vec::new();
        for token in &org.tokens {
            answers.push(app.post_as(token, &format!("/api/v1/meetings/{id}/cancel"), &json!({})).await);
        }
        check("POST /api/v1/meetings/{id}/cancel", &statuses_of(&answers), [200, 200, 403, 404, 200, 404, 200], &mut wrong);
        assert_eq!(answers[6].json()["status"], "cancelled");
        assert!(wrong.is_empty(), "scope violations:\n{}", wrong.join("\n"));

        // An unknown meeting is not found, for everyone.
        for token in &org.tokens {
            assert_eq!(app.get_as(token, "/api/v1/meetings/no-such-meeting").await.status, 404);
        }
        // Each management action left one audit entry (one cancel: the later ones changed nothing).
        for (action, n) in [("meeting.create", 5), ("meeting.update", 5), ("meeting.attendance", 4), ("meeting.cancel", 1)] {
            let sql: &'static str = match action {
                "meeting.create" => "SELECT count(*) AS n FROM audit_log WHERE action = 'meeting.create'",
                "meeting.update" => "SELECT count(*) AS n FROM audit_log WHERE action = 'meeting.update'",
                "meeting.attendance" => "SELECT count(*) AS n FROM audit_log WHERE action = 'meeting.attendance'",
                _ => "SELECT count(*) AS n FROM audit_log WHERE action = 'meeting.cancel'",
            };
            assert_eq!(app.count(sql).await, n, "{action}");
        }
        // The secretary appears in the log by its card number (its upload included).
        assert_eq!(app.count("SELECT count(*) AS n FROM audit_log WHERE actor = '200000001' AND actor_role = 'member' AND action LIKE 'meeting.%'").await, 6);
        assert_eq!(app.count("SELECT count(*) AS n FROM audit_log WHERE actor = '200000001' AND action = 'attachment.upload'").await, 1);
    }

    async fn invitees_get_the_meeting_its_edits_and_cancellation_through_sync(app: TestApp) {
        let org = org(&app).await;
        let document = publish_new(&app, &org.admin, "Nghị quyết cần học", json!({"committees": ["HK"]})).await;
        let other = publish_new(&app, &org.admin, "Riêng Ba Đình", json!({"committees": ["BD"]})).await;
        let mut phone = SyncClient::register(&app, org.plain()).await;
        let mut outsider = SyncClient::register(&app, &org.outsider).await;
        phone.sync(&app).await;
        outsider.sync(&app).await;

        // A document the cell's members may not read is refused.
        let mut body = new_meeting("Sinh hoạt chi bộ tháng 12", Duration::days(5));
        body["documents"] = json!([other]);
        let refused = app.post_as(org.secretary(), "/api/v1/meetings", &body).await;
        assert_eq!(refused.problem(422)["errors"][0]["field"], "documents");
        body["documents"] = json!([document]);
        let meeting = create(&app, org.secretary(), &body).await;
        let id = meeting["id"].as_str().unwrap().to_owned();
        assert_eq!(meeting["documents"][0]["id"], document.as_str());

        phone.sync(&app).await;
        let held = &phone.state.meetings[&id];
        assert_eq!(held["title"], "Sinh hoạt chi bộ tháng 12");
        assert_eq!(held["status"], "scheduled");
        assert_eq!(held["documents"], json!([document]));
        assert_eq!(held["location"], "Nhà văn hoá tổ dân phố 3");
        outsider.sync(&app).await;
        assert!(outsider.state.meetings.is_empty(), "another cell's member is not invited");

        let edited = patch(&app, &org.tokens[1], &id, &json!({"title": "Sinh hoạt chi bộ (đổi giờ)", "ends_at": at(Duration::days(5) + Duration::hours(2))})).await;
        assert_eq!(edited.status, 200, "{}", edited.text());
        phone.sync(&app).await;
        assert_eq!(phone.state.meetings[&id]["title"], "Sinh hoạt chi bộ (đổi giờ)");
        assert!(phone.state.meetings[&id]["ends_at"].is_string());

        let cancelled = app.post_as(org.officer(), &format!("/api/v1/meetings/{id}/cancel"), &json!({})).await;
        assert_eq!(cancelled.status, 200, "{}", cancelled.text());
        phone.sync(&app).await;
        assert_eq!(phone.state.meetings[&id]["status"], "cancelled");
        // A cancelled meeting is not edited.
        assert_eq!(patch(&app, org.secretary(), &id, &json!({"title": "x"})).await.status, 409);

        // A new device, from scratch, gets the same.
        let mut tablet = SyncClient::register(&app, org.plain()).await;
        tablet.sync(&app).await;
        assert_eq!(tablet.state.meetings, phone.state.meetings);
    }

    async fn members_who_leave_the_cell_get_the_delete_and_those_who_join_before_it_starts_the_invitation(app: TestApp) {
        let org = org(&app).await;
        let upcoming = create(&app, org.secretary(), &new_meeting("Sắp tới", Duration::days(4))).await;
        let started = create(&app, org.secretary(), &new_meeting("Đã bắt đầu", -Duration::hours(1))).await;
        let (upcoming, started) = (upcoming["id"].as_str().unwrap().to_owned(), started["id"].as_str().unwrap().to_owned());
        let mut leaver = SyncClient::register(&app, org.plain()).await;
        let mut joiner = SyncClient::register(&app, &org.outsider).await;
        leaver.sync(&app).await;
        joiner.sync(&app).await;
        assert_eq!(leaver.state.meetings.len(), 2);
        assert!(joiner.state.meetings.is_empty());

        // The plain member moves to cell 2; cell 2's member moves to cell 1; a new member arrives in cell 1.
        let moved = CSV
            .replace("200000003,Lê Văn Thường,HK,Phường Hàng Bạc,Chi bộ 1", "200000003,Lê Văn Thường,HK,Phường Hàng Bạc,Chi bộ 2")
            .replace("200000012,Vũ Thị Khác,HK,Phường Hàng Bạc,Chi bộ 2", "200000012,Vũ Thị Khác,HK,Phường Hàng Bạc,Chi bộ 1")
            + "200000031,Ngô Văn Mới,HK,Phường Hàng Bạc,Chi bộ 1,eligible,\n";
        let outcome = app.import(&org.admin, &moved).await;
        assert_eq!((outcome["created"].as_i64(), outcome["updated"].as_i64()), (Some(1), Some(2)));

        leaver.sync(&app).await;
        assert!(leaver.state.meetings.is_empty(), "the leaver's devices deleted both: {:?}", leaver.state.meetings.keys());
        joiner.sync(&app).await;
        assert_eq!(joiner.state.meetings.keys().collect::<Vec<_>>(), [&upcoming], "joined before the upcoming one only");
        assert_eq!(app.get_as(&org.outsider, &format!("/api/v1/meetings/{upcoming}")).await.status, 200);
        assert_eq!(app.get_as(org.plain(), &format!("/api/v1/meetings/{upcoming}")).await.status, 404);

        // The upcoming meeting: 4 - the leaver + the joiner + the new member; the started one keeps the leaver.
        let view = |id: String| {
            let app = &app;
            let token = org.secretary().to_owned();
            async move { app.get_as(&token, &format!("/api/v1/meetings/{id}")).await.json() }
        };
        let upcoming_view = view(upcoming.clone()).await;
        assert_eq!(upcoming_view["invited"], 5);
        let cards: Vec<&str> = upcoming_view["rsvps"].as_array().unwrap().iter().map(|r| r["card_number"].as_str().unwrap()).collect();
        assert!(cards.contains(&"200000012") && cards.contains(&"200000031") && !cards.contains(&"200000003"), "{cards:?}");
        let started_view = view(started.clone()).await;
        assert_eq!(started_view["invited"], 4);
        assert_eq!(app.count("SELECT count(*) AS n FROM meeting_invitees").await, 9);

        // The member who left the party: its invitation to the upcoming meeting goes too.
        let left = moved.replace("200000012,Vũ Thị Khác,HK,Phường Hàng Bạc,Chi bộ 1,eligible", "200000012,Vũ Thị Khác,HK,Phường Hàng Bạc,Chi bộ 1,left");
        app.import(&org.admin, &left).await;
        assert_eq!(view(upcoming).await["invited"], 4);
        // The meeting log rows of every change went through the member state log, one per (member, meeting).
        assert!(state_log_rows(&app).await >= 9);
    }

    async fn answers_arrive_through_push_once_and_only_from_invitees_of_meetings_not_cancelled(app: TestApp) {
        let org = org(&app).await;
        let meeting = create(&app, org.secretary(), &new_meeting("Họp chi bộ", Duration::days(2))).await;
        let id = meeting["id"].as_str().unwrap().to_owned();
        let cancelled = create(&app, org.secretary(), &new_meeting("Sẽ huỷ", Duration::days(3))).await;
        let cancelled = cancelled["id"].as_str().unwrap().to_owned();
        assert_eq!(app.post_as(org.secretary(), &format!("/api/v1/meetings/{cancelled}/cancel"), &json!({})).await.status, 200);

        let mut phone = SyncClient::register(&app, org.plain()).await;
        let mut tablet = SyncClient::register(&app, org.plain()).await;
        phone.sync(&app).await;
        tablet.sync(&app).await;
        let attend = json!({"type": "rsvp.set", "meeting_id": id, "answer": "absent", "reason": "Đi công tác"});
        let first = phone.enqueue(attend.clone());
        phone.enqueue(json!({"type": "rsvp.set", "meeting_id": cancelled, "answer": "attend"}));
        phone.enqueue(json!({"type": "rsvp.set", "meeting_id": "no-such-meeting", "answer": "attend"}));
        let answer = phone.push(&app, 10).await;
        let results = answer.json()["results"].as_array().unwrap().clone();
        let statuses: Vec<&str> = results.iter().map(|r| r["status"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["applied", "rejected", "rejected"]);
        assert_eq!(results[1]["problem"]["type"], "/problems/conflict");
        assert_eq!(results[2]["problem"]["type"], "/problems/not-found");
        // Sent again (a lost answer): a duplicate, nothing changes.
        let mut again = attend.clone();
        again["id"] = json!(first);
        phone.enqueue_as_is(again);
        let answer = phone.push(&app, 10).await;
        assert_eq!(answer.json()["results"][0]["status"], "duplicate");

        tablet.sync(&app).await;
        assert_eq!(tablet.state.rsvps[&id], ("absent".to_owned(), Some("Đi công tác".to_owned())));
        let view = app.get_as(org.secretary(), &format!("/api/v1/meetings/{id}")).await.json();
        assert_eq!(view["answered"], 1);
        let row = view["rsvps"].as_array().unwrap().iter().find(|r| r["card_number"] == "200000003").unwrap().clone();
        assert_eq!((row["answer"].as_str(), row["reason"].as_str()), (Some("absent"), Some("Đi công tác")));
        // The invitee reads its own answer.
        assert_eq!(app.get_as(org.plain(), &format!("/api/v1/meetings/{id}")).await.json()["rsvp"]["answer"], "absent");

        // The last answer wins; `answered` counts the invitee once.
        tablet.enqueue(json!({"type": "rsvp.set", "meeting_id": id, "answer": "attend"}));
        assert_eq!(tablet.push(&app, 10).await.json()["results"][0]["status"], "applied");
        phone.sync(&app).await;
        assert_eq!(phone.state.rsvps[&id], ("attend".to_owned(), None));
        assert_eq!(app.get_as(org.secretary(), &format!("/api/v1/meetings/{id}")).await.json()["answered"], 1);

        // Not invited: cell 2's member.
        let mut other = SyncClient::register(&app, &org.outsider).await;
        other.enqueue(json!({"type": "rsvp.set", "meeting_id": id, "answer": "attend"}));
        let answer = other.push(&app, 10).await;
        assert_eq!(answer.json()["results"][0]["status"], "rejected");
        assert_eq!(answer.json()["results"][0]["problem"]["type"], "/problems/not-found");
        // A reason past 1,000 characters.
        phone.enqueue(json!({"type": "rsvp.set", "meeting_id": id, "answer": "absent", "reason": "x".repeat(1001)}));
        let answer = phone.push(&app, 10).await;
        assert_eq!(answer.json()["results"][0]["problem"]["errors"][0]["field"], "reason");
    }

    async fn attendance_is_refused_whole_before_the_start_for_strangers_and_unknown_values(app: TestApp) {
        let org = org(&app).await;
        let future = create(&app, org.secretary(), &new_meeting("Chưa họp", Duration::days(1))).await;
        let future = future["id"].as_str().unwrap().to_owned();
        let past = create(&app, org.secretary(), &new_meeting("Đã họp", -Duration::hours(3))).await;
        let past = past["id"].as_str().unwrap().to_owned();

        let early = put_attendance(&app, org.secretary(), &future, json!([{"card_number": "200000003", "attendance": "present"}])).await;
        assert_eq!(early.problem(422)["errors"][0]["field"], "starts_at");
        let stranger = put_attendance(&app, org.secretary(), &past, json!([
            {"card_number": "200000003", "attendance": "present"},
            {"card_number": "200000012", "attendance": "present"},
        ])).await;
        assert_eq!(stranger.problem(422)["errors"][0]["field"], "records[1].card_number");
        let unknown = put_attendance(&app, org.secretary(), &past, json!([{"card_number": "200000003", "attendance": "late"}])).await;
        assert_eq!(unknown.problem(422)["errors"][0]["field"], "records[0].attendance");
        let left = put_attendance(&app, org.secretary(), &past, json!([{"card_number": "200000005", "attendance": "absent"}])).await;
        assert_eq!(left.problem(422)["errors"][0]["field"], "records[0].card_number", "the member who left was not invited");
        assert_eq!(app.count("SELECT count(*) AS n FROM meeting_invitees WHERE attendance IS NOT NULL").await, 0, "nothing stored");

        let recorded = put_attendance(&app, org.secretary(), &past, json!([
            {"card_number": "200000001", "attendance": "present"},
            {"card_number": "200000002", "attendance": "excused"},
            {"card_number": "200000003", "attendance": "present"},
            {"card_number": "200000004", "attendance": "absent"},
        ])).await;
        assert_eq!(recorded.status, 200, "{}", recorded.text());
        assert_eq!(recorded.json()["present"], 2);
        // A record replaces the earlier one of its card.
        let corrected = put_attendance(&app, org.secretary(), &past, json!([{"card_number": "200000003", "attendance": "excused"}])).await;
        assert_eq!(corrected.json()["present"], 1);
        let marks: Vec<(String, Value)> = corrected.json()["attendance"].as_array().unwrap().iter()
            .map(|a| (a["card_number"].as_str().unwrap().to_owned(), a["attendance"].clone())).collect();
        assert!(marks.contains(&("200000003".to_owned(), json!("excused"))) && marks.contains(&("200000002".to_owned(), json!("excused"))));

        assert_eq!(app.post_as(org.secretary(), &format!("/api/v1/meetings/{past}/cancel"), &json!({})).await.status, 200);
        let cancelled = put_attendance(&app, org.secretary(), &past, json!([{"card_number": "200000003", "attendance": "present"}])).await;
        cancelled.problem(422);
    }

    async fn a_position_dropped_by_a_re_import_ends_the_right_at_the_next_request(app: TestApp) {
        let org = org(&app).await;
        let meeting = create(&app, org.secretary(), &new_meeting("Họp", Duration::days(2))).await;
        let id = meeting["id"].as_str().unwrap().to_owned();
        // The same file without the `position` column.
        let without: String = CSV
            .lines()
            .map(|line| line.rsplit_once(',').unwrap().0.to_owned() + "\n")
            .collect();
        app.import(&org.admin, &without).await;
        assert_eq!(app.post_as(org.secretary(), "/api/v1/meetings", &new_meeting("Họp nữa", Duration::days(3))).await.status, 403);
        assert_eq!(patch(&app, org.secretary(), &id, &json!({"title": "Sửa"})).await.status, 403);
        assert_eq!(app.get_as(org.secretary(), "/api/v1/meetings").await.status, 403);
        // Still an invitee of its cell's meeting.
        let view = app.get_as(org.secretary(), &format!("/api/v1/meetings/{id}")).await;
        assert_eq!(view.status, 200);
        assert!(view.json().get("rsvps").is_none());

        // An unknown position: the line and the column.
        let bad = CSV.replace("Chi bộ 1,eligible,secretary", "Chi bộ 1,eligible,chairman");
        let answer = app.post_csv_as(&org.admin, "/api/v1/admin/members/import", &bad).await;
        let problem = answer.problem(422);
        assert_eq!((problem["errors"][0]["line"].as_u64(), problem["errors"][0]["field"].as_str()), (Some(2), Some("position")));
    }

    async fn the_citys_first_import_by_the_bulk_path_stores_positions(app: TestApp) {
        app.seed_committees(&["HK"]).await;
        let admin = app.admin_token().await;
        // 20,000 rows into an empty table: the bulk path (indexes dropped and built again; COPY on PostgreSQL).
        let mut csv = String::from("card_number,full_name,committee_code,unit,cell,status,position\n");
        for n in 0..20_000 {
            let position = match n % 20 {
                0 => "secretary",
                1 => "deputy_secretary",
                _ => "",
            };
            csv.push_str(&format!("3{n:08},Đảng viên {n},HK,Phường {},Chi bộ {},eligible,{position}\n", n / 400, n / 20));
        }
        let outcome = app.import(&admin, &csv).await;
        assert_eq!(outcome["created"], 20_000);
        assert_eq!(app.count("SELECT count(*) AS n FROM members WHERE position = 'secretary'").await, 1_000);
        assert_eq!(app.count("SELECT count(*) AS n FROM members WHERE position = 'deputy_secretary'").await, 1_000);
        // A secretary of that import schedules its cell's meeting: all 20 of the cell are invited.
        let token = app.activate_member(&admin, "300000020", "member password").await["access_token"].as_str().unwrap().to_owned();
        let body = json!({"committee_code": "HK", "unit": "Phường 0", "cell": "Chi bộ 1", "title": "Họp", "starts_at": at(Duration::days(1)),
            "location": "Hội trường", "agenda": ""});
        assert_eq!(create(&app, &token, &body).await["invited"], 20);
    }
}
