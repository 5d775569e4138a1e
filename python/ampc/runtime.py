"""Loading compiled steps and calling them on numpy arrays.

A compiled library exports, per public function f, `_mlir_ciface_f` taking
pointers to MLIR memref descriptors: the arguments, then one out-parameter per
result, which the caller allocates. The manifest next to the library (written
by ampc) says what every argument and result is."""
import ctypes
import json
import os

import numpy as np

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
        return ctypes.CDLL(os.path.abspath(path))

    def _function(self, entry):
        return Function(self._library, entry)

    def __getitem__(self, name):
        return self.functions[name]

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
        with np.load(path) as data:
            values = [data["state_%d" % i] for i in range(len(data.files))]
        specs = self.state_specs()
        if len(values) != len(specs):
            raise ValueError("checkpoint holds %d state arrays, the step takes %d" % (len(values), len(specs)))
        for (index, spec), value in zip(specs, values):
            self._require_step()._check(index, spec, value)
        self.state = values


def read_manifest(path):
    """The manifest ampc wrote next to the library at `path`."""
    manifest_path = path + ".json"
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    if not os.path.exists(manifest_path):
        raise FileNotFoundError("no manifest next to %s (expected %s)" % (path, manifest_path))
    with open(manifest_path) as f:
        return json.load(f)

