//! HTTP in and out for publishing (staff) and reading (everyone signed in).

use actix_web::{http::header, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::error::AppError;
use crate::openapi::problems as p;
use crate::openapi::routes::Routes;
use crate::openapi::schemas::Items;
use crate::paging;
use crate::state::AppState;

use super::documents::{self, DraftInput, DraftPatch, StaffFilter};
use super::reading::{self, ReaderFilter};
use super::states::{DocumentKind, DocumentStatus};

/// Every route of this module, each at the method and path of its `#[utoipa::path]`.
pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_create, create)
        .add(__path_list_managed, list_managed)
        .add(__path_get_managed, get_managed)
        .add(__path_update, update)
        .add(__path_publish, publish)
        .add(__path_unpublish, unpublish)
        .add(__path_revisions, revisions)
        .add(__path_restore, restore)
        .add(__path_list_visible, list_visible)
        .add(__path_get_visible, get_visible);
}

/// Admin, officer (to its own committee only).
#[utoipa::path(
    post,
    path = "/api/v1/admin/documents",
    tag = "content",
    operation_id = "create_document",
    security(("bearer" = [])),
    request_body = DraftInput,
    responses(
        (status = 201, description = "The new draft", body = documents::DocumentView),
        p::sets::StaffWrite,
    )
)]
async fn create(
    state: web::Data<AppState>,
    user: AuthUser,
    body: web::Json<DraftInput>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let row = state.db.run(move |conn| documents::create(conn, &user, body.into_inner())).await?;
    Ok(HttpResponse::Created().json(row.view()))
}

/// Admin (any document), officer (its committee's; others 404).
#[utoipa::path(
    get,
    path = "/api/v1/admin/documents/{id}",
    tag = "content",
    operation_id = "get_managed_document",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The document id")),
    responses(
        (status = 200, description = "The document", body = documents::DocumentView),
        p::sets::StaffLookup,
    )
)]
async fn get_managed(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let row = state.db.run(move |conn| documents::find_managed(conn, &user, &id)).await?;
    Ok(HttpResponse::Ok().json(row.view()))
}

/// Admin, that committee's officer: edits the draft.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/documents/{id}",
    tag = "content",
    operation_id = "update_document",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The document id")),
    request_body = DraftPatch,
    responses(
        (status = 200, description = "The updated draft", body = documents::DocumentView),
        p::sets::StaffWrite,
        (status = 404, response = p::NotFound),
    )
)]
async fn update(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: web::Json<DraftPatch>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let row = state.db.run(move |conn| documents::update(conn, &user, &id, body.into_inner())).await?;
    Ok(HttpResponse::Ok().json(row.view()))
}

/// Admin, that committee's officer.
#[utoipa::path(
    post,
    path = "/api/v1/admin/documents/{id}/publish",
    tag = "content",
    operation_id = "publish_document",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The document id")),
    responses(
        (status = 200, description = "The draft is now a new immutable revision", body = documents::Published),
        p::sets::StaffLookup,
        (status = 422, response = p::Unprocessable),
    )
)]
async fn publish(state: web::Data<AppState>, user: AuthUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let published = state.db.run(move |conn| documents::publish(conn, &user, &id)).await?;
    Ok(HttpResponse::Ok().json(published))
}

/// Admin, that committee's officer.
#[utoipa::path(
    post,
    path = "/api/v1/admin/documents/{id}/unpublish",
    tag = "content",
    operation_id = "unpublish_document",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The document id")),
    responses(
        (status = 200, description = "Withdrawn: members' devices delete it on their next sync", body = documents::Unpublished),
        p::sets::StaffLookup,
        (status = 409, response = p::Conflict),
    )
)]
async fn unpublish(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let answer = state.db.run(move |conn| documents::unpublish(conn, &user, &id)).await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// Admin, that committee's officer.
#[utoipa::path(
    get,
    path = "/api/v1/admin/documents/{id}/revisions",
    tag = "content",
    operation_id = "list_revisions",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The document id")),
    responses(
        (status = 200, description = "Every published revision, oldest first", body = Items<documents::RevisionSummary>),
        p::sets::StaffLookup,
    )
)]
async fn revisions(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let items = state.db.run(move |conn| documents::revisions(conn, &user, &id)).await?;
    Ok(HttpResponse::Ok().json(Items { items }))
}

/// Admin, that committee's officer.
#[utoipa::path(
    post,
    path = "/api/v1/admin/documents/{id}/revisions/{n}/restore",
    tag = "content",
    operation_id = "restore_revision",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The document id"), ("n" = i32, Path, description = "The revision to restore")),
    responses(
        (status = 200, description = "Revision n's content, published as a new revision", body = documents::Published),
        p::sets::StaffQuery,
        (status = 404, response = p::NotFound),
    )
)]
async fn restore(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, i32)>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let (id, revision) = path.into_inner();
    let published = state.db.run(move |conn| documents::restore(conn, &user, &id, revision)).await?;
    Ok(HttpResponse::Ok().json(published))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ManagedQuery {
    // Checked by the handler (422), not by the query parser.
    #[param(value_type = Option<DocumentStatus>)]
    status: Option<String>,
    /// The draft's kind. Checked by the handler (422), not by the query parser.
    #[param(value_type = Option<DocumentKind>)]
    kind: Option<String>,
    /// Exactly this section.
    section: Option<String>,
    /// Part of the title, with or without Vietnamese diacritics.
    q: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// The `next` of the previous page.
    after: Option<String>,
}

/// Admin (every document), officer (its committee's).
#[utoipa::path(
    get,
    path = "/api/v1/admin/documents",
    tag = "content",
    operation_id = "list_managed_documents",
    security(("bearer" = [])),
    params(ManagedQuery),
    responses(
        (status = 200, description = "One page of the documents the caller manages, latest change first", body = paging::Page<documents::DocumentView>),
        p::sets::StaffQuery,
    )
)]
async fn list_managed(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ManagedQuery>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let query = query.into_inner();
    let limit = paging::limit(query.limit)?;
    let offset = paging::decode_offset(query.after.as_deref())?;
    let status = AppError::parse_field::<DocumentStatus>(query.status.as_deref(), "status", DocumentStatus::one_of())?;
    let kind = AppError::parse_field::<DocumentKind>(query.kind.as_deref(), "kind", DocumentKind::one_of())?;
    let filter = StaffFilter { status, kind, section: query.section, q: query.q };
    let rows = state.db.run(move |conn| Ok(documents::list_managed(conn, &user, &filter, limit, offset)?)).await?;
    let page = paging::Page::from_offset_rows(rows, limit, offset).map(|row| row.view());
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReaderQuery {
    /// Exactly this section.
    section: Option<String>,
    // Checked by the handler (422), not by the query parser.
    #[param(value_type = Option<DocumentKind>)]
    kind: Option<String>,
    /// Words of the title or text, with or without Vietnamese diacritics.
    q: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// The `next` of the previous page.
    after: Option<String>,
}

/// Signed in: the published documents the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/documents",
    tag = "content",
    operation_id = "list_documents",
    security(("bearer" = [])),
    params(ReaderQuery),
    responses(
        (status = 200, description = "One page of the published documents the caller may read", body = paging::Page<reading::LiveDocument>),
        (status = 400, response = p::BadRequest),
        (status = 401, response = p::Unauthorized),
        (status = 422, response = p::Unprocessable),
    )
)]
async fn list_visible(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ReaderQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let limit = paging::limit(query.limit)?;
    let offset = paging::decode_offset(query.after.as_deref())?;
    let kind = AppError::parse_field::<DocumentKind>(query.kind.as_deref(), "kind", DocumentKind::one_of())?;
    let filter = ReaderFilter { section: query.section, kind, q: query.q };
    let (items, more) = state.db.run(move |conn| Ok(reading::list(conn, &user, &filter, limit, offset)?)).await?;
    let next = paging::next_offset(more, offset, limit);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .json(paging::Page { items, next }))
}

/// Signed in: one published document the caller may see, else 404.
#[utoipa::path(
    get,
    path = "/api/v1/documents/{id}",
    tag = "content",
    operation_id = "get_document",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The document id")),
    responses(
        (status = 200, description = "The document", body = reading::LiveDocument),
        (status = 401, response = p::Unauthorized),
        (status = 404, response = p::NotFound),
    )
)]
async fn get_visible(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let document = state.db.run(move |conn| Ok(reading::find(conn, &user, &id)?)).await?.ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "private, no-cache")).json(document))
}
