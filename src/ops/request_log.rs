//! One log line and one metric sample per request, under a request id that is echoed back.

use std::future::Future;
use std::time::Instant;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::web;
use futures_util::TryFutureExt;

use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client's request id is kept when it is short and plain; otherwise we make one.
fn request_id(req: &ServiceRequest) -> HeaderValue {
    req.headers()
        .get(&REQUEST_ID)
        .filter(|value| {
            let bytes = value.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= 64
                && bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
        })
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("a UUID is a valid header"))
}

/// Middleware (for `App::wrap_fn`). Logs the route pattern, not the path, so that card numbers and
/// other personal data in paths stay out of the logs.
pub fn log_request<S, B>(
    req: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + use<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let started = Instant::now();
    let request_id = request_id(&req);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().clone();
    // A combinator rather than `async move { answer.await }`: an async block keeps a captured future twice (as
    // captured and as awaited), and this future is the outermost of the chain every open connection holds.
    service.call(req).map_ok(move |mut res| {
        let route = res.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
        let status = res.status().as_u16();
        let elapsed = started.elapsed();
        if let Some(state) = state {
            state.metrics.observe_request(&method, &route, status, elapsed.as_secs_f64());
        }
        tracing::info!(
            request_id = request_id.to_str().unwrap_or_default(),
            method = crate::ops::metrics::method_label(&method),
            route = %route,
            status,
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request"
        );
        res.headers_mut().insert(REQUEST_ID, request_id);
        res
    })
}
