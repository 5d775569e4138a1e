"""Import: a captured graph of ATen ops as MLIR text in the aten dialect.

One table entry per ATen overload says which aten op it becomes, which
schema arguments are its tensor operands and which its attributes; the
semantics live in convert-aten-to-linalg (C++, lit-tested), not here. Each
op carries loc("module.path"("file.py":line:col)) of the model line that
made it. What the importer does itself: values that depend on no input,
parameter or random number are computed here with torch and become
constants (masks and position indices built in forward, read-only buffers);
buffers the forward updates become step state; random ops draw from one
random-number state argument, each in its own stream."""
import math
import operator

import torch
import torch.fx
from torch.fx.passes.shape_prop import TensorMetadata

from .errors import ExportError

_DTYPES = {torch.float32: "f32", torch.int64: "i64", torch.int32: "i32", torch.bool: "i1"}
_NUMPY_DTYPES = {torch.float32: "<f4", torch.int64: "<i8", torch.int32: "<i4", torch.bool: "|b1"}


def tensor_type(shape, dtype):
    elt = _DTYPES[dtype]
    if not shape:
        return "tensor<%s>" % elt
    return "tensor<%sx%s>" % ("x".join(str(d) for d in shape), elt)


def _float(value):
    value = float(value)
    if math.isnan(value):
        return "0x7FF8000000000000"
    if math.isinf(value):
        return "0x7FF0000000000000" if value > 0 else "0xFFF0000000000000"
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + ("e" + exponent if exponent else "")


def _float32(value):
    """An f32 literal: non-finite values as f32 bit patterns."""
    value = float(value)
    if math.isnan(value):
        return "0x7FC00000"
    if math.isinf(value):
        return "0x7F800000" if value > 0 else "0xFF800000"
    return _float(value)


def _nested(values):
    """A nested list of bools as an MLIR dense literal."""
    if isinstance(values, list):
        return "[%s]" % ", ".join(_nested(v) for v in values)
    return "true" if values else "false"


def _string(value):
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


class Value:
    """An SSA value of the function: its name, shape and torch dtype."""

    def __init__(self, name, shape, dtype):
        self.name, self.shape, self.dtype = name, list(shape), dtype

    @property
    def type(self):
        return tensor_type(self.shape, self.dtype)


class Const:
    """A tensor computed at import time (depends on no input or parameter)."""

    def __init__(self, tensor):
        self.tensor = tensor


# -- attribute kinds ----------------------------------------------------------

def i64(v):
    return "%d : i64" % int(v)


def f64(v):
    return "%s : f64" % _float(v)


def boolean(v):
    return "true" if v else "false"


def i64s(v):
    return "array<i64%s>" % "".join((": " if i == 0 else ", ") + str(int(x)) for i, x in enumerate(v))


# -- the op table ---------------------------------------------------------------

class Op:
    """ATen overload -> `aten.<name>`: `operands` are schema argument names
    (a name ending in '?' may be None), `attrs` map attribute names to
    functions of (importer, node, args) returning attribute text or None
    (left out), `segments` marks ops whose optional operands need
    operandSegmentSizes."""

    def __init__(self, name, operands, attrs=None, segments=False, scalar_dtype=None):
        self.name, self.operands, self.attrs, self.segments = name, operands, attrs or {}, segments
        self.scalar_dtype = scalar_dtype

    def emit(self, im, node, args):
        operands, sizes = [], []
        for spec in self.operands:
            optional = spec.endswith("?")
            value = args[spec.rstrip("?")]
            if value is None and optional:
                sizes.append(0)
                continue
            if isinstance(value, (list, tuple)):
                operands.extend(im.operand(node, v) for v in value)
                sizes.append(len(value))
            else:
                operands.append(im.operand(node, value, self.scalar_type(node, args)))
                sizes.append(1)
        attrs = {}
        for name, make in self.attrs.items():
            text = make(im, node, args)
            if text is not None:
                attrs[name] = text
        if self.segments:
            attrs["operandSegmentSizes"] = "array<i32: %s>" % ", ".join(str(s) for s in sizes)
        return im.op(node, self.name, operands, attrs)

    def scalar_type(self, node, args):
        """The dtype a Python number operand takes: the result's, or for
        comparisons (bool results) the tensor operand's."""
        meta = node.meta.get("tensor_meta")
        out = meta.dtype if isinstance(meta, TensorMetadata) else None
        if out is not None and out != torch.bool:
            return out
        # A comparison: the type PyTorch compares in (ids < 2.5 in float).
        tensor, number = None, None
        for spec in self.operands:
            value = args.get(spec.rstrip("?"))
            if isinstance(value, torch.fx.Node) and isinstance(value.meta.get("tensor_meta"), TensorMetadata):
                tensor = value.meta["tensor_meta"].dtype
            elif isinstance(value, (bool, int, float)):
                number = value
        if tensor is None:
            return torch.float32
        if number is None:
            return tensor
        return torch.result_type(torch.empty((), dtype=tensor), number)


def arg(name, kind, default=None):
    """An attribute read from schema argument `name` (None -> `default`,
    or left out when that is None too)."""
    def make(im, node, args):
        value = args.get(name)
        if value is None:
            value = default
        return None if value is None else kind(value)
    return make


def dim(name="dim"):
    """A dimension argument, made non-negative."""
    def make(im, node, args):
        return i64(im.dim(node, args[name], im.rank(args["self" if "self" in args else "input"])))
    return make


def dims(name="dim"):
    """A list of dimensions (None or [] = all), made non-negative and sorted."""
    def make(im, node, args):
        rank = im.rank(args["self"])
        value = args.get(name)
        if value is None or list(value) == []:
            return i64s([])
        if isinstance(value, int):
            value = [value]
        return i64s(sorted(im.dim(node, d, rank) for d in value))
    return make


def pair(name, default=None):
    """A 2-D pooling argument: one number for both dims, or [] (default)."""
    def make(im, node, args):
        value = args.get(name)
        if value is None or (isinstance(value, (list, tuple)) and len(value) == 0):
            value = args[default] if isinstance(default, str) else default
        if isinstance(value, int):
            value = [value]
        value = list(value)
        return i64s(value * 2 if len(value) == 1 else value)
    return make


def const(text):
    return lambda im, node, args: text


_UNARY = ["relu", "sigmoid", "tanh", "silu", "hardswish", "hardsigmoid", "neg", "exp", "log", "sqrt",
          "rsqrt", "abs", "erf", "reciprocal", "sin", "cos"]
_BINARY = ["mul", "div", "eq", "ne", "lt", "le", "gt", "ge"]

OPS = {}
for _name in _UNARY:
    OPS["aten.%s.default" % _name] = Op(_name, ["self"])
for _name in _BINARY:
    OPS["aten.%s.Tensor" % _name] = Op(_name, ["self", "other"])
    OPS["aten.%s.Scalar" % _name] = Op(_name, ["self", "other"])
OPS["aten.maximum.default"] = Op("maximum", ["self", "other"])
OPS["aten.minimum.default"] = Op("minimum", ["self", "other"])
OPS["aten.logical_and.default"] = Op("logical_and", ["self", "other"])
OPS["aten.logical_or.default"] = Op("logical_or", ["self", "other"])
OPS["aten.logical_not.default"] = Op("logical_not", ["self"])
for _name in ("add", "sub"):
    OPS["aten.%s.Tensor" % _name] = Op(_name, ["self", "other"], {"alpha": arg("alpha", f64)})
    OPS["aten.%s.Scalar" % _name] = Op(_name, ["self", "other"], {"alpha": arg("alpha", f64)})
OPS.update({
    "aten.gelu.default": Op("gelu", ["self"], {"approximate": arg("approximate", _string, "none")}),
    "aten.leaky_relu.default": Op("leaky_relu", ["self"], {"negative_slope": arg("negative_slope", f64)}),
    "aten.hardtanh.default": Op("hardtanh", ["self"], {"min_val": arg("min_val", f64),
                                                       "max_val": arg("max_val", f64)}),
    "aten.clamp.default": Op("clamp", ["self"], {"min": arg("min", f64), "max": arg("max", f64)}),
    "aten.clamp_min.default": Op("clamp", ["self"], {"min": arg("min", f64)}),
    "aten.clamp_max.default": Op("clamp", ["self"], {"max": arg("max", f64)}),
    "aten.elu.default": Op("elu", ["self"], {"alpha": arg("alpha", f64), "scale": arg("scale", f64),
                                             "input_scale": arg("input_scale", f64)}),
    "aten.softplus.default": Op("softplus", ["self"], {"beta": arg("beta", f64),
                                                       "threshold": arg("threshold", f64)}),
    "aten.pow.Tensor_Scalar": Op("pow.Tensor_Scalar", ["self"], {"exponent": arg("exponent", f64)}),
    "aten.pow.Tensor_Tensor": Op("pow.Tensor_Tensor", ["self", "exponent"]),
    "aten.where.self": Op("where", ["condition", "self", "other"]),
    "aten.masked_fill.Scalar": Op("masked_fill", ["self", "mask", "value"]),
    "aten.masked_fill.Tensor": Op("masked_fill", ["self", "mask", "value"]),
    "aten.mm.default": Op("mm", ["self", "mat2"]),
    "aten.bmm.default": Op("bmm", ["self", "mat2"]),
    "aten.addmm.default": Op("addmm", ["self", "mat1", "mat2"], {"beta": arg("beta", f64),
                                                                 "alpha": arg("alpha", f64)}),
    "aten.baddbmm.default": Op("baddbmm", ["self", "batch1", "batch2"],
                               {"beta": arg("beta", f64), "alpha": arg("alpha", f64)}),
    "aten.convolution.default": Op("convolution", ["input", "weight", "bias?"], {
        "stride": arg("stride", i64s), "padding": arg("padding", i64s), "dilation": arg("dilation", i64s),
        "transposed": arg("transposed", boolean), "output_padding": arg("output_padding", i64s),
        "groups": arg("groups", i64)}),
    "aten.native_layer_norm.default": Op("native_layer_norm", ["input", "weight?", "bias?"], {
        "normalized_shape": arg("normalized_shape", i64s), "eps": arg("eps", f64)}, segments=True),
    "aten.native_group_norm.default": Op("native_group_norm", ["input", "weight?", "bias?"], {
        "group": arg("group", i64), "eps": arg("eps", f64)}, segments=True),
    "aten._softmax.default": Op("_softmax", ["self"], {"dim": dim()}),
    "aten._log_softmax.default": Op("_log_softmax", ["self"], {"dim": dim()}),
    "aten.sum.dim_IntList": Op("sum", ["self"], {"dim": dims(), "keepdim": arg("keepdim", boolean)}),
    "aten.sum.default": Op("sum", ["self"], {"dim": const(i64s([]))}),
    "aten.mean.dim": Op("mean", ["self"], {"dim": dims(), "keepdim": arg("keepdim", boolean)}),
    "aten.mean.default": Op("mean", ["self"], {"dim": const(i64s([]))}),
    "aten.amax.default": Op("amax", ["self"], {"dim": dims(), "keepdim": arg("keepdim", boolean)}),
    "aten.amin.default": Op("amin", ["self"], {"dim": dims(), "keepdim": arg("keepdim", boolean)}),
    "aten.var.correction": Op("var", ["self"], {"dim": dims(), "keepdim": arg("keepdim", boolean),
                                                "correction": arg("correction", f64, 1)}),
    "aten.avg_pool2d.default": Op("avg_pool2d", ["self"], {
        "kernel_size": pair("kernel_size"), "stride": pair("stride", "kernel_size"),
        "padding": pair("padding", 0), "ceil_mode": arg("ceil_mode", boolean),
        "count_include_pad": arg("count_include_pad", boolean),
        "divisor_override": arg("divisor_override", i64)}),
    "aten._adaptive_avg_pool2d.default": Op("_adaptive_avg_pool2d", ["self"]),
    "aten.embedding.default": Op("embedding", ["weight", "indices"], {"padding_idx": arg("padding_idx", i64)}),
    "aten.constant_pad_nd.default": Op("constant_pad_nd", ["self"], {"pad": arg("pad", i64s),
                                                                      "value": arg("value", f64, 0.0)}),
    "aten.cat.default": Op("cat", ["tensors"], {"dim": lambda im, n, a: i64(im.dim(n, a["dim"], im.rank(a["tensors"][0])))}),
    "aten.stack.default": Op("stack", ["tensors"], {"dim": lambda im, n, a: i64(im.dim(n, a["dim"], im.rank(a["tensors"][0]) + 1))}),
    "aten.flip.default": Op("flip", ["self"], {"dims": dims("dims")}),
})
# Reshapes of every kind: the result type holds the shape.
for _name in ("view.default", "_unsafe_view.default", "_reshape_alias.default", "reshape.default",
              "squeeze.dim", "squeeze.default", "unsqueeze.default", "flatten.using_ints",
              "view_copy.default", "squeeze.dims"):
    OPS["aten." + _name] = Op("view", ["self"])
for _name in ("expand.default", "expand_copy.default"):
    OPS["aten." + _name] = Op("expand", ["self"])

# aten ops whose lowering computes in floating point only.
FLOAT_OPS = set(_UNARY) | {
    "gelu", "leaky_relu", "hardtanh", "elu", "softplus", "pow.Tensor_Scalar", "pow.Tensor_Tensor",
    "mm", "addmm", "bmm", "baddbmm", "convolution", "native_batch_norm",
    "native_layer_norm", "native_group_norm", "_softmax", "_log_softmax", "mean", "amax", "amin", "var",
    "max_pool2d", "avg_pool2d", "_adaptive_avg_pool2d", "upsample_nearest2d", "upsample_bilinear2d"}

# Ops that are the identity on values.
IDENTITY = {"aten.clone.default", "aten.alias.default", "aten.lift_fresh_copy.default",
            "aten.contiguous.default", "aten.lift_fresh.default"}
# Ops whose result does not depend on their tensor operands' values.
SHAPE_ONLY = {"aten.empty_like.default", "aten.zeros_like.default", "aten.ones_like.default",
              "aten.full_like.default", "aten.new_zeros.default", "aten.new_ones.default",
              "aten.new_full.default", "aten.new_empty.default", "aten.new_empty_strided.default"}
# Random ops are never evaluated at import (that would freeze one draw):
# anything taking a Generator, or named like a sampler.
_SAMPLERS = {"rand", "randn", "randint", "randperm", "bernoulli", "normal", "uniform", "multinomial",
             "poisson", "exponential", "geometric", "cauchy", "log_normal", "random", "native_dropout",
             "dropout", "rrelu", "feature_dropout", "alpha_dropout"}


def is_random(target):
    schema = target._schema
    if any("Generator" in str(a.type) for a in schema.arguments):
        return True
    base = schema.name.split("::")[-1]
    for suffix in ("_functional", "_like", "_"):
        if base.endswith(suffix):
            base = base[:-len(suffix)]
    return base in _SAMPLERS


def bind(node):
    """The node's arguments by schema name, defaults filled in."""
    schema = node.target._schema
    args = {}
    for i, a in enumerate(schema.arguments):
        if i < len(node.args) and not a.kwarg_only:
            args[a.name] = node.args[i]
        elif a.name in node.kwargs:
            args[a.name] = node.kwargs[a.name]
        elif a.has_default_value():
            args[a.name] = a.default_value
        else:
            args[a.name] = None
    return args


def _all_nodes(value):
    out = []
    torch.fx.node.map_arg(value, out.append)
    return out


class Importer:
    """Writes the captured forward as one func.func in the aten dialect."""

    def __init__(self, captured, name):
        self.captured = captured
        self.name = name
        self.lines = []
        self.values = {}          # fx node -> Value | Const | tuple | python value
        self.count = 0
        self.arguments = []       # (Value, attrs)
        self.params = []          # state_dict names, argument order
        self.buffers = []         # state_dict names of updated buffers
        self.buffer_updates = {}  # buffer name -> Value (latest)
        self.constants = {}       # id of Const -> (Const, Value)
        self.scalars = {}         # (type, number, dtype) -> Const
        self.streams = 0
        self.rng = None
        self.rng_name = "rng_state"

    # -- locations and errors -------------------------------------------------

    def where(self, node):
        module = node.meta.get("ampc_module") or ""
        source = node.meta.get("ampc_source")
        text = "'%s'" % str(node.target)
        if module:
            text += " in module '%s'" % module
        if source:
            text += " at %s:%d" % (source[0], source[1])
        return text

    def location(self, node):
        source = node.meta.get("ampc_source")
        module = node.meta.get("ampc_module") or ""
        if source:
            inner = "%s:%d:%d" % (_string(source[0]), source[1], max(source[2], 1) if source[2] else 0)
        else:
            inner = "unknown"
        if module:
            return "loc(%s(%s))" % (_string(module), inner)
        return "loc(%s)" % inner

    def error(self, node, message):
        return ExportError("%s: %s" % (self.where(node), message))

    # -- values -------------------------------------------------------------

    def fresh(self):
        self.count += 1
        return "%%v%d" % self.count

    def meta(self, node):
        """The node's TensorMetadata, or a list of them for several results
        (make_fx records those on the getitem nodes that read them)."""
        meta = node.meta.get("tensor_meta")
        if meta is not None:
            return meta
        items = {}
        for user in node.users:
            if user.target is operator.getitem and user.meta.get("tensor_meta") is not None:
                items[user.args[1]] = user.meta["tensor_meta"]
        if not items:
            raise self.error(node, "produces no tensor ampc can type")
        if str(node.target).startswith(("aten.split", "aten.unsafe_split", "aten.unbind")):
            # Pieces nobody reads have no getitem: their types come from the sizes.
            return [items.get(i) or self.piece_meta(node, i) for i in range(len(self.split_sizes(node)))]
        count = max(items) + 1
        if len(items) != count:
            raise self.error(node, "internal: the types of results %s are unknown"
                             % [i for i in range(count) if i not in items])
        return [items[i] for i in range(count)]

    def split_sizes(self, node):
        """The pieces' sizes of a split or unbind, from the operand's shape."""
        args = bind(node)
        x = self.values[args["self"]]
        shape = x.tensor.shape if isinstance(x, Const) else x.shape
        d = args["dim"] % len(shape)
        target = str(node.target)
        if target.startswith("aten.unbind"):
            return [1] * shape[d]
        if "with_sizes" in target:
            return list(args["split_sizes"])
        size = args["split_size"]
        return [min(size, shape[d] - i) for i in range(0, shape[d], size)] if size else [shape[d]]

    def piece_meta(self, node, i):
        """The TensorMetadata of piece i of a split or unbind nobody reads."""
        args = bind(node)
        x = self.values[args["self"]]
        shape = list(x.tensor.shape if isinstance(x, Const) else x.shape)
        d = args["dim"] % len(shape)
        if str(node.target).startswith("aten.unbind"):
            del shape[d]
        else:
            shape[d] = self.split_sizes(node)[i]
        dtype = x.tensor.dtype if isinstance(x, Const) else x.dtype
        return TensorMetadata(torch.Size(shape), dtype, False, (), torch.contiguous_format, False, {})

    def rank(self, value):
        if isinstance(value, torch.fx.Node):
            value = self.values[value]
        if isinstance(value, Const):
            return value.tensor.dim()
        return len(value.shape)

    def dim(self, node, d, rank):
        if not -max(rank, 1) <= d < max(rank, 1):
            raise self.error(node, "dimension %d is out of range for rank %d" % (d, rank))
        return d % max(rank, 1)

    def check_dtype(self, node, dtype):
        if dtype not in _DTYPES:
            raise self.error(node, "computes in %s; ampc imports float32 models (with int64 indices and "
                                   "bool masks)" % dtype)

    def operand(self, node, value, scalar_dtype=torch.float32):
        """The SSA name and type of an operand: a value, a constant (emitted
        once), or a Python number (a 0-d constant of `scalar_dtype`)."""
        if isinstance(value, torch.fx.Node):
            value = self.values[value]
        if isinstance(value, (bool, int, float)):
            key = ("scalar", type(value), value, scalar_dtype)
            if key not in self.scalars:
                self.scalars[key] = Const(torch.tensor(value, dtype=scalar_dtype))
            value = self.scalars[key]
        if isinstance(value, Const):
            return self.constant(node, value)
        if isinstance(value, Value):
            return value
        raise self.error(node, "expected a tensor operand, got %r" % (value,))

    def constant(self, node, const):
        # Keyed by identity; the entry keeps the Const alive so its id is not reused.
        key = id(const)
        if key not in self.constants:
            tensor = const.tensor.detach()
            if tensor.dtype == torch.float64:
                tensor = tensor.float()
            self.check_dtype(node, tensor.dtype)
            tensor = tensor.contiguous().cpu()
            ttype = tensor_type(list(tensor.shape), tensor.dtype)
            flat = tensor.reshape(-1)
            if flat.numel() > 0 and bool((flat == flat[0]).all()):
                scalar = flat[0].item()
                if tensor.dtype == torch.bool:
                    text = "true" if scalar else "false"
                elif tensor.dtype.is_floating_point:
                    text = _float32(scalar)
                else:
                    text = str(int(scalar))
                body = "dense<%s>" % text
            elif flat.numel() == 0:
                body = "dense<>"
            elif tensor.dtype == torch.bool:
                # MLIR packs i1 hex data by bits: written out instead.
                body = "dense<%s>" % _nested(tensor.tolist())
            else:
                data = flat.numpy().astype(_NUMPY_DTYPES[tensor.dtype]).tobytes()
                body = 'dense<"0x%s">' % data.hex().upper()
            name = self.fresh()
            self.lines.append("    %s = arith.constant %s : %s %s" % (name, body, ttype, self.location(node)))
            self.constants[key] = (const, Value(name, list(tensor.shape), tensor.dtype))
        return self.constants[key][1]

    def op(self, node, name, operands, attrs, results=None):
        """Emits `aten.<name>` in generic form; `results` are the result
        (shape, dtype) pairs (default: the node's own)."""
        if results is None:
            meta = self.meta(node)
            results = [(list(meta.shape), meta.dtype)] if isinstance(meta, TensorMetadata) \
                else [(list(m.shape), m.dtype) for m in meta]
        for _, dtype in results:
            self.check_dtype(node, dtype)
        if name in FLOAT_OPS:
            for value in list(operands) + [Value("", s, d) for s, d in results]:
                if value.dtype != torch.float32 and value is not self.rng:
                    raise self.error(node, "computes on %s tensors; ampc has it for float32 only"
                                     % value.dtype)
        ssa = self.fresh()
        attr_text = ""
        if attrs:
            attr_text = " <{%s}>" % ", ".join("%s = %s" % (k, v) for k, v in sorted(attrs.items()))
        head = ssa if len(results) == 1 else "%s:%d" % (ssa, len(results))
        self.lines.append('    %s = "aten.%s"(%s)%s : (%s) -> (%s) %s' % (
            head, name, ", ".join(v.name for v in operands), attr_text,
            ", ".join(v.type for v in operands), ", ".join(tensor_type(s, d) for s, d in results),
            self.location(node)))
        if len(results) == 1:
            return Value(ssa, *results[0])
        return tuple(Value("%s#%d" % (ssa, i), s, d) for i, (s, d) in enumerate(results))

    def argument(self, shape, dtype, attrs):
        value = Value("%%arg%d" % len(self.arguments), shape, dtype)
        self.arguments.append((value, attrs))
        return value

    # -- the graph ------------------------------------------------------------

    def run(self):
        graph = self.captured.graph_module.graph
        nodes = list(graph.nodes)
        placeholders = [n for n in nodes if n.op == "placeholder"]
        names = self.captured.state_names
        if len(placeholders) != len(names) + self.captured.num_inputs:
            raise ExportError("internal: %d placeholders for %d state tensors and %d inputs"
                              % (len(placeholders), len(names), self.captured.num_inputs))
        state = dict(zip(placeholders, names))
        self.state_of = state
        roots = self.write_backs(nodes, state)
        live = self.live_nodes(nodes, roots)
        mutated = self.mutated_buffers(nodes, state, live)
        # Arguments: the inputs, then the params, then the updated buffers.
        for node in placeholders[len(names):]:
            meta = self.meta(node)
            if meta.dtype not in (torch.float32, torch.int64):
                raise ExportError("input '%s' is %s; ampc takes float32 inputs (or int64 indices)"
                                  % (node.name, meta.dtype))
            self.values[node] = self.argument(meta.shape, meta.dtype, {})
        for node, name in state.items():
            if name in self.captured.params and node in live:
                param = self.captured.params[name]
                if param.dtype != torch.float32:
                    raise ExportError("parameter '%s' is %s; ampc takes float32 parameters"
                                      % (name, param.dtype))
                self.values[node] = self.argument(param.shape, param.dtype, {"amp.name": name})
                self.params.append(name)
        for node, name in state.items():
            if name in self.captured.buffers:
                value = self.captured.buffers[name]
                if name in mutated:
                    self.check_dtype(node, value.dtype)
                    self.values[node] = self.argument(value.shape, value.dtype,
                                                      {"amp.name": name, "amp.role": "buffer"})
                    self.buffers.append(name)
                else:
                    # Read-only buffers are constants of the compiled step.
                    self.values[node] = Const(value)
        output = None
        for node in nodes:
            if node.op == "output":
                output = node
            elif node.op == "get_attr":
                self.values[node] = Const(getattr(self.captured.graph_module, node.target))
            elif node.op == "call_function" and node in live:
                self.visit(node)
        return self.finish(output)

    def write_backs(self, nodes, state):
        """The copy_ nodes that write a new value back into a buffer (roots
        of the live graph besides the output)."""
        roots = []
        for node in nodes:
            if str(node.target) == "aten.copy_.default" and node.args[0] in state:
                name = state[node.args[0]]
                if name in self.captured.params:
                    raise self.error(node, "writes parameter '%s' in forward; ampc updates parameters "
                                           "only through the optimizer" % name)
                roots.append(node)
        return roots

    def mutated_buffers(self, nodes, state, live):
        """Names of the buffers the forward updates: written back by copy_,
        or the running statistics of a training-mode batch norm."""
        mutated = set()
        for node in nodes:
            if node not in live or node.op != "call_function":
                continue
            target = str(node.target)
            if target == "aten.copy_.default" and node.args[0] in state:
                mutated.add(state[node.args[0]])
            elif target == "aten.native_batch_norm.default":
                args = bind(node)
                if args["training"]:
                    for key in ("running_mean", "running_var"):
                        if args[key] in state:
                            mutated.add(state[args[key]])
        return mutated

    @staticmethod
    def live_nodes(nodes, roots):
        live, work = set(), [n for n in nodes if n.op == "output"] + list(roots)
        while work:
            node = work.pop()
            if node in live:
                continue
            live.add(node)
            work.extend(_all_nodes((node.args, node.kwargs)))
        return live

    def visit(self, node):
        target = str(node.target)
        if node.target is operator.getitem:
            base = self.values[node.args[0]]
            item = base[node.args[1]]
            if item is None:
                raise self.error(node, "reads a result ampc does not compute (the pooling indices of "
                                       "return_indices=True or max_unpool, dropout's mask)")
            self.values[node] = item
            return
        if not isinstance(node.target, torch._ops.OpOverload):
            raise self.error(node, "is not an ATen operator; ampc imports ATen graphs")
        args = bind(node)
        if is_random(node.target):
            self.values[node] = self.random(node, target, args)
            return
        if target in SHAPE_ONLY or self.is_constant(node):
            self.values[node] = self.evaluate(node, target in SHAPE_ONLY)
            return
        if target in IDENTITY:
            self.values[node] = self.values[node.args[0]]
            return
        handler = SPECIAL.get(target)
        if handler is not None:
            self.values[node] = handler(self, node, args)
            return
        op = OPS.get(target)
        if op is None:
            raise self.error(node, "is not supported by ampc.torch (docs/torch.md lists the ATen ops "
                                   "it imports)")
        self.values[node] = op.emit(self, node, args)

    def is_constant(self, node):
        inputs = _all_nodes((node.args, node.kwargs))
        return all(isinstance(self.values.get(n), Const) for n in inputs)

    def evaluate(self, node, shape_only):
        """Runs `node` with torch on its constant operands (or, for ops that
        read only shapes, on placeholders of the right shape)."""
        def concrete(n):
            value = self.values[n]
            if isinstance(value, Const):
                return value.tensor.clone()
            if isinstance(value, Value) and shape_only:
                return torch.zeros(value.shape, dtype=value.dtype)
            raise self.error(node, "internal: operand '%s' is not constant" % n.name)
        args = torch.fx.node.map_arg(node.args, concrete)
        kwargs = torch.fx.node.map_arg(node.kwargs, concrete)
        with torch.no_grad():
            result = node.target(*args, **kwargs)
        if isinstance(result, (list, tuple)):
            return tuple(Const(r) for r in result)
        return Const(result)

    def finish(self, output):
        flat = _all_nodes(output.args[0]) if output is not None else []
        if len(flat) != 1 or len(output.args[0] if isinstance(output.args[0], (list, tuple)) else [0]) != 1:
            raise ExportError("forward must return one tensor (got %d outputs)" % len(flat))
        result = self.values[flat[0]]
        if not isinstance(result, Value):
            raise ExportError("forward's result depends on no input or parameter")
        if result.dtype != torch.float32:
            raise ExportError("forward returns %s; ampc trains models with a float32 output" % result.dtype)
        results = [(result, "")]
        for name in self.buffers:
            if name == self.rng_name:
                continue
            results.append((self.buffer_updates[name], ' {amp.role = "buffer"}'))
        if self.rng is not None:
            step = self.fresh()
            self.lines.append("    %s = arith.constant dense<[0, 1]> : tensor<2xi64>" % step)
            advanced = self.fresh()
            self.lines.append("    %s = arith.addi %s, %s : tensor<2xi64>" % (advanced, self.rng.name, step))
            results.append((Value(advanced, [2], torch.int64), ' {amp.role = "buffer"}'))
        args = []
        for value, attrs in self.arguments:
            text = ""
            if attrs:
                text = " {%s}" % ", ".join("%s = %s" % (k, _string(v)) for k, v in attrs.items())
            # Named: what a compiler builds from a parameter (its casts, its
            # optimizer update) says which parameter in diagnostics and in
            # the step profiler.
            if "amp.name" in attrs:
                text += " loc(%s)" % _string(attrs["amp.name"])
            args.append("%s: %s%s" % (value.name, value.type, text))
        return ("func.func @%s(%s) -> (%s) {\n%s\n    return %s : %s\n}\n" % (
            self.name, ", ".join(args), ", ".join(v.type + a for v, a in results), "\n".join(self.lines),
            ", ".join(v.name for v, _ in results), ", ".join(v.type for v, _ in results)))

    # -- randomness -----------------------------------------------------------

    def rng_state(self):
        if self.rng is None:
            self.rng = self.argument([2], torch.int64, {"amp.name": self.rng_name, "amp.role": "buffer"})
            self.buffers.append(self.rng_name)
        return self.rng

    def random(self, node, target, args):
        if target in ("aten.bernoulli_.float", "aten.bernoulli.p"):
            return self.bernoulli(node, float(args["p"]), self.shape_of(node))
        if target in ("aten.rand_like.default", "aten.rand.default"):
            stream = self.streams
            self.streams += 1
            return self.op(node, "rand", [self.rng_state()], {"stream": i64(stream)})
        if target in ("aten.uniform_.default", "aten.uniform.default"):
            low, high = float(args["from"]), float(args["to"])
            stream = self.streams
            self.streams += 1
            shape = self.shape_of(node)
            u = self.op(node, "rand", [self.rng_state()], {"stream": i64(stream)},
                        results=[(shape, torch.float32)])
            scaled = self.op(node, "mul", [u, self.operand(node, high - low)], {},
                             results=[(shape, torch.float32)])
            return self.op(node, "add", [scaled, self.operand(node, low)], {},
                           results=[(shape, torch.float32)])
        if target == "aten.native_dropout.default":
            x = self.operand(node, args["input"])
            p, train = float(args["p"]), args["train"]
            if not train or p == 0.0:
                return (x, None)
            keep = self.bernoulli(node, 1.0 - p, x.shape)
            kept = self.op(node, "mul", [x, keep], {}, results=[(x.shape, x.dtype)])
            scale = self.operand(node, 1.0 / (1.0 - p) if p < 1.0 else 0.0)
            return (self.op(node, "mul", [kept, scale], {}, results=[(x.shape, x.dtype)]), None)
        raise self.error(node, "draws random numbers of a kind ampc does not generate (it has "
                               "bernoulli, for dropout and stochastic depth, and uniform: rand, uniform_)")

    def bernoulli(self, node, p, shape):
        stream = self.streams
        self.streams += 1
        return self.op(node, "bernoulli", [self.rng_state()], {"p": f64(p), "stream": i64(stream)},
                       results=[(list(shape), torch.float32)])

    def shape_of(self, node):
        meta = self.meta(node)
        return list(meta.shape)


# -- ops that need more than the table ------------------------------------------

def _slice_bounds(im, node, args, size):
    start, end, _ = slice(args.get("start"), args.get("end")).indices(size)
    step = args.get("step") or 1
    if step < 1:
        raise im.error(node, "slices with step %d; ampc takes positive steps" % step)
    return start, max(end, start), step


def _slice(im, node, args):
    x = im.operand(node, args["self"])
    d = im.dim(node, args["dim"], len(x.shape))
    start, end, step = _slice_bounds(im, node, args, x.shape[d])
    return im.op(node, "slice", [x], {"dim": i64(d), "start": i64(start), "end": i64(end), "step": i64(step)})


def _slice_scatter(im, node, args):
    x, src = im.operand(node, args["self"]), im.operand(node, args["src"])
    d = im.dim(node, args["dim"], len(x.shape))
    start, end, step = _slice_bounds(im, node, args, x.shape[d])
    return im.op(node, "slice_scatter", [x, src],
                 {"dim": i64(d), "start": i64(start), "end": i64(end), "step": i64(step)})


def _select(im, node, args, name="select"):
    x = im.operand(node, args["self"])
    d = im.dim(node, args["dim"], len(x.shape))
    index = args["index"]
    if not -x.shape[d] <= index < x.shape[d]:
        raise im.error(node, "index %d is out of range for size %d" % (index, x.shape[d]))
    operands = [x] + ([im.operand(node, args["src"])] if name == "select_scatter" else [])
    return im.op(node, name, operands, {"dim": i64(d), "index": i64(index % x.shape[d])})


def _permute(im, node, args):
    x = im.operand(node, args["self"])
    rank = len(x.shape)
    target = str(node.target)
    if target == "aten.t.default":
        perm = [1, 0] if rank == 2 else list(range(rank))
    elif target.startswith("aten.transpose"):
        a, b = im.dim(node, args["dim0"], rank), im.dim(node, args["dim1"], rank)
        perm = list(range(rank))
        perm[a], perm[b] = perm[b], perm[a]
    else:
        perm = [im.dim(node, d, rank) for d in args["dims"]]
    return im.op(node, "permute", [x], {"dims": i64s(perm)})


def _split(im, node, args):
    x = im.operand(node, args["self"])
    d = im.dim(node, args["dim"], len(x.shape))
    return im.op(node, "split", [x], {"dim": i64(d)})


def _unbind(im, node, args):
    x = im.operand(node, args["self"])
    return im.op(node, "unbind", [x], {"dim": i64(im.dim(node, args["dim"], len(x.shape)))})


def _roll(im, node, args):
    x = im.operand(node, args["self"])
    shifts, dims_ = list(args["shifts"]), list(args["dims"] or [])
    if not dims_:
        # Rolled as one flat vector.
        flat = im.op(node, "view", [x], {}, results=[([math.prod(x.shape)], x.dtype)])
        rolled = im.op(node, "roll", [flat], {"shifts": i64s(shifts), "dims": i64s([0])},
                       results=[(flat.shape, x.dtype)])
        return im.op(node, "view", [rolled], {})
    return im.op(node, "roll", [x], {"shifts": i64s(shifts),
                                     "dims": i64s([im.dim(node, d, len(x.shape)) for d in dims_])})


def _index(im, node, args):
    x = im.operand(node, args["self"])
    operands, indexed = [], []
    for d, index in enumerate(args["indices"]):
        if index is None:
            continue
        value = im.operand(node, index, torch.int64)
        if value.dtype in (torch.bool, torch.uint8):
            raise im.error(node, "indexes with a boolean mask, whose result size depends on the data")
        operands.append(value)
        indexed.append(d)
    return im.op(node, "index", [x] + operands, {"indexed_dims": i64s(indexed)})


def _to(im, node, args):
    x = im.operand(node, args["self"])
    dtype = args.get("dtype")
    if dtype is None or dtype == x.dtype:
        return x
    return im.op(node, "to", [x], {})


def _detach(im, node, args):
    return im.op(node, "detach", [im.operand(node, args["self"])], {})


def _batch_norm(im, node, args):
    x = im.operand(node, args["input"])
    training = bool(args["training"])
    operands, sizes = [x], [1]
    for key in ("weight", "bias", "running_mean", "running_var"):
        value = args[key]
        if value is None:
            sizes.append(0)
            continue
        # ATen updates the statistics in place, which functionalization does
        # not see: a second call of the same BatchNorm reads the first's update.
        if key.startswith("running") and im.state_of.get(value) in im.buffer_updates:
            operands.append(im.buffer_updates[im.state_of[value]])
        else:
            operands.append(im.operand(node, value))
        sizes.append(1)
    channels = x.shape[1]
    running = channels if args["running_mean"] is not None else 0
    saved = channels if training else 0
    results = [(x.shape, x.dtype), ([saved], x.dtype), ([saved], x.dtype), ([running], x.dtype),
               ([running], x.dtype)]
    values = im.op(node, "native_batch_norm", operands, {
        "training": boolean(training), "momentum": f64(args["momentum"]),
        "eps": f64(args["eps"]), "operandSegmentSizes": "array<i32: %s>" % ", ".join(map(str, sizes))},
        results=results)
    if training:
        for key, value in (("running_mean", values[3]), ("running_var", values[4])):
            source = args[key]
            if source in im.state_of:
                im.buffer_updates[im.state_of[source]] = value
    return values[:3]


def _copy_into_buffer(im, node, args):
    target = args["self"]
    name = im.state_of[target]
    src = im.operand(node, args["src"], im.values[target].dtype)
    if src.dtype != im.values[target].dtype:
        src = im.op(node, "to", [src], {}, results=[(src.shape, im.values[target].dtype)])
    im.buffer_updates[name] = src
    return src


def _max_pool(im, node, args):
    x = im.operand(node, args["self"])
    attrs = {"kernel_size": pair("kernel_size")(im, node, args),
             "stride": pair("stride", "kernel_size")(im, node, args),
             "padding": pair("padding", 0)(im, node, args), "dilation": pair("dilation", 1)(im, node, args),
             "ceil_mode": boolean(args["ceil_mode"])}
    meta = im.meta(node)[0]
    return (im.op(node, "max_pool2d", [x], attrs, results=[(list(meta.shape), meta.dtype)]), None)


def _resize_scales(args):
    factors = args.get("scale_factors")
    if factors:
        return list(factors) if len(factors) == 2 else [factors[0]] * 2
    return [args.get("scales_h"), args.get("scales_w")]


def _upsample(mode):
    def handler(im, node, args):
        x = im.operand(node, args.get("input", args.get("self")))
        scales = _resize_scales(args)
        attrs = {}
        if scales[0] is not None:
            attrs["scales_h"] = f64(scales[0])
        if scales[1] is not None:
            attrs["scales_w"] = f64(scales[1])
        if mode == "bilinear":
            attrs["align_corners"] = boolean(args["align_corners"])
        return im.op(node, "upsample_%s2d" % mode, [x], attrs)
    return handler


# Views that keep their base's storage offset, and views that move it.
_KEEPS_OFFSET = {"aten.view.default", "aten._reshape_alias.default", "aten._unsafe_view.default",
                 "aten.unsqueeze.default", "aten.squeeze.dim", "aten.squeeze.default", "aten.alias.default",
                 "aten.detach.default", "aten.reshape.default", "aten.flatten.using_ints"}
_MOVES_OFFSET = {"aten.slice.Tensor", "aten.select.int", "aten.split.Tensor", "aten.unbind.int",
                 "aten.narrow.default", "aten.as_strided.default", "aten.diagonal.default",
                 "aten.split_with_sizes.default", "aten.unsafe_split.Tensor", "aten.chunk.default"}


def _may_be_offset_view(node):
    """Whether `node` may be a view that does not start at its storage's
    first element (as_strided offsets count from the storage)."""
    while isinstance(node, torch.fx.Node) and str(node.target) in _KEEPS_OFFSET:
        node = node.args[0]
    if isinstance(node, torch.fx.Node) and node.target is operator.getitem:
        node = node.args[0]
    return isinstance(node, torch.fx.Node) and str(node.target) in _MOVES_OFFSET


def _row_major(shape, stride):
    """Whether `stride` is the row-major layout of `shape` (size-1 dims aside)."""
    return all(s == math.prod(shape[d + 1:]) for d, (s, n) in enumerate(zip(stride, shape)) if n > 1)


def _as_strided(im, node, args):
    """as_strided over a contiguous tensor: a view when it keeps the
    row-major order, else a gather of the addressed elements."""
    source = args["self"]
    x = im.operand(node, source)
    meta = source.meta.get("tensor_meta") if isinstance(source, torch.fx.Node) else None
    if meta is None or not _row_major(meta.shape, meta.stride) or _may_be_offset_view(source):
        raise im.error(node, "re-strides a tensor that may not start its own storage (a view, a "
                             "slice); ampc follows values, not storage")
    size, stride = list(args["size"]), list(args["stride"])
    offset = args.get("storage_offset") or 0
    reach = offset + sum((n - 1) * s for n, s in zip(size, stride) if n > 0)
    if any(s < 0 for s in stride) or reach >= math.prod(x.shape):
        raise im.error(node, "reads past the end of its operand's elements")
    if offset == 0 and math.prod(size) == math.prod(x.shape) and _row_major(size, stride):
        return im.op(node, "view", [x], {})
    positions = torch.full(size, offset, dtype=torch.int64)
    for d, (n, s) in enumerate(zip(size, stride)):
        shape = [1] * len(size)
        shape[d] = n
        positions = positions + torch.arange(n, dtype=torch.int64).reshape(shape) * s
    flat = im.op(node, "view", [x], {}, results=[([math.prod(x.shape)], x.dtype)])
    index = im.operand(node, Const(positions))
    return im.op(node, "index", [flat, index], {"indexed_dims": i64s([0])})


def _bitwise(name):
    """bitwise ops on bools (PyTorch's ~mask, mask & other) as logical ones."""
    def handler(im, node, args):
        operands = [im.operand(node, args[k], torch.bool) for k in ("self", "other") if k in args]
        if any(v.dtype != torch.bool for v in operands):
            raise im.error(node, "computes bitwise on integers; ampc has it for bool tensors only")
        return im.op(node, name, operands, {})
    return handler


def _embedding(im, node, args):
    if args.get("scale_grad_by_freq") or args.get("sparse"):
        raise im.error(node, "scale_grad_by_freq and sparse embeddings are not supported")
    return OPS["aten.embedding.default"].emit(im, node, args)


def _div_mode(im, node, args):
    if args.get("rounding_mode") is not None:
        raise im.error(node, "divides with rounding_mode=%r; ampc has true division only"
                       % args["rounding_mode"])
    return OPS["aten.div.Tensor"].emit(im, node, args)


def _rsub(im, node, args):
    meta = im.meta(node)
    other = im.operand(node, args["other"], meta.dtype)
    return im.op(node, "sub", [other, im.operand(node, args["self"], meta.dtype)],
                 {"alpha": f64(1.0 if args.get("alpha") is None else args["alpha"])})


def _pow_scalar(im, node, args):
    meta = im.meta(node)
    return im.op(node, "pow.Tensor_Tensor", [im.operand(node, args["self"], meta.dtype),
                                              im.operand(node, args["exponent"], meta.dtype)], {})


def _var(im, node, args):
    correction = 1.0 if args.get("unbiased", True) else 0.0
    return OPS["aten.var.correction"].emit(im, node, dict(args, correction=correction))


SPECIAL = {
    "aten.slice.Tensor": _slice,
    "aten.slice_scatter.default": _slice_scatter,
    "aten.select.int": _select,
    "aten.select_scatter.default": lambda im, n, a: _select(im, n, a, "select_scatter"),
    "aten.t.default": _permute, "aten.transpose.int": _permute, "aten.permute.default": _permute,
    "aten.split.Tensor": _split, "aten.split_with_sizes.default": _split,
    "aten.unsafe_split.Tensor": _split, "aten.unsafe_split_with_sizes.default": _split,
    "aten.unbind.int": _unbind,
    "aten.roll.default": _roll,
    "aten.index.Tensor": _index,
    "aten._to_copy.default": _to, "aten.to.dtype": _to, "aten.to.dtype_layout": _to,
    "aten.detach.default": _detach,
    "aten.native_batch_norm.default": _batch_norm,
    "aten.copy_.default": _copy_into_buffer,
    "aten.max_pool2d_with_indices.default": _max_pool,
    "aten.upsample_nearest2d.vec": _upsample("nearest"),
    "aten.upsample_nearest2d.default": _upsample("nearest"),
    "aten.upsample_bilinear2d.vec": _upsample("bilinear"),
    "aten.upsample_bilinear2d.default": _upsample("bilinear"),
    "aten.embedding.default": _embedding,
    "aten.as_strided.default": _as_strided,
    "aten.bitwise_not.default": _bitwise("logical_not"),
    "aten.bitwise_and.Tensor": _bitwise("logical_and"),
    "aten.bitwise_or.Tensor": _bitwise("logical_or"),
    "aten.div.Tensor_mode": _div_mode,
    "aten.rsub.Scalar": _rsub, "aten.rsub.Tensor": _rsub,
    "aten.pow.Scalar": _pow_scalar,
    "aten.var.dim": _var,
}
OPS.update({
    "aten.div.Tensor": Op("div", ["self", "other"]),
    "aten.where.ScalarOther": Op("where", ["condition", "self", "other"]),
    "aten.where.ScalarSelf": Op("where", ["condition", "self", "other"]),
    "aten.where.Scalar": Op("where", ["condition", "self", "other"]),
})
