//! A call to test against: a real [`Sfu`] on a loopback port, and "browsers"
//! that are str0m `Rtc`s of their own (full ICE, not lite) on their own UDP
//! sockets, or on a TCP connection to the SFU's port (ICE-TCP), doing real
//! ICE, DTLS and SRTP with it.
//!
//! Each browser runs in a task that sends a frame of audio every 20 ms and of
//! video every 40 ms once connected, answers the SFU's offers, and tallies
//! the frames it receives by the stream id of the track they arrived on. Every
//! payload carries its sender's key, so a tally also shows that each frame
//! came in on the track labelled with its publisher.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shouwang_media::{MediaConfig, PeerKey, Sfu, SfuEvent};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaData, MediaKind, MediaTime, Mid};
use str0m::net::{DatagramRecv, Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot, watch};

/// Long enough for anything that should happen on loopback, short enough for
/// a failing test to say so quickly.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A running SFU and the browsers in its calls.
pub struct TestCall {
    pub sfu: Sfu,
    /// Events other than offers to browsers that answer by themselves, in
    /// order.
    pub events: mpsc::UnboundedReceiver<SfuEvent>,
    browsers: Arc<Mutex<HashMap<PeerKey, mpsc::UnboundedSender<BrowserCommand>>>>,
}

/// Starts an SFU on a loopback port with the default timeouts, and a task that
/// hands its offers to the browsers.
pub async fn spawn_call() -> TestCall {
    spawn_call_with(MediaConfig::new("127.0.0.1:0".parse().expect("a literal address"))).await
}

/// Starts an SFU with `config`, and a task that hands its offers to the
/// browsers.
pub async fn spawn_call_with(config: MediaConfig) -> TestCall {
    let (sfu, mut sfu_events) = Sfu::start(config).await.expect("the SFU starts");
    let browsers: Arc<Mutex<HashMap<PeerKey, mpsc::UnboundedSender<BrowserCommand>>>> = Arc::default();
    let (events_tx, events) = mpsc::unbounded_channel();

    let router_sfu = sfu.clone();
    let router_browsers = Arc::clone(&browsers);
    tokio::spawn(async move {
        while let Some(event) = sfu_events.recv().await {
            let SfuEvent::Offer { peer, sdp } = event else {
                let _ = events_tx.send(event);
                continue;
            };
            let browser = router_browsers.lock().expect("no test task panics holding the lock").get(&peer).cloned();
            let Some(browser) = browser else {
                // A browser the test answers for itself.
                let _ = events_tx.send(SfuEvent::Offer { peer, sdp });
                continue;
            };
            let sfu = router_sfu.clone();
            // A silent browser never answers; don't let it hold up the rest.
            tokio::spawn(async move {
                let (reply, answer) = oneshot::channel();
                if browser.send(BrowserCommand::Offer { sdp, reply }).is_err() {
                    return;
                }
                if let Ok(answer) = answer.await {
                    sfu.answer(peer, answer).await.expect("the SFU takes the answer");
                }
            });
        }
    });

    TestCall { sfu, events, browsers }
}

impl TestCall {
    /// A browser joins `room`, publishing one audio and one video track
    /// `sendonly`, and answers the SFU's offers by itself.
    pub async fn join(&self, room: &str, key: u64) -> Browser {
        let browser = self.join_unanswered(room, key, Direction::SendOnly).await;
        self.browsers
            .lock()
            .expect("no test task panics holding the lock")
            .insert(browser.key, browser.commands.clone());
        browser
    }

    /// A browser joins `room`, publishing in `direction`; the SFU's offers to
    /// it come to [`TestCall::events`] for the test to answer.
    pub async fn join_unanswered(&self, room: &str, key: u64, direction: Direction) -> Browser {
        let offer = BrowserOffer::new(direction).await;
        self.join_with(room, key, offer).await
    }

    /// A browser on a network that blocks UDP joins `room`: its only
    /// candidate is a TCP connection to the SFU's port. It publishes audio
    /// and video and answers the SFU's offers by itself.
    pub async fn join_over_tcp(&self, room: &str, key: u64) -> Browser {
        let offer = BrowserOffer::over_tcp(Direction::SendOnly, self.sfu.local_addr()).await;
        let browser = self.join_with(room, key, offer).await;
        self.answer_offers(&browser);
        browser
    }

    async fn join_with(&self, room: &str, key: u64, offer: BrowserOffer) -> Browser {
        let key = PeerKey(key);
        let answer = self
            .sfu
            .join(room, key, &format!("b{key}"), offer.sdp.clone())
            .await
            .expect("the SFU answers a good offer");
        offer.start(key, &answer, self.sfu.local_addr())
    }

    /// Has `browser` answer the SFU's offers by itself from now on.
    pub fn answer_offers(&self, browser: &Browser) {
        self.browsers
            .lock()
            .expect("no test task panics holding the lock")
            .insert(browser.key, browser.commands.clone());
    }

    /// Waits for the next event that `wanted` picks, skipping others.
    pub async fn wait_for_event(&mut self, wanted: impl Fn(&SfuEvent) -> bool) -> SfuEvent {
        tokio::time::timeout(PATIENCE + PATIENCE, async {
            loop {
                let event = self.events.recv().await.expect("the SFU is running");
                if wanted(&event) {
                    return event;
                }
            }
        })
        .await
        .expect("the event came in time")
    }
}

/// A browser's first offer, made but not yet sent: its `Rtc`, socket and the
/// mids of the tracks it publishes.
pub struct BrowserOffer {
    pub sdp: String,
    rtc: Rtc,
    link: Link,
    pending: str0m::change::SdpPendingOffer,
    audio: Mid,
    video: Mid,
}

impl BrowserOffer {
    /// An offer publishing audio and video in `direction` (a browser's
    /// `addTrack` offers `SendRecv`, `addTransceiver(.., {direction})` what
    /// it is told).
    pub async fn new(direction: Direction) -> BrowserOffer {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("a loopback port");
        let local = socket.local_addr().expect("a bound socket has an address");
        Self::on(direction, Link::Udp { socket, local })
    }

    /// The same, with a TCP connection to `sfu` as the only candidate (a
    /// browser's active ICE-TCP candidate).
    pub async fn over_tcp(direction: Direction, sfu: SocketAddr) -> BrowserOffer {
        let stream = TcpStream::connect(sfu).await.expect("the SFU takes TCP on its port");
        let local = stream.local_addr().expect("a connected stream has an address");
        let (mut reader, mut writer) = stream.into_split();
        let (out, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
        let (incoming_tx, incoming) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some(packet) = outgoing.recv().await {
                let len = u16::try_from(packet.len()).expect("packets are small");
                let mut frame = len.to_be_bytes().to_vec();
                frame.extend_from_slice(&packet);
                if writer.write_all(&frame).await.is_err() {
                    return;
                }
            }
        });
        tokio::spawn(async move {
            while let Ok(len) = reader.read_u16().await {
                let mut packet = vec![0; usize::from(len)];
                if reader.read_exact(&mut packet).await.is_err() || incoming_tx.send(packet).is_err() {
                    return;
                }
            }
        });
        Self::on(direction, Link::Tcp { out, incoming, local, sfu })
    }

    fn on(direction: Direction, link: Link) -> BrowserOffer {
        let mut rtc = RtcConfig::new().clear_codecs().enable_opus(true, false).enable_vp8(true).build(Instant::now());
        let candidate = match &link {
            Link::Udp { local, .. } => Candidate::host(*local, "udp"),
            Link::Tcp { local, .. } => Candidate::host(*local, "tcp"),
        };
        rtc.add_local_candidate(candidate.expect("loopback is a host candidate"));
        let mut change = rtc.sdp_api();
        let audio = change.add_media(MediaKind::Audio, direction, None, None, None);
        let video = change.add_media(MediaKind::Video, direction, None, None, None);
        let (offer, pending) = change.apply().expect("adding media needs an offer");
        BrowserOffer { sdp: offer.to_sdp_string(), rtc, link, pending, audio, video }
    }

    /// Applies the SFU's answer and starts driving the connection.
    pub fn start(mut self, key: PeerKey, answer: &str, sfu: SocketAddr) -> Browser {
        let answer = SdpAnswer::from_sdp_string(answer).expect("the SFU's answer parses");
        self.rtc.sdp_api().accept_answer(self.pending, answer).expect("the SFU's answer fits the offer");
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (tally_tx, tally) = watch::channel(Tally::default());
        let driven = Driven {
            key,
            rtc: self.rtc,
            link: self.link,
            sfu,
            audio: self.audio,
            video: self.video,
            stream_ids: HashMap::new(),
            pending: None,
            frames_sent: 0,
            keyframe_due: true,
            tally: tally_tx,
            lose_every: 0,
            rtp_in: 0,
        };
        tokio::spawn(driven.run(command_rx));
        Browser { key, commands, tally }
    }
}

/// What a browser has received.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Frames by the stream id of the track they came on, and their kind.
    pub frames: HashMap<(String, MediaKind), u64>,
    /// Frames whose payload names a sender other than their track's stream id.
    pub mislabelled: u64,
    /// Offers from the SFU this browser answered.
    pub offers: u64,
    /// Keyframe requests (PLI or FIR) the SFU sent this browser.
    pub keyframe_requests: u64,
    /// The browser's connection is up.
    pub connected: bool,
    /// The numbers of the video frames received, by sender.
    pub video_frames: HashMap<String, BTreeSet<u64>>,
    /// Media packets the browser's link lost on purpose ([`Browser::lose_every`]).
    pub lost: u64,
}

impl Tally {
    /// Frames of `kind` received from `from`.
    pub fn from(&self, from: PeerKey, kind: MediaKind) -> u64 {
        self.frames.get(&(from.to_string(), kind)).copied().unwrap_or(0)
    }
}

/// A running browser, as the test sees it.
pub struct Browser {
    pub key: PeerKey,
    commands: mpsc::UnboundedSender<BrowserCommand>,
    tally: watch::Receiver<Tally>,
}

enum BrowserCommand {
    Offer {
        sdp: String,
        reply: oneshot::Sender<String>,
    },
    /// Make an offer restarting ICE, as after a network switch.
    IceRestart {
        reply: oneshot::Sender<String>,
    },
    /// The SFU's answer to the browser's own offer.
    Answer(String),
    /// Send these bytes to the SFU from the browser's own socket.
    Raw(Vec<u8>),
    /// Lose every n-th RTP packet coming in (0: none).
    LoseEvery(u64),
    /// Stop everything: no more media, answers, ICE or RTCP.
    Silence,
}

impl Browser {
    /// Waits until the tally satisfies `done`; panics after [`PATIENCE`].
    pub async fn wait_until(&mut self, what: &str, done: impl Fn(&Tally) -> bool) -> Tally {
        let waited = tokio::time::timeout(PATIENCE, self.tally.wait_for(|t| done(t)))
            .await
            .map(|r| r.map(|tally| tally.clone()));
        match waited {
            Ok(Ok(tally)) => tally,
            _ => {
                panic!("browser {}: {what} did not happen in {PATIENCE:?}; it has {:?}", self.key, *self.tally.borrow())
            }
        }
    }

    /// Waits for `n` more frames of each kind from every one of `publishers`.
    pub async fn wait_for_frames_from(&mut self, publishers: &[PeerKey], n: u64) -> Tally {
        let start = self.tally();
        let what = format!("{n} more frames of each kind from {publishers:?}");
        self.wait_until(&what, |t| {
            publishers
                .iter()
                .all(|p| [MediaKind::Audio, MediaKind::Video].iter().all(|k| t.from(*p, *k) >= start.from(*p, *k) + n))
        })
        .await
    }

    pub fn tally(&self) -> Tally {
        self.tally.borrow().clone()
    }

    /// Answers an offer from the SFU.
    pub async fn answer(&self, offer: String) -> String {
        let (reply, answer) = oneshot::channel();
        let _ = self.commands.send(BrowserCommand::Offer { sdp: offer, reply });
        answer.await.expect("the browser is running")
    }

    /// Makes an offer restarting ICE.
    pub async fn ice_restart(&self) -> String {
        let (reply, offer) = oneshot::channel();
        let _ = self.commands.send(BrowserCommand::IceRestart { reply });
        offer.await.expect("the browser is running")
    }

    /// Applies the SFU's answer to the browser's own offer.
    pub fn apply_answer(&self, answer: String) {
        let _ = self.commands.send(BrowserCommand::Answer(answer));
    }

    /// Makes the browser's downlink lose every `n`-th RTP packet (media and
    /// resends alike; RTCP, ICE and DTLS pass), as a weak mobile link
    /// would; 0 heals it.
    pub fn lose_every(&self, n: u64) {
        let _ = self.commands.send(BrowserCommand::LoseEvery(n));
    }

    /// Sends raw bytes to the SFU from this browser's address.
    pub fn send_raw(&self, bytes: Vec<u8>) {
        let _ = self.commands.send(BrowserCommand::Raw(bytes));
    }

    /// Stops driving the connection, as a browser that lost its network would.
    pub fn go_silent(&self) {
        let _ = self.commands.send(BrowserCommand::Silence);
    }
}

/// The browser's task state.
struct Driven {
    key: PeerKey,
    rtc: Rtc,
    link: Link,
    sfu: SocketAddr,
    audio: Mid,
    video: Mid,
    stream_ids: HashMap<Mid, String>,
    /// The browser's own offer, awaiting the SFU's answer.
    pending: Option<str0m::change::SdpPendingOffer>,
    frames_sent: u64,
    keyframe_due: bool,
    tally: watch::Sender<Tally>,
    /// Lose every n-th RTP packet coming in (0: none); RTP packets so far.
    lose_every: u64,
    rtp_in: u64,
}

impl Driven {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<BrowserCommand>) {
        let mut buf = vec![0u8; 2048];
        let mut ticks = tokio::time::interval(Duration::from_millis(20));
        let mut timeout = self.drain();
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(BrowserCommand::Offer { sdp, reply }) => {
                        let offer = SdpOffer::from_sdp_string(&sdp).expect("the SFU's offer parses");
                        let answer = self.rtc.sdp_api().accept_offer(offer).expect("the SFU's offer is acceptable");
                        timeout = self.drain();
                        self.tally.send_modify(|t| t.offers += 1);
                        let _ = reply.send(answer.to_sdp_string());
                    }
                    Some(BrowserCommand::IceRestart { reply }) => {
                        let mut change = self.rtc.sdp_api();
                        change.ice_restart(true);
                        let (offer, pending) = change.apply().expect("an ICE restart needs an offer");
                        self.pending = Some(pending);
                        timeout = self.drain();
                        let _ = reply.send(offer.to_sdp_string());
                    }
                    Some(BrowserCommand::Answer(sdp)) => {
                        let answer = SdpAnswer::from_sdp_string(&sdp).expect("the SFU's answer parses");
                        let pending = self.pending.take().expect("an answer comes to an offer");
                        self.rtc.sdp_api().accept_answer(pending, answer).expect("the SFU's answer fits");
                        timeout = self.drain();
                    }
                    Some(BrowserCommand::Raw(bytes)) => self.link.send(&bytes, self.sfu),
                    Some(BrowserCommand::LoseEvery(n)) => self.lose_every = n,
                    Some(BrowserCommand::Silence) | None => return,
                },
                (n, source) = self.link.recv(&mut buf) => {
                    if self.lose(&buf[..n]) {
                        continue;
                    }
                    let Ok(contents) = DatagramRecv::try_from(&buf[..n]) else { continue };
                    let input = Input::Receive(Instant::now(), Receive {
                        proto: self.link.proto(),
                        source,
                        destination: self.link.local(),
                        contents,
                    });
                    self.rtc.handle_input(input).expect("the SFU sends good packets");
                    timeout = self.drain();
                }
                _ = ticks.tick() => {
                    if self.rtc.is_connected() {
                        self.send_frames();
                    }
                    timeout = self.drain();
                }
                () = tokio::time::sleep_until(timeout.into()) => {
                    self.rtc.handle_input(Input::Timeout(Instant::now())).expect("time passes");
                    timeout = self.drain();
                }
            }
        }
    }

    /// One audio frame every tick, one video frame every other; each drained
    /// before the next write, as str0m requires.
    fn send_frames(&mut self) {
        let n = self.frames_sent;
        self.frames_sent += 1;
        let mut payload = Vec::with_capacity(64);
        payload.push(0xfc);
        payload.extend_from_slice(&self.key.0.to_le_bytes());
        payload.extend_from_slice(&n.to_le_bytes());
        let time = MediaTime::new(n * 960, str0m::media::Frequency::FORTY_EIGHT_KHZ);
        write(&mut self.rtc, self.audio, Codec::Opus, time, payload);
        self.drain();

        if n.is_multiple_of(2) {
            // A VP8 frame's first bit 0 marks a keyframe; str0m's packetizer
            // takes anything after that.
            let keyframe = self.keyframe_due || n.is_multiple_of(50);
            self.keyframe_due = false;
            let mut payload = Vec::with_capacity(600);
            payload.push(if keyframe { 0x00 } else { 0x01 });
            payload.extend_from_slice(&self.key.0.to_le_bytes());
            payload.extend_from_slice(&n.to_le_bytes());
            payload.resize(if keyframe { 3000 } else { 500 }, 0x42);
            let time = MediaTime::from_90khz(n * 1800);
            write(&mut self.rtc, self.video, Codec::Vp8, time, payload);
        }
    }

    /// Whether to lose this incoming datagram. SRTP leaves an RTP header in
    /// the clear: version 2, and a payload type outside 64–95, which RTCP's
    /// packet types 192–223 take when the marker bit is left out (RFC 5761).
    fn lose(&mut self, datagram: &[u8]) -> bool {
        let rtp = datagram.len() > 12 && datagram[0] >> 6 == 2 && !(64..=95).contains(&(datagram[1] & 0x7f));
        if !rtp || self.lose_every == 0 {
            return false;
        }
        self.rtp_in += 1;
        let lost = self.rtp_in.is_multiple_of(self.lose_every);
        if lost {
            self.tally.send_modify(|t| t.lost += 1);
        }
        lost
    }

    /// Polls the `Rtc` to its next timeout, sending what it gives and
    /// tallying what it received.
    fn drain(&mut self) -> Instant {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => return at,
                Ok(Output::Transmit(t)) => self.link.send(&t.contents, t.destination),
                Ok(Output::Event(event)) => self.on_event(event),
                Err(e) => panic!("browser {}: {e}", self.key),
            }
        }
    }

    fn on_event(&mut self, event: Event) {
        match event {
            Event::Connected => self.tally.send_modify(|t| t.connected = true),
            Event::MediaAdded(added) => {
                let stream_id = self.rtc.media(added.mid).map(|m| m.stream_id().to_owned()).unwrap_or_default();
                self.stream_ids.insert(added.mid, stream_id);
            }
            Event::MediaData(data) => self.tally_frame(&data),
            Event::KeyframeRequest(_) => {
                self.keyframe_due = true;
                self.tally.send_modify(|t| t.keyframe_requests += 1);
            }
            _ => {}
        }
    }

    fn tally_frame(&mut self, data: &MediaData) {
        let Some(stream_id) = self.stream_ids.get(&data.mid).cloned() else {
            return;
        };
        let kind = self.rtc.media(data.mid).map(|m| m.kind()).expect("media data comes on known media");
        let sender = data.data.get(1..9).map(|b| u64::from_le_bytes(b.try_into().expect("eight bytes")).to_string());
        let number = data.data.get(9..17).map(|b| u64::from_le_bytes(b.try_into().expect("eight bytes")));
        self.tally.send_modify(|t| {
            if sender.as_deref() != Some(stream_id.as_str()) {
                t.mislabelled += 1;
            }
            if let (MediaKind::Video, Some(number)) = (kind, number) {
                t.video_frames.entry(stream_id.clone()).or_default().insert(number);
            }
            *t.frames.entry((stream_id, kind)).or_default() += 1;
        });
    }
}

fn write(rtc: &mut Rtc, mid: Mid, codec: Codec, time: MediaTime, payload: Vec<u8>) {
    let Some(writer) = rtc.writer(mid) else { return };
    let Some(pt) = writer.payload_params().find(|p| p.spec().codec == codec).map(|p| p.pt()) else {
        return;
    };
    writer.write(pt, Instant::now(), time, payload).expect("a negotiated payload type takes any frame");
}

/// How a browser reaches the SFU.
enum Link {
    Udp {
        socket: UdpSocket,
        local: SocketAddr,
    },
    /// One TCP connection to the SFU's port; a task writes what `out` takes,
    /// each packet behind its length (RFC 4571), and another reads the SFU's
    /// packets into `incoming`.
    Tcp {
        out: mpsc::UnboundedSender<Vec<u8>>,
        incoming: mpsc::UnboundedReceiver<Vec<u8>>,
        local: SocketAddr,
        sfu: SocketAddr,
    },
}

impl Link {
    fn proto(&self) -> Protocol {
        match self {
            Link::Udp { .. } => Protocol::Udp,
            Link::Tcp { .. } => Protocol::Tcp,
        }
    }

    fn local(&self) -> SocketAddr {
        match self {
            Link::Udp { local, .. } | Link::Tcp { local, .. } => *local,
        }
    }

    fn send(&self, packet: &[u8], destination: SocketAddr) {
        match self {
            Link::Udp { socket, .. } => {
                let _ = socket.try_send_to(packet, destination);
            }
            Link::Tcp { out, .. } => {
                let _ = out.send(packet.to_vec());
            }
        }
    }

    /// The next packet into `buf`: its length and where it came from. Waits
    /// forever once a TCP connection has closed.
    async fn recv(&mut self, buf: &mut [u8]) -> (usize, SocketAddr) {
        match self {
            Link::Udp { socket, .. } => socket.recv_from(buf).await.expect("a loopback socket stays readable"),
            Link::Tcp { incoming, sfu, .. } => match incoming.recv().await {
                Some(packet) => {
                    let n = packet.len().min(buf.len());
                    buf[..n].copy_from_slice(&packet[..n]);
                    (n, *sfu)
                }
                None => std::future::pending().await,
            },
        }
    }
}
