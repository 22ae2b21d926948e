//! The resumption of work (复工复产) in pages: the enterprises one may see
//! (`/enterprises`, with the form that enters one and, for reviewers, the
//! applications waiting and the daily reports missing), one enterprise
//! (`/enterprises/{id}`: its status and history, its newest application,
//! daily reports, tickets and key projects, and the forms its status and
//! the user's rights allow), problem tickets (`/tickets`, `/tickets/{id}`),
//! and the dashboard of the user's scope (`/resumption`).
//!
//! Every form works without JavaScript and goes through the API's own
//! functions (`crate::api::enterprises`, `crate::api::tickets`); a refusal
//! renders the page again with the messages beside their fields and what was
//! typed kept. Where the domain can name every bad field at once (the
//! prevention plan, the workforce, a daily report) all of them are shown.
//! `resumption.js` keeps the marked parts of these pages current from the
//! live stream.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shouwang_domain::enterprise::{
    DailyFigures, DailyReportDraft, MilestoneKind, PreventionPlanDraft, ResumptionStatus, Sector, SizeClass,
    TicketCategory, TicketStatus, Workforce,
};
use shouwang_domain::policy::{Action, Right};
use shouwang_domain::screening::{MobilePhone, PersonName};
use shouwang_domain::{FieldError, OrgUnitKind, RecordId};
use shouwang_store::{Application, Enterprise, Project, Ticket};

use super::{Page, field_refusal, see_other, whole};
use crate::api::enterprises::{
    self as api, ApplicationIn, EnterpriseIn, EnterpriseView, MilestoneIn, ProjectIn, ReportIn, ReviewIn, StatusIn,
    project_view,
};
use crate::api::passes::PassInput;
use crate::api::tickets::{self as tickets, StepIn, TicketIn};
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

/// Rows of returning origins the application form offers.
const ORIGIN_ROWS: usize = 3;

// ------------------------------------------------------------------ helpers

/// A head count typed into a form: blank is 0.
fn head_count(field: &str, raw: &str) -> Result<u32, FieldError> {
    match whole(field, raw)? {
        None => Ok(0),
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| *n <= 100_000)
            .ok_or_else(|| FieldError::new(field, "out_of_range").arg("min", 0).arg("max", 100_000)),
    }
}

/// An enterprise's id in a path; anything else is a page that is not there.
fn enterprise_id(raw: &str) -> AppResult<i64> {
    raw.trim().parse().map_err(|_| AppError::NotFound)
}

/// `n` of `of` in whole percent (0 when `of` is 0).
fn percent(n: i64, of: i64) -> i64 {
    if of <= 0 { 0 } else { ((n as f64) * 100.0 / (of as f64)).round() as i64 }
}

/// Yuan with thousands separators: `1,234,567`.
fn yuan(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// Whether the user is an enterprise's own contact.
fn is_contact(authed: &Authed) -> bool {
    authed.principal.role.as_str() == "enterprise_contact"
}

/// A page whose messages are `errors`, each beside its field (the first
/// message of a field wins). A refused change of status names the statuses
/// in words (`labels`: the prefix of their messages), not as stored.
fn page_with_errors(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    path: &str,
    errors: &[FieldError],
    labels: &str,
) -> Page {
    let mut page = Page::new(state, lang, Some(authed), path);
    for e in errors.iter().rev() {
        let mut e = e.clone();
        if e.code == "invalid_transition" {
            for (k, v) in &mut e.args {
                if matches!(*k, "from" | "to") {
                    let key = format!("{labels}{}", v.replace('_', "-"));
                    if state.i18n.has(lang, &key) {
                        *v = state.i18n.text(lang, &key, &[]);
                    }
                }
            }
        }
        page.error(&state.i18n, lang, &e);
    }
    page
}

/// Why a form was not taken: the fields the page found wrong itself, or the
/// API's refusal (one with a field is shown beside it, any other goes to
/// the error page).
enum Refusal {
    Fields(Vec<FieldError>),
    Error(AppError),
}

impl Refusal {
    fn split(self) -> AppResult<(StatusCode, Vec<FieldError>)> {
        match self {
            Refusal::Fields(errors) => Ok((StatusCode::UNPROCESSABLE_ENTITY, errors)),
            Refusal::Error(e) => field_refusal(e).map(|(status, fe)| (status, vec![fe])),
        }
    }
}

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Self {
        Refusal::Error(e)
    }
}

impl From<FieldError> for Refusal {
    fn from(e: FieldError) -> Self {
        Refusal::Fields(vec![e])
    }
}

/// An id and a name, for a `<select>`.
#[derive(Debug, Serialize)]
struct Choice {
    id: i64,
    name: String,
}

/// Who and what an enterprise form may point at: the townships within the
/// user's scope; the service officers and departments of the user's county
/// (they sit beside the townships, not under them).
async fn form_choices(state: &AppState, authed: &Authed) -> AppResult<(Vec<Choice>, Vec<Choice>, Vec<Choice>)> {
    let scope = &authed.principal.scope;
    let units = state.store.org_units().await?;
    let townships = units
        .iter()
        .filter(|u| u.kind == OrgUnitKind::Township && scope.contains(&u.path))
        .map(|u| Choice { id: u.id.0, name: u.name.clone() })
        .collect();
    // The nearest county holding the user's scope, else the scope itself.
    let base = units
        .iter()
        .filter(|u| u.kind == OrgUnitKind::County && u.path.contains(scope))
        .max_by_key(|u| u.path.depth())
        .map_or_else(|| scope.clone(), |u| u.path.clone());
    let departments = units
        .iter()
        .filter(|u| u.kind == OrgUnitKind::Department && base.contains(&u.path))
        .map(|u| Choice { id: u.id.0, name: u.name.clone() })
        .collect();
    let officers = state
        .store
        .users_within(&base)
        .await?
        .into_iter()
        .filter(|u| !u.disabled && u.role.as_str() == "service_officer")
        .map(|u| Choice { id: u.id.0, name: u.display_name })
        .collect();
    Ok((townships, officers, departments))
}

/// The letters of the sectors, the size classes, the statuses, the ticket
/// categories: the choices the templates offer.
fn enum_choices() -> minijinja::Value {
    minijinja::context! {
        sectors => Sector::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        sizes => SizeClass::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        statuses => ResumptionStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        categories => TicketCategory::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
    }
}

// ------------------------------------------------------------------ list

/// What `/enterprises` is opened with.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Only those at this status (anything else: all).
    #[serde(default)]
    status: String,
}

/// The enterprise form as typed (entering one, or editing its details).
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct EnterpriseForm {
    #[serde(rename = "_csrf", default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    credit_code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    sector: String,
    #[serde(default)]
    size_class: String,
    #[serde(default)]
    org_unit_id: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    above_designated: Option<String>,
    #[serde(default)]
    key_enterprise: Option<String>,
    #[serde(default)]
    epidemic_supplies: Option<String>,
    #[serde(default)]
    employees: String,
    #[serde(default)]
    service_officer_id: String,
    #[serde(default)]
    department_id: String,
}

impl EnterpriseForm {
    /// A blank form; the township chosen when there is only one.
    fn blank(townships: &[Choice]) -> Self {
        let org_unit_id = match townships {
            [only] => only.id.to_string(),
            _ => String::new(),
        };
        Self { size_class: SizeClass::Small.as_str().to_owned(), org_unit_id, ..Self::default() }
    }

    /// The form holding `e`'s details, to edit.
    fn of(e: &Enterprise) -> Self {
        let on = |b: bool| b.then(|| "on".to_owned());
        Self {
            csrf: String::new(),
            credit_code: e.credit_code.clone(),
            name: e.name.clone(),
            sector: e.sector.as_str().to_owned(),
            size_class: e.size_class.as_str().to_owned(),
            org_unit_id: e.org_unit_id.0.to_string(),
            address: e.address.clone(),
            above_designated: on(e.above_designated),
            key_enterprise: on(e.key_enterprise),
            epidemic_supplies: on(e.epidemic_supplies),
            employees: e.employees.to_string(),
            service_officer_id: e.service_officer_id.map(|u| u.0.to_string()).unwrap_or_default(),
            department_id: e.department_id.map(|d| d.0.to_string()).unwrap_or_default(),
        }
    }

    /// The API's input. The details are checked in the order of the form
    /// (the API's own parse), then what the page must supply itself.
    fn input(&self) -> Result<EnterpriseIn, FieldError> {
        let req = EnterpriseIn {
            credit_code: self.credit_code.clone(),
            name: self.name.clone(),
            sector: self.sector.clone(),
            size_class: self.size_class.clone(),
            org_unit_id: whole("org_unit_id", &self.org_unit_id)?.unwrap_or(0),
            address: self.address.clone(),
            above_designated: self.above_designated.is_some(),
            key_enterprise: self.key_enterprise.is_some(),
            epidemic_supplies: self.epidemic_supplies.is_some(),
            employees: whole("employees", &self.employees)?.unwrap_or(0),
            service_officer_id: whole("service_officer_id", &self.service_officer_id)?,
            department_id: whole("department_id", &self.department_id)?,
        };
        if self.credit_code.trim().is_empty() {
            return Err(FieldError::new("credit_code", "required"));
        }
        if self.sector.trim().is_empty() {
            return Err(FieldError::new("sector", "required"));
        }
        if self.employees.trim().is_empty() {
            return Err(FieldError::new("employees", "required"));
        }
        req.parse()?;
        if self.org_unit_id.trim().is_empty() {
            return Err(FieldError::new("org_unit_id", "required"));
        }
        Ok(req)
    }
}

/// A row of the enterprise list.
#[derive(Debug, Serialize)]
struct EnterpriseRow<'a> {
    #[serde(flatten)]
    e: &'a Enterprise,
    township: &'a str,
    last_report: Option<String>,
    reported_today: bool,
}

/// An application waiting for review.
#[derive(Debug, Serialize)]
struct Waiting {
    application_id: String,
    enterprise_id: i64,
    enterprise: String,
    filed_us: i64,
    warnings: Vec<&'static str>,
}

/// The applications the user may review that wait: those within their
/// scope, and those of the enterprises they serve as dedicated officer.
async fn waiting_for(state: &AppState, authed: &Authed, visible: &[Enterprise]) -> AppResult<Vec<Waiting>> {
    let shown = |a: &Application, name: String| Waiting {
        application_id: a.id.to_string(),
        enterprise_id: a.enterprise_id.0,
        enterprise: name,
        filed_us: a.filed_us,
        warnings: a.plan.is_complete_for_approval(),
    };
    let mut list: Vec<Waiting> = state
        .store
        .applications_waiting(&authed.principal.scope)
        .await?
        .into_iter()
        .map(|(a, name)| shown(&a, name))
        .collect();
    for e in visible.iter().filter(|e| e.status == ResumptionStatus::Applied) {
        if list.iter().any(|w| w.enterprise_id == e.id.0) || api::may_for(authed, Action::ReviewResumption, e).is_err()
        {
            continue;
        }
        let applications = state.store.applications(e.id).await?;
        if let Some(a) = applications.iter().find(|a| a.state == ResumptionStatus::Applied) {
            list.push(shown(a, e.name.clone()));
        }
    }
    list.sort_by_key(|w| w.filed_us);
    Ok(list)
}

async fn render_list(
    state: &AppState,
    authed: &Authed,
    page: Page,
    form: Option<&EnterpriseForm>,
    filter: &str,
) -> AppResult<Response> {
    authed.may_here(Action::ReadEnterprises)?;
    let viewer = api::viewer(authed);
    let all = state.store.enterprises_visible(&viewer).await?;
    let units = state.store.org_units().await?;
    let names: HashMap<i64, &str> = units.iter().map(|u| (u.id.0, u.name.as_str())).collect();
    let today = api::today(state);
    let status = ResumptionStatus::parse("status", filter).ok();
    let counts: Vec<(&str, usize)> = ResumptionStatus::ALL
        .iter()
        .map(|s| (s.as_str(), all.iter().filter(|e| e.status == *s).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let rows: Vec<EnterpriseRow> = all
        .iter()
        .filter(|e| status.is_none_or(|s| e.status == s))
        .map(|e| EnterpriseRow {
            e,
            township: names.get(&e.org_unit_id.0).copied().unwrap_or(""),
            last_report: e.last_report_day.map(api::format_day),
            reported_today: e.last_report_day == Some(today),
        })
        .collect();
    let can_review = authed.may_here(Action::ReviewResumption).is_ok();
    let (waiting, missing) = if can_review {
        let missing: Vec<Choice> = state
            .store
            .missing_reports(&viewer, today)
            .await?
            .into_iter()
            .map(|e| Choice { id: e.id.0, name: e.name })
            .collect();
        (waiting_for(state, authed, &all).await?, missing)
    } else {
        (Vec::new(), Vec::new())
    };
    let (townships, officers, departments) = form_choices(state, authed).await?;
    let can_create = authed.may_here(Action::ManageEnterprises).is_ok() && !townships.is_empty();
    let blank;
    let form = match form {
        Some(f) => f,
        None => {
            blank = EnterpriseForm::blank(&townships);
            &blank
        }
    };
    let ctx = page.with(minijinja::context! {
        rows => rows,
        total => all.len(),
        counts => counts,
        filter => status.map(|s| s.as_str()).unwrap_or(""),
        can_review => can_review,
        waiting => waiting,
        missing => missing,
        can_create => can_create,
        form => form,
        townships => townships,
        officers => officers,
        departments => departments,
        choices => enum_choices(),
    });
    Ok(state.templates.render("enterprises.html", ctx)?.into_response())
}

/// The enterprises the user may see; an enterprise's contact goes straight
/// to their own.
pub async fn list_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    authed.may_here(Action::ReadEnterprises)?;
    if is_contact(&authed)
        && let Some(e) = state.store.enterprise_of_scope(&authed.principal.scope).await?
    {
        return Ok(see_other(&format!("/enterprises/{}", e.id)));
    }
    let page = Page::new(&state, lang, Some(&authed), "/enterprises");
    render_list(&state, &authed, page, None, &q.status).await
}

/// Enters an enterprise from the form, then opens its page.
pub async fn create_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Form(form): Form<EnterpriseForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    let result = async {
        let req = form.input()?;
        api::create_enterprise(&state, &authed, &req).await
    }
    .await;
    match result {
        Ok(e) => Ok(see_other(&format!("/enterprises/{}", e.id))),
        Err(e) => {
            super::refused_page(&state, lang, &authed, "/enterprises", e, |page| {
                render_list(&state, &authed, page, Some(&form), "")
            })
            .await
        }
    }
}

// ------------------------------------------------------------------ one enterprise

/// The application form as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ApplyForm {
    #[serde(rename = "_csrf", default, skip_serializing)]
    csrf: String,
    /// A UUIDv7 made when the form was drawn: filing twice files once.
    #[serde(default)]
    id: String,
    #[serde(default)]
    mask_stock_days: String,
    #[serde(default)]
    disinfection: String,
    #[serde(default)]
    gate_temperature_checks: Option<String>,
    #[serde(default)]
    canteen: String,
    #[serde(default)]
    dormitory: String,
    #[serde(default)]
    isolation_room: Option<String>,
    #[serde(default)]
    emergency_contact_name: String,
    #[serde(default)]
    emergency_contact_phone: String,
    #[serde(default)]
    local: String,
    #[serde(default)]
    returning: String,
    #[serde(default)]
    still_away: String,
    #[serde(default)]
    origin_1: String,
    #[serde(default)]
    count_1: String,
    #[serde(default)]
    origin_2: String,
    #[serde(default)]
    count_2: String,
    #[serde(default)]
    origin_3: String,
    #[serde(default)]
    count_3: String,
}

impl ApplyForm {
    /// A fresh form, filled from the enterprise's last application (a
    /// returned one is corrected, not typed again).
    fn fresh(last: Option<&Application>) -> Self {
        let mut f = Self { id: RecordId::new_v7().to_string(), ..Self::default() };
        // A first plan starts blank: each measure is declared, not assumed.
        let Some(a) = last else { return f };
        let p = &a.plan;
        let on = |b: bool| b.then(|| "on".to_owned());
        f.mask_stock_days = p.mask_stock_days.to_string();
        f.disinfection = p.disinfection.clone();
        f.gate_temperature_checks = on(p.gate_temperature_checks);
        f.canteen = p.canteen.clone();
        f.dormitory = p.dormitory.clone();
        f.isolation_room = on(p.isolation_room);
        f.emergency_contact_name = p.emergency_contact_name.clone();
        f.emergency_contact_phone = p.emergency_contact_phone.clone();
        let w = &a.workforce;
        f.local = w.local.to_string();
        f.returning = w.returning.to_string();
        f.still_away = w.still_away.to_string();
        for (i, (origin, n)) in w.returning_origins.iter().take(ORIGIN_ROWS).enumerate() {
            let (o, c) = f.origin_row_mut(i);
            *o = origin.clone();
            *c = n.to_string();
        }
        f
    }

    fn origin_rows(&self) -> [(&str, &str); ORIGIN_ROWS] {
        [(&self.origin_1, &self.count_1), (&self.origin_2, &self.count_2), (&self.origin_3, &self.count_3)]
    }

    fn origin_row_mut(&mut self, i: usize) -> (&mut String, &mut String) {
        match i {
            0 => (&mut self.origin_1, &mut self.count_1),
            1 => (&mut self.origin_2, &mut self.count_2),
            _ => (&mut self.origin_3, &mut self.count_3),
        }
    }

    /// The API's input, or every field found wrong: the plan and the
    /// workforce are checked by the domain here, so that all their faults
    /// show at once (the API reports the first).
    fn input(&self, employees: i64) -> Result<ApplicationIn, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut note = |r: Result<u32, FieldError>| {
            r.unwrap_or_else(|e| {
                errors.push(e);
                0
            })
        };
        let local = note(head_count("workforce.local", &self.local));
        let returning = note(head_count("workforce.returning", &self.returning));
        let still_away = note(head_count("workforce.still_away", &self.still_away));
        // Blank rows are left out; `rows[k]` is the form's row of origin k.
        let mut origins = Vec::new();
        let mut rows = Vec::new();
        for (i, (origin, count)) in self.origin_rows().into_iter().enumerate() {
            if origin.trim().is_empty() && count.trim().is_empty() {
                continue;
            }
            let field = format!("workforce.returning_origins[{i}].count");
            let n = if count.trim().is_empty() {
                errors.push(FieldError::new(field, "required"));
                0
            } else {
                head_count(&field, count).unwrap_or_else(|e| {
                    errors.push(e);
                    0
                })
            };
            origins.push((origin.trim().to_owned(), n));
            rows.push(i);
        }
        let mask_stock_days = whole("plan.mask_stock_days", &self.mask_stock_days).unwrap_or_else(|e| {
            errors.push(e);
            None
        });
        let plan = PreventionPlanDraft {
            mask_stock_days,
            disinfection: self.disinfection.clone(),
            gate_temperature_checks: self.gate_temperature_checks.is_some(),
            canteen: self.canteen.clone(),
            dormitory: self.dormitory.clone(),
            isolation_room: self.isolation_room.is_some(),
            emergency_contact_name: self.emergency_contact_name.clone(),
            emergency_contact_phone: self.emergency_contact_phone.clone(),
        };
        let mut found = Vec::new();
        if let Err(e) = plan.clone().parse() {
            found.extend(e);
        }
        let workforce = Workforce { local, returning, returning_origins: origins, still_away };
        if let Err(e) = workforce.check(u32::try_from(employees).unwrap_or(u32::MAX)) {
            found.extend(e.into_iter().map(|e| origin_row(e, &rows)));
        }
        // The page's own findings first: they are about what was typed.
        errors.extend(found);
        if errors.is_empty() { Ok(ApplicationIn { id: self.id.clone(), plan, workforce }) } else { Err(errors) }
    }
}

/// A fault of origin `k` named by the form's row it came from.
fn origin_row(mut e: FieldError, rows: &[usize]) -> FieldError {
    const PREFIX: &str = "workforce.returning_origins[";
    if let Some(rest) = e.field.strip_prefix(PREFIX)
        && let Some((k, tail)) = rest.split_once(']')
        && let Some(row) = k.parse::<usize>().ok().and_then(|k| rows.get(k))
    {
        e.field = format!("{PREFIX}{row}]{tail}");
    }
    e
}

/// The review form.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ReviewForm {
    #[serde(rename = "_csrf", default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

/// The status form: resume partly or fully, or suspend.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct StatusForm {
    #[serde(rename = "_csrf", default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    note: String,
}

/// The daily report as typed.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ReportForm {
    #[serde(rename = "_csrf", default, skip_serializing)]
    csrf: String,
    /// A UUIDv7 made when the form was drawn: sending twice files once.
    #[serde(default)]
    id: String,
    #[serde(default)]
    on_site: String,
    #[serde(default)]
    capacity_pct: String,
    #[serde(default)]
    output_value_yuan: String,
    #[serde(default)]
    ppe_stock_days: String,
    #[serde(default)]
    raw_material_days: String,
    #[serde(default)]
    orders_on_hand_yuan: String,
    #[serde(default)]
    masks: String,
    #[serde(default)]
    disinfectant_kg: String,
    #[serde(default)]
    suits: String,
    #[serde(default)]
    problems: String,
}

impl ReportForm {
    /// A fresh form, filled with the latest report's figures (most change
    /// little from day to day); the problems start blank.
    fn fresh(last: Option<&DailyFigures>) -> Self {
        let mut f = Self { id: RecordId::new_v7().to_string(), ..Self::default() };
        if let Some(r) = last {
            f.on_site = r.on_site.to_string();
            f.capacity_pct = r.capacity_pct.to_string();
            f.output_value_yuan = r.output_value_yuan.to_string();
            f.ppe_stock_days = r.ppe_stock_days.to_string();
            f.raw_material_days = r.raw_material_days.to_string();
            f.orders_on_hand_yuan = r.orders_on_hand_yuan.to_string();
            f.masks = r.masks.to_string();
            f.disinfectant_kg = r.disinfectant_kg.to_string();
            f.suits = r.suits.to_string();
        }
        f
    }

    /// The API's input, or every field found wrong (the domain checks the
    /// figures here, so that all faults show at once).
    fn input(&self, employees: i64) -> Result<ReportIn, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut number = |field: &str, raw: &str| {
            whole(field, raw).unwrap_or_else(|e| {
                errors.push(e);
                None
            })
        };
        let figures = DailyReportDraft {
            on_site: number("on_site", &self.on_site),
            capacity_pct: number("capacity_pct", &self.capacity_pct),
            output_value_yuan: number("output_value_yuan", &self.output_value_yuan),
            ppe_stock_days: number("ppe_stock_days", &self.ppe_stock_days),
            raw_material_days: number("raw_material_days", &self.raw_material_days),
            orders_on_hand_yuan: number("orders_on_hand_yuan", &self.orders_on_hand_yuan),
            masks: number("masks", &self.masks),
            disinfectant_kg: number("disinfectant_kg", &self.disinfectant_kg),
            suits: number("suits", &self.suits),
            problems: self.problems.clone(),
        };
        if let Err(e) = figures.clone().parse(u32::try_from(employees).unwrap_or(u32::MAX)) {
            errors.extend(e);
        }
        if errors.is_empty() { Ok(ReportIn { id: self.id.clone(), figures }) } else { Err(errors) }
    }
}

/// The "raise a problem" form.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct TicketForm {
    #[serde(rename = "_csrf", default, skip_serializing)]
    csrf: String,
    /// A UUIDv7 made when the form was drawn: raising twice raises once.
    #[serde(default)]
    id: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    /// With a logistics problem, the freight pass asked for (when any plate
    /// is typed): plates separated by spaces or commas.
    #[serde(default)]
    plates: String,
    #[serde(default)]
    driver_name: String,
    #[serde(default)]
    driver_phone: String,
    /// Region codes of the route.
    #[serde(default)]
    origin: String,
    #[serde(default)]
    destination: String,
    /// Days the pass is valid from now, 1–30 (blank: 7).
    #[serde(default)]
    valid_days: String,
}

/// Days a pass asked for with a problem is valid unless the form says.
const PASS_DAYS: i64 = 7;

impl TicketForm {
    /// A blank form; a pass would start in the enterprise's county.
    fn fresh(county: &str) -> Self {
        Self {
            id: RecordId::new_v7().to_string(),
            origin: county.to_owned(),
            valid_days: PASS_DAYS.to_string(),
            ..Self::default()
        }
    }

    /// The freight pass asked for, if any plate was typed: for `enterprise`,
    /// carrying production materials, valid from now for the days given.
    fn pass(&self, enterprise: &str, now_us: i64) -> Result<Option<PassInput>, FieldError> {
        const DAY_US: i64 = 86_400_000_000;
        let plates: Vec<String> = self
            .plates
            .split(|c: char| c.is_whitespace() || matches!(c, ',' | '，' | '、' | ';' | '；'))
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        if plates.is_empty() {
            return Ok(None);
        }
        let days = whole("pass.valid_days", &self.valid_days)?.unwrap_or(PASS_DAYS);
        if !(1..=30).contains(&days) {
            return Err(FieldError::new("pass.valid_days", "out_of_range").arg("min", 1).arg("max", 30));
        }
        let given = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(Some(PassInput {
            enterprise: Some(enterprise.to_owned()),
            plates,
            driver_name: given(&self.driver_name),
            driver_phone: given(&self.driver_phone),
            origin: given(&self.origin),
            destination: given(&self.destination),
            cargo: Some("production_materials".to_owned()),
            valid_from_us: None,
            valid_until_us: Some(now_us + days * DAY_US),
            ..PassInput::default()
        }))
    }
}

/// A fault of the pass asked for, named by the form's input: any plate's
/// is the plates', the validity's is the days'.
fn pass_input(mut e: FieldError) -> FieldError {
    if e.field.starts_with("pass.plates") {
        e.field = "pass.plates".to_owned();
    } else if e.field.starts_with("pass.valid_") {
        e.field = "pass.valid_days".to_owned();
    }
    e
}

/// The "milestone reached" form of a key project.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct MilestoneForm {
    #[serde(rename = "_csrf", default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    kind: String,
    /// `YYYY-MM-DD`, as `<input type="date">` sends it.
    #[serde(default)]
    actual: String,
    #[serde(default)]
    blocking: String,
}

/// The "enter a key project" form: one planned date (and, if reached, the
/// actual one) per milestone, `planned_<kind>` and `actual_<kind>`; a
/// milestone without a planned date is left out.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ProjectForm {
    #[serde(rename = "_csrf", default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    planned_daily_capacity: String,
    #[serde(default)]
    capacity_unit: String,
    #[serde(default)]
    blocking: String,
    /// The milestones' dates, by `planned_<kind>` and `actual_<kind>`.
    #[serde(flatten)]
    days: HashMap<String, String>,
}

impl ProjectForm {
    fn day(&self, which: &str, kind: MilestoneKind) -> &str {
        self.days.get(&format!("{which}_{}", kind.as_str())).map_or("", |s| s.trim())
    }

    /// The API's input and the milestone kind of each entry in it, or what
    /// the page finds wrong itself: a capacity that is no number, a reached
    /// date on a milestone without a planned one.
    fn input(&self, enterprise_id: i64) -> Result<(ProjectIn, Vec<MilestoneKind>), FieldError> {
        let capacity = match whole("planned_daily_capacity", &self.planned_daily_capacity)? {
            Some(n) => n,
            None => return Err(FieldError::new("planned_daily_capacity", "required")),
        };
        let mut milestones = Vec::new();
        let mut kinds = Vec::new();
        for kind in MilestoneKind::ALL.iter().copied() {
            let (planned, actual) = (self.day("planned", kind), self.day("actual", kind));
            if planned.is_empty() {
                if !actual.is_empty() {
                    return Err(FieldError::new(milestone_field(kind, "planned"), "required"));
                }
                continue;
            }
            milestones.push(MilestoneIn {
                kind: kind.as_str().to_owned(),
                planned: planned.to_owned(),
                actual: Some(actual.to_owned()).filter(|a| !a.is_empty()),
            });
            kinds.push(kind);
        }
        let req = ProjectIn {
            enterprise_id,
            name: self.name.clone(),
            product: self.product.clone(),
            planned_daily_capacity: capacity,
            capacity_unit: self.capacity_unit.clone(),
            milestones,
            blocking: self.blocking.clone(),
        };
        Ok((req, kinds))
    }
}

/// The page's name of a milestone's date: `milestones.<kind>.<which>`.
fn milestone_field(kind: MilestoneKind, which: &str) -> String {
    format!("milestones.{}.{which}", kind.as_str())
}

/// A fault of the API's milestone `i` (`milestones[i].planned`) named by
/// the milestone's inputs on the form (`kinds[i]`); a fault of its kind (out
/// of order, twice) is shown beside its planned date.
fn milestone_input(mut e: FieldError, kinds: &[MilestoneKind]) -> FieldError {
    if let Some(rest) = e.field.strip_prefix("milestones[")
        && let Some((i, tail)) = rest.split_once("].")
        && let Some(kind) = i.parse::<usize>().ok().and_then(|i| kinds.get(i))
    {
        let which = if tail == "actual" { "actual" } else { "planned" };
        e.field = milestone_field(*kind, which);
    }
    e
}

/// The "account for a contact" form; the password is not shown again.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ContactForm {
    #[serde(rename = "_csrf", default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default, skip_serializing)]
    password: String,
}

/// A contact's account as listed on the enterprise's page.
#[derive(Debug, Serialize)]
struct ContactShown {
    username: String,
    display_name: String,
    disabled: bool,
}

/// The form of the enterprise's page that was refused, as typed.
enum Failed {
    None,
    Apply(ApplyForm),
    Review(ReviewForm),
    Status(StatusForm),
    Report(ReportForm),
    Ticket(TicketForm),
    Edit(EnterpriseForm),
    /// The project's id and the form.
    Milestone(i64, MilestoneForm),
    Project(ProjectForm),
    Contact(ContactForm),
}

impl Failed {
    fn name(&self) -> &'static str {
        match self {
            Failed::None => "",
            Failed::Apply(_) => "apply",
            Failed::Review(_) => "review",
            Failed::Status(_) => "status",
            Failed::Report(_) => "report",
            Failed::Ticket(_) => "ticket",
            Failed::Edit(_) => "edit",
            Failed::Milestone(..) => "milestone",
            Failed::Project(_) => "project",
            Failed::Contact(_) => "contact",
        }
    }
}

/// The prevention plan as shown: the emergency contact masked unless the
/// viewer may see personal data, belongs to the enterprise, or serves it.
#[derive(Debug, Serialize)]
struct PlanShown<'a> {
    mask_stock_days: u16,
    disinfection: &'a str,
    gate_temperature_checks: bool,
    canteen: &'a str,
    dormitory: &'a str,
    isolation_room: bool,
    contact_name: String,
    contact_phone: String,
}

/// An application as shown.
#[derive(Debug, Serialize)]
struct ApplicationShown<'a> {
    id: String,
    state: ResumptionStatus,
    filed_us: i64,
    filed_by: String,
    reviewed_us: Option<i64>,
    reviewed_by: Option<String>,
    review_note: &'a str,
    plan: PlanShown<'a>,
    workforce: &'a Workforce,
}

async fn application_shown<'a>(
    state: &AppState,
    a: &'a Application,
    unmasked: bool,
) -> AppResult<ApplicationShown<'a>> {
    let name_of = async |u: shouwang_domain::UserId| state.store.user(u).await.map(|u| u.display_name);
    let p = &a.plan;
    let (contact_name, contact_phone) = if unmasked {
        (p.emergency_contact_name.clone(), p.emergency_contact_phone.clone())
    } else {
        (
            PersonName::parse("name", &p.emergency_contact_name).map(|n| n.masked()).unwrap_or_default(),
            MobilePhone::parse("phone", &p.emergency_contact_phone).map(|n| n.masked()).unwrap_or_default(),
        )
    };
    Ok(ApplicationShown {
        id: a.id.to_string(),
        state: a.state,
        filed_us: a.filed_us,
        filed_by: name_of(a.filed_by).await?,
        reviewed_us: a.reviewed_us,
        reviewed_by: match a.reviewed_by {
            Some(u) => Some(name_of(u).await?),
            None => None,
        },
        review_note: &a.review_note,
        plan: PlanShown {
            mask_stock_days: p.mask_stock_days,
            disinfection: &p.disinfection,
            gate_temperature_checks: p.gate_temperature_checks,
            canteen: &p.canteen,
            dormitory: &p.dormitory,
            isolation_room: p.isolation_room,
            contact_name,
            contact_phone,
        },
        workforce: &a.workforce,
    })
}

/// A daily report as shown.
#[derive(Debug, Serialize)]
struct ReportRow<'a> {
    day: String,
    reported_us: i64,
    #[serde(flatten)]
    figures: &'a DailyFigures,
    output_value: String,
    orders_on_hand: String,
}

/// A ticket in a list.
#[derive(Debug, Serialize)]
struct TicketRow<'a> {
    #[serde(flatten)]
    t: &'a Ticket,
    overdue: bool,
}

fn ticket_rows(list: &[Ticket]) -> Vec<TicketRow<'_>> {
    let now = shouwang_store::now_us();
    list.iter().map(|t| TicketRow { t, overdue: t.resolved_us.is_none() && t.deadline_us < now }).collect()
}

/// A milestone of a key project as shown: `done`, `late` (done after plan),
/// `overdue` (not done, past plan) or `planned`.
#[derive(Debug, Serialize)]
struct MilestoneShown {
    kind: &'static str,
    planned: String,
    actual: Option<String>,
    slip_days: i64,
    state: &'static str,
}

/// A key project as shown.
#[derive(Debug, Serialize)]
struct ProjectShown {
    id: i64,
    enterprise_id: i64,
    enterprise: String,
    name: String,
    product: String,
    capacity: String,
    capacity_unit: String,
    blocking: String,
    next: Option<String>,
    slip_days: i64,
    done: usize,
    milestones: Vec<MilestoneShown>,
}

fn project_shown(p: Project, today: i64) -> ProjectShown {
    let milestones = p
        .milestones
        .iter()
        .map(|m| {
            let slip = shouwang_domain::enterprise::slip_days(m, today);
            let state = match (m.actual_day, slip > 0) {
                (Some(_), false) => "done",
                (Some(_), true) => "late",
                (None, true) => "overdue",
                (None, false) => "planned",
            };
            MilestoneShown {
                kind: m.kind.as_str(),
                planned: api::format_day(m.planned_day),
                actual: m.actual_day.map(api::format_day),
                slip_days: slip,
                state,
            }
        })
        .collect();
    let v = project_view(p, today);
    ProjectShown {
        id: v.project.id.0,
        enterprise_id: v.project.enterprise_id.0,
        enterprise: v.project.enterprise_name,
        name: v.project.name,
        product: v.project.product,
        capacity: yuan(v.project.planned_daily_capacity),
        capacity_unit: v.project.capacity_unit,
        blocking: v.project.blocking,
        next: v.next,
        slip_days: v.slip_days,
        done: v.done,
        milestones,
    }
}

/// The status form's choices for the user: resuming (partly, fully) is the
/// enterprise's side, suspending the reviewers'; only those the status
/// allows now.
fn status_choices(authed: &Authed, e: &Enterprise) -> Vec<&'static str> {
    use ResumptionStatus::*;
    let mut choices = Vec::new();
    if api::may_for(authed, Action::ReportForEnterprise, e).is_ok() {
        choices.extend([PartlyResumed, FullyResumed].into_iter().filter(|s| e.status.step(*s).is_ok()));
    }
    if api::may_for(authed, Action::ReviewResumption, e).is_ok() && e.status.step(Suspended).is_ok() {
        choices.push(Suspended);
    }
    choices.into_iter().map(ResumptionStatus::as_str).collect()
}

async fn render_detail(
    state: &AppState,
    authed: &Authed,
    page: Page,
    id: i64,
    failed: Failed,
    done: &str,
) -> AppResult<Response> {
    let view: EnterpriseView = api::view(state, authed, id).await?;
    let e = &view.enterprise;
    let may = |action| api::may_for(authed, action, e).is_ok();
    let may_report = may(Action::ReportForEnterprise);
    let newest = view.applications.first();
    let can_apply = may_report
        && matches!(e.status, ResumptionStatus::NotStarted | ResumptionStatus::Returned | ResumptionStatus::Refused);
    let can_review = may(Action::ReviewResumption) && newest.is_some_and(|a| a.state == ResumptionStatus::Applied);
    let can_report = may_report
        && matches!(
            e.status,
            ResumptionStatus::Approved | ResumptionStatus::PartlyResumed | ResumptionStatus::FullyResumed
        );
    let can_edit = may(Action::ManageEnterprises);
    let unmasked = authed.principal.rights.has(Right::SeePersonal)
        || e.scope.contains(&authed.principal.scope)
        || e.service_officer_id == Some(authed.principal.user_id);
    let application = match newest {
        Some(a) => Some(application_shown(state, a, unmasked).await?),
        None => None,
    };
    let today = api::today(state);
    let reports: Vec<ReportRow> = view
        .reports
        .iter()
        .map(|r| ReportRow {
            day: api::format_day(r.day),
            reported_us: r.reported_us,
            figures: &r.figures,
            output_value: yuan(r.figures.output_value_yuan),
            orders_on_hand: yuan(r.figures.orders_on_hand_yuan),
        })
        .collect();
    let projects: Vec<ProjectShown> = view.projects.iter().cloned().map(|p| project_shown(p, today)).collect();
    let (_, mut officers, mut departments) =
        if can_edit { form_choices(state, authed).await? } else { (Vec::new(), Vec::new(), Vec::new()) };
    // The officer and department it has stay choosable, wherever they sit.
    if can_edit {
        if let (Some(u), Some(name)) = (e.service_officer_id, &view.service_officer)
            && !officers.iter().any(|c| c.id == u.0)
        {
            officers.insert(0, Choice { id: u.0, name: name.clone() });
        }
        if let (Some(d), Some(name)) = (e.department_id, &view.department)
            && !departments.iter().any(|c| c.id == d.0)
        {
            departments.insert(0, Choice { id: d.0, name: name.clone() });
        }
    }

    let which = failed.name();
    let choices_now = status_choices(authed, e);
    // A form refused that the page no longer offers (the status moved on
    // meanwhile): its messages go on top.
    let failed_hidden = match failed {
        Failed::None => false,
        Failed::Apply(_) => !can_apply,
        Failed::Review(_) => !can_review,
        Failed::Status(_) => choices_now.is_empty(),
        Failed::Report(_) => !can_report,
        Failed::Ticket(_) => !may_report,
        Failed::Edit(_) => !can_edit,
        Failed::Milestone(..) => !may_report,
        Failed::Project(_) | Failed::Contact(_) => !can_edit,
    };
    // The enterprise's county: where a freight pass it asks for starts.
    let county = state
        .store
        .org_units()
        .await?
        .into_iter()
        .filter(|u| u.kind == OrgUnitKind::County && u.path.contains(&e.scope))
        .max_by_key(|u| u.path.depth())
        .map_or_else(|| "411224".to_owned(), |u| u.code);
    let mut milestone = (0, MilestoneForm { actual: api::format_day(today), ..MilestoneForm::default() });
    let mut project = ProjectForm::default();
    let mut contact = ContactForm::default();
    let (mut apply, mut review, mut status, mut report, mut ticket, mut edit) = (
        ApplyForm::fresh(newest),
        ReviewForm::default(),
        StatusForm::default(),
        ReportForm::fresh(view.reports.first().map(|r| &r.figures)),
        TicketForm::fresh(&county),
        EnterpriseForm::of(e),
    );
    match failed {
        Failed::None => {}
        Failed::Apply(f) => apply = f,
        Failed::Review(f) => review = f,
        Failed::Status(f) => status = f,
        Failed::Report(f) => report = f,
        Failed::Ticket(f) => ticket = f,
        Failed::Edit(f) => edit = f,
        Failed::Milestone(project, f) => milestone = (project, f),
        Failed::Project(f) => project = f,
        Failed::Contact(f) => contact = f,
    }
    // The enterprise's own accounts: those scoped to it alone.
    let contacts: Vec<ContactShown> = if can_edit {
        state
            .store
            .users_within(&e.scope)
            .await?
            .into_iter()
            .filter(|u| u.scope == e.scope)
            .map(|u| ContactShown {
                username: u.username.as_str().to_owned(),
                display_name: u.display_name,
                disabled: u.disabled,
            })
            .collect()
    } else {
        Vec::new()
    };
    let ctx = page.with(minijinja::context! {
        e => e,
        township => view.township,
        service_officer => view.service_officer,
        department => view.department,
        application => application,
        applications => view.applications.len(),
        plan_warnings => view.plan_warnings,
        history => view.history,
        reports => reports,
        reported_today => view.reported_today,
        today => api::format_day(today),
        tickets => ticket_rows(&view.tickets),
        projects => projects,
        can_apply => can_apply,
        can_review => can_review,
        status_choices => choices_now,
        failed_hidden => failed_hidden,
        can_report => can_report,
        can_raise => may_report,
        can_edit => can_edit,
        can_milestone => may_report,
        milestone_project => milestone.0,
        origin_rows => ORIGIN_ROWS,
        officers => officers,
        departments => departments,
        choices => enum_choices(),
        failed => which,
        done => done,
        forms => minijinja::context! {
            apply => apply, review => review, status => status, report => report, ticket => ticket, edit => edit,
            milestone => milestone.1, project => project, contact => contact,
        },
        contacts => contacts,
        milestone_kinds => MilestoneKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
    });
    Ok(state.templates.render("enterprise.html", ctx)?.into_response())
}

/// What an enterprise's page is opened with.
#[derive(Debug, Default, Deserialize)]
pub struct DetailQuery {
    /// The form just taken, to say so.
    #[serde(default)]
    done: String,
}

/// One enterprise's page.
pub async fn detail_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
) -> AppResult<Response> {
    let id = enterprise_id(&id)?;
    let page = Page::new(&state, lang, Some(&authed), &format!("/enterprises/{id}"));
    let done = match q.done.as_str() {
        d @ ("apply" | "review" | "status" | "report" | "edit" | "milestone" | "project" | "contact") => d,
        _ => "",
    };
    render_detail(&state, &authed, page, id, Failed::None, done).await
}

/// The enterprise's page again after `failed` was refused.
async fn detail_again(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    id: i64,
    failed: Failed,
    refusal: Refusal,
) -> AppResult<Response> {
    let (status, errors) = refusal.split()?;
    let page = page_with_errors(state, lang, authed, &format!("/enterprises/{id}"), &errors, "res-status-");
    let mut res = render_detail(state, authed, page, id, failed, "").await?;
    *res.status_mut() = status;
    Ok(res)
}

/// Files an application to resume.
pub async fn apply_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<ApplyForm>,
) -> AppResult<Response> {
    let id = enterprise_id(&id)?;
    authed.check_csrf(&form.csrf)?;
    let e = api::visible(&state, &authed, id).await?;
    let result = match form.input(e.employees) {
        Err(errors) => Err(Refusal::Fields(errors)),
        Ok(req) => api::file(&state, &authed, id, req).await.map_err(Refusal::from),
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/enterprises/{id}?done=apply#application"))),
        Err(r) => detail_again(&state, lang, &authed, id, Failed::Apply(form), r).await,
    }
}

/// Decides on an application: approve, return with comments, refuse.
pub async fn review_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(application): Path<String>,
    Form(form): Form<ReviewForm>,
) -> AppResult<Response> {
    authed.check_csrf(&form.csrf)?;
    let record = RecordId::parse("id", &application).map_err(|_| AppError::NotFound)?;
    let id = state.store.application(record).await?.enterprise_id.0;
    api::visible(&state, &authed, id).await?;
    let result = if form.decision.trim().is_empty() {
        Err(Refusal::from(FieldError::new("decision", "required")))
    } else {
        let req = ReviewIn { decision: form.decision.trim().to_owned(), note: form.note.clone() };
        api::decide(&state, &authed, &application, &req).await.map_err(Refusal::from)
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/enterprises/{id}?done=review#application"))),
        Err(r) => detail_again(&state, lang, &authed, id, Failed::Review(form), r).await,
    }
}

/// Resumes partly or fully, or suspends.
pub async fn status_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> AppResult<Response> {
    let id = enterprise_id(&id)?;
    authed.check_csrf(&form.csrf)?;
    let result = if form.status.trim().is_empty() {
        Err(Refusal::from(FieldError::new("status", "required")))
    } else {
        let req = StatusIn { status: form.status.trim().to_owned(), note: form.note.clone() };
        api::change_status(&state, &authed, id, &req).await.map_err(Refusal::from)
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/enterprises/{id}?done=status"))),
        Err(r) => detail_again(&state, lang, &authed, id, Failed::Status(form), r).await,
    }
}

/// Files today's daily report.
pub async fn report_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<ReportForm>,
) -> AppResult<Response> {
    let id = enterprise_id(&id)?;
    authed.check_csrf(&form.csrf)?;
    let e = api::visible(&state, &authed, id).await?;
    let result = match form.input(e.employees) {
        Err(errors) => Err(Refusal::Fields(errors)),
        Ok(req) => api::file_report(&state, &authed, id, req).await.map_err(Refusal::from),
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/enterprises/{id}?done=report#report"))),
        Err(r) => detail_again(&state, lang, &authed, id, Failed::Report(form), r).await,
    }
}

/// Raises a problem, then opens the ticket.
pub async fn ticket_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<TicketForm>,
) -> AppResult<Response> {
    let id = enterprise_id(&id)?;
    authed.check_csrf(&form.csrf)?;
    let e = api::visible(&state, &authed, id).await?;
    let result = if form.category.trim().is_empty() {
        Err(Refusal::from(FieldError::new("category", "required")))
    } else {
        match form.pass(&e.name, shouwang_store::now_us()) {
            Err(fe) => Err(Refusal::from(fe)),
            Ok(pass) => {
                let req = TicketIn {
                    id: form.id.clone(),
                    enterprise_id: Some(id),
                    household_id: None,
                    category: form.category.trim().to_owned(),
                    department_id: None,
                    title: form.title.clone(),
                    body: form.body.clone(),
                    attachment_id: None,
                    pass,
                };
                tickets::raise(&state, &authed, &req).await.map_err(|e| match e {
                    AppError::Field(f) => Refusal::from(pass_input(f)),
                    other => Refusal::from(other),
                })
            }
        }
    };
    match result {
        Ok((t, _)) => Ok(see_other(&format!("/tickets/{}", t.id))),
        Err(r) => detail_again(&state, lang, &authed, id, Failed::Ticket(form), r).await,
    }
}

/// Changes the enterprise's details.
pub async fn edit_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<EnterpriseForm>,
) -> AppResult<Response> {
    let id = enterprise_id(&id)?;
    authed.check_csrf(&form.csrf)?;
    let result = match form.input() {
        Err(e) => Err(Refusal::from(e)),
        Ok(req) => api::update_enterprise(&state, &authed, id, &req).await.map_err(Refusal::from),
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/enterprises/{id}?done=edit"))),
        Err(r) => detail_again(&state, lang, &authed, id, Failed::Edit(form), r).await,
    }
}

/// Records that a key project reached a milestone (and what blocks it now).
pub async fn milestone_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(project): Path<String>,
    Form(form): Form<MilestoneForm>,
) -> AppResult<Response> {
    let project = enterprise_id(&project)?;
    authed.check_csrf(&form.csrf)?;
    let id = state.store.project(shouwang_domain::ProjectId(project)).await?.enterprise_id.0;
    api::visible(&state, &authed, id).await?;
    let result = if form.kind.trim().is_empty() {
        Err(Refusal::from(FieldError::new("kind", "required")))
    } else {
        let req = api::MilestoneDoneIn {
            kind: form.kind.trim().to_owned(),
            actual: form.actual.clone(),
            blocking: Some(form.blocking.clone()),
        };
        api::reach(&state, &authed, project, &req).await.map_err(Refusal::from)
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/enterprises/{id}?done=milestone#projects"))),
        Err(r) => detail_again(&state, lang, &authed, id, Failed::Milestone(project, form), r).await,
    }
}

/// Enters a key project of the enterprise, then shows it among its projects.
pub async fn project_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<ProjectForm>,
) -> AppResult<Response> {
    let id = enterprise_id(&id)?;
    authed.check_csrf(&form.csrf)?;
    api::visible(&state, &authed, id).await?;
    let result = match form.input(id) {
        Err(e) => Err(Refusal::from(e)),
        Ok((req, kinds)) => api::enter_project(&state, &authed, &req).await.map_err(|e| match e {
            AppError::Field(f) => Refusal::from(milestone_input(f, &kinds)),
            other => Refusal::from(other),
        }),
    };
    match result {
        Ok(_) => Ok(see_other(&format!("/enterprises/{id}?done=project#projects"))),
        Err(r) => detail_again(&state, lang, &authed, id, Failed::Project(form), r).await,
    }
}

/// Sets up an account for one of the enterprise's contacts.
pub async fn contact_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<ContactForm>,
) -> AppResult<Response> {
    let id = enterprise_id(&id)?;
    authed.check_csrf(&form.csrf)?;
    let req = api::ContactIn {
        username: form.username.trim().to_owned(),
        display_name: form.display_name.clone(),
        password: form.password.clone(),
    };
    match api::add_contact(&state, &authed, id, &req).await {
        Ok(_) => Ok(see_other(&format!("/enterprises/{id}?done=contact#contacts"))),
        Err(e) => detail_again(&state, lang, &authed, id, Failed::Contact(form), Refusal::from(e)).await,
    }
}

// ------------------------------------------------------------------ tickets

/// What `/tickets` is opened with.
#[derive(Debug, Default, Deserialize)]
pub struct TicketsQuery {
    /// `all` to include the confirmed; otherwise the open ones.
    #[serde(default)]
    show: String,
}

/// The tickets the user may see.
pub async fn tickets_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Query(q): Query<TicketsQuery>,
) -> AppResult<Response> {
    authed.may_here(Action::ReadEnterprises)?;
    let all = q.show == "all";
    let list = state.store.tickets_visible(&api::viewer(&authed), !all).await?;
    let page = Page::new(&state, lang, Some(&authed), "/tickets");
    let ctx = page.with(minijinja::context! {
        tickets => ticket_rows(&list),
        show_all => all,
    });
    Ok(state.templates.render("tickets.html", ctx)?.into_response())
}

/// The step form on a ticket.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct StepForm {
    #[serde(rename = "_csrf", default, skip_serializing)]
    csrf: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    route_to: String,
}

async fn render_ticket(
    state: &AppState,
    authed: &Authed,
    page: Page,
    id: &str,
    form: &StepForm,
) -> AppResult<Response> {
    let t = tickets::visible(state, authed, id).await?;
    let notes = state.store.ticket_notes(t.id).await?;
    let now = shouwang_store::now_us();
    let name_of = async |u: shouwang_domain::UserId| state.store.user(u).await.map(|u| u.display_name);
    let officer = match t.officer_id {
        Some(u) => Some(name_of(u).await?),
        None => None,
    };
    let escalated_to = match t.escalated_to {
        Some(u) => Some(name_of(u).await?),
        None => None,
    };
    let raised_by = name_of(t.raised_by).await?;
    // Who may move it on, as `tickets::step` decides: the department (or
    // the enterprise's officer) works it; the enterprise confirms or
    // reopens it; anyone who may write for enterprises comments.
    let may_handle = crate::api::tickets::may_handle(state, authed, &t).await.is_ok();
    let may_write = authed.may_here(crate::api::tickets::write_action(&t)).is_ok();
    let own = may_write && crate::api::tickets::speaks_for(authed, &t);
    let mut choices: Vec<&str> = Vec::new();
    if may_handle {
        let steps = [TicketStatus::Accepted, TicketStatus::InProgress, TicketStatus::Resolved];
        choices.extend(steps.into_iter().filter(|s| t.status.step(*s).is_ok()).map(TicketStatus::as_str));
    }
    if own {
        let steps = [TicketStatus::Confirmed, TicketStatus::Reopened];
        choices.extend(steps.into_iter().filter(|s| t.status.step(*s).is_ok()).map(TicketStatus::as_str));
    }
    let can_comment = may_write && !t.status.is_closed();
    let pass_request = match t.pass_request_id {
        Some(r) => Some(state.store.pass_request(r).await?),
        None => None,
    };
    let pass_request = pass_request.as_ref().map(|r| crate::api::passes::PassRequestView::of(r, authed));
    // Those who work it may hand it on: to a township or a county
    // department other than where it is now.
    let route_choices: Vec<(i64, String)> = if may_handle && !t.status.is_settled() {
        let units = state.store.org_units().await?;
        let routable = |k: OrgUnitKind| matches!(k, OrgUnitKind::Department | OrgUnitKind::Township);
        units.iter().filter(|u| routable(u.kind) && u.id != t.department_id).map(|u| (u.id.0, u.name.clone())).collect()
    } else {
        Vec::new()
    };
    let ctx = page.with(minijinja::context! {
        pass_request => pass_request,
        route_choices => route_choices,
        subject_href => t.subject_href(),
        tk => t,
        notes => notes,
        overdue => t.resolved_us.is_none() && t.deadline_us < now,
        hours_left => (t.deadline_us - now).div_euclid(3_600_000_000),
        officer => officer,
        escalated_to => escalated_to,
        raised_by => raised_by,
        choices => choices,
        can_comment => can_comment,
        form => form,
    });
    Ok(state.templates.render("ticket.html", ctx)?.into_response())
}

/// A ticket's id in a path; anything else is a page that is not there.
fn ticket_id(raw: &str) -> AppResult<String> {
    RecordId::parse("id", raw.trim()).map(|r| r.to_string()).map_err(|_| AppError::NotFound)
}

/// One ticket: its timeline and the steps the user may take.
pub async fn ticket_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = ticket_id(&id)?;
    let page = Page::new(&state, lang, Some(&authed), &format!("/tickets/{id}"));
    render_ticket(&state, &authed, page, &id, &StepForm::default()).await
}

/// Takes a step on a ticket: accept, start, resolve; confirm with a rating
/// or reopen with a reason; or a comment.
pub async fn step_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    Form(form): Form<StepForm>,
) -> AppResult<Response> {
    let id = ticket_id(&id)?;
    authed.check_csrf(&form.csrf)?;
    let result = async {
        let req = StepIn {
            status: Some(form.status.trim().to_owned()).filter(|s| !s.is_empty()),
            note: form.note.clone(),
            rating: whole("rating", &form.rating)?,
            attachment_id: None,
            route_to: whole("route_to", &form.route_to)?,
        };
        tickets::step(&state, &authed, &id, &req).await
    }
    .await;
    let path = format!("/tickets/{id}");
    match result {
        Ok(_) => Ok(see_other(&path)),
        Err(e) => {
            let (status, fe) = field_refusal(e)?;
            let page = page_with_errors(&state, lang, &authed, &path, &[fe], "tkt-status-");
            let mut res = render_ticket(&state, &authed, page, &id, &form).await?;
            *res.status_mut() = status;
            Ok(res)
        }
    }
}

// ------------------------------------------------------------------ dashboard

/// A township's or sector's resumption as shown.
#[derive(Debug, Serialize)]
struct RateRow {
    key: String,
    enterprises: i64,
    resumed: i64,
    pending: i64,
    employees: i64,
    on_site: i64,
    rate: i64,
    on_site_pct: i64,
}

/// Tickets of a category and department as shown.
#[derive(Debug, Serialize)]
struct TicketCountRow {
    category: TicketCategory,
    department: String,
    total: i64,
    open: i64,
    resolved: i64,
    overdue: i64,
    on_time_pct: Option<i64>,
    mean_hours: Option<String>,
    mean_rating: Option<String>,
}

/// One day's epidemic-supply output, with bars scaled to the largest day.
#[derive(Debug, Serialize)]
struct SupplyRow {
    day: String,
    masks: String,
    disinfectant_kg: String,
    suits: String,
    masks_pct: i64,
    disinfectant_pct: i64,
    suits_pct: i64,
}

/// The resumption dashboard of the user's scope; `resumption.js` draws it
/// again when something it counts changes.
pub async fn dashboard_show(State(state): State<AppState>, lang: Lang, authed: Authed) -> AppResult<Response> {
    let d = api::dashboard_of(&state, &authed).await?;
    let list = state.store.tickets_visible(&api::viewer(&authed), false).await?;
    let now = shouwang_store::now_us();
    let count = |f: &dyn Fn(&Ticket) -> bool| list.iter().filter(|t| f(t)).count();
    let tickets = minijinja::context! {
        total => list.len(),
        open => count(&|t| !t.status.is_settled()),
        resolved => count(&|t| t.status == TicketStatus::Resolved),
        confirmed => count(&|t| t.status == TicketStatus::Confirmed),
        overdue => count(&|t| t.resolved_us.is_none() && t.deadline_us < now),
    };
    let rate_rows = |rows: &[shouwang_store::ResumptionCount]| -> Vec<RateRow> {
        rows.iter()
            .map(|r| RateRow {
                key: r.key.clone(),
                enterprises: r.enterprises,
                resumed: r.resumed,
                pending: r.pending,
                employees: r.employees,
                on_site: r.on_site,
                rate: percent(r.resumed, r.enterprises),
                on_site_pct: percent(r.on_site, r.employees),
            })
            .collect()
    };
    let by_township = rate_rows(&d.by_township);
    let by_sector = rate_rows(&d.by_sector);
    let ticket_counts: Vec<TicketCountRow> = d
        .tickets
        .iter()
        .map(|c| TicketCountRow {
            category: c.category,
            department: c.department_name.clone(),
            total: c.total,
            open: c.open,
            resolved: c.resolved,
            overdue: c.overdue,
            on_time_pct: (c.resolved > 0).then(|| percent(c.on_time, c.resolved)),
            mean_hours: c.mean_hours_to_resolve.map(|h| format!("{h:.1}")),
            mean_rating: c.mean_rating.map(|r| format!("{r:.1}")),
        })
        .collect();
    let today = api::today(&state);
    // Every one of the last 14 days, a day without reports as zeros.
    let max = |f: fn(&shouwang_store::SupplyOutput) -> i64| d.supplies.iter().map(f).max().unwrap_or(0);
    let (max_masks, max_kg, max_suits) = (max(|s| s.masks), max(|s| s.disinfectant_kg), max(|s| s.suits));
    let supplies: Vec<SupplyRow> = (today - 13..=today)
        .map(|day| {
            let s = d.supplies.iter().find(|s| s.day == day);
            let (m, k, u) = s.map_or((0, 0, 0), |s| (s.masks, s.disinfectant_kg, s.suits));
            SupplyRow {
                day: api::format_day(day),
                masks: yuan(m),
                disinfectant_kg: yuan(k),
                suits: yuan(u),
                masks_pct: percent(m, max_masks),
                disinfectant_pct: percent(k, max_kg),
                suits_pct: percent(u, max_suits),
            }
        })
        .collect();
    let has_supplies = d.supplies.iter().any(|s| s.masks + s.disinfectant_kg + s.suits > 0);
    let projects: Vec<ProjectShown> = d.projects.into_iter().map(|v| project_shown(v.project, today)).collect();
    let slipping = projects.iter().filter(|p| p.slip_days > 0).count();
    let unit = state.store.org_unit(authed.principal.org_unit).await?;
    let page = Page::new(&state, lang, Some(&authed), "/resumption");
    let ctx = page.with(minijinja::context! {
        unit_name => unit.name,
        enterprises => d.enterprises,
        resumed => d.resumed,
        rate => percent(d.resumed, d.enterprises),
        employees => d.employees,
        on_site => d.on_site,
        on_site_pct => percent(d.on_site, d.employees),
        by_township => by_township,
        by_sector => by_sector,
        tickets => tickets,
        ticket_counts => ticket_counts,
        projects => projects,
        projects_slipping => slipping,
        supplies => supplies,
        has_supplies => has_supplies,
        missing_reports => d.missing_reports,
        as_of_us => now,
    });
    Ok(state.templates.render("resumption.html", ctx)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_typed_on_a_phone_read() {
        assert_eq!(whole("n", " 1,200 "), Ok(Some(1200)));
        assert_eq!(whole("n", "１２"), Ok(Some(12)));
        assert_eq!(whole("n", "  "), Ok(None));
        assert_eq!(whole("n", "12.5").unwrap_err().code, "whole_number");
        assert_eq!(head_count("n", ""), Ok(0));
        assert_eq!(head_count("n", "-3").unwrap_err().code, "out_of_range");
    }

    #[test]
    fn money_has_thousands_separators() {
        assert_eq!(yuan(0), "0");
        assert_eq!(yuan(999), "999");
        assert_eq!(yuan(1_000), "1,000");
        assert_eq!(yuan(1_234_567), "1,234,567");
        assert_eq!(yuan(-12_345), "-12,345");
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(5, 0), 0);
    }

    #[test]
    fn an_origin_fault_names_the_row_it_was_typed_in() {
        let form = ApplyForm {
            origin_1: String::new(),
            origin_2: "湖北省".into(),
            count_2: "3".into(),
            origin_3: "x".repeat(41),
            count_3: "2".into(),
            returning: "5".into(),
            ..ApplyForm::default()
        };
        let errors = form.input(100).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"workforce.returning_origins[2].origin"), "{fields:?}");
        assert!(fields.contains(&"plan.mask_stock_days"), "{fields:?}");
        let blank_count = ApplyForm { origin_1: "河南".into(), ..ApplyForm::default() }.input(10).unwrap_err();
        assert!(blank_count.iter().any(|e| e.field == "workforce.returning_origins[0].count" && e.code == "required"));
    }
}
