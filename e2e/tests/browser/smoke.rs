//! The smoke test: sign in, both languages, and the live feed.

use anyhow::{Context, ensure};
use serde_json::json;
use shouwang_e2e::{BrowserTools, Session, UI_TIMEOUT, poll_until};

/// How often the demo simulator writes a duty-log entry in these tests.
const SIMULATE_EVERY_MS: u64 = 500;

#[tokio::test]
async fn commander_signs_in_switches_to_english_and_sees_live_events() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let _shared = shouwang_e2e::few_browsers().await;
    let session = Session::start(&tools, SIMULATE_EVERY_MS, "zh-CN").await?;
    let result = sign_in_switch_language_and_watch(&session).await;
    session.finish(result).await
}

async fn sign_in_switch_language_and_watch(s: &Session) -> anyhow::Result<()> {
    s.sign_in("commander", "demo").await?;
    s.wait_for_path("/").await.context("signing in as commander")?;

    // Chinese first: the browser asks for zh-CN, and it is the default anyway.
    ensure!(s.html_lang().await? == "zh-CN", "<html lang> should be zh-CN, is {:?}", s.html_lang().await?);
    let role = s.text("[data-testid=role]").await?;
    ensure!(role == "指挥长", "the role should read 指挥长, reads {role:?}");
    wait_until_online(s).await?;
    let shot = s.screenshot("home-zh.png").await?;
    println!("screenshot: {}", shot.display());

    // The language switch posts to /lang and comes back to the same page.
    s.click("form[action='/lang'] button[name=lang][value=en]").await?;
    poll_until("<html lang=\"en\"> after switching to English", UI_TIMEOUT, || async {
        Ok((s.html_lang().await? == "en").then_some(()))
    })
    .await?;
    ensure!(s.path().await? == "/", "the language switch should come back to /, went to {}", s.path().await?);
    let role = s.text("[data-testid=role]").await?;
    ensure!(role == "Commander", "the role should read Commander, reads {role:?}");

    // Live: a mark on this page's window shows it was not reloaded.
    s.client.execute("window.__shouwangE2e = 'not reloaded'; return null;", vec![]).await?;
    let at_load: i64 = s
        .attr("#event-feed", "data-live-after")
        .await?
        .context("#event-feed has no data-live-after")?
        .parse()
        .context("data-live-after is not a number")?;
    ensure!(at_load > 0, "the seeded duty log should be in the feed at page load");
    wait_until_online(s).await?;
    let newest = poll_until("a new event in #event-feed", UI_TIMEOUT, || async {
        let ids = s
            .client
            .execute(
                "return Array.from(document.querySelectorAll('#event-feed li[data-event-id]'), \
                 li => Number(li.dataset.eventId));",
                vec![],
            )
            .await?;
        let newest = ids.as_array().into_iter().flatten().filter_map(|v| v.as_i64()).max();
        Ok(newest.filter(|&id| id > at_load))
    })
    .await?;
    let mark = s.client.execute("return window.__shouwangE2e ?? null;", vec![]).await?;
    ensure!(mark == json!("not reloaded"), "the page was reloaded to show event {newest}");
    println!("event {newest} arrived live (newest at page load: {at_load})");
    let shot = s.screenshot("home-en.png").await?;
    println!("screenshot: {}", shot.display());
    Ok(())
}

/// Waits until the live indicator reads `data-state="online"`.
async fn wait_until_online(s: &Session) -> anyhow::Result<()> {
    poll_until("#live-status to be online", UI_TIMEOUT, || async {
        Ok((s.attr("#live-status", "data-state").await?.as_deref() == Some("online")).then_some(()))
    })
    .await
}

#[tokio::test]
async fn a_wrong_password_is_explained_beside_the_field() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let _shared = shouwang_e2e::few_browsers().await;
    let session = Session::start(&tools, SIMULATE_EVERY_MS, "zh-CN").await?;
    let result = wrong_password(&session).await;
    session.finish(result).await
}

async fn wrong_password(s: &Session) -> anyhow::Result<()> {
    s.sign_in("commander", "not-the-password").await?;
    let error = poll_until("p#password-error", UI_TIMEOUT, || async {
        Ok(s.client.find_all(fantoccini::Locator::Css("p#password-error")).await?.into_iter().next())
    })
    .await?;
    ensure!(error.is_displayed().await?, "p#password-error is not visible");
    let message = error.text().await?;
    ensure!(!message.trim().is_empty(), "p#password-error is empty");
    ensure!(s.path().await? == "/login", "a wrong password should stay on /login, went to {}", s.path().await?);
    let invalid = s.attr("#password", "aria-invalid").await?;
    ensure!(invalid.as_deref() == Some("true"), "#password should be aria-invalid, is {invalid:?}");
    let username = s.client.find(fantoccini::Locator::Css("#username")).await?.prop("value").await?;
    ensure!(username.as_deref() == Some("commander"), "the username should be kept, is {username:?}");
    println!("wrong password: {message}");
    Ok(())
}
