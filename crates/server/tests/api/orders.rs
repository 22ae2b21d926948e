//! Orders and roll calls through the API: HQ names posts and the officers on
//! duty there receive it; each acknowledges once, with where they are; bad
//! requests are refused by field and write nothing; a deadline passed marks
//! the silent ones overdue once.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app;
use crate::checkpoints::{post, shift};
use crate::helpers::{Session, TestApp, v7};

const MINUTE_US: i64 = 60_000_000;

/// A post in 朱阳关镇 with the `duty` officer on its shift.
async fn staffed_post(app: &TestApp, commander: &Session, code: &str) -> i64 {
    let cp = post(app, commander, code, 1).await;
    shift(commander, cp, 5, &[app.users["duty"].id.0]).await;
    cp
}

fn error_of(v: &Value) -> (Option<&str>, Option<&str>) {
    (v["error"]["field"].as_str(), v["error"]["code"].as_str())
}

async fn order_rows(app: &TestApp) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM orders").fetch_one(app.store.pool()).await.unwrap().get("n")
}

#[tokio::test]
async fn an_order_reaches_the_officer_on_duty_who_acknowledges_it_once_with_a_report() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = staffed_post(&app, &commander, "ZYG-01").await;
    let deadline = shouwang_store::now_us() + 30 * MINUTE_US;
    let order = json!({ "id": v7(), "title": "加强夜间巡查", "body": "每两小时巡查一次", "priority": "urgent",
                        "deadline_us": deadline, "needs_report": true, "targets": { "checkpoints": [cp] } });
    let (status, issued) = commander.post("/api/v1/orders", order.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let id = issued["id"].as_str().unwrap().to_owned();
    assert_eq!(issued["receipts"].as_array().unwrap().len(), 1);
    assert_eq!(issued["receipts"][0]["name"], "Test duty");
    let (again, _) = commander.post("/api/v1/orders", order).await;
    assert_eq!(again, StatusCode::OK, "a resend returns the stored order");
    assert_eq!(order_rows(&app).await, 1);

    // The officer's list holds it; opening it marks it read.
    let (_, mine) = duty.get("/api/v1/me/orders").await;
    assert_eq!(mine[0]["id"], json!(id));
    let (_, read) = duty.post(&format!("/api/v1/orders/{id}/read"), json!({})).await;
    assert_eq!(read["receipts"][0]["state"], "read");

    // Acknowledged with the phone's position; twice is refused, saying so.
    let ack = json!({ "version": 1, "lat": 33.7161, "lon": 110.9832 });
    let (status, acked) = duty.post(&format!("/api/v1/orders/{id}/acknowledge"), ack.clone()).await;
    assert_eq!(status, StatusCode::OK, "{acked}");
    assert_eq!((acked["acknowledged"].as_i64(), acked["receipts"][0]["lat"].as_f64()), (Some(1), Some(33.7161)));
    let (status, twice) = duty.post(&format!("/api/v1/orders/{id}/acknowledge"), ack).await;
    assert_eq!((status, error_of(&twice)), (StatusCode::CONFLICT, (Some("state"), Some("already_acknowledged"))));
    assert!(!twice["error"]["message"].as_str().unwrap_or_default().is_empty());

    // Someone else's order: the cadre received nothing.
    let cadre = app.login("cadre").await;
    let (status, err) = cadre.post(&format!("/api/v1/orders/{id}/acknowledge"), json!({ "version": 1 })).await;
    assert_eq!((status, error_of(&err)), (StatusCode::UNPROCESSABLE_ENTITY, (Some("order"), Some("not_a_recipient"))));

    let (status, done) = duty.post(&format!("/api/v1/orders/{id}/report"), json!({ "report": "已巡查三次" })).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["receipts"][0]["state"], "reported");
    let (_, events) = commander.get("/api/v1/events?kind=order.acknowledged").await;
    assert_eq!(events["events"].as_array().unwrap().len(), 1, "one acknowledgement, one event");
}

#[tokio::test]
async fn bad_orders_are_refused_by_field_and_write_nothing() {
    let app = app!();
    let commander = app.login("commander").await;
    let cp = staffed_post(&app, &commander, "ZYG-01").await;
    let empty = post(&app, &commander, "ZYG-02", 1).await;
    let now = shouwang_store::now_us();
    let ok = json!({ "id": v7(), "title": "t", "body": "b", "deadline_us": now + 10 * MINUTE_US,
                     "targets": { "checkpoints": [cp] } });
    let with = |key: &str, value: Value| {
        let mut o = ok.clone();
        o[key] = value;
        o["id"] = json!(v7());
        o
    };
    let cases = [
        (with("targets", json!({})), "targets", "required"),
        (with("deadline_us", json!(now - MINUTE_US)), "deadline_us", "in_the_past"),
        (with("title", json!("")), "title", "required"),
        (with("priority", json!("whenever")), "priority", "invalid_choice"),
        (with("targets", json!({ "checkpoints": [999_999] })), "targets.checkpoints[0]", "not_found"),
        (with("targets", json!({ "checkpoints": [cp, empty] })), "targets.checkpoints[1]", "nobody_on_duty"),
        (with("targets", json!({ "posts": [cp] })), "targets.posts", "unknown_field"),
    ];
    for (body, field, code) in cases {
        let (status, err) = commander.post("/api/v1/orders", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {err}");
        assert_eq!(error_of(&err), (Some(field), Some(code)), "{body}");
    }
    // An officer may not issue; nobody can order an account that is not there.
    let (status, _) = app.login("duty").await.post("/api/v1/orders", with("kind", json!("roll_call"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, err) = commander.post("/api/v1/orders", with("targets", json!({ "users": [0] }))).await;
    assert_eq!(
        (status, error_of(&err)),
        (StatusCode::UNPROCESSABLE_ENTITY, (Some("targets.users[0]"), Some("not_found")))
    );
    assert_eq!(order_rows(&app).await, 0, "nothing was written");
}

#[tokio::test]
async fn a_roll_call_unanswered_by_its_deadline_goes_overdue_once_and_an_amendment_asks_again() {
    let app = app!();
    let commander = app.login("commander").await;
    let cp = staffed_post(&app, &commander, "ZYG-01").await;
    // A roll call whose deadline is a second away.
    let body = json!({ "id": v7(), "kind": "roll_call", "deadline_us": shouwang_store::now_us() + 1_000_000,
                       "targets": { "checkpoints": [cp] } });
    let (status, call) = commander.post("/api/v1/orders", body).await;
    assert_eq!(status, StatusCode::CREATED, "{call}");
    assert_eq!(call["title"], "点名");
    let id = call["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    // The job that runs every few seconds, run now, twice.
    let mark = || shouwang_server::api::orders::mark_overdue(&app.store, &app.writer);
    assert_eq!(mark().await.unwrap(), 1, "one receipt overdue");
    assert_eq!(mark().await.unwrap(), 0, "raised once");
    let (_, events) = commander.get("/api/v1/events?kind=order.overdue").await;
    let events = events["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["payload"]["user"], json!(app.users["duty"].id.0));

    // The amendment gives a new deadline: the officer answers the new version.
    let amend = json!({ "body": "请立即回复", "deadline_us": shouwang_store::now_us() + 5 * MINUTE_US });
    let (status, amended) = commander.post(&format!("/api/v1/orders/{id}/amend"), amend).await;
    assert_eq!((status, amended["version"].as_i64()), (StatusCode::OK, Some(2)), "{amended}");
    let duty = app.login("duty").await;
    let (status, err) = duty.post(&format!("/api/v1/orders/{id}/acknowledge"), json!({ "version": 1 })).await;
    assert_eq!((status, error_of(&err)), (StatusCode::CONFLICT, (Some("version"), Some("order_amended"))));
    let (status, _) = duty.post(&format!("/api/v1/orders/{id}/acknowledge"), json!({ "version": 2 })).await;
    assert_eq!(status, StatusCode::OK);

    let (status, revoked) = commander.post(&format!("/api/v1/orders/{id}/revoke"), json!({})).await;
    assert_eq!((status, revoked["state"].as_str()), (StatusCode::OK, Some("revoked")));
    let (_, mine) = duty.get("/api/v1/me/orders").await;
    assert_eq!(mine, json!([]), "a revoked order leaves the phone's list");
}

#[tokio::test]
async fn a_missed_roll_call_raises_one_alert_that_hq_takes_and_that_clears_when_the_officer_answers() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = staffed_post(&app, &commander, "ZYG-01").await;
    let body = json!({ "id": v7(), "kind": "roll_call", "deadline_us": shouwang_store::now_us() + 1_000_000,
                       "targets": { "checkpoints": [cp] } });
    let (_, call) = commander.post("/api/v1/orders", body).await;
    let id = call["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;

    // The evaluator's run, as its job does it: overdue first, then the rules.
    let settings = shouwang_server::config::AlertSettings::default();
    let mut evaluator = shouwang_server::alerts::Evaluator::default();
    let mut run = async || {
        shouwang_server::api::orders::mark_overdue(&app.store, &app.writer).await.unwrap();
        evaluator.run(&app.store, &app.writer, &settings, shouwang_store::now_us()).await.unwrap()
    };
    assert!(run().await >= 1);
    let (_, alerts) = commander.get("/api/v1/alerts").await;
    let missed: Vec<&Value> = alerts.as_array().unwrap().iter().filter(|a| a["rule"] == "missed_roll_call").collect();
    assert_eq!(missed.len(), 1, "{alerts}");
    assert_eq!((missed[0]["checkpoint_id"].as_i64(), missed[0]["severity"].as_str()), (Some(cp), Some("warning")));
    assert_eq!(missed[0]["detail"]["person"], "Test duty");
    // The officer led their own shift and nobody commands in the township:
    // it is escalated to the county's commander, whose list now holds it.
    let boss = &app.users["commander"];
    assert_eq!(missed[0]["detail"]["supervisor"], json!(boss.display_name), "{}", missed[0]);
    let (_, theirs) = commander.get("/api/v1/me/orders").await;
    assert_eq!(theirs[0]["receipts"][0]["escalated_to"], json!(boss.id.0), "{theirs}");
    let alert = missed[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(run().await, 0, "raised once");

    // The officer cannot take alerts; the commander can.
    let (status, _) = duty.post(&format!("/api/v1/alerts/{alert}/acknowledge"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, taken) = commander.post(&format!("/api/v1/alerts/{alert}/acknowledge"), json!({})).await;
    assert_eq!((status, taken["state"].as_str()), (StatusCode::OK, Some("acknowledged")));

    // A late answer clears it.
    let (status, _) = duty.post(&format!("/api/v1/orders/{id}/acknowledge"), json!({ "version": 1 })).await;
    assert_eq!(status, StatusCode::OK);
    run().await;
    let (_, live) = commander.get("/api/v1/alerts").await;
    assert!(live.as_array().unwrap().iter().all(|a| a["rule"] != "missed_roll_call"), "{live}");
    let (_, all) = commander.get("/api/v1/alerts?state=all").await;
    let gone = all.as_array().unwrap().iter().find(|a| a["id"] == json!(alert)).expect("the alert").clone();
    assert_eq!(gone["state"], "resolved");
    let (status, err) = commander.post(&format!("/api/v1/alerts/{alert}/acknowledge"), json!({})).await;
    assert_eq!((status, error_of(&err)), (StatusCode::CONFLICT, (Some("state"), Some("alert_resolved"))));
    let (status, err) = commander.get("/api/v1/alerts?state=some").await;
    assert_eq!((status, error_of(&err).0), (StatusCode::UNPROCESSABLE_ENTITY, Some("state")));
}

#[tokio::test]
async fn an_officer_not_checked_in_well_into_the_shift_raises_an_alert_that_clears_on_check_in() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander, "ZYG-01", 1).await;
    let shift_id = shift(&commander, cp, 30, &[app.users["duty"].id.0]).await;
    let settings = shouwang_server::config::AlertSettings::default();
    let mut evaluator = shouwang_server::alerts::Evaluator::default();
    let mut run = async || evaluator.run(&app.store, &app.writer, &settings, shouwang_store::now_us()).await.unwrap();
    run().await;
    let absent = |alerts: &Value| {
        alerts.as_array().unwrap().iter().filter(|a| a["rule"] == "missed_check_in").cloned().collect::<Vec<_>>()
    };
    let (_, alerts) = commander.get("/api/v1/alerts").await;
    let missed = absent(&alerts);
    assert_eq!(missed.len(), 1, "{alerts}");
    assert_eq!(
        (missed[0]["checkpoint_id"].as_i64(), missed[0]["detail"]["person"].as_str()),
        (Some(cp), Some("Test duty"))
    );

    let check_in = json!({ "id": v7(), "shift_id": shift_id, "lat": 33.7165, "lon": 110.9832 });
    assert_eq!(duty.post("/api/v1/check-ins", check_in).await.0, StatusCode::CREATED);
    run().await;
    let (_, alerts) = commander.get("/api/v1/alerts").await;
    assert!(absent(&alerts).is_empty(), "checked in: the alert cleared");
}

/// Uploads `bytes` as a file named `name`: the status and the answer.
async fn upload(who: &Session, id: &str, name: &str, bytes: &[u8]) -> (StatusCode, Value) {
    let res = who
        .request(reqwest::Method::POST, &format!("/api/v1/attachments?id={id}&name={name}"))
        .header("content-type", "application/octet-stream")
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn attachment_rows(app: &TestApp) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM attachments").fetch_one(app.store.pool()).await.unwrap().get("n")
}

#[tokio::test]
async fn an_order_carries_a_pdf_its_recipient_answers_with_a_photo_and_bad_files_are_refused_by_field() {
    let app = app!(|c| c.attachment_max_bytes = 4096);
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = staffed_post(&app, &commander, "ZYG-01").await;

    // Bad files, refused by field with the status that says why; nothing kept.
    let (status, err) = upload(&commander, &v7(), "big.pdf", &[b"%PDF-".as_slice(), &[0u8; 4096]].concat()).await;
    assert_eq!((status, error_of(&err)), (StatusCode::PAYLOAD_TOO_LARGE, (Some("file"), Some("file_too_large"))));
    assert!(err["error"]["message"].as_str().unwrap().contains('4'), "the limit is named: {err}");
    let (status, err) = upload(&commander, &v7(), "x.svg", b"<svg onload=alert(1)>").await;
    assert_eq!(
        (status, error_of(&err)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, (Some("file"), Some("unsupported_file")))
    );
    let (status, err) = upload(&commander, &v7(), "empty.pdf", b"").await;
    assert_eq!((status, error_of(&err)), (StatusCode::UNPROCESSABLE_ENTITY, (Some("file"), Some("required"))));
    let (status, err) = upload(&commander, "not-a-uuid", "a.pdf", b"%PDF-1.7").await;
    assert_eq!((status, error_of(&err).0), (StatusCode::UNPROCESSABLE_ENTITY, Some("id")));
    assert_eq!(attachment_rows(&app).await, 0);

    // A PDF, kept once however often it is sent.
    let pdf = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n";
    let file_id = v7();
    let (status, file) = upload(&commander, &file_id, "%E9%80%9A%E7%9F%A5.pdf", pdf).await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    assert_eq!((file["name"].as_str(), file["content_type"].as_str()), (Some("通知.pdf"), Some("application/pdf")));
    assert_eq!(upload(&commander, &file_id, "通知.pdf", pdf).await.0, StatusCode::OK, "a resend");
    assert_eq!(attachment_rows(&app).await, 1);

    let order = json!({ "id": v7(), "title": "转发防控通知", "body": "请组织学习附件", "needs_report": true,
                        "deadline_us": shouwang_store::now_us() + 30 * MINUTE_US, "targets": { "checkpoints": [cp] },
                        "attachment_id": file_id });
    let (status, issued) = commander.post("/api/v1/orders", order).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    assert_eq!(issued["attachment"]["id"], json!(file_id));
    let id = issued["id"].as_str().unwrap().to_owned();

    // The recipient opens the file as it was sent; someone outside cannot.
    let res = duty.request(reqwest::Method::GET, &format!("/api/v1/attachments/{file_id}")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(res.bytes().await.unwrap().as_ref(), pdf.as_slice());
    let elsewhere = app.login("enterprise").await;
    let (status, _) = elsewhere.get(&format!("/api/v1/attachments/{file_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A photo must be a picture, and the answerer's own.
    let ack = |photo: &str| json!({ "version": 1, "photo_id": photo });
    let (status, err) = duty.post(&format!("/api/v1/orders/{id}/acknowledge"), ack(&file_id)).await;
    assert_eq!((status, error_of(&err)), (StatusCode::UNPROCESSABLE_ENTITY, (Some("photo_id"), Some("not_found"))));
    let duty_pdf = v7();
    assert_eq!(upload(&duty, &duty_pdf, "scan.pdf", b"%PDF-1.4 scan").await.0, StatusCode::CREATED);
    let (status, err) = duty.post(&format!("/api/v1/orders/{id}/acknowledge"), ack(&duty_pdf)).await;
    assert_eq!((status, error_of(&err)), (StatusCode::UNPROCESSABLE_ENTITY, (Some("photo_id"), Some("not_an_image"))));
    assert_eq!(commander.get(&format!("/api/v1/orders/{id}")).await.1["acknowledged"], 0, "nothing written");

    let photo = v7();
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    assert_eq!(upload(&duty, &photo, "at-the-post.png", png).await.0, StatusCode::CREATED);
    let (status, acked) = duty.post(&format!("/api/v1/orders/{id}/acknowledge"), ack(&photo)).await;
    assert_eq!(status, StatusCode::OK, "{acked}");
    assert_eq!(acked["receipts"][0]["photo_id"], json!(photo));
    // HQ sees the photo of an answer to its order.
    let res = commander.request(reqwest::Method::GET, &format!("/api/v1/attachments/{photo}")).send().await.unwrap();
    assert_eq!((res.status(), res.headers()["content-type"].to_str().unwrap()), (StatusCode::OK, "image/png"));

    // A week on, the retention job purges the upload no order or answer
    // names (the officer's PDF), and keeps the others.
    let week_on = shouwang_store::now_us() + 8 * 86_400_000_000;
    assert_eq!(shouwang_server::retention::purge_orphan_files(&app.writer, week_on).await.unwrap(), 1);
    assert_eq!(duty.get(&format!("/api/v1/attachments/{duty_pdf}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(duty.get(&format!("/api/v1/attachments/{photo}")).await.0, StatusCode::OK);
    assert_eq!(attachment_rows(&app).await, 2);
}

#[tokio::test]
async fn an_unacknowledged_order_is_escalated_to_the_leader_of_the_recipients_shift() {
    let app = app!();
    let commander = app.login("commander").await;
    let admin = app.login("admin").await;
    let leader = json!({ "username": "leader", "display_name": "班长", "password": crate::helpers::PASSWORD,
                         "role": "duty_officer", "org_unit_id": app.units["411224104"].id.0 });
    let (status, leader) = admin.post("/api/v1/users", leader).await;
    assert_eq!(status, StatusCode::CREATED, "{leader}");
    let leader_id = leader["id"].as_i64().unwrap();
    let cp = post(&app, &commander, "ZYG-01", 2).await;
    shift(&commander, cp, 5, &[leader_id, app.users["duty"].id.0]).await;
    let body = json!({ "id": v7(), "title": "核对通行证", "body": "逐车核对", "targets": { "checkpoints": [cp] },
                       "deadline_us": shouwang_store::now_us() + 1_000_000 });
    let (status, order) = commander.post("/api/v1/orders", body).await;
    assert_eq!((status, order["receipts"].as_array().unwrap().len()), (StatusCode::CREATED, 2), "{order}");
    let id = order["id"].as_str().unwrap().to_owned();
    let boss = app.login("leader").await;
    let (status, _) = boss.post(&format!("/api/v1/orders/{id}/acknowledge"), json!({ "version": 1 })).await;
    assert_eq!(status, StatusCode::OK);

    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    shouwang_server::api::orders::mark_overdue(&app.store, &app.writer).await.unwrap();
    let (_, order) = commander.get(&format!("/api/v1/orders/{id}")).await;
    let silent = order["receipts"].as_array().unwrap().iter().find(|r| r["user_id"] == json!(app.users["duty"].id.0));
    let silent = silent.expect("the officer's receipt");
    assert_eq!((silent["escalated_to"].as_i64(), silent["escalated_name"].as_str()), (Some(leader_id), Some("班长")));
    let (_, told) = boss.get("/api/v1/events?kind=order.escalated").await;
    let told = told["events"].as_array().unwrap().clone();
    assert_eq!(told.len(), 1, "the leader hears of it once: {told:?}");
    assert_eq!(
        (told[0]["payload"]["user"].as_i64(), told[0]["payload"]["person"].as_str()),
        (Some(leader_id), Some("Test duty"))
    );
}
