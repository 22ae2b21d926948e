//! The duty log through the API: idempotent by client id, scoped, group
//! committed.

use reqwest::StatusCode;
use serde_json::json;

use crate::app;
use crate::helpers::v7;

#[tokio::test]
async fn sending_the_same_entry_twice_stores_it_once_and_returns_the_stored_one() {
    let app = app!();
    let s = app.login("cadre").await;
    let id = v7();
    let (first, a) = s.post("/api/v1/duty-log", json!({ "id": id, "body": "岭东村卡点值守正常" })).await;
    let (second, b) = s.post("/api/v1/duty-log", json!({ "id": id, "body": "a changed resend" })).await;
    assert_eq!(first, StatusCode::CREATED);
    assert_eq!(second, StatusCode::OK, "a repeat is answered with the stored record");
    assert_eq!(a, b, "the stored record, not the resend's text");
    assert_eq!(b["body"], "岭东村卡点值守正常");
    assert_eq!(app.duty_log_rows().await, 1);
    let (_, page) = s.get("/api/v1/events?kind=duty_log.entry_added").await;
    assert_eq!(page["events"].as_array().unwrap().len(), 1, "one event, not two");
}

#[tokio::test]
async fn another_user_cannot_claim_an_existing_entry_id() {
    let app = app!();
    let id = v7();
    let cadre = app.login("cadre").await;
    assert_eq!(cadre.post("/api/v1/duty-log", json!({ "id": id, "body": "mine" })).await.0, StatusCode::CREATED);
    let duty = app.login("duty").await;
    let (status, err) = duty.post("/api/v1/duty-log", json!({ "id": id, "body": "also mine?" })).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"]["field"], "id");
}

#[tokio::test]
async fn an_entry_for_a_unit_outside_ones_scope_is_refused_by_name() {
    let app = app!();
    let cadre = app.login("cadre").await; // 朱阳关镇
    let dongming = app.units["411224107"].id.0;
    let (status, err) =
        cadre.post("/api/v1/duty-log", json!({ "id": v7(), "body": "x", "org_unit_id": dongming })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (err["error"]["field"].as_str(), err["error"]["code"].as_str()),
        (Some("org_unit_id"), Some("out_of_scope"))
    );
    let village = app.units["411224104202"].id.0;
    assert_eq!(
        cadre.post("/api/v1/duty-log", json!({ "id": v7(), "body": "岭东村", "org_unit_id": village })).await.0,
        StatusCode::CREATED
    );
    assert_eq!(app.duty_log_rows().await, 1);
}

#[tokio::test]
async fn a_viewer_may_read_but_not_write_the_duty_log() {
    let app = app!();
    let viewer = app.login("viewer").await;
    let (status, err) = viewer.post("/api/v1/duty-log", json!({ "id": v7(), "body": "x" })).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(err["error"]["code"], "forbidden");
    assert_eq!(viewer.get("/api/v1/duty-log").await.0, StatusCode::OK);
    assert_eq!(app.duty_log_rows().await, 0);
}

#[tokio::test]
async fn two_hundred_concurrent_writers_each_get_their_entry_stored_once() {
    let app = app!();
    let s = std::sync::Arc::new(app.login("cadre").await);
    let ids: Vec<String> = (0..200).map(|_| v7()).collect();
    let mut tasks = Vec::new();
    for (i, id) in ids.iter().cloned().enumerate() {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.post("/api/v1/duty-log", json!({ "id": id, "body": format!("entry {i}") })).await.0
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::CREATED);
    }
    assert_eq!(app.duty_log_rows().await, 200);
    let listed = s.get("/api/v1/duty-log?limit=1000").await.1;
    let mut seen: Vec<&str> = listed.as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    seen.sort();
    let mut expected: Vec<&str> = ids.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn the_list_shows_only_entries_within_scope() {
    let app = app!();
    let cadre = app.login("cadre").await; // 朱阳关镇
    cadre.post("/api/v1/duty-log", json!({ "id": v7(), "body": "朱阳关" })).await;
    let admin = app.login("admin").await; // county
    let dongming = app.units["411224107"].id.0;
    admin.post("/api/v1/duty-log", json!({ "id": v7(), "body": "东明", "org_unit_id": dongming })).await;
    let bodies = |v: serde_json::Value| {
        v.as_array().unwrap().iter().map(|e| e["body"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(bodies(cadre.get("/api/v1/duty-log").await.1), vec!["朱阳关"]);
    let mut all = bodies(app.login("commander").await.get("/api/v1/duty-log").await.1);
    all.sort();
    assert_eq!(all, vec!["东明", "朱阳关"]);
}

#[tokio::test]
async fn stopping_the_server_lets_acknowledged_writes_finish_and_keeps_them() {
    let mut app = app!();
    let s = std::sync::Arc::new(app.login("cadre").await);
    let mut writes = Vec::new();
    for i in 0..50 {
        let s = s.clone();
        writes.push(tokio::spawn(async move {
            s.post("/api/v1/duty-log", json!({ "id": v7(), "body": format!("{i}") })).await.0
        }));
    }
    let mut created = 0;
    for w in writes {
        if w.await.unwrap() == StatusCode::CREATED {
            created += 1;
        }
    }
    app.stop().await;
    assert!(reqwest::get(format!("{}/healthz", app.base)).await.is_err(), "a stopped server accepts nothing");
    assert_eq!(app.duty_log_rows().await, created);
    assert_eq!(created, 50);
}
