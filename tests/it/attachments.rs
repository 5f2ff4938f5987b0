//! Attachments: upload (type sniffing, limits, deduplication) and download (access, ETag, Range), on both backends.

use crate::harness;
use crate::harness::{Answer, TestApp, MEMBERS_CSV};
use actix_web::http::header;
use actix_web::test::TestRequest;
use actix_web::web::Bytes;
use diesel::prelude::*;
use serde_json::json;
use sha2::{Digest, Sha256};

const UPLOAD: &str = "/api/v1/admin/attachments";
const DOCX: &str = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n\
      1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
      2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n\
      trailer << /Root 1 0 R >>\n\
      %%EOF\n"
        .to_vec()
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    bytes.extend_from_slice(b"\x1f\x15\xc4\x89\0\0\0\0IEND\xaeB`\x82");
    bytes
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

fn upload_request(name: Option<&str>, content_type: &str, body: Vec<u8>) -> TestRequest {
    let uri = match name {
        Some(name) => {
            format!("{UPLOAD}?name={}", url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>())
        }
        None => UPLOAD.to_owned(),
    };
    TestRequest::post().uri(&uri).insert_header((header::CONTENT_TYPE, content_type)).set_payload(body)
}

async fn upload(app: &TestApp, token: &str, name: &str, content_type: &str, body: Vec<u8>) -> Answer {
    app.with_bearer(token, upload_request(Some(name), content_type, body)).await
}

/// Sends a request to a fresh service over the same state and collects a streamed body too (the harness's
/// `send` only takes bodies already in memory, and downloads are streamed from disk).
async fn call(app: &TestApp, request: actix_http::Request) -> Answer {
    let service = actix_web::test::init_service(handbook::app::build(app.state.clone())).await;
    let res = actix_web::test::call_service(&service, request).await;
    let status = res.status();
    let headers = res.headers().clone();
    let body = actix_web::test::read_body(res).await;
    Answer { status, headers, body }
}

async fn download(app: &TestApp, token: Option<&str>, sha: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = TestRequest::get().uri(&format!("/api/v1/attachments/{sha}"));
    if let Some(token) = token {
        request = request.insert_header((header::AUTHORIZATION, format!("Bearer {token}")));
    }
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    call(app, request.to_request()).await
}

/// Every regular file under `<data dir>/attachments/`, the temporary folder included.
fn stored_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&app.state.settings.data_dir.join("attachments"), &mut found);
    found
}

async fn attachment_rows(app: &TestApp) -> i64 {
    app.count("SELECT count(*) AS n FROM attachments").await
}

/// A live, visible document addressed to `committee` only, carrying the attachment `sha`.
async fn document_for(app: &TestApp, committee: &str, sha: &str) {
    use handbook::db::schema::{document_attachments as da, document_audience as aud, documents as d};
    let (committee, sha) = (committee.to_owned(), sha.to_owned());
    app.db()
        .run(move |conn| {
            let now = chrono::Utc::now().naive_utc();
            let id = uuid::Uuid::new_v4().to_string();
            let attachments = json!([{"sha256": sha, "name": "Nghị quyết.pdf"}]).to_string();
            diesel::insert_into(d::table)
                .values((
                    d::id.eq(&id),
                    d::owner_committee.eq(None::<String>),
                    d::title.eq("Nghị quyết"),
                    d::kind.eq("nghi_quyet"),
                    d::section.eq("Văn kiện"),
                    d::body.eq("Nội dung"),
                    d::audience_all.eq(false),
                    d::audience.eq(json!([committee]).to_string()),
                    d::attachments.eq(&attachments),
                    d::draft_changed.eq(false),
                    d::live_revision.eq(Some(1)),
                    d::live_state.eq("visible"),
                    d::live_title.eq(Some("Nghị quyết")),
                    d::live_kind.eq(Some("nghi_quyet")),
                    d::live_section.eq(Some("Văn kiện")),
                    d::live_body.eq(Some("Nội dung")),
                    d::live_audience_all.eq(false),
                    d::live_attachments.eq(Some(&attachments)),
                    d::live_published_at.eq(Some(now)),
                    d::feed_seq.eq(1_i64),
                    d::created_by.eq("staff:1"),
                    d::created_at.eq(now),
                    d::updated_at.eq(now),
                ))
                .execute(conn)?;
            diesel::insert_into(aud::table)
                .values((aud::document_id.eq(&id), aud::committee_code.eq(&committee)))
                .execute(conn)?;
            diesel::insert_into(da::table).values((da::document_id.eq(&id), da::sha256.eq(&sha))).execute(conn)?;
            Ok(())
        })
        .await
        .expect("insert a document");
}

both_backends! {
    async fn stored_files_are_readable_by_the_service_only(app: TestApp) {
        use std::os::unix::fs::PermissionsExt;
        // The tests run without the binary's umask: the modes below are set by the code itself.
        let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        let admin = app.admin_token().await;
        let uploaded = upload(&app, &admin, "a.pdf", "application/pdf", pdf()).await;
        assert_eq!(uploaded.status, 201, "{}", uploaded.text());
        let sha = sha256_hex(&pdf());
        let attachments = app.state.settings.data_dir.join("attachments");
        let blob = attachments.join(&sha[..2]).join(&sha);
        assert_eq!(mode(&blob), 0o600, "the blob");
        for folder in [attachments.clone(), attachments.join("tmp"), attachments.join(&sha[..2])] {
            assert_eq!(mode(&folder), 0o700, "{}", folder.display());
        }
        let data = &app.state.settings.data_dir;
        assert_eq!(mode(&data.join("jwt-signing-keys.pem")), 0o600, "the signing keys");
        if app.backend == harness::Backend::Sqlite {
            for file in ["handbook.db", "handbook.db-wal", "handbook.db-shm"] {
                assert_eq!(mode(&data.join(file)), 0o600, "{file}");
            }
            let backup = data.join("backup.db");
            let target = backup.to_str().unwrap().to_owned();
            app.db().run(move |conn| handbook::db::backup_into(conn, &target)).await.unwrap();
            assert_eq!(mode(&backup), 0o600, "the backup");
        }
    }

    async fn an_upload_is_stored_once_by_its_sha256(app: TestApp) {
        let admin = app.admin_token().await;
        let bytes = pdf();
        let sha = sha256_hex(&bytes);

        let first = upload(&app, &admin, "  Nghị quyết số 1.pdf ", "application/pdf", bytes.clone()).await;
        assert_eq!(first.status, 201, "{}", first.text());
        let expected = json!({"sha256": sha, "size": bytes.len(), "content_type": "application/pdf", "name": "Nghị quyết số 1.pdf"});
        assert_eq!(first.json(), expected);

        let again = upload(&app, &admin, "Nghị quyết số 1.pdf", "application/pdf; charset=binary", bytes.clone()).await;
        assert_eq!(again.status, 201, "{}", again.text());
        assert_eq!(again.json(), expected);

        assert_eq!(attachment_rows(&app).await, 1);
        let files = stored_files(&app);
        let blob = app.state.settings.data_dir.join("attachments").join(&sha[..2]).join(&sha);
        assert_eq!(files, vec![blob.clone()], "one file, nothing left in tmp/");
        assert_eq!(std::fs::read(&blob).unwrap(), bytes);
        assert_eq!(app.count("SELECT count(*) AS n FROM audit_log WHERE action = 'attachment.upload'").await, 2);

        // An officer may upload too; other allowed types pass their sniffing.
        let officer = { app.seed_committees(&["HK"]).await; app.staff_token("officer.hk", "officer", Some("HK")).await };
        let image = upload(&app, &officer, "logo.png", "image/png", png()).await;
        assert_eq!(image.status, 201, "{}", image.text());
        assert_eq!(image.json()["content_type"], "image/png");
        let docx = upload(&app, &officer, "báo cáo.docx", DOCX, b"PK\x03\x04\x14\0\x06\0rest of the archive".to_vec()).await;
        assert_eq!(docx.status, 201, "{}", docx.text());
        assert_eq!(docx.json()["content_type"], DOCX);
        let doc = upload(&app, &officer, "cũ.doc", "application/msword", OLE_MAGIC.to_vec()).await;
        assert_eq!(doc.status, 201, "{}", doc.text());
        assert_eq!(attachment_rows(&app).await, 4);
        assert_eq!(stored_files(&app).len(), 4);
    }

    async fn uploads_are_refused_by_type_name_size_and_caller(app: TestApp) {
        app.seed_committees(&["HK", "BD"]).await;
        let admin = app.admin_token().await;
        app.import(&admin, MEMBERS_CSV).await;
        let member = app.activate_member(&admin, "100000001", "member password").await;
        let member = member["access_token"].as_str().unwrap();

        let problem = upload(&app, &admin, "logo.pdf", "application/pdf", png()).await.problem(415);
        assert!(problem["detail"].as_str().unwrap().contains("image/png"), "{problem}");
        upload(&app, &admin, "notes.txt", "text/plain", b"just some text\n".to_vec()).await.problem(415);
        upload(&app, &admin, "notes.pdf", "application/pdf", b"just some text\n".to_vec()).await.problem(415);
        upload(&app, &admin, "archive.zip", "application/zip", b"PK\x03\x04\x14\0\x06\0".to_vec()).await.problem(415);
        upload(&app, &admin, "archive.pdf", "application/pdf", b"PK\x03\x04\x14\0\x06\0".to_vec()).await.problem(415);
        upload(&app, &admin, "old.docx", DOCX, OLE_MAGIC.to_vec()).await.problem(415);
        app.with_bearer(&admin, TestRequest::post().uri(&format!("{UPLOAD}?name=a.pdf")).set_payload(pdf())).await.problem(415);
        upload(&app, &admin, "tiny.pdf", "application/pdf", b"%PD".to_vec()).await.problem(415);

        let empty = upload(&app, &admin, "empty.pdf", "application/pdf", Vec::new()).await.problem(422);
        assert_eq!(empty["errors"][0]["field"], "body");
        for name in [None, Some(""), Some("   "), Some("a/b.pdf"), Some("a\\b.pdf"), Some("a\tb.pdf")] {
            let problem = app.with_bearer(&admin, upload_request(name, "application/pdf", pdf())).await.problem(422);
            assert_eq!(problem["errors"][0]["field"], "name", "{name:?}");
        }
        let long = "x".repeat(252) + ".pdf";
        app.with_bearer(&admin, upload_request(Some(&long), "application/pdf", pdf())).await.problem(422);

        upload(&app, member, "a.pdf", "application/pdf", pdf()).await.problem(403);
        app.send(upload_request(Some("a.pdf"), "application/pdf", pdf())).await.problem(401);
        app.with_bearer("not.a.token", upload_request(Some("a.pdf"), "application/pdf", pdf())).await.problem(401);

        // One byte over the limit: announced by Content-Length, and streamed without one.
        let limit = usize::try_from(app.state.settings.attachment_max_bytes).unwrap();
        let mut too_big = vec![0_u8; limit + 1];
        too_big[..5].copy_from_slice(b"%PDF-");
        upload(&app, &admin, "big.pdf", "application/pdf", too_big).await.problem(413);

        let megabyte = Bytes::from(vec![0_u8; 1024 * 1024]);
        let mut first = b"%PDF-".to_vec();
        first.resize(1024 * 1024, 0);
        let mut chunks = vec![Bytes::from(first)];
        chunks.extend(std::iter::repeat_n(megabyte, limit / (1024 * 1024) - 1));
        chunks.push(Bytes::from_static(b"\0"));
        assert_eq!(chunks.iter().map(Bytes::len).sum::<usize>(), limit + 1);
        let stream = futures_util::stream::iter(chunks.into_iter().map(Ok::<_, actix_web::error::PayloadError>));
        let mut request = TestRequest::post()
            .uri(&format!("{UPLOAD}?name=big.pdf"))
            .insert_header((header::CONTENT_TYPE, "application/pdf"))
            .insert_header((header::AUTHORIZATION, format!("Bearer {admin}")))
            .to_request();
        assert!(request.headers_mut().remove(header::CONTENT_LENGTH).next().is_none());
        let stream: actix_http::BoxedPayloadStream = Box::pin(stream);
        let (request, _) = request.replace_payload(actix_http::Payload::Stream { payload: stream });
        call(&app, request).await.problem(413);

        assert_eq!(attachment_rows(&app).await, 0, "nothing refused is recorded");
        assert_eq!(stored_files(&app), Vec::<std::path::PathBuf>::new(), "nothing refused is left on disk");
        assert_eq!(app.count("SELECT count(*) AS n FROM audit_log WHERE action = 'attachment.upload'").await, 0);
    }

    async fn a_download_has_its_etag_ranges_and_caching(app: TestApp) {
        let admin = app.admin_token().await;
        let bytes = pdf();
        let sha = sha256_hex(&bytes);
        assert_eq!(upload(&app, &admin, "Nghị quyết \"số 1\".pdf", "application/pdf", bytes.clone()).await.status, 201);
        let etag = format!("\"{sha}\"");

        let full = download(&app, Some(&admin), &sha, &[]).await;
        assert_eq!(full.status, 200);
        assert_eq!(full.body, bytes);
        assert_eq!(full.header("etag"), Some(etag.as_str()));
        assert_eq!(full.header("cache-control"), Some("private, max-age=31536000, immutable"));
        assert_eq!(full.header("content-type"), Some("application/pdf"));
        assert_eq!(full.header("accept-ranges"), Some("bytes"));
        assert_eq!(full.header("last-modified"), None);
        let disposition = full.header("content-disposition").unwrap();
        assert!(disposition.starts_with("attachment; filename=\"Nghi quyet \\\"so 1\\\".pdf\"; "), "{disposition}");
        assert!(disposition.contains("filename*=UTF-8''Ngh%E1%BB%8B%20quy%E1%BA%BFt%20%22s%E1%BB%91%201%22.pdf"), "{disposition}");

        let cached = download(&app, Some(&admin), &sha, &[("if-none-match", &etag)]).await;
        assert_eq!(cached.status, 304);
        assert!(cached.body.is_empty());
        assert_eq!(cached.header("etag"), Some(etag.as_str()));
        assert_eq!(cached.header("cache-control"), Some("private, max-age=31536000, immutable"));
        assert_eq!(download(&app, Some(&admin), &sha, &[("if-none-match", &format!("\"other\", W/{etag}"))]).await.status, 304);
        assert_eq!(download(&app, Some(&admin), &sha, &[("if-none-match", "*")]).await.status, 304);
        assert_eq!(download(&app, Some(&admin), &sha, &[("if-none-match", "\"other\"")]).await.status, 200);

        let part = download(&app, Some(&admin), &sha, &[("range", "bytes=0-9")]).await;
        assert_eq!(part.status, 206);
        assert_eq!(part.body, bytes[..10]);
        assert_eq!(part.header("content-range"), Some(format!("bytes 0-9/{}", bytes.len()).as_str()));
        assert_eq!(part.header("etag"), Some(etag.as_str()));
        let tail = download(&app, Some(&admin), &sha, &[("range", "bytes=-6")]).await;
        assert_eq!((tail.status.as_u16(), &tail.body[..]), (206, &bytes[bytes.len() - 6..]));

        // If-Range: the range only while the client's copy is this very file.
        let resumed = download(&app, Some(&admin), &sha, &[("range", "bytes=10-19"), ("if-range", &etag)]).await;
        assert_eq!((resumed.status.as_u16(), &resumed.body[..]), (206, &bytes[10..20]));
        let stale = download(&app, Some(&admin), &sha, &[("range", "bytes=10-19"), ("if-range", "\"other\"")]).await;
        assert_eq!((stale.status.as_u16(), &stale.body[..]), (200, &bytes[..]));
        let date = "Wed, 21 Oct 2015 07:28:00 GMT";
        let dated = download(&app, Some(&admin), &sha, &[("range", "bytes=10-19"), ("if-range", date)]).await;
        assert_eq!(dated.status, 200);

        assert_eq!(download(&app, Some(&admin), &sha, &[("if-match", &etag)]).await.status, 200);
        download(&app, Some(&admin), &sha, &[("if-match", "\"other\"")]).await.problem(412);
        download(&app, Some(&admin), &sha, &[("range", "bytes=5000-6000")]).await.problem(416);

        download(&app, Some(&admin), &sha256_hex(b"never uploaded"), &[]).await.problem(404);
        download(&app, Some(&admin), &sha.to_uppercase(), &[]).await.problem(404);
        download(&app, Some(&admin), &sha[..63], &[]).await.problem(404);
        download(&app, Some(&admin), "../../etc/passwd", &[]).await.problem(404);
        download(&app, None, &sha, &[]).await.problem(401);
        download(&app, Some("not.a.token"), &sha, &[]).await.problem(401);
    }

    async fn members_and_officers_download_only_what_their_committee_may_see(app: TestApp) {
        app.seed_committees(&["HK", "BD"]).await;
        let admin = app.admin_token().await;
        app.import(&admin, MEMBERS_CSV).await;
        let member_hk = app.activate_member(&admin, "100000001", "member password").await;
        let member_hk = member_hk["access_token"].as_str().unwrap();
        let member_bd = app.activate_member(&admin, "100000004", "member password").await;
        let member_bd = member_bd["access_token"].as_str().unwrap();
        let officer_hk = app.staff_token("officer.hk", "officer", Some("HK")).await;
        let officer_bd = app.staff_token("officer.bd", "officer", Some("BD")).await;

        let bytes = pdf();
        let sha = sha256_hex(&bytes);
        assert_eq!(upload(&app, &admin, "Nghị quyết.pdf", "application/pdf", bytes.clone()).await.status, 201);

        // Used by no document yet: only the admin sees it.
        for token in [member_hk, member_bd, officer_hk.as_str(), officer_bd.as_str()] {
            download(&app, Some(token), &sha, &[]).await.problem(404);
        }
        assert_eq!(download(&app, Some(&admin), &sha, &[]).await.status, 200);

        document_for(&app, "HK", &sha).await;
        for token in [member_hk, officer_hk.as_str(), admin.as_str()] {
            let answer = download(&app, Some(token), &sha, &[]).await;
            assert_eq!((answer.status.as_u16(), &answer.body[..]), (200, &bytes[..]));
        }
        for token in [member_bd, officer_bd.as_str()] {
            download(&app, Some(token), &sha, &[]).await.problem(404);
            // Not even a validator tells a stranger that the file exists.
            download(&app, Some(token), &sha, &[("if-none-match", &format!("\"{sha}\""))]).await.problem(404);
        }
    }
}

both_backends! {
    async fn a_malformed_hash_with_validators_is_a_404_not_a_crash(app: TestApp) {
        let admin = app.admin_token().await;
        for path in ["/api/v1/attachments/%22", "/api/v1/attachments/%22abc%22"] {
            let answer = app
                .with_bearer(&admin, TestRequest::get().uri(path).insert_header(("If-Range", "\"x\"")).insert_header(("Range", "bytes=0-1")))
                .await;
            answer.problem(404);
            app.get(path).await.problem(401);
        }
    }
}

both_backends! {
    async fn an_officer_cannot_reach_another_committees_attachment_by_naming_its_hash(app: TestApp) {
        app.seed_committees(&["HK", "BD"]).await;
        let admin = app.admin_token().await;
        app.import(&admin, MEMBERS_CSV).await;
        let member_hk = app.activate_member(&admin, "100000001", "member password").await["access_token"].as_str().unwrap().to_owned();
        let officer_hk = app.staff_token("officer.hk", "officer", Some("HK")).await;
        let officer_bd = app.staff_token("officer.bd", "officer", Some("BD")).await;
        let draft = |title: &str, committee: &str, sha: &str| {
            json!({"title": title, "kind": "thong_bao", "section": "", "body": "x", "audience": {"committees": [committee]},
                   "attachments": [{"sha256": sha}]})
        };

        // HK's officer uploads a file, names it in a draft for HK (allowed: its own upload), and publishes it.
        let bytes = pdf();
        let sha = sha256_hex(&bytes);
        assert_eq!(upload(&app, &officer_hk, "Mật.pdf", "application/pdf", bytes.clone()).await.status, 201);
        let created = app.post_as(&officer_hk, "/api/v1/admin/documents", &draft("Của HK", "HK", &sha)).await;
        assert_eq!(created.status, 201, "{}", created.text());
        let id = created.json()["id"].as_str().unwrap().to_owned();
        assert_eq!(app.post_as(&officer_hk, &format!("/api/v1/admin/documents/{id}/publish"), &json!({})).await.status, 200);

        // BD's officer knows the hash: naming it in its own draft is refused, as if it did not exist.
        let refused = app.post_as(&officer_bd, "/api/v1/admin/documents", &draft("Của BD", "BD", &sha)).await.problem(422);
        assert_eq!(refused["errors"][0]["field"], "attachments");
        let own = app.post_as(&officer_bd, "/api/v1/admin/documents", &json!({"title": "Của BD", "kind": "thong_bao", "section": "", "body": "x", "audience": {"committees": ["BD"]}})).await;
        let own_id = own.json()["id"].as_str().unwrap().to_owned();
        let patch = app.with_bearer(&officer_bd, TestRequest::patch().uri(&format!("/api/v1/admin/documents/{own_id}")).set_json(json!({"attachments": [{"sha256": sha}]}))).await;
        patch.problem(422);
        // A draft written before the fix (straight into the database) grants nothing either.
        let own_for_sql = own_id.clone();
        let sha_for_sql = sha.clone();
        app.db()
            .run(move |conn| {
                use handbook::db::schema::documents as d;
                let attachments = json!([{"sha256": sha_for_sql, "name": "x.pdf", "size": 1, "content_type": "application/pdf"}]).to_string();
                diesel::update(d::table.find(&own_for_sql)).set(d::attachments.eq(attachments)).execute(conn)?;
                Ok(())
            })
            .await
            .unwrap();
        download(&app, Some(&officer_bd), &sha, &[]).await.problem(404);
        app.post_as(&officer_bd, &format!("/api/v1/admin/documents/{own_id}/publish"), &json!({})).await.problem(422);

        // The download rules are otherwise unchanged: HK's officer, HK's member and the admin read it.
        for token in [officer_hk.as_str(), member_hk.as_str(), admin.as_str()] {
            let answer = download(&app, Some(token), &sha, &[]).await;
            assert_eq!((answer.status.as_u16(), &answer.body[..]), (200, &bytes[..]));
        }

        // BD's officer who uploads the same bytes has them: it may then name them.
        assert_eq!(upload(&app, &officer_bd, "Bản của BD.pdf", "application/pdf", bytes.clone()).await.status, 201);
        assert_eq!(app.post_as(&officer_bd, "/api/v1/admin/documents", &draft("Của BD 2", "BD", &sha)).await.status, 201);
        assert_eq!(download(&app, Some(&officer_bd), &sha, &[]).await.status, 200);
    }
}
