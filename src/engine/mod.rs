//! The evaluation engine: compiled match expressions and alert fields.
//!
//! [`Program`] is compiled once per detection from its effective typed
//! rule and shared by all threads; it knows nothing of files or reports.

pub mod alert;
pub mod compile;
pub mod correlation;
pub mod eval;
pub mod explain;
pub mod index;
pub mod key_path;
#[cfg(test)]
mod naive;
pub mod schema;
#[cfg(test)]
mod vectors;

use serde_json::Value;

use crate::model::{Level, Rule, TemplatePart};
use alert::TitlePart;
use compile::{Node, compile_list};
use eval::{Mode, eval_all};
use key_path::Path;

/// A compiled detection.
#[derive(Debug, Clone)]
pub struct Program {
    rule_id: Box<str>,
    display_name: Option<Box<str>>,
    filters: Option<Box<[Node]>>,
    detection: Box<[Node]>,
    severity: Level,
    dynamic: Vec<(Option<Level>, Box<[Node]>)>,
    title: Option<Vec<TitlePart>>,
    context: Vec<(Box<str>, Path)>,
    group_by: Vec<Path>,
    create_alert: bool,
}

/// The alert fields of one match (cli-and-settings §8 item 2).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertFields {
    /// Title; `None` when `CreateAlert` is false.
    pub title: Option<String>,
    /// Dedup string; `None` when `CreateAlert` is false.
    pub dedup: Option<String>,
    /// Severity; `None` when `CreateAlert` is false.
    pub severity: Option<Level>,
    /// Alert context (`{}` without `AlertContext`).
    pub context: Value,
}

impl Program {
    /// Compiles an effective rule. `streaming` says whether `InlineFilters`
    /// apply (only `AnalysisType: rule`, match-expressions §10.1 rule 5).
    pub fn compile(rule_id: &str, rule: &Rule, streaming: bool) -> Program {
        Program {
            rule_id: rule_id.into(),
            display_name: rule.display_name.as_ref().map(|d| d.value.as_str().into()),
            filters: rule.inline_filters.as_deref().filter(|_| streaming).map(compile_list),
            detection: rule.detection.as_deref().map(compile_list).unwrap_or_default(),
            severity: rule.severity.as_ref().map_or(Level::Info, |s| s.value),
            dynamic: rule
                .dynamic_severities
                .iter()
                .flatten()
                .map(|d| (d.change_to.value, compile_list(&d.conditions)))
                .collect(),
            title: rule.alert_title.as_ref().map(|t| {
                t.parts
                    .iter()
                    .map(|p| match p {
                        TemplatePart::Text(s) => TitlePart::Text(s.as_str().into()),
                        TemplatePart::Field(kp) => TitlePart::Field(Path::from_steps(&kp.steps, &kp.text)),
                    })
                    .collect()
            }),
            context: rule
                .alert_context
                .iter()
                .flatten()
                .map(|c| (c.key_name.value.as_str().into(), Path::compile(&c.key_value)))
                .collect(),
            group_by: rule.group_by.iter().flatten().map(Path::compile).collect(),
            create_alert: rule.create_alert.as_ref().is_none_or(|c| c.value),
        }
    }

    /// Whether the event passes the inline filters (true without filters).
    pub fn passes_filters(&self, event: &Value) -> bool {
        self.filters.as_deref().is_none_or(|f| eval_all(f, event, Mode::Filter))
    }

    /// Whether the detection matches: filters first, then `Detection`.
    pub fn matches(&self, event: &Value) -> bool {
        self.passes_filters(event) && eval_all(&self.detection, event, Mode::Detection)
    }

    /// The alert severity of a matching event (simple-detections §6).
    pub fn severity(&self, event: &Value) -> Level {
        for (to, conds) in &self.dynamic {
            if eval_all(conds, event, Mode::Detection) {
                return to.unwrap_or(self.severity);
            }
        }
        self.severity
    }

    /// The title of a matching event (simple-detections §7.3).
    pub fn title(&self, event: &Value) -> String {
        let fallback = || self.display_name.as_deref().unwrap_or(&self.rule_id).to_owned();
        match &self.title {
            Some(parts) => {
                let t = alert::render_title(parts, event);
                if t.is_empty() {
                    alert::truncate(fallback())
                } else {
                    alert::truncate(t)
                }
            }
            None => alert::truncate(fallback()),
        }
    }

    /// All alert fields of a matching event.
    pub fn alert(&self, event: &Value) -> AlertFields {
        let context = alert::render_context(&self.context, event);
        if !self.create_alert {
            return AlertFields {
                title: None,
                dedup: None,
                severity: None,
                context,
            };
        }
        // The title is rendered once: the dedup string falls back to it.
        let rendered = self.title.as_ref().map(|p| alert::render_title(p, event));
        let dedup = alert::dedup(&self.group_by, rendered.as_deref(), &self.rule_id, event);
        let title = match rendered {
            Some(t) if !t.is_empty() => alert::truncate(t),
            _ => alert::truncate(self.display_name.as_deref().unwrap_or(&self.rule_id).to_owned()),
        };
        AlertFields {
            title: Some(title),
            dedup: Some(dedup),
            severity: Some(self.severity(event)),
            context,
        }
    }

    /// Lines explaining the evaluation: every node with its verdict and the
    /// values it saw.
    pub fn explain(&self, event: &Value) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(f) = &self.filters {
            let ok = eval_all(f, event, Mode::Filter);
            out.push(format!("{} InlineFilters (all of)", explain::mark(ok)));
            for n in f.iter() {
                explain::node(n, event, Mode::Filter, 1, &mut out);
            }
        }
        let ok = eval_all(&self.detection, event, Mode::Detection);
        out.push(format!("{} Detection (all of)", explain::mark(ok)));
        for n in self.detection.iter() {
            explain::node(n, event, Mode::Detection, 1, &mut out);
        }
        out
    }
}
