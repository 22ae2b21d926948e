//! The duty officer logs screenings on the phone page `/screen` at the
//! 朱阳关 border post (ZYG-01), where the demo login `duty` is on shift now.
//!
//! On a 360 px window: a car typed on the plate keypad and released with the
//! defaults is one tap after the plate; a feverish passenger referred to
//! hospital opens an incident for HQ; an ID number with a wrong check digit
//! is refused beside the ID field and nothing is stored.

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use shouwang_e2e::{Browser, BrowserTools, Session, UI_TIMEOUT, poll_until};

/// The simulator stays slow: this test's records should not be buried.
const SIMULATE_EVERY_MS: u64 = 5_000;

#[tokio::test]
async fn officer_screens_a_car_in_one_tap_a_fever_opens_an_incident_and_a_bad_id_is_refused() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let _shared = shouwang_e2e::few_browsers().await;
    let session = Session::start(&tools, SIMULATE_EVERY_MS, "zh-CN").await?;
    let result = screen_at_the_border(&session).await;
    session.finish(result).await
}

async fn screen_at_the_border(phone: &Session) -> anyhow::Result<()> {
    phone.client.set_window_size(360, 780).await?;
    phone.sign_in("duty", "demo").await?;
    phone.wait_for_path("/").await.context("signing in as the demo duty officer")?;
    phone.goto("/screen").await?;
    let heading = phone.text(".scr-head").await?;
    ensure!(heading.contains("ZYG-01"), "the page should be for ZYG-01, shows {heading:?}");
    let post: i64 = phone.attr("#screen-form", "data-post-id").await?.context("no post id on the form")?.parse()?;
    poll_until("the plate keypad to show", UI_TIMEOUT, || async {
        Ok(phone.has("#keypad:not([hidden]) button[data-key='豫']").await?.then_some(()))
    })
    .await?;

    // (a) A car, all normal: the plate on the keypad, then one tap.
    for key in ["豫", "M", "1", "2", "3", "4", "5"] {
        phone.click(&format!("#keypad button[data-key='{key}']")).await?;
    }
    let typed = value_of(phone, "#plate").await?;
    ensure!(typed == "豫M12345", "the keypad should have typed 豫M12345, the field holds {typed:?}");
    phone.click("#screen-submit").await?; // the one tap
    let id = logged(phone, "豫M12345").await?;
    let done = phone.text("#screen-done").await?;
    ensure!(
        done.contains("豫M12345") && done.contains("放行"),
        "the confirmation should read 豫M12345 已放行, reads {done:?}"
    );
    ensure!(value_of(phone, "#plate").await?.is_empty(), "the plate should be cleared for the next car");
    let found =
        api(phone, "GET", &format!("/api/v1/screenings?checkpoint_id={post}&plate=豫M12345"), Value::Null).await?;
    let stored = found
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["id"] == json!(id))
        .with_context(|| format!("screening {id} is not among the stored ones: {found}"))?;
    ensure!(
        stored["outcome"] == "released" && stored["direction"] == "in" && stored["vehicle_type"] == "car",
        "the defaults should be in, car, released: {stored}"
    );
    let province_first = phone.attr("#keypad-provinces button:first-child", "data-key").await?;
    ensure!(province_first.as_deref() == Some("豫"), "豫 should lead the provinces, {province_first:?} does");

    // (b) A feverish passenger, referred to hospital: an incident for HQ.
    phone.type_into("#plate", "陕C23456").await?;
    phone.click("#add-person").await?;
    phone.type_into("#p0-temperature", "38.6").await?;
    phone.click("#f-outcome label:has(input[value='referred_to_hospital'])").await?;
    let button = phone.text("#screen-submit").await?;
    ensure!(button.contains("送医"), "the button should name the outcome 送医, reads {button:?}");
    phone.click("#screen-submit").await?;
    let fever = logged(phone, "陕C23456").await?;
    let incidents = api(phone, "GET", "/api/v1/incidents", Value::Null).await?;
    let incident = incidents
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["screening_id"] == json!(fever))
        .with_context(|| format!("no incident for screening {fever}: {incidents}"))?;
    ensure!(
        incident["checkpoint_id"] == json!(post) && incident["kind"] == "fever",
        "the incident should be a fever at post {post}: {incident}"
    );

    // (c) A wrong check digit: refused beside the ID field, nothing stored.
    phone.type_into("#plate", "豫M88888").await?;
    phone.click("#add-person").await?;
    phone.type_into("#p0-id-number", "110105194912310021").await?;
    let refused_id = value_of(phone, "#screen-form input[name=id]").await?;
    phone.click("#screen-submit").await?;
    let message = poll_until("the ID number to be refused beside its field", UI_TIMEOUT, || async {
        let css = "[data-field='people[0].id_number'] .field-error";
        Ok(if phone.has(css).await? { Some(phone.text(css).await?) } else { None })
    })
    .await?;
    ensure!(message.contains("校验位"), "the message should say the check digit is wrong, says {message:?}");
    let invalid = phone.attr("#p0-id-number", "aria-invalid").await?;
    ensure!(invalid.as_deref() == Some("true"), "the ID field should be marked invalid, aria-invalid={invalid:?}");
    ensure!(
        value_of(phone, "#p0-id-number").await? == "110105194912310021"
            && value_of(phone, "#plate").await? == "豫M88888",
        "what was typed should be kept after a refusal"
    );
    let stored =
        api(phone, "GET", &format!("/api/v1/screenings?checkpoint_id={post}&plate=豫M88888"), Value::Null).await?;
    ensure!(
        stored.as_array().is_some_and(|a| a.iter().all(|s| s["id"] != json!(refused_id))),
        "a refused screening should not be stored: {stored}"
    );
    phone.screenshot("screen-refused.png").await?;

    // (d) The same form posted without the script (`form.submit()` skips
    // screen.js): a bad plate comes back beside the field, a good one is
    // stored and confirmed after the redirect.
    phone.goto("/screen").await?;
    phone.type_into("#plate", "豫M1").await?;
    native_submit(phone).await?;
    let message = poll_until("the plate to be refused beside its field", UI_TIMEOUT, || async {
        let css = "[data-field='plate'] .field-error";
        Ok(if phone.has(css).await? { Some(phone.text(css).await?) } else { None })
    })
    .await?;
    ensure!(!message.is_empty(), "the plate's refusal should say why");
    ensure!(value_of(phone, "#plate").await? == "豫M1", "the plate typed should be kept");
    phone.type_into("#plate", "豫M66666").await?;
    native_submit(phone).await?;
    poll_until("the confirmation after the form posted", UI_TIMEOUT, || async {
        Ok(phone.text("#screen-done").await?.contains("豫M66666").then_some(()))
    })
    .await?;
    let stored =
        api(phone, "GET", &format!("/api/v1/screenings?checkpoint_id={post}&plate=豫M66666"), Value::Null).await?;
    ensure!(stored.as_array().is_some_and(|a| a.len() == 1), "the posted form should store one screening: {stored}");

    phone.client.execute("window.scrollTo(0, 0)", vec![]).await?;
    let shot = phone.screenshot("screen.png").await?;
    println!("screenshot: {}", shot.display());
    Ok(())
}

/// Waits for `plate` in the "just logged" list, sent to the server (the
/// line turns from "saved on this phone" to "sent"); returns the record's id.
async fn logged(phone: &Browser, plate: &str) -> anyhow::Result<String> {
    let css = format!("#screen-log li[data-plate='{plate}'][data-state='synced']");
    let waited = poll_until(&format!("{plate} in the just-logged list, sent"), UI_TIMEOUT, || async {
        Ok(if phone.has(&css).await? { phone.attr(&css, "data-id").await? } else { None })
    })
    .await;
    if waited.is_err() {
        let errors = phone.client.find_all(fantoccini::Locator::Css(".field-error, .notice")).await?;
        let mut said = Vec::new();
        for e in errors {
            said.push(e.text().await?);
        }
        return waited.with_context(|| format!("the page says {said:?}"));
    }
    waited
}

/// Posts the screening form as a browser without JavaScript would.
async fn native_submit(browser: &Browser) -> anyhow::Result<()> {
    browser.client.execute("document.getElementById('screen-form').submit()", vec![]).await?;
    Ok(())
}

/// The current value of the input matching `css` (what JavaScript put there).
async fn value_of(browser: &Browser, css: &str) -> anyhow::Result<String> {
    let v = browser.client.execute("return document.querySelector(arguments[0]).value", vec![json!(css)]).await?;
    Ok(v.as_str().unwrap_or_default().to_owned())
}

/// One JSON API call made by the page in `browser` with its session;
/// fails unless the answer is 2xx. Returns the answer's JSON.
async fn api(browser: &Browser, method: &str, path: &str, body: Value) -> anyhow::Result<Value> {
    let script = r#"
        const [method, path, body, done] = arguments;
        const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
        const headers = { "content-type": "application/json", "x-csrf-token": csrf };
        fetch(path, { method, headers, body: body === null ? undefined : JSON.stringify(body) })
          .then(async (r) => done([r.status, await r.text()]))
          .catch((e) => done([0, String(e)]));
    "#;
    let args = vec![json!(method), json!(path), body];
    let answer = browser.client.execute_async(script, args).await.with_context(|| format!("{method} {path}"))?;
    let status = answer[0].as_i64().unwrap_or(0);
    let text = answer[1].as_str().unwrap_or_default();
    ensure!((200..300).contains(&status), "{method} {path} answered {status}: {text}");
    Ok(if text.is_empty() { Value::Null } else { serde_json::from_str(text)? })
}
