//! When a correlation rule runs: the run times of its `Schedule`
//! (correlation-rules §4.3).

use crate::model::correlation::{Cron, Trigger};

/// The run times of a schedule in `[from, to]` (seconds): multiples of
/// `RateMinutes` since the epoch, or the minutes a cron expression fires
/// (UTC), from the first run at or after `from` to the first at or after
/// `to`.
pub fn run_times(trigger: &Trigger, from: i64, to: i64) -> Vec<i64> {
    let mut out = Vec::new();
    match trigger {
        Trigger::Rate(r) => {
            let step = r.value.max(1) * 60;
            let mut t = from.div_euclid(step) * step;
            if t < from {
                t += step;
            }
            loop {
                out.push(t);
                if t >= to || out.len() > 10_000_000 {
                    break;
                }
                t += step;
            }
        }
        Trigger::Cron(c) => {
            let c = &c.value;
            let mut m = from.div_euclid(60);
            if m * 60 < from {
                m += 1;
            }
            // A cron that never fires stops after a leap-year cycle of minutes.
            let limit = to.div_euclid(60) + 4 * 366 * 1440;
            while m <= limit {
                if cron_fires(c, m) {
                    out.push(m * 60);
                    if m * 60 >= to {
                        break;
                    }
                }
                m += 1;
            }
        }
    }
    out
}

/// Whether a cron expression fires in the minute `minute` (minutes since
/// the epoch, UTC); with both day fields restricted, either one matching is
/// enough, as in cron.
pub fn cron_fires(c: &Cron, minute: i64) -> bool {
    use chrono::{Datelike, Timelike};
    let Some(t) = chrono::DateTime::from_timestamp(minute * 60, 0) else {
        return false;
    };
    let bit = |set: u64, v: u32| set & (1u64 << v) != 0;
    if !bit(c.minutes, t.minute()) || !bit(c.hours, t.hour()) || !bit(c.months, t.month()) {
        return false;
    }
    let dom = bit(c.days_of_month, t.day());
    let dow = bit(c.days_of_week, t.weekday().num_days_from_sunday());
    match (c.dom_restricted, c.dow_restricted) {
        (true, true) => dom || dow,
        (true, false) => dom,
        (false, true) => dow,
        (false, false) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{Span, Spanned};

    const DAY: i64 = 86_400;

    fn rate(minutes: i64) -> Trigger {
        Trigger::Rate(Spanned::new(minutes, Span::START))
    }

    fn cron(text: &str) -> Trigger {
        match Cron::parse(text) {
            Ok(c) => Trigger::Cron(Spanned::new(c, Span::START)),
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn rate_runs_at_multiples_since_the_epoch_through_the_first_at_or_after_the_end() {
        // 15 minutes = 900 s: 0 is before 100, 2,700 is the first run at or
        // after 2,000.
        assert_eq!(run_times(&rate(15), 100, 2_000), vec![900, 1_800, 2_700]);
        assert_eq!(run_times(&rate(15), 900, 900), vec![900]);
        // A zero rate counts as one minute rather than looping forever.
        assert_eq!(run_times(&rate(0), 0, 120), vec![0, 60, 120]);
    }

    #[test]
    fn cron_runs_in_the_minutes_it_fires() {
        // Hourly at :00, from 00:30 to 02:00 on 1970-01-01.
        assert_eq!(run_times(&cron("0 * * * *"), 1_800, 7_200), vec![3_600, 7_200]);
        // A start inside a minute moves to the next minute.
        assert_eq!(run_times(&cron("* * * * *"), 61, 130), vec![120, 180]);
    }

    #[test]
    fn cron_with_both_day_fields_fires_on_either() {
        // 1970-01-01 was a Thursday: the 1st, then Monday the 5th, then
        // Monday the 12th (the first run at or after the 7th).
        assert_eq!(run_times(&cron("0 0 1 * 1"), 0, 6 * DAY), vec![0, 4 * DAY, 11 * DAY]);
        // Day of week only: Sunday 1970-01-04.
        assert_eq!(run_times(&cron("0 0 * * 0"), 0, 0), vec![3 * DAY]);
        // Day of month only: the 2nd.
        assert_eq!(run_times(&cron("0 0 2 * *"), 0, 0), vec![DAY]);
    }

    #[test]
    fn cron_fires_checks_every_field() {
        let Ok(c) = Cron::parse("30 12 * 2 *") else {
            panic!("cron");
        };
        // 1970-02-01 12:30 UTC = day 31.
        let feb_first = 31 * 1_440;
        assert!(cron_fires(&c, feb_first + 12 * 60 + 30));
        assert!(!cron_fires(&c, feb_first + 12 * 60 + 31));
        assert!(!cron_fires(&c, feb_first + 13 * 60 + 30));
        // January.
        assert!(!cron_fires(&c, 12 * 60 + 30));
    }

    #[test]
    fn cron_that_never_fires_yields_no_runs() {
        assert_eq!(run_times(&cron("0 0 31 2 *"), 0, 0), Vec::<i64>::new());
    }
}
