//! The phone's outbox through `POST /api/v1/sync`: records delivered in
//! order through their own routes, a refusal kept to its record, a resend
//! that stores nothing twice, late records and a wrong phone clock on the
//! board, and a bad envelope refused whole with nothing written.

use std::io::Write;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app;
use crate::helpers::{Session, TestApp, v7};

const MINUTE_US: i64 = 60_000_000;

fn now_us() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64
}

/// A running post in 朱阳关镇 with masks in stock.
async fn post(app: &TestApp, commander: &Session) -> i64 {
    let body = json!({ "org_unit_id": app.units["411224104"].id.0, "code": "ZYG-01", "name": "朱阳关省界检测点",
                       "kind": "county_border", "lat": 33.716, "lon": 110.983, "required_staff": 1 });
    let (status, cp) = commander.post("/api/v1/checkpoints", body).await;
    assert_eq!(status, StatusCode::CREATED, "{cp}");
    let id = cp["id"].as_i64().unwrap();
    let stock = json!({ "id": v7(), "item": "mask", "kind": "receipt", "quantity": 500 });
    assert_eq!(commander.post(&format!("/api/v1/checkpoints/{id}/supplies"), stock).await.0, StatusCode::OK);
    id
}

fn screening(cp: i64, plate: &str, entered_us: i64) -> Value {
    let id = v7();
    json!({ "id": id, "method": "POST", "path": format!("/api/v1/checkpoints/{cp}/screenings"), "entered_us": entered_us,
            "body": { "id": id, "occurred_us": entered_us, "direction": "in", "plate": plate, "vehicle_type": "car",
                      "people_count": 1, "cargo": "none", "outcome": "released" } })
}

fn consumption(cp: i64, quantity: i64, entered_us: i64) -> Value {
    let id = v7();
    json!({ "id": id, "method": "POST", "path": format!("/api/v1/checkpoints/{cp}/supplies"), "entered_us": entered_us,
            "body": { "id": id, "item": "mask", "kind": "consumption", "quantity": quantity } })
}

async fn board_row(commander: &Session, cp: i64) -> Value {
    let board = commander.get("/api/v1/board").await.1;
    board["posts"].as_array().unwrap().iter().find(|p| p["id"] == cp).unwrap().clone()
}

async fn screenings_at(commander: &Session, cp: i64) -> usize {
    commander.get(&format!("/api/v1/screenings?checkpoint_id={cp}&limit=500")).await.1.as_array().unwrap().len()
}

#[tokio::test]
async fn an_outbox_is_delivered_in_order_a_refusal_stays_its_own_and_a_resend_stores_nothing_twice() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander).await;
    let sent = now_us();
    // Entered offline an hour ago, except the last one, a few seconds ago.
    let entries = vec![
        screening(cp, "豫M12345", sent - 60 * MINUTE_US),
        screening(cp, "豫M1", sent - 59 * MINUTE_US),
        consumption(cp, 20, sent - 58 * MINUTE_US),
        screening(cp, "陕E D12345", sent - 57 * MINUTE_US),
        consumption(cp, 5, sent - 5_000_000),
    ];
    let request = json!({ "post_id": cp, "sent_us": sent, "entries": entries });
    let (status, out) = duty.post("/api/v1/sync", request.clone()).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    let results = out["results"].as_array().unwrap();
    let statuses: Vec<i64> = results.iter().map(|r| r["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, [201, 422, 200, 201, 200], "{out}");
    for (r, e) in results.iter().zip(&entries) {
        assert_eq!(r["id"], e["id"], "results answer the entries in order");
    }
    assert_eq!(results[1]["error"]["field"], "plate", "the refusal names the field: {out}");
    assert!(results[1]["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(results[4]["body"]["on_hand"], 475, "both consumptions applied in order: 500 − 20 − 5");
    assert!(out["stopped"].is_null());
    assert_eq!(screenings_at(&commander, cp).await, 2);

    let row = board_row(&commander, cp).await;
    assert_eq!(row["late_records"], 3, "the three stored records entered an hour ago are late: {row}");
    assert!(row["last_sync_us"].as_i64().is_some_and(|t| t >= sent - MINUTE_US));
    let events = commander.get("/api/v1/events?kind=post.synced").await.1;
    assert_eq!(events["events"][0]["payload"]["records"], 4);

    // The answer was lost; the phone sends the same batch again.
    let (status, again) = duty.post("/api/v1/sync", request).await;
    assert_eq!(status, StatusCode::OK);
    let statuses: Vec<i64> =
        again["results"].as_array().unwrap().iter().map(|r| r["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, [200, 422, 200, 200, 200], "stored records are answered as stored: {again}");
    assert_eq!(screenings_at(&commander, cp).await, 2, "nothing stored twice");
    let detail = commander.get(&format!("/api/v1/checkpoints/{cp}")).await.1;
    let mask = detail["supplies"].as_array().unwrap().iter().find(|s| s["item"] == "mask").unwrap().clone();
    assert_eq!(mask["on_hand"], 475, "no consumption applied twice");
    assert_eq!(board_row(&commander, cp).await["late_records"], 3, "a resend is not counted again");

    // The post's panel on the board lists what arrived, by the phone's clock.
    let panel = commander.request(Method::GET, &format!("/board/posts/{cp}")).header("accept", "text/html");
    let panel = panel.send().await.unwrap().text().await.unwrap();
    let sync = panel.split("data-testid=\"pp-sync\"").nth(1).unwrap_or_else(|| panic!("{panel}"));
    assert!(sync.contains("4 条") && sync.contains("3 条"), "delivered and late counts: {sync}");
    assert_eq!(sync.matches("<code>screenings</code>").count(), 2, "{sync}");
    assert_eq!(sync.matches("<code>supplies</code>").count(), 2, "{sync}");
}

#[tokio::test]
async fn a_wrong_phone_clock_is_measured_and_does_not_make_fresh_records_late() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander).await;
    // The phone's clock is three hours behind; the record was entered 5 s
    // before sending by that clock.
    let phone = now_us() - 180 * MINUTE_US;
    let request = json!({ "post_id": cp, "sent_us": phone, "entries": [screening(cp, "豫M54321", phone - 5_000_000)] });
    let (status, out) = duty.post("/api/v1/sync", request).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["results"][0]["status"], 201, "{out}");
    let skew = out["skew_us"].as_i64().unwrap();
    assert!((179 * MINUTE_US..181 * MINUTE_US).contains(&skew), "skew {skew}");
    let row = board_row(&commander, cp).await;
    assert_eq!(row["late_records"], 0, "entered 5 s before it was sent: not late, whatever the clock says");
    assert!(row["clock_skew_us"].as_i64().unwrap() > 170 * MINUTE_US, "{row}");
    let html = commander.request(Method::GET, "/").header("accept", "text/html").send().await.unwrap();
    let html = html.text().await.unwrap();
    let cell = html.split(&format!("<tr data-post-id=\"{cp}\"")).nth(1).unwrap_or_else(|| panic!("{html}"));
    let flag = cell.split("class=\"clock-flag\"").nth(1).unwrap().split('>').next().unwrap();
    assert!(!flag.contains("hidden"), "the board flags the wrong clock: {flag}");
}

#[tokio::test]
async fn a_suspended_post_refuses_its_records_one_by_one_and_the_others_still_sync() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander).await;
    let sent = now_us();
    let first = json!({ "post_id": cp, "sent_us": sent, "entries": [screening(cp, "豫M11111", sent - MINUTE_US)] });
    assert_eq!(duty.post("/api/v1/sync", first).await.1["results"][0]["status"], 201);
    let suspend = json!({ "status": "suspended", "reason": "暴雪封路" });
    assert_eq!(commander.post(&format!("/api/v1/checkpoints/{cp}/status"), suspend).await.0, StatusCode::OK);
    let other = json!({ "org_unit_id": app.units["411224104"].id.0, "code": "ZYG-02", "name": "朱阳关二号卡点",
                        "kind": "county_border", "lat": 33.72, "lon": 110.99, "required_staff": 1 });
    let cp2 = commander.post("/api/v1/checkpoints", other).await.1["id"].as_i64().unwrap();
    let entries = [screening(cp, "豫M22222", sent), screening(cp2, "豫M33333", sent)];
    let (status, out) = duty.post("/api/v1/sync", json!({ "sent_us": sent, "entries": entries })).await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["results"][0]["status"], 422, "{out}");
    assert_eq!(out["results"][0]["error"]["code"], "post_not_active");
    assert_eq!(out["results"][1]["status"], 201, "the next record is not blocked: {out}");
}

#[tokio::test]
async fn a_bad_envelope_is_refused_whole_naming_the_field_and_nothing_is_written() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander).await;
    let sent = now_us();
    let good = screening(cp, "豫M12345", sent);
    let mut recursive = screening(cp, "豫M12345", sent);
    recursive["path"] = json!("/api/v1/sync");
    let mut login = screening(cp, "豫M12345", sent);
    login["path"] = json!("/api/v1/auth/login");
    let mut no_id = screening(cp, "豫M12345", sent);
    no_id["id"] = json!("12");
    let mut get = screening(cp, "豫M12345", sent);
    get["method"] = json!("DELETE");
    let mut stranger = screening(cp, "豫M12345", sent);
    stranger["entered_by"] = json!(987_654);
    let many: Vec<Value> = (0..501).map(|_| screening(cp, "豫M12345", sent)).collect();
    let rows = app.event_rows().await;
    for (entries, field) in [
        (vec![good.clone(), recursive], "entries[1].path"),
        (vec![login], "entries[0].path"),
        (vec![no_id], "entries[0].id"),
        (vec![get], "entries[0].method"),
        (vec![good.clone(), stranger], "entries[1].entered_by"),
        (many, "entries"),
    ] {
        let (status, out) =
            duty.post("/api/v1/sync", json!({ "post_id": cp, "sent_us": sent, "entries": entries })).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {out}");
        assert_eq!(out["error"]["field"], field, "{out}");
    }
    let (status, out) =
        duty.post("/api/v1/sync", json!({ "post_id": cp, "sent_us": 5, "entries": [good.clone()] })).await;
    assert_eq!((status, out["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("sent_us")));
    let anonymous = app.anonymous().post(format!("{}/api/v1/sync", app.base));
    let res = anonymous.json(&json!({ "sent_us": sent, "entries": [good] })).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(screenings_at(&commander, cp).await, 0);
    assert_eq!(app.event_rows().await, rows, "nothing written");
}

#[tokio::test]
async fn a_gzip_compressed_outbox_is_accepted() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander).await;
    let sent = now_us();
    let entries: Vec<Value> = (0..50).map(|i| screening(cp, &format!("豫M{:05}", 10_000 + i), sent - i)).collect();
    let raw = serde_json::to_vec(&json!({ "post_id": cp, "sent_us": sent, "entries": entries })).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).unwrap();
    let packed = gz.finish().unwrap();
    assert!(packed.len() * 4 < raw.len(), "{} → {}", raw.len(), packed.len());
    let res = duty
        .request(Method::POST, "/api/v1/sync")
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(packed)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let out: Value = res.json().await.unwrap();
    assert_eq!(out["results"].as_array().unwrap().len(), 50, "{out}");
    assert_eq!(screenings_at(&commander, cp).await, 50);
}

#[tokio::test]
async fn a_resent_check_out_names_its_check_in_and_never_ends_a_later_one() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander).await;
    let shift = crate::checkpoints::shift(&commander, cp, 5, &[app.users["duty"].id.0]).await;
    let entry = |path: &str, body: Value| json!({ "id": v7(), "method": "POST", "path": path, "body": body, "entered_us": now_us() });
    let first = v7();
    let check_in = |id: &str| entry("/api/v1/check-ins", json!({ "id": id, "shift_id": shift }));
    let check_out = entry("/api/v1/check-out", json!({ "check_in_id": first }));
    // In, out, and in again, in one batch whose answer is lost…
    let second = v7();
    let batch =
        json!({ "post_id": cp, "sent_us": now_us(), "entries": [check_in(&first), check_out, check_in(&second)] });
    let (_, out) = duty.post("/api/v1/sync", batch.clone()).await;
    let statuses: Vec<i64> = out["results"].as_array().unwrap().iter().map(|r| r["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, [201, 200, 201], "{out}");
    // …so the phone sends it again: the check-out names the first check-in,
    // which is over, and the second stays open.
    let (_, again) = duty.post("/api/v1/sync", batch).await;
    assert_eq!(again["results"][1]["status"], 422, "{again}");
    assert_eq!(again["results"][1]["error"]["field"], "check_in_id");
    let detail = commander.get(&format!("/api/v1/checkpoints/{cp}")).await.1;
    let present: Vec<&str> = detail["present"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(present, [second.as_str()], "the later check-in is still open: {detail}");
    let (status, err) = duty.post("/api/v1/check-out", json!({ "check_in_id": "x" })).await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("check_in_id")));
}
