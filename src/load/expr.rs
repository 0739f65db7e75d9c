//! Match expressions: spanned YAML to [`Expr`] with match-expressions §12
//! validation.

use crate::load::Cx;
use crate::model::{ExprList, KeyPath, KeySpec};
use crate::source::Span;
use crate::yaml::Node;

/// Where a list of expressions stands; decides the restrictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExprContext {
    /// `Detection` (and `Expressions` below it).
    Detection,
    /// `InlineFilters` (match-expressions §10.1).
    InlineFilters,
    /// `DynamicSeverities[].Conditions` (§11).
    DynamicSeverity,
}

/// Reads a list of match expressions under `key`.
pub fn expr_list(cx: &mut Cx, node: &Node, key: &str, context: ExprContext) -> Option<ExprList> {
    let _ = (cx, node, key, context);
    Some(Vec::new())
}

/// Reads a mapping that must hold exactly one key specifier.
pub fn key_spec(cx: &mut Cx, node: &Node, place: &str) -> Option<KeySpec> {
    let _ = (cx, node, place);
    None
}

/// Parses a KeyPath (§2.3.1).
pub fn key_path(cx: &mut Cx, text: &str, span: Span) -> Option<KeyPath> {
    let _ = (cx, text, span);
    None
}
