//! Correlation rules over the signals of a replay (correlation-rules
//! §4.3): each rule runs at the times of its `Schedule`, referenced
//! correlation rules first, and its matches become signals and alerts.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::join::{Kept, OwnedJoin};
use super::schedule::run_times;
use super::signal::{self, Signal};
use super::{Plan, Stats};
use crate::alerting::group::{Alert, Grouper, Match, RuleMeta};
use crate::alerting::time::SECOND;
use crate::engine::correlation::{JoinKey, JoinValue};

/// Evaluates the correlation rules over the kept signals: runs at the
/// schedule's times from the earliest to the latest signal, one match per
/// join value, grouped within the lookback window (correlation-rules §4.3).
/// `emit` receives each alert and each signal line. Returns the number of
/// correlation signals.
pub fn correlate(
    plan: &Plan,
    kept: &[Vec<Vec<Kept>>],
    grouper: &mut Grouper,
    metas: &[RuleMeta],
    stats: &mut Stats,
    mut emit: impl FnMut(Option<Alert>, String),
) -> u64 {
    let mut signals = 0;
    let n = plan.correlations.len();
    // Signals produced by correlation rules for other correlation rules.
    let mut extra: Vec<Vec<Vec<Kept>>> = plan
        .correlations
        .iter()
        .map(|c| (0..c.engine.len()).map(|_| Vec::new()).collect())
        .collect();
    let mut done = vec![false; n];
    let corr_log_type = u32::MAX;
    // Referenced correlation rules first; rules in a reference cycle are
    // not evaluated.
    while let Some(ci) = (0..n).find(|&i| !done[i] && plan.correlations[i].needs.iter().all(|&j| done[j] || j == i)) {
        done[ci] = true;
        let c = &plan.correlations[ci];
        let mut builder = c.engine.signals();
        let mut times: Vec<(i64, u32)> = Vec::new();
        for item in 0..c.engine.len() {
            let all = kept[ci][item].iter().chain(extra[ci][item].iter());
            for k in all {
                let lists: Vec<Vec<JoinValue<'_>>> = k
                    .values
                    .iter()
                    .filter_map(|v| match v {
                        OwnedJoin::List(items) => Some(items.iter().map(OwnedJoin::flat).collect()),
                        _ => None,
                    })
                    .collect();
                let mut at = 0;
                let values: Vec<JoinValue<'_>> = k.values.iter().map(|v| v.borrow(&lists, &mut at)).collect();
                builder.push(item, k.time, &values);
                times.push((k.time, k.log_type));
            }
        }
        let indexed = builder.finish();
        let (Some(first), Some(last)) = (indexed.earliest(), indexed.latest()) else {
            continue;
        };
        times.sort_unstable();
        let lookback = c.engine.lookback_minutes() * 60;
        // Join value → start of its match: a run whose lookback still
        // reaches back into it finds the same match again, which is not a
        // new one (a signal each time, one match in the summary).
        let mut matched: HashMap<String, i64> = HashMap::new();
        for t_end in run_times(&c.trigger, first, last.saturating_add(lookback)) {
            let keys = c.engine.matching_values(&indexed, t_end);
            if keys.is_empty() {
                continue;
            }
            // Log types of the signals the run saw, for destination filters.
            let lo = times.partition_point(|(t, _)| *t < t_end - lookback);
            let hi = times.partition_point(|(t, _)| *t <= t_end);
            let mut seen: Vec<String> = times[lo..hi]
                .iter()
                .filter_map(|(_, l)| plan.log_types.get(*l as usize).cloned())
                .collect();
            seen.sort();
            seen.dedup();
            for key in keys {
                let join = match key {
                    JoinKey::Any => String::new(),
                    JoinKey::Null => "null".to_owned(),
                    JoinKey::Text(s) => s.to_owned(),
                };
                signals += 1;
                let new_match = matched
                    .get(&join)
                    .is_none_or(|start| t_end >= start.saturating_add(lookback.max(60)));
                if new_match {
                    matched.insert(join.clone(), t_end);
                    stats.corr_hits[ci].0 += 1;
                }
                let t_nanos = t_end.saturating_mul(SECOND);
                for &(cj, item) in &c.feeds {
                    if let Some(slot) = extra.get_mut(cj).and_then(|e| e.get_mut(item)) {
                        slot.push(Kept {
                            time: t_end,
                            values: vec![OwnedJoin::Text(join.clone())],
                            log_type: corr_log_type,
                        });
                    }
                }
                let mut ev = Map::new();
                ev.insert("p_alert_context".to_owned(), Value::Object(Map::new()));
                ev.insert("p_correlation_join_value".to_owned(), Value::String(join.clone()));
                let line = signal::line(Signal {
                    rule_id: &c.meta.id,
                    log_type: "",
                    time: t_nanos,
                    dedup: c.meta.create_alert.then_some(join.as_str()),
                    create_alert: c.meta.create_alert,
                    event: Value::Object(ev),
                });
                let mut alert = None;
                if !c.signals_only {
                    let m = Match {
                        rule: plan.detections.len() + ci,
                        time: t_nanos,
                        log_type: String::new(),
                        title: c.meta.name.clone(),
                        dedup: join,
                        severity: c.severity,
                        context: Value::Object(Map::new()),
                        unique: None,
                    };
                    if let Some(mut a) = grouper.add(metas, m) {
                        a.log_types = seen.clone();
                        stats.corr_hits[ci].1 += 1;
                        alert = Some(a);
                    }
                }
                emit(alert, line);
            }
        }
    }
    signals
}
