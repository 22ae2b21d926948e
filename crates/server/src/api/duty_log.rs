//! `/api/v1/duty-log`: each unit's duty log (值班日志), the first field record
//! of Shouwang, and the model for every later one: the client makes the id
//! (a UUIDv7), the write goes through the group-commit writer, and sending it
//! again returns the stored entry instead of a second one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use shouwang_domain::policy::Action;
use shouwang_domain::{BoundedText, FieldError, OrgUnitId, RecordId};
use shouwang_store::writer::Command;
use shouwang_store::{DutyLogEntry, StoreError};
use utoipa::{IntoParams, ToSchema};

use super::json::{ApiJson, ApiQuery};
use super::views::DutyLogView;
use crate::auth::Authed;
use crate::error::AppResult;
use crate::state::AppState;

/// The earliest device time accepted: 2020-01-01 UTC.
const EARLIEST_US: i64 = 1_577_836_800_000_000;
/// How far ahead of the server a device clock may run: one day.
const AHEAD_US: i64 = 86_400_000_000;

/// A new entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDutyLogEntry {
    /// A UUIDv7 made by the client; sending the same id again is safe.
    pub id: String,
    /// The unit whose log it is; default: the author's own unit.
    pub org_unit_id: Option<i64>,
    /// What happened, 1–2000 characters.
    pub body: String,
    /// When it happened by the device's clock (µs since the epoch); default:
    /// now.
    pub occurred_us: Option<i64>,
}

/// Parsed input.
#[derive(Debug)]
pub struct ValidDutyLogEntry {
    /// Id.
    pub id: RecordId,
    /// Unit, if given.
    pub org_unit: Option<OrgUnitId>,
    /// Text.
    pub body: BoundedText<2000>,
    /// Device time.
    pub occurred_us: i64,
}

impl NewDutyLogEntry {
    /// Parses every field.
    pub fn parse(&self, now_us: i64) -> Result<ValidDutyLogEntry, FieldError> {
        let occurred_us = self.occurred_us.unwrap_or(now_us);
        if !(EARLIEST_US..=now_us + AHEAD_US).contains(&occurred_us) {
            return Err(FieldError::new("occurred_us", "time_out_of_range"));
        }
        Ok(ValidDutyLogEntry {
            id: RecordId::parse("id", &self.id)?,
            org_unit: self.org_unit_id.map(OrgUnitId),
            body: BoundedText::parse("body", &self.body)?,
            occurred_us,
        })
    }
}

/// Adds an entry; `(entry, created)`.
pub async fn add(state: &AppState, authed: &Authed, input: ValidDutyLogEntry) -> AppResult<(DutyLogEntry, bool)> {
    let unit_id = input.org_unit.unwrap_or(authed.principal.org_unit);
    let unit = match state.cache.org_unit(&state.store, unit_id).await {
        Ok(u) => u,
        Err(StoreError::NotFound) => return Err(FieldError::new("org_unit_id", "not_found").into()),
        Err(e) => return Err(e.into()),
    };
    // A user scoped narrower than a unit (a checkpoint) writes in its own scope.
    let scope = if unit.path.contains(&authed.principal.scope) { authed.principal.scope.clone() } else { unit.path };
    authed.may(Action::WriteDutyLog, &scope).map_err(|e| match e {
        crate::error::AppError::Forbidden(shouwang_domain::policy::Denied::OutOfScope) => {
            FieldError::new("org_unit_id", "out_of_scope").into()
        }
        other => other,
    })?;
    let command = Command::AddDutyLogEntry {
        id: input.id,
        org_unit: unit.id,
        scope,
        body: input.body.into_string(),
        occurred_us: input.occurred_us,
    };
    Ok(state.writer.submit(authed.actor(), command).await?.outcome.into_duty_log_entry()?)
}

/// Add an entry to a duty log. 201 when stored now, 200 when this id was
/// stored before (the stored entry is returned unchanged).
#[utoipa::path(post, path = "/api/v1/duty-log", tag = "duty-log", request_body = NewDutyLogEntry,
    responses((status = 201, body = DutyLogView), (status = 200, body = DutyLogView, description = "already stored"),
              (status = 409, description = "the id belongs to another author's entry"),
              (status = 422, description = "a field is invalid")))]
pub async fn create(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<NewDutyLogEntry>,
) -> AppResult<(StatusCode, Json<DutyLogView>)> {
    let input = req.parse(shouwang_store::now_us())?;
    let (entry, created) = add(&state, &authed, input).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(DutyLogView::from(&entry))))
}

/// How many entries.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DutyLogQuery {
    /// At most this many, newest first (1–1000, default 100).
    pub limit: Option<i64>,
}

/// The newest entries within the caller's scope.
#[utoipa::path(get, path = "/api/v1/duty-log", tag = "duty-log", params(DutyLogQuery),
    responses((status = 200, body = [DutyLogView])))]
pub async fn list(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<DutyLogQuery>,
) -> AppResult<Json<Vec<DutyLogView>>> {
    authed.may_here(Action::ReadDutyLog)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(FieldError::new("limit", "out_of_range").arg("min", 1).arg("max", 1000).into());
    }
    let entries = state.store.duty_log(&authed.principal.scope, limit).await?;
    Ok(Json(entries.iter().map(DutyLogView::from).collect()))
}
