"""Compiled functions never write into their caller's arrays: every exported
function of the examples, of the corpus models and of the training steps
amp-differentiate builds is called twice with the same inputs; the inputs
stay bit-identical and the two calls return the same bits."""
import os

import numpy as np
import pytest

import ampc

from conftest import EXAMPLE, ROOT
from test_corpus import CORPUS, MODELS, TRAINABLE, harness_functions

DTYPES = {"float32": np.float32, "float16": np.float16, "bfloat16": np.uint16,
          "float64": np.float64, "int64": np.int64, "int32": np.int32, "bool": np.bool_}


def random_arguments(function, rng):
    arguments = []
    for spec in function.arguments:
        dtype = DTYPES[spec["dtype"]]
        if spec["dtype"] in ("float32", "float16", "float64"):
            value = rng.standard_normal(spec["shape"]).astype(dtype)
        elif spec["dtype"] == "bfloat16":
            value = ampc.f32_to_bf16(rng.standard_normal(spec["shape"]).astype(np.float32))
        elif spec["dtype"] == "bool":
            value = rng.integers(0, 2, size=spec["shape"]).astype(np.bool_)
        else:  # class numbers, counters: small non-negative integers
            value = rng.integers(0, 2, size=spec["shape"]).astype(dtype)
        if spec.get("role") == "scaler_state" and spec.get("init") is not None:
            value = np.full(spec["shape"], spec["init"], dtype=dtype)
        arguments.append(np.asarray(value, order="C"))
    return arguments


def check_every_function(library):
    module = ampc.load(library)
    rng = np.random.default_rng(0)
    checked = 0
    for name, function in module.functions.items():
        arguments = random_arguments(function, rng)
        before = [a.copy() for a in arguments]
        first = function(*arguments)
        for i, (a, b) in enumerate(zip(arguments, before)):
            assert a.tobytes() == b.tobytes(), "%s overwrote argument #%d" % (name, i)
        second = function(*arguments)
        for i, (a, b) in enumerate(zip(first, second)):
            assert a.tobytes() == b.tobytes(), "%s: result #%d differs between two calls" % (name, i)
        checked += 1
    assert checked


ACCUMULATE_INTO_ARGUMENT = """
func.func @entry(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>, %c: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %d = linalg.matmul ins(%a, %b : tensor<4x8xf32>, tensor<8x4xf32>) outs(%c : tensor<4x4xf32>) -> tensor<4x4xf32>
  return %d : tensor<4x4xf32>
}"""


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_accumulating_into_an_argument(precision, tmp_path):
    path = tmp_path / "gemm.mlir"
    path.write_text(ACCUMULATE_INTO_ARGUMENT)
    module = ampc.load(ampc.compile(str(path), output=str(tmp_path / "gemm.so"), precision=precision))
    a, b, c = np.ones((4, 8), np.float32), np.ones((8, 4), np.float32), np.ones((4, 4), np.float32)
    (first,) = module["entry"](a, b, c)
    (second,) = module["entry"](a, b, c)
    np.testing.assert_array_equal(first, 9.0)
    np.testing.assert_array_equal(second, 9.0)
    np.testing.assert_array_equal(c, 1.0)


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_examples(precision, tmp_path):
    check_every_function(ampc.compile(EXAMPLE, output=str(tmp_path / "step.so"), precision=precision))
    forward = os.path.join(ROOT, "examples", "mlp_forward.mlir")
    check_every_function(ampc.compile(forward, output=str(tmp_path / "fwd.so"), precision=precision,
                                      train="loss=cross-entropy params=1,2,3,4 lr=0.1"))


@pytest.mark.skipif(not MODELS, reason="no model corpus at %s" % CORPUS)
@pytest.mark.parametrize("model", MODELS)
def test_corpus_models(model, tmp_path):
    if harness_functions(os.path.join(CORPUS, model)):
        pytest.skip("%s calls its harness's functions: not a loadable library" % model)
    check_every_function(ampc.compile(os.path.join(CORPUS, model), output=str(tmp_path / "m.so"),
                                      precision="bf16"))


@pytest.mark.skipif(not MODELS, reason="no model corpus at %s" % CORPUS)
@pytest.mark.parametrize("model,options,lr", TRAINABLE)
def test_corpus_training_steps(model, options, lr, tmp_path):
    path = os.path.join(CORPUS, model)
    if not os.path.exists(path):
        pytest.skip("%s not in the corpus" % model)
    check_every_function(ampc.compile(path, output=str(tmp_path / "step.so"), precision="fp16",
                                      train="%s optimizer=adam lr=%r" % (options, lr)))
