//! `offline-sync`: what a post's phone pays, over a slow mobile link, to
//! fetch the data it needs offline (`GET /api/v1/me/post/offline`): once in
//! full, then as deltas from the event cursor — with a year of the post's
//! history behind it, to show that the answer is sized for the post and not
//! for its past.
//!
//! 1. Starts the real `shouwang demo` (a fresh data folder, the simulator
//!    off) and signs in as the demo duty officer (`duty` / `demo`, at the
//!    朱阳关 border post ZYG-01) and the demo commander.
//! 2. Gives the post a year of history through the API: `--days` days of
//!    `--per-day` screenings (one `/screenings/batch` request per day, the
//!    times spread over the day), two 12-hour shifts a day, two stock
//!    movements a day, and an order a week to the officer, acknowledged.
//! 3. Measures, `--runs` times each on a new connection: the first sync
//!    (asked as a phone asks, `Accept-Encoding: gzip, deflate, br, zstd`;
//!    and uncompressed), a delta after a few writes at the post (a
//!    check-in, three consumptions, a batch of 20 screenings, a resupply
//!    request), a delta with nothing new, and a delta from a cursor taken
//!    before the year of history was written (a phone away all that time).
//!    Each goes through a throttling TCP relay written here — each direction
//!    delayed `--rtt-ms`/2 and capped at `--kbit`, the first byte one round
//!    trip after connecting (TCP's handshake) — and, as references, straight
//!    to the server (unthrottled, loopback), and against the floor the link
//!    itself sets (two round trips plus the bytes at the capped rate). The
//!    raw SQL reads of the same rows from the demo's SQLite file are timed
//!    beside them.
//!
//! The relay counts payload bytes (HTTP only; TCP/IP headers are not
//! counted). At 256 kbit/s and 300 ms the bandwidth-delay product (9.6 KB)
//! is below TCP's initial window (10 segments), so slow start, which the
//! relay does not model, would not slow the transfer further.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::header::{ACCEPT, ACCEPT_ENCODING, ACCEPT_LANGUAGE, CONTENT_ENCODING, COOKIE, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};

use crate::child::{free_port, quiet_demo};
use crate::screenings::{Rng, screening_json};
use crate::sys::{load_average, machine_info};

const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR_US;
/// The demo county's zone (China Standard Time).
const UTC_OFFSET_HOURS: i64 = 8;
const OFFLINE: &str = "/api/v1/me/post/offline";
/// What Chrome on Android sends.
const PHONE_UA: &str = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) \
                        Chrome/131.0.0.0 Mobile Safari/537.36";
const PHONE_ENCODINGS: &str = "gzip, deflate, br, zstd";

/// Options of `offline-sync`.
#[derive(Debug, clap::Args)]
pub struct OfflineSyncArgs {
    /// Days of history at the post.
    #[arg(long, default_value_t = 365)]
    days: i64,
    /// Screenings per day of history.
    #[arg(long, default_value_t = 150)]
    per_day: usize,
    /// The link's rate each way, kbit/s.
    #[arg(long, default_value_t = 256)]
    kbit: u64,
    /// The link's round-trip time, ms (half of it each way).
    #[arg(long, default_value_t = 300)]
    rtt_ms: u64,
    /// Syncs of each kind, each on a new connection (medians are reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Requests in flight while the history is filled in.
    #[arg(long, default_value_t = 4)]
    fill_clients: usize,
    /// The `shouwang` binary (default: next to this one).
    #[arg(long)]
    shouwang: Option<PathBuf>,
}

/// Runs the benchmark and prints the report.
pub fn run(args: &OfflineSyncArgs) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(run_async(args))
}

async fn run_async(args: &OfflineSyncArgs) -> anyhow::Result<()> {
    println!("# shouwang-bench offline-sync\n");
    println!("command: `{}`\n", std::env::args().collect::<Vec<_>>().join(" "));
    let binary = match &args.shouwang {
        Some(b) => b.clone(),
        None => std::env::current_exe()?.with_file_name("shouwang"),
    };
    let demo = Demo::start(&binary).await?;
    for (k, v) in machine_info(demo.dir.path()) {
        println!("- {k}: {v}");
    }
    let link = Link::new(args.kbit, args.rtt_ms);
    println!(
        "- link: {} kbit/s ({} B/s) each way, {} ms round trip ({} ms each way), connection set-up one round trip\n",
        args.kbit,
        link.bytes_per_s as u64,
        args.rtt_ms,
        args.rtt_ms / 2
    );

    let base = format!("http://{}", demo.addr);
    let duty = Session::login(&base, "duty").await?;
    let commander = Session::login(&base, "commander").await?;
    let mine = duty.get("/api/v1/me/post").await?;
    let post = mine["checkpoint"]["checkpoint"]["id"].as_i64().context("the demo duty officer has no post")?;
    let code = mine["checkpoint"]["checkpoint"]["code"].as_str().unwrap_or_default().to_owned();
    let shift_id = mine["shift"]["id"].as_i64().context("the demo duty officer has no shift")?;
    let at = (mine["checkpoint"]["checkpoint"]["lat"].as_f64(), mine["checkpoint"]["checkpoint"]["lon"].as_f64());

    // Where a phone synced just before the year of history would stand.
    let before_history =
        fetch(demo.addr, OFFLINE, &duty.cookie, PHONE_ENCODINGS).await?.json["cursor"].as_i64().context("no cursor")?;
    let started = Instant::now();
    let filled = fill(args, &duty, &commander, post).await?;
    println!("## History at {code} (filled through the API in {:.0} s)\n", started.elapsed().as_secs_f64());
    let history = History::read(&demo.db_path(), post, duty.user_id).await?;
    history.print(&filled);

    let relay = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let relay_addr = relay.local_addr()?;
    tokio::spawn(serve_relay(relay, demo.addr, link.clone()));
    let mut rows = Vec::new();
    let bench = Bench { duty: &duty, relay: relay_addr, server: demo.addr, link: &link, runs: args.runs };

    let first = bench.measure("first sync", OFFLINE, PHONE_ENCODINGS).await?;
    let cursor = first.json["cursor"].as_i64().context("no cursor")?;
    let plain = bench.measure("first sync, uncompressed", OFFLINE, "identity").await?;
    let raw_ms = raw_reads(&demo.db_path(), post, duty.user_id, args.runs).await?;
    let year = format!("{OFFLINE}?after={before_history}");
    let behind = bench
        .measure("delta after the whole year (a phone that last synced before it)", &year, PHONE_ENCODINGS)
        .await?;

    // A few writes at the post, as its phone makes them.
    writes_at_post(&duty, post, shift_id, at).await?;
    let delta =
        bench.measure("delta after writes at the post", &format!("{OFFLINE}?after={cursor}"), PHONE_ENCODINGS).await?;
    let next = delta.json["cursor"].as_i64().context("no cursor")?;
    let empty = bench.measure("delta, nothing new", &format!("{OFFLINE}?after={next}"), PHONE_ENCODINGS).await?;
    let sections_of_first = section_sizes(&first.json);
    rows.extend([first, plain, behind, delta, empty]);

    println!("## Results (median of {} runs each, each on a new connection)\n", args.runs);
    println!(
        "| sync | served as | sections | request B | response B on the wire | JSON B | over the link | link floor ¹ | unthrottled |"
    );
    println!("|---|---|---|--:|--:|--:|--:|--:|--:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} | **{:.2} s** | {:.2} s | {:.1} ms |",
            r.label,
            r.encoding,
            r.sections.join(", "),
            r.up_bytes,
            r.down_bytes,
            r.json_bytes,
            r.link_s,
            link.floor_s(r.up_bytes, r.down_bytes),
            r.direct_ms
        );
    }
    println!(
        "\n¹ two round trips (connection set-up, request and answer) plus the request's and the answer's bytes at the \
         capped rate: what any server would take to send these bytes over this link.\n"
    );
    println!(
        "Reference: the raw SQL reads of the first sync's rows (post, presence, two days of shifts with names, \
         catalogue and stock, open resupply requests, the officer's open orders, live passes, revocations, the \
         newest event id) from the same SQLite file, one connection, no HTTP or JSON: **{raw_ms:.2} ms** (median). \
         The regions are compiled into the binary, not read from the database.\n"
    );
    println!("First sync by section (JSON bytes; gzip of each section alone, for proportion):\n");
    println!("| section | JSON B | gzip B |");
    println!("|---|--:|--:|");
    for (name, json_b, gz_b) in sections_of_first {
        println!("| {name} | {json_b} | {gz_b} |");
    }
    println!("\n- load average at the end: {}", load_average());
    // The officer's page weight: the field pages as a phone first opens them.
    let mut weights = Vec::new();
    for page in ["/my-post", "/screen", "/passes/verify"] {
        weights.push(crate::page_weight::measure(&duty.http, &duty.base, page).await?);
    }
    crate::page_weight::print(&weights);
    drop(demo);
    Ok(())
}

// ------------------------------------------------------------------ the demo

/// The `shouwang demo` child process, killed on drop.
struct Demo {
    addr: SocketAddr,
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    async fn start(binary: &Path) -> anyhow::Result<Demo> {
        let dir = tempfile::Builder::new().prefix("shouwang-offline-").tempdir()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let log = std::fs::File::create(dir.path().join("server.log"))?;
        let mut c = quiet_demo(binary, dir.path(), addr);
        c.stdout(log.try_clone()?).stderr(log);
        let child = c.spawn().with_context(|| format!("starting {}", binary.display()))?;
        let mut demo = Demo { addr, child, dir };
        let url = format!("http://{addr}/healthz");
        let started = Instant::now();
        loop {
            if let Some(status) = demo.child.try_wait()? {
                let log = std::fs::read_to_string(demo.dir.path().join("server.log")).unwrap_or_default();
                anyhow::bail!("shouwang demo exited with {status}:\n{log}");
            }
            if reqwest::get(&url).await.is_ok_and(|r| r.status().is_success()) {
                return Ok(demo);
            }
            anyhow::ensure!(started.elapsed() < Duration::from_secs(180), "shouwang demo never became ready");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn db_path(&self) -> PathBuf {
        self.dir.path().join("data").join("demo.db")
    }
}

/// A signed-in demo account.
struct Session {
    http: reqwest::Client,
    base: String,
    csrf: String,
    /// The session cookie, as a phone's browser sends it.
    cookie: String,
    user_id: i64,
}

impl Session {
    async fn login(base: &str, username: &str) -> anyhow::Result<Session> {
        let http = reqwest::Client::builder().cookie_store(true).build()?;
        let res = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "username": username, "password": "demo" }))
            .send()
            .await?;
        let cookie = res.cookies().map(|c| format!("{}={}", c.name(), c.value())).collect::<Vec<_>>().join("; ");
        let body: Value = res.error_for_status().with_context(|| format!("signing in as {username}"))?.json().await?;
        Ok(Session {
            http,
            base: base.to_owned(),
            csrf: body["csrf_token"].as_str().unwrap_or_default().to_owned(),
            cookie,
            user_id: body["user"]["id"].as_i64().unwrap_or_default(),
        })
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let res = self.http.get(format!("{}{path}", self.base)).send().await?;
        Ok(res.error_for_status()?.json().await?)
    }

    async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let res =
            self.http.post(format!("{}{path}", self.base)).header("x-csrf-token", &self.csrf).json(body).send().await?;
        let status = res.status();
        let answer: Value = res.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status.is_success(), "POST {path}: {status} {answer}");
        Ok(answer)
    }
}

// ------------------------------------------------------------------ history

/// What the fill sent.
#[derive(Debug, Default)]
struct Filled {
    per_day: usize,
    screenings: usize,
    shifts: usize,
    shifts_refused: usize,
    movements: usize,
    orders: usize,
}

/// Local midnight (UTC+8) of the day holding `us`.
fn day_start(us: i64) -> i64 {
    let offset = UTC_OFFSET_HOURS * HOUR_US;
    (us + offset).div_euclid(DAY_US) * DAY_US - offset
}

/// A year at the post, through the same API a phone and HQ use.
async fn fill(args: &OfflineSyncArgs, duty: &Session, commander: &Session, post: i64) -> anyhow::Result<Filled> {
    let today = day_start(shouwang_store::now_us());
    let mut filled = Filled { per_day: args.per_day, ..Filled::default() };
    let clients = args.fill_clients.max(1);

    // Screenings: one batch per day, spread over 06:00–22:00.
    let per_day = args.per_day;
    let results: Vec<anyhow::Result<usize>> = futures_util::stream::iter(1..=args.days)
        .map(|d| async move {
            let mut rng = Rng::new(d as u64);
            let start = today - d * DAY_US + 6 * HOUR_US;
            let rows: Vec<Value> = (0..per_day)
                .map(|i| {
                    let at = start + (i as i64 * 16 * HOUR_US) / per_day.max(1) as i64 + rng.below(60_000_000) as i64;
                    screening_json(&mut rng, at)
                })
                .collect();
            duty.post(&format!("/api/v1/checkpoints/{post}/screenings/batch"), &json!({ "screenings": rows })).await?;
            Ok(per_day)
        })
        .buffer_unordered(clients)
        .collect()
        .await;
    for r in results {
        filled.screenings += r?;
    }

    // Shifts: the post's officers in crews, a day and a night shift a day.
    let detail = commander.get(&format!("/api/v1/checkpoints/{post}")).await?;
    let required = detail["checkpoint"]["required_staff"].as_i64().unwrap_or(3).max(1) as usize;
    let mut people: Vec<i64> = detail["shifts"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["staff"].as_array().into_iter().flatten().filter_map(Value::as_i64))
        .collect();
    people.sort_unstable();
    people.dedup();
    let crews: Vec<Vec<i64>> = people.chunks(required).filter(|c| c.len() == required).map(<[i64]>::to_vec).collect();
    anyhow::ensure!(!crews.is_empty(), "the post has no full crew on its roster");
    let plans: Vec<(i64, Vec<i64>)> = (2..=args.days)
        .flat_map(|d| {
            let start = today - d * DAY_US;
            let n = crews.len();
            let day = (start + 8 * HOUR_US, crews[(2 * d as usize) % n].clone());
            let night = (start + 20 * HOUR_US, crews[(2 * d as usize + 1) % n].clone());
            if n > 1 { vec![day, night] } else { vec![day] }
        })
        .collect();
    let results: Vec<bool> = futures_util::stream::iter(plans)
        .map(|(starts, crew)| async move {
            let body =
                json!({ "starts_us": starts, "ends_us": starts + 12 * HOUR_US, "leader_id": crew[0], "staff": crew });
            commander.post(&format!("/api/v1/checkpoints/{post}/shifts"), &body).await.is_ok()
        })
        .buffer_unordered(clients)
        .collect()
        .await;
    filled.shifts = results.iter().filter(|ok| **ok).count();
    filled.shifts_refused = results.len() - filled.shifts;

    // Stock: a delivery and then the same used, each day.
    let results: Vec<anyhow::Result<()>> = futures_util::stream::iter(0..args.days)
        .map(|_| async move {
            for kind in ["receipt", "consumption"] {
                let body =
                    json!({ "id": uuid::Uuid::now_v7().to_string(), "item": "mask", "kind": kind, "quantity": 20 });
                duty.post(&format!("/api/v1/checkpoints/{post}/supplies"), &body).await?;
            }
            Ok(())
        })
        .buffer_unordered(clients)
        .collect()
        .await;
    for r in results {
        r?;
        filled.movements += 2;
    }

    // An order a week to the officer, acknowledged.
    let me = duty.user_id;
    let results: Vec<anyhow::Result<()>> = futures_util::stream::iter(0..args.days / 7)
        .map(|w| async move {
            let now = shouwang_store::now_us();
            let order = json!({ "id": uuid::Uuid::now_v7().to_string(), "title": format!("第{}周值守要求", w + 1),
                                "body": "按要求做好车辆和人员登记，发现发热人员立即上报。", "deadline_us": now + HOUR_US,
                                "targets": { "users": [me] } });
            let issued = commander.post("/api/v1/orders", &order).await?;
            let id = issued["id"].as_str().unwrap_or_default();
            duty.post(&format!("/api/v1/orders/{id}/acknowledge"), &json!({ "version": 1 })).await?;
            Ok(())
        })
        .buffer_unordered(clients)
        .collect()
        .await;
    for r in results {
        r?;
        filled.orders += 1;
    }
    Ok(filled)
}

/// A few writes at the post, as its phone makes them after the first sync.
async fn writes_at_post(duty: &Session, post: i64, shift: i64, at: (Option<f64>, Option<f64>)) -> anyhow::Result<()> {
    let id = || uuid::Uuid::now_v7().to_string();
    let mut check_in = json!({ "id": id(), "shift_id": shift });
    if let (Some(lat), Some(lon)) = at {
        check_in["lat"] = json!(lat + 0.0002);
        check_in["lon"] = json!(lon);
    }
    duty.post("/api/v1/check-ins", &check_in).await?;
    for _ in 0..3 {
        let body = json!({ "id": id(), "item": "mask", "kind": "consumption", "quantity": 2 });
        duty.post(&format!("/api/v1/checkpoints/{post}/supplies"), &body).await?;
    }
    let mut rng = Rng::new(7);
    let now = shouwang_store::now_us();
    let rows: Vec<Value> = (0..20).map(|i| screening_json(&mut rng, now - (20 - i) * 60_000_000)).collect();
    duty.post(&format!("/api/v1/checkpoints/{post}/screenings/batch"), &json!({ "screenings": rows })).await?;
    let request = json!({ "id": id(), "item": "mask", "quantity": 200, "note": "口罩将用完" });
    duty.post(&format!("/api/v1/checkpoints/{post}/resupply"), &request).await?;
    Ok(())
}

/// What the database holds after the fill.
struct History {
    screenings_at_post: i64,
    shifts_at_post: i64,
    movements_at_post: i64,
    orders_to_officer: i64,
    events: i64,
    events_at_post: i64,
    db_bytes: u64,
}

impl History {
    async fn read(db: &Path, post: i64, user: i64) -> anyhow::Result<History> {
        let pool = read_only(db).await?;
        let count = |sql: &'static str, bind: i64| {
            let pool = pool.clone();
            async move { anyhow::Ok(sqlx::query(sql).bind(bind).fetch_one(&pool).await?.try_get::<i64, _>(0)?) }
        };
        let scope: String =
            sqlx::query("SELECT scope FROM checkpoints WHERE id = ?").bind(post).fetch_one(&pool).await?.try_get(0)?;
        let events_at_post: i64 = sqlx::query("SELECT COUNT(*) FROM events WHERE scope = ?")
            .bind(&scope)
            .fetch_one(&pool)
            .await?
            .try_get(0)?;
        let size = |suffix: &str| {
            let mut p = db.as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(p).map_or(0, |m| m.len())
        };
        Ok(History {
            screenings_at_post: count("SELECT COUNT(*) FROM screenings WHERE checkpoint_id = ?", post).await?,
            shifts_at_post: count("SELECT COUNT(*) FROM shifts WHERE checkpoint_id = ?", post).await?,
            movements_at_post: count("SELECT COUNT(*) FROM supply_movements WHERE checkpoint_id = ?", post).await?,
            orders_to_officer: count("SELECT COUNT(*) FROM order_receipts WHERE user_id = ?", user).await?,
            events: count("SELECT COUNT(*) FROM events WHERE id > ?", 0).await?,
            events_at_post,
            db_bytes: size("") + size("-wal"),
        })
    }

    fn print(&self, f: &Filled) {
        println!(
            "- sent: {} screenings ({} a day), {} past shifts ({} refused), {} stock movements, {} orders acknowledged",
            f.screenings, f.per_day, f.shifts, f.shifts_refused, f.movements, f.orders
        );
        println!(
            "- the post now holds {} screenings, {} shifts, {} stock movements; the officer {} orders; \
             {} events at the post, {} in all; the database is {:.1} MB\n",
            self.screenings_at_post,
            self.shifts_at_post,
            self.movements_at_post,
            self.orders_to_officer,
            self.events_at_post,
            self.events,
            self.db_bytes as f64 / 1e6
        );
    }
}

async fn read_only(db: &Path) -> anyhow::Result<sqlx::SqlitePool> {
    let options = SqliteConnectOptions::new().filename(db).read_only(true);
    Ok(SqlitePoolOptions::new().max_connections(1).connect_with(options).await?)
}

/// The raw reads of a first sync's rows, `runs` times: the median, ms.
async fn raw_reads(db: &Path, post: i64, user: i64, runs: usize) -> anyhow::Result<f64> {
    let pool = read_only(db).await?;
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        let now = shouwang_store::now_us();
        let today = day_start(now);
        sqlx::query("SELECT MAX(id) FROM events").fetch_one(&pool).await?;
        sqlx::query("SELECT * FROM checkpoints WHERE id = ?").bind(post).fetch_one(&pool).await?;
        sqlx::query("SELECT COUNT(*) FROM check_ins WHERE checkpoint_id = ? AND out_us IS NULL")
            .bind(post)
            .fetch_one(&pool)
            .await?;
        sqlx::query(
            "SELECT s.id, s.starts_us, s.ends_us, s.leader_id, a.user_id, u.display_name FROM shifts s \
             JOIN shift_assignments a ON a.shift_id = s.id JOIN users u ON u.id = a.user_id \
             WHERE s.checkpoint_id = ? AND s.starts_us < ? AND s.ends_us > ? ORDER BY s.starts_us",
        )
        .bind(post)
        .bind(today + 2 * DAY_US)
        .bind(today)
        .fetch_all(&pool)
        .await?;
        sqlx::query("SELECT key, unit, default_threshold FROM supply_items").fetch_all(&pool).await?;
        sqlx::query(
            "SELECT l.item_key, i.unit, l.on_hand, l.threshold FROM supply_levels l \
             JOIN supply_items i ON i.key = l.item_key WHERE l.checkpoint_id = ?",
        )
        .bind(post)
        .fetch_all(&pool)
        .await?;
        sqlx::query(
            "SELECT * FROM resupply_requests WHERE checkpoint_id = ? AND state IN ('requested', 'approved', 'dispatched')",
        )
        .bind(post)
        .fetch_all(&pool)
        .await?;
        sqlx::query(
            "SELECT o.*, r.* FROM order_receipts r JOIN orders o ON o.id = r.order_id WHERE r.user_id = ? \
             AND o.state = 'active' AND (r.state IN ('delivered', 'read') OR (o.needs_report = 1 AND r.state <> 'reported'))",
        )
        .bind(user)
        .fetch_all(&pool)
        .await?;
        sqlx::query("SELECT token FROM passes WHERE status = 'issued' AND valid_until_us > ?")
            .bind(now)
            .fetch_all(&pool)
            .await?;
        sqlx::query("SELECT number, revoked_us FROM passes WHERE revoked_us IS NOT NULL AND valid_until_us > ?")
            .bind(now)
            .fetch_all(&pool)
            .await?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(median(&mut times))
}

// ------------------------------------------------------------------ the link

/// An emulated link: a one-way delay and a rate cap in each direction, and
/// the payload bytes that crossed it.
#[derive(Clone)]
struct Link {
    one_way: Duration,
    bytes_per_s: f64,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
}

impl Link {
    fn new(kbit: u64, rtt_ms: u64) -> Link {
        Link {
            one_way: Duration::from_millis(rtt_ms / 2),
            bytes_per_s: kbit as f64 * 1000.0 / 8.0,
            up: Arc::default(),
            down: Arc::default(),
        }
    }

    /// Two round trips and the bytes at the capped rate.
    fn floor_s(&self, up: u64, down: u64) -> f64 {
        4.0 * self.one_way.as_secs_f64() + (up + down) as f64 / self.bytes_per_s
    }
}

/// Relays each connection to `upstream` over `link`.
async fn serve_relay(listener: TcpListener, upstream: SocketAddr, link: Link) {
    while let Ok((client, _)) = listener.accept().await {
        let link = link.clone();
        tokio::spawn(async move {
            // TCP's handshake: the first byte moves one round trip after connecting.
            tokio::time::sleep(link.one_way * 2).await;
            let Ok(server) = TcpStream::connect(upstream).await else { return };
            let _ = (client.set_nodelay(true), server.set_nodelay(true));
            let (client_r, client_w) = client.into_split();
            let (server_r, server_w) = server.into_split();
            let up = tokio::spawn(pipe(client_r, server_w, link.clone(), link.up.clone()));
            pipe(server_r, client_w, link.clone(), link.down.clone()).await;
            let _ = up.await;
        });
    }
}

/// Copies `from` to `to`: each read is serialised onto the link after what
/// is already on it (the rate cap), then arrives the one-way delay later.
async fn pipe(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, link: Link, counted: Arc<AtomicU64>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut free_at = tokio::time::Instant::now();
    // One TCP segment's payload at a time.
    let mut buf = vec![0u8; 1448];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        counted.fetch_add(n as u64, Ordering::Relaxed);
        free_at = free_at.max(tokio::time::Instant::now()) + Duration::from_secs_f64(n as f64 / link.bytes_per_s);
        if tx.send((free_at + link.one_way, buf[..n].to_vec())).is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
}

// ------------------------------------------------------------------ measuring

struct Bench<'a> {
    duty: &'a Session,
    relay: SocketAddr,
    server: SocketAddr,
    link: &'a Link,
    runs: usize,
}

/// One kind of sync, measured.
struct Measured {
    label: String,
    encoding: String,
    sections: Vec<String>,
    up_bytes: u64,
    down_bytes: u64,
    json_bytes: usize,
    link_s: f64,
    direct_ms: f64,
    json: Value,
}

/// One answer.
struct Fetched {
    encoding: String,
    json: Value,
    json_bytes: usize,
    secs: f64,
}

impl Bench<'_> {
    async fn measure(&self, label: &str, path: &str, encodings: &str) -> anyhow::Result<Measured> {
        let (mut link_s, mut direct_ms) = (Vec::new(), Vec::new());
        let (mut up, mut down) = (0, 0);
        let mut last = None;
        for _ in 0..self.runs.max(1) {
            self.link.up.store(0, Ordering::Relaxed);
            self.link.down.store(0, Ordering::Relaxed);
            let f = fetch(self.relay, path, &self.duty.cookie, encodings).await?;
            up = self.link.up.load(Ordering::Relaxed);
            down = self.link.down.load(Ordering::Relaxed);
            link_s.push(f.secs);
            let d = fetch(self.server, path, &self.duty.cookie, encodings).await?;
            direct_ms.push(d.secs * 1000.0);
            last = Some(f);
        }
        let f = last.context("no run")?;
        let sections = f.json.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        eprintln!("{label}: {down} B down in {:.2} s", median(&mut link_s.clone()));
        Ok(Measured {
            label: label.to_owned(),
            encoding: f.encoding,
            sections,
            up_bytes: up,
            down_bytes: down,
            json_bytes: f.json_bytes,
            link_s: median(&mut link_s),
            direct_ms: median(&mut direct_ms),
            json: f.json,
        })
    }
}

/// `GET path` on a new connection to `addr`, with a phone's headers; the
/// time from connecting to the last byte of the answer.
async fn fetch(addr: SocketAddr, path: &str, cookie: &str, encodings: &str) -> anyhow::Result<Fetched> {
    let started = Instant::now();
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let conn = tokio::spawn(conn);
    let request = Request::get(path)
        .header(HOST, addr.to_string())
        .header(USER_AGENT, PHONE_UA)
        .header(ACCEPT, "application/json")
        .header(ACCEPT_ENCODING, encodings)
        .header(ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9")
        .header(COOKIE, cookie)
        .body(Empty::<Bytes>::new())?;
    let res = send.send_request(request).await?;
    let status = res.status();
    let encoding = res.headers().get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity").to_owned();
    let body = res.into_body().collect().await?.to_bytes();
    let secs = started.elapsed().as_secs_f64();
    drop(send);
    conn.abort();
    let plain = match encoding.as_str() {
        "gzip" => {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut out)?;
            out
        }
        "identity" => body.to_vec(),
        other => anyhow::bail!("the server answered in {other}"),
    };
    anyhow::ensure!(status.is_success(), "GET {path}: {status} {}", String::from_utf8_lossy(&plain));
    Ok(Fetched { encoding, json: serde_json::from_slice(&plain)?, json_bytes: plain.len(), secs })
}

/// Each section's JSON size, and its gzip size alone.
fn section_sizes(answer: &Value) -> Vec<(String, usize, usize)> {
    let Some(o) = answer.as_object() else { return Vec::new() };
    o.iter()
        .map(|(k, v)| {
            let json = serde_json::to_vec(v).unwrap_or_default();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            let _ = std::io::Write::write_all(&mut gz, &json);
            let gz_len = gz.finish().map_or(0, |b| b.len());
            (k.clone(), json.len(), gz_len)
        })
        .collect()
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
