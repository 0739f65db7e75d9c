#!/usr/bin/env python3
"""Measures `detect lsp`: edit -> publishDiagnostics latency on a generated repository.

Usage: scripts/lsp_latency.py [--count 1000] [--edits 50] [--detect target/release/detect]

Generates a repository with scripts/gen_repo.py into a temporary folder, starts `detect lsp` there,
opens one rule and sends full-text edits that alternately misspell and restore `Severity`; for each
edit it times the wait for the publishDiagnostics of that file that shows (or no longer shows)
`unknown-key`. Prints the load time and the median, 90th percentile and maximum latency.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--edits", type=int, default=50)
    ap.add_argument("--detect", default=str(HERE.parent / "target" / "release" / "detect"))
    args = ap.parse_args()
    args.detect = os.path.abspath(args.detect)
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp).resolve()
        subprocess.run([sys.executable, str(HERE / "gen_repo.py"), "--count", str(args.count), "--out", str(root)],
                       check=True, stdout=subprocess.DEVNULL)
        target = sorted(root.glob("rules/**/*.yml"))[args.count // 2]
        text = target.read_text()
        if "Severity:" not in text:
            sys.exit("the generated rule has no Severity key")
        p = subprocess.Popen([args.detect, "lsp"], cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        next_id = [0]

        def send(msg):
            body = json.dumps(msg).encode()
            p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            p.stdin.flush()

        def read():
            length = None
            while True:
                line = p.stdout.readline()
                if not line:
                    sys.exit("the server ended")
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            return json.loads(p.stdout.read(length))

        def request(method, params):
            next_id[0] += 1
            send({"jsonrpc": "2.0", "id": next_id[0], "method": method, "params": params})
            while True:
                m = read()
                if m.get("id") == next_id[0] and "method" not in m:
                    return m

        uri = target.as_uri()
        start = time.perf_counter()
        request("initialize", {"processId": None, "rootUri": root.as_uri(), "capabilities": {}})
        send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        send({"jsonrpc": "2.0", "method": "textDocument/didOpen",
              "params": {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}})
        request("textDocument/hover", {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 0}})
        loaded = time.perf_counter() - start
        latencies = []
        for v in range(args.edits):
            typo = v % 2 == 0
            edited = text.replace("Severity:", "Sevrity:", 1) if typo else text
            t = time.perf_counter()
            send({"jsonrpc": "2.0", "method": "textDocument/didChange",
                  "params": {"textDocument": {"uri": uri, "version": v + 2}, "contentChanges": [{"text": edited}]}})
            while True:
                m = read()
                if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri:
                    has = any(d.get("code") == "unknown-key" for d in m["params"]["diagnostics"])
                    if has == typo:
                        break
            latencies.append((time.perf_counter() - t) * 1000)
        request("shutdown", None)
        send({"jsonrpc": "2.0", "method": "exit", "params": None})
        p.wait(timeout=30)
        latencies.sort()
        print(f"{args.count} rules, {args.edits} edits with {os.path.relpath(args.detect)}: "
              f"initialize+load {loaded * 1000:.0f} ms; edit -> publishDiagnostics "
              f"median {latencies[len(latencies) // 2]:.1f} ms, p90 {latencies[int(len(latencies) * 0.9)]:.1f} ms, "
              f"max {latencies[-1]:.1f} ms; exit {p.returncode}")


if __name__ == "__main__":
    main()
