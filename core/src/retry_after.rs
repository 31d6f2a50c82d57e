//! How long a rate-limiting server asks us to wait: `Retry-After` and
//! `X-RateLimit-Reset` values read defensively into whole seconds.
//!
//! Both headers come from whatever answered — Mattermost, a proxy, a load
//! balancer — so every byte sequence is expected: huge numbers, zero,
//! negative or fractional numbers, dates, garbage. The rules:
//!
//! - `Retry-After` (RFC 9110 §10.2.3) is delay-seconds (`1*DIGIT`) or an
//!   IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`). A number too large for
//!   a `u64` saturates at `u64::MAX` (it means "longer than any budget");
//!   a date becomes the seconds from `now` until it, zero when it is past.
//!   The obsolete RFC 850 and asctime date forms, signs, fractions and
//!   anything else are `None`: the server named no wait we can read.
//! - `X-RateLimit-Reset` is Mattermost's seconds until its bucket refills
//!   (DESIGN §9), but some proxies send the unix time of the reset instead.
//!   A value of at least [`UNIX_TIME_FROM`] (2001-09-09, or 31 years as a
//!   delay — longer than anyone rate-limits) is read as a unix time, so the
//!   wait is the time from `now` until it (zero when past); smaller values
//!   are seconds. Only digits are accepted.
//!
//! `now` is passed in (unix seconds), so callers and tests control time.
//! Nothing here panics or overflows, for any input.

use crate::render::UtcTime;

/// The smallest `X-RateLimit-Reset` read as a unix time rather than a
/// number of seconds: 1,000,000,000 (2001-09-09 01:46:40 UTC).
pub const UNIX_TIME_FROM: u64 = 1_000_000_000;

/// Seconds to wait for a `Retry-After` value at unix time `now`, or `None`
/// when the value is neither delay-seconds nor an IMF-fixdate.
///
/// ```
/// use mattermost_notify_core::retry_after::retry_after_secs;
/// let now = 784_111_770; // Sun, 06 Nov 1994 08:49:30 GMT
/// assert_eq!(retry_after_secs(b" 120 ", now), Some(120));
/// assert_eq!(retry_after_secs(b"Sun, 06 Nov 1994 08:49:37 GMT", now), Some(7));
/// assert_eq!(retry_after_secs(b"99999999999999999999999", now), Some(u64::MAX));
/// assert_eq!(retry_after_secs(b"-1", now), None);
/// ```
pub fn retry_after_secs(value: &[u8], now: u64) -> Option<u64> {
    let value = trim_ows(value);
    if let Some(secs) = delay_seconds(value) {
        return Some(secs);
    }
    let date = imf_fixdate(value)?;
    if date.year < 1970 {
        // In the past, if it is a date at all: leap years repeat every 400
        // years, so the same day 2000 years later tells.
        let later = UtcTime {
            year: date.year + 2000,
            ..date
        };
        return later.to_unix().map(|_| 0);
    }
    // A four-digit year never overflows; an impossible date is `None`.
    date.to_unix().map(|at| at.saturating_sub(now))
}

/// Seconds to wait for an `X-RateLimit-Reset` value at unix time `now`, or
/// `None` when it is not a plain number.
///
/// ```
/// use mattermost_notify_core::retry_after::rate_limit_reset_secs;
/// let now = 1_764_284_280;
/// assert_eq!(rate_limit_reset_secs(b"3", now), Some(3));
/// assert_eq!(rate_limit_reset_secs(b"1764284285", now), Some(5));
/// assert_eq!(rate_limit_reset_secs(b"1000000000", now), Some(0));
/// assert_eq!(rate_limit_reset_secs(b"soon", now), None);
/// ```
pub fn rate_limit_reset_secs(value: &[u8], now: u64) -> Option<u64> {
    let n = delay_seconds(trim_ows(value))?;
    Some(if n >= UNIX_TIME_FROM {
        n.saturating_sub(now)
    } else {
        n
    })
}

/// Optional whitespace (space, tab) around a field value.
fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// `1*DIGIT`, saturating at `u64::MAX`.
fn delay_seconds(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    Some(n)
}

/// `Www, DD Mon YYYY HH:MM:SS GMT`, exactly (case-sensitive, as RFC 9110
/// writes it); fields are range-checked by [`UtcTime::to_unix`] later.
fn imf_fixdate(v: &[u8]) -> Option<UtcTime> {
    const DAYS: [&[u8; 3]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let [w0, w1, w2, b',', b' ', d0, d1, b' ', m0, m1, m2, b' ', y0, y1, y2, y3, b' ', h0, h1, b':', i0, i1, b':', s0, s1, b' ', b'G', b'M', b'T'] =
        *v
    else {
        return None;
    };
    // The day name is checked for form only; a mismatch with the date is
    // the sender's slip, and the date is what it means.
    if !DAYS.contains(&&[w0, w1, w2]) {
        return None;
    }
    let month = MONTHS.iter().position(|m| **m == [m0, m1, m2])?;
    Some(UtcTime {
        year: digits(&[y0, y1, y2, y3])?,
        month: u8::try_from(month + 1).ok()?,
        day: digits(&[d0, d1])?,
        hour: digits(&[h0, h1])?,
        minute: digits(&[i0, i1])?,
        second: digits(&[s0, s1])?,
    })
}

/// Two or four ASCII digits as a number.
fn digits<T: TryFrom<u16>>(ds: &[u8]) -> Option<T> {
    let mut n: u16 = 0;
    for &d in ds {
        if !d.is_ascii_digit() {
            return None;
        }
        // At most four digits: 9999 fits a u16.
        n = n.saturating_mul(10).saturating_add(u16::from(d - b'0'));
    }
    T::try_from(n).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's example.
    const EXAMPLE: u64 = 784_111_777;

    /// Formats an IMF-fixdate (test-side, through the crate's calendar).
    fn fixdate(unix: u64) -> String {
        const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let t = UtcTime::from_unix(unix);
        format!(
            "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
            DAYS[(unix / 86_400 % 7) as usize],
            t.day,
            MONTHS[usize::from(t.month - 1)],
            t.year,
            t.hour,
            t.minute,
            t.second
        )
    }

    #[test]
    fn delay_seconds_in_every_size() {
        assert_eq!(retry_after_secs(b"0", 5), Some(0));
        assert_eq!(retry_after_secs(b"\t 7 ", 5), Some(7));
        assert_eq!(retry_after_secs(b"007", 5), Some(7));
        assert_eq!(retry_after_secs(b"18446744073709551615", 5), Some(u64::MAX));
        assert_eq!(retry_after_secs(b"18446744073709551616", 5), Some(u64::MAX));
        assert_eq!(retry_after_secs(&[b'9'; 4096], 5), Some(u64::MAX));
    }

    #[test]
    fn signs_fractions_and_garbage_are_no_wait() {
        for v in [
            &b""[..],
            b" ",
            b"-1",
            b"+1",
            b"1.5",
            b"1e3",
            b"soon",
            b"1 2",
            b"0x10",
            "\u{0661}".as_bytes(), // an Arabic-Indic digit one
            b"\xff\xfe",
        ] {
            assert_eq!(retry_after_secs(v, EXAMPLE), None, "{v:?}");
            assert_eq!(rate_limit_reset_secs(v, EXAMPLE), None, "{v:?}");
        }
    }

    #[test]
    fn imf_fixdate_is_a_point_in_time() {
        let date = b"Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(retry_after_secs(date, EXAMPLE - 30), Some(30));
        assert_eq!(retry_after_secs(date, EXAMPLE), Some(0));
        assert_eq!(retry_after_secs(date, EXAMPLE + 30), Some(0), "past");
        assert_eq!(retry_after_secs(date, u64::MAX), Some(0));
        assert_eq!(retry_after_secs(date, 0), Some(EXAMPLE));
        assert_eq!(
            retry_after_secs(b"Fri, 31 Dec 9999 23:59:59 GMT", 0),
            Some(253_402_300_799)
        );
        assert_eq!(
            retry_after_secs(b"Thu, 01 Jan 1970 00:00:00 GMT", 0),
            Some(0)
        );
        assert_eq!(
            retry_after_secs(b"Sat, 29 Feb 1964 12:00:00 GMT", EXAMPLE),
            Some(0),
            "before the epoch is in the past"
        );
    }

    #[test]
    fn other_date_forms_and_impossible_dates_are_garbage() {
        for v in [
            &b"Sunday, 06-Nov-94 08:49:37 GMT"[..], // RFC 850, obsolete
            b"Sun Nov  6 08:49:37 1994",            // asctime, obsolete
            b"sun, 06 nov 1994 08:49:37 gmt",       // case matters
            b"Sun, 06 Nov 1994 08:49:37 UTC",
            b"Sun, 6 Nov 1994 08:49:37 GMT",
            b"Xyz, 06 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 1994 08:49:37 GMT ",
            b"Sun, 30 Feb 2025 08:49:37 GMT",
            b"Sun, 29 Feb 1900 08:49:37 GMT",
            b"Sun, 06 Nov 1994 24:00:00 GMT",
            b"Sun, 06 Nov 1994 08:60:00 GMT",
            b"Sun, 06 Nov 1994 08:49:60 GMT",
            b"Sun, 00 Nov 1994 08:49:37 GMT",
            b"Sun, 06 Nov 19a4 08:49:37 GMT",
        ] {
            // (A trailing space is trimmed, so that one is a date.)
            let expected = if v.ends_with(b"GMT ") { Some(0) } else { None };
            assert_eq!(
                retry_after_secs(v, EXAMPLE),
                expected,
                "{:?}",
                core::str::from_utf8(v)
            );
        }
    }

    #[test]
    fn rate_limit_reset_seconds_or_unix_time() {
        let now = 1_764_284_280;
        assert_eq!(rate_limit_reset_secs(b"0", now), Some(0));
        assert_eq!(rate_limit_reset_secs(b"999999999", now), Some(999_999_999));
        assert_eq!(rate_limit_reset_secs(b"1764284290", now), Some(10));
        assert_eq!(rate_limit_reset_secs(b"1764284000", now), Some(0), "past");
        assert_eq!(
            rate_limit_reset_secs(b"18446744073709551615", now),
            Some(u64::MAX - now)
        );
        assert_eq!(
            rate_limit_reset_secs(b"99999999999999999999", 0),
            Some(u64::MAX)
        );
        // Dates are for Retry-After only.
        assert_eq!(
            rate_limit_reset_secs(b"Sun, 06 Nov 1994 08:49:37 GMT", 0),
            None
        );
    }

    proptest! {
        /// Any bytes, any clock: an answer or `None`, never a panic.
        #[test]
        fn any_value_any_clock(value in proptest::collection::vec(any::<u8>(), 0..64), now in any::<u64>()) {
            let _ = retry_after_secs(&value, now);
            let _ = rate_limit_reset_secs(&value, now);
        }

        /// Date-shaped noise: right length and punctuation, random fields.
        #[test]
        fn date_shaped_values(
            day in 0u32..100, month in 0usize..13, year in 0u32..10_000,
            h in 0u32..100, m in 0u32..100, s in 0u32..100, now in any::<u64>(),
        ) {
            const MONTHS: [&str; 13] = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Foo",
            ];
            let v = format!("Mon, {day:02} {} {year:04} {h:02}:{m:02}:{s:02} GMT", MONTHS[month]);
            if let Some(wait) = retry_after_secs(v.as_bytes(), now) {
                prop_assert!(wait <= 253_402_300_799, "{v} waits {wait}");
            }
        }

        /// Every date from 1970 to 9999 reads back as the seconds until it.
        #[test]
        fn dates_round_trip(at in 0u64..=253_402_300_799, now in any::<u64>()) {
            let v = fixdate(at);
            prop_assert_eq!(retry_after_secs(v.as_bytes(), now), Some(at.saturating_sub(now)), "{}", v);
        }

        /// Digits are read exactly below u64::MAX and saturate above it.
        #[test]
        fn digits_exact_or_saturated(n in any::<u64>(), extra in 0usize..5, now in any::<u64>()) {
            let v = format!("{n}{}", "0".repeat(extra));
            let exact = (0..extra).try_fold(n, |acc, _| acc.checked_mul(10));
            prop_assert_eq!(retry_after_secs(v.as_bytes(), now), Some(exact.unwrap_or(u64::MAX)));
            let reset = rate_limit_reset_secs(v.as_bytes(), now).unwrap_or(0);
            prop_assert!(reset <= exact.unwrap_or(u64::MAX));
        }
    }
}
