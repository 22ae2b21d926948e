//! Civil (proleptic Gregorian) dates as days since 1970-01-01, after Howard
//! Hinnant's `days_from_civil` / `civil_from_days`. Pure arithmetic: the
//! product keeps times as UTC microseconds and needs dates only to read and
//! write them (ID numbers, spreadsheets, date pickers, pages).

/// Days since 1970-01-01 of year `y`, month `m` (1–12), day `d`.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day since 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days in month `m` of year `y` (0 for a month that does not exist).
pub fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since the epoch of a date that exists; `None` for Feb 30 and the like.
pub fn checked_days(y: i64, m: i64, d: i64) -> Option<i64> {
    (1..=days_in_month(y, m)).contains(&d).then(|| days_from_civil(y, m, d))
}

/// Parses `YYYY-MM-DD` (years 2000–2100) into a day number, naming `field`
/// (`invalid_date` for anything else).
pub fn parse_day(field: &str, raw: &str) -> Result<i64, crate::FieldError> {
    let bad = || crate::FieldError::new(field, "invalid_date");
    let mut parts = raw.trim().splitn(3, '-').map(|p| p.parse::<i64>());
    let (Some(Ok(y)), Some(Ok(m)), Some(Ok(d))) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if !(2000..=2100).contains(&y) {
        return Err(bad());
    }
    checked_days(y, m, d).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(20_000), (2024, 10, 4));
        assert_eq!(checked_days(2023, 2, 29), None);
        assert_eq!(checked_days(2024, 2, 29), Some(days_from_civil(2024, 2, 29)));
    }

    proptest! {
        #[test]
        fn a_day_round_trips(days in -800_000i64..800_000) {
            let (y, m, d) = civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
            prop_assert_eq!(checked_days(y, m, d), Some(days));
        }
    }
}
