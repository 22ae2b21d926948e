//! Resumption of work, as the people who do it: an enterprise's contact on
//! a phone applies to resume; the township approves; the enterprise resumes
//! in part, files its daily report and raises a logistics problem; its
//! service officer resolves it; the enterprise confirms with a rating. The
//! commander's dashboard at HQ follows every step without a reload.
//!
//! The scene is set through the JSON API as the demo administrator: a fresh
//! enterprise in 朱阳关镇 (where the demo `cadre` works), served by the demo
//! `service` officer, with an account for its contact. Everything else is
//! done in the pages.

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use shouwang_e2e::{Browser, BrowserTools, Session, UI_TIMEOUT, poll_until};

use crate::duty::{admin_in_zhuyangguan, api};

const SIMULATE_EVERY_MS: u64 = 5_000;
const CONTACT: &str = "e2e.hongda";
const CONTACT_PASSWORD: &str = "resume-e2e-pass";

#[tokio::test]
async fn an_enterprise_resumes_reports_and_has_its_problem_solved_while_hq_watches() -> anyhow::Result<()> {
    let Some(tools) = BrowserTools::find_or_skip() else { return Ok(()) };
    let _shared = shouwang_e2e::few_browsers().await;
    let hq = Session::start(&tools, SIMULATE_EVERY_MS, "zh-CN").await?;
    let phone = hq.another_browser(&tools, "zh-CN").await?;
    let office = hq.another_browser(&tools, "zh-CN").await?;
    let result = resume(&hq, &phone, &office).await;
    let result = result.map_err(|e| phone.explain("the enterprise's phone", e));
    let result = result.map_err(|e| office.explain("the township's and officer's browser", e));
    let closed = phone.close().await.and(office.close().await);
    hq.finish(result.and(closed)).await
}

/// A figure of the dashboard, as a number.
async fn figure(b: &Browser, name: &str) -> anyhow::Result<i64> {
    let text = b.text(&format!("[data-figure='{name}']")).await?;
    text.trim().parse().with_context(|| format!("the dashboard's {name} reads {text:?}"))
}

/// Waits until the dashboard's `name` reads `want`.
async fn figure_becomes(b: &Browser, name: &str, want: i64) -> anyhow::Result<()> {
    poll_until(&format!("the dashboard's {name} to read {want}"), UI_TIMEOUT, || async {
        Ok((figure(b, name).await? == want).then_some(()))
    })
    .await
}

/// Waits until the page's status badge reads `status`, naming what the page
/// says instead when it does not.
async fn status_is(b: &Browser, status: &str) -> anyhow::Result<()> {
    let waited = poll_until(&format!("the status to read {status}"), UI_TIMEOUT, || async {
        Ok((b.attr("[data-testid=status]", "data-status").await?.as_deref() == Some(status)).then_some(()))
    })
    .await;
    if waited.is_err() {
        let errors = b.client.find_all(fantoccini::Locator::Css(".field-error, .notice")).await?;
        let mut said = Vec::new();
        for e in errors {
            said.push(e.text().await?);
        }
        return waited.with_context(|| format!("the page says {said:?}"));
    }
    waited
}

async fn submit(b: &Browser, form: &str) -> anyhow::Result<()> {
    b.click(&format!("{form} button[type=submit]")).await
}

async fn resume(hq: &Session, phone: &Browser, office: &Browser) -> anyhow::Result<()> {
    let enterprise = set_the_scene(hq).await?;
    let page = format!("/enterprises/{enterprise}");

    // HQ: the commander opens the resumption dashboard and keeps it open.
    hq.sign_in("commander", "demo").await?;
    hq.wait_for_path("/").await.context("signing in as commander")?;
    hq.goto("/resumption").await?;
    poll_until("the dashboard's live connection", UI_TIMEOUT, || async {
        Ok((hq.attr("#live-status", "data-state").await?.as_deref() == Some("online")).then_some(()))
    })
    .await?;
    hq.client.execute("window.__shouwangE2e = 'not reloaded'; return null;", vec![]).await?;
    let resumed = figure(hq, "resumed").await?;
    let on_site = figure(hq, "on_site").await?;
    let confirmed = figure(hq, "tickets_confirmed").await?;

    // The contact, on a phone: the enterprise's page is their home.
    phone.client.set_window_size(390, 844).await?;
    phone.sign_in(CONTACT, CONTACT_PASSWORD).await?;
    phone.wait_for_path("/").await.context("signing in as the contact")?;
    phone.goto("/enterprises").await?;
    phone.wait_for_path(&page).await.context("the contact's list should open their own enterprise")?;
    status_is(phone, "not_started").await?;

    // Apply: a plan with a wrong phone is refused beside the field, the
    // rest of the form kept.
    phone.type_into("#apply-form [name=mask_stock_days]", "14").await?;
    phone.type_into("#apply-form [name=disinfection]", "每日两次全面消毒").await?;
    phone.click("#apply-form [name=gate_temperature_checks]").await?;
    phone.click("#apply-form [name=isolation_room]").await?;
    phone.type_into("#apply-form [name=emergency_contact_name]", "刘洋").await?;
    phone.type_into("#apply-form [name=emergency_contact_phone]", "12345").await?;
    phone.type_into("#apply-form [name=local]", "90").await?;
    phone.type_into("#apply-form [name=returning]", "0").await?;
    phone.type_into("#apply-form [name=still_away]", "10").await?;
    submit(phone, "#apply-form").await?;
    poll_until("the phone number refused beside its field", UI_TIMEOUT, || async {
        Ok(phone.has("#apply-form #apply-emergency_contact_phone[aria-invalid=true]").await?.then_some(()))
    })
    .await?;
    let kept = phone.attr("#apply-form [name=disinfection]", "value").await?;
    ensure!(kept.as_deref() == Some("每日两次全面消毒"), "the refused form lost what was typed: {kept:?}");
    phone.type_into("#apply-form [name=emergency_contact_phone]", "138 0013 8000").await?;
    submit(phone, "#apply-form").await?;
    status_is(phone, "applied").await?;

    // The township approves.
    office.sign_in("cadre", "demo").await?;
    office.wait_for_path("/").await.context("signing in as the township cadre")?;
    office.goto(&page).await?;
    office.select("#review-form [name=decision]", "approved").await?;
    submit(office, "#review-form").await?;
    status_is(office, "approved").await?;

    // The enterprise resumes in part: HQ counts it at once.
    phone.goto(&page).await?;
    phone.select("#status-form [name=status]", "partly_resumed").await?;
    submit(phone, "#status-form").await?;
    status_is(phone, "partly_resumed").await?;
    figure_becomes(hq, "resumed", resumed + 1).await?;

    // Its daily report: more people on site than employees is refused on
    // the field; 80 of 120 goes through and reaches HQ's people on site.
    phone.goto(&format!("{page}#report")).await?;
    for (name, value) in
        [("on_site", "130"), ("capacity_pct", "65"), ("ppe_stock_days", "12"), ("raw_material_days", "8")]
    {
        phone.type_into(&format!("#report-form [name={name}]"), value).await?;
    }
    submit(phone, "#report-form").await?;
    poll_until("people on site above employees refused beside the field", UI_TIMEOUT, || async {
        Ok(phone.has("#report-form [name=on_site][aria-invalid=true]").await?.then_some(()))
    })
    .await?;
    phone.type_into("#report-form [name=on_site]", "80").await?;
    submit(phone, "#report-form").await?;
    figure_becomes(hq, "on_site", on_site + 80).await?;

    // A logistics problem, which goes to the dedicated officer.
    phone.goto(&format!("{page}#tickets")).await?;
    phone.select("#ticket-form [name=category]", "logistics").await?;
    phone.type_into("#ticket-form [name=title]", "熔喷布原料车辆进县受阻").await?;
    phone.type_into("#ticket-form [name=body]", "郑州发来的原料车在朱阳关被拦，需要办理通行证").await?;
    submit(phone, "#ticket-form").await?;
    poll_until("the ticket's page", UI_TIMEOUT, || async {
        Ok(phone.path().await?.starts_with("/tickets/").then_some(()))
    })
    .await?;
    let ticket = phone.path().await?;
    status_is(phone, "open").await?;

    // The service officer works it through to resolved.
    sign_out(office).await?;
    office.sign_in("service", "demo").await?;
    office.wait_for_path("/").await.context("signing in as the service officer")?;
    office.goto("/tickets").await?;
    let listed = office.text("main").await?;
    ensure!(listed.contains("熔喷布原料车辆进县受阻"), "the officer's tickets should list the new one");
    office.goto(&ticket).await?;
    for (status, note) in [("accepted", ""), ("resolved", "已协调交通运输局办理通行证，车辆已放行")]
    {
        office.select("#step-form [name=status]", status).await?;
        office.type_into("#step-form [name=note]", note).await?;
        submit(office, "#step-form").await?;
        status_is(office, status).await?;
    }

    // The enterprise confirms with five stars; HQ sees it confirmed.
    phone.goto(&ticket).await?;
    status_is(phone, "resolved").await?;
    phone.select("#step-form [name=status]", "confirmed").await?;
    phone.select("#step-form [name=rating]", "5").await?;
    submit(phone, "#step-form").await?;
    status_is(phone, "confirmed").await?;
    figure_becomes(hq, "tickets_confirmed", confirmed + 1).await?;
    hq.screenshot("resumption-dashboard.png").await?;

    let mark = hq.client.execute("return window.__shouwangE2e ?? null;", vec![]).await?;
    ensure!(mark == json!("not reloaded"), "the dashboard was reloaded to show the changes");
    Ok(())
}

/// Signs the browser out through the navigation's form.
async fn sign_out(b: &Browser) -> anyhow::Result<()> {
    b.goto("/").await?;
    b.click("form[action='/logout'] button").await.context("signing out")?;
    b.wait_for_path("/login").await
}

/// An enterprise in 朱阳关镇 served by the demo `service` officer, and an
/// account for its contact; returns the enterprise's id.
async fn set_the_scene(hq: &Browser) -> anyhow::Result<i64> {
    let (csrf, township) = admin_in_zhuyangguan(hq).await?;
    let users = api(hq, "GET", "/api/v1/users", Value::Null, &csrf).await?;
    let service = users
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["username"] == "service")
        .and_then(|u| u["id"].as_i64())
        .context("the demo has no service officer")?;
    let units = api(hq, "GET", "/api/v1/org-units", Value::Null, &csrf).await?;
    let industry = units
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["code"] == "D-INDUSTRY")
        .and_then(|u| u["id"].as_i64())
        .context("the demo has no industry department")?;
    let first17 = "91411224MAE2E0001";
    let code = format!(
        "{first17}{}",
        shouwang_domain::enterprise::CreditCode::check_char(first17).context("a serial of the code alphabet")?
    );
    let firm = json!({ "credit_code": code, "name": "卢氏县朱阳关防护材料有限公司", "sector": "C",
                       "size_class": "small", "org_unit_id": township, "employees": 120, "epidemic_supplies": true,
                       "service_officer_id": service, "department_id": industry });
    let firm = api(hq, "POST", "/api/v1/enterprises", firm, &csrf).await?;
    let id = firm["id"].as_i64().context("no enterprise id")?;
    let contact = json!({ "username": CONTACT, "display_name": "企业联络员 孙丽", "password": CONTACT_PASSWORD });
    api(hq, "POST", &format!("/api/v1/enterprises/{id}/contacts"), contact, &csrf).await?;
    api(hq, "POST", "/api/v1/auth/logout", Value::Null, &csrf).await?;
    Ok(id)
}
