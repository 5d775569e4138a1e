"""torch.fx -> ampc's input IR: an nn.Module's forward as one func.func in
upstream dialects (linalg, tensor, arith, math), parameters as arguments
named by their state_dict keys (`amp.name`).

The graph is traced with torch.fx.symbolic_trace and its shapes propagated
with the example inputs (ShapeProp); every node becomes linalg/tensor ops in
NCHW, as PyTorch lays tensors out. What is not covered is an ExportError
naming the module path and the op, never a silently different graph."""
import math
import operator

import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F
from torch.fx.passes.shape_prop import ShapeProp


class ExportError(RuntimeError):
    """The module cannot be exported; the message names where and why."""


class _Tracer(torch.fx.Tracer):
    """symbolic_trace's tracer, remembering for each node the module whose
    forward created it and the model source line."""

    def __init__(self):
        super().__init__()
        self.record_stack_traces = True
        self.scope = []

    def is_leaf_module(self, m, qualified_name):
        # Its forward branches on the inputs (torch 1.13's fast path).
        if isinstance(m, nn.TransformerEncoderLayer):
            return True
        return super().is_leaf_module(m, qualified_name)

    def call_module(self, m, forward, args, kwargs):
        self.scope.append(self.path_of_module(m))
        try:
            return super().call_module(m, forward, args, kwargs)
        finally:
            self.scope.pop()

    def create_node(self, *args, **kwargs):
        node = super().create_node(*args, **kwargs)
        node.meta["ampc_module"] = self.scope[-1] if self.scope else ""
        return node


def _source_line(node):
    """'file:line' of the model code that created `node`, if recorded."""
    trace = getattr(node, "stack_trace", None) or ""
    # torch.fx lists the innermost frame first: the model's forward.
    for line in trace.splitlines():
        line = line.strip()
        if line.startswith("File ") and "/torch/" not in line:
            parts = line.split(",")
            if len(parts) >= 2:
                return "%s:%s" % (parts[0][len("File "):].strip().strip('"'),
                                  parts[1].strip().replace("line ", ""))
    return ""


def _ttype(shape, elt="f32"):
    if not shape:
        return "tensor<%s>" % elt
    return "tensor<%sx%s>" % ("x".join(str(d) for d in shape), elt)


def _affine(rank, exprs):
    dims = ", ".join("d%d" % i for i in range(rank))
    return "affine_map<(%s) -> (%s)>" % (dims, ", ".join(exprs))


def _identity(rank):
    return _affine(rank, ["d%d" % i for i in range(rank)])


def _broadcast_map(out_shape, in_shape):
    """numpy broadcasting: in_shape aligned right; size-1 dims read index 0."""
    rank = len(out_shape)
    offset = rank - len(in_shape)
    exprs = []
    for i, size in enumerate(in_shape):
        exprs.append("0" if size == 1 and out_shape[offset + i] != 1 else "d%d" % (offset + i))
    return _affine(rank, exprs)


def _float(value):
    value = float(value)
    if math.isinf(value):  # MLIR spells f32 infinities as bit patterns
        return "0x7F800000" if value > 0 else "0xFF800000"
    return "%.9e" % value


class _Emitter:
    def __init__(self, module, example_inputs):
        self.root = module
        self.lines = []
        self.counter = 0
        self.values = {}          # fx node -> (ssa name, shape)
        self.arguments = []       # (ssa, shape, attrs)
        self.params = []          # state_dict names of trainable params, in argument order
        self.param_index = {}     # argument number of each param
        self.constants = {}
        self.example_inputs = example_inputs
        self.static = set()       # nodes holding shapes and sizes, not tensors
        self.tuples = {}          # nodes returning (tensor, weights): MultiheadAttention
        self.index_values = set() # int64 inputs (embedding indices)
        self.buffers = []         # state_dict names of buffers the step updates
        self.buffer_updates = []  # (ssa, shape, element type) of their new values

    # -- helpers -------------------------------------------------------------

    def fresh(self, hint="v"):
        self.counter += 1
        return "%%%s%d" % (hint, self.counter)

    def emit(self, line):
        self.lines.append("  " + line)

    def scalar(self, value):
        key = float(value)
        if key not in self.constants:
            name = "%%c%d" % len(self.constants)
            self.constants[key] = name
        return self.constants[key]

    def empty(self, shape):
        name = self.fresh("e")
        self.emit("%s = tensor.empty() : %s" % (name, _ttype(shape)))
        return name

    def filled(self, shape, value):
        empty = self.empty(shape)
        name = self.fresh("f")
        self.emit("%s = linalg.fill ins(%s : f32) outs(%s : %s) -> %s"
                  % (name, self.scalar(value), empty, _ttype(shape), _ttype(shape)))
        return name

    def elementwise(self, inputs, out_shape, build, maps=None):
        """A parallel linalg.generic over `out_shape`; inputs are (ssa, shape),
        broadcast numpy-style unless `maps` are given; build(p, args) emits
        the payload through `p` (a _Payload) and returns the yielded value."""
        rank = len(out_shape)
        if maps is None:
            maps = [_broadcast_map(out_shape, shape) for _, shape in inputs]
        maps = list(maps) + [_identity(rank)]
        out = self.empty(out_shape)
        name = self.fresh("g")
        ins = ", ".join(v for v, _ in inputs)
        types = ", ".join(_ttype(s) for _, s in inputs)
        self.emit("%s = linalg.generic {indexing_maps = [%s], iterator_types = [%s]} ins(%s : %s) outs(%s : %s) {"
                  % (name, ", ".join(maps), ", ".join(['"parallel"'] * rank), ins, types, out,
                     _ttype(out_shape)))
        args = ["%%a%d" % i for i in range(len(inputs))]
        self.emit("^bb0(%s, %%out: f32):" % ", ".join("%s: f32" % a for a in args))
        payload = _Payload()
        result = build(payload, args)
        for line in payload.lines:
            self.emit("  " + line)
        self.emit("  linalg.yield %s : f32" % result)
        self.emit("} -> %s" % _ttype(out_shape))
        return name

    def collapse_all(self, value, shape):
        if len(shape) == 1:
            return value
        name = self.fresh("r")
        total = math.prod(shape)
        self.emit("%s = tensor.collapse_shape %s [[%s]] : %s into %s"
                  % (name, value, ", ".join(str(i) for i in range(len(shape))), _ttype(shape),
                     _ttype([total])))
        return name

    def reshape(self, value, shape, new_shape):
        if list(shape) == list(new_shape):
            return value
        if not shape or not new_shape:
            raise ExportError("reshape to or from a 0-d tensor is not supported")
        flat = self.collapse_all(value, shape)
        if len(new_shape) == 1:
            return flat
        name = self.fresh("r")
        self.emit("%s = tensor.expand_shape %s [[%s]] output_shape [%s] : %s into %s"
                  % (name, flat, ", ".join(str(i) for i in range(len(new_shape))),
                     ", ".join(str(d) for d in new_shape), _ttype([math.prod(shape)]),
                     _ttype(new_shape)))
        return name

    def transpose(self, value, shape, perm):
        out_shape = [shape[p] for p in perm]
        out = self.empty(out_shape)
        name = self.fresh("t")
        self.emit("%s = linalg.transpose ins(%s : %s) outs(%s : %s) permutation = [%s]"
                  % (name, value, _ttype(shape), out, _ttype(out_shape), ", ".join(map(str, perm))))
        return name, out_shape

    def pad(self, value, shape, pads, fill):
        """pads: per dim (low, high)."""
        if not any(lo or hi for lo, hi in pads):
            return value, shape
        out_shape = [d + lo + hi for d, (lo, hi) in zip(shape, pads)]
        name = self.fresh("p")
        self.emit("%s = tensor.pad %s low[%s] high[%s] {" % (
            name, value, ", ".join(str(lo) for lo, _ in pads), ", ".join(str(hi) for _, hi in pads)))
        self.emit("^bb0(%s):" % ", ".join("%%i%d: index" % i for i in range(len(shape))))
        self.emit("  tensor.yield %s : f32" % self.scalar(fill))
        self.emit("} : %s to %s" % (_ttype(shape), _ttype(out_shape)))
        return name, out_shape

    # -- parameters ----------------------------------------------------------

    def argument(self, shape, attrs=None, elt="f32"):
        name = "%%arg%d" % len(self.arguments)
        self.arguments.append((name, list(shape), attrs, elt))
        return name

    def param(self, qualified, tensor):
        if qualified in self.param_index:
            return self.arguments[self.param_index[qualified]][0]
        if tensor.dtype != torch.float32:
            raise ExportError("parameter '%s' is %s; ampc takes float32 parameters" % (qualified, tensor.dtype))
        self.param_index[qualified] = len(self.arguments)
        self.params.append(qualified)
        return self.argument(tensor.shape, {"amp.name": qualified})

    def buffer(self, qualified, tensor, new_value):
        """A buffer the forward updates (BatchNorm running statistics): an
        argument with role buffer, returned updated after the output."""
        elt = {torch.float32: "f32", torch.int64: "i64"}.get(tensor.dtype)
        if elt is None:
            raise ExportError("buffer '%s' is %s; float32 and int64 buffers are supported"
                              % (qualified, tensor.dtype))
        name = self.argument(tensor.shape, {"amp.name": qualified, "amp.role": "buffer"}, elt)
        self.buffers.append(qualified)
        self.buffer_updates.append((new_value(name), list(tensor.shape), elt))
        return name

    # -- the graph -----------------------------------------------------------

    def run(self):
        try:
            tracer = _Tracer()
            graph = tracer.trace(self.root)
            graph_module = torch.fx.GraphModule(tracer.root, graph)
        except Exception as error:  # torch.fx raises TraceError, TypeError, ...
            raise ExportError("torch.fx cannot trace %s: %s: %s%s" % (
                type(self.root).__name__, type(error).__name__, error, _trace_location(error))) from None
        # Shapes come from running the model once, which in training mode
        # moves BatchNorm's running statistics: they are put back.
        buffers = {name: value.clone() for name, value in self.root.named_buffers()}
        try:
            ShapeProp(graph_module).propagate(*self.example_inputs)
        except Exception as error:
            raise ExportError("running %s on the example inputs failed: %s: %s"
                              % (type(self.root).__name__, type(error).__name__, error)) from None
        finally:
            for name, value in self.root.named_buffers():
                value.copy_(buffers[name])
        self.graph_module = graph_module
        self.modules = dict(graph_module.named_modules())
        output = None
        for node in graph_module.graph.nodes:
            if node.op == "placeholder":
                meta = node.meta.get("tensor_meta")
                if meta is None or meta.dtype not in (torch.float32, torch.int64):
                    raise ExportError("input '%s' must be a float32 tensor (or int64 indices)" % node.name)
                elt = "i64" if meta.dtype == torch.int64 else "f32"
                self.values[node] = (self.argument(meta.shape, None, elt), list(meta.shape))
                if elt == "i64":
                    self.index_values.add(node)
            elif node.op == "get_attr":
                tensor = _fetch(graph_module, node.target)
                if isinstance(tensor, nn.Parameter) or node.target in dict(self.root.named_parameters()):
                    self.values[node] = (self.param(node.target, tensor), list(tensor.shape))
                else:
                    raise ExportError("'%s' is a buffer or constant tensor the graph reads directly; "
                                      "only parameters are supported this way" % node.target)
            elif node.op == "output":
                output = node.args[0]
            else:
                self.visit(node)
        if not isinstance(output, torch.fx.Node) or output not in self.values:
            raise ExportError("forward must return one tensor (got %s)" % type(output).__name__)
        result, shape = self.values[output]
        return result, shape

    def where(self, node):
        """The module path and op of `node`, and the model line that made it."""
        if node.op == "call_module":
            text = "module '%s' (%s)" % (node.target, type(self.modules[node.target]).__name__)
        else:
            owner = node.meta.get("ampc_module")
            text = "'%s'%s" % (_callable_name(node.target), " in module '%s'" % owner if owner else "")
        source = _source_line(node)
        return text + (" at %s" % source if source else "")

    def shape(self, node):
        meta = node.meta.get("tensor_meta")
        if meta is not None and hasattr(meta, "shape") and meta.dtype == torch.int64 and node in self.index_values:
            return list(meta.shape)
        if meta is None or not hasattr(meta, "shape"):
            raise ExportError("%s does not produce one tensor" % self.where(node))
        if meta.dtype != torch.float32:
            raise ExportError("%s produces %s; only float32 values are supported" % (self.where(node), meta.dtype))
        return list(meta.shape)

    def operand(self, node, arg):
        if isinstance(arg, torch.fx.Node):
            if arg in self.static:
                raise ExportError("%s computes with the size '%s' as a tensor; not supported"
                                  % (self.where(node), arg.name))
            if arg not in self.values:
                raise ExportError("%s reads '%s', which is not a tensor ampc exported" % (self.where(node), arg.name))
            return self.values[arg]
        raise ExportError("%s: expected a tensor operand, got %r" % (self.where(node), arg))

    def static_value(self, node):
        """Shapes and sizes (x.shape, x.size(), x.shape[0]): Python values
        the example inputs fix; ops that read them take their own shapes."""
        if node.op == "call_function" and node.target is getattr and node.args[1] == "shape":
            return True
        if node.op == "call_method" and node.target == "size":
            return True
        if node.op == "call_function" and node.target is operator.getitem:
            base = node.args[0]
            return isinstance(base, torch.fx.Node) and base in self.static
        return False

    def visit(self, node):
        if self.static_value(node):
            self.static.add(node)
            return
        if node.op == "call_module":
            module = self.modules[node.target]
            handler = _MODULES.get(type(module))
            if handler is None:
                raise ExportError("%s is not supported by ampc.torch.export" % self.where(node))
            result = handler(self, node, module)
            if node in self.tuples:
                return
        elif node.op == "call_function" and node.target is operator.getitem and node.args[0] in self.tuples:
            if node.args[1] != 0:
                raise ExportError("%s: only the attention output ([0]) is supported, not the weights"
                                  % self.where(node))
            self.values[node] = self.tuples[node.args[0]]
            return
        elif node.op in ("call_function", "call_method"):
            key = node.target if node.op == "call_function" else ("method", node.target)
            handler = _FUNCTIONS.get(key)
            if handler is None:
                raise ExportError("%s (%s) is not supported by ampc.torch.export"
                                  % (self.where(node), node.op.replace("_", " ")))
            result = handler(self, node)
        else:
            raise ExportError("fx node '%s' (%s) is not supported" % (node.name, node.op))
        self.values[node] = (result, self.shape(node))

    def text(self, name, result, shape):
        args = []
        for ssa, arg_shape, attrs, elt in self.arguments:
            attr_text = ""
            if attrs:
                attr_text = " {%s}" % ", ".join('%s = "%s"' % (k, v) for k, v in attrs.items())
            args.append("%s: %s%s" % (ssa, _ttype(arg_shape, elt), attr_text))
        results = [(result, _ttype(shape), "")] + [
            (value, _ttype(s, elt), ' {amp.role = "buffer"}') for value, s, elt in self.buffer_updates]
        body = ["  %s = arith.constant %s : f32" % (ssa, _float(v)) for v, ssa in self.constants.items()]
        return ("func.func @%s(%s) -> (%s) {\n%s\n%s\n  return %s : %s\n}\n"
                % (name, ", ".join(args), ", ".join(t + a for _, t, a in results), "\n".join(body),
                   "\n".join(self.lines), ", ".join(v for v, _, _ in results),
                   ", ".join(t for _, t, _ in results)))


def _fetch(graph_module, target):
    value = graph_module
    for part in target.split("."):
        value = getattr(value, part)
    return value


def _callable_name(target):
    if isinstance(target, str):
        return target
    return getattr(target, "__name__", repr(target))


def _trace_location(error):
    """The model's source line where tracing failed, from the traceback."""
    tb = error.__traceback__
    location = ""
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if "torch" not in filename.split("/")[-3:-1] and "/torch/" not in filename:
            location = " (at %s:%d)" % (filename, tb.tb_lineno)
        tb = tb.tb_next
    return location


# -- modules ------------------------------------------------------------------

def _pair(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _linear_value(em, node, x, x_shape, w, out_features, in_features, b):
    """x @ w^T + b over the last dimension of x (w: out x in)."""
    out_shape = list(x_shape[:-1]) + [out_features]
    rows = math.prod(x_shape[:-1])
    x2 = em.reshape(x, x_shape, [rows, in_features])
    wt, wt_shape = em.transpose(w, [out_features, in_features], [1, 0])
    acc = em.filled([rows, out_features], 0.0)
    mm = em.fresh("mm")
    em.emit("%s = linalg.matmul ins(%s, %s : %s, %s) outs(%s : %s) -> %s"
            % (mm, x2, wt, _ttype([rows, in_features]), _ttype(wt_shape), acc,
               _ttype([rows, out_features]), _ttype([rows, out_features])))
    y = mm
    if b is not None:
        y = em.elementwise([(mm, [rows, out_features]), (b, [out_features])],
                           [rows, out_features], lambda p, a: p("arith.addf", a[0], a[1]))
    return em.reshape(y, [rows, out_features], out_shape)


def _linear(em, node, module):
    x, x_shape = em.operand(node, node.args[0])
    w = em.param(node.target + ".weight", module.weight)
    b = em.param(node.target + ".bias", module.bias) if module.bias is not None else None
    return _linear_value(em, node, x, x_shape, w, module.out_features, module.in_features, b)


def _linear_function(em, node):
    x, x_shape = em.operand(node, node.args[0])
    w, w_shape = em.operand(node, node.args[1])
    bias = node.args[2] if len(node.args) > 2 else node.kwargs.get("bias")
    b = em.operand(node, bias)[0] if bias is not None else None
    return _linear_value(em, node, x, x_shape, w, w_shape[0], w_shape[1], b)


def _conv2d(em, node, module):
    if module.padding_mode != "zeros":
        raise ExportError("%s: padding_mode '%s' is not supported (zeros only)" % (em.where(node), module.padding_mode))
    if isinstance(module.padding, str):
        raise ExportError("%s: padding='%s' is not supported; give the padding as numbers"
                          % (em.where(node), module.padding))
    x, x_shape = em.operand(node, node.args[0])
    out_shape = em.shape(node)
    w = em.param(node.target + ".weight", module.weight)
    ph, pw = _pair(module.padding)
    xp, xp_shape = em.pad(x, x_shape, [(0, 0), (0, 0), (ph, ph), (pw, pw)], 0.0)
    sh, sw = _pair(module.stride)
    dh, dw = _pair(module.dilation)
    acc = em.filled(out_shape, 0.0)
    conv = em.fresh("conv")
    w_shape = list(module.weight.shape)
    groups = module.groups
    if groups == 1:
        em.emit("%s = linalg.conv_2d_nchw_fchw {dilations = dense<[%d, %d]> : tensor<2xi64>, strides = dense<[%d, %d]> : tensor<2xi64>} ins(%s, %s : %s, %s) outs(%s : %s) -> %s"
                % (conv, dh, dw, sh, sw, xp, w, _ttype(xp_shape), _ttype(w_shape), acc,
                   _ttype(out_shape), _ttype(out_shape)))
    elif groups == module.in_channels == module.out_channels:
        # Depthwise: weight (C, 1, KH, KW) read as (C, KH, KW).
        w3 = em.reshape(w, w_shape, [w_shape[0], w_shape[2], w_shape[3]])
        em.emit("%s = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<[%d, %d]> : tensor<2xi64>, strides = dense<[%d, %d]> : tensor<2xi64>} ins(%s, %s : %s, %s) outs(%s : %s) -> %s"
                % (conv, dh, dw, sh, sw, xp, w3, _ttype(xp_shape), _ttype([w_shape[0], w_shape[2], w_shape[3]]),
                   acc, _ttype(out_shape), _ttype(out_shape)))
    else:
        # Grouped: (N, G, C/G, H, W) x (G, F/G, C/G, KH, KW) -> (N, G, F/G, OH, OW).
        n, c, h, w_ = xp_shape
        f = w_shape[0]
        xg_shape = [n, groups, c // groups, h, w_]
        wg_shape = [groups, f // groups] + w_shape[1:]
        og_shape = [out_shape[0], groups, f // groups] + out_shape[2:]
        xg = em.reshape(xp, xp_shape, xg_shape)
        wg = em.reshape(w, w_shape, wg_shape)
        accg = em.filled(og_shape, 0.0)
        grouped = em.fresh("gconv")
        em.emit("%s = linalg.conv_2d_ngchw_gfchw {dilations = dense<[%d, %d]> : tensor<2xi64>, strides = dense<[%d, %d]> : tensor<2xi64>} ins(%s, %s : %s, %s) outs(%s : %s) -> %s"
                % (grouped, dh, dw, sh, sw, xg, wg, _ttype(xg_shape), _ttype(wg_shape), accg,
                   _ttype(og_shape), _ttype(og_shape)))
        conv = em.reshape(grouped, og_shape, out_shape)
    if module.bias is None:
        return conv
    b = em.param(node.target + ".bias", module.bias)
    return em.elementwise([(conv, out_shape), (b, [out_shape[1]])], out_shape,
                          lambda p, a: p("arith.addf", a[0], a[1]),
                          maps=[_identity(4), _affine(4, ["d1"])])


def _unary(em, node, build):
    x, shape = em.operand(node, node.args[0])
    return em.elementwise([(x, shape)], shape, lambda p, a: build(em, p, a[0]))


class _Payload:
    """Numbered payload SSA names for a body builder."""

    def __init__(self):
        self.lines = []
        self.n = 0

    def __call__(self, op, *args, ty="f32"):
        """`%sN = op args : ty`; op may carry a predicate ("arith.cmpf ogt,")."""
        self.n += 1
        name = "%%s%d" % self.n
        self.lines.append("%s = %s %s : %s" % (name, op, ", ".join(args), ty))
        return name


def _activation(kind, module=None):
    def build(em, p, x):
        zero, one, half = em.scalar(0.0), em.scalar(1.0), em.scalar(0.5)
        if kind == "relu":
            r = p("arith.maximumf", x, zero)
        elif kind == "leaky_relu":
            # torch: x > 0 ? x : slope * x
            slope = em.scalar(module.negative_slope if module is not None else 0.01)
            cond = p("arith.cmpf ogt,", x, zero)
            r = p("arith.select", cond, x, p("arith.mulf", x, slope))
        elif kind == "sigmoid":
            neg = p("arith.negf", x)
            e = p("math.exp", neg)
            d = p("arith.addf", one, e)
            r = p("arith.divf", one, d)
        elif kind == "tanh":
            r = p("math.tanh", x)
        elif kind == "silu":
            neg = p("arith.negf", x)
            e = p("math.exp", neg)
            d = p("arith.addf", one, e)
            r = p("arith.divf", x, d)
        elif kind == "gelu":
            approximate = getattr(module, "approximate", "none") if module is not None else "none"
            if approximate == "tanh":
                c = em.scalar(math.sqrt(2.0 / math.pi))
                k = em.scalar(0.044715)
                x3 = p("arith.mulf", p("arith.mulf", x, x), x)
                inner = p("arith.mulf", c, p("arith.addf", x, p("arith.mulf", k, x3)))
                r = p("arith.mulf", p("arith.mulf", half, x), p("arith.addf", one, p("math.tanh", inner)))
            else:
                erf = p("math.erf", p("arith.mulf", x, em.scalar(1.0 / math.sqrt(2.0))))
                r = p("arith.mulf", p("arith.mulf", half, x), p("arith.addf", one, erf))
        elif kind == "relu6":
            r = p("arith.minimumf", p("arith.maximumf", x, zero), em.scalar(6.0))
        elif kind in ("hardsigmoid", "hardswish"):
            # relu6(x + 3) / 6
            shifted = p("arith.addf", x, em.scalar(3.0))
            clamped = p("arith.minimumf", p("arith.maximumf", shifted, zero), em.scalar(6.0))
            hs = p("arith.divf", clamped, em.scalar(6.0))
            r = hs if kind == "hardsigmoid" else p("arith.mulf", x, hs)
        else:
            raise AssertionError(kind)
        return r
    return build


def _activation_module(kind):
    def handler(em, node, module):
        return _unary(em, node, _activation(kind, module))
    return handler


def _activation_function(kind):
    def handler(em, node):
        if kind == "leaky_relu" and (len(node.args) > 1 or node.kwargs.get("negative_slope") is not None):
            slope = node.args[1] if len(node.args) > 1 else node.kwargs["negative_slope"]
            return _unary(em, node, _activation(kind, nn.LeakyReLU(slope)))
        if kind == "gelu":
            return _unary(em, node, _activation(kind, nn.GELU(approximate=node.kwargs.get("approximate", "none"))))
        return _unary(em, node, _activation(kind))
    return handler


def _pool(em, node, kind, kernel, stride, padding, dilation=1, ceil_mode=False, count_include_pad=True):
    x, x_shape = em.operand(node, node.args[0])
    out_shape = em.shape(node)
    if ceil_mode:
        raise ExportError("%s: ceil_mode=True is not supported" % em.where(node))
    kh, kw = _pair(kernel)
    sh, sw = _pair(stride if stride is not None else kernel)
    ph, pw = _pair(padding)
    dh, dw = _pair(dilation)
    if kind == "avg" and (ph or pw) and not count_include_pad:
        raise ExportError("%s: count_include_pad=False is not supported" % em.where(node))
    fill = -math.inf if kind == "max" else 0.0
    xp, xp_shape = em.pad(x, x_shape, [(0, 0), (0, 0), (ph, ph), (pw, pw)], fill)
    window = em.fresh("win")
    em.emit("%s = tensor.empty() : %s" % (window, _ttype([kh, kw])))
    acc = em.filled(out_shape, fill)
    name = em.fresh("pool")
    op = "linalg.pooling_nchw_max" if kind == "max" else "linalg.pooling_nchw_sum"
    em.emit("%s = %s {dilations = dense<[%d, %d]> : tensor<2xi64>, strides = dense<[%d, %d]> : tensor<2xi64>} ins(%s, %s : %s, %s) outs(%s : %s) -> %s"
            % (name, op, dh, dw, sh, sw, xp, window, _ttype(xp_shape), _ttype([kh, kw]), acc,
               _ttype(out_shape), _ttype(out_shape)))
    if kind == "max":
        return name
    inv = 1.0 / (kh * kw)
    return em.elementwise([(name, out_shape)], out_shape, lambda p, a: p("arith.mulf", a[0], em.scalar(inv)))


def _maxpool(em, node, module):
    if module.return_indices:
        raise ExportError("%s: return_indices=True is not supported" % em.where(node))
    return _pool(em, node, "max", module.kernel_size, module.stride, module.padding, module.dilation,
                 module.ceil_mode)


def _avgpool(em, node, module):
    if module.divisor_override is not None:
        raise ExportError("%s: divisor_override is not supported" % em.where(node))
    return _pool(em, node, "avg", module.kernel_size, module.stride, module.padding, 1, module.ceil_mode,
                 module.count_include_pad)


def _reduce(em, value, shape, dims, keep, kind):
    """Sum (or mean) over `dims`; keep: keep them as size 1."""
    dims = sorted(d % len(shape) for d in dims)
    kept = [d for d in range(len(shape)) if d not in dims]
    out_shape = [shape[d] for d in kept]
    rank = len(shape)
    acc = em.filled(out_shape, 0.0)
    name = em.fresh("sum")
    iterators = ['"reduction"' if d in dims else '"parallel"' for d in range(rank)]
    em.emit("%s = linalg.generic {indexing_maps = [%s, %s], iterator_types = [%s]} ins(%s : %s) outs(%s : %s) {"
            % (name, _identity(rank), _affine(rank, ["d%d" % d for d in kept]), ", ".join(iterators),
               value, _ttype(shape), acc, _ttype(out_shape)))
    em.emit("^bb0(%a: f32, %acc: f32):")
    em.emit("  %sum = arith.addf %a, %acc : f32")
    em.emit("  linalg.yield %sum : f32")
    em.emit("} -> %s" % _ttype(out_shape))
    result = name
    if kind == "mean":
        count = math.prod(shape[d] for d in dims)
        result = em.elementwise([(name, out_shape)], out_shape,
                                lambda p, a: p("arith.mulf", a[0], em.scalar(1.0 / count)))
    if keep:
        keep_shape = [1 if d in dims else shape[d] for d in range(rank)]
        result = em.reshape(result, out_shape, keep_shape) if out_shape else result
        out_shape = keep_shape
    return result, out_shape


def _adaptive_windows(size, out):
    """torch's adaptive pooling windows: [floor(i*size/out), ceil((i+1)*size/out))."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def _adaptive_avgpool(em, node, module):
    x, x_shape = em.operand(node, node.args[0])
    if len(x_shape) != 4:
        raise ExportError("%s: AdaptiveAvgPool2d takes (N, C, H, W) inputs, got %d dimensions"
                          % (em.where(node), len(x_shape)))
    h, w = x_shape[2], x_shape[3]
    oh, ow = [d if s is None else s for s, d in zip(_pair(module.output_size), (h, w))]
    if (oh, ow) == (1, 1):
        result, _ = _reduce(em, x, x_shape, [2, 3], True, "mean")
        return result
    if h % oh == 0 and w % ow == 0:   # equal windows: an average pool
        return _pool(em, node, "avg", (h // oh, w // ow), (h // oh, w // ow), 0)
    # Overlapping or uneven windows: out[n, c, i, j] = sum over (a, b) of
    # x[n, c, a, b] * rows[i, a] * cols[j, b], with each weight matrix
    # holding 1 / window length inside the window.
    def weights(size, out):
        rows = []
        for start, end in _adaptive_windows(size, out):
            rows.append("[%s]" % ", ".join(_float(1.0 / (end - start)) if start <= k < end else "0.0"
                                           for k in range(size)))
        name = em.fresh("adaptive")
        em.emit("%s = arith.constant dense<[%s]> : %s" % (name, ", ".join(rows), _ttype([out, size])))
        return name
    rows, cols = weights(h, oh), weights(w, ow)
    out_shape = [x_shape[0], x_shape[1], oh, ow]
    acc = em.filled(out_shape, 0.0)
    name = em.fresh("pool")
    maps = [_affine(6, ["d0", "d1", "d4", "d5"]), _affine(6, ["d2", "d4"]), _affine(6, ["d3", "d5"]),
            _affine(6, ["d0", "d1", "d2", "d3"])]
    em.emit("%s = linalg.generic {indexing_maps = [%s], iterator_types = [%s]} ins(%s, %s, %s : %s, %s, %s) "
            "outs(%s : %s) {" % (name, ", ".join(maps), ", ".join(['"parallel"'] * 4 + ['"reduction"'] * 2),
                                x, rows, cols, _ttype(x_shape), _ttype([oh, h]), _ttype([ow, w]), acc,
                                _ttype(out_shape)))
    em.emit("^bb0(%x: f32, %r: f32, %c: f32, %acc: f32):")
    em.emit("  %rc = arith.mulf %r, %c : f32")
    em.emit("  %xrc = arith.mulf %x, %rc : f32")
    em.emit("  %sum = arith.addf %acc, %xrc : f32")
    em.emit("  linalg.yield %sum : f32")
    em.emit("} -> %s" % _ttype(out_shape))
    return name


def _flatten_value(em, node, x, shape, start, end):
    rank = len(shape)
    start, end = start % rank, end % rank
    new_shape = shape[:start] + [math.prod(shape[start:end + 1])] + shape[end + 1:]
    return em.reshape(x, shape, new_shape)


def _flatten_module(em, node, module):
    x, shape = em.operand(node, node.args[0])
    return _flatten_value(em, node, x, shape, module.start_dim, module.end_dim)


def _identity_module(em, node, module):
    if isinstance(module, nn.Dropout) and module.training and module.p > 0:
        raise ExportError("%s is in training mode with p=%g: ampc has no random number generator for "
                          "dropout; call module.eval() on it, or set p=0" % (em.where(node), module.p))
    x, _ = em.operand(node, node.args[0])
    return x


def _batchnorm(em, node, module):
    x, shape = em.operand(node, node.args[0])
    if not module.track_running_stats:
        raise ExportError("%s has no running statistics (track_running_stats=False): not supported yet"
                          % em.where(node))
    channels = shape[1]
    rank = len(shape)
    channel_map = _affine(rank, ["d1"])
    affine = []
    if module.affine:
        affine = [em.param(node.target + ".weight", module.weight),
                  em.param(node.target + ".bias", module.bias)]

    def normalize(p, a):
        # a: x, mean, invstd[, weight, bias]
        y = p("arith.mulf", p("arith.subf", a[0], a[1]), a[2])
        if module.affine:
            y = p("arith.addf", p("arith.mulf", y, a[3]), a[4])
        return y

    def vector(values):
        name = em.fresh("bn")
        em.emit("%s = arith.constant dense<[%s]> : %s"
                % (name, ", ".join(_float(v) for v in values), _ttype([channels])))
        return name

    if not module.training:
        # Eval mode: the running statistics, folded in as f32 constants.
        mean = module.running_mean.detach().float()
        invstd = torch.rsqrt(module.running_var.detach().float() + module.eps)
        ins = [(x, shape), (vector(mean.tolist()), [channels]), (vector(invstd.tolist()), [channels])]
        ins += [(v, [channels]) for v in affine]
        return em.elementwise(ins, shape, normalize, maps=[_identity(rank)] + [channel_map] * (len(ins) - 1))

    if module.momentum is None:
        raise ExportError("%s: momentum=None (a cumulative moving average) is not supported" % em.where(node))
    # Training mode: batch statistics over every dimension but the channels
    # (the biased variance normalizes, the unbiased one updates the running
    # variance), as torch.nn.functional.batch_norm computes them.
    dims = [d for d in range(rank) if d != 1]
    count = math.prod(shape) // channels
    if count < 2:
        raise ExportError("%s: training-mode batch norm needs more than one value per channel" % em.where(node))
    mean, _ = _reduce(em, x, shape, dims, False, "mean")
    centered = em.elementwise([(x, shape), (mean, [channels])], shape,
                              lambda p, a: p("arith.subf", a[0], a[1]), maps=[_identity(rank), channel_map])
    squares = em.elementwise([(centered, shape)], shape, lambda p, a: p("arith.mulf", a[0], a[0]))
    var, _ = _reduce(em, squares, shape, dims, False, "mean")
    eps = em.scalar(module.eps)
    invstd = em.elementwise([(var, [channels])], [channels],
                            lambda p, a: p("math.rsqrt", p("arith.addf", a[0], eps)))
    ins = [(x, shape), (mean, [channels]), (invstd, [channels])] + [(v, [channels]) for v in affine]
    y = em.elementwise(ins, shape, normalize, maps=[_identity(rank)] + [channel_map] * (len(ins) - 1))

    momentum = float(module.momentum)
    keep, take = em.scalar(1.0 - momentum), em.scalar(momentum)
    unbias = em.scalar(count / (count - 1.0))

    def running(stat, correct):
        def update(arg):
            def body(p, a):
                value = p("arith.mulf", a[1], unbias) if correct else a[1]
                return p("arith.addf", p("arith.mulf", a[0], keep), p("arith.mulf", value, take))
            return em.elementwise([(arg, [channels]), (stat, [channels])], [channels], body)
        return update

    def increment(arg):
        one, name = em.fresh("one"), em.fresh("nbt")
        em.emit("%s = arith.constant dense<1> : tensor<i64>" % one)
        em.emit("%s = arith.addi %s, %s : tensor<i64>" % (name, arg, one))
        return name

    em.buffer(node.target + ".running_mean", module.running_mean, running(mean, False))
    em.buffer(node.target + ".running_var", module.running_var, running(var, True))
    if module.num_batches_tracked is not None:
        em.buffer(node.target + ".num_batches_tracked", module.num_batches_tracked, increment)
    return y


def _layer_norm(em, node, module):
    x, shape = em.operand(node, node.args[0])
    return _layer_norm_value(em, node, x, shape, module, node.target)


def _layer_norm_value(em, node, x, shape, module, prefix):
    """torch.nn.LayerNorm: statistics over the trailing normalized_shape
    dims (biased variance), then the elementwise affine."""
    normalized = list(module.normalized_shape)
    if shape[len(shape) - len(normalized):] != normalized:
        raise ExportError("%s: normalized_shape %s is not the input's trailing shape %s"
                          % (em.where(node), normalized, shape))
    rank, k = len(shape), len(normalized)
    dims = list(range(rank - k, rank))
    rows = shape[:rank - k]
    row_map = _affine(rank, ["d%d" % d for d in range(rank - k)])
    mean, _ = _reduce(em, x, shape, dims, False, "mean")
    centered = em.elementwise([(x, shape), (mean, rows)], shape, lambda p, a: p("arith.subf", a[0], a[1]),
                              maps=[_identity(rank), row_map])
    squares = em.elementwise([(centered, shape)], shape, lambda p, a: p("arith.mulf", a[0], a[0]))
    var, _ = _reduce(em, squares, shape, dims, False, "mean")
    eps = em.scalar(module.eps)
    invstd = em.elementwise([(var, rows)], rows, lambda p, a: p("math.rsqrt", p("arith.addf", a[0], eps)))
    ins = [(centered, shape), (invstd, rows)]
    maps = [_identity(rank), row_map]
    if module.elementwise_affine:
        feature_map = _affine(rank, ["d%d" % d for d in dims])
        ins += [(em.param(prefix + ".weight", module.weight), normalized),
                (em.param(prefix + ".bias", module.bias), normalized)]
        maps += [feature_map, feature_map]

    def body(p, a):
        y = p("arith.mulf", a[0], a[1])
        if module.elementwise_affine:
            y = p("arith.addf", p("arith.mulf", y, a[2]), a[3])
        return y
    return em.elementwise(ins, shape, body, maps=maps)


def _softmax_value(em, node, dim, log):
    x, shape = em.operand(node, node.args[0])
    return _softmax_of(em, node, x, shape, dim, log)


def _softmax_of(em, node, x, shape, dim, log):
    """softmax / log_softmax over `dim`: max-shifted, as torch computes it."""
    if dim is None:
        raise ExportError("%s: softmax without dim= is not supported" % em.where(node))
    rank = len(shape)
    dim %= rank
    rest = [d for d in range(rank) if d != dim]
    rows = [shape[d] for d in rest]
    row_map = _affine(rank, ["d%d" % d for d in rest])
    # The max, as a reduction with maximumf from -inf.
    acc = em.filled(rows, -math.inf)
    top = em.fresh("max")
    iterators = ['"reduction"' if d == dim else '"parallel"' for d in range(rank)]
    em.emit("%s = linalg.generic {indexing_maps = [%s, %s], iterator_types = [%s]} ins(%s : %s) outs(%s : %s) {"
            % (top, _identity(rank), row_map, ", ".join(iterators), x, _ttype(shape), acc, _ttype(rows)))
    em.emit("^bb0(%a: f32, %acc: f32):")
    em.emit("  %m = arith.maximumf %a, %acc : f32")
    em.emit("  linalg.yield %m : f32")
    em.emit("} -> %s" % _ttype(rows))
    shifted = em.elementwise([(x, shape), (top, rows)], shape, lambda p, a: p("arith.subf", a[0], a[1]),
                             maps=[_identity(rank), row_map])
    exps = em.elementwise([(shifted, shape)], shape, lambda p, a: p("math.exp", a[0]))
    total, _ = _reduce(em, exps, shape, [dim], False, "sum")
    if log:
        return em.elementwise([(shifted, shape), (total, rows)], shape,
                              lambda p, a: p("arith.subf", a[0], p("math.log", a[1])),
                              maps=[_identity(rank), row_map])
    return em.elementwise([(exps, shape), (total, rows)], shape, lambda p, a: p("arith.divf", a[0], a[1]),
                          maps=[_identity(rank), row_map])


def _softmax_function(log):
    def handler(em, node):
        if node.kwargs.get("dtype") is not None or (len(node.args) > 3 and node.args[3] is not None):
            raise ExportError("%s: dtype= is not supported" % em.where(node))
        dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
        return _softmax_value(em, node, dim, log)
    return handler


def _cat(em, node):
    tensors = node.args[0]
    dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
    parts = [em.operand(node, t) for t in tensors]
    out_shape = em.shape(node)
    dim %= len(out_shape)
    name = em.fresh("cat")
    em.emit("%s = tensor.concat dim(%d) %s : (%s) -> %s"
            % (name, dim, ", ".join(v for v, _ in parts), ", ".join(_ttype(s) for _, s in parts),
               _ttype(out_shape)))
    return name


def _getitem(em, node):
    """Basic slicing: ints, slices with steps and Ellipsis."""
    x, shape = em.operand(node, node.args[0])
    index = node.args[1]
    if not isinstance(index, tuple):
        index = (index,)
    if any(isinstance(i, torch.fx.Node) or i is None for i in index):
        raise ExportError("%s: indexing with tensors or None is not supported" % em.where(node))
    if Ellipsis in index:
        at = index.index(Ellipsis)
        index = index[:at] + (slice(None),) * (len(shape) - len(index) + 1) + index[at + 1:]
    index = tuple(index) + (slice(None),) * (len(shape) - len(index))
    offsets, sizes, strides, kept = [], [], [], []
    for d, (i, size) in enumerate(zip(index, shape)):
        if isinstance(i, int):
            i %= size
            offsets.append(i), sizes.append(1), strides.append(1)
        elif isinstance(i, slice):
            start, stop, step = i.indices(size)
            if step <= 0:
                raise ExportError("%s: negative slice steps are not supported" % em.where(node))
            offsets.append(start), sizes.append(max(0, (stop - start + step - 1) // step)), strides.append(step)
            kept.append(d)
        else:
            raise ExportError("%s: index %r is not supported" % (em.where(node), i))
    out_shape = em.shape(node)
    name = em.fresh("slice")
    em.emit("%s = tensor.extract_slice %s[%s] [%s] [%s] : %s to %s"
            % (name, x, ", ".join(map(str, offsets)), ", ".join(map(str, sizes)), ", ".join(map(str, strides)),
               _ttype(shape), _ttype(sizes)))
    return em.reshape(name, sizes, out_shape)


def _dropout_function(em, node):
    training = node.args[2] if len(node.args) > 2 else node.kwargs.get("training", True)
    p = node.args[1] if len(node.args) > 1 else node.kwargs.get("p", 0.5)
    if training and p > 0:
        raise ExportError("%s runs in training mode with p=%g: ampc has no random number generator "
                          "for dropout; pass training=False, or p=0" % (em.where(node), p))
    return em.operand(node, node.args[0])[0]


def _embedding(em, node, module):
    """out[..., d] = weight[index[...], d]: a gather the backward scatters."""
    arg = node.args[0]
    if not isinstance(arg, torch.fx.Node) or arg not in em.index_values:
        raise ExportError("%s: the indices must be an int64 input of the model" % em.where(node))
    if module.padding_idx is not None or module.max_norm is not None or module.sparse:
        raise ExportError("%s: padding_idx, max_norm and sparse are not supported" % em.where(node))
    idx, idx_shape = em.values[arg]
    w = em.param(node.target + ".weight", module.weight)
    out_shape = em.shape(node)
    rank = len(out_shape)
    out = em.empty(out_shape)
    name = em.fresh("emb")
    em.emit("%s = linalg.generic {indexing_maps = [%s, %s], iterator_types = [%s]} ins(%s : %s) outs(%s : %s) {"
            % (name, _affine(rank, ["d%d" % d for d in range(rank - 1)]), _identity(rank),
               ", ".join(['"parallel"'] * rank), idx, _ttype(idx_shape, "i64"), out, _ttype(out_shape)))
    em.emit("^bb0(%i: i64, %o: f32):")
    em.emit("  %row = arith.index_cast %i : i64 to index")
    em.emit("  %%col = linalg.index %d : index" % (rank - 1))
    em.emit("  %%v = tensor.extract %s[%%row, %%col] : %s" % (w, _ttype(list(module.weight.shape))))
    em.emit("  linalg.yield %v : f32")
    em.emit("} -> %s" % _ttype(out_shape))
    return name


def _batch_matmul(em, a, a_shape, b, b_shape):
    out_shape = [a_shape[0], a_shape[1], b_shape[2]]
    acc = em.filled(out_shape, 0.0)
    name = em.fresh("bmm")
    em.emit("%s = linalg.batch_matmul ins(%s, %s : %s, %s) outs(%s : %s) -> %s"
            % (name, a, b, _ttype(a_shape), _ttype(b_shape), acc, _ttype(out_shape), _ttype(out_shape)))
    return name, out_shape


def _self_attention(em, node, x, shape, module, prefix):
    """nn.MultiheadAttention(x, x, x) without masks, as
    F.multi_head_attention_forward computes it: one in-projection, per-head
    softmax(q k^T / sqrt(d)) v, the out-projection. Returns (N, L, E) for a
    (N, L, E) input (batch_first) or (L, N, E) otherwise."""
    if not module._qkv_same_embed_dim or module.bias_k is not None or module.add_zero_attn:
        raise ExportError("%s: separate q/k/v projections, bias_k/bias_v and add_zero_attn are not "
                          "supported" % em.where(node))
    if module.dropout > 0 and module.training:
        raise ExportError("%s: attention dropout in training mode is not supported (no random number "
                          "generator)" % em.where(node))
    if not module.batch_first:
        x, shape = em.transpose(x, shape, [1, 0, 2])
    n, length, embed = shape
    heads = module.num_heads
    d = embed // heads
    w = em.param(prefix + ".in_proj_weight", module.in_proj_weight)
    b = em.param(prefix + ".in_proj_bias", module.in_proj_bias) if module.in_proj_bias is not None else None
    qkv = _linear_value(em, node, x, shape, w, 3 * embed, embed, b)

    def head(i):
        part = em.fresh("qkv")
        em.emit("%s = tensor.extract_slice %s[0, 0, %d] [%d, %d, %d] [1, 1, 1] : %s to %s"
                % (part, qkv, i * embed, n, length, embed, _ttype([n, length, 3 * embed]),
                   _ttype([n, length, embed])))
        split = em.reshape(part, [n, length, embed], [n, length, heads, d])
        moved, _ = em.transpose(split, [n, length, heads, d], [0, 2, 1, 3])
        return em.reshape(moved, [n, heads, length, d], [n * heads, length, d])

    q, k, v = head(0), head(1), head(2)
    scale = em.scalar(1.0 / math.sqrt(d))
    q = em.elementwise([(q, [n * heads, length, d])], [n * heads, length, d],
                       lambda p, a: p("arith.mulf", a[0], scale))
    kt, kt_shape = em.transpose(k, [n * heads, length, d], [0, 2, 1])
    scores, scores_shape = _batch_matmul(em, q, [n * heads, length, d], kt, kt_shape)
    weights = _softmax_of(em, node, scores, scores_shape, -1, False)
    mixed, mixed_shape = _batch_matmul(em, weights, scores_shape, v, [n * heads, length, d])
    split = em.reshape(mixed, mixed_shape, [n, heads, length, d])
    moved, _ = em.transpose(split, [n, heads, length, d], [0, 2, 1, 3])
    merged = em.reshape(moved, [n, length, heads, d], [n, length, embed])
    ow = em.param(prefix + ".out_proj.weight", module.out_proj.weight)
    ob = em.param(prefix + ".out_proj.bias", module.out_proj.bias) if module.out_proj.bias is not None else None
    out = _linear_value(em, node, merged, [n, length, embed], ow, embed, embed, ob)
    if not module.batch_first:
        out, _ = em.transpose(out, [n, length, embed], [1, 0, 2])
    return out


def _multihead_attention(em, node, module):
    query, key, value = (node.args + (None, None, None))[:3]
    key = key if key is not None else node.kwargs.get("key")
    value = value if value is not None else node.kwargs.get("value")
    if not (query is key is value):
        raise ExportError("%s: only self-attention (query is key is value) is supported" % em.where(node))
    for name in ("key_padding_mask", "attn_mask"):
        if node.kwargs.get(name) is not None:
            raise ExportError("%s: %s is not supported" % (em.where(node), name))
    x, shape = em.operand(node, query)
    out = _self_attention(em, node, x, shape, module, node.target)
    em.tuples[node] = (out, shape)
    return None


def _transformer_encoder_layer(em, node, module):
    """nn.TransformerEncoderLayer (traced as one module: torch 1.13's fast
    path branches on its inputs), post- or pre-norm, relu or gelu, without
    masks and with its dropouts off."""
    if len(node.args) > 1 or any(node.kwargs.get(k) is not None for k in ("src_mask", "src_key_padding_mask")):
        raise ExportError("%s: masks are not supported" % em.where(node))
    if module.training and any(m.p > 0 for m in (module.dropout, module.dropout1, module.dropout2)):
        raise ExportError("%s is in training mode with dropout > 0: no random number generator; build it "
                          "with dropout=0.0 or call .eval()" % em.where(node))
    activation = module.activation
    kind = {F.relu: "relu", F.gelu: "gelu"}.get(activation)
    if kind is None:
        kind = "relu" if isinstance(activation, nn.ReLU) else "gelu" if isinstance(activation, nn.GELU) else None
    if kind is None:
        raise ExportError("%s: activation %r is not supported (relu or gelu)" % (em.where(node), activation))
    x, shape = em.operand(node, node.args[0])
    prefix = node.target
    embed = shape[-1]

    def add(a, b_):
        return em.elementwise([(a, shape), (b_, shape)], shape, lambda p, v: p("arith.addf", v[0], v[1]))

    def attention(v):
        return _self_attention(em, node, v, shape, module.self_attn, prefix + ".self_attn")

    def feed_forward(v):
        hidden = module.linear1.out_features
        h = _linear_value(em, node, v, shape, em.param(prefix + ".linear1.weight", module.linear1.weight),
                          hidden, embed, em.param(prefix + ".linear1.bias", module.linear1.bias))
        hshape = list(shape[:-1]) + [hidden]
        h = em.elementwise([(h, hshape)], hshape, lambda p, a: _activation(kind)(em, p, a[0]))
        return _linear_value(em, node, h, hshape, em.param(prefix + ".linear2.weight", module.linear2.weight),
                             embed, hidden, em.param(prefix + ".linear2.bias", module.linear2.bias))

    def norm(v, which):
        return _layer_norm_value(em, node, v, shape, getattr(module, which), prefix + "." + which)

    if module.norm_first:
        x = add(x, attention(norm(x, "norm1")))
        return add(x, feed_forward(norm(x, "norm2")))
    x = norm(add(x, attention(x)), "norm1")
    return norm(add(x, feed_forward(x)), "norm2")


_MODULES = {
    nn.Embedding: _embedding,
    nn.MultiheadAttention: _multihead_attention,
    nn.TransformerEncoderLayer: _transformer_encoder_layer,
    nn.Linear: _linear,
    nn.Conv2d: _conv2d,
    nn.ReLU: _activation_module("relu"),
    nn.ReLU6: _activation_module("relu6"),
    nn.LayerNorm: lambda em, node, module: _layer_norm(em, node, module),
    nn.Softmax: lambda em, node, module: _softmax_value(em, node, module.dim, False),
    nn.LogSoftmax: lambda em, node, module: _softmax_value(em, node, module.dim, True),
    nn.LeakyReLU: _activation_module("leaky_relu"),
    nn.Sigmoid: _activation_module("sigmoid"),
    nn.Tanh: _activation_module("tanh"),
    nn.SiLU: _activation_module("silu"),
    nn.GELU: _activation_module("gelu"),
    nn.Hardsigmoid: _activation_module("hardsigmoid"),
    nn.Hardswish: _activation_module("hardswish"),
    nn.MaxPool2d: _maxpool,
    nn.AvgPool2d: _avgpool,
    nn.AdaptiveAvgPool2d: _adaptive_avgpool,
    nn.Flatten: _flatten_module,
    nn.Dropout: _identity_module,
    nn.Identity: _identity_module,
    nn.BatchNorm1d: _batchnorm,
    nn.BatchNorm2d: _batchnorm,
}


# -- functions and methods -------------------------------------------------------

def _binary(kind):
    ops = {"add": "arith.addf", "sub": "arith.subf", "mul": "arith.mulf", "div": "arith.divf"}

    def handler(em, node):
        out_shape = em.shape(node)
        lhs, rhs = node.args[0], node.args[1]
        if node.kwargs.get("alpha") not in (None, 1):
            raise ExportError("%s: alpha is not supported" % em.where(node))
        inputs, names = [], []
        for arg in (lhs, rhs):
            if isinstance(arg, torch.fx.Node):
                inputs.append(em.operand(node, arg))
                names.append(None)
            elif isinstance(arg, (int, float)):
                names.append(em.scalar(arg))
            else:
                raise ExportError("%s: operand %r is not a tensor or a number" % (em.where(node), arg))
        if not inputs:
            raise ExportError("%s: no tensor operand" % em.where(node))

        def body(p, a):
            it = iter(a)
            operands = [next(it) if n is None else n for n in names]
            return p(ops[kind], operands[0], operands[1])
        return em.elementwise(inputs, out_shape, body)
    return handler


def _flatten_function(em, node):
    x, shape = em.operand(node, node.args[0])
    start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
    end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
    return _flatten_value(em, node, x, shape, start, end)


def _view(em, node):
    x, shape = em.operand(node, node.args[0])
    return em.reshape(x, shape, em.shape(node))


def _permute(em, node):
    x, shape = em.operand(node, node.args[0])
    dims = node.args[1:] if not isinstance(node.args[1], (tuple, list)) else node.args[1]
    perm = [d % len(shape) for d in dims]
    return em.transpose(x, shape, perm)[0]


def _transpose(em, node):
    x, shape = em.operand(node, node.args[0])
    a, b = node.args[1] % len(shape), node.args[2] % len(shape)
    perm = list(range(len(shape)))
    perm[a], perm[b] = perm[b], perm[a]
    return em.transpose(x, shape, perm)[0]


def _contiguous(em, node):
    return em.operand(node, node.args[0])[0]


def _sum_or_mean(kind):
    def handler(em, node):
        x, shape = em.operand(node, node.args[0])
        dims = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim")
        keep = node.args[2] if len(node.args) > 2 else node.kwargs.get("keepdim", False)
        if node.kwargs.get("dtype") is not None:
            raise ExportError("%s: dtype= is not supported" % em.where(node))
        if dims is None:
            dims = list(range(len(shape)))
        elif isinstance(dims, int):
            dims = [dims]
        result, _ = _reduce(em, x, shape, list(dims), keep, kind)
        return result
    return handler


def _arg(node, index, name, default):
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def _max_pool_function(em, node):
    if _arg(node, 6, "return_indices", False):
        raise ExportError("%s: return_indices=True is not supported" % em.where(node))
    return _pool(em, node, "max", _arg(node, 1, "kernel_size", None), _arg(node, 2, "stride", None),
                 _arg(node, 3, "padding", 0), _arg(node, 4, "dilation", 1), _arg(node, 5, "ceil_mode", False))


def _avg_pool_function(em, node):
    if _arg(node, 6, "divisor_override", None) is not None:
        raise ExportError("%s: divisor_override is not supported" % em.where(node))
    return _pool(em, node, "avg", _arg(node, 1, "kernel_size", None), _arg(node, 2, "stride", None),
                 _arg(node, 3, "padding", 0), 1, _arg(node, 4, "ceil_mode", False),
                 _arg(node, 5, "count_include_pad", True))


def _adaptive_avg_pool_function(em, node):
    return _adaptive_avgpool(em, node, nn.AdaptiveAvgPool2d(_arg(node, 1, "output_size", None)))


_FUNCTIONS = {
    F.linear: _linear_function,
    F.relu6: _activation_function("relu6"),
    F.softmax: _softmax_function(False), torch.softmax: _softmax_function(False),
    ("method", "softmax"): _softmax_function(False),
    F.log_softmax: _softmax_function(True), torch.log_softmax: _softmax_function(True),
    ("method", "log_softmax"): _softmax_function(True),
    torch.cat: _cat, torch.concat: _cat,
    operator.getitem: _getitem,
    F.dropout: _dropout_function,
    F.max_pool2d: _max_pool_function, F.avg_pool2d: _avg_pool_function,
    F.adaptive_avg_pool2d: _adaptive_avg_pool_function,
    operator.add: _binary("add"), torch.add: _binary("add"), ("method", "add"): _binary("add"),
    operator.sub: _binary("sub"), torch.sub: _binary("sub"), ("method", "sub"): _binary("sub"),
    operator.mul: _binary("mul"), torch.mul: _binary("mul"), ("method", "mul"): _binary("mul"),
    operator.truediv: _binary("div"), torch.div: _binary("div"), ("method", "div"): _binary("div"),
    torch.relu: _activation_function("relu"), F.relu: _activation_function("relu"),
    ("method", "relu"): _activation_function("relu"),
    F.leaky_relu: _activation_function("leaky_relu"),
    torch.sigmoid: _activation_function("sigmoid"), ("method", "sigmoid"): _activation_function("sigmoid"),
    torch.tanh: _activation_function("tanh"), ("method", "tanh"): _activation_function("tanh"),
    F.silu: _activation_function("silu"), F.gelu: _activation_function("gelu"),
    F.hardsigmoid: _activation_function("hardsigmoid"), F.hardswish: _activation_function("hardswish"),
    torch.flatten: _flatten_function, ("method", "flatten"): _flatten_function,
    ("method", "view"): _view, ("method", "reshape"): _view, torch.reshape: _view,
    ("method", "permute"): _permute, torch.permute: _permute,
    ("method", "transpose"): _transpose, torch.transpose: _transpose,
    ("method", "contiguous"): _contiguous,
    torch.sum: _sum_or_mean("sum"), ("method", "sum"): _sum_or_mean("sum"),
    torch.mean: _sum_or_mean("mean"), ("method", "mean"): _sum_or_mean("mean"),
}


class Exported:
    """What export() made: `text` (the MLIR), the state_dict names of the
    `params` and `buffers` the function takes (in argument order, after the
    `num_inputs` inputs)."""

    def __init__(self, text, params, buffers, num_inputs, param_arguments):
        self.text, self.params, self.buffers, self.num_inputs = text, params, buffers, num_inputs
        # The argument number of each param (amp-differentiate's params=).
        self.param_arguments = param_arguments

    def __str__(self):
        return self.text


def export(module, example_inputs, name="forward"):
    """The forward of `module` on inputs shaped like `example_inputs` (a
    tensor or a tuple of tensors), as MLIR: one `func.func @<name>` taking
    the inputs, then every parameter it reads (state_dict names in
    `amp.name`) and, for BatchNorm in training mode, its running statistics
    (role `buffer`, returned updated after the output). Returns an
    Exported."""
    if not isinstance(module, nn.Module):
        raise ExportError("export takes an nn.Module, got %s" % type(module).__name__)
    if isinstance(example_inputs, torch.Tensor):
        example_inputs = (example_inputs,)
    example_inputs = tuple(example_inputs)
    emitter = _Emitter(module, example_inputs)
    with torch.no_grad():
        result, shape = emitter.run()
    return Exported(emitter.text(name, result, shape), list(emitter.params), list(emitter.buffers),
                    len(example_inputs), [emitter.param_index[p] for p in emitter.params])
