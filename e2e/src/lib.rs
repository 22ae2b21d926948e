//! Helpers for the browser tests in `tests/`: find the already built
//! `shouwang` binary, run it as a demo server, run chromedriver, and open a
//! headless Chromium session over WebDriver.
//!
//! Nothing here builds the binary: run `cargo build -p shouwang` first
//! (`.ci/run` does). A test starts with [`BrowserTools::find_or_skip`], which
//! prints `SKIP browser: chromium/chromedriver not found` and lets the test
//! pass when either program is missing, unless `SHOUWANG_REQUIRE_ALL=1`.
//!
//! Every process started here runs in a process group of its own and is
//! killed, with the whole group (so also the Chromium that chromedriver
//! started), when its handle is dropped; temporary folders go with it.
//!
//! Environment:
//! - `SHOUWANG_E2E_BINARY`: the `shouwang` binary to run (default: the one
//!   beside the test in the cargo target folder, then
//!   `$CARGO_TARGET_DIR/debug/shouwang`, then `<workspace>/target/debug/shouwang`);
//! - `SHOUWANG_REQUIRE_ALL=1`: a missing browser fails instead of skipping;
//! - `SHOUWANG_E2E_SCREENSHOTS=1`: write screenshots to `e2e/screenshots/`
//!   (the ones the README shows; Chinese needs a CJK font such as Debian's
//!   `fonts-noto-cjk`; `pngquant --quality=70-95 --strip` makes them a third
//!   of the size) instead of the scratch folder `<target>/tmp/e2e-screenshots/`,
//!   so an ordinary test run leaves the work tree clean.

mod line;
mod lossy;
mod turn;

pub use line::Line;
pub use lossy::LossyUdp;
pub use turn::TurnServer;

use std::fs::File;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where Debian's `chromium` package puts the browser.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Where Debian's `chromium-driver` package puts chromedriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a process may take to answer its readiness check.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a page may take to show what a test waits for.
pub const UI_TIMEOUT: Duration = Duration::from_secs(15);

/// Browser tests share the machine's two cores: those with one or two
/// browsers run side by side ([`few_browsers`]); one that runs many at once
/// (a call with five phones) runs alone ([`many_browsers`]), or its media
/// starves.
static BROWSERS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Held by a test that runs one or two browsers.
pub async fn few_browsers() -> tokio::sync::RwLockReadGuard<'static, ()> {
    BROWSERS.read().await
}

/// Held by a test that runs many browsers at once: it runs alone.
pub async fn many_browsers() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    BROWSERS.write().await
}

/// `text` without its terminal colour codes (`ESC [ … m`), so that a log
/// quoted in a failure reads plainly.
fn without_colour(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The workspace root (the folder holding `Cargo.lock`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("e2e/ sits inside the workspace").to_path_buf()
}

/// Whether this run demands every tool (CI sets `SHOUWANG_REQUIRE_ALL=1`).
pub fn require_all() -> bool {
    std::env::var("SHOUWANG_REQUIRE_ALL").as_deref() == Ok("1")
}

/// The browser and its driver.
#[derive(Debug, Clone)]
pub struct BrowserTools {
    /// The Chromium binary.
    pub chromium: PathBuf,
    /// The chromedriver binary.
    pub chromedriver: PathBuf,
}

impl BrowserTools {
    /// The installed Chromium and chromedriver; `None` after printing the
    /// skip line when either is missing. Panics instead when
    /// `SHOUWANG_REQUIRE_ALL=1`.
    pub fn find_or_skip() -> Option<Self> {
        let tools = Self { chromium: CHROMIUM.into(), chromedriver: CHROMEDRIVER.into() };
        if tools.chromium.is_file() && tools.chromedriver.is_file() {
            return Some(tools);
        }
        assert!(
            !require_all(),
            "SHOUWANG_REQUIRE_ALL=1 but {CHROMIUM} or {CHROMEDRIVER} is missing \
             (apt-get install chromium chromium-driver)"
        );
        println!("SKIP browser: chromium/chromedriver not found");
        None
    }
}

/// The cargo target folder's profile folder this test runs from
/// (`<target>/debug` for `<target>/debug/deps/browser-…`).
fn profile_dir_of_this_test() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let deps = exe.parent()?;
    (deps.file_name()? == "deps").then(|| deps.parent().map(Path::to_path_buf))?
}

/// The already built `shouwang` binary. Fails, saying how to build it, when
/// there is none.
pub fn shouwang_binary() -> anyhow::Result<PathBuf> {
    let name = format!("shouwang{}", std::env::consts::EXE_SUFFIX);
    if let Some(path) = std::env::var_os("SHOUWANG_E2E_BINARY") {
        let path = PathBuf::from(path);
        ensure!(path.is_file(), "SHOUWANG_E2E_BINARY={} is not a file", path.display());
        return Ok(path);
    }
    let mut candidates = Vec::new();
    if let Some(dir) = profile_dir_of_this_test() {
        candidates.push(dir.join(&name));
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        let dir = if dir.is_absolute() { dir } else { workspace_root().join(dir) };
        candidates.push(dir.join("debug").join(&name));
    }
    candidates.push(workspace_root().join("target").join("debug").join(&name));
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    bail!(
        "the shouwang binary is not built: run `cargo build -p shouwang` first \
         (or set SHOUWANG_E2E_BINARY); looked at: {}",
        looked.join(", ")
    )
}

/// A free TCP port on 127.0.0.1 (free when asked; the caller binds it next).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("binding a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

/// A bare HTTP/1.1 GET to a server on this machine: the status code and the
/// body (readiness checks need no more than that). The body ends at its
/// `Content-Length` (chromedriver keeps the connection open despite
/// `Connection: close`), else where the server closes the connection.
pub async fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let io = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            response.extend_from_slice(&chunk[..n]);
            let complete = split_head(&response)
                .is_some_and(|(head, body)| content_length(head).is_some_and(|len| body.len() >= len));
            if complete {
                break;
            }
        }
        anyhow::Ok(String::from_utf8_lossy(&response).into_owned())
    };
    let response = tokio::time::timeout(Duration::from_secs(5), io).await.context("HTTP GET timed out")??;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not an HTTP response: {response:.80}"))?;
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    Ok((status, body))
}

/// The head and the body so far of an HTTP response, once the head is complete.
fn split_head(response: &[u8]) -> Option<(&str, &[u8])> {
    let end = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    Some((std::str::from_utf8(&response[..end]).ok()?, &response[end + 4..]))
}

/// The `Content-Length` of an HTTP response head.
fn content_length(head: &str) -> Option<usize> {
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().eq_ignore_ascii_case("content-length").then(|| value.trim().parse().ok())?
    })
}

/// Calls `check` every 100 ms until it returns `Some`, failing with `what`
/// after `timeout`. The last error `check` returned, if any, is reported.
pub async fn poll_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if Instant::now() >= deadline {
            let why = last_error.map(|e| format!(" (last error: {e:#})")).unwrap_or_default();
            bail!("timed out after {timeout:?} waiting for {what}{why}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A child process whose output goes to a log file, killed with its whole
/// process group when dropped.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `command` in a process group of its own, its output appended
    /// to `log`.
    pub fn spawn(name: &str, command: &mut Command, log: PathBuf) -> anyhow::Result<Self> {
        use std::os::unix::process::CommandExt;
        let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {name} ({command:?})"))?;
        Ok(Self { name: name.to_owned(), child, log })
    }

    /// Its exit status, if it has already exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `lines` lines of its output.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        without_colour(&all[all.len().saturating_sub(lines)..].join("\n"))
    }

    /// Waits until `GET path` at `addr` answers 200 (and, if given, its body
    /// contains `body_has`), failing early if the process exits.
    pub async fn wait_ready(&mut self, addr: SocketAddr, path: &str, body_has: Option<&str>) -> anyhow::Result<()> {
        let what = format!("{} to answer GET {path} on {addr}", self.name);
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(status) = self.exited() {
                bail!("{} exited ({status}) before it was ready; its output:\n{}", self.name, self.log_tail(40));
            }
            match http_get(addr, path).await {
                Ok((200, body)) if body_has.is_none_or(|needle| body.contains(needle)) => return Ok(()),
                _ => {}
            }
            if Instant::now() >= deadline {
                bail!("timed out after {STARTUP_TIMEOUT:?} waiting for {what}; its output:\n{}", self.log_tail(40));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.exited().is_none() {
            // The whole group: chromedriver's Chromium too. No `unsafe` for
            // kill(2) in this workspace, so the kill(1) program does it.
            let group = format!("-{}", self.child.id());
            let _ =
                Command::new("kill").args(["-KILL", "--", &group]).stdout(Stdio::null()).stderr(Stdio::null()).status();
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- last output of {} ---\n{}", self.name, self.log_tail(40));
        }
    }
}

/// `shouwang demo` on a free port over a fresh data folder.
#[derive(Debug)]
pub struct DemoServer {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// Where it listens.
    pub addr: SocketAddr,
    process: Process,
    _dir: TempDir,
}

impl DemoServer {
    /// Starts `shouwang demo --simulate-every-ms <simulate_every_ms>` and
    /// waits until `/healthz` answers.
    pub async fn start(simulate_every_ms: u64) -> anyhow::Result<Self> {
        Self::start_with(simulate_every_ms, &[]).await
    }

    /// [`DemoServer::start`] with configuration from `env` (`SHOUWANG_*`
    /// variables; nothing else of the caller's environment is passed on).
    pub async fn start_with(simulate_every_ms: u64, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let binary = shouwang_binary()?;
        let dir = tempfile::Builder::new().prefix("shouwang-e2e-server-").tempdir()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let mut command = Command::new(&binary);
        command
            .arg("demo")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--bind")
            .arg(addr.to_string())
            .arg("--simulate-every-ms")
            .arg(simulate_every_ms.to_string())
            // No ./shouwang.toml is picked up there, and no SHOUWANG_*
            // configuration from the caller's environment.
            .current_dir(dir.path());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SHOUWANG_") {
                command.env_remove(key);
            }
        }
        // Browser tests run side by side: each server's SFU takes a free port.
        command.env("SHOUWANG_MEDIA__BIND", "127.0.0.1:0");
        command.envs(env.iter().copied());
        let mut process = Process::spawn("shouwang demo", &mut command, dir.path().join("server.log"))?;
        process.wait_ready(addr, "/healthz", None).await?;
        Ok(Self { base_url: format!("http://{addr}"), addr, process, _dir: dir })
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The last lines of its output.
    pub fn log_tail(&self, lines: usize) -> String {
        self.process.log_tail(lines)
    }
}

/// chromedriver on a free port.
#[derive(Debug)]
pub struct ChromeDriver {
    /// `http://127.0.0.1:PORT`, for [`ClientBuilder::connect`].
    pub url: String,
    process: Process,
    _dir: TempDir,
}

impl ChromeDriver {
    /// Starts `chromedriver --port=N` and waits until `/status` says ready.
    pub async fn start(tools: &BrowserTools) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("shouwang-e2e-driver-").tempdir()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()?));
        let mut command = Command::new(&tools.chromedriver);
        command.arg(format!("--port={}", addr.port())).current_dir(dir.path());
        let mut process = Process::spawn("chromedriver", &mut command, dir.path().join("chromedriver.log"))?;
        process.wait_ready(addr, "/status", Some("\"ready\":true")).await?;
        Ok(Self { url: format!("http://{addr}"), process, _dir: dir })
    }

    /// The last lines of its output.
    pub fn log_tail(&self, lines: usize) -> String {
        self.process.log_tail(lines)
    }
}

/// The WebDriver capabilities of a fresh headless Chromium whose preferred
/// language is `lang` (`zh-CN`, `en`), with its profile in `profile`.
pub fn chromium_capabilities(
    chromium: &Path,
    profile: &Path,
    lang: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        // Calls: a fake camera and microphone (a test pattern and a beep),
        // granted without asking; media over loopback; video plays unmuted.
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        "--allow-loopback-in-peer-connection",
        "--autoplay-policy=no-user-gesture-required",
        &format!("--user-data-dir={}", profile.display()),
        "--window-size=1280,900",
        &format!("--lang={lang}"),
    ];
    let capabilities = serde_json::json!({
        "browserName": "chrome",
        "timeouts": { "implicit": 0, "pageLoad": 30_000, "script": 10_000 },
        "goog:chromeOptions": {
            "binary": chromium.display().to_string(),
            "args": args,
            "prefs": { "intl": { "accept_languages": lang } },
        },
    });
    match capabilities {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// One headless Chromium, driven through a chromedriver of its own, that
/// opens pages of one server. Close it with [`Browser::close`].
#[derive(Debug)]
pub struct Browser {
    /// The WebDriver client of the browser.
    pub client: Client,
    base_url: String,
    driver: ChromeDriver,
    /// The profile folder, when this browser made it (else the caller keeps
    /// it, to open another browser on it later).
    _profile: Option<TempDir>,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium that prefers `lang`, to
    /// open pages of the server at `base_url`.
    pub async fn open(tools: &BrowserTools, base_url: &str, lang: &str) -> anyhow::Result<Self> {
        let profile = tempfile::Builder::new().prefix("shouwang-e2e-chromium-").tempdir()?;
        let mut browser = Self::open_with_profile(tools, base_url, lang, profile.path()).await?;
        browser._profile = Some(profile);
        Ok(browser)
    }

    /// [`Browser::open`] on the profile folder `user_data_dir`, which the
    /// caller keeps: a browser opened on it again after this one was killed
    /// finds its cookies, storage and service workers, as a phone's browser
    /// does after the system killed it.
    pub async fn open_with_profile(
        tools: &BrowserTools,
        base_url: &str,
        lang: &str,
        user_data_dir: &Path,
    ) -> anyhow::Result<Self> {
        // Both ring and aws-lc-rs may be compiled into rustls in a workspace
        // build; then rustls needs to be told which one to use.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let driver = ChromeDriver::start(tools).await?;
        let capabilities = chromium_capabilities(&tools.chromium, user_data_dir, lang);
        let client = ClientBuilder::rustls()?
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .with_context(|| format!("opening a Chromium session; chromedriver said:\n{}", driver.log_tail(20)))?;
        Ok(Self { client, base_url: base_url.to_owned(), driver, _profile: None })
    }

    /// Closes the browser.
    pub async fn close(self) -> anyhow::Result<()> {
        self.client.clone().close().await.context("closing the browser session")
    }

    /// Kills the browser and its chromedriver at once (SIGKILL to the whole
    /// process group), without closing anything first: what the phone's
    /// system does to a tab it needs the memory of.
    pub fn kill(self) {
        drop(self);
    }

    /// `e` with this browser's driver log after it (the cause stays first,
    /// where a CI log shows it), naming the browser as `who`.
    pub fn explain(&self, who: &str, e: anyhow::Error) -> anyhow::Error {
        anyhow::anyhow!("{e:#}\n--- {who}'s chromedriver:\n{}", self.log_tail(15))
    }

    /// The last lines of its chromedriver's output.
    pub fn log_tail(&self, lines: usize) -> String {
        self.driver.log_tail(lines)
    }

    /// Opens `path` of the server under test.
    pub async fn goto(&self, path: &str) -> anyhow::Result<()> {
        self.client.goto(&format!("{}{path}", self.base_url)).await.with_context(|| format!("opening {path}"))
    }

    /// The path of the page the browser shows.
    pub async fn path(&self) -> anyhow::Result<String> {
        Ok(self.client.current_url().await?.path().to_owned())
    }

    /// Waits until the browser shows `path` (after a form posts and redirects).
    pub async fn wait_for_path(&self, path: &str) -> anyhow::Result<()> {
        let waited = poll_until(&format!("the browser to show {path}"), UI_TIMEOUT, || async {
            Ok((self.path().await? == path).then_some(()))
        })
        .await;
        if waited.is_err() {
            let shown = self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
            return waited.with_context(|| format!("the browser shows {shown}"));
        }
        waited
    }

    /// The text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        self.fresh(css, async |element| Ok(element.text().await?)).await
    }

    /// Finds the first element matching `css` and reads it with `read`,
    /// finding it again should the page have swapped it in between (live
    /// parts of a page are replaced as events arrive, which leaves a found
    /// element stale).
    async fn fresh<T>(
        &self,
        css: &str,
        read: impl AsyncFn(fantoccini::elements::Element) -> Result<T, fantoccini::error::CmdError>,
    ) -> anyhow::Result<T> {
        let mut tries = 0;
        loop {
            let element = self.client.find(Locator::Css(css)).await.with_context(|| format!("finding {css}"))?;
            match read(element).await {
                Err(fantoccini::error::CmdError::Standard(e))
                    if e.error == fantoccini::error::ErrorStatus::StaleElementReference && tries < 5 =>
                {
                    tries += 1;
                }
                other => return other.with_context(|| format!("reading {css}")),
            }
        }
    }

    /// Whether some element matches `css`.
    pub async fn has(&self, css: &str) -> anyhow::Result<bool> {
        Ok(!self.client.find_all(Locator::Css(css)).await?.is_empty())
    }

    /// An attribute of the first element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> anyhow::Result<Option<String>> {
        self.fresh(css, async |element| element.attr(name).await).await
    }

    /// The page's language (`<html lang>`).
    pub async fn html_lang(&self) -> anyhow::Result<String> {
        Ok(self.attr("html", "lang").await?.unwrap_or_default())
    }

    /// Types `text` into the field matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let field = self.client.find(Locator::Css(css)).await.with_context(|| format!("finding {css}"))?;
        field.clear().await?;
        field.send_keys(text).await?;
        Ok(())
    }

    /// Picks the file at `path` in the file input matching `css`, as a user
    /// choosing it would (chromedriver takes the path as keys).
    pub async fn pick_file(&self, css: &str, path: &Path) -> anyhow::Result<()> {
        let field = self.client.find(Locator::Css(css)).await.with_context(|| format!("finding {css}"))?;
        let path = path.to_str().context("a file path in UTF-8")?;
        field.send_keys(path).await.with_context(|| format!("picking {path} in {css}"))
    }

    /// Picks the option with `value` in the `<select>` matching `css`.
    pub async fn select(&self, css: &str, value: &str) -> anyhow::Result<()> {
        let field = self.client.find(Locator::Css(css)).await.with_context(|| format!("finding {css}"))?;
        field.select_by_value(value).await.with_context(|| format!("choosing {value} in {css}"))
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        self.fresh(css, async |element| element.click().await.map(|_| ()))
            .await
            .with_context(|| format!("clicking {css}"))
    }

    /// Signs in on `/login` by typing into the form and submitting it.
    pub async fn sign_in(&self, username: &str, password: &str) -> anyhow::Result<()> {
        self.goto("/login").await?;
        self.type_into("#username", username).await?;
        self.type_into("#password", password).await?;
        let form = self.client.form(Locator::Css("form[action='/login']")).await?;
        form.submit().await.context("submitting the sign-in form")
    }

    /// Sends one Chrome DevTools Protocol command through chromedriver.
    pub async fn cdp(&self, cmd: &'static str, params: serde_json::Value) -> anyhow::Result<serde_json::Value> {
        self.client.issue_cmd(Cdp { cmd, params }).await.with_context(|| format!("CDP {cmd}"))
    }

    /// Makes the browser's geolocation report (`lat`, `lon`) with 10 m
    /// accuracy, and lets the server's pages read it without asking, as a
    /// phone whose user allowed location for the site.
    pub async fn set_geolocation(&self, lat: f64, lon: f64) -> anyhow::Result<()> {
        let origin = self.base_url.clone();
        self.cdp("Browser.grantPermissions", serde_json::json!({ "origin": origin, "permissions": ["geolocation"] }))
            .await?;
        self.cdp(
            "Emulation.setGeolocationOverride",
            serde_json::json!({ "latitude": lat, "longitude": lon, "accuracy": 10 }),
        )
        .await?;
        Ok(())
    }

    /// Saves a PNG of the browser's window as `name` in [`screenshot_dir`],
    /// returning where.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let png = self.client.screenshot().await.context("taking a screenshot")?;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(name);
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

/// A Chrome DevTools Protocol command, sent through chromedriver's
/// `goog/cdp/execute` extension.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/goog/cdp/execute", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

/// One demo server and a first browser on it: what a browser test needs
/// (it reads as its browser). [`Session::another_browser`] opens more; end it
/// with [`Session::finish`].
#[derive(Debug)]
pub struct Session {
    /// The server under test.
    pub server: DemoServer,
    /// The first browser.
    pub browser: Browser,
}

impl std::ops::Deref for Session {
    type Target = Browser;

    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl Session {
    /// Starts the demo server (simulating every `simulate_every_ms`),
    /// chromedriver, and a headless Chromium that prefers `lang`.
    pub async fn start(tools: &BrowserTools, simulate_every_ms: u64, lang: &str) -> anyhow::Result<Self> {
        Self::start_with(tools, simulate_every_ms, lang, &[]).await
    }

    /// [`Session::start`] with the server configured by `env`.
    pub async fn start_with(
        tools: &BrowserTools,
        simulate_every_ms: u64,
        lang: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let server = DemoServer::start_with(simulate_every_ms, env).await?;
        let browser = Browser::open(tools, &server.base_url, lang).await?;
        Ok(Self { server, browser })
    }

    /// A second (third …) browser on the same server, with a profile of its
    /// own: another person on another device.
    pub async fn another_browser(&self, tools: &BrowserTools, lang: &str) -> anyhow::Result<Browser> {
        Browser::open(tools, &self.server.base_url, lang).await
    }

    /// Closes the browser, then returns the test's `result`, with the last
    /// output of the server and of chromedriver added to an error.
    pub async fn finish(self, result: anyhow::Result<()>) -> anyhow::Result<()> {
        // The cause first: a CI log shows the start of a failure's output.
        let result = result.map_err(|e| {
            anyhow::anyhow!(
                "{e:#}\n--- last output of shouwang demo:\n{}\n--- of chromedriver:\n{}",
                self.server.log_tail(30),
                self.browser.log_tail(15)
            )
        });
        let closed = self.browser.close().await;
        result?;
        closed
    }
}

/// Where screenshots go: `e2e/screenshots/` with `SHOUWANG_E2E_SCREENSHOTS=1`,
/// else `<target>/tmp/e2e-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    if std::env::var("SHOUWANG_E2E_SCREENSHOTS").as_deref() == Ok("1") {
        return Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    }
    match profile_dir_of_this_test().and_then(|p| p.parent().map(Path::to_path_buf)) {
        Some(target) => target.join("tmp").join("e2e-screenshots"),
        None => std::env::temp_dir().join("shouwang-e2e-screenshots"),
    }
}

#[cfg(test)]
mod tests {
    use super::without_colour;

    #[test]
    fn a_quoted_log_loses_its_colour_codes_and_keeps_its_text() {
        let line = "\u{1b}[2m2026-11-29T16:12:16Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m participant connected \u{1b}[3mpeer\u{1b}[0m\u{1b}[2m=\u{1b}[0m6";
        assert_eq!(without_colour(line), "2026-11-29T16:12:16Z  INFO participant connected peer=6");
    }
}
