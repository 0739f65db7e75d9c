//! The one table of detection keys (derived-detections §2.2, §3, §4): the
//! value kind of each key, whether a derived detection may override it, and
//! the Python alert function of a base that decides it. The schema's list
//! of overridable keys, inheritance, `derive --set` and `show` read the
//! lists derived from it here.

/// The kind of value a key holds (how `derive --set` reads a value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `true`/`false`.
    Bool,
    /// A severity level.
    Level,
    /// An integer.
    Int,
    /// A string.
    Text,
    /// A list of strings.
    TextList,
    /// A mapping.
    Mapping,
    /// A list of mappings.
    List,
}

/// How a Python alert function of the base relates to a key (§4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// No function decides the key.
    None,
    /// A static key the function shadows, even when the derived file sets
    /// it (`derived-override-shadowed`).
    Shadows(&'static str),
    /// A dynamic key that, written in the derived file, wins over the
    /// function.
    Yields(&'static str),
}

impl Function {
    /// The function's name, if any.
    pub const fn name(self) -> Option<&'static str> {
        match self {
            Function::None => None,
            Function::Shadows(f) | Function::Yields(f) => Some(f),
        }
    }
}

/// One detection key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// The YAML key, as users write it.
    pub name: &'static str,
    /// Its value kind.
    pub kind: Kind,
    /// Whether a derived detection may override it (§2.2).
    pub overridable: bool,
    /// The Python alert function of a base that decides it.
    pub function: Function,
}

const fn key(name: &'static str, kind: Kind, overridable: bool, function: Function) -> Key {
    Key {
        name,
        kind,
        overridable,
        function,
    }
}

/// Every key this table knows: the overridable keys in the order a derived
/// file is written in (`derive`), then the logic keys that are always the
/// base's.
pub const KEYS: &[Key] = &[
    key("Enabled", Kind::Bool, true, Function::None),
    key("Severity", Kind::Level, true, Function::Shadows("severity")),
    key("Description", Kind::Text, true, Function::Shadows("description")),
    key("DisplayName", Kind::Text, true, Function::None),
    key("Runbook", Kind::Text, true, Function::Shadows("runbook")),
    key("Reference", Kind::Text, true, Function::Shadows("reference")),
    key("Tags", Kind::TextList, true, Function::None),
    key("Reports", Kind::Mapping, true, Function::None),
    key("SummaryAttributes", Kind::TextList, true, Function::None),
    key("OutputIds", Kind::TextList, true, Function::Shadows("destinations")),
    key("CreateAlert", Kind::Bool, true, Function::None),
    key("DedupPeriodMinutes", Kind::Int, true, Function::None),
    key("Threshold", Kind::Int, true, Function::None),
    key("OnlyUseBaseRiskScore", Kind::Bool, true, Function::None),
    key("InlineFilters", Kind::List, true, Function::None),
    key("DynamicSeverities", Kind::List, true, Function::Yields("severity")),
    key("AlertTitle", Kind::Text, true, Function::Yields("title")),
    key("AlertContext", Kind::List, true, Function::Yields("alert_context")),
    key("GroupBy", Kind::List, true, Function::Yields("dedup")),
    key("Tests", Kind::List, true, Function::None),
    key("Filename", Kind::Text, false, Function::None),
    key("LogTypes", Kind::TextList, false, Function::None),
    key("ScheduledQueries", Kind::TextList, false, Function::None),
    key("Detection", Kind::List, false, Function::None),
];

/// A key of the table.
pub fn get(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

const fn count_overridable() -> usize {
    let (mut i, mut n) = (0, 0);
    while i < KEYS.len() {
        if KEYS[i].overridable {
            n += 1;
        }
        i += 1;
    }
    n
}

const fn count_functions(shadowing_only: bool) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < KEYS.len() {
        match KEYS[i].function {
            Function::Shadows(_) => n += 1,
            Function::Yields(_) if !shadowing_only => n += 1,
            _ => {}
        }
        i += 1;
    }
    n
}

/// Keys a derived detection may override, in table order.
pub const OVERRIDABLE: [&str; count_overridable()] = {
    let mut out = [""; count_overridable()];
    let (mut i, mut j) = (0, 0);
    while i < KEYS.len() {
        if KEYS[i].overridable {
            out[j] = KEYS[i].name;
            j += 1;
        }
        i += 1;
    }
    out
};

/// (key, function) for every key a Python alert function of the base
/// decides, in table order.
pub const FUNCTION_OF: [(&str, &str); count_functions(false)] = {
    let mut out = [("", ""); count_functions(false)];
    let (mut i, mut j) = (0, 0);
    while i < KEYS.len() {
        if let Some(f) = KEYS[i].function.name() {
            out[j] = (KEYS[i].name, f);
            j += 1;
        }
        i += 1;
    }
    out
};

/// (key, function) for the static keys a function shadows even when the
/// derived file sets them (`derived-override-shadowed`).
pub const SHADOWED: [(&str, &str); count_functions(true)] = {
    let mut out = [("", ""); count_functions(true)];
    let (mut i, mut j) = (0, 0);
    while i < KEYS.len() {
        if let Function::Shadows(f) = KEYS[i].function {
            out[j] = (KEYS[i].name, f);
            j += 1;
        }
        i += 1;
    }
    out
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_consistent() {
        // Unique names, every one a filter key.
        for (i, k) in KEYS.iter().enumerate() {
            assert!(KEYS[..i].iter().all(|o| o.name != k.name), "{} twice", k.name);
            assert!(crate::filter::FILTER_KEYS.contains(&k.name), "{}", k.name);
            if let Some(f) = k.function.name() {
                assert!(crate::resolve::ALERT_FUNCTIONS.contains(&f), "{}: {f}", k.name);
                assert!(k.overridable, "{}: a decided key is overridable", k.name);
            }
        }
        // Overridable keys come first, so `derive` writes them in table order.
        let first_fixed = KEYS.iter().position(|k| !k.overridable).unwrap_or(KEYS.len());
        assert!(KEYS[first_fixed..].iter().all(|k| !k.overridable));
        // The lists of derived-detections §2.2 and §4, by hand.
        assert_eq!(
            OVERRIDABLE,
            [
                "Enabled",
                "Severity",
                "Description",
                "DisplayName",
                "Runbook",
                "Reference",
                "Tags",
                "Reports",
                "SummaryAttributes",
                "OutputIds",
                "CreateAlert",
                "DedupPeriodMinutes",
                "Threshold",
                "OnlyUseBaseRiskScore",
                "InlineFilters",
                "DynamicSeverities",
                "AlertTitle",
                "AlertContext",
                "GroupBy",
                "Tests",
            ]
        );
        assert_eq!(
            SHADOWED,
            [
                ("Severity", "severity"),
                ("Description", "description"),
                ("Runbook", "runbook"),
                ("Reference", "reference"),
                ("OutputIds", "destinations"),
            ]
        );
        let mut functions = FUNCTION_OF.to_vec();
        functions.sort_unstable();
        assert_eq!(
            functions,
            [
                ("AlertContext", "alert_context"),
                ("AlertTitle", "title"),
                ("Description", "description"),
                ("DynamicSeverities", "severity"),
                ("GroupBy", "dedup"),
                ("OutputIds", "destinations"),
                ("Reference", "reference"),
                ("Runbook", "runbook"),
                ("Severity", "severity"),
            ]
        );
        assert_eq!(get("Threshold").map(|k| k.kind), Some(Kind::Int));
        assert!(get("Filename").is_some_and(|k| !k.overridable));
    }
}
