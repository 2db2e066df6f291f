//! Points in time as a person in Norway reads them: Europe/Oslo wall-clock time with its offset,
//! to the minute (`2026-11-23 08:15 +01:00`). The store and the machine-readable outputs (JSON,
//! CSV) keep RFC 3339; only what a person reads goes through here.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Oslo;

/// `2026-11-23 08:15 +01:00`: the time in Oslo, to the minute, with the offset in force then.
pub fn minutes(t: DateTime<Utc>) -> String {
    t.with_timezone(&Oslo)
        .format("%Y-%m-%d %H:%M %:z")
        .to_string()
}

/// `2026-11-23 08:15:03 +01:00`: the same to the second, for log lines (their order matters).
pub fn seconds(t: DateTime<Utc>) -> String {
    t.with_timezone(&Oslo)
        .format("%Y-%m-%d %H:%M:%S %:z")
        .to_string()
}

/// A stored RFC 3339 timestamp as [`minutes`]; text that is not one is shown as it is.
pub fn show(stored: &str) -> String {
    match DateTime::parse_from_rfc3339(stored) {
        Ok(t) => minutes(t.with_timezone(&Utc)),
        Err(_) => stored.to_string(),
    }
}

/// [`show`] of an optional timestamp, `-` for none.
pub fn show_or_dash(stored: Option<&str>) -> String {
    stored.map_or_else(|| "-".to_string(), show)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winter_and_summer_times_carry_their_offset() {
        assert_eq!(
            show("2026-11-23T07:15:00.123456Z"),
            "2026-11-23 08:15 +01:00"
        );
        assert_eq!(show("2026-06-23T06:15:59Z"), "2026-06-23 08:15 +02:00");
        assert_eq!(show("2026-06-23T08:15:00+02:00"), "2026-06-23 08:15 +02:00");
    }

    #[test]
    fn the_clock_change_shows_both_sides() {
        // 2026-10-25 03:00 CEST becomes 02:00 CET: 00:30 and 01:30 UTC are both 02:30 in Oslo.
        assert_eq!(show("2026-10-25T00:30:00Z"), "2026-10-25 02:30 +02:00");
        assert_eq!(show("2026-10-25T01:30:00Z"), "2026-10-25 02:30 +01:00");
    }

    #[test]
    fn other_text_and_none_pass_through() {
        assert_eq!(show("2026-11-23"), "2026-11-23");
        assert_eq!(show_or_dash(None), "-");
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(seconds(t), "2026-01-02 04:04:05 +01:00");
    }
}
