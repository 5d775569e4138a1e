#!/usr/bin/env python3
"""Trains the MLP classifier of examples/mlp_forward.mlir on the
scikit-learn digits data (8x8 images, 10 classes; shipped by Debian's
python3-sklearn, no download), compiled three ways by ampc: fp32, fp16 with
dynamic loss scaling, and bf16, for the CPU or (--target=cuda) the GPU.
The training step is built from the forward function by amp-differentiate
(softmax cross-entropy, reverse-mode backward, SGD with lr 0.1). Prints, per
precision: final train loss, test accuracy, steps the loss scaler
skipped, and mean step time.

  train_digits.py [--epochs N] [--seed S] [--target cpu|cuda] [--json FILE]"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
import ampc  # noqa: E402

FORWARD = os.path.join(ROOT, "examples", "mlp_forward.mlir")
# amp-differentiate's options: the weights are arguments 1-4 of @mlp.
TRAIN = {"loss": "cross-entropy", "params": "1,2,3,4", "optimizer": "sgd", "lr": 0.1}
BATCH, FEATURES, HIDDEN, CLASSES = 32, 64, 128, 10


def compile_step(output, precision, target="cpu"):
    """The training step, built from the forward function and compiled."""
    return ampc.compile(FORWARD, output=output, precision=precision, target=target, train=TRAIN)


def load_data(seed):
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    test = order[:360]
    train = order[360:]
    return x[train], y[train], x[test], y[test]


def init_params(seed):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((FEATURES, HIDDEN)) * np.sqrt(2.0 / FEATURES)).astype(np.float32),
            np.zeros(HIDDEN, np.float32),
            (rng.standard_normal((HIDDEN, CLASSES)) * np.sqrt(2.0 / HIDDEN)).astype(np.float32),
            np.zeros(CLASSES, np.float32)]


def accuracy(params, x, y):
    w1, b1, w2, b2 = params
    logits = np.maximum(x @ w1 + b1, 0) @ w2 + b2
    return float((logits.argmax(axis=1) == y).mean())


def train(library, data, epochs, seed):
    x_train, y_train, x_test, y_test = data
    mod = ampc.load(library)
    mod.init_state(init_params(seed))
    onehot = np.eye(CLASSES, dtype=np.float32)
    rng = np.random.default_rng(seed + 1)
    losses, skipped, seconds, steps = [], 0, 0.0, 0
    reports_found_inf = any(r.get("role") == "found_inf" for r in mod.train_step.results)
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        epoch_losses = []
        for start in range(0, len(order) - BATCH + 1, BATCH):
            idx = order[start:start + BATCH]
            xb, yb = np.ascontiguousarray(x_train[idx]), onehot[y_train[idx]]
            before = None if reports_found_inf else mod.scaler_state()
            t0 = time.perf_counter()
            epoch_losses.append(mod.step(xb, yb))
            seconds += time.perf_counter() - t0
            steps += 1
            if before and mod.scaler_state()[0] < before[0]:
                skipped += 1
        losses.append(float(np.mean(epoch_losses)))
    # Steps whose gradients held inf/NaN: CPU steps report found_inf (counted
    # in skipped_steps); on CUDA a scale that backed off tells.
    if reports_found_inf:
        skipped = mod.skipped_steps
    return {"final_train_loss": losses[-1], "loss_curve": losses,
            "test_accuracy": accuracy(mod.params(), x_test, y_test),
            "skipped_steps": skipped, "steps": steps, "step_ms": 1e3 * seconds / steps}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", choices=("cpu", "cuda"), default="cpu",
                        help="where the compiled steps run (cuda: needs a GPU and the ampc CUDA runtime)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    data = load_data(args.seed)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for precision in ("fp32", "fp16", "bf16"):
            try:
                library = compile_step(os.path.join(tmp, "digits-%s.so" % precision), precision,
                                       args.target)
                results[precision] = train(library, data, args.epochs, args.seed)
            except (ampc.CompileError, ampc.CudaError) as error:
                sys.exit("train_digits: %s" % error)
    print("%-6s %-10s %-16s %-14s %-13s %s" % ("prec", "scaling", "final train loss", "test accuracy",
                                                "skipped steps", "step time"))
    for precision, r in results.items():
        scaling = "dynamic" if precision == "fp16" else "none"
        print("%-6s %-10s %-16.4f %-14s %-13s %.3f ms" % (precision, scaling, r["final_train_loss"],
                                                          "%.2f%%" % (100 * r["test_accuracy"]),
                                                          "%d / %d" % (r["skipped_steps"], r["steps"]),
                                                          r["step_ms"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
