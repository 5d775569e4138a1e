#!/usr/bin/env python3
"""ResNet-18 training-step time: ampc.torch (fp32, bf16) against PyTorch
fp32 and torch.autocast("cpu", bfloat16), in one process and one OpenMP
pool (ampc.torch is imported before torch), from the same random-init
weights and synthetic batch (torchvision resnet18(num_classes=10), 32x32
inputs, SGD lr 0.001 momentum 0.9; no weights or data are downloaded).

Prints, per thread count, the median over --rounds rounds of the mean step
time of --steps steps; in each round every system runs in turn, so machine
noise reaches all of them alike. The load average is printed before and
after: run it on a quiet machine.

  benchmarks/cpu/resnet18_step.py [--threads 1,2] [--rounds 7] [--steps 5]
                                  [--batch 16] [--systems ampc-fp32,ampc-bf16,torch-fp32,torch-bf16]"""
import argparse
import copy
import os
import sys
import time

# ampc.torch before torch: one OpenMP pool for both (docs/torch.md).
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import ampc.torch  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402

from turns import load_average, median_step_ms  # noqa: E402


SYSTEMS = ("ampc-fp32", "ampc-bf16", "torch-fp32", "torch-bf16")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,%d" % os.cpu_count())
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    args = parser.parse_args()
    chosen = args.systems.split(",")
    unknown = [s for s in chosen if s not in SYSTEMS]
    if unknown:
        parser.error("unknown system %r (choose from %s)" % (unknown[0], ", ".join(SYSTEMS)))
    print("# load average before: %s" % load_average(), flush=True)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=10)
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 3, 32, 32, generator=generator)
    y = torch.randint(0, 10, (args.batch,), generator=generator)

    def sgd(net):
        return torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)

    steps = {}
    for name in chosen:
        net = copy.deepcopy(model)
        precision = name.split("-")[1]
        if name.startswith("ampc"):
            start = time.perf_counter()
            trainer = ampc.torch.compile(net, x, optimizer=sgd(net), precision=precision)
            print("%s: export + compile %.1f s" % (name, time.perf_counter() - start), flush=True)
            steps[name] = lambda trainer=trainer: trainer.step(x, y)
        else:
            def torch_step(net=net, optimizer=sgd(net), low=precision == "bf16"):
                optimizer.zero_grad()
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=low):
                    loss = F.cross_entropy(net(x), y)
                loss.backward()
                optimizer.step()
            steps[name] = torch_step
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)   # the shared pool: ampc's steps too
        medians = median_step_ms(steps, args.rounds, args.steps)
        print("threads %d: " % threads + ", ".join(
            "%s %.1f ms" % (name, m) for name, m in medians.items()), flush=True)
    print("# load average after: %s" % load_average())


if __name__ == "__main__":
    main()
