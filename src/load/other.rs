//! Policies, globals, data models, packs, queries, lookup tables and
//! scheduled prompts (cli-and-settings §2.1).

use crate::load::Cx;
use crate::model::{AnalysisType, Other};
use crate::yaml::Node;

/// Loads a file of one of the non-rule types.
pub fn load(cx: &mut Cx, root: &Node, ty: AnalysisType) -> Other {
    let _ = (cx, root, ty);
    Other::default()
}
