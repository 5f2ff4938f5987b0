//! The demo's audit trail: sixty days of a campaign as the log would have recorded it. Besides the entries the demo
//! wrote by doing things (the member import, every document step, every upload), it adds what the campaign's staff
//! did that the demo does not replay: the admin creating the staff accounts, each committee's officer printing
//! activation slips week after week (fewer as members activate) and correcting its member list, and officers
//! issuing single activation codes to members who lost theirs, before they activated. The entries have the format
//! the API writes (`audit::record`), and the whole demo trail is stored in the order of time, so that the log's
//! newest-first order (by id) is also the order of time.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde_json::json;

use crate::auth::Role;
use crate::db::schema::{audit_log, members, staff};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::org::demo::{self as org_demo, Random};
use crate::org::members::MemberStatus;
use crate::sync::demo::DAYS;

/// Rows per multi-row INSERT: 7 columns stay within SQLite's 32,766 and PostgreSQL's 65,535 parameters.
const BATCH: usize = 2_000;
/// Who created the demo staff: the first admin (`staff::ensure_first_admin`).
const FIRST_ADMIN: &str = "admin";

/// An entry without its id, as read back and stored again in the order of time.
#[derive(Insertable, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
struct NewEntry {
    at: NaiveDateTime,
    actor: String,
    actor_role: String,
    committee_code: Option<String>,
    action: String,
    target: String,
    detail: String,
}

/// The newest entry's id (0 for an empty log).
pub fn last_entry(conn: &mut DbConnection) -> QueryResult<i64> {
    Ok(audit_log::table.select(diesel::dsl::max(audit_log::id)).get_result::<Option<i64>>(conn)?.unwrap_or(0))
}

/// Dates the entries written after entry `after` to `at`.
pub fn date_entries_since(conn: &mut DbConnection, after: i64, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(audit_log::table.filter(audit_log::id.gt(after))).set(audit_log::at.eq(at)).execute(conn)
}

fn unit(random: &mut Random) -> f64 {
    random.below(1 << 30) as f64 / f64::from(1u32 << 30)
}

/// Adds campaign entries until the log holds `total` entries after entry `after` (the demo's own, written since it
/// started loading), and stores all of them again in the order of time. Returns how many were added.
pub fn load(conn: &mut DbConnection, after: i64, total: u64, seed: u64, now: NaiveDateTime) -> Result<u64, AppError> {
    let mut random = Random::new(seed ^ 0x00a0_d170);
    let start = now - Duration::days(DAYS);
    let span = (now - start).num_seconds() as f64;
    let mut added: Vec<NewEntry> = Vec::new();

    // The staff accounts, created by the first admin.
    let logins: Vec<String> = org_demo::staff_accounts(conn)?.into_iter().map(|(login, _, _)| login).collect();
    let accounts: Vec<(String, Role, Option<String>, NaiveDateTime)> = staff::table
        .filter(staff::login.eq_any(&logins))
        .select((staff::login, staff::role, staff::committee_code, staff::created_at))
        .load(conn)?;
    let officer_of: BTreeMap<String, String> =
        accounts.iter().filter_map(|(login, _, c, _)| c.clone().map(|c| (c, login.clone()))).collect();
    for (login, role, committee, at) in &accounts {
        added.push(NewEntry {
            at: *at,
            actor: FIRST_ADMIN.to_owned(),
            actor_role: Role::Admin.as_str().to_owned(),
            committee_code: committee.clone(),
            action: "staff.create".to_owned(),
            target: login.clone(),
            detail: json!({ "role": role, "committee_code": committee }).to_string(),
        });
    }

    // The members and when they activated, per committee.
    let eligible: Vec<(String, String, Option<NaiveDateTime>)> = members::table
        .filter(members::status.eq(MemberStatus::Eligible))
        .select((members::card_number, members::committee_code, members::activated_at))
        .order(members::id)
        .load(conn)?;
    let mut activations: BTreeMap<&str, (i64, Vec<NaiveDateTime>)> = BTreeMap::new();
    for (_, code, activated_at) in &eligible {
        let entry = activations.entry(code.as_str()).or_default();
        entry.0 += 1;
        entry.1.extend(*activated_at);
    }
    for (_, times) in activations.values_mut() {
        times.sort();
    }

    for (code, (size, times)) in &activations {
        let Some(officer) = officer_of.get(*code) else { continue };
        let by_officer = |at: NaiveDateTime, action: &str, target: &str, detail: serde_json::Value| NewEntry {
            at,
            actor: officer.clone(),
            actor_role: Role::Officer.as_str().to_owned(),
            committee_code: Some((*code).to_owned()),
            action: action.to_owned(),
            target: target.to_owned(),
            detail: detail.to_string(),
        };
        // Slips for everyone not yet activated: at the start of the campaign, then about weekly.
        let mut at = start + Duration::minutes(random.below(3 * 24 * 60) as i64);
        while at < now {
            let activated = times.partition_point(|t| *t <= at) as i64;
            added.push(by_officer(at, "activation_codes.issue", code, json!({ "count": size - activated })));
            at += Duration::minutes((6 * 24 * 60 + random.below(2 * 24 * 60)) as i64);
        }
        // Corrections of the member list: a few imports, most early in the campaign.
        for _ in 0..2 + random.below(3) {
            let u = unit(&mut random);
            let at = start + Duration::seconds((u * u * span) as i64);
            let created = random.below(25) as i64;
            let updated = random.below(80) as i64;
            let detail =
                json!({ "created": created, "updated": updated, "unchanged": (size - created - updated).max(0) });
            added.push(by_officer(at, "members.import", "members", detail));
        }
    }

    // The demo's own entries so far, and single activation codes for the rest of `total`.
    let mut all: Vec<NewEntry> = audit_log::table
        .filter(audit_log::id.gt(after))
        .select(NewEntry::as_select())
        .order(audit_log::id)
        .load(conn)?;
    let single = total.saturating_sub((all.len() + added.len()) as u64);
    if !eligible.is_empty() {
        for _ in 0..single {
            let (card, code, activated_at) = &eligible[random.below(eligible.len() as u64) as usize];
            let at = match activated_at {
                Some(activated) => (*activated - Duration::minutes(random.below(3 * 24 * 60) as i64)).max(start),
                None => start + Duration::seconds((unit(&mut random) * span) as i64),
            };
            let (actor, role) = match officer_of.get(code) {
                Some(officer) if random.below(10) > 0 => (officer.clone(), Role::Officer),
                _ => (FIRST_ADMIN.to_owned(), Role::Admin),
            };
            added.push(NewEntry {
                at,
                actor,
                actor_role: role.as_str().to_owned(),
                committee_code: Some(code.clone()),
                action: "activation_code.issue".to_owned(),
                target: card.clone(),
                detail: "{}".to_owned(),
            });
        }
    }
    let count = added.len() as u64;

    all.extend(added);
    all.sort_by_key(|entry| entry.at);
    conn.write_transaction(|conn| -> Result<(), AppError> {
        diesel::delete(audit_log::table.filter(audit_log::id.gt(after))).execute(conn)?;
        for batch in all.chunks(BATCH) {
            match conn {
                DbConnection::Postgresql(pg) => diesel::insert_into(audit_log::table).values(batch).execute(pg)?,
                DbConnection::Sqlite(sqlite) => diesel::insert_into(audit_log::table).values(batch).execute(sqlite)?,
            };
        }
        Ok(())
    })?;
    Ok(count)
}
