//! The real App, in process, on a database of its own (see `databases`).
//!
//! `both_backends!` turns one test body into two tests, `<name>::sqlite` and `<name>::postgres`.

use actix_service::{boxed, Service, ServiceExt};
use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::{header, Method, StatusCode};
use actix_web::test::TestRequest;
use actix_web::web;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use handbook::config::{AttachmentStore, Settings};
use handbook::content::attachments::BlobStore;
use handbook::db::{self, Db};
use handbook::{app, state::AppState};

use super::databases::TestDatabase;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the App keeps attachments: the data folder, or a bucket of its own on the local S3 server (`s3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    File,
    S3,
}

macro_rules! both_backends {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[actix_web::test]
                async fn sqlite() {
                    let $app = $crate::harness::TestApp::start($crate::harness::Backend::Sqlite).await;
                    $body
                }

                #[actix_web::test]
                async fn postgres() {
                    let $app = $crate::harness::TestApp::start($crate::harness::Backend::Postgres).await;
                    $body
                }
            }
        )*
    };
}

/// `both_backends!` on both attachment stores as well: `<name>::{sqlite,postgres}_{file,s3}`.
macro_rules! both_backends_and_stores {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                both_backends_and_stores!(@one $app $body sqlite_file Sqlite File);
                both_backends_and_stores!(@one $app $body sqlite_s3 Sqlite S3);
                both_backends_and_stores!(@one $app $body postgres_file Postgres File);
                both_backends_and_stores!(@one $app $body postgres_s3 Postgres S3);
            }
        )*
    };
    (@one $app:ident $body:block $test:ident $backend:ident $store:ident) => {
        #[actix_web::test]
        async fn $test() {
            let $app = $crate::harness::TestApp::start_on(
                $crate::harness::Backend::$backend,
                $crate::harness::Store::$store,
                |_| {},
            )
            .await;
            $body
        }
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
        TestApp::start_on(backend, Store::File, configure).await
    }

    /// The App keeping attachments in `store` (a new bucket for `Store::S3`), with settings of the test's own.
    pub async fn start_on(backend: Backend, store: Store, configure: impl FnOnce(&mut Settings)) -> TestApp {
        let data_dir = tempfile::tempdir().expect("a temporary folder");
        let database = TestDatabase::fresh(backend, data_dir.path());
        let url = database.url().to_owned();
        let mut settings = Settings::new(url.clone(), data_dir.path());
        if store == Store::S3 {
            settings.attachment_store =
                AttachmentStore::S3 { bucket: super::s3::bucket(), prefix: "city/attachments".to_owned() };
        }
        configure(&mut settings);
        let db = db::open(&url, 4).unwrap_or_else(|e| panic!("cannot open the test database: {e}"));
        let env = if store == Store::S3 { super::s3::env() } else { Vec::new() };
        let blobs = BlobStore::from_settings_and_env(&settings, env).expect("the attachment store");
        blobs.check().await.expect("the attachment store answers");
        let state = AppState::with_blobs(db, settings, blobs).expect("signing keys");
        // On PostgreSQL, the live-sync listener too, as `serve` starts it (it ends with the App).
        handbook::sync::live::listen::spawn(state.db.live(), state.db.url());
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

/// Requests with a bearer token.
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
}
