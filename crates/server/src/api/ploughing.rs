//! `/api/v1/ploughing…`: spring ploughing (春耕备耕) — each village's plan
//! and progress per crop and year, and progress summed by township or by
//! the villages of one township, the slowest first.
//!
//! Who sees what: everyone with the right to read sees the rows within
//! their scope (a duty officer's post or an enterprise holds no village, so
//! they see an empty list, as other lists do). Entering figures needs
//! [`Action::PlanPloughing`] at the village; a village outside the caller's
//! scope is a 404, as a record would be. The figures are checked by the
//! domain with the deployment's margin (`ploughing.sown_margin_pct` in the
//! configuration): more sown than planned beyond it needs a note.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use shouwang_domain::ploughing::{Crop, PloughDraft, PloughFigures, sown_pct};
use shouwang_domain::policy::Action;
use shouwang_domain::{FieldError, OrgUnitId, OrgUnitKind};
use shouwang_store::writer::Command;
use shouwang_store::{OrgUnit, Ploughing, StoreError, TownshipPloughing, VillagePloughing};
use utoipa::ToSchema;

use super::json::{ApiJson, ApiQuery};
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// The earliest and latest year accepted.
const YEARS: (i64, i64) = (2000, 2100);

/// This year in the deployment's zone.
pub fn this_year(state: &AppState) -> i64 {
    shouwang_domain::calendar::civil_from_days(super::enterprises::today(state)).0
}

/// A year asked for, or this one; `year` names it when out of range.
pub fn year_or_this(state: &AppState, raw: Option<i64>) -> Result<i64, FieldError> {
    let year = raw.unwrap_or_else(|| this_year(state));
    shouwang_domain::checkpoint::int_in("year", year, YEARS.0, YEARS.1)
}

/// Which year to read.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    /// The year; this one if left out.
    pub year: Option<i64>,
}

/// Every village's figures of a year within the caller's scope, by
/// township, village and crop.
#[utoipa::path(get, path = "/api/v1/ploughing", tag = "ploughing", params(("year" = Option<i64>, Query)),
    responses((status = 200, body = Vec<Object>), (status = 422)))]
pub async fn list(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<YearQuery>,
) -> AppResult<Json<Vec<Ploughing>>> {
    authed.may_here(Action::ReadRural)?;
    let year = year_or_this(&state, q.year)?;
    Ok(Json(state.store.ploughing_within(&authed.principal.scope, year).await?))
}

/// A village's figures for one crop, as entered.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PloughIn {
    /// The year (2000–2100).
    pub year: i64,
    /// `planned_mu` (required), `sown_mu`, `seed_need_kg`, `seed_got_kg`,
    /// `fertiliser_need_kg`, `fertiliser_got_kg`, `film_need_kg`,
    /// `film_got_kg`, `machines` (each a whole number ≥ 0; left out is 0),
    /// and `note` (up to 200 characters; needed when more is sown than
    /// planned beyond the margin).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub figures: PloughDraft,
}

/// The village `id` if the caller may enter its plan: the role grants
/// [`Action::PlanPloughing`] (403 otherwise), the unit lies within the
/// caller's scope (404 otherwise) and is a village (`village_id`,
/// `not_a_village`).
pub async fn plannable_village(state: &AppState, authed: &Authed, id: i64) -> AppResult<OrgUnit> {
    authed.may_here(Action::PlanPloughing)?;
    let unit = state.store.org_unit(OrgUnitId(id)).await?;
    if !authed.principal.scope.contains(&unit.path) {
        return Err(AppError::NotFound);
    }
    if unit.kind != OrgUnitKind::Village {
        return Err(FieldError::new("village_id", "not_a_village").into());
    }
    authed.may(Action::PlanPloughing, &unit.path)?;
    Ok(unit)
}

/// Checks `draft` with the deployment's margin, naming every bad field.
pub fn check(state: &AppState, draft: PloughDraft) -> Result<PloughFigures, Vec<FieldError>> {
    draft.parse(state.config.ploughing.sown_margin_pct)
}

/// Stores checked figures for a village the caller may plan for.
pub async fn store(
    state: &AppState,
    authed: &Authed,
    village: &OrgUnit,
    crop: Crop,
    year: i64,
    figures: PloughFigures,
) -> AppResult<Ploughing> {
    let command = Command::PutPloughing { village: village.id, crop, year, figures };
    Ok(state.writer.submit(authed.actor(), command).await?.outcome.into_ploughing()?)
}

/// Enter or replace a village's figures for a crop and year (a township
/// cadre, within their township; the county). More sown than planned beyond
/// the margin (default 10 %) is refused on `sown_mu` (`above_planned`, with
/// `planned` and `margin`) unless a note says why. Nothing is written on a
/// refusal.
#[utoipa::path(put, path = "/api/v1/ploughing/{village_id}/{crop}", tag = "ploughing",
    params(("village_id" = i64, Path), ("crop" = String, Path)), request_body = PloughIn,
    responses((status = 200, body = Object), (status = 403), (status = 404), (status = 422)))]
pub async fn put(
    State(state): State<AppState>,
    authed: Authed,
    Path((village_id, crop)): Path<(i64, String)>,
    ApiJson(req): ApiJson<PloughIn>,
) -> AppResult<Json<Ploughing>> {
    let village = plannable_village(&state, &authed, village_id).await?;
    let crop = Crop::parse("crop", &crop)?;
    let year = shouwang_domain::checkpoint::int_in("year", req.year, YEARS.0, YEARS.1)?;
    let figures = check(&state, req.figures).map_err(|mut errors| AppError::Field(errors.remove(0)))?;
    Ok(Json(store(&state, &authed, &village, crop, year, figures).await?))
}

/// Which progress to read.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressQuery {
    /// The year; this one if left out.
    pub year: Option<i64>,
    /// A township: its villages instead of the townships.
    pub township_id: Option<i64>,
}

/// A township named.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TownshipRef {
    /// Its id.
    #[schema(value_type = i64)]
    pub id: OrgUnitId,
    /// Its name.
    pub name: String,
}

/// Progress of a year: by township, or by village of one township, the
/// slowest (least of its plan sown) first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Progress {
    /// The year.
    pub year: i64,
    /// The margin in effect, percent: sown above planned by more needs a
    /// note.
    pub margin_pct: u32,
    /// Area planned over every row read, mu.
    pub planned_mu: i64,
    /// Area sown, mu.
    pub sown_mu: i64,
    /// Sown of planned, whole percent.
    pub sown_pct: i64,
    /// The township asked for, if one was.
    pub township: Option<TownshipRef>,
    /// By township (empty when a township was asked for).
    #[schema(value_type = Vec<Object>)]
    pub townships: Vec<TownshipPloughing>,
    /// By village of the township asked for (empty otherwise).
    #[schema(value_type = Vec<Object>)]
    pub villages: Vec<VillagePloughing>,
}

/// The township `id` if it shares the caller's scope (holds it or lies
/// within it); 404 otherwise, or when it is not a township.
pub async fn visible_township(state: &AppState, authed: &Authed, id: i64) -> AppResult<OrgUnit> {
    let unit = match state.store.org_unit(OrgUnitId(id)).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Err(AppError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let scope = &authed.principal.scope;
    if unit.kind != OrgUnitKind::Township || !(scope.contains(&unit.path) || unit.path.contains(scope)) {
        return Err(AppError::NotFound);
    }
    Ok(unit)
}

/// The progress the caller may see for `year`, by township or (given
/// `township`) by its villages.
pub async fn progress_of(state: &AppState, authed: &Authed, year: i64, township: Option<i64>) -> AppResult<Progress> {
    authed.may_here(Action::ReadRural)?;
    let scope = &authed.principal.scope;
    let (township, townships, villages) = match township {
        None => (None, state.store.ploughing_by_township(scope, year).await?, Vec::new()),
        Some(id) => {
            let t = visible_township(state, authed, id).await?;
            let villages = state.store.ploughing_by_village(scope, t.id, year).await?;
            (Some(TownshipRef { id: t.id, name: t.name }), Vec::new(), villages)
        }
    };
    let planned_mu =
        townships.iter().map(|t| t.planned_mu).sum::<i64>() + villages.iter().map(|v| v.planned_mu).sum::<i64>();
    let sown_mu = townships.iter().map(|t| t.sown_mu).sum::<i64>() + villages.iter().map(|v| v.sown_mu).sum::<i64>();
    Ok(Progress {
        year,
        margin_pct: state.config.ploughing.sown_margin_pct,
        planned_mu,
        sown_mu,
        sown_pct: sown_pct(planned_mu, sown_mu),
        township,
        townships,
        villages,
    })
}

/// Progress of a year within the caller's scope: by township, the slowest
/// first (sown of planned; seed, fertiliser and film supplied of needed,
/// each village's supply counted up to its need; machines); with
/// `township_id`, by its villages. A township outside the caller's scope is
/// a 404.
#[utoipa::path(get, path = "/api/v1/ploughing/progress", tag = "ploughing",
    params(("year" = Option<i64>, Query), ("township_id" = Option<i64>, Query)),
    responses((status = 200, body = Progress), (status = 404), (status = 422)))]
pub async fn progress(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<ProgressQuery>,
) -> AppResult<Json<Progress>> {
    let year = year_or_this(&state, q.year)?;
    Ok(Json(progress_of(&state, &authed, year, q.township_id).await?))
}
