#!/usr/bin/env python3
"""Extract the normative test vectors of the Simple Detection spec into JSON fixtures.

Reads (read-only):
  <spec>/match-expressions.md   -> fixtures/engine/match_vectors.json
  <spec>/simple-detections.md   -> fixtures/engine/alert_vectors.json

match_vectors.json: list of
  {"id", "rule": "<YAML with Detection: (and InlineFilters:)>", "event": <JSON>, "expected": bool}
alert_vectors.json: list of
  {"id", "rule": "<full rule YAML>", "event": <JSON>, "match": bool|null,
   "severity": "CRITICAL"|...|null, "title": str|null, "dedup": str|null,
   "alert_context": obj|null}

Usage: scripts/extract_vectors.py [--spec DIR] [--out DIR]
Stdlib only. Skipped rows are listed on stderr; counts per prefix are printed on stdout.
"""

import argparse
import collections
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CRATE = os.path.dirname(HERE)
DEFAULT_SPEC = os.path.normpath(os.path.join(CRATE, "..", "shared", "spec"))
DEFAULT_OUT = os.path.join(CRATE, "fixtures", "engine")

TITLE_RE = re.compile(r"^\*\*([A-Z0-9]+) — (.*)\*\*\s*$")
ID_RE = re.compile(r"^([A-Z][A-Z0-9]*)-(\d+)$")


class SpecError(Exception):
    pass


# --------------------------------------------------------------------------- markdown parsing


def split_row(line):
    """Split a Markdown table row into cells, ignoring `|` inside backtick spans."""
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|")):
        raise SpecError("not a table row: %r" % line)
    cells, cur, in_code = [], [], False
    for ch in line[1:-1]:
        if ch == "`":
            in_code = not in_code
            cur.append(ch)
        elif ch == "|" and not in_code:
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    cells.append("".join(cur).strip())
    return cells


def parse_markdown(text):
    """Return a list of elements in document order.

    ("title", prefix, title, line) | ("code", lang, text, line) | ("table", header, rows, line)
    | ("para", text, line) | ("heading", text, line)
    """
    lines = text.split("\n")
    out = []
    i = 0
    para = []

    def flush_para():
        if para:
            out.append(("para", " ".join(l.strip() for l in para), para_start[0]))
            para.clear()

    para_start = [0]
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            flush_para()
            lang = line[3:].strip()
            start = i + 1
            j = start
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            if j >= len(lines):
                raise SpecError("unterminated code block at line %d" % (i + 1))
            out.append(("code", lang, "\n".join(lines[start:j]) + "\n", i + 1))
            i = j + 1
            continue
        if line.startswith("|"):
            flush_para()
            start = i
            block = []
            while i < len(lines) and lines[i].startswith("|"):
                block.append(lines[i])
                i += 1
            header = split_row(block[0])
            if len(block) < 2 or not re.match(r"^\|(\s*:?-+:?\s*\|)+\s*$", block[1]):
                raise SpecError("table without separator at line %d" % (start + 1))
            rows = [(split_row(r), start + 3 + k) for k, r in enumerate(block[2:])]
            out.append(("table", header, rows, start + 1))
            continue
        m = TITLE_RE.match(line)
        if m:
            flush_para()
            out.append(("title", m.group(1), m.group(2), i + 1))
            i += 1
            continue
        if line.startswith("#"):
            flush_para()
            out.append(("heading", line.lstrip("#").strip(), i + 1))
            i += 1
            continue
        if not line.strip():
            flush_para()
        else:
            if not para:
                para_start[0] = i + 1
            para.append(line)
        i += 1
    flush_para()
    return out


def backtick(cell):
    """Content of a cell that is a single backtick span."""
    cell = cell.strip()
    if len(cell) >= 2 and cell.startswith("`") and cell.endswith("`") and cell.count("`") == 2:
        return cell[1:-1]
    raise SpecError("expected a single backtick span, got %r" % cell)


def parse_event(cell, vid):
    try:
        return json.loads(backtick(cell), object_pairs_hook=collections.OrderedDict)
    except (ValueError, SpecError) as e:
        raise SpecError("%s: bad event %r: %s" % (vid, cell, e))


def parse_bool(cell):
    c = cell.strip()
    if c == "true":
        return True
    if c == "false":
        return False
    return None


def json_string_cell(cell, vid):
    raw = backtick(cell)
    try:
        v = json.loads(raw)
    except ValueError as e:
        raise SpecError("%s: bad JSON string %r: %s" % (vid, raw, e))
    if not isinstance(v, str):
        raise SpecError("%s: not a JSON string: %r" % (vid, raw))
    return v


def dash(cell):
    return cell.strip() in ("–", "-", "—", "")


# --------------------------------------------------------------------------- rule text helpers


def indent(text, n):
    pad = " " * n
    return "".join((pad + l if l.strip() else l) + "\n" for l in text.rstrip("\n").split("\n"))


def detection_rule(block):
    """Turn an example block's YAML into rule text with Detection: (and InlineFilters:)."""
    body = block.rstrip("\n")
    lines = [l for l in body.split("\n") if l.strip()]
    first = lines[0]
    if re.match(r"^(InlineFilters|Detection)\s*:", first) or any(
        re.match(r"^(InlineFilters|Detection)\s*:", l) for l in lines
    ):
        return body + "\n"
    if first.startswith("- ") or first == "-":
        # already a list: put it under Detection:
        return "Detection:\n" + indent(body, 2)
    if first.startswith("{"):
        if len(lines) != 1:
            raise SpecError("multi-line flow mapping not supported: %r" % body)
        return "Detection:\n  - " + first.strip() + "\n"
    # a single block mapping: make it a list item
    out = ["Detection:"]
    for k, l in enumerate(body.split("\n")):
        if k == 0:
            out.append("  - " + l)
        elif l.strip():
            out.append("    " + l)
        else:
            out.append("")
    return "\n".join(out) + "\n"


def flow_detection(expr):
    return "Detection:\n  - " + expr.strip() + "\n"


# --------------------------------------------------------------------------- match vectors

EX_CONDITIONS = ["Exists", "DoesNotExist", "IsNull", "IsNotNull", "IsNullOrEmpty", "IsNotNullOrEmpty"]


def extract_match(elements, skipped, warnings):
    vectors = []
    cur_title = None  # (prefix, title)
    cur_code = None  # yaml text of the current block
    cur_paras = []  # paragraphs since the current title
    for el in elements:
        kind = el[0]
        if kind == "title":
            cur_title = (el[1], el[2])
            cur_code = None
            cur_paras = []
            continue
        if kind == "heading":
            cur_title = None
            cur_code = None
            cur_paras = []
            continue
        if kind == "code":
            if el[1] == "yaml":
                cur_code = el[2]
            continue
        if kind == "para":
            cur_paras.append(el[1])
            continue
        if kind != "table":
            continue
        header, rows, line = el[1], el[2], el[3]
        if not header or header[0] != "ID":
            continue
        cols = [h.strip().strip("`") for h in header]
        if cols[:2] == ["ID", "Event"] and cols[2] == "Result":
            if cur_code is None:
                raise SpecError("line %d: table without a YAML block" % line)
            rule = detection_rule(cur_code)
            for cells, rl in rows:
                vid = cells[0]
                check_id(vid, cur_title, rl, warnings)
                res = parse_bool(cells[2])
                if res is None:
                    skipped.append("%s (result %r)" % (vid, cells[2]))
                    continue
                vectors.append(
                    {"id": vid, "rule": rule, "event": parse_event(cells[1], vid), "expected": res}
                )
        elif cols[:2] == ["ID", "Event"] and cols[2:] == EX_CONDITIONS:
            key = ex_key(rows)
            for cells, rl in rows:
                vid = cells[0]
                check_id(vid, ("EX", ""), rl, warnings)
                event = parse_event(cells[1], vid)
                for cond, cell in zip(EX_CONDITIONS, cells[2:]):
                    res = parse_bool(cell)
                    sub = "%s-%s" % (vid, cond)
                    if res is None:
                        skipped.append("%s (result %r)" % (sub, cell))
                        continue
                    vectors.append(
                        {
                            "id": sub,
                            "rule": flow_detection("{KeyPath: %s, Condition: %s}" % (key, cond)),
                            "event": event,
                            "expected": res,
                        }
                    )
        elif cols[:4] == ["ID", "Event", "X", "Y"]:
            ops = comb_operands(cur_paras, line)
            combs = cols[4:]
            for cells, rl in rows:
                vid = cells[0]
                check_id(vid, cur_title, rl, warnings)
                event = parse_event(cells[1], vid)
                for name, cell in zip(["X", "Y"] + combs, cells[2:]):
                    res = parse_bool(cell)
                    sub = "%s-%s" % (vid, name)
                    if res is None:
                        skipped.append("%s (result %r)" % (sub, cell))
                        continue
                    if name in ops:
                        expr = ops[name]
                    else:
                        expr = "{%s: [%s, %s]}" % (name, ops["X"], ops["Y"])
                    vectors.append(
                        {"id": sub, "rule": flow_detection(expr), "event": event, "expected": res}
                    )
        elif cols == ["ID", "Expression", "Result"]:
            # EMPTY: no event column; the result does not depend on the event.
            for cells, rl in rows:
                vid = cells[0]
                check_id(vid, cur_title, rl, warnings)
                res = parse_bool(cells[2])
                if res is None:
                    skipped.append("%s (result %r)" % (vid, cells[2]))
                    continue
                vectors.append(
                    {
                        "id": vid,
                        "rule": flow_detection(backtick(cells[1])),
                        "event": collections.OrderedDict(),
                        "expected": res,
                    }
                )
        else:
            # validation vectors (VAL) and reference tables: not evaluation vectors
            if ID_RE.match(rows[0][0][0]) if rows else False:
                skipped.append(
                    "table at line %d (%s..., columns %s): not an evaluation table"
                    % (line, rows[0][0][0], " | ".join(cols))
                )
    return vectors


def ex_key(rows):
    """Key name used by the EX table: the single member name of the non-empty events."""
    names = set()
    for cells, _ in rows:
        ev = json.loads(backtick(cells[1]))
        names.update(ev.keys())
    if len(names) != 1:
        raise SpecError("EX table: cannot infer the key name from events (%r)" % sorted(names))
    return names.pop()


def comb_operands(paras, line):
    text = " ".join(paras)
    ops = {}
    for name in ("X", "Y"):
        m = re.search(r"`%s`\s*=\s*`([^`]+)`" % name, text)
        if not m:
            raise SpecError("line %d: COMB operand %s not found in prose" % (line, name))
        ops[name] = m.group(1).strip()
    m = re.search(r"the expression is `([^`]+)`", text)
    if not m or m.group(1).replace(" ", "") != "{<Combinator>:[X,Y]}":
        raise SpecError("line %d: COMB expression shape not as expected: %r" % (line, text))
    return ops


def check_id(vid, title, line, warnings):
    m = ID_RE.match(vid)
    if not m:
        raise SpecError("line %d: bad vector id %r" % (line, vid))
    if title is not None and m.group(1) != title[0]:
        warnings.append("line %d: id %s under block %s" % (line, vid, title[0]))


# --------------------------------------------------------------------------- alert vectors

SEVERITIES = {"info": "INFO", "low": "LOW", "medium": "MEDIUM", "high": "HIGH", "critical": "CRITICAL"}


def rule_header(rule_id, severity, display_name=None):
    out = ["AnalysisType: rule", "RuleID: %s" % rule_id]
    if display_name is not None:
        out.append("DisplayName: %s" % json.dumps(display_name))
    out += ["Enabled: true", "LogTypes: [Custom.Test]"]
    if severity is not None:
        out.append("Severity: %s" % severity)
    return "\n".join(out) + "\n"


ALWAYS_TRUE = "Detection:\n  - Condition: AlwaysTrue\n"


def alert_vector(vid, rule, event, match=None, severity=None, title=None, dedup=None, ctx=None):
    return collections.OrderedDict(
        [
            ("id", vid),
            ("rule", rule),
            ("event", event),
            ("match", match),
            ("severity", severity),
            ("title", title),
            ("dedup", dedup),
            ("alert_context", ctx),
        ]
    )


def severity_cell(cell, vid):
    c = cell.strip()
    if dash(c):
        return None
    if c.lower() not in SEVERITIES:
        raise SpecError("%s: unknown severity %r" % (vid, c))
    return SEVERITIES[c.lower()]


# DF rows describe the rule in words; this table turns each description into alert keys.
# Prose of §9: RuleID `Acme.Test`, event {"user": "amy"}.
DF_RULES = {
    "no AlertTitle, no DisplayName, no GroupBy": {},
    "DisplayName only": {"DisplayName": "Acme Test Rule"},
    "AlertTitle, no GroupBy": {"AlertTitle": "Hello {user}"},
    "GroupBy with an absent key": {
        "AlertTitle": "Hello {user}",
        "GroupBy": ["Key: user", "Key: missing"],
    },
    "GroupBy that renders empty": {"GroupBy": ["Key: missing"]},
    "AlertTitle that renders empty": {"AlertTitle": "{missing}"},
}


def df_rule(desc, vid):
    if desc not in DF_RULES:
        raise SpecError("%s: unknown DF rule description %r (update DF_RULES)" % (vid, desc))
    keys = DF_RULES[desc]
    text = rule_header("Acme.Test", "Info", keys.get("DisplayName"))
    text += ALWAYS_TRUE
    if "AlertTitle" in keys:
        text += "AlertTitle: %s\n" % json.dumps(keys["AlertTitle"])
    if "GroupBy" in keys:
        text += "GroupBy:\n" + "".join("  - %s\n" % g for g in keys["GroupBy"])
    return text


def extract_alert(elements, skipped, warnings):
    vectors = []
    last_code = None
    for el in elements:
        kind = el[0]
        if kind == "code":
            if el[1] == "yaml":
                last_code = el[2]
            continue
        if kind != "table":
            continue
        header, rows, line = el[1], el[2], el[3]
        if not header or header[0] != "ID" or not rows:
            continue
        prefix = ID_RE.match(rows[0][0][0])
        prefix = prefix.group(1) if prefix else None
        cols = [h.strip() for h in header]
        if prefix == "SEV":
            if cols[:3] != ["ID", "Event", "Alert severity"]:
                raise SpecError("line %d: unexpected SEV columns %r" % (line, cols))
            block = last_code.rstrip("\n")
            m = re.search(r"^Severity:\s*(\S+)\s*$", block, re.M)
            if not m:
                raise SpecError("line %d: SEV block without Severity" % line)
            body = re.sub(r"^Severity:.*\n", "", block + "\n", count=1, flags=re.M)
            rule = rule_header("Test.SEV", m.group(1)) + body + ALWAYS_TRUE
            for cells, rl in rows:
                vid = cells[0]
                check_id(vid, ("SEV", ""), rl, warnings)
                vectors.append(
                    alert_vector(
                        vid, rule, parse_event(cells[1], vid), match=True,
                        severity=severity_cell(cells[2], vid),
                    )
                )
        elif prefix == "TTL":
            if len(cols) != 4 or not cols[1].startswith("AlertTitle") or cols[2] != "Event":
                raise SpecError("line %d: unexpected TTL columns %r" % (line, cols))
            for cells, rl in rows:
                vid = cells[0]
                check_id(vid, ("TTL", ""), rl, warnings)
                tmpl = json_string_cell(cells[1], vid)
                rule = (
                    rule_header("Test.%s" % vid.replace("-", "."), "Info")
                    + ALWAYS_TRUE
                    + "AlertTitle: %s\n" % json.dumps(tmpl)
                )
                vectors.append(
                    alert_vector(
                        vid, rule, parse_event(cells[2], vid), match=True,
                        title=json_string_cell(cells[3], vid),
                    )
                )
        elif prefix == "DF":
            m = re.search(r"RuleID `([^`]+)`, event `([^`]+)`", cols[1])
            if not m or not cols[2].startswith("Title") or not cols[3].startswith("Dedup"):
                raise SpecError("line %d: unexpected DF columns %r" % (line, cols))
            if m.group(1) != "Acme.Test":
                raise SpecError("line %d: DF RuleID changed to %r" % (line, m.group(1)))
            event_text = m.group(2)
            for cells, rl in rows:
                vid = cells[0]
                check_id(vid, ("DF", ""), rl, warnings)
                vectors.append(
                    alert_vector(
                        vid, df_rule(cells[1].strip(), vid),
                        json.loads(event_text, object_pairs_hook=collections.OrderedDict),
                        match=True,
                        title=json_string_cell(cells[2], vid),
                        dedup=json_string_cell(cells[3], vid),
                    )
                )
        elif prefix == "WX":
            expect = ["ID", "Event", "Match", "Severity"]
            if cols[:4] != expect or len(cols) != 7:
                raise SpecError("line %d: unexpected WX columns %r" % (line, cols))
            rule = last_code if last_code.endswith("\n") else last_code + "\n"
            if "AnalysisType: rule" not in rule:
                raise SpecError("line %d: WX table not preceded by the worked example" % line)
            for cells, rl in rows:
                vid = cells[0]
                check_id(vid, ("WX", ""), rl, warnings)
                match = parse_bool(cells[2])
                if match is None:
                    skipped.append("%s (match %r)" % (vid, cells[2]))
                    continue
                ctx = None
                if not dash(cells[6]):
                    ctx = json.loads(backtick(cells[6]), object_pairs_hook=collections.OrderedDict)
                vectors.append(
                    alert_vector(
                        vid, rule, parse_event(cells[1], vid), match=match,
                        severity=severity_cell(cells[3], vid),
                        title=None if dash(cells[4]) else json_string_cell(cells[4], vid),
                        dedup=None if dash(cells[5]) else json_string_cell(cells[5], vid),
                        ctx=ctx,
                    )
                )
    return vectors


# --------------------------------------------------------------------------- main


def counts(vectors):
    c = collections.OrderedDict()
    for v in vectors:
        p = v["id"].split("-")[0]
        c[p] = c.get(p, 0) + 1
    return c


def write_json(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, ensure_ascii=False)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", default=DEFAULT_SPEC, help="spec directory (default %(default)s)")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output directory (default %(default)s)")
    args = ap.parse_args()

    skipped, warnings = [], []
    with open(os.path.join(args.spec, "match-expressions.md"), encoding="utf-8") as f:
        match = extract_match(parse_markdown(f.read()), skipped, warnings)
    with open(os.path.join(args.spec, "simple-detections.md"), encoding="utf-8") as f:
        alert = extract_alert(parse_markdown(f.read()), skipped, warnings)

    for name, vs in (("match", match), ("alert", alert)):
        ids = [v["id"] for v in vs]
        dups = sorted({i for i in ids if ids.count(i) > 1})
        if dups:
            raise SpecError("duplicate %s vector ids: %s" % (name, ", ".join(dups)))

    write_json(os.path.join(args.out, "match_vectors.json"), match)
    write_json(os.path.join(args.out, "alert_vectors.json"), alert)

    for w in warnings:
        print("warning: " + w, file=sys.stderr)
    for s in skipped:
        print("skipped: " + s, file=sys.stderr)
    for name, vs in (("match_vectors.json", match), ("alert_vectors.json", alert)):
        c = counts(vs)
        print("%s: %d vectors" % (name, len(vs)))
        print("  " + ", ".join("%s=%d" % kv for kv in c.items()))


if __name__ == "__main__":
    try:
        main()
    except SpecError as e:
        print("error: %s" % e, file=sys.stderr)
        sys.exit(1)
