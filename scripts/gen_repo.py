#!/usr/bin/env python3
"""Generates a repository of Simple Detections for benchmarks.

Usage: scripts/gen_repo.py --count N --out DIR

Writes DIR/.pat-root and N rule files under DIR/rules/<source>_rules/. Every
rule is valid per shared/spec (simple-detections, match-expressions) and has:
five Detection expressions (one a nested `Any`, one `IsIn` with a list, one
`KeyPath` with `[*]`), `AlertTitle`, `AlertContext`, `GroupBy` and three
tests with `Log` events, the first expecting `true`, the other two `false`.
Output is deterministic: the same N gives byte-identical files.
"""

import argparse
import os
import sys

# Per source: log type, the fields its events use, the service value and
# event names. Field names follow the real log types loosely; what matters
# for a benchmark is shape and variety, not fidelity.
SOURCES = [
    dict(name="aws_cloudtrail", log_type="AWS.CloudTrail", svc_key="eventSource",
         svc="iam.amazonaws.com", event_key="eventName",
         events=["CreateUser", "AttachUserPolicy", "PutRolePolicy"],
         actor_type="userIdentity.type", actor_id="userIdentity.arn",
         admin_type="Root", user_type="IAMUser", resources="resources",
         res_type="AWS::IAM::Role", ip_key="sourceIPAddress", account_key="recipientAccountId"),
    dict(name="okta", log_type="Okta.SystemLog", svc_key="eventCategory",
         svc="user.lifecycle", event_key="eventType",
         events=["user.lifecycle.create", "user.account.privilege.grant", "group.user_membership.add"],
         actor_type="actor.type", actor_id="actor.alternateId",
         admin_type="SuperAdmin", user_type="User", resources="target",
         res_type="AppInstance", ip_key="clientIpAddress", account_key="tenantId"),
    dict(name="github", log_type="GitHub.Audit", svc_key="category",
         svc="repo", event_key="action",
         events=["repo.access", "repo.add_member", "protected_branch.destroy"],
         actor_type="actorRole.kind", actor_id="actorRole.login",
         admin_type="OrgOwner", user_type="Member", resources="targets",
         res_type="Repository", ip_key="actorIp", account_key="org"),
    dict(name="gcp_audit", log_type="GCP.AuditLog", svc_key="serviceName",
         svc="iam.googleapis.com", event_key="methodName",
         events=["SetIamPolicy", "CreateServiceAccountKey", "CreateRole"],
         actor_type="principal.kind", actor_id="principal.email",
         admin_type="Owner", user_type="Viewer", resources="resources",
         res_type="serviceAccount", ip_key="callerIp", account_key="projectId"),
    dict(name="azure_signin", log_type="Azure.Audit", svc_key="category",
         svc="SignInLogs", event_key="operationName",
         events=["Sign-in activity", "Add member to role", "Reset password"],
         actor_type="identity.kind", actor_id="identity.upn",
         admin_type="GlobalAdministrator", user_type="Guest", resources="targetResources",
         res_type="Role", ip_key="callerIpAddress", account_key="tenantId"),
    dict(name="slack", log_type="Slack.AuditLogs", svc_key="context.type",
         svc="workspace", event_key="action",
         events=["user_channel_join", "role_change_to_admin", "file_downloaded"],
         actor_type="actor.role", actor_id="actor.email",
         admin_type="PrimaryOwner", user_type="Member", resources="entities",
         res_type="channel", ip_key="ipAddress", account_key="enterpriseId"),
    dict(name="zoom", log_type="Zoom.Operation", svc_key="categoryType",
         svc="User", event_key="operation",
         events=["Add", "Update", "Delete"],
         actor_type="operatorRole.name", actor_id="operator",
         admin_type="Owner", user_type="Member", resources="objects",
         res_type="user", ip_key="clientIp", account_key="accountId"),
    dict(name="onelogin", log_type="OneLogin.Events", svc_key="eventCategory",
         svc="user", event_key="eventTypeName",
         events=["USER_CREATED", "PRIVILEGE_GRANTED", "MFA_REMOVED"],
         actor_type="actor.kind", actor_id="actor.userName",
         admin_type="SuperUser", user_type="Standard", resources="targets",
         res_type="privilege", ip_key="ipaddr", account_key="accountId"),
]

SEVERITIES = ["Info", "Low", "Medium", "High", "Critical"]


def nested(path, value):
    """A flow-style JSON object for a dotted path set to value."""
    head, _, rest = path.partition(".")
    inner = nested(rest, value) if rest else value
    return '{"%s": %s}' % (head, inner)


def merge_objects(*parts):
    """Joins the members of flow objects `{...}` written by `nested`.

    Members sharing a first key are merged one level deep, which is all the
    paths above need.
    """
    import json
    out = {}
    for p in parts:
        obj = json.loads(p)
        for k, v in obj.items():
            if k in out and isinstance(out[k], dict) and isinstance(v, dict):
                out[k].update(v)
            else:
                out[k] = v
    return json.dumps(out)


def event(src, i, *, event_name, actor_type, actor_id, ip):
    q = '"%s"'
    return merge_objects(
        nested(src["svc_key"], q % src["svc"]),
        nested(src["event_key"], q % event_name),
        nested(src["actor_type"], q % actor_type),
        nested(src["actor_id"], q % actor_id),
        '{"%s": [{"type": "%s", "id": "res-%d-a"}, {"type": "Other", "id": "res-%d-b"}]}'
        % (src["resources"], src["res_type"], i, i),
        nested(src["ip_key"], q % ip),
        nested(src["account_key"], q % ("acct-%06d" % i)),
    )


def rule(src, i):
    cap = "".join(w.capitalize() for w in src["name"].split("_"))
    rule_id = "Bench.%s.Rule%05d" % (cap, i)
    severity = SEVERITIES[i % len(SEVERITIES)]
    events = src["events"] + ["Op%05d" % i]
    admin_suffix = "/admin-%05d" % i
    hit = event(src, i, event_name=events[0], actor_type=src["admin_type"],
                actor_id="principal-%05d" % i, ip="8.8.%d.%d" % (i // 256 % 256, i % 256))
    private_ip = event(src, i, event_name=events[1], actor_type=src["admin_type"],
                       actor_id="principal-%05d" % i, ip="10.0.%d.%d" % (i // 256 % 256, i % 256))
    plain_user = event(src, i, event_name=events[2], actor_type=src["user_type"],
                       actor_id="user-%05d" % i, ip="1.1.%d.%d" % (i // 256 % 256, i % 256))
    values = "\n".join("      - %s" % quote(e) for e in events)
    return f"""AnalysisType: rule
RuleID: {rule_id}
DisplayName: "Bench {src['name']} privileged change {i}"
Enabled: {"false" if i % 10 == 9 else "true"}
LogTypes:
  - {src['log_type']}
Severity: {severity}
Description: >
  Generated rule {i} for benchmarks: a privileged actor changes an
  {src['res_type']} from a public address.
Runbook: Check whether the change in {src['log_type']} was planned.
Reference: https://example.com/runbooks/bench/{i}
Tags:
  - Bench
  - {cap}
Reports:
  MITRE ATT&CK:
    - TA0004:T1078
DedupPeriodMinutes: 60
Threshold: 1
Detection:
  - KeyPath: {src['svc_key']}
    Condition: Equals
    Value: {quote(src['svc'])}
  - KeyPath: {src['event_key']}
    Condition: IsIn
    Values:
{values}
  - Any:
      - KeyPath: {src['actor_type']}
        Condition: Equals
        Value: {src['admin_type']}
      - KeyPath: {src['actor_id']}
        Condition: IEndsWith
        Value: "{admin_suffix}"
  - KeyPath: {src['resources']}[*].type
    Condition: Contains
    Value: {quote(src['res_type'])}
  - KeyPath: {src['ip_key']}
    Condition: IsIPAddressPublic
AlertTitle: "{{{src['actor_id']}}} ran {{{src['event_key']}}} on {{{src['resources']}[0].id}}"
AlertContext:
  - KeyName: ip
    KeyValue:
      KeyPath: {src['ip_key']}
  - KeyName: account
    KeyValue:
      DeepKey: [{src['account_key']}]
  - KeyName: resources
    KeyValue:
      KeyPath: {src['resources']}[*].id
GroupBy:
  - KeyPath: {src['actor_id']}
  - KeyPath: {src['account_key']}
Tests:
  - Name: privileged actor from a public address
    ExpectedResult: true
    Log: {hit}
  - Name: privileged actor from a private address
    ExpectedResult: false
    Log: {private_ip}
  - Name: ordinary user
    ExpectedResult: false
    Log: {plain_user}
"""


def quote(s):
    """A double-quoted YAML scalar (the values here have no `"` or `\\`)."""
    return '"%s"' % s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, required=True, help="number of rules")
    ap.add_argument("--out", required=True, help="repository folder to create")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    open(os.path.join(args.out, ".pat-root"), "w").close()
    for src in SOURCES:
        os.makedirs(os.path.join(args.out, "rules", src["name"] + "_rules"), exist_ok=True)
    for i in range(args.count):
        src = SOURCES[i % len(SOURCES)]
        path = os.path.join(args.out, "rules", src["name"] + "_rules",
                            "%s_rule_%05d.yml" % (src["name"], i))
        with open(path, "w") as f:
            f.write(rule(src, i))
    print("gen_repo: %d rules in %s" % (args.count, args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
