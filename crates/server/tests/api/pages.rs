//! The pages as a browser sees them (HTML over HTTP; the browser tests in
//! `e2e/` drive a real Chromium).

use reqwest::{StatusCode, header};

use crate::app;
use crate::helpers::{ACCOUNTS, PASSWORD, TestApp};

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Signs in through the form, as a browser does; returns the client and the
/// home page's CSRF token.
async fn form_login(app: &TestApp, user: &str, lang: &str) -> (reqwest::Client, String) {
    let c = browser();
    let page = c.get(format!("{}/login", app.base)).header(header::ACCEPT_LANGUAGE, lang).send().await.unwrap();
    let html = page.text().await.unwrap();
    let csrf = value_of(&html, "name=\"_csrf\" value=\"");
    let res = c
        .post(format!("{}/login", app.base))
        .header(header::ACCEPT_LANGUAGE, lang)
        .form(&[("username", user), ("password", PASSWORD), ("_csrf", &csrf), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{user} signs in through the form");
    let home = c
        .get(format!("{}/", app.base))
        .header(header::ACCEPT_LANGUAGE, lang)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (c, value_of(&home, "name=\"csrf-token\" content=\""))
}

fn value_of(html: &str, prefix: &str) -> String {
    let start = html.find(prefix).unwrap_or_else(|| panic!("{prefix} not in page")) + prefix.len();
    html[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_page_asks_an_anonymous_visitor_to_sign_in_and_comes_back_after() {
    let app = app!();
    let res = browser().get(format!("{}/duty-log", app.base)).header(header::ACCEPT, "text/html").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], "/login?next=%2Fduty-log");
}

#[tokio::test]
async fn every_role_sees_its_home_page_in_chinese_and_in_english() {
    let app = app!();
    let labels = [
        ("admin", "系统管理员", "Administrator"),
        ("commander", "指挥长", "Commander"),
        ("duty", "卡点值班员", "Duty officer"),
        ("enterprise", "企业联络员", "Enterprise contact"),
        ("service", "服务专员", "Service officer"),
        ("cadre", "乡镇干部", "Township cadre"),
        ("viewer", "领导（只读）", "Leader (read-only)"),
    ];
    assert_eq!(labels.len(), ACCOUNTS.len());
    for (user, zh, en) in labels {
        for (lang, label, html_lang) in [("zh-CN", zh, "zh-CN"), ("en", en, "en")] {
            let (c, _) = form_login(&app, user, lang).await;
            let html = c
                .get(format!("{}/", app.base))
                .header(header::ACCEPT_LANGUAGE, lang)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(html.contains(&format!("<html lang=\"{html_lang}\"")), "{user} {lang}");
            assert!(html.contains(&format!("data-testid=\"role\">{label}<")), "{user} {lang}: role label {label}");
            // The template engine escapes `/` in attributes as `&#x2f;`.
            let admin_link = html.contains("href=\"/admin/users\"") || html.contains("href=\"&#x2f;admin&#x2f;users\"");
            assert_eq!(admin_link, user == "admin", "{user}: the admin menu shows to admins only");
        }
    }
}

#[tokio::test]
async fn a_wrong_password_is_shown_beside_the_field_in_the_visitors_language() {
    let app = app!();
    for (lang, message) in [("zh-CN", "用户名或密码不正确"), ("en", "wrong username or password")] {
        let c = browser();
        let html = c
            .get(format!("{}/login", app.base))
            .header(header::ACCEPT_LANGUAGE, lang)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = value_of(&html, "name=\"_csrf\" value=\"");
        let res = c
            .post(format!("{}/login", app.base))
            .header(header::ACCEPT_LANGUAGE, lang)
            .form(&[("username", "commander"), ("password", "nope"), ("_csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let html = res.text().await.unwrap();
        assert!(html.contains(&format!("id=\"password-error\">{message}</p>")), "{lang}");
        assert!(html.contains("value=\"commander\""), "the typed name is kept");
    }
}

#[tokio::test]
async fn the_sign_in_form_refuses_a_post_without_its_csrf_cookie() {
    let app = app!();
    let res = browser()
        .post(format!("{}/login", app.base))
        .form(&[("username", "commander"), ("password", PASSWORD), ("_csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get_all(header::SET_COOKIE).iter().all(|c| !c.to_str().unwrap().starts_with("sw_session=")));
}

#[tokio::test]
async fn the_duty_log_form_shows_the_error_beside_the_field_and_keeps_nothing_bad() {
    let app = app!();
    let (c, csrf) = form_login(&app, "cadre", "zh-CN").await;
    let id = uuid::Uuid::now_v7().to_string();
    let res = c
        .post(format!("{}/duty-log", app.base))
        .header(header::ACCEPT_LANGUAGE, "zh-CN")
        .form(&[("_csrf", csrf.as_str()), ("id", id.as_str()), ("body", "  ")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"body-error\">内容：必填</p>"), "{html}");
    assert_eq!(app.duty_log_rows().await, 0);
    for _ in 0..2 {
        // A double tap posts the same form twice: one entry.
        let res = c
            .post(format!("{}/duty-log", app.base))
            .form(&[("_csrf", csrf.as_str()), ("id", id.as_str()), ("body", "岭东村巡查正常")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(app.duty_log_rows().await, 1);
    let html = c.get(format!("{}/duty-log", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("岭东村巡查正常"));
}

#[tokio::test]
async fn a_page_form_without_its_csrf_token_is_refused() {
    let app = app!();
    let (c, _) = form_login(&app, "cadre", "en").await;
    let id = uuid::Uuid::now_v7().to_string();
    let res = c
        .post(format!("{}/duty-log", app.base))
        .header(header::ACCEPT, "text/html")
        .form(&[("_csrf", "forged"), ("id", id.as_str()), ("body", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.duty_log_rows().await, 0);
}

#[tokio::test]
async fn the_language_switch_remembers_the_choice_for_the_account() {
    let app = app!();
    let (c, _) = form_login(&app, "viewer", "zh-CN").await;
    let res = c.post(format!("{}/lang", app.base)).form(&[("lang", "en"), ("back", "/")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // A new browser signing in as the same user gets English without asking.
    let (c2, _) = form_login(&app, "viewer", "zh-CN").await;
    let html = c2.get(format!("{}/", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<html lang=\"en\""));
}

#[tokio::test]
async fn a_forbidden_page_says_so_in_the_users_language() {
    let app = app!();
    let (c, _) = form_login(&app, "viewer", "zh-CN").await;
    let res = c
        .get(format!("{}/admin/users", app.base))
        .header(header::ACCEPT, "text/html")
        .header(header::ACCEPT_LANGUAGE, "zh-CN")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("您没有权限执行此操作"));
}

#[tokio::test]
async fn health_and_metrics_answer() {
    let app = app!();
    let get = |p: &str| reqwest::get(format!("{}{p}", app.base));
    assert_eq!(get("/healthz").await.unwrap().text().await.unwrap(), "ok");
    assert_eq!(get("/readyz").await.unwrap().status(), StatusCode::OK);
    app.login("viewer").await;
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("shouwang_http_requests_total"), "{metrics}");
    assert!(metrics.contains("shouwang_writer_batch_size"));
    // The SFU's figures, for an operator watching calls.
    assert!(metrics.contains("shouwang_sfu_peers 0"), "{metrics}");
    assert!(metrics.contains("shouwang_sfu_tcp_links 0"), "{metrics}");
    assert!(metrics.contains("shouwang_sfu_packets_received_total"), "{metrics}");
}

/// An enterprise in 岭东 township entered through the API as the commander,
/// with its officer and department (where its problems go); its id.
async fn page_enterprise(app: &TestApp, serial: &str) -> i64 {
    let commander = app.login("commander").await;
    let body = serde_json::json!({ "credit_code": crate::helpers::credit_code(serial),
        "name": "卢氏县宏达防护用品有限公司", "sector": "C", "size_class": "small",
        "org_unit_id": app.units["411224107"].id.0, "employees": 80,
        "service_officer_id": app.users["service"].id.0, "department_id": app.units["D-INDUSTRY"].id.0 });
    let (status, e) = commander.post("/api/v1/enterprises", body).await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    e["id"].as_i64().unwrap()
}

#[tokio::test]
async fn a_key_project_is_entered_on_the_enterprise_page_and_milestones_out_of_order_are_shown_beside_the_milestone() {
    let app = app!();
    let id = page_enterprise(&app, "MA0000099").await;
    let (c, csrf) = form_login(&app, "commander", "en").await;
    let page = c.get(format!("{}/enterprises/{id}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"project-form\""), "the commander is offered the form");
    let post = |fields: Vec<(&'static str, &'static str)>| {
        let mut form = vec![("_csrf", csrf.clone())];
        form.extend(fields.into_iter().map(|(k, v)| (k, v.to_owned())));
        c.post(format!("{}/enterprises/{id}/projects", app.base))
            .header(header::ACCEPT_LANGUAGE, "en")
            .form(&form)
            .send()
    };
    let base = vec![
        ("name", "熔喷布生产线"),
        ("product", "熔喷布"),
        ("planned_daily_capacity", "5,000"),
        ("capacity_unit", "吨"),
        ("planned_permits", "2025-03-01"),
    ];

    // Installed planned before the permits: refused beside the installation's date.
    let mut bad = base.clone();
    bad.push(("planned_installed", "2025-02-01"));
    let res = post(bad).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"project-planned_installed-error\""), "{html}");
    assert!(!html.contains("id=\"project-planned_permits-error\""));
    assert!(html.contains("value=\"熔喷布生产线\"") && html.contains("value=\"2025-02-01\""), "the form is kept");
    let commander = app.login("commander").await;
    let (_, projects) = commander.get("/api/v1/projects").await;
    assert_eq!(projects.as_array().unwrap().len(), 0, "nothing written: {projects}");

    let mut good = base.clone();
    good.extend([
        ("actual_permits", "2025-03-02"),
        ("planned_installed", "2025-04-01"),
        ("planned_full_production", "2025-05-01"),
    ]);
    let res = post(good).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], format!("/enterprises/{id}?done=project#projects"));
    let (_, projects) = commander.get("/api/v1/projects").await;
    let p = &projects[0]["project"];
    assert_eq!((p["name"].as_str(), p["planned_daily_capacity"].as_i64()), (Some("熔喷布生产线"), Some(5000)), "{p}");
    let kinds: Vec<&str> = p["milestones"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["permits", "installed", "full_production"], "a milestone left empty is left out");
    assert_eq!(projects[0]["done"], 1);
}

#[tokio::test]
async fn a_contact_account_is_set_up_on_the_enterprise_page_and_a_taken_name_is_refused_beside_it() {
    let app = app!();
    let id = page_enterprise(&app, "MA0000099").await;
    let (c, csrf) = form_login(&app, "commander", "zh-CN").await;
    let post = |username: &'static str| {
        c.post(format!("{}/enterprises/{id}/contacts", app.base))
            .header(header::ACCEPT_LANGUAGE, "zh-CN")
            .form(&[("_csrf", csrf.as_str()), ("username", username), ("display_name", "刘洋"), ("password", PASSWORD)])
            .send()
    };
    let res = post("hongda.liu").await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[header::LOCATION], format!("/enterprises/{id}?done=contact#contacts"));
    // The account signs in and sees its enterprise.
    let liu = app.login("hongda.liu").await;
    let (status, view) = liu.get(&format!("/api/v1/enterprises/{id}")).await;
    assert_eq!(status, StatusCode::OK, "{view}");
    let html = c.get(format!("{}/enterprises/{id}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("<code>hongda.liu</code>"), "the page lists the contact");

    // A name already taken (here a seeded account's) is refused beside the field.
    let res = post("commander").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"contact-username-error\""), "{html}");
    assert!(html.contains("value=\"刘洋\""), "the form is kept");
    assert!(!html.contains(PASSWORD), "the password is not sent back");
    assert_eq!(html.matches("<code>hongda.liu</code>").count(), 1);
    assert_eq!(html.matches("<code>commander</code>").count(), 0, "nothing written");
}

#[tokio::test]
async fn a_logistics_problem_asks_for_a_freight_pass_from_the_page_and_a_bad_plate_is_shown_beside_the_plates() {
    let app = app!();
    let id = page_enterprise(&app, "MA0000099").await;
    let commander = app.login("commander").await;
    let body = serde_json::json!({ "username": "hongda.liu", "display_name": "刘洋", "password": PASSWORD });
    let (status, user) = commander.post(&format!("/api/v1/enterprises/{id}/contacts"), body).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let (c, csrf) = form_login(&app, "hongda.liu", "en").await;
    let page = c.get(format!("{}/enterprises/{id}", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("id=\"ticket-plates\"") && page.contains("value=\"411224\""), "origin: the county");
    let post = |ticket: String, plates: &'static str| {
        let form = [
            ("_csrf", csrf.clone()),
            ("id", ticket),
            ("category", "logistics".into()),
            ("title", "熔喷布原料车需要通行证".into()),
            ("plates", plates.into()),
            ("driver_name", "张三".into()),
            ("driver_phone", "13800138000".into()),
            ("origin", "411224".into()),
            ("destination", "411300".into()),
            ("valid_days", "7".into()),
        ];
        c.post(format!("{}/enterprises/{id}/tickets", app.base))
            .header(header::ACCEPT_LANGUAGE, "en")
            .form(&form)
            .send()
    };

    let res = post(uuid::Uuid::now_v7().to_string(), "豫M12345 不是车牌").await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"ticket-plates-error\""), "{html}");
    assert!(html.contains("value=\"豫M12345 不是车牌\""), "the form is kept");
    let (_, view) = commander.get(&format!("/api/v1/enterprises/{id}")).await;
    assert_eq!(view["tickets"].as_array().unwrap().len(), 0, "no ticket: {view}");
    let (_, requests) = commander.get("/api/v1/pass-requests").await;
    assert_eq!(requests.as_array().unwrap().len(), 0, "no request: {requests}");

    let ticket = uuid::Uuid::now_v7().to_string();
    let res = post(ticket.clone(), "豫M12345，豫MD12345").await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap().split("field-error").nth(1).unwrap_or("")
    );
    assert_eq!(res.headers()[header::LOCATION], format!("/tickets/{ticket}"));
    let (status, t) = commander.get(&format!("/api/v1/tickets/{ticket}")).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["ticket"]["category"], "logistics");
    assert_eq!(t["pass_request"]["state"], "requested", "{t}");
    let (_, requests) = commander.get("/api/v1/pass-requests").await;
    assert_eq!(requests.as_array().unwrap().len(), 1, "{requests}");
}

#[tokio::test]
async fn the_field_pages_carry_the_outbox_and_install_as_an_app_with_a_service_worker_at_the_root() {
    let app = app!(|c: &mut shouwang_server::config::Config| c.offline_hours = 48);
    let (officer, _) = form_login(&app, "duty", "zh-CN").await;
    let page = officer.get(format!("{}/my-post", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"id="outbox""#) && page.contains(r#"data-offline-hours="48""#), "{page}");
    assert!(page.contains(r#"<link rel="manifest" href="/manifest.webmanifest">"#));
    assert!(page.contains(r#"<meta name="shouwang-user-id" content=""#));
    assert!(page.contains(r#"data-testid="outbox-pending""#) && page.contains(r#"data-testid="new-version""#));
    assert!(page.contains("/assets/outbox-status.js"));
    let texts: serde_json::Value =
        serde_json::from_str(&html_unescape(&value_of(&page, r#"id="outbox" class="outbox" data-texts=""#)))
            .expect("the outbox's words are JSON");
    assert_eq!(texts["storage_full"], "手机存储已满——本条未保存，请清理空间后重试。");
    assert!(texts["signed_out"].as_str().unwrap().contains("{count}"));
    assert!(texts["errors"]["bad_check_digit"].as_str().unwrap().contains("校验位"));

    // A commander's pages are not field pages: no outbox, no worker.
    let (commander, _) = form_login(&app, "commander", "zh-CN").await;
    let home = commander.get(format!("{}/", app.base)).send().await.unwrap().text().await.unwrap();
    assert!(!home.contains(r#"id="outbox""#));

    let sw = browser().get(format!("{}/sw.js", app.base)).send().await.unwrap();
    assert_eq!(sw.status(), StatusCode::OK);
    assert!(sw.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));
    assert!(sw.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().starts_with("default-src 'self'"));
    let etag = sw.headers()[header::ETAG].to_str().unwrap().to_owned();
    let body = sw.text().await.unwrap();
    let version = shouwang_server::assets::app_version();
    assert!(body.contains(&format!(r#"const VERSION = "{version}";"#)) && body.contains(r#""/screen""#));
    assert!(page.contains(&format!(r#"<meta name="shouwang-version" content="{version}">"#)));
    let again = browser().get(format!("{}/sw.js", app.base)).header(header::IF_NONE_MATCH, &etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let manifest = browser().get(format!("{}/manifest.webmanifest", app.base)).send().await.unwrap();
    assert_eq!(manifest.headers()[header::CONTENT_TYPE], "application/manifest+json");
    let manifest: serde_json::Value = manifest.json().await.unwrap();
    assert_eq!(manifest["start_url"], "/my-post");
}

/// The text of an HTML attribute as the browser reads it.
fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
