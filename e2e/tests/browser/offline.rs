//! A post in the mountains loses its network for a while, and nothing the
//! officer enters is lost.
//!
//! The officer signs in online at a fresh post (E2E-OFF), checks in, and the
//! app keeps its pages; HQ calls the roll. Then the phone's network goes:
//! the DevTools protocol takes the page offline, and the phone's line to the
//! server (an `e2e::Line`, through which the phone reaches everything,
//! its service worker too) is cut. Offline, the officer logs 200 screenings
//! (several through the form, the rest through the page's outbox), one with
//! a plate the server will refuse, 3 consumption entries and answers the
//! roll call "present"; the page is reloaded twice and the browser killed
//! once, every page coming from the phone's copies. More than a minute
//! later the network comes back: the outbox drains, the server holds exactly
//! 200 + 3 + 1 records with the phone's times, the board shows them as late,
//! and the refused one waits in "needs attention" with the server's words.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use shouwang_e2e::{Browser, BrowserTools, Line, Session, UI_TIMEOUT, poll_until};

use crate::duty::{OFFICER_PASSWORD, PHONE, admin_in_zhuyangguan, api};

/// The simulator stays quiet: every record at the post is this test's.
const QUIET_MS: u64 = 600_000;
const OFFICER: &str = "e2e.offline";
/// Screenings through the form (the rest through the page's outbox).
const BY_HAND: usize = 5;
const SCREENINGS: usize = 200;
/// The consumption entries, in masks.
const USED: [i64; 3] = [1, 2, 3];
const MASKS: i64 = 100;
/// The server counts a record as late when it waited longer than this.
const LATE: Duration = Duration::from_secs(60);
/// How long the outbox may take to drain once the network is back.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn an_officer_offline_for_a_while_loses_nothing_and_hq_sees_the_records_late() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let _shared = shouwang_e2e::few_browsers().await;
    let session = Session::start(&tools, QUIET_MS, "zh-CN").await?;
    let line = Line::start(session.server.addr).await?;
    let profile = tempfile::Builder::new().prefix("shouwang-e2e-offline-phone-").tempdir()?;
    let mut phone = None;
    let result = shift_offline(&tools, &session, &line, profile.path(), &mut phone).await;
    let result = match phone {
        Some(p) => {
            let result = result.map_err(|e| p.explain("the phone", e));
            let closed = p.close().await;
            result.and(closed)
        }
        None => result,
    };
    session.finish(result).await
}

fn now_us() -> anyhow::Result<i64> {
    Ok(i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros())?)
}

/// The scene, as the demo administrator: the officer, the post with a shift
/// on now, 100 masks. Returns the post's id.
async fn set_the_scene(hq: &Browser) -> anyhow::Result<i64> {
    let (csrf, township) = admin_in_zhuyangguan(hq).await?;
    let officer = json!({ "username": OFFICER, "display_name": "山口值守员", "password": OFFICER_PASSWORD,
                          "role": "duty_officer", "org_unit_id": township });
    let officer = api(hq, "POST", "/api/v1/users", officer, &csrf).await?["id"].as_i64().context("no user id")?;
    let post = json!({ "org_unit_id": township, "code": "E2E-OFF", "name": "山口离线测试点", "kind": "county_border",
                       "lat": PHONE.0, "lon": PHONE.1, "required_staff": 1 });
    let cp = api(hq, "POST", "/api/v1/checkpoints", post, &csrf).await?["id"].as_i64().context("no checkpoint id")?;
    let hour_us = 3_600_000_000;
    let starts_us = now_us()? - hour_us / 12;
    let shift =
        json!({ "starts_us": starts_us, "ends_us": starts_us + 8 * hour_us, "leader_id": officer, "staff": [officer] });
    api(hq, "POST", &format!("/api/v1/checkpoints/{cp}/shifts"), shift, &csrf).await?;
    let masks = json!({ "id": uuid::Uuid::now_v7().to_string(), "item": "mask", "kind": "receipt", "quantity": MASKS });
    api(hq, "POST", &format!("/api/v1/checkpoints/{cp}/supplies"), masks, &csrf).await?;
    api(hq, "POST", "/api/v1/auth/logout", Value::Null, &csrf).await?;
    Ok(cp)
}

/// The CSRF token of the page `browser` shows.
async fn csrf_of(browser: &Browser) -> anyhow::Result<String> {
    let token =
        browser.client.execute("return document.querySelector('meta[name=\"csrf-token\"]').content;", vec![]).await?;
    Ok(token.as_str().context("the page has no CSRF token")?.to_owned())
}

/// Runs `script` (which calls its last argument when done) in the page.
async fn run(browser: &Browser, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
    browser.client.execute_async(script, args).await.context("running a script in the page")
}

/// What the outbox box says is waiting, once it has read the outbox.
async fn pending(browser: &Browser) -> anyhow::Result<i64> {
    let text = browser.text("[data-testid=outbox-pending]").await?;
    text.trim().parse().with_context(|| format!("the outbox box says {text:?} waiting"))
}

async fn wait_pending(browser: &Browser, what: &str, n: i64, timeout: Duration) -> anyhow::Result<()> {
    let waited = poll_until(what, timeout, || async {
        let shown = browser.has("#outbox:not([hidden])").await? && pending(browser).await? == n;
        Ok(shown.then_some(()))
    })
    .await;
    if waited.is_err() {
        let says = browser.text("#outbox").await.unwrap_or_default();
        return waited.with_context(|| format!("the outbox box says {says:?}"));
    }
    waited
}

/// Takes the phone off the network: the page offline (DevTools), the line
/// to the server cut (for the service worker's own requests too).
async fn go_offline(phone: &Browser, line: &Line) -> anyhow::Result<()> {
    line.cut();
    phone.cdp("Network.enable", json!({})).await?;
    phone
        .cdp(
            "Network.emulateNetworkConditions",
            json!({ "offline": true, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
        )
        .await?;
    Ok(())
}

async fn go_online(phone: &Browser, line: &Line) -> anyhow::Result<()> {
    line.restore();
    phone
        .cdp(
            "Network.emulateNetworkConditions",
            json!({ "offline": false, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
        )
        .await?;
    Ok(())
}

/// Waits until the service worker controls the page and keeps `paths`.
async fn pages_kept(phone: &Browser, paths: &[&str], needle: Option<&str>) -> anyhow::Result<()> {
    let script = r#"
        const [paths, needle, done] = arguments;
        (async () => {
          if (!navigator.serviceWorker?.controller) return false;
          for (const p of paths) {
            const names = (await caches.keys()).filter((n) => n.startsWith("shouwang-pages-"));
            let found = null;
            for (const n of names) found = found || await (await caches.open(n)).match(p, { ignoreVary: true });
            if (!found) return false;
            if (needle && p === paths[0] && !(await found.clone().text()).includes(needle)) return false;
          }
          return true;
        })().then(done, () => done(false));
    "#;
    poll_until(&format!("the phone to keep {paths:?}"), UI_TIMEOUT, || async {
        let kept = run(phone, script, vec![json!(paths), json!(needle)]).await?;
        Ok((kept == json!(true)).then_some(()))
    })
    .await
}

/// A plate for screening `i`: 豫M then A and four digits (never I or O).
fn plate(i: usize) -> String {
    format!("豫MA{i:04}")
}

async fn shift_offline(
    tools: &BrowserTools,
    hq: &Session,
    line: &Line,
    profile: &std::path::Path,
    slot: &mut Option<Browser>,
) -> anyhow::Result<()> {
    let cp = set_the_scene(hq).await?;
    hq.sign_in("commander", "demo").await?;
    hq.wait_for_path("/").await.context("signing in as commander")?;

    // The officer, online: signs in, checks in, the app keeps its pages.
    let phone = slot.insert(Browser::open_with_profile(tools, &line.url(), "zh-CN", profile).await?);
    phone.client.set_window_size(360, 780).await?;
    phone.set_geolocation(PHONE.0, PHONE.1).await?;
    phone.sign_in(OFFICER, OFFICER_PASSWORD).await?;
    phone.wait_for_path("/").await.context("signing in as the officer")?;
    phone.goto("/my-post").await?;
    phone.click("#check-in-form button[type=submit]").await?;
    poll_until("the check-in sent and shown as the server has it", UI_TIMEOUT, || async {
        Ok(phone.has("#duty .mp-state-in").await?.then_some(()))
    })
    .await?;
    pages_kept(phone, &["/my-post", "/screen"], None).await?;

    // HQ calls the roll; the phone shows it, and keeps the page showing it.
    let csrf = csrf_of(hq).await?;
    let roll_call = json!({ "id": uuid::Uuid::now_v7().to_string(), "kind": "roll_call", "priority": "urgent",
                            "targets": { "checkpoints": [cp] } });
    let order =
        api(hq, "POST", "/api/v1/orders", roll_call, &csrf).await?["id"].as_str().context("no order id")?.to_owned();
    phone.goto("/my-post").await?;
    poll_until("the roll call on the phone", UI_TIMEOUT, || async {
        Ok(phone.has("#my-orders li[data-roll-call-due]").await?.then_some(()))
    })
    .await?;
    pages_kept(phone, &["/my-post", "/screen"], Some(&order)).await?;
    phone.goto("/screen").await?;
    ensure!(phone.text(".scr-head").await?.contains("E2E-OFF"), "/screen should be for E2E-OFF");
    wait_pending(phone, "an empty outbox before going offline", 0, UI_TIMEOUT).await?;

    // The network goes.
    go_offline(phone, line).await?;
    let offline_from_us = now_us()?;

    // Screenings: a few through the form, as the officer taps them …
    for i in 0..BY_HAND {
        phone.type_into("#plate", &plate(i)).await?;
        phone.click("#screen-submit").await?;
        let css = format!("#screen-log li[data-plate='{}']", plate(i));
        poll_until(&format!("{} in the just-logged list", plate(i)), UI_TIMEOUT, || async {
            Ok(phone.has(&css).await?.then_some(()))
        })
        .await?;
    }
    // … the rest through the page's outbox, as many taps would.
    let path = format!("/api/v1/checkpoints/{cp}/screenings");
    let enqueue = r#"
        const [path, plates, done] = arguments;
        Promise.all([import("/assets/outbox.js"), import("/assets/ids.js")]).then(async ([outbox, ids]) => {
          for (const plate of plates) {
            const body = { id: ids.uuidv7(), occurred_us: Date.now() * 1000, direction: "in", plate,
                           vehicle_type: "car", people_count: 1, people: [], cargo: "none", outcome: "released" };
            await outbox.enqueue({ path, body, label: plate, kind: "screening" });
          }
          done("ok");
        }).catch((e) => done(String(e)));
    "#;
    let rest: Vec<String> = (BY_HAND..SCREENINGS - 1).map(plate).collect();
    for batch in rest.chunks(40) {
        let answer = run(phone, enqueue, vec![json!(path), json!(batch)]).await?;
        ensure!(answer == json!("ok"), "enqueueing screenings failed: {answer}");
    }
    // One the server will refuse: not a plate (the form would not let it in).
    let answer = run(phone, enqueue, vec![json!(path), json!(["豫M1"])]).await?;
    ensure!(answer == json!("ok"), "enqueueing the bad screening failed: {answer}");
    wait_pending(phone, "200 screenings waiting on the phone", SCREENINGS as i64, UI_TIMEOUT).await?;
    // The last one as an earlier version of the page kept it, in
    // localStorage: the page moves it into the outbox when it opens.
    let old_queue = json!([{ "url": path, "record": {
        "id": uuid::Uuid::now_v7().to_string(), "occurred_us": now_us()?, "direction": "out", "plate": plate(SCREENINGS - 1),
        "vehicle_type": "truck", "people_count": 1, "people": [], "cargo": "none", "outcome": "released" } }]);
    phone
        .client
        .execute(
            "localStorage.setItem('shouwang.screen.queue', JSON.stringify(arguments[0])); return null;",
            vec![old_queue],
        )
        .await?;

    // The page reloaded, offline: it comes from the phone's copy, the
    // records are still there, the old queue's one with them.
    phone.client.refresh().await?;
    ensure!(phone.text(".scr-head").await?.contains("E2E-OFF"), "/screen should open offline from the phone's copy");
    wait_pending(phone, "the 201 after a reload", SCREENINGS as i64 + 1, UI_TIMEOUT).await?;
    let left = phone.client.execute("return localStorage.getItem('shouwang.screen.queue');", vec![]).await?;
    ensure!(left.is_null(), "the old queue should be emptied into the outbox: {left}");

    // Consumption, three times, and the roll call answered, on "My post".
    phone.goto("/my-post").await?;
    ensure!(phone.has("#outbox").await?, "/my-post should open offline from the phone's copy");
    for (i, n) in USED.iter().enumerate() {
        phone.select("#consume-item", "mask").await?;
        phone.type_into("#consume-quantity", &n.to_string()).await?;
        phone.click("form[data-outbox=consume] button[type=submit]").await?;
        poll_until("the consumption in the just-entered list", UI_TIMEOUT, || async {
            Ok((phone.client.find_all(fantoccini::Locator::Css("#mp-log li")).await?.len() > i).then_some(()))
        })
        .await?;
    }
    let due = format!("#my-orders li[data-order-id='{order}']");
    phone.click(&format!("{due} .ord-ack button[type=submit]")).await?;
    poll_until("the roll call answered on the phone", UI_TIMEOUT, || async {
        Ok(phone.has(&format!("{due}[data-state='acknowledged']")).await?.then_some(()))
    })
    .await?;
    let last_entry = Instant::now();
    let waiting = SCREENINGS as i64 + 1 + USED.len() as i64 + 1;
    wait_pending(phone, "205 records waiting", waiting, UI_TIMEOUT).await?;
    phone.screenshot("offline-my-post.png").await?;

    // The browser is killed, and opened again on the same profile, still
    // offline: the page and the records are still there.
    let killed = slot.take().context("the phone")?;
    killed.kill();
    let phone = slot.insert(Browser::open_with_profile(tools, &line.url(), "zh-CN", profile).await?);
    phone.client.set_window_size(360, 780).await?;
    go_offline(phone, line).await?;
    phone.goto("/my-post").await?;
    ensure!(phone.has("#outbox").await?, "/my-post should open from the phone's copy after the browser was killed");
    wait_pending(phone, "the 205 after the browser was killed", waiting, UI_TIMEOUT).await?;
    phone.client.refresh().await?;
    wait_pending(phone, "the 205 after another reload", waiting, UI_TIMEOUT).await?;
    ensure!(
        phone.has(&format!("{due}[data-state='acknowledged']")).await?,
        "the roll call should still show answered (from the outbox) on the phone's copy of the page"
    );

    // A record damaged on the phone (no path): it must not block the others.
    let damage = r#"
        const done = arguments[0];
        const open = indexedDB.open("shouwang");
        open.onsuccess = () => {
          const tx = open.result.transaction("outbox", "readwrite");
          tx.objectStore("outbox").put({ id: "0193a000-0000-7000-8000-00000000dead", seq: 1e9, state: "pending",
                                         method: "POST", body: {}, entered_us: Date.now() * 1000, label: "damaged" });
          tx.oncomplete = () => { open.result.close(); import("/assets/outbox.js").then((m) => m.refreshStatus()).then(() => done("ok")); };
          tx.onerror = () => done(String(tx.error));
        };
        open.onerror = () => done(String(open.error));
    "#;
    ensure!(run(phone, damage, vec![]).await? == json!("ok"), "could not put a damaged record in the outbox");
    wait_pending(phone, "the damaged record among the waiting", waiting + 1, UI_TIMEOUT).await?;

    // Offline longer than allowed (72 h): the phone asks to sign in again
    // and takes no new record; those waiting stay.
    let contact = r#"
        const [value, done] = arguments;
        const open = indexedDB.open("shouwang");
        open.onsuccess = () => {
          const tx = open.result.transaction("meta", "readwrite");
          tx.objectStore("meta").put(value, "last_contact_us");
          tx.oncomplete = () => { open.result.close(); import("/assets/outbox.js").then((m) => m.refreshStatus()).then(() => done("ok")); };
        };
    "#;
    let long_ago = now_us()? - 73 * 3_600_000_000;
    ensure!(run(phone, contact, vec![json!(long_ago)]).await? == json!("ok"), "could not age the last contact");
    poll_until("the phone to ask to sign in again", UI_TIMEOUT, || async {
        Ok(phone.has("[data-testid=outbox-sign-in]:not([hidden])").await?.then_some(()))
    })
    .await?;
    phone.select("#consume-item", "mask").await?;
    phone.type_into("#consume-quantity", "9").await?;
    phone.click("form[data-outbox=consume] button[type=submit]").await?;
    poll_until("the consumption refused for signing in again", UI_TIMEOUT, || async {
        Ok(phone.text("form[data-outbox=consume]").await?.contains("重新登录").then_some(()))
    })
    .await?;
    wait_pending(phone, "nothing taken, nothing lost", waiting + 1, UI_TIMEOUT).await?;
    ensure!(run(phone, contact, vec![json!(now_us()?)]).await? == json!("ok"), "could not restore the last contact");
    poll_until("the sign-in prompt gone", UI_TIMEOUT, || async {
        Ok(phone.has("[data-testid=outbox-sign-in][hidden]").await?.then_some(()))
    })
    .await?;

    // Entered more than a minute before they can be sent: late.
    let waited = last_entry.elapsed();
    if waited < LATE + Duration::from_secs(5) {
        tokio::time::sleep(LATE + Duration::from_secs(5) - waited).await;
    }

    // The network is back: the outbox drains (after signing in again if the
    // killed browser lost its session cookie).
    go_online(phone, line).await?;
    let back_us = now_us()?;
    let drained = poll_until("the outbox to drain", DRAIN_TIMEOUT, || async {
        if phone.has("[data-testid=outbox-sign-in]:not([hidden])").await? {
            return Ok(Some(false));
        }
        Ok((pending(phone).await? == 0).then_some(true))
    })
    .await?;
    if !drained {
        phone.sign_in(OFFICER, OFFICER_PASSWORD).await?;
        phone.wait_for_path("/").await?;
        phone.goto("/my-post").await?;
        wait_pending(phone, "the outbox to drain after signing in again", 0, DRAIN_TIMEOUT).await?;
    }

    // The refused screening waits for the officer, with the server's words.
    let refused = "[data-testid=outbox-attention] li";
    poll_until("the refused screening in needs attention", UI_TIMEOUT, || async {
        Ok(phone.has(refused).await?.then_some(()))
    })
    .await?;
    // The damaged record is explained; the officer discards it.
    let damaged = "[data-testid=outbox-attention] li[data-id='0193a000-0000-7000-8000-00000000dead']";
    let explained = phone.text(&format!("{damaged} [data-testid=outbox-message]")).await?;
    ensure!(explained.contains("损坏"), "the damaged record should be explained: {explained:?}");
    phone.click(&format!("{damaged} button[data-action=discard]")).await?;
    phone.client.accept_alert().await.context("confirming the discard")?;
    poll_until("the damaged record discarded", UI_TIMEOUT, || async { Ok((!phone.has(damaged).await?).then_some(())) })
        .await?;
    let items = phone.client.find_all(fantoccini::Locator::Css(refused)).await?;
    if items.len() != 1 {
        let all = phone.text("[data-testid=outbox-attention]").await?;
        anyhow::bail!("exactly one record should need attention, {} do: {all}", items.len());
    }
    let item = phone.text(refused).await?;
    ensure!(item.contains("豫M1"), "the record needing attention should be the bad plate: {item:?}");
    let message = phone.text(&format!("{refused} [data-testid=outbox-message]")).await?;
    ensure!(message.contains("车牌号"), "the server's message should say what is wrong with the plate: {message:?}");
    ensure!(
        phone.has(&format!("{refused} button[data-action=resend]")).await?
            && phone.has(&format!("{refused} button[data-action=discard]")).await?,
        "the record needing attention should offer Resend and Discard"
    );
    phone.screenshot("offline-needs-attention.png").await?;

    // The server holds every record once, with the phone's times.
    let csrf = csrf_of(hq).await?;
    let stored =
        api(hq, "GET", &format!("/api/v1/screenings?checkpoint_id={cp}&limit=500"), Value::Null, &csrf).await?;
    let stored = stored.as_array().context("the screenings are a list")?;
    ensure!(stored.len() == SCREENINGS, "the server should hold {SCREENINGS} screenings, holds {}", stored.len());
    let ids: std::collections::HashSet<&str> = stored.iter().filter_map(|s| s["id"].as_str()).collect();
    ensure!(ids.len() == SCREENINGS, "every screening once: {} distinct ids", ids.len());
    for s in stored {
        let at = s["occurred_us"].as_i64().context("a screening without its time")?;
        ensure!(
            (offline_from_us..back_us).contains(&at),
            "a screening should keep the phone's time, entered offline: {s}"
        );
    }
    let detail = api(hq, "GET", &format!("/api/v1/checkpoints/{cp}"), Value::Null, &csrf).await?;
    let masks = detail["supplies"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["item"] == "mask")
        .and_then(|s| s["on_hand"].as_i64())
        .context("no masks at the post")?;
    let used: i64 = USED.iter().sum();
    ensure!(
        masks == MASKS - used,
        "{MASKS} masks less {used} used should leave {}, the server says {masks}",
        MASKS - used
    );
    let roll = api(hq, "GET", &format!("/api/v1/orders/{order}"), Value::Null, &csrf).await?;
    let answered: Vec<&Value> =
        roll["receipts"].as_array().into_iter().flatten().filter(|r| r["state"] == "acknowledged").collect();
    ensure!(answered.len() == 1, "the officer's roll-call answer should be in, once: {roll}");

    // HQ sees them as late, per post.
    let late = SCREENINGS as i64 + USED.len() as i64 + 1;
    let board = api(hq, "GET", "/api/v1/board", Value::Null, &csrf).await?;
    let row = board["posts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["id"] == json!(cp))
        .with_context(|| format!("E2E-OFF is not on the board: {board}"))?;
    ensure!(row["late_records"] == json!(late), "the board should count {late} late records at E2E-OFF: {row}");
    hq.goto("/").await?;
    let shown = hq.text(&format!("#board-table tr[data-post-id='{cp}'] [data-testid=late]")).await?;
    ensure!(shown.trim() == late.to_string(), "the board's row should show {late} late, shows {shown:?}");

    // A new build's worker is waiting (the worker's script changed: here its
    // address): the page offers it, and taking it reloads the page into it.
    phone.goto("/my-post").await?;
    pages_kept(phone, &["/my-post"], None).await?;
    let next = "const done = arguments[0]; navigator.serviceWorker.register('/sw.js?build=next', { scope: '/' })\
                .then(() => done('ok'), (e) => done(String(e)));";
    ensure!(run(phone, next, vec![]).await? == json!("ok"), "registering the next build's worker failed");
    poll_until("the new-version prompt", UI_TIMEOUT, || async {
        Ok(phone.has(".outbox-update:not([hidden]) [data-testid=new-version]").await?.then_some(()))
    })
    .await?;
    phone.client.execute("window.__beforeUpdate = true; return null;", vec![]).await?;
    phone.click("[data-testid=new-version]").await?;
    poll_until("the page reloaded into the new version", UI_TIMEOUT, || async {
        let script = "return [window.__beforeUpdate === true, navigator.serviceWorker.controller?.scriptURL || ''];";
        let state = phone.client.execute(script, vec![]).await?;
        Ok((state[0] == json!(false) && state[1].as_str().unwrap_or_default().ends_with("?build=next")).then_some(()))
    })
    .await?;

    // Signing out forgets the pages kept on the phone (not the outbox).
    phone.click("form[action='/logout'] button[type=submit]").await?;
    phone.wait_for_path("/login").await?;
    let kept = run(
        phone,
        "const done = arguments[0]; caches.keys().then((n) => done(n.filter((x) => x.startsWith('shouwang-pages'))));",
        vec![],
    )
    .await?;
    ensure!(kept == json!([]), "signing out should forget the kept pages, these are left: {kept}");
    Ok(())
}
