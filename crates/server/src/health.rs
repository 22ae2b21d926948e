//! `/healthz` (the process answers), `/readyz` (and its database does), and
//! `/metrics` (Prometheus text).
//!
//! In NATS mode, `/metrics` has `shouwang_bus_nats_connected` (1 or 0). A
//! node whose NATS link is down stays ready: it feeds its live subscribers
//! from the store until the link is back.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::state::AppState;

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    match &state.metrics {
        Some(handle) => {
            metrics::gauge!("shouwang_bus_subscribers").set(state.bus.subscribers() as f64);
            if let Some(nats) = &state.nats {
                metrics::gauge!("shouwang_bus_nats_connected").set(if nats.connected() { 1.0 } else { 0.0 });
            }
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The health routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}
