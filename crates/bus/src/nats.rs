//! The bus across nodes: committed events go out over NATS JetStream, and
//! every node's [`Bus`] is fed from the stream instead of its own writer.
//!
//! # What travels, and how
//! A node's commit listener hands each committed batch to its
//! [`NatsPublisher`], which only queues it (the writer never waits on the
//! network). One publisher task per node drains that queue in commit order
//! and publishes the batch on the subject as one message (several for a big
//! batch): `{"node":"<this node's id>","queued_us":…,"events":[…]}`, each
//! event the JSON of [`shouwang_domain::Event`], serialised once. Each publish waits for the
//! stream's acknowledgement before the next, so the stream holds one node's
//! batches in its commit order.
//!
//! One feeder task per node reads the stream with an *ordered consumer*
//! starting at new messages (the client notices a missed message or a dead
//! consumer and recreates it where it left off) and, for every event, in
//! order, calls [`Bus::publish`]; events from *other* nodes first go to the
//! `remote` callback, which the server uses to drop what they made stale in
//! its caches (its own it dropped already when it committed them).
//!
//! What the NATS hop costs is measured on every node's own messages: from
//! the commit listener queueing a batch (`queued_us`, this node's clock) to
//! the feeder having read it back, about to hand it to the bus, which is
//! where a node without NATS hands it over at once. The histogram
//! `shouwang_bus_nats_hop_seconds` (in `/metrics`) holds it.
//!
//! # The store is the log; NATS is only the fast path
//! The feeder keeps the id of the last event it fed to the bus. Ids grow
//! with commit order, so "everything after that id" in the store
//! ([`EventLog::events_after`]) is exactly what the node's subscribers may
//! still be missing. The feeder reads it, feeds it and moves its cursor
//! whenever the fast path may have lost something:
//! - the NATS connection came back (anything published meanwhile, by any
//!   node, may have passed this one by);
//! - a publish of this node failed (its own events never reached the stream);
//! - an event arrives whose id is not the next one after the cursor (a lost
//!   message; on PostgreSQL an id can also be skipped by a rolled-back
//!   transaction, which costs one empty read);
//! - every second while the link is down, so that the node's subscribers
//!   keep getting every commit (its own and other nodes') from the store;
//! - every few seconds in any case, for the last events of a node that
//!   died between committing and publishing.
//!
//! Events at or below the cursor are skipped, so nothing reaches the bus
//! twice, whether it came from the store first or from the stream first.
//!
//! # Driving it
//! [`connect`] connects (or fails, for the caller to name its setting),
//! makes sure the stream exists, starts both tasks and returns the
//! [`NatsPublisher`] for the commit listener and the [`NatsLink`] to watch
//! ([`NatsLink::status`]) and to [`NatsLink::close`] once the writer has
//! flushed.
//!
//! # Several writing nodes
//! The cursor is exact only while ids grow with commit order across the
//! whole deployment. They do because the store's writer takes one
//! PostgreSQL advisory lock per batch before inserting events, so no node
//! draws an id before the previous batch (of any node) has committed. Each
//! node publishes its own events, so the stream may carry node B's 101
//! before node A's 100: that reads as a gap, and the store supplies both.
//! Without that lock a node that fed 101 would skip 100 for good; see
//! "NATS mode" in `docs/ARCHITECTURE.md`.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::consumer::{DeliverPolicy, push};
use bytes::Bytes;
use futures_util::StreamExt;
use serde::Deserialize;
use shouwang_domain::{Event, EventId};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::Bus;

/// How long the stream keeps a message. Consumers start at new messages and
/// a recreated consumer resumes a few messages back; anything older is read
/// from the store. An hour is ample and bounds what a stream holds.
const MAX_AGE: Duration = Duration::from_secs(3600);
/// The most the stream holds, oldest dropped first (see [`MAX_AGE`]).
const MAX_BYTES: i64 = 64 * 1024 * 1024;
/// The largest message the publisher makes; a batch that is bigger is sent
/// as several (NATS refuses messages over its `max_payload`, 1 MiB by default).
const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// The most events the publisher takes off its queue at once.
const MAX_COALESCE: usize = 10_000;
/// Events per store read while catching up (the store's own cap).
const CATCH_UP_PAGE: usize = 1000;
/// How often the store is read while the link is down, and how soon a failed
/// read is retried.
const DOWN_SWEEP: Duration = Duration::from_secs(1);
/// How often the store is read while the link is up (a node that died after
/// committing and before publishing).
const UP_SWEEP: Duration = Duration::from_secs(5);
/// How long a JetStream request or a publish acknowledgement may take.
const JS_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the node's NATS is and which subject carries the events.
#[derive(Debug, Clone)]
pub struct NatsOptions {
    /// `nats://host:port` (or `tls://…`).
    pub url: String,
    /// The subject events are published on; its stream is named after it
    /// ([`stream_name`]).
    pub subject: String,
}

/// The durable event log the feeder catches up from: the store.
pub trait EventLog: Send + Sync + 'static {
    /// Up to `limit` events with ids above `after`, oldest first, from every
    /// scope.
    fn events_after(&self, after: EventId, limit: usize) -> impl Future<Output = Result<Vec<Event>, BoxError>> + Send;

    /// The id of the newest event, 0 when there is none.
    fn last_event_id(&self) -> impl Future<Output = Result<EventId, BoxError>> + Send;
}

/// Any error of an [`EventLog`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why the node could not join NATS.
#[derive(Debug, thiserror::Error)]
pub enum NatsError {
    /// The server did not answer or refused us.
    #[error("cannot connect to NATS at {url}")]
    Connect {
        /// The URL tried.
        url: String,
        /// Why.
        source: async_nats::ConnectError,
    },
    /// JetStream refused the stream (not enabled, or the subject overlaps
    /// another stream's).
    #[error("cannot create or open the JetStream stream {stream}")]
    Stream {
        /// The stream's name.
        stream: String,
        /// Why.
        source: jetstream::context::CreateStreamError,
    },
    /// JetStream refused the consumer.
    #[error("cannot consume the JetStream stream {stream}")]
    Consumer {
        /// The stream's name.
        stream: String,
        /// Why.
        source: BoxError,
    },
    /// The store could not say where the log ends.
    #[error("cannot read the last event id: {0}")]
    Log(BoxError),
}

/// Whether `url` is a NATS server address; the reason when it is not.
pub fn check_url(url: &str) -> Result<(), String> {
    url.parse::<async_nats::ServerAddr>().map(|_| ()).map_err(|e| e.to_string())
}

/// Whether `subject` can carry the events: dot-separated tokens, no
/// wildcards, no spaces.
pub fn check_subject(subject: &str) -> Result<(), String> {
    let bad_token = |t: &str| t.is_empty() || t.contains(['*', '>']) || t.contains(char::is_whitespace);
    if subject.split('.').any(bad_token) {
        return Err("must be dot-separated words without wildcards or spaces, e.g. `shouwang.events`".into());
    }
    Ok(())
}

/// The JetStream stream that holds `subject`: its name in upper case, every
/// character a stream name may not have (`.`, `*`, `>`, spaces) made `_`.
pub fn stream_name(subject: &str) -> String {
    subject.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// Hands committed batches to the publisher task; cheap, never waits.
#[derive(Debug)]
pub struct NatsPublisher {
    tx: mpsc::UnboundedSender<Queued>,
}

/// A committed batch waiting for the publisher, and when it was queued
/// (µs since the epoch).
type Queued = (i64, Vec<Arc<Event>>);

/// The histogram of the NATS hop, in seconds (see the module's notes).
pub const HOP_METRIC: &str = "shouwang_bus_nats_hop_seconds";

/// Its buckets: fine below 10 ms, where a healthy hop lies.
pub const HOP_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

fn now_us() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

impl NatsPublisher {
    /// Queues a committed batch, oldest first, for NATS. Called by the
    /// commit listener on the writer's thread.
    pub fn publish(&self, events: &[Arc<Event>]) {
        // Gone only after `NatsLink::close`: nothing is listening any more.
        let _ = self.tx.send((now_us(), events.to_vec()));
    }
}

/// Whether the node's NATS connection is up; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct LinkStatus {
    connected: Arc<AtomicBool>,
}

impl LinkStatus {
    /// Whether the connection to NATS is up now.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    fn set(&self, up: bool) {
        self.connected.store(up, Ordering::Relaxed);
    }
}

/// The node's running link to NATS: its two tasks.
#[derive(Debug)]
pub struct NatsLink {
    status: LinkStatus,
    client: async_nats::Client,
    publisher: JoinHandle<()>,
    feeder: JoinHandle<()>,
    stop_feeder: watch::Sender<bool>,
}

impl NatsLink {
    /// Whether the connection is up.
    pub fn status(&self) -> LinkStatus {
        self.status.clone()
    }

    /// Stops the link: waits (at most 5 s) for the publisher to send what
    /// the writer committed last (it ends once every [`NatsPublisher`] is
    /// dropped, i.e. once the writer has stopped), then stops the feeder.
    pub async fn close(self) {
        if tokio::time::timeout(Duration::from_secs(5), self.publisher).await.is_err() {
            tracing::warn!("NATS publisher still busy after 5 s; stopping anyway");
        }
        let _ = self.stop_feeder.send(true);
        let _ = self.feeder.await;
        let _ = self.client.flush().await;
    }
}

/// Connects to NATS, makes sure the stream exists and starts the publisher
/// and the feeder; `remote` hears other nodes' events just before the bus
/// fans them out (and every event read from the store while catching up,
/// whose node is not known).
pub async fn connect(
    options: &NatsOptions,
    bus: Bus,
    log: impl EventLog,
    remote: impl Fn(&[Arc<Event>]) + Send + Sync + 'static,
) -> Result<(NatsPublisher, NatsLink), NatsError> {
    let node = node_id();
    let status = LinkStatus::default();
    let (link_tx, link_rx) = mpsc::unbounded_channel();
    let client = {
        let status = status.clone();
        async_nats::ConnectOptions::new()
            .name(format!("shouwang {node}"))
            .connection_timeout(Duration::from_secs(5))
            // A dead connection is noticed within two pings.
            .ping_interval(Duration::from_secs(10))
            .event_callback(move |event| {
                match event {
                    async_nats::Event::Connected => status.set(true),
                    async_nats::Event::Disconnected => status.set(false),
                    _ => {}
                }
                let _ = link_tx.send(event);
                async {}
            })
            .connect(&options.url)
            .await
            .map_err(|source| NatsError::Connect { url: options.url.clone(), source })?
    };
    status.set(true);
    let js = jetstream::ContextBuilder::new().timeout(JS_TIMEOUT).ack_timeout(JS_TIMEOUT).build(client.clone());
    let stream = stream_name(&options.subject);
    let config = jetstream::stream::Config {
        name: stream.clone(),
        subjects: vec![options.subject.clone()],
        retention: jetstream::stream::RetentionPolicy::Limits,
        discard: jetstream::stream::DiscardPolicy::Old,
        max_age: MAX_AGE,
        max_bytes: MAX_BYTES,
        // Memory: the stream is a fast path, not a log. The store is the log
        // every node catches up from, so a NATS restart that empties the
        // stream costs one catch-up; and no disk write lies between a commit
        // and its fan-out. With a NATS cluster, raise the replicas by hand.
        storage: jetstream::stream::StorageType::Memory,
        ..Default::default()
    };
    let js_stream =
        js.get_or_create_stream(config).await.map_err(|source| NatsError::Stream { stream: stream.clone(), source })?;
    // Subscribe first, then read where the log ends: whatever commits in
    // between is both in the stream and at or below the cursor (skipped).
    let consumer = js_stream
        .create_consumer(push::OrderedConfig {
            deliver_subject: client.new_inbox(),
            filter_subject: options.subject.clone(),
            deliver_policy: DeliverPolicy::New,
            ..Default::default()
        })
        .await
        .map_err(|e| NatsError::Consumer { stream: stream.clone(), source: e.into() })?;
    let messages =
        consumer.messages().await.map_err(|e| NatsError::Consumer { stream: stream.clone(), source: e.into() })?;
    let last = log.last_event_id().await.map_err(NatsError::Log)?;
    tracing::info!(nats.url = %options.url, nats.subject = %options.subject, nats.stream = %stream, event.last_id = last.0, "bus: fed from NATS JetStream");

    let publish_failed = Arc::new(Notify::new());
    let (tx, rx) = mpsc::unbounded_channel();
    let publisher =
        tokio::spawn(publish(js, options.subject.clone(), node.clone(), rx, status.clone(), publish_failed.clone()));
    let (stop_feeder, stop) = watch::channel(false);
    let feeder = Feeder {
        bus,
        log,
        remote,
        node,
        status: status.clone(),
        last_fed: last,
        behind: false,
        retry_at: Instant::now(),
    };
    let feeder = tokio::spawn(feeder.run(messages, link_rx, publish_failed, stop));
    Ok((NatsPublisher { tx }, NatsLink { status, client, publisher, feeder, stop_feeder }))
}

/// A new node id: random, one per [`connect`].
fn node_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// One message on the subject, as read back.
#[derive(Deserialize)]
struct Envelope {
    node: String,
    /// When the batch was queued on its node (µs since the epoch, that
    /// node's clock); none from a node of an older version.
    #[serde(default)]
    queued_us: Option<i64>,
    events: Vec<Event>,
}

/// `events` as messages of at most [`MAX_MESSAGE_BYTES`] (but one event
/// each at least), each event serialised once.
fn encode(node: &str, queued_us: i64, events: &[Arc<Event>]) -> Vec<Bytes> {
    let head = format!(r#"{{"node":"{node}","queued_us":{queued_us},"events":["#);
    let mut out = Vec::new();
    let mut message = Vec::with_capacity(MAX_MESSAGE_BYTES.min(64 * 1024));
    let mut in_message = 0;
    for e in events {
        let json = serde_json::to_vec(&**e).expect("an event serialises: plain fields and a JSON value");
        if in_message > 0 && message.len() + json.len() + 2 > MAX_MESSAGE_BYTES {
            message.extend_from_slice(b"]}");
            out.push(Bytes::from(std::mem::take(&mut message)));
            in_message = 0;
        }
        if in_message == 0 {
            message.extend_from_slice(head.as_bytes());
        } else {
            message.push(b',');
        }
        message.extend_from_slice(&json);
        in_message += 1;
    }
    if in_message > 0 {
        message.extend_from_slice(b"]}");
        out.push(Bytes::from(message));
    }
    out
}

/// The publisher task: queued batches to the stream, in commit order, until
/// every [`NatsPublisher`] is gone and the queue is empty.
async fn publish(
    js: jetstream::Context,
    subject: String,
    node: String,
    mut rx: mpsc::UnboundedReceiver<Queued>,
    status: LinkStatus,
    failed: Arc<Notify>,
) {
    let mut batch: Vec<Arc<Event>> = Vec::new();
    let mut failing = false;
    while let Some((queued_us, first)) = rx.recv().await {
        batch.clear();
        batch.extend(first);
        // What queued up meanwhile goes out together, timed from the first.
        while batch.len() < MAX_COALESCE {
            match rx.try_recv() {
                Ok((_, more)) => batch.extend(more),
                Err(_) => break,
            }
        }
        let sent = if status.connected() {
            send(&js, &subject, encode(&node, queued_us, &batch)).await
        } else {
            // The client would buffer it and each publish wait for its
            // acknowledgement; the feeder reads the store meanwhile anyway.
            Err("not connected".into())
        };
        match sent {
            Ok(()) if failing => {
                tracing::info!("bus: publishing to NATS again");
                failing = false;
            }
            Ok(()) => {}
            Err(e) => {
                metrics::counter!("shouwang_bus_nats_publish_failures_total").increment(1);
                if !failing {
                    tracing::warn!(error = %e, event.count = batch.len(), "bus: cannot publish to NATS; subscribers get these events from the store");
                    failing = true;
                }
                failed.notify_one();
            }
        }
    }
}

/// Publishes the messages one after the other, then waits for the stream
/// to acknowledge them all.
async fn send(js: &jetstream::Context, subject: &str, messages: Vec<Bytes>) -> Result<(), BoxError> {
    let mut acks = Vec::with_capacity(messages.len());
    for m in messages {
        acks.push(js.publish(subject.to_owned(), m).await?);
    }
    for ack in acks {
        ack.await?;
    }
    Ok(())
}

/// The feeder task's state: what it feeds, and how far it has fed.
struct Feeder<L, R> {
    bus: Bus,
    log: L,
    remote: R,
    node: String,
    status: LinkStatus,
    /// The last event id fed to the bus: everything at or below it is done.
    last_fed: EventId,
    /// The store may hold events above `last_fed` that the stream will not
    /// bring: read it before feeding anything else from the stream.
    behind: bool,
    /// No store read before this (after a failed one).
    retry_at: Instant,
}

impl<L: EventLog, R: Fn(&[Arc<Event>]) + Send + Sync + 'static> Feeder<L, R> {
    async fn run(
        mut self,
        mut messages: push::Ordered,
        mut link: mpsc::UnboundedReceiver<async_nats::Event>,
        publish_failed: Arc<Notify>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(DOWN_SWEEP);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_sweep = Instant::now();
        let mut consuming = true;
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                Some(event) = link.recv() => match event {
                    async_nats::Event::Connected => {
                        tracing::info!("bus: NATS link up; catching up from the store");
                        self.behind = true;
                    }
                    async_nats::Event::Disconnected => {
                        tracing::warn!("bus: NATS link down; feeding subscribers from the store until it is back");
                    }
                    _ => {}
                },
                () = publish_failed.notified() => self.behind = true,
                next = messages.next(), if consuming => match next {
                    Some(Ok(message)) => self.on_message(&message.payload).await,
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "bus: NATS consumer error; catching up from the store");
                        self.behind = true;
                    }
                    None => {
                        tracing::error!("bus: the NATS consumer ended; feeding subscribers from the store only");
                        consuming = false;
                    }
                },
                _ = tick.tick() => {
                    let every = if self.status.connected() && consuming { UP_SWEEP } else { DOWN_SWEEP };
                    if last_sweep.elapsed() >= every {
                        last_sweep = Instant::now();
                        self.behind = true;
                    }
                }
            }
            if self.behind {
                self.catch_up().await;
            }
        }
    }

    /// One message from the stream: its events that are new, fed in order.
    async fn on_message(&mut self, payload: &[u8]) {
        let envelope: Envelope = match serde_json::from_slice(payload) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(error = %e, "bus: unreadable message on the NATS subject; catching up from the store");
                self.behind = true;
                return;
            }
        };
        let mine = envelope.node == self.node;
        // Timed to here: what follows is what a node without NATS does too.
        if let (true, Some(queued_us)) = (mine, envelope.queued_us) {
            metrics::histogram!(HOP_METRIC).record((now_us() - queued_us).max(0) as f64 / 1e6);
        }
        let mut fresh: Vec<Arc<Event>> = Vec::with_capacity(envelope.events.len());
        for e in envelope.events {
            let next = fresh.last().map_or(self.last_fed, |f| f.id);
            if e.id <= next {
                continue;
            }
            if e.id.0 != next.0 + 1 {
                // Something between may be missing: the store says.
                self.feed(&fresh, mine);
                fresh.clear();
                self.behind = true;
                self.catch_up().await;
                if self.behind || e.id <= self.last_fed {
                    // Still behind (the store is out of reach): the event is
                    // in the store, the next catch-up brings it.
                    continue;
                }
            }
            fresh.push(Arc::new(e));
        }
        self.feed(&fresh, mine);
    }

    fn feed(&mut self, events: &[Arc<Event>], mine: bool) {
        let Some(last) = events.last() else { return };
        if !mine {
            (self.remote)(events);
        }
        self.bus.publish(events);
        self.last_fed = last.id;
    }

    /// Feeds everything the store holds after `last_fed`.
    async fn catch_up(&mut self) {
        if Instant::now() < self.retry_at {
            return;
        }
        loop {
            let page = match self.log.events_after(self.last_fed, CATCH_UP_PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(error = %e, after = self.last_fed.0, "bus: cannot read the store to catch up; retrying");
                    self.retry_at = Instant::now() + DOWN_SWEEP;
                    return;
                }
            };
            let n = page.len();
            if n > 0 {
                let page: Vec<Arc<Event>> = page.into_iter().map(Arc::new).collect();
                metrics::counter!("shouwang_bus_caught_up_events_total").increment(n as u64);
                tracing::debug!(event.count = n, after = self.last_fed.0, "bus: caught up from the store");
                // Whose they are is not known here: drop what they may have made stale.
                self.feed(&page, false);
            }
            if n < CATCH_UP_PAGE {
                self.behind = false;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shouwang_domain::{EventKind, ScopePath};

    fn event(id: i64, body: &str) -> Arc<Event> {
        Arc::new(Event {
            id: EventId(id),
            at_us: 1,
            actor: None,
            actor_name: "system".into(),
            kind: EventKind::DutyLogEntryAdded,
            subject: "duty_log:1".into(),
            scope: ScopePath::root(),
            payload: serde_json::json!({ "body": body }),
        })
    }

    #[test]
    fn a_batch_goes_out_as_one_message_and_reads_back_the_same() {
        let events = [event(1, "一"), event(2, "two \"quoted\"")];
        let messages = encode("n1", 1, &events);
        assert_eq!(messages.len(), 1);
        let back: Envelope = serde_json::from_slice(&messages[0]).unwrap();
        assert_eq!((back.node.as_str(), back.queued_us), ("n1", Some(1)));
        assert_eq!(back.events, events.iter().map(|e| (**e).clone()).collect::<Vec<_>>());
        // A node of an older version sends no queue time.
        let old: Envelope = serde_json::from_str(r#"{"node":"n0","events":[]}"#).unwrap();
        assert_eq!(old.queued_us, None);
    }

    #[test]
    fn a_big_batch_is_split_in_order_and_an_oversized_event_goes_alone() {
        let big = "x".repeat(MAX_MESSAGE_BYTES / 3);
        let huge = "y".repeat(MAX_MESSAGE_BYTES * 2);
        let events: Vec<_> = (1..=5).map(|i| event(i, &big)).chain([event(6, &huge), event(7, "small")]).collect();
        let messages = encode("n1", 1, &events);
        let ids: Vec<Vec<i64>> = messages
            .iter()
            .map(|m| serde_json::from_slice::<Envelope>(m).unwrap().events.iter().map(|e| e.id.0).collect())
            .collect();
        assert_eq!(ids, vec![vec![1, 2], vec![3, 4], vec![5], vec![6], vec![7]]);
        assert!(messages.iter().filter(|m| m.len() <= MAX_MESSAGE_BYTES).count() == 4);
    }

    #[test]
    fn subjects_and_urls_are_checked_and_the_stream_is_named_after_the_subject() {
        assert!(check_subject("shouwang.events").is_ok());
        for bad in ["", "a..b", "a.*", "a.>", "a b", ".a"] {
            assert!(check_subject(bad).is_err(), "{bad:?}");
        }
        assert!(check_url("nats://127.0.0.1:4222").is_ok());
        assert!(check_url("127.0.0.1:4222").is_ok(), "the scheme defaults to nats");
        assert!(check_url("http://127.0.0.1:4222").is_err());
        assert_eq!(stream_name("shouwang.events"), "SHOUWANG_EVENTS");
        assert_eq!(stream_name("sw.t-1.x"), "SW_T-1_X");
    }
}
