//! The test harness: the real App, in process, on a fresh SQLite file or a fresh PostgreSQL database.
//!
//! `both_backends!` turns one test body into two tests, `<name>::sqlite` and `<name>::postgres`.
//! PostgreSQL is taken from `HANDBOOK_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! each test gets a database cloned from a migrated template. If PostgreSQL cannot be reached, the
//! tests fail and say how to start or point at one: they never skip.
#![allow(dead_code)]

pub mod process;

use std::sync::OnceLock;

use actix_service::{boxed, Service, ServiceExt};
use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, Method, StatusCode};
use actix_web::test::TestRequest;
use actix_web::web;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use handbook::app;
use handbook::config::Settings;
use handbook::db::{self, Db};
use handbook::state::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[actix_web::test]
                async fn sqlite() {
                    let $app = $crate::common::TestApp::start($crate::common::Backend::Sqlite).await;
                    $body
                }

                #[actix_web::test]
                async fn postgres() {
                    let $app = $crate::common::TestApp::start($crate::common::Backend::Postgres).await;
                    $body
                }
            }
        )*
    };
}

type AppService = boxed::BoxService<actix_http::Request, ServiceResponse<BoxBody>, actix_web::Error>;

pub struct TestApp {
    pub backend: Backend,
    pub state: web::Data<AppState>,
    service: AppService,
    // Dropped last: the data folder and the PostgreSQL database outlive the pool that uses them.
    _database: TestDatabase,
    _data_dir: tempfile::TempDir,
}

/// What a client saw.
pub struct Answer {
    pub status: StatusCode,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: web::Bytes,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).expect("UTF-8 body")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem with this status, and returns it.
    pub fn problem(&self, status: u16) -> serde_json::Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.header("content-type"), Some("application/problem+json"));
        let problem = self.json();
        assert_eq!(problem["status"], status);
        assert!(problem["type"].is_string() && problem["title"].is_string() && problem["detail"].is_string());
        problem
    }
}

impl TestApp {
    pub async fn start(backend: Backend) -> TestApp {
        TestApp::start_with(backend, |_| {}).await
    }

    /// The App with settings of the test's own (`configure` changes the defaults).
    pub async fn start_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let data_dir = tempfile::tempdir().expect("a temporary folder");
        let database = match backend {
            Backend::Sqlite => TestDatabase::Sqlite,
            Backend::Postgres => TestDatabase::fresh_postgres(),
        };
        let url = match &database {
            TestDatabase::Sqlite => format!("sqlite://{}", data_dir.path().join("handbook.db").display()),
            TestDatabase::Postgres { url, .. } => url.clone(),
        };
        let mut settings = Settings::new(url.clone(), data_dir.path());
        configure(&mut settings);
        let db = db::open(&url, 4).unwrap_or_else(|e| panic!("cannot open the test database: {e}"));
        let state = AppState::new(db, settings).expect("signing keys");
        let service = actix_web::test::init_service(app::build(state.clone())).await;
        let service = boxed::service(service.map(|res: ServiceResponse<_>| res.map_into_boxed_body()));
        TestApp { backend, state, service, _database: database, _data_dir: data_dir }
    }

    pub fn db(&self) -> &Db {
        &self.state.db
    }

    pub async fn send(&self, request: TestRequest) -> Answer {
        let res = self.service.call(request.to_request()).await.expect("the App answers every request");
        let status = res.status();
        let headers = res.headers().clone();
        let body =
            actix_web::body::to_bytes(res.into_body()).await.unwrap_or_else(|_| panic!("the body could not be read"));
        Answer { status, headers, body }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.send(TestRequest::get().uri(path)).await
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> Answer {
        self.send(TestRequest::post().uri(path).set_json(body)).await
    }

    pub async fn request(&self, method: Method, path: &str) -> Answer {
        self.send(TestRequest::default().method(method).uri(path)).await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<web::Bytes>) -> Answer {
        let body: web::Bytes = body.into();
        self.send(TestRequest::post().uri(path).insert_header((header::CONTENT_TYPE, content_type)).set_payload(body))
            .await
    }

    /// Runs a raw query returning one count, on whichever backend this test uses.
    pub async fn count(&self, sql: &'static str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        self.db().run(move |conn| Ok(diesel::sql_query(sql).get_result::<Count>(conn)?.n)).await.expect("count query")
    }
}

pub fn postgres_admin_url() -> String {
    std::env::var("HANDBOOK_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

enum TestDatabase {
    Sqlite,
    Postgres { name: String, url: String },
}

impl TestDatabase {
    fn fresh_postgres() -> TestDatabase {
        let template = template_database();
        let name = format!("hbt_{}", uuid::Uuid::new_v4().simple());
        admin_connection()
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        TestDatabase::Postgres { url: database_url(&name), name }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { name, .. } = self {
            let _ = admin_connection().batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

fn admin_connection() -> PgConnection {
    let url = postgres_admin_url();
    PgConnection::establish(&url).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at {} ({e}).\nThe API tests run on SQLite AND PostgreSQL. Start the local \
             cluster with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or point \
             HANDBOOK_TEST_PG_URL at a server where this user may create databases.",
            db::mask_password(&url)
        )
    })
}

fn database_url(name: &str) -> String {
    let mut url = url::Url::parse(&postgres_admin_url()).expect("HANDBOOK_TEST_PG_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// The migrated template, made once per migration set and shared by every test process.
fn template_database() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = format!("handbook_template_{:016x}", migrations_fingerprint());
        let mut admin = admin_connection();
        // Serialises template creation across concurrently running test binaries.
        admin.batch_execute("SELECT pg_advisory_lock(7263541)").expect("advisory lock");
        #[derive(QueryableByName)]
        struct Exists {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let ready = diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1 AND datistemplate")
            .bind::<Text, _>(&name)
            .get_result::<Exists>(&mut admin)
            .expect("look up the template")
            .n
            > 0;
        if !ready {
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .expect("drop a half-made template");
            admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("create the template database");
            let migrated = db::open(&database_url(&name), 1).unwrap_or_else(|e| panic!("migrate the template: {e}"));
            drop(migrated);
            admin.batch_execute(&format!("ALTER DATABASE {name} WITH IS_TEMPLATE true")).expect("mark the template");
        }
        admin.batch_execute("SELECT pg_advisory_unlock(7263541)").expect("advisory unlock");
        name
    })
}

/// Changes whenever a PostgreSQL migration changes, so a stale template is never reused.
fn migrations_fingerprint() -> u64 {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
    let mut files: Vec<_> = walk(&root);
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let bytes = std::fs::read(&file).expect("read a migration");
        for byte in file.to_string_lossy().bytes().chain(bytes) {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read the migrations folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

/// Signed-in callers and the organisation the auth and org tests share.
impl TestApp {
    pub async fn with_bearer(&self, token: &str, request: TestRequest) -> Answer {
        self.send(request.insert_header((header::AUTHORIZATION, format!("Bearer {token}")))).await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Answer {
        self.with_bearer(token, TestRequest::get().uri(path)).await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: &serde_json::Value) -> Answer {
        self.with_bearer(token, TestRequest::post().uri(path).set_json(body)).await
    }

    pub async fn post_csv_as(&self, token: &str, path: &str, csv: &str) -> Answer {
        self.with_bearer(
            token,
            TestRequest::post().uri(path).insert_header((header::CONTENT_TYPE, "text/csv")).set_payload(csv.to_owned()),
        )
        .await
    }

    /// Committees straight into the database.
    pub async fn seed_committees(&self, codes: &[&str]) {
        let codes: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
        self.db()
            .run(move |conn| {
                for code in &codes {
                    handbook::org::store::insert_committee(conn, code, &format!("Đảng bộ {code}"))?;
                }
                Ok(())
            })
            .await
            .unwrap();
    }

    /// A staff account straight into the database; returns its access token, signed in through the API.
    pub async fn staff_token(&self, login: &str, role: &str, committee: Option<&str>) -> String {
        let new = handbook::org::staff::NewStaff {
            login: login.to_owned(),
            role: handbook::auth::Role::parse(role).unwrap(),
            committee_code: committee.map(str::to_owned),
        };
        let hash = handbook::auth::password::hash_blocking(STAFF_PASSWORD);
        self.db().run(move |conn| handbook::org::staff::create(conn, &new, &hash)).await.unwrap();
        self.login(login, STAFF_PASSWORD).await["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.staff_token("city.admin", "admin", None).await
    }

    pub async fn login(&self, login: &str, password: &str) -> serde_json::Value {
        let answer =
            self.post_json("/api/v1/auth/login", &serde_json::json!({"login": login, "password": password})).await;
        assert_eq!(answer.status, 200, "login {login}: {}", answer.text());
        answer.json()
    }

    /// Imports members as the given caller and asserts success.
    pub async fn import(&self, token: &str, csv: &str) -> serde_json::Value {
        let answer = self.post_csv_as(token, "/api/v1/admin/members/import", csv).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json()
    }

    /// Issues an activation code as `token` and activates the member with `password`; returns the tokens.
    pub async fn activate_member(&self, staff_token: &str, card_number: &str, password: &str) -> serde_json::Value {
        let issued = self
            .post_as(
                staff_token,
                &format!("/api/v1/admin/members/{card_number}/activation-code"),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(issued.status, 201, "{}", issued.text());
        let code = issued.json()["activation_code"].as_str().unwrap().to_owned();
        let answer = self
            .post_json(
                "/api/v1/auth/activate",
                &serde_json::json!({"card_number": card_number, "activation_code": code, "new_password": password}),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json()
    }
}

pub const STAFF_PASSWORD: &str = "staff password 1";

pub const MEMBERS_CSV: &str = "card_number,full_name,committee_code,unit,cell,status\n\
100000001,Nguyễn Văn A,HK,Phường Hàng Bạc,Chi bộ 1,eligible\n\
100000002,Trần Thị Bình,HK,Phường Hàng Bạc,Chi bộ 2,eligible\n\
100000003,Lê Văn Cường,BD,Phường Kim Mã,Chi bộ 1,exempt\n\
100000004,Phạm Thị Dung,BD,Phường Kim Mã,Chi bộ 1,eligible\n";

/// The reference sync client: walks the protocol exactly as the mobile app must. It registers its
/// installation, syncs from scratch (replacing everything it holds), applies each page, acknowledges, polls with
/// `If-None-Match`, and starts over on 410.
pub struct SyncClient {
    pub token: String,
    pub installation_id: String,
    /// id → (revision, title)
    pub documents: std::collections::BTreeMap<String, (i64, String)>,
    pub cursor: Option<String>,
    pub etag: Option<String>,
    pub restarts: usize,
    pub not_modified: usize,
}

impl SyncClient {
    pub async fn register(app: &TestApp, token: &str) -> SyncClient {
        let installation_id = uuid::Uuid::new_v4().to_string();
        let body =
            serde_json::json!({"installation_id": installation_id, "platform": "android", "app_version": "1.0.0"});
        let answer = app.post_as(token, "/api/v1/installations", &body).await;
        assert_eq!(answer.status, 201, "{}", answer.text());
        SyncClient {
            token: token.to_owned(),
            installation_id,
            documents: Default::default(),
            cursor: None,
            etag: None,
            restarts: 0,
            not_modified: 0,
        }
    }

    /// Follows the feed until `has_more` is false; acknowledges the final cursor.
    pub async fn sync(&mut self, app: &TestApp) {
        let mut from_scratch = self.cursor.is_none();
        let mut fresh = std::collections::BTreeMap::new();
        loop {
            let mut path = "/api/v1/sync?limit=3".to_owned();
            if let Some(cursor) = &self.cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let mut request =
                TestRequest::get().uri(&path).insert_header(("X-Installation-Id", self.installation_id.as_str()));
            if let Some(etag) = &self.etag {
                request = request.insert_header(("If-None-Match", etag.as_str()));
            }
            let answer = app.with_bearer(&self.token, request).await;
            match answer.status.as_u16() {
                304 => {
                    self.not_modified += 1;
                    return;
                }
                410 => {
                    assert_eq!(answer.json()["type"], "/problems/cursor-expired");
                    self.restarts += 1;
                    self.cursor = None;
                    self.etag = None;
                    from_scratch = true;
                    fresh.clear();
                    continue;
                }
                200 => {}
                other => panic!("sync answered {other}: {}", answer.text()),
            }
            self.etag = answer.header("etag").map(str::to_owned);
            let page = answer.json();
            for change in page["changes"].as_array().unwrap() {
                let target = if from_scratch { &mut fresh } else { &mut self.documents };
                match change["op"].as_str().unwrap() {
                    "upsert" => {
                        let document = &change["document"];
                        target.insert(
                            document["id"].as_str().unwrap().to_owned(),
                            (document["revision"].as_i64().unwrap(), document["title"].as_str().unwrap().to_owned()),
                        );
                    }
                    "delete" => {
                        target.remove(change["id"].as_str().unwrap());
                    }
                    other => panic!("unknown op {other}"),
                }
            }
            self.cursor = page["cursor"].as_str().map(str::to_owned);
            if !page["has_more"].as_bool().unwrap() {
                break;
            }
        }
        if from_scratch {
            self.documents = fresh;
        }
        let ack = serde_json::json!({"installation_id": self.installation_id, "cursor": self.cursor});
        let answer = app.post_as(&self.token, "/api/v1/sync/ack", &ack).await;
        assert_eq!(answer.status, 204, "{}", answer.text());
    }

    /// The titles held, sorted.
    pub fn titles(&self) -> Vec<String> {
        let mut titles: Vec<String> = self.documents.values().map(|(_, title)| title.clone()).collect();
        titles.sort();
        titles
    }
}

/// The usual cast: committees HK and BD with MEMBERS_CSV, an admin, and one activated member in each committee.
pub struct Organisation {
    pub admin: String,
    pub member_hk: String,
    pub member_bd: String,
}

impl TestApp {
    pub async fn organisation(&self) -> Organisation {
        self.seed_committees(&["HK", "BD"]).await;
        let admin = self.admin_token().await;
        self.import(&admin, MEMBERS_CSV).await;
        let access = |tokens: serde_json::Value| tokens["access_token"].as_str().unwrap().to_owned();
        let member_hk = access(self.activate_member(&admin, "100000001", "member password").await);
        let member_bd = access(self.activate_member(&admin, "100000004", "member password").await);
        Organisation { admin, member_hk, member_bd }
    }
}

/// As many callers as the test pool has connections.
pub const AT_ONCE: usize = 4;

/// Runs `work` on `AT_ONCE` threads, each with its own pooled connection, released together by a barrier: what
/// several instances do at the same moment, without sleeps. Answers each thread's result, by thread.
pub fn at_once<T: Send>(app: &TestApp, work: impl Fn(usize, &mut db::DbConnection) -> T + Sync) -> Vec<T> {
    let pool = app.db().pool().clone();
    let barrier = std::sync::Barrier::new(AT_ONCE);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..AT_ONCE)
            .map(|n| {
                let (pool, barrier, work) = (&pool, &barrier, &work);
                scope.spawn(move || {
                    let mut conn = pool.get().expect("a pooled connection per thread");
                    barrier.wait();
                    work(n, &mut conn)
                })
            })
            .collect();
        threads.into_iter().map(|thread| thread.join().expect("the work does not panic")).collect()
    })
}
