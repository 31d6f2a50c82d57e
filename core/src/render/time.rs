//! Unix seconds as UTC calendar text (`2026-11-27 22:58:00 UTC`), without
//! any dependency: the proleptic Gregorian civil-from-days conversion, done
//! in unsigned arithmetic because event times are never before 1970, and
//! its inverse ([`UtcTime::to_unix`]) for dates servers send
//! (`Retry-After: Sun, 06 Nov 1994 08:49:37 GMT`, see [`crate::retry_after`]).
//! The crate's one civil-calendar conversion: use it, do not write another.

use crate::json::{JsonWriter, Overflow};

/// A UTC calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    /// Year (four digits until the year 9999, more after).
    pub year: u64,
    /// Month, 1–12.
    pub month: u8,
    /// Day of month, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–59.
    pub second: u8,
}

/// Days in a 400-year Gregorian era.
const DAYS_PER_ERA: u64 = 146_097;
/// Days from 0000-03-01 to 1970-01-01; counting from March puts the leap
/// day at the end of the (shifted) year.
const EPOCH_SHIFT: u64 = 719_468;

impl UtcTime {
    /// Converts unix seconds.
    pub fn from_unix(secs: u64) -> Self {
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let z = days + EPOCH_SHIFT;
        let era = z / DAYS_PER_ERA;
        let doe = z % DAYS_PER_ERA; // day of era, 0..=146096
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of March-based year
        let mp = (5 * doy + 2) / 153; // March = 0
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + u64::from(month <= 2);
        UtcTime {
            year,
            month: month as u8,
            day: day as u8,
            hour: (rem / 3600) as u8,
            minute: (rem / 60 % 60) as u8,
            second: (rem % 60) as u8,
        }
    }

    /// Converts back to unix seconds: the days-from-civil inverse of
    /// [`UtcTime::from_unix`]. `None` for a field out of range (month 13,
    /// February 30, hour 24, minute or second over 59), a date before 1970,
    /// or one too far ahead for a `u64`; never panics.
    pub fn to_unix(&self) -> Option<u64> {
        let month = u64::from(self.month);
        let leap = self.year.is_multiple_of(4)
            && (!self.year.is_multiple_of(100) || self.year.is_multiple_of(400));
        let month_len = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if self.day == 0 || self.day > month_len || self.hour > 23 || self.minute > 59 {
            return None;
        }
        if self.second > 59 || self.year < 1970 {
            return None;
        }
        // March-based year, as in `from_unix`.
        let year = self.year - u64::from(month <= 2);
        let era = year / 400;
        let yoe = year % 400;
        let mp = if month > 2 { month - 3 } else { month + 9 };
        let doy = (153 * mp + 2) / 5 + u64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era
            .checked_mul(DAYS_PER_ERA)?
            .checked_add(doe)?
            .checked_sub(EPOCH_SHIFT)?;
        let clock = u64::from(self.hour) * 3600 + u64::from(self.minute) * 60;
        days.checked_mul(86_400)?
            .checked_add(clock + u64::from(self.second))
    }

    /// Writes `YYYY-MM-DD HH:MM:SS UTC`.
    pub fn write(&self, w: &mut JsonWriter<'_>) -> Result<(), Overflow> {
        for pad in [1000, 100, 10] {
            if self.year < pad {
                w.raw("0")?;
            }
        }
        w.uint(self.year)?;
        w.raw("-")?;
        two_digits(w, self.month)?;
        w.raw("-")?;
        two_digits(w, self.day)?;
        w.raw(" ")?;
        two_digits(w, self.hour)?;
        w.raw(":")?;
        two_digits(w, self.minute)?;
        w.raw(":")?;
        two_digits(w, self.second)?;
        w.raw(" UTC")
    }
}

/// Writes an end time as people read it in chat: `HH:MM UTC` when it is
/// less than a day after `now`, else `YYYY-MM-DD HH:MM UTC`.
pub fn write_until(end: u64, now: u64, w: &mut JsonWriter<'_>) -> Result<(), Overflow> {
    let t = UtcTime::from_unix(end);
    if end.saturating_sub(now) >= 86_400 {
        for pad in [1000, 100, 10] {
            if t.year < pad {
                w.raw("0")?;
            }
        }
        w.uint(t.year)?;
        w.raw("-")?;
        two_digits(w, t.month)?;
        w.raw("-")?;
        two_digits(w, t.day)?;
        w.raw(" ")?;
    }
    two_digits(w, t.hour)?;
    w.raw(":")?;
    two_digits(w, t.minute)?;
    w.raw(" UTC")
}

fn two_digits(w: &mut JsonWriter<'_>, n: u8) -> Result<(), Overflow> {
    if n < 10 {
        w.raw("0")?;
    }
    w.uint(u64::from(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(secs: u64) -> String {
        let mut buf = [0u8; 64];
        let mut w = JsonWriter::new(&mut buf);
        UtcTime::from_unix(secs).write(&mut w).unwrap();
        String::from_utf8(w.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn known_instants() {
        assert_eq!(text(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(text(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(text(1_709_251_199), "2024-02-29 23:59:59 UTC");
        assert_eq!(text(1_764_284_280), "2025-11-27 22:58:00 UTC");
        assert_eq!(text(4_102_444_800), "2100-01-01 00:00:00 UTC");
        assert_eq!(text(253_402_300_799), "9999-12-31 23:59:59 UTC");
        assert_eq!(text(253_402_300_800), "10000-01-01 00:00:00 UTC");
        assert!(text(u64::MAX).ends_with(" UTC"));
    }

    #[test]
    fn to_unix_inverts_from_unix() {
        for secs in [
            0,
            59,
            86_399,
            951_782_400,
            1_709_251_199,
            1_764_284_280,
            253_402_300_800,
            u64::MAX / 2,
        ] {
            assert_eq!(UtcTime::from_unix(secs).to_unix(), Some(secs), "{secs}");
        }
        // Near u64::MAX the year wraps nothing: converting back overflows
        // cleanly into `None` or round-trips.
        let top = UtcTime::from_unix(u64::MAX);
        assert!(matches!(top.to_unix(), None | Some(u64::MAX)));
    }

    #[test]
    fn to_unix_refuses_impossible_dates() {
        let ok = UtcTime::from_unix(1_709_251_199); // 2024-02-29 23:59:59
        assert_eq!(ok.to_unix(), Some(1_709_251_199));
        let bad = |f: fn(&mut UtcTime)| {
            let mut t = ok;
            f(&mut t);
            t.to_unix()
        };
        assert_eq!(bad(|t| t.year = 2023), None, "no Feb 29 in 2023");
        assert_eq!(bad(|t| t.year = 1900), None, "nor in 1900, and before 1970");
        assert_eq!(bad(|t| t.month = 13), None);
        assert_eq!(bad(|t| t.month = 0), None);
        assert_eq!(bad(|t| t.day = 0), None);
        assert_eq!(bad(|t| t.hour = 24), None);
        assert_eq!(bad(|t| t.minute = 60), None);
        assert_eq!(bad(|t| t.second = 60), None);
        assert_eq!(bad(|t| t.year = u64::MAX), None);
    }

    /// Walks day by day across four centuries against a naive calendar.
    #[test]
    fn agrees_with_a_naive_day_count() {
        let (mut y, mut m, mut d) = (1970u64, 1u8, 1u8);
        for day in 0..(400 * 366) {
            let t = UtcTime::from_unix(day * 86_400 + 3_661);
            assert_eq!((t.year, t.month, t.day), (y, m, d), "day {day}");
            assert_eq!((t.hour, t.minute, t.second), (1, 1, 1));
            assert_eq!(t.to_unix(), Some(day * 86_400 + 3_661), "day {day} back");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }
}
