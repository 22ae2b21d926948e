//! Resumption of work as stored: enterprises, their applications and the
//! history of their status, daily reports, problem tickets and key projects,
//! and the reads the pages and dashboards need. The writes are in
//! `writer/enterprises.rs`; the rules (credit codes, which status may follow
//! which, what a daily report may say) are the domain's
//! (`shouwang_domain::enterprise`).
//!
//! Who sees what: a scope that holds the enterprise (its contacts, its
//! township, the county); its dedicated service officer; and, for tickets,
//! anyone whose scope holds the department the ticket is routed to. The
//! `*_visible` reads take all three.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use shouwang_domain::enterprise::{
    CreditCode, DailyFigures, MilestoneKind, MilestonePlan, PreventionPlan, ResumptionStatus, Satisfaction, Sector,
    SizeClass, TicketCategory, TicketStatus, Workforce,
};
use shouwang_domain::screening::PersonName;
use shouwang_domain::{EnterpriseId, HouseholdId, OrgUnitId, ProjectId, RecordId, ScopePath, UserId};

use crate::{Store, StoreError};

/// An enterprise's details as entered (create and edit).
#[derive(Debug, Clone, PartialEq)]
pub struct EnterpriseDraft {
    /// Unified social credit code; unique.
    pub credit_code: CreditCode,
    /// Registered name.
    pub name: String,
    /// GB/T 4754 section.
    pub sector: Sector,
    /// Size class.
    pub size_class: SizeClass,
    /// Its township (the enterprise's scope sits under it).
    pub org_unit: OrgUnitId,
    /// Address.
    pub address: String,
    /// Above designated size (规上).
    pub above_designated: bool,
    /// A key enterprise of the county.
    pub key_enterprise: bool,
    /// Makes epidemic supplies (masks, disinfectant, protective suits).
    pub epidemic_supplies: bool,
    /// Total employees.
    pub employees: u32,
    /// Its dedicated service officer.
    pub service_officer: Option<UserId>,
    /// The department that serves it.
    pub department: Option<OrgUnitId>,
}

/// A stored enterprise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Enterprise {
    /// Its id.
    pub id: EnterpriseId,
    /// Unified social credit code.
    pub credit_code: String,
    /// Registered name.
    pub name: String,
    /// GB/T 4754 section.
    pub sector: Sector,
    /// Size class.
    pub size_class: SizeClass,
    /// Its township.
    pub org_unit_id: OrgUnitId,
    /// Its scope: the township's path plus `e<id>`.
    pub scope: ScopePath,
    /// Address.
    pub address: String,
    /// Above designated size.
    pub above_designated: bool,
    /// Key enterprise.
    pub key_enterprise: bool,
    /// Epidemic-supplies producer.
    pub epidemic_supplies: bool,
    /// Total employees.
    pub employees: i64,
    /// Dedicated service officer.
    pub service_officer_id: Option<UserId>,
    /// Serving department.
    pub department_id: Option<OrgUnitId>,
    /// Where its resumption stands.
    pub status: ResumptionStatus,
    /// The note of the last change of status (a reviewer's comment, the
    /// reason for a suspension).
    pub status_note: String,
    /// People on site by the latest daily report.
    pub on_site: i64,
    /// The day (days since 1970-01-01) of the latest daily report.
    pub last_report_day: Option<i64>,
    /// When it was entered.
    pub created_us: i64,
    /// When it last changed.
    pub updated_us: i64,
}

pub(crate) const ENTERPRISE_COLUMNS: &str = "id, credit_code, name, sector, size_class, org_unit_id, scope, address, \
    above_designated, key_enterprise, epidemic_supplies, employees, service_officer_id, department_id, status, \
    status_note, on_site, last_report_day, created_us, updated_us FROM enterprises";

pub(crate) fn enterprise_from(row: &AnyRow) -> Result<Enterprise, StoreError> {
    Ok(Enterprise {
        id: EnterpriseId(row.try_get("id")?),
        credit_code: row.try_get("credit_code")?,
        name: row.try_get("name")?,
        sector: Sector::parse("sector", row.try_get("sector")?)?,
        size_class: SizeClass::parse("size_class", row.try_get("size_class")?)?,
        org_unit_id: OrgUnitId(row.try_get("org_unit_id")?),
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        address: row.try_get("address")?,
        above_designated: row.try_get::<i64, _>("above_designated")? != 0,
        key_enterprise: row.try_get::<i64, _>("key_enterprise")? != 0,
        epidemic_supplies: row.try_get::<i64, _>("epidemic_supplies")? != 0,
        employees: row.try_get("employees")?,
        service_officer_id: row.try_get::<Option<i64>, _>("service_officer_id")?.map(UserId),
        department_id: row.try_get::<Option<i64>, _>("department_id")?.map(OrgUnitId),
        status: ResumptionStatus::parse("status", row.try_get("status")?)?,
        status_note: row.try_get("status_note")?,
        on_site: row.try_get("on_site")?,
        last_report_day: row.try_get("last_report_day")?,
        created_us: row.try_get("created_us")?,
        updated_us: row.try_get("updated_us")?,
    })
}

/// An application to resume, as filed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApplication {
    /// A client-made UUIDv7: filing twice files once.
    pub id: RecordId,
    /// Which enterprise.
    pub enterprise: EnterpriseId,
    /// Its prevention plan.
    pub plan: PreventionPlan,
    /// Its workforce.
    pub workforce: Workforce,
}

/// An application to resume and its review.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Application {
    /// Its id.
    pub id: RecordId,
    /// Which enterprise.
    pub enterprise_id: EnterpriseId,
    /// Who filed it.
    pub filed_by: UserId,
    /// When.
    pub filed_us: i64,
    /// The prevention plan.
    pub plan: PreventionPlan,
    /// The workforce.
    pub workforce: Workforce,
    /// `applied`, then `approved`, `returned` or `refused`.
    pub state: ResumptionStatus,
    /// Who reviewed it.
    pub reviewed_by: Option<UserId>,
    /// When.
    pub reviewed_us: Option<i64>,
    /// The reviewer's comment or reason.
    pub review_note: String,
}

pub(crate) const APPLICATION_COLUMNS: &str = "id, enterprise_id, filed_by, filed_us, plan, workforce, state, reviewed_by, \
    reviewed_us, review_note FROM resumption_applications";

pub(crate) fn application_from(row: &AnyRow) -> Result<Application, StoreError> {
    let plan: String = row.try_get("plan")?;
    let workforce: String = row.try_get("workforce")?;
    Ok(Application {
        id: RecordId::parse("id", row.try_get("id")?)?,
        enterprise_id: EnterpriseId(row.try_get("enterprise_id")?),
        filed_by: UserId(row.try_get("filed_by")?),
        filed_us: row.try_get("filed_us")?,
        plan: serde_json::from_str(&plan).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        workforce: serde_json::from_str(&workforce).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        state: ResumptionStatus::parse("state", row.try_get("state")?)?,
        reviewed_by: row.try_get::<Option<i64>, _>("reviewed_by")?.map(UserId),
        reviewed_us: row.try_get("reviewed_us")?,
        review_note: row.try_get("review_note")?,
    })
}

/// One change of an enterprise's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusChange {
    /// When.
    pub at_us: i64,
    /// Who made it (name at the time of reading).
    pub actor_name: String,
    /// The status it set.
    pub status: ResumptionStatus,
    /// The comment or reason.
    pub note: String,
}

/// A daily report as filed.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDailyReport {
    /// A client-made UUIDv7: resending files once.
    pub id: RecordId,
    /// Which enterprise.
    pub enterprise: EnterpriseId,
    /// For which day (days since 1970-01-01, local).
    pub day: i64,
    /// The figures, checked against the enterprise's employees by the caller
    /// and again by the writer.
    pub figures: DailyFigures,
}

/// A stored daily report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyReport {
    /// The id of the submission that holds the day's figures now (a
    /// correction on the same day replaces the figures and the id).
    pub id: RecordId,
    /// Which enterprise.
    pub enterprise_id: EnterpriseId,
    /// Which day.
    pub day: i64,
    /// Who filed it.
    pub reported_by: UserId,
    /// When.
    pub reported_us: i64,
    /// The figures.
    pub figures: DailyFigures,
}

pub(crate) const REPORT_COLUMNS: &str = "id, enterprise_id, day, reported_by, reported_us, on_site, capacity_pct, \
    output_value_yuan, ppe_stock_days, raw_material_days, orders_on_hand_yuan, masks, disinfectant_kg, suits, problems \
    FROM daily_reports";

pub(crate) fn report_from(row: &AnyRow) -> Result<DailyReport, StoreError> {
    let int = |c: &str| -> Result<i64, StoreError> { Ok(row.try_get::<i64, _>(c)?) };
    let narrow = |c: &str| -> Result<u16, StoreError> {
        u16::try_from(int(c)?).map_err(|_| StoreError::Corrupt(format!("daily_reports.{c} out of range")))
    };
    Ok(DailyReport {
        id: RecordId::parse("id", row.try_get("id")?)?,
        enterprise_id: EnterpriseId(int("enterprise_id")?),
        day: int("day")?,
        reported_by: UserId(int("reported_by")?),
        reported_us: int("reported_us")?,
        figures: DailyFigures {
            on_site: u32::try_from(int("on_site")?).map_err(|_| StoreError::Corrupt("on_site".into()))?,
            capacity_pct: u8::try_from(int("capacity_pct")?).map_err(|_| StoreError::Corrupt("capacity".into()))?,
            output_value_yuan: int("output_value_yuan")?,
            ppe_stock_days: narrow("ppe_stock_days")?,
            raw_material_days: narrow("raw_material_days")?,
            orders_on_hand_yuan: int("orders_on_hand_yuan")?,
            masks: int("masks")?,
            disinfectant_kg: int("disinfectant_kg")?,
            suits: int("suits")?,
            problems: row.try_get("problems")?,
        },
    })
}

/// Whose problem a ticket is: an enterprise's, or a registered household's
/// difficulty. Both are worked the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketSubject {
    /// An enterprise's problem (复工复产).
    Enterprise(EnterpriseId),
    /// A household's difficulty (sales blocked, inputs missing, …).
    Household(HouseholdId),
}

/// A problem ticket as raised.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    /// A client-made UUIDv7: raising twice raises once.
    pub id: RecordId,
    /// Whose problem.
    pub subject: TicketSubject,
    /// What kind of problem: picks the department and the deadline.
    pub category: TicketCategory,
    /// A department chosen by hand instead of the category's.
    pub department: Option<OrgUnitId>,
    /// A short title.
    pub title: String,
    /// The problem in full.
    pub body: String,
    /// A file with it (the raiser's own upload).
    pub attachment: Option<RecordId>,
    /// The freight-pass request filed with it (a logistics ticket): deciding
    /// on the request settles the ticket.
    pub pass_request: Option<RecordId>,
}

/// One step on a ticket: a new status, a comment, a rating.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketStep {
    /// Move to this status.
    pub status: Option<TicketStatus>,
    /// A comment (required when nothing else changes, and for reopening).
    pub note: String,
    /// The enterprise's satisfaction, with `confirmed` only.
    pub rating: Option<Satisfaction>,
    /// A file with the comment (the author's own upload).
    pub attachment: Option<RecordId>,
    /// Hand the ticket on to this township or department: it starts again
    /// as open there (the deadline stands).
    pub route_to: Option<OrgUnitId>,
}

/// A stored ticket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ticket {
    /// Its id.
    pub id: RecordId,
    /// Whose problem: an enterprise …
    pub enterprise_id: Option<EnterpriseId>,
    /// … or a registered household.
    pub household_id: Option<HouseholdId>,
    /// The enterprise's name, or the household's village and its head's
    /// name masked (张**户).
    pub subject_name: String,
    /// The subject's scope.
    pub scope: ScopePath,
    /// Category.
    pub category: TicketCategory,
    /// The department it is routed to.
    pub department_id: OrgUnitId,
    /// That department's name.
    pub department_name: String,
    /// The dedicated officer it is assigned to.
    pub officer_id: Option<UserId>,
    /// Title.
    pub title: String,
    /// The problem.
    pub body: String,
    /// Where it stands.
    pub status: TicketStatus,
    /// Who raised it.
    pub raised_by: UserId,
    /// When.
    pub raised_us: i64,
    /// By when it must be resolved.
    pub deadline_us: i64,
    /// When it was (last) resolved.
    pub resolved_us: Option<i64>,
    /// When the enterprise confirmed.
    pub confirmed_us: Option<i64>,
    /// The enterprise's rating, 1–5.
    pub rating: Option<i64>,
    /// When it went overdue (once).
    pub overdue_us: Option<i64>,
    /// Whom it was escalated to when it went overdue.
    pub escalated_to: Option<UserId>,
    /// Its file.
    pub attachment_id: Option<RecordId>,
    /// The freight-pass request it made (logistics tickets).
    pub pass_request_id: Option<RecordId>,
}

pub(crate) const TICKET_COLUMNS: &str = "t.id, t.enterprise_id, t.household_id, e.name AS enterprise_name, \
    hv.name AS village_name, h.head_name, t.scope, t.category, \
    t.department_id, d.name AS department_name, t.officer_id, t.title, t.body, t.status, t.raised_by, t.raised_us, \
    t.deadline_us, t.resolved_us, t.confirmed_us, t.rating, t.overdue_us, t.escalated_to, t.attachment_id, \
    t.pass_request_id FROM tickets t LEFT JOIN enterprises e ON e.id = t.enterprise_id \
    LEFT JOIN households h ON h.id = t.household_id LEFT JOIN org_units hv ON hv.id = h.village_id \
    JOIN org_units d ON d.id = t.department_id";

impl Ticket {
    /// The page of the ticket's subject.
    pub fn subject_href(&self) -> String {
        match (self.enterprise_id, self.household_id) {
            (Some(e), _) => format!("/enterprises/{e}"),
            (None, Some(h)) => format!("/households/{h}"),
            (None, None) => String::new(),
        }
    }
}

fn record_id(row: &AnyRow, column: &str) -> Result<Option<RecordId>, StoreError> {
    Ok(row.try_get::<Option<String>, _>(column)?.map(|s| RecordId::parse(column, &s)).transpose()?)
}

pub(crate) fn ticket_from(row: &AnyRow) -> Result<Ticket, StoreError> {
    Ok(Ticket {
        id: RecordId::parse("id", row.try_get("id")?)?,
        enterprise_id: row.try_get::<Option<i64>, _>("enterprise_id")?.map(EnterpriseId),
        household_id: row.try_get::<Option<i64>, _>("household_id")?.map(HouseholdId),
        subject_name: match row.try_get::<Option<String>, _>("enterprise_name")? {
            Some(name) => name,
            None => {
                let head = PersonName::parse("head_name", row.try_get("head_name")?)?;
                format!("{} {}户", row.try_get::<String, _>("village_name")?, head.masked())
            }
        },
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        category: TicketCategory::parse("category", row.try_get("category")?)?,
        department_id: OrgUnitId(row.try_get("department_id")?),
        department_name: row.try_get("department_name")?,
        officer_id: row.try_get::<Option<i64>, _>("officer_id")?.map(UserId),
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        status: TicketStatus::parse("status", row.try_get("status")?)?,
        raised_by: UserId(row.try_get("raised_by")?),
        raised_us: row.try_get("raised_us")?,
        deadline_us: row.try_get("deadline_us")?,
        resolved_us: row.try_get("resolved_us")?,
        confirmed_us: row.try_get("confirmed_us")?,
        rating: row.try_get("rating")?,
        overdue_us: row.try_get("overdue_us")?,
        escalated_to: row.try_get::<Option<i64>, _>("escalated_to")?.map(UserId),
        attachment_id: record_id(row, "attachment_id")?,
        pass_request_id: record_id(row, "pass_request_id")?,
    })
}

/// One entry of a ticket's timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketNote {
    /// When.
    pub at_us: i64,
    /// Who wrote it.
    pub author_name: String,
    /// The status it set.
    pub status: Option<TicketStatus>,
    /// The comment.
    pub note: String,
    /// Its file.
    pub attachment_id: Option<RecordId>,
}

/// Where a category of ticket goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketRoute {
    /// The category.
    pub category: TicketCategory,
    /// The department that takes it.
    pub department_id: OrgUnitId,
    /// Its name.
    pub department_name: String,
    /// How long it has, in hours.
    pub deadline_hours: i64,
}

/// A key project as entered.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectDraft {
    /// The enterprise that owns it.
    pub enterprise: EnterpriseId,
    /// Its name, e.g. 熔喷布口罩生产线.
    pub name: String,
    /// What it makes.
    pub product: String,
    /// Planned output per day.
    pub planned_daily_capacity: i64,
    /// The unit of that output, e.g. 只 or 套.
    pub capacity_unit: String,
    /// Milestones, in order, checked by `check_milestones`.
    pub milestones: Vec<MilestonePlan>,
    /// What blocks it now.
    pub blocking: String,
}

/// A stored key project.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Project {
    /// Its id.
    pub id: ProjectId,
    /// The owner.
    pub enterprise_id: EnterpriseId,
    /// The owner's name.
    pub enterprise_name: String,
    /// The owner's scope.
    pub scope: ScopePath,
    /// Its name.
    pub name: String,
    /// What it makes.
    pub product: String,
    /// Planned output per day.
    pub planned_daily_capacity: i64,
    /// The unit.
    pub capacity_unit: String,
    /// What blocks it now.
    pub blocking: String,
    /// Its milestones, in order.
    pub milestones: Vec<MilestonePlan>,
    /// When it last changed.
    pub updated_us: i64,
}

/// Resumption counted over a group of enterprises (a township, a sector).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResumptionCount {
    /// The group: an org-unit id or a sector letter.
    pub key: String,
    /// Enterprises in it.
    pub enterprises: i64,
    /// Of which resumed (partly or fully).
    pub resumed: i64,
    /// Of which approved or applied but not yet resumed.
    pub pending: i64,
    /// Total employees.
    pub employees: i64,
    /// People on site by the latest reports of those running (a suspended
    /// enterprise's last figure does not count).
    pub on_site: i64,
}

/// Tickets counted by category and department.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TicketCount {
    /// Category.
    pub category: TicketCategory,
    /// Department name.
    pub department_name: String,
    /// Raised.
    pub total: i64,
    /// Not yet resolved.
    pub open: i64,
    /// Resolved (or confirmed).
    pub resolved: i64,
    /// Resolved by the deadline.
    pub on_time: i64,
    /// Still open past the deadline.
    pub overdue: i64,
    /// Mean hours from raising to resolving, over the resolved.
    pub mean_hours_to_resolve: Option<f64>,
    /// Mean rating, over the confirmed.
    pub mean_rating: Option<f64>,
}

/// Epidemic-supply output of one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupplyOutput {
    /// The day.
    pub day: i64,
    /// Masks.
    pub masks: i64,
    /// Disinfectant, kg.
    pub disinfectant_kg: i64,
    /// Protective suits.
    pub suits: i64,
}

/// What a reader may see besides its scope: enterprises it serves, tickets
/// of departments within its scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Viewer<'a> {
    /// The reader's scope.
    pub scope: &'a ScopePath,
    /// The reader (dedicated officer of some enterprises).
    pub user: UserId,
}

impl Store {
    /// One enterprise.
    pub async fn enterprise(&self, id: EnterpriseId) -> Result<Enterprise, StoreError> {
        let sql = format!("SELECT {ENTERPRISE_COLUMNS} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.0).fetch_optional(&self.pool).await?;
        enterprise_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// The enterprise whose scope holds `scope` (an enterprise contact's).
    pub async fn enterprise_of_scope(&self, scope: &ScopePath) -> Result<Option<Enterprise>, StoreError> {
        let sql = format!("SELECT {ENTERPRISE_COLUMNS} WHERE scope = $1");
        let row = sqlx::query(&sql).bind(scope.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(enterprise_from).transpose()
    }

    /// The enterprises the viewer may see, by name.
    pub async fn enterprises_visible(&self, v: &Viewer<'_>) -> Result<Vec<Enterprise>, StoreError> {
        let sql = format!(
            "SELECT {ENTERPRISE_COLUMNS} WHERE (scope >= $1 AND scope < $2) OR service_officer_id = $3 ORDER BY name"
        );
        let rows = sqlx::query(&sql)
            .bind(v.scope.as_str())
            .bind(v.scope.upper_bound())
            .bind(v.user.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(enterprise_from).collect()
    }

    /// An enterprise's applications, newest first.
    pub async fn applications(&self, enterprise: EnterpriseId) -> Result<Vec<Application>, StoreError> {
        let sql = format!("SELECT {APPLICATION_COLUMNS} WHERE enterprise_id = $1 ORDER BY filed_us DESC, id DESC");
        let rows = sqlx::query(&sql).bind(enterprise.0).fetch_all(&self.pool).await?;
        rows.iter().map(application_from).collect()
    }

    /// The applications waiting for review within a scope, oldest first.
    pub async fn applications_waiting(&self, scope: &ScopePath) -> Result<Vec<(Application, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.enterprise_id, a.filed_by, a.filed_us, a.plan, a.workforce, a.state, a.reviewed_by, \
             a.reviewed_us, a.review_note, e.name AS enterprise_name FROM resumption_applications a \
             JOIN enterprises e ON e.id = a.enterprise_id \
             WHERE a.state = 'applied' AND e.scope >= $1 AND e.scope < $2 ORDER BY a.filed_us",
        )
        .bind(scope.as_str())
        .bind(scope.upper_bound())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((application_from(r)?, r.try_get("enterprise_name")?))).collect()
    }

    /// One application.
    pub async fn application(&self, id: RecordId) -> Result<Application, StoreError> {
        let sql = format!("SELECT {APPLICATION_COLUMNS} WHERE id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
        application_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// Every change of an enterprise's status, oldest first.
    pub async fn resumption_history(&self, enterprise: EnterpriseId) -> Result<Vec<StatusChange>, StoreError> {
        let rows = sqlx::query(
            "SELECT h.at_us, COALESCE(u.display_name, 'system') AS actor_name, h.status, h.note \
             FROM resumption_history h LEFT JOIN users u ON u.id = h.actor_id \
             WHERE h.enterprise_id = $1 ORDER BY h.seq",
        )
        .bind(enterprise.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StatusChange {
                    at_us: r.try_get("at_us")?,
                    actor_name: r.try_get("actor_name")?,
                    status: ResumptionStatus::parse("status", r.try_get("status")?)?,
                    note: r.try_get("note")?,
                })
            })
            .collect()
    }

    /// An enterprise's daily reports, newest first, at most `limit`.
    pub async fn daily_reports(&self, enterprise: EnterpriseId, limit: i64) -> Result<Vec<DailyReport>, StoreError> {
        let sql = format!("SELECT {REPORT_COLUMNS} WHERE enterprise_id = $1 ORDER BY day DESC LIMIT $2");
        let rows = sqlx::query(&sql).bind(enterprise.0).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(report_from).collect()
    }

    /// The enterprises the viewer may see that have resumed (or been
    /// approved) and have not reported for `day`.
    pub async fn missing_reports(&self, v: &Viewer<'_>, day: i64) -> Result<Vec<Enterprise>, StoreError> {
        let sql = format!(
            "SELECT {ENTERPRISE_COLUMNS} WHERE ((scope >= $1 AND scope < $2) OR service_officer_id = $3) \
             AND status IN ('approved', 'partly_resumed', 'fully_resumed') \
             AND (last_report_day IS NULL OR last_report_day < $4) ORDER BY name"
        );
        let rows = sqlx::query(&sql)
            .bind(v.scope.as_str())
            .bind(v.scope.upper_bound())
            .bind(v.user.0)
            .bind(day)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(enterprise_from).collect()
    }

    /// One ticket.
    pub async fn ticket(&self, id: RecordId) -> Result<Ticket, StoreError> {
        let sql = format!("SELECT {TICKET_COLUMNS} WHERE t.id = $1");
        let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
        ticket_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// The scope of the department a ticket is routed to.
    pub async fn department_scope(&self, department: OrgUnitId) -> Result<ScopePath, StoreError> {
        Ok(self.org_unit(department).await?.path)
    }

    /// The tickets the viewer may see (its scope, the enterprises it serves,
    /// its departments'), newest first; `open_only` leaves out the confirmed.
    pub async fn tickets_visible(&self, v: &Viewer<'_>, open_only: bool) -> Result<Vec<Ticket>, StoreError> {
        let filter = if open_only { "AND t.status <> 'confirmed'" } else { "" };
        let sql = format!(
            "SELECT {TICKET_COLUMNS} WHERE ((t.scope >= $1 AND t.scope < $2) OR t.officer_id = $3 \
             OR (d.path >= $1 AND d.path < $2)) {filter} ORDER BY t.raised_us DESC LIMIT 500"
        );
        let rows = sqlx::query(&sql)
            .bind(v.scope.as_str())
            .bind(v.scope.upper_bound())
            .bind(v.user.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(ticket_from).collect()
    }

    /// An enterprise's tickets, newest first.
    pub async fn tickets_of(&self, enterprise: EnterpriseId) -> Result<Vec<Ticket>, StoreError> {
        let sql = format!("SELECT {TICKET_COLUMNS} WHERE t.enterprise_id = $1 ORDER BY t.raised_us DESC");
        let rows = sqlx::query(&sql).bind(enterprise.0).fetch_all(&self.pool).await?;
        rows.iter().map(ticket_from).collect()
    }

    /// A household's difficulties, newest first.
    pub async fn tickets_of_household(&self, household: HouseholdId) -> Result<Vec<Ticket>, StoreError> {
        let sql = format!("SELECT {TICKET_COLUMNS} WHERE t.household_id = $1 ORDER BY t.raised_us DESC");
        let rows = sqlx::query(&sql).bind(household.0).fetch_all(&self.pool).await?;
        rows.iter().map(ticket_from).collect()
    }

    /// A ticket's timeline, oldest first.
    pub async fn ticket_notes(&self, id: RecordId) -> Result<Vec<TicketNote>, StoreError> {
        let rows = sqlx::query(
            "SELECT n.at_us, COALESCE(u.display_name, 'system') AS author_name, n.status, n.note, n.attachment_id \
             FROM ticket_notes n LEFT JOIN users u ON u.id = n.author_id WHERE n.ticket_id = $1 ORDER BY n.seq",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(TicketNote {
                    at_us: r.try_get("at_us")?,
                    author_name: r.try_get("author_name")?,
                    status: r
                        .try_get::<Option<&str>, _>("status")?
                        .map(|s| TicketStatus::parse("status", s))
                        .transpose()?,
                    note: r.try_get("note")?,
                    attachment_id: record_id(r, "attachment_id")?,
                })
            })
            .collect()
    }

    /// The ticket a freight-pass request was filed with, if any.
    pub async fn ticket_by_pass_request(&self, request: RecordId) -> Result<Option<Ticket>, StoreError> {
        let sql = format!("SELECT {TICKET_COLUMNS} WHERE t.pass_request_id = $1");
        let row = sqlx::query(&sql).bind(request.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(ticket_from).transpose()
    }

    /// The tickets that carry file `file` (or a note of theirs does).
    pub async fn tickets_using(&self, file: RecordId) -> Result<Vec<RecordId>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM tickets WHERE attachment_id = $1 \
             UNION SELECT ticket_id AS id FROM ticket_notes WHERE attachment_id = $1",
        )
        .bind(file.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(RecordId::parse("id", r.try_get("id")?)?)).collect()
    }

    /// Tickets not resolved whose deadline passed before `now_us` and that
    /// were not yet marked overdue.
    pub async fn tickets_past_deadline(&self, now_us: i64) -> Result<Vec<Ticket>, StoreError> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} WHERE t.resolved_us IS NULL AND t.deadline_us < $1 AND t.overdue_us IS NULL \
             ORDER BY t.deadline_us"
        );
        let rows = sqlx::query(&sql).bind(now_us).fetch_all(&self.pool).await?;
        rows.iter().map(ticket_from).collect()
    }

    /// Every ticket still unresolved past its deadline at `now_us` (what the
    /// alert rule holds), at most 500, the oldest deadline first.
    pub async fn tickets_overdue(&self, now_us: i64) -> Result<Vec<Ticket>, StoreError> {
        let sql = format!(
            "SELECT {TICKET_COLUMNS} WHERE t.resolved_us IS NULL AND t.deadline_us < $1 \
             ORDER BY t.deadline_us LIMIT 500"
        );
        let rows = sqlx::query(&sql).bind(now_us).fetch_all(&self.pool).await?;
        rows.iter().map(ticket_from).collect()
    }

    /// Where each category goes: the configured route, else the category's
    /// default department when the deployment has it.
    pub async fn ticket_routes(&self) -> Result<Vec<TicketRoute>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.category, r.department_id, d.name, r.deadline_hours FROM ticket_routes r \
             JOIN org_units d ON d.id = r.department_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut routes = Vec::new();
        for category in TicketCategory::ALL.iter().copied() {
            let set = rows.iter().find(|r| r.try_get::<&str, _>("category").is_ok_and(|c| c == category.as_str()));
            if let Some(r) = set {
                routes.push(TicketRoute {
                    category,
                    department_id: OrgUnitId(r.try_get("department_id")?),
                    department_name: r.try_get("name")?,
                    deadline_hours: r.try_get("deadline_hours")?,
                });
            } else if let Ok(d) = self.org_unit_by_code(category.default_department()).await {
                routes.push(TicketRoute {
                    category,
                    department_id: d.id,
                    department_name: d.name,
                    deadline_hours: category.default_deadline_hours(),
                });
            }
        }
        Ok(routes)
    }

    /// Resumption of the enterprises the viewer may see, by township
    /// (`by_sector`: by sector).
    pub async fn resumption_counts(&self, v: &Viewer<'_>, by_sector: bool) -> Result<Vec<ResumptionCount>, StoreError> {
        let key = if by_sector { "sector" } else { "CAST(org_unit_id AS TEXT)" };
        let sql = format!(
            "SELECT {key} AS k, COUNT(*) AS n, \
             CAST(SUM(CASE WHEN status IN ('partly_resumed', 'fully_resumed') THEN 1 ELSE 0 END) AS BIGINT) AS resumed, \
             CAST(SUM(CASE WHEN status IN ('applied', 'approved') THEN 1 ELSE 0 END) AS BIGINT) AS pending, \
             CAST(SUM(employees) AS BIGINT) AS employees, CAST(SUM(CASE WHEN status IN ('approved', 'partly_resumed', 'fully_resumed') THEN on_site ELSE 0 END) AS BIGINT) AS on_site \
             FROM enterprises WHERE (scope >= $1 AND scope < $2) OR service_officer_id = $3 \
             GROUP BY {key} ORDER BY {key}"
        );
        let rows = sqlx::query(&sql)
            .bind(v.scope.as_str())
            .bind(v.scope.upper_bound())
            .bind(v.user.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(ResumptionCount {
                    key: r.try_get("k")?,
                    enterprises: r.try_get("n")?,
                    resumed: r.try_get("resumed")?,
                    pending: r.try_get("pending")?,
                    employees: r.try_get("employees")?,
                    on_site: r.try_get("on_site")?,
                })
            })
            .collect()
    }

    /// The tickets the viewer may see by category and department, with on-time
    /// rate and mean time to resolve; `now_us` decides what is overdue.
    pub async fn ticket_counts(&self, v: &Viewer<'_>, now_us: i64) -> Result<Vec<TicketCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.category, d.name AS department_name, COUNT(*) AS total, \
             CAST(SUM(CASE WHEN t.resolved_us IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS open, \
             CAST(SUM(CASE WHEN t.resolved_us IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS resolved, \
             CAST(SUM(CASE WHEN t.resolved_us IS NOT NULL AND t.resolved_us <= t.deadline_us THEN 1 ELSE 0 END) AS BIGINT) AS on_time, \
             CAST(SUM(CASE WHEN t.resolved_us IS NULL AND t.deadline_us < $3 THEN 1 ELSE 0 END) AS BIGINT) AS overdue, \
             CAST(SUM(CASE WHEN t.resolved_us IS NOT NULL THEN t.resolved_us - t.raised_us ELSE 0 END) AS BIGINT) AS resolve_us, \
             CAST(SUM(CASE WHEN t.rating IS NOT NULL THEN t.rating ELSE 0 END) AS BIGINT) AS rating_sum, \
             CAST(SUM(CASE WHEN t.rating IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS rated \
             FROM tickets t JOIN org_units d ON d.id = t.department_id \
             WHERE t.enterprise_id IS NOT NULL \
             AND ((t.scope >= $1 AND t.scope < $2) OR t.officer_id = $4 OR (d.path >= $1 AND d.path < $2)) \
             GROUP BY t.category, d.name ORDER BY t.category, d.name",
        )
        .bind(v.scope.as_str())
        .bind(v.scope.upper_bound())
        .bind(now_us)
        .bind(v.user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let resolved: i64 = r.try_get("resolved")?;
                let rated: i64 = r.try_get("rated")?;
                let resolve_us: i64 = r.try_get("resolve_us")?;
                let rating_sum: i64 = r.try_get("rating_sum")?;
                Ok(TicketCount {
                    category: TicketCategory::parse("category", r.try_get("category")?)?,
                    department_name: r.try_get("department_name")?,
                    total: r.try_get("total")?,
                    open: r.try_get("open")?,
                    resolved,
                    on_time: r.try_get("on_time")?,
                    overdue: r.try_get("overdue")?,
                    mean_hours_to_resolve: (resolved > 0)
                        .then(|| resolve_us as f64 / resolved as f64 / 3_600_000_000.0),
                    mean_rating: (rated > 0).then(|| rating_sum as f64 / rated as f64),
                })
            })
            .collect()
    }

    /// Epidemic-supply output per day of the enterprises the viewer may see,
    /// from `from_day` on.
    pub async fn supply_output(&self, v: &Viewer<'_>, from_day: i64) -> Result<Vec<SupplyOutput>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.day, CAST(SUM(r.masks) AS BIGINT) AS masks, CAST(SUM(r.disinfectant_kg) AS BIGINT) AS disinfectant_kg, CAST(SUM(r.suits) AS BIGINT) AS suits \
             FROM daily_reports r JOIN enterprises e ON e.id = r.enterprise_id \
             WHERE ((e.scope >= $1 AND e.scope < $2) OR e.service_officer_id = $4) AND r.day >= $3 \
             GROUP BY r.day ORDER BY r.day",
        )
        .bind(v.scope.as_str())
        .bind(v.scope.upper_bound())
        .bind(from_day)
        .bind(v.user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SupplyOutput {
                    day: r.try_get("day")?,
                    masks: r.try_get("masks")?,
                    disinfectant_kg: r.try_get("disinfectant_kg")?,
                    suits: r.try_get("suits")?,
                })
            })
            .collect()
    }

    /// One key project with its milestones.
    pub async fn project(&self, id: ProjectId) -> Result<Project, StoreError> {
        let mut conn = self.pool.acquire().await?;
        project(&mut conn, id).await
    }

    /// An enterprise's key projects, by name.
    pub async fn projects_of(&self, enterprise: EnterpriseId) -> Result<Vec<Project>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query("SELECT id FROM key_projects WHERE enterprise_id = $1 ORDER BY name")
            .bind(enterprise.0)
            .fetch_all(&mut *conn)
            .await?;
        projects(&mut conn, &rows).await
    }

    /// The key projects the viewer may see, by name.
    pub async fn projects_visible(&self, v: &Viewer<'_>) -> Result<Vec<Project>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(
            "SELECT p.id FROM key_projects p JOIN enterprises e ON e.id = p.enterprise_id \
             WHERE (p.scope >= $1 AND p.scope < $2) OR e.service_officer_id = $3 ORDER BY p.name",
        )
        .bind(v.scope.as_str())
        .bind(v.scope.upper_bound())
        .bind(v.user.0)
        .fetch_all(&mut *conn)
        .await?;
        projects(&mut conn, &rows).await
    }
}

/// The projects whose ids `rows` hold, in that order.
async fn projects(conn: &mut sqlx::AnyConnection, rows: &[AnyRow]) -> Result<Vec<Project>, StoreError> {
    let mut found = Vec::with_capacity(rows.len());
    for r in rows {
        found.push(project(conn, ProjectId(r.try_get("id")?)).await?);
    }
    Ok(found)
}

pub(crate) async fn project(conn: &mut sqlx::AnyConnection, id: ProjectId) -> Result<Project, StoreError> {
    let row = sqlx::query(
        "SELECT p.id, p.enterprise_id, e.name AS enterprise_name, p.scope, p.name, p.product, \
         p.planned_daily_capacity, p.capacity_unit, p.blocking, p.updated_us \
         FROM key_projects p JOIN enterprises e ON e.id = p.enterprise_id WHERE p.id = $1",
    )
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    let ms = sqlx::query(
        "SELECT kind, planned_day, actual_day FROM project_milestones WHERE project_id = $1 ORDER BY position",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await?;
    let milestones = ms
        .iter()
        .map(|m| {
            Ok(MilestonePlan {
                kind: MilestoneKind::parse("kind", m.try_get("kind")?)?,
                planned_day: m.try_get("planned_day")?,
                actual_day: m.try_get("actual_day")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Project {
        id,
        enterprise_id: EnterpriseId(row.try_get("enterprise_id")?),
        enterprise_name: row.try_get("enterprise_name")?,
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        name: row.try_get("name")?,
        product: row.try_get("product")?,
        planned_daily_capacity: row.try_get("planned_daily_capacity")?,
        capacity_unit: row.try_get("capacity_unit")?,
        blocking: row.try_get("blocking")?,
        milestones,
        updated_us: row.try_get("updated_us")?,
    })
}
