//! HTTP in and out for publishing (staff) and reading (everyone signed in).

use actix_web::{http::header, web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::paging;

use super::documents::{self, DraftInput, DraftPatch, StaffFilter};
use super::reading::{self, ReaderFilter};
use super::KINDS;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/admin/documents").post(create).get(list_managed))
        .service(web::resource("/api/v1/admin/documents/{id}").get(get_managed).patch(update))
        .service(web::resource("/api/v1/admin/documents/{id}/publish").post(publish))
        .service(web::resource("/api/v1/admin/documents/{id}/unpublish").post(unpublish))
        .service(web::resource("/api/v1/admin/documents/{id}/revisions").get(revisions))
        .service(web::resource("/api/v1/admin/documents/{id}/revisions/{n}/restore").post(restore))
        .service(web::resource("/api/v1/documents").get(list_visible))
        .service(web::resource("/api/v1/documents/{id}").get(get_visible));
}

/// Admin, officer (to its own committee only).
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
async fn publish(state: web::Data<AppState>, user: AuthUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let published = state.db.run(move |conn| documents::publish(conn, &user, &id)).await?;
    Ok(HttpResponse::Ok().json(published))
}

/// Admin, that committee's officer.
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
async fn revisions(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let items = state.db.run(move |conn| documents::revisions(conn, &user, &id)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

/// Admin, that committee's officer.
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManagedQuery {
    status: Option<String>,
    section: Option<String>,
    q: Option<String>,
    limit: Option<i64>,
    after: Option<String>,
}

fn offset_from(after: Option<&str>) -> Result<i64, AppError> {
    match paging::decode_after(after)? {
        Some(key) => key
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| AppError::validation("after", "is not a cursor this service issued")),
        None => Ok(0),
    }
}

/// Admin (every document), officer (its committee's).
async fn list_managed(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ManagedQuery>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let query = query.into_inner();
    let limit = paging::limit(query.limit)?;
    let offset = offset_from(query.after.as_deref())?;
    if let Some(status) = &query.status {
        if !documents::STAFF_STATUSES.contains(&status.as_str()) {
            return Err(AppError::validation("status", documents::STAFF_STATUSES.join(", ")));
        }
    }
    let filter = StaffFilter { status: query.status, section: query.section, q: query.q };
    let mut rows = state.db.run(move |conn| Ok(documents::list_managed(conn, &user, &filter, limit, offset)?)).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = more.then(|| paging::encode_after(&(offset + limit).to_string()));
    let items: Vec<_> = rows.iter().map(documents::DocumentRow::view).collect();
    Ok(HttpResponse::Ok().json(json!({ "items": items, "next": next })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReaderQuery {
    section: Option<String>,
    kind: Option<String>,
    q: Option<String>,
    limit: Option<i64>,
    after: Option<String>,
}

/// Signed in: the published documents the caller may see.
async fn list_visible(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<ReaderQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let limit = paging::limit(query.limit)?;
    let offset = offset_from(query.after.as_deref())?;
    if let Some(kind) = &query.kind {
        if !KINDS.contains(&kind.as_str()) {
            return Err(AppError::validation("kind", KINDS.join(", ")));
        }
    }
    let filter = ReaderFilter { section: query.section, kind: query.kind, q: query.q };
    let (items, more) = state.db.run(move |conn| Ok(reading::list(conn, &user, &filter, limit, offset)?)).await?;
    let next = more.then(|| paging::encode_after(&(offset + limit).to_string()));
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .json(json!({ "items": items, "next": next })))
}

/// Signed in: one published document the caller may see, else 404.
async fn get_visible(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let document = state.db.run(move |conn| Ok(reading::find(conn, &user, &id)?)).await?.ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "private, no-cache")).json(document))
}
