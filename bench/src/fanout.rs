//! Live fan-out: N WebSocket subscribers on `/api/v1/live`, each seeing only
//! its own scope, while duty-log entries are written at a fixed rate; beside
//! a bare tokio-broadcast relay taking the same load in the same command, and
//! Shouwang again with its bus fed through NATS JetStream.
//!
//! # What runs where
//! - **Shouwang** is the real `shouwang` binary (`shouwang demo
//!   --simulate-every-ms 0`, SQLite with `synchronous=FULL`, metrics on), a
//!   child process over a fresh data folder, so that its RSS and CPU are its
//!   own. The bench signs in as the demo admin, issues API tokens for the
//!   county commander and for one township cadre per township used, and
//!   publishes with `POST /api/v1/duty-log` as the commander, each entry in a
//!   village of one of the townships in turn. The commit makes the event;
//!   the bus broadcasts it to every connection; each connection checks the
//!   event's scope against its user's and sends it on only if it is within.
//! - **relay** is the reference: the least a server can do for the same
//!   fan-out. An axum app (same axum, same 4 KiB WebSocket buffers) in a
//!   child process (`fanout --serve-relay`, this binary run again, same
//!   allocator, a tokio runtime with one worker per core like `shouwang`'s).
//!   `POST /publish` serialises the event once into a frame the size of
//!   Shouwang's and sends it into a `tokio::sync::broadcast` channel; each
//!   connection's task compares the event's scope path with its own
//!   (`starts_with`) and sends the shared frame. No store, no auth.
//! - **Shouwang+NATS** (`shouwang-nats`): the same `shouwang demo` child,
//!   with `bus.nats_url` set to `--nats` and a subject of the run's own
//!   (`shouwang.bench.fanout.<uuid>`, its stream deleted afterwards): each
//!   commit goes out to JetStream and the node's bus is fed back from the
//!   stream, as every node of a deployment of several is (see
//!   `shouwang_bus::nats`). One node, so what it shows is what the NATS
//!   round trip adds to Shouwang's own path. The server also times that
//!   round trip itself, from a batch queued for NATS to its bus being
//!   handed it back (`shouwang_bus_nats_hop_seconds` in `/metrics`, a
//!   histogram with buckets): the bench reads it before and after each
//!   window and reports the window's hops. Everything else on the path is
//!   the same with and without NATS, so that is what NATS adds, measured
//!   directly rather than as the difference of two runs' noisy p99s.
//! - **relay+NATS**: the same relay, but `POST /publish` goes out to NATS
//!   (`--nats`, core NATS, one subject) and the broadcast is fed from a
//!   subscription to it: what one NATS hop adds to the least path.
//!
//! # Load and figures
//! Subscribers are spread evenly over `--townships` township scopes plus the
//! county scope; entries go to the townships in turn, so each event is due
//! to the subscribers of its township and to the county's (2/(T+1) of all).
//! With `--county-only` every subscriber is the county's, so every event is
//! due to all N of them: one update reaching 10,000 subscribers.
//! Every entry's body carries its sequence number, its township and the
//! time it was sent (`fanout#SEQ@SENT_US@tT#`); a subscriber that gets an
//! event outside its scope counts a leak (there must be none).
//!
//! - *latency*: from just before the `POST` is written to the moment a
//!   subscriber has read the frame, one clock (this process); for every
//!   delivery of every event sent in the measured window, late ones included
//!   (the bench waits up to `--drain` seconds after the window for them).
//!   For Shouwang it includes the durable commit (fsync) of the entry.
//! - *deliveries/s*: in-scope event frames read by all subscribers during
//!   the window; *per core*: that over the server process's CPU.
//! - *delivered*: deliveries of the window's events over those due.
//! - *CPU*: `/proc/<pid>/stat` of the server process, of this process (the
//!   subscribers and the publisher) and `/proc/stat` for the machine.
//! - *KiB per idle connection*: growth of the server's `VmRSS` from N/2
//!   connected subscribers to N, each read once it has settled (see
//!   [`settled_rss_kib`]), divided by N/2; *idle CPU* is the server's over
//!   that last wait.
//!
//! The subscribers are tokio-tungstenite clients on a runtime of this
//! process (`--client-threads`), with 4 KiB buffers, from source addresses
//! spread over 127.0.0.2–9 so that 10,000 connections a run never run short
//! of ephemeral ports.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command as Process};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::child::{free_port, quiet_demo};

/// The WebSocket buffers of every client, and of the relay (Shouwang's own
/// are set in `crates/server/src/live/mod.rs`).
const WS_BUFFER: usize = 4 * 1024;
/// Publishes in flight at most; beyond this a due event is skipped and the
/// published rate falls short (reported).
const MAX_IN_FLIGHT: usize = 512;

#[derive(Debug, clap::Args)]
pub struct FanoutArgs {
    /// Subscriber counts, a server start for each.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    subscribers: Vec<usize>,
    /// Events per second, a run for each on the same subscribers.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    rates: Vec<u32>,
    /// Servers to measure: shouwang, shouwang-nats, relay, relay-nats.
    #[arg(long, value_delimiter = ',', default_value = "shouwang,shouwang-nats,relay,relay-nats")]
    servers: Vec<Target>,
    /// Every subscriber county-scoped, so every event is due to all of them
    /// (otherwise spread over the townships and the county).
    #[arg(long)]
    county_only: bool,
    /// Measured seconds per run.
    #[arg(long, default_value_t = 10)]
    secs: u64,
    /// Seconds of load before each window, not counted.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Seconds to wait after a window for late deliveries of its events.
    #[arg(long, default_value_t = 10)]
    drain: u64,
    /// Township scopes the subscribers are spread over (with the county).
    #[arg(long, default_value_t = 8)]
    townships: usize,
    /// Connections opened at once while subscribing.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// Worker threads of the subscribers' runtime.
    #[arg(long, default_value_t = 2)]
    client_threads: usize,
    /// The `shouwang` binary (default: next to this one).
    #[arg(long)]
    shouwang: Option<PathBuf>,
    /// NATS (`host:port`, JetStream on for shouwang-nats) for shouwang-nats and relay-nats.
    #[arg(long, default_value = "127.0.0.1:4222")]
    nats: String,
    /// Internal: run as the reference relay on this address.
    #[arg(long, hide = true)]
    serve_relay: Option<SocketAddr>,
    /// Internal: with --serve-relay, route events through NATS at this address.
    #[arg(long, hide = true)]
    relay_nats: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    Shouwang,
    ShouwangNats,
    Relay,
    RelayNats,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Shouwang => "Shouwang",
            Target::ShouwangNats => "Shouwang+NATS",
            Target::Relay => "relay",
            Target::RelayNats => "relay+NATS",
        }
    }

    /// The real `shouwang` binary, with or without NATS.
    fn is_shouwang(self) -> bool {
        matches!(self, Target::Shouwang | Target::ShouwangNats)
    }
}

pub fn run(args: &FanoutArgs) -> anyhow::Result<()> {
    if let Some(addr) = args.serve_relay {
        return relay::serve(addr, args.relay_nats.clone());
    }
    print_machine();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads)
        .thread_name("load-rt")
        .enable_all()
        .build()?;
    let mut rows = Vec::new();
    for &n in &args.subscribers {
        for &target in &args.servers {
            match runtime.block_on(run_server(args, target, n)) {
                Ok(mut r) => rows.append(&mut r),
                Err(e) => eprintln!("{} with {n} subscribers failed: {e:#}", target.name()),
            }
        }
    }
    print_table(&rows);
    Ok(())
}

/// One server process: start, subscribe N, measure idle, then each rate.
async fn run_server(args: &FanoutArgs, target: Target, n: usize) -> anyhow::Result<Vec<Row>> {
    let server = Server::start(args, target).await?;
    let plan = Plan::new(&server.scopes, n, args.county_only);
    let stats = Arc::new(Stats::default());
    // Memory per connection is the growth from N/2 to N connections, so
    // that what the first connections warm up (the allocator's pages, the
    // runtime's) and the demo's seeding giving memory back do not count.
    let rss_empty = settled_rss_kib(server.pid()).await;
    let mut subscribers = subscribe(args, &server, &plan, &stats, 0..n / 2).await?;
    let rss_half = settled_rss_kib(server.pid()).await;
    let started = Instant::now();
    subscribers.extend(subscribe(args, &server, &plan, &stats, n / 2..n).await?);
    let connect_secs = started.elapsed().as_secs_f64();
    let idle_before = Sample::take(server.pid());
    let rss_idle = settled_rss_kib(server.pid()).await;
    let idle = Sample::take(server.pid()).since(&idle_before);
    let kib_per_conn = (rss_idle as f64 - rss_half as f64) / (n - n / 2) as f64;
    println!(
        "{} × {n}: second half connected in {connect_secs:.1} s; RSS {:.1} MiB empty, {:.1} at N/2, {:.1} at N: {kib_per_conn:.1} KiB per idle connection; idle CPU {:.1} %",
        target.name(),
        rss_empty as f64 / 1024.0,
        rss_half as f64 / 1024.0,
        rss_idle as f64 / 1024.0,
        idle.server * 100.0
    );
    let publisher = Publisher::new(&server)?;
    let mut rows = Vec::new();
    for &rate in &args.rates {
        let row = measure(args, &server, &plan, &stats, &publisher, rate).await?;
        println!("{}", row.line());
        rows.push(Row { target, subscribers: n, kib_per_conn, idle_cpu: idle.server, ..row });
    }
    drop(server);
    for s in &subscribers {
        s.abort();
    }
    Ok(rows)
}

/// Who subscribes with which scope, and how many subscribers each event is due to.
struct Plan {
    /// Scope index of each subscriber: `0..T` a township, `T` the county.
    scope_of: Vec<usize>,
    /// Subscribers due each township's events (its own plus the county's).
    due_per_township: Vec<u64>,
}

impl Plan {
    fn new(scopes: &Scopes, n: usize, county_only: bool) -> Plan {
        let t = scopes.townships.len();
        let scope_of: Vec<usize> = (0..n).map(|i| if county_only { t } else { i % (t + 1) }).collect();
        let count = |s: usize| scope_of.iter().filter(|x| **x == s).count() as u64;
        let county = count(t);
        let due_per_township = (0..t).map(|s| count(s) + county).collect();
        Plan { scope_of, due_per_township }
    }
}

/// Counters every subscriber adds to.
#[derive(Default)]
struct Stats {
    /// Window of the current run, µs since the epoch; 0 while none.
    window_start_us: AtomicI64,
    window_end_us: AtomicI64,
    /// In-scope event frames read while inside the window.
    read_in_window: AtomicU64,
    /// Deliveries of events sent inside the window, whenever read.
    delivered: AtomicU64,
    /// Events read by a subscriber outside whose scope they were.
    leaks: AtomicU64,
    /// Latency of the deliveries counted in `delivered`.
    latency: Histogram,
}

impl Stats {
    fn reset(&self) {
        self.window_start_us.store(i64::MAX, Ordering::SeqCst);
        self.window_end_us.store(i64::MAX, Ordering::SeqCst);
        self.read_in_window.store(0, Ordering::SeqCst);
        self.delivered.store(0, Ordering::SeqCst);
        self.leaks.store(0, Ordering::SeqCst);
        self.latency.reset();
    }

    fn record(&self, marker: Marker, now: i64) {
        let (start, end) = (self.window_start_us.load(Ordering::Relaxed), self.window_end_us.load(Ordering::Relaxed));
        if (start..end).contains(&now) {
            self.read_in_window.fetch_add(1, Ordering::Relaxed);
        }
        if (start..end).contains(&marker.sent_us) {
            self.delivered.fetch_add(1, Ordering::Relaxed);
            self.latency.add((now - marker.sent_us).max(0) as u64);
        }
    }
}

/// What the bench writes into each entry's body and finds again in the frame.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Marker {
    seq: u64,
    sent_us: i64,
    township: usize,
}

impl Marker {
    fn body(self) -> String {
        format!("fanout#{}@{}@t{}# live fan-out benchmark entry", self.seq, self.sent_us, self.township)
    }

    /// The marker in a frame's text, without parsing its JSON.
    fn find(text: &str) -> Option<Marker> {
        let rest = &text[text.find("fanout#")? + 7..];
        let (seq, rest) = rest.split_once('@')?;
        let (sent, rest) = rest.split_once("@t")?;
        let (township, _) = rest.split_once('#')?;
        Some(Marker { seq: seq.parse().ok()?, sent_us: sent.parse().ok()?, township: township.parse().ok()? })
    }
}

/// A latency histogram in µs: 64 linear buckets per power of two (error
/// under 1.6 %), shared by every subscriber task.
struct Histogram {
    buckets: Vec<AtomicU64>,
}

const SUB_BUCKETS: u64 = 64;

impl Default for Histogram {
    fn default() -> Self {
        Histogram { buckets: (0..64 * SUB_BUCKETS).map(|_| AtomicU64::new(0)).collect() }
    }
}

impl Histogram {
    fn index(us: u64) -> usize {
        if us < SUB_BUCKETS {
            return us as usize;
        }
        let power = 63 - u64::from(us.leading_zeros());
        let shift = power - 6;
        ((shift + 1) * SUB_BUCKETS + ((us >> shift) - SUB_BUCKETS)) as usize
    }

    /// The smallest value of bucket `i`.
    fn value(i: usize) -> u64 {
        let i = i as u64;
        if i < SUB_BUCKETS {
            return i;
        }
        let shift = i / SUB_BUCKETS - 1;
        (SUB_BUCKETS + i % SUB_BUCKETS) << shift
    }

    fn add(&self, us: u64) {
        self.buckets[Self::index(us).min(self.buckets.len() - 1)].fetch_add(1, Ordering::Relaxed);
    }

    fn reset(&self) {
        for b in &self.buckets {
            b.store(0, Ordering::Relaxed);
        }
    }

    /// The `p`th percentile in ms, of `total` values of which those not
    /// recorded count as infinitely late (`None` if it falls among them).
    fn percentile_ms(&self, p: f64, total: u64) -> Option<f64> {
        let rank = ((total as f64) * p / 100.0).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= rank {
                return Some(Self::value(i) as f64 / 1000.0);
            }
        }
        None
    }
}

fn now_us() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as i64)
}

/// Opens the subscriptions `which` of the plan, `connect_concurrency` at a
/// time, each task reading until the connection ends. Returns once every one
/// has had its first frame.
async fn subscribe(
    args: &FanoutArgs,
    server: &Server,
    plan: &Plan,
    stats: &Arc<Stats>,
    which: std::ops::Range<usize>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let gate = Arc::new(tokio::sync::Semaphore::new(args.connect_concurrency));
    let mut ready = Vec::with_capacity(which.len());
    let mut tasks = Vec::with_capacity(which.len());
    for i in which {
        let scope = plan.scope_of[i];
        let request = server.live_request(scope)?;
        let township = (scope < server.scopes.townships.len()).then_some(scope);
        let source = Ipv4Addr::new(127, 0, 0, 2 + (i % 8) as u8);
        let (addr, gate, stats) = (server.addr, gate.clone(), stats.clone());
        let (tx, rx) = tokio::sync::oneshot::channel();
        ready.push(rx);
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await.expect("the gate is never closed");
            let ws = match connect(addr, source, request).await {
                Ok(mut ws) => match ws.next().await {
                    Some(Ok(_hello)) => ws,
                    other => {
                        let _ = tx.send(Err(anyhow::anyhow!("no hello: {other:?}")));
                        return;
                    }
                },
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            };
            drop(permit);
            let _ = tx.send(Ok(()));
            read_events(ws, township, &stats).await;
        }));
    }
    for (i, rx) in ready.into_iter().enumerate() {
        rx.await.context("a subscriber task ended early")?.with_context(|| format!("subscriber {i}"))?;
    }
    Ok(tasks)
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn connect(
    addr: SocketAddr,
    source: Ipv4Addr,
    request: tokio_tungstenite::tungstenite::handshake::client::Request,
) -> anyhow::Result<Ws> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default().read_buffer_size(WS_BUFFER).write_buffer_size(WS_BUFFER);
    let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await?;
    Ok(ws)
}

/// Counts each event frame; `township` is the subscriber's, `None` for the county.
async fn read_events(mut ws: Ws, township: Option<usize>, stats: &Stats) {
    while let Some(Ok(message)) = ws.next().await {
        let tokio_tungstenite::tungstenite::Message::Text(text) = message else { continue };
        let Some(marker) = Marker::find(&text) else { continue };
        if township.is_some_and(|t| t != marker.township) {
            stats.leaks.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        stats.record(marker, now_us());
    }
    let _ = ws.close(None).await;
}

/// Sends events at a fixed rate to the server's write path.
struct Publisher {
    client: reqwest::Client,
    url: String,
    token: String,
    target: Target,
    /// Village ids and paths per township, entries go to them in turn.
    villages: Vec<Vec<(i64, String)>>,
    seq: AtomicU64,
}

impl Publisher {
    fn new(server: &Server) -> anyhow::Result<Arc<Publisher>> {
        let client = reqwest::Client::builder().tcp_nodelay(true).pool_max_idle_per_host(MAX_IN_FLIGHT).build()?;
        let url = if server.target.is_shouwang() {
            format!("http://{}/api/v1/duty-log", server.addr)
        } else {
            format!("http://{}/publish", server.addr)
        };
        Ok(Arc::new(Publisher {
            client,
            url,
            token: server.scopes.publisher_token.clone(),
            target: server.target,
            villages: server.scopes.villages.clone(),
            seq: AtomicU64::new(0),
        }))
    }

    /// Publishes one event; its status and how long the write took.
    async fn publish(&self) -> (bool, Duration, Marker) {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let township = (seq as usize) % self.villages.len();
        let villages = &self.villages[township];
        let (unit, path) = &villages[(seq as usize / self.villages.len()) % villages.len()];
        let started = Instant::now();
        let marker = Marker { seq, sent_us: now_us(), township };
        let body = if self.target.is_shouwang() {
            serde_json::json!({ "id": uuid::Uuid::now_v7().to_string(), "org_unit_id": unit, "body": marker.body() })
        } else {
            serde_json::json!({ "org_unit_id": unit, "scope": path, "body": marker.body() })
        };
        let sent = self.client.post(&self.url).bearer_auth(&self.token).json(&body).send().await;
        let ok = sent.is_ok_and(|r| r.status() == reqwest::StatusCode::CREATED);
        (ok, started.elapsed(), marker)
    }
}

/// One window at one rate.
async fn measure(
    args: &FanoutArgs,
    server: &Server,
    plan: &Plan,
    stats: &Arc<Stats>,
    publisher: &Arc<Publisher>,
    rate: u32,
) -> anyhow::Result<Row> {
    stats.reset();
    let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let load_start = Instant::now();
    let warmup = Duration::from_secs(args.warmup);
    let window = Duration::from_secs(args.secs);
    let (mut before, mut window_start) = (None, None);
    let mut hops_before = None;
    let mut skipped = 0u64;
    while load_start.elapsed() < warmup + window {
        ticker.tick().await;
        if before.is_none() && load_start.elapsed() >= warmup {
            hops_before = hop_buckets(server).await;
            before = Some(Sample::take(server.pid()));
            window_start = Some(now_us());
            stats.window_start_us.store(window_start.unwrap_or_default(), Ordering::SeqCst);
        }
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            skipped += 1;
            continue;
        };
        let (publisher, done) = (publisher.clone(), done_tx.clone());
        tokio::spawn(async move {
            let result = publisher.publish().await;
            drop(permit);
            let _ = done.send(result);
        });
    }
    let window_end = now_us();
    stats.window_end_us.store(window_end, Ordering::SeqCst);
    let after = Sample::take(server.pid());
    let read_in_window = stats.read_in_window.load(Ordering::SeqCst);
    let window_start = window_start.context("the window never started")?;
    drop(done_tx);
    // Every publish answered, then wait for the window's deliveries.
    let mut due = 0u64;
    let (mut published, mut failed) = (0u64, 0u64);
    let mut write_ms = Vec::new();
    while let Some((ok, took, marker)) = done_rx.recv().await {
        let inside = (window_start..window_end).contains(&marker.sent_us);
        if !ok {
            failed += 1;
        } else if inside {
            published += 1;
            due += plan.due_per_township[marker.township];
            write_ms.push(took.as_secs_f64() * 1000.0);
        }
    }
    let drain_until = Instant::now() + Duration::from_secs(args.drain);
    while stats.delivered.load(Ordering::SeqCst) < due && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = stats.delivered.load(Ordering::SeqCst);
    // Let the backlog of an overloaded run clear before the next one.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let hop = match (hops_before, hop_buckets(server).await) {
        (Some(before), Some(after)) => Hop::between(&before, &after),
        _ => None,
    };
    let secs = (window_end - window_start) as f64 / 1e6;
    let usage = after.since(&before.context("the window never started")?);
    write_ms.sort_by(f64::total_cmp);
    Ok(Row {
        target: server.target,
        subscribers: plan.scope_of.len(),
        rate,
        published_per_s: published as f64 / secs,
        skipped,
        failed,
        due,
        delivered,
        leaks: stats.leaks.load(Ordering::SeqCst),
        deliveries_per_s: read_in_window as f64 / secs,
        p50_ms: stats.latency.percentile_ms(50.0, due),
        p99_ms: stats.latency.percentile_ms(99.0, due),
        write_p50_ms: write_ms.get(write_ms.len() / 2).copied().unwrap_or(f64::NAN),
        server_cpu: usage.server,
        client_cpu: usage.client,
        machine_cpu: usage.machine,
        rss_mib: rss_kib(server.pid()) as f64 / 1024.0,
        kib_per_conn: 0.0,
        idle_cpu: 0.0,
        hop,
    })
}

/// Shouwang+NATS's histogram of the NATS hop (`/metrics`,
/// `shouwang_bus_nats_hop_seconds`: from a batch queued for NATS to the bus
/// being handed it back), as (bucket bound in seconds, cumulative count);
/// `None` for the other servers.
async fn hop_buckets(server: &Server) -> Option<Vec<(f64, u64)>> {
    if server.target != Target::ShouwangNats {
        return None;
    }
    let text = reqwest::get(format!("http://{}/metrics", server.addr)).await.ok()?.text().await.ok()?;
    let prefix = "shouwang_bus_nats_hop_seconds_bucket{le=\"";
    let buckets: Vec<(f64, u64)> = text
        .lines()
        .filter_map(|l| {
            let (le, count) = l.strip_prefix(prefix)?.split_once("\"} ")?;
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
            Some((le, count.trim().parse().ok()?))
        })
        .collect();
    // Before the first hop the histogram is not there yet: all zero.
    Some(buckets)
}

/// The NATS hops of one run: how many, the bucket bounds their median and
/// 99th percentile lie under, and the share within 5 ms.
#[derive(Debug, Clone, Copy)]
struct Hop {
    count: u64,
    p50_le_ms: f64,
    p99_le_ms: f64,
    within_5ms: f64,
}

impl Hop {
    fn between(before: &[(f64, u64)], after: &[(f64, u64)]) -> Option<Hop> {
        let at = |buckets: &[(f64, u64)], le: f64| buckets.iter().find(|b| b.0 == le).map_or(0, |b| b.1);
        let delta: Vec<(f64, u64)> = after.iter().map(|&(le, n)| (le, n.saturating_sub(at(before, le)))).collect();
        let count = delta.last()?.1;
        if count == 0 {
            return None;
        }
        let bound = |q: f64| {
            let want = (q * count as f64).ceil() as u64;
            delta.iter().find(|b| b.1 >= want).map_or(f64::INFINITY, |b| b.0 * 1000.0)
        };
        Some(Hop {
            count,
            p50_le_ms: bound(0.5),
            p99_le_ms: bound(0.99),
            within_5ms: at(&delta, 0.005) as f64 / count as f64,
        })
    }

    fn text(hop: Option<Hop>) -> String {
        hop.map_or("–".into(), |h| {
            format!("≤ {} / ≤ {} ({:.1} % ≤ 5 ms, {} hops)", h.p50_le_ms, h.p99_le_ms, h.within_5ms * 100.0, h.count)
        })
    }
}

/// CPU times at one moment.
struct Sample {
    at: Instant,
    server_ticks: u64,
    own_ticks: u64,
    machine_busy: u64,
}

/// CPU used between two samples, in cores.
struct Usage {
    server: f64,
    client: f64,
    machine: f64,
}

impl Sample {
    fn take(pid: u32) -> Sample {
        let machine_busy = crate::sys::busy_ticks(&crate::sys::machine_ticks());
        Sample {
            at: Instant::now(),
            server_ticks: process_ticks(&pid.to_string()),
            own_ticks: process_ticks("self"),
            machine_busy,
        }
    }

    fn since(&self, before: &Sample) -> Usage {
        let secs = self.at.duration_since(before.at).as_secs_f64();
        let cores = |a: u64, b: u64| a.saturating_sub(b) as f64 / 100.0 / secs;
        Usage {
            server: cores(self.server_ticks, before.server_ticks),
            client: cores(self.own_ticks, before.own_ticks),
            machine: cores(self.machine_busy, before.machine_busy),
        }
    }
}

/// `utime + stime` of a whole process (its exited threads included), in
/// clock ticks (`USER_HZ`, 100).
fn process_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let Some(close) = stat.rfind(')') else { return 0 };
    let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let field = |i: usize| rest.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

/// `VmRSS` once it has moved less than 256 KiB in 2 s (at most 20 s): the
/// allocator gives memory back some time after a burst (the demo's seeding,
/// the connections' handshakes), which would otherwise count as growth.
async fn settled_rss_kib(pid: u32) -> u64 {
    let started = Instant::now();
    let mut last = rss_kib(pid);
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = rss_kib(pid);
        if now.abs_diff(last) < 256 || started.elapsed() > Duration::from_secs(20) {
            return now;
        }
        last = now;
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// What the subscribers and the publisher need to know of a server.
struct Scopes {
    /// Per township: the bearer token of a subscriber scoped to it.
    townships: Vec<String>,
    /// The bearer token of a county-scoped subscriber.
    county: String,
    /// Who publishes (Shouwang: the county commander).
    publisher_token: String,
    /// Per township: villages to write entries in, `(id, scope path)`.
    villages: Vec<Vec<(i64, String)>>,
}

/// A server under test, in a child process killed on drop.
struct Server {
    target: Target,
    addr: SocketAddr,
    child: Child,
    scopes: Scopes,
    /// Shouwang+NATS: the NATS server and the run's subject, whose stream
    /// is deleted on drop.
    nats: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some((url, subject)) = self.nats.take() {
            delete_stream(url, subject);
        }
    }
}

/// Deletes the JetStream stream that holds `subject` (a memory stream
/// outlives the node that made it). Best effort, on a thread of its own, as
/// it runs in `Drop` on the runtime.
fn delete_stream(url: String, subject: String) {
    let of = subject.clone();
    let deleted = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        runtime.block_on(async {
            let js = async_nats::jetstream::new(async_nats::connect(&url).await.ok()?);
            let stream = js.stream_by_subject(of).await.ok()?;
            js.delete_stream(&stream).await.ok()
        })
    });
    if !matches!(deleted.join(), Ok(Some(_))) {
        eprintln!("could not delete the stream of {subject}");
    }
}

impl Server {
    async fn start(args: &FanoutArgs, target: Target) -> anyhow::Result<Server> {
        let dir = tempfile::Builder::new().prefix("shouwang-fanout-").tempdir()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let nats = (target == Target::ShouwangNats).then(|| {
            (format!("nats://{}", args.nats), format!("shouwang.bench.fanout.{}", uuid::Uuid::now_v7().simple()))
        });
        let mut command = match target {
            Target::Shouwang | Target::ShouwangNats => {
                let binary = match &args.shouwang {
                    Some(b) => b.clone(),
                    None => std::env::current_exe()?.with_file_name("shouwang"),
                };
                let mut c = quiet_demo(&binary, dir.path(), addr);
                if let Some((url, subject)) = &nats {
                    c.env("SHOUWANG_BUS__NATS_URL", url).env("SHOUWANG_BUS__NATS_SUBJECT", subject);
                }
                c
            }
            Target::Relay | Target::RelayNats => {
                let mut c = Process::new(std::env::current_exe()?);
                c.args(["fanout", "--serve-relay", &addr.to_string()]);
                if target == Target::RelayNats {
                    c.args(["--relay-nats", &args.nats]);
                }
                c
            }
        };
        command.stdout(log.try_clone()?).stderr(log);
        let child = command.spawn().with_context(|| format!("starting {}", target.name()))?;
        let mut server = Server { target, addr, child, scopes: Scopes::empty(), nats, _dir: dir };
        server.wait_ready().await?;
        server.scopes = if target.is_shouwang() {
            shouwang_scopes(addr, args.townships).await?
        } else {
            Scopes::relay(args.townships)
        };
        Ok(server)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let url = format!("http://{}/healthz", self.addr);
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                let log = std::fs::read_to_string(self._dir.path().join("server.log")).unwrap_or_default();
                anyhow::bail!("{} exited with {status}:\n{log}", self.target.name());
            }
            if reqwest::get(&url).await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            anyhow::ensure!(started.elapsed() < Duration::from_secs(120), "{} never became ready", self.target.name());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The live-stream request of a subscriber with scope `scope`.
    fn live_request(&self, scope: usize) -> anyhow::Result<tokio_tungstenite::tungstenite::handshake::client::Request> {
        let token = self.scopes.townships.get(scope).unwrap_or(&self.scopes.county);
        let url = if self.target.is_shouwang() {
            format!("ws://{}/api/v1/live", self.addr)
        } else {
            // The relay takes the scope path itself in place of a token.
            format!("ws://{}/live?scope={token}", self.addr)
        };
        let mut request = url.into_client_request()?;
        request.headers_mut().insert("authorization", format!("Bearer {token}").parse()?);
        Ok(request)
    }
}

impl Scopes {
    fn empty() -> Scopes {
        Scopes { townships: Vec::new(), county: String::new(), publisher_token: String::new(), villages: Vec::new() }
    }

    /// The relay knows no users: a subscriber names its scope path.
    fn relay(townships: usize) -> Scopes {
        Scopes {
            townships: (0..townships).map(|t| format!("/1/2/{}/", 100 + t)).collect(),
            county: "/1/2/".into(),
            publisher_token: "relay".into(),
            villages: (0..townships)
                .map(|t| (0..4).map(|v| (1000 + v, format!("/1/2/{}/{}/", 100 + t, 1000 + v))).collect())
                .collect(),
        }
    }
}

/// Signs in to the demo as its admin and issues tokens for the commander and
/// one cadre of each of the first `townships` townships.
async fn shouwang_scopes(addr: SocketAddr, townships: usize) -> anyhow::Result<Scopes> {
    let base = format!("http://{addr}");
    // The sign-in form echoes the CSRF cookie its page set; the bench sets both.
    let jar = Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str("sw_login_csrf=bench; Path=/", &base.parse()?);
    let http = reqwest::Client::builder().cookie_provider(jar).build()?;
    let signed_in = http
        .post(format!("{base}/login"))
        .form(&[("username", "admin"), ("password", "demo"), ("_csrf", "bench"), ("next", "/admin/tokens")])
        .send()
        .await?
        .text()
        .await?;
    let csrf = signed_in
        .split("name=\"_csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .context("signing in as the demo admin: no CSRF token on /admin/tokens")?
        .to_owned();
    let get = |path: &str| http.get(format!("{base}{path}")).send();
    let users: Vec<serde_json::Value> = get("/api/v1/users").await?.error_for_status()?.json().await?;
    let units: Vec<serde_json::Value> = get("/api/v1/org-units").await?.error_for_status()?.json().await?;
    let str_of = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let by_id: HashMap<i64, &serde_json::Value> = units.iter().map(|u| (u["id"].as_i64().unwrap_or(-1), u)).collect();
    let issue = |user: i64| {
        let http = http.clone();
        let (url, csrf) = (format!("{base}/api/v1/tokens"), csrf.clone());
        async move {
            let issued: serde_json::Value = http
                .post(url)
                .header("x-csrf-token", csrf)
                .json(&serde_json::json!({ "user_id": user, "name": "fanout bench" }))
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            anyhow::Ok(str_of(&issued, "secret"))
        }
    };
    let commander = users.iter().find(|u| u["username"] == "commander").context("no demo commander")?;
    let county_token = issue(commander["id"].as_i64().unwrap_or_default()).await?;
    let mut cadres: Vec<&serde_json::Value> = users
        .iter()
        .filter(|u| {
            u["role"] == "township_cadre" && str_of(u, "username").strip_prefix("cadre").is_some_and(|n| !n.is_empty())
        })
        .collect();
    cadres.sort_by_key(|u| str_of(u, "username"));
    anyhow::ensure!(cadres.len() >= townships, "the demo has {} township cadres", cadres.len());
    let (mut tokens, mut villages) = (Vec::new(), Vec::new());
    for cadre in cadres.into_iter().take(townships) {
        let township = cadre["org_unit_id"].as_i64().unwrap_or_default();
        let mine: Vec<(i64, String)> = units
            .iter()
            .filter(|u| u["kind"] == "village" && u["parent_id"].as_i64() == Some(township))
            .map(|u| (u["id"].as_i64().unwrap_or_default(), str_of(u, "path")))
            .collect();
        anyhow::ensure!(
            !mine.is_empty(),
            "township {} has no villages",
            by_id.get(&township).map_or(String::new(), |u| str_of(u, "name"))
        );
        tokens.push(issue(cadre["id"].as_i64().unwrap_or_default()).await?);
        villages.push(mine);
    }
    Ok(Scopes { townships: tokens, county: county_token.clone(), publisher_token: county_token, villages })
}

/// One run's figures.
struct Row {
    target: Target,
    subscribers: usize,
    rate: u32,
    published_per_s: f64,
    skipped: u64,
    failed: u64,
    due: u64,
    delivered: u64,
    leaks: u64,
    deliveries_per_s: f64,
    p50_ms: Option<f64>,
    p99_ms: Option<f64>,
    write_p50_ms: f64,
    server_cpu: f64,
    client_cpu: f64,
    machine_cpu: f64,
    rss_mib: f64,
    kib_per_conn: f64,
    idle_cpu: f64,
    /// Shouwang+NATS: the NATS hop's share of the latency.
    hop: Option<Hop>,
}

fn ms(v: Option<f64>) -> String {
    v.map_or("lost".into(), |v| format!("{v:.1}"))
}

impl Row {
    fn per_core(&self) -> f64 {
        self.deliveries_per_s / self.server_cpu.max(0.01)
    }

    fn line(&self) -> String {
        format!(
            "  {} × {} @ {}/s: published {:.0}/s (skipped {}, failed {}); delivered {}/{} ({:.2} %), leaks {}; {:.0} deliveries/s, {:.0} per core; p50/p99 {} / {} ms (write p50 {:.1} ms); CPU server {:.0} %, clients {:.0} %, machine {:.0} %; RSS {:.1} MiB; NATS hop p50 / p99 ms {}",
            self.target.name(),
            self.subscribers,
            self.rate,
            self.published_per_s,
            self.skipped,
            self.failed,
            self.delivered,
            self.due,
            100.0 * self.delivered as f64 / self.due.max(1) as f64,
            self.leaks,
            self.deliveries_per_s,
            self.per_core(),
            ms(self.p50_ms),
            ms(self.p99_ms),
            self.write_p50_ms,
            self.server_cpu * 100.0,
            self.client_cpu * 100.0,
            self.machine_cpu * 100.0,
            self.rss_mib,
            Hop::text(self.hop),
        )
    }
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "| server | subscribers | events/s asked · sent | deliveries/s | per core of server CPU | delivered of due | p50 / p99 ms | write p50 ms | server CPU % | clients CPU % | others CPU % | KiB per idle conn | idle CPU % | RSS MiB |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} · {:.0} | {:.0} | {:.0} | {:.2} % | {} / {} | {:.1} | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} |",
            r.target.name(),
            r.subscribers,
            r.rate,
            r.published_per_s,
            r.deliveries_per_s,
            r.per_core(),
            100.0 * r.delivered as f64 / r.due.max(1) as f64,
            ms(r.p50_ms),
            ms(r.p99_ms),
            r.write_p50_ms,
            r.server_cpu * 100.0,
            r.client_cpu * 100.0,
            (r.machine_cpu - r.server_cpu - r.client_cpu).max(0.0) * 100.0,
            r.kib_per_conn,
            r.idle_cpu * 100.0,
            r.rss_mib,
        );
    }
    let leaks: u64 = rows.iter().map(|r| r.leaks).sum();
    println!("\nevents read outside a subscriber's scope: {leaks}");
    println!(
        "\n| subscribers | events/s | Shouwang ÷ relay deliveries/s | Shouwang+NATS p99 − Shouwang p99 ms | Shouwang+NATS: the NATS hop, p50 / p99 ms | relay+NATS p99 − relay p99 ms |"
    );
    println!("|---:|---:|---:|---:|---|---:|");
    for r in rows.iter().filter(|r| r.target == Target::Shouwang) {
        let find =
            |t: Target| rows.iter().find(|x| x.target == t && x.subscribers == r.subscribers && x.rate == r.rate);
        let ratio =
            find(Target::Relay).map_or("–".into(), |b| format!("{:.2}", r.deliveries_per_s / b.deliveries_per_s));
        let p99_gap =
            |base: Target, with: Target| match (find(base).and_then(|b| b.p99_ms), find(with).and_then(|n| n.p99_ms)) {
                (Some(b), Some(n)) => format!("{:+.1}", n - b),
                _ => "–".into(),
            };
        let (ours, relay) =
            (p99_gap(Target::Shouwang, Target::ShouwangNats), p99_gap(Target::Relay, Target::RelayNats));
        let hop = Hop::text(find(Target::ShouwangNats).and_then(|n| n.hop));
        println!("| {} | {} | {ratio} | {ours} | {hop} | {relay} |", r.subscribers, r.rate);
    }
}

fn print_machine() {
    let (nproc, model) = crate::sys::cpus();
    println!("machine: {nproc} × {model}; load average before start {}", crate::sys::load_average());
}

/// The reference relay, run in a child process.
mod relay {
    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    use axum::Router;
    use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
    use axum::extract::{Query, State};
    use axum::http::StatusCode;
    use axum::response::Response;
    use axum::routing::{get, post};
    use serde::Deserialize;
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::sync::{broadcast, mpsc};

    use super::WS_BUFFER;

    /// An event as the relay fans it out: its scope and its frame, serialised once.
    #[derive(Debug)]
    struct Relayed {
        scope: String,
        frame: Utf8Bytes,
    }

    #[derive(Clone)]
    struct Relay {
        tx: broadcast::Sender<Arc<Relayed>>,
        /// With NATS: where `POST /publish` sends instead of `tx`.
        nats: Option<mpsc::UnboundedSender<Relayed>>,
        next_id: Arc<AtomicI64>,
    }

    #[derive(Deserialize)]
    struct LiveQuery {
        scope: String,
    }

    #[derive(Deserialize)]
    struct Publish {
        org_unit_id: i64,
        scope: String,
        body: String,
    }

    pub fn serve(addr: SocketAddr, nats: Option<String>) -> anyhow::Result<()> {
        // One worker per core, as `#[tokio::main]` gives `shouwang`.
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        runtime.block_on(async move {
            // The same capacity as Shouwang's bus.
            let (tx, _) = broadcast::channel(4096);
            let nats = match nats {
                Some(url) => Some(connect_nats(&url, tx.clone()).await?),
                None => None,
            };
            let relay = Relay { tx, nats, next_id: Arc::new(AtomicI64::new(1)) };
            let app = Router::new()
                .route("/live", get(live))
                .route("/publish", post(publish))
                .route("/healthz", get(|| async { "ok" }))
                .with_state(relay);
            let listener = tokio::net::TcpListener::bind(addr).await?;
            axum::serve(listener, app).await?;
            anyhow::Ok(())
        })
    }

    async fn publish(State(relay): State<Relay>, axum::Json(p): axum::Json<Publish>) -> StatusCode {
        let id = relay.next_id.fetch_add(1, Ordering::Relaxed);
        // The shape and size of Shouwang's event frame.
        let frame = serde_json::json!({ "type": "event", "event": {
            "id": id, "at_us": super::now_us(), "actor_id": 2, "actor_name": "指挥长 王建国",
            "kind": "duty_log.added", "subject": format!("duty_log:{}", uuid::Uuid::now_v7()), "scope": p.scope,
            "payload": { "id": uuid::Uuid::now_v7(), "org_unit_id": p.org_unit_id, "body": p.body, "occurred_us": super::now_us() },
        }});
        let relayed = Relayed { scope: p.scope, frame: Utf8Bytes::from(frame.to_string()) };
        match &relay.nats {
            Some(nats) => {
                let _ = nats.send(relayed);
            }
            None => {
                let _ = relay.tx.send(Arc::new(relayed));
            }
        }
        StatusCode::CREATED
    }

    async fn live(ws: WebSocketUpgrade, State(relay): State<Relay>, Query(q): Query<LiveQuery>) -> Response {
        ws.read_buffer_size(WS_BUFFER).write_buffer_size(WS_BUFFER).on_upgrade(move |socket| async move {
            let _ = subscriber(socket, relay.tx.subscribe(), q.scope).await;
        })
    }

    async fn subscriber(
        mut socket: WebSocket,
        mut rx: broadcast::Receiver<Arc<Relayed>>,
        scope: String,
    ) -> anyhow::Result<()> {
        socket.send(Message::Text(Utf8Bytes::from_static(r#"{"type":"hello","last_event_id":0}"#))).await?;
        loop {
            tokio::select! {
                next = rx.recv() => match next {
                    Ok(e) => {
                        if e.scope.starts_with(&scope) {
                            socket.send(Message::Text(e.frame.clone())).await?;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                    Some(Ok(_)) => {}
                },
            }
        }
    }

    /// Core NATS, by its text protocol: events published go out on one
    /// subject, and what comes back on it feeds the broadcast.
    async fn connect_nats(
        addr: &str,
        tx: broadcast::Sender<Arc<Relayed>>,
    ) -> anyhow::Result<mpsc::UnboundedSender<Relayed>> {
        const SUBJECT: &str = "shouwang.bench.fanout";
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        let mut line = String::new();
        read.read_line(&mut line).await?;
        anyhow::ensure!(line.starts_with("INFO "), "not a NATS server: {line}");
        write
            .write_all(
                format!("CONNECT {{\"verbose\":false,\"pedantic\":false}}\r\nSUB {SUBJECT} 1\r\nPING\r\n").as_bytes(),
            )
            .await?;
        line.clear();
        read.read_line(&mut line).await?;
        anyhow::ensure!(line.starts_with("PONG"), "NATS refused: {line}");
        let (out, mut outbox) = mpsc::unbounded_channel::<Relayed>();
        let (pong_tx, mut pong_rx) = mpsc::unbounded_channel::<()>();
        // Writer: each event as `scope \n frame`; PONGs for the server's PINGs.
        tokio::spawn(async move {
            let mut buf = Vec::new();
            loop {
                tokio::select! {
                    Some(e) = outbox.recv() => {
                        let payload = format!("{}\n{}", e.scope, e.frame.as_str());
                        buf.clear();
                        buf.extend_from_slice(format!("PUB {SUBJECT} {}\r\n", payload.len()).as_bytes());
                        buf.extend_from_slice(payload.as_bytes());
                        buf.extend_from_slice(b"\r\n");
                        if write.write_all(&buf).await.is_err() { return; }
                    }
                    Some(()) = pong_rx.recv() => {
                        if write.write_all(b"PONG\r\n").await.is_err() { return; }
                    }
                    else => return,
                }
            }
        });
        // Reader: `MSG <subject> <sid> <bytes>\r\n<payload>\r\n`.
        tokio::spawn(async move {
            let mut line = String::new();
            loop {
                line.clear();
                if read.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line.starts_with("PING") {
                    let _ = pong_tx.send(());
                    continue;
                }
                let Some(len) =
                    line.strip_prefix("MSG ").and_then(|r| r.split_whitespace().nth(2)?.parse::<usize>().ok())
                else {
                    continue;
                };
                let mut payload = vec![0; len + 2];
                if read.read_exact(&mut payload).await.is_err() {
                    return;
                }
                payload.truncate(len);
                let Ok(text) = String::from_utf8(payload) else { continue };
                let Some((scope, frame)) = text.split_once('\n') else { continue };
                let _ =
                    tx.send(Arc::new(Relayed { scope: scope.to_owned(), frame: Utf8Bytes::from(frame.to_owned()) }));
            }
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_marker_is_found_again_in_a_frame() {
        let m = Marker { seq: 42, sent_us: 1_700_000_000_123_456, township: 3 };
        let frame = serde_json::json!({ "type": "event", "event": { "payload": { "body": m.body() } } }).to_string();
        assert_eq!(Marker::find(&frame), Some(m));
        assert_eq!(Marker::find(r#"{"type":"hello"}"#), None);
    }

    #[test]
    fn histogram_buckets_are_within_two_percent() {
        for us in [0, 1, 63, 64, 65, 100, 1_000, 12_345, 99_999, 5_000_000] {
            let low = Histogram::value(Histogram::index(us));
            assert!(low <= us && us - low <= us / 50, "{us} → {low}");
        }
        let h = Histogram::default();
        for us in 1..=100 {
            h.add(us * 1000);
        }
        let p50 = h.percentile_ms(50.0, 100).expect("every value was recorded");
        assert!((49.0..=50.0).contains(&p50), "{p50}");
        assert_eq!(h.percentile_ms(99.0, 200), None);
    }
}
