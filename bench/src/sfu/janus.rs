//! Janus (the Debian package) as the reference SFU: its streaming plugin
//! takes the same VP8 frames as plain RTP on a UDP port and forwards them to
//! WebRTC viewers, which are the same str0m clients that watch Shouwang.
//! Signaling is Janus's HTTP API on localhost: a session and a handle per
//! viewer, `watch` brings Janus's offer, `start` carries the viewer's answer.
//!
//! Janus runs from a temporary config folder with every plugin but streaming
//! and every transport but HTTP disabled, session timeouts off, and ICE on
//! the benchmark's host address only.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use super::client::{Client, Counted, Prepared, Schedule};

const LIB: &str = "/usr/lib/x86_64-linux-gnu/janus";
const PLUGINS_OFF: &str = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,\
libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_textroom.so,libjanus_videocall.so,\
libjanus_videoroom.so,libjanus_voicemail.so";
const TRANSPORTS_OFF: &str =
    "libjanus_websockets.so,libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so";

/// A running Janus with one RTP mountpoint.
pub struct Janus {
    child: Child,
    http: reqwest::Client,
    base: String,
    /// Where the mountpoint takes RTP.
    pub rtp: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Janus {
    pub async fn start(host: IpAddr) -> anyhow::Result<Janus> {
        let dir = tempfile::tempdir()?;
        let http_port = free_port()?;
        let rtp_port = free_port()?;
        write_config(dir.path(), host, http_port, rtp_port)?;
        let log = std::fs::File::create(dir.path().join("janus.log"))?;
        let child = Command::new("janus")
            .arg("-C")
            .arg(dir.path().join("janus.jcfg"))
            .arg("-F")
            .arg(dir.path())
            .stdout(Stdio::from(log))
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting janus (apt-get install -y janus)")?;
        let janus = Janus {
            child,
            http: reqwest::Client::new(),
            base: format!("http://127.0.0.1:{http_port}/janus"),
            rtp: SocketAddr::new(host, rtp_port),
            _dir: dir,
        };
        // Janus has no readiness signal but its API answering.
        for _ in 0..100 {
            if janus.http.get(format!("{}/info", janus.base)).send().await.is_ok() {
                return Ok(janus);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("janus did not answer on {} within 10 s", janus.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// A viewer of the mountpoint: Janus offers, the client answers.
    pub async fn watch(&self, host: IpAddr, schedule: Schedule, counted: Arc<Counted>) -> anyhow::Result<Client> {
        let session = self.post(&self.base, json!({"janus": "create"})).await?;
        let session = format!("{}/{}", self.base, id(&session)?);
        let handle = self.post(&session, json!({"janus": "attach", "plugin": "janus.plugin.streaming"})).await?;
        let handle = format!("{session}/{}", id(&handle)?);
        self.post(&handle, json!({"janus": "message", "body": {"request": "watch", "id": 1}})).await?;
        let offer = self.next_jsep(&session).await?;
        let (prepared, answer) = Prepared::answering(host, &offer).await?;
        let client = prepared.start(None, schedule, counted)?;
        let start = json!({
            "janus": "message",
            "body": {"request": "start"},
            "jsep": {"type": "answer", "sdp": answer},
        });
        self.post(&handle, start).await?;
        Ok(client)
    }

    async fn post(&self, url: &str, mut body: Value) -> anyhow::Result<Value> {
        body["transaction"] = json!("bench");
        let reply: Value = self.http.post(url).json(&body).send().await?.json().await?;
        if reply["janus"] == "error" {
            anyhow::bail!("janus refused {body}: {reply}");
        }
        Ok(reply)
    }

    /// Long-polls the session's events until one carries an SDP.
    async fn next_jsep(&self, session: &str) -> anyhow::Result<String> {
        for _ in 0..20 {
            let events: Value = self.http.get(format!("{session}?maxev=5")).send().await?.json().await?;
            let events = match events {
                Value::Array(events) => events,
                event => vec![event],
            };
            for event in events {
                if let Some(sdp) = event["jsep"]["sdp"].as_str() {
                    return Ok(sdp.to_owned());
                }
            }
        }
        anyhow::bail!("janus sent no offer")
    }
}

fn id(reply: &Value) -> anyhow::Result<u64> {
    reply["data"]["id"].as_u64().with_context(|| format!("janus answered {reply}"))
}

/// A port nobody uses now (Janus binds it right after).
fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn write_config(dir: &Path, host: IpAddr, http_port: u16, rtp_port: u16) -> anyhow::Result<()> {
    let janus = format!(
        r#"general: {{
	configs_folder = "{dir}"
	plugins_folder = "{LIB}/plugins"
	transports_folder = "{LIB}/transports"
	events_folder = "{LIB}/events"
	loggers_folder = "{LIB}/loggers"
	debug_level = 3
	session_timeout = 0
}}
media: {{
	rtp_port_range = "20000-40000"
}}
nat: {{
	ice_enforce_list = "{host}"
	ignore_mdns = true
}}
plugins: {{
	disable = "{PLUGINS_OFF}"
}}
transports: {{
	disable = "{TRANSPORTS_OFF}"
}}
loggers: {{
	disable = "libjanus_jsonlog.so"
}}
events: {{
	broadcast = false
}}
"#,
        dir = dir.display()
    );
    let http = format!(
        r#"general: {{
	json = "compact"
	base_path = "/janus"
	http = true
	port = {http_port}
	ip = "127.0.0.1"
	https = false
}}
admin: {{
	admin_http = false
	admin_https = false
}}
"#
    );
    let streaming = format!(
        r#"general: {{
}}
bench: {{
	type = "rtp"
	id = 1
	description = "bench"
	media = (
		{{ type = "video"; mid = "v"; label = "video"; port = {rtp_port}; pt = 96; codec = "vp8" }}
	)
}}
"#
    );
    std::fs::write(dir.join("janus.jcfg"), janus)?;
    std::fs::write(dir.join("janus.transport.http.jcfg"), http)?;
    std::fs::write(dir.join("janus.plugin.streaming.jcfg"), streaming)?;
    Ok(())
}
