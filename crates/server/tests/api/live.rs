//! The live WebSocket: replay from a cursor, then live events, within scope,
//! with no gap and no duplicate.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::app;
use crate::helpers::{TestApp, v7};

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A device token for `user`, issued by the admin.
pub(crate) async fn token_for(app: &TestApp, user: &str) -> String {
    let admin = app.login("admin").await;
    let (_, issued) =
        admin.post("/api/v1/tokens", json!({ "user_id": app.users[user].id.0, "name": "live test" })).await;
    issued["secret"].as_str().unwrap().to_owned()
}

pub(crate) async fn connect(app: &TestApp, token: &str, after: Option<i64>) -> Socket {
    let query = after.map(|a| format!("?after={a}")).unwrap_or_default();
    let mut req = format!("ws://{}/api/v1/live{query}", app.addr).into_client_request().unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(req).await.expect("the live socket opens");
    ws
}

/// The next JSON message (pings skipped), within 10 s.
pub(crate) async fn next(ws: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("a message within 10 s");
        match msg.expect("the socket stays open").expect("a valid frame") {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => continue,
        }
    }
}

/// Reads events until one with `id` has arrived; returns all read.
pub(crate) async fn events_until(ws: &mut Socket, id: i64) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let m = next(ws).await;
        assert_eq!(m["type"], "event", "{m}");
        let this = m["event"]["id"].as_i64().unwrap();
        out.push(m["event"].clone());
        if this >= id {
            return out;
        }
    }
}

pub(crate) async fn write(app: &TestApp, token: &str, body: &str, unit: Option<i64>) -> i64 {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/duty-log", app.base))
        .bearer_auth(token)
        .json(&json!({ "id": v7(), "body": body, "org_unit_id": unit }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    app.store.last_event_id().await.unwrap().0
}

pub(crate) fn ids(events: &[Value]) -> Vec<i64> {
    events.iter().map(|e| e["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn a_new_event_reaches_a_connected_client() {
    let app = app!();
    let token = token_for(&app, "commander").await;
    let mut ws = connect(&app, &token, None).await;
    let hello = next(&mut ws).await;
    assert_eq!(hello["type"], "hello");
    let id = write(&app, &token, "朱阳关卡点交接班", Some(app.units["411224104"].id.0)).await;
    let got = events_until(&mut ws, id).await;
    assert_eq!(got.len(), 1, "only the new event, nothing from before the connection");
    assert_eq!(got[0]["kind"], "duty_log.entry_added");
    assert_eq!(got[0]["payload"]["body"], "朱阳关卡点交接班");
}

#[tokio::test]
async fn reconnecting_with_the_last_id_replays_exactly_what_was_missed() {
    let app = app!();
    let token = token_for(&app, "commander").await;
    let mut ws = connect(&app, &token, None).await;
    next(&mut ws).await;
    let seen = write(&app, &token, "before the cut", None).await;
    events_until(&mut ws, seen).await;
    ws.close(None).await.unwrap();
    drop(ws);
    // While the commander is away: five writes.
    let mut missed = Vec::new();
    for i in 0..5 {
        missed.push(write(&app, &token, &format!("while away {i}"), None).await);
    }
    let mut ws = connect(&app, &token, Some(seen)).await;
    assert_eq!(next(&mut ws).await["type"], "hello");
    let replayed = events_until(&mut ws, *missed.last().unwrap()).await;
    assert_eq!(ids(&replayed), missed, "every missed event once, in order, nothing older");
    // And live ones follow without a duplicate.
    let live = write(&app, &token, "after the reconnect", None).await;
    let after = events_until(&mut ws, live).await;
    assert_eq!(ids(&after), vec![live]);
}

#[tokio::test]
async fn a_client_only_sees_events_within_its_scope() {
    let app = app!();
    let cadre_token = token_for(&app, "cadre").await; // 朱阳关镇
    let admin_token = token_for(&app, "admin").await;
    let mut ws = connect(&app, &cadre_token, None).await;
    next(&mut ws).await;
    write(&app, &admin_token, "东明镇的事", Some(app.units["411224107"].id.0)).await;
    let ours = write(&app, &admin_token, "朱阳关的事", Some(app.units["411224104"].id.0)).await;
    let got = events_until(&mut ws, ours).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["payload"]["body"], "朱阳关的事");
    // Replay filters the same way.
    let mut ws = connect(&app, &cadre_token, Some(0)).await;
    next(&mut ws).await;
    let replayed = events_until(&mut ws, ours).await;
    assert!(replayed.iter().all(|e| e["scope"].as_str().unwrap().starts_with(app.units["411224104"].path.as_str())));
    assert!(!replayed.iter().any(|e| e["payload"]["body"] == "东明镇的事"));
}

#[tokio::test]
async fn disabling_an_account_closes_its_live_connection() {
    let app = app!();
    let token = token_for(&app, "duty").await;
    let mut ws = connect(&app, &token, None).await;
    next(&mut ws).await;
    let admin = app.login("admin").await;
    admin.post(&format!("/api/v1/users/{}/disable", app.users["duty"].id.0), json!({})).await;
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("closed within 10 s") {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(closed.expect("a close code").code), 4001);
}

#[tokio::test]
async fn a_malformed_client_message_is_answered_and_the_connection_survives() {
    let app = app!();
    let token = token_for(&app, "viewer").await;
    let mut ws = connect(&app, &token, None).await;
    next(&mut ws).await;
    ws.send(Message::Text("not json".into())).await.unwrap();
    assert_eq!(next(&mut ws).await["code"], "malformed");
    ws.send(Message::Text(json!({ "type": "ping" }).to_string().into())).await.unwrap();
    assert_eq!(next(&mut ws).await["type"], "pong");
}

#[tokio::test]
async fn the_live_socket_needs_a_signed_in_caller() {
    let app = app!();
    let req = format!("ws://{}/api/v1/live", app.addr).into_client_request().unwrap();
    let err = tokio_tungstenite::connect_async(req).await.expect_err("refused");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(res) => assert_eq!(res.status(), 401),
        other => panic!("expected an HTTP 401, got {other}"),
    }
}
