//! The error answers, each an RFC 9457 problem (`#/components/schemas/Problem`); routes refer to them by status.
//! A leaf: route modules refer to these in their `responses(...)`; it imports nothing of theirs.
#![allow(dead_code)] // described, never built: `crate::error` renders every problem

use utoipa::ToResponse;

use crate::error::Problem;

#[derive(ToResponse)]
#[response(
    description = "Malformed request: bad JSON, an unknown field, a bad query string, header or path",
    content_type = "application/problem+json"
)]
pub struct BadRequest(Problem<'static>);

#[derive(ToResponse)]
#[response(
    description = "No, malformed, expired or forged access token, or bad credentials",
    content_type = "application/problem+json",
    headers(("WWW-Authenticate" = String, description = "`Bearer`"))
)]
pub struct Unauthorized(Problem<'static>);

#[derive(ToResponse)]
#[response(
    description = "A valid token, but the caller's role may not do this",
    content_type = "application/problem+json"
)]
pub struct Forbidden(Problem<'static>);

#[derive(ToResponse)]
#[response(
    description = "No such resource, or none that the caller may see (its existence is private)",
    content_type = "application/problem+json"
)]
pub struct NotFound(Problem<'static>);

#[derive(ToResponse)]
#[response(description = "Conflicts with the current state", content_type = "application/problem+json")]
pub struct Conflict(Problem<'static>);

#[derive(ToResponse)]
#[response(
    description = "The sync cursor is no longer valid (type `/problems/cursor-expired`): sync again without one",
    content_type = "application/problem+json"
)]
pub struct Gone(Problem<'static>);

#[derive(ToResponse)]
#[response(
    description = "The request body is larger than this route accepts (JSON 1 MiB, CSV 128 MiB, attachments 64 MiB)",
    content_type = "application/problem+json"
)]
pub struct PayloadTooLarge(Problem<'static>);

#[derive(ToResponse)]
#[response(
    description = "The request body's Content-Type is not one this route accepts",
    content_type = "application/problem+json"
)]
pub struct UnsupportedMediaType(Problem<'static>);

#[derive(ToResponse)]
#[response(description = "Invalid fields: `errors` lists every one", content_type = "application/problem+json")]
pub struct Unprocessable(Problem<'static>);

#[derive(ToResponse)]
#[response(
    description = "Too many failed attempts: try again later",
    content_type = "application/problem+json",
    headers(("Retry-After" = u64, description = "Seconds to wait"))
)]
pub struct TooManyRequests(Problem<'static>);

#[derive(ToResponse)]
#[response(description = "The database does not answer", content_type = "application/problem+json")]
pub struct Unavailable(Problem<'static>);

/// The problem answers that routes share, named once: a route lists a set in its `responses(...)` instead of
/// one line per status, and adds its own (`404`, `409`, …) next to it.
pub mod sets {
    use utoipa::IntoResponses;

    use super::*;

    /// Staff only: no valid token (401), or not staff (403).
    #[derive(IntoResponses)]
    pub enum Staff {
        #[response(status = 401)]
        Unauthorized(#[ref_response] Unauthorized),
        #[response(status = 403)]
        Forbidden(#[ref_response] Forbidden),
    }

    /// Staff, about one committee, member or document: 404 also when the caller may not see it.
    #[derive(IntoResponses)]
    pub enum StaffLookup {
        #[response(status = 401)]
        Unauthorized(#[ref_response] Unauthorized),
        #[response(status = 403)]
        Forbidden(#[ref_response] Forbidden),
        #[response(status = 404)]
        NotFound(#[ref_response] NotFound),
    }

    /// Staff, with a query string that is checked: malformed (400) or invalid values (422).
    #[derive(IntoResponses)]
    pub enum StaffQuery {
        #[response(status = 400)]
        BadRequest(#[ref_response] BadRequest),
        #[response(status = 401)]
        Unauthorized(#[ref_response] Unauthorized),
        #[response(status = 403)]
        Forbidden(#[ref_response] Forbidden),
        #[response(status = 422)]
        Unprocessable(#[ref_response] Unprocessable),
    }

    /// A request body: malformed (400), too large (413) or of a type the route does not take (415).
    #[derive(IntoResponses)]
    pub enum Body {
        #[response(status = 400)]
        BadRequest(#[ref_response] BadRequest),
        #[response(status = 413)]
        PayloadTooLarge(#[ref_response] PayloadTooLarge),
        #[response(status = 415)]
        UnsupportedMediaType(#[ref_response] UnsupportedMediaType),
    }

    /// A request body checked field by field (422), from a caller with a token or credentials (401).
    #[derive(IntoResponses)]
    pub enum Write {
        #[response(status = 400)]
        BadRequest(#[ref_response] BadRequest),
        #[response(status = 401)]
        Unauthorized(#[ref_response] Unauthorized),
        #[response(status = 413)]
        PayloadTooLarge(#[ref_response] PayloadTooLarge),
        #[response(status = 415)]
        UnsupportedMediaType(#[ref_response] UnsupportedMediaType),
        #[response(status = 422)]
        Unprocessable(#[ref_response] Unprocessable),
    }

    /// A staff write: a [`Write`] that only staff may send (403).
    #[derive(IntoResponses)]
    pub enum StaffWrite {
        #[response(status = 400)]
        BadRequest(#[ref_response] BadRequest),
        #[response(status = 401)]
        Unauthorized(#[ref_response] Unauthorized),
        #[response(status = 403)]
        Forbidden(#[ref_response] Forbidden),
        #[response(status = 413)]
        PayloadTooLarge(#[ref_response] PayloadTooLarge),
        #[response(status = 415)]
        UnsupportedMediaType(#[ref_response] UnsupportedMediaType),
        #[response(status = 422)]
        Unprocessable(#[ref_response] Unprocessable),
    }
}
