//! `conflicting-data-model` (cli-and-settings §3 row 19): two enabled data
//! models claim the same log type.
//!
//! Only valid files take part, as in PAT. The first data model in the order
//! of cli-and-settings §1.6 keeps the log type; every later one is reported
//! on its `LogTypes` item, with the first one's item as a related location.

use std::collections::HashMap;

use super::{Check, CheckCx};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Analysis, AnalysisType, Body};
use crate::source::Span;

/// The check.
pub struct DataModelConflict;

impl Check for DataModelConflict {
    fn code(&self) -> Code {
        Code::ConflictingDataModel
    }

    fn run(&self, cx: &CheckCx<'_>, out: &mut Vec<Diagnostic>) {
        let mut owners: HashMap<&str, (&Analysis, Span)> = HashMap::new();
        for a in cx.valid() {
            if a.analysis_type.value != AnalysisType::DataModel {
                continue;
            }
            let Body::Other(dm) = &a.body else { continue };
            if dm.enabled != Some(true) {
                continue;
            }
            for lt in &dm.log_types {
                match owners.get(lt.value.as_str()) {
                    Some((first, first_span)) if first.file != a.file => {
                        let path = cx.sources.get(first.file.0 as usize).map_or("", |s| s.display.as_str());
                        out.push(
                            Diagnostic::new(
                                Code::ConflictingDataModel,
                                a.file,
                                lt.span,
                                format!(
                                    "log type `{}` already has an enabled data model, `{}`",
                                    lt.value,
                                    first.id_str()
                                ),
                            )
                            .with_related(first.file, *first_span, format!("claimed first in {path}"))
                            .with_help("a log type can have one enabled data model: disable one of them or merge their mappings"),
                        );
                    }
                    Some(_) => {}
                    None => {
                        owners.insert(&lt.value, (a, lt.span));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::source::FileId;

    fn run(files: &[&str]) -> Vec<Diagnostic> {
        super::super::run_on_texts(&DataModelConflict, files)
    }

    fn model(id: &str, enabled: bool, log_types: &str) -> String {
        format!(
            "AnalysisType: datamodel\nDataModelID: {id}\nEnabled: {enabled}\nLogTypes: [{log_types}]\nMappings:\n  - Name: ip\n    Path: ip\n"
        )
    }

    #[test]
    fn later_enabled_model_is_reported() {
        let a = model("A", true, "OneLogin.Events");
        let b = model("B", false, "OneLogin.Events");
        let c = model("C", true, "Okta.SystemLog, OneLogin.Events");
        let out = run(&[&a, &b, &c]);
        assert_eq!(out.len(), 1, "{out:#?}");
        let d = &out[0];
        assert_eq!(d.code, Code::ConflictingDataModel);
        assert_eq!(d.file(), Some(FileId(2)));
        assert_eq!(d.primary.as_ref().map(|l| l.span.start.col), Some(28));
        assert_eq!(d.related[0].file, FileId(0));
        assert!(d.message.contains("`OneLogin.Events`") && d.message.contains("`A`"));
    }

    #[test]
    fn disabled_and_invalid_models_take_no_part() {
        let a = model("A", false, "X.Y");
        let b = model("B", true, "X.Y");
        let broken = model("C", true, "X.Y").replace("Mappings:\n  - Name: ip\n    Path: ip\n", "");
        assert!(run(&[&a, &b, &broken]).is_empty());
    }
}
