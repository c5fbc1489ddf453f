//! Timestamps as fixed-width RFC 3339 UTC text.
//!
//! sqlx's `Any` driver has no portable timestamp type; fixed-width UTC text
//! (`2022-06-20T21:59:59.000000Z`) sorts and compares correctly as text on
//! both backends, and stays readable for operators.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn format_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn parse_ts(s: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_a_fixed_width_and_round_trip() {
        let a = DateTime::from_timestamp(1_655_762_399, 0).unwrap();
        let b = DateTime::from_timestamp(1_655_762_399, 5_000).unwrap();
        assert_eq!(format_ts(a), "2022-06-20T21:59:59.000000Z");
        assert_eq!(format_ts(a).len(), format_ts(b).len());
        assert!(format_ts(a) < format_ts(b));
        assert_eq!(parse_ts(&format_ts(b)).unwrap(), b);
    }
}
