//! `/api/v1/live`: the WebSocket that streams events within the caller's
//! scope, and — in later issues — carries presence and call signaling.
//!
//! # Protocol
//! Server to client, one JSON object per text frame:
//! - `{"type":"hello","last_event_id":N}` first;
//! - `{"type":"event","event":{…}}` for each event within scope, in id order;
//! - `{"type":"pong"}` in answer to `{"type":"ping"}`;
//! - `{"type":"heartbeat_ack"}` in answer to `{"type":"heartbeat"}`, which an
//!   on-duty phone sends while its page is open (see `presence`);
//! - `{"type":"error","code":"…","message":"…"}` for a message it refused;
//! - call signaling, `call.*` both ways (see [`crate::calls`]).
//!
//! Given `?after=ID`, the server first replays every event after `ID` from
//! the store, then streams live ones, with no gap and no duplicate (see the
//! `shouwang_bus` docs for why that holds). A connection whose account is
//! disabled or whose password changes is closed with code 4001.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use shouwang_domain::policy::Action;
use shouwang_domain::{Event, EventId, EventKind, Principal};
use shouwang_store::EventFilter;
use utoipa::IntoParams;

use crate::api::json::ApiQuery;
use crate::api::views::EventView;
use crate::auth::Authed;
use crate::error::AppResult;
use crate::state::AppState;

/// How many events one replay read fetches.
const REPLAY_PAGE: i64 = 500;
/// How often an idle connection is pinged, so dead peers are noticed.
const PING_EVERY: Duration = Duration::from_secs(25);
/// The largest message a client may send.
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;

/// Where to resume.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LiveQuery {
    /// Replay every event after this id before streaming live ones.
    pub after: Option<i64>,
}

/// Open the live stream (WebSocket).
#[utoipa::path(get, path = "/api/v1/live", tag = "events", params(LiveQuery),
    responses((status = 101, description = "switching to the WebSocket protocol")))]
pub async fn handler(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<LiveQuery>,
) -> AppResult<Response> {
    authed.may_here(Action::ReadEvents)?;
    let after = q.after.filter(|a| *a >= 0).map(EventId);
    Ok(ws
        // Small buffers: thousands of mostly idle phones stay connected.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .on_upgrade(move |socket| async move {
            metrics::gauge!("shouwang_live_connections").increment(1.0);
            if let Err(e) = run(socket, &state, authed.principal, after).await {
                tracing::debug!(error = %e, "live connection ended");
            }
            metrics::gauge!("shouwang_live_connections").decrement(1.0);
        }))
}

fn frame(value: serde_json::Value) -> Message {
    Message::Text(Utf8Bytes::from(value.to_string()))
}

fn event_text(e: &Event) -> String {
    json!({ "type": "event", "event": EventView::from(e) }).to_string()
}

fn event_frame(e: &Event) -> Message {
    Message::Text(Utf8Bytes::from(event_text(e)))
}

/// A live event's frame: rendered once by the first connection that sends
/// it, the same text (already known to be UTF-8) for every other.
fn published_frame(p: &shouwang_bus::Published) -> Message {
    Message::Text(p.wire(|e| Utf8Bytes::from(event_text(e))))
}

/// Whether an event ends this connection: the account was disabled or its
/// password changed.
fn ends_session(e: &Event, p: &Principal) -> bool {
    matches!(e.kind, EventKind::UserDisabled | EventKind::PasswordChanged) && e.subject == format!("user:{}", p.user_id)
}

async fn replay(socket: &mut WebSocket, state: &AppState, p: &Principal, cursor: &mut EventId) -> anyhow::Result<()> {
    loop {
        let page = state.store.events(&EventFilter::after(p.scope.clone(), *cursor, REPLAY_PAGE)).await?;
        for e in &page {
            socket.send(event_frame(e)).await?;
            *cursor = e.id;
        }
        if (page.len() as i64) < REPLAY_PAGE {
            return Ok(());
        }
    }
}

async fn run(mut socket: WebSocket, state: &AppState, p: Principal, after: Option<EventId>) -> anyhow::Result<()> {
    // Subscribe before reading the store: whatever commits in between is
    // then in the subscription, and the cursor filters out what replay sent.
    let mut sub = state.bus.subscribe(&p.scope);
    let mut shutdown = state.shutdown.subscribe();
    let last = state.store.last_event_id().await?;
    socket.send(frame(json!({ "type": "hello", "last_event_id": last.0 }))).await?;
    let mut cursor = match after {
        Some(a) => {
            let mut c = a;
            replay(&mut socket, state, &p, &mut c).await?;
            c.max(last)
        }
        None => last,
    };
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let (outbox, mut calls_out) = tokio::sync::mpsc::unbounded_channel();
    let conn = state.calls.connect(p.user_id, outbox);
    let ended =
        serve(&mut socket, state, &p, &mut sub, &mut shutdown, &mut cursor, &mut ping, conn, &mut calls_out).await;
    state.calls.disconnect(conn);
    ended
}

#[expect(
    clippy::too_many_arguments,
    reason = "the connection's parts, split out only so that it is always unregistered"
)]
async fn serve(
    socket: &mut WebSocket,
    state: &AppState,
    p: &Principal,
    sub: &mut shouwang_bus::Subscription,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
    cursor: &mut EventId,
    ping: &mut tokio::time::Interval,
    conn: crate::calls::ConnId,
    calls_out: &mut tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>,
) -> anyhow::Result<()> {
    loop {
        tokio::select! {
            next = sub.next() => match next {
                Ok(Some(published)) => {
                    let e = &published.event;
                    if e.id <= *cursor {
                        continue;
                    }
                    *cursor = e.id;
                    if ends_session(e, p) {
                        let close = CloseFrame { code: 4001, reason: Utf8Bytes::from_static("session ended") };
                        socket.send(Message::Close(Some(close))).await?;
                        return Ok(());
                    }
                    // The bus delivers only what lies within the scope.
                    socket.send(published_frame(&published)).await?;
                }
                Ok(None) => return Ok(()),
                Err(shouwang_bus::Lagged) => {
                    tracing::warn!(user = %p.username, "live subscriber lagged; replaying from the store");
                    *sub = state.bus.subscribe(&p.scope);
                    replay(socket, state, p, cursor).await?;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let reply = match serde_json::from_str::<serde_json::Value>(&text) {
                        Ok(v) if v["type"] == "ping" => json!({ "type": "pong" }),
                        Ok(v) if v["type"] == "heartbeat" => {
                            state.presence.heard(p.user_id, shouwang_store::now_us());
                            json!({ "type": "heartbeat_ack" })
                        }
                        Ok(v) if v["type"].as_str().is_some_and(crate::calls::Calls::handles) => {
                            state.calls.handle(&state.store, &state.writer, p, conn, v).await
                        }
                        Ok(_) => json!({ "type": "error", "code": "unknown_type", "message": "unknown message type" }),
                        Err(_) => json!({ "type": "error", "code": "malformed", "message": "not JSON" }),
                    };
                    socket.send(frame(reply)).await?;
                }
                Some(Ok(Message::Close(_))) | None => return Ok(()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            },
            Some(out) = calls_out.recv() => socket.send(frame(out)).await?,
            _ = ping.tick() => socket.send(Message::Ping(Default::default())).await?,
            _ = shutdown.changed() => {
                let close = CloseFrame { code: 1012, reason: Utf8Bytes::from_static("server restarting") };
                let _ = socket.send(Message::Close(Some(close))).await;
                return Ok(());
            }
        }
    }
}
