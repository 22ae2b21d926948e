//! Audio/video calls: what kind of call, where each party stands, and how a
//! call ended. The media flows through the server's SFU (`shouwang_media`);
//! these are the records HQ keeps of who called whom, who joined and left
//! when, and whether anyone answered.

use crate::FieldError;
use crate::checkpoint::choice_enum;

choice_enum! {
    /// What a call is for.
    CallKind {
        /// HQ calls one or more posts; everyone may speak and show video.
        Call = "call",
        /// A commander speaks to many posts at once; posts ask for the floor.
        Broadcast = "broadcast",
        /// A commander looks at several posts' cameras side by side; each
        /// officer consents by accepting, and their microphone stays off.
        Inspection = "inspection",
    }
}

choice_enum! {
    /// Where one party of a call stands.
    PartyState {
        /// Their phone is ringing.
        Ringing = "ringing",
        /// In the call (the caller from the start).
        Joined = "joined",
        /// They declined.
        Declined = "declined",
        /// It rang until the call gave up or ended.
        Missed = "missed",
        /// They were in the call and left it.
        Left = "left",
    }
}

impl PartyState {
    /// Whether this party is done with the call (nothing more can change).
    pub fn is_final(self) -> bool {
        matches!(self, PartyState::Declined | PartyState::Missed | PartyState::Left)
    }
}

choice_enum! {
    /// How a call ended, as a whole.
    CallOutcome {
        /// Someone besides the caller joined.
        Answered = "answered",
        /// Everyone called declined.
        Declined = "declined",
        /// Nobody answered (and not everyone declined).
        Missed = "missed",
    }
}

impl CallOutcome {
    /// The outcome of a call whose invited parties (the caller excluded)
    /// ended in these states.
    pub fn of(invited: impl IntoIterator<Item = PartyState>, anyone_joined: bool) -> CallOutcome {
        if anyone_joined {
            return CallOutcome::Answered;
        }
        let mut any = false;
        for s in invited {
            any = true;
            if s != PartyState::Declined {
                return CallOutcome::Missed;
            }
        }
        if any { CallOutcome::Declined } else { CallOutcome::Missed }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_is_answered_when_anyone_joined_declined_only_when_all_declined() {
        use PartyState::*;
        assert_eq!(CallOutcome::of([Declined, Left], true), CallOutcome::Answered);
        assert_eq!(CallOutcome::of([Declined, Declined], false), CallOutcome::Declined);
        assert_eq!(CallOutcome::of([Declined, Missed], false), CallOutcome::Missed);
        assert_eq!(CallOutcome::of([], false), CallOutcome::Missed);
        assert!(Left.is_final() && Missed.is_final() && !Ringing.is_final() && !Joined.is_final());
    }
}
