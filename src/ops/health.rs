use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::openapi::problems as p;
use crate::state::AppState;

/// The process is up.
#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process can serve: its database answers.
#[derive(Serialize, ToSchema)]
pub struct Ready {
    #[schema(example = "ok")]
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    #[schema(example = "postgres")]
    pub database: &'static str,
}

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    responses(
        (status = 200, description = "Up", body = Health),
    )
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The process can serve: its database answers within two seconds, and so does the attachment store when it is a
/// bucket.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    responses(
        (status = 200, description = "Ready: the database (and a bucket holding the attachments) answers", body = Ready),
        (status = 503, response = p::Unavailable),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let timeout = Duration::from_secs(2);
    let (database, attachments) = tokio::join!(state.db.ping(timeout), state.blobs.reachable(timeout));
    if database && attachments {
        Ok(HttpResponse::Ok().json(Ready { status: "ok", database: state.db.url().backend_name() }))
    } else {
        Err(AppError::Unavailable)
    }
}
