//! A freight pass checked at a post on the duty officer's phone
//! (`/passes/verify`), online and with the network cut.
//!
//! The commander issues two passes for the 朱阳关 border post (ZYG-01, where
//! the demo login `duty` is on shift) through the JSON API and revokes the
//! second. On a 360 px window the officer pastes tokens into the page: online
//! the server has the last word; offline the page decides alone, from the
//! public key and the revocation list it kept when it loaded. Either way a
//! good pass shows the plate in large characters, a token with one character
//! of its signature changed is refused as forged, and the revoked one as
//! revoked. Last, the form is sent as a browser without JavaScript sends it
//! (`HTMLFormElement.submit()` fires no submit event, so the script stays
//! out of it): a plain GET of `/passes/verify?token=…&plate=…` that the
//! server answers with the verdict rendered in the page, or with the error
//! beside its field. Then the commander revokes the good pass while the
//! phone is offline; back online for a moment, the open page fetches the
//! list again and refuses that pass offline too.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use shouwang_e2e::{Browser, BrowserTools, Session, UI_TIMEOUT, poll_until};

use crate::duty::api;

/// The simulator stays slow: it has nothing to do with passes.
const SIMULATE_EVERY_MS: u64 = 5_000;

/// The good pass's plate, and the revoked one's.
const PLATE: &str = "豫M8E2E1";
const REVOKED_PLATE: &str = "豫M8E2E2";

#[tokio::test]
async fn officer_checks_passes_online_and_offline_and_refuses_forged_and_revoked_ones() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let _shared = shouwang_e2e::few_browsers().await;
    let session = Session::start(&tools, SIMULATE_EVERY_MS, "zh-CN").await?;
    let result = verify_at_the_border(&tools, &session).await;
    session.finish(result).await
}

/// A pass as issued: what the driver carries.
struct Issued {
    token: String,
    number: String,
}

/// What the verification page shows after a check.
#[derive(Debug)]
struct Shown {
    /// `data-verdict` of the result box.
    verdict: String,
    /// Whether the box is marked good (green).
    good: bool,
    /// The verdict in words.
    says: String,
    /// Who decided: the phone alone, or the server too.
    how: String,
    /// The plates in large characters.
    plates: Vec<String>,
    /// Whether the verdict is on the screen, not below the fold.
    in_view: bool,
}

async fn verify_at_the_border(tools: &BrowserTools, phone: &Session) -> anyhow::Result<()> {
    let (post, (good_id, good), revoked) = issue_passes(phone).await?;

    phone.client.set_window_size(360, 780).await?;
    phone.sign_in("duty", "demo").await?;
    phone.wait_for_path("/").await.context("signing in as the demo duty officer")?;
    phone.goto("/passes/verify").await?;
    let post_here = phone.attr("#pass-verify", "data-post-id").await?;
    ensure!(post_here == Some(post.to_string()), "the page should be for ZYG-01 ({post}), is for {post_here:?}");
    poll_until("the page to keep the key and the lists", UI_TIMEOUT, || async {
        Ok((phone.attr("#pass-verify", "data-synced").await?.as_deref() == Some("true")).then_some(()))
    })
    .await?;
    let synced = phone.text("#pv-sync").await?;
    ensure!(synced.contains("吊销 1 张"), "the sync line should count the one revoked pass, reads {synced:?}");

    // Online: the phone and the server agree.
    let forged = tamper(&good.token);
    let shown = check(phone, &good.token, "").await?;
    expect_valid(&shown, "online")?;
    ensure!(shown.how.contains("服务器"), "online the server should have decided too, the page says {:?}", shown.how);
    phone.screenshot("pass-verify-valid.png").await?;
    let shown = check(phone, &forged, "").await?;
    expect_refused(&shown, "forged", "伪造", "online, a tampered token")?;
    let shown = check(phone, &revoked.token, "").await?;
    expect_refused(&shown, "revoked", "已吊销", "online, the revoked pass")?;
    // Not a plate at all: the server's refusal stands beside the plate.
    fill(phone, "#pv-input", &good.token).await?;
    fill(phone, "#pv-plate", "ABC").await?;
    phone.click("#pv-form button[type=submit]").await?;
    let beside =
        poll_until("an error beside the plate", UI_TIMEOUT, || async { Ok(phone.text("#pv-plate-error").await.ok()) })
            .await?;
    ensure!(beside.contains("车牌"), "the error beside the plate should say what is wrong, says {beside:?}");
    ensure!(!phone.has("#pv-result:not([hidden])").await?, "a refused plate should show no verdict");

    // The network cut: the phone decides alone.
    network(phone, false).await?;
    let shown = check(phone, &good.token, PLATE).await?;
    expect_valid(&shown, "offline")?;
    ensure!(
        shown.how.contains("仅在本机"),
        "offline the phone alone should have decided, the page says {:?}",
        shown.how
    );
    let shown = check(phone, &forged, "").await?;
    expect_refused(&shown, "forged", "伪造", "offline, a tampered token")?;
    let shown = check(phone, &revoked.token, "").await?;
    expect_refused(&shown, "revoked", "已吊销", "offline, the revoked pass")?;
    let shown = check(phone, &good.token, "豫A12345").await?;
    expect_refused(&shown, "wrong_plate", "车牌不符", "offline, the pass on another vehicle")?;
    // A number read out by the driver, from the tokens kept for this post.
    let shown = check(phone, &good.number.to_lowercase(), "").await?;
    expect_valid(&shown, "offline, by its typed number")?;
    phone.screenshot("pass-verify-offline.png").await?;
    network(phone, true).await?;

    // Without JavaScript: the form posts and the server renders the verdict.
    let shown = verdict_without_script(phone, &good.token, PLATE).await?;
    expect_valid(&shown, "without JavaScript")?;
    ensure!(
        shown.how.contains("已由服务器核验"),
        "without JavaScript the server decides, the page says {:?}",
        shown.how
    );
    let url = phone.client.current_url().await?;
    ensure!(
        url.path() == "/passes/verify" && url.query().is_some_and(|q| q.contains("token=")),
        "the form should go to /passes/verify?token=…, went to {url}"
    );
    let kept = phone.client.execute("return document.getElementById('pv-input').value;", vec![]).await?;
    ensure!(kept == json!(good.token), "the token typed should be kept in the field, it holds {kept}");
    let shown = verdict_without_script(phone, &forged, "").await?;
    expect_refused(&shown, "forged", "伪造", "without JavaScript, a tampered token")?;
    refused_without_script(phone, &good.token, "ABC").await?;
    let beside = phone.text("#pv-plate-error").await.context("no error beside the plate")?;
    ensure!(beside.contains("车牌"), "the error beside the plate should say what is wrong, says {beside:?}");
    ensure!(!phone.has("#pv-result:not([hidden])").await?, "a refused form should show no verdict");
    refused_without_script(phone, "", "").await?;
    let beside = phone.text("#pv-input-error").await.context("no error beside the token field")?;
    ensure!(!beside.is_empty(), "the error beside the token field should say it is required");

    // Revoked while the phone is out of signal: back online for a moment,
    // the open page fetches the list again and refuses the pass offline.
    phone.goto("/passes/verify").await?;
    poll_until("the page to keep the lists again", UI_TIMEOUT, || async {
        Ok((phone.attr("#pass-verify", "data-synced").await?.as_deref() == Some("true")).then_some(()))
    })
    .await?;
    network(phone, false).await?;
    let hq = phone.another_browser(tools, "zh-CN").await?;
    let revoked_now = revoke_as_commander(&hq, &good_id).await;
    let closed = hq.close().await;
    revoked_now.and(closed)?;
    network(phone, true).await?;
    poll_until("the page to fetch the revocations when back online", UI_TIMEOUT, || async {
        Ok(phone.text("#pv-sync").await?.contains("吊销 2 张").then_some(()))
    })
    .await?;
    network(phone, false).await?;
    let shown = check(phone, &good.token, PLATE).await?;
    expect_refused(&shown, "revoked", "已吊销", "offline, a pass revoked while the page was open")?;
    network(phone, true).await?;
    Ok(())
}

/// Signs in as the commander in `browser` and revokes pass `id`.
async fn revoke_as_commander(browser: &Browser, id: &str) -> anyhow::Result<()> {
    browser.goto("/login").await?;
    let login = json!({ "username": "commander", "password": "demo" });
    let login = api(browser, "POST", "/api/v1/auth/login", login, "").await?;
    let csrf = login["csrf_token"].as_str().context("the login answer has no csrf_token")?.to_owned();
    api(browser, "POST", &format!("/api/v1/passes/{id}/revoke"), json!({ "reason": "证件过期" }), &csrf).await?;
    Ok(())
}

/// As the commander, through the JSON API: two passes for ZYG-01, the second
/// revoked. Returns the post's id, the good pass with its id, and the revoked one.
async fn issue_passes(browser: &Browser) -> anyhow::Result<(i64, (String, Issued), Issued)> {
    browser.goto("/login").await?;
    let login = json!({ "username": "commander", "password": "demo" });
    let login = api(browser, "POST", "/api/v1/auth/login", login, "").await?;
    let csrf = login["csrf_token"].as_str().context("the login answer has no csrf_token")?.to_owned();
    let posts = api(browser, "GET", "/api/v1/checkpoints", Value::Null, &csrf).await?;
    let post = posts
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["code"] == "ZYG-01")
        .and_then(|c| c["id"].as_i64())
        .context("the demo has no post ZYG-01")?;
    let now_us = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros())?;
    let mut issued = Vec::new();
    for plate in [PLATE, REVOKED_PLATE] {
        let terms = json!({
            "enterprise": "卢氏县宏达防护用品有限公司", "plates": [plate], "driver_name": "张三",
            "driver_phone": "13800138000", "origin": "411224", "destination": "411300", "posts": [post],
            "cargo": "medical_supplies", "valid_until_us": now_us + 24 * 3_600_000_000_i64,
        });
        let pass = api(browser, "POST", "/api/v1/passes", terms, &csrf).await?;
        let field = |name: &str| pass[name].as_str().map(str::to_owned).with_context(|| format!("no {name}: {pass}"));
        issued.push((field("id")?, Issued { token: field("token")?, number: field("number")? }));
    }
    let (revoked_id, revoked) = issued.pop().expect("two passes were issued");
    let good = issued.pop().expect("two passes were issued");
    let reason = json!({ "reason": "车辆转卖" });
    api(browser, "POST", &format!("/api/v1/passes/{revoked_id}/revoke"), reason, &csrf).await?;
    api(browser, "POST", "/api/v1/auth/logout", Value::Null, &csrf).await?;
    Ok((post, good, revoked))
}

/// `token` with one character of its signature changed (well inside it: the
/// last character also carries padding bits).
fn tamper(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let at = chars.len() - 20;
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

/// Cuts the browser's network (`online == false`) or gives it back.
async fn network(browser: &Browser, online: bool) -> anyhow::Result<()> {
    browser.cdp("Network.enable", json!({})).await?;
    let conditions = json!({ "offline": !online, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 });
    browser.cdp("Network.emulateNetworkConditions", conditions).await?;
    Ok(())
}

/// Pastes `input` (a token or a number) and `plate` into the page, taps
/// Check, and reads the answer.
async fn check(phone: &Browser, input: &str, plate: &str) -> anyhow::Result<Shown> {
    fill(phone, "#pv-input", input).await?;
    fill(phone, "#pv-plate", plate).await?;
    phone.click("#pv-form button[type=submit]").await?;
    // The page hides the last answer as soon as a check begins.
    poll_until("the page's answer", UI_TIMEOUT, || async {
        Ok(phone.has("#pv-result:not([hidden])").await?.then_some(()))
    })
    .await?;
    read_result(phone).await
}

/// Types `text` into the field `css`, or only clears it for "".
async fn fill(phone: &Browser, css: &str, text: &str) -> anyhow::Result<()> {
    if text.is_empty() {
        let field = phone.client.find(fantoccini::Locator::Css(css)).await.with_context(|| format!("finding {css}"))?;
        return Ok(field.clear().await?);
    }
    phone.type_into(css, text).await
}

/// Fills the form and submits it past the script, as without JavaScript.
async fn submit_without_script(phone: &Browser, input: &str, plate: &str) -> anyhow::Result<()> {
    phone.goto("/passes/verify").await?;
    fill(phone, "#pv-input", input).await?;
    fill(phone, "#pv-plate", plate).await?;
    let submit = "HTMLFormElement.prototype.submit.call(document.getElementById('pv-form')); return null;";
    phone.client.execute(submit, vec![]).await?;
    Ok(())
}

/// The verdict the server renders for a form posted without the script.
async fn verdict_without_script(phone: &Browser, input: &str, plate: &str) -> anyhow::Result<Shown> {
    submit_without_script(phone, input, plate).await?;
    poll_until("the server's verdict in the page", UI_TIMEOUT, || async {
        Ok(phone.has("#pv-result:not([hidden])").await?.then_some(()))
    })
    .await?;
    read_result(phone).await
}

/// A form posted without the script that the server refuses: waits for the
/// error beside a field.
async fn refused_without_script(phone: &Browser, input: &str, plate: &str) -> anyhow::Result<()> {
    submit_without_script(phone, input, plate).await?;
    poll_until("an error beside a field", UI_TIMEOUT, || async {
        Ok(phone.has("#pv-form .field-error").await?.then_some(()))
    })
    .await
}

/// Whether the verdict's line is within the window.
const IN_VIEW: &str = "const r = document.getElementById('pv-verdict').getBoundingClientRect(); \
                       return r.top >= 0 && r.bottom <= window.innerHeight;";

async fn read_result(phone: &Browser) -> anyhow::Result<Shown> {
    let class = phone.attr("#pv-result", "class").await?.unwrap_or_default();
    let plates = phone.client.find_all(fantoccini::Locator::Css("#pv-result .pass-plate")).await?;
    let mut big = Vec::new();
    for p in plates {
        big.push(p.text().await?.trim().to_owned());
    }
    Ok(Shown {
        verdict: phone.attr("#pv-result", "data-verdict").await?.unwrap_or_default(),
        good: class.split_whitespace().any(|c| c == "pv-valid"),
        says: phone.text("#pv-verdict").await?,
        how: phone.text("#pv-how").await?,
        plates: big,
        in_view: phone.client.execute(IN_VIEW, vec![]).await? == json!(true),
    })
}

fn expect_valid(shown: &Shown, when: &str) -> anyhow::Result<()> {
    ensure!(shown.in_view, "{when}, the verdict should be on the screen: {shown:?}");
    ensure!(
        shown.verdict == "valid" && shown.good && shown.says.contains("有效"),
        "{when}, the good pass should be shown valid: {shown:?}"
    );
    ensure!(shown.plates == [PLATE], "{when}, the plate should stand in large characters: {shown:?}");
    Ok(())
}

fn expect_refused(shown: &Shown, verdict: &str, says: &str, when: &str) -> anyhow::Result<()> {
    ensure!(shown.in_view, "{when}, the verdict should be on the screen: {shown:?}");
    ensure!(
        shown.verdict == verdict && !shown.good && shown.says.contains(says),
        "{when} should be shown {verdict} ({says}): {shown:?}"
    );
    Ok(())
}
