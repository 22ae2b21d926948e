//! Configuration: defaults that run with no file, then `shouwang.toml`, then
//! `SHOUWANG_*` environment variables, then command-line flags.
//!
//! Every key has a default, so `shouwang serve` runs with nothing set. A key
//! that is not known is warned about (a typo should not pass silently); a
//! value that is wrong stops start-up with a message naming the key and where
//! it came from.
//!
//! Environment variables map onto keys by lower-casing: `SHOUWANG_BIND` is
//! `bind`, and a double underscore goes into a table: `SHOUWANG_TLS__MODE` is
//! `tls.mode`. Values are read as TOML scalars where they parse as one
//! (`SHOUWANG_SESSION_HOURS=8`), as strings otherwise.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Environment variables that start with `SHOUWANG_` but are not
/// configuration keys (used by tests and CI).
const NOT_CONFIG: &[&str] = &[
    "SHOUWANG_REQUIRE_ALL",
    "SHOUWANG_TEST_PG_URL",
    "SHOUWANG_TEST_DATABASE",
    "SHOUWANG_TEST_NATS_URL",
    "SHOUWANG_LOG",
    "SHOUWANG_E2E_BINARY",
    "SHOUWANG_E2E_SCREENSHOTS",
];

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address and port to listen on.
    pub bind: SocketAddr,
    /// Folder for the SQLite database, the self-signed certificate, backups.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; empty: SQLite in `data_dir`.
    pub database_url: String,
    /// Read connections in the pool.
    pub database_max_connections: u32,
    /// `full` (fsync every commit, the default) or `normal`.
    pub sqlite_synchronous: String,
    /// HTTPS.
    pub tls: TlsConfig,
    /// How long a browser session lasts without signing in again, in hours.
    pub session_hours: u32,
    /// How long an officer who signed in online may keep entering records
    /// on the phone with no contact with the server, in hours; after that
    /// the phone asks to sign in again (what it holds is kept and sent).
    pub offline_hours: u32,
    /// Failed sign-ins per account before it is locked for a while.
    pub login_max_failures: u32,
    /// Failed sign-ins per client address before it is locked for a while.
    pub login_max_failures_per_address: u32,
    /// How long a throttled account or address waits, in minutes.
    pub login_lockout_minutes: u32,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The largest file (an order's attachment, an answer's photo)
    /// accepted, in bytes.
    pub attachment_max_bytes: usize,
    /// `text` or `json` log lines.
    pub log_format: String,
    /// Whether to serve `/metrics` (Prometheus text).
    pub metrics: bool,
    /// The time zone times are shown in (UTC offset in hours; the default is
    /// China Standard Time, which has no daylight saving).
    pub display_utc_offset_hours: i32,
    /// A post whose checked-in phones have all been silent this long is
    /// shown as "no signal", in minutes.
    pub presence_timeout_minutes: u32,
    /// How often presence is checked, in seconds.
    pub presence_check_seconds: u64,
    /// Personal data of screenings is erased after this many days.
    pub screening_retention_days: u32,
    /// Audio/video calls (the SFU).
    pub media: MediaSettings,
    /// When alerts are raised.
    pub alerts: AlertSettings,
    /// Spring ploughing.
    pub ploughing: PloughingSettings,
    /// How committed events reach the live subscribers of every node.
    pub bus: BusSettings,
}

/// The event bus: in-process (one node), or through NATS JetStream
/// (several nodes over one PostgreSQL).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct BusSettings {
    /// `nats://host:port` of a NATS server with JetStream; empty (the
    /// default): events stay within this process.
    pub nats_url: String,
    /// The NATS subject events travel on; every node of one deployment uses
    /// the same, and its JetStream stream is named after it.
    pub nats_subject: String,
}

impl Default for BusSettings {
    fn default() -> Self {
        Self { nats_url: String::new(), nats_subject: "shouwang.events".into() }
    }
}

/// Spring ploughing (春耕备耕).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct PloughingSettings {
    /// By how much, in percent of the planned area, a village may report
    /// more sown than planned without a note saying why (0–100).
    pub sown_margin_pct: u32,
}

impl Default for PloughingSettings {
    fn default() -> Self {
        Self { sown_margin_pct: shouwang_domain::ploughing::DEFAULT_SOWN_MARGIN_PCT }
    }
}

/// When alerts are raised.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct AlertSettings {
    /// How often the conditions are evaluated, in seconds.
    pub check_seconds: u64,
    /// How long a post may be short of staff before it alerts, in minutes.
    pub understaffed_minutes: u32,
    /// How long a resupply request may wait for a decision, in minutes.
    pub resupply_wait_minutes: u32,
    /// How long after a shift begins its staff must be checked in, in minutes.
    pub missed_check_in_minutes: u32,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self { check_seconds: 10, understaffed_minutes: 10, resupply_wait_minutes: 60, missed_check_in_minutes: 15 }
    }
}

/// Audio/video call settings: where the SFU takes media.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct MediaSettings {
    /// Whether calls are on.
    pub enabled: bool,
    /// The UDP address media arrives at (one port for every call); open it
    /// in the firewall. Port 0 picks a free port (tests).
    pub bind: SocketAddr,
    /// The address phones send media to, when it is not the bound one (a
    /// server behind NAT, or bound to `0.0.0.0`): the LAN or public IP.
    pub announce: Option<std::net::IpAddr>,
    /// Whether phones may also send media over TCP to the same port number
    /// (ICE-TCP), for networks that block UDP. Open TCP on that port too.
    pub tcp: bool,
    /// How long a call rings before it counts as missed, in seconds.
    pub ring_seconds: u32,
    /// A TURN server for phones whose network lets only web traffic out.
    pub turn: TurnSettings,
    /// Whether calls are recorded: every party's audio and video, to files
    /// under `data_dir/recordings/<call>/` that HQ can download from the
    /// call's record. Everyone in a recorded call is shown that it is.
    pub record: bool,
    /// How long recordings are kept, in days; older ones are deleted.
    pub recording_retention_days: u32,
}

/// A TURN server (coturn with `use-auth-secret`) the pages may relay media
/// through. Shouwang hands each signed-in person short-lived credentials for
/// it (the "TURN REST API" scheme: the user name is `expiry:account id`, the
/// password that name's HMAC-SHA1 under the shared secret), so the secret
/// never leaves the server and a leaked password soon stops working.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct TurnSettings {
    /// Its URLs, e.g. `turn:turn.example.cn:443?transport=tcp`; none means
    /// no TURN server. In the environment, separated by commas.
    #[serde(deserialize_with = "string_or_list")]
    pub urls: Vec<String>,
    /// coturn's `static-auth-secret`.
    pub secret: Secret,
    /// How long handed-out credentials stay good, in hours.
    pub ttl_hours: u32,
}

impl Default for TurnSettings {
    fn default() -> Self {
        Self { urls: Vec::new(), secret: Secret::default(), ttl_hours: 24 }
    }
}

/// A value that is never printed (`Debug` shows its length only). From the
/// environment, digits alone are taken as text too.
#[derive(Clone, PartialEq, Default)]
pub struct Secret(pub String);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(i64),
        }
        Ok(Secret(match Raw::deserialize(d)? {
            Raw::Text(s) => s,
            Raw::Number(n) => n.to_string(),
        }))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

impl Default for MediaSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            bind: "127.0.0.1:3478".parse().expect("a valid literal address"),
            announce: None,
            tcp: true,
            ring_seconds: 45,
            turn: TurnSettings::default(),
            record: false,
            recording_retention_days: 30,
        }
    }
}

/// HTTPS settings.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct TlsConfig {
    /// `off`, `self-signed` (made at first start, kept in `data_dir`) or
    /// `files` (`cert` and `key`).
    pub mode: String,
    /// PEM certificate chain, for `files`.
    pub cert: Option<PathBuf>,
    /// PEM private key, for `files`.
    pub key: Option<PathBuf>,
    /// Extra names for a self-signed certificate (the LAN address phones use);
    /// in the environment, separated by commas.
    #[serde(deserialize_with = "string_or_list")]
    pub names: Vec<String>,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self { mode: "off".into(), cert: None, key: None, names: Vec::new() }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".parse().expect("a valid literal address"),
            data_dir: PathBuf::from("./shouwang-data"),
            database_url: String::new(),
            database_max_connections: 8,
            sqlite_synchronous: "full".into(),
            tls: TlsConfig::default(),
            session_hours: 12,
            offline_hours: 72,
            login_max_failures: 5,
            login_max_failures_per_address: 30,
            login_lockout_minutes: 15,
            max_body_bytes: 2 * 1024 * 1024,
            attachment_max_bytes: 5 * 1024 * 1024,
            log_format: "text".into(),
            metrics: true,
            display_utc_offset_hours: 8,
            presence_timeout_minutes: 5,
            presence_check_seconds: 30,
            screening_retention_days: 28,
            media: MediaSettings::default(),
            alerts: AlertSettings::default(),
            ploughing: PloughingSettings::default(),
            bus: BusSettings::default(),
        }
    }
}

/// A configuration that cannot be used; the message names the key.
#[derive(Debug, thiserror::Error)]
#[error("configuration key `{key}` (from {source_name}): {message}")]
pub struct ConfigError {
    /// The key, dotted.
    pub key: String,
    /// Where its value came from.
    pub source_name: String,
    /// What is wrong.
    pub message: String,
}

/// What loading found besides the configuration itself.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Keys nobody reads, with where they came from: warn about them.
    pub unknown_keys: Vec<String>,
}

impl Config {
    /// Loads defaults, then `file` (if given, or `shouwang.toml` in the
    /// working directory if it exists), then the environment.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(Config, Loaded), ConfigError> {
        let mut table = toml::Table::new();
        let mut sources: BTreeMap<String, String> = BTreeMap::new();
        let path = file.map(Path::to_path_buf).or_else(|| {
            let p = PathBuf::from("shouwang.toml");
            p.exists().then_some(p)
        });
        if let Some(path) = &path {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                key: "--config".into(),
                source_name: path.display().to_string(),
                message: format!("cannot read the file: {e}"),
            })?;
            table = text.parse::<toml::Table>().map_err(|e| ConfigError {
                key: e
                    .span()
                    .map(|s| text[..s.start].lines().count().to_string())
                    .map_or("?".into(), |l| format!("line {l}")),
                source_name: path.display().to_string(),
                message: e.message().to_owned(),
            })?;
            for key in flatten_keys(&table, "") {
                sources.insert(key, path.display().to_string());
            }
        }
        let mut loaded = Loaded::default();
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("SHOUWANG_") else { continue };
            if NOT_CONFIG.contains(&name.as_str()) {
                continue;
            }
            let key_path: Vec<String> = rest.to_lowercase().split("__").map(str::to_owned).collect();
            let scalar = parse_scalar(&value);
            insert_path(&mut table, &key_path, scalar);
            sources.insert(key_path.join("."), name.clone());
        }
        let source_of = |key: &str| sources.get(key).cloned().unwrap_or_else(|| "the defaults".into());
        let mut unknown: Vec<String> = Vec::new();
        let de = toml::Value::Table(table);
        let mut note_unknown = |p: serde_ignored::Path<'_>| unknown.push(p.to_string());
        let ignoring = serde_ignored::Deserializer::new(de, &mut note_unknown);
        let config: Config = serde_path_to_error::deserialize(ignoring).map_err(|e| {
            let key = e.path().to_string();
            ConfigError { source_name: source_of(&key), message: e.into_inner().message().to_owned(), key }
        })?;
        loaded.unknown_keys = unknown.into_iter().map(|k| format!("{k} (from {})", source_of(&k))).collect();
        config.validate(&source_of)?;
        Ok((config, loaded))
    }

    fn validate(&self, source_of: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
        let err = |key: &str, message: String| ConfigError { key: key.into(), source_name: source_of(key), message };
        if !self.database_url.is_empty() && shouwang_store::Backend::of_url(&self.database_url).is_none() {
            return Err(err("database_url", "must start with sqlite:// or postgres://".into()));
        }
        if !["full", "normal"].contains(&self.sqlite_synchronous.as_str()) {
            return Err(err("sqlite_synchronous", "must be `full` or `normal`".into()));
        }
        if !(1..=720).contains(&self.session_hours) {
            return Err(err("session_hours", "must be between 1 and 720".into()));
        }
        if !(1..=720).contains(&self.offline_hours) {
            return Err(err("offline_hours", "must be between 1 and 720".into()));
        }
        if !(1..=256).contains(&self.database_max_connections) {
            return Err(err("database_max_connections", "must be between 1 and 256".into()));
        }
        if self.login_max_failures == 0 || self.login_max_failures_per_address == 0 {
            return Err(err("login_max_failures", "must be at least 1".into()));
        }
        if !(1024..=64 * 1024 * 1024).contains(&self.attachment_max_bytes) {
            return Err(err("attachment_max_bytes", "must be between 1024 and 67108864".into()));
        }
        if !(1024..=256 * 1024 * 1024).contains(&self.max_body_bytes) {
            return Err(err("max_body_bytes", "must be between 1024 and 268435456".into()));
        }
        if !["text", "json"].contains(&self.log_format.as_str()) {
            return Err(err("log_format", "must be `text` or `json`".into()));
        }
        if !(1..=1440).contains(&self.presence_timeout_minutes) {
            return Err(err("presence_timeout_minutes", "must be between 1 and 1440".into()));
        }
        if !(1..=3650).contains(&self.screening_retention_days) {
            return Err(err("screening_retention_days", "must be between 1 and 3650".into()));
        }
        if !(1..=3600).contains(&self.presence_check_seconds) {
            return Err(err("presence_check_seconds", "must be between 1 and 3600".into()));
        }
        if !(-12..=14).contains(&self.display_utc_offset_hours) {
            return Err(err("display_utc_offset_hours", "must be between -12 and 14".into()));
        }
        if !(1..=3600).contains(&self.alerts.check_seconds) {
            return Err(err("alerts.check_seconds", "must be between 1 and 3600".into()));
        }
        if !(0..=1440).contains(&self.alerts.understaffed_minutes) {
            return Err(err("alerts.understaffed_minutes", "must be between 0 and 1440".into()));
        }
        if !(0..=720).contains(&self.alerts.missed_check_in_minutes) {
            return Err(err("alerts.missed_check_in_minutes", "must be between 0 and 720".into()));
        }
        if !(1..=10080).contains(&self.alerts.resupply_wait_minutes) {
            return Err(err("alerts.resupply_wait_minutes", "must be between 1 and 10080".into()));
        }
        if self.ploughing.sown_margin_pct > 100 {
            return Err(err("ploughing.sown_margin_pct", "must be between 0 and 100".into()));
        }
        if !(5..=600).contains(&self.media.ring_seconds) {
            return Err(err("media.ring_seconds", "must be between 5 and 600".into()));
        }
        if !(1..=3650).contains(&self.media.recording_retention_days) {
            return Err(err("media.recording_retention_days", "must be between 1 and 3650".into()));
        }
        let turn = &self.media.turn;
        if let Some(url) = turn.urls.iter().find(|u| !(u.starts_with("turn:") || u.starts_with("turns:"))) {
            return Err(err("media.turn.urls", format!("`{url}` must start with turn: or turns:")));
        }
        if !turn.urls.is_empty() && turn.secret.0.len() < 16 {
            return Err(err(
                "media.turn.secret",
                "must be at least 16 characters (coturn's static-auth-secret)".into(),
            ));
        }
        if !(1..=720).contains(&turn.ttl_hours) {
            return Err(err("media.turn.ttl_hours", "must be between 1 and 720".into()));
        }
        if !self.bus.nats_url.is_empty() {
            shouwang_bus::nats::check_url(&self.bus.nats_url)
                .map_err(|e| err("bus.nats_url", format!("must be a NATS URL such as nats://127.0.0.1:4222 ({e})")))?;
        }
        shouwang_bus::nats::check_subject(&self.bus.nats_subject).map_err(|e| err("bus.nats_subject", e))?;
        match self.tls.mode.as_str() {
            "off" | "self-signed" => {}
            "files" => {
                for (key, path) in [("tls.cert", &self.tls.cert), ("tls.key", &self.tls.key)] {
                    match path {
                        None => return Err(err(key, "is required when tls.mode is `files`".into())),
                        Some(p) if !p.exists() => return Err(err(key, format!("file {} does not exist", p.display()))),
                        Some(_) => {}
                    }
                }
            }
            _ => return Err(err("tls.mode", "must be `off`, `self-signed` or `files`".into())),
        }
        Ok(())
    }

    /// Where calls are recorded (when `media.record` is on): a folder per
    /// call under `data_dir/recordings`.
    pub fn recordings_dir(&self) -> PathBuf {
        self.data_dir.join("recordings")
    }

    /// The database URL in effect: the configured one, or SQLite in
    /// `data_dir/<file>`.
    pub fn database_url_or(&self, sqlite_file: &str) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join(sqlite_file).display())
        } else {
            self.database_url.clone()
        }
    }

    /// Store options for this configuration.
    pub fn store_options(&self, sqlite_file: &str) -> shouwang_store::StoreOptions {
        let mut o = shouwang_store::StoreOptions::new(self.database_url_or(sqlite_file));
        o.max_connections = self.database_max_connections;
        o.sqlite_sync = if self.sqlite_synchronous == "normal" {
            shouwang_store::SqliteSync::Normal
        } else {
            shouwang_store::SqliteSync::Full
        };
        o
    }
}

fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => s.split(',').map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect(),
        OneOrMany::Many(v) => v,
    })
}

fn parse_scalar(raw: &str) -> toml::Value {
    if let Ok(i) = raw.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    match raw {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(raw.to_owned()),
    }
}

fn insert_path(table: &mut toml::Table, path: &[String], value: toml::Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table.entry(first.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            insert_path(entry.as_table_mut().expect("made a table above"), rest, value);
        }
    }
}

fn flatten_keys(table: &toml::Table, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in table {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        if let toml::Value::Table(t) = v {
            out.extend(flatten_keys(t, &key));
        }
        out.push(key);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_run_with_nothing_set() {
        let (c, loaded) = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url_or("shouwang.db"), "sqlite://./shouwang-data/shouwang.db");
        assert!(loaded.unknown_keys.is_empty());
    }

    #[test]
    fn environment_overrides_file_and_nested_keys_use_double_underscore() {
        let dir = std::env::temp_dir().join(format!("sw-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("shouwang.toml");
        std::fs::write(&file, "bind = \"0.0.0.0:9000\"\nsession_hours = 4\n[tls]\nmode = \"self-signed\"\n").unwrap();
        let (c, _) = Config::load(
            Some(&file),
            env(&[("SHOUWANG_SESSION_HOURS", "8"), ("SHOUWANG_TLS__NAMES", "192.168.1.20, sw.lan"), ("PATH", "/bin")]),
        )
        .unwrap();
        assert_eq!(c.bind.port(), 9000);
        assert_eq!(c.session_hours, 8);
        assert_eq!(c.tls.mode, "self-signed");
        assert_eq!(c.tls.names, vec!["192.168.1.20".to_string(), "sw.lan".to_string()]);
    }

    #[test]
    fn a_bad_value_names_the_key_and_its_source() {
        let e = Config::load(None, env(&[("SHOUWANG_SESSION_HOURS", "0")])).unwrap_err();
        assert_eq!(e.key, "session_hours");
        assert_eq!(e.source_name, "SHOUWANG_SESSION_HOURS");
        let e = Config::load(None, env(&[("SHOUWANG_BIND", "not-an-address")])).unwrap_err();
        assert!(e.to_string().contains("bind"), "{e}");
        let e = Config::load(None, env(&[("SHOUWANG_TLS__MODE", "maybe")])).unwrap_err();
        assert_eq!(e.key, "tls.mode");
    }

    #[test]
    fn a_turn_server_needs_turn_urls_and_a_long_secret_which_is_never_printed() {
        let (c, _) = Config::load(None, env(&[])).unwrap();
        assert!(c.media.turn.urls.is_empty());
        assert_eq!(c.media.turn.ttl_hours, 24);
        let (c, _) = Config::load(
            None,
            env(&[
                ("SHOUWANG_MEDIA__TURN__URLS", "turn:turn.example.cn:443?transport=tcp, turns:turn.example.cn:443"),
                ("SHOUWANG_MEDIA__TURN__SECRET", "4096409640964096"),
            ]),
        )
        .unwrap();
        assert_eq!(c.media.turn.urls, ["turn:turn.example.cn:443?transport=tcp", "turns:turn.example.cn:443"]);
        assert_eq!(c.media.turn.secret.0, "4096409640964096");
        assert!(!format!("{c:?}").contains("4096409640964096"), "the secret must not be printed");
        let bad = [
            (vec![("SHOUWANG_MEDIA__TURN__URLS", "https://turn.example.cn")], "media.turn.urls"),
            (vec![("SHOUWANG_MEDIA__TURN__URLS", "turn:turn.example.cn")], "media.turn.secret"),
            (
                vec![("SHOUWANG_MEDIA__TURN__URLS", "turn:t.cn"), ("SHOUWANG_MEDIA__TURN__SECRET", "short")],
                "media.turn.secret",
            ),
            (vec![("SHOUWANG_MEDIA__TURN__TTL_HOURS", "0")], "media.turn.ttl_hours"),
            (vec![("SHOUWANG_MEDIA__RECORDING_RETENTION_DAYS", "0")], "media.recording_retention_days"),
        ];
        for (vars, key) in bad {
            let e = Config::load(None, env(&vars)).unwrap_err();
            assert_eq!(e.key, key, "{vars:?}: {e}");
        }
    }

    #[test]
    fn offline_hours_default_to_72_and_stay_within_a_month() {
        let (c, _) = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.offline_hours, 72);
        let (c, _) = Config::load(None, env(&[("SHOUWANG_OFFLINE_HOURS", "24")])).unwrap();
        assert_eq!(c.offline_hours, 24);
        for bad in ["0", "721"] {
            let e = Config::load(None, env(&[("SHOUWANG_OFFLINE_HOURS", bad)])).unwrap_err();
            assert_eq!(e.key, "offline_hours");
            assert_eq!(e.source_name, "SHOUWANG_OFFLINE_HOURS");
        }
    }

    #[test]
    fn the_bus_is_in_process_unless_a_nats_url_is_set() {
        let (c, _) = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.bus, BusSettings { nats_url: String::new(), nats_subject: "shouwang.events".into() });
        let (c, loaded) = Config::load(
            None,
            env(&[("SHOUWANG_BUS__NATS_URL", "nats://10.0.0.5:4222"), ("SHOUWANG_BUS__NATS_SUBJECT", "lushi.events")]),
        )
        .unwrap();
        assert_eq!(c.bus.nats_url, "nats://10.0.0.5:4222");
        assert_eq!(c.bus.nats_subject, "lushi.events");
        assert!(loaded.unknown_keys.is_empty(), "{:?}", loaded.unknown_keys);
        let e = Config::load(None, env(&[("SHOUWANG_BUS__NATS_URL", "http://10.0.0.5:4222")])).unwrap_err();
        assert_eq!((e.key.as_str(), e.source_name.as_str()), ("bus.nats_url", "SHOUWANG_BUS__NATS_URL"));
        let e = Config::load(None, env(&[("SHOUWANG_BUS__NATS_SUBJECT", "shouwang.>")])).unwrap_err();
        assert_eq!(e.key, "bus.nats_subject");
    }

    #[test]
    fn unknown_keys_are_reported_not_fatal() {
        let (_, loaded) = Config::load(None, env(&[("SHOUWANG_SESION_HOURS", "3")])).unwrap();
        assert_eq!(loaded.unknown_keys, vec!["sesion_hours (from SHOUWANG_SESION_HOURS)".to_string()]);
    }
}
