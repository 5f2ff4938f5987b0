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
