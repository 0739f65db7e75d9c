#!/usr/bin/env python3
"""Generates CloudTrail-like JSON Lines for `scripts/bench_run.sh`.

Usage: gen_events.py --mb 1024 --out events.jsonl
       gen_events.py --events 250000 --out events.jsonl

Events spread over one week (p_event_time in Panther's format). About 90 %
are AWS.CloudTrail, the rest GCP.AuditLog and Okta.SystemLog, so routing by
log type matters. A fixed seed makes the file the same on every run.
"""

import argparse
import json
import random
import time

NAMES = [
    "GetObject", "PutObject", "ListBuckets", "DescribeInstances", "AssumeRole", "GetCallerIdentity",
    "ConsoleLogin", "CreateAccessKey", "PutBucketPolicy", "DeleteTrail", "StopLogging", "CreateUser",
    "AttachUserPolicy", "AuthorizeSecurityGroupIngress", "ModifyDBInstance", "GetSecretValue",
    "PutBucketAcl", "CreateLoginProfile", "UpdateAssumeRolePolicy", "DeleteBucket",
]


def cloudtrail(rng):
    name = rng.choice(NAMES) if rng.random() < 0.3 else rng.choice(NAMES[:6])
    root = rng.random() < 0.01
    acct = str(rng.randint(100000000000, 100000000050))
    user = f"user{rng.randint(1, 500)}"
    return {
        "p_log_type": "AWS.CloudTrail",
        "p_event_time": "{T}",
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "Root" if root else "IAMUser",
            "principalId": "AIDA" + str(rng.randint(10**9, 10**10)),
            "arn": f"arn:aws:iam::{acct}:" + ("root" if root else f"user/{user}"),
            "accountId": acct,
            "userName": user,
            "sessionContext": {"attributes": {"mfaAuthenticated": rng.choice(["true", "false"])}},
        },
        "eventSource": rng.choice(["s3.amazonaws.com", "iam.amazonaws.com", "ec2.amazonaws.com", "sts.amazonaws.com"]),
        "eventName": name,
        "awsRegion": rng.choice(["us-east-1", "eu-west-1", "ap-southeast-2"]),
        "sourceIPAddress": f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "userAgent": rng.choice(["aws-cli/2.15.0", "console.amazonaws.com", "Boto3/1.34.0"]),
        "requestParameters": {"bucketName": f"bucket-{rng.randint(1, 40)}", "key": f"data/{rng.randint(1, 10**6)}.csv"},
        "responseElements": None if rng.random() < 0.5 else {"ConsoleLogin": rng.choice(["Success", "Failure"])},
        "errorCode": rng.choice([None, None, None, "AccessDenied"]),
        "recipientAccountId": acct,
        "p_any_ip_addresses": [],
        "p_source_label": "cloudtrail-org",
    }


def gcp(rng):
    return {
        "p_log_type": "GCP.AuditLog",
        "p_event_time": "{T}",
        "protoPayload": {
            "methodName": rng.choice(["SetIamPolicy", "storage.buckets.create", "v1.compute.instances.insert"]),
            "authenticationInfo": {"principalEmail": f"svc{rng.randint(1, 50)}@example.iam.gserviceaccount.com"},
            "serviceName": rng.choice(["storage.googleapis.com", "iam.googleapis.com"]),
        },
        "severity": "NOTICE",
        "resource": {"type": "gcs_bucket", "labels": {"project_id": f"proj-{rng.randint(1, 9)}"}},
    }


def okta(rng):
    return {
        "p_log_type": "Okta.SystemLog",
        "p_event_time": "{T}",
        "eventType": rng.choice(["user.session.start", "user.account.lock", "system.api_token.create"]),
        "outcome": {"result": rng.choice(["SUCCESS", "FAILURE"])},
        "actor": {"type": "User", "alternateId": f"user{rng.randint(1, 300)}@example.com"},
        "client": {"ipAddress": f"198.51.100.{rng.randint(1, 254)}"},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=1024)
    ap.add_argument("--events", type=int, default=0, help="write this many events instead of --mb")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rng = random.Random(7)
    templates = []
    for _ in range(4000):
        r = rng.random()
        e = cloudtrail(rng) if r < 0.9 else gcp(rng) if r < 0.95 else okta(rng)
        templates.append(json.dumps(e, separators=(",", ":")).replace('"{T}"', '"%s"'))
    target = a.mb << 20
    week = 7 * 24 * 3600
    written = 0
    n = 0
    with open(a.out, "w") as f:
        buf = []
        while (n < a.events) if a.events else (written < target):
            t = 1717200000 + (n * 37) % week
            ms = n % 1000
            stamp = "%s.%03d" % (time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)), ms)
            line = templates[n % len(templates)] % stamp + "\n"
            buf.append(line)
            written += len(line)
            n += 1
            if len(buf) >= 10000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))
    print(n)


if __name__ == "__main__":
    main()
