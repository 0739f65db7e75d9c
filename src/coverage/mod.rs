//! `detect coverage`: ATT&CK coverage of a project's detections and the
//! gaps in their tests, computed from loaded analyses (no I/O here; the
//! command loads, the reporter renders the summary and the Navigator
//! layer).

pub mod mitre;
pub mod tally;

pub use tally::{Coverage, Covered, Detection, Gap, GapKind, TacticCount, detection, tally};
