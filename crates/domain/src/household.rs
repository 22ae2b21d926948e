//! Registered poor households (建档立卡贫困户): who lives there and can work,
//! where the household stands ([`PovertyStatus`]), how it earns
//! ([`IncomeSource`]), what it grows ([`ProduceKind`]) and how it sells
//! ([`SalesChannel`]).
//!
//! A household's members arrive loose ([`MemberDraft`]), as a form or a
//! spreadsheet row sends them; [`MemberDraft::parse`] names the bad field as
//! the client knows it (`members[2].age`). Names of members are personal
//! data, like every [`PersonName`].

use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::checkpoint::{choice_enum, int_in};
use crate::enterprise::TicketCategory;
use crate::screening::PersonName;

choice_enum! {
    /// Where a registered household stands.
    PovertyStatus {
        /// 未脱贫: still below the line.
        InPoverty = "in_poverty",
        /// 今年脱贫: lifted this year, the year it must not slip back.
        LiftedThisYear = "lifted_this_year",
        /// 已脱贫（监测）: lifted earlier and still monitored.
        LiftedMonitored = "lifted_monitored",
    }
}

choice_enum! {
    /// A member's relation to the head of the household.
    Relation {
        /// 户主.
        Head = "head",
        /// 配偶.
        Spouse = "spouse",
        /// 子女.
        Child = "child",
        /// 父母.
        Parent = "parent",
        /// 孙辈.
        Grandchild = "grandchild",
        /// 兄弟姐妹.
        Sibling = "sibling",
        /// 其他.
        Other = "other",
    }
}

choice_enum! {
    /// Whether a member can work.
    WorkAbility {
        /// 有劳动力.
        Full = "full",
        /// 弱劳动力或半劳动力.
        Partial = "partial",
        /// 无劳动力 (children, the old, the ill).
        None = "none",
    }
}

choice_enum! {
    /// A member's health.
    Health {
        /// 健康.
        Healthy = "healthy",
        /// 长期慢性病.
        Chronic = "chronic",
        /// 患有大病.
        Serious = "serious",
        /// 残疾.
        Disabled = "disabled",
    }
}

choice_enum! {
    /// Where a household's income comes from.
    IncomeSource {
        /// 务工收入.
        Wages = "wages",
        /// 种植.
        Farming = "farming",
        /// 养殖.
        Livestock = "livestock",
        /// 经营 (a shop, a stall).
        Business = "business",
        /// 政策性补贴 (subsidies, pensions).
        Subsidy = "subsidy",
        /// 其他.
        Other = "other",
    }
}

choice_enum! {
    /// What a household produces.
    ProduceKind {
        /// 香菇袋料: shiitake grown on log-bags, counted in bags.
        Shiitake = "shiitake",
        /// 蔬菜大棚: greenhouses.
        Greenhouse = "greenhouse",
        /// 果园: an orchard, in mu.
        Orchard = "orchard",
        /// 畜禽养殖: livestock, in head.
        Livestock = "livestock",
        /// 粮食作物: cropland, in mu.
        Cropland = "cropland",
        /// 中药材: herbs (连翘, 丹参 …), in mu.
        Herbs = "herbs",
        /// 其他.
        Other = "other",
    }
}

impl ProduceKind {
    /// What the scale is counted in: `bag`, `greenhouse`, `mu` or `head`.
    pub fn scale_unit(self) -> &'static str {
        match self {
            Self::Shiitake => "bag",
            Self::Greenhouse => "greenhouse",
            Self::Livestock => "head",
            Self::Orchard | Self::Cropland | Self::Herbs | Self::Other => "mu",
        }
    }

    /// What output, stock and sales are counted in: head for livestock,
    /// kilograms for the rest.
    pub fn output_unit(self) -> &'static str {
        match self {
            Self::Livestock => "head",
            _ => "kg",
        }
    }
}

choice_enum! {
    /// Whom a household sold to.
    SalesChannel {
        /// 收购商: a buyer who comes to the village.
        Buyer = "buyer",
        /// 合作社.
        Cooperative = "cooperative",
        /// 电商 (消费扶贫 platforms, live streams).
        Ecommerce = "ecommerce",
        /// 集市或批发市场.
        Market = "market",
    }
}

/// The difficulties a household may raise: each becomes a ticket of this
/// category, routed like an enterprise's problem.
pub const DIFFICULTIES: [TicketCategory; 6] = [
    TicketCategory::Sales,
    TicketCategory::FarmInputs,
    TicketCategory::Labour,
    TicketCategory::Logistics,
    TicketCategory::Finance,
    TicketCategory::Other,
];

/// Whether `category` is one a household may raise.
pub fn is_difficulty(category: TicketCategory) -> bool {
    DIFFICULTIES.contains(&category)
}

/// A household's number in the national registration system (户编号): 6–24
/// digits or capital letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RegistryNo(String);

impl RegistryNo {
    /// Trims, upper-cases and checks a number.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let s = raw.trim().to_ascii_uppercase();
        if s.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        if !(6..=24).contains(&s.len()) {
            return Err(FieldError::new(field, "length").arg("min", 6).arg("max", 24));
        }
        if !s.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) {
            return Err(FieldError::new(field, "registry_chars"));
        }
        Ok(Self(s))
    }

    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A member as submitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberDraft {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Relation to the head (see [`Relation`]).
    #[serde(default)]
    pub relation: String,
    /// Age in years, 0–120.
    pub age: Option<i64>,
    /// Ability to work (see [`WorkAbility`]).
    #[serde(default)]
    pub ability: String,
    /// Health (see [`Health`]).
    #[serde(default)]
    pub health: String,
}

/// The oldest age accepted: older is a typing error.
pub const MAX_AGE: i64 = 120;

/// A member of a household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Name (personal data).
    pub name: PersonName,
    /// Relation to the head.
    pub relation: Relation,
    /// Age in years.
    pub age: u8,
    /// Ability to work.
    pub ability: WorkAbility,
    /// Health.
    pub health: Health,
}

impl MemberDraft {
    /// Whether nothing was entered (a blank row of a form).
    pub fn is_blank(&self) -> bool {
        self.name.trim().is_empty()
            && self.relation.trim().is_empty()
            && self.age.is_none()
            && self.ability.trim().is_empty()
            && self.health.trim().is_empty()
    }

    /// Checks a member; fields are named under `prefix` (`members[2]`).
    pub fn parse(&self, prefix: &str) -> Result<Member, Vec<FieldError>> {
        let mut errors = Vec::new();
        let field = |f: &str| format!("{prefix}.{f}");
        let name = PersonName::parse(&field("name"), &self.name).map_err(|e| errors.push(e)).ok();
        let relation = Relation::parse(&field("relation"), &self.relation).map_err(|e| errors.push(e)).ok();
        let age = match self.age {
            None => Err(FieldError::new(field("age"), "required")),
            Some(a) => int_in(&field("age"), a, 0, MAX_AGE).map(|a| u8::try_from(a).unwrap_or(u8::MAX)),
        }
        .map_err(|e| errors.push(e))
        .ok();
        let ability = WorkAbility::parse(&field("ability"), &self.ability).map_err(|e| errors.push(e)).ok();
        let health = Health::parse(&field("health"), &self.health).map_err(|e| errors.push(e)).ok();
        match (name, relation, age, ability, health) {
            (Some(name), Some(relation), Some(age), Some(ability), Some(health)) if errors.is_empty() => {
                Ok(Member { name, relation, age, ability, health })
            }
            _ => Err(errors),
        }
    }
}

impl Member {
    /// The stored form (the name whole: the store keeps personal data).
    pub fn to_stored(&self) -> MemberDraft {
        MemberDraft {
            name: self.name.expose().to_owned(),
            relation: self.relation.as_str().to_owned(),
            age: Some(i64::from(self.age)),
            ability: self.ability.as_str().to_owned(),
            health: self.health.as_str().to_owned(),
        }
    }
}

/// Checks a household's members: blank rows are left out, at least one
/// remains, at most 20, and exactly one of them is the head. Returns the
/// members and the head's index.
pub fn parse_members(drafts: &[MemberDraft]) -> Result<(Vec<Member>, usize), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut members = Vec::new();
    for (i, d) in drafts.iter().enumerate().filter(|(_, d)| !d.is_blank()) {
        match d.parse(&format!("members[{i}]")) {
            Ok(m) => members.push(m),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if members.is_empty() {
        return Err(vec![FieldError::new("members", "required")]);
    }
    if members.len() > 20 {
        return Err(vec![FieldError::new("members", "too_many").arg("max", 20)]);
    }
    let heads: Vec<usize> =
        members.iter().enumerate().filter(|(_, m)| m.relation == Relation::Head).map(|(i, _)| i).collect();
    match heads.as_slice() {
        [one] => Ok((members, *one)),
        _ => Err(vec![FieldError::new("members", "one_head").arg("heads", heads.len())]),
    }
}

/// A price in yuan as typed (`3.5`, `12.80`, `１２`): to fen, at most two
/// decimals, 0 to 100 000 yuan.
pub fn price_fen(field: &str, raw: &str) -> Result<i64, FieldError> {
    let s: String = raw.trim().chars().map(crate::enterprise::half_width).collect();
    if s.is_empty() {
        return Err(FieldError::new(field, "required"));
    }
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    let digits = |t: &str| !t.is_empty() && t.chars().all(|c| c.is_ascii_digit());
    let dotted = s.contains('.');
    if !digits(whole) || (dotted && !digits(frac)) || frac.len() > 2 || whole.len() > 6 {
        return Err(FieldError::new(field, "invalid_price"));
    }
    let yuan: i64 = whole.parse().map_err(|_| FieldError::new(field, "invalid_price"))?;
    let cents: i64 = format!("{frac:0<2}").parse().map_err(|_| FieldError::new(field, "invalid_price"))?;
    int_in(field, yuan * 100 + cents, 0, 100_000 * 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, relation: &str, age: i64) -> MemberDraft {
        MemberDraft {
            name: name.into(),
            relation: relation.into(),
            age: Some(age),
            ability: "full".into(),
            health: "healthy".into(),
        }
    }

    #[test]
    fn an_age_outside_0_to_120_is_refused_naming_the_member() {
        let drafts = [member("张德山", "head", 58), MemberDraft::default(), member("张小华", "child", 121)];
        let errors = parse_members(&drafts).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "members[2].age");
        assert_eq!(errors[0].code, "out_of_range");
        let drafts = [member("张德山", "head", -1)];
        assert_eq!(parse_members(&drafts).unwrap_err()[0].field, "members[0].age");
    }

    #[test]
    fn a_household_has_exactly_one_head_and_blank_rows_are_left_out() {
        let (members, head) =
            parse_members(&[MemberDraft::default(), member("张德山", "head", 58), member("李秀英", "spouse", 55)])
                .unwrap();
        assert_eq!((members.len(), head), (2, 0));
        assert_eq!(members[head].name.expose(), "张德山");
        let two = parse_members(&[member("张德山", "head", 58), member("李秀英", "head", 55)]).unwrap_err();
        assert_eq!((two[0].field.as_str(), two[0].code), ("members", "one_head"));
        let none = parse_members(&[member("李秀英", "spouse", 55)]).unwrap_err();
        assert_eq!(none[0].code, "one_head");
        assert_eq!(parse_members(&[MemberDraft::default()]).unwrap_err()[0].code, "required");
    }

    #[test]
    fn every_bad_field_of_a_member_is_named() {
        let bad = MemberDraft { name: String::new(), relation: "cousin".into(), age: None, ..Default::default() };
        let fields: Vec<String> = bad.parse("members[0]").unwrap_err().into_iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            ["members[0].name", "members[0].relation", "members[0].age", "members[0].ability", "members[0].health"]
        );
    }

    #[test]
    fn prices_are_read_to_the_fen() {
        assert_eq!(price_fen("price", "3.5"), Ok(350));
        assert_eq!(price_fen("price", "12.80"), Ok(1280));
        assert_eq!(price_fen("price", "１２"), Ok(1200));
        assert_eq!(price_fen("price", "0"), Ok(0));
        for bad in ["", "abc", "1.234", "-2", "1.", ".5"] {
            assert!(price_fen("price", bad).is_err(), "{bad:?} must be refused");
        }
        assert_eq!(price_fen("price", "2000000").unwrap_err().code, "invalid_price");
        assert_eq!(price_fen("price", "100001").unwrap_err().code, "out_of_range");
    }

    #[test]
    fn registry_numbers_are_upper_cased_digits_and_capitals() {
        assert_eq!(RegistryNo::parse("registry_no", " 41122401a001 ").unwrap().as_str(), "41122401A001");
        assert_eq!(RegistryNo::parse("registry_no", "123").unwrap_err().code, "length");
        assert_eq!(RegistryNo::parse("registry_no", "4112-2401").unwrap_err().code, "registry_chars");
    }

    #[test]
    fn shiitake_is_counted_in_bags_and_sold_by_weight() {
        assert_eq!(ProduceKind::Shiitake.scale_unit(), "bag");
        assert_eq!(ProduceKind::Shiitake.output_unit(), "kg");
        assert_eq!(ProduceKind::Livestock.output_unit(), "head");
        assert!(is_difficulty(TicketCategory::Sales));
        assert!(!is_difficulty(TicketCategory::Permits));
    }
}
