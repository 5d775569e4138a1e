"""Training a model with ampc.torch next to PyTorch float64 (the reference),
PyTorch float32 and PyTorch autocast bfloat16 on the same weights and
batches, for tests that hold ampc to PyTorch's own spread."""
import copy
import math

import numpy as np
import torch
import torch.nn.functional as F

import ampc.torch as at


def _as_double(batch):
    return tuple(t.double() if t.is_floating_point() else t for t in batch)


def torch_run(model, batches, lr, dtype=torch.float32, autocast=False):
    """SGD-momentum training in torch; returns (losses, state_dict)."""
    model = copy.deepcopy(model)
    if dtype == torch.float64:
        model = model.double()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    for batch in batches:
        *inputs, labels = _as_double(batch) if dtype == torch.float64 else batch
        optimizer.zero_grad()
        if autocast:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = model(*inputs)
            loss = F.cross_entropy(out.float(), labels)
        else:
            loss = F.cross_entropy(model(*inputs), labels)
        loss.backward()
        optimizer.step()
        losses.append(float(loss))
    return losses, model.state_dict()


def ampc_run(model, batches, lr, precision):
    model = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    trainer = at.compile(model, batches[0][:-1], optimizer=optimizer, precision=precision)
    losses = [float(trainer.step(*batch)) for batch in batches]
    return losses, trainer.state_dict()


def loss_distance(losses, reference):
    """The largest relative difference over the steps."""
    return max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(losses, reference))


def param_distance(state, reference, names):
    """||a - b|| / ||b|| over the named float tensors together."""
    num = den = 0.0
    for name in names:
        a, b = state[name].double(), reference[name].double()
        num += float((a - b).pow(2).sum())
        den += float(b.pow(2).sum())
    return math.sqrt(num / max(den, 1e-300))


class Parity:
    """Distances to torch float64 after training `model` on `batches`."""

    def __init__(self, model, batches, lr=0.05, bf16=True):
        names = [n for n, _ in model.named_parameters()]
        ref_losses, ref_state = torch_run(model, batches, lr, torch.float64)
        losses32, state32 = torch_run(model, batches, lr)
        ours32, ours_state32 = ampc_run(model, batches, lr, "fp32")
        self.torch_fp32 = (loss_distance(losses32, ref_losses), param_distance(state32, ref_state, names))
        self.ampc_fp32 = (loss_distance(ours32, ref_losses), param_distance(ours_state32, ref_state, names))
        self.torch_bf16 = self.ampc_bf16 = None
        if bf16:
            ours16, ours_state16 = ampc_run(model, batches, lr, "bf16")
            self.ampc_bf16 = (loss_distance(ours16, ref_losses), param_distance(ours_state16, ref_state, names))
            try:
                losses16, state16 = torch_run(model, batches, lr, autocast=True)
                self.torch_bf16 = (loss_distance(losses16, ref_losses), param_distance(state16, ref_state, names))
            except RuntimeError:  # torch 1.13 has no bf16 kernel for some ops on the CPU
                self.torch_bf16 = None
        self.losses = ours32

    def check(self, fp32_floor=2e-5, bf16_floor=2e-2):
        """ampc fp32 within 4x torch fp32's distance from float64 (or
        `fp32_floor`, what float32 rounding alone gives over 3 steps); ampc
        bf16 within 2x autocast bf16's distance (or `bf16_floor`, a few bf16
        roundings of the matmul inputs, when autocast cannot run the model)."""
        assert all(np.isfinite(self.losses))
        for ours, theirs in zip(self.ampc_fp32, self.torch_fp32):
            assert ours <= max(fp32_floor, 4 * theirs), (self.ampc_fp32, self.torch_fp32)
        if self.ampc_bf16 is not None:
            limits = self.torch_bf16 or (0.0, 0.0)
            for ours, theirs in zip(self.ampc_bf16, limits):
                assert ours <= max(bf16_floor, 2 * theirs), (self.ampc_bf16, self.torch_bf16)


def batches_of(shape, count=3, classes=10, seed=0, tokens=None):
    generator = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        if tokens:
            x = torch.randint(0, tokens, shape, generator=generator)
        else:
            x = torch.randn(*shape, generator=generator)
        out.append((x, torch.randint(0, classes, (shape[0],), generator=generator)))
    return out
