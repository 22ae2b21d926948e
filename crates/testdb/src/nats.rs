//! NATS for tests: a subject of the test's own on the NATS server named by
//! `SHOUWANG_TEST_NATS_URL` (default `nats://127.0.0.1:4222`, JetStream on),
//! whose stream is deleted afterwards, and a link to it that the test can cut.
//!
//! As with the databases, [`TestNats::fresh`] prints `SKIP` and returns
//! `None` when the server cannot be reached, unless `SHOUWANG_REQUIRE_ALL=1`.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::require_all;

const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

/// A NATS server and a subject no other test uses.
#[derive(Debug)]
pub struct TestNats {
    /// The server, `nats://host:port`.
    pub url: String,
    /// `shouwang.test.<hex>`: unique, so that tests running side by side
    /// (and their streams) never cross.
    pub subject: String,
}

impl TestNats {
    /// A fresh subject, or `None` (after printing why) when NATS cannot be
    /// reached and the run does not require it.
    pub async fn fresh(test: &str) -> Option<Self> {
        let url = std::env::var("SHOUWANG_TEST_NATS_URL").unwrap_or_else(|_| DEFAULT_NATS_URL.into());
        let reached = tokio::time::timeout(Duration::from_secs(5), async_nats::connect(&url)).await;
        match reached {
            Ok(Ok(client)) => drop(client),
            Ok(Err(e)) => return skip(test, &url, &e.to_string()),
            Err(_) => return skip(test, &url, "timed out connecting"),
        }
        let subject = format!("shouwang.test.{}", uuid::Uuid::now_v7().simple());
        Some(Self { url, subject })
    }

    /// The server's `host:port`, for a [`CuttableLink`].
    pub fn addr(&self) -> String {
        self.url.split_once("://").map_or(self.url.as_str(), |(_, rest)| rest).trim_end_matches('/').to_owned()
    }
}

fn skip(test: &str, url: &str, why: &str) -> Option<TestNats> {
    assert!(!require_all(), "NATS not reachable at {url} and SHOUWANG_REQUIRE_ALL=1: {why}");
    println!("SKIP {test}: NATS not reachable at {url}");
    None
}

impl Drop for TestNats {
    /// Deletes the stream the test's nodes made for its subject (streams
    /// outlive their clients; memory ones reserve their size). Best effort.
    fn drop(&mut self) {
        let (url, subject) = (self.url.clone(), self.subject.clone());
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let client = async_nats::connect(&url).await.ok()?;
                let js = async_nats::jetstream::new(client);
                let stream = js.stream_by_subject(&subject).await.ok()?;
                js.delete_stream(&stream).await.ok()
            })
        });
        let _ = cleanup.join();
    }
}

/// A TCP relay in front of a server whose link the test cuts and mends:
/// [`cut`](Self::cut) closes every connection through it and turns new ones
/// away until [`mend`](Self::mend). The client sees what it would see if the
/// network failed: its connection drops and its reconnects fail.
#[derive(Debug)]
pub struct CuttableLink {
    /// `nats://127.0.0.1:PORT`: point the client here.
    pub url: String,
    cut: Arc<watch::Sender<bool>>,
    accepting: tokio::task::JoinHandle<()>,
}

impl CuttableLink {
    /// A relay to `upstream` (`host:port`) on a free local port.
    pub async fn to(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a local port can be bound");
        let url = format!("nats://{}", listener.local_addr().expect("a bound listener has an address"));
        let cut = Arc::new(watch::Sender::new(false));
        let upstream = upstream.to_owned();
        let accepting = {
            let cut = cut.clone();
            tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if *cut.borrow() {
                        continue; // dropped: closed at once
                    }
                    let mut is_cut = cut.subscribe();
                    let upstream = upstream.clone();
                    tokio::spawn(async move {
                        let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                            _ = is_cut.wait_for(|cut| *cut) => {}
                        }
                    });
                }
            })
        };
        Self { url, cut, accepting }
    }

    /// Closes every connection through the relay and refuses new ones.
    pub fn cut(&self) {
        self.cut.send_replace(true);
    }

    /// Lets connections through again.
    pub fn mend(&self) {
        self.cut.send_replace(false);
    }
}

impl Drop for CuttableLink {
    fn drop(&mut self) {
        self.cut.send_replace(true);
        self.accepting.abort();
    }
}

/// Waits until `ok` holds, checking every 50 ms; panics naming `what` after
/// 10 s (a link going down or coming back takes the client a moment).
pub async fn until(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..200 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} within 10 s");
}
