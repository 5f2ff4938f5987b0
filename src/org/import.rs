//! The member CSV import: parse and validate every row first, then apply all of it in one transaction,
//! or nothing at all. The same code serves the API and `handbook import-members`.
//!
//! One file of about 500 lines on purpose: parsing, the per-row rules and the one transaction that applies
//! them read top to bottom as one pipeline, which the API, the console and the CLI share whole. What is wrong
//! with a row is a [`Problem`], which the API writes in English (`FieldError`) and the console in Vietnamese.

use crate::reading::counters::Seat;
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
use crate::state::AppState;
use crate::text;
use crate::time::now;

use super::members::MemberStatus;
use crate::meetings::invitees::{Moves, Place};
use crate::meetings::Position;

/// At most this many row errors are reported; the total is always counted.
pub const MAX_REPORTED_ERRORS: usize = 1_000;
const REQUIRED: [&str; 6] = ["card_number", "full_name", "committee_code", "unit", "cell", "status"];
const OPTIONAL: [&str; 3] = ["birth_date", "phone", "position"];

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
    /// Secretary or deputy secretary of its own cell: manages the cell's meetings. A file without it clears it.
    pub position: Option<Position>,
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
    /// The first rows of each kind, for the console's preview (not part of the API's answer).
    #[serde(skip)]
    pub samples: Samples,
}

/// The first [`SAMPLES`] rows that an import creates, updates (before and after) and leaves unchanged.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Samples {
    pub created: Vec<MemberRow>,
    pub updated: Vec<(MemberRow, MemberRow)>,
    pub unchanged: Vec<MemberRow>,
}

/// Rows of each kind kept in [`Samples`].
pub const SAMPLES: usize = 10;

/// Who imports: an admin anything, an officer only rows of its own committee.
#[derive(Clone, Debug)]
pub struct ImportScope {
    pub committee: Option<String>,
}

/// What is wrong with a cell, a line or the file: one rule each, worded in English for the API and in Vietnamese
/// for the console (`english`, `vietnamese`); the API's JSON keeps its fields (`line`, `field`, `message`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    EmptyFile,
    NotUtf8,
    FieldCount { len: u64, expected: u64 },
    Unreadable,
    ColumnTwice,
    UnknownColumn,
    MissingColumn,
    Nul,
    Required,
    CardDigits,
    TooLong,
    NoSuchCommittee,
    OutsideCommittee,
    Status,
    BirthDate,
    Phone,
    Position,
    CardRepeated { card_number: String, first_line: u64 },
    OtherCommittee { card_number: String },
}

impl Problem {
    pub fn english(&self) -> String {
        match self {
            Problem::EmptyFile => "the file is empty: a header row is required".into(),
            Problem::NotUtf8 => "is not valid UTF-8: save the file as UTF-8".into(),
            Problem::FieldCount { len, expected } => format!("has {len} fields where the header has {expected}"),
            Problem::Unreadable => "cannot be read as CSV".into(),
            Problem::ColumnTwice => "the column appears twice".into(),
            Problem::UnknownColumn => "unknown column".into(),
            Problem::MissingColumn => "the column is missing from the header".into(),
            Problem::Nul => "contains U+0000 (NUL)".into(),
            Problem::Required => "is required".into(),
            Problem::CardDigits => "must be 6 to 16 digits".into(),
            Problem::TooLong => "is longer than 200 characters".into(),
            Problem::NoSuchCommittee => "no such committee".into(),
            Problem::OutsideCommittee => "outside your committee".into(),
            Problem::Status => "must be eligible, exempt or left".into(),
            Problem::BirthDate => "must be a date YYYY-MM-DD".into(),
            Problem::Phone => "must be a phone number of at most 20 digits and + - . ( )".into(),
            Problem::Position => "must be empty, secretary or deputy_secretary".into(),
            Problem::CardRepeated { card_number, first_line } => {
                format!("{card_number} appears again (first on line {first_line})")
            }
            Problem::OtherCommittee { card_number } => {
                format!("{card_number} belongs to another committee; ask the city to move this member")
            }
        }
    }

    pub fn vietnamese(&self) -> String {
        match self {
            Problem::EmptyFile => "Tệp trống: dòng đầu tiên phải là dòng tiêu đề (tên các cột).".into(),
            Problem::NotUtf8 => "Không phải văn bản UTF-8: hãy lưu tệp dưới dạng “CSV UTF-8”.".into(),
            Problem::FieldCount { len, expected } => {
                format!("Dòng có {len} ô, trong khi dòng tiêu đề có {expected} cột.")
            }
            Problem::Unreadable => "Không đọc được dòng này theo định dạng CSV.".into(),
            Problem::ColumnTwice => "Cột này xuất hiện hai lần trong dòng tiêu đề.".into(),
            Problem::UnknownColumn => "Tên cột không hợp lệ.".into(),
            Problem::MissingColumn => "Dòng tiêu đề thiếu cột này.".into(),
            Problem::Nul => "Có ký tự rỗng U+0000 (NUL).".into(),
            Problem::Required => "Không được để trống.".into(),
            Problem::CardDigits => "Số thẻ phải gồm 6 đến 16 chữ số.".into(),
            Problem::TooLong => "Dài quá 200 ký tự.".into(),
            Problem::NoSuchCommittee => "Không có đảng bộ nào mang mã này.".into(),
            Problem::OutsideCommittee => "Đảng viên không thuộc đảng bộ của bạn.".into(),
            Problem::Status => {
                "Trạng thái phải là eligible (đủ điều kiện), exempt (miễn sinh hoạt) hoặc left (đã rời).".into()
            }
            Problem::BirthDate => "Ngày sinh phải viết dạng năm-tháng-ngày, ví dụ 1975-04-30.".into(),
            Problem::Phone => "Số điện thoại tối đa 20 ký tự, chỉ gồm chữ số và + - . ( ).".into(),
            Problem::Position => {
                "Chức vụ phải để trống, hoặc là secretary (bí thư chi bộ) hay deputy_secretary (phó bí thư).".into()
            }
            Problem::CardRepeated { card_number, first_line } => {
                format!("Số thẻ {card_number} bị lặp lại (đã có ở dòng {first_line}).")
            }
            Problem::OtherCommittee { card_number } => {
                format!("Đảng viên {card_number} thuộc đảng bộ khác; việc chuyển đảng bộ do thành phố thực hiện.")
            }
        }
    }
}

/// One problem of the file: its line (the header is line 1), its column, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    pub line: u64,
    pub field: String,
    pub problem: Problem,
}

impl RowError {
    fn new(line: u64, field: impl Into<String>, problem: Problem) -> RowError {
        RowError { line, field: field.into(), problem }
    }

    /// As the API reports it.
    pub fn field_error(&self) -> FieldError {
        FieldError::on_line(self.line, self.field.clone(), self.problem.english())
    }
}

/// A file refused: the first [`MAX_REPORTED_ERRORS`] problems, and how many there were in all.
#[derive(Debug, PartialEq, Eq)]
pub struct Rejection {
    pub errors: Vec<RowError>,
    pub total: usize,
}

impl Rejection {
    fn of(errors: Vec<RowError>) -> Rejection {
        let total = errors.len();
        Rejection { errors, total }
    }
}

impl From<Rejection> for AppError {
    fn from(rejection: Rejection) -> AppError {
        AppError::Validation(rejection.errors.iter().map(RowError::field_error).collect())
    }
}

pub fn card_number_problem(card_number: &str) -> Option<Problem> {
    if card_number.is_empty() {
        Some(Problem::Required)
    } else if !(6..=16).contains(&card_number.len()) || !card_number.bytes().all(|b| b.is_ascii_digit()) {
        Some(Problem::CardDigits)
    } else {
        None
    }
}

/// The valid rows of a file, and the line each came from.
#[derive(Debug, Default)]
pub struct Parsed {
    pub rows: Vec<MemberRow>,
    pub lines: Vec<u64>,
}

/// Reads and validates the whole file. Problems carry the file's line numbers (the header is line 1).
pub fn parse(bytes: &[u8], known_committees: &HashSet<String>, scope: &ImportScope) -> Result<Parsed, Rejection> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    if first_line.iter().all(u8::is_ascii_whitespace) {
        return Err(Rejection::of(vec![RowError::new(1, "header", Problem::EmptyFile)]));
    }
    let delimiter =
        if first_line.iter().filter(|b| **b == b';').count() > first_line.iter().filter(|b| **b == b',').count() {
            b';'
        } else {
            b','
        };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(true).from_reader(bytes);
    let columns = header_columns(&mut reader)?;

    let mut parsed = Parsed::default();
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
                        Some(first) => problems.push(RowError::new(
                            line,
                            "card_number",
                            Problem::CardRepeated { card_number: row.card_number.clone(), first_line: *first },
                        )),
                        None => {
                            first_line_of.insert(row.card_number.clone(), line);
                            if problems.is_empty() {
                                parsed.rows.push(row);
                                parsed.lines.push(line);
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
                errors.push(RowError::new(line, "row", csv_problem(&error)));
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
        return Err(Rejection { errors, total: error_count });
    }
    Ok(parsed)
}

fn csv_problem(error: &csv::Error) -> Problem {
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => Problem::NotUtf8,
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            Problem::FieldCount { len: *len, expected: *expected_len }
        }
        _ => Problem::Unreadable,
    }
}

/// Column name → index, with every required column present and no unknown or repeated one.
fn header_columns(reader: &mut csv::Reader<&[u8]>) -> Result<HashMap<&'static str, usize>, Rejection> {
    let header = reader.headers().map_err(|e| Rejection::of(vec![RowError::new(1, "header", csv_problem(&e))]))?;
    let mut columns = HashMap::new();
    let mut errors = Vec::new();
    for (index, name) in header.iter().enumerate() {
        let name = name.trim().to_lowercase();
        match REQUIRED.iter().chain(OPTIONAL.iter()).find(|known| **known == name) {
            Some(known) if columns.contains_key(known) => {
                errors.push(RowError::new(1, known.to_string(), Problem::ColumnTwice))
            }
            Some(known) => {
                columns.insert(*known, index);
            }
            None => errors.push(RowError::new(1, name, Problem::UnknownColumn)),
        }
    }
    for required in REQUIRED {
        if !columns.contains_key(required) {
            errors.push(RowError::new(1, required, Problem::MissingColumn));
        }
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(Rejection::of(errors))
    }
}

fn validate_row(
    record: &csv::StringRecord,
    columns: &HashMap<&'static str, usize>,
    line: u64,
    known_committees: &HashSet<String>,
    scope: &ImportScope,
    problems: &mut Vec<RowError>,
) -> Option<MemberRow> {
    let mut with_nul: Vec<(&usize, &&str)> = columns
        .iter()
        .filter(|(_, i)| record.get(**i).is_some_and(|value| value.contains('\0')))
        .map(|(n, i)| (i, n))
        .collect();
    with_nul.sort();
    for (_, name) in with_nul {
        // PostgreSQL cannot store it, and no member's data has a use for it.
        problems.push(RowError::new(line, *name, Problem::Nul));
    }
    let field = |name: &str| columns.get(name).and_then(|i| record.get(*i)).map(text::clean).unwrap_or_default();
    let mut problem = |name: &str, problem: Problem| problems.push(RowError::new(line, name, problem));

    let card_number: String = field("card_number").chars().filter(|c| !c.is_whitespace()).collect();
    if let Some(found) = card_number_problem(&card_number) {
        problem("card_number", found);
    }
    let full_name = field("full_name");
    let unit = field("unit");
    let cell = field("cell");
    for (name, value) in [("full_name", &full_name), ("unit", &unit), ("cell", &cell)] {
        if value.is_empty() {
            problem(name, Problem::Required);
        } else if value.chars().count() > 200 {
            problem(name, Problem::TooLong);
        }
    }
    let committee_code = field("committee_code").to_uppercase();
    if committee_code.is_empty() {
        problem("committee_code", Problem::Required);
    } else if !known_committees.contains(&committee_code) {
        problem("committee_code", Problem::NoSuchCommittee);
    } else if scope.committee.as_ref().is_some_and(|own| *own != committee_code) {
        problem("committee_code", Problem::OutsideCommittee);
    }
    let status = field("status").to_lowercase().parse::<MemberStatus>().unwrap_or_else(|_| {
        problem("status", Problem::Status);
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
                problem("birth_date", Problem::BirthDate);
                None
            }
        },
    };
    let phone = match field("phone") {
        empty if empty.is_empty() => None,
        phone if phone.len() <= 20 && phone.chars().all(|c| c.is_ascii_digit() || "+-. ()".contains(c)) => Some(phone),
        _ => {
            problem("phone", Problem::Phone);
            None
        }
    };
    let position = match field("position").to_lowercase() {
        empty if empty.is_empty() => None,
        text => text.parse::<Position>().map(Some).unwrap_or_else(|_| {
            problem("position", Problem::Position);
            None
        }),
    };
    Some(MemberRow { unit, cell, card_number, full_name, committee_code, status, birth_date, phone, position })
}

pub fn known_committees(conn: &mut DbConnection) -> QueryResult<HashSet<String>> {
    Ok(committees::table.select(committees::code).load::<String>(conn)?.into_iter().collect())
}

type Existing =
    (i64, String, String, String, String, String, MemberStatus, Option<NaiveDate>, Option<String>, Option<Position>);

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
                members::position,
            ))
            .load(conn)?;
        for (id, card_number, full_name, committee_code, unit, cell, status, birth_date, phone, position) in existing {
            let row = MemberRow {
                card_number: card_number.clone(),
                full_name,
                committee_code,
                unit,
                cell,
                status,
                birth_date,
                phone,
                position,
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
    position: Option<Position>,
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
            position: row.position,
            created_at: at,
            updated_at: at,
        }
    }
}

/// Why an import applied nothing: the file's rows were refused, or the service failed.
#[derive(Debug)]
pub enum ImportError {
    Rejected(Rejection),
    Failed(AppError),
}

impl From<diesel::result::Error> for ImportError {
    fn from(error: diesel::result::Error) -> ImportError {
        ImportError::Failed(error.into())
    }
}

impl From<AppError> for ImportError {
    fn from(error: AppError) -> ImportError {
        ImportError::Failed(error)
    }
}

impl From<Rejection> for ImportError {
    fn from(rejection: Rejection) -> ImportError {
        ImportError::Rejected(rejection)
    }
}

impl From<ImportError> for AppError {
    fn from(error: ImportError) -> AppError {
        match error {
            ImportError::Rejected(rejection) => rejection.into(),
            ImportError::Failed(error) => error,
        }
    }
}

/// Applies validated rows in one write transaction (or, with `dry_run`, only counts what would change).
pub fn apply(
    conn: &mut DbConnection,
    parsed: &Parsed,
    scope: &ImportScope,
    dry_run: bool,
    actor: Option<&AuthUser>,
) -> Result<ImportOutcome, ImportError> {
    let rows = &parsed.rows;
    conn.write_transaction(|conn| {
        // Before reading any member: a meeting being scheduled meanwhile sees the moves, or this import its invitations.
        if !dry_run {
            conn.lock_key(crate::meetings::invitees::INVITATIONS_LOCK)?;
        }
        let started = std::time::Instant::now();
        let existing = existing_members(conn, rows)?;
        tracing::debug!(found = existing.len(), ms = started.elapsed().as_millis() as u64, "import: compared");
        let mut outcome = ImportOutcome { dry_run, ..ImportOutcome::default() };
        let samples = &mut outcome.samples;
        let mut new_rows = Vec::new();
        let mut changed = Vec::new();
        let mut errors = Vec::new();
        for (row, line) in rows.iter().zip(&parsed.lines) {
            match existing.get(&row.card_number) {
                None => {
                    if samples.created.len() < SAMPLES {
                        samples.created.push(row.clone());
                    }
                    new_rows.push(row);
                }
                Some((_, old)) if old == row => {
                    if samples.unchanged.len() < SAMPLES {
                        samples.unchanged.push(row.clone());
                    }
                    outcome.unchanged += 1;
                }
                Some((id, old)) => {
                    if scope.committee.as_ref().is_some_and(|own| *own != old.committee_code) {
                        let card_number = row.card_number.clone();
                        errors.push(RowError::new(*line, "card_number", Problem::OtherCommittee { card_number }));
                    }
                    if samples.updated.len() < SAMPLES {
                        samples.updated.push((old.clone(), row.clone()));
                    }
                    changed.push((*id, old, row));
                }
            }
        }
        if !errors.is_empty() {
            let total = errors.len();
            errors.truncate(MAX_REPORTED_ERRORS);
            return Err(Rejection { errors, total }.into());
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
        let place = |row: &MemberRow| Place::new(&row.committee_code, &row.unit, &row.cell, row.status);
        let mut moves = Moves::default();
        for row in &new_rows {
            moves.member_created(&row.card_number, place(row));
        }
        // Member rows are locked in ascending id order, as every writer of several members' rows does.
        changed.sort_by_key(|(id, _, _)| *id);
        for (id, old, row) in &changed {
            // Its reads of required documents count where it is now, and only while it is eligible.
            crate::reading::counters::member_moved(
                conn,
                *id,
                &Seat::new(&old.committee_code, &old.unit, &old.cell, old.status),
                &Seat::new(&row.committee_code, &row.unit, &row.cell, row.status),
            )?;
            // Its meeting invitations follow it (applied below, once every member row is locked).
            moves.member_moved(*id, place(old), place(row));
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
                    members::position.eq(row.position),
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
        moves.apply(conn, at)?;
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

/// Parse, validate and apply: the whole import, for the API, the console and the CLI alike.
/// `actor`: the signed-in caller, or `None` for the command line.
pub fn import(
    conn: &mut DbConnection,
    bytes: &[u8],
    scope: &ImportScope,
    dry_run: bool,
    actor: Option<&AuthUser>,
) -> Result<ImportOutcome, ImportError> {
    let started = std::time::Instant::now();
    let known = known_committees(conn)?;
    let parsed = parse(bytes, &known, scope)?;
    tracing::debug!(
        rows = parsed.rows.len(),
        ms = started.elapsed().as_millis() as u64,
        "import: parsed and validated"
    );
    apply(conn, &parsed, scope, dry_run, actor)
}

/// The import as a signed-in staff member asks for it (the API's and the console's): rows of the caller's scope
/// only; afterwards this instance learns at once of the sessions that members marked `left` lost.
pub async fn import_as<B>(
    state: &AppState,
    user: &AuthUser,
    bytes: B,
    dry_run: bool,
) -> Result<ImportOutcome, ImportError>
where
    B: AsRef<[u8]> + Send + 'static,
{
    user.require_staff()?;
    let scope = ImportScope { committee: user.scope().into_committee() };
    let actor = user.clone();
    let outcome = state.db.run(move |conn| Ok(import(conn, bytes.as_ref(), &scope, dry_run, Some(&actor)))).await?;
    if !dry_run {
        // Members marked `left` lost their sessions: their access tokens stop here at once, elsewhere within seconds.
        crate::auth::revocations::catch_up(state).await;
    }
    outcome
}
