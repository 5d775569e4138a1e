#!/usr/bin/env python3
"""Trains the digits MLP of examples/digits/train_digits.py on N processes
with ampc's data parallelism (--data-parallel=mpi): every rank runs the same
compiled step on its shard of each global batch of 32, and the step
all-reduces the gradients itself, so all ranks keep identical weights.

Every rank draws the same batches (same seed) and takes its contiguous share
(ampc.distributed.shard). Rank 0 prints the epoch losses (mean over ranks),
the test accuracy, whether the params are bitwise identical on every rank,
and writes a checkpoint.

  mpirun -np 2 python3 train_digits_ddp.py [--precision fp32|bf16|fp16]
      [--epochs N] [--seed S] [--checkpoint FILE]

Also runs with -np 1, or without mpirun (a one-rank MPI world)."""
import argparse
import hashlib
import os
import sys
import tempfile

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "examples", "digits"))
import ampc  # noqa: E402
import ampc.distributed as dist  # noqa: E402
# The data, initial weights, training options and accuracy of the one-process example.
from train_digits import CLASSES, FORWARD, TRAIN, accuracy, init_params, load_data  # noqa: E402

GLOBAL_BATCH = 32
FORWARD_BATCH = 32  # the batch mlp_forward.mlir's shapes are written for


def per_rank_forward(folder, batch):
    """mlp_forward.mlir with its batch of 32 rows replaced by `batch`. Its
    shapes are fixed, and amp-differentiate's cross-entropy divides by the
    rows of the logits, so each rank's step averages over its own shard; the
    step's sum over ranks divided by the world size is then the mean over
    the global batch."""
    text = open(FORWARD).read()
    old = "tensor<%dx" % FORWARD_BATCH
    if old not in text:
        raise RuntimeError("%s has no %s... types to resize" % (FORWARD, old))
    path = os.path.join(folder, "mlp_forward_batch%d.mlir" % batch)
    with open(path, "w") as f:
        f.write(text.replace(old, "tensor<%dx" % batch))
    return path


def compile_step(folder, precision, batch):
    """Rank 0 compiles; every rank receives the same library bytes."""
    source = per_rank_forward(folder, batch)
    output = os.path.join(folder, "digits-ddp-%s.so" % precision)
    return ampc.compile(source, output=output, precision=precision, train=TRAIN, data_parallel="mpi")


def train_epoch(mod, x, y, order):
    """One pass over `order` in global batches; this rank's mean loss."""
    onehot = np.eye(CLASSES, dtype=np.float32)
    losses = []
    for start in range(0, len(order) - GLOBAL_BATCH + 1, GLOBAL_BATCH):
        idx = dist.shard(order[start:start + GLOBAL_BATCH])
        losses.append(mod.step(np.ascontiguousarray(x[idx]), onehot[y[idx]]))
    return float(np.mean(losses))


def params_digest(params):
    """The first 64 bits of a SHA-256 over every param's bytes."""
    h = hashlib.sha256()
    for p in params:
        h.update(np.ascontiguousarray(p).tobytes())
    return int(h.hexdigest()[:16], 16)


def say(*args):
    if dist.rank() == 0:
        print(*args, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", choices=("fp32", "bf16", "fp16"), default="fp32")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", help="where rank 0 writes the final state "
                        "(default: digits-ddp-PRECISION.npz in the current directory)")
    args = parser.parse_args()
    rank, world = dist.init()
    if GLOBAL_BATCH % world:
        sys.exit("train_digits_ddp: a global batch of %d does not split over %d ranks" % (GLOBAL_BATCH, world))
    x_train, y_train, x_test, y_test = load_data(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        mod = ampc.load(compile_step(tmp, args.precision, GLOBAL_BATCH // world))
    mod.init_state(init_params(args.seed))  # rank 0's values, broadcast
    say("%d rank(s), global batch %d (%d per rank), %s, all-reduce per step: %d bucket(s), %d bytes"
        % (world, GLOBAL_BATCH, GLOBAL_BATCH // world, args.precision,
           mod.data_parallel["buckets_per_step"], mod.data_parallel["bytes_per_step"]))
    # The same seed everywhere: every rank draws the same global batches.
    rng = np.random.default_rng(args.seed + 1)
    for epoch in range(args.epochs):
        loss = dist.all_reduce_mean(train_epoch(mod, x_train, y_train, rng.permutation(len(x_train))))
        say("epoch %3d  mean train loss %.4f" % (epoch + 1, loss))
    identical = dist.same_everywhere(params_digest(mod.params()))
    say("test accuracy %.2f%%" % (100 * accuracy(mod.params(), x_test, y_test)))
    if args.precision == "fp16":
        say("steps skipped by the loss scaler: %d" % mod.skipped_steps)
    say("params bitwise identical on all %d rank(s): %s" % (world, "yes" if identical else "NO"))
    checkpoint = args.checkpoint or "digits-ddp-%s.npz" % args.precision
    mod.save(checkpoint)  # rank 0 writes; the others return
    say("checkpoint: %s" % os.path.abspath(checkpoint))
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
