#!/usr/bin/env python3
"""torchvision's ResNet-18 (random init, 10 classes) on 32x32 synthetic
batches: a few SGD-momentum steps compiled by ampc.torch in bf16 next to
PyTorch fp32 and torch.autocast("cpu", bfloat16) from the same weights,
with export + compile time and step times (no weights or data sets are
downloaded).

  examples/torch/resnet18_bf16.py [--steps N] [--batch B]"""
import argparse
import copy
import os
import sys
import time

# ampc.torch before torch: then both share one OpenMP thread pool (docs/torch.md).
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import ampc.torch  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10)
    generator = torch.Generator().manual_seed(0)
    batches = [(torch.randn(args.batch, 3, 32, 32, generator=generator),
                torch.randint(0, 10, (args.batch,), generator=generator)) for _ in range(args.steps)]
    reference, autocast = copy.deepcopy(model), copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)
    start = time.perf_counter()
    trainer = ampc.torch.compile(model, batches[0][0], optimizer=optimizer, precision="bf16")
    print("export + compile: %.1f s" % (time.perf_counter() - start))
    optimizers = [torch.optim.SGD(m.parameters(), lr=0.001, momentum=0.9) for m in (reference, autocast)]
    print("%-5s %-10s %-12s %-12s %s" % ("step", "ampc bf16", "torch fp32", "torch bf16", "ms (ampc / fp32 / bf16)"))
    for k, (x, y) in enumerate(batches):
        t0 = time.perf_counter()
        ours = float(trainer.step(x, y))
        t1 = time.perf_counter()
        row = []
        for net, opt, low in ((reference, optimizers[0], False), (autocast, optimizers[1], True)):
            s = time.perf_counter()
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=low):
                loss = F.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
            row.append((float(loss), time.perf_counter() - s))
        print("%-5d %-10.5f %-12.5f %-12.5f %.0f / %.0f / %.0f" % (
            k, ours, row[0][0], row[1][0], 1e3 * (t1 - t0), 1e3 * row[0][1], 1e3 * row[1][1]))


if __name__ == "__main__":
    main()
