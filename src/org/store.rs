//! Committees: the 48 affiliated party committees of the city.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{committees, coverage_counts};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::text;
use crate::time::now;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Committee {
    pub code: String,
    pub name: String,
    /// From the coverage counters.
    pub eligible: i64,
}

#[diesel::dsl::auto_type]
fn with_eligible() -> _ {
    committees::table.left_join(
        coverage_counts::table.on(coverage_counts::committee_code
            .eq(committees::code)
            .and(coverage_counts::unit.eq(""))
            .and(coverage_counts::cell.eq(""))),
    )
}

#[diesel::dsl::auto_type]
fn committee_columns() -> _ {
    (committees::code, committees::name, coverage_counts::eligible.nullable())
}

fn committee((code, name, eligible): (String, String, Option<i64>)) -> Committee {
    Committee { code, name, eligible: eligible.unwrap_or(0) }
}

/// Committees the caller may see: all, or only `scope`.
pub fn list_committees(conn: &mut DbConnection, scope: Option<&str>) -> QueryResult<Vec<Committee>> {
    let mut query = with_eligible().select(committee_columns()).order(committees::code).into_boxed();
    if let Some(scope) = scope {
        query = query.filter(committees::code.eq(scope.to_owned()));
    }
    Ok(query.load(conn)?.into_iter().map(committee).collect())
}

pub fn find_committee(conn: &mut DbConnection, code: &str) -> QueryResult<Option<Committee>> {
    Ok(with_eligible()
        .filter(committees::code.eq(code))
        .select(committee_columns())
        .get_result(conn)
        .optional()?
        .map(committee))
}

/// A committee code: 1 to 16 of A–Z, 0–9, '-' and '_' (upper-cased on the way in).
pub fn check_code(code: &str) -> Result<String, FieldError> {
    let code = code.trim().to_uppercase();
    let valid =
        (1..=16).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(code)
    } else {
        Err(FieldError::new("code", "1 to 16 letters, digits, '-' or '_'"))
    }
}

pub fn check_name(name: &str) -> Result<String, FieldError> {
    let name = text::clean(name);
    if name.is_empty() || name.chars().count() > 200 {
        return Err(FieldError::new("name", "1 to 200 characters"));
    }
    Ok(name)
}

pub fn insert_committee(conn: &mut DbConnection, code: &str, name: &str) -> Result<Committee, AppError> {
    conn.write_transaction(|conn| {
        if find_committee(conn, code)?.is_some() {
            return Err(AppError::Conflict(format!("a committee with code {code} exists")));
        }
        let at = now();
        diesel::insert_into(committees::table)
            .values((
                committees::code.eq(code),
                committees::name.eq(name),
                committees::created_at.eq(at),
                committees::updated_at.eq(at),
            ))
            .execute(conn)?;
        crate::coverage::counters::ensure_row(conn, code, "", "")?;
        Ok(Committee { code: code.to_owned(), name: name.to_owned(), eligible: 0 })
    })
}

pub fn rename_committee(conn: &mut DbConnection, code: &str, name: &str) -> Result<Committee, AppError> {
    let renamed = diesel::update(committees::table.find(code))
        .set((committees::name.eq(name), committees::updated_at.eq(now())))
        .execute(conn)?;
    if renamed == 0 {
        return Err(AppError::NotFound);
    }
    find_committee(conn, code)?.ok_or(AppError::NotFound)
}

/// Creates or renames every committee of a `code,name` CSV, in one transaction. Returns (created, renamed).
pub fn import_committees(conn: &mut DbConnection, csv_bytes: &[u8]) -> Result<(usize, usize), AppError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(csv_bytes);
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| AppError::BadRequest(format!("the committees CSV cannot be read: {e}")))?;
        let line = record.position().map(|p| p.line()).unwrap_or_default();
        match (check_code(record.get(0).unwrap_or_default()), check_name(record.get(1).unwrap_or_default())) {
            (Ok(code), Ok(name)) => rows.push((code, name)),
            (code, name) => {
                for error in [code.err(), name.err()].into_iter().flatten() {
                    errors.push(FieldError { line: Some(line), ..error });
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    conn.write_transaction(|conn| {
        let (mut created, mut renamed) = (0, 0);
        for (code, name) in &rows {
            match find_committee(conn, code)? {
                None => {
                    insert_committee(conn, code, name)?;
                    created += 1;
                }
                Some(existing) if existing.name != *name => {
                    rename_committee(conn, code, name)?;
                    renamed += 1;
                }
                Some(_) => {}
            }
        }
        Ok((created, renamed))
    })
}
