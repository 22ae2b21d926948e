//! A call from HQ to a post, through Shouwang's own SFU, in two real
//! browsers with fake cameras and microphones: the commander clicks "call"
//! on the board, the officer's phone rings with the caller's name, the
//! officer accepts, and both sides receive the other's audio and video
//! (bytes and decoded frames growing in `getStats()`). The officer drops to
//! audio only: HQ still hears them but gets no more video. The commander
//! hangs up: the phone's call screen says so, and the call is in HQ's call
//! history, answered.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use shouwang_e2e::{Browser, BrowserTools, LossyUdp, Session, TurnServer, UI_TIMEOUT, poll_until};

use crate::duty::{OFFICER, OFFICER_PASSWORD, PHONE, admin_in_zhuyangguan, api, set_the_scene};

/// Media takes a moment to flow: ICE, DTLS, the first keyframe — and on a
/// machine loaded with six browsers, maybe one fresh join after call.js's
/// 12-second watchdog.
const MEDIA_TIMEOUT: Duration = Duration::from_secs(45);

#[tokio::test]
async fn the_commander_calls_a_post_and_both_see_and_hear_each_other() -> anyhow::Result<()> {
    // The SFU's layer switches are logged at debug level, for a failure to show.
    hq_and_phone("zh-CN", &[("SHOUWANG_LOG", "info,sqlx=warn,shouwang_media=debug")], call).await
}

/// Runs `test` with HQ's browser on a fresh demo server (configured by
/// `env`) and a phone's browser, both preferring `lang`; closes both and
/// adds what they said to a failure.
async fn hq_and_phone(
    lang: &str,
    env: &[(&str, &str)],
    test: impl AsyncFnOnce(&Session, &Browser) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let _shared = shouwang_e2e::few_browsers().await;
    let session = Session::start_with(&tools, 5_000, lang, env).await?;
    let phone = session.another_browser(&tools, lang).await?;
    let result = test(&session, &phone).await.map_err(|e| phone.explain("the phone", e));
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

/// What call messages and script errors `browser`'s page saw (call.js
/// keeps the last 50).
async fn heard(browser: &Browser) -> Value {
    browser.client.execute("return window.__callLog || null;", vec![]).await.unwrap_or_default()
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
        Err(e) => {
            let status = browser.text("#call-status").await.unwrap_or_else(|_| "(no call screen)".into());
            let last = stats(browser).await.unwrap_or_default();
            let heard = heard(browser).await;
            Err(e.context(format!("{who}'s last stats: {last}; the call screen says {status:?}; heard {heard}")))
        }
    }
}

/// Sets the scene, has the officer check in on the phone, the commander
/// call the post from the board and the officer accept.
async fn ring_and_accept(hq: &Session, phone: &Browser) -> anyhow::Result<()> {
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
    Ok(())
}

/// Waits until HQ and the phone receive each other's audio and video, and
/// checks both keep growing; returns their stats then.
async fn both_receive(hq: &Session, phone: &Browser) -> anyhow::Result<(Value, Value)> {
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
    Ok((hq_then, phone_then))
}

async fn call(hq: &Session, phone: &Browser) -> anyhow::Result<()> {
    ring_and_accept(hq, phone).await?;

    // Both receive the other's audio and video through the SFU.
    both_receive(hq, phone).await?;
    let label = poll_until("HQ's tile to name the officer", UI_TIMEOUT, || async {
        let t = hq.text("#call-grid .call-tile .call-name").await.unwrap_or_default();
        Ok((!t.is_empty()).then_some(t))
    })
    .await?;
    ensure!(label == "林守望", "HQ's video tile should be labelled with the officer's name, reads {label:?}");
    hq.screenshot("call-hq.png").await?;
    phone.screenshot("call-phone.png").await?;
    simulcast(hq, phone).await?;

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

    // HQ's call history records it: answered, the officer in it and gone.
    // (The board's feed shows only the newest twenty events, which the
    // demo's simulator may have moved on from by now.)
    hq.goto("/calls").await?;
    let row = "#calls tbody tr[data-outcome='answered']";
    let text = poll_until("the call in HQ's history", UI_TIMEOUT, || async {
        Ok(if hq.has(row).await? { Some(hq.text(row).await?) } else { None })
    })
    .await?;
    ensure!(
        text.contains("林守望") && text.contains("已接听"),
        "the history should show the officer answered: {text:?}"
    );
    Ok(())
}

/// The width of the one remote video `browser` decodes now (0: none yet).
fn width(stats: &Value) -> i64 {
    stats["frameWidths"].as_object().and_then(|m| m.values().next()).and_then(Value::as_i64).unwrap_or(0)
}

/// The width `browser` encodes its simulcast layer `rid` at now (0: not
/// reported). A browser short of CPU scales every layer down, so the test
/// compares what each side decodes with what the other encodes, not with
/// the camera's 640.
fn layer_width(stats: &Value, rid: &str) -> i64 {
    stats["layerWidths"][rid].as_i64().unwrap_or(0)
}

/// What a failed layer check needs to be understood: both sides' stats twice,
/// two seconds apart (a stalled decoder or a layer that comes and goes), the
/// layers each page asked for, and the SFU's layer switches.
async fn layers_explained(hq: &Session, phone: &Browser) -> anyhow::Result<String> {
    let (hs, ps) = (stats(hq).await?, stats(phone).await?);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (hs2, ps2) = (stats(hq).await?, stats(phone).await?);
    let asked = "return window.shouwangCall.qualities;";
    let (hq_asked, phone_asked) = (hq.client.execute(asked, vec![]).await?, phone.client.execute(asked, vec![]).await?);
    let log = hq.server.log_tail(5_000);
    let switches: Vec<&str> = log.lines().filter(|l| l.contains("simulcast") || l.contains("keyframe")).collect();
    Ok(format!(
        "HQ's stats {hs}, 2 s later {hs2}; the phone's {ps}, 2 s later {ps2}; HQ asked {hq_asked}, the phone \
         {phone_asked}; the SFU's layer switches and keyframe requests:\n{}",
        switches.join("\n")
    ))
}

/// `result`, or its error with [`layers_explained`] added.
async fn or_explained<T>(result: anyhow::Result<T>, hq: &Session, phone: &Browser) -> anyhow::Result<T> {
    match result {
        Ok(value) => Ok(value),
        Err(e) => Err(e.context(layers_explained(hq, phone).await?)),
    }
}

/// Both cameras (640×480) go out in two simulcast layers, half (`h`) and
/// full size (`f`), and the SFU sends each side the one its screen needs:
/// HQ's wide tile gets the phone's full layer, the phone's narrow one HQ's
/// half layer, until the officer taps it.
async fn simulcast(hq: &Session, phone: &Browser) -> anyhow::Result<()> {
    for (who, browser) in [("HQ", &**hq), ("the phone", phone)] {
        poll_until(&format!("{who} to send both simulcast layers"), MEDIA_TIMEOUT, || async {
            let s = stats(browser).await?;
            let layers = s["layersOut"].as_array().cloned().unwrap_or_default();
            Ok((layers.contains(&json!("h")) && layers.contains(&json!("f"))).then_some(()))
        })
        .await
        .with_context(|| format!("{who}'s layers"))?;
    }
    let sizes = poll_until("HQ to get the phone's full layer and the phone HQ's half one", MEDIA_TIMEOUT, || async {
        let (hs, ps) = (stats(hq).await?, stats(phone).await?);
        let (h, p) = (width(&hs), width(&ps));
        let hq_gets_full = h == layer_width(&ps, "f") && h > layer_width(&ps, "h");
        let phone_gets_half = p == layer_width(&hs, "h") && p > 0 && p < layer_width(&hs, "f");
        Ok((hq_gets_full && phone_gets_half).then_some((h, p)))
    })
    .await;
    let (h, p) = or_explained(sizes, hq, phone).await?;
    let asked = phone.client.execute("return window.shouwangCall.qualities;", vec![]).await?;
    ensure!(
        asked.as_object().is_some_and(|m| m.values().all(|q| q == "low")),
        "the phone's narrow tile should have asked for the small layer: {asked} (widths: HQ {h}, phone {p})"
    );
    phone.click("#call-grid .call-tile").await?;
    let full = poll_until("the phone to get HQ's full layer once the officer taps the tile", MEDIA_TIMEOUT, || async {
        let (hs, ps) = (stats(hq).await?, stats(phone).await?);
        let w = width(&ps);
        Ok((w == layer_width(&hs, "f") && w > layer_width(&hs, "h")).then_some(w))
    })
    .await;
    let full = or_explained(full, hq, phone).await?;
    ensure!(full > p, "tapping the tile should bring a bigger picture: {p} then {full}");

    // The phone's uplink weakens and its browser pauses the full layer, as
    // Chrome does when its bandwidth estimate drops: HQ's picture goes on,
    // from the half-size layer, and comes back to full size after.
    let paused = phone.client.execute("return window.shouwangCall.sendLayer('f', false);", vec![]).await?;
    ensure!(paused == json!(true), "the phone should have a full layer to pause: {paused}");
    let before = stats(hq).await?;
    let half = poll_until("HQ to go on with the phone's half layer", MEDIA_TIMEOUT, || async {
        let (hs, ps) = (stats(hq).await?, stats(phone).await?);
        let w = width(&hs);
        let more = n(&hs, "framesDecoded") > n(&before, "framesDecoded") + 30;
        Ok((w > 0 && w == layer_width(&ps, "h") && w < width(&before) && more).then_some(w))
    })
    .await;
    let half = or_explained(half, hq, phone).await?;
    phone.client.execute("return window.shouwangCall.sendLayer('f', true);", vec![]).await?;
    let again = poll_until("HQ to get the phone's full layer again", MEDIA_TIMEOUT, || async {
        let (hs, ps) = (stats(hq).await?, stats(phone).await?);
        let w = width(&hs);
        Ok((w == layer_width(&ps, "f") && w > half).then_some(()))
    })
    .await
    .with_context(|| format!("HQ was at {half} wide"));
    or_explained(again, hq, phone).await
}

/// A script to run before any page script on a phone, that passes the lines
/// of every session description the page applies through `edit` (a JS
/// function of the array of lines): what the network between the phone and
/// the server does to the server's candidates. (No firewall or network
/// emulator can be set up on the test machine.)
fn network_between(edit: &str) -> String {
    format!(
        r#"(() => {{
  const edit = {edit};
  const apply = RTCPeerConnection.prototype.setRemoteDescription;
  RTCPeerConnection.prototype.setRemoteDescription = function (description, ...rest) {{
    if (description && description.sdp) {{
      description = {{ type: description.type, sdp: edit(description.sdp.split("\r\n")).join("\r\n") }};
    }}
    return apply.call(this, description, ...rest);
  }};
}})();"#
    )
}

#[tokio::test]
async fn a_phone_whose_network_blocks_udp_gets_the_call_over_tcp() -> anyhow::Result<()> {
    hq_and_phone("en", &[], over_tcp).await
}

async fn over_tcp(hq: &Session, phone: &Browser) -> anyhow::Result<()> {
    // The phone's network drops UDP: the server's UDP candidate never works.
    let block_udp =
        network_between(r#"(lines) => lines.filter((l) => !(l.startsWith("a=candidate:") && / udp /i.test(l)))"#);
    phone.cdp("Page.addScriptToEvaluateOnNewDocument", json!({ "source": block_udp })).await?;
    ring_and_accept(hq, phone).await?;
    let (hq_then, phone_then) = both_receive(hq, phone).await?;
    ensure!(phone_then["transport"] == "tcp", "the phone's media should go over TCP: {phone_then}");
    ensure!(hq_then["transport"] == "udp", "HQ's network lets UDP through: {hq_then}");
    Ok(())
}

#[tokio::test]
async fn a_phone_that_can_reach_only_a_turn_server_gets_the_call_relayed_through_it() -> anyhow::Result<()> {
    let Some(turn) = TurnServer::start_or_skip().await? else { return Ok(()) };
    let url = format!("turn:{}?transport=tcp", turn.addr());
    let env = [("SHOUWANG_MEDIA__TURN__URLS", url.as_str()), ("SHOUWANG_MEDIA__TURN__SECRET", TurnServer::SECRET)];
    let result = hq_and_phone("zh-CN", &env, async |hq, phone| relayed(hq, phone, &turn).await).await;
    result.map_err(|e| e.context(format!("the TURN server's log ends:\n{}", turn.log_tail(30))))
}

async fn relayed(hq: &Session, phone: &Browser, turn: &TurnServer) -> anyhow::Result<()> {
    // The phone's network lets it reach nothing but the TURN server, over
    // TCP: it may use relayed candidates only, with the credentials the
    // server made for it.
    let only_relay = r#"(() => {
  const Real = RTCPeerConnection;
  window.RTCPeerConnection = class extends Real {
    constructor(config = {}, ...rest) { super({ ...config, iceTransportPolicy: "relay" }, ...rest); }
  };
})();"#;
    phone.cdp("Page.addScriptToEvaluateOnNewDocument", json!({ "source": only_relay })).await?;
    ring_and_accept(hq, phone).await?;
    let (hq_then, phone_then) = both_receive(hq, phone).await?;
    ensure!(
        phone_then["route"] == "relay" && phone_then["relayProtocol"] == "tcp",
        "the phone's media should be relayed by the TURN server, reached over TCP: {phone_then}"
    );
    ensure!(hq_then["route"] == "host", "HQ goes direct: {hq_then}");
    // coturn took the credentials Shouwang made (a relayed route needs an
    // allocation; its log says so too).
    ensure!(
        turn.log_tail(usize::MAX).lines().any(|l| l.contains("ALLOCATE processed, success")),
        "coturn should log a successful allocation"
    );

    // The phone changes networks (an ICE restart, with credentials asked
    // for again): the call goes on through the TURN server.
    let answers =
        || async { heard(phone).await.as_array().map_or(0, |h| h.iter().filter(|m| *m == "call.answer").count()) };
    let before = answers().await;
    phone.client.execute("window.shouwangCall.restart();", vec![]).await?;
    poll_until("the server to answer the restart", UI_TIMEOUT, || async {
        Ok((answers().await > before).then_some(()))
    })
    .await?;
    let (_, after) = both_receive(hq, phone).await?;
    ensure!(after["route"] == "relay", "still relayed after the restart: {after}");
    Ok(())
}

#[tokio::test]
async fn a_phone_on_a_lossy_network_steps_down_to_push_to_talk_and_hq_sees_it() -> anyhow::Result<()> {
    // The SFU on a known port, and a link to it that loses a third of the
    // phone's media packets.
    let media = shouwang_e2e::free_port()?;
    let relay = LossyUdp::start(([127, 0, 0, 1], media).into(), 3).await?;
    let bind = format!("127.0.0.1:{media}");
    hq_and_phone("zh-CN", &[("SHOUWANG_MEDIA__BIND", &bind)], async |hq, phone| weak_link(hq, phone, &relay).await)
        .await
}

async fn weak_link(hq: &Session, phone: &Browser, relay: &LossyUdp) -> anyhow::Result<()> {
    // The server's UDP candidate points at the relay, and its TCP candidate
    // is out of reach: all the phone's media crosses the lossy link.
    let through_relay = network_between(&format!(
        r#"(lines) => lines.filter((l) => !(l.startsWith("a=candidate:") && / tcp /i.test(l)))
             .map((l) => l.startsWith("a=candidate:") ? l.replace(/ (\d+) typ host/, " {} typ host") : l)"#,
        relay.port()
    ));
    phone.cdp("Page.addScriptToEvaluateOnNewDocument", json!({ "source": through_relay })).await?;
    ring_and_accept(hq, phone).await?;
    receiving(phone, "the phone").await?;

    // The phone loses a third of the media it sends: it turns its video off,
    // then (still losing a third of its voice) goes push-to-talk, each by
    // itself, and says so on its screen.
    let modes = std::cell::RefCell::new(Vec::new());
    let stepped = poll_until("the phone to step down to push-to-talk", MEDIA_TIMEOUT, || async {
        let s = stats(phone).await?;
        let mut seen = modes.borrow_mut();
        if seen.last() != Some(&s["mode"]) {
            seen.push(s["mode"].clone());
        }
        Ok((s["mode"] == "ptt").then_some(s))
    })
    .await;
    let last = match stepped {
        Ok(s) => s,
        Err(e) => {
            let heard = heard(phone).await;
            let last = stats(phone).await.unwrap_or_default();
            return Err(e.context(format!("the phone's modes: {:?}; last stats {last}; heard {heard}", modes.borrow())));
        }
    };
    ensure!(*modes.borrow() == [json!("video"), json!("audio"), json!("ptt")], "step by step: {:?}", modes.borrow());
    ensure!(n(&last, "videoOut") > 0, "the phone sent video before stepping down: {last}");
    ensure!(relay.dropped() > 100, "the link lost the phone's media: {} packets", relay.dropped());
    let banner = phone.text("#call-network-text").await?;
    ensure!(banner.contains("按住说话"), "the phone should say it is push-to-talk now, says {banner:?}");
    ensure!(last["micOn"] == false, "push-to-talk: the microphone is off until the button is held: {last}");
    let hold = "document.getElementById('call-talk').dispatchEvent(new PointerEvent(arguments[0], { bubbles: true }));
                return window.shouwangCallMicOn();";
    let held = phone.client.execute(hold, vec![json!("pointerdown")]).await?;
    let released = phone.client.execute(hold, vec![json!("pointerup")]).await?;
    ensure!(held == true && released == false, "holding the button opens the microphone: {held}, then {released}");

    // HQ sees it beside the officer's name, and no more of the phone's
    // video; HQ's own link is fine and stays on video.
    let mode = poll_until("HQ to see the phone's push-to-talk", UI_TIMEOUT, || async {
        let li = "#call-parties li[data-mode='ptt']";
        Ok(if hq.has(li).await? { Some(hq.text(li).await?) } else { None })
    })
    .await?;
    ensure!(mode.contains("林守望") && mode.contains("按住说话"), "HQ's list should name the officer's mode: {mode:?}");
    let (before, phone_before) = (stats(hq).await?, stats(phone).await?);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (after, phone_after) = (stats(hq).await?, stats(phone).await?);
    ensure!(
        n(&after, "framesDecoded") == n(&before, "framesDecoded"),
        "no video comes from a phone that stepped down: {before} then {after}"
    );
    ensure!(after["mode"] == "video", "HQ's own link stays on video: {after}");
    // Nor does the SFU send the phone HQ's video any more: its weak link
    // carries the voice alone.
    ensure!(
        n(&phone_after, "videoIn") == n(&phone_before, "videoIn")
            && n(&phone_after, "audioIn") > n(&phone_before, "audioIn"),
        "the phone should receive HQ's voice and no video: {phone_before} then {phone_after}"
    );
    hq.screenshot("call-weak-link-hq.png").await?;
    phone.screenshot("call-weak-link-phone.png").await?;
    Ok(())
}

/// A post with its own officer, checked in: the officer's browser is on
/// "My post", listening for rings (and orders).
pub(crate) struct Post {
    pub(crate) id: i64,
    pub(crate) officer: String,
    pub(crate) phone: Browser,
}

/// Sets up `n` posts in 朱阳关镇 (as the demo admin, from `hq`'s browser), each
/// with an officer on shift (`e2e.{prefix}1`, … at posts `{PREFIX}-1`, …),
/// and opens a phone per officer that signs in, checks in (through the API,
/// from the phone, which reports where it is) and stays on "My post".
pub(crate) async fn posts(tools: &BrowserTools, hq: &Session, prefix: &str, n: usize) -> anyhow::Result<Vec<Post>> {
    let (csrf, township) = admin_in_zhuyangguan(hq).await?;
    let now_us = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros())?;
    let hour_us = 3_600_000_000;
    let mut scene = Vec::new();
    for i in 1..=n {
        let username = format!("e2e.{prefix}{i}");
        let officer = json!({ "username": username, "display_name": format!("值守员{i}"), "password": OFFICER_PASSWORD,
                              "role": "duty_officer", "org_unit_id": township });
        let officer = api(hq, "POST", "/api/v1/users", officer, &csrf).await?["id"].as_i64().context("no user id")?;
        let post = json!({ "org_unit_id": township, "code": format!("{}-{i}", prefix.to_uppercase()), "name": format!("测试点{i}"),
                           "kind": "trunk_road", "lat": PHONE.0 + 0.01 * i as f64, "lon": PHONE.1, "required_staff": 1 });
        let cp = api(hq, "POST", "/api/v1/checkpoints", post, &csrf).await?["id"].as_i64().context("no id")?;
        let shift = json!({ "starts_us": now_us - hour_us, "ends_us": now_us + 7 * hour_us, "leader_id": officer,
                            "staff": [officer] });
        let shift = api(hq, "POST", &format!("/api/v1/checkpoints/{cp}/shifts"), shift, &csrf).await?;
        scene.push((cp, username, shift["id"].as_i64().context("no shift id")?, PHONE.0 + 0.01 * i as f64));
    }
    api(hq, "POST", "/api/v1/auth/logout", Value::Null, &csrf).await?;
    let mut out = Vec::new();
    for (cp, username, shift, lat) in scene {
        let phone = hq.another_browser(tools, "zh-CN").await?;
        phone.client.set_window_size(360, 780).await?;
        phone.goto("/login").await?;
        phone.set_geolocation(lat, PHONE.1).await?;
        let login = api(
            &phone,
            "POST",
            "/api/v1/auth/login",
            json!({ "username": username, "password": OFFICER_PASSWORD }),
            "",
        )
        .await?;
        let csrf = login["csrf_token"].as_str().context("no csrf_token")?.to_owned();
        let check_in = json!({ "id": uuid::Uuid::now_v7().to_string(), "shift_id": shift, "lat": lat, "lon": PHONE.1 });
        api(&phone, "POST", "/api/v1/check-ins", check_in, &csrf).await?;
        phone.goto("/my-post").await?;
        out.push(Post { id: cp, officer: username, phone });
    }
    for p in &out {
        poll_until(&format!("{}'s live connection", p.officer), UI_TIMEOUT, || async {
            Ok((p.phone.attr("#live-status", "data-state").await?.as_deref() == Some("online")).then_some(()))
        })
        .await?;
    }
    Ok(out)
}

/// Closes every phone, keeping the first error.
pub(crate) async fn close_all(phones: Vec<Post>, result: anyhow::Result<()>) -> anyhow::Result<()> {
    let mut closed = Ok(());
    for p in phones {
        let c = p.phone.close().await;
        if closed.is_ok() {
            closed = c;
        }
    }
    result.and(closed)
}

pub(crate) async fn commander_on_the_board(hq: &Session) -> anyhow::Result<()> {
    hq.sign_in("commander", "demo").await?;
    hq.wait_for_path("/").await.context("signing in as commander")?;
    poll_until("the board's live connection", UI_TIMEOUT, || async {
        Ok((hq.attr("#live-status", "data-state").await?.as_deref() == Some("online")).then_some(()))
    })
    .await
}

async fn answer(post: &Post) -> anyhow::Result<()> {
    poll_until(&format!("{}'s phone to ring", post.officer), UI_TIMEOUT, || async {
        Ok(post.phone.has(".call-ring .call-accept").await?.then_some(()))
    })
    .await?;
    post.phone.click(".call-ring .call-accept").await
}

/// How many video tiles `browser`'s call screen shows.
async fn tiles(browser: &Browser) -> anyhow::Result<usize> {
    Ok(browser.client.find_all(fantoccini::Locator::Css("#call-grid .call-tile")).await?.len())
}

#[tokio::test]
async fn a_call_grows_to_three_and_a_phone_that_dies_is_dropped_for_the_others() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let _alone = shouwang_e2e::many_browsers().await;
    let session = Session::start(&tools, 5_000, "zh-CN").await?;
    let mut phones = Vec::new();
    let result = async {
        phones = posts(&tools, &session, "call", 2).await?;
        three_party(&session, &mut phones).await
    }
    .await;
    let result = close_all(phones, result).await;
    session.finish(result).await
}

async fn three_party(hq: &Session, phones: &mut Vec<Post>) -> anyhow::Result<()> {
    commander_on_the_board(hq).await?;
    hq.click(&format!("button[data-call-checkpoint='{}']", phones[0].id)).await?;
    answer(&phones[0]).await?;
    receiving(hq, "HQ").await?;

    // HQ adds the second post to the call; its officer answers.
    hq.select("#call-add-post", &phones[1].id.to_string()).await?;
    hq.click("#call-add").await?;
    answer(&phones[1]).await?;
    for (who, browser) in [("HQ", &**hq), ("post 1", &phones[0].phone), ("post 2", &phones[1].phone)] {
        poll_until(&format!("{who} to show the two others"), MEDIA_TIMEOUT, || async {
            Ok((tiles(browser).await? == 2).then_some(()))
        })
        .await?;
        let first = receiving(browser, who).await?;
        tokio::time::sleep(Duration::from_secs(1)).await;
        let then = stats(browser).await?;
        ensure!(n(&then, "framesDecoded") > n(&first, "framesDecoded"), "{who}'s video should keep decoding");
    }
    hq.screenshot("call-three.png").await?;

    // Post 2's phone dies (the browser is killed): within seconds the others
    // no longer show it, and post 1 and HQ go on.
    let dead = phones.pop().context("two phones")?;
    dead.phone.close().await?;
    for (who, browser) in [("HQ", &**hq), ("post 1", &phones[0].phone)] {
        poll_until(&format!("{who} to drop the dead phone"), MEDIA_TIMEOUT, || async {
            Ok((tiles(browser).await? == 1).then_some(()))
        })
        .await?;
    }
    let before = stats(&phones[0].phone).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = stats(&phones[0].phone).await?;
    ensure!(n(&after, "framesDecoded") > n(&before, "framesDecoded"), "post 1 should still see HQ: {before} {after}");
    let listed = hq.text("#call-parties").await?;
    ensure!(!listed.contains("值守员2"), "the dead phone's officer should be off the list: {listed:?}");
    Ok(())
}

#[tokio::test]
async fn a_broadcast_reaches_five_posts_and_one_is_given_the_floor() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let _alone = shouwang_e2e::many_browsers().await;
    let session = Session::start(&tools, 5_000, "zh-CN").await?;
    let mut phones = Vec::new();
    let result = async {
        phones = posts(&tools, &session, "call", 5).await?;
        broadcast(&session, &phones).await
    }
    .await;
    let result = close_all(phones, result).await;
    session.finish(result).await
}

async fn broadcast(hq: &Session, phones: &[Post]) -> anyhow::Result<()> {
    commander_on_the_board(hq).await?;
    // The board knows the five posts are staffed before broadcasting.
    for p in phones {
        let css = format!("button[data-call-checkpoint='{}']", p.id);
        poll_until("the post staffed on the board", UI_TIMEOUT, || async {
            Ok((hq.attr(&css, "data-present").await?.as_deref() == Some("1")).then_some(()))
        })
        .await?;
    }
    hq.click("button[data-call-broadcast]").await?;
    for p in phones {
        answer(p).await?;
    }
    // Every post hears and sees HQ; their microphones are off.
    for p in phones {
        receiving(&p.phone, &p.officer).await?;
        let mic =
            p.phone.client.execute("return document.querySelector('.call-screen.has-floor') !== null;", vec![]).await?;
        ensure!(mic == json!(false), "{} should not hold the floor yet", p.officer);
    }
    // Post 3 asks to speak; HQ gives it the floor.
    let asking = &phones[2];
    asking.phone.click("#call-raise-hand").await?;
    let seen = poll_until("HQ to see the raised hand", MEDIA_TIMEOUT, || async {
        Ok(hq.has("#call-parties li .call-hand").await?.then_some(()))
    })
    .await;
    if let Err(e) = seen {
        let (asked, heard) = (heard(&asking.phone).await, heard(hq).await);
        let list = hq.client.execute("return document.getElementById('call-parties')?.innerHTML;", vec![]).await;
        return Err(e.context(format!("the post heard {asked}; HQ heard {heard}; HQ lists {list:?}")));
    }
    // The list is redrawn whenever a party changes (the demo's other posts
    // are still being rung): click whatever button is there now.
    let script = "const b = document.querySelector('#call-parties li .call-hand ~ .call-give-floor'); \
                  if (b) b.click(); return b !== null;";
    poll_until("HQ to give the floor", MEDIA_TIMEOUT, || async {
        Ok((hq.client.execute(script, vec![]).await? == json!(true)).then_some(()))
    })
    .await?;
    poll_until("post 3 to hold the floor", MEDIA_TIMEOUT, || async {
        Ok(asking.phone.has(".call-screen.has-floor").await?.then_some(()))
    })
    .await?;
    let enabled = asking
        .phone
        .client
        .execute("return window.shouwangCallMicOn ? window.shouwangCallMicOn() : null;", vec![])
        .await?;
    ensure!(enabled == json!(true), "post 3's microphone should be on while it holds the floor, is {enabled}");
    for other in phones.iter().filter(|p| p.id != asking.id) {
        ensure!(!other.phone.has(".call-screen.has-floor").await?, "{} should not hold the floor", other.officer);
    }
    hq.screenshot("call-broadcast.png").await?;
    Ok(())
}

#[tokio::test]
async fn an_inspection_shows_two_posts_cameras_side_by_side_once_the_officers_consent() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let _alone = shouwang_e2e::many_browsers().await;
    let session = Session::start(&tools, 5_000, "en").await?;
    let mut phones = Vec::new();
    let result = async {
        phones = posts(&tools, &session, "call", 2).await?;
        inspection(&session, &phones).await
    }
    .await;
    let result = close_all(phones, result).await;
    session.finish(result).await
}

async fn inspection(hq: &Session, phones: &[Post]) -> anyhow::Result<()> {
    commander_on_the_board(hq).await?;
    // Nothing ticked: the page says what to do, nothing rings.
    hq.click("button[data-call-inspect]").await?;
    let said = hq.client.get_alert_text().await?;
    ensure!(said.contains("Tick the posts"), "inspecting nothing should say to tick posts, says {said:?}");
    hq.client.accept_alert().await?;
    for p in phones {
        hq.click(&format!("input[data-inspect][value='{}']", p.id)).await?;
    }
    hq.click("button[data-call-inspect]").await?;
    // Each officer is asked, and consents by accepting.
    for p in phones {
        let asked = poll_until("the inspection request", UI_TIMEOUT, || async {
            Ok(if p.phone.has(".call-ring").await? { Some(p.phone.text(".call-ring-title").await?) } else { None })
        })
        .await?;
        ensure!(asked.contains("查看您的摄像头"), "the ring should say HQ asks to see the camera, says {asked:?}");
        answer(p).await?;
    }
    // HQ sees both cameras side by side, moving; the posts' microphones are off.
    poll_until("HQ to show both cameras", MEDIA_TIMEOUT, || async { Ok((tiles(hq).await? == 2).then_some(())) })
        .await?;
    let first = receiving(hq, "HQ").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let then = stats(hq).await?;
    ensure!(n(&then, "framesDecoded") > n(&first, "framesDecoded"), "HQ's video should keep decoding: {first} {then}");
    for p in phones {
        let mic = p.phone.client.execute("return window.shouwangCallMicOn();", vec![]).await?;
        ensure!(mic == json!(false), "{}'s microphone should be off in an inspection", p.officer);
    }
    hq.screenshot("call-inspection.png").await?;
    Ok(())
}

#[tokio::test]
async fn a_recorded_call_is_announced_to_both_and_its_tracks_play_back() -> anyhow::Result<()> {
    let Some(ffprobe) = ffprobe_or_skip() else { return Ok(()) };
    hq_and_phone("en", &[("SHOUWANG_MEDIA__RECORD", "true")], async |hq, phone| recorded(hq, phone, &ffprobe).await)
        .await
}

/// Debian's `ffprobe` (package `ffmpeg`), which plays the recordings back;
/// `None` after a skip line when it is missing, unless CI demands it.
fn ffprobe_or_skip() -> Option<std::path::PathBuf> {
    let path = std::path::PathBuf::from("/usr/bin/ffprobe");
    if path.is_file() {
        return Some(path);
    }
    assert!(
        !shouwang_e2e::require_all(),
        "SHOUWANG_REQUIRE_ALL=1 but /usr/bin/ffprobe is missing (apt-get install ffmpeg)"
    );
    println!("SKIP recorded call: ffprobe not found (apt-get install ffmpeg)");
    None
}

/// Decodes every frame of the first stream of `file` with ffprobe; returns
/// the codec's name and the frames decoded.
fn probe(ffprobe: &std::path::Path, file: &std::path::Path) -> anyhow::Result<(String, i64)> {
    let out = std::process::Command::new(ffprobe)
        .args(["-v", "error", "-count_frames", "-select_streams", "0"])
        .args(["-show_entries", "stream=codec_name,nb_read_frames", "-of", "json"])
        .arg(file)
        .output()?;
    ensure!(out.status.success(), "ffprobe {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout)?;
    let stream = &json["streams"][0];
    let frames = stream["nb_read_frames"].as_str().and_then(|n| n.parse().ok()).unwrap_or(0);
    Ok((stream["codec_name"].as_str().unwrap_or_default().to_owned(), frames))
}

async fn recorded(hq: &Session, phone: &Browser, ffprobe: &std::path::Path) -> anyhow::Result<()> {
    ring_and_accept(hq, phone).await?;
    both_receive(hq, phone).await?;
    // Both are told, for as long as the call lasts.
    for (who, browser) in [("HQ", &hq.browser), ("the phone", phone)] {
        let shown = browser.client.execute("return !document.getElementById('call-recorded').hidden;", vec![]).await?;
        ensure!(shown == json!(true), "{who}'s call screen should say the call is recorded");
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    hq.click("#call-hangup").await?;

    // HQ finds the recordings: each side's audio and video, once both left.
    let calls = api(hq, "GET", "/api/v1/calls?limit=1", Value::Null, "").await?;
    let id = calls[0]["id"].as_str().context("the call in the history")?.to_owned();
    let list = format!("/api/v1/calls/{id}/recordings");
    let files = poll_until("four recorded tracks, complete", UI_TIMEOUT, || async {
        let files = api(hq, "GET", &list, Value::Null, "").await?;
        let all = files.as_array().cloned().unwrap_or_default();
        Ok((all.len() == 4 && all.iter().all(|f| f["complete"] == json!(true))).then_some(files))
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let mut kinds = Vec::new();
    for file in files.as_array().into_iter().flatten() {
        let name = file["file"].as_str().context("a file name")?;
        let script = r#"
            const [path, done] = arguments;
            fetch(path).then(async (r) => done([r.status, Array.from(new Uint8Array(await r.arrayBuffer()))]))
              .catch((e) => done([0, String(e)]));
        "#;
        let got = hq.client.execute_async(script, vec![json!(format!("{list}/{name}"))]).await?;
        ensure!(got[0] == json!(200), "downloading {name}: {got:.200}");
        let bytes: Vec<u8> = serde_json::from_value(got[1].clone())?;
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes)?;
        let (codec, frames) = probe(ffprobe, &path)?;
        // Over four seconds: 50 audio packets and 30 video frames a second
        // at most; a loaded machine's fake camera may run slower.
        let least = if file["kind"] == "audio" { 150 } else { 40 };
        ensure!(frames >= least, "{name} ({codec}) should decode at least {least} frames, decodes {frames}");
        kinds.push((file["user_id"].as_i64().unwrap_or(0), codec));
    }
    kinds.sort();
    let users: std::collections::BTreeSet<i64> = kinds.iter().map(|k| k.0).collect();
    ensure!(users.len() == 2, "the tracks should be the commander's and the officer's: {kinds:?}");
    ensure!(
        kinds.iter().filter(|k| k.1 == "opus").count() == 2 && kinds.iter().filter(|k| k.1 == "vp8").count() == 2,
        "each should have Opus audio and VP8 video: {kinds:?}"
    );

    // The officer may not download what HQ recorded.
    let denied = phone
        .client
        .execute_async(
            "const [p, done] = arguments; fetch(p).then((r) => done(r.status));",
            vec![json!(format!("{list}/{}", files[0]["file"].as_str().unwrap_or_default()))],
        )
        .await?;
    ensure!(denied == json!(404) || denied == json!(403), "the officer should not get a recording: {denied}");

    // The history page links them.
    hq.goto("/calls").await?;
    let links =
        hq.client.find_all(fantoccini::Locator::Css(&format!("tr[data-call-id='{id}'] a[data-recording]"))).await?;
    ensure!(links.len() == 4, "the history should link the four recordings, links {}", links.len());
    hq.screenshot("calls-recordings.png").await?;
    Ok(())
}
