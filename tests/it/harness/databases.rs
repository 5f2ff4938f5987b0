//! The test databases: a fresh SQLite file, or a fresh PostgreSQL database per test.
//!
//! PostgreSQL is taken from `HANDBOOK_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! each test gets a database cloned from a migrated template. If PostgreSQL cannot be reached, the
//! tests fail and say how to start or point at one: they never skip.

use std::path::Path;
use std::sync::OnceLock;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use handbook::db;

use super::{Backend, TestApp};

pub fn postgres_admin_url() -> String {
    std::env::var("HANDBOOK_TEST_PG_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The database of one test, gone with it.
pub enum TestDatabase {
    Sqlite { url: String },
    Postgres { name: String, url: String },
}

impl TestDatabase {
    /// A SQLite file in the test's data folder, or a PostgreSQL database cloned from the migrated template.
    pub fn fresh(backend: Backend, data_dir: &Path) -> TestDatabase {
        match backend {
            Backend::Sqlite => {
                TestDatabase::Sqlite { url: format!("sqlite://{}", data_dir.join("handbook.db").display()) }
            }
            Backend::Postgres => TestDatabase::fresh_postgres(),
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDatabase::Sqlite { url } | TestDatabase::Postgres { url, .. } => url,
        }
    }

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
