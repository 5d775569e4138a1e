#!/usr/bin/env python3
"""GPU MLP training-step benchmark: ampc against PyTorch, side by side.

  bench.py --artifacts DIR [--workloads mlp-small,mlp-large] [--check-only]

DIR holds the ampc libraries built by benchmarks/gpu_mlp/build.sh
(<workload>.<variant>.so, variants fp32, bf16, fp16: fp16 has dynamic loss
scaling), with libampc_cuda_runtime.so next to them. For each workload the
script first checks ampc against PyTorch FP32 (same initial params, same
batch, five steps: losses and final params), then times every system on the
same device-resident batch: median step time over repeated blocks of steps
(CUDA events), and peak device memory during the steps.

Systems: ampc fp32 / bf16 / fp16+dynamic scaling, each as plain calls and as
a replayed CUDA graph; PyTorch eager fp32, eager autocast bf16, eager
autocast fp16 + GradScaler, torch.compile autocast bf16, and the whole
autocast bf16 step captured in one CUDA graph. The last lines printed are a
Markdown table."""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "workloads"))

import ampc  # noqa: E402
import mlp as workloads  # noqa: E402

import torch  # noqa: E402


def init_params(dims, seed=0):
    rng = np.random.default_rng(seed)
    params = []
    for i in range(len(dims) - 1):
        bound = 1.0 / np.sqrt(dims[i])
        params.append(rng.uniform(-bound, bound, (dims[i], dims[i + 1])).astype(np.float32))
        params.append(rng.uniform(-bound, bound, (dims[i + 1],)).astype(np.float32))
    return params


def make_batch(batch, dims, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, dims[0])).astype(np.float32)
    labels = rng.integers(0, dims[-1], batch)
    y = np.zeros((batch, dims[-1]), dtype=np.float32)
    y[np.arange(batch), labels] = 1.0
    return x, y


# ---------------------------------------------------------------- PyTorch ---

class TorchStep:
    def __init__(self, batch, dims, params, mode):
        self.mode = mode
        self.params, self.forward = workloads.torch_model(batch, dims)
        with torch.no_grad():
            for p, v in zip(self.params, params):
                p.copy_(torch.from_numpy(v))
        self.opt = torch.optim.SGD(self.params, lr=workloads.LR, momentum=workloads.MOMENTUM)
        self.scaler = torch.amp.GradScaler("cuda") if mode == "fp16" else None
        self.dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "compile": torch.bfloat16,
                      "graph": torch.bfloat16}.get(mode)
        self.fn = self._step
        if mode == "compile":
            self.fn = torch.compile(self._step)

    def _step(self, x, y):
        self.opt.zero_grad(set_to_none=True)
        if self.dtype is not None:
            with torch.autocast("cuda", dtype=self.dtype):
                loss = self.forward(x, y)
        else:
            loss = self.forward(x, y)
        if self.scaler:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.opt)
            self.scaler.update()
        else:
            loss.backward()
            self.opt.step()
        return loss.detach()

    def prepare(self, x, y):
        if self.mode != "graph":
            return lambda: self.fn(x, y)
        # Whole-step CUDA graph (PyTorch's documented recipe).
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):
                self.opt.zero_grad(set_to_none=False)
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    loss = self.forward(x, y)
                loss.backward()
                self.opt.step()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        self.opt.zero_grad(set_to_none=False)
        with torch.cuda.graph(graph):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                static_loss = self.forward(x, y)
            static_loss.backward()
            self.opt.step()
        return graph.replay


def time_blocks(run, sync, steps, blocks, start_event, end_event, elapsed):
    """Median ms per step over `blocks` blocks of `steps` back-to-back steps."""
    times = []
    for _ in range(blocks):
        sync()
        start = start_event()
        for _ in range(steps):
            run()
        end = end_event()
        times.append(elapsed(start, end) / steps)
    return statistics.median(times), min(times), max(times)


def bench_torch(batch, dims, params, x_np, y_np, mode, steps, blocks):
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    step = TorchStep(batch, dims, params, mode)
    x = torch.from_numpy(x_np).cuda()
    y = torch.from_numpy(y_np).cuda()
    run = step.prepare(x, y)
    for _ in range(5):
        run()
    torch.cuda.synchronize()

    def event():
        e = torch.cuda.Event(enable_timing=True)
        e.record()
        return e
    result = time_blocks(run, torch.cuda.synchronize, steps, blocks, event, event,
                         lambda a, b: (b.synchronize(), a.elapsed_time(b))[1])
    peak = torch.cuda.max_memory_allocated()
    del step, run
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    return result, peak


# ------------------------------------------------------------------- ampc ---

def load_ampc(path, params, graphs):
    module = ampc.load(path, use_graphs=graphs)
    module.init_state(params)
    return module


def bench_ampc(path, params, x_np, y_np, graphs, steps, blocks):
    module = load_ampc(path, params, graphs)
    rt = module.runtime
    x = ampc.DeviceArray.from_host(rt, x_np)
    y = ampc.DeviceArray.from_host(rt, y_np)
    for _ in range(5):
        module.step(x, y)
    rt.check(rt.synchronize())
    rt.reset_peak_memory()

    def run():
        module.step(x, y, read_loss=False)

    def elapsed(a, b):
        ms = rt.event_elapsed_ms(a, b)
        rt.event_destroy(a)
        rt.event_destroy(b)
        rt.check()
        return ms
    result = time_blocks(run, lambda: rt.check(rt.synchronize()), steps, blocks,
                         rt.event_record, rt.event_record, elapsed)
    rt.check(rt.synchronize())
    held, peak_held, temp, peak_temp = module.memory()
    loss = module.step(x, y)
    module.close()
    x.free()
    y.free()
    return result, peak_held + peak_temp, loss


# ---------------------------------------------------------------- checks ---

def check(batch, dims, artifacts, name, params, x, y, report):
    """Five steps of every ampc variant against PyTorch FP32 on the GPU."""
    ref = TorchStep(batch, dims, params, "fp32")
    xt, yt = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()
    ref_losses = [float(ref._step(xt, yt)) for _ in range(5)]
    ref_params = [p.detach().cpu().numpy() for p in ref.params]
    ok = True
    for variant in ("fp32", "bf16", "fp16"):
        for graphs in (False, True):
            path = os.path.join(artifacts, "%s.%s.so" % (name, variant))
            module = load_ampc(path, params, graphs)
            losses = [module.step(x, y) for _ in range(5)]
            final = module.params()
            module.close()
            param_err = max(float(np.linalg.norm(a - b) / np.linalg.norm(b)) for a, b in zip(final, ref_params))
            loss_err = max(abs(a - b) / abs(b) for a, b in zip(losses, ref_losses))
            bar = 1e-4 if variant == "fp32" else 3e-2
            good = param_err < bar and loss_err < bar and all(np.isfinite(losses))
            ok &= good
            line = ("check %s %s%s: losses %s (torch fp32 %s) max rel loss err %.2e, max rel param err %.2e -> %s"
                    % (name, variant, " graph" if graphs else "", ["%.5f" % v for v in losses],
                       ["%.5f" % v for v in ref_losses], loss_err, param_err, "ok" if good else "FAIL"))
            print(line, flush=True)
            report.append(line)
            del module
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", required=True)
    parser.add_argument("--workloads", default="mlp-small,mlp-large")
    parser.add_argument("--check-only", action="store_true")
    parser.add_argument("--systems", default="ampc,torch",
                        help="which systems to time (ampc, torch or both); run one ampc variant per "
                             "process to read its peak memory alone")
    parser.add_argument("--variants", default="fp32,bf16,fp16", help="ampc precisions to time")
    parser.add_argument("--modes", default="plain,graph", help="ampc launch modes to time")
    parser.add_argument("--json", help="write all figures here")
    args = parser.parse_args()
    for option, allowed in ((args.systems, {"ampc", "torch"}), (args.variants, {"fp32", "bf16", "fp16"}),
                            (args.modes, {"plain", "graph"})):
        unknown = set(option.split(",")) - allowed
        if unknown:
            parser.error("unknown value(s) %s (allowed: %s)" % (", ".join(sorted(unknown)), ", ".join(sorted(allowed))))
    os.environ.setdefault("AMPC_CUDA_RUNTIME", os.path.join(args.artifacts, "libampc_cuda_runtime.so"))
    print("device: %s, torch %s" % (torch.cuda.get_device_name(), torch.__version__), flush=True)
    rows, report, all_ok = [], [], True
    for name in args.workloads.split(","):
        spec = workloads.WORKLOADS[name]
        batch, dims = spec["batch"], spec["dims"]
        params = init_params(dims)
        x, y = make_batch(batch, dims)
        all_ok &= check(batch, dims, args.artifacts, name, params, x, y, report)
        if args.check_only:
            continue
        steps, blocks = (50, 10) if name == "mlp-small" else (5, 5)
        systems = args.systems.split(",")
        variants = args.variants.split(",") if "ampc" in systems else []
        modes = [mode == "graph" for mode in args.modes.split(",")]
        for variant in variants:
            for graphs in modes:
                path = os.path.join(args.artifacts, "%s.%s.so" % (name, variant))
                (median, low, high), peak, loss = bench_ampc(path, params, x, y, graphs, steps, blocks)
                label = "ampc %s%s" % (variant + ("+dynamic scaling" if variant == "fp16" else ""),
                                       " (CUDA graph)" if graphs else "")
                rows.append((name, label, median, low, high, peak))
                print("%s | %s | %.3f ms (%.3f-%.3f) | %.0f MiB" % (name, label, median, low, high, peak / 2**20), flush=True)
        torch_modes = (("fp32", "PyTorch eager fp32"), ("bf16", "PyTorch eager autocast bf16"),
                       ("fp16", "PyTorch eager autocast fp16 + GradScaler"),
                       ("compile", "PyTorch torch.compile autocast bf16"),
                       ("graph", "PyTorch whole-step CUDA graph autocast bf16"))
        for mode, label in (torch_modes if "torch" in systems else ()):
            try:
                (median, low, high), peak = bench_torch(batch, dims, params, x, y, mode, steps, blocks)
            except Exception as error:  # torch.compile may be unavailable
                print("%s | %s | failed: %s" % (name, label, error), flush=True)
                continue
            rows.append((name, label, median, low, high, peak))
            print("%s | %s | %.3f ms (%.3f-%.3f) | %.0f MiB" % (name, label, median, low, high, peak / 2**20), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(), "checks": report,
                       "rows": [dict(workload=r[0], system=r[1], median_ms=r[2], min_ms=r[3], max_ms=r[4],
                                     peak_bytes=r[5]) for r in rows]}, f, indent=2)
    if rows:
        print("\n| workload | system | median step (ms) | min-max | peak device memory (MiB) |")
        print("|---|---|---:|---|---:|")
        for r in rows:
            print("| %s | %s | %.3f | %.3f-%.3f | %.0f |" % (r[0], r[1], r[2], r[3], r[4], r[5] / 2**20))
    print("checks: %s" % ("all ok" if all_ok else "FAILURES"))
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
