#!/usr/bin/env bash
# Side by side, in one run: `detect run` over the CloudTrail rules converted
# from Sigma to Panther YAML, and `rsigma engine eval` over the same Sigma
# rules, on the same generated CloudTrail events; then the matches per rule
# on both sides; then `detect validate` over the whole converted folder and
# `rsigma rule validate` and `rsigma rule lint` over the Sigma rules. Not a test: it measures and
# prints, and exits 0 whatever the numbers or the differences are.
#
# Setup (outside the repository) and the conversion: docs/benchmarks.md.
#
# Usage: scripts/bench_sigma.sh
#   SIGMA_RULES=DIR      Sigma rules to run (a SigmaHQ checkout's rules/cloud/aws/cloudtrail); required
#   PANTHER_RULES=DIR    the converted Panther YAML (one file per rule, e.g. <stem>_simple.yml); required
#   SIGMA_ALL="DIR..."   Sigma rule folders for `rsigma rule validate` and `rule lint`,
#                        space-separated, copied into one folder (default: SIGMA_RULES)
#   RSIGMA=BIN           the rsigma binary (default: rsigma on PATH)
#   BENCH_EVENTS=250000  number of generated events
#   BENCH_MATCH=0.03     share of events built from the rules' selections
#   BENCH_CASE=0         share of those whose strings have their case swapped (Sigma
#                        matches them, Panther's case-sensitive conditions do not)
#   PYTHON=python3       the interpreter of the event generator (standard library only)
#   BENCH_KEEP=1         keep the work folder (path printed)
#   CARGO_TARGET_DIR=... honoured; the binary is $CARGO_TARGET_DIR/release/detect
#
# A Sigma rule takes part when PANTHER_RULES has its conversion, found by the
# file name (<stem>_simple.yml, as pySigma-backend-panther names it, or
# <stem>.yml); the pairs are copied into a temporary folder, the Panther side
# under rules/ beside a `.pat-root`. Every pass runs once to warm the page
# cache, then once under GNU time (`/usr/bin/time -f '%e %U %S %M'`): wall
# seconds, CPU seconds (user + system), events/s and peak RSS. The ratio is
# rsigma's wall time over detect's (above 1: detect is faster) and detect's
# peak RSS minus rsigma's.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
py=${PYTHON:-python3}
events_n=${BENCH_EVENTS:-250000}
rsigma=${RSIGMA:-rsigma}

[[ -n ${SIGMA_RULES:-} && -d ${SIGMA_RULES:-} ]] || { echo "bench_sigma.sh: set SIGMA_RULES to a folder of Sigma rules" >&2; exit 2; }
[[ -n ${PANTHER_RULES:-} && -d ${PANTHER_RULES:-} ]] || { echo "bench_sigma.sh: set PANTHER_RULES to the converted folder" >&2; exit 2; }
sigma_all=${SIGMA_ALL:-$SIGMA_RULES}
for d in $sigma_all; do
    [[ -d $d ]] || { echo "bench_sigma.sh: SIGMA_ALL: $d is not a folder" >&2; exit 2; }
done
command -v "$rsigma" >/dev/null || { echo "bench_sigma.sh: no rsigma binary ($rsigma); set RSIGMA" >&2; exit 2; }
rsigma=$(command -v "$rsigma")
[[ -x /usr/bin/time ]] || { echo "bench_sigma.sh: needs GNU time (apt-get install -y time)" >&2; exit 2; }

echo "building: cargo build --release" >&2
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-$root/target}/release/detect
[[ -x $bin ]] || { echo "bench_sigma.sh: no binary at $bin" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/detect-bench-sigma.XXXXXX")
if [[ ${BENCH_KEEP:-0} == 1 ]]; then
    echo "keeping $work" >&2
else
    trap 'rm -rf "$work"' EXIT
fi

# The pairs: a Sigma rule and its conversion, and the Sigma id -> file stem map.
mkdir -p "$work/sigma" "$work/panther/rules" "$work/all/rules"
touch "$work/panther/.pat-root" "$work/all/.pat-root"
: >"$work/ids"
unpaired=0
while IFS= read -r -d '' f; do
    stem=$(basename "$f" .yml)
    conv=
    for c in "$PANTHER_RULES/${stem}_simple.yml" "$PANTHER_RULES/$stem.yml"; do
        if [[ -f $c ]]; then conv=$c; break; fi
    done
    if [[ -z $conv ]]; then
        unpaired=$((unpaired + 1))
        continue
    fi
    cp "$f" "$work/sigma/"
    cp "$conv" "$work/panther/rules/"
    id=$(sed -nE "s/^id:[[:space:]]*['\"]?([^'\" ]+)['\"]?[[:space:]]*$/\1/p" "$f" | head -1)
    rid=$(sed -nE "s/^RuleID:[[:space:]]*['\"]?([^'\" ]+)['\"]?[[:space:]]*$/\1/p" "$conv" | head -1)
    printf '%s\t%s\t%s\n' "$stem" "$id" "$rid" >>"$work/ids"
done < <(find "$SIGMA_RULES" -name '*.yml' -print0 | sort -z)
pairs=$(wc -l <"$work/ids")
[[ $pairs -gt 0 ]] || { echo "bench_sigma.sh: no Sigma rule of $SIGMA_RULES has a conversion in $PANTHER_RULES" >&2; exit 2; }
echo "$pairs rule pairs ($unpaired Sigma rules without a conversion left out)" >&2

echo "generating $events_n events" >&2
"$py" "$root/scripts/gen_cloudtrail_events.py" --sigma "$work/sigma" --events "$events_n" \
    --match "${BENCH_MATCH:-0.03}" --case-variants "${BENCH_CASE:-0}" --out "$work/events.jsonl" >/dev/null 2>"$work/gen.err" ||
    { cat "$work/gen.err" >&2; exit 2; }
grep -v '^ ' "$work/gen.err" >&2 || true
bytes=$(stat -c %s "$work/events.jsonl")

# measure LABEL CMD...: one warm-up, then one timed run; stdout to $work/LABEL.out.
: >"$work/rows"
measure() {
    local label=$1
    shift
    "$@" >/dev/null 2>&1 || true
    local code=0
    /usr/bin/time -f '%e %U %S %M' -o "$work/$label.time" "$@" >"$work/$label.out" 2>"$work/$label.err" || code=$?
    read -r secs user sys rss < <(tail -1 "$work/$label.time")
    printf '%s %s %s %s %s %s\n' "$label" "$secs" "$user" "$sys" "$rss" "$code" >>"$work/rows"
}

measure detect-run "$bin" run "$work/panther" --events "$work/events.jsonl" --alerts-out /dev/null --no-alert-limit
measure rsigma-eval "$rsigma" engine eval -r "$work/sigma" -e "@$work/events.jsonl"

echo
echo "run on $(nproc) cores: $pairs rules, $events_n events, $((bytes >> 20)) MB" \
    "($((bytes / events_n)) bytes/event); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "detect $("$bin" --version | head -1) · $("$rsigma" --version | head -1)"
grep -m1 'events ·' "$work/detect-run.err" || true
awk -v events="$events_n" '
    { secs[$1] = $2; cpu[$1] = $3 + $4; rss[$1] = $5; code[$1] = $6; order[NR] = $1 }
    END {
        printf "%-12s %8s %8s %12s %10s %5s\n", "pass", "wall s", "cpu s", "events/s", "RSS MB", "exit"
        for (i = 1; i <= NR; i++) {
            p = order[i]
            s = secs[p] > 0 ? secs[p] : 0.001
            printf "%-12s %8.2f %8.2f %12.0f %10.1f %5s\n", p, secs[p], cpu[p], events / s, rss[p] / 1024, code[p]
        }
        d = secs["detect-run"] > 0 ? secs["detect-run"] : 0.001
        dc = cpu["detect-run"] > 0 ? cpu["detect-run"] : 0.001
        printf "RATIO rsigma/detect: wall %.1fx, cpu %.1fx; peak RSS detect - rsigma: %+.1f MB\n",
            secs["rsigma-eval"] / d, cpu["rsigma-eval"] / dc, (rss["detect-run"] - rss["rsigma-eval"]) / 1024
    }' "$work/rows"

# Matches per rule: detect's summary lines ("  ID: N matches, ...") against
# rsigma's one JSON object per match (rule_id), both keyed by the Sigma file stem.
echo
"$py" - "$work/ids" "$work/detect-run.err" "$work/rsigma-eval.out" <<'EOF'
import collections, json, re, sys

ids, detect_err, rsigma_out = sys.argv[1:4]
by_rid, by_id, stems = {}, {}, []
for line in open(ids, encoding="utf-8"):
    stem, sid, rid = (line.rstrip("\n").split("\t") + ["", ""])[:3]
    stems.append(stem)
    by_rid[rid] = stem
    by_id[sid] = stem
d = collections.Counter()
for line in open(detect_err, encoding="utf-8", errors="replace"):
    m = re.match(r"^  (\S+): (\d+) match", line)
    if m and m.group(1) in by_rid:
        d[by_rid[m.group(1)]] += int(m.group(2))
r = collections.Counter()
unknown = collections.Counter()
for line in open(rsigma_out, encoding="utf-8", errors="replace"):
    line = line.strip()
    if not line.startswith("{"):
        continue
    try:
        obj = json.loads(line)
    except ValueError:
        continue
    key = obj.get("rule_id") or obj.get("id")
    if key in by_id:
        r[by_id[key]] += 1
    else:
        unknown[obj.get("rule_title") or key] += 1
diff = [s for s in stems if d[s] != r[s]]
print(f"matches: detect {sum(d.values())}, rsigma {sum(r.values())}; "
      f"{len(stems) - len(diff)} of {len(stems)} rules agree")
if unknown:
    print(f"rsigma matches of no known rule id: {dict(unknown)}")
if diff:
    print(f"{'rule (Sigma file stem)':<60} {'detect':>8} {'rsigma':>8}")
    for s in diff:
        print(f"{s:<60} {d[s]:>8} {r[s]:>8}")
EOF

# Validation of everything converted, and of the Sigma rules.
cp -r "$PANTHER_RULES"/. "$work/all/rules/"
files=$(find "$work/all/rules" -type f | wc -l)
mkdir -p "$work/sigma-all"
for d in $sigma_all; do
    mkdir -p "$work/sigma-all/$(basename "$d")"
    cp -r "$d"/. "$work/sigma-all/$(basename "$d")/"
done
sigma_files=$(find "$work/sigma-all" -name '*.yml' | wc -l)
: >"$work/rows"
measure detect-validate "$bin" validate "$work/all"
measure rsigma-validate "$rsigma" rule validate "$work/sigma-all"
measure rsigma-lint "$rsigma" rule lint "$work/sigma-all"
echo
echo "validate: detect over $files converted files; rsigma over $sigma_files Sigma files ($sigma_all)"
echo "detect: $(grep -E '^Passed:' "$work/detect-validate.out" || true)"
grep -ohE '(error|warning)\[[a-z0-9-]+\]' "$work/detect-validate.out" | sort | uniq -c | sed 's/^/  /' || true
echo "rsigma validate: $(grep -E 'Compiled OK|Compile errors|Parse errors' "$work/rsigma-validate.out" | tr -s ' ' | paste -sd, -)"
echo "rsigma lint: $(tail -n 1 "$work/rsigma-lint.out" "$work/rsigma-lint.err" 2>/dev/null | grep -v -e '^$' -e '^==>' | tail -1)"
awk '
    { printf "%-16s %8.2f s wall %8.2f s cpu %10.1f MB RSS  exit %s\n", $1, $2, $3 + $4, $5 / 1024, $6 }' "$work/rows"
