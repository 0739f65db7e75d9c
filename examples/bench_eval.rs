//! Micro-benchmark: evaluations per second of a compiled 20-node match
//! expression against a CloudTrail-like event, on one thread.
//!
//! `cargo run --release --example bench_eval`

use std::time::Instant;

use detect::engine::Program;
use detect::load::{LoadOptions, load_file};
use detect::source::FileId;

const RULE: &str = r#"
AnalysisType: rule
RuleID: Bench.Twenty.Nodes
Enabled: true
LogTypes: [AWS.CloudTrail]
Severity: High
InlineFilters:
  - KeyPath: eventSource
    Condition: EndsWith
    Value: .amazonaws.com
Detection:
  - KeyPath: eventSource
    Condition: Equals
    Value: iam.amazonaws.com
  - KeyPath: eventName
    Condition: IsIn
    Values: [CreateUser, CreateAccessKey, AttachUserPolicy, PutUserPolicy, CreateLoginProfile, UpdateLoginProfile, AddUserToGroup, CreateRole, AttachRolePolicy, PutRolePolicy]
  - Any:
      - KeyPath: userIdentity.type
        Condition: IEquals
        Value: root
      - All:
          - KeyPath: userIdentity.arn
            Condition: IContains
            Value: ":user/admin"
          - KeyPath: sourceIPAddress
            Condition: IsIPAddressPublic
  - None:
      - KeyPath: errorCode
        Condition: IsNotNullOrEmpty
      - KeyPath: userAgent
        Condition: StartsWith
        Value: "aws-internal"
  - KeyPath: requestParameters.policyArn
    Condition: DoesNotEndWith
    Value: ReadOnlyAccess
  - KeyPath: recipientAccountId
    Condition: IsNotIn
    Values: ["000000000000"]
  - KeyPath: resources
    Condition: AnyElement
    Expressions:
      - Key: type
        Condition: Equals
        Value: AWS::IAM::User
  - KeyPath: sourceIPAddress
    Condition: IsIPAddressNotInCIDR
    Value: 10.0.0.0/8
"#;

const EVENT: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/Admin-Kim","accountId":"123456789012","userName":"Admin-Kim"},"eventTime":"2024-06-01T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"AttachUserPolicy","awsRegion":"us-east-1","sourceIPAddress":"8.8.8.8","userAgent":"aws-cli/2.15.0","requestParameters":{"userName":"bob","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"},"responseElements":null,"resources":[{"type":"AWS::IAM::Policy","ARN":"x"},{"type":"AWS::IAM::User","ARN":"y"}],"recipientAccountId":"123456789012"}"#;

#[expect(clippy::print_stdout, reason = "a benchmark prints its numbers")]
fn main() {
    let loaded = load_file(FileId(0), Some(RULE), LoadOptions::default());
    let Some(a) = loaded.analysis else { return };
    let Some(rule) = a.rule() else { return };
    let program = Program::compile(a.id_str(), rule, true);
    let Ok(event) = serde_json::from_str::<serde_json::Value>(EVENT) else {
        return;
    };
    assert!(program.matches(&event), "the benchmark event must match");
    let mut miss = event.clone();
    miss["eventName"] = "ListUsers".into();
    if std::env::var_os("BENCH_EACH").is_some() {
        for (i, e) in rule.detection.iter().flatten().enumerate() {
            let mut single = rule.clone();
            single.detection = Some(vec![e.clone()]);
            single.inline_filters = None;
            let p = Program::compile("x", &single, true);
            let start = Instant::now();
            for _ in 0..200_000 {
                std::hint::black_box(p.matches(std::hint::black_box(&event)));
            }
            println!(
                "expression {i}: {:.0} ns",
                start.elapsed().as_secs_f64() * 1e9 / 200_000.0
            );
        }
    }
    let n = 2_000_000u32;
    for (label, e) in [("matching event", &event), ("non-matching event", &miss)] {
        let start = Instant::now();
        let mut hits = 0u32;
        for _ in 0..n {
            hits += u32::from(program.matches(std::hint::black_box(e)));
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{label}: {n} evaluations in {secs:.3} s = {:.2} M evaluations/s ({:.0} ns each, {hits} hits)",
            f64::from(n) / secs / 1e6,
            secs * 1e9 / f64::from(n)
        );
    }
}
