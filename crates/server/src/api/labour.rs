//! `/api/v1/workers`, `/api/v1/labour-demand`, `/api/v1/placements` and
//! `/api/v1/transport-batches`: labour export (劳务输出) from the labour pool
//! to organised point-to-point transport (点对点).
//!
//! Who may do what (the policy's actions):
//! - `read_rural` reads: workers, placements and batches within the
//!   caller's scope; demand everywhere (openings are public county-wide);
//! - `manage_labour` enters workers (in a village within scope) and demand
//!   (for an enterprise within scope, or an outside employer), checks
//!   passengers before departure, and confirms arrival as the receiving
//!   side (the scope of a passenger's demand, or of the batch);
//! - `place_workers` (the township) confirms and cancels placements, plans
//!   batches, adds passengers and sends a batch off.
//!
//! A role without the right gets 403; an id outside the caller's scope is
//! 404, like one that does not exist. Names and phones are masked unless
//! the caller may see personal data.
//!
//! The functions without axum extractors (`add_worker`, `place`, …) are
//! what the pages call too, so a form and the API refuse the same input the
//! same way.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shouwang_domain::labour::{
    CHECK_FRESH_DAYS, Candidate, DemandDraft, HealthStatus, Opening, Region, Skill, WorkerDraft, parse_day, rank,
};
use shouwang_domain::policy::{Action, Right};
use shouwang_domain::screening::{BodyTemperature, NumberOrText, PlateNumber};
use shouwang_domain::{BatchId, BoundedText, DemandId, FieldError, OrgUnitId, PlacementId, WorkerId};
use shouwang_store::writer::Command;
use shouwang_store::{Batch, Demand, NewBatch, Placement, StoreError, Worker};
use utoipa::ToSchema;

use super::enterprises::{format_day, today};
use super::json::{ApiJson, ApiQuery};
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Whether the caller sees names and phones whole.
fn unmasked(authed: &Authed) -> bool {
    authed.principal.rights.has(Right::SeePersonal)
}

fn first(mut errors: Vec<FieldError>) -> AppError {
    AppError::Field(errors.remove(0))
}

/// A state that does not allow the request: 409 with the field and why.
fn refused_by_state(e: StoreError) -> AppError {
    match e {
        StoreError::Invalid(f)
            if matches!(f.code, "invalid_transition" | "not_planned" | "not_departed" | "unchecked") =>
        {
            AppError::Refused(f)
        }
        other => other.into(),
    }
}

/// A worker as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerView {
    /// Id.
    #[schema(value_type = i64)]
    pub id: WorkerId,
    /// Their village.
    #[schema(value_type = i64)]
    pub village_id: OrgUnitId,
    /// Its name.
    pub village: String,
    /// Their registered household.
    pub household_id: Option<i64>,
    /// Name (masked to the surname unless the caller may see personal data).
    pub name: String,
    /// Mobile number (masked likewise), if any.
    pub phone: Option<String>,
    /// Age.
    pub age: i64,
    /// Skills.
    #[schema(value_type = Vec<String>)]
    pub skills: Vec<Skill>,
    /// `healthy`, `observation` or `unwell`.
    #[schema(value_type = String)]
    pub health: HealthStatus,
    /// Last health check, `YYYY-MM-DD`.
    pub last_check: String,
    /// Whether that check is more than 14 days old.
    pub check_stale: bool,
    /// Available from, `YYYY-MM-DD`.
    pub available_from: String,
    /// Where they would go: `county`, `province`, `outside`.
    #[schema(value_type = Vec<String>)]
    pub destinations: Vec<Region>,
    /// Note.
    pub note: String,
    /// Whether name and phone are masked.
    pub masked: bool,
}

impl WorkerView {
    /// The view of `w` on `today`, masked unless `unmasked`.
    pub fn of(w: &Worker, unmasked: bool, today: i64) -> Self {
        Self {
            id: w.id,
            village_id: w.village_id,
            village: w.village_name.clone(),
            household_id: w.household_id.map(|h| h.0),
            name: if unmasked { w.name.expose().to_owned() } else { w.name.masked() },
            phone: w.phone.as_ref().map(|p| if unmasked { p.expose().to_owned() } else { p.masked() }),
            age: w.age,
            skills: w.skills.clone(),
            health: w.health,
            last_check: format_day(w.last_check_day),
            check_stale: today - w.last_check_day > CHECK_FRESH_DAYS,
            available_from: format_day(w.available_day),
            destinations: w.destinations.clone(),
            note: w.note.clone(),
            masked: !unmasked,
        }
    }
}

/// A demand as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DemandView {
    /// The demand.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub demand: Demand,
    /// First day, `YYYY-MM-DD`.
    pub start: String,
    /// Last day, `YYYY-MM-DD`, if any.
    pub end: Option<String>,
    /// Positions still open.
    pub open: i64,
}

impl DemandView {
    /// The view of `d`.
    pub fn of(d: Demand) -> Self {
        Self { start: format_day(d.start_day), end: d.end_day.map(format_day), open: d.positions - d.filled, demand: d }
    }
}

/// A placement as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlacementView {
    /// Id.
    #[schema(value_type = i64)]
    pub id: PlacementId,
    /// Who.
    #[schema(value_type = i64)]
    pub worker_id: WorkerId,
    /// Their name (masked unless the caller may see personal data).
    pub worker_name: String,
    /// Their village.
    pub village: String,
    /// In which demand.
    #[schema(value_type = i64)]
    pub demand_id: DemandId,
    /// The employer.
    pub employer: String,
    /// Where the work is.
    pub location: String,
    /// `county`, `province` or `outside`.
    #[schema(value_type = String)]
    pub region: Region,
    /// First day, `YYYY-MM-DD`.
    pub start: String,
    /// Last day, if any.
    pub end: Option<String>,
    /// `confirmed`, `departed`, `arrived` or `cancelled`.
    pub state: String,
    /// The batch taking them, if any.
    #[schema(value_type = Option<i64>)]
    pub batch_id: Option<BatchId>,
    /// When the township confirmed it.
    pub confirmed_us: i64,
}

impl PlacementView {
    /// The view of `p`, the name masked unless `unmasked`.
    pub fn of(p: &Placement, unmasked: bool) -> Self {
        Self {
            id: p.id,
            worker_id: p.worker_id,
            worker_name: if unmasked { p.worker_name.expose().to_owned() } else { p.worker_name.masked() },
            village: p.village_name.clone(),
            demand_id: p.demand_id,
            employer: p.employer.clone(),
            location: p.location.clone(),
            region: p.region,
            start: format_day(p.start_day),
            end: p.end_day.map(format_day),
            state: p.state.as_str().to_owned(),
            batch_id: p.batch_id,
            confirmed_us: p.confirmed_us,
        }
    }
}

/// A passenger as the API shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct PassengerView {
    /// Their placement.
    #[schema(value_type = i64)]
    pub placement_id: PlacementId,
    /// Who.
    #[schema(value_type = i64)]
    pub worker_id: WorkerId,
    /// Their name (masked unless the caller may see personal data).
    pub worker_name: String,
    /// Their demand.
    #[schema(value_type = i64)]
    pub demand_id: DemandId,
    /// The employer.
    pub employer: String,
    /// When checked; none: not yet.
    pub checked_us: Option<i64>,
    /// The temperature taken, °C.
    pub temperature: Option<f64>,
    /// Whether they passed (below 37.3 °C).
    pub passed: Option<bool>,
}

/// A batch as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchView {
    /// Id.
    #[schema(value_type = i64)]
    pub id: BatchId,
    /// The organising township (or county).
    #[schema(value_type = i64)]
    pub org_unit_id: OrgUnitId,
    /// Its name.
    pub org_unit: String,
    /// Departure day, `YYYY-MM-DD`.
    pub day: String,
    /// From.
    pub origin: String,
    /// To.
    pub destination: String,
    /// The vehicle's plate.
    pub plate: String,
    /// Seats.
    pub seats: i64,
    /// `planned`, `departed` or `arrived`.
    pub state: String,
    /// When planned.
    pub planned_us: i64,
    /// When it left.
    pub departed_us: Option<i64>,
    /// When arrival was confirmed.
    pub arrived_us: Option<i64>,
    /// Passengers in order.
    pub passengers: Vec<PassengerView>,
    /// Whether every passenger is checked and passed (it may depart).
    pub ready: bool,
}

impl BatchView {
    /// The view of `b`, names masked unless `unmasked`.
    pub fn of(b: &Batch, unmasked: bool) -> Self {
        let passengers: Vec<PassengerView> = b
            .passengers
            .iter()
            .map(|p| PassengerView {
                placement_id: p.placement_id,
                worker_id: p.worker_id,
                worker_name: if unmasked { p.worker_name.expose().to_owned() } else { p.worker_name.masked() },
                demand_id: p.demand_id,
                employer: p.employer.clone(),
                checked_us: p.checked_us,
                temperature: p.temperature_tenths.map(|t| t as f64 / 10.0),
                passed: p.passed,
            })
            .collect();
        Self {
            id: b.id,
            org_unit_id: b.org_unit_id,
            org_unit: b.org_unit_name.clone(),
            day: format_day(b.day),
            origin: b.origin.clone(),
            destination: b.destination.clone(),
            plate: b.plate.clone(),
            seats: b.seats,
            state: b.state.as_str().to_owned(),
            planned_us: b.planned_us,
            departed_us: b.departed_us,
            arrived_us: b.arrived_us,
            ready: !passengers.is_empty() && passengers.iter().all(|p| p.passed == Some(true)),
            passengers,
        }
    }
}

// ------------------------------------------------------------------ workers

/// Reads worker `id` if it lies within the caller's scope (404 otherwise).
pub async fn visible_worker(state: &AppState, authed: &Authed, id: i64) -> AppResult<Worker> {
    authed.may_here(Action::ReadRural)?;
    let w = state.store.worker(WorkerId(id)).await?;
    if !authed.principal.scope.contains(&w.scope) {
        return Err(AppError::NotFound);
    }
    Ok(w)
}

/// The workers within the caller's scope.
pub async fn workers_of(state: &AppState, authed: &Authed) -> AppResult<Vec<WorkerView>> {
    authed.may_here(Action::ReadRural)?;
    let day = today(state);
    let all = state.store.workers_within(&authed.principal.scope).await?;
    Ok(all.iter().map(|w| WorkerView::of(w, unmasked(authed), day)).collect())
}

/// Adds a worker to the pool: a village within the caller's scope.
pub async fn add_worker(state: &AppState, authed: &Authed, draft: &WorkerDraft) -> AppResult<WorkerView> {
    authed.may_here(Action::ManageLabour)?;
    let fields = draft.parse(today(state)).map_err(first)?;
    let unit = match state.store.org_unit(fields.village).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Err(FieldError::new("village_id", "not_found").into()),
        Err(e) => return Err(e.into()),
    };
    if authed.may(Action::ManageLabour, &unit.path).is_err() {
        return Err(FieldError::new("village_id", "out_of_scope").into());
    }
    let w = state.writer.submit(authed.actor(), Command::CreateWorker(fields)).await?.outcome.into_worker()?;
    Ok(WorkerView::of(&w, unmasked(authed), today(state)))
}

/// Add a worker to the labour pool (village, age 16–65, at least one skill
/// and destination, health and the date of the last check).
#[utoipa::path(post, path = "/api/v1/workers", tag = "labour", request_body = Object,
    responses((status = 201, body = WorkerView), (status = 403), (status = 422)))]
pub async fn create_worker(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(draft): ApiJson<WorkerDraft>,
) -> AppResult<(StatusCode, Json<WorkerView>)> {
    Ok((StatusCode::CREATED, Json(add_worker(&state, &authed, &draft).await?)))
}

/// The workers in the caller's scope, by village and name.
#[utoipa::path(get, path = "/api/v1/workers", tag = "labour", responses((status = 200, body = Vec<WorkerView>)))]
pub async fn list_workers(State(state): State<AppState>, authed: Authed) -> AppResult<Json<Vec<WorkerView>>> {
    Ok(Json(workers_of(&state, &authed).await?))
}

/// One worker and their placements.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerDetail {
    /// The worker.
    pub worker: WorkerView,
    /// Their placements, newest first.
    pub placements: Vec<PlacementView>,
}

/// One worker.
#[utoipa::path(get, path = "/api/v1/workers/{id}", tag = "labour", params(("id" = i64, Path)),
    responses((status = 200, body = WorkerDetail), (status = 404)))]
pub async fn worker_detail(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
) -> AppResult<Json<WorkerDetail>> {
    let w = visible_worker(&state, &authed, id).await?;
    let placements = state.store.placements_within(&w.scope).await?;
    let placements = placements.iter().filter(|p| p.worker_id == w.id).map(|p| PlacementView::of(p, unmasked(&authed)));
    Ok(Json(WorkerDetail {
        worker: WorkerView::of(&w, unmasked(&authed), today(&state)),
        placements: placements.collect(),
    }))
}

/// A stored worker as a draft, for a change that names only some fields.
fn worker_draft(w: &Worker) -> WorkerDraft {
    WorkerDraft {
        name: w.name.expose().to_owned(),
        phone: w.phone.as_ref().map(|p| p.expose().to_owned()).unwrap_or_default(),
        village_id: Some(w.village_id.0),
        household_id: w.household_id.map(|h| h.0),
        age: Some(w.age),
        skills: w.skills.iter().map(|s| s.as_str().to_owned()).collect(),
        health: w.health.as_str().to_owned(),
        last_check: format_day(w.last_check_day),
        available_from: format_day(w.available_day),
        destinations: w.destinations.iter().map(|r| r.as_str().to_owned()).collect(),
        note: w.note.clone(),
    }
}

/// `base` with the fields `change` names replaced; unknown fields are
/// refused by name.
fn merged<T: Serialize + serde::de::DeserializeOwned>(base: &T, change: serde_json::Value) -> AppResult<T> {
    let mut value = serde_json::to_value(base).map_err(|e| AppError::Internal(e.into()))?;
    let (Some(target), serde_json::Value::Object(change)) = (value.as_object_mut(), change) else {
        return Err(AppError::Malformed("expected a JSON object".into()));
    };
    target.extend(change);
    super::json::parse(&serde_json::to_vec(&value).map_err(|e| AppError::Internal(e.into()))?)
}

/// Changes a worker's details (the fields `change` names).
pub async fn change_worker(
    state: &AppState,
    authed: &Authed,
    id: i64,
    change: serde_json::Value,
) -> AppResult<WorkerView> {
    let w = visible_worker(state, authed, id).await?;
    authed.may(Action::ManageLabour, &w.scope)?;
    let draft: WorkerDraft = merged(&worker_draft(&w), change)?;
    let fields = draft.parse(today(state)).map_err(first)?;
    let command = Command::UpdateWorker { id: w.id, fields };
    let w = state.writer.submit(authed.actor(), command).await?.outcome.into_worker()?;
    Ok(WorkerView::of(&w, unmasked(authed), today(state)))
}

/// Change a worker's details: only the fields sent change (not the village).
#[utoipa::path(patch, path = "/api/v1/workers/{id}", tag = "labour", params(("id" = i64, Path)),
    request_body = Object, responses((status = 200, body = WorkerView), (status = 404), (status = 422)))]
pub async fn update_worker(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(change): ApiJson<serde_json::Value>,
) -> AppResult<Json<WorkerView>> {
    Ok(Json(change_worker(&state, &authed, id, change).await?))
}

// ------------------------------------------------------------------ demand

/// Which demand to list.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandQuery {
    /// Only those with open positions that started at most 30 days ago.
    pub open: Option<bool>,
}

/// Every demand (openings are public county-wide).
pub async fn demands(state: &AppState, authed: &Authed, open_only: bool) -> AppResult<Vec<DemandView>> {
    authed.may_here(Action::ReadRural)?;
    Ok(state.store.demands(today(state), open_only).await?.into_iter().map(DemandView::of).collect())
}

/// Posts positions: a local enterprise's (within the caller's scope) or an
/// outside employer's (in the caller's scope).
pub async fn post_demand(state: &AppState, authed: &Authed, draft: &DemandDraft) -> AppResult<DemandView> {
    authed.may_here(Action::ManageLabour)?;
    let fields = draft.parse().map_err(first)?;
    if let Some(e) = fields.enterprise {
        let e = match state.store.enterprise(e).await {
            Ok(e) => e,
            Err(StoreError::NotFound) => return Err(FieldError::new("enterprise_id", "not_found").into()),
            Err(other) => return Err(other.into()),
        };
        if authed.may(Action::ManageLabour, &e.scope).is_err() {
            return Err(FieldError::new("enterprise_id", "out_of_scope").into());
        }
    }
    let command = Command::PostDemand { fields, scope: authed.principal.scope.clone() };
    Ok(DemandView::of(state.writer.submit(authed.actor(), command).await?.outcome.into_demand()?))
}

/// Post positions: an `enterprise_id` (a local enterprise) or an `employer`
/// (outside), location, region, positions 1–500, skills (none: anyone), pay
/// per month, start and end (not before the start), accommodation.
#[utoipa::path(post, path = "/api/v1/labour-demand", tag = "labour", request_body = Object,
    responses((status = 201, body = DemandView), (status = 403), (status = 422)))]
pub async fn create_demand(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(draft): ApiJson<DemandDraft>,
) -> AppResult<(StatusCode, Json<DemandView>)> {
    Ok((StatusCode::CREATED, Json(post_demand(&state, &authed, &draft).await?)))
}

/// Every demand, the soonest start first; `open=true`: only those still
/// taking workers.
#[utoipa::path(get, path = "/api/v1/labour-demand", tag = "labour", params(("open" = Option<bool>, Query)),
    responses((status = 200, body = Vec<DemandView>)))]
pub async fn list_demand(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<DemandQuery>,
) -> AppResult<Json<Vec<DemandView>>> {
    Ok(Json(demands(&state, &authed, q.open.unwrap_or(false)).await?))
}

/// Reads demand `id` (any reader may; 404 when there is none).
pub async fn read_demand(state: &AppState, authed: &Authed, id: i64) -> AppResult<Demand> {
    authed.may_here(Action::ReadRural)?;
    Ok(state.store.demand(DemandId(id)).await?)
}

/// A demand with the placements in it the caller may see.
#[derive(Debug, Serialize, ToSchema)]
pub struct DemandDetail {
    /// The demand.
    pub demand: DemandView,
    /// Placements in it: those of the caller's workers, or all of them when
    /// the demand is the caller's (the receiving side), oldest first.
    pub placements: Vec<PlacementView>,
    /// Whether the caller may edit it.
    pub editable: bool,
}

/// Demand `id` with the placements the caller may see.
pub async fn demand_detail_of(state: &AppState, authed: &Authed, id: i64) -> AppResult<DemandDetail> {
    let d = read_demand(state, authed, id).await?;
    let scope = &authed.principal.scope;
    let receiving = scope.contains(&d.scope);
    let placements = state.store.placements_of_demand(d.id).await?;
    let placements = placements
        .iter()
        .filter(|p| receiving || scope.contains(&p.scope))
        .map(|p| PlacementView::of(p, unmasked(authed)))
        .collect();
    let editable = authed.may(Action::ManageLabour, &d.scope).is_ok();
    Ok(DemandDetail { demand: DemandView::of(d), placements, editable })
}

/// One demand and its placements.
#[utoipa::path(get, path = "/api/v1/labour-demand/{id}", tag = "labour", params(("id" = i64, Path)),
    responses((status = 200, body = DemandDetail), (status = 404)))]
pub async fn demand_detail(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
) -> AppResult<Json<DemandDetail>> {
    Ok(Json(demand_detail_of(&state, &authed, id).await?))
}

fn demand_draft(d: &Demand) -> DemandDraft {
    DemandDraft {
        enterprise_id: d.enterprise_id.map(|e| e.0),
        employer: if d.enterprise_id.is_some() { String::new() } else { d.employer.clone() },
        location: d.location.clone(),
        region: d.region.as_str().to_owned(),
        positions: Some(d.positions),
        skills: d.skills.iter().map(|s| s.as_str().to_owned()).collect(),
        pay_yuan_month: Some(d.pay_yuan_month),
        start: format_day(d.start_day),
        end: d.end_day.map(format_day).unwrap_or_default(),
        accommodation: d.accommodation,
        note: d.note.clone(),
    }
}

/// Changes a demand (the fields `change` names), within the caller's scope.
pub async fn change_demand(
    state: &AppState,
    authed: &Authed,
    id: i64,
    change: serde_json::Value,
) -> AppResult<DemandView> {
    let d = read_demand(state, authed, id).await?;
    authed.may(Action::ManageLabour, &d.scope)?;
    let draft: DemandDraft = merged(&demand_draft(&d), change)?;
    let fields = draft.parse().map_err(first)?;
    let command = Command::UpdateDemand { id: d.id, fields };
    Ok(DemandView::of(state.writer.submit(authed.actor(), command).await?.outcome.into_demand()?))
}

/// Change a demand: only the fields sent change. Not its enterprise, not
/// below the positions filled, not its dates once someone is placed in it.
#[utoipa::path(patch, path = "/api/v1/labour-demand/{id}", tag = "labour", params(("id" = i64, Path)),
    request_body = Object, responses((status = 200, body = DemandView), (status = 403), (status = 422)))]
pub async fn update_demand(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(change): ApiJson<serde_json::Value>,
) -> AppResult<Json<DemandView>> {
    Ok(Json(change_demand(&state, &authed, id, change).await?))
}

/// A worker suggested for a demand.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestionView {
    /// The worker.
    pub worker: WorkerView,
    /// Higher is better (at most 110).
    pub score: u32,
    /// Why: `skills_all`, `skills_some`, `skills_none`, `skills_any`,
    /// `available`, `available_soon`, `available_late`, `wants_region`,
    /// `prefers_elsewhere`, `healthy`, `observation`, `check_recent`,
    /// `check_stale`.
    pub reasons: Vec<&'static str>,
}

/// The most suggestions given for one demand.
pub const MAX_SUGGESTIONS: usize = 50;

/// The caller's workers ranked for demand `id`.
pub async fn suggest(state: &AppState, authed: &Authed, id: i64) -> AppResult<(Demand, Vec<SuggestionView>)> {
    let d = read_demand(state, authed, id).await?;
    let scope = &authed.principal.scope;
    let workers = state.store.workers_within(scope).await?;
    let busy = state.store.busy_within(scope).await?;
    let candidates: Vec<Candidate> = workers
        .iter()
        .map(|w| Candidate {
            worker: w.id,
            skills: w.skills.clone(),
            health: w.health,
            last_check_day: w.last_check_day,
            available_day: w.available_day,
            destinations: w.destinations.clone(),
            busy: busy.iter().filter(|(who, ..)| *who == w.id).map(|&(_, s, e)| (s, e)).collect(),
        })
        .collect();
    let opening = Opening { skills: d.skills.clone(), region: d.region, start_day: d.start_day, end_day: d.end_day };
    let day = today(state);
    let ranked = rank(&opening, &candidates, day);
    let views = ranked
        .into_iter()
        .take(MAX_SUGGESTIONS)
        .filter_map(|s| {
            let w = workers.iter().find(|w| w.id == s.worker)?;
            Some(SuggestionView {
                worker: WorkerView::of(w, unmasked(authed), day),
                score: s.score,
                reasons: s.reasons.iter().map(|r| r.as_str()).collect(),
            })
        })
        .collect();
    Ok((d, views))
}

/// The caller's workers ranked for a demand, best first (at most 50):
/// skills in common, available by the start, wanting to go to its region,
/// health and how recent the check is. The unwell and those placed over the
/// same days are left out.
#[utoipa::path(get, path = "/api/v1/labour-demand/{id}/suggestions", tag = "labour", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<SuggestionView>), (status = 404)))]
pub async fn suggestions(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
) -> AppResult<Json<Vec<SuggestionView>>> {
    Ok(Json(suggest(&state, &authed, id).await?.1))
}

// ------------------------------------------------------------------ placements

/// A placement to confirm.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlacementIn {
    /// The worker (within the caller's scope).
    pub worker_id: i64,
    /// The demand.
    pub demand_id: i64,
}

/// Confirms a placement (the township, at the worker's scope);
/// `(placement, created)`.
pub async fn place(state: &AppState, authed: &Authed, req: &PlacementIn) -> AppResult<(PlacementView, bool)> {
    authed.may_here(Action::PlaceWorkers)?;
    let worker = match visible_worker(state, authed, req.worker_id).await {
        Ok(w) => w,
        Err(AppError::NotFound) => return Err(FieldError::new("worker_id", "not_found").into()),
        Err(e) => return Err(e),
    };
    authed.may(Action::PlaceWorkers, &worker.scope)?;
    let command = Command::ConfirmPlacement { worker: worker.id, demand: DemandId(req.demand_id) };
    let (p, created) = state.writer.submit(authed.actor(), command).await?.outcome.into_placement()?;
    Ok((PlacementView::of(&p, unmasked(authed)), created))
}

/// Which placements to list.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlacementQuery {
    /// Only those in this demand.
    pub demand_id: Option<i64>,
    /// Only those in this state.
    pub state: Option<String>,
}

/// The placements within the caller's scope, newest first.
pub async fn placements_of(state: &AppState, authed: &Authed, q: &PlacementQuery) -> AppResult<Vec<PlacementView>> {
    authed.may_here(Action::ReadRural)?;
    let wanted = q.state.as_deref().map(|s| shouwang_domain::labour::PlacementState::parse("state", s)).transpose()?;
    let all = state.store.placements_within(&authed.principal.scope).await?;
    Ok(all
        .iter()
        .filter(|p| q.demand_id.is_none_or(|d| p.demand_id.0 == d) && wanted.is_none_or(|s| p.state == s))
        .map(|p| PlacementView::of(p, unmasked(authed)))
        .collect())
}

/// Confirm a worker's placement in a demand (the township). A worker placed
/// over overlapping dates is refused on `worker_id` (`placed_overlapping`),
/// a full demand on `demand_id` (`positions_filled`). 201 when confirmed
/// now, 200 when it already was (a resend).
#[utoipa::path(post, path = "/api/v1/placements", tag = "labour", request_body = PlacementIn,
    responses((status = 201, body = PlacementView), (status = 200, body = PlacementView), (status = 403),
        (status = 422)))]
pub async fn create_placement(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<PlacementIn>,
) -> AppResult<(StatusCode, Json<PlacementView>)> {
    let (p, created) = place(&state, &authed, &req).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(p)))
}

/// The placements within the caller's scope, newest first.
#[utoipa::path(get, path = "/api/v1/placements", tag = "labour",
    params(("demand_id" = Option<i64>, Query), ("state" = Option<String>, Query)),
    responses((status = 200, body = Vec<PlacementView>)))]
pub async fn list_placements(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<PlacementQuery>,
) -> AppResult<Json<Vec<PlacementView>>> {
    Ok(Json(placements_of(&state, &authed, &q).await?))
}

/// Calls off placement `id` before departure.
pub async fn cancel_placement(state: &AppState, authed: &Authed, id: i64) -> AppResult<PlacementView> {
    authed.may_here(Action::ReadRural)?;
    let p = state.store.placement(PlacementId(id)).await?;
    if !authed.principal.scope.contains(&p.scope) {
        return Err(AppError::NotFound);
    }
    authed.may(Action::PlaceWorkers, &p.scope)?;
    let applied = state.writer.submit(authed.actor(), Command::CancelPlacement { id: p.id }).await;
    let (p, _) = applied.map_err(refused_by_state)?.outcome.into_placement()?;
    Ok(PlacementView::of(&p, unmasked(authed)))
}

/// Call off a placement (the township). The worker leaves a planned batch;
/// 409 once they have left.
#[utoipa::path(post, path = "/api/v1/placements/{id}/cancel", tag = "labour", params(("id" = i64, Path)),
    responses((status = 200, body = PlacementView), (status = 404), (status = 409)))]
pub async fn cancel(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
) -> AppResult<Json<PlacementView>> {
    Ok(Json(cancel_placement(&state, &authed, id).await?))
}

// ------------------------------------------------------------------ batches

/// A transport batch to plan.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BatchIn {
    /// The organising township (or county); the caller's own unit if left
    /// out.
    pub org_unit_id: Option<i64>,
    /// Departure day, `YYYY-MM-DD`.
    pub day: String,
    /// From, 1–60 characters.
    pub origin: String,
    /// To, 1–60 characters.
    pub destination: String,
    /// The vehicle's plate, e.g. 豫M12345.
    pub plate: String,
    /// Seats for passengers, 1–60.
    pub seats: Option<i64>,
    /// The placements travelling (confirmed, on no other batch).
    pub passengers: Vec<i64>,
}

impl BatchIn {
    /// Checks every field; the first fault is named.
    pub fn parse(&self, org_unit: OrgUnitId) -> Result<NewBatch, FieldError> {
        let day = parse_day("day", &self.day)?;
        let origin = BoundedText::<60>::parse("origin", &self.origin)?.into_string();
        let destination = BoundedText::<60>::parse("destination", &self.destination)?.into_string();
        let plate = PlateNumber::parse("plate", &self.plate)?;
        let seats = self.seats.ok_or_else(|| FieldError::new("seats", "required"))?;
        if !(1..=60).contains(&seats) {
            return Err(FieldError::new("seats", "out_of_range").arg("min", 1).arg("max", 60));
        }
        Ok(NewBatch {
            org_unit,
            day,
            origin,
            destination,
            plate,
            seats,
            passengers: self.passengers.iter().map(|p| PlacementId(*p)).collect(),
        })
    }
}

/// Plans a batch (the township, at the organising unit's scope).
pub async fn plan_batch(state: &AppState, authed: &Authed, req: &BatchIn) -> AppResult<BatchView> {
    authed.may_here(Action::PlaceWorkers)?;
    let unit_id = req.org_unit_id.map_or(authed.principal.org_unit, OrgUnitId);
    let new = req.parse(unit_id)?;
    let unit = match state.store.org_unit(unit_id).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Err(FieldError::new("org_unit_id", "not_found").into()),
        Err(e) => return Err(e.into()),
    };
    if authed.may(Action::PlaceWorkers, &unit.path).is_err() {
        return Err(FieldError::new("org_unit_id", "out_of_scope").into());
    }
    let (b, _) = state.writer.submit(authed.actor(), Command::PlanBatch(new)).await?.outcome.into_batch()?;
    Ok(BatchView::of(&b, unmasked(authed)))
}

/// Plan a point-to-point batch: day, route, vehicle, seats and passengers
/// (confirmed placements). More passengers than seats is refused on
/// `passengers` (`over_seats`); a placement on another batch on
/// `passengers[i]` (`on_another_batch`).
#[utoipa::path(post, path = "/api/v1/transport-batches", tag = "labour", request_body = BatchIn,
    responses((status = 201, body = BatchView), (status = 403), (status = 422)))]
pub async fn create_batch(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<BatchIn>,
) -> AppResult<(StatusCode, Json<BatchView>)> {
    Ok((StatusCode::CREATED, Json(plan_batch(&state, &authed, &req).await?)))
}

/// The batches the caller may see: organised within their scope, or
/// carrying their workers.
pub async fn batches_of(state: &AppState, authed: &Authed) -> AppResult<Vec<BatchView>> {
    authed.may_here(Action::ReadRural)?;
    let all = state.store.batches_within(&authed.principal.scope).await?;
    Ok(all.iter().map(|b| BatchView::of(b, unmasked(authed))).collect())
}

/// The transport batches the caller may see, the latest day first.
#[utoipa::path(get, path = "/api/v1/transport-batches", tag = "labour",
    responses((status = 200, body = Vec<BatchView>)))]
pub async fn list_batches(State(state): State<AppState>, authed: Authed) -> AppResult<Json<Vec<BatchView>>> {
    Ok(Json(batches_of(&state, &authed).await?))
}

/// Whether the caller is the receiving side of `b`: a passenger's demand
/// lies within their scope.
fn receives(authed: &Authed, b: &Batch) -> bool {
    b.passengers.iter().any(|p| authed.principal.scope.contains(&p.demand_scope))
}

/// Reads batch `id` if the caller may see it: organised within their
/// scope, carrying their workers, or bound for their demand.
pub async fn visible_batch(state: &AppState, authed: &Authed, id: i64) -> AppResult<Batch> {
    authed.may_here(Action::ReadRural)?;
    let b = state.store.batch(BatchId(id)).await?;
    let scope = &authed.principal.scope;
    if scope.contains(&b.scope) || receives(authed, &b) {
        return Ok(b);
    }
    let placements = state.store.placements_within(scope).await?;
    if b.passengers.iter().any(|p| placements.iter().any(|q| q.id == p.placement_id)) {
        return Ok(b);
    }
    Err(AppError::NotFound)
}

/// One batch with its passengers and their checks.
#[utoipa::path(get, path = "/api/v1/transport-batches/{id}", tag = "labour", params(("id" = i64, Path)),
    responses((status = 200, body = BatchView), (status = 404)))]
pub async fn batch_detail(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
) -> AppResult<Json<BatchView>> {
    let b = visible_batch(&state, &authed, id).await?;
    Ok(Json(BatchView::of(&b, unmasked(&authed))))
}

/// Passengers to add to a planned batch.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PassengersIn {
    /// The placements (confirmed, on no other batch).
    pub passengers: Vec<i64>,
}

/// Adds passengers to batch `id` (the township).
pub async fn add_passengers(state: &AppState, authed: &Authed, id: i64, req: &PassengersIn) -> AppResult<BatchView> {
    let b = visible_batch(state, authed, id).await?;
    authed.may(Action::PlaceWorkers, &b.scope)?;
    let placements = req.passengers.iter().map(|p| PlacementId(*p)).collect();
    let applied = state.writer.submit(authed.actor(), Command::AddPassengers { batch: b.id, placements }).await;
    let (b, _) = applied.map_err(refused_by_state)?.outcome.into_batch()?;
    Ok(BatchView::of(&b, unmasked(authed)))
}

/// Add passengers to a planned batch (not beyond its seats). 409 once it
/// has left.
#[utoipa::path(post, path = "/api/v1/transport-batches/{id}/passengers", tag = "labour",
    params(("id" = i64, Path)), request_body = PassengersIn,
    responses((status = 200, body = BatchView), (status = 409), (status = 422)))]
pub async fn create_passengers(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<PassengersIn>,
) -> AppResult<Json<BatchView>> {
    Ok(Json(add_passengers(&state, &authed, id, &req).await?))
}

/// A passenger's check before departure.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckIn {
    /// Whose placement.
    pub placement_id: i64,
    /// The temperature in °C (a number, or text such as `36.5`).
    #[schema(value_type = f64)]
    pub temperature: NumberOrText,
}

/// Records a passenger's check on batch `id` (the organising side).
pub async fn check_passenger(state: &AppState, authed: &Authed, id: i64, req: &CheckIn) -> AppResult<BatchView> {
    let b = visible_batch(state, authed, id).await?;
    authed.may(Action::ManageLabour, &b.scope)?;
    let temperature = match &req.temperature {
        NumberOrText::Number(c) => BodyTemperature::from_celsius("temperature", *c)?,
        NumberOrText::Text(t) => BodyTemperature::parse("temperature", t)?,
    };
    let command = Command::CheckPassenger { batch: b.id, placement: PlacementId(req.placement_id), temperature };
    let (b, _) = state.writer.submit(authed.actor(), command).await.map_err(refused_by_state)?.outcome.into_batch()?;
    Ok(BatchView::of(&b, unmasked(authed)))
}

/// Check a passenger before departure: the temperature taken (passed below
/// 37.3 °C). A second check replaces the first. 409 once the batch has left.
#[utoipa::path(post, path = "/api/v1/transport-batches/{id}/checks", tag = "labour", params(("id" = i64, Path)),
    request_body = CheckIn, responses((status = 200, body = BatchView), (status = 409), (status = 422)))]
pub async fn create_check(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<i64>,
    ApiJson(req): ApiJson<CheckIn>,
) -> AppResult<Json<BatchView>> {
    Ok(Json(check_passenger(&state, &authed, id, &req).await?))
}

/// Sends batch `id` off (the township).
pub async fn depart_batch(state: &AppState, authed: &Authed, id: i64) -> AppResult<BatchView> {
    let b = visible_batch(state, authed, id).await?;
    authed.may(Action::PlaceWorkers, &b.scope)?;
    let applied = state.writer.submit(authed.actor(), Command::DepartBatch { batch: b.id }).await;
    let applied = applied.map_err(|e| match e {
        // Nobody aboard: nothing to send off.
        StoreError::Invalid(f) if f.field == "passengers" => AppError::Refused(f),
        other => refused_by_state(other),
    });
    let (b, _) = applied?.outcome.into_batch()?;
    Ok(BatchView::of(&b, unmasked(authed)))
}

/// The batch departs; its placements with it. 409 (`passengers`,
/// `unchecked`) while any passenger is unchecked or failed the check, or
/// (`passengers`, `required`) with nobody aboard.
/// Departing again changes nothing.
#[utoipa::path(post, path = "/api/v1/transport-batches/{id}/depart", tag = "labour", params(("id" = i64, Path)),
    responses((status = 200, body = BatchView), (status = 409)))]
pub async fn depart(State(state): State<AppState>, authed: Authed, Path(id): Path<i64>) -> AppResult<Json<BatchView>> {
    Ok(Json(depart_batch(&state, &authed, id).await?))
}

/// Confirms batch `id`'s arrival (the receiving side, or the organiser).
pub async fn arrive_batch(state: &AppState, authed: &Authed, id: i64) -> AppResult<BatchView> {
    let b = visible_batch(state, authed, id).await?;
    let as_receiver = b.passengers.iter().any(|p| authed.may(Action::ManageLabour, &p.demand_scope).is_ok());
    if !as_receiver {
        authed.may(Action::ManageLabour, &b.scope)?;
    }
    let applied = state.writer.submit(authed.actor(), Command::ArriveBatch { batch: b.id }).await;
    let (b, _) = applied.map_err(refused_by_state)?.outcome.into_batch()?;
    Ok(BatchView::of(&b, unmasked(authed)))
}

/// The receiving side confirms arrival; the placements arrive. 409 before
/// departure; confirming again changes nothing.
#[utoipa::path(post, path = "/api/v1/transport-batches/{id}/arrive", tag = "labour", params(("id" = i64, Path)),
    responses((status = 200, body = BatchView), (status = 409)))]
pub async fn arrive(State(state): State<AppState>, authed: Authed, Path(id): Path<i64>) -> AppResult<Json<BatchView>> {
    Ok(Json(arrive_batch(&state, &authed, id).await?))
}
