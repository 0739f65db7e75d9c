//! Key specifiers (`Key`, `DeepKey`, `KeyPath`) and the KeyPath grammar
//! (match-expressions §2). The alert keys (`alert.rs`) use them on their own.

use super::{has_errors_since, is_one_of, key_fix, suggest_key};
use crate::diagnostic::Code;
use crate::load::Cx;
use crate::model::{KeyPath, KeySpec, Step};
use crate::source::{Span, Spanned};
use crate::yaml::{Node, NodeKind};

/// The three key specifiers (§2).
pub(super) const KEY_SPECS: &[&str] = &["Key", "DeepKey", "KeyPath"];

pub(super) const KEY_PATH_HELP: &str =
    "a KeyPath is member names joined by `.`, each optionally followed by `[N]`, `[-N]` or `[*]`, e.g. `items[0].name`";

/// Reads a mapping that must hold exactly one key specifier.
///
/// Anything that is not a key specifier (a scalar, an `Enrichment`, a
/// mapping without `Key`, `DeepKey` or `KeyPath`) is `invalid-value`; use
/// [`key_spec_with`] for a more specific code.
pub fn key_spec(cx: &mut Cx, node: &Node, place: &str) -> Option<KeySpec> {
    key_spec_with(cx, node, place, Code::InvalidValue)
}

/// Reads a mapping that must hold exactly one key specifier, reporting
/// anything that is not one with `code` (`invalid-group-by`,
/// `invalid-alert-context`, `multi-key-arity`).
///
/// `place` names the value in messages, for example "a `GroupBy` item".
/// Two key specifiers are `exclusive-keys`, other keys next to one are
/// `unknown-key`.
pub fn key_spec_with(cx: &mut Cx, node: &Node, place: &str, code: Code) -> Option<KeySpec> {
    let Some(entries) = node.as_map() else {
        let help = match node.as_str() {
            Some(s) => format!("write a mapping such as `KeyPath: {s}`"),
            None => "write a mapping with one of `Key`, `DeepKey` or `KeyPath`".to_owned(),
        };
        cx.report(
            code,
            node.span,
            format!("{place} must be a key specifier, found {}", node.type_name()),
        )
        .help = Some(help);
        return None;
    };
    let mark = cx.diags.len();
    if let Some((k, _)) = node.get_entry("Enrichment") {
        cx.report(code, k.span, format!("`Enrichment` is not a key specifier ({place})"))
            .help = Some(
            "read enrichment data with a `KeyPath` into `p_enrichment`, e.g. `KeyPath: p_enrichment.<table>.<selector>.<field>`"
                .to_owned(),
        );
    }
    let present: Vec<&(Node, Node)> = entries.iter().filter(|(k, _)| is_one_of(k, KEY_SPECS)).collect();
    if present.is_empty() {
        if node.get("Enrichment").is_none() {
            let (span, help) = match entries.first() {
                Some((k, _)) => (k.span, suggest_key(k, KEY_SPECS)),
                None => (node.span, None),
            };
            cx.report(code, span, format!("{place} has no key specifier")).help =
                Some(help.unwrap_or_else(|| "use exactly one of `Key`, `DeepKey` or `KeyPath`".to_owned()));
        }
        return None;
    }
    for (k, _) in entries {
        if is_one_of(k, KEY_SPECS) || k.as_str() == Some("Enrichment") {
            continue;
        }
        let text = k.key_text().unwrap_or_else(|| "?".to_owned());
        let found = key_fix(k, KEY_SPECS, node);
        let d = cx.report(Code::UnknownKey, k.span, format!("unknown key `{text}` in {place}"));
        match found {
            Some((help, fix)) => d.with_help_and_fix(help, fix),
            None => d.help = Some(format!("{place} holds exactly one of `Key`, `DeepKey` or `KeyPath`")),
        }
    }
    let specs: Vec<Option<KeySpec>> = present.iter().map(|(k, v)| parse_key_spec(cx, k, v)).collect();
    exclusive_specs(cx, &present);
    let spec = specs.into_iter().next().flatten();
    if has_errors_since(cx, mark) || present.len() > 1 {
        return None;
    }
    spec
}

/// Parses a KeyPath (§2.3.1), reporting `invalid-key-path` at `span`.
pub fn key_path(cx: &mut Cx, text: &str, span: Span) -> Option<KeyPath> {
    key_path_named(cx, text, span, "KeyPath")
}

/// Parses the KeyPath grammar of §2.3.1 into steps.
///
/// # Errors
/// A lowercase fragment saying what breaks the grammar ("it contains an
/// empty segment (`..`)").
pub fn parse_key_path(text: &str) -> Result<Vec<Step>, String> {
    if text.is_empty() {
        return Err("the path is empty".to_owned());
    }
    let mut steps = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if matches!(c, '.' | '[' | ']') {
                break;
            }
            name.push(c);
            chars.next();
        }
        if name.is_empty() {
            let first = steps.is_empty();
            return Err(match chars.peek() {
                Some('.') if first => "it starts with `.`".to_owned(),
                Some('.') => "it contains an empty segment (`..`)".to_owned(),
                Some('[') if first => "it starts with `[`; a path starts with a member name".to_owned(),
                Some('[') => "a `[` follows a `.`; write `a[0]`, not `a.[0]`".to_owned(),
                Some(_) => "it has a `]` without a matching `[`".to_owned(),
                None => "it ends with `.`".to_owned(),
            });
        }
        steps.push(Step::Member(name.into()));
        while chars.peek() == Some(&'[') {
            chars.next();
            let mut inner = String::new();
            let mut closed = false;
            for c in chars.by_ref() {
                if c == ']' {
                    closed = true;
                    break;
                }
                inner.push(c);
            }
            if !closed {
                return Err("it has a `[` without a closing `]`".to_owned());
            }
            steps.push(selector(&inner)?);
        }
        match chars.next() {
            None => {
                // Paths are kept for the whole run: no spare capacity.
                steps.shrink_to_fit();
                return Ok(steps);
            }
            Some('.') => {
                if chars.peek().is_none() {
                    return Err("it ends with `.`".to_owned());
                }
            }
            Some(']') => return Err("it has a `]` without a matching `[`".to_owned()),
            Some(c) => return Err(format!("`{c}` follows a `]`; separate the next name with `.`")),
        }
    }
}

/// One bracket selector: `*` or a decimal index with an optional `-`.
fn selector(inner: &str) -> Result<Step, String> {
    if inner == "*" {
        return Ok(Step::Wildcard);
    }
    let digits = inner.strip_prefix('-').unwrap_or(inner);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`[{inner}]` is not a selector; use `[N]`, `[-N]` or `[*]`"));
    }
    inner
        .parse::<i64>()
        .map(Step::Index)
        .map_err(|_| format!("the index `[{inner}]` is too large"))
}

/// Parses a KeyPath written under `key` (`KeyPath`, `FieldPath`).
pub(super) fn key_path_named(cx: &mut Cx, text: &str, span: Span, key: &str) -> Option<KeyPath> {
    match parse_key_path(text) {
        Ok(steps) => Some(KeyPath {
            text: text.into(),
            steps,
            span,
        }),
        Err(reason) => {
            cx.report(
                Code::InvalidKeyPath,
                span,
                format!("invalid `{key}` `{text}`: {reason}"),
            )
            .help = Some(KEY_PATH_HELP.to_owned());
            None
        }
    }
}

/// Reports every key specifier after the first as `exclusive-keys`.
pub(super) fn exclusive_specs(cx: &mut Cx, present: &[&(Node, Node)]) {
    let Some(((first, _), rest)) = present.split_first().map(|(f, r)| (*f, r)) else {
        return;
    };
    let first = first.key_text().unwrap_or_default();
    for (k, _) in rest.iter().copied() {
        let name = k.key_text().unwrap_or_default();
        cx.report(
            Code::ExclusiveKeys,
            k.span,
            format!("`{first}` and `{name}` cannot be used together"),
        )
        .help = Some("keep exactly one key specifier: `Key`, `DeepKey` or `KeyPath`".to_owned());
    }
}

/// Parses the value of one key specifier entry.
pub(super) fn parse_key_spec(cx: &mut Cx, key: &Node, value: &Node) -> Option<KeySpec> {
    match key.as_str() {
        Some("Key") => {
            let s = cx.string(value, "Key")?;
            if s.value.is_empty() {
                cx.report(Code::InvalidKeyPath, s.span, "`Key` must not be empty").help =
                    Some("name the top-level event field to look at".to_owned());
                return None;
            }
            Some(KeySpec::Key(s))
        }
        Some("KeyPath") => {
            let s = cx.string(value, "KeyPath")?;
            key_path(cx, &s.value, s.span).map(KeySpec::KeyPath)
        }
        Some("DeepKey") => deep_key(cx, value).map(KeySpec::DeepKey),
        _ => None,
    }
}

/// A `DeepKey` list: strings look up members, integers index arrays.
pub(super) fn deep_key(cx: &mut Cx, node: &Node) -> Option<Spanned<Vec<Step>>> {
    let Some(items) = node.as_seq() else {
        let help = match node.as_str() {
            Some(s) => format!(
                "write a list of steps, e.g. `DeepKey: [{}]`, or use `KeyPath: {s}`",
                s.replace('.', ", ")
            ),
            None => "write a list of steps, e.g. `DeepKey: [user, name]`".to_owned(),
        };
        cx.report(
            Code::WrongType,
            node.span,
            format!("`DeepKey` must be a list, found {}", node.type_name()),
        )
        .help = Some(help);
        return None;
    };
    if items.is_empty() {
        cx.report(Code::InvalidDeepKey, node.span, "`DeepKey` must not be empty")
            .help = Some("list the steps, e.g. `DeepKey: [user, name]`".to_owned());
        return None;
    }
    let mut steps = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        match &item.kind {
            NodeKind::Str(s) => steps.push(Step::Member(s.clone())),
            NodeKind::Int(i) => steps.push(Step::Index(*i)),
            _ => {
                let help = match &item.kind {
                    NodeKind::Bool(b) => format!("quote it (`'{b}'`) to look up a member of that name"),
                    NodeKind::Null => "quote it to look up a member of that name".to_owned(),
                    NodeKind::Float(_) => "array indexes are integers".to_owned(),
                    _ => "each step is a member name or an array index".to_owned(),
                };
                cx.report(
                    Code::InvalidDeepKey,
                    item.span,
                    format!(
                        "a `DeepKey` step must be a string or an integer, found {}",
                        item.type_name()
                    ),
                )
                .help = Some(help);
                ok = false;
            }
        }
    }
    ok.then(|| Spanned::new(steps, node.span))
}
