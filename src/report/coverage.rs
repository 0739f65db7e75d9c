//! The output of `detect coverage`: a human summary or a JSON gap report on
//! stdout, and the ATT&CK Navigator layer.
//!
//! JSON report (`--format json`), one object:
//!
//! - `tool` (`"detect"`), `command` (`"coverage"`);
//! - `summary`: `detections`, `enabled`, `enabled_unmapped` (enabled
//!   detections without an ATT&CK entry), `techniques_covered` (distinct
//!   techniques with an enabled detection), `gaps`;
//! - `tactics`: every Enterprise tactic in matrix order, `{id, name,
//!   shortname, detections, techniques}` (enabled detections mapped to it,
//!   distinct techniques they cover under it);
//! - `techniques`: `{technique, tactic, score, detections, disabled}` per
//!   (technique, tactic) cell, `tactic` the `TA` ID or `null`, `score` the
//!   number of enabled detections, `detections`/`disabled` their IDs;
//! - `gaps`: `{id, file, kind}`, `kind` one of `no-tests`, `no-true-case`,
//!   `no-false-case`;
//! - `diagnostics`: `{file, line, column, severity, code, message, help}`.
//!
//! The layer (`--layer FILE`) follows the Navigator layer format 4.5: one
//! technique object per cell (`techniqueID`, `tactic` as the tactic's
//! short name when the entry names one, `score`, `comment` listing the
//! detections, `metadata` with one `{name, value}` per detection, `enabled`
//! false when only disabled detections cover it), a `gradient` from 0 to
//! the highest score, and `legendItems`.

use std::io::{self, Write};
use std::path::Path;

use serde_json::{Value, json};

use crate::coverage::{Coverage, GapKind};
use crate::diagnostic::Diagnostic;
use crate::report::message::{self, Paint};
use crate::source::SourceFile;

/// Report formats of `detect coverage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CoverageFormat {
    /// A summary for people.
    #[default]
    Human,
    /// The summary and gap report as one JSON object.
    Json,
}

/// What the summary shows.
pub struct CoverageReport<'a> {
    /// The tally.
    pub coverage: &'a Coverage,
    /// Malformed ATT&CK entries.
    pub warnings: &'a [Diagnostic],
    /// The project's files, for locations.
    pub sources: &'a [SourceFile],
    /// Where the layer was written, if it was.
    pub layer: Option<&'a Path>,
}

/// The layer's name and ATT&CK version.
pub struct LayerOptions<'a> {
    /// `name`.
    pub name: &'a str,
    /// `versions.attack`.
    pub attack_version: &'a str,
}

/// The Navigator version the layer declares (format 4.5 needs 4.9.0 or
/// later).
const NAVIGATOR_VERSION: &str = "5.1.0";

fn path_of(sources: &[SourceFile], file: crate::source::FileId) -> &str {
    sources.get(file.0 as usize).map_or("?", |s| s.display.as_str())
}

fn gap_text(kind: GapKind) -> &'static str {
    match kind {
        GapKind::NoTests => "no tests",
        GapKind::NoTrueCase => "no test with `ExpectedResult: true`",
        GapKind::NoFalseCase => "no test with `ExpectedResult: false`",
    }
}

/// Writes the report in `format`.
///
/// # Errors
/// A failed write.
pub fn render(out: &mut dyn Write, r: &CoverageReport<'_>, format: CoverageFormat) -> io::Result<()> {
    match format {
        CoverageFormat::Human => human(out, r),
        CoverageFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &json_report(r))?;
            out.write_all(b"\n")
        }
    }?;
    out.flush()
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn human(out: &mut dyn Write, r: &CoverageReport<'_>) -> io::Result<()> {
    let c = r.coverage;
    for d in r.warnings {
        message::write(out, d, r.sources, &Paint::default(), true)?;
    }
    if !r.warnings.is_empty() {
        writeln!(out)?;
    }
    writeln!(
        out,
        "{} ({} enabled), {} covered; {} without an ATT&CK mapping",
        plural(c.detections, "detection", "detections"),
        c.enabled,
        plural(c.techniques_covered(), "technique", "techniques"),
        plural(c.enabled_unmapped, "enabled detection", "enabled detections"),
    )?;
    let mapped: Vec<_> = c.tactics.iter().filter(|t| t.enabled > 0).collect();
    if !mapped.is_empty() {
        writeln!(out, "\nDetections per tactic:")?;
        let width = mapped
            .iter()
            .map(|t| t.tactic.name.len() + t.tactic.id.len() + 3)
            .max()
            .unwrap_or(0);
        for t in mapped {
            let label = format!("{} ({})", t.tactic.name, t.tactic.id);
            writeln!(
                out,
                "  {label:<width$}  {}, {}",
                plural(t.enabled, "detection", "detections"),
                plural(t.techniques, "technique", "techniques"),
            )?;
        }
    }
    if c.gaps.is_empty() {
        writeln!(out, "\nNo gaps: every detection has a true and a false test case.")?;
    } else {
        writeln!(out, "\nGaps ({}):", c.gaps.len())?;
        let rows: Vec<(String, String, &str)> = c
            .gaps
            .iter()
            .map(|g| {
                let esc = crate::text::escape_control;
                (
                    esc(&g.id).into_owned(),
                    esc(path_of(r.sources, g.file)).into_owned(),
                    gap_text(g.kind),
                )
            })
            .collect();
        let id_width = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
        let path_width = rows.iter().map(|r| r.1.chars().count()).max().unwrap_or(0);
        for (id, path, why) in rows {
            writeln!(out, "  {id:<id_width$}  {path:<path_width$}  {why}")?;
        }
    }
    if let Some(p) = r.layer {
        writeln!(
            out,
            "\nLayer written to {}",
            crate::text::escape_control(&p.display().to_string())
        )?;
    }
    Ok(())
}

fn json_report(r: &CoverageReport<'_>) -> Value {
    let c = r.coverage;
    let diagnostics: Vec<Value> = r
        .warnings
        .iter()
        .map(|d| {
            let at = d.primary.as_ref();
            json!({
                "file": at.map(|l| path_of(r.sources, l.file)),
                "line": at.map(|l| l.span.start.line),
                "column": at.map(|l| l.span.start.col),
                "severity": "warning",
                "code": d.code.name(),
                "message": d.message,
                "help": d.help,
            })
        })
        .collect();
    json!({
        "tool": "detect",
        "command": "coverage",
        "summary": {
            "detections": c.detections,
            "enabled": c.enabled,
            "enabled_unmapped": c.enabled_unmapped,
            "techniques_covered": c.techniques_covered(),
            "gaps": c.gaps.len(),
        },
        "tactics": c.tactics.iter().map(|t| json!({
            "id": t.tactic.id,
            "name": t.tactic.name,
            "shortname": t.tactic.shortname,
            "detections": t.enabled,
            "techniques": t.techniques,
        })).collect::<Vec<_>>(),
        "techniques": c.covered.iter().map(|t| json!({
            "technique": t.technique,
            "tactic": t.tactic.map(|t| t.id),
            "score": t.enabled.len(),
            "detections": t.enabled,
            "disabled": t.disabled,
        })).collect::<Vec<_>>(),
        "gaps": c.gaps.iter().map(|g| json!({
            "id": g.id,
            "file": path_of(r.sources, g.file),
            "kind": g.kind.as_str(),
        })).collect::<Vec<_>>(),
        "diagnostics": diagnostics,
    })
}

/// The Navigator layer (format 4.5) of a tally.
pub fn layer(c: &Coverage, options: &LayerOptions<'_>) -> Value {
    let max = c.covered.iter().map(|t| t.enabled.len()).max().unwrap_or(0).max(1);
    let techniques: Vec<Value> = c
        .covered
        .iter()
        .map(|t| {
            let mut comment = if t.enabled.is_empty() {
                String::from("no enabled detection")
            } else {
                format!("detections: {}", t.enabled.join(", "))
            };
            if !t.disabled.is_empty() {
                comment.push_str("; disabled: ");
                comment.push_str(&t.disabled.join(", "));
            }
            let metadata: Vec<Value> = t
                .enabled
                .iter()
                .map(|id| json!({ "name": "detection", "value": id }))
                .chain(
                    t.disabled
                        .iter()
                        .map(|id| json!({ "name": "disabled detection", "value": id })),
                )
                .collect();
            let mut v = json!({
                "techniqueID": t.technique,
                "score": t.enabled.len(),
                "comment": comment,
                "enabled": !t.enabled.is_empty(),
                "metadata": metadata,
            });
            if let (Some(tactic), Some(m)) = (t.tactic, v.as_object_mut()) {
                m.insert("tactic".to_owned(), json!(tactic.shortname));
            }
            v
        })
        .collect();
    json!({
        "name": options.name,
        "versions": {
            "attack": options.attack_version,
            "navigator": NAVIGATOR_VERSION,
            "layer": "4.5",
        },
        "domain": "enterprise-attack",
        "description": format!(
            "{} of {} enabled detections mapped; score = enabled detections covering the technique",
            c.enabled - c.enabled_unmapped,
            c.enabled
        ),
        "sorting": 3,
        "layout": { "layout": "side", "showID": true, "showName": true },
        "hideDisabled": false,
        "techniques": techniques,
        "gradient": { "colors": ["#ffe766", "#8ec843"], "minValue": 0, "maxValue": max },
        "legendItems": [
            { "label": "covered by an enabled detection", "color": "#8ec843" },
            { "label": "covered by disabled detections only", "color": "#dddddd" },
        ],
        "metadata": [
            { "name": "generated by", "value": "detect coverage" },
        ],
    })
}

/// Writes the layer as indented JSON.
///
/// # Errors
/// A failed write.
pub fn write_layer(out: &mut dyn Write, c: &Coverage, options: &LayerOptions<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &layer(c, options))?;
    out.write_all(b"\n")?;
    out.flush()
}
