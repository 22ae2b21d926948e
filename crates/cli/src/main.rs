//! `shouwang`: the one binary. This file only parses the command line and
//! dispatches; each command lives in its own module.

mod backup;
mod run;
mod user;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Shouwang (守望): command and dispatch for local emergency response.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Configuration file (default: ./shouwang.toml if it exists). Every key
    /// can also be set as SHOUWANG_<KEY> in the environment.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

/// Where the server listens and keeps its data; overrides the configuration.
#[derive(Debug, Clone, clap::Args)]
pub struct Place {
    /// Address to listen on [config: bind; default 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    bind: Option<std::net::SocketAddr>,
    /// Folder for the SQLite database and certificates [config: data_dir;
    /// default ./shouwang-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// HTTPS: off, self-signed (made once, kept in the data folder, for a LAN
    /// trial), or files (tls.cert and tls.key in the configuration).
    #[arg(long, value_name = "MODE")]
    tls: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server on the configured database. On a database with no
    /// accounts it prints a one-time link for creating the first administrator.
    Serve(#[command(flatten)] Place),
    /// Run the server with a freshly seeded demo county (Lushi County, Henan),
    /// demo accounts with password `demo`, and a simulator that keeps the board
    /// moving. Uses its own database (demo.db in the data folder), rebuilt at
    /// every start; never touches the data of `serve`.
    Demo {
        #[command(flatten)]
        place: Place,
        /// Milliseconds between two simulated actions; 0 turns the simulator off.
        #[arg(long, default_value_t = 3000, value_name = "MS")]
        simulate_every_ms: u64,
    },
    /// Bring the database schema up to date and exit (serve does this too).
    Migrate(#[command(flatten)] Place),
    /// Manage accounts from the shell (for the first admin, or a lost password).
    #[command(subcommand)]
    User(user::UserCommand),
    /// Copy the SQLite database, consistently, while the server runs. For
    /// PostgreSQL, prints the pg_dump command to use instead.
    Backup {
        #[command(flatten)]
        place: Place,
        /// Where to write the copy (must not exist).
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
}

/// mimalloc rather than the system allocator: a request allocates and frees
/// many small objects across threads (the writer thread builds what the HTTP
/// workers free), where glibc's malloc took about a fifth of the server
/// workers' CPU time, much of it consolidating free lists. See
/// `docs/BENCHMARKS.md`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(place) => run::serve(cli.config.as_deref(), &place).await,
            Command::Demo { place, simulate_every_ms } => {
                run::demo(cli.config.as_deref(), &place, simulate_every_ms).await
            }
            Command::Migrate(place) => run::migrate(cli.config.as_deref(), &place).await,
            Command::User(cmd) => user::run(cli.config.as_deref(), cmd).await,
            Command::Backup { place, to } => backup::run(cli.config.as_deref(), &place, &to).await,
        }
    })
}
