//! Committees and members: the all-or-nothing import, listing, search and scoping, on both backends.

use crate::harness::{TestApp, MEMBERS_CSV};
use actix_web::test::TestRequest;
use serde_json::json;

async fn member_count(app: &TestApp) -> i64 {
    app.count("SELECT count(*) AS n FROM members").await
}

/// What a bulk load into an empty table must leave exactly as the migrations made it: the indexes of `members`
/// and its foreign keys.
async fn members_schema(app: &TestApp) -> Vec<String> {
    app.db()
        .run(|conn| {
            use diesel::prelude::*;
            #[derive(QueryableByName)]
            struct Line {
                #[diesel(sql_type = diesel::sql_types::Text)]
                line: String,
            }
            let sql = match conn {
                handbook::db::DbConnection::Sqlite(_) => {
                    "SELECT name || ': ' || COALESCE(sql, '') AS line FROM sqlite_master WHERE tbl_name = 'members' \
                     UNION ALL SELECT 'fk: ' || \"from\" || ' -> ' || \"table\" || '.' || \"to\" FROM pragma_foreign_key_list('members') \
                     ORDER BY 1"
                }
                handbook::db::DbConnection::Postgresql(_) => {
                    "SELECT indexdef AS line FROM pg_indexes WHERE tablename = 'members' \
                     UNION ALL SELECT conname || ': ' || pg_get_constraintdef(oid) FROM pg_constraint \
                     WHERE conrelid = 'members'::regclass ORDER BY 1"
                }
            };
            Ok(diesel::sql_query(sql).load::<Line>(conn)?.into_iter().map(|l| l.line).collect())
        })
        .await
        .unwrap()
}

both_backends! {
    async fn the_first_load_of_the_city_keeps_the_tables_indexes_and_keys(app: TestApp) {
        let codes: Vec<&str> = handbook::org::demo::COMMITTEES.iter().map(|(code, _, _)| *code).collect();
        app.seed_committees(&codes).await;
        let admin = app.admin_token().await;
        let schema = members_schema(&app).await;
        assert!(schema.len() >= 4, "{schema:?}");
        let csv = handbook::org::demo::members_csv(20_000, 7);
        let outcome = app.import(&admin, &csv).await;
        assert_eq!(outcome["created"].as_u64().unwrap() as i64, member_count(&app).await);
        assert_eq!(members_schema(&app).await, schema, "indexes and keys as the migrations made them");
        let unknown_committee = app
            .db()
            .run(|conn| {
                use diesel::prelude::*;
                Ok(diesel::sql_query(
                    "INSERT INTO members (card_number, full_name, search_name, committee_code, unit, cell, status, created_at, updated_at) \
                     VALUES ('999999999', 'X', 'x', 'NOPE', 'u', 'c', 'eligible', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                )
                .execute(conn)?)
            })
            .await;
        assert!(unknown_committee.is_err(), "the committee foreign key holds");
        let again = app.import(&admin, &csv).await;
        assert_eq!(again["unchanged"], outcome["created"]);
    }

    async fn an_import_creates_updates_moves_and_counts(app: TestApp) {
        app.seed_committees(&["HK", "BD"]).await;
        let admin = app.admin_token().await;
        let first = app.import(&admin, MEMBERS_CSV).await;
        assert_eq!(first, json!({"created": 4, "updated": 0, "unchanged": 0, "errors": [], "dry_run": false}));

        // Semicolons, a BOM, columns in another order, a quoted name; one member moves from HK to BD.
        let again = "\u{feff}status;card_number;full_name;committee_code;unit;cell\n\
            eligible;100000001;\"Nguyễn Văn A\";BD;Phường Kim Mã;Chi bộ 3\n\
            eligible;100000002;Trần Thị Bình;HK;Phường Hàng Bạc;Chi bộ 2\n\
            exempt;100000003;Lê Văn Cường;BD;Phường Kim Mã;Chi bộ 1\n\
            eligible;100000004;Phạm Thị Dung;BD;Phường Kim Mã;Chi bộ 1\n\
            eligible;100000005;\"Đỗ, Văn Em\";HK;Phường Hàng Bạc;Chi bộ 1\n";
        let second = app.import(&admin, again).await;
        assert_eq!((second["created"].as_u64(), second["updated"].as_u64(), second["unchanged"].as_u64()), (Some(1), Some(1), Some(3)));

        let moved = app.get_as(&admin, "/api/v1/admin/members/100000001").await.json();
        assert_eq!(moved["committee_code"], "BD");
        assert_eq!(moved["cell"], "Chi bộ 3");
        assert_eq!(app.get_as(&admin, "/api/v1/admin/members/100000005").await.json()["full_name"], "Đỗ, Văn Em");

        let committees = app.get_as(&admin, "/api/v1/committees").await.json();
        let eligible: Vec<_> = committees["items"].as_array().unwrap().iter().map(|c| (c["code"].clone(), c["eligible"].clone())).collect();
        assert_eq!(eligible, vec![(json!("BD"), json!(2)), (json!("HK"), json!(2))]);
    }

    async fn one_bad_row_rejects_the_whole_file_and_reports_every_error(app: TestApp) {
        app.seed_committees(&["HK"]).await;
        let admin = app.admin_token().await;
        let csv = "card_number,full_name,committee_code,unit,cell,status,birth_date\n\
            100000001,Nguyễn Văn A,HK,U,C,eligible,1970-01-01\n\
            100000002,Trần Thị B,XX,U,C,eligible,\n\
            100000003,Lê Văn C,HK,U,C,retired,\n\
            100000001,Nguyễn Văn A,HK,U,C,eligible,\n\
            ,Phạm D,HK,U,C,eligible,\n\
            100000006,Vũ E,HK,,C,eligible,1970-02-31\n\
            12AB,Vũ F,HK,U,C,eligible,\n";
        let answer = app.post_csv_as(&admin, "/api/v1/admin/members/import", csv).await;
        let problem = answer.problem(422);
        let errors: Vec<(u64, String)> = problem["errors"].as_array().unwrap().iter()
            .map(|e| (e["line"].as_u64().unwrap(), e["field"].as_str().unwrap().to_owned())).collect();
        for expected in [(3, "committee_code"), (4, "status"), (5, "card_number"), (6, "card_number"), (7, "unit"), (7, "birth_date"), (8, "card_number")] {
            assert!(errors.contains(&(expected.0, expected.1.to_owned())), "missing {expected:?} in {errors:?}");
        }
        assert_eq!(member_count(&app).await, 0, "nothing may be applied");
    }

    async fn malformed_files_are_refused_with_nothing_written(app: TestApp) {
        app.seed_committees(&["HK"]).await;
        let admin = app.admin_token().await;
        for (csv, field) in [
            ("", "header"),
            ("card_number,full_name\n100000001,A\n", "committee_code"),
            ("card_number,full_name,committee_code,unit,cell,status,nickname\n", "nickname"),
            ("card_number,full_name,committee_code,unit,cell,status\n100000001,A,HK,U,C\n", "row"),
        ] {
            let problem = app.post_csv_as(&admin, "/api/v1/admin/members/import", csv).await.problem(422);
            assert!(problem["errors"].as_array().unwrap().iter().any(|e| e["field"] == field), "{csv:?}: {problem}");
        }
        let mut latin1 = b"card_number,full_name,committee_code,unit,cell,status\n100000001,".to_vec();
        latin1.extend_from_slice(&[0x4e, 0x67, 0x75, 0x79, 0xea, 0x6e]); // "Nguyên" in Latin-1
        latin1.extend_from_slice(b",HK,U,C,eligible\n");
        let answer = app.with_bearer(&admin, TestRequest::post().uri("/api/v1/admin/members/import")
            .insert_header(("content-type", "text/csv")).set_payload(latin1)).await;
        assert!(answer.problem(422)["errors"][0]["message"].as_str().unwrap().contains("UTF-8"));
        let wrong_type = app.with_bearer(&admin, TestRequest::post().uri("/api/v1/admin/members/import")
            .insert_header(("content-type", "application/json")).set_payload(MEMBERS_CSV)).await;
        wrong_type.problem(415);
        assert_eq!(member_count(&app).await, 0);
    }

    async fn a_dry_run_counts_without_writing(app: TestApp) {
        app.seed_committees(&["HK", "BD"]).await;
        let admin = app.admin_token().await;
        let answer = app.post_csv_as(&admin, "/api/v1/admin/members/import?dry_run=true", MEMBERS_CSV).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json()["created"], 4);
        assert_eq!(answer.json()["dry_run"], true);
        assert_eq!(member_count(&app).await, 0);
    }

    async fn officers_import_list_and_see_only_their_committee(app: TestApp) {
        app.seed_committees(&["HK", "BD"]).await;
        let admin = app.admin_token().await;
        app.import(&admin, MEMBERS_CSV).await;
        let officer = app.staff_token("officer.hk", "officer", Some("HK")).await;

        let foreign = "card_number,full_name,committee_code,unit,cell,status\n200000001,Ngô Văn G,BD,U,C,eligible\n";
        let problem = app.post_csv_as(&officer, "/api/v1/admin/members/import", foreign).await.problem(422);
        assert_eq!(problem["errors"][0]["message"], "outside your committee");
        let steal = "card_number,full_name,committee_code,unit,cell,status\n100000004,Phạm Thị Dung,HK,U,C,eligible\n";
        app.post_csv_as(&officer, "/api/v1/admin/members/import", steal).await.problem(422);
        let own = "card_number,full_name,committee_code,unit,cell,status\n200000002,Ngô Văn H,HK,U,C,eligible\n";
        assert_eq!(app.import(&officer, own).await["created"], 1);

        let listed = app.get_as(&officer, "/api/v1/admin/members?committee=BD").await.json();
        assert_eq!(listed["items"].as_array().unwrap().len(), 0);
        let listed = app.get_as(&officer, "/api/v1/admin/members").await.json();
        let cards: Vec<_> = listed["items"].as_array().unwrap().iter().map(|m| m["card_number"].as_str().unwrap().to_owned()).collect();
        assert_eq!(cards, vec!["100000001", "100000002", "200000002"]);
        app.get_as(&officer, "/api/v1/admin/members/100000004").await.problem(404);
        assert_eq!(app.get_as(&officer, "/api/v1/committees").await.json()["items"].as_array().unwrap().len(), 1);
        assert_eq!(member_count(&app).await, 5);
    }

    async fn search_ignores_diacritics_and_pages_follow(app: TestApp) {
        app.seed_committees(&["HK", "BD"]).await;
        let admin = app.admin_token().await;
        app.import(&admin, MEMBERS_CSV).await;
        let found = app.get_as(&admin, "/api/v1/admin/members?q=nguyen%20van%20a").await.json();
        assert_eq!(found["items"].as_array().unwrap().len(), 1);
        assert_eq!(found["items"][0]["full_name"], "Nguyễn Văn A");
        assert_eq!(found["items"][0]["activated"], false);
        assert_eq!(found["items"][0]["installed"], false);
        let found = app.get_as(&admin, "/api/v1/admin/members?q=TR%E1%BA%A6N").await.json(); // "TRẦN"
        assert_eq!(found["items"][0]["card_number"], "100000002");
        let by_card = app.get_as(&admin, "/api/v1/admin/members?q=00000003").await.json();
        assert_eq!(by_card["items"][0]["card_number"], "100000003");
        let exempt = app.get_as(&admin, "/api/v1/admin/members?status=exempt").await.json();
        assert_eq!(exempt["items"].as_array().unwrap().len(), 1);
        app.get_as(&admin, "/api/v1/admin/members?status=retired").await.problem(422);
        app.get_as(&admin, "/api/v1/admin/members?limit=0").await.problem(422);
        app.get_as(&admin, "/api/v1/admin/members?after=%%%").await.problem(422);

        let mut seen = Vec::new();
        let mut path = "/api/v1/admin/members?limit=3".to_owned();
        loop {
            let page = app.get_as(&admin, &path).await.json();
            seen.extend(page["items"].as_array().unwrap().iter().map(|m| m["card_number"].as_str().unwrap().to_owned()));
            match page["next"].as_str() {
                Some(next) => path = format!("/api/v1/admin/members?limit=3&after={next}"),
                None => break,
            }
        }
        assert_eq!(seen, vec!["100000001", "100000002", "100000003", "100000004"]);
    }

    async fn committees_are_created_renamed_and_validated(app: TestApp) {
        let admin = app.admin_token().await;
        let created = app.post_as(&admin, "/api/v1/admin/committees", &json!({"code": "hk", "name": " Quận ủy  Hoàn Kiếm "})).await;
        assert_eq!(created.status, 201);
        assert_eq!(created.json(), json!({"code": "HK", "name": "Quận ủy Hoàn Kiếm", "eligible": 0}));
        app.post_as(&admin, "/api/v1/admin/committees", &json!({"code": "HK", "name": "Again"})).await.problem(409);
        let invalid = app.post_as(&admin, "/api/v1/admin/committees", &json!({"code": "H K!", "name": ""})).await.problem(422);
        assert_eq!(invalid["errors"].as_array().unwrap().len(), 2);
        let renamed = app.with_bearer(&admin, TestRequest::patch().uri("/api/v1/admin/committees/HK").set_json(json!({"name": "Quận ủy Hoàn Kiếm mới"}))).await;
        assert_eq!(renamed.json()["name"], "Quận ủy Hoàn Kiếm mới");

        // Bad JSON in all its forms, as problem details.
        let malformed = app.with_bearer(&admin, TestRequest::post().uri("/api/v1/admin/committees")
            .insert_header(("content-type", "application/json")).set_payload("{\"code\": ")).await;
        malformed.problem(400);
        app.post_as(&admin, "/api/v1/admin/committees", &json!({"code": "BD", "name": "x", "extra": 1})).await.problem(400);
        let not_json = app.with_bearer(&admin, TestRequest::post().uri("/api/v1/admin/committees")
            .insert_header(("content-type", "text/plain")).set_payload("code=BD")).await;
        not_json.problem(415);
        let huge = json!({"code": "BD", "name": "x".repeat(2 * 1024 * 1024)});
        app.post_as(&admin, "/api/v1/admin/committees", &huge).await.problem(413);
        assert_eq!(app.count("SELECT count(*) AS n FROM committees").await, 1);
    }

    async fn the_demo_data_loads_through_the_import(app: TestApp) {
        let outcome = app.db().run(|conn| handbook::org::demo::load(conn, 3_000, 1)).await.unwrap();
        assert!(outcome.created > 3_000);
        let admin = app.admin_token().await;
        let committees = app.get_as(&admin, "/api/v1/committees").await.json();
        let items = committees["items"].as_array().unwrap();
        assert_eq!(items.len(), 48);
        assert_eq!(items.iter().map(|c| c["eligible"].as_i64().unwrap()).sum::<i64>(), 3_000);
        assert!(items.iter().any(|c| c["name"] == "Quận ủy Hoàn Kiếm"));
    }
}
