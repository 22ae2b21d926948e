//! A real TURN server (coturn, Debian's `coturn`) on 127.0.0.1 for the
//! browser tests, with the TURN REST API scheme Shouwang hands out
//! credentials for (`use-auth-secret`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::bail;
use tempfile::TempDir;

use crate::{Process, STARTUP_TIMEOUT, free_port, require_all};

const TURNSERVER: &str = "/usr/bin/turnserver";

/// A coturn process, stopped when dropped.
#[derive(Debug)]
pub struct TurnServer {
    addr: SocketAddr,
    process: Process,
    _dir: TempDir,
}

impl TurnServer {
    /// The shared secret it checks credentials with.
    pub const SECRET: &str = "e2e-turn-secret-0123456789";

    /// Starts coturn on a free port of 127.0.0.1 (TCP and UDP, no TLS),
    /// relaying to loopback peers; `None` after printing the skip line when
    /// coturn is not installed. Panics instead when `SHOUWANG_REQUIRE_ALL=1`.
    pub async fn start_or_skip() -> anyhow::Result<Option<Self>> {
        if !Path::new(TURNSERVER).is_file() {
            assert!(!require_all(), "SHOUWANG_REQUIRE_ALL=1 but {TURNSERVER} is missing (apt-get install coturn)");
            println!("SKIP turn: {TURNSERVER} not found");
            return Ok(None);
        }
        let dir = tempfile::Builder::new().prefix("shouwang-e2e-turn-").tempdir()?;
        let port = free_port()?;
        let relay_from = 40_000 + (port % 20_000);
        let mut command = Command::new(TURNSERVER);
        command.args(["-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", "--realm=shouwang"]);
        command.arg(format!("--listening-port={port}"));
        command.args([format!("--min-port={relay_from}"), format!("--max-port={}", relay_from + 200)]);
        command.args(["--use-auth-secret", &format!("--static-auth-secret={}", Self::SECRET)]);
        // The SFU is on loopback too; coturn refuses such peers by default.
        command.args(["--allow-loopback-peers", "--no-tls", "--no-dtls", "--no-cli", "--log-file=stdout"]);
        command.args(["--simple-log", "--verbose"]);
        command.arg(format!("--userdb={}", dir.path().join("turndb").display()));
        command.arg(format!("--pidfile={}", dir.path().join("turnserver.pid").display()));
        let mut process = Process::spawn("turnserver", &mut command, dir.path().join("turnserver.log"))?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if let Some(status) = process.exited() {
                bail!("turnserver exited ({status}); its output:\n{}", process.log_tail(30));
            }
            if Instant::now() >= deadline {
                bail!("turnserver did not listen on {addr}; its output:\n{}", process.log_tail(30));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Some(Self { addr, process, _dir: dir }))
    }

    /// Where it listens (TCP and UDP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        self.process.log_tail(lines)
    }
}
