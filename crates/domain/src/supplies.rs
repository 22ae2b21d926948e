//! Equipment and living supplies at a post, and the resupply request that
//! runs from the post to HQ and back.

use serde::Serialize;

use crate::FieldError;
use crate::checkpoint::choice_enum;

/// The catalogue every deployment starts with: key, unit, default low-stock
/// threshold. Admins may add items; names are translated by key.
pub const DEFAULT_CATALOGUE: &[(&str, &str, i64)] = &[
    ("thermometer", "piece", 2),
    ("mask", "piece", 200),
    ("gloves", "pair", 100),
    ("protective_suit", "piece", 10),
    ("disinfectant", "litre", 20),
    ("tent", "piece", 1),
    ("heater", "piece", 1),
    ("generator", "piece", 1),
    ("light", "piece", 2),
    ("food", "portion", 30),
    ("drinking_water", "bottle", 48),
    ("bedding", "set", 4),
];

/// A quantity of an item: a whole number, not negative, at most a million.
pub fn quantity(field: &str, raw: i64) -> Result<i64, FieldError> {
    if !(0..=1_000_000).contains(&raw) {
        return Err(FieldError::new(field, "out_of_range").arg("min", 0).arg("max", 1_000_000));
    }
    Ok(raw)
}

/// A quantity parsed from text (forms, imports): a whole number, not
/// negative. "2.5" and "-1" are refused by name.
pub fn quantity_text(field: &str, raw: &str) -> Result<i64, FieldError> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(FieldError::new(field, "required"));
    }
    let n: i64 = t.parse().map_err(|_| FieldError::new(field, "whole_number"))?;
    quantity(field, n)
}

choice_enum! {
    /// Why stock moved.
    MovementKind {
        /// Delivered to the post.
        Receipt = "receipt",
        /// Used up at the post.
        Consumption = "consumption",
        /// Counted: the new level replaces the old.
        Count = "count",
    }
}

/// Applies a movement of `qty` to `on_hand`; consumption beyond what is on
/// hand is refused, naming the quantity.
pub fn apply_movement(on_hand: i64, kind: MovementKind, qty: i64) -> Result<i64, FieldError> {
    let qty = quantity("quantity", qty)?;
    match kind {
        MovementKind::Receipt => Ok(on_hand.saturating_add(qty).min(1_000_000)),
        MovementKind::Consumption if qty > on_hand => {
            Err(FieldError::new("quantity", "more_than_on_hand").arg("on_hand", on_hand))
        }
        MovementKind::Consumption => Ok(on_hand - qty),
        MovementKind::Count => Ok(qty),
    }
}

/// Whether a level is low: at or below its threshold.
pub fn is_low(on_hand: i64, threshold: i64) -> bool {
    on_hand <= threshold
}

choice_enum! {
    /// Where a resupply request stands.
    ResupplyState {
        /// Filed by the post.
        Requested = "requested",
        /// Approved by HQ, fully or in part.
        Approved = "approved",
        /// Refused by HQ, with a reason.
        Rejected = "rejected",
        /// On its way.
        Dispatched = "dispatched",
        /// Confirmed received by the post (stock goes up).
        Received = "received",
    }
}

impl ResupplyState {
    /// Whether nothing more will happen to the request (received or refused).
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Received | Self::Rejected)
    }
}

/// Which resupply requests a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResupplyFilter {
    /// Every request.
    #[default]
    All,
    /// Those still in progress: requested, approved or dispatched — what HQ
    /// and the post still have to act on.
    Open,
    /// Those in one state.
    Only(ResupplyState),
}

impl ResupplyFilter {
    /// `""` (all), `open`, or a state's name.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        match raw.trim() {
            "" => Ok(Self::All),
            "open" => Ok(Self::Open),
            other => ResupplyState::parse(field, other).map(Self::Only).map_err(|e| {
                let choices = ResupplyState::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
                FieldError { args: vec![], ..e }.arg("choices", format!("open, {choices}"))
            }),
        }
    }

    /// The wire name: `""`, `open`, or the state's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "",
            Self::Open => "open",
            Self::Only(s) => s.as_str(),
        }
    }

    /// Whether a request in `state` is listed.
    pub fn admits(self, state: ResupplyState) -> bool {
        match self {
            Self::All => true,
            Self::Open => !state.is_finished(),
            Self::Only(s) => s == state,
        }
    }
}

impl From<Option<ResupplyState>> for ResupplyFilter {
    fn from(state: Option<ResupplyState>) -> Self {
        state.map_or(Self::All, Self::Only)
    }
}

/// The next state of a resupply request, or why not: the only ways are
/// requested → approved | rejected, approved → dispatched, dispatched →
/// received.
pub fn resupply_step(from: ResupplyState, to: ResupplyState) -> Result<ResupplyState, FieldError> {
    use ResupplyState::*;
    match (from, to) {
        (Requested, Approved | Rejected) | (Approved, Dispatched) | (Dispatched, Received) => Ok(to),
        _ => Err(FieldError::new("state", "invalid_transition").arg("from", from.as_str()).arg("to", to.as_str())),
    }
}

/// Checks an approval: at least one, at most what was asked.
pub fn approved_quantity(requested: i64, approved: i64) -> Result<i64, FieldError> {
    if approved < 1 || approved > requested {
        return Err(FieldError::new("approved_quantity", "out_of_range").arg("min", 1).arg("max", requested));
    }
    Ok(approved)
}

/// One line of a living-conditions check (shelter, heating, meals …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LivingAspect {
    /// A dry, safe place to shelter.
    Shelter,
    /// Warmth through the night.
    Heating,
    /// Hot meals.
    Meals,
    /// Drinking water.
    Water,
    /// A place to rest between shifts.
    RestArea,
    /// A toilet within reach.
    Toilet,
}

impl LivingAspect {
    /// Every aspect, in checklist order.
    pub const ALL: [LivingAspect; 6] =
        [Self::Shelter, Self::Heating, Self::Meals, Self::Water, Self::RestArea, Self::Toilet];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shelter => "shelter",
            Self::Heating => "heating",
            Self::Meals => "meals",
            Self::Water => "water",
            Self::RestArea => "rest_area",
            Self::Toilet => "toilet",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_filter_keeps_what_someone_still_has_to_act_on() {
        use ResupplyState::*;
        let open = ResupplyFilter::parse("state", "open").unwrap();
        let kept: Vec<_> = ResupplyState::ALL.iter().filter(|s| open.admits(**s)).collect();
        assert_eq!(kept, [&Requested, &Approved, &Dispatched]);
        assert_eq!(ResupplyFilter::parse("state", " ").unwrap(), ResupplyFilter::All);
        assert_eq!(ResupplyFilter::parse("state", "approved").unwrap(), ResupplyFilter::Only(Approved));
        let e = ResupplyFilter::parse("state", "lost").unwrap_err();
        assert_eq!((e.field.as_str(), e.code), ("state", "invalid_choice"));
        assert!(e.args.iter().any(|(k, v)| *k == "choices" && v.starts_with("open, requested")), "{e:?}");
    }

    #[test]
    fn quantities_are_whole_and_not_negative() {
        assert_eq!(quantity_text("quantity", " 12 ").unwrap(), 12);
        assert_eq!(quantity_text("quantity", "2.5").unwrap_err().code, "whole_number");
        assert_eq!(quantity_text("quantity", "-1").unwrap_err().code, "out_of_range");
        assert_eq!(quantity_text("quantity", "").unwrap_err().code, "required");
    }

    #[test]
    fn consumption_cannot_exceed_stock_and_low_is_at_the_threshold() {
        assert_eq!(apply_movement(300, MovementKind::Consumption, 120).unwrap(), 180);
        assert_eq!(apply_movement(10, MovementKind::Consumption, 11).unwrap_err().code, "more_than_on_hand");
        assert_eq!(apply_movement(10, MovementKind::Receipt, 5).unwrap(), 15);
        assert_eq!(apply_movement(10, MovementKind::Count, 3).unwrap(), 3);
        assert!(is_low(200, 200) && !is_low(201, 200));
    }

    #[test]
    fn a_resupply_request_runs_one_way() {
        use ResupplyState::*;
        assert!(resupply_step(Requested, Approved).is_ok());
        assert!(resupply_step(Approved, Dispatched).is_ok());
        assert!(resupply_step(Dispatched, Received).is_ok());
        assert_eq!(resupply_step(Requested, Received).unwrap_err().code, "invalid_transition");
        assert_eq!(resupply_step(Rejected, Approved).unwrap_err().code, "invalid_transition");
        assert_eq!(approved_quantity(100, 60).unwrap(), 60);
        assert!(approved_quantity(100, 101).is_err() && approved_quantity(100, 0).is_err());
    }
}
