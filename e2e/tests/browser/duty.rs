//! A shift at a post, seen from both ends: the duty officer's phone and the
//! commander's screen at HQ, two browsers on one server.
//!
//! The scene is set through the JSON API as the demo administrator: a fresh
//! post in 朱阳关镇 with one required officer, an officer on its current
//! shift, and 210 masks (the low-stock threshold is 200). Then, in the UI
//! only: the officer checks in with the phone's (emulated) position inside
//! the fence, uses 20 masks, asks for more; the commander watches the post go
//! from unstaffed to staffed and the low stock arrive live, approves part of
//! the request and dispatches it; the officer confirms receipt.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use shouwang_e2e::{Browser, BrowserTools, Session, UI_TIMEOUT, poll_until};

/// The demo simulator stays slow here: the feed should show this test's
/// events, not bury them.
const SIMULATE_EVERY_MS: u64 = 5_000;

/// The post: 朱阳关镇 (code 411224104), 300 m fence (the default).
const POST: (f64, f64) = (33.7000, 110.9500);
/// Where the officer's phone says it is: about 115 m north-east of the post.
pub(crate) const PHONE: (f64, f64) = (33.7009, 110.9506);
pub(crate) const OFFICER: &str = "e2e.officer";
pub(crate) const OFFICER_PASSWORD: &str = "checkpoint-e2e";

#[tokio::test]
async fn officer_checks_in_and_asks_for_masks_and_the_commander_sees_it_live_and_approves() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let _shared = shouwang_e2e::few_browsers().await;
    let session = Session::start(&tools, SIMULATE_EVERY_MS, "zh-CN").await?;
    let phone = session.another_browser(&tools, "zh-CN").await?;
    let result = shift_at_a_post(&session, &phone).await;
    let result = result.map_err(|e| phone.explain("the phone", e));
    let closed = phone.close().await;
    session.finish(result.and(closed)).await
}

async fn shift_at_a_post(hq: &Session, phone: &Browser) -> anyhow::Result<()> {
    let cp = set_the_scene(hq).await?;
    let subject = format!("checkpoint:{cp}");

    // HQ: the commander watches the board, the home page, and its live feed.
    hq.sign_in("commander", "demo").await?;
    hq.wait_for_path("/").await.context("signing in as commander")?;
    hq.client.execute("window.__shouwangE2e = 'not reloaded'; return null;", vec![]).await?;
    let board_row = format!("#board-table tr[data-post-id='{cp}']");
    let at_start = hq.attr(&board_row, "data-state").await?;
    ensure!(at_start.as_deref() == Some("unstaffed"), "E2E-01 should start unstaffed on the board, is {at_start:?}");
    poll_until("the commander's feed to be online", UI_TIMEOUT, || async {
        Ok((hq.attr("#live-status", "data-state").await?.as_deref() == Some("online")).then_some(()))
    })
    .await?;

    // The phone: a 360 px screen, signed in as the officer, on "My post".
    phone.client.set_window_size(360, 780).await?;
    phone.sign_in(OFFICER, OFFICER_PASSWORD).await?;
    phone.wait_for_path("/").await.context("signing in as the officer")?;
    phone.goto("/my-post").await?;
    let heading = phone.text(".mp-post h1").await?;
    ensure!(heading.contains("E2E-01"), "My post should show E2E-01, shows {heading:?}");
    ensure!(!phone.has(".mp-state-in").await?, "the officer should not be checked in yet");

    // Check in, one tap, with the phone's position.
    phone.set_geolocation(PHONE.0, PHONE.1).await?;
    phone.click("#check-in-form button[type=submit]").await?;
    poll_until("the phone to show the officer checked in", UI_TIMEOUT, || async {
        Ok(phone.has(".mp-state-in").await?.then_some(()))
    })
    .await?;
    let distance: f64 = phone
        .attr(".mp-finding", "data-distance-m")
        .await?
        .context("the check-in shows no distance: the position did not reach the server")?
        .parse()?;
    ensure!((80.0..160.0).contains(&distance), "the phone is about 115 m from the post, the page says {distance} m");
    ensure!(!phone.has(".mp-finding .flag-bad").await?, "a check-in inside the fence is flagged as outside");
    phone.screenshot("my-post-checked-in.png").await?;
    // The open page keeps a live connection, over which it sends heartbeats.
    poll_until("the phone's live connection", UI_TIMEOUT, || async {
        Ok((phone.attr("#live-status", "data-state").await?.as_deref() == Some("online")).then_some(()))
    })
    .await?;

    // HQ sees the post go from unstaffed to staffed, without a reload: on
    // the board's map and table, and in the feed.
    poll_until("E2E-01 staffed on the board", UI_TIMEOUT, || async {
        let row = hq.attr(&format!("#board-table tr[data-post-id='{cp}']"), "data-state").await?;
        let marker = hq.attr(&format!("#board-map .marker[data-post-id='{cp}']"), "data-state").await?;
        Ok((row.as_deref() == Some("staffed") && marker.as_deref() == Some("staffed")).then_some(()))
    })
    .await?;
    let staffed = feed_line(hq, "checkpoint.staffing_changed", &subject).await?;
    ensure!(
        staffed.contains("E2E-01") && staffed.contains("无人在岗 → 在岗齐全") && staffed.ends_with("(1/1)"),
        "the staffing line should read E2E-01 … 无人在岗 → 在岗齐全 (1/1), reads {staffed:?}"
    );

    // The officer uses 20 masks: 210 → 190, under the threshold of 200.
    phone.select("#consume-item", "mask").await?;
    phone.type_into("#consume-quantity", "20").await?;
    phone.click("form[action='/my-post/consume'] button[type=submit]").await?;
    let masks = poll_until("the masks to show 190, low", UI_TIMEOUT, || async {
        let on_hand = phone.attr("#supplies li[data-item=mask]", "data-on-hand").await?;
        Ok((on_hand.as_deref() == Some("190")).then_some(()))
    })
    .await;
    masks?;
    ensure!(phone.has("#supplies li[data-item=mask].low").await?, "190 masks of a 200 threshold should be marked low");
    let low = feed_line(hq, "supply.low_stock", &subject).await?;
    ensure!(
        low.contains("E2E-01") && low.contains("190/200"),
        "the low-stock line should name E2E-01 and 190/200, reads {low:?}"
    );
    let mark = hq.client.execute("return window.__shouwangE2e ?? null;", vec![]).await?;
    ensure!(mark == json!("not reloaded"), "the board was reloaded to show the changes");

    // The officer asks HQ for 300 masks.
    phone.select("#resupply-item", "mask").await?;
    phone.type_into("#resupply-quantity", "300").await?;
    phone.type_into("#resupply-note", "口罩告急").await?;
    phone.click("form[action='/my-post/resupply'] button[type=submit]").await?;
    let request = poll_until("the request in the phone's list", UI_TIMEOUT, || async {
        Ok(phone.attr("#requests li[data-request-id]", "data-request-id").await.ok().flatten())
    })
    .await?;
    let row = format!("tr[data-request-id='{request}']");
    feed_line(hq, "resupply.requested", &format!("resupply:{request}")).await?;

    // HQ approves 250 of the 300 and dispatches them.
    hq.goto("/resupply").await?;
    ensure!(
        hq.has(&format!("{row} .badge.resupply-requested")).await?,
        "HQ's queue should list the request as requested"
    );
    hq.type_into(&format!("#approve-{request}"), "250").await?;
    hq.click(&format!("{row} form[action='/resupply/{request}/decision'] button[type=submit]")).await?;
    badge(hq, &row, "approved").await?;
    hq.click(&format!("{row} form[action='/resupply/{request}/dispatch'] button[type=submit]")).await?;
    badge(hq, &row, "dispatched").await?;
    hq.screenshot("resupply-dispatched.png").await?;

    // The officer confirms receipt: 190 + 250 = 440 masks, no longer low.
    phone.goto("/my-post").await?;
    let item = format!("#requests li[data-request-id='{request}']");
    phone.click(&format!("{item} form[action='/my-post/receipt/{request}'] button[type=submit]")).await?;
    badge(phone, &item, "received").await?;
    let on_hand = phone.attr("#supplies li[data-item=mask]", "data-on-hand").await?;
    ensure!(on_hand.as_deref() == Some("440"), "190 + 250 received should make 440 masks, shows {on_hand:?}");
    ensure!(!phone.has("#supplies li[data-item=mask].low").await?, "440 masks should not be low");

    // HQ's queue of open requests no longer lists it; the received ones do.
    hq.goto("/resupply").await?;
    ensure!(!hq.has(&row).await?, "a received request should leave HQ's open queue");
    hq.goto("/resupply?state=received").await?;
    badge(hq, &row, "received").await?;
    hq.goto(&format!("/checkpoints/{cp}")).await?;
    ensure!(hq.has(".badge.staffing-staffed").await?, "the post's page should show it staffed");

    // The officer hands over: the check-out (naming its check-in, through the
    // outbox) leaves the post unstaffed at HQ.
    phone.goto("/my-post").await?;
    let named = phone.attr("form[data-outbox=check_out]", "data-check-in-id").await?;
    ensure!(
        named.as_ref().is_some_and(|id| id.len() == 36),
        "the check-out form should name the check-in it ends, has {named:?}: {}",
        phone.text("#duty").await.unwrap_or_default()
    );
    phone.click("form[data-outbox=check_out] button[type=submit]").await?;
    hq.goto("/").await?;
    poll_until("E2E-01 unstaffed after the check-out", UI_TIMEOUT, || async {
        let row = hq.attr(&format!("#board-table tr[data-post-id='{cp}']"), "data-state").await?;
        Ok((row.as_deref() == Some("unstaffed")).then_some(()))
    })
    .await?;
    Ok(())
}

/// Sets up, as the demo administrator through the JSON API from `hq`'s
/// browser, the post E2E-01 with its officer on shift and 210 masks; signs
/// out again. Returns the post's id.
pub(crate) async fn set_the_scene(hq: &Browser) -> anyhow::Result<i64> {
    let (csrf, township) = admin_in_zhuyangguan(hq).await?;
    let officer = json!({ "username": OFFICER, "display_name": "林守望", "password": OFFICER_PASSWORD,
                          "role": "duty_officer", "org_unit_id": township });
    let officer = api(hq, "POST", "/api/v1/users", officer, &csrf).await?["id"].as_i64().context("no user id")?;
    let post = json!({ "org_unit_id": township, "code": "E2E-01", "name": "朱阳关测试检测点", "kind": "county_border",
                       "lat": POST.0, "lon": POST.1, "required_staff": 1 });
    let cp = api(hq, "POST", "/api/v1/checkpoints", post, &csrf).await?["id"].as_i64().context("no checkpoint id")?;
    let now_us = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros())?;
    let hour_us = 3_600_000_000;
    // Begun five minutes ago: not yet a missed check-in (alerts after 15),
    // which would show the post as alerting instead of unstaffed.
    let starts_us = now_us - hour_us / 12;
    let shift =
        json!({ "starts_us": starts_us, "ends_us": starts_us + 8 * hour_us, "leader_id": officer, "staff": [officer] });
    api(hq, "POST", &format!("/api/v1/checkpoints/{cp}/shifts"), shift, &csrf).await?;
    let masks = json!({ "id": uuid::Uuid::now_v7().to_string(), "item": "mask", "kind": "receipt", "quantity": 210 });
    api(hq, "POST", &format!("/api/v1/checkpoints/{cp}/supplies"), masks, &csrf).await?;
    api(hq, "POST", "/api/v1/auth/logout", Value::Null, &csrf).await?;
    Ok(cp)
}

/// Signs `browser` in as the demo administrator through the API; returns the
/// session's CSRF token and the id of 朱阳关镇 (411224104).
pub(crate) async fn admin_in_zhuyangguan(browser: &Browser) -> anyhow::Result<(String, i64)> {
    browser.goto("/login").await?;
    let login =
        api(browser, "POST", "/api/v1/auth/login", json!({ "username": "admin", "password": "demo" }), "").await?;
    let csrf = login["csrf_token"].as_str().context("the login answer has no csrf_token")?.to_owned();
    let units = api(browser, "GET", "/api/v1/org-units", Value::Null, &csrf).await?;
    let township = units
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["code"] == "411224104")
        .and_then(|u| u["id"].as_i64())
        .context("朱阳关镇 (411224104) is not among the org units")?;
    Ok((csrf, township))
}

/// One JSON API call made by the page in `browser` (its cookies, its
/// origin); fails unless the answer is 2xx. Returns the answer's JSON.
pub(crate) async fn api(browser: &Browser, method: &str, path: &str, body: Value, csrf: &str) -> anyhow::Result<Value> {
    let script = r#"
        const [method, path, body, csrf, done] = arguments;
        const headers = { "content-type": "application/json", "accept-language": "en" };
        if (csrf) headers["x-csrf-token"] = csrf;
        fetch(path, { method, headers, body: body === null ? undefined : JSON.stringify(body) })
          .then(async (r) => done([r.status, await r.text()]))
          .catch((e) => done([0, String(e)]));
    "#;
    let args = vec![json!(method), json!(path), body, json!(csrf)];
    let answer = browser.client.execute_async(script, args).await.with_context(|| format!("{method} {path}"))?;
    let status = answer[0].as_i64().unwrap_or(0);
    let text = answer[1].as_str().unwrap_or_default();
    ensure!((200..300).contains(&status), "{method} {path} answered {status}: {text}");
    Ok(if text.is_empty() { Value::Null } else { serde_json::from_str(text)? })
}

/// Waits for a line of `kind` about `subject` in the home page's live feed
/// and returns its text.
async fn feed_line(hq: &Session, kind: &str, subject: &str) -> anyhow::Result<String> {
    let css = format!("#event-feed li[data-kind='{kind}'][data-subject='{subject}'] .body");
    poll_until(&format!("{kind} of {subject} in the commander's feed"), UI_TIMEOUT, || async {
        let found = hq.client.find_all(fantoccini::Locator::Css(&css)).await?;
        match found.first() {
            Some(line) => Ok(Some(line.text().await?.trim().to_owned())),
            None => Ok(None),
        }
    })
    .await
}

/// Waits until the resupply badge in `row` shows `state`.
async fn badge(browser: &Browser, row: &str, state: &str) -> anyhow::Result<()> {
    let css = format!("{row} .badge.resupply-{state}");
    let waited = poll_until(&format!("{row} to show {state}"), UI_TIMEOUT, || async {
        Ok(browser.has(&css).await?.then_some(()))
    })
    .await;
    if waited.is_err() {
        let errors = browser.client.find_all(fantoccini::Locator::Css(".field-error, .notice")).await?;
        let mut said = Vec::new();
        for e in errors {
            said.push(e.text().await?);
        }
        let shown = browser.client.current_url().await?;
        return waited.with_context(|| format!("the browser shows {shown}, saying {said:?}"));
    }
    waited
}
