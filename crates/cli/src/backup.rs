//! `shouwang backup`: a consistent copy of the SQLite database while the
//! server runs (`VACUUM INTO`); for PostgreSQL, the `pg_dump` recipe.

use std::path::Path;

use anyhow::Context;
use shouwang_store::Backend;

use crate::Place;
use crate::run::{load_config, open_store, store_url};

/// Runs the backup.
pub async fn run(file: Option<&Path>, place: &Place, to: &Path) -> anyhow::Result<()> {
    let config = load_config(file, place)?;
    let url = store_url(&config);
    if Backend::of_url(&url) == Some(Backend::Postgres) {
        println!("This deployment runs on PostgreSQL. Back it up with pg_dump, for example:");
        println!("  pg_dump --format=custom --file=shouwang-$(date +%F).dump \"$SHOUWANG_DATABASE_URL\"");
        println!("and restore with: pg_restore --clean --dbname=\"$SHOUWANG_DATABASE_URL\" FILE");
        return Ok(());
    }
    anyhow::ensure!(!to.exists(), "{} exists already; choose a new file", to.display());
    let store = open_store(&config, "shouwang.db").await?;
    store.backup_sqlite(to).await.with_context(|| format!("writing the backup to {}", to.display()))?;
    store.close().await;
    println!("Backed up to {}", to.display());
    Ok(())
}
