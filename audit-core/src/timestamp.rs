//! Timestamps on the wire: RFC 3339 in UTC with exactly three fractional digits.
//!
//! A fixed form matters beyond looks: timestamps are part of the hashed record, so every
//! party (server, SDK, offline verifier) must write them identically.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Formats a time as `2026-11-25T10:00:00.000Z`.
pub fn format(time: &DateTime<Utc>) -> String {
    let mut buffer = [0; FORMATTED_LEN];
    match format_common(time, &mut buffer) {
        Some(text) => text.to_owned(),
        None => format_rare(time),
    }
}

/// [`format`] by chrono, for the times [`format_common`] leaves to it.
fn format_rare(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The length of `2026-11-25T10:00:00.000Z`.
const FORMATTED_LEN: usize = 24;

/// [`format`] into `buffer`, without chrono's formatting machinery (every recorded event
/// writes a timestamp), for the times that take the common form: years 0 to 9999 and no
/// leap second. `None` for the others, which chrono writes.
fn format_common<'b>(time: &DateTime<Utc>, buffer: &'b mut [u8; FORMATTED_LEN]) -> Option<&'b str> {
    use chrono::{Datelike, Timelike};
    let year = u32::try_from(time.year()).ok().filter(|&year| year <= 9999)?;
    let nanos = time.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let fields = [
        (0, 4, year),
        (5, 2, time.month()),
        (8, 2, time.day()),
        (11, 2, time.hour()),
        (14, 2, time.minute()),
        (17, 2, time.second()),
        (20, 3, nanos / 1_000_000),
    ];
    buffer.copy_from_slice(b"0000-00-00T00:00:00.000Z");
    for (at, digits, mut value) in fields {
        for position in (at..at + digits).rev() {
            buffer[position] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    std::str::from_utf8(buffer).ok()
}

/// Serializes `time` in the fixed millisecond form.
fn serialize_time<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buffer = [0; FORMATTED_LEN];
    match format_common(time, &mut buffer) {
        Some(text) => serializer.serialize_str(text),
        None => serializer.serialize_str(&format_rare(time)),
    }
}

/// Parses an RFC 3339 time with any offset, converts it to UTC and truncates it to milliseconds.
pub fn parse(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|time| truncate(time.with_timezone(&Utc)))
}

/// Truncates a time to the millisecond precision the trail keeps.
pub fn truncate(time: DateTime<Utc>) -> DateTime<Utc> {
    time.trunc_subsecs(3)
}

/// The current time, truncated to milliseconds.
pub fn now() -> DateTime<Utc> {
    truncate(Utc::now())
}

/// `#[serde(with = "audit_core::timestamp::required")]` for `DateTime<Utc>` fields.
pub mod required {
    use super::*;

    /// Serializes in the fixed millisecond form.
    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_time(time, serializer)
    }

    /// Deserializes any RFC 3339 time, truncated to milliseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).map_err(|error| serde::de::Error::custom(format!("not an RFC 3339 time: {error}")))
    }
}

/// `#[serde(with = "audit_core::timestamp::optional")]` for `Option<DateTime<Utc>>` fields.
pub mod optional {
    use super::*;

    /// Serializes in the fixed millisecond form, or `null`.
    pub fn serialize<S: Serializer>(time: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
        match time {
            Some(time) => serialize_time(time, serializer),
            None => serializer.serialize_none(),
        }
    }

    /// Deserializes an optional RFC 3339 time, truncated to milliseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?;
        text.map(|text| {
            parse(&text).map_err(|error| serde::de::Error::custom(format!("not an RFC 3339 time: {error}")))
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_converted_and_precision_is_milliseconds() {
        let time = parse("2026-11-25T11:00:00.123456+01:00").unwrap();
        assert_eq!(format(&time), "2026-11-25T10:00:00.123Z");
        assert_eq!(
            format(&parse("2026-11-25T10:00:00Z").unwrap()),
            "2026-11-25T10:00:00.000Z"
        );
    }

    #[test]
    fn the_common_form_is_chronos_own() {
        use chrono::{NaiveDate, TimeZone};
        let chrono = |time: &DateTime<Utc>| time.to_rfc3339_opts(SecondsFormat::Millis, true);
        let mut times = vec![
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap() + chrono::Duration::milliseconds(999),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 6, 15, 12, 30, 5).unwrap(),
            NaiveDate::from_ymd_opt(2016, 12, 31)
                .unwrap()
                .and_hms_milli_opt(23, 59, 59, 1_500)
                .unwrap()
                .and_utc(),
        ];
        // Every day of a leap year and a common one, at varying times of day and millis.
        let mut time = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        for step in 0..800 {
            times.push(time);
            time += chrono::Duration::milliseconds(86_400_000 + 3_723_457 + step);
        }
        for time in times {
            assert_eq!(format(&time), chrono(&time));
            let json = serde_json::to_string(&SerializedWith(time)).unwrap();
            assert_eq!(json, format!("\"{}\"", chrono(&time)));
        }
    }

    #[derive(serde::Serialize)]
    struct SerializedWith(#[serde(with = "required")] DateTime<Utc>);

    #[test]
    fn garbage_is_refused() {
        assert!(parse("yesterday").is_err());
        assert!(parse("2026-13-01T00:00:00Z").is_err());
    }
}
