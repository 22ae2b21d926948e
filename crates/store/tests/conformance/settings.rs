//! Deployment settings and the SQLite backup.

use shouwang_domain::{OrgUnitKind, Right, ScopePath};
use shouwang_store::{Backend, Command, Store, StoreError, StoreOptions};

use crate::assert_err;
use crate::harness::Harness;

fn put(key: &str, value: Option<&str>) -> Command {
    Command::PutSetting { key: key.into(), value: value.map(Into::into) }
}

pub async fn settings_are_put_replaced_and_deleted_without_events(h: Harness) {
    assert_eq!(h.store.setting("first_start_token").await.unwrap(), None);
    h.ok(put("first_start_token", Some("secret-1"))).await;
    h.ok(put("site_name", Some("卢氏县应急指挥"))).await;
    assert_eq!(h.store.setting("first_start_token").await.unwrap().as_deref(), Some("secret-1"));
    assert_eq!(h.store.setting("site_name").await.unwrap().as_deref(), Some("卢氏县应急指挥"));

    h.ok(put("first_start_token", Some("secret-2"))).await;
    assert_eq!(h.store.setting("first_start_token").await.unwrap().as_deref(), Some("secret-2"));

    h.ok(put("first_start_token", None)).await;
    assert_eq!(h.store.setting("first_start_token").await.unwrap(), None);
    assert_eq!(h.store.setting("site_name").await.unwrap().as_deref(), Some("卢氏县应急指挥"), "others stay");
    h.ok(put("never_set", None)).await;

    assert!(h.published.events().is_empty(), "settings may hold secrets: no event names them");
    assert!(h.all_events().await.is_empty());
}

pub async fn a_sqlite_backup_opens_as_a_store_with_the_same_users(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let role = h.role("duty_officer", &[Right::Read, Right::Write]).await;
    h.user("officer1", &role, &county).await;
    h.user("officer2", &role, &county).await;
    let dir = tempfile::tempdir().expect("a temporary folder can be made");
    let target = dir.path().join("backup.db");

    if h.backend() == Backend::Postgres {
        assert_err!(h.store.backup_sqlite(&target).await, StoreError::Config(_));
        assert!(!target.exists());
        return;
    }
    h.store.backup_sqlite(&target).await.expect("a live SQLite database backs up");
    // The original goes on while the copy is checked.
    h.user("officer3", &role, &county).await;

    let copy =
        Store::open(&StoreOptions::new(format!("sqlite://{}", target.display()))).await.expect("the backup opens");
    let users = copy.users_within(&ScopePath::root()).await.unwrap();
    let names: Vec<&str> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, vec!["officer1", "officer2"], "the copy is the database as it was");
    let originals = h.store.users_within(&ScopePath::root()).await.unwrap();
    assert_eq!(users[..], originals[..2]);
    assert_eq!(copy.credentials(&users[0].username).await.unwrap().1, "hash:officer1");
    assert_eq!(copy.org_units().await.unwrap(), h.store.org_units().await.unwrap());
    copy.close().await;
}
