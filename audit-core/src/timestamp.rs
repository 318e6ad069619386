//! Timestamps on the wire: RFC 3339 in UTC with exactly three fractional digits.
//!
//! A fixed form matters beyond looks: timestamps are part of the hashed record, so every
//! party (server, SDK, offline verifier) must write them identically.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Formats a time as `2026-11-25T10:00:00.000Z`.
pub fn format(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
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
        serializer.serialize_str(&format(time))
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
            Some(time) => serializer.serialize_str(&format(time)),
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
    fn garbage_is_refused() {
        assert!(parse("yesterday").is_err());
        assert!(parse("2026-13-01T00:00:00Z").is_err());
    }
}
