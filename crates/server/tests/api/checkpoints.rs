//! Checkpoints and duty through the API: set-up, rosters, check-in and
//! staffing, supplies and resupply, scope.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app;
use crate::helpers::{Session, TestApp, v7};

const HOUR_US: i64 = 3_600_000_000;

/// A post in 朱阳关镇 at 33.716 N, 110.983 E.
pub(crate) async fn post(app: &TestApp, commander: &Session, code: &str, required: i64) -> i64 {
    let body = json!({ "org_unit_id": app.units["411224104"].id.0, "code": code, "name": "朱阳关省界检测点",
                       "kind": "county_border", "lat": 33.716, "lon": 110.983, "required_staff": required });
    let (status, cp) = commander.post("/api/v1/checkpoints", body).await;
    assert_eq!(status, StatusCode::CREATED, "{cp}");
    cp["id"].as_i64().unwrap()
}

/// A shift at `cp` that began `began_min` minutes ago, with `staff`.
pub(crate) async fn shift(commander: &Session, cp: i64, began_min: i64, staff: &[i64]) -> i64 {
    let now = shouwang_store::now_us();
    let starts = now - began_min * 60_000_000;
    let body = json!({ "starts_us": starts, "ends_us": starts + 8 * HOUR_US, "leader_id": staff[0], "staff": staff });
    let (status, s) = commander.post(&format!("/api/v1/checkpoints/{cp}/shifts"), body).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    s["id"].as_i64().unwrap()
}

async fn staffing(s: &Session, cp: i64) -> String {
    s.get(&format!("/api/v1/checkpoints/{cp}")).await.1["checkpoint"]["staffing"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn only_commanders_set_up_posts_and_bad_fields_are_named() {
    let app = app!();
    let commander = app.login("commander").await;
    let zyg = app.units["411224104"].id.0;
    let ok = json!({ "org_unit_id": zyg, "code": "zyg-01", "name": "朱阳关省界检测点", "kind": "county_border",
                     "lat": 33.716, "lon": 110.983, "required_staff": 3 });
    for user in ["duty", "cadre", "viewer"] {
        assert_eq!(
            app.login(user).await.post("/api/v1/checkpoints", ok.clone()).await.0,
            StatusCode::FORBIDDEN,
            "{user}"
        );
    }
    for (field, value, code) in [
        ("lat", json!(91.0), "out_of_range"),
        ("lon", json!(-181.0), "out_of_range"),
        ("kind", json!("bridge"), "invalid_choice"),
        ("required_staff", json!(0), "out_of_range"),
        ("code", json!("朱阳关"), "checkpoint_code_chars"),
        ("org_unit_id", json!(999_999), "not_found"),
        ("shift_pattern", json!("06:00+8,10:00+8"), "shift_pattern_overlap"),
    ] {
        let mut body = ok.clone();
        body[field] = value;
        let (status, err) = commander.post("/api/v1/checkpoints", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {err}");
        assert_eq!((err["error"]["field"].as_str(), err["error"]["code"].as_str()), (Some(field), Some(code)));
    }
    assert!(commander.get("/api/v1/checkpoints").await.1.as_array().unwrap().is_empty(), "nothing written");
    let (status, cp) = commander.post("/api/v1/checkpoints", ok.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        (cp["code"].as_str(), cp["status"].as_str(), cp["staffing"].as_str()),
        (Some("ZYG-01"), Some("active"), Some("unstaffed"))
    );
    assert_eq!(commander.post("/api/v1/checkpoints", ok).await.0, StatusCode::CONFLICT);
}

#[tokio::test]
async fn an_officer_checks_in_inside_the_fence_and_the_post_becomes_staffed() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander, "ZYG-01", 1).await;
    let shift_id = shift(&commander, cp, 5, &[app.users["duty"].id.0]).await;
    assert_eq!(staffing(&commander, cp).await, "unstaffed");
    let id = v7();
    let check_in = json!({ "id": id, "shift_id": shift_id, "lat": 33.7165, "lon": 110.9832 });
    let (status, record) = duty.post("/api/v1/check-ins", check_in.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{record}");
    assert_eq!(record["outside_fence"], false);
    assert_eq!(record["late_minutes"], 0);
    assert!(record["distance_m"].as_f64().unwrap() < 100.0);
    assert_eq!(staffing(&commander, cp).await, "staffed");
    // A resend is the same check-in; a second one is refused by name.
    assert_eq!(duty.post("/api/v1/check-ins", check_in).await.0, StatusCode::OK);
    let (status, err) = duty.post("/api/v1/check-ins", json!({ "id": v7(), "shift_id": shift_id })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["code"], "already_checked_in");
    let (_, page) = commander.get("/api/v1/events?kind=checkpoint.staffing_changed").await;
    let changes: Vec<&str> =
        page["events"].as_array().unwrap().iter().map(|e| e["payload"]["staffing"].as_str().unwrap()).collect();
    assert_eq!(changes, vec!["staffed"]);
    assert_eq!(duty.post("/api/v1/check-out", json!({})).await.0, StatusCode::OK);
    assert_eq!(staffing(&commander, cp).await, "unstaffed");
    assert_eq!(duty.post("/api/v1/check-out", json!({})).await.1["error"]["code"], "not_checked_in");
}

#[tokio::test]
async fn a_check_in_outside_the_fence_or_late_is_accepted_but_flagged() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander, "ZYG-01", 2).await;
    let shift_id = shift(&commander, cp, 30, &[app.users["duty"].id.0]).await;
    // About 450 m north of the post.
    let (status, record) = duty
        .post("/api/v1/check-ins", json!({ "id": v7(), "shift_id": shift_id, "lat": 33.7200, "lon": 110.983 }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(record["outside_fence"], true);
    let d = record["distance_m"].as_f64().unwrap();
    assert!((400.0..500.0).contains(&d), "{d}");
    assert!(record["late_minutes"].as_i64().unwrap() >= 29);
    assert_eq!(staffing(&commander, cp).await, "understaffed", "one of two required");
}

#[tokio::test]
async fn check_ins_without_a_shift_or_with_bad_input_are_refused_and_nothing_written() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander, "ZYG-01", 1).await;
    let others = shift(&commander, cp, 5, &[app.users["cadre"].id.0]).await;
    for (body, field, code) in [
        (json!({ "id": v7(), "shift_id": others }), "shift_id", "not_on_shift"),
        (json!({ "id": v7(), "shift_id": 424242 }), "shift_id", "not_found"),
        (json!({ "id": v7(), "shift_id": others, "lat": 33.7 }), "lon", "required"),
        (json!({ "id": v7(), "shift_id": others, "lat": 95.0, "lon": 110.9 }), "lat", "out_of_range"),
        (json!({ "id": "not-a-uuid", "shift_id": others }), "id", "invalid_uuid"),
    ] {
        let (status, err) = duty.post("/api/v1/check-ins", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!((err["error"]["field"].as_str(), err["error"]["code"].as_str()), (Some(field), Some(code)), "{err}");
    }
    assert!(commander.get(&format!("/api/v1/checkpoints/{cp}")).await.1["present"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn double_booking_a_person_is_refused_with_the_person_named() {
    let app = app!();
    let commander = app.login("commander").await;
    let a = post(&app, &commander, "ZYG-01", 1).await;
    let b = post(&app, &commander, "ZYG-02", 1).await;
    let duty = app.users["duty"].id.0;
    shift(&commander, a, 60, &[duty]).await;
    let now = shouwang_store::now_us();
    let body = json!({ "starts_us": now, "ends_us": now + 4 * HOUR_US, "staff": [app.users["cadre"].id.0, duty] });
    let (status, err) = commander.post(&format!("/api/v1/checkpoints/{b}/shifts"), body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (err["error"]["field"].as_str(), err["error"]["code"].as_str()),
        (Some("staff[1]"), Some("shift_overlaps"))
    );
    let too_long = json!({ "starts_us": now, "ends_us": now + 13 * HOUR_US, "staff": [duty] });
    assert_eq!(
        commander.post(&format!("/api/v1/checkpoints/{b}/shifts"), too_long).await.1["error"]["code"],
        "shift_too_long"
    );
    assert!(commander.get(&format!("/api/v1/checkpoints/{b}")).await.1["shifts"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn using_masks_below_the_threshold_raises_low_stock_and_a_resupply_runs_to_receipt() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander, "ZYG-01", 1).await;
    let move_ = |kind: &str, qty: i64| json!({ "id": v7(), "item": "mask", "kind": kind, "quantity": qty });
    let path = format!("/api/v1/checkpoints/{cp}/supplies");
    assert_eq!(duty.post(&path, move_("receipt", 300)).await.1["on_hand"], 300);
    let (_, level) = duty.post(&path, move_("consumption", 120)).await;
    assert_eq!((level["on_hand"].as_i64(), level["low"].as_bool()), (Some(180), Some(true)), "threshold 200");
    duty.post(&path, move_("consumption", 10)).await;
    let (status, err) = duty.post(&path, move_("consumption", 1000)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        (err["error"]["field"].as_str(), err["error"]["code"].as_str()),
        (Some("quantity"), Some("more_than_on_hand"))
    );
    for (body, field) in [
        (move_("consumption", -1), "quantity"),
        (json!({ "id": v7(), "item": "mask", "kind": "steal", "quantity": 1 }), "kind"),
    ] {
        assert_eq!(duty.post(&path, body).await.1["error"]["field"], field);
    }
    let lows = commander.get("/api/v1/events?kind=supply.low_stock").await.1;
    assert_eq!(lows["events"].as_array().unwrap().len(), 1, "raised once, not again while still low");

    let request = v7();
    let (status, r) = duty
        .post(
            &format!("/api/v1/checkpoints/{cp}/resupply"),
            json!({ "id": request, "item": "mask", "quantity": 100, "note": "口罩告急" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["state"], "requested");
    assert_eq!(
        duty.post(&format!("/api/v1/resupply/{request}/decision"), json!({ "approved_quantity": 60 })).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, err) =
        commander.post(&format!("/api/v1/resupply/{request}/decision"), json!({ "approved_quantity": 150 })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "approved_quantity");
    let (_, r) = commander
        .post(&format!("/api/v1/resupply/{request}/decision"), json!({ "approved_quantity": 60, "note": "先调拨 60" }))
        .await;
    assert_eq!((r["state"].as_str(), r["approved_quantity"].as_i64()), (Some("approved"), Some(60)));
    assert_eq!(
        duty.post(&format!("/api/v1/resupply/{request}/receipt"), json!({})).await.1["error"]["code"],
        "invalid_transition"
    );
    assert_eq!(
        commander.post(&format!("/api/v1/resupply/{request}/dispatch"), json!({})).await.1["state"],
        "dispatched"
    );
    assert_eq!(duty.post(&format!("/api/v1/resupply/{request}/receipt"), json!({})).await.1["state"], "received");
    let detail = commander.get(&format!("/api/v1/checkpoints/{cp}")).await.1;
    let mask = detail["supplies"].as_array().unwrap().iter().find(|s| s["item"] == "mask").unwrap().clone();
    assert_eq!(mask["on_hand"], 230, "170 left + 60 received");
    let kinds: Vec<String> = commander.get("/api/v1/events?limit=1000").await.1["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .filter(|k| k.starts_with("resupply."))
        .collect();
    assert_eq!(kinds, vec!["resupply.requested", "resupply.approved", "resupply.dispatched", "resupply.received"]);
}

#[tokio::test]
async fn a_suspended_post_takes_no_check_ins_or_requests() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander, "ZYG-01", 1).await;
    let shift_id = shift(&commander, cp, 5, &[app.users["duty"].id.0]).await;
    let (status, _) = commander
        .post(&format!("/api/v1/checkpoints/{cp}/status"), json!({ "status": "suspended", "reason": "暴雪封路" }))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(staffing(&commander, cp).await, "suspended");
    let (_, err) = duty.post("/api/v1/check-ins", json!({ "id": v7(), "shift_id": shift_id })).await;
    assert_eq!(err["error"]["code"], "post_not_active");
    let (_, err) = duty
        .post(&format!("/api/v1/checkpoints/{cp}/resupply"), json!({ "id": v7(), "item": "mask", "quantity": 5 }))
        .await;
    assert_eq!(
        (err["error"]["field"].as_str(), err["error"]["code"].as_str()),
        (Some("checkpoint_id"), Some("post_not_active"))
    );
    let (_, err) = commander
        .post(&format!("/api/v1/checkpoints/{cp}/status"), json!({ "status": "suspended", "reason": "again" }))
        .await;
    assert_eq!(err["error"]["code"], "unchanged");
}

#[tokio::test]
async fn a_living_check_must_answer_every_aspect_and_explain_problems() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander, "ZYG-01", 1).await;
    let aspects = ["shelter", "heating", "meals", "water", "rest_area", "toilet"];
    let answers = |bad: Option<(&str, &str)>| -> Value {
        aspects
            .iter()
            .map(|a| match bad {
                Some((b, note)) if b == *a => json!({ "aspect": a, "ok": false, "note": note }),
                _ => json!({ "aspect": a, "ok": true }),
            })
            .collect()
    };
    let path = format!("/api/v1/checkpoints/{cp}/living-checks");
    let (_, err) = duty.post(&path, json!({ "id": v7(), "answers": answers(Some(("heating", ""))) })).await;
    assert_eq!(
        (err["error"]["field"].as_str(), err["error"]["code"].as_str()),
        (Some("answers[1].note"), Some("required"))
    );
    let (_, err) = duty.post(&path, json!({ "id": v7(), "answers": [{ "aspect": "shelter", "ok": true }] })).await;
    assert_eq!(err["error"]["code"], "every_aspect_once");
    let (status, _) =
        duty.post(&path, json!({ "id": v7(), "answers": answers(Some(("heating", "取暖器坏了"))) })).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let events = commander.get("/api/v1/events?kind=living.checked").await.1;
    assert_eq!(events["events"][0]["payload"]["problems"], json!([{ "aspect": "heating", "note": "取暖器坏了" }]));
}

#[tokio::test]
async fn officers_see_only_the_posts_in_their_scope() {
    let app = app!();
    let commander = app.login("commander").await;
    let zyg = post(&app, &commander, "ZYG-01", 1).await;
    let body = json!({ "org_unit_id": app.units["411224107"].id.0, "code": "DM-01", "name": "东明高速出口检测点",
                       "kind": "highway_exit", "lat": 34.142, "lon": 111.182, "required_staff": 2 });
    let dm = commander.post("/api/v1/checkpoints", body).await.1["id"].as_i64().unwrap();
    let duty = app.login("duty").await; // 朱阳关镇
    let codes: Vec<String> = duty
        .get("/api/v1/checkpoints")
        .await
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes, vec!["ZYG-01"]);
    assert_eq!(duty.get(&format!("/api/v1/checkpoints/{dm}")).await.0, StatusCode::NOT_FOUND);
    assert_eq!(duty.get(&format!("/api/v1/checkpoints/{zyg}")).await.0, StatusCode::OK);
    let (status, _) = duty
        .send(
            Method::POST,
            &format!("/api/v1/checkpoints/{dm}/supplies"),
            json!({ "id": v7(), "item": "mask", "kind": "receipt", "quantity": 1 }),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
