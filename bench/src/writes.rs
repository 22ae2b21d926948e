//! `writes`: durable single-record writes through the API, side by side with
//! a bare axum handler and raw batched inserts into the same SQLite file.
//!
//! # Runtimes
//! The servers run on one tokio runtime (`srv-rt` threads) and the load
//! generator on another (`load-rt` threads), each with as many workers as
//! the machine has cores unless told otherwise; the two share the cores, as
//! a server and its clients on one machine do. SQLite connections run on
//! threads of their own (sqlx's `sqlx-sqlite-worker-*`). CPU time is reported
//! per group so it is visible who used the cores.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use shouwang_domain::{OrgUnitCode, OrgUnitKind, RecordId, RoleName, Username};
use shouwang_server::auth::{random_token, token_hash};
use shouwang_server::{App, Config, MediaSettings};
use shouwang_store::writer::{Actor, Command, Outcome};
use shouwang_store::{OrgUnit, SqliteSync, Store, StoreOptions, User, now_us};
use sqlx::{AnyPool, Row};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

use crate::load::{ENTRY_BODY, PhaseResult, Tally, Window, drive, drive_router, http_client};
use crate::sys::{LOAD_THREADS, SERVER_THREADS, machine_info};

/// The target: durable API writes at this fraction of the bare
/// handler's requests per second.
const TARGET_RATIO: f64 = 0.35;

/// Options of `writes`.
#[derive(Debug, clap::Args)]
pub struct WritesArgs {
    /// Concurrent clients, each with its own keep-alive connection, each
    /// sending one request after another.
    #[arg(long, default_value_t = 200)]
    clients: usize,
    /// Measured seconds per phase.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Warm-up seconds before each measured window (not counted).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// SQLite durability for (b) and (c): `full` fsyncs every commit.
    #[arg(long, value_enum, default_value_t = Sync::Full)]
    sync: Sync,
    /// Rows per transaction of the raw batched insert (c).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Measured seconds of each diagnostic phase (0 skips them).
    #[arg(long, default_value_t = 5.0)]
    diag_seconds: f64,
    /// Worker threads of the server runtime (default: the number of cores).
    #[arg(long)]
    server_threads: Option<usize>,
    /// Worker threads of the load generator's runtime (default: the number of cores).
    #[arg(long)]
    client_threads: Option<usize>,
    /// The phases to run, e.g. `--only api,diag` to profile one alone. The
    /// API's server and database are set up whatever is chosen.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Phase::Bare, Phase::Api, Phase::Raw, Phase::Diag])]
    only: Vec<Phase>,
    /// Where to make the temporary database directory (default: the system
    /// temp dir). Must be a real disk for `full` to mean anything.
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// A part of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Phase {
    /// (a) the bare axum handler.
    Bare,
    /// (b) the API.
    Api,
    /// (c) raw batched inserts.
    Raw,
    /// The diagnostics: the writer alone, the reads alone, one commit per
    /// row, the writer's SQL run raw.
    Diag,
}

/// SQLite's `synchronous` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Sync {
    /// fsync on every commit.
    Full,
    /// fsync at checkpoints only.
    Normal,
}

impl Sync {
    fn store(self) -> SqliteSync {
        match self {
            Sync::Full => SqliteSync::Full,
            Sync::Normal => SqliteSync::Normal,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Sync::Full => "FULL",
            Sync::Normal => "NORMAL",
        }
    }
}

/// The org unit, user and API token the API phase writes as.
#[derive(Debug, Clone)]
struct Fixture {
    unit: OrgUnit,
    user: User,
    secret: String,
}

/// One row of the final table.
struct TableRow {
    label: String,
    unit: &'static str,
    r: PhaseResult,
}

/// Runs the phases and prints the report.
pub fn run(args: &WritesArgs) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let server_threads = args.server_threads.unwrap_or(cores).max(1);
    let client_threads = args.client_threads.unwrap_or(cores).max(1);
    let server_rt = runtime(SERVER_THREADS, server_threads)?;
    let load_rt = runtime(LOAD_THREADS, client_threads)?;
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let on = |p: Phase| args.only.contains(&p);

    println!("# shouwang-bench writes\n");
    println!("command: `{}`\n", std::env::args().collect::<Vec<_>>().join(" "));
    for (k, v) in machine_info(&parent) {
        println!("- {k}: {v}");
    }
    println!(
        "- settings: {} clients, {} s warm-up + {} s measured per phase, synchronous={}, raw batch {} rows, \
         server runtime {server_threads} workers, load-generator runtime {client_threads} workers\n",
        args.clients,
        args.warmup,
        args.seconds,
        args.sync.name(),
        args.batch
    );

    let mut rows = Vec::new();
    let mut diag = Vec::new();

    // (a) The bare handler.
    let bare = if on(Phase::Bare) {
        eprintln!("(a) bare axum handler …");
        let r = bare_phase(&server_rt, &load_rt, args)?;
        let rate = r.rate;
        rows.push(TableRow { label: "(a) bare axum handler, no I/O".into(), unit: "req/s", r });
        Some(rate)
    } else {
        None
    };

    // (b) The API, then diagnostics on the same server and database.
    let dir = tempfile::Builder::new().prefix("shouwang-bench-").tempdir_in(&parent).context("making the temp dir")?;
    let api = api_phase(&server_rt, &load_rt, args, dir.path())?;
    let mut api_rate = None;
    if let Some(r) = api.result {
        api_rate = Some(r.rate);
        rows.push(TableRow {
            label: format!("(b) Shouwang `POST /api/v1/duty-log`, group commit, synchronous={}", args.sync.name()),
            unit: "req/s",
            r,
        });
    }
    diag.extend(api.diagnostics);

    // (c) Raw inserts into the same file.
    let fx = api.fixture.clone();
    let pool = api.store.pool().clone();
    if on(Phase::Raw) {
        eprintln!("(c) raw batched insert …");
        let raw_w = || Window::new(args.warmup.min(1.0), args.seconds);
        let batched =
            drive_one(&server_rt, raw_w(), |w| raw_client(pool.clone(), args.batch, Raw::Rows, fx.clone(), w))?;
        rows.push(TableRow {
            label: format!(
                "(c) raw insert into the same file, {} one-row INSERTs per transaction, synchronous={}",
                args.batch,
                args.sync.name()
            ),
            unit: "rows/s",
            r: batched,
        });
    }
    if on(Phase::Diag) && args.diag_seconds > 0.0 {
        eprintln!("diagnostics: raw inserts, one commit per row; the writer's SQL …");
        let short = || Window::new(0.5, args.diag_seconds);
        let per_row = drive_one(&server_rt, short(), |w| raw_client(pool.clone(), 1, Raw::Rows, fx.clone(), w))?;
        diag.push(TableRow {
            label: format!("raw insert, one commit per row, synchronous={}", args.sync.name()),
            unit: "rows/s",
            r: per_row,
        });
        let equiv =
            drive_one(&server_rt, short(), |w| raw_client(pool.clone(), WRITER_BATCH, Raw::WriterSql, fx.clone(), w))?;
        diag.push(TableRow {
            label: format!(
                "raw, the writer's SQL per entry (check unit, insert entry, insert event), {WRITER_BATCH} entries \
                 per transaction"
            ),
            unit: "rows/s",
            r: equiv,
        });
        let batched = drive_one(&server_rt, short(), |w| {
            raw_client(pool.clone(), WRITER_BATCH, Raw::WriterBatched, fx.clone(), w)
        })?;
        diag.push(TableRow {
            label: format!(
                "raw, the same writes batched: {WRITER_BATCH} entries per transaction as one multi-row entry insert \
                 and one multi-row event insert (both `RETURNING`)"
            ),
            unit: "rows/s",
            r: batched,
        });
        let multi =
            drive_one(&server_rt, short(), |w| raw_client(pool.clone(), args.batch, Raw::MultiRow, fx.clone(), w))?;
        diag.push(TableRow {
            label: format!(
                "raw insert, {} rows per transaction as multi-row `INSERT … VALUES` (≤ 500 rows each)",
                args.batch
            ),
            unit: "rows/s",
            r: multi,
        });
        let trip = drive_one(&server_rt, short(), |w| round_trip_client(pool.clone(), w))?;
        diag.push(TableRow {
            label: "`SELECT 1` one after another on one pooled connection: the cost of any statement".into(),
            unit: "stmts/s",
            r: trip,
        });
    }
    let stored_final = server_rt.block_on(count(api.store.pool(), "duty_log"))?;
    server_rt.block_on(api.store.close());

    // The report.
    println!("## Results\n");
    print_table(&rows, cores);
    if let (Some(a), Some(b)) = (bare, api_rate) {
        let ratio = b / a;
        println!(
            "\n**(b)/(a) = {ratio:.3}** — target ≥ {TARGET_RATIO}: **{}**",
            if ratio >= TARGET_RATIO { "met" } else { "not met" }
        );
    }
    if let Some(v) = &api.verified {
        println!("\n{v}\n\n{}", api.writer_report);
    }
    if !diag.is_empty() {
        println!("## Diagnostics (same run)\n");
        print_table(&diag, cores);
        println!();
        if let Some(wr) = &api.diag_writer {
            println!("Writer alone: {wr}");
        }
    }
    println!(
        "duty_log rows in the file at the end: {stored_final}; database: {} (deleted at exit)",
        dir.path().display()
    );
    Ok(())
}

fn runtime(name: &'static str, workers: usize) -> anyhow::Result<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(workers).thread_name(name).enable_all().build()?)
}

fn print_table(rows: &[TableRow], cores: usize) {
    println!(
        "| phase | rate | p50 | p99 | errors | CPU cores used: server · SQLite threads · load gen · \
         other processes (of {cores}) |"
    );
    println!("|---|---:|---:|---:|---:|---|");
    for TableRow { label, unit, r } in rows {
        let c = &r.cpu;
        let ours = c.server + c.sqlite + c.load + c.other;
        println!(
            "| {label} | {:.0} {unit} | {:.2} ms | {:.2} ms | {} | {:.2} · {:.2} · {:.2} · {:.2} |",
            r.rate,
            r.p50_ms,
            r.p99_ms,
            r.failed,
            c.server,
            c.sqlite,
            c.load,
            (c.machine - ours).max(0.0) + c.steal
        );
    }
}

// ---------------------------------------------------------------- (a) ----

/// The same body the API takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewEntry {
    id: String,
    org_unit_id: Option<i64>,
    body: String,
    occurred_us: Option<i64>,
}

/// Parses the body and answers 201 with the shape the API answers with.
async fn bare_create(axum::Json(e): axum::Json<NewEntry>) -> (StatusCode, axum::Json<serde_json::Value>) {
    let now = now_us();
    let entry = serde_json::json!({
        "id": e.id, "org_unit_id": e.org_unit_id.unwrap_or(1), "author_id": 1, "body": e.body,
        "occurred_us": e.occurred_us.unwrap_or(now), "recorded_us": now,
    });
    (StatusCode::CREATED, axum::Json(entry))
}

fn bare_phase(server_rt: &Runtime, load_rt: &Runtime, args: &WritesArgs) -> anyhow::Result<PhaseResult> {
    let router = Router::new().route("/api/v1/duty-log", post(bare_create));
    // The same header the API phase sends, so the requests are byte for byte alike.
    let bearer = format!("Bearer sw_{}", random_token());
    let w = Window::new(args.warmup, args.seconds);
    drive_router(server_rt, load_rt, router, args.clients, w, |addr, _| http_client(addr, bearer.clone(), w))
}

// ---------------------------------------------------------------- (b) ----

struct ApiOutcome {
    result: Option<PhaseResult>,
    /// Whether acknowledged = stored, in words.
    verified: Option<String>,
    writer_report: String,
    diagnostics: Vec<TableRow>,
    diag_writer: Option<String>,
    store: Store,
    fixture: Fixture,
}

fn api_phase(
    server_rt: &Runtime,
    load_rt: &Runtime,
    args: &WritesArgs,
    dir: &std::path::Path,
) -> anyhow::Result<ApiOutcome> {
    let url = format!("sqlite://{}", dir.join("shouwang.db").display());
    let options = StoreOptions { url: url.clone(), max_connections: 8, sqlite_sync: args.sync.store() };
    let config = Config {
        data_dir: dir.to_owned(),
        database_url: url,
        sqlite_synchronous: args.sync.name().to_lowercase(),
        media: MediaSettings { enabled: false, ..MediaSettings::default() },
        ..Config::default()
    };
    let (app, store, fixture, listener) = server_rt.block_on(async {
        let store = Store::open(&options).await?;
        let app = App::start(config, store.clone(), false, false).await?;
        let fixture = make_fixture(&app).await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        anyhow::Ok((app, store, fixture, listener))
    })?;
    let addr = listener.local_addr()?;
    let state = app.state.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = server_rt.spawn(app.serve(listener, None, async move {
        let _ = stopped.await;
    }));
    let metrics = shouwang_server::metrics_handle();

    let (mut result, mut verified, mut writer_report) = (None, None, String::new());
    if args.only.contains(&Phase::Api) {
        eprintln!("(b) Shouwang API …");
        let before = server_rt.block_on(count(store.pool(), "duty_log"))?;
        let m0 = metrics.render();
        let w = Window::new(args.warmup, args.seconds);
        let bearer = format!("Bearer {}", fixture.secret);
        let m = metrics.clone();
        let waits = server_rt.spawn(acquire_waits(store.pool().clone(), w));
        let (r, edges) =
            drive_with_probe(load_rt, args.clients, w, |_| http_client(addr, bearer.clone(), w), move || m.render())?;
        let m1 = metrics.render();
        let mut waits = server_rt.block_on(waits)?;
        // Every client has had its last answer: everything acknowledged is committed.
        let stored = server_rt.block_on(count(store.pool(), "duty_log"))? - before;
        let equal = i64::try_from(r.ok_total).ok() == Some(stored);
        verified = Some(format!(
            "Acknowledged = stored: {} responses 201 during (b) (warm-up included), {stored} duty_log rows added → {}; \
             {} non-201 responses or transport errors.",
            r.ok_total,
            if equal { "equal ✓" } else { "MISMATCH ✗" },
            r.failed_total
        ));
        writer_report = describe_writer(&edges.0, &edges.1, &m0, &m1, w.secs());
        waits.sort_unstable();
        let pct = |p: usize| waits.get((waits.len() * p / 100).min(waits.len().saturating_sub(1))).copied();
        if let (Some(p50), Some(p99)) = (pct(50), pct(99)) {
            writer_report.push_str(&format!(
                "Waiting for a pool connection (what the writer does first in every batch), sampled every 10 ms \
                 during the window: p50 {:.2} ms, p99 {:.2} ms ({} samples).\n",
                f64::from(p50) / 1e3,
                f64::from(p99) / 1e3,
                waits.len()
            ));
        }
        result = Some(r);
    }

    // Diagnostics: the parts of a request, each alone, on the same server.
    let mut diagnostics = Vec::new();
    let mut diag_writer = None;
    if args.only.contains(&Phase::Diag) && args.diag_seconds > 0.0 {
        eprintln!("diagnostics: writer alone, reads alone …");
        let dw = || Window::new(args.warmup.min(1.0), args.diag_seconds);
        let w1 = dw();
        let m_a = metrics.render();
        let m = metrics.clone();
        let (r, edges) = drive_with_probe(
            server_rt,
            args.clients,
            w1,
            |_| writer_client(state.clone(), fixture.clone(), w1),
            move || m.render(),
        )?;
        let m_b = metrics.render();
        diagnostics.push(TableRow {
            label: format!("writer alone: {} tasks calling `Writer::submit(AddDutyLogEntry)`, no HTTP", args.clients),
            unit: "writes/s",
            r,
        });
        let wr = describe_writer(&edges.0, &edges.1, &m_a, &m_b, w1.secs());
        let w2 = dw();
        let r = drive(server_rt, args.clients, w2, |_| reads_client(store.clone(), fixture.clone(), w2))?;
        diagnostics.push(TableRow {
            label: format!(
                "reads alone: {} tasks doing the two reads an API write makes (token → user, org unit)",
                args.clients
            ),
            unit: "pairs/s",
            r,
        });
        diag_writer = Some(wr);
    }

    drop(state);
    let _ = stop.send(());
    server_rt.block_on(async { tokio::time::timeout(Duration::from_secs(30), serving).await })???;
    Ok(ApiOutcome { result, verified, writer_report, diagnostics, diag_writer, store, fixture })
}

/// One client on `rt` for the window `w`, given the window.
fn drive_one<F, Fut>(rt: &Runtime, w: Window, client: F) -> anyhow::Result<PhaseResult>
where
    F: Fn(Window) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Tally>> + Send + 'static,
{
    drive(rt, 1, w, |_| client(w))
}

/// Like [`drive`], and returns `probe()` taken at the window's edges.
fn drive_with_probe<F, Fut>(
    rt: &Runtime,
    clients: usize,
    w: Window,
    client: F,
    probe: impl Fn() -> String + Send + 'static,
) -> anyhow::Result<(PhaseResult, (String, String))>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Tally>> + Send + 'static,
{
    // Sample the probe on a thread of its own at the window's edges.
    let sampler = std::thread::spawn(move || {
        std::thread::sleep(w.from.saturating_duration_since(Instant::now()));
        let a = probe();
        std::thread::sleep(w.until.saturating_duration_since(Instant::now()));
        (a, probe())
    });
    let r = drive(rt, clients, w, client)?;
    let edges = sampler.join().map_err(|_| anyhow::anyhow!("the probe thread panicked"))?;
    Ok((r, edges))
}

async fn make_fixture(app: &App) -> anyhow::Result<Fixture> {
    let writer = &app.state.writer;
    let unit = writer
        .submit(
            Actor::system(),
            Command::CreateOrgUnit {
                parent: None,
                kind: OrgUnitKind::County,
                code: OrgUnitCode::parse("code", "411224")?,
                name: "卢氏县".into(),
            },
        )
        .await?
        .outcome
        .into_org_unit()?;
    let user = writer
        .submit(
            Actor::system(),
            Command::CreateUser {
                username: Username::parse("username", "bench_duty")?,
                display_name: "值班员（压测）".into(),
                password_hash: "not-a-hash: this account never signs in".into(),
                role: RoleName::parse("role", "duty_officer")?,
                org_unit: unit.id,
                scope: None,
            },
        )
        .await?
        .outcome
        .into_user()?;
    let secret = format!("sw_{}", random_token());
    writer
        .submit(
            Actor::system(),
            Command::CreateToken { user: user.id, name: "bench".into(), token_hash: token_hash(&secret) },
        )
        .await?;
    Ok(Fixture { unit, user, secret })
}

/// One diagnostic task: writes straight through the writer, no HTTP.
async fn writer_client(state: shouwang_server::AppState, fx: Fixture, w: Window) -> anyhow::Result<Tally> {
    let mut tally = Tally::with_units(1);
    let actor = Actor::user(fx.user.id, &fx.user.username);
    while !w.over() {
        let started = Instant::now();
        let command = Command::AddDutyLogEntry {
            id: RecordId::new_v7(),
            org_unit: fx.unit.id,
            scope: fx.user.scope.clone(),
            body: ENTRY_BODY.into(),
            occurred_us: now_us(),
        };
        let ok = matches!(
            state.writer.submit(actor.clone(), command).await.map(|a| a.outcome),
            Ok(Outcome::DutyLogEntry { created: true, .. })
        );
        tally.record(&w, started, ok);
    }
    Ok(tally)
}

/// One diagnostic task: the two pool reads the API makes per write.
async fn reads_client(store: Store, fx: Fixture, w: Window) -> anyhow::Result<Tally> {
    let mut tally = Tally::with_units(1);
    let hash = token_hash(&fx.secret);
    while !w.over() {
        let started = Instant::now();
        let user = store.token_user(&hash).await;
        let unit = store.org_unit(fx.unit.id).await;
        tally.record(&w, started, matches!(user, Ok(Some(_))) && unit.is_ok());
    }
    Ok(tally)
}

/// How long taking a connection from the pool waits, sampled every 10 ms
/// through the window: the writer takes one at the start of every batch,
/// from the same pool the request handlers read through.
async fn acquire_waits(pool: AnyPool, w: Window) -> Vec<u32> {
    tokio::time::sleep_until(w.from.into()).await;
    let mut waits = Vec::new();
    while !w.over() {
        let started = Instant::now();
        if let Ok(conn) = pool.acquire().await {
            waits.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
            drop(conn);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    waits
}

/// What the writer did between two renders of the Prometheus registry.
fn describe_writer(w0: &str, w1: &str, whole0: &str, whole1: &str, secs: f64) -> String {
    let d = |a: &str, b: &str, name: &str, filter: &str| metric(b, name, filter) - metric(a, name, filter);
    let batches = d(w0, w1, "shouwang_writer_batch_size_count", "");
    let commands = d(w0, w1, "shouwang_writer_batch_size_sum", "");
    let commit_s = d(w0, w1, "shouwang_writer_commit_seconds_sum", "");
    let route = "route=\"/api/v1/duty-log\"";
    let http_n = d(w0, w1, "shouwang_http_request_seconds_count", route);
    let http_s = d(w0, w1, "shouwang_http_request_seconds_sum", route);
    let all_batches = d(whole0, whole1, "shouwang_writer_batch_size_count", "");
    let all_commands = d(whole0, whole1, "shouwang_writer_batch_size_sum", "");
    let mut out = format!(
        "Writer in the measured window: {batches:.0} batches, {commands:.0} commands, mean batch {:.1} commands, \
         {:.0} batches/s, mean batch time (acquire + statements + commit) {:.2} ms, writer busy {:.0} % of the window.",
        commands / batches.max(1.0),
        batches / secs,
        commit_s / batches.max(1.0) * 1e3,
        commit_s / secs * 100.0,
    );
    if http_n > 0.0 {
        out.push_str(&format!(
            " Server-side time per request (the `track` middleware): mean {:.2} ms over {http_n:.0} requests.",
            http_s / http_n * 1e3
        ));
    }
    out.push_str(&format!(
        " Whole phase incl. warm-up: {all_batches:.0} batches, mean {:.1} commands.\n",
        all_commands / all_batches.max(1.0)
    ));
    out
}

/// The sum of a metric's samples whose line contains `filter`.
fn metric(text: &str, name: &str, filter: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && matches!(l.as_bytes().get(name.len()), Some(b' ' | b'{')))
        .filter(|l| l.contains(filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

// ---------------------------------------------------------------- (c) ----

/// What a raw transaction does per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Raw {
    /// One `INSERT` of one duty-log row per row.
    Rows,
    /// What the writer does per entry: check the unit, insert the entry
    /// (`ON CONFLICT … RETURNING`), insert its event (`RETURNING id`).
    WriterSql,
    /// One multi-row `INSERT … VALUES (…), (…), …` for up to 500 rows.
    MultiRow,
    /// What the writer writes for a batch of entries, in two statements: one
    /// multi-row entry insert (`ON CONFLICT DO NOTHING RETURNING`) and one
    /// multi-row event insert (`RETURNING id`).
    WriterBatched,
}

/// Entries per transaction in the diagnostics that mimic the writer: about
/// the mean batch the writer forms under the API load (printed with (b)).
const WRITER_BATCH: usize = 100;

const DUTY_LOG_INSERT: &str =
    "INSERT INTO duty_log (id, org_unit_id, scope, author_id, body, occurred_us, recorded_us) VALUES ";

/// Inserts duty-log rows straight through the store's pool, `per_tx` to a
/// transaction, one task, until the window ends.
async fn raw_client(pool: AnyPool, per_tx: usize, mode: Raw, fx: Fixture, w: Window) -> anyhow::Result<Tally> {
    anyhow::ensure!(mode != Raw::WriterBatched || per_tx <= 500, "batched writer SQL takes at most 500 entries");
    let mut tally = Tally::with_units(per_tx as u64);
    let scope = fx.user.scope.as_str().to_owned();
    // Anonymous `?` placeholders: sqlx binds `$N` by asking SQLite each
    // parameter's name, which is linear in the parameter count, so a
    // 3,500-parameter statement with `$N` spends its time binding.
    let multi_sql = |rows: usize| format!("{DUTY_LOG_INSERT}{}", vec!["(?, ?, ?, ?, ?, ?, ?)"; rows].join(", "));
    let entries_sql = format!("{} ON CONFLICT (id) DO NOTHING RETURNING id, recorded_us", multi_sql(per_tx.min(500)));
    let events_sql = format!(
        "INSERT INTO events (at_us, actor_id, actor_name, kind, subject, scope, payload) VALUES {} RETURNING id",
        vec!["(?, ?, ?, ?, ?, ?, ?)"; per_tx.min(500)].join(", ")
    );
    let chunk = 500;
    let full_sql = multi_sql(per_tx.min(chunk));
    let tail_sql = multi_sql((per_tx % chunk).max(1));
    while !w.over() {
        let started = Instant::now();
        let mut tx = pool.begin().await?;
        match mode {
            Raw::MultiRow => {
                let mut left = per_tx;
                while left > 0 {
                    let n = left.min(chunk);
                    let sql = if n == per_tx.min(chunk) { &full_sql } else { &tail_sql };
                    let mut q = sqlx::query(sql);
                    for _ in 0..n {
                        let now = now_us();
                        q = q
                            .bind(RecordId::new_v7().to_string())
                            .bind(fx.unit.id.0)
                            .bind(scope.clone())
                            .bind(fx.user.id.0)
                            .bind(ENTRY_BODY)
                            .bind(now)
                            .bind(now);
                    }
                    q.execute(&mut *tx).await?;
                    left -= n;
                }
            }
            Raw::WriterBatched => {
                let entries: Vec<(String, i64)> =
                    (0..per_tx).map(|_| (RecordId::new_v7().to_string(), now_us())).collect();
                let mut q = sqlx::query(&entries_sql);
                for (id, now) in &entries {
                    q = q
                        .bind(id)
                        .bind(fx.unit.id.0)
                        .bind(&scope)
                        .bind(fx.user.id.0)
                        .bind(ENTRY_BODY)
                        .bind(now)
                        .bind(now);
                }
                let inserted = q.fetch_all(&mut *tx).await?;
                anyhow::ensure!(inserted.len() == per_tx, "expected {per_tx} new entries, got {}", inserted.len());
                let mut q = sqlx::query(&events_sql);
                for (id, now) in &entries {
                    let payload = serde_json::json!({ "id": id, "org_unit_id": fx.unit.id.0, "body": ENTRY_BODY,
                                                      "occurred_us": now })
                    .to_string();
                    q = q
                        .bind(now)
                        .bind(fx.user.id.0)
                        .bind(fx.user.username.as_str())
                        .bind(shouwang_domain::EventKind::DutyLogEntryAdded.as_str())
                        .bind(format!("duty_log:{id}"))
                        .bind(&scope)
                        .bind(payload);
                }
                q.fetch_all(&mut *tx).await?;
            }
            Raw::Rows | Raw::WriterSql => {
                for _ in 0..per_tx {
                    insert_one(&mut tx, mode, &fx, &scope).await?;
                }
            }
        }
        tx.commit().await?;
        tally.record(&w, started, true);
    }
    Ok(tally)
}

async fn insert_one(conn: &mut sqlx::AnyConnection, mode: Raw, fx: &Fixture, scope: &str) -> anyhow::Result<()> {
    let id = RecordId::new_v7().to_string();
    let now = now_us();
    if mode == Raw::Rows {
        sqlx::query(&format!("{DUTY_LOG_INSERT}($1, $2, $3, $4, $5, $6, $7)"))
            .bind(&id)
            .bind(fx.unit.id.0)
            .bind(scope)
            .bind(fx.user.id.0)
            .bind(ENTRY_BODY)
            .bind(now)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        return Ok(());
    }
    sqlx::query("SELECT 1 FROM org_units WHERE id = $1").bind(fx.unit.id.0).fetch_optional(&mut *conn).await?;
    sqlx::query(&format!(
        "{DUTY_LOG_INSERT}($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING recorded_us"
    ))
    .bind(&id)
    .bind(fx.unit.id.0)
    .bind(scope)
    .bind(fx.user.id.0)
    .bind(ENTRY_BODY)
    .bind(now)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let payload = serde_json::json!({ "id": id, "org_unit_id": fx.unit.id.0, "body": ENTRY_BODY, "occurred_us": now })
        .to_string();
    sqlx::query(
        "INSERT INTO events (at_us, actor_id, actor_name, kind, subject, scope, payload) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(now)
    .bind(fx.user.id.0)
    .bind(fx.user.username.as_str())
    .bind(shouwang_domain::EventKind::DutyLogEntryAdded.as_str())
    .bind(format!("duty_log:{id}"))
    .bind(scope)
    .bind(payload)
    .fetch_one(&mut *conn)
    .await?;
    Ok(())
}

/// The floor under every statement: `SELECT 1` on one connection, one after
/// another (each is a round trip to the connection's SQLite thread).
async fn round_trip_client(pool: AnyPool, w: Window) -> anyhow::Result<Tally> {
    let mut tally = Tally::with_units(1);
    let mut conn = pool.acquire().await?;
    while !w.over() {
        let started = Instant::now();
        sqlx::query("SELECT 1").fetch_one(&mut *conn).await?;
        tally.record(&w, started, true);
    }
    Ok(tally)
}

async fn count(pool: &AnyPool, table: &str) -> anyhow::Result<i64> {
    let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}")).fetch_one(pool).await?;
    Ok(row.try_get::<i64, _>("n")?)
}
