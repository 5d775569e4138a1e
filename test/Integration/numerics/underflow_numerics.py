#!/usr/bin/env python3
"""Trains the tiny-loss linear regression in Inputs/tiny_loss_step.mlir for 40
steps on the CPU, three ways: FP32, f16 with dynamic loss scaling, and f16
without loss scaling. Its output gradients (about 1e-9) underflow in f16, so:

  - FP32 and f16 + dynamic scaling learn: final loss below 1% of the initial;
  - f16 without scaling does not: its gradients flush to zero and the final
    loss stays above 90% of the initial.

  underflow_numerics.py AMP_OPT MLIR_RUNNER LIB_DIR STEP_MLIR
Prints one line per run and 'N passed, M failed'."""
import sys

import numpy as np

from cpu_runner import execute, printed_copy, run, splice

STEPS = 40
f32 = np.float32


def dense(a):
    rows = ", ".join("[" + ", ".join("%.9e" % v for v in r) + "]" for r in a)
    return "dense<[%s]> : tensor<%dx%dxf32>" % (rows, a.shape[0], a.shape[1])


def main_function(x, y, scaled):
    extra_types = ", tensor<f32>, tensor<i32>" if scaled else ""
    lines = ["func.func private @printMemrefF32(tensor<*xf32>)", "func.func @main() {",
             "  %w0 = arith.constant dense<0.0> : tensor<16x4xf32>",
             "  %x = arith.constant " + dense(x), "  %y = arith.constant " + dense(y)]
    if scaled:
        lines += ["  %s0 = arith.constant dense<65536.0> : tensor<f32>",
                  "  %t0 = arith.constant dense<0> : tensor<i32>"]
    w, s, t = "%w0", "%s0", "%t0"
    for k in range(STEPS):
        r = "%%r%d" % k
        args = "%s, %%x, %%y" % w + (", %s, %s" % (s, t) if scaled else "")
        # A loss-scaled step also reports found_inf, before the loss.
        n = 5 if scaled else 2
        lines.append("  %s:%d = call @step(%s) : (tensor<16x4xf32>, tensor<64x16xf32>, tensor<64x4xf32>%s) -> (tensor<16x4xf32>%s%s, tensor<f32>)"
                     % (r, n, args, extra_types, extra_types, ", tensor<i1>" if scaled else ""))
        w = r + "#0"
        if scaled:
            s, t = r + "#1", r + "#2"
        if k in (0, STEPS - 1):
            lines += printed_copy("%%l%d" % k, "%s#%d" % (r, n - 1), "tensor<f32>", "f32", "F32")
    lines += ["  return", "}"]
    return "\n".join(lines) + "\n"


def main():
    amp_opt, runner, lib_dir, step_file = sys.argv[1:5]
    rng = np.random.default_rng(11)
    x = rng.standard_normal((64, 16)).astype(f32)
    y = (x @ rng.standard_normal((16, 4))).astype(f32)
    runs = [("fp32", [], False, True),
            ("f16+dynamic", ["--amp-pipeline=compute-type=f16 loss-scaling=dynamic"], True, True),
            ("f16+none", ["--amp-pipeline=compute-type=f16 loss-scaling=none"], False, False)]
    passed = failed = 0
    for name, passes, scaled, should_learn in runs:
        ir = run([amp_opt, step_file] + passes)
        first, last = (v[0] for v in execute(amp_opt, runner, lib_dir,
                                             splice(ir, main_function(x, y, scaled))))
        ratio = last / first
        ok = ratio < 0.01 if should_learn else ratio > 0.9
        passed += ok
        failed += not ok
        print("%-4s %-12s loss %.4e -> %.4e (x%.3g) %s" % ("ok" if ok else "FAIL", name, first, last, ratio,
                                                          "learns" if ratio < 0.01 else "does not learn"))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
