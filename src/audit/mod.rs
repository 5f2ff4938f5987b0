//! The audit log: who did what to which document, member or committee, and when. Every management action
//! writes one entry in the same transaction as the change itself.

pub mod demo;
pub mod routes;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::{AuthUser, Subject};
use crate::csv_export::{Cell, CsvExport};
use crate::db::schema::{audit_log, staff};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::paging::{self, Page};
use crate::state::AppState;
use crate::time::now;

/// Records one management action by `actor`. `committee` is the committee the action concerns (what an
/// officer's view of the log is filtered by); `detail` is a small JSON object.
pub fn record(
    conn: &mut DbConnection,
    actor: &AuthUser,
    action: &str,
    target: &str,
    committee: Option<&str>,
    detail: serde_json::Value,
) -> QueryResult<()> {
    let name = actor_name(conn, actor)?;
    record_as(conn, &name, actor.role.as_str(), action, target, committee, detail)
}

/// For the command line, where the operator is the actor.
pub fn record_as(
    conn: &mut DbConnection,
    actor: &str,
    actor_role: &str,
    action: &str,
    target: &str,
    committee: Option<&str>,
    detail: serde_json::Value,
) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::at.eq(now()),
            audit_log::actor.eq(actor),
            audit_log::actor_role.eq(actor_role),
            audit_log::committee_code.eq(committee),
            audit_log::action.eq(action),
            audit_log::target.eq(target),
            audit_log::detail.eq(detail.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Serialize, Queryable, utoipa::ToSchema)]
pub struct Entry {
    #[serde(skip)]
    pub id: i64,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub at: chrono::NaiveDateTime,
    pub actor: String,
    pub actor_role: String,
    /// The committee the action concerns.
    #[schema(required = true)]
    pub committee_code: Option<String>,
    pub action: String,
    pub target: String,
    /// A small JSON object about the action (null if unreadable).
    #[serde(serialize_with = "serialize_json_text")]
    #[schema(value_type = Value)]
    pub detail: String,
}

fn serialize_json_text<S: serde::Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    let value: serde_json::Value = serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
    value.serialize(serializer)
}

/// Which entries to list: each filter that is set must match (`actor`, `action` and `target` exactly); `from` and
/// `until` bound `at` (from inclusive, until exclusive).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub until: Option<NaiveDateTime>,
}

/// The field error of a date filter that is not a date.
pub const NOT_A_DATE: &str = "must be a date YYYY-MM-DD";
/// The field error of a `to` before `from`.
pub const TO_BEFORE_FROM: &str = "must not be before from";

impl Filter {
    /// The filters as the API's query and the console's form name them: `actor` (a login; case and surrounding
    /// spaces do not matter), `action`, `target`, and `from`/`to`, days in Hanoi time (YYYY-MM-DD, both included).
    /// Empty means unset. Dates that are not dates, or a `to` before `from`: 422 naming every field.
    pub fn parse(
        actor: Option<&str>,
        action: Option<&str>,
        target: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Filter, AppError> {
        let text = |value: Option<&str>| value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let mut errors = Vec::new();
        let mut date = |field: &str, value: Option<&str>| match text(value) {
            None => None,
            Some(value) => {
                let parsed = chrono::NaiveDate::parse_from_str(&value, "%Y-%m-%d").ok();
                if parsed.is_none() {
                    errors.push(FieldError::new(field, NOT_A_DATE));
                }
                parsed
            }
        };
        let (from, to) = (date("from", from), date("to", to));
        if let (Some(from), Some(to)) = (from, to) {
            if to < from {
                errors.push(FieldError::new("to", TO_BEFORE_FROM));
            }
        }
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        Ok(Filter {
            actor: text(actor).map(|login| login.to_lowercase()),
            action: text(action),
            target: text(target),
            from: from.map(crate::time::start_of_hanoi_day),
            until: to.and_then(|to| to.succ_opt()).map(crate::time::start_of_hanoi_day),
        })
    }
}

/// Where a page of the log ended: the last entry's time and id (the list's order), as `?after=` carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub at: NaiveDateTime,
    pub id: i64,
}

impl Key {
    fn of(entry: &Entry) -> Key {
        Key { at: entry.at, id: entry.id }
    }

    /// `<nanoseconds since 1970>.<id>`.
    fn encode(self) -> String {
        let nanos = self.at.and_utc().timestamp_nanos_opt().unwrap_or(i64::MAX);
        format!("{nanos}.{}", self.id)
    }

    /// The key of an `?after=`, else 422.
    pub fn decode(after: Option<&str>) -> Result<Option<Key>, AppError> {
        let Some(key) = paging::decode_after(after)? else { return Ok(None) };
        let parsed = key.split_once('.').and_then(|(nanos, id)| {
            let at = chrono::DateTime::from_timestamp_nanos(nanos.parse().ok()?).naive_utc();
            Some(Key { at, id: id.parse().ok()? })
        });
        parsed.map(Some).ok_or_else(|| AppError::validation("after", "is not a cursor this service issued"))
    }
}

/// Newest first (by time, then id), `limit + 1` entries after `after`, matching `filter`; `scope` is the only
/// committee whose entries are seen (an officer's), none for the whole log. Each filter has an index in this order
/// (see the `staff_console` migration), so a page costs about `limit` index entries.
pub fn list(
    conn: &mut DbConnection,
    scope: Option<&str>,
    filter: &Filter,
    limit: i64,
    after: Option<Key>,
) -> QueryResult<Vec<Entry>> {
    let mut query = audit_log::table
        .select((
            audit_log::id,
            audit_log::at,
            audit_log::actor,
            audit_log::actor_role,
            audit_log::committee_code,
            audit_log::action,
            audit_log::target,
            audit_log::detail,
        ))
        .order((audit_log::at.desc(), audit_log::id.desc()))
        .into_boxed();
    if let Some(scope) = scope {
        query = query.filter(audit_log::committee_code.eq(scope.to_owned()));
    }
    if let Some(actor) = &filter.actor {
        query = query.filter(audit_log::actor.eq(actor.clone()));
    }
    if let Some(action) = &filter.action {
        query = query.filter(audit_log::action.eq(action.clone()));
    }
    if let Some(target) = &filter.target {
        query = query.filter(audit_log::target.eq(target.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::at.ge(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(audit_log::at.lt(until));
    }
    if let Some(Key { at, id }) = after {
        // `at <= key` alone bounds the index range; the rest breaks ties within the key's instant.
        query = query.filter(audit_log::at.le(at)).filter(audit_log::at.lt(at).or(audit_log::id.lt(id)));
    }
    query.limit(limit + 1).load(conn)
}

/// Staff: one page of the log (an officer: the entries about its committee only), as the API and the console list it.
pub async fn page(
    state: &AppState,
    user: &AuthUser,
    filter: Filter,
    limit: i64,
    after: Option<Key>,
) -> Result<Page<Entry>, AppError> {
    user.require_staff()?;
    let scope = user.scope().into_committee();
    let rows = state.db.run(move |conn| Ok(list(conn, scope.as_deref(), &filter, limit, after)?)).await?;
    Ok(paged(rows, limit))
}

/// `rows` loaded with `limit + 1`, as a page whose `next` is the last entry's key.
fn paged(rows: Vec<Entry>, limit: i64) -> Page<Entry> {
    Page::from_rows(rows, limit, |entry| Key::of(entry).encode())
}

/// The CSV columns of the log: the API's fields.
pub const CSV_HEADER: [&str; 7] = ["at", "actor", "actor_role", "committee_code", "action", "target", "detail"];

/// Staff: every entry of the log that `page` would list with `filter`, newest first, as CSV (through the one
/// formula-safe writer).
pub async fn csv(state: &AppState, user: &AuthUser, filter: Filter) -> Result<Vec<u8>, AppError> {
    user.require_staff()?;
    let scope = user.scope().into_committee();
    state
        .db
        .run(move |conn| {
            let mut out = CsvExport::new(&CSV_HEADER)?;
            let mut after = None;
            loop {
                let page = paged(list(conn, scope.as_deref(), &filter, CSV_BATCH, after)?, CSV_BATCH);
                for entry in &page.items {
                    let at = crate::time::rfc3339(entry.at);
                    let committee = entry.committee_code.as_deref().unwrap_or("");
                    let cells = [&at, &entry.actor, &entry.actor_role, committee, &entry.action, &entry.target];
                    out.row(cells.into_iter().chain([entry.detail.as_str()]).map(Cell::Text))?;
                }
                match (page.next, page.items.last()) {
                    (Some(_), Some(last)) => after = Some(Key::of(last)),
                    _ => break,
                }
            }
            out.finish()
        })
        .await
}

/// Entries read at a time for the CSV file.
const CSV_BATCH: i64 = 1000;

/// How an actor is named in the log and on revisions: a staff login, else the token subject.
pub fn actor_name(conn: &mut DbConnection, actor: &AuthUser) -> QueryResult<String> {
    let login = match actor.subject {
        Subject::Staff(id) => staff::table.find(id).select(staff::login).get_result(conn).optional()?,
        // A secretary managing its cell's meetings: its card number.
        Subject::Member(id) => crate::db::schema::members::table
            .find(id)
            .select(crate::db::schema::members::card_number)
            .get_result(conn)
            .optional()?,
    };
    Ok(login.unwrap_or_else(|| actor.subject.to_string()))
}
