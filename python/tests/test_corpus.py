"""Real model IR from ../shared/corpus (read in place, never copied): every
model compiles to a shared library in fp16 and bf16, and the TPP 3-layer MLP
runs in fp32/fp16/bf16 against a numpy float64 reference (relative L2 error:
fp32 5e-5, for f32 sums over K=1024 in three layers; fp16 5e-3; bf16 3e-2)."""
import json
import os
import re

import numpy as np
import pytest

import ampc

CORPUS = os.path.abspath(os.environ.get(
    "AMPC_CORPUS_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "corpus")))
MODELS = sorted(f for f in os.listdir(CORPUS) if f.endswith(".mlir")) if os.path.isdir(CORPUS) else []
pytestmark = pytest.mark.skipif(not MODELS, reason="no model corpus at %s" % CORPUS)


# Routines of MLIR's runner utilities, which ampc links when a model calls them.
RUNNER_UTILS = re.compile(r"^(rtclock|print\w*|_mlir_ciface_print\w*)$")


def harness_functions(path):
    """Functions a model declares but does not define, other than the runner
    utilities: its benchmark harness's (Buddy's record_timing). No library
    ampc links defines them, so the model cannot become a loadable library."""
    declared = re.findall(r"func\.func private @(\w+)\([^)]*\)[^{\n]*$", open(path).read(), re.M)
    return [name for name in declared if not RUNNER_UTILS.match(name)]


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
@pytest.mark.parametrize("model", MODELS)
def test_corpus_model_compiles(model, precision, tmp_path):
    path = os.path.join(CORPUS, model)
    missing = harness_functions(path)
    if missing:
        # Refused where the model declares it, instead of a library that
        # fails to load with "undefined symbol".
        with pytest.raises(ampc.CompileError, match=r"%s:\d+:\d+: error: ampc: the library would need '%s'"
                           % (re.escape(model), missing[0])):
            ampc.compile(path, output=str(tmp_path / "model.so"), precision=precision)
        assert not os.path.exists(tmp_path / "model.so") and not os.path.exists(tmp_path / "model.so.json")
        return
    library = ampc.compile(path, output=str(tmp_path / "model.so"), precision=precision)
    manifest = json.load(open(library + ".json"))
    assert manifest["precision"] == precision and manifest["functions"]


@pytest.mark.parametrize("precision,tolerance", [("fp32", 5e-5), ("fp16", 5e-3), ("bf16", 3e-2)])
def test_tpp_mlp_runs_against_numpy(precision, tolerance, tmp_path):
    path = os.path.join(CORPUS, "tpp-mlir_mlp-3layers.mlir")
    if not os.path.exists(path):
        pytest.skip("tpp-mlir_mlp-3layers.mlir not in the corpus")
    text = open(path).read()
    # The model holds its weights as splat constants: read them from the IR.
    weights = [float(v) for v in re.findall(r"%weights\d = arith.constant dense<([-0-9.e]+)>", text)]
    biases = [float(v) for v in re.findall(r"%bias\d = arith.constant dense<([-0-9.e]+)>", text)]
    assert len(weights) == 3 and len(biases) == 3
    mod = ampc.load(ampc.compile(path, output=str(tmp_path / "mlp.so"), precision=precision))
    x = np.random.default_rng(0).standard_normal((256, 1024)).astype(np.float32)
    (got,) = mod["mlp_3layers"](x)
    h = x.astype(np.float64)
    for w, b in zip(weights, biases):
        h = np.maximum(h @ np.full((1024, 1024), w) + b, 0)
    error = np.linalg.norm(got - h) / np.linalg.norm(h)
    assert error <= tolerance, "%s relative error %.2e" % (precision, error)


# Forward models made training steps by amp-differentiate (ampc --train):
# (model, --train options, learning rate).
TRAINABLE = [
    ("tpp-mlir_mlp-3layers.mlir", "loss=cross-entropy", 0.001),
    ("tpp-mlir_torch-dynamo-mlp-fp32-3x1024.mlir", "loss=cross-entropy", 0.5),
    ("heir_mnist_mnist.mlir", "loss=cross-entropy params=0,1,2,3", 0.05),
    ("tpp-mlir_multi-head-attention.fixed.mlir", "loss=mse", 1e-5),
    ("buddy-mlir_BuddyNext_next-ffn.mlir", "loss=mse function=kernel params=1,3,4", 0.001),
    # Convolutions (1x1, 3x3 after a pad), bias, ReLU and the skip connection,
    # composed through calls that --train inlines.
    ("tpp-mlir_resnet50-bottleneck-block.mlir", "loss=mse function=resnet50_bottleneck_block", 0.001),
]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("model,options,lr", TRAINABLE)
def test_corpus_forward_model_trains(model, options, lr, precision, tmp_path):
    """The model's forward becomes a training step; five steps on one batch
    lower the loss (the MLPs, HEIR's MNIST, the TPP attention block, the
    Buddy FFN block and the TPP ResNet-50 bottleneck block). Weights held as constants start from the model's own
    values; weights passed as arguments start random."""
    path = os.path.join(CORPUS, model)
    if not os.path.exists(path):
        pytest.skip("%s not in the corpus" % model)
    library = ampc.compile(path, output=str(tmp_path / "step.so"), precision=precision,
                           train="%s optimizer=sgd lr=%r" % (options, lr))
    mod = ampc.load(library)
    step = mod.train_step
    rng = np.random.default_rng(0)
    if "params=" in options:
        shapes = [a["shape"] for a in step.arguments if a.get("role") == "param"]
        mod.init_state([0.05 * rng.standard_normal(s).astype(np.float32) for s in shapes])
    else:
        mod.init_state()
    batch = []
    for spec in step.arguments:
        if spec.get("role") == "input":
            batch.append(rng.standard_normal(spec["shape"]).astype(np.float32))
        elif spec.get("role") == "label":
            shape = spec["shape"]
            if "cross-entropy" in options:  # one-hot rows over the last dimension
                classes = rng.integers(0, shape[-1], size=int(np.prod(shape[:-1])))
                batch.append(np.eye(shape[-1], dtype=np.float32)[classes].reshape(shape))
            else:
                batch.append(rng.standard_normal(shape).astype(np.float32))
    losses = [mod.step(*batch) for _ in range(5)]
    assert np.all(np.isfinite(losses)), losses
    assert losses[-1] < losses[0], "%s %s: losses %s" % (model, precision, losses)
