//! The loading context: typed reads from spanned YAML that report problems.
//!
//! Every reader takes a [`Node`], returns the typed value when it is well
//! formed and otherwise pushes a diagnostic and returns `None`, so a loader
//! can read every key of a file and report all problems, never only the
//! first.

use crate::diagnostic::{Code, Diagnostic, Fix};
use crate::source::{FileId, Span, Spanned};
use crate::yaml::{Node, NodeKind};

/// Options that change how files are read.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--ignore-extra-keys`: unknown top-level keys of rules, scheduled
    /// rules, policies and derived detections become warnings.
    pub ignore_extra_keys: bool,
    /// `--ignore-table-names`: skip the table-name check of scheduled queries.
    pub ignore_table_names: bool,
    /// `--valid-table-names`: extra allowed table names; `*` matches any
    /// characters and the pattern is anchored at the start only (as in PAT).
    pub valid_table_names: std::sync::Arc<[String]>,
    /// What of each file's tree outlives loading.
    pub keep: super::Keep,
}

impl LoadOptions {
    /// Whether `--valid-table-names` admits a table name.
    pub fn is_valid_table_name(&self, name: &str) -> bool {
        self.valid_table_names.iter().any(|p| glob_prefix(p, name))
    }
}

/// PAT's table-name patterns: `*` matches any characters, anchored at the
/// start only (so `foo.bar` also admits `foo.barbaz`).
fn glob_prefix(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    for part in parts {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}

/// Collects the diagnostics of one file.
#[derive(Debug)]
pub struct Cx {
    /// The file being read.
    pub file: FileId,
    /// What was found so far.
    pub diags: Vec<Diagnostic>,
    /// Options.
    pub opts: LoadOptions,
    /// Spans of integer literals too large for 64 bits
    /// ([`crate::yaml::Document::big_ints`]).
    pub big_ints: Vec<Span>,
}

impl Cx {
    /// A context for one file.
    pub fn new(file: FileId, opts: LoadOptions) -> Self {
        Cx {
            file,
            diags: Vec::new(),
            opts,
            big_ints: Vec::new(),
        }
    }

    /// Reports a diagnostic at a span and returns it for a help line.
    pub fn report(&mut self, code: Code, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diags.push(Diagnostic::new(code, self.file, span, message));
        let last = self.diags.len() - 1;
        &mut self.diags[last]
    }

    /// Reports keys of `map` not in `allowed` with `code`, suggesting the
    /// nearest allowed key. Non-string keys are reported too.
    pub fn unknown_keys(&mut self, map: &Node, allowed: &[&str], code: Code, place: &str) {
        let Some(entries) = map.as_map() else { return };
        for (k, _) in entries {
            match k.as_str() {
                Some(name) if allowed.contains(&name) => {}
                Some(name) => {
                    let found = rename_key(name, k.span, allowed, map);
                    let d = self.report(code, k.span, format!("unknown key `{name}` in {place}"));
                    match found {
                        Some((help, fix)) => {
                            d.help = Some(help);
                            d.fix = Some(fix);
                        }
                        None => d.help = Some(format!("allowed keys: {}", allowed.join(", "))),
                    }
                }
                None => {
                    let text = k.key_text().unwrap_or_else(|| "?".to_owned());
                    self.report(code, k.span, format!("unknown key `{text}` in {place}"))
                        .help = Some("keys are case-sensitive strings".to_owned());
                }
            }
        }
    }

    /// Reports that `key` is missing from `map`.
    pub fn missing(&mut self, map: &Node, key: &str, place: &str) {
        self.report(
            Code::MissingKey,
            map.first_key_span(),
            format!("missing key `{key}` in {place}"),
        );
    }

    /// Reports `key` as present together with an exclusive key.
    pub fn exclusive(&mut self, map: &Node, a: &str, b: &str) {
        let (Some((ka, _)), Some((kb, _))) = (map.get_entry(a), map.get_entry(b)) else {
            return;
        };
        let second = if ka.span.start <= kb.span.start { kb } else { ka };
        self.report(
            Code::ExclusiveKeys,
            second.span,
            format!("`{a}` and `{b}` cannot be used together"),
        )
        .help = Some(format!("keep exactly one of `{a}` and `{b}`"));
    }

    fn wrong_type(&mut self, node: &Node, key: &str, want: &str) {
        let found = match &node.kind {
            NodeKind::Str(s) if s.len() <= 40 => format!("a string (`{s}`)"),
            _ => node.type_name().to_owned(),
        };
        let help = match (&node.kind, want) {
            (NodeKind::Str(s), "a boolean") => Some(format!(
                "write `true` or `false`; `{s}` is a string in detection files (YAML 1.2)"
            )),
            (NodeKind::Str(_), "a list of strings") => {
                Some(format!("write a list: `{key}: [{}]`", node.as_str().unwrap_or("")))
            }
            (NodeKind::Null, _) => Some("give it a value or remove the key".to_owned()),
            _ => None,
        };
        let d = self.report(
            Code::WrongType,
            node.span,
            format!("`{key}` must be {want}, found {found}"),
        );
        d.help = help;
    }

    /// A string value.
    pub fn string(&mut self, node: &Node, key: &str) -> Option<Spanned<String>> {
        match &node.kind {
            NodeKind::Str(s) => Some(Spanned::new(s.to_string(), node.span)),
            _ => {
                self.wrong_type(node, key, "a string");
                None
            }
        }
    }

    /// A boolean value.
    pub fn boolean(&mut self, node: &Node, key: &str) -> Option<Spanned<bool>> {
        match node.kind {
            NodeKind::Bool(b) => Some(Spanned::new(b, node.span)),
            _ => {
                self.wrong_type(node, key, "a boolean");
                None
            }
        }
    }

    /// An integer value.
    pub fn integer(&mut self, node: &Node, key: &str) -> Option<Spanned<i64>> {
        match node.kind {
            NodeKind::Int(i) => Some(Spanned::new(i, node.span)),
            NodeKind::Float(_) if self.big_ints.contains(&node.span) => {
                self.report(
                    Code::InvalidValue,
                    node.span,
                    format!("`{key}` is out of range: integers go from {} to {}", i64::MIN, i64::MAX),
                )
                .help = Some("write a smaller number".to_owned());
                None
            }
            _ => {
                self.wrong_type(node, key, "an integer");
                None
            }
        }
    }

    /// A list value.
    pub fn list<'n>(&mut self, node: &'n Node, key: &str) -> Option<&'n [Node]> {
        match &node.kind {
            NodeKind::Seq(items) => Some(items),
            _ => {
                self.wrong_type(node, key, "a list");
                None
            }
        }
    }

    /// A mapping value.
    pub fn mapping<'n>(&mut self, node: &'n Node, key: &str) -> Option<&'n Node> {
        match &node.kind {
            NodeKind::Map(_) => Some(node),
            _ => {
                self.wrong_type(node, key, "a mapping");
                None
            }
        }
    }

    /// A list of strings; every non-string item is reported.
    pub fn string_list(&mut self, node: &Node, key: &str) -> Option<Vec<Spanned<String>>> {
        let NodeKind::Seq(items) = &node.kind else {
            self.wrong_type(node, key, "a list of strings");
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            match &item.kind {
                NodeKind::Str(s) => out.push(Spanned::new(s.to_string(), item.span)),
                _ => {
                    self.wrong_type(item, &format!("{key} item"), "a string");
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// Reads a set field of `root`: a list of strings without duplicates
    /// (`duplicate-value`; `Tags` compare case-insensitively). `None` when
    /// the key is absent, `null` or malformed.
    pub fn set_field(&mut self, root: &Node, key: &str, case_insensitive: bool) -> Option<Vec<Spanned<String>>> {
        let n = root.get(key).filter(|n| !n.is_null())?;
        let items = self.string_list(n, key)?;
        self.no_duplicates(&items, key, case_insensitive);
        Some(items)
    }

    /// Reports duplicate entries of a set field (`duplicate-value`).
    pub fn no_duplicates(&mut self, items: &[Spanned<String>], key: &str, case_insensitive: bool) {
        self.repeated_values(
            Code::DuplicateValue,
            items,
            key,
            case_insensitive,
            &format!("`{key}` is a set: remove the duplicate"),
        );
    }

    /// Reports every entry of `items` equal to an earlier one with `code`,
    /// the first occurrence as a related location. One hash map, so the cost
    /// is linear in the number of items.
    pub fn repeated_values(
        &mut self,
        code: Code,
        items: &[Spanned<String>],
        key: &str,
        case_insensitive: bool,
        help: &str,
    ) {
        use std::borrow::Cow;
        use std::collections::hash_map::{Entry, HashMap};

        let mut seen: HashMap<Cow<'_, str>, Span> = HashMap::with_capacity(items.len());
        let how = if case_insensitive {
            " (compared case-insensitively)"
        } else {
            ""
        };
        for item in items {
            let norm = if case_insensitive {
                Cow::Owned(item.value.to_lowercase())
            } else {
                Cow::Borrowed(item.value.as_str())
            };
            match seen.entry(norm) {
                Entry::Vacant(v) => {
                    v.insert(item.span);
                }
                Entry::Occupied(o) => {
                    let first = *o.get();
                    let file = self.file;
                    let d = self.report(
                        code,
                        item.span,
                        format!("`{}` appears twice in `{key}`{how}", item.value),
                    );
                    d.related.push(crate::diagnostic::Label {
                        file,
                        span: first,
                        text: Some("first here".to_owned()),
                    });
                    d.help = Some(help.to_owned());
                }
            }
        }
    }

    /// `DisplayName`: a string without the characters an ID may not hold.
    pub fn display_name(&mut self, n: &Node) -> Option<Spanned<String>> {
        let name = self.string(n, "DisplayName");
        if let Some(d) = &name {
            self.id_chars(d, "DisplayName");
        }
        name
    }

    /// Checks an ID or `DisplayName` against `^[^<>&"%]+$` (`invalid-id`).
    pub fn id_chars(&mut self, value: &Spanned<String>, key: &str) {
        if value.value.is_empty() {
            self.report(Code::InvalidId, value.span, format!("`{key}` must not be empty"));
        } else if let Some(c) = value.value.chars().find(|c| matches!(c, '<' | '>' | '&' | '"' | '%')) {
            self.report(
                Code::InvalidId,
                value.span,
                format!("`{key}` contains the forbidden character `{c}`"),
            )
            .help = Some("IDs and display names must not contain < > & \" %".to_owned());
        }
    }
}

/// A required string key of a nested mapping.
pub(crate) fn required_string(cx: &mut Cx, map: &Node, key: &str, place: &str) -> Option<Spanned<String>> {
    match map.get(key) {
        Some(v) => cx.string(v, key),
        None => {
            cx.missing(map, key, place);
            None
        }
    }
}

/// The help line and fix for an unknown key `name` of `map` written at
/// `span`: the rename to the nearest allowed key. The rename is not safe
/// when the map already has that key (the file would then repeat it).
pub fn rename_key(name: &str, span: Span, allowed: &[&str], map: &Node) -> Option<(String, Fix)> {
    let (help, mut fix) = Fix::misspelt(name, span, allowed.iter().copied())?;
    let to = fix.edits.first().map(|e| e.text.as_str()).unwrap_or_default();
    if map.get(to).is_some() {
        fix.safe = false;
    }
    Some((help, fix))
}

/// The help line and fix for a value `word` written at `span` that is not
/// one of `candidates`: the replacement by the nearest one. Safe only when
/// the two differ in letter case alone (the same word); a misspelt value
/// is offered, never applied by `validate --fix`, since the nearest value
/// may not be the one the author meant.
pub fn replace_value<'a>(
    word: &str,
    span: Span,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<(String, Fix)> {
    let to = crate::diagnostic::suggest(word, candidates)?;
    let safe = to.eq_ignore_ascii_case(word);
    let fix = Fix::replace(format!("replace `{word}` with `{to}`"), span, to, safe);
    Some((format!("did you mean `{to}`?"), fix))
}
