//! `/api/v1/events`: the event log, paged by cursor, within the caller's
//! scope; and its CSV export (a right of its own, and audited).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use shouwang_domain::policy::Action;
use shouwang_domain::{EventId, EventKind, FieldError};
use shouwang_store::EventFilter;
use shouwang_store::writer::Command;
use utoipa::{IntoParams, ToSchema};

use super::json::ApiQuery;
use super::views::EventView;
use crate::auth::Authed;
use crate::error::AppResult;
use crate::state::AppState;

/// Which events.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Only events after this id (the cursor); 0 or absent: from the start.
    pub after: Option<i64>,
    /// At most this many (1–1000, default 100).
    pub limit: Option<i64>,
    /// Only this kind, e.g. `user.created`.
    pub kind: Option<String>,
}

/// A page of events.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// Oldest first.
    pub events: Vec<EventView>,
    /// The cursor for the next page: pass it as `after`.
    pub next_after: i64,
}

fn filter_from(q: &EventsQuery, authed: &Authed) -> AppResult<EventFilter> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(FieldError::new("limit", "out_of_range").arg("min", 1).arg("max", 1000).into());
    }
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return Err(FieldError::new("after", "out_of_range").arg("min", 0).arg("max", i64::MAX).into());
    }
    let kind = q.kind.as_deref().map(|k| EventKind::parse("kind", k)).transpose()?;
    let mut filter = EventFilter::after(authed.principal.scope.clone(), EventId(after), limit);
    filter.kind = kind;
    Ok(filter)
}

/// Events within the caller's scope after a cursor, oldest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventsQuery),
    responses((status = 200, body = EventPage)))]
pub async fn list(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> AppResult<Json<EventPage>> {
    authed.may_here(Action::ReadEvents)?;
    let filter = filter_from(&q, &authed)?;
    let events = state.store.events(&filter).await?;
    let next_after = events.last().map_or(filter.after.map_or(0, |a| a.0), |e| e.id.0);
    Ok(Json(EventPage { events: events.iter().map(EventView::from).collect(), next_after }))
}

/// The same events as CSV. Needs the export right; the export itself is
/// recorded as an event.
#[utoipa::path(get, path = "/api/v1/events/export", tag = "events", params(EventsQuery),
    responses((status = 200, content_type = "text/csv")))]
pub async fn export(
    State(state): State<AppState>,
    authed: Authed,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> AppResult<Response> {
    authed.may_here(Action::ReadEvents)?;
    authed.may_here(Action::Export)?;
    let filter = filter_from(&q, &authed)?;
    let events = state.store.events(&filter).await?;
    let mut csv = String::from("id,at_us,actor,kind,subject,scope,payload\n");
    for e in &events {
        let payload = e.payload.to_string().replace('"', "\"\"");
        csv.push_str(&format!(
            "{},{},{},{},{},{},\"{payload}\"\n",
            e.id,
            e.at_us,
            e.actor_name,
            e.kind.as_str(),
            e.subject,
            e.scope
        ));
    }
    let record = Command::RecordExport {
        what: "events".into(),
        count: events.len() as i64,
        scope: authed.principal.scope.clone(),
    };
    state.writer.submit(authed.actor(), record).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"events.csv\""),
        ],
        csv,
    )
        .into_response())
}
