//! The role × route matrix: every route of the API and the pages, driven by
//! every default role, checked against this table of who may do what. The
//! table is written out by hand on purpose: it is the product's promise, and
//! a change to the policy that breaks it must fail here.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app;
use crate::helpers::{ACCOUNTS, TestApp, v7};

const ALL: &[&str] = &["admin", "commander", "duty", "enterprise", "service", "cadre", "viewer"];
const ADMIN: &[&str] = &["admin"];
const WRITERS: &[&str] = &["admin", "commander", "duty", "enterprise", "service", "cadre"];
const EXPORTERS: &[&str] = &["admin", "commander", "cadre"];
const COMMANDERS: &[&str] = &["admin", "commander"];
const APPROVERS: &[&str] = &["admin", "commander", "service", "cadre"];
const PERSONAL: &[&str] = &["admin", "commander"];

struct Case {
    method: Method,
    path: String,
    body: Option<Value>,
    allowed: &'static [&'static str],
}

fn case(method: Method, path: impl Into<String>, body: Option<Value>, allowed: &'static [&'static str]) -> Case {
    Case { method, path: path.into(), body, allowed }
}

async fn cases(app: &TestApp) -> Vec<Case> {
    let admin = app.login("admin").await;
    let county = app.units["411224"].id.0;
    let dongming = app.units["411224107"].id.0;
    let (_, target) = admin
        .post("/api/v1/users", json!({ "username": "matrix.target", "display_name": "靶子", "password": "a long password", "role": "viewer", "org_unit_id": county }))
        .await;
    let target = target["id"].as_i64().unwrap();
    let (_, token) = admin.post("/api/v1/tokens", json!({ "user_id": target, "name": "matrix" })).await;
    let token = token["token"]["id"].as_i64().unwrap();
    let zyg = app.units["411224104"].id.0;
    let industry = app.units["D-INDUSTRY"].id.0;
    // A credit code with its check character; the second allowed role finds
    // it taken (422), which is not a refusal by the policy.
    let first17 = "91411224MA0000001";
    let code = format!("{first17}{}", shouwang_domain::enterprise::CreditCode::check_char(first17).unwrap());
    let firm = json!({ "credit_code": code, "name": "矩阵企业", "sector": "C", "size_class": "small",
                       "org_unit_id": dongming, "employees": 10 });
    let project = json!({ "enterprise_id": 999_999, "name": "矩阵项目", "product": "口罩",
                          "planned_daily_capacity": 10, "capacity_unit": "只",
                          "milestones": [{ "kind": "permits", "planned": "2026-01-01" }] });
    let post = json!({ "org_unit_id": zyg, "code": "NEW", "name": "矩阵卡点", "kind": "trunk_road", "lat": 33.7, "lon": 110.9, "required_staff": 1 });
    let (_, cp) = admin.post("/api/v1/checkpoints", fresh(&post, "setup")).await;
    let cp = cp["id"].as_i64().unwrap();
    let duty = app.login("duty").await;
    let request = v7();
    let (status, _) = duty
        .post(&format!("/api/v1/checkpoints/{cp}/resupply"), json!({ "id": request, "item": "mask", "quantity": 10 }))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let now = shouwang_store::now_us();
    let shift = json!({ "starts_us": now + 86_400_000_000i64, "ends_us": now + 86_400_000_000i64 + 3_600_000_000i64, "staff": [app.users["duty"].id.0] });
    let (status, pass) = admin.post("/api/v1/passes", crate::passes::terms()).await;
    assert_eq!(status, StatusCode::CREATED, "{pass}");
    let pass = pass["id"].as_str().unwrap().to_owned();
    let enterprise = app.login("enterprise").await;
    let pass_request = v7();
    let mut asked = crate::passes::terms();
    asked["id"] = json!(pass_request);
    let (status, _) = enterprise.post("/api/v1/pass-requests", asked).await;
    assert_eq!(status, StatusCode::CREATED);
    let mut pass_terms = crate::passes::terms();
    pass_terms["id"] = json!("NEW");
    // An order to the whole county's people, so everyone may answer it.
    let order = json!({ "id": "NEW", "title": "矩阵指令", "body": "矩阵", "deadline_us": now + 3_600_000_000i64,
                        "targets": { "org_units": [county] } });
    let (status, issued) = admin.post("/api/v1/orders", fresh(&order, "setup")).await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let order_id = issued["id"].as_str().unwrap().to_owned();
    let incident = json!({ "id": "NEW", "kind": "equipment_failure", "checkpoint_id": cp, "summary": "矩阵" });
    let (status, reported) = admin.post("/api/v1/incidents", fresh(&incident, "setup")).await;
    assert_eq!(status, StatusCode::CREATED, "{reported}");
    let incident_id = reported["incident"]["id"].as_str().unwrap().to_owned();
    let today = shouwang_domain::calendar::civil_from_days(now.div_euclid(86_400_000_000));
    let today = format!("{:04}-{:02}-{:02}", today.0, today.1, today.2);
    let labour_worker = json!({ "name": "NEW", "village_id": app.units["411224104202"].id.0, "age": 30,
                                "skills": ["general"], "health": "healthy", "last_check": today,
                                "available_from": today, "destinations": ["county"] });
    let labour_demand = json!({ "employer": "矩阵用工", "location": "郑州", "region": "province", "positions": 5,
                                "pay_yuan_month": 4000, "start": today });
    let screening = json!({ "id": "NEW", "direction": "in", "plate": "豫M12345", "vehicle_type": "car",
                            "people_count": 1, "cargo": "none", "outcome": "released" });
    vec![
        case(Method::GET, "/api/v1/me", None, ALL),
        case(Method::PUT, "/api/v1/me/locale", Some(json!({ "locale": "en" })), ALL),
        case(Method::GET, "/api/v1/events", None, ALL),
        case(Method::GET, "/api/v1/events/export", None, EXPORTERS),
        case(Method::GET, "/api/v1/calls", None, ALL),
        case(Method::GET, "/api/v1/calls/ice-servers", None, ALL),
        case(Method::GET, "/api/v1/org-units", None, ALL),
        case(
            Method::POST,
            "/api/v1/org-units",
            Some(json!({ "parent_id": county, "kind": "department", "code": "NEW", "name": "新部门" })),
            ADMIN,
        ),
        case(Method::PATCH, format!("/api/v1/org-units/{dongming}"), Some(json!({ "name": "东明镇" })), ADMIN),
        case(Method::GET, "/api/v1/users", None, ADMIN),
        case(
            Method::POST,
            "/api/v1/users",
            Some(
                json!({ "username": "NEW", "display_name": "新人", "password": "a long password", "role": "viewer", "org_unit_id": county }),
            ),
            ADMIN,
        ),
        case(Method::PATCH, format!("/api/v1/users/{target}"), Some(json!({ "display_name": "改名" })), ADMIN),
        case(Method::POST, format!("/api/v1/users/{target}/disable"), Some(json!({})), ADMIN),
        case(Method::POST, format!("/api/v1/users/{target}/enable"), Some(json!({})), ADMIN),
        case(
            Method::PUT,
            format!("/api/v1/users/{target}/password"),
            Some(json!({ "password": "another long one" })),
            ADMIN,
        ),
        case(Method::GET, "/api/v1/roles", None, ADMIN),
        case(Method::PUT, "/api/v1/roles/viewer", Some(json!({ "rights": ["read"] })), ADMIN),
        case(Method::GET, "/api/v1/tokens", None, ADMIN),
        case(Method::POST, "/api/v1/tokens", Some(json!({ "user_id": target, "name": "NEW" })), ADMIN),
        case(Method::DELETE, format!("/api/v1/tokens/{token}"), None, ADMIN),
        case(Method::GET, "/api/v1/duty-log", None, ALL),
        case(Method::POST, "/api/v1/duty-log", Some(json!({ "id": "NEW", "body": "矩阵测试" })), WRITERS),
        case(Method::GET, "/api/v1/checkpoints", None, ALL),
        case(Method::POST, "/api/v1/checkpoints", Some(post.clone()), COMMANDERS),
        case(Method::GET, format!("/api/v1/checkpoints/{cp}"), None, ALL),
        case(
            Method::PUT,
            format!("/api/v1/checkpoints/{cp}"),
            Some(
                json!({ "org_unit_id": zyg, "code": "MX-1", "name": "矩阵卡点", "kind": "trunk_road", "lat": 33.7, "lon": 110.9, "required_staff": 2 }),
            ),
            COMMANDERS,
        ),
        case(Method::POST, format!("/api/v1/checkpoints/{cp}/shifts"), Some(shift), COMMANDERS),
        case(Method::POST, "/api/v1/check-ins", Some(json!({ "id": "NEW", "shift_id": 1 })), WRITERS),
        case(Method::POST, "/api/v1/check-out", Some(json!({})), WRITERS),
        case(
            Method::POST,
            format!("/api/v1/checkpoints/{cp}/supplies"),
            Some(json!({ "id": "NEW", "item": "mask", "kind": "receipt", "quantity": 5 })),
            WRITERS,
        ),
        case(
            Method::POST,
            format!("/api/v1/checkpoints/{cp}/resupply"),
            Some(json!({ "id": "NEW", "item": "mask", "quantity": 5 })),
            WRITERS,
        ),
        case(Method::GET, "/api/v1/resupply", None, ALL),
        case(
            Method::POST,
            format!("/api/v1/resupply/{request}/decision"),
            Some(json!({ "approved_quantity": 5 })),
            APPROVERS,
        ),
        case(Method::POST, format!("/api/v1/resupply/{request}/dispatch"), Some(json!({})), APPROVERS),
        case(Method::POST, format!("/api/v1/resupply/{request}/receipt"), Some(json!({})), WRITERS),
        case(
            Method::POST,
            format!("/api/v1/checkpoints/{cp}/living-checks"),
            Some(json!({ "id": "NEW", "answers": [] })),
            WRITERS,
        ),
        case(Method::GET, "/api/v1/me/post", None, ALL),
        case(Method::GET, "/api/v1/me/post/offline", None, ALL),
        // Anyone signed in may deliver an outbox; each entry meets its own route's policy.
        case(Method::POST, "/api/v1/sync", Some(json!({ "sent_us": 1_800_000_000_000_000_i64, "entries": [] })), ALL),
        case(Method::POST, "/api/v1/checkpoints/import?dry_run=true", Some(json!({})), COMMANDERS),
        case(Method::GET, "/api/v1/checkpoints/export.xlsx", None, EXPORTERS),
        case(
            Method::POST,
            format!("/api/v1/checkpoints/{cp}/status"),
            Some(json!({ "status": "suspended", "reason": "矩阵" })),
            COMMANDERS,
        ),
        case(Method::POST, format!("/api/v1/checkpoints/{cp}/screenings"), Some(screening.clone()), WRITERS),
        case(
            Method::POST,
            format!("/api/v1/checkpoints/{cp}/screenings/batch"),
            Some(json!({ "screenings": [screening] })),
            WRITERS,
        ),
        case(Method::GET, "/api/v1/screenings", None, ALL),
        case(Method::GET, "/api/v1/screenings?unmasked=true", None, PERSONAL),
        case(Method::GET, "/api/v1/screenings/stats", None, ALL),
        case(Method::GET, "/api/v1/incidents", None, ALL),
        case(Method::GET, "/api/v1/board", None, ALL),
        case(Method::GET, "/api/v1/regions?q=411224", None, ALL),
        case(Method::GET, "/api/v1/passes", None, ALL),
        case(Method::POST, "/api/v1/passes", Some(pass_terms.clone()), APPROVERS),
        case(Method::GET, format!("/api/v1/passes/{pass}"), None, ALL),
        case(Method::POST, format!("/api/v1/passes/{pass}/revoke"), Some(json!({ "reason": "矩阵" })), APPROVERS),
        case(Method::POST, "/api/v1/pass-requests", Some(pass_terms), WRITERS),
        case(Method::GET, "/api/v1/pass-requests", None, ALL),
        case(
            Method::POST,
            format!("/api/v1/pass-requests/{pass_request}/decision"),
            Some(json!({ "approve": false, "note": "矩阵" })),
            APPROVERS,
        ),
        case(Method::POST, "/api/v1/passes/verify", Some(json!({ "token": "AAAA" })), ALL),
        case(Method::GET, "/api/v1/passes/key", None, ALL),
        case(Method::GET, "/api/v1/passes/revocations", None, ALL),
        case(Method::GET, format!("/api/v1/passes/tokens?checkpoint_id={cp}"), None, ALL),
        case(Method::GET, "/api/v1/passes/usage", None, ALL),
        case(Method::GET, "/api/v1/enterprises", None, ALL),
        case(Method::POST, "/api/v1/enterprises", Some(firm), APPROVERS),
        case(Method::GET, "/api/v1/resumption/dashboard", None, ALL),
        case(Method::GET, "/api/v1/ploughing?year=2020", None, ALL),
        case(Method::GET, "/api/v1/ploughing/progress?year=2020", None, ALL),
        case(Method::GET, "/api/v1/households", None, ALL),
        case(Method::GET, "/api/v1/households/unvisited?days=30", None, ALL),
        case(Method::GET, "/api/v1/reports/missing", None, ALL),
        case(Method::GET, "/api/v1/tickets", None, ALL),
        case(Method::GET, "/api/v1/ticket-routes", None, ALL),
        case(
            Method::PUT,
            "/api/v1/ticket-routes/labour",
            Some(json!({ "department_id": industry, "deadline_hours": 48 })),
            ADMIN,
        ),
        case(Method::GET, "/api/v1/projects", None, ALL),
        case(Method::POST, "/api/v1/projects", Some(project), APPROVERS),
        case(Method::GET, "/api/v1/workers", None, ALL),
        case(Method::POST, "/api/v1/workers", Some(labour_worker), WRITERS),
        case(Method::GET, "/api/v1/labour-demand", None, ALL),
        case(Method::POST, "/api/v1/labour-demand", Some(labour_demand), WRITERS),
        case(Method::GET, "/api/v1/placements", None, ALL),
        case(Method::POST, "/api/v1/placements", Some(json!({ "worker_id": 999_999, "demand_id": 1 })), APPROVERS),
        case(Method::GET, "/api/v1/transport-batches", None, ALL),
        case(Method::GET, "/labour", None, ALL),
        case(Method::GET, "/transport", None, ALL),
        case(Method::GET, "/api/v1/orders", None, ALL),
        case(Method::POST, "/api/v1/orders", Some(order.clone()), COMMANDERS),
        case(Method::GET, "/api/v1/me/orders", None, ALL),
        case(Method::GET, format!("/api/v1/orders/{order_id}"), None, ALL),
        case(Method::POST, format!("/api/v1/orders/{order_id}/read"), Some(json!({})), WRITERS),
        case(Method::POST, format!("/api/v1/orders/{order_id}/acknowledge"), Some(json!({ "version": 1 })), WRITERS),
        case(Method::POST, format!("/api/v1/orders/{order_id}/report"), Some(json!({ "report": "矩阵" })), WRITERS),
        case(Method::POST, format!("/api/v1/orders/{order_id}/amend"), Some(json!({ "body": "矩阵" })), COMMANDERS),
        case(Method::POST, format!("/api/v1/orders/{order_id}/revoke"), Some(json!({})), COMMANDERS),
        case(Method::GET, "/api/v1/alerts", None, ALL),
        case(Method::POST, format!("/api/v1/alerts/{}/acknowledge", v7()), Some(json!({})), COMMANDERS),
        case(Method::POST, "/api/v1/incidents", Some(incident.clone()), WRITERS),
        case(Method::GET, format!("/api/v1/incidents/{incident_id}"), None, ALL),
        case(
            Method::POST,
            format!("/api/v1/incidents/{incident_id}/steps"),
            Some(json!({ "note": "矩阵" })),
            COMMANDERS,
        ),
        case(Method::GET, format!("/incidents/{incident_id}"), None, ALL),
        case(Method::GET, "/orders", None, ALL),
        case(Method::GET, format!("/orders/{order_id}"), None, ALL),
        case(Method::GET, "/", None, ALL),
        case(Method::GET, "/passes", None, ALL),
        case(Method::GET, "/passes/verify", None, ALL),
        case(Method::GET, format!("/passes/{pass}"), None, ALL),
        case(Method::GET, "/checkpoints", None, ALL),
        case(Method::GET, "/screenings", None, ALL),
        case(Method::GET, format!("/checkpoints/{cp}"), None, ALL),
        case(Method::GET, "/resupply", None, ALL),
        case(Method::GET, "/my-post", None, ALL),
        case(Method::GET, "/duty-log", None, ALL),
        case(Method::GET, "/settings", None, ALL),
        case(Method::GET, "/ploughing", None, ALL),
        case(Method::GET, "/admin/org-units", None, ADMIN),
        case(Method::GET, "/admin/users", None, ADMIN),
        case(Method::GET, "/admin/roles", None, ADMIN),
        case(Method::GET, "/admin/tokens", None, ADMIN),
        case(Method::GET, "/admin/events", None, ADMIN),
        case(Method::POST, "/api/v1/auth/logout", Some(json!({})), ALL),
    ]
}

/// Fills in fresh values where a body says `NEW`, so each role's attempt is
/// judged on rights, not on a clash with the previous role's write.
fn fresh(body: &Value, role: &str) -> Value {
    let mut b = body.clone();
    for key in ["code", "username", "name"] {
        if b[key] == "NEW" {
            b[key] = json!(format!("m-{role}-{}", &v7()[30..]));
        }
    }
    if b["id"] == "NEW" {
        b["id"] = json!(v7());
    }
    if let Some(rows) = b.get_mut("screenings").and_then(Value::as_array_mut) {
        for row in rows {
            *row = fresh(row, role);
        }
    }
    b
}

#[tokio::test]
async fn every_route_allows_exactly_the_roles_the_policy_promises() {
    let app = app!();
    let cases = cases(&app).await;
    let mut wrong = Vec::new();
    for (user, role, _) in ACCOUNTS {
        let s = app.login(user).await;
        for c in &cases {
            let mut req = s.request(c.method.clone(), &c.path).header("accept", "application/json");
            if let Some(body) = &c.body {
                req = req.json(&fresh(body, role));
            }
            let status = req.send().await.unwrap().status();
            let allowed = c.allowed.contains(user);
            let ok = if allowed {
                status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED && status.as_u16() < 500
            } else {
                status == StatusCode::FORBIDDEN
            };
            if !ok {
                wrong.push(format!("{user:<10} {} {} -> {status} (allowed: {allowed})", c.method, c.path));
            }
        }
    }
    assert!(wrong.is_empty(), "the policy broke its promise:\n{}", wrong.join("\n"));
}

#[tokio::test]
async fn every_api_route_is_in_the_openapi_document() {
    let app = app!();
    let doc: Value = reqwest::get(format!("{}/api/openapi.json", app.base)).await.unwrap().json().await.unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for c in cases(&app).await.iter().filter(|c| c.path.starts_with("/api/v1/")) {
        let path = c.path.split('?').next().unwrap();
        let template = path
            .split('/')
            .map(|seg| {
                if seg.parse::<i64>().is_ok() || uuid::Uuid::parse_str(seg).is_ok() {
                    "{id}"
                } else if seg == "viewer" {
                    "{name}"
                } else if seg == "labour" {
                    "{category}"
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let entry = paths.get(&template).unwrap_or_else(|| panic!("{template} is not documented"));
        assert!(entry.get(c.method.as_str().to_lowercase()).is_some(), "{} {template} is not documented", c.method);
    }
}
