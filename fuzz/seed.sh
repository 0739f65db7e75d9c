#!/usr/bin/env bash
# Fills fuzz/corpus/load/ with seeds from the shared conformance corpus.
#
# Usage: fuzz/seed.sh [CORPUS_DIR]   (default: ../shared/corpus beside the repo,
# or /work/shared/corpus). Seeds are never committed: fuzz/corpus is ignored.
#
# Each .yml/.yaml file becomes one seed. Each folder also becomes multi-file
# seeds: up to eight of its files joined with NUL bytes, which the target
# splits back into files, so duplicate IDs, packs and correlation references
# across files get exercised. A few seeds get a `#!` options line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=${1:-}
if [[ -z $src ]]; then
    for c in "$here/../../shared/corpus" /work/shared/corpus; do
        if [[ -d $c ]]; then src=$c; break; fi
    done
fi
[[ -d ${src:-} ]] || { echo "seed.sh: corpus folder not found; pass it as the first argument" >&2; exit 2; }

out="$here/corpus/load"
mkdir -p "$out"

python3 - "$src" "$out" <<'PY'
import hashlib, os, sys
src, out = sys.argv[1], sys.argv[2]

def put(data: bytes) -> None:
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)

by_dir = {}
for root, dirs, files in os.walk(src):
    dirs.sort()
    for f in sorted(files):
        if f.endswith((".yml", ".yaml")):
            with open(os.path.join(root, f), "rb") as fh:
                data = fh.read()
            put(data)
            by_dir.setdefault(root, []).append(data)

singles = sum(len(v) for v in by_dir.values())
multi = 0
for files in by_dir.values():
    for i in range(0, len(files), 8):
        chunk = files[i:i + 8]
        if len(chunk) > 1:
            put(b"\0".join(chunk))
            multi += 1

# Options lines: strict vs lenient extra keys, table-name checks.
opts = 0
for files in by_dir.values():
    for data in files:
        if b"ThisIsNotARealTopLevelKey" in data or b"ScheduledQueries" in data or b"Query" in data:
            put(b"#! ignore-extra-keys ignore-table-names\n" + data)
            put(b"#! table=my_db.* table=*\n" + data)
            opts += 2
# Alias seeds: small amplifiers (a long string aliased in a list that is
# aliased again, merge keys, aliased expressions) for the fuzzer to grow.
rule = b"AnalysisType: rule\nRuleID: Fuzz.Alias\nEnabled: true\nLogTypes: [X.Y]\nSeverity: Low\n"
aliases = [
    rule + b"Detection:\n  - {Condition: AlwaysTrue}\nDescription: &a " + b"x" * 1024
    + b"\nReference: &b [" + b", ".join([b"*a"] * 16) + b"]\nTags: [" + b", ".join([b"*b"] * 16) + b"]\n",
    rule + b"Detection:\n  - &e {KeyPath: a, Condition: Equals, Value: 1}\n  - &f {Any: ["
    + b", ".join([b"*e"] * 10) + b"]}\n  - {All: [" + b", ".join([b"*f"] * 10) + b"]}\n"
    + b"Tests:\n  - &t {Name: t, ExpectedResult: false, Log: {a: 2}}\n",
    b"base: &a {AnalysisType: rule, Enabled: true, Severity: Low}\nrule:\n  <<: *a\n  RuleID: Fuzz.Merge\n",
]
for data in aliases:
    put(data)
print(f"seed.sh: {singles} files, {multi} multi-file seeds, {opts} option seeds, {len(aliases)} alias seeds -> {out}")
PY
