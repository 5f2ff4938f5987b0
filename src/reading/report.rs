//! Read coverage of required documents, read from counters only: `reading_counts` for who has read, and
//! `coverage_counts` for the eligible members of the audience (never stored twice). Definitions (API.md): eligible
//! = status `eligible` in a committee of the document's audience; read = of those, a `read.mark` at the revision that
//! made the document required or a later one; coverage = read / eligible (0 when eligible is 0).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::AuthUser;
use crate::content::states::LiveState;
use crate::csv_export::{Cell, CsvExport};
use crate::db::schema::{
    committees, coverage_counts as cc, document_audience as aud, document_requirements as req, documents as d,
    member_reads as reads, members, reading_counts as rc,
};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::org::members::MemberStatus;

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReadCounts {
    /// Eligible members of the audience.
    pub eligible: i64,
    /// Of those, members who have read it (at the required revision or later).
    pub read: i64,
    /// read / eligible, rounded to 4 decimals (0 when eligible is 0).
    #[schema(minimum = 0, maximum = 1)]
    pub coverage: f64,
}

impl ReadCounts {
    pub fn new(eligible: i64, read: i64) -> ReadCounts {
        let coverage = if eligible > 0 { (read as f64 / eligible as f64).clamp(0.0, 1.0) } else { 0.0 };
        ReadCounts { eligible, read, coverage: (coverage * 10_000.0).round() / 10_000.0 }
    }

    fn plus(self, other: ReadCounts) -> ReadCounts {
        ReadCounts::new(self.eligible + other.eligible, self.read + other.read)
    }
}

/// One required document in the list.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct RequiredDocument {
    pub document_id: String,
    pub title: String,
    /// The revision that made it required: reads of it or of a later one count.
    pub revision: i64,
    #[schema(format = DateTime)]
    pub due_at: String,
    #[serde(flatten)]
    pub counts: ReadCounts,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CommitteeReading {
    pub code: String,
    pub name: String,
    #[serde(flatten)]
    pub counts: ReadCounts,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct DocumentReading {
    pub document_id: String,
    pub title: String,
    /// The revision that made it required.
    pub revision: i64,
    #[schema(format = DateTime)]
    pub due_at: String,
    pub totals: ReadCounts,
    pub committees: Vec<CommitteeReading>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CellReading {
    pub cell: String,
    #[serde(flatten)]
    pub counts: ReadCounts,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct UnitReading {
    pub unit: String,
    #[serde(flatten)]
    pub counts: ReadCounts,
    pub cells: Vec<CellReading>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CommitteeDocumentReading {
    pub document_id: String,
    pub title: String,
    #[schema(format = DateTime)]
    pub due_at: String,
    pub committee: CommitteeReading,
    pub units: Vec<UnitReading>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotRead {
    pub card_number: String,
    pub full_name: String,
    pub unit: String,
    pub cell: String,
}

/// A required document as the reports need it.
struct Required {
    id: String,
    title: String,
    revision: i64,
    due_at: NaiveDateTime,
    /// `None`: the whole city.
    audience: Option<Vec<String>>,
}

impl Required {
    fn reaches(&self, code: &str) -> bool {
        self.audience.as_ref().is_none_or(|codes| codes.iter().any(|c| c == code))
    }
}

/// Required documents (ever published with `required`), latest due date first.
fn required_documents(conn: &mut DbConnection, only: Option<&str>) -> QueryResult<Vec<Required>> {
    type Row = (String, Option<String>, Option<i64>, Option<NaiveDateTime>, bool);
    let mut query = d::table
        .inner_join(req::table.on(req::document_id.eq(d::id)))
        .filter(req::revision.is_not_null())
        .filter(d::required_due_at.is_not_null())
        // A withdrawn document stays in the list: who read it while it was out is still worth knowing.
        .filter(d::live_state.ne(LiveState::Draft))
        .select((d::id, d::live_title, req::revision, d::required_due_at, d::live_audience_all))
        .order((d::required_due_at.desc(), d::id))
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(d::id.eq(id.to_owned()));
    }
    let rows: Vec<Row> = query.load(conn)?;
    let ids: Vec<&String> = rows.iter().filter(|r| !r.4).map(|r| &r.0).collect();
    let listed: Vec<(String, String)> = if ids.is_empty() {
        Vec::new()
    } else {
        aud::table.filter(aud::document_id.eq_any(ids)).select((aud::document_id, aud::committee_code)).load(conn)?
    };
    Ok(rows
        .into_iter()
        .map(|(id, title, revision, due_at, all)| {
            let audience =
                (!all).then(|| listed.iter().filter(|(doc, _)| *doc == id).map(|(_, code)| code.clone()).collect());
            Required {
                title: title.unwrap_or_default(),
                revision: revision.unwrap_or(0),
                due_at: due_at.unwrap_or_default(),
                audience,
                id,
            }
        })
        .collect())
}

/// The eligible members of every committee (48 counter rows).
fn eligible_by_committee(conn: &mut DbConnection) -> QueryResult<BTreeMap<String, (String, i64)>> {
    let rows: Vec<(String, String, Option<i64>)> = committees::table
        .left_join(cc::table.on(cc::committee_code.eq(committees::code).and(cc::unit.eq("")).and(cc::cell.eq(""))))
        .select((committees::code, committees::name, cc::eligible.nullable()))
        .load(conn)?;
    Ok(rows.into_iter().map(|(code, name, eligible)| (code, (name, eligible.unwrap_or(0)))).collect())
}

/// Read counts of each committee for the documents (committee rows of `reading_counts`).
fn read_by_committee(conn: &mut DbConnection, ids: &[String]) -> QueryResult<BTreeMap<(String, String), i64>> {
    let rows: Vec<(String, String, i64)> = rc::table
        .filter(rc::document_id.eq_any(ids))
        .filter(rc::unit.eq(""))
        .filter(rc::cell.eq(""))
        .select((rc::document_id, rc::committee_code, rc::read))
        .load(conn)?;
    Ok(rows.into_iter().map(|(doc, code, n)| ((doc, code), n)).collect())
}

fn committees_of(
    doc: &Required,
    user: &AuthUser,
    eligible: &BTreeMap<String, (String, i64)>,
    read: &BTreeMap<(String, String), i64>,
) -> Vec<CommitteeReading> {
    eligible
        .iter()
        .filter(|(code, _)| doc.reaches(code) && user.manages(code))
        .map(|(code, (name, eligible))| CommitteeReading {
            code: code.clone(),
            name: name.clone(),
            counts: ReadCounts::new(*eligible, read.get(&(doc.id.clone(), code.clone())).copied().unwrap_or(0)),
        })
        .collect()
}

/// The required documents the caller follows (an officer: those addressed to its committee, counted there only).
pub fn list(conn: &mut DbConnection, user: &AuthUser) -> QueryResult<Vec<RequiredDocument>> {
    let docs = required_documents(conn, None)?;
    let eligible = eligible_by_committee(conn)?;
    let ids: Vec<String> = docs.iter().map(|doc| doc.id.clone()).collect();
    let read = read_by_committee(conn, &ids)?;
    Ok(docs
        .iter()
        .filter_map(|doc| {
            let parts = committees_of(doc, user, &eligible, &read);
            if parts.is_empty() {
                return None;
            }
            let counts = parts.iter().fold(ReadCounts::default(), |sum, c| sum.plus(c.counts));
            Some(RequiredDocument {
                document_id: doc.id.clone(),
                title: doc.title.clone(),
                revision: doc.revision,
                due_at: crate::time::rfc3339(doc.due_at),
                counts,
            })
        })
        .collect())
}

/// A required document the caller follows, else 404.
fn required_for(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<Required, AppError> {
    let doc = required_documents(conn, Some(id))?.into_iter().next().ok_or(AppError::NotFound)?;
    let followed = match user.scope().into_committee() {
        None => true,
        Some(own) => doc.reaches(&own),
    };
    if followed {
        Ok(doc)
    } else {
        Err(AppError::NotFound)
    }
}

/// One required document per committee of its audience (an officer: its own).
pub fn document(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<DocumentReading, AppError> {
    let doc = required_for(conn, user, id)?;
    let eligible = eligible_by_committee(conn)?;
    let read = read_by_committee(conn, std::slice::from_ref(&doc.id))?;
    let committees = committees_of(&doc, user, &eligible, &read);
    let totals = committees.iter().fold(ReadCounts::default(), |sum, c| sum.plus(c.counts));
    Ok(DocumentReading {
        document_id: doc.id,
        title: doc.title,
        revision: doc.revision,
        due_at: crate::time::rfc3339(doc.due_at),
        totals,
        committees,
    })
}

/// One committee of a required document's audience, by unit and cell (admin, that committee's officer; else 404).
pub fn committee(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
    code: &str,
) -> Result<CommitteeDocumentReading, AppError> {
    if !user.manages(code) {
        return Err(AppError::NotFound);
    }
    let doc = required_for(conn, user, id)?;
    if !doc.reaches(code) {
        return Err(AppError::NotFound);
    }
    let name: String =
        committees::table.find(code).select(committees::name).get_result(conn).optional()?.ok_or(AppError::NotFound)?;
    let eligible: Vec<(String, String, i64)> = cc::table
        .filter(cc::committee_code.eq(code))
        .select((cc::unit, cc::cell, cc::eligible))
        .order((cc::unit, cc::cell))
        .load(conn)?;
    let read: BTreeMap<(String, String), i64> = rc::table
        .filter(rc::document_id.eq(id))
        .filter(rc::committee_code.eq(code))
        .select((rc::unit, rc::cell, rc::read))
        .load::<(String, String, i64)>(conn)?
        .into_iter()
        .map(|(unit, cell, n)| ((unit, cell), n))
        .collect();
    let mut committee = CommitteeReading { code: code.to_owned(), name, counts: ReadCounts::default() };
    let mut units: Vec<UnitReading> = Vec::new();
    for (unit, cell, eligible) in eligible {
        let counts = ReadCounts::new(eligible, read.get(&(unit.clone(), cell.clone())).copied().unwrap_or(0));
        match (unit.as_str(), cell.as_str()) {
            ("", "") => committee.counts = counts,
            (_, "") => units.push(UnitReading { unit, counts, cells: Vec::new() }),
            _ => {
                if let Some(last) = units.last_mut().filter(|u| u.unit == unit) {
                    last.cells.push(CellReading { cell, counts });
                }
            }
        }
    }
    units.retain(|u| u.counts.eligible > 0 || u.counts.read > 0);
    for unit in &mut units {
        unit.cells.retain(|c| c.counts.eligible > 0 || c.counts.read > 0);
    }
    Ok(CommitteeDocumentReading {
        document_id: doc.id,
        title: doc.title,
        due_at: crate::time::rfc3339(doc.due_at),
        committee,
        units,
    })
}

/// Eligible members of the committee who have not read the document at its required revision, by unit, cell and
/// name: the follow-up list (scope as `committee`).
pub fn not_read(
    conn: &mut DbConnection,
    user: &AuthUser,
    id: &str,
    code: &str,
    limit: i64,
    offset: i64,
) -> Result<Vec<NotRead>, AppError> {
    if !user.manages(code) {
        return Err(AppError::NotFound);
    }
    let doc = required_for(conn, user, id)?;
    if !doc.reaches(code) {
        return Err(AppError::NotFound);
    }
    let rows: Vec<(String, String, String, String)> = members::table
        .filter(members::committee_code.eq(code))
        .filter(members::status.eq(MemberStatus::Eligible))
        .filter(not(exists(
            reads::table
                .filter(reads::document_id.eq(id))
                .filter(reads::member_id.eq(members::id))
                .filter(reads::revision.ge(doc.revision)),
        )))
        .order((members::unit, members::cell, members::full_name, members::card_number))
        .select((members::card_number, members::full_name, members::unit, members::cell))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(card_number, full_name, unit, cell)| NotRead { card_number, full_name, unit, cell })
        .collect())
}

/// The rows of `/api/v1/reading/{id}/{code}/not-read?format=csv`.
pub fn not_read_csv_bytes(rows: &[NotRead]) -> Result<Vec<u8>, AppError> {
    let mut out = CsvExport::new(&["card_number", "full_name", "unit", "cell"])?;
    for m in rows {
        out.row([&m.card_number, &m.full_name, &m.unit, &m.cell].map(|text| Cell::Text(text)))?;
    }
    out.finish()
}
