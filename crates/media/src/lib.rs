//! The SFU (selective forwarding unit): calls between browsers, with the
//! server in the middle forwarding each participant's audio and video to the
//! others in the same room.
//!
//! # Why it is built so
//!
//! WebRTC is done by [`str0m`], a sans-IO library: an `Rtc` is a state machine
//! that is fed datagrams and time and hands back datagrams to send, timeouts
//! and events. That lets one tokio task own the single UDP socket and every
//! participant's `Rtc` with no locks at all (the same shape as str0m's
//! `examples/chat.rs`). The rest of the server talks to that task through an
//! [`Sfu`] handle, which sends it typed commands over a channel; the task
//! talks back through a stream of [`SfuEvent`]s.
//!
//! The server is ICE-lite with one host candidate (`announce:port`), so a
//! browser only needs to reach one UDP port; all participants share it and
//! datagrams are told apart by str0m (`Rtc::accepts`). Where UDP is blocked,
//! the same port on TCP is a second, passive candidate (ICE-TCP): browsers
//! connect to it by themselves when no UDP gets through.
//!
//! # How to drive it
//!
//! 1. [`Sfu::start`] binds the socket and spawns the task.
//! 2. A browser makes an offer (its own tracks as `sendonly`, see below) and
//!    the signaling layer calls [`Sfu::join`]; the returned answer goes back to
//!    the browser.
//! 3. Whenever the SFU has something new for a participant to receive (another
//!    participant's track, or the end of one) it emits [`SfuEvent::Offer`]; the
//!    browser answers and the signaling layer calls [`Sfu::answer`]. The first
//!    such offer comes once the participant is connected
//!    ([`SfuEvent::Connected`]). Every forwarded track arrives in the browser's
//!    `ontrack` with `streams[0].id` equal to the publisher's [`PeerKey`].
//! 4. A browser that needs to renegotiate itself (an ICE restart after a
//!    network switch) calls [`Sfu::renegotiate`]. The server is the impolite
//!    side: while its own offer waits for an answer, it refuses with
//!    [`MediaError::OfferPending`], and the browser answers first, then retries.
//! 5. [`Sfu::leave`] ends a participant; the SFU also removes participants that
//!    fail, go silent or never connect, and reports every removal as
//!    [`SfuEvent::Left`].
//!
//! For each participant, the signaling layer must deliver the reply of
//! `join`/`renegotiate` to the browser before any later [`SfuEvent::Offer`] for
//! it; one sequential task per WebSocket does that naturally.

#![deny(missing_docs)]

mod driver;
mod net;
mod participant;
mod record;
mod sfu;
mod stats;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

pub use participant::Quality;
pub use sfu::Sfu;
pub use stats::SfuStats;

/// The most participants one room holds.
pub const MAX_PEERS_PER_ROOM: usize = 16;

/// Where the SFU listens and what it tells browsers.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    /// The UDP address to bind, e.g. `0.0.0.0:3478`, or `127.0.0.1:0` in tests.
    pub bind: SocketAddr,
    /// The address put in the ICE candidate browsers send media to. `None`
    /// means the bind address, or `127.0.0.1` when that is unspecified
    /// (`0.0.0.0`/`::`), which only suits a browser on the same machine.
    pub announce: Option<IpAddr>,
    /// Whether browsers may also send media over TCP to the same port
    /// (ICE-TCP), for networks that block UDP.
    pub tcp: bool,
    /// How long a participant may take to connect after joining.
    pub connect_timeout: Duration,
    /// How long a connected participant may send nothing at all (no media, no
    /// RTCP, no ICE consent checks) before it is taken as gone.
    pub silence_timeout: Duration,
    /// Where calls are recorded, when they are: each published track to a
    /// file of its own under `<dir>/<room>/` (Opus in Ogg, VP8 and VP9 in
    /// IVF, H.264 as Annex B), named after the label given at
    /// [`Sfu::join`]. `None` (the default) records nothing.
    pub recordings: Option<PathBuf>,
}

impl MediaConfig {
    /// A configuration binding `bind` on UDP and TCP, announcing it, with the
    /// default timeouts (20 s to connect, 8 s of silence).
    pub fn new(bind: SocketAddr) -> MediaConfig {
        MediaConfig {
            bind,
            announce: None,
            tcp: true,
            connect_timeout: Duration::from_secs(20),
            silence_timeout: Duration::from_secs(8),
            recordings: None,
        }
    }

    /// The address of the ICE candidate for a socket bound at `local`.
    fn candidate_addr(&self, local: SocketAddr) -> SocketAddr {
        let ip = self.announce.unwrap_or(match local.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        });
        SocketAddr::new(ip, local.port())
    }
}

impl Default for MediaConfig {
    /// Every interface on port 3478.
    fn default() -> MediaConfig {
        MediaConfig::new(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 3478))
    }
}

/// A participant, as the signaling layer identifies it (for instance its
/// WebSocket connection). Unique across all rooms while the participant is in
/// a call. Its decimal form is the stream id browsers see on its tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKey(pub u64);

impl fmt::Display for PeerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What the SFU tells the signaling layer, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SfuEvent {
    /// An offer to send to the participant's browser; its answer goes to
    /// [`Sfu::answer`].
    Offer {
        /// Whom the offer is for.
        peer: PeerKey,
        /// The SDP offer.
        sdp: String,
    },
    /// The participant's media connection is up (ICE and DTLS done).
    Connected {
        /// Who connected.
        peer: PeerKey,
    },
    /// The participant is no longer in the call; tell the others.
    Left {
        /// Who left.
        peer: PeerKey,
        /// The room it was in.
        room: String,
        /// Why.
        reason: LeftReason,
    },
}

/// Why a participant is no longer in the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftReason {
    /// [`Sfu::leave`] was called.
    Left,
    /// The browser closed the connection.
    Closed,
    /// Nothing arrived from it for too long, or it never connected.
    Timeout,
    /// The connection broke (a DTLS or ICE failure).
    Failed,
}

impl fmt::Display for LeftReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LeftReason::Left => "left",
            LeftReason::Closed => "closed",
            LeftReason::Timeout => "timeout",
            LeftReason::Failed => "failed",
        })
    }
}

/// Why a call operation was refused. The messages are written for the person
/// at the other end and fit a JSON error body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The SDP could not be parsed or used.
    #[error("the session description could not be used: {0}")]
    BadSdp(String),
    /// No participant with this key is in a call.
    #[error("this participant is not in a call")]
    UnknownPeer,
    /// A participant with this key is already in a call.
    #[error("this participant is already in a call")]
    AlreadyJoined,
    /// The room already holds [`MAX_PEERS_PER_ROOM`] participants.
    #[error("the call is full: it holds at most {MAX_PEERS_PER_ROOM} participants")]
    TooManyInRoom,
    /// The server's own offer to this participant awaits an answer; answer it,
    /// then offer again.
    #[error("the server's offer awaits an answer; answer it, then renegotiate")]
    OfferPending,
    /// An answer came but no offer from the server awaits one.
    #[error("no offer from the server awaits an answer")]
    NoOfferPending,
    /// The SFU has shut down.
    #[error("the media service has stopped")]
    Closed,
}
