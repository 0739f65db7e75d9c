//! Which detections a replay evaluates, compiled, with what it skips and
//! why (alerts-and-webhooks §4): the selection (`--filter`, `--rule` and
//! what selected correlation rules reference), the effective rule of a
//! derived detection, the alert metadata, and which detection feeds which
//! correlation item. Streaming Python rules (and derived detections on
//! Python bases) are detections like the others; only their matches come
//! from the Python workers instead of the native program.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::alerting::group::{self, RuleMeta};
use crate::alerting::payload::{self, AlertType};
use crate::alerting::time::MINUTE;
use crate::engine::Program;
use crate::engine::correlation::Correlation;
use crate::engine::index::Index;
use crate::engine::schema::Schema;
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::model::correlation::{CorrelationRule, Trigger};
use crate::model::{Analysis, AnalysisType, Body, Level, Rule};
use crate::project::Project;
use crate::python::replay::ReplayRule;
use crate::resolve::{self, Skip};
use crate::source::{FileId, Span};
use crate::yaml::Node;

/// A detection compiled for the run.
pub struct Detection {
    /// Alert metadata.
    pub meta: RuleMeta,
    /// The compiled match expression and alert fields (for a Python
    /// rule, only its InlineFilters are used).
    pub program: Program,
    /// Index into [`Plan::python`] when the logic is Python.
    pub python: Option<u32>,
    /// Produces signals only (`CreateAlert: false`, or only needed by a
    /// correlation rule under `--rule`).
    pub signals_only: bool,
    /// (correlation, item, join fields) this detection feeds.
    pub feeds: Vec<(usize, usize, Vec<String>)>,
}

/// A correlation rule compiled for the run.
pub struct CorrelationDetection {
    /// Alert metadata.
    pub meta: RuleMeta,
    /// The compiled sequence or group.
    pub engine: Correlation,
    /// When it runs.
    pub trigger: Trigger,
    /// Static `Severity`.
    pub severity: Level,
    /// `RuleID` of each item, in item order.
    pub item_rules: Vec<String>,
    /// Produces signals only.
    pub signals_only: bool,
    /// Referenced correlation rules (indexes), evaluated first.
    pub needs: Vec<usize>,
    /// (correlation, item) pairs of other correlation rules fed by this one.
    pub feeds: Vec<(usize, usize)>,
}

/// A Python detection of the run.
#[derive(Debug, Clone)]
pub struct PythonDetection {
    /// What the workers load.
    pub rule: ReplayRule,
    /// Its index in [`Plan::detections`].
    pub detection: u32,
    /// The YAML file of the detection.
    pub file: FileId,
    /// Its `Filename` (the base's `BaseDetection` for a derived one).
    pub at: Span,
}

/// Whether the run evaluates Python detections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PythonMode {
    /// They run in the worker pool.
    Run,
    /// `--no-python`: skipped as `python rule`.
    Off,
    /// No usable interpreter: skipped with this reason.
    Unavailable(Skip),
}

/// What the run evaluates, with what it skips and why.
pub struct Plan {
    /// The detections, in file order.
    pub detections: Vec<Detection>,
    /// The correlation rules, in file order.
    pub correlations: Vec<CorrelationDetection>,
    /// The Python detections, in file order.
    pub python: Vec<PythonDetection>,
    /// Log type → (its index in `log_types`, detection indexes ascending).
    pub by_log_type: HashMap<String, (u32, Vec<u32>)>,
    /// Log types in `by_log_type`, to name them by index.
    pub log_types: Vec<String>,
    /// Per log type (as in `log_types`), the candidate index of its
    /// detections.
    pub indexes: Vec<Index>,
    /// What the detections read of an event: what the workers build.
    pub schema: Schema,
    /// What routing reads (`p_log_type`, `p_event_time` and the paths of
    /// the candidate indexes): built first, and `schema` only for an
    /// event with candidates. `None` when every log type has detections
    /// that are candidates for every event (the gate would never close).
    pub gate: Option<Schema>,
    /// Skip reason → count.
    pub skipped: BTreeMap<&'static str, usize>,
    /// (ID, reason) of skipped detections.
    pub skipped_ids: Vec<(String, &'static str)>,
    /// Disabled detections left out.
    pub disabled: usize,
    /// Detections with errors left out.
    pub invalid: usize,
    /// Detections of `detections` left out after the plan was built
    /// (Python rules that do not load).
    pub dropped: usize,
}

/// What to select.
#[derive(Debug, Clone, Copy)]
pub struct Selection<'a> {
    /// The `--filter`s.
    pub filters: &'a [Filter],
    /// `--rule` IDs; empty for all.
    pub rules: &'a [String],
    /// Also evaluate detections with `Enabled: false`.
    pub include_disabled: bool,
    /// Python detections.
    pub python: PythonMode,
}

impl Plan {
    /// Chooses and compiles the detections of the run.
    ///
    /// # Errors
    /// [`Error::Usage`] when `--rule` names a detection that is not loaded.
    pub fn build(project: &Project, select: Selection<'_>) -> Result<Plan> {
        build(project, select)
    }

    /// Leaves out the Python detection `python` (an index into
    /// [`Plan::python`]) that could not be loaded: no event is routed to
    /// it, and it counts as invalid rather than evaluated.
    pub fn drop_python(&mut self, python: usize) {
        let Some(p) = self.python.get(python) else { return };
        let d = p.detection;
        for (_, rules) in self.by_log_type.values_mut() {
            rules.retain(|r| *r != d);
        }
        for index in &mut self.indexes {
            index.remove(d);
        }
        self.invalid += 1;
        self.dropped += 1;
    }

    /// The alert metadata of every detection, then of every correlation
    /// rule: the rule indexes of the grouper.
    pub fn metas(&self) -> Vec<RuleMeta> {
        self.detections
            .iter()
            .map(|d| d.meta.clone())
            .chain(self.correlations.iter().map(|c| c.meta.clone()))
            .collect()
    }
}

fn build(project: &Project, select: Selection<'_>) -> Result<Plan> {
    let index = project.resolved();
    let invalid = index.invalid();
    let mut plan = Plan {
        detections: Vec::new(),
        correlations: Vec::new(),
        python: Vec::new(),
        by_log_type: HashMap::new(),
        log_types: Vec::new(),
        indexes: Vec::new(),
        schema: Schema::new(),
        gate: None,
        skipped: BTreeMap::new(),
        skipped_ids: Vec::new(),
        disabled: 0,
        invalid: 0,
        dropped: 0,
    };
    // Selection: filters, then --rule plus what selected correlation rules
    // reference (transitively).
    let selected: Vec<&Analysis> = project
        .entries
        .iter()
        .filter_map(|e| {
            let a = e.analysis.as_ref()?;
            if !a.analysis_type.value.is_detection() {
                return None;
            }
            let src = project.source(e.file);
            resolve::selects(select.filters, a, &src.rel, &index).then_some(a)
        })
        .collect();
    let wanted: HashSet<String> = select.rules.iter().cloned().collect();
    let mut needed: HashSet<String> = HashSet::new();
    if !wanted.is_empty() {
        let mut stack: Vec<String> = wanted.iter().cloned().collect();
        while let Some(id) = stack.pop() {
            if let Some(a) = index.get(&id) {
                if let Body::Other(o) = &a.body {
                    for r in o.correlation.iter().flat_map(|c| c.rule_refs()) {
                        if !wanted.contains(&r.value) && needed.insert(r.value.clone()) {
                            stack.push(r.value);
                        }
                    }
                }
            }
        }
        let unknown: Vec<&String> = select.rules.iter().filter(|r| index.get(r).is_none()).collect();
        if !unknown.is_empty() {
            return Err(Error::Usage(format!(
                "--rule names detections that are not loaded (or are invalid): {}",
                unknown.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    let mut corr_files: Vec<(&Analysis, &CorrelationRule, bool)> = Vec::new();
    for a in selected {
        let id = a.id_str().to_owned();
        let is_wanted = wanted.is_empty() || wanted.contains(&id);
        if !is_wanted && !needed.contains(&id) {
            continue;
        }
        let signals_only_by_selection = !is_wanted;
        if invalid.contains(&a.file) {
            plan.invalid += 1;
            continue;
        }
        let skip = |plan: &mut Plan, reason: Skip| {
            *plan.skipped.entry(reason.as_str()).or_default() += 1;
            plan.skipped_ids.push((id.clone(), reason.as_str()));
        };
        match (&a.body, a.analysis_type.value) {
            (Body::Rule(rule), AnalysisType::Rule) => {
                let mut files: Vec<&[u8]> = vec![text_of(project, a.file)];
                let mut base_root: Option<&Node> = None;
                // The `.py` file: the rule's own, or its base's.
                let mut code = rule.filename.as_ref().map(|f| {
                    (
                        crate::python::plan::code_path(&project.source(a.file).path, &f.value),
                        f.span,
                    )
                });
                let effective: Rule = if rule.is_derived() {
                    let base_id = rule.base_detection.as_ref().map_or("", |b| b.value.as_str());
                    match index.usable_base(base_id) {
                        Err(why) => {
                            skip(&mut plan, why);
                            continue;
                        }
                        Ok((b, base_rule)) => {
                            files.push(text_of(project, b.file));
                            base_root = Some(&b.root);
                            let at = rule.base_detection.as_ref().map_or(a.root.first_key_span(), |b| b.span);
                            code = base_rule.filename.as_ref().map(|f| {
                                (
                                    crate::python::plan::code_path(&project.source(b.file).path, &f.value),
                                    at,
                                )
                            });
                            resolve::effective(base_rule, rule, &a.root).0
                        }
                    }
                } else {
                    (**rule).clone()
                };
                let python = !effective.is_simple();
                if python {
                    let why = match (select.python, &code) {
                        (PythonMode::Run, Some(_)) => None,
                        (PythonMode::Unavailable(why), Some(_)) => Some(why),
                        _ => Some(Skip::PythonRule),
                    };
                    if let Some(why) = why {
                        skip(&mut plan, why);
                        continue;
                    }
                }
                let enabled = effective.enabled.as_ref().is_some_and(|e| e.value);
                if !enabled && !select.include_disabled {
                    plan.disabled += 1;
                    continue;
                }
                let meta = rule_meta(&id, &effective, &a.root, base_root, &files);
                let program = Program::compile(&id, &effective, true);
                let signals_only = signals_only_by_selection || !meta.create_alert;
                let python = match (python, code) {
                    (true, Some((path, at))) => {
                        plan.python.push(PythonDetection {
                            rule: ReplayRule {
                                id: id.clone(),
                                path,
                                severity: effective.severity.as_ref().map_or(Level::Info, |s| s.value).upper(),
                            },
                            detection: plan.detections.len() as u32,
                            file: a.file,
                            at,
                        });
                        Some(plan.python.len() as u32 - 1)
                    }
                    _ => None,
                };
                plan.detections.push(Detection {
                    meta,
                    program,
                    python,
                    signals_only,
                    feeds: Vec::new(),
                });
            }
            (Body::Rule(rule), AnalysisType::ScheduledRule) => {
                // Scheduled rules run on query results, not on events.
                skip(
                    &mut plan,
                    if rule.is_simple() || select.python != PythonMode::Off {
                        Skip::ScheduledRule
                    } else {
                        Skip::PythonRule
                    },
                );
            }
            (Body::Other(o), AnalysisType::CorrelationRule) => match o.correlation.as_deref() {
                Some(c) => {
                    let enabled = c.enabled.as_ref().is_some_and(|e| e.value);
                    if !enabled && !select.include_disabled {
                        plan.disabled += 1;
                        continue;
                    }
                    corr_files.push((a, c, signals_only_by_selection));
                }
                None => skip(&mut plan, Skip::InvalidCorrelationRule),
            },
            _ => skip(&mut plan, Skip::PythonRule),
        }
    }
    // Correlation rules.
    for (a, c, signals_only) in corr_files {
        let id = a.id_str().to_owned();
        let (Some(d), Some(trigger)) = (
            c.detection.as_ref(),
            c.detection
                .as_ref()
                .and_then(|d| d.schedule.as_ref())
                .and_then(|s| s.trigger.clone()),
        ) else {
            *plan.skipped.entry(Skip::InvalidCorrelationRule.as_str()).or_default() += 1;
            plan.skipped_ids.push((id, Skip::InvalidCorrelationRule.as_str()));
            continue;
        };
        let Ok(engine) = Correlation::compile(d) else {
            *plan.skipped.entry(Skip::InvalidCorrelationRule.as_str()).or_default() += 1;
            plan.skipped_ids.push((id, Skip::InvalidCorrelationRule.as_str()));
            continue;
        };
        let text = |n: &Option<crate::source::Spanned<String>>| n.as_ref().map(|s| s.value.clone()).unwrap_or_default();
        let mut tags: Vec<String> = c.tags.iter().flatten().map(|t| t.value.clone()).collect();
        tags.sort();
        let meta = RuleMeta {
            name: c.display_name.as_ref().map_or_else(|| id.clone(), |d| d.value.clone()),
            id: id.clone(),
            description: text(&c.description),
            runbook: text(&c.runbook),
            tags,
            version: payload::version(&[text_of(project, a.file)]),
            period: engine.lookback_minutes().max(1) * MINUTE,
            threshold: 1,
            create_alert: c.creates_alerts(),
            output_ids: c.output_ids.iter().flatten().map(|o| o.value.clone()).collect(),
            log_types: Vec::new(),
            alert_type: AlertType::CorrelationRule,
        };
        plan.correlations.push(CorrelationDetection {
            signals_only: signals_only || !meta.create_alert,
            severity: c.severity.as_ref().map_or(Level::Info, |s| s.value),
            item_rules: d.items.iter().map(|i| i.rule_id.value.clone()).collect(),
            meta,
            engine,
            trigger,
            needs: Vec::new(),
            feeds: Vec::new(),
        });
    }
    // Wire signals: which detection feeds which correlation item.
    let det_by_id: HashMap<String, usize> = plan
        .detections
        .iter()
        .enumerate()
        .map(|(i, d)| (d.meta.id.clone(), i))
        .collect();
    let corr_by_id: HashMap<String, usize> = plan
        .correlations
        .iter()
        .enumerate()
        .map(|(i, c)| (c.meta.id.clone(), i))
        .collect();
    for ci in 0..plan.correlations.len() {
        for item in 0..plan.correlations[ci].engine.len() {
            let rule_id = plan.correlations[ci].item_rules.get(item).cloned().unwrap_or_default();
            let fields: Vec<String> = plan.correlations[ci]
                .engine
                .join_fields(item)
                .iter()
                .map(|f| f.to_string())
                .collect();
            if let Some(&di) = det_by_id.get(&rule_id) {
                plan.detections[di].feeds.push((ci, item, fields));
            } else if let Some(&cj) = corr_by_id.get(&rule_id) {
                plan.correlations[cj].feeds.push((ci, item));
                plan.correlations[ci].needs.push(cj);
            }
        }
    }
    let mut types: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (i, d) in plan.detections.iter().enumerate() {
        for l in &d.meta.log_types {
            types.entry(l.clone()).or_default().push(i as u32);
        }
    }
    for (l, mut rules) in types {
        rules.dedup();
        let programs: Vec<(u32, Option<&Program>)> = rules
            .iter()
            .filter_map(|&r| {
                let d = plan.detections.get(r as usize)?;
                Some((r, d.python.is_none().then_some(&d.program)))
            })
            .collect();
        plan.indexes.push(Index::build(&programs));
        plan.by_log_type.insert(l.clone(), (plan.log_types.len() as u32, rules));
        plan.log_types.push(l);
    }
    plan.schema.add_member("p_log_type");
    plan.schema.add_member("p_event_time");
    for d in &plan.detections {
        plan.schema.add_match(&d.program);
        plan.schema.add_alert(&d.program);
    }
    if plan.indexes.iter().any(|i| !i.has_always()) {
        let mut gate = Schema::new();
        gate.add_member("p_log_type");
        gate.add_member("p_event_time");
        for path in plan.indexes.iter().flat_map(|i| i.paths()) {
            gate.add_path(path);
        }
        plan.gate = Some(gate);
    }
    Ok(plan)
}

fn text_of(project: &Project, file: crate::source::FileId) -> &[u8] {
    project.source(file).text.as_deref().map_or(&[], str::as_bytes)
}

/// Alert metadata of an effective rule; keys the typed model does not
/// carry are read from the files (the derived file wins over its base).
fn rule_meta(id: &str, rule: &Rule, root: &Node, base_root: Option<&Node>, files: &[&[u8]]) -> RuleMeta {
    let raw = |key: &str| root.get(key).or_else(|| base_root.and_then(|b| b.get(key)));
    let text = |key: &str| raw(key).and_then(Node::as_str).unwrap_or("").to_owned();
    let list = |key: &str| -> Vec<String> {
        raw(key)
            .and_then(Node::as_seq)
            .map(|s| s.iter().filter_map(|n| n.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let mut tags: Vec<String> = rule.tags.iter().flatten().map(|t| t.value.clone()).collect();
    tags.sort();
    RuleMeta {
        id: id.to_owned(),
        name: rule
            .display_name
            .as_ref()
            .map_or_else(|| id.to_owned(), |d| d.value.clone()),
        description: text("Description"),
        runbook: text("Runbook"),
        tags,
        version: payload::version(files),
        period: group::effective_period_minutes(rule.dedup_period_minutes.as_ref().map(|d| d.value)) * MINUTE,
        threshold: rule
            .threshold
            .as_ref()
            .map_or(1, |t| u64::try_from(t.value).unwrap_or(1).max(1)),
        create_alert: rule.create_alert.as_ref().is_none_or(|c| c.value),
        output_ids: list("OutputIds"),
        log_types: rule.log_types.iter().flatten().map(|l| l.value.clone()).collect(),
        alert_type: AlertType::Rule,
    }
}
