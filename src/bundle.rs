//! The upload bundle (upload-protocol §2, §7; derived-detections §2.3, §7).
//!
//! [`plan`] picks the files of a loaded project that go to Panther: every
//! selected analysis YAML (filters, the implicit Status filter, helpers and
//! data models always), the file its `Filename` names, and, with automatic
//! base disabling, the bases of the selected enabled derived detections.
//! Entry bytes are the file bytes with two minimal edits only: the
//! top-level `Enabled` of an auto-disabled base becomes `false`, and an
//! ignored `Detection` key of a derived detection is left out.
//!
//! [`write_zip`] turns the entries into a reproducible archive: names
//! relative to the project root with `/`, sorted byte-wise, DEFLATE, every
//! timestamp 1980-01-01 00:00:00, permissions 0644. The same tree always
//! gives the same bytes. This module also holds the two encodings the
//! upload needs without a dependency of their own: standard base64 and
//! SHA-256.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic};
use crate::discover;
use crate::error::{Error, Result};
use crate::filter::{self, Filter};
use crate::model::{Analysis, AnalysisType};
use crate::project::Project;
use crate::resolve::{self, AutoDisable, Base, Index};
use crate::source::{Pos, SourceFile};
use crate::yaml::{self, Node, NodeKind};

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Path relative to the project root, `/`-separated.
    pub name: String,
    /// The bytes to store.
    pub bytes: Vec<u8>,
    /// Path on disk.
    pub path: PathBuf,
    /// What the bundle changed, if anything ("Enabled set to false").
    pub edit: Option<&'static str>,
}

/// An analysis YAML of the bundle with the files that travel with it (its
/// `Filename` file), for `--batch`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The `AnalysisType`.
    pub analysis_type: AnalysisType,
    /// Names of the YAML and of its `Filename` file, in that order.
    pub names: Vec<String>,
}

/// A base detection the bundle disables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledBase {
    /// Its `RuleID`.
    pub id: String,
    /// Its file, as reports show it.
    pub file: String,
    /// Its entry name.
    pub name: String,
    /// Path on disk (for `--write-base-changes`).
    pub path: PathBuf,
    /// The edited file content.
    pub edited: Vec<u8>,
}

/// What a bundle holds.
#[derive(Debug, Default)]
pub struct Plan {
    /// Entries sorted byte-wise by name, each name once.
    pub entries: Vec<Entry>,
    /// Analysis YAMLs with their companion files, in entry order.
    pub units: Vec<Unit>,
    /// Bases disabled by the bundle.
    pub disabled: Vec<DisabledBase>,
    /// Warnings about the selection (`derived-base-not-local`,
    /// `derived-base-not-uploaded`).
    pub diagnostics: Vec<Diagnostic>,
    /// Files the bundle would need that are invalid (the bundle must not be
    /// built).
    pub invalid: Vec<String>,
}

impl Plan {
    /// Number of analysis items.
    pub fn items(&self) -> usize {
        self.units.len()
    }
}

/// How to select.
pub struct PlanOptions<'a> {
    /// User filters plus the implicit Status filter.
    pub filters: &'a [Filter],
    /// Disable the bases of selected enabled derived detections.
    pub auto_disable_base: bool,
    /// Whether a file was named on the command line (or none was).
    pub is_reported: &'a dyn Fn(&Path) -> bool,
}

fn base_span(d: &Analysis) -> crate::source::Span {
    d.rule()
        .and_then(|r| r.base_detection.as_ref())
        .map_or(d.root.first_key_span(), |b| b.span)
}

/// The warnings of automatic disabling (upload-protocol §7.3,
/// derived-detections §7.4).
fn auto_disable_warnings(plan: &AutoDisable<'_>, out: &mut Vec<Diagnostic>) {
    for m in &plan.not_local {
        for d in &m.derived {
            out.push(
                Diagnostic::new(
                    Code::DerivedBaseNotLocal,
                    d.file,
                    base_span(d),
                    format!(
                        "base detection `{}` is not in this repository; its state in Panther is unchanged",
                        m.id
                    ),
                )
                .with_help("disable it in the Panther Console, or add its file to the repository"),
            );
        }
    }
    for x in &plan.excluded {
        for d in &x.derived {
            out.push(
                Diagnostic::new(
                    Code::DerivedBaseNotUploaded,
                    d.file,
                    base_span(d),
                    format!(
                        "base detection `{}` is not uploaded (its `Status` is experimental or deprecated), so it is not disabled",
                        x.base.id_str()
                    ),
                )
                .with_related(x.base.file, x.base.root.first_key_span(), "the base detection"),
            );
        }
    }
    for x in plan.disable.iter().filter(|x| !x.already_disabled) {
        for d in &x.inheriting {
            out.push(
                Diagnostic::new(
                    Code::DerivedInheritsDisabled,
                    d.file,
                    base_span(d),
                    format!(
                        "no `Enabled` here, so this detection stops running when the upload disables its base `{}`",
                        x.base.id_str()
                    ),
                )
                .with_help("add `Enabled: true` to keep it running while its base is disabled")
                .with_related(x.base.file, x.base.root.first_key_span(), "the base detection"),
            );
        }
    }
}

/// The enabled, valid correlation rules of a project by the `RuleID`s
/// they reference.
fn correlation_consumers<'a>(
    analyses: &[&'a Analysis],
    invalid: &HashSet<crate::source::FileId>,
) -> HashMap<&'a str, Vec<&'a Analysis>> {
    let mut out: HashMap<&str, Vec<&Analysis>> = HashMap::new();
    for a in analyses.iter().copied() {
        if a.analysis_type.value != AnalysisType::CorrelationRule || invalid.contains(&a.file) {
            continue;
        }
        if !matches!(a.root.get("Enabled").map(|n| &n.kind), Some(NodeKind::Bool(true))) {
            continue;
        }
        let crate::model::Body::Other(o) = &a.body else {
            continue;
        };
        for r in &o.rule_refs {
            let list = out.entry(r.value.as_str()).or_default();
            if !list.iter().any(|c| std::ptr::eq(*c, a)) {
                list.push(a);
            }
        }
    }
    out
}

/// A base kept enabled by [`keep_correlation_feeders`], with the enabled
/// correlation rules that reference it.
pub type KeptBase<'a> = (resolve::DisabledBase<'a>, Vec<&'a Analysis>);

/// Takes out of `auto.disable` the bases that an enabled, valid correlation
/// rule references: a disabled rule produces no signals
/// (correlation-rules §5.2), so they stay enabled (design note 004). A base
/// that already says `Enabled: false` is left in.
pub fn keep_correlation_feeders<'a>(
    auto: &mut AutoDisable<'a>,
    analyses: &[&'a Analysis],
    invalid: &HashSet<crate::source::FileId>,
) -> Vec<KeptBase<'a>> {
    let consumers = correlation_consumers(analyses, invalid);
    let (kept, to_disable): (Vec<_>, Vec<_>) = std::mem::take(&mut auto.disable)
        .into_iter()
        .partition(|x| !x.already_disabled && consumers.contains_key(x.base.id_str()));
    auto.disable = to_disable;
    kept.into_iter()
        .map(|x| {
            let corr = consumers.get(x.base.id_str()).cloned().unwrap_or_default();
            (x, corr)
        })
        .collect()
}

/// `derived-base-feeds-correlation` on each derived detection of a base
/// kept enabled, naming the correlation rules it feeds.
fn feeds_correlation_warnings(x: &resolve::DisabledBase<'_>, corr: &[&Analysis], out: &mut Vec<Diagnostic>) {
    let names: Vec<String> = corr.iter().map(|c| format!("`{}`", c.id_str())).collect();
    let (rules, verb) = if names.len() == 1 {
        ("correlation rule", "needs")
    } else {
        ("correlation rules", "need")
    };
    for d in &x.derived {
        let mut diag = Diagnostic::new(
            Code::DerivedBaseFeedsCorrelation,
            d.file,
            base_span(d),
            format!(
                "base detection `{}` is not disabled: the enabled {rules} {} {verb} its signals, and a disabled rule produces none",
                x.base.id_str(),
                names.join(", ")
            ),
        )
        .with_help(format!(
            "it is uploaded enabled, so it alerts next to `{}`; to silence it, give it `CreateAlert: false`, or point the correlation rule at `{}`",
            d.id_str(),
            d.id_str()
        ))
        .with_related(x.base.file, x.base.root.first_key_span(), "the base detection");
        for c in corr {
            diag = diag.with_related(
                c.file,
                c.id.as_ref().map_or(c.root.first_key_span(), |i| i.span),
                "the correlation rule",
            );
        }
        out.push(diag);
    }
}

/// Builds the plan of a bundle.
///
/// # Errors
/// A bundled file (or a `Filename` target) outside the project root, or a
/// `Filename` target that cannot be read.
pub fn plan(project: &Project, opts: &PlanOptions<'_>) -> Result<Plan> {
    let index = project.resolved();
    let (analyses, invalid): (Vec<&Analysis>, _) = (index.analyses().collect(), index.invalid());
    let root_canon = std::fs::canonicalize(&project.root).map_err(|source| Error::Read {
        path: project.root.clone(),
        source,
    })?;
    let mut out = Plan::default();
    let mut selected: Vec<&Analysis> = Vec::new();
    for a in analyses.iter().copied().filter(|a| !invalid.contains(&a.file)) {
        let src = project.source(a.file);
        let chosen = resolve::selects_for_upload(opts.filters, a, &src.rel, &index)
            && (filter::bypasses(&src.rel) || (opts.is_reported)(&src.path));
        if chosen {
            selected.push(a);
        }
    }
    let mut disable: HashSet<crate::source::FileId> = HashSet::new();
    if opts.auto_disable_base {
        let mut auto = resolve::bases_to_disable(&selected, &analyses, &index);
        let kept = keep_correlation_feeders(&mut auto, &analyses, invalid);
        for (x, corr) in &kept {
            feeds_correlation_warnings(x, corr, &mut out.diagnostics);
            if !selected.iter().any(|s| s.file == x.base.file) {
                selected.push(x.base);
            }
        }
        auto_disable_warnings(&auto, &mut out.diagnostics);
        for x in &auto.disable {
            disable.insert(x.base.file);
            if !selected.iter().any(|s| s.file == x.base.file) {
                selected.push(x.base);
            }
        }
    } else {
        not_uploaded_bases(&selected, &index, &mut out.diagnostics);
    }
    selected.sort_by(|a, b| project.source(a.file).rel.cmp(&project.source(b.file).rel));
    let mut files: BTreeMap<String, Entry> = BTreeMap::new();
    for a in &selected {
        let src = project.source(a.file);
        if invalid.contains(&a.file) {
            out.invalid.push(src.display.clone());
            continue;
        }
        let name = entry_name(&src.path, project, &root_canon)?;
        let text = src.text.as_deref().unwrap_or_default();
        let mut bytes = text.as_bytes().to_vec();
        let mut edit = None;
        if disable.contains(&a.file) {
            let edited = resolve::disable_in_text(text).map_err(|e| {
                Error::Usage(format!(
                    "cannot set `Enabled: false` in `{}` for the bundle: {e}",
                    src.display
                ))
            })?;
            out.disabled.push(DisabledBase {
                id: a.id_str().to_owned(),
                file: src.display.clone(),
                name: name.clone(),
                path: src.path.clone(),
                edited: edited.clone().into_bytes(),
            });
            if edited != text {
                edit = Some("Enabled set to false");
            }
            bytes = edited.into_bytes();
        } else if a.rule().is_some_and(|r| r.is_derived()) && a.root.get("Detection").is_some() {
            if let Some(stripped) = strip_key(text, &a.root, "Detection") {
                bytes = stripped.into_bytes();
                edit = Some("ignored Detection key left out");
            }
        }
        let mut unit = Unit {
            analysis_type: a.analysis_type.value,
            names: vec![name.clone()],
        };
        files.insert(
            name.clone(),
            Entry {
                name,
                bytes,
                path: src.path.clone(),
                edit,
            },
        );
        if let Some(fname) = a.root.get("Filename").and_then(Node::as_str) {
            // Checked again here (validation reported it already): a file
            // that changed since must still never reach the bundle.
            let (target, cap) = match check_filename(a.analysis_type.value, fname, &src.path, &project.root) {
                Ok(Some(t)) => t,
                Ok(None) => {
                    let target = discover::absolute(
                        &src.path.parent().unwrap_or_else(|| Path::new("")).join(fname),
                        &project.root,
                    );
                    return Err(Error::Read {
                        path: target,
                        source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
                    });
                }
                Err(p) => {
                    return Err(Error::Usage(format!("{}: {}", src.display, p.message)));
                }
            };
            let fname_name = entry_name(&target, project, &root_canon)?;
            let bytes = read_bounded(&target, cap)?;
            unit.names.push(fname_name.clone());
            files.entry(fname_name.clone()).or_insert(Entry {
                name: fname_name,
                bytes,
                path: target,
                edit: None,
            });
        }
        out.units.push(unit);
    }
    out.entries = files.into_values().collect();
    out.disabled.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// Without automatic disabling: a selected derived detection whose local
/// base is not selected (warning `derived-base-not-uploaded`).
fn not_uploaded_bases(selected: &[&Analysis], index: &Index<'_>, diagnostics: &mut Vec<Diagnostic>) {
    let chosen: HashSet<_> = selected.iter().map(|a| a.file).collect();
    for d in selected {
        let Some(base_id) = d.rule().and_then(|r| r.base_detection.as_ref()) else {
            continue;
        };
        if let Base::Local(b) = index.base(&base_id.value) {
            if !chosen.contains(&b.file) {
                diagnostics.push(
                    Diagnostic::new(
                        Code::DerivedBaseNotUploaded,
                        d.file,
                        base_id.span,
                        format!(
                            "`{}` is uploaded but its base `{}` is excluded by the filters; the base must already exist on the Panther instance",
                            d.id_str(),
                            base_id.value
                        ),
                    )
                    .with_related(b.file, b.root.first_key_span(), "the base detection"),
                );
            }
        }
    }
}

/// The entry name of a file: its path relative to the project root. Links
/// are followed to check that the file really is inside the root.
fn entry_name(path: &Path, project: &Project, root_canon: &Path) -> Result<String> {
    let outside = || {
        Error::Usage(format!(
            "`{}` is outside the project root `{}`; a bundle holds only files inside it",
            path.display(),
            project.root.display()
        ))
    };
    let canon = std::fs::canonicalize(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if !canon.starts_with(root_canon) {
        return Err(outside());
    }
    let name = discover::relative(path, &project.root).ok_or_else(outside)?;
    if name.is_empty() || name.split('/').any(|c| c == ".." || c == ".") {
        return Err(outside());
    }
    Ok(name)
}

/// Largest Python source a `Filename` may name; a bigger one is reported
/// at the `Filename` line instead of read.
pub const MAX_PYTHON_BYTES: u64 = 16 << 20;

/// Largest lookup-table data file a `Filename` may name (the limit of
/// every file `detect` reads).
pub const MAX_DATA_BYTES: u64 = crate::project::MAX_FILE_BYTES;

/// Why a `Filename` target may not travel in a bundle: the message and a
/// help line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilenameProblem {
    /// The code (`filename-not-allowed` or `filename-too-large`).
    pub code: Code,
    /// One plain line.
    pub message: String,
    /// What to do.
    pub help: String,
}

/// The extensions a `Filename` of this type may have, `None` when the type
/// names no file at all.
fn allowed_extensions(t: AnalysisType) -> Option<&'static [&'static str]> {
    match t {
        AnalysisType::Rule
        | AnalysisType::ScheduledRule
        | AnalysisType::Policy
        | AnalysisType::Global
        | AnalysisType::DataModel => Some(&["py"]),
        AnalysisType::LookupTable => Some(&["csv", "json", "jsonl"]),
        _ => None,
    }
}

/// Whether a `/`-separated relative path has a hidden file or folder.
fn has_hidden(rel: &Path) -> bool {
    rel.components().any(|c| match c {
        std::path::Component::Normal(n) => n.to_string_lossy().starts_with('.'),
        _ => false,
    })
}

/// Checks what a `Filename` of an item in `yaml` may bring into a bundle
/// (upload-protocol §2.3: only analysis files and the Python sources or
/// lookup-table data they name). `root` is the project root (the YAML's
/// own folder when the YAML is not below it). Returns the absolute target
/// to read, or `Ok(None)` when the target does not exist (`missing-file`
/// reports that).
///
/// # Errors
/// The problem to report at the `Filename` value.
pub fn check_filename(
    t: AnalysisType,
    value: &str,
    yaml: &Path,
    root: &Path,
) -> std::result::Result<Option<(PathBuf, u64)>, FilenameProblem> {
    let not_allowed = |message: String, help: &str| FilenameProblem {
        code: Code::FilenameNotAllowed,
        message,
        help: help.to_owned(),
    };
    let Some(exts) = allowed_extensions(t) else {
        return Err(not_allowed(
            format!("a `{}` does not name a file; `{value}` is not bundled", t.name()),
            "remove the `Filename` key",
        ));
    };
    let dir = yaml.parent().unwrap_or_else(|| Path::new(""));
    let region = if yaml.starts_with(root) { root } else { dir };
    let name = Path::new(value);
    if name.is_absolute() || value.starts_with('/') || value.starts_with('\\') || name.has_root() {
        return Err(not_allowed(
            format!("`Filename` must be relative to this file's folder; `{value}` is an absolute path"),
            "name the file relative to the folder of this YAML file, inside the project",
        ));
    }
    let target = discover::absolute(&dir.join(name), dir);
    let Ok(rel) = target.strip_prefix(region) else {
        return Err(not_allowed(
            format!("`Filename` names `{value}`, which is outside the project root"),
            "a bundle holds only files inside the project; move the file into it",
        ));
    };
    if has_hidden(rel) {
        return Err(not_allowed(
            format!("`Filename` names `{value}`, a hidden file or a file in a hidden folder; it is never bundled"),
            "hidden files (settings, `.env`, `.git`) never go into a bundle; name the source file of this item",
        ));
    }
    let ext = target.extension().map(|e| e.to_string_lossy().to_lowercase());
    if !ext.as_deref().is_some_and(|e| exts.contains(&e)) {
        let list: Vec<String> = exts.iter().map(|e| format!("`.{e}`")).collect();
        return Err(not_allowed(
            format!(
                "`Filename` names `{value}`; a `{}` may name only a {} file",
                t.name(),
                list.join(" or ")
            ),
            "a bundle holds only analysis files and the sources they name; fix the name",
        ));
    }
    // Links are followed: the real file must be inside the project too.
    let Ok(meta) = std::fs::metadata(&target) else {
        return Ok(None);
    };
    if let (Ok(real), Ok(real_region)) = (std::fs::canonicalize(&target), std::fs::canonicalize(region)) {
        match real.strip_prefix(&real_region) {
            Ok(r) if !has_hidden(r) => {}
            Ok(_) => {
                return Err(not_allowed(
                    format!("`Filename` names `{value}`, a link to a hidden file; it is never bundled"),
                    "name the real source file of this item",
                ));
            }
            Err(_) => {
                return Err(not_allowed(
                    format!("`Filename` names `{value}`, a link to a file outside the project root"),
                    "a bundle holds only files inside the project; replace the link by the file",
                ));
            }
        }
    }
    if !meta.is_file() {
        return Err(not_allowed(
            format!("`Filename` names `{value}`, which is not a regular file"),
            "name the source file of this item",
        ));
    }
    let cap = if t == AnalysisType::LookupTable {
        MAX_DATA_BYTES
    } else {
        MAX_PYTHON_BYTES
    };
    if meta.len() > cap {
        return Err(FilenameProblem {
            code: Code::FilenameTooLarge,
            message: format!(
                "`Filename` names `{value}`, which is {} MiB; files above {} MiB are not read",
                meta.len().div_ceil(1 << 20),
                cap >> 20
            ),
            help: "split the file, or keep the large data out of the repository".to_owned(),
        });
    }
    Ok(Some((target, cap)))
}

/// The `Filename` diagnostics of a project's items (`filename-not-allowed`,
/// `filename-too-large`), at the `Filename` value.
pub fn filename_diagnostics(root: &Path, sources: &[SourceFile], analyses: &[&Analysis]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for a in analyses {
        let Some(node) = a.root.get("Filename") else { continue };
        let Some(value) = node.as_str() else { continue };
        if value.is_empty() {
            continue;
        }
        let Some(src) = sources.get(a.file.0 as usize) else {
            continue;
        };
        if let Err(p) = check_filename(a.analysis_type.value, value, &src.path, root) {
            out.push(Diagnostic::new(p.code, a.file, node.span, p.message).with_help(p.help));
        }
    }
    out
}

/// Reads at most `cap` bytes of a `Filename` target (one more byte means
/// the file grew past the cap since it was checked).
fn read_bounded(path: &Path, cap: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    f.take(cap + 1).read_to_end(&mut bytes).map_err(read_err)?;
    if bytes.len() as u64 > cap {
        return Err(Error::Usage(format!(
            "`{}` grew above {} MiB while it was read; nothing was bundled",
            path.display(),
            cap >> 20
        )));
    }
    Ok(bytes)
}

/// Byte offset of a 1-based position (column in characters).
fn offset(text: &str, pos: Pos) -> Option<usize> {
    let mut line_start = 0;
    for i in 1..pos.line {
        match text.get(line_start..)?.find('\n') {
            Some(n) => line_start += n + 1,
            // The parser sees a final line break the text may lack.
            None if i + 1 == pos.line && pos.col == 1 => return Some(text.len()),
            None => return None,
        }
    }
    let line = text.get(line_start..)?;
    let col = (pos.col as usize).checked_sub(1)?;
    let mut chars = line.char_indices();
    let off = match chars.nth(col) {
        Some((i, _)) => i,
        None if line.chars().count() == col => line.len(),
        None => return None,
    };
    Some(line_start + off)
}

/// Equality of two trees ignoring positions.
fn same(a: &Node, b: &Node) -> bool {
    match (&a.kind, &b.kind) {
        (NodeKind::Seq(x), NodeKind::Seq(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (NodeKind::Map(x), NodeKind::Map(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((k1, v1), (k2, v2))| same(k1, k2) && same(v1, v2))
        }
        (NodeKind::Float(x), NodeKind::Float(y)) => x.to_bits() == y.to_bits(),
        (x, y) => x == y,
    }
}

/// Whether `edited` parses to `original` without `key`, every other entry
/// unchanged and in order.
fn verify_removed(edited: &str, original: &Node, key: &str) -> bool {
    let Ok(doc) = yaml::parse(edited) else { return false };
    let Some(new_root) = doc.root else { return false };
    let (Some(new), Some(old)) = (new_root.as_map(), original.as_map()) else {
        return false;
    };
    let kept: Vec<&(Node, Node)> = old.iter().filter(|(k, _)| k.as_str() != Some(key)).collect();
    new.len() == kept.len()
        && new
            .iter()
            .zip(kept)
            .all(|((nk, nv), (ok, ov))| same(nk, ok) && same(nv, ov))
}

/// The file text without the top-level `key` and its value (the lines from
/// the key to the end of its value). `None` when that cannot be done
/// without touching anything else.
pub fn strip_key(text: &str, root: &Node, key: &str) -> Option<String> {
    let entries = root.as_map()?;
    let i = entries.iter().position(|(k, _)| k.as_str() == Some(key))?;
    let (k, v) = &entries[i];
    let start = offset(
        text,
        Pos {
            line: k.span.start.line,
            col: 1,
        },
    )?;
    if !text.get(start..offset(text, k.span.start)?)?.chars().all(|c| c == ' ') {
        return None;
    }
    let value_end = offset(text, v.span.end)?;
    let end = if v.span.end.col == 1 {
        value_end
    } else {
        text.get(value_end..)?
            .find('\n')
            .map_or(text.len(), |n| value_end + n + 1)
    };
    let end = match entries.get(i + 1) {
        Some((next, _)) => end.min(offset(
            text,
            Pos {
                line: next.span.start.line,
                col: 1,
            },
        )?),
        None => end,
    };
    if end < start {
        return None;
    }
    let edited = format!("{}{}", text.get(..start)?, text.get(end..)?);
    verify_removed(&edited, root, key).then_some(edited)
}

/// Writes the entries into a zip archive in memory: sorted by name,
/// DEFLATE, fixed timestamps (1980-01-01 00:00:00), permissions 0644, no
/// directory entries, no comment.
///
/// # Errors
/// The archive library failed (it writes to memory, so only on entries
/// too large for a zip without ZIP64).
pub fn write_zip(entries: &[Entry]) -> Result<Vec<u8>> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    sorted.dedup_by(|a, b| a.name == b.name);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let fail = |e: zip::result::ZipError| Error::Usage(format!("cannot build the bundle: {e}"));
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for e in sorted {
        w.start_file(e.name.as_str(), options).map_err(fail)?;
        w.write_all(&e.bytes).map_err(|e| fail(e.into()))?;
    }
    Ok(w.finish().map_err(fail)?.into_inner())
}

/// Splits a plan into `--batch` bundles (upload-protocol §2.5): data
/// models and globals, rules (200 per bundle), policies (200), scheduled
/// queries (100), scheduled rules (200), lookup tables (100), correlation
/// rules (200), scheduled prompts (100), saved queries (100), then packs.
/// A YAML and its `Filename` file stay together; empty bundles are left
/// out.
pub fn batches(plan: &Plan) -> Vec<Vec<Entry>> {
    use AnalysisType as T;
    let groups: &[(&[AnalysisType], usize)] = &[
        (&[T::DataModel, T::Global], usize::MAX),
        (&[T::Rule], 200),
        (&[T::Policy], 200),
        (&[T::ScheduledQuery], 100),
        (&[T::ScheduledRule], 200),
        (&[T::LookupTable], 100),
        (&[T::CorrelationRule], 200),
        (&[T::ScheduledPrompt], 100),
        (&[T::SavedQuery], 100),
        (&[T::Pack], usize::MAX),
    ];
    let by_name: HashMap<&str, &Entry> = plan.entries.iter().map(|e| (e.name.as_str(), e)).collect();
    let mut out = Vec::new();
    for (types, max) in groups {
        let units: Vec<&Unit> = plan.units.iter().filter(|u| types.contains(&u.analysis_type)).collect();
        for chunk in units.chunks((*max).max(1)) {
            let mut names: Vec<&str> = chunk.iter().flat_map(|u| u.names.iter().map(String::as_str)).collect();
            names.sort_unstable();
            names.dedup();
            let bundle: Vec<Entry> = names
                .iter()
                .filter_map(|n| by_name.get(n).map(|e| (*e).clone()))
                .collect();
            if !bundle.is_empty() {
                out.push(bundle);
            }
        }
    }
    out
}

/// PAT's bundle file name: `panther-analysis-<local time>-<uuid4>.zip`.
pub fn file_name() -> String {
    let time = chrono::Local::now().format("%Y-%m-%dT%H-%M-%S");
    format!("panther-analysis-{time}-{}.zip", uuid4())
}

/// A random (version 4) UUID.
pub fn uuid4() -> String {
    let mut b = [0u8; 16];
    for x in &mut b {
        *x = fastrand::u8(..);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Standard base64 with padding, no line breaks.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(ALPHABET[(n >> 18) as usize & 63] as char);
        out.push(ALPHABET[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            ALPHABET[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            ALPHABET[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

pub use crate::sha256::sha256_hex;

/// The source of a file by entry name, for mapping backend issue paths
/// back to local files.
pub fn source_by_name<'a>(sources: &'a [SourceFile], name: &str) -> Option<(usize, &'a SourceFile)> {
    let name = name.trim_start_matches("./");
    sources.iter().enumerate().find(|(_, s)| s.rel == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(t: &str) -> Node {
        yaml::parse(t).unwrap().root.unwrap()
    }

    #[test]
    fn sha256_and_base64_match_known_vectors() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let long = vec![b'a'; 1000];
        assert_eq!(
            sha256_hex(&long),
            "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3"
        );
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn detection_key_is_stripped() {
        let t = "AnalysisType: rule\nRuleID: D\nBaseDetection: B\nDetection:\n  - KeyPath: a\n    Condition: Exists\n# keep\nSeverity: High\n";
        let s = strip_key(t, &root(t), "Detection").unwrap();
        assert!(!s.contains("Detection:\n"), "{s}");
        assert!(s.starts_with("AnalysisType: rule\nRuleID: D\nBaseDetection: B\n"));
        assert!(s.ends_with("Severity: High\n"));
        let t = "AnalysisType: rule\nDetection: [{KeyPath: a, Condition: Exists}]\nRuleID: D\n";
        assert_eq!(
            strip_key(t, &root(t), "Detection").unwrap(),
            "AnalysisType: rule\nRuleID: D\n"
        );
        let t = "AnalysisType: rule\nRuleID: D\nDetection:\n  - KeyPath: a\n    Condition: Exists";
        assert_eq!(
            strip_key(t, &root(t), "Detection").unwrap(),
            "AnalysisType: rule\nRuleID: D\n"
        );
    }

    #[test]
    fn zip_is_reproducible_and_sorted() {
        let e = |n: &str, b: &str| Entry {
            name: n.to_owned(),
            bytes: b.as_bytes().to_vec(),
            path: PathBuf::from(n),
            edit: None,
        };
        let a = write_zip(&[e("rules/b.yml", "b"), e("rules/a.yml", "a"), e("a.py", "x")]).unwrap();
        let b = write_zip(&[e("a.py", "x"), e("rules/a.yml", "a"), e("rules/b.yml", "b")]).unwrap();
        assert_eq!(a, b);
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(a)).unwrap();
        let names: Vec<String> = (0..z.len()).map(|i| z.by_index(i).unwrap().name().to_owned()).collect();
        assert_eq!(names, ["a.py", "rules/a.yml", "rules/b.yml"]);
        let f = z.by_index(1).unwrap();
        assert_eq!(f.compression(), zip::CompressionMethod::Deflated);
        assert_eq!(f.unix_mode(), Some(0o100644));
    }

    #[test]
    fn filename_rules_by_type_and_place() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(root.join("rules")).unwrap();
        std::fs::create_dir_all(root.join("lookup_tables")).unwrap();
        std::fs::write(root.join("rules/r.py"), "x").unwrap();
        std::fs::write(root.join("lookup_tables/t.csv"), "a,b\n").unwrap();
        let yaml = root.join("rules/r.yml");
        let table = root.join("lookup_tables/t.yml");
        let code = |t, v: &str, y: &Path| check_filename(t, v, y, &root).err().map(|p| p.code);
        assert_eq!(code(AnalysisType::Rule, "r.py", &yaml), None);
        assert_eq!(code(AnalysisType::Rule, "./r.py", &yaml), None);
        assert_eq!(
            code(AnalysisType::Policy, "missing.py", &yaml),
            None,
            "missing-file reports it"
        );
        assert_eq!(code(AnalysisType::LookupTable, "./t.csv", &table), None);
        assert_eq!(code(AnalysisType::LookupTable, "t.jsonl", &table), None);
        for (t, v) in [
            (AnalysisType::Rule, "r.csv"),
            (AnalysisType::LookupTable, "t.py"),
            (AnalysisType::CorrelationRule, "r.py"),
            (AnalysisType::Rule, "../.panther_settings.yml"),
            (AnalysisType::Rule, "../../elsewhere.py"),
            (AnalysisType::Rule, "/etc/passwd.py"),
        ] {
            let y = if t == AnalysisType::LookupTable { &table } else { &yaml };
            assert_eq!(code(t, v, y), Some(Code::FilenameNotAllowed), "{v}");
        }
        let (target, cap) = check_filename(AnalysisType::Rule, "r.py", &yaml, &root)
            .unwrap()
            .unwrap();
        assert_eq!((target, cap), (root.join("rules/r.py"), MAX_PYTHON_BYTES));
        assert_eq!(read_bounded(&root.join("rules/r.py"), 1).unwrap(), b"x");
        assert!(
            read_bounded(&root.join("lookup_tables/t.csv"), 2).is_err(),
            "above the cap"
        );
    }

    #[test]
    fn uuid_has_version_four() {
        let u = uuid4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(file_name().starts_with("panther-analysis-"));
    }
}
