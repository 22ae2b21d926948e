//! The load generator: a fixed number of clients, each doing one operation
//! after another (a closed loop) until a deadline, and what they saw.
//!
//! Every phase runs for a warm-up and then a measured window. Only
//! operations that *complete* inside the window count towards the rate and
//! the latencies; every client stops starting new operations at the end of
//! the window and finishes the one in flight, so nothing is cut off and the
//! totals (used to check acknowledged = stored) cover the whole phase.

use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::runtime::Runtime;

use crate::sys::CpuSnapshot;
use crate::sys::CpuUse;

/// When a phase starts measuring and when it ends.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// The end of the warm-up.
    pub from: Instant,
    /// The end of the phase: no operation starts after it.
    pub until: Instant,
}

impl Window {
    /// A window that starts after `warmup` from now and lasts `secs`.
    pub fn new(warmup: f64, secs: f64) -> Self {
        let from = Instant::now() + Duration::from_secs_f64(warmup);
        Self { from, until: from + Duration::from_secs_f64(secs) }
    }

    /// Its length in seconds.
    pub fn secs(&self) -> f64 {
        (self.until - self.from).as_secs_f64()
    }

    /// Whether the phase is over (no new operation may start).
    pub fn over(&self) -> bool {
        Instant::now() >= self.until
    }
}

/// What one client saw.
#[derive(Debug, Default)]
pub struct Tally {
    /// Latencies of successful operations completed in the window, µs.
    pub lat_us: Vec<u32>,
    /// Successful operations completed in the window.
    pub ok: u64,
    /// Failed operations (wrong status, transport error) completed in the window.
    pub failed: u64,
    /// Successful operations over the whole phase, warm-up included.
    pub ok_total: u64,
    /// Failed operations over the whole phase.
    pub failed_total: u64,
    /// Units of work per successful operation (rows per transaction; 1 for requests).
    pub units_per_op: u64,
    /// The first failure seen, for the report.
    pub first_error: Option<String>,
}

impl Tally {
    /// A tally whose operations each count `units` (rows).
    pub fn with_units(units: u64) -> Self {
        Self { units_per_op: units, ..Self::default() }
    }

    /// Records an operation that started at `started` and has just ended.
    pub fn record(&mut self, w: &Window, started: Instant, ok: bool) {
        let done = Instant::now();
        let inside = done >= w.from && done < w.until;
        if ok {
            self.ok_total += 1;
            if inside {
                self.ok += 1;
                self.lat_us.push(u32::try_from((done - started).as_micros()).unwrap_or(u32::MAX));
            }
        } else {
            self.failed_total += 1;
            if inside {
                self.failed += 1;
            }
        }
    }

    /// Records a failure and keeps its first description.
    pub fn fail(&mut self, w: &Window, started: Instant, why: impl FnOnce() -> String) {
        if self.first_error.is_none() {
            self.first_error = Some(why());
        }
        self.record(w, started, false);
    }
}

/// A phase's result, summed over its clients.
#[derive(Debug, Default)]
pub struct PhaseResult {
    /// Successful operations per second in the window (× units per op).
    pub rate: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Failed operations in the window.
    pub failed: u64,
    /// Successful operations over the whole phase.
    pub ok_total: u64,
    /// Failed operations over the whole phase.
    pub failed_total: u64,
    /// Units stored by successful operations over the whole phase.
    pub units_total: u64,
    /// The first failure any client saw.
    pub first_error: Option<String>,
    /// CPU used during the window.
    pub cpu: CpuUse,
}

/// Runs `clients` copies of `client` on `rt` for the window, sampling CPU
/// at its edges from the calling (non-runtime) thread.
pub fn drive<F, Fut>(rt: &Runtime, clients: usize, w: Window, client: F) -> anyhow::Result<PhaseResult>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<Tally>> + Send + 'static,
{
    let handles: Vec<_> = (0..clients).map(|i| rt.spawn(client(i))).collect();
    std::thread::sleep(w.from.saturating_duration_since(Instant::now()));
    let before = CpuSnapshot::take();
    std::thread::sleep(w.until.saturating_duration_since(Instant::now()));
    let after = CpuSnapshot::take();
    let tallies = rt.block_on(async {
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(h.await??);
        }
        anyhow::Ok(out)
    })?;
    Ok(summarise(&tallies, w.secs(), before.until(&after, w.secs())))
}

/// Serves `router` (the bare-handler reference) on `server_rt` at a free
/// port on 127.0.0.1, drives it with [`drive`] (`client` gets the address
/// and its index), then stops it and waits for it to drain.
pub fn drive_router<F, Fut>(
    server_rt: &Runtime,
    load_rt: &Runtime,
    router: axum::Router,
    clients: usize,
    w: Window,
    client: F,
) -> anyhow::Result<PhaseResult>
where
    F: Fn(SocketAddr, usize) -> Fut,
    Fut: Future<Output = anyhow::Result<Tally>> + Send + 'static,
{
    let listener = server_rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = server_rt.spawn(async move {
        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    let result = drive(load_rt, clients, w, |i| client(addr, i))?;
    let _ = stop.send(());
    server_rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), serving).await })???;
    Ok(result)
}

/// Sums the clients' tallies.
pub fn summarise(tallies: &[Tally], secs: f64, cpu: CpuUse) -> PhaseResult {
    let mut lat: Vec<u32> = tallies.iter().flat_map(|t| t.lat_us.iter().copied()).collect();
    lat.sort_unstable();
    let units: u64 = tallies.iter().map(|t| t.ok * t.units_per_op.max(1)).sum();
    PhaseResult {
        rate: units as f64 / secs,
        p50_ms: percentile_ms(&lat, 50),
        p99_ms: percentile_ms(&lat, 99),
        failed: tallies.iter().map(|t| t.failed).sum(),
        ok_total: tallies.iter().map(|t| t.ok_total).sum(),
        failed_total: tallies.iter().map(|t| t.failed_total).sum(),
        units_total: tallies.iter().map(|t| t.ok_total * t.units_per_op.max(1)).sum(),
        first_error: tallies.iter().find_map(|t| t.first_error.clone()),
        cpu,
    }
}

/// The p-th percentile of sorted latencies, in ms.
pub fn percentile_ms(sorted_us: &[u32], p: usize) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    f64::from(sorted_us[(sorted_us.len() * p / 100).min(sorted_us.len() - 1)]) / 1e3
}

/// The text every request carries: a realistic duty-log line (81 bytes of UTF-8).
pub const ENTRY_BODY: &str = "城关镇巡查：主要路段畅通，两处积水已排除，无人员伤亡。";

/// The request body: a fresh UUIDv7 and the text.
pub fn entry_json() -> Bytes {
    let id = uuid::Uuid::now_v7().to_string();
    Bytes::from(serde_json::to_vec(&serde_json::json!({ "id": id, "body": ENTRY_BODY })).expect("JSON of strings"))
}

/// One HTTP client: its own keep-alive connection to `addr`, sequential
/// `POST /api/v1/duty-log` requests until the window ends. 201 is success.
/// A broken connection counts as a failure and is opened again.
pub async fn http_client(addr: SocketAddr, bearer: String, w: Window) -> anyhow::Result<Tally> {
    let mut tally = Tally::with_units(1);
    let mut conn: Option<SendRequest<Full<Bytes>>> = None;
    while !w.over() {
        let sender = match &mut conn {
            Some(s) => s,
            None => match connect(addr).await {
                Ok(s) => conn.insert(s),
                Err(_) => {
                    tally.record(&w, Instant::now(), false);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let req = Request::builder()
            .method(Method::POST)
            .uri("/api/v1/duty-log")
            .header(HOST, "127.0.0.1")
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, &bearer)
            .body(Full::new(entry_json()))?;
        let started = Instant::now();
        let outcome = async {
            sender.ready().await?;
            let res = sender.send_request(req).await?;
            let status = res.status();
            res.into_body().collect().await?;
            Ok::<_, hyper::Error>(status)
        }
        .await;
        match outcome {
            Ok(status) => tally.record(&w, started, status == StatusCode::CREATED),
            Err(_) => {
                tally.record(&w, started, false);
                conn = None;
            }
        }
    }
    Ok(tally)
}

/// One keep-alive HTTP/1.1 connection (`TCP_NODELAY`, no pool).
pub struct Conn {
    addr: SocketAddr,
    bearer: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    /// A connection to `addr` that sends `bearer` as its `Authorization`.
    pub fn new(addr: SocketAddr, bearer: String) -> Self {
        Self { addr, bearer, sender: None }
    }

    /// Sends one request and reads the whole answer. A broken connection is
    /// dropped (and opened again by the next request).
    pub async fn send(
        &mut self,
        method: Method,
        uri: &str,
        body: Option<Bytes>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        if self.sender.is_none() {
            self.sender = Some(connect(self.addr).await?);
        }
        let sender = self.sender.as_mut().expect("just connected");
        let mut req = Request::builder().method(method).uri(uri).header(HOST, "127.0.0.1");
        req = req.header(AUTHORIZATION, &self.bearer);
        if body.is_some() {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        let req = req.body(Full::new(body.unwrap_or_default()))?;
        let outcome = async {
            sender.ready().await?;
            let res = sender.send_request(req).await?;
            let status = res.status();
            let bytes = res.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, bytes))
        }
        .await;
        match outcome {
            Ok(done) => Ok(done),
            Err(e) => {
                self.sender = None;
                Err(e.into())
            }
        }
    }
}

async fn connect(addr: SocketAddr) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // Ends when the client drops its sender or the server closes.
        let _ = conn.await;
    });
    Ok(sender)
}
