use actix_web::{http::header, web, HttpResponse};
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::error::AppError;
use crate::openapi::problems as p;
use crate::openapi::routes::Routes;
use crate::paging::{self, Page};
use crate::state::AppState;

/// Every route of this module, each at the method and path of its `#[utoipa::path]`.
pub fn routes(routes: &mut Routes) {
    routes.add(__path_list, list);
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// The `next` of the previous page.
    after: Option<String>,
}

/// Admin (everything), officer (entries about its committee).
#[utoipa::path(
    get,
    path = "/api/v1/admin/audit",
    tag = "audit",
    operation_id = "list_audit",
    security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "One page of the audit log, newest first", body = Page<super::Entry>),
        p::sets::StaffQuery,
    )
)]
async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let limit = paging::limit(query.limit)?;
    let before = paging::decode_id(query.after.as_deref())?;
    let scope = user.scope().into_committee();
    let rows = state.db.run(move |conn| Ok(super::list(conn, scope.as_deref(), limit, before)?)).await?;
    let page = Page::from_rows(rows, limit, |entry| entry.id.to_string());
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(page))
}
