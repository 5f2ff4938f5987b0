//! Issue 14, authentication: throttling that holds under bursts, the password rule, reset codes that end the old
//! password, revocation that reaches access tokens on every instance, and refresh retries after a lost answer.
//! On both backends.

use std::time::Instant;

use crate::harness::{Answer, TestApp, MEMBERS_CSV, MEMBER_PASSWORD, STAFF_PASSWORD};
use actix_web::http::header;
use actix_web::test::TestRequest;
use diesel::prelude::*;
use serde_json::{json, Value};

use handbook::auth::throttle;

fn access(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_owned()
}

async fn login_attempt(app: &TestApp, login: &str, password: &str) -> Answer {
    app.post_json("/api/v1/auth/login", &json!({"login": login, "password": password})).await
}

/// Sends all the attempts at the same moment: every request's database work runs on the blocking pool, so the
/// throttle's steps of the 150 requests interleave as they would from 150 connections.
async fn burst(app: &TestApp, attempts: Vec<(String, String)>) -> (Vec<u16>, f64) {
    let started = Instant::now();
    let answers =
        futures_util::future::join_all(attempts.iter().map(|(login, password)| login_attempt(app, login, password)))
            .await;
    (answers.iter().map(|a| a.status.as_u16()).collect(), started.elapsed().as_secs_f64())
}

fn tally(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

/// Verifications a sequence of attempts would get in `seconds`: the free failures, the one that sets the first
/// block, and one more each time a block (1 s, 2 s, 4 s …) could have run out meanwhile.
fn sequence_allows(policy: throttle::Policy, seconds: f64) -> usize {
    let mut allowed = policy.free_failures as usize + 1;
    let (mut waited, mut delay) = (0.0, policy.first_delay_secs as f64);
    while waited + delay <= seconds {
        waited += delay;
        delay = (delay * 2.0).min(policy.max_delay_secs as f64);
        allowed += 1;
    }
    allowed
}

async fn set_refresh_spent_at(app: &TestApp, presented: &str, seconds_ago: i64) {
    let hash = handbook::auth::secrets::sha256_hex(presented);
    app.db()
        .run(move |conn| {
            use handbook::db::schema::refresh_tokens::dsl::*;
            let at = handbook::time::now() - chrono::Duration::seconds(seconds_ago);
            diesel::update(refresh_tokens.find(hash)).set(spent_at.eq(Some(at))).execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
}

async fn refresh(app: &TestApp, token: &Value, installation: Option<&str>) -> Answer {
    let mut body = json!({"refresh_token": token});
    if let Some(installation) = installation {
        body["installation_id"] = json!(installation);
    }
    app.post_json("/api/v1/auth/refresh", &body).await
}

async fn live_tokens(app: &TestApp) -> i64 {
    app.count(
        "SELECT count(*) AS n FROM refresh_tokens WHERE subject LIKE 'member:%' AND spent_at IS NULL AND revoked_at IS NULL",
    )
    .await
}

both_backends! {
    async fn a_burst_of_wrong_passwords_at_one_account_is_throttled_like_a_sequence(app: TestApp) {
        app.imported_organisation().await;
        let attempts = (0..150).map(|i| ("city.admin".to_owned(), format!("wrong guess {i}"))).collect();
        let (statuses, seconds) = burst(&app, attempts).await;
        let verified = tally(&statuses, 401);
        assert_eq!(verified + tally(&statuses, 429), 150, "{statuses:?}");
        assert!(verified >= 1, "{statuses:?}");
        let allowed = sequence_allows(throttle::ACCOUNT, seconds);
        assert!(verified <= allowed, "{verified} verifications in {seconds:.2} s, a sequence gets {allowed}");
    }

    async fn a_burst_with_the_right_password_among_wrong_ones_gets_no_more_verifications(app: TestApp) {
        app.imported_organisation().await;
        let mut attempts: Vec<(String, String)> =
            (0..149).map(|i| ("city.admin".to_owned(), format!("wrong guess {i}"))).collect();
        attempts.push(("city.admin".to_owned(), STAFF_PASSWORD.to_owned()));
        let (statuses, seconds) = burst(&app, attempts).await;
        let verified = statuses.iter().filter(|s| **s != 429).count();
        assert!(tally(&statuses, 200) <= 1);
        let allowed = sequence_allows(throttle::ACCOUNT, seconds);
        assert!(verified <= allowed, "{verified} verifications in {seconds:.2} s, a sequence gets {allowed}: {statuses:?}");
    }

    async fn a_burst_from_one_address_is_throttled_like_a_sequence(app: TestApp) {
        app.imported_organisation().await;
        // 150 different accounts, one client address (the in-process requests all come from "unknown").
        let attempts = (0..150).map(|i| (format!("nobody.{i}"), "a wrong guess".to_owned())).collect();
        let (statuses, seconds) = burst(&app, attempts).await;
        let verified = tally(&statuses, 401);
        assert_eq!(verified + tally(&statuses, 429), 150, "{statuses:?}");
        let allowed = sequence_allows(throttle::ADDRESS, seconds);
        assert!(verified <= allowed, "{verified} verifications in {seconds:.2} s, a sequence gets {allowed}");
    }

    async fn a_success_is_refunded_to_a_shared_address_and_frees_the_account(app: TestApp) {
        app.imported_organisation().await;
        let address_failures = "SELECT CAST(failures AS BIGINT) AS n FROM login_throttle WHERE throttle_key = 'ip:unknown'";
        let before = app.count(address_failures).await;
        for _ in 0..3 {
            app.login("city.admin", STAFF_PASSWORD).await;
        }
        assert_eq!(app.count(address_failures).await, before, "members behind one NAT do not use up its tries");
        login_attempt(&app, "city.admin", "a wrong guess").await.problem(401);
        assert_eq!(app.count(address_failures).await, before + 1);
        let in_flight = app.count("SELECT count(*) AS n FROM login_throttle WHERE in_flight_until IS NOT NULL").await;
        assert_eq!(in_flight, 0, "a finished verification is no longer in flight");
    }

    async fn common_blank_and_own_name_passwords_are_refused_everywhere(app: TestApp) {
        let admin = app.imported_organisation().await;
        let code = app.post_as(&admin, "/api/v1/admin/members/100000001/activation-code", &json!({})).await.json()["activation_code"].as_str().unwrap().to_owned();
        // Eight U+0000 never reach the password rule over HTTP: the body check refuses any NUL first (400).
        let nul = app.post_json("/api/v1/auth/activate", &json!({"card_number": "100000001", "activation_code": code, "new_password": "\u{0}".repeat(8)})).await;
        nul.problem(400);
        for refused in ["12345678", "password", "PASSWORD1", "        ", "100000001"] {
            let answer = app.post_json("/api/v1/auth/activate", &json!({"card_number": "100000001", "activation_code": code, "new_password": refused})).await;
            let problem = answer.problem(422);
            assert_eq!(problem["errors"][0]["field"], "new_password", "{refused:?}");
            assert!(problem["errors"][0]["message"].as_str().unwrap().len() > 10, "{problem}");
        }
        let tokens = app.post_json("/api/v1/auth/activate", &json!({"card_number": "100000001", "activation_code": code, "new_password": MEMBER_PASSWORD})).await;
        assert_eq!(tokens.status, 200, "the code was not spent by the refusals: {}", tokens.text());
        let member = access(&tokens.json());
        let change = |new: &'static str| {
            let (app, member) = (&app, member.clone());
            async move { app.post_as(&member, "/api/v1/auth/password", &json!({"current_password": MEMBER_PASSWORD, "new_password": new})).await }
        };
        assert_eq!(change("Qwertyuiop").await.problem(422)["errors"][0]["field"], "new_password");
        assert_eq!(change(" 100000001 ").await.problem(422)["errors"][0]["field"], "new_password");

        let staff = json!({"login": "officer.bd", "password": "Officer.BD", "role": "officer", "committee_code": "BD"});
        let problem = app.post_as(&admin, "/api/v1/admin/staff", &staff).await.problem(422);
        assert_eq!(problem["errors"][0]["field"], "password");
        let staff = json!({"login": "officer.bd", "password": "iloveyou1", "role": "officer", "committee_code": "BD"});
        assert_eq!(app.post_as(&admin, "/api/v1/admin/staff", &staff).await.problem(422)["errors"][0]["field"], "password");
    }

    async fn a_reset_code_ends_the_old_password_and_every_session_at_once(app: TestApp) {
        let admin = app.imported_organisation().await;
        let phone = app.activate_member(&admin, "100000001", MEMBER_PASSWORD).await;
        let tablet = app.login("100000001", MEMBER_PASSWORD).await;
        let reset = app.post_as(&admin, "/api/v1/admin/members/100000001/activation-code", &json!({})).await;
        assert_eq!(reset.status, 201);
        login_attempt(&app, "100000001", MEMBER_PASSWORD).await.problem(401);
        for session in [&phone, &tablet] {
            app.get_as(&access(session), "/api/v1/me").await.problem(401);
            refresh(&app, &session["refresh_token"], None).await.problem(401);
        }
        let code = reset.json()["activation_code"].as_str().unwrap().to_owned();
        let fresh = app.post_json("/api/v1/auth/activate", &json!({"card_number": "100000001", "activation_code": code, "new_password": "a brand new one"})).await;
        assert_eq!(fresh.status, 200);
        assert_eq!(app.get_as(&access(&fresh.json()), "/api/v1/me").await.status, 200);
        app.login("100000001", "a brand new one").await;
    }

    async fn sign_out_ends_the_access_token_of_that_session_only(app: TestApp) {
        let admin = app.imported_organisation().await;
        let phone = app.activate_member(&admin, "100000001", MEMBER_PASSWORD).await;
        let tablet = app.login("100000001", MEMBER_PASSWORD).await;
        let out = app.post_json("/api/v1/auth/logout", &json!({"refresh_token": phone["refresh_token"]})).await;
        assert_eq!(out.status, 204);
        app.get_as(&access(&phone), "/api/v1/me").await.problem(401);
        assert_eq!(app.get_as(&access(&tablet), "/api/v1/me").await.status, 200);
    }

    async fn dashboard_sign_out_ends_the_access_cookie(app: TestApp) {
        app.imported_organisation().await;
        let form = |login: &str, password: &str| {
            let body: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("login", login)
                .append_pair("password", password)
                .finish();
            TestRequest::post()
                .uri("/dashboard/login")
                .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
                .set_payload(body)
        };
        let signed_in = app.send(form("city.admin", STAFF_PASSWORD)).await;
        assert_eq!(signed_in.status, 303, "{}", signed_in.text());
        let cookies: Vec<actix_web::cookie::Cookie> = signed_in
            .headers
            .get_all(header::SET_COOKIE)
            .map(|v| actix_web::cookie::Cookie::parse(v.to_str().unwrap().to_owned()).unwrap())
            .collect();
        let cookie = |name: &str| cookies.iter().find(|c| c.name() == name).unwrap().value().to_owned();
        let access_cookie = cookie("hb_access");
        let only_access = format!("hb_access={access_cookie}; hb_active={}", cookie("hb_active"));
        let page = app.send(TestRequest::get().uri("/dashboard").insert_header((header::COOKIE, only_access.clone()))).await;
        assert_eq!(page.status, 200);
        let csrf = crate::harness::console::csrf_of(&page.text()).unwrap();
        let out = app
            .send(
                TestRequest::post()
                    .uri("/dashboard/logout")
                    .insert_header((header::COOKIE, only_access.clone()))
                    .insert_header((header::CONTENT_TYPE, "application/x-www-form-urlencoded"))
                    .set_payload(format!("csrf={csrf}")),
            )
            .await;
        assert_eq!(out.status, 303);
        // A copy of the cookie kept by whoever had it no longer opens the dashboard, nor the API.
        let page = app.send(TestRequest::get().uri("/dashboard").insert_header((header::COOKIE, only_access))).await;
        assert_eq!(page.status, 303);
        assert_eq!(page.header("location"), Some("/dashboard/login"));
        app.get_as(&access_cookie, "/api/v1/me").await.problem(401);
    }

    async fn a_member_marked_left_by_import_loses_access_at_once(app: TestApp) {
        let admin = app.imported_organisation().await;
        let tokens = app.activate_member(&admin, "100000001", MEMBER_PASSWORD).await;
        let member = access(&tokens);
        let device = uuid::Uuid::new_v4().to_string();
        let register = |token: String| {
            let (app, device) = (&app, device.clone());
            async move {
                let body = json!({"installation_id": device, "platform": "android", "app_version": "1.0.0"});
                app.post_as(&token, "/api/v1/installations", &body).await
            }
        };
        let sync = |token: String| {
            let (app, device) = (&app, device.clone());
            async move {
                let request = TestRequest::get().uri("/api/v1/sync").insert_header(("X-Installation-Id", device.as_str()));
                app.with_bearer(&token, request).await
            }
        };
        assert_eq!(register(member.clone()).await.status, 201);
        assert_eq!(sync(member.clone()).await.status, 200);
        let left = MEMBERS_CSV.replace("Chi bộ 1,eligible\n100000002", "Chi bộ 1,left\n100000002");
        assert_ne!(left, MEMBERS_CSV);
        app.import(&admin, &left).await;
        sync(member.clone()).await.problem(401);
        register(member).await.problem(401);
    }

    async fn a_password_change_ends_the_other_access_tokens_and_keeps_its_own(app: TestApp) {
        let admin = app.imported_organisation().await;
        let phone = app.activate_member(&admin, "100000001", MEMBER_PASSWORD).await;
        let tablet = app.login("100000001", MEMBER_PASSWORD).await;
        let changed = app.post_as(&access(&phone), "/api/v1/auth/password", &json!({"current_password": MEMBER_PASSWORD, "new_password": "a new password"})).await;
        assert_eq!(changed.status, 204, "{}", changed.text());
        app.get_as(&access(&tablet), "/api/v1/me").await.problem(401);
        assert_eq!(app.get_as(&access(&phone), "/api/v1/me").await.status, 200);
    }

    async fn another_instance_refuses_a_revoked_token_after_its_poll(app: TestApp) {
        use handbook::auth::{revocations, user::from_access_token};
        let admin = app.imported_organisation().await;
        let tokens = app.activate_member(&admin, "100000001", MEMBER_PASSWORD).await;
        let token = access(&tokens);
        // A second instance: the same database and the same signing keys, its own memory.
        let url = app.db().url().display();
        let url = match app.db().url() {
            handbook::db::DbUrl::Postgres(url) => url.clone(),
            handbook::db::DbUrl::Sqlite(_) => url,
        };
        let other_db = handbook::db::open(&url, 2).unwrap();
        let other = handbook::state::AppState::new(other_db, app.state.settings.clone()).unwrap();
        let poll = |state: actix_web::web::Data<handbook::state::AppState>| async move {
            let revoked = std::sync::Arc::clone(&state.auth.revoked);
            state.db.run(move |conn| Ok(revocations::poll(conn, &revoked, handbook::time::now())?)).await.unwrap()
        };
        poll(other.clone()).await;
        assert!(from_access_token(&other, &token).is_ok());

        app.post_json("/api/v1/auth/logout", &json!({"refresh_token": tokens["refresh_token"]})).await;
        assert!(from_access_token(&app.state, &token).is_err(), "the instance that revoked refuses at once");
        assert!(from_access_token(&other, &token).is_ok(), "the other learns at its next poll, within 2 s");
        assert_eq!(poll(other.clone()).await, 1);
        assert!(from_access_token(&other, &token).is_err());
    }

    async fn a_lost_refresh_answer_is_retried_from_the_same_installation(app: TestApp) {
        let admin = app.imported_organisation().await;
        let code = app.post_as(&admin, "/api/v1/admin/members/100000001/activation-code", &json!({})).await.json()["activation_code"].as_str().unwrap().to_owned();
        let device = uuid::Uuid::new_v4().to_string();
        let first = app.post_json("/api/v1/auth/activate", &json!({"card_number": "100000001", "activation_code": code, "new_password": MEMBER_PASSWORD, "installation_id": device})).await.json();
        let lost = refresh(&app, &first["refresh_token"], Some(&device)).await;
        assert_eq!(lost.status, 200);
        set_refresh_spent_at(&app, first["refresh_token"].as_str().unwrap(), 25).await;
        // The answer never arrived: the app retries with the token it still has.
        let retried = refresh(&app, &first["refresh_token"], Some(&device)).await;
        assert_eq!(retried.status, 200, "{}", retried.text());
        let retried = retried.json();
        assert_eq!(live_tokens(&app).await, 1, "the lost successor no longer counts");
        assert_eq!(app.get_as(&access(&retried), "/api/v1/me").await.status, 200);
        let next = refresh(&app, &retried["refresh_token"], Some(&device)).await;
        assert_eq!(next.status, 200, "the family goes on");
        // The lost token, turning up later, is a reuse: the family ends.
        refresh(&app, &lost.json()["refresh_token"], None).await.problem(401);
        refresh(&app, &next.json()["refresh_token"], Some(&device)).await.problem(401);
    }

    async fn reuse_outside_the_window_or_from_another_installation_still_revokes(app: TestApp) {
        let admin = app.imported_organisation().await;
        let device = uuid::Uuid::new_v4().to_string();
        app.activate_member(&admin, "100000001", MEMBER_PASSWORD).await;
        for (late, from) in [(31, device.clone()), (0, uuid::Uuid::new_v4().to_string())] {
            let first = app.post_json("/api/v1/auth/login", &json!({"login": "100000001", "password": MEMBER_PASSWORD, "installation_id": device})).await.json();
            let second = refresh(&app, &first["refresh_token"], Some(&device)).await.json();
            set_refresh_spent_at(&app, first["refresh_token"].as_str().unwrap(), late).await;
            refresh(&app, &first["refresh_token"], Some(&from)).await.problem(401);
            refresh(&app, &second["refresh_token"], Some(&device)).await.problem(401);
            app.get_as(&access(&second), "/api/v1/me").await.problem(401);
        }
    }
}
