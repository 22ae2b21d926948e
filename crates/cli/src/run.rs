//! `serve`, `demo` and `migrate`: configuration, logging, the server's life.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use shouwang_server::{App, Config};
use shouwang_store::Store;

use crate::Place;

/// Prints a line for the operator. Unlike `println!`, it never panics when
/// standard output is gone (a supervisor that closed the pipe): the server
/// matters more than its banner.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Loads the configuration: defaults, file, environment, then the flags.
pub fn load_config(file: Option<&Path>, place: &Place) -> anyhow::Result<Config> {
    let (mut config, loaded) = Config::load(file, std::env::vars())?;
    if let Some(b) = place.bind {
        config.bind = b;
    }
    if let Some(d) = &place.data_dir {
        config.data_dir = d.clone();
    }
    if let Some(t) = &place.tls {
        anyhow::ensure!(
            ["off", "self-signed", "files"].contains(&t.as_str()),
            "--tls must be off, self-signed or files"
        );
        config.tls.mode = t.clone();
    }
    init_logging(&config);
    for key in loaded.unknown_keys {
        tracing::warn!(key = %key, "unknown configuration key ignored");
    }
    Ok(config)
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SHOUWANG_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    // A second call (tests running commands in one process) keeps the first.
    let _ = if config.log_format == "json" { builder.json().try_init() } else { builder.try_init() };
}

/// Opens the store for `config`, creating the data folder first.
pub async fn open_store(config: &Config, sqlite_file: &str) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data folder {}", config.data_dir.display()))?;
    let options = config.store_options(sqlite_file);
    Store::open(&options).await.with_context(|| format!("opening the database {}", redact(&options.url)))
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Runs the server until a shutdown signal. `demo`: seed the demo county and
/// run its simulator every so many milliseconds (0: no simulator).
async fn run_server(config: Config, store: Store, demo: Option<u64>) -> anyhow::Result<()> {
    let tls = shouwang_server::tls::rustls_config(&config).await?;
    let https = tls.is_some();
    let bind = config.bind;
    let app = App::start(config, store.clone(), https, demo.is_some()).await?;
    let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("listening on {bind}"))?;
    let scheme = if https { "https" } else { "http" };
    let shown_host = if bind.ip().is_unspecified() { "127.0.0.1".to_owned() } else { bind.ip().to_string() };
    let url = format!("{scheme}://{shown_host}:{}", listener.local_addr()?.port());
    match demo {
        Some(every_ms) => {
            say!("Seeding the demo county (卢氏县)…");
            let seeded = shouwang_server::demo::seed(&store, &app.state.writer).await?;
            say!("Shouwang demo is running at {url}");
            say!("Sign in as any of: {} (password: demo)", shouwang_server::DEMO_LOGINS.join(", "));
            if every_ms > 0 {
                let writer = app.state.writer.clone();
                let stop = app.state.shutdown.subscribe();
                let presence = Some(app.state.presence.clone());
                let every = Duration::from_millis(every_ms);
                tokio::spawn(shouwang_server::demo::simulate(store.clone(), writer, seeded, presence, every, stop));
            }
        }
        None => {
            say!("Shouwang is running at {url}");
            if let Some(token) = shouwang_server::bootstrap::setup_token(&store, &app.state.writer).await? {
                say!("No accounts yet. Create the first administrator at:");
                say!("  {url}/setup?token={token}");
                say!("or from the shell: shouwang user add NAME --role admin --org CODE --root-name NAME");
            }
        }
    }
    tracing::info!(%url, "listening");
    app.serve(listener, tls, shutdown_signal()).await?;
    // A connection still held by a straggling task must not keep the process up.
    let _ = tokio::time::timeout(Duration::from_secs(5), store.close()).await;
    tracing::info!("stopped");
    Ok(())
}

/// `shouwang serve`.
pub async fn serve(file: Option<&Path>, place: &Place) -> anyhow::Result<()> {
    let config = load_config(file, place)?;
    let store = open_store(&config, "shouwang.db").await?;
    run_server(config, store, None).await
}

/// `shouwang demo`.
pub async fn demo(file: Option<&Path>, place: &Place, every_ms: u64) -> anyhow::Result<()> {
    let config = load_config(file, place)?;
    if config.database_url.is_empty() {
        // A fresh county at every start: remove the last demo's database.
        for suffix in ["", "-wal", "-shm"] {
            let path = config.data_dir.join(format!("demo.db{suffix}"));
            if path.exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing the old demo database {}", path.display()))?;
            }
        }
    }
    let store = open_store(&config, "demo.db").await?;
    run_server(config, store, Some(every_ms)).await
}

/// `shouwang migrate`.
pub async fn migrate(file: Option<&Path>, place: &Place) -> anyhow::Result<()> {
    let config = load_config(file, place)?;
    let store = open_store(&config, "shouwang.db").await?;
    say!("The schema of {} is up to date.", redact(&store_url(&config)));
    store.close().await;
    Ok(())
}

/// The URL `serve` uses.
pub fn store_url(config: &Config) -> String {
    config.database_url_or("shouwang.db")
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted_from_database_urls() {
        assert_eq!(super::redact("postgres://app:s3cret@db:5432/sw"), "postgres://app:***@db:5432/sw");
        assert_eq!(super::redact("postgres://postgres@127.0.0.1/test"), "postgres://postgres@127.0.0.1/test");
        assert_eq!(super::redact("sqlite://./shouwang-data/shouwang.db"), "sqlite://./shouwang-data/shouwang.db");
    }
}
