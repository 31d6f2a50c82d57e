//! Unix seconds as UTC calendar text (`2026-11-27 22:58:00 UTC`), without
//! any dependency: the proleptic Gregorian civil-from-days conversion, done
//! in unsigned arithmetic because event times are never before 1970.

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

    /// Walks day by day across four centuries against a naive calendar.
    #[test]
    fn agrees_with_a_naive_day_count() {
        let (mut y, mut m, mut d) = (1970u64, 1u8, 1u8);
        for day in 0..(400 * 366) {
            let t = UtcTime::from_unix(day * 86_400 + 3_661);
            assert_eq!((t.year, t.month, t.day), (y, m, d), "day {day}");
            assert_eq!((t.hour, t.minute, t.second), (1, 1, 1));
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
