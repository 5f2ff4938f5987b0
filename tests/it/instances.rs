//! Two server processes on one PostgreSQL database, sharing the data folder (keys, attachments), as two instances
//! behind a load balancer would.

use crate::harness;
use crate::harness::process::{body_of, get, post_json, serve, status_of, stop};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

#[test]
fn two_instances_share_tokens_sessions_and_the_feed() {
    let name = format!("hbi_{}", uuid::Uuid::new_v4().simple());
    let admin_url = harness::postgres_admin_url();
    PgConnection::establish(&admin_url).unwrap().batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&format!("/{name}"));
    let url = url.to_string();
    let cwd = tempfile::tempdir().unwrap();
    let args = ["--database-url", url.as_str()];
    let setup = |words: &[&str], stdin: Option<&str>| {
        let mut command = harness::process::handbook(cwd.path());
        command.args(args).args(words).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        if let Some(text) = stdin {
            std::io::Write::write_all(child.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
        }
        drop(child.stdin.take());
        assert!(child.wait_with_output().unwrap().status.success(), "{words:?}");
    };
    // 1,000 members: the demo activates about 90% of them, and HK must keep a few without an account for the slip below.
    setup(&["demo-data", "--members", "1000", "--documents", "5"], None);
    setup(&["admin", "create", "--login", "city.admin"], Some("instance admin pw\n"));

    let (first, a) = serve(cwd.path(), &args, &[]);
    let (second, b) = serve(cwd.path(), &args, &[]);

    // A token issued by one instance is accepted by the other.
    let tokens =
        body_of(&post_json(a, "/api/v1/auth/login", r#"{"login":"city.admin","password":"instance admin pw"}"#, None));
    let admin = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(status_of(&get(b, "/api/v1/me", Some(&admin), "")), 200);

    // A refresh token presented to both at once: exactly one rotation wins.
    let refresh = format!(r#"{{"refresh_token":"{}"}}"#, tokens["refresh_token"].as_str().unwrap());
    let (x, y) = std::thread::scope(|scope| {
        let one = scope.spawn(|| status_of(&post_json(a, "/api/v1/auth/refresh", &refresh, None)));
        let two = scope.spawn(|| status_of(&post_json(b, "/api/v1/auth/refresh", &refresh, None)));
        (one.join().unwrap(), two.join().unwrap())
    });
    let mut statuses = [x, y];
    statuses.sort();
    assert_eq!(statuses, [200, 401]);

    // The loser presented a spent token: the family is revoked, and its access token stops working on both
    // instances, on the one that did not see the reuse after its next poll of `revocations` (every 2 s).
    let started = std::time::Instant::now();
    while [a, b].iter().any(|port| status_of(&get(*port, "/api/v1/me", Some(&admin), "")) != 401) {
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "a revoked access token still works");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let tokens =
        body_of(&post_json(a, "/api/v1/auth/login", r#"{"login":"city.admin","password":"instance admin pw"}"#, None));
    let admin = tokens["access_token"].as_str().unwrap().to_owned();

    // A member's device syncs through B; a document published through A reaches it.
    let slips = post_json(a, "/api/v1/admin/committees/HK/activation-codes", "{}", Some(&admin));
    let slip: Vec<&str> = slips.split("\r\n\r\n").nth(1).unwrap().lines().nth(1).unwrap().split(',').collect();
    let activate =
        format!(r#"{{"card_number":"{}","activation_code":"{}","new_password":"member password"}}"#, slip[0], slip[4]);
    let member =
        body_of(&post_json(b, "/api/v1/auth/activate", &activate, None))["access_token"].as_str().unwrap().to_owned();
    let installation = uuid::Uuid::new_v4().to_string();
    let register = format!(r#"{{"installation_id":"{installation}","platform":"ios","app_version":"1.0"}}"#);
    assert_eq!(status_of(&post_json(b, "/api/v1/installations", &register, Some(&member))), 201);
    let header = format!("X-Installation-Id: {installation}\r\n");
    let first_sync = body_of(&get(b, "/api/v1/sync?limit=1000", Some(&member), &header));
    let cursor = first_sync["cursor"].as_str().unwrap().to_owned();
    let draft = r#"{"title":"Qua hai máy chủ","kind":"thong_bao","section":"","body":"x","audience":{"all":true}}"#;
    let id = body_of(&post_json(a, "/api/v1/admin/documents", draft, Some(&admin)))["id"].as_str().unwrap().to_owned();
    assert_eq!(status_of(&post_json(a, &format!("/api/v1/admin/documents/{id}/publish"), "{}", Some(&admin))), 200);
    let next = body_of(&get(b, &format!("/api/v1/sync?cursor={cursor}"), Some(&member), &header));
    let titles: Vec<&str> =
        next["changes"].as_array().unwrap().iter().filter_map(|c| c["document"]["title"].as_str()).collect();
    assert_eq!(titles, vec!["Qua hai máy chủ"]);

    // Background jobs on both instances: a due transition is applied once (one feed position, not two).
    let mut conn = PgConnection::establish(&url).unwrap();
    let before: i64 =
        handbook::db::schema::feed_state::table.select(handbook::db::schema::feed_state::seq).first(&mut conn).unwrap();
    diesel::sql_query(
        "UPDATE documents SET live_state = 'scheduled', live_publish_at = now() AT TIME ZONE 'utc' WHERE id = $1",
    )
    .bind::<diesel::sql_types::Text, _>(&id)
    .execute(&mut conn)
    .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(12)); // both schedulers tick every 5 s
    let after: i64 =
        handbook::db::schema::feed_state::table.select(handbook::db::schema::feed_state::seq).first(&mut conn).unwrap();
    assert_eq!(after - before, 1, "the scheduled document was made visible exactly once");

    assert!(stop(first).success());
    assert!(stop(second).success());
    drop(conn);
    PgConnection::establish(&admin_url).unwrap().batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).unwrap();
}
