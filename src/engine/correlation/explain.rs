//! Explanations of a correlation run. Only used for reports, so they may
//! allocate.

use super::*;

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
