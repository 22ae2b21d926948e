//! A call from HQ to a post, through Shouwang's own SFU, in two real
//! browsers with fake cameras and microphones: the commander clicks "call"
//! on the board, the officer's phone rings with the caller's name, the
//! officer accepts, and both sides receive the other's audio and video
//! (bytes and decoded frames growing in `getStats()`). The officer drops to
//! audio only: HQ still hears them but gets no more video. The commander
//! hangs up: the phone's call screen says so, and the call is in HQ's feed.

use anyhow::{Context, ensure};
use serde_json::Value;
use shouwang_e2e::{Browser, BrowserTools, Session, UI_TIMEOUT, poll_until};
use std::time::Duration;

use crate::duty::{OFFICER, OFFICER_PASSWORD, PHONE, set_the_scene};

/// Media takes a moment to flow: ICE, DTLS, the first keyframe.
const MEDIA_TIMEOUT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn the_commander_calls_a_post_and_both_see_and_hear_each_other() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let session = Session::start(&tools, 5_000, "zh-CN").await?;
    let phone = session.another_browser(&tools, "zh-CN").await?;
    let result = call(&session, &phone).await;
    let result = result.map_err(|e| e.context(format!("--- the phone's chromedriver:\n{}", phone.log_tail(15))));
    let closed = phone.close().await;
    session.finish(result.and(closed)).await
}

/// What `window.shouwangCall.stats()` says in `browser`.
async fn stats(browser: &Browser) -> anyhow::Result<Value> {
    let script =
        "const done = arguments[0]; window.shouwangCall.stats().then(done, (e) => done({ error: String(e) }));";
    Ok(browser.client.execute_async(script, vec![]).await?)
}

fn n(v: &Value, key: &str) -> i64 {
    v[key].as_i64().unwrap_or(0)
}

/// Waits until `browser` receives audio and decoded video, and returns the
/// stats then.
async fn receiving(browser: &Browser, who: &str) -> anyhow::Result<Value> {
    let got = poll_until(&format!("{who} to receive audio and video"), MEDIA_TIMEOUT, || async {
        let s = stats(browser).await?;
        Ok((n(&s, "audioIn") > 0 && n(&s, "videoIn") > 0 && n(&s, "framesDecoded") > 0).then_some(s))
    })
    .await;
    match got {
        Ok(s) => Ok(s),
        Err(e) => Err(e.context(format!("{who}'s last stats: {}", stats(browser).await.unwrap_or_default()))),
    }
}

async fn call(hq: &Session, phone: &Browser) -> anyhow::Result<()> {
    let cp = set_the_scene(hq).await?;

    // The officer checks in at the post and stays on "My post".
    phone.client.set_window_size(360, 780).await?;
    phone.sign_in(OFFICER, OFFICER_PASSWORD).await?;
    phone.wait_for_path("/").await.context("signing in as the officer")?;
    phone.goto("/my-post").await?;
    phone.set_geolocation(PHONE.0, PHONE.1).await?;
    phone.click("#check-in-form button[type=submit]").await?;
    poll_until("the officer checked in", UI_TIMEOUT, || async { Ok(phone.has(".mp-state-in").await?.then_some(())) })
        .await?;
    poll_until("the phone's live connection", UI_TIMEOUT, || async {
        Ok((phone.attr("#live-status", "data-state").await?.as_deref() == Some("online")).then_some(()))
    })
    .await?;

    // The commander calls the post from the board.
    hq.sign_in("commander", "demo").await?;
    hq.wait_for_path("/").await.context("signing in as commander")?;
    poll_until("the board's live connection", UI_TIMEOUT, || async {
        Ok((hq.attr("#live-status", "data-state").await?.as_deref() == Some("online")).then_some(()))
    })
    .await?;
    hq.click(&format!("button[data-call-checkpoint='{cp}']")).await?;

    // The phone rings with the commander's name; the officer accepts.
    let caller = poll_until("the phone to ring", UI_TIMEOUT, || async {
        Ok(if phone.has(".call-ring").await? {
            Some(phone.text(".call-ring [data-testid=caller]").await?)
        } else {
            None
        })
    })
    .await?;
    ensure!(!caller.trim().is_empty() && caller != "commander", "the ring should name the caller, shows {caller:?}");
    phone.screenshot("call-ringing.png").await?;
    phone.click(".call-ring .call-accept").await?;

    // Both receive the other's audio and video through the SFU.
    let hq_first = receiving(hq, "HQ").await?;
    let phone_first = receiving(phone, "the phone").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let hq_then = stats(hq).await?;
    let phone_then = stats(phone).await?;
    for (who, a, b) in [("HQ", &hq_first, &hq_then), ("the phone", &phone_first, &phone_then)] {
        ensure!(
            n(b, "audioIn") > n(a, "audioIn") && n(b, "framesDecoded") > n(a, "framesDecoded"),
            "{who}'s audio bytes and decoded frames should keep growing: {a} then {b}"
        );
    }
    let label = poll_until("HQ's tile to name the officer", UI_TIMEOUT, || async {
        let t = hq.text("#call-grid .call-tile .call-name").await.unwrap_or_default();
        Ok((!t.is_empty()).then_some(t))
    })
    .await?;
    ensure!(label == "林守望", "HQ's video tile should be labelled with the officer's name, reads {label:?}");
    hq.screenshot("call-hq.png").await?;
    phone.screenshot("call-phone.png").await?;

    // The officer drops to audio only: HQ still hears them, video stops.
    phone.click("#call-audio-only").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = stats(hq).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = stats(hq).await?;
    ensure!(n(&after, "audioIn") > n(&before, "audioIn"), "HQ should still hear the officer: {before} then {after}");
    ensure!(
        n(&after, "framesDecoded") == n(&before, "framesDecoded"),
        "no video should reach HQ once the officer is audio only: {before} then {after}"
    );

    // The commander hangs up: the phone's call ends too.
    hq.click("#call-hangup").await?;
    poll_until("the phone's call to end", UI_TIMEOUT, || async {
        let id = phone.client.execute("return window.shouwangCall.id;", vec![]).await?;
        Ok(id.is_null().then_some(()))
    })
    .await?;
    ensure!(!phone.has(".call-ring").await?, "nothing should ring after the call");

    // HQ's feed records the call: started, joined, ended.
    hq.goto("/").await?;
    for kind in ["call.started", "call.joined", "call.ended"] {
        let css = format!("#event-feed li[data-kind='{kind}']");
        poll_until(&format!("{kind} in HQ's feed"), UI_TIMEOUT, || async { Ok(hq.has(&css).await?.then_some(())) })
            .await?;
    }
    Ok(())
}
