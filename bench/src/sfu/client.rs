//! Light headless WebRTC clients: a str0m `Rtc` (full ICE, not lite) on a UDP
//! socket of its own, driven by one tokio task, as in the media crate's tests.
//!
//! A client may publish one VP8 video track, one frame per RTP packet at a
//! fixed rate, and receives whatever the server sends it. Every frame carries
//! its number on a schedule shared by all publishers of a run (frame `k` is
//! due at `epoch + k / rate`) and the time it was written, so a receiver can
//! tell loss from the numbers it saw inside a window of frame numbers, and the
//! delay from the time its socket was read. Publisher and receivers live in
//! this one process, so they share the clock.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{DatagramRecv, Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

/// Where a frame's number and send time sit: after a 10-byte VP8 keyframe
/// header (frame tag, start code, 640×480), so servers that look for
/// keyframes before forwarding to a new viewer find one in every frame.
const STAMP_AT: usize = 10;
const VP8_KEYFRAME_HEADER: [u8; STAMP_AT] = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];

/// The frame schedule every publisher of a run follows.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub epoch: Instant,
    /// Frames (= RTP packets) per second of each published stream.
    pub rate: u32,
    /// Bytes of each frame.
    pub frame_bytes: usize,
}

impl Schedule {
    /// When frame `k` is due.
    pub fn due(&self, k: u64) -> Instant {
        self.epoch + Duration::from_secs_f64(k as f64 / f64::from(self.rate.max(1)))
    }

    /// The first frame due at or after `at`.
    pub fn next_at(&self, at: Instant) -> u64 {
        (at.saturating_duration_since(self.epoch).as_secs_f64() * f64::from(self.rate)).ceil() as u64
    }

    /// Frame `k`, stamped as written now.
    pub fn frame(&self, k: u64) -> Vec<u8> {
        let mut frame = Vec::with_capacity(self.frame_bytes);
        frame.extend_from_slice(&VP8_KEYFRAME_HEADER);
        frame.extend_from_slice(&k.to_le_bytes());
        frame.extend_from_slice(&(self.epoch.elapsed().as_nanos() as u64).to_le_bytes());
        frame.resize(self.frame_bytes.max(STAMP_AT + 16), 0x42);
        frame
    }

    /// A frame's number and how long ago (at `read_at`) it was written, in µs.
    pub fn parse(&self, frame: &[u8], read_at: Instant) -> Option<(u64, u32)> {
        let k = u64::from_le_bytes(frame.get(STAMP_AT..STAMP_AT + 8)?.try_into().ok()?);
        let sent_ns = u64::from_le_bytes(frame.get(STAMP_AT + 8..STAMP_AT + 16)?.try_into().ok()?);
        let sent = self.epoch + Duration::from_nanos(sent_ns);
        Some((k, read_at.saturating_duration_since(sent).as_micros().min(u128::from(u32::MAX)) as u32))
    }
}

/// The frame numbers a measurement counts, `[from, until)`; shared by every
/// receiver of a run. Nothing counts until it is set.
#[derive(Debug)]
pub struct Counted {
    from: AtomicU64,
    until: AtomicU64,
}

impl Default for Counted {
    fn default() -> Self {
        Self { from: AtomicU64::new(u64::MAX), until: AtomicU64::new(u64::MAX) }
    }
}

impl Counted {
    pub fn set(&self, from: u64, until: u64) {
        self.until.store(until, Ordering::Relaxed);
        self.from.store(from, Ordering::Relaxed);
    }

    pub fn contains(&self, k: u64) -> bool {
        k >= self.from.load(Ordering::Relaxed) && k < self.until.load(Ordering::Relaxed)
    }
}

/// What one receiver got of the counted frames.
#[derive(Debug, Default)]
pub struct Received {
    pub frames: u64,
    /// Delay of each, µs: from being written by the publisher to being read
    /// off the receiver's socket.
    pub delay_us: Vec<u32>,
}

/// What a receiver does with a frame: shared by the WebRTC clients and the
/// plain UDP sinks of the reflector.
#[derive(Debug, Default)]
pub struct Tally {
    received: Received,
    /// Any frame at all arrived (the warm-up is over for this receiver).
    pub flowing: Arc<AtomicBool>,
    /// The connection is up (ICE and DTLS done); plain UDP sinks never are.
    pub connected: Arc<AtomicBool>,
}

impl Tally {
    pub fn frame(&mut self, schedule: &Schedule, counted: &Counted, frame: &[u8], read_at: Instant) {
        let Some((k, delay_us)) = schedule.parse(frame, read_at) else { return };
        self.flowing.store(true, Ordering::Relaxed);
        if counted.contains(k) {
            self.received.frames += 1;
            self.received.delay_us.push(delay_us);
        }
    }

    pub fn take(&mut self) -> Received {
        std::mem::take(&mut self.received)
    }
}

/// A client whose SDP exchange is under way.
pub struct Prepared {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    /// Our own offer, awaiting the server's answer.
    pending: Option<SdpPendingOffer>,
    /// The m-line we publish video on.
    video: Option<Mid>,
    commands: mpsc::UnboundedSender<Command>,
    command_rx: mpsc::UnboundedReceiver<Command>,
}

impl Prepared {
    /// A client that offers: `publish` makes it send video (`sendonly`),
    /// otherwise it only watches (one `recvonly` audio m-line, as the SFU asks
    /// of watchers).
    pub async fn offering(host: IpAddr, publish: bool) -> anyhow::Result<(Prepared, String)> {
        let mut prepared = Self::new(host).await?;
        let mut change = prepared.rtc.sdp_api();
        if publish {
            prepared.video = Some(change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None));
        } else {
            change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        }
        let (offer, pending) = change.apply().context("adding media needs an offer")?;
        prepared.pending = Some(pending);
        Ok((prepared, offer.to_sdp_string()))
    }

    /// A client that answers the server's offer (Janus offers to viewers).
    pub async fn answering(host: IpAddr, offer: &str) -> anyhow::Result<(Prepared, String)> {
        let mut prepared = Self::new(host).await?;
        let offer = SdpOffer::from_sdp_string(offer).context("the server's offer parses")?;
        let answer = prepared.rtc.sdp_api().accept_offer(offer).context("the server's offer is acceptable")?;
        Ok((prepared, answer.to_sdp_string()))
    }

    async fn new(host: IpAddr) -> anyhow::Result<Prepared> {
        let socket = UdpSocket::bind(SocketAddr::new(host, 0)).await?;
        let local = socket.local_addr()?;
        let mut rtc = RtcConfig::new().clear_codecs().enable_opus(true, false).enable_vp8(true).build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp")?);
        let (commands, command_rx) = mpsc::unbounded_channel();
        Ok(Prepared { rtc, socket, local, pending: None, video: None, commands, command_rx })
    }

    /// Where the server's later offers go, before the client runs (an offer
    /// may come as soon as it connects).
    pub fn inbox(&self) -> Inbox {
        Inbox(self.commands.clone())
    }

    /// Applies the server's answer to our offer, if we offered, and starts
    /// driving the connection, publishing on `schedule` if we offered video.
    pub fn start(mut self, answer: Option<&str>, schedule: Schedule, counted: Arc<Counted>) -> anyhow::Result<Client> {
        if let (Some(pending), Some(answer)) = (self.pending.take(), answer) {
            let answer = SdpAnswer::from_sdp_string(answer).context("the server's answer parses")?;
            self.rtc.sdp_api().accept_answer(pending, answer).context("the server's answer fits the offer")?;
        }
        let tally = Tally::default();
        let flowing = Arc::clone(&tally.flowing);
        let connected = Arc::clone(&tally.connected);
        let driven = Driven {
            rtc: self.rtc,
            socket: self.socket,
            local: self.local,
            video: self.video,
            schedule,
            counted,
            next_frame: None,
            tally,
        };
        tokio::spawn(driven.run(self.command_rx));
        Ok(Client { commands: self.commands, flowing, connected })
    }
}

/// Hands a client the server's offers.
#[derive(Clone)]
pub struct Inbox(mpsc::UnboundedSender<Command>);

impl Inbox {
    /// The client's answer to `offer`.
    pub async fn offer(&self, sdp: String) -> anyhow::Result<String> {
        let (reply, answer) = oneshot::channel();
        self.0.send(Command::Offer { sdp, reply }).map_err(|_| anyhow::anyhow!("the client stopped"))?;
        answer.await.context("the client stopped")?
    }
}

/// A running client.
pub struct Client {
    commands: mpsc::UnboundedSender<Command>,
    flowing: Arc<AtomicBool>,
    connected: Arc<AtomicBool>,
}

impl Client {
    /// A receiver driven by a task of its own that answers [`Command`]s.
    pub fn from_parts(commands: mpsc::UnboundedSender<Command>, flowing: Arc<AtomicBool>) -> Client {
        Client { commands, flowing, connected: Arc::default() }
    }

    /// Whether its WebRTC connection is up.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Whether any frame has arrived yet.
    pub fn flowing(&self) -> bool {
        self.flowing.load(Ordering::Relaxed)
    }

    /// What it received of the counted frames so far.
    pub async fn take(&self) -> Received {
        let (reply, received) = oneshot::channel();
        let _ = self.commands.send(Command::Take { reply });
        received.await.unwrap_or_default()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Stop);
    }
}

pub enum Command {
    Offer { sdp: String, reply: oneshot::Sender<anyhow::Result<String>> },
    Take { reply: oneshot::Sender<Received> },
    Stop,
}

/// The client's task state.
struct Driven {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    video: Option<Mid>,
    schedule: Schedule,
    counted: Arc<Counted>,
    /// The next frame to publish, once connected.
    next_frame: Option<u64>,
    tally: Tally,
}

impl Driven {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut buf = vec![0u8; 2048];
        let mut ticks = tokio::time::interval(Duration::from_millis(1));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut timeout = self.drain();
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Offer { sdp, reply }) => {
                        let answer = self.accept_offer(&sdp);
                        timeout = self.drain();
                        let _ = reply.send(answer);
                    }
                    Some(Command::Take { reply }) => {
                        let _ = reply.send(self.tally.take());
                    }
                    Some(Command::Stop) | None => return,
                },
                readable = self.socket.readable() => {
                    if readable.is_err() {
                        return;
                    }
                    while let Ok((n, source)) = self.socket.try_recv_from(&mut buf) {
                        let Ok(contents) = DatagramRecv::try_from(&buf[..n]) else { continue };
                        let input = Input::Receive(Instant::now(), Receive {
                            proto: Protocol::Udp,
                            source,
                            destination: self.local,
                            contents,
                        });
                        if self.rtc.handle_input(input).is_err() {
                            return;
                        }
                        timeout = self.drain();
                    }
                }
                _ = ticks.tick(), if self.video.is_some() => {
                    self.publish_due();
                    timeout = self.drain();
                }
                () = tokio::time::sleep_until(timeout.into()) => {
                    if self.rtc.handle_input(Input::Timeout(Instant::now())).is_err() {
                        return;
                    }
                    timeout = self.drain();
                }
            }
        }
    }

    fn accept_offer(&mut self, sdp: &str) -> anyhow::Result<String> {
        let offer = SdpOffer::from_sdp_string(sdp).context("the server's offer parses")?;
        let answer = self.rtc.sdp_api().accept_offer(offer).context("the server's offer is acceptable")?;
        Ok(answer.to_sdp_string())
    }

    /// Writes every frame due by now, each packetised and drained before the
    /// next as str0m requires. Frames due before the connection came up are skipped.
    fn publish_due(&mut self) {
        let Some(mid) = self.video else { return };
        if !self.rtc.is_connected() {
            return;
        }
        let now = Instant::now();
        let mut k = *self.next_frame.get_or_insert_with(|| self.schedule.next_at(now));
        while self.schedule.due(k) <= now {
            let frame = self.schedule.frame(k);
            let time = MediaTime::from_90khz(k * 90_000 / u64::from(self.schedule.rate));
            let Some(writer) = self.rtc.writer(mid) else { return };
            let Some(pt) = writer.payload_params().find(|p| p.spec().codec == Codec::Vp8).map(|p| p.pt()) else {
                return;
            };
            if writer.write(pt, now, time, frame).is_err() {
                return;
            }
            // str0m packetises written frames on a timeout, one per track
            // each time: without this, a publisher writing more than one
            // frame per loop turn (above about 1,000 frames/s) queued them
            // and its stream fell ever further behind the schedule.
            if self.rtc.handle_input(Input::Timeout(now)).is_err() {
                return;
            }
            self.drain();
            k += 1;
        }
        self.next_frame = Some(k);
    }

    /// Polls the `Rtc` to its next timeout, sending what it gives and
    /// tallying what it received.
    fn drain(&mut self) -> Instant {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => return at,
                Ok(Output::Transmit(t)) => {
                    let _ = self.socket.try_send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(Event::MediaData(data))) => {
                    self.tally.frame(&self.schedule, &self.counted, &data.data, data.network_time);
                }
                Ok(Output::Event(Event::Connected)) => self.tally.connected.store(true, Ordering::Relaxed),
                Ok(Output::Event(_)) => {}
                // A broken connection shows as missing frames.
                Err(_) => return Instant::now() + Duration::from_secs(3600),
            }
        }
    }
}
