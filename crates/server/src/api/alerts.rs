//! `/api/v1/alerts`: what the evaluator raised (see `crate::alerts`), and
//! HQ taking an alert. Raising and resolving are the evaluator's; a person
//! only acknowledges.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use shouwang_domain::policy::Action;
use shouwang_domain::{FieldError, RecordId};
use shouwang_store::writer::Command;
use shouwang_store::{AlertRecord, StoreError};
use utoipa::{IntoParams, ToSchema};

use super::json::ApiQuery;
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// An alert.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AlertView {
    /// Id.
    pub id: String,
    /// `understaffed`, `no_signal`, `low_stock`, `incident`, `order_overdue`,
    /// `missed_roll_call`, `resupply_waiting`, `missed_check_in` or
    /// `missed_call`.
    pub rule: String,
    /// What it is about, e.g. `checkpoint:12`.
    pub subject: String,
    /// The post it concerns, if any.
    pub checkpoint_id: Option<i64>,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// `open`, `acknowledged` or `resolved`.
    pub state: String,
    /// The facts (the post's code and name, the item, the order…).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// When it was raised.
    pub raised_us: i64,
    /// When someone took it.
    pub acked_us: Option<i64>,
    /// Who took it.
    pub acked_by: Option<i64>,
    /// When its condition cleared.
    pub resolved_us: Option<i64>,
}

impl From<&AlertRecord> for AlertView {
    fn from(a: &AlertRecord) -> Self {
        Self {
            id: a.id.to_string(),
            rule: a.rule.as_str().to_owned(),
            subject: a.subject.clone(),
            checkpoint_id: a.checkpoint.map(|c| c.0),
            severity: a.severity.as_str().to_owned(),
            state: a.state.as_str().to_owned(),
            detail: a.detail.clone(),
            raised_us: a.raised_us,
            acked_us: a.acked_us,
            acked_by: a.acked_by.map(|u| u.0),
            resolved_us: a.resolved_us,
        }
    }
}

/// Which alerts.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AlertsQuery {
    /// `live` (default: open or acknowledged) or `all` (resolved too).
    pub state: Option<String>,
    /// At most this many, newest first (1–1000, default 100).
    pub limit: Option<i64>,
}

/// Alerts within the caller's scope, newest first.
#[utoipa::path(get, path = "/api/v1/alerts", tag = "board", params(AlertsQuery),
    responses((status = 200, body = [AlertView])))]
pub async fn list(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<AlertsQuery>,
) -> AppResult<Json<Vec<AlertView>>> {
    authed.may_here(Action::ReadCheckpoints)?;
    let live = match q.state.as_deref() {
        None | Some("live") => true,
        Some("all") => false,
        Some(_) => return Err(FieldError::new("state", "invalid_choice").arg("choices", "live, all").into()),
    };
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(FieldError::new("limit", "out_of_range").arg("min", 1).arg("max", 1000).into());
    }
    let alerts = state.store.alerts_within(&authed.principal.scope, live, limit).await?;
    Ok(Json(alerts.iter().map(AlertView::from).collect()))
}

/// Takes alert `id` as the caller (it must lie within their scope).
pub async fn take(state: &AppState, authed: &Authed, id: &str) -> AppResult<AlertRecord> {
    authed.may_here(Action::HandleAlert)?;
    let id = RecordId::parse("id", id)?;
    let alert = state.store.alert(id).await?;
    if authed.may(Action::ReadCheckpoints, &alert.scope).is_err() {
        return Err(AppError::NotFound);
    }
    authed.may(Action::HandleAlert, &alert.scope)?;
    let applied = state.writer.submit(authed.actor(), Command::AcknowledgeAlert { id }).await.map_err(|e| match e {
        StoreError::Conflict { .. } => AppError::Refused(FieldError::new("state", "alert_resolved")),
        other => other.into(),
    })?;
    Ok(applied.outcome.into_alert()?)
}

/// Take an alert: HQ has seen it and handles it. Taking it again changes
/// nothing; a resolved alert is refused (409).
#[utoipa::path(post, path = "/api/v1/alerts/{id}/acknowledge", tag = "board", params(("id" = String, Path)),
    responses((status = 200, body = AlertView), (status = 404), (status = 409, description = "already resolved")))]
pub async fn acknowledge(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Json<AlertView>> {
    Ok(Json(AlertView::from(&take(&state, &authed, &id).await?)))
}
