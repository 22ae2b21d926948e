//! How the writer keeps the resumption of work: enterprises, applications
//! and their review, changes of status (each a row of the history), daily
//! reports (one per enterprise and day; a later one that day corrects it),
//! problem tickets routed to a department and the enterprise's officer, and
//! key projects. The domain decides which status may follow which; this
//! file checks it against the row as it stands inside the transaction.

use serde_json::json;
use sqlx::{AnyConnection, Row};

use shouwang_domain::enterprise::{ResumptionStatus, TicketStatus, check_milestones};
use shouwang_domain::{EnterpriseId, EventKind, FieldError, NewEvent, OrgUnitKind, ProjectId, RecordId, UserId};

use super::{Actor, Command, Decided, Outcome, dangling_key};
use crate::StoreError;
use crate::enterprises::{
    APPLICATION_COLUMNS, ENTERPRISE_COLUMNS, Enterprise, EnterpriseDraft, NewApplication, NewDailyReport, NewTicket,
    ProjectDraft, REPORT_COLUMNS, TICKET_COLUMNS, Ticket, TicketStep, TicketSubject, application_from, enterprise_from,
    project, report_from, ticket_from,
};

fn invalid(field: &str, code: &'static str) -> StoreError {
    StoreError::Invalid(FieldError::new(field, code))
}

pub(super) async fn apply(
    conn: &mut AnyConnection,
    actor: &Actor,
    command: &Command,
    now: i64,
) -> Result<Decided, StoreError> {
    match command {
        Command::CreateEnterprise(d) => create(conn, d, now).await,
        Command::ImportEnterprises(drafts) => {
            // All or none. A refusal returned after some rows were inserted
            // would leave them in the batch's transaction, which commits; so
            // every row is checked before any is written.
            for (i, d) in drafts.iter().enumerate() {
                let within = |e: StoreError| match e {
                    StoreError::Invalid(f) => StoreError::Invalid(f.within(&format!("rows[{i}]"))),
                    other => other,
                };
                check_draft(conn, d).await.map_err(within)?;
                let taken = drafts[..i].iter().any(|e| e.credit_code == d.credit_code)
                    || sqlx::query("SELECT 1 FROM enterprises WHERE credit_code = $1")
                        .bind(d.credit_code.as_str())
                        .fetch_optional(&mut *conn)
                        .await?
                        .is_some();
                if taken {
                    return Err(StoreError::Invalid(FieldError::new(format!("rows[{i}].credit_code"), "taken")));
                }
            }
            let mut stored = Vec::with_capacity(drafts.len());
            let mut events = Vec::with_capacity(drafts.len());
            for d in drafts {
                let (outcome, mut new_events) = create(conn, d, now).await?;
                stored.push(outcome.into_enterprise()?);
                events.append(&mut new_events);
            }
            Ok((Outcome::Enterprises(stored), events))
        }
        Command::UpdateEnterprise { id, draft } => update(conn, *id, draft, now).await,
        Command::FileResumption(a) => file(conn, actor.person()?, a, now).await,
        Command::ReviewResumption { application, to, note } => {
            review(conn, actor.person()?, *application, *to, note, now).await
        }
        Command::SetResumption { enterprise, to, note } => set_status(conn, actor, *enterprise, *to, note, now).await,
        Command::FileDailyReport(r) => report(conn, actor.person()?, r, now).await,
        Command::RaiseTicket(t) => raise(conn, actor.person()?, t, now).await,
        Command::StepTicket { id, step } => step_ticket(conn, actor, *id, step, now).await,
        Command::MarkTicketOverdue { id, escalate_to } => overdue(conn, *id, *escalate_to, now).await,
        Command::PutTicketRoute { category, department, deadline_hours } => {
            department_exists(conn, "department_id", *department).await?;
            if !(1..=24 * 90).contains(deadline_hours) {
                return Err(StoreError::Invalid(
                    FieldError::new("deadline_hours", "out_of_range").arg("min", 1).arg("max", 24 * 90),
                ));
            }
            sqlx::query("DELETE FROM ticket_routes WHERE category = $1")
                .bind(category.as_str())
                .execute(&mut *conn)
                .await?;
            sqlx::query("INSERT INTO ticket_routes (category, department_id, deadline_hours) VALUES ($1, $2, $3)")
                .bind(category.as_str())
                .bind(department.0)
                .bind(*deadline_hours)
                .execute(&mut *conn)
                .await?;
            Ok((Outcome::Done, Vec::new()))
        }
        Command::CreateProject(p) => create_project(conn, p, now).await,
        Command::SetMilestone { project: id, kind, actual_day, blocking } => {
            let before = project(conn, *id).await?;
            let mut ms = before.milestones.clone();
            let Some(m) = ms.iter_mut().find(|m| m.kind == *kind) else {
                return Err(invalid("kind", "not_found"));
            };
            m.actual_day = *actual_day;
            check_milestones(&ms).map_err(StoreError::Invalid)?;
            sqlx::query("UPDATE project_milestones SET actual_day = $1 WHERE project_id = $2 AND kind = $3")
                .bind(*actual_day)
                .bind(id.0)
                .bind(kind.as_str())
                .execute(&mut *conn)
                .await?;
            if let Some(b) = blocking {
                sqlx::query("UPDATE key_projects SET blocking = $1 WHERE id = $2")
                    .bind(b)
                    .bind(id.0)
                    .execute(&mut *conn)
                    .await?;
            }
            sqlx::query("UPDATE key_projects SET updated_us = $1 WHERE id = $2")
                .bind(now)
                .bind(id.0)
                .execute(&mut *conn)
                .await?;
            let after = project(conn, *id).await?;
            let e = NewEvent::new(
                EventKind::ProjectUpdated,
                format!("project:{}", after.id),
                after.scope.clone(),
                json!({ "id": after.id, "name": after.name, "enterprise_id": after.enterprise_id,
                        "milestone": kind.as_str(), "actual_day": actual_day }),
            );
            Ok((Outcome::Project(after), vec![e]))
        }
        _ => unreachable!("writer::apply routes only resumption-of-work commands here"),
    }
}

pub(crate) async fn enterprise(conn: &mut AnyConnection, id: EnterpriseId) -> Result<Enterprise, StoreError> {
    let sql = format!("SELECT {ENTERPRISE_COLUMNS} WHERE id = $1");
    let row = sqlx::query(&sql).bind(id.0).fetch_optional(&mut *conn).await?;
    enterprise_from(&row.ok_or(StoreError::NotFound)?)
}

fn enterprise_event(kind: EventKind, e: &Enterprise, extra: serde_json::Value) -> NewEvent {
    let mut payload = json!({
        "id": e.id, "name": e.name, "status": e.status, "org_unit_id": e.org_unit_id, "sector": e.sector,
        "employees": e.employees, "on_site": e.on_site,
    });
    if let (Some(p), Some(x)) = (payload.as_object_mut(), extra.as_object()) {
        p.extend(x.clone());
    }
    NewEvent::new(kind, format!("enterprise:{}", e.id), e.scope.clone(), payload)
}

async fn department_exists(
    conn: &mut AnyConnection,
    field: &'static str,
    id: shouwang_domain::OrgUnitId,
) -> Result<(), StoreError> {
    let kind: Option<String> = sqlx::query("SELECT kind FROM org_units WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("kind"))
        .transpose()?;
    match kind {
        Some(k) if k == OrgUnitKind::Department.as_str() => Ok(()),
        _ => Err(invalid(field, "not_found")),
    }
}

/// Checks what a draft points at: a township, a department, an officer.
async fn check_draft(conn: &mut AnyConnection, d: &EnterpriseDraft) -> Result<shouwang_domain::ScopePath, StoreError> {
    let unit = sqlx::query("SELECT kind, path FROM org_units WHERE id = $1")
        .bind(d.org_unit.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| invalid("org_unit_id", "not_found"))?;
    let kind: String = unit.try_get("kind")?;
    if kind != OrgUnitKind::Township.as_str() && kind != OrgUnitKind::Village.as_str() {
        return Err(invalid("org_unit_id", "not_a_township"));
    }
    if let Some(dept) = d.department {
        department_exists(conn, "department_id", dept).await?;
    }
    if let Some(officer) = d.service_officer
        && sqlx::query("SELECT 1 FROM users WHERE id = $1 AND disabled = 0")
            .bind(officer.0)
            .fetch_optional(&mut *conn)
            .await?
            .is_none()
    {
        return Err(invalid("service_officer_id", "not_found"));
    }
    Ok(shouwang_domain::ScopePath::from_stored(unit.try_get("path")?)?)
}

async fn create(conn: &mut AnyConnection, d: &EnterpriseDraft, now: i64) -> Result<Decided, StoreError> {
    let path = check_draft(conn, d).await?;
    if sqlx::query("SELECT 1 FROM enterprises WHERE credit_code = $1")
        .bind(d.credit_code.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .is_some()
    {
        return Err(StoreError::Conflict { field: "credit_code" });
    }
    // The scope holds the enterprise's own id: insert with a unique
    // placeholder, then set it.
    let row = sqlx::query(
        "INSERT INTO enterprises (credit_code, name, sector, size_class, org_unit_id, scope, address, \
         above_designated, key_enterprise, epidemic_supplies, employees, service_officer_id, department_id, \
         created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
         RETURNING id",
    )
    .bind(d.credit_code.as_str())
    .bind(&d.name)
    .bind(d.sector.as_str())
    .bind(d.size_class.as_str())
    .bind(d.org_unit.0)
    .bind(format!("/pending/{}/", d.credit_code.as_str()))
    .bind(&d.address)
    .bind(i64::from(d.above_designated))
    .bind(i64::from(d.key_enterprise))
    .bind(i64::from(d.epidemic_supplies))
    .bind(i64::from(d.employees))
    .bind(d.service_officer.map(|u| u.0))
    .bind(d.department.map(|u| u.0))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let id = EnterpriseId(row.try_get("id")?);
    sqlx::query("UPDATE enterprises SET scope = $1 WHERE id = $2")
        .bind(path.segment(&format!("e{id}")).as_str())
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    let e = enterprise(conn, id).await?;
    let event = enterprise_event(EventKind::EnterpriseCreated, &e, json!({}));
    Ok((Outcome::Enterprise(e), vec![event]))
}

async fn update(
    conn: &mut AnyConnection,
    id: EnterpriseId,
    d: &EnterpriseDraft,
    now: i64,
) -> Result<Decided, StoreError> {
    let before = enterprise(conn, id).await?;
    check_draft(conn, d).await?;
    if d.org_unit != before.org_unit_id {
        // The scope (and so every contact's account) hangs off the township.
        return Err(invalid("org_unit_id", "fixed"));
    }
    if (before.on_site as u64) > u64::from(d.employees) {
        return Err(StoreError::Invalid(FieldError::new("employees", "below_on_site").arg("min", before.on_site)));
    }
    let taken = sqlx::query("SELECT id FROM enterprises WHERE credit_code = $1 AND id <> $2")
        .bind(d.credit_code.as_str())
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await?;
    if taken.is_some() {
        return Err(StoreError::Conflict { field: "credit_code" });
    }
    sqlx::query(
        "UPDATE enterprises SET credit_code = $1, name = $2, sector = $3, size_class = $4, address = $5, \
         above_designated = $6, key_enterprise = $7, epidemic_supplies = $8, employees = $9, \
         service_officer_id = $10, department_id = $11, updated_us = $12 WHERE id = $13",
    )
    .bind(d.credit_code.as_str())
    .bind(&d.name)
    .bind(d.sector.as_str())
    .bind(d.size_class.as_str())
    .bind(&d.address)
    .bind(i64::from(d.above_designated))
    .bind(i64::from(d.key_enterprise))
    .bind(i64::from(d.epidemic_supplies))
    .bind(i64::from(d.employees))
    .bind(d.service_officer.map(|u| u.0))
    .bind(d.department.map(|u| u.0))
    .bind(now)
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    let e = enterprise(conn, id).await?;
    let event = enterprise_event(EventKind::EnterpriseUpdated, &e, json!({}));
    Ok((Outcome::Enterprise(e), vec![event]))
}

/// Moves an enterprise to `to` (checked by the domain), with a history row.
async fn change_status(
    conn: &mut AnyConnection,
    actor: Option<UserId>,
    e: &Enterprise,
    to: ResumptionStatus,
    note: &str,
    now: i64,
) -> Result<Enterprise, StoreError> {
    let to = e.status.step(to).map_err(StoreError::Invalid)?;
    if to.needs_reason() && note.trim().is_empty() {
        return Err(invalid("note", "reason_required"));
    }
    sqlx::query("UPDATE enterprises SET status = $1, status_note = $2, updated_us = $3 WHERE id = $4")
        .bind(to.as_str())
        .bind(note.trim())
        .bind(now)
        .bind(e.id.0)
        .execute(&mut *conn)
        .await?;
    let seq: i64 = sqlx::query("SELECT COUNT(*) AS n FROM resumption_history WHERE enterprise_id = $1")
        .bind(e.id.0)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    sqlx::query(
        "INSERT INTO resumption_history (enterprise_id, seq, at_us, actor_id, status, note) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(e.id.0)
    .bind(seq + 1)
    .bind(now)
    .bind(actor.map(|u| u.0))
    .bind(to.as_str())
    .bind(note.trim())
    .execute(&mut *conn)
    .await?;
    enterprise(conn, e.id).await
}

async fn file(conn: &mut AnyConnection, who: UserId, a: &NewApplication, now: i64) -> Result<Decided, StoreError> {
    let sql = format!("SELECT {APPLICATION_COLUMNS} WHERE id = $1");
    if let Some(row) = sqlx::query(&sql).bind(a.id.to_string()).fetch_optional(&mut *conn).await? {
        let old = application_from(&row)?;
        if old.filed_by != who || old.enterprise_id != a.enterprise {
            return Err(invalid("id", "taken"));
        }
        return Ok((Outcome::Application { application: old, created: false }, Vec::new()));
    }
    let e = enterprise(conn, a.enterprise).await.map_err(|e| match e {
        StoreError::NotFound => invalid("enterprise_id", "not_found"),
        other => other,
    })?;
    let employees = u32::try_from(e.employees).unwrap_or(u32::MAX);
    a.workforce.check(employees).map_err(|mut errs| StoreError::Invalid(errs.remove(0)))?;
    let after = change_status(conn, Some(who), &e, ResumptionStatus::Applied, "", now).await?;
    sqlx::query(
        "INSERT INTO resumption_applications (id, enterprise_id, filed_by, filed_us, plan, workforce, state) \
         VALUES ($1, $2, $3, $4, $5, $6, 'applied')",
    )
    .bind(a.id.to_string())
    .bind(e.id.0)
    .bind(who.0)
    .bind(now)
    .bind(serde_json::to_string(&a.plan).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    .bind(serde_json::to_string(&a.workforce).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(&sql).bind(a.id.to_string()).fetch_one(&mut *conn).await?;
    let application = application_from(&row)?;
    let event = enterprise_event(EventKind::ResumptionFiled, &after, json!({ "application_id": a.id }));
    Ok((Outcome::Application { application, created: true }, vec![event]))
}

async fn review(
    conn: &mut AnyConnection,
    who: UserId,
    id: RecordId,
    to: ResumptionStatus,
    note: &str,
    now: i64,
) -> Result<Decided, StoreError> {
    let sql = format!("SELECT {APPLICATION_COLUMNS} WHERE id = $1");
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&mut *conn).await?;
    let application = application_from(&row.ok_or(StoreError::NotFound)?)?;
    if !matches!(to, ResumptionStatus::Approved | ResumptionStatus::Returned | ResumptionStatus::Refused) {
        return Err(invalid("decision", "invalid_choice"));
    }
    if application.state != ResumptionStatus::Applied {
        return Err(StoreError::Conflict { field: "decision" });
    }
    let e = enterprise(conn, application.enterprise_id).await?;
    let after = change_status(conn, Some(who), &e, to, note, now).await?;
    sqlx::query(
        "UPDATE resumption_applications SET state = $1, reviewed_by = $2, reviewed_us = $3, review_note = $4 \
         WHERE id = $5",
    )
    .bind(to.as_str())
    .bind(who.0)
    .bind(now)
    .bind(note.trim())
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_one(&mut *conn).await?;
    let event = enterprise_event(
        EventKind::ResumptionReviewed,
        &after,
        json!({ "application_id": id, "decision": to, "note": note.trim() }),
    );
    Ok((Outcome::Application { application: application_from(&row)?, created: true }, vec![event]))
}

async fn set_status(
    conn: &mut AnyConnection,
    actor: &Actor,
    id: EnterpriseId,
    to: ResumptionStatus,
    note: &str,
    now: i64,
) -> Result<Decided, StoreError> {
    if !matches!(to, ResumptionStatus::PartlyResumed | ResumptionStatus::FullyResumed | ResumptionStatus::Suspended) {
        return Err(invalid("status", "invalid_choice"));
    }
    let e = enterprise(conn, id).await?;
    let from = e.status;
    let after = change_status(conn, actor.id, &e, to, note, now).await?;
    let event = enterprise_event(EventKind::ResumptionChanged, &after, json!({ "from": from, "note": note.trim() }));
    Ok((Outcome::Enterprise(after), vec![event]))
}

async fn report(conn: &mut AnyConnection, who: UserId, r: &NewDailyReport, now: i64) -> Result<Decided, StoreError> {
    let by_id = format!("SELECT {REPORT_COLUMNS} WHERE id = $1");
    if let Some(row) = sqlx::query(&by_id).bind(r.id.to_string()).fetch_optional(&mut *conn).await? {
        let old = report_from(&row)?;
        if old.enterprise_id != r.enterprise {
            return Err(invalid("id", "taken"));
        }
        return Ok((Outcome::DailyReport { report: old, created: false }, Vec::new()));
    }
    let e = enterprise(conn, r.enterprise).await?;
    if i64::from(r.figures.on_site) > e.employees {
        return Err(StoreError::Invalid(FieldError::new("on_site", "above_employees").arg("max", e.employees)));
    }
    if !matches!(
        e.status,
        ResumptionStatus::Approved | ResumptionStatus::PartlyResumed | ResumptionStatus::FullyResumed
    ) {
        return Err(invalid("enterprise_id", "not_resumed"));
    }
    let f = &r.figures;
    let replaced = sqlx::query("DELETE FROM daily_reports WHERE enterprise_id = $1 AND day = $2")
        .bind(e.id.0)
        .bind(r.day)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        > 0;
    sqlx::query(
        "INSERT INTO daily_reports (enterprise_id, day, id, reported_by, reported_us, on_site, capacity_pct, \
         output_value_yuan, ppe_stock_days, raw_material_days, orders_on_hand_yuan, masks, disinfectant_kg, suits, \
         problems) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(e.id.0)
    .bind(r.day)
    .bind(r.id.to_string())
    .bind(who.0)
    .bind(now)
    .bind(i64::from(f.on_site))
    .bind(i64::from(f.capacity_pct))
    .bind(f.output_value_yuan)
    .bind(i64::from(f.ppe_stock_days))
    .bind(i64::from(f.raw_material_days))
    .bind(f.orders_on_hand_yuan)
    .bind(f.masks)
    .bind(f.disinfectant_kg)
    .bind(f.suits)
    .bind(&f.problems)
    .execute(&mut *conn)
    .await?;
    // The enterprise keeps its latest day's people on site.
    if e.last_report_day.is_none_or(|d| d <= r.day) {
        sqlx::query("UPDATE enterprises SET on_site = $1, last_report_day = $2, updated_us = $3 WHERE id = $4")
            .bind(i64::from(f.on_site))
            .bind(r.day)
            .bind(now)
            .bind(e.id.0)
            .execute(&mut *conn)
            .await?;
    }
    let row = sqlx::query(&by_id).bind(r.id.to_string()).fetch_one(&mut *conn).await?;
    let stored = report_from(&row)?;
    let after = enterprise(conn, e.id).await?;
    let event = enterprise_event(
        EventKind::DailyReported,
        &after,
        json!({ "day": r.day, "capacity_pct": f.capacity_pct, "masks": f.masks, "disinfectant_kg": f.disinfectant_kg,
                "suits": f.suits, "problems": !f.problems.is_empty(), "corrected": replaced }),
    );
    Ok((Outcome::DailyReport { report: stored, created: true }, vec![event]))
}

async fn ticket(conn: &mut AnyConnection, id: RecordId) -> Result<Option<Ticket>, StoreError> {
    let sql = format!("SELECT {TICKET_COLUMNS} WHERE t.id = $1");
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&mut *conn).await?;
    row.as_ref().map(ticket_from).transpose()
}

fn ticket_event(kind: EventKind, t: &Ticket, extra: serde_json::Value) -> NewEvent {
    let mut payload = json!({
        "id": t.id, "enterprise_id": t.enterprise_id, "household_id": t.household_id, "subject": t.subject_name,
        "category": t.category,
        "status": t.status, "department_id": t.department_id, "officer_id": t.officer_id, "title": t.title,
        "deadline_us": t.deadline_us, "rating": t.rating,
    });
    if let (Some(p), Some(x)) = (payload.as_object_mut(), extra.as_object()) {
        p.extend(x.clone());
    }
    NewEvent::new(kind, format!("ticket:{}", t.id), t.scope.clone(), payload)
}

/// Whom a new ticket is about, as the routing needs it.
struct Subject {
    enterprise: Option<i64>,
    household: Option<i64>,
    scope: String,
    officer: Option<i64>,
    /// Where it goes when neither a route nor a default department exists.
    fallback: Option<i64>,
    /// A household's difficulty goes to its township first, whatever the
    /// category's route: the township knows the village and routes it on.
    township_first: bool,
}

async fn subject(conn: &mut AnyConnection, s: TicketSubject) -> Result<Subject, StoreError> {
    let missing = |field: &'static str| {
        move |e: StoreError| match e {
            StoreError::NotFound => invalid(field, "not_found"),
            other => other,
        }
    };
    match s {
        TicketSubject::Enterprise(id) => {
            let e = enterprise(conn, id).await.map_err(missing("enterprise_id"))?;
            Ok(Subject {
                enterprise: Some(e.id.0),
                household: None,
                scope: e.scope.as_str().to_owned(),
                officer: e.service_officer_id.map(|u| u.0),
                fallback: e.department_id.map(|d| d.0),
                township_first: false,
            })
        }
        TicketSubject::Household(id) => {
            let row = sqlx::query(
                "SELECT h.id, h.scope, h.helper_id, v.parent_id FROM households h \
                 JOIN org_units v ON v.id = h.village_id WHERE h.id = $1",
            )
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| invalid("household_id", "not_found"))?;
            Ok(Subject {
                enterprise: None,
                household: Some(row.try_get("id")?),
                scope: row.try_get("scope")?,
                officer: row.try_get("helper_id")?,
                fallback: row.try_get("parent_id")?,
                township_first: true,
            })
        }
    }
}

/// The department and hours a new ticket gets: the one chosen by hand, else
/// (an enterprise's) the configured route, else the category's default
/// department, else the subject's own department or township.
async fn route(conn: &mut AnyConnection, t: &NewTicket, s: &Subject) -> Result<(i64, i64), StoreError> {
    let configured = sqlx::query("SELECT department_id, deadline_hours FROM ticket_routes WHERE category = $1")
        .bind(t.category.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let hours = match &configured {
        Some(r) => r.try_get("deadline_hours")?,
        None => t.category.default_deadline_hours(),
    };
    if let Some(d) = t.department {
        department_exists(conn, "department_id", d).await?;
        return Ok((d.0, hours));
    }
    if s.township_first {
        return s.fallback.map(|d| (d, hours)).ok_or_else(|| invalid("department_id", "required"));
    }
    if let Some(r) = configured {
        return Ok((r.try_get("department_id")?, hours));
    }
    let default = sqlx::query("SELECT id FROM org_units WHERE code = $1 AND kind = 'department'")
        .bind(t.category.default_department())
        .fetch_optional(&mut *conn)
        .await?;
    match (default, s.fallback) {
        (Some(d), _) => Ok((d.try_get("id")?, hours)),
        (None, Some(own)) => Ok((own, hours)),
        (None, None) => Err(invalid("department_id", "required")),
    }
}

async fn raise(conn: &mut AnyConnection, who: UserId, t: &NewTicket, now: i64) -> Result<Decided, StoreError> {
    if let Some(old) = ticket(conn, t.id).await? {
        if old.raised_by != who {
            return Err(invalid("id", "taken"));
        }
        return Ok((Outcome::Ticket { ticket: old, created: false }, Vec::new()));
    }
    let s = subject(conn, t.subject).await?;
    let (department, hours) = route(conn, t, &s).await?;
    sqlx::query(
        "INSERT INTO tickets (id, enterprise_id, household_id, scope, category, department_id, officer_id, title, \
         body, status, raised_by, raised_us, deadline_us, attachment_id, pass_request_id, updated_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $11, $12, $13, $14, $11)",
    )
    .bind(t.id.to_string())
    .bind(s.enterprise)
    .bind(s.household)
    .bind(&s.scope)
    .bind(t.category.as_str())
    .bind(department)
    .bind(s.officer)
    .bind(&t.title)
    .bind(&t.body)
    .bind(who.0)
    .bind(now)
    .bind(now + hours * 3_600_000_000)
    .bind(t.attachment.map(|a| a.to_string()))
    .bind(t.pass_request.map(|r| r.to_string()))
    .execute(&mut *conn)
    .await
    .map_err(dangling_key("attachment_id"))?;
    let stored = ticket(conn, t.id).await?.ok_or(StoreError::NotFound)?;
    let event = ticket_event(EventKind::TicketRaised, &stored, json!({}));
    Ok((Outcome::Ticket { ticket: stored, created: true }, vec![event]))
}

async fn step_ticket(
    conn: &mut AnyConnection,
    actor: &Actor,
    id: RecordId,
    step: &TicketStep,
    now: i64,
) -> Result<Decided, StoreError> {
    let who = actor.person()?;
    let t = ticket(conn, id).await?.ok_or(StoreError::NotFound)?;
    if t.status.is_closed() {
        return Err(StoreError::Conflict { field: "status" });
    }
    let note = step.note.trim();
    if let Some(to) = step.route_to {
        if step.status.is_some() || step.rating.is_some() {
            return Err(invalid("route_to", "alone"));
        }
        return reroute(conn, who, &t, to, note, step.attachment, now).await;
    }
    if step.status.is_none() && note.is_empty() {
        return Err(invalid("note", "required"));
    }
    let to = step.status.map(|s| t.status.step(s)).transpose().map_err(StoreError::Invalid)?;
    if to == Some(TicketStatus::Reopened) && note.is_empty() {
        return Err(invalid("note", "reason_required"));
    }
    match (to, step.rating) {
        (Some(TicketStatus::Confirmed), None) => return Err(invalid("rating", "required")),
        (s, Some(_)) if s != Some(TicketStatus::Confirmed) => return Err(invalid("rating", "only_on_confirm")),
        _ => {}
    }
    if let Some(to) = to {
        let (resolved, confirmed) = match to {
            TicketStatus::Resolved => (Some(now), None),
            TicketStatus::Confirmed => (t.resolved_us, Some(now)),
            TicketStatus::Reopened => (None, None),
            _ => (t.resolved_us, None),
        };
        sqlx::query(
            "UPDATE tickets SET status = $1, resolved_us = $2, confirmed_us = $3, rating = $4, updated_us = $5 \
             WHERE id = $6",
        )
        .bind(to.as_str())
        .bind(resolved)
        .bind(confirmed)
        .bind(step.rating.map(|r| i64::from(r.get())))
        .bind(now)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    }
    add_note(conn, id, who, to, note, step.attachment, now).await?;
    let after = ticket(conn, id).await?.ok_or(StoreError::NotFound)?;
    let kind = match to {
        Some(TicketStatus::Resolved) => EventKind::TicketResolved,
        Some(TicketStatus::Confirmed) => EventKind::TicketConfirmed,
        _ => EventKind::TicketUpdated,
    };
    let event = ticket_event(kind, &after, json!({ "note": note }));
    Ok((Outcome::Ticket { ticket: after, created: true }, vec![event]))
}

/// Appends one entry to a ticket's timeline.
async fn add_note(
    conn: &mut AnyConnection,
    id: RecordId,
    who: UserId,
    status: Option<TicketStatus>,
    note: &str,
    attachment: Option<RecordId>,
    now: i64,
) -> Result<(), StoreError> {
    let seq: i64 = sqlx::query("SELECT COUNT(*) AS n FROM ticket_notes WHERE ticket_id = $1")
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    sqlx::query(
        "INSERT INTO ticket_notes (ticket_id, seq, at_us, author_id, status, note, attachment_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(seq + 1)
    .bind(now)
    .bind(who.0)
    .bind(status.map(TicketStatus::as_str))
    .bind(note)
    .bind(attachment.map(|a| a.to_string()))
    .execute(&mut *conn)
    .await
    .map_err(dangling_key("attachment_id"))?;
    Ok(())
}

/// Hands a ticket on to another township or department: it is open there,
/// to be accepted anew; the deadline stands, the officer stays.
async fn reroute(
    conn: &mut AnyConnection,
    who: UserId,
    t: &Ticket,
    to: shouwang_domain::OrgUnitId,
    note: &str,
    attachment: Option<RecordId>,
    now: i64,
) -> Result<Decided, StoreError> {
    if t.status.is_settled() {
        return Err(invalid("route_to", "settled"));
    }
    let kind: Option<String> = sqlx::query("SELECT kind FROM org_units WHERE id = $1")
        .bind(to.0)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("kind"))
        .transpose()?;
    match kind.as_deref() {
        None => return Err(invalid("route_to", "not_found")),
        Some(k) if k != OrgUnitKind::Department.as_str() && k != OrgUnitKind::Township.as_str() => {
            return Err(invalid("route_to", "not_routable"));
        }
        Some(_) if to == t.department_id => return Err(invalid("route_to", "same_department")),
        Some(_) => {}
    }
    sqlx::query("UPDATE tickets SET department_id = $1, status = 'open', updated_us = $2 WHERE id = $3")
        .bind(to.0)
        .bind(now)
        .bind(t.id.to_string())
        .execute(&mut *conn)
        .await?;
    add_note(conn, t.id, who, Some(TicketStatus::Open), note, attachment, now).await?;
    let after = ticket(conn, t.id).await?.ok_or(StoreError::NotFound)?;
    let event = ticket_event(
        EventKind::TicketRouted,
        &after,
        json!({ "from_department_id": t.department_id, "from_department": t.department_name, "note": note }),
    );
    Ok((Outcome::Ticket { ticket: after, created: true }, vec![event]))
}

async fn overdue(
    conn: &mut AnyConnection,
    id: RecordId,
    escalate_to: Option<UserId>,
    now: i64,
) -> Result<Decided, StoreError> {
    let t = ticket(conn, id).await?.ok_or(StoreError::NotFound)?;
    if t.overdue_us.is_some() || t.status.is_settled() {
        return Ok((Outcome::Ticket { ticket: t, created: false }, Vec::new()));
    }
    sqlx::query("UPDATE tickets SET overdue_us = $1, escalated_to = $2 WHERE id = $3")
        .bind(now)
        .bind(escalate_to.map(|u| u.0))
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    let after = ticket(conn, id).await?.ok_or(StoreError::NotFound)?;
    let event = ticket_event(EventKind::TicketOverdue, &after, json!({ "escalated_to": escalate_to }));
    Ok((Outcome::Ticket { ticket: after, created: true }, vec![event]))
}

async fn create_project(conn: &mut AnyConnection, p: &ProjectDraft, now: i64) -> Result<Decided, StoreError> {
    check_milestones(&p.milestones).map_err(StoreError::Invalid)?;
    let e = enterprise(conn, p.enterprise).await.map_err(|e| match e {
        StoreError::NotFound => invalid("enterprise_id", "not_found"),
        other => other,
    })?;
    let row = sqlx::query(
        "INSERT INTO key_projects (enterprise_id, scope, name, product, planned_daily_capacity, capacity_unit, \
         blocking, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(e.id.0)
    .bind(e.scope.as_str())
    .bind(&p.name)
    .bind(&p.product)
    .bind(p.planned_daily_capacity)
    .bind(&p.capacity_unit)
    .bind(&p.blocking)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let id = ProjectId(row.try_get("id")?);
    for (i, m) in p.milestones.iter().enumerate() {
        sqlx::query(
            "INSERT INTO project_milestones (project_id, kind, position, planned_day, actual_day) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.0)
        .bind(m.kind.as_str())
        .bind(i as i64)
        .bind(m.planned_day)
        .bind(m.actual_day)
        .execute(&mut *conn)
        .await?;
    }
    let stored = project(conn, id).await?;
    let event = NewEvent::new(
        EventKind::ProjectUpdated,
        format!("project:{id}"),
        stored.scope.clone(),
        json!({ "id": id, "name": stored.name, "enterprise_id": stored.enterprise_id, "created": true }),
    );
    Ok((Outcome::Project(stored), vec![event]))
}
