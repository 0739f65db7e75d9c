//! Delivery planning (alerts-and-webhooks §7): which destinations each
//! alert goes to, and which deliveries are still to be made given the
//! delivery log. Nothing here sends, prints or locks; the commands do.

use std::collections::HashSet;

use serde_json::Value;

use crate::alerting::deliver::Job;
use crate::alerting::dest::{self, ChosenBy, RouteInfo};
use crate::alerting::log::Pending;
use crate::alerting::payload;
use crate::settings::DestinationSettings;

/// An alert ready for routing.
#[derive(Debug, Clone)]
pub struct Deliverable {
    /// The exact payload.
    pub payload: Value,
    /// `alertId`.
    pub alert_id: String,
    /// `id`.
    pub rule_id: String,
    /// `severity`.
    pub severity: String,
    /// `type`.
    pub alert_type: String,
    /// Log types for log-type filters.
    pub log_types: Vec<String>,
    /// The detection's `OutputIds`.
    pub output_ids: Vec<String>,
}

/// The routing of a list of alerts.
#[derive(Debug, Default)]
pub struct Routing {
    /// Per destination (settings order): indexes of the alerts it gets.
    pub per_destination: Vec<Vec<usize>>,
    /// Per alert: its destinations and which rule chose them.
    pub chosen: Vec<(Vec<usize>, ChosenBy)>,
    /// (alert index, `OutputIds` entry) that match no enabled
    /// destination, each (detection, entry) pair once, in alert order.
    pub unmatched: Vec<(usize, String)>,
}

/// Routes every alert (§7.1); with `only`, to that destination at most.
pub fn route(items: &[Deliverable], dests: &[DestinationSettings], only: Option<usize>) -> Routing {
    let mut routing = Routing {
        per_destination: vec![Vec::new(); dests.len()],
        ..Routing::default()
    };
    let mut warned: HashSet<(&str, String)> = HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let r = dest::route(
            RouteInfo {
                severity: &item.severity,
                alert_type: &item.alert_type,
                log_types: &item.log_types,
                output_ids: &item.output_ids,
            },
            dests,
        );
        for u in r.unmatched {
            if warned.insert((item.rule_id.as_str(), u.clone())) {
                routing.unmatched.push((i, u));
            }
        }
        let chosen: Vec<usize> = r
            .destinations
            .into_iter()
            .filter(|d| only.is_none_or(|o| o == *d))
            .collect();
        for &d in &chosen {
            if let Some(list) = routing.per_destination.get_mut(d) {
                list.push(i);
            }
        }
        routing.chosen.push((chosen, r.by));
    }
    routing
}

/// The deliveries to make.
#[derive(Debug, Default)]
pub struct Planned {
    /// (destination index, its jobs), destinations in settings order.
    pub jobs: Vec<(usize, Vec<Job>)>,
    /// The pending-journal entries of those jobs, in the same order.
    pub pending: Vec<Pending>,
    /// Deliveries left out because the log records them delivered.
    pub skipped: usize,
}

/// Plans a job per routed (alert, destination) pair, except the pairs in
/// `delivered` (alert ID, destination name) unless `force`.
pub fn plan(
    items: &[Deliverable],
    dests: &[DestinationSettings],
    per_destination: &[Vec<usize>],
    delivered: &HashSet<(&str, &str)>,
    force: bool,
    kind: &'static str,
) -> Planned {
    let mut planned = Planned::default();
    for (d, list) in per_destination.iter().enumerate() {
        let Some(dest) = dests.get(d) else { continue };
        let name = dest.name.as_str();
        let mut jobs = Vec::new();
        for item in list.iter().filter_map(|&i| items.get(i)) {
            if !force && delivered.contains(&(item.alert_id.as_str(), name)) {
                planned.skipped += 1;
                continue;
            }
            let job = Job {
                delivery_id: payload::uuid(),
                kind,
                alert_id: item.alert_id.clone(),
                rule_id: item.rule_id.clone(),
                payload: item.payload.clone(),
                resend_of: None,
            };
            planned.pending.push(job.pending(name));
            jobs.push(job);
        }
        if !jobs.is_empty() {
            planned.jobs.push((d, jobs));
        }
    }
    planned
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(name: &str, severities: &[&str]) -> DestinationSettings {
        DestinationSettings {
            name: name.to_owned(),
            url: "http://127.0.0.1:1/x".to_owned(),
            severities: severities.iter().map(|s| (*s).to_owned()).collect(),
            alert_types: vec!["RULE".to_owned()],
            enabled: true,
            ..DestinationSettings::default()
        }
    }

    fn alert(id: &str, rule: &str, severity: &str, output_ids: &[&str]) -> Deliverable {
        Deliverable {
            payload: Value::Null,
            alert_id: id.to_owned(),
            rule_id: rule.to_owned(),
            severity: severity.to_owned(),
            alert_type: "RULE".to_owned(),
            log_types: vec!["AWS.CloudTrail".to_owned()],
            output_ids: output_ids.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn alerts_go_by_output_ids_else_by_filters() {
        let dests = [
            dest("pager", &["CRITICAL"]),
            dest("all", &["INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]),
        ];
        let items = [
            alert("a1", "R.Low", "LOW", &[]),
            alert("a2", "R.Crit", "CRITICAL", &[]),
            alert("a3", "R.Routed", "LOW", &["pager", "nowhere"]),
            alert("a4", "R.Routed", "LOW", &["nowhere"]),
        ];
        let r = route(&items, &dests, None);
        // `pager` takes only CRITICAL by its filter, but a3 names it.
        assert_eq!(r.per_destination, vec![vec![1, 2], vec![0, 1]]);
        assert_eq!(r.chosen[2], (vec![0], ChosenBy::OutputIds));
        assert_eq!(r.chosen[0], (vec![1], ChosenBy::Filters));
        // An OutputIds entry that matches nothing routes nowhere, and is
        // reported once per detection.
        assert_eq!(r.chosen[3].0, Vec::<usize>::new());
        assert_eq!(r.unmatched, vec![(2, "nowhere".to_owned())]);

        let only_all = route(&items, &dests, Some(1));
        assert_eq!(only_all.per_destination, vec![vec![], vec![0, 1]]);
    }

    #[test]
    fn delivered_pairs_are_skipped_unless_forced() {
        let dests = [dest("pager", &[]), dest("all", &[])];
        let items = [alert("a1", "R", "LOW", &[]), alert("a2", "R", "LOW", &[])];
        let per = vec![vec![0, 1], vec![0]];
        let delivered: HashSet<(&str, &str)> = [("a1", "pager")].into_iter().collect();
        let p = plan(&items, &dests, &per, &delivered, false, "alert");
        assert_eq!(p.skipped, 1);
        let got: Vec<(usize, Vec<&str>)> = p
            .jobs
            .iter()
            .map(|(d, jobs)| (*d, jobs.iter().map(|j| j.alert_id.as_str()).collect()))
            .collect();
        assert_eq!(got, vec![(0, vec!["a2"]), (1, vec!["a1"])]);
        let journal: Vec<(&str, &str)> = p
            .pending
            .iter()
            .map(|e| (e.alert_id.as_str(), e.destination.as_str()))
            .collect();
        assert_eq!(journal, vec![("a2", "pager"), ("a1", "all")]);
        assert!(p.jobs.iter().flat_map(|(_, j)| j).all(|j| j.kind == "alert"));

        let forced = plan(&items, &dests, &per, &delivered, true, "alert");
        assert_eq!(forced.skipped, 0);
        assert_eq!(forced.pending.len(), 3);
    }
}
