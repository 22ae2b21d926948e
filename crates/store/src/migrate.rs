//! Schema migrations, embedded in the binary, one folder per backend.
//!
//! A small runner of our own rather than `sqlx::migrate!`: it keeps the build
//! free of sqlx's compile-time macros, and it is all we need: numbered
//! scripts, each applied once in its own transaction, in order. On
//! PostgreSQL a session advisory lock makes nodes starting together take
//! turns.

use crate::{Backend, Store, StoreError, now_us};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "checkpoints",
        sqlite: include_str!("../migrations/sqlite/0002_checkpoints.sql"),
        postgres: include_str!("../migrations/postgres/0002_checkpoints.sql"),
    },
    Migration {
        version: 3,
        name: "screenings",
        sqlite: include_str!("../migrations/sqlite/0003_screenings.sql"),
        postgres: include_str!("../migrations/postgres/0003_screenings.sql"),
    },
    Migration {
        version: 4,
        name: "passes",
        sqlite: include_str!("../migrations/sqlite/0004_passes.sql"),
        postgres: include_str!("../migrations/postgres/0004_passes.sql"),
    },
    Migration {
        version: 5,
        name: "calls",
        sqlite: include_str!("../migrations/sqlite/0005_calls.sql"),
        postgres: include_str!("../migrations/postgres/0005_calls.sql"),
    },
    Migration {
        version: 6,
        name: "orders",
        sqlite: include_str!("../migrations/sqlite/0006_orders.sql"),
        postgres: include_str!("../migrations/postgres/0006_orders.sql"),
    },
    Migration {
        version: 7,
        name: "alerts",
        sqlite: include_str!("../migrations/sqlite/0007_alerts.sql"),
        postgres: include_str!("../migrations/postgres/0007_alerts.sql"),
    },
    Migration {
        version: 8,
        name: "incident_handling",
        sqlite: include_str!("../migrations/sqlite/0008_incident_handling.sql"),
        postgres: include_str!("../migrations/postgres/0008_incident_handling.sql"),
    },
    Migration {
        version: 9,
        name: "attachments",
        sqlite: include_str!("../migrations/sqlite/0009_attachments.sql"),
        postgres: include_str!("../migrations/postgres/0009_attachments.sql"),
    },
    Migration {
        version: 10,
        name: "escalation",
        sqlite: include_str!("../migrations/sqlite/0010_escalation.sql"),
        postgres: include_str!("../migrations/postgres/0010_escalation.sql"),
    },
    Migration {
        version: 11,
        name: "enterprises",
        sqlite: include_str!("../migrations/sqlite/0011_enterprises.sql"),
        postgres: include_str!("../migrations/postgres/0011_enterprises.sql"),
    },
    Migration {
        version: 12,
        name: "households",
        sqlite: include_str!("../migrations/sqlite/0012_households.sql"),
        postgres: include_str!("../migrations/postgres/0012_households.sql"),
    },
    Migration {
        version: 13,
        name: "labour",
        sqlite: include_str!("../migrations/sqlite/0013_labour.sql"),
        postgres: include_str!("../migrations/postgres/0013_labour.sql"),
    },
    Migration {
        version: 14,
        name: "ploughing",
        sqlite: include_str!("../migrations/sqlite/0014_ploughing.sql"),
        postgres: include_str!("../migrations/postgres/0014_ploughing.sql"),
    },
    Migration {
        version: 15,
        name: "field_sync",
        sqlite: include_str!("../migrations/sqlite/0015_field_sync.sql"),
        postgres: include_str!("../migrations/postgres/0015_field_sync.sql"),
    },
    Migration {
        version: 16,
        name: "screening_totals",
        sqlite: include_str!("../migrations/sqlite/0016_screening_totals.sql"),
        postgres: include_str!("../migrations/postgres/0016_screening_totals.sql"),
    },
    Migration {
        version: 17,
        name: "screening_time_index",
        sqlite: include_str!("../migrations/sqlite/0017_screening_time_index.sql"),
        postgres: include_str!("../migrations/postgres/0017_screening_time_index.sql"),
    },
];

/// The advisory lock key that serialises migrations across nodes.
const MIGRATION_LOCK: i64 = 0x5348_5757_0001;

pub(crate) async fn run(store: &Store) -> Result<(), StoreError> {
    let mut conn = store.pool.acquire().await?;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await?;
    }
    let result = apply_pending(store.backend, &mut conn).await;
    if store.backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)").bind(MIGRATION_LOCK).execute(&mut *conn).await?;
    }
    result
}

async fn apply_pending(backend: Backend, conn: &mut sqlx::AnyConnection) -> Result<(), StoreError> {
    use sqlx::{Acquire, Row};
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations \
         (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_us BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    if let Some(newest) = applied.last()
        && *newest > MIGRATIONS.last().map_or(0, |m| m.version)
    {
        return Err(StoreError::Config(format!(
            "the database has schema version {newest}, newer than this binary knows; upgrade the binary"
        )));
    }
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let sql = match backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        let mut tx = conn.begin().await?;
        sqlx::raw_sql(sql).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_us) VALUES ($1, $2, $3)")
            .bind(m.version)
            .bind(m.name)
            .bind(now_us())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(migration.version = m.version, migration.name = m.name, "applied migration");
    }
    Ok(())
}
