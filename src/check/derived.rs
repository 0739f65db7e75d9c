//! Derived detections against their base (derived-detections §4, §5, §9):
//! `unknown-base-detection`, `derived-base-kind`, `derived-chain`,
//! `derived-inherits-disabled`, `derived-override-shadowed`,
//! `derived-filters-replaced`, `derived-no-tests`, `derived-tests-disabled`.
//!
//! Reported on the derived file's `BaseDetection` value (or the overriding
//! key), with the base's file as a related location. A base that is itself
//! invalid carries its own errors; the derived file is then checked alone.

use std::path::Path;

use super::{Check, CheckCx};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Analysis, AnalysisType};
use crate::resolve::Base;

/// The check.
pub struct Derived;

/// Static keys shadowed by a Python alert function of the base (§4).
const SHADOWED: &[(&str, &str)] = &crate::model::keys::SHADOWED;

impl Check for Derived {
    fn code(&self) -> Code {
        Code::UnknownBaseDetection
    }

    fn run(&self, cx: &CheckCx<'_>, out: &mut Vec<Diagnostic>) {
        let index = cx.index;
        for d in cx.analyses.iter().copied() {
            let Some(rule) = d.rule() else { continue };
            let Some(base_id) = &rule.base_detection else { continue };
            let at = base_id.span;
            let base = match index.base(&base_id.value) {
                Base::NotLocal => {
                    out.push(
                        Diagnostic::new(
                            Code::UnknownBaseDetection,
                            d.file,
                            at,
                            format!("base detection `{}` is not among the loaded files; its tests are skipped", base_id.value),
                        )
                        .with_help("load the folder that holds the base, or keep this if the base exists only on the Panther instance"),
                    );
                    continue;
                }
                Base::Invalid(_) => continue,
                Base::Local(b) => b,
            };
            let base_src = &cx.sources[base.file.0 as usize];
            let related = |diag: Diagnostic, base: &Analysis| {
                let span = base.id.as_ref().map_or(base.root.first_key_span(), |i| i.span);
                diag.with_related(base.file, span, "the base detection")
            };
            if base.analysis_type.value != AnalysisType::Rule {
                out.push(related(
                    Diagnostic::new(
                        Code::DerivedBaseKind,
                        d.file,
                        at,
                        format!(
                            "base `{}` is a {}; only rules can be derived from",
                            base_id.value,
                            base.analysis_type.value.name()
                        ),
                    ),
                    base,
                ));
                continue;
            }
            let Some(base_rule) = base.rule() else { continue };
            if base_rule.is_derived() {
                out.push(related(
                    Diagnostic::new(
                        Code::DerivedChain,
                        d.file,
                        at,
                        format!(
                            "base `{}` is itself a derived detection; derivation is one level deep",
                            base_id.value
                        ),
                    )
                    .with_help(format!(
                        "derive from `{}` instead",
                        base_rule.base_detection.as_ref().map_or("", |b| b.value.as_str())
                    )),
                    base,
                ));
                continue;
            }
            let has = |k: &str| d.root.get_entry(k).map(|(key, _)| key.span);
            if has("Enabled").is_none() && base_rule.enabled.as_ref().is_some_and(|e| !e.value) {
                out.push(related(
                    Diagnostic::new(
                        Code::DerivedInheritsDisabled,
                        d.file,
                        at,
                        format!(
                            "no `Enabled` here, so this detection inherits `Enabled: false` from `{}`",
                            base_id.value
                        ),
                    )
                    .with_help("add `Enabled: true` to run the derived detection while its base stays disabled"),
                    base,
                ));
            }
            if let Some(span) = has("InlineFilters") {
                if base_rule.inline_filters.as_ref().is_some_and(|f| !f.is_empty()) {
                    out.push(related(
                        Diagnostic::new(
                            Code::DerivedFiltersReplaced,
                            d.file,
                            span,
                            format!(
                                "these `InlineFilters` replace the filters of `{}`; they are not combined",
                                base_id.value
                            ),
                        )
                        .with_help("repeat the base's filters here if they should still apply"),
                        base,
                    ));
                }
            }
            let base_has_tests = base_rule.tests.as_ref().is_some_and(|t| !t.is_empty());
            match (&rule.tests, has("Tests")) {
                (_, None) if !base_has_tests => out.push(Diagnostic::new(
                    Code::DerivedNoTests,
                    d.file,
                    at,
                    format!("neither this detection nor its base `{}` has tests", base_id.value),
                )),
                (Some(t), Some(span)) if t.is_empty() && base_has_tests => out.push(related(
                    Diagnostic::new(
                        Code::DerivedTestsDisabled,
                        d.file,
                        span,
                        format!("`Tests: []` switches off the tests inherited from `{}`", base_id.value),
                    )
                    .with_help("remove the key to inherit the base's tests"),
                    base,
                )),
                _ => {}
            }
            // Python alert functions of the base shadow static overrides.
            if let Some(filename) = &base_rule.filename {
                let py = base_src
                    .path
                    .parent()
                    .unwrap_or_else(|| Path::new(""))
                    .join(&filename.value);
                if let Ok(source) = std::fs::read_to_string(py) {
                    let defined = crate::resolve::alert_functions(&source);
                    for (key, func) in SHADOWED {
                        let Some(span) = has(key) else { continue };
                        if key == &"Severity" && has("DynamicSeverities").is_some() {
                            continue;
                        }
                        if defined.contains(func) {
                            out.push(related(
                                Diagnostic::new(
                                    Code::DerivedOverrideShadowed,
                                    d.file,
                                    span,
                                    format!("`{key}` has no effect: the base's Python `{func}()` decides it"),
                                )
                                .with_help(if *key == "Severity" {
                                    "use `DynamicSeverities`, which replaces `severity()`".to_owned()
                                } else {
                                    format!("remove `{key}`, or change `{func}()` in the base")
                                }),
                                base,
                            ));
                        }
                    }
                }
            }
        }
    }
}
