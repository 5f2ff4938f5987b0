//! Operating the service: health and readiness, Prometheus metrics, and the request log.

pub mod headers;
pub mod health;
pub mod metrics;
pub mod request_log;
