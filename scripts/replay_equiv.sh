#!/usr/bin/env bash
# Checks that two builds of `detect` replay the same inputs to the same
# bytes: the alerts file (the delivery payloads), the signals file and the
# `--format json` report (its run time aside), on the shared corpus with
# generated events and on the run fixture's logs. Exits 1 on a difference.
#
# Usage: scripts/replay_equiv.sh BEFORE_BIN [AFTER_BIN]
#   AFTER_BIN defaults to target/release/detect (built if missing).
#   BENCH_EVENTS=100000   generated events (scripts/gen_events.py)
#   CORPUS=/path/to/corpus
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
before=${1:?usage: replay_equiv.sh BEFORE_BIN [AFTER_BIN]}
after=${2:-${CARGO_TARGET_DIR:-$root/target}/release/detect}
[[ -x $after ]] || (cd "$root" && cargo build --release --quiet)
corpus=${CORPUS:-}
if [[ -z $corpus ]]; then
    for c in "$root/../shared/corpus" /work/shared/corpus; do
        if [[ -d $c ]]; then corpus=$(cd "$c" && pwd); break; fi
    done
fi
[[ -n $corpus ]] || { echo "replay_equiv.sh: corpus not found; set CORPUS" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/detect-equiv.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/repo"
cp -r "$corpus"/. "$work/repo/"
printf 'detect:\n  format: human\n' >"$work/repo/.panther_settings.yml"
python3 "$root/scripts/gen_events.py" --events "${BENCH_EVENTS:-100000}" --out "$work/events.jsonl" >/dev/null

# Both copies are called `detect`, so that messages naming the program agree.
mkdir -p "$work/before" "$work/after"
cp "$before" "$work/before/detect"
cp "$after" "$work/after/detect"

status=0
# compare NAME REPO EVENTS ARGS...
compare() {
    local name=$1 repo=$2 events=$3
    shift 3
    for which in before after; do
        local exe=$work/$which/detect
        "$exe" run "$repo" --now 2024-06-10T00:00:00Z --no-python --events "$events" \
            --alerts-out "$work/$name.$which.alerts" --signals-out "$work/$name.$which.signals" \
            --format json "$@" 2>"$work/$name.$which.err" |
            sed -E 's/"duration_ms": ?[0-9]+/"duration_ms":0/' >"$work/$name.$which.report" || true
    done
    for part in alerts signals report err; do
        if ! cmp -s "$work/$name.before.$part" "$work/$name.after.$part"; then
            echo "DIFFERENT: $name $part" >&2
            diff <(head -c 2000 "$work/$name.before.$part") <(head -c 2000 "$work/$name.after.$part") | head -20 >&2 || true
            status=1
        fi
    done
    printf '%-28s same bytes: %6d alerts, %7d signals, report %d bytes\n' "$name" \
        "$(wc -l <"$work/$name.after.alerts")" "$(wc -l <"$work/$name.after.signals")" \
        "$(wc -c <"$work/$name.after.report")"
}

compare corpus-generated "$work/repo" "$work/events.jsonl" --all-dirs
compare corpus-generated-1-job "$work/repo" "$work/events.jsonl" --all-dirs --jobs 1
for f in "$root"/fixtures/run/logs/*; do
    compare "fixture-$(basename "$f")" "$root/fixtures/run/repo" "$f"
done
exit $status
