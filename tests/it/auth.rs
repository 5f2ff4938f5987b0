//! Authentication: activation, sign-in, refresh families, throttling and token validation, on both backends.

use crate::harness::{TestApp, MEMBERS_CSV, MEMBER_PASSWORD, STAFF_PASSWORD};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn header(token: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap()
}

fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

both_backends! {
    async fn a_member_activates_once_and_then_signs_in(app: TestApp) {
        let admin = app.imported_organisation().await;
        let tokens = app.activate_member(&admin, "100000001", MEMBER_PASSWORD).await;
        assert_eq!(tokens["token_type"], "Bearer");
        assert_eq!(tokens["expires_in"], 900);
        let me = app.get_as(tokens["access_token"].as_str().unwrap(), "/api/v1/me").await.json();
        assert_eq!(me["card_number"], "100000001");
        assert_eq!(me["role"], "member");
        assert_eq!(me["committee"], json!({"code": "HK", "name": "Đảng bộ HK"}));
        assert_eq!(me["full_name"], "Nguyễn Văn A");

        let member = app.get_as(&admin, "/api/v1/admin/members/100000001").await.json();
        assert_eq!(member["activated"], true);
        let signed_in = app.login("100000001", MEMBER_PASSWORD).await;
        assert_eq!(claims(signed_in["access_token"].as_str().unwrap())["committee"], "HK");
    }

    async fn used_expired_and_mismatched_codes_all_answer_the_same_401(app: TestApp) {
        let admin = app.imported_organisation().await;
        let issue = |card: &'static str| {
            let app = &app;
            let admin = admin.clone();
            async move {
                app.post_as(&admin, &format!("/api/v1/admin/members/{card}/activation-code"), &json!({})).await.json()["activation_code"]
                    .as_str().unwrap().to_owned()
            }
        };
        let activate = |card: &'static str, code: String| {
            let app = &app;
            async move {
                app.post_json("/api/v1/auth/activate", &json!({"card_number": card, "activation_code": code, "new_password": MEMBER_PASSWORD})).await
            }
        };
        let code = issue("100000001").await;
        let wrong_card = activate("100000002", code.clone()).await;
        let problem = wrong_card.problem(401);
        // Typed sloppily, the code still works, once.
        assert_eq!(activate("100000001", code.to_lowercase().replace('-', " ")).await.status, 200);
        assert_eq!(activate("100000001", code.clone()).await.problem(401), problem);

        let replaced = issue("100000002").await;
        let fresh = issue("100000002").await;
        assert_eq!(activate("100000002", replaced).await.problem(401), problem, "a replaced code is dead");
        app.db().run(|conn| {
            use diesel::prelude::*;
            use handbook::db::schema::activation_codes::dsl::*;
            diesel::update(activation_codes).set(expires_at.eq(chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1))).execute(conn)?;
            Ok(())
        }).await.unwrap();
        assert_eq!(activate("100000002", fresh).await.problem(401), problem, "an expired code is dead");
        let short = app.post_json("/api/v1/auth/activate", &json!({"card_number": "100000002", "activation_code": "x", "new_password": "short"})).await;
        short.problem(422);
    }

    async fn two_concurrent_activations_with_one_code_have_one_winner(app: TestApp) {
        let admin = app.imported_organisation().await;
        let code = app.post_as(&admin, "/api/v1/admin/members/100000001/activation-code", &json!({})).await.json()["activation_code"].as_str().unwrap().to_owned();
        let body = json!({"card_number": "100000001", "activation_code": code, "new_password": MEMBER_PASSWORD});
        let (a, b) = futures_util::future::join(app.post_json("/api/v1/auth/activate", &body), app.post_json("/api/v1/auth/activate", &body)).await;
        let mut statuses = vec![a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        // The loser is refused by the spent code (401) or, while the winner's attempt is in flight, by the
        // throttle's one-attempt-at-a-time rule for the account (429).
        assert!(statuses == [200, 401] || statuses == [200, 429], "{statuses:?}");
    }

    async fn bad_credentials_of_every_kind_look_the_same(app: TestApp) {
        let admin = app.imported_organisation().await;
        app.activate_member(&admin, "100000001", MEMBER_PASSWORD).await;
        let attempt = |login: &'static str, password: &'static str| {
            let app = &app;
            async move { app.post_json("/api/v1/auth/login", &json!({"login": login, "password": password})).await }
        };
        let wrong_password = attempt("100000001", "not my password").await;
        let unknown = attempt("999999999", MEMBER_PASSWORD).await;
        let not_activated = attempt("100000002", MEMBER_PASSWORD).await;
        let unknown_staff = attempt("nobody", STAFF_PASSWORD).await;
        let reference = wrong_password.problem(401);
        for answer in [unknown, not_activated, unknown_staff] {
            assert_eq!(answer.problem(401), reference);
        }

        // A member who leaves cannot sign in, and every session ends.
        let left = MEMBERS_CSV.replace("100000001,Nguyễn Văn A,HK,Phường Hàng Bạc,Chi bộ 1,eligible", "100000001,Nguyễn Văn A,HK,Phường Hàng Bạc,Chi bộ 1,left");
        let session = app.login("100000001", MEMBER_PASSWORD).await;
        app.import(&admin, &left).await;
        assert_eq!(attempt("100000001", MEMBER_PASSWORD).await.problem(401), reference);
        let refreshed = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": session["refresh_token"]})).await;
        refreshed.problem(401);
    }

    async fn refresh_rotates_and_reuse_revokes_the_family(app: TestApp) {
        let admin = app.imported_organisation().await;
        let first = app.activate_member(&admin, "100000001", MEMBER_PASSWORD).await;
        let refresh = |token: Value| {
            let app = &app;
            async move { app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": token})).await }
        };
        let second = refresh(first["refresh_token"].clone()).await;
        assert_eq!(second.status, 200);
        let second = second.json();
        assert_ne!(second["refresh_token"], first["refresh_token"]);
        let third = refresh(second["refresh_token"].clone()).await.json();

        // The spent first token is presented again: the family dies, the live third token with it.
        refresh(first["refresh_token"].clone()).await.problem(401);
        refresh(third["refresh_token"].clone()).await.problem(401);
        let live = app.count("SELECT count(*) AS n FROM refresh_tokens WHERE revoked_at IS NULL").await;
        assert_eq!(live, 1, "only the admin's own session lives");
        refresh(json!("made-up")).await.problem(401);
    }

    async fn logout_ends_the_session(app: TestApp) {
        let admin = app.imported_organisation().await;
        let tokens = app.activate_member(&admin, "100000001", MEMBER_PASSWORD).await;
        let out = app.post_json("/api/v1/auth/logout", &json!({"refresh_token": tokens["refresh_token"]})).await;
        assert_eq!(out.status, 204);
        app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": tokens["refresh_token"]})).await.problem(401);
    }

    async fn a_password_change_ends_every_other_session(app: TestApp) {
        let admin = app.imported_organisation().await;
        let phone = app.activate_member(&admin, "100000001", MEMBER_PASSWORD).await;
        let tablet = app.login("100000001", MEMBER_PASSWORD).await;
        let access = phone["access_token"].as_str().unwrap();
        let wrong = app.post_as(access, "/api/v1/auth/password", &json!({"current_password": "nope nope", "new_password": "a new password"})).await;
        assert_eq!(wrong.problem(422)["errors"][0]["field"], "current_password");
        let changed = app.post_as(access, "/api/v1/auth/password", &json!({"current_password": MEMBER_PASSWORD, "new_password": "a new password"})).await;
        assert_eq!(changed.status, 204);
        app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": tablet["refresh_token"]})).await.problem(401);
        assert_eq!(app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": phone["refresh_token"]})).await.status, 200);
        app.login("100000001", "a new password").await;
    }

    async fn repeated_failures_are_throttled_before_hashing(app: TestApp) {
        app.imported_organisation().await;
        for _ in 0..5 {
            app.post_json("/api/v1/auth/login", &json!({"login": "city.admin", "password": "wrong guess"})).await.problem(401);
        }
        app.post_json("/api/v1/auth/login", &json!({"login": "city.admin", "password": "wrong guess"})).await.problem(401);
        let throttled = app.post_json("/api/v1/auth/login", &json!({"login": "city.admin", "password": STAFF_PASSWORD})).await;
        throttled.problem(429);
        let wait: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=2).contains(&wait), "{wait}");
        // Another account is not held back by it.
        app.staff_token("other.admin", "admin", None).await;
    }

    async fn a_demoted_officer_loses_rights_at_the_next_refresh(app: TestApp) {
        app.imported_organisation().await;
        app.staff_token("officer.hk", "officer", Some("HK")).await;
        let session = app.login("officer.hk", STAFF_PASSWORD).await;
        app.db().run(|conn| {
            use diesel::prelude::*;
            use handbook::db::schema::staff::dsl::*;
            diesel::update(staff.filter(login.eq("officer.hk"))).set(committee_code.eq("BD")).execute(conn)?;
            Ok(())
        }).await.unwrap();
        let refreshed = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": session["refresh_token"]})).await.json();
        assert_eq!(claims(refreshed["access_token"].as_str().unwrap())["committee"], "BD");
    }

    async fn outdated_hashes_are_upgraded_at_sign_in(app: TestApp) {
        use argon2::password_hash::{PasswordHasher, SaltString};
        app.imported_organisation().await;
        let weak = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, argon2::Params::new(1024, 1, 1, None).unwrap());
        let old = weak.hash_password(STAFF_PASSWORD.as_bytes(), &SaltString::generate(&mut argon2::password_hash::rand_core::OsRng)).unwrap().to_string();
        app.db().run(move |conn| {
            use diesel::prelude::*;
            use handbook::db::schema::staff::dsl::*;
            diesel::update(staff.filter(login.eq("city.admin"))).set(password_hash.eq(old)).execute(conn)?;
            Ok(())
        }).await.unwrap();
        app.login("city.admin", STAFF_PASSWORD).await;
        let stored: String = app.db().run(|conn| {
            use diesel::prelude::*;
            use handbook::db::schema::staff::dsl::*;
            Ok(staff.filter(login.eq("city.admin")).select(password_hash).first(conn)?)
        }).await.unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
    }

    async fn only_genuine_access_tokens_are_accepted(app: TestApp) {
        let admin = app.imported_organisation().await;
        assert_eq!(app.get_as(&admin, "/api/v1/me").await.status, 200);
        let head = header(&admin);
        assert_eq!(head["alg"], "EdDSA");
        let jwks = app.get("/.well-known/jwks.json").await.json();
        assert_eq!(jwks["keys"][0]["kid"], head["kid"]);
        assert_eq!(jwks["keys"][0]["crv"], "Ed25519");

        let parts: Vec<&str> = admin.split('.').collect();
        let mut body = claims(&admin);
        body["role"] = json!("admin");
        body["sub"] = json!("staff:999");
        let tampered = format!("{}.{}.{}", parts[0], encode_part(&body), parts[2]);
        let none = format!("{}.{}.", encode_part(&json!({"alg": "none", "typ": "JWT"})), parts[1]);
        let hs256 = {
            let mut h = head.clone();
            h["alg"] = json!("HS256");
            format!("{}.{}.{}", encode_part(&h), parts[1], parts[2])
        };
        let unknown_kid = {
            let mut h = head.clone();
            h["kid"] = json!("0000000000000000");
            format!("{}.{}.{}", encode_part(&h), parts[1], parts[2])
        };
        let other_key = {
            let keys = handbook::auth::keys::KeySet::from_seeds(&[handbook::auth::keys::random_seed()]).unwrap();
            handbook::auth::tokens::issue(&keys, "staff:1", handbook::auth::Role::Admin, None, None, chrono::Utc::now().timestamp())
        };
        let expired = {
            let keys = &app.state.auth.keys;
            handbook::auth::tokens::issue(keys, "staff:1", handbook::auth::Role::Admin, None, None, chrono::Utc::now().timestamp() - 3600)
        };
        for token in [tampered, none, hs256, unknown_kid, other_key, expired, "garbage".to_owned()] {
            app.get_as(&token, "/api/v1/me").await.problem(401);
        }
        app.get("/api/v1/me").await.problem(401);
    }

    async fn staff_accounts_are_created_by_admins_only(app: TestApp) {
        let admin = app.imported_organisation().await;
        let body = json!({"login": "Officer.BD", "password": "long enough", "role": "officer", "committee_code": "BD"});
        let created = app.post_as(&admin, "/api/v1/admin/staff", &body).await;
        assert_eq!(created.status, 201);
        let created = created.json();
        assert_eq!((&created["login"], &created["role"], &created["committee_code"]), (&json!("officer.bd"), &json!("officer"), &json!("BD")));
        assert_eq!((&created["disabled"], &created["last_sign_in_at"]), (&json!(false), &json!(null)));
        app.post_as(&admin, "/api/v1/admin/staff", &body).await.problem(409);
        let bad = app.post_as(&admin, "/api/v1/admin/staff", &json!({"login": "1x", "password": "short", "role": "king"})).await.problem(422);
        assert_eq!(bad["errors"].as_array().unwrap().len(), 3);
        let officer = app.login("officer.bd", "long enough").await;
        let me = app.get_as(officer["access_token"].as_str().unwrap(), "/api/v1/me").await.json();
        assert_eq!(me["committee"]["code"], "BD");
        app.post_as(officer["access_token"].as_str().unwrap(), "/api/v1/admin/staff", &body).await.problem(403);
    }

    async fn committee_activation_slips_cover_everyone_not_yet_activated(app: TestApp) {
        let admin = app.imported_organisation().await;
        app.activate_member(&admin, "100000001", MEMBER_PASSWORD).await;
        let slips = app.post_as(&admin, "/api/v1/admin/committees/HK/activation-codes", &json!({})).await;
        assert_eq!(slips.status, 201);
        assert!(slips.header("content-type").unwrap().starts_with("text/csv"));
        let text = slips.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "card_number,full_name,unit,cell,activation_code,expires_at");
        assert_eq!(lines.len(), 2, "{text}");
        let fields: Vec<&str> = lines[1].split(',').collect();
        assert_eq!(fields[0], "100000002");
        let code = fields[4];
        let activated = app.post_json("/api/v1/auth/activate", &json!({"card_number": "100000002", "activation_code": code, "new_password": MEMBER_PASSWORD})).await;
        assert_eq!(activated.status, 200);
    }
}

/// Behind a trusted proxy (10.0.0.1), a client whose address is blocked stays blocked whatever it puts on the
/// left of X-Forwarded-For: the proxy's own entry, on the right, names it (port and all).
async fn forwarded_for_cannot_lift_a_block(app: TestApp) {
    app.imported_organisation().await;
    let login = |n: usize, forwarded_for: &str| {
        actix_web::test::TestRequest::post()
            .uri("/api/v1/auth/login")
            .peer_addr("10.0.0.1:443".parse().unwrap())
            .insert_header(("X-Forwarded-For", forwarded_for.to_owned()))
            .set_json(json!({"login": format!("nobody{n}"), "password": "wrong guess"}))
    };
    let free = handbook::auth::throttle::ADDRESS.free_failures as usize;
    for n in 0..=free {
        app.send(login(n, &format!("203.0.113.7:{}", 50_000 + n))).await.problem(401);
    }
    app.send(login(1000, "203.0.113.7:51234")).await.problem(429);
    app.send(login(1001, "9.9.9.9, 203.0.113.7:51234")).await.problem(429);
    app.send(login(1002, "9.9.9.9, [::ffff:203.0.113.7]:51234")).await.problem(429);
    // Another client behind the same proxy is not held back.
    app.send(login(1003, "9.9.9.9, 203.0.113.8:51234")).await.problem(401);
}

mod forwarded_for_is_read_from_the_right {
    use super::*;
    use crate::harness::Backend;

    fn behind_proxy(settings: &mut handbook::config::Settings) {
        settings.trusted_proxies = vec!["10.0.0.1".parse().unwrap()];
    }

    #[actix_web::test]
    async fn sqlite() {
        forwarded_for_cannot_lift_a_block(TestApp::start_with(Backend::Sqlite, behind_proxy).await).await;
    }

    #[actix_web::test]
    async fn postgres() {
        forwarded_for_cannot_lift_a_block(TestApp::start_with(Backend::Postgres, behind_proxy).await).await;
    }
}
