//! The handle the rest of the server holds: each call becomes a [`Command`]
//! sent to the driver task, with a oneshot for the reply where there is one.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::driver::Driver;
use crate::net::{self, Net};
use crate::stats::{Counters, SfuStats};
use crate::{MediaConfig, MediaError, PeerKey, Quality, SfuEvent};

/// A request to the driver task.
pub(crate) enum Command {
    Join {
        room: String,
        peer: PeerKey,
        label: String,
        offer: String,
        reply: oneshot::Sender<Result<String, MediaError>>,
    },
    Answer {
        peer: PeerKey,
        answer: String,
        reply: oneshot::Sender<Result<(), MediaError>>,
    },
    Renegotiate {
        peer: PeerKey,
        offer: String,
        reply: oneshot::Sender<Result<String, MediaError>>,
    },
    Leave {
        peer: PeerKey,
    },
    ReceiveVideo {
        peer: PeerKey,
        on: bool,
    },
    Quality {
        peer: PeerKey,
        of: PeerKey,
        quality: Quality,
    },
    Shutdown {
        done: oneshot::Sender<()>,
    },
}

/// Packets from all ICE-TCP connections waiting for the driver; beyond that,
/// the connections' readers wait (and TCP slows the browsers down).
const TCP_EVENTS: usize = 4096;

/// A handle on the running SFU. Cheap to clone; the driver task stops once
/// every handle is dropped or [`Sfu::shutdown`] is called.
#[derive(Clone)]
pub struct Sfu {
    commands: mpsc::UnboundedSender<Command>,
    local_addr: SocketAddr,
    counters: Arc<Counters>,
}

impl Sfu {
    /// Binds the UDP socket (and the TCP port of the same number, when
    /// ICE-TCP is on) and spawns the driver task on the current tokio
    /// runtime. Returns the handle and the stream of events for the signaling
    /// layer, which must be read (events are buffered without bound).
    ///
    /// Fails if the socket cannot be bound or the announced address cannot be
    /// an ICE candidate (e.g. a multicast address).
    pub async fn start(config: MediaConfig) -> std::io::Result<(Sfu, mpsc::UnboundedReceiver<SfuEvent>)> {
        let (socket, listener) = net::bind(config.bind, config.tcp).await?;
        let local_addr = socket.local_addr()?;
        let candidate_addr = config.candidate_addr(local_addr);
        let counters = Arc::new(Counters::default());
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, event_rx) = mpsc::unbounded_channel();

        let driver = Driver::new(&config, Net::new(socket), candidate_addr, events, Arc::clone(&counters))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let tcp = listener.map(|listener| {
            let (tcp_events, tcp_rx) = mpsc::channel(TCP_EVENTS);
            tokio::spawn(net::accept(listener, tcp_events));
            tcp_rx
        });
        tracing::info!(udp.bind = %local_addr, candidate = %candidate_addr, tcp = tcp.is_some(), "SFU listening");
        tokio::spawn(driver.run(command_rx, tcp));

        let sfu = Sfu { commands, local_addr, counters };
        Ok((sfu, event_rx))
    }

    /// The address the UDP socket (and the ICE-TCP listener) is bound to,
    /// with the real port when the configuration asked for port 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A participant joins `room` with the browser's offer; returns the SDP
    /// answer. Once it is connected, existing participants' tracks are
    /// forwarded to it and its tracks to them, each by a server offer
    /// ([`SfuEvent::Offer`]).
    ///
    /// The offer must hold at least one m-line; the browser's own tracks are
    /// best offered `sendonly`. A participant that only watches can offer a
    /// `recvonly` audio transceiver, which the SFU leaves unused.
    ///
    /// `label` names the participant in the logs and its recordings' file
    /// names (e.g. its account), when calls are recorded.
    pub async fn join(&self, room: &str, peer: PeerKey, label: &str, offer_sdp: String) -> Result<String, MediaError> {
        let (reply, answer) = oneshot::channel();
        let label = label.to_owned();
        self.send(Command::Join { room: room.to_owned(), peer, label, offer: offer_sdp, reply })?;
        answer.await.map_err(|_| MediaError::Closed)?
    }

    /// The browser's answer to an [`SfuEvent::Offer`].
    pub async fn answer(&self, peer: PeerKey, answer_sdp: String) -> Result<(), MediaError> {
        let (reply, done) = oneshot::channel();
        self.send(Command::Answer { peer, answer: answer_sdp, reply })?;
        done.await.map_err(|_| MediaError::Closed)?
    }

    /// Browser-initiated renegotiation (e.g. an ICE restart after a network
    /// switch): offer in, answer out. Refused with
    /// [`MediaError::OfferPending`] while a server offer awaits its answer.
    pub async fn renegotiate(&self, peer: PeerKey, offer_sdp: String) -> Result<String, MediaError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Renegotiate { peer, offer: offer_sdp, reply })?;
        answer.await.map_err(|_| MediaError::Closed)?
    }

    /// Stops (or starts again) forwarding others' video to a participant,
    /// whose link is too weak for it: only their audio reaches it then,
    /// which frees its downlink for the voice. Starting again asks the
    /// publishers for keyframes. An unknown key is ignored.
    pub fn receive_video(&self, peer: PeerKey, on: bool) {
        // If the driver is gone, so is the participant: nothing to do.
        let _ = self.commands.send(Command::ReceiveVideo { peer, on });
    }

    /// Chooses which simulcast layer of `of`'s video reaches `peer`: the
    /// smallest (a tile among many, a weak link) or the largest (the
    /// default). A publisher that sends one layer is forwarded as it is.
    /// Unknown keys are ignored.
    pub fn prefer_quality(&self, peer: PeerKey, of: PeerKey, quality: Quality) {
        let _ = self.commands.send(Command::Quality { peer, of, quality });
    }

    /// Ends a participant's call. [`SfuEvent::Left`] follows with
    /// [`LeftReason::Left`](crate::LeftReason::Left); an unknown key is ignored.
    pub fn leave(&self, peer: PeerKey) {
        // If the driver is gone, so is the participant: nothing to do.
        let _ = self.commands.send(Command::Leave { peer });
    }

    /// Closes every participant's connection and stops the driver task;
    /// returns once it has stopped. Later calls fail with
    /// [`MediaError::Closed`].
    pub async fn shutdown(&self) {
        let (done, stopped) = oneshot::channel();
        if self.commands.send(Command::Shutdown { done }).is_ok() {
            let _ = stopped.await;
        }
    }

    /// Counters since start: rooms, participants, datagrams and frames.
    pub fn stats(&self) -> SfuStats {
        self.counters.snapshot()
    }

    fn send(&self, command: Command) -> Result<(), MediaError> {
        self.commands.send(command).map_err(|_| MediaError::Closed)
    }
}
