"""Dropout and stochastic depth in training mode: ampc draws its masks from
Philox4x32-10 (amp.random_uniform) with the step's random state, so they do
not equal torch's CPU generator's bits. What is tested instead: the bits
against a reference Philox (itself checked against Random123's known
answers), the keep rate within binomial bounds, determinism for a seed,
forward and backward using one mask, and p = 0 matching torch exactly."""
import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="python3-torch is needed for the torch frontend")
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import ampc.torch as at  # noqa: E402

M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
MASK32 = np.uint64(0xFFFFFFFF)


def philox4x32_10(counter, key):
    """Random123's philox4x32_10 over arrays of uint32 words: counter is
    four arrays, key two; returns four arrays."""
    c = [np.asarray(w, dtype=np.uint64) for w in counter]
    k0, k1 = (np.uint64(w) for w in key)
    for round_ in range(10):
        if round_:
            k0, k1 = (k0 + np.uint64(W0)) & MASK32, (k1 + np.uint64(W1)) & MASK32
        p0, p1 = c[0] * np.uint64(M0), c[2] * np.uint64(M1)
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k0, p1 & MASK32, (p0 >> np.uint64(32)) ^ c[3] ^ k1, p0 & MASK32]
    return [w.astype(np.uint32) for w in c]


def test_reference_philox_matches_random123_known_answers():
    """kat_vectors of Random123 1.09 for philox4x32_10."""
    zero = philox4x32_10([[0], [0], [0], [0]], (0, 0))
    assert [int(w[0]) for w in zero] == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]
    ones = philox4x32_10([[0xFFFFFFFF]] * 4, (0xFFFFFFFF, 0xFFFFFFFF))
    assert [int(w[0]) for w in ones] == [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]
    pi = philox4x32_10([[0x243F6A88], [0x85A308D3], [0x13198A2E], [0x03707344]], (0xA4093822, 0x299F31D0))
    assert [int(w[0]) for w in pi] == [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]


def reference_uniform(seed, offset, stream, count):
    """amp.random_uniform's samples, element by element."""
    e = np.arange(count, dtype=np.uint64)
    words = philox4x32_10([e, np.full(count, stream, np.uint64), np.full(count, offset & 0xFFFFFFFF, np.uint64),
                           np.full(count, offset >> 32, np.uint64)], (seed & 0xFFFFFFFF, seed >> 32))
    return (words[0] >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -24)


class Dropped(nn.Module):
    """Two dropouts (two streams) over a linear layer's input and output."""

    def __init__(self, p=0.3, features=32):
        super().__init__()
        self.first, self.second = nn.Dropout(p), nn.Dropout(p)
        self.fc = nn.Linear(features, features)

    def forward(self, x):
        return self.second(self.fc(self.first(x)))


def compiled_forward(model, x):
    """The trainer and a function running its compiled forward (the
    function the step differentiates) with a given random state."""
    trainer = at.compile(model, x, optimizer=torch.optim.SGD(model.parameters(), lr=0.1), precision="fp32",
                         keep_forward=True)
    forward = trainer.compiled.functions["forward"]
    state = model.state_dict()
    params = [state[n].detach().numpy() for n in trainer.param_names]

    def run(inputs, rng):
        out = forward(inputs.numpy(), *params, np.array(rng, dtype=np.int64))
        return out[0], out[-1]
    return trainer, run


@pytest.fixture(scope="module")
def identity_dropout():
    """Dropped with fc = identity: the output is the two masks' product
    times x / (1 - p)^2."""
    torch.manual_seed(0)
    model = Dropped()
    with torch.no_grad():
        model.fc.weight.copy_(torch.eye(32))
        model.fc.bias.zero_()
    x = torch.rand(64, 32) + 1.0
    trainer, run = compiled_forward(model, x)
    return model, x, trainer, run


def test_masks_are_the_reference_philox_bits(identity_dropout):
    _, x, _, run = identity_dropout
    seed, offset = 0x123456789ABC, 5
    out, rng = run(x, [seed, offset])
    assert rng.tolist() == [seed, offset + 1]   # the step advances the offset
    keep1 = reference_uniform(seed, offset, 0, x.numel()).reshape(64, 32) < np.float32(0.7)
    keep2 = reference_uniform(seed, offset, 1, x.numel()).reshape(64, 32) < np.float32(0.7)
    np.testing.assert_array_equal(out != 0, keep1 & keep2)
    scale = np.float32(1.0) / np.float32(0.7)
    expected = np.where(keep1 & keep2, x.numpy() * scale * scale, 0.0).astype(np.float32)
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_keep_rate_within_binomial_bounds(identity_dropout):
    _, x, _, run = identity_dropout
    n = x.numel()
    for offset in range(5):
        kept = int((run(x, [7, offset])[0] != 0).sum())
        # Both masks keep with probability 0.49; 5 standard deviations.
        mean, sd = n * 0.49, (n * 0.49 * 0.51) ** 0.5
        assert abs(kept - mean) < 5 * sd, (kept, mean)


def test_masks_are_deterministic_and_change_per_step_and_seed(identity_dropout):
    _, x, _, run = identity_dropout
    a = run(x, [11, 0])[0] != 0
    np.testing.assert_array_equal(a, run(x, [11, 0])[0] != 0)
    assert (a != (run(x, [11, 1])[0] != 0)).mean() > 0.3
    assert (a != (run(x, [12, 0])[0] != 0)).mean() > 0.3


def test_trainer_advances_and_reseeds_the_state(identity_dropout):
    model, x, trainer, _ = identity_dropout
    trainer.manual_seed(42)
    start = trainer.parameters()["rng_state"].tolist()
    assert start == [42, 0]
    trainer.step(x, torch.zeros(64, dtype=torch.int64))
    trainer.step(x, torch.zeros(64, dtype=torch.int64))
    assert trainer.parameters()["rng_state"].tolist() == [42, 2]
    assert "rng_state" not in trainer.state_dict()   # not a module buffer: load_state_dict stays strict
    model.load_state_dict(trainer.state_dict())


def test_forward_and_backward_use_one_mask():
    """One SGD step with dropout: the update equals torch's on the same
    masks (read from the compiled forward at the step's random state)."""
    torch.manual_seed(3)
    model = Dropped(p=0.5, features=16)
    reference = copy.deepcopy(model)
    x, y = torch.randn(8, 16), torch.randint(0, 16, (8,))
    trainer, run = compiled_forward(copy.deepcopy(model), x)
    trainer.manual_seed(99)
    # The step's masks, seen through the compiled forward with fc = identity
    # on ones: nonzero where both dropouts kept the element.
    probe = copy.deepcopy(model)
    with torch.no_grad():
        probe.fc.weight.copy_(torch.eye(16))
        probe.fc.bias.zero_()
    _, probe_run = compiled_forward(probe, x)
    kept_both = probe_run(torch.ones(8, 16), [99, 0])[0] != 0
    loss = float(trainer.step(x, y))
    keep_first = torch.from_numpy(reference_uniform(99, 0, 0, 8 * 16).reshape(8, 16) < np.float32(0.5))
    keep_second = torch.from_numpy(reference_uniform(99, 0, 1, 8 * 16).reshape(8, 16) < np.float32(0.5))
    assert torch.equal(torch.from_numpy(kept_both), keep_first & keep_second)
    out = reference.fc(x * keep_first / 0.5) * keep_second / 0.5
    torch_loss = F.cross_entropy(out, y)
    torch_loss.backward()
    assert loss == pytest.approx(float(torch_loss), rel=1e-6)
    with torch.no_grad():
        for name, param in reference.named_parameters():
            updated = param - 0.1 * param.grad
            np.testing.assert_allclose(trainer.state_dict()[name].numpy(), updated.numpy(), rtol=1e-5, atol=1e-7)


class Deep(nn.Module):
    """Residual blocks with torchvision's stochastic depth (a per-sample
    mask, "row" mode) and dropout before the head."""

    def __init__(self, p):
        super().__init__()
        import torchvision
        self.blocks = nn.ModuleList(nn.Linear(16, 16) for _ in range(3))
        self.depth = torchvision.ops.StochasticDepth(p, "row")
        self.drop = nn.Dropout(p)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        for block in self.blocks:
            x = x + self.depth(torch.tanh(block(x)))
        return self.head(self.drop(x))


def test_stochastic_depth_masks_whole_samples():
    pytest.importorskip("torchvision")
    torch.manual_seed(4)
    model = Deep(0.5)
    with torch.no_grad():
        for block in model.blocks:
            block.weight.zero_()
            block.bias.fill_(10.0)     # tanh(10) = 1: each kept block adds 1 / 0.5
        model.drop.p = 0.0
        model.head.weight.copy_(torch.eye(10, 16))
        model.head.bias.zero_()
    x = torch.zeros(256, 16)
    _, run = compiled_forward(model, x)
    out = run(x, [5, 0])[0]
    # Every feature of a sample got the same blocks: a row holds one value,
    # 2 x (number of kept blocks), binomial(3, 0.5) over the samples.
    assert np.all(out == out[:, :1])
    kept = np.rint(out[:, 0] / 2.0)
    assert np.allclose(out[:, 0], 2.0 * kept, atol=1e-5)
    assert set(np.unique(kept)) <= {0, 1, 2, 3}
    assert abs(kept.mean() - 1.5) < 5 * (0.75 / 256) ** 0.5


def test_p_zero_trains_exactly_like_torch():
    """Dropout(p=0) and StochasticDepth(p=0) in training mode: no random
    numbers at all, the same losses and parameters as torch."""
    pytest.importorskip("torchvision")
    torch.manual_seed(6)
    model = Deep(0.0)
    reference = copy.deepcopy(model)
    trainer = at.compile(model, torch.randn(8, 16), optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                         precision="fp32")
    assert trainer.rng_name is None
    optimizer = torch.optim.SGD(reference.parameters(), lr=0.1)
    generator = torch.Generator().manual_seed(7)
    for _ in range(3):
        x, y = torch.randn(8, 16, generator=generator), torch.randint(0, 10, (8,), generator=generator)
        ours = float(trainer.step(x, y))
        optimizer.zero_grad()
        loss = F.cross_entropy(reference(x), y)
        loss.backward()
        optimizer.step()
        assert ours == pytest.approx(float(loss), rel=1e-6)
    for name, value in reference.state_dict().items():
        np.testing.assert_allclose(trainer.state_dict()[name].numpy(), value.numpy(), rtol=1e-5, atol=1e-7)
