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
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, MediaTime, Mid, Rid};
use str0m::{Event, Input, Output, Rtc};

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
    /// A frame of a published track, with the track's simulcast layers as
    /// they stand after it (`None`: a plain stream).
    Media { from: PeerKey, data: MediaData, layers: Option<Layers> },
    /// A subscriber wants a keyframe of this track: of its simulcast layer
    /// `rid`, or of every layer it sends (`None`).
    KeyframeWanted { source: TrackSource, kind: KeyframeRequestKind, rid: Option<Rid> },
}

/// A published track: who sends it, and on which of its m-lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    layers: Layers,
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

/// Video packets kept per forwarded track for resends (NACK): at most this
/// many ([`RESEND_HISTORY`] bounds them by age first). str0m keeps 1000 by
/// default, about 1.5 MiB per track with full-size packets.
pub(crate) const VIDEO_RESEND_PACKETS: usize = 100;

/// How long a forwarded video packet is kept for a resend: Janus's default
/// (`min_nack_queue`). A loss is asked for about one round trip after the
/// packet left, so this covers round trips up to about 400 ms; a resend
/// asked for later would come too late to be played. Bounding by age, not
/// only by count, keeps a grid tile's small layer (~30 packets/s) from
/// holding three seconds of video per viewer: in a 10-party room each peer
/// keeps nine such histories (BENCHMARKS.md, SFU).
const RESEND_HISTORY: Duration = Duration::from_millis(500);

/// str0m's own default: queued resends are dropped once they pass this
/// share of what a stream sends.
const RESEND_RATIO_CAP: Option<f32> = Some(0.15);

/// A simulcast layer with no frame for this long is taken as paused (the
/// sender's own bandwidth estimate dropped it); its viewers move to another.
const LAYER_PAUSED_AFTER: Duration = Duration::from_secs(1);

/// A layer a viewer is not on is switched to only once it has come without
/// a pause for this long. A starved encoder's biggest layer comes and goes
/// (a frame every second or two); switching to it at each frame and away at
/// each pause would cost the publisher a keyframe each time and show the
/// viewer a slideshow.
const LAYER_STEADY_AFTER: Duration = Duration::from_secs(2);

/// The order of simulcast layers, smallest first, by the names call.js
/// gives them: `q` (a quarter of the size), `h` (half), `f` (full). Other
/// names sort after these, among themselves as they came.
fn layer_rank(rid: Rid) -> usize {
    ["q", "h", "f"].iter().position(|name| Rid::from(*name) == rid).unwrap_or(3)
}

/// What [`Participant::forward`] did with a frame.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Forwarding {
    /// It was written to the subscriber and packetised, ready to drain.
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
    /// The media times written, continuous across layer switches.
    timeline: Timeline,
}

/// A simulcast layer of a forwarded track's source, as its frames came.
#[derive(Debug, Clone, Copy)]
struct Layer {
    rid: Rid,
    /// When its last frame came.
    seen: Instant,
    /// Since when it has come without a pause.
    steady_since: Instant,
}

/// The simulcast layers of a published track, smallest first, as its
/// frames came. Kept once, by the publisher; every viewer picks from them.
#[derive(Debug, Default, Clone)]
pub(crate) struct Layers(Vec<Layer>);

impl Layers {
    /// Notes a frame of layer `rid` that came at `at`.
    fn note(&mut self, rid: Rid, at: Instant) {
        match self.0.iter_mut().find(|l| l.rid == rid) {
            Some(layer) => {
                if at.saturating_duration_since(layer.seen) >= LAYER_PAUSED_AFTER {
                    layer.steady_since = at;
                }
                layer.seen = at;
            }
            None => {
                self.0.push(Layer { rid, seen: at, steady_since: at });
                self.0.sort_by_key(|l| layer_rank(l.rid));
            }
        }
    }

    /// The layer a viewer wanting `quality`, now on `current`, should get
    /// at `at` (the arrival of a frame of layer `rid`): the smallest or the
    /// largest of the layers still coming that have been steady (or are
    /// `current`); at the start, when none has been steady yet, of all still
    /// coming.
    fn pick(&self, rid: Rid, at: Instant, quality: Quality, current: Option<Rid>) -> Rid {
        let coming = |l: &&Layer| at.saturating_duration_since(l.seen) < LAYER_PAUSED_AFTER;
        let settled =
            |l: &&Layer| Some(l.rid) == current || at.saturating_duration_since(l.steady_since) >= LAYER_STEADY_AFTER;
        end(self.0.iter().filter(coming).filter(settled), quality)
            .or_else(|| end(self.0.iter().filter(coming), quality))
            .map_or(rid, |l| l.rid)
    }
}

/// What one who takes a single layer of a simulcast track (a viewer, the
/// recorder) does with a frame of it: see [`Layers::step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LayerStep {
    /// The frame is of the layer taken (after any switch): take it.
    pub take: bool,
    /// This frame, a keyframe of the layer wanted, switched to it.
    pub switched: bool,
    /// A keyframe of this layer is needed to switch to it.
    pub keyframe: Option<Rid>,
}

impl Layers {
    /// A frame of layer `rid` came, for one on layer `current` (none yet)
    /// wanting `quality`, whose written times `timeline` keeps: switches
    /// `current` on a keyframe of the layer wanted, and says whether to
    /// take the frame. Until that keyframe comes, the old layer goes on, so
    /// the picture never breaks. A sender short of bandwidth pauses its
    /// bigger layers: the wanted one is picked among those still coming.
    pub(crate) fn step(
        &self,
        rid: Rid,
        data: &MediaData,
        quality: Quality,
        current: &mut Option<Rid>,
        timeline: &mut Timeline,
    ) -> LayerStep {
        let wanted = self.pick(rid, data.network_time, quality, *current);
        let mut step = LayerStep { take: false, switched: false, keyframe: None };
        if *current != Some(wanted) {
            if rid == wanted && data.is_keyframe() {
                *current = Some(rid);
                timeline.rebase(data.time, data.network_time);
                step.switched = true;
            } else {
                step.keyframe = Some(wanted);
            }
        }
        step.take = *current == Some(rid);
        step
    }
}

/// The smallest (`Low`) or largest (`High`) of `layers`, smallest first.
fn end<'a>(mut layers: impl DoubleEndedIterator<Item = &'a Layer>, quality: Quality) -> Option<&'a Layer> {
    match quality {
        Quality::Low => layers.next(),
        Quality::High => layers.next_back(),
    }
}

/// Keeps a forwarded track's media time running on when the SFU switches it
/// to another simulcast layer. Each layer is an RTP stream of its own with
/// its own random timestamp base; written as they come, a switch would jump
/// the viewer's timestamps by hours either way, and its jitter buffer would
/// drop every frame of the new layer as late or hold it as not yet due.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Timeline {
    /// Added to the source's media time, in its clock's ticks.
    offset: i64,
    /// The last media time written, and the network time of its frame.
    last: Option<(MediaTime, Instant)>,
}

impl Timeline {
    /// Continues the written times at `time` (the first frame of a new
    /// layer, arriving at `now`): it maps to the last written time plus the
    /// network time since (at least one tick).
    fn rebase(&mut self, time: MediaTime, now: Instant) {
        let Some((last, at)) = self.last else {
            return;
        };
        let hz = u64::from(last.frequency().get());
        let elapsed = now.saturating_duration_since(at);
        let ticks = (elapsed.as_micros() as u64).saturating_mul(hz) / 1_000_000;
        let next = last.numer().saturating_add(ticks.max(1));
        self.offset = (next as i64).saturating_sub(time.numer() as i64);
    }

    /// The media time to write for a source frame at `time`, arriving at `now`.
    pub(crate) fn map(&mut self, time: MediaTime, now: Instant) -> MediaTime {
        let numer = (time.numer() as i64).saturating_add(self.offset).max(0) as u64;
        let written = MediaTime::new(numer, time.frequency());
        self.last = Some((written, now));
        written
    }
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

    /// Feeds `input` to the `Rtc`; a failure marks the connection broken
    /// (see [`Participant::fail`]). Follow with [`Participant::drain`].
    pub fn handle(&mut self, input: Input) {
        if let Err(e) = self.rtc.handle_input(input) {
            tracing::warn!(peer = %self.key, error = %e, "participant's connection failed");
            self.fail();
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
                let layers = match data.rid {
                    Some(rid) => self.published.iter_mut().find(|p| p.mid == data.mid).map(|track| {
                        track.layers.note(rid, data.network_time);
                        track.layers.clone()
                    }),
                    None => None,
                };
                if !data.contiguous {
                    // Frames were lost: the decoders downstream need a fresh start.
                    self.request_keyframe(data.mid, KeyframeRequestKind::Fir, data.rid, data.network_time);
                }
                relays.push_back(Relay::Media { from: self.key, data, layers });
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
                self.published.push(Published { mid, kind, layers: Layers::default(), keyframe_asked: Vec::new() });
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
            None if track.layers.0.is_empty() => vec![None],
            None => track.layers.0.iter().map(|l| Some(l.rid)).collect(),
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
    /// layer goes on, so the picture never breaks. `layers` are the source's
    /// simulcast layers (see [`Relay::Media`]).
    pub fn forward(&mut self, from: PeerKey, data: &MediaData, layers: Option<&Layers>, now: Instant) -> Forwarding {
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
        if let (Some(rid), Some(layers)) = (data.rid, layers) {
            let step = layers.step(rid, data, f.quality, &mut f.layer, &mut f.timeline);
            if step.switched {
                tracing::debug!(peer = %self.key, from = %from, layer = ?rid, time = data.time.numer(),
                    offset = f.timeline.offset, "simulcast layer switched");
            }
            out.keyframe = step.keyframe;
            if !step.take {
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
        let time = f.timeline.map(data.time, data.network_time);
        match writer.write(pt, data.network_time, time, Arc::clone(&data.data)) {
            Ok(()) => {
                out.written = true;
                // str0m turns a written frame into packets on its next timeout,
                // one frame per track each time. Left to the timers, the frames
                // of a wake that read many datagrams queued up behind each
                // other: under load each viewer fell behind by up to 512 frames
                // (half a second and more, megabytes per viewer) and the SFU
                // sent stale video. So the frame is packetised now.
                self.handle(Input::Timeout(now));
            }
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
            timeline: Timeline::default(),
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
        let rtc = &mut self.rtc;
        self.forwarded.retain_mut(|f| match f.state {
            ForwardState::Negotiating(mid) if f.source_gone => {
                f.state = ForwardState::ToStop(mid);
                true
            }
            ForwardState::Negotiating(mid) => {
                f.state = ForwardState::Open(mid);
                if f.kind == MediaKind::Video {
                    if let Some(stream) = rtc.direct_api().stream_tx_by_mid(mid, None) {
                        // Nothing is sent before the answer: no history is lost.
                        stream.set_rtx_cache(VIDEO_RESEND_PACKETS, RESEND_HISTORY, RESEND_RATIO_CAP);
                    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use str0m::media::Frequency;

    fn at(ticks: u64) -> MediaTime {
        MediaTime::new(ticks, Frequency::NINETY_KHZ)
    }

    #[test]
    fn a_layer_switch_continues_the_written_times_by_the_time_between_frames() {
        let start = Instant::now();
        let mut timeline = Timeline::default();
        // The first layer's times pass unchanged.
        assert_eq!(timeline.map(at(1_000_000), start), at(1_000_000));
        assert_eq!(timeline.map(at(1_003_000), start + Duration::from_millis(33)), at(1_003_000));

        // A layer whose base is far ahead, 100 ms later: 9,000 ticks on.
        let switched = start + Duration::from_millis(133);
        timeline.rebase(at(4_000_000_000), switched);
        assert_eq!(timeline.map(at(4_000_000_000), switched), at(1_012_000));
        assert_eq!(timeline.map(at(4_000_003_000), switched + Duration::from_millis(33)), at(1_015_000));

        // Back to a layer far behind, in the same instant: one tick on.
        let back = switched + Duration::from_millis(33);
        timeline.rebase(at(500), back);
        assert_eq!(timeline.map(at(500), back), at(1_015_001));
    }

    fn ms(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    /// A frame of layer `rid` comes at `at`: the layer a viewer wanting
    /// `quality`, now on `current`, gets.
    fn frame(layers: &mut Layers, rid: Rid, at: Instant, quality: Quality, current: Option<Rid>) -> Rid {
        layers.note(rid, at);
        layers.pick(rid, at, quality, current)
    }

    #[test]
    fn a_viewer_gets_the_biggest_layer_from_the_start_and_stays_on_it() {
        let (h, f) = (Rid::from("h"), Rid::from("f"));
        let start = Instant::now();
        let mut layers = Layers::default();
        // The half layer comes first: it is all there is.
        assert_eq!(frame(&mut layers, h, start, Quality::High, None), h);
        // The full one follows at once; nothing is steady yet, so the biggest coming.
        assert_eq!(frame(&mut layers, f, ms(start, 40), Quality::High, None), f);
        // Both come on; at two seconds the half one turns steady first (it
        // came first), and the viewer stays on the full one all along.
        for t in (100..=2_100).step_by(100) {
            frame(&mut layers, h, ms(start, t), Quality::High, Some(f));
            assert_eq!(frame(&mut layers, f, ms(start, t + 40), Quality::High, Some(f)), f, "at {t} ms");
        }
        // A viewer on the full layer who asks for the small one gets it.
        assert_eq!(frame(&mut layers, h, ms(start, 2_200), Quality::Low, Some(f)), h);
    }

    #[test]
    fn a_layer_that_comes_and_goes_is_left_for_a_steady_one() {
        let (h, f) = (Rid::from("h"), Rid::from("f"));
        let start = Instant::now();
        let mut layers = Layers::default();
        let mut at = 0;
        // Both come steadily for three seconds; the viewer is on the full one.
        while at <= 3_000 {
            frame(&mut layers, h, ms(start, at), Quality::High, Some(f));
            assert_eq!(frame(&mut layers, f, ms(start, at + 5), Quality::High, Some(f)), f);
            at += 100;
        }
        // Then the full layer sends a frame every 1.5 s: at its pauses the
        // viewer moves to the half one ...
        let mut current = f;
        for t in (3_100..9_000).step_by(100) {
            current = frame(&mut layers, h, ms(start, t), Quality::High, Some(current));
            if t % 1_500 == 0 {
                current = frame(&mut layers, f, ms(start, t + 5), Quality::High, Some(current));
            }
            if t >= 4_100 {
                // ... and stays there: a layer back after a pause is not
                // steady, and its frames do not switch the viewer back.
                assert_eq!(current, h, "at {t} ms");
            }
        }
        // The full layer comes steadily again: after two seconds it is taken.
        let mut t = 9_000;
        while frame(&mut layers, f, ms(start, t), Quality::High, Some(current)) != f {
            frame(&mut layers, h, ms(start, t + 5), Quality::High, Some(current));
            t += 100;
            assert!(t < 12_000, "the full layer should be taken back once steady");
        }
        assert!(t >= 11_000, "switched back after {} ms of steady frames only", t - 9_000);
    }
}
