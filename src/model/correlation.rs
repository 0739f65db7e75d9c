//! Correlation rules as typed values (correlation-rules §2, §6.1).
//!
//! The loader (`load::correlation`) builds a [`CorrelationRule`] from every
//! file, leaving out what is malformed, so a file with errors still yields a
//! partial model. An engine only evaluates files without error diagnostics;
//! for those every `Option` documented as "required" is `Some`, item keys are
//! unique and transitions follow the order of the steps. Times are kept as
//! plain integers (minutes in the file, seconds for test signals) so the
//! engine needs no calendar library; the only calendar arithmetic, cron
//! schedules and RFC 3339 timestamps, lives here as pure functions.

use crate::model::Level;
use crate::source::{Span, Spanned};

/// `LookbackWindowMinutes` when the key is absent (§2.2).
pub const DEFAULT_LOOKBACK_MINUTES: i64 = 15;

/// Panther's smallest lookback window (§4.2).
pub const MIN_LOOKBACK_MINUTES: i64 = 15;

/// One `correlation_rule` file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CorrelationRule {
    /// `Enabled` (required).
    pub enabled: Option<Spanned<bool>>,
    /// `Severity` (required).
    pub severity: Option<Spanned<Level>>,
    /// `DisplayName`.
    pub display_name: Option<Spanned<String>>,
    /// `Description`.
    pub description: Option<Spanned<String>>,
    /// `Runbook`.
    pub runbook: Option<Spanned<String>>,
    /// `Reference`.
    pub reference: Option<Spanned<String>>,
    /// `Tags`.
    pub tags: Option<Vec<Spanned<String>>>,
    /// `SummaryAttributes`.
    pub summary_attributes: Option<Vec<Spanned<String>>>,
    /// `OutputIds`.
    pub output_ids: Option<Vec<Spanned<String>>>,
    /// `CreateAlert`; absent means `true`.
    pub create_alert: Option<Spanned<bool>>,
    /// `Status`.
    pub status: Option<Spanned<String>>,
    /// The detection block (required); `None` when `Detection` is missing
    /// or too malformed to read.
    pub detection: Option<CorrelationDetection>,
    /// `Tests`; `Some(vec![])` for `Tests: []`.
    pub tests: Option<Vec<CorrelationTest>>,
}

impl CorrelationRule {
    /// Whether matches create alerts (`CreateAlert`, default `true`).
    pub fn creates_alerts(&self) -> bool {
        self.create_alert.as_ref().is_none_or(|c| c.value)
    }

    /// Every `RuleID` the items reference, in file order.
    pub fn rule_refs(&self) -> Vec<Spanned<String>> {
        self.detection
            .as_ref()
            .map(|d| d.items.iter().map(|i| i.rule_id.clone()).collect())
            .unwrap_or_default()
    }
}

/// The single element of `Detection` (§2.2).
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationDetection {
    /// Group or Sequence, with the keys only that form allows.
    pub form: Form,
    /// The entries of `Group` or `Sequence`, in file order. Items without a
    /// `RuleID` are left out.
    pub items: Vec<Item>,
    /// `LookbackWindowMinutes`; see [`CorrelationDetection::lookback_minutes`].
    pub lookback_window_minutes: Option<Spanned<i64>>,
    /// `Schedule` (required).
    pub schedule: Option<Schedule>,
    /// `EventEvaluationOrder`: validated, no effect on matching (§3.6).
    pub event_evaluation_order: Option<Spanned<EvaluationOrder>>,
    /// The block mapping.
    pub span: Span,
}

impl CorrelationDetection {
    /// The lookback window in minutes, default 15.
    pub fn lookback_minutes(&self) -> i64 {
        self.lookback_window_minutes
            .as_ref()
            .map_or(DEFAULT_LOOKBACK_MINUTES, |l| l.value)
    }

    /// The item with this key.
    pub fn item_by_key(&self, key: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.key() == key)
    }

    /// Index of the item with this key.
    pub fn item_index(&self, key: &str) -> Option<usize> {
        self.items.iter().position(|i| i.key() == key)
    }

    /// Whether the block is a Sequence.
    pub fn is_sequence(&self) -> bool {
        matches!(self.form, Form::Sequence(_))
    }

    /// Every use of a join field (§3.2), as (item index, field): Group
    /// criteria give their `Match` to item `GroupID`; transition `k` gives
    /// its `On` (or `From`/`To`) to steps `k` and `k + 1`. Entries naming an
    /// unknown item are left out.
    pub fn join_field_uses(&self) -> Vec<(usize, &Spanned<String>)> {
        let mut out = Vec::new();
        match &self.form {
            Form::Group(g) => {
                for c in &g.match_criteria {
                    for e in &c.entries {
                        if let Some(i) = self.item_index(&e.group_id.value) {
                            out.push((i, &e.field));
                        }
                    }
                }
            }
            Form::Sequence(s) => {
                for (k, t) in s.transitions.iter().flatten().enumerate() {
                    let Some(m) = &t.field_match else { continue };
                    if k + 1 < self.items.len() {
                        out.push((k, m.from_spanned()));
                        out.push((k + 1, m.to_spanned()));
                    }
                }
            }
        }
        out
    }

    /// The join fields of every item, indexed like [`Self::items`], each
    /// list deduplicated in first-seen order. An item with an empty list is
    /// unconstrained.
    pub fn join_fields(&self) -> Vec<Vec<&str>> {
        let mut out: Vec<Vec<&str>> = vec![Vec::new(); self.items.len()];
        for (i, f) in self.join_field_uses() {
            if let Some(list) = out.get_mut(i) {
                if !list.contains(&f.value.as_str()) {
                    list.push(&f.value);
                }
            }
        }
        out
    }

    /// Whether any item has a join field (§3.2).
    pub fn uses_field_matching(&self) -> bool {
        self.join_fields().iter().any(|f| !f.is_empty())
    }

    /// Number of items that are not absences.
    pub fn present_count(&self) -> usize {
        self.items.iter().filter(|i| !i.is_absent()).count()
    }

    /// The time frame in minutes of the transition from step `k` to step
    /// `k + 1` (0-based): its `WithinTimeFrameMinutes`, else the lookback.
    pub fn time_frame_minutes(&self, k: usize) -> i64 {
        match &self.form {
            Form::Sequence(s) => s
                .transitions
                .as_ref()
                .and_then(|t| t.get(k))
                .and_then(|t| t.within_time_frame_minutes.as_ref())
                .map_or_else(|| self.lookback_minutes(), |w| w.value),
            Form::Group(_) => self.lookback_minutes(),
        }
    }
}

/// The two forms of a detection block with their form-specific keys.
#[derive(Debug, Clone, PartialEq)]
pub enum Form {
    /// `Group`: all conditions somewhere in the window, any order.
    Group(Group),
    /// `Sequence`: present steps in list order.
    Sequence(Sequence),
}

/// The keys only a Group block has.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    /// `MatchCriteria`, in file order; empty when absent.
    pub match_criteria: Vec<Criterion>,
    /// Group-level `MinMatchCount`; absent means every present item.
    pub min_match_count: Option<Spanned<i64>>,
}

/// The keys only a Sequence block has.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sequence {
    /// `Transitions`; `None` when absent (no field matching, every frame
    /// equals the lookback).
    pub transitions: Option<Vec<Transition>>,
}

/// One entry of `Group` or `Sequence` (§2.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `ID`; the item key falls back to `RuleID` without it.
    pub id: Option<Spanned<String>>,
    /// `RuleID` of the referenced detection.
    pub rule_id: Spanned<String>,
    /// `MinMatchCount`, default 1.
    pub min_match_count: Option<Spanned<i64>>,
    /// `MaxMatchCount`, default unlimited.
    pub max_match_count: Option<Spanned<i64>>,
    /// `Absence`, default `false`.
    pub absence: Option<Spanned<bool>>,
    /// The item mapping.
    pub span: Span,
}

impl Item {
    /// The item key: `ID`, else `RuleID`.
    pub fn key(&self) -> &str {
        self.id
            .as_ref()
            .map_or(self.rule_id.value.as_str(), |i| i.value.as_str())
    }

    /// Where the item key is written.
    pub fn key_span(&self) -> Span {
        self.id.as_ref().map_or(self.rule_id.span, |i| i.span)
    }

    /// Whether the item must not be found.
    pub fn is_absent(&self) -> bool {
        self.absence.as_ref().is_some_and(|a| a.value)
    }

    /// The minimum number of qualifying signals, default 1.
    pub fn min(&self) -> i64 {
        self.min_match_count.as_ref().map_or(1, |m| m.value)
    }

    /// The maximum number of qualifying signals, if any.
    pub fn max(&self) -> Option<i64> {
        self.max_match_count.as_ref().map(|m| m.value)
    }
}

/// One named entry of `MatchCriteria` (§2.4).
#[derive(Debug, Clone, PartialEq)]
pub struct Criterion {
    /// The criterion's free label.
    pub name: Spanned<String>,
    /// Its `{GroupID, Match}` entries.
    pub entries: Vec<CriterionEntry>,
}

/// `{GroupID, Match}`: item `group_id` joins on `field`.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionEntry {
    /// `GroupID`: an item key.
    pub group_id: Spanned<String>,
    /// `Match`: a dotted field path of that item's signals.
    pub field: Spanned<String>,
    /// The entry mapping.
    pub span: Span,
}

/// One entry of `Transitions` (§2.5).
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// `ID`: a label.
    pub id: Option<Spanned<String>>,
    /// `From`: key of step `k`.
    pub from: Spanned<String>,
    /// `To`: key of step `k + 1`.
    pub to: Spanned<String>,
    /// `WithinTimeFrameMinutes`; default the lookback window.
    pub within_time_frame_minutes: Option<Spanned<i64>>,
    /// `Match`, when present and well formed.
    pub field_match: Option<FieldMatch>,
    /// The transition mapping.
    pub span: Span,
}

/// The single element of a transition's `Match`.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldMatch {
    /// `On`: the same field on both steps.
    On(Spanned<String>),
    /// `From`/`To`: a field of step `k` and one of step `k + 1`.
    FromTo {
        /// Field of step `k`.
        from: Spanned<String>,
        /// Field of step `k + 1`.
        to: Spanned<String>,
    },
}

impl FieldMatch {
    /// The field used for step `k`.
    pub fn from_field(&self) -> &str {
        match self {
            FieldMatch::On(f) | FieldMatch::FromTo { from: f, .. } => &f.value,
        }
    }

    /// The field used for step `k + 1`.
    pub fn to_field(&self) -> &str {
        match self {
            FieldMatch::On(f) | FieldMatch::FromTo { to: f, .. } => &f.value,
        }
    }

    /// The field used for step `k`, with its span.
    pub fn from_spanned(&self) -> &Spanned<String> {
        match self {
            FieldMatch::On(f) | FieldMatch::FromTo { from: f, .. } => f,
        }
    }

    /// The field used for step `k + 1`, with its span.
    pub fn to_spanned(&self) -> &Spanned<String> {
        match self {
            FieldMatch::On(f) | FieldMatch::FromTo { to: f, .. } => f,
        }
    }
}

/// `EventEvaluationOrder` (§3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvaluationOrder {
    /// `Chronological`.
    Chronological,
    /// `ReverseChronological`.
    ReverseChronological,
}

impl EvaluationOrder {
    /// Both values with their spelling.
    pub const ALL: &'static [(EvaluationOrder, &'static str)] = &[
        (EvaluationOrder::Chronological, "Chronological"),
        (EvaluationOrder::ReverseChronological, "ReverseChronological"),
    ];

    /// Parses the exact spelling.
    pub fn from_name(s: &str) -> Option<EvaluationOrder> {
        Self::ALL.iter().find(|(_, n)| *n == s).map(|(o, _)| *o)
    }
}

/// `Schedule` (§2.6).
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// When runs happen; `None` when neither or both keys are valid.
    pub trigger: Option<Trigger>,
    /// `TimeoutMinutes` (required).
    pub timeout_minutes: Option<Spanned<i64>>,
    /// The `Schedule` mapping.
    pub span: Span,
}

/// `RateMinutes` or `CronExpression`.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// Every N minutes.
    Rate(Spanned<i64>),
    /// A five-field cron expression, in UTC.
    Cron(Spanned<Cron>),
}

impl Trigger {
    /// The longest time between two runs in minutes (`R` of §4.2); `None`
    /// for a cron expression that never fires.
    pub fn interval_minutes(&self) -> Option<i64> {
        match self {
            Trigger::Rate(r) => Some(r.value),
            Trigger::Cron(c) => c.value.max_gap_minutes(),
        }
    }

    /// Where the trigger is written.
    pub fn span(&self) -> Span {
        match self {
            Trigger::Rate(r) => r.span,
            Trigger::Cron(c) => c.span,
        }
    }
}

/// A parsed five-field cron expression: the allowed values of each field
/// as bit sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    /// Minutes 0–59.
    pub minutes: u64,
    /// Hours 0–23.
    pub hours: u64,
    /// Days of the month 1–31.
    pub days_of_month: u64,
    /// Months 1–12.
    pub months: u64,
    /// Days of the week 0–6, Sunday = 0.
    pub days_of_week: u64,
    /// Whether day-of-month is not `*` (cron's "either day field" rule).
    pub dom_restricted: bool,
    /// Whether day-of-week is not `*`.
    pub dow_restricted: bool,
}

const MONTH_NAMES: &[&str] = &[
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAY_NAMES: &[&str] = &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl Cron {
    /// Parses `minute hour day-of-month month day-of-week`: `*`, numbers,
    /// ranges `a-b`, steps `/n`, lists `a,b`, month and day names, and `7`
    /// for Sunday.
    ///
    /// # Errors
    /// A lowercase message naming the first bad field.
    pub fn parse(text: &str) -> Result<Cron, String> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(format!("has {} fields, expected 5", fields.len()));
        }
        let minutes = parse_field(fields[0], "minute", 0, 59, &[])?;
        let hours = parse_field(fields[1], "hour", 0, 23, &[])?;
        let days_of_month = parse_field(fields[2], "day-of-month", 1, 31, &[])?;
        let months = parse_field(fields[3], "month", 1, 12, MONTH_NAMES)?;
        let mut days_of_week = parse_field(fields[4], "day-of-week", 0, 7, DAY_NAMES)?;
        if days_of_week & (1 << 7) != 0 {
            days_of_week = (days_of_week & !(1 << 7)) | 1;
        }
        Ok(Cron {
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            dom_restricted: !is_star(fields[2]),
            dow_restricted: !is_star(fields[4]),
        })
    }

    /// Whether the expression fires on a calendar day.
    fn fires_on(&self, month: u32, day: u32, weekday: u32) -> bool {
        if self.months & (1 << month) == 0 {
            return false;
        }
        let dom = self.days_of_month & (1 << day) != 0;
        let dow = self.days_of_week & (1 << weekday) != 0;
        match (self.dom_restricted, self.dow_restricted) {
            (true, true) => dom || dow,
            (true, false) => dom,
            (false, true) => dow,
            (false, false) => true,
        }
    }

    /// The longest time in minutes between two consecutive firings, in UTC;
    /// `None` when it never fires. Days are scanned over 28 years, which
    /// contain every combination of weekday, month and leap year.
    pub fn max_gap_minutes(&self) -> Option<i64> {
        let times: Vec<i64> = (0..24)
            .filter(|h| self.hours & (1 << h) != 0)
            .flat_map(|h| {
                (0..60)
                    .filter(|m| self.minutes & (1 << m) != 0)
                    .map(move |m| h * 60 + m)
            })
            .collect();
        let (first, last) = (times.first().copied()?, times.last().copied()?);
        let in_day = times.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
        let mut max = in_day;
        let mut prev_day: Option<i64> = None;
        // Days since 1970-01-01 of 2024-01-01, a Monday; 28 years cover
        // every weekday/leap-year combination.
        let start = days_from_civil(2024, 1, 1);
        for d in start..start + 28 * 366 {
            let (_, m, day) = civil_from_days(d);
            let weekday = (d + 4).rem_euclid(7) as u32;
            if !self.fires_on(m, day, weekday) {
                continue;
            }
            if let Some(p) = prev_day {
                max = max.max((d - p) * 1440 + first - last);
            }
            prev_day = Some(d);
        }
        prev_day?;
        Some(max)
    }
}

fn is_star(field: &str) -> bool {
    field == "*" || field == "?"
}

/// One cron field as a bit set of allowed values.
fn parse_field(field: &str, what: &str, lo: u32, hi: u32, names: &[&str]) -> Result<u64, String> {
    let mut set = 0u64;
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let step: u32 = s
                    .parse()
                    .ok()
                    .filter(|&n| n >= 1)
                    .ok_or_else(|| format!("has the {what} step `{s}`, expected a positive number"))?;
                (r, step)
            }
            None => (part, 1),
        };
        let (a, b) = if range == "*" || range == "?" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, what, lo, hi, names)?, value(b, what, lo, hi, names)?)
        } else {
            let a = value(range, what, lo, hi, names)?;
            (a, if part.contains('/') { hi } else { a })
        };
        if a > b {
            return Err(format!("has the {what} range `{range}` that runs backwards"));
        }
        let mut v = a;
        while v <= b {
            set |= 1 << v;
            v += step;
        }
    }
    Ok(set)
}

fn value(text: &str, what: &str, lo: u32, hi: u32, names: &[&str]) -> Result<u32, String> {
    if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
        // Month names count from 1, day names from 0.
        return Ok(i as u32 + lo);
    }
    match text.parse::<u32>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(format!("has the {what} value `{text}`, expected {lo}–{hi}")),
    }
}

/// One unit test of a correlation rule (§6.1).
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationTest {
    /// `Name`.
    pub name: Option<Spanned<String>>,
    /// `ExpectedResult`.
    pub expected: Option<Spanned<bool>>,
    /// `RuleOutputs`, in file order.
    pub rule_outputs: Vec<RuleOutput>,
    /// The test mapping.
    pub span: Span,
}

impl CorrelationTest {
    /// Every signal of the test, in file order (§6.2).
    pub fn signals(&self) -> impl Iterator<Item = Signal<'_>> {
        self.rule_outputs.iter().flat_map(|ro| {
            ro.matches.iter().flat_map(move |f| {
                f.values.iter().flat_map(move |v| {
                    v.timestamps.iter().map(move |t| Signal {
                        item: &ro.id.value,
                        field: &f.field.value,
                        value: v.value.value.as_deref(),
                        time: t.value.seconds(),
                    })
                })
            })
        })
    }
}

/// One signal built from a test: one (field, value, timestamp) entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal<'a> {
    /// The item key it belongs to.
    pub item: &'a str,
    /// The one field it carries (exact text of the `Matches` key).
    pub field: &'a str,
    /// The field's canonical text; `None` for null.
    pub value: Option<&'a str>,
    /// Seconds: relative minutes × 60, or seconds since the Unix epoch.
    pub time: i64,
}

/// One entry of `RuleOutputs`.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleOutput {
    /// `ID`: an item key.
    pub id: Spanned<String>,
    /// `Matches`, in file order; empty when absent.
    pub matches: Vec<FieldSignals>,
    /// The rule-output mapping.
    pub span: Span,
}

/// The signals listed under one field name of `Matches`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSignals {
    /// The field path, exactly as written.
    pub field: Spanned<String>,
    /// The values with their timestamps.
    pub values: Vec<ValueSignals>,
}

/// The signals with one value of a field.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueSignals {
    /// The canonical text of the value key (§3.2); `None` for a null key.
    pub value: Spanned<Option<String>>,
    /// One timestamp per signal.
    pub timestamps: Vec<Spanned<Timestamp>>,
}

/// A test timestamp (§6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timestamp {
    /// Integer minutes from the test's common origin.
    Relative(i64),
    /// An RFC 3339 instant as seconds since the Unix epoch (fractions
    /// truncated towards the past).
    Absolute(i64),
}

impl Timestamp {
    /// The time in seconds, one scale for both kinds.
    pub fn seconds(self) -> i64 {
        match self {
            Timestamp::Relative(m) => m.saturating_mul(60),
            Timestamp::Absolute(s) => s,
        }
    }

    /// Whether this is an absolute timestamp.
    pub fn is_absolute(self) -> bool {
        matches!(self, Timestamp::Absolute(_))
    }
}

/// Parses an RFC 3339 date-time (`2024-06-01T10:00:01Z`, `…+02:00`,
/// optional fractional seconds; `t`, `z` and a space separator accepted)
/// into seconds since the Unix epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let year = num(0..4)?;
    let month = num(5..7)?;
    let day = num(8..10)?;
    let hour = num(11..13)?;
    let minute = num(14..16)?;
    let second = num(17..19)?;
    if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    // 60 admits a leap second.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = frac.get(digits..)?;
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let rb = rest.as_bytes();
            if rb.len() != 6 || !matches!(rb[0], b'+' | b'-') || rb[3] != b':' {
                return None;
            }
            let oh = num_in(rest, 1..3)?;
            let om = num_in(rest, 4..6)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let sign = if rb[0] == b'-' { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
    };
    let days = days_from_civil(year, month as u32, day as u32);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Formats seconds since the Unix epoch as an RFC 3339 date-time in UTC
/// (`2024-06-01T10:00:01Z`), the inverse of [`parse_rfc3339`] for whole
/// seconds.
pub fn format_rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn num_in(s: &str, r: std::ops::Range<usize>) -> Option<i64> {
    let part = s.get(r)?;
    if part.bytes().all(|c| c.is_ascii_digit()) {
        part.parse().ok()
    } else {
        None
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of
/// [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_parses_offsets_and_fractions() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-06-01T10:00:01Z"), Some(1_717_236_001));
        assert_eq!(parse_rfc3339("2024-06-01T12:00:01.250+02:00"), Some(1_717_236_001));
        assert_eq!(parse_rfc3339("2024-06-01 10:00:01z"), Some(1_717_236_001));
        assert_eq!(parse_rfc3339("2024-02-30T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2024-06-01T10:00:01"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn rfc3339_formats_what_it_parses() {
        for t in ["1970-01-01T00:00:00Z", "2024-06-01T10:00:01Z", "1969-12-31T23:59:59Z"] {
            assert_eq!(parse_rfc3339(t).map(format_rfc3339).as_deref(), Some(t));
        }
    }

    #[test]
    fn civil_round_trip() {
        for d in [-1000, 0, 19_723, 19_782, 40_000] {
            let (y, m, day) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, day), d);
        }
    }

    #[test]
    fn cron_parses_and_measures_gaps() {
        assert_eq!(Cron::parse("0 */4 * * *").map(|c| c.max_gap_minutes()), Ok(Some(240)));
        assert_eq!(Cron::parse("*/5 * * * *").map(|c| c.max_gap_minutes()), Ok(Some(5)));
        assert_eq!(
            Cron::parse("30 9 * * MON-FRI").map(|c| c.max_gap_minutes()),
            Ok(Some(3 * 1440))
        );
        assert_eq!(
            Cron::parse("0 0 1 1 *").map(|c| c.max_gap_minutes()),
            Ok(Some(366 * 1440))
        );
        assert_eq!(Cron::parse("0 0 30 2 *").map(|c| c.max_gap_minutes()), Ok(None));
        assert!(Cron::parse("0 0 * *").is_err_and(|e| e.contains("4 fields")));
        assert!(Cron::parse("61 * * * *").is_err());
        assert!(Cron::parse("5-1 * * * *").is_err());
        assert!(Cron::parse("*/0 * * * *").is_err());
    }
}
