//! `screenings`: the screening write and statistics paths, each beside a
//! reference measured in the same run, on SQLite (`synchronous=FULL`) and on
//! PostgreSQL.
//!
//! 1. **Batch ingest**: `POST /api/v1/checkpoints/{id}/screenings/batch`
//!    with 1000 rows per request from a few clients, then the same kind of
//!    rows inserted raw into the same `screenings` table of the same
//!    database (SQLite: multi-row `INSERT`s, one transaction per 1000 rows;
//!    PostgreSQL: `COPY … FROM STDIN`, one per 1000 rows).
//! 2. **Single creates**: `POST /api/v1/checkpoints/{id}/screenings` from
//!    200 clients, beside a bare axum handler that parses the same JSON into
//!    the same `ScreeningInput` and answers 201 with no I/O.
//! 3. **Statistics**: the rollups filled as `--rows` screenings fill them
//!    (real `RecordScreenings` batches through the writer, a year of
//!    timestamps over `--posts` posts), then `GET /api/v1/screenings/stats`
//!    timed for a random day range (grain day), one day (grain hour) and
//!    all-history totals, against one full `GROUP BY` over `screenings`;
//!    and the lists at that size: the county's newest 50, a post's newest
//!    50, and a plate search over the last four weeks.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::extract::Path as UrlPath;
use axum::http::StatusCode;
use axum::routing::post;
use bytes::Bytes;
use hyper::Method;
use serde_json::{Value, json};
use shouwang_domain::checkpoint::{CheckpointCode, CheckpointKind, LatLon};
use shouwang_domain::duty::ShiftPattern;
use shouwang_domain::screening::IncidentKind;
use shouwang_domain::{CheckpointId, OrgUnitCode, OrgUnitKind, RecordId, RoleName, UserId, Username};
use shouwang_server::api::screenings::ScreeningInput;
use shouwang_server::auth::{random_token, token_hash};
use shouwang_server::{App, AppState, Config, MediaSettings};
use shouwang_store::writer::{Actor, CheckpointDraft, Command};
use shouwang_store::{NewScreening, SqliteSync, Store, StoreOptions, now_us};
use sqlx::{AnyPool, Row};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

use crate::load::{Conn, PhaseResult, Tally, Window, drive, drive_router, percentile_ms};
use crate::sys::{CpuSnapshot, LOAD_THREADS, SERVER_THREADS, machine_info};

const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 24 * HOUR_US;
/// The deployment's zone (China Standard Time), as the server's default.
const UTC_OFFSET_HOURS: i32 = 8;
/// Batch ingest target: API rows/s at this fraction of the raw insert's.
const INGEST_TARGET: f64 = 0.5;
/// Single creates target: API req/s at this fraction of the bare handler's.
const SINGLE_TARGET: f64 = 0.35;
/// Statistics targets (p99, ms): a range or a day; all-history totals.
const RANGE_TARGET_MS: f64 = 50.0;
const TOTAL_TARGET_MS: f64 = 100.0;
/// The org unit code of the fixture (Lushi county).
const COUNTY: &str = "411224";
const USERNAME: &str = "bench_screen";

/// Options of `screenings`.
#[derive(Debug, clap::Args)]
pub struct ScreeningsArgs {
    /// The databases, in order.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Db::Sqlite, Db::Postgres])]
    db: Vec<Db>,
    /// The PostgreSQL server (a fresh database is made on it per part and
    /// dropped after).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432")]
    pg: String,
    /// The parts to run.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Part::Ingest, Part::Single, Part::Stats])]
    only: Vec<Part>,
    /// Concurrent clients of the batch ingest.
    #[arg(long, default_value_t = 4)]
    batch_clients: usize,
    /// Rows per batch request (and per raw transaction or COPY).
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// Rows per multi-row `INSERT` of SQLite's raw reference (1b); one run
    /// per value, the faster is the reference.
    #[arg(long, value_delimiter = ',', default_values_t = [50, 500])]
    raw_statement_rows: Vec<usize>,
    /// Concurrent clients of the single creates.
    #[arg(long, default_value_t = 200)]
    clients: usize,
    /// A single create is logged this many seconds before it is sent, at
    /// most (uniformly; its `occurred_us`). A phone sends what the officer
    /// has just logged, so the default is a few seconds; screenings that
    /// arrive hours late come in batches (the ingest part). 3600 gives the
    /// model of the figures before 2026-12-07, a screening from anywhere in
    /// the last hour, whose time indexes take each row at a random page.
    #[arg(long, default_value_t = 10.0)]
    single_lag_seconds: f64,
    /// Measured seconds per phase.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Warm-up seconds before each measured window (not counted).
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Screenings written through the writer before the statistics are timed.
    #[arg(long, default_value_t = 10_000_000)]
    rows: u64,
    /// Posts the statistics' screenings are spread over.
    #[arg(long, default_value_t = 20)]
    posts: usize,
    /// Queries per statistics query kind.
    #[arg(long, default_value_t = 1000)]
    queries: usize,
    /// At most this many seconds per statistics query kind (fewer queries
    /// are then counted, and the report says how many).
    #[arg(long, default_value_t = 60.0)]
    query_seconds: f64,
    /// Keep the statistics' SQLite file here, and reuse it (no fill) when it
    /// already holds `--rows` screenings.
    #[arg(long)]
    keep: Option<PathBuf>,
    /// Keep the statistics' PostgreSQL database under this name, and reuse it
    /// when it already holds `--rows` screenings.
    #[arg(long)]
    pg_keep: Option<String>,
    /// Concurrent tasks submitting the fill's batches to the writer.
    #[arg(long, default_value_t = 4)]
    fill_tasks: usize,
    /// Worker threads of the server runtime (default: the number of cores).
    #[arg(long)]
    server_threads: Option<usize>,
    /// Worker threads of the load generator's runtime (default: the number of cores).
    #[arg(long)]
    client_threads: Option<usize>,
    /// Where to make temporary SQLite directories (default: the system temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
}

/// A database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Db {
    /// SQLite, WAL, `synchronous=FULL`.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Db {
    fn name(self) -> &'static str {
        match self {
            Db::Sqlite => "SQLite (FULL)",
            Db::Postgres => "PostgreSQL",
        }
    }
}

/// A part of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// Batch ingest vs raw insert.
    Ingest,
    /// Single creates vs the bare handler.
    Single,
    /// Statistics at `--rows` screenings.
    Stats,
}

/// One row of a result table.
struct TableRow {
    label: String,
    unit: &'static str,
    r: PhaseResult,
}

/// Runs the parts on each database and prints the report.
pub fn run(args: &ScreeningsArgs) -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let server_rt = runtime(SERVER_THREADS, args.server_threads.unwrap_or(cores).max(1))?;
    let load_rt = runtime(LOAD_THREADS, args.client_threads.unwrap_or(cores).max(1))?;
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let on = |p: Part| args.only.contains(&p);

    println!("# shouwang-bench screenings\n");
    println!("command: `{}`\n", std::env::args().collect::<Vec<_>>().join(" "));
    for (k, v) in machine_info(&parent) {
        println!("- {k}: {v}");
    }
    println!(
        "- settings: batch {} rows × {} clients, single {} clients (each screening logged up to {} s before it is sent), {} s warm-up + {} s measured per phase, \
         statistics at {} screenings over {} posts, {} queries per kind (≤ {} s)\n",
        args.batch,
        args.batch_clients,
        args.clients,
        args.single_lag_seconds,
        args.warmup,
        args.seconds,
        args.rows,
        args.posts,
        args.queries,
        args.query_seconds
    );

    let mut bare: Option<f64> = None;
    for &db in &args.db {
        println!("## {}\n", db.name());
        if on(Part::Ingest) || on(Part::Single) {
            let target = Target::fresh(db, &args.pg, &parent, "run")?;
            let env = Env::start(&server_rt, &target, args.posts.min(8))?;
            let mut rows = Vec::new();
            if on(Part::Ingest) {
                ingest(&server_rt, &load_rt, args, &env, db, &mut rows)?;
            }
            if on(Part::Single) {
                if bare.is_none() {
                    eprintln!("bare axum handler …");
                    let r = bare_phase(&server_rt, &load_rt, args)?;
                    bare = Some(r.rate);
                    rows.push(TableRow {
                        label: format!(
                            "(2a) bare axum `POST …/screenings`: parses the same JSON into `ScreeningInput`, answers \
                             201, no I/O, {} clients",
                            args.clients
                        ),
                        unit: "req/s",
                        r,
                    });
                }
                single(&server_rt, &load_rt, args, &env, bare, &mut rows)?;
            }
            print_table(&rows, cores);
            println!();
            env.stop(&server_rt)?;
            target.drop_it(&server_rt)?;
        }
        if on(Part::Stats) {
            let target = match (db, &args.keep, &args.pg_keep) {
                (Db::Sqlite, Some(path), _) => Target::Sqlite { _dir: None, path: path.clone() },
                (Db::Postgres, _, Some(name)) => Target::pg(&args.pg, name, false, &server_rt)?,
                _ => Target::fresh(db, &args.pg, &parent, "stats")?,
            };
            stats(&server_rt, &load_rt, args, &target)?;
            target.drop_it(&server_rt)?;
        }
    }
    Ok(())
}

fn runtime(name: &'static str, workers: usize) -> anyhow::Result<Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().worker_threads(workers).thread_name(name).enable_all().build()?)
}

fn print_table(rows: &[TableRow], cores: usize) {
    if rows.is_empty() {
        return;
    }
    println!(
        "| phase | rate | p50 | p99 | errors | CPU cores used: server · SQLite threads · load gen · other processes \
         (of {cores}; PostgreSQL's own processes count here) |"
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
        if let Some(e) = &r.first_error {
            println!("|   first error: {} | | | | | |", e.replace('|', "/").chars().take(300).collect::<String>());
        }
    }
}

// ------------------------------------------------------------ databases ----

/// A database for one part of the run.
enum Target {
    /// A SQLite file, in a temp dir deleted at the end unless kept.
    Sqlite { _dir: Option<tempfile::TempDir>, path: PathBuf },
    /// A PostgreSQL database on `admin`'s server, dropped at the end if `drop`.
    Postgres { admin: String, name: String, drop: bool },
}

impl Target {
    fn fresh(db: Db, pg: &str, parent: &Path, what: &str) -> anyhow::Result<Self> {
        match db {
            Db::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix(&format!("shouwang-bench-{what}-"))
                    .tempdir_in(parent)
                    .context("making the temp dir")?;
                let path = dir.path().join("shouwang.db");
                Ok(Target::Sqlite { _dir: Some(dir), path })
            }
            Db::Postgres => {
                let name = format!("shouwang_bench_{what}_{}", std::process::id());
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                Target::pg(pg, &name, true, &rt)
            }
        }
    }

    /// A PostgreSQL database `name`, made if missing.
    fn pg(server: &str, name: &str, drop: bool, rt: &Runtime) -> anyhow::Result<Self> {
        let admin = format!("{}/postgres", server.trim_end_matches('/'));
        rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&admin).await.context("connecting to PostgreSQL")?;
            let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
                .bind(name)
                .fetch_optional(&mut conn)
                .await?
                .is_some();
            if exists && drop {
                sqlx::query(&format!("DROP DATABASE \"{name}\" WITH (FORCE)")).execute(&mut conn).await?;
            }
            if !exists || drop {
                sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await?;
            }
            conn.close().await?;
            anyhow::Ok(())
        })?;
        Ok(Target::Postgres { admin, name: name.to_owned(), drop })
    }

    fn url(&self) -> String {
        match self {
            Target::Sqlite { path, .. } => format!("sqlite://{}", path.display()),
            Target::Postgres { admin, name, .. } => format!("{}/{name}", admin.trim_end_matches("/postgres")),
        }
    }

    fn db(&self) -> Db {
        match self {
            Target::Sqlite { .. } => Db::Sqlite,
            Target::Postgres { .. } => Db::Postgres,
        }
    }

    fn data_dir(&self) -> PathBuf {
        match self {
            Target::Sqlite { path, .. } => path.parent().map_or_else(std::env::temp_dir, Path::to_owned),
            Target::Postgres { .. } => std::env::temp_dir(),
        }
    }

    fn drop_it(self, rt: &Runtime) -> anyhow::Result<()> {
        if let Target::Postgres { admin, name, drop: true } = &self {
            rt.block_on(async {
                use sqlx::Connection;
                let mut conn = sqlx::PgConnection::connect(admin).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut conn).await?;
                conn.close().await?;
                anyhow::Ok(())
            })?;
        }
        Ok(())
    }
}

/// The posts, officer and token the benchmark writes as.
#[derive(Debug, Clone)]
struct Fixture {
    posts: Vec<CheckpointId>,
    user: UserId,
    username: Username,
    secret: String,
}

impl Fixture {
    fn actor(&self) -> Actor {
        Actor::user(self.user, &self.username)
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.secret)
    }
}

/// A running server on a database.
struct Env {
    store: Store,
    state: AppState,
    fixture: Fixture,
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Env {
    fn start(rt: &Runtime, target: &Target, posts: usize) -> anyhow::Result<Self> {
        let url = target.url();
        let options = StoreOptions { url: url.clone(), max_connections: 8, sqlite_sync: SqliteSync::Full };
        let config = Config {
            data_dir: target.data_dir(),
            database_url: url,
            sqlite_synchronous: "full".into(),
            media: MediaSettings { enabled: false, ..MediaSettings::default() },
            ..Config::default()
        };
        let (app, store, fixture, listener) = rt.block_on(async {
            let store = Store::open(&options).await?;
            let app = App::start(config, store.clone(), false, false).await?;
            let fixture = fixture(&app.state, store.pool(), posts).await?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            anyhow::Ok((app, store, fixture, listener))
        })?;
        let addr = listener.local_addr()?;
        let state = app.state.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = rt.spawn(async move {
            app.serve(listener, None, async move {
                let _ = stopped.await;
            })
            .await
        });
        Ok(Self { store, state, fixture, addr, stop, serving })
    }

    fn stop(self, rt: &Runtime) -> anyhow::Result<()> {
        drop(self.state);
        let _ = self.stop.send(());
        rt.block_on(async { tokio::time::timeout(Duration::from_secs(30), self.serving).await })???;
        rt.block_on(self.store.close());
        Ok(())
    }
}

/// The county, `posts` posts in it, an officer of the county and a fresh API
/// token; what is there already (a kept database) is reused.
async fn fixture(state: &AppState, pool: &AnyPool, posts: usize) -> anyhow::Result<Fixture> {
    let writer = &state.writer;
    let unit = match sqlx::query("SELECT id FROM org_units WHERE code = $1").bind(COUNTY).fetch_optional(pool).await? {
        Some(row) => shouwang_domain::OrgUnitId(row.try_get("id")?),
        None => {
            writer
                .submit(
                    Actor::system(),
                    Command::CreateOrgUnit {
                        parent: None,
                        kind: OrgUnitKind::County,
                        code: OrgUnitCode::parse("code", COUNTY)?,
                        name: "卢氏县".into(),
                    },
                )
                .await?
                .outcome
                .into_org_unit()?
                .id
        }
    };
    let mut ids = Vec::with_capacity(posts);
    for i in 0..posts {
        let code = format!("BENCH-{:02}", i + 1);
        let found = sqlx::query("SELECT id FROM checkpoints WHERE code = $1").bind(&code).fetch_optional(pool).await?;
        let id = match found {
            Some(row) => CheckpointId(row.try_get("id")?),
            None => {
                let draft = CheckpointDraft {
                    org_unit: unit,
                    code: CheckpointCode::parse("code", &code)?,
                    name: format!("压测卡口{:02}", i + 1),
                    kind: if i % 3 == 0 { CheckpointKind::HighwayExit } else { CheckpointKind::CountyBorder },
                    location: LatLon::parse("", 34.05 + i as f64 * 0.01, 111.05 + i as f64 * 0.01)?,
                    address: "卢氏县境内（压测）".into(),
                    required_staff: 2,
                    geofence_m: 300,
                    shift_pattern: ShiftPattern::parse("shift_pattern", "3x8")?.to_stored(),
                };
                writer.submit(Actor::system(), Command::CreateCheckpoint(draft)).await?.outcome.into_checkpoint()?.id
            }
        };
        ids.push(id);
    }
    let username = Username::parse("username", USERNAME)?;
    let user = match sqlx::query("SELECT id FROM users WHERE username = $1").bind(USERNAME).fetch_optional(pool).await?
    {
        Some(row) => UserId(row.try_get("id")?),
        None => {
            writer
                .submit(
                    Actor::system(),
                    Command::CreateUser {
                        username: username.clone(),
                        display_name: "卡口值班员（压测）".into(),
                        password_hash: "not-a-hash: this account never signs in".into(),
                        role: RoleName::parse("role", "duty_officer")?,
                        org_unit: unit,
                        scope: None,
                    },
                )
                .await?
                .outcome
                .into_user()?
                .id
        }
    };
    let secret = format!("sw_{}", random_token());
    writer
        .submit(
            Actor::system(),
            Command::CreateToken { user, name: format!("bench-{}", now_us()), token_hash: token_hash(&secret) },
        )
        .await?;
    Ok(Fixture { posts: ids, user, username, secret })
}

async fn count(pool: &AnyPool, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query(sql).fetch_one(pool).await?.try_get::<i64, _>(0)?)
}

// --------------------------------------------------------------- inputs ----

/// xorshift64*: fast, seedable, and no dependency.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn float(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (self.next() >> 11) as f64 / (1u64 << 53) as f64 * (hi - lo)
    }
}

/// Plate prefixes, weighted towards the county's own (as the demo's).
const PREFIXES: &[&str] = &["豫M", "豫M", "豫M", "豫M", "豫M", "豫M", "豫R", "豫A", "陕E", "陕H", "鄂C"];
const REGIONS: &[&str] = &["411224", "411202", "411221", "411281", "411302", "610500", "611000", "410100", "420300"];
const NAMES: &[&str] = &["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周杰", "吴霞"];

fn id_number(rng: &mut Rng) -> String {
    let body = format!(
        "411224{:04}{:02}{:02}{:03}",
        1950 + rng.below(55),
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(1000)
    );
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body.chars().zip(WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// One screening as a phone sends it (the demo's mix: one in twelve on
/// foot, a third of vehicles trucks, one in twenty-five with a person on
/// record, one in two hundred with a fever, which opens an incident).
pub(crate) fn screening_json(rng: &mut Rng, occurred_us: i64) -> Value {
    let walker = rng.one_in(12);
    let truck = !walker && rng.one_in(3);
    let people_count: i64 = if walker { 1 } else { *rng.pick(&[1, 1, 1, 2, 2, 3, 4]) };
    let fever = rng.one_in(200);
    let listed = fever || rng.one_in(25);
    let people = if listed {
        let t = if fever { rng.float(37.4, 39.2) } else { rng.float(36.0, 37.1) };
        vec![json!({
            "name": rng.pick(NAMES),
            "id_number": id_number(rng),
            "phone": format!("1{}{:09}", 3 + rng.below(7), rng.below(1_000_000_000)),
            "temperature": (t * 10.0).round() / 10.0,
            "origin": rng.pick(REGIONS),
            "destination": "411224",
            "health_code": if fever { "yellow" } else { "green" },
        })]
    } else {
        vec![]
    };
    let outcome = if fever {
        "referred_to_hospital"
    } else if rng.one_in(40) {
        "turned_back"
    } else if truck && rng.one_in(3) {
        "released_disinfected"
    } else {
        "released"
    };
    let cargo = if truck {
        *rng.pick(&[
            "production_materials",
            "production_materials",
            "living_supplies",
            "medical_supplies",
            "agricultural_inputs",
        ])
    } else {
        "none"
    };
    const CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    let plate = if walker {
        "none".to_owned()
    } else {
        let tail: String = (0..5).map(|_| *rng.pick(CHARS) as char).collect();
        format!("{}{tail}", rng.pick(PREFIXES))
    };
    let vehicle = if walker {
        "other"
    } else if truck {
        "truck"
    } else {
        *rng.pick(&["car", "car", "car", "van", "bus"])
    };
    json!({
        "id": uuid::Uuid::now_v7().to_string(),
        "occurred_us": occurred_us,
        "direction": if rng.one_in(2) { "in" } else { "out" },
        "plate": plate,
        "vehicle_type": vehicle,
        "people_count": people_count.max(people.len() as i64),
        "people": people,
        "cargo": cargo,
        "outcome": outcome,
    })
}

/// What the API makes of a screening's JSON.
fn parsed(v: Value, now: i64) -> anyhow::Result<NewScreening> {
    let input: ScreeningInput = serde_json::from_value(v)?;
    input.parse(now, UTC_OFFSET_HOURS).map_err(|e| anyhow::anyhow!("invalid generated screening: {e:?}"))
}

/// `n` screenings of the last hour, as JSON.
fn recent_rows(rng: &mut Rng, n: usize) -> Vec<Value> {
    let now = now_us();
    (0..n)
        .map(|_| {
            let at = now - rng.below(HOUR_US as u64) as i64;
            screening_json(rng, at)
        })
        .collect()
}

/// A batch body: the template's rows, each with a fresh UUIDv7.
fn batch_body(template: &mut [Value]) -> Bytes {
    for row in template.iter_mut() {
        row["id"] = Value::String(uuid::Uuid::now_v7().to_string());
    }
    Bytes::from(serde_json::to_vec(&json!({ "screenings": template })).expect("JSON"))
}

fn flags(s: &NewScreening) -> i64 {
    s.incidents.iter().fold(0, |f, (kind, _)| {
        f | match kind {
            IncidentKind::Fever => 1,
            IncidentKind::RedCode => 2,
            _ => 0,
        }
    })
}

// --------------------------------------------------------------- ingest ----

fn ingest(
    server_rt: &Runtime,
    load_rt: &Runtime,
    args: &ScreeningsArgs,
    env: &Env,
    db: Db,
    rows: &mut Vec<TableRow>,
) -> anyhow::Result<()> {
    eprintln!("{}: (1a) batch ingest through the API …", db.name());
    let pool = env.store.pool().clone();
    let before = server_rt.block_on(count(&pool, "SELECT COUNT(*) FROM screenings"))?;
    let w = Window::new(args.warmup, args.seconds);
    let (addr, bearer, posts, batch) = (env.addr, env.fixture.bearer(), env.fixture.posts.clone(), args.batch);
    let api = drive(load_rt, args.batch_clients, w, |i| {
        let (bearer, post) = (bearer.clone(), posts[i % posts.len()]);
        async move {
            let mut rng = Rng::new(i as u64 + 11);
            let mut template = recent_rows(&mut rng, batch);
            let mut tally = Tally::with_units(batch as u64);
            let mut conn = Conn::new(addr, bearer);
            let uri = format!("/api/v1/checkpoints/{}/screenings/batch", post.0);
            while !w.over() {
                let body = batch_body(&mut template);
                let started = Instant::now();
                match conn.send(Method::POST, &uri, Some(body)).await {
                    Ok((StatusCode::CREATED, _)) => tally.record(&w, started, true),
                    Ok((status, b)) => tally.fail(&w, started, || format!("{status} {}", String::from_utf8_lossy(&b))),
                    Err(e) => tally.fail(&w, started, || e.to_string()),
                }
            }
            anyhow::Ok(tally)
        }
    })?;
    let after = server_rt.block_on(count(&pool, "SELECT COUNT(*) FROM screenings"))?;
    let (acked, stored) = (api.units_total, after - before);
    let api_rate = api.rate;
    rows.push(TableRow {
        label: format!(
            "(1a) API `POST …/screenings/batch`, {batch} rows per request, {} clients (screenings, people, \
             incidents, events, hourly and daily rollups)",
            args.batch_clients
        ),
        unit: "rows/s",
        r: api,
    });

    eprintln!("{}: (1b) raw batched insert …", db.name());
    let scope: String = server_rt.block_on(async {
        let row = sqlx::query("SELECT scope FROM checkpoints WHERE id = $1").bind(posts[0].0).fetch_one(&pool).await?;
        anyhow::Ok(row.try_get::<String, _>("scope")?)
    })?;
    let fx = env.fixture.clone();
    let url = match db {
        Db::Sqlite => None,
        Db::Postgres => Some(env.state.config.database_url.clone()),
    };
    // SQLite: one run per statement size; PostgreSQL: one COPY run.
    let sizes = match db {
        Db::Sqlite => args.raw_statement_rows.clone(),
        Db::Postgres => vec![batch],
    };
    let mut raw_rate: f64 = 0.0;
    for per_statement in sizes {
        let raw_w = Window::new(args.warmup.min(1.0), args.seconds);
        let raw = drive(server_rt, 1, raw_w, |_| {
            raw_client(pool.clone(), url.clone(), batch, per_statement, fx.clone(), scope.clone(), raw_w)
        })?;
        raw_rate = raw_rate.max(raw.rate);
        rows.push(TableRow {
            label: match db {
                Db::Sqlite => format!(
                    "(1b) raw: the same columns into the same `screenings` table, {batch} rows per transaction as \
                     multi-row `INSERT … VALUES` of {per_statement} rows (`?` placeholders), synchronous=FULL, 1 client"
                ),
                Db::Postgres => format!(
                    "(1b) raw: the same columns into the same `screenings` table, `COPY … FROM STDIN` of {batch} rows \
                     (text format) on a native `PgPool`, 1 client"
                ),
            },
            unit: "rows/s",
            r: raw,
        });
    }
    let ratio = api_rate / raw_rate.max(1.0);
    println!(
        "**(1a)/(1b, the faster) = {ratio:.3}** — target ≥ {INGEST_TARGET}: **{}**. Acknowledged = stored: {} rows in 201 \
         batches, {stored} rows added during (1a): **{}**.\n",
        if ratio >= INGEST_TARGET { "met" } else { "not met" },
        acked,
        if acked as i64 == stored { "equal" } else { "NOT EQUAL" }
    );
    Ok(())
}

const SCREENING_COLS: &str = "id, checkpoint_id, scope, occurred_us, recorded_us, officer_id, direction, plate, \
                              vehicle_type, people_count, cargo, pass_number, outcome, note, flags";

/// Inserts batches of screenings straight into `screenings`, one task,
/// until the window ends: SQLite through the store's pool, PostgreSQL with
/// `COPY` on a native pool opened on `pg_url`.
async fn raw_client(
    pool: AnyPool,
    pg_url: Option<String>,
    batch: usize,
    per_statement: usize,
    fx: Fixture,
    scope: String,
    w: Window,
) -> anyhow::Result<Tally> {
    let mut rng = Rng::new(977);
    let now = now_us();
    let mut template: Vec<NewScreening> =
        recent_rows(&mut rng, batch).into_iter().map(|v| parsed(v, now)).collect::<anyhow::Result<_>>()?;
    let mut tally = Tally::with_units(batch as u64);
    let cp = fx.posts[0].0;
    let officer = fx.user.0;
    if let Some(url) = pg_url {
        let pg = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&url).await?;
        let mut conn = pg.acquire().await?;
        let copy_sql = format!("COPY screenings ({SCREENING_COLS}) FROM STDIN");
        let mut buf = String::with_capacity(batch * 200);
        while !w.over() {
            let started = Instant::now();
            buf.clear();
            let recorded = now_us();
            for s in template.iter_mut() {
                s.id = RecordId::new_v7();
                let opt = |v: &Option<String>| v.as_deref().map_or_else(|| "\\N".to_owned(), copy_text);
                buf.push_str(&format!(
                    "{}\t{cp}\t{}\t{}\t{recorded}\t{officer}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                    s.id,
                    copy_text(&scope),
                    s.occurred_us,
                    s.direction.as_str(),
                    opt(&s.plate),
                    s.vehicle_type.as_str(),
                    s.people_count,
                    s.cargo.as_str(),
                    opt(&s.pass_number),
                    s.outcome.as_str(),
                    copy_text(&s.note),
                    flags(s)
                ));
            }
            let mut copy = conn.copy_in_raw(&copy_sql).await?;
            copy.send(buf.as_bytes()).await?;
            copy.finish().await?;
            tally.record(&w, started, true);
        }
        return Ok(tally);
    }
    let chunk = per_statement.clamp(1, 500);
    let sql = |n: usize| {
        format!(
            "INSERT INTO screenings ({SCREENING_COLS}) VALUES {}",
            vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; n].join(", ")
        )
    };
    let full = sql(chunk.min(batch));
    let tail = sql((batch % chunk).max(1));
    while !w.over() {
        let started = Instant::now();
        let recorded = now_us();
        for s in template.iter_mut() {
            s.id = RecordId::new_v7();
        }
        let mut tx = pool.begin().await?;
        for rows in template.chunks(chunk) {
            let mut q = sqlx::query(if rows.len() == chunk.min(batch) { &full } else { &tail });
            for s in rows {
                q = q
                    .bind(s.id.to_string())
                    .bind(cp)
                    .bind(scope.as_str())
                    .bind(s.occurred_us)
                    .bind(recorded)
                    .bind(officer)
                    .bind(s.direction.as_str())
                    .bind(s.plate.as_deref())
                    .bind(s.vehicle_type.as_str())
                    .bind(s.people_count)
                    .bind(s.cargo.as_str())
                    .bind(s.pass_number.as_deref())
                    .bind(s.outcome.as_str())
                    .bind(s.note.as_str())
                    .bind(flags(s));
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        tally.record(&w, started, true);
    }
    Ok(tally)
}

/// Text escaped for `COPY … FROM STDIN` (text format).
fn copy_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

// --------------------------------------------------------------- single ----

/// Parses the body the API takes and answers 201, with no I/O.
async fn bare_create(
    UrlPath(id): UrlPath<i64>,
    axum::Json(s): axum::Json<ScreeningInput>,
) -> (StatusCode, axum::Json<Value>) {
    let now = now_us();
    let view = json!({ "id": s.id, "checkpoint_id": id, "occurred_us": s.occurred_us.unwrap_or(now),
                       "recorded_us": now, "direction": s.direction, "plate": s.plate, "outcome": s.outcome,
                       "masked": true, "people": [] });
    (StatusCode::CREATED, axum::Json(view))
}

fn bare_phase(server_rt: &Runtime, load_rt: &Runtime, args: &ScreeningsArgs) -> anyhow::Result<PhaseResult> {
    let router = Router::new().route("/api/v1/checkpoints/{id}/screenings", post(bare_create));
    let bearer = format!("Bearer sw_{}", random_token());
    let w = Window::new(args.warmup, args.seconds);
    let lag = lag_us(args);
    drive_router(server_rt, load_rt, router, args.clients, w, |addr, i| {
        single_client(addr, bearer.clone(), CheckpointId(1), i, lag, w)
    })
}

/// `--single-lag-seconds` in µs (at least 1).
fn lag_us(args: &ScreeningsArgs) -> u64 {
    ((args.single_lag_seconds * 1e6) as u64).max(1)
}

/// One client: single screenings, one after another, on one connection,
/// each logged up to `lag_us` before it is sent.
async fn single_client(
    addr: SocketAddr,
    bearer: String,
    post: CheckpointId,
    i: usize,
    lag_us: u64,
    w: Window,
) -> anyhow::Result<Tally> {
    let mut rng = Rng::new(i as u64 + 5000);
    let mut template = recent_rows(&mut rng, 16);
    let mut tally = Tally::with_units(1);
    let mut conn = Conn::new(addr, bearer);
    let uri = format!("/api/v1/checkpoints/{}/screenings", post.0);
    let mut k = 0;
    while !w.over() {
        let row = &mut template[k % 16];
        k += 1;
        row["id"] = Value::String(uuid::Uuid::now_v7().to_string());
        row["occurred_us"] = Value::from(now_us() - rng.below(lag_us) as i64);
        let body = Bytes::from(serde_json::to_vec(row)?);
        let started = Instant::now();
        match conn.send(Method::POST, &uri, Some(body)).await {
            Ok((StatusCode::CREATED, _)) => tally.record(&w, started, true),
            Ok((status, b)) => tally.fail(&w, started, || format!("{status} {}", String::from_utf8_lossy(&b))),
            Err(e) => tally.fail(&w, started, || e.to_string()),
        }
    }
    Ok(tally)
}

fn single(
    server_rt: &Runtime,
    load_rt: &Runtime,
    args: &ScreeningsArgs,
    env: &Env,
    bare: Option<f64>,
    rows: &mut Vec<TableRow>,
) -> anyhow::Result<()> {
    let db = if env.state.config.database_url.starts_with("sqlite") { Db::Sqlite } else { Db::Postgres };
    eprintln!("{}: (2b) single creates through the API …", db.name());
    let pool = env.store.pool().clone();
    let before = server_rt.block_on(count(&pool, "SELECT COUNT(*) FROM screenings"))?;
    let w = Window::new(args.warmup, args.seconds);
    let (addr, bearer, posts) = (env.addr, env.fixture.bearer(), env.fixture.posts.clone());
    let lag = lag_us(args);
    let r =
        drive(load_rt, args.clients, w, |i| single_client(addr, bearer.clone(), posts[i % posts.len()], i, lag, w))?;
    let after = server_rt.block_on(count(&pool, "SELECT COUNT(*) FROM screenings"))?;
    let (acked, stored) = (r.units_total, after - before);
    let rate = r.rate;
    rows.push(TableRow {
        label: format!("(2b) API `POST …/screenings`, one screening per request, {} clients", args.clients),
        unit: "req/s",
        r,
    });
    if let Some(bare) = bare {
        let ratio = rate / bare.max(1.0);
        println!(
            "**(2b)/(2a) = {ratio:.3}** — target ≥ {SINGLE_TARGET}: **{}**.",
            if ratio >= SINGLE_TARGET { "met" } else { "not met" }
        );
    }
    println!(
        "Acknowledged = stored (2b): {acked} responses 201, {stored} rows added: **{}**.\n",
        if acked as i64 == stored { "equal" } else { "NOT EQUAL" }
    );
    Ok(())
}

// ---------------------------------------------------------------- stats ----

/// The start, in UTC µs, of the local day holding `us`.
fn local_day(us: i64) -> i64 {
    let offset = i64::from(UTC_OFFSET_HOURS) * HOUR_US;
    (us + offset).div_euclid(DAY_US) * DAY_US - offset
}

fn stats(server_rt: &Runtime, load_rt: &Runtime, args: &ScreeningsArgs, target: &Target) -> anyhow::Result<()> {
    let db = target.db();
    let env = Env::start(server_rt, target, args.posts)?;
    let pool = env.store.pool().clone();
    let have = server_rt.block_on(count(&pool, "SELECT COUNT(*) FROM screenings"))?;
    // A year of local days ending today.
    let today = local_day(now_us());
    let first_day = today - 365 * DAY_US;
    let year_end = now_us() - HOUR_US;
    if have >= args.rows as i64 {
        println!("Reusing {} with {have} screenings (no fill).\n", target.url());
    } else {
        let fill_rows = args.rows - have as u64;
        fill(load_rt, args, &env, first_day, year_end, fill_rows, db)?;
    }
    if db == Db::Postgres {
        // What autovacuum does a minute after a big fill (this machine's
        // PostgreSQL runs with it off): without statistics, the planner
        // takes a post's half a million rows for a hundred, and sorts them.
        server_rt.block_on(sqlx::query("ANALYZE").execute(&pool))?;
    }
    let total = server_rt.block_on(count(&pool, "SELECT COUNT(*) FROM screenings"))?;
    let days = server_rt.block_on(count(&pool, "SELECT COUNT(*) FROM screening_days"))?;
    let hours = server_rt.block_on(count(&pool, "SELECT COUNT(*) FROM screening_hours"))?;
    println!(
        "Statistics database: {total} screenings over {} posts; rollups: {days} rows in `screening_days`, \
         {hours} in `screening_hours`.\n",
        env.fixture.posts.len()
    );

    // Plates seen in the last four weeks (personal data is kept that long),
    // for the plate searches.
    let recent_from = now_us() - 28 * DAY_US;
    let plates: Vec<String> = server_rt.block_on(async {
        let rows = sqlx::query(
            "SELECT plate FROM screenings WHERE occurred_us >= $1 AND plate IS NOT NULL ORDER BY occurred_us LIMIT 1000",
        )
        .bind(recent_from)
        .fetch_all(&pool)
        .await?;
        rows.iter().map(|r| r.try_get::<String, _>("plate")).collect::<Result<Vec<_>, _>>()
    })?;
    anyhow::ensure!(!plates.is_empty(), "no plate in the last four weeks to search for");

    // The queries, one client on one keep-alive connection, one after another.
    let posts = env.fixture.posts.clone();
    let (addr, bearer) = (env.addr, env.fixture.bearer());
    let budget = Duration::from_secs_f64(args.query_seconds);
    let n = args.queries;
    let run_kind = |kind: u8| -> anyhow::Result<QueryRun> {
        let (posts, bearer, plates) = (posts.clone(), bearer.clone(), &plates);
        load_rt.block_on(async move {
            let mut rng = Rng::new(u64::from(kind) * 31 + 7);
            let mut conn = Conn::new(addr, bearer);
            let mut lat = Vec::with_capacity(n);
            let mut answered_rows = 0usize;
            let mut screenings_seen = 0i64;
            let cpu0 = CpuSnapshot::take();
            let t0 = Instant::now();
            while lat.len() < n && t0.elapsed() < budget {
                let post = rng.pick(&posts).0;
                let uri = match kind {
                    0 => {
                        let len = 1 + rng.below(31) as i64;
                        let from = first_day + rng.below((365 - len) as u64) as i64 * DAY_US;
                        format!(
                            "/api/v1/screenings/stats?checkpoint_id={post}&from_us={from}&to_us={}&grain=day",
                            from + len * DAY_US
                        )
                    }
                    1 => {
                        let from = first_day + rng.below(364) as i64 * DAY_US;
                        format!(
                            "/api/v1/screenings/stats?checkpoint_id={post}&from_us={from}&to_us={}&grain=hour",
                            from + DAY_US
                        )
                    }
                    2 => "/api/v1/screenings/stats?grain=total".to_owned(),
                    3 => "/api/v1/screenings?limit=50".to_owned(),
                    4 => format!("/api/v1/screenings?checkpoint_id={post}&limit=50"),
                    _ => format!(
                        "/api/v1/screenings?plate={}&from_us={recent_from}&limit=50",
                        percent_encoded(&plates[rng.below(plates.len() as u64) as usize])
                    ),
                };
                let started = Instant::now();
                let (status, body) = conn.send(Method::GET, &uri, None).await?;
                let took = started.elapsed();
                anyhow::ensure!(status == StatusCode::OK, "{uri}: {status} {}", String::from_utf8_lossy(&body));
                let answer: Vec<Value> = serde_json::from_slice(&body)?;
                answered_rows += answer.len();
                if kind == 2 {
                    screenings_seen = answer.iter().filter_map(|r| r["screenings"].as_i64()).sum();
                }
                lat.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
            }
            let secs = t0.elapsed().as_secs_f64();
            let cpu = cpu0.until(&CpuSnapshot::take(), secs);
            let count = lat.len();
            lat.sort_unstable();
            anyhow::Ok(QueryRun {
                count,
                p50: percentile_ms(&lat, 50),
                p99: percentile_ms(&lat, 99),
                max: percentile_ms(&lat, 100),
                mean_rows: answered_rows as f64 / count.max(1) as f64,
                screenings_seen,
                other: (cpu.machine - (cpu.server + cpu.sqlite + cpu.load + cpu.other)).max(0.0) + cpu.steal,
            })
        })
    };
    eprintln!("{}: statistics queries …", db.name());
    let a = run_kind(0)?;
    let b = run_kind(1)?;
    let c = run_kind(2)?;
    eprintln!("{}: screening lists …", db.name());
    let d = run_kind(3)?;
    let e = run_kind(4)?;
    let f = run_kind(5)?;

    eprintln!("{}: reference GROUP BY over `screenings` …", db.name());
    let cpu0 = CpuSnapshot::take();
    let started = Instant::now();
    let reference = server_rt.block_on(async {
        let rows = sqlx::query(
            "SELECT checkpoint_id, direction, cargo, outcome, COUNT(*) AS n, CAST(SUM(people_count) AS BIGINT) AS p \
             FROM screenings GROUP BY checkpoint_id, direction, cargo, outcome",
        )
        .fetch_all(&pool)
        .await?;
        let mut n = 0i64;
        for r in &rows {
            n += r.try_get::<i64, _>("n")?;
        }
        anyhow::Ok((rows.len(), n))
    })?;
    let ref_ms = started.elapsed().as_secs_f64() * 1e3;
    let cpu = cpu0.until(&CpuSnapshot::take(), ref_ms / 1e3);
    let ref_other = (cpu.machine - (cpu.server + cpu.sqlite + cpu.load + cpu.other)).max(0.0) + cpu.steal;

    println!(
        "| {} at {total} screenings | queries | p50 | p99 | max | rows per answer | target (p99) | other processes |",
        db.name()
    );
    println!("|---|---:|---:|---:|---:|---:|---|---:|");
    let line = |label: &str, q: &QueryRun, target: f64| {
        println!(
            "| {label} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.0} | ≤ {target} ms: **{}** | {:.2} |",
            q.count,
            q.p50,
            q.p99,
            q.max,
            q.mean_rows,
            if q.p99 <= target { "met" } else { "not met" },
            q.other
        );
    };
    line("(3a) one post, a random range of 1–31 days, grain day", &a, RANGE_TARGET_MS);
    line("(3b) one post, one day, grain hour", &b, RANGE_TARGET_MS);
    line("(3c) all posts, all history, grain total", &c, TOTAL_TARGET_MS);
    line("(3d) list: the county's newest 50 (`GET /api/v1/screenings?limit=50`)", &d, RANGE_TARGET_MS);
    line("(3e) list: one post's newest 50", &e, RANGE_TARGET_MS);
    line("(3f) search: one plate seen in the last four weeks, newest 50", &f, RANGE_TARGET_MS);
    println!(
        "| reference: `SELECT … COUNT(*), SUM(people_count) FROM screenings GROUP BY checkpoint_id, direction, \
         cargo, outcome`, once, on the store's pool | 1 | {ref_ms:.0} ms | | | {} | | {ref_other:.2} |",
        reference.0
    );
    println!(
        "\nTotals agree: (3c) counted {} screenings, the `GROUP BY` {} (rows in the table {total}): **{}**.\n",
        c.screenings_seen,
        reference.1,
        if c.screenings_seen == reference.1 { "equal" } else { "NOT EQUAL" }
    );
    env.stop(server_rt)?;
    Ok(())
}

/// `text` for a URL's query string: every byte but ASCII letters and digits
/// as `%XX`.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// What one kind of statistics query did.
struct QueryRun {
    count: usize,
    p50: f64,
    p99: f64,
    max: f64,
    mean_rows: f64,
    screenings_seen: i64,
    other: f64,
}

/// Writes `rows` screenings through the writer as `RecordScreenings`
/// batches of `--batch`: post by post in turn, each post's batches covering
/// the year in order (1000 screenings cover about 17 hours of one post at
/// 10M over 20 posts), as phones syncing their day would.
fn fill(
    load_rt: &Runtime,
    args: &ScreeningsArgs,
    env: &Env,
    from_us: i64,
    until_us: i64,
    rows: u64,
    db: Db,
) -> anyhow::Result<()> {
    let batch = args.batch as u64;
    let posts = env.fixture.posts.clone();
    let per_post_batches = rows.div_ceil(batch).div_ceil(posts.len() as u64).max(1);
    let total_batches = rows.div_ceil(batch);
    let span = (until_us - from_us) / per_post_batches as i64;
    let next = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicU64::new(0));
    eprintln!(
        "{}: filling {rows} screenings through the writer: {total_batches} batches of {batch}, {} posts, {} tasks …",
        db.name(),
        posts.len(),
        args.fill_tasks
    );
    let started = Instant::now();
    let cpu0 = CpuSnapshot::take();
    let handles: Vec<_> = (0..args.fill_tasks)
        .map(|t| {
            let (next, done, posts, state, actor) =
                (next.clone(), done.clone(), posts.clone(), env.state.clone(), env.fixture.actor());
            load_rt.spawn(async move {
                let mut rng = Rng::new(t as u64 + 90_001);
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= total_batches {
                        return anyhow::Ok(());
                    }
                    let post = posts[(k % posts.len() as u64) as usize];
                    let slot = (k / posts.len() as u64) as i64;
                    let n = batch.min(rows - k * batch);
                    let start = from_us + slot * span;
                    let mut times: Vec<i64> = (0..n).map(|_| start + rng.below(span as u64) as i64).collect();
                    times.sort_unstable();
                    let now = now_us();
                    let screenings: Vec<NewScreening> = times
                        .into_iter()
                        .map(|at| parsed(screening_json(&mut rng, at), now))
                        .collect::<anyhow::Result<_>>()?;
                    let command = Command::RecordScreenings { checkpoint: post, screenings };
                    state.writer.submit(actor.clone(), command).await?.outcome.into_screenings()?;
                    done.fetch_add(n, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let mut last = Instant::now();
    while handles.iter().any(|h| !h.is_finished()) {
        std::thread::sleep(Duration::from_millis(200));
        if last.elapsed() >= Duration::from_secs(10) {
            last = Instant::now();
            let d = done.load(Ordering::Relaxed);
            let secs = started.elapsed().as_secs_f64();
            let rate = d as f64 / secs;
            eprintln!(
                "  {d} / {rows} screenings, {secs:.0} s, {rate:.0} rows/s, about {:.0} s to go",
                (rows - d) as f64 / rate.max(1.0)
            );
        }
    }
    load_rt.block_on(async {
        for h in handles {
            h.await??;
        }
        anyhow::Ok(())
    })?;
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu0.until(&CpuSnapshot::take(), secs);
    println!(
        "Fill: {rows} screenings through the writer (`RecordScreenings`, {batch} per command, {} tasks) in {secs:.0} \
         s: **{:.0} rows/s**; CPU cores: server {:.2} · SQLite threads {:.2} · generator {:.2} · other processes \
         {:.2}.\n",
        args.fill_tasks,
        rows as f64 / secs,
        cpu.server,
        cpu.sqlite,
        cpu.load,
        (cpu.machine - (cpu.server + cpu.sqlite + cpu.load + cpu.other)).max(0.0) + cpu.steal
    );
    Ok(())
}
