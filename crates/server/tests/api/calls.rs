//! Call signaling over the live WebSocket, without media: who may ring
//! whom, what a ring carries, and every bad message answered with a
//! `call.error` naming what is wrong, recording nothing. (The media path
//! is tested in real browsers: `e2e/tests/browser/call.rs`.)

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::app;
use crate::checkpoints::{post, shift};
use crate::helpers::{Session, TestApp, v7};
use crate::live::{Socket, connect, next, token_for};

/// A post with the officer `duty` checked in at it: its id.
async fn post_with_officer_on_duty(app: &TestApp, commander: &Session, duty: &Session) -> i64 {
    let cp = post(app, commander, "ZYG-01", 1).await;
    let shift_id = shift(commander, cp, 5, &[app.users["duty"].id.0]).await;
    let check_in = json!({ "id": v7(), "shift_id": shift_id, "lat": 33.7165, "lon": 110.9832 });
    assert_eq!(duty.post("/api/v1/check-ins", check_in).await.0, reqwest::StatusCode::CREATED);
    cp
}

async fn say(ws: &mut Socket, msg: Value) {
    ws.send(Message::Text(msg.to_string().into())).await.expect("the socket takes a message");
}

/// The next message of `kind`, skipping events and others.
async fn next_of(ws: &mut Socket, kind: &str) -> Value {
    loop {
        let m = next(ws).await;
        if m["type"] == kind {
            return m;
        }
        assert_ne!(m["type"], "call.error", "waiting for {kind}: {m}");
    }
}

/// Sends `msg` and expects `call.error` with `code` (and `field`).
async fn refused(ws: &mut Socket, msg: Value, code: &str, field: Option<&str>) -> Value {
    say(ws, msg.clone()).await;
    let e = loop {
        let m = next(ws).await;
        if m["type"] == "call.error" {
            break m;
        }
    };
    assert_eq!((e["code"].as_str(), e["field"].as_str()), (Some(code), field), "{msg} → {e}");
    assert!(!e["message"].as_str().unwrap_or_default().is_empty(), "{e}");
    e
}

#[tokio::test]
async fn a_commander_rings_the_officers_on_duty_and_bad_call_messages_are_refused_by_name() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander, "ZYG-01", 1).await;
    let mut hq = connect(&app, &token_for(&app, "commander").await, None).await;
    let mut phone = connect(&app, &token_for(&app, "duty").await, None).await;
    assert_eq!(next(&mut hq).await["type"], "hello");
    assert_eq!(next(&mut phone).await["type"], "hello");

    // Malformed, unknown posts, a post with nobody on duty.
    refused(&mut hq, json!({ "type": "call.start" }), "malformed", None).await;
    refused(&mut hq, json!({ "type": "call.start", "checkpoints": [] }), "invalid", Some("checkpoints")).await;
    refused(&mut hq, json!({ "type": "call.start", "checkpoints": [999_999] }), "not_found", Some("checkpoints[0]"))
        .await;
    refused(&mut hq, json!({ "type": "call.start", "checkpoints": [cp] }), "nobody_on_duty", Some("checkpoints[0]"))
        .await;
    refused(&mut hq, json!({ "type": "call.join", "call": "not-a-uuid", "sdp": "" }), "invalid", Some("call")).await;
    refused(&mut hq, json!({ "type": "call.hangup", "call": v7() }), "not_found", Some("call")).await;

    // The officer checks in; an officer may not place calls.
    let shift_id = shift(&commander, cp, 5, &[app.users["duty"].id.0]).await;
    let check_in = json!({ "id": v7(), "shift_id": shift_id, "lat": 33.7165, "lon": 110.9832 });
    assert_eq!(duty.post("/api/v1/check-ins", check_in).await.0, reqwest::StatusCode::CREATED);
    refused(&mut phone, json!({ "type": "call.start", "checkpoints": [cp] }), "forbidden", None).await;

    // The commander rings the post: the officer's phone rings with the name.
    say(&mut hq, json!({ "type": "call.start", "checkpoints": [cp] })).await;
    let started = next_of(&mut hq, "call.started").await;
    let call = started["call"].as_str().expect("a call id").to_owned();
    let states: Vec<_> = started["parties"].as_array().unwrap().iter().map(|p| p["state"].clone()).collect();
    assert_eq!(states, [json!("joined"), json!("ringing")], "{started}");
    let ring = next_of(&mut phone, "call.ring").await;
    assert_eq!((ring["call"].as_str(), ring["caller"].as_str()), (Some(call.as_str()), Some("Test commander")));
    assert_eq!(ring["posts"], json!(["朱阳关省界检测点"]));

    // A party's page says its link stepped down; everyone in the call sees
    // it. Only a joined party may say so, and only one of the three modes.
    let network = |mode: &str| json!({ "type": "call.network", "call": call, "mode": mode });
    refused(&mut hq, network("satellite"), "invalid", Some("mode")).await;
    refused(&mut phone, network("audio"), "not_in_call", None).await;
    say(&mut hq, network("audio")).await;
    let parties = loop {
        let m = next_of(&mut phone, "call.parties").await;
        if m["parties"][0]["mode"] == "audio" {
            break m;
        }
    };
    assert_eq!(parties["parties"][1]["mode"], "video", "the officer's own link is untouched: {parties}");

    // Which simulcast layer of another party's video to get: "low" or
    // "high", of a stream that is in the call.
    let quality = |stream: &str, quality: &str| json!({ "type": "call.quality", "call": call, "stream": stream, "quality": quality });
    refused(&mut hq, quality("1", "medium"), "invalid", Some("quality")).await;
    refused(&mut hq, quality("1", "low"), "not_found", Some("stream")).await;
    refused(&mut hq, quality("a stream", "high"), "not_found", Some("stream")).await;

    // A browser's garbage offer is refused by field; someone not rung cannot
    // join or decline; an answer with no offer pending is out of order.
    refused(&mut phone, json!({ "type": "call.join", "call": call, "sdp": "v=0 garbage" }), "bad_sdp", Some("sdp"))
        .await;
    let mut viewer = connect(&app, &token_for(&app, "viewer").await, None).await;
    next(&mut viewer).await;
    refused(&mut viewer, json!({ "type": "call.decline", "call": call }), "not_in_call", None).await;
    refused(&mut phone, json!({ "type": "call.sdp_answer", "call": call, "sdp": "v=0" }), "not_in_call", None).await;

    // The officer declines: HQ is told, the call ends as declined, and a
    // phone that connects afterwards is not rung.
    say(&mut phone, json!({ "type": "call.decline", "call": call })).await;
    let ended = next_of(&mut hq, "call.ended").await;
    assert_eq!((ended["call"].as_str(), ended["outcome"].as_str()), (Some(call.as_str()), Some("declined")));
    let (_, events) = commander.get("/api/v1/events?limit=50").await;
    let kinds: Vec<_> = events["events"].as_array().unwrap().iter().filter_map(|e| e["kind"].as_str()).collect();
    for kind in ["call.started", "call.declined", "call.ended"] {
        assert!(kinds.contains(&kind), "{kind} should be recorded: {kinds:?}");
    }
    assert!(!kinds.contains(&"call.joined"), "nobody joined: {kinds:?}");
    let mut late = connect(&app, &token_for(&app, "duty").await, None).await;
    assert_eq!(next(&mut late).await["type"], "hello");
    refused(&mut late, json!({ "type": "call.decline", "call": call }), "not_found", Some("call")).await;
}

#[tokio::test]
async fn a_ring_nobody_answers_is_missed_and_a_phone_opened_while_ringing_rings_too() {
    let app = app!(|c| c.media.ring_seconds = 5);
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post_with_officer_on_duty(&app, &commander, &duty).await;
    let mut hq = connect(&app, &token_for(&app, "commander").await, None).await;
    next(&mut hq).await;
    say(&mut hq, json!({ "type": "call.start", "checkpoints": [cp] })).await;
    let call = next_of(&mut hq, "call.started").await["call"].as_str().unwrap().to_owned();

    // The officer opens the page after the call started: it rings.
    let mut phone = connect(&app, &token_for(&app, "duty").await, None).await;
    next(&mut phone).await;
    assert_eq!(next_of(&mut phone, "call.ring").await["call"].as_str(), Some(call.as_str()));

    // Nobody answers within the ring time: the ring stops, the call ends missed.
    assert_eq!(next_of(&mut phone, "call.ring_stop").await["call"].as_str(), Some(call.as_str()));
    let ended = next_of(&mut hq, "call.ended").await;
    assert_eq!(ended["outcome"], "missed", "{ended}");
    let (_, events) = commander.get("/api/v1/events?limit=50").await;
    let missed =
        events["events"].as_array().unwrap().iter().find(|e| e["kind"] == "call.missed").expect("a missed-call event");
    assert_eq!(missed["payload"]["user"], app.users["duty"].id.0);

    // The evaluator raises one alert for it, at the post, naming both.
    let settings = shouwang_server::config::AlertSettings::default();
    let mut evaluator = shouwang_server::alerts::Evaluator::default();
    evaluator.run(&app.store, &app.writer, &settings, shouwang_store::now_us()).await.unwrap();
    let (_, alerts) = commander.get("/api/v1/alerts").await;
    let rang: Vec<&Value> = alerts.as_array().unwrap().iter().filter(|a| a["rule"] == "missed_call").collect();
    assert_eq!(rang.len(), 1, "{alerts}");
    assert_eq!(
        (rang[0]["checkpoint_id"].as_i64(), rang[0]["detail"]["person"].as_str()),
        (Some(cp), Some("Test duty"))
    );
    assert_eq!(rang[0]["detail"]["caller"], "Test commander");
    evaluator.run(&app.store, &app.writer, &settings, shouwang_store::now_us()).await.unwrap();
    assert_eq!(commander.get("/api/v1/alerts").await.1, alerts, "raised once");

    // HQ calls again and the officer answers (recorded as the signaling
    // records it; joining for real takes a browser's WebRTC offer, which the
    // browser tests make): the missed call is made good.
    use shouwang_store::writer::{Actor, Command};
    let (boss, officer) = (&app.users["commander"], &app.users["duty"]);
    let again = shouwang_store::NewCall {
        id: shouwang_domain::RecordId::new_v7(),
        kind: shouwang_domain::call::CallKind::Call,
        scope: app.units["411224104"].path.clone(),
        invited: vec![shouwang_store::Invitee {
            user: officer.id,
            checkpoint: Some(shouwang_domain::CheckpointId(cp)),
        }],
    };
    let id = again.id;
    app.writer.submit(Actor::user(boss.id, &boss.username), Command::StartCall(again)).await.unwrap();
    let join = Command::CallParty { call: id, user: officer.id, change: shouwang_store::PartyChange::Join };
    app.writer.submit(Actor::user(officer.id, &officer.username), join).await.unwrap();
    evaluator.run(&app.store, &app.writer, &settings, shouwang_store::now_us()).await.unwrap();
    let (_, live) = commander.get("/api/v1/alerts").await;
    assert!(live.as_array().unwrap().iter().all(|a| a["rule"] != "missed_call"), "{live}");

    // The history lists both calls, newest first, with what became of each
    // ring; the officer sees the calls they were rung in.
    let (status, history) = commander.get("/api/v1/calls").await;
    assert_eq!(status, reqwest::StatusCode::OK, "{history}");
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0]["id"], json!(id.to_string()));
    assert_eq!(history[0]["parties"][1]["state"], "joined");
    assert_eq!(
        (history[1]["outcome"].as_str(), history[1]["parties"][1]["state"].as_str()),
        (Some("missed"), Some("missed"))
    );
    assert_eq!(history[1]["caller_name"], "Test commander");
    assert_eq!(duty.get("/api/v1/calls").await.1.as_array().unwrap().len(), 2);
    let (status, err) = commander.get("/api/v1/calls?limit=0").await;
    assert_eq!((status, err["error"]["field"].as_str()), (reqwest::StatusCode::UNPROCESSABLE_ENTITY, Some("limit")));
    let page = commander.request(reqwest::Method::GET, "/calls").send().await.unwrap().text().await.unwrap();
    assert!(page.contains("data-outcome=\"missed\"") && page.contains("未接"), "the page shows the missed call");
}

#[tokio::test]
async fn a_page_gets_turn_credentials_of_its_own_only_when_a_turn_server_is_set() {
    let app = app!();
    let (status, body) = app.login("duty").await.get("/api/v1/calls/ice-servers").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({ "ice_servers": [], "expires_us": null }));

    let url = "turn:turn.example.cn:443?transport=tcp";
    let app = app!(|c| {
        c.media.turn.urls = vec![url.into()];
        c.media.turn.secret = shouwang_server::config::Secret("a-secret-of-the-deployment".into());
        c.media.turn.ttl_hours = 2;
    });
    let before = shouwang_store::now_us();
    let mut seen = Vec::new();
    for role in ["duty", "commander"] {
        let (status, body) = app.login(role).await.get("/api/v1/calls/ice-servers").await;
        assert_eq!(status, 200, "{body}");
        let server = &body["ice_servers"][0];
        assert_eq!(server["urls"], json!([url]));
        // `expiry:account id`, the expiry two hours off, as coturn reads it.
        let username = server["username"].as_str().unwrap();
        let (expiry, user) = username.split_once(':').unwrap();
        assert_eq!(user, app.users[role].id.0.to_string());
        let expiry_us = expiry.parse::<i64>().unwrap() * 1_000_000;
        assert_eq!(body["expires_us"], json!(expiry_us));
        assert!((before + 7_199_000_000..=before + 7_300_000_000).contains(&expiry_us), "{body}");
        let credential = server["credential"].as_str().unwrap();
        assert_eq!(credential.len(), 28, "base64 of a 20-byte HMAC-SHA1: {credential}");
        assert!(!body.to_string().contains("a-secret-of-the-deployment"));
        seen.push(credential.to_owned());
    }
    assert_ne!(seen[0], seen[1], "each person gets a password of their own");

    let res = reqwest::get(format!("{}/api/v1/calls/ice-servers", app.base)).await.unwrap();
    assert_eq!(res.status(), 401, "no credentials for strangers");
}

#[tokio::test]
async fn a_recorded_call_is_announced_and_its_files_go_only_to_those_who_may_see_personal_data() {
    let data = tempfile::tempdir().expect("a scratch folder");
    let data_dir = data.path().to_path_buf();
    let app = app!(|c| {
        c.media.record = true;
        c.data_dir = data_dir.clone();
    });
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post_with_officer_on_duty(&app, &commander, &duty).await;
    let mut hq = connect(&app, &token_for(&app, "commander").await, None).await;
    let mut phone = connect(&app, &token_for(&app, "duty").await, None).await;
    next(&mut hq).await;
    next(&mut phone).await;

    // Both sides are told the call is recorded.
    say(&mut hq, json!({ "type": "call.start", "checkpoints": [cp] })).await;
    let started = next_of(&mut hq, "call.started").await;
    assert_eq!(started["recorded"], true, "{started}");
    let ring = next_of(&mut phone, "call.ring").await;
    assert_eq!(ring["recorded"], true, "{ring}");
    let call = started["call"].as_str().expect("a call id").to_owned();

    // Nothing recorded yet: an empty list.
    let list = format!("/api/v1/calls/{call}/recordings");
    assert_eq!(commander.get(&list).await, (reqwest::StatusCode::OK, json!([])));

    // What the SFU leaves: a finished audio track of the officer's, and a
    // video track still being written.
    let folder = data.path().join("recordings").join(&call);
    std::fs::create_dir_all(&folder).expect("the call's folder");
    let officer = app.users["duty"].id.0;
    let audio = format!("user{officer}-2-0.ogg");
    std::fs::write(folder.join(&audio), b"OggS and the rest").expect("a recording");
    std::fs::write(folder.join(format!("user{officer}-2-1.ivf.part")), b"DKIF").expect("a recording");
    std::fs::write(folder.join("notes.txt"), b"not a recording").expect("a stray file");
    let (status, files) = commander.get(&list).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{files}");
    let files = files.as_array().expect("a list").clone();
    assert_eq!(files.len(), 2, "the stray file is not listed: {files:?}");
    let ogg = files.iter().find(|f| f["file"] == audio.as_str()).expect("the audio track");
    assert_eq!(
        (&ogg["kind"], &ogg["content_type"], &ogg["complete"], &ogg["bytes"], &ogg["user_id"]),
        (&json!("audio"), &json!("audio/ogg"), &json!(true), &json!(17), &json!(officer)),
        "{ogg}"
    );
    assert!(ogg["name"].as_str().is_some_and(|n| !n.is_empty()), "the officer's name: {ogg}");
    assert!(files.iter().any(|f| f["kind"] == "video" && f["complete"] == false), "{files:?}");

    // The file itself, whole or a range of it (players seek).
    let res = commander.request(reqwest::Method::GET, &format!("{list}/{audio}")).send().await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "audio/ogg");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert_eq!(&res.bytes().await.unwrap()[..], b"OggS and the rest");
    let res = commander
        .request(reqwest::Method::GET, &format!("{list}/{audio}"))
        .header("range", "bytes=0-3")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::PARTIAL_CONTENT);
    assert_eq!(&res.bytes().await.unwrap()[..], b"OggS");

    // Only names the folder holds; only calls there are; only for those
    // who may see personal data (the officer was in the call, but may not).
    for path in [
        format!("{list}/notes.txt"),
        format!("{list}/..%2F..%2Fshouwang.db"),
        format!("{list}/user{officer}-2-9.ogg"),
        format!("/api/v1/calls/{}/recordings", v7()),
        "/api/v1/calls/not-a-call/recordings".to_owned(),
    ] {
        let (status, body) = commander.get(&path).await;
        assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found", "{path}: {body}");
    }
    let (status, body) = duty.get(&list).await;
    assert!(
        status == reqwest::StatusCode::FORBIDDEN || status == reqwest::StatusCode::NOT_FOUND,
        "the officer gets no recording: {status} {body}"
    );
    assert_eq!(duty.get(&format!("{list}/{audio}")).await.0, status);
    let viewer = app.login("viewer").await;
    let (status, body) = viewer.get(&list).await;
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN, "a viewer sees no personal data: {body}");
}
