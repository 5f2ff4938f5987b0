//! Domain values (member status, document kind and live state, platform, role, token subject) are stored as their
//! text through one mapping, read back as values on both backends, and described in the OpenAPI document with the
//! same lists of values as before they were types.

use crate::harness::TestApp;
use diesel::prelude::*;
use serde_json::{json, Value};

use handbook::auth::{Role, Subject};
use handbook::content::states::{DocumentKind, LiveState};
use handbook::db::schema::{documents as d, installations as inst, members, refresh_tokens as rt, staff};
use handbook::org::members::{Member, MemberStatus};
use handbook::sync::installations::Platform;

/// Creates a draft addressed to everyone and, with `publish_at` given, publishes it; answers its id.
async fn document(app: &TestApp, admin: &str, publish_at: Option<&str>) -> String {
    let body = json!({"title": "Thông báo", "kind": "thong_bao", "section": "", "body": "x", "audience": {"all": true},
        "publish_at": publish_at});
    let created = app.post_as(admin, "/api/v1/admin/documents", &body).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_owned();
    if publish_at.is_some() {
        let published = app.post_as(admin, &format!("/api/v1/admin/documents/{id}/publish"), &json!({})).await;
        assert_eq!(published.status, 200, "{}", published.text());
    }
    id
}

both_backends! {
    async fn states_are_stored_as_their_text_and_read_back_as_values(app: TestApp) {
        let org = app.organisation().await;
        let installation = "4b0c5e4e-7f63-4d1c-9a51-3b6c1a2f0d11";
        let body = json!({"installation_id": installation, "platform": "ios", "app_version": "1.0"});
        assert_eq!(app.post_as(&org.member_hk, "/api/v1/installations", &body).await.status, 201);
        let visible = document(&app, &org.admin, Some("2020-01-01T00:00:00Z")).await;
        let scheduled = document(&app, &org.admin, Some("2999-01-01T00:00:00Z")).await;
        let draft = document(&app, &org.admin, None).await;
        let installation = installation.to_owned();
        app.db()
            .run(move |conn| {
                // A query filters by the value; the row holds the text.
                let exempt: Vec<String> = members::table
                    .filter(members::status.eq(MemberStatus::Exempt))
                    .select(members::card_number)
                    .load(conn)?;
                assert_eq!(exempt, ["100000003"]);
                let texts: Vec<String> =
                    members::table.order(members::card_number).select(members::status).load(conn)?;
                assert_eq!(texts, ["eligible", "eligible", "exempt", "eligible"]);
                let member: Member = members::table
                    .filter(members::card_number.eq("100000001"))
                    .select(Member::as_select())
                    .get_result(conn)?;
                assert_eq!(member.status, MemberStatus::Eligible);

                let (subject, platform): (Subject, Platform) = inst::table
                    .find(&installation)
                    .select((inst::subject, inst::platform))
                    .get_result(conn)?;
                assert_eq!((subject, platform), (Subject::Member(member.id), Platform::Ios));
                let texts: (String, String) =
                    inst::table.find(&installation).select((inst::subject, inst::platform)).get_result(conn)?;
                assert_eq!(texts, (format!("member:{}", member.id), "ios".to_owned()));
                let sessions: i64 =
                    rt::table.filter(rt::subject.eq(Subject::Member(member.id))).count().get_result(conn)?;
                assert!(sessions >= 1);

                for (id, state, text) in [
                    (&visible, LiveState::Visible, "visible"),
                    (&scheduled, LiveState::Scheduled, "scheduled"),
                    (&draft, LiveState::Draft, "none"),
                ] {
                    let (stored, kind): (LiveState, DocumentKind) =
                        d::table.find(id).select((d::live_state, d::kind)).get_result(conn)?;
                    assert_eq!((stored, kind), (state, DocumentKind::ThongBao));
                    let raw: String = d::table.find(id).select(d::live_state).get_result(conn)?;
                    assert_eq!(raw, text);
                }
                let roles: Vec<Role> = staff::table.select(staff::role).load(conn)?;
                assert_eq!(roles, [Role::Admin]);
                Ok(())
            })
            .await
            .unwrap();
    }

    async fn the_openapi_document_lists_the_same_values_as_before(app: TestApp) {
        let doc = app.get("/api/v1/openapi.json").await.json();
        let statuses = ["eligible", "exempt", "left"];
        let kinds = ["van_kien", "nghi_quyet", "chi_thi", "quy_dinh", "huong_dan", "thong_bao", "tin_tuc", "tai_lieu"];
        let document_statuses = ["draft", "scheduled", "published", "expired", "unpublished"];
        let schemas = &doc["components"]["schemas"];
        assert_eq!(values(&doc, &schemas["Registration"]["properties"]["platform"]), ["android", "ios", "web"]);
        assert_eq!(values(&doc, &schemas["InstallationView"]["properties"]["platform"]), ["android", "ios", "web"]);
        assert_eq!(values(&doc, &schemas["DraftInput"]["properties"]["kind"]), kinds);
        assert_eq!(values(&doc, &schemas["LiveDocument"]["properties"]["kind"]), kinds);
        assert_eq!(values(&doc, &schemas["MemberView"]["properties"]["status"]), statuses);
        assert_eq!(values(&doc, &schemas["Published"]["properties"]["status"]), document_statuses);
        assert_eq!(values(&doc, &schemas["Profile"]["properties"]["role"]), ["member", "officer", "admin"]);
        assert_eq!(values(&doc, &parameter(&doc, "/api/v1/admin/members", "status")), statuses);
        assert_eq!(values(&doc, &parameter(&doc, "/api/v1/admin/documents", "status")), document_statuses);
        assert_eq!(values(&doc, &parameter(&doc, "/api/v1/documents", "kind")), kinds);
    }

    async fn a_value_outside_the_list_is_still_a_422_naming_the_list(app: TestApp) {
        let org = app.organisation().await;
        let answer = app.get_as(&org.admin, "/api/v1/admin/members?status=gone").await;
        assert_eq!(answer.problem(422)["errors"][0]["message"], "must be eligible, exempt or left");
        let answer = app.get_as(&org.admin, "/api/v1/admin/documents?status=visible").await;
        assert_eq!(answer.problem(422)["errors"][0]["message"], "draft, scheduled, published, expired, unpublished");
        let answer = app.get_as(&org.member_hk, "/api/v1/documents?kind=poem").await;
        assert_eq!(
            answer.problem(422)["errors"][0]["message"],
            "van_kien, nghi_quyet, chi_thi, quy_dinh, huong_dan, thong_bao, tin_tuc, tai_lieu"
        );
        let body = json!({"installation_id": "4b0c5e4e-7f63-4d1c-9a51-3b6c1a2f0d11", "platform": "symbian", "app_version": "1"});
        let answer = app.post_as(&org.member_hk, "/api/v1/installations", &body).await;
        assert_eq!(answer.problem(422)["errors"][0]["message"], "android, ios or web");
    }
}

/// The schema, with a `$ref` followed.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &doc["components"]["schemas"][name],
        None => schema,
    }
}

/// The values a string schema takes, whether inline, a `$ref`, or one of a nullable `oneOf`/`allOf`.
fn values(doc: &Value, schema: &Value) -> Vec<String> {
    let schema = resolve(doc, schema);
    if let Some(values) = schema["enum"].as_array() {
        return values.iter().filter_map(Value::as_str).map(str::to_owned).collect();
    }
    for combined in ["oneOf", "allOf", "anyOf"] {
        for part in schema[combined].as_array().into_iter().flatten() {
            let found = values(doc, part);
            if !found.is_empty() {
                return found;
            }
        }
    }
    Vec::new()
}

/// The schema of the query parameter `name` of `GET path`.
fn parameter(doc: &Value, path: &str, name: &str) -> Value {
    let parameters = doc["paths"][path]["get"]["parameters"].as_array().expect("parameters");
    parameters.iter().find(|p| p["name"] == name).expect("the parameter")["schema"].clone()
}
