//! Install coverage on both backends: the definitions, the counters against a full recount after thousands of
//! random operations, scoping, the follow-up list, CSV and history.

use std::collections::BTreeMap;

use crate::harness;
use crate::harness::{TestApp, MEMBERS_CSV};
use actix_web::test::TestRequest;
use serde_json::{json, Value};

fn committee<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["committees"].as_array().unwrap().iter().find(|c| c["code"] == code).unwrap()
}

async fn register(app: &TestApp, token: &str, installation: &str) -> u16 {
    app.register_installation(token, installation).await.status.as_u16()
}

both_backends! {
    async fn the_definitions_hold(app: TestApp) {
        app.seed_committees(&["HK", "BD"]).await;
        let admin = app.admin_token().await;
        app.import(&admin, MEMBERS_CSV).await; // HK: 2 eligible; BD: 1 exempt + 1 eligible
        let a = app.activate_member(&admin, "100000001", "member password").await["access_token"].as_str().unwrap().to_owned();
        let exempt = app.activate_member(&admin, "100000003", "member password").await["access_token"].as_str().unwrap().to_owned();
        let phone = uuid::Uuid::new_v4().to_string();
        let tablet = uuid::Uuid::new_v4().to_string();
        register(&app, &a, &phone).await;
        register(&app, &a, &tablet).await; // two devices: one member installed
        register(&app, &exempt, &uuid::Uuid::new_v4().to_string()).await; // exempt: not counted
        let report = app.get_as(&admin, "/api/v1/coverage").await.json();
        assert_eq!(report["target"], 418_000);
        let hk = committee(&report, "HK");
        assert_eq!((hk["eligible"].clone(), hk["activated"].clone(), hk["installed"].clone(), hk["coverage"].clone()), (json!(2), json!(1), json!(1), json!(0.5)));
        let bd = committee(&report, "BD");
        assert_eq!((bd["eligible"].clone(), bd["activated"].clone(), bd["installed"].clone()), (json!(1), json!(0), json!(0)));
        assert_eq!(report["totals"]["installed"], 1);

        // The phone is A's: the other HK member cannot take it over (409) until A removes it, then it moves; the
        // tablet stays: both are now installed.
        let b = app.activate_member(&admin, "100000002", "member password").await["access_token"].as_str().unwrap().to_owned();
        assert_eq!(register(&app, &b, &phone).await, 409);
        let removed = app.with_bearer(&a, TestRequest::delete().uri(&format!("/api/v1/installations/{phone}"))).await;
        assert_eq!(removed.status, 204);
        assert_eq!(register(&app, &b, &phone).await, 200);
        let hk = app.get_as(&admin, "/api/v1/coverage/HK").await.json();
        assert_eq!((hk["committee"]["installed"].clone(), hk["committee"]["coverage"].clone()), (json!(2), json!(1.0)));
        let unit = &hk["units"][0];
        assert_eq!((unit["unit"].clone(), unit["installed"].clone()), (json!("Phường Hàng Bạc"), json!(2)));
        assert_eq!(unit["cells"].as_array().unwrap().len(), 2);

        // Member A leaves: no longer eligible, so no longer installed either — coverage stays ≤ 1.
        let left = MEMBERS_CSV.replace("Chi bộ 1,eligible\n100000002", "Chi bộ 1,left\n100000002");
        app.import(&admin, &left).await;
        let hk = committee(&app.get_as(&admin, "/api/v1/coverage").await.json(), "HK").clone();
        assert_eq!((hk["eligible"].clone(), hk["installed"].clone(), hk["coverage"].clone()), (json!(1), json!(1), json!(1.0)));

        // Member B moves to BD, with its device.
        let moved = left.replace("100000002,Trần Thị Bình,HK,", "100000002,Trần Thị Bình,BD,");
        app.import(&admin, &moved).await;
        let report = app.get_as(&admin, "/api/v1/coverage").await.json();
        assert_eq!((committee(&report, "HK")["eligible"].clone(), committee(&report, "HK")["installed"].clone()), (json!(0), json!(0)));
        assert_eq!(committee(&report, "HK")["coverage"], 0.0);
        assert_eq!((committee(&report, "BD")["eligible"].clone(), committee(&report, "BD")["installed"].clone()), (json!(2), json!(1)));
        let committees = app.get_as(&admin, "/api/v1/committees").await.json();
        assert_eq!(committees["items"][0]["eligible"], 2, "the committee list reads the same counters");
    }

    async fn staff_see_their_scope_and_the_follow_up_list(app: TestApp) {
        app.seed_committees(&["HK", "BD"]).await;
        let admin = app.admin_token().await;
        app.import(&admin, MEMBERS_CSV).await;
        let officer = app.staff_token("officer.hk", "officer", Some("HK")).await;
        let mine = app.get_as(&officer, "/api/v1/coverage").await.json();
        assert_eq!(mine["committees"].as_array().unwrap().len(), 1);
        assert_eq!(mine["totals"]["eligible"], 2);
        app.get_as(&officer, "/api/v1/coverage/BD").await.problem(404);
        app.get_as(&admin, "/api/v1/coverage/XX").await.problem(404);
        app.get_as(&officer, "/api/v1/coverage/BD/not-installed").await.problem(404);

        let a = app.activate_member(&admin, "100000001", "member password").await["access_token"].as_str().unwrap().to_owned();
        register(&app, &a, &uuid::Uuid::new_v4().to_string()).await;
        let list = app.get_as(&officer, "/api/v1/coverage/HK/not-installed").await.json();
        assert_eq!(list["items"], json!([{"card_number": "100000002", "full_name": "Trần Thị Bình", "unit": "Phường Hàng Bạc", "cell": "Chi bộ 2", "activated": false}]));
        let csv = app.get_as(&officer, "/api/v1/coverage/HK/not-installed?format=csv").await;
        assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
        assert_eq!(csv.text(), "card_number,full_name,unit,cell,activated\n100000002,Trần Thị Bình,Phường Hàng Bạc,Chi bộ 2,no\n");
        app.get_as(&officer, "/api/v1/coverage/HK/not-installed?format=csv&limit=-2").await.problem(422);
        app.get_as(&officer, "/api/v1/coverage/HK/not-installed?format=xml").await.problem(422);
        let city = app.get_as(&admin, "/api/v1/coverage.csv").await.text();
        assert_eq!(city.lines().count(), 3);
        assert!(city.lines().any(|l| l.starts_with("HK,Đảng bộ HK,2,1,1,")), "{city}");
    }

    async fn up_to_date_counts_devices_that_acknowledged_the_newest_document(app: TestApp) {
        let org = app.organisation().await;
        let publish = |title: &'static str| {
            let body = json!({"title": title, "kind": "thong_bao", "section": "Thông báo", "body": "Nội dung", "audience": {"all": true}});
            let (app, admin) = (&app, org.admin.clone());
            async move {
                let id = app.post_as(&admin, "/api/v1/admin/documents", &body).await.json()["id"].as_str().unwrap().to_owned();
                assert_eq!(app.post_as(&admin, &format!("/api/v1/admin/documents/{id}/publish"), &json!({})).await.status, 200);
            }
        };
        let refresh = || app.db().run(|conn| Ok(handbook::coverage::counters::refresh_moving(conn, handbook::time::now())?));
        let up_to_date = || async {
            let hk = app.get_as(&org.admin, "/api/v1/coverage/HK").await.json();
            (hk["committee"]["up_to_date"].as_i64().unwrap(), hk["units"][0]["up_to_date"].as_i64().unwrap())
        };
        publish("Nghị quyết 1").await;
        let mut device = harness::SyncClient::register(&app, &org.member_hk).await;
        refresh().await.unwrap();
        assert_eq!(up_to_date().await, (0, 0), "installed, not yet synced");
        device.sync(&app).await; // and acknowledges
        refresh().await.unwrap();
        assert_eq!(up_to_date().await, (1, 1));
        refresh().await.unwrap();
        assert_eq!(up_to_date().await, (1, 1), "a refresh with nothing new changes nothing");
        publish("Nghị quyết 2").await;
        refresh().await.unwrap();
        assert_eq!(up_to_date().await, (0, 0), "a newer document is out");
        device.sync(&app).await;
        refresh().await.unwrap();
        assert_eq!(up_to_date().await, (1, 1));
    }

    async fn history_is_daily_and_idempotent(app: TestApp) {
        app.seed_committees(&["HK", "BD"]).await;
        let admin = app.admin_token().await;
        app.import(&admin, MEMBERS_CSV).await;
        let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap().and_hms_opt(18, 0, 0).unwrap();
        for at in [day("2026-11-20"), day("2026-11-21"), day("2026-11-21")] {
            app.db().run(move |conn| Ok(handbook::coverage::report::snapshot(conn, at)?)).await.unwrap();
        }
        assert_eq!(app.count("SELECT count(*) AS n FROM coverage_history").await, 4, "two committees, two days");
        let city = app.get_as(&admin, "/api/v1/coverage/history?from=2026-11-01&to=2026-11-30").await.json();
        assert_eq!(city["items"].as_array().unwrap().len(), 2);
        assert_eq!(city["items"][0], json!({"date": "2026-11-20", "eligible": 3, "activated": 0, "installed": 0, "active_30d": 0, "up_to_date": 0, "coverage": 0.0}));
        let officer = app.staff_token("officer.hk", "officer", Some("HK")).await;
        let own = app.get_as(&officer, "/api/v1/coverage/history?from=2026-11-01&to=2026-11-30").await.json();
        assert_eq!(own["items"][1]["eligible"], 2);
        app.get_as(&officer, "/api/v1/coverage/history?committee=BD").await.problem(404);
        app.get_as(&admin, "/api/v1/coverage/history?from=2026-12-01&to=2026-11-01").await.problem(400);
        app.get_as(&admin, "/api/v1/coverage/history?from=yesterday").await.problem(400);
    }

    async fn counters_equal_a_full_recount_after_random_operations(app: TestApp) {
        app.seed_committees(&["HK", "BD", "CG"]).await;
        let admin = app.admin_token().await;
        let mut random = Lcg(if app.backend == harness::Backend::Sqlite { 11 } else { 12 });
        let committees = ["HK", "BD", "CG"];
        let statuses = ["eligible", "eligible", "eligible", "exempt", "left"];
        let mut rows: BTreeMap<String, [String; 4]> = BTreeMap::new();
        let mut csv = String::from("card_number,full_name,committee_code,unit,cell,status\n");
        for n in 0..60 {
            let row = [
                committees[random.below(3)].to_owned(),
                format!("Đơn vị {}", random.below(3)),
                format!("Chi bộ {}", random.below(3)),
                statuses[random.below(5)].to_owned(),
            ];
            csv.push_str(&format!("{},Đảng viên {n},{},{},{},{}\n", 400_000_000 + n, row[0], row[1], row[2], row[3]));
            rows.insert((400_000_000 + n).to_string(), row);
        }
        app.import(&admin, &csv).await;
        let mut tokens = Vec::new();
        for card in rows.keys().take(12).cloned().collect::<Vec<_>>() {
            rows.get_mut(&card).unwrap()[3] = "eligible".into();
            let [c, u, cell, s] = &rows[&card];
            app.import(&admin, &format!("card_number,full_name,committee_code,unit,cell,status\n{card},X,{c},{u},{cell},{s}\n")).await;
            let token = app.activate_member(&admin, &card, "member password").await["access_token"].as_str().unwrap().to_owned();
            tokens.push(token);
        }
        let devices: Vec<String> = (0..30).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let mut owner: BTreeMap<usize, usize> = BTreeMap::new();
        let mut documents = 0;
        // Imports recount the committees they touch; the last 800 operations are deltas only, so that a delta
        // that drifts cannot be repaired by a later recount. Two members get half the registrations, so that they
        // pass the device cap (5) and have devices retired; devices acknowledge the feed as new documents come.
        for step in 0..2000 {
            let op = if step >= 1200 { random.below(10) } else { random.below(12) };
            match op {
                0..=4 => {
                    let device = random.below(devices.len());
                    let member = if random.below(2) == 0 { random.below(2) } else { random.below(tokens.len()) };
                    let status = register(&app, &tokens[member], &devices[device]).await;
                    assert!(status < 500, "register answered {status}");
                    if status < 300 {
                        owner.insert(device, member);
                    }
                }
                5..=6 => {
                    let device = random.below(devices.len());
                    if let Some(member) = owner.remove(&device) {
                        let path = format!("/api/v1/installations/{}", devices[device]);
                        let answer = app.with_bearer(&tokens[member], TestRequest::delete().uri(&path)).await;
                        // 404: retired meanwhile by the device cap.
                        assert!(answer.status.as_u16() < 500, "{}", answer.text());
                    }
                }
                7..=8 => {
                    let device = random.below(devices.len());
                    if let Some(member) = owner.get(&device) {
                        acknowledge(&app, &tokens[*member], &devices[device]).await;
                    }
                }
                9 => {
                    let audience = match random.below(4) {
                        0 => json!({"all": true}),
                        n => json!({"committees": [committees[n - 1]]}),
                    };
                    documents += 1;
                    let body = json!({"title": format!("Văn bản {documents}"), "kind": "thong_bao", "section": "", "body": "x", "audience": audience});
                    let id = app.post_as(&admin, "/api/v1/admin/documents", &body).await.json()["id"].as_str().unwrap().to_owned();
                    assert_eq!(app.post_as(&admin, &format!("/api/v1/admin/documents/{id}/publish"), &json!({})).await.status, 200);
                }
                _ => {
                    let card = rows.keys().nth(random.below(rows.len())).unwrap().clone();
                    let row = rows.get_mut(&card).unwrap();
                    match random.below(4) {
                        0 => row[0] = committees[random.below(3)].to_owned(),
                        1 => row[1] = format!("Đơn vị {}", random.below(3)),
                        2 => row[2] = format!("Chi bộ {}", random.below(3)),
                        _ => row[3] = statuses[random.below(5)].to_owned(),
                    }
                    let [c, u, cell, s] = row.clone();
                    app.import(&admin, &format!("card_number,full_name,committee_code,unit,cell,status\n{card},X,{c},{u},{cell},{s}\n")).await;
                }
            }
        }
        // Every device catches up at the end: members with several up-to-date devices must still count once.
        for (device, member) in &owner {
            acknowledge(&app, &tokens[*member], &devices[*device]).await;
        }
        let most = app.count("SELECT CAST(COALESCE(MAX(n), 0) AS BIGINT) AS n FROM (SELECT COUNT(*) AS n FROM installations WHERE deleted_at IS NULL GROUP BY subject) AS per_member").await;
        assert!(most <= 5, "a member has {most} live devices");
        let retired = app.count("SELECT count(*) AS n FROM installations WHERE deleted_at IS NOT NULL").await;
        assert!(retired > 0 && documents > 0, "the operations retired devices and published documents");
        // What delivery counts by (`sync::delivery`): each live device of a reader carries its member's committee.
        let stale = app.count("SELECT count(*) AS n FROM installations i LEFT JOIN members m ON m.id = i.member_id
            WHERE COALESCE(i.reader_committee, '') <> COALESCE(CASE WHEN i.deleted_at IS NULL AND m.status <> 'left'
                THEN m.committee_code END, '')").await;
        assert_eq!(stale, 0, "reader_committee drifted from the members and their devices");
        let (counters, recount) = app
            .db()
            .run(|conn| {
                use diesel::prelude::*;
                use handbook::db::schema::coverage_counts as cc;
                let now = handbook::time::now();
                handbook::coverage::counters::refresh_moving(conn, now)?;
                let stored: Vec<StoredCounts> = cc::table
                    .select((cc::committee_code, cc::unit, cc::cell, cc::eligible, cc::activated, cc::installed, cc::active_30d, cc::devices))
                    .load(conn)?;
                let cells = handbook::coverage::counters::full_count(conn, now)?;
                Ok((stored, cells))
            })
            .await
            .unwrap();
        assert!(up_to_date_against_a_recount(&app).await.values().sum::<i64>() > 0, "some members are up to date");
        let (actual, expected) = stored_and_recounted(counters, &recount);
        assert!(expected.values().map(|c| c[2]).sum::<i64>() > 0, "the operations installed something");
        assert!(expected.values().map(|c| c[4]).sum::<i64>() > 0, "the operations left devices to count");
        assert_eq!(actual, expected, "the counters drifted from a full recount");
    }
}

/// Compares the stored `up_to_date` counters with a recount of members (and each with its row's `installed`);
/// answers each committee's total (committees with none left out).
pub(crate) async fn up_to_date_against_a_recount(app: &TestApp) -> BTreeMap<String, i64> {
    let (stored_up_to_date, members_up_to_date) = app
        .db()
        .run(|conn| {
            use diesel::prelude::*;
            use handbook::db::schema::coverage_counts as cc;
            let stored: Vec<(String, String, String, i64, i64)> =
                cc::table.select((cc::committee_code, cc::unit, cc::cell, cc::installed, cc::up_to_date)).load(conn)?;
            Ok((stored, diesel::sql_query(UP_TO_DATE_RECOUNT).load::<UpToDate>(conn)?))
        })
        .await
        .unwrap();
    let mut expected_up_to_date: BTreeMap<(String, String, String), i64> = BTreeMap::new();
    for c in &members_up_to_date {
        for key in [
            (c.committee_code.clone(), String::new(), String::new()),
            (c.committee_code.clone(), c.unit.clone(), String::new()),
            (c.committee_code.clone(), c.unit.clone(), c.cell.clone()),
        ] {
            *expected_up_to_date.entry(key).or_default() += c.n;
        }
    }
    for (committee, unit, cell, installed, up_to_date) in &stored_up_to_date {
        assert!(up_to_date <= installed, "{committee}/{unit}/{cell}: up_to_date {up_to_date} > installed {installed}");
    }
    let actual_up_to_date: BTreeMap<(String, String, String), i64> =
        stored_up_to_date.into_iter().filter(|row| row.4 != 0).map(|(c, u, cell, _, n)| ((c, u, cell), n)).collect();
    assert_eq!(actual_up_to_date, expected_up_to_date, "up_to_date drifted from a recount of members");
    expected_up_to_date
        .into_iter()
        .filter(|((_, unit, _), _)| unit.is_empty())
        .map(|((code, _, _), n)| (code, n))
        .collect()
}

/// A counter row as stored: committee, unit, cell, eligible, activated, installed, active_30d, devices.
pub(crate) type StoredCounts = (String, String, String, i64, i64, i64, i64, i64);

/// A cell's key (committee, unit, cell; blank unit and cell for committee and unit totals) and its
/// eligible/activated/installed/active_30d/devices counts.
pub(crate) type Counts = BTreeMap<(String, String, String), [i64; 5]>;

/// The stored counters and the recount's cells summed up to units and committees, both without all-zero rows.
pub(crate) fn stored_and_recounted(
    stored: Vec<StoredCounts>,
    recount: &[handbook::coverage::counters::Recounted],
) -> (Counts, Counts) {
    let mut expected = Counts::new();
    for c in recount {
        let committee = c.committee_code.clone();
        for key in [
            (committee.clone(), String::new(), String::new()),
            (committee.clone(), c.unit.clone(), String::new()),
            (committee.clone(), c.unit.clone(), c.cell.clone()),
        ] {
            let sum = expected.entry(key).or_default();
            for (s, n) in sum.iter_mut().zip([c.eligible, c.activated, c.installed, c.active_30d, c.devices]) {
                *s += n;
            }
        }
    }
    expected.retain(|_, counts| counts != &[0; 5]);
    let actual = stored
        .into_iter()
        .map(|(c, u, cell, e, a, i, act, d)| ((c, u, cell), [e, a, i, act, d]))
        .filter(|(_, counts)| counts != &[0; 5])
        .collect();
    (actual, expected)
}

/// Eligible members with a live device that acknowledged the newest position relevant to their committee, per cell.
const UP_TO_DATE_RECOUNT: &str = "SELECT m.committee_code, m.unit, m.cell, CAST(COUNT(*) AS BIGINT) AS n FROM members m
    WHERE m.status = 'eligible' AND EXISTS (SELECT 1 FROM installations i WHERE i.member_id = m.id AND i.deleted_at IS NULL
        AND i.acked_seq >= COALESCE((SELECT MAX(d.feed_seq) FROM documents d JOIN document_reach r ON r.document_id = d.id
            WHERE r.committee_code = m.committee_code OR r.committee_code = '*'), 0))
    GROUP BY m.committee_code, m.unit, m.cell";

#[derive(diesel::QueryableByName)]
struct UpToDate {
    #[diesel(sql_type = diesel::sql_types::Text)]
    committee_code: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    unit: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    cell: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Syncs the device from scratch and acknowledges the cursor, unless the device was retired meanwhile or its member
/// left (404).
async fn acknowledge(app: &TestApp, token: &str, installation: &str) {
    let request = TestRequest::get().uri("/api/v1/sync?limit=1000").insert_header(("X-Installation-Id", installation));
    let page = app.with_bearer(token, request).await;
    assert!(page.status.as_u16() < 500, "{}", page.text());
    if page.status != 200 {
        return;
    }
    let ack = json!({"installation_id": installation, "cursor": page.json()["cursor"]});
    assert_eq!(app.post_as(token, "/api/v1/sync/ack", &ack).await.status, 204);
}

/// A small deterministic generator for the random operations.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

both_backends! {
    async fn the_demo_devices_tell_a_campaign_story(app: TestApp) {
        let now = handbook::time::now();
        let (devices, again) = app
            .db()
            .run(move |conn| {
                handbook::org::demo::load(conn, 4_000, 11)?;
                let devices = handbook::sync::demo::load(conn, 11, now)?;
                // A second run replaces its own devices and history rather than adding to them.
                Ok((devices, handbook::sync::demo::load(conn, 11, now)?))
            })
            .await
            .unwrap();
        assert_eq!(devices, again, "the demo devices are deterministic for a seed");
        assert_eq!(devices.eligible, 4_000);
        let share = devices.installed as f64 / devices.eligible as f64;
        assert!((0.8..=0.95).contains(&share), "the city lands near 90%: {share}");
        assert!(devices.activated >= devices.installed);
        assert_eq!(app.count("SELECT count(*) AS n FROM installations").await, devices.installed as i64);
        assert_eq!(app.count("SELECT count(*) AS n FROM installations WHERE platform NOT IN ('android', 'ios')").await, 0);
        assert_eq!(
            app.count("SELECT count(*) AS n FROM installations i JOIN members m ON m.id = i.member_id WHERE m.activated_at IS NULL OR m.activated_at > i.first_seen_at OR i.last_seen_at < i.first_seen_at").await,
            0,
            "a device's member was activated before it, and it was last seen after it was first seen"
        );
        let (counters, recount, history) = app
            .db()
            .run(move |conn| {
                use diesel::prelude::*;
                use handbook::db::schema::{coverage_counts as cc, coverage_history as ch};
                let stored: Vec<StoredCounts> = cc::table
                    .select((cc::committee_code, cc::unit, cc::cell, cc::eligible, cc::activated, cc::installed, cc::active_30d, cc::devices))
                    .load(conn)?;
                let cells = handbook::coverage::counters::full_count(conn, now)?;
                let history: Vec<(String, chrono::NaiveDate, i64, i64, i64)> = ch::table
                    .select((ch::committee_code, ch::day, ch::eligible, ch::activated, ch::installed))
                    .order((ch::committee_code, ch::day))
                    .load(conn)?;
                Ok((stored, cells, history))
            })
            .await
            .unwrap();
        let (actual, expected) = stored_and_recounted(counters, &recount);
        assert_eq!(actual, expected, "the counters equal a full recount");
        // Committees ahead and behind: among those large enough to tell, the shares differ.
        let shares: Vec<f64> = expected
            .iter()
            .filter(|((_, unit, _), counts)| unit.is_empty() && counts[0] >= 100)
            .map(|(_, counts)| counts[2] as f64 / counts[0] as f64)
            .collect();
        let (low, high) = shares.iter().fold((1.0f64, 0.0f64), |(l, h), s| (l.min(*s), h.max(*s)));
        assert!(shares.len() >= 10 && high - low >= 0.05, "committees ahead and behind: {low}..{high}");
        // Sixty days per committee, rising, ending at today's counters.
        let mut per_committee: BTreeMap<&str, Vec<(chrono::NaiveDate, i64, i64, i64)>> = BTreeMap::new();
        for (code, day, eligible, activated, installed) in &history {
            per_committee.entry(code.as_str()).or_default().push((*day, *eligible, *activated, *installed));
        }
        assert_eq!(per_committee.len(), 48);
        for (code, days) in &per_committee {
            assert_eq!(days.len(), 60, "{code}: 60 days of history");
            assert_eq!(days.last().unwrap().0, now.date());
            for pair in days.windows(2) {
                assert_eq!(pair[1].0, pair[0].0.succ_opt().unwrap(), "{code}: consecutive days");
                assert!(pair[1].2 >= pair[0].2 && pair[1].3 >= pair[0].3, "{code}: the history never falls");
            }
            let today = expected[&(code.to_string(), String::new(), String::new())];
            let last = days.last().unwrap();
            assert_eq!([last.1, last.2, last.3], [today[0], today[1], today[2]], "{code}: today's history is today's counters");
        }
        let city_first: i64 = per_committee.values().map(|d| d[0].3).sum();
        let city_last: i64 = per_committee.values().map(|d| d[59].3).sum();
        assert!(city_first * 4 < city_last, "installs rose over the campaign: {city_first} then {city_last}");
    }
}
