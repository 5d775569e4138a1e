#!/usr/bin/env python3
"""Times amp-differentiate on generated forward MLPs of 100 to 3200 layers
(matmul + tanh per layer, weights as constants hoisted to params, MSE loss),
using MLIR's own pass timing; prints microseconds per forward op, so that a
flat column means time linear in model size.

  differentiate.py [--amp-opt build/bin/amp-opt] [--repeat 3] [--layers 100,400,1600,3200]"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile

from run import timed_pass_seconds

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ID = "affine_map<(i, j) -> (i, j)>"


def forward_mlp(layers):
    """A forward function of `layers` layers; returns (text, op count)."""
    lines = ["func.func @deep(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {",
             "  %z = arith.constant 0.0 : f32"]
    value = "%x"
    for i in range(layers):
        lines += [
            "  %%w%d = arith.constant dense<0.01> : tensor<16x16xf32>" % i,
            "  %%e%d = tensor.empty() : tensor<8x16xf32>" % i,
            "  %%f%d = linalg.fill ins(%%z : f32) outs(%%e%d : tensor<8x16xf32>) -> tensor<8x16xf32>" % (i, i),
            "  %%m%d = linalg.matmul ins(%s, %%w%d : tensor<8x16xf32>, tensor<16x16xf32>) "
            "outs(%%f%d : tensor<8x16xf32>) -> tensor<8x16xf32>" % (i, value, i, i),
            "  %%t%d = linalg.generic {indexing_maps = [%s, %s], iterator_types = [\"parallel\", \"parallel\"]} "
            "ins(%%m%d : tensor<8x16xf32>) outs(%%e%d : tensor<8x16xf32>) {" % (i, ID, ID, i, i),
            "  ^bb0(%a: f32, %o: f32):",
            "    %r = math.tanh %a : f32",
            "    linalg.yield %r : f32",
            "  } -> tensor<8x16xf32>"]
        value = "%%t%d" % i
    lines += ["  return %s : tensor<8x16xf32>" % value, "}"]
    return "\n".join(lines) + "\n", 2 + 5 * layers


def pass_seconds(amp_opt, path):
    out = subprocess.run([amp_opt, path, "--amp-differentiate=loss=mse", "-o", os.devnull,
                          "-verify-each=false", "-mlir-timing", "-mlir-timing-display=list"],
                         capture_output=True, text=True, check=True).stderr
    return timed_pass_seconds(out, "AMPDifferentiate")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--amp-opt", default=os.path.join(ROOT, "build", "bin", "amp-opt"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--layers", default="100,400,1600,3200")
    args = parser.parse_args()
    print("%8s %10s %12s %8s" % ("layers", "fwd ops", "pass (s)", "us/op"))
    with tempfile.TemporaryDirectory() as tmp:
        for layers in (int(n) for n in args.layers.split(",")):
            text, ops = forward_mlp(layers)
            path = os.path.join(tmp, "deep-%d.mlir" % layers)
            with open(path, "w") as f:
                f.write(text)
            seconds = statistics.median(pass_seconds(args.amp_opt, path) for _ in range(args.repeat))
            print("%8d %10d %12.3f %8.1f" % (layers, ops, seconds, seconds / ops * 1e6))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
