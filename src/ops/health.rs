use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::app::AppState;
use crate::error::AppError;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The process can serve: its database answers within two seconds.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if state.db.ping(Duration::from_secs(2)).await {
        Ok(HttpResponse::Ok().json(json!({ "status": "ok", "database": state.db.url().backend_name() })))
    } else {
        Err(AppError::Unavailable)
    }
}
