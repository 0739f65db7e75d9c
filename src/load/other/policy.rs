//! Policies: `POLICY_SCHEMA` of PAT 1.7.0 (see the parent module).

use std::collections::HashMap;

use super::{Field, Kind, first_here, mapping_items, opt, reports, req, required_string, value};
use crate::diagnostic::{Code, did_you_mean};
use crate::load::Cx;
use crate::load::rule::{mocks, severity};
use crate::model::AnalysisType;
use crate::source::Span;
use crate::yaml::Node;

/// `POLICY_SCHEMA`.
pub(super) const POLICY: &[Field] = &[
    req("AnalysisType", Kind::Skip),
    req("PolicyID", Kind::Skip),
    req("Enabled", Kind::Bool),
    req("Filename", Kind::Str),
    opt("ResourceTypes", Kind::Custom),
    req("Severity", Kind::Custom),
    opt("ActionDelaySeconds", Kind::Int),
    opt("AutoRemediationID", Kind::Str),
    opt("AutoRemediationParameters", Kind::Any),
    opt("Description", Kind::Str),
    opt("DisplayName", Kind::Name),
    opt("OnlyUseBaseRiskScore", Kind::Bool),
    opt("OutputIds", Kind::Set),
    opt("CreatedBy", Kind::Str),
    opt("Reference", Kind::Str),
    opt("Runbook", Kind::Str),
    opt("Status", Kind::Str),
    opt("Suppressions", Kind::Set),
    opt("Tags", Kind::TagSet),
    opt("Reports", Kind::Custom),
    opt("Tests", Kind::Custom),
    opt("BaseVersion", Kind::Int),
];

/// Keys of rules that policies do not have, with what to do instead.
const RULE_ONLY: &[(&str, &str)] = &[
    ("LogTypes", "policies scan cloud resources: use `ResourceTypes`"),
    (
        "Detection",
        "policies are written in Python (`Filename`); Simple Detections are rules",
    ),
    ("RuleID", "a policy's ID key is `PolicyID`"),
];

/// The AWS resource types PAT accepts in `ResourceTypes`: the alternatives of
/// `RESOURCE_TYPE_REGEX` in `panther_analysis_tool/schemas.py` (PAT 1.7.0).
pub const RESOURCE_TYPES: &[&str] = &[
    "AWS.ACM.Certificate",
    "AWS.CloudFormation.Stack",
    "AWS.CloudTrail.Meta",
    "AWS.CloudTrail",
    "AWS.CloudWatch.LogGroup",
    "AWS.Config.Recorder.Meta",
    "AWS.Config.Recorder",
    "AWS.DynamoDB.Table",
    "AWS.EC2.AMI",
    "AWS.EC2.Instance",
    "AWS.EC2.NetworkACL",
    "AWS.EC2.SecurityGroup",
    "AWS.EC2.Volume",
    "AWS.EC2.VPC",
    "AWS.ECS.Cluster",
    "AWS.EKS.Cluster",
    "AWS.ELBV2.ApplicationLoadBalancer",
    "AWS.GuardDuty.Detector.Meta",
    "AWS.GuardDuty.Detector",
    "AWS.IAM.Group",
    "AWS.IAM.Policy",
    "AWS.IAM.Role",
    "AWS.IAM.RootUser",
    "AWS.IAM.User",
    "AWS.KMS.Key",
    "AWS.Lambda.Function",
    "AWS.PasswordPolicy",
    "AWS.RDS.Instance",
    "AWS.Redshift.Cluster",
    "AWS.Route53.HostedZone",
    "AWS.Route53Domains",
    "AWS.S3.Bucket",
    "AWS.WAF.Regional.WebACL",
    "AWS.WAF.WebACL",
];

/// Keys of a policy test.
const TEST_KEYS: &[&str] = &["Name", "ExpectedResult", "Resource", "ResourceType", "Mocks"];

/// Loads a policy.
pub(super) fn load(cx: &mut Cx, root: &Node) {
    super::fields(cx, root, AnalysisType::Policy, POLICY, RULE_ONLY);
    if let Some(n) = value(root, "Severity") {
        severity(cx, n);
    }
    if let Some(n) = value(root, "ResourceTypes") {
        resource_types(cx, n);
    }
    if let Some(n) = value(root, "Reports") {
        reports(cx, n);
    }
    if let Some(n) = value(root, "Tests") {
        tests(cx, n);
    }
}

fn resource_types(cx: &mut Cx, n: &Node) {
    let Some(items) = cx.string_list(n, "ResourceTypes") else {
        return;
    };
    for item in &items {
        if RESOURCE_TYPES.contains(&item.value.as_str()) {
            continue;
        }
        let d = cx.report(
            Code::InvalidValue,
            item.span,
            format!("`{}` is not a resource type PAT knows", item.value),
        );
        d.help = Some(
            did_you_mean(&item.value, RESOURCE_TYPES.iter().copied()).unwrap_or_else(|| {
                "policies scan the AWS resource types of PAT's fixed list, e.g. `AWS.S3.Bucket`".to_owned()
            }),
        );
    }
}

fn tests(cx: &mut Cx, n: &Node) {
    // Test names seen so far and where: a hash map keeps the check linear.
    let mut names: HashMap<String, Span> = HashMap::new();
    for item in mapping_items(cx, n, "Tests") {
        for (k, _) in item.as_map().unwrap_or(&[]) {
            let name = k.key_text().unwrap_or_default();
            if TEST_KEYS.contains(&name.as_str()) {
                continue;
            }
            let help = if name == "Log" {
                Some("policy tests give the resource under `Resource`".to_owned())
            } else {
                did_you_mean(&name, TEST_KEYS.iter().copied())
            };
            cx.report(Code::UnknownKey, k.span, format!("unknown key `{name}` in a test"))
                .help = Some(help.unwrap_or_else(|| format!("allowed keys: {}", TEST_KEYS.join(", "))));
        }
        let name = required_string(cx, item, "Name", "a test");
        match item.get("ExpectedResult") {
            Some(v) => {
                cx.boolean(v, "ExpectedResult");
            }
            None => cx.missing(item, "ExpectedResult", "a test"),
        }
        if item.get("Resource").is_none() {
            cx.missing(item, "Resource", "a test");
        }
        if let Some(v) = item.get("ResourceType") {
            cx.string(v, "ResourceType");
        }
        if let Some(v) = item.get("Mocks") {
            mocks(cx, v);
        }
        if let Some(name) = name {
            if let Some(first) = names.get(&name.value) {
                let label = first_here(cx, *first);
                cx.report(
                    Code::DuplicateTestName,
                    name.span,
                    format!("two tests are named `{}`", name.value),
                )
                .related
                .push(label);
            } else {
                names.insert(name.value, name.span);
            }
        }
    }
}
