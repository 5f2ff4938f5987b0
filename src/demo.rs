//! The demo data set, whole: what `handbook demo-data` and `serve --demo` load, each capability's part in the order
//! the story needs — the staff, then the members (through the import), the handbook (through the staff's own
//! functions, along a timeline), the devices (which acknowledge that timeline), the cells' meetings, and the audit
//! trail of it all.

use std::time::{Duration, Instant};

use chrono::NaiveDateTime;

use crate::content::attachments::BlobStore;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::meetings::demo::DemoMeetings;
use crate::org::import::ImportOutcome;
use crate::sync::demo::DemoDevices;

/// Eligible members of the full demo data set.
pub const MEMBERS: u64 = 418_000;
/// Handbook documents of the demo data set.
pub const DOCUMENTS: usize = 200;
/// Audit entries of the full demo data set (at [`MEMBERS`] members; see [`Options::audit_for`]).
pub const AUDIT: u64 = 100_000;
/// The seed the demo data set is drawn with.
pub const SEED: u64 = 2023;

#[derive(Clone, Debug)]
pub struct Options {
    pub members: u64,
    pub documents: usize,
    pub audit: u64,
    pub seed: u64,
}

impl Options {
    /// The audit entries a demo of `members` members gets unless told: [`AUDIT`] for the full city, in proportion
    /// for a smaller one (most entries concern single members).
    pub fn audit_for(members: u64) -> u64 {
        members * AUDIT / MEMBERS
    }
}

impl Default for Options {
    fn default() -> Self {
        Options { members: MEMBERS, documents: DOCUMENTS, audit: AUDIT, seed: SEED }
    }
}

/// What loading did, and how long each part took.
#[derive(Debug)]
pub struct Loaded {
    /// The demo staff's password, when this load created the accounts (to be shown once).
    pub staff_password: Option<String>,
    pub members: ImportOutcome,
    pub devices: DemoDevices,
    /// Documents published at least once, and drafts; (0, 0) when the database had documents already.
    pub documents: (usize, usize),
    /// Read confirmations of the required documents by members with the app (0 when the handbook was there already).
    pub reads: usize,
    /// Audit entries added (0 when the handbook was there already: the trail is written once, with it).
    pub audit: u64,
    /// The cell meetings (none when the database had meetings already).
    pub meetings: DemoMeetings,
    pub took: Took,
}

#[derive(Debug, Default)]
pub struct Took {
    pub members: Duration,
    pub documents: Duration,
    pub devices: Duration,
    pub meetings: Duration,
    pub audit: Duration,
}

/// Loads the demo data set into the database (committees and members are updated in place on a second run, devices
/// replaced; staff, handbook and audit trail only go into a database that has no demo staff or no documents).
pub fn load(
    conn: &mut DbConnection,
    blobs: &BlobStore,
    options: &Options,
    now: NaiveDateTime,
) -> Result<Loaded, AppError> {
    use diesel::prelude::*;
    let first_entry = crate::audit::demo::last_entry(conn)?;
    let mut took = Took::default();

    let started = Instant::now();
    let members = crate::org::demo::load(conn, options.members, options.seed)?;
    // The city's first import came before the campaign, and before the staff accounts were made.
    if members.created > 0 {
        let imported_at = crate::org::demo::staff_created_at(now) - chrono::Duration::days(1);
        crate::audit::demo::date_entries_since(conn, first_entry, imported_at)?;
    }
    let staff_password = crate::org::demo::ensure_staff(conn, now)?;
    took.members = started.elapsed();

    let started = Instant::now();
    let existing: i64 = crate::db::schema::documents::table.count().get_result(conn)?;
    let documents = if existing == 0 {
        crate::content::demo::load(conn, blobs, options.documents, options.seed, now)?
    } else {
        (0, 0)
    };
    took.documents = started.elapsed();

    let started = Instant::now();
    let devices = crate::sync::demo::load(conn, options.seed, now)?;
    // The members with the app have read the required documents (a handbook loaded in this run only).
    let reads = if existing == 0 { crate::reading::demo::load(conn, now)? } else { 0 };
    took.devices = started.elapsed();

    let started = Instant::now();
    let meetings = crate::meetings::demo::load(conn, options.seed, now)?;
    took.meetings = started.elapsed();

    let started = Instant::now();
    let audit =
        if existing == 0 { crate::audit::demo::load(conn, first_entry, options.audit, options.seed, now)? } else { 0 };
    took.audit = started.elapsed();
    Ok(Loaded { staff_password, members, devices, documents, reads, audit, meetings, took })
}
