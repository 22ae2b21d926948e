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
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, Mid};
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
    /// A subscriber wants a keyframe of this track.
    KeyframeWanted { source: TrackSource, kind: KeyframeRequestKind },
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
    last_keyframe_request: Option<Instant>,
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
                if !data.contiguous {
                    // Frames were lost: the decoders downstream need a fresh start.
                    self.request_keyframe(data.mid, KeyframeRequestKind::Fir, data.network_time);
                }
                relays.push_back(Relay::Media { from: self.key, data });
            }
            Event::KeyframeRequest(request) => {
                let source = self.forwarded.iter().find_map(|f| match f.state {
                    ForwardState::Open(mid) if mid == request.mid => Some(f.source),
                    _ => None,
                });
                if let Some(source) = source {
                    relays.push_back(Relay::KeyframeWanted { source, kind: request.kind });
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
                self.published.push(Published { mid, kind, last_keyframe_request: None });
                relays.push_back(Relay::Published { source, kind });
            }
            (Some(index), false) => {
                self.published.swap_remove(index);
                relays.push_back(Relay::Unpublished { source });
            }
            _ => {}
        }
    }

    /// Asks the browser for a keyframe of a track it publishes, unless one was
    /// asked for very recently. Drain afterwards.
    pub fn request_keyframe(&mut self, mid: Mid, kind: KeyframeRequestKind, now: Instant) {
        let Some(track) = self.published.iter_mut().find(|p| p.mid == mid) else {
            return;
        };
        if track.kind != MediaKind::Video {
            return;
        }
        if track.last_keyframe_request.is_some_and(|at| now.saturating_duration_since(at) < KEYFRAME_REQUEST_INTERVAL) {
            return;
        }
        track.last_keyframe_request = Some(now);
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
        if let Err(e) = writer.request_keyframe(None, kind) {
            // Before the first packet there is no stream to ask on yet.
            tracing::debug!(peer = %self.key, error = %e, "keyframe request not sent");
        }
    }

    /// Writes another participant's frame to the m-line that forwards it, if
    /// that is negotiated. Returns whether it was written; drain afterwards.
    pub fn forward(&mut self, from: PeerKey, data: &MediaData) -> bool {
        let Some(mid) = self.forwarded.iter().find_map(|f| match f.state {
            ForwardState::Open(mid) if f.source.peer == from && f.source.mid == data.mid => {
                (self.receives_video || f.kind != MediaKind::Video).then_some(mid)
            }
            _ => None,
        }) else {
            return false;
        };
        let Some(writer) = self.rtc.writer(mid) else {
            return false;
        };
        // The browser's answer maps the codec to its own payload type.
        let Some(pt) = writer.match_params(data.params) else {
            return false;
        };
        match writer.write(pt, data.network_time, data.time, Arc::clone(&data.data)) {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(peer = %self.key, error = %e, "frame not forwarded");
                false
            }
        }
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
        self.forwarded.push(Forwarded { source, kind, state: ForwardState::ToOpen, source_gone: false });
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
