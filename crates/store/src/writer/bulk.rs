//! The bulk path for the busiest field records.
//!
//! Applying commands one by one costs a few statements each, and every
//! statement is a round trip to the database's connection thread; with
//! hundreds of phones writing at once those round trips, not the fsync, bound
//! the writer. So the duty-log entries of one batch are written together, in
//! as few statements as the batch allows: one multi-row insert for the entries
//! and one for their events. The rules are the same as in `foundation.rs`'s
//! single-record arm, which stays for batches of one: the conformance suite
//! runs both paths. (Screenings have a path of the same kind,
//! `screenings::record_together`.)
//!
//! Two checks that used to cost a statement each are mostly free now:
//!
//! - **The org unit exists.** Org units are never deleted, so a unit seen in
//!   a committed batch exists for good; the writer remembers those and asks
//!   the database only about the others. (Were a unit to vanish all the same,
//!   the foreign key would fail the batch, and the one-by-one retry gives
//!   each entry its proper answer.)
//! - **The id is new.** The entries are inserted with `ON CONFLICT (id) DO
//!   NOTHING`; when as many rows were added as were sent, there was no resend.
//!   When fewer were, [`Bulk::Resent`] asks the caller to roll back and run
//!   the batch again with `precheck`, which first reads the ids that are
//!   already stored. A resend costs its batch one more transaction, not one
//!   per entry.
//!
//! The statements' text depends on the batch size, so they are prepared for
//! each batch and not kept in the connection's statement cache (where they
//! would push out the statements that do repeat). Preparing costs a few per
//! cent of the database thread's time; a round trip per fixed-size chunk
//! would cost more.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::json;
use sqlx::{AnyConnection, Row};

use shouwang_domain::{Event, EventId, EventKind, OrgUnitId, RecordId, ScopePath, UserId};

use super::{Applied, Command, Job, Outcome};
use crate::reads::{DUTY_LOG_COLUMNS, duty_log_from};
use crate::{Backend, DutyLogEntry, StoreError};

/// Rows per multi-row statement. A batch has at most `MAX_BATCH` (1000)
/// commands, so this is at most two statements per table, with at most 3,500
/// parameters each (SQLite allows 32,766, PostgreSQL 65,535).
pub(super) const ROWS_PER_STATEMENT: usize = 500;

/// Whether `job` takes the bulk path.
pub(super) fn is_bulk(job: &Job) -> bool {
    matches!(job.command, Command::AddDutyLogEntry { .. }) && job.actor.id.is_some()
}

/// What the bulk path did.
pub(super) enum Bulk {
    /// One result per job, in order, and the org units it found to exist
    /// (to remember once the batch commits).
    Done {
        /// The results.
        results: Vec<Result<Applied, StoreError>>,
        /// Org units read from the database and found.
        units: Vec<i64>,
    },
    /// Some ids were stored already. [`duty_log`]'s transaction holds
    /// partial work and must be rolled back ([`duty_log_in_one_trip`] has
    /// rolled its own back); run the batch again with `precheck`.
    Resent,
}

/// `(…), (…)` with `cols` placeholders per row, in the backend's syntax.
pub(super) fn values(backend: Backend, rows: usize, cols: usize) -> String {
    values_from(backend, 1, rows, cols)
}

/// As [`values`], for a statement whose earlier placeholders number
/// `first - 1` (on PostgreSQL they are numbered; SQLite's are positional).
pub(super) fn values_from(backend: Backend, first: usize, rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * (cols * 3 + 4));
    let mut n = first - 1;
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            n += 1;
            match backend {
                // SQLite finds `?` by position; `$N` costs a name lookup per
                // parameter, a scan of all the statement's names: with
                // hundreds of parameters, that scan was an eighth of the
                // database thread's time.
                Backend::Sqlite => out.push('?'),
                Backend::Postgres => {
                    use std::fmt::Write;
                    let _ = write!(out, "${n}");
                }
            }
        }
        out.push(')');
    }
    out
}

/// The backend `conn` talks to.
pub(super) fn backend_of(conn: &AnyConnection) -> Backend {
    if conn.backend_name().eq_ignore_ascii_case("sqlite") { Backend::Sqlite } else { Backend::Postgres }
}

/// A list `(…)` of `n` placeholders.
pub(super) fn list(backend: Backend, n: usize) -> String {
    values(backend, 1, n)
}

/// One entry of the batch, borrowed from its job.
struct Entry<'a> {
    id: RecordId,
    /// `id` as stored (the hyphenated UUID).
    id_text: String,
    unit: i64,
    scope: &'a ScopePath,
    author: i64,
    author_name: &'a str,
    body: &'a str,
    occurred_us: i64,
}

/// The entries of `jobs`, which must all be bulk jobs (see [`is_bulk`]).
fn entries_of<'a>(jobs: &[&'a Job]) -> Vec<Entry<'a>> {
    jobs.iter()
        .map(|j| match &j.command {
            Command::AddDutyLogEntry { id, org_unit, scope, body, occurred_us } => Entry {
                id: *id,
                id_text: id.to_string(),
                unit: org_unit.0,
                scope,
                author: j.actor.id.expect("is_bulk admits only jobs with a person as actor").0,
                author_name: &j.actor.name,
                body,
                occurred_us: *occurred_us,
            },
            _ => unreachable!("is_bulk admits only AddDutyLogEntry"),
        })
        .collect()
}

const INSERT_ENTRIES: &str =
    "INSERT INTO duty_log (id, org_unit_id, scope, author_id, body, occurred_us, recorded_us) VALUES";
const INSERT_EVENTS: &str = "INSERT INTO events (at_us, actor_id, actor_name, kind, subject, scope, payload) VALUES";

/// Binds the 7 columns of [`INSERT_ENTRIES`] for `entries[i]`, each `i` of `chunk`.
fn bind_entries<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    entries: &'q [Entry<'q>],
    chunk: &[usize],
    now: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for &i in chunk {
        let e = &entries[i];
        q = q
            .bind(e.id_text.as_str())
            .bind(e.unit)
            .bind(e.scope.as_str())
            .bind(e.author)
            .bind(e.body)
            .bind(e.occurred_us)
            .bind(now);
    }
    q
}

/// The events of the new entries `fresh` (indexes into the entries), each
/// payload built once: as text for the row, as a value for the bus.
struct Events {
    payloads: Vec<(serde_json::Value, String)>,
    subjects: Vec<String>,
}

impl Events {
    fn of(entries: &[Entry], fresh: &[usize]) -> Events {
        let payloads = fresh
            .iter()
            .map(|&i| {
                let e = &entries[i];
                let v = json!({ "id": e.id, "org_unit_id": e.unit, "body": e.body, "occurred_us": e.occurred_us });
                let text = v.to_string();
                (v, text)
            })
            .collect();
        let subjects = fresh.iter().map(|&i| format!("duty_log:{}", entries[i].id_text)).collect();
        Events { payloads, subjects }
    }

    /// Binds the 7 columns of [`INSERT_EVENTS`] for each entry of `chunk`, the
    /// slice of `fresh` that starts at `base`.
    fn bind<'q>(
        &'q self,
        mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
        entries: &'q [Entry<'q>],
        chunk: &[usize],
        base: usize,
        now: i64,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        for (k, &i) in chunk.iter().enumerate() {
            let e = &entries[i];
            q = q
                .bind(now)
                .bind(e.author)
                .bind(e.author_name)
                .bind(EventKind::DutyLogEntryAdded.as_str())
                .bind(self.subjects[base + k].as_str())
                .bind(e.scope.as_str())
                .bind(self.payloads[base + k].1.as_str());
        }
        q
    }

    /// `(index into entries, what its job did)` for each of `fresh`, now
    /// stored, given the events' ids by subject.
    fn answers(
        self,
        entries: &[Entry],
        fresh: &[usize],
        event_ids: &HashMap<String, i64>,
        now: i64,
    ) -> Result<Vec<(usize, Applied)>, StoreError> {
        let mut out = Vec::with_capacity(fresh.len());
        for ((&i, (payload, _)), subject) in fresh.iter().zip(self.payloads).zip(self.subjects) {
            let e = &entries[i];
            let entry = DutyLogEntry {
                id: e.id,
                org_unit_id: OrgUnitId(e.unit),
                scope: e.scope.clone(),
                author_id: UserId(e.author),
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
                scope: e.scope.clone(),
                payload,
            };
            out.push((
                i,
                Applied { outcome: Outcome::DutyLogEntry { entry, created: true }, events: vec![Arc::new(event)] },
            ));
        }
        Ok(out)
    }
}

/// The whole batch `jobs` in one round trip to SQLite's connection thread:
/// `BEGIN IMMEDIATE`, the entries, their events and `COMMIT` as one
/// multi-statement string. Under load each round trip waits for a core that
/// HTTP is using; this path makes one where [`duty_log`] and its transaction
/// make four.
///
/// It takes only the plain case: all of `jobs` are bulk jobs (see
/// [`is_bulk`]), all their org units are known to exist and no id appears
/// twice. Otherwise, `Ok(None)` before anything is sent. The entries go in
/// without `ON CONFLICT`, so a resend of a stored id fails the insert before
/// `COMMIT` is reached: the transaction is rolled back and [`Bulk::Resent`]
/// sends the batch to the usual path with `precheck`, which sorts the
/// resends out. `Err` for any other database failure, also rolled back.
pub(super) async fn duty_log_in_one_trip(
    conn: &mut AnyConnection,
    jobs: &[Job],
    now: i64,
    known_units: &HashSet<i64>,
) -> Result<Option<Bulk>, StoreError> {
    if jobs.len() < 2 || !jobs.iter().all(is_bulk) {
        return Ok(None);
    }
    let picked: Vec<&Job> = jobs.iter().collect();
    let entries = entries_of(&picked);
    let mut ids = HashSet::with_capacity(entries.len());
    if !entries.iter().all(|e| known_units.contains(&e.unit) && ids.insert(e.id)) {
        return Ok(None);
    }
    let all: Vec<usize> = (0..entries.len()).collect();
    let events = Events::of(&entries, &all);
    let mut sql = String::from("BEGIN IMMEDIATE;\n");
    for chunk in all.chunks(ROWS_PER_STATEMENT) {
        sql.push_str(&format!("{INSERT_ENTRIES} {};\n", values(Backend::Sqlite, chunk.len(), 7)));
    }
    for chunk in all.chunks(ROWS_PER_STATEMENT) {
        sql.push_str(&format!("{INSERT_EVENTS} {} RETURNING id, subject;\n", values(Backend::Sqlite, chunk.len(), 7)));
    }
    sql.push_str("COMMIT;");
    let mut q = sqlx::query(&sql).persistent(false);
    for chunk in all.chunks(ROWS_PER_STATEMENT) {
        q = bind_entries(q, &entries, chunk, now);
    }
    for (at, chunk) in all.chunks(ROWS_PER_STATEMENT).enumerate() {
        q = events.bind(q, &entries, chunk, at * ROWS_PER_STATEMENT, now);
    }
    let rows = match q.fetch_all(&mut *conn).await {
        Ok(rows) => rows,
        Err(e) => {
            // Whichever statement failed, the transaction may be open.
            // ROLLBACK with none open fails harmlessly.
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            let e = super::classify(StoreError::from(e));
            return match e {
                StoreError::Conflict { field: "id" } => Ok(Some(Bulk::Resent)),
                other => Err(other),
            };
        }
    };
    let mut event_ids: HashMap<String, i64> = HashMap::with_capacity(entries.len());
    for row in rows {
        event_ids.insert(row.try_get("subject")?, row.try_get("id")?);
    }
    let results =
        events.answers(&entries, &all, &event_ids, now)?.into_iter().map(|(_, applied)| Ok(applied)).collect();
    Ok(Some(Bulk::Done { results, units: Vec::new() }))
}

/// Applies the duty-log entries `jobs` (all `AddDutyLogEntry` with a person as
/// actor) in the open transaction. `known_units` are org units known to
/// exist. `Err` only for a database failure.
pub(super) async fn duty_log(
    conn: &mut AnyConnection,
    backend: Backend,
    jobs: &[&Job],
    now: i64,
    known_units: &HashSet<i64>,
    precheck: bool,
) -> Result<Bulk, StoreError> {
    let entries = entries_of(jobs);

    // Which units exist: those known, and those the database has.
    let unknown: Vec<i64> = entries
        .iter()
        .map(|e| e.unit)
        .filter(|u| !known_units.contains(u))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut found: HashSet<i64> = HashSet::new();
    for chunk in unknown.chunks(ROWS_PER_STATEMENT) {
        let sql = format!("SELECT id FROM org_units WHERE id IN {}", list(backend, chunk.len()));
        let mut q = sqlx::query(&sql).persistent(false);
        for u in chunk {
            q = q.bind(*u);
        }
        for row in q.fetch_all(&mut *conn).await? {
            found.insert(row.try_get("id")?);
        }
    }
    let unit_ok = |u: i64| known_units.contains(&u) || found.contains(&u);

    // The first entry with each id is the one that may create it; a later
    // one with the same id is a resend of it.
    let mut first: HashMap<RecordId, usize> = HashMap::with_capacity(entries.len());
    let mut repeated: HashSet<RecordId> = HashSet::new();
    for (i, e) in entries.iter().enumerate() {
        if !unit_ok(e.unit) {
            continue;
        }
        match first.entry(e.id) {
            std::collections::hash_map::Entry::Occupied(_) => {
                repeated.insert(e.id);
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(i);
            }
        }
    }

    // On the second try, the stored records of the ids already there.
    let mut stored: HashMap<RecordId, DutyLogEntry> = HashMap::new();
    if precheck {
        let ids: Vec<&str> = first.values().map(|&i| entries[i].id_text.as_str()).collect();
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let sql = format!("SELECT {DUTY_LOG_COLUMNS} WHERE id IN {}", list(backend, chunk.len()));
            let mut q = sqlx::query(&sql).persistent(false);
            for id in chunk {
                q = q.bind(*id);
            }
            for row in q.fetch_all(&mut *conn).await? {
                let entry = duty_log_from(&row)?;
                stored.insert(entry.id, entry);
            }
        }
    }

    // Insert the new ones, in submission order.
    let mut fresh: Vec<usize> = first.values().copied().filter(|&i| !stored.contains_key(&entries[i].id)).collect();
    fresh.sort_unstable();
    let mut added = 0u64;
    for chunk in fresh.chunks(ROWS_PER_STATEMENT) {
        let sql = format!("{INSERT_ENTRIES} {} ON CONFLICT (id) DO NOTHING", values(backend, chunk.len(), 7));
        let q = bind_entries(sqlx::query(&sql).persistent(false), &entries, chunk, now);
        added += q.execute(&mut *conn).await?.rows_affected();
    }
    if added != fresh.len() as u64 {
        if precheck {
            // Checked under the same transaction (and, on PostgreSQL, the
            // writers' lock): only a write outside the writer can do this.
            return Err(StoreError::Corrupt(format!(
                "{} of {} new duty-log entries were stored by someone else meanwhile",
                fresh.len() as u64 - added,
                fresh.len()
            )));
        }
        return Ok(Bulk::Resent);
    }

    // Their events.
    let events = Events::of(&entries, &fresh);
    let mut event_ids: HashMap<String, i64> = HashMap::with_capacity(fresh.len());
    for (at, chunk) in fresh.chunks(ROWS_PER_STATEMENT).enumerate() {
        let sql = format!("{INSERT_EVENTS} {} RETURNING id, subject", values(backend, chunk.len(), 7));
        let q = events.bind(sqlx::query(&sql).persistent(false), &entries, chunk, at * ROWS_PER_STATEMENT, now);
        for row in q.fetch_all(&mut *conn).await? {
            event_ids.insert(row.try_get("subject")?, row.try_get("id")?);
        }
    }

    // One answer per job, in the order submitted.
    let mut created: HashMap<RecordId, DutyLogEntry> = HashMap::with_capacity(fresh.len());
    let mut results: Vec<Option<Result<Applied, StoreError>>> = (0..entries.len()).map(|_| None).collect();
    for (i, applied) in events.answers(&entries, &fresh, &event_ids, now)? {
        if repeated.contains(&entries[i].id)
            && let Outcome::DutyLogEntry { entry, .. } = &applied.outcome
        {
            created.insert(entry.id, entry.clone());
        }
        results[i] = Some(Ok(applied));
    }
    let results = entries
        .iter()
        .zip(results)
        .map(|(e, done)| {
            if let Some(done) = done {
                return done;
            }
            if !unit_ok(e.unit) {
                return Err(StoreError::Dangling { field: "org_unit_id" });
            }
            // A resend: the stored record, unless another author owns the id.
            let entry = stored
                .get(&e.id)
                .or_else(|| created.get(&e.id))
                .cloned()
                .ok_or_else(|| StoreError::Corrupt(format!("no stored duty-log entry {}", e.id_text)))?;
            if entry.author_id.0 != e.author {
                return Err(StoreError::Conflict { field: "id" });
            }
            Ok(Applied { outcome: Outcome::DutyLogEntry { entry, created: false }, events: vec![] })
        })
        .collect();
    Ok(Bulk::Done { results, units: found.into_iter().collect() })
}
