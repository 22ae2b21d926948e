//! The SFU's two ways in: its UDP socket, and ICE-TCP on the same port for
//! networks that block UDP (RFC 6544; each packet framed by a two-byte length,
//! RFC 4571).
//!
//! Browsers try UDP first (its candidate has the higher priority) and fall
//! back to TCP by themselves when no UDP gets through. Over TCP the server is
//! passive: browsers connect to it. Each connection gets a task that reads
//! frames and hands them to the driver, and one that writes what the driver
//! queues for it; the driver sees a frame exactly like a datagram, tagged
//! [`Protocol::Tcp`], and str0m tells the two apart from there.
//!
//! A connection costs a task pair and a queue, so they are bounded: at most
//! [`MAX_TCP_LINKS`] at once, a frame of at most [`RECV_BUFFER_BYTES`], and a
//! connection that no participant has claimed within the connect timeout is
//! closed by the driver.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::net::{Protocol, Transmit};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::stats::Counters;

/// Big enough for any packet a WebRTC peer sends (they keep under ~1200
/// bytes; jumbo frames on a LAN stay under this). A TCP frame announcing more
/// is not WebRTC, and its connection is closed.
pub(crate) const RECV_BUFFER_BYTES: usize = 2048;

/// TCP connections open at once; more are closed as they arrive. Each call
/// participant on TCP needs one.
pub(crate) const MAX_TCP_LINKS: usize = 1024;

/// Packets queued for one TCP connection; when the browser reads slower than
/// that, later packets are dropped as a full UDP send buffer would drop them
/// (media over TCP must not queue seconds behind a slow link).
const TCP_SEND_QUEUE: usize = 256;

/// What the TCP side tells the driver.
pub(crate) enum TcpEvent {
    /// A browser connected; `out` queues packets to it.
    Opened { peer: SocketAddr, out: mpsc::Sender<Vec<u8>> },
    /// A packet arrived on a connection.
    Packet { peer: SocketAddr, data: Vec<u8> },
    /// The connection ended (closed by the browser, broken, or malformed).
    Closed { peer: SocketAddr },
}

/// A TCP connection as the driver keeps it.
struct TcpLink {
    out: mpsc::Sender<Vec<u8>>,
    opened: Instant,
    /// A participant has accepted a packet from it.
    claimed: bool,
}

/// Where packets go out: the UDP socket, or the TCP connection a browser
/// opened.
pub(crate) struct Net {
    pub udp: UdpSocket,
    tcp: HashMap<SocketAddr, TcpLink>,
}

impl Net {
    pub fn new(udp: UdpSocket) -> Net {
        Net { udp, tcp: HashMap::new() }
    }

    /// Sends what an `Rtc` produced on the transport it came in on.
    pub fn send(&self, transmit: &Transmit, counters: &Counters) {
        match transmit.proto {
            Protocol::Udp => self.send_udp(&transmit.contents, transmit.destination, counters),
            _ => self.send_tcp(&transmit.contents, transmit.destination, counters),
        }
    }

    /// Sends one datagram without waiting: if the socket's buffer is full the
    /// datagram is dropped, as the network itself might have, and counted.
    fn send_udp(&self, contents: &[u8], destination: SocketAddr, counters: &Counters) {
        match self.udp.try_send_to(contents, destination) {
            Ok(n) => {
                Counters::add(&counters.packets_sent, 1);
                Counters::add(&counters.bytes_sent, n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                Counters::add(&counters.packets_send_dropped, 1);
            }
            Err(e) => {
                Counters::add(&counters.packets_send_dropped, 1);
                tracing::debug!(udp.destination = %destination, error = %e, "datagram not sent");
            }
        }
    }

    fn send_tcp(&self, contents: &[u8], destination: SocketAddr, counters: &Counters) {
        let Some(link) = self.tcp.get(&destination) else {
            // The connection has gone; the browser will find another way.
            Counters::add(&counters.packets_send_dropped, 1);
            return;
        };
        match link.out.try_send(contents.to_vec()) {
            Ok(()) => {
                Counters::add(&counters.packets_sent, 1);
                Counters::add(&counters.bytes_sent, contents.len());
            }
            Err(_) => Counters::add(&counters.packets_send_dropped, 1),
        }
    }

    pub fn on_tcp_opened(&mut self, peer: SocketAddr, out: mpsc::Sender<Vec<u8>>, now: Instant, counters: &Counters) {
        self.tcp.insert(peer, TcpLink { out, opened: now, claimed: false });
        Counters::set(&counters.tcp_links, self.tcp.len());
    }

    /// Forgets a connection; dropping its queue ends its tasks and closes it.
    pub fn close_tcp(&mut self, peer: SocketAddr, counters: &Counters) {
        if self.tcp.remove(&peer).is_some() {
            Counters::set(&counters.tcp_links, self.tcp.len());
        }
    }

    /// Notes that a participant took a packet from this connection.
    pub fn claim_tcp(&mut self, peer: SocketAddr) {
        if let Some(link) = self.tcp.get_mut(&peer) {
            link.claimed = true;
        }
    }

    /// Closes connections no participant has claimed within `timeout`: a
    /// scanner, or a browser whose call never started.
    pub fn close_unclaimed(&mut self, now: Instant, timeout: Duration, counters: &Counters) {
        let before = self.tcp.len();
        self.tcp.retain(|_, link| link.claimed || now.saturating_duration_since(link.opened) < timeout);
        if self.tcp.len() != before {
            Counters::set(&counters.tcp_links, self.tcp.len());
        }
    }

    /// When the next unclaimed connection is due to be closed.
    pub fn next_unclaimed_deadline(&self, timeout: Duration) -> Option<Instant> {
        self.tcp.values().filter(|link| !link.claimed).map(|link| link.opened + timeout).min()
    }
}

/// Accepts browsers' TCP connections until the driver is gone, each with a
/// reader and a writer task; at most [`MAX_TCP_LINKS`] at a time.
pub(crate) async fn accept(listener: TcpListener, events: mpsc::Sender<TcpEvent>) {
    let slots = Arc::new(Semaphore::new(MAX_TCP_LINKS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // E.g. out of file descriptors: wait rather than spin.
                tracing::warn!(error = %e, "ICE-TCP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if events.is_closed() {
            return;
        }
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::warn!(tcp.peer = %peer, "ICE-TCP connection refused: {MAX_TCP_LINKS} already open");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (out, queued) = mpsc::channel(TCP_SEND_QUEUE);
        if events.send(TcpEvent::Opened { peer, out }).await.is_err() {
            return;
        }
        let (reader, writer) = stream.into_split();
        let (writer_done, stop_reading) = oneshot::channel::<()>();
        tokio::spawn(write_frames(writer, queued, writer_done));
        let events = events.clone();
        tokio::spawn(async move {
            let reason = read_frames(reader, peer, &events, stop_reading).await;
            tracing::debug!(tcp.peer = %peer, reason, "ICE-TCP connection ended");
            let _ = events.send(TcpEvent::Closed { peer }).await;
            drop(slot);
        });
    }
}

/// Reads length-framed packets and hands them to the driver until the
/// connection ends, a frame is malformed, or the writer stops (the driver
/// closed the connection). Returns why it stopped.
async fn read_frames(
    mut reader: OwnedReadHalf,
    peer: SocketAddr,
    events: &mpsc::Sender<TcpEvent>,
    mut stop: oneshot::Receiver<()>,
) -> &'static str {
    loop {
        let frame = tokio::select! {
            frame = read_frame(&mut reader) => frame,
            // A partly read frame is of no use once the connection is closing.
            _ = &mut stop => return "closed by the server",
        };
        match frame {
            Ok(Some(data)) => {
                // Waiting here pushes back on the browser through TCP itself.
                if events.send(TcpEvent::Packet { peer, data }).await.is_err() {
                    return "the SFU stopped";
                }
            }
            Ok(None) => return "malformed frame length",
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => return "closed by the browser",
            Err(_) => return "broken",
        }
    }
}

/// One RFC 4571 frame; `None` when its length cannot be a WebRTC packet.
async fn read_frame(reader: &mut OwnedReadHalf) -> std::io::Result<Option<Vec<u8>>> {
    let len = usize::from(reader.read_u16().await?);
    if len == 0 || len > RECV_BUFFER_BYTES {
        return Ok(None);
    }
    let mut data = vec![0; len];
    reader.read_exact(&mut data).await?;
    Ok(Some(data))
}

/// Writes queued packets, each behind its length, batching what is queued at
/// once into one write. Ends when the driver drops the queue, or the
/// connection breaks; either way the reader is told to stop.
async fn write_frames(mut writer: OwnedWriteHalf, mut queued: mpsc::Receiver<Vec<u8>>, _done: oneshot::Sender<()>) {
    let mut buf = Vec::with_capacity(16 * 1024);
    while let Some(packet) = queued.recv().await {
        buf.clear();
        frame_into(&mut buf, &packet);
        while buf.len() < 64 * 1024 {
            let Ok(packet) = queued.try_recv() else { break };
            frame_into(&mut buf, &packet);
        }
        if writer.write_all(&buf).await.is_err() {
            break;
        }
    }
    let _ = writer.shutdown().await;
}

fn frame_into(buf: &mut Vec<u8>, packet: &[u8]) {
    // Packets come from str0m, far below 64 KiB.
    let len = u16::try_from(packet.len()).unwrap_or(u16::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(&packet[..usize::from(len)]);
}

/// Binds the UDP socket, and a TCP listener on the same port when `tcp` is
/// on. With port 0 the system picks the UDP port, and the TCP listener takes
/// the same number (tried a few times, in case another program holds it).
pub(crate) async fn bind(addr: SocketAddr, tcp: bool) -> std::io::Result<(UdpSocket, Option<TcpListener>)> {
    let attempts = if addr.port() == 0 && tcp { 8 } else { 1 };
    let mut last = None;
    for _ in 0..attempts {
        let udp = UdpSocket::bind(addr).await?;
        if !tcp {
            return Ok((udp, None));
        }
        let port = udp.local_addr()?.port();
        match TcpListener::bind(SocketAddr::new(addr.ip(), port)).await {
            Ok(listener) => return Ok((udp, Some(listener))),
            Err(e) => last = Some(e),
        }
    }
    let e = last.expect("at least one attempt was made");
    Err(std::io::Error::new(e.kind(), format!("TCP port for ICE-TCP: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_the_packet_behind_its_big_endian_length() {
        let mut buf = Vec::new();
        frame_into(&mut buf, &[7; 300]);
        frame_into(&mut buf, b"ab");
        assert_eq!(&buf[..2], &[1, 44]);
        assert_eq!(buf.len(), 2 + 300 + 2 + 2);
        assert_eq!(&buf[302..], &[0, 2, b'a', b'b']);
    }
}
