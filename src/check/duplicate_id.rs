//! `duplicate-id` and `id-case-collision` (cli-and-settings §2.2).
//!
//! One namespace for all types; the first file in the order of §1.6 keeps
//! the ID and every later one is reported on its ID key, with the first as a
//! related location. IDs that differ only in case are a warning.

use std::collections::HashMap;

use super::{Check, CheckCx};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::Analysis;

/// The check.
pub struct DuplicateId;

impl Check for DuplicateId {
    fn code(&self) -> Code {
        Code::DuplicateId
    }

    fn run(&self, cx: &CheckCx<'_>, out: &mut Vec<Diagnostic>) {
        let mut exact: HashMap<&str, &Analysis> = HashMap::new();
        let mut folded: HashMap<String, &Analysis> = HashMap::new();
        for a in cx.valid() {
            let Some(id) = &a.id else { continue };
            if let Some(first) = exact.get(id.value.as_str()) {
                let first_span = first.id.as_ref().map(|s| s.span).unwrap_or_default();
                out.push(
                    Diagnostic::new(
                        Code::DuplicateId,
                        a.file,
                        id.span,
                        format!("duplicate ID `{}`", id.value),
                    )
                    .with_related(first.file, first_span, "first defined here")
                    .with_help("IDs share one namespace across all analysis types; rename one of them"),
                );
                continue;
            }
            exact.insert(&id.value, a);
            let key = id.value.to_lowercase();
            if let Some(first) = folded.get(&key) {
                let first_id = first.id_str();
                let first_span = first.id.as_ref().map(|s| s.span).unwrap_or_default();
                out.push(
                    Diagnostic::new(
                        Code::IdCaseCollision,
                        a.file,
                        id.span,
                        format!("ID `{}` differs from `{first_id}` only in letter case", id.value),
                    )
                    .with_related(first.file, first_span, "the other ID"),
                );
            } else {
                folded.insert(key, a);
            }
        }
    }
}
