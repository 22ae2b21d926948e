//! Labour export as stored: a worker belongs to a village (and a household
//! of it); a worker is never placed twice over the same days nor a demand
//! beyond its positions; a batch takes no more passengers than seats,
//! departs only with everyone checked and passed, and its placements move
//! with it. Every refusal writes nothing.

use shouwang_domain::labour::{BatchState, DemandFields, HealthStatus, PlacementState, Region, Skill, WorkerFields};
use shouwang_domain::screening::{BodyTemperature, PersonName, PlateNumber};
use shouwang_domain::{EventKind, OrgUnitKind, PlacementId, ScopePath};
use shouwang_store::{Command, NewBatch, OrgUnit, StoreError};

use crate::checkpoints::{refused, world};
use crate::harness::Harness;

fn today() -> i64 {
    shouwang_store::now_us().div_euclid(86_400_000_000)
}

fn person(village: &OrgUnit, name: &str) -> WorkerFields {
    WorkerFields {
        name: PersonName::parse("name", name).expect("a valid name"),
        phone: None,
        village: village.id,
        household: None,
        age: 30,
        skills: vec![Skill::Manufacturing],
        health: HealthStatus::Healthy,
        last_check_day: today() - 2,
        available_day: today(),
        destinations: vec![Region::Province],
        note: String::new(),
    }
}

fn opening(positions: u16, start_day: i64, end_day: Option<i64>) -> DemandFields {
    DemandFields {
        enterprise: None,
        employer: "郑州富士康".into(),
        location: "郑州市航空港区".into(),
        region: Region::Province,
        positions,
        skills: vec![Skill::Manufacturing],
        pay_yuan_month: 4500,
        start_day,
        end_day,
        accommodation: true,
        note: String::new(),
    }
}

async fn placements_rows(h: &Harness) -> i64 {
    use sqlx::Row;
    sqlx::query("SELECT COUNT(*) AS n FROM placements").fetch_one(h.store.pool()).await.unwrap().get("n")
}

pub async fn a_worker_joins_the_pool_of_their_village_only(h: Harness) {
    let w = world(&h).await;
    let village = h.unit(Some(&w.town), OrgUnitKind::Village, "411224104202").await;
    refused(h.system(Command::CreateWorker(person(&w.town, "王建国"))).await, "village_id", "not_a_village");
    let mut with_household = person(&village, "王建国");
    with_household.household = Some(shouwang_domain::HouseholdId(999));
    refused(h.system(Command::CreateWorker(with_household)).await, "household_id", "not_found");
    assert_eq!(h.store.workers_count(&w.county.path).await.unwrap(), 0, "nothing written");

    let applied = h.ok(Command::CreateWorker(person(&village, "王建国"))).await;
    assert_eq!(applied.events.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::WorkerUpdated]);
    assert!(!applied.events[0].payload.to_string().contains("王建国"), "no name in the event log");
    let worker = applied.outcome.into_worker().unwrap();
    assert_eq!(worker.scope, village.path);
    assert_eq!(worker.village_name, village.name);
    assert_eq!(h.store.worker(worker.id).await.unwrap(), worker);
    assert_eq!(h.store.workers_within(&w.town.path).await.unwrap().len(), 1);
    assert!(h.store.workers_within(&w.other_town.path).await.unwrap().is_empty());
    assert_eq!(h.store.workers_count(&w.town.path).await.unwrap(), 1);

    let elsewhere = h.unit(Some(&w.other_town), OrgUnitKind::Village, "411224105201").await;
    let moved = Command::UpdateWorker { id: worker.id, fields: person(&elsewhere, "王建国") };
    refused(h.system(moved).await, "village_id", "fixed");
    let mut unwell = person(&village, "王建国");
    unwell.health = HealthStatus::Unwell;
    let after = h.ok(Command::UpdateWorker { id: worker.id, fields: unwell }).await.outcome.into_worker().unwrap();
    assert_eq!(after.health, HealthStatus::Unwell);
}

pub async fn placements_refuse_overlaps_and_full_demand_and_a_repeat_returns_the_placement(h: Harness) {
    let w = world(&h).await;
    let village = h.unit(Some(&w.town), OrgUnitKind::Village, "411224104202").await;
    let a = h.ok(Command::CreateWorker(person(&village, "王一"))).await.outcome.into_worker().unwrap();
    let b = h.ok(Command::CreateWorker(person(&village, "王二"))).await.outcome.into_worker().unwrap();
    let one_seat = opening(1, today() + 5, Some(today() + 60));
    let posted = Command::PostDemand { fields: one_seat, scope: w.town.path.clone() };
    let d = h.ok(posted).await.outcome.into_demand().unwrap();
    assert_eq!((d.scope.clone(), d.filled), (w.town.path.clone(), 0));

    let first = h.ok(Command::ConfirmPlacement { worker: a.id, demand: d.id }).await;
    let (p, created) = first.outcome.into_placement().unwrap();
    assert!(created && first.events.len() == 1);
    assert_eq!((p.state, p.scope.clone(), p.start_day), (PlacementState::Confirmed, a.scope.clone(), d.start_day));
    let again = h.ok(Command::ConfirmPlacement { worker: a.id, demand: d.id }).await;
    assert!(again.events.is_empty(), "a repeat writes no event");
    assert_eq!(again.outcome.into_placement().unwrap(), (p.clone(), false));
    assert_eq!(h.store.demand(d.id).await.unwrap().filled, 1);

    refused(h.system(Command::ConfirmPlacement { worker: b.id, demand: d.id }).await, "demand_id", "positions_filled");
    let later = opening(5, today() + 60, None);
    let later = h.ok(Command::PostDemand { fields: later, scope: w.town.path.clone() }).await.outcome.into_demand();
    let later = later.unwrap();
    refused(
        h.system(Command::ConfirmPlacement { worker: a.id, demand: later.id }).await,
        "worker_id",
        "placed_overlapping",
    );
    assert_eq!(placements_rows(&h).await, 1, "refusals write nothing");
    let shrink = Command::UpdateDemand { id: d.id, fields: opening(1, today() + 6, Some(today() + 60)) };
    refused(h.system(shrink).await, "start", "fixed");

    let (cancelled, _) = h.ok(Command::CancelPlacement { id: p.id }).await.outcome.into_placement().unwrap();
    assert_eq!(cancelled.state, PlacementState::Cancelled);
    let (again, changed) = h.ok(Command::CancelPlacement { id: p.id }).await.outcome.into_placement().unwrap();
    assert!(!changed && again.state == PlacementState::Cancelled);
    h.ok(Command::ConfirmPlacement { worker: b.id, demand: d.id }).await;
    h.ok(Command::ConfirmPlacement { worker: a.id, demand: later.id }).await;
    let counts = h.store.placements_by_region(&w.county.path).await.unwrap();
    assert_eq!(counts, [(Region::County, 0), (Region::Province, 2), (Region::Outside, 0)]);
    assert!(h.store.placements_by_region(&w.other_town.path).await.unwrap().iter().all(|(_, n)| *n == 0));
    let weeks = h.store.placements_by_week(&w.county.path).await.unwrap();
    assert_eq!(weeks.len(), 8);
    assert!(weeks.windows(2).all(|p| p[1].0 - p[0].0 == 7));

    let mut unwell = person(&village, "王三");
    unwell.health = HealthStatus::Unwell;
    let c = h.ok(Command::CreateWorker(unwell)).await.outcome.into_worker().unwrap();
    refused(h.system(Command::ConfirmPlacement { worker: c.id, demand: later.id }).await, "worker_id", "unwell");
}

fn batch(unit: &OrgUnit, seats: i64, passengers: Vec<PlacementId>) -> NewBatch {
    NewBatch {
        org_unit: unit.id,
        day: today(),
        origin: "朱阳关镇政府".into(),
        destination: "郑州市航空港区".into(),
        plate: PlateNumber::parse("plate", "豫M12345").unwrap(),
        seats,
        passengers,
    }
}

fn temperature(celsius: f64) -> BodyTemperature {
    BodyTemperature::from_celsius("temperature", celsius).unwrap()
}

pub async fn a_batch_seats_its_passengers_departs_checked_and_arrives_with_its_placements(h: Harness) {
    let w = world(&h).await;
    let village = h.unit(Some(&w.town), OrgUnitKind::Village, "411224104202").await;
    let d = opening(10, today(), None);
    let d = h.ok(Command::PostDemand { fields: d, scope: w.town.path.clone() }).await.outcome.into_demand().unwrap();
    let mut placed = Vec::new();
    for name in ["李一", "李二", "李三"] {
        let worker = h.ok(Command::CreateWorker(person(&village, name))).await.outcome.into_worker().unwrap();
        let confirmed = h.ok(Command::ConfirmPlacement { worker: worker.id, demand: d.id }).await;
        placed.push(confirmed.outcome.into_placement().unwrap().0.id);
    }
    refused(h.system(Command::PlanBatch(batch(&w.town, 2, placed.clone()))).await, "passengers", "over_seats");
    let twice = vec![placed[0], placed[0]];
    refused(h.system(Command::PlanBatch(batch(&w.town, 9, twice))).await, "passengers[1]", "duplicate");
    refused(h.system(Command::PlanBatch(batch(&w.other_town, 9, placed.clone()))).await, "passengers[0]", "not_found");
    refused(h.system(Command::PlanBatch(batch(&village, 9, placed.clone()))).await, "org_unit_id", "not_a_township");
    let none: Vec<(BatchState, i64)> = BatchState::ALL.iter().map(|s| (*s, 0)).collect();
    assert_eq!(h.store.batch_counts(&w.county.path).await.unwrap(), none, "nothing written");

    let planned = h.ok(Command::PlanBatch(batch(&w.town, 3, placed[..2].to_vec()))).await;
    let kinds: Vec<EventKind> = planned.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::BatchUpdated, EventKind::PlacementUpdated, EventKind::PlacementUpdated]);
    let (b, _) = planned.outcome.into_batch().unwrap();
    assert_eq!((b.scope.clone(), b.state, b.passengers.len()), (w.town.path.clone(), BatchState::Planned, 2));
    refused(
        h.system(Command::PlanBatch(batch(&w.town, 3, vec![placed[1]]))).await,
        "passengers[0]",
        "on_another_batch",
    );
    let over = Command::AddPassengers { batch: b.id, placements: vec![placed[2], placed[2]] };
    refused(h.system(over).await, "passengers[1]", "duplicate");
    let (b, _) =
        h.ok(Command::AddPassengers { batch: b.id, placements: vec![placed[2]] }).await.outcome.into_batch().unwrap();
    assert_eq!(b.passengers.iter().map(|p| p.placement_id).collect::<Vec<_>>(), placed);

    refused(h.system(Command::DepartBatch { batch: b.id }).await, "passengers", "unchecked");
    refused(h.system(Command::ArriveBatch { batch: b.id }).await, "state", "not_departed");
    for (p, t) in placed.iter().zip([36.5, 37.5, 36.8]) {
        h.ok(Command::CheckPassenger { batch: b.id, placement: *p, temperature: temperature(t) }).await;
    }
    let not_on = Command::CheckPassenger { batch: b.id, placement: PlacementId(999), temperature: temperature(36.5) };
    refused(h.system(not_on).await, "placement_id", "not_on_batch");
    let stored = h.store.batch(b.id).await.unwrap();
    assert_eq!(stored.passengers.iter().map(|p| p.passed).collect::<Vec<_>>(), [Some(true), Some(false), Some(true)]);
    assert_eq!(stored.passengers[1].temperature_tenths, Some(375));
    refused(h.system(Command::DepartBatch { batch: b.id }).await, "passengers", "unchecked");

    // The one with a fever stays home: cancelling gives up the seat.
    h.ok(Command::CancelPlacement { id: placed[1] }).await;
    let departed = h.ok(Command::DepartBatch { batch: b.id }).await;
    let (b, changed) = departed.outcome.into_batch().unwrap();
    assert!(changed && b.state == BatchState::Departed && b.departed_us.is_some());
    assert_eq!(departed.events[0].kind, EventKind::BatchDeparted);
    assert_eq!(h.store.placement(placed[0]).await.unwrap().state, PlacementState::Departed);
    let repeat = h.ok(Command::DepartBatch { batch: b.id }).await;
    assert!(repeat.events.is_empty() && !repeat.outcome.into_batch().unwrap().1);
    refused(h.system(Command::CancelPlacement { id: placed[0] }).await, "state", "invalid_transition");
    let late = Command::CheckPassenger { batch: b.id, placement: placed[0], temperature: temperature(36.5) };
    refused(h.system(late).await, "state", "not_planned");

    let (b, _) = h.ok(Command::ArriveBatch { batch: b.id }).await.outcome.into_batch().unwrap();
    assert_eq!(b.state, BatchState::Arrived);
    for p in [placed[0], placed[2]] {
        assert_eq!(h.store.placement(p).await.unwrap().state, PlacementState::Arrived);
    }
    assert_eq!(h.store.placement(placed[1]).await.unwrap().state, PlacementState::Cancelled);
    let counts = h.store.batch_counts(&w.town.path).await.unwrap();
    assert_eq!(counts, [(BatchState::Planned, 0), (BatchState::Departed, 0), (BatchState::Arrived, 1)]);
    assert_eq!(h.store.batches_within(&village.path).await.unwrap().len(), 1, "the village sees its people's batch");
    assert!(h.store.batches_within(&w.other_town.path).await.unwrap().is_empty());
    let root = h.store.batches_within(&ScopePath::root()).await.unwrap();
    assert_eq!(root[0].id, b.id);
    assert!(matches!(h.store.batch(shouwang_domain::BatchId(999)).await, Err(StoreError::NotFound)));
}
