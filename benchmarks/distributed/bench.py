#!/usr/bin/env python3
"""Data-parallel training steps on 1 and N ranks: ampc (--data-parallel=mpi)
against PyTorch DistributedDataParallel over gloo, one thread per rank.

Workloads (benchmarks/workloads/forward.py): mlp-medium (global batch 1024,
784-1024-1024-10) and cnn-small (global batch 64, 3x32x32, three 3x3
convolutions, global average pooling, Linear 128->10); softmax
cross-entropy over class numbers, SGD with momentum 0.9, the same weights
and global batch for both systems, fp32 and bf16 (PyTorch: torch.autocast).
With R ranks each rank steps on its 1/R of the global batch.

The driver compiles every library first (the ampc CLI, --threads=1), then
runs `mpirun -np R` once per rank count. In that run the systems take turns
in each round: the ampc data-parallel step, the DDP step, MPI_Allreduce
(mpi4py) of the bytes ampc all-reduces per step, gloo's all_reduce of a
tensor as large as DDP's gradients, and each system's step without data
parallelism on the same per-rank batch ("local step"). Reported per system:
the slowest rank's median step, the data-parallel share (step - local step)
/ step (the all-reduce plus waiting for the slower rank), and the
all-reduce alone as a share of the step.

  /usr/bin/python3 benchmarks/distributed/bench.py [--ranks 1,2] [--rounds 3] [--steps 10]
      [--workloads mlp-medium,cnn-small] [--precision fp32,bf16] [--json FILE]"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "workloads"))
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "cpu"))
sys.path.insert(0, os.path.join(ROOT, "python"))

import forward  # noqa: E402
from turns import load_average  # noqa: E402

WORKLOADS = ("mlp-medium", "cnn-small")


# -- the driver -------------------------------------------------------------

def cpu_description():
    """The CPU model, core count and the ISA flags that decide bf16 speed."""
    info = open("/proc/cpuinfo").read()
    model = re.search(r"model name\s*:\s*(.*)", info)
    flags = sorted(set(re.findall(r"\b(avx512_bf16|amx_bf16|amx_tile|avx512f|avx2)\b", info)))
    return "%s; %d cores; %s" % (model.group(1) if model else "?", os.cpu_count(), " ".join(flags) or "-")


def forward_mlir(name, batch):
    """The workload's forward function with its batch set to `batch`
    (the shapes are fixed, so each rank count needs its own copy)."""
    spec = forward.WORKLOADS[name]
    forward.WORKLOADS[name] = dict(spec, batch=batch)
    try:
        return forward.mlir(name)
    finally:
        forward.WORKLOADS[name] = spec


def compile_library(folder, name, batch, precision, data_parallel):
    from ampc.compiler import find_ampc
    stem = os.path.join(folder, "%s-b%d-%s%s" % (name, batch, precision, "-dp" if data_parallel else ""))
    with open(stem + ".mlir", "w") as f:
        f.write(forward_mlir(name, batch))
    cmd = [find_ampc(), stem + ".mlir", "-o", stem + ".so", "--precision=" + precision,
           "--train=" + forward.train_options(name), "-O3", "--threads=1"]
    if data_parallel:
        cmd.append("--data-parallel=mpi")
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit("bench: compiling %s failed:\n%s" % (stem, result.stderr.strip()))
    return stem + ".so"


def compile_all(folder, workloads, precisions, ranks):
    """{workload: {precision: {ranks: {"ampc": data-parallel library,
    "ampc-local": the same step without data parallelism}}}}."""
    libraries = {}
    for name in workloads:
        global_batch = forward.input_shape(name)[0]
        for precision in precisions:
            for r in ranks:
                if global_batch % r:
                    sys.exit("bench: %s's batch of %d does not split over %d ranks" % (name, global_batch, r))
                per_rank = global_batch // r
                libraries.setdefault(name, {}).setdefault(precision, {})[str(r)] = {
                    "ampc": compile_library(folder, name, per_rank, precision, True),
                    "ampc-local": compile_library(folder, name, per_rank, precision, False)}
    return libraries


def launch(ranks, args, libraries_file):
    """One `mpirun -np ranks` run of the worker; rank 0's JSON result."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    if os.geteuid() == 0:  # OpenMPI refuses root without both
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    cmd = [shutil.which("mpirun") or "mpirun", "-np", str(ranks), "--oversubscribe",
           sys.executable, "-W", "ignore", os.path.abspath(__file__), "--worker",
           "--libraries", libraries_file, "--workloads", args.workloads, "--precision", args.precision,
           "--rounds", str(args.rounds), "--steps", str(args.steps)]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        sys.exit("bench: the %d-rank run failed:\n%s" % (ranks, (result.stderr or result.stdout)[-3000:]))
    return json.loads(result.stdout.strip().splitlines()[-1])


COLUMNS = ("workload", "precision", "ranks", "batch/rank", "system", "step (median)", "local step",
           "data-parallel share (step - local)", "all-reduce alone (share)", "bytes/step",
           "speedup vs 1 rank", "torch / ampc")


def table_rows(name, precision, by_ranks, ranks):
    """Two rows (ampc, torch) for one rank count."""
    row = by_ranks[str(ranks)]
    ms = row["ms"]
    for system, alone in (("ampc", "mpi-allreduce"), ("torch", "gloo-allreduce")):
        step, local = ms[system], ms[system + "-local"]
        one = by_ranks.get("1", {}).get("ms", {}).get(system)
        yield [name, precision, ranks, row["batch"], system, "%.2f ms" % step, "%.2f ms" % local,
               "%.0f%%" % (100 * (step - local) / step),
               "%.2f ms (%.0f%%)" % (ms[alone], 100 * ms[alone] / step),
               "{:,}".format(row["bytes"][system]), "x%.2f" % (one / step) if one else "-",
               "x%.2f" % (ms["torch"] / ms["ampc"]) if system == "torch" else ""]


def print_table(results, ranks):
    print("\n| " + " | ".join(COLUMNS) + " |")
    print("|---|---|---:|---:|---|" + "---:|" * (len(COLUMNS) - 5))
    for (name, precision), by_ranks in results.items():
        for r in ranks:
            for cells in table_rows(name, precision, by_ranks, r):
                print("| " + " | ".join(str(c) for c in cells) + " |")


def drive(args):
    workloads, precisions = args.workloads.split(","), args.precision.split(",")
    ranks = [int(r) for r in args.ranks.split(",")]
    print("# %s" % cpu_description())
    print("# load average before: %s" % load_average(), flush=True)
    results = {(name, p): {} for name in workloads for p in precisions}
    with tempfile.TemporaryDirectory(prefix="ampc-dist-bench-") as folder:
        libraries_file = os.path.join(folder, "libraries.json")
        with open(libraries_file, "w") as f:
            json.dump(compile_all(folder, workloads, precisions, ranks), f)
        for r in ranks:
            for key, row in launch(r, args, libraries_file).items():
                name, precision = key.split("/")
                results[(name, precision)][str(r)] = row
    print("# load average after: %s" % load_average())
    print("# 1 thread per rank, %d rounds x %d steps; the slowest rank's median" % (args.rounds, args.steps))
    print_table(results, ranks)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"%s/%s" % key: value for key, value in results.items()}, f, indent=2)


# -- the worker (one rank under mpirun) -------------------------------------

def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def init_torch_distributed(comm):
    """gloo on this host; rank 0 picks the port unless MASTER_PORT is set."""
    import torch.distributed
    port = os.environ.get("MASTER_PORT") or comm.bcast(free_port() if comm.rank == 0 else None, root=0)
    os.environ.update(MASTER_ADDR=os.environ.get("MASTER_ADDR", "127.0.0.1"), MASTER_PORT=str(port))
    torch.distributed.init_process_group("gloo", rank=comm.rank, world_size=comm.size)


def torch_step_function(model, x, y, bf16):
    import torch
    optimizer = torch.optim.SGD(model.parameters(), lr=forward.LR, momentum=forward.MOMENTUM)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    return step


def ampc_step_function(library, params, x, y):
    import ampc
    module = ampc.load(library)
    module.init_state(params)
    return module, lambda: module.step(x, y)


def allreduce_functions(comm, bytes_per_step, buckets, torch_numel):
    """MPI_Allreduce of ampc's bytes (in its buckets) and gloo's all_reduce
    of one tensor as large as DDP's gradients."""
    import numpy as np
    import torch
    import torch.distributed
    from mpi4py import MPI
    bucket = np.ones(max(1, bytes_per_step // 4 // buckets), np.float32)
    result = np.empty_like(bucket)
    grads = torch.ones(torch_numel)

    def mpi():
        for _ in range(buckets):
            comm.Allreduce(bucket, result, op=MPI.SUM)
    return mpi, lambda: torch.distributed.all_reduce(grads)


def workload_steps(comm, name, library, precision):
    """The systems' step functions for one workload, in the order they
    take turns, and what to report."""
    import copy
    import torch
    from torch.nn.parallel import DistributedDataParallel
    from train_step import batch, initial_params
    import ampc.distributed as dist
    model, params = initial_params(name)  # the same seed: the same weights everywhere
    x, y = (dist.shard(a, comm.rank, comm.size) for a in batch(name))
    steps = {}
    ampc_module, steps["ampc"] = ampc_step_function(library["ampc"], params, x, y)
    tx, ty = torch.from_numpy(x.copy()), torch.from_numpy(y.copy())
    bf16 = precision == "bf16"
    steps["torch"] = torch_step_function(DistributedDataParallel(copy.deepcopy(model)), tx, ty, bf16)
    dp = ampc_module.data_parallel
    numel = sum(p.numel() for p in model.parameters())
    steps["mpi-allreduce"], steps["gloo-allreduce"] = allreduce_functions(
        comm, dp["bytes_per_step"], dp["buckets_per_step"], numel)
    _, steps["ampc-local"] = ampc_step_function(library["ampc-local"], params, x, y)
    steps["torch-local"] = torch_step_function(copy.deepcopy(model), tx, ty, bf16)
    # The local steps do not wait for each other: realign the ranks before
    # the next round's collectives (not reported).
    steps["barrier"] = comm.Barrier
    return steps, {"batch": len(x), "bytes": {"ampc": dp["bytes_per_step"], "torch": 4 * numel},
                   "buckets": dp["buckets_per_step"]}


def work(args):
    from mpi4py import MPI  # initializes MPI; ampc.distributed then reuses it
    import ampc.torch  # noqa: F401  before torch: one OpenMP pool
    import torch
    import torch.distributed
    from turns import median_step_ms
    torch.set_num_threads(1)
    comm = MPI.COMM_WORLD
    init_torch_distributed(comm)
    libraries = json.load(open(args.libraries))
    results = {}
    for name in args.workloads.split(","):
        for precision in args.precision.split(","):
            steps, info = workload_steps(comm, name, libraries[name][precision][str(comm.size)], precision)
            medians = median_step_ms(steps, args.rounds, args.steps)
            every_rank = comm.gather(medians, root=0)
            if comm.rank == 0:  # a data-parallel step is as slow as its slowest rank
                ms = {s: max(m[s] for m in every_rank) for s in medians}
                results["%s/%s" % (name, precision)] = dict(info, ms=ms)
    if comm.rank == 0:
        print(json.dumps(results), flush=True)
    torch.distributed.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranks", default="1,2", help="rank counts to run, one mpirun each")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--precision", default="fp32,bf16",
                        help="fp32 and/or bf16 (PyTorch then under torch.autocast)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="steps per system per round")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--libraries", help=argparse.SUPPRESS)
    args = parser.parse_args()
    unknown = [w for w in args.workloads.split(",") if w not in forward.WORKLOADS]
    if unknown:
        parser.error("unknown workload %r" % unknown[0])
    if not set(args.precision.split(",")) <= {"fp32", "bf16"}:
        parser.error("--precision takes fp32 and/or bf16")
    return work(args) if args.worker else drive(args)


if __name__ == "__main__":
    sys.exit(main())
