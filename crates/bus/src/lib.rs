//! Event fan-out after commit.
//!
//! The writer hands every committed batch to the [`Bus`]; the bus delivers
//! each event to the live subscribers (the WebSocket connections) whose
//! scope contains it, and to no one else: a subscription is made for a
//! scope, and the bus keeps one channel per scope subscribed to, so an
//! event wakes only the subscribers it is for (its scope's ancestors'
//! channels, a handful of lookups), not every connection of the node.
//! Each event is wrapped once in a [`Published`], which also holds the
//! event's wire form once the first subscriber rendered it: ten thousand
//! subscribers send the same bytes, serialised once.
//!
//! # No gap, no duplicate
//! A subscriber that must not miss anything (a WebSocket client reconnecting
//! with `after=ID`) subscribes **first**, then reads the store for everything
//! after its cursor, then drains the subscription, skipping events whose id it
//! has already sent. Because ids grow with commit order, that is exact. If a
//! subscriber falls so far behind that the channel overwrites what it has not
//! read, it gets [`Lagged`] and must re-read the store from its cursor: slow
//! clients never slow the writer.
//!
//! # One node or several
//! By itself the bus serves one node: its writer publishes to it directly.
//! With several nodes, each node's bus is fed from NATS JetStream instead,
//! and its writer publishes there ([`nats`]); subscribers see no difference.
#![deny(missing_docs)]

pub mod nats;

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use shouwang_domain::{Event, ScopePath};
use tokio::sync::broadcast;

/// A subscriber fell behind and lost events from the channel; it must resume
/// from the store at its last seen id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lagged;

/// An event as delivered: the event, and its wire form once rendered.
#[derive(Debug)]
pub struct Published {
    /// The event.
    pub event: Arc<Event>,
    wire: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl Published {
    /// The event's wire form: `render` runs for the first subscriber that
    /// asks; everyone else gets a clone of the same value, so it should be
    /// cheap to clone (shared bytes). It is kept as the subscribers' own
    /// type, so that a WebSocket frame, say, is checked once, not once per
    /// connection. Every subscriber of a bus asks for the same type; one
    /// that asks for another renders its own, uncached.
    pub fn wire<T: Clone + Send + Sync + 'static>(&self, render: impl Fn(&Event) -> T) -> T {
        let kept = self.wire.get_or_init(|| Box::new(render(&self.event)));
        match kept.downcast_ref::<T>() {
            Some(wire) => wire.clone(),
            None => render(&self.event),
        }
    }
}

/// The in-process event bus.
#[derive(Clone, Debug)]
pub struct Bus {
    capacity: usize,
    /// One channel per scope someone subscribed to.
    channels: Arc<Mutex<HashMap<ScopePath, broadcast::Sender<Arc<Published>>>>>,
}

impl Bus {
    /// A bus whose subscribers may fall `capacity` events behind.
    pub fn new(capacity: usize) -> Self {
        Self { capacity, channels: Arc::default() }
    }

    /// Publishes committed events, oldest first, each to the channels of
    /// the scopes that contain it.
    pub fn publish(&self, events: &[Arc<Event>]) {
        let mut channels = self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Scopes nobody listens to any more are dropped here, off the
        // subscribers' path.
        channels.retain(|_, tx| tx.receiver_count() > 0);
        for e in events {
            let published = Arc::new(Published { event: e.clone(), wire: OnceLock::new() });
            let mut at = Some(e.scope.clone());
            while let Some(scope) = at {
                if let Some(tx) = channels.get(&scope) {
                    // A subscriber gone meanwhile is not an error.
                    let _ = tx.send(published.clone());
                }
                at = scope.parent();
            }
        }
        metrics::counter!("shouwang_bus_events_total").increment(events.len() as u64);
    }

    /// A new subscription to the events within `scope`, from now on.
    pub fn subscribe(&self, scope: &ScopePath) -> Subscription {
        let mut channels = self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let tx = channels.entry(scope.clone()).or_insert_with(|| broadcast::channel(self.capacity).0);
        Subscription { rx: tx.subscribe() }
    }

    /// How many subscriptions are open.
    pub fn subscribers(&self) -> usize {
        let channels = self.channels.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        channels.values().map(broadcast::Sender::receiver_count).sum()
    }
}

/// One subscriber's view of the bus.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Arc<Published>>,
}

impl Subscription {
    /// The next event within the subscription's scope; `Ok(None)` once the
    /// bus is gone (shutdown).
    pub async fn next(&mut self) -> Result<Option<Arc<Published>>, Lagged> {
        match self.rx.recv().await {
            Ok(e) => Ok(Some(e)),
            Err(broadcast::error::RecvError::Closed) => Ok(None),
            Err(broadcast::error::RecvError::Lagged(_)) => Err(Lagged),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shouwang_domain::{EventId, EventKind, OrgUnitId};

    fn county() -> ScopePath {
        ScopePath::root().child(OrgUnitId(1))
    }

    fn town(id: i64) -> ScopePath {
        county().child(OrgUnitId(id))
    }

    fn event(id: i64, scope: ScopePath) -> Arc<Event> {
        Arc::new(Event {
            id: EventId(id),
            at_us: 0,
            actor: None,
            actor_name: "system".into(),
            kind: EventKind::DataExported,
            subject: "x:1".into(),
            scope,
            payload: serde_json::Value::Null,
        })
    }

    async fn ids(sub: &mut Subscription, n: usize) -> Vec<i64> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(sub.next().await.unwrap().unwrap().event.id.0);
        }
        out
    }

    #[tokio::test]
    async fn subscribers_get_the_events_within_their_scope_in_publish_order() {
        let bus = Bus::new(16);
        let mut everything = bus.subscribe(&county());
        let mut town_4 = bus.subscribe(&town(4));
        let mut town_5 = bus.subscribe(&town(5));
        let post = town(4).segment("c9");
        bus.publish(&[event(1, post.clone()), event(2, town(5)), event(3, county()), event(4, post)]);
        assert_eq!(ids(&mut everything, 4).await, [1, 2, 3, 4]);
        assert_eq!(ids(&mut town_4, 2).await, [1, 4], "its post's events, not the county's or a neighbour's");
        assert_eq!(ids(&mut town_5, 1).await, [2]);
        bus.publish(&[event(5, town(5))]);
        assert_eq!(ids(&mut town_5, 1).await, [5], "nothing else was waiting for town 5");
        assert_eq!(bus.subscribers(), 3);
    }

    #[tokio::test]
    async fn an_event_is_rendered_once_for_all_its_subscribers() {
        let bus = Bus::new(16);
        let (mut a, mut b) = (bus.subscribe(&county()), bus.subscribe(&town(4)));
        bus.publish(&[event(1, town(4))]);
        let renders = std::sync::atomic::AtomicUsize::new(0);
        let render = |e: &Event| {
            renders.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            format!("event {}", e.id.0)
        };
        let first = a.next().await.unwrap().unwrap().wire(render);
        let second = b.next().await.unwrap().unwrap().wire(render);
        assert_eq!((first.as_str(), second.as_str()), ("event 1", "event 1"));
        assert_eq!(renders.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_scope_nobody_listens_to_any_more_is_forgotten() {
        let bus = Bus::new(16);
        drop(bus.subscribe(&town(4)));
        let _county = bus.subscribe(&county());
        bus.publish(&[event(1, town(4))]);
        assert_eq!(bus.channels.lock().unwrap().len(), 1, "only the county's channel is left");
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_to_resume() {
        let bus = Bus::new(4);
        let mut sub = bus.subscribe(&county());
        bus.publish(&(1..=10).map(|i| event(i, county())).collect::<Vec<_>>());
        assert_eq!(sub.next().await.unwrap_err(), Lagged);
    }
}
