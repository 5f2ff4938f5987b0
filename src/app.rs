//! Builds the actix App: limits, error rendering, middleware and every route, around the shared `AppState`.
//! `main` serves it; the tests drive the very same App.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{DefaultHeaders, ErrorHandlers};
use actix_web::{web, App};

use crate::auth;
use crate::error::{self, AppError};
use crate::openapi::{self, routes::Routes};
use crate::ops;
use crate::org;
use crate::state::AppState;
use crate::{audit, content, coverage, meetings, reading, sync};

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
        .configure(|cfg| routes().register(cfg))
        .configure(crate::web::configure)
        .default_service(web::to(not_found))
        .wrap_fn(ops::nul::reject_nul)
        .wrap_fn(ops::body_deadline::body_deadline)
        .wrap(ErrorHandlers::new().default_handler(error::ensure_problem_body))
        .wrap_fn(ops::headers::secure_defaults)
        .wrap(DefaultHeaders::new().add(("X-Content-Type-Options", "nosniff")).add(("Referrer-Policy", "no-referrer")))
        .wrap_fn(ops::request_log::log_request)
}

/// Every route of the API, in the order actix tries them: served by `build`, described by `openapi::document`.
pub fn routes() -> Routes {
    let mut routes = Routes::default();
    ops::routes(&mut routes);
    org::routes::routes(&mut routes);
    auth::routes::routes(&mut routes);
    audit::routes::routes(&mut routes);
    content::routes::routes(&mut routes);
    content::attachments::routes(&mut routes);
    sync::routes::routes(&mut routes);
    coverage::routes::routes(&mut routes);
    reading::routes::routes(&mut routes);
    // Before `/api/v1/meetings/{id}`, whose pattern would take `stats` for an id.
    meetings::stats::routes(&mut routes);
    meetings::routes::routes(&mut routes);
    openapi::routes(&mut routes);
    routes
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}
