//! Where the cursor stands in a YAML file, read from the lines around it
//! (the file may not parse while it is typed): the key of its line, the
//! word being typed and the keys that enclose the line.

/// One line, split into its YAML parts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Line<'a> {
    /// Column of the first character (of the `- ` of a list item).
    start: usize,
    /// Whether the line is a list item.
    item: bool,
    /// The key written on it, when it has `key:`.
    key: Option<&'a str>,
    /// What follows `key:` (trimmed), or the whole content when no key.
    value: &'a str,
}

fn split(line: &str) -> Option<Line<'_>> {
    let start = line.len() - line.trim_start().len();
    let mut rest = line.get(start..)?;
    if rest.is_empty() || rest.starts_with('#') {
        return None;
    }
    let mut item = false;
    while let Some(r) = rest.strip_prefix("- ").or_else(|| (rest == "-").then_some("")) {
        item = true;
        rest = r.trim_start();
    }
    let key_end = rest.find(": ").or_else(|| rest.strip_suffix(':').map(str::len));
    match key_end {
        Some(i) if !rest[..i].is_empty() && !rest[..i].contains(['"', '\'', '[', '{', ' ']) => Some(Line {
            start,
            item,
            key: Some(&rest[..i]),
            value: rest.get(i + 1..).unwrap_or("").trim(),
        }),
        _ => Some(Line {
            start,
            item,
            key: None,
            value: rest.trim(),
        }),
    }
}

/// The cursor's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor<'a> {
    /// The key of the cursor's line when the cursor is after `key:`.
    pub key: Option<&'a str>,
    /// The word before the cursor (a key being typed, or a value).
    pub word: &'a str,
    /// Whether the line is a list item (`- `).
    pub item: bool,
    /// Whether the line is at the top level (column 0, no enclosing key).
    pub top: bool,
    /// The keys enclosing the line, innermost first.
    pub parents: Vec<&'a str>,
}

/// Reads the cursor's place in `text` at 0-based `line` and byte offset
/// `byte` within that line.
pub fn at(text: &str, line: usize, byte: usize) -> Cursor<'_> {
    let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let current = lines.get(line).copied().unwrap_or("");
    let before = current.get(..byte.min(current.len())).unwrap_or(current);
    let parsed = split(before);
    let (key, word, item, start) = match &parsed {
        Some(l) => match l.key {
            Some(k) => (Some(k), l.value, l.item, l.start),
            None => (None, l.value, l.item, l.start),
        },
        None => (None, "", false, before.len()),
    };
    // A key being typed has no value after it yet.
    let word = word.rsplit([' ', '[', ',']).next().unwrap_or(word);
    let parents = parents(&lines, line, start, item);
    Cursor {
        key,
        word,
        item,
        top: start == 0 && parents.is_empty(),
        parents,
    }
}

/// The enclosing keys of the line at `line`, which starts at column
/// `start`: each line above with a key and no value that is less indented
/// (or, for a list item, as indented: `IDs:` then `- a`).
fn parents<'a>(lines: &[&'a str], line: usize, start: usize, item: bool) -> Vec<&'a str> {
    let mut out = Vec::new();
    let (mut limit, mut item) = (start, item);
    for l in lines.iter().take(line).rev() {
        if limit == 0 && !item {
            break;
        }
        let Some(p) = split(l) else { continue };
        let content = if p.item { p.start + 2 } else { p.start };
        let encloses =
            p.value.is_empty() && p.key.is_some() && (content < limit || (item && !p.item && content == limit));
        if encloses {
            out.extend(p.key);
            limit = p.start;
            item = false;
        } else if p.start < limit && !p.item {
            // A less indented line with a value ends the search for this
            // level (malformed, or a sibling block).
            limit = p.start;
            item = false;
        }
    }
    out
}

/// The `AnalysisType` written in `text`, if any.
pub fn analysis_type(text: &str) -> Option<&str> {
    text.lines().find_map(|l| {
        let v = l.strip_prefix("AnalysisType:")?.trim();
        let v = v.split('#').next().unwrap_or(v).trim().trim_matches(['"', '\'']);
        (!v.is_empty()).then_some(v)
    })
}

/// The top-level keys written in `text`.
pub fn top_keys(text: &str) -> Vec<&str> {
    text.lines()
        .filter_map(|l| split(l).filter(|p| p.start == 0 && !p.item).and_then(|p| p.key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_end(text: &str) -> Cursor<'_> {
        let line = text.split('\n').count() - 1;
        let len = text.rsplit('\n').next().unwrap_or("").len();
        at(text, line, len)
    }

    #[test]
    fn condition_value_in_a_detection_list() {
        let c = at_end("RuleID: a\nDetection:\n  - Key: x\n    Condition: Eq");
        assert_eq!(c.key, Some("Condition"));
        assert_eq!(c.word, "Eq");
        assert_eq!(c.parents, vec!["Detection"]);
        assert!(!c.top);
    }

    #[test]
    fn nested_groups_and_list_items_at_the_key_column() {
        let c = at_end("Detection:\n  - Any:\n      - KeyPath: a.b");
        assert_eq!(c.key, Some("KeyPath"));
        assert_eq!(c.parents, vec!["Any", "Detection"]);
        let c = at_end("PackDefinition:\n  IDs:\n  - Rule.O");
        assert!(c.item);
        assert_eq!(c.key, None);
        assert_eq!(c.word, "Rule.O");
        assert_eq!(c.parents, vec!["IDs", "PackDefinition"]);
    }

    #[test]
    fn a_key_typed_at_the_top_level() {
        let c = at_end("AnalysisType: rule\nSev");
        assert!(c.top);
        assert_eq!(c.key, None);
        assert_eq!(c.word, "Sev");
        assert_eq!(analysis_type("AnalysisType: 'rule' # x\n"), Some("rule"));
        assert_eq!(top_keys("A: 1\n  B: 2\nC:\n- D: 1\n"), vec!["A", "C"]);
    }
}
