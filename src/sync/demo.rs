//! The demo data set's devices: a city mid-campaign rather than zeros. Installs of the app rise over the last
//! [`DAYS`] days to about 90% of eligible members, some committees ahead and some behind; members with a device are
//! activated (and a few more without one); each device has acknowledged the feed position it could have reached when
//! it was last seen (most were seen in the last day and are up to date, some are behind); the counters are recounted
//! from the data; and [`DAYS`] days of `coverage_history` per committee follow the installs' `first_seen_at`.
//! Deterministic for a seed (up to `now`). Load the demo handbook first: the acknowledgements follow its timeline.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Timestamp};

use crate::coverage::counters;
use crate::db::schema::{committees, coverage_history as ch, installations as inst, members};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::org::demo::Random;
use crate::org::members::MemberStatus;
use crate::sync::installations::Platform;

/// Days of campaign, and of coverage history.
pub const DAYS: i64 = 60;
/// Demo installation ids start with this (a valid UUID prefix), so that a second run replaces only its own.
const ID_PREFIX: &str = "de300000-";
/// Rows per multi-row INSERT: 10 columns stay within SQLite's 32,766 and PostgreSQL's 65,535 parameters.
const BATCH: usize = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoDevices {
    pub eligible: u64,
    pub installed: u64,
    pub activated: u64,
}

#[derive(Insertable)]
#[diesel(table_name = inst)]
struct NewInstallation {
    installation_id: String,
    subject: String,
    member_id: Option<i64>,
    platform: Platform,
    app_version: &'static str,
    os_version: Option<&'static str>,
    device_model: Option<&'static str>,
    first_seen_at: NaiveDateTime,
    last_seen_at: NaiveDateTime,
    acked_seq: Option<i64>,
    acked_at: Option<NaiveDateTime>,
    reader_committee: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = ch)]
struct NewHistory {
    day: chrono::NaiveDate,
    committee_code: String,
    eligible: i64,
    activated: i64,
    installed: i64,
    active_30d: i64,
}

/// The target share of a committee: between 75% and 98%, most near the top, about 90% on average.
fn target_share(random: &mut Random) -> f64 {
    let u = random.below(1_000_000) as f64 / 1_000_000.0;
    0.98 - 0.23 * u * u
}

fn unit(random: &mut Random) -> f64 {
    random.below(1 << 30) as f64 / f64::from(1u32 << 30)
}

/// One member's generated state.
struct Member {
    committee: usize,
    activated_at: Option<NaiveDateTime>,
    /// (first_seen_at, last_seen_at) of its device.
    device: Option<(NaiveDateTime, NaiveDateTime)>,
    /// When its device last acknowledged a feed position (its last sync).
    synced_at: Option<NaiveDateTime>,
}

/// The newest feed position reached by `at` in `timeline` (oldest first, times non-decreasing).
fn position_at(timeline: &[(i64, NaiveDateTime)], at: NaiveDateTime) -> Option<i64> {
    let reached = timeline.partition_point(|(_, t)| *t <= at);
    reached.checked_sub(1).map(|i| timeline[i].0)
}

/// Creates the demo devices for the members in the database (call after the demo members are loaded).
pub fn load(conn: &mut DbConnection, seed: u64, now: NaiveDateTime) -> Result<DemoDevices, AppError> {
    let started = std::time::Instant::now();
    let mut random = Random::new(seed ^ 0x0de7_1ce5);
    let codes: Vec<String> = committees::table.select(committees::code).order(committees::code).load(conn)?;
    let shares: Vec<f64> = codes.iter().map(|_| target_share(&mut random)).collect();
    // Committees ahead start earlier: a lead of up to a fortnight on the campaign's curve.
    let leads: Vec<f64> = shares.iter().map(|s| (s - 0.75) / 0.23 * 0.25).collect();
    let index: BTreeMap<&str, usize> = codes.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let eligible: Vec<(i64, String)> = members::table
        .filter(members::status.eq(MemberStatus::Eligible))
        .select((members::id, members::committee_code))
        .order(members::id)
        .load(conn)?;
    let start = now - Duration::days(DAYS);
    let span = (now - start).num_seconds() as f64;
    let generated: Vec<(i64, Member)> = eligible
        .iter()
        .map(|(id, code)| {
            let committee = index[code.as_str()];
            let installed = unit(&mut random) < shares[committee];
            let device = installed.then(|| {
                // A rising curve: the mean of two uniforms is triangular, so installs per day rise, peak past the
                // campaign's middle and ease; a committee's lead moves its installs earlier.
                let t = ((unit(&mut random) + unit(&mut random)) / 2.0 - leads[committee]).clamp(0.0, 1.0);
                let first = start + Duration::seconds((t * span) as i64);
                // 85% use the app: seen in the last three days, most of them in the last day (the cube of a
                // uniform leans to 0); the others stopped some time after installing.
                let last = if random.below(100) < 85 {
                    let u = unit(&mut random);
                    now - Duration::seconds((u * u * u * (3 * 86_400) as f64) as i64)
                } else {
                    first + Duration::seconds((unit(&mut random) * (now - first).num_seconds() as f64) as i64)
                };
                (first, last.max(first))
            });
            // A device acknowledges what it synced when it was last seen; one in ten failed to sync since some
            // earlier visit.
            let synced_at = device.map(|(first, last)| {
                if random.below(10) == 0 {
                    first + Duration::seconds((unit(&mut random) * (last - first).num_seconds() as f64) as i64)
                } else {
                    last
                }
            });
            let activated_at = match device {
                Some((first, _)) => Some(first - Duration::seconds(random.below(2 * 86_400) as i64)),
                None if random.below(100) < 30 => Some(start + Duration::seconds((unit(&mut random) * span) as i64)),
                None => None,
            };
            (*id, Member { committee, activated_at, device, synced_at })
        })
        .collect();
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "demo: devices drawn");
    let timeline = crate::content::demo::feed_timeline(conn)?;

    conn.write_transaction(|conn| -> Result<(), AppError> {
        let started = std::time::Instant::now();
        diesel::delete(inst::table.filter(inst::installation_id.like(format!("{ID_PREFIX}%")))).execute(conn)?;
        let mut rows = Vec::with_capacity(BATCH);
        for (id, member) in &generated {
            if let Some((first, last)) = member.device {
                let ios = random.below(100) < 35;
                rows.push(NewInstallation {
                    installation_id: format!("{ID_PREFIX}0000-4000-8000-{id:012x}"),
                    subject: format!("member:{id}"),
                    member_id: Some(*id),
                    platform: if ios { Platform::Ios } else { Platform::Android },
                    app_version: ["1.2.0", "1.3.0", "1.3.1"][random.below(3) as usize],
                    os_version: Some(if ios { "17.5" } else { ["12", "13", "14"][random.below(3) as usize] }),
                    device_model: Some(if ios {
                        "iPhone"
                    } else {
                        ["Samsung Galaxy A54", "Xiaomi Redmi Note 12", "OPPO A78"][random.below(3) as usize]
                    }),
                    first_seen_at: first,
                    last_seen_at: last,
                    acked_seq: member.synced_at.and_then(|at| position_at(&timeline, at)),
                    acked_at: member.synced_at.filter(|at| position_at(&timeline, *at).is_some()),
                    // The demo's devices belong to eligible members.
                    reader_committee: Some(codes[member.committee].clone()),
                });
                if rows.len() == BATCH {
                    insert_installations(conn, &rows)?;
                    rows.clear();
                }
            }
        }
        insert_installations(conn, &rows)?;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "demo: devices inserted");
        let started = std::time::Instant::now();
        let activated: Vec<(i64, NaiveDateTime)> =
            generated.iter().filter_map(|(id, member)| member.activated_at.map(|at| (*id, at))).collect();
        set_activation_times(conn, &activated)?;
        tracing::debug!(rows = activated.len(), ms = started.elapsed().as_millis() as u64, "demo: activations set");
        let started = std::time::Instant::now();
        counters::recount(conn, &codes, now)?;
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "demo: counters recounted");
        Ok(())
    })?;

    // The history: day by day, what a snapshot taken at the end of that day would have counted.
    let today = now.date();
    let first_day = today - Duration::days(DAYS - 1);
    let mut history: Vec<NewHistory> = Vec::with_capacity(codes.len() * DAYS as usize);
    let mut per_committee_eligible = vec![0i64; codes.len()];
    for (_, member) in &generated {
        per_committee_eligible[member.committee] += 1;
    }
    for offset in 0..DAYS {
        let day = first_day + Duration::days(offset);
        let end = if day == today {
            now
        } else {
            day.succ_opt().expect("a next day").and_hms_opt(0, 0, 0).expect("midnight")
        };
        let mut counts = vec![[0i64; 3]; codes.len()];
        for (_, member) in &generated {
            let c = &mut counts[member.committee];
            if member.activated_at.is_some_and(|at| at <= end) {
                c[0] += 1;
            }
            if let Some((first, last)) = member.device {
                if first <= end {
                    c[1] += 1;
                    if last.min(end) >= end - Duration::days(30) {
                        c[2] += 1;
                    }
                }
            }
        }
        for (i, code) in codes.iter().enumerate() {
            history.push(NewHistory {
                day,
                committee_code: code.clone(),
                eligible: per_committee_eligible[i],
                activated: counts[i][0],
                installed: counts[i][1],
                active_30d: counts[i][2],
            });
        }
    }
    conn.write_transaction(|conn| -> Result<(), AppError> {
        diesel::delete(ch::table.filter(ch::day.ge(first_day)).filter(ch::day.le(today))).execute(conn)?;
        for batch in history.chunks(BATCH) {
            match conn {
                DbConnection::Postgresql(pg) => diesel::insert_into(ch::table).values(batch).execute(pg)?,
                DbConnection::Sqlite(sqlite) => diesel::insert_into(ch::table).values(batch).execute(sqlite)?,
            };
        }
        Ok(())
    })?;

    Ok(DemoDevices {
        eligible: generated.len() as u64,
        installed: generated.iter().filter(|(_, m)| m.device.is_some()).count() as u64,
        activated: generated.iter().filter(|(_, m)| m.activated_at.is_some()).count() as u64,
    })
}

/// Sets `members.activated_at` of many members at once. PostgreSQL: one UPDATE joined with the (id, time) pairs
/// passed as two arrays. Issued per day with `id = ANY(…)` chunks, as it was, PostgreSQL took ~25 s for the 380,000
/// activations of the full demo: it planned each chunk without statistics on the freshly loaded table. SQLite: one
/// cached prepared UPDATE per member, a primary-key lookup each.
fn set_activation_times(conn: &mut DbConnection, activated: &[(i64, NaiveDateTime)]) -> QueryResult<()> {
    match conn {
        DbConnection::Postgresql(pg) => {
            let (ids, times): (Vec<i64>, Vec<NaiveDateTime>) = activated.iter().copied().unzip();
            diesel::sql_query(
                "UPDATE members SET activated_at = a.at FROM unnest($1, $2) AS a (id, at) WHERE members.id = a.id",
            )
            .bind::<Array<BigInt>, _>(ids)
            .bind::<Array<Timestamp>, _>(times)
            .execute(pg)?;
        }
        DbConnection::Sqlite(sqlite) => {
            for (id, at) in activated {
                diesel::update(members::table.find(id)).set(members::activated_at.eq(at)).execute(sqlite)?;
            }
        }
    }
    Ok(())
}

/// One multi-row INSERT per backend (the connection enum cannot batch), as `counters::recount` does.
fn insert_installations(conn: &mut DbConnection, rows: &[NewInstallation]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    match conn {
        DbConnection::Postgresql(pg) => diesel::insert_into(inst::table).values(rows).execute(pg)?,
        DbConnection::Sqlite(sqlite) => diesel::insert_into(inst::table).values(rows).execute(sqlite)?,
    };
    Ok(())
}
