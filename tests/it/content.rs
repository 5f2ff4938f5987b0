//! Publishing: drafts, revisions, restore, unpublish, audiences, officer scoping, schedules, search and the
//! audit log, on both backends.

use crate::harness;
use crate::harness::TestApp;
use actix_web::test::TestRequest;
use serde_json::{json, Value};

struct Handbook {
    admin: String,
    officer_hk: String,
    member_hk: String,
    member_bd: String,
}

async fn handbook(app: &TestApp) -> Handbook {
    let harness::Organisation { admin, member_hk, member_bd } = app.organisation().await;
    let officer_hk = app.staff_token("officer.hk", "officer", Some("HK")).await;
    Handbook { admin, officer_hk, member_hk, member_bd }
}

fn draft(title: &str, audience: Value) -> Value {
    json!({"title": title, "kind": "nghi_quyet", "section": "Nghị quyết Đại hội XIII", "body": "# Nội dung\n\nToàn văn.", "audience": audience})
}

async fn create(app: &TestApp, token: &str, body: Value) -> String {
    let answer = app.post_as(token, "/api/v1/admin/documents", &body).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let created = answer.json();
    assert_eq!(created["status"], "draft");
    created["id"].as_str().unwrap().to_owned()
}

async fn publish(app: &TestApp, token: &str, id: &str) -> Value {
    let answer = app.post_as(token, &format!("/api/v1/admin/documents/{id}/publish"), &json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()
}

async fn titles_seen_by(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let answer = app.get_as(token, &format!("/api/v1/documents{query}")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["items"].as_array().unwrap().iter().map(|d| d["title"].as_str().unwrap().to_owned()).collect()
}

async fn patch(app: &TestApp, token: &str, id: &str, body: Value) -> harness::Answer {
    app.with_bearer(token, TestRequest::patch().uri(&format!("/api/v1/admin/documents/{id}")).set_json(body)).await
}

both_backends! {
    async fn drafts_publish_into_revisions_that_restore_and_withdraw(app: TestApp) {
        let h = handbook(&app).await;
        let id = create(&app, &h.admin, draft("Nghị quyết số 1", json!({"all": true}))).await;
        assert!(titles_seen_by(&app, &h.member_hk, "").await.is_empty(), "a draft is not visible");
        app.get_as(&h.member_hk, &format!("/api/v1/documents/{id}")).await.problem(404);

        assert_eq!(publish(&app, &h.admin, &id).await, json!({"id": id, "revision": 1, "status": "published"}));
        let seen = app.get_as(&h.member_hk, &format!("/api/v1/documents/{id}")).await.json();
        assert_eq!((seen["revision"].clone(), seen["title"].clone()), (json!(1), json!("Nghị quyết số 1")));
        assert_eq!(seen["body"], "# Nội dung\n\nToàn văn.", "Markdown is stored and served as given");

        // Editing a published document edits its draft; members keep revision 1 until the next publish.
        let edited = patch(&app, &h.admin, &id, json!({"title": "Nghị quyết số 1 (sửa đổi)"})).await.json();
        assert_eq!(edited["draft_changed"], true);
        assert_eq!(titles_seen_by(&app, &h.member_hk, "").await, vec!["Nghị quyết số 1"]);
        assert_eq!(publish(&app, &h.admin, &id).await["revision"], 2);
        assert_eq!(titles_seen_by(&app, &h.member_hk, "").await, vec!["Nghị quyết số 1 (sửa đổi)"]);

        let revisions = app.get_as(&h.admin, &format!("/api/v1/admin/documents/{id}/revisions")).await.json();
        let listed: Vec<_> = revisions["items"].as_array().unwrap().iter().map(|r| (r["revision"].clone(), r["title"].clone(), r["published_by"].clone())).collect();
        assert_eq!(listed, vec![(json!(1), json!("Nghị quyết số 1"), json!("city.admin")), (json!(2), json!("Nghị quyết số 1 (sửa đổi)"), json!("city.admin"))]);

        let restored = app.post_as(&h.admin, &format!("/api/v1/admin/documents/{id}/revisions/1/restore"), &json!({})).await.json();
        assert_eq!(restored["revision"], 3);
        assert_eq!(titles_seen_by(&app, &h.member_hk, "").await, vec!["Nghị quyết số 1"]);
        app.post_as(&h.admin, &format!("/api/v1/admin/documents/{id}/revisions/9/restore"), &json!({})).await.problem(404);

        let withdrawn = app.post_as(&h.admin, &format!("/api/v1/admin/documents/{id}/unpublish"), &json!({})).await;
        assert_eq!(withdrawn.json()["status"], "unpublished");
        assert!(titles_seen_by(&app, &h.member_hk, "").await.is_empty());
        app.post_as(&h.admin, &format!("/api/v1/admin/documents/{id}/unpublish"), &json!({})).await.problem(409);
        let listed = app.get_as(&h.admin, "/api/v1/admin/documents?status=unpublished").await.json();
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    }

    async fn members_read_only_what_is_addressed_to_their_committee(app: TestApp) {
        let h = handbook(&app).await;
        let everyone = create(&app, &h.admin, draft("Chỉ thị cho toàn thành phố", json!({"all": true}))).await;
        let hk_only = create(&app, &h.admin, draft("Thông báo riêng Hoàn Kiếm", json!({"committees": ["hk"]}))).await;
        publish(&app, &h.admin, &everyone).await;
        publish(&app, &h.admin, &hk_only).await;
        let mut hk = titles_seen_by(&app, &h.member_hk, "").await;
        hk.sort();
        assert_eq!(hk, vec!["Chỉ thị cho toàn thành phố", "Thông báo riêng Hoàn Kiếm"]);
        assert_eq!(titles_seen_by(&app, &h.member_bd, "").await, vec!["Chỉ thị cho toàn thành phố"]);
        app.get_as(&h.member_bd, &format!("/api/v1/documents/{hk_only}")).await.problem(404);

        // Changing the audience is a publish: BD gains it, HK loses it.
        patch(&app, &h.admin, &hk_only, json!({"audience": {"committees": ["BD"]}})).await;
        assert_eq!(titles_seen_by(&app, &h.member_bd, "").await.len(), 1, "not before the publish");
        publish(&app, &h.admin, &hk_only).await;
        assert_eq!(titles_seen_by(&app, &h.member_bd, "").await.len(), 2);
        assert_eq!(titles_seen_by(&app, &h.member_hk, "").await, vec!["Chỉ thị cho toàn thành phố"]);
    }

    async fn officers_publish_only_to_and_edit_only_their_committee(app: TestApp) {
        let h = handbook(&app).await;
        let city = app.post_as(&h.officer_hk, "/api/v1/admin/documents", &draft("X", json!({"all": true}))).await.problem(422);
        assert_eq!(city["errors"][0]["field"], "audience");
        app.post_as(&h.officer_hk, "/api/v1/admin/documents", &draft("X", json!({"committees": ["HK", "BD"]}))).await.problem(422);
        let own = create(&app, &h.officer_hk, draft("Kế hoạch của Quận ủy", json!({"committees": ["HK"]}))).await;
        assert_eq!(publish(&app, &h.officer_hk, &own).await["status"], "published");
        assert_eq!(titles_seen_by(&app, &h.member_hk, "").await, vec!["Kế hoạch của Quận ủy"]);

        let admins = create(&app, &h.admin, draft("Của Thành ủy", json!({"committees": ["HK"]}))).await;
        app.post_as(&h.officer_hk, &format!("/api/v1/admin/documents/{admins}/publish"), &json!({})).await.problem(404);
        patch(&app, &h.officer_hk, &admins, json!({"title": "hijacked"})).await.problem(404);
        let officer_b = app.staff_token("officer.bd", "officer", Some("BD")).await;
        app.get_as(&officer_b, &format!("/api/v1/admin/documents/{own}")).await.problem(404);
        let listed = app.get_as(&h.officer_hk, "/api/v1/admin/documents").await.json();
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);
        app.post_as(&h.member_hk, "/api/v1/admin/documents", &draft("X", json!({"committees": ["HK"]}))).await.problem(403);
    }

    async fn bad_drafts_are_refused_with_nothing_written(app: TestApp) {
        let h = handbook(&app).await;
        let mut bad = draft(&"T".repeat(501), json!({"committees": ["ZZ"]}));
        bad["kind"] = json!("poem");
        bad["publish_at"] = json!("2030-01-02T00:00:00Z");
        bad["expires_at"] = json!("2030-01-01T00:00:00Z");
        bad["attachments"] = json!([{"sha256": "0".repeat(64), "name": "x.pdf"}]);
        let problem = app.post_as(&h.admin, "/api/v1/admin/documents", &bad).await.problem(422);
        let fields: Vec<&str> = problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        for field in ["title", "kind", "audience", "expires_at", "attachments"] {
            assert!(fields.contains(&field), "{field} missing in {fields:?}");
        }
        let mut unknown_field = draft("T", json!({"all": true}));
        unknown_field["colour"] = json!("red");
        app.post_as(&h.admin, "/api/v1/admin/documents", &unknown_field).await.problem(400);
        app.post_as(&h.admin, "/api/v1/admin/documents", &draft("T", json!({"all": true, "committees": ["HK"]}))).await.problem(422);
        assert_eq!(app.count("SELECT count(*) AS n FROM documents").await, 0);
    }

    async fn scheduled_documents_appear_and_expire_on_the_clock(app: TestApp) {
        let h = handbook(&app).await;
        let now = chrono::Utc::now();
        let mut body = draft("Thông báo lịch họp", json!({"all": true}));
        body["publish_at"] = json!((now + chrono::Duration::hours(1)).to_rfc3339());
        body["expires_at"] = json!((now + chrono::Duration::hours(2)).to_rfc3339());
        let id = create(&app, &h.admin, body).await;
        assert_eq!(publish(&app, &h.admin, &id).await["status"], "scheduled");
        assert!(titles_seen_by(&app, &h.member_hk, "").await.is_empty());

        let run_at = |offset_minutes: i64| {
            let at = (now + chrono::Duration::minutes(offset_minutes)).naive_utc();
            app.db().run(move |conn| Ok(handbook::content::schedule::run_due(conn, at)?))
        };
        assert_eq!(run_at(30).await.unwrap(), 0);
        assert_eq!(run_at(61).await.unwrap(), 1);
        assert_eq!(titles_seen_by(&app, &h.member_hk, "").await, vec!["Thông báo lịch họp"]);
        assert_eq!(run_at(90).await.unwrap(), 0);
        assert_eq!(run_at(121).await.unwrap(), 1);
        assert!(titles_seen_by(&app, &h.member_hk, "").await.is_empty());
        let listed = app.get_as(&h.admin, "/api/v1/admin/documents?status=expired").await.json();
        assert_eq!(listed["items"][0]["id"], json!(id));
    }

    async fn search_finds_vietnamese_typed_without_diacritics(app: TestApp) {
        let h = handbook(&app).await;
        let mut in_body = draft("Hướng dẫn sinh hoạt chi bộ", json!({"all": true}));
        in_body["body"] = json!("Thực hiện Nghị quyết về công tác xây dựng Đảng.");
        in_body["kind"] = json!("huong_dan");
        let body_hit = create(&app, &h.admin, in_body).await;
        let title_hit = create(&app, &h.admin, draft("Nghị quyết Trung ương 4", json!({"all": true}))).await;
        let mut holiday = draft("Thông báo nghỉ lễ", json!({"all": true}));
        holiday["section"] = json!("Thông báo");
        let miss = create(&app, &h.admin, holiday).await;
        for id in [&body_hit, &title_hit, &miss] {
            publish(&app, &h.admin, id).await;
        }
        let found = titles_seen_by(&app, &h.member_hk, "?q=nghi%20quyet").await;
        assert_eq!(found, vec!["Nghị quyết Trung ương 4", "Hướng dẫn sinh hoạt chi bộ"], "title matches rank first");
        assert_eq!(titles_seen_by(&app, &h.member_hk, "?q=NGH%E1%BB%8A%20QUY%E1%BA%BET").await.len(), 2); // "NGHỊ QUYẾT"
        assert_eq!(titles_seen_by(&app, &h.member_hk, "?kind=huong_dan").await, vec!["Hướng dẫn sinh hoạt chi bộ"]);
        app.get_as(&h.member_hk, "/api/v1/documents?kind=poem").await.problem(422);
        let first = app.get_as(&h.member_hk, "/api/v1/documents?limit=2").await.json();
        assert_eq!(first["items"].as_array().unwrap().len(), 2);
        let next = first["next"].as_str().unwrap();
        let second = app.get_as(&h.member_hk, &format!("/api/v1/documents?limit=2&after={next}")).await.json();
        assert_eq!(second["items"].as_array().unwrap().len(), 1);
        assert!(second["next"].is_null());
    }

    async fn concurrent_publishes_make_ordered_revisions(app: TestApp) {
        let h = handbook(&app).await;
        let id = create(&app, &h.admin, draft("Văn kiện", json!({"all": true}))).await;
        let path = format!("/api/v1/admin/documents/{id}/publish");
        let (a, b) = futures_util::future::join(app.post_as(&h.admin, &path, &json!({})), app.post_as(&h.admin, &path, &json!({}))).await;
        let mut revisions = vec![a.json()["revision"].as_i64().unwrap(), b.json()["revision"].as_i64().unwrap()];
        revisions.sort();
        assert_eq!(revisions, vec![1, 2]);
    }

    async fn every_management_action_is_audited(app: TestApp) {
        let h = handbook(&app).await;
        let id = create(&app, &h.officer_hk, draft("Kế hoạch", json!({"committees": ["HK"]}))).await;
        publish(&app, &h.officer_hk, &id).await;
        app.post_as(&h.officer_hk, &format!("/api/v1/admin/documents/{id}/unpublish"), &json!({})).await;
        let everything = app.get_as(&h.admin, "/api/v1/admin/audit?limit=1000").await.json();
        let actions: Vec<&str> = everything["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        for action in ["members.import", "activation_code.issue", "document.create", "document.publish", "document.unpublish"] {
            assert!(actions.contains(&action), "{action} missing from {actions:?}");
        }
        let newest = &everything["items"][0];
        assert_eq!((newest["action"].clone(), newest["actor"].clone(), newest["target"].clone()), (json!("document.unpublish"), json!("officer.hk"), json!(id)));
        let officers = app.get_as(&h.officer_hk, "/api/v1/admin/audit").await.json();
        assert!(officers["items"].as_array().unwrap().iter().all(|e| e["committee_code"] == "HK"));
        app.get_as(&h.member_hk, "/api/v1/admin/audit").await.problem(403);
    }

    async fn the_demo_handbook_is_published_through_the_same_code(app: TestApp) {
        let h = handbook(&app).await;
        let blobs = app.state.blobs.clone();
        let now = handbook::time::now();
        let loaded = app.db().run(move |conn| handbook::content::demo::load(conn, &blobs, 80, 7, now)).await.unwrap();
        assert_eq!(loaded, (76, 4), "80 documents: 76 published at least once, 4 drafts");
        let count = |status: &'static str| {
            let app = &app;
            let admin = h.admin.clone();
            async move {
                app.get_as(&admin, &format!("/api/v1/admin/documents?status={status}&limit=1000")).await.json()["items"].as_array().unwrap().len()
            }
        };
        assert_eq!((count("scheduled").await, count("expired").await), (4, 4));
        assert_eq!((count("draft").await, count("unpublished").await), (4, 2));
        assert_eq!(count("published").await, 66);
        let seen = app.get_as(&h.member_hk, "/api/v1/documents?limit=1000").await.json();
        let items = seen["items"].as_array().unwrap();
        assert!(items.len() >= 50, "{}", items.len());
        let with_pdf = items.iter().find(|d| !d["attachments"].as_array().unwrap().is_empty()).expect("a document with a PDF");
        let sha = with_pdf["attachments"][0]["sha256"].as_str().unwrap();
        let pdf = app.get_as(&h.member_hk, &format!("/api/v1/attachments/{sha}")).await;
        assert_eq!(pdf.status, 200);
        assert!(pdf.body.starts_with(b"%PDF-1.4") && pdf.body.ends_with(b"%%EOF\n"));
    }
}
