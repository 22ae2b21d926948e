//! Counters the driver task bumps and any handle reads, without locks.
//!
//! The driver is the only writer, so `Relaxed` ordering suffices: a reader
//! wants recent figures, not a consistent cut across them.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of what the SFU has done since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SfuStats {
    /// Rooms with at least one participant.
    pub rooms: u64,
    /// Participants in all rooms.
    pub peers: u64,
    /// ICE-TCP connections open.
    pub tcp_links: u64,
    /// Datagrams read from the UDP socket, and packets from TCP connections.
    pub packets_received: u64,
    /// Bytes of those datagrams.
    pub bytes_received: u64,
    /// Datagrams dropped: unparseable, or from a source no participant
    /// accepts.
    pub packets_dropped: u64,
    /// Datagrams and TCP packets sent (media, RTCP, ICE and DTLS alike).
    pub packets_sent: u64,
    /// Bytes of those datagrams.
    pub bytes_sent: u64,
    /// Packets not sent because the socket's send buffer (or a TCP
    /// connection's queue) was full.
    pub packets_send_dropped: u64,
    /// Media frames handed to a subscriber, one per subscriber.
    pub frames_forwarded: u64,
    /// Payload bytes of those frames.
    pub bytes_forwarded: u64,
    /// Frames handed to the recording thread (recording on).
    pub frames_recorded: u64,
    /// Frames not recorded because the recording thread was behind (a
    /// slow disk).
    pub recording_frames_dropped: u64,
}

/// The live counters behind [`SfuStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub rooms: AtomicU64,
    pub peers: AtomicU64,
    pub tcp_links: AtomicU64,
    pub packets_received: AtomicU64,
    pub bytes_received: AtomicU64,
    pub packets_dropped: AtomicU64,
    pub packets_sent: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub packets_send_dropped: AtomicU64,
    pub frames_forwarded: AtomicU64,
    pub bytes_forwarded: AtomicU64,
    pub frames_recorded: AtomicU64,
    pub recording_frames_dropped: AtomicU64,
}

impl Counters {
    pub fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn set(counter: &AtomicU64, n: usize) {
        counter.store(n as u64, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> SfuStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SfuStats {
            rooms: get(&self.rooms),
            peers: get(&self.peers),
            tcp_links: get(&self.tcp_links),
            packets_received: get(&self.packets_received),
            bytes_received: get(&self.bytes_received),
            packets_dropped: get(&self.packets_dropped),
            packets_sent: get(&self.packets_sent),
            bytes_sent: get(&self.bytes_sent),
            packets_send_dropped: get(&self.packets_send_dropped),
            frames_forwarded: get(&self.frames_forwarded),
            bytes_forwarded: get(&self.bytes_forwarded),
            frames_recorded: get(&self.frames_recorded),
            recording_frames_dropped: get(&self.recording_frames_dropped),
        }
    }
}
