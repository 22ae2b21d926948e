//! Registered households as stored: the household and its members, what it
//! produces and sells, the visits of its helping cadre, and the reads the
//! pages and the rural dashboard need. The writes are in
//! `writer/households.rs`; the rules (ages, one head, prices) are the
//! domain's (`shouwang_domain::household`). A household's difficulties are
//! tickets (`enterprises.rs`), the same as an enterprise's problems.
//!
//! Who sees a household: a scope that holds it (its village, township, the
//! county) and the cadre helping it.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use shouwang_domain::household::{
    IncomeSource, Member, MemberDraft, PovertyStatus, ProduceKind, RegistryNo, SalesChannel, WorkAbility,
};
use shouwang_domain::screening::MobilePhone;
use shouwang_domain::{HouseholdId, OrgUnitId, RecordId, ScopePath, UserId};

use crate::enterprises::Viewer;
use crate::{Store, StoreError};

/// A household's details as entered (create and edit).
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdDraft {
    /// Its number in the national registration system; unique.
    pub registry_no: RegistryNo,
    /// The village (an org unit of kind village).
    pub village: OrgUnitId,
    /// Its members, the head among them.
    pub members: Vec<Member>,
    /// Which member is the head.
    pub head: usize,
    /// A phone to reach it.
    pub phone: Option<MobilePhone>,
    /// Where it stands.
    pub status: PovertyStatus,
    /// Where its income comes from (at least one).
    pub income_sources: Vec<IncomeSource>,
    /// The cadre responsible for helping it (帮扶责任人).
    pub helper: Option<UserId>,
    /// Anything else worth knowing.
    pub note: String,
}

/// A stored household. Holds personal data: the API masks it.
#[derive(Debug, Clone, PartialEq)]
pub struct Household {
    /// Its id.
    pub id: HouseholdId,
    /// Its registration number.
    pub registry_no: String,
    /// Its village.
    pub village_id: OrgUnitId,
    /// The village's name.
    pub village_name: String,
    /// The township's name.
    pub township_name: String,
    /// Its scope: the village's path + `h<id>`.
    pub scope: ScopePath,
    /// Its members; `members[head]` is the head.
    pub members: Vec<Member>,
    /// Which member is the head.
    pub head: usize,
    /// Its phone.
    pub phone: Option<MobilePhone>,
    /// Where it stands.
    pub status: PovertyStatus,
    /// Where its income comes from.
    pub income_sources: Vec<IncomeSource>,
    /// The cadre helping it.
    pub helper_id: Option<UserId>,
    /// That cadre's name.
    pub helper_name: Option<String>,
    /// A note.
    pub note: String,
    /// The day of the latest visit.
    pub last_visit_day: Option<i64>,
    /// Entered.
    pub created_us: i64,
    /// Last changed.
    pub updated_us: i64,
}

impl Household {
    /// The head of the household.
    pub fn head(&self) -> &Member {
        &self.members[self.head]
    }

    /// How many members can work (fully or partly).
    pub fn able_count(&self) -> usize {
        self.members.iter().filter(|m| m.ability != WorkAbility::None).count()
    }
}

pub(crate) const HOUSEHOLD_COLUMNS: &str = "h.id, h.registry_no, h.village_id, v.name AS village_name, \
    t.name AS township_name, h.scope, h.members, h.phone, h.status, h.income_sources, h.helper_id, \
    u.display_name AS helper_name, h.note, h.last_visit_day, h.created_us, h.updated_us \
    FROM households h JOIN org_units v ON v.id = h.village_id JOIN org_units t ON t.id = v.parent_id \
    LEFT JOIN users u ON u.id = h.helper_id";

/// Income sources in their stored form: names separated by commas.
pub(crate) fn sources_to_stored(sources: &[IncomeSource]) -> String {
    sources.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

pub(crate) fn household_from(row: &AnyRow) -> Result<Household, StoreError> {
    let stored: Vec<MemberDraft> = serde_json::from_str(row.try_get("members")?)
        .map_err(|e| StoreError::Corrupt(format!("household members: {e}")))?;
    let mut members = Vec::with_capacity(stored.len());
    for (i, m) in stored.iter().enumerate() {
        let member = m.parse(&format!("members[{i}]")).map_err(|e| StoreError::Corrupt(format!("{e:?}")))?;
        members.push(member);
    }
    let head = members
        .iter()
        .position(|m| m.relation == shouwang_domain::household::Relation::Head)
        .ok_or_else(|| StoreError::Corrupt("a household without a head".into()))?;
    let phone: String = row.try_get("phone")?;
    let sources: String = row.try_get("income_sources")?;
    Ok(Household {
        id: HouseholdId(row.try_get("id")?),
        registry_no: row.try_get("registry_no")?,
        village_id: OrgUnitId(row.try_get("village_id")?),
        village_name: row.try_get("village_name")?,
        township_name: row.try_get("township_name")?,
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        members,
        head,
        phone: if phone.is_empty() { None } else { Some(MobilePhone::parse("phone", &phone)?) },
        status: PovertyStatus::parse("status", row.try_get("status")?)?,
        income_sources: sources
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| IncomeSource::parse("income_sources", s))
            .collect::<Result<_, _>>()?,
        helper_id: row.try_get::<Option<i64>, _>("helper_id")?.map(UserId),
        helper_name: row.try_get("helper_name")?,
        note: row.try_get("note")?,
        last_visit_day: row.try_get("last_visit_day")?,
        created_us: row.try_get("created_us")?,
        updated_us: row.try_get("updated_us")?,
    })
}

/// A production entry as entered: what a household grows or raises.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProduction {
    /// A client-made UUIDv7: entering twice enters once.
    pub id: RecordId,
    /// Whose.
    pub household: HouseholdId,
    /// What.
    pub kind: ProduceKind,
    /// How much, in the kind's unit (bags, greenhouses, mu, head).
    pub scale: i64,
    /// Expected output, in the kind's output unit (kg or head).
    pub expected_output: i64,
    /// When the output is expected (days since 1970-01-01).
    pub expected_day: i64,
    /// A note.
    pub note: String,
}

/// A stored production entry, with its harvest and sales so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Production {
    /// Its id.
    pub id: RecordId,
    /// Whose.
    pub household_id: HouseholdId,
    /// What.
    pub kind: ProduceKind,
    /// How much, in [`ProduceKind::scale_unit`].
    pub scale: i64,
    /// Expected output, in [`ProduceKind::output_unit`].
    pub expected_output: i64,
    /// When expected.
    pub expected_day: i64,
    /// Harvested so far.
    pub harvested: i64,
    /// Sold so far.
    pub sold: i64,
    /// Harvested and not sold: the unsold stock.
    pub unsold: i64,
    /// A note.
    pub note: String,
    /// Entered.
    pub created_us: i64,
    /// Last changed.
    pub updated_us: i64,
}

pub(crate) const PRODUCTION_COLUMNS: &str = "id, household_id, kind, scale, expected_output, expected_day, \
    harvested, sold, note, created_us, updated_us FROM production";

pub(crate) fn production_from(row: &AnyRow) -> Result<Production, StoreError> {
    let harvested: i64 = row.try_get("harvested")?;
    let sold: i64 = row.try_get("sold")?;
    Ok(Production {
        id: RecordId::parse("id", row.try_get("id")?)?,
        household_id: HouseholdId(row.try_get("household_id")?),
        kind: ProduceKind::parse("kind", row.try_get("kind")?)?,
        scale: row.try_get("scale")?,
        expected_output: row.try_get("expected_output")?,
        expected_day: row.try_get("expected_day")?,
        harvested,
        sold,
        unsold: harvested - sold,
        note: row.try_get("note")?,
        created_us: row.try_get("created_us")?,
        updated_us: row.try_get("updated_us")?,
    })
}

/// A sale as entered.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSale {
    /// A client-made UUIDv7: entering twice enters once.
    pub id: RecordId,
    /// Of which production.
    pub production: RecordId,
    /// The day of the sale.
    pub day: i64,
    /// How much, in the production's output unit; at most the unsold stock.
    pub quantity: i64,
    /// Price per unit, in fen.
    pub price_fen: i64,
    /// To whom.
    pub channel: SalesChannel,
    /// The buyer's name (a co-operative, a shop, a platform).
    pub buyer: String,
}

/// A stored sale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sale {
    /// Its id.
    pub id: RecordId,
    /// Of which production.
    pub production_id: RecordId,
    /// Whose.
    pub household_id: HouseholdId,
    /// The day.
    pub day: i64,
    /// How much.
    pub quantity: i64,
    /// Price per unit, fen.
    pub price_fen: i64,
    /// To whom.
    pub channel: SalesChannel,
    /// The buyer.
    pub buyer: String,
    /// Who entered it.
    pub recorded_by: UserId,
    /// When.
    pub recorded_us: i64,
}

pub(crate) const SALE_COLUMNS: &str =
    "id, production_id, household_id, day, quantity, price_fen, channel, buyer, recorded_by, recorded_us FROM sales";

pub(crate) fn sale_from(row: &AnyRow) -> Result<Sale, StoreError> {
    Ok(Sale {
        id: RecordId::parse("id", row.try_get("id")?)?,
        production_id: RecordId::parse("production_id", row.try_get("production_id")?)?,
        household_id: HouseholdId(row.try_get("household_id")?),
        day: row.try_get("day")?,
        quantity: row.try_get("quantity")?,
        price_fen: row.try_get("price_fen")?,
        channel: SalesChannel::parse("channel", row.try_get("channel")?)?,
        buyer: row.try_get("buyer")?,
        recorded_by: UserId(row.try_get("recorded_by")?),
        recorded_us: row.try_get("recorded_us")?,
    })
}

/// A visit as logged from the cadre's phone.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVisit {
    /// A client-made UUIDv7: sending twice logs once.
    pub id: RecordId,
    /// Which household.
    pub household: HouseholdId,
    /// The day of the visit.
    pub day: i64,
    /// What was found.
    pub found: String,
    /// What was promised.
    pub promised: String,
}

/// A stored visit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Visit {
    /// Its id.
    pub id: RecordId,
    /// Which household.
    pub household_id: HouseholdId,
    /// Who visited.
    pub cadre_id: UserId,
    /// Their name.
    pub cadre_name: String,
    /// The day.
    pub day: i64,
    /// What was found.
    pub found: String,
    /// What was promised.
    pub promised: String,
    /// When it was logged.
    pub recorded_us: i64,
}

pub(crate) const VISIT_COLUMNS: &str = "v.id, v.household_id, v.cadre_id, u.display_name AS cadre_name, v.day, \
    v.found, v.promised, v.recorded_us FROM visits v JOIN users u ON u.id = v.cadre_id";

pub(crate) fn visit_from(row: &AnyRow) -> Result<Visit, StoreError> {
    Ok(Visit {
        id: RecordId::parse("id", row.try_get("id")?)?,
        household_id: HouseholdId(row.try_get("household_id")?),
        cadre_id: UserId(row.try_get("cadre_id")?),
        cadre_name: row.try_get("cadre_name")?,
        day: row.try_get("day")?,
        found: row.try_get("found")?,
        promised: row.try_get("promised")?,
        recorded_us: row.try_get("recorded_us")?,
    })
}

/// Households counted by status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusCount {
    /// The status.
    pub status: PovertyStatus,
    /// Households.
    pub households: i64,
    /// Their members.
    pub members: i64,
}

/// Production summed by kind: scale, expected, harvested, sold, unsold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProduceTotal {
    /// The kind.
    pub kind: ProduceKind,
    /// Households producing it.
    pub households: i64,
    /// Total scale.
    pub scale: i64,
    /// Total expected output.
    pub expected_output: i64,
    /// Harvested.
    pub harvested: i64,
    /// Sold.
    pub sold: i64,
    /// Unsold stock.
    pub unsold: i64,
}

/// Open household difficulties by category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DifficultyCount {
    /// The category.
    pub category: shouwang_domain::enterprise::TicketCategory,
    /// Raised.
    pub total: i64,
    /// Not yet resolved.
    pub open: i64,
}

fn within(v: &Viewer<'_>) -> (String, String, i64) {
    (v.scope.as_str().to_owned(), v.scope.upper_bound(), v.user.0)
}

impl Store {
    /// One household.
    pub async fn household(&self, id: HouseholdId) -> Result<Household, StoreError> {
        let sql = format!("SELECT {HOUSEHOLD_COLUMNS} WHERE h.id = $1");
        let row = sqlx::query(&sql).bind(id.0).fetch_optional(&self.pool).await?;
        household_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// The households the viewer may see (its scope, those it helps), by
    /// village and registration number; only those of `status` when given.
    pub async fn households_visible(
        &self,
        v: &Viewer<'_>,
        status: Option<PovertyStatus>,
    ) -> Result<Vec<Household>, StoreError> {
        let (low, high, user) = within(v);
        let sql = format!(
            "SELECT {HOUSEHOLD_COLUMNS} WHERE ((h.scope >= $1 AND h.scope < $2) OR h.helper_id = $3) \
             AND ($4 = '' OR h.status = $4) ORDER BY t.name, v.name, h.registry_no LIMIT 5000"
        );
        let rows = sqlx::query(&sql)
            .bind(low)
            .bind(high)
            .bind(user)
            .bind(status.map_or("", PovertyStatus::as_str))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(household_from).collect()
    }

    /// The visible households not visited since `since_day` (or never),
    /// the longest unvisited first.
    pub async fn households_unvisited(&self, v: &Viewer<'_>, since_day: i64) -> Result<Vec<Household>, StoreError> {
        let (low, high, user) = within(v);
        let sql = format!(
            "SELECT {HOUSEHOLD_COLUMNS} WHERE ((h.scope >= $1 AND h.scope < $2) OR h.helper_id = $3) \
             AND (h.last_visit_day IS NULL OR h.last_visit_day < $4) \
             ORDER BY COALESCE(h.last_visit_day, 0), h.registry_no LIMIT 5000"
        );
        let rows = sqlx::query(&sql).bind(low).bind(high).bind(user).bind(since_day).fetch_all(&self.pool).await?;
        rows.iter().map(household_from).collect()
    }

    /// A household's production, by kind.
    pub async fn production_of(&self, household: HouseholdId) -> Result<Vec<Production>, StoreError> {
        let sql = format!("SELECT {PRODUCTION_COLUMNS} WHERE household_id = $1 ORDER BY kind, created_us");
        let rows = sqlx::query(&sql).bind(household.0).fetch_all(&self.pool).await?;
        rows.iter().map(production_from).collect()
    }

    /// One production entry.
    pub async fn production(&self, id: RecordId) -> Result<Production, StoreError> {
        let sql = format!("SELECT {PRODUCTION_COLUMNS} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
        production_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// A household's sales, newest first.
    pub async fn sales_of(&self, household: HouseholdId) -> Result<Vec<Sale>, StoreError> {
        let sql = format!("SELECT {SALE_COLUMNS} WHERE household_id = $1 ORDER BY day DESC, recorded_us DESC");
        let rows = sqlx::query(&sql).bind(household.0).fetch_all(&self.pool).await?;
        rows.iter().map(sale_from).collect()
    }

    /// A household's visits, newest first.
    pub async fn visits_of(&self, household: HouseholdId) -> Result<Vec<Visit>, StoreError> {
        let sql = format!("SELECT {VISIT_COLUMNS} WHERE v.household_id = $1 ORDER BY v.day DESC, v.recorded_us DESC");
        let rows = sqlx::query(&sql).bind(household.0).fetch_all(&self.pool).await?;
        rows.iter().map(visit_from).collect()
    }

    /// Households within `scope` by status, with their members.
    pub async fn household_counts(&self, scope: &ScopePath) -> Result<Vec<StatusCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS households, CAST(SUM(members_count) AS BIGINT) AS members \
             FROM households WHERE scope >= $1 AND scope < $2 GROUP BY status",
        )
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .fetch_all(&self.pool)
        .await?;
        let mut counts = Vec::new();
        for status in PovertyStatus::ALL.iter().copied() {
            let row = rows.iter().find(|r| r.try_get::<&str, _>("status").ok() == Some(status.as_str()));
            let (households, members) = match row {
                Some(r) => (r.try_get("households")?, r.try_get("members")?),
                None => (0, 0),
            };
            counts.push(StatusCount { status, households, members });
        }
        Ok(counts)
    }

    /// Production within `scope` summed by kind, the most unsold first.
    pub async fn production_totals(&self, scope: &ScopePath) -> Result<Vec<ProduceTotal>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.kind, COUNT(DISTINCT p.household_id) AS households, CAST(SUM(p.scale) AS BIGINT) AS scale, \
             CAST(SUM(p.expected_output) AS BIGINT) AS expected_output, \
             CAST(SUM(p.harvested) AS BIGINT) AS harvested, CAST(SUM(p.sold) AS BIGINT) AS sold \
             FROM production p JOIN households h ON h.id = p.household_id \
             WHERE h.scope >= $1 AND h.scope < $2 GROUP BY p.kind",
        )
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .fetch_all(&self.pool)
        .await?;
        let mut totals = rows
            .iter()
            .map(|r| {
                let harvested: i64 = r.try_get("harvested")?;
                let sold: i64 = r.try_get("sold")?;
                Ok(ProduceTotal {
                    kind: ProduceKind::parse("kind", r.try_get("kind")?)?,
                    households: r.try_get("households")?,
                    scale: r.try_get("scale")?,
                    expected_output: r.try_get("expected_output")?,
                    harvested,
                    sold,
                    unsold: harvested - sold,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        totals.sort_by(|a, b| b.unsold.cmp(&a.unsold).then(a.kind.as_str().cmp(b.kind.as_str())));
        Ok(totals)
    }

    /// Household difficulties within `scope` by category, the most open
    /// first.
    pub async fn difficulty_counts(&self, scope: &ScopePath) -> Result<Vec<DifficultyCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT category, COUNT(*) AS total, \
             CAST(SUM(CASE WHEN resolved_us IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS open \
             FROM tickets WHERE household_id IS NOT NULL AND scope >= $1 AND scope < $2 GROUP BY category",
        )
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .fetch_all(&self.pool)
        .await?;
        let mut counts = rows
            .iter()
            .map(|r| {
                Ok(DifficultyCount {
                    category: shouwang_domain::enterprise::TicketCategory::parse("category", r.try_get("category")?)?,
                    total: r.try_get("total")?,
                    open: r.try_get("open")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        counts.sort_by(|a, b| b.open.cmp(&a.open).then(b.total.cmp(&a.total)));
        Ok(counts)
    }
}
