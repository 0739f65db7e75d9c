#!/usr/bin/env python3
"""Pairs of duplicated blocks: K or more significant lines alike, in order.

Usage: scripts/dupes.py [DIR ...]   (default: src tests; K=6 by default,
set K in the environment to change it). Prints each pair and, on stderr,
the count. `src/ip.rs ~ src/engine/naive.rs` is intentional: the reference
interpreter is independent of the engine's helpers.

A line is significant when, stripped, it holds a letter or digit and is not
a comment, an attribute, or a `use`/`mod` line (brackets-only lines and
blank lines are skipped, so layout does not hide a copy). Every window of K
significant lines is hashed; two occurrences of a window at different places
form a pair, and consecutive windows that continue the same pair merge into
one block. Each maximal block pair is counted once.
"""
import os, sys, collections, re

K = int(os.environ.get("K", "6"))
roots = sys.argv[1:] or ["src", "tests"]

def significant(line):
    s = line.strip()
    if not re.search(r"[A-Za-z0-9]", s):
        return None
    if s.startswith(("//", "#[", "#![", "use ", "pub use ", "mod ", "pub mod ", "pub(crate) mod ")):
        return None
    return re.sub(r"\s+", " ", s)

files = {}
for root in roots:
    for d, _, names in os.walk(root):
        for n in sorted(names):
            if n.endswith(".rs"):
                p = os.path.join(d, n)
                lines = []
                for no, l in enumerate(open(p, encoding="utf-8", errors="replace"), 1):
                    s = significant(l)
                    if s is not None:
                        lines.append((no, s))
                files[p] = lines

windows = collections.defaultdict(list)
for p, lines in files.items():
    for i in range(len(lines) - K + 1):
        key = tuple(s for _, s in lines[i:i + K])
        windows[key].append((p, i))

pairs = set()
for key, occ in windows.items():
    if len(occ) < 2:
        continue
    for a in range(len(occ)):
        for b in range(a + 1, len(occ)):
            (pa, ia), (pb, ib) = occ[a], occ[b]
            if pa == pb and abs(ia - ib) < K:
                continue  # overlapping repeats of one block
            pairs.add(((pa, ia), (pb, ib)))

# Merge runs: (pa, ia),(pb, ib) continues (pa, ia-1),(pb, ib-1).
blocks = []
for (pa, ia), (pb, ib) in sorted(pairs):
    if ((pa, ia - 1), (pb, ib - 1)) in pairs:
        continue
    n = 0
    while ((pa, ia + n), (pb, ib + n)) in pairs:
        n += 1
    la, lb = files[pa], files[pb]
    blocks.append((pa, la[ia][0], la[ia + n + K - 2][0], pb, lb[ib][0], lb[ib + n + K - 2][0], n + K - 1))

for b in blocks:
    print(f"{b[0]}:{b[1]}-{b[2]}  ~  {b[3]}:{b[4]}-{b[5]}  ({b[6]} lines)")
print(f"{len(blocks)} pairs", file=sys.stderr)
