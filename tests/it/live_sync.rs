//! Live sync (`GET /api/v1/sync?wait=N`): held polls woken by a publish, an unpublish, a push from the member's
//! other device, a member marked `left`; 304 at the timeout and when the server stops; two instances on one
//! PostgreSQL; and "nothing new" answered from memory never hiding a change that committed before the poll.
//!
//! No timed assertions: only generous upper bounds that tell "woken" from "timed out" (a 30 s wait answered in
//! under 10 s).

use std::time::{Duration, Instant};

use actix_web::test::TestRequest;
use serde_json::{json, Value};

use crate::harness::{self, SyncClient, TestApp, MEMBERS_CSV};
use crate::sync::publish_new;

/// Under this, a poll that waits 30 s was woken, not timed out.
const WOKEN: Duration = Duration::from_secs(10);

/// A poll as the device makes it: its cursor, its ETag, and `wait`.
fn poll(device: &SyncClient, wait: u64) -> TestRequest {
    let cursor = device.cursor.as_deref().expect("a device that synced");
    let mut request = TestRequest::get()
        .uri(&format!("/api/v1/sync?cursor={cursor}&wait={wait}"))
        .insert_header(("X-Installation-Id", device.installation_id.as_str()));
    if let Some(etag) = &device.etag {
        request = request.insert_header(("If-None-Match", etag.as_str()));
    }
    request
}

/// Until `count` polls are held by this App.
async fn held(app: &TestApp, count: usize) {
    let started = Instant::now();
    while app.db().live().held() < count {
        assert!(started.elapsed() < WOKEN, "the poll was never held");
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Holds a poll of `device` (wait=30) while `change` runs, once the poll is held; the poll's answer and how long
/// it took.
async fn held_while(
    app: &TestApp,
    device: &SyncClient,
    change: impl std::future::Future<Output = ()>,
) -> (harness::Answer, Duration) {
    let started = Instant::now();
    let held_poll = app.with_bearer(&device.token, poll(device, 30));
    let changer = async {
        held(app, 1).await;
        change.await;
    };
    let (answer, ()) = tokio::join!(held_poll, changer);
    (answer, started.elapsed())
}

fn documents(answer: &harness::Answer) -> Vec<Value> {
    answer.json()["changes"].as_array().unwrap().clone()
}

both_backends! {
    async fn a_held_poll_is_answered_by_a_publish(app: TestApp) {
        let w = app.organisation().await;
        let mut phone = SyncClient::register(&app, &w.member_hk).await;
        phone.sync(&app).await;
        phone.sync(&app).await;
        assert_eq!(phone.not_modified, 1, "nothing new: 304");
        let (answer, took) = held_while(&app, &phone, async {
            publish_new(&app, &w.admin, "Nghị quyết mới", json!({"all": true})).await;
        })
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert!(took < WOKEN, "woken by the publish, not by the timeout: {took:?}");
        let changes = documents(&answer);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0]["document"]["title"], "Nghị quyết mới");
        assert_eq!(app.db().live().held(), 0);
    }

    async fn a_held_poll_is_answered_by_an_unpublish(app: TestApp) {
        let w = app.organisation().await;
        let id = publish_new(&app, &w.admin, "Sẽ rút lại", json!({"committees": ["HK"]})).await;
        let mut phone = SyncClient::register(&app, &w.member_hk).await;
        phone.sync(&app).await;
        assert_eq!(phone.titles(), vec!["Sẽ rút lại"]);
        let (answer, took) = held_while(&app, &phone, async {
            let unpublished =
                app.post_as(&w.admin, &format!("/api/v1/admin/documents/{id}/unpublish"), &json!({})).await;
            assert_eq!(unpublished.status, 200, "{}", unpublished.text());
        })
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert!(took < WOKEN, "{took:?}");
        assert_eq!(documents(&answer), vec![json!({"op": "delete", "id": id})]);
    }

    async fn a_held_poll_is_answered_by_a_push_from_the_members_other_device(app: TestApp) {
        let w = app.organisation().await;
        let id = publish_new(&app, &w.admin, "Đánh dấu", json!({"all": true})).await;
        let mut phone = SyncClient::register(&app, &w.member_hk).await;
        let mut tablet = SyncClient::register(&app, &w.member_hk).await;
        phone.sync(&app).await;
        tablet.sync(&app).await;
        tablet.enqueue(json!({"type": "bookmark.set", "document_id": id}));
        let (answer, took) = held_while(&app, &phone, async {
            tablet.drain(&app).await;
        })
        .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert!(took < WOKEN, "{took:?}");
        let changes = documents(&answer);
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0]["bookmark"]["document_id"], id.as_str());
    }

    async fn a_held_poll_answers_304_at_its_timeout_and_a_change_for_others_does_not_answer_it(app: TestApp) {
        let w = app.organisation().await;
        let mut phone = SyncClient::register(&app, &w.member_hk).await;
        phone.sync(&app).await;
        let etag = phone.etag.clone().unwrap();
        let answer = app.with_bearer(&phone.token, poll(&phone, 1)).await;
        assert_eq!(answer.status, 304);
        assert_eq!(answer.header("etag"), Some(etag.as_str()));

        // A publish for Ba Đình only wakes the poll of a Hoàn Kiếm member, which keeps waiting: 304 at its end.
        let started = Instant::now();
        let held_poll = app.with_bearer(&phone.token, poll(&phone, 2));
        let changer = async {
            held(&app, 1).await;
            publish_new(&app, &w.admin, "Riêng Ba Đình", json!({"committees": ["BD"]})).await;
        };
        let (answer, ()) = tokio::join!(held_poll, changer);
        assert_eq!(answer.status, 304, "{}", answer.text());
        assert!(started.elapsed() < WOKEN);
        // ... and the next poll is still "nothing new" for it, though the feed moved.
        let answer = app.with_bearer(&phone.token, poll(&phone, 0)).await;
        assert_eq!(answer.status, 304);
        // A device of Ba Đình gets the document at once.
        let mut bd = SyncClient::register(&app, &w.member_bd).await;
        bd.sync(&app).await;
        assert_eq!(bd.titles(), vec!["Riêng Ba Đình"]);
    }

    async fn a_member_marked_left_while_holding_a_poll_stops_syncing(app: TestApp) {
        let w = app.organisation().await;
        let mut phone = SyncClient::register(&app, &w.member_hk).await;
        phone.sync(&app).await;
        let left = MEMBERS_CSV.replace("Chi bộ 1,eligible\n100000002", "Chi bộ 1,left\n100000002");
        assert_ne!(left, MEMBERS_CSV);
        let (answer, took) = held_while(&app, &phone, async {
            app.import(&w.admin, &left).await;
        })
        .await;
        // As a sync of a member who left answers when its token still verifies: 404, the installation is no
        // longer one of a member's; the member's sessions are revoked, so every later request is 401.
        answer.problem(404);
        assert!(took < WOKEN, "{took:?}");
        let again = app.with_bearer(&phone.token, poll(&phone, 0)).await;
        assert_eq!(again.status, 401, "{}", again.text());
    }

    async fn wait_is_checked(app: TestApp) {
        let w = app.organisation().await;
        let mut phone = SyncClient::register(&app, &w.member_hk).await;
        phone.sync(&app).await;
        for wait in ["61", "-1", "3600"] {
            let cursor = phone.cursor.as_deref().unwrap();
            let request = TestRequest::get()
                .uri(&format!("/api/v1/sync?cursor={cursor}&wait={wait}"))
                .insert_header(("X-Installation-Id", phone.installation_id.as_str()));
            let problem = app.with_bearer(&phone.token, request).await.problem(422);
            assert_eq!(problem["errors"][0]["field"], "wait");
        }
        assert_eq!(app.with_bearer(&phone.token, poll(&phone, 0)).await.status, 304);
        // Without If-None-Match there is nothing to hold against: answered at once, as without `wait`.
        let mut bare = poll(&phone, 30);
        bare = bare.insert_header(("If-None-Match", "\"something else\""));
        let started = Instant::now();
        assert_eq!(app.with_bearer(&phone.token, bare).await.status, 200);
        assert!(started.elapsed() < WOKEN);
    }

    async fn memory_never_answers_304_after_a_change_committed(app: TestApp) {
        let w = app.organisation().await;
        let mut phone = SyncClient::register(&app, &w.member_hk).await;
        let mut tablet = SyncClient::register(&app, &w.member_hk).await;
        tablet.sync(&app).await;
        for round in 0..5 {
            phone.sync(&app).await;
            // Memory now holds this device: the poll is a 304 from memory...
            assert_eq!(app.with_bearer(&phone.token, poll(&phone, 0)).await.status, 304);
            // ... until something commits for it: the very next poll sees it.
            let id = publish_new(&app, &w.admin, &format!("Văn bản {round}"), json!({"all": true})).await;
            let answer = app.with_bearer(&phone.token, poll(&phone, 0)).await;
            assert_eq!(answer.status, 200, "round {round}");
            assert_eq!(documents(&answer)[0]["document"]["id"], id.as_str());
            phone.sync(&app).await;
            assert_eq!(app.with_bearer(&phone.token, poll(&phone, 0)).await.status, 304);
            tablet.enqueue(json!({"type": "progress.set", "document_id": id, "position": 0.5}));
            tablet.drain(&app).await;
            let answer = app.with_bearer(&phone.token, poll(&phone, 0)).await;
            assert_eq!(answer.status, 200, "round {round}: the other device's push");
            assert_eq!(documents(&answer)[0]["progress"]["document_id"], id.as_str());
        }
        // A device removed (signed out) stops at once.
        phone.sync(&app).await;
        assert_eq!(app.with_bearer(&phone.token, poll(&phone, 0)).await.status, 304);
        let removed = app
            .with_bearer(&phone.token, TestRequest::delete().uri(&format!("/api/v1/installations/{}", phone.installation_id)))
            .await;
        assert_eq!(removed.status, 204);
        app.with_bearer(&phone.token, poll(&phone, 0)).await.problem(404);
    }
}

/// Polls every few milliseconds from many tasks while publishes commit: no poll that starts after a publish has
/// returned may answer 304 (on SQLite and PostgreSQL, in one instance).
async fn no_stale_304_under_concurrent_polls(app: TestApp) {
    let w = app.organisation().await;
    let mut phones = Vec::new();
    for _ in 0..4 {
        let mut phone = SyncClient::register(&app, &w.member_hk).await;
        phone.sync(&app).await;
        phones.push(phone);
    }
    for round in 0..10 {
        let published = std::cell::Cell::new(false);
        let pollers = phones.iter().map(|phone| {
            let published = &published;
            let app = &app;
            async move {
                loop {
                    actix_web::rt::task::yield_now().await;
                    let after_publish = published.get();
                    let answer = app.with_bearer(&phone.token, poll(phone, 0)).await;
                    if after_publish {
                        assert_eq!(answer.status, 200, "round {round}: a poll after the publish answered 304");
                        return;
                    }
                }
            }
        });
        let publisher = async {
            publish_new(&app, &w.admin, &format!("Vòng {round}"), json!({"all": true})).await;
            published.set(true);
        };
        let (_, ()) = tokio::join!(futures_util::future::join_all(pollers), publisher);
        for phone in &mut phones {
            phone.sync(&app).await;
        }
    }
}

#[actix_web::test]
async fn no_stale_304_under_concurrent_polls_sqlite() {
    no_stale_304_under_concurrent_polls(TestApp::start(harness::Backend::Sqlite).await).await;
}

#[actix_web::test]
async fn no_stale_304_under_concurrent_polls_postgres() {
    no_stale_304_under_concurrent_polls(TestApp::start(harness::Backend::Postgres).await).await;
}

/// A member's device on real server processes (`harness::process`), with the demo data set loaded by the CLI.
struct Deployment {
    cwd: tempfile::TempDir,
    args: Vec<String>,
    admin: String,
    member: String,
    installation: String,
    cursor: String,
    etag: String,
}

impl Deployment {
    fn setup(args: Vec<String>) -> Deployment {
        let cwd = tempfile::tempdir().unwrap();
        let run = |words: &[&str], stdin: Option<&str>| {
            let mut command = process::handbook(cwd.path());
            command.args(&args).args(words).stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
            let mut child = command.spawn().unwrap();
            if let Some(text) = stdin {
                std::io::Write::write_all(child.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
            }
            drop(child.stdin.take());
            assert!(child.wait_with_output().unwrap().status.success(), "{words:?}");
        };
        run(&["demo-data", "--members", "1000", "--documents", "5"], None);
        run(&["admin", "create", "--login", "live.admin"], Some("live admin password\n"));
        Deployment {
            cwd,
            args,
            admin: String::new(),
            member: String::new(),
            installation: String::new(),
            cursor: String::new(),
            etag: String::new(),
        }
    }

    fn serve(&self) -> (std::process::Child, u16) {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        process::serve(self.cwd.path(), &args, &[])
    }

    /// Signs the admin in, activates a member of HK, registers its device and syncs it from scratch, on `port`.
    fn sign_in(&mut self, port: u16) {
        let login = r#"{"login":"live.admin","password":"live admin password"}"#;
        self.admin =
            body_of(&post_json(port, "/api/v1/auth/login", login, None))["access_token"].as_str().unwrap().to_owned();
        let slips = post_json(port, "/api/v1/admin/committees/HK/activation-codes", "{}", Some(&self.admin));
        let slip: Vec<&str> = slips.split("\r\n\r\n").nth(1).unwrap().lines().nth(1).unwrap().split(',').collect();
        let activate = format!(
            r#"{{"card_number":"{}","activation_code":"{}","new_password":"member password"}}"#,
            slip[0], slip[4]
        );
        self.member = body_of(&post_json(port, "/api/v1/auth/activate", &activate, None))["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        self.installation = uuid::Uuid::new_v4().to_string();
        let register = format!(r#"{{"installation_id":"{}","platform":"ios","app_version":"1.0"}}"#, self.installation);
        assert_eq!(status_of(&post_json(port, "/api/v1/installations", &register, Some(&self.member))), 201);
        let header = format!("X-Installation-Id: {}\r\n", self.installation);
        let mut path = "/api/v1/sync?limit=1000".to_owned();
        loop {
            let answer = get(port, &path, Some(&self.member), &header);
            assert_eq!(status_of(&answer), 200, "{answer}");
            let page = body_of(&answer);
            self.cursor = page["cursor"].as_str().unwrap().to_owned();
            self.etag = header_of(&answer, "etag").unwrap();
            if !page["has_more"].as_bool().unwrap() {
                break;
            }
            path = format!("/api/v1/sync?limit=1000&cursor={}", self.cursor);
        }
    }

    /// The device's poll with `wait`, on `port`: the whole answer.
    fn poll(&self, port: u16, wait: u64) -> String {
        let header = format!("X-Installation-Id: {}\r\nIf-None-Match: {}\r\n", self.installation, self.etag);
        get(port, &format!("/api/v1/sync?cursor={}&wait={wait}", self.cursor), Some(&self.member), &header)
    }

    fn publish(&self, port: u16, title: &str) {
        let draft =
            format!(r#"{{"title":"{title}","kind":"thong_bao","section":"","body":"x","audience":{{"all":true}}}}"#);
        let id = body_of(&post_json(port, "/api/v1/admin/documents", &draft, Some(&self.admin)))["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let published = post_json(port, &format!("/api/v1/admin/documents/{id}/publish"), "{}", Some(&self.admin));
        assert_eq!(status_of(&published), 200, "{published}");
    }
}

fn header_of(answer: &str, name: &str) -> Option<String> {
    let head = answer.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
    })
}

/// Until the server on `port` holds `count` polls (its `/metrics`).
fn wait_until_held(port: u16, count: usize) {
    let started = Instant::now();
    loop {
        let metrics = get(port, "/metrics", None, "");
        let held = metrics
            .lines()
            .find_map(|line| line.strip_prefix("handbook_sync_held_polls "))
            .and_then(|n| n.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if held >= count {
            return;
        }
        assert!(started.elapsed() < WOKEN, "{count} polls never held: {held}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

use crate::harness::process::{self, body_of, get, post_json, status_of};

fn sigterm_answers_held_polls_at_once(args: Vec<String>) {
    let mut deployment = Deployment::setup(args);
    let (server, port) = deployment.serve();
    deployment.sign_in(port);
    assert_eq!(status_of(&deployment.poll(port, 0)), 304);
    let started = Instant::now();
    let answers = std::thread::scope(|scope| {
        let polls: Vec<_> = (0..3).map(|_| scope.spawn(|| deployment.poll(port, 60))).collect();
        wait_until_held(port, 3);
        assert!(process::stop(server).success(), "a graceful stop");
        polls.into_iter().map(|poll| poll.join().unwrap()).collect::<Vec<_>>()
    });
    assert!(started.elapsed() < WOKEN, "held polls answered at once, not after their 60 s: {:?}", started.elapsed());
    for answer in answers {
        assert_eq!(status_of(&answer), 304, "{answer}");
        assert_eq!(header_of(&answer, "etag").as_deref(), Some(deployment.etag.as_str()));
    }
}

#[test]
fn sigterm_answers_held_polls_at_once_sqlite() {
    sigterm_answers_held_polls_at_once(Vec::new());
}

/// A fresh PostgreSQL database for real server processes; dropped with the guard.
struct PgDatabase {
    name: String,
    url: String,
}

impl PgDatabase {
    fn create() -> PgDatabase {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        let name = format!("hbl_{}", uuid::Uuid::new_v4().simple());
        let admin_url = harness::postgres_admin_url();
        diesel::PgConnection::establish(&admin_url).unwrap().batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&format!("/{name}"));
        PgDatabase { name, url: url.to_string() }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        if let Ok(mut conn) = diesel::PgConnection::establish(&harness::postgres_admin_url()) {
            let _ = conn.batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name));
        }
    }
}

#[test]
fn sigterm_answers_held_polls_at_once_postgres() {
    let database = PgDatabase::create();
    sigterm_answers_held_polls_at_once(vec!["--database-url".into(), database.url.clone()]);
}

#[test]
fn a_publish_on_one_instance_wakes_polls_held_on_another() {
    let database = PgDatabase::create();
    let mut deployment = Deployment::setup(vec!["--database-url".into(), database.url.clone()]);
    let (first, a) = deployment.serve();
    let (second, b) = deployment.serve();
    deployment.sign_in(a);
    assert_eq!(status_of(&deployment.poll(b, 0)), 304, "B answers the device A synced");
    for round in 0..3 {
        let started = Instant::now();
        let answer = std::thread::scope(|scope| {
            let held = scope.spawn(|| deployment.poll(b, 30));
            wait_until_held(b, 1);
            deployment.publish(a, &format!("Từ máy A, lần {round}"));
            held.join().unwrap()
        });
        assert_eq!(status_of(&answer), 200, "{answer}");
        assert!(started.elapsed() < WOKEN, "woken through PostgreSQL, not timed out: {:?}", started.elapsed());
        let page = body_of(&answer);
        let titles: Vec<&str> =
            page["changes"].as_array().unwrap().iter().filter_map(|c| c["document"]["title"].as_str()).collect();
        assert_eq!(titles, vec![format!("Từ máy A, lần {round}").as_str()]);
        deployment.cursor = page["cursor"].as_str().unwrap().to_owned();
        deployment.etag = header_of(&answer, "etag").unwrap();
        // B knows it is up to date again: 304 (from its memory or its database), on A too.
        assert_eq!(status_of(&deployment.poll(b, 0)), 304);
        assert_eq!(status_of(&deployment.poll(a, 0)), 304);
    }
    assert!(process::stop(first).success());
    assert!(process::stop(second).success());
}
