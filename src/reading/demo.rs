//! The demo data set's reading: the members who have the app have read the required documents, more of them the
//! longer a document has been out (about 70% of the older one, 40% of the newer), each at a time between its publish
//! and now. Each read reaches the member's devices through its state log, as a pushed `read.mark` would, and the
//! counters are recounted from the reads. Deterministic (by member id). Load after the handbook and the devices.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamp};

use crate::content::states::LiveState;
use crate::db::schema::documents as d;
use crate::db::DbConnection;

use super::counters;

/// Shares of readers (percent of the audience's eligible members with a device), oldest required document first.
const SHARES: [i64; 2] = [70, 40];

/// Reads of the required documents; answers how many reads it made.
pub fn load(conn: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    let required: Vec<(String, Option<i32>, Option<NaiveDateTime>)> = d::table
        .filter(d::required_due_at.is_not_null())
        .filter(d::live_state.eq(LiveState::Visible))
        .order(d::live_published_at)
        .select((d::id, d::live_revision, d::live_published_at))
        .load(conn)?;
    let mut made = 0;
    for ((document, revision, published), share) in required.into_iter().zip(SHARES) {
        let published = published.unwrap_or(now).min(now);
        // Minutes since the publish: each reader's time falls somewhere in them.
        let minutes = (now - published).num_minutes().max(1);
        let revision = i64::from(revision.unwrap_or(1));
        made += conn.write_transaction(|conn| {
            let reads = match conn {
                DbConnection::Sqlite(sqlite) => diesel::sql_query(format!(
                    "INSERT INTO member_reads (member_id, document_id, revision, read_at) \
                     SELECT m.id, ?, ?, datetime(?, '+' || ((m.id * 7919) % ?) || ' minutes') FROM members m {READERS}"
                ))
                .bind::<Text, _>(&document)
                .bind::<BigInt, _>(revision)
                .bind::<Timestamp, _>(published)
                .bind::<BigInt, _>(minutes)
                .bind::<Text, _>(&document)
                .bind::<BigInt, _>(share)
                .execute(sqlite)?,
                DbConnection::Postgresql(pg) => diesel::sql_query(format!(
                    "INSERT INTO member_reads (member_id, document_id, revision, read_at) \
                     SELECT m.id, $1, $2, $3 + ((m.id * 7919) % $4) * INTERVAL '1 minute' FROM members m {}",
                    READERS.replacen('?', "$5", 1).replacen('?', "$6", 1)
                ))
                .bind::<Text, _>(&document)
                .bind::<BigInt, _>(revision)
                .bind::<Timestamp, _>(published)
                .bind::<BigInt, _>(minutes)
                .bind::<Text, _>(&document)
                .bind::<BigInt, _>(share)
                .execute(pg)?,
            };
            // The member's devices learn of the read through its state log, at the member's next position.
            diesel::sql_query(
                "INSERT INTO member_state_log (member_id, seq, entity, key) \
                 SELECT m.id, m.state_seq + 1, 'read', r.document_id FROM member_reads r \
                 JOIN members m ON m.id = r.member_id WHERE r.document_id = $1",
            )
            .bind::<Text, _>(&document)
            .execute(conn)?;
            diesel::sql_query(
                "UPDATE members SET state_seq = state_seq + 1 \
                 WHERE id IN (SELECT member_id FROM member_reads WHERE document_id = $1)",
            )
            .bind::<Text, _>(&document)
            .execute(conn)?;
            counters::recount_document(conn, &document)?;
            Ok::<_, diesel::result::Error>(reads)
        })?;
    }
    Ok(made)
}

/// The readers of a document (its id, then the share in percent): eligible members of its audience with a live
/// device who have not read it yet, picked by member id.
const READERS: &str = "JOIN documents d ON d.id = ? \
    WHERE m.status = 'eligible' AND (m.id * 31) % 100 < ? \
    AND EXISTS (SELECT 1 FROM installations i WHERE i.member_id = m.id AND i.deleted_at IS NULL) \
    AND (d.live_audience_all OR EXISTS (SELECT 1 FROM document_audience a \
         WHERE a.document_id = d.id AND a.committee_code = m.committee_code)) \
    AND NOT EXISTS (SELECT 1 FROM member_reads r WHERE r.member_id = m.id AND r.document_id = d.id)";
