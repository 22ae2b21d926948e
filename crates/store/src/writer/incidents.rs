//! How the writer keeps incidents reported by hand and their handling: a
//! report is stored once (by its client id); each handling step — a new
//! status, an assignee, a note — is one entry of the timeline with its
//! event. Status moves forward only; a closed incident takes no more steps.

use serde_json::json;
use sqlx::{AnyConnection, Row};

use shouwang_domain::screening::IncidentStatus;
use shouwang_domain::{EventKind, FieldError, NewEvent, RecordId, UserId};

use super::{Actor, Command, Decided, Outcome, dangling_key};
use crate::StoreError;
use crate::incidents::{IncidentStep, NewIncident};
use crate::screenings::{INCIDENT_COLUMNS, Incident, incident_from};

pub(super) async fn apply(
    conn: &mut AnyConnection,
    actor: &Actor,
    command: &Command,
    now: i64,
) -> Result<Decided, StoreError> {
    let who = actor.person()?;
    match command {
        Command::ReportIncident(new) => report(conn, who, new, now).await,
        Command::HandleIncident { id, step } => handle(conn, who, *id, step, now).await,
        _ => unreachable!("writer::apply routes only incident commands here"),
    }
}

async fn stored(conn: &mut AnyConnection, id: RecordId) -> Result<Option<(Incident, String)>, StoreError> {
    let sql = format!("SELECT scope, {INCIDENT_COLUMNS} WHERE id = $1");
    let Some(row) = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    Ok(Some((incident_from(&row)?, row.try_get("scope")?)))
}

fn event(kind: EventKind, i: &Incident, scope: &str, extra: serde_json::Value) -> Result<NewEvent, StoreError> {
    let mut payload = json!({
        "kind": i.kind.as_str(),
        "severity": i.severity.as_str(),
        "status": i.status.as_str(),
        "checkpoint_id": i.checkpoint_id.0,
        "assignee": i.assignee.map(|u| u.0),
    });
    if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
        p.extend(e.clone());
    }
    Ok(NewEvent::new(kind, format!("incident:{}", i.id), shouwang_domain::ScopePath::from_stored(scope)?, payload))
}

async fn report(conn: &mut AnyConnection, who: UserId, new: &NewIncident, now: i64) -> Result<Decided, StoreError> {
    if let Some((old, _)) = stored(conn, new.id).await? {
        if old.reported_by != Some(who) {
            return Err(StoreError::Invalid(FieldError::new("id", "taken")));
        }
        return Ok((Outcome::Incident(old), Vec::new()));
    }
    if new.kind.from_screening() {
        return Err(StoreError::Invalid(FieldError::new("kind", "raised_by_screenings")));
    }
    let scope: String = sqlx::query("SELECT scope FROM checkpoints WHERE id = $1")
        .bind(new.checkpoint.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::Dangling { field: "checkpoint_id" })?
        .try_get("scope")?;
    sqlx::query(
        "INSERT INTO incidents (id, kind, severity, status, checkpoint_id, scope, opened_us, summary, reported_by) \
         VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $8)",
    )
    .bind(new.id.to_string())
    .bind(new.kind.as_str())
    .bind(new.severity.as_str())
    .bind(new.checkpoint.0)
    .bind(&scope)
    .bind(now)
    .bind(&new.summary)
    .bind(who.0)
    .execute(&mut *conn)
    .await?;
    let (incident, scope) = stored(conn, new.id).await?.ok_or(StoreError::NotFound)?;
    let e = event(EventKind::IncidentOpened, &incident, &scope, json!({ "summary": incident.summary }))?;
    Ok((Outcome::Incident(incident), vec![e]))
}

async fn handle(
    conn: &mut AnyConnection,
    who: UserId,
    id: RecordId,
    step: &IncidentStep,
    now: i64,
) -> Result<Decided, StoreError> {
    let (incident, _) = stored(conn, id).await?.ok_or(StoreError::NotFound)?;
    if incident.status == IncidentStatus::Closed {
        return Err(StoreError::Conflict { field: "status" });
    }
    if step.status.is_none() && step.assignee.is_none() && step.note.trim().is_empty() {
        return Err(StoreError::Invalid(FieldError::new("note", "required")));
    }
    // Assigning someone starts the handling.
    let status = match (step.status, step.assignee) {
        (Some(to), _) => Some(incident.status.step(to).map_err(StoreError::Invalid)?),
        (None, Some(_)) if incident.status == IncidentStatus::Open => Some(IncidentStatus::Handling),
        _ => None,
    };
    if let Some(user) = step.assignee {
        sqlx::query("UPDATE incidents SET assignee_id = $1 WHERE id = $2")
            .bind(user.0)
            .bind(id.to_string())
            .execute(&mut *conn)
            .await
            .map_err(dangling_key("assignee_id"))?;
    }
    if let Some(to) = status {
        let closed = (to == IncidentStatus::Closed).then_some(now);
        sqlx::query("UPDATE incidents SET status = $1, closed_us = $2 WHERE id = $3")
            .bind(to.as_str())
            .bind(closed)
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
    }
    let seq: i64 = sqlx::query("SELECT COUNT(*) AS n FROM incident_notes WHERE incident_id = $1")
        .bind(id.to_string())
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    sqlx::query(
        "INSERT INTO incident_notes (incident_id, seq, at_us, author_id, status, assignee_id, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(seq + 1)
    .bind(now)
    .bind(who.0)
    .bind(status.map(IncidentStatus::as_str))
    .bind(step.assignee.map(|u| u.0))
    .bind(step.note.trim())
    .execute(&mut *conn)
    .await?;
    let (after, scope) = stored(conn, id).await?.ok_or(StoreError::NotFound)?;
    let kind =
        if after.status == IncidentStatus::Closed { EventKind::IncidentClosed } else { EventKind::IncidentUpdated };
    let e = event(kind, &after, &scope, json!({ "note": step.note.trim() }))?;
    Ok((Outcome::Incident(after), vec![e]))
}
