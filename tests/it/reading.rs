//! Required reading on both backends: `required` on admin documents applied at publish, `required_due_at` on the
//! member's document, read counters moved by reads (pushed), publishes and imports, the reports and the not-read
//! list (JSON and CSV) in the callers' scope, and a property test: counters equal a recount after random operations.

use actix_web::test::TestRequest;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::harness::{self, SyncClient, TestApp};

const DUE: &str = "2099-06-30T10:00:00Z";

async fn create_required(app: &TestApp, token: &str, title: &str, audience: Value, required: Value) -> String {
    let body = json!({"title": title, "kind": "nghi_quyet", "section": "Nghị quyết", "body": "Nội dung",
        "audience": audience, "required": required});
    let created = app.post_as(token, "/api/v1/admin/documents", &body).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    publish(app, token, &id).await;
    id
}

async fn publish(app: &TestApp, token: &str, id: &str) -> i64 {
    let answer = app.post_as(token, &format!("/api/v1/admin/documents/{id}/publish"), &json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()["revision"].as_i64().unwrap()
}

async fn patch(app: &TestApp, token: &str, id: &str, body: Value) -> harness::Answer {
    app.with_bearer(token, TestRequest::patch().uri(&format!("/api/v1/admin/documents/{id}")).set_json(body)).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let answer = app.get_as(token, path).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.text());
    answer.json()
}

/// The stored counters equal a full recount (zero rows left out on both sides).
async fn assert_counters_match(app: &TestApp, context: &str) {
    let (stored, expected) = app
        .db()
        .run(|conn| {
            use handbook::reading::counters;
            let stored = counters::stored_rows(conn)?;
            let expected = counters::expected_rows(&counters::full_count(conn, None)?);
            Ok((stored, expected))
        })
        .await
        .unwrap();
    assert_eq!(stored, expected, "{context}");
}

fn reading_of<'a>(list: &'a Value, id: &str) -> &'a Value {
    list["items"].as_array().unwrap().iter().find(|d| d["document_id"] == id).unwrap_or_else(|| panic!("{list}"))
}

both_backends! {
    async fn a_read_counts_once_and_the_reports_follow_it(app: TestApp) {
        let org = app.organisation().await;
        let doc = create_required(&app, &org.admin, "Nghị quyết 05", json!({"committees": ["HK", "BD"]}),
            json!({"due_at": DUE})).await;

        // The member's document says when it is due, directly and in the feed.
        let shown = get(&app, &org.member_hk, &format!("/api/v1/documents/{doc}")).await;
        assert_eq!(shown["required_due_at"], "2099-06-30T10:00:00Z");
        let mut phone = SyncClient::register(&app, &org.member_hk).await;
        let feed = app
            .with_bearer(&org.member_hk, TestRequest::get().uri("/api/v1/sync")
                .insert_header(("X-Installation-Id", phone.installation_id.as_str())))
            .await;
        assert_eq!(feed.status, 200, "{}", feed.text());
        let feed = feed.json();
        let upsert = feed["changes"].as_array().unwrap().iter().find(|c| c["document"]["id"] == doc.as_str())
            .unwrap_or_else(|| panic!("{feed}"));
        assert_eq!(upsert["document"]["required_due_at"], "2099-06-30T10:00:00Z");
        let admin_view = get(&app, &org.admin, &format!("/api/v1/admin/documents/{doc}")).await;
        assert_eq!(admin_view["required"]["due_at"], "2099-06-30T10:00:00Z");
        assert_eq!(admin_view["required_due_at"], "2099-06-30T10:00:00Z");

        // HK: 2 eligible, BD: 1 eligible (the other is exempt).
        let list = get(&app, &org.admin, "/api/v1/reading").await;
        let entry = reading_of(&list, &doc);
        assert_eq!((entry["eligible"].as_i64(), entry["read"].as_i64(), entry["revision"].as_i64()), (Some(3), Some(0), Some(1)));

        // A read, the same mutation re-sent, another read of the same revision: one read.
        let id = phone.enqueue(json!({"type": "read.mark", "document_id": doc, "revision": 1}));
        phone.push(&app, 50).await;
        phone.enqueue_as_is(json!({"id": id, "type": "read.mark", "document_id": doc, "revision": 1}));
        phone.enqueue(json!({"type": "read.mark", "document_id": doc, "revision": 1}));
        phone.push(&app, 50).await;
        assert_counters_match(&app, "after reads").await;
        let report = get(&app, &org.admin, &format!("/api/v1/reading/{doc}")).await;
        assert_eq!(report["totals"]["read"], 1, "{report}");
        assert_eq!(report["totals"]["eligible"], 3, "{report}");
        let hk = report["committees"].as_array().unwrap().iter().find(|c| c["code"] == "HK").unwrap();
        assert_eq!((hk["eligible"].as_i64(), hk["read"].as_i64(), hk["coverage"].as_f64()), (Some(2), Some(1), Some(0.5)));

        // A republish without a re-read keeps the required revision; a read of the new one does not count twice.
        assert_eq!(patch(&app, &org.admin, &doc, json!({"title": "Nghị quyết 05 (sửa)"})).await.status, 200);
        assert_eq!(publish(&app, &org.admin, &doc).await, 2);
        phone.enqueue(json!({"type": "read.mark", "document_id": doc, "revision": 2}));
        phone.push(&app, 50).await;
        let report = get(&app, &org.admin, &format!("/api/v1/reading/{doc}")).await;
        assert_eq!((report["revision"].as_i64(), report["totals"]["read"].as_i64()), (Some(1), Some(1)), "{report}");

        // By unit and cell.
        let committee = get(&app, &org.admin, &format!("/api/v1/reading/{doc}/HK")).await;
        assert_eq!(committee["committee"]["read"], 1);
        let unit = &committee["units"][0];
        assert_eq!((unit["unit"].as_str(), unit["eligible"].as_i64(), unit["read"].as_i64()), (Some("Phường Hàng Bạc"), Some(2), Some(1)));
        let cells: Vec<(String, i64)> = unit["cells"].as_array().unwrap().iter()
            .map(|c| (c["cell"].as_str().unwrap().to_owned(), c["read"].as_i64().unwrap())).collect();
        assert_eq!(cells, [("Chi bộ 1".to_owned(), 1), ("Chi bộ 2".to_owned(), 0)]);

        // Who has not read it: JSON and CSV.
        let not_read = get(&app, &org.admin, &format!("/api/v1/reading/{doc}/HK/not-read")).await;
        let cards: Vec<&str> = not_read["items"].as_array().unwrap().iter().map(|m| m["card_number"].as_str().unwrap()).collect();
        assert_eq!(cards, ["100000002"]);
        let csv = app.get_as(&org.admin, &format!("/api/v1/reading/{doc}/HK/not-read?format=csv")).await;
        assert_eq!(csv.status, 200);
        assert!(csv.headers.get("content-type").unwrap().to_str().unwrap().starts_with("text/csv"));
        assert_eq!(csv.text(), "card_number,full_name,unit,cell\n100000002,Trần Thị Bình,Phường Hàng Bạc,Chi bộ 2\n");
        let bad = app.get_as(&org.admin, &format!("/api/v1/reading/{doc}/HK/not-read?format=xml")).await;
        assert_eq!(bad.status, 422);

        // A re-read asked for: the next publish's revision is the one to read; earlier reads stop counting.
        let answer = patch(&app, &org.admin, &doc, json!({"required": {"due_at": DUE, "reread": true}})).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert_eq!(publish(&app, &org.admin, &doc).await, 3);
        assert_counters_match(&app, "after a re-read").await;
        let report = get(&app, &org.admin, &format!("/api/v1/reading/{doc}")).await;
        assert_eq!((report["revision"].as_i64(), report["totals"]["read"].as_i64()), (Some(3), Some(0)), "{report}");
        phone.enqueue(json!({"type": "read.mark", "document_id": doc, "revision": 3}));
        phone.push(&app, 50).await;
        let report = get(&app, &org.admin, &format!("/api/v1/reading/{doc}")).await;
        assert_eq!(report["totals"]["read"], 1, "{report}");

        // `required: null` removes it at the next publish.
        assert_eq!(patch(&app, &org.admin, &doc, json!({"required": null})).await.status, 200);
        publish(&app, &org.admin, &doc).await;
        assert_eq!(app.get_as(&org.admin, &format!("/api/v1/reading/{doc}")).await.status, 404);
        assert!(get(&app, &org.member_hk, &format!("/api/v1/documents/{doc}")).await["required_due_at"].is_null());
        assert_counters_match(&app, "after removal").await;
    }
}

both_backends! {
    async fn required_is_validated_and_officers_see_their_part_only(app: TestApp) {
        let org = app.organisation().await;
        let body = json!({"title": "T", "kind": "thong_bao", "body": "x", "audience": {"all": true},
            "required": {"due_at": "2001-01-01T00:00:00Z"}});
        let answer = app.post_as(&org.admin, "/api/v1/admin/documents", &body).await;
        assert_eq!(answer.status, 422, "{}", answer.text());
        assert!(answer.text().contains("required"), "{}", answer.text());
        let body = json!({"title": "T", "kind": "thong_bao", "body": "x", "audience": {"all": true},
            "required": {"due_at": "not a time"}});
        assert!(app.post_as(&org.admin, "/api/v1/admin/documents", &body).await.status.is_client_error());

        let city = create_required(&app, &org.admin, "Toàn thành phố", json!({"all": true}), json!({"due_at": DUE})).await;
        let hk_only = create_required(&app, &org.admin, "Riêng HK", json!({"committees": ["HK"]}), json!({"due_at": DUE})).await;
        let officer_bd = app.staff_token("officer.bd", "officer", Some("BD")).await;
        let list = get(&app, &officer_bd, "/api/v1/reading").await;
        let ids: Vec<&str> = list["items"].as_array().unwrap().iter().map(|d| d["document_id"].as_str().unwrap()).collect();
        assert_eq!(ids, [city.as_str()], "an officer follows the documents addressed to its committee");
        assert_eq!(reading_of(&list, &city)["eligible"], 1);
        let report = get(&app, &officer_bd, &format!("/api/v1/reading/{city}")).await;
        let codes: Vec<&str> = report["committees"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["BD"]);
        for path in [
            format!("/api/v1/reading/{hk_only}"),
            format!("/api/v1/reading/{city}/HK"),
            format!("/api/v1/reading/{city}/HK/not-read"),
            format!("/api/v1/reading/{hk_only}/BD"),
            "/api/v1/reading/nope".to_owned(),
        ] {
            assert_eq!(app.get_as(&officer_bd, &path).await.status, 404, "{path}");
        }
        assert_eq!(app.get_as(&org.admin, &format!("/api/v1/reading/{hk_only}/BD")).await.status, 404);
        assert_eq!(app.get_as(&org.member_hk, "/api/v1/reading").await.status, 403);
        assert_eq!(app.get_as(&officer_bd, &format!("/api/v1/reading/{city}/BD/not-read")).await.status, 200);
    }
}

/// Members of the property test: 24 over two committees, two units, two cells.
fn member_line(card: u32, committee: &str, unit: u32, cell: u32, status: &str) -> String {
    format!("{card},Đảng viên {card},{committee},Đơn vị {unit},Chi bộ {cell},{status}\n")
}

const HEADER: &str = "card_number,full_name,committee_code,unit,cell,status\n";

both_backends! {
    async fn counters_equal_a_recount_after_random_operations(app: TestApp) {
        let org = app.organisation().await;
        let mut random = rand::rngs::StdRng::seed_from_u64(17);
        let statuses = ["eligible", "eligible", "eligible", "exempt", "left"];
        let mut csv = HEADER.to_owned();
        for card in 0..24u32 {
            let committee = if card % 2 == 0 { "HK" } else { "BD" };
            csv.push_str(&member_line(200_000_000 + card, committee, card % 2, card % 3, statuses[card as usize % 5]));
        }
        app.import(&org.admin, &csv).await;
        let members: Vec<i64> = app
            .db()
            .run(|conn| {
                use diesel::prelude::*;
                use handbook::db::schema::members as m;
                Ok(m::table.select(m::id).order(m::id).load::<i64>(conn)?)
            })
            .await
            .unwrap();
        let audiences = [json!({"all": true}), json!({"committees": ["HK"]}), json!({"committees": ["BD"]}),
            json!({"committees": ["HK", "BD"]})];
        let mut documents: Vec<(String, i64)> = Vec::new();
        for (n, audience) in audiences.iter().take(3).enumerate() {
            let id = create_required(&app, &org.admin, &format!("Tài liệu {n}"), audience.clone(), json!({"due_at": DUE})).await;
            documents.push((id, 1));
        }
        let mut phone = SyncClient::register(&app, &org.member_hk).await;
        for step in 0..80 {
            let (document, revision) = documents[random.gen_range(0..documents.len())].clone();
            match random.gen_range(0..10) {
                // A read pushed by member A (HK), of any revision up to the live one.
                0..=1 => {
                    phone.enqueue(json!({"type": "read.mark", "document_id": document,
                        "revision": random.gen_range(1..=revision)}));
                    phone.push(&app, 50).await;
                }
                // A read by anyone, through the function the push calls.
                2..=4 => {
                    let member = members[random.gen_range(0..members.len())];
                    let read = random.gen_range(1..=revision);
                    app.db()
                        .run(move |conn| {
                            conn.write_transaction(|conn| {
                                handbook::reading::counters::record_read(conn, member, &document, read, handbook::time::now())
                            })?;
                            Ok(())
                        })
                        .await
                        .unwrap();
                }
                // A new audience, published.
                5 => {
                    let audience = audiences[random.gen_range(0..audiences.len())].clone();
                    assert_eq!(patch(&app, &org.admin, &document, json!({"audience": audience})).await.status, 200);
                    let at = documents.iter().position(|d| d.0 == document).unwrap();
                    documents[at].1 = publish(&app, &org.admin, &document).await;
                }
                // A new required revision (or a plain republish).
                6 => {
                    let reread = random.gen_bool(0.5);
                    let answer = patch(&app, &org.admin, &document, json!({"required": {"due_at": DUE, "reread": reread}})).await;
                    assert_eq!(answer.status, 200);
                    let at = documents.iter().position(|d| d.0 == document).unwrap();
                    documents[at].1 = publish(&app, &org.admin, &document).await;
                }
                // A member moves committee, unit or cell, or changes status, by an import.
                _ => {
                    let card = 200_000_000 + random.gen_range(0..24u32);
                    let committee = if random.gen_bool(0.5) { "HK" } else { "BD" };
                    let line = member_line(card, committee, random.gen_range(0..2), random.gen_range(0..3),
                        statuses[random.gen_range(0..statuses.len())]);
                    app.import(&org.admin, &format!("{HEADER}{line}")).await;
                }
            }
            if step % 10 == 9 {
                assert_counters_match(&app, &format!("step {step}")).await;
            }
        }
        assert_counters_match(&app, "at the end").await;
        // The reports read the counters: their totals equal the recount's.
        let list = get(&app, &org.admin, "/api/v1/reading").await;
        let expected = app
            .db()
            .run(|conn| Ok(handbook::reading::counters::expected_rows(&handbook::reading::counters::full_count(conn, None)?)))
            .await
            .unwrap();
        assert!(expected.values().any(|n| *n > 0), "the operations left reads that count");
        for (id, _) in &documents {
            let total: i64 = expected.iter().filter(|((d, _, u, c), _)| d == id && u.is_empty() && c.is_empty()).map(|(_, n)| n).sum();
            assert_eq!(reading_of(&list, id)["read"].as_i64(), Some(total), "{id}");
        }
    }
}
