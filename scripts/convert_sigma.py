#!/usr/bin/env python3
"""Converts Sigma rules to Panther YAML, one file per rule, rule by rule.

Run it with the Python of a virtual environment that has sigma-cli and
pySigma-backend-panther (see docs/benchmarks.md):

    $SIGMA_VENV/bin/python scripts/convert_sigma.py --out DIR [--format sdyaml] \
        [--pipeline panther] SIGMA_DIR_OR_FILE...

It does what `sigma convert -t panther -p panther -f sdyaml -s -O output_dir=DIR`
does, but one rule at a time: sigma-cli stops the whole conversion at the first
rule the backend crashes on (a TypeError, not a conversion error it can skip),
and it reads every `*.yml` below a folder, GitHub workflow files included. Here
a rule that fails is counted under its error message and the rest go on. The
summary (converted, failed by reason) goes to stderr; with `--failures FILE`,
one line per failed rule (path, tab, message) goes to FILE.

Not a test and not part of `detect`: a setup step of scripts/bench_sigma.sh.
"""

import argparse
import collections
import pathlib
import sys
import warnings

import click
from sigma.backends.panther import PantherBackend
from sigma.collection import SigmaCollection
from sigma.plugins import InstalledSigmaPlugins


def rule_files(inputs):
    """Every *.yml below the inputs, sorted, skipping hidden folders."""
    out = []
    for i in inputs:
        p = pathlib.Path(i)
        if p.is_file():
            out.append(p)
            continue
        for f in sorted(p.rglob("*.yml")):
            if not any(part.startswith(".") for part in f.relative_to(p).parts):
                out.append(f)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--out", required=True)
    ap.add_argument("--format", default="sdyaml")
    ap.add_argument("--pipeline", default="panther")
    ap.add_argument("--failures")
    args = ap.parse_args()

    out = pathlib.Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    plugins = InstalledSigmaPlugins.autodiscover()
    resolver = plugins.get_pipeline_resolver()
    pipelines = tuple(args.pipeline.split(","))

    # The backend reads the pipeline names and the format from sigma-cli's
    # click context, so the conversion runs inside one.
    ctx = click.Context(click.Command("convert"), info_name="convert")
    ctx.params = {"pipeline": pipelines, "format": args.format, "target": "panther"}

    reasons = collections.Counter()
    failed = []
    converted = 0
    files = rule_files(args.inputs)
    with ctx:
        for f in files:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    coll = SigmaCollection.load_ruleset([f], collect_errors=True)
                    errors = [e for r in coll.rules for e in r.errors]
                    if errors:
                        raise ValueError(f"not a valid Sigma rule: {errors[0]}")
                    if not coll.rules:
                        raise ValueError("no Sigma rule in the file")
                    backend = PantherBackend(
                        processing_pipeline=resolver.resolve(list(pipelines)),
                        collect_errors=True,
                        output_dir=str(out),
                    )
                    backend.convert(coll, args.format)
                if backend.errors:
                    raise ValueError(str(backend.errors[0][1]))
                converted += 1
            except Exception as e:  # noqa: BLE001 - every failure is counted, none stops the run
                msg = str(e).split(" (while ")[0].strip() or type(e).__name__
                # Group messages that differ only by the value they quote.
                key = msg.split(":")[0] if "wildcards" in msg or "tactic" in msg else msg
                reasons[f"{type(e).__name__}: {key}"[:140]] += 1
                failed.append((str(f), msg))

    print(f"{len(files)} Sigma files, {converted} converted, {len(failed)} failed", file=sys.stderr)
    for reason, n in reasons.most_common():
        print(f"  {n:5d}  {reason}", file=sys.stderr)
    if args.failures:
        with open(args.failures, "w", encoding="utf-8") as fh:
            for path, msg in failed:
                fh.write(f"{path}\t{msg}\n")


if __name__ == "__main__":
    main()
