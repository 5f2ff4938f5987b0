//! Applying a push: one write transaction for all its mutations, each applied exactly once, in order.
//!
//! The transaction first takes the member row's lock (it moves `state_seq`), so one member's pushes run one after
//! another whichever devices send them. Then, for each mutation: an id already in `applied_mutations` is a
//! `duplicate` and changes nothing; a mutation that fails a check (its fields, a document the member may not see) is
//! `rejected` and leaves nothing behind, its id included, so it is checked BEFORE its id is stored; otherwise its id
//! is stored and it is applied. Last, each (entity, key) the push changed gets one row in the member's state log.
//! A SIGKILL before the commit leaves none of the push; re-sending it then applies each mutation once.
//!
//! Round trips are what a push costs on PostgreSQL: the ids already applied and the documents the push names are
//! looked up once for the whole push, and the log is written in two statements per kind of entity.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::dsl::exists;
use diesel::prelude::*;
use serde::Serialize;

use crate::content::states::LiveState;
use crate::db::schema::{
    applied_mutations as applied, document_audience as aud, documents as d, installations as inst,
    member_bookmarks as bookmarks, member_notes as notes, member_progress as progress, member_reads as reads, members,
};
use crate::db::DbConnection;
use crate::error::{AppError, FieldError};
use crate::org::members::MemberStatus;

use super::mutations::{Mutation, MutationProblem, Pushed};
use super::state::{self, Entity};

/// What became of one mutation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MutationStatus {
    /// Applied now.
    Applied,
    /// Applied before (by this push or an earlier one, from any device): nothing changed.
    Duplicate,
    /// Not applied, and never will be: `problem` says why. The device drops it.
    Rejected,
}

/// The result of one mutation, in the order of the push.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MutationResult {
    /// The mutation's `id`, as sent.
    pub id: String,
    pub status: MutationStatus,
    /// Why it was rejected (`rejected` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub problem: Option<MutationProblem>,
}

/// One push being applied: who, from where, when, and what it has learnt and changed so far.
struct Push<'a> {
    member_id: i64,
    installation: &'a str,
    at: NaiveDateTime,
    /// The push's ids that are applied: found in `applied_mutations` at the start, or applied by this push.
    applied: HashSet<String>,
    /// The live revision of each document the push names, if the member may see it.
    documents: HashMap<String, Option<i64>>,
    /// What the push changed, each (entity, key) once, by the order of its last change.
    changed: Vec<(Entity, String)>,
}

/// Applies the mutations of one push by `member_id` from its installation `installation_id` (404 when that is not
/// a live installation of this member, or the member has left), at `at`; one result per mutation, in order.
pub fn push(
    conn: &mut DbConnection,
    member_id: i64,
    installation_id: &str,
    mutations: Vec<Pushed>,
    at: NaiveDateTime,
) -> Result<Vec<MutationResult>, AppError> {
    let installation = crate::sync::installations::parse_id(installation_id).ok_or(AppError::NotFound)?;
    conn.write_transaction(|conn| {
        // The member row's lock, held until commit: this member's pushes commit one after another, and the state
        // log positions taken below become visible in order.
        diesel::update(members::table.find(member_id)).set(members::state_seq.eq(members::state_seq)).execute(conn)?;
        let committee: String = inst::table
            .inner_join(members::table)
            .filter(inst::installation_id.eq(&installation))
            .filter(inst::member_id.eq(member_id))
            .filter(inst::deleted_at.is_null())
            .filter(members::status.ne(MemberStatus::Left))
            .select(members::committee_code)
            .get_result(conn)
            .optional()?
            .ok_or(AppError::NotFound)?;
        let keys: Vec<&str> = mutations.iter().map(|m| m.key.as_str()).collect();
        let applied: HashSet<String> = applied::table
            .filter(applied::id.eq_any(&keys))
            .select(applied::id)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let named: HashSet<&str> = mutations
            .iter()
            .filter(|m| !applied.contains(&m.key))
            .filter_map(|m| m.mutation.as_ref().ok().and_then(Mutation::visible_document))
            .collect();
        let documents = visible_revisions(conn, &committee, named)?;
        let mut push = Push { member_id, installation: &installation, at, applied, documents, changed: Vec::new() };
        let mut results = Vec::with_capacity(mutations.len());
        for Pushed { id, key, mutation } in mutations {
            let (status, problem) = one(conn, &mut push, key, mutation)?;
            results.push(MutationResult { id, status, problem });
        }
        if !push.changed.is_empty() {
            state::append(conn, member_id, &push.changed)?;
        }
        Ok(results)
    })
}

fn one(
    conn: &mut DbConnection,
    push: &mut Push,
    key: String,
    mutation: Result<Mutation, MutationProblem>,
) -> QueryResult<(MutationStatus, Option<MutationProblem>)> {
    if push.applied.contains(&key) {
        return Ok((MutationStatus::Duplicate, None));
    }
    let mutation = match mutation {
        Ok(mutation) => mutation,
        Err(problem) => return Ok((MutationStatus::Rejected, Some(problem))),
    };
    if let Err(problem) = check(conn, push, &mutation)? {
        return Ok((MutationStatus::Rejected, Some(problem)));
    }
    if !store_id(conn, &key, push.member_id, push.installation, mutation.kind(), push.at)? {
        // Stored meanwhile by a push of another member, which ran in parallel (one member's pushes never do).
        push.applied.insert(key);
        return Ok((MutationStatus::Duplicate, None));
    }
    push.applied.insert(key);
    if let Some(changed) = apply(conn, push.member_id, mutation, push.at)? {
        push.changed.retain(|earlier| *earlier != changed);
        push.changed.push(changed);
    }
    Ok((MutationStatus::Applied, None))
}
/// Stores the id of a mutation about to be applied; false if it is stored already.
fn store_id(
    conn: &mut DbConnection,
    key: &str,
    member_id: i64,
    installation: &str,
    kind: &str,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let row = (
        applied::id.eq(key),
        applied::member_id.eq(member_id),
        applied::installation_id.eq(installation),
        applied::kind.eq(kind),
        applied::applied_at.eq(at),
    );
    // The connection enum has no ON CONFLICT of its own: one statement per backend. On PostgreSQL a concurrent
    // insert of the same id waits for the other transaction, then inserts nothing.
    let inserted = match conn {
        DbConnection::Postgresql(pg) => {
            diesel::insert_into(applied::table).values(row).on_conflict_do_nothing().execute(pg)?
        }
        DbConnection::Sqlite(sqlite) => {
            diesel::insert_into(applied::table).values(row).on_conflict_do_nothing().execute(sqlite)?
        }
    };
    Ok(inserted == 1)
}

/// The live revision of each of `ids` that the member's committee may see now (None: it may not, or there is none).
fn visible_revisions(
    conn: &mut DbConnection,
    committee: &str,
    ids: HashSet<&str>,
) -> QueryResult<HashMap<String, Option<i64>>> {
    let mut revisions: HashMap<String, Option<i64>> = ids.iter().map(|id| (id.to_string(), None)).collect();
    if ids.is_empty() {
        return Ok(revisions);
    }
    let visible: Vec<(String, Option<i32>)> = d::table
        .filter(d::id.eq_any(ids))
        .filter(d::live_state.eq(LiveState::Visible))
        .filter(
            d::live_audience_all
                .eq(true)
                .or(exists(aud::table.filter(aud::document_id.eq(d::id)).filter(aud::committee_code.eq(committee)))),
        )
        .select((d::id, d::live_revision))
        .load(conn)?;
    for (id, revision) in visible {
        revisions.insert(id, revision.map(i64::from));
    }
    Ok(revisions)
}

/// The checks that read the state: the document must be one the member may see now; a note id must not be
/// another member's note. An answer to a meeting is checked as it is applied.
fn check(conn: &mut DbConnection, push: &Push, mutation: &Mutation) -> QueryResult<Result<(), MutationProblem>> {
    // Looked up for the whole push at its start (`visible_revisions`).
    let document = |id: &str| -> Result<i64, MutationProblem> {
        push.documents.get(id).copied().flatten().ok_or_else(|| MutationProblem::not_found("document"))
    };
    Ok(match mutation {
        Mutation::BookmarkSet { document_id } | Mutation::ProgressSet { document_id, .. } => {
            document(document_id).map(drop)
        }
        Mutation::NoteSet { note_id, document_id, .. } => {
            if let Err(problem) = document(document_id) {
                return Ok(Err(problem));
            }
            let owner: Option<i64> = notes::table.find(note_id).select(notes::member_id).get_result(conn).optional()?;
            match owner {
                Some(owner) if owner != push.member_id => {
                    Err(MutationProblem::conflict("this note_id is another note's: make a new one"))
                }
                _ => Ok(()),
            }
        }
        Mutation::ReadMark { document_id, revision } => match document(document_id) {
            Ok(latest) if *revision > latest => Err(MutationProblem::invalid(vec![FieldError::new(
                "revision",
                format!("must be at most the document's latest revision, {latest}"),
            )])),
            other => other.map(drop),
        },
        // Clearing the member's own state needs no document: it may have left the member's view since.
        Mutation::BookmarkClear { .. } | Mutation::NoteClear { .. } => Ok(()),
        // The member must be a current invitee of the meeting, and it not cancelled.
        Mutation::RsvpSet { meeting_id, .. } => {
            return crate::meetings::store::check_rsvp(conn, push.member_id, meeting_id)
        }
    })
}

/// Applies a checked mutation; the (entity, key) it changed, if it changed anything.
fn apply(
    conn: &mut DbConnection,
    member_id: i64,
    mutation: Mutation,
    at: NaiveDateTime,
) -> QueryResult<Option<(Entity, String)>> {
    let changed = |changed: bool, entity: Entity, key: String| changed.then_some((entity, key));
    Ok(match mutation {
        Mutation::BookmarkSet { document_id } => {
            // One that exists keeps its `created_at`.
            let row = (
                bookmarks::member_id.eq(member_id),
                bookmarks::document_id.eq(&document_id),
                bookmarks::created_at.eq(at),
            );
            let inserted = match conn {
                DbConnection::Postgresql(pg) => {
                    diesel::insert_into(bookmarks::table).values(row).on_conflict_do_nothing().execute(pg)?
                }
                DbConnection::Sqlite(sqlite) => {
                    diesel::insert_into(bookmarks::table).values(row).on_conflict_do_nothing().execute(sqlite)?
                }
            };
            changed(inserted > 0, Entity::Bookmark, document_id)
        }
        Mutation::BookmarkClear { document_id } => {
            let deleted = diesel::delete(bookmarks::table.find((member_id, &document_id))).execute(conn)?;
            changed(deleted > 0, Entity::Bookmark, document_id)
        }
        Mutation::NoteSet { note_id, document_id, anchor, text } => {
            let updated = diesel::update(notes::table.find(&note_id).filter(notes::member_id.eq(member_id)))
                .set((
                    notes::document_id.eq(&document_id),
                    notes::anchor.eq(&anchor),
                    notes::text.eq(&text),
                    notes::updated_at.eq(at),
                ))
                .execute(conn)?;
            if updated == 0 {
                diesel::insert_into(notes::table)
                    .values((
                        notes::note_id.eq(&note_id),
                        notes::member_id.eq(member_id),
                        notes::document_id.eq(&document_id),
                        notes::anchor.eq(&anchor),
                        notes::text.eq(&text),
                        notes::updated_at.eq(at),
                    ))
                    .execute(conn)?;
            }
            Some((Entity::Note, note_id))
        }
        Mutation::NoteClear { note_id } => {
            let deleted =
                diesel::delete(notes::table.find(&note_id).filter(notes::member_id.eq(member_id))).execute(conn)?;
            changed(deleted > 0, Entity::Note, note_id)
        }
        Mutation::ProgressSet { document_id, position } => {
            let stored: Option<f64> = progress::table
                .find((member_id, &document_id))
                .select(progress::position)
                .get_result(conn)
                .optional()?;
            match stored {
                None => {
                    diesel::insert_into(progress::table)
                        .values((
                            progress::member_id.eq(member_id),
                            progress::document_id.eq(&document_id),
                            progress::position.eq(position),
                        ))
                        .execute(conn)?;
                }
                Some(stored) if stored < position => {
                    diesel::update(progress::table.find((member_id, &document_id)))
                        .set(progress::position.eq(position))
                        .execute(conn)?;
                }
                // The maximum wins.
                Some(_) => return Ok(None),
            }
            Some((Entity::Progress, document_id))
        }
        Mutation::ReadMark { document_id, revision } => {
            let stored: Option<i64> =
                reads::table.find((member_id, &document_id)).select(reads::revision).get_result(conn).optional()?;
            crate::reading::counters::record_read(conn, member_id, &document_id, revision, at)?;
            changed(stored.is_none_or(|stored| stored < revision), Entity::Read, document_id)
        }
        Mutation::RsvpSet { meeting_id, answer, reason } => {
            let changed =
                crate::meetings::store::set_rsvp(conn, member_id, &meeting_id, answer, reason.as_deref(), at)?;
            changed.then_some((Entity::Rsvp, meeting_id))
        }
    })
}
