//! A cache of who a session or API token is, of org units and of where each
//! post sits, so that the hot path (a phone posting a record) does not read
//! the database before it writes.
//!
//! Correctness comes from invalidation on commit: the writer's commit
//! listener calls [`Cache::committed`] with every batch's events *before* it
//! answers any caller, and any event that can change what an entry says
//! (an account disabled, a password set, a role's rights changed, a token
//! revoked, a sign-out, an org unit renamed) empties the cache. A reader that
//! raced with such a commit notices through the generation counter and does
//! not store what it read. Session expiry is checked on every hit.
//!
//! With several nodes, the events committed on other nodes must reach
//! [`Cache::committed`] too (the scale-out bus does that).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use shouwang_domain::{CheckpointId, Event, EventKind, OrgUnitId, ScopePath};
use shouwang_store::{OrgUnit, SessionRecord, Store, StoreError, User};

/// The most entries kept per map; past it the map is emptied (crude, and
/// enough: a county has thousands of users, not millions).
const MAX_ENTRIES: usize = 50_000;

/// The cache. One per server.
#[derive(Debug, Default)]
pub struct Cache {
    generation: AtomicU64,
    sessions: Mutex<HashMap<String, SessionRecord>>,
    tokens: Mutex<HashMap<String, User>>,
    units: Mutex<HashMap<OrgUnitId, OrgUnit>>,
    post_scopes: Mutex<HashMap<CheckpointId, ScopePath>>,
}

fn put<K: std::hash::Hash + Eq, V>(map: &Mutex<HashMap<K, V>>, key: K, value: V) {
    let mut m = map.lock().expect("no panics while the lock is held");
    if m.len() >= MAX_ENTRIES {
        m.clear();
    }
    m.insert(key, value);
}

impl Cache {
    /// Drops what the events may have made stale. Called by the commit
    /// listener before any caller is answered.
    pub fn committed(&self, events: &[std::sync::Arc<Event>]) {
        use EventKind::*;
        let accounts = events.iter().any(|e| {
            matches!(
                e.kind,
                UserUpdated | UserDisabled | UserEnabled | PasswordChanged | LoggedOut | RoleUpdated | TokenRevoked
            )
        });
        let units = events.iter().any(|e| matches!(e.kind, OrgUnitUpdated));
        if accounts || units {
            self.generation.fetch_add(1, Ordering::SeqCst);
        }
        if accounts {
            self.sessions.lock().expect("no panics while the lock is held").clear();
            self.tokens.lock().expect("no panics while the lock is held").clear();
        }
        if units {
            self.units.lock().expect("no panics while the lock is held").clear();
        }
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// The live session with this token hash.
    pub async fn session(
        &self,
        store: &Store,
        token_hash: &str,
        now_us: i64,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let hit = self.sessions.lock().expect("no panics while the lock is held").get(token_hash).cloned();
        if let Some(s) = hit {
            return Ok((s.expires_us > now_us).then_some(s));
        }
        let generation = self.generation();
        let found = store.session(token_hash, now_us).await?;
        if let Some(s) = &found
            && self.generation() == generation
        {
            put(&self.sessions, token_hash.to_owned(), s.clone());
        }
        Ok(found)
    }

    /// The user a live API token acts for.
    pub async fn token_user(&self, store: &Store, token_hash: &str) -> Result<Option<User>, StoreError> {
        let hit = self.tokens.lock().expect("no panics while the lock is held").get(token_hash).cloned();
        if hit.is_some() {
            return Ok(hit);
        }
        let generation = self.generation();
        let found = store.token_user(token_hash).await?;
        if let Some(u) = &found
            && self.generation() == generation
        {
            put(&self.tokens, token_hash.to_owned(), u.clone());
        }
        Ok(found)
    }

    /// An org unit.
    pub async fn org_unit(&self, store: &Store, id: OrgUnitId) -> Result<OrgUnit, StoreError> {
        let hit = self.units.lock().expect("no panics while the lock is held").get(&id).cloned();
        if let Some(u) = hit {
            return Ok(u);
        }
        let generation = self.generation();
        let unit = store.org_unit(id).await?;
        if self.generation() == generation {
            put(&self.units, id, unit.clone());
        }
        Ok(unit)
    }

    /// Where a post sits in the org tree (for the right to write to it).
    /// Only the post's existence and scope are known here, not its status:
    /// the writer checks that.
    pub async fn post_scope(&self, store: &Store, id: CheckpointId) -> Result<ScopePath, StoreError> {
        let hit = self.post_scopes.lock().expect("no panics while the lock is held").get(&id).cloned();
        if let Some(scope) = hit {
            return Ok(scope);
        }
        let scope = store.checkpoint(id).await?.scope;
        put(&self.post_scopes, id, scope.clone());
        Ok(scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shouwang_domain::EventId;
    use std::sync::Arc;

    fn event(kind: EventKind) -> Arc<Event> {
        Arc::new(Event {
            id: EventId(1),
            at_us: 0,
            actor: None,
            actor_name: "system".into(),
            kind,
            subject: "user:1".into(),
            scope: ScopePath::root(),
            payload: serde_json::Value::Null,
        })
    }

    #[test]
    fn account_changes_empty_the_cache_and_unrelated_events_do_not() {
        let cache = Cache::default();
        let unit = OrgUnit {
            id: OrgUnitId(1),
            parent_id: None,
            kind: shouwang_domain::OrgUnitKind::County,
            code: "411224".into(),
            name: "卢氏县".into(),
            path: ScopePath::root().child(OrgUnitId(1)),
        };
        put(&cache.units, OrgUnitId(1), unit);
        let generation = cache.generation();
        cache.committed(&[event(EventKind::DutyLogEntryAdded), event(EventKind::CheckedIn)]);
        assert_eq!(cache.generation(), generation, "a field record changes no one's rights");
        assert_eq!(cache.units.lock().unwrap().len(), 1);
        cache.committed(&[event(EventKind::UserDisabled)]);
        assert!(cache.generation() > generation, "a reader that raced with this commit will not store what it read");
        cache.committed(&[event(EventKind::OrgUnitUpdated)]);
        assert!(cache.units.lock().unwrap().is_empty());
    }
}
