//! Alerts: conditions HQ must see at once — a post short of staff for too
//! long, a post whose phones fell silent, stock at its threshold, a fever
//! or red code, an order or roll call not answered by its deadline, a
//! resupply request left waiting, someone not checked in well into their
//! shift, a call that rang out.
//!
//! An alert is raised once per condition (a rule and its subject, e.g.
//! `understaffed` at `checkpoint:12`), stays while the condition holds —
//! acknowledged or not — and is resolved by itself when the condition
//! clears. The server's evaluator decides; the store keeps "once".

use crate::FieldError;
use crate::checkpoint::choice_enum;

choice_enum! {
    /// What raised an alert.
    AlertRule {
        /// A running post has fewer officers than required, for longer than
        /// the configured minutes.
        Understaffed = "understaffed",
        /// Every phone at a staffed post fell silent (no signal).
        NoSignal = "no_signal",
        /// An item at a post fell to its low-stock threshold.
        LowStock = "low_stock",
        /// A screening found a fever or a red health code (an open incident).
        Incident = "incident",
        /// An order was not acknowledged by its deadline.
        OrderOverdue = "order_overdue",
        /// An officer did not answer a roll call by its deadline.
        MissedRollCall = "missed_roll_call",
        /// A resupply request waited for a decision longer than configured.
        ResupplyWaiting = "resupply_waiting",
        /// Someone on a shift under way is not checked in at the post, longer
        /// than configured after the shift began.
        MissedCheckIn = "missed_check_in",
        /// A call rang out at someone's phone, and they have not been in a
        /// call since.
        MissedCall = "missed_call",
        /// An enterprise's problem ticket passed its deadline unresolved.
        TicketOverdue = "ticket_overdue",
    }
}

choice_enum! {
    /// How bad.
    Severity {
        /// Worth a look.
        Info = "info",
        /// Needs handling soon.
        Warning = "warning",
        /// Needs handling now.
        Critical = "critical",
    }
}

choice_enum! {
    /// Where an alert stands.
    AlertState {
        /// Raised, nobody has taken it yet.
        Open = "open",
        /// Someone at HQ has taken it; the condition still holds.
        Acknowledged = "acknowledged",
        /// The condition cleared.
        Resolved = "resolved",
    }
}

impl AlertRule {
    /// How bad an alert of this rule is.
    pub fn severity(self) -> Severity {
        match self {
            AlertRule::Incident | AlertRule::NoSignal => Severity::Critical,
            AlertRule::Understaffed
            | AlertRule::OrderOverdue
            | AlertRule::MissedRollCall
            | AlertRule::LowStock
            | AlertRule::MissedCheckIn
            | AlertRule::MissedCall
            | AlertRule::TicketOverdue => Severity::Warning,
            AlertRule::ResupplyWaiting => Severity::Info,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_stored_name_that_parses_back() {
        for rule in AlertRule::ALL {
            assert_eq!(AlertRule::parse("rule", rule.as_str()).unwrap(), *rule);
        }
        assert_eq!(AlertRule::parse("rule", "fire").unwrap_err().code, "invalid_choice");
    }

    #[test]
    fn silence_and_fever_are_critical_and_a_waiting_request_is_not() {
        assert_eq!(AlertRule::NoSignal.severity(), Severity::Critical);
        assert_eq!(AlertRule::Incident.severity(), Severity::Critical);
        assert_eq!(AlertRule::ResupplyWaiting.severity(), Severity::Info);
    }
}
