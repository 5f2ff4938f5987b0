//! The mutations a device pushes: their wire shape (one typed enum, tagged by `type`) and every check that needs no
//! database. A mutation that fails one is `rejected` with a problem object; only a push whose envelope is wrong (no
//! list, more than 500 mutations, a mutation without a UUID `id`) is refused as a whole.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::FieldError;

/// At most this many characters in a note's anchor (the app's own locator of the passage).
pub const ANCHOR_MAX_CHARS: usize = 1_000;
/// At most this many characters in a note's text.
pub const TEXT_MAX_CHARS: usize = 10_000;
/// At most this many characters in an RSVP's reason.
pub const REASON_MAX_CHARS: usize = 1_000;
/// Longest id of a document or meeting worth looking up (ids are UUIDs).
const ID_MAX_CHARS: usize = 100;

/// One mutation, as the device sends it (its `id` aside).
#[derive(Clone, Debug, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Mutation {
    /// Bookmark a document the member may see.
    #[serde(rename = "bookmark.set")]
    BookmarkSet { document_id: String },
    /// Remove a bookmark (nothing happens if there is none).
    #[serde(rename = "bookmark.clear")]
    BookmarkClear { document_id: String },
    /// Create or replace a note on a document the member may see; the last applied wins.
    #[serde(rename = "note.set")]
    NoteSet {
        /// Made by the device, once per note.
        #[schema(format = "uuid")]
        note_id: String,
        document_id: String,
        /// At most 1,000 characters.
        anchor: String,
        /// At most 10,000 characters.
        text: String,
    },
    /// Delete a note (nothing happens if there is none).
    #[serde(rename = "note.clear")]
    NoteClear {
        #[schema(format = "uuid")]
        note_id: String,
    },
    /// Reading progress in a document, from 0 to 1: the stored value only grows.
    #[serde(rename = "progress.set")]
    ProgressSet {
        document_id: String,
        #[schema(minimum = 0, maximum = 1)]
        position: f64,
    },
    /// "I have read/studied this revision": grow-only, never undone.
    #[serde(rename = "read.mark")]
    ReadMark {
        document_id: String,
        /// From 1 to the document's latest revision.
        #[schema(minimum = 1)]
        revision: i64,
    },
    /// An answer to a meeting invitation.
    #[serde(rename = "rsvp.set")]
    RsvpSet {
        meeting_id: String,
        answer: crate::meetings::Rsvp,
        /// At most 1,000 characters.
        #[serde(default)]
        reason: Option<String>,
    },
}

impl Mutation {
    /// The mutation's `type`, as on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Mutation::BookmarkSet { .. } => "bookmark.set",
            Mutation::BookmarkClear { .. } => "bookmark.clear",
            Mutation::NoteSet { .. } => "note.set",
            Mutation::NoteClear { .. } => "note.clear",
            Mutation::ProgressSet { .. } => "progress.set",
            Mutation::ReadMark { .. } => "read.mark",
            Mutation::RsvpSet { .. } => "rsvp.set",
        }
    }

    /// The document the member must be able to see for this mutation to apply, if any.
    pub fn visible_document(&self) -> Option<&str> {
        match self {
            Mutation::BookmarkSet { document_id }
            | Mutation::NoteSet { document_id, .. }
            | Mutation::ProgressSet { document_id, .. }
            | Mutation::ReadMark { document_id, .. } => Some(document_id),
            _ => None,
        }
    }

    /// The mutation with its texts in NFC and its UUIDs canonical, or every field that is wrong.
    fn checked(self) -> Result<Mutation, Vec<FieldError>> {
        let mut errors = Vec::new();
        let checked = match self {
            Mutation::BookmarkSet { document_id } => {
                Mutation::BookmarkSet { document_id: id(document_id, "document_id", &mut errors) }
            }
            Mutation::BookmarkClear { document_id } => {
                Mutation::BookmarkClear { document_id: id(document_id, "document_id", &mut errors) }
            }
            Mutation::NoteSet { note_id, document_id, anchor, text } => Mutation::NoteSet {
                note_id: uuid(&note_id, "note_id", &mut errors),
                document_id: id(document_id, "document_id", &mut errors),
                anchor: text_at_most(&anchor, "anchor", ANCHOR_MAX_CHARS, &mut errors),
                text: text_at_most(&text, "text", TEXT_MAX_CHARS, &mut errors),
            },
            Mutation::NoteClear { note_id } => Mutation::NoteClear { note_id: uuid(&note_id, "note_id", &mut errors) },
            Mutation::ProgressSet { document_id, position } => {
                if !(0.0..=1.0).contains(&position) {
                    errors.push(FieldError::new("position", "must be between 0 and 1"));
                }
                Mutation::ProgressSet { document_id: id(document_id, "document_id", &mut errors), position }
            }
            Mutation::ReadMark { document_id, revision } => {
                if revision < 1 {
                    errors.push(FieldError::new("revision", "must be 1 or more"));
                }
                Mutation::ReadMark { document_id: id(document_id, "document_id", &mut errors), revision }
            }
            Mutation::RsvpSet { meeting_id, answer, reason } => Mutation::RsvpSet {
                meeting_id: id(meeting_id, "meeting_id", &mut errors),
                answer,
                reason: reason.map(|reason| text_at_most(&reason, "reason", REASON_MAX_CHARS, &mut errors)),
            },
        };
        if errors.is_empty() {
            Ok(checked)
        } else {
            Err(errors)
        }
    }
}

fn id(value: String, field: &str, errors: &mut Vec<FieldError>) -> String {
    if value.trim().is_empty() {
        errors.push(FieldError::new(field, "is required"));
    } else if value.chars().count() > ID_MAX_CHARS {
        errors.push(FieldError::new(field, format!("at most {ID_MAX_CHARS} characters")));
    }
    value
}

fn uuid(value: &str, field: &str, errors: &mut Vec<FieldError>) -> String {
    match crate::sync::installations::parse_id(value) {
        Some(canonical) => canonical,
        None => {
            errors.push(FieldError::new(field, "must be a UUID"));
            String::new()
        }
    }
}

/// NFC, otherwise as sent; the message never quotes the text.
fn text_at_most(value: &str, field: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let value = crate::text::nfc(value);
    if value.chars().count() > max {
        errors.push(FieldError::new(field, format!("at most {max} characters")));
    }
    value
}

/// Why a mutation was rejected: an RFC 9457 problem object, as error answers have (`/problems/validation` with
/// `errors`, `/problems/not-found`, `/problems/conflict`). Final: the device drops the mutation.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MutationProblem {
    #[serde(rename = "type")]
    #[schema(example = "/problems/validation")]
    pub kind: String,
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    pub detail: String,
    /// Every rejected field (`/problems/validation` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl MutationProblem {
    fn new(slug: &str, status: actix_web::http::StatusCode, detail: String, errors: Vec<FieldError>) -> Self {
        MutationProblem {
            kind: crate::error::problem_type(slug),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors,
        }
    }

    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let status = actix_web::http::StatusCode::UNPROCESSABLE_ENTITY;
        MutationProblem::new("validation", status, "the mutation has invalid fields".into(), errors)
    }

    /// A document or meeting that does not exist or that the member may not see (it is told nothing more).
    pub fn not_found(what: &str) -> Self {
        MutationProblem::new("not-found", actix_web::http::StatusCode::NOT_FOUND, format!("{what} not found"), vec![])
    }

    pub fn conflict(detail: &str) -> Self {
        MutationProblem::new("conflict", actix_web::http::StatusCode::CONFLICT, detail.to_owned(), vec![])
    }
}

/// One mutation of a push: its id, and the mutation or why it cannot be applied whatever the state.
#[derive(Debug)]
pub struct Pushed {
    /// As the device sent it (the result echoes it).
    pub id: String,
    /// Canonical (lower-case, hyphenated): what exactly-once is keyed by.
    pub key: String,
    pub mutation: Result<Mutation, MutationProblem>,
}

/// Reads the mutation at `index` of a push. Its `id` must be a UUID (else the whole push is refused: there would be
/// no id to answer for); everything else wrong with it makes it `rejected`.
pub fn parse(index: usize, value: Value) -> Result<Pushed, FieldError> {
    let envelope_error = |message: &str| FieldError::new(format!("mutations[{index}].id"), message);
    let Value::Object(mut object) = value else {
        return Err(FieldError::new(format!("mutations[{index}]"), "must be an object with an id and a type"));
    };
    let id = match object.remove("id") {
        Some(Value::String(id)) => id,
        Some(_) => return Err(envelope_error("must be a UUID")),
        None => return Err(envelope_error("is required")),
    };
    let key = crate::sync::installations::parse_id(&id).ok_or_else(|| envelope_error("must be a UUID"))?;
    let mutation = serde_json::from_value::<Mutation>(Value::Object(object))
        .map_err(|error| vec![serde_field_error(&error.to_string())])
        .and_then(Mutation::checked)
        .map_err(MutationProblem::invalid);
    Ok(Pushed { id, key, mutation })
}

/// serde's message, turned into the field it is about where it names one.
fn serde_field_error(message: &str) -> FieldError {
    let quoted = || message.split('`').nth(1).unwrap_or_default().to_owned();
    if message.starts_with("missing field") {
        FieldError::new(quoted(), "is required")
    } else if message.starts_with("unknown field") {
        FieldError::new(quoted(), "is not a field of this type of mutation")
    } else if message.starts_with("unknown variant") && message.contains("`bookmark.set`") {
        FieldError::new("type", format!("unknown type of mutation: {}", quoted()))
    } else if message.starts_with("unknown variant") && message.contains("`attend`") {
        FieldError::new("answer", "attend or absent")
    } else {
        FieldError::new("mutation", message.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rejected(value: Value) -> MutationProblem {
        parse(0, value).expect("an envelope").mutation.expect_err("rejected")
    }

    #[test]
    fn each_type_parses_and_ids_become_canonical() {
        let id = "6F9619FF-8B86-D011-B42D-00CF4FC964FF";
        let pushed = parse(0, json!({"id": id, "type": "note.clear", "note_id": id})).unwrap();
        assert_eq!(pushed.id, id);
        assert_eq!(pushed.key, "6f9619ff-8b86-d011-b42d-00cf4fc964ff");
        assert_eq!(pushed.mutation, Ok(Mutation::NoteClear { note_id: pushed.key.clone() }));
        let read = parse(0, json!({"id": id, "type": "read.mark", "document_id": "d", "revision": 2})).unwrap();
        assert_eq!(read.mutation, Ok(Mutation::ReadMark { document_id: "d".into(), revision: 2 }));
    }

    #[test]
    fn bad_mutations_are_rejected_with_the_field_named() {
        let id = uuid::Uuid::new_v4().to_string();
        let unknown = rejected(json!({"id": id, "type": "bookmark.toggle", "document_id": "d"}));
        assert_eq!((unknown.status, unknown.errors[0].field.as_str()), (422, "type"));
        let missing = rejected(json!({"id": id, "type": "bookmark.set"}));
        assert_eq!(missing.errors[0].field, "document_id");
        let extra = rejected(json!({"id": id, "type": "bookmark.set", "document_id": "d", "colour": "red"}));
        assert_eq!(extra.errors[0].field, "colour");
        let long = rejected(json!({"id": id, "type": "note.set", "note_id": id, "document_id": "d",
            "anchor": "a".repeat(1001), "text": "bí mật ".repeat(2000)}));
        let fields: Vec<&str> = long.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["anchor", "text"]);
        assert!(!serde_json::to_string(&long).unwrap().contains("bí mật"), "the text is never quoted");
        let range = rejected(json!({"id": id, "type": "progress.set", "document_id": "d", "position": 1.5}));
        assert_eq!(range.errors[0].field, "position");
        let untyped = rejected(json!({"id": id, "document_id": "d"}));
        assert_eq!(untyped.errors[0].field, "type");
        let answer = rejected(json!({"id": id, "type": "rsvp.set", "meeting_id": "m", "answer": "maybe"}));
        assert_eq!(answer.errors[0].field, "answer");
    }

    #[test]
    fn a_mutation_without_a_uuid_id_refuses_the_push() {
        assert_eq!(parse(3, json!({"type": "bookmark.set"})).unwrap_err().field, "mutations[3].id");
        assert!(parse(0, json!({"id": "nope", "type": "bookmark.set"})).is_err());
        assert!(parse(0, json!({"id": 7})).is_err());
        assert!(parse(0, json!("bookmark.set")).is_err());
    }
}
