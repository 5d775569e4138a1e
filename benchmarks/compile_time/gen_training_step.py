#!/usr/bin/env python3
"""Generates FP32 training-step IR (forward, loss, backward, SGD) for deep
MLPs and transformer-like stacks, at a requested op count.

  gen_training_step.py --model mlp|transformer --ops N [-o FILE]

Every layer is real linalg work of the kind autocast classifies: matmuls,
bias-add and ReLU generics, softmax (max/sub/exp/sum/div), transposes for the
backward matmuls, gradient sums and SGD updates. The op count (ops directly in
the function, payload ops not counted) lands within half a layer of N."""
import argparse
import sys

B, D = 16, 32  # batch and width: small tensors, the graph size is what matters

ID = "affine_map<(d0, d1) -> (d0, d1)>"
COL = "affine_map<(d0, d1) -> (d1)>"
ROW = "affine_map<(d0, d1) -> (d0)>"
PAR = '["parallel", "parallel"]'


class Emitter:
    def __init__(self):
        self.lines = []
        self.n = 0
        self.ops = 0

    def fresh(self):
        self.n += 1
        return "%v" + str(self.n)

    def op(self, text, result=True):
        self.ops += 1
        if result:
            name = self.fresh()
            self.lines.append("  %s = %s" % (name, text))
            return name
        self.lines.append("  " + text)
        return None

    def empty(self, shape):
        return self.op("tensor.empty() : tensor<%sxf32>" % shape)

    def zeros(self, shape):
        e = self.empty(shape)
        return self.op("linalg.fill ins(%%zero : f32) outs(%s : tensor<%sxf32>) -> tensor<%sxf32>" % (e, shape, shape))

    def matmul(self, a, b, m, k, n):
        z = self.zeros("%dx%d" % (m, n))
        return self.op("linalg.matmul ins(%s, %s : tensor<%dx%dxf32>, tensor<%dx%dxf32>) outs(%s : tensor<%dx%dxf32>) -> tensor<%dx%dxf32>"
                       % (a, b, m, k, k, n, z, m, n, m, n))

    def transpose(self, a, m, n):
        e = self.empty("%dx%d" % (n, m))
        return self.op("linalg.transpose ins(%s : tensor<%dx%dxf32>) outs(%s : tensor<%dx%dxf32>) permutation = [1, 0]"
                       % (a, m, n, e, n, m))

    def generic(self, ins, maps, out_shape, out_map, iters, body, init=None):
        """ins: list of (value, shape); body: payload lines using %a0.. and %o."""
        out = init or self.empty(out_shape)
        args = ", ".join("%%a%d: f32" % i for i in range(len(ins)))
        text = ('linalg.generic {indexing_maps = [%s], iterator_types = %s} ins(%s : %s) outs(%s : tensor<%sxf32>) {\n'
                '  ^bb0(%s, %%o: f32):\n%s\n  } -> tensor<%sxf32>'
                % (", ".join(maps + [out_map]), iters, ", ".join(v for v, _ in ins),
                   ", ".join("tensor<%sxf32>" % s for _, s in ins), out, out_shape, args,
                   "\n".join("    " + l for l in body), out_shape))
        return self.op(text)

    def binary(self, a, b, opname, shape="%dx%d" % (B, D), bmap=ID):
        return self.generic([(a, shape), (b, shape if bmap == ID else str(D))], [ID, bmap], shape, ID, PAR,
                            ["%%r = arith.%s %%a0, %%a1 : f32" % opname, "linalg.yield %r : f32"])

    def relu(self, a):
        return self.generic([(a, "%dx%d" % (B, D))], [ID], "%dx%d" % (B, D), ID, PAR,
                            ["%r = arith.maximumf %a0, %zero : f32", "linalg.yield %r : f32"])

    def unary(self, a, opname):
        return self.generic([(a, "%dx%d" % (B, D))], [ID], "%dx%d" % (B, D), ID, PAR,
                            ["%%r = math.%s %%a0 : f32" % opname, "linalg.yield %r : f32"])

    def rowreduce(self, a, combiner, init_value="%zero"):
        e = self.empty(str(B))
        init = self.op("linalg.fill ins(%s : f32) outs(%s : tensor<%dxf32>) -> tensor<%dxf32>" % (init_value, e, B, B))
        return self.generic([(a, "%dx%d" % (B, D))], [ID], str(B), ROW, '["parallel", "reduction"]',
                            ["%%r = arith.%s %%a0, %%o : f32" % combiner, "linalg.yield %r : f32"], init=init)

    def colsum(self, a):
        z = self.zeros(str(D))
        return self.generic([(a, "%dx%d" % (B, D))], [ID], str(D), COL, '["reduction", "parallel"]',
                            ["%r = arith.addf %a0, %o : f32", "linalg.yield %r : f32"], init=z)

    def rowbroadcast(self, a, b, opname):
        return self.generic([(a, "%dx%d" % (B, D)), (b, str(B))], [ID, ROW], "%dx%d" % (B, D), ID, PAR,
                            ["%%r = arith.%s %%a0, %%a1 : f32" % opname, "linalg.yield %r : f32"])

    def sgd(self, p, g, shape, maps):
        return self.generic([(p, shape), (g, shape)], [maps, maps], shape, maps,
                            PAR if "x" in shape else '["parallel"]',
                            ["%u = arith.mulf %lr, %a1 : f32", "%r = arith.subf %a0, %u : f32", "linalg.yield %r : f32"])


def build(model, num_layers):
    e = Emitter()
    layers = []
    # Forward.
    x = "%x"
    acts = []
    layer = 0
    while layer < num_layers:
        w, b = "%%w%d" % layer, "%%b%d" % layer
        h0 = e.matmul(x, w, B, D, D)
        h = e.binary(h0, b, "addf", bmap=COL)
        if model == "transformer":
            m = e.rowreduce(h, "maximumf", "%ninf")
            z = e.rowbroadcast(h, m, "subf")
            ex = e.unary(z, "exp")
            s = e.rowreduce(ex, "addf")
            a = e.rowbroadcast(ex, s, "divf")
        else:
            a = e.relu(h)
        acts.append((x, h, a))
        layers.append((w, b))
        x = a
        layer += 1
    loss = e.rowreduce(x, "addf")
    # Backward and SGD, last layer first.
    g = e.binary(x, x, "mulf")
    results = {}
    for i in reversed(range(len(layers))):
        xin, h, a = acts[i]
        w, b = layers[i]
        if model == "transformer":
            gs = e.rowreduce(e.binary(g, a, "mulf"), "addf")
            dh = e.binary(e.rowbroadcast(g, gs, "subf"), a, "mulf")
        else:
            dh = e.generic([(h, "%dx%d" % (B, D)), (g, "%dx%d" % (B, D))], [ID, ID], "%dx%d" % (B, D), ID, PAR,
                           ["%p = arith.cmpf ogt, %a0, %zero : f32", "%r = arith.select %p, %a1, %zero : f32",
                            "linalg.yield %r : f32"])
        xt = e.transpose(xin, B, D)
        dw = e.matmul(xt, dh, D, B, D)
        db = e.colsum(dh)
        wt = e.transpose(w, D, D)
        g = e.matmul(dh, wt, B, D, D)
        results[w] = e.sgd(w, dw, "%dx%d" % (D, D), ID)
        results[b] = e.sgd(b, db, str(D), "affine_map<(d0) -> (d0)>")
    params = []
    for w, b in layers:
        params += ["%s: tensor<%dx%dxf32>" % (w, D, D), "%s: tensor<%dxf32>" % (b, D)]
    rets = []
    rtypes = []
    for w, b in layers:
        rets += [results[w], results[b]]
        rtypes += ["tensor<%dx%dxf32>" % (D, D), "tensor<%dxf32>" % D]
    rets.append(loss)
    rtypes.append("tensor<%dxf32>" % B)
    head = ["func.func @train_step(%%x: tensor<%dx%dxf32>, %s) -> (%s) {" % (B, D, ", ".join(params), ", ".join(rtypes)),
            "  %zero = arith.constant 0.0 : f32", "  %ninf = arith.constant 0xFF800000 : f32",
            "  %lr = arith.constant 0.01 : f32"]
    tail = ["  return %s : %s" % (", ".join(rets), ", ".join(rtypes)), "}"]
    return "\n".join(head + e.lines + tail) + "\n", e.ops


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["mlp", "transformer"], default="mlp")
    parser.add_argument("--ops", type=int, required=True)
    parser.add_argument("-o", "--output", default="-")
    args = parser.parse_args()
    # The op count is linear in the layer count: solve for it.
    one, two = build(args.model, 1)[1], build(args.model, 2)[1]
    layers = max(1, round((args.ops - (2 * one - two)) / (two - one)))
    text, ops = build(args.model, layers)
    out = sys.stdout if args.output == "-" else open(args.output, "w")
    out.write(text)
    print("%s: %d layers, %d ops" % (args.model, layers, ops), file=sys.stderr)


if __name__ == "__main__":
    main()
