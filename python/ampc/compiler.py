"""Driving the `ampc` command-line compiler."""
import os
import shutil
import subprocess
import tempfile

_PRECISIONS = ("fp32", "fp16", "bf16")
# ampc's spelling of each precision, from either spelling.
_PRECISION_ALIASES = {"f32": "fp32", "f16": "fp16"}
# GradScaler's keyword -> ampc's flag.
_SCALER_FLAGS = {"init_scale": "--loss-scale-init", "growth_factor": "--loss-scale-growth-factor",
                 "backoff_factor": "--loss-scale-backoff", "growth_interval": "--loss-scale-growth-interval",
                 "min_scale": "--loss-scale-min", "max_scale": "--loss-scale-max"}
_LOSS_SCALING = ("auto", "none", "static", "dynamic")


class CompileError(RuntimeError):
    """ampc rejected the input; the message holds its located diagnostics."""


def find_ampc():
    """The ampc binary: $AMPC, else the repository's build/bin/ampc, else PATH."""
    candidates = [os.environ.get("AMPC"),
                  os.path.join(os.path.dirname(__file__), "..", "..", "build", "bin", "ampc"),
                  shutil.which("ampc")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    raise FileNotFoundError("ampc binary not found: set $AMPC or build it (scripts/test.sh)")


def compile(path, output=None, target="cpu", precision=None, loss_scaling="auto",
            policy=None, persistent_copies=False, grad_accumulation=False, opt_level=2,
            report=None, train=None, cpu_gemm="onednn", threads=None, cpu=None,
            hyperparameters=None, loss_scale=None, init_scale=None, growth_factor=None,
            backoff_factor=None, growth_interval=None, min_scale=None, max_scale=None,
            clip_grad_norm=None, clip_grad_norm_type=None, clip_grad_value=None,
            data_parallel=None, bucket_cap_mb=None):
    """Compiles an MLIR training step into a shared library (plus its JSON
    manifest next to it) and returns the library's path.

    `train`: build the training step from a forward function first
    (amp-differentiate), with its options as a string ("" for the defaults)
    or a dict, e.g. {"loss": "cross-entropy", "optimizer": "adam", "lr": 1e-3}.

    CPU libraries: `cpu_gemm` is "onednn" (matmuls and convolutions through
    ampc's oneDNN runtime) or "native" (generated tiles); `threads` fixes the
    thread count the library starts with (default: all cores); `cpu` is
    ampc's --cpu (default "native": this machine).

    `precision`: "fp32", "fp16" or "bf16" (also "f32", "f16"); None is
    ampc's default: fp16 for a training step, bf16 for a forward-only model.

    `hyperparameters`: the optimizer hyperparameters the step takes at run
    time (`mod.step(x, y, lr=...)`), e.g. ("lr", "weight_decay"); None is
    ampc's default (lr on the CPU), () compiles every value in.

    Loss scaling, with torch.amp.GradScaler's names: `init_scale`,
    `growth_factor`, `backoff_factor`, `growth_interval` (dynamic scaling),
    `min_scale`, `max_scale` (a clamp, 0: none), or `loss_scale` for a
    static scale.

    Gradient clipping, as torch.nn.utils does after scaler.unscale_:
    `clip_grad_norm=max_norm` (with `clip_grad_norm_type` 2, 1 or
    float("inf")) and `clip_grad_value=v`.

    `data_parallel="mpi"`: a step for several processes under mpirun that
    all-reduces its gradients itself (docs/distributed.md), in buckets of at
    most `bucket_cap_mb` MiB (default 25, as DDP's). Under mpirun this call
    is collective: every rank calls it, rank 0 compiles and every rank gets
    the library's bytes."""
    if data_parallel not in (None, "none", "mpi"):
        raise ValueError("data_parallel must be None or 'mpi', got %r" % (data_parallel,))
    if bucket_cap_mb is not None and data_parallel != "mpi":
        raise ValueError("bucket_cap_mb needs data_parallel='mpi'")
    if cpu_gemm not in ("onednn", "native"):
        raise ValueError("cpu_gemm must be 'onednn' or 'native', got %r" % (cpu_gemm,))
    if threads is not None and (not isinstance(threads, int) or threads < 0):
        raise ValueError("threads must be a non-negative int, got %r" % (threads,))
    precision = _PRECISION_ALIASES.get(precision, precision)
    if precision is not None and precision not in _PRECISIONS:
        raise ValueError("precision must be one of %s, got %r" % (_PRECISIONS, precision))
    if loss_scaling not in _LOSS_SCALING:
        raise ValueError("loss_scaling must be one of %s, got %r" % (_LOSS_SCALING, loss_scaling))
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    if output is None:
        stem = os.path.splitext(os.path.basename(path))[0]
        output = os.path.join(tempfile.mkdtemp(prefix="ampc-"),
                              "%s.%s.so" % (stem, precision or "default"))
    cmd = [find_ampc(), path, "-o", output, "--target=" + target,
           "--loss-scaling=" + loss_scaling, "--emit=shared", "-O%d" % opt_level]
    if precision is not None:
        cmd.append("--precision=" + precision)
    if loss_scaling == "auto":
        cmd.remove("--loss-scaling=auto")
    if hyperparameters is not None:
        if isinstance(hyperparameters, str):
            hyperparameters = [hyperparameters]
        cmd.append("--hyperparameters=" + (",".join(hyperparameters) or "none"))
    if loss_scale is not None:
        cmd.append("--loss-scale=%r" % float(loss_scale))
    for name, value in (("init_scale", init_scale), ("growth_factor", growth_factor),
                        ("backoff_factor", backoff_factor), ("growth_interval", growth_interval),
                        ("min_scale", min_scale), ("max_scale", max_scale)):
        if value is not None:
            text = "%d" % value if name == "growth_interval" else "%r" % float(value)
            cmd.append("%s=%s" % (_SCALER_FLAGS[name], text))
    if target == "cpu":
        cmd.append("--cpu-gemm=" + cpu_gemm)
        if threads:
            cmd.append("--threads=%d" % threads)
        if cpu:
            cmd.append("--cpu=" + cpu)
    if policy:
        cmd.append("--policy=" + policy)
    if report:
        cmd.append("--report=" + report)
    if persistent_copies:
        cmd.append("--persistent-copies")
    if grad_accumulation:
        cmd.append("--grad-accumulation")
    if data_parallel == "mpi":
        cmd.append("--data-parallel=mpi")
        if bucket_cap_mb is not None:
            cmd.append("--bucket-cap-mb=%r" % float(bucket_cap_mb))
    if train is not None:
        if isinstance(train, dict):
            train = " ".join("%s=%s" % (k, str(v).lower() if isinstance(v, bool) else v)
                             for k, v in train.items())
        cmd.append("--train=" + train)
    if clip_grad_norm is not None:
        cmd.append("--clip-grad-norm=%r" % float(clip_grad_norm))
    if clip_grad_norm_type is not None:
        norm_type = float(clip_grad_norm_type)
        cmd.append("--clip-grad-norm-type=" + ("inf" if norm_type == float("inf") else "%g" % norm_type))
    if clip_grad_value is not None:
        cmd.append("--clip-grad-value=%r" % float(clip_grad_value))
    if data_parallel == "mpi":
        return _compile_on_rank0(cmd, output)
    return _run(cmd, output)


def _run(cmd, output):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise CompileError(result.stderr.strip() or "ampc failed with exit code %d" % result.returncode)
    return output


def _compile_on_rank0(cmd, output):
    """Under mpirun, rank 0 compiles and every rank receives the same bytes
    (library and manifest; no shared file system needed): ranks then load
    one library, which the loader checks. A collective: every rank calls
    compile(). Outside mpirun (and without MPI), compiles here."""
    from . import distributed
    import numpy as np
    if not distributed.launched_by_mpirun() and not distributed.is_initialized():
        return _run(cmd, output)
    try:
        distributed.init()
    except distributed.DistributedError:
        return _run(cmd, output)  # loading will say why MPI is needed
    if distributed.world_size() == 1:
        return _run(cmd, output)
    error, files = "", []
    if distributed.rank() == 0:
        try:
            _run(cmd, output)
            for path in (output, output + ".json"):
                with open(path, "rb") as f:
                    files.append(f.read())
        except (CompileError, OSError) as failure:
            error = str(failure)
    # The outcome first, so that a failed compile fails every rank.
    status = np.frombuffer(error.encode().ljust(4096)[:4096], dtype=np.uint8).copy()
    distributed.broadcast(status)
    error = bytes(status).rstrip(b" ").decode(errors="replace")
    if error:
        raise CompileError(error if distributed.rank() == 0 else "rank 0 failed to compile: " + error)
    for index, path in enumerate((output, output + ".json")):
        size = np.array([len(files[index]) if files else 0], dtype=np.int64)
        distributed.broadcast(size)
        data = (np.frombuffer(files[index], dtype=np.uint8).copy() if files
                else np.empty(int(size[0]), dtype=np.uint8))
        distributed.broadcast(data)
        if distributed.rank() != 0:
            _write_atomically(path, data.tobytes())
    return output


def _write_atomically(path, data):
    """Writes `data` to `path` through a temporary file and a rename: where
    ranks share a file system, the library rank 0 is loading stays whole."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return
    fd, temporary = tempfile.mkstemp(dir=folder, prefix=".ampc-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(temporary, path)
