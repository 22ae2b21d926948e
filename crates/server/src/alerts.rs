//! The alert evaluator: every `alerts.check_seconds` it looks at what holds
//! now — posts short of staff for longer than `alerts.understaffed_minutes`,
//! posts without signal, stock at its threshold, open incidents, orders and
//! roll calls gone overdue, resupply requests waiting longer than
//! `alerts.resupply_wait_minutes`, staff not checked in
//! `alerts.missed_check_in_minutes` into their shift, enterprises' problem
//! tickets past their deadline — and hands each rule's
//! conditions to the writer, which raises what is new and resolves what
//! cleared. Raising once
//! and resolving by itself are the store's; the evaluator only says what
//! holds.
//!
//! When a post fell short is remembered in memory from the first time the
//! evaluator saw it short: after a restart the clock starts again, so an
//! understaffed alert may come up to `understaffed_minutes` late, never
//! early.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::json;
use shouwang_domain::alert::AlertRule;
use shouwang_domain::checkpoint::CheckpointStatus;
use shouwang_domain::duty::Staffing;
use shouwang_domain::order::OrderKind;
use shouwang_domain::supplies::{ResupplyFilter, ResupplyState};
use shouwang_domain::{CheckpointId, ScopePath};
use shouwang_store::writer::{Actor, Command};
use shouwang_store::{Checkpoint, Condition, Store, StoreError, Writer};

use crate::config::AlertSettings;

const MINUTE_US: i64 = 60_000_000;
/// How far back a missed call still alerts (until its party is in a call
/// again).
const MISSED_CALL_WINDOW_US: i64 = 24 * 60 * MINUTE_US;

/// What the evaluator remembers between runs.
#[derive(Debug, Default)]
pub struct Evaluator {
    /// When each post was first seen short of staff.
    short_since: HashMap<CheckpointId, i64>,
}

fn at_post(p: &Checkpoint, subject: String, detail: serde_json::Value) -> Condition {
    let mut detail = detail;
    detail["code"] = json!(p.code);
    detail["name"] = json!(p.name);
    Condition { subject, scope: p.scope.clone(), checkpoint: Some(p.id), detail }
}

impl Evaluator {
    /// Evaluates every rule at `now` and syncs the alerts; returns how many
    /// were raised.
    pub async fn run(
        &mut self,
        store: &Store,
        writer: &Writer,
        settings: &AlertSettings,
        now: i64,
    ) -> Result<i64, StoreError> {
        let root = ScopePath::root();
        let posts = store.checkpoints_within(&root).await?;
        let post = |id: CheckpointId| posts.iter().find(|p| p.id == id);
        let running: Vec<&Checkpoint> = posts.iter().filter(|p| p.status == CheckpointStatus::Active).collect();

        let mut short = Vec::new();
        let mut silent = Vec::new();
        for p in &running {
            match p.staffing {
                Staffing::Understaffed | Staffing::Unstaffed => {
                    let since = *self.short_since.entry(p.id).or_insert(now);
                    if now - since >= i64::from(settings.understaffed_minutes) * MINUTE_US {
                        let detail = json!({ "staffing": p.staffing.as_str(), "since_us": since });
                        short.push(at_post(p, format!("checkpoint:{}", p.id.0), detail));
                    }
                }
                _ => {
                    self.short_since.remove(&p.id);
                }
            }
            if p.staffing == Staffing::NoSignal {
                silent.push(at_post(p, format!("checkpoint:{}", p.id.0), json!({})));
            }
        }
        self.short_since.retain(|id, _| running.iter().any(|p| p.id == *id));

        let low: Vec<Condition> = store
            .low_stock_within(&root)
            .await?
            .into_iter()
            .filter_map(|s| {
                let p = post(s.checkpoint_id)?;
                let detail =
                    json!({ "item": s.item_key, "on_hand": s.on_hand, "threshold": s.threshold, "unit": s.unit });
                Some(at_post(p, format!("supply:{}:{}", p.id.0, s.item_key), detail))
            })
            .collect();

        let incidents: Vec<Condition> = store
            .incidents_within(&root, true)
            .await?
            .into_iter()
            .filter_map(|i| {
                let p = post(i.checkpoint_id)?;
                let detail =
                    json!({ "kind": i.kind.as_str(), "severity": i.severity.as_str(), "opened_us": i.opened_us });
                Some(at_post(p, format!("incident:{}", i.id), detail))
            })
            .collect();

        let (mut overdue, mut missed) = (Vec::new(), Vec::new());
        for (order, r) in store.overdue_unanswered(500).await? {
            let detail = json!({ "order": order.id.to_string(), "title": order.title, "user": r.user.0,
                                 "person": r.name, "checkpoint": r.checkpoint.map(|c| c.0),
                                 "deadline_us": order.deadline_us,
                                 "supervisor": r.escalated_to.as_ref().map(|(_, name)| name) });
            let mut c = Condition {
                subject: format!("order:{}:user:{}", order.id, r.user.0),
                scope: r.scope.clone(),
                checkpoint: r.checkpoint,
                detail,
            };
            if let Some(p) = r.checkpoint.and_then(post) {
                c.detail["code"] = json!(p.code);
                c.detail["name"] = json!(p.name);
            }
            match order.kind {
                OrderKind::Order => overdue.push(c),
                OrderKind::RollCall => missed.push(c),
            }
        }

        let waited = now - i64::from(settings.resupply_wait_minutes) * MINUTE_US;
        let waiting: Vec<Condition> = store
            .resupply_requests_within(&root, ResupplyFilter::Only(ResupplyState::Requested))
            .await?
            .into_iter()
            .filter(|r| r.requested_us <= waited)
            .filter_map(|r| {
                let p = post(r.checkpoint_id)?;
                let detail = json!({ "item": r.item_key, "quantity": r.quantity, "requested_us": r.requested_us });
                Some(at_post(p, format!("resupply:{}", r.id), detail))
            })
            .collect();

        // Staff of shifts under way for long enough, not checked in there.
        let present: Vec<(CheckpointId, shouwang_domain::UserId)> =
            store.open_check_ins_within(&root).await?.into_iter().map(|c| (c.checkpoint_id, c.user_id)).collect();
        let names: HashMap<shouwang_domain::UserId, String> =
            store.users_within(&root).await?.into_iter().map(|u| (u.id, u.display_name)).collect();
        let late = now - i64::from(settings.missed_check_in_minutes) * MINUTE_US;
        let mut absent = Vec::new();
        for p in &running {
            for shift in store.shifts(p.id, now, now + 1).await? {
                if shift.span.starts_us > late {
                    continue;
                }
                for user in shift.staff.iter().filter(|u| !present.contains(&(p.id, **u))) {
                    let detail = json!({ "user": user.0, "person": names.get(user), "shift": shift.id.0,
                                         "starts_us": shift.span.starts_us });
                    absent.push(at_post(p, format!("shift:{}:user:{}", shift.id.0, user.0), detail));
                }
            }
        }

        // Calls that rang out at someone who has not been in a call since.
        let mut unanswered = Vec::new();
        for (call, party) in store.missed_calls_since(now - MISSED_CALL_WINDOW_US).await? {
            let caller = call.party(call.caller).map(|p| p.name.clone()).unwrap_or_default();
            let detail = json!({ "call": call.id.to_string(), "user": party.user.0, "person": party.name,
                                 "caller": caller, "kind": call.kind.as_str(), "rang_us": party.invited_us });
            let subject = format!("call:{}:user:{}", call.id, party.user.0);
            match party.checkpoint.and_then(post) {
                Some(p) => unanswered.push(at_post(p, subject, detail)),
                None => unanswered.push(Condition { subject, scope: call.scope.clone(), checkpoint: None, detail }),
            }
        }

        // Enterprises' problems past their deadline, unresolved.
        let mut late_tickets = Vec::new();
        for t in store.tickets_overdue(now).await? {
            let escalated = match t.escalated_to {
                Some(u) => Some(store.user(u).await?.display_name),
                None => None,
            };
            let detail = json!({ "ticket": t.id.to_string(), "title": t.title, "enterprise": t.subject_name,
                                 "category": t.category.as_str(), "department": t.department_name,
                                 "deadline_us": t.deadline_us, "supervisor": escalated });
            late_tickets.push(Condition {
                subject: format!("ticket:{}", t.id),
                scope: t.scope.clone(),
                checkpoint: None,
                detail,
            });
        }

        let mut raised = 0;
        for (rule, holding) in [
            (AlertRule::Understaffed, short),
            (AlertRule::NoSignal, silent),
            (AlertRule::LowStock, low),
            (AlertRule::Incident, incidents),
            (AlertRule::OrderOverdue, overdue),
            (AlertRule::MissedRollCall, missed),
            (AlertRule::ResupplyWaiting, waiting),
            (AlertRule::MissedCheckIn, absent),
            (AlertRule::MissedCall, unanswered),
            (AlertRule::TicketOverdue, late_tickets),
        ] {
            let command = Command::SyncAlerts { rule, holding };
            raised += writer.submit(Actor::system(), command).await?.outcome.into_count()?;
        }
        Ok(raised)
    }
}

/// Runs the evaluator every `settings.check_seconds` until shutdown.
pub async fn run(
    store: Store,
    writer: Writer,
    settings: AlertSettings,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut evaluator = Evaluator::default();
    let mut tick = tokio::time::interval(Duration::from_secs(settings.check_seconds));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        // Overdue receipts are marked first, so this run already alerts them.
        if let Err(e) = crate::api::orders::mark_overdue(&store, &writer).await {
            tracing::warn!(error = %e, "marking overdue orders failed");
        }
        if let Err(e) = crate::api::tickets::mark_overdue(&store, &writer).await {
            tracing::warn!(error = %e, "marking overdue tickets failed");
        }
        match evaluator.run(&store, &writer, &settings, shouwang_store::now_us()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(raised = n, "alerts raised"),
            Err(e) => tracing::warn!(error = %e, "evaluating alerts failed"),
        }
    }
}
