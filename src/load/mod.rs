//! Spanned YAML to the typed model, with diagnostics.
//!
//! [`load_file`] reads one file: it parses the YAML, classifies it by
//! `AnalysisType` (cli-and-settings §2) and hands the root mapping to the
//! loader of its type. Every problem becomes a diagnostic; loading never
//! stops at the first one.

pub mod alert;
pub mod correlation;
pub mod cx;
pub mod expr;
pub mod lean;
pub mod other;
pub mod rule;

pub use cx::{Cx, LoadOptions};
pub use lean::Keep;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Analysis, AnalysisType, Body, ID_KEYS};
use crate::source::{FileId, Span, Spanned};
use crate::yaml::{self, Node, NodeKind};

/// What loading one file produced.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The analysis item, when the file is one and got far enough to have
    /// a type. Present even when the file has errors.
    pub analysis: Option<Analysis>,
    /// Whether the file is an analysis file at all (has `AnalysisType`, or
    /// could not be parsed). Files that are not are skipped silently.
    pub is_analysis: bool,
    /// Everything found.
    pub diagnostics: Vec<Diagnostic>,
}

/// Loads one file's bytes (`None` when it could not be read), returning its
/// text when it is UTF-8. A file that is not is reported at its first
/// invalid byte.
pub fn load_bytes(file: FileId, bytes: Option<Vec<u8>>, opts: LoadOptions) -> (Option<String>, Loaded) {
    let bytes = match bytes.map(String::from_utf8) {
        Some(Ok(text)) => {
            let loaded = load_file(file, Some(&text), opts);
            return (Some(text), loaded);
        }
        Some(Err(e)) => e.into_bytes(),
        None => return (None, load_file(file, None, opts)),
    };
    let Some((span, byte)) = first_invalid_byte(&bytes) else {
        return (None, load_file(file, None, opts));
    };
    let mut cx = Cx::new(file, opts);
    cx.report(
        Code::YamlSyntax,
        span,
        format!("the file is not UTF-8 text: byte 0x{byte:02X} here is not part of a UTF-8 character"),
    )
    .help = Some(
        "detection files must be UTF-8 YAML; re-save the file as UTF-8 (it may be Latin-1 or Windows-1252)".to_owned(),
    );
    let loaded = Loaded {
        is_analysis: true,
        diagnostics: cx.diags,
        ..Loaded::default()
    };
    (None, loaded)
}

/// The line and column (in characters of the valid text before it) of the
/// first byte that is not UTF-8, and the byte.
fn first_invalid_byte(bytes: &[u8]) -> Option<(Span, u8)> {
    let valid = match std::str::from_utf8(bytes) {
        Ok(_) => return None,
        Err(e) => e.valid_up_to(),
    };
    let prefix = std::str::from_utf8(bytes.get(..valid)?).ok()?;
    let line_start = prefix.rfind('\n').map_or(0, |i| i + 1);
    let line = prefix.matches('\n').count() + 1;
    let col = prefix[line_start..].chars().count() + 1;
    Some((Span::at(line as u32, col as u32), *bytes.get(valid)?))
}

/// Loads one file's text.
///
/// `text` is `None` for a file that is not UTF-8. `recognised_folder` says
/// whether the file sits in a folder the name gate admits, for the
/// `missing-analysis-type` warning.
pub fn load_file(file: FileId, text: Option<&str>, opts: LoadOptions) -> Loaded {
    let keep = opts.keep.clone();
    let mut cx = Cx::new(file, opts);
    let mut out = Loaded::default();
    let Some(text) = text else {
        cx.report(Code::YamlSyntax, Span::START, "the file is not UTF-8 text")
            .help = Some("detection files must be UTF-8 YAML".to_owned());
        out.is_analysis = true;
        out.diagnostics = cx.diags;
        return out;
    };
    let mut doc = match yaml::parse(text) {
        Ok(doc) => doc,
        Err(e) => {
            cx.report(Code::YamlSyntax, e.span, e.message).help = e.help;
            out.is_analysis = true;
            out.diagnostics = cx.diags;
            return out;
        }
    };
    cx.big_ints = std::mem::take(&mut doc.big_ints);
    let Some(root) = doc.root else {
        cx.report(
            Code::EmptyFile,
            Span::START,
            "the file is empty; it is not an analysis item",
        )
        .help = Some("remove it, or give it an `AnalysisType` and its keys".to_owned());
        out.diagnostics = cx.diags;
        return out;
    };
    if root.as_map().is_none() {
        // Not a mapping: no AnalysisType, so not an analysis file (PAT skips it).
        return out;
    }
    let Some((type_key, type_node)) = root.get_entry("AnalysisType") else {
        if let Some((k, _)) = ID_KEYS.iter().find_map(|k| root.get_entry(k)) {
            cx.report(
                Code::MissingAnalysisType,
                k.span,
                "looks like a detection but has no `AnalysisType`",
            )
            .help = Some(
                "add `AnalysisType: rule` (or the right type), or move the file out of the rules folders".to_owned(),
            );
            out.diagnostics = cx.diags;
        }
        return out;
    };
    out.is_analysis = true;
    for d in &doc.duplicates {
        cx.report(
            Code::DuplicateKey,
            d.span,
            format!("duplicate key `{}`; this value replaces the earlier one", d.key),
        )
        .related
        .push(crate::diagnostic::Label {
            file,
            span: d.first,
            text: Some("earlier value here".to_owned()),
        });
    }
    let ty = match &type_node.kind {
        NodeKind::Str(s) => match AnalysisType::from_name(s) {
            Some(t) => t,
            None => {
                let names = AnalysisType::ALL.iter().map(|(_, n)| *n);
                let found = cx::replace_value(s, type_node.span, names.clone());
                let d = cx.report(
                    Code::UnknownAnalysisType,
                    type_node.span,
                    format!("unknown `AnalysisType` `{s}`"),
                );
                match found {
                    Some((help, fix)) => d.with_help_and_fix(help, fix),
                    None => d.help = Some(format!("use one of: {}", names.collect::<Vec<_>>().join(", "))),
                }
                out.diagnostics = cx.diags;
                return out;
            }
        },
        _ => {
            cx.report(
                Code::UnknownAnalysisType,
                type_node.span,
                format!("`AnalysisType` must be a string, found {}", type_node.type_name()),
            );
            let _ = type_key;
            out.diagnostics = cx.diags;
            return out;
        }
    };
    let analysis_type = Spanned::new(ty, type_node.span);
    let id = read_id(&mut cx, &root, ty);
    let mut body = match ty {
        AnalysisType::Rule | AnalysisType::ScheduledRule => Body::Rule(Box::new(rule::load(&mut cx, &root, ty))),
        AnalysisType::CorrelationRule => Body::Other(correlation::load(&mut cx, &root)),
        _ => Body::Other(other::load(&mut cx, &root, ty)),
    };
    let root = lean::prune(root, ty, &body, &keep);
    lean::slim(&mut body, &keep);
    out.analysis = Some(Analysis {
        file,
        analysis_type,
        id,
        body,
        root,
    });
    out.diagnostics = cx.diags;
    out
}

/// Reads the ID key of a type: required, a string, checked characters.
fn read_id(cx: &mut Cx, root: &Node, ty: AnalysisType) -> Option<Spanned<String>> {
    let key = ty.id_key();
    let Some(node) = root.get(key) else {
        cx.missing(root, key, "the file");
        return None;
    };
    let id = cx.string(node, key)?;
    match ty {
        AnalysisType::LookupTable => {
            if id.value.is_empty() {
                cx.report(Code::InvalidId, id.span, format!("`{key}` must not be empty"));
            }
        }
        AnalysisType::ScheduledPrompt => {
            let ok = id.value.starts_with(|c: char| c.is_ascii_lowercase())
                && id
                    .value
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                cx.report(
                    Code::InvalidId,
                    id.span,
                    format!("`{key}` `{}` must match `^[a-z][a-z0-9_]*$`", id.value),
                )
                .help = Some("use lower-case letters, digits and underscores, starting with a letter".to_owned());
            }
        }
        _ => cx.id_chars(&id, key),
    }
    Some(id)
}

/// Reports top-level keys whose value is `null` (`wrong-type`), except for
/// keys in `nullable`.
pub fn null_values(cx: &mut Cx, root: &Node, nullable: &[&str]) {
    for (k, v) in root.as_map().unwrap_or(&[]) {
        if v.is_null() && !k.as_str().is_some_and(|s| nullable.contains(&s)) {
            let name = k.key_text().unwrap_or_default();
            cx.report(Code::WrongType, v.span, format!("`{name}` has no value"))
                .help = Some("give it a value or remove the key".to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_utf8_is_reported_at_its_first_bad_byte() {
        // `é` is two bytes but one column; the 0xFF is the 3rd character of line 2.
        let (text, loaded) = load_bytes(
            FileId(0),
            Some(b"a: 1\n\xc3\xa9b\xff: 2\n".to_vec()),
            LoadOptions::default(),
        );
        assert!(text.is_none());
        let d = &loaded.diagnostics;
        assert_eq!(d.len(), 1);
        let span = d[0].primary.as_ref().unwrap().span;
        assert_eq!((span.start.line, span.start.col), (2, 3));
        assert!(d[0].message.contains("0xFF"), "{}", d[0].message);
        let (text, loaded) = load_bytes(FileId(0), Some(b"a: 1\n".to_vec()), LoadOptions::default());
        assert_eq!(text.as_deref(), Some("a: 1\n"));
        assert!(loaded.diagnostics.is_empty());
    }
}

#[cfg(test)]
mod fix_tests {
    use super::*;
    use crate::diagnostic::Fix;

    fn fixes(text: &str) -> Vec<(Code, Option<Fix>)> {
        let (_, loaded) = load_bytes(FileId(0), Some(text.as_bytes().to_vec()), LoadOptions::default());
        loaded.diagnostics.into_iter().map(|d| (d.code, d.fix)).collect()
    }

    fn only_fix(text: &str, code: Code) -> Fix {
        let found = fixes(text);
        let mut of_code = found.into_iter().filter(|(c, _)| *c == code);
        let (_, fix) = of_code.next().unwrap_or_else(|| panic!("no {code:?} in {text}"));
        fix.unwrap_or_else(|| panic!("{code:?} has no fix"))
    }

    const RULE: &str = "AnalysisType: rule\nRuleID: A.B\nEnabled: true\nLogTypes: [AWS.CloudTrail]\nSeverity: Low\n";

    #[test]
    fn a_misspelt_top_level_key_is_renamed_at_its_span() {
        let fix = only_fix(
            &format!("{RULE}Descriptoin: x\nDetection:\n  - Key: a\n    Condition: Exists\n"),
            Code::UnknownKey,
        );
        assert!(fix.safe);
        assert_eq!(fix.edits.len(), 1);
        let e = &fix.edits[0];
        assert_eq!(e.text, "Description");
        assert_eq!((e.span.start.line, e.span.start.col, e.span.end.col), (6, 1, 12));
    }

    #[test]
    fn a_rename_onto_a_key_already_present_is_not_safe() {
        let fix = only_fix(
            &format!("{RULE}Description: y\nDescriptoin: x\nDetection:\n  - Key: a\n    Condition: Exists\n"),
            Code::UnknownKey,
        );
        assert!(!fix.safe);
    }

    #[test]
    fn all_caps_severity_is_a_safe_fix_and_a_misspelt_one_an_offer() {
        let head = "AnalysisType: rule\nRuleID: A.B\nEnabled: true\nLogTypes: [AWS.CloudTrail]\n";
        let det = "Detection:\n  - Key: a\n    Condition: Exists\n";
        let fix = only_fix(&format!("{head}Severity: HIGH\n{det}"), Code::SeveritySpelling);
        assert!(fix.safe);
        assert_eq!(fix.edits[0].text, "High");
        assert_eq!((fix.edits[0].span.start.col, fix.edits[0].span.end.col), (11, 15));
        let fix = only_fix(&format!("{head}Severity: Hihg\n{det}"), Code::InvalidValue);
        assert!(!fix.safe);
        assert_eq!(fix.edits[0].text, "High");
    }

    #[test]
    fn keys_inside_expressions_and_policy_tests_get_renames() {
        let fix = only_fix(
            &format!("{RULE}Detection:\n  - Key: a\n    Condtion: Exists\n    Condition: Exists\n"),
            Code::UnknownKey,
        );
        // `Condition` is already there: offered, not safe.
        assert_eq!(fix.edits[0].text, "Condition");
        assert!(!fix.safe);
        let policy = "AnalysisType: policy\nPolicyID: P.A\nEnabled: true\nFilename: p.py\nSeverity: Low\n\
                      Tests:\n  - Name: t\n    ExpectedResult: true\n    Resource: {}\n    ExpectedResutl: 1\n";
        let found = fixes(policy);
        let fix = found
            .into_iter()
            .find_map(|(c, f)| f.filter(|f| c == Code::UnknownKey && f.edits[0].text == "ExpectedResult"));
        assert!(fix.is_some_and(|f| !f.safe), "ExpectedResult is present: not safe");
    }

    #[test]
    fn condition_names_get_fixes() {
        let fix = only_fix(
            &format!("{RULE}Detection:\n  - Key: a\n    Condition: Equal\n    Value: b\n"),
            Code::UnknownCondition,
        );
        assert_eq!(fix.edits[0].text, "Equals");
        assert_eq!((fix.edits[0].span.start.line, fix.edits[0].span.start.col), (8, 16));
    }
}
