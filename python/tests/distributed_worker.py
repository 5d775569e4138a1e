"""Run under mpirun by test_distributed.py: each scenario prints one JSON
line from rank 0 (prefixed RESULT) that the test reads.

  mpirun -np 2 python3 distributed_worker.py parity --model mlp --precision bf16 --optimizer adam
"""
import argparse
import copy
import hashlib
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))
import ampc.torch as at  # noqa: E402  (before torch: one OpenMP pool)
import ampc  # noqa: E402
import ampc.distributed as dist  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

BATCH = 16


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))


def cnn():
    return torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
                               torch.nn.Conv2d(8, 8, 3, stride=2), torch.nn.ReLU(),
                               torch.nn.Flatten(), torch.nn.Linear(8 * 3 * 3, 10))


MODELS = {"mlp": (mlp, (64,)), "cnn": (cnn, (3, 8, 8))}


def make(model, batch, precision, optimizer, **options):
    """A fresh model (same seed: same initial weights) compiled for `batch`."""
    factory, shape = MODELS[model]
    torch.manual_seed(0)
    module = factory()
    opt = (torch.optim.SGD(module.parameters(), lr=0.1, momentum=0.9) if optimizer == "sgd"
           else torch.optim.Adam(module.parameters(), lr=1e-3))
    scaling = {"loss_scaling": "dynamic", "init_scale": 2.0 ** 10} if precision == "fp16" else {}
    return at.compile(module, (torch.zeros((batch,) + shape),), optimizer=opt,
                      precision=precision, **scaling, **options)


def batches(model, steps, seed=1):
    rng = np.random.default_rng(seed)
    shape = MODELS[model][1]
    for _ in range(steps):
        yield (rng.standard_normal((BATCH,) + shape).astype(np.float32),
               rng.integers(0, 10, BATCH))


def state_digest(module):
    digest = hashlib.sha256()
    for value in module.state:
        digest.update(np.ascontiguousarray(value).tobytes())
    return int(digest.hexdigest()[:16], 16)


def report(payload):
    if dist.rank() == 0:
        print("RESULT " + json.dumps(payload), flush=True)


def max_differences(trainer, reference):
    ours, theirs = trainer.parameters(), reference.parameters()
    return {name: [float((ours[name] - theirs[name]).abs().max()),
                   float(theirs[name].abs().max())] for name in ours}


def parity(args):
    """N ranks with 1/N of the batch each against one process with all of
    it, and every rank's whole state identical after every step."""
    world = dist.world_size()
    options = {"bucket_cap_mb": args.bucket_cap_mb} if args.bucket_cap_mb else {}
    trainer = make(args.model, BATCH // world, args.precision, args.optimizer, data_parallel="mpi",
                   **options)
    reference = make(args.model, BATCH, args.precision, args.optimizer) if dist.rank() == 0 else None
    identical, losses = [], []
    for x, y in batches(args.model, args.steps):
        loss = float(trainer.step(dist.shard(x), dist.shard(y)))
        identical.append(dist.same_everywhere(state_digest(trainer.compiled)))
        mean = dist.all_reduce_mean(loss)
        if reference is not None:
            losses.append([mean, float(reference.step(x, y))])
    payload = {"identical": identical, "losses": losses, "world": world,
               "skipped": trainer.compiled.skipped_steps,
               "manifest": trainer.compiled.manifest["data_parallel"]}
    if reference is not None:
        payload["params"] = max_differences(trainer, reference)
        payload["reference_skipped"] = reference.compiled.skipped_steps
    report(payload)


def inf_on_one_rank(args):
    """An inf in rank 1's shard only: every rank skips, backs off the scale
    and resets the tracker, then trains on identically."""
    world = dist.world_size()
    trainer = make("mlp", BATCH // world, "fp16", "sgd", data_parallel="mpi", growth_interval=2)
    reference = make("mlp", BATCH, "fp16", "sgd", growth_interval=2) if dist.rank() == 0 else None
    events = []
    for step, (x, y) in enumerate(batches("mlp", 6)):
        if step == 3:
            x[BATCH - 1, 0] = np.inf  # the last sample: rank 1's shard
        trainer.step(dist.shard(x), dist.shard(y))
        module = trainer.compiled
        events.append({"skipped": module.last_step_skipped, "scale": module.get_scale(),
                       "tracker": module.get_growth_tracker(),
                       "identical": dist.same_everywhere(state_digest(module))})
        if reference is not None:
            reference.step(x, y)
            events[-1]["reference"] = [reference.compiled.last_step_skipped,
                                       reference.compiled.get_scale(),
                                       reference.compiled.get_growth_tracker()]
    payload = {"events": events}
    if reference is not None:
        payload["params"] = max_differences(trainer, reference)
    report(payload)


def checkpoint(args):
    """Rank 0 writes; every rank resumes from the file and continues exactly
    as the uninterrupted run."""
    world = dist.world_size()
    data = list(batches("mlp", 6))
    straight = make("mlp", BATCH // world, "bf16", "adam", data_parallel="mpi")
    for x, y in data:
        straight.step(dist.shard(x), dist.shard(y))
    first = make("mlp", BATCH // world, "bf16", "adam", data_parallel="mpi")
    for x, y in data[:3]:
        first.step(dist.shard(x), dist.shard(y))
    # Called on rank 1 alone it returns without communicating or writing.
    if dist.rank() == 1:
        first.compiled.save(os.path.join(args.folder, "from-rank-1.npz"))
    path = os.path.join(args.folder, "step3.npz")
    first.compiled.save(path)
    dist.barrier()
    resumed = make("mlp", BATCH // world, "bf16", "adam", data_parallel="mpi")
    # As on separate disks: only rank 0 has the file; the others get its state.
    resumed.compiled.load_state(path if dist.rank() == 0 else path + ".not-on-this-rank")
    for x, y in data[3:]:
        resumed.step(dist.shard(x), dist.shard(y))
    same = all(np.array_equal(a, b) for a, b in zip(straight.compiled.state, resumed.compiled.state))
    report({"resumed_equals_straight": bool(dist.all_reduce_mean(float(same)) == 1.0),
            "files": sorted(os.listdir(args.folder))})


def mismatch(args):
    """Each rank compiles its own library (a different lr on rank 1): the
    loader finds out on every rank before any step."""
    rank = dist.rank()
    source = os.path.join(ROOT, "examples", "mlp_training_step.mlir")
    output = os.path.join(args.folder, "rank%d.so" % rank)
    cmd = [ampc.find_ampc(), source, "-o", output, "--precision=bf16", "--data-parallel=mpi"]
    if rank == 1:
        cmd.append("--hyperparameters=none")
    subprocess.run(cmd, check=True)
    try:
        ampc.load(output)
        print("RANK %d loaded" % rank, flush=True)
    except ampc.LibraryError as error:
        print("RANK %d refused: %s" % (rank, error), flush=True)


def ddp(args):
    """torch DistributedDataParallel over gloo next to ampc on the same
    ranks: the same model, data and SGD give the same losses."""
    import torch.distributed as tdist
    world, rank = dist.world_size(), dist.rank()
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    tdist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    module = mlp()
    model = torch.nn.parallel.DistributedDataParallel(module)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    trainer = make("mlp", BATCH // world, "fp32", "sgd", data_parallel="mpi")
    losses = []
    for x, y in batches("mlp", args.steps):
        xs, ys = torch.from_numpy(dist.shard(x)), torch.from_numpy(dist.shard(y))
        opt.zero_grad()
        torch_loss = torch.nn.functional.cross_entropy(model(xs), ys)
        torch_loss.backward()
        opt.step()
        ampc_loss = float(trainer.step(dist.shard(x), dist.shard(y)))
        losses.append([dist.all_reduce_mean(ampc_loss), dist.all_reduce_mean(float(torch_loss))])
    tdist.destroy_process_group()
    report({"losses": losses})


def accumulate(args):
    """With gradient accumulation only <step>_apply communicates: one
    micro-batch per rank accumulated and applied equals the data-parallel
    step on it."""
    source = os.path.join(ROOT, "examples", "mlp_training_step.mlir")
    module = ampc.load(ampc.compile(source, output=os.path.join(args.folder, "acc.so"),
                                    precision="fp16", grad_accumulation=True,
                                    data_parallel="mpi"))
    rng = np.random.default_rng(dist.rank())  # each rank its own data
    params = [rng.standard_normal(shape).astype(np.float32) * 0.1
              for shape in ((64, 128), (128,), (128, 10), (10,))]
    params = [dist.broadcast(p) for p in params]
    x = rng.standard_normal((32, 64)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)]
    module.init_state(params)
    module.step(x, y)
    expected = module.params()
    scale = np.array(np.float32(65536.0))
    accumulate, apply = module["train_step_accumulate"], module["train_step_apply"]
    *accumulators, _ = accumulate(x, y, *params, scale, *[np.zeros_like(p) for p in params])
    lr = np.array(module.hyperparameters["lr"])
    results = apply(*params, lr, scale, np.array(np.int32(0)), *accumulators)
    difference = max(float(np.abs(got - want).max()) for got, want in zip(results[:4], expected))
    report({"difference": difference, "largest": max(float(np.abs(p).max()) for p in expected),
            "moved": max(float(np.abs(a - b).max()) for a, b in zip(expected, params))})


def buffers(args):
    """BatchNorm running statistics: averaged over ranks after every step,
    so every rank holds the same (the mean of what each rank's shard gives)."""
    world = dist.world_size()
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
                                 torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 10))
    eager = copy.deepcopy(module)
    trainer = at.compile(module, (torch.zeros(BATCH // world, 3, 8, 8),),
                         optimizer=torch.optim.SGD(module.parameters(), lr=0.1),
                         precision="fp32", data_parallel="mpi")
    x, y = next(batches("cnn", 1))
    trainer.step(dist.shard(x), dist.shard(y))
    eager.train()
    eager(torch.from_numpy(dist.shard(x)))  # this rank's running statistics alone
    compiled = trainer.parameters()
    names = ("1.running_mean", "1.running_var")
    own = {name: eager.state_dict()[name].numpy() for name in names}
    mean = {name: dist.all_reduce_mean(own[name]) for name in names}
    report({"identical": dist.same_everywhere(state_digest(trainer.compiled)),
            "difference": {n: float(np.abs(compiled[n].numpy() - mean[n]).max()) for n in names},
            "spread": {n: float(np.abs(own[n] - mean[n]).max()) for n in names}})


def threads(args):
    """How many threads each rank's library runs on."""
    trainer = make("mlp", BATCH // dist.world_size(), "fp32", "sgd", data_parallel="mpi")
    report({"threads": trainer.compiled.threads(), "cores": os.cpu_count()})


def bad_load(args):
    """A state dict that fails on rank 1 only: every rank raises, none waits."""
    trainer = make("mlp", BATCH // dist.world_size(), "fp32", "sgd", data_parallel="mpi")
    state = trainer.compiled.state_dict()
    if dist.rank() == 1:
        del state["0.weight"]
    try:
        trainer.compiled.load_state_dict(state)
        print("RANK %d loaded" % dist.rank(), flush=True)
    except ampc.LibraryError as error:
        print("RANK %d raised: %s" % (dist.rank(), error), flush=True)


def die(args):
    """Rank 1 fails while rank 0 waits in the step's all-reduce: the job
    must end (MPI_Abort, or mpirun noticing the dead rank), not hang."""
    trainer = make("mlp", BATCH // dist.world_size(), "fp32", "sgd", data_parallel="mpi")
    x, y = next(batches("mlp", 1))
    if dist.rank() == 1:
        if args.how == "kill":
            os.kill(os.getpid(), 9)
        if args.how == "exit":
            sys.exit(3)
        raise RuntimeError("rank 1 fails on purpose")
    trainer.step(dist.shard(x), dist.shard(y))
    print("RANK 0 finished a step without rank 1", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["parity", "inf", "checkpoint", "mismatch", "ddp",
                                                  "accumulate", "buffers", "threads", "bad_load", "die"])
    parser.add_argument("--model", default="mlp", choices=sorted(MODELS))
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--folder", default=".")
    parser.add_argument("--how", default="exception", choices=["exception", "kill", "exit"])
    parser.add_argument("--bucket-cap-mb", type=float, default=None)
    parser.add_argument("--mpi4py-first", action="store_true",
                        help="initialize MPI through mpi4py before ampc")
    args = parser.parse_args()
    if args.mpi4py_first:
        from mpi4py import MPI  # noqa: F401  (initializes MPI)
    dist.init()
    {"parity": parity, "inf": inf_on_one_rank, "checkpoint": checkpoint,
     "mismatch": mismatch, "ddp": ddp, "accumulate": accumulate, "buffers": buffers,
     "threads": threads, "bad_load": bad_load, "die": die}[args.scenario](args)


if __name__ == "__main__":
    main()
