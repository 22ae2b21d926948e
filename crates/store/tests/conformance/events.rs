//! Reading the event log: cursors, scopes, filters, and the events that
//! record refusals and exports.

use shouwang_domain::{Event, EventId, EventKind, OrgUnitKind, Right, ScopePath};
use shouwang_store::writer::Actor;
use shouwang_store::{Command, EventFilter, StoreError};

use crate::assert_err;
use crate::harness::{Harness, actor, create_unit, duty_entry};

fn everything() -> EventFilter {
    EventFilter::after(ScopePath::root(), EventId(0), 1000)
}

/// A small deployment with some history: two counties, a township, a role,
/// two officers and a dozen duty-log entries.
async fn some_history(h: &Harness) {
    let a = h.unit(None, OrgUnitKind::County, "411224").await;
    let b = h.unit(None, OrgUnitKind::County, "411225").await;
    let township = h.unit(Some(&a), OrgUnitKind::Township, "411224104").await;
    let role = h.role("duty_officer", &[Right::Read, Right::Write]).await;
    let one = h.user("officer1", &role, &township).await;
    let two = h.user("officer2", &role, &b).await;
    for i in 0..6 {
        h.submit(actor(&one), duty_entry(&township, &format!("one {i}"))).await.unwrap();
        h.submit(actor(&two), duty_entry(&b, &format!("two {i}"))).await.unwrap();
    }
}

pub async fn paging_after_a_cursor_returns_every_event_once_in_order(h: Harness) {
    some_history(&h).await;
    let all = h.all_events().await;
    assert_eq!(all.len(), 18);
    assert_eq!(all, h.published.events(), "the log holds what was published, in order");

    let mut paged: Vec<Event> = Vec::new();
    let mut cursor = EventId(0);
    loop {
        let page = h.store.events(&EventFilter::after(ScopePath::root(), cursor, 7)).await.unwrap();
        assert!(page.len() <= 7);
        let Some(last) = page.last() else { break };
        cursor = last.id;
        paged.extend(page);
    }
    assert_eq!(paged, all, "every event exactly once, oldest first");
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));

    let from_middle = h.store.events(&EventFilter::after(ScopePath::root(), all[9].id, 1000)).await.unwrap();
    assert_eq!(from_middle, all[10..].to_vec());
    let at_least_one = h.store.events(&EventFilter::after(ScopePath::root(), EventId(0), 0)).await.unwrap();
    assert_eq!(at_least_one, all[..1].to_vec(), "a limit below one reads one");
}

pub async fn event_reads_exclude_other_subtrees(h: Harness) {
    let (short, long) = h.prefix_siblings().await;
    let township = h.unit(Some(&short), OrgUnitKind::Township, "inside").await;
    let trap = h.unit(Some(&long), OrgUnitKind::Township, "trap").await;
    let role = h.role("duty_officer", &[Right::Read, Right::Write]).await;
    let inside = h.user("officer1", &role, &township).await;
    let outside = h.user("officer2", &role, &trap).await;
    h.submit(actor(&inside), duty_entry(&township, "inside")).await.unwrap();
    h.submit(actor(&outside), duty_entry(&trap, "outside")).await.unwrap();
    let all = h.all_events().await;

    for scope in [&short.path, &township.path, &long.path, &trap.path] {
        let seen = h.store.events(&EventFilter::after(scope.clone(), EventId(0), 1000)).await.unwrap();
        let expected: Vec<Event> = all.iter().filter(|e| scope.contains(&e.scope)).cloned().collect();
        assert_eq!(seen, expected, "events within {scope}");
    }
    let in_short = h.store.events(&EventFilter::after(short.path.clone(), EventId(0), 1000)).await.unwrap();
    let subjects: Vec<&str> = in_short.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(subjects.len(), 4, "the county, its township, its officer and their entry: {subjects:?}");
    assert!(in_short.iter().all(|e| e.scope != ScopePath::root()), "root events (roles) are not in a county's scope");
    assert!(
        !in_short.iter().any(|e| long.path.contains(&e.scope)),
        "nothing from {} leaks into {}",
        long.path,
        short.path
    );
}

pub async fn events_filter_by_kind_and_actor(h: Harness) {
    some_history(&h).await;
    let all = h.all_events().await;
    let one = h.store.credentials(&crate::harness::username("officer1")).await.unwrap().0;

    let created = h.store.events(&EventFilter { kind: Some(EventKind::UserCreated), ..everything() }).await.unwrap();
    assert_eq!(created.len(), 2);
    assert!(created.iter().all(|e| e.kind == EventKind::UserCreated));

    let by_one = h.store.events(&EventFilter { actor: Some(one.id), ..everything() }).await.unwrap();
    assert_eq!(by_one.len(), 6);
    assert!(by_one.iter().all(|e| e.actor == Some(one.id) && e.actor_name == "officer1"));

    let filter = EventFilter { kind: Some(EventKind::DutyLogEntryAdded), actor: Some(one.id), ..everything() };
    assert_eq!(h.store.events(&filter).await.unwrap(), by_one);
    let filter = EventFilter { kind: Some(EventKind::RoleUpdated), actor: Some(one.id), ..everything() };
    assert!(h.store.events(&filter).await.unwrap().is_empty());

    let by_system: Vec<Event> = all.iter().filter(|e| e.actor.is_none()).cloned().collect();
    assert_eq!(by_system.len(), 6, "setup was done by the system");
    assert!(by_system.iter().all(|e| e.actor_name == "system"));
    let scoped = EventFilter { kind: Some(EventKind::DutyLogEntryAdded), ..everything() };
    let township = h.store.org_unit_by_code("411224104").await.unwrap();
    let in_township = h.store.events(&EventFilter { scope: township.path.clone(), ..scoped }).await.unwrap();
    assert_eq!(in_township, by_one, "kind and scope combine");
}

pub async fn newest_first_and_before_page_backwards(h: Harness) {
    some_history(&h).await;
    let all = h.all_events().await;

    let newest = h.store.events(&EventFilter { newest_first: true, limit: 5, ..everything() }).await.unwrap();
    let expected: Vec<Event> = all.iter().rev().take(5).cloned().collect();
    assert_eq!(newest, expected);

    let mut backwards: Vec<Event> = Vec::new();
    let mut before = None;
    loop {
        let filter = EventFilter { after: None, before, newest_first: true, limit: 4, ..everything() };
        let page = h.store.events(&filter).await.unwrap();
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        backwards.extend(page);
    }
    assert_eq!(backwards, all.iter().rev().cloned().collect::<Vec<_>>(), "the audit log pages back to the start");

    let between = EventFilter { after: Some(all[3].id), before: Some(all[8].id), ..everything() };
    assert_eq!(h.store.events(&between).await.unwrap(), all[4..8].to_vec());
}

pub async fn last_event_id_is_the_newest_committed_event(h: Harness) {
    assert_eq!(h.store.last_event_id().await.unwrap(), EventId(0));
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let first = h.store.last_event_id().await.unwrap();
    assert_eq!(Some(first), h.published.events().last().map(|e| e.id));

    assert_err!(
        h.system(create_unit(None, OrgUnitKind::County, "411224")).await,
        StoreError::Conflict { field: "code" }
    );
    h.ok(Command::PutSetting { key: "k".into(), value: Some("v".into()) }).await;
    assert_eq!(h.store.last_event_id().await.unwrap(), first, "refusals and settings add no event");

    h.unit(Some(&county), OrgUnitKind::Township, "411224104").await;
    let second = h.store.last_event_id().await.unwrap();
    assert!(second > first);
    assert_eq!(Some(second), h.published.events().last().map(|e| e.id));
    assert_eq!(h.all_events().await.last().map(|e| e.id), Some(second));
}

pub async fn a_failed_login_is_scoped_to_the_user_or_else_to_root(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let township = h.unit(Some(&county), OrgUnitKind::Township, "411224104").await;
    let role = h.role("viewer", &[Right::Read]).await;
    let user = h.user("officer1", &role, &township).await;
    let failed = |username: &str| Command::LoginFailed {
        username: username.into(),
        reason: "bad_credentials",
        client: "198.51.100.4".into(),
    };

    let known = h.ok(failed(" Officer1")).await;
    assert_eq!(known.events.len(), 1);
    let event = &known.events[0];
    assert_eq!(event.kind, EventKind::LoginFailed);
    assert_eq!(event.scope, user.scope, "the user's own admins see failed logins to their account");
    assert_eq!(event.actor, None);
    assert_eq!(event.payload["reason"], "bad_credentials");
    assert_eq!(event.payload["client"], "198.51.100.4");

    for unknown in ["ghost", "张三", ""] {
        let applied = h.ok(failed(unknown)).await;
        assert_eq!(applied.events[0].scope, ScopePath::root(), "{unknown:?} is no user: root only");
    }
    let long = "x".repeat(300);
    let applied = h.ok(failed(&long)).await;
    assert_eq!(applied.events[0].subject, format!("login:{}", "x".repeat(64)), "what was tried is cut short");
    assert_eq!(applied.events[0].scope, ScopePath::root());

    assert_eq!(h.store.user_count().await.unwrap(), 1, "a failed login writes nothing else");
    let filter =
        EventFilter { kind: Some(EventKind::LoginFailed), ..EventFilter::after(township.path, EventId(0), 1000) };
    assert_eq!(h.store.events(&filter).await.unwrap(), vec![(**event).clone()]);
    let filter = EventFilter { kind: Some(EventKind::LoginFailed), ..everything() };
    assert_eq!(h.store.events(&filter).await.unwrap().len(), 5);
}

pub async fn an_export_is_recorded_as_an_event(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let role = h.role("commander", &[Right::Read, Right::Export]).await;
    let user = h.user("commander1", &role, &county).await;
    let export = Command::RecordExport { what: "events".into(), count: 1234, scope: county.path.clone() };
    let applied = h.submit(actor(&user), export).await.unwrap();
    assert_eq!(applied.events.len(), 1);
    let event = &applied.events[0];
    assert_eq!(event.kind, EventKind::DataExported);
    assert_eq!(event.subject, "export:events");
    assert_eq!(event.scope, county.path);
    assert_eq!(event.actor, Some(user.id));
    assert_eq!(event.actor_name, "commander1");
    assert_eq!(event.payload["count"], 1234);

    let filter = EventFilter { kind: Some(EventKind::DataExported), ..everything() };
    assert_eq!(h.store.events(&filter).await.unwrap(), vec![(**event).clone()]);
    let system_export = Command::RecordExport { what: "duty_log".into(), count: 0, scope: ScopePath::root() };
    let by_system = h.submit(Actor::system(), system_export).await.unwrap();
    assert_eq!(by_system.events[0].actor_name, "system");
}
