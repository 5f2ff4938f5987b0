//! The handbook: documents with drafts, immutable revisions, audiences and schedules; attachments; and what
//! each caller may read.

pub mod attachments;
pub mod demo;
pub mod documents;
pub mod markdown;
pub mod reading;
pub mod routes;
pub mod schedule;
pub mod states;
pub mod visibility;
