//! Operating the service: health and readiness, Prometheus metrics, the request log, and what every request and
//! response must respect.

pub mod addresses;
pub mod body_deadline;
pub mod headers;
pub mod health;
pub mod metrics;
pub mod nul;
pub mod request_log;
