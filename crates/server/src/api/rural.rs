//! `/api/v1/rural/dashboard`: poverty relief at a glance for the caller's
//! scope — registered households by status and by difficulty, production
//! and unsold stock by kind, workers placed by destination and by week,
//! transport batches, and spring ploughing by township with the slowest
//! first. Every figure is a read of the same tables the pages write, so the
//! dashboard moves the moment a visit, a sale, a placement or a sowing is
//! entered.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use shouwang_domain::labour::{BatchState, Region};
use shouwang_domain::policy::Action;
use shouwang_store::{DifficultyCount, ProduceTotal, StatusCount, TownshipPloughing};
use utoipa::ToSchema;

use super::enterprises::{format_day, today, viewer};
use crate::auth::Authed;
use crate::error::AppResult;
use crate::state::AppState;

/// Households not visited in this many days count as overdue a visit.
pub const VISIT_OVERDUE_DAYS: i64 = 30;

/// Workers placed with employers of one region.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionCount {
    /// county, province or outside.
    #[schema(value_type = String)]
    pub region: Region,
    /// Placements (not cancelled).
    pub placed: i64,
}

/// Workers placed in one week.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeekCount {
    /// The week's Monday, `YYYY-MM-DD`.
    pub week: String,
    /// Placements starting that week.
    pub placed: i64,
}

/// Transport batches in one state.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchCount {
    /// planned, departed or arrived.
    #[schema(value_type = String)]
    pub state: BatchState,
    /// Batches.
    pub batches: i64,
}

/// The rural dashboard of the caller's scope.
#[derive(Debug, Serialize, ToSchema)]
pub struct RuralDashboard {
    /// Registered households.
    pub households: i64,
    /// Their members.
    pub members: i64,
    /// Households by status.
    #[schema(value_type = Vec<Object>)]
    pub by_status: Vec<StatusCount>,
    /// Households not visited in [`VISIT_OVERDUE_DAYS`] days.
    pub unvisited: i64,
    /// Household difficulties by category, the most open first.
    #[schema(value_type = Vec<Object>)]
    pub difficulties: Vec<DifficultyCount>,
    /// Production by kind, the most unsold first.
    #[schema(value_type = Vec<Object>)]
    pub production: Vec<ProduceTotal>,
    /// Workers in the labour pool.
    pub workers: i64,
    /// Workers placed, by the employer's region.
    pub placed_by_region: Vec<RegionCount>,
    /// Workers placed, by the week their work starts (the last 8 weeks).
    pub placed_by_week: Vec<WeekCount>,
    /// Transport batches by state.
    pub batches: Vec<BatchCount>,
    /// The year of the ploughing figures.
    pub year: i64,
    /// Spring ploughing by township, the slowest first.
    #[schema(value_type = Vec<Object>)]
    pub ploughing: Vec<TownshipPloughing>,
}

/// Reads the dashboard for the caller's scope.
pub async fn dashboard_of(state: &AppState, authed: &Authed) -> AppResult<RuralDashboard> {
    authed.may_here(Action::ReadRural)?;
    let scope = &authed.principal.scope;
    let today = today(state);
    let by_status = state.store.household_counts(scope).await?;
    let unvisited = state.store.households_unvisited(&viewer(authed), today - VISIT_OVERDUE_DAYS).await?;
    let by_region = state.store.placements_by_region(scope).await?;
    let (year, _, _) = shouwang_domain::calendar::civil_from_days(today);
    Ok(RuralDashboard {
        households: by_status.iter().map(|s| s.households).sum(),
        members: by_status.iter().map(|s| s.members).sum(),
        by_status,
        unvisited: unvisited.iter().filter(|h| scope.contains(&h.scope)).count() as i64,
        difficulties: state.store.difficulty_counts(scope).await?,
        production: state.store.production_totals(scope).await?,
        workers: state.store.workers_count(scope).await?,
        placed_by_region: by_region.into_iter().map(|(region, placed)| RegionCount { region, placed }).collect(),
        placed_by_week: state
            .store
            .placements_by_week(scope)
            .await?
            .into_iter()
            .map(|(monday, placed)| WeekCount { week: format_day(monday), placed })
            .collect(),
        batches: state
            .store
            .batch_counts(scope)
            .await?
            .into_iter()
            .map(|(state, batches)| BatchCount { state, batches })
            .collect(),
        year,
        ploughing: state.store.ploughing_by_township(scope, year).await?,
    })
}

/// Poverty relief at a glance for the caller's scope.
#[utoipa::path(get, path = "/api/v1/rural/dashboard", tag = "households",
    responses((status = 200, body = RuralDashboard)))]
pub async fn dashboard(State(state): State<AppState>, authed: Authed) -> AppResult<Json<RuralDashboard>> {
    Ok(Json(dashboard_of(&state, &authed).await?))
}
