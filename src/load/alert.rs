//! Alert keys of rules: `DynamicSeverities`, `AlertTitle`, `AlertContext`,
//! `GroupBy` (simple-detections §6–§9).

use crate::load::Cx;
use crate::model::{ContextItem, DynamicSeverity, KeySpec, Template};
use crate::yaml::Node;

/// Reads `DynamicSeverities`.
pub fn dynamic_severities(cx: &mut Cx, node: &Node) -> Option<Vec<DynamicSeverity>> {
    let _ = (cx, node);
    None
}

/// Reads `AlertTitle`.
pub fn alert_title(cx: &mut Cx, node: &Node) -> Option<Template> {
    let _ = (cx, node);
    None
}

/// Reads `AlertContext`.
pub fn alert_context(cx: &mut Cx, node: &Node) -> Option<Vec<ContextItem>> {
    let _ = (cx, node);
    None
}

/// Reads `GroupBy`.
pub fn group_by(cx: &mut Cx, node: &Node) -> Option<Vec<KeySpec>> {
    let _ = (cx, node);
    None
}
