//! How the writer keeps labour export: workers, demand, placements and
//! transport batches. The domain decides what a worker or a demand may say
//! and when a batch may leave; this file checks the rest against the rows as
//! they stand inside the transaction: a worker placed twice over the same
//! days, a demand already full, a passenger on another batch, more
//! passengers than seats.
//!
//! Every refusal comes before the first row is written: the batch's
//! transaction commits the other commands in it, so a half-applied command
//! would stay.
//!
//! Repeats are harmless: confirming a worker already placed in the same
//! demand returns that placement, and departing, arriving or cancelling a
//! second time changes nothing (`created: false`).

use serde_json::json;
use sqlx::{AnyConnection, Row};

use shouwang_domain::labour::{
    BatchState, DemandFields, HealthStatus, PlacementState, WorkerFields, check_seats, may_depart, overlaps,
    passes_check,
};
use shouwang_domain::screening::BodyTemperature;
use shouwang_domain::{
    BatchId, DemandId, EventKind, FieldError, NewEvent, OrgUnitKind, PlacementId, ScopePath, WorkerId,
};

use super::{Actor, Command, Decided, Outcome};
use crate::StoreError;
use crate::labour::{Batch, Demand, NewBatch, Placement, Worker, batch, demand, joined, placement, worker};

fn invalid(field: &str, code: &'static str) -> StoreError {
    StoreError::Invalid(FieldError::new(field, code))
}

/// A missing record named by the field that points at it.
fn named(field: &'static str) -> impl Fn(StoreError) -> StoreError {
    move |e| match e {
        StoreError::NotFound => invalid(field, "not_found"),
        other => other,
    }
}

pub(super) async fn apply(
    conn: &mut AnyConnection,
    actor: &Actor,
    command: &Command,
    now: i64,
) -> Result<Decided, StoreError> {
    match command {
        Command::CreateWorker(fields) => create_worker(conn, actor, fields, now).await,
        Command::UpdateWorker { id, fields } => update_worker(conn, *id, fields, now).await,
        Command::PostDemand { fields, scope } => post_demand(conn, actor, fields, scope, now).await,
        Command::UpdateDemand { id, fields } => update_demand(conn, *id, fields, now).await,
        Command::ConfirmPlacement { worker, demand } => confirm(conn, actor, *worker, *demand, now).await,
        Command::CancelPlacement { id } => cancel(conn, *id, now).await,
        Command::PlanBatch(b) => plan(conn, actor, b, now).await,
        Command::AddPassengers { batch, placements } => add_passengers(conn, *batch, placements, now).await,
        Command::CheckPassenger { batch, placement, temperature } => {
            check(conn, actor, *batch, *placement, *temperature, now).await
        }
        Command::DepartBatch { batch } => depart(conn, *batch, now).await,
        Command::ArriveBatch { batch } => arrive(conn, actor, *batch, now).await,
        _ => unreachable!("writer::apply routes only labour commands here"),
    }
}

fn worker_event(w: &Worker, created: bool) -> NewEvent {
    // No name or phone: the event log is read more widely than the pool.
    NewEvent::new(
        EventKind::WorkerUpdated,
        format!("worker:{}", w.id),
        w.scope.clone(),
        json!({ "id": w.id, "village_id": w.village_id, "skills": w.skills, "health": w.health,
                "available_day": w.available_day, "destinations": w.destinations, "created": created }),
    )
}

fn demand_event(d: &Demand, created: bool) -> NewEvent {
    NewEvent::new(
        EventKind::DemandUpdated,
        format!("demand:{}", d.id),
        d.scope.clone(),
        json!({ "id": d.id, "employer": d.employer, "enterprise_id": d.enterprise_id, "region": d.region,
                "positions": d.positions, "filled": d.filled, "start_day": d.start_day, "end_day": d.end_day,
                "created": created }),
    )
}

fn placement_event(p: &Placement) -> NewEvent {
    NewEvent::new(
        EventKind::PlacementUpdated,
        format!("placement:{}", p.id),
        p.scope.clone(),
        json!({ "id": p.id, "worker_id": p.worker_id, "demand_id": p.demand_id, "employer": p.employer,
                "region": p.region, "state": p.state, "start_day": p.start_day }),
    )
}

fn batch_event(kind: EventKind, b: &Batch) -> NewEvent {
    let checked = b.passengers.iter().filter(|p| p.checked_us.is_some()).count();
    NewEvent::new(
        kind,
        format!("batch:{}", b.id),
        b.scope.clone(),
        json!({ "id": b.id, "day": b.day, "origin": b.origin, "destination": b.destination, "plate": b.plate,
                "seats": b.seats, "passengers": b.passengers.len(), "checked": checked, "state": b.state }),
    )
}

/// The village's path, after checking the village and the household.
pub(super) async fn check_home(conn: &mut AnyConnection, f: &WorkerFields) -> Result<ScopePath, StoreError> {
    let unit = sqlx::query("SELECT kind, path FROM org_units WHERE id = $1")
        .bind(f.village.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| invalid("village_id", "not_found"))?;
    if unit.try_get::<String, _>("kind")? != OrgUnitKind::Village.as_str() {
        return Err(invalid("village_id", "not_a_village"));
    }
    if let Some(h) = f.household {
        let village: i64 = sqlx::query("SELECT village_id FROM households WHERE id = $1")
            .bind(h.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| invalid("household_id", "not_found"))?
            .try_get("village_id")?;
        if village != f.village.0 {
            return Err(invalid("household_id", "not_in_village"));
        }
    }
    Ok(ScopePath::from_stored(unit.try_get("path")?)?)
}

pub(super) async fn create_worker(
    conn: &mut AnyConnection,
    actor: &Actor,
    f: &WorkerFields,
    now: i64,
) -> Result<Decided, StoreError> {
    let scope = check_home(conn, f).await?;
    let row = sqlx::query(
        "INSERT INTO workers (village_id, household_id, scope, name, phone, age, skills, health, last_check_day, \
         available_day, destinations, note, created_by, created_us, updated_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
    )
    .bind(f.village.0)
    .bind(f.household.map(|h| h.0))
    .bind(scope.as_str())
    .bind(f.name.expose())
    .bind(f.phone.as_ref().map_or("", |p| p.expose()))
    .bind(i64::from(f.age))
    .bind(joined(&f.skills, |s| s.as_str()))
    .bind(f.health.as_str())
    .bind(f.last_check_day)
    .bind(f.available_day)
    .bind(joined(&f.destinations, |r| r.as_str()))
    .bind(&f.note)
    .bind(actor.id.map(|u| u.0))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let w = worker(conn, WorkerId(row.try_get("id")?)).await?;
    let event = worker_event(&w, true);
    Ok((Outcome::Worker(w), vec![event]))
}

async fn update_worker(
    conn: &mut AnyConnection,
    id: WorkerId,
    f: &WorkerFields,
    now: i64,
) -> Result<Decided, StoreError> {
    let before = worker(conn, id).await?;
    if f.village != before.village_id {
        // The scope hangs off the village, and the placements' with it.
        return Err(invalid("village_id", "fixed"));
    }
    check_home(conn, f).await?;
    sqlx::query(
        "UPDATE workers SET household_id = $1, name = $2, phone = $3, age = $4, skills = $5, health = $6, \
         last_check_day = $7, available_day = $8, destinations = $9, note = $10, updated_us = $11 WHERE id = $12",
    )
    .bind(f.household.map(|h| h.0))
    .bind(f.name.expose())
    .bind(f.phone.as_ref().map_or("", |p| p.expose()))
    .bind(i64::from(f.age))
    .bind(joined(&f.skills, |s| s.as_str()))
    .bind(f.health.as_str())
    .bind(f.last_check_day)
    .bind(f.available_day)
    .bind(joined(&f.destinations, |r| r.as_str()))
    .bind(&f.note)
    .bind(now)
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    let w = worker(conn, id).await?;
    let event = worker_event(&w, false);
    Ok((Outcome::Worker(w), vec![event]))
}

pub(super) async fn post_demand(
    conn: &mut AnyConnection,
    actor: &Actor,
    f: &DemandFields,
    poster_scope: &ScopePath,
    now: i64,
) -> Result<Decided, StoreError> {
    let (scope, employer) = match f.enterprise {
        Some(e) => {
            let row = sqlx::query("SELECT name, scope FROM enterprises WHERE id = $1")
                .bind(e.0)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| invalid("enterprise_id", "not_found"))?;
            (ScopePath::from_stored(row.try_get("scope")?)?, row.try_get::<String, _>("name")?)
        }
        None => (poster_scope.clone(), f.employer.clone()),
    };
    let row = sqlx::query(
        "INSERT INTO labour_demand (enterprise_id, employer, scope, location, region, positions, skills, \
         pay_yuan_month, start_day, end_day, accommodation, note, posted_by, created_us, updated_us) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
    )
    .bind(f.enterprise.map(|e| e.0))
    .bind(&employer)
    .bind(scope.as_str())
    .bind(&f.location)
    .bind(f.region.as_str())
    .bind(i64::from(f.positions))
    .bind(joined(&f.skills, |s| s.as_str()))
    .bind(f.pay_yuan_month)
    .bind(f.start_day)
    .bind(f.end_day)
    .bind(i64::from(f.accommodation))
    .bind(&f.note)
    .bind(actor.id.map(|u| u.0))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let d = demand(conn, DemandId(row.try_get("id")?)).await?;
    let event = demand_event(&d, true);
    Ok((Outcome::Demand(d), vec![event]))
}

async fn update_demand(
    conn: &mut AnyConnection,
    id: DemandId,
    f: &DemandFields,
    now: i64,
) -> Result<Decided, StoreError> {
    let before = demand(conn, id).await?;
    if f.enterprise != before.enterprise_id {
        return Err(invalid("enterprise_id", "fixed"));
    }
    if i64::from(f.positions) < before.filled {
        return Err(StoreError::Invalid(FieldError::new("positions", "below_filled").arg("min", before.filled)));
    }
    // Placements copied the dates; moving them would move the workers'.
    if before.filled > 0 && f.start_day != before.start_day {
        return Err(invalid("start", "fixed"));
    }
    if before.filled > 0 && f.end_day != before.end_day {
        return Err(invalid("end", "fixed"));
    }
    let employer = if before.enterprise_id.is_some() { before.employer.clone() } else { f.employer.clone() };
    sqlx::query(
        "UPDATE labour_demand SET employer = $1, location = $2, region = $3, positions = $4, skills = $5, \
         pay_yuan_month = $6, start_day = $7, end_day = $8, accommodation = $9, note = $10, updated_us = $11 \
         WHERE id = $12",
    )
    .bind(&employer)
    .bind(&f.location)
    .bind(f.region.as_str())
    .bind(i64::from(f.positions))
    .bind(joined(&f.skills, |s| s.as_str()))
    .bind(f.pay_yuan_month)
    .bind(f.start_day)
    .bind(f.end_day)
    .bind(i64::from(f.accommodation))
    .bind(&f.note)
    .bind(now)
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    let d = demand(conn, id).await?;
    let event = demand_event(&d, false);
    Ok((Outcome::Demand(d), vec![event]))
}

async fn confirm(
    conn: &mut AnyConnection,
    actor: &Actor,
    worker_id: WorkerId,
    demand_id: DemandId,
    now: i64,
) -> Result<Decided, StoreError> {
    let w = worker(conn, worker_id).await.map_err(named("worker_id"))?;
    let d = demand(conn, demand_id).await.map_err(named("demand_id"))?;
    let live = sqlx::query(
        "SELECT id, demand_id, start_day, end_day FROM placements WHERE worker_id = $1 AND state <> 'cancelled'",
    )
    .bind(w.id.0)
    .fetch_all(&mut *conn)
    .await?;
    for r in &live {
        if r.try_get::<i64, _>("demand_id")? == d.id.0 {
            // A resend (or a second click): the placement stands.
            let p = placement(conn, PlacementId(r.try_get("id")?)).await?;
            return Ok((Outcome::Placement { placement: p, created: false }, Vec::new()));
        }
    }
    if w.health == HealthStatus::Unwell {
        return Err(invalid("worker_id", "unwell"));
    }
    for r in &live {
        if overlaps(r.try_get("start_day")?, r.try_get("end_day")?, d.start_day, d.end_day) {
            return Err(StoreError::Invalid(
                FieldError::new("worker_id", "placed_overlapping").arg("placement", r.try_get::<i64, _>("id")?),
            ));
        }
    }
    if d.filled >= d.positions {
        return Err(StoreError::Invalid(FieldError::new("demand_id", "positions_filled").arg("max", d.positions)));
    }
    let row = sqlx::query(
        "INSERT INTO placements (worker_id, demand_id, scope, start_day, end_day, state, confirmed_by, confirmed_us, \
         updated_us) VALUES ($1, $2, $3, $4, $5, 'confirmed', $6, $7, $7) RETURNING id",
    )
    .bind(w.id.0)
    .bind(d.id.0)
    .bind(w.scope.as_str())
    .bind(d.start_day)
    .bind(d.end_day)
    .bind(actor.id.map(|u| u.0))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let p = placement(conn, PlacementId(row.try_get("id")?)).await?;
    let event = placement_event(&p);
    Ok((Outcome::Placement { placement: p, created: true }, vec![event]))
}

async fn cancel(conn: &mut AnyConnection, id: PlacementId, now: i64) -> Result<Decided, StoreError> {
    let p = placement(conn, id).await?;
    if p.state == PlacementState::Cancelled {
        return Ok((Outcome::Placement { placement: p, created: false }, Vec::new()));
    }
    p.state.step(PlacementState::Cancelled).map_err(StoreError::Invalid)?;
    // Still confirmed, so its batch (if any) has not left: it gives up the seat.
    sqlx::query("DELETE FROM batch_passengers WHERE placement_id = $1").bind(id.0).execute(&mut *conn).await?;
    sqlx::query("UPDATE placements SET state = 'cancelled', updated_us = $1 WHERE id = $2")
        .bind(now)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    let after = placement(conn, id).await?;
    let event = placement_event(&after);
    Ok((Outcome::Placement { placement: after, created: true }, vec![event]))
}

/// Checks placements for a batch within `scope`: each confirmed, within the
/// scope, on no batch yet (this one included). Fields are `passengers[i]`.
async fn check_passengers(
    conn: &mut AnyConnection,
    scope: &ScopePath,
    placements: &[PlacementId],
) -> Result<(), StoreError> {
    for (i, id) in placements.iter().enumerate() {
        let field = format!("passengers[{i}]");
        let p = match placement(conn, *id).await {
            Ok(p) if scope.contains(&p.scope) => p,
            Ok(_) | Err(StoreError::NotFound) => return Err(StoreError::Invalid(FieldError::new(field, "not_found"))),
            Err(e) => return Err(e),
        };
        if p.state != PlacementState::Confirmed {
            return Err(StoreError::Invalid(FieldError::new(field, "not_confirmed").arg("state", p.state.as_str())));
        }
        if let Some(other) = p.batch_id {
            return Err(StoreError::Invalid(FieldError::new(field, "on_another_batch").arg("batch", other)));
        }
    }
    Ok(())
}

async fn insert_passengers(
    conn: &mut AnyConnection,
    batch: BatchId,
    from: usize,
    placements: &[PlacementId],
) -> Result<(), StoreError> {
    for (i, p) in placements.iter().enumerate() {
        sqlx::query("INSERT INTO batch_passengers (batch_id, placement_id, position) VALUES ($1, $2, $3)")
            .bind(batch.0)
            .bind(p.0)
            .bind((from + i) as i64)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn plan(conn: &mut AnyConnection, actor: &Actor, b: &NewBatch, now: i64) -> Result<Decided, StoreError> {
    let unit = sqlx::query("SELECT kind, path FROM org_units WHERE id = $1")
        .bind(b.org_unit.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| invalid("org_unit_id", "not_found"))?;
    let kind = OrgUnitKind::parse("kind", unit.try_get("kind")?)?;
    if !matches!(kind, OrgUnitKind::Township | OrgUnitKind::County | OrgUnitKind::City) {
        return Err(invalid("org_unit_id", "not_a_township"));
    }
    let scope = ScopePath::from_stored(unit.try_get("path")?)?;
    let ids: Vec<i64> = b.passengers.iter().map(|p| p.0).collect();
    check_seats(&ids, b.seats).map_err(StoreError::Invalid)?;
    check_passengers(conn, &scope, &b.passengers).await?;
    let row = sqlx::query(
        "INSERT INTO transport_batches (org_unit_id, scope, day, origin, destination, plate, seats, state, \
         planned_by, planned_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, 'planned', $8, $9, $9) RETURNING id",
    )
    .bind(b.org_unit.0)
    .bind(scope.as_str())
    .bind(b.day)
    .bind(&b.origin)
    .bind(&b.destination)
    .bind(b.plate.as_str())
    .bind(b.seats)
    .bind(actor.id.map(|u| u.0))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let id = BatchId(row.try_get("id")?);
    insert_passengers(conn, id, 0, &b.passengers).await?;
    let stored = batch(conn, id).await?;
    let mut events = vec![batch_event(EventKind::BatchUpdated, &stored)];
    for p in &stored.passengers {
        events.push(placement_event(&placement(conn, p.placement_id).await?));
    }
    Ok((Outcome::Batch { batch: stored, created: true }, events))
}

/// Refuses a change to a batch that has left.
fn still_planned(b: &Batch) -> Result<(), StoreError> {
    if b.state == BatchState::Planned {
        Ok(())
    } else {
        Err(StoreError::Invalid(FieldError::new("state", "not_planned").arg("state", b.state.as_str())))
    }
}

async fn add_passengers(
    conn: &mut AnyConnection,
    id: BatchId,
    placements: &[PlacementId],
    now: i64,
) -> Result<Decided, StoreError> {
    let b = batch(conn, id).await?;
    still_planned(&b)?;
    if placements.is_empty() {
        return Err(invalid("passengers", "required"));
    }
    for (i, p) in placements.iter().enumerate() {
        if placements[..i].contains(p) {
            return Err(StoreError::Invalid(FieldError::new(format!("passengers[{i}]"), "duplicate")));
        }
    }
    let count = b.passengers.len() + placements.len();
    if count as i64 > b.seats {
        return Err(StoreError::Invalid(
            FieldError::new("passengers", "over_seats").arg("seats", b.seats).arg("count", count),
        ));
    }
    check_passengers(conn, &b.scope, placements).await?;
    insert_passengers(conn, id, b.passengers.len(), placements).await?;
    sqlx::query("UPDATE transport_batches SET updated_us = $1 WHERE id = $2")
        .bind(now)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    let stored = batch(conn, id).await?;
    let mut events = vec![batch_event(EventKind::BatchUpdated, &stored)];
    for p in placements {
        events.push(placement_event(&placement(conn, *p).await?));
    }
    Ok((Outcome::Batch { batch: stored, created: true }, events))
}

async fn check(
    conn: &mut AnyConnection,
    actor: &Actor,
    id: BatchId,
    passenger: PlacementId,
    temperature: BodyTemperature,
    now: i64,
) -> Result<Decided, StoreError> {
    let b = batch(conn, id).await?;
    still_planned(&b)?;
    if !b.passengers.iter().any(|p| p.placement_id == passenger) {
        return Err(invalid("placement_id", "not_on_batch"));
    }
    sqlx::query(
        "UPDATE batch_passengers SET checked_us = $1, temperature_tenths = $2, passed = $3, checked_by = $4 \
         WHERE batch_id = $5 AND placement_id = $6",
    )
    .bind(now)
    .bind(i64::from(temperature.tenths()))
    .bind(i64::from(passes_check(temperature)))
    .bind(actor.id.map(|u| u.0))
    .bind(id.0)
    .bind(passenger.0)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE transport_batches SET updated_us = $1 WHERE id = $2")
        .bind(now)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    let stored = batch(conn, id).await?;
    let event = batch_event(EventKind::BatchUpdated, &stored);
    Ok((Outcome::Batch { batch: stored, created: true }, vec![event]))
}

/// Moves every live placement on batch `id` from `from` to `to`.
async fn move_placements(
    conn: &mut AnyConnection,
    id: BatchId,
    from: PlacementState,
    to: PlacementState,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE placements SET state = $1, updated_us = $2 WHERE state = $3 \
         AND id IN (SELECT placement_id FROM batch_passengers WHERE batch_id = $4)",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(from.as_str())
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `first`, then an event for each passenger's placement as it now stands.
async fn with_placements(conn: &mut AnyConnection, first: NewEvent, b: &Batch) -> Result<Vec<NewEvent>, StoreError> {
    let mut events = vec![first];
    for p in &b.passengers {
        events.push(placement_event(&placement(conn, p.placement_id).await?));
    }
    Ok(events)
}

async fn depart(conn: &mut AnyConnection, id: BatchId, now: i64) -> Result<Decided, StoreError> {
    let b = batch(conn, id).await?;
    if b.state != BatchState::Planned {
        return Ok((Outcome::Batch { batch: b, created: false }, Vec::new()));
    }
    let checks: Vec<Option<bool>> = b.passengers.iter().map(|p| p.passed).collect();
    may_depart(&checks).map_err(StoreError::Invalid)?;
    sqlx::query("UPDATE transport_batches SET state = 'departed', departed_us = $1, updated_us = $1 WHERE id = $2")
        .bind(now)
        .bind(id.0)
        .execute(&mut *conn)
        .await?;
    move_placements(conn, id, PlacementState::Confirmed, PlacementState::Departed, now).await?;
    let stored = batch(conn, id).await?;
    let events = with_placements(conn, batch_event(EventKind::BatchDeparted, &stored), &stored).await?;
    Ok((Outcome::Batch { batch: stored, created: true }, events))
}

async fn arrive(conn: &mut AnyConnection, actor: &Actor, id: BatchId, now: i64) -> Result<Decided, StoreError> {
    let b = batch(conn, id).await?;
    match b.state {
        BatchState::Arrived => return Ok((Outcome::Batch { batch: b, created: false }, Vec::new())),
        BatchState::Planned => {
            return Err(StoreError::Invalid(FieldError::new("state", "not_departed").arg("state", b.state.as_str())));
        }
        BatchState::Departed => {}
    }
    sqlx::query(
        "UPDATE transport_batches SET state = 'arrived', arrived_us = $1, arrived_by = $2, updated_us = $1 \
         WHERE id = $3",
    )
    .bind(now)
    .bind(actor.id.map(|u| u.0))
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    move_placements(conn, id, PlacementState::Departed, PlacementState::Arrived, now).await?;
    let stored = batch(conn, id).await?;
    let events = with_placements(conn, batch_event(EventKind::BatchArrived, &stored), &stored).await?;
    Ok((Outcome::Batch { batch: stored, created: true }, events))
}
