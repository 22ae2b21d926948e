//! Duty at a post: shift patterns, roster rules, check-in, staffing.
//!
//! All pure: times are [`UnixMicros`] passed in, never read from a clock.

use serde::{Deserialize, Serialize};

use crate::{FieldError, UnixMicros};

const MINUTE_US: i64 = 60_000_000;
const HOUR_US: i64 = 60 * MINUTE_US;

/// How a post's day is cut into shifts: each shift's start (minutes after
/// local midnight) and length (minutes). `3x8` is 00:00, 08:00, 16:00 for 8
/// hours; `2x12` is 08:00 and 20:00 for 12 hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShiftPattern {
    shifts: Vec<(u32, u32)>,
}

impl ShiftPattern {
    /// Parses a preset (`3x8`, `2x12`) or a list like `08:00+12,20:00+12`
    /// (start and hours). The shifts must not overlap and must fit in a day's
    /// cycle: their lengths add up to 24 hours at most.
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        let shifts = match raw {
            "3x8" => vec![(0, 480), (480, 480), (960, 480)],
            "2x12" => vec![(480, 720), (1200, 720)],
            _ => {
                let mut out = Vec::new();
                for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let bad = || FieldError::new(field, "shift_pattern_syntax");
                    let (start, hours) = part.split_once('+').ok_or_else(bad)?;
                    let (h, m) = start.trim().split_once(':').ok_or_else(bad)?;
                    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
                    let hours: u32 = hours.trim().parse().map_err(|_| bad())?;
                    if h > 23 || m > 59 || hours == 0 || hours > 24 {
                        return Err(bad());
                    }
                    out.push((h * 60 + m, hours * 60));
                }
                out
            }
        };
        if shifts.is_empty() {
            return Err(FieldError::new(field, "required"));
        }
        if shifts.iter().map(|s| s.1).sum::<u32>() > 24 * 60 {
            return Err(FieldError::new(field, "shift_pattern_overlap"));
        }
        let mut sorted = shifts.clone();
        sorted.sort();
        for pair in sorted.windows(2) {
            if pair[0].0 + pair[0].1 > pair[1].0 {
                return Err(FieldError::new(field, "shift_pattern_overlap"));
            }
        }
        // The last shift may run past midnight, but not into the first.
        let (last, first) = (sorted[sorted.len() - 1], sorted[0]);
        if last.0 + last.1 > 24 * 60 + first.0 {
            return Err(FieldError::new(field, "shift_pattern_overlap"));
        }
        Ok(Self { shifts: sorted })
    }

    /// The stored form: `HH:MM+H,…`.
    pub fn to_stored(&self) -> String {
        self.shifts.iter().map(|(s, l)| format!("{:02}:{:02}+{}", s / 60, s % 60, l / 60)).collect::<Vec<_>>().join(",")
    }

    /// The shifts of the local day starting at `day_start_us`, as
    /// `(starts_us, ends_us)`.
    pub fn shifts_of_day(&self, day_start_us: UnixMicros) -> Vec<(UnixMicros, UnixMicros)> {
        self.shifts
            .iter()
            .map(|(s, l)| {
                let start = day_start_us + i64::from(*s) * MINUTE_US;
                (start, start + i64::from(*l) * MINUTE_US)
            })
            .collect()
    }
}

/// A span of time, start inclusive, end exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// Start.
    pub starts_us: UnixMicros,
    /// End.
    pub ends_us: UnixMicros,
}

impl Span {
    /// A shift's span: it must end after it starts and last at most
    /// `max_hours`.
    pub fn shift(starts_us: UnixMicros, ends_us: UnixMicros, max_hours: i64) -> Result<Self, FieldError> {
        if ends_us <= starts_us {
            return Err(FieldError::new("ends_us", "ends_before_start"));
        }
        if ends_us - starts_us > max_hours * HOUR_US {
            return Err(FieldError::new("ends_us", "shift_too_long").arg("max", max_hours));
        }
        Ok(Self { starts_us, ends_us })
    }

    /// Whether two spans share any moment.
    pub fn overlaps(self, other: Span) -> bool {
        self.starts_us < other.ends_us && other.starts_us < self.ends_us
    }

    /// Whether `t` falls within the span.
    pub fn contains(self, t: UnixMicros) -> bool {
        self.starts_us <= t && t < self.ends_us
    }
}

/// Refuses putting a person on `shift` when they already work a shift that
/// overlaps it (at this post or another).
pub fn check_no_double_booking(person_shifts: &[Span], shift: Span) -> Result<(), FieldError> {
    if person_shifts.iter().any(|s| s.overlaps(shift)) {
        return Err(FieldError::new("user_id", "shift_overlaps"));
    }
    Ok(())
}

/// What a check-in found.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CheckInFinding {
    /// Metres from the post.
    pub distance_m: f64,
    /// Outside the geofence: allowed, but flagged for HQ.
    pub outside_fence: bool,
    /// Minutes after the shift's start (0 when on time or early).
    pub late_minutes: i64,
}

/// How early before a shift one may check in for it: 60 minutes.
pub const CHECK_IN_EARLY_US: i64 = 60 * MINUTE_US;
/// How late after a shift's start a check-in is still on time: 10 minutes.
pub const CHECK_IN_GRACE_US: i64 = 10 * MINUTE_US;

/// Judges a check-in at `now` from `distance_m` away, for `shift`. Refuses
/// one too early or after the shift has ended.
pub fn judge_check_in(
    shift: Span,
    now: UnixMicros,
    distance_m: f64,
    fence_m: i64,
) -> Result<CheckInFinding, FieldError> {
    if now < shift.starts_us - CHECK_IN_EARLY_US {
        return Err(FieldError::new("shift_id", "check_in_too_early"));
    }
    if now >= shift.ends_us {
        return Err(FieldError::new("shift_id", "shift_over"));
    }
    let late = now - shift.starts_us - CHECK_IN_GRACE_US;
    Ok(CheckInFinding {
        distance_m,
        outside_fence: distance_m > fence_m as f64,
        late_minutes: if late > 0 { (late + CHECK_IN_GRACE_US) / MINUTE_US } else { 0 },
    })
}

/// How a post is staffed right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Staffing {
    /// At least as many present as required.
    Staffed,
    /// Some present, fewer than required.
    Understaffed,
    /// Nobody present.
    Unstaffed,
    /// People are checked in, but none of their phones has been heard from
    /// for too long.
    NoSignal,
    /// The post is suspended or closed: no staffing expected.
    Suspended,
}

impl Staffing {
    /// Every staffing state, in the order the board lists them.
    pub const ALL: &'static [Staffing] =
        &[Self::Staffed, Self::Understaffed, Self::Unstaffed, Self::NoSignal, Self::Suspended];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staffed => "staffed",
            Self::Understaffed => "understaffed",
            Self::Unstaffed => "unstaffed",
            Self::NoSignal => "no_signal",
            Self::Suspended => "suspended",
        }
    }
}

/// Derives a post's staffing: `running` is false for a suspended or closed
/// post; `present` counts people checked in; `heard` counts those whose phone
/// has sent a heartbeat recently.
pub fn staffing(running: bool, required: i64, present: i64, heard: i64) -> Staffing {
    if !running {
        Staffing::Suspended
    } else if present == 0 {
        Staffing::Unstaffed
    } else if heard == 0 {
        Staffing::NoSignal
    } else if present >= required {
        Staffing::Staffed
    } else {
        Staffing::Understaffed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_custom_patterns() {
        assert_eq!(ShiftPattern::parse("p", "3x8").unwrap().to_stored(), "00:00+8,08:00+8,16:00+8");
        assert_eq!(ShiftPattern::parse("p", "2x12").unwrap().to_stored(), "08:00+12,20:00+12");
        assert_eq!(ShiftPattern::parse("p", "20:00+12, 08:00+12").unwrap().to_stored(), "08:00+12,20:00+12");
        assert_eq!(ShiftPattern::parse("p", "08:00+12,12:00+8").unwrap_err().code, "shift_pattern_overlap");
        assert_eq!(ShiftPattern::parse("p", "06:00+8,20:00+12").unwrap_err().code, "shift_pattern_overlap");
        assert_eq!(ShiftPattern::parse("p", "8 till late").unwrap_err().code, "shift_pattern_syntax");
        assert_eq!(ShiftPattern::parse("p", "").unwrap_err().code, "required");
    }

    #[test]
    fn a_night_shift_runs_into_the_next_day() {
        let day = 1_000 * 86_400_000_000;
        let shifts = ShiftPattern::parse("p", "2x12").unwrap().shifts_of_day(day);
        assert_eq!(shifts[1], (day + 20 * HOUR_US, day + 32 * HOUR_US));
    }

    #[test]
    fn double_booking_and_long_shifts_are_refused() {
        let h = HOUR_US;
        let day = Span::shift(8 * h, 16 * h, 12).unwrap();
        let night = Span::shift(16 * h, 24 * h, 12).unwrap();
        assert!(check_no_double_booking(&[day], night).is_ok(), "back to back is fine");
        let overlap = Span::shift(12 * h, 20 * h, 12).unwrap();
        assert_eq!(check_no_double_booking(&[day, night], overlap).unwrap_err().code, "shift_overlaps");
        assert_eq!(Span::shift(0, 13 * h, 12).unwrap_err().code, "shift_too_long");
        assert_eq!(Span::shift(5, 5, 12).unwrap_err().code, "ends_before_start");
    }

    #[test]
    fn check_in_is_judged_for_place_and_time() {
        let shift = Span::shift(8 * HOUR_US, 16 * HOUR_US, 12).unwrap();
        let on_time = judge_check_in(shift, 8 * HOUR_US + 5 * MINUTE_US, 120.0, 300).unwrap();
        assert_eq!((on_time.outside_fence, on_time.late_minutes), (false, 0));
        let late = judge_check_in(shift, 8 * HOUR_US + 25 * MINUTE_US, 450.0, 300).unwrap();
        assert_eq!((late.outside_fence, late.late_minutes), (true, 25));
        assert_eq!(judge_check_in(shift, 6 * HOUR_US, 0.0, 300).unwrap_err().code, "check_in_too_early");
        assert_eq!(judge_check_in(shift, 16 * HOUR_US, 0.0, 300).unwrap_err().code, "shift_over");
    }

    #[test]
    fn staffing_follows_presence_and_signal() {
        assert_eq!(staffing(false, 3, 3, 3), Staffing::Suspended);
        assert_eq!(staffing(true, 3, 0, 0), Staffing::Unstaffed);
        assert_eq!(staffing(true, 3, 2, 0), Staffing::NoSignal);
        assert_eq!(staffing(true, 3, 2, 1), Staffing::Understaffed);
        assert_eq!(staffing(true, 3, 3, 1), Staffing::Staffed);
    }
}
