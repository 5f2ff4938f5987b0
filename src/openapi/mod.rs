//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of the service, generated from the code.
//!
//! Each routes module describes its handlers with `#[utoipa::path]` and adds them to the app's `Routes`, which
//! serves them and describes them alike; this module, at the top with `app.rs`, takes that description and adds
//! what the routes share (the problem-details answers, the bearer scheme).
//! Every answer's schema is derived from the type its handler returns. Route modules import only the leaves
//! below (`problems`, `schemas`, `routes`), never this module.

use std::sync::OnceLock;

use actix_web::{http::header, HttpResponse};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::{FieldError, Problem};
use problems::*;
use routes::Routes;

pub mod problems;
pub mod routes;
pub mod schemas;

/// This document's own route.
pub fn routes(routes: &mut Routes) {
    routes.add(__path_openapi_json, openapi_json);
}

/// The name of the security scheme of every route that needs an access token.
pub const BEARER: &str = "bearer";

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    responses((status = 200, description = "This document", content_type = "application/json", body = Object)),
)]
/// Anyone: this description of the API.
async fn openapi_json() -> HttpResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let json = DOCUMENT.get_or_init(|| document().to_json().expect("the OpenAPI document serialises"));
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(json.as_str())
}

/// The whole document: what the service shares, and every route that `app::routes` serves.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::app::routes().describe());
    // utoipa copies Cargo.toml's license, and this crate has none: no empty `license` object.
    doc.info.license = None;
    doc
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Handbook service",
        description = "Backend and sync server of the Hanoi electronic party-member handbook. Errors are RFC 9457 \
                       problem details (`application/problem+json`); routes marked with the bearer scheme need an \
                       access token.",
    ),
    components(
        schemas(Problem, FieldError),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            Gone,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unprocessable,
            TooManyRequests,
            Unavailable
        ),
    ),
    modifiers(&BearerScheme),
)]
struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut http = Http::new(HttpAuthScheme::Bearer);
        http.bearer_format = Some("JWT".to_owned());
        http.description = Some("An access token from /api/v1/auth/login, /activate or /refresh (EdDSA JWT).".into());
        components.add_security_scheme(BEARER, SecurityScheme::Http(http));
    }
}
