//! Presence: an officer's open page keeps the post "staffed" past the
//! presence timeout with its heartbeats; once the page is gone, the post goes
//! "no signal". The server runs with a one-minute timeout checked every two
//! seconds, so this test takes about two and a half minutes.

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use serde_json::Value;
use shouwang_e2e::{Browser, BrowserTools, Session, UI_TIMEOUT, poll_until};

use crate::duty::{OFFICER, OFFICER_PASSWORD, PHONE, api, set_the_scene};

/// The presence timeout the server runs with in this test.
const TIMEOUT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn an_open_page_keeps_the_post_staffed_and_a_closed_one_lets_it_fall_silent() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let _shared = shouwang_e2e::few_browsers().await;
    let env = [("SHOUWANG_PRESENCE_TIMEOUT_MINUTES", "1"), ("SHOUWANG_PRESENCE_CHECK_SECONDS", "2")];
    let session = Session::start_with(&tools, 5_000, "zh-CN", &env).await?;
    let phone = session.another_browser(&tools, "zh-CN").await?;
    let result = heartbeats(&session, &phone).await;
    let closed = phone.close().await;
    session.finish(result.and(closed)).await
}

async fn heartbeats(hq: &Session, phone: &Browser) -> anyhow::Result<()> {
    let cp = set_the_scene(hq).await?;
    phone.sign_in(OFFICER, OFFICER_PASSWORD).await?;
    phone.wait_for_path("/").await?;
    phone.goto("/my-post").await?;
    phone.set_geolocation(PHONE.0, PHONE.1).await?;
    phone.click("#check-in-form button[type=submit]").await?;
    poll_until("the check-in", UI_TIMEOUT, || async { Ok(phone.has(".mp-state-in").await?.then_some(())) }).await?;
    let checked_in = Instant::now();

    hq.sign_in("commander", "demo").await?;
    hq.wait_for_path("/").await?;
    let staffing = || async {
        let board = api(hq, "GET", "/api/v1/board", Value::Null, "").await?;
        let post = board["posts"].as_array().into_iter().flatten().find(|p| p["id"] == cp).cloned();
        Ok::<String, anyhow::Error>(
            post.context("E2E-01 is not on the board")?["staffing"].as_str().unwrap_or("").into(),
        )
    };
    ensure!(staffing().await? == "staffed", "E2E-01 should be staffed right after the check-in");

    // Past the timeout with the page open: the heartbeats keep it staffed.
    while checked_in.elapsed() < TIMEOUT + Duration::from_secs(10) {
        let now = staffing().await?;
        ensure!(now == "staffed", "E2E-01 went {now} after {:?} with the officer's page open", checked_in.elapsed());
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    // The page goes (the phone locks, the browser is closed): no more heartbeats.
    phone.client.goto("about:blank").await?;
    let gone = Instant::now();
    poll_until("E2E-01 to fall silent", TIMEOUT + Duration::from_secs(30), || async {
        Ok((staffing().await? == "no_signal").then_some(()))
    })
    .await?;
    println!(
        "E2E-01 stayed staffed {:?} with the page open; fell silent {:?} after it closed",
        TIMEOUT,
        gone.elapsed()
    );
    Ok(())
}
