//! The reference sync client.

use actix_web::test::TestRequest;

use super::TestApp;

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
