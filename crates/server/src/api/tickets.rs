//! `/api/v1/tickets/…`: an enterprise's problems (企业诉求/困难), raised by
//! the enterprise or its service officer, routed by category to the
//! responsible department with a deadline, assigned to the enterprise's
//! dedicated officer, worked open → accepted → in progress → resolved, and
//! confirmed by the enterprise with a rating (or reopened). A registered
//! household's difficulties are the same tickets: they go to its township
//! first, which works them or routes them on to a department. Also the
//! routing table that administrators set.
//!
//! Who sees a ticket: a scope that holds its enterprise, its officer, and
//! anyone whose scope holds its department. Who works it: those with the
//! right to handle tickets among them. Who confirms or reopens it: the
//! enterprise's own people (a scope within the enterprise's) or whoever
//! raised it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shouwang_domain::enterprise::{Satisfaction, TicketCategory, TicketStatus};
use shouwang_domain::household::{DIFFICULTIES, is_difficulty};
use shouwang_domain::policy::Action;
use shouwang_domain::{BoundedText, FieldError, OrgUnitId, RecordId};
use shouwang_store::writer::Command;
use shouwang_store::{NewTicket, StoreError, Ticket, TicketNote, TicketRoute, TicketStep, TicketSubject};
use utoipa::ToSchema;

use super::enterprises::{may_for, viewer, visible as visible_enterprise};
use super::json::{ApiJson, ApiQuery};
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// A problem raised.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketIn {
    /// A client-made UUIDv7; raising it again returns the stored ticket.
    pub id: String,
    /// Whose problem: an enterprise …
    pub enterprise_id: Option<i64>,
    /// … or a registered household (its difficulty: `sales`,
    /// `farm_inputs`, `labour`, `logistics`, `finance` or `other`).
    pub household_id: Option<i64>,
    /// `permits`, `finance`, `labour`, `raw_materials`, `logistics`,
    /// `utilities`, `policy`, `sales`, `farm_inputs` or `other`.
    pub category: String,
    /// A department chosen instead of the category's (must exist).
    pub department_id: Option<i64>,
    /// A short title, 1–60 characters.
    pub title: String,
    /// The problem, up to 1000 characters.
    #[serde(default)]
    pub body: String,
    /// A file uploaded first (the raiser's own).
    pub attachment_id: Option<String>,
    /// With a `logistics` ticket: the freight pass asked for (plates,
    /// driver, route, cargo, validity — as `POST /api/v1/pass-requests`).
    /// Approving the request issues the pass and resolves the ticket.
    #[schema(value_type = Option<Object>)]
    pub pass: Option<super::passes::PassInput>,
}

/// One step on a ticket.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepIn {
    /// `accepted`, `in_progress`, `resolved` (the department), `confirmed`
    /// or `reopened` (the enterprise).
    pub status: Option<String>,
    /// A comment (required when nothing else changes, and to reopen), up to
    /// 1000 characters.
    #[serde(default)]
    pub note: String,
    /// 1–5, with `confirmed`.
    pub rating: Option<i64>,
    /// A file uploaded first (the author's own).
    pub attachment_id: Option<String>,
    /// Hand the ticket on to this township or department (alone, without
    /// a status): it is open there, to be accepted anew.
    pub route_to: Option<i64>,
}

/// A ticket and its timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    /// The ticket.
    #[schema(value_type = Object)]
    pub ticket: Ticket,
    /// The freight-pass request filed with it, and the pass once issued.
    pub pass_request: Option<super::passes::PassRequestView>,
    /// Its timeline, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub notes: Vec<TicketNote>,
    /// Whether it is past its deadline and not resolved.
    pub overdue: bool,
}

/// Whether the caller may see `t`.
pub async fn sees(state: &AppState, authed: &Authed, t: &Ticket) -> AppResult<bool> {
    let scope = &authed.principal.scope;
    if scope.contains(&t.scope) || t.officer_id == Some(authed.principal.user_id) {
        return Ok(true);
    }
    Ok(scope.contains(&state.store.department_scope(t.department_id).await?))
}

/// Reads ticket `id` if the caller may see it (404 otherwise).
pub async fn visible(state: &AppState, authed: &Authed, id: &str) -> AppResult<Ticket> {
    authed.may_here(Action::ReadEnterprises)?;
    let t = state.store.ticket(RecordId::parse("id", id)?).await?;
    if !sees(state, authed, &t).await? {
        return Err(AppError::NotFound);
    }
    Ok(t)
}

fn attachment(field: &str, raw: Option<&str>) -> Result<Option<RecordId>, FieldError> {
    raw.filter(|s| !s.trim().is_empty()).map(|s| RecordId::parse(field, s)).transpose()
}

/// What a caller writes to a ticket's subject with: an enterprise's people
/// report for it, a household's helpers manage it.
pub fn write_action(t: &Ticket) -> Action {
    if t.household_id.is_some() { Action::ManageHouseholds } else { Action::ReportForEnterprise }
}

/// Whether the caller speaks for the ticket's subject (confirms, reopens):
/// its own people, whoever raised it, and a household's helping cadre.
pub fn speaks_for(authed: &Authed, t: &Ticket) -> bool {
    let me = authed.principal.user_id;
    t.scope.contains(&authed.principal.scope)
        || t.raised_by == me
        || (t.household_id.is_some() && t.officer_id == Some(me))
}

/// Whether the caller may work the ticket: those who handle tickets where it
/// is routed, or over its subject (the enterprise's officer, the
/// household's township).
pub async fn may_handle(state: &AppState, authed: &Authed, t: &Ticket) -> AppResult<()> {
    let department = state.store.department_scope(t.department_id).await?;
    if authed.principal.scope.contains(&department) {
        return authed.may(Action::HandleTicket, &department);
    }
    match t.enterprise_id {
        Some(e) => may_for(authed, Action::HandleTicket, &state.store.enterprise(e).await?),
        None => authed.may(Action::HandleTicket, &t.scope),
    }
}

/// Raises a ticket; `(ticket, created)`.
pub async fn raise(state: &AppState, authed: &Authed, req: &TicketIn) -> AppResult<(Ticket, bool)> {
    let id = RecordId::parse("id", &req.id)?;
    let category = TicketCategory::parse("category", &req.category)?;
    let title = BoundedText::<60>::parse("title", &req.title)?.into_string();
    let body = BoundedText::<1000>::parse_optional("body", &req.body)?;
    let file = attachment("attachment_id", req.attachment_id.as_deref())?;
    let (subject, scope) = match (req.enterprise_id, req.household_id) {
        (Some(_), Some(_)) => return Err(FieldError::new("household_id", "one_subject").into()),
        (None, None) => return Err(FieldError::new("enterprise_id", "required").into()),
        (Some(e), None) => {
            let e = match visible_enterprise(state, authed, e).await {
                Err(AppError::NotFound) => return Err(FieldError::new("enterprise_id", "not_found").into()),
                other => other?,
            };
            may_for(authed, Action::ReportForEnterprise, &e)?;
            (TicketSubject::Enterprise(e.id), e.scope)
        }
        (None, Some(h)) => {
            if !is_difficulty(category) {
                return Err(FieldError::new("category", "invalid_choice")
                    .arg("choices", DIFFICULTIES.map(TicketCategory::as_str).join(", "))
                    .into());
            }
            let h = match super::households::visible(state, authed, h).await {
                Err(AppError::NotFound) => return Err(FieldError::new("household_id", "not_found").into()),
                other => other?,
            };
            super::households::may_manage(authed, &h)?;
            (TicketSubject::Household(h.id), h.scope)
        }
    };
    if let Some(f) = file {
        super::attachments::own(state, authed, f, "attachment_id").await?;
    }
    // A pass asked for with the problem: a request decided by those who
    // issue passes where the enterprise is, under an id made from the
    // ticket's, so a resend files both once.
    let pass_request = match &req.pass {
        None => None,
        Some(_) if category != TicketCategory::Logistics || req.household_id.is_some() => {
            return Err(FieldError::new("pass", "only_logistics").into());
        }
        Some(terms) => {
            let asked = super::passes::request_pass_at(state, authed, terms, id.derived(1), scope).await;
            let (request, _) = asked.map_err(|e| match e {
                AppError::Field(f) => AppError::Field(f.within("pass")),
                other => other,
            })?;
            Some(request.id)
        }
    };
    let new = NewTicket {
        id,
        subject,
        category,
        department: req.department_id.map(OrgUnitId),
        title,
        body,
        attachment: file,
        pass_request,
    };
    let applied = state.writer.submit(authed.actor(), Command::RaiseTicket(new)).await?;
    Ok(applied.outcome.into_ticket()?)
}

/// Raise a problem (the enterprise or its officer). It goes to the
/// category's department (or the one chosen) with the category's deadline,
/// and to the enterprise's dedicated officer. 201 when raised now, 200 for
/// a resend.
#[utoipa::path(post, path = "/api/v1/tickets", tag = "enterprises", request_body = TicketIn,
    responses((status = 201, body = TicketView), (status = 200, body = TicketView), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<TicketIn>,
) -> AppResult<(StatusCode, Json<TicketView>)> {
    let (ticket, created) = raise(&state, &authed, &req).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(view(&state, &authed, ticket).await?)))
}

async fn view(state: &AppState, authed: &Authed, ticket: Ticket) -> AppResult<TicketView> {
    let notes = state.store.ticket_notes(ticket.id).await?;
    let overdue = ticket.resolved_us.is_none() && ticket.deadline_us < shouwang_store::now_us();
    let pass_request = match ticket.pass_request_id {
        Some(r) => Some(super::passes::PassRequestView::of(&state.store.pass_request(r).await?, authed)),
        None => None,
    };
    Ok(TicketView { ticket, pass_request, notes, overdue })
}

/// Settles the ticket a freight-pass request was filed with, once the
/// request is decided: resolved by the decider, with the reason when the
/// pass was refused (the enterprise may reopen it).
pub async fn settle_for_pass(
    state: &AppState,
    authed: &Authed,
    request: &shouwang_store::PassRequest,
) -> AppResult<()> {
    let Some(t) = state.store.ticket_by_pass_request(request.id).await? else {
        return Ok(());
    };
    if t.status.step(TicketStatus::Resolved).is_err() {
        return Ok(());
    }
    let step = TicketStep {
        status: Some(TicketStatus::Resolved),
        note: request.decision_note.clone(),
        rating: None,
        attachment: None,
        route_to: None,
    };
    state.writer.submit(authed.actor(), Command::StepTicket { id: t.id, step }).await?;
    Ok(())
}

/// Which tickets to list.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Leave out the confirmed ones.
    #[serde(default)]
    pub open: bool,
}

/// The tickets the caller may see, newest first (at most 500).
#[utoipa::path(get, path = "/api/v1/tickets", tag = "enterprises", params(("open" = Option<bool>, Query)),
    responses((status = 200, body = Vec<Object>)))]
pub async fn list(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> AppResult<Json<Vec<Ticket>>> {
    authed.may_here(Action::ReadEnterprises)?;
    Ok(Json(state.store.tickets_visible(&viewer(&authed), q.open).await?))
}

/// One ticket and its timeline.
#[utoipa::path(get, path = "/api/v1/tickets/{id}", tag = "enterprises", params(("id" = String, Path)),
    responses((status = 200, body = TicketView), (status = 404)))]
pub async fn detail(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Json<TicketView>> {
    let t = visible(&state, &authed, &id).await?;
    Ok(Json(view(&state, &authed, t).await?))
}

/// Applies one step to ticket `id` as the caller.
pub async fn step(state: &AppState, authed: &Authed, id: &str, req: &StepIn) -> AppResult<Ticket> {
    let t = visible(state, authed, id).await?;
    let status =
        req.status.as_deref().filter(|s| !s.trim().is_empty()).map(|s| TicketStatus::parse("status", s)).transpose()?;
    let note = BoundedText::<1000>::parse_optional("note", &req.note)?;
    let rating = req.rating.map(|r| Satisfaction::parse("rating", r)).transpose()?;
    let file = attachment("attachment_id", req.attachment_id.as_deref())?;
    let route_to = req.route_to.map(OrgUnitId);
    match status {
        // The subject's word: its own people, or whoever raised it.
        Some(TicketStatus::Confirmed | TicketStatus::Reopened) => {
            if !speaks_for(authed, &t) {
                return Err(FieldError::new("status", "not_your_ticket").into());
            }
            authed.may(write_action(&t), &authed.principal.scope.clone())?;
        }
        Some(_) => may_handle(state, authed, &t).await?,
        None if route_to.is_some() => may_handle(state, authed, &t).await?,
        None => authed.may_here(write_action(&t))?,
    }
    if let Some(f) = file {
        super::attachments::own(state, authed, f, "attachment_id").await?;
    }
    let step = TicketStep { status, note, rating, attachment: file, route_to };
    let applied =
        state.writer.submit(authed.actor(), Command::StepTicket { id: t.id, step }).await.map_err(|e| match e {
            StoreError::Conflict { .. } => AppError::Refused(FieldError::new("status", "ticket_closed")),
            StoreError::Invalid(f) if f.code == "invalid_transition" => AppError::Refused(f),
            other => other.into(),
        })?;
    Ok(applied.outcome.into_ticket()?.0)
}

/// One step on a ticket: accept, start, resolve (its department or
/// officer); confirm with a rating or reopen with a reason (the
/// enterprise); or a comment. 409 when the status does not allow the step.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/steps", tag = "enterprises", params(("id" = String, Path)),
    request_body = StepIn, responses((status = 200, body = TicketView), (status = 409), (status = 422)))]
pub async fn create_step(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<StepIn>,
) -> AppResult<Json<TicketView>> {
    let t = step(&state, &authed, &id, &req).await?;
    Ok(Json(view(&state, &authed, t).await?))
}

/// Where each category of ticket goes, and its deadline.
#[utoipa::path(get, path = "/api/v1/ticket-routes", tag = "enterprises", responses((status = 200, body = Vec<Object>)))]
pub async fn routes(State(state): State<AppState>, authed: Authed) -> AppResult<Json<Vec<TicketRoute>>> {
    authed.may_here(Action::ReadEnterprises)?;
    Ok(Json(state.store.ticket_routes().await?))
}

/// A route for one category.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteIn {
    /// The department (an org unit of kind department).
    pub department_id: i64,
    /// Hours to resolve, 1–2160.
    pub deadline_hours: i64,
}

/// Route a category of ticket to a department with a deadline
/// (administrators of the deployment).
#[utoipa::path(put, path = "/api/v1/ticket-routes/{category}", tag = "enterprises",
    params(("category" = String, Path)), request_body = RouteIn,
    responses((status = 200, body = Vec<Object>), (status = 422)))]
pub async fn put_route(
    State(state): State<AppState>,
    authed: Authed,
    Path(category): Path<String>,
    ApiJson(req): ApiJson<RouteIn>,
) -> AppResult<Json<Vec<TicketRoute>>> {
    authed.may_here(Action::AdministerDeployment)?;
    let category = TicketCategory::parse("category", &category)?;
    let command = Command::PutTicketRoute {
        category,
        department: OrgUnitId(req.department_id),
        deadline_hours: req.deadline_hours,
    };
    state.writer.submit(authed.actor(), command).await?;
    Ok(Json(state.store.ticket_routes().await?))
}

/// Marks every ticket past its deadline overdue (once), escalated to the
/// head of its department: an account at the department itself whose role
/// may handle tickets, other than the officer it is assigned to. Run by the
/// alert evaluator before it looks at what holds.
pub async fn mark_overdue(store: &shouwang_store::Store, writer: &shouwang_store::Writer) -> Result<usize, StoreError> {
    let now = shouwang_store::now_us();
    let late = store.tickets_past_deadline(now).await?;
    for t in &late {
        let department = store.org_unit(t.department_id).await?;
        let head = store
            .users_within(&department.path)
            .await?
            .into_iter()
            .filter(|u| u.scope == department.path && !u.disabled && Some(u.id) != t.officer_id)
            .find(|u| u.rights.has(shouwang_domain::Right::Approve))
            .map(|u| u.id);
        let command = Command::MarkTicketOverdue { id: t.id, escalate_to: head };
        writer.submit(shouwang_store::writer::Actor::system(), command).await?;
    }
    Ok(late.len())
}
