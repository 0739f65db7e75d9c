//! `bad-pack-ref` (cli-and-settings §3 row 20): a pack lists an ID that no
//! loaded file defines, or that only an invalid file defines (PAT drops
//! invalid files before it checks packs).
//!
//! Reported on the offending item of `PackDefinition.IDs`; when an invalid
//! file has the ID, it is a related location.

use std::collections::{HashMap, HashSet};

use super::{Check, CheckCx};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Analysis, AnalysisType, Body};

/// The check.
pub struct PackRefs;

impl Check for PackRefs {
    fn code(&self) -> Code {
        Code::BadPackRef
    }

    fn run(&self, cx: &CheckCx<'_>, out: &mut Vec<Diagnostic>) {
        let valid: HashSet<&str> = cx
            .valid()
            .filter_map(|a| a.id.as_ref())
            .map(|s| s.value.as_str())
            .collect();
        let mut invalid: HashMap<&str, &Analysis> = HashMap::new();
        for a in cx.analyses.iter().copied() {
            if let Some(id) = &a.id {
                if cx.invalid.contains(&a.file) {
                    invalid.entry(id.value.as_str()).or_insert(a);
                }
            }
        }
        for a in cx.analyses.iter().copied() {
            if a.analysis_type.value != AnalysisType::Pack {
                continue;
            }
            let Body::Other(pack) = &a.body else { continue };
            for item in &pack.pack_ids {
                if valid.contains(item.value.as_str()) {
                    continue;
                }
                let d = match invalid.get(item.value.as_str()) {
                    Some(other) => {
                        let span = other.id.as_ref().map(|s| s.span).unwrap_or_default();
                        let path = cx.sources.get(other.file.0 as usize).map_or("", |s| s.display.as_str());
                        Diagnostic::new(
                            Code::BadPackRef,
                            a.file,
                            item.span,
                            format!(
                                "pack `{}` lists `{}`, which is defined only in an invalid file",
                                a.id_str(),
                                item.value
                            ),
                        )
                        .with_related(other.file, span, format!("defined in {path}, which has errors"))
                        .with_help("fix the errors of that file so that the pack can include it")
                    }
                    None => Diagnostic::new(
                        Code::BadPackRef,
                        a.file,
                        item.span,
                        format!(
                            "pack `{}` lists `{}`, which no loaded file defines",
                            a.id_str(),
                            item.value
                        ),
                    )
                    .with_help(
                        "check the spelling of the ID, load the file that defines it, or remove it from the pack",
                    ),
                };
                out.push(d);
            }
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    fn run(files: &[&str]) -> Vec<Diagnostic> {
        super::super::run_on_texts(&PackRefs, files)
    }

    #[test]
    fn reports_unknown_and_invalid_ids() {
        let pack = "AnalysisType: pack\nPackID: P\nPackDefinition:\n  IDs:\n    - G\n    - does.not.exist\n    - Bad\n";
        let global = "AnalysisType: global\nGlobalID: G\nFilename: g.py\n";
        let bad = "AnalysisType: global\nGlobalID: Bad\n";
        let out = run(&[pack, global, bad]);
        assert_eq!(out.len(), 2, "{out:#?}");
        assert!(out.iter().all(|d| d.code == Code::BadPackRef));
        let lines: Vec<u32> = out
            .iter()
            .filter_map(|d| d.primary.as_ref().map(|l| l.span.start.line))
            .collect();
        assert_eq!(lines, [6, 7]);
        assert!(out[0].message.contains("`does.not.exist`"));
        assert_eq!(out[1].related.len(), 1);
    }

    #[test]
    fn complete_pack_is_fine() {
        let pack = "AnalysisType: pack\nPackID: P\nPackDefinition:\n  IDs: [G]\n";
        let global = "AnalysisType: global\nGlobalID: G\nFilename: g.py\n";
        assert!(run(&[pack, global]).is_empty());
    }
}
