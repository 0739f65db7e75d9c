//! `missing-file` (cli-and-settings §3 row 16): `Filename` names a file that
//! does not exist.
//!
//! The name is relative to the folder of the YAML file, as in PAT. Rules
//! keep it in `Rule::filename`, every other type in `Other::filename`.
//! Reported on the `Filename` value.
//!
//! Decision: only files whose `Filename` is the item itself are checked:
//! rules, scheduled rules, policies (their Python logic) and lookup tables
//! (their data). The Python bodies of globals and data models are only ever
//! used by Python rules, which `detect` does not execute, so a missing one
//! cannot change any result `detect` reports.

use std::path::Path;

use super::{Check, CheckCx};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{AnalysisType, Body};

/// The check.
pub struct MissingFile;

impl Check for MissingFile {
    fn code(&self) -> Code {
        Code::MissingFile
    }

    fn run(&self, cx: &CheckCx<'_>, out: &mut Vec<Diagnostic>) {
        for a in cx.analyses.iter().copied() {
            if matches!(a.analysis_type.value, AnalysisType::Global | AnalysisType::DataModel) {
                continue;
            }
            let filename = match &a.body {
                Body::Rule(r) => r.filename.as_ref(),
                Body::Other(o) => o.filename.as_ref(),
            };
            let Some(name) = filename else { continue };
            let Some(source) = cx.sources.get(a.file.0 as usize) else {
                continue;
            };
            let dir = source.path.parent().unwrap_or_else(|| Path::new(""));
            if !name.value.is_empty() && dir.join(&name.value).is_file() {
                continue;
            }
            let shown = Path::new(&source.display)
                .parent()
                .map(|p| p.join(&name.value))
                .map_or_else(|| name.value.clone(), |p| p.to_string_lossy().replace('\\', "/"));
            out.push(
                Diagnostic::new(
                    Code::MissingFile,
                    a.file,
                    name.span,
                    format!("`Filename` names `{}`, which does not exist", name.value),
                )
                .with_help(format!(
                    "the path is relative to the folder of this YAML file: create `{shown}` or fix the name"
                )),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{FileId, SourceFile};

    #[test]
    fn reports_filenames_that_do_not_exist() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sub = dir.path().join("rules");
        std::fs::create_dir(&sub).expect("create dir");
        std::fs::write(sub.join("here.py"), "").expect("write");
        let files = [
            "AnalysisType: global\nGlobalID: G\nFilename: here.py\n",
            "AnalysisType: policy\nPolicyID: P\nFilename: gone.py\n",
            "AnalysisType: rule\nRuleID: R\nFilename: gone.py\n",
            "AnalysisType: pack\nPackID: K\nPackDefinition:\n  IDs: []\n",
        ];
        let sources = files
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let display = format!("rules/f{i}.yml");
                SourceFile::new(
                    sub.join(format!("f{i}.yml")),
                    display.clone(),
                    display,
                    Some((*text).to_owned()),
                )
            })
            .collect();
        let out = crate::check::run_on_sources(&MissingFile, sources);
        let files: Vec<_> = out.iter().filter_map(Diagnostic::file).collect();
        assert_eq!(files, [FileId(1), FileId(2)], "{out:#?}");
        let d = &out[0];
        assert_eq!(d.code, Code::MissingFile);
        assert_eq!(
            d.primary.as_ref().map(|l| (l.span.start.line, l.span.start.col)),
            Some((3, 11))
        );
        assert!(d.help.as_deref().is_some_and(|h| h.contains("`rules/gone.py`")));
    }
}
