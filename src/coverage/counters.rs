//! Coverage counters per committee, unit and cell, so that reports cost O(committees), never O(members).
//!
//! `eligible`, `activated` and `installed` are moved by deltas in the same transaction as every change that moves
//! them: `track` reads a member's contribution before and after a change and applies the difference to its cell,
//! unit and committee rows. Imports, which touch many members at once, recount the committees they touched.
//! `active_30d` and `up_to_date` move with time and with the feed rather than with writes: a periodic job
//! (`refresh_moving`, every 10 minutes in `serve`, and before every daily snapshot) recomputes them.
//! `devices` (live installations of members who may read documents: eligible or exempt) moves with the first three:
//! it is what an audience of documents reaches (`report::reach`).

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use crate::db::schema::{coverage_counts as cc, installations as inst, members};
use crate::db::DbConnection;
use crate::org::members::MemberStatus;

/// What one member adds to its cell's counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    pub committee: String,
    pub unit: String,
    pub cell: String,
    pub eligible: bool,
    pub activated: bool,
    pub installed: bool,
    /// Live installations, when the member may read documents (not `left`); else 0.
    pub devices: i64,
}

pub fn contribution(conn: &mut DbConnection, member_id: i64) -> QueryResult<Option<Contribution>> {
    let live_devices =
        inst::table.filter(inst::member_id.eq(member_id)).filter(inst::deleted_at.is_null()).count().single_value();
    /// Committee, unit, cell, status, activation and live devices.
    type Row = (String, String, String, MemberStatus, Option<NaiveDateTime>, Option<i64>);
    let row: Option<Row> = members::table
        .find(member_id)
        .select((
            members::committee_code,
            members::unit,
            members::cell,
            members::status,
            members::activated_at,
            live_devices,
        ))
        .get_result(conn)
        .optional()?;
    Ok(row.map(|(committee, unit, cell, status, activated_at, devices)| {
        let eligible = status == MemberStatus::Eligible;
        let devices = devices.unwrap_or(0);
        Contribution {
            committee,
            unit,
            cell,
            eligible,
            activated: eligible && activated_at.is_some(),
            installed: eligible && devices > 0,
            devices: if status == MemberStatus::Left { 0 } else { devices },
        }
    }))
}

/// Runs `change` and moves the counters by what it changed for `member_id`. Call inside a write transaction.
pub fn track<T, E: From<diesel::result::Error>>(
    conn: &mut DbConnection,
    member_id: i64,
    change: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    let before = contribution(conn, member_id)?;
    let result = change(conn)?;
    apply_changes(conn, &[member_id], vec![before])?;
    Ok(result)
}

/// Moves the counters of several members at once, given what they contributed before a change.
pub fn apply_changes(conn: &mut DbConnection, members: &[i64], before: Vec<Option<Contribution>>) -> QueryResult<()> {
    let mut seen = Vec::new();
    for (member, before) in members.iter().zip(before) {
        if seen.contains(member) {
            continue;
        }
        seen.push(*member);
        let after = contribution(conn, *member)?;
        if before != after {
            if let Some(before) = &before {
                add(conn, before, -1)?;
            }
            if let Some(after) = &after {
                add(conn, after, 1)?;
            }
        }
    }
    Ok(())
}

fn add(conn: &mut DbConnection, who: &Contribution, sign: i64) -> QueryResult<()> {
    let (e, a, i) = (i64::from(who.eligible) * sign, i64::from(who.activated) * sign, i64::from(who.installed) * sign);
    let d = who.devices * sign;
    if (e, a, i, d) == (0, 0, 0, 0) {
        return Ok(());
    }
    for (unit, cell) in [("", ""), (who.unit.as_str(), ""), (who.unit.as_str(), who.cell.as_str())] {
        ensure_row(conn, &who.committee, unit, cell)?;
        diesel::update(cc::table.find((&who.committee, unit, cell)))
            .set((
                cc::eligible.eq(cc::eligible + e),
                cc::activated.eq(cc::activated + a),
                cc::installed.eq(cc::installed + i),
                cc::devices.eq(cc::devices + d),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn ensure_row(conn: &mut DbConnection, committee: &str, unit: &str, cell: &str) -> QueryResult<()> {
    let exists = cc::table.find((committee, unit, cell)).count().get_result::<i64>(conn)? > 0;
    if !exists {
        diesel::insert_into(cc::table)
            .values((cc::committee_code.eq(committee), cc::unit.eq(unit), cc::cell.eq(cell)))
            .execute(conn)?;
    }
    Ok(())
}

/// Counts of one cell as a full scan finds them.
#[derive(Clone, Debug, Default, PartialEq, Eq, QueryableByName)]
pub struct Recounted {
    #[diesel(sql_type = Text)]
    pub committee_code: String,
    #[diesel(sql_type = Text)]
    pub unit: String,
    #[diesel(sql_type = Text)]
    pub cell: String,
    #[diesel(sql_type = BigInt)]
    pub eligible: i64,
    #[diesel(sql_type = BigInt)]
    pub activated: i64,
    #[diesel(sql_type = BigInt)]
    pub installed: i64,
    #[diesel(sql_type = BigInt)]
    pub active_30d: i64,
    #[diesel(sql_type = BigInt)]
    pub devices: i64,
}

/// The placeholder syntax of the connection's backend, for the one hand-written query below.
pub(crate) fn placeholder(conn: &DbConnection) -> &'static str {
    match conn {
        DbConnection::Postgresql(_) => "$1",
        DbConnection::Sqlite(_) => "?",
    }
}

/// Every cell's counts from members and installations: the naive GROUP BY that the counters exist to avoid,
/// used by imports (for the committees they touched), by the periodic job and by tests.
pub fn full_count(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<Vec<Recounted>> {
    // Each member's live installations are grouped once (how many, and when one was last seen) and joined to the
    // member: one pass over each table, whatever the planner knows of them (a correlated subquery per member is
    // planned from statistics that a bulk load in the same transaction has made stale).
    let sql = format!(
        "SELECT m.committee_code, m.unit, m.cell,
            CAST(SUM(CASE WHEN m.status = '{eligible}' THEN 1 ELSE 0 END) AS BIGINT) AS eligible,
            CAST(SUM(CASE WHEN m.status = '{eligible}' AND m.activated_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS activated,
            CAST(SUM(CASE WHEN m.status = '{eligible}' AND i.n IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS installed,
            CAST(SUM(CASE WHEN m.status = '{eligible}' AND i.last_seen >= {p} THEN 1 ELSE 0 END) AS BIGINT) AS active_30d,
            CAST(SUM(CASE WHEN m.status <> '{left}' AND i.n IS NOT NULL THEN i.n ELSE 0 END) AS BIGINT) AS devices
         FROM members m
         LEFT JOIN (SELECT member_id, COUNT(*) AS n, MAX(last_seen_at) AS last_seen FROM installations
                    WHERE deleted_at IS NULL AND member_id IS NOT NULL GROUP BY member_id) AS i ON i.member_id = m.id
         GROUP BY m.committee_code, m.unit, m.cell",
        p = placeholder(conn),
        eligible = MemberStatus::Eligible.as_str(),
        left = MemberStatus::Left.as_str(),
    );
    diesel::sql_query(sql).bind::<Timestamp, _>(now - Duration::days(30)).load(conn)
}

#[derive(Insertable)]
#[diesel(table_name = cc)]
struct NewCounts {
    committee_code: String,
    unit: String,
    cell: String,
    eligible: i64,
    activated: i64,
    installed: i64,
    active_30d: i64,
    up_to_date: i64,
    devices: i64,
}

/// Replaces the counters of `committees` with a full count. Call inside a write transaction.
pub fn recount(conn: &mut DbConnection, committees: &[String], now: NaiveDateTime) -> QueryResult<()> {
    if committees.is_empty() {
        return Ok(());
    }
    if let DbConnection::Postgresql(pg) = conn {
        // PostgreSQL would JIT-compile the full count's aggregate, which costs more than it saves on this query.
        diesel::sql_query("SET LOCAL jit = off").execute(pg)?;
    }
    let cells: Vec<Recounted> =
        full_count(conn, now)?.into_iter().filter(|c| committees.contains(&c.committee_code)).collect();
    // Counted before the rows are replaced and written with them (not by an UPDATE per row afterwards).
    let up_to_date = up_to_date_totals(conn, Some(committees))?;
    diesel::delete(cc::table.filter(cc::committee_code.eq_any(committees))).execute(conn)?;
    let mut rows: BTreeMap<CounterKey, [i64; 5]> = BTreeMap::new();
    for code in committees {
        rows.insert((code.clone(), String::new(), String::new()), [0; 5]);
    }
    for c in &cells {
        let counts = [c.eligible, c.activated, c.installed, c.active_30d, c.devices];
        for key in c.keys() {
            let total = rows.entry(key).or_insert([0; 5]);
            for (sum, n) in total.iter_mut().zip(counts) {
                *sum += n;
            }
        }
    }
    let records: Vec<NewCounts> = rows
        .into_iter()
        .map(|((committee_code, unit, cell), [eligible, activated, installed, active_30d, devices])| {
            let up_to_date =
                up_to_date.get(&(committee_code.clone(), unit.clone(), cell.clone())).copied().unwrap_or(0);
            NewCounts { committee_code, unit, cell, eligible, activated, installed, active_30d, up_to_date, devices }
        })
        .collect();
    // Thousands of cells: batched inserts, one statement per backend (the connection enum cannot batch).
    for batch in records.chunks(500) {
        match conn {
            DbConnection::Postgresql(pg) => diesel::insert_into(cc::table).values(batch).execute(pg)?,
            DbConnection::Sqlite(sqlite) => diesel::insert_into(cc::table).values(batch).execute(sqlite)?,
        };
    }
    if let DbConnection::Postgresql(pg) = conn {
        // The rows were replaced wholesale: PostgreSQL's planner gets their statistics now rather than at the next
        // autovacuum, and those of the 48 committees, which autovacuum never analyses (fewer rows than its threshold
        // of 50 changes). Without them the city report scans every counter row instead of reading the 48 it needs.
        diesel::sql_query("ANALYZE committees, coverage_counts").execute(pg)?;
    }
    Ok(())
}

/// The periodic job: recomputes `active_30d` for every row, and `up_to_date`.
///
/// The counting (a pass over every member and installation: about a second at 418,000 members) reads outside the
/// write transaction, so it never holds SQLite's write lock while it counts: a sign-in or a push arriving meanwhile
/// would otherwise wait behind it, and past `busy_timeout` fail. Only this job writes the two counters (imports'
/// recounts aside), as absolute values that move with time, so values counted a moment before they are written are
/// as good as any; the write takes the job lock, so two instances' refreshes never interleave.
pub fn refresh_moving(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<()> {
    let mut active: BTreeMap<CounterKey, i64> = BTreeMap::new();
    for c in full_count(conn, now)? {
        for key in c.keys() {
            *active.entry(key).or_default() += c.active_30d;
        }
    }
    let up_to_date = up_to_date_totals(conn, None)?;
    conn.write_transaction(|conn| {
        conn.lock_job(crate::db::Job::Coverage)?;
        store_moving(conn, &active, &up_to_date)
    })
}

/// (committee, unit, cell); `""` for the unit and cell of a committee's total, `""` for the cell of a unit's.
type CounterKey = (String, String, String);

impl Recounted {
    /// The counter rows this cell adds to: its committee, its unit and itself.
    fn keys(&self) -> [CounterKey; 3] {
        [
            (self.committee_code.clone(), String::new(), String::new()),
            (self.committee_code.clone(), self.unit.clone(), String::new()),
            (self.committee_code.clone(), self.unit.clone(), self.cell.clone()),
        ]
    }
}

/// Writes new `active_30d` and `up_to_date` values, touching only the rows whose values changed: a
/// refresh every ten minutes would otherwise rewrite all ~20,000 counter rows, and on PostgreSQL every rewrite leaves
/// dead row versions that the reports' index lookups wade through until autovacuum comes by.
fn store_moving(
    conn: &mut DbConnection,
    active: &BTreeMap<CounterKey, i64>,
    up_to_date: &BTreeMap<CounterKey, i64>,
) -> QueryResult<()> {
    let current: Vec<(String, String, String, i64, i64)> =
        cc::table.select((cc::committee_code, cc::unit, cc::cell, cc::active_30d, cc::up_to_date)).load(conn)?;
    for (committee, unit, cell, old_active, old_up_to_date) in current {
        let key = (committee, unit, cell);
        let new_active = active.get(&key).copied().unwrap_or(0);
        let new_up_to_date = up_to_date.get(&key).copied().unwrap_or(0);
        if (new_active, new_up_to_date) != (old_active, old_up_to_date) {
            diesel::update(cc::table.find((&key.0, &key.1, &key.2)))
                .set((cc::active_30d.eq(new_active), cc::up_to_date.eq(new_up_to_date)))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Eligible members with a device that has acknowledged the newest feed position relevant to their committee, per
/// counter row of `committees` (all when `None`).
fn up_to_date_totals(conn: &mut DbConnection, committees: Option<&[String]>) -> QueryResult<BTreeMap<CounterKey, i64>> {
    use crate::db::schema::{document_reach as reach, documents as d};
    let codes: Vec<String> = match committees {
        Some(codes) => codes.to_vec(),
        None => crate::db::schema::committees::table.select(crate::db::schema::committees::code).load(conn)?,
    };
    // Committees that share their newest position (most do: the newest document for the whole city) are counted by
    // one query: one pass over the installations each, not one per committee (48 passes took ~10 s at 100,000
    // members on PostgreSQL once devices had acknowledged positions).
    let mut by_newest: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for code in codes {
        let newest: Option<i64> = d::table
            .inner_join(reach::table)
            .filter(reach::committee_code.eq(&code).or(reach::committee_code.eq("*")))
            .select(diesel::dsl::max(d::feed_seq))
            .get_result(conn)?;
        by_newest.entry(newest.unwrap_or(0)).or_default().push(code);
    }
    let mut totals: BTreeMap<CounterKey, i64> = BTreeMap::new();
    for (newest, codes) in by_newest {
        // A member counts once, however many of its devices are up to date (as `installed` counts members).
        let up_to_date: Vec<(i64, String, String, String)> = inst::table
            .inner_join(members::table)
            .filter(members::committee_code.eq_any(&codes))
            .filter(members::status.eq(MemberStatus::Eligible))
            .filter(inst::deleted_at.is_null())
            .filter(inst::acked_seq.ge(newest))
            .select((members::id, members::committee_code, members::unit, members::cell))
            .distinct()
            .load(conn)?;
        for (_, code, unit, cell) in up_to_date {
            *totals.entry((code.clone(), String::new(), String::new())).or_default() += 1;
            *totals.entry((code.clone(), unit.clone(), String::new())).or_default() += 1;
            *totals.entry((code, unit, cell)).or_default() += 1;
        }
    }
    Ok(totals)
}
