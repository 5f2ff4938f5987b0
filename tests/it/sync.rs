//! Devices and the sync feed, on both backends: installations, from-scratch and incremental sync, deletions,
//! schedules, committee moves, 304s, paging, gzip, bad input, and concurrent publishers on PostgreSQL.

use crate::harness;
use crate::harness::{Backend, SyncClient, TestApp, MEMBERS_CSV};
use actix_web::test::TestRequest;
use serde_json::{json, Value};

async fn world(app: &TestApp) -> harness::Organisation {
    app.organisation().await
}

pub(crate) async fn publish_new(app: &TestApp, token: &str, title: &str, audience: Value) -> String {
    let body =
        json!({"title": title, "kind": "thong_bao", "section": "Thông báo", "body": "Nội dung", "audience": audience});
    let created = app.post_as(token, "/api/v1/admin/documents", &body).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    republish(app, token, &id).await;
    id
}

async fn republish(app: &TestApp, token: &str, id: &str) -> Value {
    let answer = app.post_as(token, &format!("/api/v1/admin/documents/{id}/publish"), &json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()
}

async fn edit(app: &TestApp, token: &str, id: &str, body: Value) {
    let answer =
        app.with_bearer(token, TestRequest::patch().uri(&format!("/api/v1/admin/documents/{id}")).set_json(body)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
}

async fn sync_request(app: &TestApp, token: &str, installation: &str, query: &str) -> harness::Answer {
    app.with_bearer(
        token,
        TestRequest::get().uri(&format!("/api/v1/sync{query}")).insert_header(("X-Installation-Id", installation)),
    )
    .await
}

both_backends! {
    async fn polls_note_when_a_device_was_seen_and_the_notes_are_written_in_one_go(app: TestApp) {
        let org = world(&app).await;
        let mut device = harness::SyncClient::register(&app, &org.member_hk).await;
        let id = device.installation_id.clone();
        let last_seen = move |app: &TestApp| {
            let id = id.clone();
            let db = app.db().clone();
            async move {
                db.run(move |conn| {
                    use diesel::prelude::*;
                    use handbook::db::schema::installations as inst;
                    Ok(inst::table.find(&id).select(inst::last_seen_at).get_result::<chrono::NaiveDateTime>(conn)?)
                })
                .await
                .unwrap()
            }
        };
        let two_minutes_ago = chrono::Timelike::with_nanosecond(&(handbook::time::now() - chrono::Duration::minutes(2)), 0).unwrap();
        let stale = two_minutes_ago;
        let id = device.installation_id.clone();
        app.db()
            .run(move |conn| {
                use diesel::prelude::*;
                use handbook::db::schema::installations as inst;
                diesel::update(inst::table.find(&id)).set(inst::last_seen_at.eq(stale)).execute(conn)?;
                Ok(())
            })
            .await
            .unwrap();

        device.sync(&app).await;
        device.sync(&app).await; // a poll: 304
        assert!(device.not_modified >= 1);
        assert_eq!(last_seen(&app).await, two_minutes_ago, "noted, not yet written");
        assert_eq!(handbook::sync::seen::write_pending(&app.state).await.unwrap(), 1, "one device, one write");
        let written = last_seen(&app).await;
        assert!(written > two_minutes_ago + chrono::Duration::seconds(100), "{written}");

        // Within the minute, polls note nothing new.
        device.sync(&app).await;
        assert_eq!(handbook::sync::seen::write_pending(&app.state).await.unwrap(), 0);
        assert_eq!(last_seen(&app).await, written);
    }

    async fn installations_register_idempotently_and_move_only_once_removed(app: TestApp) {
        let w = world(&app).await;
        let id = uuid::Uuid::new_v4().to_string();
        let body = json!({"installation_id": id, "platform": "ios", "app_version": "2.1", "os_version": "17.4", "device_model": "iPhone 13"});
        assert_eq!(app.post_as(&w.member_hk, "/api/v1/installations", &body).await.status, 201);
        assert_eq!(app.post_as(&w.member_hk, "/api/v1/installations", &body).await.status, 200);
        let mine = app.get_as(&w.member_hk, "/api/v1/installations").await.json();
        assert_eq!(mine["items"].as_array().unwrap().len(), 1);
        assert_eq!(mine["items"][0]["device_model"], "iPhone 13");
        let member = app.get_as(&w.admin, "/api/v1/admin/members/100000001").await.json();
        assert_eq!((member["installed"].clone(), member["installations"][0]["installation_id"].clone()), (json!(true), json!(id)));
        let installed = app.get_as(&w.admin, "/api/v1/admin/members?installed=true").await.json();
        assert_eq!(installed["items"].as_array().unwrap().len(), 1);

        // The same device signed in by another member stays its owner's (409) until its owner removes it; then it
        // moves to that member.
        app.post_as(&w.member_bd, "/api/v1/installations", &body).await.problem(409);
        assert_eq!(app.get_as(&w.member_hk, "/api/v1/installations").await.json()["items"].as_array().unwrap().len(), 1);
        let path = format!("/api/v1/installations/{id}");
        app.with_bearer(&w.member_bd, TestRequest::delete().uri(&path)).await.problem(404);
        assert_eq!(app.with_bearer(&w.member_hk, TestRequest::delete().uri(&path)).await.status, 204);
        assert_eq!(app.post_as(&w.member_bd, "/api/v1/installations", &body).await.status, 200);
        assert!(app.get_as(&w.member_hk, "/api/v1/installations").await.json()["items"].as_array().unwrap().is_empty());
        app.with_bearer(&w.member_hk, TestRequest::delete().uri(&path)).await.problem(404);
        assert_eq!(app.with_bearer(&w.member_bd, TestRequest::delete().uri(&path)).await.status, 204);
        assert_eq!(app.get_as(&w.admin, "/api/v1/admin/members/100000004").await.json()["installed"], false);

        let bad = json!({"installation_id": "not-a-uuid", "platform": "symbian", "app_version": ""});
        assert_eq!(app.post_as(&w.member_hk, "/api/v1/installations", &bad).await.problem(422)["errors"].as_array().unwrap().len(), 3);
    }

    async fn a_device_follows_publishes_withdrawals_and_audience_changes(app: TestApp) {
        let w = world(&app).await;
        let city = publish_new(&app, &w.admin, "Chỉ thị toàn thành phố", json!({"all": true})).await;
        let hk = publish_new(&app, &w.admin, "Thông báo Hoàn Kiếm", json!({"committees": ["HK"]})).await;
        publish_new(&app, &w.admin, "Thông báo Ba Đình", json!({"committees": ["BD"]})).await;

        let mut phone = SyncClient::register(&app, &w.member_hk).await;
        phone.sync(&app).await;
        assert_eq!(phone.titles(), titles_sorted(&["Chỉ thị toàn thành phố", "Thông báo Hoàn Kiếm"]));

        // Nothing new: 304 with no body.
        phone.sync(&app).await;
        assert_eq!(phone.not_modified, 1);

        // Five publishes arrive as one change at the latest revision.
        for n in 0..5 {
            edit(&app, &w.admin, &city, json!({"title": format!("Chỉ thị v{n}")})).await;
            republish(&app, &w.admin, &city).await;
        }
        phone.sync(&app).await;
        assert_eq!(phone.documents[&city], (6, "Chỉ thị v4".to_owned()));

        // Withdrawn, and moved out of HK's audience: both become deletes.
        app.post_as(&w.admin, &format!("/api/v1/admin/documents/{city}/unpublish"), &json!({})).await;
        edit(&app, &w.admin, &hk, json!({"audience": {"committees": ["BD"]}})).await;
        republish(&app, &w.admin, &hk).await;
        phone.sync(&app).await;
        assert!(phone.documents.is_empty(), "{:?}", phone.documents);

        // A device that starts from scratch agrees.
        let mut tablet = SyncClient::register(&app, &w.member_hk).await;
        tablet.sync(&app).await;
        assert_eq!(tablet.documents, phone.documents);
        let mut bd_phone = SyncClient::register(&app, &w.member_bd).await;
        bd_phone.sync(&app).await;
        assert_eq!(bd_phone.titles(), titles_sorted(&["Thông báo Ba Đình", "Thông báo Hoàn Kiếm"]));
        let acked = app.count("SELECT count(*) AS n FROM installations WHERE acked_seq IS NOT NULL").await;
        assert_eq!(acked, 3);
    }

    async fn scheduled_and_expiring_documents_reach_devices_on_time(app: TestApp) {
        let w = world(&app).await;
        let now = chrono::Utc::now();
        let body = json!({"title": "Lịch họp chi bộ", "kind": "thong_bao", "section": "", "body": "x", "audience": {"all": true},
            "publish_at": (now + chrono::Duration::hours(1)).to_rfc3339(), "expires_at": (now + chrono::Duration::hours(2)).to_rfc3339()});
        let id = app.post_as(&w.admin, "/api/v1/admin/documents", &body).await.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(republish(&app, &w.admin, &id).await["status"], "scheduled");
        let mut phone = SyncClient::register(&app, &w.member_hk).await;
        phone.sync(&app).await;
        assert!(phone.documents.is_empty());
        let run_at = |minutes: i64| {
            let at = (now + chrono::Duration::minutes(minutes)).naive_utc();
            app.db().run(move |conn| Ok(handbook::content::schedule::run_due(conn, at)?))
        };
        run_at(61).await.unwrap();
        phone.sync(&app).await;
        assert_eq!(phone.titles(), vec!["Lịch họp chi bộ"]);
        run_at(121).await.unwrap();
        phone.sync(&app).await;
        assert!(phone.documents.is_empty());
    }

    async fn a_member_who_moves_committee_starts_over(app: TestApp) {
        let w = world(&app).await;
        publish_new(&app, &w.admin, "Riêng Hoàn Kiếm", json!({"committees": ["HK"]})).await;
        publish_new(&app, &w.admin, "Riêng Ba Đình", json!({"committees": ["BD"]})).await;
        let mut phone = SyncClient::register(&app, &w.member_hk).await;
        phone.sync(&app).await;
        assert_eq!(phone.titles(), vec!["Riêng Hoàn Kiếm"]);
        let moved = MEMBERS_CSV.replace("100000001,Nguyễn Văn A,HK,", "100000001,Nguyễn Văn A,BD,");
        app.import(&w.admin, &moved).await;
        phone.etag = None;
        phone.sync(&app).await;
        assert_eq!(phone.restarts, 1, "the old cursor answered 410");
        assert_eq!(phone.titles(), vec!["Riêng Ba Đình"]);
    }

    async fn pages_are_bounded_and_gzip_is_honoured(app: TestApp) {
        let w = world(&app).await;
        for n in 0..7 {
            publish_new(&app, &w.admin, &format!("Văn bản {n}"), json!({"all": true})).await;
        }
        let mut phone = SyncClient::register(&app, &w.member_hk).await;
        let first = sync_request(&app, &w.member_hk, &phone.installation_id, "?limit=3").await.json();
        assert_eq!((first["changes"].as_array().unwrap().len(), first["has_more"].clone()), (3, json!(true)));
        phone.sync(&app).await; // follows pages of 3 to the end
        assert_eq!(phone.documents.len(), 7);
        let zipped = app.with_bearer(&w.member_hk, TestRequest::get().uri("/api/v1/sync")
            .insert_header(("X-Installation-Id", phone.installation_id.as_str()))
            .insert_header(("Accept-Encoding", "gzip"))).await;
        assert_eq!(zipped.header("content-encoding"), Some("gzip"));
        let mut text = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&zipped.body[..]), &mut text).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap()["changes"].as_array().unwrap().len(), 7);
    }

    async fn bad_sync_requests_get_clear_4xx_and_nobody_elses_data(app: TestApp) {
        let w = world(&app).await;
        publish_new(&app, &w.admin, "Riêng Hoàn Kiếm", json!({"committees": ["HK"]})).await;
        let mut hk_phone = SyncClient::register(&app, &w.member_hk).await;
        hk_phone.sync(&app).await;
        let bd_phone = SyncClient::register(&app, &w.member_bd).await;
        let no_header = app.get_as(&w.member_hk, "/api/v1/sync").await;
        no_header.problem(400);
        sync_request(&app, &w.member_hk, &uuid::Uuid::new_v4().to_string(), "").await.problem(404);
        sync_request(&app, &w.member_hk, &bd_phone.installation_id, "").await.problem(404);
        sync_request(&app, &w.member_hk, &hk_phone.installation_id, "?limit=0").await.problem(422);
        sync_request(&app, &w.member_hk, &hk_phone.installation_id, "?limit=1000000000").await.problem(422);
        sync_request(&app, &w.member_hk, &hk_phone.installation_id, "?cursor=garbage").await.problem(400);
        // HK's cursor presented by a BD member: refused, and nothing of HK's leaks.
        let stolen = format!("?cursor={}", hk_phone.cursor.clone().unwrap());
        sync_request(&app, &w.member_bd, &bd_phone.installation_id, &stolen).await.problem(400);
        app.get_as(&w.admin, "/api/v1/sync").await.problem(403);
        let ack = json!({"installation_id": bd_phone.installation_id, "cursor": hk_phone.cursor});
        app.post_as(&w.member_bd, "/api/v1/sync/ack", &ack).await.problem(422);
        let ack = json!({"installation_id": bd_phone.installation_id, "cursor": hk_phone.cursor});
        app.post_as(&w.member_hk, "/api/v1/sync/ack", &ack).await.problem(404);
    }
}

fn titles_sorted(titles: &[&str]) -> Vec<String> {
    let mut titles: Vec<String> = titles.iter().map(|t| t.to_string()).collect();
    titles.sort();
    titles
}

/// Publishers and syncing devices at the same time, on PostgreSQL where transactions really overlap: every
/// device must end with exactly the set of documents the server shows its member.
#[actix_web::test]
async fn concurrent_publishers_and_syncing_devices_agree_on_postgres() {
    let app = TestApp::start(Backend::Postgres).await;
    let w = world(&app).await;
    let officer = app.staff_token("officer.hk", "officer", Some("HK")).await;
    let publishers = async {
        let mut ids = Vec::new();
        for n in 0..24 {
            let (token, audience) = match n % 3 {
                0 => (&w.admin, json!({"all": true})),
                1 => (&officer, json!({"committees": ["HK"]})),
                _ => (&w.admin, json!({"committees": ["BD"]})),
            };
            ids.push((token.clone(), publish_new(&app, token, &format!("Văn bản {n}"), audience).await));
            if n % 4 == 3 {
                let (token, id) = &ids[n / 2];
                app.post_as(token, &format!("/api/v1/admin/documents/{id}/unpublish"), &json!({})).await;
            }
            if n % 5 == 4 {
                let (token, id) = &ids[n / 3];
                republish(&app, token, id).await;
            }
        }
    };
    let second_admin = app.staff_token("admin.two", "admin", None).await;
    let more_publishers = async {
        for n in 0..16 {
            publish_new(&app, &second_admin, &format!("Tin tức {n}"), json!({"committees": ["HK", "BD"]})).await;
        }
    };
    let devices = async {
        let mut phones =
            vec![SyncClient::register(&app, &w.member_hk).await, SyncClient::register(&app, &w.member_bd).await];
        for _ in 0..30 {
            for phone in phones.iter_mut() {
                phone.etag = None;
                phone.sync(&app).await;
            }
        }
        phones
    };
    let ((), (), mut phones) = futures_util::future::join3(publishers, more_publishers, devices).await;
    for (phone, token) in phones.iter_mut().zip([&w.member_hk, &w.member_bd]) {
        phone.etag = None;
        phone.sync(&app).await;
        let visible = app.get_as(token, "/api/v1/documents?limit=1000").await.json();
        let expected: std::collections::BTreeMap<String, (i64, String)> = visible["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["id"].as_str().unwrap().to_owned(),
                    (d["revision"].as_i64().unwrap(), d["title"].as_str().unwrap().to_owned()),
                )
            })
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(phone.documents, expected, "a device lost or kept a change");
    }
}
