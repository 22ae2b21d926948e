//! How the writer records screenings, the incidents they raise and the
//! statistics they feed, and erases personal data after the retention
//! period. The rules (what is valid, what raises an incident) are the
//! domain's (`shouwang_domain::screening`); this file persists what it decided.
//!
//! A command holds one screening from a phone or a batch of up to a
//! thousand; either way its rows go in with multi-row statements, and the
//! hourly and daily counts are bumped once per key, not once per row.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::json;
use sqlx::{AnyConnection, Row};

use shouwang_domain::checkpoint::CheckpointStatus;
use shouwang_domain::screening::IncidentKind;
use shouwang_domain::{CheckpointId, EventKind, FieldError, NewEvent, RecordId, ScopePath, UserId};

use super::bulk::{backend_of, list, values, values_from};
use super::checkpoints::checkpoint;
use super::{Actor, Applied, Command, Decided, Job, Outcome};
use crate::checkpoints::{CHECKPOINT_COLUMNS, Checkpoint, checkpoint_from};
use crate::screenings::{NewScreening, SCREENING_COLUMNS, Screening, flags_of, person_from, screening_from};
use crate::{Backend, StoreError};

/// Rows per multi-row statement.
const ROWS_PER_STATEMENT: usize = 50;

/// One hour, in µs.
const HOUR_US: i64 = 3_600_000_000;

/// The incident id of kind `kind` raised by screening `id`: derived, so a
/// resend cannot open it twice.
pub(crate) fn incident_id(screening: RecordId, kind: IncidentKind) -> RecordId {
    screening.derived(match kind {
        IncidentKind::Fever => 1,
        IncidentKind::RedCode => 2,
        // Reported by hand with an id of their own; never derived.
        other => 2 + other as u8,
    })
}

pub(super) async fn apply(
    conn: &mut AnyConnection,
    actor: &Actor,
    command: &Command,
    now: i64,
) -> Result<Decided, StoreError> {
    match command {
        Command::RecordScreenings { checkpoint: cp, screenings } => record(conn, actor, *cp, screenings, now).await,
        Command::ErasePersonalData { before_us, limit } => erase(conn, *before_us, *limit, now).await,
        Command::RecordUnmaskedView { what, count, scope } => {
            let e = NewEvent::new(
                EventKind::PersonalDataViewed,
                format!("screenings:{what}"),
                scope.clone(),
                json!({ "what": what, "count": count }),
            );
            Ok((Outcome::Done, vec![e]))
        }
        _ => unreachable!("writer::apply routes only screening commands here"),
    }
}

async fn record(
    conn: &mut AnyConnection,
    actor: &Actor,
    cp_id: CheckpointId,
    screenings: &[NewScreening],
    now: i64,
) -> Result<Decided, StoreError> {
    let officer = actor.person()?;
    let cp = checkpoint(conn, cp_id).await?;
    let mut seen_here = HashSet::new();
    for (i, s) in screenings.iter().enumerate() {
        if !seen_here.insert(s.id) {
            return Err(StoreError::Invalid(FieldError::new(format!("screenings[{i}].id"), "duplicate")));
        }
    }
    let stored = already_stored(conn, screenings).await?;
    for (i, s) in screenings.iter().enumerate() {
        if let Some(old) = stored.get(&s.id)
            && (old.checkpoint_id != cp.id || old.officer_id != officer)
        {
            return Err(StoreError::Invalid(FieldError::new(format!("screenings[{i}].id"), "taken")));
        }
    }
    let new: Vec<&NewScreening> = screenings.iter().filter(|s| !stored.contains_key(&s.id)).collect();
    if !new.is_empty() && cp.status != CheckpointStatus::Active {
        return Err(StoreError::Invalid(
            FieldError::new("checkpoint_id", "post_not_active").arg("status", cp.status.as_str()),
        ));
    }
    let rows: Vec<NewRow> = new.iter().map(|&s| NewRow { cp: &cp, officer, s }).collect();
    insert_screenings(conn, &rows, now).await?;
    insert_people(conn, &rows).await?;
    let mut events = insert_incidents(conn, &cp, &new, now).await?;
    bump_counts(conn, &rows).await?;
    if !new.is_empty() {
        events.insert(0, recorded_event(&cp, &new));
    }
    let outcome = screenings
        .iter()
        .map(|s| match stored.get(&s.id) {
            Some(old) => (old.clone(), false),
            None => (Screening::from_new(s, cp.id, &cp.scope, officer, now), true),
        })
        .collect();
    Ok((Outcome::Screenings(outcome), events))
}

/// Whether `job` may be recorded together with others (see
/// [`record_together`]).
pub(super) fn goes_together(job: &Job) -> bool {
    matches!(job.command, Command::RecordScreenings { .. }) && job.actor.id.is_some()
}

/// Records the screenings of many commands (`jobs`, all
/// [`goes_together`]) in a handful of statements, where [`record`] would
/// make seven or eight round trips for each: with hundreds of phones sending
/// one screening each, those round trips bound the writer.
///
/// Only the plain case goes this way: a command whose post exists and is
/// active, and whose ids are all new and appear nowhere else in the batch.
/// The others get `None` and are applied one by one afterwards, by
/// [`record`], which gives each its proper answer (a resend, a taken id, a
/// closed post). The conformance suite runs both paths.
pub(super) async fn record_together(
    conn: &mut AnyConnection,
    jobs: &[&Job],
    now: i64,
) -> Result<Vec<Option<Result<Applied, StoreError>>>, StoreError> {
    let backend = backend_of(conn);
    let commands: Vec<(CheckpointId, &[NewScreening])> = jobs
        .iter()
        .map(|j| match &j.command {
            Command::RecordScreenings { checkpoint, screenings } => (*checkpoint, screenings.as_slice()),
            _ => unreachable!("goes_together admits only RecordScreenings"),
        })
        .collect();
    let mut times: HashMap<RecordId, usize> = HashMap::new();
    for (_, screenings) in &commands {
        for s in screenings.iter() {
            *times.entry(s.id).or_default() += 1;
        }
    }
    let mut plain: Vec<bool> =
        commands.iter().map(|(_, screenings)| screenings.iter().all(|s| times[&s.id] == 1)).collect();

    // The posts, in one statement.
    let wanted: Vec<i64> = commands
        .iter()
        .zip(&plain)
        .filter(|(_, p)| **p)
        .map(|((cp, _), _)| cp.0)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut posts: HashMap<CheckpointId, Checkpoint> = HashMap::new();
    for chunk in wanted.chunks(ROWS_PER_STATEMENT * 4) {
        let sql = format!("SELECT {CHECKPOINT_COLUMNS} WHERE id IN {}", list(backend, chunk.len()));
        let mut q = sqlx::query(&sql).persistent(false);
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *conn).await? {
            let cp = checkpoint_from(&row)?;
            posts.insert(cp.id, cp);
        }
    }
    for ((cp, _), p) in commands.iter().zip(plain.iter_mut()) {
        *p = *p && posts.get(cp).is_some_and(|c| c.status == CheckpointStatus::Active);
    }

    // Which ids are stored already, in one statement per chunk (see
    // `already_stored` for why it is not cached).
    let ids: Vec<String> = commands
        .iter()
        .zip(&plain)
        .filter(|(_, p)| **p)
        .flat_map(|((_, screenings), _)| screenings.iter().map(|s| s.id.to_string()))
        .collect();
    let mut stored: HashSet<String> = HashSet::new();
    for chunk in ids.chunks(ROWS_PER_STATEMENT * 4) {
        let sql = format!("SELECT id FROM screenings WHERE id IN {}", list(backend, chunk.len()));
        let mut q = sqlx::query(&sql).persistent(false);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        for row in q.fetch_all(&mut *conn).await? {
            stored.insert(row.try_get("id")?);
        }
    }
    if !stored.is_empty() {
        for ((_, screenings), p) in commands.iter().zip(plain.iter_mut()) {
            *p = *p && !screenings.iter().any(|s| stored.contains(&s.id.to_string()));
        }
    }

    // The plain ones, each with its post and officer.
    let mut plain_jobs: Vec<Option<(&Checkpoint, UserId)>> = Vec::with_capacity(jobs.len());
    for ((job, (cp, _)), p) in jobs.iter().zip(&commands).zip(&plain) {
        plain_jobs.push(if *p { Some((&posts[cp], job.actor.person()?)) } else { None });
    }

    // Together: the rows first (an incident names its screening), then the
    // incidents and the events.
    let mut rows = Vec::new();
    for ((_, screenings), plain) in commands.iter().zip(&plain_jobs) {
        if let Some((cp, officer)) = *plain {
            rows.extend(screenings.iter().map(|s| NewRow { cp, officer, s }));
        }
    }
    insert_screenings(conn, &rows, now).await?;
    insert_people(conn, &rows).await?;
    bump_counts(conn, &rows).await?;
    let mut events = Vec::new();
    let mut events_of = Vec::with_capacity(jobs.len());
    for ((job, (_, screenings)), plain) in jobs.iter().zip(&commands).zip(&plain_jobs) {
        let before = events.len();
        if let Some((cp, _)) = *plain
            && !screenings.is_empty()
        {
            let new: Vec<&NewScreening> = screenings.iter().collect();
            events.push((&job.actor, recorded_event(cp, &new)));
            for e in insert_incidents(conn, cp, &new, now).await? {
                events.push((&job.actor, e));
            }
        }
        events_of.push(events.len() - before);
    }
    let mut events = super::events::insert_many(conn, backend, events, now).await?.into_iter();

    let mut answers = Vec::with_capacity(jobs.len());
    for (((_, screenings), plain), n) in commands.iter().zip(plain_jobs).zip(events_of) {
        answers.push(plain.map(|(cp, officer)| {
            let outcome =
                screenings.iter().map(|s| (Screening::from_new(s, cp.id, &cp.scope, officer, now), true)).collect();
            Ok(Applied { outcome: Outcome::Screenings(outcome), events: events.by_ref().take(n).collect() })
        }));
    }
    Ok(answers)
}

/// The screenings among `screenings` that are already stored (resends),
/// with their people.
async fn already_stored(
    conn: &mut AnyConnection,
    screenings: &[NewScreening],
) -> Result<HashMap<RecordId, Screening>, StoreError> {
    let mut found = HashMap::new();
    for chunk in screenings.chunks(ROWS_PER_STATEMENT * 4) {
        let sql = format!("SELECT {SCREENING_COLUMNS} WHERE id IN {}", list(backend_of(conn), chunk.len()));
        // Planned afresh each time, never cached: PostgreSQL settles on a
        // generic plan for a prepared statement after five runs, and one
        // made while the table was small scans it whole. That plan stayed
        // while the table grew, and cost 0.8 ms of CPU per row at a few
        // hundred thousand screenings (a 0.03× of `COPY`).
        let mut q = sqlx::query(&sql).persistent(false);
        for s in chunk {
            q = q.bind(s.id.to_string());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let s = screening_from(&row)?;
            found.insert(s.id, s);
        }
    }
    for s in found.values_mut() {
        let rows = sqlx::query(
            "SELECT name, id_number, phone, temperature_dc, origin, destination, health_code \
             FROM screened_people WHERE screening_id = $1 ORDER BY position",
        )
        .bind(s.id.to_string())
        .fetch_all(&mut *conn)
        .await?;
        for r in rows {
            s.people.push(person_from(&r)?);
        }
    }
    Ok(found)
}

/// A new screening to store, with its post and the officer who logged it.
struct NewRow<'a> {
    cp: &'a Checkpoint,
    officer: UserId,
    s: &'a NewScreening,
}

async fn insert_screenings(conn: &mut AnyConnection, rows: &[NewRow<'_>], now: i64) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO screenings (id, checkpoint_id, scope, occurred_us, recorded_us, officer_id, direction, plate, \
             vehicle_type, people_count, cargo, pass_number, outcome, note, flags) VALUES {}",
            values(backend_of(conn), chunk.len(), 15)
        );
        let mut q = sqlx::query(&sql);
        for NewRow { cp, officer, s } in chunk {
            q = q
                .bind(s.id.to_string())
                .bind(cp.id.0)
                .bind(cp.scope.as_str())
                .bind(s.occurred_us)
                .bind(now)
                .bind(officer.0)
                .bind(s.direction.as_str())
                .bind(s.plate.as_deref())
                .bind(s.vehicle_type.as_str())
                .bind(s.people_count)
                .bind(s.cargo.as_str())
                .bind(s.pass_number.as_deref())
                .bind(s.outcome.as_str())
                .bind(s.note.as_str())
                .bind(flags_of(s));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_people(conn: &mut AnyConnection, rows: &[NewRow<'_>]) -> Result<(), StoreError> {
    let people: Vec<(RecordId, i64, &crate::screenings::PersonRecord)> =
        rows.iter().flat_map(|r| r.s.people.iter().enumerate().map(move |(i, p)| (r.s.id, i as i64, p))).collect();
    for chunk in people.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO screened_people (screening_id, position, name, id_number, phone, temperature_dc, origin, \
             destination, health_code) VALUES {}",
            values(backend_of(conn), chunk.len(), 9)
        );
        let mut q = sqlx::query(&sql);
        for (id, position, p) in chunk {
            q = q
                .bind(id.to_string())
                .bind(*position)
                .bind(p.name.as_deref())
                .bind(p.id_number.as_deref())
                .bind(p.phone.as_deref())
                .bind(p.temperature_dc)
                .bind(p.origin.as_deref())
                .bind(p.destination.as_deref())
                .bind(p.health_code.map(|c| c.as_str()));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Opens the incidents the new screenings raise; one event each.
async fn insert_incidents(
    conn: &mut AnyConnection,
    cp: &Checkpoint,
    new: &[&NewScreening],
    now: i64,
) -> Result<Vec<NewEvent>, StoreError> {
    let mut events = Vec::new();
    for s in new {
        for (kind, severity) in &s.incidents {
            let id = incident_id(s.id, *kind);
            sqlx::query(
                "INSERT INTO incidents (id, kind, severity, status, checkpoint_id, scope, screening_id, opened_us) \
                 VALUES ($1, $2, $3, 'open', $4, $5, $6, $7)",
            )
            .bind(id.to_string())
            .bind(kind.as_str())
            .bind(severity.as_str())
            .bind(cp.id.0)
            .bind(cp.scope.as_str())
            .bind(s.id.to_string())
            .bind(now)
            .execute(&mut *conn)
            .await?;
            let highest = s.people.iter().filter_map(|p| p.temperature_dc).max();
            events.push(NewEvent::new(
                EventKind::IncidentOpened,
                format!("incident:{id}"),
                cp.scope.clone(),
                json!({ "id": id, "kind": kind, "severity": severity, "checkpoint_id": cp.id, "code": cp.code,
                        "name": cp.name, "screening_id": s.id, "temperature_dc": highest,
                        "direction": s.direction, "occurred_us": s.occurred_us }),
            ));
        }
    }
    Ok(events)
}

/// Adds the new screenings to their posts' hourly, daily and all-time counts.
async fn bump_counts(conn: &mut AnyConnection, rows: &[NewRow<'_>]) -> Result<(), StoreError> {
    type Key = (i64, i64, &'static str, &'static str, &'static str);
    let mut hours: BTreeMap<Key, (i64, i64)> = BTreeMap::new();
    let mut days: BTreeMap<Key, (i64, i64)> = BTreeMap::new();
    let mut all_time: BTreeMap<Key, (i64, i64)> = BTreeMap::new();
    for NewRow { cp, s, .. } in rows {
        let keys = (s.direction.as_str(), s.cargo.as_str(), s.outcome.as_str());
        let hour = s.occurred_us.div_euclid(HOUR_US) * HOUR_US;
        // The all-time row has no time column; 0 stands in for it in the key.
        for (map, at) in [(&mut hours, hour), (&mut days, s.day_us), (&mut all_time, 0)] {
            let n = map.entry((cp.id.0, at, keys.0, keys.1, keys.2)).or_default();
            n.0 += 1;
            n.1 += s.people_count;
        }
    }
    let rollups = [
        ("screening_hours", Some("hour_us"), &hours),
        ("screening_days", Some("day_us"), &days),
        ("screening_totals", None, &all_time),
    ];
    for (table, at, counts) in rollups {
        let rows: Vec<_> = counts.iter().collect();
        let (at_column, cols) = match at {
            Some(at) => (format!("{at}, "), 7),
            None => (String::new(), 6),
        };
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO {table} (checkpoint_id, {at_column}direction, cargo, outcome, screenings, people) VALUES {} \
                 ON CONFLICT (checkpoint_id, {at_column}direction, cargo, outcome) DO UPDATE SET \
                 screenings = {table}.screenings + excluded.screenings, people = {table}.people + excluded.people",
                values(backend_of(conn), chunk.len(), cols)
            );
            let mut q = sqlx::query(&sql);
            for ((cp, at_us, direction, cargo, outcome), (n, people)) in chunk {
                q = q.bind(*cp);
                if at.is_some() {
                    q = q.bind(*at_us);
                }
                q = q.bind(*direction).bind(*cargo).bind(*outcome).bind(*n).bind(*people);
            }
            q.execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// One event for the screenings a command added: how many, by outcome; no
/// personal data (the event log is read far more widely than screenings).
fn recorded_event(cp: &Checkpoint, new: &[&NewScreening]) -> NewEvent {
    let mut outcomes: BTreeMap<&str, i64> = BTreeMap::new();
    for s in new {
        *outcomes.entry(s.outcome.as_str()).or_default() += 1;
    }
    let mut payload = json!({
        "checkpoint_id": cp.id, "code": cp.code, "name": cp.name, "count": new.len(),
        "people": new.iter().map(|s| s.people_count).sum::<i64>(), "outcomes": outcomes,
        "flagged": new.iter().filter(|s| !s.incidents.is_empty()).count(),
    });
    if let [one] = new {
        payload["id"] = json!(one.id);
        payload["direction"] = json!(one.direction);
    }
    NewEvent::new(EventKind::ScreeningRecorded, format!("checkpoint:{}", cp.id), cp.scope.clone(), payload)
}

/// Erases the personal fields of at most `limit` screenings that happened
/// before `before_us`; counts and categories stay.
async fn erase(conn: &mut AnyConnection, before_us: i64, limit: i64, now: i64) -> Result<Decided, StoreError> {
    let backend = backend_of(conn);
    let rows = sqlx::query(
        "SELECT id, scope FROM screenings WHERE erased_us IS NULL AND occurred_us < $1 ORDER BY occurred_us LIMIT $2",
    )
    .bind(before_us)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<String> = rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
    // One event per post, in the post's scope, so that those who oversee it
    // see that its records were erased.
    let mut per_post: BTreeMap<String, i64> = BTreeMap::new();
    for r in &rows {
        *per_post.entry(r.try_get("scope")?).or_default() += 1;
    }
    for chunk in ids.chunks(ROWS_PER_STATEMENT * 4) {
        let sql = format!(
            "UPDATE screenings SET plate = NULL, pass_number = NULL, note = '', erased_us = {} WHERE id IN {}",
            if backend == Backend::Sqlite { "?" } else { "$1" },
            values_from(backend, 2, 1, chunk.len())
        );
        // Not cached, as in `already_stored`: a list of keys must use the key.
        let mut q = sqlx::query(&sql).persistent(false).bind(now);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        q.execute(&mut *conn).await?;
        let sql = format!(
            "UPDATE screened_people SET name = NULL, id_number = NULL, phone = NULL WHERE screening_id IN {}",
            list(backend, chunk.len())
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for id in chunk {
            q = q.bind(id.as_str());
        }
        q.execute(&mut *conn).await?;
    }
    let mut events = Vec::with_capacity(per_post.len());
    for (scope, count) in per_post {
        events.push(NewEvent::new(
            EventKind::PersonalDataErased,
            "screenings:retention".to_owned(),
            ScopePath::from_stored(&scope)?,
            json!({ "count": count, "before_us": before_us }),
        ));
    }
    Ok((Outcome::Count(ids.len() as i64), events))
}
