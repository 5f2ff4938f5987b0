use actix_web::{http::header, web, HttpResponse};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::AppError;
use crate::paging::{self, Page};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/api/v1/admin/audit").get(list));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    limit: Option<i64>,
    after: Option<String>,
}

/// Admin (everything), officer (entries about its committee).
async fn list(
    state: web::Data<AppState>,
    user: AuthUser,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    user.require_staff()?;
    let limit = paging::limit(query.limit)?;
    let before = match paging::decode_after(query.after.as_deref())? {
        Some(key) => {
            Some(key.parse::<i64>().map_err(|_| AppError::validation("after", "is not a cursor this service issued"))?)
        }
        None => None,
    };
    let scope = user.scope().map(str::to_owned);
    let rows = state.db.run(move |conn| Ok(super::list(conn, scope.as_deref(), limit, before)?)).await?;
    let page = Page::from_rows(rows, limit, |entry| entry.id.to_string());
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(page))
}
