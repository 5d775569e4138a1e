"""Data-parallel training under MPI: the same compiled step on N processes.

Launch with mpirun; every rank runs the same script on its own shard of
each batch:

    mpirun -np 2 python3 train.py

    import ampc, ampc.distributed as dist
    lib = ampc.compile("step.mlir", precision="bf16", data_parallel="mpi")
    mod = ampc.load(lib)              # initializes MPI, checks the library
    mod.init_state(params)            # rank 0's state, broadcast to all
    for x, y in batches:              # the same global batches everywhere
        loss = mod.step(dist.shard(x), dist.shard(y))

The step sums its gradients across ranks itself (docs/distributed.md);
this module owns MPI (init once, finalize at exit, abort every rank when
one fails) and gives rank, world size and shards. It needs ampc's MPI
runtime (libampc_cpu_mpi.so, built where MPI was found) and libmpi."""
import atexit
import ctypes
import os
import sys

import numpy as np

__all__ = ["DistributedError", "init", "is_initialized", "launched_by_mpirun", "implementation",
           "rank", "world_size", "shard", "barrier", "broadcast", "all_reduce_mean", "all_agree",
           "same_everywhere"]


class DistributedError(RuntimeError):
    """MPI or ampc's MPI runtime is missing, or the ranks disagree."""


_runtime = None


def _runtime_candidates():
    env = os.environ.get("AMPC_MPI_RUNTIME")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    yield os.path.join(here, "..", "..", "build", "lib", "libampc_cpu_mpi.so")
    ampc = os.environ.get("AMPC")
    if ampc:
        yield os.path.join(os.path.dirname(os.path.abspath(ampc)), "..", "lib", "libampc_cpu_mpi.so")
    yield "libampc_cpu_mpi.so"


def _load_runtime():
    """ampc's MPI runtime with RTLD_GLOBAL: the libmpi it links joins the
    global scope with it, as OpenMPI's plugins need (they resolve their MPI
    symbols there), and it is the same libmpi the runtime was built with."""
    global _runtime
    if _runtime is not None:
        return _runtime
    errors = []
    for candidate in _runtime_candidates():
        if os.sep in candidate and not os.path.exists(candidate):
            continue
        try:
            runtime = ctypes.CDLL(candidate, mode=ctypes.RTLD_GLOBAL)
            break
        except OSError as error:
            errors.append(str(error))
    else:
        raise DistributedError("ampc's MPI runtime (libampc_cpu_mpi.so) could not be loaded: "
                               "ampc was built without MPI, MPI is not installed (Debian: "
                               "apt-get install openmpi-bin libopenmpi-dev), or set "
                               "$AMPC_MPI_RUNTIME (%s)" % "; ".join(errors or ["no candidate exists"]))
    for name, restype, argtypes in (
            ("ampc_mpi_init", ctypes.c_int, []),
            ("ampc_mpi_finalize", None, []),
            ("ampc_mpi_finalize_or_abort", None, [ctypes.c_double]),
            ("ampc_mpi_implementation", ctypes.c_char_p, []),
            ("ampc_mpi_is_initialized", ctypes.c_int, []),
            ("ampc_mpi_rank", ctypes.c_int32, []),
            ("ampc_mpi_world_size", ctypes.c_int32, []),
            ("ampc_mpi_broadcast", ctypes.c_int, [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32]),
            ("ampc_mpi_same_everywhere", ctypes.c_int, [ctypes.c_uint64]),
            ("ampc_mpi_allreduce_sum_f64", ctypes.c_int, [ctypes.c_void_p, ctypes.c_int64]),
            ("ampc_mpi_barrier", ctypes.c_int, []),
            ("ampc_mpi_abort", None, [ctypes.c_int])):
        function = getattr(runtime, name)
        function.restype = restype
        function.argtypes = argtypes
    _runtime = runtime
    return runtime


_previous_excepthook = None
# How long a rank that is done waits at exit for the others (seconds; 0:
# forever) before it aborts the job: a rank that left early (sys.exit)
# would otherwise leave the others in a collective for good.
_EXIT_TIMEOUT = float(os.environ.get("AMPC_MPI_EXIT_TIMEOUT", "60"))


def _abort_on_exception(kind, value, traceback):
    """An uncaught exception on one rank ends every rank (MPI_Abort) instead
    of leaving the others waiting in a collective; finalizing instead would
    wait for them too."""
    _previous_excepthook(kind, value, traceback)
    sys.stderr.flush()
    if _runtime is not None and _runtime.ampc_mpi_is_initialized() and world_size() > 1:
        _runtime.ampc_mpi_abort(1)


def launched_by_mpirun():
    """Whether this process was started by mpirun/mpiexec (or a PMI
    launcher such as srun), as opposed to a plain `python3 train.py`."""
    return any(name in os.environ for name in
               ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"))


def init():
    """Initializes MPI once (a no-op when it already is, e.g. through
    mpi4py) and returns (rank, world size). At exit it waits (up to
    $AMPC_MPI_EXIT_TIMEOUT s, default 60) for every rank, then finalizes what
    it initialized; an uncaught exception on a rank aborts the whole job."""
    global _previous_excepthook
    runtime = _load_runtime()
    if not runtime.ampc_mpi_is_initialized():
        rc = runtime.ampc_mpi_init()
        if rc != 0:
            raise DistributedError("MPI_Init failed (error %d); run under mpirun" % rc)
        atexit.register(runtime.ampc_mpi_finalize_or_abort, _EXIT_TIMEOUT)
    if _previous_excepthook is None:
        _previous_excepthook = sys.excepthook
        sys.excepthook = _abort_on_exception
    return rank(), world_size()


def implementation():
    """The MPI ABI of ampc's MPI runtime: "OpenMPI" or "MPICH"."""
    return _load_runtime().ampc_mpi_implementation().decode()


def all_agree(ok):
    """True on every rank when `ok` is true on every rank (one all-reduce):
    what a rank calls before a collective that another rank may not reach."""
    return all_reduce_mean(1.0 if ok else 0.0) == 1.0


def is_initialized():
    """Whether MPI is up in this process (without starting it)."""
    return _runtime is not None and bool(_runtime.ampc_mpi_is_initialized())


def _require():
    if not is_initialized():
        raise DistributedError("MPI is not initialized: call ampc.distributed.init() (loading a "
                               "data-parallel library does) under mpirun")
    return _runtime


def rank():
    """This process's rank in MPI_COMM_WORLD."""
    return int(_require().ampc_mpi_rank())


def world_size():
    """The number of ranks in MPI_COMM_WORLD."""
    return int(_require().ampc_mpi_world_size())


def shard(batch, rank=None, world_size=None):
    """This rank's contiguous share of `batch` along its first axis (as
    DistributedSampler without shuffling). The batch must split evenly: the
    step divides the summed gradients by the world size, so unequal shards
    would weight samples unequally."""
    index = _this_rank() if rank is None else rank
    ranks = _ranks() if world_size is None else world_size
    batch = np.asarray(batch)
    if batch.ndim == 0:
        raise ValueError("shard: a batch needs a first axis to split")
    if batch.shape[0] % ranks:
        raise ValueError("shard: a batch of %d does not split evenly over %d ranks"
                         % (batch.shape[0], ranks))
    size = batch.shape[0] // ranks
    return batch[index * size:(index + 1) * size]


_this_rank, _ranks = rank, world_size


def barrier():
    """Waits until every rank is here."""
    if _require().ampc_mpi_barrier() != 0:
        raise DistributedError("MPI_Barrier failed")


def broadcast(array, root=0):
    """Overwrites the C-contiguous numpy `array` with rank `root`'s, in place."""
    if (not isinstance(array, np.ndarray) or not array.flags.c_contiguous
            or not array.flags.writeable or array.dtype.hasobject):
        raise TypeError("broadcast: needs a writable C-contiguous numpy array of numbers")
    if _require().ampc_mpi_broadcast(array.ctypes.data, array.nbytes, root) != 0:
        raise DistributedError("MPI_Bcast failed")
    return array


def all_reduce_mean(value):
    """The mean over ranks of a number or float array (e.g. each rank's loss)."""
    data = np.array(value, dtype=np.float64, copy=True, ndmin=1)
    if _require().ampc_mpi_allreduce_sum_f64(data.ctypes.data, data.size) != 0:
        raise DistributedError("MPI_Allreduce failed")
    data /= world_size()
    return float(data[0]) if np.ndim(value) == 0 else data.reshape(np.shape(value))


def same_everywhere(value):
    """Whether every rank passed the same 64-bit integer."""
    answer = _require().ampc_mpi_same_everywhere(ctypes.c_uint64(value & (2 ** 64 - 1)))
    if answer < 0:
        raise DistributedError("the all-reduce comparing ranks failed")
    return bool(answer)
