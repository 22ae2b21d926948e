//! Region codes of mainland China (行政区划代码): where a traveller comes from
//! and goes to.
//!
//! The National Bureau of Statistics' table (`data/regions/`, see its README)
//! is compiled into the binary, so a post without a network still checks and
//! names codes. It is parsed once, on first use, into a static table; a
//! [`RegionCode`] points into it, so holding one means the code is known and
//! naming it costs nothing.
//!
//! Codes are six digits: a county-level area (`411224` 卢氏县), a city
//! (`411200` 三门峡市) or a province (`410000` 河南省), since a traveller's
//! origin may be known only to the city. The placeholder groupings of the
//! table (`110100` 市辖区, `419000` 省直辖县级行政区划) are not places and are
//! refused. Pickers call [`RegionCode::search`].

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::OnceLock;

use serde::{Serialize, Serializer};

use crate::FieldError;

const PROVINCES_CSV: &str = include_str!("../../../data/regions/provinces.csv");
const CITIES_CSV: &str = include_str!("../../../data/regions/cities.csv");
const AREAS_CSV: &str = include_str!("../../../data/regions/areas.csv");

/// City names in the table that group counties rather than name a city.
const PLACEHOLDER_CITIES: &[&str] = &["市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"];

/// How far down the administrative tree a code points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegionLevel {
    /// A province, autonomous region or municipality (`410000`).
    Province,
    /// A prefecture-level city (`411200`).
    City,
    /// A county-level area: county, district, county-level city (`411224`).
    County,
}

/// One row of the static table.
struct Region {
    code: String,
    name: &'static str,
    full_name: String,
    level: RegionLevel,
}

/// Every known code, in code order.
struct Table {
    by_code: BTreeMap<u32, Region>,
}

/// The bundled table, parsed on first use.
fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(Table::load)
}

/// The data rows of a bundled CSV file: its columns, unquoted. The files have
/// no commas or quotes inside names (checked by a test).
fn rows(csv: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    csv.lines()
        .skip(1)
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split(',').map(|f| f.trim().trim_matches('"')).collect())
}

/// Column `i` of a bundled row.
fn column(row: &[&'static str], i: usize) -> &'static str {
    row.get(i).copied().expect("the bundled region tables have every column")
}

/// A code of the bundled tables, padded to six digits (`41` → `410000`).
fn padded(code: &str) -> u32 {
    let n: u32 = code.parse().expect("the bundled region codes are numbers");
    match code.len() {
        2 => n * 10_000,
        4 => n * 100,
        _ => n,
    }
}

impl Table {
    fn load() -> Self {
        let provinces: BTreeMap<&str, &'static str> =
            rows(PROVINCES_CSV).map(|r| (column(&r, 0), column(&r, 1))).collect();
        let cities: BTreeMap<&str, &'static str> = rows(CITIES_CSV).map(|r| (column(&r, 0), column(&r, 1))).collect();
        let province_of = |code: &str| *provinces.get(code).expect("every bundled region lies in a bundled province");
        let real_city = |code: &str| {
            let name = *cities.get(code).expect("every bundled area lies in a bundled city");
            (!PLACEHOLDER_CITIES.contains(&name)).then_some(name)
        };

        let mut by_code = BTreeMap::new();
        let mut add = |code: u32, name: &'static str, parts: &[&str], level| {
            let region = Region { code: format!("{code:06}"), name, full_name: parts.join(" "), level };
            by_code.insert(code, region);
        };
        for (code, name) in &provinces {
            add(padded(code), name, &[name], RegionLevel::Province);
        }
        for r in rows(CITIES_CSV) {
            let (code, name) = (column(&r, 0), column(&r, 1));
            if real_city(code).is_some() {
                add(padded(code), name, &[province_of(column(&r, 2)), name], RegionLevel::City);
            }
        }
        for r in rows(AREAS_CSV) {
            let (code, name) = (column(&r, 0), column(&r, 1));
            let province = province_of(column(&r, 3));
            // A city without counties (东莞市 441900) is listed as its own area.
            let parts = match real_city(column(&r, 2)) {
                Some(city) if city != name => vec![province, city, name],
                _ => vec![province, name],
            };
            add(padded(code), name, &parts, RegionLevel::County);
        }
        Self { by_code }
    }
}

/// A known six-digit region code. Compares, hashes and serialises as its code.
#[derive(Clone, Copy)]
pub struct RegionCode(&'static Region);

impl RegionCode {
    /// Parses a six-digit code of a county-level area, a city or a province
    /// found in the bundled table.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        let known = if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<u32>().ok().and_then(|n| table().by_code.get(&n))
        } else {
            None
        };
        known.map(Self).ok_or_else(|| FieldError::new(field, "unknown_region"))
    }

    /// The six-digit code.
    pub fn as_str(&self) -> &'static str {
        &self.0.code
    }

    /// The region's own name (`卢氏县`).
    pub fn name(&self) -> &'static str {
        self.0.name
    }

    /// Province, city and area, space-separated (`河南省 三门峡市 卢氏县`);
    /// groupings such as 市辖区 are left out (`北京市 东城区`).
    pub fn full_name(&self) -> &'static str {
        &self.0.full_name
    }

    /// Whether this is a province, a city or a county-level area.
    pub fn level(&self) -> RegionLevel {
        self.0.level
    }

    /// Every known region, in code order: what a post's phone keeps to look
    /// codes up with no network.
    pub fn all() -> impl Iterator<Item = RegionCode> {
        table().by_code.values().map(Self)
    }

    /// Regions for a picker, at most `limit`. A query of digits matches codes
    /// by prefix, in code order (`4112` → 三门峡市 and its counties). Otherwise
    /// every whitespace-separated term must occur in the full name (`河南 卢氏`);
    /// regions whose own name equals or starts with the first term come first,
    /// then higher levels, then code order. An empty query finds nothing.
    pub fn search(query: &str, limit: usize) -> Vec<RegionCode> {
        let terms: Vec<&str> = query.split_whitespace().collect();
        let Some(first) = terms.first() else {
            return Vec::new();
        };
        let regions = table().by_code.values();
        if terms.len() == 1 && first.bytes().all(|b| b.is_ascii_digit()) {
            return regions.filter(|r| r.code.starts_with(first)).take(limit).map(Self).collect();
        }
        let rank = |r: &Region| match r.name {
            n if n == *first => 0,
            n if n.starts_with(first) => 1,
            _ => 2,
        };
        let mut found: Vec<&'static Region> =
            regions.filter(|r| terms.iter().all(|t| r.full_name.contains(t))).collect();
        found.sort_by_key(|r| (rank(r), r.level));
        found.into_iter().take(limit).map(Self).collect()
    }
}

impl PartialEq for RegionCode {
    fn eq(&self, other: &Self) -> bool {
        self.0.code == other.0.code
    }
}

impl Eq for RegionCode {}

impl Hash for RegionCode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.code.hash(state);
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({} {})", self.0.code, self.0.name)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.code)
    }
}

impl Serialize for RegionCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(raw: &str) -> RegionCode {
        RegionCode::parse("origin", raw).unwrap()
    }

    #[test]
    fn bundled_tables_are_plain_csv() {
        for (csv, columns) in [(PROVINCES_CSV, 2), (CITIES_CSV, 3), (AREAS_CSV, 4)] {
            for line in csv.lines().skip(1) {
                assert_eq!(line.split(',').count(), columns, "{line}");
                assert_eq!(line.matches('"').count(), 2, "{line}");
            }
        }
        // Every row of every file became a region, minus the placeholders.
        assert!(table().by_code.len() > 3_000);
    }

    #[test]
    fn county_codes_are_named_with_their_province_and_city() {
        let lushi = code("411224");
        assert_eq!(lushi.name(), "卢氏县");
        assert_eq!(lushi.full_name(), "河南省 三门峡市 卢氏县");
        assert_eq!(lushi.level(), RegionLevel::County);
        assert_eq!(lushi.as_str(), "411224");
        assert_eq!(code(" 110101 ").full_name(), "北京市 东城区");
        assert_eq!(code("441900").full_name(), "广东省 东莞市");
        assert_eq!(code("419001").full_name(), "河南省 济源市");
    }

    #[test]
    fn provinces_and_cities_are_accepted() {
        assert_eq!(code("410000").full_name(), "河南省");
        assert_eq!(code("410000").level(), RegionLevel::Province);
        assert_eq!(code("411200").full_name(), "河南省 三门峡市");
        assert_eq!(code("411200").level(), RegionLevel::City);
    }

    #[test]
    fn unknown_and_malformed_codes_are_refused() {
        for raw in ["999999", "110100", "419000", "4112", "41122a", "4112240"] {
            assert_eq!(RegionCode::parse("origin", raw).unwrap_err().code, "unknown_region", "{raw}");
        }
        assert_eq!(RegionCode::parse("origin", " ").unwrap_err().code, "required");
    }

    #[test]
    fn search_by_code_prefix_lists_in_code_order() {
        let found = RegionCode::search("4112", 3);
        let codes: Vec<&str> = found.iter().map(|r| r.as_str()).collect();
        assert_eq!(codes, ["411200", "411202", "411203"]);
    }

    #[test]
    fn search_by_name_puts_own_name_matches_first() {
        assert_eq!(RegionCode::search("卢氏", 10), [code("411224")]);
        assert_eq!(RegionCode::search("河南 卢氏", 10), [code("411224")]);
        let henan = RegionCode::search("河南", 5);
        assert_eq!(henan[0], code("410000"));
        assert_eq!(henan.len(), 5);
        let chaoyang = RegionCode::search("朝阳", 50);
        assert!(chaoyang.len() > 2);
        assert!(chaoyang.iter().all(|r| r.full_name().contains("朝阳")));
        assert!(RegionCode::search("  ", 10).is_empty());
        assert!(RegionCode::search("卢氏", 0).is_empty());
    }

    #[test]
    fn all_lists_every_region_once_in_code_order() {
        let codes: Vec<&str> = RegionCode::all().map(|r| r.as_str()).collect();
        assert_eq!(codes.len(), table().by_code.len());
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
        assert!(codes.contains(&"411224"));
    }

    #[test]
    fn serialises_and_compares_as_its_code() {
        assert_eq!(serde_json::to_string(&code("411224")).unwrap(), "\"411224\"");
        assert_eq!(format!("{:?}", code("411224")), "RegionCode(411224 卢氏县)");
        assert_eq!(code("411224"), code(" 411224"));
        assert_ne!(code("411224"), code("411200"));
    }

    proptest! {
        #[test]
        fn every_search_result_reparses_to_itself(query in "[0-9]{1,4}|[\\u{4e00}-\\u{9fa5}]{1,2}") {
            for region in RegionCode::search(&query, 20) {
                prop_assert_eq!(RegionCode::parse("r", region.as_str()).unwrap(), region);
            }
        }
    }
}
