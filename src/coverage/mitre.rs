//! `Reports: MITRE ATT&CK:` entries: `TA0001:T1078`, `TA0006:T1110.003`
//! (tactic and technique, the form panther-analysis uses) or a bare
//! `T1078` (a technique under every tactic it belongs to), and the
//! Enterprise tactics they name.

/// The key of `Reports` that holds ATT&CK mappings.
pub const REPORTS_KEY: &str = "MITRE ATT&CK";

/// An Enterprise ATT&CK tactic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tactic {
    /// `TA0001`.
    pub id: &'static str,
    /// The short name the Navigator uses in a layer's `tactic` field,
    /// `initial-access`.
    pub shortname: &'static str,
    /// `Initial Access`.
    pub name: &'static str,
}

const fn tactic(id: &'static str, shortname: &'static str, name: &'static str) -> Tactic {
    Tactic { id, shortname, name }
}

/// The Enterprise ATT&CK tactics, in matrix order.
pub const TACTICS: &[Tactic] = &[
    tactic("TA0043", "reconnaissance", "Reconnaissance"),
    tactic("TA0042", "resource-development", "Resource Development"),
    tactic("TA0001", "initial-access", "Initial Access"),
    tactic("TA0002", "execution", "Execution"),
    tactic("TA0003", "persistence", "Persistence"),
    tactic("TA0004", "privilege-escalation", "Privilege Escalation"),
    tactic("TA0005", "defense-evasion", "Defense Evasion"),
    tactic("TA0006", "credential-access", "Credential Access"),
    tactic("TA0007", "discovery", "Discovery"),
    tactic("TA0008", "lateral-movement", "Lateral Movement"),
    tactic("TA0009", "collection", "Collection"),
    tactic("TA0011", "command-and-control", "Command and Control"),
    tactic("TA0010", "exfiltration", "Exfiltration"),
    tactic("TA0040", "impact", "Impact"),
];

/// One entry: a technique, under a tactic or under all of its tactics.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mapping {
    /// `T1078` or `T1110.003`.
    pub technique: String,
    /// The tactic, when the entry names one.
    pub tactic: Option<Tactic>,
}

/// Whether `s` is `T` and four digits, optionally `.` and three digits.
fn is_technique(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: &[u8]| r.iter().all(u8::is_ascii_digit);
    match b {
        [b'T', rest @ ..] if rest.len() == 4 => digits(rest),
        [b'T', rest @ ..] if rest.len() == 8 && rest[4] == b'.' => digits(&rest[..4]) && digits(&rest[5..]),
        _ => false,
    }
}

/// Reads one entry.
///
/// # Errors
/// What is wrong with it, as a message fragment: an unknown tactic, a
/// technique that is not `T####` or `T####.###`, another shape.
pub fn parse(entry: &str) -> Result<Mapping, String> {
    let entry = entry.trim();
    let (tactic, technique) = match entry.split_once(':') {
        Some((ta, t)) => (Some(ta.trim()), t.trim()),
        None => (None, entry),
    };
    let tactic = match tactic {
        None => None,
        Some(ta) => Some(*TACTICS.iter().find(|t| t.id == ta).ok_or_else(|| {
            if ta.len() == 6 && ta.starts_with("TA") && ta[2..].bytes().all(|b| b.is_ascii_digit()) {
                format!("`{ta}` is not an Enterprise ATT&CK tactic")
            } else {
                format!("`{ta}` is not a tactic ID (`TA` and four digits, e.g. `TA0001`)")
            }
        })?),
    };
    if !is_technique(technique) {
        return Err(format!(
            "`{technique}` is not a technique ID (`T1078` or a sub-technique such as `T1110.003`)"
        ));
    }
    Ok(Mapping {
        technique: technique.to_owned(),
        tactic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_of_real_repositories_parse() {
        let m = parse("TA0006:T1110.003").unwrap();
        assert_eq!(
            (m.technique.as_str(), m.tactic.map(|t| t.shortname)),
            ("T1110.003", Some("credential-access"))
        );
        let m = parse("TA0001:T1078").unwrap();
        assert_eq!(m.tactic.map(|t| t.name), Some("Initial Access"));
        assert_eq!(
            parse(" T1078 ").unwrap(),
            Mapping {
                technique: "T1078".to_owned(),
                tactic: None
            }
        );
        assert_eq!(parse("TA0040: T1485").unwrap().technique, "T1485");
    }

    #[test]
    fn malformed_entries_say_what_is_wrong() {
        // `TA003:T1556` is in panther-analysis (a digit short).
        assert!(parse("TA003:T1556").unwrap_err().contains("`TA003` is not a tactic ID"));
        assert!(
            parse("TA0099:T1556")
                .unwrap_err()
                .contains("not an Enterprise ATT&CK tactic")
        );
        assert!(parse("TA0001:T15").unwrap_err().contains("`T15` is not a technique ID"));
        assert!(parse("TA0001:T1556.1").is_err());
        assert!(parse("Initial Access").is_err());
        assert!(parse("").is_err());
        assert!(parse("TA0001:").is_err());
    }

    #[test]
    fn tactic_ids_and_names_are_unique() {
        for (i, t) in TACTICS.iter().enumerate() {
            assert!(TACTICS[..i].iter().all(|o| o.id != t.id && o.shortname != t.shortname));
        }
        assert_eq!(TACTICS.len(), 14);
    }
}
