//! Bad input: each gets a clear 4xx naming the field, and nothing is written.

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::app;
use crate::helpers::v7;

#[tokio::test]
async fn bad_bodies_are_refused_with_the_field_named_and_nothing_written() {
    let app = app!(|c| c.max_body_bytes = 64 * 1024);
    let s = app.login("cadre").await;
    let rows = app.duty_log_rows().await;
    let events = app.event_rows().await;
    let cases: Vec<(&str, String, StatusCode, &str, Value)> = vec![
        ("not JSON", "{oops".into(), StatusCode::BAD_REQUEST, "malformed", Value::Null),
        (
            "wrong type",
            json!({ "id": v7(), "body": 5 }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong_type",
            json!("body"),
        ),
        (
            "missing field",
            json!({ "id": v7() }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            json!("body"),
        ),
        (
            "unknown field",
            json!({ "id": v7(), "body": "x", "author_id": 1 }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_field",
            json!("author_id"),
        ),
        (
            "empty text",
            json!({ "id": v7(), "body": "   " }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "required",
            json!("body"),
        ),
        (
            "over-long text",
            json!({ "id": v7(), "body": "字".repeat(2001) }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_long",
            json!("body"),
        ),
        (
            "v4 id",
            json!({ "id": "9b2b6a1e-6f1b-4c55-9d7e-2d1f0c5e8a11", "body": "x" }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "uuid_not_v7",
            json!("id"),
        ),
        (
            "time far ahead",
            json!({ "id": v7(), "body": "x", "occurred_us": 4_000_000_000_000_000i64 }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "time_out_of_range",
            json!("occurred_us"),
        ),
        (
            "unknown unit",
            json!({ "id": v7(), "body": "x", "org_unit_id": 999_999 }).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "not_found",
            json!("org_unit_id"),
        ),
        (
            "body too large",
            json!({ "id": v7(), "body": "x".repeat(100 * 1024) }).to_string(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            Value::Null,
        ),
    ];
    for (what, body, status, code, field) in cases {
        let res = s
            .request(reqwest::Method::POST, "/api/v1/duty-log")
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{what}");
        let err: Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], code, "{what}: {err}");
        assert_eq!(err["error"]["field"], field, "{what}: {err}");
        assert!(!err["error"]["message"].as_str().unwrap().is_empty(), "{what}");
    }
    assert_eq!(app.duty_log_rows().await, rows, "no bad request wrote a row");
    assert_eq!(app.event_rows().await, events, "no bad request wrote an event");
}

#[tokio::test]
async fn a_body_without_the_json_content_type_is_refused() {
    let app = app!();
    let s = app.login("cadre").await;
    let res = s
        .request(reqwest::Method::POST, "/api/v1/duty-log")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(json!({ "id": v7(), "body": "x" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "malformed");
}

#[tokio::test]
async fn bad_query_parameters_name_the_parameter() {
    let app = app!();
    let s = app.login("commander").await;
    for (query, field, code) in [
        ("limit=0", "limit", "out_of_range"),
        ("limit=5000", "limit", "out_of_range"),
        ("limit=ten", "limit", "wrong_type"),
        ("after=-1", "after", "out_of_range"),
        ("kind=user.exploded", "kind", "invalid_choice"),
        ("colour=red", "colour", "unknown_field"),
    ] {
        let (status, body) = s.get(&format!("/api/v1/events?{query}")).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
        assert_eq!(body["error"]["code"], code, "{query}: {body}");
    }
}

#[tokio::test]
async fn error_messages_follow_the_callers_language() {
    let app = app!();
    let s = app.login("cadre").await;
    let mut messages = Vec::new();
    for lang in ["zh-CN,zh;q=0.9", "en-US,en;q=0.9"] {
        let res = s
            .request(reqwest::Method::POST, "/api/v1/duty-log")
            .header(header::ACCEPT_LANGUAGE, lang)
            .json(&json!({ "id": v7(), "body": "字".repeat(2001) }))
            .send()
            .await
            .unwrap();
        messages.push(res.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().to_owned());
    }
    assert_eq!(messages[0], "内容：太长，最多 2000 个字符");
    assert_eq!(messages[1], "Text: too long, at most 2000 characters");
}

#[tokio::test]
async fn unknown_routes_answer_in_the_error_shape() {
    let app = app!();
    let res = app.anonymous().get(format!("{}/api/v1/nothing-here", app.base)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "not_found");
}

#[tokio::test]
async fn creating_users_checks_every_field_and_scope() {
    let app = app!();
    let admin = app.login("admin").await;
    let county = app.units["411224"].id.0;
    let ok = json!({ "username": "li.ming", "display_name": "李明", "password": "a long password", "role": "duty_officer", "org_unit_id": county });
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("username", json!("李明")), "username", "username_chars"),
        (with("password", json!("li.ming")), "password", "too_short"),
        (with("password", json!("aaaaaaaaaa")), "password", "password_weak"),
        (with("role", json!("general")), "role", "not_found"),
        (with("org_unit_id", json!(424242)), "org_unit_id", "not_found"),
        (with("display_name", json!("")), "display_name", "required"),
    ];
    let users_before = admin.get("/api/v1/users").await.1.as_array().unwrap().len();
    for (body, field, code) in cases {
        let (status, err) = admin.post("/api/v1/users", body).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!((err["error"]["field"].as_str().unwrap(), err["error"]["code"].as_str().unwrap()), (field, code));
    }
    assert_eq!(admin.get("/api/v1/users").await.1.as_array().unwrap().len(), users_before);
    let (status, created) = admin.post("/api/v1/users", ok.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, err) = admin.post("/api/v1/users", ok).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(err["error"]["field"], "username");
}

#[tokio::test]
async fn a_township_admin_cannot_reach_outside_the_township() {
    let app = app!();
    let admin = app.login("admin").await;
    let zyg = app.units["411224104"].id.0;
    let dongming = app.units["411224107"].id.0;
    let (status, _) = admin
        .post("/api/v1/users", json!({ "username": "zyg.admin", "display_name": "镇管理员", "password": "a long password", "role": "admin", "org_unit_id": zyg }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let local = app_login(&app, "zyg.admin").await;
    let (status, err) = local
        .post("/api/v1/users", json!({ "username": "dm.duty", "display_name": "东明", "password": "a long password", "role": "duty_officer", "org_unit_id": dongming }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["code"], "out_of_scope");
    let listed = local.get("/api/v1/users").await.1;
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert!(names.contains(&"duty") && names.contains(&"cadre") && names.contains(&"zyg.admin"));
    assert!(!names.contains(&"commander") && !names.contains(&"enterprise"), "{names:?}");
    let commander = app.users["commander"].id.0;
    assert_eq!(local.post(&format!("/api/v1/users/{commander}/disable"), json!({})).await.0, StatusCode::NOT_FOUND);
}

async fn app_login(app: &crate::helpers::TestApp, name: &str) -> crate::helpers::Session {
    let client = app.anonymous();
    let res = client
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "username": name, "password": "a long password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csrf = res.json::<Value>().await.unwrap()["csrf_token"].as_str().unwrap().to_owned();
    crate::helpers::Session { client, csrf, base: app.base.clone() }
}
