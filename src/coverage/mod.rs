//! Install coverage: exact counters per committee, unit and cell; reports, the follow-up list, daily history,
//! and the officers' dashboard.

pub mod counters;
pub mod dashboard;
pub mod jobs;
pub mod report;
pub mod routes;
