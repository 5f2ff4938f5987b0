//! Prometheus metrics: requests by route and status, their latency, and the state of the pool.

use actix_web::{web, HttpResponse};
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

use crate::app::AppState;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_max: IntGauge,
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
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(pool_connections.clone()),
            Box::new(pool_idle.clone()),
            Box::new(pool_max.clone()),
        ] {
            registry.register(collector).expect("metric names are unique");
        }
        Metrics { registry, requests, latency, pool_connections, pool_idle, pool_max }
    }

    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
    )
)]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let metrics = &state.metrics;
    let pool = state.db.pool();
    let pool_state = pool.state();
    metrics.pool_connections.set(i64::from(pool_state.connections));
    metrics.pool_idle.set(i64::from(pool_state.idle_connections));
    metrics.pool_max.set(i64::from(pool.max_size()));

    let mut text = Vec::new();
    TextEncoder::new().encode(&metrics.registry.gather(), &mut text).expect("encoding into memory cannot fail");
    HttpResponse::Ok().content_type(prometheus::TEXT_FORMAT).body(text)
}
