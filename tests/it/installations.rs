//! Installations: an id registered to one account stays theirs, an account keeps a bounded number of devices, and
//! coverage's `up_to_date` counts members, on both backends.

use crate::harness;
use crate::harness::TestApp;
use actix_web::test::TestRequest;
use serde_json::json;

/// (member card number, deleted) of the installation.
async fn owner_of(app: &TestApp, installation: &str) -> (String, bool) {
    let installation = installation.to_owned();
    app.db()
        .run(move |conn| {
            use diesel::prelude::*;
            use handbook::db::schema::{installations as inst, members};
            let row: (String, Option<chrono::NaiveDateTime>) = inst::table
                .inner_join(members::table)
                .filter(inst::installation_id.eq(&installation))
                .select((members::card_number, inst::deleted_at))
                .get_result(conn)?;
            Ok((row.0, row.1.is_some()))
        })
        .await
        .unwrap()
}

async fn live_devices(app: &TestApp) -> i64 {
    app.count("SELECT count(*) AS n FROM installations WHERE deleted_at IS NULL").await
}

both_backends! {
    async fn another_members_installation_answers_409_and_stays_theirs(app: TestApp) {
        let org = app.organisation().await;
        let device = uuid::Uuid::new_v4().to_string();
        assert_eq!(app.register_installation(&org.member_hk, &device).await.status, 201);
        let taken = app.register_installation(&org.member_bd, &device).await.problem(409);
        assert_eq!(taken["type"], "/problems/conflict");
        assert_eq!(owner_of(&app, &device).await, ("100000001".to_owned(), false));
        // It still syncs for its owner, not for the other member.
        let sync = |token: String| {
            let device = device.clone();
            let app = &app;
            async move { app.with_bearer(&token, TestRequest::get().uri("/api/v1/sync").insert_header(("X-Installation-Id", device.as_str()))).await.status.as_u16() }
        };
        assert_eq!(sync(org.member_hk.clone()).await, 200);
        assert_eq!(sync(org.member_bd.clone()).await, 404);
        // Staff cannot take it either.
        app.register_installation(&org.admin, &device).await.problem(409);
        // Once its owner removes it (signs out on that device), another member may register it.
        let removed = app.with_bearer(&org.member_hk, TestRequest::delete().uri(&format!("/api/v1/installations/{device}"))).await;
        assert_eq!(removed.status, 204);
        assert_eq!(app.register_installation(&org.member_bd, &device).await.status, 200);
        assert_eq!(owner_of(&app, &device).await, ("100000004".to_owned(), false));
        let bd = app.get_as(&org.admin, "/api/v1/coverage/BD").await.json();
        let hk = app.get_as(&org.admin, "/api/v1/coverage/HK").await.json();
        assert_eq!((hk["committee"]["installed"].clone(), bd["committee"]["installed"].clone()), (json!(0), json!(1)));
        let openapi = app.get("/api/v1/openapi.json").await.json();
        assert!(openapi["paths"]["/api/v1/installations"]["post"]["responses"]["409"].is_object(), "409 is documented");
    }

    async fn a_member_keeps_at_most_five_devices_and_the_longest_idle_one_is_retired(app: TestApp) {
        let org = app.organisation().await;
        assert_eq!(app.state.settings.max_devices, 5, "the default");
        let devices: Vec<String> = (0..5).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        for device in &devices {
            assert_eq!(app.register_installation(&org.member_hk, device).await.status, 201);
        }
        // The third device has been idle longest (the others were seen since).
        let idle = devices[2].clone();
        app.db()
            .run(move |conn| {
                use diesel::prelude::*;
                use handbook::db::schema::installations as inst;
                let long_ago = chrono::Utc::now().naive_utc() - chrono::Duration::days(40);
                diesel::update(inst::table.find(&idle)).set(inst::last_seen_at.eq(long_ago)).execute(conn)?;
                Ok(())
            })
            .await
            .unwrap();
        let sixth = uuid::Uuid::new_v4().to_string();
        assert_eq!(app.register_installation(&org.member_hk, &sixth).await.status, 201);
        assert_eq!(live_devices(&app).await, 5);
        assert_eq!(owner_of(&app, &devices[2]).await, ("100000001".to_owned(), true), "the idle one is retired");
        for device in devices.iter().enumerate().filter(|(n, _)| *n != 2).map(|(_, d)| d) {
            assert!(!owner_of(&app, device).await.1, "the others stay");
        }
        let listed = app.get_as(&org.member_hk, "/api/v1/installations").await.json();
        assert_eq!(listed["items"].as_array().unwrap().len(), 5);
        // Re-registering a live device does not retire anything; the retired one comes back and retires another.
        assert_eq!(app.register_installation(&org.member_hk, &devices[0]).await.status, 200);
        assert_eq!(live_devices(&app).await, 5);
        assert_eq!(app.register_installation(&org.member_hk, &devices[2]).await.status, 200);
        assert_eq!(live_devices(&app).await, 5);
        let hk = app.get_as(&org.admin, "/api/v1/coverage/HK").await.json();
        assert_eq!(hk["committee"]["installed"], 1, "one member, however many devices");
    }

    async fn up_to_date_counts_a_member_with_several_up_to_date_devices_once(app: TestApp) {
        let org = app.organisation().await;
        let body = json!({"title": "Nghị quyết", "kind": "thong_bao", "section": "", "body": "x", "audience": {"all": true}});
        let id = app.post_as(&org.admin, "/api/v1/admin/documents", &body).await.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(app.post_as(&org.admin, &format!("/api/v1/admin/documents/{id}/publish"), &json!({})).await.status, 200);
        for _ in 0..3 {
            let mut device = harness::SyncClient::register(&app, &org.member_hk).await;
            device.sync(&app).await; // and acknowledges
        }
        app.db().run(|conn| Ok(handbook::coverage::counters::refresh_moving(conn, handbook::time::now())?)).await.unwrap();
        let hk = app.get_as(&org.admin, "/api/v1/coverage/HK").await.json();
        assert_eq!((hk["committee"]["installed"].clone(), hk["committee"]["up_to_date"].clone()), (json!(1), json!(1)));
        assert_eq!(hk["units"][0]["up_to_date"], 1);
        let cells: i64 = hk["units"][0]["cells"].as_array().unwrap().iter().map(|c| c["up_to_date"].as_i64().unwrap()).sum();
        assert_eq!(cells, 1);
    }
}

both_backends! {
    async fn registrations_at_the_same_moment_keep_the_cap_and_the_owner(app: TestApp) {
        app.seed_committees(&["HK"]).await;
        let admin = app.admin_token().await;
        let csv = "card_number,full_name,committee_code,unit,cell,status\n\
                   100000001,A,HK,U,C,eligible\n100000002,B,HK,U,C,eligible\n100000003,C,HK,U,C,eligible\n100000004,D,HK,U,C,eligible\n";
        app.import(&admin, csv).await;
        let mut users = Vec::new();
        for card in ["100000001", "100000002", "100000003", "100000004"] {
            let token = app.activate_member(&admin, card, "member password").await["access_token"].as_str().unwrap().to_owned();
            users.push(handbook::auth::user::from_access_token(&app.state, &token).unwrap());
        }
        let registration = |id: &str| handbook::sync::installations::Registration {
            installation_id: id.to_owned(),
            platform: "ios".into(),
            app_version: "1.0".into(),
            os_version: None,
            device_model: None,
        };

        // Four members register the same new id at once: one gets it, the others are told 409 (no duplicate key).
        let shared = uuid::Uuid::new_v4().to_string();
        let outcomes = harness::at_once(&app, |n, conn| {
            handbook::sync::installations::register(conn, &users[n], registration(&shared), 5).map(|(new, _)| new)
        });
        let won = outcomes.iter().filter(|o| matches!(o, Ok(true))).count();
        let refused = outcomes.iter().filter(|o| matches!(o, Err(handbook::error::AppError::Conflict(_)))).count();
        assert_eq!((won, refused), (1, harness::AT_ONCE - 1), "{outcomes:?}");

        // One member registers four new devices at once with a cap of two: two stay live.
        let member = &users[3];
        let ids: Vec<String> = (0..harness::AT_ONCE).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        for outcome in harness::at_once(&app, |n, conn| handbook::sync::installations::register(conn, member, registration(&ids[n]), 2)) {
            outcome.expect("every registration succeeds");
        }
        let live = app.count("SELECT count(*) AS n FROM installations WHERE deleted_at IS NULL AND member_id = (SELECT id FROM members WHERE card_number = '100000004')").await;
        assert_eq!(live, 2);
        let hk = app.get_as(&admin, "/api/v1/coverage/HK").await.json();
        let winner = outcomes.iter().position(|o| matches!(o, Ok(true))).unwrap();
        let installed = if winner == 3 { 1 } else { 2 };
        assert_eq!(hk["committee"]["installed"], installed, "counters moved once per member");
    }
}
