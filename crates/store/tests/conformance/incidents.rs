//! Incidents reported by hand and handled: a report is stored once; each
//! step (assignee, status, note) is one timeline entry with its event;
//! status moves forward only, and a closed incident takes no more steps.

use shouwang_domain::screening::{IncidentKind, IncidentSeverity, IncidentStatus};
use shouwang_domain::{EventKind, RecordId};
use shouwang_store::{Command, IncidentStep, NewIncident, StoreError};

use crate::checkpoints::{post, refused, world};
use crate::harness::{Harness, actor};

fn step(status: Option<IncidentStatus>, assignee: Option<shouwang_domain::UserId>, note: &str) -> IncidentStep {
    IncidentStep { status, assignee, note: note.to_owned() }
}

pub async fn a_reported_incident_is_handled_step_by_step_until_closed(h: Harness) {
    let w = world(&h).await;
    let officer = w.guard(&h, "guard-a").await;
    let hq = h.user("commander", &w.guard, &w.county).await;
    let cp = post(&h, &w.town, "ZYG-01").await;
    let new = NewIncident {
        id: RecordId::new_v7(),
        kind: IncidentKind::Conflict,
        severity: IncidentSeverity::High,
        checkpoint: cp.id,
        summary: "司机拒绝测温并与值守人员争执".into(),
    };
    let reported = h.submit(actor(&officer), Command::ReportIncident(new.clone())).await.expect("reported");
    assert_eq!(reported.events.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::IncidentOpened]);
    assert_eq!(reported.events[0].scope, cp.scope);
    let incident = reported.outcome.into_incident().expect("an incident");
    assert_eq!((incident.status, incident.reported_by), (IncidentStatus::Open, Some(officer.id)));
    let again = h.submit(actor(&officer), Command::ReportIncident(new.clone())).await.expect("a resend");
    assert!(again.events.is_empty(), "reported once");
    let fever = NewIncident { id: RecordId::new_v7(), kind: IncidentKind::Fever, ..new.clone() };
    refused(h.submit(actor(&officer), Command::ReportIncident(fever)).await, "kind", "raised_by_screenings");

    // Assigning someone starts the handling.
    let id = new.id;
    let assigned = h
        .submit(actor(&hq), Command::HandleIncident { id, step: step(None, Some(officer.id), "请核实") })
        .await
        .expect("assigned");
    assert_eq!(assigned.events.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::IncidentUpdated]);
    let i = assigned.outcome.into_incident().expect("an incident");
    assert_eq!((i.status, i.assignee), (IncidentStatus::Handling, Some(officer.id)));

    // Nothing at all is refused; backwards is refused.
    let empty = h.submit(actor(&hq), Command::HandleIncident { id, step: step(None, None, " ") }).await;
    refused(empty, "note", "required");
    let back = h.submit(actor(&hq), Command::HandleIncident { id, step: step(Some(IncidentStatus::Open), None, "") });
    refused(back.await, "status", "invalid_transition");

    let closed = h
        .submit(actor(&hq), Command::HandleIncident { id, step: step(Some(IncidentStatus::Closed), None, "已劝返") })
        .await
        .expect("closed");
    assert_eq!(closed.events[0].kind, EventKind::IncidentClosed);
    let (i, _, notes) = h.store.incident(id).await.expect("the incident");
    assert_eq!(i.status, IncidentStatus::Closed);
    assert!(i.closed_us.is_some());
    let timeline: Vec<_> = notes.iter().map(|n| (n.status, n.note.as_str())).collect();
    assert_eq!(timeline, [(Some(IncidentStatus::Handling), "请核实"), (Some(IncidentStatus::Closed), "已劝返")]);
    assert_eq!(notes[0].author_name, hq.display_name);
    let after = h.submit(actor(&hq), Command::HandleIncident { id, step: step(None, None, "再补充") }).await;
    assert!(matches!(after, Err(StoreError::Conflict { field: "status" })), "{after:?}");
    assert!(h.store.incidents_within(&cp.scope, true).await.expect("incidents").is_empty(), "closed is not open");
}
