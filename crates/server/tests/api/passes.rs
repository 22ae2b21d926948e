//! Freight passes through the API: issuing, verifying online (valid, wrong
//! plate, tampered, expired, revoked, another post, a typed number), the
//! offline copy a post keeps, requests and decisions, usage per post and
//! day, and the QR code's round trip from SVG back to a verified token.

use reqwest::StatusCode;
use serde_json::{Value, json};
use shouwang_domain::pass::{PassClaims, PassNumber, PassSigningKey, PassTerms, PassTermsDraft};

use crate::app;
use crate::helpers::{Session, TestApp, v7};

const HOUR_US: i64 = 3_600_000_000;

/// A post in 朱阳关镇, where the duty officer works.
async fn post(app: &TestApp, commander: &Session, code: &str) -> i64 {
    let body = json!({ "org_unit_id": app.units["411224104"].id.0, "code": code, "name": "朱阳关省界检测点",
                       "kind": "county_border", "lat": 33.716, "lon": 110.983, "required_staff": 1 });
    let (status, cp) = commander.post("/api/v1/checkpoints", body).await;
    assert_eq!(status, StatusCode::CREATED, "{cp}");
    cp["id"].as_i64().unwrap()
}

/// Terms for a lorry of masks' raw materials, valid for a day.
pub fn terms() -> Value {
    let now = shouwang_store::now_us();
    json!({ "enterprise": "卢氏县宏达防护用品有限公司", "plates": ["豫M12345", "豫MD12345"], "driver_name": "张三",
            "driver_phone": "13800138000", "origin": "411224", "destination": "411300", "cargo": "production_materials",
            "valid_from_us": now - HOUR_US, "valid_until_us": now + 24 * HOUR_US })
}

async fn issue(s: &Session, body: Value) -> Value {
    let (status, pass) = s.post("/api/v1/passes", body).await;
    assert_eq!(status, StatusCode::CREATED, "{pass}");
    pass
}

async fn verify(s: &Session, body: Value) -> (String, Value) {
    let (status, v) = s.post("/api/v1/passes/verify", body).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    (v["verdict"].as_str().unwrap().to_owned(), v)
}

async fn pass_rows(app: &TestApp) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM passes").fetch_one(app.store.pool()).await.unwrap().get("n")
}

#[tokio::test]
async fn an_issued_pass_is_valid_for_its_plate_and_refused_for_another_or_tampered() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander, "ZYG-01").await;
    let pass = issue(&commander, terms()).await;
    assert_eq!(pass["status"], "issued");
    assert_eq!(pass["number"].as_str().unwrap().len(), 9, "{pass}");
    assert_eq!(pass["driver_phone"], "13800138000", "a commander may see personal data");
    let viewer = app.login("viewer").await;
    let (_, seen) = viewer.get(&format!("/api/v1/passes/{}", pass["id"].as_str().unwrap())).await;
    assert_eq!(seen["driver_phone"], "138****8000", "a viewer sees the phone masked");
    let token = pass["token"].as_str().unwrap().to_owned();

    let (verdict, v) = verify(&duty, json!({ "token": token, "plate": "豫M 12345", "checkpoint_id": cp })).await;
    assert_eq!(verdict, "valid", "{v}");
    assert_eq!(v["valid"], true);
    assert!(v["reason"].as_str().unwrap().contains("放行"), "reason in the caller's language: {v}");
    assert_eq!(v["pass"]["number"], pass["number"]);

    let (verdict, v) = verify(&duty, json!({ "token": token, "plate": "陕A99999", "checkpoint_id": cp })).await;
    assert_eq!((verdict.as_str(), v["valid"].as_bool()), ("wrong_plate", Some(false)));

    // One character of the token changed, as a forger would.
    let mut tampered = token.clone();
    let at = tampered.len() / 2;
    let swapped = if &tampered[at..at + 1] == "A" { "B" } else { "A" };
    tampered.replace_range(at..at + 1, swapped);
    let (verdict, v) = verify(&duty, json!({ "token": tampered, "plate": "豫M12345", "checkpoint_id": cp })).await;
    assert_eq!(verdict, "forged", "{v}");
    assert!(v["pass"].is_null(), "a forged pass shows nothing it claims");

    let (verdict, _) =
        verify(&duty, json!({ "number": pass["number"].as_str().unwrap().to_lowercase(), "plate": "豫MD12345" })).await;
    assert_eq!(verdict, "valid", "a typed number is looked up");
    let (verdict, _) = verify(&duty, json!({ "number": "0000-0000" })).await;
    assert_eq!(verdict, "unknown");
    let (status, _) = duty.post("/api/v1/passes/verify", json!({ "number": "12" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = duty.post("/api/v1/passes/verify", json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(pass_rows(&app).await, 1, "verifying stores nothing");
}

#[tokio::test]
async fn a_revoked_pass_is_refused_online_and_listed_for_the_posts() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander, "ZYG-01").await;
    let pass = issue(&commander, terms()).await;
    let token = pass["token"].as_str().unwrap().to_owned();
    let id = pass["id"].as_str().unwrap();

    let (_, offline) = duty.get(&format!("/api/v1/passes/tokens?checkpoint_id={cp}")).await;
    assert_eq!(offline["tokens"], json!([token]), "the post keeps the token for typed numbers");
    let (_, key) = duty.get("/api/v1/passes/key").await;
    assert_eq!((key["algorithm"].as_str(), key["public_key"].as_str().map(str::len)), (Some("Ed25519"), Some(43)));

    let (status, _) = commander.post(&format!("/api/v1/passes/{id}/revoke"), json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");
    let (status, revoked) =
        commander.post(&format!("/api/v1/passes/{id}/revoke"), json!({ "reason": "车辆挪用" })).await;
    assert_eq!((status, revoked["status"].as_str()), (StatusCode::OK, Some("revoked")));

    let (verdict, _) = verify(&duty, json!({ "token": token, "plate": "豫M12345", "checkpoint_id": cp })).await;
    assert_eq!(verdict, "revoked");
    let (_, list) = duty.get("/api/v1/passes/revocations?since_us=0").await;
    assert_eq!(list["revoked"][0]["number"], pass["number"]);
    let (_, offline) = duty.get(&format!("/api/v1/passes/tokens?checkpoint_id={cp}")).await;
    assert_eq!(offline["tokens"], json!([]), "a revoked pass is no longer kept");
    let (_, events) = commander.get("/api/v1/events?kind=pass.revoked").await;
    assert_eq!(events["events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_expired_pass_or_one_for_other_posts_is_refused_with_its_reason() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander, "ZYG-01").await;
    let other = post(&app, &commander, "ZYG-02").await;

    // An expired pass cannot be issued through the API; sign one with the
    // deployment's key the way the server does, as if issued yesterday.
    let stored = app.store.setting(shouwang_server::bootstrap::PASS_KEY_SETTING).await.unwrap().unwrap();
    let key = PassSigningKey::from_stored(&stored).unwrap();
    let now = shouwang_store::now_us();
    let then = now - 20 * HOUR_US;
    let draft: PassTermsDraft = serde_json::from_value(json!({ "enterprise": "宏达", "plates": ["豫M12345"],
        "driver_name": "张三", "driver_phone": "13800138000", "origin": "411224", "destination": "411300",
        "cargo": "none", "valid_from_us": then, "valid_until_us": now - HOUR_US }))
    .unwrap();
    let claims = PassClaims::new(
        PassNumber::from_bytes([9, 9, 9, 9, 9]),
        app.units["411224"].path.clone(),
        then,
        PassTerms::parse(&draft, then).unwrap(),
    );
    let token = key.sign(&claims);
    let (verdict, v) =
        verify(&duty, json!({ "token": token.as_str(), "plate": "豫M12345", "checkpoint_id": cp })).await;
    assert_eq!(verdict, "expired", "{v}");
    assert!(v["reason"].as_str().unwrap().contains("过期"));

    let mut ended = terms_without_window();
    ended.insert("valid_from_us".into(), json!(then));
    ended.insert("valid_until_us".into(), json!(now - HOUR_US));
    let (status, refused) = commander.post("/api/v1/passes", Value::Object(ended)).await;
    assert_eq!(
        (status, refused["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("valid_until_us")),
        "{refused}"
    );

    let mut only_other = terms();
    only_other["posts"] = json!([other]);
    let pass = issue(&commander, only_other).await;
    let (verdict, _) = verify(&duty, json!({ "token": pass["token"], "plate": "豫M12345", "checkpoint_id": cp })).await;
    assert_eq!(verdict, "not_for_this_post");
    let (verdict, _) =
        verify(&duty, json!({ "token": pass["token"], "plate": "豫M12345", "checkpoint_id": other })).await;
    assert_eq!(verdict, "valid");

    // A township's pass is good only at its own posts.
    let cadre = app.login("cadre").await;
    let township_pass = issue(&cadre, terms()).await;
    assert_eq!(township_pass["scope"], app.units["411224104"].path.as_str());
}

fn terms_without_window() -> serde_json::Map<String, Value> {
    let mut t = terms().as_object().unwrap().clone();
    t.remove("valid_from_us");
    t.remove("valid_until_us");
    t
}

#[tokio::test]
async fn bad_terms_are_refused_by_field_and_nothing_is_stored() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let mut bad = terms();
    bad["plates"] = json!(["豫M12345", "ABC"]);
    let (status, e) = commander.post("/api/v1/passes", bad).await;
    assert_eq!((status, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("plates[1]")), "{e}");
    let mut four = terms();
    four["plates"] = json!(["豫M12345", "豫M12346", "豫M12347", "豫M12348"]);
    assert_eq!(commander.post("/api/v1/passes", four).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let mut unknown_post = terms();
    unknown_post["posts"] = json!([999]);
    let (status, e) = commander.post("/api/v1/passes", unknown_post).await;
    assert_eq!((status, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("posts[0]")), "{e}");
    let (status, _) = duty.post("/api/v1/passes", terms()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a duty officer cannot issue");
    assert_eq!(pass_rows(&app).await, 0);
    assert_eq!(commander.get("/api/v1/events?kind=pass.issued").await.1["events"], json!([]));
}

#[tokio::test]
async fn an_enterprise_request_is_approved_into_a_pass_it_can_see_or_refused_with_a_reason() {
    let app = app!();
    let commander = app.login("commander").await;
    let enterprise = app.login("enterprise").await;
    let mut asked = terms();
    let id = v7();
    asked["id"] = json!(id);
    asked["note"] = json!("口罩原料");
    let (status, request) = enterprise.post("/api/v1/pass-requests", asked.clone()).await;
    assert_eq!((status, request["state"].as_str()), (StatusCode::CREATED, Some("requested")), "{request}");
    assert_eq!(enterprise.post("/api/v1/pass-requests", asked).await.0, StatusCode::OK, "a resend is safe");
    let (_, listed) = commander.get("/api/v1/pass-requests").await;
    assert_eq!(listed[0]["terms"]["driver_phone"], "13800138000", "a commander sees personal data");
    let viewer = app.login("viewer").await;
    assert_eq!(viewer.get("/api/v1/pass-requests").await.1[0]["terms"]["driver_phone"], "138****8000");

    let (status, e) =
        commander.post(&format!("/api/v1/pass-requests/{id}/decision"), json!({ "approve": false })).await;
    assert_eq!((status, e["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("note")));
    let (status, decided) =
        commander.post(&format!("/api/v1/pass-requests/{id}/decision"), json!({ "approve": true })).await;
    assert_eq!((status, decided["state"].as_str()), (StatusCode::OK, Some("approved")), "{decided}");
    let pass_id = decided["pass_id"].as_str().unwrap();
    let (status, pass) = enterprise.get(&format!("/api/v1/passes/{pass_id}")).await;
    assert_eq!(status, StatusCode::OK, "the requester sees the pass issued to them: {pass}");
    assert_eq!(pass["scope"], app.units["411224"].path.as_str(), "valid in the approver's scope");
    let (status, _) = commander.post(&format!("/api/v1/pass-requests/{id}/decision"), json!({ "approve": true })).await;
    assert_eq!(status, StatusCode::CONFLICT, "decided once");

    let mut second = terms();
    let other = v7();
    second["id"] = json!(other);
    enterprise.post("/api/v1/pass-requests", second).await;
    let body = json!({ "approve": false, "note": "资料不全" });
    let (_, refused) = commander.post(&format!("/api/v1/pass-requests/{other}/decision"), body).await;
    assert_eq!((refused["state"].as_str(), refused["decision_note"].as_str()), (Some("refused"), Some("资料不全")));
    assert_eq!(pass_rows(&app).await, 1);
    let cadre = app.login("cadre").await;
    let (status, _) = cadre.post(&format!("/api/v1/pass-requests/{other}/decision"), json!({ "approve": true })).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a request from another township is out of reach");
}

#[tokio::test]
async fn hq_sees_passes_used_per_post_and_day() {
    let app = app!();
    let commander = app.login("commander").await;
    let duty = app.login("duty").await;
    let cp = post(&app, &commander, "ZYG-01").await;
    let path = format!("/api/v1/checkpoints/{cp}/screenings");
    for pass in [Some("7K3M-9QP2"), Some("7K3M-9QP2"), Some("AAAA-BBBB"), None] {
        let body = json!({ "id": v7(), "direction": "in", "plate": "豫M12345", "vehicle_type": "truck",
                           "people_count": 1, "cargo": "production_materials", "pass_number": pass, "outcome": "released" });
        assert_eq!(duty.post(&path, body).await.0, StatusCode::CREATED);
    }
    let (status, usage) = commander.get("/api/v1/passes/usage").await;
    assert_eq!(status, StatusCode::OK, "{usage}");
    assert_eq!(usage.as_array().unwrap().len(), 1, "{usage}");
    assert_eq!(
        (usage[0]["checkpoint_id"].as_i64(), usage[0]["screenings"].as_i64(), usage[0]["passes"].as_i64()),
        (Some(cp), Some(3), Some(2))
    );
    let (status, _) = commander.get("/api/v1/passes/usage?from_us=10&to_us=5").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_pass_page_qr_code_decodes_back_to_a_token_that_verifies() {
    let app = app!();
    let commander = app.login("commander").await;
    let cp = post(&app, &commander, "ZYG-01").await;
    let pass = issue(&commander, terms()).await;
    let id = pass["id"].as_str().unwrap();
    let html = commander.request(reqwest::Method::GET, &format!("/passes/{id}")).send().await.unwrap();
    assert_eq!(html.status(), StatusCode::OK);
    let html = html.text().await.unwrap();
    assert!(html.contains("豫M12345") && html.contains(pass["number"].as_str().unwrap()));
    let start = html.find("<svg").expect("the page holds the QR code as SVG");
    let end = html[start..].find("</svg>").unwrap() + start + 6;
    let decoded = crate::qr::decode_svg(&html[start..end]);
    assert_eq!(decoded, pass["token"].as_str().unwrap(), "the QR code holds the token");
    let duty = app.login("duty").await;
    let (verdict, _) = verify(&duty, json!({ "token": decoded, "plate": "豫M12345", "checkpoint_id": cp })).await;
    assert_eq!(verdict, "valid");
}
