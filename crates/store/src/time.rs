//! Timestamps: integer milliseconds since the Unix epoch, UTC.
//!
//! Stored as `INTEGER` so ordering and range queries are plain integer comparisons in every backend.
//! The Appwrite wire format (`2020-10-15T06:38:00.000+00:00`) is produced and parsed here without a
//! date-time dependency: the civil-calendar conversions below are Howard Hinnant's algorithms.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time, in milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

const MS_PER_DAY: i64 = 86_400_000;

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            // A clock before 1970 is a misconfigured host; the epoch is the least surprising answer.
            .unwrap_or(0);
        Timestamp(ms)
    }

    /// Milliseconds since the epoch.
    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// This instant shifted by `ms` milliseconds (saturating).
    pub fn plus_millis(self, ms: i64) -> Self {
        Timestamp(self.0.saturating_add(ms))
    }

    /// Appwrite's date format: `YYYY-MM-DDTHH:MM:SS.mmm+00:00`.
    pub fn to_rfc3339(self) -> String {
        let days = self.0.div_euclid(MS_PER_DAY);
        let ms_of_day = self.0.rem_euclid(MS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}+00:00",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60,
            ms_of_day % 1000
        )
    }

    /// Parses an ISO 8601 / RFC 3339 date-time: `YYYY-MM-DD`, optionally followed by `T` (or a space)
    /// and `HH:MM[:SS[.fraction]]`, optionally followed by `Z` or `±HH[:MM]`. A missing offset means
    /// UTC. Returns `None` for anything else.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let text = text.trim();
        let (year, month, day) = parse_date(text.get(..10)?)?;
        let mut ms = days_from_civil(year, month, day).checked_mul(MS_PER_DAY)?;
        let rest = &text[10..];
        if rest.is_empty() {
            return Some(Timestamp(ms));
        }
        let rest = rest.strip_prefix(['T', 't', ' '])?;
        let (time, offset) = split_offset(rest)?;
        ms = ms.checked_add(parse_time_of_day(time)?)?;
        ms = ms.checked_sub(offset)?;
        Some(Timestamp(ms))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

fn parse_digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_date(text: &str) -> Option<(i64, u32, u32)> {
    let bytes = text.as_bytes();
    if bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
        return None;
    }
    let year = parse_digits(&text[0..4])?;
    let month = u32::try_from(parse_digits(&text[5..7])?).ok()?;
    let day = u32::try_from(parse_digits(&text[8..10])?).ok()?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some((year, month, day))
}

/// Splits `HH:MM:SS.fff+01:00` into the time part and the offset in milliseconds.
fn split_offset(text: &str) -> Option<(&str, i64)> {
    if let Some(time) = text.strip_suffix(['Z', 'z']) {
        return Some((time, 0));
    }
    let Some(pos) = text.rfind(['+', '-']) else {
        return Some((text, 0));
    };
    let (time, offset) = text.split_at(pos);
    let sign = if offset.starts_with('-') { -1 } else { 1 };
    let digits: String = offset[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 2 && digits.len() != 4 {
        return None;
    }
    let hours = parse_digits(&digits[..2])?;
    let minutes = if digits.len() == 4 {
        parse_digits(&digits[2..])?
    } else {
        0
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some((time, sign * (hours * 60 + minutes) * 60_000))
}

fn parse_time_of_day(text: &str) -> Option<i64> {
    let (hms, fraction) = match text.split_once(['.', ',']) {
        Some((hms, fraction)) => (hms, Some(fraction)),
        None => (text, None),
    };
    let mut parts = hms.split(':');
    let hours = parse_digits(parts.next()?)?;
    let minutes = parse_digits(parts.next()?)?;
    let seconds = match parts.next() {
        Some(s) => parse_digits(s)?,
        None => 0,
    };
    if parts.next().is_some() || hours > 23 || minutes > 59 || seconds > 60 {
        return None;
    }
    let millis = match fraction {
        // Only the first three digits matter at millisecond precision.
        Some(f) => {
            parse_digits(f)?;
            let padded = format!("{:0<3}", &f[..f.len().min(3)]);
            parse_digits(&padded)?
        }
        None => 0,
    };
    Some(((hours * 60 + minutes) * 60 + seconds) * 1000 + millis)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both values are bounded by construction (1..=31, 1..=12).
    (year, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let t = Timestamp(1_602_743_880_123);
        assert_eq!(t.to_rfc3339(), "2020-10-15T06:38:00.123+00:00");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Some(t));
    }

    #[test]
    fn parses_offsets_and_short_forms() {
        let utc = Timestamp::parse_rfc3339("2020-10-15T06:38:00Z");
        assert_eq!(utc, Some(Timestamp(1_602_743_880_000)));
        assert_eq!(Timestamp::parse_rfc3339("2020-10-15T08:38:00+02:00"), utc);
        assert_eq!(Timestamp::parse_rfc3339("2020-10-15 06:38"), utc);
        assert_eq!(
            Timestamp::parse_rfc3339("2020-10-15"),
            Some(Timestamp(1_602_720_000_000))
        );
        assert_eq!(
            Timestamp::parse_rfc3339("1969-12-31T23:59:59.999Z"),
            Some(Timestamp(-1))
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "abc",
            "2020-13-01",
            "2020-02-30",
            "2020-10-15T25:00",
            "2020-10-15Tx",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
    }
}
