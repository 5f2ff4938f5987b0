//! The handbook: documents with drafts, immutable revisions, audiences and schedules; attachments; and what
//! each caller may read.

pub mod attachments;
pub mod demo;
pub mod documents;
pub mod reading;
pub mod routes;
pub mod schedule;
pub mod visibility;

/// The kinds of document the contract knows.
pub const KINDS: [&str; 8] =
    ["van_kien", "nghi_quyet", "chi_thi", "quy_dinh", "huong_dan", "thong_bao", "tin_tuc", "tai_lieu"];
