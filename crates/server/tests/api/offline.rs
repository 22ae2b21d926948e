//! `GET /api/v1/me/post/offline`: a post's data for its phone, in full and
//! as deltas from the event cursor, sized for the post.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app;
use crate::checkpoints::{post, shift};
use crate::helpers::{Session, TestApp, v7};

const OFFLINE: &str = "/api/v1/me/post/offline";

/// Two posts in 朱阳关镇 and `duty` on a shift at the first, which began
/// five minutes ago: (commander, duty, their post, the other post).
async fn on_duty(app: &TestApp) -> (Session, Session, i64, i64) {
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let mine = post(app, &commander, "ZYG-01", 1).await;
    let other = post(app, &commander, "ZYG-02", 1).await;
    shift(&commander, mine, 5, &[app.users["duty"].id.0]).await;
    (commander, duty, mine, other)
}

async fn sync(s: &Session, after: Option<i64>) -> Value {
    let path = after.map_or(OFFLINE.to_owned(), |a| format!("{OFFLINE}?after={a}"));
    let (status, body) = s.get(&path).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn sections(v: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

async fn move_supply(s: &Session, cp: i64, quantity: i64) {
    let body = json!({ "id": v7(), "item": "mask", "kind": "receipt", "quantity": quantity });
    let (status, level) = s.post(&format!("/api/v1/checkpoints/{cp}/supplies"), body).await;
    assert_eq!(status, StatusCode::OK, "{level}");
}

#[tokio::test]
async fn a_first_sync_holds_the_post_its_roster_supplies_key_and_the_regions() {
    let app = app!();
    let (_, duty, mine, _) = on_duty(&app).await;
    let first = sync(&duty, None).await;
    assert_eq!(first["full"], true);
    assert_eq!(first["post_id"], mine);
    assert!(first["cursor"].as_i64().unwrap() > 0);
    assert_eq!(first["post"]["checkpoint"]["id"], mine);
    assert_eq!(first["post"]["checkpoint"]["code"], "ZYG-01");
    assert_eq!(first["post"]["shift"]["checkpoint_id"], mine);
    let me = app.users["duty"].id.0;
    assert_eq!(first["roster"]["shifts"][0]["staff"], json!([me]));
    assert_eq!(first["roster"]["people"], json!([{ "id": me, "name": app.users["duty"].display_name }]));
    let catalogue = first["supplies"]["catalogue"].as_array().unwrap();
    assert!(catalogue.iter().any(|i| i["item"] == "mask"), "{catalogue:?}");
    assert_eq!(first["key"]["algorithm"], "Ed25519");
    assert_eq!(first["orders"], json!([]));
    assert_eq!(first["passes"]["tokens"], json!([]));
    assert_eq!(first["revocations"], json!([]));
    // The national list, compact: [code, name].
    let regions = first["regions"].as_array().unwrap();
    assert!(regions.len() > 3_000, "{}", regions.len());
    assert!(regions.contains(&json!(["411224", "卢氏县"])));
    assert!(regions.contains(&json!(["410000", "河南省"])));
}

#[tokio::test]
async fn a_delta_after_a_supply_movement_at_the_post_holds_supplies_and_not_regions() {
    let app = app!();
    let (_, duty, mine, _) = on_duty(&app).await;
    let first = sync(&duty, None).await;
    let cursor = first["cursor"].as_i64().unwrap();
    move_supply(&duty, mine, 40).await;
    let delta = sync(&duty, Some(cursor)).await;
    assert_eq!(delta["full"], false);
    assert!(delta["cursor"].as_i64().unwrap() > cursor);
    let levels = delta["supplies"]["levels"].as_array().unwrap();
    let mask = levels.iter().find(|l| l["item"] == "mask").expect("the mask level");
    assert_eq!(mask["on_hand"], 40);
    for absent in ["regions", "key", "passes", "revocations", "orders"] {
        assert!(delta.get(absent).is_none(), "{absent} in {delta}");
    }
    // Nothing since: only the cursor.
    let again = sync(&duty, delta["cursor"].as_i64()).await;
    assert_eq!(sections(&again), ["cursor", "full", "post_id"], "{again}");
}

#[tokio::test]
async fn a_delta_after_events_at_another_post_is_empty() {
    let app = app!();
    let (commander, duty, mine, other) = on_duty(&app).await;
    let first = sync(&duty, None).await;
    let cursor = first["cursor"].as_i64().unwrap();
    move_supply(&commander, other, 25).await;
    let status = json!({ "status": "suspended", "reason": "道路施工" });
    let (code, body) = commander.post(&format!("/api/v1/checkpoints/{other}/status"), status).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    shift(&commander, other, 5, &[app.users["cadre"].id.0]).await;
    let delta = sync(&duty, Some(cursor)).await;
    assert!(delta["cursor"].as_i64().unwrap() > cursor, "the other post's events moved the cursor on");
    assert_eq!(sections(&delta), ["cursor", "full", "post_id"], "{delta}");
    assert_eq!((delta["full"].clone(), delta["post_id"].clone()), (json!(false), json!(mine)));
}

#[tokio::test]
async fn orders_to_the_caller_and_passes_for_the_post_arrive_as_deltas() {
    let app = app!();
    let (commander, duty, mine, _) = on_duty(&app).await;
    let admin = app.login("admin").await;
    let cursor = sync(&duty, None).await["cursor"].as_i64().unwrap();
    let now = shouwang_store::now_us();
    let order = json!({ "id": v7(), "title": "加强夜间值守", "body": "今晚起双岗", "deadline_us": now + 3_600_000_000i64,
                        "targets": { "users": [app.users["duty"].id.0] } });
    let (status, issued) = commander.post("/api/v1/orders", order).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let (status, pass) = admin.post("/api/v1/passes", crate::passes::terms()).await;
    assert_eq!(status, StatusCode::CREATED, "{pass}");
    let delta = sync(&duty, Some(cursor)).await;
    assert_eq!(delta["orders"][0]["id"], issued["id"]);
    assert_eq!(delta["orders"][0]["mine"]["state"], "delivered");
    assert_eq!(delta["passes"]["tokens"], json!([pass["token"]]));
    assert!(delta.get("supplies").is_none() && delta.get("regions").is_none(), "{delta}");
    // Acknowledged, the order is done; revoked, the pass leaves the post's list.
    let cursor = delta["cursor"].as_i64().unwrap();
    let id = issued["id"].as_str().unwrap();
    let (status, _) = duty.post(&format!("/api/v1/orders/{id}/acknowledge"), json!({ "version": 1 })).await;
    assert_eq!(status, StatusCode::OK);
    let pass_id = pass["id"].as_str().unwrap();
    let (status, _) = admin.post(&format!("/api/v1/passes/{pass_id}/revoke"), json!({ "reason": "车辆变更" })).await;
    assert_eq!(status, StatusCode::OK);
    let delta = sync(&duty, Some(cursor)).await;
    assert_eq!(delta["orders"], json!([]));
    assert_eq!(delta["passes"]["tokens"], json!([]));
    let revoked: Vec<&Value> = delta["revocations"].as_array().unwrap().iter().map(|r| &r["number"]).collect();
    assert_eq!(revoked, [&pass["number"]]);
    assert_eq!(delta["post_id"], mine);
}

#[tokio::test]
async fn a_caller_with_no_post_now_gets_404() {
    let app = app!();
    let (status, body) = app.login("cadre").await.get(OFFLINE).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn a_bad_after_is_refused_naming_the_field() {
    let app = app!();
    let (_, duty, _, _) = on_duty(&app).await;
    let cursor = sync(&duty, None).await["cursor"].as_i64().unwrap();
    for (after, code) in [
        ("abc".to_owned(), "wrong_type"),
        ("-1".to_owned(), "out_of_range"),
        ((cursor + 1000).to_string(), "out_of_range"),
    ] {
        let (status, body) = duty.get(&format!("{OFFLINE}?after={after}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{after}: {body}");
        assert_eq!((body["error"]["field"].as_str(), body["error"]["code"].as_str()), (Some("after"), Some(code)));
    }
}
