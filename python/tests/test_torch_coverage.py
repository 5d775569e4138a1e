"""ampc.torch's ATen coverage: each family of constructs real models use,
trained 3 SGD steps in fp32 and bf16 next to PyTorch float64, float32 and
autocast bfloat16 (torch_parity.Parity says how close is close enough)."""
import math

import pytest

torch = pytest.importorskip("torch", reason="python3-torch is needed for the torch frontend")
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import numpy as np  # noqa: E402

import ampc.torch as at  # noqa: E402
from torch_parity import Parity, batches_of  # noqa: E402


class CeilPools(nn.Module):
    """ceil_mode max and average pooling (count_include_pad off, a divisor
    override), whose last windows hang over the input."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.max = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.avg = nn.AvgPool2d(3, stride=2, ceil_mode=True, count_include_pad=False, padding=1)
        self.fc = nn.Linear(8 * 3 * 4 * 4, 10)

    def forward(self, x):                       # (N, 3, 9, 9) -> 7x7
        h = torch.tanh(self.conv(x))
        over = F.avg_pool2d(h, 2, ceil_mode=True, divisor_override=3)
        return self.fc(torch.cat([self.max(h).flatten(1), self.avg(h).flatten(1), over.flatten(1)], 1))


class Norms(nn.Module):
    """Functional layer_norm (with and without weights), GroupNorm,
    LayerNorm over channels-last as ConvNeXt, BatchNorm without running
    statistics."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.group = nn.GroupNorm(4, 8)
        self.channels_last = nn.LayerNorm(8)
        self.bn = nn.BatchNorm2d(8, track_running_stats=False)
        self.weight = nn.Parameter(torch.rand(8) + 0.5)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        h = self.group(self.conv(x))
        h = self.channels_last(h.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        h = F.gelu(self.bn(h)).mean((2, 3))
        h = F.layer_norm(h, (8,)) + F.layer_norm(h, (8,), weight=self.weight, eps=1e-3)
        return self.fc(h)


class Transposed(nn.Module):
    """ConvTranspose2d (stride, padding, output_padding, groups, dilation),
    Conv1d and ConvTranspose1d."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.up2 = nn.ConvTranspose2d(6, 4, 2, stride=1, dilation=2)
        self.conv1d = nn.Conv1d(4, 4, 3, padding=1)
        self.up1d = nn.ConvTranspose1d(4, 2, 4, stride=2, padding=1)
        self.fc = nn.Linear(2 * 2 * 10 * 10, 10)

    def forward(self, x):                       # (N, 4, 8, 8)
        h = self.up2(F.relu(self.up(F.relu(self.down(x)))))     # (N, 4, 10, 10)
        s = self.up1d(self.conv1d(h.flatten(2)[:, :, :50]))      # (N, 2, 100)
        return self.fc(torch.cat([s.flatten(1), h[:, :2].flatten(1)], 1))


class Resize(nn.Module):
    """F.interpolate: nearest (scale and size), bilinear (align_corners off
    and on, down- and up-sampling)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * (12 * 12 + 5 * 7 + 3 * 3 + 9 * 9), 10)

    def forward(self, x):                       # (N, 3, 6, 6)
        h = torch.tanh(self.conv(x))
        parts = [F.interpolate(h, scale_factor=2, mode="nearest"),
                 F.interpolate(h, size=(5, 7), mode="nearest"),
                 F.interpolate(h, scale_factor=0.5, mode="bilinear", align_corners=False),
                 F.interpolate(h, size=(9, 9), mode="bilinear", align_corners=True)]
        return self.fc(torch.cat([p.flatten(1) for p in parts], 1))


class MaskedAttention(nn.Module):
    """nn.MultiheadAttention with a float mask, a bool mask and a key
    padding mask; cross-attention (query differs from key and value)."""

    def __init__(self):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(16, 4, batch_first=True)
        self.cross = nn.MultiheadAttention(16, 2)
        self.register_buffer("causal", torch.triu(torch.ones(6, 6, dtype=torch.bool), 1))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):                       # (N, 6, 16)
        bias = torch.arange(6.0).view(1, 6) * -0.1 * torch.ones(6, 1)
        a = self.self_attn(x, x, x, attn_mask=bias)[0]
        b = self.self_attn(a, a, a, attn_mask=self.causal, need_weights=False)[0]
        padding = torch.zeros(x.shape[0], 6, dtype=torch.bool)
        padding[:, -1] = True
        c = self.self_attn(b, b, b, key_padding_mask=padding)[0]
        q = c.transpose(0, 1)
        d = self.cross(q[:3], q, q)[0]           # 3 queries over 6 keys
        return self.fc(d.mean(0))


class CausalEncoder(nn.Module):
    """nn.TransformerEncoder (2 layers, final norm) with a registered
    causal mask, and a TransformerEncoderLayer with a float mask."""

    def __init__(self):
        super().__init__()
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(16))
        self.last = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, norm_first=True)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(6))
        self.fc = nn.Linear(16, 10)

    def forward(self, x):                       # (N, 6, 16)
        h = self.encoder(x, mask=self.mask.isinf())
        h = self.last(h.transpose(0, 1), src_mask=self.mask).transpose(0, 1)
        return self.fc(h.mean(1))


class RelativePosition(nn.Module):
    """A Swin-style relative position bias: a parameter table read through a
    registered index buffer, added to attention scores."""

    def __init__(self, window=3, heads=2, dim=8):
        super().__init__()
        n = window * window
        self.table = nn.Parameter(torch.randn((2 * window - 1) ** 2, heads) * 0.1)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("index", rel[..., 0] * (2 * window - 1) + rel[..., 1])
        self.qkv = nn.Linear(dim, 3 * dim)
        self.heads, self.n = heads, n
        self.fc = nn.Linear(dim, 10)

    def forward(self, x):                       # (N, 9, 8)
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        bias = self.table[self.index.view(-1)].view(n, n, -1).permute(2, 0, 1)
        attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(c // self.heads) + bias, dim=-1)
        return self.fc((attn @ v).transpose(1, 2).reshape(b, n, c).mean(1))


class Recurrent(nn.Module):
    def __init__(self, cell, bidirectional=False):
        super().__init__()
        self.embed = nn.Embedding(20, 8, padding_idx=0)
        self.rnn = cell(8, 12, num_layers=2, batch_first=True, bidirectional=bidirectional)
        self.fc = nn.Linear(12 * (2 if bidirectional else 1), 10)

    def forward(self, tokens):                  # (N, 7) int64
        out, _ = self.rnn(self.embed(tokens))
        return self.fc(out[:, -1])


class Shuffles(nn.Module):
    """roll, flip, index with tensors, masked_fill, stack / unbind / split /
    chunk, meshgrid, where, clamp, pow."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 12)
        self.fc2 = nn.Linear(12, 10)
        self.register_buffer("order", torch.tensor([3, 1, 0, 2]))

    def forward(self, x):                       # (N, 4, 12)
        h = torch.roll(self.fc1(x), shifts=(1, -2), dims=(1, 2))
        h = h[:, self.order] + h.flip(1)
        h = h.masked_fill(h < -1.0, 0.5)
        a, b = h.split([5, 7], dim=2)
        rows = torch.stack([r * (i + 1) for i, r in enumerate(h.unbind(1))], dim=1)
        c1, c2 = rows.chunk(2, dim=2)
        gy, gx = torch.meshgrid(torch.linspace(0, 1, 4), torch.linspace(-1, 1, 12), indexing="ij")
        grid = torch.where(gx > 0, gy, gx.clamp(min=-0.5)) ** 2
        h = torch.cat([a.sigmoid(), b * 0.5], 2) + torch.cat([c2, c1], 2) + grid
        return self.fc2(h.mean(1))


@pytest.mark.parametrize("make,shape,tokens", [
    (CeilPools, (4, 3, 9, 9), None),
    (Norms, (4, 3, 6, 6), None),
    (Transposed, (2, 4, 8, 8), None),
    (Resize, (2, 3, 6, 6), None),
    (MaskedAttention, (4, 6, 16), None),
    (CausalEncoder, (4, 6, 16), None),
    (RelativePosition, (4, 9, 8), None),
    (lambda: Recurrent(nn.LSTM), (4, 7), 20),
    (lambda: Recurrent(nn.GRU), (4, 7), 20),
    (lambda: Recurrent(nn.LSTM, bidirectional=True), (4, 7), 20),
    (Shuffles, (4, 4, 12), None),
], ids=["ceil-pools", "norms", "conv-transpose", "interpolate", "attention-masks", "causal-encoder",
        "relative-position", "lstm", "gru", "bilstm", "shuffles"])
def test_constructs_train_like_torch(make, shape, tokens):
    torch.manual_seed(21)
    model = make()
    batches = batches_of(shape, tokens=tokens)
    if tokens:                                  # padding_idx 0 appears in every batch
        for x, _ in batches:
            x[:, 0] = 0
    Parity(model, batches).check()


class Tied(nn.Module):
    """A language-model head tied to its embedding (GPT-2's wte/lm_head)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(12, 8)
        self.mix = nn.Linear(8, 8)
        self.head = nn.Linear(8, 12, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, tokens):                  # (N, 5) int64
        return self.head(torch.tanh(self.mix(self.embed(tokens))).mean(1))


def test_tied_weights_train_as_one_parameter():
    torch.manual_seed(22)
    model = Tied()
    exported = at.export(model, torch.randint(0, 12, (4, 5)))
    assert "head.weight" not in exported.params and exported.aliases == {"head.weight": "embed.weight"}
    parity = Parity(model, batches_of((4, 5), classes=12, tokens=12))
    parity.check()


class Twice(nn.Module):
    """One BatchNorm applied to two inputs (a siamese encoder): its running
    statistics are updated twice per step, as in torch."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.bn = nn.BatchNorm1d(6)
        self.out = nn.Linear(6, 10)

    def forward(self, x):
        a, b = x[:, 0], x[:, 1]
        return self.out(self.bn(self.fc(a)) - self.bn(self.fc(b) * 2))


def test_batch_norm_called_twice_compounds_its_updates():
    torch.manual_seed(23)
    model = Twice()
    batches = batches_of((8, 2, 6))
    trainer = at.compile(model, batches[0][0], optimizer=torch.optim.SGD(model.parameters(), lr=0.0),
                         precision="fp32")
    reference = Twice()
    reference.load_state_dict(model.state_dict())
    for x, y in batches:
        trainer.step(x, y)
        reference(x)
    for name in ("bn.running_mean", "bn.running_var", "bn.num_batches_tracked"):
        torch.testing.assert_close(trainer.state_dict()[name], reference.state_dict()[name], rtol=1e-5, atol=1e-6)


class Counting(nn.Module):
    """Integer and bool tensors around a float model: a token count from a
    mask, a fractional threshold on integer ids, bool arithmetic."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.fc = nn.Linear(9, 10)

    def forward(self, tokens):                  # (N, 7) int64
        valid = tokens != 0
        small = tokens < 2.5                    # compares in float: 1 and 2 are small, 3 is not
        keep = valid * ~small + (valid & small)  # bool * and +
        count = keep.sum(1, keepdim=True)       # int64
        h = (self.embed(tokens) * keep[..., None]).sum(1) / count.clamp(min=1)
        return self.fc(torch.cat([h, count], 1))  # float and int64 joined as float


def test_integer_and_bool_tensors_follow_torch():
    torch.manual_seed(24)
    batches = batches_of((4, 7), tokens=4)
    for x, _ in batches:
        x[:, -1] = 0
    Parity(Counting(), batches).check()


class Uniform(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        noise = torch.empty_like(x).uniform_(-0.5, 1.5)
        return self.fc(x) + noise


def test_uniform_draws_in_its_range():
    model = Uniform()
    with torch.no_grad():
        model.fc.weight.zero_()
        model.fc.bias.zero_()
    x = torch.zeros(64, 4)
    trainer = at.compile(model, x, optimizer=torch.optim.SGD(model.parameters(), lr=0.0), precision="fp32", keep_forward=True)
    forward = trainer.compiled.functions["forward"]
    out = forward(x.numpy(), model.fc.weight.detach().numpy(), model.fc.bias.detach().numpy(),
                  torch.tensor([3, 0]).numpy())[0]
    assert out.min() >= -0.5 and out.max() < 1.5
    assert abs(float(out.mean()) - 0.5) < 0.1


def test_out_of_range_indices_are_clamped_not_read_outside():
    """PyTorch raises for an index past the table; a compiled step cannot
    raise, and reads the nearest row instead of memory outside the table."""
    model = nn.Sequential(nn.Embedding(5, 3), nn.Flatten(), nn.Linear(6, 2))
    exported_tokens = torch.randint(0, 5, (2, 2))
    trainer = at.compile(model, exported_tokens, optimizer=torch.optim.SGD(model.parameters(), lr=0.0),
                         precision="fp32", keep_forward=True)
    forward = trainer.compiled.functions["forward"]
    state = model.state_dict()
    args = [state[n].detach().numpy() for n in trainer.param_names]
    far = forward(torch.tensor([[7, 100], [-9, 4]]).numpy(), *args)[0]
    near = forward(torch.tensor([[4, 4], [0, 4]]).numpy(), *args)[0]
    np.testing.assert_allclose(far, near)


def test_as_strided_of_a_slice_is_refused():
    class Restride(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return torch.as_strided(self.fc(x)[1:], (2, 2), (1, 2))
    with pytest.raises(at.ExportError, match="re-strides a tensor that may not start its own storage"):
        at.export(Restride(), torch.randn(3, 4))
