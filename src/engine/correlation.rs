//! The correlation engine: Group and Sequence rules evaluated over signals
//! (correlation-rules §3, §4.3, §6.4), with explanations of each result.
//!
//! A [`Correlation`] is compiled once from a rule's detection block: item
//! keys, join fields, counts, and the lookback window and time frames in
//! seconds. Signals go into a [`SignalsBuilder`], which interns every join
//! value as a number and files each signal under its item and the join
//! values it qualifies for; [`SignalsBuilder::finish`] sorts once and
//! returns [`Signals`], an index by item, join value and time. A run
//! ([`Correlation::evaluate`]) then reads one window of that index: the
//! visible part of every bucket is a sub-slice found by binary search, so a
//! run allocates a few buffers and nothing per signal.
//!
//! Groups count signals per item (§3.3). Sequences (§3.4) are not decided
//! by the backtracking search written in §6.4 but by a forward pass that
//! gives the same answer: for each present step in order it marks which of
//! the step's completion times can be reached from some admissible
//! completion of the previous present step. Order, count, time frame and
//! any absence in between are conditions on that pair of times alone, so a
//! completion is reachable exactly when some choice of earlier times leads
//! to it; absences before the first and after the last present step are
//! conditions on one time. The pass is linear in the signals of one join
//! value (two pointers over sorted times) where the search can be
//! exponential; the unit tests compare the two on random inputs.
//!
//! The engine knows nothing of files or reports. [`Correlation::test_signals`]
//! turns a unit test's `RuleOutputs` into signals (§6.2); a test runner
//! picks the evaluation time (§6.3) and compares the result.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::sync::OnceLock;

use super::explain::mark;
use crate::model::correlation::{CorrelationDetection, CorrelationTest, Form, format_rfc3339};

/// The interned id of the null value (a missing or null join field).
const NULL: u32 = 0;

/// How many times, join values or signals an explanation lists before it
/// abbreviates.
const SHOWN: usize = 8;

/// A correlation rule compiled for evaluation.
#[derive(Debug, Clone)]
pub struct Correlation {
    steps: Box<[Step]>,
    /// Indices of the present items, in order.
    present: Box<[usize]>,
    /// Present items that have join fields: their signals propose the
    /// candidate join values (§3.2).
    proposers: Box<[usize]>,
    /// Group-level `MinMatchCount`; `None` for a Sequence.
    group_min: Option<usize>,
    /// `W(k)` in seconds: the frame of the transition from step `k` to
    /// step `k + 1`. Empty for a Group.
    frames: Box<[i64]>,
    /// `LookbackWindowMinutes` in seconds.
    lookback: i64,
    lookback_minutes: i64,
    field_matching: bool,
}

/// One item (step) of a compiled rule.
#[derive(Debug, Clone)]
struct Step {
    key: Box<str>,
    rule_id: Box<str>,
    /// Join fields; empty for an unconstrained item.
    fields: Box<[Box<str>]>,
    min: usize,
    max: Option<usize>,
    absent: bool,
}

/// Why a detection block cannot be evaluated. Only blocks that the loader
/// reports errors for produce one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CompileError(String);

/// One value of a signal's join field (§3.2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum JoinValue<'a> {
    /// A missing or null field: the null value, which equals null.
    Null,
    /// A string, compared as it is (case-sensitive, no trimming).
    Text(&'a str),
    /// An integer, compared as its decimal text.
    Int(i64),
    /// A boolean, compared as `true` or `false`.
    Bool(bool),
    /// An array (`p_any_*` fields): equals each of its elements. Elements
    /// that are arrays or objects equal nothing; an empty array has no
    /// value at all.
    List(&'a [JoinValue<'a>]),
    /// An object, or anything else that equals nothing.
    Opaque,
}

/// The join value of a match (§4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKey<'a> {
    /// The rule uses no field matching: one match for all signals.
    Any,
    /// The null value: signals without the join field.
    Null,
    /// A value's canonical text.
    Text(&'a str),
}

impl fmt::Display for JoinKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinKey::Any => f.write_str("any value"),
            JoinKey::Null => f.write_str("null"),
            JoinKey::Text(s) => write!(f, "`{s}`"),
        }
    }
}

/// How an explanation shows times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// Minutes from an arbitrary origin (relative test timestamps).
    Minutes,
    /// RFC 3339 date-times in UTC.
    Rfc3339,
}

impl Correlation {
    /// Compiles a detection block.
    ///
    /// # Errors
    /// A block the loader reports as an error: no items, no present item,
    /// a count below 1, a maximum below the minimum, a group minimum out of
    /// range, or a negative lookback or time frame.
    pub fn compile(d: &CorrelationDetection) -> Result<Correlation, CompileError> {
        let err = |m: String| Err(CompileError(m));
        if d.items.is_empty() {
            return err("the rule has no items".to_owned());
        }
        let joins = d.join_fields();
        let mut steps = Vec::with_capacity(d.items.len());
        for (i, item) in d.items.iter().enumerate() {
            let min = item.min();
            if min < 1 {
                return err(format!("item `{}`: MinMatchCount must be at least 1", item.key()));
            }
            let max = match item.max() {
                Some(m) if m < min && !item.is_absent() => {
                    return err(format!(
                        "item `{}`: MaxMatchCount ({m}) is smaller than MinMatchCount ({min})",
                        item.key()
                    ));
                }
                // MaxMatchCount on an absent item is ignored (§3.3).
                Some(_) if item.is_absent() => None,
                m => m,
            };
            steps.push(Step {
                key: item.key().into(),
                rule_id: item.rule_id.value.as_str().into(),
                fields: joins
                    .get(i)
                    .map(|f| f.iter().map(|s| (*s).into()).collect())
                    .unwrap_or_default(),
                min: usize::try_from(min).unwrap_or(usize::MAX),
                max: max.map(|m| usize::try_from(m).unwrap_or(usize::MAX)),
                absent: item.is_absent(),
            });
        }
        let present: Box<[usize]> = (0..steps.len()).filter(|&i| !steps[i].absent).collect();
        if present.is_empty() {
            return err("every item is an absence; at least one must be present".to_owned());
        }
        let proposers = present
            .iter()
            .copied()
            .filter(|&i| !steps[i].fields.is_empty())
            .collect();
        let field_matching = steps.iter().any(|s| !s.fields.is_empty());
        let lookback_minutes = d.lookback_minutes();
        if lookback_minutes < 0 {
            return err(format!("LookbackWindowMinutes is negative ({lookback_minutes})"));
        }
        let (group_min, frames) = match &d.form {
            Form::Group(g) => {
                let n = present.len();
                let min = match &g.min_match_count {
                    None => n,
                    Some(m) => match usize::try_from(m.value) {
                        Ok(m) if (1..=n).contains(&m) => m,
                        _ => {
                            return err(format!(
                                "group MinMatchCount is {} but the group has {n} present items",
                                m.value
                            ));
                        }
                    },
                };
                (Some(min), Box::default())
            }
            Form::Sequence(_) => {
                let mut frames = Vec::with_capacity(steps.len().saturating_sub(1));
                for k in 0..steps.len().saturating_sub(1) {
                    let w = d.time_frame_minutes(k);
                    if w < 0 {
                        return err(format!("transition {}: WithinTimeFrameMinutes is negative", k + 1));
                    }
                    frames.push(w.saturating_mul(60));
                }
                (None, frames.into_boxed_slice())
            }
        };
        Ok(Correlation {
            steps: steps.into_boxed_slice(),
            present,
            proposers,
            group_min,
            frames,
            lookback: lookback_minutes.saturating_mul(60),
            lookback_minutes,
            field_matching,
        })
    }

    /// The number of items (steps).
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether the rule has no items (never true for a compiled rule).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Whether the rule is a Sequence.
    pub fn is_sequence(&self) -> bool {
        self.group_min.is_none()
    }

    /// `LookbackWindowMinutes`.
    pub fn lookback_minutes(&self) -> i64 {
        self.lookback_minutes
    }

    /// The index of the item with this key.
    pub fn item_index(&self, key: &str) -> Option<usize> {
        self.steps.iter().position(|s| &*s.key == key)
    }

    /// The items that reference `rule_id`: a signal of that detection
    /// belongs to each of them.
    pub fn items_for_rule<'s>(&'s self, rule_id: &'s str) -> impl Iterator<Item = usize> + 's {
        self.steps
            .iter()
            .enumerate()
            .filter(move |(_, s)| &*s.rule_id == rule_id)
            .map(|(i, _)| i)
    }

    /// The join fields of an item, in the order [`SignalsBuilder::push`]
    /// expects their values.
    pub fn join_fields(&self, item: usize) -> &[Box<str>] {
        self.steps.get(item).map_or(&[], |s| &s.fields)
    }

    /// A collector for signals to evaluate this rule on.
    pub fn signals(&self) -> SignalsBuilder<'_> {
        SignalsBuilder {
            rule: self,
            ids: HashMap::new(),
            items: vec![Pending::default(); self.steps.len()],
            vals: Vec::new(),
            ends: Vec::new(),
            number: String::new(),
            count: 0,
            range: None,
        }
    }

    /// The signals of a unit test (§6.2): one per (field, value,
    /// timestamp) entry, belonging to the item its rule output names, with
    /// exactly the one field it is listed under. Also says how the test
    /// writes its times.
    ///
    /// # Errors
    /// A rule output naming no item of the rule, or relative and absolute
    /// timestamps mixed in one test.
    pub fn test_signals(&self, test: &CorrelationTest) -> Result<(Signals, TimeFormat), String> {
        let mut b = self.signals();
        let mut kinds = (false, false);
        for ro in &test.rule_outputs {
            let Some(item) = self.item_index(&ro.id.value) else {
                return Err(format!(
                    "`RuleOutputs` ID `{}` is not an item of this rule",
                    ro.id.value
                ));
            };
            for f in &ro.matches {
                for v in &f.values {
                    for t in &v.timestamps {
                        if t.value.is_absolute() {
                            kinds.1 = true;
                        } else {
                            kinds.0 = true;
                        }
                        b.push_field(item, t.value.seconds(), &f.field.value, v.value.value.as_deref());
                    }
                }
            }
        }
        let format = match kinds {
            (true, true) => {
                return Err(
                    "relative (integer) and absolute (RFC 3339) timestamps are mixed; use one kind per test".to_owned(),
                );
            }
            (_, true) => TimeFormat::Rfc3339,
            _ => TimeFormat::Minutes,
        };
        Ok((b.finish(), format))
    }

    /// Whether the rule matches in the run at `t_end` (§6.4 `evaluate`):
    /// for at least one candidate join value, over the signals in the
    /// window `[t_end − lookback, t_end]`.
    pub fn evaluate(&self, signals: &Signals, t_end: i64) -> bool {
        let w = Window::new(self, signals, t_end);
        let mut scratch = Scratch::default();
        w.candidates().any(|k| self.matches_key(&w, k, &mut scratch))
    }

    /// Every join value for which the rule matches in the run at `t_end`:
    /// one match each (§4.3), in the order the values were first seen.
    pub fn matching_values<'s>(&self, signals: &'s Signals, t_end: i64) -> Vec<JoinKey<'s>> {
        let w = Window::new(self, signals, t_end);
        let mut scratch = Scratch::default();
        w.candidates()
            .filter(|&k| self.matches_key(&w, k, &mut scratch))
            .map(|k| signals.key(k))
            .collect()
    }

    fn matches_key<'a>(&self, w: &Window<'a>, key: Option<u32>, scratch: &mut Scratch<'a>) -> bool {
        w.fill(key, &mut scratch.times);
        match self.group_min {
            Some(min) => self.group_matches(&scratch.times, min),
            None => self.sequence_matches(&scratch.times, &mut scratch.reach),
        }
    }

    /// §3.3 for one join value; `c[i]` are the qualifying visible times of
    /// item `i`.
    fn group_matches(&self, c: &[&[i64]], min: usize) -> bool {
        let mut satisfied = 0;
        for (s, times) in self.steps.iter().zip(c) {
            let n = times.len();
            if s.absent {
                if n >= s.min {
                    return false;
                }
            } else if n >= s.min && s.max.is_none_or(|m| n <= m) {
                satisfied += 1;
            }
        }
        satisfied >= min
    }

    /// §3.4 for one join value; `c[k]` are the qualifying visible times of
    /// step `k`, sorted.
    fn sequence_matches(&self, c: &[&[i64]], reach: &mut [Vec<u32>; 2]) -> bool {
        if self.present.iter().any(|&k| self.exceeds_max(k, c)) {
            return false;
        }
        let [prev, cur] = reach;
        let Some((&first, rest)) = self.present.split_first() else {
            return false;
        };
        self.reach_first(first, c, prev);
        let mut k = first;
        for &q in rest {
            if !any_marked(prev) {
                return false;
            }
            self.reach_next(k, q, c, prev, cur);
            std::mem::swap(prev, cur);
            k = q;
        }
        self.first_completing(k, c, prev).is_some()
    }

    fn exceeds_max(&self, k: usize, c: &[&[i64]]) -> bool {
        self.steps[k].max.is_some_and(|m| c[k].len() > m)
    }

    /// Marks the completion times of the first present step `k`: at least
    /// `MinMatchCount` signals at or before it, and no absence before the
    /// step violated within its frame (§3.4 rules 1 and 5). `out` becomes
    /// prefix counts of the marks over the positions of `c[k]`.
    fn reach_first(&self, k: usize, c: &[&[i64]], out: &mut Vec<u32>) {
        let times = c[k];
        let m = self.steps[k].min;
        out.clear();
        out.push(0);
        let mut upto = 0;
        let mut marked = 0;
        for &t in times {
            while upto < times.len() && times[upto] <= t {
                upto += 1;
            }
            let ok = upto >= m && (0..k).all(|a| self.leading_absence_clear(a, c, t));
            marked += u32::from(ok);
            out.push(marked);
        }
    }

    /// Whether absent step `a`, before every present step, has fewer than
    /// `MinMatchCount` signals in `[t − W(a), t]`.
    fn leading_absence_clear(&self, a: usize, c: &[&[i64]], t: i64) -> bool {
        let w = self.frames.get(a).copied().unwrap_or(self.lookback);
        count_in(c[a], t.saturating_sub(w), t) < self.steps[a].min
    }

    /// Whether absent step `a`, after every present step, has fewer than
    /// `MinMatchCount` signals in `[t, t + W(a − 1)]`.
    fn trailing_absence_clear(&self, a: usize, c: &[&[i64]], t: i64) -> bool {
        let w = a
            .checked_sub(1)
            .and_then(|p| self.frames.get(p))
            .copied()
            .unwrap_or(self.lookback);
        count_in(c[a], t, t.saturating_add(w)) < self.steps[a].min
    }

    /// The sum of the frames from step `k` to step `q`.
    fn frame_sum(&self, k: usize, q: usize) -> i64 {
        self.frames
            .get(k..q)
            .unwrap_or(&[])
            .iter()
            .fold(0i64, |s, w| s.saturating_add(*w))
    }

    /// The earliest time the previous present step `k` may complete for
    /// step `q` to complete at `t2`, given the absent steps between them:
    /// each must have fewer than its `MinMatchCount` signals in
    /// `[τ(k), t2]`.
    fn absence_floor(&self, k: usize, q: usize, c: &[&[i64]], t2: i64) -> i64 {
        let mut floor = i64::MIN;
        for (times, step) in c.iter().zip(self.steps.iter()).take(q).skip(k + 1) {
            let m = step.min;
            let upto = times.partition_point(|&t| t <= t2);
            if upto >= m {
                floor = floor.max(times[upto - m].saturating_add(1));
            }
        }
        floor
    }

    /// The times `τ(k)` of the previous present step from which step `q`
    /// can complete at `t2` (inclusive bounds), ignoring whether `τ(k)`
    /// itself is reachable; `None` when `q` has too few signals up to
    /// `t2`. `upto` is the number of signals of `q` at or before `t2`.
    fn pair_bounds(&self, k: usize, q: usize, c: &[&[i64]], t2: i64, upto: usize) -> Option<(i64, i64)> {
        let m = self.steps[q].min;
        if upto < m {
            return None;
        }
        // At least `m` signals of `q` in [τ(k), t2]: τ(k) at or before the
        // m-th latest signal up to t2. This also gives τ(k) ≤ t2.
        let hi = c[q][upto - m];
        let lo = t2
            .saturating_sub(self.frame_sum(k, q))
            .max(self.absence_floor(k, q, c, t2));
        Some((lo, hi))
    }

    /// Marks the completion times of present step `q` reachable from the
    /// marked completions of the previous present step `k` (prefix counts
    /// in `prev`); writes prefix counts to `out`.
    fn reach_next(&self, k: usize, q: usize, c: &[&[i64]], prev: &[u32], out: &mut Vec<u32>) {
        let (ck, cq) = (c[k], c[q]);
        out.clear();
        out.push(0);
        let (mut upto, mut from, mut to) = (0, 0, 0);
        let mut marked = 0;
        for &t2 in cq {
            while upto < cq.len() && cq[upto] <= t2 {
                upto += 1;
            }
            let mut ok = false;
            if let Some((lo, hi)) = self.pair_bounds(k, q, c, t2, upto) {
                // Both bounds never decrease as t2 grows: two pointers.
                while from < ck.len() && ck[from] < lo {
                    from += 1;
                }
                while to < ck.len() && ck[to] <= hi {
                    to += 1;
                }
                ok = to > from && prev[to] > prev[from];
            }
            marked += u32::from(ok);
            out.push(marked);
        }
    }

    /// The first position of last present step `k` that is marked in
    /// `reach` and clears every absence after it.
    fn first_completing(&self, k: usize, c: &[&[i64]], reach: &[u32]) -> Option<usize> {
        (0..c[k].len()).find(|&j| {
            reach[j + 1] > reach[j] && (k + 1..self.steps.len()).all(|a| self.trailing_absence_clear(a, c, c[k][j]))
        })
    }
}

/// Whether prefix counts mark any position.
fn any_marked(prefix: &[u32]) -> bool {
    prefix.last().is_some_and(|&n| n > 0)
}

/// The number of sorted `times` in `[lo, hi]`.
fn count_in(times: &[i64], lo: i64, hi: i64) -> usize {
    let a = times.partition_point(|&t| t < lo);
    let b = times.partition_point(|&t| t <= hi);
    b.saturating_sub(a)
}

/// Buffers reused across the join values of one run.
#[derive(Default)]
struct Scratch<'a> {
    times: Vec<&'a [i64]>,
    reach: [Vec<u32>; 2],
}

/// A collector of signals for one compiled rule.
#[derive(Debug)]
pub struct SignalsBuilder<'c> {
    rule: &'c Correlation,
    /// Interned join values; ids start at 1, 0 is null.
    ids: HashMap<Box<str>, u32>,
    items: Vec<Pending>,
    /// The values of every join field of the signal being added.
    vals: Vec<u32>,
    /// Where each join field's values end in `vals`.
    ends: Vec<usize>,
    /// Text of an integer value.
    number: String,
    count: usize,
    range: Option<(i64, i64)>,
}

/// The signals of one item while collecting.
#[derive(Debug, Clone, Default)]
struct Pending {
    /// Times of an item without join fields.
    times: Vec<i64>,
    /// (value, time) for each value a signal qualifies for.
    pairs: Vec<(u32, i64)>,
    /// (value, time) for each value a signal proposes as a candidate,
    /// kept only for present items with several join fields (otherwise
    /// the qualifying values are the proposed ones).
    proposed: Vec<(u32, i64)>,
}

impl SignalsBuilder<'_> {
    /// Adds a signal of item `item` (see [`Correlation::items_for_rule`]) at
    /// `time` seconds. `values[j]` is the value of the item's `j`-th join
    /// field ([`Correlation::join_fields`]); missing entries are null.
    /// Returns `false`, and adds nothing, when `item` is out of range.
    pub fn push(&mut self, item: usize, time: i64, values: &[JoinValue<'_>]) -> bool {
        let rule = self.rule;
        let Some(step) = rule.steps.get(item) else {
            return false;
        };
        self.vals.clear();
        self.ends.clear();
        for j in 0..step.fields.len() {
            self.add(values.get(j).copied().unwrap_or(JoinValue::Null), true);
            self.ends.push(self.vals.len());
        }
        self.record(item, time);
        true
    }

    /// Adds a signal that carries one field, as unit tests write them
    /// (§6.2): the item's join fields other than `field` are missing.
    /// `value` is the canonical text, `None` for null. Returns `false`
    /// when `item` is out of range.
    pub fn push_field(&mut self, item: usize, time: i64, field: &str, value: Option<&str>) -> bool {
        let rule = self.rule;
        let Some(step) = rule.steps.get(item) else {
            return false;
        };
        self.vals.clear();
        self.ends.clear();
        for f in &step.fields {
            let v = match value {
                Some(text) if &**f == field => JoinValue::Text(text),
                _ => JoinValue::Null,
            };
            self.add(v, true);
            self.ends.push(self.vals.len());
        }
        self.record(item, time);
        true
    }

    fn intern(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = u32::try_from(self.ids.len() + 1).unwrap_or(u32::MAX);
        self.ids.insert(text.into(), id);
        id
    }

    fn add(&mut self, v: JoinValue<'_>, top: bool) {
        let id = match v {
            JoinValue::Null => NULL,
            JoinValue::Text(s) => self.intern(s),
            JoinValue::Bool(b) => self.intern(if b { "true" } else { "false" }),
            JoinValue::Int(i) => {
                let mut number = std::mem::take(&mut self.number);
                number.clear();
                let _ = write!(number, "{i}");
                let id = self.intern(&number);
                self.number = number;
                id
            }
            JoinValue::List(items) => {
                if top {
                    for x in items {
                        self.add(*x, false);
                    }
                }
                return;
            }
            JoinValue::Opaque => return,
        };
        self.vals.push(id);
    }

    /// Files the signal whose join values are in `vals`/`ends`.
    fn record(&mut self, item: usize, time: i64) {
        self.count += 1;
        self.range = Some(self.range.map_or((time, time), |(a, b)| (a.min(time), b.max(time))));
        let step = &self.rule.steps[item];
        let pending = &mut self.items[item];
        if step.fields.is_empty() {
            pending.times.push(time);
            return;
        }
        // The values the signal qualifies for: those of every join field
        // (§3.2), each once.
        let first_end = self.ends.first().copied().unwrap_or(0);
        let (first, others) = self.vals.split_at_mut(first_end);
        first.sort_unstable();
        let mut last = None;
        for &v in first.iter() {
            if last == Some(v) {
                continue;
            }
            last = Some(v);
            let in_all = self
                .ends
                .windows(2)
                .all(|w| others[w[0] - first_end..w[1] - first_end].contains(&v));
            if in_all {
                pending.pairs.push((v, time));
            }
        }
        if step.fields.len() > 1 && !step.absent {
            self.vals.sort_unstable();
            self.vals.dedup();
            pending.proposed.extend(self.vals.iter().map(|&v| (v, time)));
        }
    }

    /// Sorts and indexes the signals.
    pub fn finish(self) -> Signals {
        let mut texts: Vec<Box<str>> = vec![Box::default(); self.ids.len() + 1];
        for (text, id) in self.ids {
            if let Some(slot) = texts.get_mut(id as usize) {
                *slot = text;
            }
        }
        let values = texts.len();
        let items = self
            .items
            .into_iter()
            .zip(self.rule.steps.iter())
            .map(|(p, s)| {
                if s.fields.is_empty() {
                    let mut times = p.times;
                    times.sort_unstable();
                    Indexed::Fixed(times.into_boxed_slice())
                } else {
                    let proposed = (s.fields.len() > 1 && !s.absent).then(|| Buckets::new(p.proposed, values));
                    Indexed::Joined {
                        qualifying: Buckets::new(p.pairs, values),
                        proposed,
                    }
                }
            })
            .collect();
        Signals {
            texts: texts.into_boxed_slice(),
            items,
            proposers: self.rule.proposers.clone(),
            proposals: OnceLock::new(),
            len: self.count,
            range: self.range,
        }
    }
}

/// Signals indexed by item, join value and time, ready for any number of
/// runs of the rule they were collected for.
#[derive(Debug, Clone)]
pub struct Signals {
    /// Text of every interned value; index 0 (null) is unused.
    texts: Box<[Box<str>]>,
    items: Box<[Indexed]>,
    /// The rule's items whose signals propose candidate values.
    proposers: Box<[usize]>,
    /// (time, value) of every proposal, sorted; built by the first run
    /// whose window does not hold every signal, so that scheduled runs
    /// find their candidates among the visible signals only.
    proposals: OnceLock<Box<[(i64, u32)]>>,
    len: usize,
    range: Option<(i64, i64)>,
}

/// The signals of one item.
#[derive(Debug, Clone)]
enum Indexed {
    /// An item without join fields: every signal counts for every value.
    Fixed(Box<[i64]>),
    /// An item with join fields.
    Joined {
        qualifying: Buckets,
        /// See [`Pending::proposed`].
        proposed: Option<Buckets>,
    },
}

/// Times grouped by value id, sorted within each value.
#[derive(Debug, Clone)]
struct Buckets {
    /// `starts[v]..starts[v + 1]` is value `v`'s range of `times`.
    starts: Box<[u32]>,
    times: Box<[i64]>,
}

impl Buckets {
    fn new(mut pairs: Vec<(u32, i64)>, values: usize) -> Buckets {
        pairs.sort_unstable();
        let mut starts = vec![0u32; values + 1];
        for &(v, _) in &pairs {
            if let Some(s) = starts.get_mut(v as usize + 1) {
                *s = s.saturating_add(1);
            }
        }
        for i in 1..starts.len() {
            starts[i] = starts[i].saturating_add(starts[i - 1]);
        }
        Buckets {
            starts: starts.into_boxed_slice(),
            times: pairs.into_iter().map(|(_, t)| t).collect(),
        }
    }

    fn get(&self, v: u32) -> &[i64] {
        let v = v as usize;
        match (self.starts.get(v), self.starts.get(v + 1)) {
            (Some(&a), Some(&b)) => self.times.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Every value with its times.
    fn iter(&self) -> impl Iterator<Item = (u32, &[i64])> {
        (0..self.starts.len().saturating_sub(1))
            .map(|v| (v as u32, self.get(v as u32)))
            .filter(|(_, t)| !t.is_empty())
    }
}

impl Signals {
    /// The number of signals added.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no signal was added.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The time of the latest signal: the evaluation time of a unit test
    /// (§6.3).
    pub fn latest(&self) -> Option<i64> {
        self.range.map(|r| r.1)
    }

    /// The time of the earliest signal.
    pub fn earliest(&self) -> Option<i64> {
        self.range.map(|r| r.0)
    }

    fn key(&self, k: Option<u32>) -> JoinKey<'_> {
        match k {
            None => JoinKey::Any,
            Some(NULL) => JoinKey::Null,
            Some(v) => self.texts.get(v as usize).map_or(JoinKey::Null, |t| JoinKey::Text(t)),
        }
    }

    fn value_count(&self) -> u32 {
        u32::try_from(self.texts.len()).unwrap_or(u32::MAX)
    }

    fn proposals(&self) -> &[(i64, u32)] {
        self.proposals.get_or_init(|| {
            let buckets = || {
                self.proposers.iter().filter_map(|&i| match self.items.get(i) {
                    Some(Indexed::Joined { qualifying, proposed }) => Some(proposed.as_ref().unwrap_or(qualifying)),
                    _ => None,
                })
            };
            // Reserved exactly: no growth, and no copy when boxing.
            let mut all = Vec::with_capacity(buckets().map(|b| b.times.len()).sum());
            for b in buckets() {
                for (v, times) in b.iter() {
                    all.extend(times.iter().map(|&t| (t, v)));
                }
            }
            all.sort_unstable();
            all.into_boxed_slice()
        })
    }
}

/// One run: the window `[t_end − lookback, t_end]` over an index.
struct Window<'a> {
    rule: &'a Correlation,
    signals: &'a Signals,
    lo: i64,
    hi: i64,
    /// Whether the window holds every signal (no searching needed).
    whole: bool,
    /// Visible times of each item without join fields.
    fixed: Vec<&'a [i64]>,
}

impl<'a> Window<'a> {
    fn new(rule: &'a Correlation, signals: &'a Signals, t_end: i64) -> Window<'a> {
        let lo = t_end.saturating_sub(rule.lookback);
        let whole = signals.range.is_none_or(|(a, b)| lo <= a && b <= t_end);
        let mut w = Window {
            rule,
            signals,
            lo,
            hi: t_end,
            whole,
            fixed: Vec::with_capacity(rule.steps.len()),
        };
        for i in 0..rule.steps.len() {
            let times = match signals.items.get(i) {
                Some(Indexed::Fixed(t)) => w.visible(t),
                _ => &[],
            };
            w.fixed.push(times);
        }
        w
    }

    fn visible(&self, times: &'a [i64]) -> &'a [i64] {
        if self.whole {
            return times;
        }
        let a = times.partition_point(|&t| t < self.lo);
        let b = times.partition_point(|&t| t <= self.hi);
        times.get(a..b).unwrap_or(&[])
    }

    fn has_visible(&self, times: &[i64]) -> bool {
        if self.whole {
            return !times.is_empty();
        }
        let a = times.partition_point(|&t| t < self.lo);
        times.get(a).is_some_and(|&t| t <= self.hi)
    }

    /// The candidate join values (§3.2): `None` alone without field
    /// matching, else every value a visible signal of a present item
    /// with join fields proposes, in id order (the order values were
    /// first seen).
    fn candidates(&self) -> Box<dyn Iterator<Item = Option<u32>> + '_> {
        if !self.rule.field_matching {
            return Box::new(std::iter::once(None));
        }
        if self.whole {
            return Box::new(
                (0..self.signals.value_count())
                    .filter(|&v| self.is_candidate(v))
                    .map(Some),
            );
        }
        let all = self.signals.proposals();
        let a = all.partition_point(|p| p.0 < self.lo);
        let b = all.partition_point(|p| p.0 <= self.hi);
        let mut values: Vec<u32> = all.get(a..b).unwrap_or(&[]).iter().map(|p| p.1).collect();
        values.sort_unstable();
        values.dedup();
        Box::new(values.into_iter().map(Some))
    }

    fn is_candidate(&self, v: u32) -> bool {
        self.rule.proposers.iter().any(|&i| match self.signals.items.get(i) {
            Some(Indexed::Joined { qualifying, proposed }) => {
                self.has_visible(proposed.as_ref().unwrap_or(qualifying).get(v))
            }
            _ => false,
        })
    }

    /// The qualifying visible times of every item for one join value.
    fn fill(&self, key: Option<u32>, out: &mut Vec<&'a [i64]>) {
        out.clear();
        for i in 0..self.rule.steps.len() {
            let times = match (self.signals.items.get(i), key) {
                (Some(Indexed::Joined { qualifying, .. }), Some(v)) => self.visible(qualifying.get(v)),
                _ => self.fixed.get(i).copied().unwrap_or(&[]),
            };
            out.push(times);
        }
    }
}

// ---------------------------------------------------------------------------
// Explanations. Only used for reports, so they may allocate.

/// Times and durations as an explanation shows them.
#[derive(Clone, Copy)]
struct Clock(TimeFormat);

impl Clock {
    fn bare(self, t: i64) -> String {
        match self.0 {
            TimeFormat::Minutes if t % 60 == 0 => (t / 60).to_string(),
            TimeFormat::Minutes => format!("{}:{:02}", t.div_euclid(60), t.rem_euclid(60)),
            TimeFormat::Rfc3339 => format_rfc3339(t),
        }
    }

    fn at(self, t: i64) -> String {
        match self.0 {
            TimeFormat::Minutes => format!("minute {}", self.bare(t)),
            TimeFormat::Rfc3339 => self.bare(t),
        }
    }

    fn list(self, times: &[i64]) -> String {
        let mut s = String::new();
        if self.0 == TimeFormat::Minutes {
            s.push_str(if times.len() == 1 { "minute " } else { "minutes " });
        }
        for (i, t) in times.iter().take(SHOWN).enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&self.bare(*t));
        }
        if times.len() > SHOWN {
            let _ = write!(s, ", … ({} in all)", times.len());
        }
        s
    }

    fn span(self, seconds: i64) -> String {
        if seconds % 60 == 0 {
            plural(seconds / 60, "minute")
        } else {
            plural(seconds, "second")
        }
    }
}

fn plural(n: impl fmt::Display + PartialEq + From<u8>, word: &str) -> String {
    if n == 1u8.into() {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A signal count with its times.
fn found(clock: Clock, times: &[i64]) -> String {
    if times.is_empty() {
        "no signal".to_owned()
    } else {
        format!("{} at {}", plural(times.len(), "signal"), clock.list(times))
    }
}

impl Correlation {
    /// Explains the run at `t_end` in human lines: the window, the signals
    /// outside it, the candidate join values and, for each, the signals of
    /// every item and why the rule did or did not match (§6.4 "a failure
    /// report must explain the evaluation"). The last line gives the
    /// result, which always agrees with [`Correlation::evaluate`].
    pub fn explain(&self, signals: &Signals, t_end: i64, format: TimeFormat) -> Vec<String> {
        let clock = Clock(format);
        let w = Window::new(self, signals, t_end);
        let mut out = Vec::new();
        out.push(self.describe());
        out.push(format!(
            "run at {}: the window is {} to {} (LookbackWindowMinutes {}), {} in all",
            clock.at(t_end),
            clock.at(w.lo),
            clock.at(w.hi),
            self.lookback_minutes,
            plural(signals.len(), "signal"),
        ));
        self.explain_outside(&w, clock, &mut out);
        let candidates: Vec<Option<u32>> = w.candidates().collect();
        if !self.field_matching {
            out.push("no field matching: every visible signal counts".to_owned());
        } else if candidates.is_empty() {
            out.push("no join value: no signal of a present item matched on a field is in the window".to_owned());
        } else {
            let shown: Vec<String> = candidates
                .iter()
                .take(SHOWN)
                .map(|&k| signals.key(k).to_string())
                .collect();
            let more = if candidates.len() > SHOWN {
                format!(", … ({} in all)", candidates.len())
            } else {
                String::new()
            };
            out.push(format!("join values: {}{more}", shown.join(", ")));
        }
        let mut scratch = Scratch::default();
        let verdicts: Vec<(Option<u32>, bool)> = candidates
            .iter()
            .map(|&k| (k, self.matches_key(&w, k, &mut scratch)))
            .collect();
        let matched = verdicts.iter().filter(|v| v.1).count();
        // Matching values first, then the others, up to SHOWN in all.
        let mut order: Vec<&(Option<u32>, bool)> = verdicts.iter().filter(|v| v.1).collect();
        order.extend(verdicts.iter().filter(|v| !v.1));
        for &&(k, ok) in order.iter().take(SHOWN) {
            let mut times = Vec::new();
            w.fill(k, &mut times);
            let what = match k {
                None => "all signals".to_owned(),
                Some(_) => format!("join value {}", signals.key(k)),
            };
            let mut lines = Vec::new();
            let reason = match self.group_min {
                Some(min) => self.explain_group(&times, min, clock, &mut lines),
                None => self.explain_sequence(&times, clock, &mut lines),
            };
            out.push(format!("{} {what}: {reason}", mark(ok)));
            out.extend(lines.into_iter().map(|l| format!("    {l}")));
        }
        if order.len() > SHOWN {
            out.push(format!("… {} more join values not shown", order.len() - SHOWN));
        }
        out.push(match (matched, candidates.len()) {
            (0, _) => "result: no match".to_owned(),
            (_, 1) => "result: match".to_owned(),
            (n, all) => format!("result: match for {n} of {all} join values"),
        });
        out
    }

    fn describe(&self) -> String {
        let n = self.steps.len();
        let p = self.present.len();
        let absent = n - p;
        let absences = match absent {
            0 => String::new(),
            1 => ", and the absence vetoes".to_owned(),
            _ => ", and each absence vetoes".to_owned(),
        };
        match self.group_min {
            Some(1) if p == 1 => format!("Group of {}: the present item is needed{absences}", plural(n, "item")),
            Some(min) if min == p => format!(
                "Group of {}: all {p} present items are needed{absences}",
                plural(n, "item")
            ),
            Some(min) => format!(
                "Group of {}: at least {min} of the {p} present items are needed{absences}",
                plural(n, "item")
            ),
            None => {
                let order: Vec<String> = self
                    .steps
                    .iter()
                    .map(|s| {
                        if s.absent {
                            format!("not `{}`", s.key)
                        } else {
                            format!("`{}`", s.key)
                        }
                    })
                    .collect();
                format!("Sequence of {}: {}", plural(n, "step"), order.join(", then "))
            }
        }
    }

    fn explain_outside(&self, w: &Window<'_>, clock: Clock, out: &mut Vec<String>) {
        if w.whole {
            return;
        }
        let outside = |t: &i64| *t < w.lo || *t > w.hi;
        for (s, idx) in self.steps.iter().zip(w.signals.items.iter()) {
            let mut times: Vec<i64> = match idx {
                Indexed::Fixed(t) => t.iter().copied().filter(outside).collect(),
                Indexed::Joined { qualifying, .. } => qualifying
                    .iter()
                    .flat_map(|(_, t)| t.iter().copied().filter(outside))
                    .collect(),
            };
            if times.is_empty() {
                continue;
            }
            times.sort_unstable();
            out.push(format!(
                "outside the window, not seen by this run: `{}` at {}",
                s.key,
                clock.list(&times)
            ));
        }
    }

    fn item_label(&self, i: usize) -> String {
        let s = &self.steps[i];
        let mut label = format!("`{}`", s.key);
        if s.absent {
            label.push_str(" (absence)");
        }
        if self.field_matching && s.fields.is_empty() {
            label.push_str(" (no join field: all its signals count)");
        }
        label
    }

    /// Group lines for one join value; returns the verdict's reason.
    fn explain_group(&self, c: &[&[i64]], min: usize, clock: Clock, out: &mut Vec<String>) -> String {
        let mut satisfied = 0;
        let mut veto = None;
        for (i, (s, times)) in self.steps.iter().zip(c).enumerate() {
            let n = times.len();
            let needs = match s.max {
                _ if s.absent && s.min == 1 => "must have none".to_owned(),
                _ if s.absent => format!("must have fewer than {}", s.min),
                Some(max) => format!("needs {} to {max}", s.min),
                None => format!("needs {}", s.min),
            };
            let ok = if s.absent {
                let clear = n < s.min;
                if !clear && veto.is_none() {
                    veto = Some(i);
                }
                clear
            } else {
                let ok = n >= s.min && s.max.is_none_or(|m| n <= m);
                satisfied += usize::from(ok);
                ok
            };
            out.push(format!(
                "{} {}: {} ({needs})",
                mark(ok),
                self.item_label(i),
                found(clock, times)
            ));
        }
        let p = self.present.len();
        let count = format!("{satisfied} of {} satisfied, {min} needed", plural(p, "present item"));
        match veto {
            Some(i) => format!("absence `{}` violated", self.steps[i].key),
            None if satisfied >= min => format!("{count}: match"),
            None => count,
        }
    }

    /// Sequence lines for one join value; returns the verdict's reason.
    fn explain_sequence(&self, c: &[&[i64]], clock: Clock, out: &mut Vec<String>) -> String {
        for (i, (s, times)) in self.steps.iter().zip(c).enumerate() {
            let mut needs = Vec::new();
            if s.min > 1 {
                needs.push(format!("needs {}", s.min));
            }
            if let Some(m) = s.max {
                needs.push(format!("at most {m}"));
            }
            let needs = if needs.is_empty() {
                String::new()
            } else {
                format!(" ({})", needs.join(", "))
            };
            out.push(format!(
                "step {} {}{needs}: {}",
                i + 1,
                self.item_label(i),
                found(clock, times)
            ));
        }
        for &k in self.present.iter() {
            let s = &self.steps[k];
            if c[k].len() < s.min {
                let has = match c[k].len() {
                    0 => "no signal".to_owned(),
                    n => plural(n, "signal"),
                };
                out.push(format!("{} `{}` has {has}, needs {}", mark(false), s.key, s.min));
                return if c[k].is_empty() {
                    format!("no `{}` signal", s.key)
                } else {
                    format!("too few `{}` signals", s.key)
                };
            }
            if self.exceeds_max(k, c) {
                out.push(format!(
                    "{} `{}` has {}, more than MaxMatchCount {}",
                    mark(false),
                    s.key,
                    plural(c[k].len(), "signal"),
                    s.max.unwrap_or_default()
                ));
                return format!("`{}` has too many signals", s.key);
            }
        }
        // The forward pass, keeping every step's marks.
        let mut reach: Vec<Vec<u32>> = Vec::with_capacity(self.present.len());
        let Some((&first, rest)) = self.present.split_first() else {
            return "no present step".to_owned();
        };
        let mut marks = Vec::new();
        self.reach_first(first, c, &mut marks);
        if !any_marked(&marks) {
            return self.explain_leading(first, c, clock, out);
        }
        reach.push(marks);
        let mut k = first;
        for &q in rest {
            let mut next = Vec::new();
            self.reach_next(k, q, c, &reach[reach.len() - 1], &mut next);
            if !any_marked(&next) {
                self.explain_reached(first, k, c, &reach, clock, out);
                return self.explain_transition(k, q, c, &reach[reach.len() - 1], clock, out);
            }
            reach.push(next);
            k = q;
        }
        let last = k;
        match self.first_completing(last, c, &reach[reach.len() - 1]) {
            Some(j) => {
                self.explain_witness(c, &reach, j, clock, out);
                "match".to_owned()
            }
            None => {
                self.explain_reached(first, last, c, &reach, clock, out);
                self.explain_trailing(last, c, &reach[reach.len() - 1], clock, out)
            }
        }
    }

    /// Marked times of a step.
    fn marked(times: &[i64], marks: &[u32]) -> Vec<i64> {
        times
            .iter()
            .enumerate()
            .filter(|(j, _)| marks[j + 1] > marks[*j])
            .map(|(_, t)| *t)
            .collect()
    }

    /// One line per present step up to `upto`: the times it can complete.
    fn explain_reached(
        &self,
        first: usize,
        upto: usize,
        c: &[&[i64]],
        reach: &[Vec<u32>],
        clock: Clock,
        out: &mut Vec<String>,
    ) {
        for (n, &k) in self.present.iter().enumerate() {
            if k < first || k > upto {
                continue;
            }
            let Some(marks) = reach.get(n) else { break };
            let at = Self::marked(c[k], marks);
            out.push(format!(
                "{} `{}` can complete at {}",
                mark(true),
                self.steps[k].key,
                clock.list(&at)
            ));
        }
    }

    /// Why no completion of the first present step clears the absences
    /// before it.
    fn explain_leading(&self, first: usize, c: &[&[i64]], clock: Clock, out: &mut Vec<String>) -> String {
        let s = &self.steps[first];
        let t = c[first][s.min - 1];
        for a in 0..first {
            if self.leading_absence_clear(a, c, t) {
                continue;
            }
            let w = self.frames.get(a).copied().unwrap_or(self.lookback);
            let hits: Vec<i64> = c[a]
                .iter()
                .copied()
                .filter(|x| *x >= t.saturating_sub(w) && *x <= t)
                .collect();
            let later = if c[first].len() > s.min {
                " (and before every later completion)"
            } else {
                ""
            };
            out.push(format!(
                "{} absence `{}` violated: {} within the {} before `{}` completes at {}{later}",
                mark(false),
                self.steps[a].key,
                found(clock, &hits),
                clock.span(w),
                s.key,
                clock.at(t),
            ));
            return format!("absence `{}` violated", self.steps[a].key);
        }
        format!("no completion of `{}` clears the absences before it", s.key)
    }

    /// Why no completion of step `q` follows a reachable completion of the
    /// previous present step `k`.
    fn explain_transition(
        &self,
        k: usize,
        q: usize,
        c: &[&[i64]],
        marks: &[u32],
        clock: Clock,
        out: &mut Vec<String>,
    ) -> String {
        let (sk, sq) = (&self.steps[k], &self.steps[q]);
        let frame = self.frame_sum(k, q);
        let starts = Self::marked(c[k], marks);
        // For each reachable τ(k), the earliest completion of q after it
        // decides (later ones are worse for the frame and the absences).
        let mut too_late: Option<(i64, i64)> = None;
        for &t in &starts {
            let from = c[q].partition_point(|&x| x < t);
            let Some(&t2) = c[q].get(from + sq.min - 1) else {
                continue;
            };
            if t2.saturating_sub(t) > frame {
                if too_late.is_none_or(|(a, b)| t2.saturating_sub(t) < b.saturating_sub(a)) {
                    too_late = Some((t, t2));
                }
                continue;
            }
            for (times, absent) in c.iter().zip(self.steps.iter()).take(q).skip(k + 1) {
                let hits: Vec<i64> = times.iter().copied().filter(|x| *x >= t && *x <= t2).collect();
                if hits.len() >= absent.min {
                    out.push(format!(
                        "{} absence `{}` violated: {} between `{}` at {} and `{}` at {}",
                        mark(false),
                        absent.key,
                        found(clock, &hits),
                        sk.key,
                        clock.at(t),
                        sq.key,
                        clock.at(t2)
                    ));
                    return format!("absence `{}` violated", absent.key);
                }
            }
        }
        if let Some((t, t2)) = too_late {
            out.push(format!(
                "{} `{}` completes at {} at the earliest, {} after `{}` at {}: more than the time frame of {}",
                mark(false),
                sq.key,
                clock.at(t2),
                clock.span(t2.saturating_sub(t)),
                sk.key,
                clock.at(t),
                clock.span(frame)
            ));
            return format!("`{}` comes too late after `{}`", sq.key, sk.key);
        }
        let t = starts.first().copied().unwrap_or_default();
        let after = c[q].len() - c[q].partition_point(|&x| x < t);
        out.push(format!(
            "{} `{}` has {} at or after `{}` completes at {}, needs {}",
            mark(false),
            sq.key,
            plural(after, "signal"),
            sk.key,
            clock.at(t),
            sq.min
        ));
        format!("no `{}` after `{}`", sq.key, sk.key)
    }

    /// Why every reachable completion of the last present step is followed
    /// by a signal of an absent step.
    fn explain_trailing(
        &self,
        last: usize,
        c: &[&[i64]],
        marks: &[u32],
        clock: Clock,
        out: &mut Vec<String>,
    ) -> String {
        let starts = Self::marked(c[last], marks);
        let Some(&t) = starts.first() else {
            return "no completion".to_owned();
        };
        for a in last + 1..self.steps.len() {
            if self.trailing_absence_clear(a, c, t) {
                continue;
            }
            let w = self.frames.get(a - 1).copied().unwrap_or(self.lookback);
            let hits: Vec<i64> = c[a]
                .iter()
                .copied()
                .filter(|x| *x >= t && *x <= t.saturating_add(w))
                .collect();
            let later = if starts.len() > 1 {
                " (and after every later completion)"
            } else {
                ""
            };
            out.push(format!(
                "{} absence `{}` violated: {} within the {} after `{}` at {}{later}",
                mark(false),
                self.steps[a].key,
                found(clock, &hits),
                clock.span(w),
                self.steps[last].key,
                clock.at(t)
            ));
            return format!("absence `{}` violated", self.steps[a].key);
        }
        "an absence is violated after every completion".to_owned()
    }

    /// One assignment of completion times that matches, step by step.
    fn explain_witness(&self, c: &[&[i64]], reach: &[Vec<u32>], last_pos: usize, clock: Clock, out: &mut Vec<String>) {
        let n = self.present.len();
        let mut tau = vec![0i64; n];
        tau[n - 1] = c[self.present[n - 1]].get(last_pos).copied().unwrap_or_default();
        for idx in (1..n).rev() {
            let (k, q) = (self.present[idx - 1], self.present[idx]);
            let t2 = tau[idx];
            let upto = c[q].partition_point(|&x| x <= t2);
            let marks = &reach[idx - 1];
            let found = self.pair_bounds(k, q, c, t2, upto).and_then(|(lo, hi)| {
                let a = c[k].partition_point(|&x| x < lo);
                let b = c[k].partition_point(|&x| x <= hi);
                (a..b).rev().find(|&j| marks[j + 1] > marks[j])
            });
            // The forward pass marked `tau[idx]` from some such position,
            // so `found` is always a position.
            tau[idx - 1] = found.and_then(|j| c[k].get(j)).copied().unwrap_or_default();
        }
        for (idx, &k) in self.present.iter().enumerate() {
            let s = &self.steps[k];
            let nth = if s.min > 1 {
                let from = if idx == 0 {
                    0
                } else {
                    c[k].partition_point(|&x| x < tau[idx - 1])
                };
                let upto = c[k].partition_point(|&x| x <= tau[idx]);
                format!(" ({}, needs {})", plural(upto - from, "signal"), s.min)
            } else {
                String::new()
            };
            if idx == 0 {
                out.push(format!(
                    "{} `{}` completes at {}{nth}",
                    mark(true),
                    s.key,
                    clock.at(tau[0])
                ));
            } else {
                let p = self.present[idx - 1];
                out.push(format!(
                    "{} `{}` completes at {}{nth}, {} after `{}`, within {}",
                    mark(true),
                    s.key,
                    clock.at(tau[idx]),
                    clock.span(tau[idx].saturating_sub(tau[idx - 1])),
                    self.steps[p].key,
                    clock.span(self.frame_sum(p, k))
                ));
            }
        }
        for (a, s) in self.steps.iter().enumerate().filter(|(_, s)| s.absent) {
            let before = self.present.iter().rposition(|&p| p < a);
            let after = self.present.iter().position(|&q| q > a);
            let (lo, hi) = match (before, after) {
                (Some(p), Some(q)) => (tau[p], tau[q]),
                (Some(p), None) => {
                    let w = self.frames.get(a - 1).copied().unwrap_or(self.lookback);
                    (tau[p], tau[p].saturating_add(w))
                }
                (None, Some(q)) => {
                    let w = self.frames.get(a).copied().unwrap_or(self.lookback);
                    (tau[q].saturating_sub(w), tau[q])
                }
                (None, None) => continue,
            };
            let n = count_in(c[a], lo, hi);
            let seen = if n == 0 {
                "no signal".to_owned()
            } else {
                format!("{}, fewer than {}", plural(n, "signal"), s.min)
            };
            out.push(format!(
                "{} absence `{}`: {seen} from {} to {}",
                mark(true),
                s.key,
                clock.at(lo),
                clock.at(hi)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{LoadOptions, load_file};
    use crate::model::Body;
    use crate::model::correlation::CorrelationRule;
    use crate::source::FileId;
    use proptest::prelude::*;

    /// Loads a correlation rule from YAML.
    fn load(text: &str) -> CorrelationRule {
        let loaded = load_file(FileId(0), Some(text), LoadOptions::default());
        let a = loaded.analysis.expect("an analysis file");
        match a.body {
            Body::Other(o) => *o.correlation.expect("a correlation rule"),
            Body::Rule(_) => panic!("not a correlation rule"),
        }
    }

    /// A rule around a detection block and tests.
    fn rule(block: &str, tests: &str) -> String {
        format!(
            "AnalysisType: correlation_rule\nRuleID: Example.Corr\nEnabled: true\nSeverity: High\nDetection:\n{block}Tests:\n{tests}"
        )
    }

    /// Runs every test of a rule as `detect test` does (§6.3): returns
    /// (name, expected, actual).
    fn run_tests(text: &str) -> Vec<(String, bool, bool)> {
        let r = load(text);
        let d = r.detection.as_ref().expect("a detection block");
        let c = Correlation::compile(d).expect("compiles");
        r.tests
            .iter()
            .flatten()
            .map(|t| {
                let (signals, format) = c.test_signals(t).expect("test signals");
                let actual = signals.latest().is_some_and(|end| c.evaluate(&signals, end));
                // The explanation always agrees with the verdict.
                if let Some(end) = signals.latest() {
                    let lines = c.explain(&signals, end, format);
                    let last = lines.last().cloned().unwrap_or_default();
                    assert_eq!(last.starts_with("result: match"), actual, "{lines:#?}");
                }
                (
                    t.name.as_ref().map(|n| n.value.clone()).unwrap_or_default(),
                    t.expected.as_ref().is_some_and(|e| e.value),
                    actual,
                )
            })
            .collect()
    }

    /// Asserts that every test of the rule gives its `ExpectedResult`.
    fn assert_reproduced(text: &str) {
        let results = run_tests(text);
        assert!(!results.is_empty());
        for (name, expected, actual) in results {
            assert_eq!(actual, expected, "test `{name}`");
        }
    }

    const SEC_7_1: &str = "  - Group:
      - ID: VPNLogin
        RuleID: Example.VPN.Login
      - ID: PushApproved
        RuleID: Example.MFA.Push.Approved
        Absence: true
    MatchCriteria:
      user:
        - {GroupID: VPNLogin, Match: p_alert_context.username}
        - {GroupID: PushApproved, Match: p_any_usernames}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
";

    #[test]
    fn worked_example_7_1_group_with_absence_on_other_fields() {
        assert_reproduced(&rule(
            SEC_7_1,
            "  - Name: push after login
    ExpectedResult: false
    RuleOutputs:
      - {ID: VPNLogin, Matches: {p_alert_context.username: {alice: [10]}}}
      - {ID: PushApproved, Matches: {p_any_usernames: {alice: [40]}}}
  - Name: order is irrelevant in a group
    ExpectedResult: false
    RuleOutputs:
      - {ID: PushApproved, Matches: {p_any_usernames: {alice: [10]}}}
      - {ID: VPNLogin, Matches: {p_alert_context.username: {alice: [40]}}}
  - Name: push for another user
    ExpectedResult: true
    RuleOutputs:
      - {ID: VPNLogin, Matches: {p_alert_context.username: {alice: [10]}}}
      - {ID: PushApproved, Matches: {p_any_usernames: {bob: [12]}}}
  - Name: push outside the window does not exist
    ExpectedResult: true
    RuleOutputs:
      - {ID: PushApproved, Matches: {p_any_usernames: {alice: [0]}}}
      - {ID: VPNLogin, Matches: {p_alert_context.username: {alice: [61]}}}
",
        ));
    }

    #[test]
    fn worked_example_7_2_item_and_group_counts() {
        assert_reproduced(&rule(
            "  - Group:
      - {ID: SSOLogin,  RuleID: Example.SSO.Login.Success}
      - {ID: Spray,     RuleID: Example.Password.Spray.ByIP, MinMatchCount: 7}
      - {ID: RootLogin, RuleID: Example.Cloud.Root.Login}
    MinMatchCount: 2
    MatchCriteria:
      source_ip:
        - {GroupID: SSOLogin,  Match: p_any_ip_addresses}
        - {GroupID: Spray,     Match: p_any_ip_addresses}
        - {GroupID: RootLogin, Match: p_any_ip_addresses}
    LookbackWindowMinutes: 120
    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}
",
            "  - Name: sso and root
    ExpectedResult: true
    RuleOutputs:
      - {ID: SSOLogin, Matches: {p_any_ip_addresses: {198.51.100.7: [5]}}}
      - {ID: RootLogin, Matches: {p_any_ip_addresses: {198.51.100.7: [20]}}}
  - Name: seven sprays with a tie, and root
    ExpectedResult: true
    RuleOutputs:
      - {ID: Spray, Matches: {p_any_ip_addresses: {198.51.100.7: [1, 2, 3, 3, 4, 5, 6]}}}
      - {ID: RootLogin, Matches: {p_any_ip_addresses: {198.51.100.7: [30]}}}
  - Name: six sprays and root
    ExpectedResult: false
    RuleOutputs:
      - {ID: Spray, Matches: {p_any_ip_addresses: {198.51.100.7: [1, 2, 3, 4, 5, 6]}}}
      - {ID: RootLogin, Matches: {p_any_ip_addresses: {198.51.100.7: [30]}}}
  - Name: sprays only
    ExpectedResult: false
    RuleOutputs:
      - {ID: Spray, Matches: {p_any_ip_addresses: {198.51.100.7: [1, 2, 3, 4, 5, 6, 7]}}}
  - Name: different addresses
    ExpectedResult: false
    RuleOutputs:
      - {ID: SSOLogin, Matches: {p_any_ip_addresses: {198.51.100.7: [5]}}}
      - {ID: RootLogin, Matches: {p_any_ip_addresses: {203.0.113.9: [20]}}}
",
        ));
    }

    const SEC_7_3: &str = "  - Sequence:
      - {ID: Recon, RuleID: Example.IAM.Enumeration, MinMatchCount: 3}
      - {ID: KeyCreated, RuleID: Example.IAM.AccessKey.Created}
      - {ID: KeyUsed, RuleID: Example.IAM.AccessKey.FirstUse}
    Transitions:
      - From: Recon
        To: KeyCreated
        WithinTimeFrameMinutes: 30
        Match: [{On: p_alert_context.principal}]
      - From: KeyCreated
        To: KeyUsed
        WithinTimeFrameMinutes: 10
        Match: [{From: p_alert_context.principal, To: userIdentity.arn}]
    LookbackWindowMinutes: 120
    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}
";

    fn sec_7_3_test(name: &str, expected: bool, recon: &str, created: &str, used: &str) -> String {
        format!(
            "  - Name: {name}
    ExpectedResult: {expected}
    RuleOutputs:
      - {{ID: Recon, Matches: {{p_alert_context.principal: {recon}}}}}
      - {{ID: KeyCreated, Matches: {{p_alert_context.principal: {created}}}}}
      - {{ID: KeyUsed, Matches: {{userIdentity.arn: {used}}}}}
"
        )
    }

    #[test]
    fn worked_example_7_3_sequence_counts_frames_and_fields() {
        let tests = [
            sec_7_3_test("in time", true, "{eve: [0, 5, 10]}", "{eve: [25]}", "{eve: [35]}"),
            sec_7_3_test(
                "one minute late",
                false,
                "{eve: [0, 5, 10]}",
                "{eve: [25]}",
                "{eve: [36]}",
            ),
            sec_7_3_test(
                "recon completes late",
                false,
                "{eve: [0, 5, 50]}",
                "{eve: [25]}",
                "{eve: [30]}",
            ),
            sec_7_3_test("ties", true, "{eve: [0, 1, 2]}", "{eve: [2]}", "{eve: [2]}"),
            sec_7_3_test(
                "other principal",
                false,
                "{eve: [0, 5, 10]}",
                "{mallory: [25]}",
                "{eve: [35]}",
            ),
            sec_7_3_test(
                "absolute",
                true,
                "{eve: ['2024-06-01T08:00:00Z', '2024-06-01T08:01:00Z', '2024-06-01T08:02:00Z']}",
                "{eve: ['2024-06-01T08:32:00Z']}",
                "{eve: ['2024-06-01T08:42:00Z']}",
            ),
        ];
        assert_reproduced(&rule(SEC_7_3, &tests.concat()));
    }

    #[test]
    fn worked_example_7_4_absent_last_and_first_steps() {
        assert_reproduced(&rule(
            "  - Sequence:
      - {ID: NewDeviceLogin, RuleID: Example.Login.NewDevice}
      - {ID: MFAChallenge, RuleID: Example.MFA.Challenge, Absence: true}
    Transitions:
      - From: NewDeviceLogin
        To: MFAChallenge
        WithinTimeFrameMinutes: 15
        Match: [{On: p_alert_context.user}]
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
            "  - Name: challenge at the edge of the frame
    ExpectedResult: false
    RuleOutputs:
      - {ID: NewDeviceLogin, Matches: {p_alert_context.user: {carol: [0]}}}
      - {ID: MFAChallenge, Matches: {p_alert_context.user: {carol: [15]}}}
  - Name: challenge after the frame
    ExpectedResult: true
    RuleOutputs:
      - {ID: NewDeviceLogin, Matches: {p_alert_context.user: {carol: [0]}}}
      - {ID: MFAChallenge, Matches: {p_alert_context.user: {carol: [16]}}}
  - Name: earlier challenge does not count
    ExpectedResult: true
    RuleOutputs:
      - {ID: MFAChallenge, Matches: {p_alert_context.user: {carol: [0]}}}
      - {ID: NewDeviceLogin, Matches: {p_alert_context.user: {carol: [5]}}}
",
        ));
        // The same as a Group: the earlier challenge vetoes.
        assert_reproduced(&rule(
            "  - Group:
      - {ID: NewDeviceLogin, RuleID: Example.Login.NewDevice}
      - {ID: MFAChallenge, RuleID: Example.MFA.Challenge, Absence: true}
    MatchCriteria:
      user:
        - {GroupID: NewDeviceLogin, Match: p_alert_context.user}
        - {GroupID: MFAChallenge, Match: p_alert_context.user}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
            "  - Name: earlier challenge vetoes a group
    ExpectedResult: false
    RuleOutputs:
      - {ID: MFAChallenge, Matches: {p_alert_context.user: {carol: [0]}}}
      - {ID: NewDeviceLogin, Matches: {p_alert_context.user: {carol: [5]}}}
",
        ));
        // An absent first step: "not preceded by".
        assert_reproduced(&rule(
            "  - Sequence:
      - {ID: OktaSSO, RuleID: Example.Okta.SSO, Absence: true}
      - {ID: ConsoleLogin, RuleID: Example.AWS.ConsoleLogin}
    Transitions:
      - {From: OktaSSO, To: ConsoleLogin, WithinTimeFrameMinutes: 15}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
            "  - Name: preceded
    ExpectedResult: false
    RuleOutputs:
      - {ID: OktaSSO, Matches: {foo: {bar: [0]}}}
      - {ID: ConsoleLogin, Matches: {foo: {bar: [2]}}}
  - Name: not preceded
    ExpectedResult: true
    RuleOutputs:
      - {ID: ConsoleLogin, Matches: {foo: {bar: [2]}}}
",
        ));
    }

    #[test]
    fn worked_example_7_5_lookback_boundary_is_inclusive() {
        assert_reproduced(&rule(
            "  - Group:
      - {ID: A, RuleID: Example.A}
      - {ID: B, RuleID: Example.B}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
            "  - Name: at the boundary
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {foo: {bar: [1]}}}
      - {ID: B, Matches: {foo: {bar: [61]}}}
  - Name: one minute outside
    ExpectedResult: false
    RuleOutputs:
      - {ID: A, Matches: {foo: {bar: [0]}}}
      - {ID: B, Matches: {foo: {bar: [61]}}}
",
        ));
    }

    const SEC_7_6: &str = "  - Group:
      - {ID: A, RuleID: Example.A}
      - {ID: B, RuleID: Example.B}
    MatchCriteria:
      ip:
        - {GroupID: A, Match: p_alert_context.ip}
        - {GroupID: B, Match: p_alert_context.ip}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
";

    #[test]
    fn worked_example_7_6_missing_join_field_joins_on_null() {
        assert_reproduced(&rule(
            SEC_7_6,
            "  - Name: wrong field name on both
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {ip: {10.0.0.1: [0]}}}
      - {ID: B, Matches: {ip: {10.0.0.1: [1]}}}
  - Name: right field name
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {p_alert_context.ip: {10.0.0.1: [0]}}}
      - {ID: B, Matches: {p_alert_context.ip: {10.0.0.1: [1]}}}
  - Name: different values
    ExpectedResult: false
    RuleOutputs:
      - {ID: A, Matches: {p_alert_context.ip: {10.0.0.1: [0]}}}
      - {ID: B, Matches: {p_alert_context.ip: {10.0.0.2: [1]}}}
  - Name: a null key is the null value
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {p_alert_context.ip: {~: [0]}}}
      - {ID: B, Matches: {other: {x: [1]}}}
",
        ));
    }

    #[test]
    fn pat_fixtures_count_duplicate_timestamps_individually() {
        let block = "  - Sequence:
      - {ID: First, RuleID: Okta.Global.MFA.Disabled, MinMatchCount: 7}
      - {ID: Second, RuleID: Okta.Support.Access, MinMatchCount: 1}
    LookbackWindowMinutes: 15
    Schedule: {RateMinutes: 5, TimeoutMinutes: 3}
";
        let test = |stamps: &str| {
            format!(
                "  - Name: something
    ExpectedResult: true
    RuleOutputs:
      - {{ID: First, Matches: {{p_actor: {{jane.smith: {stamps}}}}}}}
      - {{ID: Second, Matches: {{p_enrichment.endpoint_mapping.aid.assigned_user: {{jane.smith: [6]}}}}}}
"
            )
        };
        // pass1.yml: seven signals, three of them at minute 4.
        assert!(run_tests(&rule(block, &test("[1,2,3,4,4,4,5]")))[0].2);
        // fails1.yml: two of seven: the engine says false, the test fails.
        assert!(!run_tests(&rule(block, &test("[1,2]")))[0].2);
    }

    #[test]
    fn conformance_notes() {
        // Ties between steps are allowed (Snowflake.Data.Exfiltration) and
        // frames are inclusive (AWS.Administrative.IAM.User.Created).
        let seq = "  - Sequence:
      - {ID: A, RuleID: Example.A}
      - {ID: B, RuleID: Example.B}
      - {ID: C, RuleID: Example.C}
    Transitions:
      - {From: A, To: B, WithinTimeFrameMinutes: 60, Match: [{On: p_user}]}
      - {From: B, To: C, WithinTimeFrameMinutes: 60, Match: [{On: p_user}]}
    LookbackWindowMinutes: 180
    Schedule: {RateMinutes: 60, TimeoutMinutes: 5}
";
        assert_reproduced(&rule(
            seq,
            "  - Name: all at the same two times
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {p_user: {u: [0, 5]}}}
      - {ID: B, Matches: {p_user: {u: [0, 5]}}}
      - {ID: C, Matches: {p_user: {u: [0, 5]}}}
  - Name: exactly sixty minutes apart
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {p_user: {u: [0]}}}
      - {ID: B, Matches: {p_user: {u: [60]}}}
      - {ID: C, Matches: {p_user: {u: [120]}}}
  - Name: a step before the previous one does not count
    ExpectedResult: false
    RuleOutputs:
      - {ID: A, Matches: {p_user: {u: [10]}}}
      - {ID: B, Matches: {p_user: {u: [5]}}}
      - {ID: C, Matches: {p_user: {u: [20]}}}
",
        ));
        // A test evaluates at its latest signal, absent ones included
        // (GitHub.Advanced.Security.Change...): the absence is seen.
        assert_reproduced(&rule(
            "  - Group:
      - {ID: Change, RuleID: Example.Change}
      - {ID: Archived, RuleID: Example.Archived, Absence: true}
    MatchCriteria:
      repo:
        - {GroupID: Change, Match: p_repo}
        - {GroupID: Archived, Match: p_repo}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
            "  - Name: absent signal is the latest
    ExpectedResult: false
    RuleOutputs:
      - {ID: Change, Matches: {p_repo: {r: [0]}}}
      - {ID: Archived, Matches: {p_repo: {r: [50]}}}
  - Name: no signals at all
    ExpectedResult: false
    RuleOutputs:
      - {ID: Change, Matches: {p_repo: {}}}
",
        ));
        // MaxMatchCount: an item above it is not satisfied.
        assert_reproduced(&rule(
            "  - Group:
      - {ID: A, RuleID: Example.A, MinMatchCount: 2, MaxMatchCount: 3}
      - {ID: B, RuleID: Example.B}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
            "  - Name: within
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {f: {x: [1, 2, 3]}}}
      - {ID: B, Matches: {f: {x: [4]}}}
  - Name: above
    ExpectedResult: false
    RuleOutputs:
      - {ID: A, Matches: {f: {x: [1, 2, 3, 4]}}}
      - {ID: B, Matches: {f: {x: [4]}}}
",
        ));
        // Absent middle step: checked between its neighbours, whose frames
        // add up.
        assert_reproduced(&rule(
            "  - Sequence:
      - {ID: A, RuleID: Example.A}
      - {ID: X, RuleID: Example.X, Absence: true}
      - {ID: C, RuleID: Example.C}
    Transitions:
      - {From: A, To: X, WithinTimeFrameMinutes: 10, Match: [{On: p_user}]}
      - {From: X, To: C, WithinTimeFrameMinutes: 10, Match: [{On: p_user}]}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
            "  - Name: twenty minutes with nothing between
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {p_user: {u: [0]}}}
      - {ID: X, Matches: {p_user: {u: [25]}}}
      - {ID: C, Matches: {p_user: {u: [20]}}}
  - Name: something between
    ExpectedResult: false
    RuleOutputs:
      - {ID: A, Matches: {p_user: {u: [0]}}}
      - {ID: X, Matches: {p_user: {u: [20]}}}
      - {ID: C, Matches: {p_user: {u: [20]}}}
  - Name: something between for another user
    ExpectedResult: true
    RuleOutputs:
      - {ID: A, Matches: {p_user: {u: [0]}}}
      - {ID: X, Matches: {p_user: {v: [10]}}}
      - {ID: C, Matches: {p_user: {u: [20]}}}
  - Name: twenty-one minutes
    ExpectedResult: false
    RuleOutputs:
      - {ID: A, Matches: {p_user: {u: [0]}}}
      - {ID: C, Matches: {p_user: {u: [21]}}}
",
        ));
    }

    /// A rule compiled from YAML, with its signals built by `add`.
    fn compiled(block: &str) -> Correlation {
        let text = format!(
            "AnalysisType: correlation_rule\nRuleID: Example.Corr\nEnabled: true\nSeverity: High\nDetection:\n{block}"
        );
        let r = load(&text);
        Correlation::compile(r.detection.as_ref().expect("a block")).expect("compiles")
    }

    #[test]
    fn arrays_correlate_on_any_shared_element() {
        let c = compiled(SEC_7_1);
        let mut b = c.signals();
        b.push(0, 0, &[JoinValue::Text("alice")]);
        let names = [JoinValue::Text("bob"), JoinValue::Text("carol")];
        b.push(1, 60, &[JoinValue::List(&names)]);
        let s = b.finish();
        assert!(c.evaluate(&s, 60), "alice has no push");
        assert_eq!(c.matching_values(&s, 60), vec![JoinKey::Text("alice")]);

        let mut b = c.signals();
        b.push(0, 0, &[JoinValue::Text("alice")]);
        let names = [JoinValue::Text("bob"), JoinValue::Text("alice")];
        b.push(1, 60, &[JoinValue::List(&names)]);
        assert!(!c.evaluate(&b.finish(), 60), "alice's push vetoes");

        // An empty array and an object have no value: they veto nothing.
        let mut b = c.signals();
        b.push(0, 0, &[JoinValue::Text("alice")]);
        b.push(1, 30, &[JoinValue::List(&[])]);
        b.push(1, 30, &[JoinValue::Opaque]);
        assert!(c.evaluate(&b.finish(), 60));
    }

    #[test]
    fn numbers_and_strings_compare_as_text() {
        let c = compiled(SEC_7_6);
        let mut b = c.signals();
        b.push(0, 0, &[JoinValue::Int(12_345_678)]);
        b.push(1, 60, &[JoinValue::Text("12345678")]);
        let s = b.finish();
        assert_eq!(c.matching_values(&s, 60), vec![JoinKey::Text("12345678")]);
        let mut b = c.signals();
        b.push(0, 0, &[JoinValue::Bool(true)]);
        b.push(1, 60, &[JoinValue::Text("True")]);
        assert!(!c.evaluate(&b.finish(), 60), "case-sensitive");
    }

    #[test]
    fn runs_see_only_their_window() {
        let c = compiled(SEC_7_6);
        let mut b = c.signals();
        b.push(0, 0, &[JoinValue::Text("x")]);
        b.push(1, 50 * 60, &[JoinValue::Text("x")]);
        b.push(0, 200 * 60, &[JoinValue::Text("y")]);
        let s = b.finish();
        assert!(c.evaluate(&s, 50 * 60));
        assert!(c.evaluate(&s, 60 * 60));
        assert!(!c.evaluate(&s, 61 * 60), "A at 0 has left the window");
        assert!(!c.evaluate(&s, 200 * 60));
        assert!(!c.evaluate(&s, -1));
    }

    #[test]
    fn signals_of_a_rule_id_go_to_every_item_naming_it() {
        let c = compiled(
            "  - Group:
      - {ID: First, RuleID: Example.Same}
      - {ID: Second, RuleID: Example.Same}
    LookbackWindowMinutes: 60
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
        );
        assert_eq!(c.items_for_rule("Example.Same").collect::<Vec<_>>(), [0, 1]);
        assert_eq!(c.item_index("Second"), Some(1));
        assert!(!c.signals().push(2, 0, &[]), "no third item");
    }

    #[test]
    fn explain_names_values_counts_and_reasons() {
        let r = load(&rule(
            SEC_7_3,
            &sec_7_3_test("late", false, "{eve: [0, 5, 10]}", "{eve: [25]}", "{eve: [36]}"),
        ));
        let c = Correlation::compile(r.detection.as_ref().expect("block")).expect("compiles");
        let t = &r.tests.as_ref().expect("tests")[0];
        let (s, format) = c.test_signals(t).expect("signals");
        let lines = c.explain(&s, 36 * 60, format);
        let text = lines.join("\n");
        for want in [
            "Sequence of 3 steps: `Recon`, then `KeyCreated`, then `KeyUsed`",
            "run at minute 36: the window is minute -84 to minute 36",
            "join values: `eve`",
            "✗ join value `eve`: `KeyUsed` comes too late after `KeyCreated`",
            "step 1 `Recon` (needs 3): 3 signals at minutes 0, 5, 10",
            "✓ `Recon` can complete at minute 10",
            "✗ `KeyUsed` completes at minute 36 at the earliest, 11 minutes after `KeyCreated` at minute 25: more than the time frame of 10 minutes",
            "result: no match",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        let r = load(&rule(
            SEC_7_3,
            &sec_7_3_test("in time", true, "{eve: [0, 5, 10]}", "{eve: [25]}", "{eve: [35]}"),
        ));
        let t = &r.tests.as_ref().expect("tests")[0];
        let (s, format) = c.test_signals(t).expect("signals");
        let text = c.explain(&s, 35 * 60, format).join("\n");
        for want in [
            "✓ join value `eve`: match",
            "✓ `Recon` completes at minute 10 (3 signals, needs 3)",
            "✓ `KeyCreated` completes at minute 25, 15 minutes after `Recon`, within 30 minutes",
            "✓ `KeyUsed` completes at minute 35, 10 minutes after `KeyCreated`, within 10 minutes",
            "result: match",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }

    #[test]
    fn explain_group_shows_outside_signals_and_vetoes() {
        let c = compiled(SEC_7_1);
        let mut b = c.signals();
        b.push(1, 0, &[JoinValue::Text("alice")]);
        b.push(0, 61 * 60, &[JoinValue::Text("alice")]);
        b.push(1, 70 * 60, &[JoinValue::Text("alice")]);
        let s = b.finish();
        let text = c.explain(&s, 70 * 60, TimeFormat::Minutes).join("\n");
        for want in [
            "Group of 2 items: the present item is needed, and the absence vetoes",
            "outside the window, not seen by this run: `PushApproved` at minute 0",
            "✗ join value `alice`: absence `PushApproved` violated",
            "✓ `VPNLogin`: 1 signal at minute 61 (needs 1)",
            "✗ `PushApproved` (absence): 1 signal at minute 70 (must have none)",
            "result: no match",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }

    #[test]
    fn extreme_times_never_overflow() {
        for block in [SEC_7_1, SEC_7_3, SEC_7_6] {
            let c = compiled(block);
            let mut b = c.signals();
            for item in 0..c.len() {
                for t in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX] {
                    b.push(item, t, &[JoinValue::Text("x")]);
                }
            }
            let s = b.finish();
            for end in [i64::MIN, 0, i64::MAX] {
                let verdict = c.evaluate(&s, end);
                let lines = c.explain(&s, end, TimeFormat::Minutes);
                assert_eq!(lines.last().is_some_and(|l| l.starts_with("result: match")), verdict);
                c.explain(&s, end, TimeFormat::Rfc3339);
            }
        }
    }

    #[test]
    fn compile_rejects_what_cannot_be_evaluated() {
        let r = load(&rule(
            "  - Group:
      - {ID: A, RuleID: Example.A, Absence: true}
    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}
",
            "  []\n",
        ));
        let e = Correlation::compile(r.detection.as_ref().expect("block"));
        assert!(e.is_err_and(|e| e.to_string().contains("every item is an absence")));
    }

    // -- The normative algorithm of §6.4, written as plainly as the spec
    // -- reads, to compare with the engine on random rules and signals.

    /// A test signal: item, time in seconds, field, value.
    type Sig = (usize, i64, &'static str, Option<&'static str>);

    fn naive_values(s: &Sig, f: &str) -> Vec<Option<&'static str>> {
        if s.2 == f { vec![s.3] } else { vec![None] }
    }

    fn naive_evaluate(c: &Correlation, signals: &[Sig], t_end: i64) -> bool {
        let visible: Vec<Sig> = signals
            .iter()
            .copied()
            .filter(|s| t_end - c.lookback <= s.1 && s.1 <= t_end)
            .collect();
        if !c.field_matching {
            return naive_form(c, &visible, None);
        }
        let mut cands = Vec::new();
        for s in &visible {
            let step = &c.steps[s.0];
            if step.absent {
                continue;
            }
            for f in step.fields.iter() {
                for x in naive_values(s, f) {
                    if !cands.contains(&x) {
                        cands.push(x);
                    }
                }
            }
        }
        cands.into_iter().any(|v| naive_form(c, &visible, Some(v)))
    }

    fn naive_qualifies(c: &Correlation, s: &Sig, v: Option<Option<&str>>) -> bool {
        match v {
            None => true,
            Some(v) => c.steps[s.0].fields.iter().all(|f| naive_values(s, f).contains(&v)),
        }
    }

    fn naive_form(c: &Correlation, visible: &[Sig], v: Option<Option<&str>>) -> bool {
        let n = c.steps.len();
        let cs: Vec<Vec<i64>> = (0..n)
            .map(|k| {
                let mut t: Vec<i64> = visible
                    .iter()
                    .filter(|s| s.0 == k && naive_qualifies(c, s, v))
                    .map(|s| s.1)
                    .collect();
                t.sort_unstable();
                t
            })
            .collect();
        if let Some(min) = c.group_min {
            let mut satisfied = 0;
            for (k, s) in c.steps.iter().enumerate() {
                let cnt = cs[k].len();
                if s.absent {
                    if cnt >= s.min {
                        return false;
                    }
                } else if cnt >= s.min && s.max.is_none_or(|m| cnt <= m) {
                    satisfied += 1;
                }
            }
            return satisfied >= min;
        }
        for (k, s) in c.steps.iter().enumerate() {
            if !s.absent && s.max.is_some_and(|m| cs[k].len() > m) {
                return false;
            }
        }
        let mut tau = vec![None; n];
        naive_place(c, &cs, &mut tau, 0, None)
    }

    fn naive_place(c: &Correlation, cs: &[Vec<i64>], tau: &mut [Option<i64>], k: usize, p: Option<usize>) -> bool {
        let n = c.steps.len();
        if k == n {
            return naive_absences_ok(c, cs, tau);
        }
        if c.steps[k].absent {
            return naive_place(c, cs, tau, k + 1, p);
        }
        let cand: Vec<i64> = match p {
            None => cs[k].clone(),
            Some(p) => cs[k].iter().copied().filter(|&t| Some(t) >= tau[p]).collect(),
        };
        for &t in cand.iter().skip(c.steps[k].min - 1) {
            if let Some(p) = p {
                let sum: i64 = c.frames[p..k].iter().sum();
                if t - tau[p].unwrap() > sum {
                    break;
                }
            }
            tau[k] = Some(t);
            if naive_place(c, cs, tau, k + 1, Some(k)) {
                return true;
            }
        }
        tau[k] = None;
        false
    }

    fn naive_absences_ok(c: &Correlation, cs: &[Vec<i64>], tau: &[Option<i64>]) -> bool {
        let n = c.steps.len();
        for a in (0..n).filter(|&a| c.steps[a].absent) {
            let p = (0..a).rev().find(|&i| !c.steps[i].absent);
            let q = (a + 1..n).find(|&i| !c.steps[i].absent);
            let (lo, hi) = match (p, q) {
                (Some(p), Some(q)) => (tau[p].unwrap(), tau[q].unwrap()),
                (Some(p), None) => (tau[p].unwrap(), tau[p].unwrap() + c.frames[a - 1]),
                (None, Some(q)) => (tau[q].unwrap() - c.frames[a], tau[q].unwrap()),
                (None, None) => unreachable!(),
            };
            if cs[a].iter().filter(|&&t| lo <= t && t <= hi).count() >= c.steps[a].min {
                return false;
            }
        }
        true
    }

    /// A random Sequence or Group with its YAML block.
    fn arb_block() -> impl Strategy<Value = String> {
        let step = (any::<bool>(), 1usize..=3, prop::option::of(0usize..=2));
        (
            any::<bool>(),
            prop::collection::vec(step, 1..=4),
            prop::collection::vec((1i64..=20, 0u8..=3), 3),
            15i64..=40,
            any::<bool>(),
            0u8..5,
        )
            .prop_map(|(sequence, steps, frames, lookback, group_min, mode)| {
                let mut steps = steps;
                if steps.iter().all(|s| s.0) {
                    steps[0].0 = false;
                }
                let mut s = String::new();
                s.push_str(if sequence { "  - Sequence:\n" } else { "  - Group:\n" });
                for (i, (absent, min, extra)) in steps.iter().enumerate() {
                    let max = extra
                        .map(|e| format!(", MaxMatchCount: {}", min + e))
                        .unwrap_or_default();
                    let _ = writeln!(
                        s,
                        "      - {{ID: S{i}, RuleID: Example.S{i}, MinMatchCount: {min}{max}, Absence: {absent}}}"
                    );
                }
                if sequence && steps.len() > 1 {
                    s.push_str("    Transitions:\n");
                    for i in 0..steps.len() - 1 {
                        let (w, m) = frames.get(i).copied().unwrap_or((5, 0));
                        // 0: On f; 1: From f To f; 2: no Match; 3: On g.
                        let matching = match m {
                            0 => ", Match: [{On: f}]",
                            1 => ", Match: [{From: f, To: f}]",
                            3 => ", Match: [{On: g}]",
                            _ => "",
                        };
                        let _ = writeln!(
                            s,
                            "      - {{From: S{i}, To: S{}, WithinTimeFrameMinutes: {w}{matching}}}",
                            i + 1
                        );
                    }
                }
                // 0: all on f; 1: item 0 on g; 2: item 0 unconstrained;
                // 3: item 0 on f and g; 4: no field matching.
                if !sequence && mode != 4 {
                    s.push_str("    MatchCriteria:\n      c:\n");
                    for i in 0..steps.len() {
                        let field = if mode == 1 && i == 0 { "g" } else { "f" };
                        if !(mode == 2 && i == 0) {
                            let _ = writeln!(s, "        - {{GroupID: S{i}, Match: {field}}}");
                        }
                    }
                    if mode == 3 {
                        s.push_str("      d:\n        - {GroupID: S0, Match: g}\n");
                    }
                }
                if !sequence && group_min {
                    s.push_str("    MinMatchCount: 1\n");
                }
                let _ = writeln!(s, "    LookbackWindowMinutes: {lookback}");
                s.push_str("    Schedule: {RateMinutes: 30, TimeoutMinutes: 5}\n");
                s
            })
    }

    fn arb_signals() -> impl Strategy<Value = Vec<Sig>> {
        let field = prop::sample::select(vec!["f", "f", "f", "g"]);
        let value = prop::sample::select(vec![Some("a"), Some("a"), Some("b"), None]);
        prop::collection::vec((0usize..4, 0i64..40, field, value), 0..14)
            .prop_map(|v| v.into_iter().map(|(i, t, f, x)| (i, t * 60, f, x)).collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn engine_agrees_with_the_normative_algorithm(block in arb_block(), sigs in arb_signals(), end in 0i64..45) {
            let text = format!(
                "AnalysisType: correlation_rule\nRuleID: Example.Corr\nEnabled: true\nSeverity: High\nDetection:\n{block}"
            );
            let r = load(&text);
            let Some(d) = r.detection.as_ref() else { return Ok(()) };
            let Ok(c) = Correlation::compile(d) else { return Ok(()) };
            let sigs: Vec<Sig> = sigs.into_iter().filter(|s| s.0 < c.len()).collect();
            let mut b = c.signals();
            for s in &sigs {
                b.push_field(s.0, s.1, s.2, s.3);
            }
            let signals = b.finish();
            let t_end = end * 60;
            let want = naive_evaluate(&c, &sigs, t_end);
            prop_assert_eq!(c.evaluate(&signals, t_end), want, "{}\n{:?}", block, sigs);
            let lines = c.explain(&signals, t_end, TimeFormat::Minutes);
            let last = lines.last().cloned().unwrap_or_default();
            prop_assert_eq!(last.starts_with("result: match"), want, "{:#?}", lines);
            prop_assert_eq!(c.matching_values(&signals, t_end).is_empty(), !want);
        }
    }
}
