//! The real `shouwang` binary as a child process of a benchmark.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::Command;

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// `shouwang demo` over a fresh data folder in `dir`, listening on `addr`,
/// with no simulator and none of this process's `SHOUWANG_*` settings.
/// Nothing but the benchmark's requests makes events (no alert checks, no
/// presence sweeps within a run), and no UDP port is held.
pub fn quiet_demo(binary: &Path, dir: &Path, addr: SocketAddr) -> Command {
    let mut c = Command::new(binary);
    c.arg("demo").arg("--data-dir").arg(dir.join("data")).arg("--bind").arg(addr.to_string());
    c.args(["--simulate-every-ms", "0"]).current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SHOUWANG_") {
            c.env_remove(key);
        }
    }
    c.env("SHOUWANG_MEDIA__BIND", "127.0.0.1:0")
        .env("SHOUWANG_ALERTS__CHECK_SECONDS", "3600")
        .env("SHOUWANG_PRESENCE_CHECK_SECONDS", "3600");
    c
}
