//! The `shouwang` binary as an operator uses it: commands, start-up, and a
//! crash in the middle of writes.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shouwang_testdb::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_shouwang");

/// A free port on loopback.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `shouwang` with the database of `db` (PostgreSQL URL or a SQLite data folder).
fn shouwang(db: &TestDb, data: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_remove("SHOUWANG_DATABASE_URL").env("SHOUWANG_DATA_DIR", data).env("SHOUWANG_LOG", "warn");
    // Servers of tests side by side: each SFU takes a free UDP port.
    c.env("SHOUWANG_MEDIA__BIND", "127.0.0.1:0");
    if db.dir().is_none() {
        c.env("SHOUWANG_DATABASE_URL", &db.url);
    }
    c
}

fn run_ok(mut c: Command, stdin: &str) -> String {
    let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    text
}

/// A running server, killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(db: &TestDb, data: &Path) -> Server {
        let port = free_port();
        let child = shouwang(db, data)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::get(format!("{base}/readyz")).await
                && r.status() == 200
            {
                break;
            }
            assert!(Instant::now() < deadline, "the server did not become ready within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn fresh_db(test: &str) -> Option<(TestDb, tempfile::TempDir)> {
    let db = TestDb::fresh(shouwang_testdb::backend_from_env(), test).await?;
    Some((db, tempfile::tempdir().unwrap()))
}

/// Creates the first admin from the shell and returns an API token for a
/// duty officer made through the API.
async fn first_admin_and_token(db: &TestDb, data: &Path, server: &Server) -> String {
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login: Value = client
        .post(format!("{}/api/v1/auth/login", server.base))
        .json(&json!({ "username": "root.admin", "password": "a long admin password" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let csrf = login["csrf_token"].as_str().expect("the admin made from the shell signs in").to_owned();
    let unit = login["user"]["org_unit_id"].as_i64().unwrap();
    let post = |path: &str, body: Value| {
        client.post(format!("{}{path}", server.base)).header("x-csrf-token", &csrf).json(&body).send()
    };
    let officer: Value = post(
        "/api/v1/users",
        json!({ "username": "officer", "display_name": "张伟", "password": "officer password", "role": "duty_officer", "org_unit_id": unit }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let token: Value = post("/api/v1/tokens", json!({ "user_id": officer["id"], "name": "phone" }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let _ = (db, data);
    token["secret"].as_str().unwrap().to_owned()
}

fn add_root_admin(db: &TestDb, data: &Path) -> String {
    let mut add = shouwang(db, data);
    add.args([
        "user",
        "add",
        "root.admin",
        "--role",
        "admin",
        "--org",
        "411224",
        "--root-name",
        "卢氏县",
        "--password-stdin",
    ]);
    run_ok(add, "a long admin password\n")
}

#[tokio::test]
async fn the_first_admin_is_made_from_the_shell_and_listed() {
    let Some((db, data)) = fresh_db("the_first_admin_is_made_from_the_shell_and_listed").await else { return };
    let out = add_root_admin(&db, data.path());
    assert!(out.contains("Created root.admin in 卢氏县 (411224)"), "{out}");
    assert!(!out.contains("a long admin password"), "a password from stdin is never echoed");
    let mut list = shouwang(&db, data.path());
    list.args(["user", "list"]);
    let listed = run_ok(list, "");
    assert!(listed.contains("root.admin") && listed.contains("admin") && listed.contains("active"), "{listed}");
    let mut dup = shouwang(&db, data.path());
    dup.args(["user", "add", "root.admin", "--role", "viewer", "--org", "411224"]);
    let out = dup.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("taken"));
}

#[tokio::test]
async fn a_bad_configuration_value_stops_start_up_naming_the_key() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["serve", "--data-dir"])
        .arg(data.path())
        .env("SHOUWANG_SESSION_HOURS", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("session_hours") && err.contains("SHOUWANG_SESSION_HOURS"), "{err}");
}

#[tokio::test]
async fn serve_on_an_empty_database_offers_a_one_time_setup_link() {
    let Some((db, data)) = fresh_db("serve_on_an_empty_database_offers_a_one_time_setup_link").await else { return };
    let port = free_port();
    let mut child = shouwang(&db, data.path())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stdout).lines().map_while(Result::ok);
        let link = lines.find(|l| l.contains("/setup?token="));
        // Keep reading, as a terminal would, so the server never writes to a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        link
    })
    .await
    .unwrap()
    .expect("a setup link is printed");
    let url = line.trim().to_owned();
    let token = url.split("token=").nth(1).unwrap().to_owned();
    let client =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let form = |token: &str| {
        vec![
            ("token", token.to_owned()),
            ("region_code", "411224".to_owned()),
            ("region_name", "卢氏县".to_owned()),
            ("region_kind", "county".to_owned()),
            ("username", "first.admin".to_owned()),
            ("display_name", "李娜".to_owned()),
            ("password", "a long admin password".to_owned()),
        ]
    };
    let wrong = client.post(format!("{base}/setup")).form(&form("guessed")).send().await.unwrap();
    assert_eq!(wrong.status(), 422);
    let ok = client.post(format!("{base}/setup")).form(&form(&token)).send().await.unwrap();
    let status = ok.status();
    assert_eq!(status, 303, "setup signs the new admin in: {}", ok.text().await.unwrap());
    let me: Value = client.get(format!("{base}/api/v1/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["username"], "first.admin");
    assert_eq!(me["role"], "admin");
    // The link works once.
    let stranger = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let again = stranger.post(format!("{base}/setup")).form(&form(&token)).send().await.unwrap();
    assert_eq!(again.status(), 303);
    assert_eq!(again.headers()["location"], "/login");
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn acknowledged_writes_survive_a_sigkill_exactly_once() {
    let Some((db, data)) = fresh_db("acknowledged_writes_survive_a_sigkill_exactly_once").await else { return };
    add_root_admin(&db, data.path());
    let server = Server::start(&db, data.path()).await;
    let token = first_admin_and_token(&db, data.path(), &server).await;

    // 40 phones write as fast as they can; each remembers what it sent and
    // what the server acknowledged.
    let acked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sent = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut phones = Vec::new();
    for phone in 0..40 {
        let (acked, sent, stop, token, base) =
            (acked.clone(), sent.clone(), stop.clone(), token.clone(), server.base.clone());
        phones.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 500 {
                n += 1;
                let id = uuid::Uuid::now_v7().to_string();
                sent.lock().unwrap().push(id.clone());
                let res = client
                    .post(format!("{base}/api/v1/duty-log"))
                    .bearer_auth(&token)
                    .json(&json!({ "id": id, "body": format!("phone {phone} entry {n}") }))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status() == 201 => acked.lock().unwrap().push(id),
                    Ok(r) => panic!("unexpected answer {}", r.status()),
                    Err(_) => break, // the server is gone
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 300 {
        assert!(Instant::now() < deadline, "300 writes were not acknowledged within 60 s");
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // SIGKILL in the middle of the writes: no shutdown, no flush.
    drop(server);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for p in phones {
        p.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let sent = sent.lock().unwrap().clone();
    assert!(acked.len() >= 300);

    let server = Server::start(&db, data.path()).await;
    let store = shouwang_store::Store::open(&shouwang_store::StoreOptions::new(if db.dir().is_some() {
        format!("sqlite://{}", data.path().join("shouwang.db").display())
    } else {
        db.url.clone()
    }))
    .await
    .unwrap();
    let count = |store: &shouwang_store::Store, id: String| {
        let store = store.clone();
        async move {
            use sqlx::Row;
            let row = sqlx::query("SELECT COUNT(*) AS n FROM duty_log WHERE id = $1")
                .bind(id)
                .fetch_one(store.pool())
                .await
                .unwrap();
            row.get::<i64, _>("n")
        }
    };
    for id in &acked {
        assert_eq!(count(&store, id.clone()).await, 1, "acknowledged entry {id} is stored exactly once");
    }
    // The phones resend everything they are unsure of: nothing doubles.
    let client = reqwest::Client::new();
    for id in &sent {
        let r = client
            .post(format!("{}/api/v1/duty-log", server.base))
            .bearer_auth(&token)
            .json(&json!({ "id": id, "body": "resent" }))
            .send()
            .await
            .unwrap();
        let expected: &[u16] = if acked.contains(id) { &[200] } else { &[200, 201] };
        assert!(expected.contains(&r.status().as_u16()), "resend of {id}: {}", r.status());
    }
    use sqlx::Row;
    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM duty_log").fetch_one(store.pool()).await.unwrap().get("n");
    assert_eq!(total as usize, sent.len(), "every entry sent is stored once, none twice");
    store.close().await;
}

#[tokio::test]
async fn a_self_signed_certificate_serves_https_and_marks_cookies_secure() {
    if Command::new("curl").arg("--version").output().is_err() {
        assert!(!shouwang_testdb::require_all(), "curl is needed for the HTTPS test");
        println!("SKIP https: curl not found");
        return;
    }
    let Some((db, data)) = fresh_db("a_self_signed_certificate_serves_https").await else { return };
    add_root_admin(&db, data.path());
    let port = free_port();
    let mut child = shouwang(&db, data.path())
        .args(["serve", "--tls", "self-signed", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let curl = |args: &[&str]| Command::new("curl").args(["-sk", "--max-time", "5"]).args(args).output().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let url = format!("https://127.0.0.1:{port}");
    while curl(&[&format!("{url}/healthz")]).stdout != b"ok" {
        assert!(Instant::now() < deadline, "HTTPS did not come up within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = curl(&[
        "-i",
        "-H",
        "content-type: application/json",
        "-d",
        r#"{"username":"root.admin","password":"a long admin password"}"#,
        &format!("{url}/api/v1/auth/login"),
    ]);
    let head = String::from_utf8_lossy(&out.stdout).to_lowercase();
    let cookie = head.lines().find(|l| l.starts_with("set-cookie: sw_session=")).expect("a session cookie");
    assert!(cookie.contains("secure") && cookie.contains("httponly"), "{cookie}");
    assert!(data.path().join("tls/self-signed.crt").exists(), "the certificate is kept for the next start");
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn sigterm_drains_in_flight_writes_before_exiting() {
    let Some((db, data)) = fresh_db("sigterm_drains_in_flight_writes_before_exiting").await else { return };
    add_root_admin(&db, data.path());
    let mut server = Server::start(&db, data.path()).await;
    let token = first_admin_and_token(&db, data.path(), &server).await;
    let client = reqwest::Client::new();
    let mut writes = Vec::new();
    for i in 0..100 {
        let req = client
            .post(format!("{}/api/v1/duty-log", server.base))
            .bearer_auth(&token)
            .json(&json!({ "id": uuid::Uuid::now_v7().to_string(), "body": format!("before shutdown {i}") }))
            .send();
        writes.push(tokio::spawn(req));
    }
    // Let the requests reach the server, then ask it to stop.
    tokio::task::yield_now().await;
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let mut acked = 0;
    for w in writes {
        if let Ok(Ok(r)) = w.await
            && r.status() == 201
        {
            acked += 1;
        }
    }
    let status = tokio::task::spawn_blocking(move || server.child.wait().unwrap()).await.unwrap();
    assert!(status.success(), "a graceful stop exits 0: {status:?}");
    let url = if db.dir().is_some() {
        format!("sqlite://{}", data.path().join("shouwang.db").display())
    } else {
        db.url.clone()
    };
    let store = shouwang_store::Store::open(&shouwang_store::StoreOptions::new(url)).await.unwrap();
    use sqlx::Row;
    let rows: i64 = sqlx::query("SELECT COUNT(*) AS n FROM duty_log").fetch_one(store.pool()).await.unwrap().get("n");
    assert!(rows >= acked, "every acknowledged write is stored ({rows} rows, {acked} acknowledged)");
    store.close().await;
}

/// The phone's outbox (`POST /api/v1/sync`) with the server killed while a
/// batch is half stored: the phone never got an answer for it, so after the
/// restart it sends every batch again. Every record is then stored exactly
/// once, with exactly one receipt.
#[tokio::test]
async fn an_outbox_sync_killed_mid_batch_and_resent_loses_nothing_and_doubles_nothing() {
    let test = "an_outbox_sync_killed_mid_batch_and_resent_loses_nothing_and_doubles_nothing";
    let Some((db, data)) = fresh_db(test).await else { return };
    add_root_admin(&db, data.path());
    let server = Server::start(&db, data.path()).await;
    let token = first_admin_and_token(&db, data.path(), &server).await;

    const BATCHES: usize = 8;
    const PER_BATCH: usize = 400;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64;
    let batches: Vec<Value> = (0..BATCHES)
        .map(|b| {
            let entries: Vec<Value> = (0..PER_BATCH)
                .map(|i| {
                    let id = uuid::Uuid::now_v7().to_string();
                    json!({ "id": id, "method": "POST", "path": "/api/v1/duty-log",
                            "entered_us": now - 3_600_000_000 + (b * PER_BATCH + i) as i64,
                            "body": { "id": id, "body": format!("离线记录 {b}-{i}") } })
                })
                .collect();
            json!({ "sent_us": now, "entries": entries })
        })
        .collect();
    let ids: Vec<String> = batches
        .iter()
        .flat_map(|b| b["entries"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()))
        .collect();

    let url = if db.dir().is_some() {
        format!("sqlite://{}", data.path().join("shouwang.db").display())
    } else {
        db.url.clone()
    };
    let store = shouwang_store::Store::open(&shouwang_store::StoreOptions::new(url.clone())).await.unwrap();
    let count = |sql: &'static str| {
        let store = store.clone();
        async move {
            use sqlx::Row;
            sqlx::query(sql).fetch_one(store.pool()).await.unwrap().get::<i64, _>("n")
        }
    };

    // The phone sends its batches one after the other…
    let sender = {
        let (base, token, batches) = (server.base.clone(), token.clone(), batches.clone());
        tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
            let mut answered = 0;
            for b in &batches {
                match client.post(format!("{base}/api/v1/sync")).bearer_auth(&token).json(b).send().await {
                    Ok(r) if r.status() == 200 => answered += 1,
                    _ => break, // no answer: the server is gone
                }
            }
            answered
        })
    };
    // …and the server is killed in the middle of the third.
    let target = (2 * PER_BATCH + PER_BATCH / 2) as i64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while count("SELECT COUNT(*) AS n FROM duty_log").await < target {
        assert!(Instant::now() < deadline, "{target} records were not stored within 120 s");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    drop(server);
    let answered = sender.await.unwrap();
    let stored_before = count("SELECT COUNT(*) AS n FROM duty_log").await;
    assert!(answered < BATCHES, "the kill came before the end ({answered} batches answered)");
    assert!(stored_before < ids.len() as i64, "some records were still to come ({stored_before})");

    // Restarted, the phone sends everything it holds again.
    let server = Server::start(&db, data.path()).await;
    let client = reqwest::Client::new();
    for b in &batches {
        let r = client.post(format!("{}/api/v1/sync", server.base)).bearer_auth(&token).json(b).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let out: Value = r.json().await.unwrap();
        assert!(out["stopped"].is_null(), "{}", out["stopped"]);
        let results = out["results"].as_array().unwrap();
        assert_eq!(results.len(), PER_BATCH);
        assert!(results.iter().all(|r| r["status"] == 200 || r["status"] == 201), "every record stored");
    }
    for id in ids.iter().step_by(37) {
        use sqlx::Row;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM duty_log WHERE id = $1")
            .bind(id)
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get("n");
        assert_eq!(n, 1, "record {id} stored once");
    }
    assert_eq!(count("SELECT COUNT(*) AS n FROM duty_log").await, ids.len() as i64, "none missing, none doubled");
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM field_receipts").await,
        ids.len() as i64,
        "one receipt per record, however often it was sent"
    );
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM field_receipts WHERE late = 1").await,
        ids.len() as i64,
        "entered an hour before it was sent: every record arrived late"
    );
    store.close().await;
}
