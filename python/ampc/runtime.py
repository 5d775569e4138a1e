"""Loading compiled steps and calling them on numpy arrays.

A compiled library exports, per public function f, `_mlir_ciface_f` taking
pointers to MLIR memref descriptors: the arguments, then one out-parameter per
result, which the caller allocates. The manifest next to the library (written
by ampc) says what every argument and result is.

Nothing here trusts the files blindly: the manifest pins the library's size
and SHA-256 (checked before dlopen, so a truncated library cannot crash the
process), the library carries its own copy of the manifest (checked after
dlopen, so an edited or swapped manifest is refused) and the ISA extensions
it was compiled for (checked before any call, so a CPU without them gets an
error instead of SIGILL)."""
import atexit
import ctypes
import functools
import hashlib
import json
import os
import sys
import zipfile
import zlib

import numpy as np


class LibraryError(RuntimeError):
    """A compiled library, its manifest or a checkpoint cannot be used; the
    message names the file and what is wrong with it."""

# numpy has no bfloat16: bf16 tensors travel as uint16 bit patterns.
_DTYPES = {"float32": np.float32, "float16": np.float16, "bfloat16": np.uint16,
           "float64": np.float64, "int64": np.int64, "int32": np.int32, "bool": np.bool_}
_STATE_ROLES = ("param", "optimizer_state", "scaler_state", "param_copy", "grad_accumulator", "buffer")


@functools.lru_cache(maxsize=None)
def _descriptor_type(rank):
    """The ctypes struct of a rank-`rank` memref descriptor (built once per
    rank: making a ctypes class costs about 20 us, 5 ms a step for a model
    with 250 arrays)."""
    fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
              ("offset", ctypes.c_int64)]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type("MemRef%dD" % rank, (ctypes.Structure,), {"_fields_": fields})


def _descriptor(array):
    desc = _descriptor_type(array.ndim)()
    pointer = array.ctypes.data
    desc.allocated = pointer
    desc.aligned = pointer
    desc.offset = 0
    if array.ndim:
        desc.sizes[:] = array.shape
        desc.strides[:] = [s // array.itemsize for s in array.strides]
    return desc


def f32_to_bf16(array):
    """float32 -> bfloat16 bit patterns (uint16), rounding to nearest even."""
    bits = np.ascontiguousarray(array, dtype=np.float32).view(np.uint32)
    rounding = ((bits >> 16) & 1) + 0x7FFF
    nan = np.isnan(array)
    out = ((bits + rounding) >> 16).astype(np.uint16)
    out[nan] = 0x7FC0
    return out


def bf16_to_f32(bits):
    """bfloat16 bit patterns (uint16) -> float32, exactly."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


class Function:
    """One exported function; call it with numpy arrays, get a tuple back."""

    def __init__(self, library, entry):
        self.name = entry["name"]
        self.arguments = entry["arguments"]
        self.results = entry["results"]
        self.training_step = entry.get("training_step", False)
        # The compiler checked that the step stays correct with the same
        # buffer passed as old and new state (amp-gpu-in-place-state).
        self.in_place_state = entry.get("in_place_state", False)
        # The function returning the initial params (amp-differentiate, params=auto).
        self.initial_params = entry.get("initial_params")
        count = len(self.arguments) + len(self.results)
        # One array of descriptor pointers when the library has the packed
        # entry point (ctypes passes at most 1024 arguments).
        self._packed = "packed_symbol" in entry
        self._symbol = getattr(library, entry["packed_symbol"] if self._packed else entry["symbol"])
        self._symbol.restype = None
        self._symbol.argtypes = [ctypes.c_void_p] if self._packed else [ctypes.c_void_p] * count

    def _check(self, index, spec, value):
        what = "argument #%d (%s) of %s" % (index, spec.get("role", "?"), self.name)
        if not isinstance(value, np.ndarray):
            raise TypeError("%s must be a numpy array, got %s" % (what, type(value).__name__))
        dtype = _DTYPES[spec["dtype"]]
        if value.dtype != dtype:
            raise TypeError("%s must have dtype %s (%s), got %s"
                            % (what, np.dtype(dtype).name, spec["dtype"], value.dtype))
        if list(value.shape) != list(spec["shape"]):
            raise ValueError("%s must have shape %s, got %s"
                             % (what, tuple(spec["shape"]), value.shape))
        return np.asarray(value, order="C")  # ascontiguousarray would make 0-d arrays 1-d

    def __call__(self, *args):
        if len(args) != len(self.arguments):
            raise TypeError("%s takes %d arguments (%s), got %d"
                            % (self.name, len(self.arguments),
                               ", ".join(a.get("role", "?") for a in self.arguments), len(args)))
        inputs = [self._check(i, spec, value) for i, (spec, value) in enumerate(zip(self.arguments, args))]
        outputs = [np.empty(spec["shape"], dtype=_DTYPES[spec["dtype"]]) for spec in self.results]
        descriptors = [_descriptor(a) for a in inputs + outputs]
        pointers = [ctypes.addressof(d) for d in descriptors]
        if self._packed:
            self._symbol((ctypes.c_void_p * len(pointers))(*pointers))
        else:
            self._symbol(*pointers)
        return tuple(outputs)


# Libraries whose profile AMPC_PROFILE=1 prints at exit.
_PROFILED_AT_EXIT = set()


class ProfileReport(list):
    """Rows of the step profiler's totals (dicts: seconds, share of the
    total, calls, what the kernel computes or which oneDNN routine, the
    model source line and module path, whether it is backward; sites and
    kinds: how many call sites, and distinct computations, a row groups),
    costliest first; str() is a table like torch.profiler's
    key_averages()."""

    def __init__(self, points, nanoseconds, calls, top, by):
        keys = {"point": lambda i, p: i, "source": lambda i, p: (p.get("source"), p.get("module")),
                "what": lambda i, p: p.get("what")}
        if by not in keys:
            raise ValueError("by must be 'point', 'source' or 'what', got %r" % (by,))
        rows = {}
        for i, point in enumerate(points):
            if not calls[i]:
                continue
            row = rows.setdefault(keys[by](i, point), dict(point, seconds=0.0, calls=0, sites=0, kinds=set()))
            # A field the grouped points disagree on is None ("several").
            for field in ("function", "callee", "what", "source", "module", "backward"):
                if row.get(field) != point.get(field):
                    row[field] = None
            row["seconds"] += nanoseconds[i] * 1e-9
            row["calls"] += calls[i]
            row["sites"] += 1
            row["kinds"].add(point.get("what"))
        total = sum(r["seconds"] for r in rows.values())
        for row in rows.values():
            row["share"] = row["seconds"] / total if total else 0.0
            row["kinds"] = len(row["kinds"])
        ordered = sorted(rows.values(), key=lambda r: -r["seconds"])
        super().__init__(ordered[:top] if top else ordered)
        self.total_seconds = total

    def __str__(self):
        lines = ["%8s %6s %7s  %-40s %s" % ("total ms", "%", "calls", "what", "where")]
        for row in self:
            if row["source"] is None or row["module"] is None:
                where = "%d sites" % row["sites"]
            elif row["module"]:
                where = "%s (%s)" % (row["source"], row["module"]) if row["source"] else row["module"]
            else:
                where = row["source"] or "?"
            if row.get("backward"):
                where += " [backward]"
            what = row["what"] if row["what"] is not None else "%d kinds" % row["kinds"]
            lines.append("%8.2f %5.1f%% %7d  %-40s %s" % (row["seconds"] * 1e3, 100 * row["share"], row["calls"],
                                                       what[:40], where))
        lines.append("%8.2f        total over the timed points" % (self.total_seconds * 1e3))
        return "\n".join(lines)


class Module:
    """A loaded library: its functions and, for a training step, its state."""

    def __init__(self, path, manifest=None):
        self.manifest = manifest if manifest is not None else read_manifest(path)
        # A data-parallel step calls MPI: up before the library loads.
        self.data_parallel = self.manifest.get("data_parallel")
        if self.data_parallel:
            self._library = self._open_data_parallel(path)
            self._share_cores_between_ranks()
        else:
            self._library = self._load_library(path)
        self.functions = {e["name"]: self._function(e) for e in self.manifest["functions"]}
        steps = [f for f in self.functions.values() if f.training_step]
        self.train_step = steps[0] if steps else None
        self.state = None
        # Set by step() after each loss-scaled step.
        self.last_step_skipped = False
        self.skipped_steps = 0
        # Set by step() when the step clips by global norm (the norm of the
        # unscaled gradients before clipping, as clip_grad_norm_ returns it).
        self.last_grad_norm = None
        self._init_hyperparameters()
        if os.environ.get("AMPC_PROFILE", "0") not in ("", "0") and "profile_points" in self.manifest:
            self.profile(True)
            # The totals are the library's: one report per file at exit.
            if path not in _PROFILED_AT_EXIT:
                _PROFILED_AT_EXIT.add(path)
                atexit.register(lambda: sys.stderr.write("ampc profile of %s:\n%s\n" % (path, self.profile_report())))

    def _load_library(self, path):
        return open_library(path, self.manifest)

    def _open_data_parallel(self, path):
        """MPI up, the library open on every rank, with this MPI's ABI, and
        the same library everywhere (the SHA-256 its manifest pins), all
        agreed before any step: a rank that fails makes every rank fail."""
        from . import distributed
        try:
            distributed.init()
        except distributed.DistributedError as error:
            raise LibraryError("library %s was compiled for data parallelism (--data-parallel=mpi) "
                               "and needs MPI: %s" % (path, error)) from None
        wanted = self.data_parallel.get("mpi_implementation")
        library, error = None, None
        try:
            if wanted != distributed.implementation():
                raise LibraryError("library %s calls MPI with %s's ABI, but ampc's MPI runtime uses %s"
                                   % (path, wanted, distributed.implementation()))
            library = self._load_library(path)
        except (LibraryError, OSError) as failure:
            error = failure
        self._agree(error, "loading %s" % path)
        digest = (self.manifest.get("library") or {}).get("sha256", "")
        if not distributed.same_everywhere(int(digest[:16] or "0", 16)):
            raise LibraryError("rank %d: library %s (sha256 %s...) is not the library every rank "
                               "loaded: each rank must load the same compiled step"
                               % (distributed.rank(), path, digest[:16]))
        return library

    @staticmethod
    def _agree(error, what):
        """Raises on every rank when `error` is set on any: the ranks that
        failed raise their own error, the others say that one did."""
        from . import distributed
        if distributed.all_agree(error is None):
            return
        if error is not None:
            raise error
        raise LibraryError("rank %d: %s failed on another rank (its own error says why)"
                           % (distributed.rank(), what))

    def _ensure_state(self):
        """Arrays of the state's shapes (zeros) where there is no state yet:
        what rank 0's state is broadcast into."""
        if self.state is None:
            self._set_host_state([np.zeros(spec["shape"], dtype=_DTYPES[spec["dtype"]])
                                  for _, spec in self.state_specs()])

    def _collectively(self, what, local):
        """Runs `local` here, agrees on the outcome with every rank, then
        gives every rank rank 0's state and hyperparameters."""
        error = None
        try:
            local()
        except Exception as failure:  # re-raised below, on every rank
            error = failure
        self._agree(error, what)
        self._broadcast_state()

    def _share_cores_between_ranks(self):
        """Ranks on one machine split its cores (as torchrun sets
        OMP_NUM_THREADS): N ranks with a thread per core each would fight
        over the cores. OMP_NUM_THREADS or ampc --threads take precedence."""
        local_ranks = int(os.environ.get("OMPI_COMM_WORLD_LOCAL_SIZE")
                          or os.environ.get("MPI_LOCALNRANKS") or 1)
        fixed = "--threads" in self.manifest.get("command_line", "")
        if local_ranks <= 1 or fixed or os.environ.get("OMP_NUM_THREADS"):
            return
        try:
            self.set_threads(max(1, (os.cpu_count() or 1) // local_ranks))
        except LibraryError:
            pass  # no parallel work: the step runs on the calling thread

    def _broadcast_state(self):
        """Every rank takes rank 0's state and run-time hyperparameters (as
        DDP does at construction)."""
        from . import distributed
        values = [np.array(v, copy=True, order="C") for v in self._host_state()]
        for value in values:
            distributed.broadcast(value, root=0)
        self._set_host_state(values)
        names = sorted(self.hyperparameters)
        if names:
            numbers = np.array([self.hyperparameters[n] for n in names], dtype=np.float64)
            distributed.broadcast(numbers, root=0)
            self.hyperparameters.update(zip(names, (float(v) for v in numbers)))

    def _function(self, entry):
        return Function(self._library, entry)

    def __getitem__(self, name):
        return self.functions[name]

    def _thread_control(self, name):
        try:
            return getattr(self._library, name)
        except AttributeError:
            raise LibraryError("this library does not link ampc's CPU runtime (no oneDNN calls, "
                               "no parallel loops): it runs on the calling thread") from None

    def set_threads(self, threads):
        """Sets how many threads the library's parallel loops and oneDNN
        calls use (0: all cores). They share one OpenMP pool: the setting
        holds for every ampc CPU library in the process."""
        if not isinstance(threads, int) or threads < 0:
            raise ValueError("threads must be a non-negative int, got %r" % (threads,))
        function = self._thread_control("ampc_cpu_set_threads")
        function.argtypes = [ctypes.c_int32]
        function.restype = None
        function(threads)

    def threads(self):
        """How many threads the library's parallel work runs on."""
        function = self._thread_control("ampc_cpu_get_threads")
        function.argtypes = []
        function.restype = ctypes.c_int32
        return function()

    # -- the step profiler ---------------------------------------------------

    def _profiler(self, name, argtypes, restype):
        try:
            function = getattr(self._library, name)
        except AttributeError:
            raise LibraryError("this library has no step profiler: CUDA libraries have none, and CPU "
                               "libraries compiled before it existed need recompiling") from None
        function.argtypes, function.restype = argtypes, restype
        return function

    def profile(self, enabled=True):
        """Turns the step profiler on (or off): every kernel and oneDNN call
        of the library's steps is then timed, per call site (the manifest's
        "profile_points"). Off, which is the default, each point costs two
        calls that test a flag. Returns the previous setting; AMPC_PROFILE=1 in the
        environment turns it on at load and prints profile_report() at exit."""
        enable = self._profiler("ampc_profile_enable", [ctypes.c_int], ctypes.c_int)
        return bool(enable(1 if enabled else 0))

    def reset_profile(self):
        """Zeroes the profiler's totals."""
        self._profiler("ampc_profile_reset", [], None)()

    def profile_report(self, top=20, by="point"):
        """The profiler's totals, costliest first: a ProfileReport (a list
        of dicts, printed as a table). `by`: "point" (each call site),
        "source" (each model line), or "what" (each kind of computation)."""
        points = self.manifest.get("profile_points", [])
        count = len(points)
        nanoseconds, calls = (ctypes.c_longlong * max(count, 1))(), (ctypes.c_longlong * max(count, 1))()
        read = self._profiler("ampc_profile_read", [ctypes.c_longlong, ctypes.c_void_p, ctypes.c_void_p], None)
        read(count, ctypes.addressof(nanoseconds), ctypes.addressof(calls))
        return ProfileReport(points, list(nanoseconds)[:count], list(calls)[:count], top, by)

    def _require_step(self):
        if self.train_step is None:
            raise RuntimeError("the library has no training step (amp.training_step)")
        return self.train_step

    def state_specs(self):
        """(argument index, spec) of every state argument of the training step."""
        step = self._require_step()
        return [(i, a) for i, a in enumerate(step.arguments) if a.get("role") in _STATE_ROLES]

    def initial_params(self):
        """The params' initial values, for steps amp-differentiate built from
        a model holding its weights as constants (params=auto)."""
        name = self._require_step().initial_params
        if name is None:
            raise RuntimeError("the training step has no initial params: pass them to init_state()")
        return list(self.functions[name]())

    def init_state(self, params=None, optimizer_state=None, buffers=None):
        """Starts the step's state: the given f32 params (in argument order;
        omitted: the model's own, see initial_params()), optimizer state (zeros
        when omitted, as torch.optim starts), buffers (model state the
        forward updates, such as BatchNorm running statistics; required when
        the step has them), scaler state from its `init` values, persistent
        copies rounded from the params.

        A data-parallel module is collective: every rank calls it, and every
        rank ends with rank 0's state (as DDP at construction)."""
        if self.data_parallel:
            return self._collectively(
                "init_state", lambda: self._init_state_here(params, optimizer_state, buffers))
        self._init_state_here(params, optimizer_state, buffers)

    def _init_state_here(self, params=None, optimizer_state=None, buffers=None):
        """init_state() on this rank alone."""
        params = list(params) if params is not None else self.initial_params()
        optimizer_state = list(optimizer_state) if optimizer_state is not None else None
        buffers = list(buffers) if buffers is not None else []
        state, param_values = [], {}
        for index, spec in self.state_specs():
            role, dtype = spec["role"], _DTYPES[spec["dtype"]]
            if role == "param":
                if not params:
                    raise ValueError("init_state: fewer params than the step's %d"
                                     % sum(1 for _, s in self.state_specs() if s["role"] == "param"))
                value = np.array(params.pop(0), dtype=np.float32, copy=True)
                param_values[index] = value
            elif role == "optimizer_state":
                value = (np.array(optimizer_state.pop(0), dtype=dtype, copy=True)
                         if optimizer_state else np.zeros(spec["shape"], dtype=dtype))
            elif role == "scaler_state":
                value = np.full(spec["shape"], spec.get("init", 0), dtype=dtype)
            elif role == "param_copy":
                value = self._param_copy(spec, param_values)
            elif role == "buffer":
                if not buffers:
                    raise ValueError("init_state: the step takes buffer '%s'; pass buffers=[...]"
                                     % spec.get("name", "#%d" % index))
                value = np.array(buffers.pop(0), dtype=dtype, copy=True)
                if list(value.shape) != list(spec["shape"]):
                    raise ValueError("init_state: buffer '%s' has shape %s, the step takes %s"
                                     % (spec.get("name", "#%d" % index), value.shape, tuple(spec["shape"])))
            else:
                value = np.zeros(spec["shape"], dtype=dtype)
            state.append(value)
        if params:
            raise ValueError("init_state: %d params more than the step takes" % len(params))
        self.state = state

    def _hyperparameter_specs(self):
        """(argument index, name) of the step's run-time hyperparameters."""
        step = self._require_step()
        return [(i, a.get("name", "hyperparameter.%d" % i)) for i, a in enumerate(step.arguments)
                if a.get("role") == "hyperparameter"]

    def _init_hyperparameters(self):
        self.hyperparameters = {}
        if self.train_step is not None:
            for i, name in self._hyperparameter_specs():
                spec = self.train_step.arguments[i]
                if "init" not in spec or "name" not in spec:
                    raise LibraryError("the step's hyperparameter argument #%d has no name or initial "
                                       "value in the manifest (recompile it with this ampc)" % i)
                self.hyperparameters[name] = float(spec["init"])

    def _set_hyperparameters(self, values):
        """Checks every value, then sets them all (or none)."""
        checked = {}
        for name, value in values.items():
            if name not in self.hyperparameters:
                known = ", ".join(sorted(self.hyperparameters)) or "none: it was compiled with " \
                    "--hyperparameters=none"
                raise TypeError("step() got the hyperparameter %r, which this step does not take "
                                "at run time (its run-time hyperparameters: %s)" % (name, known))
            low, high = _HYPERPARAMETER_RANGES.get(name, (0.0, float("inf")))
            try:
                if isinstance(value, np.ndarray) and value.size != 1:
                    raise TypeError
                number = float(value)
            except (TypeError, ValueError):
                raise TypeError("hyperparameter %s must be a number, got %r" % (name, value)) from None
            if not (low <= number < high):
                raise ValueError("hyperparameter %s = %r is outside [%g, %g)" % (name, number, low, high))
            checked[name] = number
        self.hyperparameters.update(checked)

    def _arguments(self, batch):
        """The step's arguments in order: state, hyperparameters (as 0-d
        float64 arrays) and the batch arrays where their roles say."""
        step = self._require_step()
        specs = self.state_specs()
        state_positions = {i for i, _ in specs}
        hyper = dict(self._hyperparameter_specs())
        batch_roles = [a.get("role", "?") for i, a in enumerate(step.arguments)
                       if i not in state_positions and i not in hyper]
        if len(batch) != len(batch_roles):
            raise TypeError("step() takes %d batch arrays (%s), got %d"
                            % (len(batch_roles), ", ".join(batch_roles), len(batch)))
        state_iter, batch_iter = iter(self.state), iter(batch)
        args = []
        for i in range(len(step.arguments)):
            if i in state_positions:
                args.append(next(state_iter))
            elif i in hyper:
                args.append(np.array(self.hyperparameters[hyper[i]], dtype=np.float64))
            else:
                args.append(next(batch_iter))
        return args

    def step(self, *batch, **hyperparameters):
        """Runs one training step on a batch (the input/label arguments, in
        order); the updated state replaces the old one; returns the loss.

        Keyword arguments set run-time hyperparameters (`lr=...`, see
        `hyperparameters`) for this step and the following ones, as a
        scheduler sets `param_group["lr"]`. After a loss-scaled step,
        `last_step_skipped` says whether its gradients held inf/NaN (the
        update was skipped and the scale backed off); `skipped_steps` counts
        those steps. A step compiled with clip_grad_norm sets
        `last_grad_norm`."""
        step = self._require_step()
        if self.state is None:
            raise RuntimeError("call init_state() before step()")
        self._set_hyperparameters(hyperparameters)
        results = step(*self._arguments(batch))
        state, skipped = [], False
        for spec, value in zip(step.results, results):
            role = spec.get("role")
            if role in _STATE_ROLES:
                state.append(value)
            elif role == "found_inf":
                skipped = bool(value)
            elif role == "grad_norm":
                self.last_grad_norm = float(value)
        self.state = state
        self.last_step_skipped = skipped
        self.skipped_steps += int(skipped)
        return float(results[-1])

    def params(self):
        """The current f32 params, in argument order."""
        return [v for (_, s), v in zip(self.state_specs(), self.state) if s["role"] == "param"]

    def scaler_state(self):
        """(scale, growth tracker) for dynamic loss scaling, else None."""
        values = [v for (_, s), v in zip(self.state_specs(), self.state) if s["role"] == "scaler_state"]
        return (float(values[0]), int(values[1])) if len(values) == 2 else None

    # -- torch.amp.GradScaler's surface ------------------------------------

    def _scaler_options(self):
        return self.manifest.get("loss_scaler") or {}

    def is_enabled(self):
        """Whether the step scales its loss (static or dynamic)."""
        return self.manifest.get("loss_scaling", "none") != "none"

    def _scaler_index(self, name):
        for k, (_, spec) in enumerate(self.state_specs()):
            if spec["role"] == "scaler_state" and spec.get("name") == name:
                return k
        return None

    def get_scale(self):
        """The current loss scale: the dynamic scale, the static one, or 1.0
        when the step does not scale (as a disabled GradScaler)."""
        if self.manifest.get("loss_scaling") == "static":
            return float(self._scaler_options().get("scale", 1.0))
        state = self.scaler_state() if self.state is not None else None
        if state is None:
            return 1.0 if self.manifest.get("loss_scaling", "none") == "none" else \
                float(self._scaler_options().get("init_scale", 1.0))
        return state[0]

    def get_growth_tracker(self):
        """Finite steps since the scale last changed (0 without dynamic scaling)."""
        state = self.scaler_state() if self.state is not None else None
        return state[1] if state else 0

    def _set_scaler_value(self, name, value, dtype):
        k = self._scaler_index(name)
        if k is None:
            raise RuntimeError("set_%s: the step has no dynamic loss scaling (loss_scaling: %s)"
                               % ("scale" if name == "scale" else name,
                                  self.manifest.get("loss_scaling", "none")))
        if self.state is None:
            raise RuntimeError("call init_state() before setting the scaler state")
        self.state[k] = np.array(value, dtype=dtype)

    def set_scale(self, scale):
        """Sets the dynamic loss scale (GradScaler.update(new_scale))."""
        scale = float(scale)
        if not (scale > 0 and np.isfinite(scale)):
            raise ValueError("the loss scale must be finite and > 0, got %r" % scale)
        self._set_scaler_value("scale", scale, np.float32)

    def set_growth_tracker(self, tracker):
        """Sets the count of finite steps since the last scale change."""
        if not isinstance(tracker, (int, np.integer)) or tracker < 0:
            raise ValueError("the growth tracker is an int >= 0, got %r" % (tracker,))
        self._set_scaler_value("growth_tracker", int(tracker), np.int32)

    def get_growth_factor(self):
        return float(self._scaler_options().get("growth_factor", 2.0))

    def get_backoff_factor(self):
        return float(self._scaler_options().get("backoff_factor", 0.5))

    def get_growth_interval(self):
        return int(self._scaler_options().get("growth_interval", 2000))

    # -- checkpoints --------------------------------------------------------

    def state_names(self):
        """The stable name of every state array, in argument order: the IR's
        `amp.name` (param.N, exp_avg.N, momentum_buffer.N, step.N, scale,
        growth_tracker, ...) or, for steps without names, role.K."""
        names, counts = [], {}
        for _, spec in self.state_specs():
            name = spec.get("name")
            if name is None:
                role = spec["role"]
                name = "%s.%d" % (role, counts.get(role, 0))
                counts[role] = counts.get(role, 0) + 1
            if name in names:
                raise LibraryError("two state arrays of the step are named '%s'" % name)
            names.append(name)
        return names

    def state_dict(self):
        """The whole step state by name (copies), with the run-time
        hyperparameters under "hyperparameters.<name>"; load_state_dict()
        reads it into a step of any precision where the names mean the same
        thing."""
        if self.state is None:
            raise RuntimeError("call init_state() before state_dict()")
        state = {n: np.array(v, copy=True) for n, v in zip(self.state_names(), self._host_state())}
        for name, value in self.hyperparameters.items():
            state["hyperparameters." + name] = np.array(value, dtype=np.float64)
        state["format"] = np.array(_STATE_FORMAT)
        return state

    def load_state_dict(self, state, source="state_dict"):
        """Replaces the step state by the named arrays of `state` (from
        state_dict(), or an archive save() wrote). Params and optimizer
        state must all be there with this step's shapes; loss-scaler state
        missing from `state` starts at its initial value, and scaler state
        this step does not have is dropped (both with a warning);
        low-precision param copies are rounded from the params when absent.

        A data-parallel module is collective: every rank calls it (a failure
        on one rank raises on all), and every rank ends with rank 0's state."""
        if self.data_parallel:
            return self._collectively("load_state_dict",
                                      lambda: self._load_state_dict_here(state, source))
        self._load_state_dict_here(state, source)

    def _load_state_dict_here(self, state, source="state_dict"):
        """load_state_dict() on this rank alone."""
        import warnings
        if "format" in state and str(np.asarray(state["format"])) != _STATE_FORMAT:
            raise LibraryError("%s has format %r, expected %r"
                               % (source, str(np.asarray(state["format"])), _STATE_FORMAT))
        specs = self.state_specs()
        names = self.state_names()
        values, params, created = [], {}, []
        for (index, spec), name in zip(specs, names):
            role = spec["role"]
            if role == "param_copy":
                value = None  # rounded from its param below, whatever the checkpoint holds
            elif name in state:
                value = np.asarray(state[name])
                try:
                    self._require_step()._check(index, spec, value)
                except (TypeError, ValueError) as error:
                    raise LibraryError("%s: entry '%s' does not fit this step: %s"
                                       % (source, name, error)) from None
                value = np.array(value, copy=True)
            elif role == "scaler_state":
                value = np.full(spec["shape"], spec.get("init", 0), dtype=_DTYPES[spec["dtype"]])
                created.append(name)
            else:
                raise LibraryError("%s has no entry '%s' (%s %s %s), which this step needs; its "
                                   "entries: %s" % (source, name, role, spec["dtype"],
                                                    tuple(spec["shape"]),
                                                    ", ".join(sorted(k for k in state if k != "format"))))
            if role == "param":
                params[index] = value
            values.append(value)
        for k, ((_, spec), value) in enumerate(zip(specs, values)):
            if value is None:
                values[k] = self._param_copy(spec, params)
        known = set(names) | {"format"}
        extra = [k for k in state if k not in known and not k.startswith("hyperparameters.")]
        scaler_extra = [k for k in extra if k in ("scale", "growth_tracker")]
        other_extra = [k for k in extra if k not in scaler_extra and not k.startswith("param_copy")]
        if other_extra:
            raise LibraryError("%s has the entry '%s', which this step does not have (its state: %s)"
                               % (source, other_extra[0], ", ".join(names)))
        if created:
            warnings.warn("%s has no loss-scaler state (%s): starting it at its initial values "
                          "(scale %g)" % (source, ", ".join(created),
                                          float(self._scaler_options().get("init_scale", 0))))
        if scaler_extra:
            warnings.warn("%s holds loss-scaler state (%s), which this step (loss_scaling: %s) "
                          "does not have: dropped" % (source, ", ".join(scaler_extra),
                                                      self.manifest.get("loss_scaling", "none")))
        hyper = {key[len("hyperparameters."):]: np.asarray(state[key]) for key in state
                 if key.startswith("hyperparameters.")}
        unknown = sorted(k for k in hyper if k not in self.hyperparameters)
        if unknown:
            warnings.warn("%s holds hyperparameters this step does not take at run time (%s): ignored"
                          % (source, ", ".join(unknown)))
        try:
            self._set_hyperparameters({k: v for k, v in hyper.items() if k in self.hyperparameters})
        except (TypeError, ValueError) as error:
            raise LibraryError("%s: %s" % (source, error)) from None
        self._set_host_state(values)

    def _param_copy(self, spec, params):
        """The low-precision copy `spec` describes, rounded from its param;
        `params` maps argument numbers to param values."""
        dtype = _DTYPES[spec["dtype"]]
        if "copy_of" in spec:
            source = params[spec["copy_of"]]
        else:  # manifests before copy_of: the first param of the copy's shape
            source = next(p for p in params.values() if list(p.shape) == list(spec["shape"]))
        return f32_to_bf16(source) if spec["dtype"] == "bfloat16" else source.astype(dtype)

    def _host_state(self):
        return self.state

    def _set_host_state(self, values):
        self.state = values

    def save(self, path):
        """Writes the step state to an .npz checkpoint, by name (state_dict()).
        A data-parallel module writes from rank 0 only (all ranks hold the
        same state) and communicates nothing, so calling it on one rank
        alone is safe."""
        if self.data_parallel:
            from . import distributed
            if distributed.rank() != 0:
                return
        np.savez(path, **self.state_dict())

    def load_state(self, path):
        """Reads a checkpoint written by save(): by name (any precision whose
        state means the same thing, see load_state_dict()), or an older
        positional one (state_0, state_1, ...) into the same step. A
        data-parallel module is collective: rank 0 reads the file (the others
        need no copy of it, as save() writes on rank 0 only) and every rank
        ends with its state."""
        if self.data_parallel:
            from . import distributed
            if distributed.rank() == 0:
                return self._collectively("load_state(%r)" % path, lambda: self._load_state_here(path))
            return self._collectively("load_state(%r)" % path, self._ensure_state)
        self._load_state_here(path)

    def _load_state_here(self, path):
        try:
            data = np.load(path, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise LibraryError("checkpoint %s holds one array, not the .npz archive "
                                   "save() writes" % path)
            with data:
                state = {k: data[k] for k in data.files}
        except LibraryError:
            raise
        except FileNotFoundError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            # Not an archive, pickled data (refused), a truncated or damaged zip.
            raise LibraryError("checkpoint %s is not an .npz archive written by save(): %s: %s"
                               % (path, type(error).__name__, error)) from None
        if "format" in state:  # named (load_state_dict checks the format)
            return self._load_state_dict_here(state, source="checkpoint %s" % path)
        self._load_positional(path, state)

    def _load_positional(self, path, state):
        """Checkpoints of ampc before named state: arrays state_0..state_N in
        argument order, readable only into a step with the same layout."""
        names = ["state_%d" % i for i in range(len(state))]
        missing = [n for n in names if n not in state]
        if missing:
            raise LibraryError("checkpoint %s has no array '%s' (its arrays: %s)"
                               % (path, missing[0], ", ".join(sorted(state))))
        values = [state[n] for n in names]
        specs = self.state_specs()
        if len(values) != len(specs):
            raise LibraryError("checkpoint %s (positional, from an older ampc) holds %d state "
                               "arrays, the step takes %d: positional checkpoints load only into "
                               "a step with the same layout" % (path, len(values), len(specs)))
        for (index, spec), value in zip(specs, values):
            try:
                self._require_step()._check(index, spec, value)
            except (TypeError, ValueError) as error:
                raise LibraryError("checkpoint %s does not fit this step: %s" % (path, error)) from None
        self._set_host_state(values)


_STATE_FORMAT = "ampc-state-2"
_HYPERPARAMETER_RANGES = {"beta1": (0.0, 1.0), "beta2": (0.0, 1.0)}


_MANIFEST_FORMAT = "ampc-manifest-1"


def read_manifest(path):
    """The manifest ampc wrote next to the library at `path`, checked for the
    fields the runtime reads."""
    manifest_path = path + ".json"
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    if not os.path.exists(manifest_path):
        raise FileNotFoundError("no manifest next to %s (expected %s)" % (path, manifest_path))
    try:
        with open(manifest_path) as f:
            manifest = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise LibraryError("manifest %s is not readable JSON: %s" % (manifest_path, error)) from None
    problem = _manifest_problem(manifest)
    if problem:
        raise LibraryError("manifest %s: %s" % (manifest_path, problem))
    return manifest


def _manifest_problem(manifest):
    """What is structurally wrong with a manifest, or None."""
    if not isinstance(manifest, dict):
        return "not a JSON object"
    if manifest.get("format") != _MANIFEST_FORMAT:
        return "format is %r, expected %r" % (manifest.get("format"), _MANIFEST_FORMAT)
    functions = manifest.get("functions")
    if not isinstance(functions, list) or not functions:
        return "no 'functions' list"
    for i, entry in enumerate(functions):
        where = "functions[%d]" % i
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("name", "symbol")):
            return where + " has no 'name' and 'symbol'"
        for key in ("arguments", "results"):
            specs = entry.get(key)
            if not isinstance(specs, list):
                return "%s has no '%s' list" % (where, key)
            for j, spec in enumerate(specs):
                at = "%s.%s[%d]" % (where, key, j)
                if not isinstance(spec, dict) or spec.get("dtype") not in _DTYPES:
                    return at + " has no known 'dtype'"
                shape = spec.get("shape")
                if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
                    return at + " has no 'shape' of sizes"
    return None


def _first_difference(a, b, path="manifest"):
    """Where two JSON values first differ, as a path, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return "%s.%s" % (path, key)
            found = _first_difference(a[key], b[key], "%s.%s" % (path, key))
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return "%s (length %d, the library's %d)" % (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            found = _first_difference(x, y, "%s[%d]" % (path, i))
            if found:
                return found
        return None
    return None if a == b else path


def _embedded_string(library, name):
    try:
        return ctypes.string_at(ctypes.addressof(ctypes.c_char.in_dll(library, name))).decode()
    except ValueError:
        return None


def open_library(path, manifest, mode=ctypes.DEFAULT_MODE):
    """dlopens the library at `path` after checking it against `manifest`,
    then checks the manifest against the library's own copy and the running
    CPU against the ISA extensions the library was compiled for."""
    pinned = manifest.get("library")
    if not isinstance(pinned, dict) or not isinstance(pinned.get("bytes"), int):
        raise LibraryError("manifest %s.json does not pin its library's size and SHA-256 "
                           "(written by an older ampc?): recompile %s" % (path, path))
    size = os.path.getsize(path)
    if size != pinned["bytes"]:
        raise LibraryError("library %s is %d bytes, its manifest says %d: it was truncated or "
                           "replaced after compilation" % (path, size, pinned["bytes"]))
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != pinned.get("sha256"):
        raise LibraryError("library %s does not have the SHA-256 its manifest records: it was "
                           "modified after compilation, or the manifest belongs to another "
                           "library" % path)
    library = ctypes.CDLL(os.path.abspath(path), mode=mode)
    embedded = _embedded_string(library, "ampc_manifest")
    if embedded is None:
        raise LibraryError("%s carries no manifest (not built by this ampc): recompile it" % path)
    expected = {k: v for k, v in manifest.items() if k != "library"}
    difference = _first_difference(expected, json.loads(embedded))
    if difference:
        raise LibraryError("manifest %s.json does not match the library it sits next to (first "
                           "difference at %s): it was edited, or belongs to another build" %
                           (path, difference))
    features = _embedded_string(library, "ampc_cpu_features") or ""
    check = library.ampc_cpu_missing_feature
    check.restype = ctypes.c_char_p
    check.argtypes = [ctypes.c_char_p]
    missing = check(features.encode())
    if missing is not None:
        name = missing.decode().split(",")[0]
        raise LibraryError(
            "library %s was compiled for CPU '%s' with ISA extension '%s', which this CPU (or "
            "its operating system) lacks; running it would die of an illegal instruction. "
            "Recompile it on this machine, or for a portable target: ampc --cpu=x86-64-v3 "
            "(or --cpu=x86-64)" % (path, _embedded_string(library, "ampc_cpu_name"), name))
    return library

