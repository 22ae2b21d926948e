//! Two "nodes" on one NATS server: each a [`Bus`] fed from the stream, both
//! over one event log (a list standing in for the store they share).
//! Skipped (with a printed reason) when NATS is out of reach, unless
//! `SHOUWANG_REQUIRE_ALL=1`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use shouwang_bus::nats::{self, BoxError, EventLog, NatsLink, NatsOptions, NatsPublisher};
use shouwang_bus::{Bus, Subscription};
use shouwang_domain::{Event, EventId, EventKind, OrgUnitId, ScopePath};
use shouwang_testdb::nats::{CuttableLink, TestNats, until};

/// The log both nodes commit to, in id order.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Event>>>);

impl EventLog for Log {
    async fn events_after(&self, after: EventId, limit: usize) -> Result<Vec<Event>, BoxError> {
        let all = self.0.lock().unwrap();
        Ok(all.iter().filter(|e| e.id > after).take(limit).cloned().collect())
    }

    async fn last_event_id(&self) -> Result<EventId, BoxError> {
        Ok(self.0.lock().unwrap().last().map_or(EventId(0), |e| e.id))
    }
}

struct Node {
    bus: Bus,
    publisher: NatsPublisher,
    link: NatsLink,
    /// Events other nodes' commits that this one was told about.
    remote: Arc<Mutex<Vec<i64>>>,
}

async fn node(url: &str, subject: &str, log: &Log) -> Node {
    let bus = Bus::new(64);
    let remote = Arc::new(Mutex::new(Vec::new()));
    let heard = remote.clone();
    let options = NatsOptions { url: url.to_owned(), subject: subject.to_owned() };
    let (publisher, link) = nats::connect(&options, bus.clone(), log.clone(), move |events: &[Arc<Event>]| {
        heard.lock().unwrap().extend(events.iter().map(|e| e.id.0));
    })
    .await
    .expect("the node joins NATS");
    Node { bus, publisher, link, remote }
}

impl Node {
    /// Commits `events` to the log as this node's writer would, then hands
    /// them to its publisher, as its commit listener would.
    fn commit(&self, log: &Log, events: &[(i64, ScopePath)]) {
        let events: Vec<Arc<Event>> = events.iter().map(|(id, scope)| Arc::new(event(*id, scope.clone()))).collect();
        log.0.lock().unwrap().extend(events.iter().map(|e| (**e).clone()));
        self.publisher.publish(&events);
    }
}

fn county() -> ScopePath {
    ScopePath::root().child(OrgUnitId(1))
}

fn town(id: i64) -> ScopePath {
    county().child(OrgUnitId(id))
}

fn event(id: i64, scope: ScopePath) -> Event {
    Event {
        id: EventId(id),
        at_us: 0,
        actor: None,
        actor_name: "system".into(),
        kind: EventKind::DutyLogEntryAdded,
        subject: format!("duty_log:{id}"),
        scope,
        payload: serde_json::json!({ "body": format!("entry {id}") }),
    }
}

/// The ids of the next `n` events, each within 15 s.
async fn ids(sub: &mut Subscription, n: usize) -> Vec<i64> {
    let mut out = Vec::new();
    for _ in 0..n {
        let next = tokio::time::timeout(Duration::from_secs(15), sub.next()).await;
        out.push(next.expect("an event within 15 s").expect("not lagged").expect("the bus is open").event.id.0);
    }
    out
}

/// Nothing more arrives within `wait`.
async fn quiet(sub: &mut Subscription, wait: Duration) {
    if let Ok(next) = tokio::time::timeout(wait, sub.next()).await {
        let id = next.ok().flatten().map(|p| p.event.id.0);
        panic!("expected nothing more, got {id:?}");
    }
}

#[tokio::test]
async fn events_published_on_one_node_reach_the_other_nodes_subscribers_in_order_within_scope() {
    let Some(nats) =
        TestNats::fresh("events_published_on_one_node_reach_the_other_nodes_subscribers_in_order_within_scope").await
    else {
        return;
    };
    let log = Log::default();
    let a = node(&nats.url, &nats.subject, &log).await;
    let b = node(&nats.url, &nats.subject, &log).await;
    let (mut b_county, mut b_town4, mut b_town5) =
        (b.bus.subscribe(&county()), b.bus.subscribe(&town(4)), b.bus.subscribe(&town(5)));
    let mut a_county = a.bus.subscribe(&county());
    let post = town(4).segment("c9");
    a.commit(&log, &[(1, post.clone()), (2, town(5))]);
    a.commit(&log, &[(3, county()), (4, post)]);
    assert_eq!(ids(&mut b_county, 4).await, [1, 2, 3, 4]);
    assert_eq!(ids(&mut b_town4, 2).await, [1, 4], "its post's events, not the county's or a neighbour's");
    assert_eq!(ids(&mut b_town5, 1).await, [2]);
    assert_eq!(ids(&mut a_county, 4).await, [1, 2, 3, 4], "the writing node's own subscribers are fed from NATS too");
    assert_eq!(*b.remote.lock().unwrap(), [1, 2, 3, 4], "B heard A's commits before fanning them out");
    assert!(a.remote.lock().unwrap().is_empty(), "A knows its own events");
    quiet(&mut b_county, Duration::from_millis(300)).await;
    assert!(a.link.status().connected() && b.link.status().connected());
    drop((a.publisher, b.publisher));
    a.link.close().await;
    b.link.close().await;
}

#[tokio::test]
async fn a_node_whose_link_is_cut_misses_nothing_and_gets_nothing_twice() {
    let Some(nats) = TestNats::fresh("a_node_whose_link_is_cut_misses_nothing_and_gets_nothing_twice").await else {
        return;
    };
    let log = Log::default();
    let a = node(&nats.url, &nats.subject, &log).await;
    let link = CuttableLink::to(&nats.addr()).await;
    let b = node(&link.url, &nats.subject, &log).await;
    let mut b_sub = b.bus.subscribe(&county());
    let mut a_sub = a.bus.subscribe(&county());
    a.commit(&log, &[(1, county())]);
    assert_eq!(ids(&mut b_sub, 1).await, [1]);

    link.cut();
    until("B notices its link is down", || !b.link.status().connected()).await;
    // A writes while B is cut off: B's subscribers get it from the log.
    a.commit(&log, &[(2, town(4)), (3, town(5))]);
    assert_eq!(ids(&mut b_sub, 2).await, [2, 3]);
    // B writes while cut off: its publish fails; its own subscribers get it
    // from the log, and A's from A's next sweep of the log.
    b.commit(&log, &[(4, county())]);
    assert_eq!(ids(&mut b_sub, 1).await, [4]);
    assert_eq!(ids(&mut a_sub, 4).await, [1, 2, 3, 4]);

    link.mend();
    until("B reconnects", || b.link.status().connected()).await;
    a.commit(&log, &[(5, county())]);
    assert_eq!(ids(&mut b_sub, 1).await, [5], "after the reconnect, the next event and no repeat of 2–4");
    quiet(&mut b_sub, Duration::from_millis(500)).await;
    assert_eq!(ids(&mut a_sub, 1).await, [5]);
    drop((a.publisher, b.publisher));
    a.link.close().await;
    b.link.close().await;
}
