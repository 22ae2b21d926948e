//! The one task that owns the UDP socket and every participant.
//!
//! It waits for whichever comes first: datagrams, a command from a handle, or
//! the earliest deadline (an `Rtc` timeout, or a participant's liveness
//! deadline). Each wake-up feeds exactly the affected `Rtc`s, drains them, and
//! then settles the [`Relay`]s they produced: frames are written to the
//! subscribers (each drained in turn, which may relay more), tracks are
//! (un)subscribed, and offers are made to whoever has changes and no offer
//! outstanding.

use std::collections::{HashMap, VecDeque};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::media::{KeyframeRequestKind, Rid};
use str0m::net::{DatagramRecv, Protocol, Receive, TcpType};
use str0m::{Candidate, Input, RtcConfig};
use tokio::sync::{mpsc, oneshot};

use crate::net::{Net, RECV_BUFFER_BYTES, TcpEvent};
use crate::participant::{Participant, Quality, Relay, TrackSource, VIDEO_RESEND_PACKETS};
use crate::record::{KeyframeWanted, Recorder};
use crate::sfu::Command;
use crate::stats::Counters;
use crate::{LeftReason, MAX_PEERS_PER_ROOM, MediaConfig, MediaError, PeerKey, SfuEvent};

/// Datagrams read per wake-up before commands and timers get a turn.
const MAX_DATAGRAMS_PER_WAKE: usize = 64;

/// The driver's state, owned by its task alone.
pub(crate) struct Driver {
    net: Net,
    /// The host candidates: UDP, and ICE-TCP (passive) on the same address
    /// when it is on.
    candidates: Vec<Candidate>,
    /// The host candidates' address: what browsers send to. str0m matches
    /// incoming STUN against it, so it is also every packet's destination.
    candidate_addr: SocketAddr,
    connect_timeout: Duration,
    silence_timeout: Duration,
    participants: HashMap<PeerKey, Participant>,
    rooms: HashMap<Arc<str>, Vec<PeerKey>>,
    /// Which participant a source (transport and address) last belonged to:
    /// the fast path of demultiplexing, checked with `Rtc::accepts` before use.
    by_source: HashMap<(Protocol, SocketAddr), PeerKey>,
    /// Participants that may have changes to offer.
    to_offer: Vec<PeerKey>,
    relays: VecDeque<Relay>,
    events: mpsc::UnboundedSender<SfuEvent>,
    counters: Arc<Counters>,
    /// Writes every published track to disk, when calls are recorded.
    recorder: Option<Recorder>,
}

impl Driver {
    pub fn new(
        config: &MediaConfig,
        net: Net,
        candidate_addr: SocketAddr,
        events: mpsc::UnboundedSender<SfuEvent>,
        counters: Arc<Counters>,
    ) -> Result<Driver, String> {
        let refused = |e: &dyn std::fmt::Display| format!("{candidate_addr} cannot be announced: {e}");
        let mut candidates = vec![Candidate::host(candidate_addr, "udp").map_err(|e| refused(&e))?];
        if config.tcp {
            let passive = Candidate::builder().tcp().host(candidate_addr).tcptype(TcpType::Passive).build();
            candidates.push(passive.map_err(|e| refused(&e))?);
        }
        let recorder = match &config.recordings {
            Some(dir) => Some(
                Recorder::start(dir.clone(), Arc::clone(&counters))
                    .map_err(|e| format!("cannot record calls in {}: {e}", dir.display()))?,
            ),
            None => None,
        };
        Ok(Driver {
            recorder,
            net,
            candidates,
            candidate_addr,
            connect_timeout: config.connect_timeout,
            silence_timeout: config.silence_timeout,
            participants: HashMap::new(),
            rooms: HashMap::new(),
            by_source: HashMap::new(),
            to_offer: Vec::new(),
            relays: VecDeque::new(),
            events,
            counters,
        })
    }

    /// Runs until every handle is dropped or a shutdown is asked for.
    /// `tcp` brings what the ICE-TCP connections receive, when that is on.
    pub async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut tcp: Option<mpsc::Receiver<TcpEvent>>,
    ) {
        let mut buf = vec![0u8; RECV_BUFFER_BYTES];
        let done = loop {
            let deadline = self.next_deadline();
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Shutdown { done }) => break Some(done),
                    Some(command) => self.on_command(command),
                    None => break None,
                },
                readable = self.net.udp.readable() => match readable {
                    Ok(()) => self.read_datagrams(&mut buf),
                    Err(e) => tracing::warn!(error = %e, "UDP socket not readable"),
                },
                Some(event) = next_tcp(&mut tcp) => self.on_tcp(event),
                () = tokio::time::sleep_until(deadline.into()) => {}
            }
            // Timers are checked on every wake, so a steady stream of
            // datagrams cannot starve them.
            self.on_timeouts(Instant::now());
        };
        self.close_all();
        if let Some(recorder) = &mut self.recorder {
            recorder.finish();
        }
        tracing::info!("SFU stopped");
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    fn on_command(&mut self, command: Command) {
        let now = Instant::now();
        match command {
            Command::Join { room, peer, label, offer, reply } => {
                let result = self.join(room, peer, &label, &offer, now);
                respond(reply, result);
            }
            Command::Answer { peer, answer, reply } => {
                let result = self.answer(peer, &answer, now);
                respond(reply, result);
            }
            Command::Renegotiate { peer, offer, reply } => {
                let result = self.renegotiate(peer, &offer);
                respond(reply, result);
            }
            Command::Leave { peer } => self.remove(peer, LeftReason::Left),
            Command::ReceiveVideo { peer, on } => self.receive_video(peer, on, now),
            Command::Quality { peer, of, quality } => self.set_quality(peer, of, quality),
            // Handled by the run loop.
            Command::Shutdown { .. } => {}
        }
        self.settle(now);
    }

    fn join(
        &mut self,
        room: String,
        key: PeerKey,
        label: &str,
        offer: &str,
        now: Instant,
    ) -> Result<String, MediaError> {
        if self.participants.contains_key(&key) {
            return Err(MediaError::AlreadyJoined);
        }
        let members = self.rooms.get(room.as_str());
        if members.is_some_and(|m| m.len() >= MAX_PEERS_PER_ROOM) {
            return Err(MediaError::TooManyInRoom);
        }
        let offer = str0m::change::SdpOffer::from_sdp_string(offer).map_err(|e| MediaError::BadSdp(e.to_string()))?;

        let mut rtc = rtc_config().build(now);
        for candidate in &self.candidates {
            rtc.add_local_candidate(candidate.clone());
        }
        let answer = rtc.sdp_api().accept_offer(offer).map_err(|e| MediaError::BadSdp(e.to_string()))?;

        let room: Arc<str> = match self.rooms.get_key_value(room.as_str()) {
            Some((name, _)) => Arc::clone(name),
            None => room.into(),
        };
        let mut participant = Participant::new(key, Arc::clone(&room), rtc, now);
        // Everything already published in the room is to be forwarded to it.
        for member in self.rooms.get(&room).into_iter().flatten() {
            for track in &self.participants[member].published {
                let source = TrackSource { peer: *member, mid: track.mid };
                participant.subscribe(source, track.kind);
            }
        }
        participant.drain(&self.net, &self.counters, &mut self.relays);
        self.participants.insert(key, participant);
        self.rooms.entry(room.clone()).or_default().push(key);
        self.to_offer.push(key);
        self.count_members();
        if let Some(recorder) = &mut self.recorder {
            recorder.label(key, label);
        }
        tracing::info!(peer = %key, room = %room, label, "participant joined");
        Ok(answer.to_sdp_string())
    }

    fn answer(&mut self, key: PeerKey, answer: &str, now: Instant) -> Result<(), MediaError> {
        let participant = self.participants.get_mut(&key).ok_or(MediaError::UnknownPeer)?;
        let result = participant.accept_answer(answer);
        participant.drain(&self.net, &self.counters, &mut self.relays);
        self.to_offer.push(key);
        // New subscribers start from a keyframe.
        for source in result? {
            self.ask_keyframe(source, KeyframeRequestKind::Pli, None, now);
        }
        Ok(())
    }

    fn renegotiate(&mut self, key: PeerKey, offer: &str) -> Result<String, MediaError> {
        let participant = self.participants.get_mut(&key).ok_or(MediaError::UnknownPeer)?;
        let result = participant.accept_offer(offer);
        participant.drain(&self.net, &self.counters, &mut self.relays);
        self.to_offer.push(key);
        result
    }

    fn receive_video(&mut self, key: PeerKey, on: bool, now: Instant) {
        let Some(participant) = self.participants.get_mut(&key) else {
            return;
        };
        if participant.receives_video == on {
            return;
        }
        participant.receives_video = on;
        tracing::info!(peer = %key, video = on, "others' video to the participant");
        if on {
            // Its decoders start again from a keyframe of each track.
            let sources: Vec<TrackSource> = participant.video_sources().collect();
            for source in sources {
                self.ask_keyframe(source, KeyframeRequestKind::Pli, None, now);
            }
        }
    }

    /// Sets which simulcast layer of `of`'s video `peer` gets; the switch
    /// happens on the new layer's next keyframe, which forwarding asks for.
    fn set_quality(&mut self, peer: PeerKey, of: PeerKey, quality: Quality) {
        if let Some(participant) = self.participants.get_mut(&peer)
            && participant.set_quality(of, quality)
        {
            tracing::debug!(peer = %peer, of = %of, quality = ?quality, "simulcast layer wanted");
        }
    }

    /// Asks the publisher of `source` for a keyframe of it: of its simulcast
    /// layer `rid`, or of every layer (`None`).
    fn ask_keyframe(&mut self, source: TrackSource, kind: KeyframeRequestKind, rid: Option<Rid>, now: Instant) {
        if let Some(publisher) = self.participants.get_mut(&source.peer) {
            publisher.request_keyframe(source.mid, kind, rid, now);
            publisher.drain(&self.net, &self.counters, &mut self.relays);
        }
    }

    /// Reads what the socket holds, up to a bound, handing each datagram to
    /// the participant it belongs to.
    fn read_datagrams(&mut self, buf: &mut [u8]) {
        for _ in 0..MAX_DATAGRAMS_PER_WAKE {
            match self.net.udp.try_recv_from(buf) {
                Ok((n, source)) => self.on_datagram(&buf[..n], Protocol::Udp, source, Instant::now()),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => {
                    // E.g. an ICMP error surfacing on some platforms: the
                    // socket itself is still fine.
                    tracing::debug!(error = %e, "UDP receive failed");
                    break;
                }
            }
        }
    }

    fn on_tcp(&mut self, event: TcpEvent) {
        let now = Instant::now();
        match event {
            TcpEvent::Opened { peer, out } => self.net.on_tcp_opened(peer, out, now, &self.counters),
            TcpEvent::Packet { peer, data } => self.on_datagram(&data, Protocol::Tcp, peer, now),
            TcpEvent::Closed { peer } => {
                self.net.close_tcp(peer, &self.counters);
                self.by_source.remove(&(Protocol::Tcp, peer));
            }
        }
    }

    /// A datagram, or a packet from an ICE-TCP connection.
    fn on_datagram(&mut self, datagram: &[u8], proto: Protocol, source: SocketAddr, now: Instant) {
        Counters::add(&self.counters.packets_received, 1);
        Counters::add(&self.counters.bytes_received, datagram.len());
        let Ok(contents) = DatagramRecv::try_from(datagram) else {
            Counters::add(&self.counters.packets_dropped, 1);
            return;
        };
        let input = Input::Receive(now, Receive { proto, source, destination: self.candidate_addr, contents });
        let cached = self.by_source.get(&(proto, source)).filter(|key| self.participants[*key].rtc.accepts(&input));
        let key = match cached {
            Some(key) => *key,
            None => {
                let Some(key) = self.participants.iter().find(|(_, p)| p.rtc.accepts(&input)).map(|(key, _)| *key)
                else {
                    Counters::add(&self.counters.packets_dropped, 1);
                    return;
                };
                self.by_source.insert((proto, source), key);
                if proto == Protocol::Tcp {
                    self.net.claim_tcp(source);
                }
                key
            }
        };
        let participant = self.participants.get_mut(&key).expect("by_source only names participants present");
        participant.last_received = now;
        participant.handle(input);
        participant.drain(&self.net, &self.counters, &mut self.relays);
        self.settle(now);
    }

    /// Feeds every `Rtc` whose timeout has come, and removes participants
    /// that ended, went silent or never connected.
    fn on_timeouts(&mut self, now: Instant) {
        let mut gone = Vec::new();
        for participant in self.participants.values_mut() {
            if participant.next_timeout <= now && participant.ended.is_none() {
                participant.handle(Input::Timeout(now));
                participant.drain(&self.net, &self.counters, &mut self.relays);
            }
            if let Some(reason) = participant.ended {
                gone.push((participant.key, reason));
            } else if participant.liveness_deadline(self.connect_timeout, self.silence_timeout) <= now {
                gone.push((participant.key, LeftReason::Timeout));
            }
        }
        for (key, reason) in gone {
            self.remove(key, reason);
        }
        self.net.close_unclaimed(now, self.connect_timeout, &self.counters);
        self.settle(now);
    }

    fn next_deadline(&self) -> Instant {
        // With no participants, wake now and then anyway; it costs nothing.
        let idle = Instant::now() + Duration::from_secs(1);
        let unclaimed = self.net.next_unclaimed_deadline(self.connect_timeout).unwrap_or(idle);
        self.participants
            .values()
            .map(|p| p.next_timeout.min(p.liveness_deadline(self.connect_timeout, self.silence_timeout)))
            .fold(idle.min(unclaimed), Instant::min)
    }

    /// Handles the relays until there are none, then makes the offers due.
    fn settle(&mut self, now: Instant) {
        loop {
            while let Some(relay) = self.relays.pop_front() {
                self.on_relay(relay, now);
            }
            let Some(key) = self.to_offer.pop() else {
                break;
            };
            let Some(participant) = self.participants.get_mut(&key) else {
                continue;
            };
            if !participant.wants_offer() {
                continue;
            }
            if let Some(sdp) = participant.make_offer() {
                tracing::debug!(peer = %key, "offering changed tracks");
                let _ = self.events.send(SfuEvent::Offer { peer: key, sdp });
            }
            participant.drain(&self.net, &self.counters, &mut self.relays);
        }
    }

    fn on_relay(&mut self, relay: Relay, now: Instant) {
        match relay {
            Relay::Media { from, data, layers } => {
                let Some(room) = self.participants.get(&from).map(|p| Arc::clone(&p.room)) else {
                    return;
                };
                // Simulcast layers subscribers need a keyframe of.
                let mut keyframes: Vec<Rid> = Vec::new();
                for member in self.rooms.get(&room).into_iter().flatten() {
                    if *member == from {
                        continue;
                    }
                    let Some(subscriber) = self.participants.get_mut(member) else {
                        continue;
                    };
                    let done = subscriber.forward(from, &data, layers.as_ref(), now);
                    if done.written {
                        Counters::add(&self.counters.frames_forwarded, 1);
                        Counters::add(&self.counters.bytes_forwarded, data.data.len());
                        subscriber.drain(&self.net, &self.counters, &mut self.relays);
                    }
                    if let Some(rid) = done.keyframe
                        && !keyframes.contains(&rid)
                    {
                        keyframes.push(rid);
                    }
                }
                let source = TrackSource { peer: from, mid: data.mid };
                if let Some(recorder) = &mut self.recorder
                    && let Some(KeyframeWanted(rid)) = recorder.frame(&room, from, &data, layers.as_ref())
                {
                    self.ask_keyframe(source, KeyframeRequestKind::Pli, rid, now);
                }
                for rid in keyframes {
                    self.ask_keyframe(source, KeyframeRequestKind::Pli, Some(rid), now);
                }
            }
            Relay::KeyframeWanted { source, kind, rid } => self.ask_keyframe(source, kind, rid, now),
            Relay::Connected(key) => {
                tracing::info!(peer = %key, "participant connected");
                let _ = self.events.send(SfuEvent::Connected { peer: key });
                self.to_offer.push(key);
            }
            Relay::Published { source, kind } => {
                self.for_others(source.peer, |p| p.subscribe(source, kind));
            }
            Relay::Unpublished { source } => {
                if let Some(recorder) = &mut self.recorder {
                    recorder.close_track(source);
                }
                self.for_others(source.peer, |p| p.unsubscribe(|s| s == source));
            }
        }
    }

    /// Applies a subscription change to everyone in `peer`'s room but `peer`,
    /// and has them offered.
    fn for_others(&mut self, peer: PeerKey, mut change: impl FnMut(&mut Participant)) {
        let Some(room) = self.participants.get(&peer).map(|p| Arc::clone(&p.room)) else {
            return;
        };
        for member in self.rooms.get(&room).into_iter().flatten() {
            if *member == peer {
                continue;
            }
            if let Some(participant) = self.participants.get_mut(member) {
                change(participant);
                self.to_offer.push(*member);
            }
        }
    }

    /// Takes a participant out of its room, closes its connection and stops
    /// forwarding its tracks to the others.
    fn remove(&mut self, key: PeerKey, reason: LeftReason) {
        let Some(mut participant) = self.participants.remove(&key) else {
            return;
        };
        if participant.rtc.is_alive() {
            // Say goodbye (RTCP BYE, DTLS close_notify) so the browser notices
            // at once; what it still produces concerns nobody.
            let _ = participant.rtc.close();
            participant.drain(&self.net, &self.counters, &mut VecDeque::new());
        }
        // Its TCP connections close with it; its UDP sources are forgotten.
        let net = &mut self.net;
        let counters = &self.counters;
        self.by_source.retain(|(proto, source), owner| {
            let keep = *owner != key;
            if !keep && *proto == Protocol::Tcp {
                net.close_tcp(*source, counters);
            }
            keep
        });
        if let Some(recorder) = &mut self.recorder {
            recorder.close_peer(key);
        }
        let room = Arc::clone(&participant.room);
        if let Some(members) = self.rooms.get_mut(&room) {
            members.retain(|member| *member != key);
            if members.is_empty() {
                self.rooms.remove(&room);
            }
        }
        for member in self.rooms.get(&room).into_iter().flatten() {
            if let Some(other) = self.participants.get_mut(member) {
                other.unsubscribe(|source| source.peer == key);
                self.to_offer.push(*member);
            }
        }
        self.count_members();
        tracing::info!(peer = %key, room = %room, %reason, "participant left");
        let _ = self.events.send(SfuEvent::Left { peer: key, room: room.to_string(), reason });
    }

    fn close_all(&mut self) {
        let keys: Vec<PeerKey> = self.participants.keys().copied().collect();
        for key in keys {
            self.remove(key, LeftReason::Left);
        }
    }

    fn count_members(&self) {
        Counters::set(&self.counters.rooms, self.rooms.len());
        Counters::set(&self.counters.peers, self.participants.len());
    }
}

/// The configuration of every participant's `Rtc`: ICE-lite (the server has
/// one public address and never probes), and the codecs browsers agree on.
fn rtc_config() -> RtcConfig {
    RtcConfig::new()
        .set_ice_lite(true)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .enable_h264(true)
        .set_send_buffer_video(VIDEO_RESEND_PACKETS)
}

/// The next event from the TCP side; never, when ICE-TCP is off or has stopped.
async fn next_tcp(tcp: &mut Option<mpsc::Receiver<TcpEvent>>) -> Option<TcpEvent> {
    match tcp {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

fn respond<T>(reply: oneshot::Sender<T>, value: T) {
    // The caller may have given up waiting; the work is done either way.
    let _ = reply.send(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_bind_announces_loopback() {
        let config = MediaConfig::new("0.0.0.0:0".parse().expect("a literal address"));
        let local = "0.0.0.0:4000".parse().expect("a literal address");
        assert_eq!(config.candidate_addr(local), "127.0.0.1:4000".parse().expect("a literal address"));
    }

    #[test]
    fn announce_overrides_the_bind_address() {
        let mut config = MediaConfig::new("0.0.0.0:3478".parse().expect("a literal address"));
        config.announce = Some("203.0.113.7".parse().expect("a literal address"));
        let local = "0.0.0.0:3478".parse().expect("a literal address");
        assert_eq!(config.candidate_addr(local), "203.0.113.7:3478".parse().expect("a literal address"));
    }
}
