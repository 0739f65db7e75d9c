//! Event times: parsing `p_event_time` (alerts-and-webhooks §5.2) and
//! writing AWSDateTime (§1.3, §5.5).
//!
//! Times are nanoseconds since the Unix epoch in UTC, which covers the years
//! 1677 to 2262: every log a replay will see.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::Value;

/// Nanoseconds in a second.
pub const SECOND: i64 = 1_000_000_000;
/// Nanoseconds in a minute.
pub const MINUTE: i64 = 60 * SECOND;

/// The current time.
pub fn now() -> i64 {
    Utc::now().timestamp_nanos_opt().unwrap_or(0)
}

/// The time of an event's `p_event_time`, or `None` when it is absent or
/// not a time: Panther's `YYYY-MM-DD HH:MM:SS[.f…]` (UTC), RFC 3339, or
/// seconds since the epoch (values above 10^12 are milliseconds).
pub fn event_time(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::String(s) => parse(s),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                if i.unsigned_abs() > 1_000_000_000_000 {
                    i.checked_mul(1_000_000)
                } else {
                    i.checked_mul(SECOND)
                }
            } else {
                let f = n.as_f64()?;
                let secs = if f.abs() > 1e12 { f / 1000.0 } else { f };
                let nanos = secs * 1e9;
                (nanos.is_finite() && nanos.abs() < 9.2e18).then_some(nanos as i64)
            }
        }
        _ => None,
    }
}

/// Parses a time string in Panther's format or RFC 3339.
pub fn parse(s: &str) -> Option<i64> {
    panther(s).or_else(|| {
        let t = DateTime::parse_from_rfc3339(s).ok()?;
        t.timestamp_nanos_opt()
    })
}

/// `YYYY-MM-DD HH:MM:SS[.f…]` with 1–9 fraction digits, in UTC.
fn panther(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b' ' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let mut n = 0u32;
        for &c in b.get(r)? {
            if !c.is_ascii_digit() {
                return None;
            }
            n = n * 10 + u32::from(c - b'0');
        }
        Some(n)
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)?;
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut nanos = 0u32;
    if b.len() > 19 {
        let frac = &b[20..];
        if b[19] != b'.' || frac.is_empty() || frac.len() > 9 || !frac.iter().all(u8::is_ascii_digit) {
            return None;
        }
        nanos = num(20..b.len())? * 10u32.pow(9 - frac.len() as u32);
    }
    let t = date.and_hms_nano_opt(h, m, sec, nanos)?;
    t.and_utc().timestamp_nanos_opt()
}

fn datetime(nanos: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(nanos)
}

/// AWSDateTime as `detect` writes it: `YYYY-MM-DDThh:mm:ss.sssZ`.
pub fn aws(nanos: i64) -> String {
    datetime(nanos).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// RFC 3339 in UTC with as many fraction digits as needed (the window
/// start in alert IDs and the state file).
pub fn rfc3339(nanos: i64) -> String {
    datetime(nanos).to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_three_forms() {
        let t = parse("2024-06-01 10:00:05").unwrap();
        assert_eq!(aws(t), "2024-06-01T10:00:05.000Z");
        assert_eq!(parse("2024-06-01 10:00:05.12").unwrap(), t + 120_000_000);
        assert_eq!(parse("2024-06-01 10:00:05.123456789").unwrap(), t + 123_456_789);
        assert_eq!(parse("2024-06-01T12:00:05+02:00").unwrap(), t);
        assert_eq!(parse("2024-06-01T10:00:05Z").unwrap(), t);
        assert_eq!(event_time(Some(&json!(t / SECOND))).unwrap(), t);
        assert_eq!(event_time(Some(&json!(t / 1_000_000))).unwrap(), t);
        assert_eq!(event_time(Some(&json!(1_717_236_005.5))).unwrap(), t + 500_000_000);
        for bad in [
            "2024-06-01 10:00:05.",
            "2024-06-01 10:00:05.1234567890",
            "2024-13-01 10:00:05",
            "soon",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert_eq!(event_time(Some(&json!(true))), None);
        assert_eq!(event_time(None), None);
    }

    #[test]
    fn writes_aws_date_time_and_rfc3339() {
        let t = parse("2024-06-01 10:00:05.1").unwrap();
        assert_eq!(aws(t), "2024-06-01T10:00:05.100Z");
        assert_eq!(rfc3339(t), "2024-06-01T10:00:05.100Z");
        assert_eq!(rfc3339(t - 100_000_000), "2024-06-01T10:00:05Z");
    }
}
