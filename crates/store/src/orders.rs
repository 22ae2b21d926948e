//! Dispatch orders and roll calls as stored: an order, a receipt per
//! recipient, and the reads HQ (who got it, who has not) and phones (my
//! orders, unacknowledged first) need. The writes are in `writer/orders.rs`.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use shouwang_domain::attachment::AttachmentType;
use shouwang_domain::order::{OrderKind, OrderState, OrderText, Priority, ReceiptState};
use shouwang_domain::{CheckpointId, RecordId, ScopePath, UserId};

use crate::calls::Bind;
use crate::{Store, StoreError};

/// An order to store: the checked text and who receives it (the server
/// resolved the targets to people).
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    /// A UUIDv7 from the client: resending stores nothing twice.
    pub id: RecordId,
    /// What it says.
    pub text: OrderText,
    /// Where its summary is seen.
    pub scope: ScopePath,
    /// What was targeted, as submitted (posts, people, units), for the record.
    pub targets: serde_json::Value,
    /// Who receives it.
    pub recipients: Vec<Recipient>,
    /// A file the author uploaded to go with it (an image or a PDF).
    pub attachment: Option<RecordId>,
}

/// One person an order goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Who.
    pub user: UserId,
    /// As an officer of which post, if any.
    pub checkpoint: Option<CheckpointId>,
    /// Where their receipt's events are seen (the post's or their unit's).
    pub scope: ScopePath,
}

/// What a recipient did with an order.
#[derive(Debug, Clone, PartialEq)]
pub enum ReceiptChange {
    /// Opened it; opening it again changes nothing.
    Read,
    /// Acknowledged it (签收) or answered the roll call; `version` is the
    /// version they saw, refused when the order has been amended since.
    Acknowledge {
        /// The version acknowledged.
        version: i64,
        /// Where the phone was, if it said.
        location: Option<(f64, f64)>,
        /// A photo they uploaded to go with it.
        photo: Option<RecordId>,
    },
    /// Reported it done.
    Report {
        /// What was done.
        text: String,
        /// A photo they uploaded to go with it.
        photo: Option<RecordId>,
    },
}

/// One recipient's receipt.
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// Who.
    pub user: UserId,
    /// Their display name.
    pub name: String,
    /// The post they received it at, if any.
    pub checkpoint: Option<CheckpointId>,
    /// Where its events are seen.
    pub scope: ScopePath,
    /// Where it stands.
    pub state: ReceiptState,
    /// When it reached them.
    pub delivered_us: i64,
    /// When they first opened it.
    pub read_us: Option<i64>,
    /// When they acknowledged it (the current version's acknowledgement).
    pub acked_us: Option<i64>,
    /// The version they acknowledged.
    pub acked_version: Option<i64>,
    /// Where they were when they acknowledged, if the phone said.
    pub location: Option<(f64, f64)>,
    /// When they reported it done.
    pub reported_us: Option<i64>,
    /// Their report.
    pub report: Option<String>,
    /// When it went overdue (raised once).
    pub overdue_us: Option<i64>,
    /// The photo sent with the acknowledgement or the report, if any.
    pub photo: Option<RecordId>,
    /// Who it was escalated to when it went overdue, with their name.
    pub escalated_to: Option<(UserId, String)>,
}

/// The file that goes with an order, as its readers see it listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachedFile {
    /// The file's id.
    pub id: RecordId,
    /// Its name.
    pub name: String,
    /// What it is.
    pub content_type: AttachmentType,
    /// Bytes.
    pub size: i64,
}

/// An order as stored, with its receipts.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    /// Its id.
    pub id: RecordId,
    /// Order or roll call.
    pub kind: OrderKind,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
    /// How urgent.
    pub priority: Priority,
    /// Who issued it.
    pub author: UserId,
    /// Their display name.
    pub author_name: String,
    /// Where its summary is seen.
    pub scope: ScopePath,
    /// By when it must be acknowledged.
    pub deadline_us: i64,
    /// Whether a completion report is required.
    pub needs_report: bool,
    /// What was targeted, as submitted.
    pub targets: serde_json::Value,
    /// 1, then one more per amendment.
    pub version: i64,
    /// In force or revoked.
    pub state: OrderState,
    /// When it was issued.
    pub issued_us: i64,
    /// When it was last amended.
    pub amended_us: Option<i64>,
    /// When it was revoked.
    pub revoked_us: Option<i64>,
    /// The file that goes with it.
    pub attachment: Option<AttachedFile>,
    /// Every recipient's receipt, in the order delivered.
    pub receipts: Vec<Receipt>,
}

impl OrderRecord {
    /// `user`'s receipt, if they received it.
    pub fn receipt(&self, user: UserId) -> Option<&Receipt> {
        self.receipts.iter().find(|r| r.user == user)
    }

    /// How many have acknowledged the current version.
    pub fn acknowledged(&self) -> usize {
        self.receipts.iter().filter(|r| r.state.is_acknowledged()).count()
    }

    /// A short summary for events and lists.
    pub fn progress(&self) -> serde_json::Value {
        serde_json::json!({ "acknowledged": self.acknowledged(), "recipients": self.receipts.len() })
    }
}

pub(crate) const ORDER_COLUMNS: &str = "o.id, o.kind, o.title, o.body, o.priority, o.author_id, u.display_name, \
     o.scope, o.deadline_us, o.needs_report, o.targets, o.version, o.state, o.issued_us, o.amended_us, \
     o.revoked_us, o.attachment_id, a.name AS attachment_name, a.content_type AS attachment_type, \
     a.size AS attachment_size FROM orders o JOIN users u ON u.id = o.author_id \
     LEFT JOIN attachments a ON a.id = o.attachment_id";

const RECEIPT_COLUMNS: &str = "r.order_id, r.user_id, u.display_name, r.checkpoint_id, r.scope, r.state, \
     r.delivered_us, r.read_us, r.acked_us, r.acked_version, r.lat, r.lon, r.reported_us, r.report, r.overdue_us, \
     r.photo_id, r.escalated_to, s.display_name AS escalated_name FROM order_receipts r \
     JOIN users u ON u.id = r.user_id LEFT JOIN users s ON s.id = r.escalated_to";

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

fn order_from(row: &AnyRow) -> Result<OrderRecord, StoreError> {
    let targets: String = row.try_get("targets")?;
    Ok(OrderRecord {
        id: RecordId::parse("id", row.try_get("id")?).map_err(corrupt)?,
        kind: OrderKind::parse("kind", row.try_get("kind")?)?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        priority: Priority::parse("priority", row.try_get("priority")?)?,
        author: UserId(row.try_get("author_id")?),
        author_name: row.try_get("display_name")?,
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        deadline_us: row.try_get("deadline_us")?,
        needs_report: row.try_get::<i64, _>("needs_report")? != 0,
        targets: serde_json::from_str(&targets).map_err(corrupt)?,
        version: row.try_get("version")?,
        state: OrderState::parse("state", row.try_get("state")?)?,
        issued_us: row.try_get("issued_us")?,
        amended_us: row.try_get("amended_us")?,
        revoked_us: row.try_get("revoked_us")?,
        attachment: match row.try_get::<Option<&str>, _>("attachment_id")? {
            Some(id) => Some(AttachedFile {
                id: RecordId::parse("attachment_id", id).map_err(corrupt)?,
                name: row.try_get("attachment_name")?,
                content_type: AttachmentType::parse("attachment_type", row.try_get("attachment_type")?)?,
                size: row.try_get("attachment_size")?,
            }),
            None => None,
        },
        receipts: Vec::new(),
    })
}

fn receipt_from(row: &AnyRow) -> Result<(String, Receipt), StoreError> {
    let lat: Option<f64> = row.try_get("lat")?;
    let lon: Option<f64> = row.try_get("lon")?;
    Ok((
        row.try_get("order_id")?,
        Receipt {
            user: UserId(row.try_get("user_id")?),
            name: row.try_get("display_name")?,
            checkpoint: row.try_get::<Option<i64>, _>("checkpoint_id")?.map(CheckpointId),
            scope: ScopePath::from_stored(row.try_get("scope")?)?,
            state: ReceiptState::parse("state", row.try_get("state")?)?,
            delivered_us: row.try_get("delivered_us")?,
            read_us: row.try_get("read_us")?,
            acked_us: row.try_get("acked_us")?,
            acked_version: row.try_get("acked_version")?,
            location: lat.zip(lon),
            reported_us: row.try_get("reported_us")?,
            report: row.try_get("report")?,
            overdue_us: row.try_get("overdue_us")?,
            photo: row
                .try_get::<Option<&str>, _>("photo_id")?
                .map(|id| RecordId::parse("photo_id", id).map_err(corrupt))
                .transpose()?,
            escalated_to: match row.try_get::<Option<i64>, _>("escalated_to")? {
                Some(id) => Some((UserId(id), row.try_get("escalated_name")?)),
                None => None,
            },
        },
    ))
}

/// Reads the orders `sql` selects (binding `binds`), with their receipts.
pub(crate) async fn orders_where(
    conn: &mut AnyConnection,
    sql: &str,
    binds: &[Bind<'_>],
) -> Result<Vec<OrderRecord>, StoreError> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = match b {
            Bind::Text(t) => q.bind(*t),
            Bind::Int(i) => q.bind(*i),
        };
    }
    let mut orders = q.fetch_all(&mut *conn).await?.iter().map(order_from).collect::<Result<Vec<_>, _>>()?;
    if orders.is_empty() {
        return Ok(orders);
    }
    let ids: Vec<String> = orders.iter().map(|o| o.id.to_string()).collect();
    let marks = (1..=ids.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    let sql = format!("SELECT {RECEIPT_COLUMNS} WHERE r.order_id IN ({marks}) ORDER BY r.delivered_us, r.user_id");
    let mut q = sqlx::query(&sql);
    for id in &ids {
        q = q.bind(id.as_str());
    }
    for row in q.fetch_all(&mut *conn).await? {
        let (order_id, receipt) = receipt_from(&row)?;
        if let Some(i) = ids.iter().position(|id| *id == order_id) {
            orders[i].receipts.push(receipt);
        }
    }
    Ok(orders)
}

impl Store {
    /// One order with its receipts.
    pub async fn order(&self, id: RecordId) -> Result<OrderRecord, StoreError> {
        let id = id.to_string();
        let sql = format!("SELECT {ORDER_COLUMNS} WHERE o.id = $1");
        orders_where(&mut *self.pool.acquire().await?, &sql, &[Bind::Text(&id)])
            .await?
            .pop()
            .ok_or(StoreError::NotFound)
    }

    /// Orders issued within `scope` (of `kind`, if given), newest first, at
    /// most `limit` (1–500).
    pub async fn orders_within(
        &self,
        scope: &ScopePath,
        kind: Option<OrderKind>,
        limit: i64,
    ) -> Result<Vec<OrderRecord>, StoreError> {
        let upper = scope.upper_bound();
        let kind = kind.map(OrderKind::as_str).unwrap_or("");
        let sql = format!(
            "SELECT {ORDER_COLUMNS} WHERE o.scope >= $1 AND o.scope < $2 AND ($3 = '' OR o.kind = $3) \
             ORDER BY o.issued_us DESC, o.id DESC LIMIT $4"
        );
        let binds = [Bind::Text(scope.as_str()), Bind::Text(&upper), Bind::Text(kind), Bind::Int(limit.clamp(1, 500))];
        orders_where(&mut *self.pool.acquire().await?, &sql, &binds).await
    }

    /// The orders `user` received, or had escalated to them as a
    /// supervisor, that are in force, newest first, at most `limit` (1–500).
    /// (A phone puts the unacknowledged on top.)
    pub async fn orders_for(&self, user: UserId, limit: i64) -> Result<Vec<OrderRecord>, StoreError> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} WHERE o.state = 'active' \
             AND o.id IN (SELECT order_id FROM order_receipts WHERE user_id = $1 OR escalated_to = $1) \
             ORDER BY o.issued_us DESC, o.id DESC LIMIT $2"
        );
        let binds = [Bind::Int(user.0), Bind::Int(limit.clamp(1, 500))];
        orders_where(&mut *self.pool.acquire().await?, &sql, &binds).await
    }

    /// Receipts of orders in force that went overdue and are still not
    /// acknowledged (what the alerts show): `(order, receipt)`, oldest
    /// deadline first, at most `limit`.
    pub async fn overdue_unanswered(&self, limit: i64) -> Result<Vec<(OrderRecord, Receipt)>, StoreError> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} WHERE o.state = 'active' AND o.id IN (SELECT order_id FROM order_receipts              WHERE overdue_us IS NOT NULL AND state IN ('delivered', 'read')) ORDER BY o.deadline_us LIMIT $1"
        );
        let orders = orders_where(&mut *self.pool.acquire().await?, &sql, &[Bind::Int(limit.clamp(1, 1000))]).await?;
        Ok(orders
            .into_iter()
            .flat_map(|o| {
                let late: Vec<Receipt> = o
                    .receipts
                    .iter()
                    .filter(|r| r.overdue_us.is_some() && !r.state.is_acknowledged())
                    .cloned()
                    .collect();
                late.into_iter().map(move |r| (o.clone(), r))
            })
            .collect())
    }

    /// Orders in force whose deadline passed by `now` with someone yet to
    /// acknowledge and not yet marked overdue: `(order, users)`, at most
    /// `limit` orders.
    pub async fn overdue_receipts(&self, now: i64, limit: i64) -> Result<Vec<(RecordId, Vec<UserId>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.order_id, r.user_id FROM order_receipts r JOIN orders o ON o.id = r.order_id \
             WHERE o.state = 'active' AND o.deadline_us <= $1 AND r.overdue_us IS NULL \
             AND r.state IN ('delivered', 'read') ORDER BY o.deadline_us, r.order_id, r.user_id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<(RecordId, Vec<UserId>)> = Vec::new();
        for row in rows {
            let id = RecordId::parse("order_id", row.try_get("order_id")?).map_err(corrupt)?;
            let user = UserId(row.try_get("user_id")?);
            if let Some((last, users)) = out.last_mut()
                && *last == id
            {
                users.push(user);
            } else if out.len() as i64 >= limit {
                break;
            } else {
                out.push((id, vec![user]));
            }
        }
        Ok(out)
    }
}
