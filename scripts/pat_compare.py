#!/usr/bin/env python3
"""Compare `detect test` with `panther_analysis_tool test` on one repository.

Usage: scripts/pat_compare.py PAT_STDOUT DETECT_JSON

Run PAT with PYTHONHASHSEED=0, as detect's workers run, so that rules
that print sets print them in the same order.

PAT_STDOUT is what `panther_analysis_tool test` printed; DETECT_JSON is
`detect test --format json` on the same checkout. Every test PAT printed
is compared with detect's: its verdict, then each function line (name,
PASS/FAIL, output or error message). Destination UUIDs are masked (PAT
makes random ones). Prints the differences and a count; exits 1 when
there is any.
"""
import json
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TEST = re.compile(r"^\t\[(PASS|FAIL)\] (.*)$")
FUNC = re.compile(r"^\t\t\[(PASS|FAIL)\] \[([A-Za-z]+)\] ?(.*)$")


def pat_results(path):
    """{detection id: [(test name, verdict, [(function, verdict, text)])]}"""
    out = {}
    current = None
    test = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = ANSI.sub("", raw.rstrip("\n"))
            if line.startswith("----"):
                break
            m = FUNC.match(line)
            if m and test is not None:
                test[2].append((m.group(2), m.group(1), UUID.sub("<uuid>", m.group(3))))
                continue
            m = TEST.match(line)
            if m and current is not None:
                test = (m.group(2), m.group(1), [])
                out.setdefault(current, []).append(test)
                continue
            if line and not line.startswith(("\t", " ")) and not line.startswith("[") and re.match(r"^[\w.\-]+$", line):
                current = line
                test = None
    return out


def detect_results(path):
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    out = {}
    for item in report.get("items", []):
        tests = []
        for t in item.get("tests", []):
            if t.get("status") not in ("passed", "failed"):
                continue
            fns = []
            for fn in t.get("functions", []):
                text = fn.get("error") if fn.get("error") is not None else fn.get("output")
                if not isinstance(text, str):
                    text = json.dumps(text)
                # PAT's output is read line by line: keep the first line.
                text = text.split("\n")[0]
                fns.append((fn["name"], "PASS" if fn["status"] == "passed" else "FAIL", UUID.sub("<uuid>", text)))
            tests.append((t["name"], "PASS" if t["status"] == "passed" else "FAIL", fns))
        if tests:
            out[item.get("id")] = tests
    return out


def main():
    pat = pat_results(sys.argv[1])
    det = detect_results(sys.argv[2])
    diffs = 0
    compared = 0
    lines = 0
    for rid, tests in sorted(pat.items()):
        ours = det.get(rid)
        if ours is None:
            print(f"{rid}: run by PAT, not by detect")
            diffs += 1
            continue
        for i, (name, verdict, fns) in enumerate(tests):
            compared += 1
            lines += len(fns)
            theirs = ours[i] if i < len(ours) else None
            if theirs is None or theirs[0] != name:
                print(f"{rid} / {name}: not at the same place in detect's report")
                diffs += 1
                continue
            if theirs[1] != verdict:
                print(f"{rid} / {name}: PAT {verdict}, detect {theirs[1]}")
                diffs += 1
            if theirs[2] != fns:
                print(f"{rid} / {name}: function lines differ\n  PAT:    {fns}\n  detect: {theirs[2]}")
                diffs += 1
    extra = sorted(set(det) - set(pat))
    for rid in extra:
        print(f"{rid}: run by detect, not printed by PAT")
    print(f"{compared} tests and {lines} function lines compared; {diffs} differences; {len(extra)} detections only detect ran")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
