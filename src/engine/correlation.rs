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

mod explain;
#[cfg(test)]
mod tests;
