//! Event time: parsing the timestamp shapes of Entra ID and Microsoft 365 logs.
//!
//! Every event carries its own time; the core never reads a clock. Times are kept as milliseconds
//! since the Unix epoch (UTC). Timestamps without a zone (Log Analytics, the unified audit log) are
//! UTC, as the services that write them document.

use chrono::{DateTime, NaiveDateTime};

/// Milliseconds since the Unix epoch, UTC.
pub type Timestamp = i64;

/// One minute in milliseconds.
pub const MINUTE: i64 = 60_000;
/// One hour in milliseconds.
pub const HOUR: i64 = 60 * MINUTE;
/// One day in milliseconds.
pub const DAY: i64 = 24 * HOUR;

/// The earliest time accepted: 2000-01-01T00:00:00Z. Older times are input errors.
pub const MIN_TIME: Timestamp = 946_684_800_000;
/// The latest time accepted: 2100-01-01T00:00:00Z. Later times are input errors (they would push
/// the watermark past every real event and blind the engine).
pub const MAX_TIME: Timestamp = 4_102_444_800_000;

/// Whether time passed a multiple of `period` going from `before` to `now`: how a detector that
/// already notes when it last looked sweeps a long-lived table only now and then (a sweep of a
/// table kept for days, at every window of minutes, costs more than the table's lookups).
pub fn crossed(before: Timestamp, now: Timestamp, period: i64) -> bool {
    let period = period.max(1);
    before.div_euclid(period) != now.div_euclid(period)
}

const NAIVE_FORMATS: [&str; 6] = [
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    // Log Analytics portal CSV export: `4/28/2021, 2:08:45.221 PM`; US dates as Azure's .NET
    // pipelines write them: `1/9/2007 9:41:00 AM`, `01/09/2007 09:41:00`.
    "%m/%d/%Y, %I:%M:%S%.f %p",
    "%m/%d/%Y %I:%M:%S%.f %p",
    "%m/%d/%Y, %H:%M:%S%.f",
    "%m/%d/%Y %H:%M:%S%.f",
];

/// The same with an offset after them (`1/9/2007 10:41:00 AM +01:00`).
const ZONED_FORMATS: [&str; 2] = ["%m/%d/%Y %I:%M:%S%.f %p %:z", "%m/%d/%Y %H:%M:%S%.f %:z"];

/// Parses a timestamp as written by any of the supported log shapes.
///
/// Accepts RFC 3339 (with `Z` or an offset, fraction of up to nine digits), the same without a
/// zone (taken as UTC, also with a space instead of `T`), and the Log Analytics CSV export form.
/// Returns `None` for anything else, or for a time outside [`MIN_TIME`]..[`MAX_TIME`].
pub fn parse(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    let millis = parse_rfc3339_fast(text)
        .or_else(|| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.timestamp_millis())
        })
        .or_else(|| {
            ZONED_FORMATS.iter().find_map(|format| {
                DateTime::parse_from_str(text, format)
                    .ok()
                    .map(|t| t.timestamp_millis())
            })
        })
        .or_else(|| {
            let text = text.strip_suffix('Z').unwrap_or(text);
            NAIVE_FORMATS.iter().find_map(|format| {
                NaiveDateTime::parse_from_str(text, format)
                    .ok()
                    .map(|t| t.and_utc().timestamp_millis())
            })
        })?;
    (MIN_TIME..MAX_TIME).contains(&millis).then_some(millis)
}

/// The common case, `YYYY-MM-DDTHH:MM:SS[.fraction][Z]` (also with a space), without chrono's
/// general parser. Returns `None` for anything it does not fully understand.
fn parse_rfc3339_fast(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let mut value = 0i64;
        for &byte in bytes.get(range)? {
            if !byte.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(byte - b'0');
        }
        Some(value)
    };
    if bytes.len() < 19
        || bytes.get(4) != Some(&b'-')
        || bytes.get(7) != Some(&b'-')
        || !matches!(bytes.get(10), Some(b'T' | b' '))
        || bytes.get(13) != Some(&b':')
        || bytes.get(16) != Some(&b':')
    {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut rest = bytes.get(19..)?;
    let mut millis = 0i64;
    if let Some((b'.', fraction)) = rest.split_first() {
        let len = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 || len > 9 {
            return None;
        }
        for (i, &byte) in fraction.iter().take(3).take(len).enumerate() {
            millis += i64::from(byte - b'0') * [100, 10, 1].get(i).copied().unwrap_or(0);
        }
        rest = fraction.get(len..)?;
    }
    if !(rest.is_empty() || rest == b"Z" || rest == b"z") {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Formats a timestamp as RFC 3339 with milliseconds, for messages.
pub fn format(time: Timestamp) -> String {
    DateTime::from_timestamp_millis(time)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| time.to_string())
}

/// Parses a duration written as a number and a unit (`ms`, `s`, `m`, `h`, `d`), e.g. `20m`.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().ok()?;
    let unit = match unit.trim() {
        "ms" => 1,
        "s" => 1000,
        "m" | "min" => MINUTE,
        "h" => HOUR,
        "d" => DAY,
        _ => return None,
    };
    number.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crossed_marks_each_multiple_of_the_period_once() {
        let marks: Vec<i64> = (0..=100)
            .step_by(7)
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|pair| super::crossed(pair[0], pair[1], 25))
            .map(|pair| pair[1])
            .collect();
        assert_eq!(marks, [28, 56, 77]);
        assert!(super::crossed(Timestamp::MIN, 0, 25) && !super::crossed(3, 3, 0));
    }

    #[test]
    fn parses_every_shape() {
        let expected = 1_589_998_744_423; // 2020-05-20T18:19:04.423Z
        for text in [
            "2020-05-20T18:19:04.423Z",
            "2020-05-20T18:19:04.4230000Z",
            "2020-05-20T18:19:04.423",
            "2020-05-20 18:19:04.423",
            "2020-05-20T18:19:04.423+00:00",
            "2020-05-20T20:19:04.423+02:00",
            "5/20/2020, 6:19:04.423 PM",
        ] {
            assert_eq!(parse(text), Some(expected), "{text}");
        }
        assert_eq!(
            parse("2023-07-26 22:58:30.983201900"),
            Some(1_690_412_310_983)
        );
        assert_eq!(parse("2022-12-12T15:57:57"), Some(1_670_860_677_000));
    }

    #[test]
    fn parses_the_forms_of_real_exports() {
        // The time-format cases of Elastic's `azure.signinlogs` pipeline tests
        // (elastic/integrations, test-time-formats-corner-cases.log), a Graph beta example with a
        // one-digit hour, and the portal's export without a fraction.
        let expected = 1_168_335_660_000; // 2007-01-09T09:41:00Z
        for text in [
            "01/09/2007 09:41:00",
            "1/9/2007 09:41:00",
            "01/09/2007 09:41:00 AM",
            "1/9/2007 9:41:00 AM",
            "1/9/2007 10:41:00 AM +01:00",
            "1/9/2007, 9:41:00 AM",
            "2007-01-09T09:41:00",
            "2007-01-09T11:41:00+02:00",
            "2007-01-09T9:41:00Z",
        ] {
            assert_eq!(parse(text), Some(expected), "{text}");
        }
        assert_eq!(
            parse("2007-01-09T09:41:00.535404056Z"),
            Some(expected + 535)
        );
        assert_eq!(
            parse("2007-01-09T09:41:00.992099+00:00"),
            Some(expected + 992)
        );
        assert_eq!(parse("12/12/2025 3:03:58 PM"), Some(1_765_551_838_000));
    }

    #[test]
    fn fast_path_agrees_with_chrono() {
        for text in [
            "2024-02-29T23:59:59.999Z",
            "2000-01-01T00:00:00Z",
            "2099-12-31T12:00:00.5Z",
        ] {
            let chrono = DateTime::parse_from_rfc3339(text)
                .map(|t| t.timestamp_millis())
                .ok();
            assert_eq!(parse_rfc3339_fast(text), chrono, "{text}");
        }
    }

    #[test]
    fn refuses_nonsense_and_out_of_range() {
        for text in [
            "",
            "yesterday",
            "2023-02-30T00:00:00Z",
            "2023-13-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2023-01-01T25:00:00Z",
            "2023-01-01T00:00:00.Z",
            "2023-01-01T00:00:00+99:00",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("20m"), Some(20 * MINUTE));
        assert_eq!(parse_duration("24h"), Some(DAY));
        assert_eq!(parse_duration("14d"), Some(14 * DAY));
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_duration("m"), None);
        assert_eq!(parse_duration("5 weeks"), None);
        assert_eq!(parse_duration("99999999999999999999d"), None);
    }
}
