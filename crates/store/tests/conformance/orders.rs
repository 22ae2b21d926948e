//! Orders and roll calls: issuing delivers a receipt to each recipient
//! (with an event each can hear), each receipt is read, acknowledged and
//! reported once, an amendment is acknowledged again, a revoked order takes
//! no more answers, and a deadline passed raises "overdue" once per
//! recipient — never for someone who acknowledged.

use serde_json::json;
use shouwang_domain::attachment::AttachmentType;
use shouwang_domain::order::{OrderKind, OrderState, OrderText, Priority, ReceiptState};
use shouwang_domain::{EventKind, RecordId};
use shouwang_store::{Command, NewAttachment, NewOrder, OrderRecord, ReceiptChange, Recipient, StoreError, User};

use crate::checkpoints::{post, refused, world};
use crate::harness::{Harness, actor};

const MINUTE_US: i64 = 60_000_000;

struct Scene {
    hq: User,
    officers: [User; 2],
    new: NewOrder,
}

fn now_us() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros()).unwrap()
}

async fn scene(h: &Harness, kind: OrderKind, deadline_us: i64) -> Scene {
    let w = world(h).await;
    let hq = h.user("commander", &w.guard, &w.county).await;
    let officers = [w.guard(h, "guard-a").await, w.guard(h, "guard-b").await];
    let cp = post(h, &w.town, "ZYG-01").await;
    let (title, body, needs_report) = match kind {
        OrderKind::Order => (Some("加强夜间值守"), "今晚起每两小时巡查一次", true),
        OrderKind::RollCall => (None, "", false),
    };
    let text = OrderText::parse(kind, title, body, Priority::Urgent, Some(deadline_us), needs_report, now_us())
        .expect("a valid order");
    let new = NewOrder {
        id: RecordId::new_v7(),
        text,
        scope: cp.scope.clone(),
        targets: json!({ "checkpoints": [cp.id.0] }),
        recipients: officers
            .iter()
            .map(|o| Recipient { user: o.id, checkpoint: Some(cp.id), scope: cp.scope.clone() })
            .collect(),
        attachment: None,
    };
    Scene { hq, officers, new }
}

async fn answer(h: &Harness, order: RecordId, who: &User, change: ReceiptChange) -> Result<OrderRecord, StoreError> {
    let applied = h.submit(actor(who), Command::OrderReceipt { order, user: who.id, change }).await?;
    applied.outcome.into_order()
}

fn ack(version: i64) -> ReceiptChange {
    ReceiptChange::Acknowledge { version, location: Some((33.65, 110.87)), photo: None }
}

fn states(order: &OrderRecord) -> Vec<ReceiptState> {
    order.receipts.iter().map(|r| r.state).collect()
}

#[track_caller]
fn conflict(result: Result<OrderRecord, StoreError>, field: &str) {
    match result {
        Err(StoreError::Conflict { field: f }) => assert_eq!(f, field),
        other => panic!("expected a conflict on {field}, got {other:?}"),
    }
}

pub async fn an_order_reaches_each_recipient_once_and_a_resend_returns_it(h: Harness) {
    let s = scene(&h, OrderKind::Order, now_us() + 60 * MINUTE_US).await;
    let applied = h.submit(actor(&s.hq), Command::IssueOrder(s.new.clone())).await.expect("the order is issued");
    let kinds: Vec<_> = applied.events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::OrderIssued, EventKind::OrderDelivered, EventKind::OrderDelivered]);
    let delivered = &applied.events[1];
    assert_eq!(delivered.scope, s.new.recipients[0].scope, "the recipient's post hears of it");
    assert_eq!(delivered.payload["user"], json!(s.officers[0].id.0));
    let order = applied.outcome.into_order().expect("an order");
    assert_eq!((order.version, order.state, order.author), (1, OrderState::Active, s.hq.id));
    assert_eq!(states(&order), [ReceiptState::Delivered, ReceiptState::Delivered]);
    assert_eq!(order.receipts[0].name, s.officers[0].display_name);

    let again = h.submit(actor(&s.hq), Command::IssueOrder(s.new.clone())).await.expect("a resend");
    assert!(again.events.is_empty(), "a resend appends nothing");
    assert_eq!(again.outcome.into_order().expect("an order"), order);

    // The phone's list and HQ's list both hold it.
    assert_eq!(h.store.orders_for(s.officers[1].id, 50).await.expect("my orders"), vec![order.clone()]);
    assert_eq!(h.store.orders_within(&s.new.scope, None, 50).await.expect("orders"), vec![order.clone()]);
    assert!(h.store.orders_within(&s.new.scope, Some(OrderKind::RollCall), 50).await.expect("orders").is_empty());

    // Someone else reusing the id, or an order with nobody to receive it.
    let taken = h.submit(actor(&s.officers[0]), Command::IssueOrder(s.new.clone())).await;
    refused(taken, "id", "taken");
    let nobody = NewOrder { id: RecordId::new_v7(), recipients: vec![], ..s.new.clone() };
    refused(h.submit(actor(&s.hq), Command::IssueOrder(nobody)).await, "targets", "no_recipients");
}

pub async fn a_receipt_is_read_acknowledged_and_reported_once_each(h: Harness) {
    let s = scene(&h, OrderKind::Order, now_us() + 60 * MINUTE_US).await;
    let id = s.new.id;
    h.submit(actor(&s.hq), Command::IssueOrder(s.new.clone())).await.expect("issued");
    let officer = &s.officers[0];

    let read = answer(&h, id, officer, ReceiptChange::Read).await.expect("read");
    assert_eq!(states(&read), [ReceiptState::Read, ReceiptState::Delivered]);
    let again =
        h.submit(actor(officer), Command::OrderReceipt { order: id, user: officer.id, change: ReceiptChange::Read });
    assert!(again.await.expect("read again").events.is_empty(), "reading twice is one read");

    // A report before acknowledging is out of order.
    conflict(answer(&h, id, officer, ReceiptChange::Report { text: "done".into(), photo: None }).await, "state");
    let acked = answer(&h, id, officer, ack(1)).await.expect("acknowledged");
    let r = acked.receipt(officer.id).expect("a receipt");
    assert_eq!((r.state, r.acked_version, r.location), (ReceiptState::Acknowledged, Some(1), Some((33.65, 110.87))));
    assert_eq!(acked.acknowledged(), 1);
    conflict(answer(&h, id, officer, ack(1)).await, "state");

    let reported = answer(&h, id, officer, ReceiptChange::Report { text: "已巡查三次".into(), photo: None })
        .await
        .expect("report");
    let r = reported.receipt(officer.id).expect("a receipt");
    assert_eq!((r.state, r.report.as_deref()), (ReceiptState::Reported, Some("已巡查三次")));

    // Someone else's order: the commander is no recipient; nor can one
    // answer in another's name.
    let stranger = answer(&h, id, &s.hq, ack(1)).await;
    assert!(matches!(stranger, Err(StoreError::Invalid(ref e)) if e.code == "not_a_recipient"), "{stranger:?}");
    let forged =
        h.submit(actor(officer), Command::OrderReceipt { order: id, user: s.officers[1].id, change: ack(1) }).await;
    refused(forged, "order", "not_a_recipient");
    let untouched = h.store.order(id).await.expect("the order");
    assert_eq!(untouched.receipt(s.officers[1].id).map(|r| r.state), Some(ReceiptState::Delivered));
}

pub async fn an_amended_order_is_acknowledged_again_and_a_revoked_one_not_at_all(h: Harness) {
    let s = scene(&h, OrderKind::Order, now_us() + 60 * MINUTE_US).await;
    let id = s.new.id;
    h.submit(actor(&s.hq), Command::IssueOrder(s.new.clone())).await.expect("issued");
    answer(&h, id, &s.officers[0], ack(1)).await.expect("acknowledged");

    let amend =
        Command::AmendOrder {
            order: id, body: "改为每小时巡查一次".into(), deadline_us: now_us() + 30 * MINUTE_US
        };
    let applied = h.submit(actor(&s.hq), amend).await.expect("amended");
    assert!(applied.events.iter().all(|e| e.kind == EventKind::OrderAmended) && applied.events.len() == 2);
    let amended = applied.outcome.into_order().expect("an order");
    assert_eq!(amended.version, 2);
    assert_eq!(states(&amended), [ReceiptState::Read, ReceiptState::Delivered], "acknowledged before: read now");

    // Acknowledging what one saw before the amendment is refused.
    conflict(answer(&h, id, &s.officers[0], ack(1)).await, "version");
    answer(&h, id, &s.officers[0], ack(2)).await.expect("the new version acknowledged");

    let revoked = h.submit(actor(&s.hq), Command::RevokeOrder { order: id }).await.expect("revoked");
    assert_eq!(revoked.events.len(), 2, "each recipient hears it is revoked");
    assert_eq!(revoked.outcome.into_order().expect("an order").state, OrderState::Revoked);
    let twice = h.submit(actor(&s.hq), Command::RevokeOrder { order: id }).await.expect("revoked again");
    assert!(twice.events.is_empty());
    conflict(answer(&h, id, &s.officers[1], ack(2)).await, "order");
    assert!(h.store.orders_for(s.officers[1].id, 50).await.expect("my orders").is_empty(), "off the phone's list");
}

pub async fn a_passed_deadline_raises_overdue_once_and_never_for_who_answered(h: Harness) {
    // A roll call with a deadline a moment away.
    let s = scene(&h, OrderKind::RollCall, now_us() + 200_000).await;
    let id = s.new.id;
    let order = h.submit(actor(&s.hq), Command::IssueOrder(s.new.clone())).await.expect("issued");
    assert_eq!(order.outcome.into_order().expect("an order").title, "点名");
    answer(&h, id, &s.officers[0], ack(1)).await.expect("present");
    assert!(h.store.overdue_receipts(now_us(), 10).await.expect("due").is_empty(), "not yet due");

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let due = h.store.overdue_receipts(now_us(), 10).await.expect("due");
    assert_eq!(due, vec![(id, vec![s.officers[1].id])], "only who did not answer");
    // Each escalated to HQ's commander as the supervisor.
    let everyone = s.officers.iter().map(|o| (o.id, Some(s.hq.id))).collect();
    let applied = h.submit(actor(&s.hq), Command::MarkOverdue { order: id, users: everyone }).await.expect("marked");
    let kinds: Vec<_> = applied.events.iter().map(|e| (e.kind, e.payload["user"].clone())).collect();
    assert_eq!(
        kinds,
        [(EventKind::OrderOverdue, json!(s.officers[1].id.0)), (EventKind::OrderEscalated, json!(s.hq.id.0))],
        "the silent one is overdue, and their supervisor is told, addressed by name"
    );
    let told = &applied.events[1];
    assert_eq!(told.scope, s.hq.scope, "the supervisor hears it in their own scope");
    assert_eq!(told.payload["overdue_user"], json!(s.officers[1].id.0));
    let marked = applied.outcome.into_order().expect("an order");
    let escalated = marked.receipt(s.officers[1].id).and_then(|r| r.escalated_to.clone());
    assert_eq!(escalated, Some((s.hq.id, s.hq.display_name.clone())));
    assert!(marked.receipt(s.officers[0].id).is_some_and(|r| r.escalated_to.is_none()), "who answered is not");
    let boss = h.store.orders_for(s.hq.id, 10).await.expect("the supervisor's orders");
    assert_eq!(boss.iter().map(|o| o.id).collect::<Vec<_>>(), vec![id], "the supervisor's list holds it");

    let again = h.submit(actor(&s.hq), Command::MarkOverdue { order: id, users: vec![(s.officers[1].id, None)] });
    assert!(again.await.expect("marked again").events.is_empty(), "raised once");
    assert!(h.store.overdue_receipts(now_us(), 10).await.expect("due").is_empty());
    // A late answer is still taken.
    let late = answer(&h, id, &s.officers[1], ack(1)).await.expect("a late answer");
    assert_eq!(late.acknowledged(), 2);
}

fn file(id: RecordId, content_type: AttachmentType, data: &[u8], scope: &shouwang_domain::ScopePath) -> NewAttachment {
    use std::fmt::Write;
    // The server computes the SHA-256; the store keeps it and compares it
    // on a resend, so any text that follows the bytes will do here.
    let mut sha = String::new();
    for b in data.iter().take(32) {
        let _ = write!(sha, "{b:02x}");
    }
    NewAttachment {
        id, name: "通知.pdf".into(), content_type, scope: scope.clone(), sha256: sha, data: data.to_vec()
    }
}

pub async fn files_are_kept_once_go_with_an_order_and_a_photo_must_be_the_answerers_own_picture(h: Harness) {
    let mut s = scene(&h, OrderKind::Order, now_us() + 60 * MINUTE_US).await;
    // Every byte value, so that a backend that mangled binary would show it.
    let pdf: Vec<u8> = b"%PDF-1.7\n".iter().copied().chain(0..=255u8).collect();
    let upload = file(RecordId::new_v7(), AttachmentType::Pdf, &pdf, &s.hq.scope);
    let stored = h.submit(actor(&s.hq), Command::StoreAttachment(upload.clone())).await.expect("stored");
    let (first, created) = stored.outcome.into_attachment().expect("a file");
    assert!(created && stored.events.is_empty(), "a file alone is no news");
    assert_eq!((first.size, first.owner), (pdf.len() as i64, s.hq.id));
    let again = h.submit(actor(&s.hq), Command::StoreAttachment(upload.clone())).await.expect("a resend");
    assert_eq!(again.outcome.into_attachment().expect("a file"), (first.clone(), false), "a resend stores nothing");
    let other = NewAttachment { data: b"%PDF-other".to_vec(), sha256: "ff".into(), ..upload.clone() };
    refused(h.submit(actor(&s.hq), Command::StoreAttachment(other)).await, "id", "taken");
    assert_eq!(h.store.attachment_data(first.id).await.expect("the bytes"), pdf, "the bytes come back exactly");

    // The order names it; someone else's upload it cannot.
    let officer = &s.officers[0];
    let theirs = file(RecordId::new_v7(), AttachmentType::Png, b"\x89PNG\r\n\x1a\nrest", &officer.scope);
    let theirs = h.submit(actor(officer), Command::StoreAttachment(theirs)).await.expect("stored");
    let theirs = theirs.outcome.into_attachment().expect("a file").0;
    s.new.attachment = Some(theirs.id);
    refused(h.submit(actor(&s.hq), Command::IssueOrder(s.new.clone())).await, "attachment_id", "not_found");
    s.new.attachment = Some(first.id);
    let order = h.submit(actor(&s.hq), Command::IssueOrder(s.new.clone())).await.expect("issued");
    let order = order.outcome.into_order().expect("an order");
    let attached = order.attachment.as_ref().expect("the order lists its file");
    assert_eq!((attached.id, attached.content_type, attached.size), (first.id, AttachmentType::Pdf, first.size));
    assert_eq!(h.store.orders_using(first.id).await.expect("users"), vec![order.id]);

    // A photo with the acknowledgement: the officer's own picture only.
    let with = |photo| ReceiptChange::Acknowledge { version: 1, location: None, photo: Some(photo) };
    refused_answer(answer(&h, order.id, officer, with(first.id)).await, "photo_id", "not_found");
    let officer_pdf = file(RecordId::new_v7(), AttachmentType::Pdf, b"%PDF-1.4 x", &officer.scope);
    let officer_pdf = h.submit(actor(officer), Command::StoreAttachment(officer_pdf)).await.expect("stored");
    let officer_pdf = officer_pdf.outcome.into_attachment().expect("a file").0;
    refused_answer(answer(&h, order.id, officer, with(officer_pdf.id)).await, "photo_id", "not_an_image");
    let acked = answer(&h, order.id, officer, with(theirs.id)).await.expect("acknowledged with a photo");
    assert_eq!(acked.receipt(officer.id).and_then(|r| r.photo), Some(theirs.id));
    let mut users = h.store.orders_using(theirs.id).await.expect("users");
    users.dedup();
    assert_eq!(users, vec![order.id], "the photo's order is known, for who may see it");

    // Past the grace period, only the upload nothing names is purged.
    let later = now_us() + 1_000_000;
    let purge = Command::PurgeOrphanAttachments { before_us: later };
    let purged = h.submit(shouwang_store::writer::Actor::system(), purge.clone()).await.expect("purged");
    assert_eq!(purged.outcome.into_count().expect("a count"), 1, "the officer's unused PDF");
    assert!(matches!(h.store.attachment(officer_pdf.id).await, Err(StoreError::NotFound)));
    assert!(h.store.attachment(first.id).await.is_ok() && h.store.attachment(theirs.id).await.is_ok());
    let again = h.submit(shouwang_store::writer::Actor::system(), purge).await.expect("purged again");
    assert_eq!(again.outcome.into_count().expect("a count"), 0);
}

#[track_caller]
fn refused_answer(result: Result<OrderRecord, StoreError>, field: &str, code: &str) {
    match result {
        Err(StoreError::Invalid(e)) => assert_eq!((e.field.as_str(), e.code), (field, code), "{e:?}"),
        other => panic!("expected Invalid({field}: {code}), got {other:?}"),
    }
}
