//! The bulk path for the busiest field records.
//!
//! Applying commands one by one costs a few statements each, and every
//! statement is a round trip to the database's connection thread; with
//! hundreds of phones writing at once that, not the fsync, bounds the writer.
//! So the duty-log entries of one batch are written together: one query for
//! their org units, multi-row inserts for the entries and for their events,
//! one read for the resends. The rules are the same as in
//! `foundation.rs`'s single-record arm, which stays for batches of one: the
//! conformance suite runs both paths.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::json;
use sqlx::{AnyConnection, Row};

use shouwang_domain::{Event, EventId, EventKind, RecordId};

use super::{Applied, Command, Job, Outcome};
use crate::reads::{DUTY_LOG_COLUMNS, duty_log_from};
use crate::{Backend, DutyLogEntry, StoreError};

/// Rows per multi-row statement: small enough that binding stays cheap.
const ROWS_PER_STATEMENT: usize = 50;

/// Whether `job` takes the bulk path.
pub(super) fn is_bulk(job: &Job) -> bool {
    matches!(job.command, Command::AddDutyLogEntry { .. }) && job.actor.id.is_some()
}

/// `(…), (…)` with `cols` placeholders per row, in the backend's syntax.
fn values(backend: Backend, rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 4);
    let mut n = 0;
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            n += 1;
            match backend {
                // SQLite finds `?` by position; `$N` costs a name lookup per
                // parameter.
                Backend::Sqlite => out.push('?'),
                Backend::Postgres => out.push_str(&format!("${n}")),
            }
        }
        out.push(')');
    }
    out
}

/// A list `(…)` of `n` placeholders.
fn list(backend: Backend, n: usize) -> String {
    values(backend, 1, n)
}

/// Applies the duty-log entries `jobs` (all `AddDutyLogEntry` with a person as
/// actor) in the open transaction; one result per job, in order. `Err` only
/// for a database failure.
pub(super) async fn duty_log(
    conn: &mut AnyConnection,
    backend: Backend,
    jobs: &[&Job],
    now: i64,
) -> Result<Vec<Result<Applied, StoreError>>, StoreError> {
    struct Entry<'a> {
        id: RecordId,
        unit: i64,
        scope: &'a str,
        author: i64,
        author_name: &'a str,
        body: &'a str,
        occurred_us: i64,
    }
    let entries: Vec<Entry> = jobs
        .iter()
        .map(|j| match &j.command {
            Command::AddDutyLogEntry { id, org_unit, scope, body, occurred_us } => Entry {
                id: *id,
                unit: org_unit.0,
                scope: scope.as_str(),
                author: j.actor.id.expect("is_bulk admits only jobs with a person as actor").0,
                author_name: &j.actor.name,
                body,
                occurred_us: *occurred_us,
            },
            _ => unreachable!("is_bulk admits only AddDutyLogEntry"),
        })
        .collect();

    // Which units exist.
    let units: Vec<i64> = entries.iter().map(|e| e.unit).collect::<HashSet<_>>().into_iter().collect();
    let sql = format!("SELECT id FROM org_units WHERE id IN {}", list(backend, units.len()));
    let mut q = sqlx::query(&sql);
    for u in &units {
        q = q.bind(*u);
    }
    let known: HashSet<i64> =
        q.fetch_all(&mut *conn).await?.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;

    // Insert what is new; a resend's id is already there and is skipped.
    let candidates: Vec<&Entry> = entries.iter().filter(|e| known.contains(&e.unit)).collect();
    let mut inserted: HashSet<String> = HashSet::new();
    for chunk in candidates.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO duty_log (id, org_unit_id, scope, author_id, body, occurred_us, recorded_us) VALUES {} \
             ON CONFLICT (id) DO NOTHING RETURNING id",
            values(backend, chunk.len(), 7)
        );
        let mut q = sqlx::query(&sql);
        for e in chunk {
            q = q
                .bind(e.id.to_string())
                .bind(e.unit)
                .bind(e.scope)
                .bind(e.author)
                .bind(e.body)
                .bind(e.occurred_us)
                .bind(now);
        }
        for row in q.fetch_all(&mut *conn).await? {
            inserted.insert(row.try_get("id")?);
        }
    }

    // The stored records of resends.
    let resent: Vec<String> = candidates.iter().map(|e| e.id.to_string()).filter(|id| !inserted.contains(id)).collect();
    let mut stored: HashMap<String, DutyLogEntry> = HashMap::new();
    for chunk in resent.chunks(ROWS_PER_STATEMENT) {
        let sql = format!("SELECT {DUTY_LOG_COLUMNS} WHERE id IN {}", list(backend, chunk.len()));
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let entry = duty_log_from(&row)?;
            stored.insert(entry.id.to_string(), entry);
        }
    }

    // Events for what was created, each entry's once (an id sent twice in
    // one batch is created by the first and a resend for the second).
    let mut claimed: HashSet<String> = HashSet::new();
    let mut created: Vec<&Entry> = Vec::new();
    for e in &candidates {
        let id = e.id.to_string();
        if inserted.contains(&id) && claimed.insert(id) {
            created.push(e);
        }
    }
    let mut event_ids: HashMap<String, i64> = HashMap::new();
    let payloads: Vec<String> = created
        .iter()
        .map(|e| json!({ "id": e.id, "org_unit_id": e.unit, "body": e.body, "occurred_us": e.occurred_us }).to_string())
        .collect();
    for (chunk, payloads) in created.chunks(ROWS_PER_STATEMENT).zip(payloads.chunks(ROWS_PER_STATEMENT)) {
        let sql = format!(
            "INSERT INTO events (at_us, actor_id, actor_name, kind, subject, scope, payload) VALUES {} RETURNING id, subject",
            values(backend, chunk.len(), 7)
        );
        let mut q = sqlx::query(&sql);
        for (e, payload) in chunk.iter().zip(payloads) {
            q = q
                .bind(now)
                .bind(e.author)
                .bind(e.author_name)
                .bind(EventKind::DutyLogEntryAdded.as_str())
                .bind(format!("duty_log:{}", e.id))
                .bind(e.scope)
                .bind(payload.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            event_ids.insert(row.try_get("subject")?, row.try_get("id")?);
        }
    }

    // One answer per job, in the order submitted.
    let mut answered_new: HashSet<String> = HashSet::new();
    let mut results = Vec::with_capacity(entries.len());
    for e in &entries {
        if !known.contains(&e.unit) {
            results.push(Err(StoreError::Dangling { field: "org_unit_id" }));
            continue;
        }
        let id = e.id.to_string();
        let subject = format!("duty_log:{id}");
        if inserted.contains(&id) && answered_new.insert(id.clone()) {
            let entry = DutyLogEntry {
                id: e.id,
                org_unit_id: shouwang_domain::OrgUnitId(e.unit),
                scope: shouwang_domain::ScopePath::from_stored(e.scope)?,
                author_id: shouwang_domain::UserId(e.author),
                body: e.body.to_owned(),
                occurred_us: e.occurred_us,
                recorded_us: now,
            };
            let event_id =
                *event_ids.get(&subject).ok_or_else(|| StoreError::Corrupt(format!("no event for {subject}")))?;
            let event = Event {
                id: EventId(event_id),
                at_us: now,
                actor: Some(entry.author_id),
                actor_name: e.author_name.to_owned(),
                kind: EventKind::DutyLogEntryAdded,
                subject,
                scope: entry.scope.clone(),
                payload: json!({ "id": e.id, "org_unit_id": e.unit, "body": e.body, "occurred_us": e.occurred_us }),
            };
            results.push(Ok(Applied {
                outcome: Outcome::DutyLogEntry { entry, created: true },
                events: vec![Arc::new(event)],
            }));
            continue;
        }
        // A resend: the stored record, unless another author owns the id.
        let entry = match stored.get(&id) {
            Some(s) => s.clone(),
            None => {
                // Created earlier in this very batch by another job.
                let sql = format!("SELECT {DUTY_LOG_COLUMNS} WHERE id = $1");
                duty_log_from(&sqlx::query(&sql).bind(id.as_str()).fetch_one(&mut *conn).await?)?
            }
        };
        if entry.author_id.0 != e.author {
            results.push(Err(StoreError::Conflict { field: "id" }));
        } else {
            results.push(Ok(Applied { outcome: Outcome::DutyLogEntry { entry, created: false }, events: vec![] }));
        }
    }
    Ok(results)
}
