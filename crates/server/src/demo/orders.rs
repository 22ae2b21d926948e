//! Orders and roll calls in the demo: this morning's order to the two big
//! posts, half acknowledged, one reported done; and officers who answer what
//! reaches them — a roll call within seconds, an order within a minute or so
//! — so that a roll call started from the board fills up while one watches.
//! The demo's own `duty` login and the post without signal never answer by
//! themselves: those are for a real phone, or to go overdue.

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::json;
use shouwang_domain::RecordId;
use shouwang_domain::order::{OrderKind, OrderText, Priority};
use shouwang_store::writer::{Actor, Command};
use shouwang_store::{NewOrder, ReceiptChange, Recipient, Store, Writer, now_us};

use super::Demo;

const HOUR_US: i64 = 3_600_000_000;

/// Seeds an order of this morning to the first two posts' crews.
pub async fn seed(w: &Writer, demo: &Demo) -> anyhow::Result<()> {
    let Some(commander) = demo.users.get("commander") else { return Ok(()) };
    let posts: Vec<_> = demo.posts.iter().take(2).collect();
    let recipients: Vec<Recipient> = posts
        .iter()
        .flat_map(|p| {
            demo.users
                .values()
                .filter(move |u| u.role.as_str() == "duty_officer" && u.scope == p.scope)
                .map(|u| Recipient { user: u.id, checkpoint: Some(p.id), scope: p.scope.clone() })
        })
        .collect();
    let now = now_us();
    let text = OrderText::parse(
        OrderKind::Order,
        Some("省界卡点加强夜间值守"),
        "即日起 22:00–06:00 每两小时巡查一次卡点周边小路，发现绕行车辆立即劝返并报告。",
        Priority::Urgent,
        Some(now + 8 * HOUR_US),
        true,
        now,
    )
    .map_err(|e| anyhow::anyhow!("the demo order: {e:?}"))?;
    let new = NewOrder {
        id: RecordId::new_v7(),
        text,
        scope: commander.scope.clone(),
        targets: json!({ "checkpoints": posts.iter().map(|p| p.id.0).collect::<Vec<_>>() }),
        recipients: recipients.clone(),
        attachment: None,
    };
    let actor = Actor::user(commander.id, &commander.username);
    let order = w.submit(actor, Command::IssueOrder(new)).await?.outcome.into_order()?;
    // Half of the crews acknowledged already; the first of them reported.
    for (i, r) in recipients.iter().enumerate().filter(|(i, _)| i % 2 == 1) {
        let Some(u) = demo.users.values().find(|u| u.id == r.user && u.username.as_str() != "duty") else {
            continue;
        };
        let actor = Actor::user(u.id, &u.username);
        let ack = ReceiptChange::Acknowledge { version: order.version, location: None, photo: None };
        w.submit(actor.clone(), Command::OrderReceipt { order: order.id, user: u.id, change: ack }).await?;
        if i == 1 {
            let report = ReceiptChange::Report {
                text: "已安排两人轮流巡查，夜间未发现绕行车辆。".into(), photo: None
            };
            w.submit(actor, Command::OrderReceipt { order: order.id, user: u.id, change: report }).await?;
        }
    }
    Ok(())
}

/// Simulated officers answer what reached them: a few roll calls each
/// tick, now and then an order.
pub async fn answer(store: &Store, w: &Writer, demo: &Demo, rng: &mut StdRng) -> anyhow::Result<()> {
    let Some(county) = demo.users.get("commander").map(|c| c.scope.clone()) else { return Ok(()) };
    let silent = demo.posts.get(11).map(|p| p.scope.clone());
    let since = now_us() - 2 * HOUR_US;
    let mut answered = 0;
    for order in store.orders_within(&county, None, 20).await?.into_iter().filter(|o| o.issued_us >= since) {
        for r in order.receipts.iter().filter(|r| !r.state.is_acknowledged()) {
            let Some(u) = demo.users.values().find(|u| u.id == r.user) else { continue };
            let by_hand = u.username.as_str() == "duty" || Some(&r.scope) == silent.as_ref();
            let now_and_then = order.kind == OrderKind::Order && !rng.gen_bool(0.1);
            if by_hand || now_and_then || answered >= 3 {
                continue;
            }
            let (dlat, dlon): (f64, f64) = (rng.gen_range(-0.001..0.001), rng.gen_range(-0.001..0.001));
            let at = demo
                .posts
                .iter()
                .find(|p| Some(p.id) == r.checkpoint)
                .map(|p| (p.location.lat + dlat, p.location.lon + dlon));
            let change = ReceiptChange::Acknowledge { version: order.version, location: at, photo: None };
            let command = Command::OrderReceipt { order: order.id, user: u.id, change };
            w.submit(Actor::user(u.id, &u.username), command).await?;
            answered += 1;
        }
    }
    Ok(())
}
