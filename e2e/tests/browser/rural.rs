//! Poverty relief, as the people who do it: the Zhuyangguan cadre visits a
//! shiitake-growing household from her phone, logs what she found, and
//! raises its blocked sales as a difficulty; the township routes it on to
//! the commerce bureau. A worker from the village is matched to a local
//! enterprise's positions, placed, put on a point-to-point bus, checked
//! before departure and received at the other end. The commander's rural
//! dashboard at HQ follows every step without a reload.
//!
//! The scene is set through the JSON API as the demo administrator: a fresh
//! household in a Zhuyangguan village, helped by the demo `cadre`, with its
//! log-bags and unsold stock; a worker from that village; an enterprise's
//! demand for workers. Everything else is done in the pages.

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use shouwang_e2e::{Browser, BrowserTools, Session, UI_TIMEOUT, poll_until};

use crate::duty::{admin_in_zhuyangguan, api};

const SIMULATE_EVERY_MS: u64 = 5_000;

#[tokio::test]
async fn a_cadre_visits_routes_a_difficulty_and_a_worker_travels_to_work_while_hq_watches() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let _shared = shouwang_e2e::few_browsers().await;
    let hq = Session::start(&tools, SIMULATE_EVERY_MS, "zh-CN").await?;
    let phone = hq.another_browser(&tools, "zh-CN").await?;
    let result = relief(&hq, &phone).await;
    let result = result.map_err(|e| phone.explain("the cadre's phone", e));
    let closed = phone.close().await;
    hq.finish(result.and(closed)).await
}

/// A figure of the dashboard, as a number (0 when the dashboard has no
/// such row yet). Read in one script: the live dashboard swaps its parts.
async fn figure(b: &Browser, name: &str) -> anyhow::Result<i64> {
    let script = "const e = document.querySelector(`[data-figure='${arguments[0]}']`); return e ? e.textContent : '0';";
    let text = b.client.execute(script, vec![json!(name)]).await?;
    let text = text.as_str().unwrap_or_default().trim().trim_end_matches('%').to_owned();
    text.parse().with_context(|| format!("the dashboard's {name} reads {text:?}"))
}

/// Waits until the dashboard's `name` reads `want`.
async fn figure_becomes(b: &Browser, name: &str, want: i64) -> anyhow::Result<()> {
    poll_until(&format!("the dashboard's {name} to read {want}"), UI_TIMEOUT, || async {
        Ok((figure(b, name).await? == want).then_some(()))
    })
    .await
}

/// Waits until the dashboard's `name` reads at least `least` (the demo's
/// simulator sells too).
async fn figure_reaches(b: &Browser, name: &str, least: i64) -> anyhow::Result<()> {
    poll_until(&format!("the dashboard's {name} to reach {least}"), UI_TIMEOUT, || async {
        Ok((figure(b, name).await? >= least).then_some(()))
    })
    .await
}

async fn submit(b: &Browser, form: &str) -> anyhow::Result<()> {
    b.click(&format!("{form} button[type=submit]")).await
}

/// What the page says is wrong, for a failure's message.
async fn said(b: &Browser) -> anyhow::Result<Vec<String>> {
    let errors = b.client.find_all(fantoccini::Locator::Css(".field-error, .notice")).await?;
    let mut out = Vec::new();
    for e in errors {
        out.push(e.text().await?);
    }
    Ok(out)
}

/// What the scene set up.
struct Scene {
    household: i64,
    demand: i64,
    worker: i64,
    today: String,
}

/// The scene: a shiitake household helped by the demo cadre, in a village
/// of Zhuyangguan; the demo's own enterprise (宏达) wanting five line
/// workers in the county; a young man of the village, just health-checked,
/// available and wanting to work in the county.
async fn set_the_scene(hq: &Session) -> anyhow::Result<Scene> {
    let (csrf, township) = admin_in_zhuyangguan(hq).await?;
    let units = api(hq, "GET", "/api/v1/org-units", Value::Null, &csrf).await?;
    let village = units
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["parent_id"] == township && u["kind"] == "village")
        .and_then(|u| u["id"].as_i64())
        .context("朱阳关镇 has no village")?;
    let users = api(hq, "GET", "/api/v1/users", Value::Null, &csrf).await?;
    let cadre = users
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["username"] == "cadre")
        .and_then(|u| u["id"].as_i64())
        .context("the demo has no cadre login")?;
    let household = json!({
        "registry_no": "E2E411224104001", "village_id": village, "phone": "13803981234",
        "members": [
            { "name": "杜长河", "relation": "head", "age": 56, "ability": "full", "health": "healthy" },
            { "name": "王秀兰", "relation": "spouse", "age": 53, "ability": "partial", "health": "chronic" },
        ],
        "status": "in_poverty", "income_sources": ["farming"], "helper_id": cadre,
    });
    let h = api(hq, "POST", "/api/v1/households", household, &csrf).await?;
    let id = h["household"]["id"].as_i64().context("the household answer has no id")?;
    let bags = json!({ "id": uuid7(), "kind": "shiitake", "scale": 8000, "expected_output": 8000,
        "expected_day": "2020-03-01", "note": "鲜菇" });
    let p = api(hq, "POST", &format!("/api/v1/households/{id}/production"), bags, &csrf).await?;
    let production = p["id"].as_str().context("the production answer has no id")?.to_owned();
    api(hq, "POST", &format!("/api/v1/production/{production}/harvest"), json!({ "harvested": 3000 }), &csrf).await?;

    let today = hq.client.execute("return new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);", vec![]);
    let today = today.await?.as_str().context("no date")?.to_owned();
    let enterprises = api(hq, "GET", "/api/v1/enterprises", Value::Null, &csrf).await?;
    let hongda = enterprises
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"].as_str().is_some_and(|n| n.contains("宏达")))
        .and_then(|e| e["id"].as_i64())
        .context("the demo has no 宏达 enterprise")?;
    let demand = json!({ "enterprise_id": hongda, "employer": "", "location": "卢氏县产业集聚区", "region": "county",
        "positions": 5, "skills": ["manufacturing"], "pay_yuan_month": 3800, "start": today, "end": "",
        "accommodation": true, "note": "口罩生产线普工" });
    let d = api(hq, "POST", "/api/v1/labour-demand", demand, &csrf).await?;
    let demand = d["demand"]["id"].as_i64().or_else(|| d["id"].as_i64()).context("the demand answer has no id")?;
    let worker = json!({ "name": "杜小军", "phone": "13803985678", "village_id": village, "age": 27,
        "skills": ["manufacturing", "general"], "health": "healthy", "last_check": today, "available_from": today,
        "destinations": ["county"], "note": "" });
    let w = api(hq, "POST", "/api/v1/workers", worker, &csrf).await?;
    let worker = w["worker"]["id"].as_i64().or_else(|| w["id"].as_i64()).context("the worker answer has no id")?;
    api(hq, "POST", "/api/v1/auth/logout", Value::Null, &csrf).await?;
    Ok(Scene { household: id, demand, worker, today })
}

fn uuid7() -> String {
    shouwang_domain::RecordId::new_v7().to_string()
}

async fn relief(hq: &Session, phone: &Browser) -> anyhow::Result<()> {
    let scene = set_the_scene(hq).await?;
    let page = format!("/households/{}", scene.household);

    // HQ: the commander opens the rural dashboard and keeps it open.
    hq.sign_in("commander", "demo").await?;
    hq.wait_for_path("/").await.context("signing in as commander")?;
    hq.goto("/rural").await?;
    poll_until("the dashboard's live connection", UI_TIMEOUT, || async {
        Ok((hq.attr("#live-status", "data-state").await?.as_deref() == Some("online")).then_some(()))
    })
    .await?;
    hq.client.execute("window.__shouwangE2e = 'not reloaded'; return null;", vec![]).await?;
    let sales_open = figure(hq, "difficulty-sales").await?;
    let sold = figure(hq, "sold-shiitake").await?;

    // The cadre, on her phone: the household she helps, names whole.
    phone.client.set_window_size(390, 844).await?;
    phone.sign_in("cadre", "demo").await?;
    phone.wait_for_path("/").await.context("signing in as the cadre")?;
    phone.goto(&page).await?;
    let head = phone.text("#household h1").await?;
    ensure!(head.contains("杜长河"), "the helping cadre should see the head's name whole: {head:?}");

    // A visit: a day in the future is refused beside the field, what was
    // typed kept; today's goes in and shows in the visits.
    phone.type_into("#visit-form [name=found]", "鲜菇已采三千斤，收购商进不来，积压在冷棚。").await?;
    phone.type_into("#visit-form [name=promised]", "联系镇合作社和电商中心").await?;
    let set_day = "document.querySelector('#visit-form [name=day]').value = arguments[0]; return null;";
    phone.client.execute(set_day, vec![json!("2099-01-01")]).await?;
    submit(phone, "#visit-form").await?;
    poll_until("a visit in the future refused beside its field", UI_TIMEOUT, || async {
        Ok(phone.has("#visit-form [name=day][aria-invalid=true]").await?.then_some(()))
    })
    .await
    .with_context(|| "the page did not refuse the day")?;
    let kept = phone.client.execute("return document.querySelector('#visit-form [name=found]').value;", vec![]).await?;
    let kept = kept.as_str().unwrap_or_default().to_owned();
    ensure!(kept.contains("收购商进不来"), "the refused visit lost what was typed: {kept:?}");
    phone.client.execute(set_day, vec![json!("")]).await?;
    submit(phone, "#visit-form").await?;
    poll_until("the visit among the household's visits", UI_TIMEOUT, || async {
        Ok(phone.text("#visit-list").await?.contains("收购商进不来").then_some(()))
    })
    .await
    .with_context(|| "the visit was not logged")?;

    // A sale above the stock is refused; a sale within it counts at HQ.
    phone.click("#production details summary").await?;
    phone.type_into("#sale-form-1 [name=quantity]", "3001").await?;
    phone.type_into("#sale-form-1 [name=price]", "6.5").await?;
    submit(phone, "#sale-form-1").await?;
    poll_until("a sale above the stock refused beside its field", UI_TIMEOUT, || async {
        Ok(phone.has("#sale-form-1 [name=quantity][aria-invalid=true]").await?.then_some(()))
    })
    .await?;
    phone.type_into("#sale-form-1 [name=quantity]", "500").await?;
    phone.select("#sale-form-1 [name=channel]", "cooperative").await?;
    submit(phone, "#sale-form-1").await?;
    let recorded = poll_until("the sale among the household's sales", UI_TIMEOUT, || async {
        Ok(phone.text("#sales-list").await?.contains("500").then_some(()))
    })
    .await;
    if let Err(e) = recorded {
        return Err(e.context(format!("the sale was not recorded; the page says {:?}", said(phone).await?)));
    }
    figure_reaches(hq, "sold-shiitake", sold + 500).await?;

    // The blocked sales, raised as a difficulty: it goes to the township.
    phone.goto(&format!("{page}#difficulties")).await?;
    phone.select("#difficulty-form [name=category]", "sales").await?;
    phone.type_into("#difficulty-form [name=title]", "鲜香菇积压，请帮助联系销路").await?;
    phone.type_into("#difficulty-form [name=body]", "冷棚里积压两千五百斤鲜菇").await?;
    submit(phone, "#difficulty-form").await?;
    poll_until("the difficulty's ticket", UI_TIMEOUT, || async {
        Ok(phone.path().await?.starts_with("/tickets/").then_some(()))
    })
    .await
    .with_context(|| "raising the difficulty did not open its ticket")?;
    let department = phone.text("[data-testid=department]").await?;
    ensure!(department.contains("朱阳关"), "a household's difficulty goes to its township first: {department:?}");
    figure_becomes(hq, "difficulty-sales", sales_open + 1).await?;

    // The township routes it on to the commerce bureau.
    let options = phone.text("#route-form [name=route_to]").await?;
    ensure!(options.contains("县商务局"), "the commerce bureau is not among the route choices: {options:?}");
    let commerce = phone
        .client
        .execute(
            "return [...document.querySelectorAll('#route-form option')].find(o => o.text.includes('县商务局')).value;",
            vec![],
        )
        .await?;
    let commerce = commerce.as_str().context("no value for the commerce bureau")?.to_owned();
    phone.select("#route-form [name=route_to]", &commerce).await?;
    phone.type_into("#route-form [name=note]", "请商务局对接电商平台").await?;
    submit(phone, "#route-form").await?;
    poll_until("the ticket at the commerce bureau", UI_TIMEOUT, || async {
        Ok(phone.text("[data-testid=department]").await?.contains("县商务局").then_some(()))
    })
    .await?;
    ensure!(
        phone.attr("[data-testid=status]", "data-status").await?.as_deref() == Some("open"),
        "a routed ticket is open at its new department"
    );

    labour(hq, phone, &scene).await?;

    hq.screenshot("rural-dashboard.png").await?;
    let mark = hq.client.execute("return window.__shouwangE2e ?? null;", vec![]).await?;
    ensure!(mark == json!("not reloaded"), "the dashboard was reloaded to show the changes");
    Ok(())
}

/// A worker matched to an enterprise's demand, placed, carried and
/// received: the township places and sends them; the enterprise receives.
async fn labour(hq: &Session, phone: &Browser, scene: &Scene) -> anyhow::Result<()> {
    let (demand, worker, today) = (scene.demand, scene.worker, scene.today.as_str());
    let placed = figure(hq, "placed-county").await?;
    let departed = figure(hq, "batches-departed").await?;
    let arrived = figure(hq, "batches-arrived").await?;

    // The township: the demand's suggestions rank the worker; place them.
    phone.goto(&format!("/labour/demand/{demand}")).await?;
    let row = format!("tr[data-worker-id='{worker}']");
    ensure!(phone.has(&row).await?, "the worker is not among the demand's suggestions");
    phone.click(&format!("#place-form-{worker} button[type=submit]")).await?;
    let placement_row = format!("tr[data-worker-id='{worker}'][data-state='confirmed'][data-placement-id]");
    poll_until("the worker placed", UI_TIMEOUT, || async { Ok(phone.has(&placement_row).await?.then_some(())) })
        .await
        .with_context(|| "placing the worker")?;
    let placement = phone.attr(&placement_row, "data-placement-id").await?.context("no placement id")?;
    figure_becomes(hq, "placed-county", placed + 1).await?;

    // A bus for them: over the seats is refused; the worker is checked
    // before it may leave.
    phone.goto("/transport").await?;
    let set_day = "document.querySelector('#batch-form [name=day]').value = arguments[0]; return null;";
    phone.client.execute(set_day, vec![json!(today)]).await?;
    phone.type_into("#batch-form [name=origin]", "朱阳关镇政府").await?;
    phone.type_into("#batch-form [name=destination]", "卢氏县产业集聚区宏达公司").await?;
    phone.type_into("#batch-form [name=plate]", "豫M12345").await?;
    phone.type_into("#batch-form [name=seats]", "19").await?;
    phone.click(&format!("#batch-form input[name=passengers][value='{placement}']")).await?;
    submit(phone, "#batch-form").await?;
    poll_until("the batch's page", UI_TIMEOUT, || async {
        let path = phone.path().await?;
        Ok((path.starts_with("/transport/") && path.len() > "/transport/".len()).then_some(()))
    })
    .await
    .with_context(|| "planning the batch")?;
    let batch = phone.path().await?;
    phone.type_into(&format!("#check-form-{placement} [name=temperature]"), "36.6").await?;
    phone.click(&format!("#check-form-{placement} button[type=submit]")).await?;
    let passed = format!("tr[data-placement-id='{placement}'][data-passed='passed']");
    poll_until("the passenger checked", UI_TIMEOUT, || async { Ok(phone.has(&passed).await?.then_some(())) }).await?;
    phone.click("#depart-form button[type=submit]").await?;
    poll_until("the batch on the road", UI_TIMEOUT, || async {
        Ok((phone.attr("#batch", "data-state").await?.as_deref() == Some("departed")).then_some(()))
    })
    .await?;
    figure_becomes(hq, "batches-departed", departed + 1).await?;

    // The receiving enterprise confirms the arrival.
    phone.goto("/").await?;
    phone.click("form[action='/logout'] button").await.context("signing out")?;
    phone.wait_for_path("/login").await?;
    phone.sign_in("enterprise", "demo").await?;
    phone.wait_for_path("/").await.context("signing in as the enterprise")?;
    phone.goto(&batch).await?;
    phone.click("#arrive-form button[type=submit]").await.context("the enterprise's arrival button")?;
    poll_until("the batch arrived", UI_TIMEOUT, || async {
        Ok((phone.attr("#batch", "data-state").await?.as_deref() == Some("arrived")).then_some(()))
    })
    .await?;
    figure_becomes(hq, "batches-arrived", arrived + 1).await?;
    Ok(())
}
