//! How the writer keeps alerts: given every condition of one rule that
//! holds now, it raises an alert for each condition without a live one and
//! resolves the live ones whose condition is gone — so an alert is raised
//! once per condition however often the evaluator runs, and resolves by
//! itself. Taking (acknowledging) an alert is the only human step.

use serde_json::json;
use sqlx::AnyConnection;

use shouwang_domain::alert::{AlertRule, AlertState};
use shouwang_domain::{EventKind, NewEvent, RecordId, UserId};

use super::{Actor, Command, Decided, Outcome};
use crate::StoreError;
use crate::alerts::{ALERT_COLUMNS, AlertRecord, Condition, alert_from};

pub(super) async fn apply(
    conn: &mut AnyConnection,
    actor: &Actor,
    command: &Command,
    now: i64,
) -> Result<Decided, StoreError> {
    match command {
        Command::SyncAlerts { rule, holding } => sync(conn, *rule, holding, now).await,
        Command::AcknowledgeAlert { id } => {
            let who = actor.person()?;
            acknowledge(conn, *id, who, now).await
        }
        _ => unreachable!("writer::apply routes only alert commands here"),
    }
}

fn event(kind: EventKind, a: &AlertRecord) -> NewEvent {
    NewEvent::new(
        kind,
        format!("alert:{}", a.id),
        a.scope.clone(),
        json!({
            "rule": a.rule.as_str(),
            "severity": a.severity.as_str(),
            "subject": a.subject,
            "checkpoint": a.checkpoint.map(|c| c.0),
            "detail": a.detail,
        }),
    )
}

async fn live(conn: &mut AnyConnection, rule: AlertRule) -> Result<Vec<AlertRecord>, StoreError> {
    let sql = format!("SELECT {ALERT_COLUMNS} WHERE rule = $1 AND state <> 'resolved'");
    let rows = sqlx::query(&sql).bind(rule.as_str()).fetch_all(&mut *conn).await?;
    rows.iter().map(alert_from).collect()
}

async fn sync(
    conn: &mut AnyConnection,
    rule: AlertRule,
    holding: &[Condition],
    now: i64,
) -> Result<Decided, StoreError> {
    let before = live(conn, rule).await?;
    let mut events = Vec::new();
    for gone in before.iter().filter(|a| !holding.iter().any(|c| c.subject == a.subject)) {
        sqlx::query("UPDATE alerts SET state = 'resolved', resolved_us = $1 WHERE id = $2")
            .bind(now)
            .bind(gone.id.to_string())
            .execute(&mut *conn)
            .await?;
        let resolved = AlertRecord { state: AlertState::Resolved, resolved_us: Some(now), ..gone.clone() };
        events.push(event(EventKind::AlertResolved, &resolved));
    }
    let mut raised = 0;
    for c in holding.iter().filter(|c| !before.iter().any(|a| a.subject == c.subject)) {
        let id = RecordId::new_v7();
        sqlx::query(
            "INSERT INTO alerts (id, rule, subject, scope, checkpoint_id, severity, state, detail, raised_us) \
             VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8)",
        )
        .bind(id.to_string())
        .bind(rule.as_str())
        .bind(&c.subject)
        .bind(c.scope.as_str())
        .bind(c.checkpoint.map(|c| c.0))
        .bind(rule.severity().as_str())
        .bind(c.detail.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await?;
        let a = AlertRecord {
            id,
            rule,
            subject: c.subject.clone(),
            scope: c.scope.clone(),
            checkpoint: c.checkpoint,
            severity: rule.severity(),
            state: AlertState::Open,
            detail: c.detail.clone(),
            raised_us: now,
            acked_us: None,
            acked_by: None,
            resolved_us: None,
        };
        events.push(event(EventKind::AlertRaised, &a));
        raised += 1;
    }
    Ok((Outcome::Count(raised), events))
}

async fn acknowledge(conn: &mut AnyConnection, id: RecordId, who: UserId, now: i64) -> Result<Decided, StoreError> {
    let sql = format!("SELECT {ALERT_COLUMNS} WHERE id = $1");
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&mut *conn).await?;
    let alert = alert_from(&row.ok_or(StoreError::NotFound)?)?;
    match alert.state {
        AlertState::Acknowledged => return Ok((Outcome::Alert(alert), Vec::new())),
        AlertState::Resolved => return Err(StoreError::Conflict { field: "state" }),
        AlertState::Open => {}
    }
    sqlx::query("UPDATE alerts SET state = 'acknowledged', acked_us = $1, acked_by = $2 WHERE id = $3")
        .bind(now)
        .bind(who.0)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    let after = AlertRecord { state: AlertState::Acknowledged, acked_us: Some(now), acked_by: Some(who), ..alert };
    let events = vec![event(EventKind::AlertAcknowledged, &after)];
    Ok((Outcome::Alert(after), events))
}
