//! HTTP in and out for cell meetings: schedule, list, read, edit, cancel, record attendance, upload materials.
//! The statistics (`GET /api/v1/meetings/stats…`) are `stats`'s.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::content::attachments::{self, AttachmentMeta, UploadQuery};
use crate::error::AppError;
use crate::openapi::problems as p;
use crate::openapi::routes::Routes;
use crate::openapi::schemas as s;
use crate::paging::Page;
use crate::state::AppState;

use super::store::{AttendanceInput, MeetingPatch, NewMeeting};
use super::{
    list as list_meetings, manager_of, parse_instant, ListFilter, MeetingStatus, MeetingSummary, MeetingView,
    PageRequest, Viewer,
};

/// Every route of this module, each at the method and path of its `#[utoipa::path]`. The fixed paths under
/// `/api/v1/meetings/` come before `/api/v1/meetings/{id}`, which would take them for an id.
pub fn routes(routes: &mut Routes) {
    routes.add(__path_create, create).add(__path_list, list).add(__path_upload, upload);
    // The statistics go here, before `{id}`: `super::stats::routes(routes);`
    routes.add(__path_read, read).add(__path_edit, edit).add(__path_cancel, cancel).add(__path_attendance, attendance);
}

fn no_store(body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(body)
}

/// A cell's secretary or deputy (its own cell), an officer (its committee's cells), an admin.
#[utoipa::path(
    post,
    path = "/api/v1/meetings",
    tag = "meetings",
    operation_id = "create_meeting",
    security(("bearer" = [])),
    request_body = NewMeeting,
    responses(
        (status = 201, description = "Scheduled: the cell's members (eligible or exempt) are invited and get it at their next sync", body = MeetingView),
        p::sets::StaffWrite,
    )
)]
async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<NewMeeting>,
) -> Result<HttpResponse, AppError> {
    let view = state.db.run(move |conn| super::create(conn, &user, body.into_inner())).await?;
    Ok(HttpResponse::Created().json(view))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// A committee (an officer's or secretary's own; another: 404).
    committee: Option<String>,
    unit: Option<String>,
    cell: Option<String>,
    /// Meetings starting at or after this: a date (the start of that day in Hanoi) or an RFC 3339 time.
    from: Option<String>,
    /// Meetings starting before this: a date (the start of that day in Hanoi) or an RFC 3339 time.
    to: Option<String>,
    #[param(value_type = Option<MeetingStatus>)]
    status: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// The `next` of the previous page.
    after: Option<String>,
}

/// Managers: the meetings they manage, latest start first.
#[utoipa::path(
    get,
    path = "/api/v1/meetings",
    tag = "meetings",
    operation_id = "list_meetings",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "The meetings in the caller's scope that the filters select, latest start first", body = Page<MeetingSummary>),
        p::sets::StaffQuery,
        (status = 404, response = p::NotFound),
    )
)]
async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let trimmed = |value: Option<String>| value.map(|v| crate::text::clean(&v)).filter(|v| !v.is_empty());
    let filter = ListFilter {
        committee: trimmed(query.committee).map(|code| code.to_uppercase()),
        unit: trimmed(query.unit),
        cell: trimmed(query.cell),
        from: query.from.as_deref().map(|text| parse_instant("from", text)).transpose()?,
        to: query.to.as_deref().map(|text| parse_instant("to", text)).transpose()?,
        status: AppError::parse_field(query.status.as_deref(), "status", MeetingStatus::one_of())?,
    };
    let page = PageRequest::from_query(query.limit, query.after.as_deref())?;
    let answer = state
        .db
        .run(move |conn| {
            let manager = manager_of(conn, &user)?;
            list_meetings(conn, &manager, &filter, page)
        })
        .await?;
    Ok(no_store(answer))
}

/// Any meeting manager, secretaries included: a file for a meeting's `materials`, as `POST /api/v1/admin/attachments`.
#[utoipa::path(
    post,
    path = "/api/v1/meetings/attachments",
    tag = "meetings",
    operation_id = "upload_meeting_material",
    security(("bearer" = [])),
    params(UploadQuery),
    request_body(description = "The file's bytes, sent with its Content-Type (which must match what the bytes are), at most 64 MiB", content((s::Binary = "application/pdf"), (s::Binary = "image/png"), (s::Binary = "image/jpeg"), (s::Binary = "image/webp"), (s::Binary = "image/gif"), (s::Binary = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"), (s::Binary = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (s::Binary = "application/vnd.openxmlformats-officedocument.presentationml.presentation"), (s::Binary = "application/msword"), (s::Binary = "application/vnd.ms-excel"), (s::Binary = "application/vnd.ms-powerpoint"))),
    responses(
        (status = 201, description = "Stored (or already there: the same bytes are stored once); name it in a meeting's `materials`", body = AttachmentMeta),
        p::sets::StaffWrite,
    )
)]
async fn upload(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    query: web::Query<UploadQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let checking = user.clone();
    state.db.run(move |conn| manager_of(conn, &checking).map(drop)).await?;
    attachments::upload_response(&state, user, &req, query.into_inner(), payload).await
}

/// Its invitees (the members of its cell it invited) and managers; anyone else: 404.
#[utoipa::path(
    get,
    path = "/api/v1/meetings/{id}",
    tag = "meetings",
    operation_id = "get_meeting",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The meeting id")),
    responses(
        (status = 200, description = "The meeting; managers also get every invitee's answer (`rsvps`) and attendance, an invitee its own `rsvp`", body = MeetingView),
        (status = 401, response = p::Unauthorized),
        (status = 404, response = p::NotFound),
    )
)]
async fn read(state: web::Data<AppState>, user: AuthUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let view = state
        .db
        .run(move |conn| {
            let viewer = Viewer::of(conn, &user)?;
            super::get(conn, &viewer, &id)
        })
        .await?;
    Ok(no_store(view))
}

/// Its managers: a partial update of a scheduled meeting; its invitees get the new value at their next sync.
#[utoipa::path(
    patch,
    path = "/api/v1/meetings/{id}",
    tag = "meetings",
    operation_id = "update_meeting",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The meeting id")),
    request_body = MeetingPatch,
    responses(
        (status = 200, description = "Updated", body = MeetingView),
        p::sets::StaffWrite,
        (status = 404, response = p::NotFound),
        (status = 409, response = p::Conflict),
    )
)]
async fn edit(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: web::Json<MeetingPatch>,
) -> Result<HttpResponse, AppError> {
    let view = state.db.run(move |conn| super::update(conn, &user, &id, body.into_inner())).await?;
    Ok(no_store(view))
}

/// Its managers: cancels the meeting (again: no change); its invitees get it with `status: "cancelled"`.
#[utoipa::path(
    post,
    path = "/api/v1/meetings/{id}/cancel",
    tag = "meetings",
    operation_id = "cancel_meeting",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The meeting id")),
    responses(
        (status = 200, description = "Cancelled", body = MeetingView),
        p::sets::Staff,
        (status = 404, response = p::NotFound),
    )
)]
async fn cancel(state: web::Data<AppState>, user: AuthUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    let view = state.db.run(move |conn| super::cancel(conn, &user, &id)).await?;
    Ok(no_store(view))
}

/// Its managers, once the meeting has started: attendance of invitees, all records or none.
#[utoipa::path(
    put,
    path = "/api/v1/meetings/{id}/attendance",
    tag = "meetings",
    operation_id = "record_attendance",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The meeting id")),
    request_body = AttendanceInput,
    responses(
        (status = 200, description = "Recorded: each record replaces an earlier one of its card", body = MeetingView),
        p::sets::StaffWrite,
        (status = 404, response = p::NotFound),
    )
)]
async fn attendance(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: web::Json<AttendanceInput>,
) -> Result<HttpResponse, AppError> {
    let view = state.db.run(move |conn| super::record_attendance(conn, &user, &id, body.into_inner())).await?;
    Ok(no_store(view))
}
