//! Labour export in pages: the labour pool and the demand (`/labour`, with
//! the forms that add a worker and post positions), one demand with its
//! ranked suggestions and placements (`/labour/demand/{id}`), the
//! transport batches (`/transport`, with the form that plans one from
//! confirmed placements) and one batch (`/transport/{id}`: each passenger's
//! check, departure, arrival).
//!
//! Every form works without JavaScript and goes through the API's own
//! functions (`crate::api::labour`), so a page refuses what the API refuses;
//! the message stands beside its field (`data-error-for="<field>"`) and
//! what was typed is kept. Checkbox lists (skills, destinations,
//! passengers) arrive as repeated keys, which is why the forms are read as
//! raw pairs rather than through `axum::Form`.

use axum::extract::{Path, RawForm, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shouwang_domain::labour::{DemandDraft, HealthStatus, PlacementState, Region, Skill, WorkerDraft};
use shouwang_domain::policy::Action;
use shouwang_domain::screening::NumberOrText;
use shouwang_domain::{FieldError, OrgUnitKind};

use super::{Page, field_refusal, see_other, whole};
use crate::api::enterprises::{format_day, today, viewer};
use crate::api::labour::{self as api, BatchIn, CheckIn, PassengersIn, PlacementIn, PlacementQuery};
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::i18n::Lang;
use crate::state::AppState;

// ------------------------------------------------------------------ forms

/// A submitted form as its pairs, repeated keys kept.
struct Pairs(Vec<(String, String)>);

impl Pairs {
    fn of(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
    }

    /// The first value of `key`, or blank.
    fn one(&self, key: &str) -> String {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    /// Every value of `key`, blanks left out.
    fn all(&self, key: &str) -> Vec<String> {
        self.0.iter().filter(|(k, v)| k == key && !v.trim().is_empty()).map(|(_, v)| v.clone()).collect()
    }

    /// Whether a checkbox `key` was ticked.
    fn ticked(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }
}

/// Ids ticked in a checkbox list, named `field[i]` when one is not a number.
fn ids(field: &str, raw: &[String]) -> Result<Vec<i64>, FieldError> {
    raw.iter()
        .enumerate()
        .map(|(i, s)| s.trim().parse().map_err(|_| FieldError::new(format!("{field}[{i}]"), "whole_number")))
        .collect()
}

/// A path's id; anything else is a page that is not there.
fn path_id(raw: &str) -> AppResult<i64> {
    raw.trim().parse().map_err(|_| AppError::NotFound)
}

/// The worker form as typed.
#[derive(Debug, Default, Serialize)]
struct WorkerForm {
    name: String,
    phone: String,
    village_id: String,
    household_id: String,
    age: String,
    skills: Vec<String>,
    health: String,
    last_check: String,
    available_from: String,
    destinations: Vec<String>,
    note: String,
}

impl WorkerForm {
    fn of(p: &Pairs) -> Self {
        Self {
            name: p.one("name"),
            phone: p.one("phone"),
            village_id: p.one("village_id"),
            household_id: p.one("household_id"),
            age: p.one("age"),
            skills: p.all("skills"),
            health: p.one("health"),
            last_check: p.one("last_check"),
            available_from: p.one("available_from"),
            destinations: p.all("destinations"),
            note: p.one("note"),
        }
    }

    fn blank(today: &str) -> Self {
        Self {
            health: "healthy".into(),
            last_check: today.to_owned(),
            available_from: today.to_owned(),
            ..Self::default()
        }
    }

    fn draft(&self) -> Result<WorkerDraft, FieldError> {
        Ok(WorkerDraft {
            name: self.name.clone(),
            phone: self.phone.clone(),
            village_id: whole("village_id", &self.village_id)?,
            household_id: whole("household_id", &self.household_id)?,
            age: whole("age", &self.age)?,
            skills: self.skills.clone(),
            health: self.health.clone(),
            last_check: self.last_check.clone(),
            available_from: self.available_from.clone(),
            destinations: self.destinations.clone(),
            note: self.note.clone(),
        })
    }
}

/// The demand form as typed.
#[derive(Debug, Default, Serialize)]
struct DemandForm {
    enterprise_id: String,
    employer: String,
    location: String,
    region: String,
    positions: String,
    skills: Vec<String>,
    pay_yuan_month: String,
    start: String,
    end: String,
    accommodation: bool,
    note: String,
}

impl DemandForm {
    fn of(p: &Pairs) -> Self {
        Self {
            enterprise_id: p.one("enterprise_id"),
            employer: p.one("employer"),
            location: p.one("location"),
            region: p.one("region"),
            positions: p.one("positions"),
            skills: p.all("skills"),
            pay_yuan_month: p.one("pay_yuan_month"),
            start: p.one("start"),
            end: p.one("end"),
            accommodation: p.ticked("accommodation"),
            note: p.one("note"),
        }
    }

    fn blank(today: &str) -> Self {
        Self { region: "province".into(), start: today.to_owned(), accommodation: true, ..Self::default() }
    }

    fn draft(&self) -> Result<DemandDraft, FieldError> {
        Ok(DemandDraft {
            enterprise_id: whole("enterprise_id", &self.enterprise_id)?,
            employer: self.employer.clone(),
            location: self.location.clone(),
            region: self.region.clone(),
            positions: whole("positions", &self.positions)?,
            skills: self.skills.clone(),
            pay_yuan_month: whole("pay_yuan_month", &self.pay_yuan_month)?,
            start: self.start.clone(),
            end: self.end.clone(),
            accommodation: self.accommodation,
            note: self.note.clone(),
        })
    }
}

/// The batch form as typed.
#[derive(Debug, Default, Serialize)]
struct BatchForm {
    day: String,
    origin: String,
    destination: String,
    plate: String,
    seats: String,
    passengers: Vec<String>,
}

impl BatchForm {
    fn of(p: &Pairs) -> Self {
        Self {
            day: p.one("day"),
            origin: p.one("origin"),
            destination: p.one("destination"),
            plate: p.one("plate"),
            seats: p.one("seats"),
            passengers: p.all("passengers"),
        }
    }

    fn input(&self) -> Result<BatchIn, FieldError> {
        Ok(BatchIn {
            org_unit_id: None,
            day: self.day.clone(),
            origin: self.origin.clone(),
            destination: self.destination.clone(),
            plate: self.plate.clone(),
            seats: whole("seats", &self.seats)?,
            passengers: ids("passengers", &self.passengers)?,
        })
    }
}

/// A refused form: the page again, its message beside the field (keyed
/// `<form>.<field>`, indices dropped: `skills[1]` is shown at `skills`),
/// under the refusal's status. Errors without a field go to the error page.
fn refused(
    state: &AppState,
    lang: Lang,
    authed: &Authed,
    path: &str,
    form: &str,
    e: AppError,
) -> AppResult<(StatusCode, Page)> {
    let (status, mut fe) = field_refusal(e)?;
    let base = fe.field.split('[').next().unwrap_or(&fe.field).to_owned();
    fe.field = format!("{form}.{base}");
    let mut page = Page::new(state, lang, Some(authed), path);
    page.error(&state.i18n, lang, &fe);
    Ok((status, page))
}

fn with(status: StatusCode, res: AppResult<Response>) -> AppResult<Response> {
    let mut res = res?;
    *res.status_mut() = status;
    Ok(res)
}

fn html(state: &AppState, name: &str, ctx: minijinja::Value) -> AppResult<Response> {
    Ok(state.templates.render(name, ctx)?.into_response())
}

fn names<T: Copy>(all: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| name(*v)).collect()
}

// ------------------------------------------------------------------ /labour

#[derive(Serialize)]
struct Choice {
    id: i64,
    name: String,
}

async fn render_labour(
    state: &AppState,
    authed: &Authed,
    page: Page,
    worker_form: Option<WorkerForm>,
    demand_form: Option<DemandForm>,
) -> AppResult<Response> {
    let workers = api::workers_of(state, authed).await?;
    let demands = api::demands(state, authed, false).await?;
    let scope = &authed.principal.scope;
    let villages: Vec<Choice> = state
        .store
        .org_units()
        .await?
        .into_iter()
        .filter(|u| u.kind == OrgUnitKind::Village && authed.may(Action::ManageLabour, &u.path).is_ok())
        .map(|u| Choice { id: u.id.0, name: u.name })
        .collect();
    let enterprises: Vec<Choice> = state
        .store
        .enterprises_visible(&viewer(authed))
        .await?
        .into_iter()
        .filter(|e| authed.may(Action::ManageLabour, &e.scope).is_ok())
        .map(|e| Choice { id: e.id.0, name: e.name })
        .collect();
    let can_add_worker = authed.may_here(Action::ManageLabour).is_ok() && !villages.is_empty();
    let day = format_day(today(state));
    let by_region = state.store.placements_by_region(scope).await?;
    let ctx = page.with(minijinja::context! {
        workers,
        demands,
        villages,
        enterprises,
        skills => names(Skill::ALL, Skill::as_str),
        regions => names(Region::ALL, Region::as_str),
        healths => names(HealthStatus::ALL, HealthStatus::as_str),
        by_region => by_region.iter().map(|(r, n)| (r.as_str(), *n)).collect::<Vec<_>>(),
        can_add_worker,
        can_post => authed.may_here(Action::ManageLabour).is_ok(),
        worker_form => worker_form.unwrap_or_else(|| WorkerForm::blank(&day)),
        demand_form => demand_form.unwrap_or_else(|| DemandForm::blank(&day)),
    });
    html(state, "labour.html", ctx)
}

/// The labour pool and the demand, with the forms the user's rights allow.
pub async fn labour_show(State(state): State<AppState>, lang: Lang, authed: Authed) -> AppResult<Response> {
    authed.may_here(Action::ReadRural)?;
    let page = Page::new(&state, lang, Some(&authed), "/labour");
    render_labour(&state, &authed, page, None, None).await
}

/// Adds a worker from the form.
pub async fn worker_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let pairs = Pairs::of(&body);
    authed.check_csrf(&pairs.one("_csrf"))?;
    let form = WorkerForm::of(&pairs);
    let result = async { api::add_worker(&state, &authed, &form.draft()?).await }.await;
    match result {
        Ok(_) => Ok(see_other("/labour#workers")),
        Err(e) => {
            let (status, page) = refused(&state, lang, &authed, "/labour", "worker", e)?;
            with(status, render_labour(&state, &authed, page, Some(form), None).await)
        }
    }
}

/// Posts positions from the form, then opens the demand's page.
pub async fn demand_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let pairs = Pairs::of(&body);
    authed.check_csrf(&pairs.one("_csrf"))?;
    let form = DemandForm::of(&pairs);
    let result = async { api::post_demand(&state, &authed, &form.draft()?).await }.await;
    match result {
        Ok(d) => Ok(see_other(&format!("/labour/demand/{}", d.demand.id))),
        Err(e) => {
            let (status, page) = refused(&state, lang, &authed, "/labour", "demand", e)?;
            with(status, render_labour(&state, &authed, page, None, Some(form)).await)
        }
    }
}

// ------------------------------------------------------------------ /labour/demand/{id}

async fn render_demand(state: &AppState, authed: &Authed, page: Page, id: i64) -> AppResult<Response> {
    let detail = api::demand_detail_of(state, authed, id).await?;
    let (_, suggestions) = api::suggest(state, authed, id).await?;
    let ctx = page.with(minijinja::context! {
        detail,
        suggestions,
        can_place => authed.may_here(Action::PlaceWorkers).is_ok(),
    });
    html(state, "labour_demand.html", ctx)
}

/// One demand: its details, the user's workers ranked for it (each with a
/// button that confirms the placement) and its placements.
pub async fn demand_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = path_id(&id)?;
    let page = Page::new(&state, lang, Some(&authed), &format!("/labour/demand/{id}"));
    render_demand(&state, &authed, page, id).await
}

/// Confirms a placement from a suggestion's button.
pub async fn place_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let id = path_id(&id)?;
    let pairs = Pairs::of(&body);
    authed.check_csrf(&pairs.one("_csrf"))?;
    let path = format!("/labour/demand/{id}");
    let result = async {
        let worker_id =
            whole("worker_id", &pairs.one("worker_id"))?.ok_or_else(|| FieldError::new("worker_id", "required"))?;
        api::place(&state, &authed, &PlacementIn { worker_id, demand_id: id }).await
    }
    .await;
    match result {
        Ok(_) => Ok(see_other(&format!("{path}#placements"))),
        Err(e) => {
            let (status, page) = refused(&state, lang, &authed, &path, "place", e)?;
            with(status, render_demand(&state, &authed, page, id).await)
        }
    }
}

/// Calls off a placement, then goes back to its demand.
pub async fn cancel_submit(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let id = path_id(&id)?;
    let pairs = Pairs::of(&body);
    authed.check_csrf(&pairs.one("_csrf"))?;
    let p = api::cancel_placement(&state, &authed, id).await?;
    Ok(see_other(&format!("/labour/demand/{}#placements", p.demand_id)))
}

// ------------------------------------------------------------------ /transport

/// Confirmed placements within the user's scope on no batch yet.
async fn placeable(state: &AppState, authed: &Authed) -> AppResult<Vec<api::PlacementView>> {
    let q = PlacementQuery { demand_id: None, state: Some(PlacementState::Confirmed.as_str().to_owned()) };
    Ok(api::placements_of(state, authed, &q).await?.into_iter().filter(|p| p.batch_id.is_none()).collect())
}

async fn render_transport(
    state: &AppState,
    authed: &Authed,
    page: Page,
    form: Option<BatchForm>,
) -> AppResult<Response> {
    let batches = api::batches_of(state, authed).await?;
    let can_plan = authed.may_here(Action::PlaceWorkers).is_ok();
    let placeable = if can_plan { placeable(state, authed).await? } else { Vec::new() };
    let organiser = state.store.org_unit(authed.principal.org_unit).await?;
    let organises = matches!(organiser.kind, OrgUnitKind::Township | OrgUnitKind::County | OrgUnitKind::City);
    let form = form.unwrap_or_else(|| BatchForm {
        day: format_day(today(state)),
        origin: organiser.name.clone(),
        ..BatchForm::default()
    });
    let ctx = page.with(minijinja::context! {
        batches,
        placeable,
        organiser => organiser.name,
        can_plan => can_plan && organises,
        batch_form => form,
    });
    html(state, "transport.html", ctx)
}

/// The transport batches and the form that plans one.
pub async fn transport_show(State(state): State<AppState>, lang: Lang, authed: Authed) -> AppResult<Response> {
    authed.may_here(Action::ReadRural)?;
    let page = Page::new(&state, lang, Some(&authed), "/transport");
    render_transport(&state, &authed, page, None).await
}

/// Plans a batch from the form, then opens it.
pub async fn batch_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    let pairs = Pairs::of(&body);
    authed.check_csrf(&pairs.one("_csrf"))?;
    let form = BatchForm::of(&pairs);
    let result = async { api::plan_batch(&state, &authed, &form.input()?).await }.await;
    match result {
        Ok(b) => Ok(see_other(&format!("/transport/{}", b.id))),
        Err(e) => {
            let (status, page) = refused(&state, lang, &authed, "/transport", "batch", e)?;
            with(status, render_transport(&state, &authed, page, Some(form)).await)
        }
    }
}

// ------------------------------------------------------------------ /transport/{id}

async fn render_batch(state: &AppState, authed: &Authed, page: Page, id: i64) -> AppResult<Response> {
    let b = api::visible_batch(state, authed, id).await?;
    let can_check = authed.may(Action::ManageLabour, &b.scope).is_ok();
    let can_depart = authed.may(Action::PlaceWorkers, &b.scope).is_ok();
    let can_arrive =
        can_check || b.passengers.iter().any(|p| authed.may(Action::ManageLabour, &p.demand_scope).is_ok());
    let placeable = if can_depart { placeable(state, authed).await? } else { Vec::new() };
    let batch = api::BatchView::of(&b, authed.principal.rights.has(shouwang_domain::policy::Right::SeePersonal));
    let ctx = page.with(minijinja::context! { batch, placeable, can_check, can_depart, can_arrive });
    html(state, "transport_batch.html", ctx)
}

/// One batch: its passengers and their checks, and the buttons that send
/// it off and confirm its arrival.
pub async fn batch_show(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = path_id(&id)?;
    let page = Page::new(&state, lang, Some(&authed), &format!("/transport/{id}"));
    render_batch(&state, &authed, page, id).await
}

/// What a batch's form does.
enum BatchStep {
    Check,
    Passengers,
    Depart,
    Arrive,
}

async fn batch_step(
    state: AppState,
    lang: Lang,
    authed: Authed,
    id: String,
    body: &[u8],
    step: BatchStep,
) -> AppResult<Response> {
    let id = path_id(&id)?;
    let pairs = Pairs::of(body);
    authed.check_csrf(&pairs.one("_csrf"))?;
    let path = format!("/transport/{id}");
    let result = async {
        match step {
            BatchStep::Check => {
                let placement_id = whole("placement_id", &pairs.one("placement_id"))?
                    .ok_or_else(|| FieldError::new("placement_id", "required"))?;
                let req = CheckIn { placement_id, temperature: NumberOrText::Text(pairs.one("temperature")) };
                api::check_passenger(&state, &authed, id, &req).await
            }
            BatchStep::Passengers => {
                let req = PassengersIn { passengers: ids("passengers", &pairs.all("passengers"))? };
                api::add_passengers(&state, &authed, id, &req).await
            }
            BatchStep::Depart => api::depart_batch(&state, &authed, id).await,
            BatchStep::Arrive => api::arrive_batch(&state, &authed, id).await,
        }
    }
    .await;
    match result {
        Ok(_) => Ok(see_other(&path)),
        Err(e) => {
            let (status, page) = refused(&state, lang, &authed, &path, "batch", e)?;
            with(status, render_batch(&state, &authed, page, id).await)
        }
    }
}

/// Records a passenger's check from the form.
pub async fn check_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    batch_step(state, lang, authed, id, &body, BatchStep::Check).await
}

/// Adds passengers from the form.
pub async fn passengers_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    batch_step(state, lang, authed, id, &body, BatchStep::Passengers).await
}

/// Sends the batch off.
pub async fn depart_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    batch_step(state, lang, authed, id, &body, BatchStep::Depart).await
}

/// Confirms the batch's arrival.
pub async fn arrive_submit(
    State(state): State<AppState>,
    lang: Lang,
    authed: Authed,
    Path(id): Path<String>,
    RawForm(body): RawForm,
) -> AppResult<Response> {
    batch_step(state, lang, authed, id, &body, BatchStep::Arrive).await
}
