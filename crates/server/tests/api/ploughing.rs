//! Spring ploughing through the API: a cadre enters a village's figures and
//! reads them back, a later entry replaces them; progress lists townships
//! and a township's villages the slowest first, within the caller's scope;
//! sowing beyond the configured margin is refused on `sown_mu` unless a note
//! says why; bad input and places outside the scope are refused with nothing
//! written.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app;
use crate::helpers::{Session, TestApp};

const YEAR: i64 = 2020;

fn figures(planned: i64, sown: i64) -> Value {
    json!({ "year": YEAR, "planned_mu": planned, "sown_mu": sown, "seed_need_kg": 900, "seed_got_kg": 600,
            "fertiliser_need_kg": 3000, "fertiliser_got_kg": 3000, "film_need_kg": 0, "film_got_kg": 0,
            "machines": 4, "note": "" })
}

async fn put(s: &Session, village: i64, crop: &str, body: Value) -> (StatusCode, Value) {
    s.send(Method::PUT, &format!("/api/v1/ploughing/{village}/{crop}"), body).await
}

fn field(body: &Value) -> (&str, &str) {
    (body["error"]["field"].as_str().unwrap_or(""), body["error"]["code"].as_str().unwrap_or(""))
}

/// A village entered by the admin under `township` (a unit code).
async fn village(app: &TestApp, admin: &Session, township: &str, code: &str, name: &str) -> i64 {
    let body = json!({ "parent_id": app.units[township].id.0, "kind": "village", "code": code, "name": name });
    let (status, unit) = admin.post("/api/v1/org-units", body).await;
    assert_eq!(status, StatusCode::CREATED, "{unit}");
    unit["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_cadre_enters_a_villages_figures_reads_them_back_and_a_later_entry_replaces_them() {
    let app = app!();
    let cadre = app.login("cadre").await;
    let lingdong = app.units["411224104202"].id.0;

    let (status, row) = put(&cadre, lingdong, "corn", figures(300, 120)).await;
    assert_eq!(status, StatusCode::OK, "{row}");
    assert_eq!(
        (row["village"].as_str(), row["crop"].as_str(), row["year"].as_i64()),
        (Some("岭东村"), Some("corn"), Some(YEAR))
    );
    assert_eq!((row["planned_mu"].as_i64(), row["sown_mu"].as_i64()), (Some(300), Some(120)));
    assert_eq!(row["township_id"].as_i64(), Some(app.units["411224104"].id.0));
    assert_eq!(row["updated_by"].as_i64(), Some(app.users["cadre"].id.0));

    let events = app.event_rows().await;
    let (status, row) = put(&cadre, lingdong, "corn", figures(300, 200)).await;
    assert_eq!((status, row["sown_mu"].as_i64()), (StatusCode::OK, Some(200)), "{row}");
    assert_eq!(app.event_rows().await, events + 1, "one event per entry");

    let (status, list) = cadre.get(&format!("/api/v1/ploughing?year={YEAR}")).await;
    assert_eq!(status, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "the later entry replaced the first: {list:?}");
    assert_eq!(list[0]["sown_mu"], 200);
    let (_, other_year) = cadre.get(&format!("/api/v1/ploughing?year={}", YEAR + 1)).await;
    assert_eq!(other_year, json!([]));

    // Another township's account sees none of it: an empty list.
    let (status, list) = app.login("enterprise").await.get(&format!("/api/v1/ploughing?year={YEAR}")).await;
    assert_eq!((status, list), (StatusCode::OK, json!([])));
}

#[tokio::test]
async fn progress_lists_townships_and_a_townships_villages_the_slowest_first_within_scope() {
    let app = app!();
    let admin = app.login("admin").await;
    let commander = app.login("commander").await;
    let lingdong = app.units["411224104202"].id.0;
    let zhuyang = village(&app, &admin, "411224104", "411224104201", "朱阳关村").await;
    let dongming = village(&app, &admin, "411224107", "411224107201", "东明村").await;
    let chenjia = village(&app, &admin, "411224107", "411224107202", "陈家村").await;

    // 朱阳关镇: 300 + 100 planned, 240 sown (60 %); 东明镇: 200 planned, 20 sown (10 %).
    for (v, crop, planned, sown) in [
        (lingdong, "corn", 300, 200),
        (zhuyang, "potato", 100, 40),
        (dongming, "wheat", 150, 20),
        (chenjia, "herbs", 50, 0),
    ] {
        let (status, body) = put(&commander, v, crop, figures(planned, sown)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    let (status, p) = commander.get(&format!("/api/v1/ploughing/progress?year={YEAR}")).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    let towns: Vec<_> = p["townships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["township"].as_str().unwrap(), t["sown_pct"].as_i64().unwrap()))
        .collect();
    assert_eq!(towns, [("东明镇", 10), ("朱阳关镇", 60)], "the slowest first");
    assert_eq!(
        (p["planned_mu"].as_i64(), p["sown_mu"].as_i64(), p["sown_pct"].as_i64()),
        (Some(600), Some(260), Some(43))
    );
    assert_eq!(
        (p["townships"][0]["seed_pct"].as_i64(), p["townships"][0]["fertiliser_pct"].as_i64()),
        (Some(67), Some(100))
    );
    assert_eq!((p["townships"][0]["film_pct"].as_i64(), p["townships"][0]["machines"].as_i64()), (Some(100), Some(8)));
    assert_eq!(p["margin_pct"], 10);

    let zyg = app.units["411224104"].id.0;
    let (status, p) = commander.get(&format!("/api/v1/ploughing/progress?year={YEAR}&township_id={zyg}")).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!(p["township"]["name"], "朱阳关镇");
    let villages: Vec<_> = p["villages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["village"].as_str().unwrap(), v["sown_pct"].as_i64().unwrap()))
        .collect();
    assert_eq!(villages, [("朱阳关村", 40), ("岭东村", 67)]);
    assert_eq!(p["townships"], json!([]));

    // The cadre of 朱阳关镇 sees their township only; 东明镇 is not there.
    let cadre = app.login("cadre").await;
    let (_, p) = cadre.get(&format!("/api/v1/ploughing/progress?year={YEAR}")).await;
    let towns: Vec<_> = p["townships"].as_array().unwrap().iter().map(|t| t["township"].as_str().unwrap()).collect();
    assert_eq!(towns, ["朱阳关镇"]);
    let dm = app.units["411224107"].id.0;
    let (status, _) = cadre.get(&format!("/api/v1/ploughing/progress?year={YEAR}&township_id={dm}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = cadre.get(&format!("/api/v1/ploughing/progress?township_id={lingdong}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a village is not a township");
}

#[tokio::test]
async fn sowing_beyond_the_margin_is_refused_on_sown_mu_unless_a_note_says_why() {
    let app = app!();
    let cadre = app.login("cadre").await;
    let lingdong = app.units["411224104202"].id.0;
    let events = app.event_rows().await;

    let (status, body) = put(&cadre, lingdong, "potato", figures(100, 111)).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("sown_mu", "above_planned")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("100"), "the message names the plan: {body}");
    assert_eq!(app.event_rows().await, events, "nothing written");
    let (_, list) = cadre.get(&format!("/api/v1/ploughing?year={YEAR}")).await;
    assert_eq!(list, json!([]));

    let (status, _) = put(&cadre, lingdong, "potato", figures(100, 110)).await;
    assert_eq!(status, StatusCode::OK, "exactly at the margin");
    let mut noted = figures(100, 140);
    noted["note"] = json!("补种春玉米茬口，计划调整");
    let (status, row) = put(&cadre, lingdong, "potato", noted).await;
    assert_eq!((status, row["sown_mu"].as_i64()), (StatusCode::OK, Some(140)), "{row}");
    assert_eq!(row["note"], "补种春玉米茬口，计划调整");
}

#[tokio::test]
async fn the_margin_is_the_deployments_setting() {
    let app = app!(|c: &mut shouwang_server::Config| c.ploughing.sown_margin_pct = 25);
    let cadre = app.login("cadre").await;
    let lingdong = app.units["411224104202"].id.0;
    let (status, _) = put(&cadre, lingdong, "wheat", figures(100, 125)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = put(&cadre, lingdong, "wheat", figures(100, 126)).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("sown_mu", "above_planned")));
    let (_, p) = cadre.get(&format!("/api/v1/ploughing/progress?year={YEAR}")).await;
    assert_eq!(p["margin_pct"], 25);
}

#[tokio::test]
async fn bad_figures_and_places_are_refused_by_field_or_status_with_nothing_written() {
    let app = app!();
    let admin = app.login("admin").await;
    let cadre = app.login("cadre").await;
    let lingdong = app.units["411224104202"].id.0;
    let viewer = app.login("viewer").await;
    let elsewhere = village(&app, &admin, "411224107", "411224107201", "东明村").await;
    let events = app.event_rows().await;

    let mut negative = figures(100, 10);
    negative["seed_got_kg"] = json!(-5);
    let (status, body) = put(&cadre, lingdong, "corn", negative).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("seed_got_kg", "out_of_range")));
    let (status, body) = put(&cadre, lingdong, "corn", json!({ "year": YEAR, "sown_mu": 3 })).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("planned_mu", "required")));
    let (status, body) = put(&cadre, lingdong, "rice", figures(100, 10)).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("crop", "invalid_choice")));
    let mut old = figures(100, 10);
    old["year"] = json!(1900);
    let (status, body) = put(&cadre, lingdong, "corn", old).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("year", "out_of_range")));
    let zyg = app.units["411224104"].id.0;
    let (status, body) = put(&cadre, zyg, "corn", figures(100, 10)).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("village_id", "not_a_village")));

    // Another township's village is not there for this cadre; a reader may
    // not write at all.
    let (status, _) = put(&cadre, elsewhere, "corn", figures(100, 10)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = put(&cadre, 999_999, "corn", figures(100, 10)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = put(&viewer, lingdong, "corn", figures(100, 10)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    assert_eq!(app.event_rows().await, events, "nothing written");
    let (_, list) = admin.get(&format!("/api/v1/ploughing?year={YEAR}")).await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn the_page_shows_progress_and_its_form_refuses_beside_the_field_then_saves() {
    let app = app!();
    let cadre = app.login("cadre").await;
    let lingdong = app.units["411224104202"].id.0;
    let zyg = app.units["411224104"].id.0;
    let (status, _) = put(&cadre, lingdong, "corn", figures(300, 60)).await;
    assert_eq!(status, StatusCode::OK);

    let page =
        cadre.request(Method::GET, &format!("/ploughing?year={YEAR}")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(&format!("data-township=\"{zyg}\"")), "{page}");
    assert!(page.contains("id=\"plough-form\""));
    let page = cadre
        .request(Method::GET, &format!("/ploughing?year={YEAR}&township_id={zyg}&village_id={lingdong}&crop=corn"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("data-village=\"{lingdong}\"")));
    assert!(page.contains("value=\"300\""), "the form is filled with what is stored");

    let form = |sown: &str, note: &str| {
        vec![
            ("_csrf", cadre.csrf.clone()),
            ("year", YEAR.to_string()),
            ("village_id", lingdong.to_string()),
            ("crop", "corn".to_owned()),
            ("planned_mu", "300".to_owned()),
            ("sown_mu", sown.to_owned()),
            ("note", note.to_owned()),
        ]
    };
    let res = cadre.request(Method::POST, "/ploughing").form(&form("400", "")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"plough-sown_mu-error\""), "the message stands beside the field");
    assert!(page.contains("value=\"400\""), "what was typed is kept");

    let res = cadre.request(Method::POST, "/ploughing").form(&form("400", "新开荒地 100 亩")).send().await.unwrap();
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    let (_, list) = cadre.get(&format!("/api/v1/ploughing?year={YEAR}")).await;
    assert_eq!(list[0]["sown_mu"], 400);
}

#[tokio::test]
async fn the_demo_plans_every_farming_village_with_two_mountain_townships_far_behind() {
    let Some(db) = shouwang_testdb::TestDb::fresh(shouwang_testdb::backend_from_env(), "ploughing_demo").await else {
        return;
    };
    let store = shouwang_store::Store::open(&shouwang_store::StoreOptions::new(&db.url)).await.unwrap();
    let mut config = shouwang_server::Config { database_url: db.url.clone(), ..Default::default() };
    config.media.bind = "127.0.0.1:0".parse().unwrap();
    let app = shouwang_server::App::start(config, store.clone(), false, false).await.unwrap();
    let demo = shouwang_server::demo::seed(&store, &app.state.writer).await.unwrap();
    let county = &demo.units["411224"].path;
    let year = shouwang_domain::calendar::civil_from_days(
        (shouwang_store::now_us() + 8 * 3_600_000_000).div_euclid(86_400_000_000),
    )
    .0;
    let towns = store.ploughing_by_township(county, year).await.unwrap();
    assert!(towns.len() >= 18, "every farming township has plans: {}", towns.len());
    let slowest: Vec<&str> = towns[..2].iter().map(|t| t.township.as_str()).collect();
    assert_eq!(slowest.len(), 2);
    assert!(slowest.contains(&"瓦窑沟乡") && slowest.contains(&"狮子坪乡"), "{slowest:?}");
    assert!(towns[0].sown_pct < 20 && towns[2].sown_pct >= 25, "{towns:?}");
    assert!(towns.iter().any(|t| t.seed_pct < 100 || t.fertiliser_pct < 100), "some inputs are short");
}
