use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::app::AppState;
use crate::error::AppError;
use crate::openapi::{problems as p, schemas as s};

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    responses(
        (status = 200, description = "Up", body = s::Health),
    )
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The process can serve: its database answers within two seconds.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    responses(
        (status = 200, description = "Ready: the database answers", body = s::Ready),
        (status = 503, response = p::Unavailable),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if state.db.ping(Duration::from_secs(2)).await {
        Ok(HttpResponse::Ok().json(json!({ "status": "ok", "database": state.db.url().backend_name() })))
    } else {
        Err(AppError::Unavailable)
    }
}
