#!/usr/bin/env bash
# Checks that two builds of `detect` give the same `validate` and `test`
# reports, byte for byte (run times aside), on the given repositories: in
# the human, JSON, SARIF and JUnit formats, with and without filters. A
# change to how files are loaded or kept (docs/design/016) must not change
# a report. Exits 1 on a difference and prints the first lines of it.
#
# Usage: scripts/report_equiv.sh BEFORE_BIN AFTER_BIN REPO...
#   A REPO is any folder `detect` reads (the shared corpus, a checkout of
#   panther-analysis, `scripts/gen_repo.py` output, fixtures/example-repo).
#   Python detections run when the repository has its `.detect/venv`.
set -euo pipefail

before=${1:?usage: report_equiv.sh BEFORE_BIN AFTER_BIN REPO...}
after=${2:?usage: report_equiv.sh BEFORE_BIN AFTER_BIN REPO...}
shift 2
before=$(realpath "$before")
after=$(realpath "$after")
[[ -x $before && -x $after ]] || { echo "report_equiv.sh: both builds must be executables" >&2; exit 2; }
[[ $# -gt 0 ]] || { echo "report_equiv.sh: name at least one repository" >&2; exit 2; }

# Run times differ from run to run: the summary's `N ms` and every
# `duration_ms` (a float per test in JSON) are blanked.
norm() { sed -E 's/"duration_ms": [0-9.]+/"duration_ms": 0/; s/[0-9]+ ms\)/N ms)/; s/time="[0-9.]+"/time="0"/g'; }

status=0
for repo in "$@"; do
    for args in "validate" "validate --format json" "validate --format sarif" \
        "validate --filter Enabled=true --format json" \
        "test" "test -v" "test --format json" "test --format junit" \
        "test --filter Severity=High --format json" "test --filter Tags=AWS"; do
        # shellcheck disable=SC2086 # the arguments are split on purpose
        o=$(cd "$repo" && "$before" $args . 2>&1 | norm || true)
        # shellcheck disable=SC2086
        n=$(cd "$repo" && "$after" $args . 2>&1 | norm || true)
        if [[ $o == "$n" ]]; then
            echo "same  $repo: detect $args"
        else
            echo "DIFF  $repo: detect $args"
            diff <(printf '%s\n' "$o") <(printf '%s\n' "$n") | head -10 || true
            status=1
        fi
    done
done
exit $status
