//! The retention job: personal data of screenings (plates, pass numbers,
//! notes; names, ID numbers and phones of the people) is erased once it is
//! `screening_retention_days` old. Counts and categories stay, so statistics
//! and incidents keep their meaning. The writer does the erasing, a few
//! thousand records per transaction, so phones logging screenings never
//! wait long behind it; each pass that erased something leaves an event.
//! The same job purges uploaded files that no order or answer names a week
//! after their upload (a form never sent), and call recordings
//! `media.recording_retention_days` after the call.

use std::time::Duration;

use shouwang_store::Writer;
use shouwang_store::writer::{Actor, Command};

/// Records erased per transaction.
const PER_TRANSACTION: i64 = 2000;

/// Erases what is older than `days` days now; returns how many records.
pub async fn erase_once(writer: &Writer, days: u32, now_us: i64) -> anyhow::Result<i64> {
    let before_us = now_us - i64::from(days) * 86_400_000_000;
    let mut total = 0;
    loop {
        let command = Command::ErasePersonalData { before_us, limit: PER_TRANSACTION };
        let erased = writer.submit(Actor::system(), command).await?.outcome.into_count()?;
        total += erased;
        if erased < PER_TRANSACTION {
            return Ok(total);
        }
    }
}

/// How long an uploaded file may wait for the order or answer that names it.
const ORPHAN_FILE_DAYS: i64 = 7;

/// Deletes the files uploaded more than a week before `now_us` that nothing
/// names; returns how many.
pub async fn purge_orphan_files(writer: &Writer, now_us: i64) -> anyhow::Result<i64> {
    let command = Command::PurgeOrphanAttachments { before_us: now_us - ORPHAN_FILE_DAYS * 86_400_000_000 };
    Ok(writer.submit(Actor::system(), command).await?.outcome.into_count()?)
}

/// Call recordings: their folder, and how many days they are kept.
pub struct Recordings {
    /// `data_dir/recordings`.
    pub dir: std::path::PathBuf,
    /// `media.recording_retention_days`.
    pub days: u32,
}

/// Runs [`erase_once`] at start and then every `every`, until `shutdown`.
pub async fn run(
    writer: Writer,
    days: u32,
    recordings: Recordings,
    every: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        match erase_once(&writer, days, shouwang_store::now_us()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(screenings = n, retention_days = days, "erased personal data past retention"),
            Err(e) => tracing::warn!(error = %e, "the retention job failed; it tries again next time"),
        }
        match purge_orphan_files(&writer, shouwang_store::now_us()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "purged uploads no order or answer names"),
            Err(e) => tracing::warn!(error = %e, "purging unused uploads failed; it tries again next time"),
        }
        let (dir, days) = (recordings.dir.clone(), recordings.days);
        let purged = tokio::task::spawn_blocking(move || {
            crate::api::recordings::purge_old(&dir, days, std::time::SystemTime::now())
        })
        .await;
        match purged {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => {
                tracing::info!(calls = n, retention_days = recordings.days, "deleted call recordings past retention")
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "deleting old call recordings failed; it tries again next time"),
            Err(e) => tracing::warn!(error = %e, "deleting old call recordings stopped"),
        }
    }
}
