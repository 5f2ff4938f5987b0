//! The service foundation: health, readiness, metrics, request ids, and errors as problem details.

#[macro_use]
mod common;

use actix_web::http::Method;
use actix_web::test::TestRequest;
use common::{Backend, TestApp};
use handbook::org::store;

both_backends! {
    async fn healthz_answers_ok(app: TestApp) {
        let answer = app.get("/healthz").await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.json(), serde_json::json!({"status": "ok"}));
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    }

    async fn readyz_answers_ok_when_the_database_does(app: TestApp) {
        let answer = app.get("/readyz").await;
        assert_eq!(answer.status, 200);
        let expected = match app.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        assert_eq!(answer.json()["database"], expected);
    }

    async fn metrics_count_requests_by_route_and_status(app: TestApp) {
        app.get("/healthz").await;
        app.get("/healthz").await;
        app.get("/no/such/page").await;
        let answer = app.get("/metrics").await;
        assert_eq!(answer.status, 200);
        assert!(answer.header("content-type").unwrap().starts_with("text/plain"));
        let text = answer.text();
        assert!(
            text.contains(r#"handbook_http_requests_total{method="GET",route="/healthz",status="200"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"handbook_http_requests_total{method="GET",route="unmatched",status="404"} 1"#));
        assert!(text.contains(r#"handbook_http_request_duration_seconds_bucket{method="GET",route="/healthz",status="200",le="#));
        assert!(text.contains("handbook_db_pool_max_connections 4"), "{text}");
        assert!(text.contains("handbook_db_pool_connections "));
    }

    async fn a_request_id_is_echoed_or_generated(app: TestApp) {
        let echoed = app.send(TestRequest::get().uri("/healthz").insert_header(("X-Request-Id", "abc-123"))).await;
        assert_eq!(echoed.header("x-request-id"), Some("abc-123"));

        let generated = app.get("/healthz").await;
        let id = generated.header("x-request-id").expect("a generated id");
        assert_eq!(id.len(), 36, "a UUID: {id}");

        let too_long = "x".repeat(65);
        let replaced = app.send(TestRequest::get().uri("/healthz").insert_header(("X-Request-Id", too_long.as_str()))).await;
        assert_ne!(replaced.header("x-request-id"), Some(too_long.as_str()));
    }

    async fn an_unknown_path_is_a_404_problem(app: TestApp) {
        let problem = app.get("/api/v1/nothing-here").await.problem(404);
        assert_eq!(problem["type"], "/problems/not-found");
    }

    async fn a_wrong_method_is_a_405_problem(app: TestApp) {
        let answer = app.request(Method::DELETE, "/api/v1/committees").await;
        answer.problem(405);
        app.request(Method::POST, "/healthz").await.problem(405);
    }

    async fn committees_are_listed(app: TestApp) {
        app.db()
            .run(|conn| {
                store::insert_committee(conn, "HK", "Quận ủy Hoàn Kiếm")?;
                store::insert_committee(conn, "BD", "Quận ủy Ba Đình")?;
                Ok(())
            })
            .await
            .unwrap();
        app.get("/api/v1/committees").await.problem(401);
        let admin = app.admin_token().await;
        let answer = app.get_as(&admin, "/api/v1/committees").await;
        assert_eq!(answer.status, 200);
        let body = answer.json();
        let items = body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["code"], "BD");
        assert_eq!(items[0]["name"], "Quận ủy Ba Đình");
        assert_eq!(items[1]["code"], "HK");
    }
}

#[actix_web::test]
async fn readyz_is_503_when_the_database_is_gone() {
    use diesel::prelude::*;
    let app = TestApp::start(Backend::Postgres).await;
    assert_eq!(app.get("/readyz").await.status, 200);
    let name = app.state.db.url().display();
    let name = name.rsplit('/').next().unwrap().to_owned();
    let mut admin = diesel::PgConnection::establish(&common::postgres_admin_url()).unwrap();
    diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut admin).unwrap();
    let started = std::time::Instant::now();
    app.get("/readyz").await.problem(503);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "readiness must answer quickly");
}

both_backends! {
    async fn responses_are_not_cached_unless_a_route_says_so_and_tls_brings_hsts(app: TestApp) {
        let plain = app.get("/healthz").await;
        assert_eq!(plain.header("cache-control"), Some("no-store"));
        assert_eq!(plain.header("strict-transport-security"), None);
        let jwks = app.get("/.well-known/jwks.json").await;
        assert_eq!(jwks.header("cache-control"), Some("public, max-age=300"));
        let behind_tls = app.send(TestRequest::get().uri("/healthz").insert_header(("X-Forwarded-Proto", "https"))).await;
        assert!(behind_tls.header("strict-transport-security").unwrap().starts_with("max-age="));
    }
}

#[actix_web::test]
async fn connections_cut_by_postgres_cost_one_503_each_and_are_replaced() {
    use diesel::prelude::*;
    let app = TestApp::start(Backend::Postgres).await;
    let token = app.admin_token().await;
    // Warm the pool: several connections in use at once.
    let warm: Vec<_> = (0..4).map(|_| app.get_as(&token, "/api/v1/committees")).collect();
    for answer in futures_util::future::join_all(warm).await {
        assert_eq!(answer.status, 200);
    }
    let name = app.state.db.url().display();
    let name = name.rsplit('/').next().unwrap().to_owned();
    let mut admin = diesel::PgConnection::establish(&common::postgres_admin_url()).unwrap();
    let cut = diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    ))
    .execute(&mut admin)
    .unwrap();
    assert!(cut >= 1, "the pool's connections were cut");
    // Let the terminations land, so that each connection is already closed when it is next used.
    std::thread::sleep(std::time::Duration::from_millis(300));

    // Each dead connection costs at most one request, answered 503 (not 500); then every request succeeds.
    let pool_size = app.state.settings.db_pool_size as usize;
    let mut failed = 0;
    for _ in 0..pool_size + 1 {
        let answer = app.get_as(&token, "/api/v1/committees").await;
        match answer.status.as_u16() {
            200 => {}
            503 => failed += 1,
            other => panic!("unexpected {other}: {}", answer.text()),
        }
    }
    assert!(failed <= cut, "{failed} failures for {cut} cut connections");
    for _ in 0..pool_size * 2 {
        assert_eq!(app.get_as(&token, "/api/v1/committees").await.status, 200);
    }
    assert_eq!(app.get("/readyz").await.status, 200);
}
