#!/usr/bin/env bash
# Benchmarks `detect validate` (and `detect test`) on generated repositories
# and on the shared conformance corpus. Not a test: it measures, it asserts
# nothing, and it always exits 0 once the build succeeded.
#
# Usage: scripts/bench.sh
#   BENCH_SIZES="1000 10000"   rule counts of the generated repositories
#   BENCH_RUNS=5               timed runs per row (the table shows the best)
#   CORPUS=/path/to/corpus     default: ../shared/corpus or /work/shared/corpus
#   CARGO_TARGET_DIR=...       honoured; the binary is $CARGO_TARGET_DIR/release/detect
#   BENCH_KEEP=1               keep the generated repositories (path printed)
#   BENCH_BASELINE=REF|BINARY  also run a baseline on every row and print the
#                              ratios (this build / baseline) of best time and
#                              peak RSS: a `detect` binary, or a git ref (tag,
#                              commit) built once into target/bench-baseline/REF
#
# Wall time comes from hyperfine when installed (one warm-up run, then
# BENCH_RUNS runs), else from a `date +%s%N` loop. Peak RSS comes from one
# run under GNU time (`/usr/bin/time -f %M`). Install both on Debian with
# `apt-get install -y hyperfine time`. Every run is warm (files in the page
# cache); output goes to /dev/null. Targets (2 cores): corpus < 100 ms,
# 10,000 rules < 1 s.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
sizes=${BENCH_SIZES:-1000 10000}
runs=${BENCH_RUNS:-5}

corpus=${CORPUS:-}
if [[ -z $corpus ]]; then
    for c in "$root/../shared/corpus" /work/shared/corpus; do
        if [[ -d $c ]]; then corpus=$(cd "$c" && pwd); break; fi
    done
fi

echo "building: cargo build --release" >&2
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-$root/target}/release/detect
[[ -x $bin ]] || { echo "bench.sh: no binary at $bin" >&2; exit 2; }

# The baseline binary, built from a git ref when one is given.
base=
if [[ -n ${BENCH_BASELINE:-} ]]; then
    if [[ -x $BENCH_BASELINE && ! -d $BENCH_BASELINE ]]; then
        base=$BENCH_BASELINE
    else
        rev=$(git rev-parse --verify --quiet "$BENCH_BASELINE^{commit}") ||
            { echo "bench.sh: BENCH_BASELINE=$BENCH_BASELINE is neither a binary nor a git ref" >&2; exit 2; }
        bdir="$root/target/bench-baseline/$rev"
        base="$bdir/target/release/detect"
        if [[ ! -x $base ]]; then
            echo "building the baseline $BENCH_BASELINE ($rev) in $bdir" >&2
            rm -rf "$bdir/src-tree" && mkdir -p "$bdir/src-tree"
            git archive "$rev" | tar -x -C "$bdir/src-tree"
            (cd "$bdir/src-tree" && CARGO_TARGET_DIR="$bdir/target" cargo build --release --quiet --locked)
        fi
    fi
fi

has_test=0
if "$bin" --help | grep -qE '^  test( |$)'; then has_test=1; fi

have_hyperfine=0
if command -v hyperfine >/dev/null; then have_hyperfine=1; fi
have_time=0
if [[ -x /usr/bin/time ]]; then have_time=1; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/detect-bench.XXXXXX")
if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    echo "keeping $work" >&2
else
    trap 'rm -rf "$work"' EXIT
fi

# measure CMD...: prints "best mean rss exit" of one command.
measure() {
    local code=0
    "$@" >/dev/null 2>&1 || code=$?
    local best mean
    if ((have_hyperfine)); then
        local json="$work/hf.json"
        # -N: no shell in between; -i: some corpus folders exit 1 on purpose.
        hyperfine -N -i --warmup 1 --runs "$runs" --export-json "$json" \
            --style none "$(printf '%q ' "$@")" >/dev/null 2>&1
        read -r best mean < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print("%.1f %.1f" % (min(r["times"]) * 1000, r["mean"] * 1000))' "$json")
    else
        local t0 t1 ms total=0
        best=
        for ((i = 0; i < runs; i++)); do
            t0=$(date +%s%N)
            "$@" >/dev/null 2>&1 || true
            t1=$(date +%s%N)
            ms=$(((t1 - t0) / 1000))
            total=$((total + ms))
            if [[ -z $best || $ms -lt $best ]]; then best=$ms; fi
        done
        best=$(awk -v u="$best" 'BEGIN { printf "%.1f", u / 1000 }')
        mean=$(awk -v u="$total" -v n="$runs" 'BEGIN { printf "%.1f", u / n / 1000 }')
    fi
    local rss=n/a
    if ((have_time)); then
        /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null 2>&1 || true
        rss=$(tail -n 1 "$work/rss" | awk '{ printf "%.1f", $1 / 1024 }')
    fi
    echo "$best $mean $rss $code"
}

# time_cmd LABEL FILES BIN ARGS...: appends one table row to $work/rows,
# with the baseline's figures and the ratios when there is a baseline.
time_cmd() {
    local label=$1 files=$2 cmd_bin=$3
    shift 3
    local best mean rss code
    read -r best mean rss code < <(measure "$cmd_bin" "$@")
    local row
    row=$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$label" "$files" "$best" "$mean" "$rss" "$code")
    if [[ -n $base ]]; then
        local bbest bmean brss bcode
        read -r bbest bmean brss bcode < <(measure "$base" "$@")
        row+=$(awk -v a="$best" -v b="$bbest" -v r="$rss" -v br="$brss" 'BEGIN {
            t = (b > 0) ? sprintf("%.2f", a / b) : "n/a";
            m = (br + 0 > 0 && r + 0 > 0) ? sprintf("%.2f", r / br) : "n/a";
            printf "\t%s\t%s\t%s\t%s", b, br, t, m }')
    fi
    printf '%s\n' "$row" >>"$work/rows"
}

count_yml() { find "$1" -type f \( -name '*.yml' -o -name '*.yaml' \) | wc -l; }

: >"$work/rows"
for n in $sizes; do
    repo="$work/repo-$n"
    python3 "$root/scripts/gen_repo.py" --count "$n" --out "$repo" 2>/dev/null
    time_cmd "validate gen-$n" "$n" "$bin" validate "$repo"
    if ((has_test)); then
        time_cmd "test gen-$n" "$n" "$bin" test "$repo"
    fi
done

if [[ -n $corpus ]]; then
    # The sets of the corpus README, one row per folder loaded as one set
    # (a summary folder whose subfolders have their own folder expectations,
    # such as simple-detections/valid and /invalid, is split into those),
    # then the whole corpus.
    folders=$(python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))
sets = [f["folder"] for f in e.get("folder_expectations", [])]
for key in e["summary"]:
    subs = [s for s in sets if s.startswith(key + "/")]
    print("\n".join(subs) if subs else key)' "$corpus/expectations.json" 2>/dev/null ||
        (cd "$corpus" && find . -mindepth 2 -maxdepth 2 -type d | sed 's|^\./||' | sort))
    for f in $folders; do
        time_cmd "validate $f" "$(count_yml "$corpus/$f")" "$bin" validate "$corpus/$f"
    done
    time_cmd "validate corpus (all)" "$(count_yml "$corpus")" "$bin" validate "$corpus"
else
    echo "bench.sh: corpus not found; set CORPUS" >&2
fi

echo
echo "detect $("$bin" --version | awk '{ print $2 }') on $(nproc) cores; best and mean of $runs runs" \
    "($( ((have_hyperfine)) && echo hyperfine || echo 'date loop')); load average at the end:" \
    "$(cut -d' ' -f1-3 /proc/loadavg) (numbers are only meaningful on an idle machine)"
{
    printf 'command\tfiles\tbest ms\tmean ms\tpeak RSS MB\texit'
    [[ -n $base ]] && printf '\tbase best ms\tbase RSS MB\ttime ratio\tRSS ratio'
    printf '\n'
    cat "$work/rows"
} | column -t -s $'\t'
