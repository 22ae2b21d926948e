//! Opening a database: migrations apply once and only once.

use shouwang_domain::{EventId, OrgUnitKind};
use shouwang_store::{Store, StoreError, StoreOptions};
use sqlx::Row;

use crate::assert_err;
use crate::harness::Harness;

async fn schema_versions(store: &Store) -> Vec<i64> {
    sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(store.pool())
        .await
        .expect("schema_migrations is readable")
        .iter()
        .map(|r| r.try_get::<i64, _>("version").expect("versions are integers"))
        .collect()
}

pub async fn reopening_a_database_keeps_its_schema_version_and_data(h: Harness) {
    let county = h.unit(None, OrgUnitKind::County, "411224").await;
    let viewer = h.role("viewer", &[]).await;
    h.user("officer1", &viewer, &county).await;
    let versions = schema_versions(&h.store).await;
    assert_eq!(
        versions,
        vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17],
        "a fresh database has every migration applied once"
    );

    for _ in 0..2 {
        let again = Store::open(&StoreOptions::new(&h.url)).await.expect("the same database opens again");
        assert_eq!(schema_versions(&again).await, versions, "reopening applies nothing twice");
        assert_eq!(again.user_count().await.unwrap(), 1);
        assert_eq!(again.org_unit(county.id).await.unwrap(), county);
        assert_eq!(again.last_event_id().await.unwrap(), h.store.last_event_id().await.unwrap());
        again.close().await;
    }
}

pub async fn a_database_from_a_newer_binary_is_refused(h: Harness) {
    sqlx::query("INSERT INTO schema_migrations (version, name, applied_us) VALUES ($1, $2, $3)")
        .bind(9999_i64)
        .bind("from_the_future")
        .bind(0_i64)
        .execute(h.store.pool())
        .await
        .expect("a row can be added by hand");
    assert_err!(Store::open(&StoreOptions::new(&h.url)).await, StoreError::Config(_));
}

pub async fn a_fresh_store_is_empty_and_answers_pings(h: Harness) {
    h.store.ping().await.expect("the database answers");
    assert_eq!(h.store.user_count().await.unwrap(), 0, "a fresh deployment needs its first admin");
    assert_eq!(h.store.last_event_id().await.unwrap(), EventId(0));
    assert!(h.store.org_units().await.unwrap().is_empty());
    assert!(h.store.roles().await.unwrap().is_empty());
    assert!(h.all_events().await.is_empty());
}
