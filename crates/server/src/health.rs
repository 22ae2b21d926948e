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
            if let Some(sfu) = state.calls.sfu() {
                sfu_metrics(&sfu.stats());
            }
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The SFU's counters, as of now: gauges for what is open, and counters
/// (set to the SFU's own totals) for packets and bytes.
fn sfu_metrics(stats: &shouwang_media::SfuStats) {
    metrics::gauge!("shouwang_sfu_rooms").set(stats.rooms as f64);
    metrics::gauge!("shouwang_sfu_peers").set(stats.peers as f64);
    metrics::gauge!("shouwang_sfu_tcp_links").set(stats.tcp_links as f64);
    for (name, value) in [
        ("shouwang_sfu_packets_received_total", stats.packets_received),
        ("shouwang_sfu_packets_dropped_total", stats.packets_dropped),
        ("shouwang_sfu_packets_sent_total", stats.packets_sent),
        ("shouwang_sfu_packets_send_dropped_total", stats.packets_send_dropped),
        ("shouwang_sfu_bytes_received_total", stats.bytes_received),
        ("shouwang_sfu_bytes_sent_total", stats.bytes_sent),
        ("shouwang_sfu_frames_forwarded_total", stats.frames_forwarded),
    ] {
        metrics::counter!(name).absolute(value);
    }
}

/// The health routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}
