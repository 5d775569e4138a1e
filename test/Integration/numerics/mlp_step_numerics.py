#!/usr/bin/env python3
"""Runs examples/mlp_training_step.mlir compiled three ways (FP32, and through
amp-pipeline in f16 with dynamic loss scaling and in bf16) on the CPU with
upstream MLIR lowering and mlir-runner, and compares each against a numpy FP32
reference of the same step.

  mlp_step_numerics.py AMP_OPT MLIR_RUNNER LIB_DIR EXAMPLE

Checks (relative L2 error against the reference):
  fp32: loss and every updated parameter's change (p_new - p) within 1e-5
        (the printed values carry 6 significant digits);
  f16:  loss within 1e-3, parameter changes within 5e-3;
  bf16: loss within 5e-3, parameter changes within 8e-2 (bf16 keeps 8
        significant bits; the ReLU mask of bf16 activations flips near 0).
Prints a table and 'N passed, M failed'."""
import sys

import numpy as np

from cpu_runner import execute, run, splice

B, IN, H, C = 32, 64, 128, 10
LR = 0.1

TOLERANCES = {"fp32": (1e-5, 1e-5), "f16": (1e-3, 5e-3), "bf16": (5e-3, 8e-2)}


def make_inputs():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((B, IN)).astype(np.float32)
    onehot = np.eye(C, dtype=np.float32)[rng.integers(0, C, B)]
    w1 = (rng.standard_normal((IN, H)) / np.sqrt(IN)).astype(np.float32)
    b1 = (0.1 * rng.standard_normal(H)).astype(np.float32)
    w2 = (rng.standard_normal((H, C)) / np.sqrt(H)).astype(np.float32)
    b2 = (0.1 * rng.standard_normal(C)).astype(np.float32)
    return x, onehot, w1, b1, w2, b2


def reference(x, onehot, w1, b1, w2, b2):
    h = x @ w1 + b1
    a = np.maximum(h, 0)
    logits = a @ w2 + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    s = e.sum(axis=1, keepdims=True)
    logp = shifted - np.log(s)
    loss = -(onehot * logp).sum() / B
    dlogits = (e / s - onehot) / B
    dw2 = a.T @ dlogits
    db2 = dlogits.sum(axis=0)
    dh = np.where(h > 0, dlogits @ w2.T, 0)
    dw1 = x.T @ dh
    db1 = dh.sum(axis=0)
    return [w1 - LR * dw1, b1 - LR * db1, w2 - LR * dw2, b2 - LR * db2, np.float32(loss)]


def dense(array):
    def fmt(a):
        if a.ndim == 1:
            return "[" + ", ".join("%.9e" % v for v in a) + "]"
        return "[" + ", ".join(fmt(r) for r in a) + "]"
    shape = "x".join(str(d) for d in array.shape)
    return "dense<%s> : tensor<%sxf32>" % (fmt(array), shape)


def main_function(inputs, scaled):
    """main: one call of the step, printing each parameter's change and the
    loss. With dynamic loss scaling the step also takes and returns the scale
    and growth tracker, started from GradScaler's initial values."""
    names = ["x", "onehot", "w1", "b1", "w2", "b2"]
    lines = ["func.func private @printMemrefF32(tensor<*xf32>)", "func.func @main() {"]
    for name, value in zip(names, inputs):
        lines.append("  %%%s = arith.constant %s" % (name, dense(value)))
    types = ["tensor<32x64xf32>", "tensor<32x10xf32>", "tensor<64x128xf32>", "tensor<128xf32>",
             "tensor<128x10xf32>", "tensor<10xf32>"]
    ptypes = types[2:]
    scaler = ["tensor<f32>", "tensor<i32>"] if scaled else []
    args = ["%" + n for n in names]
    if scaled:
        lines += ["  %scale = arith.constant dense<65536.0> : tensor<f32>",
                  "  %tracker = arith.constant dense<0> : tensor<i32>"]
        args += ["%scale", "%tracker"]
    # A loss-scaled step also reports found_inf, before the loss.
    rtypes = ptypes + scaler + (["tensor<i1>"] if scaled else []) + ["tensor<f32>"]
    lines.append("  %%r:%d = call @train_step(%s) : (%s) -> (%s)"
                 % (len(rtypes), ", ".join(args), ", ".join(types + scaler), ", ".join(rtypes)))
    # Print each parameter's change (p_new - p), not p_new: printMemrefF32
    # prints 6 significant digits, which the subtraction would otherwise eat.
    printed = [("%%r#%d" % i, t) for i, t in enumerate(ptypes)] + [("%%r#%d" % (len(rtypes) - 1), "tensor<f32>")]
    for i, (value, t) in enumerate(printed):
        if i < 4:
            lines.append("  %%d%d = arith.subf %s, %%%s : %s" % (i, value, names[2 + i], t))
            value = "%%d%d" % i
        lines.append("  %%u%d = tensor.cast %s : %s to tensor<*xf32>" % (i, value, t))
        lines.append("  call @printMemrefF32(%%u%d) : (tensor<*xf32>) -> ()" % i)
    lines += ["  return", "}"]
    return "\n".join(lines) + "\n"


def rel(a, b):
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


def main():
    amp_opt, runner, lib_dir, example = sys.argv[1:5]
    inputs = make_inputs()
    ref = reference(*inputs)
    params = [inputs[2], inputs[3], inputs[4], inputs[5]]
    passed = failed = 0
    print("%-5s %-8s %-10s %-10s %s" % ("prec", "scaling", "loss", "loss err", "update errors (W1 b1 W2 b2)"))
    for precision in ("fp32", "f16", "bf16"):
        ir = run([amp_opt, example])
        if precision != "fp32":
            # The whole treatment: autocast, master weights, loss scaling
            # (dynamic for f16, none for bf16), cleanup; then check it.
            ir = run([amp_opt, "-", "--amp-pipeline=compute-type=" + precision,
                      "--amp-check-precision=compute-type=" + precision], ir)
            if ("x" + precision + ">") not in ir:
                sys.exit("autocast produced no %s tensors" % precision)
        scaled = "scaler_state" in ir
        got = execute(amp_opt, runner, lib_dir, splice(ir, main_function(inputs, scaled)))
        if len(got) != 5:
            sys.exit("expected 5 printed results, got %d" % len(got))
        loss_tol, update_tol = TOLERANCES[precision]
        loss_err = rel(got[4], np.array([ref[4]], dtype=np.float64))
        update_errs = [rel(g, r.ravel().astype(np.float64) - p.ravel())
                       for g, p, r in zip(got[:4], params, ref[:4])]
        ok = loss_err <= loss_tol and all(e <= update_tol for e in update_errs)
        print("%-5s %-8s %-10.6f %-10.2e %s  %s" % (precision, "dynamic" if scaled else "none", got[4][0],
                                                   loss_err, " ".join("%.2e" % e for e in update_errs),
                                                   "ok" if ok else "FAIL"))
        passed += ok
        failed += not ok
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
