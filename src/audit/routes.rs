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
    /// Entries by this staff login only (case does not matter).
    actor: Option<String>,
    /// Entries of this action only, e.g. `document.publish`.
    action: Option<String>,
    /// Entries about this target only: a card number, a document id, a committee code, a login…
    target: Option<String>,
    /// First day, YYYY-MM-DD, in Hanoi time (UTC+7), included.
    #[param(example = "2026-11-01")]
    from: Option<String>,
    /// Last day, YYYY-MM-DD, in Hanoi time (UTC+7), included.
    #[param(example = "2026-11-30")]
    to: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// The `next` of the previous page (with the same filters).
    after: Option<String>,
}

/// Admin (everything), officer (entries about its committee). Filters combine; empty ones are ignored.
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
    let query = query.into_inner();
    let limit = paging::limit(query.limit)?;
    let after = super::Key::decode(query.after.as_deref())?;
    let filter = super::Filter::parse(
        query.actor.as_deref(),
        query.action.as_deref(),
        query.target.as_deref(),
        query.from.as_deref(),
        query.to.as_deref(),
    )?;
    let page = super::page(&state, &user, filter, limit, after).await?;
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(page))
}
