//! Coverage reports, read from the counters only. Definitions (API.md): eligible = status `eligible`;
//! activated = eligible and signed in at least once; installed = eligible with a registered, not deleted
//! installation; active_30d = eligible with an installation seen in the last 30 days;
//! coverage = installed / eligible (0 when eligible is 0; never above 1, since installed counts eligible only).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;

use crate::csv_export::{Cell, CsvExport};
use crate::db::schema::{committees, coverage_counts as cc, coverage_history as ch, installations as inst, members};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::org::members::MemberStatus;

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub eligible: i64,
    pub activated: i64,
    pub installed: i64,
    pub active_30d: i64,
    /// Eligible members with a device holding the newest handbook (acknowledged the latest feed position); a member
    /// counts once, however many devices it has, so `up_to_date` never exceeds `installed`.
    pub up_to_date: i64,
    /// installed / eligible, rounded to 4 decimals (0 when eligible is 0).
    #[schema(minimum = 0, maximum = 1)]
    pub coverage: f64,
}

impl Counts {
    pub fn new(eligible: i64, activated: i64, installed: i64, active_30d: i64, up_to_date: i64) -> Counts {
        let coverage = if eligible > 0 { (installed as f64 / eligible as f64).min(1.0) } else { 0.0 };
        Counts {
            eligible,
            activated,
            installed,
            active_30d,
            up_to_date,
            coverage: (coverage * 10_000.0).round() / 10_000.0,
        }
    }

    fn plus(self, other: Counts) -> Counts {
        Counts::new(
            self.eligible + other.eligible,
            self.activated + other.activated,
            self.installed + other.installed,
            self.active_30d + other.active_30d,
            self.up_to_date + other.up_to_date,
        )
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CommitteeCoverage {
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CityReport {
    /// Members the city aims to have install the app (`HANDBOOK_TARGET_MEMBERS`).
    pub target: u64,
    #[schema(format = DateTime)]
    pub as_of: String,
    pub totals: Counts,
    pub committees: Vec<CommitteeCoverage>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CellCoverage {
    pub cell: String,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct UnitCoverage {
    pub unit: String,
    #[serde(flatten)]
    pub counts: Counts,
    pub cells: Vec<CellCoverage>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CommitteeReport {
    pub committee: CommitteeCoverage,
    pub units: Vec<UnitCoverage>,
}

type CountRow = (String, String, String, i64, i64, i64, i64, i64);
const COUNT_COLUMNS: (
    cc::committee_code,
    cc::unit,
    cc::cell,
    cc::eligible,
    cc::activated,
    cc::installed,
    cc::active_30d,
    cc::up_to_date,
) = (
    cc::committee_code,
    cc::unit,
    cc::cell,
    cc::eligible,
    cc::activated,
    cc::installed,
    cc::active_30d,
    cc::up_to_date,
);

fn counts(row: &CountRow) -> Counts {
    Counts::new(row.3, row.4, row.5, row.6, row.7)
}

/// Every committee (or only `scope`) with the city totals: 48 rows read, whatever the number of members.
pub fn city(conn: &mut DbConnection, scope: Option<&str>, target: u64, now: NaiveDateTime) -> QueryResult<CityReport> {
    // One fixed statement (prepared once per connection, whatever the scope): an officer's one committee is picked
    // out of the 48 rows here rather than by a second shape of query.
    type Row = (String, String, Option<i64>, Option<i64>, Option<i64>, Option<i64>, Option<i64>);
    let rows: Vec<Row> = committees::table
        .left_join(cc::table.on(cc::committee_code.eq(committees::code).and(cc::unit.eq("")).and(cc::cell.eq(""))))
        .select((
            committees::code,
            committees::name,
            cc::eligible.nullable(),
            cc::activated.nullable(),
            cc::installed.nullable(),
            cc::active_30d.nullable(),
            cc::up_to_date.nullable(),
        ))
        .order(committees::code)
        .load(conn)?;
    let rows = rows.into_iter().filter(|row| scope.is_none_or(|scope| row.0 == scope));
    let committees: Vec<CommitteeCoverage> = rows
        .into_iter()
        .map(|(code, name, e, a, i, act, up)| CommitteeCoverage {
            code,
            name,
            counts: Counts::new(e.unwrap_or(0), a.unwrap_or(0), i.unwrap_or(0), act.unwrap_or(0), up.unwrap_or(0)),
        })
        .collect();
    let totals = committees.iter().fold(Counts::new(0, 0, 0, 0, 0), |sum, c| sum.plus(c.counts));
    Ok(CityReport { target, as_of: crate::time::rfc3339(now), totals, committees })
}

/// One committee with its units and cells, or `None` if there is no such committee.
pub fn committee(conn: &mut DbConnection, code: &str) -> QueryResult<Option<CommitteeReport>> {
    let Some(name) = committees::table.find(code).select(committees::name).get_result::<String>(conn).optional()?
    else {
        return Ok(None);
    };
    let rows: Vec<CountRow> =
        cc::table.filter(cc::committee_code.eq(code)).order((cc::unit, cc::cell)).select(COUNT_COLUMNS).load(conn)?;
    let mut committee = CommitteeCoverage { code: code.to_owned(), name, counts: Counts::new(0, 0, 0, 0, 0) };
    let mut units: Vec<UnitCoverage> = Vec::new();
    for row in &rows {
        match (row.1.as_str(), row.2.as_str()) {
            ("", "") => committee.counts = counts(row),
            (unit, "") => units.push(UnitCoverage { unit: unit.to_owned(), counts: counts(row), cells: Vec::new() }),
            (unit, cell) => {
                if let Some(last) = units.last_mut().filter(|u| u.unit == unit) {
                    last.cells.push(CellCoverage { cell: cell.to_owned(), counts: counts(row) });
                }
            }
        }
    }
    // Units and cells left empty by members who moved away are not worth a line.
    units.retain(|u| u.counts.eligible > 0 || u.counts.installed > 0);
    for unit in &mut units {
        unit.cells.retain(|c| c.counts.eligible > 0 || c.counts.installed > 0);
    }
    Ok(Some(CommitteeReport { committee, units }))
}

/// What an audience of documents reaches: its eligible members and the devices of its readers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reach {
    /// Eligible members of the audience's committees.
    pub eligible: i64,
    /// Live installations of the audience's members who may read documents (eligible or exempt).
    pub devices: i64,
}

/// The reach of an audience, from the committees' counter rows (`committees`: `None` for the whole city): at most
/// 48 rows read, whatever the number of members and devices.
pub fn reach(conn: &mut DbConnection, committees: Option<&[String]>) -> QueryResult<Reach> {
    let mut query =
        cc::table.filter(cc::unit.eq("")).filter(cc::cell.eq("")).select((cc::eligible, cc::devices)).into_boxed();
    if let Some(codes) = committees {
        query = query.filter(cc::committee_code.eq_any(codes.to_vec()));
    }
    let rows: Vec<(i64, i64)> = query.load(conn)?;
    Ok(rows.into_iter().fold(Reach::default(), |sum, (eligible, devices)| Reach {
        eligible: sum.eligible + eligible,
        devices: sum.devices + devices,
    }))
}

#[derive(Debug, Serialize, Queryable, utoipa::ToSchema)]
pub struct NotInstalled {
    pub card_number: String,
    pub full_name: String,
    pub unit: String,
    pub cell: String,
    pub activated: bool,
}

/// Eligible members of a committee without an installation, by unit, cell and name: the follow-up list.
pub fn not_installed(conn: &mut DbConnection, code: &str, limit: i64, offset: i64) -> QueryResult<Vec<NotInstalled>> {
    let rows: Vec<(String, String, String, String, Option<NaiveDateTime>)> = members::table
        .filter(members::committee_code.eq(code))
        .filter(members::status.eq(MemberStatus::Eligible))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            inst::table.filter(inst::member_id.eq(members::id.nullable())).filter(inst::deleted_at.is_null()),
        )))
        .order((members::unit, members::cell, members::full_name, members::card_number))
        .select((members::card_number, members::full_name, members::unit, members::cell, members::activated_at))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(card_number, full_name, unit, cell, activated_at)| NotInstalled {
            card_number,
            full_name,
            unit,
            cell,
            activated: activated_at.is_some(),
        })
        .collect())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryPoint {
    pub date: NaiveDate,
    #[serde(flatten)]
    pub counts: Counts,
}

/// Daily snapshots of one committee, or of the whole city summed, between two dates inclusive.
pub fn history(
    conn: &mut DbConnection,
    committee: Option<&str>,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<HistoryPoint>> {
    let mut query = ch::table
        .filter(ch::day.ge(from))
        .filter(ch::day.le(to))
        .select((ch::day, ch::eligible, ch::activated, ch::installed, ch::active_30d))
        .order(ch::day)
        .into_boxed();
    if let Some(code) = committee {
        query = query.filter(ch::committee_code.eq(code.to_owned()));
    }
    let rows: Vec<(NaiveDate, i64, i64, i64, i64)> = query.load(conn)?;
    let mut points: Vec<HistoryPoint> = Vec::new();
    for (date, e, a, i, act) in rows {
        let counts = Counts::new(e, a, i, act, 0);
        match points.last_mut().filter(|p| p.date == date) {
            Some(point) => point.counts = point.counts.plus(counts),
            None => points.push(HistoryPoint { date, counts }),
        }
    }
    Ok(points)
}

/// Today's snapshot of every committee, replacing one taken earlier today (idempotent per day).
pub fn snapshot(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    super::counters::refresh_moving(conn, now)?;
    conn.write_transaction(|conn| {
        // Another instance taking today's snapshot at the same moment waits, then replaces it: one row per day.
        conn.lock_job(crate::db::Job::Coverage)?;
        let day = now.date();
        diesel::delete(ch::table.filter(ch::day.eq(day))).execute(conn)?;
        let rows: Vec<CountRow> =
            cc::table.filter(cc::unit.eq("")).filter(cc::cell.eq("")).select(COUNT_COLUMNS).load(conn)?;
        for row in &rows {
            diesel::insert_into(ch::table)
                .values((
                    ch::day.eq(day),
                    ch::committee_code.eq(&row.0),
                    ch::eligible.eq(row.3),
                    ch::activated.eq(row.4),
                    ch::installed.eq(row.5),
                    ch::active_30d.eq(row.6),
                ))
                .execute(conn)?;
        }
        Ok(rows.len())
    })
}

/// The rows of `/api/v1/coverage.csv`. Kept in step with `routes::city_csv` by a test.
pub fn city_csv_bytes(report: &CityReport) -> Result<Vec<u8>, AppError> {
    let header = ["code", "name", "eligible", "activated", "installed", "active_30d", "up_to_date", "coverage"];
    let mut out = CsvExport::new(&header)?;
    for c in &report.committees {
        let n = c.counts;
        out.row([
            Cell::Text(&c.code),
            Cell::Text(&c.name),
            Cell::Count(n.eligible),
            Cell::Count(n.activated),
            Cell::Count(n.installed),
            Cell::Count(n.active_30d),
            Cell::Count(n.up_to_date),
            Cell::Ratio(n.coverage),
        ])?;
    }
    out.finish()
}

/// The rows of `/api/v1/coverage/{code}/not-installed?format=csv`.
pub fn not_installed_csv_bytes(rows: &[NotInstalled]) -> Result<Vec<u8>, AppError> {
    let mut out = CsvExport::new(&["card_number", "full_name", "unit", "cell", "activated"])?;
    for m in rows {
        let activated = if m.activated { "yes" } else { "no" };
        let cells = [&m.card_number, &m.full_name, &m.unit, &m.cell].map(|text| Cell::Text(text));
        out.row(cells.into_iter().chain([Cell::Text(activated)]))?;
    }
    out.finish()
}
