//! A fresh database per test, on either backend.
//!
//! SQLite gets a file in a temporary folder. PostgreSQL gets a database of
//! its own (`shouwang_t_<hex>`), created through the server named by
//! `SHOUWANG_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and dropped when the [`TestDb`] is dropped, even after a failed assertion.
//! When PostgreSQL cannot be reached, [`TestDb::fresh`] prints `SKIP` and
//! returns `None`, unless `SHOUWANG_REQUIRE_ALL=1` asks for every backend,
//! which is how CI makes a missing service a failure. [`nats`] does the same
//! for NATS.

use std::time::Duration;

pub mod nats;

use shouwang_store::Backend;
use sqlx::Connection;

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    /// Its URL, for `Store::open` or the server's `database_url`.
    pub url: String,
    place: Place,
}

#[derive(Debug)]
enum Place {
    /// Deleted with everything in it when dropped.
    Sqlite {
        dir: tempfile::TempDir,
    },
    Postgres {
        admin_url: String,
        name: String,
    },
}

/// The backend tests of the server run on: `SHOUWANG_TEST_DATABASE=postgres`
/// selects PostgreSQL; SQLite otherwise.
pub fn backend_from_env() -> Backend {
    match std::env::var("SHOUWANG_TEST_DATABASE").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// Whether this run demands every service (CI).
pub fn require_all() -> bool {
    std::env::var("SHOUWANG_REQUIRE_ALL").as_deref() == Ok("1")
}

impl TestDb {
    /// A fresh database on `backend`, or `None` (after printing why) when
    /// that backend cannot be reached and the run does not require it.
    pub async fn fresh(backend: Backend, test: &str) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary folder can be made");
                let url = format!("sqlite://{}", dir.path().join("store.db").display());
                Some(Self { url, place: Place::Sqlite { dir } })
            }
            Backend::Postgres => {
                let admin_url = std::env::var("SHOUWANG_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into());
                let mut admin = match connect_pg(&admin_url).await {
                    Ok(c) => c,
                    Err(e) => {
                        assert!(
                            !require_all(),
                            "PostgreSQL not reachable at {admin_url} and SHOUWANG_REQUIRE_ALL=1: {e}"
                        );
                        println!("SKIP {test}: PostgreSQL not reachable at {admin_url}");
                        return None;
                    }
                };
                let name = format!("shouwang_t_{}", uuid::Uuid::now_v7().simple());
                sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
                    .execute(&mut admin)
                    .await
                    .expect("the test server lets us create a database");
                let _ = admin.close().await;
                let url = with_database(&admin_url, &name);
                Some(Self { url, place: Place::Postgres { admin_url, name } })
            }
        }
    }

    /// The temporary folder of a SQLite database (a data folder for a server
    /// under test); `None` on PostgreSQL.
    pub fn dir(&self) -> Option<&std::path::Path> {
        match &self.place {
            Place::Sqlite { dir } => Some(dir.path()),
            Place::Postgres { .. } => None,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Place::Postgres { admin_url, name } = &self.place else { return };
        // Drop runs on a runtime thread, perhaps while unwinding: do the
        // async clean-up on a thread and runtime of its own. Best effort.
        let (admin_url, name) = (admin_url.clone(), name.clone());
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut admin = connect_pg(&admin_url).await.ok()?;
                let dropped =
                    sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await;
                if let Err(e) = dropped {
                    eprintln!("could not drop test database {name}: {e}");
                }
                admin.close().await.ok()
            })
        });
        let _ = cleanup.join();
    }
}

async fn connect_pg(url: &str) -> Result<sqlx::PgConnection, String> {
    // A bound on connecting, so that a firewalled server is reported rather
    // than waited on forever.
    match tokio::time::timeout(Duration::from_secs(10), sqlx::PgConnection::connect(url)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out connecting".into()),
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (url, query) = url.split_once('?').map_or((url, None), |(u, q)| (u, Some(q)));
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let server = match url[scheme_end..].find('/') {
        Some(slash) => &url[..scheme_end + slash],
        None => url,
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_database_name_is_swapped_keeping_the_query() {
        assert_eq!(super::with_database("postgres://p@h:5432/postgres", "t1"), "postgres://p@h:5432/t1");
        assert_eq!(
            super::with_database("postgres://p@h/postgres?sslmode=disable", "t1"),
            "postgres://p@h/t1?sslmode=disable"
        );
        assert_eq!(super::with_database("postgres://p@h", "t1"), "postgres://p@h/t1");
    }
}
