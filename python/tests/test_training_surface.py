"""Driving compiled steps as a PyTorch AMP user does: a learning-rate
schedule through the run-time lr (against torch.optim + lr_scheduler), the
GradScaler-shaped surface (found_inf, skipped steps, get/set scale) and named
checkpoints that move between precisions."""
import math
import os
import warnings

import numpy as np
import pytest

import ampc

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FORWARD = os.path.join(ROOT, "examples", "mlp_forward.mlir")
# The digits MLP of examples/digits: weights are arguments 1-4 of @mlp.
TRAIN = {"loss": "cross-entropy", "labels": "indices", "params": "1,2,3,4", "lr": 0.1,
         "momentum": 0.9}


def init_params(seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((64, 128)) * np.sqrt(2.0 / 64)).astype(np.float32),
            np.zeros(128, np.float32),
            (rng.standard_normal((128, 10)) * np.sqrt(2.0 / 128)).astype(np.float32),
            np.zeros(10, np.float32)]


def batches(count, seed=1):
    """The digits data when scikit-learn is there, else a fixed random set."""
    rng = np.random.default_rng(seed)
    try:
        from sklearn.datasets import load_digits
        digits = load_digits()
        x, y = (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)
    except ImportError:
        x = rng.random((512, 64)).astype(np.float32)
        y = rng.integers(0, 10, 512).astype(np.int64)
    out = []
    for _ in range(count):
        idx = rng.integers(0, len(x), 32)
        out.append((np.ascontiguousarray(x[idx]), y[idx]))
    return out


@pytest.fixture(scope="module")
def steps(tmp_path_factory):
    """The digits step built by amp-differentiate, per precision."""
    out = tmp_path_factory.mktemp("surface")
    cache = {}

    def get(precision, **options):
        key = (precision, tuple(sorted(options.items())))
        if key not in cache:
            name = "digits-%s-%d.so" % (precision, len(cache))
            cache[key] = ampc.compile(FORWARD, output=str(out / name), precision=precision,
                                      train=TRAIN, **options)
        return ampc.load(cache[key])
    return get


def warmup_cosine(step, total=1000, warmup=100):
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / (total - warmup)))


def test_lr_schedule_matches_torch(steps):
    """1000 fp32 steps of SGD with momentum under warm-up + cosine decay
    (torch.optim.lr_scheduler.LambdaLR): the params match torch's to 1e-5."""
    torch = pytest.importorskip("torch", reason="python3-torch is the reference")
    torch.set_num_threads(1)
    mod = steps("fp32")
    assert mod.hyperparameters == {"lr": 0.1}
    mod.init_state(init_params())
    params = [torch.tensor(p, requires_grad=True) for p in init_params()]
    optimizer = torch.optim.SGD(params, lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine)
    for k, (x, y) in enumerate(batches(1000)):
        lr = optimizer.param_groups[0]["lr"]
        loss = mod.step(x, y, lr=lr)
        assert mod.hyperparameters["lr"] == lr
        optimizer.zero_grad()
        w1, b1, w2, b2 = params
        logits = torch.relu(torch.from_numpy(x) @ w1 + b1) @ w2 + b2
        torch_loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y))
        torch_loss.backward()
        optimizer.step()
        scheduler.step()
        if k in (0, 999):
            assert loss == pytest.approx(torch_loss.item(), rel=1e-5)
    for got, want in zip(mod.params(), params):
        want = want.detach().numpy()
        assert np.max(np.abs(got - want)) <= 1e-5 * max(1.0, np.max(np.abs(want)))


def test_hyperparameters_are_checked(steps):
    mod = steps("fp32")
    mod.init_state(init_params())
    x, y = batches(1)[0]
    with pytest.raises(TypeError, match="step\\(\\) got the hyperparameter 'momentum', which this "
                                        "step does not take at run time \\(its run-time "
                                        "hyperparameters: lr\\)"):
        mod.step(x, y, momentum=0.5)
    with pytest.raises(ValueError, match="hyperparameter lr = -0.1 is outside"):
        mod.step(x, y, lr=-0.1)
    with pytest.raises(TypeError, match="hyperparameter lr must be a number"):
        mod.step(x, y, lr="fast")
    # Nothing ran: the params are the initial ones.
    for got, want in zip(mod.params(), init_params()):
        np.testing.assert_array_equal(got, want)
    # lr = 0 leaves the params where they are, whatever the gradient.
    mod.step(x, y, lr=0.0)
    for got, want in zip(mod.params(), init_params()):
        np.testing.assert_array_equal(got, want)
    fixed = steps("fp32", hyperparameters=())
    assert fixed.hyperparameters == {}
    fixed.init_state(init_params())
    with pytest.raises(TypeError, match="none: it was compiled with --hyperparameters=none"):
        fixed.step(x, y, lr=0.1)


def test_weight_decay_and_momentum_at_run_time_match_compiled_values(steps):
    """A step taking weight_decay and momentum as inputs, run with the
    values another step compiled in, gives the same params bit for bit."""
    compiled_in = ampc.load(ampc.compile(
        FORWARD, output=None, precision="fp32", hyperparameters=(),
        train=dict(TRAIN, **{"weight-decay": 0.01, "momentum": 0.5})))
    runtime = steps("fp32", hyperparameters=("lr", "weight_decay", "momentum"))
    assert runtime.hyperparameters == {"lr": 0.1, "weight_decay": 0.0, "momentum": 0.9}
    for mod in (compiled_in, runtime):
        mod.init_state(init_params())
    for x, y in batches(5):
        compiled_in.step(x, y)
        runtime.step(x, y, weight_decay=0.01, momentum=0.5)
    for a, b in zip(compiled_in.params(), runtime.params()):
        np.testing.assert_array_equal(a, b)


def grad_scaler_update(scale, tracker, found_inf, growth_factor=2.0, backoff=0.5, interval=2000):
    """torch.amp.GradScaler.update (_amp_update_scale_), in f32 as torch keeps it."""
    if found_inf:
        return np.float32(scale * backoff), 0
    tracker += 1
    if tracker == interval:
        grown = np.float32(scale * growth_factor)
        return (grown if np.isfinite(grown) else scale), 0
    return scale, tracker


def test_grad_scaler_surface(steps):
    """found_inf comes back with the step: a batch holding an inf skips the
    update (state bit-identical), backs the scale off and counts as skipped;
    get/set_scale and the growth tracker follow GradScaler's state machine."""
    mod = steps("fp16", growth_interval=3)
    assert mod.is_enabled() and mod.get_growth_interval() == 3
    assert mod.get_growth_factor() == 2.0 and mod.get_backoff_factor() == 0.5
    mod.init_state(init_params())
    assert mod.get_scale() == 65536.0 and mod.get_growth_tracker() == 0
    scale, tracker = np.float32(65536.0), 0
    for k, (x, y) in enumerate(batches(8)):
        poisoned = k in (2, 5)
        if poisoned:
            x = x.copy()
            x[0, 0] = np.inf
        before = [v.copy() for v in mod.state]
        mod.step(x, y)
        assert mod.last_step_skipped == poisoned
        scale, tracker = grad_scaler_update(scale, tracker, poisoned, interval=3)
        assert (mod.get_scale(), mod.get_growth_tracker()) == (scale, tracker)
        if poisoned:
            for (_, spec), old, new in zip(mod.state_specs(), before, mod.state):
                if spec["role"] != "scaler_state":
                    np.testing.assert_array_equal(old, new)
    assert mod.skipped_steps == 2
    mod.set_scale(1024.0)
    mod.set_growth_tracker(2)
    mod.step(*batches(1)[0])
    assert (mod.get_scale(), mod.get_growth_tracker()) == (2048.0, 0)
    with pytest.raises(ValueError, match="finite and > 0"):
        mod.set_scale(float("inf"))
    plain = steps("bf16")
    plain.init_state(init_params())
    assert not plain.is_enabled() and plain.get_scale() == 1.0
    plain.step(*batches(1)[0])
    assert plain.last_step_skipped is False and plain.skipped_steps == 0
    with pytest.raises(RuntimeError, match="no dynamic loss scaling"):
        plain.set_scale(2.0)


def test_static_scale_reports_its_scale(steps):
    mod = steps("fp16", loss_scale=128.0)
    assert mod.manifest["loss_scaling"] == "static" and mod.get_scale() == 128.0
    mod.init_state(init_params())
    x, y = batches(1)[0]
    x = x.copy()
    x[3, 3] = np.nan
    mod.step(x, y)
    assert mod.last_step_skipped and mod.skipped_steps == 1


def test_state_dict_names_follow_torch(steps):
    mod = steps("fp16")
    mod.init_state(init_params())
    names = mod.state_names()
    assert names[:4] == ["param.0", "param.1", "param.2", "param.3"]
    assert "momentum_buffer.0" in names and "step.3" in names
    assert names[-2:] == ["scale", "growth_tracker"]
    state = mod.state_dict()
    assert set(state) == set(names) | {"hyperparameters.lr", "format"}


def test_resumed_run_is_bit_identical(steps, tmp_path):
    data = batches(10)
    straight = steps("fp16")
    straight.init_state(init_params())
    for x, y in data:
        straight.step(x, y, lr=0.05)
    first = steps("fp16")
    first.init_state(init_params())
    for x, y in data[:5]:
        first.step(x, y, lr=0.05)
    path = str(tmp_path / "half.npz")
    first.save(path)
    resumed = steps("fp16")
    resumed.load_state(path)
    assert resumed.hyperparameters["lr"] == 0.05
    for x, y in data[5:]:
        resumed.step(x, y)
    for a, b in zip(straight.state, resumed.state):
        np.testing.assert_array_equal(a, b)


def test_checkpoints_move_between_precisions(steps, tmp_path):
    """fp32 -> bf16 -> fp16 -> fp32: params and momentum buffers carry over;
    the loss scaler is created (at its initial scale) or dropped, each with
    a warning."""
    data = batches(4)
    fp32 = steps("fp32")
    fp32.init_state(init_params())
    fp32.step(*data[0])
    path32 = str(tmp_path / "fp32.npz")
    fp32.save(path32)
    bf16 = steps("bf16")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bf16.load_state(path32)
    for a, b in zip(bf16.params(), fp32.params()):
        np.testing.assert_array_equal(a, b)
    bf16.step(*data[1])
    path16 = str(tmp_path / "bf16.npz")
    bf16.save(path16)
    fp16 = steps("fp16")
    with pytest.warns(UserWarning, match="has no loss-scaler state \\(scale, growth_tracker\\): "
                                         "starting it at its initial values \\(scale 65536\\)"):
        fp16.load_state(path16)
    assert fp16.scaler_state() == (65536.0, 0)
    fp16.step(*data[2])
    path_f16 = str(tmp_path / "fp16.npz")
    fp16.save(path_f16)
    back = steps("fp32")
    with pytest.warns(UserWarning, match="holds loss-scaler state \\(scale, growth_tracker\\), "
                                         "which this step \\(loss_scaling: none\\) does not have: dropped"):
        back.load_state(path_f16)
    for a, b in zip(back.params(), fp16.params()):
        np.testing.assert_array_equal(a, b)
    # Persistent bf16 copies are rounded from the params they copy.
    copies = steps("bf16", persistent_copies=True)
    copies.load_state(path32)
    copy_values = [v for (_, s), v in zip(copies.state_specs(), copies.state) if s["role"] == "param_copy"]
    assert copy_values and all(c.dtype == np.uint16 for c in copy_values)


def test_checkpoint_errors_name_the_entry(steps, tmp_path):
    mod = steps("fp32")
    mod.init_state(init_params())
    state = mod.state_dict()
    missing = dict(state)
    del missing["momentum_buffer.1"]
    with pytest.raises(ampc.LibraryError, match="state_dict has no entry 'momentum_buffer.1' "
                                                "\\(optimizer_state float32 \\(128,\\)\\)"):
        mod.load_state_dict(missing)
    wrong = dict(state)
    wrong["param.2"] = np.zeros((10, 128), np.float32)
    with pytest.raises(ampc.LibraryError, match="entry 'param.2' does not fit this step: .*shape"):
        mod.load_state_dict(wrong)
    extra = dict(state, **{"param.9": np.zeros(3, np.float32)})
    with pytest.raises(ampc.LibraryError, match="has the entry 'param.9', which this step does not have"):
        mod.load_state_dict(extra)
    # An archive of another format is refused by name.
    path = str(tmp_path / "future.npz")
    np.savez(path, **dict(state, format=np.array("ampc-state-9")))
    with pytest.raises(ampc.LibraryError, match="has format 'ampc-state-9', expected 'ampc-state-2'"):
        mod.load_state(path)


def test_positional_checkpoints_still_load(steps, tmp_path):
    mod = steps("fp32")
    mod.init_state(init_params())
    mod.step(*batches(1)[0])
    path = str(tmp_path / "old.npz")
    np.savez(path, **{"state_%d" % i: v for i, v in enumerate(mod.state)})
    other = steps("fp32")
    other.load_state(path)
    for a, b in zip(other.state, mod.state):
        np.testing.assert_array_equal(a, b)


def torch_mlp_steps(torch, data, clip, lr=0.1):
    """The digits MLP trained by torch with SGD momentum 0.9 and `clip(params)`
    between backward and step; returns (params, norms clip returned)."""
    params = [torch.tensor(p, requires_grad=True) for p in init_params()]
    optimizer = torch.optim.SGD(params, lr=lr, momentum=0.9)
    norms = []
    for x, y in data:
        optimizer.zero_grad()
        w1, b1, w2, b2 = params
        logits = torch.relu(torch.from_numpy(x) @ w1 + b1) @ w2 + b2
        torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)).backward()
        norms.append(clip(params))
        optimizer.step()
    return [p.detach().numpy() for p in params], norms


@pytest.mark.parametrize("norm_type,max_norm", [(2.0, 0.5), (float("inf"), 0.1), (1.0, 20.0)])
def test_clip_grad_norm_matches_torch(steps, norm_type, max_norm):
    """100 fp32 steps with torch.nn.utils.clip_grad_norm_: the params and the
    norm each step returns match torch's to 1e-5."""
    torch = pytest.importorskip("torch", reason="python3-torch is the reference")
    torch.set_num_threads(1)
    data = batches(100, seed=3)
    mod = steps("fp32", clip_grad_norm=max_norm, clip_grad_norm_type=norm_type)
    mod.init_state(init_params())
    norms = []
    for x, y in data:
        mod.step(x, y)
        norms.append(mod.last_grad_norm)
    want, torch_norms = torch_mlp_steps(
        torch, data, lambda ps: float(torch.nn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)))
    # The clip is active on some steps and not on others.
    assert min(torch_norms) < max_norm < max(torch_norms)
    np.testing.assert_allclose(norms, torch_norms, rtol=1e-5)
    for got, w in zip(mod.params(), want):
        assert np.max(np.abs(got - w)) <= 1e-5 * max(1.0, np.max(np.abs(w)))


def test_clip_grad_value_matches_torch(steps):
    torch = pytest.importorskip("torch", reason="python3-torch is the reference")
    torch.set_num_threads(1)
    data = batches(100, seed=4)
    mod = steps("fp32", clip_grad_value=0.01)
    mod.init_state(init_params())
    for x, y in data:
        mod.step(x, y)
    assert mod.last_grad_norm is None
    want, _ = torch_mlp_steps(torch, data, lambda ps: torch.nn.utils.clip_grad_value_(ps, 0.01))
    for got, w in zip(mod.params(), want):
        assert np.max(np.abs(got - w)) <= 1e-5 * max(1.0, np.max(np.abs(w)))


def test_clipping_inside_the_skip_decision(steps):
    """Under dynamic loss scaling the norm is that of the unscaled gradients,
    and a batch with an inf is still skipped though clipping would have made
    its gradients finite."""
    mod = steps("fp16", clip_grad_norm=0.5)
    ref = steps("fp32", clip_grad_norm=0.5)
    for m in (mod, ref):
        m.init_state(init_params())
    x, y = batches(1, seed=5)[0]
    mod.step(x, y)
    ref.step(x, y)
    assert mod.last_grad_norm == pytest.approx(ref.last_grad_norm, rel=2e-2)
    poisoned = x.copy()
    poisoned[0, 0] = np.inf
    before = [p.copy() for p in mod.params()]
    mod.step(poisoned, y)
    assert mod.last_step_skipped and not np.isfinite(mod.last_grad_norm)
    for a, b in zip(before, mod.params()):
        np.testing.assert_array_equal(a, b)
    clamped = steps("fp16", clip_grad_value=0.01)
    clamped.init_state(init_params())
    clamped.step(poisoned, y)
    assert clamped.last_step_skipped


def test_accumulated_micro_batch_is_clipped_like_a_step(steps):
    """accumulate + apply of one micro-batch clips by the same global norm
    as the single step."""
    mod = steps("fp32", clip_grad_norm=0.1, grad_accumulation=True)
    mod.init_state(init_params())
    x, y = batches(1, seed=6)[0]
    mod.step(x, y)
    norm = mod.last_grad_norm
    assert norm > 0.1
    params = init_params()
    accumulate, apply = mod["mlp_train_step_accumulate"], mod["mlp_train_step_apply"]
    assert [r["role"] for r in apply.results][-1] == "grad_norm"

    def arguments(function, accumulators):
        values = {"param": iter(params), "grad_accumulator": iter(accumulators),
                  "input": iter([x]), "label": iter([y])}
        out = []
        for spec in function.arguments:
            role = spec["role"]
            if role in values:
                out.append(next(values[role]))
            elif role == "hyperparameter":
                out.append(np.array(spec["init"], dtype=np.float64))
            else:  # fresh optimizer state, as init_state() starts it
                out.append(np.zeros(spec["shape"], dtype=np.int64 if spec["dtype"] == "int64" else np.float32))
        return out

    *accumulators, _ = accumulate(*arguments(accumulate, [np.zeros_like(p) for p in params]))
    results = apply(*arguments(apply, accumulators))
    for got, want in zip(results[:4], mod.params()):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert float(results[-1]) == pytest.approx(norm, rel=1e-6)


MOMENTUM_STEP = """
func.func @step(%w: tensor<4xf32> {amp.role = "param"}, %m: tensor<4xf32> {amp.role = "optimizer_state"},
                %s: tensor<i64> {amp.role = "optimizer_state"}, %l: tensor<f32> {amp.role = "input"})
    -> (tensor<4xf32> {amp.role = "param"}, tensor<4xf32> {amp.role = "optimizer_state"},
        tensor<i64> {amp.role = "optimizer_state"}, tensor<f32> {amp.role = "loss"}) attributes {amp.training_step} {
  %seed = amp.grad_seed %l : tensor<f32>
  %g = linalg.broadcast ins(%seed : tensor<f32>) outs(%w : tensor<4xf32>) dimensions = [0]
  %w1, %m1, %s1 = amp.sgd %w, %g state(%m, %s : tensor<4xf32>, tensor<i64>)
      {lr = 0.1 : f64, momentum = 0.9 : f64, dampening = 0.5 : f64}
      : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>, tensor<4xf32>, tensor<i64>
  return %w1, %m1, %s1, %l : tensor<4xf32>, tensor<4xf32>, tensor<i64>, tensor<f32>
}
"""


def test_run_time_momentum_zero_is_plain_sgd(tmp_path):
    """A run-time momentum of 0 updates by the gradient, as torch does
    (whatever the dampening), and leaves the buffer alone."""
    torch = pytest.importorskip("torch", reason="python3-torch is the reference")
    path = tmp_path / "momentum.mlir"
    path.write_text(MOMENTUM_STEP)
    mod = ampc.load(ampc.compile(str(path), output=str(tmp_path / "momentum.so"), precision="fp32",
                                 hyperparameters=("lr", "momentum")))
    mod.init_state(params=[np.zeros(4, np.float32)])
    w = torch.zeros(4, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.1, momentum=0.9, dampening=0.5)
    for momentum in (0.9, 0.0, 0.0, 0.5):
        optimizer.param_groups[0]["momentum"] = momentum
        optimizer.zero_grad()
        w.sum().backward()  # the step's gradient is its seed: ones
        optimizer.step()
        mod.step(np.array(2.0, np.float32), momentum=momentum)
        np.testing.assert_allclose(mod.params()[0], w.detach().numpy(), rtol=1e-6)


TWO_SQUARE_WEIGHTS = """
func.func @fwd(%x: tensor<2x4xf32>, %w1: tensor<4x4xf32>, %w2: tensor<4x4xf32>) -> tensor<2x4xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %h = linalg.matmul ins(%x, %w1 : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = linalg.matmul ins(%h, %w2 : tensor<2x4xf32>, tensor<4x4xf32>) outs(%f : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
"""


def test_persistent_copies_follow_their_own_param_across_precisions(tmp_path):
    """Two params of one shape: each persistent copy is rounded from its own
    param (amp.copy_of), and an fp16 checkpoint loads into a bf16 step (the
    copies are rebuilt from the masters)."""
    path = tmp_path / "square.mlir"
    path.write_text(TWO_SQUARE_WEIGHTS)
    built = {}
    for precision in ("fp16", "bf16"):
        built[precision] = ampc.load(ampc.compile(
            str(path), output=str(tmp_path / ("square-%s.so" % precision)), precision=precision,
            persistent_copies=True, train={"loss": "mse", "params": "1,2"}))
    half = built["fp16"]
    w1, w2 = np.full((4, 4), 1, np.float32), np.full((4, 4), 2, np.float32)
    half.init_state(params=[w1, w2])
    copies = [(s, v) for (_, s), v in zip(half.state_specs(), half.state) if s["role"] == "param_copy"]
    assert [float(v[0, 0]) for _, v in copies] == [1.0, 2.0]
    assert [s["name"] for s, _ in copies] == ["param.0.copy", "param.1.copy"]
    brain = built["bf16"]
    with pytest.warns(UserWarning, match="loss-scaler state .* dropped"):
        brain.load_state_dict(half.state_dict())
    copies = [v for (_, s), v in zip(brain.state_specs(), brain.state) if s["role"] == "param_copy"]
    assert [float(ampc.bf16_to_f32(v)[0, 0]) for v in copies] == [1.0, 2.0]


def test_hyperparameters_are_set_all_or_nothing(steps):
    mod = steps("fp32", hyperparameters=("lr", "momentum"))
    mod.init_state(init_params())
    x, y = batches(1)[0]
    with pytest.raises(ValueError, match="momentum = -1.0 is outside"):
        mod.step(x, y, lr=0.5, momentum=-1)
    assert mod.hyperparameters == {"lr": 0.1, "momentum": 0.9}
    state = mod.state_dict()
    with pytest.raises(ampc.LibraryError, match="state_dict: hyperparameter lr = -5.0 is outside"):
        mod.load_state_dict(dict(state, **{"hyperparameters.lr": np.array(-5.0)}))
    with pytest.raises(ampc.LibraryError, match="hyperparameter lr must be a number"):
        mod.load_state_dict(dict(state, **{"hyperparameters.lr": np.zeros(2)}))
    with pytest.warns(UserWarning, match="hyperparameters this step does not take at run time \\(gamma\\)"):
        mod.load_state_dict(dict(state, **{"hyperparameters.gamma": np.array(0.5)}))
    with pytest.raises(ampc.LibraryError, match="has format 'ampc-state-1'"):
        mod.load_state_dict(dict(state, format=np.array("ampc-state-1")))
