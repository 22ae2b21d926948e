//! Spring ploughing as stored: one row per village, crop and year with the
//! figures the domain checked (`shouwang_domain::ploughing`), and the reads
//! the pages and dashboards need — the rows within a scope, and progress
//! summed by township or by the villages of one township, the slowest first.
//! The write is in `writer/ploughing.rs`.
//!
//! Progress sums what was entered: areas add up across crops; an input's
//! supply counts at most its need in each row, so one village's surplus does
//! not hide another's shortage; machines add up as entered per crop.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use shouwang_domain::ploughing::{Crop, PloughFigures, sown_pct, supplied_pct};
use shouwang_domain::{OrgUnitId, ScopePath, UserId};

use crate::{Store, StoreError};

/// A village's figures for one crop and year, as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ploughing {
    /// The village.
    pub village_id: OrgUnitId,
    /// Its name.
    pub village: String,
    /// Its township.
    pub township_id: OrgUnitId,
    /// The crop.
    pub crop: Crop,
    /// The year.
    pub year: i64,
    /// The village's scope.
    pub scope: ScopePath,
    /// The figures.
    #[serde(flatten)]
    pub figures: PloughFigures,
    /// Who entered them last (none: the system).
    pub updated_by: Option<UserId>,
    /// When.
    pub updated_us: i64,
}

pub(crate) const PLOUGHING_SELECT: &str = "SELECT p.village_id, v.name AS village, v.parent_id AS township_id, \
    p.crop, p.year, p.scope, p.planned_mu, p.sown_mu, p.seed_need_kg, p.seed_got_kg, p.fertiliser_need_kg, \
    p.fertiliser_got_kg, p.film_need_kg, p.film_got_kg, p.machines, p.note, p.updated_by, p.updated_us \
    FROM ploughing p JOIN org_units v ON v.id = p.village_id";

pub(crate) fn ploughing_from(row: &AnyRow) -> Result<Ploughing, StoreError> {
    let township: Option<i64> = row.try_get("township_id")?;
    Ok(Ploughing {
        village_id: OrgUnitId(row.try_get("village_id")?),
        village: row.try_get("village")?,
        township_id: OrgUnitId(township.ok_or_else(|| StoreError::Corrupt("a village without a township".into()))?),
        crop: Crop::parse("crop", row.try_get("crop")?)?,
        year: row.try_get("year")?,
        scope: ScopePath::from_stored(row.try_get("scope")?)?,
        figures: PloughFigures {
            planned_mu: row.try_get("planned_mu")?,
            sown_mu: row.try_get("sown_mu")?,
            seed_need_kg: row.try_get("seed_need_kg")?,
            seed_got_kg: row.try_get("seed_got_kg")?,
            fertiliser_need_kg: row.try_get("fertiliser_need_kg")?,
            fertiliser_got_kg: row.try_get("fertiliser_got_kg")?,
            film_need_kg: row.try_get("film_need_kg")?,
            film_got_kg: row.try_get("film_got_kg")?,
            machines: row.try_get("machines")?,
            note: row.try_get("note")?,
        },
        updated_by: row.try_get::<Option<i64>, _>("updated_by")?.map(UserId),
        updated_us: row.try_get("updated_us")?,
    })
}

/// A township's progress over its villages' rows of a year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TownshipPloughing {
    /// The township.
    pub township_id: OrgUnitId,
    /// Its name.
    pub township: String,
    /// Area planned, mu.
    pub planned_mu: i64,
    /// Area sown, mu.
    pub sown_mu: i64,
    /// Sown of planned, whole percent (100 when nothing is planned).
    pub sown_pct: i64,
    /// Seed supplied of needed, whole percent (100 when none is needed).
    pub seed_pct: i64,
    /// Fertiliser supplied of needed, whole percent.
    pub fertiliser_pct: i64,
    /// Plastic film supplied of needed, whole percent.
    pub film_pct: i64,
    /// Machines available.
    pub machines: i64,
}

/// A village's progress over its crops of a year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VillagePloughing {
    /// The village.
    pub village_id: OrgUnitId,
    /// Its name.
    pub village: String,
    /// Area planned, mu.
    pub planned_mu: i64,
    /// Area sown, mu.
    pub sown_mu: i64,
    /// Sown of planned, whole percent (100 when nothing is planned).
    pub sown_pct: i64,
    /// Seed supplied of needed, whole percent (100 when none is needed).
    pub seed_pct: i64,
    /// Fertiliser supplied of needed, whole percent.
    pub fertiliser_pct: i64,
    /// Plastic film supplied of needed, whole percent.
    pub film_pct: i64,
    /// Machines available.
    pub machines: i64,
}

/// One group's sums, before it is named a township or a village.
struct Sums {
    id: OrgUnitId,
    name: String,
    planned_mu: i64,
    sown_mu: i64,
    seed: (i64, i64),
    fertiliser: (i64, i64),
    film: (i64, i64),
    machines: i64,
}

impl Sums {
    fn from_row(r: &AnyRow) -> Result<Self, StoreError> {
        let pair =
            |need: &str, got: &str| -> Result<(i64, i64), StoreError> { Ok((r.try_get(need)?, r.try_get(got)?)) };
        Ok(Self {
            id: OrgUnitId(r.try_get("id")?),
            name: r.try_get("name")?,
            planned_mu: r.try_get("planned_mu")?,
            sown_mu: r.try_get("sown_mu")?,
            seed: pair("seed_need", "seed_got")?,
            fertiliser: pair("fertiliser_need", "fertiliser_got")?,
            film: pair("film_need", "film_got")?,
            machines: r.try_get("machines")?,
        })
    }
}

/// Slowest first: the lowest share of the plan sown (compared exactly, not
/// by rounded percent), then by name.
fn slowest_first(rows: &mut [Sums]) {
    rows.sort_by(|a, b| {
        // a.sown / a.planned vs b.sown / b.planned, nothing planned as done.
        let ratio =
            |s: &Sums| if s.planned_mu > 0 { (i128::from(s.sown_mu), i128::from(s.planned_mu)) } else { (1, 1) };
        let ((an, ad), (bn, bd)) = (ratio(a), ratio(b));
        (an * bd).cmp(&(bn * ad)).then_with(|| a.name.cmp(&b.name))
    });
}

/// The sums of a year's rows within `scope`, grouped by `group` (the alias
/// `t` for townships or `v` for villages), with `extra` conditions.
const PROGRESS_SQL: &str = "SELECT {g}.id AS id, {g}.name AS name, \
    CAST(SUM(p.planned_mu) AS BIGINT) AS planned_mu, CAST(SUM(p.sown_mu) AS BIGINT) AS sown_mu, \
    CAST(SUM(p.seed_need_kg) AS BIGINT) AS seed_need, \
    CAST(SUM(CASE WHEN p.seed_got_kg < p.seed_need_kg THEN p.seed_got_kg ELSE p.seed_need_kg END) AS BIGINT) AS seed_got, \
    CAST(SUM(p.fertiliser_need_kg) AS BIGINT) AS fertiliser_need, \
    CAST(SUM(CASE WHEN p.fertiliser_got_kg < p.fertiliser_need_kg THEN p.fertiliser_got_kg ELSE p.fertiliser_need_kg END) AS BIGINT) AS fertiliser_got, \
    CAST(SUM(p.film_need_kg) AS BIGINT) AS film_need, \
    CAST(SUM(CASE WHEN p.film_got_kg < p.film_need_kg THEN p.film_got_kg ELSE p.film_need_kg END) AS BIGINT) AS film_got, \
    CAST(SUM(p.machines) AS BIGINT) AS machines \
    FROM ploughing p JOIN org_units v ON v.id = p.village_id JOIN org_units t ON t.id = v.parent_id \
    WHERE p.year = $1 AND p.scope >= $2 AND p.scope < $3 {extra} GROUP BY {g}.id, {g}.name";

impl Store {
    /// The rows of `year` within `scope`, by township, village and crop.
    pub async fn ploughing_within(&self, scope: &ScopePath, year: i64) -> Result<Vec<Ploughing>, StoreError> {
        let sql = format!(
            "{PLOUGHING_SELECT} JOIN org_units t ON t.id = v.parent_id \
             WHERE p.year = $1 AND p.scope >= $2 AND p.scope < $3 ORDER BY t.path, v.name, p.crop"
        );
        let rows =
            sqlx::query(&sql).bind(year).bind(scope.as_str()).bind(scope.upper_bound()).fetch_all(&self.pool).await?;
        rows.iter().map(ploughing_from).collect()
    }

    /// One village's row for a crop and year.
    pub async fn ploughing(&self, village: OrgUnitId, crop: Crop, year: i64) -> Result<Ploughing, StoreError> {
        let sql = format!("{PLOUGHING_SELECT} WHERE p.village_id = $1 AND p.crop = $2 AND p.year = $3");
        let row = sqlx::query(&sql).bind(village.0).bind(crop.as_str()).bind(year).fetch_optional(&self.pool).await?;
        ploughing_from(&row.ok_or(StoreError::NotFound)?)
    }

    /// Progress of `year` by township, over the rows within `scope`: the
    /// slowest (least of its plan sown) first. Townships with no row are
    /// left out.
    pub async fn ploughing_by_township(
        &self,
        scope: &ScopePath,
        year: i64,
    ) -> Result<Vec<TownshipPloughing>, StoreError> {
        let sums = self.progress("t", "", scope, year, None).await?;
        Ok(sums
            .into_iter()
            .map(|s| TownshipPloughing {
                township_id: s.id,
                township: s.name,
                planned_mu: s.planned_mu,
                sown_mu: s.sown_mu,
                sown_pct: sown_pct(s.planned_mu, s.sown_mu),
                seed_pct: supplied_pct(s.seed.0, s.seed.1),
                fertiliser_pct: supplied_pct(s.fertiliser.0, s.fertiliser.1),
                film_pct: supplied_pct(s.film.0, s.film.1),
                machines: s.machines,
            })
            .collect())
    }

    /// Progress of `year` by village of `township`, over the rows within
    /// `scope`: the slowest first.
    pub async fn ploughing_by_village(
        &self,
        scope: &ScopePath,
        township: OrgUnitId,
        year: i64,
    ) -> Result<Vec<VillagePloughing>, StoreError> {
        let sums = self.progress("v", "AND v.parent_id = $4", scope, year, Some(township)).await?;
        Ok(sums
            .into_iter()
            .map(|s| VillagePloughing {
                village_id: s.id,
                village: s.name,
                planned_mu: s.planned_mu,
                sown_mu: s.sown_mu,
                sown_pct: sown_pct(s.planned_mu, s.sown_mu),
                seed_pct: supplied_pct(s.seed.0, s.seed.1),
                fertiliser_pct: supplied_pct(s.fertiliser.0, s.fertiliser.1),
                film_pct: supplied_pct(s.film.0, s.film.1),
                machines: s.machines,
            })
            .collect())
    }

    async fn progress(
        &self,
        group: &str,
        extra: &str,
        scope: &ScopePath,
        year: i64,
        township: Option<OrgUnitId>,
    ) -> Result<Vec<Sums>, StoreError> {
        let sql = PROGRESS_SQL.replace("{g}", group).replace("{extra}", extra);
        let mut query = sqlx::query(&sql).bind(year).bind(scope.as_str()).bind(scope.upper_bound());
        if let Some(t) = township {
            query = query.bind(t.0);
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut sums = rows.iter().map(Sums::from_row).collect::<Result<Vec<_>, _>>()?;
        slowest_first(&mut sums);
        Ok(sums)
    }
}
