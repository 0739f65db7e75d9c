#!/usr/bin/env bash
# Benchmarks `detect run` on generated CloudTrail-like logs with every
# runnable detection of the shared corpus loaded, next to a parse-only pass
# over the same file. Not a test: it measures and asserts nothing.
#
# Usage: scripts/bench_run.sh
#   BENCH_MB=1024            size of the generated JSON Lines file
#   BENCH_KEEP=1             keep the work folder (path printed)
#   CORPUS=/path/to/corpus   default: ../shared/corpus or /work/shared/corpus
#   CARGO_TARGET_DIR=...     honoured; the binary is $CARGO_TARGET_DIR/release/detect
#
# Reports events/s, MB/s and peak RSS (GNU time) of both passes and the
# ratio run / parse-only of their throughput (goal: at least 0.5). The
# corpus folders are copied to a temporary folder at run time; files that
# are invalid or cannot be evaluated offline (Python rules) are skipped by
# `detect run` itself, as in any repository.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mb=${BENCH_MB:-1024}

corpus=${CORPUS:-}
if [[ -z $corpus ]]; then
    for c in "$root/../shared/corpus" /work/shared/corpus; do
        if [[ -d $c ]]; then corpus=$(cd "$c" && pwd); break; fi
    done
fi
[[ -n $corpus ]] || { echo "bench_run.sh: corpus not found; set CORPUS" >&2; exit 2; }

echo "building: cargo build --release" >&2
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-$root/target}/release/detect
[[ -x $bin ]] || { echo "bench_run.sh: no binary at $bin" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "bench_run.sh: needs GNU time (apt-get install -y time)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/detect-bench-run.XXXXXX")
if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    echo "keeping $work" >&2
else
    trap 'rm -rf "$work"' EXIT
fi

mkdir -p "$work/repo"
cp -r "$corpus"/. "$work/repo/"
# Mark the copy as a project root so that nothing above it is searched.
printf 'detect:\n  format: human\n' >"$work/repo/.panther_settings.yml"

echo "generating ${mb} MB of events" >&2
events=$(python3 "$root/scripts/gen_events.py" --mb "$mb" --out "$work/events.jsonl")
bytes=$(stat -c %s "$work/events.jsonl")

# measure LABEL ARGS...: one warm-up, then one timed run under GNU time.
measure() {
    local label=$1
    shift
    "$bin" run "$work/repo" --all-dirs --quiet --events "$work/events.jsonl" --alerts-out /dev/null "$@" \
        >/dev/null 2>"$work/$label.warm" || true
    /usr/bin/time -f '%e %M' -o "$work/$label.time" \
        "$bin" run "$work/repo" --all-dirs --quiet --events "$work/events.jsonl" --alerts-out /dev/null "$@" \
        >/dev/null 2>"$work/$label.err" || true
    read -r secs rss <"$work/$label.time"
    printf '%s %s %s\n' "$label" "$secs" "$rss" >>"$work/rows"
}

: >"$work/rows"
measure parse-only --parse-only
measure run

echo
echo "detect run on $(nproc) cores: $events events, $((bytes >> 20)) MB; load average at the end:" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
grep -m1 'rules evaluated' "$work/run.err" || true
awk -v events="$events" -v bytes="$bytes" '
    { secs[$1] = $2; rss[$1] = $3 }
    END {
        printf "%-12s %10s %14s %10s %14s\n", "pass", "seconds", "events/s", "MB/s", "peak RSS MB"
        for (p in secs) {
            s = secs[p] > 0 ? secs[p] : 0.001
            printf "%-12s %10.2f %14.0f %10.1f %14.1f\n", p, s, events / s, bytes / 1048576 / s, rss[p] / 1024
        }
        if (secs["run"] > 0) printf "ratio run / parse-only (throughput): %.2f (goal >= 0.5)\n", secs["parse-only"] / secs["run"]
    }' "$work/rows"
