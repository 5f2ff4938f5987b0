//! Meeting statistics on both backends: the sums of the meetings rows' counters equal a recount over
//! `meeting_invitees` and the members after random meetings, answers and attendance; the period rules (held = not
//! cancelled, within [from, to), started); the scope (officer: own committee, another 404; admin: city and any
//! committee; member 403); the follow-up list of cells without a held meeting (JSON paged, CSV).
//!
//! Meetings and invitees are written straight into the database here, with counters consistent with the invitees
//! as the meetings store keeps them.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDateTime, Timelike};
use diesel::prelude::*;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use crate::harness::TestApp;
use handbook::db::schema::{meeting_invitees as mi, meetings as m, members};

const UNITS: [(&str, &str, &[&str]); 3] = [
    ("HK", "Phường Hàng Bạc", &["Chi bộ 1", "Chi bộ 2", "Chi bộ 3"]),
    ("HK", "Phường Hàng Đào", &["Chi bộ 1", "Chi bộ 2"]),
    ("BD", "Phường Kim Mã", &["Chi bộ 1", "Chi bộ 2"]),
];

/// Five members per cell; in HK/Hàng Đào/Chi bộ 2 nobody is eligible (exempt and left only), so it is no cell of the
/// statistics although it may hold meetings.
fn members_csv() -> String {
    let mut csv = String::from("card_number,full_name,committee_code,unit,cell,status\n");
    let mut card = 200_000_000;
    for (committee, unit, cells) in UNITS {
        for cell in cells {
            for i in 0..5 {
                card += 1;
                let status = match (unit, *cell, i) {
                    ("Phường Hàng Đào", "Chi bộ 2", 0..=2) => "exempt",
                    ("Phường Hàng Đào", "Chi bộ 2", _) => "left",
                    (_, _, 3) => "exempt",
                    (_, _, 4) if card % 2 == 0 => "left",
                    _ => "eligible",
                };
                csv.push_str(&format!("{card},Đảng viên {card},{committee},{unit},{cell},{status}\n"));
            }
        }
    }
    csv
}

struct Cast {
    admin: String,
    officer_hk: String,
    officer_bd: String,
    member: String,
}

async fn cast(app: &TestApp) -> Cast {
    let admin = app.imported_organisation().await;
    app.import(&admin, &members_csv()).await;
    let officer_hk = app.staff_token("officer.hk", "officer", Some("HK")).await;
    let officer_bd = app.staff_token("officer.bd", "officer", Some("BD")).await;
    let tokens = app.activate_member(&admin, "100000001", "member password").await;
    let member = tokens["access_token"].as_str().unwrap().to_owned();
    Cast { admin, officer_hk, officer_bd, member }
}

/// Now, in whole seconds: the periods are sent in whole seconds, and stored times must fall on the same side of them.
fn now() -> NaiveDateTime {
    chrono::Utc::now().naive_utc().with_nanosecond(0).unwrap()
}

fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One meeting to write.
struct NewMeeting<'a> {
    id: String,
    committee: &'a str,
    unit: &'a str,
    cell: &'a str,
    starts_at: NaiveDateTime,
    cancelled: bool,
}

/// Writes the meeting with its invitees (the cell's eligible and exempt members), each with an answer and (if it
/// has started) an attendance drawn by `pick`, and counters that agree with them.
async fn write_meeting(app: &TestApp, meeting: NewMeeting<'_>, seed: u64) {
    let (id, committee, unit, cell) =
        (meeting.id.clone(), meeting.committee.to_owned(), meeting.unit.to_owned(), meeting.cell.to_owned());
    let (starts_at, cancelled) = (meeting.starts_at, meeting.cancelled);
    app.db()
        .run(move |conn| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let invitees: Vec<i64> = members::table
                .filter(members::committee_code.eq(&committee))
                .filter(members::unit.eq(&unit))
                .filter(members::cell.eq(&cell))
                .filter(members::status.eq_any(["eligible", "exempt"]))
                .select(members::id)
                .load(conn)?;
            let at = starts_at - Duration::days(3);
            let status = if cancelled { "cancelled" } else { "scheduled" };
            diesel::insert_into(m::table)
                .values((
                    m::id.eq(&id),
                    m::committee_code.eq(&committee),
                    m::unit.eq(&unit),
                    m::cell.eq(&cell),
                    m::title.eq("Sinh hoạt chi bộ định kỳ"),
                    m::starts_at.eq(starts_at),
                    m::ends_at.eq(None::<NaiveDateTime>),
                    m::location.eq("Hội trường"),
                    m::agenda.eq("1. Thông tin thời sự"),
                    m::status.eq(status),
                    m::created_by.eq("staff:1"),
                    m::created_at.eq(at),
                    m::updated_at.eq(at),
                ))
                .execute(conn)?;
            let (mut answered, mut present) = (0i64, 0i64);
            for member in &invitees {
                let rsvp = [None, Some("attend"), Some("attend"), Some("absent")][rng.gen_range(0..4)];
                let attendance = if starts_at <= now() {
                    [None, Some("present"), Some("present"), Some("excused"), Some("absent")][rng.gen_range(0..5)]
                } else {
                    None
                };
                answered += i64::from(rsvp.is_some());
                present += i64::from(attendance == Some("present"));
                diesel::insert_into(mi::table)
                    .values((
                        mi::meeting_id.eq(&id),
                        mi::member_id.eq(member),
                        mi::invited_at.eq(at),
                        mi::rsvp.eq(rsvp),
                        mi::rsvp_at.eq(rsvp.map(|_| at)),
                        mi::attendance.eq(attendance),
                        mi::attendance_at.eq(attendance.map(|_| starts_at)),
                    ))
                    .execute(conn)?;
            }
            diesel::update(m::table.find(&id))
                .set((m::invited.eq(invitees.len() as i64), m::answered.eq(answered), m::present.eq(present)))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
}

/// Meeting, member, answer, attendance, and when the meeting starts.
type InviteeRow = (String, i64, Option<String>, Option<String>, NaiveDateTime);

/// Changes some answers and attendances at random, moving the counters as the store does.
async fn change_answers(app: &TestApp, seed: u64) {
    app.db()
        .run(move |conn| {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let rows: Vec<InviteeRow> = mi::table
                .inner_join(m::table)
                .select((mi::meeting_id, mi::member_id, mi::rsvp, mi::attendance, m::starts_at))
                .load(conn)?;
            for (meeting, member, rsvp, attendance, starts_at) in rows {
                if !rng.gen_bool(0.3) {
                    continue;
                }
                let new_rsvp = [None, Some("attend"), Some("absent")][rng.gen_range(0..3)];
                let new_attendance = if starts_at <= now() {
                    [None, Some("present"), Some("excused"), Some("absent")][rng.gen_range(0..4)]
                } else {
                    None
                };
                let answered = i64::from(new_rsvp.is_some()) - i64::from(rsvp.is_some());
                let present =
                    i64::from(new_attendance == Some("present")) - i64::from(attendance.as_deref() == Some("present"));
                diesel::update(mi::table.find((&meeting, member)))
                    .set((mi::rsvp.eq(new_rsvp), mi::attendance.eq(new_attendance)))
                    .execute(conn)?;
                diesel::update(m::table.find(&meeting))
                    .set((m::answered.eq(m::answered + answered), m::present.eq(m::present + present)))
                    .execute(conn)?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

/// Counts per (committee, unit, cell): [meetings_held, cell (0/1), cell without meeting (0/1), invited, answered,
/// present], recounted from the members, the meetings and every invitee.
type Recount = BTreeMap<(String, String, String), [i64; 6]>;

async fn recount(app: &TestApp, from: NaiveDateTime, to: NaiveDateTime) -> Recount {
    let now = now();
    app.db()
        .run(move |conn| {
            let people: Vec<(String, String, String, String)> = members::table
                .select((members::committee_code, members::unit, members::cell, members::status))
                .load(conn)?;
            let meetings: Vec<(String, String, String, String, String, NaiveDateTime)> =
                m::table.select((m::id, m::committee_code, m::unit, m::cell, m::status, m::starts_at)).load(conn)?;
            let invitees: Vec<(String, Option<String>, Option<String>)> =
                mi::table.select((mi::meeting_id, mi::rsvp, mi::attendance)).load(conn)?;
            let mut counts: Recount = BTreeMap::new();
            for (committee, unit, cell, status) in people {
                if status == "eligible" {
                    counts.entry((committee, unit, cell)).or_default()[1] = 1;
                }
            }
            for (id, committee, unit, cell, status, starts_at) in meetings {
                if status != "scheduled" || starts_at < from || starts_at >= to || starts_at > now {
                    continue;
                }
                let row = counts.entry((committee, unit, cell)).or_default();
                row[0] += 1;
                for (_, rsvp, attendance) in invitees.iter().filter(|(meeting, _, _)| *meeting == id) {
                    row[3] += 1;
                    row[4] += i64::from(rsvp.is_some());
                    row[5] += i64::from(attendance.as_deref() == Some("present"));
                }
            }
            for row in counts.values_mut() {
                row[2] = i64::from(row[1] == 1 && row[0] == 0);
            }
            Ok(counts)
        })
        .await
        .unwrap()
}

fn sum<'a>(rows: impl Iterator<Item = &'a [i64; 6]>) -> [i64; 6] {
    rows.fold([0; 6], |mut total, row| {
        for (t, n) in total.iter_mut().zip(row) {
            *t += n;
        }
        total
    })
}

/// The counts of one row of the answer, in the recount's order; checks the rate on the way.
fn counts_of(row: &Value) -> [i64; 6] {
    let n = |field: &str| row[field].as_i64().unwrap_or_else(|| panic!("{field} in {row}"));
    let (invited, present) = (n("invited"), n("present"));
    let rate = if invited > 0 { present as f64 / invited as f64 } else { 0.0 };
    assert!((row["attendance_rate"].as_f64().unwrap() - rate).abs() < 0.0001, "{row}");
    [n("meetings_held"), n("cells"), n("cells_without_meeting"), invited, n("rsvp_answered"), present]
}

async fn get(app: &TestApp, token: &str, path: &str) -> Value {
    let answer = app.get_as(token, path).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.text());
    answer.json()
}

/// The city view, and each committee's view per unit and cell, equal the recount.
async fn assert_stats_match(app: &TestApp, admin: &str, from: NaiveDateTime, to: NaiveDateTime, context: &str) {
    let expected = recount(app, from, to).await;
    let query = format!("from={}&to={}", rfc3339(from), rfc3339(to));
    let city = get(app, admin, &format!("/api/v1/meetings/stats?{query}")).await;
    assert_eq!((city["from"].as_str(), city["to"].as_str()), (Some(&*rfc3339(from)), Some(&*rfc3339(to))));
    assert_eq!((&city["units"], &city["cells"]), (&serde_json::json!([]), &serde_json::json!([])), "{context}");
    let mut codes = Vec::new();
    for committee in city["committees"].as_array().unwrap() {
        let code = committee["code"].as_str().unwrap();
        codes.push(code.to_owned());
        let of = sum(expected.iter().filter(|(key, _)| key.0 == code).map(|(_, row)| row));
        assert_eq!(counts_of(committee), of, "{context}: {code} in {city}");

        let view = get(app, admin, &format!("/api/v1/meetings/stats?committee={code}&{query}")).await;
        assert_eq!(counts_of(&view["committees"][0]), of, "{context}: {code}");
        assert_eq!(counts_of(&view["totals"]), of, "{context}: {code}");
        for unit in view["units"].as_array().unwrap() {
            let name = unit["unit"].as_str().unwrap();
            let of_unit = sum(expected.iter().filter(|(k, _)| k.0 == code && k.1 == name).map(|(_, row)| row));
            assert_eq!(counts_of(unit), of_unit, "{context}: {code}/{name}");
        }
        let mut seen: Recount = BTreeMap::new();
        for cell in view["cells"].as_array().unwrap() {
            let key =
                (code.to_owned(), cell["unit"].as_str().unwrap().to_owned(), cell["cell"].as_str().unwrap().to_owned());
            assert!(seen.insert(key, counts_of(cell)).is_none(), "{context}: {cell} twice");
        }
        let listed: Recount = expected
            .iter()
            .filter(|(k, row)| k.0 == code && row.iter().any(|n| *n != 0))
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        assert_eq!(seen, listed, "{context}: the cells of {code}");
    }
    assert_eq!(codes, ["BD", "HK"], "{context}");
    assert_eq!(counts_of(&city["totals"]), sum(expected.values()), "{context}");
}

fn cells() -> Vec<(&'static str, &'static str, &'static str)> {
    UNITS.iter().flat_map(|(committee, unit, cells)| cells.iter().map(move |cell| (*committee, *unit, *cell))).collect()
}

both_backends! {
    async fn the_statistics_equal_a_recount_after_random_meetings_answers_and_attendance(app: TestApp) {
        let cast = cast(&app).await;
        let seed: u64 = std::env::var("MEETING_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| rand::thread_rng().gen());
        eprintln!("MEETING_SEED={seed}");
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let now = now();
        let cells = cells();
        for n in 0..40 {
            let (committee, unit, cell) = cells[rng.gen_range(0..cells.len())];
            // Whole hours from 70 days ago to 20 days ahead, never within the hour around now.
            let mut hours = rng.gen_range(-70 * 24..20 * 24);
            if hours == 0 {
                hours = -1;
            }
            let meeting = NewMeeting {
                id: format!("m-{n}"),
                committee,
                unit,
                cell,
                starts_at: now + Duration::hours(hours),
                cancelled: rng.gen_bool(0.15),
            };
            write_meeting(&app, meeting, rng.gen()).await;
        }
        let periods = [
            (now - Duration::days(30), now + Duration::days(30)),
            (now - Duration::days(75), now - Duration::days(20)),
            (now - Duration::days(10), now - Duration::days(9)),
        ];
        for (from, to) in periods {
            assert_stats_match(&app, &cast.admin, from, to, "after the meetings").await;
        }
        change_answers(&app, rng.gen()).await;
        for (from, to) in periods {
            assert_stats_match(&app, &cast.admin, from, to, "after changed answers").await;
        }

        // The officer sees its committee by default, as the admin sees it with ?committee=.
        let (from, to) = periods[0];
        let query = format!("from={}&to={}", rfc3339(from), rfc3339(to));
        let mut own = get(&app, &cast.officer_hk, &format!("/api/v1/meetings/stats?{query}")).await;
        let mut admins = get(&app, &cast.admin, &format!("/api/v1/meetings/stats?committee=HK&{query}")).await;
        own["as_of"] = Value::Null;
        admins["as_of"] = Value::Null;
        assert_eq!(own, admins);
    }

    async fn a_meeting_counts_when_held_within_the_period(app: TestApp) {
        let cast = cast(&app).await;
        let now = now();
        let from = now - Duration::days(20);
        let to = now - Duration::days(5);
        let at = |id: &str, starts_at: NaiveDateTime, cancelled: bool| NewMeeting {
            id: id.to_owned(), committee: "BD", unit: "Phường Kim Mã", cell: "Chi bộ 1", starts_at, cancelled,
        };
        write_meeting(&app, at("at-from", from, false), 1).await;
        write_meeting(&app, at("at-to", to, false), 2).await;
        write_meeting(&app, at("before", from - Duration::seconds(1), false), 3).await;
        write_meeting(&app, at("cancelled", now - Duration::days(10), true), 4).await;
        write_meeting(&app, at("to-come", now + Duration::days(2), false), 5).await;
        let held = |stats: &Value| stats["cells"][0]["meetings_held"].as_i64();
        let query = format!("committee=BD&from={}&to={}", rfc3339(from), rfc3339(to));
        let stats = get(&app, &cast.officer_bd, &format!("/api/v1/meetings/stats?{query}")).await;
        let cell = &stats["cells"][0];
        assert_eq!(cell["cell"], "Chi bộ 1");
        // Only the meeting at `from`: `to` is excluded, the one before is out, the cancelled one was not held.
        assert_eq!(held(&stats), Some(1), "{stats}");
        assert_eq!(cell["cells_without_meeting"], 0, "{stats}");
        assert_eq!(stats["committees"][0]["cells"], 2, "{stats}");
        assert_eq!(stats["committees"][0]["cells_without_meeting"], 1, "{stats}");
        assert_stats_match(&app, &cast.admin, from, to, "a past period").await;
        // Up to 10 days ahead: the meeting at the old `to` too, but not the one still to come.
        let ahead = now + Duration::days(10);
        let query = format!("committee=BD&from={}&to={}", rfc3339(from), rfc3339(ahead));
        let stats = get(&app, &cast.officer_bd, &format!("/api/v1/meetings/stats?{query}")).await;
        assert_eq!(held(&stats), Some(2), "{stats}");
        assert_stats_match(&app, &cast.admin, from, ahead, "a period reaching ahead").await;

        // Dates are days in Hanoi; the default is the current month there.
        let month = get(&app, &cast.officer_bd, "/api/v1/meetings/stats").await;
        let hanoi = now + Duration::hours(7);
        let first = hanoi.date().with_day(1).unwrap();
        assert_eq!(month["from"], rfc3339(first.and_hms_opt(0, 0, 0).unwrap() - Duration::hours(7)), "{month}");
        let days = get(&app, &cast.officer_bd, "/api/v1/meetings/stats?from=2026-11-01&to=2026-12-01").await;
        assert_eq!((days["from"].as_str(), days["to"].as_str()), (Some("2026-10-31T17:00:00Z"), Some("2026-11-30T17:00:00Z")));

        // Bad periods: 422 naming the field.
        for (query, fields) in [
            ("from=01/11/2026", vec!["from"]),
            ("from=x&to=y", vec!["from", "to"]),
            ("from=2026-11-02&to=2026-11-01", vec!["to"]),
        ] {
            let answer = app.get_as(&cast.admin, &format!("/api/v1/meetings/stats?{query}")).await;
            assert_eq!(answer.status, 422, "{query}: {}", answer.text());
            let named: Vec<String> = answer.json()["errors"].as_array().unwrap().iter()
                .map(|e| e["field"].as_str().unwrap().to_owned()).collect();
            assert_eq!(named, fields, "{query}");
        }
        assert_eq!(app.get_as(&cast.admin, "/api/v1/meetings/stats?unknown=1").await.status, 400);
    }

    async fn each_caller_sees_its_scope(app: TestApp) {
        let cast = cast(&app).await;
        let own = get(&app, &cast.officer_hk, "/api/v1/meetings/stats").await;
        let codes: Vec<&str> = own["committees"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
        assert_eq!(codes, ["HK"]);
        let units: Vec<&str> = own["units"].as_array().unwrap().iter().map(|u| u["unit"].as_str().unwrap()).collect();
        assert_eq!(units, ["Phường Hàng Bạc", "Phường Hàng Đào"], "{own}");
        assert_eq!(own["committees"][0]["cells"], 4, "{own}");
        for path in ["/api/v1/meetings/stats?committee=BD", "/api/v1/meetings/stats/cells-without?committee=BD"] {
            assert_eq!(app.get_as(&cast.officer_hk, path).await.status, 404, "{path}");
        }
        for path in ["/api/v1/meetings/stats?committee=XX", "/api/v1/meetings/stats/cells-without?committee=XX"] {
            assert_eq!(app.get_as(&cast.admin, path).await.status, 404, "{path}");
        }
        for path in ["/api/v1/meetings/stats", "/api/v1/meetings/stats/cells-without"] {
            assert_eq!(app.get_as(&cast.member, path).await.status, 403, "{path}");
            assert_eq!(app.get(path).await.status, 401, "{path}");
        }
        let city = get(&app, &cast.admin, "/api/v1/meetings/stats").await;
        assert_eq!(city["committees"].as_array().unwrap().len(), 2, "{city}");
        // The cells with eligible members: HK 4 (Hàng Đào's Chi bộ 2 has none), BD 2.
        assert_eq!(city["totals"]["cells"], 6, "{city}");
        assert_eq!(city["totals"]["cells_without_meeting"], 6, "{city}");
        let bd = get(&app, &cast.admin, "/api/v1/meetings/stats?committee=BD").await;
        assert_eq!(bd["committees"][0]["cells"], 2, "{bd}");
    }

    async fn the_cells_without_a_meeting_are_listed_paged_and_as_csv(app: TestApp) {
        let cast = cast(&app).await;
        let now = now();
        // Chi bộ 1 of Kim Mã held one this month and one before; Chi bộ 2 held one before and has one to come.
        let meeting = |id: &str, cell: &'static str, starts_at: NaiveDateTime| NewMeeting {
            id: id.to_owned(), committee: "BD", unit: "Phường Kim Mã", cell, starts_at, cancelled: false,
        };
        let from = now - Duration::days(10);
        let to = now + Duration::days(10);
        let before = (now - Duration::days(40)).with_nanosecond(0).unwrap();
        let to_come = (now + Duration::days(3)).with_nanosecond(0).unwrap();
        write_meeting(&app, meeting("held", "Chi bộ 1", now - Duration::days(1)), 1).await;
        write_meeting(&app, meeting("earlier-1", "Chi bộ 1", before), 2).await;
        write_meeting(&app, meeting("earlier-2", "Chi bộ 2", before), 3).await;
        write_meeting(&app, meeting("to-come", "Chi bộ 2", to_come), 4).await;
        // The first member of Kim Mã / Chi bộ 2 is its secretary.
        app.db().run(|conn| {
            diesel::update(members::table.filter(members::card_number.eq("200000031")))
                .set(members::position.eq(Some("secretary")))
                .execute(conn)?;
            Ok(())
        }).await.unwrap();
        let query = format!("from={}&to={}", rfc3339(from), rfc3339(to));

        let list = get(&app, &cast.officer_bd, &format!("/api/v1/meetings/stats/cells-without?{query}")).await;
        let items = list["items"].as_array().unwrap();
        let keys: Vec<(&str, &str)> = items.iter().map(|c| (c["unit"].as_str().unwrap(), c["cell"].as_str().unwrap())).collect();
        assert_eq!(keys, [("Phường Kim Mã", "Chi bộ 2")], "{list}");
        let row = &items[0];
        assert_eq!(row["committee_code"], "BD");
        assert_eq!(row["committee_name"], "Đảng bộ BD");
        assert_eq!(row["secretary"], "Đảng viên 200000031", "{row}");
        assert_eq!(row["last_meeting_at"], rfc3339(before), "{row}");
        assert_eq!(row["next_meeting_at"], rfc3339(to_come), "{row}");
        assert!(row["eligible"].as_i64().unwrap() >= 3, "{row}");
        assert_eq!(list["next"], Value::Null);

        // The admin's city list, one cell a page, in committee, unit and cell order.
        let mut all = Vec::new();
        let mut after = String::new();
        loop {
            let page = get(&app, &cast.admin, &format!("/api/v1/meetings/stats/cells-without?{query}&limit=1{after}")).await;
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 1);
            all.extend(items.iter().map(|c| format!("{}/{}/{}", c["committee_code"].as_str().unwrap(),
                c["unit"].as_str().unwrap(), c["cell"].as_str().unwrap())));
            match page["next"].as_str() {
                Some(next) => after = format!("&after={next}"),
                None => break,
            }
        }
        assert_eq!(all, [
            "BD/Phường Kim Mã/Chi bộ 2",
            "HK/Phường Hàng Bạc/Chi bộ 1",
            "HK/Phường Hàng Bạc/Chi bộ 2",
            "HK/Phường Hàng Bạc/Chi bộ 3",
            "HK/Phường Hàng Đào/Chi bộ 1",
            "HK/Phường Hàng Đào/Chi bộ 2",
        ].into_iter().filter(|key| *key != "HK/Phường Hàng Đào/Chi bộ 2").map(str::to_owned).collect::<Vec<_>>());

        // The CSV: the whole list, times in Hanoi.
        let csv = app.get_as(&cast.officer_bd, &format!("/api/v1/meetings/stats/cells-without?{query}&format=csv&limit=1")).await;
        assert_eq!(csv.status, 200, "{}", csv.text());
        assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
        assert!(csv.header("content-disposition").unwrap().contains("chua-sinh-hoat-BD.csv"));
        let text = csv.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "committee_code,committee_name,unit,cell,eligible,secretary,last_meeting_at,next_meeting_at");
        let last = (before + Duration::hours(7)).format("%Y-%m-%d %H:%M").to_string();
        let next = (to_come + Duration::hours(7)).format("%Y-%m-%d %H:%M").to_string();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[1].starts_with("BD,Đảng bộ BD,Phường Kim Mã,Chi bộ 2,"), "{text}");
        assert!(lines[1].ends_with(&format!(",Đảng viên 200000031,{last},{next}")), "{text}");
        let bad = app.get_as(&cast.admin, "/api/v1/meetings/stats/cells-without?format=xls").await;
        assert_eq!(bad.status, 422);
    }
}
