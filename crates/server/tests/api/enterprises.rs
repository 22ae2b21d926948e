//! Resumption of work through the API: an enterprise applies, is returned,
//! applies again, is approved, resumes and reports daily; its contact sees
//! only it; problems go to the department and the dedicated officer and are
//! confirmed by the enterprise with a rating; key projects show slippage;
//! bad input is refused on the field with nothing written.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::app;
use crate::helpers::{PASSWORD, Session, TestApp, credit_code, v7};

async fn enterprise(app: &TestApp, commander: &Session, serial: &str, name: &str) -> Value {
    let body = json!({ "credit_code": credit_code(serial), "name": name, "sector": "C", "size_class": "small",
                       "org_unit_id": app.units["411224107"].id.0, "employees": 80, "epidemic_supplies": true,
                       "service_officer_id": app.users["service"].id.0,
                       "department_id": app.units["D-INDUSTRY"].id.0 });
    let (status, e) = commander.post("/api/v1/enterprises", body).await;
    assert_eq!(status, StatusCode::CREATED, "{e}");
    e
}

/// An account scoped to enterprise `id`, signed in.
async fn contact(app: &TestApp, commander: &Session, id: i64, username: &str) -> Session {
    let body = json!({ "username": username, "display_name": "企业联络员", "password": PASSWORD });
    let (status, user) = commander.post(&format!("/api/v1/enterprises/{id}/contacts"), body).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    app.login(username).await
}

fn application(id: &str) -> Value {
    json!({ "id": id,
            "plan": { "mask_stock_days": 14, "disinfection": "每日两次", "gate_temperature_checks": true,
                      "canteen": "分餐", "dormitory": "每间不超过4人", "isolation_room": true,
                      "emergency_contact_name": "刘洋", "emergency_contact_phone": "13800138000" },
            "workforce": { "local": 60, "returning": 10, "returning_origins": [["湖北", 4], ["陕西", 6]],
                           "still_away": 5 } })
}

fn report(id: &str, on_site: i64, capacity: i64) -> Value {
    json!({ "id": id, "on_site": on_site, "capacity_pct": capacity, "output_value_yuan": 120000,
            "ppe_stock_days": 12, "raw_material_days": 9, "orders_on_hand_yuan": 800000, "masks": 50000,
            "problems": "" })
}

/// Enterprise `id` applied and approved, as the contact and the commander.
async fn approved(commander: &Session, contact: &Session, id: i64) {
    let (status, a) = contact.post(&format!("/api/v1/enterprises/{id}/applications"), application(&v7())).await;
    assert_eq!(status, StatusCode::CREATED, "{a}");
    let app_id = a["id"].as_str().unwrap();
    let (status, a) =
        commander.post(&format!("/api/v1/applications/{app_id}/review"), json!({ "decision": "approved" })).await;
    assert_eq!(status, StatusCode::OK, "{a}");
}

fn field(body: &Value) -> (&str, &str) {
    (body["error"]["field"].as_str().unwrap_or(""), body["error"]["code"].as_str().unwrap_or(""))
}

#[tokio::test]
async fn an_enterprise_is_returned_then_approved_resumes_and_reports_and_its_contact_sees_only_it() {
    let app = app!();
    let commander = app.login("commander").await;
    let hongda = enterprise(&app, &commander, "MA0000001", "卢氏县宏达防护用品有限公司").await;
    let other = enterprise(&app, &commander, "MA0000002", "卢氏县东明建材有限公司").await;
    let id = hongda["id"].as_i64().unwrap();
    let liu = contact(&app, &commander, id, "hongda.liu").await;

    // The contact sees its own enterprise and nothing else.
    let (_, list) = liu.get("/api/v1/enterprises").await;
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["卢氏县宏达防护用品有限公司"]);
    let (status, _) = liu.get(&format!("/api/v1/enterprises/{}", other["id"])).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // No report before approval.
    let (status, body) = liu.post(&format!("/api/v1/enterprises/{id}/reports"), report(&v7(), 10, 20)).await;
    assert_eq!((status, field(&body).1), (StatusCode::CONFLICT, "not_resumed"), "{body}");

    // Filed (a resend is the same application), returned with comments.
    let first = v7();
    let path = format!("/api/v1/enterprises/{id}/applications");
    assert_eq!(liu.post(&path, application(&first)).await.0, StatusCode::CREATED);
    assert_eq!(liu.post(&path, application(&first)).await.0, StatusCode::OK, "a resend files once");
    let (status, body) = liu.post(&path, application(&v7())).await;
    assert_eq!((status, field(&body).0), (StatusCode::CONFLICT, "status"), "one application at a time: {body}");
    let review = format!("/api/v1/applications/{first}/review");
    let (status, body) = commander.post(&review, json!({ "decision": "returned" })).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("note", "reason_required")));
    let cadre = app.login("cadre").await;
    assert_eq!(cadre.post(&review, json!({ "decision": "approved" })).await.0, StatusCode::NOT_FOUND, "another town");
    let (status, _) = commander.post(&review, json!({ "decision": "returned", "note": "隔离室未落实" })).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = commander.post(&review, json!({ "decision": "approved" })).await;
    assert_eq!((status, field(&body).0), (StatusCode::CONFLICT, "decision"), "decided once: {body}");

    // Filed again and approved; then resumed in part.
    approved(&commander, &liu, id).await;
    let (status, e) =
        liu.post(&format!("/api/v1/enterprises/{id}/status"), json!({ "status": "partly_resumed" })).await;
    assert_eq!((status, e["status"].as_str()), (StatusCode::OK, Some("partly_resumed")), "{e}");

    // Bad reports are refused on their field; nothing is written.
    let reports = format!("/api/v1/enterprises/{id}/reports");
    let (status, body) = liu.post(&reports, report(&v7(), 81, 50)).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("on_site", "above_employees")));
    let (status, body) = liu.post(&reports, report(&v7(), 40, 101)).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("capacity_pct", "out_of_range")));
    let (_, view) = liu.get(&format!("/api/v1/enterprises/{id}")).await;
    assert_eq!(view["reports"].as_array().unwrap().len(), 0);

    let report_id = v7();
    assert_eq!(liu.post(&reports, report(&report_id, 40, 55)).await.0, StatusCode::CREATED);
    assert_eq!(liu.post(&reports, report(&report_id, 40, 55)).await.0, StatusCode::OK, "a resend reports once");
    let (status, _) = liu.post(&reports, report(&v7(), 52, 60)).await;
    assert_eq!(status, StatusCode::CREATED, "a second report the same day corrects the first");
    let (_, view) = liu.get(&format!("/api/v1/enterprises/{id}")).await;
    assert_eq!(view["reports"].as_array().unwrap().len(), 1);
    assert_eq!(view["enterprise"]["on_site"], 52);
    assert_eq!(view["reported_today"], true);
    let history: Vec<&str> =
        view["history"].as_array().unwrap().iter().map(|h| h["status"].as_str().unwrap()).collect();
    assert_eq!(history, ["applied", "returned", "applied", "approved", "partly_resumed"]);

    // The dashboard counts it.
    let (_, board) = commander.get("/api/v1/resumption/dashboard").await;
    assert_eq!((board["enterprises"].as_i64(), board["resumed"].as_i64()), (Some(2), Some(1)), "{board}");
    assert_eq!(board["on_site"], 52);
    assert_eq!(board["supplies"][0]["masks"], 50000);
}

#[tokio::test]
async fn a_problem_goes_to_the_officer_who_resolves_it_and_only_the_enterprise_confirms_it() {
    let app = app!();
    let commander = app.login("commander").await;
    let hongda = enterprise(&app, &commander, "MA0000003", "卢氏县宏达防护用品有限公司").await;
    let id = hongda["id"].as_i64().unwrap();
    let liu = contact(&app, &commander, id, "hongda.liu").await;
    approved(&commander, &liu, id).await;

    // A department that does not exist is refused; nothing is written.
    let bad = json!({ "id": v7(), "enterprise_id": id, "category": "logistics", "department_id": 999_999,
                      "title": "原料运输车辆无法通行" });
    let (status, body) = liu.post("/api/v1/tickets", bad).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("department_id", "not_found")));
    let (_, none) = liu.get("/api/v1/tickets").await;
    assert_eq!(none.as_array().unwrap().len(), 0);

    let ticket_id = v7();
    let raised = json!({ "id": ticket_id, "enterprise_id": id, "category": "logistics",
                         "title": "原料运输车辆无法通行", "body": "熔喷布从郑州运来，需要通行证" });
    let (status, t) = liu.post("/api/v1/tickets", raised).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    // No transport department in this county: it goes to the enterprise's.
    assert_eq!(t["ticket"]["department_id"], app.units["D-INDUSTRY"].id.0);
    assert_eq!(t["ticket"]["officer_id"], app.users["service"].id.0);
    let deadline = t["ticket"]["deadline_us"].as_i64().unwrap() - t["ticket"]["raised_us"].as_i64().unwrap();
    assert_eq!(deadline, 24 * 3_600_000_000, "logistics has a day");

    // The officer works it; the contact may not resolve its own problem.
    let steps = format!("/api/v1/tickets/{ticket_id}/steps");
    assert_eq!(liu.post(&steps, json!({ "status": "resolved" })).await.0, StatusCode::FORBIDDEN);
    let service = app.login("service").await;
    let (_, mine) = service.get("/api/v1/tickets?open=true").await;
    assert_eq!(mine.as_array().unwrap().len(), 1, "the dedicated officer sees it: {mine}");
    for status in ["accepted", "in_progress"] {
        let (s, body) = service.post(&steps, json!({ "status": status })).await;
        assert_eq!(s, StatusCode::OK, "{status}: {body}");
    }
    let (status, body) = service.post(&steps, json!({ "status": "confirmed", "rating": 5 })).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("status", "not_your_ticket")));
    let (status, body) = service.post(&steps, json!({ "status": "resolved", "note": "已办理通行证" })).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The enterprise confirms, with a rating in range.
    let (status, body) = liu.post(&steps, json!({ "status": "confirmed" })).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("rating", "required")));
    let (status, body) = liu.post(&steps, json!({ "status": "confirmed", "rating": 6 })).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("rating", "out_of_range")));
    let (status, body) = liu.post(&steps, json!({ "status": "confirmed", "rating": 5 })).await;
    assert_eq!((status, body["ticket"]["status"].as_str()), (StatusCode::OK, Some("confirmed")), "{body}");
    let notes: Vec<&str> = body["notes"].as_array().unwrap().iter().filter_map(|n| n["status"].as_str()).collect();
    assert_eq!(notes, ["accepted", "in_progress", "resolved", "confirmed"]);
    let (status, _) = liu.post(&steps, json!({ "note": "谢谢" })).await;
    assert_eq!(status, StatusCode::CONFLICT, "a confirmed ticket is closed");

    // The officer's dashboard holds the enterprise served, from a department.
    let (_, theirs) = service.get("/api/v1/resumption/dashboard").await;
    assert_eq!(
        (theirs["enterprises"].as_i64(), theirs["tickets"][0]["total"].as_i64()),
        (Some(1), Some(1)),
        "{theirs}"
    );
    let (_, board) = commander.get("/api/v1/resumption/dashboard").await;
    let row = &board["tickets"][0];
    assert_eq!((row["total"].as_i64(), row["on_time"].as_i64()), (Some(1), Some(1)), "{board}");
    assert_eq!(row["mean_rating"], 5.0);
}

#[tokio::test]
async fn bad_enterprises_and_projects_are_refused_on_the_field_and_a_slipping_project_shows() {
    let app = app!();
    let commander = app.login("commander").await;
    let good = credit_code("MA0000004");
    let mut wrong = good.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    let body = |code: &str| {
        json!({ "credit_code": code, "name": "卢氏县某某公司", "sector": "C", "size_class": "small",
                "org_unit_id": app.units["411224107"].id.0, "employees": 10 })
    };
    let (status, e) = commander.post("/api/v1/enterprises", body(&wrong)).await;
    assert_eq!((status, field(&e)), (StatusCode::UNPROCESSABLE_ENTITY, ("credit_code", "credit_code_check")));
    assert_eq!(commander.post("/api/v1/enterprises", body(&good)).await.0, StatusCode::CREATED);
    let (status, e) = commander.post("/api/v1/enterprises", body(&good)).await;
    assert_eq!((status, field(&e)), (StatusCode::UNPROCESSABLE_ENTITY, ("credit_code", "taken")));
    let (_, list) = commander.get("/api/v1/enterprises").await;
    assert_eq!(list.as_array().unwrap().len(), 1, "nothing written by the refusals");
    let id = list[0]["id"].as_i64().unwrap();

    let today = shouwang_store::now_us() / 86_400_000_000;
    let day = |offset: i64| {
        let (y, m, d) = shouwang_domain::calendar::civil_from_days(today + offset);
        format!("{y:04}-{m:02}-{d:02}")
    };
    let project = |milestones: Value| {
        json!({ "enterprise_id": id, "name": "医用防护服生产线", "product": "医用防护服",
                "planned_daily_capacity": 3000, "capacity_unit": "套", "milestones": milestones })
    };
    let out_of_order = json!([{ "kind": "permits", "planned": day(-5) },
                              { "kind": "equipment_ordered", "planned": day(-9) }]);
    let (status, e) = commander.post("/api/v1/projects", project(out_of_order)).await;
    assert_eq!((status, field(&e)), (StatusCode::UNPROCESSABLE_ENTITY, ("milestones[1].planned", "milestone_order")));

    let slipping = json!([{ "kind": "permits", "planned": day(-20), "actual": day(-19) },
                          { "kind": "equipment_ordered", "planned": day(-10) },
                          { "kind": "full_production", "planned": day(20) }]);
    let (status, p) = commander.post("/api/v1/projects", project(slipping)).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert!(p["slip_days"].as_i64().unwrap() >= 9, "ordering the equipment is ten days late: {p}");
    assert_eq!(p["next"], "equipment_ordered");
    let pid = p["project"]["id"].as_i64().unwrap();
    let (status, p) = commander
        .post(&format!("/api/v1/projects/{pid}/milestones"), json!({ "kind": "equipment_ordered", "actual": day(-1) }))
        .await;
    assert_eq!((status, p["next"].as_str()), (StatusCode::OK, Some("full_production")), "{p}");
    let (status, e) = commander
        .post(&format!("/api/v1/projects/{pid}/milestones"), json!({ "kind": "full_production", "actual": day(3) }))
        .await;
    assert_eq!((status, field(&e)), (StatusCode::UNPROCESSABLE_ENTITY, ("actual", "in_future")));
    let (_, board) = commander.get("/api/v1/resumption/dashboard").await;
    assert_eq!(board["projects"][0]["project"]["name"], "医用防护服生产线");
}

#[tokio::test]
async fn a_ticket_past_its_deadline_alerts_hq_and_is_escalated_to_the_department_head_until_resolved() {
    let app = app!();
    let (admin, commander) = (app.login("admin").await, app.login("commander").await);
    let industry = app.units["D-INDUSTRY"].id.0;
    let (status, body) = admin
        .send(Method::PUT, "/api/v1/ticket-routes/labour", json!({ "department_id": industry, "deadline_hours": 0 }))
        .await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("deadline_hours", "out_of_range")));
    let (status, body) = admin
        .send(Method::PUT, "/api/v1/ticket-routes/labour", json!({ "department_id": 999_999, "deadline_hours": 48 }))
        .await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("department_id", "not_found")));
    let (status, routes) = admin
        .send(Method::PUT, "/api/v1/ticket-routes/labour", json!({ "department_id": industry, "deadline_hours": 48 }))
        .await;
    assert_eq!(status, StatusCode::OK, "{routes}");
    let labour = routes.as_array().unwrap().iter().find(|r| r["category"] == "labour").unwrap();
    assert_eq!((labour["department_id"].as_i64(), labour["deadline_hours"].as_i64()), (Some(industry), Some(48)));
    let head = json!({ "username": "industry.head", "display_name": "工信局局长", "password": PASSWORD,
                       "role": "service_officer", "org_unit_id": industry });
    assert_eq!(admin.post("/api/v1/users", head).await.0, StatusCode::CREATED);

    let hongda = enterprise(&app, &commander, "MA0000005", "卢氏县宏达防护用品有限公司").await;
    let id = hongda["id"].as_i64().unwrap();
    let liu = contact(&app, &commander, id, "hongda.liu").await;
    let ticket_id = v7();
    let raised = json!({ "id": ticket_id, "enterprise_id": id, "category": "labour", "title": "湖北籍员工返岗隔离" });
    let (status, t) = liu.post("/api/v1/tickets", raised).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let hours =
        (t["ticket"]["deadline_us"].as_i64().unwrap() - t["ticket"]["raised_us"].as_i64().unwrap()) / 3_600_000_000;
    assert_eq!(hours, 48, "the configured route's deadline");

    // Two days pass (the deadline is moved back rather than the clock on).
    sqlx::query("UPDATE tickets SET deadline_us = raised_us - 1 WHERE id = $1")
        .bind(&ticket_id)
        .execute(app.store.pool())
        .await
        .unwrap();
    let settings = shouwang_server::config::AlertSettings::default();
    let mut evaluator = shouwang_server::alerts::Evaluator::default();
    let mut run = async || {
        shouwang_server::api::tickets::mark_overdue(&app.store, &app.writer).await.unwrap();
        evaluator.run(&app.store, &app.writer, &settings, shouwang_store::now_us()).await.unwrap()
    };
    assert!(run().await >= 1);
    let (_, alerts) = commander.get("/api/v1/alerts").await;
    let late: Vec<&Value> = alerts.as_array().unwrap().iter().filter(|a| a["rule"] == "ticket_overdue").collect();
    assert_eq!(late.len(), 1, "{alerts}");
    assert_eq!(
        (late[0]["detail"]["title"].as_str(), late[0]["detail"]["supervisor"].as_str()),
        (Some("湖北籍员工返岗隔离"), Some("工信局局长"))
    );
    let (_, t) = liu.get(&format!("/api/v1/tickets/{ticket_id}")).await;
    assert_eq!((t["overdue"].as_bool(), t["ticket"]["escalated_to"].is_i64()), (Some(true), true), "{t}");
    assert_eq!(run().await, 0, "raised once");

    let service = app.login("service").await;
    let steps = format!("/api/v1/tickets/{ticket_id}/steps");
    let (status, _) = service.post(&steps, json!({ "status": "resolved", "note": "已协调隔离点" })).await;
    assert_eq!(status, StatusCode::OK);
    run().await;
    let (_, alerts) = commander.get("/api/v1/alerts").await;
    assert!(alerts.as_array().unwrap().iter().all(|a| a["rule"] != "ticket_overdue"), "resolved clears it: {alerts}");
}

#[tokio::test]
async fn a_logistics_problem_asking_for_a_pass_is_resolved_when_the_pass_is_issued() {
    let app = app!();
    let commander = app.login("commander").await;
    let hongda = enterprise(&app, &commander, "MA0000006", "卢氏县宏达防护用品有限公司").await;
    let id = hongda["id"].as_i64().unwrap();
    let liu = contact(&app, &commander, id, "hongda.liu").await;
    let asked = |category: &str, ticket: &str, pass: Value| {
        json!({ "id": ticket, "enterprise_id": id, "category": category, "title": "熔喷布原料车需要通行证",
                "pass": pass })
    };

    // Only a logistics problem asks for a pass; bad terms are named under `pass`.
    let (status, body) = liu.post("/api/v1/tickets", asked("finance", &v7(), crate::passes::terms())).await;
    assert_eq!((status, field(&body)), (StatusCode::UNPROCESSABLE_ENTITY, ("pass", "only_logistics")));
    let mut bad = crate::passes::terms();
    bad["plates"] = json!(["不是车牌"]);
    let (status, body) = liu.post("/api/v1/tickets", asked("logistics", &v7(), bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(field(&body).0.starts_with("pass.plates"), "{body}");
    let (_, none) = commander.get("/api/v1/pass-requests").await;
    assert_eq!(none.as_array().unwrap().len(), 0, "nothing asked for by the refusals");

    let ticket = v7();
    let (status, t) = liu.post("/api/v1/tickets", asked("logistics", &ticket, crate::passes::terms())).await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    assert_eq!(t["pass_request"]["state"], "requested");
    let request = t["pass_request"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        liu.post("/api/v1/tickets", asked("logistics", &ticket, crate::passes::terms())).await.0,
        StatusCode::OK
    );
    let (_, requests) = commander.get("/api/v1/pass-requests").await;
    assert_eq!(requests.as_array().unwrap().len(), 1, "a resend asks once: {requests}");

    // The commander approves the request: the pass is issued, the ticket resolved.
    let (status, decided) =
        commander.post(&format!("/api/v1/pass-requests/{request}/decision"), json!({ "approve": true })).await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    let (_, t) = liu.get(&format!("/api/v1/tickets/{ticket}")).await;
    assert_eq!(t["ticket"]["status"], "resolved", "{t}");
    let pass = t["pass_request"]["pass_id"].as_str().expect("the pass issued").to_owned();
    let (status, p) = liu.get(&format!("/api/v1/passes/{pass}")).await;
    assert_eq!(status, StatusCode::OK, "the enterprise sees the pass it asked for: {p}");
    assert_eq!(p["plates"], json!(["豫M12345", "豫MD12345"]));
}
