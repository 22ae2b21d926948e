//! Shouwang's HTTP server: the JSON API, the pages, the live WebSocket, and
//! the wiring of store, writer and bus behind them.
//!
//! # Layout
//! - [`api`]: `/api/v1/*`, one module per capability, with the OpenAPI doc;
//! - [`pages`]: server-rendered HTML over the same functions the API uses;
//! - [`live`]: the WebSocket that streams events within scope;
//! - [`auth`]: sessions, API tokens, CSRF, sign-in throttling;
//! - [`error`]: the one error type and the one error shape;
//! - [`demo`]: the demo county and its simulator.
//!
//! # Driving it
//! [`App::start`] opens nothing by itself but, when `bus.nats_url` is set,
//! its NATS connection: it takes an open store, spawns the writer task and
//! the bus, and returns the router. [`App::serve`] takes a
//! listener and a shutdown future from the caller, so tests bind port 0 and
//! stop the server themselves; on shutdown it stops accepting, finishes
//! requests in flight, closes live connections and waits for the writer to
//! flush its last batch.
#![deny(missing_docs)]

pub mod alerts;
pub mod api;
pub mod assets;
pub mod auth;
pub mod bootstrap;
pub mod calls;
pub mod config;
pub mod demo;
pub mod error;
pub mod health;
pub mod i18n;
pub mod live;
pub mod pages;
pub mod presence;
pub mod retention;
pub mod state;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use shouwang_bus::Bus;
use shouwang_store::writer::CommitListener;
use shouwang_store::{Store, Writer};
use tokio::task::JoinHandle;
use tower_http::compression::CompressionLayer;

pub use config::{Config, MediaSettings};
pub use state::AppState;

use crate::error::{AppError, ErrorInfo};

/// The demo accounts `shouwang demo` creates, all with password `demo`.
pub const DEMO_LOGINS: &[&str] = &["admin", "commander", "duty", "enterprise", "service", "cadre", "viewer"];

/// Hears the writer's committed batches: the cache forgets what they made
/// stale before any caller of the batch is answered; they go to the bus
/// right after the answers (so that a write is never kept waiting while ten
/// thousand live connections are woken). In NATS mode "to the bus" only
/// queues them for NATS, whence every node's bus, this one's too, is fed.
struct CommitHook {
    cache: Arc<auth::cache::Cache>,
    fanout: Fanout,
}

/// Where committed events go.
enum Fanout {
    /// Straight to this node's bus.
    Local(Bus),
    /// To NATS (see [`shouwang_bus::nats`]).
    Nats(shouwang_bus::nats::NatsPublisher),
}

impl CommitListener for CommitHook {
    fn committed(&self, events: &[Arc<shouwang_domain::Event>]) {
        self.cache.committed(events);
    }

    fn answered(&self, events: &[Arc<shouwang_domain::Event>]) {
        match &self.fanout {
            Fanout::Local(bus) => bus.publish(events),
            Fanout::Nats(nats) => nats.publish(events),
        }
    }
}

/// The store as the log the NATS feeder catches up from: the same cursor
/// read a reconnecting live client replays with, over every scope.
struct StoreLog(Store);

impl shouwang_bus::nats::EventLog for StoreLog {
    async fn events_after(
        &self,
        after: shouwang_domain::EventId,
        limit: usize,
    ) -> Result<Vec<shouwang_domain::Event>, shouwang_bus::nats::BoxError> {
        let filter = shouwang_store::EventFilter::after(shouwang_domain::ScopePath::root(), after, limit as i64);
        Ok(self.0.events(&filter).await?)
    }

    async fn last_event_id(&self) -> Result<shouwang_domain::EventId, shouwang_bus::nats::BoxError> {
        Ok(self.0.last_event_id().await?)
    }
}

/// Joins NATS when `bus.nats_url` is set.
async fn join_nats(
    config: &Config,
    store: &Store,
    bus: &Bus,
    cache: &Arc<auth::cache::Cache>,
) -> anyhow::Result<Option<(shouwang_bus::nats::NatsPublisher, shouwang_bus::nats::NatsLink)>> {
    if config.bus.nats_url.is_empty() {
        return Ok(None);
    }
    let options =
        shouwang_bus::nats::NatsOptions { url: config.bus.nats_url.clone(), subject: config.bus.nats_subject.clone() };
    let cache = cache.clone();
    let joined = shouwang_bus::nats::connect(&options, bus.clone(), StoreLog(store.clone()), move |events| {
        cache.committed(events)
    })
    .await
    .with_context(|| format!("bus.nats_url: cannot use NATS at {}", config.bus.nats_url))?;
    Ok(Some(joined))
}

/// The process-wide Prometheus recorder (a recorder can be installed once).
pub fn metrics_handle() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: OnceLock<metrics_exporter_prometheus::PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // The NATS hop as a histogram with buckets (not a summary): a
            // scrape before and after a period gives that period's share
            // within 5 ms, and the nodes' figures add up.
            let hop = metrics_exporter_prometheus::Matcher::Full(shouwang_bus::nats::HOP_METRIC.into());
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
                .set_buckets_for_metric(hop, &shouwang_bus::nats::HOP_BUCKETS)
                .expect("the hop's buckets are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed; then ours stays unused.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// A running application: state, router, and the writer task to await.
#[derive(Debug)]
pub struct App {
    /// The shared state.
    pub state: AppState,
    writer_task: JoinHandle<()>,
    /// The NATS link, in NATS mode: closed after the writer's last batch.
    nats: Option<shouwang_bus::nats::NatsLink>,
}

impl App {
    /// Spawns the writer and the bus over `store`, and makes sure the
    /// default roles exist.
    pub async fn start(config: Config, store: Store, https: bool, demo: bool) -> anyhow::Result<App> {
        let bus = Bus::new(4096);
        let cache = Arc::new(auth::cache::Cache::default());
        let (fanout, nats) = match join_nats(&config, &store, &bus, &cache).await? {
            Some((publisher, link)) => (Fanout::Nats(publisher), Some(link)),
            None => (Fanout::Local(bus.clone()), None),
        };
        let nats_status = nats.as_ref().map(shouwang_bus::nats::NatsLink::status);
        let hook = CommitHook { cache: cache.clone(), fanout };
        let (writer, writer_task) = Writer::spawn(store.clone(), Arc::new(hook));
        bootstrap::ensure_roles_with(&store, &writer).await.context("creating the default roles")?;
        let metrics = config.metrics.then(metrics_handle);
        let pass_key = bootstrap::pass_key(&store, &writer).await.context("loading the pass signing key")?;
        let (sfu, sfu_events) = if config.media.enabled {
            let mut media = shouwang_media::MediaConfig::new(config.media.bind);
            media.announce = config.media.announce;
            media.tcp = config.media.tcp;
            media.recordings = config.media.record.then(|| config.recordings_dir());
            let transports = if media.tcp { "UDP and TCP" } else { "UDP" };
            let (sfu, events) = shouwang_media::Sfu::start(media)
                .await
                .with_context(|| format!("media.bind: cannot take {transports} {}", config.media.bind))?;
            tracing::info!(addr = %sfu.local_addr(), transports, "calls: media");
            (Some(sfu), Some(events))
        } else {
            (None, None)
        };
        let recording = sfu.is_some() && config.media.record;
        let ring_for = Duration::from_secs(u64::from(config.media.ring_seconds));
        let calls = Arc::new(calls::Calls::new(sfu, ring_for, recording));
        if let Some(events) = sfu_events {
            tokio::spawn(calls.clone().follow_sfu(writer.clone(), events));
        }
        let state = AppState::new(store, writer, bus, nats_status, config, https, metrics, demo, cache, calls);
        let _ = state.pass_key.set(pass_key);
        tokio::spawn(presence::monitor(
            state.store.clone(),
            state.writer.clone(),
            state.presence.clone(),
            Duration::from_secs(state.config.presence_check_seconds),
            Duration::from_secs(u64::from(state.config.presence_timeout_minutes) * 60),
            state.shutdown.subscribe(),
        ));
        tokio::spawn(retention::run(
            state.writer.clone(),
            state.config.screening_retention_days,
            retention::Recordings {
                dir: state.config.recordings_dir(),
                days: state.config.media.recording_retention_days,
            },
            Duration::from_secs(3600),
            state.shutdown.subscribe(),
        ));
        tokio::spawn(alerts::run(
            state.store.clone(),
            state.writer.clone(),
            state.config.alerts.clone(),
            state.shutdown.subscribe(),
        ));
        Ok(App { state, writer_task, nats })
    }

    /// The whole router.
    pub fn router(&self) -> Router {
        router(self.state.clone())
    }

    /// Serves until `shutdown` completes, then drains: requests in flight
    /// finish, live connections are closed, the writer flushes.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        tls: Option<axum_server::tls_rustls::RustlsConfig>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let app = self.router().into_make_service_with_connect_info::<SocketAddr>();
        let state = self.state.clone();
        let notify_live = {
            let state = state.clone();
            async move {
                shutdown.await;
                tracing::info!("shutting down: no new connections; finishing requests in flight");
                let _ = state.shutdown.send(true);
            }
        };
        match tls {
            None => {
                axum::serve(listener, app).with_graceful_shutdown(notify_live).await?;
            }
            Some(tls) => {
                let handle = axum_server::Handle::new();
                let h = handle.clone();
                tokio::spawn(async move {
                    notify_live.await;
                    h.graceful_shutdown(Some(Duration::from_secs(10)));
                });
                let std_listener = listener.into_std()?;
                axum_server::from_tcp_rustls(std_listener, tls).handle(handle).serve(app).await?;
            }
        }
        drop(state);
        self.finish().await;
        Ok(())
    }

    /// Drops this app's handles and waits (at most 10 s) for the writer to
    /// flush its last batch, then (in NATS mode, at most 5 s) for that batch
    /// to be sent to NATS.
    pub async fn finish(self) {
        let App { state, writer_task, nats } = self;
        let _ = state.shutdown.send(true);
        drop(state);
        match tokio::time::timeout(Duration::from_secs(10), writer_task).await {
            Ok(_) => tracing::info!("writer flushed; stopped"),
            Err(_) => tracing::warn!("writer still busy after 10 s (a task still holds the app); stopping anyway"),
        }
        if let Some(link) = nats {
            link.close().await;
        }
    }
}

/// Builds the router over `state`.
pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    // The API once more, as the sync route runs each outbox entry through it.
    let api_inner = api::router()
        .layer(middleware::from_fn_with_state(state.clone(), localize))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state.clone());
    Router::new()
        .merge(api::router())
        .merge(api::sync::router(api_inner))
        .merge(pages::router())
        .merge(assets::router())
        .merge(health::router())
        .fallback(|| async { AppError::NotFound })
        .method_not_allowed_fallback(|| async { (StatusCode::METHOD_NOT_ALLOWED, "method not allowed") })
        .layer(middleware::from_fn_with_state(state.clone(), localize))
        .layer(middleware::from_fn(track))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(CompressionLayer::new())
        .with_state(state)
}

/// Counts and times every request by route template, and logs it.
async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_owned();
    let mut res = next.run(req).await;
    let status = res.status().as_u16();
    let secs = started.elapsed().as_secs_f64();
    let labels = [("method", method.to_string()), ("route", route.clone()), ("status", status.to_string())];
    metrics::counter!("shouwang_http_requests_total", &labels).increment(1);
    metrics::histogram!("shouwang_http_request_seconds", &labels[..2]).record(secs);
    tracing::debug!(http.method = %method, http.route = %route, http.status = status, duration_ms = secs * 1e3, "request");
    let h = res.headers_mut();
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'",
    ));
    res
}

/// Writes the body of every error in the caller's language: the JSON shape
/// for the API, an error page (or the sign-in page) for a browser.
async fn localize(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let lang = auth::lang_of(req.headers());
    let is_api = req.uri().path().starts_with("/api/") || !accepts_html(req.headers());
    let is_get = req.method() == Method::GET;
    let here = req.uri().path_and_query().map_or("/".to_owned(), |p| p.as_str().to_owned());
    let mut res = next.run(req).await;
    let Some(info) = res.extensions_mut().remove::<ErrorInfo>() else { return res };
    let message = match &info.field_error {
        Some(fe) => state.i18n.field_error(lang, fe),
        None => state.i18n.text(lang, &info.message_key, &info.args),
    };
    let status = res.status();
    if is_api {
        let body = serde_json::json!({ "error": { "code": info.code, "message": message, "field": info.field } });
        let mut out = (status, axum::Json(body)).into_response();
        if let Some(retry) = res.headers().get(header::RETRY_AFTER) {
            out.headers_mut().insert(header::RETRY_AFTER, retry.clone());
        }
        return out;
    }
    if info.code == "unauthenticated" && is_get {
        let next = form_urlencoded::byte_serialize(here.as_bytes()).collect::<String>();
        return Redirect::to(&format!("/login?next={next}")).into_response();
    }
    let page = pages::Page::new(&state, lang, None, &here);
    let ctx = page.with(minijinja::context! { status => status.as_u16(), message => message });
    match state.templates.render("error.html", ctx) {
        Ok(html) => (status, html).into_response(),
        Err(_) => (status, message).into_response(),
    }
}

fn accepts_html(headers: &axum::http::HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("text/html"))
}
