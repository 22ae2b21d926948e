//! Plain UDP: the RTP feed Janus's mountpoint takes, and the reflector that
//! stands for the packet-forwarding limit of the machine.
//!
//! The reflector is the least any forwarder can do: one `recv_from` per
//! incoming datagram and one `send_to` per copy, no encryption, no RTP
//! handling, in a process of its own (`sfu --serve-reflector`). Its sinks
//! register by sending `subscribe` and tally the same frames the WebRTC
//! clients do, so loss and delay read the same.

use std::net::{IpAddr, SocketAddr, UdpSocket as StdUdpSocket};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::UdpSocket;
use tokio::process::{Child, Command as Process};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::client::{Client, Command, Counted, Schedule, Tally};

/// RTP header (12 bytes) and VP8 payload descriptor (1 byte, start of
/// partition), before the frame.
const RTP_OVERHEAD: usize = 13;
const SUBSCRIBE: &[u8] = b"subscribe";

/// Sends the schedule's frames as RTP to `to` until dropped.
pub struct RtpFeed(JoinHandle<()>);

impl RtpFeed {
    pub async fn start(host: IpAddr, to: SocketAddr, schedule: Schedule) -> anyhow::Result<RtpFeed> {
        let socket = UdpSocket::bind(SocketAddr::new(host, 0)).await?;
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_millis(1));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let mut k = schedule.next_at(Instant::now());
            let mut packet = Vec::with_capacity(RTP_OVERHEAD + schedule.frame_bytes);
            loop {
                ticks.tick().await;
                let now = Instant::now();
                while schedule.due(k) <= now {
                    packet.clear();
                    packet.extend_from_slice(&[0x80, 0x80 | 96]);
                    packet.extend_from_slice(&(k as u16).to_be_bytes());
                    packet.extend_from_slice(&((k * 90_000 / u64::from(schedule.rate)) as u32).to_be_bytes());
                    packet.extend_from_slice(&0x5348_5757_u32.to_be_bytes());
                    packet.push(0x10);
                    packet.extend_from_slice(&schedule.frame(k));
                    let _ = socket.send_to(&packet, to).await;
                    k += 1;
                }
            }
        });
        Ok(RtpFeed(task))
    }
}

impl Drop for RtpFeed {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The child's side of the reflector: runs until stdin closes.
pub fn serve_reflector(host: IpAddr) -> anyhow::Result<()> {
    let socket = StdUdpSocket::bind(SocketAddr::new(host, 0))?;
    println!("{}", socket.local_addr()?);
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let mut sinks: Vec<SocketAddr> = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        let (n, from) = socket.recv_from(&mut buf)?;
        if &buf[..n] == SUBSCRIBE {
            if !sinks.contains(&from) {
                sinks.push(from);
            }
            continue;
        }
        for sink in &sinks {
            let _ = socket.send_to(&buf[..n], sink);
        }
    }
}

/// The bench's side: the reflector process.
pub struct Reflector {
    child: Child,
    pub addr: SocketAddr,
}

impl Reflector {
    pub async fn spawn(host: IpAddr) -> anyhow::Result<Reflector> {
        let mut child = Process::new(std::env::current_exe()?)
            .args(["sfu", "--serve-reflector", "--host", &host.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the reflector process")?;
        let mut lines = BufReader::new(child.stdout.take().context("a piped stdout")?).lines();
        let addr = lines.next_line().await?.context("the reflector said nothing")?.parse()?;
        Ok(Reflector { child, addr })
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// A sink of every datagram the reflector forwards.
    pub async fn subscribe(&self, host: IpAddr, schedule: Schedule, counted: Arc<Counted>) -> anyhow::Result<Client> {
        let socket = UdpSocket::bind(SocketAddr::new(host, 0)).await?;
        socket.send_to(SUBSCRIBE, self.addr).await?;
        let (commands, mut command_rx) = mpsc::unbounded_channel();
        let mut tally = Tally::default();
        let flowing = Arc::clone(&tally.flowing);
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            loop {
                tokio::select! {
                    command = command_rx.recv() => match command {
                        Some(Command::Take { reply }) => { let _ = reply.send(tally.take()); }
                        Some(Command::Offer { .. }) => {}
                        Some(Command::Stop) | None => return,
                    },
                    readable = socket.readable() => {
                        if readable.is_err() {
                            return;
                        }
                        while let Ok((n, _)) = socket.try_recv_from(&mut buf) {
                            let read_at = Instant::now();
                            if let Some(frame) = buf[..n].get(RTP_OVERHEAD..) {
                                tally.frame(&schedule, &counted, frame, read_at);
                            }
                        }
                    }
                }
            }
        });
        Ok(Client::from_parts(commands, flowing))
    }
}
