//! Builds the actix App: limits, error rendering, middleware and every route, around the shared `AppState`.
//! `main` serves it; the tests drive the very same App.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, ErrorHandlers};
use actix_web::{web, App};

use crate::auth;
use crate::error::{self, AppError};
use crate::ops;
use crate::org;
use crate::state::AppState;
use crate::{audit, content, coverage, sync};

/// Largest JSON request body.
pub const JSON_LIMIT: usize = 1024 * 1024;

pub fn build(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .app_data(web::JsonConfig::default().limit(JSON_LIMIT).error_handler(error::json_error))
        .app_data(web::QueryConfig::default().error_handler(error::query_error))
        .app_data(web::PathConfig::default().error_handler(error::path_error))
        .app_data(web::PayloadConfig::default().limit(JSON_LIMIT))
        .configure(routes)
        .default_service(web::to(not_found))
        .wrap_fn(ops::nul::reject_nul)
        .wrap_fn(ops::body_deadline::body_deadline)
        .wrap(ErrorHandlers::new().default_handler(error::ensure_problem_body))
        .wrap_fn(ops::headers::secure_defaults)
        .wrap(DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")).add(("Referrer-Policy", "no-referrer")))
        .wrap_fn(ops::request_log::log_request)
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").get(ops::health::healthz))
        .service(web::resource("/readyz").get(ops::health::readyz))
        .service(web::resource("/metrics").get(ops::metrics::metrics))
        .configure(org::routes::configure)
        .configure(auth::routes::configure)
        .configure(audit::routes::configure)
        .configure(content::routes::configure)
        .configure(content::attachments::configure)
        .configure(sync::routes::configure)
        .configure(coverage::routes::configure)
        .configure(coverage::dashboard::configure)
        .configure(crate::openapi::configure);
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}
