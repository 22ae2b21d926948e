//! Dispatch orders (指令) and roll calls (点名): HQ tells posts and people
//! what to do, and sees who got it.
//!
//! Both are one thing underneath: an order with a deadline and a receipt per
//! recipient that runs delivered → read → acknowledged (签收) → reported
//! (when a completion report is asked for). A roll call is an order whose
//! acknowledgement is the officer's "present", sent with where the phone is;
//! its deadline defaults to five minutes. A receipt still unacknowledged at
//! the deadline is overdue, which HQ sees as an alert.

use crate::checkpoint::choice_enum;
use crate::{BoundedText, FieldError, UnixMicros};

choice_enum! {
    /// What an order is.
    OrderKind {
        /// An instruction to carry out (签收, then maybe a report).
        Order = "order",
        /// A roll call: every officer on duty answers "present" with their
        /// location.
        RollCall = "roll_call",
    }
}

choice_enum! {
    /// How urgent an order is.
    Priority {
        /// Routine.
        Normal = "normal",
        /// To be handled before routine work.
        Urgent = "urgent",
        /// Drop everything.
        Critical = "critical",
    }
}

choice_enum! {
    /// Where one recipient's receipt stands.
    ReceiptState {
        /// It reached them (on their phone's list).
        Delivered = "delivered",
        /// They opened it.
        Read = "read",
        /// They acknowledged it (签收); for a roll call, answered "present".
        Acknowledged = "acknowledged",
        /// They reported it done.
        Reported = "reported",
    }
}

impl ReceiptState {
    /// Whether the recipient has acknowledged (or gone further).
    pub fn is_acknowledged(self) -> bool {
        matches!(self, ReceiptState::Acknowledged | ReceiptState::Reported)
    }
}

choice_enum! {
    /// Whether an order still stands.
    OrderState {
        /// In force.
        Active = "active",
        /// Withdrawn by HQ; nothing more can be answered.
        Revoked = "revoked",
    }
}

/// Longest title, in characters.
pub const TITLE_MAX: usize = 100;
/// Longest text of an order or a report, in characters.
pub const TEXT_MAX: usize = 4000;
/// How long a roll call runs unless told otherwise.
pub const ROLL_CALL_MINUTES: i64 = 5;
/// How far ahead a deadline may lie.
pub const DEADLINE_MAX_DAYS: i64 = 30;
/// How many posts, people and units one order may name in all.
pub const TARGETS_MAX: usize = 200;

const MINUTE_US: i64 = 60_000_000;

/// The checked parts of an order as submitted (who receives it is resolved
/// by the server from the targets).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderText {
    /// Order or roll call.
    pub kind: OrderKind,
    /// Title (a roll call's defaults to "点名").
    pub title: BoundedText<TITLE_MAX>,
    /// What to do; may be empty for a roll call.
    pub body: String,
    /// How urgent.
    pub priority: Priority,
    /// By when it must be acknowledged.
    pub deadline_us: UnixMicros,
    /// Whether a completion report is required after acknowledging.
    pub needs_report: bool,
}

impl OrderText {
    /// Checks an order as submitted at `now`: every bad field is named.
    /// `deadline_us` `None` means the default (five minutes for a roll call;
    /// an order must say).
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        kind: OrderKind,
        title: Option<&str>,
        body: &str,
        priority: Priority,
        deadline_us: Option<UnixMicros>,
        needs_report: bool,
        now: UnixMicros,
    ) -> Result<OrderText, Vec<FieldError>> {
        let mut errors = Vec::new();
        let title = match (title.map(str::trim).filter(|t| !t.is_empty()), kind) {
            (Some(t), _) => BoundedText::parse("title", t),
            (None, OrderKind::RollCall) => BoundedText::parse("title", "点名"),
            (None, OrderKind::Order) => Err(FieldError::new("title", "required")),
        }
        .map_err(|e| errors.push(e))
        .ok();
        let body = body.trim();
        if body.chars().count() > TEXT_MAX {
            errors.push(FieldError::new("body", "too_long").arg("max", TEXT_MAX));
        } else if body.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            errors.push(FieldError::new("body", "control_chars"));
        } else if body.is_empty() && kind == OrderKind::Order {
            errors.push(FieldError::new("body", "required"));
        }
        let deadline_us = match (deadline_us, kind) {
            (Some(d), _) => d,
            (None, OrderKind::RollCall) => now + ROLL_CALL_MINUTES * MINUTE_US,
            (None, OrderKind::Order) => {
                errors.push(FieldError::new("deadline_us", "required"));
                now
            }
        };
        if deadline_us <= now && errors.iter().all(|e| e.field != "deadline_us") {
            errors.push(FieldError::new("deadline_us", "in_the_past"));
        } else if deadline_us > now + DEADLINE_MAX_DAYS * 24 * 60 * MINUTE_US {
            errors.push(FieldError::new("deadline_us", "too_far").arg("max_days", DEADLINE_MAX_DAYS));
        }
        if needs_report && kind == OrderKind::RollCall {
            errors.push(FieldError::new("needs_report", "not_for_roll_call"));
        }
        match (title, errors.is_empty()) {
            (Some(title), true) => {
                Ok(OrderText { kind, title, body: body.to_owned(), priority, deadline_us, needs_report })
            }
            _ => Err(errors),
        }
    }
}

/// Checks a completion report's text.
pub fn parse_report(raw: &str) -> Result<String, FieldError> {
    BoundedText::<TEXT_MAX>::parse("report", raw).map(BoundedText::into_string)
}

/// Checks a location sent with an answer (WGS-84 degrees).
pub fn parse_location(lat: Option<f64>, lon: Option<f64>) -> Result<Option<(f64, f64)>, FieldError> {
    match (lat, lon) {
        (None, None) => Ok(None),
        (Some(lat), Some(lon)) => {
            if !(-90.0..=90.0).contains(&lat) || !lat.is_finite() {
                return Err(FieldError::new("lat", "out_of_range"));
            }
            if !(-180.0..=180.0).contains(&lon) || !lon.is_finite() {
                return Err(FieldError::new("lon", "out_of_range"));
            }
            Ok(Some((lat, lon)))
        }
        (None, Some(_)) => Err(FieldError::new("lat", "required")),
        (Some(_), None) => Err(FieldError::new("lon", "required")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000_000;

    fn fields(e: Vec<FieldError>) -> Vec<(String, &'static str)> {
        e.into_iter().map(|e| (e.field, e.code)).collect()
    }

    #[test]
    fn a_roll_call_needs_nothing_but_gets_a_title_and_five_minutes() {
        let t = OrderText::parse(OrderKind::RollCall, None, "", Priority::Urgent, None, false, NOW).unwrap();
        assert_eq!(t.title.as_str(), "点名");
        assert_eq!(t.deadline_us, NOW + 5 * MINUTE_US);
    }

    #[test]
    fn an_order_names_every_missing_or_bad_field() {
        let e = OrderText::parse(OrderKind::Order, Some(" "), "", Priority::Normal, None, false, NOW).unwrap_err();
        assert_eq!(
            fields(e),
            vec![("title".into(), "required"), ("body".into(), "required"), ("deadline_us".into(), "required")]
        );
    }

    #[test]
    fn a_deadline_must_lie_ahead_but_not_too_far() {
        let past = OrderText::parse(OrderKind::Order, Some("t"), "b", Priority::Normal, Some(NOW - 1), false, NOW);
        assert_eq!(fields(past.unwrap_err()), vec![("deadline_us".into(), "in_the_past")]);
        let far = NOW + 31 * 24 * 60 * MINUTE_US;
        let far = OrderText::parse(OrderKind::Order, Some("t"), "b", Priority::Normal, Some(far), false, NOW);
        assert_eq!(fields(far.unwrap_err()), vec![("deadline_us".into(), "too_far")]);
    }

    #[test]
    fn a_roll_call_asks_for_no_report() {
        let e = OrderText::parse(OrderKind::RollCall, None, "", Priority::Normal, None, true, NOW).unwrap_err();
        assert_eq!(fields(e), vec![("needs_report".into(), "not_for_roll_call")]);
    }

    #[test]
    fn locations_come_in_pairs_within_range() {
        assert_eq!(parse_location(None, None).unwrap(), None);
        assert_eq!(parse_location(Some(33.7), Some(111.0)).unwrap(), Some((33.7, 111.0)));
        assert_eq!(parse_location(Some(91.0), Some(0.0)).unwrap_err().field, "lat");
        assert_eq!(parse_location(Some(1.0), None).unwrap_err().field, "lon");
    }
}
