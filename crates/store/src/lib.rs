//! Shouwang's storage: one repository API over SQLite and PostgreSQL.
//!
//! # Why one code path
//! Every query is written once, in the SQL that SQLite and PostgreSQL share,
//! and runs through sqlx's `Any` driver; the schema is kept in one migration
//! folder per backend (`migrations/sqlite`, `migrations/postgres`) because
//! DDL is where the two really differ. Where a statement must differ (the
//! advisory lock that keeps event ids in commit order on PostgreSQL), the
//! code says so with a `match` on [`Backend`]. The conformance suite in
//! `tests/` runs every test against both backends.
//!
//! # Reads and writes
//! Reads are methods on [`Store`] and run on the pool. Every write that
//! changes state goes through the [`Writer`]: one task that batches
//! concurrent [`Command`]s into one transaction (group commit), writes the
//! state rows and their events together, and answers each caller only after
//! the batch is durable. See [`writer`] for the details.
//!
//! # Conventions
//! Times are `i64` microseconds since the epoch (UTC); flags are integers
//! 0/1; ids are `i64` except field records, which carry their client-made
//! UUIDv7 as text.
#![deny(missing_docs)]

pub mod alerts;
pub mod attachments;
pub mod calls;
pub mod checkpoints;
pub mod enterprises;
mod error;
pub mod households;
pub mod incidents;
pub mod labour;
mod migrate;
pub mod orders;
pub mod passes;
pub mod ploughing;
mod reads;
mod records;
pub mod screenings;
pub mod sync;
pub mod writer;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};
use std::str::FromStr;
use std::sync::Once;
use std::time::Duration;

pub use alerts::{AlertRecord, Condition};
pub use attachments::{Attachment, NewAttachment};
pub use calls::{CallRecord, Invitee, NewCall, Party, PartyChange};
pub use checkpoints::{CheckInRecord, Checkpoint, ResupplyRequest, Shift, SupplyLevel};
pub use enterprises::{
    Application, DailyReport, Enterprise, EnterpriseDraft, NewApplication, NewDailyReport, NewTicket, Project,
    ProjectDraft, ResumptionCount, StatusChange, SupplyOutput, Ticket, TicketCount, TicketNote, TicketRoute,
    TicketStep, TicketSubject, Viewer,
};
pub use error::StoreError;
pub use households::{
    DifficultyCount, Household, HouseholdDraft, NewProduction, NewSale, NewVisit, ProduceTotal, Production, Sale,
    StatusCount, Visit,
};
pub use incidents::{IncidentNote, IncidentStep, NewIncident};
pub use labour::{Batch, Demand, NewBatch, Passenger, Placement, Worker};
pub use orders::{AttachedFile, NewOrder, OrderRecord, Receipt, ReceiptChange, Recipient};
pub use passes::{NewPass, NewPassRequest, Pass, PassDecision, PassRequest, PassUsage, Revocation};
pub use ploughing::{Ploughing, TownshipPloughing, VillagePloughing};
pub use records::{ApiToken, DutyLogEntry, EventFilter, OrgUnit, SessionRecord, User};
pub use screenings::{Grain, Incident, NewScreening, PersonRecord, Screening, ScreeningCount, ScreeningFilter};
pub use sync::{FieldReceipt, PostSync, SyncBatch, SyncedRecord};
pub use writer::{Command, Outcome, Writer};

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in WAL mode: the embedded default.
    Sqlite,
    /// PostgreSQL: production and several nodes.
    Postgres,
}

impl Backend {
    /// The backend a database URL names, or `None` for any other scheme.
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Some(Self::Postgres)
        } else {
            None
        }
    }
}

/// How durable a SQLite commit is. PostgreSQL is always durable on commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteSync {
    /// fsync on every commit (`synchronous=FULL`): an acknowledged write
    /// survives a power cut. The default.
    Full,
    /// fsync at checkpoints only (`synchronous=NORMAL`): survives a crash of
    /// the process, not of the machine. For benchmarks and trials.
    Normal,
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`.
    pub url: String,
    /// Connections for reads (the writer holds one more of its own).
    pub max_connections: u32,
    /// SQLite durability.
    pub sqlite_sync: SqliteSync,
}

impl StoreOptions {
    /// Defaults for `url`: 8 read connections, full durability.
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), max_connections: 8, sqlite_sync: SqliteSync::Full }
    }
}

/// The repository: reads on a pool; writes through [`Writer`].
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

static DRIVERS: Once = Once::new();

impl Store {
    /// Connects, creating a SQLite file if there is none, and brings the
    /// schema up to date.
    #[tracing::instrument(skip_all, fields(backend))]
    pub async fn open(options: &StoreOptions) -> Result<Self, StoreError> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let backend = Backend::of_url(&options.url)
            .ok_or_else(|| StoreError::Config("database url must start with sqlite:// or postgres://".into()))?;
        tracing::Span::current().record("backend", tracing::field::debug(backend));
        let url = match backend {
            Backend::Sqlite if !options.url.contains('?') => format!("{}?mode=rwc", options.url),
            _ => options.url.clone(),
        };
        let connect = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Config(format!("database url: {e}")))?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
        // WAL lets readers run beside the one writer; the busy timeout covers
        // the rare write outside the writer task. Temporary files in memory:
        // a multi-row insert inside a transaction keeps a statement journal
        // (to undo that statement alone), and on disk its writes were a fifth
        // of the database thread's time under load. It lives only as long as
        // its statement and plays no part in recovery: the WAL does that.
        let pragmas: &'static str = match options.sqlite_sync {
            SqliteSync::Full => {
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; \
                 PRAGMA temp_store=MEMORY;"
            }
            SqliteSync::Normal => {
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000; \
                 PRAGMA temp_store=MEMORY;"
            }
        };
        let pool = AnyPoolOptions::new()
            .max_connections(options.max_connections + 1)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlx::Executor::execute(&mut *conn, pragmas).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(connect)
            .await?;
        let store = Self { pool, backend };
        migrate::run(&store).await?;
        Ok(store)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for benchmarks that compare against raw SQL on the same
    /// database.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Copies a SQLite database, consistently, while it is in use
    /// (`VACUUM INTO`). PostgreSQL is backed up with `pg_dump` instead.
    pub async fn backup_sqlite(&self, to: &std::path::Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Config("backup copies SQLite only; use pg_dump for PostgreSQL".into()));
        }
        let target = to.to_str().ok_or_else(|| StoreError::Config("backup path is not UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1").bind(target).execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The current time as stored.
pub fn now_us() -> i64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("the clock is after 1970");
    d.as_micros() as i64
}
