//! The service foundation: health, readiness, metrics, request ids, and errors as problem details.

use crate::harness;
use crate::harness::{Answer, Backend, TestApp};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use handbook::ops::addresses::IpRange;
use handbook::org::store;

/// /metrics, read from the machine itself (the default allowed range).
async fn scrape(app: &TestApp) -> Answer {
    let answer = app.send(TestRequest::get().uri("/metrics").peer_addr("127.0.0.1:45000".parse().unwrap())).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer
}

/// Requests no client should be able to turn into new metrics: invented and very long methods, unknown paths.
async fn invented_requests(app: &TestApp, numbers: std::ops::Range<usize>) {
    for n in numbers {
        let method = if n % 2 == 0 { format!("INVENTED{n}") } else { format!("{}{n}", "X".repeat(8 * 1024)) };
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let path = if n % 3 == 0 { "/healthz".to_owned() } else { format!("/no/such/page/{n}") };
        let answer = app.send(TestRequest::default().method(method).uri(&path)).await;
        assert!(answer.status.is_client_error(), "{}", answer.status);
    }
}

/// The values a label takes in the request metrics.
fn label_values(text: &str, label: &str) -> std::collections::BTreeSet<String> {
    let prefix = format!("{label}=\"");
    text.lines()
        .filter(|line| line.starts_with("handbook_http_request"))
        .filter_map(|line| Some(line.split(&prefix).nth(1)?.split('"').next()?.to_owned()))
        .collect()
}

/// Metrics from anywhere with this token, and without it from loopback and 198.51.100.0/24, behind the
/// trusted proxy 10.0.0.1.
fn metrics_settings(settings: &mut handbook::config::Settings) {
    settings.metrics_token = Some("metrics-secret".into());
    settings.metrics_allow.push("198.51.100.0/24".parse::<IpRange>().unwrap());
    settings.trusted_proxies = vec!["10.0.0.1".parse().unwrap()];
}

async fn metrics_access(app: TestApp) {
    let from = |address: &str| TestRequest::get().uri("/metrics").peer_addr(address.parse().unwrap());
    let status = |request: TestRequest| async { app.send(request).await.status.as_u16() };
    assert_eq!(status(TestRequest::get().uri("/metrics")).await, 404, "no peer address");
    assert_eq!(status(from("127.0.0.1:4000")).await, 200);
    assert_eq!(status(from("[::1]:4000")).await, 200);
    assert_eq!(status(from("198.51.100.7:4000")).await, 200);
    app.send(from("203.0.113.5:4000")).await.problem(404);
    let token = |request: TestRequest, token: &str| request.insert_header(("Authorization", format!("Bearer {token}")));
    assert_eq!(status(token(from("203.0.113.5:4000"), "metrics-secret")).await, 200);
    assert_eq!(status(token(TestRequest::get().uri("/metrics"), "metrics-secret")).await, 200);
    assert_eq!(status(token(from("203.0.113.5:4000"), "metrics-secreT")).await, 404);
    assert_eq!(status(token(from("203.0.113.5:4000"), "")).await, 404);
    // Behind the trusted proxy, the client's address counts; the left-hand entries are the client's own words.
    let forwarded = |peer: &str, chain: &str| from(peer).insert_header(("X-Forwarded-For", chain.to_owned()));
    assert_eq!(status(forwarded("10.0.0.1:4000", "198.51.100.7")).await, 200);
    assert_eq!(status(forwarded("10.0.0.1:4000", "127.0.0.1, 203.0.113.5")).await, 404);
    assert_eq!(status(forwarded("10.0.0.1:4000", "203.0.113.5, 127.0.0.1:80")).await, 200);
    // A proxy not configured as trusted forwards for clients it does not name to us: refused.
    assert_eq!(status(forwarded("127.0.0.1:4000", "127.0.0.1")).await, 404);
}

mod metrics_are_served_to_allowed_addresses_and_the_token_only {
    use super::*;

    #[actix_web::test]
    async fn sqlite() {
        metrics_access(TestApp::start_with(Backend::Sqlite, metrics_settings).await).await;
    }

    #[actix_web::test]
    async fn postgres() {
        metrics_access(TestApp::start_with(Backend::Postgres, metrics_settings).await).await;
    }
}

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
        let answer = scrape(&app).await;
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

    async fn metrics_labels_come_from_fixed_sets(app: TestApp) {
        scrape(&app).await;
        invented_requests(&app, 0..10).await;
        let after_10 = scrape(&app).await.text();
        invented_requests(&app, 10..300).await;
        let after_300 = scrape(&app).await.text();
        assert!(
            after_300.len() < after_10.len() + 2048,
            "/metrics grew from {} to {} bytes",
            after_10.len(),
            after_300.len()
        );
        let methods = label_values(&after_300, "method");
        assert!(methods.iter().all(|m| ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"].contains(&m.as_str())), "{methods:?}");
        assert!(methods.contains("OTHER"), "{methods:?}");
        let routes = label_values(&after_300, "route");
        assert_eq!(routes, ["/healthz", "/metrics", "unmatched"].map(String::from).into(), "{after_300}");
        let statuses = label_values(&after_300, "status");
        assert!(statuses.iter().all(|s| s.len() == 3 && s.parse::<u16>().is_ok()), "{statuses:?}");
        assert!(after_300.contains(r#"handbook_http_requests_total{method="OTHER",route="unmatched",status="404"} 200"#), "{after_300}");
        assert!(after_300.contains(r#"handbook_http_requests_total{method="OTHER",route="/healthz",status="405"} 100"#), "{after_300}");
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
    let mut admin = diesel::PgConnection::establish(&harness::postgres_admin_url()).unwrap();
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
    let mut admin = diesel::PgConnection::establish(&harness::postgres_admin_url()).unwrap();
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
