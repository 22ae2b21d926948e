//! The duty log: idempotent by client-made id, and the writer's group commit
//! under concurrent load.

use std::collections::{BTreeSet, HashMap, HashSet};

use shouwang_domain::{EventId, EventKind, OrgUnitId, OrgUnitKind, RecordId, Right, ScopePath};
use shouwang_store::writer::{Actor, Applied};
use shouwang_store::{Command, DutyLogEntry, EventFilter, OrgUnit, Outcome, StoreError, User};

use crate::assert_err;
use crate::harness::{Harness, actor, duty_entry, duty_entry_with_id};

/// A county with one duty officer in it.
async fn county_with_officer(h: &Harness) -> (OrgUnit, User) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let role = h.role("duty_officer", &[Right::Read, Right::Write]).await;
    let officer = h.user("officer1", &role, &county).await;
    (county, officer)
}

fn created(result: Result<Applied, StoreError>) -> (DutyLogEntry, bool, Applied) {
    let applied = result.expect("the entry is stored");
    match &applied.outcome {
        Outcome::DutyLogEntry { entry, created } => (entry.clone(), *created, applied),
        other => panic!("AddDutyLogEntry gave {other:?}"),
    }
}

fn entry_id(command: &Command) -> RecordId {
    match command {
        Command::AddDutyLogEntry { id, .. } => *id,
        other => panic!("not a duty-log entry: {other:?}"),
    }
}

async fn added_events(h: &Harness) -> Vec<shouwang_domain::Event> {
    let filter = EventFilter {
        kind: Some(EventKind::DutyLogEntryAdded),
        ..EventFilter::after(ScopePath::root(), EventId(0), 1000)
    };
    h.store.events(&filter).await.expect("events read")
}

pub async fn resubmitting_an_entry_returns_the_stored_one_without_a_second_event(h: Harness) {
    let (county, officer) = county_with_officer(&h).await;
    let id = RecordId::new_v7();
    let command = duty_entry_with_id(id, county.id, &county.path, "09:00 handover, all quiet");

    let (entry, was_created, first) = created(h.submit(actor(&officer), command).await);
    assert!(was_created);
    assert_eq!(entry.id, id);
    assert_eq!(entry.org_unit_id, county.id);
    assert_eq!(entry.scope, county.path);
    assert_eq!(entry.author_id, officer.id);
    assert_eq!(entry.body, "09:00 handover, all quiet");
    assert_eq!(first.events.len(), 1);
    assert_eq!(first.events[0].kind, EventKind::DutyLogEntryAdded);
    assert_eq!(first.events[0].subject, format!("duty_log:{id}"));
    assert_eq!(first.events[0].scope, county.path);
    assert_eq!(first.events[0].actor, Some(officer.id));

    // The phone did not hear the answer and sends again, even with edits.
    let resent = duty_entry_with_id(id, county.id, &county.path, "edited on the phone since");
    let (again, was_created, second) = created(h.submit(actor(&officer), resent).await);
    assert!(!was_created, "the second submission finds the first");
    assert_eq!(again, entry, "the stored record comes back unchanged");
    assert!(second.events.is_empty());

    assert_eq!(h.store.duty_log_entry(id).await.unwrap(), entry);
    assert_eq!(h.store.duty_log(&county.path, 100).await.unwrap(), vec![entry]);
    assert_eq!(added_events(&h).await.len(), 1, "exactly one event is stored");
    let published = h.published.events().into_iter().filter(|e| e.kind == EventKind::DutyLogEntryAdded).count();
    assert_eq!(published, 1, "exactly one event is published");
}

pub async fn another_author_reusing_an_entry_id_is_refused(h: Harness) {
    let (county, officer) = county_with_officer(&h).await;
    let role = h.role("viewer", &[Right::Read, Right::Write]).await;
    let intruder = h.user("officer2", &role, &county).await;
    let id = RecordId::new_v7();
    let (entry, _, _) =
        created(h.submit(actor(&officer), duty_entry_with_id(id, county.id, &county.path, "mine")).await);

    let reuse = duty_entry_with_id(id, county.id, &county.path, "not yours");
    assert_err!(h.submit(actor(&intruder), reuse).await, StoreError::Conflict { field: "id" });
    assert_eq!(h.store.duty_log_entry(id).await.unwrap(), entry);
    assert_eq!(added_events(&h).await.len(), 1);
}

pub async fn the_system_cannot_author_a_duty_log_entry(h: Harness) {
    let (county, _) = county_with_officer(&h).await;
    let command = duty_entry(&county, "who wrote this?");
    let id = entry_id(&command);
    assert_err!(h.submit(Actor::system(), command).await, StoreError::Conflict { field: "author" });
    assert_err!(h.store.duty_log_entry(id).await, StoreError::NotFound);
    assert!(added_events(&h).await.is_empty());
}

/// Holds the writer up while `commands` queue, so that they are taken in at
/// most two batches (whatever the writer took before the hold, and the
/// rest); returns their answers in order.
async fn submit_behind_a_held_writer(
    h: &Harness,
    by: &User,
    commands: Vec<Command>,
) -> Vec<Result<Applied, StoreError>> {
    h.submit_held(commands.into_iter().map(|c| (actor(by), c)).collect()).await
}

/// Checks that the good entries of a batch with one bad command were each
/// stored once and published once, in at most two batches.
async fn assert_only_the_bad_one_failed(
    h: &Harness,
    county: &OrgUnit,
    good: BTreeSet<RecordId>,
    batches_before: usize,
) {
    let stored: Vec<RecordId> = h.store.duty_log(&county.path, 1000).await.unwrap().iter().map(|e| e.id).collect();
    assert_eq!(stored.len(), good.len(), "every good entry is stored exactly once");
    assert_eq!(stored.into_iter().collect::<BTreeSet<_>>(), good);

    let events = added_events(h).await;
    assert_eq!(events.len(), good.len());
    let subjects: HashSet<_> = events.iter().map(|e| e.subject.clone()).collect();
    assert_eq!(subjects.len(), good.len(), "one event per entry");
    let new_batches = h.published.batches().len() - batches_before;
    assert!(new_batches <= 2, "the held-up writer took the queue in at most two batches, took {new_batches}");
    let published: Vec<_> =
        h.published.events().into_iter().filter(|e| e.kind == EventKind::DutyLogEntryAdded).collect();
    assert_eq!(published, events, "what was published is what was stored");
}

/// 50 entries queue behind a held-up writer, one of them for a unit that
/// does not exist, so that the bad one shares a transaction with good ones.
pub async fn an_entry_for_a_missing_unit_fails_without_costing_its_batch(h: Harness) {
    let (county, officer) = county_with_officer(&h).await;
    let batches_before = h.published.batches().len();
    let missing = OrgUnitId(county.id.0 + 1000);
    let commands: Vec<Command> = (0..50)
        .map(|i| match i {
            25 => duty_entry_with_id(RecordId::new_v7(), missing, &county.path, "for a unit that is not there"),
            _ => duty_entry(&county, &format!("entry {i}")),
        })
        .collect();
    let good: BTreeSet<RecordId> =
        commands.iter().enumerate().filter(|(i, _)| *i != 25).map(|(_, c)| entry_id(c)).collect();
    let bad_id = entry_id(&commands[25]);

    for (i, result) in submit_behind_a_held_writer(&h, &officer, commands).await.into_iter().enumerate() {
        if i == 25 {
            assert_err!(result, StoreError::Dangling { field: "org_unit_id" });
        } else {
            let (_, was_created, applied) = created(result);
            assert!(was_created, "entry {i}");
            assert_eq!(applied.events.len(), 1, "entry {i}");
        }
    }
    assert_err!(h.store.duty_log_entry(bad_id).await, StoreError::NotFound);
    assert_only_the_bad_one_failed(&h, &county, good, batches_before).await;
}

/// A command that fails inside the database (here a unique index: an API
/// token hash already taken) voids its transaction; the writer then applies
/// the batch's commands one by one, so the others still commit, once each.
pub async fn a_command_failing_in_the_database_does_not_cost_its_batch(h: Harness) {
    let (county, officer) = county_with_officer(&h).await;
    let taken = Command::CreateToken { user: officer.id, name: "phone".into(), token_hash: "tok-taken".into() };
    let Outcome::Token(token) = h.ok(taken.clone()).await.outcome else { panic!("CreateToken gives a token") };
    let batches_before = h.published.batches().len();
    let commands: Vec<Command> = (0..50)
        .map(|i| match i {
            25 => taken.clone(),
            _ => duty_entry(&county, &format!("entry {i}")),
        })
        .collect();
    let good: BTreeSet<RecordId> =
        commands.iter().enumerate().filter(|(i, _)| *i != 25).map(|(_, c)| entry_id(c)).collect();

    for (i, result) in submit_behind_a_held_writer(&h, &officer, commands).await.into_iter().enumerate() {
        if i == 25 {
            assert_err!(result, StoreError::Conflict { .. });
        } else {
            let (_, was_created, applied) = created(result);
            assert!(was_created, "entry {i}");
            assert_eq!(applied.events.len(), 1, "entry {i}");
        }
    }
    assert_eq!(h.store.tokens_within(&county.path).await.unwrap(), vec![token]);
    assert_only_the_bad_one_failed(&h, &county, good, batches_before).await;
}

pub async fn five_hundred_concurrent_entries_are_each_stored_once_with_ordered_events(h: Harness) {
    let (county, officer) = county_with_officer(&h).await;
    let start = h.store.last_event_id().await.unwrap();
    let already_published = h.published.count();

    let mut tasks = Vec::new();
    let mut ids = BTreeSet::new();
    for i in 0..500 {
        let command = duty_entry(&county, &format!("patrol report {i}"));
        ids.insert(entry_id(&command));
        let (writer, actor) = (h.writer.clone(), actor(&officer));
        tasks.push(tokio::spawn(async move { writer.submit(actor, command).await }));
    }
    let mut answered = Vec::new();
    for task in tasks {
        let (entry, was_created, applied) = created(task.await.expect("the submitting task does not panic"));
        assert!(was_created);
        assert_eq!(applied.events.len(), 1);
        answered.push((entry, applied.events[0].clone()));
    }

    let stored = h.store.duty_log(&county.path, 1000).await.unwrap();
    assert_eq!(stored.len(), 500, "each entry stored once");
    assert_eq!(stored.iter().map(|e| e.id).collect::<BTreeSet<_>>(), ids);
    for (entry, _) in &answered {
        assert_eq!(h.store.duty_log_entry(entry.id).await.unwrap(), *entry, "the answer is what was stored");
    }

    let events = h.store.events(&EventFilter::after(ScopePath::root(), start, 1000)).await.unwrap();
    assert_eq!(events.len(), 500);
    assert!(events.windows(2).all(|w| w[0].id < w[1].id), "event ids strictly increase");
    assert!(events.iter().all(|e| e.kind == EventKind::DutyLogEntryAdded));
    let by_id: HashMap<EventId, &shouwang_domain::Event> = events.iter().map(|e| (e.id, e)).collect();
    for (entry, event) in &answered {
        assert_eq!(event.subject, format!("duty_log:{}", entry.id), "each answer carries its own entry's event");
        assert_eq!(by_id.get(&event.id).copied(), Some(&**event), "the event in each answer is stored, id and all");
    }

    let published: Vec<_> = h.published.events().into_iter().skip(already_published).collect();
    assert_eq!(published, events, "the listener saw every committed event once, in id order, with none missing");
}

/// While the writer is held up, 100 entries queue; once it is free it
/// commits them in at most two transactions (whatever it had taken before
/// the hold, and the rest), not one each.
pub async fn writes_queued_behind_a_busy_writer_commit_together(h: Harness) {
    let (county, officer) = county_with_officer(&h).await;
    let batches_before = h.published.batches().len();
    let commands = (0..100).map(|i| duty_entry(&county, &format!("entry {i}"))).collect();
    for result in submit_behind_a_held_writer(&h, &officer, commands).await {
        assert!(created(result).1);
    }

    let batches = &h.published.batches()[batches_before..];
    assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 100);
    assert!(batches.len() <= 2, "100 queued writes took {} commits", batches.len());
    assert_eq!(h.store.duty_log(&county.path, 1000).await.unwrap().len(), 100);
}

pub async fn the_duty_log_lists_entries_within_scope_newest_first(h: Harness) {
    let (short, long) = h.prefix_siblings().await;
    let township = h.unit(Some(&short), OrgUnitKind::Township, "township").await;
    let role = h.role("duty_officer", &[Right::Read, Right::Write]).await;
    let officer = h.user("officer1", &role, &short).await;
    let write = async |unit: &OrgUnit, occurred_us: i64| {
        let command = Command::AddDutyLogEntry {
            id: RecordId::new_v7(),
            org_unit: unit.id,
            scope: unit.path.clone(),
            body: format!("at {occurred_us}"),
            occurred_us,
        };
        created(h.submit(actor(&officer), command).await).0
    };
    let old = write(&short, 1_000).await;
    let newest = write(&township, 3_000).await;
    let middle = write(&short, 2_000).await;
    let elsewhere = write(&long, 4_000).await;

    assert_eq!(h.store.duty_log(&short.path, 100).await.unwrap(), vec![newest.clone(), middle.clone(), old.clone()]);
    assert_eq!(h.store.duty_log(&short.path, 1).await.unwrap(), vec![newest.clone()], "the limit keeps the newest");
    assert_eq!(h.store.duty_log(&township.path, 100).await.unwrap(), vec![newest.clone()]);
    assert_eq!(h.store.duty_log(&long.path, 100).await.unwrap(), vec![elsewhere.clone()]);
    assert_eq!(h.store.duty_log(&ScopePath::root(), 100).await.unwrap(), vec![elsewhere, newest, middle, old]);
    assert_err!(h.store.duty_log_entry(RecordId::new_v7()).await, StoreError::NotFound);
}

pub async fn a_batch_mixing_new_entries_resends_and_a_claimed_id_answers_each_as_alone(h: Harness) {
    let (county, one) = county_with_officer(&h).await;
    let role = h.role("duty_officer", &[Right::Read, Right::Write]).await;
    let two = h.user("officer2", &role, &county).await;
    let x = created(h.submit(actor(&one), duty_entry(&county, "before the batch")).await).0;
    let events_before = added_events(&h).await.len();

    let a = RecordId::new_v7();
    let b = RecordId::new_v7();
    let missing = OrgUnit { id: shouwang_domain::OrgUnitId(424_242), ..county.clone() };
    let jobs: Vec<(Actor, Command)> = vec![
        (actor(&one), duty_entry_with_id(a, county.id, &county.path, "new A")),
        (actor(&one), duty_entry_with_id(x.id, county.id, &county.path, "resend of X")),
        (actor(&two), duty_entry_with_id(x.id, county.id, &county.path, "X claimed by another")),
        (actor(&two), duty_entry_with_id(b, county.id, &county.path, "new B")),
        (actor(&one), duty_entry_with_id(a, county.id, &county.path, "A twice in one batch")),
        (actor(&one), duty_entry(&missing, "for a unit that does not exist")),
    ];
    let mut results = h.submit_held(jobs).await.into_iter();

    let (first_a, new, _) = created(results.next().unwrap());
    assert!(new && first_a.body == "new A");
    let (resent, new, _) = created(results.next().unwrap());
    assert!(!new, "a resend is not new");
    assert_eq!(resent, x, "a resend gets the stored entry back");
    assert_err!(results.next().unwrap(), StoreError::Conflict { field: "id" });
    assert!(created(results.next().unwrap()).1, "B is new");
    let (again, new, _) = created(results.next().unwrap());
    assert!(!new, "the second A in one batch is a resend of the first");
    assert_eq!(again, first_a);
    assert_err!(results.next().unwrap(), StoreError::Dangling { field: "org_unit_id" });

    let stored: BTreeSet<RecordId> = h.store.duty_log(&county.path, 100).await.unwrap().iter().map(|e| e.id).collect();
    assert_eq!(stored, BTreeSet::from([x.id, a, b]));
    let events = added_events(&h).await;
    assert_eq!(events.len() - events_before, 2, "one event for A, one for B");
}

/// The plain batch (known units, no id twice) goes to SQLite in one round
/// trip with no check for resends; a resend fails it before the commit, and
/// the batch is then applied the usual way: nothing of the first try stays.
pub async fn a_resend_among_new_entries_of_known_units_is_answered_as_stored(h: Harness) {
    let (county, officer) = county_with_officer(&h).await;
    // Once a batch of its entries commits, the unit is known to the writer.
    let jobs = vec![
        (actor(&officer), duty_entry(&county, "before the batch")),
        (actor(&officer), duty_entry(&county, "also before")),
    ];
    let x = created(h.submit_held(jobs).await.remove(0)).0;
    let events_before = added_events(&h).await.len();

    let (a, b) = (RecordId::new_v7(), RecordId::new_v7());
    let jobs: Vec<(Actor, Command)> = vec![
        (actor(&officer), duty_entry_with_id(a, county.id, &county.path, "new A")),
        (actor(&officer), duty_entry_with_id(x.id, county.id, &county.path, "resend of X")),
        (actor(&officer), duty_entry_with_id(b, county.id, &county.path, "new B")),
    ];
    let mut results = h.submit_held(jobs).await.into_iter();
    let (first, new, _) = created(results.next().unwrap());
    assert!(new && first.body == "new A");
    let (resent, new, _) = created(results.next().unwrap());
    assert!(!new, "a resend is not new");
    assert_eq!(resent, x, "a resend gets the stored entry back, unchanged");
    let (last, new, _) = created(results.next().unwrap());
    assert!(new && last.body == "new B");

    let stored: BTreeSet<RecordId> = h.store.duty_log(&county.path, 100).await.unwrap().iter().map(|e| e.id).collect();
    assert_eq!(stored.len(), 4);
    assert!(stored.is_superset(&BTreeSet::from([x.id, a, b])));
    let events = added_events(&h).await;
    assert_eq!(events.len() - events_before, 2, "one event for A, one for B: {events:?}");

    // And a plain batch of new entries only is stored whole.
    let (c, d) = (RecordId::new_v7(), RecordId::new_v7());
    let jobs: Vec<(Actor, Command)> = vec![
        (actor(&officer), duty_entry_with_id(c, county.id, &county.path, "new C")),
        (actor(&officer), duty_entry_with_id(d, county.id, &county.path, "new D")),
    ];
    for result in h.submit_held(jobs).await {
        assert!(created(result).1);
    }
    let events = added_events(&h).await;
    assert_eq!(events.len() - events_before, 4);
    let subjects: Vec<&str> = events[events.len() - 2..].iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(subjects, [format!("duty_log:{c}"), format!("duty_log:{d}")], "events in submission order");
}
