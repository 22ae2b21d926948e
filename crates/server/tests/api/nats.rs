//! Two nodes over one PostgreSQL database, their buses joined through NATS
//! JetStream on a subject of the test's own: what one node commits reaches
//! the other's live clients, and a node whose NATS link is cut misses
//! nothing and gets nothing twice. Skipped (with a printed reason) when
//! PostgreSQL or NATS is out of reach, unless `SHOUWANG_REQUIRE_ALL=1`.

use shouwang_testdb::nats::{CuttableLink, TestNats, until};

use crate::helpers::{TestApp, spawn_nodes};
use crate::live::{connect, events_until, ids, next, token_for, write};

/// Two nodes on `nats`; the second reaches NATS at `second_url` (a
/// [`CuttableLink`]) when given.
async fn nodes(test: &str, nats: &TestNats, second_url: Option<&str>) -> Option<(TestApp, TestApp)> {
    spawn_nodes(test, |i, c| {
        c.bus.nats_url = if i == 1 { second_url.unwrap_or(&nats.url).to_owned() } else { nats.url.clone() };
        c.bus.nats_subject = nats.subject.clone();
    })
    .await
}

#[tokio::test]
async fn a_duty_log_entry_written_on_one_node_reaches_a_live_client_of_the_other() {
    let test = "a_duty_log_entry_written_on_one_node_reaches_a_live_client_of_the_other";
    let Some(nats) = TestNats::fresh(test).await else { return };
    let Some((a, b)) = nodes(test, &nats, None).await else { return };
    let token = token_for(&a, "commander").await;
    let mut on_b = connect(&b, &token, None).await;
    assert_eq!(next(&mut on_b).await["type"], "hello");
    let id = write(&a, &token, "朱阳关卡点交接班", Some(a.units["411224104"].id.0)).await;
    let got = events_until(&mut on_b, id).await;
    assert_eq!(ids(&got), [id], "only the new event");
    assert_eq!(got[0]["kind"], "duty_log.entry_added");
    assert_eq!(got[0]["payload"]["body"], "朱阳关卡点交接班");
    assert!(b.nats.as_ref().is_some_and(|s| s.connected()));

    // The writing node timed its own message's hop through NATS, in the
    // histogram `/metrics` shows with its buckets.
    let mut hops = String::new();
    for _ in 0..200 {
        hops = a.anonymous().get(format!("{}/metrics", a.base)).send().await.unwrap().text().await.unwrap();
        let count = hops.lines().find_map(|l| l.strip_prefix("shouwang_bus_nats_hop_seconds_count "));
        if count.and_then(|c| c.trim().parse::<u64>().ok()).is_some_and(|c| c > 0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(hops.contains(r#"shouwang_bus_nats_hop_seconds_bucket{le="0.005"}"#), "{hops}");
}

#[tokio::test]
async fn a_node_whose_nats_link_is_cut_still_gives_its_live_clients_every_event_once() {
    let test = "a_node_whose_nats_link_is_cut_still_gives_its_live_clients_every_event_once";
    let Some(nats) = TestNats::fresh(test).await else { return };
    let link = CuttableLink::to(&nats.addr()).await;
    let Some((a, b)) = nodes(test, &nats, Some(&link.url)).await else { return };
    let b_link = b.nats.clone().expect("node B is in NATS mode");
    let token = token_for(&a, "commander").await;
    let (mut on_a, mut on_b) = (connect(&a, &token, None).await, connect(&b, &token, None).await);
    next(&mut on_a).await;
    next(&mut on_b).await;
    let before = write(&a, &token, "before the cut", None).await;
    assert_eq!(ids(&events_until(&mut on_b, before).await), [before]);

    link.cut();
    until("node B notices its NATS link is down", || !b_link.connected()).await;
    // Node A writes while B is cut off: B's clients get it from the store.
    let cut_a = [write(&a, &token, "while cut 1", None).await, write(&a, &token, "while cut 2", None).await];
    assert_eq!(ids(&events_until(&mut on_b, cut_a[1]).await), cut_a);
    // Node B writes while cut off: its publish cannot go out; its own
    // clients get it from the store, and A's once A reads the store.
    let cut_b = write(&b, &token, "written on B while cut", None).await;
    assert_eq!(ids(&events_until(&mut on_b, cut_b).await), [cut_b]);

    link.mend();
    until("node B reconnects", || b_link.connected()).await;
    let after = write(&a, &token, "after the mend", None).await;
    assert_eq!(ids(&events_until(&mut on_b, after).await), [after], "the next event, nothing again");
    assert_eq!(
        ids(&events_until(&mut on_a, after).await),
        [before, cut_a[0], cut_a[1], cut_b, after],
        "node A's client saw everything once, B's write among it, in order"
    );
}

#[tokio::test]
async fn a_node_that_cannot_reach_nats_does_not_start_and_names_the_setting() {
    let test = "a_node_that_cannot_reach_nats_does_not_start_and_names_the_setting";
    let Some(db) = shouwang_testdb::TestDb::fresh(shouwang_testdb::backend_from_env(), test).await else { return };
    let store = shouwang_store::Store::open(&shouwang_store::StoreOptions::new(&db.url)).await.unwrap();
    // A port nothing listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = shouwang_server::Config { database_url: db.url.clone(), ..Default::default() };
    config.media.enabled = false;
    config.bus.nats_url = format!("nats://127.0.0.1:{port}");
    let e = shouwang_server::App::start(config, store, false, false).await.unwrap_err();
    let message = format!("{e:#}");
    assert!(message.starts_with(&format!("bus.nats_url: cannot use NATS at nats://127.0.0.1:{port}")), "{message}");
}
