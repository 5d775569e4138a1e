#!/usr/bin/env python3
"""CPU benchmarks of ampc-compiled code, with baselines from the same run:

  1. f32 matmul GFLOP/s, ampc vs numpy's matmul, square sizes 256..2048;
  2. the example MLP training step (32 x 64-128-10, SGD) compiled fp32, bf16
     and fp16 (dynamic loss scaling): median step time and ratio to fp32;
     and the same step built by amp-differentiate from examples/mlp_forward.mlir,
     with its ratio to the hand-written one.

  bench.py [--sizes 256,512,1024,2048] [--repeat 5] [--json FILE]

ampc's code runs on one thread; numpy's BLAS may use every core (printed)."""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
import ampc  # noqa: E402

MATMUL = """
func.func @matmul(%a: tensor<{n}x{n}xf32>, %b: tensor<{n}x{n}xf32>) -> tensor<{n}x{n}xf32> {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{n}x{n}xf32>
  %c = linalg.fill ins(%zero : f32) outs(%e : tensor<{n}x{n}xf32>) -> tensor<{n}x{n}xf32>
  %r = linalg.matmul ins(%a, %b : tensor<{n}x{n}xf32>, tensor<{n}x{n}xf32>) outs(%c : tensor<{n}x{n}xf32>) -> tensor<{n}x{n}xf32>
  return %r : tensor<{n}x{n}xf32>
}}
"""


def median_seconds(fn, repeat):
    fn()  # warm up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def blas_threads():
    np.ones((4, 4)) @ np.ones((4, 4))  # loads the BLAS library
    try:
        from threadpoolctl import threadpool_info
        return ", ".join("%s %s (%s), %s threads" % (i.get("internal_api"), i.get("version"),
                                                   i.get("architecture"), i.get("num_threads"))
                         for i in threadpool_info())
    except ImportError:
        return "threadpoolctl not installed; OPENBLAS_NUM_THREADS=%s" % os.environ.get("OPENBLAS_NUM_THREADS", "unset")


def bench_matmul(sizes, repeat, tmp):
    rows = []
    for n in sizes:
        src = os.path.join(tmp, "matmul%d.mlir" % n)
        with open(src, "w") as f:
            f.write(MATMUL.format(n=n))
        mod = ampc.load(ampc.compile(src, output=os.path.join(tmp, "matmul%d.so" % n), precision="fp32", opt_level=3))
        rng = np.random.default_rng(n)
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        (c,) = mod["matmul"](a, b)
        err = float(np.max(np.abs(c - a @ b)) / np.max(np.abs(a @ b)))
        reps = max(1, repeat if n <= 1024 else 2)
        t_ampc = median_seconds(lambda: mod["matmul"](a, b), reps)
        t_numpy = median_seconds(lambda: a @ b, reps)
        flops = 2.0 * n ** 3
        rows.append({"n": n, "ampc_gflops": flops / t_ampc / 1e9, "numpy_gflops": flops / t_numpy / 1e9,
                     "ratio": t_numpy / t_ampc, "max_rel_err": err})
        print("matmul %5d  ampc %7.2f GFLOP/s  numpy %7.2f GFLOP/s  ampc/numpy %.3f  (max rel err %.1e)"
              % (n, rows[-1]["ampc_gflops"], rows[-1]["numpy_gflops"], rows[-1]["ratio"], err))
        sys.stdout.flush()
    return rows


def bench_mlp(repeat, tmp):
    written = os.path.join(ROOT, "examples", "mlp_training_step.mlir")
    forward = os.path.join(ROOT, "examples", "mlp_forward.mlir")
    rng = np.random.default_rng(0)
    params = [(rng.standard_normal((64, 128)) / 8).astype(np.float32), np.zeros(128, np.float32),
              (rng.standard_normal((128, 10)) / 11).astype(np.float32), np.zeros(10, np.float32)]
    x = rng.standard_normal((32, 64)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)]
    rows = {}
    for precision in ("fp32", "bf16", "fp16"):
        runners = {}
        for kind, source, train in (("written", written, None),
                                    ("generated", forward, "loss=cross-entropy params=1,2,3,4 lr=0.1")):
            mod = ampc.load(ampc.compile(source, output=os.path.join(tmp, "mlp-%s-%s.so" % (kind, precision)),
                                         precision=precision, opt_level=3, train=train))
            mod.init_state(params)

            def run100(mod=mod):
                for _ in range(100):
                    mod.step(x, y)
            runners[kind] = run100
        # The two steps take turns, so that drift in the machine's speed
        # falls on both alike.
        samples = {kind: [] for kind in runners}
        for _ in range(repeat):
            for kind, run in runners.items():
                samples[kind].append(median_seconds(run, 1) / 100)
        for kind in runners:
            rows[precision, kind] = statistics.median(samples[kind])
    results = {}
    for precision in ("fp32", "bf16", "fp16"):
        t, g = rows[precision, "written"], rows[precision, "generated"]
        print("mlp step %-5s %8.1f us  (x%.2f of fp32)   amp-differentiate's: %8.1f us  (x%.2f)"
              % (precision, t * 1e6, t / rows["fp32", "written"], g * 1e6, g / t))
        results[precision] = {"step_us": t * 1e6, "vs_fp32": t / rows["fp32", "written"],
                              "generated_step_us": g * 1e6, "generated_vs_written": g / t}
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="256,512,1024,2048")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()
    print("numpy %s, BLAS: %s" % (np.__version__, blas_threads()))
    with tempfile.TemporaryDirectory() as tmp:
        results = {"matmul": bench_matmul([int(s) for s in args.sizes.split(",")], args.repeat, tmp),
                   "mlp_step": bench_mlp(args.repeat, tmp)}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
