//! Policies, globals, data models, packs, queries, lookup tables and
//! scheduled prompts (cli-and-settings §2.1).
//!
//! The key lists, types and required keys follow PAT's schemas:
//! `panther_analysis_tool/schemas.py` (`POLICY_SCHEMA`, `GLOBAL_SCHEMA`,
//! `DATA_MODEL_SCHEMA`, `PACK_SCHEMA`, `SAVED_QUERY_SCHEMA`,
//! `SCHEDULED_QUERY_SCHEMA`, `LOOKUP_TABLE_SCHEMA`, `SQL_LOOKUP_TABLE_SCHEMA`,
//! `SCHEDULED_PROMPT_SCHEMA`, `QueryScheduleSchema`, `RESOURCE_TYPE_REGEX`)
//! plus the JSON schema PAT also applies to every file
//! (`panther_analysis_tool/detection_schemas/analysis_config_schema.json`),
//! and the set fields of `constants.py` (`SET_FIELDS`), all from
//! `panther-labs/panther_analysis_tool` version 1.7.0, commit `df41e110`
//! (the commit the corpus fixtures come from). Where the two schemas differ
//! the stricter one wins, as PAT runs both.
//!
//! Each type is a table of `Field`s: the generic reader reports unknown,
//! missing and mistyped keys; nested structures (`Tests`, `Schedule`,
//! `Mappings`, `Refresh`, …) have their own readers.

mod lookup;
mod policy;
mod query;
pub mod sql;

use crate::diagnostic::{Code, Label};
use crate::load::cx::required_string;
use crate::load::rule::reports;
use crate::load::{Cx, null_values};
use crate::model::{AnalysisType, Other};
use crate::source::{Span, Spanned};
use crate::yaml::{Node, NodeKind};

/// How the generic reader checks a top-level value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Checked elsewhere (`AnalysisType`, the ID key).
    Skip,
    /// A string.
    Str,
    /// A string matching `^[^<>&"%]+$` (`DisplayName`).
    Name,
    /// A boolean.
    Bool,
    /// An integer.
    Int,
    /// A list of strings without duplicates.
    Set,
    /// `Tags`: a set compared case-insensitively.
    TagSet,
    /// Any value, `null` included.
    Any,
    /// Read by the type's own code.
    Custom,
}

/// One top-level key of a type's schema.
#[derive(Debug, Clone, Copy)]
struct Field {
    key: &'static str,
    kind: Kind,
    required: bool,
}

const fn req(key: &'static str, kind: Kind) -> Field {
    Field {
        key,
        kind,
        required: true,
    }
}

const fn opt(key: &'static str, kind: Kind) -> Field {
    Field {
        key,
        kind,
        required: false,
    }
}

/// The query keys of queries and SQL lookup tables; at least one is needed.
pub const QUERY_KEYS: &[&str] = &["Query", "AthenaQuery", "SnowflakeQuery", "DatabricksQuery"];

/// `GLOBAL_SCHEMA`.
const GLOBAL: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("GlobalID", Kind::Skip),
    req("Filename", Kind::Str),
    opt("Description", Kind::Str),
    opt("Tags", Kind::TagSet),
    opt("BaseVersion", Kind::Int),
];

/// `DATA_MODEL_SCHEMA`.
const DATA_MODEL: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("DataModelID", Kind::Skip),
    req("Enabled", Kind::Bool),
    req("LogTypes", Kind::Set),
    req("Mappings", Kind::Custom),
    opt("DisplayName", Kind::Name),
    opt("Filename", Kind::Str),
    opt("BaseVersion", Kind::Int),
];

/// `PACK_SCHEMA`.
const PACK: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("PackID", Kind::Skip),
    req("PackDefinition", Kind::Custom),
    opt("Description", Kind::Str),
    opt("DisplayName", Kind::Name),
];

/// The top-level keys the schema of a non-rule type allows, in schema
/// order (rules and correlation rules list theirs in their own loaders).
pub fn schema_keys(ty: AnalysisType) -> Vec<&'static str> {
    let specs: &[&[Field]] = match ty {
        AnalysisType::Policy => &[policy::POLICY],
        AnalysisType::Global => &[GLOBAL],
        AnalysisType::DataModel => &[DATA_MODEL],
        AnalysisType::Pack => &[PACK],
        AnalysisType::SavedQuery => &[query::SAVED_QUERY],
        AnalysisType::ScheduledQuery => &[query::SCHEDULED_QUERY],
        AnalysisType::ScheduledPrompt => &[query::PROMPT],
        AnalysisType::LookupTable => &[lookup::FILE_TABLE, lookup::SQL_TABLE],
        AnalysisType::Rule | AnalysisType::ScheduledRule | AnalysisType::CorrelationRule => &[],
    };
    let mut out: Vec<&'static str> = Vec::new();
    for f in specs.iter().flat_map(|s| s.iter()) {
        if !out.contains(&f.key) {
            out.push(f.key);
        }
    }
    out
}

/// Loads a file of one of the non-rule types.
pub fn load(cx: &mut Cx, root: &Node, ty: AnalysisType) -> Other {
    let mut other = Other::default();
    match ty {
        AnalysisType::Policy => policy::load(cx, root),
        AnalysisType::Global => {
            fields(cx, root, ty, GLOBAL, &[]);
        }
        AnalysisType::DataModel => {
            fields(cx, root, ty, DATA_MODEL, &[]);
            if let Some(n) = value(root, "Mappings") {
                mappings(cx, n);
            }
        }
        AnalysisType::Pack => {
            fields(cx, root, ty, PACK, &[]);
            if let Some(n) = value(root, "PackDefinition") {
                other.pack_ids = pack_definition(cx, n);
            }
        }
        AnalysisType::ScheduledQuery | AnalysisType::SavedQuery => query::load(cx, root, ty),
        AnalysisType::LookupTable => lookup::load(cx, root),
        AnalysisType::ScheduledPrompt => query::load_prompt(cx, root),
        // Loaded elsewhere; nothing to add here.
        AnalysisType::Rule | AnalysisType::ScheduledRule | AnalysisType::CorrelationRule => {}
    }
    // What cross-file checks need, read without reporting again.
    other.enabled = match root.get("Enabled").map(|n| &n.kind) {
        Some(NodeKind::Bool(b)) => Some(*b),
        _ => None,
    };
    other.filename = root
        .get("Filename")
        .and_then(|n| n.as_str().map(|s| Spanned::new(s.to_owned(), n.span)));
    if ty == AnalysisType::DataModel {
        other.log_types = strings(root.get("LogTypes"));
    }
    other
}

/// The value of a key unless absent or `null` (`null` is reported once, by
/// [`null_values`]).
fn value<'n>(map: &'n Node, key: &str) -> Option<&'n Node> {
    map.get(key).filter(|n| !n.is_null())
}

/// The string items of a list, ignoring the rest.
fn strings(n: Option<&Node>) -> Vec<Spanned<String>> {
    n.and_then(Node::as_seq)
        .unwrap_or(&[])
        .iter()
        .filter_map(|i| i.as_str().map(|s| Spanned::new(s.to_owned(), i.span)))
        .collect()
}

/// A type as messages name it ("a policy").
fn place(ty: AnalysisType) -> String {
    format!("a {}", ty.name())
}

/// Checks the top level of a file against a type's fields: nulls, unknown
/// keys (`extra` gives a help line for keys that belong to a sibling
/// schema), missing required keys and the simple value types.
fn fields(cx: &mut Cx, root: &Node, ty: AnalysisType, spec: &[Field], extra: &[(&str, &str)]) {
    let nullable: Vec<&str> = spec.iter().filter(|f| f.kind == Kind::Any).map(|f| f.key).collect();
    null_values(cx, root, &nullable);
    let allowed: Vec<&str> = spec.iter().map(|f| f.key).collect();
    top_level_keys(cx, root, &allowed, ty, extra);
    for f in spec {
        let Some(n) = root.get(f.key) else {
            if f.required && f.kind != Kind::Skip {
                cx.missing(root, f.key, &place(ty));
            }
            continue;
        };
        if n.is_null() {
            continue;
        }
        match f.kind {
            Kind::Str => {
                cx.string(n, f.key);
            }
            Kind::Name => {
                if let Some(s) = cx.string(n, f.key) {
                    cx.id_chars(&s, f.key);
                }
            }
            Kind::Bool => {
                cx.boolean(n, f.key);
            }
            Kind::Int => {
                cx.integer(n, f.key);
            }
            Kind::Set | Kind::TagSet => {
                if let Some(items) = cx.string_list(n, f.key) {
                    cx.no_duplicates(&items, f.key, f.kind == Kind::TagSet);
                }
            }
            Kind::Skip | Kind::Any | Kind::Custom => {}
        }
    }
}

/// Reports top-level keys a type does not allow. Only policies honour
/// `--ignore-extra-keys` (PAT relaxes `RULE_SCHEMA`, `POLICY_SCHEMA` and
/// `DERIVED_SCHEMA` only).
fn top_level_keys(cx: &mut Cx, root: &Node, allowed: &[&str], ty: AnalysisType, extra: &[(&str, &str)]) {
    for (k, _) in root.as_map().unwrap_or(&[]) {
        let name = match k.as_str() {
            Some(s) if allowed.contains(&s) => continue,
            Some(s) => s.to_owned(),
            None => k.key_text().unwrap_or_else(|| "?".to_owned()),
        };
        let extra_help = extra.iter().find(|(key, _)| *key == name).map(|(_, h)| (*h).to_owned());
        let (help, fix) = match extra_help {
            Some(h) => (Some(h), None),
            None => {
                super::cx::rename_key(&name, k.span, allowed, root).map_or((None, None), |(h, f)| (Some(h), Some(f)))
            }
        };
        if ty == AnalysisType::Policy && cx.opts.ignore_extra_keys && k.as_str().is_some() {
            cx.report(
                Code::ExtraKeyIgnored,
                k.span,
                format!("unknown key `{name}` ignored (--ignore-extra-keys)"),
            )
            .help = help;
            continue;
        }
        let d = cx.report(
            Code::UnknownKey,
            k.span,
            format!("unknown key `{name}` in {}", place(ty)),
        );
        d.help = Some(help.unwrap_or_else(|| {
            if ty == AnalysisType::Policy {
                "remove it, or run with --ignore-extra-keys as PAT would".to_owned()
            } else {
                format!("allowed keys: {}", allowed.join(", "))
            }
        }));
        d.fix = fix;
    }
}

/// Reads a list of mappings, reporting items that are not mappings.
fn mapping_items<'n>(cx: &mut Cx, n: &'n Node, key: &str) -> Vec<&'n Node> {
    let Some(items) = cx.list(n, key) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if item.as_map().is_some() {
            out.push(item);
        } else {
            cx.report(
                Code::WrongType,
                item.span,
                format!("a `{key}` item must be a mapping, found {}", item.type_name()),
            );
        }
    }
    out
}

/// A string list of a nested mapping, required or not.
fn nested_list(cx: &mut Cx, map: &Node, key: &str, required: bool, place: &str) -> Option<Vec<Spanned<String>>> {
    match map.get(key) {
        Some(v) => cx.string_list(v, key),
        None => {
            if required {
                cx.missing(map, key, place);
            }
            None
        }
    }
}

/// Exactly one of two keys of a nested mapping: both is `exclusive-keys`,
/// neither `missing-key`.
fn one_of(cx: &mut Cx, map: &Node, a: &str, b: &str, place: &str) {
    match (map.get(a).is_some(), map.get(b).is_some()) {
        (true, true) => cx.exclusive(map, a, b),
        (false, false) => {
            cx.report(
                Code::MissingKey,
                map.first_key_span(),
                format!("missing key `{a}` or `{b}` in {place}"),
            )
            .help = Some(format!("give exactly one of `{a}` and `{b}`"));
        }
        _ => {}
    }
}

/// `Mappings` of a data model: `Name` and exactly one of `Path`/`Method`.
fn mappings(cx: &mut Cx, n: &Node) {
    for item in mapping_items(cx, n, "Mappings") {
        cx.unknown_keys(item, &["Name", "Path", "Method"], Code::UnknownKey, "a mapping");
        required_string(cx, item, "Name", "a mapping");
        for key in ["Path", "Method"] {
            if let Some(v) = item.get(key) {
                cx.string(v, key);
            }
        }
        one_of(cx, item, "Path", "Method", "a mapping");
    }
}

/// `PackDefinition` of a pack; returns the listed IDs.
fn pack_definition(cx: &mut Cx, n: &Node) -> Vec<Spanned<String>> {
    let Some(m) = cx.mapping(n, "PackDefinition") else {
        return Vec::new();
    };
    cx.unknown_keys(m, &["IDs"], Code::UnknownKey, "`PackDefinition`");
    let Some(ids) = m.get("IDs") else {
        cx.missing(m, "IDs", "`PackDefinition`");
        return Vec::new();
    };
    if let Some(items) = cx.string_list(ids, "IDs") {
        // PAT's set fields are top-level keys only; it accepts a pack that
        // lists an ID twice, and the pack includes the item once.
        cx.repeated_values(
            Code::DuplicatePackId,
            &items,
            "PackDefinition.IDs",
            false,
            "the pack includes the item once; remove the repetition",
        );
    }
    strings(Some(ids))
}

/// Points at a part of a string value when the value is written on one
/// line (plain or quoted without escapes), else at the whole value.
fn value_sub_span(node: &Node, text: &str, offset: usize, len: usize) -> Span {
    let s = node.span;
    if s.start.line != s.end.line {
        return s;
    }
    let width = s.end.col.saturating_sub(s.start.col) as usize;
    let chars = text.chars().count();
    if width == chars {
        s.sub(offset, len)
    } else if width == chars + 2 {
        s.sub(offset + 1, len)
    } else {
        s
    }
}

/// A "first here" related location.
fn first_here(cx: &Cx, span: Span) -> Label {
    Label {
        file: cx.file,
        span,
        text: Some("first here".to_owned()),
    }
}

#[cfg(test)]
mod tests;
