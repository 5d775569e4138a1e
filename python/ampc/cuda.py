"""Running steps compiled with `ampc --target=cuda`.

The library calls the ampc CUDA runtime (libampc_cuda_runtime.so, found
through the library's rpath or $AMPC_CUDA_RUNTIME). A training step's state
(params, optimizer and scaler state) stays in device memory across steps:
each step copies only the batch in and the loss out. `to_host()` and
`params()` copy state back explicitly; `save()` checkpoints it.

The compiled step writes new state into out-params, so the state lives in
two device buffers per array that swap roles every step. With
`use_graphs=True` (or `enable_graphs()`), each of the two step variants is
captured once as a CUDA graph and replayed: one launch per step."""
import ctypes
import os

import numpy as np

from . import runtime as _host

_RUNTIME_NAME = "libampc_cuda_runtime.so"


class CudaError(RuntimeError):
    """A CUDA or cuBLASLt call failed; the message names the call."""


def _load_runtime(library_path):
    candidates = [os.environ.get("AMPC_CUDA_RUNTIME"),
                  os.path.join(os.path.dirname(os.path.abspath(library_path)), _RUNTIME_NAME),
                  _RUNTIME_NAME]
    errors = []
    for candidate in candidates:
        if not candidate:
            continue
        try:
            return ctypes.CDLL(candidate, mode=ctypes.RTLD_GLOBAL)
        except OSError as error:
            errors.append(str(error))
    raise CudaError("ampc CUDA runtime not found (%s); set $AMPC_CUDA_RUNTIME" % "; ".join(errors))


def gpu_available():
    """(True, device name) when the ampc CUDA runtime finds a GPU, else
    (False, why not)."""
    candidates = [os.environ.get("AMPC_CUDA_RUNTIME"),
                  os.path.join(os.path.dirname(__file__), "..", "..", "build", "lib", _RUNTIME_NAME)]
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            try:
                runtime = Runtime(ctypes.CDLL(os.path.abspath(candidate), mode=ctypes.RTLD_GLOBAL))
            except OSError as error:
                return False, str(error)
            if runtime.init() != 0:
                message = runtime.last_error()
                return False, message.decode() if message else "no GPU"
            return True, runtime.device_name().decode()
    return False, "the ampc CUDA runtime was not built (no CUDA toolkit at build time)"


class Runtime:
    """ctypes bindings of ampc_cuda_runtime.h."""

    def __init__(self, library):
        self.lib = library
        c = ctypes
        signatures = {
            "ampc_cuda_init": (c.c_int, []),
            "ampc_cuda_last_error": (c.c_char_p, []),
            "ampc_cuda_clear_error": (None, []),
            "ampc_cuda_device_name": (c.c_char_p, []),
            "ampc_cuda_malloc": (c.c_void_p, [c.c_size_t]),
            "ampc_cuda_free": (c.c_int, [c.c_void_p]),
            "ampc_cuda_copy_to_device": (c.c_int, [c.c_void_p, c.c_void_p, c.c_size_t]),
            "ampc_cuda_copy_to_host": (c.c_int, [c.c_void_p, c.c_void_p, c.c_size_t]),
            "ampc_cuda_copy_on_device": (c.c_int, [c.c_void_p, c.c_void_p, c.c_size_t]),
            "ampc_cuda_synchronize": (c.c_int, []),
            "ampc_cuda_capture_begin": (c.c_int, []),
            "ampc_cuda_capture_end": (c.c_void_p, []),
            "ampc_cuda_graph_launch": (c.c_int, [c.c_void_p]),
            "ampc_cuda_graph_destroy": (None, [c.c_void_p]),
            "ampc_cuda_event_record": (c.c_void_p, []),
            "ampc_cuda_event_elapsed_ms": (c.c_float, [c.c_void_p, c.c_void_p]),
            "ampc_cuda_event_destroy": (None, [c.c_void_p]),
            "ampc_cuda_memory_stats": (c.c_int, [c.POINTER(c.c_uint64)]),
            "ampc_cuda_reset_peak_memory": (None, []),
        }
        for name, (restype, argtypes) in signatures.items():
            function = getattr(library, name)
            function.restype = restype
            function.argtypes = argtypes
            setattr(self, name[len("ampc_cuda_"):], function)

    def check(self, status=0):
        """Raises CudaError when a call failed or an error is pending."""
        message = self.last_error()
        if message is not None or status not in (0, None):
            self.clear_error()
            raise CudaError((message or b"ampc cuda runtime: call failed").decode())

    def memory(self):
        """Device bytes: (held now, peak held, step temporaries now, their peak)."""
        stats = (ctypes.c_uint64 * 4)()
        self.check(self.memory_stats(stats))
        return tuple(int(v) for v in stats)


class DeviceArray:
    """A contiguous array in device memory."""

    def __init__(self, runtime, shape, dtype):
        self.runtime = runtime
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.nbytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        self.pointer = runtime.malloc(self.nbytes)
        if not self.pointer:
            runtime.check(-1)

    @classmethod
    def from_host(cls, runtime, array):
        array = np.asarray(array, order="C")  # ascontiguousarray makes 0-d arrays 1-d
        device = cls(runtime, array.shape, array.dtype)
        device.copy_from(array)
        return device

    def copy_from(self, array):
        array = np.asarray(array, dtype=self.dtype, order="C")  # keeps 0-d arrays 0-d
        if array.shape != self.shape:
            raise ValueError("shape %s does not match the device array's %s" % (array.shape, self.shape))
        self.runtime.check(self.runtime.copy_to_device(self.pointer, array.ctypes.data, self.nbytes))

    def to_host(self):
        out = np.empty(self.shape, dtype=self.dtype)
        self.runtime.check(self.runtime.copy_to_host(out.ctypes.data, self.pointer, self.nbytes))
        return out

    def free(self):
        if self.pointer:
            self.runtime.free(self.pointer)
            self.pointer = None

    def __del__(self):
        try:
            self.free()
        except Exception:  # interpreter shutdown: the driver may be gone
            pass

    def descriptor(self):
        desc = _host._descriptor_type(len(self.shape))()
        desc.allocated = self.pointer
        desc.aligned = self.pointer
        desc.offset = 0
        if self.shape:
            desc.sizes[:] = self.shape
            strides, step = [], 1
            for size in reversed(self.shape):
                strides.append(step)
                step *= size
            desc.strides[:] = list(reversed(strides))
        return desc


class CudaFunction(_host.Function):
    """An exported function whose arguments and results live on the device.
    Called with numpy arrays, it copies them in and its results out; with
    DeviceArrays it reads and writes them in place."""

    def __init__(self, library, entry, runtime):
        super().__init__(library, entry)
        self.runtime = runtime

    def call_device(self, arguments, results):
        """Runs on DeviceArrays (arguments, then caller-allocated results)."""
        descriptors = [a.descriptor() for a in list(arguments) + list(results)]
        self._symbol(*[ctypes.addressof(d) for d in descriptors])
        self.runtime.check()

    def __call__(self, *args):
        if len(args) != len(self.arguments):
            raise TypeError("%s takes %d arguments, got %d" % (self.name, len(self.arguments), len(args)))
        inputs = [a if isinstance(a, DeviceArray) else DeviceArray.from_host(self.runtime, self._check(i, spec, a))
                  for i, (spec, a) in enumerate(zip(self.arguments, args))]
        outputs = [DeviceArray(self.runtime, spec["shape"], _host._DTYPES[spec["dtype"]]) for spec in self.results]
        self.call_device(inputs, outputs)
        return tuple(o.to_host() for o in outputs)


class CudaModule(_host.Module):
    """A loaded CUDA library: its functions and its device-resident state."""

    def __init__(self, path, manifest, use_graphs=False):
        super().__init__(path, manifest)
        self.use_graphs = use_graphs
        self._graphs = {}
        self._batch = None
        self._loss = None
        self._spare = None

    def _load_library(self, path):
        # $AMPC_CUDA_RUNTIME overrides the runtime the library was linked
        # against; otherwise the library's rpath finds it ($ORIGIN first).
        if os.environ.get("AMPC_CUDA_RUNTIME"):
            _load_runtime(path)
        # Loading the library loads its kernels (global constructors).
        library = _host.open_library(path, self.manifest)
        self.runtime = Runtime(_load_runtime(path))
        self.runtime.init()
        self.runtime.check()
        self.device_name = self.runtime.device_name().decode()
        return library

    def _function(self, entry):
        return CudaFunction(self._library, entry, self.runtime)

    def enable_graphs(self, enabled=True):
        """Replays each step as a captured CUDA graph (captured on first use)."""
        self.use_graphs = enabled

    def _drop_graphs(self):
        for graph in self._graphs.values():
            self.runtime.graph_destroy(graph)
        self._graphs = {}

    def init_state(self, params=None, optimizer_state=None):
        super().init_state(params, optimizer_state)
        self._upload_state()

    def _upload_state(self):
        """The host state (set by the base class) to the device, with the
        buffer set the step writes into: the same one where the compiler
        found the step safe in place (manifest "in_place_state"), else a
        second set that swaps with the first. Graphs of old buffers go."""
        host_state = self.state
        self._drop_graphs()
        self._free_state()
        self.state = [DeviceArray.from_host(self.runtime, v) for v in host_state]
        if self._require_step().in_place_state:
            self._spare = self.state
        else:
            self._spare = [DeviceArray(self.runtime, v.shape, v.dtype) for v in host_state]
        self._drop_graphs()

    def _free_state(self):
        """Frees the device state buffers (each once: in place, both sets
        are the same arrays)."""
        arrays = {id(a): a for a in list(self.state or []) + list(self._spare or [])
                  if isinstance(a, DeviceArray)}
        for array in arrays.values():
            array.free()
        self._spare = None

    def _layout(self, batch):
        step = self._require_step()
        specs = self.state_specs()
        positions = {i for i, _ in specs}
        n_batch = len(step.arguments) - len(specs)
        if len(batch) != n_batch:
            raise TypeError("step() takes %d batch arrays, got %d" % (n_batch, len(batch)))
        if self._batch is None:
            batch_specs = [a for i, a in enumerate(step.arguments) if i not in positions]
            self._batch = [DeviceArray(self.runtime, s["shape"], _host._DTYPES[s["dtype"]]) for s in batch_specs]
            loss = step.results[-1]
            self._loss = DeviceArray(self.runtime, loss["shape"], _host._DTYPES[loss["dtype"]])
        return step, positions

    def _run(self, step, positions, batch_buffers):
        state_iter, batch_iter = iter(self.state), iter(batch_buffers)
        args = [next(state_iter) if i in positions else next(batch_iter) for i in range(len(step.arguments))]
        step.call_device(args, list(self._spare) + [self._loss])

    def step(self, *batch, read_loss=True):
        """One training step on a batch (the input/label arguments in order:
        numpy arrays, copied to the device, or DeviceArrays, used in place);
        the state stays on the device. Returns the loss, or None with
        `read_loss=False` (then a graph-launched step does not wait)."""
        if self.state is None:
            raise RuntimeError("call init_state() before step()")
        step, positions = self._layout(batch)
        if all(isinstance(b, DeviceArray) for b in batch):
            batch_buffers = list(batch)
            specs = [a for i, a in enumerate(step.arguments) if i not in positions]
            for spec, buffer in zip(specs, batch_buffers):
                if list(buffer.shape) != list(spec["shape"]) or buffer.dtype != _host._DTYPES[spec["dtype"]]:
                    raise ValueError("batch DeviceArray %s %s does not match %s %s"
                                     % (buffer.shape, buffer.dtype, spec["shape"], spec["dtype"]))
        else:
            batch_buffers = self._batch
            batch_index = 0
            for i, spec in enumerate(step.arguments):
                if i in positions:
                    continue
                self._batch[batch_index].copy_from(step._check(i, spec, batch[batch_index]))
                batch_index += 1
        if self.use_graphs:
            key = (id(self.state[0]),) + tuple(b.pointer for b in batch_buffers)
            graph = self._graphs.get(key)
            if graph is None:
                self.runtime.check(self.runtime.capture_begin())
                try:
                    self._run(step, positions, batch_buffers)
                finally:
                    graph = self.runtime.capture_end()
                self.runtime.check(0 if graph else -1)
                self._graphs[key] = graph
            self.runtime.check(self.runtime.graph_launch(graph))
        else:
            self._run(step, positions, batch_buffers)
        self.state, self._spare = self._spare, self.state
        if not read_loss:
            return None
        return float(self._loss.to_host())

    def to_host(self):
        """The whole state as numpy arrays (argument order)."""
        return [v.to_host() for v in self.state]

    def params(self):
        return [v.to_host() for (_, s), v in zip(self.state_specs(), self.state) if s["role"] == "param"]

    def scaler_state(self):
        values = [v.to_host() for (_, s), v in zip(self.state_specs(), self.state) if s["role"] == "scaler_state"]
        return (float(values[0]), int(values[1])) if len(values) == 2 else None

    def _host_state(self):
        return self.to_host()

    def _set_host_state(self, values):
        self.state = values
        self._upload_state()

    def _set_scaler_value(self, name, value, dtype):
        raise NotImplementedError("setting the scaler state is not implemented on the CUDA "
                                  "runtime yet")

    def memory(self):
        """Device memory in bytes: held now, peak held, step temporaries now,
        their peak."""
        return self.runtime.memory()

    def close(self):
        """Frees the device state and the captured graphs now (instead of
        when the module is garbage-collected)."""
        self._drop_graphs()
        self._free_state()
        for arrays in (self._batch or [], [self._loss] if self._loss else []):
            for array in arrays:
                array.free()
        self.state = self._spare = self._batch = self._loss = None

    def __del__(self):
        try:
            self._drop_graphs()
        except Exception:  # interpreter shutdown
            pass
