//! Screenings: records and their people, resends, batches that are all or
//! none, incidents, the hourly and daily counts, searches, and erasure after
//! the retention period.

use shouwang_domain::checkpoint::CheckpointStatus;
use shouwang_domain::screening::{
    CargoCategory, Direction, HealthCode, IncidentKind, IncidentSeverity, Outcome as Verdict, VehicleType,
};
use shouwang_domain::{EventKind, RecordId, ScopePath};
use shouwang_store::writer::Applied;
use shouwang_store::{
    Checkpoint, Command, Grain, NewScreening, PersonRecord, Screening, ScreeningFilter, StoreError, User,
};

use crate::checkpoints::{World, count, events_of, post, refused, world};
use crate::harness::{Harness, actor};

const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR_US;
/// 2026-11-20 00:00 in Beijing (UTC+8), as UTC µs.
const DAY_START: i64 = 1_795_104_000_000_000;

/// The start of the UTC+8 day holding `us`.
fn day_of(us: i64) -> i64 {
    let offset = 8 * HOUR_US;
    (us + offset).div_euclid(DAY_US) * DAY_US - offset
}

/// A car with one driver, all normal, released, `h` hours into the day.
fn car(plate: &str, h: i64) -> NewScreening {
    let occurred_us = DAY_START + h * HOUR_US + 600_000_000;
    NewScreening {
        id: RecordId::new_v7(),
        occurred_us,
        day_us: day_of(occurred_us),
        direction: Direction::In,
        plate: Some(plate.to_owned()),
        vehicle_type: VehicleType::Car,
        people_count: 1,
        cargo: CargoCategory::None,
        pass_number: None,
        outcome: Verdict::Released,
        note: String::new(),
        people: vec![],
        incidents: vec![],
    }
}

fn person(name: &str, id_number: &str, temperature_dc: i64) -> PersonRecord {
    PersonRecord {
        name: Some(name.to_owned()),
        id_number: Some(id_number.to_owned()),
        phone: Some("13800138000".to_owned()),
        temperature_dc: Some(temperature_dc),
        origin: Some("411224".to_owned()),
        destination: Some("411302".to_owned()),
        health_code: Some(HealthCode::Green),
    }
}

/// A truck with two people, one of them at 38.6 °C, sent to hospital.
fn feverish_truck() -> NewScreening {
    NewScreening {
        vehicle_type: VehicleType::Truck,
        people_count: 2,
        cargo: CargoCategory::ProductionMaterials,
        outcome: Verdict::ReferredToHospital,
        people: vec![person("张三", "11010519491231002X", 386), person("李四", "440524188001010014", 365)],
        incidents: vec![(IncidentKind::Fever, IncidentSeverity::High)],
        ..car("豫M12345", 9)
    }
}

fn record(cp: &Checkpoint, screenings: Vec<NewScreening>) -> Command {
    Command::RecordScreenings { checkpoint: cp.id, screenings }
}

async fn recorded(h: &Harness, user: &User, command: Command) -> (Vec<(Screening, bool)>, Applied) {
    let what = format!("{command:?}");
    let applied = h.submit(actor(user), command).await.unwrap_or_else(|e| panic!("{what} failed: {e:?}"));
    (applied.outcome.clone().into_screenings().expect("screenings"), applied)
}

struct Scene {
    w: World,
    cp: Checkpoint,
    guard: User,
}

async fn scene(h: &Harness) -> Scene {
    let w = world(h).await;
    let cp = post(h, &w.town, "ZYG-01").await;
    let guard = w.guard(h, "guard-a").await;
    Scene { w, cp, guard }
}

pub async fn a_screening_is_stored_with_its_people_and_a_resend_returns_it(h: Harness) {
    let s = scene(&h).await;
    let truck = feverish_truck();
    let (first, applied) = recorded(&h, &s.guard, record(&s.cp, vec![truck.clone()])).await;
    let (stored, created) = &first[0];
    assert!(created);
    assert_eq!((stored.checkpoint_id, stored.officer_id, stored.people.len()), (s.cp.id, s.guard.id, 2));
    assert!(stored.fever && !stored.red_code);
    assert_eq!(
        applied.events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [EventKind::ScreeningRecorded, EventKind::IncidentOpened]
    );
    assert_eq!(applied.events[0].payload["count"], 1);
    assert!(applied.events[0].payload.get("plate").is_none(), "no personal data in the event log");

    let read = h.store.screening(truck.id).await.unwrap();
    assert_eq!(&read, stored, "read back as answered");
    assert_eq!(read.people[0].id_number.as_deref(), Some("11010519491231002X"));

    let (again, applied) = recorded(&h, &s.guard, record(&s.cp, vec![truck.clone()])).await;
    assert_eq!(again, vec![(read, false)], "a resend gets the stored record");
    assert!(applied.events.is_empty(), "and writes nothing");
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM screened_people").await, 2);
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM incidents").await, 1, "the incident is not opened twice");
}

pub async fn a_batch_is_all_or_none_and_names_the_bad_row(h: Harness) {
    let s = scene(&h).await;
    let (a, b) = (car("豫M00001", 8), car("豫M00002", 8));
    let twice = vec![a.clone(), b.clone(), NewScreening { plate: Some("豫M00003".into()), ..a.clone() }];
    refused(h.submit(actor(&s.guard), record(&s.cp, twice)).await, "screenings[2].id", "duplicate");
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM screenings").await, 0, "nothing of the batch is written");

    // An id stored at another post cannot be claimed here.
    let other = post(&h, &s.w.town, "ZYG-02").await;
    recorded(&h, &s.guard, record(&other, vec![b.clone()])).await;
    refused(h.submit(actor(&s.guard), record(&s.cp, vec![a.clone(), b])).await, "screenings[1].id", "taken");
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM screenings").await, 1);

    let batch: Vec<NewScreening> = (0..120).map(|i| car(&format!("豫M{:05}", i + 10), i % 24)).collect();
    let (done, applied) = recorded(&h, &s.guard, record(&s.cp, batch)).await;
    assert_eq!(done.len(), 120);
    assert!(done.iter().all(|(_, created)| *created));
    assert_eq!(applied.events.len(), 1, "one event for the batch");
    assert_eq!(applied.events[0].payload["count"], 120);
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM screenings").await, 121);
}

pub async fn a_fever_opens_an_open_incident_visible_within_the_posts_scope(h: Harness) {
    let s = scene(&h).await;
    let truck = feverish_truck();
    recorded(&h, &s.guard, record(&s.cp, vec![truck.clone()])).await;
    let incidents = h.store.incidents_within(&s.w.county.path, true).await.unwrap();
    assert_eq!(incidents.len(), 1);
    let i = &incidents[0];
    assert_eq!((i.kind, i.severity, i.status.as_str()), (IncidentKind::Fever, IncidentSeverity::High, "open"));
    assert_eq!((i.checkpoint_id, i.screening_id), (s.cp.id, Some(truck.id)));
    let opened = events_of(&h, EventKind::IncidentOpened).await;
    assert_eq!(opened[0].payload["temperature_dc"], 386);
    assert_eq!(opened[0].scope, s.cp.scope);
    assert!(h.store.incidents_within(&s.w.other_town.path, true).await.unwrap().is_empty());
}

pub async fn a_post_not_running_takes_no_screenings(h: Harness) {
    let s = scene(&h).await;
    let suspend =
        Command::SetCheckpointStatus { id: s.cp.id, status: CheckpointStatus::Suspended, reason: "snow".into() };
    h.ok(suspend).await;
    refused(
        h.submit(actor(&s.guard), record(&s.cp, vec![car("豫M12345", 1)])).await,
        "checkpoint_id",
        "post_not_active",
    );
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM screenings").await, 0);
    let unknown = Command::RecordScreenings { checkpoint: shouwang_domain::CheckpointId(999), screenings: vec![] };
    assert!(matches!(h.submit(actor(&s.guard), unknown).await, Err(StoreError::Dangling { field: "checkpoint_id" })));
}

pub async fn hourly_and_daily_counts_equal_counting_the_screenings(h: Harness) {
    let s = scene(&h).await;
    let mut rows = Vec::new();
    for i in 0..60 {
        let mut c = car(&format!("豫M{i:05}"), i % 5 + 22); // 22:00 to 02:00: two local days
        c.direction = if i % 3 == 0 { Direction::Out } else { Direction::In };
        c.outcome = if i % 7 == 0 { Verdict::TurnedBack } else { Verdict::Released };
        c.people_count = i % 4 + 1;
        rows.push(c);
    }
    for chunk in rows.chunks(25) {
        recorded(&h, &s.guard, record(&s.cp, chunk.to_vec())).await;
    }
    let everything = (i64::MIN, i64::MAX);
    let hours =
        h.store.screening_counts(&s.w.county.path, None, everything.0, everything.1, Grain::Hour).await.unwrap();
    let days = h.store.screening_counts(&s.w.county.path, None, everything.0, everything.1, Grain::Day).await.unwrap();
    let total = h
        .store
        .screening_counts(&s.w.county.path, Some(s.cp.id), everything.0, everything.1, Grain::Total)
        .await
        .unwrap();
    for (grain, counts) in [("hour", &hours), ("day", &days), ("total", &total)] {
        assert_eq!(counts.iter().map(|c| c.screenings).sum::<i64>(), 60, "{grain}");
        assert_eq!(counts.iter().map(|c| c.people).sum::<i64>(), rows.iter().map(|r| r.people_count).sum::<i64>());
    }
    // Each hourly key against the screenings themselves.
    for c in &hours {
        let at = c.at_us.expect("hourly counts have a time");
        let expected = rows
            .iter()
            .filter(|r| r.occurred_us.div_euclid(HOUR_US) * HOUR_US == at)
            .filter(|r| (r.direction, r.outcome, r.cargo) == (c.direction, c.outcome, c.cargo))
            .count() as i64;
        assert_eq!(c.screenings, expected, "{c:?}");
    }
    assert_eq!(days.iter().map(|c| c.at_us).collect::<std::collections::BTreeSet<_>>().len(), 2, "two local days");
    assert!(total.iter().all(|c| c.at_us.is_none()));
    // All of history comes from the all-time rollup; any narrower range from
    // the days. Both give the same keys and counts, and a resend counts once.
    recorded(&h, &s.guard, record(&s.cp, rows[..25].to_vec())).await;
    let all_time = h.store.screening_counts(&s.cp.scope, None, i64::MIN, i64::MAX, Grain::Total).await.unwrap();
    let from_days = h.store.screening_counts(&s.cp.scope, None, i64::MIN + 1, i64::MAX, Grain::Total).await.unwrap();
    assert_eq!(all_time, from_days);
    assert_eq!(all_time, total, "the resend changed no count");
    // A day range picks its days only.
    let second_day = DAY_START + DAY_US;
    let only = h.store.screening_counts(&s.cp.scope, None, second_day, second_day + DAY_US, Grain::Day).await.unwrap();
    let expected = rows.iter().filter(|r| r.occurred_us >= second_day).count() as i64;
    assert_eq!(only.iter().map(|c| c.screenings).sum::<i64>(), expected);
    assert!(h.store.screening_counts(&s.w.other_town.path, None, 0, i64::MAX, Grain::Total).await.unwrap().is_empty());
}

pub async fn searches_filter_by_post_time_plate_outcome_and_flag_within_scope(h: Harness) {
    let s = scene(&h).await;
    let other = post(&h, &s.w.other_town, "DM-01").await;
    let truck = feverish_truck();
    let early = car("豫M11111", 1);
    let late = car("豫M22222", 20);
    recorded(&h, &s.guard, record(&s.cp, vec![truck.clone(), early.clone(), late.clone()])).await;
    let dm_guard = h.user("guard-dm", &h.role("dm", &[shouwang_domain::Right::Write]).await, &s.w.other_town).await;
    recorded(&h, &dm_guard, record(&other, vec![car("豫M33333", 2)])).await;

    let ids = |found: Vec<Screening>| found.into_iter().map(|s| s.id).collect::<Vec<_>>();
    let find = |scope: ScopePath, f: ScreeningFilter| {
        let store = h.store.clone();
        async move { ids(store.screenings_within(&scope, &ScreeningFilter { limit: 100, ..f }).await.unwrap()) }
    };
    assert_eq!(find(s.w.town.path.clone(), ScreeningFilter::default()).await, vec![late.id, truck.id, early.id]);
    assert_eq!(find(s.w.county.path.clone(), ScreeningFilter::default()).await.len(), 4);
    let plate = ScreeningFilter { plate: Some("豫M22222".into()), ..Default::default() };
    assert_eq!(find(s.w.county.path.clone(), plate).await, vec![late.id]);
    let outcome = ScreeningFilter { outcome: Some(Verdict::ReferredToHospital), ..Default::default() };
    assert_eq!(find(s.w.county.path.clone(), outcome).await, vec![truck.id]);
    let flagged = ScreeningFilter { flagged: true, ..Default::default() };
    assert_eq!(find(s.w.county.path.clone(), flagged).await, vec![truck.id]);
    let window = ScreeningFilter {
        from_us: Some(DAY_START + 5 * HOUR_US),
        to_us: Some(DAY_START + 21 * HOUR_US),
        ..Default::default()
    };
    assert_eq!(find(s.w.town.path.clone(), window).await, vec![late.id, truck.id]);
    let at_post = ScreeningFilter { checkpoint: Some(other.id), ..Default::default() };
    assert!(find(s.w.town.path.clone(), at_post).await.is_empty(), "another township's post is out of scope");
    let found = h.store.screenings_within(&s.w.town.path, &ScreeningFilter { limit: 1, ..Default::default() }).await;
    assert_eq!(found.unwrap().len(), 1);
}

pub async fn erasing_personal_data_after_retention_keeps_counts_and_categories(h: Harness) {
    let s = scene(&h).await;
    let old = feverish_truck();
    let recent = NewScreening {
        occurred_us: DAY_START + 40 * DAY_US,
        day_us: day_of(DAY_START + 40 * DAY_US),
        ..car("豫M77777", 0)
    };
    recorded(&h, &s.guard, record(&s.cp, vec![old.clone(), recent.clone()])).await;
    let cut = DAY_START + 30 * DAY_US;
    let applied = h.ok(Command::ErasePersonalData { before_us: cut, limit: 1000 }).await;
    assert_eq!(applied.outcome.clone().into_count().unwrap(), 1);
    assert_eq!(applied.events[0].kind, EventKind::PersonalDataErased);

    let erased = h.store.screening(old.id).await.unwrap();
    assert!(erased.erased_us.is_some());
    assert_eq!((erased.plate.as_deref(), erased.pass_number.as_deref(), erased.note.as_str()), (None, None, ""));
    for p in &erased.people {
        assert_eq!((p.name.as_deref(), p.id_number.as_deref(), p.phone.as_deref()), (None, None, None));
        assert!(p.temperature_dc.is_some() && p.health_code.is_some() && p.origin.is_some(), "categories stay");
    }
    assert_eq!((erased.people_count, erased.outcome, erased.fever), (2, Verdict::ReferredToHospital, true));
    assert_eq!(h.store.screening(recent.id).await.unwrap().plate.as_deref(), Some("豫M77777"), "recent ones stay");
    let total = h.store.screening_counts(&s.cp.scope, None, 0, i64::MAX, Grain::Total).await.unwrap();
    assert_eq!(total.iter().map(|c| c.screenings).sum::<i64>(), 2, "counts stay");

    let again = h.ok(Command::ErasePersonalData { before_us: cut, limit: 1000 }).await;
    assert_eq!(again.outcome.into_count().unwrap(), 0, "erased once");
    assert!(again.events.is_empty());
}
