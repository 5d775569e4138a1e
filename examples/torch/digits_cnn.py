#!/usr/bin/env python3
"""A small CNN with BatchNorm, written in PyTorch, trained on the
scikit-learn digits (8x8 images, 10 classes; Debian's python3-sklearn ships
them, no download) by ampc.torch in fp32, bf16 and fp16 (dynamic loss
scaling), and by PyTorch fp32 for reference, from the same initial weights
and batches. Prints test accuracy and the final training loss per system.

  examples/torch/digits_cnn.py [--epochs N] [--seed S]"""
import argparse
import copy
import os
import sys
import time

# ampc.torch before torch: then both share one OpenMP thread pool (docs/torch.md).
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import ampc.torch  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


BATCH = 32


class DigitsCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc = nn.Linear(32 * 2 * 2, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc(torch.flatten(x, 1))


def load_data(seed):
    from sklearn.datasets import load_digits
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    y = torch.tensor(digits.target, dtype=torch.int64)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    return x[order[360:]], y[order[360:]], x[order[:360]], y[order[:360]]


def batches(x, y, epochs, seed):
    generator = torch.Generator().manual_seed(seed + 1)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(order) - BATCH + 1, BATCH):
            idx = order[start:start + BATCH]
            yield x[idx], y[idx]


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def run(epochs, seed):
    """(system, final loss, test accuracy, seconds) for torch fp32 and ampc
    fp32/bf16/fp16."""
    args = argparse.Namespace(epochs=epochs, seed=seed)
    torch.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = load_data(args.seed)
    initial = DigitsCNN()
    rows = []
    reference = copy.deepcopy(initial)
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.05, momentum=0.9)
    start, loss = time.perf_counter(), None
    for xb, yb in batches(x_train, y_train, args.epochs, args.seed):
        optimizer.zero_grad()
        loss = F.cross_entropy(reference(xb), yb)
        loss.backward()
        optimizer.step()
    rows.append(("torch fp32", float(loss), accuracy(reference, x_test, y_test), time.perf_counter() - start))
    for precision in ("fp32", "bf16", "fp16"):
        model = copy.deepcopy(initial)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        trainer = ampc.torch.compile(model, x_train[:BATCH], loss="cross_entropy", optimizer=optimizer,
                                     precision=precision)
        start = time.perf_counter()
        for xb, yb in batches(x_train, y_train, args.epochs, args.seed):
            loss = trainer.step(xb, yb)
        seconds = time.perf_counter() - start
        trainer.to_module()
        rows.append(("ampc " + precision, float(loss), accuracy(model, x_test, y_test), seconds))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = run(args.epochs, args.seed)
    print("%-11s %-16s %-14s %s" % ("system", "final loss", "test accuracy", "training time"))
    for name, final, acc, seconds in rows:
        print("%-11s %-16.4f %-14s %.2f s" % (name, final, "%.2f%%" % (100 * acc), seconds))


if __name__ == "__main__":
    main()
