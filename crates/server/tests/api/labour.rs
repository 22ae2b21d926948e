//! Labour export through the API: a village's workers are matched to an
//! enterprise's positions, the township confirms a placement, plans a
//! point-to-point batch, checks each passenger, sends it off, and the
//! enterprise confirms arrival. Bad input is refused on the field with
//! nothing written; repeats change nothing; roles without the right get 403
//! and ids outside the caller's scope 404. And the pages, in both languages.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app;
use crate::helpers::{PASSWORD, Session, TestApp, credit_code};

fn field(body: &Value) -> (&str, &str) {
    (body["error"]["field"].as_str().unwrap_or(""), body["error"]["code"].as_str().unwrap_or(""))
}

/// `YYYY-MM-DD` of today (Asia/Shanghai) plus `days`.
fn date(days: i64) -> String {
    let today = (shouwang_store::now_us() + 8 * 3_600_000_000).div_euclid(86_400_000_000);
    let (y, m, d) = shouwang_domain::calendar::civil_from_days(today + days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn worker(app: &TestApp, name: &str, skills: &[&str], destinations: &[&str], health: &str) -> Value {
    json!({ "name": name, "phone": "13800138000", "village_id": app.units["411224104202"].id.0, "age": 35,
            "skills": skills, "health": health, "last_check": date(-3), "available_from": date(0),
            "destinations": destinations })
}

async fn add_worker(s: &Session, body: Value) -> i64 {
    let (status, w) = s.post("/api/v1/workers", body).await;
    assert_eq!(status, StatusCode::CREATED, "{w}");
    w["id"].as_i64().unwrap()
}

/// An enterprise of 东明镇 and its contact (the test account `enterprise`
/// is scoped to the township, so it may speak for it).
async fn enterprise(app: &TestApp) -> i64 {
    let commander = app.login("commander").await;
    let body = json!({ "credit_code": credit_code("MA0000007"), "name": "卢氏县东明服装有限公司", "sector": "C",
                       "size_class": "small", "org_unit_id": app.units["411224107"].id.0, "employees": 120 });
    let (status, e) = commander.post("/api/v1/enterprises", body).await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    e["id"].as_i64().unwrap()
}

fn demand(enterprise: Option<i64>, positions: i64, start: i64, end: Option<i64>) -> Value {
    let mut d = json!({ "employer": "郑州富士康", "location": "郑州市航空港区", "region": "province",
                        "positions": positions, "skills": ["manufacturing"], "pay_yuan_month": 4800,
                        "start": date(start), "accommodation": true });
    if let Some(e) = enterprise {
        d["enterprise_id"] = json!(e);
        d["employer"] = json!("");
        d["location"] = json!("卢氏县东明镇");
        d["region"] = json!("county");
    }
    if let Some(end) = end {
        d["end"] = json!(date(end));
    }
    d
}

async fn count(app: &TestApp, table: &str) -> i64 {
    use sqlx::Row;
    let sql = format!("SELECT COUNT(*) AS n FROM {table}");
    sqlx::query(&sql).fetch_one(app.store.pool()).await.unwrap().get("n")
}

fn batch(passengers: &[i64], seats: i64) -> Value {
    json!({ "day": date(0), "origin": "朱阳关镇政府", "destination": "东明服装厂", "plate": "豫M 12345",
            "seats": seats, "passengers": passengers })
}

#[tokio::test]
async fn a_worker_is_matched_placed_checked_carried_and_arrives() {
    let app = app!();
    let firm = enterprise(&app).await;
    let cadre = app.login("cadre").await;
    let contact = app.login("enterprise").await;

    let wang = add_worker(&cadre, worker(&app, "王建国", &["sewing", "manufacturing"], &["county"], "healthy")).await;
    let li = add_worker(&cadre, worker(&app, "李秀英", &["farming"], &["county", "province"], "healthy")).await;
    let zhang = add_worker(&cadre, worker(&app, "张三", &["manufacturing"], &["county"], "unwell")).await;
    let (_, list) = cadre.get("/api/v1/workers").await;
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"王**") && !names.contains(&"王建国"), "masked for the cadre: {names:?}");
    let (_, full) = app.login("commander").await.get(&format!("/api/v1/workers/{wang}")).await;
    assert_eq!((full["worker"]["name"].as_str(), full["worker"]["masked"].as_bool()), (Some("王建国"), Some(false)));

    // The enterprise posts its positions; the township sees them ranked.
    let (status, d) = contact.post("/api/v1/labour-demand", demand(Some(firm), 2, 3, Some(120))).await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    assert_eq!((d["employer"].as_str(), d["open"].as_i64()), (Some("卢氏县东明服装有限公司"), Some(2)));
    let demand_id = d["id"].as_i64().unwrap();
    let (status, ranked) = cadre.get(&format!("/api/v1/labour-demand/{demand_id}/suggestions")).await;
    assert_eq!(status, StatusCode::OK, "{ranked}");
    let order: Vec<i64> = ranked.as_array().unwrap().iter().map(|s| s["worker"]["id"].as_i64().unwrap()).collect();
    assert_eq!(order, [wang, li], "the unwell are left out");
    assert_eq!(ranked[0]["reasons"][0], "skills_all");
    assert_eq!(ranked[1]["reasons"][0], "skills_none");

    // Confirmed once; a resend returns the same placement.
    let (status, p) = cadre.post("/api/v1/placements", json!({ "worker_id": wang, "demand_id": demand_id })).await;
    assert_eq!((status, p["state"].as_str()), (StatusCode::CREATED, Some("confirmed")), "{p}");
    let placement = p["id"].as_i64().unwrap();
    let (status, again) = cadre.post("/api/v1/placements", json!({ "worker_id": wang, "demand_id": demand_id })).await;
    assert_eq!((status, again["id"].as_i64()), (StatusCode::OK, Some(placement)));
    let (_, d) = contact.get(&format!("/api/v1/labour-demand/{demand_id}")).await;
    assert_eq!((d["demand"]["filled"].as_i64(), d["placements"].as_array().map(Vec::len)), (Some(1), Some(1)));
    let unwell = json!({ "worker_id": zhang, "demand_id": demand_id });
    let (status, body) = cadre.post("/api/v1/placements", unwell).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("worker_id", "unwell")));

    // The batch: planned, refused until everyone passes the check.
    let (status, b) = cadre.post("/api/v1/transport-batches", batch(&[placement], 4)).await;
    assert_eq!((status, b["plate"].as_str()), (StatusCode::CREATED, Some("豫M12345")), "{b}");
    let id = b["id"].as_i64().unwrap();
    let (status, body) = cadre.post(&format!("/api/v1/transport-batches/{id}/depart"), json!({})).await;
    assert_eq!((status, field(&body)), (StatusCode::CONFLICT, ("passengers", "unchecked")), "{body}");
    let check = |t: Value| json!({ "placement_id": placement, "temperature": t });
    let (status, b) = cadre.post(&format!("/api/v1/transport-batches/{id}/checks"), check(json!(37.6))).await;
    assert_eq!((status, b["passengers"][0]["passed"].as_bool()), (StatusCode::OK, Some(false)), "{b}");
    let (status, _) = cadre.post(&format!("/api/v1/transport-batches/{id}/depart"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, b) = cadre.post(&format!("/api/v1/transport-batches/{id}/checks"), check(json!("36.6℃"))).await;
    assert_eq!((b["passengers"][0]["temperature"].as_f64(), b["ready"].as_bool()), (Some(36.6), Some(true)));
    let (status, b) = cadre.post(&format!("/api/v1/transport-batches/{id}/depart"), json!({})).await;
    assert_eq!((status, b["state"].as_str()), (StatusCode::OK, Some("departed")), "{b}");
    let (_, p) = cadre.get(&format!("/api/v1/placements?demand_id={demand_id}")).await;
    assert_eq!(p[0]["state"], "departed");
    let (status, body) = cadre.post(&format!("/api/v1/placements/{placement}/cancel"), json!({})).await;
    assert_eq!((status, field(&body).1), (StatusCode::CONFLICT, "invalid_transition"));

    // The receiving side confirms arrival; a viewer may not; twice is once.
    let (status, _) =
        app.login("viewer").await.post(&format!("/api/v1/transport-batches/{id}/arrive"), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let events = app.event_rows().await;
    let (status, b) = contact.post(&format!("/api/v1/transport-batches/{id}/arrive"), json!({})).await;
    assert_eq!((status, b["state"].as_str()), (StatusCode::OK, Some("arrived")), "{b}");
    let (status, _) = contact.post(&format!("/api/v1/transport-batches/{id}/arrive"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.event_rows().await, events + 2, "one batch event and one placement event, once");
    let (_, p) = cadre.get("/api/v1/placements?state=arrived").await;
    assert_eq!(p.as_array().map(Vec::len), Some(1));
    let (_, batches) = contact.get("/api/v1/transport-batches").await;
    assert!(batches.as_array().unwrap().is_empty(), "the list is the organiser's and the villages'");
    let (status, _) = contact.get(&format!("/api/v1/transport-batches/{id}")).await;
    assert_eq!(status, StatusCode::OK, "the receiving side sees its batch");
}

#[tokio::test]
async fn bad_labour_input_is_refused_on_the_field_and_nothing_is_written() {
    let app = app!();
    let cadre = app.login("cadre").await;
    let good = worker(&app, "王建国", &["construction"], &["province"], "healthy");
    let cases = [
        ("age", json!(66), "age", "out_of_range"),
        ("age", json!(15), "age", "out_of_range"),
        ("last_check", json!(date(1)), "last_check", "in_future"),
        ("skills", json!([]), "skills", "required"),
        ("skills", json!(["juggling"]), "skills[0]", "invalid_choice"),
        ("destinations", json!(["abroad"]), "destinations[0]", "invalid_choice"),
        ("village_id", json!(app.units["411224104"].id.0), "village_id", "not_a_village"),
        ("phone", json!("12345"), "phone", "invalid_phone"),
    ];
    for (key, value, f, code) in cases {
        let mut body = good.clone();
        body[key] = value;
        let (status, err) = cadre.post("/api/v1/workers", body).await;
        assert_eq!((status, field(&err)), (StatusCode::UNPROCESSABLE_ENTITY, (f, code)), "{key}: {err}");
    }
    // A village outside the caller's scope.
    let contact = app.login("enterprise").await;
    let (status, err) = contact.post("/api/v1/workers", good.clone()).await;
    assert_eq!((status, field(&err)), (StatusCode::UNPROCESSABLE_ENTITY, ("village_id", "out_of_scope")));
    assert_eq!(count(&app, "workers").await, 0, "nothing written");

    for (body, f, code) in [
        (demand(None, 5, 10, Some(9)), "end", "before_start"),
        (demand(None, 0, 1, None), "positions", "out_of_range"),
        (demand(None, 501, 1, None), "positions", "out_of_range"),
        (
            {
                let mut d = demand(None, 5, 1, None);
                d["employer"] = json!(" ");
                d
            },
            "employer",
            "required",
        ),
        (
            {
                let mut d = demand(None, 5, 1, None);
                d["pay_yuan_month"] = json!(-5);
                d
            },
            "pay_yuan_month",
            "out_of_range",
        ),
        (
            {
                let mut d = demand(None, 5, 1, None);
                d["enterprise_id"] = json!(999);
                d
            },
            "enterprise_id",
            "not_found",
        ),
    ] {
        let (status, err) = cadre.post("/api/v1/labour-demand", body).await;
        assert_eq!((status, field(&err)), (StatusCode::UNPROCESSABLE_ENTITY, (f, code)), "{err}");
    }
    assert_eq!(count(&app, "labour_demand").await, 0, "nothing written");

    // A worker placed twice over overlapping dates; a full demand.
    let wang = add_worker(&cadre, good.clone()).await;
    let li = add_worker(&cadre, worker(&app, "李四", &["construction"], &["province"], "healthy")).await;
    let (_, first) = cadre.post("/api/v1/labour-demand", demand(None, 1, 5, Some(60))).await;
    let (_, second) = cadre.post("/api/v1/labour-demand", demand(None, 5, 30, None)).await;
    let (status, p) = cadre.post("/api/v1/placements", json!({ "worker_id": wang, "demand_id": first["id"] })).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    let (status, err) = cadre.post("/api/v1/placements", json!({ "worker_id": wang, "demand_id": second["id"] })).await;
    assert_eq!((status, field(&err)), (StatusCode::UNPROCESSABLE_ENTITY, ("worker_id", "placed_overlapping")));
    let (status, err) = cadre.post("/api/v1/placements", json!({ "worker_id": li, "demand_id": first["id"] })).await;
    assert_eq!((status, field(&err)), (StatusCode::UNPROCESSABLE_ENTITY, ("demand_id", "positions_filled")));
    let (status, err) = cadre.post("/api/v1/placements", json!({ "worker_id": 999, "demand_id": first["id"] })).await;
    assert_eq!((status, field(&err)), (StatusCode::UNPROCESSABLE_ENTITY, ("worker_id", "not_found")));
    assert_eq!(count(&app, "placements").await, 1, "nothing written");
    let (status, p2) = cadre.post("/api/v1/placements", json!({ "worker_id": li, "demand_id": second["id"] })).await;
    assert_eq!(status, StatusCode::CREATED);

    // A batch over its seats, a bad plate, a bad day.
    let placed = [p["id"].as_i64().unwrap(), p2["id"].as_i64().unwrap()];
    for (body, f, code) in [
        (batch(&placed, 1), "passengers", "over_seats"),
        (batch(&[placed[0], placed[0]], 5), "passengers[1]", "duplicate"),
        (batch(&[999], 5), "passengers[0]", "not_found"),
        (
            {
                let mut b = batch(&placed, 5);
                b["plate"] = json!("ABC");
                b
            },
            "plate",
            "invalid_plate",
        ),
        (
            {
                let mut b = batch(&placed, 5);
                b["day"] = json!("2020-02-30");
                b
            },
            "day",
            "invalid_date",
        ),
        (
            {
                let mut b = batch(&placed, 5);
                b["seats"] = json!(0);
                b
            },
            "seats",
            "out_of_range",
        ),
    ] {
        let (status, err) = cadre.post("/api/v1/transport-batches", body).await;
        assert_eq!((status, field(&err)), (StatusCode::UNPROCESSABLE_ENTITY, (f, code)), "{err}");
    }
    let (_, err) = cadre.post("/api/v1/transport-batches", batch(&placed, 1)).await;
    assert_eq!(err["error"]["message"].as_str().map(|m| m.contains('2') && m.contains('1')), Some(true), "{err}");
    assert_eq!(count(&app, "transport_batches").await, 0, "nothing written");
    let (status, b) = cadre.post("/api/v1/transport-batches", batch(&placed[..1], 1)).await;
    assert_eq!(status, StatusCode::CREATED);
    let more = json!({ "passengers": [placed[1]] });
    let (status, err) = cadre.post(&format!("/api/v1/transport-batches/{}/passengers", b["id"]), more).await;
    assert_eq!((status, field(&err)), (StatusCode::UNPROCESSABLE_ENTITY, ("passengers", "over_seats")));
    let bad = json!({ "placement_id": placed[0], "temperature": 45 });
    let (status, err) = cadre.post(&format!("/api/v1/transport-batches/{}/checks", b["id"]), bad).await;
    assert_eq!((status, field(&err)), (StatusCode::UNPROCESSABLE_ENTITY, ("temperature", "out_of_range")));

    // A change names only what changes; the village stays.
    let (status, w) = cadre.send(Method::PATCH, &format!("/api/v1/workers/{wang}"), json!({ "age": 40 })).await;
    assert_eq!((status, w["age"].as_i64()), (StatusCode::OK, Some(40)), "{w}");
    let moved = json!({ "village_id": app.units["411224104"].id.0 });
    let (status, err) = cadre.send(Method::PATCH, &format!("/api/v1/workers/{wang}"), moved).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (status, err) = cadre.send(Method::PATCH, &format!("/api/v1/workers/{wang}"), json!({ "colour": 1 })).await;
    assert_eq!((status, field(&err).0), (StatusCode::UNPROCESSABLE_ENTITY, "colour"));
    let shrink = json!({ "positions": 0 });
    let (status, err) = cadre.send(Method::PATCH, &format!("/api/v1/labour-demand/{}", first["id"]), shrink).await;
    assert_eq!((status, field(&err).0), (StatusCode::UNPROCESSABLE_ENTITY, "positions"));
    let later = json!({ "start": date(6) });
    let (status, err) = cadre.send(Method::PATCH, &format!("/api/v1/labour-demand/{}", first["id"]), later).await;
    assert_eq!((status, field(&err)), (StatusCode::UNPROCESSABLE_ENTITY, ("start", "fixed")));
}

#[tokio::test]
async fn roles_without_the_right_get_403_and_ids_outside_the_scope_404() {
    let app = app!();
    let cadre = app.login("cadre").await;
    let wang = add_worker(&cadre, worker(&app, "王建国", &["construction"], &["province"], "healthy")).await;
    let (_, d) = cadre.post("/api/v1/labour-demand", demand(None, 3, 5, None)).await;
    let viewer = app.login("viewer").await;
    let (status, _) = viewer.post("/api/v1/workers", worker(&app, "李四", &["general"], &["county"], "healthy")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let contact = app.login("enterprise").await;
    let placing = json!({ "worker_id": wang, "demand_id": d["id"] });
    let (status, _) = contact.post("/api/v1/placements", placing.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "placing is the township's");
    let (status, _) = contact.get(&format!("/api/v1/workers/{wang}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another township's worker");
    let (status, _) = contact.get(&format!("/api/v1/labour-demand/{}", d["id"])).await;
    assert_eq!(status, StatusCode::OK, "openings are public");
    let (status, _) = contact.send(Method::PATCH, &format!("/api/v1/labour-demand/{}", d["id"]), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "but edited only within scope");
    let (_, p) = cadre.post("/api/v1/placements", placing).await;
    let (status, _) = contact.post(&format!("/api/v1/placements/{}/cancel", p["id"]), json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, b) = cadre.post("/api/v1/transport-batches", batch(&[p["id"].as_i64().unwrap()], 3)).await;
    let (status, _) = contact.get(&format!("/api/v1/transport-batches/{}", b["id"])).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "neither organiser nor receiver");
    let (status, _) = viewer.post(&format!("/api/v1/transport-batches/{}/depart", b["id"]), json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

// ------------------------------------------------------------------ pages

/// A browser-like client signed in through the form, and its CSRF token.
async fn browser(app: &TestApp, user: &str) -> (reqwest::Client, String) {
    let c = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let html = c.get(format!("{}/login", app.base)).send().await.unwrap().text().await.unwrap();
    let csrf = html.split("name=\"_csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let res = c
        .post(format!("{}/login", app.base))
        .form(&[("username", user), ("password", PASSWORD), ("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let home = c.get(format!("{}/labour", app.base)).send().await.unwrap().text().await.unwrap();
    let csrf = home.split("name=\"csrf-token\" content=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    (c, csrf)
}

#[tokio::test]
async fn the_labour_pages_add_a_worker_and_show_a_bad_age_beside_the_field_in_both_languages() {
    let app = app!();
    let (c, csrf) = browser(&app, "cadre").await;
    let village = app.units["411224104202"].id.0.to_string();
    let today = date(0);
    let form = |age: &str| {
        vec![
            ("_csrf", csrf.clone()),
            ("name", "王建国".to_owned()),
            ("village_id", village.clone()),
            ("age", age.to_owned()),
            ("skills", "construction".to_owned()),
            ("skills", "welding".to_owned()),
            ("health", "healthy".to_owned()),
            ("last_check", today.clone()),
            ("available_from", today.clone()),
            ("destinations", "province".to_owned()),
        ]
    };
    let body = |f: Vec<(&str, String)>| serde_urlencoded::to_string(f).unwrap();
    let post = |f| {
        c.post(format!("{}/labour/workers", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body(f))
            .send()
    };
    let res = post(form("70")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"worker-form\"") && html.contains("data-error-for=\"age\""), "{html}");
    assert!(html.contains("年龄"), "the message names the field in Chinese");
    assert!(html.contains("value=\"王建国\""), "what was typed is kept");
    assert_eq!(count(&app, "workers").await, 0);
    let res = post(form("35")).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(&app, "workers").await, 1);

    c.post(format!("{}/lang", app.base)).form(&[("lang", "en"), ("back", "/labour")]).send().await.unwrap();
    let html = c.get(format!("{}/labour", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Labour pool") && html.contains("data-worker-id="), "{html}");
    for page in ["/transport", "/labour"] {
        let res = c.get(format!("{}{page}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{page}");
    }
}

#[tokio::test]
async fn the_demand_page_ranks_workers_and_a_placement_and_a_batch_go_through_the_pages() {
    let app = app!();
    let cadre = app.login("cadre").await;
    let wang = add_worker(&cadre, worker(&app, "王建国", &["manufacturing"], &["province"], "healthy")).await;
    let (_, d) = cadre.post("/api/v1/labour-demand", demand(None, 3, 2, None)).await;
    let id = d["id"].as_i64().unwrap();
    let (c, csrf) = browser(&app, "cadre").await;
    let html = c.get(format!("{}/labour/demand/{id}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("id=\"place-form-{wang}\"")), "{html}");
    assert!(html.contains("data-reason=\"skills_all\""));
    let res = c
        .post(format!("{}/labour/demand/{id}/place", app.base))
        .form(&[("_csrf", csrf.as_str()), ("worker_id", wang.to_string().as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, placements) = cadre.get("/api/v1/placements").await;
    let placement = placements[0]["id"].as_i64().unwrap().to_string();

    let html = c.get(format!("{}/transport", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("id=\"batch-form\"") && html.contains(&format!("value=\"{placement}\"")), "{html}");
    let plan = |seats: &str| {
        vec![
            ("_csrf", csrf.clone()),
            ("day", date(0)),
            ("origin", "朱阳关镇".to_owned()),
            ("destination", "郑州".to_owned()),
            ("plate", "豫M12345".to_owned()),
            ("seats", seats.to_owned()),
            ("passengers", placement.clone()),
        ]
    };
    let send = |f: Vec<(&str, String)>| {
        c.post(format!("{}/transport", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(f).unwrap())
            .send()
    };
    let res = send(plan("0")).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("data-error-for=\"seats\""));
    let res = send(plan("2")).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = res.headers()["location"].to_str().unwrap().to_owned();
    let html = c.get(format!("{}{to}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(&format!("id=\"check-form-{placement}\"")) && html.contains("id=\"depart-form\""), "{html}");
    let res = c
        .post(format!("{}{to}/checks", app.base))
        .form(&[("_csrf", csrf.as_str()), ("placement_id", placement.as_str()), ("temperature", "36.5")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = c.post(format!("{}{to}/depart", app.base)).form(&[("_csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = c.get(format!("{}{to}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("data-state=\"departed\""), "{html}");
}

#[tokio::test]
async fn the_demo_seeds_a_pool_placements_and_a_batch_on_the_road_today() {
    let Some(db) = shouwang_testdb::TestDb::fresh(shouwang_testdb::backend_from_env(), "labour_demo").await else {
        return;
    };
    let store = shouwang_store::Store::open(&shouwang_store::StoreOptions::new(&db.url)).await.unwrap();
    let mut config = shouwang_server::Config { database_url: db.url.clone(), ..Default::default() };
    config.media.bind = "127.0.0.1:0".parse().unwrap();
    let app = shouwang_server::App::start(config, store.clone(), false, false).await.unwrap();
    let demo = shouwang_server::demo::seed(&store, &app.state.writer).await.unwrap();
    let county = &demo.units["411224"].path;
    assert!(store.workers_count(county).await.unwrap() >= 50);
    let batches: Vec<(String, i64)> =
        store.batch_counts(county).await.unwrap().into_iter().map(|(s, n)| (s.as_str().to_owned(), n)).collect();
    assert_eq!(batches, [("planned".to_owned(), 1), ("departed".to_owned(), 1), ("arrived".to_owned(), 1)]);
    let regions = store.placements_by_region(county).await.unwrap();
    assert!(regions.iter().all(|(_, n)| *n > 0), "{regions:?}");
}
