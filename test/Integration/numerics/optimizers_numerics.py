#!/usr/bin/env python3
"""Runs amp.sgd / amp.adam / amp.adamw for several steps through
convert-amp-to-standard, upstream CPU lowering and mlir-runner, and compares
the parameters and optimizer state with a numpy implementation of
torch.optim's update formulas (SGD, Adam, AdamW; torch's order of operations)
in float32. Results are printed as raw bits, so the comparison is exact up to
the stated tolerance: max relative error 1e-6 per element.

  optimizers_numerics.py AMP_OPT MLIR_RUNNER LIB_DIR
Prints one line per configuration and 'N passed, M failed'."""
import sys

import numpy as np

from cpu_runner import bits_to_f32, execute

N, STEPS = 16, 5
f32 = np.float32

CONFIGS = [
    ("sgd", dict(lr=0.1)),
    ("sgd", dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("sgd", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)),
    ("adam", dict(lr=1e-3)),
    ("adam", dict(lr=1e-2, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.01)),
    ("adamw", dict(lr=1e-2, weight_decay=0.05)),
    ("adamw", dict(lr=3e-3, beta1=0.3, beta2=0.9, weight_decay=0.01)),  # lerp weight >= 0.5
]


def torch_sgd(p, grads, lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    buf = None
    for g in grads:
        d = g + f32(weight_decay) * p if weight_decay else g
        if momentum:
            buf = d.copy() if buf is None else buf * f32(momentum) + f32(1 - dampening) * d
            d = d + f32(momentum) * buf if nesterov else buf
        p = p + f32(-lr) * d
    return [p] + ([buf] if momentum else [])


def torch_adam(p, grads, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    w = f32(1 - beta1)
    for step, g in enumerate(grads, start=1):
        if decoupled:
            p = p * f32(1 - lr * weight_decay)
        elif weight_decay:
            g = g + f32(weight_decay) * p
        m = m + w * (g - m) if abs(1 - beta1) < 0.5 else g - (g - m) * (f32(1) - w)
        v = v * f32(beta2) + f32(1 - beta2) * g * g
        bc1 = 1 - beta1 ** step
        bc2 = 1 - beta2 ** step
        denom = np.sqrt(v) / f32(bc2 ** 0.5) + f32(eps)
        p = p + (f32(-lr / bc1) * m) / denom
    return [p, m, v]


def attrs(kind, cfg):
    items = []
    for key, value in cfg.items():
        if isinstance(value, bool):
            items.append("%s = %s" % (key, "true" if value else "false"))
        else:
            items.append("%s = %.17e : f64" % (key, float(value)))
    return "{" + ", ".join(items) + "}"


def dense(a):
    return "dense<[%s]> : tensor<%dxf32>" % (", ".join("%.9e" % x for x in a), len(a))


def build_module(p0, grads):
    t = "tensor<%dxf32>" % N
    lines = ["func.func private @printMemrefI32(tensor<*xi32>)", "func.func @main() {",
             "  %zeros = arith.constant dense<0.0> : " + t,
             "  %step0 = arith.constant dense<0> : tensor<i64>",
             "  %p0 = arith.constant " + dense(p0)]
    for k, g in enumerate(grads):
        lines.append("  %%g%d = arith.constant %s" % (k, dense(g)))
    outputs = []
    for c, (kind, cfg) in enumerate(CONFIGS):
        p = "%p0"
        if kind == "sgd" and cfg.get("momentum"):
            buf, step = "%zeros", "%step0"
        elif kind in ("adam", "adamw"):
            m, v, step = "%zeros", "%zeros", "%step0"
        for k in range(STEPS):
            name = "%%c%d_s%d" % (c, k)
            if kind == "sgd" and cfg.get("momentum"):
                lines.append("  %s:3 = amp.sgd %s, %%g%d state(%s, %s : %s, tensor<i64>) %s : %s, %s -> %s, %s, tensor<i64>"
                             % (name, p, k, buf, step, t, attrs(kind, cfg), t, t, t, t))
                p, buf, step = name + "#0", name + "#1", name + "#2"
            elif kind == "sgd":
                lines.append("  %s = amp.sgd %s, %%g%d %s : %s, %s -> %s" % (name, p, k, attrs(kind, cfg), t, t, t))
                p = name
            else:
                lines.append("  %s:4 = amp.%s %s, %%g%d, %s, %s, %s %s : %s, tensor<i64>"
                             % (name, kind, p, k, m, v, step, attrs(kind, cfg), t))
                p, m, v, step = name + "#0", name + "#1", name + "#2", name + "#3"
        outs = [p]
        if kind == "sgd" and cfg.get("momentum"):
            outs.append(buf)
        elif kind != "sgd":
            outs += [m, v]
        outputs.append(outs)
    i = 0
    for outs in outputs:
        for value in outs:
            lines.append("  %%b%d = arith.bitcast %s : %s to tensor<%dxi32>" % (i, value, t, N))
            lines.append("  %%u%d = tensor.cast %%b%d : tensor<%dxi32> to tensor<*xi32>" % (i, i, N))
            lines.append("  call @printMemrefI32(%%u%d) : (tensor<*xi32>) -> ()" % i)
            i += 1
    lines += ["  return", "}"]
    return "\n".join(lines) + "\n"


def main():
    amp_opt, runner, lib_dir = sys.argv[1:4]
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal(N).astype(f32)
    grads = [rng.standard_normal(N).astype(f32) for _ in range(STEPS)]
    printed = [bits_to_f32(v) for v in execute(amp_opt, runner, lib_dir, build_module(p0, grads))]
    passed = failed = 0
    i = 0
    for kind, cfg in CONFIGS:
        if kind == "sgd":
            ref = torch_sgd(p0.copy(), grads, **cfg)
        else:
            ref = torch_adam(p0.copy(), grads, decoupled=(kind == "adamw"), **cfg)
        errors = []
        for r in ref:
            got = printed[i]
            i += 1
            errors.append(float(np.max(np.abs(got - r) / np.maximum(np.abs(r), 1e-30))))
        ok = max(errors) <= 1e-6
        passed += ok
        failed += not ok
        shown = ", ".join("%s=%g" % (k, v) for k, v in cfg.items())
        print("%-4s %-6s %-62s max rel err %s" % ("ok" if ok else "FAIL", kind, shown,
                                                  " ".join("%.1e" % e for e in errors)))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
