//! The audit log: who did what to which document, member or committee, and when. Every management action
//! writes one entry in the same transaction as the change itself.

pub mod demo;
pub mod routes;

use diesel::prelude::*;
use serde::Serialize;

use crate::auth::{AuthUser, Subject};
use crate::db::schema::{audit_log, staff};
use crate::db::DbConnection;
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

/// Newest first; an officer sees its committee's entries only.
pub fn list(conn: &mut DbConnection, scope: Option<&str>, limit: i64, before: Option<i64>) -> QueryResult<Vec<Entry>> {
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
        .order(audit_log::id.desc())
        .into_boxed();
    if let Some(scope) = scope {
        query = query.filter(audit_log::committee_code.eq(scope.to_owned()));
    }
    if let Some(before) = before {
        query = query.filter(audit_log::id.lt(before));
    }
    query.limit(limit + 1).load(conn)
}

/// How an actor is named in the log and on revisions: a staff login, else the token subject.
pub fn actor_name(conn: &mut DbConnection, actor: &AuthUser) -> QueryResult<String> {
    let login = match actor.subject {
        Subject::Staff(id) => staff::table.find(id).select(staff::login).get_result(conn).optional()?,
        Subject::Member(_) => None,
    };
    Ok(login.unwrap_or_else(|| actor.subject.to_string()))
}
