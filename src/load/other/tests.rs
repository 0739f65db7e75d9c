//! Tests of the non-rule loaders.

use super::*;
use crate::load::LoadOptions;
use crate::source::FileId;

fn run_with(text: &str, opts: LoadOptions) -> (Other, Vec<crate::diagnostic::Diagnostic>) {
    let doc = crate::yaml::parse(text).expect("test YAML parses");
    let root = doc.root.expect("test YAML has a root");
    let ty = root
        .get("AnalysisType")
        .and_then(Node::as_str)
        .and_then(AnalysisType::from_name)
        .expect("test YAML has a type");
    let mut cx = Cx::new(FileId(0), opts);
    let other = load(&mut cx, &root, ty);
    (other, cx.diags)
}

fn run(text: &str) -> (Other, Vec<crate::diagnostic::Diagnostic>) {
    run_with(text, LoadOptions::default())
}

fn codes(text: &str) -> Vec<&'static str> {
    run(text).1.iter().map(|d| d.code.name()).collect()
}

const POLICY: &str = "\
AnalysisType: policy
PolicyID: AWS.IAM.MFA
Enabled: true
Filename: policy.py
Severity: High
ResourceTypes: [AWS.IAM.User, AWS.IAM.RootUser]
Suppressions: [a, b]
Tags: [AWS, CIS]
Reports:
  CIS: [1.1, '2']
Tests:
  - Name: one
    ExpectedResult: true
    ResourceType: AWS.IAM.User
    Resource: {Arn: x}
    Mocks:
      - objectName: f
        returnValue: 'true'
";

#[test]
fn valid_policy() {
    let (other, diags) = run(POLICY);
    assert!(diags.is_empty(), "{diags:#?}");
    assert_eq!(other.enabled, Some(true));
    assert_eq!(other.filename.map(|f| f.value).as_deref(), Some("policy.py"));
}

#[test]
fn policy_problems_are_all_reported() {
    let text = "\
AnalysisType: policy
PolicyID: X
DisplayName: A & B
Severity: Urgent
ResourceTypes: [AWS.IAM.RootUserz]
Suppressions: [a, a]
Tags: [aws, AWS]
Sevrity: High
Tests:
  - Name: t
    ExpectedResult: yes
    Log: {}
    DOG: lol
  - Name: t
    ExpectedResult: false
    Resource: null
";
    let (_, diags) = run(text);
    let got: Vec<_> = diags.iter().map(|d| d.code.name()).collect();
    for want in [
        "invalid-id",
        "invalid-value",
        "duplicate-value",
        "unknown-key",
        "missing-key",
        "wrong-type",
        "duplicate-test-name",
    ] {
        assert!(got.contains(&want), "{want} missing from {got:?}");
    }
    // Enabled, Filename missing at top level; Resource missing in the first test.
    assert_eq!(got.iter().filter(|c| **c == "missing-key").count(), 3, "{diags:#?}");
    assert_eq!(got.iter().filter(|c| **c == "duplicate-value").count(), 2);
    let typo = diags
        .iter()
        .find(|d| d.message.contains("`Sevrity`"))
        .expect("typo reported");
    assert_eq!(typo.help.as_deref(), Some("did you mean `Severity`?"));
    let rt = diags
        .iter()
        .find(|d| d.message.contains("RootUserz"))
        .expect("resource type reported");
    assert_eq!(rt.help.as_deref(), Some("did you mean `AWS.IAM.RootUser`?"));
}

#[test]
fn policy_extra_keys_and_severity_spelling() {
    let text = format!("{POLICY}Extra: 1\n").replace("Severity: High", "Severity: HIGH");
    assert_eq!(codes(&text), ["unknown-key", "severity-spelling"]);
    let opts = LoadOptions {
        ignore_extra_keys: true,
        ..LoadOptions::default()
    };
    let got: Vec<_> = run_with(&text, opts).1.iter().map(|d| d.code.name()).collect();
    assert_eq!(got, ["extra-key-ignored", "severity-spelling"]);
}

#[test]
fn globals_and_packs() {
    assert!(codes("AnalysisType: global\nGlobalID: g\nFilename: g.py\nTags: [a]\n").is_empty());
    assert_eq!(
        codes("AnalysisType: global\nGlobalID: g\nDescription: 3\nEnabled: true\n"),
        ["unknown-key", "missing-key", "wrong-type"]
    );
    // PAT accepts a repeated pack ID: a warning on the second `a`, pointing back at the first.
    let (other, diags) = run("AnalysisType: pack\nPackID: p\nPackDefinition:\n  IDs: [a, b, a]\n");
    assert_eq!(
        diags.iter().map(|d| d.code.name()).collect::<Vec<_>>(),
        ["duplicate-pack-id"]
    );
    assert_eq!(diags[0].severity(), crate::diagnostic::Severity::Warning);
    assert_eq!(
        (
            diags[0].primary.as_ref().map(|l| l.span.start.col),
            diags[0].related[0].span.start.col
        ),
        (Some(15), 9)
    );
    assert_eq!(other.pack_ids.len(), 3);
    assert_eq!(
        codes("AnalysisType: pack\nPackID: p\nPackDefinition:\n  Ids: [a]\n"),
        ["unknown-key", "missing-key"]
    );
    assert_eq!(codes("AnalysisType: pack\nPackID: p\n"), ["missing-key"]);
}

#[test]
fn data_models() {
    let text = "\
AnalysisType: datamodel
DataModelID: dm
Enabled: false
LogTypes: [A.B, A.B]
Mappings:
  - Name: ip
    Path: x
    Method: y
  - Name: user
  - Path: z
";
    let (other, diags) = run(text);
    let got: Vec<_> = diags.iter().map(|d| d.code.name()).collect();
    assert_eq!(got, ["duplicate-value", "exclusive-keys", "missing-key", "missing-key"]);
    assert_eq!(other.enabled, Some(false));
    assert_eq!(other.log_types.len(), 2);
}

const QUERY: &str = "\
AnalysisType: scheduled_query
QueryName: q
Enabled: true
Query: SELECT * FROM panther_logs.public.aws_cloudtrail
Schedule:
  RateMinutes: 10
  TimeoutMinutes: 5
";

#[test]
fn scheduled_queries() {
    assert!(codes(QUERY).is_empty());
    let bad = QUERY.replace("RateMinutes: 10", "RateMinutes: 1");
    assert_eq!(codes(&bad), ["invalid-schedule"]);
    let bad = QUERY.replace("RateMinutes: 10", "RateMinutes: 3");
    let (_, diags) = run(&bad);
    assert_eq!(diags[0].code, Code::InvalidSchedule);
    assert_eq!(diags[0].related.len(), 1);
    let bad = QUERY.replace("RateMinutes: 10", "RateMinutes: 10\n  CronExpression: '* * * * *'");
    assert_eq!(codes(&bad), ["invalid-schedule"]);
    let bad = QUERY.replace("  RateMinutes: 10\n", "");
    assert_eq!(codes(&bad), ["missing-key"]);
    let bad = QUERY.replace("Query:", "Querry:");
    assert_eq!(codes(&bad), ["unknown-key", "missing-key"]);
    let bad = QUERY.replace("Enabled: true\n", "EmailConfig: {SendEmpty: 1}\n");
    assert_eq!(codes(&bad), ["missing-key", "missing-key", "wrong-type"]);
}

#[test]
fn table_names_point_at_the_name() {
    let text = QUERY.replace("panther_logs.public.aws_cloudtrail", "panther_logs.aws_cloudtrail");
    let (_, diags) = run(&text);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let d = &diags[0];
    assert_eq!(d.code, Code::InvalidTableName);
    assert!(d.message.contains("`panther_logs.aws_cloudtrail`"));
    let span = d.primary.as_ref().map(|l| l.span).unwrap_or_default();
    // `Query: SELECT * FROM ` is 21 characters.
    assert_eq!((span.start.line, span.start.col, span.end.col), (4, 22, 49));
    let quoted = text.replace(
        "Query: SELECT * FROM panther_logs.aws_cloudtrail",
        "Query: 'SELECT * FROM x'",
    );
    let (_, diags) = run(&quoted);
    let span = diags[0].primary.as_ref().map(|l| l.span).unwrap_or_default();
    assert_eq!((span.start.col, span.end.col), (23, 24));
    // Saved queries are not checked, as in PAT.
    let saved = "AnalysisType: saved_query\nQueryName: s\nQuery: SELECT * FROM x\n";
    assert!(codes(saved).is_empty());
}

#[test]
fn saved_queries() {
    let text = "AnalysisType: saved_query\nQueryName: s\nAthenaQuery: a\nSnowflakeQuery: b\nLookback: true\n";
    assert!(codes(text).is_empty());
    let (_, diags) = run("AnalysisType: saved_query\nQueryName: s\nQuery: a\nSchedule: {}\n");
    assert_eq!(diags.len(), 1);
    assert!(diags[0].help.as_deref().is_some_and(|h| h.contains("scheduled_query")));
}

#[test]
fn lookup_tables() {
    let file = "\
AnalysisType: lookup_table
LookupName: lt
Enabled: true
Schema: Custom.Table
Refresh:
  ObjectPath: s3://b/k
  PeriodMinutes: 60
  RoleARN: arn
  AlarmPeriodMinutes: 2000
LogTypeMap:
  PrimaryKey: ip
  AssociatedLogTypes:
    - LogType: AWS.CloudTrail
      Selectors: [sourceIPAddress]
";
    assert_eq!(codes(file), ["invalid-value"]);
    let no_source = file.replace(
        "Refresh:\n  ObjectPath: s3://b/k\n  PeriodMinutes: 60\n  RoleARN: arn\n  AlarmPeriodMinutes: 2000\n",
        "",
    );
    assert_eq!(codes(&no_source), ["missing-key"]);
    let sql = "\
AnalysisType: lookup_table
LookupName: lt
Enabled: true
Query: SELECT 1
Schema: x
LogTypeMap:
  PrimaryKey: ip
";
    assert_eq!(codes(sql), ["unknown-key", "missing-key"]);
    let sql_ok = sql.replace("Schema: x\n", "Refresh:\n  CronExpression: '0 * * * *'\n");
    assert!(codes(&sql_ok).is_empty());
    let both = sql.replace("Schema: x\n", "Refresh: {PeriodMinutes: 5, CronExpression: x}\n");
    assert_eq!(codes(&both), ["exclusive-keys"]);
    let neither = sql.replace("Schema: x\n", "Refresh: {}\n");
    assert_eq!(codes(&neither), ["missing-key"]);
}

#[test]
fn scheduled_prompts() {
    let text = "\
AnalysisType: scheduled_prompt
PromptName: p
DisplayName: P
PromptText: hi
RunAsUser: ''
OutputLength: large
Private: true
Schedule:
  CronExpression: '0 9 * * 1'
  TimeoutMinutes: 10
";
    assert_eq!(codes(text), ["invalid-value", "invalid-value", "invalid-value"]);
    assert_eq!(
        codes("AnalysisType: scheduled_prompt\nPromptName: p\n"),
        ["missing-key", "missing-key", "missing-key", "missing-key"]
    );
}

#[test]
fn null_values_are_wrong_type_once() {
    let (_, diags) = run("AnalysisType: global\nGlobalID: g\nFilename:\n");
    assert_eq!(diags.iter().map(|d| d.code.name()).collect::<Vec<_>>(), ["wrong-type"]);
    let text = POLICY.replace("Severity: High", "AutoRemediationParameters:\nSeverity: High");
    assert!(codes(&text).is_empty());
}

/// Every file of PAT's mixed fixture folder of the types loaded here must
/// reach the verdict of the corpus (cli-and-settings §3; corpus README §(a)).
#[test]
fn corpus_detections() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let Ok(text) = std::fs::read_to_string(root.join("expectations.json")) else {
        eprintln!("corpus not found at {}; skipping", root.display());
        return;
    };
    let json: serde_json::Value = serde_json::from_str(&text).expect("expectations.json parses");
    let files = json["files"].as_array().expect("files is a list");
    let mut checked = 0;
    let mut invalid_seen = 0;
    for f in files {
        let path = f["path"].as_str().unwrap_or_default();
        if !path.starts_with("pat-fixtures/detections/") || !path.ends_with(".yml") {
            continue;
        }
        // Folder-level verdicts (the pack) come from cross-file checks.
        if f["invalid_scope"].as_str() == Some("folder") {
            continue;
        }
        let Ok(src) = std::fs::read_to_string(root.join(path)) else {
            continue;
        };
        let loaded = crate::load::load_file(FileId(0), Some(&src), LoadOptions::default());
        let Some(a) = &loaded.analysis else { continue };
        if a.analysis_type.value.id_key() == "RuleID" {
            continue;
        }
        let errors: Vec<_> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity() == crate::diagnostic::Severity::Error)
            .collect();
        let valid = f["expect_valid"].as_bool().unwrap_or(true);
        invalid_seen += usize::from(!valid);
        if valid {
            assert!(errors.is_empty(), "{path} should be valid: {errors:#?}");
        } else {
            assert!(!errors.is_empty(), "{path} should be invalid");
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} corpus files checked");
    assert_eq!(invalid_seen, 4, "the four invalid policies");
}
