//! SFU forwarding cost: Shouwang's SFU beside Janus and a plain UDP reflector,
//! each forwarding the same frames to the same kind of subscribers in one run.
//!
//! Every server runs in a process of its own; its CPU time is the sum of
//! `/proc/<pid>/task/*/schedstat` over a window of frame numbers, its memory
//! per peer the growth of `RssAnon` (its own data, not its code pages) from
//! the empty server, with that of `VmRSS` beside it. The clients are str0m
//! `Rtc`s in this process (see [`client`]), on a tokio runtime of their own.
//! Runs:
//!
//! - **fan-out**: one published VP8 stream (one RTP packet per frame, a fixed
//!   rate) to N subscribers. Shouwang's rooms hold at most
//!   [`shouwang_media::MAX_PEERS_PER_ROOM`] participants, so N subscribers
//!   take `ceil(N / 15)` rooms, each with a publisher sending the same
//!   schedule; Janus's streaming plugin takes one RTP feed for any N.
//! - **sweep**: the largest fan-out at rising rates, until a server goes
//!   above 85 % of a core (such runs are rejected) or the sweep ends.
//! - **rooms**: M rooms of three where everyone publishes, against rooms of
//!   ten with as many forwarded streams (Shouwang only).
//! - **grid**: rooms of ten again, every stream at a grid tile's rate
//!   (`--grid-rate`): the small simulcast layer the page asks for tiles
//!   under 400 device pixels.
//! - **idle**: peers connected and sending nothing.
//!
//! The reflector (`udp.rs`) forwards the same RTP with one `send_to` per copy
//! and no encryption: how many packets this machine moves at all.

mod client;
mod janus;
mod shouwang;
mod udp;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;

use self::client::{Client, Counted, Prepared, Schedule};
use self::janus::Janus;
use self::shouwang::ShouwangProcess;
use self::udp::{Reflector, RtpFeed};

/// A run above this share of one core is rejected, as the issue asks.
const CPU_CEILING: f64 = 0.85;
/// Subscribers per Shouwang room in the fan-out (with the publisher, a full room).
const SUBSCRIBERS_PER_ROOM: usize = shouwang_media::MAX_PEERS_PER_ROOM - 1;

#[derive(Debug, clap::Args)]
pub struct SfuArgs {
    /// Subscribers of one published stream, a fan-out run for each.
    #[arg(long, value_delimiter = ',', default_value = "10,50,100")]
    subscribers: Vec<usize>,
    /// Frames (one RTP packet each) per second of every published stream.
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Bytes of each frame.
    #[arg(long, default_value_t = 1000)]
    frame_bytes: usize,
    /// Rates of the sweep at the largest fan-out; a server's sweep stops at
    /// its first rejected run. 0 to skip.
    #[arg(long, value_delimiter = ',', default_value = "400,800,1200,1600")]
    sweep: Vec<u32>,
    /// Rooms of three for the rooms run; the rooms of ten forward as many
    /// streams. 0 to skip.
    #[arg(long, default_value_t = 15)]
    small_rooms: usize,
    /// Frames per second of every stream in the grid run: rooms of ten
    /// where every viewer gets the small simulcast layer, which call.js
    /// asks for any tile under 400 device pixels (at most 300 kbit/s, so
    /// about 30 of these 1000-byte frames a second). 0 to skip.
    #[arg(long, default_value_t = 30)]
    grid_rate: u32,
    /// Rooms of ten in the grid run: several, so that what the first peers
    /// pay once (the allocator's pages, buffers grown once) is not counted
    /// as each peer's.
    #[arg(long, default_value_t = 3)]
    grid_rooms: usize,
    /// Idle peers. 0 to skip.
    #[arg(long, default_value_t = 100)]
    idle: usize,
    /// Measured seconds of each run.
    #[arg(long, default_value_t = 10.0)]
    secs: f64,
    /// Seconds between every subscriber receiving and the measurement.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Leave Janus out.
    #[arg(long)]
    no_janus: bool,
    /// Have Shouwang's SFU record every published track under this folder
    /// (`media.record`), to measure what recording costs.
    #[arg(long)]
    record: Option<std::path::PathBuf>,
    /// The address every socket binds (default: the source address of the
    /// default route; Janus leaves loopback out of ICE).
    #[arg(long)]
    host: Option<IpAddr>,
    /// Be the SFU process (the bench starts it).
    #[arg(long, hide = true)]
    serve_shouwang: bool,
    /// Be the reflector process (the bench starts it).
    #[arg(long, hide = true)]
    serve_reflector: bool,
}

pub fn run(args: &SfuArgs) -> anyhow::Result<()> {
    let host = args.host.unwrap_or_else(default_host);
    if args.serve_shouwang {
        return shouwang::serve(host, args.record.clone());
    }
    if args.serve_reflector {
        return udp::serve_reflector(host);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sfu-clients")
        .enable_all()
        .build()?;
    print_machine(host);
    let rows = rt.block_on(run_all(args, host))?;
    print_table(&rows, args);
    print_targets(&rows);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("\nload average at the end: {}", load.split_whitespace().take(3).collect::<Vec<_>>().join(" "));
    Ok(())
}

/// Which server forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Shouwang,
    Janus,
    Reflector,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Shouwang => "Shouwang",
            Kind::Janus => "Janus",
            Kind::Reflector => "UDP reflector",
        }
    }
}

/// What a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One stream to this many subscribers.
    FanOut(usize),
    /// This many rooms of this many parties, each publishing to the others.
    Rooms { rooms: usize, size: usize },
    /// This many peers connected, no media.
    Idle(usize),
}

/// One measured run.
#[derive(Debug, Clone)]
struct Row {
    kind: Kind,
    shape: Shape,
    run: &'static str,
    rate: u32,
    peers: usize,
    /// Streams forwarded: subscriber × publisher pairs.
    streams: usize,
    /// Frames (= packets) delivered to subscribers per second.
    pps: f64,
    /// The server process, in cores.
    cpu: f64,
    /// MiB of frames delivered to subscribers.
    mib: f64,
    loss: f64,
    p50_ms: f64,
    p99_ms: f64,
    rss_mib: f64,
    /// Growth of the process's own data (`RssAnon`) from the empty server,
    /// per peer.
    kib_per_peer: f64,
    /// The same for all of RSS, code pages included (the measure before
    /// 2026-12-07).
    rss_kib_per_peer: f64,
    clients_cpu: f64,
    machine_cpu: f64,
    secs: f64,
    /// Receivers that never got a frame (or never connected, when idle).
    dead: usize,
    /// Datagrams Shouwang's SFU could not send (socket buffer full).
    send_dropped: Option<u64>,
}

impl Row {
    fn rejected(&self) -> bool {
        self.cpu > CPU_CEILING
    }

    /// Loss within the bound (< 0.1 %).
    fn clean(&self) -> bool {
        self.loss < 0.001
    }

    fn cpu_s_per_mib(&self) -> f64 {
        if self.mib > 0.0 { self.cpu * self.secs / self.mib } else { f64::NAN }
    }
}

async fn run_all(args: &SfuArgs, host: IpAddr) -> anyhow::Result<Vec<Row>> {
    let mut kinds = vec![Kind::Shouwang];
    if !args.no_janus {
        kinds.push(Kind::Janus);
    }
    kinds.push(Kind::Reflector);
    let mut rows = Vec::new();
    let measured = |row: anyhow::Result<Row>, rows: &mut Vec<Row>| match row {
        Ok(row) => {
            eprintln!("{}", one_line(&row));
            rows.push(row);
        }
        Err(e) => eprintln!("run failed: {e:#}"),
    };
    for &n in &args.subscribers {
        for &kind in &kinds {
            measured(measure(args, host, kind, Shape::FanOut(n), args.rate, "fan-out").await, &mut rows);
        }
    }
    if let Some(&n) = args.subscribers.iter().max() {
        for &kind in &kinds {
            for &rate in args.sweep.iter().filter(|r| **r > 0) {
                let row = measure(args, host, kind, Shape::FanOut(n), rate, "sweep").await;
                let stop = !matches!(&row, Ok(r) if !r.rejected());
                measured(row, &mut rows);
                if stop {
                    break;
                }
            }
        }
    }
    if args.small_rooms > 0 {
        let threes = Shape::Rooms { rooms: args.small_rooms, size: 3 };
        let tens = Shape::Rooms { rooms: (args.small_rooms * 6).div_ceil(90), size: 10 };
        for shape in [threes, tens] {
            measured(measure(args, host, Kind::Shouwang, shape, args.rate, "rooms").await, &mut rows);
        }
        if args.grid_rate > 0 {
            let grid = Shape::Rooms { rooms: args.grid_rooms.max(1), size: 10 };
            measured(measure(args, host, Kind::Shouwang, grid, args.grid_rate, "grid").await, &mut rows);
        }
    }
    if args.idle > 0 {
        for &kind in kinds.iter().filter(|k| **k != Kind::Reflector) {
            measured(measure(args, host, kind, Shape::Idle(args.idle), args.rate, "idle").await, &mut rows);
        }
    }
    Ok(rows)
}

/// A running server and the clients of one run. Dropping it stops them all.
struct Setup {
    pid: u32,
    /// Held for their lifetime: dropping a process handle kills it.
    shouwang: Option<ShouwangProcess>,
    _janus: Option<Janus>,
    _reflector: Option<Reflector>,
    _feed: Option<RtpFeed>,
    _publishers: Vec<Client>,
    /// Each receiver with the number of streams it should receive.
    receivers: Vec<(Client, usize)>,
    peers: usize,
    /// The empty server's memory, before the peers join.
    baseline: Memory,
}

async fn measure(
    args: &SfuArgs,
    host: IpAddr,
    kind: Kind,
    shape: Shape,
    rate: u32,
    run: &'static str,
) -> anyhow::Result<Row> {
    let schedule = Schedule { epoch: Instant::now(), rate, frame_bytes: args.frame_bytes };
    let counted = Arc::new(Counted::default());
    let setup = set_up(host, kind, shape, schedule, &counted, args.record.as_deref())
        .await
        .with_context(|| format!("{} {shape:?} at {rate}/s", kind.name()))?;

    // Wait for every receiver: media flowing, or connected when idle.
    let ready = |s: &Setup| match shape {
        Shape::Idle(_) => s.receivers.iter().filter(|(c, _)| !c.connected()).count(),
        _ => s.receivers.iter().filter(|(c, _)| !c.flowing()).count(),
    };
    let patience = Instant::now() + Duration::from_secs(30);
    while ready(&setup) > 0 && Instant::now() < patience {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs_f64(args.warmup)).await;

    let from = schedule.next_at(Instant::now() + Duration::from_millis(50));
    let until = from + (args.secs * f64::from(rate)).round() as u64;
    counted.set(from, until);
    tokio::time::sleep_until(schedule.due(from).into()).await;
    let before = Sample::take(setup.pid);
    tokio::time::sleep_until(schedule.due(until).into()).await;
    let after = Sample::take(setup.pid);
    let send_dropped = match &setup.shouwang {
        Some(sfu) => Some(sfu.counters().await.packets_send_dropped),
        None => None,
    };
    // Stragglers of the window.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut frames = 0u64;
    let mut delays = Vec::new();
    let mut expected = 0u64;
    for (receiver, streams) in &setup.receivers {
        let got = receiver.take().await;
        frames += got.frames;
        delays.extend(got.delay_us);
        expected += (until - from) * *streams as u64;
    }
    delays.sort_unstable();
    let secs = after.at.duration_since(before.at).as_secs_f64();
    let mib = (frames as f64) * args.frame_bytes as f64 / (1024.0 * 1024.0);
    let streams = setup.receivers.iter().map(|(_, s)| s).sum();
    let dead = ready(&setup);
    let loss =
        if matches!(shape, Shape::Idle(_)) || expected == 0 { 0.0 } else { 1.0 - frames as f64 / expected as f64 };
    Ok(Row {
        kind,
        shape,
        run,
        rate,
        peers: setup.peers,
        streams,
        pps: frames as f64 / secs,
        cpu: (after.server_ns - before.server_ns) as f64 / 1e9 / secs,
        mib,
        loss,
        p50_ms: percentile_ms(&delays, 50.0),
        p99_ms: percentile_ms(&delays, 99.0),
        rss_mib: after.server.rss_kib as f64 / 1024.0,
        kib_per_peer: after.server.anon_kib.saturating_sub(setup.baseline.anon_kib) as f64 / setup.peers.max(1) as f64,
        rss_kib_per_peer: after.server.rss_kib.saturating_sub(setup.baseline.rss_kib) as f64
            / setup.peers.max(1) as f64,
        clients_cpu: (after.own_ns - before.own_ns) as f64 / 1e9 / secs,
        machine_cpu: after.machine_busy_share_since(&before),
        secs,
        dead,
        send_dropped,
    })
}

async fn set_up(
    host: IpAddr,
    kind: Kind,
    shape: Shape,
    schedule: Schedule,
    counted: &Arc<Counted>,
    record: Option<&std::path::Path>,
) -> anyhow::Result<Setup> {
    let mut setup = Setup {
        pid: 0,
        shouwang: None,
        _janus: None,
        _reflector: None,
        _feed: None,
        _publishers: Vec::new(),
        receivers: Vec::new(),
        peers: 0,
        baseline: Memory::default(),
    };
    match kind {
        Kind::Shouwang => {
            let sfu = ShouwangProcess::spawn(host, record).await?;
            setup.pid = sfu.pid();
            setup.baseline = Memory::of(setup.pid);
            let mut key = 0u64;
            // Each room: who publishes, who only watches.
            let rooms: Vec<(usize, usize)> = match shape {
                Shape::FanOut(n) => {
                    let rooms = n.div_ceil(SUBSCRIBERS_PER_ROOM);
                    (0..rooms).map(|r| (1, n / rooms + usize::from(r < n % rooms))).collect()
                }
                Shape::Rooms { rooms, size } => vec![(size, 0); rooms],
                Shape::Idle(n) => {
                    let rooms = n.div_ceil(10);
                    (0..rooms).map(|r| (0, n / rooms + usize::from(r < n % rooms))).collect()
                }
            };
            for (r, (publishers, watchers)) in rooms.into_iter().enumerate() {
                let room = format!("room-{r}");
                for i in 0..publishers + watchers {
                    key += 1;
                    let publishes = i < publishers;
                    let (prepared, offer) = Prepared::offering(host, publishes).await?;
                    let answer = sfu.join(&room, key, offer, prepared.inbox()).await?;
                    let client = prepared.start(Some(&answer), schedule, Arc::clone(counted))?;
                    setup.peers += 1;
                    // A publisher receives the other publishers of its room.
                    let heard = if publishes { publishers - 1 } else { publishers };
                    if heard > 0 || matches!(shape, Shape::Idle(_)) {
                        setup.receivers.push((client, heard));
                    } else {
                        setup._publishers.push(client);
                    }
                }
            }
            setup.shouwang = Some(sfu);
        }
        Kind::Janus => {
            let janus = Janus::start(host).await?;
            setup.pid = janus.pid();
            setup.baseline = Memory::of(setup.pid);
            let (viewers, streams) = match shape {
                Shape::FanOut(n) => (n, 1),
                Shape::Idle(n) => (n, 0),
                Shape::Rooms { .. } => anyhow::bail!("rooms are not set up on Janus"),
            };
            if streams > 0 {
                setup._feed = Some(RtpFeed::start(host, janus.rtp, schedule).await?);
            }
            for _ in 0..viewers {
                let client = janus.watch(host, schedule, Arc::clone(counted)).await?;
                setup.receivers.push((client, streams));
                setup.peers += 1;
            }
            setup._janus = Some(janus);
        }
        Kind::Reflector => {
            let Shape::FanOut(n) = shape else { anyhow::bail!("the reflector only fans out") };
            let reflector = Reflector::spawn(host).await?;
            setup.pid = reflector.pid();
            setup.baseline = Memory::of(setup.pid);
            for _ in 0..n {
                let sink = reflector.subscribe(host, schedule, Arc::clone(counted)).await?;
                setup.receivers.push((sink, 1));
                setup.peers += 1;
            }
            setup._feed = Some(RtpFeed::start(host, reflector.addr, schedule).await?);
            setup._reflector = Some(reflector);
        }
    }
    Ok(setup)
}

/// CPU and memory at one moment.
struct Sample {
    at: Instant,
    /// CPU time of every thread of the server process.
    server_ns: u64,
    server: Memory,
    /// CPU time of every thread of this process (the clients).
    own_ns: u64,
    /// `/proc/stat`: busy and total ticks of the whole machine.
    machine: (u64, u64),
}

impl Sample {
    fn take(pid: u32) -> Sample {
        let ticks = crate::sys::machine_ticks();
        let busy = crate::sys::busy_ticks(&ticks);
        let total = ticks.iter().take(8).sum();
        Sample {
            at: Instant::now(),
            server_ns: task_cpu_ns(&pid.to_string()),
            server: Memory::of(pid),
            own_ns: task_cpu_ns("self"),
            machine: (busy, total),
        }
    }

    /// The machine's busy share since `before`, in cores.
    fn machine_busy_share_since(&self, before: &Sample) -> f64 {
        let busy = self.machine.0.saturating_sub(before.machine.0) as f64;
        let total = self.machine.1.saturating_sub(before.machine.1) as f64;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        if total > 0.0 { busy / total * cores } else { 0.0 }
    }
}

/// A process's resident memory, from `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy, Default)]
struct Memory {
    /// All of it (`VmRSS`), the program's code pages included: the first
    /// call pages in the DTLS, SRTP and codec code once, which a run with
    /// few peers would otherwise count as theirs.
    rss_kib: u64,
    /// The process's own data (`RssAnon`): heap, stacks, buffers. What
    /// a peer costs.
    anon_kib: u64,
}

impl Memory {
    fn of(pid: u32) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or(0)
        };
        Memory { rss_kib: field("VmRSS:"), anon_kib: field("RssAnon:") }
    }
}

/// Nanoseconds on CPU of every live thread of a process, from schedstat.
fn task_cpu_ns(pid: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
        .sum()
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted_us.len() as f64 - 1.0) * p / 100.0).round() as usize;
    f64::from(sorted_us[i]) / 1000.0
}

/// The source address of the default route, or loopback without one.
fn default_host() -> IpAddr {
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").and_then(|s| {
        // Connecting a UDP socket sends nothing; it only picks a route.
        s.connect("203.0.113.1:9")?;
        s.local_addr()
    });
    probe.map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |a: SocketAddr| a.ip())
}

fn print_machine(host: IpAddr) {
    let (nproc, model) = crate::sys::cpus();
    let load = crate::sys::load_average();
    println!("machine: {nproc} × {model}; host address {host}; load average before start {load}");
    let janus = std::process::Command::new("janus").arg("--version").output();
    let janus = janus.map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").to_owned());
    println!("janus: {}", janus.unwrap_or_else(|_| "not installed".into()));
    println!();
}

fn describe(shape: Shape) -> String {
    match shape {
        Shape::FanOut(n) => format!("1 → {n}"),
        Shape::Rooms { rooms, size } => format!("{rooms} × {size}-party"),
        Shape::Idle(n) => format!("{n} idle"),
    }
}

fn one_line(row: &Row) -> String {
    format!(
        "{} {} {} at {}/s: {:.0} pkt/s, CPU {:.1} %, loss {:.3} %, p99 {:.2} ms{}",
        row.kind.name(),
        row.run,
        describe(row.shape),
        row.rate,
        row.pps,
        row.cpu * 100.0,
        row.loss * 100.0,
        row.p99_ms,
        if row.dead > 0 { format!(", {} receivers dead", row.dead) } else { String::new() }
    )
}

fn print_table(rows: &[Row], args: &SfuArgs) {
    println!(
        "{} s per run, {}-byte frames (one RTP packet each); CPU is the server process's, in % of one core.",
        args.secs, args.frame_bytes
    );
    println!();
    println!(
        "| run | server | shape | rate/stream | streams | pkt/s delivered | CPU % | CPU % per stream | CPU s per MiB | loss % | delay p50 / p99 ms | RSS MiB | KiB per peer (RSS) | clients CPU % | machine CPU % | note |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in rows {
        let mut note = Vec::new();
        if r.rejected() {
            note.push("rejected: above 85 %".to_owned());
        }
        if !r.clean() {
            note.push("loss ≥ 0.1 %".to_owned());
        }
        if r.dead > 0 {
            note.push(format!("{} receivers got nothing", r.dead));
        }
        if let Some(n) = r.send_dropped.filter(|n| *n > 0) {
            note.push(format!("{n} sends dropped"));
        }
        let per_stream = if r.streams > 0 { r.cpu * 100.0 / r.streams as f64 } else { f64::NAN };
        println!(
            "| {} | {} | {} | {} | {} | {:.0} | {:.1} | {:.3} | {:.3} | {:.3} | {:.2} / {:.2} | {:.1} | {:.0} ({:.0}) | {:.0} | {:.0} | {} |",
            r.run,
            r.kind.name(),
            describe(r.shape),
            r.rate,
            r.streams,
            r.pps,
            r.cpu * 100.0,
            per_stream,
            r.cpu_s_per_mib(),
            r.loss * 100.0,
            r.p50_ms,
            r.p99_ms,
            r.rss_mib,
            r.kib_per_peer,
            r.rss_kib_per_peer,
            r.clients_cpu * 100.0,
            r.machine_cpu * 100.0,
            note.join("; ")
        );
    }
    println!();
}

/// The targets, each against this run's figures.
fn print_targets(rows: &[Row]) {
    let find =
        |kind: Kind, run: &str, shape: Shape| rows.iter().find(|r| r.kind == kind && r.run == run && r.shape == shape);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("targets:");
    for r in rows.iter().filter(|r| r.kind == Kind::Shouwang && r.run == "fan-out") {
        if let Some(j) = find(Kind::Janus, "fan-out", r.shape) {
            let ratio = r.cpu_s_per_mib() / j.cpu_s_per_mib();
            println!("- CPU per MiB ≤ 0.8× Janus's, {}: {ratio:.2}× — {}", describe(r.shape), verdict(ratio <= 0.8));
        }
    }
    for kind in [Kind::Shouwang, Kind::Janus, Kind::Reflector] {
        let best = rows
            .iter()
            .filter(|r| r.kind == kind && matches!(r.shape, Shape::FanOut(_)) && !r.rejected() && r.clean())
            .max_by(|a, b| a.pps.total_cmp(&b.pps));
        if let Some(b) = best {
            let per_core = b.pps / b.cpu;
            let check =
                if kind == Kind::Shouwang { format!(" — {}", verdict(per_core >= 60_000.0)) } else { String::new() };
            println!(
                "- {}: {:.0} pkt/s delivered at {:.0} % CPU with {:.3} % loss ({}, {}/s): {per_core:.0} pkt/s per core{check}",
                kind.name(),
                b.pps,
                b.cpu * 100.0,
                b.loss * 100.0,
                describe(b.shape),
                b.rate
            );
        }
    }
    let half = rows
        .iter()
        .filter(|r| r.kind == Kind::Shouwang && matches!(r.shape, Shape::FanOut(_)) && r.clean())
        .min_by(|a, b| (a.cpu - 0.5).abs().total_cmp(&(b.cpu - 0.5).abs()));
    if let Some(h) = half {
        println!(
            "- delay p99 ≤ 1 ms at 50 % load: {:.2} ms at {:.0} % CPU ({}, {}/s) — {}",
            h.p99_ms,
            h.cpu * 100.0,
            describe(h.shape),
            h.rate,
            verdict(h.p99_ms <= 1.0)
        );
    }
    let threes = rows.iter().find(|r| r.run == "rooms" && matches!(r.shape, Shape::Rooms { size: 3, .. }));
    let tens = rows.iter().find(|r| r.run == "rooms" && matches!(r.shape, Shape::Rooms { size: 10, .. }));
    if let (Some(three), Some(ten)) = (threes, tens) {
        let ratio = ten.cpu_s_per_mib() / three.cpu_s_per_mib();
        let valid = if three.clean() && ten.clean() { "" } else { " (not valid: a run lost ≥ 0.1 %)" };
        println!("- a 10-party room per MiB ≤ 1.2× 3-party rooms: {ratio:.2}×{valid} — {}", verdict(ratio <= 1.2));
    }
    for m in rows.iter().filter(|r| r.kind == Kind::Shouwang && r.run != "sweep") {
        println!(
            "- ≤ 1 MiB per peer, {}: {:.0} KiB per peer with {} peers and {} forwarded streams — {}",
            describe(m.shape),
            m.kib_per_peer,
            m.peers,
            m.streams,
            verdict(m.kib_per_peer <= 1024.0)
        );
    }
    for r in rows.iter().filter(|r| r.run == "idle") {
        let check = if r.kind == Kind::Shouwang { format!(" — {}", verdict(r.cpu <= 0.02)) } else { String::new() };
        println!("- {} idle peers ≤ 2 % of a core, {}: {:.2} %{check}", r.peers, r.kind.name(), r.cpu * 100.0);
    }
}
