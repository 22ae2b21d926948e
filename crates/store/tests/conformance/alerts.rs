//! Alerts: a rule's conditions synced again and again raise one alert per
//! condition, resolve it when the condition is gone and raise a new one
//! when it comes back; taking an alert is once, and a cleared one cannot be
//! taken.

use serde_json::json;
use shouwang_domain::EventKind;
use shouwang_domain::alert::{AlertRule, AlertState, Severity};
use shouwang_store::{Command, Condition, StoreError};

use crate::checkpoints::{post, world};
use crate::harness::{Harness, actor};

fn holding(subjects: &[&str], cp: &shouwang_store::Checkpoint) -> Command {
    let holding = subjects
        .iter()
        .map(|s| Condition {
            subject: (*s).to_owned(),
            scope: cp.scope.clone(),
            checkpoint: Some(cp.id),
            detail: json!({ "code": cp.code }),
        })
        .collect();
    Command::SyncAlerts { rule: AlertRule::Understaffed, holding }
}

pub async fn a_condition_raises_one_alert_until_it_clears_and_a_new_one_if_it_returns(h: Harness) {
    let w = world(&h).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let first = h.ok(holding(&["checkpoint:1", "checkpoint:2"], &cp)).await;
    assert_eq!(first.outcome.into_count().expect("a count"), 2);
    assert!(first.events.iter().all(|e| e.kind == EventKind::AlertRaised) && first.events.len() == 2);
    assert_eq!(first.events[0].scope, cp.scope, "the post's people and HQ see it");

    let again = h.ok(holding(&["checkpoint:1", "checkpoint:2"], &cp)).await;
    assert!(again.events.is_empty(), "a condition that still holds raises nothing more");
    let live = h.store.alerts_within(&cp.scope, true, 100).await.expect("alerts");
    assert_eq!(live.len(), 2);
    assert!(live.iter().all(|a| a.severity == Severity::Warning && a.state == AlertState::Open));

    // checkpoint:2 recovers: its alert resolves by itself.
    let cleared = h.ok(holding(&["checkpoint:1"], &cp)).await;
    let kinds: Vec<_> = cleared.events.iter().map(|e| (e.kind, e.payload["subject"].clone())).collect();
    assert_eq!(kinds, [(EventKind::AlertResolved, json!("checkpoint:2"))]);
    assert_eq!(h.store.alerts_within(&cp.scope, true, 100).await.expect("alerts").len(), 1);
    // … and falls short again: a new alert.
    let back = h.ok(holding(&["checkpoint:1", "checkpoint:2"], &cp)).await;
    assert_eq!(back.events.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::AlertRaised]);
    assert_eq!(h.store.alerts_within(&cp.scope, false, 100).await.expect("alerts").len(), 3);
}

pub async fn an_alert_is_taken_once_and_a_cleared_one_not_at_all(h: Harness) {
    let w = world(&h).await;
    let hq = h.user("commander", &w.guard, &w.county).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    h.ok(holding(&["checkpoint:1"], &cp)).await;
    let alert = h.store.alerts_within(&cp.scope, true, 1).await.expect("alerts").remove(0);

    let taken = h.submit(actor(&hq), Command::AcknowledgeAlert { id: alert.id }).await.expect("taken");
    assert_eq!(taken.events.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::AlertAcknowledged]);
    let after = taken.outcome.into_alert().expect("an alert");
    assert_eq!((after.state, after.acked_by), (AlertState::Acknowledged, Some(hq.id)));
    let twice = h.submit(actor(&hq), Command::AcknowledgeAlert { id: alert.id }).await.expect("taken again");
    assert!(twice.events.is_empty());

    // Taken alerts still resolve when the condition clears; then they cannot be taken.
    h.ok(holding(&[], &cp)).await;
    assert_eq!(h.store.alert(alert.id).await.expect("the alert").state, AlertState::Resolved);
    let late = h.submit(actor(&hq), Command::AcknowledgeAlert { id: alert.id }).await;
    assert!(matches!(late, Err(StoreError::Conflict { field: "state" })), "{late:?}");
}
