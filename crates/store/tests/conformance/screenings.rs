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

/// Many phones each sending a screening at once: the writer takes them in
/// one transaction, and each answer is what that command alone would have
/// got, whatever else is in the batch (a resend, an id taken by another
/// officer, an id sent twice, a closed post); the counts and events are
/// those of the screenings stored, once each.
pub async fn screenings_from_many_phones_at_once_are_answered_each_as_alone(h: Harness) {
    let s = scene(&h).await;
    let other = post(&h, &s.w.other_town, "DM-01").await;
    let closed = post(&h, &s.w.town, "ZYG-02").await;
    h.ok(Command::SetCheckpointStatus { id: closed.id, status: CheckpointStatus::Suspended, reason: "snow".into() })
        .await;
    let second = s.w.guard(&h, "guard-b").await;
    let stored_before = car("豫M99999", 7);
    recorded(&h, &s.guard, record(&s.cp, vec![stored_before.clone()])).await;
    let stored_before = h.store.screening(stored_before.id).await.unwrap();
    let batches_before = h.published.batches().len();
    let events_before = h.all_events().await.len();

    let (a, truck, pair) = (car("豫M00001", 8), feverish_truck(), [car("豫M00003", 8), car("豫M00004", 9)]);
    let twice = car("豫M00005", 9);
    let mut jobs = vec![
        (actor(&s.guard), record(&s.cp, vec![a.clone()])),
        (actor(&s.guard), record(&s.cp, vec![truck.clone()])),
        (actor(&s.guard), record(&s.cp, vec![car_with_id(&stored_before)])),
        (actor(&second), record(&s.cp, vec![car_with_id(&stored_before)])),
        (actor(&second), record(&other, vec![car("豫M00002", 8)])),
        (actor(&s.guard), record(&s.cp, vec![a.clone()])),
        (actor(&second), record(&closed, vec![car("豫M00006", 8)])),
        (actor(&s.guard), record(&s.cp, pair.to_vec())),
        (actor(&second), record(&other, vec![twice.clone(), twice.clone()])),
    ];
    let plain: Vec<NewScreening> = (0..40).map(|i| car(&format!("豫N{i:05}"), i % 24)).collect();
    for (i, c) in plain.iter().enumerate() {
        let (who, at) = if i % 2 == 0 { (&s.guard, &s.cp) } else { (&second, &other) };
        jobs.push((actor(who), record(at, vec![c.clone()])));
    }
    let mut answers = h.submit_held(jobs).await.into_iter();

    let mut answered_events = Vec::new();
    let mut take = |what: &str, answers: &mut dyn Iterator<Item = Result<Applied, StoreError>>| {
        let applied = answers.next().unwrap().unwrap_or_else(|e| panic!("{what}: {e:?}"));
        answered_events.extend(applied.events.iter().map(|e| (**e).clone()));
        (applied.outcome.clone().into_screenings().expect("screenings"), applied)
    };
    let (first_a, applied) = take("new A", &mut answers);
    assert_eq!(first_a.len(), 1);
    assert!(first_a[0].1 && first_a[0].0.checkpoint_id == s.cp.id && first_a[0].0.officer_id == s.guard.id);
    assert_eq!(applied.events.len(), 1);
    let (fever, applied) = take("the feverish truck", &mut answers);
    assert!(fever[0].1 && fever[0].0.fever);
    assert_eq!(
        applied.events.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [EventKind::ScreeningRecorded, EventKind::IncidentOpened]
    );
    let (resent, applied) = take("a resend", &mut answers);
    assert_eq!(resent, vec![(stored_before.clone(), false)], "a resend gets the stored record");
    assert!(applied.events.is_empty());
    refused(answers.next().unwrap(), "screenings[0].id", "taken");
    let (elsewhere, _) = take("new at the other post", &mut answers);
    assert!(elsewhere[0].1 && elsewhere[0].0.checkpoint_id == other.id && elsewhere[0].0.officer_id == second.id);
    let (again, applied) = take("A twice in one batch", &mut answers);
    assert_eq!(again, vec![(first_a[0].0.clone(), false)], "the second A is a resend of the first");
    assert!(applied.events.is_empty());
    refused(answers.next().unwrap(), "checkpoint_id", "post_not_active");
    let (two, applied) = take("two in one command", &mut answers);
    assert_eq!(two.iter().filter(|(_, new)| *new).count(), 2);
    assert_eq!(applied.events[0].payload["count"], 2);
    refused(answers.next().unwrap(), "screenings[1].id", "duplicate");
    for (i, c) in plain.iter().enumerate() {
        let (one, applied) = take("a plain car", &mut answers);
        assert_eq!((one[0].0.id, one[0].1, applied.events.len()), (c.id, true, 1), "plain car {i}");
    }
    assert!(answers.next().is_none());

    // What was answered is what was stored, once each.
    let batches = &h.published.batches()[batches_before..];
    assert!(batches.len() <= 2, "49 queued commands took {} commits", batches.len());
    for (stored, _) in first_a.iter().chain(&fever).chain(&elsewhere).chain(&two) {
        assert_eq!(&h.store.screening(stored.id).await.unwrap(), stored, "read back as answered");
    }
    for c in &plain {
        assert_eq!(h.store.screening(c.id).await.unwrap().plate, c.plate);
    }
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM screenings").await, 1 + 1 + 1 + 1 + 2 + 40);
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM screened_people").await, 2);
    assert_eq!(count(&h, "SELECT COUNT(*) AS n FROM incidents").await, 1);
    let events: Vec<_> = h.all_events().await.into_iter().skip(events_before).collect();
    assert_eq!(events.len(), answered_events.len(), "one stored event for each answered one");
    answered_events.sort_by_key(|e| e.id);
    assert_eq!(events, answered_events, "each answer's events are stored as answered, with their ids");
    for post in [&s.cp, &other, &closed] {
        let total = h.store.screening_counts(&post.scope, None, i64::MIN, i64::MAX, Grain::Total).await.unwrap();
        let sql = format!("SELECT COUNT(*) AS n FROM screenings WHERE checkpoint_id = {}", post.id.0);
        assert_eq!(total.iter().map(|c| c.screenings).sum::<i64>(), count(&h, &sql).await, "post {}", post.code);
    }
}

/// `c` sent again (same id), as a phone resends a record.
fn car_with_id(c: &Screening) -> NewScreening {
    NewScreening { id: c.id, ..car("豫M99999", 7) }
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
    let since = ScreeningFilter { from_us: Some(DAY_START + 5 * HOUR_US), ..Default::default() };
    assert_eq!(find(s.w.town.path.clone(), since).await, vec![late.id, truck.id]);
    let until = ScreeningFilter { to_us: Some(DAY_START + 5 * HOUR_US), ..Default::default() };
    assert_eq!(find(s.w.town.path.clone(), until).await, vec![early.id]);
    let together = ScreeningFilter {
        checkpoint: Some(s.cp.id),
        plate: Some("豫M11111".into()),
        outcome: Some(early.outcome),
        to_us: Some(DAY_START + 5 * HOUR_US),
        ..Default::default()
    };
    assert_eq!(find(s.w.county.path.clone(), together).await, vec![early.id]);
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
