#!/usr/bin/env python3
"""Times amp-autocast and amp-cast-cleanup on generated training steps from 1k
to 100k ops (MLP and transformer-like), using MLIR's own pass timing.

  run.py [--amp-opt build/bin/amp-opt] [--repeat 3] [--sizes 1000,10000,100000]

For each size it reports the median over --repeat runs of the two passes'
time without the verifier (-verify-each=false) and with it (amp-opt's default,
which verifies after every pass), plus microseconds per op: a flat us/op
column means time linear in graph size."""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def timed_pass_seconds(timing_report, name):
    """The wall time of pass `name` in a -mlir-timing-display=list report."""
    m = re.search(r"^\s*([0-9.]+) \(\s*[0-9.]+%\)\s+" + name + r"\s*$", timing_report, re.M)
    if not m:
        sys.exit("no timing for %s in:\n%s" % (name, timing_report))
    return float(m.group(1))


def pass_seconds(amp_opt, path, verify):
    cmd = [amp_opt, path, "--amp-autocast", "--amp-cast-cleanup", "-o", os.devnull,
           "-mlir-timing", "-mlir-timing-display=list"]
    if not verify:
        cmd.append("-verify-each=false")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stderr
    return sum(timed_pass_seconds(out, name) for name in ("AMPAutocast", "AMPCastCleanup"))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--amp-opt", default=os.path.join(ROOT, "build", "bin", "amp-opt"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="1000,3000,10000,30000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print("%-12s %8s %14s %8s %14s %8s" % ("model", "ops", "passes (s)", "us/op", "+verifier (s)", "us/op"))
    with tempfile.TemporaryDirectory() as tmp:
        for model in ("mlp", "transformer"):
            for size in sizes:
                path = os.path.join(tmp, "%s-%d.mlir" % (model, size))
                gen = subprocess.run([sys.executable, os.path.join(HERE, "gen_training_step.py"),
                                      "--model", model, "--ops", str(size), "-o", path],
                                     capture_output=True, text=True, check=True)
                ops = int(re.search(r"(\d+) ops", gen.stderr).group(1))
                bare = statistics.median(pass_seconds(args.amp_opt, path, False) for _ in range(args.repeat))
                full = statistics.median(pass_seconds(args.amp_opt, path, True) for _ in range(args.repeat))
                print("%-12s %8d %14.3f %8.2f %14.3f %8.2f" % (model, ops, bare, bare / ops * 1e6, full, full / ops * 1e6))
                sys.stdout.flush()


if __name__ == "__main__":
    main()
