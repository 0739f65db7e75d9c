//! `detect show` and `detect derive` on fixture repositories, and `derive`
//! over every Simple Detection of the shared corpus.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::{copy_dir, corpus, fixture, json, run_in};

/// Copies a folder tree (a fixture or a corpus folder) into a new temporary
/// directory, so commands that write never touch the originals.
fn copy_tree(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("create a temporary folder");
    copy_dir(from, dir.path());
    dir
}

fn show_json(dir: &Path, id: &str, extra: &[&str]) -> Value {
    let mut args = vec!["show", id, "--format", "json"];
    args.extend(extra);
    let (code, stdout, stderr) = run_in(dir, &args);
    assert_eq!(code, 0, "{stderr}");
    json(&stdout)
}

fn field<'a>(v: &'a Value, key: &str) -> (&'a Value, &'a str) {
    let f = &v["fields"][key];
    (&f["value"], f["source"].as_str().unwrap_or("<absent>"))
}

// `detect show`.

#[test]
fn show_json_of_a_derived_detection_names_each_source() {
    let v = show_json(&fixture("derived"), "Derived.Login.Failed.Prod", &[]);
    assert_eq!(v["id"], "Derived.Login.Failed.Prod");
    assert_eq!(v["file"], "rules/login/login_failed_prod.yml");
    assert_eq!(
        v["base"],
        serde_json::json!({"id": "Derived.Login.Failed", "file": "rules/login/login_failed.yml"})
    );
    assert_eq!(v["auto_disabled"], false);
    assert_eq!(
        field(&v, "RuleID"),
        (&Value::from("Derived.Login.Failed.Prod"), "derived")
    );
    assert_eq!(
        field(&v, "BaseDetection"),
        (&Value::from("Derived.Login.Failed"), "derived")
    );
    assert_eq!(field(&v, "Severity"), (&Value::from("High"), "derived"));
    assert_eq!(field(&v, "Enabled"), (&Value::from(true), "derived"));
    assert_eq!(field(&v, "LogTypes"), (&serde_json::json!(["Okta.SystemLog"]), "base"));
    assert_eq!(field(&v, "Threshold"), (&Value::from(5), "base"));
    assert_eq!(
        field(&v, "Tags"),
        (&serde_json::json!(["Identity", "Initial Access"]), "base")
    );
    assert_eq!(field(&v, "InlineFilters").1, "base");
    assert_eq!(field(&v, "Detection").1, "base");
    assert_eq!(field(&v, "Tests").1, "base");
    assert_eq!(field(&v, "CreateAlert"), (&Value::from(true), "default"));
    assert_eq!(field(&v, "Reference"), (&Value::from(""), "default"));
    let keys: Vec<&str> = v["fields"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(&keys[..3], ["AnalysisType", "RuleID", "BaseDetection"]);
}

#[test]
fn show_json_of_a_plain_detection_has_no_base() {
    let v = show_json(&fixture("derived"), "Derived.Login.Failed", &[]);
    assert_eq!(v["base"], Value::Null);
    assert_eq!(v["file"], "rules/login/login_failed.yml");
    // Two enabled derived detections are uploaded with it.
    assert_eq!(v["auto_disabled"], true);
    let fields = v["fields"].as_object().unwrap();
    assert!(
        fields
            .values()
            .all(|f| f["source"] == "derived" || f["source"] == "default")
    );
    assert_eq!(field(&v, "Severity"), (&Value::from("Medium"), "derived"));
    assert_eq!(field(&v, "Reports"), (&serde_json::json!({}), "default"));
}

#[test]
fn show_auto_disabled_follows_the_selection() {
    // Only the base is selected: no derived detection asks to disable it.
    let v = show_json(
        &fixture("derived"),
        "Derived.Login.Failed",
        &["--filter", "RuleID=Derived.Login.Failed"],
    );
    assert_eq!(v["auto_disabled"], false);
    // Filters see effective values: the lab detection inherits `Severity:
    // Medium` and `Enabled: true`, so it is selected and disables the base.
    let v = show_json(
        &fixture("derived"),
        "Derived.Login.Failed",
        &["--filter", "Severity=Medium"],
    );
    assert_eq!(v["auto_disabled"], true);
    let v = show_json(&fixture("derived"), "Derived.S3.PublicRead", &[]);
    assert_eq!(v["auto_disabled"], true);
}

#[test]
fn show_of_an_unknown_id_exits_1_with_a_suggestion() {
    let (code, stdout, stderr) = run_in(&fixture("derived"), ["show", "Derived.Login.Faild"]);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert!(stderr.contains("did you mean `Derived.Login.Failed`?"), "{stderr}");
}

#[test]
fn show_yaml_reads_back_as_the_json_values() {
    let dir = fixture("derived");
    let (code, yaml, _) = run_in(&dir, ["show", "Derived.S3.PublicRead.Tuned", "--format", "yaml"]);
    assert_eq!(code, 0);
    let root = detect::yaml::parse(&yaml).unwrap().root.unwrap();
    let v = show_json(&dir, "Derived.S3.PublicRead.Tuned", &[]);
    let from_json: serde_json::Map<String, Value> = v["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, f)| (k.clone(), f["value"].clone()))
        .collect();
    assert_eq!(root.to_json().unwrap(), Value::Object(from_json));
    assert!(yaml.contains("DynamicSeverities:  # derived\n"), "{yaml}");
}

#[test]
fn show_human_lists_sources_and_alert_precedence() {
    let dir = fixture("derived");
    let (_, prod, _) = run_in(&dir, ["show", "Derived.Login.Failed.Prod"]);
    let (_, tuned, _) = run_in(&dir, ["show", "Derived.S3.PublicRead.Tuned"]);
    let (_, lab, _) = run_in(&dir, ["show", "Derived.Login.Failed.Lab"]);
    let alert_part = |s: &str| s[s.find("alert fields").unwrap()..].to_owned();
    insta::assert_snapshot!(format!(
        "{}\n{}\n{}",
        alert_part(&prod),
        alert_part(&tuned),
        lab.lines().take(6).collect::<Vec<_>>().join("\n")
    ));
}

// `detect derive`.

#[test]
fn derive_writes_a_file_that_validates_and_inherits_the_tests() {
    let dir = copy_tree(&fixture("derived"));
    let (code, stdout, stderr) = run_in(
        dir.path(),
        ["derive", "Derived.Login.Failed", "--set", "Severity=critical"],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr, "");
    let path = dir.path().join("rules/login/Derived.Login.Failed.Derived.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    insta::assert_snapshot!("derived_file", text);
    insta::assert_snapshot!("derive_output", stdout);

    let (code, stdout, _) = run_in(dir.path(), ["validate", "--format", "json"]);
    assert_eq!(code, 0);
    let report = json(&stdout);
    assert_eq!(report["diagnostics"], serde_json::json!([]), "{stdout}");

    let (code, stdout, _) = run_in(dir.path(), ["test", "--format", "json"]);
    assert_eq!(code, 0, "{stdout}");
    let report = json(&stdout);
    let item = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "Derived.Login.Failed.Derived")
        .unwrap();
    assert_eq!(item["status"], "passed");
    assert_eq!(item["base"], "Derived.Login.Failed");
    let tests = item["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 4);
    assert!(
        tests
            .iter()
            .all(|t| t["inherited_from"] == "Derived.Login.Failed" && t["status"] == "passed")
    );
    // The static override applies; the base's `DynamicSeverities` still
    // win where they match (derived-detections §4).
    let severity = |name: &str| {
        let t = tests.iter().find(|t| t["name"] == name).unwrap();
        let f = t["functions"].as_array().unwrap();
        f.iter().find(|f| f["name"] == "severity").unwrap()["output"].clone()
    };
    assert_eq!(severity("failed login"), "CRITICAL");
    assert_eq!(severity("failed admin login"), "HIGH");

    let v = show_json(dir.path(), "Derived.Login.Failed.Derived", &[]);
    assert_eq!(field(&v, "Severity"), (&Value::from("Critical"), "derived"));
    assert_eq!(field(&v, "Enabled"), (&Value::from(true), "derived"));
    assert_eq!(field(&v, "Tests").1, "base");
}

#[test]
fn derive_disable_base_changes_exactly_one_line() {
    let dir = copy_tree(&fixture("derived"));
    let base = dir.path().join("rules/s3/s3_public_read.yml");
    let before = std::fs::read_to_string(&base).unwrap();
    let (code, stdout, stderr) = run_in(
        dir.path(),
        [
            "derive",
            "Derived.S3.PublicRead",
            "--id",
            "Derived.S3.PublicRead.Team",
            "--disable-base",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let after = std::fs::read_to_string(&base).unwrap();
    let (b, a): (Vec<&str>, Vec<&str>) = (before.lines().collect(), after.lines().collect());
    assert_eq!(b.len(), a.len());
    let changed: Vec<(&&str, &&str)> = b.iter().zip(&a).filter(|(x, y)| x != y).collect();
    assert_eq!(changed, [(&"Enabled: true", &"Enabled: false")]);
    assert!(stdout.contains("-Enabled: true\n+Enabled: false\n"), "{stdout}");
    // The generated file is still clean: it writes its own `Enabled`.
    let (code, stdout, _) = run_in(dir.path(), ["validate", "--format", "json"]);
    assert_eq!(code, 0);
    let report = json(&stdout);
    let on_new: Vec<&Value> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["file"] == "rules/s3/Derived.S3.PublicRead.Team.yml")
        .collect();
    assert!(on_new.is_empty(), "{on_new:?}");
}

#[test]
fn derive_of_a_python_base_notes_the_alert_functions() {
    let dir = copy_tree(&fixture("derived"));
    let (code, _, stderr) = run_in(
        dir.path(),
        ["derive", "Derived.S3.PublicRead", "--set", "Runbook=Call the owner"],
    );
    assert_eq!(code, 0);
    // `Runbook` is the fifth line of the new file, after `AnalysisType`,
    // `RuleID`, `BaseDetection` and `Enabled`.
    assert!(
        stderr.contains(
            "rules/s3/Derived.S3.PublicRead.Derived.yml:5:1: warning[derived-override-shadowed]: `Runbook` has no effect"
        ),
        "{stderr}"
    );
    let text = std::fs::read_to_string(dir.path().join("rules/s3/Derived.S3.PublicRead.Derived.yml")).unwrap();
    assert!(
        text.contains("# AlertTitle:  # replaces the base's title()\n"),
        "{text}"
    );
    assert!(
        text.contains("# Severity: Medium  # no effect: the base's severity() decides\n"),
        "{text}"
    );
    let (code, stdout, _) = run_in(dir.path(), ["test", "--format", "json", "--no-python"]);
    assert_eq!(code, 0);
    let report = json(&stdout);
    let item = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "Derived.S3.PublicRead.Derived")
        .unwrap();
    assert_eq!(
        (&item["status"], &item["reason"]),
        (&Value::from("skipped"), &Value::from("python rule"))
    );
}

#[test]
fn derive_refuses_to_overwrite_without_force() {
    let dir = copy_tree(&fixture("derived"));
    let out = dir.path().join("custom.yml");
    let args = ["derive", "Derived.Login.Failed", "--out", "custom.yml"];
    assert_eq!(run_in(dir.path(), args).0, 0);
    std::fs::write(&out, "# edited by hand\n").unwrap();
    let (code, _, stderr) = run_in(dir.path(), args);
    assert_eq!(code, 1);
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "# edited by hand\n");
    let (code, _, stderr) = run_in(dir.path(), [&args[..], &["--force"]].concat());
    assert_eq!(code, 0, "{stderr}");
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("AnalysisType: rule\n")
    );
}

#[test]
fn derive_dry_run_writes_nothing() {
    let dir = copy_tree(&fixture("derived"));
    let base = dir.path().join("rules/login/login_failed.yml");
    let before = std::fs::read_to_string(&base).unwrap();
    let (code, stdout, _) = run_in(
        dir.path(),
        [
            "derive",
            "Derived.Login.Failed",
            "--dry-run",
            "--disable-base",
            "--set",
            "Tags=Identity,Prod",
        ],
    );
    assert_eq!(code, 0);
    assert!(stdout.starts_with("would write rules/login/Derived.Login.Failed.Derived.yml:\nAnalysisType: rule\n"));
    assert!(
        stdout.contains("would set `Enabled: false` in rules/login/login_failed.yml"),
        "{stdout}"
    );
    assert!(stdout.contains("+RuleID: Derived.Login.Failed.Derived\n+BaseDetection: Derived.Login.Failed\n"));
    assert!(!dir.path().join("rules/login/Derived.Login.Failed.Derived.yml").exists());
    assert_eq!(std::fs::read_to_string(&base).unwrap(), before);
}

#[test]
fn derive_rejects_what_it_cannot_do() {
    let dir = copy_tree(&fixture("derived"));
    let code = |args: &[&str]| {
        let mut all = vec!["derive"];
        all.extend(args);
        let (code, stdout, stderr) = run_in(dir.path(), &all);
        (code, format!("{stdout}{stderr}"))
    };
    // Not a local rule: exit 1.
    let (c, out) = code(&["Derived.Login.Faild"]);
    assert_eq!(c, 1);
    assert!(out.contains("did you mean `Derived.Login.Failed`?"), "{out}");
    let (c, out) = code(&["Derived.Login.Failed.Prod"]);
    assert_eq!(c, 1);
    assert!(out.contains("derive from `Derived.Login.Failed` instead"), "{out}");
    // Bad flags: exit 2.
    for bad in [
        &["Derived.Login.Failed", "--set", "LogTypes=AWS.CloudTrail"][..],
        &["Derived.Login.Failed", "--set", "Severity=Urgent"],
        &["Derived.Login.Failed", "--set", "Threshold=0"],
        &["Derived.Login.Failed", "--id", "Derived.Login.Failed.Prod"],
        &["Derived.Login.Failed", "--id", "a<b"],
    ] {
        let (c, out) = code(bad);
        assert_eq!(c, 2, "{bad:?}: {out}");
    }
    let written: Vec<PathBuf> = walk(dir.path())
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".Derived"))
        .collect();
    assert!(written.is_empty(), "{written:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read a folder") {
        let p = entry.expect("read a folder entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Corpus folders that hold Simple Detections.
const SIMPLE_SETS: &[&str] = &[
    "panther-analysis/simple",
    "panther-analysis/history/simple",
    "pat-fixtures/simple-detections/valid",
];

/// `(RuleID, relative path)` of every Simple Detection rule
/// (`AnalysisType: rule` with `Detection`, not derived) under a folder.
fn simple_rules(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for path in walk(dir) {
        let ext = path.extension().and_then(|e| e.to_str());
        if !matches!(ext, Some("yml" | "yaml")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read a corpus file");
        let Ok(doc) = detect::yaml::parse(&text) else { continue };
        let Some(root) = doc.root else { continue };
        let is_rule = root.get("AnalysisType").and_then(|n| n.as_str()) == Some("rule");
        if is_rule && root.get("Detection").is_some() && root.get("BaseDetection").is_none() {
            let id = root
                .get("RuleID")
                .and_then(|n| n.as_str())
                .expect("a RuleID")
                .to_owned();
            let rel = path
                .strip_prefix(dir)
                .expect("a path below the folder")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((id, rel));
        }
    }
    out
}

#[test]
fn derive_every_corpus_simple_detection_validates_and_passes_inherited_tests() {
    let Some(corpus) = corpus() else { return };
    let text = std::fs::read_to_string(corpus.join("expectations.json")).unwrap();
    let exp: Value = serde_json::from_str(&text).unwrap();
    // Suspect fixtures (corpus README; tests/cli/conformance.rs SUSPECT)
    // fail for the base as well; their inherited copies are skipped here.
    let suspect: BTreeSet<(String, String)> = exp["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            let path = f["path"].as_str().unwrap().to_owned();
            f["tests"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| t["suspect"] == true)
                .map(move |t| (path.clone(), t["name"].as_str().unwrap().to_owned()))
        })
        .collect();
    let flags = ["--all-dirs", "--ignore-extra-keys"];
    let mut derived_count = 0;
    let mut inherited_passed = 0;
    let mut problems = Vec::new();
    for set in SIMPLE_SETS {
        let dir = copy_tree(&corpus.join(set));
        let rules = simple_rules(dir.path());
        let mut generated: BTreeMap<String, String> = BTreeMap::new();
        for (id, rel) in &rules {
            let (code, _, stderr) = run_in(dir.path(), [&["derive", id.as_str(), "."][..], &flags].concat());
            if code != 0 || !stderr.is_empty() {
                problems.push(format!("{set}/{rel}: derive exited {code}: {stderr}"));
                continue;
            }
            generated.insert(format!("{id}.Derived"), rel.clone());
        }
        derived_count += generated.len();
        let files: BTreeSet<String> = generated
            .keys()
            .map(|new_id| {
                let rel = &generated[new_id];
                let parent = Path::new(rel).parent().unwrap().to_string_lossy().replace('\\', "/");
                if parent.is_empty() {
                    format!("{new_id}.yml")
                } else {
                    format!("{parent}/{new_id}.yml")
                }
            })
            .collect();
        let (_, stdout, _) = run_in(
            dir.path(),
            [&["validate", ".", "--format", "json"][..], &flags].concat(),
        );
        let report = json(&stdout);
        for d in report["diagnostics"].as_array().unwrap() {
            let on_generated = d["file"].as_str().is_some_and(|f| files.contains(f));
            if on_generated && d["severity"] != "info" {
                problems.push(format!("{set}: {d}"));
            }
        }
        let (_, stdout, _) = run_in(dir.path(), [&["test", ".", "--format", "json"][..], &flags].concat());
        let report = json(&stdout);
        for item in report["items"].as_array().unwrap() {
            let Some(rel) = item["id"].as_str().and_then(|id| generated.get(id)) else {
                continue;
            };
            let base_path = format!("{set}/{rel}");
            let tests = item["tests"].as_array().unwrap();
            if item["status"] == "skipped" && item["reason"] == "no tests" {
                continue;
            }
            for t in tests {
                let name = t["name"].as_str().unwrap();
                assert_eq!(t["inherited_from"], item["base"], "{base_path}: {name}");
                if suspect.contains(&(base_path.clone(), name.to_owned())) {
                    continue;
                }
                if t["status"] == "passed" {
                    inherited_passed += 1;
                } else {
                    problems.push(format!("{base_path}: inherited test {name:?} is {}", t["status"]));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // 81 Simple Detection rules (three corpus files are scheduled rules) and
    // about 200 evaluable tests besides the suspect ones.
    assert!(derived_count >= 80, "only {derived_count} derived detections");
    assert!(
        inherited_passed >= 190,
        "only {inherited_passed} inherited tests passed"
    );
}

#[test]
fn derive_warnings_have_a_code_and_a_place_as_in_validate() {
    let dir = copy_tree(&fixture("derived"));
    // `derive Derived.Login.Failed --id Derived.Login.Failed.Team --dry-run`
    // with more flags.
    let derive = |more: &[&str]| {
        let args = [
            "derive",
            "Derived.Login.Failed",
            "--id",
            "Derived.Login.Failed.Team",
            "--dry-run",
        ];
        run_in(dir.path(), args.iter().chain(more))
    };
    // The lab detection writes no `Enabled`; its `BaseDetection` is line 4.
    let (code, _, stderr) = derive(&["--disable-base"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr,
        "rules/login/login_failed_lab.yml:4:1: warning[derived-inherits-disabled]: `Derived.Login.Failed.Lab` \
         writes no `Enabled` and stops running with its base; add `Enabled: true` to it\n  |\n\
         4 | BaseDetection: Derived.Login.Failed\n  | ^^^^^^^^^^^^^\n"
    );

    // A base with errors: a warning about no place in a file.
    let base = dir.path().join("rules/login/login_failed.yml");
    let text = std::fs::read_to_string(&base).unwrap();
    assert!(text.contains("\nSeverity: Medium\n"), "{text}");
    std::fs::write(&base, text.replace("\nSeverity: Medium\n", "\nSeverity: Urgent\n")).unwrap();
    let (code, _, stderr) = derive(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr,
        "warning[derived-base-invalid]: `Derived.Login.Failed` has errors (rules/login/login_failed.yml): \
         its derived detections are not tested until they are fixed\n"
    );
}
