//! A UDP link that loses packets, between a browser and the server's SFU: a
//! poor mountain network, made of real sockets (the test machine has no
//! network emulator to set up).
//!
//! The browser sends to the relay instead of the SFU (the test points the
//! server's UDP candidate at it); the relay forwards everything to the SFU
//! from a socket of its own, except every `n`-th RTP or RTCP packet from the
//! browser, and passes every answer back. ICE and DTLS are not dropped, so
//! the call always comes up and the loss hits its media only.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// A relay to the SFU that drops one in `n` of the browser's media packets.
#[derive(Debug)]
pub struct LossyUdp {
    addr: SocketAddr,
    dropped: Arc<AtomicU64>,
    tasks: [JoinHandle<()>; 2],
}

impl LossyUdp {
    /// Relays from a fresh port on 127.0.0.1 to `sfu`, dropping every
    /// `n`-th media packet on the way there.
    pub async fn start(sfu: SocketAddr, n: u64) -> anyhow::Result<Self> {
        anyhow::ensure!(n >= 2, "dropping every packet is a cut line, not a lossy one");
        let browser_side = Arc::new(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?);
        let sfu_side = Arc::new(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?);
        let addr = browser_side.local_addr()?;
        let browser: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let dropped = Arc::new(AtomicU64::new(0));

        let (inbound, outbound) = (Arc::clone(&browser_side), Arc::clone(&sfu_side));
        let (seen, count) = (Arc::clone(&browser), Arc::clone(&dropped));
        let to_sfu = tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            let mut media = 0u64;
            while let Ok((len, from)) = inbound.recv_from(&mut buf).await {
                *seen.lock().expect("no relay task panics holding it") = Some(from);
                // RTP and RTCP start with version 2 (RFC 7983: 128–191).
                if buf[..len].first().is_some_and(|b| (128..=191).contains(b)) {
                    media += 1;
                    if media.is_multiple_of(n) {
                        count.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                }
                let _ = outbound.send_to(&buf[..len], sfu).await;
            }
        });
        let to_browser = tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            while let Ok((len, _)) = sfu_side.recv_from(&mut buf).await {
                let to = *browser.lock().expect("no relay task panics holding it");
                if let Some(to) = to {
                    let _ = browser_side.send_to(&buf[..len], to).await;
                }
            }
        });
        Ok(Self { addr, dropped, tasks: [to_sfu, to_browser] })
    }

    /// The port browsers send to.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Media packets dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for LossyUdp {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
