#!/usr/bin/env python3
"""Gradient accumulation executed on the CPU: three micro-batches through
@step_accumulate, then @step_apply, must equal one SGD-momentum step on the
summed gradient, bit for bit (power-of-two loss scale), leave the
accumulators zeroed, and advance the scaler's growth tracker once.

  grad_accumulation_numerics.py AMP_OPT MLIR_RUNNER LIB_DIR STEP_MLIR"""
import sys

import numpy as np

from cpu_runner import bits_to_f32, execute, printed_copy, run, splice

f32 = np.float32
T = "tensor<4xf32>"


def main_function(xs):
    lines = ["func.func private @printMemrefI32(tensor<*xi32>)", "func.func @main() {",
             "  %w = arith.constant dense<[0.5, -1.0, 2.0, 0.25]> : " + T,
             "  %m = arith.constant dense<0.0> : " + T,
             "  %s = arith.constant dense<0> : tensor<i64>",
             "  %scale = arith.constant dense<1024.0> : tensor<f32>",
             "  %tracker = arith.constant dense<0> : tensor<i32>",
             "  %acc0 = arith.constant dense<0.0> : " + T]
    acc = "%acc0"
    for k, x in enumerate(xs):
        lines.append("  %%x%d = arith.constant dense<[%s]> : %s" % (k, ", ".join("%.9e" % v for v in x), T))
        lines.append("  %%a%d:2 = call @step_accumulate(%%w, %%x%d, %%scale, %s) : (%s, %s, tensor<f32>, %s) -> (%s, tensor<f32>)"
                     % (k, k, acc, T, T, T, T))
        acc = "%%a%d#0" % k
    # The apply step reports found_inf after its state.
    lines.append("  %%r:7 = call @step_apply(%%w, %%m, %%s, %%scale, %%tracker, %s) : (%s, %s, tensor<i64>, tensor<f32>, tensor<i32>, %s) -> (%s, %s, tensor<i64>, tensor<f32>, tensor<i32>, %s, tensor<i1>)"
                 % (acc, T, T, T, T, T, T))
    for i, (value, bits) in enumerate([("%r#0", True), ("%r#5", True)]):
        lines.append("  %%b%d = arith.bitcast %s : %s to tensor<4xi32>" % (i, value, T))
        lines += printed_copy("%%p%d" % i, "%%b%d" % i, "tensor<4xi32>", "i32", "I32")
    lines += printed_copy("%p2", "%r#4", "tensor<i32>", "i32", "I32")
    lines += ["  return", "}"]
    return "\n".join(lines) + "\n"


def main():
    amp_opt, runner, lib_dir, step_file = sys.argv[1:5]
    rng = np.random.default_rng(2)
    xs = [rng.standard_normal(4).astype(f32) for _ in range(3)]
    ir = run([amp_opt, step_file, "--amp-loss-scaling=mode=dynamic", "--amp-grad-accumulation"])
    got = execute(amp_opt, runner, lib_dir, splice(ir, main_function(xs)))
    w_new, accs, tracker = bits_to_f32(got[0]), bits_to_f32(got[1]), int(got[2][0])
    g = (xs[0] + xs[1]) + xs[2]  # d(sum(w * x))/dw summed over micro-batches
    w_ref = np.array([0.5, -1.0, 2.0, 0.25], f32) + f32(-0.1) * g  # first momentum step: buf = g
    checks = {
        "params equal one step on the summed gradient": np.array_equal(w_new.view(np.uint32), w_ref.view(np.uint32)),
        "accumulators zeroed": not np.any(accs),
        "growth tracker advanced once": tracker == 1,
    }
    for name, ok in checks.items():
        print("%-4s %s" % ("ok" if ok else "FAIL", name))
    failed = sum(not ok for ok in checks.values())
    print("%d passed, %d failed" % (len(checks) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
