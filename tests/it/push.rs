//! Member state, two-way, on both backends: `POST /api/v1/sync/push` applies each mutation exactly once, in order,
//! with a final result each; what a push changes reaches the member's other devices through the sync feed; member
//! state stays private. A property test drives three devices of one member through random offline work, lost
//! answers, re-sends and restarts against a model; the binary is killed mid push and the pushes re-sent.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use actix_web::test::TestRequest;
use diesel::prelude::*;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::crash::Place;
use crate::harness::console::Console;
use crate::harness::process::{body_of, http_request, post_json, serve_logging_to, status_of};
use crate::harness::sync_client::{HeldNote, MemberState, TimelessState};
use crate::harness::{self, routes, Backend, SyncClient, TestApp, STAFF_PASSWORD};
use crate::sync::publish_new;

/// The member state's world: member A of HK (card 100000001), member B of BD, documents HK's members may see
/// (`visible`, with their latest revisions) and ones they may not (`hidden`).
struct World {
    org: harness::Organisation,
    visible: Vec<(String, i64)>,
    hidden: Vec<String>,
}

async fn world(app: &TestApp) -> World {
    let org = app.organisation().await;
    let city = publish_new(app, &org.admin, "Chỉ thị toàn thành phố", json!({"all": true})).await;
    let hk = publish_new(app, &org.admin, "Thông báo Hoàn Kiếm", json!({"committees": ["HK"]})).await;
    // A second revision: read.mark may name revision 1 or 2.
    let edited = app
        .with_bearer(
            &org.admin,
            TestRequest::patch()
                .uri(&format!("/api/v1/admin/documents/{hk}"))
                .set_json(json!({"title": "Thông báo Hoàn Kiếm (sửa)"})),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text());
    assert_eq!(app.post_as(&org.admin, &format!("/api/v1/admin/documents/{hk}/publish"), &json!({})).await.status, 200);
    let third = publish_new(app, &org.admin, "Nghị quyết số 12", json!({"committees": ["HK", "BD"]})).await;
    let bd = publish_new(app, &org.admin, "Riêng Ba Đình", json!({"committees": ["BD"]})).await;
    let withdrawn = publish_new(app, &org.admin, "Đã thu hồi", json!({"all": true})).await;
    let answer = app.post_as(&org.admin, &format!("/api/v1/admin/documents/{withdrawn}/unpublish"), &json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    World {
        org,
        visible: vec![(city, 1), (hk, 2), (third, 1)],
        hidden: vec![bd, withdrawn, "00000000-0000-4000-8000-00000000dead".to_owned()],
    }
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The member's state as the server stores it, in the shape devices hold it.
async fn server_state(app: &TestApp, card_number: &'static str) -> MemberState {
    app.db()
        .run(move |conn| {
            use handbook::db::schema::{
                member_bookmarks as b, member_notes as n, member_progress as p, member_reads as r, members as m,
            };
            use handbook::time::rfc3339;
            let member: i64 = m::table.filter(m::card_number.eq(card_number)).select(m::id).get_result(conn)?;
            let mut state = MemberState::default();
            for (document, at) in b::table
                .filter(b::member_id.eq(member))
                .select((b::document_id, b::created_at))
                .load::<(String, chrono::NaiveDateTime)>(conn)?
            {
                state.bookmarks.insert(document, rfc3339(at));
            }
            for (id, document_id, anchor, text, at) in n::table
                .filter(n::member_id.eq(member))
                .select((n::note_id, n::document_id, n::anchor, n::text, n::updated_at))
                .load::<(String, String, String, String, chrono::NaiveDateTime)>(conn)?
            {
                state.notes.insert(id, HeldNote { document_id, anchor, text, updated_at: rfc3339(at) });
            }
            for (document, position) in p::table
                .filter(p::member_id.eq(member))
                .select((p::document_id, p::position))
                .load::<(String, f64)>(conn)?
            {
                state.progress.insert(document, position);
            }
            for (document, revision, at) in r::table
                .filter(r::member_id.eq(member))
                .select((r::document_id, r::revision, r::read_at))
                .load::<(String, i64, chrono::NaiveDateTime)>(conn)?
            {
                state.reads.insert(document, (revision, rfc3339(at)));
            }
            Ok(state)
        })
        .await
        .unwrap()
}

async fn push_request(app: &TestApp, token: &str, installation: &str, body: Value) -> harness::Answer {
    let request =
        TestRequest::post().uri("/api/v1/sync/push").insert_header(("X-Installation-Id", installation)).set_json(body);
    app.with_bearer(token, request).await
}

fn statuses(answer: &harness::Answer) -> Vec<String> {
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["results"].as_array().unwrap().iter().map(|r| r["status"].as_str().unwrap().to_owned()).collect()
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    app.count(sql).await
}

both_backends! {
    async fn each_type_is_applied_once_and_reaches_the_members_other_devices(app: TestApp) {
        let w = world(&app).await;
        let (doc, _) = w.visible[0].clone();
        let (hk_doc, hk_revision) = w.visible[1].clone();
        let mut phone = SyncClient::register(&app, &w.org.member_hk).await;
        let mut tablet = SyncClient::register(&app, &w.org.member_hk).await;
        phone.sync(&app).await;
        tablet.sync(&app).await;
        let note = uuid();
        phone.enqueue(json!({"type": "bookmark.set", "document_id": doc}));
        phone.enqueue(json!({"type": "note.set", "note_id": note, "document_id": doc, "anchor": "p:3", "text": "Học kỹ phần ba"}));
        phone.enqueue(json!({"type": "progress.set", "document_id": doc, "position": 0.4}));
        phone.enqueue(json!({"type": "read.mark", "document_id": hk_doc, "revision": hk_revision}));
        phone.enqueue(json!({"type": "bookmark.set", "document_id": hk_doc}));
        assert_eq!(statuses(&phone.push(&app, 50).await), ["applied"; 5]);
        assert!(phone.queue.is_empty());

        tablet.sync(&app).await;
        let server = server_state(&app, "100000001").await;
        assert_eq!(tablet.state, server, "the other device got every change");
        assert_eq!(server.timeless(), TimelessState {
            bookmarks: [doc.clone(), hk_doc.clone()].into_iter().collect(),
            notes: [(note.clone(), (doc.clone(), "p:3".to_owned(), "Học kỹ phần ba".to_owned()))].into_iter().collect(),
            progress: [(doc.clone(), 0.4)].into_iter().collect(),
            reads: [(hk_doc.clone(), hk_revision)].into_iter().collect(),
        });
        // The pushing device gets its own changes echoed: applying them again is harmless.
        phone.sync(&app).await;
        assert_eq!(phone.state, server);

        // Clears, a note replaced (the last applied wins), progress that only grows, a read that never goes back.
        tablet.enqueue(json!({"type": "bookmark.clear", "document_id": doc}));
        tablet.enqueue(json!({"type": "note.set", "note_id": note, "document_id": doc, "anchor": "p:4", "text": "Đã sửa"}));
        tablet.enqueue(json!({"type": "progress.set", "document_id": doc, "position": 0.2}));
        tablet.enqueue(json!({"type": "read.mark", "document_id": hk_doc, "revision": 1}));
        assert_eq!(statuses(&tablet.push(&app, 50).await), ["applied"; 4]);
        phone.sync(&app).await;
        let server = server_state(&app, "100000001").await;
        assert_eq!(phone.state, server);
        assert_eq!(server.bookmarks.keys().collect::<Vec<_>>(), [&hk_doc]);
        assert_eq!(server.notes[&note].text, "Đã sửa");
        assert_eq!(server.progress[&doc], 0.4, "the maximum wins");
        assert_eq!(server.reads[&hk_doc].0, hk_revision, "reads only grow");
        phone.enqueue(json!({"type": "note.clear", "note_id": note}));
        phone.enqueue(json!({"type": "progress.set", "document_id": doc, "position": 1.0}));
        assert_eq!(statuses(&phone.push(&app, 50).await), ["applied"; 2]);
        tablet.sync(&app).await;
        assert!(tablet.state.notes.is_empty());
        assert_eq!(tablet.state.progress[&doc], 1.0);
        assert_eq!(tablet.state, server_state(&app, "100000001").await);
        // Member B sees none of it.
        let mut other = SyncClient::register(&app, &w.org.member_bd).await;
        other.sync(&app).await;
        assert_eq!(other.state, MemberState::default());
        assert_eq!(count(&app, "SELECT count(*) AS n FROM applied_mutations").await, 11);
        assert_eq!(count(&app, "SELECT count(*) AS n FROM audit_log WHERE action LIKE '%mutation%' OR action LIKE '%note%' OR action LIKE '%bookmark%'").await, 0, "member state is not audited");
    }

    async fn a_mutation_re_sent_from_any_device_is_a_duplicate_and_changes_nothing(app: TestApp) {
        let w = world(&app).await;
        let (doc, _) = w.visible[0].clone();
        let mut phone = SyncClient::register(&app, &w.org.member_hk).await;
        let mut tablet = SyncClient::register(&app, &w.org.member_hk).await;
        let id = phone.enqueue(json!({"type": "bookmark.set", "document_id": doc}));
        let sent = phone.queue[0].clone();
        // The answer is lost: the phone sends it again, and so does the tablet, which had a copy.
        let lost = phone.send_push(&app, 50).await;
        assert_eq!(statuses(&lost), ["applied"]);
        phone.enqueue(json!({"type": "bookmark.clear", "document_id": doc}));
        assert_eq!(statuses(&phone.push(&app, 50).await), ["duplicate", "applied"]);
        tablet.sync(&app).await;
        let etag = tablet.etag.clone();
        let state_seq = count(&app, "SELECT state_seq AS n FROM members WHERE card_number = '100000001'").await;
        tablet.enqueue_as_is(sent.clone());
        tablet.enqueue_as_is(sent);
        assert_eq!(statuses(&tablet.push(&app, 50).await), ["duplicate", "duplicate"]);
        assert_eq!(tablet.results[&id].0, "duplicate");
        assert_eq!(count(&app, "SELECT state_seq AS n FROM members WHERE card_number = '100000001'").await, state_seq);
        assert!(server_state(&app, "100000001").await.bookmarks.is_empty(), "the old bookmark.set was not applied again");
        tablet.sync(&app).await;
        assert_eq!((tablet.not_modified, tablet.etag.clone()), (1, etag), "nothing new for the feed either");
        // Upper-case spelling of the same id is the same mutation.
        let mut upper = json!({"type": "bookmark.set", "document_id": doc});
        upper["id"] = Value::String(id.to_uppercase());
        tablet.enqueue_as_is(upper);
        assert_eq!(statuses(&tablet.push(&app, 50).await), ["duplicate"]);
        assert_eq!(count(&app, "SELECT count(*) AS n FROM applied_mutations").await, 2);
    }

    async fn bad_mutations_are_rejected_each_with_its_problem_and_leave_nothing(app: TestApp) {
        let w = world(&app).await;
        let (doc, revision) = w.visible[1].clone();
        let mut phone = SyncClient::register(&app, &w.org.member_hk).await;
        let mut bd_phone = SyncClient::register(&app, &w.org.member_bd).await;
        let foreign_note = uuid();
        bd_phone.enqueue(json!({"type": "note.set", "note_id": foreign_note, "document_id": w.visible[2].0, "anchor": "", "text": "của B"}));
        assert_eq!(statuses(&bd_phone.push(&app, 50).await), ["applied"]);
        let cases: Vec<(Value, &str, u16, Option<&str>)> = vec![
            (json!({"type": "bookmark.toggle", "document_id": doc}), "/problems/validation", 422, Some("type")),
            (json!({"document_id": doc}), "/problems/validation", 422, Some("type")),
            (json!({"type": "bookmark.set"}), "/problems/validation", 422, Some("document_id")),
            (json!({"type": "note.set", "note_id": uuid(), "document_id": doc, "anchor": "a"}), "/problems/validation", 422, Some("text")),
            (json!({"type": "note.set", "note_id": uuid(), "document_id": doc, "anchor": "a", "text": "x".repeat(10_001)}), "/problems/validation", 422, Some("text")),
            (json!({"type": "note.set", "note_id": uuid(), "document_id": doc, "anchor": "a".repeat(1_001), "text": ""}), "/problems/validation", 422, Some("anchor")),
            (json!({"type": "note.set", "note_id": "not-a-uuid", "document_id": doc, "anchor": "", "text": ""}), "/problems/validation", 422, Some("note_id")),
            (json!({"type": "bookmark.set", "document_id": doc, "colour": "đỏ"}), "/problems/validation", 422, Some("colour")),
            (json!({"type": "progress.set", "document_id": doc, "position": 1.01}), "/problems/validation", 422, Some("position")),
            (json!({"type": "progress.set", "document_id": doc, "position": "half"}), "/problems/validation", 422, None),
            (json!({"type": "read.mark", "document_id": doc, "revision": revision + 1}), "/problems/validation", 422, Some("revision")),
            (json!({"type": "read.mark", "document_id": doc, "revision": 0}), "/problems/validation", 422, Some("revision")),
            (json!({"type": "bookmark.set", "document_id": w.hidden[0]}), "/problems/not-found", 404, None),
            (json!({"type": "note.set", "note_id": uuid(), "document_id": w.hidden[1], "anchor": "", "text": "x"}), "/problems/not-found", 404, None),
            (json!({"type": "read.mark", "document_id": w.hidden[2], "revision": 1}), "/problems/not-found", 404, None),
            (json!({"type": "progress.set", "document_id": w.hidden[0], "position": 0.5}), "/problems/not-found", 404, None),
            (json!({"type": "note.set", "note_id": foreign_note, "document_id": doc, "anchor": "", "text": "của A"}), "/problems/conflict", 409, None),
            (json!({"type": "rsvp.set", "meeting_id": uuid(), "answer": "attend"}), "/problems/not-found", 404, None),
        ];
        // Each bad one between two good ones: the good ones are applied, in order.
        let mut expected = Vec::new();
        for (n, (mutation, ..)) in cases.iter().enumerate() {
            phone.enqueue(json!({"type": "progress.set", "document_id": doc, "position": n as f64 / 100.0}));
            phone.enqueue(mutation.clone());
            expected.extend(["applied", "rejected"]);
        }
        phone.enqueue(json!({"type": "bookmark.set", "document_id": doc}));
        expected.push("applied");
        let answer = phone.push(&app, 100).await;
        assert_eq!(statuses(&answer), expected);
        let results = answer.json()["results"].as_array().unwrap().clone();
        for (n, (mutation, kind, status, field)) in cases.iter().enumerate() {
            let problem = &results[2 * n + 1]["problem"];
            assert_eq!((problem["type"].as_str().unwrap(), problem["status"].as_u64().unwrap() as u16), (*kind, *status), "{mutation}: {problem}");
            assert!(problem["title"].is_string() && problem["detail"].is_string(), "{problem}");
            if let Some(field) = field {
                assert_eq!(problem["errors"][0]["field"], *field, "{mutation}: {problem}");
            }
            assert!(!problem.to_string().contains("xxxxxxxxxx"), "a problem never quotes the text");
        }
        assert_eq!(count(&app, "SELECT count(*) AS n FROM applied_mutations").await, 1 + cases.len() as i64 + 1, "rejected ids are not stored");
        let server = server_state(&app, "100000001").await;
        assert_eq!(server.progress[&doc], (cases.len() - 1) as f64 / 100.0);
        assert!(server.notes.is_empty() && server.reads.is_empty());
        assert_eq!(server_state(&app, "100000004").await.notes[&foreign_note].text, "của B", "B's note untouched");
        // A rejected mutation sent again is rejected again.
        let again: Vec<Value> = phone.results.iter().filter(|(_, (status, _))| status == "rejected").map(|(id, _)| id.clone()).take(3).map(|id| {
            let (n, _) = results.iter().enumerate().find(|(_, r)| r["id"] == id.as_str()).unwrap();
            let mut mutation = cases[(n - 1) / 2].0.clone();
            mutation["id"] = Value::String(id);
            mutation
        }).collect();
        for mutation in again {
            phone.enqueue_as_is(mutation);
        }
        assert_eq!(statuses(&phone.push(&app, 50).await), ["rejected"; 3]);
    }

    async fn bad_pushes_are_refused_whole_and_apply_nothing(app: TestApp) {
        let w = world(&app).await;
        let (doc, _) = w.visible[0].clone();
        let phone = SyncClient::register(&app, &w.org.member_hk).await;
        let bd_phone = SyncClient::register(&app, &w.org.member_bd).await;
        let token = &w.org.member_hk;
        let install = phone.installation_id.as_str();
        // Over 1 MiB: 413.
        let big: Vec<Value> = (0..120).map(|_| json!({"id": uuid(), "type": "note.set", "note_id": uuid(), "document_id": doc, "anchor": "", "text": "ghi chú ".repeat(1_200)})).collect();
        assert!(serde_json::to_vec(&json!({"mutations": big})).unwrap().len() > 1 << 20);
        push_request(&app, token, install, json!({"mutations": big})).await.problem(413);
        // More than 500: 422.
        let many: Vec<Value> = (0..501).map(|_| json!({"id": uuid(), "type": "bookmark.set", "document_id": doc})).collect();
        let problem = push_request(&app, token, install, json!({"mutations": many})).await.problem(422);
        assert_eq!(problem["errors"][0]["field"], "mutations");
        let five_hundred: Vec<Value> = (0..500).map(|_| json!({"id": uuid(), "type": "progress.set", "document_id": doc, "position": 0.5})).collect();
        assert_eq!(statuses(&push_request(&app, token, install, json!({"mutations": five_hundred})).await).len(), 500);
        let applied = count(&app, "SELECT count(*) AS n FROM applied_mutations").await;
        assert_eq!(applied, 500);
        // A mutation without a UUID id: nothing to answer for, so the whole push is refused.
        let no_id = json!({"mutations": [{"id": uuid(), "type": "bookmark.set", "document_id": doc}, {"type": "bookmark.set", "document_id": doc}]});
        assert_eq!(push_request(&app, token, install, no_id).await.problem(422)["errors"][0]["field"], "mutations[1].id");
        let bad_id = json!({"mutations": [{"id": "7", "type": "bookmark.set", "document_id": doc}]});
        push_request(&app, token, install, bad_id).await.problem(422);
        push_request(&app, token, install, json!({"mutations": ["bookmark.set"]})).await.problem(422);
        // Malformed envelopes: 400, as every JSON body.
        push_request(&app, token, install, json!({"mutations": [], "force": true})).await.problem(400);
        push_request(&app, token, install, json!({})).await.problem(400);
        push_request(&app, token, install, json!({"mutations": {}})).await.problem(400);
        // Whose device: the header is required, and must be the member's own live installation.
        let answer = app.post_as(token, "/api/v1/sync/push", &json!({"mutations": []})).await;
        answer.problem(400);
        push_request(&app, token, &bd_phone.installation_id, json!({"mutations": []})).await.problem(404);
        push_request(&app, token, &uuid(), json!({"mutations": []})).await.problem(404);
        push_request(&app, &w.org.admin, install, json!({"mutations": []})).await.problem(403);
        assert_eq!(count(&app, "SELECT count(*) AS n FROM applied_mutations").await, applied, "nothing applied by any of them");
        assert!(statuses(&push_request(&app, token, install, json!({"mutations": []})).await).is_empty());
        // A removed device may not push.
        let removed = app.with_bearer(token, TestRequest::delete().uri(&format!("/api/v1/installations/{install}"))).await;
        assert_eq!(removed.status, 204);
        let one = json!({"mutations": [{"id": uuid(), "type": "bookmark.set", "document_id": doc}]});
        push_request(&app, token, install, one).await.problem(404);
    }

    async fn nothing_new_is_still_304_and_a_push_makes_the_next_poll_200(app: TestApp) {
        let w = world(&app).await;
        let (doc, _) = w.visible[0].clone();
        let mut phone = SyncClient::register(&app, &w.org.member_hk).await;
        let mut tablet = SyncClient::register(&app, &w.org.member_hk).await;
        phone.sync(&app).await;
        tablet.sync(&app).await;
        tablet.sync(&app).await;
        assert_eq!(tablet.not_modified, 1);
        let etag = tablet.etag.clone().unwrap();
        assert_eq!(etag.trim_matches('"').split('-').count(), 4, "{etag}");
        phone.enqueue(json!({"type": "bookmark.set", "document_id": doc}));
        phone.push(&app, 50).await;
        tablet.sync(&app).await;
        assert_eq!(tablet.not_modified, 1, "the push made the poll 200");
        assert!(tablet.state.bookmarks.contains_key(&doc));
        assert_ne!(tablet.etag.as_deref(), Some(etag.as_str()));
        tablet.sync(&app).await;
        assert_eq!(tablet.not_modified, 2, "and then nothing is new again");
        // A mutation that changes nothing (progress lower than stored, a bookmark already there) moves no position.
        phone.enqueue(json!({"type": "bookmark.set", "document_id": doc}));
        phone.push(&app, 50).await;
        tablet.sync(&app).await;
        assert_eq!(tablet.not_modified, 3);
        // The ack keeps recording the document position only.
        let acked = count(&app, "SELECT count(*) AS n FROM installations WHERE acked_seq = (SELECT seq FROM feed_state)").await;
        assert_eq!(acked, 2);
    }

    async fn a_from_scratch_sync_returns_the_whole_state_across_pages(app: TestApp) {
        let w = world(&app).await;
        let mut phone = SyncClient::register(&app, &w.org.member_hk).await;
        for (n, (doc, revision)) in w.visible.iter().enumerate() {
            phone.enqueue(json!({"type": "bookmark.set", "document_id": doc}));
            phone.enqueue(json!({"type": "progress.set", "document_id": doc, "position": 0.25 * n as f64}));
            phone.enqueue(json!({"type": "read.mark", "document_id": doc, "revision": revision}));
            for k in 0..3 {
                phone.enqueue(json!({"type": "note.set", "note_id": uuid(), "document_id": doc, "anchor": format!("đoạn {k}"), "text": format!("ghi chú {n}.{k}")}));
            }
        }
        // Changes of the same keys again, and removals: the log keeps one row per key.
        phone.enqueue(json!({"type": "progress.set", "document_id": w.visible[0].0, "position": 0.9}));
        phone.enqueue(json!({"type": "bookmark.clear", "document_id": w.visible[1].0}));
        phone.drain(&app).await;
        assert_eq!(count(&app, "SELECT count(*) AS n FROM member_state_log").await, 3 * 6 - 1 + 1);
        // A new device (the client pages by 3): documents first, then the member's state.
        let mut tablet = SyncClient::register(&app, &w.org.member_hk).await;
        tablet.sync(&app).await;
        let server = server_state(&app, "100000001").await;
        assert_eq!(tablet.state, server);
        assert_eq!((server.bookmarks.len(), server.notes.len(), server.progress.len(), server.reads.len()), (2, 9, 3, 3));
        assert_eq!(tablet.documents.len(), 3);
        // A device that syncs from scratch again gets no deletes, only the state as it is.
        let page = app.with_bearer(&w.org.member_hk, TestRequest::get().uri("/api/v1/sync?limit=1000").insert_header(("X-Installation-Id", tablet.installation_id.as_str()))).await.json();
        let changes = page["changes"].as_array().unwrap();
        assert!(changes.iter().all(|c| c["op"] == "upsert"), "{page}");
        assert_eq!(changes.len(), 3 + 2 + 9 + 3 + 3);
        let first_state = changes.iter().position(|c| c.get("document").is_none()).unwrap();
        assert!(changes[first_state..].iter().all(|c| c.get("document").is_none()), "the documents come first");
    }

    async fn a_cursor_from_before_member_state_is_read_at_state_position_0(app: TestApp) {
        use base64::Engine;
        use hmac::Mac;
        let w = world(&app).await;
        let mut phone = SyncClient::register(&app, &w.org.member_hk).await;
        phone.enqueue(json!({"type": "bookmark.set", "document_id": w.visible[0].0}));
        phone.enqueue(json!({"type": "progress.set", "document_id": w.visible[1].0, "position": 0.5}));
        phone.push(&app, 50).await;
        phone.sync(&app).await;
        // A v1 cursor (member, position, committee) at the newest document position, sealed as v1 cursors were.
        let member = app.count("SELECT id AS n FROM members WHERE card_number = '100000001'").await;
        let position = app.count("SELECT seq AS n FROM feed_state").await;
        let mut payload = vec![1u8];
        payload.extend_from_slice(&member.to_be_bytes());
        payload.extend_from_slice(&position.to_be_bytes());
        payload.extend_from_slice(b"HK");
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(app.state.auth.keys.cursor_key()).unwrap();
        mac.update(&payload);
        payload.extend_from_slice(&mac.finalize().into_bytes()[..16]);
        let v1 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&payload);
        let request = TestRequest::get()
            .uri(&format!("/api/v1/sync?cursor={v1}"))
            .insert_header(("X-Installation-Id", phone.installation_id.as_str()));
        let page = app.with_bearer(&w.org.member_hk, request).await.json();
        let changes = page["changes"].as_array().unwrap();
        assert_eq!(changes.len(), 2, "no documents, the whole state: {page}");
        assert!(changes.iter().all(|c| c["op"] == "upsert" && c.get("document").is_none()), "{page}");
        assert_eq!(page["has_more"], false);
        // The cursor it answers is a v2 one, at the end of both.
        phone.cursor = page["cursor"].as_str().map(str::to_owned);
        phone.etag = None;
        phone.sync(&app).await;
        assert_eq!(phone.state, server_state(&app, "100000001").await);
        phone.sync(&app).await;
        assert_eq!(phone.not_modified, 1);
    }

    async fn concurrent_pushes_of_one_mutation_apply_it_exactly_once(app: TestApp) {
        let w = world(&app).await;
        let (doc, _) = w.visible[0].clone();
        let devices = [SyncClient::register(&app, &w.org.member_hk).await, SyncClient::register(&app, &w.org.member_hk).await];
        let member: i64 = app.count("SELECT id AS n FROM members WHERE card_number = '100000001'").await;
        for round in 0..5 {
            let mutation = json!({"id": uuid(), "type": "note.set", "note_id": uuid(), "document_id": doc, "anchor": "", "text": format!("lần {round}")});
            let installations: Vec<String> = devices.iter().map(|d| d.installation_id.clone()).collect();
            let results = harness::at_once(&app, |n, conn| {
                let pushed = vec![handbook::sync::push::mutations::parse(0, mutation.clone()).unwrap()];
                handbook::sync::push::apply::push(conn, member, &installations[n % 2], pushed, handbook::time::now()).unwrap()
            });
            let applied = results.iter().filter(|r| r[0].status == handbook::sync::push::apply::MutationStatus::Applied).count();
            assert_eq!(applied, 1, "round {round}: {results:?}");
            assert!(results.iter().all(|r| r[0].status != handbook::sync::push::apply::MutationStatus::Rejected));
        }
        // And over HTTP: two devices sending the same push at once.
        for round in 0..5 {
            let body = json!({"mutations": [
                {"id": uuid(), "type": "bookmark.set", "document_id": doc},
                {"id": uuid(), "type": "progress.set", "document_id": doc, "position": round as f64 / 10.0},
            ]});
            let (a, b) = futures_util::future::join(
                push_request(&app, &w.org.member_hk, &devices[0].installation_id, body.clone()),
                push_request(&app, &w.org.member_hk, &devices[1].installation_id, body.clone()),
            ).await;
            let (a, b) = (statuses(&a), statuses(&b));
            for n in 0..2 {
                let mut pair = [a[n].as_str(), b[n].as_str()];
                pair.sort();
                assert_eq!(pair, ["applied", "duplicate"], "round {round}");
            }
            let clear = json!({"mutations": [{"id": uuid(), "type": "bookmark.clear", "document_id": doc}]});
            statuses(&push_request(&app, &w.org.member_hk, &devices[0].installation_id, clear).await);
        }
        assert_eq!(count(&app, "SELECT count(*) AS n FROM member_notes").await, 5);
        assert_eq!(count(&app, "SELECT count(*) AS n FROM applied_mutations").await, 5 + 5 * 3);
    }

    async fn no_staff_route_returns_a_members_state(app: TestApp) {
        let w = world(&app).await;
        let (doc, revision) = w.visible[1].clone();
        let mut phone = SyncClient::register(&app, &w.org.member_hk).await;
        const TEXT: &str = "Ghi chú riêng tư 7f3a";
        const ANCHOR: &str = "neo-riêng-9c1e";
        phone.enqueue(json!({"type": "note.set", "note_id": uuid(), "document_id": doc, "anchor": ANCHOR, "text": TEXT}));
        phone.enqueue(json!({"type": "bookmark.set", "document_id": doc}));
        phone.enqueue(json!({"type": "progress.set", "document_id": doc, "position": 0.625}));
        phone.enqueue(json!({"type": "read.mark", "document_id": doc, "revision": revision}));
        assert_eq!(statuses(&phone.push(&app, 50).await), ["applied"; 4]);
        let officer = app.staff_token("officer.hk", "officer", Some("HK")).await;
        let document = routes::document(&app).await;
        let mut checked = 0;
        for route in routes::operations(&document) {
            if route.method != "GET" {
                continue;
            }
            let path = route
                .path
                .replace("{card_number}", "100000001")
                .replace("{code}", "HK")
                .replace("{id}", &doc)
                .replace("{installation_id}", &phone.installation_id);
            let path = routes::concrete(&path);
            for token in [&w.org.admin, &officer] {
                let answer = app.get_as(token, &path).await;
                let body = String::from_utf8_lossy(&answer.body);
                assert!(!body.contains(TEXT) && !body.contains(ANCHOR) && !body.contains("0.625"), "GET {path} shows member state: {body}");
                checked += 1;
            }
        }
        assert!(checked > 20, "{checked}");
        let console = Console::sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        for (method, pattern) in routes::DASHBOARD {
            if method != actix_web::http::Method::GET {
                continue;
            }
            let path = routes::concrete(&pattern.replace("{code}", "HK"));
            let body = String::from_utf8_lossy(&app.send(console.get(&path)).await.body).into_owned();
            assert!(!body.contains(TEXT) && !body.contains(ANCHOR), "{path} shows member state");
        }
    }

    async fn mutation_ids_are_forgotten_after_their_retention(app: TestApp) {
        let w = world(&app).await;
        let (doc, _) = w.visible[0].clone();
        let phone = SyncClient::register(&app, &w.org.member_hk).await;
        let old = uuid();
        let body = json!({"mutations": [{"id": old, "type": "bookmark.set", "document_id": doc}, {"id": uuid(), "type": "progress.set", "document_id": doc, "position": 0.5}]});
        statuses(&push_request(&app, &w.org.member_hk, &phone.installation_id, body).await);
        let days = app.state.settings.refresh_max_days;
        assert_eq!(handbook::sync::push::retention(days), chrono::Duration::days(i64::from(days) + 30));
        let aged = old.clone();
        app.db()
            .run(move |conn| {
                use handbook::db::schema::applied_mutations as a;
                let at = handbook::time::now() - chrono::Duration::days(i64::from(days) + 31);
                diesel::update(a::table.find(&aged)).set(a::applied_at.eq(at)).execute(conn)?;
                Ok(())
            })
            .await
            .unwrap();
        let pruned = app.db().run(move |conn| Ok(handbook::sync::push::prune(conn, handbook::time::now(), days)?)).await.unwrap();
        assert_eq!(pruned, 1);
        assert_eq!(count(&app, "SELECT count(*) AS n FROM applied_mutations").await, 1);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The property test: three devices of one member, 1,000 random mutations.

/// What the server must do, written independently of it: each mutation's status in the order the server sees
/// them, and the state that applying each distinct applied mutation once, in that order, gives.
struct Model {
    visible: HashMap<String, i64>,
    applied: HashSet<String>,
    state: TimelessState,
}

impl Model {
    fn new(world: &World) -> Model {
        Model {
            visible: world.visible.iter().cloned().collect(),
            applied: HashSet::new(),
            state: TimelessState::default(),
        }
    }

    fn valid(&self, m: &Value) -> bool {
        let document = m["document_id"].as_str().unwrap_or_default();
        let visible = self.visible.contains_key(document);
        match m["type"].as_str().unwrap_or_default() {
            "bookmark.set" => visible,
            "bookmark.clear" | "note.clear" => true,
            "note.set" => {
                visible
                    && m["text"].as_str().is_some_and(|t| t.chars().count() <= 10_000)
                    && m["anchor"].as_str().is_some_and(|a| a.chars().count() <= 1_000)
            }
            "progress.set" => visible && m["position"].as_f64().is_some_and(|p| (0.0..=1.0).contains(&p)),
            "read.mark" => visible && m["revision"].as_i64().is_some_and(|r| r >= 1 && r <= self.visible[document]),
            _ => false,
        }
    }

    /// The status the server must answer for `m` now; applies it if that is `applied`.
    fn expect(&mut self, m: &Value) -> &'static str {
        let id = m["id"].as_str().unwrap().to_lowercase();
        if self.applied.contains(&id) {
            return "duplicate";
        }
        if !self.valid(m) {
            return "rejected";
        }
        self.applied.insert(id);
        let text = |field: &str| m[field].as_str().unwrap().to_owned();
        let s = &mut self.state;
        match m["type"].as_str().unwrap() {
            "bookmark.set" => {
                s.bookmarks.insert(text("document_id"));
            }
            "bookmark.clear" => {
                s.bookmarks.remove(&text("document_id"));
            }
            "note.set" => {
                s.notes.insert(text("note_id"), (text("document_id"), text("anchor"), text("text")));
            }
            "note.clear" => {
                s.notes.remove(&text("note_id"));
            }
            "progress.set" => {
                let p = s.progress.entry(text("document_id")).or_insert(0.0);
                *p = p.max(m["position"].as_f64().unwrap());
            }
            "read.mark" => {
                let r = s.reads.entry(text("document_id")).or_insert(0);
                *r = (*r).max(m["revision"].as_i64().unwrap());
            }
            other => unreachable!("{other}"),
        }
        "applied"
    }
}

fn random_mutation(rng: &mut rand::rngs::StdRng, world: &World, note_ids: &[String]) -> Value {
    let document = if rng.gen_bool(0.9) {
        world.visible[rng.gen_range(0..world.visible.len())].0.clone()
    } else {
        world.hidden[rng.gen_range(0..world.hidden.len())].clone()
    };
    let note_id = note_ids[rng.gen_range(0..note_ids.len())].clone();
    match rng.gen_range(0..100) {
        0..=14 => json!({"type": "bookmark.set", "document_id": document}),
        15..=24 => json!({"type": "bookmark.clear", "document_id": document}),
        25..=44 => {
            let text = if rng.gen_bool(0.03) {
                "dài ".repeat(2_600)
            } else {
                format!("Ghi chú số {} về nghị quyết", rng.gen_range(0..1000))
            };
            json!({"type": "note.set", "note_id": note_id, "document_id": document, "anchor": format!("đoạn:{}", rng.gen_range(0..50)), "text": text})
        }
        45..=54 => json!({"type": "note.clear", "note_id": note_id}),
        55..=74 => {
            let position = if rng.gen_bool(0.05) { 1.5 } else { f64::from(rng.gen_range(0..=100)) / 100.0 };
            json!({"type": "progress.set", "document_id": document, "position": position})
        }
        75..=94 => json!({"type": "read.mark", "document_id": document, "revision": rng.gen_range(1..=3)}),
        95..=97 => json!({"type": "rsvp.set", "meeting_id": uuid(), "answer": "absent", "reason": "ốm"}),
        _ => json!({"type": "bookmark.pin", "document_id": document}),
    }
}

/// Sends a device's push and checks every result against the model (the server's order is the order of the
/// requests: this driver sends one at a time). The answer is lost when `lose`.
async fn push_checked(
    app: &TestApp,
    device: &mut SyncClient,
    model: &mut Model,
    max: usize,
    lose: bool,
    applied: &mut usize,
) {
    let sent: Vec<Value> = device.queue.iter().take(max).cloned().collect();
    let answer = device.send_push(app, max).await;
    let results = statuses(&answer);
    assert_eq!(results.len(), sent.len());
    for (mutation, status) in sent.iter().zip(&results) {
        assert_eq!(status, model.expect(mutation), "{mutation}");
        *applied += usize::from(status == "applied");
    }
    if !lose {
        device.accept(&answer);
    }
}

both_backends! {
    async fn three_devices_with_random_offline_work_converge_on_the_model(app: TestApp) {
        let w = world(&app).await;
        let seed: u64 = std::env::var("PUSH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| rand::thread_rng().gen());
        eprintln!("push property test seed: {seed} (PUSH_SEED={seed} repeats it)");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let note_ids: Vec<String> = (0..8).map(|_| uuid()).collect();
        let mut devices = Vec::new();
        for _ in 0..3 {
            let mut device = SyncClient::register(&app, &w.org.member_hk).await;
            device.sync(&app).await;
            devices.push(device);
        }
        let mut online = [true; 3];
        let mut model = Model::new(&w);
        let mut created: Vec<Value> = Vec::new();
        let (mut applied, mut lost, mut resent, mut restarts) = (0, 0, 0, 0);
        while created.len() < 1_000 {
            let d = rng.gen_range(0..3);
            match rng.gen_range(0..100) {
                0..=44 => {
                    for _ in 0..rng.gen_range(1..=3) {
                        let mutation = random_mutation(&mut rng, &w, &note_ids);
                        devices[d].enqueue(mutation);
                        created.push(devices[d].queue.last().unwrap().clone());
                    }
                }
                45..=64 if online[d] && !devices[d].queue.is_empty() => {
                    let lose = rng.gen_bool(0.25);
                    lost += usize::from(lose);
                    let max = rng.gen_range(1..=50);
                    push_checked(&app, &mut devices[d], &mut model, max, lose, &mut applied).await;
                }
                65..=79 if online[d] => {
                    if rng.gen_bool(0.2) {
                        devices[d].etag = None;
                    }
                    devices[d].sync(&app).await;
                }
                80..=86 => online[d] = !online[d],
                87..=92 => {
                    let device = devices.remove(d);
                    devices.insert(d, device.restart());
                    restarts += 1;
                }
                93..=99 if !created.is_empty() => {
                    // Another device had the same mutation queued (a copy, or a backup restored): the same id again.
                    let copy = created[rng.gen_range(0..created.len())].clone();
                    devices[d].enqueue_as_is(copy);
                    resent += 1;
                }
                _ => {}
            }
        }
        for device in devices.iter_mut() {
            while !device.queue.is_empty() {
                push_checked(&app, device, &mut model, 50, false, &mut applied).await;
            }
        }
        for device in devices.iter_mut() {
            device.sync(&app).await;
        }
        let server = server_state(&app, "100000001").await;
        assert_eq!(server.timeless(), model.state, "the server equals the model (seed {seed})");
        for (n, device) in devices.iter().enumerate() {
            assert_eq!(device.state, server, "device {n} equals the server (seed {seed})");
        }
        let mut fresh = SyncClient::register(&app, &w.org.member_hk).await;
        fresh.sync(&app).await;
        assert_eq!(fresh.state, server, "a from-scratch sync too");
        assert_eq!(applied, model.applied.len(), "each mutation applied exactly once");
        assert_eq!(app.count("SELECT count(*) AS n FROM applied_mutations").await, applied as i64);
        let state_seq = app.count("SELECT state_seq AS n FROM members WHERE card_number = '100000001'").await;
        let newest = app.count("SELECT COALESCE(MAX(seq), 0) AS n FROM member_state_log").await;
        assert_eq!(state_seq, newest, "the log's newest row is the member's position");
        assert!(lost > 10 && resent > 10 && restarts > 10 && applied > 300, "lost {lost}, resent {resent}, restarts {restarts}, applied {applied}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The binary killed with SIGKILL in the middle of pushes, then the pushes sent again; the log never holds a note.

/// `serve` on the place's database, logging everything (trace) to the file `log` in its folder.
fn serve_logging(place: &Place, log: &str) -> (std::process::Child, u16) {
    let file = std::fs::File::create(place.cwd.path().join(log)).unwrap();
    serve_logging_to(place.cwd.path(), &place.args(), &[("HANDBOOK_LOG", "trace")], file)
}

fn push_over_http(port: u16, token: &str, installation: &str, body: &str) -> Option<String> {
    http_request(
        port,
        &format!(
            "POST /api/v1/sync/push HTTP/1.0\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\n\
             X-Installation-Id: {installation}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .filter(|answer| !answer.is_empty())
}

fn killed_mid_push(backend: Backend) {
    let place = Place::new(backend);
    place.run(&["demo-data", "--members", "300", "--documents", "3"], None);
    place.run(&["admin", "create", "--login", "push.admin"], Some("push admin pw\n"));
    let (mut server, port) = serve_logging(&place, "before.log");
    let admin =
        body_of(&post_json(port, "/api/v1/auth/login", r#"{"login":"push.admin","password":"push admin pw"}"#, None))
            ["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
    let members =
        body_of(&harness::process::get(port, "/api/v1/admin/members?limit=1&status=eligible", Some(&admin), ""));
    let card = members["items"][0]["card_number"].as_str().unwrap().to_owned();
    // The demo's members have state already (their cell meetings and answers): it comes before the pushes.
    let seq = format!("SELECT state_seq AS n FROM members WHERE card_number = '{card}'");
    let (seq_before, logged_before) = (place.count(&seq), place.count("SELECT count(*) AS n FROM member_state_log"));
    let code = body_of(&post_json(port, &format!("/api/v1/admin/members/{card}/activation-code"), "{}", Some(&admin)))
        ["activation_code"]
        .as_str()
        .unwrap()
        .to_owned();
    let activate =
        format!(r#"{{"card_number":"{card}","activation_code":"{code}","new_password":"mật khẩu đẩy 2026"}}"#);
    let token = body_of(&post_json(port, "/api/v1/auth/activate", &activate, None))["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let documents = body_of(&harness::process::get(port, "/api/v1/documents", Some(&token), ""));
    let document = documents["items"][0]["id"].as_str().expect("the member sees a document").to_owned();
    let installations: Vec<String> = (0..4)
        .map(|_| {
            let id = uuid();
            let body = format!(r#"{{"installation_id":"{id}","platform":"android","app_version":"1.0"}}"#);
            assert_eq!(status_of(&post_json(port, "/api/v1/installations", &body, Some(&token))), 201);
            id
        })
        .collect();

    // Four devices push batches of 50 notes (each a new note, its text a secret) until the server dies.
    let secret = |device: usize, batch: usize, n: usize| format!("bí mật {device}-{batch}-{n} ghi chú riêng");
    let batches: Vec<(String, Option<String>)> = std::thread::scope(|scope| {
        let pushers: Vec<_> = installations
            .iter()
            .enumerate()
            .map(|(device, installation)| {
                let (token, document) = (&token, &document);
                scope.spawn(move || {
                    let mut sent = Vec::new();
                    for batch in 0..10_000 {
                        let mutations: Vec<Value> = (0..50)
                            .map(|n| json!({"id": uuid(), "type": "note.set", "note_id": uuid(), "document_id": document, "anchor": format!("neo {n}"), "text": secret(device, batch, n)}))
                            .collect();
                        let body = json!({ "mutations": mutations }).to_string();
                        let answer = push_over_http(port, token, installation, &body);
                        let failed = answer.is_none();
                        sent.push((body, answer));
                        if failed {
                            break;
                        }
                    }
                    sent
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs(2));
        std::process::Command::new("kill").args(["-KILL", &server.id().to_string()]).status().unwrap();
        server.wait().unwrap();
        pushers.into_iter().flat_map(|p| p.join().unwrap()).collect()
    });
    let unanswered = batches.iter().filter(|(_, answer)| answer.is_none()).count();
    assert!(unanswered >= 1, "the kill landed while pushes were in flight");
    let answered: usize = batches.iter().filter(|(_, a)| a.is_some()).count();
    assert!(answered >= 4, "pushes were answered before the kill: {answered}");

    // After the restart, every push is sent again: what was answered is all duplicate now; what was not is
    // applied or duplicate, whole (a push is one transaction).
    let (server, port) = serve_logging(&place, "after.log");
    let mut applied_once: HashMap<String, usize> = HashMap::new();
    for (body, answer) in &batches {
        let before: Vec<String> = match answer {
            Some(answer) => {
                assert_eq!(status_of(answer), 200, "{answer}");
                body_of(answer)["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["status"].as_str().unwrap().to_owned())
                    .collect()
            }
            None => Vec::new(),
        };
        let again = push_over_http(port, &token, &installations[0], body).unwrap();
        assert_eq!(status_of(&again), 200, "{again}");
        let results = body_of(&again)["results"].as_array().unwrap().clone();
        let now: Vec<&str> = results.iter().map(|r| r["status"].as_str().unwrap()).collect();
        if !before.is_empty() {
            assert!(before.iter().all(|s| s == "applied"));
            assert!(now.iter().all(|s| *s == "duplicate"), "{now:?}");
        } else {
            assert!(now.iter().all(|s| *s == now[0]), "a push is applied whole or not at all: {now:?}");
        }
        for (result, status) in results.iter().zip(before.iter().map(String::as_str).chain(std::iter::repeat(""))) {
            let id = result["id"].as_str().unwrap().to_owned();
            // Unanswered and now a duplicate: the killed server had committed it.
            let committed_unseen = answer.is_none() && result["status"] == "duplicate";
            *applied_once.entry(id).or_default() += usize::from(status == "applied")
                + usize::from(result["status"] == "applied")
                + usize::from(committed_unseen);
        }
    }
    assert!(applied_once.values().all(|n| *n == 1), "each mutation applied exactly once");
    let unanswered_committed = batches.iter().filter(|(_, answer)| answer.is_none()).count();
    eprintln!("{} pushes answered before the kill, {unanswered_committed} not", batches.len() - unanswered_committed);
    let total = applied_once.len() as i64;
    assert_eq!(place.count("SELECT count(*) AS n FROM applied_mutations"), total);
    assert_eq!(place.count("SELECT count(*) AS n FROM member_notes"), total);
    assert_eq!(place.count(&seq), seq_before + total, "one log position per applied note");
    assert_eq!(place.count("SELECT count(*) AS n FROM member_state_log"), logged_before + total);
    assert!(harness::process::stop(server).success());

    // The log (at trace level) never holds a note's text or anchor.
    for log in ["before.log", "after.log"] {
        let text = std::fs::read_to_string(place.cwd.path().join(log)).unwrap();
        assert!(text.contains("/api/v1/sync/push"), "the log was captured: {log}");
        assert!(
            !text.contains("bí mật") && !text.contains("ghi chú riêng") && !text.contains("neo 1"),
            "a note reached {log}"
        );
    }
}

#[test]
fn sqlite_killed_mid_push() {
    killed_mid_push(Backend::Sqlite);
}

#[test]
fn postgres_killed_mid_push() {
    killed_mid_push(Backend::Postgres);
}
