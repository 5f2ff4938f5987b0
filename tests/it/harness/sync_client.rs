//! The reference sync client.

use std::collections::BTreeMap;

use actix_web::test::TestRequest;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Answer, TestApp};

/// The member's own state as a device holds it, from the feed's entries: document id → `created_at` for
/// bookmarks, note id → note, document id → position, document id → (revision, `read_at`), meetings and answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemberState {
    pub bookmarks: BTreeMap<String, String>,
    pub notes: BTreeMap<String, HeldNote>,
    pub progress: BTreeMap<String, f64>,
    pub reads: BTreeMap<String, (i64, String)>,
    /// Meeting id → the meeting as the feed sent it.
    pub meetings: BTreeMap<String, Value>,
    /// Meeting id → (answer, reason).
    pub rsvps: BTreeMap<String, (String, Option<String>)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeldNote {
    pub document_id: String,
    pub anchor: String,
    pub text: String,
    pub updated_at: String,
}

impl MemberState {
    /// The state without the server's times: what a model that knows no clock can predict.
    pub fn timeless(&self) -> TimelessState {
        TimelessState {
            bookmarks: self.bookmarks.keys().cloned().collect(),
            notes: self
                .notes
                .iter()
                .map(|(id, n)| (id.clone(), (n.document_id.clone(), n.anchor.clone(), n.text.clone())))
                .collect(),
            progress: self.progress.clone(),
            reads: self.reads.iter().map(|(id, (revision, _))| (id.clone(), *revision)).collect(),
        }
    }

    /// Applies one feed entry of the member's state; false if the entry is not about member state. Applying an
    /// entry twice (an echo of the device's own push) changes nothing.
    fn apply(&mut self, change: &Value) -> bool {
        let text = |value: &Value| value.as_str().unwrap_or_else(|| panic!("a string: {change}")).to_owned();
        let upsert = match change["op"].as_str() {
            Some("upsert") => true,
            Some("delete") => false,
            other => panic!("unknown op {other:?}"),
        };
        if let Some(bookmark) = change.get("bookmark") {
            let id = text(&bookmark["document_id"]);
            if upsert {
                self.bookmarks.insert(id, text(&bookmark["created_at"]));
            } else {
                self.bookmarks.remove(&id);
            }
        } else if let Some(note) = change.get("note") {
            let id = text(&note["note_id"]);
            if upsert {
                let held = HeldNote {
                    document_id: text(&note["document_id"]),
                    anchor: text(&note["anchor"]),
                    text: text(&note["text"]),
                    updated_at: text(&note["updated_at"]),
                };
                self.notes.insert(id, held);
            } else {
                self.notes.remove(&id);
            }
        } else if let Some(progress) = change.get("progress") {
            assert!(upsert, "progress is never deleted: {change}");
            self.progress.insert(text(&progress["document_id"]), progress["position"].as_f64().unwrap());
        } else if let Some(read) = change.get("read") {
            assert!(upsert, "reads are never undone: {change}");
            self.reads.insert(text(&read["document_id"]), (read["revision"].as_i64().unwrap(), text(&read["read_at"])));
        } else if let Some(meeting) = change.get("meeting") {
            let id = text(&meeting["id"]);
            if upsert {
                self.meetings.insert(id, meeting.clone());
            } else {
                self.meetings.remove(&id);
                // The answer goes with the invitation.
                self.rsvps.remove(&id);
            }
        } else if let Some(rsvp) = change.get("rsvp") {
            assert!(upsert, "answers are replaced, never deleted on their own: {change}");
            let reason = rsvp["reason"].as_str().map(str::to_owned);
            self.rsvps.insert(text(&rsvp["meeting_id"]), (text(&rsvp["answer"]), reason));
        } else {
            return false;
        }
        true
    }
}

/// `MemberState` without times: bookmarked ids, note id → (document id, anchor, text), positions, revisions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TimelessState {
    pub bookmarks: std::collections::BTreeSet<String>,
    pub notes: BTreeMap<String, (String, String, String)>,
    pub progress: BTreeMap<String, f64>,
    pub reads: BTreeMap<String, i64>,
}

/// What a device keeps on its storage across app restarts: the pending mutations first of all.
#[derive(Serialize, Deserialize)]
struct Stored {
    token: String,
    installation_id: String,
    documents: BTreeMap<String, (i64, String)>,
    state: MemberState,
    queue: Vec<Value>,
    cursor: Option<String>,
    etag: Option<String>,
}

/// The reference sync client: walks the protocol exactly as the mobile app must. It registers its
/// installation, syncs from scratch (replacing everything it holds), applies each page, acknowledges, polls with
/// `If-None-Match`, and starts over on 410. What the member does offline is queued as mutations with ids the device
/// makes; `push` sends the queue's head and drops what got a final result, so an answer that was lost is simply
/// sent again (the server answers `duplicate` for what it applied). The queue survives `restart`.
pub struct SyncClient {
    pub token: String,
    pub installation_id: String,
    /// id → (revision, title)
    pub documents: BTreeMap<String, (i64, String)>,
    /// The member's own state, as the feed delivered it.
    pub state: MemberState,
    /// Mutations not yet given a final result, oldest first.
    pub queue: Vec<Value>,
    pub cursor: Option<String>,
    pub etag: Option<String>,
    pub restarts: usize,
    pub not_modified: usize,
    /// Every final result this device received: mutation id → (status, problem).
    pub results: BTreeMap<String, (String, Option<Value>)>,
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
            state: Default::default(),
            queue: Vec::new(),
            cursor: None,
            etag: None,
            restarts: 0,
            not_modified: 0,
            results: Default::default(),
        }
    }

    /// The app closed and opened again: only what it stored survives (pending mutations, cursor, what it holds).
    pub fn restart(self) -> SyncClient {
        let stored = Stored {
            token: self.token,
            installation_id: self.installation_id,
            documents: self.documents,
            state: self.state,
            queue: self.queue,
            cursor: self.cursor,
            etag: self.etag,
        };
        let bytes = serde_json::to_vec(&stored).unwrap();
        let stored: Stored = serde_json::from_slice(&bytes).unwrap();
        SyncClient {
            token: stored.token,
            installation_id: stored.installation_id,
            documents: stored.documents,
            state: stored.state,
            queue: stored.queue,
            cursor: stored.cursor,
            etag: stored.etag,
            restarts: 0,
            not_modified: 0,
            results: Default::default(),
        }
    }

    /// Queues a mutation (`{"type": ..., ...}`) under a new id; answers the id.
    pub fn enqueue(&mut self, mut mutation: Value) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        mutation["id"] = Value::String(id.clone());
        self.queue.push(mutation);
        id
    }

    /// Queues a mutation as it is, id included (one this or another device sent already).
    pub fn enqueue_as_is(&mut self, mutation: Value) {
        self.queue.push(mutation);
    }

    /// Sends the first `max` queued mutations; the answer, not yet taken into account (`accept` does that: an
    /// answer never accepted is one the network lost).
    pub async fn send_push(&self, app: &TestApp, max: usize) -> Answer {
        let mutations: Vec<Value> = self.queue.iter().take(max).cloned().collect();
        let request = TestRequest::post()
            .uri("/api/v1/sync/push")
            .insert_header(("X-Installation-Id", self.installation_id.as_str()))
            .set_json(serde_json::json!({ "mutations": mutations }));
        app.with_bearer(&self.token, request).await
    }

    /// Takes a push's answer into account: every mutation with a result is final and leaves the queue.
    pub fn accept(&mut self, answer: &Answer) {
        assert_eq!(answer.status, 200, "{}", answer.text());
        for result in answer.json()["results"].as_array().unwrap() {
            let id = result["id"].as_str().unwrap().to_owned();
            let status = result["status"].as_str().unwrap().to_owned();
            assert!(["applied", "duplicate", "rejected"].contains(&status.as_str()), "{result}");
            assert_eq!(status == "rejected", result.get("problem").is_some(), "{result}");
            let at = self.queue.iter().position(|m| m["id"] == id.as_str()).expect("a result for a queued mutation");
            self.queue.remove(at);
            self.results.insert(id, (status, result.get("problem").cloned()));
        }
    }

    /// Pushes the first `max` queued mutations and takes the answer into account; the answer.
    pub async fn push(&mut self, app: &TestApp, max: usize) -> Answer {
        let answer = self.send_push(app, max).await;
        self.accept(&answer);
        answer
    }

    /// Pushes until the queue is empty.
    pub async fn drain(&mut self, app: &TestApp) {
        while !self.queue.is_empty() {
            self.push(app, 50).await;
        }
    }

    /// Follows the feed until `has_more` is false; acknowledges the final cursor.
    pub async fn sync(&mut self, app: &TestApp) {
        let mut from_scratch = self.cursor.is_none();
        let mut fresh = BTreeMap::new();
        let mut fresh_state = MemberState::default();
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
                    fresh_state = MemberState::default();
                    continue;
                }
                200 => {}
                other => panic!("sync answered {other}: {}", answer.text()),
            }
            self.etag = answer.header("etag").map(str::to_owned);
            let page = answer.json();
            for change in page["changes"].as_array().unwrap() {
                let (target, state) =
                    if from_scratch { (&mut fresh, &mut fresh_state) } else { (&mut self.documents, &mut self.state) };
                if state.apply(change) {
                    continue;
                }
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
            self.state = fresh_state;
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
