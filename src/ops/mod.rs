//! Operating the service: health and readiness, Prometheus metrics, the request log, and what every request and
//! response must respect.

pub mod addresses;
pub mod body_deadline;
pub mod headers;
pub mod health;
pub mod metrics;
pub mod nul;
pub mod request_log;

use crate::openapi::routes::Routes;

/// The probes and the metrics, each at the method and path of its `#[utoipa::path]`.
pub fn routes(routes: &mut Routes) {
    routes
        .add(health::__path_healthz, health::healthz)
        .add(health::__path_readyz, health::readyz)
        .add(metrics::__path_metrics, metrics::metrics);
}
