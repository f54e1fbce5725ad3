//! Calendar dates, as the rules see them.
//!
//! A date is kept as the integer `yyyymmdd`. Ordering of these integers is
//! date ordering, and completed years between two dates is
//! `(later - earlier) / 10000`, which is what a wasm module can compute with
//! one subtraction and one division.

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

impl Date {
    /// 1970-01-01, used where a malformed literal needs some date to stand in.
    pub const UNIX_EPOCH: Date = Date(19_700_101);

    /// The date for a year, month and day, if it exists in the calendar.
    pub fn from_ymd(year: i64, month: i64, day: i64) -> Option<Date> {
        let y = i16::try_from(year).ok()?;
        let m = i8::try_from(month).ok()?;
        let d = i8::try_from(day).ok()?;
        if !(1..=9999).contains(&y) {
            return None;
        }
        jiff::civil::Date::new(y, m, d).ok()?;
        Some(Date(
            i32::from(y) * 10_000 + i32::from(m) * 100 + i32::from(d),
        ))
    }

    /// Parses exactly `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> {
            let part = s.get(r)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        Date::from_ymd(num(0..4)?, num(5..7)?, num(8..10)?)
    }

    /// The date from its `yyyymmdd` integer, if valid.
    pub fn from_yyyymmdd(n: i32) -> Option<Date> {
        Date::from_ymd(
            i64::from(n / 10_000),
            i64::from(n / 100 % 100),
            i64::from(n % 100),
        )
    }

    pub fn yyyymmdd(self) -> i32 {
        self.0
    }

    pub fn year(self) -> i32 {
        self.0 / 10_000
    }

    pub fn month(self) -> i32 {
        self.0 / 100 % 100
    }

    pub fn day(self) -> i32 {
        self.0 % 100
    }

    /// Completed years from `self` to `later`, rounded down: negative when
    /// `later` is earlier (a birth date a month after `as_of` is -1 years
    /// old, not 0).
    pub fn years_until(self, later: Date) -> i64 {
        (i64::from(later.0) - i64::from(self.0)).div_euclid(10_000)
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}",
            self.year(),
            self.month(),
            self.day()
        )
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::Date;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            Date::parse("2024-02-29").map(|d| d.yyyymmdd()),
            Some(20240229)
        );
        assert_eq!(Date::parse("2023-02-29"), None);
        assert_eq!(Date::parse("2023-2-01"), None);
        assert_eq!(Date::parse("2023-13-01"), None);
        assert_eq!(Date::parse("+023-01-01"), None);
    }

    #[test]
    fn completed_years() {
        let d = |s| Date::parse(s).unwrap_or(Date(0));
        assert_eq!(d("1985-07-14").years_until(d("2025-10-01")), 40);
        assert_eq!(d("1985-10-01").years_until(d("2025-10-01")), 40);
        assert_eq!(d("1985-10-02").years_until(d("2025-10-01")), 39);
        assert_eq!(d("2024-02-29").years_until(d("2025-02-28")), 0);
        assert_eq!(d("2024-02-29").years_until(d("2025-03-01")), 1);
        assert_eq!(d("2025-11-01").years_until(d("2025-10-01")), -1);
        assert_eq!(d("2026-10-01").years_until(d("2025-10-01")), -1);
        assert_eq!(d("2026-10-02").years_until(d("2025-10-01")), -2);
    }
}
