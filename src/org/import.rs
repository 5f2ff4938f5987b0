//! The member CSV import: parse and validate every row first, then apply all of it in one transaction,
//! or nothing at all. The same code serves the API and `handbook import-members`.
//!
//! One file of about 500 lines on purpose: parsing, the per-row rules and the one transaction that applies
//! them read top to bottom as one pipeline, which the API and the CLI share whole.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::Serialize;

use serde_json::json;

use crate::audit;
use crate::auth::{sessions, AuthUser, Subject};
use crate::db::schema::{committees, members};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::text;
use crate::time::now;

use super::members::MemberStatus;

/// At most this many row errors are reported; the total is always counted.
pub const MAX_REPORTED_ERRORS: usize = 1_000;
const REQUIRED: [&str; 6] = ["card_number", "full_name", "committee_code", "unit", "cell", "status"];
const OPTIONAL: [&str; 2] = ["birth_date", "phone"];

/// One valid row, as it will be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberRow {
    pub card_number: String,
    pub full_name: String,
    pub committee_code: String,
    pub unit: String,
    pub cell: String,
    pub status: MemberStatus,
    pub birth_date: Option<NaiveDate>,
    pub phone: Option<String>,
}

/// What an import did (or, with `dry_run`, would do).
#[derive(Debug, Default, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ImportOutcome {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Always empty on success: any invalid row makes the import a 422.
    pub errors: Vec<FieldError>,
    pub dry_run: bool,
}

/// Who imports: an admin anything, an officer only rows of its own committee.
#[derive(Clone, Debug)]
pub struct ImportScope {
    pub committee: Option<String>,
}

pub fn card_number_problem(card_number: &str) -> Option<&'static str> {
    if card_number.is_empty() {
        Some("is required")
    } else if !(6..=16).contains(&card_number.len()) || !card_number.bytes().all(|b| b.is_ascii_digit()) {
        Some("must be 6 to 16 digits")
    } else {
        None
    }
}

/// Reads and validates the whole file. Errors carry the file's line numbers (the header is line 1).
pub fn parse(
    bytes: &[u8],
    known_committees: &HashSet<String>,
    scope: &ImportScope,
) -> Result<Vec<MemberRow>, AppError> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    if first_line.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::Validation(vec![FieldError::on_line(
            1,
            "header",
            "the file is empty: a header row is required",
        )]));
    }
    let delimiter =
        if first_line.iter().filter(|b| **b == b';').count() > first_line.iter().filter(|b| **b == b',').count() {
            b';'
        } else {
            b','
        };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(true).from_reader(bytes);
    let columns = header_columns(&mut reader)?;

    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut error_count = 0usize; // every error, also those past the reported ones
    let mut first_line_of: HashMap<String, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map(|p| p.line()).unwrap_or(line);
                if record.iter().all(|field| field.trim().is_empty()) {
                    continue;
                }
                let mut problems = Vec::new();
                let row = validate_row(&record, &columns, line, known_committees, scope, &mut problems);
                if let Some(row) = row {
                    match first_line_of.get(&row.card_number) {
                        Some(first) => problems.push(FieldError::on_line(
                            line,
                            "card_number",
                            format!("{} appears again (first on line {first})", row.card_number),
                        )),
                        None => {
                            first_line_of.insert(row.card_number.clone(), line);
                            if problems.is_empty() {
                                rows.push(row);
                            }
                        }
                    }
                }
                error_count += problems.len();
                errors.extend(problems);
            }
            Err(error) => {
                error_count += 1;
                let line = error.position().map(|p| p.line()).unwrap_or(line);
                errors.push(FieldError::on_line(line, "row", csv_problem(&error)));
                if !matches!(error.kind(), csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }) {
                    break;
                }
            }
        }
        if errors.len() > MAX_REPORTED_ERRORS {
            errors.truncate(MAX_REPORTED_ERRORS);
        }
    }
    if error_count > 0 {
        return Err(AppError::Validation(errors));
    }
    Ok(rows)
}

fn csv_problem(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8: save the file as UTF-8".into(),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("has {len} fields where the header has {expected_len}")
        }
        _ => "cannot be read as CSV".into(),
    }
}

/// Column name → index, with every required column present and no unknown or repeated one.
fn header_columns(reader: &mut csv::Reader<&[u8]>) -> Result<HashMap<&'static str, usize>, AppError> {
    let header =
        reader.headers().map_err(|e| AppError::Validation(vec![FieldError::on_line(1, "header", csv_problem(&e))]))?;
    let mut columns = HashMap::new();
    let mut errors = Vec::new();
    for (index, name) in header.iter().enumerate() {
        let name = name.trim().to_lowercase();
        match REQUIRED.iter().chain(OPTIONAL.iter()).find(|known| **known == name) {
            Some(known) if columns.contains_key(known) => {
                errors.push(FieldError::on_line(1, known.to_string(), "the column appears twice"))
            }
            Some(known) => {
                columns.insert(*known, index);
            }
            None => errors.push(FieldError::on_line(1, name, "unknown column")),
        }
    }
    for required in REQUIRED {
        if !columns.contains_key(required) {
            errors.push(FieldError::on_line(1, required, "the column is missing from the header"));
        }
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(AppError::Validation(errors))
    }
}

fn validate_row(
    record: &csv::StringRecord,
    columns: &HashMap<&'static str, usize>,
    line: u64,
    known_committees: &HashSet<String>,
    scope: &ImportScope,
    problems: &mut Vec<FieldError>,
) -> Option<MemberRow> {
    let mut with_nul: Vec<(&usize, &&str)> = columns
        .iter()
        .filter(|(_, i)| record.get(**i).is_some_and(|value| value.contains('\0')))
        .map(|(n, i)| (i, n))
        .collect();
    with_nul.sort();
    for (_, name) in with_nul {
        // PostgreSQL cannot store it, and no member's data has a use for it.
        problems.push(FieldError::on_line(line, *name, "contains U+0000 (NUL)"));
    }
    let field = |name: &str| columns.get(name).and_then(|i| record.get(*i)).map(text::clean).unwrap_or_default();
    let mut problem = |name: &str, message: &str| problems.push(FieldError::on_line(line, name, message));

    let card_number: String = field("card_number").chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(message) = card_number_problem(&card_number) {
        problem("card_number", message);
    }
    let full_name = field("full_name");
    let unit = field("unit");
    let cell = field("cell");
    for (name, value) in [("full_name", &full_name), ("unit", &unit), ("cell", &cell)] {
        if value.is_empty() {
            problem(name, "is required");
        } else if value.chars().count() > 200 {
            problem(name, "is longer than 200 characters");
        }
    }
    let committee_code = field("committee_code").to_uppercase();
    if committee_code.is_empty() {
        problem("committee_code", "is required");
    } else if !known_committees.contains(&committee_code) {
        problem("committee_code", "no such committee");
    } else if scope.committee.as_ref().is_some_and(|own| *own != committee_code) {
        problem("committee_code", "outside your committee");
    }
    let status = field("status").to_lowercase().parse::<MemberStatus>().unwrap_or_else(|_| {
        problem("status", "must be eligible, exempt or left");
        // A stand-in: a row with a problem is reported, never applied.
        MemberStatus::Eligible
    });
    let birth_date = match field("birth_date") {
        empty if empty.is_empty() => None,
        text => match NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            Ok(date) if date.format("%Y").to_string().parse::<i32>().is_ok_and(|y| (1900..=2100).contains(&y)) => {
                Some(date)
            }
            _ => {
                problem("birth_date", "must be a date YYYY-MM-DD");
                None
            }
        },
    };
    let phone = match field("phone") {
        empty if empty.is_empty() => None,
        phone if phone.len() <= 20 && phone.chars().all(|c| c.is_ascii_digit() || "+-. ()".contains(c)) => Some(phone),
        _ => {
            problem("phone", "must be a phone number of at most 20 digits and + - . ( )");
            None
        }
    };
    Some(MemberRow { unit, cell, card_number, full_name, committee_code, status, birth_date, phone })
}

pub fn known_committees(conn: &mut DbConnection) -> QueryResult<HashSet<String>> {
    Ok(committees::table.select(committees::code).load::<String>(conn)?.into_iter().collect())
}

type Existing = (i64, String, String, String, String, String, MemberStatus, Option<NaiveDate>, Option<String>);

/// Files this large compare against every member in one scan rather than in chunks of card numbers.
const FULL_SCAN_ROWS: usize = 20_000;

fn existing_members(conn: &mut DbConnection, rows: &[MemberRow]) -> QueryResult<HashMap<String, (i64, MemberRow)>> {
    let mut found = HashMap::with_capacity(rows.len());
    let chunks: Vec<Option<Vec<&str>>> = if rows.len() >= FULL_SCAN_ROWS {
        vec![None]
    } else {
        rows.chunks(5_000).map(|chunk| Some(chunk.iter().map(|r| r.card_number.as_str()).collect())).collect()
    };
    for cards in chunks {
        let mut query = members::table.into_boxed();
        if let Some(cards) = cards {
            query = query.filter(members::card_number.eq_any(cards));
        }
        let existing: Vec<Existing> = query
            .select((
                members::id,
                members::card_number,
                members::full_name,
                members::committee_code,
                members::unit,
                members::cell,
                members::status,
                members::birth_date,
                members::phone,
            ))
            .load(conn)?;
        for (id, card_number, full_name, committee_code, unit, cell, status, birth_date, phone) in existing {
            let row = MemberRow {
                card_number: card_number.clone(),
                full_name,
                committee_code,
                unit,
                cell,
                status,
                birth_date,
                phone,
            };
            found.insert(card_number, (id, row));
        }
    }
    Ok(found)
}

#[derive(Insertable)]
#[diesel(table_name = members, treat_none_as_default_value = false)]
struct NewMember<'a> {
    card_number: &'a str,
    full_name: &'a str,
    search_name: String,
    committee_code: &'a str,
    unit: &'a str,
    cell: &'a str,
    status: MemberStatus,
    birth_date: Option<NaiveDate>,
    phone: Option<&'a str>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl<'a> NewMember<'a> {
    fn from_row(row: &'a MemberRow, at: NaiveDateTime) -> Self {
        NewMember {
            card_number: &row.card_number,
            full_name: &row.full_name,
            search_name: text::fold(&row.full_name),
            committee_code: &row.committee_code,
            unit: &row.unit,
            cell: &row.cell,
            status: row.status,
            birth_date: row.birth_date,
            phone: row.phone.as_deref(),
            created_at: at,
            updated_at: at,
        }
    }
}

/// Applies validated rows in one write transaction (or, with `dry_run`, only counts what would change).
pub fn apply(
    conn: &mut DbConnection,
    rows: &[MemberRow],
    scope: &ImportScope,
    dry_run: bool,
    actor: Option<&AuthUser>,
) -> Result<ImportOutcome, AppError> {
    conn.write_transaction(|conn| {
        let started = std::time::Instant::now();
        let existing = existing_members(conn, rows)?;
        tracing::debug!(found = existing.len(), ms = started.elapsed().as_millis() as u64, "import: compared");
        let mut outcome = ImportOutcome { dry_run, ..ImportOutcome::default() };
        let mut new_rows = Vec::new();
        let mut changed = Vec::new();
        let mut errors = Vec::new();
        for row in rows {
            match existing.get(&row.card_number) {
                None => new_rows.push(row),
                Some((_, old)) if old == row => outcome.unchanged += 1,
                Some((id, old)) => {
                    if scope.committee.as_ref().is_some_and(|own| *own != old.committee_code) {
                        errors.push(FieldError::new(
                            "card_number",
                            format!(
                                "{} belongs to another committee; ask the city to move this member",
                                row.card_number
                            ),
                        ));
                    }
                    changed.push((*id, old, row));
                }
            }
        }
        if !errors.is_empty() {
            errors.truncate(MAX_REPORTED_ERRORS);
            return Err(AppError::Validation(errors));
        }
        outcome.created = new_rows.len();
        outcome.updated = changed.len();
        if dry_run {
            return Ok(outcome);
        }

        let at = now();
        let started = std::time::Instant::now();
        // A large file compared against an empty table (one full scan found nobody) is the first load of the city.
        let into_empty_table = rows.len() >= FULL_SCAN_ROWS && existing.is_empty();
        if into_empty_table {
            bulk_load_members(conn, &new_rows, at)?;
        } else {
            insert_members(conn, &new_rows, at)?;
        }
        tracing::debug!(rows = new_rows.len(), ms = started.elapsed().as_millis() as u64, "import: inserted");
        let mut touched: HashSet<&str> = new_rows.iter().map(|r| r.committee_code.as_str()).collect();
        for (id, old, row) in &changed {
            diesel::update(members::table.find(*id))
                .set((
                    members::full_name.eq(&row.full_name),
                    members::search_name.eq(text::fold(&row.full_name)),
                    members::committee_code.eq(&row.committee_code),
                    members::unit.eq(&row.unit),
                    members::cell.eq(&row.cell),
                    members::status.eq(row.status),
                    members::birth_date.eq(row.birth_date),
                    members::phone.eq(&row.phone),
                    members::updated_at.eq(at),
                ))
                .execute(conn)?;
            if row.status == MemberStatus::Left && old.status != MemberStatus::Left {
                // A member who left cannot sign in any more: end every session now.
                sessions::revoke_all(conn, Subject::Member(*id), None, at)?;
            }
            if row.committee_code != old.committee_code || row.status != old.status {
                // Its devices now receive another committee's documents, or none.
                crate::sync::installations::follow_member(conn, *id)?;
            }
            touched.insert(&old.committee_code);
            touched.insert(&row.committee_code);
        }
        let touched: Vec<String> = touched.into_iter().map(str::to_owned).collect();
        let started = std::time::Instant::now();
        crate::coverage::counters::recount(conn, &touched, at)?;
        tracing::debug!(committees = touched.len(), ms = started.elapsed().as_millis() as u64, "import: recounted");
        let detail = json!({ "created": outcome.created, "updated": outcome.updated, "unchanged": outcome.unchanged });
        match actor {
            Some(user) => audit::record(conn, user, "members.import", "members", scope.committee.as_deref(), detail)?,
            None => audit::record_as(conn, "command line", "operator", "members.import", "members", None, detail)?,
        }
        Ok(outcome)
    })
}

/// The secondary indexes of `members`, exactly as the migrations create them.
const MEMBER_INDEXES: [(&str, &str); 2] = [
    ("members_by_committee", "CREATE INDEX members_by_committee ON members (committee_code, card_number)"),
    ("members_by_place", "CREATE INDEX members_by_place ON members (committee_code, unit, cell, full_name)"),
];

/// Loads rows into the empty `members` table: the secondary indexes are dropped and built again afterwards (one sort
/// each instead of a B-tree insertion per row), and on PostgreSQL the committee foreign key too (checked again by one
/// join when it is added back, instead of a trigger query per row). All of it inside the import's transaction, so a
/// failure or a crash leaves the table, its indexes and its key as they were; the schema lock it takes blocks readers
/// of `members` only while the city's first import runs.
fn bulk_load_members(conn: &mut DbConnection, rows: &[&MemberRow], at: NaiveDateTime) -> QueryResult<()> {
    const FOREIGN_KEY: &str = "members_committee_code_fkey";
    for (name, _) in MEMBER_INDEXES {
        conn.batch_execute(&format!("DROP INDEX {name}"))?;
    }
    if let DbConnection::Postgresql(_) = conn {
        conn.batch_execute(&format!("ALTER TABLE members DROP CONSTRAINT {FOREIGN_KEY}"))?;
    }
    insert_members(conn, rows, at)?;
    for (_, create) in MEMBER_INDEXES {
        conn.batch_execute(create)?;
    }
    if let DbConnection::Postgresql(_) = conn {
        conn.batch_execute(&format!(
            "ALTER TABLE members ADD CONSTRAINT {FOREIGN_KEY} FOREIGN KEY (committee_code) REFERENCES committees (code)"
        ))?;
    }
    Ok(())
}

fn insert_members(conn: &mut DbConnection, rows: &[&MemberRow], at: NaiveDateTime) -> QueryResult<()> {
    // Bulk loading is where the backends part ways: COPY on PostgreSQL, multi-row INSERTs on SQLite.
    match conn {
        DbConnection::Postgresql(pg) => {
            if !rows.is_empty() {
                let records: Vec<NewMember> = rows.iter().map(|r| NewMember::from_row(r, at)).collect();
                diesel::copy_from(members::table).from_insertable(records).execute(pg)?;
            }
        }
        DbConnection::Sqlite(sqlite) => {
            // One cached prepared statement, row after row: cheaper in SQLite than building huge multi-row INSERTs.
            // A bulk load gets a page cache that holds the table and its indexes (the default 2 MB makes SQLite
            // evict and spill pages mid-transaction); the connection goes back to the pool at its usual size.
            let bulk = rows.len() >= 10_000;
            if bulk {
                sqlite.batch_execute("PRAGMA cache_size = -262144")?;
            }
            let inserted = rows.iter().try_for_each(|row| {
                diesel::insert_into(members::table).values(NewMember::from_row(row, at)).execute(sqlite).map(drop)
            });
            if bulk {
                sqlite.batch_execute("PRAGMA cache_size = -2000")?;
            }
            inserted?;
        }
    }
    Ok(())
}

/// Parse, validate and apply: the whole import, for the API and the CLI alike.
/// `actor`: the signed-in caller, or `None` for the command line.
pub fn import(
    conn: &mut DbConnection,
    bytes: &[u8],
    scope: &ImportScope,
    dry_run: bool,
    actor: Option<&AuthUser>,
) -> Result<ImportOutcome, AppError> {
    let started = std::time::Instant::now();
    let known = known_committees(conn)?;
    let rows = parse(bytes, &known, scope)?;
    tracing::debug!(rows = rows.len(), ms = started.elapsed().as_millis() as u64, "import: parsed and validated");
    apply(conn, &rows, scope, dry_run, actor)
}
