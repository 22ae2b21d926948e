//! Spring ploughing (春耕备耕): each village's plan and progress per crop and
//! year — the area planned and sown, in mu (亩, 1/15 ha), the inputs needed
//! and supplied (seed, fertiliser, plastic film, in kg), and the machines
//! available.
//!
//! A village's figures arrive loose ([`PloughDraft`], as JSON or a form sends
//! them) and become [`PloughFigures`] through [`PloughDraft::parse`], which
//! names every bad field at once. The one rule beyond ranges: sowing more
//! than planned by more than the deployment's margin (default
//! [`DEFAULT_SOWN_MARGIN_PCT`]) needs a note saying why — a typo of an extra
//! digit is the usual cause, a changed plan the honest one.
//!
//! The progress figures the dashboards show are [`sown_pct`] and
//! [`supplied_pct`], pure functions over the sums.

use serde::{Deserialize, Serialize};

use crate::FieldError;
use crate::checkpoint::{choice_enum, int_in};
use crate::text::BoundedText;

/// By how much, in percent of the planned area, the sown area may exceed it
/// without a note, unless the deployment says otherwise.
pub const DEFAULT_SOWN_MARGIN_PCT: u32 = 10;

choice_enum! {
    /// What is sown (the crops of a mountain county of western Henan).
    Crop {
        /// 小麦.
        Wheat = "wheat",
        /// 玉米.
        Corn = "corn",
        /// 马铃薯.
        Potato = "potato",
        /// 大豆.
        Soybean = "soybean",
        /// 花生.
        Peanut = "peanut",
        /// 蔬菜.
        Vegetables = "vegetables",
        /// 中药材 (连翘, 丹参 …).
        Herbs = "herbs",
        /// 烟叶.
        Tobacco = "tobacco",
        /// 其他.
        Other = "other",
    }
}

/// A village's figures for one crop, as submitted: numbers may be missing or
/// out of range; `parse` checks them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PloughDraft {
    /// Area planned, mu; required.
    pub planned_mu: Option<i64>,
    /// Area sown so far, mu; blank is 0.
    pub sown_mu: Option<i64>,
    /// Seed needed, kg; blank is 0.
    pub seed_need_kg: Option<i64>,
    /// Seed supplied, kg; blank is 0.
    pub seed_got_kg: Option<i64>,
    /// Fertiliser needed, kg; blank is 0.
    pub fertiliser_need_kg: Option<i64>,
    /// Fertiliser supplied, kg; blank is 0.
    pub fertiliser_got_kg: Option<i64>,
    /// Plastic film needed, kg; blank is 0.
    pub film_need_kg: Option<i64>,
    /// Plastic film supplied, kg; blank is 0.
    pub film_got_kg: Option<i64>,
    /// Machines available (tractors, seeders, film layers); blank is 0.
    pub machines: Option<i64>,
    /// Why the figures are what they are; needed when more is sown than
    /// planned (beyond the margin).
    pub note: String,
}

/// A village's checked figures for one crop. Built by [`PloughDraft::parse`]
/// (and read back from the store, which only ever stored parsed ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PloughFigures {
    /// Area planned, mu.
    pub planned_mu: i64,
    /// Area sown, mu.
    pub sown_mu: i64,
    /// Seed needed, kg.
    pub seed_need_kg: i64,
    /// Seed supplied, kg.
    pub seed_got_kg: i64,
    /// Fertiliser needed, kg.
    pub fertiliser_need_kg: i64,
    /// Fertiliser supplied, kg.
    pub fertiliser_got_kg: i64,
    /// Plastic film needed, kg.
    pub film_need_kg: i64,
    /// Plastic film supplied, kg.
    pub film_got_kg: i64,
    /// Machines available.
    pub machines: i64,
    /// The note, trimmed (may be empty).
    pub note: String,
}

impl PloughDraft {
    /// The largest area accepted, mu (a village rarely has 20 000).
    pub const MAX_MU: i64 = 1_000_000;
    /// The largest amount of an input accepted, kg.
    pub const MAX_KG: i64 = 100_000_000;
    /// The most machines accepted.
    pub const MAX_MACHINES: i64 = 10_000;
    /// The longest note, in characters.
    pub const MAX_NOTE: usize = 200;

    /// Checks every field, reporting all bad ones: the planned area is
    /// required, everything else defaults to 0; no number may be negative
    /// or absurd (`out_of_range`); and the sown area may exceed the planned
    /// one by at most `margin_pct` percent unless a note says why
    /// (`sown_mu`, `above_planned`, with `planned` and `margin`).
    pub fn parse(self, margin_pct: u32) -> Result<PloughFigures, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut number = |field: &str, raw: Option<i64>, default: Option<i64>, max: i64| {
            let checked = match raw.or(default) {
                None => Err(FieldError::new(field, "required")),
                Some(n) => int_in(field, n, 0, max),
            };
            checked.map_err(|e| errors.push(e)).ok()
        };
        let planned_mu = number("planned_mu", self.planned_mu, None, Self::MAX_MU);
        let sown_mu = number("sown_mu", self.sown_mu, Some(0), Self::MAX_MU);
        let seed_need_kg = number("seed_need_kg", self.seed_need_kg, Some(0), Self::MAX_KG);
        let seed_got_kg = number("seed_got_kg", self.seed_got_kg, Some(0), Self::MAX_KG);
        let fertiliser_need_kg = number("fertiliser_need_kg", self.fertiliser_need_kg, Some(0), Self::MAX_KG);
        let fertiliser_got_kg = number("fertiliser_got_kg", self.fertiliser_got_kg, Some(0), Self::MAX_KG);
        let film_need_kg = number("film_need_kg", self.film_need_kg, Some(0), Self::MAX_KG);
        let film_got_kg = number("film_got_kg", self.film_got_kg, Some(0), Self::MAX_KG);
        let machines = number("machines", self.machines, Some(0), Self::MAX_MACHINES);
        let note = if self.note.trim().is_empty() {
            Some(String::new())
        } else {
            BoundedText::<{ PloughDraft::MAX_NOTE }>::parse("note", &self.note)
                .map(BoundedText::into_string)
                .map_err(|e| errors.push(e))
                .ok()
        };
        if let (Some(planned), Some(sown), Some(note)) = (planned_mu, sown_mu, &note)
            && note.is_empty()
            && above_margin(planned, sown, margin_pct)
        {
            errors.push(FieldError::new("sown_mu", "above_planned").arg("planned", planned).arg("margin", margin_pct));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // Every field parsed (or an error was recorded above).
        let all = |v: Option<i64>| v.unwrap_or_default();
        Ok(PloughFigures {
            planned_mu: all(planned_mu),
            sown_mu: all(sown_mu),
            seed_need_kg: all(seed_need_kg),
            seed_got_kg: all(seed_got_kg),
            fertiliser_need_kg: all(fertiliser_need_kg),
            fertiliser_got_kg: all(fertiliser_got_kg),
            film_need_kg: all(film_need_kg),
            film_got_kg: all(film_got_kg),
            machines: all(machines),
            note: note.unwrap_or_default(),
        })
    }
}

/// Whether `sown` exceeds `planned` by more than `margin_pct` percent of it
/// (exactly at the margin is fine). Compared in whole numbers, so 110 of 100
/// at 10 % passes and 111 does not.
pub fn above_margin(planned: i64, sown: i64, margin_pct: u32) -> bool {
    i128::from(sown) * 100 > i128::from(planned) * (100 + i128::from(margin_pct))
}

/// `sown` of `planned` in whole percent, rounded; 100 when nothing is
/// planned (nothing to do is done). May exceed 100.
pub fn sown_pct(planned: i64, sown: i64) -> i64 {
    whole_pct(sown, planned)
}

/// `got` of `need` in whole percent, rounded; 100 when nothing is needed.
/// Callers summing several villages cap each village's supply at its need
/// first, so one's surplus does not hide another's shortage.
pub fn supplied_pct(need: i64, got: i64) -> i64 {
    whole_pct(got, need)
}

fn whole_pct(n: i64, of: i64) -> i64 {
    if of <= 0 {
        return 100;
    }
    let (n, of) = (i128::from(n.max(0)), i128::from(of));
    i64::try_from((n * 200 + of) / (of * 2)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn draft(planned: i64, sown: i64) -> PloughDraft {
        PloughDraft { planned_mu: Some(planned), sown_mu: Some(sown), ..Default::default() }
    }

    fn fields(errors: &[FieldError]) -> Vec<(&str, &str)> {
        errors.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    #[test]
    fn crops_round_trip_by_their_stored_names() {
        for c in Crop::ALL {
            assert_eq!(Crop::parse("crop", c.as_str()), Ok(*c));
        }
        let e = Crop::parse("crop", "rice").unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("crop", "invalid_choice"));
        assert_eq!(Crop::parse("crop", " corn "), Ok(Crop::Corn));
    }

    #[test]
    fn blank_figures_default_to_zero_but_the_plan_is_required() {
        let f = PloughDraft { planned_mu: Some(300), note: "  ".into(), ..Default::default() }.parse(10).unwrap();
        assert_eq!((f.planned_mu, f.sown_mu, f.seed_got_kg, f.machines, f.note.as_str()), (300, 0, 0, 0, ""));
        let e = PloughDraft::default().parse(10).unwrap_err();
        assert_eq!(fields(&e), [("planned_mu", "required")]);
    }

    #[test]
    fn sowing_beyond_the_margin_needs_a_note() {
        assert!(draft(100, 110).parse(10).is_ok(), "exactly at the margin");
        let e = draft(100, 111).parse(10).unwrap_err();
        assert_eq!(fields(&e), [("sown_mu", "above_planned")]);
        assert_eq!(e[0].args, [("planned", "100".to_owned()), ("margin", "10".to_owned())]);
        let noted = PloughDraft { note: "追加复种 20 亩".into(), ..draft(100, 120) }.parse(10).unwrap();
        assert_eq!((noted.sown_mu, noted.note.as_str()), (120, "追加复种 20 亩"));
        assert!(draft(100, 101).parse(0).is_err(), "no margin: any excess needs a note");
        assert!(draft(0, 1).parse(10).is_err(), "sown with nothing planned");
    }

    #[test]
    fn a_bad_draft_names_every_field() {
        let d = PloughDraft {
            planned_mu: Some(-1),
            sown_mu: Some(PloughDraft::MAX_MU + 1),
            seed_need_kg: Some(-5),
            seed_got_kg: Some(10),
            fertiliser_need_kg: Some(PloughDraft::MAX_KG + 1),
            fertiliser_got_kg: Some(-1),
            film_need_kg: Some(0),
            film_got_kg: Some(-2),
            machines: Some(-1),
            note: "注".repeat(201),
        };
        let errors = d.parse(10).unwrap_err();
        assert_eq!(
            fields(&errors),
            [
                ("planned_mu", "out_of_range"),
                ("sown_mu", "out_of_range"),
                ("seed_need_kg", "out_of_range"),
                ("fertiliser_need_kg", "out_of_range"),
                ("fertiliser_got_kg", "out_of_range"),
                ("film_got_kg", "out_of_range"),
                ("machines", "out_of_range"),
                ("note", "too_long"),
            ]
        );
        assert_eq!(errors[0].args, [("min", "0".to_owned()), ("max", PloughDraft::MAX_MU.to_string())]);
    }

    #[test]
    fn percentages_round_and_count_nothing_to_do_as_done() {
        assert_eq!(sown_pct(200, 50), 25);
        assert_eq!(sown_pct(3, 1), 33);
        assert_eq!(sown_pct(3, 2), 67);
        assert_eq!(sown_pct(0, 0), 100);
        assert_eq!(sown_pct(100, 110), 110);
        assert_eq!(supplied_pct(0, 0), 100);
        assert_eq!(supplied_pct(1000, 995), 100, "rounded");
        assert_eq!(supplied_pct(1000, 0), 0);
    }

    proptest! {
        #[test]
        fn within_the_margin_always_parses(planned in 0i64..100_000, extra_pct in 0u32..=10, margin in 10u32..=50) {
            let sown = planned * i64::from(100 + extra_pct) / 100;
            prop_assert!(draft(planned, sown).parse(margin).is_ok());
        }

        #[test]
        fn beyond_the_margin_parses_only_with_a_note(planned in 1i64..100_000, margin in 0u32..=50, over in 1i64..1000) {
            let sown = planned * i64::from(100 + margin) / 100 + over;
            let e = draft(planned, sown).parse(margin).unwrap_err();
            prop_assert_eq!(fields(&e), vec![("sown_mu", "above_planned")]);
            let noted = PloughDraft { note: "改种".into(), ..draft(planned, sown) };
            prop_assert!(noted.parse(margin).is_ok());
        }

        #[test]
        fn percentages_never_go_negative(need in -10i64..1_000_000, got in -10i64..2_000_000) {
            prop_assert!(supplied_pct(need, got) >= 0);
            prop_assert!(sown_pct(need, got) >= 0);
        }
    }
}
