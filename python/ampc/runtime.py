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
import ctypes
import hashlib
import json
import os
import zipfile
import zlib

import numpy as np


class LibraryError(RuntimeError):
    """A compiled library, its manifest or a checkpoint cannot be used; the
    message names the file and what is wrong with it."""

# numpy has no bfloat16: bf16 tensors travel as uint16 bit patterns.
_DTYPES = {"float32": np.float32, "float16": np.float16, "bfloat16": np.uint16,
           "float64": np.float64, "int64": np.int64, "int32": np.int32, "bool": np.bool_}
_STATE_ROLES = ("param", "optimizer_state", "scaler_state", "param_copy", "grad_accumulator")


def _descriptor_type(rank):
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
        self._symbol = getattr(library, entry["symbol"])
        self._symbol.restype = None
        self._symbol.argtypes = [ctypes.c_void_p] * (len(self.arguments) + len(self.results))

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
        self._symbol(*[ctypes.addressof(d) for d in descriptors])
        return tuple(outputs)


class Module:
    """A loaded library: its functions and, for a training step, its state."""

    def __init__(self, path, manifest=None):
        self.manifest = manifest if manifest is not None else read_manifest(path)
        self._library = self._load_library(path)
        self.functions = {e["name"]: self._function(e) for e in self.manifest["functions"]}
        steps = [f for f in self.functions.values() if f.training_step]
        self.train_step = steps[0] if steps else None
        self.state = None

    def _load_library(self, path):
        return open_library(path, self.manifest)

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

    def init_state(self, params=None, optimizer_state=None):
        """Starts the step's state: the given f32 params (in argument order;
        omitted: the model's own, see initial_params()), optimizer state (zeros
        when omitted, as torch.optim starts), scaler state from its `init`
        values, persistent copies rounded from the params."""
        params = list(params) if params is not None else self.initial_params()
        optimizer_state = list(optimizer_state) if optimizer_state is not None else None
        state, param_values = [], []
        for index, spec in self.state_specs():
            role, dtype = spec["role"], _DTYPES[spec["dtype"]]
            if role == "param":
                if not params:
                    raise ValueError("init_state: fewer params than the step's %d"
                                     % sum(1 for _, s in self.state_specs() if s["role"] == "param"))
                value = np.array(params.pop(0), dtype=np.float32, copy=True)
                param_values.append(value)
            elif role == "optimizer_state":
                value = (np.array(optimizer_state.pop(0), dtype=dtype, copy=True)
                         if optimizer_state else np.zeros(spec["shape"], dtype=dtype))
            elif role == "scaler_state":
                value = np.full(spec["shape"], spec.get("init", 0), dtype=dtype)
            elif role == "param_copy":
                source = next(p for p in param_values if list(p.shape) == list(spec["shape"]))
                value = f32_to_bf16(source) if spec["dtype"] == "bfloat16" else source.astype(dtype)
            else:
                value = np.zeros(spec["shape"], dtype=dtype)
            state.append(value)
        if params:
            raise ValueError("init_state: %d params more than the step takes" % len(params))
        self.state = state

    def step(self, *batch):
        """Runs one training step on a batch (the input/label arguments, in
        order); the updated state replaces the old one; returns the loss."""
        step = self._require_step()
        if self.state is None:
            raise RuntimeError("call init_state() before step()")
        specs = self.state_specs()
        state_iter, batch_iter = iter(self.state), iter(batch)
        state_positions = {i for i, _ in specs}
        n_batch = len(step.arguments) - len(specs)
        if len(batch) != n_batch:
            raise TypeError("step() takes %d batch arrays (%s), got %d"
                            % (n_batch, ", ".join(a.get("role", "?") for i, a in enumerate(step.arguments)
                                                  if i not in state_positions), len(batch)))
        args = [next(state_iter) if i in state_positions else next(batch_iter)
                for i in range(len(step.arguments))]
        results = step(*args)
        self.state = list(results[:-1])
        return float(results[-1])

    def params(self):
        """The current f32 params, in argument order."""
        return [v for (_, s), v in zip(self.state_specs(), self.state) if s["role"] == "param"]

    def scaler_state(self):
        """(scale, growth tracker) for dynamic loss scaling, else None."""
        values = [v for (_, s), v in zip(self.state_specs(), self.state) if s["role"] == "scaler_state"]
        return (float(values[0]), int(values[1])) if len(values) == 2 else None

    def save(self, path):
        """Writes the whole step state to an .npz checkpoint."""
        np.savez(path, **{"state_%d" % i: v for i, v in enumerate(self.state)})

    def load_state(self, path):
        """Reads a checkpoint written by save(), checking it against the step."""
        try:
            data = np.load(path, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise LibraryError("checkpoint %s holds one array, not the .npz archive "
                                   "save() writes" % path)
            with data:
                names = ["state_%d" % i for i in range(len(data.files))]
                missing = [n for n in names if n not in data.files]
                if missing:
                    raise LibraryError("checkpoint %s has no array '%s' (its arrays: %s)"
                                       % (path, missing[0], ", ".join(sorted(data.files))))
                values = [data[n] for n in names]
        except LibraryError:
            raise
        except FileNotFoundError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            # Not an archive, pickled data (refused), a truncated or damaged zip.
            raise LibraryError("checkpoint %s is not an .npz archive written by save(): %s: %s"
                               % (path, type(error).__name__, error)) from None
        specs = self.state_specs()
        if len(values) != len(specs):
            raise LibraryError("checkpoint %s holds %d state arrays, the step takes %d"
                               % (path, len(values), len(specs)))
        for (index, spec), value in zip(specs, values):
            try:
                self._require_step()._check(index, spec, value)
            except (TypeError, ValueError) as error:
                raise LibraryError("checkpoint %s does not fit this step: %s" % (path, error)) from None
        self.state = values


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

