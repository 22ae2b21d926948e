//! The harness: a fresh database per test, on either backend, with a writer
//! whose committed events are recorded.
//!
//! The database comes from `shouwang_testdb::TestDb` (a temporary SQLite
//! file, or a PostgreSQL database of its own, dropped afterwards; `SKIP`
//! unless `SHOUWANG_REQUIRE_ALL=1` when PostgreSQL is out of reach).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use sqlx::pool::PoolConnection;

use shouwang_domain::{
    Event, EventId, OrgUnitCode, OrgUnitId, OrgUnitKind, RecordId, Right, Rights, Role, RoleName, ScopePath, Username,
};
use shouwang_store::writer::{Actor, Applied, CommitListener};
use shouwang_store::{Backend, Command, EventFilter, OrgUnit, Outcome, Store, StoreError, StoreOptions, User, Writer};
use shouwang_testdb::TestDb;

/// A store on a fresh database, its writer, and what the writer published.
pub struct Harness {
    /// The store under test.
    pub store: Store,
    /// The writer every write goes through.
    pub writer: Writer,
    /// Every batch of events the writer handed to its listener.
    pub published: Arc<Published>,
    /// The database URL, to open the same database again.
    pub url: String,
    /// Holds the temporary folder or the PostgreSQL database; declared last
    /// so that it is dropped after the store.
    _db: TestDb,
}

impl Harness {
    /// A harness on `backend`, or `None` (after printing why) when that
    /// backend cannot be reached and the run does not require it.
    pub async fn open(backend: Backend, test: &str) -> Option<Self> {
        let db = TestDb::fresh(backend, test).await?;
        let url = db.url.clone();
        let store = Store::open(&StoreOptions::new(&url)).await.expect("a fresh database opens");
        assert_eq!(store.backend(), backend);
        let published = Arc::new(Published::default());
        let (writer, _task) = Writer::spawn(store.clone(), published.clone());
        Some(Self { store, writer, published, url, _db: db })
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// Submits `command` as `actor`.
    pub async fn submit(&self, actor: Actor, command: Command) -> Result<Applied, StoreError> {
        self.writer.submit(actor, command).await
    }

    /// Submits `command` as the system.
    pub async fn system(&self, command: Command) -> Result<Applied, StoreError> {
        self.writer.submit(Actor::system(), command).await
    }

    /// Submits `command` as the system; it must succeed.
    pub async fn ok(&self, command: Command) -> Applied {
        let what = format!("{command:?}");
        self.writer.submit(Actor::system(), command).await.unwrap_or_else(|e| panic!("{what} failed: {e:?}"))
    }

    /// Creates a role with `rights`.
    pub async fn role(&self, name: &str, rights: &[Right]) -> Role {
        let role = Role { name: role_name(name), rights: Rights::of(rights) };
        match self.ok(Command::PutRole(role)).await.outcome {
            Outcome::Role(r) => r,
            other => panic!("PutRole gave {other:?}"),
        }
    }

    /// Creates an org unit.
    pub async fn unit(&self, parent: Option<&OrgUnit>, kind: OrgUnitKind, code: &str) -> OrgUnit {
        let command = create_unit(parent.map(|p| p.id), kind, code);
        match self.ok(command).await.outcome {
            Outcome::OrgUnit(u) => u,
            other => panic!("CreateOrgUnit gave {other:?}"),
        }
    }

    /// Creates a user with `role` in `unit`, password hash `hash:<username>`.
    pub async fn user(&self, username: &str, role: &Role, unit: &OrgUnit) -> User {
        match self.ok(create_user(username, role.name.as_str(), unit.id)).await.outcome {
            Outcome::User(u) => u,
            other => panic!("CreateUser gave {other:?}"),
        }
    }

    /// Two root counties whose ids read as a prefix pair (`1` and `10` on a
    /// fresh database), so that paths `/1/` and `/10/` both exist: the trap
    /// for a subtree test done by plain string prefix.
    pub async fn prefix_siblings(&self) -> (OrgUnit, OrgUnit) {
        let mut roots: Vec<OrgUnit> = Vec::new();
        loop {
            assert!(roots.len() < 200, "ids never formed a prefix pair");
            let unit = self.unit(None, OrgUnitKind::County, &format!("county{}", roots.len())).await;
            let id = unit.id.0.to_string();
            if let Some(short) = roots.iter().find(|r| id.starts_with(&r.id.0.to_string())) {
                return (short.clone(), unit);
            }
            roots.push(unit);
        }
    }

    /// Every event in the store, oldest first.
    pub async fn all_events(&self) -> Vec<Event> {
        self.store.events(&EventFilter::after(ScopePath::root(), EventId(0), 1000)).await.expect("events read")
    }

    /// Holds the database's write lock on another connection, so that the
    /// writer stalls on its next transaction and everything submitted
    /// meanwhile queues up behind it. On PostgreSQL the lock covers the
    /// `events` and `duty_log` tables, which every duty-log write touches.
    pub async fn block_writes(&self) -> WriteBlock {
        let mut conn = self.store.pool().acquire().await.expect("a pool connection");
        let sql = match self.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN; LOCK TABLE events, duty_log IN EXCLUSIVE MODE",
        };
        sqlx::raw_sql(sql).execute(&mut *conn).await.expect("the write lock is taken");
        WriteBlock { conn }
    }

    /// Submits `jobs` while the writer is held up ([`Self::block_writes`]),
    /// so that they queue and commit together (at most the first one alone,
    /// if the writer took it before the rest arrived), and returns their
    /// answers in order.
    pub async fn submit_held(&self, jobs: Vec<(Actor, Command)>) -> Vec<Result<Applied, StoreError>> {
        let block = self.block_writes().await;
        let mut submits: Vec<Submit<'_>> =
            jobs.into_iter().map(|(who, c)| Box::pin(self.submit(who, c)) as Submit<'_>).collect();
        enqueue_all(&mut submits).await;
        block.release().await;
        futures_util::future::join_all(submits).await
    }
}

type Submit<'a> = Pin<Box<dyn Future<Output = Result<Applied, StoreError>> + Send + 'a>>;

/// A write lock held by a test; see [`Harness::block_writes`].
pub struct WriteBlock {
    conn: PoolConnection<sqlx::Any>,
}

impl WriteBlock {
    /// Lets the writer go on.
    pub async fn release(mut self) {
        sqlx::raw_sql("ROLLBACK").execute(&mut *self.conn).await.expect("the write lock is released");
    }
}

/// The listener: records every batch the writer publishes.
#[derive(Default)]
pub struct Published {
    batches: Mutex<Vec<Vec<Arc<Event>>>>,
}

impl CommitListener for Published {
    fn committed(&self, events: &[Arc<Event>]) {
        self.batches.lock().expect("no test panics while holding the lock").push(events.to_vec());
    }
}

impl Published {
    /// Every published event, in the order published.
    pub fn events(&self) -> Vec<Event> {
        self.batches().into_iter().flatten().map(|e| (*e).clone()).collect()
    }

    /// The published batches, in the order published.
    pub fn batches(&self) -> Vec<Vec<Arc<Event>>> {
        self.batches.lock().expect("no test panics while holding the lock").clone()
    }

    /// How many events have been published.
    pub fn count(&self) -> usize {
        self.batches.lock().expect("no test panics while holding the lock").iter().map(Vec::len).sum()
    }
}

/// Polls each future once, without cooperative-budget interruptions, so that
/// every `Writer::submit` among them has put its command in the writer's
/// queue when this returns. The futures must not complete on their first
/// poll (a submit cannot: its answer needs the writer).
pub async fn enqueue_all<T>(futures: &mut [Pin<Box<dyn Future<Output = T> + Send + '_>>]) {
    tokio::task::unconstrained(std::future::poll_fn(|cx| {
        for f in futures.iter_mut() {
            assert!(f.as_mut().poll(cx).is_pending(), "a submit cannot finish before the writer answers");
        }
        Poll::Ready(())
    }))
    .await;
}

pub fn role_name(name: &str) -> RoleName {
    RoleName::parse("name", name).expect("test role names are valid")
}

pub fn username(name: &str) -> Username {
    Username::parse("username", name).expect("test usernames are valid")
}

pub fn code(code: &str) -> OrgUnitCode {
    OrgUnitCode::parse("code", code).expect("test codes are valid")
}

pub fn actor(user: &User) -> Actor {
    Actor::user(user.id, &user.username)
}

pub fn create_unit(parent: Option<OrgUnitId>, kind: OrgUnitKind, c: &str) -> Command {
    Command::CreateOrgUnit { parent, kind, code: code(c), name: format!("unit {c}") }
}

pub fn create_user(name: &str, role: &str, unit: OrgUnitId) -> Command {
    Command::CreateUser {
        username: username(name),
        display_name: format!("User {name}"),
        password_hash: format!("hash:{name}"),
        role: role_name(role),
        org_unit: unit,
        scope: None,
    }
}

/// A new duty-log entry for `unit` with a fresh id.
pub fn duty_entry(unit: &OrgUnit, body: &str) -> Command {
    duty_entry_with_id(RecordId::new_v7(), unit.id, &unit.path, body)
}

pub fn duty_entry_with_id(id: RecordId, unit: OrgUnitId, scope: &ScopePath, body: &str) -> Command {
    Command::AddDutyLogEntry {
        id,
        org_unit: unit,
        scope: scope.clone(),
        body: body.into(),
        occurred_us: 1_700_000_000_000_000,
    }
}

/// Matches the error against a pattern, with the error shown when it fails.
#[macro_export]
macro_rules! assert_err {
    ($result:expr, $pattern:pat $(,)?) => {
        match $result {
            Err($pattern) => {}
            other => panic!("expected Err({}), got {:?}", stringify!($pattern), other),
        }
    };
}
