//! Documents: a draft that staff edit, and immutable revisions that each publish writes. What members see
//! is the live revision, copied onto the document row so that reading and syncing touch one table.
//!
//! `input` checks what staff send, `store` keeps drafts and answers queries, `publish` writes revisions, and
//! `view` holds the answers.

mod input;
mod publish;
mod store;
mod view;

pub use input::{
    present, AttachmentRef, AudienceInput, Draft, DraftInput, DraftPatch, RequiredInput, MAX_ATTACHMENTS,
    MAX_BODY_BYTES, MAX_TITLE_CHARS,
};
pub use publish::{publish, restore, unpublish};
pub use store::{
    create, find_managed, list_managed, revision_text, revisions, sections, stored_attachments, update, DocumentRow,
    RevisionText, StaffFilter,
};
pub use view::{Audience, DocumentView, Published, RequiredView, RevisionSummary, Unpublished};
