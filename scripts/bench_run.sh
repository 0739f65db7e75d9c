#!/usr/bin/env bash
# Benchmarks `detect run` on generated CloudTrail-like logs with every
# runnable detection of the shared corpus loaded, next to a parse-only pass
# over the same file and the serde_json floor (examples/json_floor.rs).
# Not a test: it measures and asserts nothing.
#
# Usage: scripts/bench_run.sh
#   BENCH_EVENTS=250000      number of generated events (default); or
#   BENCH_MB=1024            size of the generated JSON Lines file instead
#   BENCH_BEFORE=/path/bin   also measure this binary (e.g. an older build)
#   BENCH_KEEP=1             keep the work folder (path printed)
#   CORPUS=/path/to/corpus   default: ../shared/corpus or /work/shared/corpus
#   CARGO_TARGET_DIR=...     honoured; the binary is $CARGO_TARGET_DIR/release/detect
#
# Reports, per pass, wall seconds, CPU seconds (user + system), events/s,
# events per CPU-second and peak RSS (GNU time), and the ratio of events
# per CPU-second of each pass to the single-threaded serde_json floors
# (`IgnoredAny`: syntax only; `Value`: the full DOM). The corpus folders
# are copied to a temporary folder at run time; files that are invalid or
# cannot be evaluated offline (Python rules) are skipped by `detect run`
# itself, as in any repository.
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

echo "building: cargo build --release (and examples/json_floor)" >&2
cargo build --release --quiet
cargo build --release --quiet --example json_floor
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

if [[ -n ${BENCH_MB:-} ]]; then
    echo "generating ${mb} MB of events" >&2
    events=$(python3 "$root/scripts/gen_events.py" --mb "$mb" --out "$work/events.jsonl")
else
    echo "generating ${BENCH_EVENTS:-250000} events" >&2
    events=$(python3 "$root/scripts/gen_events.py" --events "${BENCH_EVENTS:-250000}" --out "$work/events.jsonl")
fi
bytes=$(stat -c %s "$work/events.jsonl")

# measure LABEL BIN ARGS...: one warm-up, then one timed run under GNU time.
measure() {
    local label=$1 exe=$2
    shift 2
    "$exe" run "$work/repo" --all-dirs --quiet --events "$work/events.jsonl" --alerts-out /dev/null "$@" \
        >/dev/null 2>"$work/$label.warm" || true
    /usr/bin/time -f '%e %U %S %M' -o "$work/$label.time" \
        "$exe" run "$work/repo" --all-dirs --quiet --events "$work/events.jsonl" --alerts-out /dev/null "$@" \
        >/dev/null 2>"$work/$label.err" || true
    read -r secs user sys rss <"$work/$label.time"
    printf '%s %s %s %s %s\n' "$label" "$secs" "$user" "$sys" "$rss" >>"$work/rows"
}

: >"$work/rows"
measure parse-only "$bin" --parse-only
measure run "$bin"
measure run-full-eval "$bin" --full-eval
if [[ -n ${BENCH_BEFORE:-} ]]; then
    measure before "$BENCH_BEFORE"
fi
floor_bin=${CARGO_TARGET_DIR:-$root/target}/release/examples/json_floor
"$floor_bin" "$work/events.jsonl" >"$work/floor"
cat "$work/floor"
ignored=$(awk '$1 == "IgnoredAny" { print $0 }' "$work/floor" | sed -E 's/.*= ([0-9]+) events.*/\1/')
value=$(awk '$1 == "Value" { print $0 }' "$work/floor" | sed -E 's/.*= ([0-9]+) events.*/\1/')

echo
echo "detect run on $(nproc) cores: $events events, $((bytes >> 20)) MB; load average at the end:" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
grep -m1 'rules evaluated' "$work/run.err" || true
awk -v events="$events" -v bytes="$bytes" -v ignored="$ignored" -v value="$value" '
    { secs[$1] = $2; cpu[$1] = $3 + $4; rss[$1] = $5; order[NR] = $1 }
    END {
        printf "%-14s %8s %8s %12s %14s %8s %10s %8s %8s\n", "pass", "wall s", "cpu s", "events/s", "events/cpu-s", "MB/s", "RSS MB", "/Ignored", "/Value"
        for (i = 1; i <= NR; i++) {
            p = order[i]
            s = secs[p] > 0 ? secs[p] : 0.001
            c = cpu[p] > 0 ? cpu[p] : 0.001
            printf "%-14s %8.2f %8.2f %12.0f %14.0f %8.1f %10.1f %8.2f %8.2f\n", p, s, c, events / s, events / c, bytes / 1048576 / s, rss[p] / 1024, events / c / ignored, events / c / value
        }
        if (cpu["before"] > 0) printf "run / before (events per CPU-second): %.2f\n", cpu["before"] / cpu["run"]
    }' "$work/rows"
