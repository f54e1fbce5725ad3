//! How dates and times read where a user sees them (API answers, exports,
//! the CLI's token list): a date is `YYYY-MM-DD`, a time is RFC 3339 in
//! UTC with milliseconds (`2025-10-01T08:15:02.123Z`).
//!
//! The store keeps them as integers (yyyymmdd, milliseconds since the
//! epoch: one SQL dialect for both backends, and the audit chain hashes
//! `at` as that integer); only their rendering lives here, so a stored row
//! of any age reads the same. The text is exact: a time keeps every
//! millisecond, so `at` can be turned back into the integer the chain
//! hashes.

use serde::Serializer;

/// A time stored as milliseconds since the Unix epoch, as RFC 3339 in UTC
/// with milliseconds. A value outside jiff's range (years -9999 to 9999),
/// which no clock writes, falls back to the number itself.
pub fn time(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => ms.to_string(),
    }
}

/// A date stored as yyyymmdd, as `YYYY-MM-DD`. A number that is no date
/// falls back to itself.
pub fn date(yyyymmdd: i64) -> String {
    i32::try_from(yyyymmdd)
        .ok()
        .and_then(layak_dsl::date::Date::from_yyyymmdd)
        .map_or_else(|| yyyymmdd.to_string(), |d| d.to_string())
}

/// `#[serde(serialize_with = "wire::ser_time")]` for an `i64` time.
pub fn ser_time<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&time(*ms))
}

/// `#[serde(serialize_with = "wire::ser_opt_time")]` for an `Option<i64>`
/// time (`null` stays `null`).
pub fn ser_opt_time<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => s.serialize_str(&time(*ms)),
        None => s.serialize_none(),
    }
}

/// `#[serde(serialize_with = "wire::ser_date")]` for an `i64` yyyymmdd date.
pub fn ser_date<S: Serializer>(yyyymmdd: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&date(*yyyymmdd))
}

#[cfg(test)]
mod tests {
    use super::{date, time};

    #[test]
    fn times_are_rfc3339_with_milliseconds() {
        assert_eq!(time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(time(1_759_306_502_123), "2025-10-01T08:15:02.123Z");
        assert_eq!(time(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn dates_are_iso() {
        assert_eq!(date(20_251_001), "2025-10-01");
        assert_eq!(date(19_000_101), "1900-01-01");
        assert_eq!(date(20_251_340), "20251340");
    }
}
