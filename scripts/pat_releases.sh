#!/usr/bin/env bash
# Runs `detect validate` on HEAD and on every release tag (v3.41.0 and newer)
# of a panther-analysis git repository and prints a Markdown table: tag,
# files (YAML files with an `AnalysisType` key), errors, warnings, exit code
# and the error codes with their counts.
# Not a test: it measures and reports, and exits 0 once every row was run.
#
# Usage: scripts/pat_releases.sh [--pat PYTHON] GIT_DIR DETECT_BINARY
#   GIT_DIR         a panther-analysis git directory (bare or not) with tags
#   DETECT_BINARY   the `detect` binary to run
#   --pat PYTHON    also run PAT's offline schema check with this Python (the
#                   interpreter of a virtualenv holding panther_analysis_tool)
#                   and add the number of files PAT rejects per row, with the
#                   files that only one of the two tools rejects listed below
#                   the table
#   PAT_RELEASES_FROM=v3.41.0   first tag (default v3.41.0)
#   PAT_RELEASES_TAGS="v3.65.0 HEAD"  run only these revisions
#   PAT_RELEASES_KEEP=1         keep the unpacked trees (path printed)
#
# PAT's offline check is what `panther_analysis_tool test` does before it runs
# any test: `load_analysis` (YAML, schema, IDs, set fields, table names) and
# `validate_packs`. It needs no Panther instance and runs no detection code.
set -euo pipefail

pat_python=
if [[ ${1:-} == --pat ]]; then
    pat_python=${2:?--pat needs a Python interpreter}
    shift 2
fi
git_dir=${1:?usage: pat_releases.sh [--pat PYTHON] GIT_DIR DETECT_BINARY}
detect=${2:?usage: pat_releases.sh [--pat PYTHON] GIT_DIR DETECT_BINARY}
detect=$(cd "$(dirname "$detect")" && pwd)/$(basename "$detect")
[[ -x $detect ]] || { echo "pat_releases.sh: $detect is not executable" >&2; exit 2; }
git --git-dir="$git_dir" rev-parse --verify -q HEAD >/dev/null ||
    { echo "pat_releases.sh: $git_dir is not a git directory" >&2; exit 2; }

from=${PAT_RELEASES_FROM:-v3.41.0}
if [[ -n ${PAT_RELEASES_TAGS:-} ]]; then
    revs=$PAT_RELEASES_TAGS
else
    # HEAD first, then every v* tag from $from on (whether or not $from is
    # itself a tag), in version order.
    tags=$(git --git-dir="$git_dir" tag --list 'v*')
    revs="HEAD $(printf '%s\n%s\n' "$tags" "$from" | sort -V -u |
        awk -v from="$from" '$0 == from { on = 1 } on' | grep -Fx -- "$tags" || true)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/pat_releases.XXXXXX")
if [[ -z ${PAT_RELEASES_KEEP:-} ]]; then
    trap 'rm -rf "$work"' EXIT
else
    echo "keeping unpacked trees in $work" >&2
fi

# The PAT side: prints one JSON object {"invalid": [[file, error], ...]}.
pat_check=$work/pat_check.py
cat >"$pat_check" <<'EOF'
import json, logging, os, sys
logging.disable(logging.CRITICAL)
from panther_analysis_tool.analysis_utils import load_analysis
from panther_analysis_tool.validation import validate_packs
specs, invalid = load_analysis(".", False, [], [], False)
invalid = list(invalid) + list(validate_packs(specs))
out = []
for f, err in invalid:
    f = os.path.relpath(f) if isinstance(f, str) and os.path.isabs(f) else f
    out.append([str(f), str(err).splitlines()[0] if str(err) else type(err).__name__])
json.dump({"invalid": out}, sys.stdout)
EOF

# Summarises one detect JSON report (and optionally a PAT one) as a row.
summarise=$work/summarise.py
cat >"$summarise" <<'EOF'
import collections, json, sys
import os, re
tag, rc, report, pat, tree = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
# files: the YAML files of the tree with a top-level `AnalysisType` key.
files = 0
for d, _, names in os.walk(tree):
    for n in names:
        if n.endswith((".yml", ".yaml")):
            try:
                text = open(os.path.join(d, n), encoding="utf-8", errors="replace").read()
            except OSError:
                continue
            files += bool(re.search(r"^AnalysisType\s*:", text, re.M))
try:
    d = json.load(open(report))
except Exception as e:
    print(f"| {tag} | ? | ? | ? | {rc} | unreadable report: {e} |" + (" ? |" if pat else ""))
    sys.exit(0)
diags = d.get("diagnostics", [])
errors = [x for x in diags if x.get("severity") == "error"]
warnings = [x for x in diags if x.get("severity") == "warning"]
codes = collections.Counter(x.get("code") for x in errors)
codes = ", ".join(f"`{c}` {n}" for c, n in sorted(codes.items())) or "none"
row = f"| {tag} | {files} | {len(errors)} | {len(warnings)} | {rc} | {codes} |"
notes = []
if pat:
    try:
        p = json.load(open(pat))["invalid"]
    except Exception as e:
        p = None
        row += f" ? ({e}) |"
    if p is not None:
        pat_files = {f for f, _ in p}
        row += f" {len(pat_files)} |"
        det_files = {x.get("file") for x in errors}
        for f in sorted(det_files - pat_files):
            first = next(x for x in errors if x.get("file") == f)
            notes.append(f"- {tag}: only detect rejects `{f}`: {first.get('line')}:{first.get('column')} {first.get('code')}: {first.get('message')}")
        for f, err in sorted(p):
            if f not in det_files:
                notes.append(f"- {tag}: only PAT rejects `{f}`: {err}")
print(row)
for n in notes:
    print(n, file=sys.stderr)
EOF

header="| tag | files | errors | warnings | exit | error codes |"
rule="|---|---:|---:|---:|---:|---|"
if [[ -n $pat_python ]]; then
    header+=" PAT invalid |"
    rule+="---:|"
fi
echo "$header"
echo "$rule"
notes=$work/notes
: >"$notes"
for rev in $revs; do
    tree=$work/$rev
    mkdir -p "$tree"
    git --git-dir="$git_dir" archive "$rev" | tar -x -C "$tree"
    report=$work/$rev.json
    rc=0
    (cd "$tree" && "$detect" validate --format json --color never) >"$report" 2>"$work/$rev.stderr" || rc=$?
    pat_report=
    if [[ -n $pat_python ]]; then
        pat_report=$work/$rev.pat.json
        (cd "$tree" && "$pat_python" "$pat_check") >"$pat_report" 2>"$work/$rev.pat.stderr" || true
    fi
    python3 "$summarise" "$rev" "$rc" "$report" "$pat_report" "$tree" 2>>"$notes" ||
        echo "| $rev | ? | ? | ? | $rc | summary failed |"
    [[ -n ${PAT_RELEASES_KEEP:-} ]] || rm -rf "$tree"
done
if [[ -s $notes ]]; then
    echo
    cat "$notes"
fi
