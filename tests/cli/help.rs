//! Every command's `--help` lists the flags that apply to it and no flag
//! that does nothing for it (the table below was written from what each
//! command reads, not from the help output).

use std::collections::BTreeSet;

use crate::util::{detect, root, run};

/// The options a help text lists: the `-x`/`--name` tokens that start its
/// option lines.
fn shown_flags(help: &str) -> BTreeSet<String> {
    let mut flags = BTreeSet::new();
    for line in help.lines() {
        let t = line.trim_start();
        if !t.starts_with('-') || line.len() == t.len() {
            continue;
        }
        for word in t.split_whitespace() {
            let word = word.trim_end_matches(',').trim_end_matches("...");
            if !word.starts_with('-') {
                break;
            }
            flags.insert(word.split(['=', '[']).next().unwrap_or(word).to_owned());
        }
    }
    flags
}

/// Loading flags of a command that reads detections.
const LOADING: &[&str] = &[
    "--path",
    "--config",
    "--ignore-files",
    "--filter",
    "--all-dirs",
    "--ignore-extra-keys",
    "--no-ignore-extra-keys",
    "--ignore-table-names",
    "--no-ignore-table-names",
    "--valid-table-names",
];
/// The report flags, the same for every command that prints a report.
const REPORT: &[&str] = &[
    "-q",
    "--quiet",
    "-v",
    "--verbose",
    "--format",
    "--color",
    "--output",
    "--jobs",
    "--deny-warnings",
];
/// The test step of `test`, `zip`, `upload`.
const TEST_STEP: &[&str] = &[
    "--strict",
    "--minimum-tests",
    "--skip-disabled-tests",
    "--no-skip-disabled-tests",
    "--show-failures-only",
    "--no-show-failures-only",
    "--sort-test-results",
    "--no-sort-test-results",
];
/// The bundle flags of `zip` and `upload`.
const BUNDLE: &[&str] = &[
    "--skip-tests",
    "--no-skip-tests",
    "--out",
    "--auto-disable-base",
    "--no-auto-disable-base",
];
const API: &[&str] = &["--api-token", "--api-host"];

struct Case {
    command: &'static [&'static str],
    must: Vec<&'static str>,
    must_not: Vec<&'static str>,
}

fn all(groups: &[&[&'static str]], extra: &[&'static str]) -> Vec<&'static str> {
    groups
        .iter()
        .flat_map(|g| g.iter().copied())
        .chain(extra.iter().copied())
        .collect()
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            command: &["validate"],
            must: all(&[LOADING, REPORT, API], &["--remote"]),
            // --strict changes nothing without tests.
            must_not: all(&[TEST_STEP, BUNDLE], &["--test-names", "--explain", "--remote-bases"]),
        },
        Case {
            command: &["test"],
            must: all(
                &[LOADING, REPORT, TEST_STEP, API],
                &["--test-names", "--explain", "--remote-bases"],
            ),
            must_not: all(&[BUNDLE], &["--remote", "--dry-run"]),
        },
        Case {
            command: &["zip"],
            must: all(&[LOADING, REPORT, TEST_STEP, BUNDLE], &[]),
            // zip makes no network call.
            must_not: all(&[API], &["--remote", "--test-names", "--explain", "--dry-run"]),
        },
        Case {
            command: &["upload"],
            must: all(
                &[LOADING, REPORT, TEST_STEP, BUNDLE, API],
                &["--dry-run", "--batch", "--max-retries", "--timeout"],
            ),
            must_not: vec!["--remote", "--test-names", "--explain"],
        },
        Case {
            command: &["show"],
            must: all(&[LOADING, API], &["--format", "--remote", "-v"]),
            must_not: vec![
                "--quiet",
                "--color",
                "--output",
                "--strict",
                "--deny-warnings",
                "--jobs",
            ],
        },
        Case {
            command: &["derive"],
            must: all(
                &[API],
                &[
                    "--path",
                    "--config",
                    "--ignore-files",
                    "--ignore-extra-keys",
                    "--id",
                    "--out",
                    "--set",
                    "--dry-run",
                    "--remote",
                    "-v",
                    "--format",
                ],
            ),
            // One base, named by its ID: nothing to select.
            must_not: vec![
                "--filter",
                "--quiet",
                "--color",
                "--output",
                "--strict",
                "--deny-warnings",
            ],
        },
        Case {
            command: &["fmt"],
            must: vec![
                "--path",
                "--config",
                "--ignore-files",
                "--filter",
                "--all-dirs",
                "--check",
                "--diff",
                "--format",
            ],
            // fmt rewrites the layout and checks no detection.
            must_not: all(
                &[API, TEST_STEP],
                &[
                    "--ignore-extra-keys",
                    "--no-ignore-extra-keys",
                    "--ignore-table-names",
                    "--no-ignore-table-names",
                    "--valid-table-names",
                    "--quiet",
                    "--output",
                    "--deny-warnings",
                ],
            ),
        },
        Case {
            command: &["check-connection"],
            must: all(&[API], &["--config", "-v"]),
            must_not: vec!["--filter", "--path", "--format", "--quiet", "--strict", "--output"],
        },
        Case {
            command: &["delete"],
            must: all(
                &[API],
                &["--config", "--analysis-id", "--query-id", "--no-confirm", "--dry-run"],
            ),
            must_not: vec!["--filter", "--path", "--format", "--quiet", "--strict", "--output"],
        },
        Case {
            command: &["run"],
            must: all(
                &[LOADING],
                &["--events", "--strict", "--jobs", "-q", "-v", "--deliver", "--format"],
            ),
            must_not: all(&[API], &["--output", "--deny-warnings", "--minimum-tests"]),
        },
        Case {
            command: &["alerts", "deliver"],
            must: all(&[LOADING], &["--dry-run", "--force", "--destination", "--format"]),
            must_not: all(&[API, REPORT], &[])
                .into_iter()
                .filter(|f| *f != "--format")
                .collect(),
        },
        Case {
            command: &["alerts", "resend"],
            must: vec![
                "--path",
                "--config",
                "--alert-id",
                "--destination",
                "--all-failed",
                "--force",
                "--format",
            ],
            // Resending reads the settings and the delivery log, no detections.
            must_not: vec!["--filter", "--ignore-files", "--all-dirs", "--ignore-extra-keys"],
        },
        Case {
            command: &["alerts", "test"],
            must: vec!["--path", "--config", "--no-retry"],
            must_not: vec![
                "--filter",
                "--ignore-files",
                "--all-dirs",
                "--valid-table-names",
                "--format",
            ],
        },
        Case {
            command: &["python-env"],
            must: vec![
                "--python",
                "--force",
                "--print-hash",
                "--pip-arg",
                "--panther-core",
                "--config",
            ],
            must_not: vec![
                "--filter",
                "--ignore-files",
                "--quiet",
                "--format",
                "--jobs",
                "--strict",
            ],
        },
        Case {
            command: &["alerts", "log"],
            must: vec![
                "--path",
                "--config",
                "--failed",
                "--alert-id",
                "--destination",
                "--format",
            ],
            must_not: vec![
                "--filter",
                "--ignore-files",
                "--all-dirs",
                "--ignore-table-names",
                "--quiet",
            ],
        },
        Case {
            command: &["lsp"],
            must: vec!["-v", "--verbose", "--stdio"],
            // The workspace folder and its settings file decide the rest.
            must_not: all(
                &[LOADING, API],
                &["--format", "--output", "--quiet", "--jobs", "--deny-warnings"],
            ),
        },
    ]
}

#[test]
fn every_command_shows_the_flags_that_apply_to_it_and_no_other() {
    let mut problems = Vec::new();
    for case in cases() {
        let (code, stdout, stderr) = run({
            let mut c = detect(&root());
            c.args(case.command).arg("--help");
            c
        });
        assert_eq!(code, 0, "{:?}: {stderr}", case.command);
        let shown = shown_flags(&stdout);
        assert!(
            shown.contains("--help"),
            "{:?}: no options found in\n{stdout}",
            case.command
        );
        for f in &case.must {
            if !shown.contains(*f) {
                problems.push(format!("{:?} does not show {f}", case.command));
            }
        }
        for f in &case.must_not {
            if shown.contains(*f) {
                problems.push(format!("{:?} shows {f}", case.command));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn shown_flags_reads_option_lines_only() {
    let help = "Usage: detect x [OPTIONS]\n\nOptions:\n  -q, --quiet          Print less\n      --format <FORMAT>  The --strict format\n      --color=<WHEN>\n  -v, --verbose...\n";
    let shown: Vec<String> = shown_flags(help).into_iter().collect();
    assert_eq!(shown, ["--color", "--format", "--quiet", "--verbose", "-q", "-v"]);
}
