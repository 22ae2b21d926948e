//! Event fan-out after commit.
//!
//! The writer hands every committed batch to the [`Bus`]; the bus broadcasts
//! each event to every live subscriber (the WebSocket connections, jobs).
//! Subscribers filter by scope themselves; the bus does not know about users.
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
//! This in-process bus serves one node. With several nodes, each node's bus
//! is fed from NATS JetStream instead of its own writer (the scale-out issue).
#![deny(missing_docs)]

use std::sync::Arc;

use shouwang_domain::Event;
use tokio::sync::broadcast;

/// A subscriber fell behind and lost events from the channel; it must resume
/// from the store at its last seen id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lagged;

/// The in-process event bus.
#[derive(Clone, Debug)]
pub struct Bus {
    tx: broadcast::Sender<Arc<Event>>,
}

impl Bus {
    /// A bus whose subscribers may fall `capacity` events behind.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity);
        Self { tx }
    }

    /// Publishes committed events, oldest first.
    pub fn publish(&self, events: &[Arc<Event>]) {
        for e in events {
            // No subscriber is not an error: the board may simply be closed.
            let _ = self.tx.send(e.clone());
        }
        metrics::counter!("shouwang_bus_events_total").increment(events.len() as u64);
    }

    /// A new subscription, seeing events published from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription { rx: self.tx.subscribe() }
    }

    /// How many subscriptions are open.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// One subscriber's view of the bus.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Arc<Event>>,
}

impl Subscription {
    /// The next event; `Ok(None)` once the bus is gone (shutdown).
    pub async fn next(&mut self) -> Result<Option<Arc<Event>>, Lagged> {
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
    use shouwang_domain::{EventId, EventKind, ScopePath};

    fn event(id: i64) -> Arc<Event> {
        Arc::new(Event {
            id: EventId(id),
            at_us: 0,
            actor: None,
            actor_name: "system".into(),
            kind: EventKind::DataExported,
            subject: "x:1".into(),
            scope: ScopePath::root(),
            payload: serde_json::Value::Null,
        })
    }

    #[tokio::test]
    async fn subscribers_get_events_in_publish_order() {
        let bus = Bus::new(16);
        let mut sub = bus.subscribe();
        bus.publish(&[event(1), event(2), event(3)]);
        for id in 1..=3 {
            assert_eq!(sub.next().await.unwrap().unwrap().id, EventId(id));
        }
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_to_resume() {
        let bus = Bus::new(4);
        let mut sub = bus.subscribe();
        bus.publish(&(1..=10).map(event).collect::<Vec<_>>());
        assert_eq!(sub.next().await, Err(Lagged));
    }
}
