//! Read confirmations, stored where the required-reading counters can move with them.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::member_reads as reads;
use crate::db::DbConnection;

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
        Some(_) => {}
    }
    Ok(())
}
