//! HTTP in and out for required reading: the list, per document, per committee, and the not-read follow-up list.

use actix_web::{http::header, web, HttpResponse};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::error::AppError;
use crate::openapi::problems as p;
use crate::openapi::routes::Routes;
use crate::openapi::schemas::Items;
use crate::paging;
use crate::state::AppState;

use super::report;

/// Every route of this module, each at the method and path of its `#[utoipa::path]`.
pub fn routes(routes: &mut Routes) {
    routes
        .add(__path_list, list)
        .add(__path_document, document)
        .add(__path_committee, committee)
        .add(__path_not_read, not_read);
}

fn no_store(body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(body)
}

/// Admin (every committee), officer (its own part).
pub async fn list_report(state: &AppState, user: AuthUser) -> Result<Vec<report::RequiredDocument>, AppError> {
    user.require_staff()?;
    state.db.run(move |conn| Ok(report::list(conn, &user)?)).await
}

#[utoipa::path(
    get,
    path = "/api/v1/reading",
    tag = "reading",
    operation_id = "required_reading",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The required documents, with read coverage over the eligible members of their audience (officer: its committee's part)", body = Items<report::RequiredDocument>),
        p::sets::Staff,
    )
)]
async fn list(state: web::Data<AppState>, user: AuthUser) -> Result<HttpResponse, AppError> {
    let items = list_report(&state, user).await?;
    Ok(no_store(Items { items }))
}

/// Admin, officer (a document addressed to its committee; others: 404).
pub async fn document_report(
    state: &AppState,
    user: AuthUser,
    id: String,
) -> Result<report::DocumentReading, AppError> {
    user.require_staff()?;
    state.db.run(move |conn| report::document(conn, &user, &id)).await
}

#[utoipa::path(
    get,
    path = "/api/v1/reading/{document_id}",
    tag = "reading",
    operation_id = "document_reading",
    security(("bearer" = [])),
    params(("document_id" = String, Path, description = "A required document")),
    responses(
        (status = 200, description = "Read coverage of the document per committee of its audience", body = report::DocumentReading),
        p::sets::StaffLookup,
    )
)]
async fn document(state: web::Data<AppState>, user: AuthUser, id: web::Path<String>) -> Result<HttpResponse, AppError> {
    Ok(no_store(document_report(&state, user, id.into_inner()).await?))
}

/// Admin, that committee's officer (others: 404).
pub async fn committee_report(
    state: &AppState,
    user: AuthUser,
    id: String,
    code: String,
) -> Result<report::CommitteeDocumentReading, AppError> {
    user.require_staff()?;
    state.db.run(move |conn| report::committee(conn, &user, &id, &code)).await
}

#[utoipa::path(
    get,
    path = "/api/v1/reading/{document_id}/{code}",
    tag = "reading",
    operation_id = "committee_reading",
    security(("bearer" = [])),
    params(
        ("document_id" = String, Path, description = "A required document"),
        ("code" = String, Path, description = "A committee of its audience"),
    ),
    responses(
        (status = 200, description = "Read coverage of the document in one committee, by unit and cell", body = report::CommitteeDocumentReading),
        p::sets::StaffLookup,
    )
)]
async fn committee(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, code) = path.into_inner();
    Ok(no_store(committee_report(&state, user, id, code).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// The `next` of the previous page.
    pub after: Option<String>,
    /// `json` (default, paged) or `csv` (the whole list, for printing).
    #[param(schema_with = paging::list_formats)]
    pub format: Option<String>,
}

/// The not-read list: one JSON page, or the whole list as CSV. The console's download calls it too.
pub async fn not_read_response(
    state: &AppState,
    user: AuthUser,
    id: String,
    code: String,
    query: &ListQuery,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let listing = paging::Listing::parse(query.limit, query.after.as_deref(), query.format.as_deref())?;
    let (limit, offset) = listing.window();
    let file_name = format!("chua-doc-{code}.csv");
    let rows = state.db.run(move |conn| report::not_read(conn, &user, &id, &code, limit, offset)).await?;
    listing.respond(rows, &file_name, report::not_read_csv_bytes)
}

/// Admin, that committee's officer: eligible members of the committee who have not read the document (at the
/// revision that made it required or later), by unit, cell and name. `?format=csv` gives the whole list.
#[utoipa::path(
    get,
    path = "/api/v1/reading/{document_id}/{code}/not-read",
    tag = "reading",
    operation_id = "not_read",
    security(("bearer" = [])),
    params(
        ("document_id" = String, Path, description = "A required document"),
        ("code" = String, Path, description = "A committee of its audience"),
        ListQuery,
    ),
    responses(
        (status = 200, description = "Eligible members who have not read it, by unit, cell and name", content((paging::Page<report::NotRead> = "application/json"), (String = "text/csv"))),
        p::sets::StaffQuery,
        (status = 404, response = p::NotFound),
    )
)]
async fn not_read(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let (id, code) = path.into_inner();
    not_read_response(&state, user, id, code, &query).await
}
