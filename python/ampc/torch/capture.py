"""Capture: an nn.Module's forward traced with make_fx into a graph of ATen
ops with real shapes (torch.fx.experimental.proxy_tensor, functionalized so
in-place ops arrive as values), every node stamped with the module path and
the model source line that made it."""
import contextlib
import functools
import os
import sys
import threading

import functorch
import torch
from functorch.experimental import functionalize
from torch.fx.experimental import proxy_tensor
from torch.nn.utils import stateless

from .errors import ExportError

# Frames from these folders and files are library code; the first frame
# outside them is the model's own line (a model under a folder named
# "torch", as examples/torch/, is still the model).
_LIBRARY_DIRS = tuple(os.path.dirname(m.__file__) + os.sep for m in (torch, functorch)) + (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,)
_LIBRARY_FILES = (contextlib.__file__, functools.__file__)


def _is_library(filename):
    return filename.startswith(_LIBRARY_DIRS) or filename in _LIBRARY_FILES or filename.startswith("<")
_LOCK = threading.Lock()
_POSITIONS = {}


def _column(frame):
    """The 1-based column of the frame's current instruction (Python 3.11)."""
    code = frame.f_code
    positions = _POSITIONS.get(code)
    if positions is None and hasattr(code, "co_positions"):
        positions = _POSITIONS[code] = list(code.co_positions())
    if not positions:
        return 0
    index = frame.f_lasti // 2
    if 0 <= index < len(positions) and positions[index][2] is not None:
        return positions[index][2] + 1
    return 0


def user_frame():
    """(file, line, column) of the innermost frame outside torch and ampc."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not _is_library(filename):
            return filename, frame.f_lineno, _column(frame)
        frame = frame.f_back
    return None


class _Scope:
    """The stack of module paths whose forward is running."""

    def __init__(self):
        self.stack = []

    def current(self):
        return self.stack[-1] if self.stack else ""


@contextlib.contextmanager
def _module_scopes(module, scope):
    handles = []
    for name, sub in module.named_modules():
        if not name:
            continue

        def enter(_m, _args, name=name):
            scope.stack.append(name)

        def leave(_m, _args, _out):
            scope.stack.pop()
        handles.append(sub.register_forward_pre_hook(enter))
        handles.append(sub.register_forward_hook(leave))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def _stamping_tracer(scope):
    """make_fx builds its tracer from proxy_tensor.PythonKeyTracer; for the
    capture, that tracer also stamps each node it creates."""

    class StampingTracer(proxy_tensor.PythonKeyTracer):
        def create_node(self, *args, **kwargs):
            node = super().create_node(*args, **kwargs)
            node.meta["ampc_module"] = scope.current()
            node.meta["ampc_source"] = user_frame()
            return node

    original = proxy_tensor.PythonKeyTracer
    proxy_tensor.PythonKeyTracer = StampingTracer
    try:
        yield
    finally:
        proxy_tensor.PythonKeyTracer = original


def _trace_location(error):
    """' (at file:line)' of the model line where tracing failed."""
    tb, location = error.__traceback__, ""
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not _is_library(filename):
            location = " (at %s:%d)" % (filename, tb.tb_lineno)
        tb = tb.tb_next
    return location


class Captured:
    """The traced graph and what its placeholders are: `state` names (params
    then buffers, state_dict names) in placeholder order, then the inputs.
    `aliases` maps the other state_dict names of a shared (tied) parameter
    or buffer to the name it is traced under."""

    def __init__(self, graph_module, state_names, params, buffers, num_inputs, aliases):
        self.graph_module = graph_module
        self.state_names = state_names
        self.params = params        # name -> nn.Parameter
        self.buffers = buffers      # name -> tensor (values at capture time)
        self.num_inputs = num_inputs
        self.aliases = aliases


def _aliases(module):
    """Every state_dict name of a tensor that module.named_parameters() or
    named_buffers() lists under another name (tied weights)."""
    canonical = {}
    for name, tensor in list(module.named_parameters()) + list(module.named_buffers()):
        canonical.setdefault(id(tensor), name)
    aliases = {}
    for prefix, sub in module.named_modules(remove_duplicate=False):
        for name, tensor in list(sub._parameters.items()) + list(sub._buffers.items()):
            full = "%s.%s" % (prefix, name) if prefix else name
            if tensor is not None and canonical.get(id(tensor), full) != full:
                aliases[full] = canonical[id(tensor)]
    return aliases


def capture(module, example_inputs):
    """Traces `module(*example_inputs)` at the ATen level. Buffers the
    forward updates (BatchNorm statistics) are left as they were; a tied
    parameter is one parameter, read under each of its names."""
    params = dict(module.named_parameters())
    buffers = {name: value.detach().clone() for name, value in module.named_buffers()}
    names = list(params) + list(buffers)
    aliases = _aliases(module)
    # Tracing runs the forward on copies of the buffers, which it may update.
    state = [params[n] for n in params] + [buffers[n].clone() for n in buffers]

    def forward(state_values, *inputs):
        values = dict(zip(names, state_values))
        values.update((alias, values[name]) for alias, name in aliases.items())
        return stateless.functional_call(module, values, tuple(inputs))

    scope = _Scope()
    with _LOCK, _stamping_tracer(scope), _module_scopes(module, scope):
        try:
            graph_module = proxy_tensor.make_fx(functionalize(forward))(state, *example_inputs)
        except ExportError:
            raise
        except Exception as error:  # make_fx raises RuntimeError, TypeError, ...
            message = str(error).strip().splitlines()[0] if str(error).strip() else ""
            if "get value out of a tracing tensor" in message:
                message = ("the forward reads a tensor's value in Python (data-dependent control "
                           "flow, .item(), a size computed from data): ampc compiles one graph")
            raise ExportError("tracing %s failed: %s%s" % (
                type(module).__name__, message or type(error).__name__, _trace_location(error))) from None
    return Captured(graph_module, names, params, buffers, len(example_inputs), aliases)
