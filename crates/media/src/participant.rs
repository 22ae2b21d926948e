//! One participant as the SFU sees it: its `Rtc`, the tracks it publishes,
//! the tracks forwarded to it, and the offer/answer exchange between them.
//!
//! Everything here is synchronous; the driver calls in with the socket to send
//! on and a queue ([`Relay`]) for what other participants must hear about.
//! str0m's one rule is kept throughout: every mutation of an `Rtc` (input,
//! write, keyframe request, SDP change) is followed by [`Participant::drain`]
//! before the next.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, Mid, Rid};
use str0m::{Event, Output, Rtc};

use crate::net::Net;
use crate::stats::Counters;
use crate::{LeftReason, MediaError, PeerKey};

/// Keyframe requests to one publisher's track are sent at most this often;
/// several subscribers asking at once need one keyframe, not several.
const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);

/// What one participant's `Rtc` produced that concerns the others.
#[derive(Debug)]
#[expect(clippy::large_enum_variant, reason = "frames are queued by value: boxing would allocate once per frame")]
pub(crate) enum Relay {
    /// The participant's media connection came up.
    Connected(PeerKey),
    /// The participant started sending a track: forward it to the others.
    Published { source: TrackSource, kind: MediaKind },
    /// The participant stopped sending a track.
    Unpublished { source: TrackSource },
    /// A frame of a published track.
    Media { from: PeerKey, data: MediaData },
    /// A subscriber wants a keyframe of this track: of its simulcast layer
    /// `rid`, or of every layer it sends (`None`).
    KeyframeWanted { source: TrackSource, kind: KeyframeRequestKind, rid: Option<Rid> },
}

/// A published track: who sends it, and on which of its m-lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TrackSource {
    pub peer: PeerKey,
    pub mid: Mid,
}

/// A track this participant sends us.
#[derive(Debug)]
pub(crate) struct Published {
    pub mid: Mid,
    pub kind: MediaKind,
    /// The simulcast layers seen on it (none: one plain stream).
    layers: Vec<Rid>,
    /// When a keyframe was last asked for, per layer (`None`: the plain stream).
    keyframe_asked: Vec<(Option<Rid>, Instant)>,
}

/// Which simulcast layer of a track a subscriber wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quality {
    /// The smallest layer the publisher sends (a tile in a grid, a weak link).
    Low,
    /// The largest (the default).
    High,
}

/// The order of simulcast layers, smallest first, by the names call.js
/// gives them: `q` (a quarter of the size), `h` (half), `f` (full). Other
/// names sort after these, among themselves as they came.
fn layer_rank(rid: Rid) -> usize {
    ["q", "h", "f"].iter().position(|name| Rid::from(*name) == rid).unwrap_or(3)
}

/// What [`Participant::forward`] did with a frame.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Forwarding {
    /// It was written to the subscriber.
    pub written: bool,
    /// The subscriber needs a keyframe of this layer of the frame's track
    /// to start or to switch layers.
    pub keyframe: Option<Rid>,
}

/// Another participant's track, forwarded to this one on an m-line of its own.
#[derive(Debug)]
struct Forwarded {
    source: TrackSource,
    kind: MediaKind,
    state: ForwardState,
    /// The publisher left or stopped the track while its m-line was being
    /// negotiated; stop it once the answer is in.
    source_gone: bool,
    /// The simulcast layer wanted.
    quality: Quality,
    /// The layer being forwarded, if the source is simulcast and one has
    /// started (with a keyframe).
    layer: Option<Rid>,
    /// The source's layers seen so far, smallest first.
    layers: Vec<Rid>,
}

/// Where a forwarded track's m-line stands in the offer/answer exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ForwardState {
    /// Goes into the next offer.
    ToOpen,
    /// Offered, awaiting the answer.
    Negotiating(Mid),
    /// Negotiated: frames are written to it.
    Open(Mid),
    /// To be stopped in the next offer.
    ToStop(Mid),
    /// Offered as stopped, awaiting the answer.
    NegotiatingStop(Mid),
}

/// One participant in a call.
pub(crate) struct Participant {
    pub key: PeerKey,
    pub room: Arc<str>,
    pub rtc: Rtc,
    pub published: Vec<Published>,
    forwarded: Vec<Forwarded>,
    /// The server's offer awaiting the browser's answer. At most one at a time.
    pending: Option<SdpPendingOffer>,
    pub joined_at: Instant,
    /// ICE and DTLS have come up at least once.
    pub connected: bool,
    /// When the last datagram from this participant arrived.
    pub last_received: Instant,
    /// When the `Rtc` next wants [`str0m::Input::Timeout`].
    pub next_timeout: Instant,
    /// Set once the `Rtc` closes or fails; the driver then removes it.
    pub ended: Option<LeftReason>,
    /// Whether others' video is forwarded to it; off while its link is too
    /// weak for video (its audio still comes).
    pub receives_video: bool,
}

impl Participant {
    pub fn new(key: PeerKey, room: Arc<str>, rtc: Rtc, now: Instant) -> Participant {
        Participant {
            key,
            room,
            rtc,
            published: Vec::new(),
            forwarded: Vec::new(),
            pending: None,
            joined_at: now,
            connected: false,
            last_received: now,
            next_timeout: now,
            ended: None,
            receives_video: true,
        }
    }

    /// Polls the `Rtc` until it only has a timeout left: sends its datagrams,
    /// turns its events into [`Relay`]s.
    pub fn drain(&mut self, net: &Net, counters: &Counters, relays: &mut VecDeque<Relay>) {
        loop {
            if !self.rtc.is_alive() {
                self.ended.get_or_insert(LeftReason::Closed);
                return;
            }
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => {
                    self.next_timeout = at;
                    return;
                }
                Ok(Output::Transmit(transmit)) => net.send(&transmit, counters),
                Ok(Output::Event(event)) => self.on_event(event, relays),
                Err(e) => {
                    tracing::warn!(peer = %self.key, error = %e, "participant's connection failed");
                    self.fail();
                    return;
                }
            }
        }
    }

    /// Marks the connection as broken: the driver removes the participant.
    pub fn fail(&mut self) {
        self.rtc.disconnect();
        self.ended.get_or_insert(LeftReason::Failed);
    }

    fn on_event(&mut self, event: Event, relays: &mut VecDeque<Relay>) {
        match event {
            Event::Connected if !self.connected => {
                self.connected = true;
                relays.push_back(Relay::Connected(self.key));
            }
            Event::IceConnectionStateChange(state) => {
                tracing::debug!(peer = %self.key, ice.state = ?state, "ICE state changed");
            }
            Event::MediaAdded(added) => self.on_direction(added.mid, added.direction, relays),
            Event::MediaChanged(changed) => self.on_direction(changed.mid, changed.direction, relays),
            Event::MediaData(data) => {
                if let Some(rid) = data.rid
                    && let Some(track) = self.published.iter_mut().find(|p| p.mid == data.mid)
                    && !track.layers.contains(&rid)
                {
                    track.layers.push(rid);
                }
                if !data.contiguous {
                    // Frames were lost: the decoders downstream need a fresh start.
                    self.request_keyframe(data.mid, KeyframeRequestKind::Fir, data.rid, data.network_time);
                }
                relays.push_back(Relay::Media { from: self.key, data });
            }
            Event::KeyframeRequest(request) => {
                let wanted = self.forwarded.iter().find_map(|f| match f.state {
                    ForwardState::Open(mid) if mid == request.mid => Some((f.source, f.layer)),
                    _ => None,
                });
                if let Some((source, rid)) = wanted {
                    relays.push_back(Relay::KeyframeWanted { source, kind: request.kind, rid });
                }
            }
            Event::Closed => {
                tracing::debug!(peer = %self.key, "browser closed the connection");
                self.ended.get_or_insert(LeftReason::Closed);
            }
            _ => {}
        }
    }

    /// An m-line the browser offered was added or changed direction: it
    /// publishes a track on it exactly when we receive on it.
    fn on_direction(&mut self, mid: Mid, direction: Direction, relays: &mut VecDeque<Relay>) {
        let source = TrackSource { peer: self.key, mid };
        let known = self.published.iter().position(|p| p.mid == mid);
        let is_ours = self.forwarded.iter().any(|f| f.local_mid() == Some(mid));
        match (known, direction.is_receiving()) {
            (None, true) if !is_ours => {
                let Some(kind) = self.rtc.media(mid).map(|m| m.kind()) else {
                    return;
                };
                self.published.push(Published { mid, kind, layers: Vec::new(), keyframe_asked: Vec::new() });
                relays.push_back(Relay::Published { source, kind });
            }
            (Some(index), false) => {
                self.published.swap_remove(index);
                relays.push_back(Relay::Unpublished { source });
            }
            _ => {}
        }
    }

    /// Asks the browser for a keyframe of a track it publishes: of its
    /// simulcast layer `rid`, or of each layer it sends (`None`). A layer
    /// asked for very recently is not asked again. Drain afterwards.
    pub fn request_keyframe(&mut self, mid: Mid, kind: KeyframeRequestKind, rid: Option<Rid>, now: Instant) {
        let Some(track) = self.published.iter_mut().find(|p| p.mid == mid) else {
            return;
        };
        if track.kind != MediaKind::Video {
            return;
        }
        let layers: Vec<Option<Rid>> = match rid {
            Some(rid) => vec![Some(rid)],
            None if track.layers.is_empty() => vec![None],
            None => track.layers.iter().copied().map(Some).collect(),
        };
        let mut due = Vec::with_capacity(layers.len());
        for layer in layers {
            match track.keyframe_asked.iter_mut().find(|(r, _)| *r == layer) {
                Some((_, at)) if now.saturating_duration_since(*at) < KEYFRAME_REQUEST_INTERVAL => continue,
                Some((_, at)) => *at = now,
                None => track.keyframe_asked.push((layer, now)),
            }
            due.push(layer);
        }
        let Some(mut writer) = self.rtc.writer(mid) else {
            return;
        };
        // Use whichever of the two the browser negotiated.
        let kind = if writer.is_request_keyframe_possible(kind) {
            kind
        } else {
            match kind {
                KeyframeRequestKind::Pli => KeyframeRequestKind::Fir,
                KeyframeRequestKind::Fir => KeyframeRequestKind::Pli,
            }
        };
        for layer in due {
            if let Err(e) = writer.request_keyframe(layer, kind) {
                // Before the first packet there is no stream to ask on yet.
                tracing::debug!(peer = %self.key, error = %e, "keyframe request not sent");
            }
        }
    }

    /// Writes another participant's frame to the m-line that forwards it, if
    /// that is negotiated and, for a simulcast track, the frame is of the
    /// layer this participant gets. Drain afterwards when it was written; ask
    /// the publisher for the keyframe it may need.
    ///
    /// Layers change on a keyframe of the new one: until it comes, the old
    /// layer goes on, so the picture never breaks.
    pub fn forward(&mut self, from: PeerKey, data: &MediaData) -> Forwarding {
        let mut out = Forwarding::default();
        let receives_video = self.receives_video;
        let Some(f) = self
            .forwarded
            .iter_mut()
            .find(|f| matches!(f.state, ForwardState::Open(_)) && f.source.peer == from && f.source.mid == data.mid)
        else {
            return out;
        };
        let ForwardState::Open(mid) = f.state else { return out };
        if f.kind == MediaKind::Video && !receives_video {
            // When video comes back, it starts again from a keyframe.
            f.layer = None;
            return out;
        }
        if let Some(rid) = data.rid {
            if !f.layers.contains(&rid) {
                f.layers.push(rid);
                f.layers.sort_by_key(|r| layer_rank(*r));
            }
            let wanted = match f.quality {
                Quality::Low => f.layers[0],
                Quality::High => f.layers[f.layers.len() - 1],
            };
            if f.layer != Some(wanted) {
                if rid == wanted && data.is_keyframe() {
                    f.layer = Some(rid);
                } else {
                    out.keyframe = Some(wanted);
                }
            }
            if f.layer != Some(rid) {
                return out;
            }
        }
        let Some(writer) = self.rtc.writer(mid) else {
            return out;
        };
        // The browser's answer maps the codec to its own payload type.
        let Some(pt) = writer.match_params(data.params) else {
            return out;
        };
        match writer.write(pt, data.network_time, data.time, Arc::clone(&data.data)) {
            Ok(()) => out.written = true,
            Err(e) => tracing::debug!(peer = %self.key, error = %e, "frame not forwarded"),
        }
        out
    }

    /// Sets the simulcast layer wanted of `from`'s video; the switch happens
    /// on the new layer's next keyframe. Returns whether anything changed.
    pub fn set_quality(&mut self, from: PeerKey, quality: Quality) -> bool {
        let mut changed = false;
        for f in self.forwarded.iter_mut().filter(|f| f.source.peer == from && f.kind == MediaKind::Video) {
            changed |= f.quality != quality;
            f.quality = quality;
        }
        changed
    }

    /// The video tracks forwarded to this participant, by their source.
    pub fn video_sources(&self) -> impl Iterator<Item = TrackSource> + '_ {
        self.forwarded.iter().filter(|f| f.kind == MediaKind::Video && !f.source_gone).map(|f| f.source)
    }

    /// Queues another participant's track to be forwarded to this one.
    pub fn subscribe(&mut self, source: TrackSource, kind: MediaKind) {
        if self.forwarded.iter().any(|f| f.source == source && !f.source_gone) {
            return;
        }
        self.forwarded.push(Forwarded {
            source,
            kind,
            state: ForwardState::ToOpen,
            source_gone: false,
            quality: Quality::High,
            layer: None,
            layers: Vec::new(),
        });
    }

    /// Queues the end of forwarding every track matching `gone` (a publisher
    /// left, or stopped a track).
    pub fn unsubscribe(&mut self, gone: impl Fn(TrackSource) -> bool) {
        self.forwarded.retain_mut(|f| {
            if !gone(f.source) {
                return true;
            }
            match f.state {
                ForwardState::ToOpen => return false,
                ForwardState::Open(mid) => f.state = ForwardState::ToStop(mid),
                ForwardState::Negotiating(_) => f.source_gone = true,
                ForwardState::ToStop(_) | ForwardState::NegotiatingStop(_) => {}
            }
            true
        });
    }

    /// Whether an offer should be made now: something changed, the
    /// participant is connected and no earlier offer awaits its answer.
    pub fn wants_offer(&self) -> bool {
        self.connected
            && self.ended.is_none()
            && self.pending.is_none()
            && self.forwarded.iter().any(|f| matches!(f.state, ForwardState::ToOpen | ForwardState::ToStop(_)))
    }

    /// Puts the queued changes into an offer. Drain afterwards.
    pub fn make_offer(&mut self) -> Option<String> {
        let mut change = self.rtc.sdp_api();
        for f in &mut self.forwarded {
            match f.state {
                ForwardState::ToOpen => {
                    // The stream id is how the browser tells whose track it is.
                    let stream_id = f.source.peer.to_string();
                    let track_id = format!("{}-{}", f.source.peer, f.source.mid);
                    let mid = change.add_media(f.kind, Direction::SendOnly, Some(stream_id), Some(track_id), None);
                    f.state = ForwardState::Negotiating(mid);
                }
                ForwardState::ToStop(mid) => {
                    change.stop_media(mid);
                    f.state = ForwardState::NegotiatingStop(mid);
                }
                _ => {}
            }
        }
        match change.apply() {
            Some((offer, pending)) => {
                self.pending = Some(pending);
                Some(offer.to_sdp_string())
            }
            None => {
                // Only stops of m-lines already stopped: nothing to negotiate.
                self.forwarded.retain(|f| !matches!(f.state, ForwardState::NegotiatingStop(_)));
                None
            }
        }
    }

    /// Applies the browser's answer to the pending offer. Returns the
    /// publishers' video tracks that now have a new subscriber (they should
    /// send a keyframe). Drain afterwards.
    pub fn accept_answer(&mut self, sdp: &str) -> Result<Vec<TrackSource>, MediaError> {
        let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| MediaError::BadSdp(e.to_string()))?;
        let pending = self.pending.take().ok_or(MediaError::NoOfferPending)?;
        if let Err(e) = self.rtc.sdp_api().accept_answer(pending, answer) {
            // The offer is void: offer the same changes again.
            for f in &mut self.forwarded {
                f.state = match f.state {
                    ForwardState::Negotiating(_) => ForwardState::ToOpen,
                    ForwardState::NegotiatingStop(mid) => ForwardState::ToStop(mid),
                    state => state,
                };
            }
            self.forwarded.retain(|f| !(f.source_gone && f.state == ForwardState::ToOpen));
            return Err(MediaError::BadSdp(e.to_string()));
        }
        let mut opened = Vec::new();
        self.forwarded.retain_mut(|f| match f.state {
            ForwardState::Negotiating(mid) if f.source_gone => {
                f.state = ForwardState::ToStop(mid);
                true
            }
            ForwardState::Negotiating(mid) => {
                f.state = ForwardState::Open(mid);
                if f.kind == MediaKind::Video {
                    opened.push(f.source);
                }
                true
            }
            ForwardState::NegotiatingStop(_) => false,
            _ => true,
        });
        Ok(opened)
    }

    /// Applies an offer the browser made (an ICE restart, a new track) and
    /// returns the answer. Drain afterwards.
    pub fn accept_offer(&mut self, sdp: &str) -> Result<String, MediaError> {
        if self.pending.is_some() {
            return Err(MediaError::OfferPending);
        }
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| MediaError::BadSdp(e.to_string()))?;
        let answer = self.rtc.sdp_api().accept_offer(offer).map_err(|e| MediaError::BadSdp(e.to_string()))?;
        Ok(answer.to_sdp_string())
    }

    /// When the participant is to be taken as gone if nothing else happens.
    pub fn liveness_deadline(&self, connect_timeout: Duration, silence_timeout: Duration) -> Instant {
        if self.connected { self.last_received + silence_timeout } else { self.joined_at + connect_timeout }
    }
}

impl Forwarded {
    fn local_mid(&self) -> Option<Mid> {
        match self.state {
            ForwardState::ToOpen => None,
            ForwardState::Negotiating(mid)
            | ForwardState::Open(mid)
            | ForwardState::ToStop(mid)
            | ForwardState::NegotiatingStop(mid) => Some(mid),
        }
    }
}
