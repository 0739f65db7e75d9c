//! The fast path against the libyaml-safer path: wherever the fast path
//! gives a document, libyaml-safer must give the same one (values, spans,
//! duplicate keys, big integers). Declining is always allowed; a different
//! tree, or a document where libyaml-safer reports an error, is a bug in
//! `fast.rs`.

use std::path::{Path, PathBuf};

use super::{first_difference, parse_fast, parse_libyaml};

/// Checks the implication on one text; `Ok(true)` when the fast path took
/// it, `Ok(false)` when it declined, `Err` with a description on a
/// mismatch.
fn check(text: &str) -> Result<bool, String> {
    let Some(fast) = parse_fast(text) else {
        return Ok(false);
    };
    match parse_libyaml(text) {
        Ok(slow) => match first_difference(&fast, &slow) {
            None => Ok(true),
            Some(d) => Err(format!("{d}\n--- text ---\n{text}")),
        },
        Err(e) => Err(format!(
            "the fast path accepts it, libyaml-safer says {} at {:?}\n--- text ---\n{text}",
            e.message, e.span
        )),
    }
}

/// Every `.yml`/`.yaml` file under `../shared/corpus` and `fixtures/`, in
/// a fixed order, with its text. The corpus may be missing locally, never
/// under `CI`. Also read by the JSON-text test in `mod.rs`.
pub(super) fn files() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("../shared/corpus");
    if !corpus.is_dir() {
        assert!(
            std::env::var("CI").is_err(),
            "../shared/corpus is missing and CI is set"
        );
        eprintln!("corpus not found at {}; only fixtures/", corpus.display());
    }
    let mut paths = Vec::new();
    for dir in [corpus, root.join("fixtures")] {
        walk(&dir, &mut paths);
    }
    paths.sort();
    paths
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(&p).ok().map(|t| (p, t)))
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
            out.push(p);
        }
    }
}

#[test]
fn corpus_and_fixture_files_match() {
    let files = files();
    assert!(files.len() > 50, "only {} YAML files found", files.len());
    let mut accepted = 0;
    let mut bad = Vec::new();
    for (p, t) in &files {
        match check(t) {
            Ok(a) => accepted += usize::from(a),
            Err(e) => bad.push(format!("{}: {e}", p.display())),
        }
    }
    eprintln!("fast path took {accepted} of {} files", files.len());
    assert!(bad.is_empty(), "{}", bad.join("\n\n"));
    // Most real files are in the subset; if this drops, the fast path is
    // declining what it is meant to read.
    assert!(
        accepted * 10 >= files.len() * 7,
        "only {accepted} of {} accepted",
        files.len()
    );
}

/// Where a value is written: the text before `k:` (or `-`) on its line,
/// the indentation of a sibling line, the indentation of the value's own
/// lines, the token that starts the entry (`k:` or `-`), and whether the
/// fast path is meant to take it (a sequence that starts on the line of an
/// entry's `-`, as in `- - a`, is outside the subset).
struct Context {
    take: bool,
    before: &'static str,
    sibling: &'static str,
    child: &'static str,
    entry: &'static str,
}

const CONTEXTS: &[Context] = &[
    ctx(true, "", "k2: 1", "  ", "k:"),
    ctx(true, "o:\n  ", "  k2: 1", "    ", "k:"),
    ctx(true, "- ", "  k2: 1", "    ", "k:"),
    ctx(true, "l:\n- ", "  k2: 1", "    ", "k:"),
    ctx(false, "- - ", "    k2: 1", "      ", "k:"),
    ctx(true, "", "- 1", "  ", "-"),
    ctx(true, "s:\n  ", "  - 1", "    ", "-"),
    ctx(true, "s:\n", "- 1", "  ", "-"),
    ctx(true, "o:\n  s:\n  ", "  - 1", "    ", "-"),
];

const fn ctx(
    take: bool,
    before: &'static str,
    sibling: &'static str,
    child: &'static str,
    entry: &'static str,
) -> Context {
    Context {
        take,
        before,
        sibling,
        child,
        entry,
    }
}

/// Values after `k:` or `-`, with `{I}` for the indentation of their own
/// further lines and `{K}` for the entry's, and whether the fast path is
/// meant to take them (in every context and with every ending).
const VALUES: &[(&str, bool)] = &[
    (" 1", true),
    (" x y", true),
    ("", true),
    (" ", true),
    (" # c", true),
    (" x # c", true),
    (" x # c\n{I}# c2", true),
    ("\n{I}# c\n{I}n: 1", true),
    (" 'q'", true),
    (" 'it''s'", true),
    (" ''", true),
    (" \"\"", true),
    (" \"d\\t\\u00e9\\x41\\\\ \\\"\"", true),
    (" 123456789012345678901234567890", true),
    (" -123456789012345678901234567890", true),
    (" 0x1F", true),
    (" -1.5", true),
    (" .nan", true),
    (" ~", true),
    (" true", true),
    (" null", true),
    (" é ü 中文", true),
    (" a-b", true),
    (" -a", true),
    (" a:b", true),
    (" :\\Program Files\\x.exe", true),
    (" ::1", true),
    (" :a:b :c", true),
    (" :", false),
    (" :: a", false),
    ("\n{I}:k: v\n{I}::: w", true),
    (" a#b", true),
    (" http://x.y/z?a=b", true),
    (" one\n{I}two\n{I}three", true),
    (" one\n\n{I}two\n\n\n{I}three", true),
    (" 'one\n{I}two\n\n{I}three'", true),
    (" 'one  \n{I}  two'", true),
    (" \"a\\\n{I}b \\\"c\\\"\n{I}d\"", true),
    (" \"a\n\n{I}b\"", true),
    (" |\n{I}a\n{I}  b\n\n{I}c\n\n", true),
    (" |-\n{I}a\n{I}  b\n\n{I}c\n\n", true),
    (" |+\n{I}a\n{I}  b\n\n{I}c\n\n", true),
    (" >\n{I}a\n{I}  b\n\n{I}c\n{I}d\n\n", true),
    (" >-\n{I}a\n{I}  b\n\n{I}c\n\n", true),
    (" >+\n{I}a\n{I}  b\n\n{I}c\n\n", true),
    (" |\n{I}a", true),
    (" |-\n{I}a", true),
    (" |+\n{I}a", true),
    (" >\n{I}a", true),
    (" |\n\n{I}a\n{I}", true),
    (" >\n\n\n{I}a\n{I}b", true),
    (" | # c\n{I}x", true),
    (" |\n{I}# not a comment\n{I}x: y", true),
    (" |", true),
    (" >-", true),
    (" {a: 1, b: 'x'}", true),
    (" [1, 'two', \"3\"]", true),
    (" [a b, c]", true),
    (" {a: 1,\n{I}b: [x,\n{I}y]}", true),
    (" [\n{I}1,\n{I}2\n{I}]", true),
    (" []", true),
    (" {}", true),
    (" [a, b,]", true),
    (" {a: 1} # c", true),
    (" [{a: 1}, [b]]", true),
    ("\n{I}n: 1\n{I}m:\n{I}  - x\n{I}  - y: z\n{I}    w: v", true),
    ("\n{I}- a\n{I}- b", true),
    ("\n{I}- - a\n{I}  - b", false),
    ("\n{I}a: 1\n{I}a: 2", true),
    ("\n{I}'q k': 1\n{I}\"d k\": 2", true),
    ("\n{I}ключ: значение\n{I}é: ü", true),
    ("\n{K}- a\n{K}- b: c\n{K}  d: e", false),
    // Not meant to be taken, or invalid: checked only for the implication.
    (" a: b", false),
    (" - a", false),
    (" 'a", false),
    (" \"a", false),
    (" [a", false),
    (" {a: 1", false),
    (" {a: 1}}", false),
    (" [a]x", false),
    (" 'a' b", false),
    (" |0\n{I}a", false),
    (" |\n{I}  a\n{I}b", false),
    (" |x", false),
    (" >\n  a", false),
    (" \"\\q\"", false),
    (" \"\\u12\"", false),
    (" {a: 1, a: 2}", false),
    (" {a: {b: c}}", false),
    (" [a: b]", false),
    (" {? a}", false),
    (" {a}", false),
    (" [a, , b]", false),
    (" @x", false),
    (" `x", false),
    (" %x", false),
    (" x\n{I}- y", false),
    ("\n{I}n: 1\n{I} m: 2", false),
    ("\n{I}n: 1\n{I}- 2", false),
    ("\n{I}- a\n{I}n: 1", false),
    (" ,x", false),
    (" x,", false),
    (" ]", false),
    // Found by fuzzing: after spaces, `:` and a non-blank go on with a
    // plain scalar in a flow collection (the key is `result :FAILURE`).
    (" { result :FAILURE }", false),
    (" [a :b, c]", false),
    (" {a: b :c}", false),
];

/// How a generated text ends after the value.
const ENDINGS: &[&str] = &["", "\n", "\n  \n", "# end\n", "{S}\n", "\n{S}\n", "\n# c\n{S}\n"];

/// Every context × value × ending, with whether the fast path must take it.
fn generated() -> Vec<(String, bool, String)> {
    let mut out = Vec::new();
    for (ci, c) in CONTEXTS.iter().enumerate() {
        for &(v, take) in VALUES {
            let value = v
                .replace("{I}", c.child)
                .replace("{K}", &c.sibling[..c.sibling.len() - c.sibling.trim_start().len()]);
            for (ei, e) in ENDINGS.iter().enumerate() {
                let text = format!("{}{}{value}\n{}", c.before, c.entry, e.replace("{S}", c.sibling));
                out.push((text, take && c.take, format!("value {v:?}, context {ci}, ending {ei}")));
            }
        }
    }
    out
}

/// Texts the fast path must decline: constructs outside its subset.
const DECLINED: &[&str] = &[
    "a:\tb\n",
    "a: b\t\n",
    "\ta: b\n",
    "a: b\r\n",
    "\u{feff}a: b\n",
    // Found by fuzzing: libyaml-safer rejects a leading U+FFFD ("invalid
    // byte order marker"); the fast path had read it as a key.
    "\u{fffd}:\n  - a\n",
    "\u{fffd}\u{fffd}: b\n",
    "é: b\n",
    "a: &x 1\nb: *x\n",
    "a: &x 1\n",
    "a: *x\n",
    "- &x a\n",
    "- *x\n",
    "a: !!str 1\n",
    "a: !x 1\n",
    "- !!int 1\n",
    "---\na: 1\n",
    "a: 1\n---\nb: 2\n",
    "a: 1\n...\n",
    "%YAML 1.1\n---\na: 1\n",
    "? a\n: b\n",
    "? a\n",
    "- ? a\n  : b\n",
    "a: |2\n  x\n",
    "a: >1\n x\n",
    "a: |-2\n   x\n",
    "a: |+1\n x\n",
    "a: [&x 1]\n",
    "a: {b: *x}\n",
    "a: {? b: c}\n",
    "- - a\n",
    "a:\n  - - a\n",
];

#[test]
fn generated_texts_match() {
    let cases = generated();
    let (mut accepted, mut must) = (0, 0);
    let mut bad = Vec::new();
    let mut declined = Vec::new();
    for (t, take, label) in &cases {
        match check(t) {
            Ok(a) => {
                accepted += usize::from(a);
                if *take {
                    must += 1;
                    if !a {
                        declined.push(format!("{label}:\n{t}"));
                    }
                }
            }
            Err(e) => bad.push(e),
        }
    }
    eprintln!(
        "fast path took {accepted} of {} generated texts ({must} of them must be taken)",
        cases.len()
    );
    assert!(bad.is_empty(), "{} mismatches:\n\n{}", bad.len(), bad.join("\n\n"));
    assert!(
        declined.is_empty(),
        "{} texts of the subset declined:\n\n{}",
        declined.len(),
        declined.join("\n--\n")
    );
}

#[test]
fn declines_what_is_outside_the_subset() {
    for t in DECLINED {
        assert!(parse_fast(t).is_none(), "fast path took {t:?}");
        // And libyaml-safer (the fallback) still reads or rejects it.
        let _ = parse_libyaml(t);
    }
}

/// The characters the mutations insert and delete.
const ALPHABET: &[u8] = b": -#'\"\n{}[],|> ";

/// One random edit of `text`: delete or insert a character of
/// [`ALPHABET`] (or delete any character), re-indent a line, duplicate a
/// line, or join two lines.
fn mutate(rng: &mut fastrand::Rng, text: &str) -> String {
    let mut b: Vec<u8> = text.as_bytes().to_vec();
    if b.is_empty() {
        return String::new();
    }
    let lines: Vec<usize> = std::iter::once(0)
        .chain(b.iter().enumerate().filter(|(_, c)| **c == b'\n').map(|(k, _)| k + 1))
        .filter(|&k| k < b.len())
        .collect();
    let line_start = lines[rng.usize(..lines.len())];
    let line_end = b[line_start..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |k| line_start + k + 1);
    match rng.u8(..6) {
        0 => {
            // Delete a character of the alphabet (or any one, a tenth of the time).
            let spots: Vec<usize> = (0..b.len()).filter(|&k| ALPHABET.contains(&b[k])).collect();
            if !spots.is_empty() && rng.u8(..10) != 0 {
                b.remove(spots[rng.usize(..spots.len())]);
            } else {
                b.remove(rng.usize(..b.len()));
            }
        }
        1 => {
            let at = rng.usize(..=b.len());
            b.insert(at, ALPHABET[rng.usize(..ALPHABET.len())]);
        }
        2 => {
            let indent = b[line_start..line_end].iter().take_while(|&&c| c == b' ').count();
            let new = rng.usize(..9);
            b.splice(line_start..line_start + indent, std::iter::repeat_n(b' ', new));
        }
        3 => {
            let line = b[line_start..line_end].to_vec();
            b.splice(line_start..line_start, line);
        }
        4 => {
            if line_end > line_start && b[line_end - 1] == b'\n' && line_end < b.len() {
                b.remove(line_end - 1);
            }
        }
        _ => {
            // Insert a character of the alphabet right after a colon, dash
            // or indentation, where the subset's decisions are made.
            let spots: Vec<usize> = (0..b.len())
                .filter(|&k| matches!(b[k], b':' | b'-' | b'\n' | b'|' | b'>'))
                .collect();
            if let Some(&k) = spots.get(rng.usize(..spots.len().max(1))) {
                b.insert(k + 1, ALPHABET[rng.usize(..ALPHABET.len())]);
            }
        }
    }
    // Edits are of ASCII bytes at character boundaries, except deleting
    // any byte; the lossy conversion keeps that case valid UTF-8.
    String::from_utf8_lossy(&b).into_owned()
}

#[test]
fn mutated_files_match() {
    let files = files();
    // Short files, so a few thousand edits stay fast in a debug build.
    let small: Vec<&str> = files
        .iter()
        .map(|(_, t)| t.as_str())
        .filter(|t| t.len() <= 4096)
        .collect();
    assert!(small.len() > 20, "only {} small YAML files", small.len());
    let mut rng = fastrand::Rng::with_seed(0x5eed_0017);
    let (mut total, mut accepted) = (0, 0);
    let mut bad = Vec::new();
    for _ in 0..6000 {
        let mut t = small[rng.usize(..small.len())].to_owned();
        for _ in 0..=rng.usize(..3) {
            t = mutate(&mut rng, &t);
        }
        total += 1;
        match check(&t) {
            Ok(a) => accepted += usize::from(a),
            Err(e) => bad.push(e),
        }
    }
    eprintln!("fast path took {accepted} of {total} mutated texts");
    assert!(
        bad.is_empty(),
        "{} mismatches:\n\n{}",
        bad.len(),
        bad.iter().take(5).cloned().collect::<Vec<_>>().join("\n\n")
    );
    assert!(
        accepted * 4 >= total,
        "only {accepted} of {total} mutated texts accepted"
    );
}
