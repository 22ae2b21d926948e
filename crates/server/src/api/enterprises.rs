//! `/api/v1/enterprises/…` and the rest of the resumption of work
//! (复工复产): enterprises and their contacts, applications to resume and
//! their review, changes of status, daily reports, key projects, and the
//! dashboard. Problem tickets are in `tickets.rs`.
//!
//! Who sees an enterprise: a scope that holds it (its contacts, whose scope
//! is the enterprise itself; its township; the county) and its dedicated
//! service officer, wherever their own scope is. Anything else is a 404.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shouwang_domain::enterprise::{
    CreditCode, DailyReportDraft, MilestoneKind, MilestonePlan, PreventionPlanDraft, ResumptionStatus, Sector,
    SizeClass, Workforce, check_milestones, slip_days,
};
use shouwang_domain::policy::Action;
use shouwang_domain::{
    BoundedText, EnterpriseId, FieldError, NewPassword, OrgUnitId, ProjectId, RecordId, RoleName, UserId, Username,
};
use shouwang_store::writer::Command;
use shouwang_store::{
    Application, DailyReport, Enterprise, EnterpriseDraft, NewApplication, NewDailyReport, Project, ProjectDraft,
    ResumptionCount, StatusChange, StoreError, SupplyOutput, Ticket, TicketCount, Viewer,
};
use utoipa::ToSchema;

use super::json::{ApiJson, ApiQuery};
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

const DAY_US: i64 = 86_400_000_000;
const HOUR_US: i64 = 3_600_000_000;

/// Today's day number in the deployment's zone.
pub fn today(state: &AppState) -> i64 {
    (shouwang_store::now_us() + i64::from(state.config.display_utc_offset_hours) * HOUR_US).div_euclid(DAY_US)
}

/// The caller as a reader of enterprises: their scope and who they are.
pub fn viewer(authed: &Authed) -> Viewer<'_> {
    Viewer { scope: &authed.principal.scope, user: authed.principal.user_id }
}

/// Whether the caller may see `e`: it lies within their scope, or they are
/// its dedicated officer.
pub fn sees(authed: &Authed, e: &Enterprise) -> bool {
    authed.principal.scope.contains(&e.scope) || e.service_officer_id == Some(authed.principal.user_id)
}

/// Reads enterprise `id` if the caller may see it (404 otherwise).
pub async fn visible(state: &AppState, authed: &Authed, id: i64) -> AppResult<Enterprise> {
    authed.may_here(Action::ReadEnterprises)?;
    let e = state.store.enterprise(EnterpriseId(id)).await?;
    if !sees(authed, &e) {
        return Err(AppError::NotFound);
    }
    Ok(e)
}

/// Checks that the caller may do `action` for `e`: the role grants it, and
/// `e` is within their scope or they are its dedicated officer.
pub fn may_for(authed: &Authed, action: Action, e: &Enterprise) -> AppResult<()> {
    if e.service_officer_id == Some(authed.principal.user_id) {
        return authed.may_here(action);
    }
    authed.may(action, &e.scope)
}

/// An enterprise's details.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnterpriseIn {
    /// Unified social credit code, 18 characters with its check character.
    pub credit_code: String,
    /// Registered name, 1–60 characters.
    pub name: String,
    /// GB/T 4754 section letter, `A`–`T`.
    pub sector: String,
    /// `large`, `medium`, `small` or `micro`.
    pub size_class: String,
    /// Its township.
    pub org_unit_id: i64,
    /// Address, up to 120 characters.
    #[serde(default)]
    pub address: String,
    /// Above designated size (规上).
    #[serde(default)]
    pub above_designated: bool,
    /// A key enterprise.
    #[serde(default)]
    pub key_enterprise: bool,
    /// Makes epidemic supplies.
    #[serde(default)]
    pub epidemic_supplies: bool,
    /// Total employees, 1–100000.
    pub employees: i64,
    /// Its dedicated service officer (an account).
    pub service_officer_id: Option<i64>,
    /// The department that serves it.
    pub department_id: Option<i64>,
}

impl EnterpriseIn {
    /// Checks every field; the first fault is named.
    pub fn parse(&self) -> Result<EnterpriseDraft, FieldError> {
        let credit_code = CreditCode::parse("credit_code", &self.credit_code)?;
        let name = BoundedText::<60>::parse("name", &self.name)?.into_string();
        let sector = Sector::parse_loose("sector", &self.sector)?;
        let size_class = SizeClass::parse("size_class", &self.size_class)?;
        let address = self.address.trim();
        if address.chars().count() > 120 {
            return Err(FieldError::new("address", "too_long").arg("max", 120));
        }
        let employees = u32::try_from(self.employees)
            .ok()
            .filter(|n| (1..=100_000).contains(n))
            .ok_or_else(|| FieldError::new("employees", "out_of_range").arg("min", 1).arg("max", 100_000))?;
        Ok(EnterpriseDraft {
            credit_code,
            name,
            sector,
            size_class,
            org_unit: OrgUnitId(self.org_unit_id),
            address: address.to_owned(),
            above_designated: self.above_designated,
            key_enterprise: self.key_enterprise,
            epidemic_supplies: self.epidemic_supplies,
            employees,
            service_officer: self.service_officer_id.map(UserId),
            department: self.department_id.map(OrgUnitId),
        })
    }
}

fn taken_code(e: AppError) -> AppError {
    match e {
        AppError::Conflict("credit_code") => FieldError::new("credit_code", "taken").into(),
        other => other,
    }
}

/// Enters an enterprise (those who manage enterprises, within their scope).
pub async fn create_enterprise(state: &AppState, authed: &Authed, req: &EnterpriseIn) -> AppResult<Enterprise> {
    authed.may_here(Action::ManageEnterprises)?;
    let draft = req.parse()?;
    let unit = match state.store.org_unit(draft.org_unit).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Err(FieldError::new("org_unit_id", "not_found").into()),
        Err(e) => return Err(e.into()),
    };
    if authed.may(Action::ManageEnterprises, &unit.path).is_err() {
        return Err(FieldError::new("org_unit_id", "out_of_scope").into());
    }
    let applied = state.writer.submit(authed.actor(), Command::CreateEnterprise(draft)).await;
    Ok(applied.map_err(|e| taken_code(e.into()))?.outcome.into_enterprise()?)
}

/// Enter an enterprise. A credit code already entered is refused on
/// `credit_code` (`taken`).
#[utoipa::path(post, path = "/api/v1/enterprises", tag = "enterprises", request_body = EnterpriseIn,
    responses((status = 201, body = Object), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<EnterpriseIn>,
) -> AppResult<(StatusCode, Json<Enterprise>)> {
    Ok((StatusCode::CREATED, Json(create_enterprise(&state, &authed, &req).await?)))
}

/// Changes an enterprise's details (not its township).
pub async fn update_enterprise(
    state: &AppState,
    authed: &Authed,
    id: i64,
    req: &EnterpriseIn,
) -> AppResult<Enterprise> {
    let e = visible(state, authed, id).await?;
    may_for(authed, Action::ManageEnterprises, &e)?;
    let draft = req.parse()?;
    let applied = state.writer.submit(authed.actor(), Command::UpdateEnterprise { id: e.id, draft }).await;
    Ok(applied.map_err(|e| taken_code(e.into()))?.outcome.into_enterprise()?)
}

/// Change an enterprise's details.
#[utoipa::path(put, path = "/api/v1/enterprises/{id}", tag = "enterprises", params(("id" = i64, Path)),
    request_body = EnterpriseIn, responses((status = 200, body = Object), (status = 404), (status = 422)))]
pub async fn update(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<EnterpriseIn>,
) -> AppResult<Json<Enterprise>> {
    Ok(Json(update_enterprise(&state, &authed, id, &req).await?))
}

/// Which enterprises to list.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only those at this status.
    pub status: Option<String>,
}

/// The enterprises the caller may see, by name.
#[utoipa::path(get, path = "/api/v1/enterprises", tag = "enterprises",
    params(("status" = Option<String>, Query)), responses((status = 200, body = Vec<Object>)))]
pub async fn list(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> AppResult<Json<Vec<Enterprise>>> {
    authed.may_here(Action::ReadEnterprises)?;
    let status = q.status.as_deref().map(|s| ResumptionStatus::parse("status", s)).transpose()?;
    let all = state.store.enterprises_visible(&viewer(&authed)).await?;
    Ok(Json(all.into_iter().filter(|e| status.is_none_or(|s| e.status == s)).collect()))
}

/// An enterprise with everything about its resumption.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnterpriseView {
    /// The enterprise.
    #[schema(value_type = Object)]
    pub enterprise: Enterprise,
    /// Its township's name.
    pub township: String,
    /// Its officer's name.
    pub service_officer: Option<String>,
    /// Its department's name.
    pub department: Option<String>,
    /// Its applications, newest first.
    #[schema(value_type = Vec<Object>)]
    pub applications: Vec<Application>,
    /// Checklist items of the newest application below the minimum.
    pub plan_warnings: Vec<&'static str>,
    /// Every change of status, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub history: Vec<StatusChange>,
    /// Its latest daily reports, newest first.
    #[schema(value_type = Vec<Object>)]
    pub reports: Vec<DailyReport>,
    /// Whether today's report is in.
    pub reported_today: bool,
    /// Its tickets, newest first.
    #[schema(value_type = Vec<Object>)]
    pub tickets: Vec<Ticket>,
    /// Its key projects.
    #[schema(value_type = Vec<Object>)]
    pub projects: Vec<Project>,
}

/// Everything about one enterprise the caller may see.
pub async fn view(state: &AppState, authed: &Authed, id: i64) -> AppResult<EnterpriseView> {
    let e = visible(state, authed, id).await?;
    let township = state.store.org_unit(e.org_unit_id).await?.name;
    let service_officer = match e.service_officer_id {
        Some(u) => Some(state.store.user(u).await?.display_name),
        None => None,
    };
    let department = match e.department_id {
        Some(d) => Some(state.store.org_unit(d).await?.name),
        None => None,
    };
    let applications = state.store.applications(e.id).await?;
    let plan_warnings = applications.first().map(|a| a.plan.is_complete_for_approval()).unwrap_or_default();
    let history = state.store.resumption_history(e.id).await?;
    let reports = state.store.daily_reports(e.id, 14).await?;
    let reported_today = reports.first().is_some_and(|r| r.day == today(state));
    // Whoever sees the enterprise sees its tickets and projects (they share
    // its scope and its officer).
    let tickets = state.store.tickets_of(e.id).await?;
    let projects = state.store.projects_of(e.id).await?;
    Ok(EnterpriseView {
        enterprise: e,
        township,
        service_officer,
        department,
        applications,
        plan_warnings,
        history,
        reports,
        reported_today,
        tickets,
        projects,
    })
}

/// One enterprise: its applications, history, latest reports, tickets and
/// projects.
#[utoipa::path(get, path = "/api/v1/enterprises/{id}", tag = "enterprises", params(("id" = i64, Path)),
    responses((status = 200, body = EnterpriseView), (status = 404)))]
pub async fn detail(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
) -> AppResult<Json<EnterpriseView>> {
    Ok(Json(view(&state, &authed, id).await?))
}

/// An account for an enterprise's contact.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    /// Login name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// First password (at least 10 characters).
    pub password: String,
}

/// Set up an account for an enterprise's contact: role
/// `enterprise_contact`, scoped to the enterprise alone.
#[utoipa::path(post, path = "/api/v1/enterprises/{id}/contacts", tag = "enterprises", params(("id" = i64, Path)),
    request_body = ContactIn, responses((status = 201, body = Object), (status = 422)))]
pub async fn create_contact(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<ContactIn>,
) -> AppResult<(StatusCode, Json<shouwang_store::User>)> {
    Ok((StatusCode::CREATED, Json(add_contact(&state, &authed, id, &req).await?)))
}

/// Sets up an account for enterprise `id`'s contact (the API's and the
/// page's form): a taken login name is refused on `username`.
pub async fn add_contact(
    state: &AppState,
    authed: &Authed,
    id: i64,
    req: &ContactIn,
) -> AppResult<shouwang_store::User> {
    let e = visible(state, authed, id).await?;
    may_for(authed, Action::ManageEnterprises, &e)?;
    let username = Username::parse("username", &req.username)?;
    let display_name = BoundedText::<32>::parse("display_name", &req.display_name)?.into_string();
    let password = NewPassword::parse("password", &req.password, &username)?;
    let password_hash = crate::auth::password::hash(password.expose().to_owned()).await?;
    let command = Command::CreateUser {
        username,
        display_name,
        password_hash,
        role: RoleName::parse("role", "enterprise_contact")?,
        org_unit: e.org_unit_id,
        scope: Some(e.scope.clone()),
    };
    let applied = state.writer.submit(authed.actor(), command).await.map_err(|e| match AppError::from(e) {
        AppError::Conflict(_) => AppError::Field(FieldError::new("username", "taken")),
        other => other,
    })?;
    Ok(applied.outcome.into_user()?)
}

/// An application to resume.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationIn {
    /// A client-made UUIDv7; filing it again returns the stored one.
    pub id: String,
    /// The prevention plan (口罩储备天数, 消毒, 测温, 食堂, 宿舍, 隔离室, 应急联系人).
    #[schema(value_type = Object)]
    pub plan: PreventionPlanDraft,
    /// The workforce: local, returning (with origins), still away.
    #[schema(value_type = Object)]
    pub workforce: Workforce,
}

/// Files an application for enterprise `id`; `(application, created)`.
pub async fn file(state: &AppState, authed: &Authed, id: i64, req: ApplicationIn) -> AppResult<(Application, bool)> {
    let e = visible(state, authed, id).await?;
    may_for(authed, Action::ReportForEnterprise, &e)?;
    let record = RecordId::parse("id", &req.id)?;
    let plan = req.plan.parse().map_err(first)?;
    let employees = u32::try_from(e.employees).unwrap_or(u32::MAX);
    req.workforce.check(employees).map_err(first)?;
    let new = NewApplication { id: record, enterprise: e.id, plan, workforce: req.workforce };
    let applied = state.writer.submit(authed.actor(), Command::FileResumption(new)).await.map_err(|e| match e {
        StoreError::Invalid(f) if f.code == "invalid_transition" => AppError::Refused(f),
        other => other.into(),
    })?;
    Ok(applied.outcome.into_application()?)
}

fn first(mut errors: Vec<FieldError>) -> AppError {
    AppError::Field(errors.remove(0))
}

/// File an application to resume (the enterprise's contact or its officer).
/// 201 when filed now, 200 for a resend; 409 when the enterprise's status
/// does not allow filing (already applied or approved).
#[utoipa::path(post, path = "/api/v1/enterprises/{id}/applications", tag = "enterprises",
    params(("id" = i64, Path)), request_body = ApplicationIn,
    responses((status = 201, body = Object), (status = 200, body = Object), (status = 409), (status = 422)))]
pub async fn create_application(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<ApplicationIn>,
) -> AppResult<(StatusCode, Json<Application>)> {
    let (a, created) = file(&state, &authed, id, req).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(a)))
}

/// A decision on an application.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewIn {
    /// `approved`, `returned` (for changes) or `refused`.
    pub decision: String,
    /// Comments (required to return or refuse), up to 500 characters.
    #[serde(default)]
    pub note: String,
}

/// Decides on application `id`.
pub async fn decide(state: &AppState, authed: &Authed, id: &str, req: &ReviewIn) -> AppResult<Application> {
    let record = RecordId::parse("id", id)?;
    let application = state.store.application(record).await?;
    let e = visible(state, authed, application.enterprise_id.0).await?;
    may_for(authed, Action::ReviewResumption, &e)?;
    let to = ResumptionStatus::parse("decision", &req.decision)?;
    if !matches!(to, ResumptionStatus::Approved | ResumptionStatus::Returned | ResumptionStatus::Refused) {
        return Err(FieldError::new("decision", "invalid_choice").arg("choices", "approved, returned, refused").into());
    }
    let note = BoundedText::<500>::parse_optional("note", &req.note)?;
    if to.needs_reason() && note.is_empty() {
        return Err(FieldError::new("note", "reason_required").into());
    }
    let command = Command::ReviewResumption { application: record, to, note };
    let applied = state.writer.submit(authed.actor(), command).await.map_err(|e| match e {
        StoreError::Conflict { .. } => AppError::Refused(FieldError::new("decision", "already_decided")),
        other => other.into(),
    })?;
    Ok(applied.outcome.into_application()?.0)
}

/// Review an application to resume: approve, return for changes with
/// comments, or refuse with a reason (the township or department). 409 when
/// it was decided already.
#[utoipa::path(post, path = "/api/v1/applications/{id}/review", tag = "enterprises", params(("id" = String, Path)),
    request_body = ReviewIn, responses((status = 200, body = Object), (status = 409), (status = 422)))]
pub async fn review(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReviewIn>,
) -> AppResult<Json<Application>> {
    Ok(Json(decide(&state, &authed, &id, &req).await?))
}

/// A change of an approved enterprise's status.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusIn {
    /// `partly_resumed`, `fully_resumed` or `suspended`.
    pub status: String,
    /// Why (required to suspend), up to 500 characters.
    #[serde(default)]
    pub note: String,
}

/// Moves enterprise `id` to a status: resuming is the enterprise's (or its
/// officer's) to say, suspending the reviewers'.
pub async fn change_status(state: &AppState, authed: &Authed, id: i64, req: &StatusIn) -> AppResult<Enterprise> {
    let e = visible(state, authed, id).await?;
    let to = ResumptionStatus::parse("status", &req.status)?;
    let action = match to {
        ResumptionStatus::PartlyResumed | ResumptionStatus::FullyResumed => Action::ReportForEnterprise,
        ResumptionStatus::Suspended => Action::ReviewResumption,
        _ => {
            return Err(FieldError::new("status", "invalid_choice")
                .arg("choices", "partly_resumed, fully_resumed, suspended")
                .into());
        }
    };
    may_for(authed, action, &e)?;
    let note = BoundedText::<500>::parse_optional("note", &req.note)?;
    if to.needs_reason() && note.is_empty() {
        return Err(FieldError::new("note", "reason_required").into());
    }
    let applied = state.writer.submit(authed.actor(), Command::SetResumption { enterprise: e.id, to, note }).await;
    let applied = applied.map_err(|e| match e {
        StoreError::Invalid(f) if f.code == "invalid_transition" => AppError::Refused(f),
        other => other.into(),
    })?;
    Ok(applied.outcome.into_enterprise()?)
}

/// Resume partly or fully (the enterprise), or suspend with a reason (the
/// reviewers). 409 when the status does not allow it (not yet approved).
#[utoipa::path(post, path = "/api/v1/enterprises/{id}/status", tag = "enterprises", params(("id" = i64, Path)),
    request_body = StatusIn, responses((status = 200, body = Object), (status = 409), (status = 422)))]
pub async fn set_status(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<StatusIn>,
) -> AppResult<Json<Enterprise>> {
    Ok(Json(change_status(&state, &authed, id, &req).await?))
}

/// A daily report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportIn {
    /// A client-made UUIDv7; sending it again returns the stored report.
    pub id: String,
    /// People on site (at most the enterprise's employees), capacity use
    /// 0–100 %, output value (yuan), mask/PPE stock and raw material in
    /// days, orders on hand (yuan), masks / disinfectant (kg) / suits made,
    /// problems.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub figures: DailyReportDraft,
}

/// Files today's report for enterprise `id`; `(report, created)`.
pub async fn file_report(state: &AppState, authed: &Authed, id: i64, req: ReportIn) -> AppResult<(DailyReport, bool)> {
    let e = visible(state, authed, id).await?;
    may_for(authed, Action::ReportForEnterprise, &e)?;
    let record = RecordId::parse("id", &req.id)?;
    let employees = u32::try_from(e.employees).unwrap_or(u32::MAX);
    let figures = req.figures.parse(employees).map_err(first)?;
    let new = NewDailyReport { id: record, enterprise: e.id, day: today(state), figures };
    let applied = state.writer.submit(authed.actor(), Command::FileDailyReport(new)).await.map_err(|e| match e {
        StoreError::Invalid(f) if f.code == "not_resumed" => AppError::Refused(f),
        other => other.into(),
    })?;
    Ok(applied.outcome.into_daily_report()?)
}

/// File today's daily report (the enterprise's contact). A second report
/// the same day corrects the first. 409 before the enterprise is approved.
#[utoipa::path(post, path = "/api/v1/enterprises/{id}/reports", tag = "enterprises", params(("id" = i64, Path)),
    request_body = ReportIn,
    responses((status = 201, body = Object), (status = 200, body = Object), (status = 409), (status = 422)))]
pub async fn create_report(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<ReportIn>,
) -> AppResult<(StatusCode, Json<DailyReport>)> {
    let (r, created) = file_report(&state, &authed, id, req).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(r)))
}

/// The enterprises the caller may see that have resumed and not reported
/// today (what the service officer chases).
#[utoipa::path(get, path = "/api/v1/reports/missing", tag = "enterprises",
    responses((status = 200, body = Vec<Object>)))]
pub async fn missing(State(state): State<AppState>, authed: Authed) -> AppResult<Json<Vec<Enterprise>>> {
    authed.may_here(Action::ReadEnterprises)?;
    Ok(Json(state.store.missing_reports(&viewer(&authed), today(&state)).await?))
}

/// A milestone of a key project, as entered.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MilestoneIn {
    /// `permits`, `equipment_ordered`, `equipment_delivered`, `installed`,
    /// `trial_production`, `full_production`.
    pub kind: String,
    /// Planned day, `YYYY-MM-DD`.
    pub planned: String,
    /// Day reached, `YYYY-MM-DD`, if it was.
    pub actual: Option<String>,
}

/// A key project.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectIn {
    /// The owner enterprise.
    pub enterprise_id: i64,
    /// The project's name, 1–60 characters.
    pub name: String,
    /// What it makes, 1–60 characters.
    pub product: String,
    /// Planned output per day, 1–10^9.
    pub planned_daily_capacity: i64,
    /// Unit of that output (只, 套, 吨 …), 1–8 characters.
    pub capacity_unit: String,
    /// Milestones in order.
    pub milestones: Vec<MilestoneIn>,
    /// What blocks it now, up to 500 characters.
    #[serde(default)]
    pub blocking: String,
}

pub use shouwang_domain::calendar::parse_day;

/// Formats a day number as `YYYY-MM-DD`.
pub fn format_day(day: i64) -> String {
    let (y, m, d) = shouwang_domain::calendar::civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

impl ProjectIn {
    fn parse(&self) -> Result<ProjectDraft, FieldError> {
        let name = BoundedText::<60>::parse("name", &self.name)?.into_string();
        let product = BoundedText::<60>::parse("product", &self.product)?.into_string();
        if !(1..=1_000_000_000).contains(&self.planned_daily_capacity) {
            return Err(FieldError::new("planned_daily_capacity", "out_of_range")
                .arg("min", 1)
                .arg("max", 1_000_000_000));
        }
        let capacity_unit = BoundedText::<8>::parse("capacity_unit", &self.capacity_unit)?.into_string();
        let blocking = BoundedText::<500>::parse_optional("blocking", &self.blocking)?;
        let mut milestones = Vec::with_capacity(self.milestones.len());
        for (i, m) in self.milestones.iter().enumerate() {
            let at = |f: &str| format!("milestones[{i}].{f}");
            milestones.push(MilestonePlan {
                kind: MilestoneKind::parse(&at("kind"), &m.kind)?,
                planned_day: parse_day(&at("planned"), &m.planned)?,
                actual_day: m
                    .actual
                    .as_deref()
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| parse_day(&at("actual"), s))
                    .transpose()?,
            });
        }
        if milestones.is_empty() {
            return Err(FieldError::new("milestones", "required"));
        }
        // The domain names its fields after the record; the API's are
        // `planned` and `actual`.
        check_milestones(&milestones).map_err(|mut e| {
            e.field = e.field.replace("planned_day", "planned").replace("actual_day", "actual");
            e
        })?;
        Ok(ProjectDraft {
            enterprise: EnterpriseId(self.enterprise_id),
            name,
            product,
            planned_daily_capacity: self.planned_daily_capacity,
            capacity_unit,
            milestones,
            blocking,
        })
    }
}

/// A key project as the board shows it: how far behind plan it is.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectView {
    /// The project.
    #[schema(value_type = Object)]
    pub project: Project,
    /// The next milestone not reached.
    pub next: Option<String>,
    /// Days behind plan (the worst milestone; 0 when on plan).
    pub slip_days: i64,
    /// Reached milestones of all.
    pub done: usize,
}

/// The board's view of `p` on `today`.
pub fn project_view(p: Project, today: i64) -> ProjectView {
    let slip = p.milestones.iter().map(|m| slip_days(m, today)).max().unwrap_or(0);
    let next = p.milestones.iter().find(|m| m.actual_day.is_none()).map(|m| m.kind.as_str().to_owned());
    let done = p.milestones.iter().filter(|m| m.actual_day.is_some()).count();
    ProjectView { project: p, next, slip_days: slip, done }
}

/// Enters a key project.
pub async fn enter_project(state: &AppState, authed: &Authed, req: &ProjectIn) -> AppResult<Project> {
    authed.may_here(Action::ManageEnterprises)?;
    let draft = req.parse()?;
    let e = match visible(state, authed, req.enterprise_id).await {
        Err(AppError::NotFound) => return Err(FieldError::new("enterprise_id", "not_found").into()),
        other => other?,
    };
    may_for(authed, Action::ManageEnterprises, &e)?;
    Ok(state.writer.submit(authed.actor(), Command::CreateProject(draft)).await?.outcome.into_project()?)
}

/// Enter a key project (重点项目) with its milestones. Milestone dates out of
/// order are refused on the milestone (`milestone_order`).
#[utoipa::path(post, path = "/api/v1/projects", tag = "enterprises", request_body = ProjectIn,
    responses((status = 201, body = ProjectView), (status = 422)))]
pub async fn create_project(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<ProjectIn>,
) -> AppResult<(StatusCode, Json<ProjectView>)> {
    let p = enter_project(&state, &authed, &req).await?;
    Ok((StatusCode::CREATED, Json(project_view(p, today(&state)))))
}

/// The key projects the caller may see, with their slippage.
#[utoipa::path(get, path = "/api/v1/projects", tag = "enterprises", responses((status = 200, body = Vec<ProjectView>)))]
pub async fn projects(State(state): State<AppState>, authed: Authed) -> AppResult<Json<Vec<ProjectView>>> {
    authed.may_here(Action::ReadEnterprises)?;
    let day = today(&state);
    let all = state.store.projects_visible(&viewer(&authed)).await?;
    Ok(Json(all.into_iter().map(|p| project_view(p, day)).collect()))
}

/// A milestone reached (or cleared).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MilestoneDoneIn {
    /// Which milestone.
    pub kind: String,
    /// The day it was reached, `YYYY-MM-DD`; empty clears it.
    #[serde(default)]
    pub actual: String,
    /// What blocks the project now (omit to leave as is).
    pub blocking: Option<String>,
}

/// Records a milestone of project `id`.
pub async fn reach(state: &AppState, authed: &Authed, id: i64, req: &MilestoneDoneIn) -> AppResult<Project> {
    let p = match state.store.project(ProjectId(id)).await {
        Ok(p) => p,
        Err(StoreError::NotFound) => return Err(AppError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let e = visible(state, authed, p.enterprise_id.0).await?;
    may_for(authed, Action::ReportForEnterprise, &e)?;
    let kind = MilestoneKind::parse("kind", &req.kind)?;
    let actual_day = Some(req.actual.trim()).filter(|s| !s.is_empty()).map(|s| parse_day("actual", s)).transpose()?;
    if actual_day.is_some_and(|d| d > today(state)) {
        return Err(FieldError::new("actual", "in_future").into());
    }
    let blocking = req.blocking.as_deref().map(|b| BoundedText::<500>::parse_optional("blocking", b)).transpose()?;
    let command = Command::SetMilestone { project: p.id, kind, actual_day, blocking };
    Ok(state.writer.submit(authed.actor(), command).await?.outcome.into_project()?)
}

/// Record that a milestone was reached (the enterprise or its officer).
#[utoipa::path(post, path = "/api/v1/projects/{id}/milestones", tag = "enterprises", params(("id" = i64, Path)),
    request_body = MilestoneDoneIn, responses((status = 200, body = ProjectView), (status = 422)))]
pub async fn milestone(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<MilestoneDoneIn>,
) -> AppResult<Json<ProjectView>> {
    let p = reach(&state, &authed, id, &req).await?;
    Ok(Json(project_view(p, today(&state))))
}

/// The resumption dashboard of a scope.
#[derive(Debug, Serialize, ToSchema)]
pub struct Dashboard {
    /// Enterprises in scope.
    pub enterprises: i64,
    /// Of which resumed.
    pub resumed: i64,
    /// Employees in all.
    pub employees: i64,
    /// People on site.
    pub on_site: i64,
    /// By township (`key`: the township's name).
    #[schema(value_type = Vec<Object>)]
    pub by_township: Vec<ResumptionCount>,
    /// By sector (`key`: the section letter).
    #[schema(value_type = Vec<Object>)]
    pub by_sector: Vec<ResumptionCount>,
    /// Tickets by category and department.
    #[schema(value_type = Vec<Object>)]
    pub tickets: Vec<TicketCount>,
    /// Key projects with slippage, the worst first.
    pub projects: Vec<ProjectView>,
    /// Epidemic-supply output, the last 14 days.
    #[schema(value_type = Vec<Object>)]
    pub supplies: Vec<SupplyOutput>,
    /// Resumed enterprises that have not reported today.
    pub missing_reports: usize,
}

/// The dashboard of what the caller sees: their scope, and the enterprises
/// they serve as dedicated officer.
pub async fn dashboard_of(state: &AppState, authed: &Authed) -> AppResult<Dashboard> {
    authed.may_here(Action::ReadEnterprises)?;
    let mut by_township = state.store.resumption_counts(&viewer(authed), false).await?;
    for row in &mut by_township {
        if let Ok(id) = row.key.parse::<i64>() {
            row.key = state.store.org_unit(OrgUnitId(id)).await.map(|u| u.name).unwrap_or_default();
        }
    }
    let by_sector = state.store.resumption_counts(&viewer(authed), true).await?;
    let day = today(state);
    let mut projects: Vec<ProjectView> =
        state.store.projects_visible(&viewer(authed)).await?.into_iter().map(|p| project_view(p, day)).collect();
    projects.sort_by_key(|p| std::cmp::Reverse(p.slip_days));
    let sum = |f: fn(&ResumptionCount) -> i64| by_township.iter().map(f).sum::<i64>();
    Ok(Dashboard {
        enterprises: sum(|r| r.enterprises),
        resumed: sum(|r| r.resumed),
        employees: sum(|r| r.employees),
        on_site: sum(|r| r.on_site),
        tickets: state.store.ticket_counts(&viewer(authed), shouwang_store::now_us()).await?,
        supplies: state.store.supply_output(&viewer(authed), day - 13).await?,
        missing_reports: state.store.missing_reports(&viewer(authed), day).await?.len(),
        by_township,
        by_sector,
        projects,
    })
}

/// The resumption dashboard of the caller's scope: resumption rate by
/// township and sector, people on site, tickets by category and department
/// with on-time rate and time to resolve, key projects' slippage, and
/// epidemic-supply output per day.
#[utoipa::path(get, path = "/api/v1/resumption/dashboard", tag = "enterprises",
    responses((status = 200, body = Dashboard)))]
pub async fn dashboard(State(state): State<AppState>, authed: Authed) -> AppResult<Json<Dashboard>> {
    Ok(Json(dashboard_of(&state, &authed).await?))
}
