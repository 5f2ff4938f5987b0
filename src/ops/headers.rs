//! Headers every response carries: nothing personal is cached unless a route says otherwise, and HSTS once the
//! service is reached over TLS (directly or through a proxy that says so).

use std::future::Future;

use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use futures_util::TryFutureExt;

/// Middleware (for `App::wrap_fn`).
pub fn secure_defaults<S, B>(
    req: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse<B>, actix_web::Error>> + use<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let over_tls = req.connection_info().scheme() == "https";
    // A combinator, not an async block, which would keep the inner future twice (see `request_log`).
    service.call(req).map_ok(move |mut res| {
        let headers = res.headers_mut();
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if over_tls {
            headers.insert(
                header::STRICT_TRANSPORT_SECURITY,
                HeaderValue::from_static("max-age=31536000; includeSubDomains"),
            );
        }
        res
    })
}
