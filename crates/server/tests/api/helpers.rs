//! `spawn_app()`: a real server on port 0 over a fresh database (SQLite, or
//! PostgreSQL with `SHOUWANG_TEST_DATABASE=postgres`), seeded with a small
//! county and one account per role, and typed request helpers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shouwang_domain::{OrgUnitCode, OrgUnitKind, RoleName, Username};
use shouwang_server::{App, Config};
use shouwang_store::writer::{Actor, Command};
use shouwang_store::{OrgUnit, Store, StoreOptions, User};
use shouwang_testdb::TestDb;

/// Every account's password in the tests.
pub const PASSWORD: &str = "correct horse battery";

/// The roles and the account seeded for each: (username, role, unit code).
pub const ACCOUNTS: &[(&str, &str, &str)] = &[
    ("admin", "admin", "411224"),
    ("commander", "commander", "411224"),
    ("duty", "duty_officer", "411224104"),
    ("enterprise", "enterprise_contact", "411224107"),
    ("service", "service_officer", "D-INDUSTRY"),
    ("cadre", "township_cadre", "411224104"),
    ("viewer", "viewer", "411224"),
];

/// A running server and what a test needs to talk to it and check on it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its address.
    pub addr: SocketAddr,
    /// The store, for checking what was written.
    pub store: Store,
    /// The app's writer, for driving its jobs.
    pub writer: shouwang_store::Writer,
    /// Units by code: `411224` (county), `411224104` (朱阳关镇), `411224107`
    /// (东明镇), `411224104202` (岭东村), `D-INDUSTRY`.
    pub units: HashMap<String, OrgUnit>,
    /// Seeded users by name.
    pub users: HashMap<String, User>,
    /// In NATS mode, whether its link to NATS is up.
    pub nats: Option<shouwang_bus::nats::LinkStatus>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    /// Dropped with the last node over it.
    _db: Arc<TestDb>,
}

/// A client signed in as one user.
pub struct Session {
    /// Cookie-keeping client.
    pub client: reqwest::Client,
    /// The session's CSRF token.
    pub csrf: String,
    /// Where the server is.
    pub base: String,
}

fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        std::thread::spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(shouwang_server::auth::password::hash(PASSWORD.into())).unwrap()
        })
        .join()
        .unwrap()
    })
    .clone()
}

/// Starts a server with `adjust` applied to its configuration; `None` when
/// the test's database backend is out of reach (and not required).
pub async fn spawn_app_with(test: &str, adjust: impl FnOnce(&mut Config)) -> Option<TestApp> {
    let db = TestDb::fresh(shouwang_testdb::backend_from_env(), test).await?;
    Some(start(Arc::new(db), adjust, None).await)
}

/// Two nodes over one fresh PostgreSQL database (whatever
/// `SHOUWANG_TEST_DATABASE` says: several nodes need PostgreSQL), the first
/// seeded; `adjust` gets each node's index (0, 1) and configuration. `None`
/// when PostgreSQL is out of reach (and not required).
pub async fn spawn_nodes(test: &str, adjust: impl Fn(usize, &mut Config)) -> Option<(TestApp, TestApp)> {
    let db = Arc::new(TestDb::fresh(shouwang_store::Backend::Postgres, test).await?);
    let first = start(db.clone(), |c| adjust(0, c), None).await;
    let seeded = (first.units.clone(), first.users.clone());
    let second = start(db, |c| adjust(1, c), Some(seeded)).await;
    Some((first, second))
}

/// A node over `db`, seeded unless `seeded` says what an earlier node made.
async fn start(
    db: Arc<TestDb>,
    adjust: impl FnOnce(&mut Config),
    seeded: Option<(HashMap<String, OrgUnit>, HashMap<String, User>)>,
) -> TestApp {
    let store = Store::open(&StoreOptions::new(&db.url)).await.expect("the test database opens");
    let mut config = Config { database_url: db.url.clone(), ..Config::default() };
    // Tests run side by side: each SFU takes a free UDP port.
    config.media.bind = "127.0.0.1:0".parse().unwrap();
    adjust(&mut config);
    let app = App::start(config, store.clone(), false, false).await.expect("the app starts");
    let (units, users) = match seeded {
        Some(seeded) => seeded,
        None => seed(&app).await,
    };
    let writer = app.state.writer.clone();
    let nats = app.state.nats.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.serve(listener, None, async move {
        let _ = rx.await;
    }));
    TestApp {
        base: format!("http://{addr}"),
        addr,
        store,
        writer,
        units,
        users,
        nats,
        shutdown: Some(tx),
        server: Some(server),
        _db: db,
    }
}

async fn seed(app: &App) -> (HashMap<String, OrgUnit>, HashMap<String, User>) {
    let w = &app.state.writer;
    let mut units = HashMap::new();
    let unit = |parent: Option<&OrgUnit>, kind, code: &str, name: &str| {
        let command = Command::CreateOrgUnit {
            parent: parent.map(|p| p.id),
            kind,
            code: OrgUnitCode::parse("code", code).unwrap(),
            name: name.into(),
        };
        async move { w.submit(Actor::system(), command).await.unwrap().outcome.into_org_unit().unwrap() }
    };
    let county = unit(None, OrgUnitKind::County, "411224", "卢氏县").await;
    let zhuyangguan = unit(Some(&county), OrgUnitKind::Township, "411224104", "朱阳关镇").await;
    let dongming = unit(Some(&county), OrgUnitKind::Township, "411224107", "东明镇").await;
    let lingdong = unit(Some(&zhuyangguan), OrgUnitKind::Village, "411224104202", "岭东村").await;
    let industry = unit(Some(&county), OrgUnitKind::Department, "D-INDUSTRY", "县工业和信息化局").await;
    for u in [county, zhuyangguan, dongming, lingdong, industry] {
        units.insert(u.code.clone(), u);
    }
    let mut users = HashMap::new();
    for (name, role, code) in ACCOUNTS {
        let command = Command::CreateUser {
            username: Username::parse("username", name).unwrap(),
            display_name: format!("Test {name}"),
            password_hash: password_hash(),
            role: RoleName::parse("role", role).unwrap(),
            org_unit: units[*code].id,
            scope: None,
        };
        let user = w.submit(Actor::system(), command).await.unwrap().outcome.into_user().unwrap();
        users.insert(name.to_string(), user);
    }
    (units, users)
}

impl TestApp {
    /// A fresh client without a session.
    pub fn anonymous(&self) -> reqwest::Client {
        reqwest::Client::builder().cookie_store(true).build().unwrap()
    }

    /// Signs in as `username` (one of [`ACCOUNTS`]).
    pub async fn login(&self, username: &str) -> Session {
        let client = self.anonymous();
        let res = client
            .post(format!("{}/api/v1/auth/login", self.base))
            .json(&json!({ "username": username, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{username} signs in");
        let body: Value = res.json().await.unwrap();
        Session { client, csrf: body["csrf_token"].as_str().unwrap().to_owned(), base: self.base.clone() }
    }

    /// How many rows the duty log holds.
    pub async fn duty_log_rows(&self) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) AS n FROM duty_log").fetch_one(self.store.pool()).await.unwrap().get("n")
    }

    /// How many events the log holds.
    pub async fn event_rows(&self) -> i64 {
        use sqlx::Row;
        sqlx::query("SELECT COUNT(*) AS n FROM events").fetch_one(self.store.pool()).await.unwrap().get("n")
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }
}

impl Session {
    /// A request with the CSRF header set.
    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base)).header("x-csrf-token", &self.csrf)
    }

    /// GET, returning status and JSON (Null when the body is not JSON).
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let res = self.request(Method::GET, path).send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// A JSON request, returning status and JSON.
    pub async fn send(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let res = self.request(method, path).json(&body).send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// POST JSON.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, body).await
    }
}

/// A fresh UUIDv7 as a string.
pub fn v7() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A valid unified social credit code of Lushi County made from `serial`
/// (nine characters of the code alphabet), with its check character.
pub fn credit_code(serial: &str) -> String {
    let first17 = format!("91411224{serial}");
    let check = shouwang_domain::enterprise::CreditCode::check_char(&first17);
    format!("{first17}{}", check.expect("the serial is in the code alphabet"))
}
