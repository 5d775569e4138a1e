"""ampc.torch: nn.Modules exported with torch.fx, trained as compiled steps,
checked step by step against PyTorch on the same weights and batches."""
import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="python3-torch is needed for the torch frontend")
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import ampc.torch as at  # noqa: E402


def train_both(model, batches, precision="fp32", lr=0.1, **options):
    """Trains a copy of `model` with torch (SGD momentum 0.9) and the model
    with ampc; returns (ampc losses, torch losses, trainer, torch model)."""
    torch.manual_seed(0)
    reference = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    trainer = at.compile(model, batches[0][0], loss="cross_entropy", optimizer=optimizer,
                         precision=precision, **options)
    torch_optimizer = torch.optim.SGD(reference.parameters(), lr=lr, momentum=0.9)
    ours, theirs = [], []
    for x, y in batches:
        ours.append(float(trainer.step(x, y)))
        torch_optimizer.zero_grad()
        loss = F.cross_entropy(reference(x), y)
        loss.backward()
        torch_optimizer.step()
        theirs.append(float(loss))
    return ours, theirs, trainer, reference


def random_batches(shape, classes, count, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [(torch.randn(*shape, generator=generator), torch.randint(0, classes, (shape[0],), generator=generator))
            for _ in range(count)]


class SmallCNN(nn.Module):
    def __init__(self, batch_norm=False):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=not batch_norm)
        self.bn1 = nn.BatchNorm2d(8) if batch_norm else nn.Identity()
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        return self.fc(torch.flatten(x, 1))


def assert_state_matches(trainer, reference, rtol):
    state = trainer.state_dict()
    for name, value in reference.state_dict().items():
        got = state[name].double()
        want = value.double()
        scale = max(float(want.abs().max()), 1e-6)
        assert float((got - want).abs().max()) <= rtol * scale, name


def test_cnn_tracks_torch_fp32():
    torch.manual_seed(1)
    ours, theirs, trainer, reference = train_both(SmallCNN(), random_batches((16, 1, 8, 8), 10, 10))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    assert_state_matches(trainer, reference, 1e-5)
    assert list(trainer.state_dict()) == list(reference.state_dict())


def test_batch_norm_training_updates_buffers_like_torch():
    """Training-mode BatchNorm: batch statistics forward, running mean/var and
    num_batches_tracked as step state updated with torch's momentum rule."""
    torch.manual_seed(2)
    ours, theirs, trainer, reference = train_both(SmallCNN(batch_norm=True),
                                                  random_batches((16, 1, 8, 8), 10, 10))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    assert_state_matches(trainer, reference, 1e-5)
    assert int(trainer.state_dict()["bn1.num_batches_tracked"]) == 10
    # The trained state loads back into the module, strictly.
    fresh = SmallCNN(batch_norm=True)
    fresh.load_state_dict(trainer.state_dict())
