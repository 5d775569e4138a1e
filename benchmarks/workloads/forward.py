#!/usr/bin/env python3
"""Forward models of the CPU benchmarks, as FP32 MLIR functions that
`ampc --train` (amp-differentiate) turns into training steps, and their
PyTorch twins with the same weights.

  forward.py mlp-small|mlp-medium|cnn-small [-o FILE]

The MLIR function takes the batch first, then the params in the order of
`params(model)`: Linear layers are y = x @ W + b with W stored in x out
(PyTorch's weight transposed), convolutions are NCHW / FCHW with PyTorch's
padding and stride. The loss (softmax cross-entropy with class numbers, as
torch's cross_entropy takes them) and SGD with momentum 0.9 come from the
training options `train_options(model)`."""
import argparse
import sys

WORKLOADS = {
    "mlp-small": dict(kind="mlp", batch=256, dims=[64, 256, 256, 10]),
    "mlp-medium": dict(kind="mlp", batch=1024, dims=[784, 1024, 1024, 10]),
    # conv3x3 3->32, ReLU, conv3x3 32->64 stride 2, ReLU, conv3x3 64->128
    # stride 2, ReLU, global average pool, Linear 128->10 (padding 1).
    "cnn-small": dict(kind="cnn", batch=64, image=(3, 32, 32),
                      convs=[(32, 1), (64, 2), (128, 2)], classes=10),
}
LR = 0.01
MOMENTUM = 0.9


def t(*shape):
    return "tensor<%sxf32>" % "x".join(str(s) for s in shape) if shape else "tensor<f32>"


def conv_shapes(spec):
    """[(in_c, h, w, out_c, stride, out_h, out_w)] per conv."""
    c, h, w = spec["image"]
    shapes = []
    for out_c, stride in spec["convs"]:
        oh, ow = (h + 2 - 3) // stride + 1, (w + 2 - 3) // stride + 1
        shapes.append((c, h, w, out_c, stride, oh, ow))
        c, h, w = out_c, oh, ow
    return shapes


def params(name):
    """(shape, kind) of every param, in argument order after the batch."""
    spec = WORKLOADS[name]
    if spec["kind"] == "mlp":
        dims = spec["dims"]
        return [p for i in range(len(dims) - 1)
                for p in (((dims[i], dims[i + 1]), "linear.weight"), ((dims[i + 1],), "bias"))]
    out = []
    for c, _, _, oc, _, _, _ in conv_shapes(spec):
        out += [((oc, c, 3, 3), "conv.weight"), ((oc,), "bias")]
    last = spec["convs"][-1][0]
    return out + [((last, spec["classes"]), "linear.weight"), ((spec["classes"],), "bias")]


def input_shape(name):
    spec = WORKLOADS[name]
    if spec["kind"] == "mlp":
        return (spec["batch"], spec["dims"][0])
    return (spec["batch"],) + tuple(spec["image"])


def classes(name):
    spec = WORKLOADS[name]
    return spec["dims"][-1] if spec["kind"] == "mlp" else spec["classes"]


def train_options(name, optimizer="sgd"):
    n = len(params(name))
    return ("loss=cross-entropy labels=indices optimizer=%s momentum=%g lr=%g params=%s"
            % (optimizer, MOMENTUM, LR, ",".join(str(i + 1) for i in range(n))))


def flops(name):
    """Multiply-adds x 2 of one training step: the forward's matmuls and
    convolutions, their weight gradients, and their input gradients (none
    for the first layer, whose input is data)."""
    spec = WORKLOADS[name]
    total = 0
    if spec["kind"] == "mlp":
        dims, b = spec["dims"], spec["batch"]
        for i in range(len(dims) - 1):
            layer = 2 * b * dims[i] * dims[i + 1]
            total += layer * (2 if i == 0 else 3)
        return total
    b = spec["batch"]
    for i, (c, _, _, oc, _, oh, ow) in enumerate(conv_shapes(spec)):
        layer = 2 * b * oh * ow * oc * c * 9
        total += layer * (2 if i == 0 else 3)
    return total + 3 * 2 * b * spec["convs"][-1][0] * spec["classes"]


def mlir(name):
    spec = WORKLOADS[name]
    lines = []
    emit = lines.append
    counter = [0]

    def v(stem):
        counter[0] += 1
        return "%%%s%d" % (stem, counter[0])

    def bias_relu(x, bias, shape, channel_dim, relu):
        rank = len(shape)
        dims = ", ".join("d%d" % i for i in range(rank))
        ident = "affine_map<(%s) -> (%s)>" % (dims, dims)
        along = "affine_map<(%s) -> (d%d)>" % (dims, channel_dim)
        e, r = v("e"), v("y")
        emit("%s = tensor.empty() : %s" % (e, t(*shape)))
        emit("%s = linalg.generic {indexing_maps = [%s, %s, %s], iterator_types = [%s]} "
             "ins(%s, %s : %s, %s) outs(%s : %s) {" % (
                 r, ident, along, ident, ", ".join(['"parallel"'] * rank), x, bias, t(*shape),
                 t(shape[channel_dim]), e, t(*shape)))
        emit("^bb0(%a: f32, %b: f32, %o: f32):")
        emit("  %s = arith.addf %a, %b : f32")
        if relu:
            emit("  %r = arith.maximumf %s, %zero : f32")
            emit("  linalg.yield %r : f32")
        else:
            emit("  linalg.yield %s : f32")
        emit("} -> %s" % t(*shape))
        return r

    def matmul(x, w, m, k, n):
        e, z, r = v("e"), v("z"), v("mm")
        emit("%s = tensor.empty() : %s" % (e, t(m, n)))
        emit("%s = linalg.fill ins(%%zero : f32) outs(%s : %s) -> %s" % (z, e, t(m, n), t(m, n)))
        emit("%s = linalg.matmul ins(%s, %s : %s, %s) outs(%s : %s) -> %s"
             % (r, x, w, t(m, k), t(k, n), z, t(m, n), t(m, n)))
        return r

    args = ["%%x: %s" % t(*input_shape(name))]
    for i, (shape, _) in enumerate(params(name)):
        args.append("%%p%d: %s" % (i, t(*shape)))
    if spec["kind"] == "mlp":
        b, dims = spec["batch"], spec["dims"]
        out_type = t(b, dims[-1])
    else:
        b = spec["batch"]
        out_type = t(b, spec["classes"])
    emit("func.func @%s(%s) -> %s {" % (name.replace("-", "_"), ", ".join(args), out_type))
    emit("%zero = arith.constant 0.0 : f32")
    h = "%x"
    if spec["kind"] == "mlp":
        for i in range(len(dims) - 1):
            y = matmul(h, "%%p%d" % (2 * i), b, dims[i], dims[i + 1])
            h = bias_relu(y, "%%p%d" % (2 * i + 1), (b, dims[i + 1]), 1, relu=i < len(dims) - 2)
    else:
        p = 0
        for c, hh, ww, oc, stride, oh, ow in conv_shapes(spec):
            padded, z, e, r = v("pad"), v("z"), v("e"), v("conv")
            emit("%s = tensor.pad %s low[0, 0, 1, 1] high[0, 0, 1, 1] {" % (padded, h))
            emit("^bb0(%i0: index, %i1: index, %i2: index, %i3: index):")
            emit("  tensor.yield %zero : f32")
            emit("} : %s to %s" % (t(b, c, hh, ww), t(b, c, hh + 2, ww + 2)))
            emit("%s = tensor.empty() : %s" % (e, t(b, oc, oh, ow)))
            emit("%s = linalg.fill ins(%%zero : f32) outs(%s : %s) -> %s" % (z, e, t(b, oc, oh, ow), t(b, oc, oh, ow)))
            emit("%s = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<%d> : tensor<2xi64>} "
                 "ins(%s, %%p%d : %s, %s) outs(%s : %s) -> %s" % (
                     r, stride, padded, p, t(b, c, hh + 2, ww + 2), t(oc, c, 3, 3), z, t(b, oc, oh, ow),
                     t(b, oc, oh, ow)))
            h = bias_relu(r, "%%p%d" % (p + 1), (b, oc, oh, ow), 1, relu=True)
            p += 2
        c, _, _, oc, _, oh, ow = conv_shapes(spec)[-1]
        # Global average pooling: a sum over the image, then 1/(h*w).
        e, z, s, m = v("e"), v("z"), v("sum"), v("mean")
        emit("%s = tensor.empty() : %s" % (e, t(b, oc)))
        emit("%s = linalg.fill ins(%%zero : f32) outs(%s : %s) -> %s" % (z, e, t(b, oc), t(b, oc)))
        emit("%s = linalg.generic {indexing_maps = [affine_map<(n, c, h, w) -> (n, c, h, w)>, "
             "affine_map<(n, c, h, w) -> (n, c)>], iterator_types = [\"parallel\", \"parallel\", "
             "\"reduction\", \"reduction\"]} ins(%s : %s) outs(%s : %s) {" % (s, h, t(b, oc, oh, ow), z, t(b, oc)))
        emit("^bb0(%a: f32, %o: f32):")
        emit("  %r = arith.addf %o, %a : f32")
        emit("  linalg.yield %r : f32")
        emit("} -> %s" % t(b, oc))
        emit("%s = linalg.generic {indexing_maps = [affine_map<(n, c) -> (n, c)>, affine_map<(n, c) -> (n, c)>], "
             "iterator_types = [\"parallel\", \"parallel\"]} ins(%s : %s) outs(%s : %s) {" % (m, s, t(b, oc), e, t(b, oc)))
        emit("^bb0(%a: f32, %o: f32):")
        emit("  %%r = arith.mulf %%a, %s : f32" % ("%.9e" % (1.0 / (oh * ow))))
        emit("  linalg.yield %r : f32")
        emit("} -> %s" % t(b, oc))
        y = matmul(m, "%%p%d" % p, b, oc, spec["classes"])
        h = bias_relu(y, "%%p%d" % (p + 1), (b, spec["classes"]), 1, relu=False)
    emit("return %s : %s" % (h, out_type))
    text = "\n".join([lines[0]] + ["  " + line.strip() if line.startswith(("^bb", "  ^bb")) else "  " + line
                                   for line in lines[1:]] + ["}"]) + "\n"
    # Constants in payloads (1/(h*w)) are written as literals above; make
    # them SSA constants the parser accepts.
    return _hoist_literals(text)


def _hoist_literals(text):
    import re
    literals = {}

    def replace(match):
        value = match.group(1)
        name = literals.setdefault(value, "%%c%d" % len(literals))
        return "arith.mulf %a, " + name + " : f32"
    text = re.sub(r"arith\.mulf %a, ([-0-9.e+]+) : f32", replace, text)
    head, rest = text.split("\n", 1)
    defs = "".join("  %s = arith.constant %s : f32\n" % (n, v) for v, n in literals.items())
    return head + "\n" + defs + rest


def torch_model(name):
    """The PyTorch twin (torch.nn.Module) of the forward function."""
    import torch
    spec = WORKLOADS[name]
    if spec["kind"] == "mlp":
        layers = []
        dims = spec["dims"]
        for i in range(len(dims) - 1):
            layers.append(torch.nn.Linear(dims[i], dims[i + 1]))
            if i < len(dims) - 2:
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers)
    layers = []
    for c, _, _, oc, stride, _, _ in conv_shapes(spec):
        layers += [torch.nn.Conv2d(c, oc, 3, stride=stride, padding=1), torch.nn.ReLU()]
    layers += [torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
               torch.nn.Linear(spec["convs"][-1][0], spec["classes"])]
    return torch.nn.Sequential(*layers)


def torch_params_to_ampc(name, module):
    """The module's parameters in the MLIR function's argument order and
    layout (Linear weights transposed to in x out)."""
    out = []
    linears = [m for m in module.modules() if m.__class__.__name__ in ("Linear", "Conv2d")]
    for layer in linears:
        w = layer.weight.detach().numpy()
        out.append(w.T.copy() if layer.__class__.__name__ == "Linear" else w.copy())
        out.append(layer.bias.detach().numpy().copy())
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", choices=sorted(WORKLOADS))
    parser.add_argument("-o", "--output")
    args = parser.parse_args()
    text = mlir(args.workload)
    if args.output:
        open(args.output, "w").write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
