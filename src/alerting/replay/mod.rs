//! Replaying detections over events (alerts-and-webhooks §4–§5,
//! correlation-rules §4.3), the domain part of `detect run`.
//!
//! [`plan`] chooses and compiles the detections; [`evaluate`](mod@evaluate) is the
//! workers' part for one record; [`join`] keeps the join values of signals
//! for the correlation rules; [`correlate`](mod@correlate) runs those at the times
//! [`schedule`] gives; [`signal`] writes the signal lines of both. The
//! command reads the inputs, feeds the grouper in input order and writes
//! the outputs.

pub mod correlate;
pub mod evaluate;
pub mod join;
pub mod plan;
pub mod schedule;
pub mod signal;

use std::collections::BTreeMap;

pub use correlate::correlate;
pub use evaluate::{Found, Record, evaluate};
pub use join::{Kept, OwnedJoin};
pub use plan::{CorrelationDetection, Detection, Plan, Selection};

/// Counters of one run.
#[derive(Debug, Default)]
pub struct Stats {
    /// Events read (bad records excluded).
    pub events: u64,
    /// Records that are not JSON objects.
    pub bad: u64,
    /// Events without a log type.
    pub no_log_type: u64,
    /// Signals, of detections and correlation rules.
    pub signals: u64,
    /// Alert type → alerts created.
    pub alerts: BTreeMap<&'static str, u64>,
    /// Per detection: matches, alerts.
    pub hits: Vec<(u64, u64)>,
    /// Per correlation rule: matches, alerts.
    pub corr_hits: Vec<(u64, u64)>,
}
