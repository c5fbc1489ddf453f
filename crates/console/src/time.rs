//! Times as the people of Nantes read them: Europe/Paris, French order.
//!
//! The store keeps UTC; a reviewer or a member of staff reads local time
//! (the consultation's zone, shared with the export's day and week counts).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use recueil_export::CONSULTATION_TZ;

/// `14/03/2022 18:05` in Nantes.
pub fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&CONSULTATION_TZ)
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

/// `18:05:07` in Nantes.
pub fn local_clock(t: DateTime<Utc>) -> String {
    t.with_timezone(&CONSULTATION_TZ)
        .format("%H:%M:%S")
        .to_string()
}

/// The day (in Nantes) a moment falls on.
pub fn local_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&CONSULTATION_TZ).date_naive()
}

/// Midnight in Nantes at the start of `day`, as UTC (the first instant of
/// the day when a clock change skips midnight).
pub fn start_of_day(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    CONSULTATION_TZ
        .from_local_datetime(&midnight)
        .earliest()
        .unwrap_or_else(|| CONSULTATION_TZ.from_utc_datetime(&midnight))
        .with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nantes_time_in_summer_and_winter() {
        let summer = DateTime::parse_from_rfc3339("2022-06-20T21:59:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(local(summer), "20/06/2022 23:59");
        let winter = DateTime::parse_from_rfc3339("2022-01-10T23:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(local(winter), "11/01/2022 00:30");
        assert_eq!(local_day(winter).to_string(), "2022-01-11");
        let day = NaiveDate::from_ymd_opt(2022, 3, 27).unwrap();
        assert_eq!(start_of_day(day).to_rfc3339(), "2022-03-26T23:00:00+00:00");
    }
}
