//! Table references of a Snowflake query, for `invalid-table-name`
//! (cli-and-settings §3 row 15).
//!
//! PAT parses the query with sqlfluff (Snowflake dialect) and checks every
//! `table_reference` that is not the name of a common table expression. We
//! do not need a full SQL grammar for that: a tokenizer that knows strings,
//! quoted identifiers and comments, plus the positions after `FROM` and
//! `JOIN` where a table may stand, finds the same names. Subqueries are
//! scanned like the outer query; `FROM` inside a function call
//! (`EXTRACT(year FROM ts)`) and `IS DISTINCT FROM` are not table positions;
//! table functions (`TABLE(...)`, `LATERAL FLATTEN(...)`) are not tables.

use std::collections::HashSet;

/// One table named by a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    /// The dotted name, lower-case, quotes removed.
    pub name: String,
    /// Where it starts in the query, in characters.
    pub offset: usize,
    /// How long it is as written, in characters.
    pub len: usize,
}

/// Whether a table name is fully qualified the way PAT requires:
/// `<db>.public.<table>` or `snowflake.account_usage.<view>`.
pub fn is_qualified(name: &str) -> bool {
    let lower = name.to_lowercase();
    let parts: Vec<&str> = lower.split('.').collect();
    parts.len() == 3
        && !parts.iter().any(|p| p.is_empty())
        && (parts[1] == "public" || (parts[0] == "snowflake" && parts[1] == "account_usage"))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// An identifier or keyword; `quoted` for `"..."`.
    Ident {
        text: String,
        quoted: bool,
    },
    Dot,
    Comma,
    Open,
    Close,
    /// Anything else: strings, numbers, operators.
    Other,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

fn tokenize(chars: &[char]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = chars.len();
    let at = |j: usize| chars.get(j).copied().unwrap_or('\0');
    while i < n {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '-' && at(i + 1) == '-' || c == '/' && at(i + 1) == '/' {
            while i < n && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && at(i + 1) == '*' {
            i += 2;
            while i < n && !(chars[i] == '*' && at(i + 1) == '/') {
                i += 1;
            }
            i = (i + 2).min(n);
            continue;
        }
        let tok = if c == '\'' {
            i += 1;
            while i < n {
                match chars[i] {
                    '\\' => i += 2,
                    '\'' if at(i + 1) == '\'' => i += 2,
                    '\'' => break,
                    _ => i += 1,
                }
            }
            i = (i + 1).min(n);
            Tok::Other
        } else if c == '$' && at(i + 1) == '$' {
            i += 2;
            while i < n && !(chars[i] == '$' && at(i + 1) == '$') {
                i += 1;
            }
            i = (i + 2).min(n);
            Tok::Other
        } else if c == '"' {
            let mut text = String::new();
            i += 1;
            while i < n {
                if chars[i] == '"' {
                    if at(i + 1) == '"' {
                        text.push('"');
                        i += 2;
                        continue;
                    }
                    break;
                }
                text.push(chars[i]);
                i += 1;
            }
            i = (i + 1).min(n);
            Tok::Ident { text, quoted: true }
        } else if c.is_alphabetic() || c == '_' {
            while i < n && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                i += 1;
            }
            Tok::Ident {
                text: chars[start..i].iter().collect(),
                quoted: false,
            }
        } else {
            i += 1;
            match c {
                '.' => Tok::Dot,
                ',' => Tok::Comma,
                '(' => Tok::Open,
                ')' => Tok::Close,
                _ => {
                    if c.is_ascii_digit() {
                        while i < n && (chars[i].is_alphanumeric() || chars[i] == '_') {
                            i += 1;
                        }
                    }
                    Tok::Other
                }
            }
        };
        out.push(Token { tok, start, end: i });
    }
    out
}

/// Words that end a table reference or its alias.
const KEYWORDS: &[&str] = &[
    "all",
    "and",
    "as",
    "asof",
    "at",
    "before",
    "by",
    "changes",
    "connect",
    "cross",
    "except",
    "fetch",
    "from",
    "full",
    "group",
    "having",
    "inner",
    "intersect",
    "join",
    "lateral",
    "left",
    "limit",
    "match_condition",
    "match_recognize",
    "minus",
    "natural",
    "not",
    "offset",
    "on",
    "or",
    "order",
    "outer",
    "pivot",
    "qualify",
    "right",
    "sample",
    "select",
    "start",
    "tablesample",
    "union",
    "unpivot",
    "using",
    "values",
    "where",
    "window",
    "with",
];

fn word(t: Option<&Token>) -> Option<String> {
    match t.map(|t| &t.tok) {
        Some(Tok::Ident { text, quoted: false }) => Some(text.to_ascii_lowercase()),
        _ => None,
    }
}

fn is_word(t: Option<&Token>, w: &str) -> bool {
    word(t).as_deref() == Some(w)
}

fn is_keyword(t: Option<&Token>) -> bool {
    word(t).is_some_and(|w| KEYWORDS.contains(&w.as_str()))
}

/// The index after the parenthesis that closes the one at `i`.
fn skip_parens(toks: &[Token], i: usize) -> usize {
    let mut depth = 0usize;
    let mut j = i;
    while j < toks.len() {
        match toks[j].tok {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    j
}

/// Whether a query is PantherFlow rather than SQL: it has a
/// `--pragma: pantherflow` comment line, or a pipe `|` (not `||`) that starts
/// a line outside strings and comments (`| where ...`). sqlfluff cannot parse
/// such a query, and PAT then skips the table-name check.
pub fn is_pantherflow(sql: &str) -> bool {
    let pragma = sql.lines().any(|l| {
        l.trim_start()
            .strip_prefix("--")
            .is_some_and(|c| c.trim_start().to_ascii_lowercase().starts_with("pragma: pantherflow"))
    });
    if pragma {
        return true;
    }
    let chars: Vec<char> = sql.chars().collect();
    let toks = tokenize(&chars);
    let pipe = |t: Option<&Token>| t.is_some_and(|t| t.tok == Tok::Other && chars.get(t.start) == Some(&'|'));
    toks.iter().enumerate().any(|(i, t)| {
        let prev = i.checked_sub(1).and_then(|j| toks.get(j));
        let line_start = prev.map_or(0, |p| p.end);
        pipe(Some(t))
            && !pipe(prev)
            && !pipe(toks.get(i + 1))
            && chars.get(line_start..t.start).is_some_and(|gap| gap.contains(&'\n'))
    })
}

/// Every table a query reads, in order, without CTE names.
pub fn table_references(sql: &str) -> Vec<TableRef> {
    let chars: Vec<char> = sql.chars().collect();
    let toks = tokenize(&chars);
    // Whether each token stands directly in a query (not inside a function
    // call's parentheses).
    let mut in_query = Vec::with_capacity(toks.len());
    let mut stack = vec![true];
    for (i, t) in toks.iter().enumerate() {
        match t.tok {
            Tok::Open => {
                in_query.push(*stack.last().unwrap_or(&true));
                let next = toks.get(i + 1);
                stack.push(is_word(next, "select") || is_word(next, "with"));
                continue;
            }
            Tok::Close if stack.len() > 1 => {
                stack.pop();
            }
            _ => {}
        }
        in_query.push(*stack.last().unwrap_or(&true));
    }
    let ctes = cte_names(&toks);
    let mut out = Vec::new();
    for i in 0..toks.len() {
        if !in_query.get(i).copied().unwrap_or(false) {
            continue;
        }
        let w = word(toks.get(i));
        match w.as_deref() {
            Some("from") => {
                let distinct = is_word(i.checked_sub(1).and_then(|j| toks.get(j)), "distinct");
                if !distinct {
                    from_items(&toks, i + 1, true, &ctes, &mut out);
                }
            }
            Some("join") => from_items(&toks, i + 1, false, &ctes, &mut out),
            _ => {}
        }
    }
    out
}

fn cte_names(toks: &[Token]) -> HashSet<String> {
    let mut names = HashSet::new();
    for i in 0..toks.len() {
        if !is_word(toks.get(i), "with") {
            continue;
        }
        let mut j = i + 1;
        if is_word(toks.get(j), "recursive") {
            j += 1;
        }
        while let Some(Token {
            tok: Tok::Ident { text, .. },
            ..
        }) = toks.get(j)
        {
            let name = text.to_lowercase();
            j += 1;
            if matches!(toks.get(j).map(|t| &t.tok), Some(Tok::Open)) {
                j = skip_parens(toks, j);
            }
            if !is_word(toks.get(j), "as") {
                break;
            }
            names.insert(name);
            j += 1;
            if !matches!(toks.get(j).map(|t| &t.tok), Some(Tok::Open)) {
                break;
            }
            j = skip_parens(toks, j);
            if !matches!(toks.get(j).map(|t| &t.tok), Some(Tok::Comma)) {
                break;
            }
            j += 1;
        }
    }
    names
}

/// Reads the table references of a `FROM` list (or one `JOIN` item).
fn from_items(toks: &[Token], mut i: usize, list: bool, ctes: &HashSet<String>, out: &mut Vec<TableRef>) {
    loop {
        if is_word(toks.get(i), "lateral") {
            i += 1;
        }
        match toks.get(i).map(|t| &t.tok) {
            Some(Tok::Open) => i = skip_parens(toks, i),
            Some(Tok::Ident { .. }) if !is_keyword(toks.get(i)) => {
                let start = i;
                let mut parts = Vec::new();
                loop {
                    match toks.get(i).map(|t| &t.tok) {
                        Some(Tok::Ident { text, quoted }) => {
                            parts.push(if *quoted { text.clone() } else { text.to_lowercase() });
                            i += 1;
                        }
                        // `db..table`: the default schema.
                        Some(Tok::Dot) => parts.push(String::new()),
                        _ => break,
                    }
                    if !matches!(toks.get(i).map(|t| &t.tok), Some(Tok::Dot)) {
                        break;
                    }
                    i += 1;
                }
                if matches!(toks.get(i).map(|t| &t.tok), Some(Tok::Open)) {
                    // A table function: `TABLE(...)`, `FLATTEN(...)`.
                    i = skip_parens(toks, i);
                } else {
                    let name = parts.join(".");
                    let single_cte = parts.len() == 1 && ctes.contains(&name.to_lowercase());
                    if !single_cte {
                        let first = toks[start].start;
                        let last = toks[i - 1].end;
                        out.push(TableRef {
                            name,
                            offset: first,
                            len: last - first,
                        });
                    }
                }
            }
            _ => return,
        }
        // Time travel, sampling, pivots and the alias.
        loop {
            let w = word(toks.get(i));
            let open_next = matches!(toks.get(i + 1).map(|t| &t.tok), Some(Tok::Open));
            match w.as_deref() {
                Some(
                    "at" | "before" | "changes" | "sample" | "tablesample" | "pivot" | "unpivot" | "match_recognize",
                ) if open_next => i = skip_parens(toks, i + 1),
                Some("as") => i += 1,
                _ => break,
            }
        }
        if matches!(toks.get(i).map(|t| &t.tok), Some(Tok::Ident { .. })) && !is_keyword(toks.get(i)) {
            i += 1;
            if matches!(toks.get(i).map(|t| &t.tok), Some(Tok::Open)) {
                i = skip_parens(toks, i);
            }
        }
        if list && matches!(toks.get(i).map(|t| &t.tok), Some(Tok::Comma)) {
            i += 1;
            continue;
        }
        return;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Vec<String> {
        table_references(sql).into_iter().map(|t| t.name).collect()
    }

    #[test]
    fn finds_from_and_join_tables() {
        assert_eq!(
            names("SELECT * FROM panther_logs.public.aws_cloudtrail c JOIN Foo.Bar b ON c.x = b.x"),
            ["panther_logs.public.aws_cloudtrail", "foo.bar"]
        );
        assert_eq!(names("select * from a, b as bb, c where 1"), ["a", "b", "c"]);
    }

    #[test]
    fn skips_ctes_subqueries_and_functions() {
        let sql = "WITH recent AS (SELECT * FROM db.public.t WHERE EXTRACT(year FROM ts) > 1), \
                   other (a) AS (SELECT 1) \
                   SELECT * FROM recent, LATERAL FLATTEN(input => recent.x) f \
                   JOIN (SELECT * FROM x.y) s ON a IS DISTINCT FROM b \
                   LEFT JOIN TABLE(result_scan(last_query_id())) r";
        assert_eq!(names(sql), ["db.public.t", "x.y"]);
    }

    #[test]
    fn ignores_strings_comments_and_quotes() {
        let sql = "-- FROM nope\nSELECT 'FROM nope' /* FROM nope */ FROM \"DB\".public.\"T\"";
        assert_eq!(names(sql), ["DB.public.T"]);
        let refs = table_references("SELECT 1 FROM a.b");
        assert_eq!((refs[0].offset, refs[0].len), (14, 3));
    }

    #[test]
    fn pantherflow_is_not_sql() {
        // What sqlfluff fails to parse (so PAT skips the table names), checked
        // by hand with PAT 1.11.1: a pipeline and the pragma.
        assert!(is_pantherflow(
            "panther_logs.public.okta\n| where x == 1\n| join kind=inner t=(s) on a"
        ));
        assert!(is_pantherflow("  --pragma: pantherflow\nlet base = t;"));
        assert!(is_pantherflow("-- Pragma: PantherFlow\nt"));
        // Parsed by sqlfluff, so checked: `|` inside a line, `||`, strings, comments.
        assert!(!is_pantherflow("select a | b from foo"));
        assert!(!is_pantherflow("select a\n  || b from foo"));
        assert!(!is_pantherflow("select '\n| x' from foo -- | y\n"));
        assert!(!is_pantherflow("select 1 -- pragma: pantherflow\nfrom foo"));
    }

    #[test]
    fn qualification() {
        assert!(is_qualified("panther_logs.public.aws_cloudtrail"));
        assert!(is_qualified("snowflake.account_usage.login_history"));
        assert!(!is_qualified("panther_logs.aws_cloudtrail"));
        assert!(!is_qualified("db.other.t"));
        assert!(!is_qualified("db..t"));
    }
}
