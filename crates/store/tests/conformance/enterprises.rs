//! Resumption of work as stored: an import of enterprises is all or none;
//! an enterprise's status moves only as the domain allows and every move is
//! a row of its history; a daily report is kept once per day (a later one
//! corrects it); a ticket goes overdue once.

use shouwang_domain::enterprise::{
    CreditCode, DailyFigures, PreventionPlan, ResumptionStatus, Sector, SizeClass, TicketCategory, Workforce,
};
use shouwang_domain::{EventKind, OrgUnitKind, RecordId, UserId};
use shouwang_store::{
    Command, EnterpriseDraft, NewApplication, NewDailyReport, NewTicket, StoreError, TicketSubject, Viewer,
};

use crate::checkpoints::{refused, world};
use crate::harness::{Harness, actor};

fn draft(unit: &shouwang_store::OrgUnit, serial: &str) -> EnterpriseDraft {
    let first17 = format!("91411224{serial}");
    let code = format!("{first17}{}", CreditCode::check_char(&first17).expect("serials are in the alphabet"));
    EnterpriseDraft {
        credit_code: CreditCode::parse("credit_code", &code).expect("a valid code"),
        name: format!("卢氏县{serial}有限公司"),
        sector: Sector::Manufacturing,
        size_class: SizeClass::Small,
        org_unit: unit.id,
        address: String::new(),
        above_designated: false,
        key_enterprise: false,
        epidemic_supplies: true,
        employees: 50,
        service_officer: None,
        department: None,
    }
}

fn plan() -> PreventionPlan {
    PreventionPlan {
        mask_stock_days: 10,
        disinfection: "每日两次".into(),
        gate_temperature_checks: true,
        canteen: String::new(),
        dormitory: String::new(),
        isolation_room: true,
        emergency_contact_name: "刘洋".into(),
        emergency_contact_phone: "13800138000".into(),
    }
}

fn figures(on_site: u32) -> DailyFigures {
    DailyFigures {
        on_site,
        capacity_pct: 60,
        output_value_yuan: 10_000,
        ppe_stock_days: 10,
        raw_material_days: 5,
        orders_on_hand_yuan: 0,
        masks: 1_000,
        disinfectant_kg: 0,
        suits: 0,
        problems: String::new(),
    }
}

pub async fn an_import_of_enterprises_is_all_or_none_and_names_the_row(h: Harness) {
    let w = world(&h).await;
    let rows = vec![draft(&w.town, "MA0000001"), draft(&w.town, "MA0000002"), draft(&w.other_town, "MA0000001")];
    refused(h.system(Command::ImportEnterprises(rows)).await, "rows[2].credit_code", "taken");
    let viewer = Viewer { scope: &w.county.path, user: UserId(0) };
    assert!(h.store.enterprises_visible(&viewer).await.expect("a list").is_empty(), "nothing written");

    let applied =
        h.ok(Command::ImportEnterprises(vec![draft(&w.town, "MA0000001"), draft(&w.other_town, "MA0000002")])).await;
    assert_eq!(applied.events.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::EnterpriseCreated; 2]);
    let stored = applied.outcome.into_enterprises().expect("enterprises");
    assert_eq!(stored[0].scope.as_str(), format!("{}e{}/", w.town.path, stored[0].id));
    assert_eq!(stored[0].status, ResumptionStatus::NotStarted);
    let town = Viewer { scope: &w.town.path, user: UserId(0) };
    assert_eq!(h.store.enterprises_visible(&town).await.expect("a list").len(), 1, "each township its own");
    let again = h.system(Command::CreateEnterprise(draft(&w.other_town, "MA0000001"))).await;
    assert!(matches!(again, Err(StoreError::Conflict { field: "credit_code" })), "{again:?}");
    let dept = h.unit(Some(&w.county), OrgUnitKind::Department, "D-X").await;
    let mut bad = draft(&w.town, "MA0000009");
    bad.org_unit = dept.id;
    refused(h.system(Command::CreateEnterprise(bad)).await, "org_unit_id", "not_a_township");
}

pub async fn resumption_moves_as_the_domain_allows_reports_once_a_day_and_tickets_go_overdue_once(h: Harness) {
    let w = world(&h).await;
    let contact = w.guard(&h, "contact").await;
    let cadre = actor(&w.guard(&h, "cadre").await);
    let dept = h.unit(Some(&w.county), OrgUnitKind::Department, "D-INDUSTRY").await;
    let mut d = draft(&w.town, "MA0000003");
    d.department = Some(dept.id);
    let e = h.ok(Command::CreateEnterprise(d)).await.outcome.into_enterprise().expect("an enterprise");
    let me = actor(&contact);

    let early = Command::SetResumption { enterprise: e.id, to: ResumptionStatus::FullyResumed, note: String::new() };
    refused(h.submit(me.clone(), early).await, "status", "invalid_transition");
    let report = |id: RecordId, on_site: u32| {
        Command::FileDailyReport(NewDailyReport { id, enterprise: e.id, day: 20_000, figures: figures(on_site) })
    };
    refused(h.submit(me.clone(), report(RecordId::new_v7(), 5)).await, "enterprise_id", "not_resumed");

    let application = NewApplication {
        id: RecordId::new_v7(),
        enterprise: e.id,
        plan: plan(),
        workforce: Workforce { local: 40, returning: 0, returning_origins: Vec::new(), still_away: 0 },
    };
    let filed = h.submit(me.clone(), Command::FileResumption(application.clone())).await.expect("filed");
    assert_eq!(filed.events[0].kind, EventKind::ResumptionFiled);
    let resent = h.submit(me.clone(), Command::FileResumption(application.clone())).await.expect("a resend");
    assert!(resent.events.is_empty(), "filed once");
    let refuse =
        Command::ReviewResumption { application: application.id, to: ResumptionStatus::Refused, note: " ".into() };
    refused(h.submit(cadre.clone(), refuse).await, "note", "reason_required");
    let approve =
        Command::ReviewResumption { application: application.id, to: ResumptionStatus::Approved, note: String::new() };
    h.submit(cadre.clone(), approve.clone()).await.expect("approved");
    assert!(
        matches!(h.submit(cadre.clone(), approve).await, Err(StoreError::Conflict { field: "decision" })),
        "decided once"
    );
    let resume = Command::SetResumption { enterprise: e.id, to: ResumptionStatus::PartlyResumed, note: String::new() };
    h.submit(me.clone(), resume).await.expect("resumed");

    // One report a day: a resend is the same, a later one corrects it.
    let first = RecordId::new_v7();
    let stored = h.submit(me.clone(), report(first, 20)).await.expect("reported");
    assert_eq!(stored.events[0].kind, EventKind::DailyReported);
    assert!(h.submit(me.clone(), report(first, 20)).await.expect("a resend").events.is_empty());
    refused(h.submit(me.clone(), report(RecordId::new_v7(), 51)).await, "on_site", "above_employees");
    h.submit(me.clone(), report(RecordId::new_v7(), 30)).await.expect("corrected");
    let reports = h.store.daily_reports(e.id, 10).await.expect("reports");
    assert_eq!(reports.iter().map(|r| (r.day, r.figures.on_site)).collect::<Vec<_>>(), [(20_000, 30)]);
    assert_eq!(h.store.enterprise(e.id).await.expect("the enterprise").on_site, 30);
    let viewer = Viewer { scope: &w.county.path, user: UserId(0) };
    assert!(h.store.missing_reports(&viewer, 20_000).await.expect("missing").is_empty());
    assert_eq!(h.store.missing_reports(&viewer, 20_001).await.expect("missing").len(), 1);
    let history: Vec<_> = h.store.resumption_history(e.id).await.expect("history").iter().map(|c| c.status).collect();
    assert_eq!(history, [ResumptionStatus::Applied, ResumptionStatus::Approved, ResumptionStatus::PartlyResumed]);

    // A ticket with no route goes to the enterprise's department; overdue once.
    let ticket = NewTicket {
        id: RecordId::new_v7(),
        subject: TicketSubject::Enterprise(e.id),
        category: TicketCategory::Labour,
        department: None,
        title: "返岗员工需要健康证明".into(),
        body: String::new(),
        attachment: None,
        pass_request: None,
    };
    let raised = h.submit(me.clone(), Command::RaiseTicket(ticket.clone())).await.expect("raised");
    let (t, _) = raised.outcome.into_ticket().expect("a ticket");
    assert_eq!(t.department_id, dept.id);
    assert!(h.store.tickets_past_deadline(t.deadline_us).await.expect("past").is_empty(), "not yet");
    assert_eq!(h.store.tickets_past_deadline(t.deadline_us + 1).await.expect("past").len(), 1);
    let overdue = Command::MarkTicketOverdue { id: ticket.id, escalate_to: Some(contact.id) };
    assert_eq!(h.ok(overdue.clone()).await.events[0].kind, EventKind::TicketOverdue);
    assert!(h.ok(overdue).await.events.is_empty(), "overdue once");
    assert!(h.store.tickets_past_deadline(t.deadline_us + 1).await.expect("past").is_empty());
}
