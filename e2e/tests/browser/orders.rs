//! Roll calls and orders in real browsers: the commander ticks three posts
//! on the board and calls the roll; the three officers' phones show it at
//! once (no reload), each answers "present" with one tap, and the board
//! counts 3/3. Then an order to two posts: one officer acknowledges it and
//! HQ's order page shows it live; the other lets the deadline pass and the
//! order goes overdue on the order page, and an alert on the board that the
//! commander takes. A bad deadline in HQ's form is refused beside its field.

use anyhow::{Context, ensure};
use serde_json::json;
use shouwang_e2e::{BrowserTools, Session, UI_TIMEOUT, poll_until};
use std::time::Duration;

use crate::call::{Post, close_all, commander_on_the_board, posts};
use crate::duty::api;

#[tokio::test]
async fn a_roll_call_reaches_three_phones_and_an_unacknowledged_order_goes_overdue() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let _alone = shouwang_e2e::many_browsers().await;
    let session = Session::start(&tools, 5_000, "zh-CN").await?;
    let mut phones = Vec::new();
    let result = async {
        phones = posts(&tools, &session, "roll", 3).await?;
        roll_call_and_order(&session, &phones).await
    }
    .await;
    let result = close_all(phones, result).await;
    session.finish(result).await
}

/// Waits until `post`'s phone lists something to answer (`what` picks it),
/// taps it, and waits for the phone to show it acknowledged.
/// A 1×1 PNG, as a phone's photo.
const PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90\x77\x53\xde\x00\x00\x00\x0c\x49\x44\x41\x54\x78\x9c\x63\xb8\x22\x12\x05\x00\x03\x02\x01\x43\x8e\xbb\x8c\xf4\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

async fn answer_on_the_phone(post: &Post, what: &str) -> anyhow::Result<()> {
    let css = format!("#my-orders li{what}");
    let id = poll_until(&format!("{} to show {what}", post.officer), UI_TIMEOUT, || async {
        Ok(if post.phone.has(&css).await? { post.phone.attr(&css, "data-order-id").await? } else { None })
    })
    .await?;
    // The list is swapped for a fresh one whenever an order event arrives:
    // tap whatever button is there now, until the answer shows.
    let button = format!("#my-orders li[data-order-id='{id}'] .ord-ack button");
    let done = format!("#my-orders li[data-order-id='{id}'][data-state='acknowledged']");
    poll_until(&format!("{} to see it acknowledged", post.officer), UI_TIMEOUT, || async {
        if post.phone.has(&done).await? {
            return Ok(Some(()));
        }
        let script = format!("const b = document.querySelector(\"{button}\"); if (b && !b.disabled) b.click();");
        post.phone.client.execute(&script, vec![]).await?;
        Ok(None)
    })
    .await
}

async fn roll_call_and_order(hq: &Session, phones: &[Post]) -> anyhow::Result<()> {
    commander_on_the_board(hq).await?;
    for p in phones {
        let css = format!("#board-table tr[data-post-id='{}'] [data-field=present]", p.id);
        poll_until("the post staffed on the board", UI_TIMEOUT, || async {
            Ok((hq.attr(&css, "data-value").await?.as_deref() == Some("1")).then_some(()))
        })
        .await?;
        hq.click(&format!("input[data-inspect][value='{}']", p.id)).await?;
    }
    // The filters narrow the table to one kind of post, and back.
    hq.select("#board-filters select[name=kind]", "trunk_road").await?;
    let kinds = hq
        .client
        .execute("return [...document.querySelectorAll('#board-table tr[data-post-id]')].filter(r => !r.hidden).map(r => r.dataset.kind);", vec![])
        .await?;
    let kinds: Vec<String> = serde_json::from_value(kinds)?;
    ensure!(
        kinds.len() >= 3 && kinds.iter().all(|k| k == "trunk_road"),
        "only trunk-road posts should show: {kinds:?}"
    );
    hq.select("#board-filters select[name=kind]", "").await?;
    hq.click("button[data-roll-call]").await?;

    // Each phone shows the roll call without a reload; one tap answers.
    for p in phones {
        answer_on_the_phone(p, "[data-roll-call-due]").await?;
    }
    phones[0].phone.screenshot("roll-call-phone.png").await?;
    let total = poll_until("the board to count 3/3", UI_TIMEOUT, || async {
        let t = hq.text("#roll-calls [data-testid=roll-call-total]").await.unwrap_or_default();
        Ok((t == "3/3").then_some(t))
    })
    .await?;
    ensure!(total == "3/3");
    for p in phones {
        let css = format!("#roll-calls .rc-post.rc-done[data-post-id='{}']", p.id);
        ensure!(hq.has(&css).await?, "post {} should show as answered", p.id);
    }
    hq.screenshot("roll-call-board.png").await?;

    // A deadline in the past is refused beside its field, in HQ's form.
    hq.goto("/orders").await?;
    hq.type_into("#title", "立即上报物资库存").await?;
    hq.type_into("#body", "各卡点请核对口罩和消毒液库存").await?;
    hq.type_into("#deadline_minutes", "0").await?;
    hq.click(&format!("input[name=checkpoints][value='{}']", phones[0].id)).await?;
    hq.click(".ord-form button[type=submit]").await?;
    let said = poll_until("the deadline's error", UI_TIMEOUT, || async {
        Ok(if hq.has("#deadline_minutes-error").await? {
            Some(hq.text("#deadline_minutes-error").await?)
        } else {
            None
        })
    })
    .await?;
    ensure!(said.contains("晚于现在"), "the deadline should be refused as in the past, says {said:?}");
    ensure!(hq.attr("#title", "value").await?.as_deref() == Some("立即上报物资库存"), "what was typed is kept");

    // A file of the wrong kind is refused beside the picker; a PDF is sent
    // at once and goes with the order when the deadline is corrected.
    let files = tempfile::tempdir()?;
    let (script, pdf) = (files.path().join("run.sh"), files.path().join("库存表.pdf"));
    std::fs::write(&script, b"#!/bin/sh\necho hi\n")?;
    std::fs::write(&pdf, b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n")?;
    hq.pick_file("#attachment", &script).await?;
    let refused = poll_until("the file refused beside the picker", UI_TIMEOUT, || async {
        Ok(if hq.has(".upload-note.field-error").await? { Some(hq.text(".upload-note").await?) } else { None })
    })
    .await?;
    ensure!(refused.contains("不支持"), "a shell script should be refused as a kind not accepted: {refused:?}");
    hq.pick_file("#attachment", &pdf).await?;
    poll_until("the PDF sent", UI_TIMEOUT, || async {
        Ok(hq.text(".upload-note").await?.contains("库存表.pdf").then_some(()))
    })
    .await?;
    hq.type_into("#deadline_minutes", "30").await?;
    hq.click(".ord-form button[type=submit]").await?;
    let attached = poll_until("the order's page with its file", UI_TIMEOUT, || async {
        Ok(if hq.has("[data-testid=attachment]").await? {
            Some(hq.text("[data-testid=attachment]").await?)
        } else {
            None
        })
    })
    .await?;
    ensure!(attached.contains("库存表.pdf"), "the order should carry the PDF, shows {attached:?}");

    // An order to two posts with a short deadline (through the API, as a
    // dispatch system would); officer 1 acknowledges, officer 2 does not.
    let csrf = hq.attr("meta[name=csrf-token]", "content").await?.context("the page's CSRF token")?;
    let now_us = i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_micros())?;
    let order = json!({ "id": uuid::Uuid::now_v7().to_string(), "title": "核对库存", "body": "请核对并签收",
                        "priority": "urgent", "deadline_us": now_us + 20_000_000,
                        "targets": { "checkpoints": [phones[0].id, phones[1].id] } });
    let issued = api(hq, "POST", "/api/v1/orders", order, &csrf).await?;
    let id = issued["id"].as_str().context("an order id")?.to_owned();
    hq.goto(&format!("/orders/{id}")).await?;
    let live = poll_until("the order page's live connection", UI_TIMEOUT, || async {
        Ok((hq.attr("#live-status", "data-state").await?.as_deref() == Some("online")).then_some(()))
    })
    .await;
    if let Err(e) = live {
        let page = hq.client.source().await.unwrap_or_default();
        return Err(e.context(format!("the order page: {}", &page[..page.len().min(3000)])));
    }
    // Officer 1 adds a photo of the shelf to the acknowledgement.
    let photo = files.path().join("shelf.png");
    std::fs::write(&photo, PNG)?;
    let item = format!("#my-orders li[data-order-id='{id}']");
    let phone = &phones[0].phone;
    poll_until("the order on officer 1's phone", UI_TIMEOUT, || async { Ok(phone.has(&item).await?.then_some(())) })
        .await?;
    phone.pick_file(&format!("{item} .ord-ack input[type=file]"), &photo).await?;
    poll_until("the photo sent", UI_TIMEOUT, || async {
        Ok(phone.text(&format!("{item} .upload-note")).await.unwrap_or_default().contains("shelf.png").then_some(()))
    })
    .await?;
    answer_on_the_phone(&phones[0], &format!("[data-order-id='{id}']")).await?;
    let first = "#receipts tr[data-state='acknowledged']";
    poll_until("HQ to see the acknowledgement live", UI_TIMEOUT, || async { Ok(hq.has(first).await?.then_some(())) })
        .await?;
    ensure!(hq.has(&format!("{first} img.ord-photo")).await?, "HQ should see the photo with the acknowledgement");
    ensure!(hq.text("#ord-progress").await? == "1/2", "one of two acknowledged");
    let overdue = poll_until("the other receipt to go overdue", Duration::from_secs(40), || async {
        Ok(hq.has("#receipts tr[data-overdue]").await?.then_some(()))
    })
    .await;
    overdue.context("the deadline passed 20 s after issuing; the overdue job runs every 5 s")?;
    hq.screenshot("order-overdue.png").await?;
    // On the board: an alert for the officer who did not acknowledge, which
    // the commander takes.
    hq.goto("/").await?;
    let alert = format!("#alerts li[data-rule='order_overdue'][data-post-id='{}']", phones[1].id);
    poll_until("the overdue alert on the board", Duration::from_secs(30), || async {
        Ok(hq.has(&alert).await?.then_some(()))
    })
    .await?;
    ensure!(!hq.has(&format!("#alerts li[data-rule='order_overdue'][data-post-id='{}']", phones[0].id)).await?);
    let open: i64 = hq.text("#fig-alerts").await?.trim().parse()?;
    ensure!(open >= 1, "the headline counts the open alerts, shows {open}");
    hq.screenshot("order-alert-board.png").await?;
    hq.click(&format!("{alert} form button")).await?;
    poll_until("the alert taken", UI_TIMEOUT, || async {
        Ok(hq.has(&format!("{alert}[data-state='acknowledged']")).await?.then_some(()))
    })
    .await?;
    Ok(())
}
