//! Presence: which on-duty phones have been heard from lately.
//!
//! A duty officer's page sends `{"type":"heartbeat"}` over the live
//! WebSocket while it is open; [`Presence`] remembers when each user was last
//! heard. The [`monitor`] task looks at every open check-in now and then and
//! tells the writer how many of each post's people were heard within the
//! timeout (a check-in itself counts as being heard). The store turns that
//! into the post's staffing and records a change as an event, so a post whose
//! phones all fell silent becomes "no signal" on the board, and recovers when
//! one speaks again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use shouwang_domain::{ScopePath, UserId};
use shouwang_store::writer::{Actor, Command};
use shouwang_store::{Store, Writer, now_us};

/// When each user was last heard from (µs since the epoch).
#[derive(Debug, Default)]
pub struct Presence {
    heard: Mutex<HashMap<UserId, i64>>,
}

impl Presence {
    /// Notes that `user`'s phone spoke at `at_us`.
    pub fn heard(&self, user: UserId, at_us: i64) {
        let mut map = self.heard.lock().expect("no panics while the lock is held");
        let last = map.entry(user).or_insert(at_us);
        *last = (*last).max(at_us);
    }

    /// When `user` was last heard from, if ever since start.
    pub fn last_heard(&self, user: UserId) -> Option<i64> {
        self.heard.lock().expect("no panics while the lock is held").get(&user).copied()
    }
}

/// One pass: for each post with people checked in, how many were heard from
/// within `timeout_us`; the writer records any change of staffing.
pub async fn check_once(store: &Store, writer: &Writer, presence: &Presence, timeout_us: i64) -> anyhow::Result<()> {
    let now = now_us();
    let mut heard: HashMap<shouwang_domain::CheckpointId, i64> = HashMap::new();
    for c in store.open_check_ins_within(&ScopePath::root()).await? {
        let last = presence.last_heard(c.user_id).unwrap_or(c.in_us).max(c.in_us);
        let entry = heard.entry(c.checkpoint_id).or_insert(0);
        if now - last <= timeout_us {
            *entry += 1;
        }
    }
    for (checkpoint, heard) in heard {
        writer.submit(Actor::system(), Command::SetStaffing { checkpoint, heard }).await?;
    }
    Ok(())
}

/// Runs [`check_once`] every `every` until `shutdown` turns true.
pub async fn monitor(
    store: Store,
    writer: Writer,
    presence: std::sync::Arc<Presence>,
    every: Duration,
    timeout: Duration,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        if let Err(e) = check_once(&store, &writer, &presence, timeout.as_micros() as i64).await {
            tracing::warn!(error = %e, "presence check failed");
        }
    }
}
