//! Signing in and out, sessions, tokens, CSRF, throttling.

use reqwest::{Method, StatusCode, header};
use serde_json::json;

use crate::app;
use crate::helpers::{PASSWORD, v7};

#[tokio::test]
async fn login_sets_a_strict_http_only_session_cookie_and_returns_the_user() {
    let app = app!();
    let res = app
        .anonymous()
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "username": "Commander", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let cookie = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("sw_session="))
        .expect("a session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP on loopback: no Secure flag");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["user"]["username"], "commander");
    assert_eq!(body["user"]["role"], "commander");
    assert!(body["csrf_token"].as_str().unwrap().len() >= 32);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer_and_no_session() {
    let app = app!();
    let client = app.anonymous();
    let mut answers = Vec::new();
    for (user, pw) in [("commander", "wrong password"), ("nobody", PASSWORD)] {
        let res = client
            .post(format!("{}/api/v1/auth/login", app.base))
            .header(header::ACCEPT_LANGUAGE, "en")
            .json(&json!({ "username": user, "password": pw }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.headers().get(header::SET_COOKIE).is_none_or(|c| !c.to_str().unwrap().starts_with("sw_session=")));
        answers.push(res.json::<serde_json::Value>().await.unwrap());
    }
    assert_eq!(answers[0], answers[1], "the answer must not tell which accounts exist");
    assert_eq!(answers[0]["error"]["code"], "bad_credentials");
    assert_eq!(answers[0]["error"]["field"], "password");
    assert_eq!(answers[0]["error"]["message"], "wrong username or password");
    let (status, _) =
        crate::helpers::Session { client, csrf: String::new(), base: app.base.clone() }.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn failed_sign_ins_are_written_to_the_audit_log() {
    let app = app!();
    let before = app.event_rows().await;
    app.anonymous()
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "username": "duty", "password": "guess" }))
        .send()
        .await
        .unwrap();
    let admin = app.login("admin").await;
    let (_, page) = admin.get("/api/v1/events?kind=auth.login_failed").await;
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["payload"]["username"], "duty");
    assert_eq!(events[0]["payload"]["reason"], "bad_credentials");
    assert!(!events[0]["payload"].to_string().contains("guess"), "the password is never recorded");
    assert!(app.event_rows().await > before);
}

#[tokio::test]
async fn an_account_is_throttled_after_repeated_failures_even_with_the_right_password() {
    let app = app!(|c| c.login_max_failures = 3);
    let client = app.anonymous();
    let attempt = |pw: &'static str| {
        let client = client.clone();
        let url = format!("{}/api/v1/auth/login", app.base);
        async move { client.post(url).json(&json!({ "username": "duty", "password": pw })).send().await.unwrap() }
    };
    for _ in 0..3 {
        assert_eq!(attempt("nope").await.status(), StatusCode::UNAUTHORIZED);
    }
    let res = attempt(PASSWORD).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get(header::RETRY_AFTER).is_some());
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "throttled");
    // Other accounts are unaffected.
    app.login("commander").await;
}

#[tokio::test]
async fn a_disabled_account_cannot_sign_in_and_its_session_ends() {
    let app = app!();
    let duty = app.login("duty").await;
    let admin = app.login("admin").await;
    let id = app.users["duty"].id.0;
    let (status, _) = admin.post(&format!("/api/v1/users/{id}/disable"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(duty.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED, "the open session ends");
    let res = app
        .anonymous()
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "username": "duty", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"]["code"], "account_disabled");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = app!();
    let s = app.login("viewer").await;
    assert_eq!(s.get("/api/v1/me").await.0, StatusCode::OK);
    assert_eq!(s.post("/api/v1/auth/logout", json!({})).await.0, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    let app = app!();
    let token = shouwang_server::auth::random_token();
    let command = shouwang_store::writer::Command::CreateSession {
        user: app.users["viewer"].id,
        token_hash: shouwang_server::auth::token_hash(&token),
        csrf: "x".into(),
        expires_us: shouwang_store::now_us() - 1,
        client: "test".into(),
    };
    // Written straight through a writer of the test's own on the same database.
    let (w, task) = shouwang_store::Writer::spawn(app.store.clone(), std::sync::Arc::new(Nobody));
    w.submit(shouwang_store::writer::Actor::system(), command).await.unwrap();
    drop(w);
    task.await.unwrap();
    let res = app
        .anonymous()
        .get(format!("{}/api/v1/me", app.base))
        .header(header::COOKIE, format!("sw_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"]["code"], "unauthenticated");
}

struct Nobody;
impl shouwang_store::writer::CommitListener for Nobody {
    fn committed(&self, _: &[std::sync::Arc<shouwang_domain::Event>]) {}
}

#[tokio::test]
async fn a_cookie_write_without_the_csrf_token_is_refused_and_writes_nothing() {
    let app = app!();
    let s = app.login("cadre").await;
    let rows = app.duty_log_rows().await;
    for token in [None, Some("wrong")] {
        let mut req =
            s.client.post(format!("{}/api/v1/duty-log", app.base)).json(&json!({ "id": v7(), "body": "巡查" }));
        if let Some(t) = token {
            req = req.header("x-csrf-token", t);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "csrf");
        assert_eq!(body["error"]["field"], "_csrf");
    }
    assert_eq!(app.duty_log_rows().await, rows, "nothing written");
    let (status, _) = s.post("/api/v1/duty-log", json!({ "id": v7(), "body": "巡查" })).await;
    assert_eq!(status, StatusCode::CREATED, "with the token it goes through");
}

#[tokio::test]
async fn an_api_token_works_without_csrf_until_revoked() {
    let app = app!();
    let admin = app.login("admin").await;
    let (status, issued) =
        admin.post("/api/v1/tokens", json!({ "user_id": app.users["cadre"].id.0, "name": "朱阳关 phone 1" })).await;
    assert_eq!(status, StatusCode::CREATED);
    let secret = issued["secret"].as_str().unwrap().to_owned();
    let device = reqwest::Client::new();
    let write = |id: String| {
        device
            .post(format!("{}/api/v1/duty-log", app.base))
            .bearer_auth(&secret)
            .json(&json!({ "id": id, "body": "设备上报" }))
            .send()
    };
    assert_eq!(write(v7()).await.unwrap().status(), StatusCode::CREATED);
    let listed = admin.get("/api/v1/tokens").await.1;
    assert!(listed.to_string().contains("朱阳关 phone 1"));
    assert!(!listed.to_string().contains(&secret), "the secret is never listed");
    let id = issued["token"]["id"].as_i64().unwrap();
    assert_eq!(admin.send(Method::DELETE, &format!("/api/v1/tokens/{id}"), json!({})).await.0, StatusCode::NO_CONTENT);
    assert_eq!(write(v7()).await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn changing_ones_password_needs_the_current_one_and_ends_sessions() {
    let app = app!();
    let s = app.login("viewer").await;
    let (status, body) = s
        .send(
            Method::PUT,
            "/api/v1/me/password",
            json!({ "current_password": "nope", "new_password": "a much longer one" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "current_password");
    let (status, body) = s
        .send(Method::PUT, "/api/v1/me/password", json!({ "current_password": PASSWORD, "new_password": "short" }))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["field"], "new_password");
    let (status, _) = s
        .send(
            Method::PUT,
            "/api/v1/me/password",
            json!({ "current_password": PASSWORD, "new_password": "a much longer one" }),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(s.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    let res = app
        .anonymous()
        .post(format!("{}/api/v1/auth/login", app.base))
        .json(&json!({ "username": "viewer", "password": "a much longer one" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}
