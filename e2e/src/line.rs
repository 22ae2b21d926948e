//! A line between a browser and the server that a test can cut and restore.
//!
//! While cut, every open connection through it is dropped and new ones are
//! closed as soon as they arrive: what a tunnel or a lost mountain signal
//! does to a phone or an HQ laptop. The browser sees real closed sockets, so
//! its own reconnect logic is what gets tested.

use std::net::{Ipv4Addr, SocketAddr};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A cuttable TCP relay to one address.
#[derive(Debug)]
pub struct Line {
    addr: SocketAddr,
    cut: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Line {
    /// Starts relaying from a fresh port on 127.0.0.1 to `to`.
    pub async fn start(to: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let (cut, _) = watch::channel(false);
        let watching = cut.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *watching.borrow() {
                    drop(client);
                    continue;
                }
                tokio::spawn(relay(client, to, watching.subscribe()));
            }
        });
        Ok(Self { addr, cut, task })
    }

    /// `http://127.0.0.1:PORT`, to open pages through the line.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Drops every connection and refuses new ones until [`Line::restore`].
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        self.task.abort();
        self.cut.send_replace(true);
    }
}

/// Copies bytes both ways until either side closes or the line is cut.
async fn relay(mut client: TcpStream, to: SocketAddr, mut cut: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(to).await else { return };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        _ = cut.wait_for(|c| *c) => {}
    }
}
