//! Shouwang's SFU in a process of its own, so that its CPU time and memory
//! are read from `/proc/<pid>` exactly as Janus's are, with nothing of the
//! clients mixed in.
//!
//! The bench binary re-runs itself as `sfu --serve-shouwang --host IP`: the
//! child starts [`Sfu`] on a single-threaded tokio runtime (the SFU is one
//! task, so it never uses more than one core anyway) and speaks JSON lines on
//! stdin/stdout, the signaling a real server would carry over WebSockets.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use shouwang_media::{MediaConfig, PeerKey, Sfu, SfuEvent};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

use super::client::Inbox;

/// From the bench to the SFU process.
#[derive(Debug, Serialize, Deserialize)]
enum Request {
    Join { room: String, peer: u64, sdp: String },
    Answer { peer: u64, sdp: String },
    Stats,
}

/// From the SFU process to the bench.
#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    Ready { addr: SocketAddr },
    Joined { peer: u64, result: Result<String, String> },
    Offer { peer: u64, sdp: String },
    Stats { packets_send_dropped: u64 },
}

/// The SFU's own counters, for the report.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerCounters {
    /// Datagrams not sent because the socket's send buffer was full.
    pub packets_send_dropped: u64,
}

/// The child's side: runs until stdin closes. `record`: the folder to
/// record every track to.
pub fn serve(host: IpAddr, record: Option<PathBuf>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async move {
        let mut config = MediaConfig::new(SocketAddr::new(host, 0));
        config.recordings = record;
        let (sfu, mut events) = Sfu::start(config).await?;
        say(&Reply::Ready { addr: sfu.local_addr() });
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        loop {
            tokio::select! {
                line = lines.next_line() => {
                    let Some(line) = line? else { break };
                    let request: Request = serde_json::from_str(&line)?;
                    let sfu = sfu.clone();
                    tokio::spawn(async move { on_request(&sfu, request).await });
                }
                event = events.recv() => match event {
                    Some(SfuEvent::Offer { peer, sdp }) => say(&Reply::Offer { peer: peer.0, sdp }),
                    Some(_) => {}
                    None => break,
                },
            }
        }
        sfu.shutdown().await;
        anyhow::Ok(())
    })
}

async fn on_request(sfu: &Sfu, request: Request) {
    match request {
        Request::Join { room, peer, sdp } => {
            let result = sfu.join(&room, PeerKey(peer), "bench", sdp).await.map_err(|e| e.to_string());
            say(&Reply::Joined { peer, result });
        }
        Request::Answer { peer, sdp } => {
            if let Err(e) = sfu.answer(PeerKey(peer), sdp).await {
                eprintln!("answer from {peer} refused: {e}");
            }
        }
        Request::Stats => {
            say(&Reply::Stats { packets_send_dropped: sfu.stats().packets_send_dropped });
        }
    }
}

fn say(reply: &Reply) {
    println!("{}", serde_json::to_string(reply).expect("replies serialise"));
}

type Waiting<T> = Arc<Mutex<HashMap<u64, oneshot::Sender<T>>>>;

/// The bench's side: the child process and its signaling.
pub struct ShouwangProcess {
    child: Child,
    requests: mpsc::UnboundedSender<Request>,
    joins: Waiting<Result<String, String>>,
    inboxes: Arc<Mutex<HashMap<u64, Inbox>>>,
    stats: Waiting<ServerCounters>,
}

impl ShouwangProcess {
    pub async fn spawn(host: IpAddr, record: Option<&Path>) -> anyhow::Result<ShouwangProcess> {
        let exe = std::env::current_exe()?;
        let mut command = Command::new(exe);
        command.args(["sfu", "--serve-shouwang", "--host", &host.to_string()]);
        if let Some(dir) = record {
            command.arg("--record").arg(dir);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the SFU process")?;
        let mut stdin = child.stdin.take().context("a piped stdin")?;
        let mut lines = BufReader::new(child.stdout.take().context("a piped stdout")?).lines();
        let first = lines.next_line().await?.context("the SFU process said nothing")?;
        let Reply::Ready { .. } = serde_json::from_str::<Reply>(&first)? else {
            anyhow::bail!("the SFU process started with {first}");
        };

        let (requests, mut request_rx) = mpsc::unbounded_channel::<Request>();
        tokio::spawn(async move {
            while let Some(request) = request_rx.recv().await {
                let mut line = serde_json::to_vec(&request).expect("requests serialise");
                line.push(b'\n');
                if stdin.write_all(&line).await.is_err() {
                    return;
                }
            }
        });

        let joins: Waiting<Result<String, String>> = Arc::default();
        let inboxes: Arc<Mutex<HashMap<u64, Inbox>>> = Arc::default();
        let stats: Waiting<ServerCounters> = Arc::default();
        let (j, i, s, r) = (Arc::clone(&joins), Arc::clone(&inboxes), Arc::clone(&stats), requests.clone());
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(reply) = serde_json::from_str::<Reply>(&line) else { continue };
                match reply {
                    Reply::Joined { peer, result } => {
                        if let Some(waiting) = j.lock().expect("not poisoned").remove(&peer) {
                            let _ = waiting.send(result);
                        }
                    }
                    Reply::Offer { peer, sdp } => {
                        let Some(inbox) = i.lock().expect("not poisoned").get(&peer).cloned() else { continue };
                        let r = r.clone();
                        tokio::spawn(async move {
                            if let Ok(sdp) = inbox.offer(sdp).await {
                                let _ = r.send(Request::Answer { peer, sdp });
                            }
                        });
                    }
                    Reply::Stats { packets_send_dropped } => {
                        if let Some(waiting) = s.lock().expect("not poisoned").remove(&0) {
                            let _ = waiting.send(ServerCounters { packets_send_dropped });
                        }
                    }
                    Reply::Ready { .. } => {}
                }
            }
        });
        Ok(ShouwangProcess { child, requests, joins, inboxes, stats })
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Joins `peer` to `room` with `offer`; later offers go to `inbox`.
    pub async fn join(&self, room: &str, peer: u64, offer: String, inbox: Inbox) -> anyhow::Result<String> {
        let (tx, rx) = oneshot::channel();
        self.joins.lock().expect("not poisoned").insert(peer, tx);
        self.inboxes.lock().expect("not poisoned").insert(peer, inbox);
        self.requests.send(Request::Join { room: room.to_owned(), peer, sdp: offer })?;
        rx.await.context("the SFU process stopped")?.map_err(|e| anyhow::anyhow!("join refused: {e}"))
    }

    pub async fn counters(&self) -> ServerCounters {
        let (tx, rx) = oneshot::channel();
        self.stats.lock().expect("not poisoned").insert(0, tx);
        let _ = self.requests.send(Request::Stats);
        rx.await.unwrap_or_default()
    }
}
