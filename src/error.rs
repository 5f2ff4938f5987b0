//! One error type for the whole service, rendered in one place as RFC 9457 problem details.

use actix_web::body::{BoxBody, EitherBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// One rejected field of a request body (or, for CSV imports, of a line).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// The line of the CSV file (the header is line 1); only for imports.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1)]
    pub line: Option<u64>,
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { line: None, field: field.into(), message: message.into() }
    }

    pub fn on_line(line: u64, field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { line: Some(line), field: field.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("not allowed")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    CursorExpired(String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("the request body arrived too slowly")]
    RequestTimeout,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("service unavailable")]
    Unavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    /// An optional field (a query filter) that must parse as `T` when present, else 422 on `field` with `message`.
    pub fn parse_field<T: std::str::FromStr>(
        value: Option<&str>,
        field: &str,
        message: impl Into<String>,
    ) -> Result<Option<T>, AppError> {
        value.map(|text| text.parse::<T>().map_err(|_| AppError::validation(field, message))).transpose()
    }

    fn slug(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad-request",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden => "forbidden",
            AppError::NotFound => "not-found",
            AppError::MethodNotAllowed => "method-not-allowed",
            AppError::Conflict(_) => "conflict",
            AppError::CursorExpired(_) => "cursor-expired",
            AppError::PayloadTooLarge => "payload-too-large",
            AppError::RequestTimeout => "request-timeout",
            AppError::UnsupportedMediaType(_) => "unsupported-media-type",
            AppError::Validation(_) => "validation",
            AppError::TooManyRequests { .. } => "too-many-requests",
            AppError::Unavailable => "unavailable",
            AppError::Internal(_) => "internal",
        }
    }

    /// What the client is told; never the cause of a 500.
    fn detail(&self) -> String {
        match self {
            AppError::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
            other => other.to_string(),
        }
    }
}

/// RFC 9457 problem details: the body of every error answer (`Content-Type: application/problem+json`).
#[derive(Serialize, ToSchema)]
pub struct Problem<'a> {
    /// `/problems/<kind>`, e.g. `/problems/validation` or `/problems/cursor-expired`.
    #[serde(rename = "type")]
    #[schema(example = "/problems/validation")]
    kind: String,
    /// The HTTP status's reason phrase.
    #[schema(example = "Unprocessable Entity")]
    title: &'a str,
    #[schema(minimum = 400, maximum = 599, example = 422)]
    status: u16,
    /// What went wrong, for a person; never the cause of a 500.
    detail: String,
    /// Every rejected field (422 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Vec<FieldError>)]
    errors: Option<&'a [FieldError]>,
}

pub fn problem_type(slug: &str) -> String {
    format!("/problems/{slug}")
}

fn problem_response(status: StatusCode, slug: &str, detail: String, errors: Option<&[FieldError]>) -> HttpResponse {
    let problem = Problem {
        kind: problem_type(slug),
        title: status.canonical_reason().unwrap_or("Error"),
        status: status.as_u16(),
        detail,
        errors,
    };
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(serde_json::to_string(&problem).expect("a problem always serialises"))
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::CursorExpired(_) => StatusCode::GONE,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(cause) = self {
            tracing::error!(error = %format!("{cause:#}"), "internal error");
        }
        let errors = match self {
            AppError::Validation(errors) => Some(errors.as_slice()),
            _ => None,
        };
        let mut response = problem_response(self.status_code(), self.slug(), self.detail(), errors);
        match self {
            AppError::TooManyRequests { retry_after_secs } => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            AppError::Unauthorized => {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        response
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => AppError::NotFound,
            lost if crate::db::connection_lost(&lost) => {
                tracing::warn!(error = %lost, "lost the database connection");
                AppError::Unavailable
            }
            other => AppError::Internal(anyhow::Error::new(other).context("database query failed")),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(error: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %error, "no database connection available");
        AppError::Unavailable
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(error: actix_web::error::BlockingError) -> Self {
        AppError::Internal(anyhow::anyhow!("blocking task failed: {error}"))
    }
}

/// Rejected JSON bodies: malformed or unknown fields 400, too large 413, wrong content type 415.
pub fn json_error(error: actix_web::error::JsonPayloadError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as E;
    let app_error = match error {
        E::Overflow { .. } | E::OverflowKnownLength { .. } => AppError::PayloadTooLarge,
        E::ContentType => AppError::UnsupportedMediaType("expected Content-Type: application/json".into()),
        E::Deserialize(e) => AppError::BadRequest(format!("invalid JSON body: {e}")),
        E::Serialize(e) => AppError::Internal(anyhow::Error::new(e)),
        E::Payload(e) => payload_error(e),
        other => AppError::BadRequest(format!("invalid JSON body: {other}")),
    };
    app_error.into()
}

pub fn payload_error(error: actix_web::error::PayloadError) -> AppError {
    match error {
        actix_web::error::PayloadError::Overflow => AppError::PayloadTooLarge,
        actix_web::error::PayloadError::Io(io)
            if io.get_ref().is_some_and(|cause| cause.is::<crate::ops::nul::NulInBody>()) =>
        {
            AppError::BadRequest(crate::ops::nul::NulInBody.to_string())
        }
        other => AppError::BadRequest(format!("could not read the request body: {other}")),
    }
}

pub fn query_error(error: actix_web::error::QueryPayloadError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    AppError::BadRequest(format!("invalid query string: {error}")).into()
}

pub fn path_error(error: actix_web::error::PathError, _req: &actix_web::HttpRequest) -> actix_web::Error {
    AppError::BadRequest(format!("invalid path: {error}")).into()
}

/// Last line of defence: any error response that is not yet problem+json (actix's own 404, 405,
/// 413 and the like, which are plain text or empty) is rewritten as one.
pub fn ensure_problem_body<B>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Problems are already what they should be; HTML pages (the dashboard's sign-in form with 401/429, its 404
    // and 403 pages) are answers meant for a person in a browser.
    let keep = res.headers().get(header::CONTENT_TYPE).is_some_and(|value| {
        let value = value.as_bytes();
        value.starts_with(PROBLEM_JSON.as_bytes()) || value.starts_with(b"text/html")
    });
    if keep {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let error = match status {
        StatusCode::NOT_FOUND => AppError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => AppError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => AppError::UnsupportedMediaType("unsupported content type".into()),
        StatusCode::INTERNAL_SERVER_ERROR => AppError::Internal(anyhow::anyhow!("unhandled error response")),
        _ => {
            let (req, old) = res.into_parts();
            let mut response =
                problem_response(status, "http", status.canonical_reason().unwrap_or("error").to_owned(), None);
            copy_headers_worth_keeping(&old, &mut response);
            return Ok(rewritten(req, response));
        }
    };
    let (req, old) = res.into_parts();
    let mut response = error.error_response();
    copy_headers_worth_keeping(&old, &mut response);
    Ok(rewritten(req, response))
}

fn copy_headers_worth_keeping<B>(old: &HttpResponse<B>, new: &mut HttpResponse) {
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = old.headers().get(&name) {
            new.headers_mut().insert(name, value.clone());
        }
    }
}

fn rewritten<B>(req: actix_web::HttpRequest, response: HttpResponse) -> ErrorHandlerResponse<B> {
    let response: HttpResponse<EitherBody<B, BoxBody>> = response.map_into_right_body();
    ErrorHandlerResponse::Response(ServiceResponse::new(req, response))
}
