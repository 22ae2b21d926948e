//! Screenings through the API: a phone's record and its resend, a batch that
//! is refused whole with every bad field named, incidents, masking and the
//! audited unmasked view, statistics.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app;
use crate::helpers::{Session, TestApp, v7};

/// A post in 朱阳关镇.
async fn post(app: &TestApp, commander: &Session) -> i64 {
    let body = json!({ "org_unit_id": app.units["411224104"].id.0, "code": "ZYG-01", "name": "朱阳关省界检测点",
                       "kind": "county_border", "lat": 33.716, "lon": 110.983, "required_staff": 1 });
    let (status, cp) = commander.post("/api/v1/checkpoints", body).await;
    assert_eq!(status, StatusCode::CREATED, "{cp}");
    cp["id"].as_i64().unwrap()
}

/// One car, one driver, all normal, released.
fn car(plate: &str) -> Value {
    json!({ "id": v7(), "direction": "in", "plate": plate, "vehicle_type": "car", "people_count": 1,
            "cargo": "none", "outcome": "released" })
}

fn feverish() -> Value {
    json!({ "id": v7(), "direction": "in", "plate": "陕E D12345", "vehicle_type": "truck", "people_count": 2,
            "cargo": "production_materials", "outcome": "referred_to_hospital",
            "people": [{ "name": "张三丰", "id_number": "11010519491231002X", "phone": "+86 138-0013-8000",
                         "temperature": 38.6, "origin": "610500", "destination": "411224", "health_code": "green" },
                       { "name": "李四", "temperature": "36.5" }] })
}

#[tokio::test]
async fn a_phone_logs_a_car_and_a_resend_returns_the_stored_record() {
    let app = app!();
    let commander = app.login("commander").await;
    let cadre = app.login("cadre").await;
    let cp = post(&app, &commander).await;
    let path = format!("/api/v1/checkpoints/{cp}/screenings");
    let body = car("豫m·12345");
    let (status, first) = cadre.post(&path, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["plate"], "豫M12345", "the plate is stored as normalised");
    assert_eq!((first["fever"].as_bool(), first["checkpoint_id"].as_i64()), (Some(false), Some(cp)));
    let (status, again) = cadre.post(&path, body).await;
    assert_eq!(status, StatusCode::OK, "a resend is answered with the stored record");
    assert_eq!(again["recorded_us"], first["recorded_us"]);
    let found = commander.get("/api/v1/screenings?plate=豫M12345").await.1;
    assert_eq!(found.as_array().unwrap().len(), 1, "stored once");
    let events = commander.get("/api/v1/events?kind=screening.recorded").await.1;
    assert_eq!(events["events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_fever_opens_an_incident_and_personal_data_is_masked_unless_asked_and_allowed() {
    let app = app!();
    let commander = app.login("commander").await;
    let cadre = app.login("cadre").await;
    let viewer = app.login("viewer").await;
    let cp = post(&app, &commander).await;
    let (status, stored) = cadre.post(&format!("/api/v1/checkpoints/{cp}/screenings"), feverish()).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    assert_eq!(stored["plate"], "陕ED12345");
    assert!(stored["fever"].as_bool().unwrap());

    let incidents = commander.get("/api/v1/incidents").await.1;
    let incidents = incidents.as_array().unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!((incidents[0]["kind"].as_str(), incidents[0]["severity"].as_str()), (Some("fever"), Some("high")));
    assert_eq!(incidents[0]["checkpoint_id"], cp);

    let masked = &viewer.get("/api/v1/screenings").await.1[0];
    let person = &masked["people"][0];
    assert_eq!(masked["masked"], true);
    assert_eq!(person["name"], "张**");
    assert_eq!(person["id_number"], "110105********002X");
    assert_eq!(person["phone"], "138****8000");
    assert_eq!(person["temperature"], 38.6);
    assert_eq!(person["origin_name"], "陕西省 渭南市");
    let (status, err) = viewer.get("/api/v1/screenings?unmasked=true").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a viewer may not see personal data: {err}");

    let audited_before =
        commander.get("/api/v1/events?kind=screening.unmasked").await.1["events"].as_array().unwrap().len();
    let open = &commander.get("/api/v1/screenings?unmasked=true").await.1[0];
    assert_eq!(open["masked"], false);
    assert_eq!(open["people"][0]["id_number"], "11010519491231002X");
    assert_eq!(open["people"][0]["phone"], "13800138000");
    let audited = commander.get("/api/v1/events?kind=screening.unmasked").await.1;
    assert_eq!(audited["events"].as_array().unwrap().len(), audited_before + 1, "every unmasked view is audited");
    assert_eq!(audited["events"][0]["payload"]["count"], 1);
}

#[tokio::test]
async fn bad_fields_are_named_and_nothing_is_stored() {
    let app = app!();
    let commander = app.login("commander").await;
    let cadre = app.login("cadre").await;
    let cp = post(&app, &commander).await;
    let path = format!("/api/v1/checkpoints/{cp}/screenings");
    let with = |key: &str, value: Value| {
        let mut b = car("豫M12345");
        b[key] = value;
        b
    };
    let mut bad_id = feverish();
    bad_id["people"][0]["id_number"] = json!("110105194912310021");
    let mut hot = feverish();
    hot["people"][1]["temperature"] = json!(43.0);
    let mut nowhere = feverish();
    nowhere["people"][0]["origin"] = json!("999999");
    for (body, field, code) in [
        (with("plate", json!("豫12345")), "plate", "invalid_plate"),
        (bad_id, "people[0].id_number", "bad_check_digit"),
        (hot, "people[1].temperature", "out_of_range"),
        (nowhere, "people[0].origin", "unknown_region"),
        (with("people_count", json!(0)), "people_count", "out_of_range"),
        (with("outcome", json!("waved_through")), "outcome", "invalid_choice"),
        (with("id", json!("not-a-uuid")), "id", "invalid_uuid"),
    ] {
        let (status, err) = cadre.post(&path, body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!((err["error"]["field"].as_str(), err["error"]["code"].as_str()), (Some(field), Some(code)), "{err}");
        assert!(!err["error"]["message"].as_str().unwrap().is_empty());
    }
    let mut two_listed = feverish();
    two_listed["people_count"] = json!(1);
    let (_, err) = cadre.post(&path, two_listed).await;
    assert_eq!(err["error"]["code"], "fewer_than_listed");
    assert!(commander.get("/api/v1/screenings").await.1.as_array().unwrap().is_empty(), "nothing stored");
    assert!(commander.get("/api/v1/incidents").await.1.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn a_batch_with_bad_rows_is_refused_whole_and_a_clean_one_is_counted() {
    let app = app!();
    let commander = app.login("commander").await;
    let cadre = app.login("cadre").await;
    let cp = post(&app, &commander).await;
    let path = format!("/api/v1/checkpoints/{cp}/screenings/batch");
    let mut rows: Vec<Value> = (0..300).map(|i| car(&format!("豫M{i:05}"))).collect();
    rows[7]["plate"] = json!("XX");
    rows[120]["direction"] = json!("sideways");
    rows[120]["people_count"] = json!(200);
    let (status, refusal) = cadre.send(reqwest::Method::POST, &path, json!({ "screenings": rows.clone() })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(refusal["error"]["code"], "screening_rows");
    let named: Vec<(i64, String)> = refusal["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["index"].as_i64().unwrap(), r["field"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        named,
        [(7, "plate".into()), (120, "direction".into()), (120, "people_count".into())],
        "each bad field by its row"
    );
    assert!(commander.get("/api/v1/screenings").await.1.as_array().unwrap().is_empty(), "nothing of it stored");

    rows[7] = car("豫M99999");
    rows[120] = feverish();
    let (status, summary) = cadre.post(&path, json!({ "screenings": rows.clone() })).await;
    assert_eq!(status, StatusCode::CREATED, "{summary}");
    assert_eq!(
        (summary["created"].as_i64(), summary["resent"].as_i64(), summary["flagged"].as_i64()),
        (Some(300), Some(0), Some(1))
    );
    let (_, again) = cadre.post(&path, json!({ "screenings": rows })).await;
    assert_eq!(
        (again["created"].as_i64(), again["resent"].as_i64()),
        (Some(0), Some(300)),
        "a resent batch stores nothing"
    );

    let total = commander.get(&format!("/api/v1/screenings/stats?checkpoint_id={cp}")).await.1;
    let screenings: i64 = total.as_array().unwrap().iter().map(|c| c["screenings"].as_i64().unwrap()).sum();
    let people: i64 = total.as_array().unwrap().iter().map(|c| c["people"].as_i64().unwrap()).sum();
    assert_eq!((screenings, people), (300, 301));
    let too_many: Vec<Value> = (0..1001).map(|_| car("豫M12345")).collect();
    let (status, err) = cadre.post(&path, json!({ "screenings": too_many })).await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("screenings")));
}

#[tokio::test]
async fn regions_are_found_by_name_or_code() {
    let app = app!();
    let viewer = app.login("viewer").await;
    let found = viewer.get("/api/v1/regions?q=卢氏").await.1;
    assert_eq!(found[0]["code"], "411224", "{found}");
    assert_eq!(found[0]["full_name"], "河南省 三门峡市 卢氏县");
    let by_code = viewer.get("/api/v1/regions?q=4112&limit=50").await.1;
    assert!(by_code.as_array().unwrap().iter().all(|r| r["code"].as_str().unwrap().starts_with("4112")));
}

#[tokio::test]
async fn the_retention_job_erases_personal_data_of_old_screenings_and_keeps_the_counts() {
    let app = app!();
    let commander = app.login("commander").await;
    let cadre = app.login("cadre").await;
    let cp = post(&app, &commander).await;
    let day_us = 86_400_000_000i64;
    let now = shouwang_store::now_us();
    let mut old = feverish();
    old["occurred_us"] = json!(now - 40 * day_us);
    let mut recent = car("豫M54321");
    recent["occurred_us"] = json!(now - day_us);
    for body in [&old, &recent] {
        assert_eq!(
            cadre.post(&format!("/api/v1/checkpoints/{cp}/screenings"), body.clone()).await.0,
            StatusCode::CREATED
        );
    }
    let erased = shouwang_server::retention::erase_once(&app.writer, 28, now).await.unwrap();
    assert_eq!(erased, 1, "only the one older than 28 days");
    let all = commander.get("/api/v1/screenings?unmasked=true").await.1;
    let by_id = |id: &Value| all.as_array().unwrap().iter().find(|s| &s["id"] == id).unwrap().clone();
    let gone = by_id(&old["id"]);
    assert_eq!((gone["erased"].as_bool(), gone["plate"].as_str()), (Some(true), None));
    assert_eq!((gone["people"][0]["name"].as_str(), gone["people"][0]["id_number"].as_str()), (None, None));
    assert_eq!(gone["people"][0]["temperature"], 38.6, "measurements and categories stay");
    assert_eq!(by_id(&recent["id"])["plate"], "豫M54321");
    let events = commander.get("/api/v1/events?kind=screening.erased").await.1;
    assert_eq!(events["events"][0]["payload"]["count"], 1);
    assert_eq!(shouwang_server::retention::erase_once(&app.writer, 28, now).await.unwrap(), 0, "erased once");
}

#[tokio::test]
async fn hq_sees_masked_screenings_and_unmasks_them_only_with_the_right_and_on_record() {
    let app = app!();
    let commander = app.login("commander").await;
    let viewer = app.login("viewer").await;
    let cadre = app.login("cadre").await;
    let cp = post(&app, &commander).await;
    cadre.post(&format!("/api/v1/checkpoints/{cp}/screenings"), feverish()).await;
    let page = |s: &Session, query: &str| {
        let url = format!("/screenings{query}");
        let req = s.request(reqwest::Method::GET, &url).header("accept-language", "zh-CN");
        async move {
            let res = req.send().await.unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    let (status, html) = page(&viewer, "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("data-screening-id=") && html.contains("110105********002X"), "masked for a viewer");
    assert!(!html.contains("name=\"unmasked\""), "a viewer is not offered the unmasked view");
    assert!(html.contains("发热"), "the open incident is listed");
    let (_, html) = page(&viewer, "?unmasked=1").await;
    assert!(!html.contains("11010519491231002X"), "asking is not enough");

    let (_, html) = page(&commander, "?unmasked=1").await;
    assert!(html.contains("11010519491231002X") && html.contains("张三丰"));
    let audited = commander.get("/api/v1/events?kind=screening.unmasked").await.1;
    assert_eq!(audited["events"].as_array().unwrap().len(), 1, "the unmasked page view is audited");

    let (status, html) = page(&commander, "?from=2026-02-30x").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"f-from-error\""), "the bad date is named beside its field");
}

#[tokio::test]
async fn the_board_counts_posts_people_screenings_and_incidents_of_the_scope() {
    let app = app!();
    let commander = app.login("commander").await;
    let cadre = app.login("cadre").await;
    let cp = post(&app, &commander).await;
    let before = commander.get("/api/v1/board").await.1;
    assert_eq!(before["headline"]["posts_running"], 1);
    assert_eq!(before["posts"][0]["state"], "unstaffed");
    let path = format!("/api/v1/checkpoints/{cp}/screenings/batch");
    let rows: Vec<Value> = (0..5).map(|i| car(&format!("豫M0000{i}"))).chain([feverish()]).collect();
    assert_eq!(cadre.post(&path, json!({ "screenings": rows })).await.0, StatusCode::CREATED);
    let board = commander.get("/api/v1/board").await.1;
    let p = &board["posts"][0];
    assert_eq!((p["screenings_today"].as_i64(), p["open_incidents"].as_i64()), (Some(6), Some(1)));
    assert_eq!(p["state"], "alert", "an open incident at a running post shows as an alert");
    assert!(p["last_activity_us"].as_i64().is_some());
    assert_eq!(board["headline"]["screenings_today"], 6);
    assert_eq!(board["headline"]["today_by_outcome"]["released"], 5);
    assert_eq!(board["headline"]["today_by_outcome"]["referred_to_hospital"], 1);
    assert!(board["last_event_id"].as_i64().unwrap() > before["last_event_id"].as_i64().unwrap());
    let township = app.login("enterprise").await; // 东明镇: no posts there
    assert!(township.get("/api/v1/board").await.1["posts"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn an_officer_reports_an_incident_and_hq_assigns_and_closes_it_on_its_timeline() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = crate::checkpoints::post(&app, &commander, "ZYG-01", 1).await;
    let id = v7();
    let report = json!({ "id": id, "kind": "accident", "severity": "high", "checkpoint_id": cp,
                         "summary": "货车侧翻，占用半幅车道" });
    let (status, body) = duty.post("/api/v1/incidents", report.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(duty.post("/api/v1/incidents", report).await.0, StatusCode::OK, "a resend");
    for (bad, field, code) in [
        (json!({ "id": v7(), "kind": "fever", "checkpoint_id": cp, "summary": "x" }), "kind", "raised_by_screenings"),
        (json!({ "id": v7(), "kind": "accident", "checkpoint_id": cp, "summary": " " }), "summary", "required"),
        (
            json!({ "id": v7(), "kind": "accident", "checkpoint_id": 999_999, "summary": "x" }),
            "checkpoint_id",
            "not_found",
        ),
    ] {
        let (status, err) = duty.post("/api/v1/incidents", bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!((err["error"]["field"].as_str(), err["error"]["code"].as_str()), (Some(field), Some(code)));
    }
    // The officer may not handle it; HQ assigns the officer, then closes it.
    let path = format!("/api/v1/incidents/{id}/steps");
    assert_eq!(duty.post(&path, json!({ "note": "我来处理" })).await.0, StatusCode::FORBIDDEN);
    let officer = app.users["duty"].id.0;
    let (status, handled) = commander.post(&path, json!({ "assignee_id": officer, "note": "请现场疏导" })).await;
    assert_eq!(status, StatusCode::OK, "{handled}");
    assert_eq!(
        (handled["incident"]["status"].as_str(), handled["incident"]["assignee"].as_i64()),
        (Some("handling"), Some(officer))
    );
    let (_, closed) = commander.post(&path, json!({ "status": "closed", "note": "已清障" })).await;
    assert_eq!(closed["incident"]["status"], "closed");
    let notes: Vec<_> = closed["notes"].as_array().unwrap().iter().map(|n| n["note"].clone()).collect();
    assert_eq!(notes, [json!("请现场疏导"), json!("已清障")]);
    let (status, err) = commander.post(&path, json!({ "note": "补充" })).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("incident_closed")));
    let (_, open) = commander.get("/api/v1/incidents").await;
    assert!(open.as_array().unwrap().iter().all(|i| i["id"] != json!(id)), "closed is off the open list");
    // The page shows the timeline.
    let page = commander.request(reqwest::Method::GET, &format!("/incidents/{id}")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("已清障") && html.contains("货车侧翻"), "the page shows the summary and the timeline");
}

#[tokio::test]
async fn a_posts_panel_on_the_board_shows_who_is_there_its_latest_screenings_and_its_incident() {
    let app = app!();
    let commander = app.login("commander").await;
    let cadre = app.login("cadre").await;
    let duty = app.login("duty").await;
    let officer = &app.users["duty"];
    let cp = crate::checkpoints::post(&app, &commander, "ZYG-01", 2).await;
    let shift = crate::checkpoints::shift(&commander, cp, 5, &[officer.id.0]).await;
    let check_in = json!({ "id": v7(), "shift_id": shift, "lat": 33.7165, "lon": 110.9832 });
    assert_eq!(duty.post("/api/v1/check-ins", check_in).await.0, StatusCode::CREATED);
    let path = format!("/api/v1/checkpoints/{cp}/screenings/batch");
    let rows = json!({ "screenings": [car("豫M00001"), feverish()] });
    assert_eq!(cadre.post(&path, rows).await.0, StatusCode::CREATED);

    let panel = |who: &Session, id: String| {
        let req = who.request(reqwest::Method::GET, &format!("/board/posts/{id}"));
        async move {
            let res = req.send().await.unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    let (status, html) = panel(&commander, cp.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("ZYG-01") && !html.contains("<html"), "a fragment naming the post: {html}");
    assert!(html.contains("data-testid=\"pp-present\">1</strong> / 2"), "one of two present");
    assert!(html.contains(&format!("✓ {}", officer.display_name)), "the officer is on the shift and here");
    assert!(html.contains("豫M00001") && html.contains("陕ED12345"), "the latest screenings");
    assert!(!html.contains("张三丰") && !html.contains("11010519491231002X"), "no personal data in the panel");
    assert!(html.contains("/incidents/"), "the fever's incident is linked");
    assert!(html.contains(&format!("data-roll-call-post=\"{cp}\"")), "a roll call for this post");
    assert!(html.contains(&format!("href=\"/orders?post={cp}#new\"")), "an order for this post");

    // The order form opened from the panel has the post ticked.
    let res = commander.request(reqwest::Method::GET, &format!("/orders?post={cp}")).send().await.unwrap();
    let html = res.text().await.unwrap();
    assert!(html.contains(&format!("value=\"{cp}\" checked")), "the post is ticked on the order form");

    // Someone whose scope does not hold the post does not learn of it.
    let elsewhere = app.login("enterprise").await; // 东明镇
    assert_eq!(panel(&elsewhere, cp.to_string()).await.0, StatusCode::NOT_FOUND);
    assert_eq!(panel(&commander, "999999".into()).await.0, StatusCode::NOT_FOUND);
}
