#!/usr/bin/env python3
"""Training steps on the CPU: ampc against PyTorch, in one run, systems
taking turns.

Workloads (benchmarks/workloads/forward.py): mlp-small (batch 256,
64-256-256-10), mlp-medium (batch 1024, 784-1024-1024-10) and cnn-small
(batch 64, 3x32x32, three 3x3 convolutions, global average pooling, a
Linear layer); softmax cross-entropy over class numbers, SGD with momentum
0.9, the same weights and batch for every system.

Systems: ampc fp32, bf16, fp16 (dynamic loss scaling) and bf16 with
--cpu-gemm=native (ampc's own generated GEMM), from the forward function
through `ampc --train`; PyTorch fp32 and torch.autocast("cpu", bfloat16).
Each system runs in its own process per round (so that its peak RSS is its
own, and no system's threads disturb another's), `--rounds` times in turn;
the table gives the median step over all rounds, GFLOP/s of the step's
matmuls and convolutions, the peak RSS, and the oneDNN kernels that ran
(ONEDNN_VERBOSE). The ceiling is oneDNN's own 2048^2 GEMM in bf16 and f32,
measured through ampc's CPU runtime in the same run.

  /usr/bin/python3 benchmarks/cpu/train_step.py [--workloads mlp-small,mlp-medium,cnn-small]
      [--systems ...] [--rounds 3] [--steps 20] [--threads N]

Run it on a quiet machine: PyTorch's OpenMP threads slow down 10-20x when
another process holds a core. The load average is printed with the table."""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "workloads"))
sys.path.insert(0, os.path.join(ROOT, "python"))

import forward  # noqa: E402
from turns import load_average  # noqa: E402

SYSTEMS = {
    "ampc-fp32": dict(kind="ampc", precision="fp32", flags=[]),
    "ampc-bf16": dict(kind="ampc", precision="bf16", flags=[]),
    "ampc-fp16": dict(kind="ampc", precision="fp16", flags=["--loss-scaling=dynamic"]),
    "ampc-bf16-native-gemm": dict(kind="ampc", precision="bf16", flags=["--cpu-gemm=native"]),
    "torch-fp32": dict(kind="torch", precision="fp32"),
    "torch-bf16": dict(kind="torch", precision="bf16"),
}


def batch(name, seed=0):
    import numpy as np
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(forward.input_shape(name)).astype(np.float32)
    y = rng.integers(0, forward.classes(name), size=forward.input_shape(name)[0]).astype(np.int64)
    return x, y


def initial_params(name, seed=0):
    import torch
    torch.manual_seed(seed)
    module = forward.torch_model(name)
    return module, forward.torch_params_to_ampc(name, module)


def run_ampc(library, name, steps, warmup):
    import ampc
    import numpy as np
    module = ampc.load(library)
    _, params = initial_params(name)
    module.init_state(params)
    x, y = batch(name)
    for _ in range(warmup):
        module.step(x, y)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        loss = module.step(x, y)
        times.append(time.perf_counter() - start)
    assert np.isfinite(loss), loss
    return times, loss


def run_torch(name, precision, steps, warmup, threads):
    import torch
    torch.set_num_threads(threads)
    module, _ = initial_params(name)
    x, y = (torch.from_numpy(a) for a in batch(name))
    opt = torch.optim.SGD(module.parameters(), lr=forward.LR, momentum=forward.MOMENTUM)

    def step():
        opt.zero_grad(set_to_none=True)
        if precision == "bf16":
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = torch.nn.functional.cross_entropy(module(x), y)
        else:
            loss = torch.nn.functional.cross_entropy(module(x), y)
        loss.backward()
        opt.step()
        return loss

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - start)
    return times, float(loss)


def child(args):
    """One system, one round, in this process: prints a JSON line."""
    spec = SYSTEMS[args.system]
    if spec["kind"] == "ampc":
        times, loss = run_ampc(args.library, args.workload, args.steps, args.warmup)
    else:
        times, loss = run_torch(args.workload, spec["precision"], args.steps, args.warmup, args.threads)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"times": times, "loss": loss, "rss": rss}))


def compile_library(name, system, folder, threads):
    import ampc
    spec = SYSTEMS[system]
    source = os.path.join(folder, name + ".mlir")
    if not os.path.exists(source):
        open(source, "w").write(forward.mlir(name))
    output = os.path.join(folder, "%s.%s.so" % (name, system))
    from ampc.compiler import find_ampc
    cmd = [find_ampc(), source, "-o", output, "--precision=" + spec["precision"],
           "--train=" + forward.train_options(name), "-O3"] + spec["flags"]
    if threads:
        cmd.append("--threads=%d" % threads)
    start = time.time()
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        return None, result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"
    return output, time.time() - start


def onednn_kernels(cmd, env):
    """The distinct oneDNN implementations a run used (ONEDNN_VERBOSE=1)."""
    env = dict(env, ONEDNN_VERBOSE="1")
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    kinds = set()
    for line in result.stdout.splitlines():
        if line.startswith("onednn_verbose,exec"):
            fields = line.split(",")
            if len(fields) > 5:
                kinds.add("%s:%s" % (fields[3], fields[4]))
    return sorted(kinds)


def gemm_ceiling(n=2048, repeat=5):
    """oneDNN's own n^2 GEMM GFLOP/s through ampc's CPU runtime (the library
    every ampc CPU library calls): bf16 and f16 inputs with f32 output, and
    f32. On a CPU without f16 kernels the f16 one runs on converted copies."""
    import ctypes
    import numpy as np
    from ampc.compiler import find_ampc
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(find_ampc()))), "lib",
                        "libampc_cpu_runtime.so")
    lib = ctypes.CDLL(path)
    lib.ampc_cpu_gemm.restype = None
    i32, i64, ptr = ctypes.c_int32, ctypes.c_int64, ctypes.c_void_p
    lib.ampc_cpu_gemm.argtypes = [i32] * 5 + [i64] * 4 + [ptr, i64, i64] * 3 + [
        ctypes.c_float, ptr, i32, i32]
    rng = np.random.default_rng(0)
    out = {}
    for name, code in (("bf16", 2), ("f16", 1), ("f32", 0)):
        a = rng.standard_normal((n, n)).astype(np.float32)
        b = rng.standard_normal((n, n)).astype(np.float32)
        if name == "bf16":
            from ampc import f32_to_bf16
            a, b = f32_to_bf16(a), f32_to_bf16(b)
        elif name == "f16":
            a, b = a.astype(np.float16), b.astype(np.float16)
        c = np.zeros((n, n), np.float32)
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            lib.ampc_cpu_gemm(code, code, 0, 0, 0, 1, n, n, n, a.ctypes.data, n, 0, b.ctypes.data, n,
                              0, c.ctypes.data, n, 0, 0.0, None, 0, 0)
            best = min(best, time.perf_counter() - start)
        out[name] = 2 * n ** 3 / best / 1e9
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", default="mlp-small,mlp-medium,cnn-small")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--json", help="write the raw results here")
    # The child side.
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--system", help=argparse.SUPPRESS)
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--library", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    workloads = args.workloads.split(",")
    systems = args.systems.split(",")
    folder = tempfile.mkdtemp(prefix="ampc-cpu-bench-")
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    env.pop("ONEDNN_VERBOSE", None)
    cpu = subprocess.run(["grep", "-o", "-m1", "model name.*", "/proc/cpuinfo"], capture_output=True,
                         text=True).stdout.strip()
    flags = sorted(set(re.findall(r"\b(avx512_bf16|amx_bf16|avx512_fp16|amx_tile|avx512f|avx2)\b",
                                  open("/proc/cpuinfo").read())))
    print("# %s; %d cores; %s" % (cpu.split(":", 1)[-1].strip(), os.cpu_count(), " ".join(flags)))
    print("# load average before: %s" % load_average())

    libraries, compile_times = {}, {}
    for name in workloads:
        for system in systems:
            if SYSTEMS[system]["kind"] == "ampc":
                library, info = compile_library(name, system, folder, args.threads)
                libraries[(name, system)] = library
                compile_times[(name, system)] = info
                if library is None:
                    print("# %s %s: compile failed: %s" % (name, system, info))

    results = {}
    for r in range(args.rounds):
        for name in workloads:
            for system in systems:
                if SYSTEMS[system]["kind"] == "ampc" and not libraries.get((name, system)):
                    continue
                cmd = [sys.executable, os.path.abspath(__file__), "--child", "--system", system,
                       "--workload", name, "--steps", str(args.steps), "--warmup", str(args.warmup),
                       "--threads", str(args.threads)]
                if SYSTEMS[system]["kind"] == "ampc":
                    cmd += ["--library", libraries[(name, system)]]
                out = subprocess.run(cmd, capture_output=True, text=True, env=env)
                if out.returncode != 0:
                    print("# %s %s round %d failed: %s" % (name, system, r, out.stderr.strip()[-300:]))
                    continue
                data = json.loads(out.stdout.strip().splitlines()[-1])
                entry = results.setdefault((name, system), {"times": [], "rss": 0, "loss": data["loss"]})
                entry["times"] += data["times"]
                entry["rss"] = max(entry["rss"], data["rss"])

    kernels = {}
    for name in workloads:
        for system in systems:
            if (name, system) not in results:
                continue
            cmd = [sys.executable, os.path.abspath(__file__), "--child", "--system", system,
                   "--workload", name, "--steps", "1", "--warmup", "0", "--threads", str(args.threads)]
            if SYSTEMS[system]["kind"] == "ampc":
                cmd += ["--library", libraries[(name, system)]]
            kernels[(name, system)] = onednn_kernels(cmd, env)
    try:
        ceiling = gemm_ceiling()
    except Exception as error:  # the runtime may not be built
        print("# oneDNN GEMM ceiling not measured: %s" % error)
        ceiling = None
    print("# load average after: %s" % load_average())
    if ceiling:
        print("# oneDNN 2048^2 GEMM through ampc's runtime: bf16 %.0f GFLOP/s, f16 %.0f GFLOP/s, "
              "f32 %.0f GFLOP/s" % (ceiling["bf16"], ceiling["f16"], ceiling["f32"]))

    print("\n| workload | system | median step | GFLOP/s | of oneDNN GEMM | peak RSS | oneDNN kernels |")
    print("|---|---|---:|---:|---:|---:|---|")
    raw = []
    for name in workloads:
        for system in systems:
            entry = results.get((name, system))
            if not entry:
                continue
            median = statistics.median(entry["times"])
            gflops = forward.flops(name) / median / 1e9
            precision = SYSTEMS[system]["precision"]
            fraction = ""
            if ceiling:
                ref = ceiling[{"bf16": "bf16", "fp16": "f16"}.get(precision, "f32")]
                fraction = "%.2f" % (gflops / ref)
            kinds = ", ".join(sorted({k.split(":")[1] for k in kernels.get((name, system), [])})) or "-"
            print("| %s | %s | %.3f ms | %.1f | %s | %.0f MiB | %s |" % (
                name, system, median * 1e3, gflops, fraction, entry["rss"] / 2 ** 20, kinds))
            raw.append(dict(workload=name, system=system, median_ms=median * 1e3, gflops=gflops,
                            rss=entry["rss"], kernels=kernels.get((name, system), []),
                            compile_s=compile_times.get((name, system))))
    if args.json:
        json.dump(dict(results=raw, ceiling=ceiling), open(args.json, "w"), indent=2)


if __name__ == "__main__":
    sys.exit(main())
