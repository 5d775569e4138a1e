#!/usr/bin/env python3
"""Real models' training steps: ampc.torch (fp32, bf16) against PyTorch fp32
and torch.autocast("cpu", bfloat16), from the same random-init weights and
synthetic batches (no weights or data are downloaded), SGD lr 0.001
momentum 0.9, cross-entropy over 10 classes:

  resnet18         torchvision, batch 16, 3x32x32
  resnet50         torchvision, batch 8, 3x64x64
  mobilenet_v2     torchvision, batch 16, 3x64x64 (dropout 0.2 in training mode)
  efficientnet_b0  torchvision, batch 16, 3x64x64 (dropout and stochastic depth)
  encoder          2 TransformerEncoderLayers, d 256, 8 heads, seq 128, batch 16,
                   dropout 0.1, a linear head over the mean token

Prints the export + compile time of each ampc step, then per thread count
the median over --rounds rounds of the mean step time of --steps steps, the
systems taking turns within each round (one process, one OpenMP pool:
ampc.torch is imported first), and the ratios the targets are about. With
--rss, each system also runs alone in a child process and its peak resident
memory (VmHWM, reset after the export and compile: the library loaded
and stepped, or torch's model stepped) is reported. The load average is printed before and after: run it on a quiet
machine.

  benchmarks/cpu/models.py [--models resnet18,...] [--threads 1,2] [--rounds 5]
                           [--steps 3] [--systems ampc-fp32,...] [--rss]"""
import argparse
import copy
import json
import os
import subprocess
import sys
import time

# ampc.torch before torch: one OpenMP pool for both (docs/torch.md).
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import ampc.torch  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402

from turns import load_average, median_step_ms  # noqa: E402

SYSTEMS = ("ampc-fp32", "ampc-bf16", "torch-fp32", "torch-bf16")


class Encoder(nn.Module):
    def __init__(self, d=256, heads=8, layers=2):
        super().__init__()
        layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.head = nn.Linear(d, 10)

    def forward(self, x):
        return self.head(self.encoder(x).mean(1))


MODELS = {
    "resnet18": (lambda: torchvision.models.resnet18(num_classes=10), (16, 3, 32, 32)),
    "resnet50": (lambda: torchvision.models.resnet50(num_classes=10), (8, 3, 64, 64)),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(num_classes=10), (16, 3, 64, 64)),
    "efficientnet_b0": (lambda: torchvision.models.efficientnet_b0(num_classes=10), (16, 3, 64, 64)),
    "encoder": (Encoder, (16, 128, 256)),
}


def batch(shape):
    generator = torch.Generator().manual_seed(0)
    return torch.randn(*shape, generator=generator), torch.randint(0, 10, (shape[0],), generator=generator)


def make_step(name, model_name, library_dir):
    """(step function, compile seconds or None) for one system."""
    make, shape = MODELS[model_name]
    torch.manual_seed(0)
    net = make().train()
    x, y = batch(shape)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.001, momentum=0.9)
    precision = name.split("-")[1]
    if name.startswith("ampc"):
        start = time.perf_counter()
        trainer = ampc.torch.compile(net, x, optimizer=optimizer, precision=precision,
                                     output=os.path.join(library_dir, "%s.%s.so" % (model_name, precision)))
        return (lambda: trainer.step(x, y)), time.perf_counter() - start

    def torch_step():
        optimizer.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = F.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
    try:
        torch_step()
    except RuntimeError as error:   # e.g. no bf16 backward of hardtanh in torch 1.13
        print("  %s cannot train %s: %s" % (name, model_name, str(error).splitlines()[0]), flush=True)
        return None, None
    return torch_step, None


def rss_of(name, model_name, threads, steps):
    """Peak RSS (MiB) of one system stepping alone in a child process."""
    out = subprocess.run([sys.executable, __file__, "--child", name, "--models", model_name,
                          "--threads", str(threads), "--steps", str(steps)],
                         capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("RSS "):
            return float(line.split()[1])
    return None


def peak_rss_mib():
    """This process's peak resident set (VmHWM) in MiB."""
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(args):
    torch.set_num_threads(int(args.threads))
    with __import__("tempfile").TemporaryDirectory() as folder:
        step, _ = make_step(args.child, args.models, folder)
        if step is None:
            return
        # Compiling happens in ampc's own process; the export's peak is
        # forgotten (clear_refs 5 resets VmHWM). ru_maxrss would not do:
        # Linux carries it over from the parent across fork and exec.
        before = peak_rss_mib()
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        for _ in range(args.steps + 2):
            step()
        print("RSS %.1f %.1f" % (peak_rss_mib(), before))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--threads", default="1,%d" % os.cpu_count())
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--rss", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    systems = args.systems.split(",")
    print("# load average before: %s" % load_average(), flush=True)
    print("# cpu: %s" % " ".join(sorted(set(f for f in open("/proc/cpuinfo").read().split()
                                            if f in ("avx512_bf16", "amx_bf16", "avx512_fp16", "avx512f")))))
    results = {}
    import tempfile
    folder = tempfile.mkdtemp(prefix="ampc-models-")
    for model_name in args.models.split(","):
        steps, compiles = {}, {}
        for name in systems:
            step, seconds = make_step(name, model_name, folder)
            if step is not None:
                steps[name] = step
            if seconds is not None:
                compiles[name] = seconds
                print("%s %s: export + compile %.1f s" % (model_name, name, seconds), flush=True)
        for threads in [int(t) for t in args.threads.split(",")]:
            torch.set_num_threads(threads)
            medians = median_step_ms(steps, args.rounds, args.steps)
            line = ", ".join("%s %.1f ms" % (n, m) for n, m in medians.items())
            ratios = []
            for ours, theirs in (("ampc-bf16", "torch-bf16"), ("ampc-fp32", "torch-fp32"),
                                 ("ampc-bf16", "torch-fp32"), ("ampc-fp32", "ampc-bf16")):
                if ours in medians and theirs in medians:
                    ratios.append("%s/%s %.2f" % (ours, theirs, medians[ours] / medians[theirs]))
            print("%s threads %d: %s; %s" % (model_name, threads, line, "; ".join(ratios)), flush=True)
            results[(model_name, threads)] = medians
            if args.rss:
                rss = {name: rss_of(name, model_name, threads, args.steps) for name in systems}
                print("%s threads %d peak RSS: %s" % (model_name, threads, ", ".join(
                    "%s %.0f MiB" % (n, r) for n, r in rss.items() if r is not None)), flush=True)
    print("# load average after: %s" % load_average())


if __name__ == "__main__":
    main()
