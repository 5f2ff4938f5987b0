//! Read confirmations, and the counters of required reading that move with them.
//!
//! The discipline of `crate::coverage::counters`: `reading_counts` holds, per required document and per committee,
//! unit (cell = '') and cell (unit and cell = '' for the committee's total), how many eligible members of the
//! document's audience have read it at its required revision or a later one. The rows move by deltas in the same
//! transaction as every change that moves them:
//! - a read (`record_read`): +1 when a member's first counted read arrives;
//! - a publish that makes a document required, changes its audience or its required revision: `recount_document`,
//!   one grouped query over that document's reads, in the publish transaction;
//! - an import that moves a member or changes its status: `member_moved`, for each required document it has read.
//!
//! The eligible side of the coverage is `coverage_counts` (eligible members of the committee, unit, cell): never
//! stored twice. Reports read counter rows only, never members or reads.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::coverage::counters::placeholder;
use crate::db::schema::{
    document_audience as aud, document_requirements as req, documents as d, member_reads as reads, members,
    reading_counts as rc,
};
use crate::db::DbConnection;
use crate::org::members::MemberStatus;

/// Where a member counts, and whether it counts at all (status `eligible`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seat {
    pub committee: String,
    pub unit: String,
    pub cell: String,
    pub eligible: bool,
}

impl Seat {
    pub fn new(committee: &str, unit: &str, cell: &str, status: MemberStatus) -> Seat {
        Seat {
            committee: committee.to_owned(),
            unit: unit.to_owned(),
            cell: cell.to_owned(),
            eligible: status == MemberStatus::Eligible,
        }
    }
}

fn seat(conn: &mut DbConnection, member_id: i64) -> QueryResult<Option<Seat>> {
    let row: Option<(String, String, String, MemberStatus)> = members::table
        .find(member_id)
        .select((members::committee_code, members::unit, members::cell, members::status))
        .get_result(conn)
        .optional()?;
    Ok(row.map(|(committee, unit, cell, status)| Seat::new(&committee, &unit, &cell, status)))
}

/// The document's required revision, if it is required.
fn required_revision(conn: &mut DbConnection, document_id: &str) -> QueryResult<Option<i64>> {
    Ok(req::table.find(document_id).select(req::revision).get_result(conn).optional()?.flatten())
}

/// Whether the document's live audience includes the committee.
fn in_audience(conn: &mut DbConnection, document_id: &str, committee: &str) -> QueryResult<bool> {
    let all: bool = d::table.find(document_id).select(d::live_audience_all).get_result(conn)?;
    if all {
        return Ok(true);
    }
    let listed = aud::table.find((document_id, committee)).count().get_result::<i64>(conn)?;
    Ok(listed > 0)
}

/// Records that the member has read revision `revision` of the document, at `now`. Grow-only: the row keeps the
/// highest revision confirmed and the time of its first confirmation; a lower or equal revision changes nothing.
/// Call inside the write transaction that applies the read (a push): the counters move in it.
pub fn record_read(
    conn: &mut DbConnection,
    member_id: i64,
    document_id: &str,
    revision: i64,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let stored: Option<i64> =
        reads::table.find((member_id, document_id)).select(reads::revision).get_result(conn).optional()?;
    match stored {
        None => {
            diesel::insert_into(reads::table)
                .values((
                    reads::member_id.eq(member_id),
                    reads::document_id.eq(document_id),
                    reads::revision.eq(revision),
                    reads::read_at.eq(now),
                ))
                .execute(conn)?;
        }
        Some(stored) if stored < revision => {
            diesel::update(reads::table.find((member_id, document_id)))
                .set((reads::revision.eq(revision), reads::read_at.eq(now)))
                .execute(conn)?;
        }
        Some(_) => return Ok(()),
    }
    let Some(required) = required_revision(conn, document_id)? else { return Ok(()) };
    let counted_before = stored.is_some_and(|r| r >= required);
    if counted_before || revision < required {
        return Ok(());
    }
    match seat(conn, member_id)? {
        Some(seat) if seat.eligible && in_audience(conn, document_id, &seat.committee)? => {
            add(conn, document_id, &seat, 1)
        }
        _ => Ok(()),
    }
}

/// Moves the counters for a member whose committee, unit, cell or status changes from `before` to `after` (an
/// import): for each required document it has read at its required revision, out of the old place if it counted
/// there, into the new one if it counts there. Call inside the transaction that moves the member.
pub fn member_moved(conn: &mut DbConnection, member_id: i64, before: &Seat, after: &Seat) -> QueryResult<()> {
    if before == after || (!before.eligible && !after.eligible) {
        return Ok(());
    }
    let documents: Vec<String> = reads::table
        .inner_join(req::table.on(req::document_id.eq(reads::document_id)))
        .filter(reads::member_id.eq(member_id))
        .filter(req::revision.is_not_null())
        .filter(reads::revision.nullable().ge(req::revision))
        .select(reads::document_id)
        .load(conn)?;
    for document in documents {
        if before.eligible && in_audience(conn, &document, &before.committee)? {
            add(conn, &document, before, -1)?;
        }
        if after.eligible && in_audience(conn, &document, &after.committee)? {
            add(conn, &document, after, 1)?;
        }
    }
    Ok(())
}

/// (committee, unit, cell) of a counter row.
type CounterKey = (String, String, String);

fn keys(seat: &Seat) -> [CounterKey; 3] {
    [
        (seat.committee.clone(), String::new(), String::new()),
        (seat.committee.clone(), seat.unit.clone(), String::new()),
        (seat.committee.clone(), seat.unit.clone(), seat.cell.clone()),
    ]
}

fn add(conn: &mut DbConnection, document_id: &str, seat: &Seat, sign: i64) -> QueryResult<()> {
    for (committee, unit, cell) in keys(seat) {
        let row = rc::table.find((document_id, &committee, &unit, &cell));
        if diesel::update(row).set(rc::read.eq(rc::read + sign)).execute(conn)? == 1 {
            continue;
        }
        // A first row for this cell: two pushes of members of the same new cell may get here at once, so the row is
        // made with ON CONFLICT DO NOTHING (the second waits for the first and makes nothing), then moved.
        let new = (
            rc::document_id.eq(document_id),
            rc::committee_code.eq(&committee),
            rc::unit.eq(&unit),
            rc::cell.eq(&cell),
            rc::read.eq(0),
        );
        match conn {
            DbConnection::Postgresql(pg) => {
                diesel::insert_into(rc::table).values(new).on_conflict_do_nothing().execute(pg)?
            }
            DbConnection::Sqlite(sqlite) => {
                diesel::insert_into(rc::table).values(new).on_conflict_do_nothing().execute(sqlite)?
            }
        };
        diesel::update(row).set(rc::read.eq(rc::read + sign)).execute(conn)?;
    }
    Ok(())
}

/// Read counts of one cell of one document as a full scan finds them.
#[derive(Clone, Debug, PartialEq, Eq, QueryableByName)]
pub struct Recounted {
    #[diesel(sql_type = Text)]
    pub document_id: String,
    #[diesel(sql_type = Text)]
    pub committee_code: String,
    #[diesel(sql_type = Text)]
    pub unit: String,
    #[diesel(sql_type = Text)]
    pub cell: String,
    #[diesel(sql_type = BigInt)]
    pub read: i64,
}

/// The reads that count, grouped by document and cell: the naive GROUP BY that the counters exist to avoid. With
/// `document`, that document's only (a publish's recount, which the index on member_reads (document_id, …) serves).
pub fn full_count(conn: &mut DbConnection, document: Option<&str>) -> QueryResult<Vec<Recounted>> {
    let filter = match document {
        Some(_) => format!("AND r.document_id = {}", placeholder(conn)),
        None => String::new(),
    };
    let sql = format!(
        "SELECT r.document_id, m.committee_code, m.unit, m.cell, CAST(COUNT(*) AS BIGINT) AS read
         FROM member_reads r
         JOIN document_requirements q ON q.document_id = r.document_id
         JOIN documents d ON d.id = r.document_id
         JOIN members m ON m.id = r.member_id
         WHERE q.revision IS NOT NULL AND r.revision >= q.revision AND m.status = '{eligible}'
           AND (d.live_audience_all OR EXISTS (SELECT 1 FROM document_audience a
                                               WHERE a.document_id = d.id AND a.committee_code = m.committee_code))
           {filter}
         GROUP BY r.document_id, m.committee_code, m.unit, m.cell",
        eligible = MemberStatus::Eligible.as_str(),
    );
    match document {
        Some(id) => diesel::sql_query(sql).bind::<Text, _>(id).load(conn),
        None => diesel::sql_query(sql).load(conn),
    }
}

/// The counter rows (all three levels) that a full count gives, rows of zero left out: what the stored rows must
/// equal (tests compare them, zero rows left out on both sides).
pub fn expected_rows(cells: &[Recounted]) -> BTreeMap<(String, String, String, String), i64> {
    let mut rows = BTreeMap::new();
    for c in cells {
        let seat =
            Seat { committee: c.committee_code.clone(), unit: c.unit.clone(), cell: c.cell.clone(), eligible: true };
        for (committee, unit, cell) in keys(&seat) {
            *rows.entry((c.document_id.clone(), committee, unit, cell)).or_insert(0) += c.read;
        }
    }
    rows
}

/// The stored counter rows, zero rows left out.
pub fn stored_rows(conn: &mut DbConnection) -> QueryResult<BTreeMap<(String, String, String, String), i64>> {
    let rows: Vec<(String, String, String, String, i64)> = rc::table
        .filter(rc::read.ne(0))
        .select((rc::document_id, rc::committee_code, rc::unit, rc::cell, rc::read))
        .load(conn)?;
    Ok(rows.into_iter().map(|(d, c, u, cell, n)| ((d, c, u, cell), n)).collect())
}

/// Replaces one document's counters with a full count of its reads (none if it is not required). Call inside the
/// publish's write transaction, after the live audience and required revision are written.
pub fn recount_document(conn: &mut DbConnection, document_id: &str) -> QueryResult<()> {
    diesel::delete(rc::table.filter(rc::document_id.eq(document_id))).execute(conn)?;
    if required_revision(conn, document_id)?.is_none() {
        return Ok(());
    }
    let cells = full_count(conn, Some(document_id))?;
    let rows = expected_rows(&cells);
    let records: Vec<_> = rows
        .into_iter()
        .map(|((document, committee, unit, cell), read)| {
            (
                rc::document_id.eq(document),
                rc::committee_code.eq(committee),
                rc::unit.eq(unit),
                rc::cell.eq(cell),
                rc::read.eq(read),
            )
        })
        .collect();
    for batch in records.chunks(500) {
        match conn {
            DbConnection::Postgresql(pg) => diesel::insert_into(rc::table).values(batch).execute(pg)?,
            DbConnection::Sqlite(sqlite) => diesel::insert_into(rc::table).values(batch).execute(sqlite)?,
        };
    }
    Ok(())
}
