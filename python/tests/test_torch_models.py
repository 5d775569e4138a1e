"""Real models through ampc.torch: every model of `python -m
ampc.torch.coverage` exports (torchvision 0.14's classification models
with random weights, recurrent, masked-attention and encoder-decoder
models), and a representative few compile and train. The whole list
compiles with `python3 -m ampc.torch.coverage --compile` (docs/torch.md has
its table); compiling them all takes too long for the test suite."""
import argparse
import tempfile

import pytest

torch = pytest.importorskip("torch", reason="python3-torch is needed for the torch frontend")
from ampc.torch import coverage  # noqa: E402


@pytest.mark.parametrize("name", list(coverage.MODELS))
def test_model_exports(name):
    args = argparse.Namespace(batch=2, compile=False, no_dropout=False)
    row = coverage.run(name, args)
    assert not row["export"].startswith("refused"), row["export"]
    assert row["aten ops"] > 0


@pytest.mark.parametrize("name,precision", [("vit_2layers", "bf16"), ("causal_transformer", "fp32"),
                                            ("tiny_unet", "bf16")])
def test_model_trains(name, precision):
    """Two steps; with dropout off the first loss is torch fp32's on the
    same batch (fp32: 1e-5; bf16: 1e-2, a few bf16 roundings)."""
    args = argparse.Namespace(batch=4, compile=True, no_dropout=True, precision=precision, steps=2, lr=1e-3,
                              folder=tempfile.mkdtemp(prefix="ampc-models-"))
    row = coverage.run(name, args)
    assert row.get("finite") == "yes", row
    first = float(row["losses"].split(",")[0])
    assert first == pytest.approx(float(row["torch fp32 loss"]), rel=1e-5 if precision == "fp32" else 1e-2)


def test_model_trains_with_dropout():
    """The causal transformer with its dropouts on (p = 0.1): the random
    state advances every step and the losses stay finite."""
    args = argparse.Namespace(batch=4, compile=True, no_dropout=False, precision="bf16", steps=3, lr=1e-3,
                              folder=tempfile.mkdtemp(prefix="ampc-models-"))
    row = coverage.run("causal_transformer", args)
    assert row.get("finite") == "yes", row
