//! Crash safety: the real binary killed with SIGKILL in the middle of a 418,000-row import, of a burst of
//! publishes and of a burst of refresh-token rotations, on SQLite and on PostgreSQL. After a restart the import is
//! all or nothing, every publish is whole, each refresh family has at most one live token, and the coverage
//! counters equal a recount.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::harness;
use crate::harness::process::{body_of, get, handbook, post_json, serve, status_of};
use crate::harness::Backend;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A database of its own (SQLite in a temporary folder, or a new PostgreSQL database) and that folder.
pub(crate) struct Place {
    url: String,
    pub(crate) cwd: tempfile::TempDir,
    postgres: Option<String>,
}

impl Place {
    pub(crate) fn new(backend: Backend) -> Place {
        let cwd = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => {
                Place { url: format!("sqlite://{}", cwd.path().join("handbook.db").display()), cwd, postgres: None }
            }
            Backend::Postgres => {
                let name = format!("hbc_{}", uuid::Uuid::new_v4().simple());
                let admin = harness::postgres_admin_url();
                PgConnection::establish(&admin).unwrap().batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
                let mut url = url::Url::parse(&admin).unwrap();
                url.set_path(&format!("/{name}"));
                Place { url: url.to_string(), cwd, postgres: Some(name) }
            }
        }
    }

    pub(crate) fn args(&self) -> [&str; 2] {
        ["--database-url", self.url.as_str()]
    }

    pub(crate) fn run(&self, words: &[&str], stdin: Option<&str>) {
        let mut command = handbook(self.cwd.path());
        command.args(self.args()).args(words).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        if let Some(text) = stdin {
            std::io::Write::write_all(child.stdin.as_mut().unwrap(), text.as_bytes()).unwrap();
        }
        drop(child.stdin.take());
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{words:?}: {}", String::from_utf8_lossy(&output.stderr));
    }

    pub(crate) fn count(&self, sql: &str) -> i64 {
        let db = handbook::db::open(&self.url, 1).unwrap();
        let mut conn = db.pool().get().unwrap();
        diesel::sql_query(sql).get_result::<Count>(&mut *conn).unwrap().n
    }

    /// Counters against a full recount, through the library on the same database.
    fn assert_counters_match_a_recount(&self) {
        let db = handbook::db::open(&self.url, 1).unwrap();
        let mut conn = db.pool().get().unwrap();
        use handbook::db::schema::coverage_counts as cc;
        let stored: Vec<(String, String, String, i64, i64, i64)> = cc::table
            .filter(cc::unit.eq(""))
            .select((cc::committee_code, cc::unit, cc::cell, cc::eligible, cc::activated, cc::installed))
            .load(&mut *conn)
            .unwrap();
        let cells = handbook::coverage::counters::full_count(&mut conn, handbook::time::now()).unwrap();
        for (committee, _, _, eligible, activated, installed) in stored {
            let of = cells.iter().filter(|c| c.committee_code == committee);
            let sums = of.fold((0, 0, 0), |s, c| (s.0 + c.eligible, s.1 + c.activated, s.2 + c.installed));
            assert_eq!((eligible, activated, installed), sums, "committee {committee}");
        }
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        if let Some(name) = &self.postgres {
            let admin = harness::postgres_admin_url();
            let _ = PgConnection::establish(&admin)
                .map(|mut c| c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")));
        }
    }
}

fn sigkill(child: &mut std::process::Child) {
    std::process::Command::new("kill").args(["-KILL", &child.id().to_string()]).status().unwrap();
    child.wait().unwrap();
}

/// True once the import is writing rows: the SQLite WAL has grown, or PostgreSQL shows the COPY running.
fn import_is_writing(place: &Place) -> bool {
    match &place.postgres {
        None => std::fs::metadata(place.cwd.path().join("handbook.db-wal")).map(|m| m.len() > 4 << 20).unwrap_or(false),
        Some(name) => {
            let mut conn = PgConnection::establish(&harness::postgres_admin_url()).unwrap();
            diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'COPY%' AND state = 'active'",
            )
            .bind::<diesel::sql_types::Text, _>(name)
            .get_result::<Count>(&mut conn)
            .unwrap()
            .n
                > 0
        }
    }
}

fn killed_mid_import(backend: Backend) {
    let place = Place::new(backend);
    place.run(&["demo-data", "--members", "418000", "--csv", "members.csv"], None);
    place.run(&["committees", "import", "members.committees.csv"], None);
    let mut import = handbook(place.cwd.path());
    import.args(place.args()).args(["import-members", "members.csv"]).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = import.spawn().unwrap();
    let started = Instant::now();
    while !import_is_writing(&place) {
        assert!(child.try_wait().unwrap().is_none(), "the import finished before it could be killed");
        assert!(started.elapsed() < Duration::from_secs(120), "the import never started writing");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(child.try_wait().unwrap().is_none(), "the kill must land while the import runs");
    sigkill(&mut child);

    assert_eq!(place.count("SELECT count(*) AS n FROM members"), 0, "a killed import leaves nothing behind");
    place.assert_counters_match_a_recount();
    place.run(&["import-members", "members.csv"], None);
    assert_eq!(place.count("SELECT count(*) AS n FROM members"), 439_974, "and the same import then succeeds whole");
    place.assert_counters_match_a_recount();
}

fn killed_mid_publishing_and_rotating(backend: Backend) {
    let place = Place::new(backend);
    place.run(&["demo-data", "--members", "300", "--documents", "0"], None);
    place.run(&["admin", "create", "--login", "crash.admin"], Some("crash admin pw\n"));
    let (mut server, port) = serve(place.cwd.path(), &place.args(), &[]);
    let login = r#"{"login":"crash.admin","password":"crash admin pw"}"#;
    let admin =
        body_of(&post_json(port, "/api/v1/auth/login", login, None))["access_token"].as_str().unwrap().to_owned();
    let sessions: Vec<String> = (0..8)
        .map(|_| {
            body_of(&post_json(port, "/api/v1/auth/login", login, None))["refresh_token"].as_str().unwrap().to_owned()
        })
        .collect();

    let in_flight_failures = std::thread::scope(|scope| {
        let publisher = scope.spawn(|| {
            let mut failures = 0;
            for n in 0..10_000 {
                let draft = format!(r#"{{"title":"Văn bản {n}","kind":"thong_bao","section":"","body":"x","audience":{{"all":true}}}}"#);
                let Some(created) = harness::process::http_request(port, &format!(
                    "POST /api/v1/admin/documents HTTP/1.0\r\nContent-Type: application/json\r\nAuthorization: Bearer {admin}\r\nContent-Length: {}\r\n\r\n{draft}",
                    draft.len()
                )).filter(|a| !a.is_empty()) else { failures += 1; break };
                let id = body_of(&created)["id"].as_str().unwrap_or_default().to_owned();
                let publish = harness::process::http_request(port, &format!(
                    "POST /api/v1/admin/documents/{id}/publish HTTP/1.0\r\nContent-Type: application/json\r\nAuthorization: Bearer {admin}\r\nContent-Length: 2\r\n\r\n{{}}"
                ));
                if publish.filter(|a| !a.is_empty()).is_none() {
                    failures += 1;
                    break;
                }
            }
            failures
        });
        let rotators: Vec<_> = sessions
            .iter()
            .map(|first| {
                scope.spawn(move || {
                    let mut token = first.clone();
                    let mut failures = 0;
                    for _ in 0..10_000 {
                        let body = format!(r#"{{"refresh_token":"{token}"}}"#);
                        match harness::process::http_request(port, &format!(
                            "POST /api/v1/auth/refresh HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                            body.len()
                        )).filter(|a| !a.is_empty()) {
                            Some(answer) if status_of(&answer) == 200 => token = body_of(&answer)["refresh_token"].as_str().unwrap().to_owned(),
                            _ => {
                                failures += 1;
                                break;
                            }
                        }
                    }
                    failures
                })
            })
            .collect();
        std::thread::sleep(Duration::from_secs(3));
        sigkill(&mut server);
        let rotations: i32 = rotators.into_iter().map(|r| r.join().unwrap()).sum();
        publisher.join().unwrap() + rotations
    });
    assert!(in_flight_failures >= 1, "the kill landed while requests were in flight");

    // Restart on the same database: the service comes up and the invariants hold.
    let (server, port) = serve(place.cwd.path(), &place.args(), &[]);
    assert_eq!(status_of(&get(port, "/readyz", None, "")), 200);
    let published = place.count("SELECT count(*) AS n FROM documents WHERE live_revision IS NOT NULL");
    assert!(published > 0, "some publishes committed before the kill");
    let whole = place.count(
        "SELECT count(*) AS n FROM documents d JOIN document_revisions r ON r.document_id = d.id AND r.revision = d.live_revision
         WHERE d.feed_seq <= (SELECT seq FROM feed_state) AND d.live_title = r.title",
    );
    assert_eq!(whole, published, "every live revision is whole: its revision row, its feed position, its content");
    let families_with_two_live = place.count(
        "SELECT count(*) AS n FROM (SELECT family_id FROM refresh_tokens WHERE spent_at IS NULL AND revoked_at IS NULL
         GROUP BY family_id HAVING count(*) > 1) t",
    );
    assert_eq!(families_with_two_live, 0, "each refresh family has at most one live token");
    assert!(
        place.count("SELECT count(*) AS n FROM refresh_tokens WHERE spent_at IS NOT NULL") > 8,
        "rotations happened"
    );
    place.assert_counters_match_a_recount();
    assert!(harness::process::stop(server).success());
}

#[test]
fn sqlite_killed_mid_import() {
    killed_mid_import(Backend::Sqlite);
}

#[test]
fn postgres_killed_mid_import() {
    killed_mid_import(Backend::Postgres);
}

#[test]
fn sqlite_killed_mid_publishing_and_rotating() {
    killed_mid_publishing_and_rotating(Backend::Sqlite);
}

#[test]
fn postgres_killed_mid_publishing_and_rotating() {
    killed_mid_publishing_and_rotating(Backend::Postgres);
}
