#!/usr/bin/env python3
"""The MLP training-step workloads of the GPU benchmarks, as FP32 MLIR in the
training-step contract (docs/training-step.md), and their PyTorch twins.

  mlp.py mlp-small|mlp-large|--dims 64,256,10 --batch 256 [-o FILE]

Every system measures the same step: Linear layers (x @ W + b, W stored
in x out) with ReLU between them, softmax cross-entropy over the last layer's
C classes (mean over the batch, one-hot labels), the backward, and SGD with
momentum 0.9 (torch.optim.SGD semantics: the buffer starts as the first
gradient)."""
import argparse
import sys

WORKLOADS = {
    "mlp-small": dict(batch=256, dims=[64, 256, 256, 10]),
    "mlp-large": dict(batch=8192, dims=[1024, 4096, 4096, 4096, 4096, 1024]),
}
LR = 0.01
MOMENTUM = 0.9

ID = "affine_map<(d0, d1) -> (d0, d1)>"
COL = "affine_map<(d0, d1) -> (d1)>"
ROW = "affine_map<(d0, d1) -> (d0)>"
ALL = "affine_map<(d0, d1) -> ()>"


def t(*shape):
    return "tensor<%sxf32>" % "x".join(str(s) for s in shape) if shape else "tensor<f32>"


class Writer:
    def __init__(self):
        self.lines, self.n = [], 0

    def v(self, stem):
        self.n += 1
        return "%%%s%d" % (stem, self.n)

    def emit(self, text):
        self.lines.append("  " + text)

    def zeros(self, *shape):
        e, z = self.v("e"), self.v("z")
        self.emit("%s = tensor.empty() : %s" % (e, t(*shape)))
        self.emit("%s = linalg.fill ins(%%zero : f32) outs(%s : %s) -> %s" % (z, e, t(*shape), t(*shape)))
        return z

    def fill(self, value, *shape):
        e, z = self.v("e"), self.v("f")
        self.emit("%s = tensor.empty() : %s" % (e, t(*shape)))
        self.emit("%s = linalg.fill ins(%s : f32) outs(%s : %s) -> %s" % (z, value, e, t(*shape), t(*shape)))
        return z

    def empty(self, *shape):
        e = self.v("e")
        self.emit("%s = tensor.empty() : %s" % (e, t(*shape)))
        return e

    def matmul(self, a, b, m, k, n):
        z, r = self.zeros(m, n), self.v("mm")
        self.emit("%s = linalg.matmul ins(%s, %s : %s, %s) outs(%s : %s) -> %s"
                  % (r, a, b, t(m, k), t(k, n), z, t(m, n), t(m, n)))
        return r

    def transpose(self, a, m, n):
        e, r = self.empty(n, m), self.v("tr")
        self.emit("%s = linalg.transpose ins(%s : %s) outs(%s : %s) permutation = [1, 0]"
                  % (r, a, t(m, n), e, t(n, m)))
        return r

    def generic(self, ins, out_shape, out_map, iterators, body, init=None):
        """ins: [(value, shape, map)]; body: lines using %i0.. and %o."""
        out = init or self.empty(*out_shape)
        r = self.v("g")
        maps = ", ".join([m for _, _, m in ins] + [out_map])
        args = ", ".join(["%%i%d: f32" % i for i in range(len(ins))] + ["%o: f32"])
        self.emit("%s = linalg.generic {indexing_maps = [%s], iterator_types = [%s]} ins(%s : %s) outs(%s : %s) {"
                  % (r, maps, ", ".join('"%s"' % it for it in iterators), ", ".join(v for v, _, _ in ins),
                     ", ".join(t(*s) for _, s, _ in ins), out, t(*out_shape)))
        self.emit("^bb0(%s):" % args)
        for line in body:
            self.emit("  " + line)
        self.emit("} -> %s" % t(*out_shape))
        return r


def build(batch, dims, lr=LR, momentum=MOMENTUM):
    w = Writer()
    layers = len(dims) - 1
    classes = dims[-1]
    P, PP = ["parallel", "parallel"], None
    # Forward: h_i = a_{i-1} W_i + b_i ; a_i = relu(h_i) except the logits.
    acts, pre = ["%x"], []
    for i in range(layers):
        m = w.matmul(acts[-1], "%%W%d" % i, batch, dims[i], dims[i + 1])
        h = w.generic([(m, (batch, dims[i + 1]), ID), ("%%b%d" % i, (dims[i + 1],), COL)], (batch, dims[i + 1]), ID, P,
                      ["%s = arith.addf %i0, %i1 : f32", "linalg.yield %s : f32"])
        pre.append(h)
        if i < layers - 1:
            a = w.generic([(h, (batch, dims[i + 1]), ID)], (batch, dims[i + 1]), ID, P,
                          ["%r = arith.maximumf %i0, %zero : f32", "linalg.yield %r : f32"])
            acts.append(a)
    logits = pre[-1]
    # Softmax cross-entropy, mean over the batch.
    mx = w.generic([(logits, (batch, classes), ID)], (batch,), ROW, ["parallel", "reduction"],
                   ["%r = arith.maximumf %i0, %o : f32", "linalg.yield %r : f32"], init=w.fill("%ninf", batch))
    ex = w.generic([(logits, (batch, classes), ID), (mx, (batch,), ROW)], (batch, classes), ID, P,
                   ["%d = arith.subf %i0, %i1 : f32", "%e = math.exp %d : f32", "linalg.yield %e : f32"])
    sm = w.generic([(ex, (batch, classes), ID)], (batch,), ROW, ["parallel", "reduction"],
                   ["%r = arith.addf %i0, %o : f32", "linalg.yield %r : f32"], init=w.zeros(batch))
    loss = w.generic([(logits, (batch, classes), ID), (mx, (batch,), ROW), (sm, (batch,), ROW), ("%y", (batch, classes), ID)],
                     (), ALL, ["reduction", "reduction"],
                     ["%l = math.log %i2 : f32", "%d = arith.subf %i0, %i1 : f32", "%lp = arith.subf %d, %l : f32",
                      "%p = arith.mulf %i3, %lp : f32", "%q = arith.mulf %p, %inv_batch : f32",
                      "%r = arith.subf %o, %q : f32", "linalg.yield %r : f32"], init=w.zeros())
    w.emit("%seed = amp.grad_seed " + loss + " : tensor<f32>")
    # dlogits = (softmax - y) / batch * seed
    g = w.generic([(ex, (batch, classes), ID), (sm, (batch,), ROW), ("%y", (batch, classes), ID), ("%seed", (), ALL)],
                  (batch, classes), ID, P,
                  ["%p = arith.divf %i0, %i1 : f32", "%d = arith.subf %p, %i2 : f32",
                   "%s = arith.mulf %d, %inv_batch : f32", "%r = arith.mulf %s, %i3 : f32", "linalg.yield %r : f32"])
    grads = {}
    for i in reversed(range(layers)):
        n_in, n_out = dims[i], dims[i + 1]
        if i < layers - 1:  # through the ReLU
            g = w.generic([(pre[i], (batch, n_out), ID), (g, (batch, n_out), ID)], (batch, n_out), ID, P,
                          ["%c = arith.cmpf ogt, %i0, %zero : f32", "%r = arith.select %c, %i1, %zero : f32",
                           "linalg.yield %r : f32"])
        at = w.transpose(acts[i], batch, n_in)
        grads["W%d" % i] = w.matmul(at, g, n_in, batch, n_out)
        grads["b%d" % i] = w.generic([(g, (batch, n_out), ID)], (n_out,), COL, ["reduction", "parallel"],
                                     ["%r = arith.addf %i0, %o : f32", "linalg.yield %r : f32"], init=w.zeros(n_out))
        if i > 0:
            wt = w.transpose("%%W%d" % i, n_in, n_out)
            g = w.matmul(g, wt, batch, n_out, n_in)
    # SGD with momentum, per param.
    results, result_types = [], []
    for i in range(layers):
        for name, shape in (("W%d" % i, (dims[i], dims[i + 1])), ("b%d" % i, (dims[i + 1],))):
            p, m1, s1 = w.v("p"), w.v("m"), w.v("s")
            w.emit("%s, %s, %s = amp.sgd %%%s, %s state(%%m_%s, %%s_%s : %s, tensor<i64>) {lr = %r : f64, momentum = %r : f64} : %s, %s -> %s, %s, tensor<i64>"
                   % (p, m1, s1, name, grads[name], name, name, t(*shape), lr, momentum, t(*shape), t(*shape), t(*shape), t(*shape)))
            results += [p, m1, s1]
            result_types += ['%s {amp.role = "param"}' % t(*shape), '%s {amp.role = "optimizer_state"}' % t(*shape),
                             'tensor<i64> {amp.role = "optimizer_state"}']
    results.append(loss)
    result_types.append('tensor<f32> {amp.role = "loss"}')
    args = ['%%x: %s {amp.role = "input"}' % t(batch, dims[0]), '%%y: %s {amp.role = "label"}' % t(batch, classes)]
    for i in range(layers):
        for name, shape in (("W%d" % i, (dims[i], dims[i + 1])), ("b%d" % i, (dims[i + 1],))):
            args += ['%%%s: %s {amp.role = "param"}' % (name, t(*shape)),
                     '%%m_%s: %s {amp.role = "optimizer_state"}' % (name, t(*shape)),
                     '%%s_%s: tensor<i64> {amp.role = "optimizer_state"}' % name]
    out = ["// Generated by benchmarks/workloads/mlp.py: batch %d, dims %s, SGD lr %r momentum %r."
           % (batch, ",".join(map(str, dims)), lr, momentum),
           "func.func @train_step(%s)" % ",\n    ".join(args),
           "    -> (%s)" % ",\n        ".join(result_types),
           "    attributes {amp.training_step} {",
           "  %zero = arith.constant 0.0 : f32",
           "  %ninf = arith.constant 0xFF800000 : f32",
           "  %%inv_batch = arith.constant %r : f32" % (1.0 / batch)]
    out += w.lines
    out.append("  return %s : %s" % (", ".join(results), ", ".join(r.split(" {")[0] for r in result_types)))
    out.append("}")
    return "\n".join(out) + "\n"


def torch_model(batch, dims, device="cuda"):
    """The same step in PyTorch: (params as [W0, b0, ...] with W in x out,
    a function computing the loss from (x, y_onehot))."""
    import torch
    params = []
    for i in range(len(dims) - 1):
        params += [torch.empty(dims[i], dims[i + 1], device=device, requires_grad=True),
                   torch.empty(dims[i + 1], device=device, requires_grad=True)]

    def forward(x, y):
        a = x
        for i in range(len(dims) - 1):
            a = a @ params[2 * i] + params[2 * i + 1]
            if i < len(dims) - 2:
                a = torch.relu(a)
        return -(y * torch.log_softmax(a.float(), dim=1)).sum() / batch
    return params, forward


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", nargs="?", choices=sorted(WORKLOADS))
    parser.add_argument("--dims")
    parser.add_argument("--batch", type=int)
    parser.add_argument("-o", "--output", default="-")
    args = parser.parse_args()
    if args.workload:
        spec = WORKLOADS[args.workload]
        batch, dims = spec["batch"], spec["dims"]
    elif args.dims and args.batch:
        batch, dims = args.batch, [int(d) for d in args.dims.split(",")]
    else:
        parser.error("name a workload or give --dims and --batch")
    text = build(batch, dims)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
