#!/usr/bin/env python3
"""Executes a loss-scaled training step on the CPU for 8 steps and checks
GradScaler semantics step by step:

  - a step whose input holds an inf (so its gradient does) leaves the param,
    the momentum buffer and the optimizer step counter bit-identical, halves
    the scale and resets the growth tracker;
  - finite steps update the state, and the scale doubles after
    growth-interval (3) consecutive finite steps, resetting the tracker;
  - the updates equal an unscaled FP32 SGD-momentum reference bit for bit
    (the scales are powers of two, so scaling and unscaling are exact);
  - the step's found_inf result is true exactly for the skipped step.

  loss_scaling_numerics.py AMP_OPT MLIR_RUNNER LIB_DIR STEP_MLIR
Prints one line per step and 'N passed, M failed'."""
import sys

import numpy as np

from cpu_runner import bits_to_f32, execute, printed_copy, run, splice

STEPS, INF_STEP, INTERVAL = 8, 3, 3
f32 = np.float32


def main_function(xs):
    t = "tensor<4xf32>"
    lines = ["func.func private @printMemrefI32(tensor<*xi32>)",
             "func.func private @printMemrefI64(tensor<*xi64>)",
             "func.func @main() {",
             "  %w = arith.constant dense<[0.5, -1.0, 2.0, 0.25]> : " + t,
             "  %m = arith.constant dense<0.0> : " + t,
             "  %s = arith.constant dense<0> : tensor<i64>",
             "  %scale = arith.constant dense<65536.0> : tensor<f32>",
             "  %tracker = arith.constant dense<0> : tensor<i32>"]
    for k, x in enumerate(xs):
        lines.append("  %%x%d = arith.constant dense<[%s]> : %s" % (k, ", ".join(repr(float(v)) if np.isfinite(v) else "0x7F800000" for v in x), t))
    state = ["%w", "%m", "%s", "%scale", "%tracker"]
    for k in range(STEPS):
        r = "%%r%d" % k
        lines.append("  %s:7 = call @step(%s, %s, %s, %%x%d, %s, %s) : (%s, %s, tensor<i64>, %s, tensor<f32>, tensor<i32>) -> (%s, %s, tensor<i64>, tensor<f32>, tensor<i32>, tensor<i1>, tensor<f32>)"
                     % (r, state[0], state[1], state[2], k, state[3], state[4], t, t, t, t, t))
        lines.append("  %%found%d = arith.extui %s#5 : tensor<i1> to tensor<i32>" % (k, r))
        state = [r + "#0", r + "#1", r + "#2", r + "#3", r + "#4"]
        for i, (value, vt, bits, printer) in enumerate([
                (state[0], t, "tensor<4xi32>", "I32"), (state[1], t, "tensor<4xi32>", "I32"),
                (state[2], None, None, "I64"), (state[3], "tensor<f32>", "tensor<i32>", "I32"),
                (state[4], None, None, "I32"), ("%%found%d" % k, None, None, "I32")]):
            name = "%%p%d_%d" % (k, i)
            if bits:
                lines.append("  %sb = arith.bitcast %s : %s to %s" % (name, value, vt, bits))
                value, vt = name + "b", bits
            else:
                vt = "tensor<i64>" if printer == "I64" else "tensor<i32>"
            elt = "i64" if printer == "I64" else "i32"
            lines += printed_copy(name, value, vt, elt, printer)
    lines += ["  return", "}"]
    return "\n".join(lines) + "\n"


def main():
    amp_opt, runner, lib_dir, step_file = sys.argv[1:5]
    rng = np.random.default_rng(5)
    xs = [rng.standard_normal(4).astype(f32) for _ in range(STEPS)]
    xs[INF_STEP][1] = np.inf
    scaled = run([amp_opt, step_file, "--amp-loss-scaling=mode=dynamic growth-interval=%d" % INTERVAL])
    # main calls the scaled signature, so it joins the module after the pass.
    blocks = execute(amp_opt, runner, lib_dir, splice(scaled, main_function(xs)))
    if len(blocks) != 6 * STEPS:
        sys.exit("expected %d printed values, got %d" % (6 * STEPS, len(blocks)))
    as_f32 = bits_to_f32

    # Reference: GradScaler state machine + unscaled SGD momentum (lr 0.1, m 0.9).
    w = np.array([0.5, -1.0, 2.0, 0.25], f32)
    buf = np.zeros(4, f32)
    counter, scale, tracker = 0, 65536.0, 0
    passed = failed = 0
    for k in range(STEPS):
        got_w, got_m = as_f32(blocks[6 * k]), as_f32(blocks[6 * k + 1])
        got_step, got_scale, got_tracker = int(blocks[6 * k + 2][0]), as_f32(blocks[6 * k + 3])[0], int(blocks[6 * k + 4][0])
        got_found_inf = bool(blocks[6 * k + 5][0])
        finite = bool(np.all(np.isfinite(xs[k])))
        prev = (w.copy(), buf.copy(), counter)
        if finite:
            g = xs[k]  # d(sum(w * x))/dw
            buf = g.copy() if counter == 0 else buf * f32(0.9) + f32(1.0) * g
            w = w + f32(-0.1) * buf
            counter += 1
            tracker += 1
            if tracker == INTERVAL:
                scale, tracker = scale * 2.0, 0
        else:
            scale, tracker = scale * 0.5, 0
        checks = [np.array_equal(got_w.view(np.uint32), w.view(np.uint32)),
                  np.array_equal(got_m.view(np.uint32), buf.view(np.uint32)),
                  got_step == counter, got_scale == scale, got_tracker == tracker,
                  got_found_inf == (not finite)]
        if not finite:
            checks.append(np.array_equal(got_w.view(np.uint32), prev[0].view(np.uint32))
                          and np.array_equal(got_m.view(np.uint32), prev[1].view(np.uint32))
                          and got_step == prev[2])
        ok = all(checks)
        passed += ok
        failed += not ok
        print("%-4s step %d %-8s scale %-9g tracker %d optimizer steps %d%s"
              % ("ok" if ok else "FAIL", k, "finite" if finite else "inf", got_scale, got_tracker,
                 got_step, "  (skipped: state bit-identical)" if not finite and ok else ""))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
