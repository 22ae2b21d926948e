//! The commander's line is cut for a while and restored: the board, never
//! reloaded, replays what happened meanwhile — the screenings logged and the
//! fever they raised — and the post's panel, open all along, shows them too.

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use shouwang_e2e::{Browser, BrowserTools, Line, Session, UI_TIMEOUT, poll_until};

use crate::call::{Post, close_all, posts};
use crate::duty::api;

/// The demo's simulator stays quiet (once in ten minutes), so that every
/// change the board shows is one this test made.
const QUIET_MS: u64 = 600_000;

/// How long a board waits to reconnect at most once the line is back: its
/// backoff after a few seconds cut, with jitter.
const RECONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

#[tokio::test]
async fn a_board_cut_off_for_a_while_replays_what_it_missed_without_a_reload() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let _shared = shouwang_e2e::few_browsers().await;
    let session = Session::start(&tools, QUIET_MS, "zh-CN").await?;
    let line = Line::start(session.server.addr).await?;
    let mut phones = Vec::new();
    let mut hq = None;
    let result = async {
        phones = posts(&tools, &session, "replay", 1).await?;
        let board = hq.insert(Browser::open(&tools, &line.url(), "zh-CN").await?);
        cut_and_restore(board, &line, &phones[0]).await
    }
    .await;
    let result = match hq {
        Some(board) => {
            let result = result.map_err(|e| board.explain("HQ", e));
            let closed = board.close().await;
            result.and(closed)
        }
        None => result,
    };
    let result = close_all(phones, result).await;
    session.finish(result).await
}

async fn number(browser: &Browser, css: &str) -> anyhow::Result<i64> {
    let text = browser.text(css).await?;
    text.trim().parse().with_context(|| format!("{css} reads {text:?}, not a number"))
}

async fn live_state(browser: &Browser) -> anyhow::Result<Option<String>> {
    browser.attr("#live-status", "data-state").await
}

async fn cut_and_restore(hq: &Browser, line: &Line, post: &Post) -> anyhow::Result<()> {
    hq.sign_in("commander", "demo").await?;
    hq.wait_for_path("/").await.context("signing in as commander through the line")?;
    poll_until("the board's live connection", UI_TIMEOUT, || async {
        Ok((live_state(hq).await?.as_deref() == Some("online")).then_some(()))
    })
    .await?;
    let row = format!("#board-table tr[data-post-id='{}']", post.id);
    poll_until("the post staffed on the board", UI_TIMEOUT, || async {
        Ok((number(hq, &format!("{row} td[data-field=present] .present")).await? == 1).then_some(()))
    })
    .await?;

    // The commander opens the post's panel: the officer is there.
    hq.click(&format!("{row} td:nth-child(2)")).await?;
    poll_until("the post's panel", UI_TIMEOUT, || async {
        Ok(hq
            .has(&format!("#post-panel:not([hidden]) .post-panel-body[data-post-id='{}']", post.id))
            .await?
            .then_some(()))
    })
    .await?;
    let here = hq.text("#post-panel .pp-roster").await?;
    ensure!(here.contains("✓ 值守员1"), "the panel should show the officer on the shift and here, shows {here:?}");
    ensure!(!hq.has("#post-panel .pp-screenings").await?, "no screenings at the post yet");

    let screenings = number(hq, "#fig-screenings").await?;
    let incidents = number(hq, "#fig-incidents").await?;
    hq.client.execute("window.__notReloaded = true;", vec![]).await?;

    // The line goes dead; the board says so.
    line.cut();
    poll_until("the board to notice the cut", UI_TIMEOUT, || async {
        Ok((live_state(hq).await?.as_deref() == Some("reconnecting")).then_some(()))
    })
    .await?;

    // Meanwhile the officer logs two cars and a feverish driver.
    let csrf = post
        .phone
        .client
        .execute("return document.querySelector('meta[name=\"csrf-token\"]').content;", vec![])
        .await?;
    let csrf = csrf.as_str().context("the phone's page has no CSRF token")?.to_owned();
    let path = format!("/api/v1/checkpoints/{}/screenings", post.id);
    for body in [car("豫M12301", None), car("豫M12302", None), car("陕ED12345", Some(38.6))] {
        api(&post.phone, "POST", &path, body, &csrf).await?;
    }
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    ensure!(number(hq, "#fig-screenings").await? == screenings, "a board cut off cannot have heard of them yet");

    // The line comes back: the board catches up, without a reload.
    line.restore();
    poll_until("the board to reconnect", RECONNECT_TIMEOUT, || async {
        Ok((live_state(hq).await?.as_deref() == Some("online")).then_some(()))
    })
    .await?;
    poll_until("the missed screenings on the board", UI_TIMEOUT, || async {
        let now = (number(hq, "#fig-screenings").await?, number(hq, "#fig-incidents").await?);
        let at_post = number(hq, &format!("{row} td[data-field=screenings]")).await?;
        Ok((now == (screenings + 3, incidents + 1) && at_post == 3).then_some(()))
    })
    .await?;
    let kept = hq.client.execute("return window.__notReloaded === true;", vec![]).await?;
    ensure!(kept == json!(true), "the board should have caught up without reloading");
    let fed = hq.client.find_all(fantoccini::Locator::Css("#event-feed li[data-kind='screening.recorded']")).await?;
    ensure!(fed.len() >= 3, "the feed should list the three screenings, lists {}", fed.len());

    // The panel, open all along, shows them too.
    poll_until("the panel to list the screenings", UI_TIMEOUT, || async {
        let rows = hq.client.find_all(fantoccini::Locator::Css("#post-panel .pp-screenings tbody tr")).await?;
        Ok((rows.len() == 3).then_some(()))
    })
    .await?;
    let panel = hq.text("#post-panel .pp-screenings").await?;
    ensure!(panel.contains("陕ED12345") && panel.contains("发热"), "the panel should flag the fever: {panel:?}");
    hq.screenshot("board-post-panel.png").await?;
    Ok(())
}

/// A car with its driver, released; with a temperature, a feverish driver
/// sent to hospital.
fn car(plate: &str, temperature: Option<f64>) -> Value {
    let mut body = json!({ "id": uuid::Uuid::now_v7().to_string(), "direction": "in", "plate": plate,
                           "vehicle_type": "car", "people_count": 1, "cargo": "none", "outcome": "released" });
    if let Some(t) = temperature {
        body["outcome"] = json!("referred_to_hospital");
        body["people"] = json!([{ "name": "张三", "temperature": t }]);
    }
    body
}
