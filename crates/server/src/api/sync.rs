//! `POST /api/v1/sync`: the phone's outbox, delivered in one request.
//!
//! A phone keeps every field write (screening, check-in, consumption, a
//! roll-call answer, …) in its outbox first and sends them here in the order
//! they were entered. Each entry is the exact request the phone would have
//! made — a method, an API path and its JSON body — and is run through the
//! API itself, as the caller, so it is checked and stored exactly as if it
//! had been sent alone. Every write route is idempotent by the record's
//! client id, so a batch sent twice (a dropped answer, a killed tab, a
//! server killed mid-batch) stores each record once.
//!
//! The answer has one result per entry processed, in order. A refusal
//! (4xx) is that record's alone: the phone puts it in "needs attention" and
//! the rest go on. A server fault (5xx), 429 or the time budget stops the
//! batch there; the phone sends the rest again later. For what was stored,
//! the server notes a receipt with the phone's entry time beside its own
//! (`field_receipts`) and updates the post's figures on the board.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, Method, Request, header};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower::ServiceExt;
use tower_http::decompression::RequestDecompressionLayer;
use utoipa::ToSchema;

use shouwang_domain::policy::Action;
use shouwang_domain::{CheckpointId, FieldError, RecordId, UserId};
use shouwang_store::{SyncBatch, SyncedRecord};

use super::checkpoints::checkpoint_for;
use super::json::ApiJson;
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Entries in one request, at most.
pub const MAX_ENTRIES: usize = 500;

/// A record that waited on the phone longer than this was entered offline.
pub const LATE_AFTER: Duration = Duration::from_secs(60);

/// Past this, the batch stops and the phone sends the rest in a new request
/// (well inside a phone's request timeout).
const TIME_BUDGET: Duration = Duration::from_secs(20);

/// A phone clock before 2020 is not a clock at all (a wrong one is fine:
/// the skew is measured per request).
const YEAR_2020_US: i64 = 1_577_836_800_000_000;

/// Headers an entry carries over from the sync request: who is calling and
/// in which language.
const CARRIED: [&str; 4] = ["cookie", "authorization", "x-csrf-token", "accept-language"];

/// A sync request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncIn {
    /// The post the phone works at, if any.
    #[serde(default)]
    pub post_id: Option<i64>,
    /// The phone's clock when it sent this request (µs since the epoch).
    pub sent_us: i64,
    /// The records, in the order they were entered; at most 500.
    pub entries: Vec<EntryIn>,
}

/// One record from the outbox.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryIn {
    /// The record's client id (a UUIDv7; the body's `id` where it has one).
    pub id: String,
    /// `POST`, `PUT` or `PATCH`.
    pub method: String,
    /// The API route, e.g. `/api/v1/checkpoints/3/screenings`.
    pub path: String,
    /// Exactly the JSON that route takes.
    pub body: Value,
    /// The phone's clock when the officer entered it (µs).
    pub entered_us: i64,
    /// Who entered it, if not the caller (a colleague's work delivered).
    #[serde(default)]
    pub entered_by: Option<i64>,
}

/// The answer to one entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryResult {
    /// The entry's id.
    pub id: String,
    /// The HTTP status the route answered.
    pub status: u16,
    /// What the route answered, when it stored the record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Why it refused, in the caller's language (`{code, field, message}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

/// Why a batch stopped before its end.
#[derive(Debug, Serialize, ToSchema)]
pub struct Stopped {
    /// The status that stopped it (a 5xx, 429, or 503 for the time budget).
    pub status: u16,
    /// What the server said.
    pub message: String,
}

/// The answer to a sync request.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncOut {
    /// The server's clock when the request arrived (µs).
    pub received_us: i64,
    /// The server's clock minus the phone's (`sent_us`), µs; large when the
    /// phone's clock is wrong.
    pub skew_us: i64,
    /// One result per entry processed, in order. Fewer than the entries when
    /// the batch stopped: send the rest again.
    pub results: Vec<EntryResult>,
    /// Why the batch stopped early, if it did.
    pub stopped: Option<Stopped>,
}

fn invalid(field: String, code: &'static str) -> AppError {
    AppError::Field(FieldError::new(field, code))
}

/// Checks the envelope (not the records: their routes do that); answers the
/// entries' ids.
fn check(input: &SyncIn) -> AppResult<Vec<RecordId>> {
    if input.entries.len() > MAX_ENTRIES {
        return Err(FieldError::new("entries", "too_many").arg("max", MAX_ENTRIES as i64).into());
    }
    if input.sent_us < YEAR_2020_US {
        return Err(invalid("sent_us".into(), "time_out_of_range"));
    }
    let mut ids = Vec::with_capacity(input.entries.len());
    for (i, e) in input.entries.iter().enumerate() {
        ids.push(RecordId::parse(&format!("entries[{i}].id"), &e.id)?);
        if !matches!(e.method.as_str(), "POST" | "PUT" | "PATCH") {
            return Err(invalid(format!("entries[{i}].method"), "invalid_choice"));
        }
        let p = e.path.as_str();
        let allowed = p.starts_with("/api/v1/")
            && !p.starts_with("/api/v1/sync")
            && !p.starts_with("/api/v1/auth/")
            && !p.contains("..")
            && !p.contains('?')
            && p.parse::<axum::http::Uri>().is_ok();
        if !allowed {
            return Err(invalid(format!("entries[{i}].path"), "not_a_write_route"));
        }
        if e.entered_us < YEAR_2020_US {
            return Err(invalid(format!("entries[{i}].entered_us"), "time_out_of_range"));
        }
    }
    Ok(ids)
}

/// Runs one entry through the API as the caller.
async fn run(
    api: &Router,
    headers: &HeaderMap,
    connect: Option<&ConnectInfo<SocketAddr>>,
    entry: &EntryIn,
) -> (u16, Value) {
    let method = Method::from_bytes(entry.method.as_bytes()).unwrap_or(Method::POST);
    let mut req = Request::builder().method(method).uri(entry.path.as_str());
    for name in CARRIED {
        if let Some(v) = headers.get(name) {
            req = req.header(name, v);
        }
    }
    req = req
        .header(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(header::ACCEPT, HeaderValue::from_static("application/json"));
    let body = serde_json::to_vec(&entry.body).unwrap_or_default();
    let Ok(mut req) = req.body(Body::from(body)) else {
        return (400, Value::Null);
    };
    if let Some(c) = connect {
        req.extensions_mut().insert(*c);
    }
    let res = match api.clone().oneshot(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    };
    let status = res.status().as_u16();
    let bytes = axum::body::to_bytes(res.into_body(), 4 << 20).await.unwrap_or_default();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Deliver the phone's outbox: each entry runs through its own route as the
/// caller, in order; refusals are per record, a server fault stops the batch.
#[utoipa::path(post, path = "/api/v1/sync", tag = "sync", request_body = SyncIn,
    responses((status = 200, body = SyncOut)))]
pub async fn sync(
    State(state): State<AppState>,
    Extension(api): Extension<Router>,
    authed: Authed,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<SyncIn>,
) -> AppResult<Json<SyncOut>> {
    let ids = check(&input)?;
    let me = authed.principal.user_id;
    for (i, e) in input.entries.iter().enumerate() {
        if let Some(u) = e.entered_by.map(UserId).filter(|u| *u != me) {
            state.store.user(u).await.map_err(|_| invalid(format!("entries[{i}].entered_by"), "not_found"))?;
        }
    }
    let post = match input.post_id {
        Some(id) => Some(checkpoint_for(&state, &authed, CheckpointId(id), Action::RecordDuty).await?.id),
        None => None,
    };
    let received_us = shouwang_store::now_us();
    let started = Instant::now();
    let mut results = Vec::with_capacity(input.entries.len());
    let mut stored = Vec::new();
    let mut stopped = None;
    for (entry, record) in input.entries.iter().zip(ids) {
        if started.elapsed() > TIME_BUDGET {
            stopped = Some(Stopped { status: 503, message: "time budget spent; send the rest again".into() });
            break;
        }
        let (status, mut body) = run(&api, &headers, connect.as_ref().map(|c| &c.0), entry).await;
        if status >= 500 || status == 429 || status == 401 || status == 408 {
            let message = body["error"]["message"].as_str().unwrap_or("server error").to_owned();
            stopped = Some(Stopped { status, message });
            break;
        }
        let id = entry.id.clone();
        if (200..300).contains(&status) {
            stored.push(SyncedRecord {
                id: record,
                route: format!("{} {}", entry.method, entry.path),
                entered_us: entry.entered_us,
                entered_by: entry.entered_by.map(UserId),
            });
            results.push(EntryResult { id, status, body: Some(body), error: None });
        } else {
            let error = body.get_mut("error").map(Value::take).unwrap_or(Value::Null);
            results.push(EntryResult { id, status, body: None, error: Some(error) });
        }
    }
    if !stored.is_empty() {
        let batch = SyncBatch {
            checkpoint: post,
            user: me,
            sent_us: input.sent_us,
            late_after_us: LATE_AFTER.as_micros() as i64,
            records: stored,
        };
        state.writer.submit(authed.actor(), shouwang_store::Command::RecordSync(batch)).await?;
    }
    Ok(Json(SyncOut { received_us, skew_us: received_us - input.sent_us, results, stopped }))
}

/// The sync route. `api` is the API router it runs entries through (with
/// its error localisation, without this route).
pub fn router(api: Router) -> Router<AppState> {
    Router::new().route("/api/v1/sync", post(sync)).layer(RequestDecompressionLayer::new()).layer(Extension(api))
}
