//! Benchmarks of Shouwang against references measured in the same run.
//!
//! `shouwang-bench writes` measures, one after another in one process and
//! with the same load generator:
//!
//! - (a) a bare axum handler that parses the same JSON and answers 201, with
//!   no I/O: the ceiling this machine puts on HTTP itself;
//! - (b) `POST /api/v1/duty-log` through the real server: token lookup,
//!   policy, the group-commit writer, SQLite with `synchronous=FULL`;
//! - (c) raw batched inserts of the same rows into the same SQLite file
//!   through the store's pool: the ceiling SQLite itself puts on writes.
//!
//! It then runs diagnostics that split (b) into its parts (the writer alone,
//! the per-request reads alone) and prints a markdown table. See
//! `docs/BENCHMARKS.md` for the figures and what they mean.

mod child;
mod fanout;
mod load;
mod offline_sync;
mod page_weight;
mod screenings;
mod sfu;
mod sys;
mod writes;

use clap::{Parser, Subcommand};

/// Shouwang benchmarks.
#[derive(Debug, Parser)]
#[command(name = "shouwang-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Durable single-record writes through the API vs a bare axum handler
    /// vs raw batched inserts, all in one run.
    Writes(writes::WritesArgs),
    /// Screening batch ingest, single creates and statistics at 10M, each beside a same-run reference.
    Screenings(screenings::ScreeningsArgs),
    /// SFU forwarding cost: Shouwang's SFU beside Janus and a UDP reflector.
    Sfu(sfu::SfuArgs),
    /// Live fan-out: WebSocket subscribers filtered by scope, beside a bare
    /// tokio-broadcast relay (and the relay through NATS).
    Fanout(fanout::FanoutArgs),
    /// A post's offline data (`/api/v1/me/post/offline`), first sync and
    /// deltas, over an emulated 256 kbit/s, 300 ms link, after a year of
    /// history at the post; then the officer's page weight on first load.
    OfflineSync(offline_sync::OfflineSyncArgs),
}

/// The allocator the server binary uses (see `crates/cli/src/main.rs`), for
/// every phase alike: the bare handler, the API and the load generator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Writes(args) => writes::run(&args),
        Command::Screenings(args) => screenings::run(&args),
        Command::Sfu(args) => sfu::run(&args),
        Command::Fanout(args) => fanout::run(&args),
        Command::OfflineSync(args) => offline_sync::run(&args),
    }
}
