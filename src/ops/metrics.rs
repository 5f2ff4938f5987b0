//! Prometheus metrics: requests by route and status, their latency, and the state of the pool.
//!
//! Every label comes from a fixed set, so that no client can make the metrics grow: the method is a standard
//! one or `OTHER`, the route a pattern of the code or `unmatched`, the status a number. `/metrics` itself is
//! served only to the configured address ranges or to the holder of the metrics token.

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::auth::user::bearer_token;
use crate::error::AppError;
use crate::openapi::problems as p;
use crate::ops::addresses;
use crate::state::AppState;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
    held_polls: IntGauge,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new_custom(Some("handbook".into()), None).expect("a valid prefix");
        let labels = &["method", "route", "status"];
        let requests = IntCounterVec::new(Opts::new("http_requests_total", "HTTP requests answered"), labels)
            .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "Time to answer an HTTP request")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            labels,
        )
        .expect("valid metric");
        let pool_connections = IntGauge::new("db_pool_connections", "Database connections open").expect("valid metric");
        let pool_idle = IntGauge::new("db_pool_idle_connections", "Database connections idle").expect("valid metric");
        let pool_max = IntGauge::new("db_pool_max_connections", "Database connections allowed").expect("valid metric");
        let held_polls = IntGauge::new("sync_held_polls", "Sync polls held (wait=N) now").expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(pool_connections.clone()),
            Box::new(pool_idle.clone()),
            Box::new(pool_max.clone()),
            Box::new(held_polls.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        Metrics { registry, requests, latency, pool_connections, pool_idle, pool_max, held_polls }
    }

    /// Counts one answered request. `route` is the matched pattern or `unmatched`, never the path.
    pub fn observe_request(&self, method: &Method, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method_label(method), route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }
}

/// The method as a label: a standard method, or `OTHER` for any other (clients may invent methods).
pub fn method_label(method: &Method) -> &'static str {
    const STANDARD: [(Method, &str); 7] = [
        (Method::GET, "GET"),
        (Method::HEAD, "HEAD"),
        (Method::POST, "POST"),
        (Method::PUT, "PUT"),
        (Method::PATCH, "PATCH"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
    ];
    STANDARD.iter().find(|(standard, _)| standard == method).map_or("OTHER", |(_, label)| label)
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Prometheus metrics, for the address ranges of `HANDBOOK_METRICS_ALLOW` (default: the machine itself) and for
/// `Authorization: Bearer <HANDBOOK_METRICS_TOKEN>`; anyone else is told 404, as for an unknown path.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 404, response = p::NotFound),
    )
)]
pub async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, AppError> {
    if !may_read(&state, &req) {
        return Err(AppError::NotFound);
    }
    let metrics = &state.metrics;
    let pool = state.db.pool();
    let pool_state = pool.state();
    metrics.pool_connections.set(i64::from(pool_state.connections));
    metrics.pool_idle.set(i64::from(pool_state.idle_connections));
    metrics.pool_max.set(i64::from(pool.max_size()));
    metrics.held_polls.set(i64::try_from(state.db.live().held()).unwrap_or(i64::MAX));

    let mut text = Vec::new();
    TextEncoder::new().encode(&metrics.registry.gather(), &mut text).expect("encoding into memory cannot fail");
    Ok(HttpResponse::Ok().content_type(prometheus::TEXT_FORMAT).body(text))
}

/// Whether the request may read the metrics: it carries the metrics token, or its client address lies in an
/// allowed range. A request that an untrusted peer forwarded (it has X-Forwarded-For or Forwarded) comes from a
/// client we cannot know: refused, so that a proxy on an allowed address does not open the metrics to all.
fn may_read(state: &AppState, req: &HttpRequest) -> bool {
    let settings = &state.settings;
    if let (Some(expected), Some(given)) = (settings.metrics_token.as_deref(), bearer_token(req)) {
        // Digests first, so that neither the bytes nor the length of the token show in the time taken.
        let digest = |token: &str| -> [u8; 32] { Sha256::digest(token.as_bytes()).into() };
        let same = digest(expected)[..].ct_eq(&digest(given)[..]);
        if !expected.is_empty() && bool::from(same) {
            return true;
        }
    }
    let Some(peer) = req.peer_addr().map(|addr| addr.ip()) else { return false };
    let proxies = &state.auth.trusted_proxies;
    let forwarded = ["x-forwarded-for", "forwarded"].iter().any(|name| req.headers().contains_key(*name));
    if forwarded && !addresses::is_trusted(peer, proxies) {
        return false;
    }
    let client = addresses::client_ip(peer, proxies, req.headers());
    settings.metrics_allow.iter().any(|range| range.contains(client))
}
