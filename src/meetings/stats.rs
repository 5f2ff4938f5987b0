//! Meeting statistics per committee, unit and cell for a period, and the follow-up list of cells that held no
//! meeting in it. Read from the meetings rows only: `invited`, `answered` and `present` are counters of each meeting's
//! invitees, moved in the transactions that move them, so a report sums meeting rows (indexes `meetings_by_time`,
//! `meetings_by_cell`) and never scans invitees. Cells come from the coverage counters (`coverage_counts` rows of a
//! cell with eligible members).
//!
//! Definitions (API.md, issue 18): a meeting is HELD when it is `scheduled` (not cancelled), starts within the period
//! [from, to) and not later than now; `attendance_rate` = present / invited of the held meetings (0 when none).

use std::collections::BTreeMap;

use actix_web::{http::header, web, HttpResponse};
use chrono::{Datelike, Months, NaiveDate, NaiveDateTime};
use diesel::dsl::{count_star, exists, max, min, not, sql};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde::{Deserialize, Serialize};

use crate::auth::AuthUser;
use crate::csv_export::{Cell, CsvExport};
use crate::db::schema::{committees, coverage_counts as cc, meetings as m, members};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::openapi::problems as p;
use crate::openapi::routes::Routes;
use crate::org::members::MemberStatus;
use crate::paging;
use crate::state::AppState;
use crate::time::{in_hanoi, now, rfc3339, start_of_hanoi_day};

use super::{MeetingStatus, Position};

/// Every route of this module, each at the method and path of its `#[utoipa::path]`. Registered before
/// `/api/v1/meetings/{id}`, whose pattern would take `stats` for an id.
pub fn routes(routes: &mut Routes) {
    routes.add(__path_stats, stats).add(__path_cells_without, cells_without);
}

/// The period statistics cover: from (included) to (excluded), UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDateTime,
    pub to: NaiveDateTime,
}

/// The field error of a period whose end is not after its start.
pub const TO_NOT_AFTER_FROM: &str = "must be after from";

impl Period {
    /// The calendar month in Hanoi that begins on `first` (a first day of a month).
    pub fn month_starting(first: NaiveDate) -> Period {
        let next = first.checked_add_months(Months::new(1)).unwrap_or(NaiveDate::MAX);
        Period { from: start_of_hanoi_day(first), to: start_of_hanoi_day(next) }
    }

    /// The calendar month in Hanoi that contains `at`.
    pub fn month_of(at: NaiveDateTime) -> Period {
        let day = in_hanoi(at).date();
        Period::month_starting(day.with_day(1).unwrap_or(day))
    }

    /// A query's `from` and `to`: each a date (`YYYY-MM-DD`, the start of that day in Hanoi) or an RFC 3339 time;
    /// empty means unset. Both unset: the current month in Hanoi; one unset: the Hanoi month of the other (`from`
    /// alone: until the end of its month; `to` alone: from the start of the month it ends). 422 naming each field
    /// that is not a date or a time, and `to` when it is not after `from`.
    pub fn parse(from: Option<&str>, to: Option<&str>, now: NaiveDateTime) -> Result<Period, AppError> {
        let mut errors: Vec<FieldError> = Vec::new();
        let mut instant = |field: &str, text: Option<&str>| match text.filter(|t| !t.trim().is_empty()) {
            None => None,
            Some(text) => match super::parse_instant(field, text) {
                Ok(at) => Some(at),
                Err(AppError::Validation(problems)) => {
                    errors.extend(problems);
                    None
                }
                Err(_) => None,
            },
        };
        let (from, to) = (instant("from", from), instant("to", to));
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        let period = match (from, to) {
            (None, None) => Period::month_of(now),
            (Some(from), None) => Period { from, to: Period::month_of(from).to },
            (None, Some(to)) => Period { from: Period::month_of(to - chrono::Duration::seconds(1)).from, to },
            (Some(from), Some(to)) => Period { from, to },
        };
        if period.to <= period.from {
            return Err(AppError::validation("to", TO_NOT_AFTER_FROM));
        }
        Ok(period)
    }
}

/// The statistics of one row (the city, a committee, a unit or a cell).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MeetingCounts {
    /// Meetings held in the period: not cancelled, starting within it and not later than now.
    pub meetings_held: i64,
    /// Cells with eligible members.
    pub cells: i64,
    /// Of those, cells that held no meeting in the period.
    pub cells_without_meeting: i64,
    /// Invitations to the meetings held.
    pub invited: i64,
    /// Of those, invitations answered (attend or absent).
    pub rsvp_answered: i64,
    /// Of those invited, members recorded present.
    pub present: i64,
    /// present / invited of the meetings held, rounded to 4 decimals (0 when none were invited).
    #[schema(minimum = 0, maximum = 1)]
    pub attendance_rate: f64,
}

impl MeetingCounts {
    fn with_rate(self) -> MeetingCounts {
        let rate = if self.invited > 0 { (self.present as f64 / self.invited as f64).clamp(0.0, 1.0) } else { 0.0 };
        MeetingCounts { attendance_rate: (rate * 10_000.0).round() / 10_000.0, ..self }
    }

    fn plus(self, other: MeetingCounts) -> MeetingCounts {
        MeetingCounts {
            meetings_held: self.meetings_held + other.meetings_held,
            cells: self.cells + other.cells,
            cells_without_meeting: self.cells_without_meeting + other.cells_without_meeting,
            invited: self.invited + other.invited,
            rsvp_answered: self.rsvp_answered + other.rsvp_answered,
            present: self.present + other.present,
            attendance_rate: 0.0,
        }
        .with_rate()
    }

    /// One cell: `eligible` says whether it counts as a cell; `held` are its held meetings' sums.
    fn of_cell(eligible: bool, held: Held) -> MeetingCounts {
        MeetingCounts {
            meetings_held: held.meetings,
            cells: i64::from(eligible),
            cells_without_meeting: i64::from(eligible && held.meetings == 0),
            invited: held.invited,
            rsvp_answered: held.answered,
            present: held.present,
            attendance_rate: 0.0,
        }
        .with_rate()
    }
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CommitteeMeetings {
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub counts: MeetingCounts,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct UnitMeetings {
    pub unit: String,
    #[serde(flatten)]
    pub counts: MeetingCounts,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CellMeetings {
    pub unit: String,
    pub cell: String,
    #[serde(flatten)]
    pub counts: MeetingCounts,
}

/// The statistics of a period: per committee (the city), or with `committee` that committee per unit and cell.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct MeetingStats {
    #[schema(format = DateTime)]
    pub from: String,
    /// Excluded.
    #[schema(format = DateTime)]
    pub to: String,
    #[schema(format = DateTime)]
    pub as_of: String,
    /// The sum of `committees`.
    pub totals: MeetingCounts,
    /// Every committee of the caller's scope (the city), or the one asked for.
    pub committees: Vec<CommitteeMeetings>,
    /// With one committee: its units; else empty.
    pub units: Vec<UnitMeetings>,
    /// With one committee: its cells with eligible members or a meeting held, by unit and cell; else empty.
    pub cells: Vec<CellMeetings>,
}

/// The sums of held meetings' counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Held {
    meetings: i64,
    invited: i64,
    answered: i64,
    present: i64,
}

type HeldSums = (i64, i64, i64, i64);

impl From<HeldSums> for Held {
    fn from((meetings, invited, answered, present): HeldSums) -> Held {
        Held { meetings, invited, answered, present }
    }
}

/// `COUNT(*)` and the sums of the counters of a group of meetings rows (`CAST`: PostgreSQL sums BIGINT as NUMERIC).
macro_rules! held_sums {
    () => {
        (
            count_star(),
            sql::<BigInt>("CAST(SUM(meetings.invited) AS BIGINT)"),
            sql::<BigInt>("CAST(SUM(meetings.answered) AS BIGINT)"),
            sql::<BigInt>("CAST(SUM(meetings.present) AS BIGINT)"),
        )
    };
}

/// The meetings held in `period` as of `now` (a filter of `meetings`).
macro_rules! held_in_period {
    ($query:expr, $period:expr, $now:expr) => {
        $query
            .filter(m::status.eq(MeetingStatus::Scheduled))
            .filter(m::starts_at.ge($period.from))
            .filter(m::starts_at.lt($period.to))
            .filter(m::starts_at.le($now))
    };
}

/// Whether the `coverage_counts` row's cell held a meeting in `period` as of `now` (served by `meetings_by_cell`).
macro_rules! cell_held {
    ($period:expr, $now:expr) => {
        exists(held_in_period!(
            m::table
                .filter(m::committee_code.eq(cc::committee_code))
                .filter(m::unit.eq(cc::unit))
                .filter(m::cell.eq(cc::cell)),
            $period,
            $now
        ))
    };
}

/// Which committee a report is about: `Some(code)` (an officer: its own by default, another 404; an admin: the one
/// it names), or `None` for the city (admins without `committee`). Members: 403.
pub fn committee_in_scope(user: &AuthUser, committee: Option<String>) -> Result<Option<String>, AppError> {
    user.require_staff()?;
    match committee.filter(|c| !c.is_empty()) {
        Some(code) if !user.manages(&code) => Err(AppError::NotFound),
        Some(code) => Ok(Some(code)),
        None => Ok(user.scope().into_committee()),
    }
}

/// The statistics of `period` as of `now`: the city per committee, or one committee (404 if there is none) per unit
/// and cell. Reads one row per committee, or one per cell of the committee, and the meetings held in the period.
pub fn report(
    conn: &mut DbConnection,
    committee: Option<&str>,
    period: Period,
    now: NaiveDateTime,
) -> Result<MeetingStats, AppError> {
    let (committees, units, cells) = match committee {
        None => (city(conn, period, now)?, Vec::new(), Vec::new()),
        Some(code) => {
            let (committee, units, cells) = one_committee(conn, code, period, now)?;
            (vec![committee], units, cells)
        }
    };
    let totals = committees.iter().fold(MeetingCounts::default(), |sum, c| sum.plus(c.counts));
    Ok(MeetingStats {
        from: rfc3339(period.from),
        to: rfc3339(period.to),
        as_of: rfc3339(now),
        totals,
        committees,
        units,
        cells,
    })
}

fn city(conn: &mut DbConnection, period: Period, now: NaiveDateTime) -> QueryResult<Vec<CommitteeMeetings>> {
    let names: Vec<(String, String)> =
        committees::table.select((committees::code, committees::name)).order(committees::code).load(conn)?;
    let held: BTreeMap<String, Held> = held_in_period!(m::table, period, now)
        .group_by(m::committee_code)
        .select((m::committee_code, held_sums!()))
        .load::<(String, HeldSums)>(conn)?
        .into_iter()
        .map(|(code, sums)| (code, sums.into()))
        .collect();
    let cells: BTreeMap<String, i64> = cc::table
        .filter(cc::cell.ne(""))
        .filter(cc::eligible.gt(0))
        .group_by(cc::committee_code)
        .select((cc::committee_code, count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    let with_meeting: BTreeMap<String, i64> = cc::table
        .filter(cc::cell.ne(""))
        .filter(cc::eligible.gt(0))
        .filter(cell_held!(period, now))
        .group_by(cc::committee_code)
        .select((cc::committee_code, count_star()))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    Ok(names
        .into_iter()
        .map(|(code, name)| {
            let held = held.get(&code).copied().unwrap_or_default();
            let cells = cells.get(&code).copied().unwrap_or(0);
            let without = cells - with_meeting.get(&code).copied().unwrap_or(0);
            let counts = MeetingCounts {
                meetings_held: held.meetings,
                cells,
                cells_without_meeting: without,
                invited: held.invited,
                rsvp_answered: held.answered,
                present: held.present,
                attendance_rate: 0.0,
            }
            .with_rate();
            CommitteeMeetings { code, name, counts }
        })
        .collect())
}

fn one_committee(
    conn: &mut DbConnection,
    code: &str,
    period: Period,
    now: NaiveDateTime,
) -> Result<(CommitteeMeetings, Vec<UnitMeetings>, Vec<CellMeetings>), AppError> {
    let name: String =
        committees::table.find(code).select(committees::name).get_result(conn).optional()?.ok_or(AppError::NotFound)?;
    let held: Vec<(String, String, HeldSums)> =
        held_in_period!(m::table.filter(m::committee_code.eq(code)), period, now)
            .group_by((m::unit, m::cell))
            .select((m::unit, m::cell, held_sums!()))
            .load(conn)?;
    let eligible_cells: Vec<(String, String)> = cc::table
        .filter(cc::committee_code.eq(code))
        .filter(cc::cell.ne(""))
        .filter(cc::eligible.gt(0))
        .select((cc::unit, cc::cell))
        .load(conn)?;
    let mut by_cell: BTreeMap<(String, String), (bool, Held)> = BTreeMap::new();
    for key in eligible_cells {
        by_cell.entry(key).or_default().0 = true;
    }
    for (unit, cell, sums) in held {
        by_cell.entry((unit, cell)).or_default().1 = sums.into();
    }
    let cells: Vec<CellMeetings> = by_cell
        .into_iter()
        .map(|((unit, cell), (eligible, held))| CellMeetings {
            unit,
            cell,
            counts: MeetingCounts::of_cell(eligible, held),
        })
        .collect();
    let mut units: Vec<UnitMeetings> = Vec::new();
    for cell in &cells {
        match units.last_mut().filter(|last| last.unit == cell.unit) {
            Some(last) => last.counts = last.counts.plus(cell.counts),
            None => units.push(UnitMeetings { unit: cell.unit.clone(), counts: cell.counts }),
        }
    }
    let counts = units.iter().fold(MeetingCounts::default(), |sum, u| sum.plus(u.counts));
    Ok((CommitteeMeetings { code: code.to_owned(), name, counts }, units, cells))
}

/// A cell with eligible members that held no meeting in the period: the officers' follow-up list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CellWithoutMeeting {
    pub committee_code: String,
    pub committee_name: String,
    pub unit: String,
    pub cell: String,
    /// Eligible members of the cell.
    pub eligible: i64,
    /// The full name of the cell's secretary (the member list's `position`), if it names one.
    pub secretary: Option<String>,
    /// The latest meeting the cell held before the period, if any.
    #[schema(format = DateTime)]
    pub last_meeting_at: Option<String>,
    /// The cell's next meeting still to come (scheduled, after now), if any.
    #[schema(format = DateTime)]
    pub next_meeting_at: Option<String>,
}

type WithoutRow = (String, String, String, String, i64, Option<String>, Option<NaiveDateTime>, Option<NaiveDateTime>);

/// Cells with eligible members that held no meeting in `period` as of `now` (one committee, or the city), by
/// committee, unit and cell.
pub fn cells_without_meeting(
    conn: &mut DbConnection,
    committee: Option<&str>,
    period: Period,
    now: NaiveDateTime,
    limit: i64,
    offset: i64,
) -> Result<Vec<CellWithoutMeeting>, AppError> {
    if let Some(code) = committee {
        crate::org::store::find_committee(conn, code)?.ok_or(AppError::NotFound)?;
    }
    let of_the_cell = m::table
        .filter(m::committee_code.eq(cc::committee_code))
        .filter(m::unit.eq(cc::unit))
        .filter(m::cell.eq(cc::cell))
        .filter(m::status.eq(MeetingStatus::Scheduled));
    let last = of_the_cell.filter(m::starts_at.lt(period.from)).filter(m::starts_at.le(now)).select(max(m::starts_at));
    let next = of_the_cell.filter(m::starts_at.gt(now)).select(min(m::starts_at));
    let secretary = members::table
        .filter(members::committee_code.eq(cc::committee_code))
        .filter(members::unit.eq(cc::unit))
        .filter(members::cell.eq(cc::cell))
        .filter(members::position.eq(Position::Secretary))
        .filter(members::status.ne(MemberStatus::Left))
        .select(members::full_name)
        .order(members::full_name)
        .limit(1);
    let mut query = cc::table
        .inner_join(committees::table)
        .filter(cc::cell.ne(""))
        .filter(cc::eligible.gt(0))
        .filter(not(cell_held!(period, now)))
        .select((
            cc::committee_code,
            committees::name,
            cc::unit,
            cc::cell,
            cc::eligible,
            secretary.single_value(),
            last.single_value(),
            next.single_value(),
        ))
        .order((cc::committee_code, cc::unit, cc::cell))
        .limit(limit)
        .offset(offset)
        .into_boxed();
    if let Some(code) = committee {
        query = query.filter(cc::committee_code.eq(code.to_owned()));
    }
    let rows: Vec<WithoutRow> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(committee_code, committee_name, unit, cell, eligible, secretary, last, next)| CellWithoutMeeting {
            committee_code,
            committee_name,
            unit,
            cell,
            eligible,
            secretary,
            last_meeting_at: last.map(rfc3339),
            next_meeting_at: next.map(rfc3339),
        })
        .collect())
}

/// A time as a Hanoi wall-clock time, for the spreadsheets officers print.
fn hanoi_text(at: Option<&String>) -> String {
    at.and_then(|text| chrono::DateTime::parse_from_rfc3339(text).ok())
        .map(|at| in_hanoi(at.naive_utc()).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// The rows of `/api/v1/meetings/stats/cells-without?format=csv` (times in Hanoi).
pub fn cells_without_csv_bytes(rows: &[CellWithoutMeeting]) -> Result<Vec<u8>, AppError> {
    let header = [
        "committee_code",
        "committee_name",
        "unit",
        "cell",
        "eligible",
        "secretary",
        "last_meeting_at",
        "next_meeting_at",
    ];
    let mut out = CsvExport::new(&header)?;
    for c in rows {
        let (last, next) = (hanoi_text(c.last_meeting_at.as_ref()), hanoi_text(c.next_meeting_at.as_ref()));
        out.row([
            Cell::Text(&c.committee_code),
            Cell::Text(&c.committee_name),
            Cell::Text(&c.unit),
            Cell::Text(&c.cell),
            Cell::Count(c.eligible),
            Cell::Text(c.secretary.as_deref().unwrap_or("")),
            Cell::Text(&last),
            Cell::Text(&next),
        ])?;
    }
    out.finish()
}

/// The statistics as CSV: one row per committee (the city), or the committee, its units (cell empty) and cells.
pub fn stats_csv_bytes(stats: &MeetingStats) -> Result<Vec<u8>, AppError> {
    let header = [
        "committee_code",
        "unit",
        "cell",
        "meetings_held",
        "cells",
        "cells_without_meeting",
        "invited",
        "rsvp_answered",
        "present",
        "attendance_rate",
    ];
    let mut out = CsvExport::new(&header)?;
    let mut row = |code: &str, unit: &str, cell: &str, n: &MeetingCounts| {
        out.row([
            Cell::Text(code),
            Cell::Text(unit),
            Cell::Text(cell),
            Cell::Count(n.meetings_held),
            Cell::Count(n.cells),
            Cell::Count(n.cells_without_meeting),
            Cell::Count(n.invited),
            Cell::Count(n.rsvp_answered),
            Cell::Count(n.present),
            Cell::Ratio(n.attendance_rate),
        ])
    };
    for c in &stats.committees {
        row(&c.code, "", "", &c.counts)?;
        for u in &stats.units {
            row(&c.code, &u.unit, "", &u.counts)?;
            for cell in stats.cells.iter().filter(|cell| cell.unit == u.unit) {
                row(&c.code, &cell.unit, &cell.cell, &cell.counts)?;
            }
        }
    }
    out.finish()
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// One committee, per unit and cell (an officer: its own, the default); none: the city per committee (admins).
    pub committee: Option<String>,
    /// Start of the period, included: a date YYYY-MM-DD (its start in Hanoi time, UTC+7) or an RFC 3339 time.
    /// Default: the start of the Hanoi month of `to`, or of the current month.
    #[param(example = "2026-11-01")]
    pub from: Option<String>,
    /// End of the period, excluded: a date YYYY-MM-DD (its start in Hanoi time) or an RFC 3339 time. Default: the
    /// end of the Hanoi month of `from`, or of the current month.
    #[param(example = "2026-12-01")]
    pub to: Option<String>,
}

/// Admin (the city, or any committee), officer (its committee; another: 404).
pub async fn stats_report(
    state: &AppState,
    user: &AuthUser,
    committee: Option<String>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<MeetingStats, AppError> {
    let committee = committee_in_scope(user, committee)?;
    let now = now();
    let period = Period::parse(from, to, now)?;
    state.db.run(move |conn| report(conn, committee.as_deref(), period, now)).await
}

/// Officer (its committee, per unit and cell; another committee: 404), admin (the city per committee, or with
/// `committee` per unit and cell). Sums of the meetings' counters: no invitee is read.
#[utoipa::path(
    get,
    path = "/api/v1/meetings/stats",
    tag = "meetings",
    operation_id = "meeting_stats",
    security(("bearer" = [])),
    params(StatsQuery),
    responses(
        (status = 200, description = "Meetings held, cells without one, invitations, answers, attendance", body = MeetingStats),
        p::sets::StaffQuery,
        (status = 404, response = p::NotFound),
    )
)]
async fn stats(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let report = stats_report(&state, &user, query.committee, query.from.as_deref(), query.to.as_deref()).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(report))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CellsWithoutQuery {
    /// One committee (an officer: its own, the default); none: the whole city (admins).
    pub committee: Option<String>,
    /// Start of the period, as for the statistics.
    #[param(example = "2026-11-01")]
    pub from: Option<String>,
    /// End of the period (excluded), as for the statistics.
    #[param(example = "2026-12-01")]
    pub to: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next` of the previous page (with the same filters).
    pub after: Option<String>,
    /// `json` (default, paged) or `csv` (the whole list, for printing).
    #[param(schema_with = paging::list_formats)]
    pub format: Option<String>,
}

/// The cells-without list: one JSON page, or the whole list as CSV. The console's download calls it too.
pub async fn cells_without_response(
    state: &AppState,
    user: &AuthUser,
    query: CellsWithoutQuery,
) -> Result<HttpResponse, AppError> {
    let committee = committee_in_scope(user, query.committee)?;
    let listing = paging::Listing::parse(query.limit, query.after.as_deref(), query.format.as_deref())?;
    let (limit, offset) = listing.window();
    let now = now();
    let period = Period::parse(query.from.as_deref(), query.to.as_deref(), now)?;
    let file_name = format!("chua-sinh-hoat-{}.csv", committee.as_deref().unwrap_or("thanh-pho"));
    let rows =
        state.db.run(move |conn| cells_without_meeting(conn, committee.as_deref(), period, now, limit, offset)).await?;
    listing.respond(rows, &file_name, cells_without_csv_bytes)
}

/// Officer (its committee; another: 404), admin (the city, or one committee): cells with eligible members that held
/// no meeting in the period, by committee, unit and cell. `?format=csv` gives the whole list.
#[utoipa::path(
    get,
    path = "/api/v1/meetings/stats/cells-without",
    tag = "meetings",
    operation_id = "cells_without_meeting",
    security(("bearer" = [])),
    params(CellsWithoutQuery),
    responses(
        (status = 200, description = "Cells that held no meeting in the period", content((paging::Page<CellWithoutMeeting> = "application/json"), (String = "text/csv"))),
        p::sets::StaffQuery,
        (status = 404, response = p::NotFound),
    )
)]
async fn cells_without(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<CellsWithoutQuery>,
) -> Result<HttpResponse, AppError> {
    cells_without_response(&state, &user, query.into_inner()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        chrono::DateTime::parse_from_rfc3339(text).unwrap().naive_utc()
    }

    #[test]
    fn the_default_period_is_the_current_month_in_hanoi() {
        // 2026-11-30 20:00 UTC is already 1 December in Hanoi.
        let period = Period::parse(None, Some(""), at("2026-11-30T20:00:00Z")).unwrap();
        assert_eq!((period.from, period.to), (at("2026-11-30T17:00:00Z"), at("2026-12-31T17:00:00Z")));
    }

    #[test]
    fn dates_are_hanoi_days_and_times_are_rfc_3339() {
        let now = at("2026-11-15T00:00:00Z");
        let period = Period::parse(Some("2026-10-01"), Some("2026-10-15T08:00:00+07:00"), now).unwrap();
        assert_eq!((period.from, period.to), (at("2026-09-30T17:00:00Z"), at("2026-10-15T01:00:00Z")));
        let alone = Period::parse(Some("2026-10-01"), None, now).unwrap();
        assert_eq!(alone.to, at("2026-10-31T17:00:00Z"));
        let alone = Period::parse(None, Some("2026-10-01"), now).unwrap();
        assert_eq!(alone.from, at("2026-08-31T17:00:00Z"));
    }

    #[test]
    fn bad_periods_name_their_fields() {
        let now = at("2026-11-15T00:00:00Z");
        let fields = |from, to| match Period::parse(from, to, now) {
            Err(AppError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(fields(Some("1/11/2026"), Some("x")), ["from", "to"]);
        assert_eq!(fields(Some("2026-11-02"), Some("2026-11-01")), ["to"]);
        assert_eq!(fields(Some("2026-11-01"), Some("2026-11-01")), ["to"]);
    }
}
