#!/usr/bin/env python3
"""Generates CloudTrail-shaped JSON Lines for `scripts/bench_sigma.sh`.

Usage: gen_cloudtrail_events.py --sigma DIR [--events 250000] [--match 0.03]
                                [--seed 7] --out events.jsonl

Every line is one AWS CloudTrail record of about 1.3 KB, as Panther stores
it (`p_log_type: AWS.CloudTrail`, `p_event_time`, `p_any_*` fields), so that
`detect run` routes it to the converted rules and a Sigma engine sees the
same fields. A share `--match` of the events (3 % by default) is built from
the `detection` selections of the Sigma rules under `--sigma`: the rules
take turns, each event picks one way to satisfy its rule's condition (one
value of each list, one of the `1 of selection_*`), fills the selected fields
(`contains` values inside other text, `startswith`/`endswith` at the ends,
wildcards replaced) into a background record, and is kept only when the
script's own small Sigma evaluator agrees that the rule matches it. The other
events are background: read-only and routine calls (`Describe*`, `Get*`,
`List*`) from the same event sources, so the rules are looked up but do not
fire, and about 1 % near misses (a rule's event with its `eventName` changed).
With `--case-variants SHARE`, that share of the built events has the case of
the strings it filled in swapped: Sigma matches them (it compares strings
case-insensitively) and the converted Panther rules do not (`Equals`,
`Contains` are case-sensitive), so the two engines differ on purpose.

Only the standard library: the Sigma files are read with a small YAML reader
that knows the subset Sigma rules use in `detection` (block mappings, block
and flow lists of scalars, quoted and plain scalars). A rule that cannot be
satisfied this way (a `|re`, a `|fieldref`, keywords) gets no events, and is
named on stderr. Prints the number of events written; the per-rule number of
built events goes to stderr. A fixed seed gives the same file on every run.
"""

import argparse
import fnmatch
import json
import pathlib
import random
import re
import sys
import time

# ---------------------------------------------------------------- YAML subset


def scalar(text):
    """A YAML plain or quoted scalar, as Sigma rules write them."""
    t = text.strip()
    if not t or t == "~" or t == "null":
        return None
    if t[0] == "'" and t.endswith("'") and len(t) >= 2:
        return t[1:-1].replace("''", "'")
    if t[0] == '"' and t.endswith('"') and len(t) >= 2:
        return json.loads(t)
    if t in ("true", "True"):
        return True
    if t in ("false", "False"):
        return False
    if re.fullmatch(r"-?[0-9]+", t):
        return int(t)
    return t


def strip_comment(line):
    """Drops a ` #` comment outside quotes."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def split_key(text):
    """`key: value` -> (key, value) at the first `: ` outside quotes, else None."""
    quote = None
    for i, c in enumerate(text):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == ":" and (i + 1 == len(text) or text[i + 1] == " "):
            return scalar(text[:i]), text[i + 1 :].strip()
    return None


def flow_list(text):
    """`[a, 'b', "c"]` -> list of scalars."""
    inner = text.strip()[1:-1]
    out, cur, quote = [], "", None
    for c in inner:
        if quote:
            cur += c
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
            cur += c
        elif c == ",":
            out.append(scalar(cur))
            cur = ""
        else:
            cur += c
    if cur.strip():
        out.append(scalar(cur))
    return out


def parse_block(lines, i, indent):
    """Parses the block starting at lines[i] with this indent; returns (value, next i)."""
    if i >= len(lines):
        return None, i
    ind, text = lines[i]
    if text.startswith("- ") or text == "-":
        out = []
        while i < len(lines) and lines[i][0] == indent and (lines[i][1].startswith("- ") or lines[i][1] == "-"):
            item = lines[i][1][2:].strip()
            kv = split_key(item) if item else None
            if kv is not None and not item.startswith(("'", '"')):
                # A mapping in a list: its first key sits after the dash.
                sub = [(indent + 2, item)]
                j = i + 1
                while j < len(lines) and lines[j][0] > indent:
                    sub.append(lines[j])
                    j += 1
                value, _ = parse_block(sub, 0, indent + 2)
                out.append(value)
                i = j
            elif not item:
                value, i = parse_block(lines, i + 1, lines[i + 1][0] if i + 1 < len(lines) else indent + 2)
                out.append(value)
            else:
                out.append(flow_list(item) if item.startswith("[") else scalar(item))
                i += 1
        return out, i
    out = {}
    while i < len(lines) and lines[i][0] == indent:
        kv = split_key(lines[i][1])
        if kv is None:
            raise ValueError(f"unsupported YAML line: {lines[i][1]!r}")
        key, rest = kv
        i += 1
        if rest in ("|", ">", "|-", ">-"):
            while i < len(lines) and lines[i][0] > indent:
                i += 1
            out[key] = ""
        elif rest:
            out[key] = flow_list(rest) if rest.startswith("[") else scalar(rest)
        elif i < len(lines) and lines[i][0] > indent:
            out[key], i = parse_block(lines, i, lines[i][0])
        elif i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("-"):
            out[key], i = parse_block(lines, i, indent)
        else:
            out[key] = None
    return out, i


def read_detection(path):
    """The `detection` mapping and `id`/`title` of a Sigma rule file."""
    raw = path.read_text(encoding="utf-8").splitlines()
    top, det_lines, in_det = {}, [], False
    for line in raw:
        if line.strip() == "---":
            break
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            in_det = line.startswith("detection:")
            kv = split_key(strip_comment(line))
            if kv and kv[1] and kv[0] in ("id", "title"):
                top[kv[0]] = scalar(kv[1])
            continue
        if in_det:
            s = strip_comment(line)
            if s.strip():
                det_lines.append((len(s) - len(s.lstrip()), s.strip()))
    if not det_lines:
        raise ValueError("no detection")
    det, _ = parse_block(det_lines, 0, det_lines[0][0])
    return top.get("id"), top.get("title"), det


# ------------------------------------------------------- Sigma conditions


def tokens(cond):
    return re.findall(r"\(|\)|[^\s()]+", cond)


def parse_condition(cond):
    """Sigma condition -> tree of tuples: ('and'|'or', a, b), ('not', a), ('of', n, pattern), ('id', name)."""
    toks = tokens(cond)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def expr():
        left = conj()
        while peek() == "or":
            take()
            left = ("or", left, conj())
        return left

    def conj():
        left = unary()
        while peek() == "and":
            take()
            left = ("and", left, unary())
        return left

    def unary():
        t = peek()
        if t == "not":
            take()
            return ("not", unary())
        if t == "(":
            take()
            e = expr()
            if take() != ")":
                raise ValueError("unbalanced condition")
            return e
        if t in ("1", "all", "any") and pos + 1 < len(toks) and toks[pos + 1] == "of":
            n = take()
            take()
            return ("of", "all" if n == "all" else "1", take())
        if t is None:
            raise ValueError("empty condition")
        return ("id", take())

    tree = expr()
    if pos != len(toks):
        raise ValueError(f"unsupported condition {cond!r}")
    return tree


def names_for(pattern, selections):
    if pattern == "them":
        return [n for n in selections if not n.startswith("_")]
    return [n for n in selections if fnmatch.fnmatchcase(n, pattern)]


# ------------------------------------------------------ Sigma evaluation


def lookup(event, field):
    """Value of a dotted field in a nested event (a flat key with the dots wins)."""
    if field in event:
        return True, event[field]
    cur = event
    for part in field.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return False, None
    return True, cur


def wildcard_re(value, mode):
    out = ""
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value) and value[i + 1] in "*?\\":
            out += re.escape(value[i + 1])
            i += 2
            continue
        out += ".*" if c == "*" else "." if c == "?" else re.escape(c)
        i += 1
    if mode == "contains":
        out = ".*" + out + ".*"
    elif mode == "startswith":
        out = out + ".*"
    elif mode == "endswith":
        out = ".*" + out
    return re.compile(out, re.I | re.S)


def value_matches(actual, expected, mods):
    if "exists" in mods:
        return expected
    if expected is None:
        return actual is None
    if actual is None or isinstance(actual, (dict, list)):
        return False
    if isinstance(expected, bool) or isinstance(actual, bool):
        return str(actual).lower() == str(expected).lower()
    if isinstance(expected, int) and not mods:
        try:
            return float(actual) == expected
        except (TypeError, ValueError):
            return False
    if "re" in mods:
        raise NotImplementedError("re")
    mode = next((m for m in ("contains", "startswith", "endswith") if m in mods), "")
    return wildcard_re(str(expected), mode).fullmatch(str(actual)) is not None


def field_matches(event, key, values):
    field, *mods = key.split("|")
    if "fieldref" in mods or "cidr" in mods:
        raise NotImplementedError(mods[0])
    found, actual = lookup(event, field)
    if "exists" in mods:
        return found == bool(values)
    vals = values if isinstance(values, list) else [values]
    hits = [value_matches(actual if found else None, v, mods) for v in vals]
    return all(hits) if "all" in mods else any(hits)


def selection_matches(event, sel):
    if isinstance(sel, dict):
        return all(field_matches(event, k, v) for k, v in sel.items())
    if isinstance(sel, list):
        if all(isinstance(s, dict) for s in sel):
            return any(selection_matches(event, s) for s in sel)
        raise NotImplementedError("keywords")
    raise NotImplementedError("selection shape")


def evaluate(tree, event, sels):
    kind = tree[0]
    if kind == "id":
        return selection_matches(event, sels[tree[1]])
    if kind == "not":
        return not evaluate(tree[1], event, sels)
    if kind == "and":
        return evaluate(tree[1], event, sels) and evaluate(tree[2], event, sels)
    if kind == "or":
        return evaluate(tree[1], event, sels) or evaluate(tree[2], event, sels)
    names = names_for(tree[2], sels)
    hits = (selection_matches(event, sels[n]) for n in names)
    return all(hits) if tree[1] == "all" else any(hits)


# --------------------------------------------------------- event building


def positive_options(tree, sels, rng):
    """One random set of selection names that satisfies the positive part of the tree."""
    kind = tree[0]
    if kind == "id":
        return [tree[1]]
    if kind == "not":
        return []
    if kind == "and":
        return positive_options(tree[1], sels, rng) + positive_options(tree[2], sels, rng)
    if kind == "or":
        return positive_options(tree[rng.choice((1, 2))], sels, rng)
    names = names_for(tree[2], sels)
    return names if tree[1] == "all" else [rng.choice(names)]


def literal(value, rng):
    """A string the wildcards of a Sigma value match."""
    out, i = "", 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value) and value[i + 1] in "*?\\":
            out += value[i + 1]
            i += 2
            continue
        out += rng.choice(["x", "build-7", "prod"]) if c == "*" else "q" if c == "?" else c
        i += 1
    return out


def fill_value(key, values, rng):
    field, *mods = key.split("|")
    if "re" in mods or "fieldref" in mods or "cidr" in mods:
        raise NotImplementedError(mods[0] if mods else "modifier")
    vals = values if isinstance(values, list) else [values]
    if "exists" in mods:
        return field, ("present" if values else None)
    picked = vals if "all" in mods else [rng.choice(vals)]
    if picked == [None]:
        return field, None
    if isinstance(picked[0], (int, bool)) and not isinstance(picked[0], str):
        return field, picked[0]
    parts = [literal(str(v), rng) for v in picked]
    if "contains" in mods:
        return field, "request " + " / ".join(parts) + " done"
    if "startswith" in mods:
        return field, parts[0] + "-7f3a"
    if "endswith" in mods:
        return field, "7f3a-" + parts[0]
    return field, parts[0]


def set_path(event, field, value):
    parts = field.split(".")
    cur = event
    for p in parts[:-1]:
        if not isinstance(cur.get(p), dict):
            cur[p] = {}
        cur = cur[p]
    cur[parts[-1]] = value


def build_match(rule, base, rng, swapcase=False):
    """A copy of base that the rule matches, or None after a few tries.

    With swapcase, the strings filled in have their case swapped: Sigma still
    matches (it compares strings case-insensitively), Panther's `Equals` does not.
    """
    sels, tree = rule["selections"], rule["tree"]
    for _ in range(30):
        event = json.loads(json.dumps(base))
        for name in positive_options(tree, sels, rng):
            sel = sels[name]
            if isinstance(sel, list):
                sel = rng.choice(sel)
            for key, values in sel.items():
                field, value = fill_value(key, values, rng)
                if swapcase and isinstance(value, str):
                    value = value.swapcase()
                set_path(event, field, value)
        if evaluate(tree, event, sels):
            return event
    return None


# ------------------------------------------------------- background events

SOURCES = [
    "s3.amazonaws.com", "ec2.amazonaws.com", "iam.amazonaws.com", "sts.amazonaws.com",
    "kms.amazonaws.com", "rds.amazonaws.com", "lambda.amazonaws.com", "cloudtrail.amazonaws.com",
    "elasticfilesystem.amazonaws.com", "eks.amazonaws.com", "signin.amazonaws.com", "ssm.amazonaws.com",
]
ROUTINE = [
    "DescribeInstances", "DescribeVolumes", "DescribeSecurityGroups", "GetObject", "HeadObject",
    "ListObjects", "GetBucketLocation", "ListRoles", "GetUser", "ListAttachedRolePolicies",
    "Decrypt", "GenerateDataKey", "DescribeDBInstances", "ListFunctions20150331", "LookupEvents",
    "DescribeTrails", "DescribeFileSystems", "ListClusters", "GetParameter", "DescribeKey",
]
AGENTS = [
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0-18-cloud-amd64 exe/x86_64.debian.12",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.1.0 md/arch#x86_64 lang/python#3.11.8",
    "console.amazonaws.com",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/122.0.0.0",
]


def background(rng, n):
    acct = str(rng.randint(100000000000, 100000000099))
    user = f"svc-{rng.choice(['deploy', 'etl', 'backup', 'monitor', 'ops'])}-{rng.randint(1, 400)}"
    ip = f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    source = rng.choice(SOURCES)
    region = rng.choice(["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"])
    key_id = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
    arn = f"arn:aws:iam::{acct}:user/{user}"
    bucket = f"corp-{rng.choice(['logs', 'data', 'artifacts', 'backups'])}-{rng.randint(1, 60)}"
    return {
        "p_log_type": "AWS.CloudTrail",
        "p_event_time": "",
        "p_row_id": "%032x" % rng.getrandbits(128),
        "p_source_label": "org-cloudtrail",
        "p_any_aws_account_ids": [acct],
        "p_any_ip_addresses": [ip],
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(17)),
            "arn": arn,
            "accountId": acct,
            "accessKeyId": key_id,
            "userName": user,
            "sessionContext": {
                "attributes": {"creationDate": "", "mfaAuthenticated": rng.choice(["true", "false"])},
            },
        },
        "eventTime": "",
        "eventSource": source,
        "eventName": rng.choice(ROUTINE),
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": rng.choice(AGENTS),
        "requestParameters": {
            "bucketName": bucket,
            "key": f"2024/06/part-{rng.randint(0, 99999):05d}.parquet",
            "maxResults": rng.choice([50, 100, 1000]),
        },
        "responseElements": None,
        "requestID": "%08X%08X" % (rng.getrandbits(32), rng.getrandbits(32)),
        "eventID": "%08x-%04x-4%03x-a%03x-%012x" % (
            rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12), rng.getrandbits(12), rng.getrandbits(48)),
        "readOnly": True,
        "resources": [{"accountId": acct, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": acct,
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "clientProvidedHostHeader": f"{source.split('.')[0]}.{region}.amazonaws.com",
        },
    }


def stamp(event, n):
    t = 1717200000 + (n * 37) % (7 * 24 * 3600)
    ms = n % 1000
    panther = "%s.%03d" % (time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)), ms)
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    event["p_event_time"] = panther
    event["eventTime"] = iso
    attrs = event.get("userIdentity", {}).get("sessionContext", {}).get("attributes")
    if isinstance(attrs, dict):
        attrs["creationDate"] = iso


def load_rules(folder):
    rules = []
    for path in sorted(pathlib.Path(folder).rglob("*.yml")):
        try:
            rid, title, det = read_detection(path)
            cond = det.pop("condition")
            if isinstance(cond, list):
                cond = " or ".join(f"({c})" for c in cond)
            det.pop("timeframe", None)
            rule = {"path": path, "id": rid, "title": title, "selections": det, "tree": parse_condition(cond)}
            probe = random.Random(0)
            if build_match(rule, background(probe, 0), probe) is None:
                raise ValueError("no event of this script satisfies the condition")
            rules.append(rule)
        except (ValueError, KeyError, NotImplementedError, IndexError) as e:
            print(f"gen_cloudtrail_events.py: {path.name}: no events ({type(e).__name__}: {e})", file=sys.stderr)
    return rules


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sigma", required=True, help="folder of the Sigma rules to build matching events from")
    ap.add_argument("--events", type=int, default=250000)
    ap.add_argument("--match", type=float, default=0.03, help="share of events built from the rules")
    ap.add_argument("--case-variants", type=float, default=0.0,
                    help="share of the built events whose filled-in strings have their case swapped")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rules = load_rules(a.sigma)
    if not rules:
        sys.exit("gen_cloudtrail_events.py: no usable Sigma rule under " + a.sigma)
    rng = random.Random(a.seed)
    built = {r["path"].name: 0 for r in rules}
    turn = 0
    n_match = round(a.events * a.match)
    # Spread the built events evenly: event i is built when floor((i+1)*m/N) grows.
    with open(a.out, "w", encoding="utf-8") as f:
        buf = []
        for n in range(a.events):
            base = background(rng, n)
            if (n + 1) * n_match // a.events > n * n_match // a.events:
                rule = rules[turn % len(rules)]
                turn += 1
                swap = a.case_variants > 0 and rng.random() < a.case_variants
                event = build_match(rule, base, rng, swap) or base
                if event is not base:
                    built[rule["path"].name] += 1
            elif rng.random() < 0.01:
                # A near miss: a rule's event with its eventName changed.
                rule = rng.choice(rules)
                event = build_match(rule, base, rng) or base
                event["eventName"] = rng.choice(ROUTINE)
            else:
                event = base
            stamp(event, n)
            buf.append(json.dumps(event, separators=(",", ":")) + "\n")
            if len(buf) >= 5000:
                f.write("".join(buf))
                buf.clear()
        f.write("".join(buf))
    for name, count in built.items():
        print(f"  {count:6d}  {name}", file=sys.stderr)
    print(a.events)


if __name__ == "__main__":
    main()
