//! Install coverage: exact counters per committee, unit and cell; reports, the follow-up list, daily history.
//! The officers' pages that show them are in `crate::web`.

pub mod counters;
pub mod jobs;
pub mod report;
pub mod routes;
