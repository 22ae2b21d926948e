//! `/api/v1/incidents/…`: an incident reported by hand at a post (a
//! conflict, an accident, a suspicious case, broken equipment), and the
//! handling of any incident — assign someone, move it open → handling →
//! closed, add notes — as a timeline HQ and the post both see. (The list of
//! incidents is with the screenings that raise most of them.)

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shouwang_domain::policy::Action;
use shouwang_domain::screening::{IncidentKind, IncidentSeverity, IncidentStatus};
use shouwang_domain::{BoundedText, CheckpointId, FieldError, RecordId, UserId};
use shouwang_store::writer::Command;
use shouwang_store::{Incident, IncidentNote, IncidentStep, NewIncident, StoreError};
use utoipa::ToSchema;

use super::json::ApiJson;
use crate::auth::Authed;
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// An incident reported at a post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIncidentIn {
    /// A UUIDv7 made by the client; sending it again returns the stored one.
    pub id: String,
    /// `conflict`, `accident`, `suspicious_case` or `equipment_failure`.
    pub kind: String,
    /// `low`, `medium` (default) or `high`.
    pub severity: Option<String>,
    /// Where.
    pub checkpoint_id: i64,
    /// What happened, 1–500 characters.
    pub summary: String,
}

/// One step of handling.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepIn {
    /// `handling` or `closed`.
    pub status: Option<String>,
    /// Who handles it (an account within your scope).
    pub assignee_id: Option<i64>,
    /// What was done or found (up to 1000 characters; required when
    /// nothing else changes).
    #[serde(default)]
    pub note: String,
}

/// One entry of the timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteView {
    /// When.
    pub at_us: i64,
    /// Who wrote it.
    pub author_name: String,
    /// The status this step set.
    pub status: Option<String>,
    /// Who this step assigned.
    pub assignee_id: Option<i64>,
    /// The note.
    pub note: String,
}

impl From<&IncidentNote> for NoteView {
    fn from(n: &IncidentNote) -> Self {
        Self {
            at_us: n.at_us,
            author_name: n.author_name.clone(),
            status: n.status.map(|s| s.as_str().to_owned()),
            assignee_id: n.assignee.map(|u| u.0),
            note: n.note.clone(),
        }
    }
}

/// An incident and its timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentView {
    /// The incident.
    #[schema(value_type = Object)]
    pub incident: Incident,
    /// Its handling, oldest first.
    pub notes: Vec<NoteView>,
}

/// Reads incident `id` if it lies within the caller's scope.
pub async fn visible(state: &AppState, authed: &Authed, id: &str) -> AppResult<(Incident, Vec<IncidentNote>)> {
    let id = RecordId::parse("id", id)?;
    let (incident, scope, notes) = state.store.incident(id).await?;
    if authed.may(Action::ReadCheckpoints, &scope).is_err() {
        return Err(AppError::NotFound);
    }
    Ok((incident, notes))
}

/// Reports an incident; `(incident, created)`.
pub async fn report(state: &AppState, authed: &Authed, req: &NewIncidentIn) -> AppResult<(Incident, bool)> {
    let id = RecordId::parse("id", &req.id)?;
    let kind = IncidentKind::parse("kind", &req.kind)?;
    if kind.from_screening() {
        return Err(FieldError::new("kind", "raised_by_screenings").into());
    }
    let severity = req.severity.as_deref().map(|s| IncidentSeverity::parse("severity", s)).transpose()?;
    let summary = BoundedText::<500>::parse("summary", &req.summary)?.into_string();
    let cp = match state.store.checkpoint(CheckpointId(req.checkpoint_id)).await {
        Ok(cp) => cp,
        Err(StoreError::NotFound) => return Err(FieldError::new("checkpoint_id", "not_found").into()),
        Err(e) => return Err(e.into()),
    };
    authed.may(Action::RecordDuty, &cp.scope).map_err(|e| match e {
        AppError::Forbidden(shouwang_domain::policy::Denied::OutOfScope) => {
            FieldError::new("checkpoint_id", "out_of_scope").into()
        }
        other => other,
    })?;
    let new =
        NewIncident { id, kind, severity: severity.unwrap_or(IncidentSeverity::Medium), checkpoint: cp.id, summary };
    let applied = state.writer.submit(authed.actor(), Command::ReportIncident(new)).await?;
    let created = !applied.events.is_empty();
    Ok((applied.outcome.into_incident()?, created))
}

/// Report an incident at a post (duty officers and HQ). 201 when reported
/// now, 200 when this id was reported before.
#[utoipa::path(post, path = "/api/v1/incidents", tag = "screenings", request_body = NewIncidentIn,
    responses((status = 201, body = IncidentView), (status = 200, body = IncidentView), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    authed: Authed,
    ApiJson(req): ApiJson<NewIncidentIn>,
) -> AppResult<(StatusCode, Json<IncidentView>)> {
    let (incident, created) = report(&state, &authed, &req).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(IncidentView { incident, notes: Vec::new() })))
}

/// One incident and its timeline.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "screenings", params(("id" = String, Path)),
    responses((status = 200, body = IncidentView), (status = 404)))]
pub async fn detail(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
) -> AppResult<Json<IncidentView>> {
    let (incident, notes) = visible(&state, &authed, &id).await?;
    Ok(Json(IncidentView { incident, notes: notes.iter().map(NoteView::from).collect() }))
}

/// Applies one step of handling by the caller (HQ, within its scope).
pub async fn step(state: &AppState, authed: &Authed, id: &str, req: &StepIn) -> AppResult<Incident> {
    authed.may_here(Action::HandleAlert)?;
    let (incident, _) = visible(state, authed, id).await?;
    let status = req
        .status
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|s| IncidentStatus::parse("status", s))
        .transpose()?;
    let note = req.note.trim();
    if note.chars().count() > 1000 {
        return Err(FieldError::new("note", "too_long").arg("max", 1000).into());
    }
    let assignee = match req.assignee_id {
        None => None,
        Some(raw) => match state.store.user(UserId(raw)).await {
            Ok(u) if !u.disabled && authed.may(Action::ReadCheckpoints, &u.scope).is_ok() => Some(u.id),
            Ok(_) | Err(StoreError::NotFound) => return Err(FieldError::new("assignee_id", "not_found").into()),
            Err(e) => return Err(e.into()),
        },
    };
    let step = IncidentStep { status, assignee, note: note.to_owned() };
    let command = Command::HandleIncident { id: incident.id, step };
    let applied = state.writer.submit(authed.actor(), command).await.map_err(|e| match e {
        StoreError::Conflict { .. } => AppError::Refused(FieldError::new("status", "incident_closed")),
        other => other.into(),
    })?;
    Ok(applied.outcome.into_incident()?)
}

/// Handle an incident: assign it, move it to `handling` or `closed`, add a
/// note. Status moves forward only; a closed incident takes no more steps
/// (409).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/steps", tag = "screenings", params(("id" = String, Path)),
    request_body = StepIn, responses((status = 200, body = IncidentView), (status = 409), (status = 422)))]
pub async fn create_step(
    State(state): State<AppState>,
    authed: Authed,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<StepIn>,
) -> AppResult<Json<IncidentView>> {
    step(&state, &authed, &id, &req).await?;
    let (incident, notes) = visible(&state, &authed, &id).await?;
    Ok(Json(IncidentView { incident, notes: notes.iter().map(NoteView::from).collect() }))
}
