"""python -m ampc.torch.coverage: which real models ampc.torch takes.

Exports each model (torchvision 0.14's classification models with random
weights, and recurrent, masked-attention and encoder-decoder models written
here), optionally compiles its training step and runs a few steps, and
prints a Markdown table: export and compile time, the number of ATen ops,
and the first losses next to PyTorch's fp32 loss on the same batch (with
dropout off, so that both compute the same function).

    python3 -m ampc.torch.coverage                      # export every model
    python3 -m ampc.torch.coverage --compile --models resnet18,vit --precision bf16
"""
import argparse
import collections
import math
import os
import sys
import tempfile
import time

import ampc.torch as at  # noqa: F401  (before torch: one OpenMP pool)
import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    import torchvision
except ImportError:  # pragma: no cover - Debian's python3-torchvision is optional
    torchvision = None


class RecurrentClassifier(nn.Module):
    """An embedding, a 2-layer batch-first LSTM or GRU, the last step's state."""

    def __init__(self, cell="lstm", vocab=50, hidden=32):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden, padding_idx=0)
        self.rnn = (nn.LSTM if cell == "lstm" else nn.GRU)(hidden, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, 10)

    def forward(self, tokens):
        out, _ = self.rnn(self.embed(tokens))
        return self.head(out[:, -1])


class CausalTransformer(nn.Module):
    """A causal-mask encoder (a registered bool mask buffer) over tokens."""

    def __init__(self, vocab=50, d=64, heads=4, layers=2, seq=16):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.zeros(1, seq, d))
        layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.register_buffer("mask", torch.triu(torch.ones(seq, seq, dtype=torch.bool), 1))
        self.head = nn.Linear(d, 10)

    def forward(self, tokens):
        h = self.encoder(self.embed(tokens) + self.pos, mask=self.mask)
        return self.head(h.mean(1))


class TinyUNet(nn.Module):
    """Down with strided convolutions and GroupNorm, up with ConvTranspose2d
    and F.interpolate (bilinear), a skip connection by concatenation."""

    def __init__(self):
        super().__init__()
        self.down1 = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.GroupNorm(4, 16), nn.SiLU())
        self.down2 = nn.Sequential(nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.GroupNorm(8, 32), nn.SiLU())
        self.up = nn.ConvTranspose2d(32, 16, 2, stride=2)
        self.fuse = nn.Conv2d(32, 16, 3, padding=1)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        a = self.down1(x)
        b = self.down2(a)
        u = self.up(b) + F.interpolate(b[:, :16], scale_factor=2, mode="bilinear", align_corners=False)
        h = F.relu(self.fuse(torch.cat([a, u], dim=1)))
        return self.head(h.mean((2, 3)))


def _vision(name, size=32, **kwargs):
    def make():
        return getattr(torchvision.models, name)(num_classes=10, **kwargs)
    return make, (3, size, size), "image"


# name -> (factory, input shape without the batch, kind)
MODELS = collections.OrderedDict()
if torchvision is not None:
    for _name in ("resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2", "densenet121",
                  "regnet_y_400mf", "mobilenet_v2", "mobilenet_v3_small", "mobilenet_v3_large",
                  "mnasnet0_5", "vgg11", "shufflenet_v2_x0_5", "efficientnet_b0", "convnext_tiny"):
        MODELS[_name] = _vision(_name)
    MODELS["alexnet"] = _vision("alexnet", 64)
    MODELS["squeezenet1_0"] = _vision("squeezenet1_0", 64)
    MODELS["googlenet"] = _vision("googlenet", 64, aux_logits=False, init_weights=True)
    MODELS["inception_v3"] = _vision("inception_v3", 75, aux_logits=False, init_weights=True)
    MODELS["vit_2layers"] = (
        lambda: torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4,
                                                     hidden_dim=64, mlp_dim=128, num_classes=10),
        (3, 32, 32), "image")
    MODELS["swin_t"] = _vision("swin_t", 64)
    MODELS["maxvit_t"] = _vision("maxvit_t", 224)
MODELS["lstm_classifier"] = (lambda: RecurrentClassifier("lstm"), (12,), "tokens")
MODELS["gru_classifier"] = (lambda: RecurrentClassifier("gru"), (12,), "tokens")
MODELS["causal_transformer"] = (CausalTransformer, (16,), "tokens")
MODELS["tiny_unet"] = (TinyUNet, (3, 32, 32), "image")


def example_batch(kind, shape, batch, seed=0):
    generator = torch.Generator().manual_seed(seed)
    if kind == "tokens":
        x = torch.randint(1, 50, (batch,) + tuple(shape), generator=generator)
    else:
        x = torch.randn((batch,) + tuple(shape), generator=generator)
    return x, torch.randint(0, 10, (batch,), generator=generator)


def _dropout_off(model):
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
        if isinstance(module, nn.MultiheadAttention):
            module.dropout = 0.0
        if hasattr(module, "stochastic_depth_prob"):
            module.stochastic_depth_prob = 0.0
        if type(module).__name__ == "StochasticDepth":
            module.p = 0.0


def run(name, args):
    make, shape, kind = MODELS[name]
    torch.manual_seed(0)
    model = make().train()
    if args.no_dropout:
        _dropout_off(model)
    x, y = example_batch(kind, shape, args.batch)
    row = {"model": name, "input": "x".join(str(d) for d in (args.batch,) + tuple(shape))}
    start = time.perf_counter()
    try:
        exported = at.export(model, x)
    except Exception as error:  # report, go on with the next model
        row["export"] = "refused: %s" % str(error).splitlines()[0][:160]
        return row
    row["export"] = "%.2f s" % (time.perf_counter() - start)
    row["aten ops"] = exported.text.count('"aten.')
    if not args.compile:
        return row
    reference = F.cross_entropy(model(x), y).item() if args.no_dropout else None
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    start = time.perf_counter()
    try:
        trainer = at.compile(model, x, optimizer=optimizer, precision=args.precision,
                             output=os.path.join(args.folder, "%s.so" % name))
    except Exception as error:
        row["compile"] = "failed: %s" % str(error).strip().splitlines()[0][:160]
        return row
    row["compile"] = "%.1f s" % (time.perf_counter() - start)
    losses = []
    for step in range(args.steps):
        losses.append(float(trainer.step(*example_batch(kind, shape, args.batch, seed=step))))
    row["losses"] = ", ".join("%.4f" % v for v in losses)
    row["finite"] = "yes" if all(math.isfinite(v) for v in losses) else "NO"
    if reference is not None:
        row["torch fp32 loss"] = "%.4f" % reference
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", help="comma-separated names (default: all); --list prints them")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--compile", action="store_true", help="also compile and step each model")
    parser.add_argument("--precision", default="bf16", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--keep-dropout", dest="no_dropout", action="store_false",
                        help="keep dropout and stochastic depth (the default turns them off, so that "
                             "the first loss can be compared with PyTorch's)")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(MODELS))
        return 0
    names = list(MODELS) if not args.models else [n.strip() for n in args.models.split(",")]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error("unknown model %r (--list prints the names)" % unknown[0])
    args.folder = tempfile.mkdtemp(prefix="ampc-coverage-")
    columns = ["model", "input", "export", "aten ops"]
    if args.compile:
        columns += ["compile", "losses", "torch fp32 loss", "finite"]
    print("| %s |" % " | ".join(columns))
    print("|%s|" % "|".join("---" for _ in columns))
    failures = 0
    for name in names:
        row = run(name, args)
        failures += any(str(row.get(k, "")).startswith(("refused", "failed", "NO")) for k in columns)
        print("| %s |" % " | ".join(str(row.get(c, "")) for c in columns), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
