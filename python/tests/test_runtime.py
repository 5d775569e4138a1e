"""The Python runtime: calling compiled steps, checks, state, checkpoints."""
import json
import os

import numpy as np
import pytest

import ampc
from ampc.runtime import bf16_to_f32, f32_to_bf16

from conftest import EXAMPLE


def init_params(seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((64, 128)) / 8).astype(np.float32), np.zeros(128, np.float32),
            (rng.standard_normal((128, 10)) / 11).astype(np.float32), np.zeros(10, np.float32)]


def batch(seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((32, 64)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)]
    return x, y


def reference_loss(params, x, y):
    w1, b1, w2, b2 = (p.astype(np.float64) for p in params)
    logits = np.maximum(x @ w1 + b1, 0) @ w2 + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -(y * logp).sum() / x.shape[0]


def test_manifest_describes_the_step(compiled):
    lib = compiled("fp16")
    manifest = json.load(open(lib + ".json"))
    assert manifest["precision"] == "fp16" and manifest["loss_scaling"] == "dynamic"
    (step,) = manifest["functions"]
    roles = [a["role"] for a in step["arguments"]]
    assert roles == ["input", "label", "param", "param", "param", "param", "hyperparameter",
                     "scaler_state", "scaler_state"]
    assert step["arguments"][6]["name"] == "lr" and step["arguments"][6]["init"] == 0.1
    assert step["arguments"][7]["name"] == "scale" and step["arguments"][7]["init"] == 65536.0
    assert [r["role"] for r in step["results"]][-2:] == ["found_inf", "loss"]
    assert manifest["loss_scaler"] == {"init_scale": 65536.0, "growth_factor": 2.0, "backoff_factor": 0.5,
                                       "growth_interval": 2000, "min_scale": 0.0, "max_scale": 0.0}


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_loss_matches_reference_and_decreases(compiled, precision):
    mod = ampc.load(compiled(precision))
    params = init_params()
    x, y = batch()
    mod.init_state(params)
    first = mod.step(x, y)
    tolerance = {"fp32": 1e-5, "fp16": 1e-3, "bf16": 1e-2}[precision]
    assert abs(first - reference_loss(params, x, y)) <= tolerance * abs(first)
    for _ in range(5):
        last = mod.step(x, y)
    assert last < first


def test_gradient_matches_finite_differences(compiled):
    """The hand-written backward of the example is the derivative of its loss:
    the fp32 step's update (lr * grad) against central differences in f64."""
    mod = ampc.load(compiled("fp32"))
    params = init_params(3)
    x, y = batch(4)
    mod.init_state(params)
    mod.step(x, y)
    grads = [(p - q) / 0.1 for p, q in zip(params, mod.params())]
    rng = np.random.default_rng(5)
    for which, grad in enumerate(grads):
        for _ in range(5):
            index = tuple(rng.integers(0, n) for n in params[which].shape)
            eps = 1e-3
            plus = [p.astype(np.float64) for p in params]
            minus = [p.astype(np.float64) for p in params]
            plus[which][index] += eps
            minus[which][index] -= eps
            numeric = (reference_loss(plus, x, y) - reference_loss(minus, x, y)) / (2 * eps)
            assert abs(numeric - grad[index]) <= 1e-3 * max(1.0, abs(numeric)), (which, index)


def test_wrong_inputs_raise_naming_the_argument(compiled):
    mod = ampc.load(compiled("fp32"))
    mod.init_state(init_params())
    x, y = batch()
    with pytest.raises(ValueError, match=r"argument #0 \(input\) of train_step must have shape \(32, 64\)"):
        mod.step(x[:16], y)
    with pytest.raises(TypeError, match=r"argument #1 \(label\) of train_step must have dtype float32"):
        mod.step(x, y.astype(np.float64))
    with pytest.raises(TypeError, match=r"step\(\) takes 2 batch arrays \(input, label\), got 1"):
        mod.step(x)
    with pytest.raises(TypeError, match="must be a numpy array"):
        mod.step(x, [[0.0] * 10] * 32)
    with pytest.raises(TypeError, match="train_step takes 7 arguments"):
        mod["train_step"](x, y)


def test_state_checkpoint_round_trip(compiled, tmp_path):
    mod = ampc.load(compiled("fp16"))
    mod.init_state(init_params())
    x, y = batch()
    mod.step(x, y)
    path = str(tmp_path / "ckpt.npz")
    mod.save(path)
    expected = mod.step(x, y)
    other = ampc.load(compiled("fp16"))
    other.load_state(path)
    assert other.step(x, y) == expected
    assert other.scaler_state() == (65536.0, 2)


def test_bad_checkpoint_and_missing_manifest(compiled, tmp_path):
    mod = ampc.load(compiled("fp32"))
    np.savez(str(tmp_path / "bad.npz"), state_0=np.zeros(3, np.float32))
    with pytest.raises(ampc.LibraryError, match=r"bad.npz \(positional, from an older ampc\) holds 1 state arrays, the step takes 4"):
        mod.load_state(str(tmp_path / "bad.npz"))
    lonely = tmp_path / "lonely.so"
    lonely.write_bytes(open(compiled("fp32"), "rb").read())
    with pytest.raises(FileNotFoundError, match="no manifest"):
        ampc.load(str(lonely))


def test_compile_errors_are_exceptions(tmp_path):
    bad = tmp_path / "bad.mlir"
    bad.write_text("func.func @f( {")
    with pytest.raises(ampc.CompileError, match="bad.mlir:1"):
        ampc.compile(str(bad), output=str(tmp_path / "bad.so"))
    assert not os.path.exists(str(tmp_path / "bad.so"))
    with pytest.raises(ValueError, match="precision must be one of"):
        ampc.compile(EXAMPLE, precision="fp8")


def test_bf16_conversion_rounds_to_nearest_even():
    values = np.array([1.0, 1.00390625, 1.005859375, -2.5, np.inf], np.float32)
    # 1 + 2^-8 is halfway between bf16 neighbours and rounds to even (1.0).
    np.testing.assert_array_equal(bf16_to_f32(f32_to_bf16(values)),
                                  np.array([1.0, 1.0, 1.0078125, -2.5, np.inf], np.float32))


def test_persistent_copies_track_the_masters(compiled):
    """With Apex-O2-style copies the step also returns bf16 copies of the
    updated f32 masters; they are the masters rounded to bf16."""
    mod = ampc.load(compiled("bf16", persistent_copies=True))
    roles = [a["role"] for a in mod.train_step.arguments]
    assert roles.count("param_copy") == 3
    mod.init_state(init_params())
    x, y = batch()
    for _ in range(2):
        mod.step(x, y)
    copies = [v for (_, s), v in zip(mod.state_specs(), mod.state) if s["role"] == "param_copy"]
    masters = mod.params()[:3]
    for copy, master in zip(copies, masters):
        np.testing.assert_array_equal(copy, f32_to_bf16(master))


def test_one_accumulated_micro_batch_equals_a_step(compiled):
    """accumulate + apply on one micro-batch gives the same update as the
    single-batch step (dynamic loss scaling in both)."""
    lib = compiled("fp16", grad_accumulation=True)
    mod = ampc.load(lib)
    params = init_params()
    x, y = batch()
    mod.init_state(params)
    loss = mod.step(x, y)
    expected = mod.params()
    scale, tracker = np.float32(65536.0), np.int32(0)
    accumulators = [np.zeros_like(p) for p in params]
    acc_fn, apply_fn = mod["train_step_accumulate"], mod["train_step_apply"]
    # accumulate(input, label, params..., scale, accumulators...)
    assert [a["role"] for a in acc_fn.arguments] == (
        ["input", "label"] + ["param"] * 4 + ["scaler_state"] + ["grad_accumulator"] * 4)
    *accumulators, acc_loss = acc_fn(x, y, *params, np.array(scale), *accumulators)
    assert abs(float(acc_loss) - loss) <= 1e-6 * abs(loss)
    # apply(params..., lr, scale, tracker, accumulators...) -> (params...,
    # scale, tracker, zeroed accumulators..., found_inf)
    lr = np.array(mod.hyperparameters["lr"])
    results = apply_fn(*params, lr, np.array(scale), np.array(tracker), *accumulators)
    for got, want in zip(results[:4], expected):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    for zeroed in results[-5:-1]:
        assert not np.any(zeroed)
    assert not results[-1]


def test_a_step_named_like_a_libc_function_calls_itself(tmp_path):
    """A function named `step` (glibc exports a regexp step()) must call its
    own code: libraries bind their symbols locally (-Bsymbolic)."""
    text = open(EXAMPLE).read().replace("@train_step", "@step")
    path = tmp_path / "step.mlir"
    path.write_text(text)
    mod = ampc.load(ampc.compile(str(path), output=str(tmp_path / "libstep.so"), precision="fp16"))
    mod.init_state(init_params())
    x, y = batch()
    assert np.isfinite(mod.step(x, y))
