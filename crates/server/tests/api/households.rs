//! Registered households through the API and the pages, as the county's
//! people use them: a township cadre registers a household in one of its
//! villages and bad input is refused on its field with nothing written;
//! names are masked for those who may not see them; the helping cadre logs
//! visits, production, harvests and sales, never selling more than the
//! stock; a difficulty goes to the township, which routes it on to a
//! department; a duty officer at a post sees no household and a viewer only
//! reads.

use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};
use shouwang_domain::{RoleName, ScopePath, Username};
use shouwang_store::writer::{Actor, Command};

use crate::app;
use crate::helpers::{PASSWORD, Session, TestApp, v7};

fn field(body: &Value) -> (&str, &str) {
    (body["error"]["field"].as_str().unwrap_or(""), body["error"]["code"].as_str().unwrap_or(""))
}

/// A household of two in 岭东村 (朱阳关镇), 张德山 its head.
fn household(app: &TestApp, registry_no: &str, helper: Option<i64>) -> Value {
    json!({ "registry_no": registry_no, "village_id": app.units["411224104202"].id.0, "phone": "13800138000",
            "members": [
                { "name": "张德山", "relation": "head", "age": 58, "ability": "full", "health": "healthy" },
                { "name": "李秀英", "relation": "spouse", "age": 55, "ability": "partial", "health": "chronic" },
            ],
            "status": "in_poverty", "income_sources": ["farming", "wages"], "helper_id": helper,
            "note": "香菇种植户" })
}

/// A second township cadre of 朱阳关镇, who helps households there, signed in.
async fn helper(app: &TestApp) -> (Session, i64) {
    let admin = app.login("admin").await;
    let body = json!({ "username": "zhang.helper", "display_name": "张帮扶", "password": PASSWORD,
                       "role": "township_cadre", "org_unit_id": app.units["411224104"].id.0 });
    let (status, user) = admin.post("/api/v1/users", body).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    (app.login("zhang.helper").await, user["id"].as_i64().unwrap())
}

/// A household registered by the township cadre, helped by `helper`; its id.
async fn registered(app: &TestApp, cadre: &Session, helper: i64) -> i64 {
    let (status, body) = cadre.post("/api/v1/households", household(app, "41122410A001", Some(helper))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["household"]["id"].as_i64().unwrap()
}

async fn household_rows(app: &TestApp) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM households").fetch_one(app.store.pool()).await.unwrap().get("n")
}

#[tokio::test]
async fn a_cadre_registers_a_household_and_bad_input_is_refused_on_its_field_with_nothing_written() {
    let app = app!();
    let cadre = app.login("cadre").await;
    let admin = app.login("admin").await;
    // A village of another township, out of the cadre's reach.
    let body = json!({ "parent_id": app.units["411224107"].id.0, "kind": "village", "code": "411224107201",
                       "name": "东明村" });
    let (status, far) = admin.post("/api/v1/org-units", body).await;
    assert_eq!(status, StatusCode::CREATED, "{far}");
    let far = far["id"].as_i64().unwrap();
    let events = app.event_rows().await;

    let mut bad_age = household(&app, "41122410A001", None);
    bad_age["members"][1]["age"] = json!(121);
    let mut two_heads = household(&app, "41122410A001", None);
    two_heads["members"][1]["relation"] = json!("head");
    let mut short_no = household(&app, "41122410A001", None);
    short_no["registry_no"] = json!("4112");
    let mut odd_no = household(&app, "41122410A001", None);
    odd_no["registry_no"] = json!("4112-2410-A001");
    let mut unknown = household(&app, "41122410A001", None);
    unknown["village_id"] = json!(999_999);
    let mut elsewhere = household(&app, "41122410A001", None);
    elsewhere["village_id"] = json!(far);
    let mut township = household(&app, "41122410A001", None);
    township["village_id"] = json!(app.units["411224104"].id.0);
    let mut no_source = household(&app, "41122410A001", None);
    no_source["income_sources"] = json!([]);
    let cases = [
        (bad_age, ("members[1].age", "out_of_range")),
        (two_heads, ("members", "one_head")),
        (short_no, ("registry_no", "length")),
        (odd_no, ("registry_no", "registry_chars")),
        (unknown, ("village_id", "not_found")),
        (elsewhere, ("village_id", "not_found")),
        (township, ("village_id", "not_a_village")),
        (no_source, ("income_sources", "required")),
    ];
    for (body, expected) in cases {
        let (status, answer) = cadre.post("/api/v1/households", body).await;
        assert_eq!((status, field(&answer)), (StatusCode::UNPROCESSABLE_ENTITY, expected), "{answer}");
    }
    assert_eq!(household_rows(&app).await, 0, "nothing written");
    assert_eq!(app.event_rows().await, events, "no event");

    let (status, created) = cadre.post("/api/v1/households", household(&app, " 41122410a001 ", None)).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let hh = &created["household"];
    assert_eq!(hh["registry_no"], "41122410A001");
    assert_eq!((hh["village_name"].as_str(), hh["township_name"].as_str()), (Some("岭东村"), Some("朱阳关镇")));
    assert_eq!((hh["members"].as_array().unwrap().len(), hh["able_count"].as_i64()), (2, Some(2)));
    assert_eq!(hh["status"], "in_poverty");
    assert_eq!(hh["income_sources"], json!(["farming", "wages"]));
    assert!(hh["last_visit"].is_null() && hh["days_since_visit"].is_null(), "never visited");
    for part in ["production", "sales", "visits", "difficulties"] {
        assert_eq!(created[part], json!([]), "{part}");
    }
    let id = hh["id"].as_i64().unwrap();
    let (status, again) = cadre.post("/api/v1/households", household(&app, "41122410A001", None)).await;
    assert_eq!((status, field(&again)), (StatusCode::UNPROCESSABLE_ENTITY, ("registry_no", "taken")));
    assert_eq!(household_rows(&app).await, 1);

    // Edited with all its fields, as on registering.
    let mut lifted = household(&app, "41122410A001", None);
    lifted["status"] = json!("lifted_this_year");
    let (status, edited) = cadre.send(Method::PUT, &format!("/api/v1/households/{id}"), lifted).await;
    assert_eq!((status, edited["household"]["status"].as_str()), (StatusCode::OK, Some("lifted_this_year")));
    let (_, list) = cadre.get("/api/v1/households?status=lifted_this_year").await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let (_, list) = cadre.get("/api/v1/households?status=in_poverty").await;
    assert_eq!(list, json!([]));
    let (status, body) = cadre.get("/api/v1/households?status=rich").await;
    assert_eq!((status, field(&body).0), (StatusCode::UNPROCESSABLE_ENTITY, "status"));
}

#[tokio::test]
async fn names_and_phones_are_masked_for_a_township_cadre_and_whole_for_the_helper_and_a_commander() {
    let app = app!();
    let cadre = app.login("cadre").await;
    let (helping, helper_id) = helper(&app).await;
    let id = registered(&app, &cadre, helper_id).await;
    let path = format!("/api/v1/households/{id}");

    let (status, seen) = cadre.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    let hh = &seen["household"];
    assert_eq!((hh["head_name"].as_str(), hh["phone"].as_str()), (Some("张**"), Some("138****8000")));
    assert_eq!((hh["members"][0]["name"].as_str(), hh["members"][1]["name"].as_str()), (Some("张**"), Some("李**")));
    assert_eq!(hh["members"][1]["age"], 55, "only names are masked");
    let (_, list) = cadre.get("/api/v1/households").await;
    assert_eq!(list[0]["head_name"], "张**");
    assert!(!list.to_string().contains("张德山") && !seen.to_string().contains("李秀英"));

    for whole in [&helping, &app.login("commander").await] {
        let (status, seen) = whole.get(&path).await;
        assert_eq!(status, StatusCode::OK);
        let hh = &seen["household"];
        assert_eq!((hh["head_name"].as_str(), hh["phone"].as_str()), (Some("张德山"), Some("13800138000")));
        assert_eq!(hh["members"][1]["name"], "李秀英");
        assert_eq!((hh["helper_id"].as_i64(), hh["helper_name"].as_str()), (Some(helper_id), Some("张帮扶")));
    }
    let (_, list) = helping.get("/api/v1/households").await;
    assert_eq!(list[0]["head_name"], "张德山");
}

#[tokio::test]
async fn the_helper_logs_a_visit_once_and_the_unvisited_list_follows() {
    let app = app!();
    let cadre = app.login("cadre").await;
    let (helping, helper_id) = helper(&app).await;
    let id = registered(&app, &cadre, helper_id).await;
    let visits = format!("/api/v1/households/{id}/visits");

    let (_, unvisited) = cadre.get("/api/v1/households/unvisited?days=30").await;
    assert_eq!(unvisited.as_array().unwrap().len(), 1, "never visited: {unvisited}");

    let events = app.event_rows().await;
    let (status, body) = helping.post(&visits, json!({ "id": v7(), "day": "2100-01-01", "found": "出菇正常" })).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("day", "in_future")));
    let (status, body) = helping.post(&visits, json!({ "id": v7(), "day": "2020-01-01", "found": "出菇正常" })).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("day", "too_old")));
    let (status, body) = helping.post(&visits, json!({ "id": v7(), "found": "  " })).await;
    assert_eq!((status, field(&body).0), (StatusCode::UNPROCESSABLE_ENTITY, "found"));
    assert_eq!(app.event_rows().await, events, "nothing written");

    let visit = json!({ "id": v7(), "found": "香菇出菇正常，缺少销路", "promised": "联系合作社收购" });
    let (status, stored) = helping.post(&visits, visit.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    assert_eq!((stored["cadre_id"].as_i64(), stored["cadre_name"].as_str()), (Some(helper_id), Some("张帮扶")));
    let (status, resent) = helping.post(&visits, visit).await;
    assert_eq!((status, &resent["id"]), (StatusCode::OK, &stored["id"]), "a resend is the same visit");

    let today = stored["day"].as_i64().unwrap();
    let (y, m, d) = shouwang_domain::calendar::civil_from_days(today);
    let (_, detail) = cadre.get(&format!("/api/v1/households/{id}")).await;
    assert_eq!(detail["visits"].as_array().unwrap().len(), 1, "stored once");
    assert_eq!(detail["household"]["last_visit"], format!("{y:04}-{m:02}-{d:02}"));
    assert_eq!(detail["household"]["days_since_visit"], 0);

    let (_, unvisited) = cadre.get("/api/v1/households/unvisited?days=30").await;
    assert_eq!(unvisited, json!([]), "visited today");
    let (_, unvisited) = cadre.get("/api/v1/households/unvisited").await;
    assert_eq!(unvisited, json!([]), "30 days by default");
    for days in [0, 366] {
        let (status, body) = cadre.get(&format!("/api/v1/households/unvisited?days={days}")).await;
        assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("days", "out_of_range")), "{days}");
    }
}

#[tokio::test]
async fn production_is_harvested_and_sold_and_a_sale_above_the_stock_writes_nothing() {
    let app = app!();
    let cadre = app.login("cadre").await;
    let (helping, helper_id) = helper(&app).await;
    let id = registered(&app, &cadre, helper_id).await;

    let pid = v7();
    let entry = json!({ "id": pid, "kind": "shiitake", "scale": 2000, "expected_output": 3000,
                        "expected_day": "2020-06-01" });
    let path = format!("/api/v1/households/{id}/production");
    let (status, p) = helping.post(&path, entry.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!((p["kind"].as_str(), p["unsold"].as_i64()), (Some("shiitake"), Some(0)));
    assert_eq!(helping.post(&path, entry).await.0, StatusCode::OK, "a resend enters once");
    let (status, body) = helping
        .post(
            &path,
            json!({ "id": v7(), "kind": "truffle", "scale": 1, "expected_output": 1, "expected_day": "2020-06-01" }),
        )
        .await;
    assert_eq!((status, field(&body).0), (StatusCode::UNPROCESSABLE_ENTITY, "kind"));

    let harvest = format!("/api/v1/production/{pid}/harvest");
    let (status, p) = helping.post(&harvest, json!({ "harvested": 1000 })).await;
    assert_eq!((status, p["unsold"].as_i64()), (StatusCode::OK, Some(1000)), "{p}");

    let sales = format!("/api/v1/production/{pid}/sales");
    let sale = json!({ "id": v7(), "quantity": 600, "price": "6.50", "channel": "cooperative",
                       "buyer": "朱阳关香菇合作社" });
    let (status, s) = helping.post(&sales, sale.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    assert_eq!((s["quantity"].as_i64(), s["price_fen"].as_i64()), (Some(600), Some(650)));
    assert_eq!(helping.post(&sales, sale).await.0, StatusCode::OK, "a resend sells once");

    let events = app.event_rows().await;
    let too_much = json!({ "id": v7(), "quantity": 401, "price": "6.50", "channel": "cooperative" });
    let (status, body) = helping.post(&sales, too_much).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("quantity", "above_stock")), "{body}");
    let bad_price = json!({ "id": v7(), "quantity": 1, "price": "6.505", "channel": "cooperative" });
    let (status, body) = helping.post(&sales, bad_price).await;
    assert_eq!((status, field(&body).0), (StatusCode::UNPROCESSABLE_ENTITY, "price"));
    let (status, body) = helping.post(&harvest, json!({ "harvested": 599 })).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("harvested", "below_sold")));
    assert_eq!(app.event_rows().await, events, "nothing written");

    let (_, detail) = cadre.get(&format!("/api/v1/households/{id}")).await;
    let p = &detail["production"][0];
    assert_eq!((p["harvested"].as_i64(), p["sold"].as_i64(), p["unsold"].as_i64()), (Some(1000), Some(600), Some(400)));
    assert_eq!(detail["sales"].as_array().unwrap().len(), 1, "{detail}");

    // A production entry that is not there.
    let (status, _) = helping.post(&format!("/api/v1/production/{}/harvest", v7()), json!({ "harvested": 1 })).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_difficulty_goes_to_the_township_which_routes_it_on_to_a_department() {
    let app = app!();
    let cadre = app.login("cadre").await;
    let admin = app.login("admin").await;
    let (helping, helper_id) = helper(&app).await;
    let id = registered(&app, &cadre, helper_id).await;
    let body = json!({ "parent_id": app.units["411224"].id.0, "kind": "department", "code": "D-COMMERCE",
                       "name": "县商务局" });
    let (status, commerce) = admin.post("/api/v1/org-units", body).await;
    assert_eq!(status, StatusCode::CREATED, "{commerce}");
    let commerce = commerce["id"].as_i64().unwrap();
    let zyg = app.units["411224104"].id.0;

    let permits = json!({ "id": v7(), "household_id": id, "category": "permits", "title": "办证" });
    let (status, body) = helping.post("/api/v1/tickets", permits).await;
    assert_eq!((status, field(&body).0), (StatusCode::UNPROCESSABLE_ENTITY, "category"), "{body}");
    let both = json!({ "id": v7(), "household_id": id, "enterprise_id": 1, "category": "sales", "title": "x" });
    assert_eq!(helping.post("/api/v1/tickets", both).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let nowhere = json!({ "id": v7(), "household_id": 999_999, "category": "sales", "title": "x" });
    let (status, body) = helping.post("/api/v1/tickets", nowhere).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("household_id", "not_found")));

    let ticket = v7();
    let raised = json!({ "id": ticket, "household_id": id, "category": "sales", "title": "香菇滞销",
                         "body": "三千斤香菇无人收购" });
    let (status, t) = helping.post("/api/v1/tickets", raised.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    assert_eq!(t["ticket"]["department_id"], zyg, "the household's township first, though D-COMMERCE exists");
    assert_eq!((t["ticket"]["household_id"].as_i64(), t["ticket"]["officer_id"].as_i64()), (Some(id), Some(helper_id)));
    assert!(t["ticket"]["enterprise_id"].is_null());
    assert_eq!(t["ticket"]["subject_name"], "岭东村 张**户");
    assert_eq!(helping.post("/api/v1/tickets", raised).await.0, StatusCode::OK, "a resend raises once");
    let (_, detail) = cadre.get(&format!("/api/v1/households/{id}")).await;
    assert_eq!(detail["difficulties"].as_array().unwrap().len(), 1);

    // The township cadre hands it on to the department.
    let steps = format!("/api/v1/tickets/{ticket}/steps");
    let (status, body) = cadre.post(&steps, json!({ "status": "accepted" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = cadre.post(&steps, json!({ "route_to": commerce, "note": "转县商务局对接电商平台" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["ticket"]["department_id"].as_i64(), body["ticket"]["status"].as_str()),
        (Some(commerce), Some("open"))
    );
    let (status, body) = cadre.post(&steps, json!({ "route_to": app.units["411224104202"].id.0 })).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("route_to", "not_routable")));
    let (_, seen) = app.login("commander").await.get(&format!("/api/v1/tickets/{ticket}")).await;
    assert_eq!(seen["ticket"]["department_id"], commerce, "{seen}");
}

/// A duty officer whose scope is one checkpoint of 朱阳关镇, signed in.
async fn duty_at_a_post(app: &TestApp) -> Session {
    let commander = app.login("commander").await;
    let post = json!({ "org_unit_id": app.units["411224104"].id.0, "code": "ZYG-01", "name": "朱阳关卡点",
                       "kind": "trunk_road", "lat": 33.7, "lon": 110.9, "required_staff": 1 });
    let (status, cp) = commander.post("/api/v1/checkpoints", post).await;
    assert_eq!(status, StatusCode::CREATED, "{cp}");
    let cp = app.store.checkpoint(shouwang_domain::CheckpointId(cp["id"].as_i64().unwrap())).await.unwrap();
    let scope: ScopePath = cp.scope.clone();
    let hash = shouwang_server::auth::password::hash(PASSWORD.into()).await.unwrap();
    let command = Command::CreateUser {
        username: Username::parse("username", "post.duty").unwrap(),
        display_name: "卡点值班员".into(),
        password_hash: hash,
        role: RoleName::parse("role", "duty_officer").unwrap(),
        org_unit: app.units["411224104"].id,
        scope: Some(scope),
    };
    app.writer.submit(Actor::system(), command).await.expect("a duty officer at the post");
    app.login("post.duty").await
}

#[tokio::test]
async fn a_duty_officer_at_a_post_sees_no_household_and_a_viewer_reads_but_does_not_write() {
    let app = app!();
    let cadre = app.login("cadre").await;
    let (_, helper_id) = helper(&app).await;
    let id = registered(&app, &cadre, helper_id).await;
    let path = format!("/api/v1/households/{id}");

    let duty = duty_at_a_post(&app).await;
    assert_eq!(duty.get(&path).await.0, StatusCode::NOT_FOUND, "not in the post's scope");
    let visit = json!({ "id": v7(), "found": "路过" });
    assert_eq!(duty.post(&format!("{path}/visits"), visit).await.0, StatusCode::NOT_FOUND);

    let viewer = app.login("viewer").await;
    let (status, seen) = viewer.get(&path).await;
    assert_eq!((status, seen["household"]["head_name"].as_str()), (StatusCode::OK, Some("张**")));
    assert_eq!(viewer.get("/api/v1/households").await.1.as_array().unwrap().len(), 1);
    let events = app.event_rows().await;
    let writes = [
        (Method::POST, "/api/v1/households".to_owned(), household(&app, "41122410A002", None)),
        (Method::PUT, path.clone(), household(&app, "41122410A001", None)),
        (Method::POST, format!("{path}/visits"), json!({ "id": v7(), "found": "看看" })),
        (
            Method::POST,
            format!("{path}/production"),
            json!({ "id": v7(), "kind": "herbs", "scale": 5, "expected_output": 100, "expected_day": "2020-09-01" }),
        ),
        (
            Method::POST,
            "/api/v1/tickets".to_owned(),
            json!({ "id": v7(), "household_id": id, "category": "sales", "title": "x" }),
        ),
    ];
    for (method, at, body) in writes {
        let (status, answer) = viewer.send(method.clone(), &at, body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {at}: {answer}");
    }
    assert_eq!(app.event_rows().await, events, "nothing written");
    assert_eq!(household_rows(&app).await, 1);

    // The other township's people do not see it at all.
    let enterprise = app.login("enterprise").await;
    assert_eq!(enterprise.get(&path).await.0, StatusCode::NOT_FOUND);

    // A post's scope holds no household: its lists are empty.
    for list in ["/api/v1/households", "/api/v1/households/unvisited"] {
        let (status, answer) = duty.get(list).await;
        assert_eq!(status, StatusCode::OK, "{list}: {answer}");
        assert_eq!(answer.as_array().map(Vec::len), Some(0), "{list}: {answer}");
    }
}

// ------------------------------------------------------------------ pages

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn value_of(html: &str, prefix: &str) -> String {
    let start = html.find(prefix).unwrap_or_else(|| panic!("{prefix} not in page")) + prefix.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Signs in through the form; the client and the pages' CSRF token.
async fn form_login(app: &TestApp, user: &str) -> (reqwest::Client, String) {
    let c = browser();
    let html = c.get(format!("{}/login", app.base)).send().await.unwrap().text().await.unwrap();
    let csrf = value_of(&html, "name=\"_csrf\" value=\"");
    let res = c
        .post(format!("{}/login", app.base))
        .form(&[("username", user), ("password", PASSWORD), ("_csrf", &csrf), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{user} signs in through the form");
    let home = c.get(format!("{}/", app.base)).send().await.unwrap().text().await.unwrap();
    (c, value_of(&home, "name=\"csrf-token\" content=\""))
}

#[tokio::test]
async fn the_register_form_opens_the_new_household_or_shows_a_bad_age_beside_it() {
    let app = app!();
    let (c, csrf) = form_login(&app, "cadre").await;
    let list = c.get(format!("{}/households", app.base)).header(header::ACCEPT_LANGUAGE, "zh-CN").send().await.unwrap();
    assert_eq!(list.status(), StatusCode::OK);
    let html = list.text().await.unwrap();
    assert!(html.contains("name=\"members[0].age\""), "the register form is there");

    let village = app.units["411224104202"].id.0.to_string();
    let form = |registry_no: &str, age: &str| {
        vec![
            ("_csrf", csrf.clone()),
            ("registry_no", registry_no.to_owned()),
            ("village_id", village.clone()),
            ("status", "in_poverty".to_owned()),
            ("source_farming", "on".to_owned()),
            ("members[0].name", "张德山".to_owned()),
            ("members[0].relation", "head".to_owned()),
            ("members[0].age", age.to_owned()),
            ("members[0].ability", "full".to_owned()),
            ("members[0].health", "healthy".to_owned()),
        ]
    };
    let res = c.post(format!("{}/households", app.base)).form(&form("41122410A001", "58")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let county = shouwang_store::Viewer { scope: &app.units["411224"].path, user: shouwang_domain::UserId(0) };
    let id = app.store.households_visible(&county, None).await.unwrap()[0].id;
    assert_eq!(res.headers()[header::LOCATION], format!("/households/{id}"));

    let page = c.get(format!("{}/households/{id}", app.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("41122410A001"), "the household's page");
    assert!(!html.contains("张德山"), "the cadre sees the head's name masked");
    let missing = c.get(format!("{}/households/999999", app.base)).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    // An age of 121: the list again, the message beside the age, nothing
    // written.
    let res = c
        .post(format!("{}/households", app.base))
        .header(header::ACCEPT_LANGUAGE, "zh-CN")
        .form(&form("41122410A002", "121"))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let html = res.text().await.unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("id=\"members[0].age-error\""), "the message is beside the age: {html}");
    assert!(html.contains("value=\"121\""), "what was typed is kept");
    assert_eq!(household_rows(&app).await, 1, "nothing written");
}
