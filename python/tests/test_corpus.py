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


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
@pytest.mark.parametrize("model", MODELS)
def test_corpus_model_compiles(model, precision, tmp_path):
    library = ampc.compile(os.path.join(CORPUS, model), output=str(tmp_path / "model.so"),
                           precision=precision)
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
