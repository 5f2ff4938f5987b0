//! The attachment store (`HANDBOOK_ATTACHMENT_STORE`): the data folder and an S3 bucket (moto's server, see
//! `harness::s3`) behave alike through the API — upload, dedup, download whole and by range, validators, the
//! document and the sync feed that carry an attachment — on both database backends, in process and across a restart
//! of the real binary; a store that cannot be used stops the start, and `/readyz` says when it stops answering.

use crate::harness::process::{self, http_request, status_of, stop};
use crate::harness::{self, Answer, Backend, Store, TestApp};
use actix_web::http::header;
use actix_web::test::TestRequest;
use handbook::config::AttachmentStore;
use serde_json::json;
use sha2::{Digest, Sha256};

/// A PDF of `size` bytes, all printable (the process tests read answers as text), different for each `seed`.
fn pdf_of(size: usize, seed: u8) -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n".to_vec();
    let mut state = u32::from(seed) + 1;
    while bytes.len() < size {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        bytes.push(b'0' + ((state >> 16) % 64) as u8);
    }
    bytes.truncate(size);
    bytes
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Over two 8 MiB parts: sent to a bucket as a multipart upload of three parts.
const LARGE: usize = 17 * 1024 * 1024 + 123;

async fn upload(app: &TestApp, token: &str, name: &str, bytes: &[u8]) -> Answer {
    let uri = format!("/api/v1/admin/attachments?name={name}");
    let request = TestRequest::post()
        .uri(&uri)
        .insert_header((header::CONTENT_TYPE, "application/pdf"))
        .set_payload(bytes.to_vec());
    app.with_bearer(token, request).await
}

/// A download through a fresh service over the same state, its streamed body collected.
async fn download(app: &TestApp, token: &str, sha: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = TestRequest::get()
        .uri(&format!("/api/v1/attachments/{sha}"))
        .insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    let service = actix_web::test::init_service(handbook::app::build(app.state.clone())).await;
    let res = actix_web::test::call_service(&service, request.to_request()).await;
    let status = res.status();
    let headers = res.headers().clone();
    let body = actix_web::test::read_body(res).await;
    Answer { status, headers, body }
}

/// Where each stored blob is: the data folder's files (temporary ones included), or the bucket's objects.
fn stored(app: &TestApp) -> Vec<String> {
    fn walk(dir: &std::path::Path, root: &std::path::Path, found: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, root, found);
            } else {
                found.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let root = app.state.settings.data_dir.join("attachments");
    let mut found = Vec::new();
    walk(&root, &root, &mut found);
    if let AttachmentStore::S3 { bucket, prefix } = &app.state.settings.attachment_store {
        assert_eq!(found, Vec::<String>::new(), "with a bucket, nothing stays in the data folder");
        assert_eq!(harness::s3::pending_uploads(bucket), 0, "no multipart upload left unfinished");
        let keys = harness::s3::keys(bucket);
        for key in &keys {
            assert!(key.starts_with(&format!("{prefix}/")), "{key} is under the prefix {prefix}");
        }
        return keys.iter().map(|key| key[prefix.len() + 1..].to_owned()).collect();
    }
    found.sort();
    found
}

both_backends_and_stores! {
    async fn an_attachment_round_trips_through_the_store(app: TestApp) {
        let organisation = app.organisation().await;
        let admin = organisation.admin.as_str();
        let small = pdf_of(3000, 1);
        let large = pdf_of(LARGE, 2);
        let (small_sha, large_sha) = (sha256_hex(&small), sha256_hex(&large));

        // Uploaded twice each, stored once each, in the data folder's layout.
        for _ in 0..2 {
            for (name, bytes, sha) in [("nho.pdf", &small, &small_sha), ("lon.pdf", &large, &large_sha)] {
                let answer = upload(&app, admin, name, bytes).await;
                assert_eq!(answer.status, 201, "{}", answer.text());
                assert_eq!(answer.json(), json!({"sha256": sha, "size": bytes.len(), "content_type": "application/pdf", "name": name}));
            }
        }
        let mut expected = vec![format!("{}/{large_sha}", &large_sha[..2]), format!("{}/{small_sha}", &small_sha[..2])];
        expected.sort();
        assert_eq!(stored(&app), expected);
        assert_eq!(app.count("SELECT count(*) AS n FROM attachments").await, 2);

        // Whole, by range (the first of several, a suffix, past a part boundary), and the validators.
        let etag = format!("\"{large_sha}\"");
        let whole = download(&app, admin, &large_sha, &[]).await;
        assert_eq!(whole.status, 200);
        assert!(whole.body == large, "the whole download is the upload");
        assert_eq!(whole.header("etag"), Some(etag.as_str()));
        assert_eq!(whole.header("accept-ranges"), Some("bytes"));
        assert_eq!(whole.header("content-type"), Some("application/pdf"));
        assert_eq!(whole.header("cache-control"), Some("private, max-age=31536000, immutable"));
        assert_eq!(whole.header("content-disposition"), Some("attachment; filename=\"lon.pdf\"; filename*=UTF-8''lon.pdf"));
        assert_eq!(whole.header("last-modified"), None);
        let boundary = 8 * 1024 * 1024;
        let across = format!("bytes={}-{}", boundary - 10, boundary + 9);
        let part = download(&app, admin, &large_sha, &[("range", &across), ("if-range", &etag)]).await;
        assert_eq!(part.status, 206);
        assert_eq!(&part.body[..], &large[boundary - 10..boundary + 10]);
        assert_eq!(part.header("content-range"), Some(format!("bytes {}-{}/{LARGE}", boundary - 10, boundary + 9).as_str()));
        assert_eq!(part.header("etag"), Some(etag.as_str()));
        let several = download(&app, admin, &small_sha, &[("range", "bytes=0-9,20-29")]).await;
        assert_eq!((several.status.as_u16(), &several.body[..]), (206, &small[..10]));
        let tail = download(&app, admin, &small_sha, &[("range", "bytes=-6")]).await;
        assert_eq!((tail.status.as_u16(), &tail.body[..]), (206, &small[small.len() - 6..]));
        let stale = download(&app, admin, &small_sha, &[("range", "bytes=0-9"), ("if-range", "\"other\"")]).await;
        assert_eq!((stale.status.as_u16(), &stale.body[..]), (200, &small[..]));
        let other_unit = download(&app, admin, &small_sha, &[("range", "pages=1-2")]).await;
        assert_eq!((other_unit.status.as_u16(), &other_unit.body[..]), (200, &small[..]));
        let past = download(&app, admin, &small_sha, &[("range", "bytes=5000-6000")]).await;
        past.problem(416);
        let cached = download(&app, admin, &large_sha, &[("if-none-match", &etag)]).await;
        assert_eq!((cached.status.as_u16(), cached.body.len()), (304, 0));
        assert_eq!(cached.header("etag"), Some(etag.as_str()));
        download(&app, admin, &large_sha, &[("if-match", "\"other\"")]).await.problem(412);

        // A document carries it; the feed lists it as uploaded, and the member downloads it.
        let draft = json!({"title": "Nghị quyết", "kind": "nghi_quyet", "section": "", "body": "x",
                           "audience": {"committees": ["HK"]}, "attachments": [{"sha256": large_sha}]});
        let created = app.post_as(admin, "/api/v1/admin/documents", &draft).await;
        assert_eq!(created.status, 201, "{}", created.text());
        let id = created.json()["id"].as_str().unwrap().to_owned();
        let published = app.post_as(admin, &format!("/api/v1/admin/documents/{id}/publish"), &json!({})).await;
        assert_eq!(published.status, 200, "{}", published.text());
        let installation = uuid::Uuid::new_v4().to_string();
        assert_eq!(app.register_installation(&organisation.member_hk, &installation).await.status, 201);
        let request = TestRequest::get().uri("/api/v1/sync?limit=100").insert_header(("X-Installation-Id", installation.as_str()));
        let feed = app.with_bearer(&organisation.member_hk, request).await;
        assert_eq!(feed.status, 200, "{}", feed.text());
        let feed = feed.json();
        let document = feed["changes"].as_array().unwrap().iter().find(|change| change["document"]["id"] == id.as_str())
            .unwrap_or_else(|| panic!("the feed lists the document: {feed}"));
        assert_eq!(document["document"]["attachments"], json!([{"sha256": large_sha, "name": "lon.pdf", "size": LARGE, "content_type": "application/pdf"}]));
        let read = download(&app, &organisation.member_hk, &large_sha, &[("range", "bytes=0-8")]).await;
        assert_eq!((read.status.as_u16(), &read.body[..]), (206, &b"%PDF-1.4\n"[..]));
        download(&app, &organisation.member_bd, &large_sha, &[]).await.problem(404);
        assert_eq!(stored(&app), expected, "nothing more stored");
    }
}

/// The settings' store as `HANDBOOK_ATTACHMENT_STORE` and the `AWS_*` variables, for the real binary.
fn store_env(app: &TestApp) -> Vec<(String, String)> {
    let mut env = vec![("HANDBOOK_ATTACHMENT_STORE".to_owned(), app.state.settings.attachment_store.to_string())];
    if matches!(app.state.settings.attachment_store, AttachmentStore::S3 { .. }) {
        env.extend(harness::s3::env());
    }
    env
}

/// A raw upload to the real binary; the answer as text.
fn upload_over_http(port: u16, token: &str, name: &str, bytes: &[u8]) -> String {
    let head = format!(
        "POST /api/v1/admin/attachments?name={name} HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/pdf\r\nContent-Length: {}\r\n\r\n",
        bytes.len()
    );
    http_request(port, &(head + std::str::from_utf8(bytes).expect("printable"))).expect("an answer")
}

fn body(answer: &str) -> &str {
    answer.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

fn header_of<'a>(answer: &'a str, name: &str) -> Option<&'a str> {
    let head = answer.split_once("\r\n\r\n").map_or(answer, |(head, _)| head);
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

async fn restart_case(backend: Backend, store: Store) {
    let app = TestApp::start_on(backend, store, |_| {}).await;
    let admin = app.admin_token().await;
    let settings = &app.state.settings;
    let database = settings.database_url();
    let data_dir = settings.data_dir.display().to_string();
    let args = ["--database-url", database.as_str(), "--data-dir", data_dir.as_str()];
    let env = store_env(&app);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let cwd = tempfile::tempdir().unwrap();
    let large = pdf_of(LARGE, 3);
    let sha = sha256_hex(&large);

    let (first, port) = process::serve(cwd.path(), &args, &env);
    assert_eq!(status_of(&process::get(port, "/readyz", None, "")), 200);
    for _ in 0..2 {
        let answer = upload_over_http(port, &admin, "lon.pdf", &large);
        assert_eq!(status_of(&answer), 201, "{answer}");
        assert_eq!(process::body_of(&answer)["sha256"], sha.as_str());
    }
    assert!(stop(first).success());

    let (second, port) = process::serve(cwd.path(), &args, &env);
    let path = format!("/api/v1/attachments/{sha}");
    let whole = process::get(port, &path, Some(&admin), "");
    assert_eq!(status_of(&whole), 200);
    assert!(body(&whole).as_bytes() == large, "the whole download after a restart is the upload");
    let part = process::get(port, &path, Some(&admin), "Range: bytes=100-199\r\n");
    assert_eq!(status_of(&part), 206);
    assert_eq!(body(&part).as_bytes(), &large[100..200]);
    assert_eq!(header_of(&part, "content-range"), Some(format!("bytes 100-199/{LARGE}").as_str()));
    assert_eq!(header_of(&part, "content-length"), Some("100"));
    assert_eq!(header_of(&whole, "content-length"), Some(LARGE.to_string().as_str()));
    let cached = process::get(port, &path, Some(&admin), &format!("If-None-Match: \"{sha}\"\r\n"));
    assert_eq!(status_of(&cached), 304);
    assert_eq!(header_of(&cached, "etag"), Some(format!("\"{sha}\"").as_str()));
    assert!(stop(second).success());
    assert_eq!(stored(&app), vec![format!("{}/{sha}", &sha[..2])], "stored once");
}

mod attachments_outlive_a_restart_of_the_real_binary {
    use super::*;

    #[actix_web::test]
    async fn sqlite_file() {
        restart_case(Backend::Sqlite, Store::File).await;
    }

    #[actix_web::test]
    async fn sqlite_s3() {
        restart_case(Backend::Sqlite, Store::S3).await;
    }

    #[actix_web::test]
    async fn postgres_file() {
        restart_case(Backend::Postgres, Store::File).await;
    }

    #[actix_web::test]
    async fn postgres_s3() {
        restart_case(Backend::Postgres, Store::S3).await;
    }
}

/// `serve` with `env`; its exit status and what it wrote to stderr (it is expected to stop at once).
fn serve_failing(env: &[(String, String)]) -> (std::process::ExitStatus, String) {
    let cwd = tempfile::tempdir().unwrap();
    let bind = format!("127.0.0.1:{}", process::free_port());
    let mut command = process::handbook(cwd.path());
    command.args(["serve", "--bind", &bind]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
    command.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let output = command.output().unwrap();
    (output.status, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_store_that_cannot_be_used_stops_the_start() {
    let store = |value: &str| ("HANDBOOK_ATTACHMENT_STORE".to_owned(), value.to_owned());

    let (status, stderr) = serve_failing(&[store("s3://Not_A_Bucket")]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("expected `file` or `s3://BUCKET[/PREFIX]`"), "{stderr}");

    let mut env = harness::s3::env();
    env.push(store("s3://hb-no-such-bucket/x"));
    let (status, stderr) = serve_failing(&env);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("HANDBOOK_ATTACHMENT_STORE=s3://hb-no-such-bucket/x: the bucket cannot be listed"),
        "{stderr}"
    );
    assert!(stderr.contains("NoSuchBucket"), "{stderr}");

    let mut env: Vec<(String, String)> =
        harness::s3::env().into_iter().filter(|(key, _)| key != "AWS_ENDPOINT_URL").collect();
    env.push(("AWS_ENDPOINT_URL".to_owned(), format!("http://127.0.0.1:{}", process::free_port())));
    env.push(store(&format!("s3://{}", harness::s3::bucket())));
    let (status, stderr) = serve_failing(&env);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the bucket cannot be listed"), "{stderr}");
}

#[actix_web::test]
async fn readyz_says_when_the_bucket_stops_answering() {
    let data_dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", data_dir.path().join("handbook.db").display());
    let mut settings = handbook::config::Settings::new(url.clone(), data_dir.path());
    settings.attachment_store = AttachmentStore::S3 { bucket: harness::s3::bucket(), prefix: String::new() };
    let ready = |env: Vec<(String, String)>| {
        let settings = settings.clone();
        let url = url.clone();
        async move {
            let blobs = handbook::content::attachments::BlobStore::from_settings_and_env(&settings, env).unwrap();
            let db = handbook::db::open(&url, 2).unwrap();
            let state = handbook::state::AppState::with_blobs(db, settings, blobs).unwrap();
            let service = actix_web::test::init_service(handbook::app::build(state)).await;
            let res = actix_web::test::call_service(&service, TestRequest::get().uri("/readyz").to_request()).await;
            res.status().as_u16()
        }
    };
    assert_eq!(ready(harness::s3::env()).await, 200);
    let mut gone: Vec<(String, String)> =
        harness::s3::env().into_iter().filter(|(key, _)| key != "AWS_ENDPOINT_URL").collect();
    gone.push(("AWS_ENDPOINT_URL".to_owned(), format!("http://127.0.0.1:{}", process::free_port())));
    assert_eq!(ready(gone).await, 503);
}
